/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP segmentation offload. Segment shapes against a crafted peer (window,
 * cwnd, Nagle, FIN/PSH, ring wrap, RTO and SACK hole retransmission, RTT
 * sampling), then whole transfers: a software "NIC" cuts every TSO segment
 * into MSS wire segments and completes the checksums the way DPDK hardware
 * does from the pseudo-header sum the stack left, and a second stack
 * without TSO receives them, also through the lossy channel of the loop
 * test.
 */
#include "tcp_test_chan.h"

#define PPORT 40000
#define LPORT 22
#define PISS 1000u
#define TSO_MAX 65536u

/* ---- the "NIC" ---- */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void set16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Folded ones-complement sum of big-endian 16-bit words. */
static uint32_t ocsum(uint32_t s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

typedef void nic_put_fn(void *arg, uint32_t saddr, uint32_t daddr, const uint8_t *p, size_t len);

/*
 * What the NIC does with a segment. With checksum offload the field holds
 * the pseudo-header sum: the hardware sums header (field included) and
 * payload and stores the complement; for TSO it first adds each wire
 * segment's TCP length, which the stack left out. Every wire checksum is
 * also checked against a full software checksum.
 */
static unsigned nic_tx(const struct dssh_tcp_seg_out *o, bool offload, nic_put_fn *put, void *arg)
{
	static uint8_t pay[65536], w[60 + 65536];
	uint32_t off = 0, mss, plen, seq, field;
	unsigned i, nw = 0;
	uint16_t ck, sw;
	const uint8_t *pp[1];
	uint32_t pl[1];

	for (i = 0; i < o->npay; i++) {
		memcpy(pay + off, o->pay[i], o->pay_len[i]);
		off += o->pay_len[i];
	}
	CHECK_EQ_INT(off, o->len);
	field = get16(o->hdr + 16);
	if (o->tso_mss != 0) {
		CHECK(offload);
		CHECK_EQ_INT(field, dssh_tcp_pseudo_sum(o->saddr, o->daddr, 0));
	} else if (offload) {
		CHECK_EQ_INT(field, dssh_tcp_pseudo_sum(o->saddr, o->daddr, o->hdr_len + o->len));
	}
	mss = o->tso_mss != 0 ? o->tso_mss : o->len;
	seq = dssh_get_u32be(o->hdr + 4);
	for (off = 0;; off += plen) {
		plen = DSSH_MIN(mss, o->len - off);
		memcpy(w, o->hdr, o->hdr_len);
		memcpy(w + o->hdr_len, pay + off, plen);
		dssh_put_u32be(w + 4, seq + off);
		if (off + plen < o->len)
			w[13] &= (uint8_t)~(DSSH_TCP_FIN | DSSH_TCP_PSH);
		pp[0] = w + o->hdr_len;
		pl[0] = plen;
		sw = dssh_tcp_checksum(o->saddr, o->daddr, w, o->hdr_len, pp, pl, 1);
		if (offload) {
			/* the pseudo-header sum, with this wire segment's length for TSO */
			uint32_t ps = field + (o->tso_mss != 0 ? o->hdr_len + plen : 0u);

			set16(w + 16, (uint16_t)ocsum(ps, NULL, 0));   /* n = 0: just folds */
			ck = (uint16_t)~ocsum(0, w, o->hdr_len + plen);
			CHECK_EQ_INT(ck, sw);
			set16(w + 16, ck);
		} else {
			CHECK_EQ_INT(field, sw);
		}
		put(arg, o->saddr, o->daddr, w, o->hdr_len + plen);
		nw++;
		if (off + plen >= o->len)
			return nw;
	}
}

/* ---- per-segment checks on the TSO sender ---- */

struct tso_check {
	uint64_t segs, tso_segs, wire, tso_rexmit, max_len;
	uint64_t rwnd_limited, cwnd_limited;   /* TSO segments that filled a window */
	uint32_t max_end;               /* highest data sequence sent so far */
	bool have_max, strict;          /* strict: no loss, no recovery expected */
};

static void seg_check(struct tso_check *t, const struct dssh_tcp_seg_out *o)
{
	struct dssh_tcp_conn_info in;
	struct dssh_tcp_hdr h;
	uint32_t end, seq, end_data;

	t->segs++;
	if (o->tso_mss != 0)
		t->tso_segs++;
	CHECK_EQ_INT(dssh_tcp_parse(o->hdr, o->hdr_len, &h), 0);
	if (o->conn == NULL || o->len == 0) {
		CHECK_EQ_INT(o->tso_mss, 0);
		return;
	}
	dssh_tcp_conn_get_info(o->conn, &in);
	seq = h.seq;
	end = seq + o->len;
	end_data = in.snd_una + in.sndbuf_used;
	if (o->len > t->max_len)
		t->max_len = o->len;
	if (o->tso_mss != 0) {
		CHECK(o->len > o->tso_mss);
		CHECK_EQ_INT(o->tso_mss, in.mss);
		CHECK(o->len % o->tso_mss == 0 || end == end_data);
		CHECK(o->len <= TSO_MAX);
		CHECK(o->len <= 65535u - 20u - o->hdr_len);
		CHECK_EQ_INT(o->hdr_len, 20 + (in.ts_ok ? 12 : 0));   /* no SACK blocks */
		if (t->have_max && (int32_t)(seq - t->max_end) < 0)
			t->tso_rexmit++;
	} else {
		CHECK(o->len <= in.mss);
	}
	/* new data never beyond the peer's window (but a zero-window probe byte) */
	if ((!t->have_max || (int32_t)(end - t->max_end) > 0) && !(in.snd_wnd == 0 && o->len == 1))
		CHECK((int32_t)(end - (in.snd_una + in.snd_wnd)) <= 0);
	/* nor beyond cwnd; Limited Transmit may add two MSS outside recovery,
	 * in SACK recovery the limit is cwnd - pipe (pipe is not visible) */
	if (t->strict) {
		CHECK(!in.in_recovery);
		CHECK(end - in.snd_una <= in.cwnd);
	} else if (!in.in_recovery) {
		CHECK(end - in.snd_una <= in.cwnd + 2u * in.mss);
	} else {
		CHECK(o->len <= in.cwnd);
	}
	if (o->tso_mss != 0 && (int32_t)(end + in.mss - (in.snd_una + in.snd_wnd)) > 0)
		t->rwnd_limited++;
	if (o->tso_mss != 0 && in.cwnd < in.snd_wnd && end + in.mss > in.snd_una + in.cwnd)
		t->cwnd_limited++;
	if (!t->have_max || (int32_t)(end - t->max_end) > 0)
		t->max_end = end;
	t->have_max = true;
}

/* ---- crafted-peer fixture ---- */

struct fx {
	struct dssh_tcp_conf conf;
	struct dssh_tcp_stack *s;
	struct dssh_tcp_conn *c;
	uint32_t base;          /* the stack's first data sequence number */
	uint32_t pnxt;
	uint64_t now;
	struct dssh_tcp_seg_out o[32];
	struct dssh_tcp_hdr h[32];
	unsigned n;
	struct tso_check t;
};

static void fx_new(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	dssh_tcp_conf_default(&f->conf);
	f->conf.cc = DSSH_TCP_CC_NEWRENO;
	f->conf.tx_csum_offload = true;
	f->conf.tso_max = TSO_MAX;
	f->now = 5000000;
}

static void nic_null(void *arg, uint32_t saddr, uint32_t daddr, const uint8_t *p, size_t len)
{
	(void)arg; (void)saddr; (void)daddr; (void)p; (void)len;
}

static unsigned outp(struct fx *f)
{
	unsigned i;

	f->n = dssh_tcp_output(f->s, f->o, 32, f->now);
	for (i = 0; i < f->n; i++) {
		CHECK_EQ_INT(dssh_tcp_parse(f->o[i].hdr, f->o[i].hdr_len, &f->h[i]), 0);
		seg_check(&f->t, &f->o[i]);
		f->t.wire += nic_tx(&f->o[i], f->conf.tx_csum_offload, nic_null, NULL);
	}
	return f->n;
}

/* Peer ACK; wnd in bytes (scale 7), optional SACK block [s0, s1) relative to base. */
static void pack(struct fx *f, uint32_t ack_rel, uint32_t wnd, uint32_t s0, uint32_t s1)
{
	uint8_t o[12];
	size_t ol = 0;

	if (s1 > s0) {
		o[0] = 1; o[1] = 1; o[2] = 5; o[3] = 10;
		dssh_put_u32be(o + 4, f->base + s0);
		dssh_put_u32be(o + 8, f->base + s1);
		ol = 12;
	}
	CHECK_EQ_INT(feed(f->s, PPORT, LPORT, f->pnxt, f->base + ack_rel, DSSH_TCP_ACK,
	    (uint16_t)(wnd >> 7), o, ol, NULL, 0, f->now), 0);
}

/* Passive open: peer MSS mss, window scale 7, SACK if sack, no timestamps. */
static void fx_open(struct fx *f, uint16_t mss, bool sack)
{
	uint8_t o[12];
	size_t ol = 0;
	struct dssh_tcp_event ev[2];

	CHECK_EQ_INT(dssh_tcp_stack_new(&f->conf, &f->s), 0);
	CHECK_EQ_INT(dssh_tcp_listen(f->s, 0, LPORT), 0);
	o[ol++] = 2; o[ol++] = 4; o[ol++] = (uint8_t)(mss >> 8); o[ol++] = (uint8_t)mss;
	o[ol++] = 1; o[ol++] = 3; o[ol++] = 3; o[ol++] = 7;
	if (sack) {
		o[ol++] = 4; o[ol++] = 2;
	}
	CHECK_EQ_INT(feed(f->s, PPORT, LPORT, PISS, 0, DSSH_TCP_SYN, 65535, o, ol, NULL, 0,
	    f->now), 0);
	CHECK_EQ_INT(outp(f), 1);
	f->base = f->h[0].seq + 1;
	f->pnxt = PISS + 1;
	pack(f, 0, 1000u << 7, 0, 0);
	CHECK_EQ_INT(dssh_tcp_events(f->s, ev, 2), 1);
	f->c = ev[0].conn;
}

static struct dssh_tcp_conn_info fx_info(struct fx *f)
{
	struct dssh_tcp_conn_info in;

	dssh_tcp_conn_get_info(f->c, &in);
	return in;
}

static void expect_seg(struct fx *f, unsigned i, uint32_t seq_rel, uint32_t len, uint8_t flags)
{
	CHECK(i < f->n);
	if (i >= f->n)
		return;
	CHECK_EQ_INT(f->h[i].seq - f->base, seq_rel);
	CHECK_EQ_INT(f->o[i].len, len);
	CHECK_EQ_INT(f->h[i].flags, flags);
	CHECK_EQ_INT(f->o[i].tso_mss, len > 1000 ? 1000 : 0);
}

static uint8_t sbuf[70000];

static void test_tso_conf(void)
{
	struct dssh_tcp_conf conf;
	struct dssh_tcp_stack *s = NULL;

	dssh_tcp_conf_default(&conf);
	CHECK_EQ_INT(conf.tso_max, 0);
	conf.tso_max = TSO_MAX;
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &s), DSSH_ERR_INVALID_ARGUMENT);
	CHECK(s == NULL);
	conf.tx_csum_offload = true;
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &s), 0);
	dssh_tcp_stack_free(s);
}

