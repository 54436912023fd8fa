/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-connection timers on the stack's timing wheel (tcp_wheel.c): arming
 * (every t_* deadline goes through tcp_timer_arm), RTT samples and the RTO
 * (RFC 6298), and expiry: retransmission timeout, RACK reordering timer,
 * tail loss probe, delayed ACK, persist (zero window probes), keepalive and
 * TIME-WAIT. dssh_tcp_timers() is the entry point.
 */
#include "dssh_util.h"
#include "tcp_priv.h"

#define TCP_CLOCK_G_US 1000u        /* RFC 6298 G */

/* ---- RTT and timers ---- */

uint64_t
tcp_rto_cur(const struct dssh_tcp_conn *c)
{
	uint64_t r = (uint64_t)c->rto_us << (c->backoff > 20 ? 20 : c->backoff);

	return r > c->stack->conf.rto_max_us ? c->stack->conf.rto_max_us : r;
}

/* The earliest armed timer of c, UINT64_MAX if none. */
static uint64_t
conn_deadline(const struct dssh_tcp_conn *c)
{
	const uint64_t t[] = { c->t_rto, c->t_delack, c->t_reo, c->t_tlp, c->t_persist,
	    c->t_keep, c->t_tw };
	uint64_t m = UINT64_MAX;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i] != 0)
			m = DSSH_MIN(m, t[i]);
	return m;
}

/*
 * Every timer is armed here (*t is one of c's t_* fields, when the absolute
 * deadline, 0 to disarm): the connection must sit on the stack's wheel no
 * later than its earliest timer, and next_timer_us no later than any.
 * Disarming, or arming later, leaves the wheel alone: when the wheel gets
 * to the connection and finds nothing due it files it again (lazy), so the
 * per-ACK restart of the RTO costs no wheel work.
 */
void
tcp_timer_arm(struct dssh_tcp_conn *c, uint64_t *t, uint64_t when, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;

	*t = when;
	if (when == 0)
		return;
	if (when < s->next_timer_us)
		s->next_timer_us = when;
	if (c->w_pprev == NULL || c->w_due > when)
		tcp_wheel_file(&s->wheel, c, when, now_us);
}

void
tcp_rto_arm(struct dssh_tcp_conn *c, uint64_t now_us)
{
	tcp_timer_arm(c, &c->t_rto, now_us + tcp_rto_cur(c), now_us);
}

/* RFC 6298 section 2 */
void
tcp_rtt_sample(struct dssh_tcp_conn *c, uint32_t r)
{
	const struct dssh_tcp_conf *cf = &c->stack->conf;
	uint64_t rto;
	uint32_t d;

	if (!c->rtt_valid) {
		c->srtt_us = r;
		c->rttvar_us = r / 2;
		c->rtt_valid = true;
	} else {
		d = c->srtt_us > r ? c->srtt_us - r : r - c->srtt_us;
		c->rttvar_us = (uint32_t)(((uint64_t)c->rttvar_us * 3 + d) / 4);
		c->srtt_us = (uint32_t)(((uint64_t)c->srtt_us * 7 + r) / 8);
	}
	rto = (uint64_t)c->srtt_us + DSSH_MAX((uint64_t)TCP_CLOCK_G_US, 4ull * c->rttvar_us);
	if (rto < cf->rto_min_us)
		rto = cf->rto_min_us;
	if (rto > cf->rto_max_us)
		rto = cf->rto_max_us;
	c->rto_us = (uint32_t)rto;
}

/* ---- expiry ---- */

/* Returns false when the connection was freed. */
static bool
on_rto(struct dssh_tcp_conn *c, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;
	uint32_t limit = (c->state == DSSH_TCP_SYN_SENT || c->state == DSSH_TCP_SYN_RCVD) ?
	    s->conf.syn_retries : s->conf.max_retries;

	c->t_rto = 0;
	if (c->snd_una == c->snd_max && c->state != DSSH_TCP_SYN_SENT &&
	    c->state != DSSH_TCP_SYN_RCVD)
		return true;
	if (++c->retries > limit) {
		bool owned = c->app_owned;

		s->st.conns_timedout++;
		tcp_conn_reset(c, DSSH_TCP_EV_RESET);
		return owned;
	}
	s->st.rto_expired++;
	/* RFC 5681 eq. (4) on the first timeout only; later ones keep ssthresh */
	if (tcp_synchronized_send(c)) {
		if (c->backoff == 0)
			c->cc->on_rto(c, now_us);
		else
			c->cwnd = c->mss;
	}
	c->backoff++;                 /* RFC 6298 5.5 */
	c->rtt_timing = false;        /* Karn */
	c->in_recovery = false;
	c->undo_on = false;           /* the timeout's response is not undone */
	c->dupacks = 0;
	c->sb_n = 0;                  /* forget SACK state: resend from snd_una */
	for (uint32_t i = 0; i < c->rs_n; i++)   /* and RACK's: go-back-N resends all */
		c->rs[i].flags &= (uint8_t)~(TCP_RS_SACKED | TCP_RS_LOST);
	c->t_reo = c->t_tlp = 0;
	c->tlp_due = c->tlp_out = false;
	c->high_rxt = c->snd_una;
	c->recover = c->snd_max;
	c->snd_nxt = c->snd_una;      /* go back N */
	if (c->state == DSSH_TCP_SYN_SENT || c->state == DSSH_TCP_SYN_RCVD)
		c->snd_nxt = c->iss;
	tcp_rto_arm(c, now_us);
	tcp_out_mark(c);
	return true;
}

