/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Congestion window evolution: NewReno (RFC 5681/6582) and CUBIC (RFC 9438)
 * driven through the ops table with a simulated ACK clock and one loss.
 */
#include <math.h>

#include "tcp_test_util.h"
#include "tcp_priv.h"

#define MSS 1000u

static void conn_setup(struct dssh_tcp_conn *c, const struct dssh_tcp_cc_ops *ops)
{
	memset(c, 0, sizeof(*c));
	c->mss = MSS;
	c->cc = ops;
	c->srtt_us = 100000;
	c->rtt_valid = true;
	c->snd_una = 1;
	c->snd_max = 1;
	ops->init(c);
}

/* One RTT worth of MSS-sized ACKs (the window fully used). */
static void ack_round(struct dssh_tcp_conn *c, uint64_t *now)
{
	uint32_t n = c->cwnd / MSS, i;

	c->snd_max = c->snd_una + c->cwnd;
	for (i = 0; i < n; i++) {
		c->snd_una += MSS;
		c->cc->on_ack(c, MSS, *now + (uint64_t)i * c->srtt_us / n);
	}
	*now += c->srtt_us;
}

static void test_newreno(void)
{
	struct dssh_tcp_conn c;
	uint64_t now = 1000000;
	uint32_t before, i;

	conn_setup(&c, &dssh_tcp_cc_newreno);
	CHECK_EQ_INT(c.cwnd, 10 * MSS);     /* RFC 6928 */
	/* slow start doubles per round */
	ack_round(&c, &now);
	CHECK_EQ_INT(c.cwnd, 20 * MSS);
	ack_round(&c, &now);
	CHECK_EQ_INT(c.cwnd, 40 * MSS);
	/* ABC: a stretch ACK of 5 MSS still adds one MSS */
	c.cc->on_ack(&c, 5 * MSS, now);
	CHECK_EQ_INT(c.cwnd, 41 * MSS);
	/* loss with 40 MSS in flight: ssthresh = cwnd = 20 MSS */
	c.snd_max = c.snd_una + 40 * MSS;
	c.cc->on_loss(&c, now);
	CHECK_EQ_INT(c.ssthresh, 20 * MSS);
	CHECK_EQ_INT(c.cwnd, 20 * MSS);
	/* congestion avoidance: about one MSS per round */
	for (i = 0; i < 5; i++) {
		before = c.cwnd;
		ack_round(&c, &now);
		CHECK(c.cwnd - before >= MSS * 9 / 10 && c.cwnd - before <= MSS);
	}
	/* recovery end: min(ssthresh, flight + MSS) */
	c.snd_max = c.snd_una + 3 * MSS;
	c.cc->on_recovery_end(&c, now);
	CHECK_EQ_INT(c.cwnd, 4 * MSS);
	/* timeout: ssthresh = max(flight/2, 2 MSS), cwnd = 1 MSS */
	c.snd_max = c.snd_una + 30 * MSS;
	c.cc->on_rto(&c, now);
	CHECK_EQ_INT(c.ssthresh, 15 * MSS);
	CHECK_EQ_INT(c.cwnd, MSS);
	c.snd_max = c.snd_una + 2 * MSS;
	c.cc->on_loss(&c, now);
	CHECK_EQ_INT(c.ssthresh, 2 * MSS);
}

static void test_cubic(void)
{
	struct dssh_tcp_conn c;
	uint64_t now = 1000000, t_loss;
	double k, w;
	uint32_t prev, inc, last_inc = UINT32_MAX, at_k = 0;
	bool concave_ok = true, clamp_ok = true;
	int round;

	conn_setup(&c, &dssh_tcp_cc_cubic);
	/* slow start like Reno, then a loss at 100 MSS */
	while (c.cwnd < 100 * MSS)
		ack_round(&c, &now);
	c.cwnd = 100 * MSS;
	c.cc->on_loss(&c, now);
	/* beta = 0.7 */
	CHECK_EQ_INT(c.ssthresh, 70 * MSS);
	CHECK_EQ_INT(c.cwnd, 70 * MSS);
	CHECK(fabs(c.cubic.w_max - 100.0) < 1e-9);
	k = cbrt(100.0 * (1 - 0.7) / 0.4);   /* 4.217 s */
	t_loss = now;
	/* concave up to W_max, then convex beyond */
	for (round = 0; round < 120; round++) {
		prev = c.cwnd;
		ack_round(&c, &now);
		inc = c.cwnd - prev;
		if (c.cwnd > (uint32_t)(prev * 1.5) + 1)
			clamp_ok = false;
		if ((double)(now - t_loss) / 1e6 < k - 0.5) {
			/* increments shrink while approaching W_max (allow rounding) */
			if (last_inc != UINT32_MAX && inc > last_inc + MSS / 10)
				concave_ok = false;
			last_inc = inc;
		}
		if (at_k == 0 && (double)(now - t_loss) / 1e6 >= k)
			at_k = c.cwnd;
	}
	CHECK(concave_ok);
	CHECK(clamp_ok);
	/* at t = K the window is back near W_max (the target looks one RTT ahead) */
	w = (double)at_k / MSS;
	fprintf(stderr, "  cubic: K = %.3f s, cwnd at K = %.1f MSS, after 12 s = %.1f MSS\n",
	    k, w, (double)c.cwnd / MSS);
	CHECK(w > 95.0 && w < 106.0);
	/* convex region: well past W_max after 12 s (W(12) = 0.4*(12-4.2)^3 + 100 = 290) */
	CHECK(c.cwnd > 200 * MSS);
	/* fast convergence: a loss below the previous W_max lowers W_max further */
	c.cwnd = 80 * MSS;
	c.cubic.w_max = 100;
	c.cc->on_loss(&c, now);
	CHECK(fabs(c.cubic.w_max - 80.0 * 1.7 / 2) < 1e-9);
	CHECK_EQ_INT(c.cwnd, 56 * MSS);
	/* timeout: cwnd one segment, ssthresh from beta */
	c.cwnd = 50 * MSS;
	c.cc->on_rto(&c, now);
	CHECK_EQ_INT(c.cwnd, MSS);
	CHECK_EQ_INT(c.ssthresh, 35 * MSS);
}