/* Sizes against cwnd, rwnd, Nagle; PSH and FIN; RTT timing of the first MSS. */
static void test_tso_shapes(void)
{
	struct fx f;
	struct dssh_tcp_conn_info in;
	struct dssh_tcp_stats st;
	uint32_t u = 0, cw;

	fx_new(&f);
	fx_open(&f, 1000, false);
	f.t.strict = true;
	f.t.wire = 0;
	CHECK_EQ_INT(fx_info(&f).mss, 1000);
	CHECK_EQ_INT(fx_info(&f).srtt_us, 0);
	/* 10 MSS = the initial window, ends the data: one segment with PSH */
	CHECK_EQ_INT(dssh_tcp_send(f.c, sbuf, 10000), 10000);
	CHECK_EQ_INT(outp(&f), 1);
	expect_seg(&f, 0, 0, 10000, DSSH_TCP_ACK | DSSH_TCP_PSH);
	CHECK_EQ_INT(f.t.wire, 10);
	/* the first MSS is timed: an ACK of two MSS 5 ms later is a sample */
	f.now += 5000;
	pack(&f, 2000, 1000u << 7, 0, 0);
	CHECK_EQ_INT(fx_info(&f).srtt_us, 5000 / 8);
	CHECK_EQ_INT(outp(&f), 0);
	pack(&f, 10000, 1000u << 7, 0, 0);
	u = 10000;
	CHECK_EQ_INT(outp(&f), 0);
	/* a sub-MSS tail that ends the data goes along with nodelay */
	cw = fx_info(&f).cwnd;
	CHECK(cw >= 11000);
	CHECK_EQ_INT(dssh_tcp_send(f.c, sbuf, 10500), 10500);
	CHECK_EQ_INT(outp(&f), 1);
	expect_seg(&f, 0, u, 10500, DSSH_TCP_ACK | DSSH_TCP_PSH);
	pack(&f, u += 10500, 1000u << 7, 0, 0);
	/* cwnd-limited: whole MSS of cwnd, no PSH; the rest after the ACK */
	cw = fx_info(&f).cwnd;
	CHECK_EQ_INT(dssh_tcp_send(f.c, sbuf, 30000), 30000);
	CHECK_EQ_INT(outp(&f), 1);
	expect_seg(&f, 0, u, cw - cw % 1000, DSSH_TCP_ACK);
	CHECK_EQ_INT(outp(&f), 0);
	pack(&f, u += cw - cw % 1000, 1000u << 7, 0, 0);
	while (fx_info(&f).sndbuf_used > 0) {
		CHECK(outp(&f) >= 1);
		pack(&f, u += f.o[0].len, 1000u << 7, 0, 0);
	}
	/* rwnd-limited (27 << 7 = 3456 bytes): 3 MSS, the 456-byte runt waits (SWS) */
	pack(&f, u, 27u << 7, 0, 0);
	CHECK_EQ_INT(dssh_tcp_send(f.c, sbuf, 5000), 5000);
	CHECK_EQ_INT(outp(&f), 1);
	expect_seg(&f, 0, u, 3000, DSSH_TCP_ACK);
	CHECK_EQ_INT(outp(&f), 0);
	pack(&f, u += 3000, 27u << 7, 0, 0);
	CHECK_EQ_INT(outp(&f), 1);
	expect_seg(&f, 0, u, 2000, DSSH_TCP_ACK | DSSH_TCP_PSH);
	pack(&f, u += 2000, 1000u << 7, 0, 0);
	CHECK_EQ_INT(outp(&f), 0);
	/* Nagle: whole MSS go, the tail waits for the ACK */
	dssh_tcp_set_nodelay(f.c, false);
	CHECK_EQ_INT(dssh_tcp_send(f.c, sbuf, 2500), 2500);
	CHECK_EQ_INT(outp(&f), 1);
	expect_seg(&f, 0, u, 2000, DSSH_TCP_ACK);
	CHECK_EQ_INT(outp(&f), 0);
	pack(&f, u += 2000, 1000u << 7, 0, 0);
	CHECK_EQ_INT(outp(&f), 1);
	expect_seg(&f, 0, u, 500, DSSH_TCP_ACK | DSSH_TCP_PSH);
	pack(&f, u += 500, 1000u << 7, 0, 0);
	dssh_tcp_set_nodelay(f.c, true);
	/* FIN on the TSO segment that ends the stream */
	CHECK_EQ_INT(dssh_tcp_send(f.c, sbuf, 2500), 2500);
	dssh_tcp_close(f.c, f.now);
	CHECK_EQ_INT(outp(&f), 1);
	expect_seg(&f, 0, u, 2500, DSSH_TCP_ACK | DSSH_TCP_PSH | DSSH_TCP_FIN);
	dssh_tcp_conn_get_info(f.c, &in);
	CHECK_EQ_INT(in.state, DSSH_TCP_FIN_WAIT_1);
	CHECK_EQ_INT(in.snd_nxt - f.base, u + 2501);
	CHECK_EQ_INT(in.snd_max - f.base, u + 2501);
	dssh_tcp_get_stats(f.s, &st);
	CHECK_EQ_INT(st.out_segs, f.t.segs);
	CHECK_EQ_INT(st.tso_segs, f.t.tso_segs);
	CHECK_EQ_INT(st.retransmits, 0);
	CHECK(f.t.cwnd_limited > 0 && f.t.rwnd_limited > 0);
	dssh_tcp_stack_free(f.s);
}

