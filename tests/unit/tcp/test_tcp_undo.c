/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reordering without loss must not cost the window:
 *   - undo of a needless recovery episode (RFC 3522 detection, RFC 4015
 *     and RFC 9438 4.9 response), fed segment by segment;
 *   - PAWS lets a disordered pure ACK through (its SACK blocks count) and
 *     TS.Recent never goes backwards (RFC 7323 5.3 R3);
 *   - CUBIC's Reno-friendly estimate grows with alpha = 1 once past
 *     cwnd_prior (RFC 9438 4.3).
 */
#include "tcp_test_util.h"
#include "tcp_priv.h"

#define MSS 1000u
#define PISS 100u               /* the peer's ISN */

struct fx {
	struct dssh_tcp_stack *s;
	struct dssh_tcp_conn *c;
	struct cap caps[32];
	uint32_t iss;               /* ours */
	uint32_t ptsval;            /* the peer's timestamp clock */
	uint32_t m;                 /* our MSS: 1000 less the timestamp option */
	uint64_t now;
};

/* NOP NOP TS, then NOP NOP SACK with n blocks; returns the length. */
static size_t opts(uint8_t *o, uint32_t tsval, uint32_t tsecr, const uint32_t (*blk)[2],
    unsigned n)
{
	size_t l = 0;
	unsigned i;

	o[l++] = 1; o[l++] = 1; o[l++] = 8; o[l++] = 10;
	dssh_put_u32be(o + l, tsval); l += 4;
	dssh_put_u32be(o + l, tsecr); l += 4;
	if (n > 0) {
		o[l++] = 1; o[l++] = 1; o[l++] = 5; o[l++] = (uint8_t)(2 + 8 * n);
		for (i = 0; i < n; i++) {
			dssh_put_u32be(o + l, blk[i][0]); l += 4;
			dssh_put_u32be(o + l, blk[i][1]); l += 4;
		}
	}
	return l;
}

/* Peer ACK (no data) with timestamps and SACK blocks. */
static void pack(struct fx *f, uint32_t ack, uint32_t tsval, uint32_t tsecr,
    const uint32_t (*blk)[2], unsigned n)
{
	uint8_t o[40];
	size_t ol = opts(o, tsval, tsecr, blk, n);

	CHECK_EQ_INT(feed(f->s, 22, f->c->lport, PISS + 1, ack, DSSH_TCP_ACK, 60000, o, ol, NULL, 0,
	    f->now), 0);
}

/* Active open with MSS 1000, SACK and timestamps (no window scaling). */
static void fx_open_port(struct fx *f, uint16_t lport)
{
	struct dssh_tcp_conf conf;
	uint8_t o[20] = { 2, 4, 0x03, 0xe8, 4, 2, 8, 10 };

	memset(f, 0, sizeof(*f));
	f->now = 1000000;
	f->ptsval = 5000;
	dssh_tcp_conf_default(&conf);
	conf.cc = DSSH_TCP_CC_CUBIC;
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &f->s), 0);
	CHECK_EQ_INT(dssh_tcp_connect(f->s, IP_A, lport, IP_B, 22, f->now, &f->c), 0);
	CHECK_EQ_INT(drain(f->s, f->caps, 32, f->now), 1);
	f->iss = f->caps[0].h.seq;
	f->now += 20000;
	dssh_put_u32be(o + 8, f->ptsval);
	dssh_put_u32be(o + 12, f->caps[0].h.tsval);
	o[16] = 1; o[17] = 1; o[18] = 1; o[19] = 1;
	CHECK_EQ_INT(feed(f->s, 22, lport, PISS, f->iss + 1, DSSH_TCP_SYN | DSSH_TCP_ACK, 60000,
	    o, sizeof(o), NULL, 0, f->now), 0);
	CHECK_EQ_INT(drain(f->s, f->caps, 32, f->now), 1);
	CHECK(f->caps[0].h.has_ts);
	f->m = f->c->mss;
	CHECK_EQ_INT(f->m, MSS - 12);
}

