/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The send queue with payload kept by reference (conf.tx_buf_ops,
 * dssh_tcp_send_ref): a fake driver writes each message into its own
 * reference-counted buffer, as the data plane seals SSH packets into mbufs,
 * mixed with copied bytes (dssh_tcp_send, in place). Segments out (TSO-sized
 * with tso_max) must carry the driver's handles and the right bytes at the
 * right sequence numbers through loss, retransmission and partial ACKs
 * inside a piece; a buffer is released once its bytes are all acknowledged,
 * and every reference comes back after close, abort and stack free.
 */
#include <stdlib.h>

#include "tcp_test_bufs.h"

#define PPORT 40000
#define LPORT 22
#define PISS 5000u
#define MSS 1460u

static struct cap caps[64];

static void stack_new(struct dssh_tcp_stack **s, struct tb_drv *d, bool tso, bool ops)
{
	struct dssh_tcp_conf conf;

	dssh_tcp_conf_default(&conf);
	conf.sndbuf = 512 * 1024;
	if (tso) {
		conf.tx_csum_offload = true;
		conf.tso_max = 65000;
	}
	if (ops) {
		conf.tx_buf_ops = &tb_ops;
		conf.tx_buf_arg = d;
	}
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, s), 0);
}

/* Passive open, MSS 1460, SACK, window scale 7 (no timestamps). */
static struct dssh_tcp_conn *t_open(struct dssh_tcp_stack *s, uint32_t *iss, uint64_t now)
{
	static const uint8_t synopt[] = { 2, 4, 0x05, 0xb4, 4, 2, 3, 3, 7, 1 };
	struct dssh_tcp_event ev[4];

	CHECK_EQ_INT(dssh_tcp_listen(s, 0, LPORT), 0);
	CHECK_EQ_INT(feed(s, PPORT, LPORT, PISS, 0, DSSH_TCP_SYN, 65535, synopt, sizeof(synopt),
	    NULL, 0, now), 0);
	CHECK_EQ_INT(drain(s, caps, 64, now), 1);
	*iss = caps[0].h.seq;
	CHECK_EQ_INT(feed(s, PPORT, LPORT, PISS + 1, *iss + 1, DSSH_TCP_ACK, 65535, NULL, 0,
	    NULL, 0, now), 0);
	CHECK_EQ_INT(dssh_tcp_events(s, ev, 4), 1);
	return ev[0].conn;
}