/* tso_max caps the segment (whole MSS); below two MSS there is no TSO. */
static void test_tso_max_small(void)
{
	struct fx f;
	unsigned i;

	fx_new(&f);
	f.conf.tso_max = 2500;
	fx_open(&f, 1000, false);
	CHECK_EQ_INT(dssh_tcp_send(f.c, sbuf, 10000), 10000);
	CHECK_EQ_INT(outp(&f), 5);
	for (i = 0; i < 5; i++)
		expect_seg(&f, i, i * 2000, 2000, DSSH_TCP_ACK | (i == 4 ? DSSH_TCP_PSH : 0));
	dssh_tcp_stack_free(f.s);

	fx_new(&f);
	f.conf.tso_max = 1999;
	fx_open(&f, 1000, false);
	CHECK_EQ_INT(dssh_tcp_send(f.c, sbuf, 10000), 10000);
	CHECK_EQ_INT(outp(&f), 10);
	for (i = 0; i < 10; i++)
		expect_seg(&f, i, i * 1000, 1000, DSSH_TCP_ACK | (i == 9 ? DSSH_TCP_PSH : 0));
	CHECK_EQ_INT(f.t.tso_segs, 0);
	dssh_tcp_stack_free(f.s);

	/* the IPv4 length limit: 65535 - 40 bytes, whole MSS */
	fx_new(&f);
	f.conf.tso_max = 1u << 20;
	f.conf.sndbuf = 1u << 20;
	fx_open(&f, 1000, false);
	pack(&f, 0, 1000u << 7, 0, 0);
	CHECK_EQ_INT(dssh_tcp_send(f.c, sbuf, 10000), 10000);
	outp(&f);
	pack(&f, 10000, 1000u << 7, 0, 0);
	/* grow cwnd past 64 KiB in slow start */
	while (fx_info(&f).cwnd < 70000) {
		CHECK_EQ_INT(dssh_tcp_send(f.c, sbuf, 1000), 1000);
		outp(&f);
		pack(&f, fx_info(&f).snd_max - f.base, 1000u << 7, 0, 0);
	}
	CHECK_EQ_INT(dssh_tcp_send(f.c, sbuf, 70000), 70000);
	CHECK_EQ_INT(outp(&f), 2);
	CHECK_EQ_INT(f.o[0].len, 65000);
	CHECK_EQ_INT(f.o[1].len, 5000);
	dssh_tcp_stack_free(f.s);
}