static void fx_open(struct fx *f)
{
	fx_open_port(f, 1234);
}

/*
 * Ten segments out, the first acknowledged (an RTT sample, cwnd 11 MSS in
 * slow start), the second missing while 3..9 are SACKed: RACK marks it
 * lost, recovery starts (CUBIC: ssthresh = cwnd = 0.7 * 11 MSS) and it is
 * resent. *ts_orig / *ts_rexmit: the TSvals of the original and the resend.
 */
static void fx_recovery(struct fx *f, uint32_t *ts_orig, uint32_t *ts_rexmit)
{
	static uint8_t data[10 * MSS];
	struct dssh_tcp_conn_info info;
	uint32_t d = f->iss + 1, m = f->m, blk[1][2];
	unsigned i;

	CHECK_EQ_INT(dssh_tcp_send(f->c, data, 10 * m), 10 * m);
	CHECK_EQ_INT(drain(f->s, f->caps, 32, f->now), 10);
	CHECK_EQ_INT(f->caps[1].h.seq, d + m);
	*ts_orig = f->caps[1].h.tsval;
	f->now += 20000;
	pack(f, d + m, ++f->ptsval, *ts_orig, NULL, 0);
	dssh_tcp_conn_get_info(f->c, &info);
	CHECK_EQ_INT(info.cwnd, 11 * m);
	CHECK(!info.in_recovery);
	for (i = 0; i < 3; i++) {
		blk[0][0] = d + 2 * m;
		blk[0][1] = d + (5 + 2 * i) * m;
		pack(f, d + m, ++f->ptsval, *ts_orig, (const uint32_t (*)[2])blk, 1);
	}
	dssh_tcp_conn_get_info(f->c, &info);
	CHECK(info.in_recovery);
	CHECK_EQ_INT(info.ssthresh, (uint32_t)(11 * m * 0.7));
	CHECK_EQ_INT(info.cwnd, (uint32_t)(11 * m * 0.7));
	/* the resend of segment 2 (pipe: segment 10 only) */
	CHECK_EQ_INT(drain(f->s, f->caps, 32, f->now), 1);
	CHECK_EQ_INT(f->caps[0].h.seq, d + m);
	CHECK_EQ_INT(f->caps[0].len - f->caps[0].h.doff, m);
	*ts_rexmit = f->caps[0].h.tsval;
	CHECK(*ts_rexmit - *ts_orig == 20);        /* 20 ms later, 1 ms ticks */
}

/*
 * The ACK that ends the episode: everything sent acknowledged, echoing
 * TSval echo. Then no recovery, and the window, threshold and CUBIC state
 * expected, with `spurious` episodes (and retransmissions) found needless.
 */
static void episode_end(struct fx *f, uint32_t echo, uint32_t cwnd, uint32_t ssthresh,
    double w_last_max, uint64_t spurious)
{
	struct dssh_tcp_conn_info info;
	struct dssh_tcp_stats st;

	f->now += 5000;
	pack(f, f->c->snd_max, ++f->ptsval, echo, NULL, 0);
	dssh_tcp_conn_get_info(f->c, &info);
	CHECK(!info.in_recovery);
	CHECK_EQ_INT(info.cwnd, cwnd);
	CHECK_EQ_INT(info.ssthresh, ssthresh);
	CHECK_EQ_INT(f->c->cubic.w_last_max, w_last_max);
	dssh_tcp_get_stats(f->s, &st);
	CHECK_EQ_INT(st.spurious_recoveries, spurious);
	CHECK_EQ_INT(st.spurious_rexmits, spurious);
	dssh_tcp_stack_free(f->s);
}

/* The original of the resent segment arrives late: undone, as before the
 * episode (CUBIC state included). */
