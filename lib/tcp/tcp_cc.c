/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Congestion control behind dssh_tcp_cc_ops: NewReno (RFC 5681, RFC 6582)
 * and CUBIC (RFC 9438). Loss recovery mechanics (fast retransmit, SACK
 * pipe, NewReno partial ACKs) live in tcp_input.c and tcp_sack.c; these
 * only move cwnd and ssthresh.
 */
#include <math.h>

#include "tcp_priv.h"

static uint32_t
flight(const struct dssh_tcp_conn *c)
{
	return c->snd_max - c->snd_una;
}

static uint32_t
half_flight(const struct dssh_tcp_conn *c)
{
	uint32_t f = flight(c) / 2;

	return f > 2u * c->mss ? f : 2u * c->mss;   /* RFC 5681 eq. (4) */
}

static void
slow_start(struct dssh_tcp_conn *c, uint32_t acked)
{
	/* RFC 5681 3.1 with appropriate byte counting, L = 1 SMSS */
	uint32_t inc = acked < c->mss ? acked : c->mss;

	c->cwnd += inc;
}

/* ---- NewReno ---- */

static void
reno_init(struct dssh_tcp_conn *c)
{
	c->cwnd = 10u * c->mss;     /* RFC 6928 initial window */
	c->ssthresh = UINT32_MAX / 2;
}

static void
reno_on_ack(struct dssh_tcp_conn *c, uint32_t acked, uint64_t now_us)
{
	uint32_t inc;

	(void)now_us;
	if (c->cwnd < c->ssthresh) {
		slow_start(c, acked);
		return;
	}
	/* RFC 5681 eq. (3): SMSS*SMSS/cwnd per ACK, at least one byte */
	inc = (uint32_t)((uint64_t)c->mss * c->mss / c->cwnd);
	c->cwnd += inc ? inc : 1;
}

static void
reno_on_loss(struct dssh_tcp_conn *c, uint64_t now_us)
{
	(void)now_us;
	c->ssthresh = half_flight(c);
	c->cwnd = c->ssthresh;
}

static void
reno_on_rto(struct dssh_tcp_conn *c, uint64_t now_us)
{
	(void)now_us;
	c->ssthresh = half_flight(c);
	c->cwnd = c->mss;           /* loss window, RFC 5681 eq. (5) note */
}

static void
reno_on_recovery_end(struct dssh_tcp_conn *c, uint64_t now_us)
{
	uint32_t f = flight(c) + c->mss;

	(void)now_us;
	/* RFC 6582 3.2 step 3, option (1) */
	c->cwnd = f < c->ssthresh ? f : c->ssthresh;
	if (c->cwnd < c->mss)
		c->cwnd = c->mss;
}

const struct dssh_tcp_cc_ops dssh_tcp_cc_newreno = {
	.name = "newreno",
	.init = reno_init,
	.on_ack = reno_on_ack,
	.on_loss = reno_on_loss,
	.on_rto = reno_on_rto,
	.on_recovery_end = reno_on_recovery_end,
};

/* ---- CUBIC (RFC 9438) ---- */

#define CUBIC_C 0.4
#define CUBIC_BETA 0.7
#define CUBIC_ALPHA (3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA))

static void
cubic_init(struct dssh_tcp_conn *c)
{
	reno_init(c);
	c->cubic.w_max = 0;
	c->cubic.w_last_max = 0;
	c->cubic.k = 0;
	c->cubic.w_est = 0;
	c->cubic.epoch_valid = false;
}

static double
cubic_w(const struct tcp_cubic *cu, double t)
{
	double d = t - cu->k;

	return CUBIC_C * d * d * d + cu->w_max;   /* eq. (1) */
}

static void
cubic_on_ack(struct dssh_tcp_conn *c, uint32_t acked, uint64_t now_us)
{
	struct tcp_cubic *cu = &c->cubic;
	double mss = c->mss, cwnd, t, rtt, target, wc;
	uint32_t inc;

	if (c->cwnd < c->ssthresh) {
		slow_start(c, acked);
		return;
	}
	cwnd = c->cwnd / mss;
	if (!cu->epoch_valid) {
		/* 4.2: a new congestion avoidance epoch */
		cu->epoch_valid = true;
		cu->epoch_us = now_us;
		if (cwnd < cu->w_max) {
			cu->k = cbrt((cu->w_max - cwnd) / CUBIC_C);   /* eq. (2) */
		} else {
			cu->k = 0;
			cu->w_max = cwnd;
		}
		cu->w_est = cwnd;
	}
	t = (double)(now_us - cu->epoch_us) / 1e6;
	rtt = c->rtt_valid ? c->srtt_us / 1e6 : 0.1;
	/*
	 * 4.3: Reno-friendly estimate, eq. (4), with alpha_cubic while W_est
	 * is below cwnd_prior (the cwnd when ssthresh was last set, kept in
	 * w_last_max), then 1: "the sender SHOULD set alpha_cubic to 1" to
	 * grow as fast as Reno there (RFC 9438; RFC 8312 kept alpha
	 * throughout). Under random loss the window rarely leaves this region.
	 */
	cu->w_est += (cu->w_est >= cu->w_last_max ? 1.0 : CUBIC_ALPHA) * ((double)acked / mss) / cwnd;
	wc = cubic_w(cu, t);
	if (wc < cu->w_est) {
		/* Reno-friendly region */
		if (cu->w_est > cwnd)
			c->cwnd = (uint32_t)(cu->w_est * mss);
		return;
	}
	/* 4.4/4.5: concave and convex regions; target clamped to [cwnd, 1.5 cwnd] */
	target = cubic_w(cu, t + rtt);
	if (target < cwnd)
		target = cwnd;
	if (target > 1.5 * cwnd)
		target = 1.5 * cwnd;
	inc = (uint32_t)((target - cwnd) / cwnd * mss * ((double)acked / mss));
	c->cwnd += inc;
}

static void
cubic_congestion(struct dssh_tcp_conn *c)
{
	struct tcp_cubic *cu = &c->cubic;
	double cwnd = (double)c->cwnd / c->mss;
	uint32_t ss;

	/* 4.7 fast convergence */
	if (cwnd < cu->w_max)
		cu->w_max = cwnd * (1.0 + CUBIC_BETA) / 2.0;
	else
		cu->w_max = cwnd;
	cu->w_last_max = cwnd;
	cu->epoch_valid = false;
	/* 4.6: ssthresh = cwnd * beta_cubic */
	ss = (uint32_t)((double)c->cwnd * CUBIC_BETA);
	c->ssthresh = ss > 2u * c->mss ? ss : 2u * c->mss;
}

static void
cubic_on_loss(struct dssh_tcp_conn *c, uint64_t now_us)
{
	(void)now_us;
	cubic_congestion(c);
	c->cwnd = c->ssthresh;
}

static void
cubic_on_rto(struct dssh_tcp_conn *c, uint64_t now_us)
{
	(void)now_us;
	/* 4.8: as a congestion event, then restart from one segment */
	cubic_congestion(c);
	c->cwnd = c->mss;
}

static void
cubic_on_recovery_end(struct dssh_tcp_conn *c, uint64_t now_us)
{
	(void)now_us;
	c->cwnd = c->ssthresh;
}

const struct dssh_tcp_cc_ops dssh_tcp_cc_cubic = {
	.name = "cubic",
	.init = cubic_init,
	.on_ack = cubic_on_ack,
	.on_loss = cubic_on_loss,
	.on_rto = cubic_on_rto,
	.on_recovery_end = cubic_on_recovery_end,
};