/* A driver buffer holding stream bytes [off, off + n), queued by reference. */
static ssize_t send_ref_pat(struct dssh_tcp_conn *c, struct tb_drv *d, uint64_t off, uint32_t n,
    uint32_t lead)
{
	struct tb_buf *b = tb_new(d, lead + n);
	ssize_t r;

	memset(b->data, 0xee, lead);
	for (uint32_t k = 0; k < n; k++)
		b->data[lead + k] = tb_pat(off + k);
	r = dssh_tcp_send_ref(c, b, b->data + lead, n);
	tb_unref(d, b);             /* the driver's own reference */
	return r;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct tstat {
	uint64_t ref_bytes, copy_bytes, segs, tso_segs, cut_segs;
	bool bad;
};

/* Checks one segment out: pieces, handles, bytes at its sequence number. */
static void check_seg(const struct dssh_tcp_seg_out *o, uint32_t iss, uint64_t queued,
    struct tstat *t)
{
	uint32_t seq = get32(o->hdr + 4), sum = 0;
	uint64_t off = seq - (iss + 1);

	t->segs++;
	if (o->len == 0)
		return;
	if (o->npay == 0 || o->npay > DSSH_TCP_SEG_PAY_MAX)
		t->bad = true;
	for (unsigned i = 0; i < o->npay && i < DSSH_TCP_SEG_PAY_MAX; i++) {
		const struct tb_buf *b = o->pay_buf[i];

		if (b != NULL) {
			if (b->refs <= 0 || o->pay[i] < b->data ||
			    o->pay[i] + o->pay_len[i] > b->data + b->len)
				t->bad = true;
			t->ref_bytes += o->pay_len[i];
		} else {
			t->copy_bytes += o->pay_len[i];
		}
		for (uint32_t k = 0; k < o->pay_len[i]; k++)
			if (o->pay[i][k] != tb_pat(off + sum + k)) {
				t->bad = true;
				break;
			}
		sum += o->pay_len[i];
	}
	if (sum != o->len || off + o->len > queued)
		t->bad = true;
	if (o->tso_mss != 0) {
		t->tso_segs++;
		/* whole MSS but for the segment that ends the queued data */
		if (o->len <= MSS || (o->len % MSS != 0 && off + o->len != queued))
			t->bad = true;
	}
	if (o->npay == DSSH_TCP_SEG_PAY_MAX)
		t->cut_segs++;
}

/*
 * total bytes from the stack to a peer that drops loss_pct of the segments
 * and keeps only in-order data (so losses come back as retransmissions:
 * fast, SACK-less go-back-N, RTO), acknowledging at random points, also
 * inside pieces. Messages go by reference (sizes minsz..maxsz), copied, or
 * written in place.
 */
static void run_stream(uint64_t seed, size_t total, uint32_t minsz, uint32_t maxsz,
    unsigned loss_pct, bool tso, long budget)
{
	struct tb_drv d = { .budget = budget };
	struct dssh_tcp_stack *s = NULL;
	struct dssh_tcp_conn *c;
	struct dssh_tcp_seg_out o[16];
	struct tstat t = { 0 };
	struct dssh_tcp_stats st;
	uint64_t r = seed, now = 1000000, queued = 0, peer = 0, acked = 0;
	uint32_t iss;
	unsigned iter = 0;

	stack_new(&s, &d, tso, true);
	c = t_open(s, &iss, now);
	CHECK(c != NULL);
	if (c == NULL)
		goto out;
	while (acked < total && iter++ < 200000) {
		unsigned n;

		/* queue as much as there is room for */
		while (queued < total) {
			uint32_t want = minsz + (uint32_t)(dssh_test_rand(&r) % (maxsz - minsz + 1));
			uint64_t pick = dssh_test_rand(&r) % 10;
			ssize_t k;

			want = (uint32_t)DSSH_MIN((uint64_t)want, total - queued);
			if (dssh_tcp_send_space(c, want) < want)
				break;
			if (pick < 7) {
				k = send_ref_pat(c, &d, queued, want, (uint32_t)(dssh_test_rand(&r) % 64));
			} else if (pick < 9) {
				uint8_t *p = dssh_tcp_send_buf(c, 0, want);

				if (p == NULL)
					break;
				for (uint32_t i = 0; i < want; i++)
					p[i] = tb_pat(queued + i);
				k = dssh_tcp_send_commit(c, want);
			} else {
				uint8_t buf[65536];

				for (uint32_t i = 0; i < want && i < sizeof(buf); i++)
					buf[i] = tb_pat(queued + i);
				k = dssh_tcp_send(c, buf, DSSH_MIN(want, (uint32_t)sizeof(buf)));
			}
			CHECK(k > 0);
			if (k <= 0)
				goto out;
			queued += (uint64_t)k;
		}
		/* what goes out; the peer keeps the in-order part */
		while ((n = dssh_tcp_output(s, o, 16, now)) > 0) {
			for (unsigned i = 0; i < n; i++) {
				uint32_t seq = get32(o[i].hdr + 4);

				check_seg(&o[i], iss, queued, &t);
				if (o[i].len == 0 || dssh_test_rand(&r) % 100 < loss_pct)
					continue;
				if (seq - (iss + 1) <= peer && seq - (iss + 1) + o[i].len > peer)
					peer = seq - (iss + 1) + o[i].len;
			}
			if (n < 16)
				break;
		}
		/* ACK all the peer has, or a point inside what it has */
		if (peer > acked) {
			uint64_t a = peer;

			if (dssh_test_rand(&r) % 3 == 0)
				a = acked + 1 + dssh_test_rand(&r) % (peer - acked);
			CHECK_EQ_INT(feed(s, PPORT, LPORT, PISS + 1, iss + 1 + (uint32_t)a,
			    DSSH_TCP_ACK, 65535, NULL, 0, NULL, 0, now), 0);
			acked = a;
		} else if (peer < queued) {
			/* nothing new: a duplicate ACK */
			(void)feed(s, PPORT, LPORT, PISS + 1, iss + 1 + (uint32_t)acked,
			    DSSH_TCP_ACK, 65535, NULL, 0, NULL, 0, now);
		}
		now += 2000;
		(void)dssh_tcp_timers(s, now);
		/* nothing held for acknowledged bytes: at most one buffer per
		 * piece of the unacknowledged bytes */
		if (d.held > (long)((queued - acked) / minsz) + 1)
			t.bad = true;
	}
	CHECK(!t.bad);
	CHECK_EQ_INT(acked, total);
	dssh_tcp_get_stats(s, &st);
	fprintf(stderr, "  seed %llu sizes %u-%u loss %u%% tso %d budget %ld: %llu segs (%llu TSO, "
	    "%llu with %d pieces), %llu B by ref, %llu B copied, %llu rexmits; holds %ld refused %ld\n",
	    (unsigned long long)seed, minsz, maxsz, loss_pct, tso, budget,
	    (unsigned long long)t.segs, (unsigned long long)t.tso_segs,
	    (unsigned long long)t.cut_segs, DSSH_TCP_SEG_PAY_MAX,
	    (unsigned long long)t.ref_bytes, (unsigned long long)t.copy_bytes,
	    (unsigned long long)st.retransmits, d.holds, d.refused);
	CHECK(t.ref_bytes > 0);
	CHECK(loss_pct == 0 || st.retransmits > 0);
	CHECK(!tso || t.tso_segs > 0);
	CHECK(budget == 0 || d.refused > 0);
	/* everything acknowledged: nothing held any more */
	CHECK_EQ_INT(d.held, 0);
	dssh_tcp_close(c, now);
	(void)drain(s, caps, 64, now);
 out:
	dssh_tcp_stack_free(s);
	CHECK_EQ_INT(d.held, 0);
	CHECK_EQ_INT(d.holds, d.releases);
	CHECK_EQ_INT(d.live, 0);
}

static void test_stream_tso(void)
{
	run_stream(1, 4u << 20, 256, 33000, 0, true, 0);
	run_stream(2, 4u << 20, 256, 33000, 3, true, 0);
	run_stream(3, 2u << 20, 1, 4000, 2, true, 0);
}

static void test_stream_mss(void)
{
	run_stream(4, 2u << 20, 300, 20000, 3, false, 0);
	run_stream(5, 1u << 20, 1, 2000, 5, false, 0);
}

/* Tiny pieces: a TSO segment is cut at DSSH_TCP_SEG_PAY_MAX pieces. */
static void test_many_pieces(void)
{
	run_stream(6, 1u << 20, 256, 300, 0, true, 0);
	run_stream(7, 1u << 20, 256, 300, 4, true, 0);
}

/* The driver's budget refuses holds: those bytes are copied. */
static void test_budget(void)
{
	run_stream(8, 2u << 20, 1000, 33000, 5, true, 3);
}

/* References come back after close (at stack free), abort and stack free. */
static void test_release_paths(void)
{
	for (int mode = 0; mode < 3; mode++) {
		struct tb_drv d = { 0 };
		struct dssh_tcp_stack *s = NULL;
		struct dssh_tcp_conn *c;
		uint32_t iss;
		uint64_t now = 1000000;

		stack_new(&s, &d, true, true);
		c = t_open(s, &iss, now);
		CHECK(c != NULL);
		if (c == NULL) {
			dssh_tcp_stack_free(s);
			continue;
		}
		for (int i = 0; i < 10; i++)
			CHECK_EQ_INT(send_ref_pat(c, &d, (uint64_t)i * 5000, 5000, 7), 5000);
		CHECK_EQ_INT(d.held, 10);
		(void)drain(s, caps, 64, now);
		/* a partial ACK inside the third buffer releases two */
		CHECK_EQ_INT(feed(s, PPORT, LPORT, PISS + 1, iss + 1 + 12345, DSSH_TCP_ACK, 65535,
		    NULL, 0, NULL, 0, now), 0);
		CHECK_EQ_INT(d.held, 8);
		if (mode == 0) {
			dssh_tcp_close(c, now);
			(void)drain(s, caps, 64, now);
			CHECK_EQ_INT(d.held, 8);       /* still to be delivered */
		} else if (mode == 1) {
			dssh_tcp_abort(c, now);
			(void)drain(s, caps, 64, now);
			CHECK_EQ_INT(d.held, 0);
		}
		dssh_tcp_stack_free(s);
		CHECK_EQ_INT(d.held, 0);
		CHECK_EQ_INT(d.holds, d.releases);
		CHECK_EQ_INT(d.live, 0);
	}
}

/* Without tx_buf_ops, or for short bytes, dssh_tcp_send_ref copies. */
static void test_copies(void)
{
	struct tb_drv d = { 0 };
	struct dssh_tcp_stack *s = NULL;
	struct dssh_tcp_conn *c;
	struct dssh_tcp_seg_out o[8];
	uint32_t iss;
	unsigned n;

	stack_new(&s, &d, false, false);
	c = t_open(s, &iss, 1000000);
	CHECK(c != NULL);
	if (c == NULL)
		goto out;
	CHECK_EQ_INT(send_ref_pat(c, &d, 0, 3000, 0), 3000);
	CHECK_EQ_INT(d.live, 0);            /* copied: the buffer is gone already */
	n = dssh_tcp_output(s, o, 8, 1000000);
	CHECK_EQ_INT(n, 3);
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < o[i].npay; k++)
			CHECK(o[i].pay_buf[k] == NULL);
	/* all or nothing: more than the room is refused whole */
	CHECK_EQ_INT(send_ref_pat(c, &d, 3000, 512 * 1024, 0), 0);
	CHECK_EQ_INT(d.live, 0);
 out:
	dssh_tcp_stack_free(s);
	s = NULL;
	/* with ops, fewer than 256 bytes are copied too */
	stack_new(&s, &d, false, true);
	c = t_open(s, &iss, 1000000);
	if (c != NULL) {
		CHECK_EQ_INT(send_ref_pat(c, &d, 0, 255, 0), 255);
		CHECK_EQ_INT(send_ref_pat(c, &d, 255, 256, 0), 256);
		CHECK_EQ_INT(d.holds, 1);
	}
	dssh_tcp_stack_free(s);
	CHECK_EQ_INT(d.held, 0);
	CHECK_EQ_INT(d.live, 0);
}

int main(void)
{
	DSSH_RUN(test_stream_tso);
	DSSH_RUN(test_stream_mss);
	DSSH_RUN(test_many_pieces);
	DSSH_RUN(test_budget);
	DSSH_RUN(test_release_paths);
	DSSH_RUN(test_copies);
	DSSH_TEST_END();
}