static void test_undo_spurious(void)
{
	struct fx f;
	uint32_t ts_orig, ts_rx;

	fx_open(&f);
	fx_recovery(&f, &ts_orig, &ts_rx);
	episode_end(&f, ts_orig, 11 * f.m, UINT32_MAX / 2, 0.0, 1);
}

/* The resend is what arrived: the reduction stays. */
static void test_undo_real_loss(void)
{
	struct fx f;
	uint32_t ts_orig, ts_rx;

	fx_open(&f);
	fx_recovery(&f, &ts_orig, &ts_rx);
	episode_end(&f, ts_rx, (uint32_t)(11 * f.m * 0.7), (uint32_t)(11 * f.m * 0.7), 11.0, 0);
}

/* A timeout during the episode: its response is not undone either. */
static void test_undo_not_after_rto(void)
{
	struct fx f;
	struct dssh_tcp_conn_info info;
	struct dssh_tcp_stats st;
	uint32_t ts_orig, ts_rx;

	fx_open(&f);
	fx_recovery(&f, &ts_orig, &ts_rx);
	f.now += 2000000;
	dssh_tcp_timers(f.s, f.now);
	dssh_tcp_get_stats(f.s, &st);
	CHECK_EQ_INT(st.rto_expired, 1);
	drain(f.s, f.caps, 32, f.now);
	pack(&f, f.c->snd_max, ++f.ptsval, ts_orig, NULL, 0);
	dssh_tcp_conn_get_info(f.c, &info);
	CHECK(info.cwnd <= 2 * f.m);               /* slow start from 1 MSS */
	dssh_tcp_get_stats(f.s, &st);
	CHECK_EQ_INT(st.spurious_recoveries, 0);
	dssh_tcp_stack_free(f.s);
}

static void test_paws_disordered_ack(void)
{
	struct fx f;
	struct dssh_tcp_conn_info info;
	struct dssh_tcp_stats st;
	static uint8_t data[4 * MSS];
	uint32_t d, m, blk[1][2], ts;
	uint8_t o[40];
	size_t ol;

	fx_open(&f);
	d = f.iss + 1;
	m = f.m;
	CHECK_EQ_INT(dssh_tcp_send(f.c, data, 4 * m), 4 * m);
	CHECK_EQ_INT(drain(f.s, f.caps, 32, f.now), 4);
	ts = f.caps[0].h.tsval;
	f.now += 20000;
	/* the newer ACK first: TS.Recent = 6010 */
	pack(&f, d + 2 * m, 6010, ts, NULL, 0);
	/* then an older one, its SACK block news: taken, not answered */
	blk[0][0] = d + 3 * m;
	blk[0][1] = d + 4 * m;
	pack(&f, d + m, 6005, ts, (const uint32_t (*)[2])blk, 1);
	dssh_tcp_get_stats(f.s, &st);
	CHECK_EQ_INT(st.paws_drops, 0);
	dssh_tcp_conn_get_info(f.c, &info);
	CHECK_EQ_INT(info.sacked_ranges, 1);
	CHECK_EQ_INT(info.snd_una, d + 2 * m);
	CHECK_EQ_INT(drain(f.s, f.caps, 32, f.now), 0);
	/* TS.Recent stayed 6010: data stamped 6007 still fails PAWS ... */
	ol = opts(o, 6007, ts, NULL, 0);
	CHECK_EQ_INT(feed(f.s, 22, 1234, PISS + 1, d + 2 * m, DSSH_TCP_ACK, 60000, o, ol, "x", 1,
	    f.now), 0);
	dssh_tcp_get_stats(f.s, &st);
	CHECK_EQ_INT(st.paws_drops, 1);
	CHECK_EQ_INT(drain(f.s, f.caps, 32, f.now), 1);
	CHECK_EQ_INT(f.caps[0].h.ack, PISS + 1);
	CHECK_EQ_INT(f.caps[0].h.tsecr, 6010);
	/* ... and so does an ACK older than an RTO (the 200 ms floor here:
	 * 200 ticks), while one just inside is taken */
	CHECK_EQ_INT(f.c->rto_us, 200000);
	pack(&f, d + 2 * m, 6010 - 201, ts, NULL, 0);
	dssh_tcp_get_stats(f.s, &st);
	CHECK_EQ_INT(st.paws_drops, 2);
	pack(&f, d + 2 * m, 6010 - 200, ts, NULL, 0);
	dssh_tcp_get_stats(f.s, &st);
	CHECK_EQ_INT(st.paws_drops, 2);
	dssh_tcp_stack_free(f.s);
}