static void test_cubic_reno_friendly(void)
{
	struct dssh_tcp_conn c;
	uint64_t now = 1000000;
	uint32_t start;
	int round;

	/* tiny RTT: the cubic curve is slow in RTT terms, the Reno estimate
	 * (alpha = 3(1-beta)/(1+beta) per RTT) must keep cwnd growing */
	conn_setup(&c, &dssh_tcp_cc_cubic);
	c.srtt_us = 1000;
	c.cwnd = 20 * MSS;
	c.cc->on_loss(&c, now);
	start = c.cwnd;
	for (round = 0; round < 100; round++)
		ack_round(&c, &now);
	/* 100 RTTs = 0.1 s: cubic alone adds almost nothing; Reno-friendly adds ~53 MSS */
	fprintf(stderr, "  reno-friendly: %u -> %u MSS\n", start / MSS, c.cwnd / MSS);
	CHECK(c.cwnd >= start + 40 * MSS);
}

/* Through the stack: a fast retransmit on a CUBIC connection sets ssthresh = 0.7 cwnd. */
static void test_stack_cubic_loss(void)
{
	struct dssh_tcp_conf conf;
	struct dssh_tcp_stack *s = NULL;
	struct dssh_tcp_conn *c = NULL;
	struct dssh_tcp_conn_info info;
	struct cap caps[16];
	static uint8_t data[20000];
	uint32_t iss, i;
	uint64_t now = 1000000;

	dssh_tcp_conf_default(&conf);
	conf.cc = DSSH_TCP_CC_CUBIC;
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &s), 0);
	CHECK_EQ_INT(dssh_tcp_connect(s, IP_A, 1234, IP_B, 22, now, &c), 0);
	CHECK_EQ_INT(drain(s, caps, 16, now), 1);
	iss = caps[0].h.seq;
	now += 10000;
	CHECK_EQ_INT(feed(s, 22, 1234, 100, iss + 1, DSSH_TCP_SYN | DSSH_TCP_ACK, 60000,
	    (const uint8_t[]){ 2, 4, 0x03, 0xe8 }, 4, NULL, 0, now), 0);
	drain(s, caps, 16, now);
	CHECK_EQ_INT(dssh_tcp_send(c, data, 10 * MSS), 10 * MSS);
	CHECK_EQ_INT(drain(s, caps, 16, now), 10);
	dssh_tcp_conn_get_info(c, &info);
	CHECK_EQ_INT(info.cwnd, 10 * MSS);
	for (i = 0; i < 3; i++)
		feed(s, 22, 1234, 101, iss + 1, DSSH_TCP_ACK, 60000, NULL, 0, NULL, 0, now);
	dssh_tcp_conn_get_info(c, &info);
	CHECK(info.in_recovery);
	CHECK_EQ_INT(info.ssthresh, 7 * MSS);
	CHECK_EQ_INT(info.cwnd, 7 * MSS + 3 * MSS);   /* NewReno-style inflation without SACK */
	CHECK_EQ_INT(drain(s, caps, 16, now), 1);
	CHECK_EQ_INT(caps[0].h.seq, iss + 1);
	dssh_tcp_stack_free(s);
}

int main(void)
{
	DSSH_RUN(test_newreno);
	DSSH_RUN(test_cubic);
	DSSH_RUN(test_cubic_reno_friendly);
	DSSH_RUN(test_stack_cubic_loss);
	DSSH_TEST_END();
}