/* A TSO segment across the send ring's wrap: two payload pieces. */
static void test_tso_ring_wrap(void)
{
	struct fx f;
	uint8_t data[6000], got[6000];
	unsigned i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	fx_new(&f);
	f.conf.sndbuf = 8192;
	fx_open(&f, 1000, false);
	CHECK_EQ_INT(dssh_tcp_send(f.c, sbuf, 5000), 5000);
	CHECK_EQ_INT(outp(&f), 1);
	pack(&f, 5000, 1000u << 7, 0, 0);
	CHECK_EQ_INT(dssh_tcp_send(f.c, data, 6000), 6000);
	CHECK_EQ_INT(outp(&f), 1);
	expect_seg(&f, 0, 5000, 6000, DSSH_TCP_ACK | DSSH_TCP_PSH);
	CHECK_EQ_INT(f.o[0].npay, 2);
	CHECK_EQ_INT(f.o[0].pay_len[0], 8192 - 5000);
	CHECK_EQ_INT(f.o[0].pay_len[1], 6000 - (8192 - 5000));
	memcpy(got, f.o[0].pay[0], f.o[0].pay_len[0]);
	memcpy(got + f.o[0].pay_len[0], f.o[0].pay[1], f.o[0].pay_len[1]);
	CHECK_MEM(got, data, sizeof(data));
	dssh_tcp_stack_free(f.s);
}