/*
 * The timers of c due at now_us, the wheel having taken c off. Returns
 * false when c was closed (and perhaps freed).
 */
static bool
conn_timers(struct dssh_tcp_conn *c, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;

	if (c->t_tw != 0 && now_us >= c->t_tw) {
		c->t_tw = 0;
		tcp_conn_reset(c, 0);
		return false;
	}
	if (c->t_rto != 0 && now_us >= c->t_rto) {
		if (!on_rto(c, now_us) || c->state == DSSH_TCP_CLOSED)
			return false;
	}
	if (c->t_reo != 0 && now_us >= c->t_reo)
		tcp_rack_on_reo_timer(c, now_us);
	if (c->t_tlp != 0 && now_us >= c->t_tlp) {
		c->t_tlp = 0;
		if (c->rack_on && !c->in_recovery && c->snd_una != c->snd_max) {
			c->tlp_due = true;
			tcp_out_mark(c);
		}
	}
	if (c->t_delack != 0 && now_us >= c->t_delack) {
		c->t_delack = 0;
		c->ack_now = true;
		tcp_out_mark(c);
	}
	if (c->t_persist != 0 && now_us >= c->t_persist) {
		c->persist_probe = true;
		c->persist_backoff++;
		tcp_timer_arm(c, &c->t_persist,
		    now_us + DSSH_MIN(tcp_rto_cur(c) << DSSH_MIN(c->persist_backoff, 10u),
		    (uint64_t)s->conf.rto_max_us), now_us);
		tcp_out_mark(c);
	}
	if (c->t_keep != 0 && now_us >= c->t_keep) {
		if (c->keep_probes >= s->conf.keepalive_probes) {
			s->st.conns_timedout++;
			tcp_conn_reset(c, DSSH_TCP_EV_RESET);
			return false;
		}
		c->t_keep = 0;
		if (c->state == DSSH_TCP_ESTABLISHED || c->state == DSSH_TCP_CLOSE_WAIT) {
			struct dssh_tcp_seg_out *o = tcp_ctl_slot(s);

			/* SEG.SEQ = SND.NXT - 1: the peer must answer with an ACK */
			if (o != NULL) {
				tcp_emit(c, o, c->snd_una - 1, DSSH_TCP_ACK, 0, now_us);
				o->conn = NULL;
				s->st.keepalive_sent++;
			}
			c->keep_probes++;
		}
		tcp_timer_arm(c, &c->t_keep, now_us + s->conf.keepalive_intvl_us, now_us);
	}
	return true;
}

/*
 * The wheel hands over only the connections it has filed at or before
 * now_us; each runs its due timers and is filed again at its next one.
 * The cost is that of the expiring connections (plus the wheel's slot and
 * turn bookkeeping), not of all connections.
 */
uint64_t
dssh_tcp_timers(struct dssh_tcp_stack *s, uint64_t now_us)
{
	struct dssh_tcp_conn *due, *c;
	uint64_t m;

	if (now_us < s->next_timer_us)
		return s->next_timer_us;
	tcp_wheel_expire(&s->wheel, now_us, &due);
	while ((c = due) != NULL) {
		tcp_wheel_unlink(&s->wheel, c);
		if (!conn_timers(c, now_us))
			continue;
		m = conn_deadline(c);
		if (m == UINT64_MAX)
			tcp_wheel_unlink(&s->wheel, c);
		else if (c->w_pprev == NULL || c->w_due != m)
			tcp_wheel_file(&s->wheel, c, m, now_us);
	}
	s->next_timer_us = tcp_wheel_next(&s->wheel, conn_deadline);
	return s->next_timer_us;
}