static void test_cubic_alpha_one(void)
{
	struct dssh_tcp_conn c;
	uint64_t now = 1000000;
	double prev, inc;
	unsigned round, i, n, below = 0, above = 0;

	memset(&c, 0, sizeof(c));
	c.mss = MSS;
	c.cc = &dssh_tcp_cc_cubic;
	c.srtt_us = 1000;            /* the cubic curve is nowhere near in 40 RTTs */
	c.rtt_valid = true;
	c.snd_una = 1;
	c.cc->init(&c);
	c.cwnd = 20 * MSS;
	c.snd_max = c.snd_una + c.cwnd;
	c.cc->on_loss(&c, now);
	CHECK_EQ_INT(c.cwnd, 14 * MSS);
	CHECK_EQ_INT(c.cubic.w_last_max, 20.0);
	for (round = 0; round < 40; round++) {
		prev = c.cubic.w_est;
		n = c.cwnd / MSS;
		for (i = 0; i < n; i++)
			c.cc->on_ack(&c, MSS, now + (uint64_t)i * c.srtt_us / n);
		now += c.srtt_us;
		if (round == 0)
			continue;       /* the epoch starts on its first ACK */
		inc = (c.cubic.w_est - prev) * c.cwnd / MSS / n;
		/* per window of ACKs: alpha = 3(1-0.7)/(1+0.7) below cwnd_prior, 1 above */
		if (prev + 1.0 < 20.0) {
			CHECK(inc > 0.50 && inc < 0.56);
			below++;
		} else if (prev >= 20.0) {
			CHECK(inc > 0.95 && inc < 1.06);
			above++;
		}
	}
	CHECK(below >= 8);
	CHECK(above >= 20);
	CHECK(c.cwnd >= 40 * MSS);
}

/*
 * In-order delivery is not reordering, whatever the ISN: RACK.fack starts
 * at SND.UNA. 16 connections (random ISNs): with RACK.fack from 0, each
 * whose ISN has the top bit set sees "reordering" on its first ACK.
 */
static void test_rack_fack_init(void)
{
	static uint8_t data[2 * MSS];
	unsigned i, seen = 0;

	for (i = 0; i < 16; i++) {
		struct fx f;

		fx_open_port(&f, (uint16_t)(2000 + i));
		CHECK_EQ_INT(dssh_tcp_send(f.c, data, 2 * f.m), 2 * f.m);
		CHECK_EQ_INT(drain(f.s, f.caps, 32, f.now), 2);
		f.now += 20000;
		pack(&f, f.iss + 1 + f.m, ++f.ptsval, 0, NULL, 0);
		CHECK_EQ_INT(f.c->snd_una, f.iss + 1 + f.m);
		CHECK_EQ_INT(f.c->rack_fack, f.iss + 1 + f.m);
		seen += f.c->rack_reord;
		dssh_tcp_stack_free(f.s);
	}
	CHECK_EQ_INT(seen, 0);
}

int main(void)
{
	DSSH_RUN(test_undo_spurious);
	DSSH_RUN(test_undo_real_loss);
	DSSH_RUN(test_undo_not_after_rto);
	DSSH_RUN(test_paws_disordered_ack);
	DSSH_RUN(test_cubic_alpha_one);
	DSSH_RUN(test_rack_fack_init);
	DSSH_TEST_END();
}