/* Timeout after a TSO segment: go-back-N from one MSS, TSO again as cwnd grows; Karn. */
static void test_tso_rto(void)
{
	struct fx f;
	struct dssh_tcp_stats st;
	uint32_t srtt;

	fx_new(&f);
	fx_open(&f, 1000, false);
	CHECK_EQ_INT(dssh_tcp_send(f.c, sbuf, 8000), 8000);
	CHECK_EQ_INT(outp(&f), 1);
	expect_seg(&f, 0, 0, 8000, DSSH_TCP_ACK | DSSH_TCP_PSH);
	srtt = fx_info(&f).srtt_us;
	f.now += 1000000;
	dssh_tcp_timers(f.s, f.now);
	CHECK_EQ_INT(fx_info(&f).cwnd, 1000);
	CHECK_EQ_INT(outp(&f), 1);
	expect_seg(&f, 0, 0, 1000, DSSH_TCP_ACK);
	f.now += 3000;
	pack(&f, 1000, 1000u << 7, 0, 0);
	CHECK_EQ_INT(fx_info(&f).cwnd, 2000);
	CHECK_EQ_INT(outp(&f), 1);
	expect_seg(&f, 0, 1000, 2000, DSSH_TCP_ACK);
	CHECK_EQ_INT(f.t.tso_rexmit, 1);
	pack(&f, 3000, 1000u << 7, 0, 0);
	CHECK_EQ_INT(outp(&f), 1);
	expect_seg(&f, 0, 3000, 3000, DSSH_TCP_ACK);
	pack(&f, 6000, 1000u << 7, 0, 0);
	CHECK_EQ_INT(outp(&f), 1);
	expect_seg(&f, 0, 6000, 2000, DSSH_TCP_ACK | DSSH_TCP_PSH);
	pack(&f, 8000, 1000u << 7, 0, 0);
	CHECK_EQ_INT(fx_info(&f).srtt_us, srtt);   /* Karn: no sample from resent data */
	CHECK_EQ_INT(fx_info(&f).snd_una - f.base, 8000);
	dssh_tcp_get_stats(f.s, &st);
	CHECK_EQ_INT(st.retransmits, 4);
	CHECK_EQ_INT(st.rto_expired, 1);
	CHECK_EQ_INT(st.tso_segs, 4);
	dssh_tcp_stack_free(f.s);
}

/* SACK recovery: fast retransmit of one MSS, then the rest of the hole as one TSO segment. */
static void test_tso_sack_hole(void)
{
	struct fx f;
	struct dssh_tcp_conn_info in;
	struct dssh_tcp_stats st;

	fx_new(&f);
	/* the RFC 6675 path (fast retransmit of one MSS, then the hole's rest
	 * as TSO); RACK resends the lost range [0, 4000) as one TSO segment */
	f.conf.rack = false;
	fx_open(&f, 1000, true);
	CHECK(fx_info(&f).sack_ok);
	CHECK_EQ_INT(dssh_tcp_send(f.c, sbuf, 10000), 10000);
	CHECK_EQ_INT(outp(&f), 1);
	expect_seg(&f, 0, 0, 10000, DSSH_TCP_ACK | DSSH_TCP_PSH);
	/* wire segments 0-3 lost: the peer SACKs 4000-10000 */
	pack(&f, 0, 1000u << 7, 4000, 10000);
	dssh_tcp_conn_get_info(f.c, &in);
	CHECK(in.in_recovery);
	CHECK_EQ_INT(in.cwnd, 5000);
	CHECK_EQ_INT(outp(&f), 2);
	expect_seg(&f, 0, 0, 1000, DSSH_TCP_ACK);
	expect_seg(&f, 1, 1000, 3000, DSSH_TCP_ACK);
	CHECK_EQ_INT(outp(&f), 0);
	pack(&f, 10000, 1000u << 7, 0, 0);
	dssh_tcp_conn_get_info(f.c, &in);
	CHECK(!in.in_recovery);
	CHECK_EQ_INT(in.sndbuf_used, 0);
	dssh_tcp_get_stats(f.s, &st);
	CHECK_EQ_INT(st.retransmits, 2);
	CHECK_EQ_INT(st.sack_recoveries, 1);
	CHECK_EQ_INT(st.tso_segs, 2);
	dssh_tcp_stack_free(f.s);
}

/* ---- two stacks: A with TSO, B without, the NIC in between ---- */

static void nic_chan(void *arg, uint32_t saddr, uint32_t daddr, const uint8_t *p, size_t len)
{
	void **a = arg;

	chan_put_raw(a[0], saddr, daddr, p, len, *(uint64_t *)a[1]);
}

static void pump_tso(struct dssh_tcp_stack *s, struct chan *ch, uint64_t now, struct tso_check *t)
{
	struct dssh_tcp_seg_out o[32];
	unsigned n, i;
	void *arg[2] = { ch, &now };

	do {
		n = dssh_tcp_output(s, o, 32, now);
		for (i = 0; i < n; i++) {
			seg_check(t, &o[i]);
			t->wire += nic_tx(&o[i], true, nic_chan, arg);
		}
	} while (n == 32);
}

static void pump_plain(struct dssh_tcp_stack *s, struct chan *ch, uint64_t now)
{
	struct dssh_tcp_seg_out o[32];
	unsigned n, i;

	do {
		n = dssh_tcp_output(s, o, 32, now);
		for (i = 0; i < n; i++) {
			CHECK_EQ_INT(o[i].tso_mss, 0);
			chan_put(ch, &o[i], now);
		}
	} while (n == 32);
}

/* Read at most max bytes (0: all) and verify them. */
static void end_read_max(struct end *e, size_t max)
{
	const uint8_t *p[2];
	size_t l[2], i, k;
	unsigned np, j;

	if (e->c == NULL)
		return;
	np = dssh_tcp_peek(e->c, p, l);
	for (j = 0; j < np; j++) {
		k = max ? DSSH_MIN(l[j], max) : l[j];
		for (i = 0; i < k; i++)
			if (p[j][i] != stream_byte(e->rx_seed, e->rx_done + i))
				e->bad = true;
		e->rx_done += k;
		CHECK_EQ_INT(dssh_tcp_consume(e->c, k), 0);
		if (max) {
			max -= k;
			if (max == 0)
				break;
		}
	}
	if (dssh_tcp_eof(e->c))
		e->rx_eof = true;
}

struct run_p {
	enum dssh_tcp_cc_algo cc;
	bool sack, ts;
	uint64_t seed, a2b, b2a;
	unsigned loss_pm, reorder_pm, dup_pm;
	uint32_t b_rcvbuf;
	size_t b_read_max;      /* B reads at most this much per round (0: all) */
	bool want_rwnd_lim;     /* expect TSO segments that fill the peer's window */
	bool want_cap;          /* expect TSO segments of the largest size */
	bool want_tso_rexmit;   /* expect retransmissions as TSO segments */
};

static void run(const struct run_p *rp)
{
	struct dssh_tcp_conf conf;
	struct dssh_tcp_stack *sa = NULL, *sb = NULL;
	struct chan ab = { 0 }, ba = { 0 };
	struct end ea = { 0 }, eb = { 0 };
	struct dssh_tcp_event ev[16];
	struct dssh_tcp_stats st, stb;
	struct tso_check t = { 0 };
	uint64_t now = 1000000, deadline;
	uint32_t srtt = 0, mss = 1460 - (rp->ts ? 12 : 0);
	/* largest TSO payload: 65535 - 40 - options, whole MSS */
	uint32_t cap = DSSH_MIN(TSO_MAX, 65535u - 40 - (rp->ts ? 12 : 0)) / mss * mss;
	unsigned n, i;

	t.strict = rp->loss_pm == 0 && rp->reorder_pm == 0 && rp->dup_pm == 0;
	dssh_tcp_conf_default(&conf);
	conf.cc = rp->cc;
	conf.sack = rp->sack;
	conf.timestamps = rp->ts;
	conf.msl_us = 500000;
	conf.tx_csum_offload = true;
	conf.tso_max = TSO_MAX;
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &sa), 0);
	conf.tx_csum_offload = false;
	conf.tso_max = 0;
	if (rp->b_rcvbuf)
		conf.rcvbuf = rp->b_rcvbuf;
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &sb), 0);
	if (sa == NULL || sb == NULL)
		return;
	ab.rng = rp->seed; ba.rng = rp->seed ^ 0x5555;
	ab.loss_pm = ba.loss_pm = rp->loss_pm;
	ab.reorder_pm = ba.reorder_pm = rp->reorder_pm;
	ab.dup_pm = ba.dup_pm = rp->dup_pm;
	ab.fifo = ba.fifo = t.strict;
	ea.tx_seed = eb.rx_seed = rp->seed + 1;
	eb.tx_seed = ea.rx_seed = rp->seed + 2;
	ea.tx_total = eb.rx_total = rp->a2b;
	eb.tx_total = ea.rx_total = rp->b2a;

	CHECK_EQ_INT(dssh_tcp_listen(sb, 0, 22), 0);
	CHECK_EQ_INT(dssh_tcp_connect(sa, IP_A, 0, IP_B, 22, now, &ea.c), 0);
	deadline = now + 600ull * 1000000;
	while (now < deadline) {
		dssh_tcp_timers(sa, now);
		dssh_tcp_timers(sb, now);
		while ((n = dssh_tcp_events(sa, ev, 16)) > 0) {
			for (i = 0; i < n; i++) {
				if (ev[i].events & DSSH_TCP_EV_RESET)
					ea.bad = true;
			}
		}
		while ((n = dssh_tcp_events(sb, ev, 16)) > 0) {
			for (i = 0; i < n; i++) {
				if (ev[i].events & DSSH_TCP_EV_ACCEPTED)
					eb.c = ev[i].conn;
				if (ev[i].events & DSSH_TCP_EV_RESET)
					eb.bad = true;
			}
		}
		end_write(&ea, now);
		end_write(&eb, now);
		end_read_max(&ea, 0);
		end_read_max(&eb, rp->b_read_max);
		if (ea.c && !ea.fin_sent && ea.tx_done == ea.tx_total && ea.rx_eof) {
			struct dssh_tcp_conn_info in;

			dssh_tcp_conn_get_info(ea.c, &in);
			srtt = in.srtt_us;
			dssh_tcp_close(ea.c, now);
			ea.fin_sent = true;
			ea.c = NULL;
		}
		if (eb.c && !eb.fin_sent && eb.tx_done == eb.tx_total && eb.rx_done == eb.rx_total) {
			dssh_tcp_close(eb.c, now);
			eb.fin_sent = true;
			eb.c = NULL;
		}
		pump_tso(sa, &ab, now, &t);
		pump_plain(sb, &ba, now);
		if (ea.fin_sent && eb.fin_sent && ab.n == 0 && ba.n == 0 &&
		    dssh_tcp_timers(sa, now) == UINT64_MAX && dssh_tcp_timers(sb, now) == UINT64_MAX)
			break;
		/* jump to the next thing that happens */
		now = chan_next_time(sa, sb, &ab, &ba, now);
		chan_deliver(&ab, sb, now);
		chan_deliver(&ba, sa, now);
		if (ea.bad || eb.bad)
			break;
	}
	CHECK(!ea.bad);
	CHECK(!eb.bad);
	CHECK_EQ_INT(eb.rx_done, rp->a2b);
	CHECK_EQ_INT(ea.rx_done, rp->b2a);
	CHECK(ea.rx_eof);
	CHECK(ea.fin_sent && eb.fin_sent);
	CHECK(now < deadline);
	CHECK(dssh_tcp_lookup(sa, IP_A, 0, IP_B, 22) == NULL);
	dssh_tcp_get_stats(sa, &st);
	dssh_tcp_get_stats(sb, &stb);
	CHECK_EQ_INT(st.out_segs, t.segs);
	CHECK_EQ_INT(st.tso_segs, t.tso_segs);
	CHECK(t.tso_segs > 0);
	CHECK(t.max_len <= cap);
	CHECK_EQ_INT(stb.in_bad_csum + stb.in_bad_hdr + stb.in_bad_opt, 0);
	CHECK_EQ_INT(stb.conns_opened, 1);
	if (t.strict) {
		CHECK_EQ_INT(st.retransmits, 0);
		CHECK(t.cwnd_limited > 0);
		if (rp->want_cap)
			CHECK_EQ_INT(t.max_len, cap);
		if (rp->want_rwnd_lim)
			CHECK(t.rwnd_limited > 0);
		/* 1 ms each way, and the first MSS of a burst timed: about 2 ms */
		CHECK(srtt >= 2000 && srtt < 10000);
	} else {
		CHECK(st.retransmits > 0);
		CHECK(ab.lost > 0 && ab.reordered > 0 && ab.duped > 0);
		if (rp->want_tso_rexmit)
			CHECK(t.tso_rexmit > 0);
	}
	fprintf(stderr, "  %s sack=%d ts=%d loss=%u: %.1f s, A: out %llu (tso %llu, max %llu B, "
	    "%llu wire) rexmit %llu (tso %llu) rto %llu fast %llu sackrec %llu srtt %u; "
	    "lim rwnd %llu cwnd %llu; chan lost %llu\n",
	    rp->cc == DSSH_TCP_CC_CUBIC ? "cubic" : "newreno", rp->sack, rp->ts, rp->loss_pm,
	    (now - 1000000) / 1e6, (unsigned long long)st.out_segs,
	    (unsigned long long)st.tso_segs, (unsigned long long)t.max_len,
	    (unsigned long long)t.wire, (unsigned long long)st.retransmits,
	    (unsigned long long)t.tso_rexmit, (unsigned long long)st.rto_expired,
	    (unsigned long long)st.fast_retransmits, (unsigned long long)st.sack_recoveries, srtt,
	    (unsigned long long)t.rwnd_limited, (unsigned long long)t.cwnd_limited,
	    (unsigned long long)ab.lost);
	dssh_tcp_stack_free(sa);
	dssh_tcp_stack_free(sb);
	free(ab.q);
	free(ba.q);
}

/* A lossless in-order link: the largest segments once cwnd allows them */
static void test_tso_bulk_clean(void)
{
	struct run_p p = { .cc = DSSH_TCP_CC_CUBIC, .sack = true, .ts = true, .seed = 0x7150,
		.a2b = 4u << 20, .b2a = 0, .b_read_max = 64u << 10, .want_cap = true };

	run(&p);
}

/* A slow reader with a small buffer: segments cut to the peer's window */
static void test_tso_bulk_rwnd(void)
{
	struct run_p p = { .cc = DSSH_TCP_CC_NEWRENO, .sack = true, .ts = false, .seed = 0x7151,
		.a2b = 4u << 20, .b2a = 0, .b_rcvbuf = 96u << 10, .b_read_max = 20000,
		.want_rwnd_lim = true };

	run(&p);
}

static void test_tso_lossy_cubic_sack(void)
{
	struct run_p p = { .cc = DSSH_TCP_CC_CUBIC, .sack = true, .ts = true, .seed = 0x1234567,
		.a2b = 4u << 20, .b2a = 1u << 20, .loss_pm = 20, .reorder_pm = 50, .dup_pm = 10,
		.want_tso_rexmit = true };

	run(&p);
}

static void test_tso_lossy_newreno_nosack(void)
{
	struct run_p p = { .cc = DSSH_TCP_CC_NEWRENO, .sack = false, .ts = false, .seed = 0xabcdef,
		.a2b = 4u << 20, .b2a = 1u << 20, .loss_pm = 20, .reorder_pm = 50, .dup_pm = 10,
		.want_tso_rexmit = true };

	run(&p);
}

static void test_tso_lossy_sack_nots(void)
{
	struct run_p p = { .cc = DSSH_TCP_CC_CUBIC, .sack = true, .ts = false, .seed = 0x777,
		.a2b = 4u << 20, .b2a = 256u << 10, .loss_pm = 50, .reorder_pm = 50, .dup_pm = 10,
		.want_tso_rexmit = true };

	run(&p);
}

int main(int argc, char **argv)
{
	/* stress mode: test_tcp_tso N [loss per mille] runs N extra seeds (1 MiB each way) */
	if (argc > 1) {
		unsigned long i, n = strtoul(argv[1], NULL, 10);
		unsigned loss = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 20;

		for (i = 0; i < n; i++) {
			struct run_p p = { .cc = i % 2 ? DSSH_TCP_CC_NEWRENO : DSSH_TCP_CC_CUBIC,
				.sack = i % 3 != 0, .ts = i % 4 != 0, .seed = 1000 + i,
				.a2b = 1u << 20, .b2a = 256u << 10, .loss_pm = loss,
				.reorder_pm = 50, .dup_pm = 10 };

			run(&p);
		}
		DSSH_TEST_END();
	}
	DSSH_RUN(test_tso_conf);
	DSSH_RUN(test_tso_shapes);
	DSSH_RUN(test_tso_max_small);
	DSSH_RUN(test_tso_ring_wrap);
	DSSH_RUN(test_tso_rto);
	DSSH_RUN(test_tso_sack_hole);
	DSSH_RUN(test_tso_bulk_clean);
	DSSH_RUN(test_tso_bulk_rwnd);
	DSSH_RUN(test_tso_lossy_cubic_sack);
	DSSH_RUN(test_tso_lossy_newreno_nosack);
	DSSH_RUN(test_tso_lossy_sack_nots);
	DSSH_TEST_END();
}
