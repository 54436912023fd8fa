/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Segment arrival: the TCP state machine (RFC 9293) with RFC 7323 (window
 * scaling, timestamps, PAWS), the ACK field (RFC 6675 SACK and RFC 6582
 * NewReno recovery entry, window updates), receive side reassembly into
 * the receive queue, RFC 5961 (blind in-window attacks), passive opens
 * and SYN cookies. dssh_tcp_input() is the entry point.
 */
#include <string.h>

#include "dssh_err.h"
#include "dssh_util.h"
#include "tcp_priv.h"

#define COOKIE_PERIOD_US (64ull * 1000000ull)

static const uint16_t cookie_mss_tab[8] = { 536, 1024, 1220, 1360, 1400, 1440, 1448, 1460 };

/* ---- input ---- */

static void
enter_time_wait(struct dssh_tcp_conn *c, uint64_t now_us)
{
	c->state = DSSH_TCP_TIME_WAIT;
	c->t_rto = c->t_persist = c->t_keep = 0;
	/* nothing is read any more: out-of-order buffers go now, not in 2 MSL */
	tcp_rxq_prune(&c->rq);
	c->ooo_n = 0;
	tcp_timer_arm(c, &c->t_tw, now_us + 2ull * c->stack->conf.msl_us, now_us);
	c->stack->st.conns_closed++;
	tcp_ev_post(c, DSSH_TCP_EV_CLOSED);
}

static bool
challenge_ack(struct dssh_tcp_conn *c, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;

	if (now_us - s->chack_window_us >= 1000000u || now_us < s->chack_window_us) {
		s->chack_window_us = now_us;
		s->chack_count = 0;
	}
	if (s->chack_count >= s->conf.challenge_ack_per_s) {
		s->st.challenge_acks_limited++;
		return false;
	}
	s->chack_count++;
	s->st.challenge_acks++;
	c->ack_now = true;
	tcp_out_mark(c);
	return true;
}

static void
negotiate(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h)
{
	const struct dssh_tcp_conf *cf = &c->stack->conf;
	uint32_t peer_mss = h->has_mss ? h->mss : TCP_DEFAULT_MSS;

	c->ws_ok = cf->window_scaling && h->has_ws;
	c->ts_ok = cf->timestamps && h->has_ts;
	c->sack_ok = cf->sack && h->sack_ok;
	c->rack_on = cf->rack && c->sack_ok;
	c->reo_mult = 1;
	if (c->ws_ok) {
		c->snd_wscale = h->ws > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : h->ws;
		c->rcv_wscale = tcp_wscale_for(c->rq.size);
	} else {
		c->snd_wscale = c->rcv_wscale = 0;
	}
	if (peer_mss < 88)
		peer_mss = 88;
	c->mss = (uint16_t)DSSH_MIN(peer_mss, (uint32_t)cf->mss);
	if (c->ts_ok)
		c->mss -= 12;
	if (c->ts_ok) {
		c->ts_recent = h->tsval;
		c->ts_recent_us = c->last_rcv_us;
	}
}

static bool
ooo_add(struct dssh_tcp_conn *c, uint32_t start, uint32_t end)
{
	uint32_t i = 0;

	while (i < c->ooo_n) {
		struct seq_range *r = &c->ooo[i];

		if (SEQ_LT(r->end, start) || SEQ_GT(r->start, end)) {
			i++;
			continue;
		}
		start = SEQ_MIN(start, r->start);
		end = SEQ_MAX(end, r->end);
		c->ooo[i] = c->ooo[--c->ooo_n];
	}
	if (c->ooo_n >= c->stack->conf.ooo_max_ranges)
		return false;
	c->ooo[c->ooo_n].start = start;
	c->ooo[c->ooo_n].end = end;
	c->ooo[c->ooo_n].age = ++c->ooo_age;
	c->ooo_n++;
	return true;
}

/* ooo_add() would keep [start, end): it joins a range or there is room. */
static bool
ooo_fits(const struct dssh_tcp_conn *c, uint32_t start, uint32_t end)
{
	for (uint32_t i = 0; i < c->ooo_n; i++)
		if (!SEQ_LT(c->ooo[i].end, start) && !SEQ_GT(c->ooo[i].start, end))
			return true;
	return c->ooo_n < c->stack->conf.ooo_max_ranges;
}

/* Segment text (RFC 9293 3.10.7.4 seventh). seq is the first data byte. */
static void
rcv_data(struct dssh_tcp_conn *c, uint32_t seq, const uint8_t *p, uint32_t len,
    bool *fin, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;
	uint32_t read_seq = c->rcv_nxt - c->rq.len, skip, off, i;
	bool progressed = false, had_ooo = c->ooo_n > 0;

	if (SEQ_LT(seq, c->rcv_nxt)) {
		skip = c->rcv_nxt - seq;
		if (skip >= len) {
			if (len > 0)
				s->st.dup_segs++;
			c->ack_now = true;
			return;
		}
		seq += skip; p += skip; len -= skip;
	}
	off = seq - read_seq;
	if (off >= c->rq.size) {
		*fin = false;
		c->ack_now = true;
		return;
	}
	if (len > c->rq.size - off) {
		len = c->rq.size - off;   /* beyond the window: trimmed */
		*fin = false;
	}
	if (len == 0)
		return;
	if (seq == c->rcv_nxt) {
		uint32_t old_nxt = c->rcv_nxt;

		/* Kept by reference to the segment's buffer, or copied. Should
		 * even that fail (memory, piece count), out-of-order data goes
		 * first: the peer resends what it finds no longer SACKed. */
		if (!tcp_rxq_insert(&c->rq, seq, p, len, s->in_buf, s->in_cost, true) &&
		    c->rq.n > c->rq.nin) {
			tcp_rxq_prune(&c->rq);
			c->ooo_n = 0;
			(void)tcp_rxq_insert(&c->rq, seq, p, len, s->in_buf, s->in_cost, true);
		}
		/* with the out-of-order pieces that now connect */
		tcp_rxq_pull(&c->rq, &c->rcv_nxt);
		progressed = c->rcv_nxt != old_nxt;
		for (i = 0; i < c->ooo_n;) {
			if (SEQ_LEQ(c->ooo[i].start, c->rcv_nxt)) {
				c->ooo[i] = c->ooo[--c->ooo_n];
				continue;
			}
			i++;
		}
	} else {
		s->st.ooo_segs++;
		/* a range is kept only for bytes all stored (SACK promises them) */
		if (!ooo_fits(c, seq, seq + len) ||
		    !tcp_rxq_insert(&c->rq, seq, p, len, s->in_buf, s->in_cost, false) ||
		    !ooo_add(c, seq, seq + len))
			s->st.ooo_dropped++;
		*fin = false;   /* FIN beyond a hole is not processed yet */
		/* an immediate duplicate ACK for each (RFC 5681 4.2), even when a
		 * burst of them is processed before the next output call */
		c->ack_now = true;
		if (c->dupacks_owed < 8)
			c->dupacks_owed++;
	}
	if (progressed) {
		tcp_ev_post(c, DSSH_TCP_EV_READABLE);
		/* released by the application: nobody reads, keep the window open */
		if (c->app_released)
			tcp_rxq_consume(&c->rq, c->rq.len);
		if (had_ooo) {
			c->ack_now = true;   /* filled (part of) a hole */
		} else if (++c->segs_unacked >= s->conf.delack_segs) {
			c->ack_now = true;
		} else if (c->t_delack == 0) {
			tcp_timer_arm(c, &c->t_delack, now_us + s->conf.delack_us, now_us);
		}
	}
}

static void
became_established(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h)
{
	struct dssh_tcp_stack *s = c->stack;
	/* the window of a SYN segment is never scaled (RFC 7323 2.2) */
	uint8_t sc = (h->flags & DSSH_TCP_SYN) ? 0 : c->snd_wscale;

	if (c->passive && s->nsynrcvd > 0)
		s->nsynrcvd--;
	c->state = DSSH_TCP_ESTABLISHED;
	c->snd_wnd = (uint32_t)h->wnd << sc;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = h->seq;
	c->snd_wl2 = h->ack;
	c->cc->init(c);
	c->backoff = 0;
	c->retries = 0;
	/*
	 * A duplicate SYN rewound snd_nxt to repeat the SYN-ACK; the ACK that
	 * got here first makes the repeat moot. Left rewound, the next output
	 * was that SYN-ACK again and no data ever followed it.
	 */
	if (SEQ_LT(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;
	s->st.conns_opened++;
	if (c->passive) {
		c->app_owned = true;
		tcp_ev_post(c, DSSH_TCP_EV_ACCEPTED);
	} else {
		tcp_ev_post(c, DSSH_TCP_EV_CONNECTED);
	}
}

/*
 * Our SYN acknowledged by h (the SYN-ACK in SYN-SENT, the ACK in
 * SYN-RECEIVED): the handshake's RTT sample, then established.
 */
static void
syn_acked(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h, uint64_t now_us)
{
	c->snd_una = h->ack;
	c->t_rto = 0;
	if (c->rtt_timing) {
		tcp_rtt_sample(c, (uint32_t)(now_us - c->rtt_start_us));
		c->rtt_timing = false;
	}
	became_established(c, h);
}

/*
 * The ACK that ends a recovery episode (RFC 3522 detection; RFC 4015 and
 * RFC 9438 4.9 response). The receiver echoes TS.Recent, which only moves
 * forward and is taken from the segment that advanced its left edge
 * (RFC 7323 4.3): an echo older than the episode's first retransmission
 * says no retransmission of the episode ever advanced it, the originals
 * did; and an episode that resent nothing needed nothing. Either way the
 * "losses" were reordering: the congestion control state from before the
 * episode comes back (cwnd, ssthresh, and CUBIC's W_max, K and epoch).
 */
static void
undo_check(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h)
{
	bool spurious = c->undo_on && (!c->undo_ts_set ||
	    (h->has_ts && SEQ_LT(h->tsecr, c->undo_tsval)));

	c->undo_on = false;
	if (!spurious)
		return;
	c->stack->st.spurious_recoveries++;
	c->cwnd = DSSH_MAX(c->cwnd, c->undo_cwnd);
	c->ssthresh = DSSH_MAX(c->ssthresh, c->undo_ssthresh);
	c->cubic = c->undo_cubic;
}

/* The ACK field in synchronized states (RFC 9293 3.10.7.4 fifth, RFC 5961 5). */
static int
rcv_ack(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;
	uint32_t ack = h->ack, acked, data_acked, wnd = (uint32_t)h->wnd << c->snd_wscale;
	uint32_t una_before = c->snd_una;
	unsigned i;
	bool dup;

	if (SEQ_GT(ack, c->snd_max)) {
		c->ack_now = true;   /* acks something not yet sent */
		return -1;
	}
	if (SEQ_LT(ack, c->snd_una - c->max_snd_wnd)) {
		challenge_ack(c, now_us);
		return -1;
	}
	/*
	 * SACK blocks update the scoreboard (RFC 2018, RFC 6675). Trimmed at
	 * snd_una too: a reordered older ACK may carry blocks that snd_una has
	 * passed, and a scoreboard range below snd_una would make NextSeg()
	 * pick a "hole" of bytes no longer in the send buffer.
	 */
	if (c->sack_ok) {
		uint32_t lo = SEQ_MAX(ack, c->snd_una);

		for (i = 0; i < h->nsack; i++) {
			uint32_t st = h->sack[i][0], en = h->sack[i][1];

			if (!SEQ_LT(st, en) || SEQ_LEQ(en, lo) || SEQ_GT(en, c->snd_max))
				continue;
			if (SEQ_LT(st, lo))
				st = lo;
			tcp_sb_add(c, st, en);
		}
	}
	dup = ack == c->snd_una && h->plen == 0 && !(h->flags & (DSSH_TCP_SYN | DSSH_TCP_FIN)) &&
	    wnd == c->snd_wnd && c->snd_max != c->snd_una;
	if (SEQ_GT(ack, c->snd_una)) {
		acked = ack - c->snd_una;
		data_acked = DSSH_MIN(acked, c->sq.len);
		tcp_txq_consume(&c->sq, data_acked);
		c->snd_una = ack;
		if (SEQ_LT(c->snd_nxt, ack))
			c->snd_nxt = ack;
		/* Karn: rtt_timing is cleared on every retransmission */
		if (c->rtt_timing && SEQ_GEQ(ack, c->rtt_seq)) {
			tcp_rtt_sample(c, (uint32_t)DSSH_MIN(now_us - c->rtt_start_us, (uint64_t)UINT32_MAX));
			c->rtt_timing = false;
		}
		c->backoff = 0;
		c->retries = 0;
		if (c->snd_una == c->snd_max)
			c->t_rto = 0;
		else
			tcp_rto_arm(c, now_us);   /* RFC 6298 5.3 */
		tcp_sb_trim(c);
		if (c->in_recovery) {
			if (SEQ_GEQ(ack, c->recover)) {
				c->in_recovery = false;
				c->dupacks = 0;
				/* RFC 8985 6.2 step 4: the window widening wears off */
				if (c->reo_persist > 0 && --c->reo_persist == 0)
					c->reo_mult = 1;
				c->cc->on_recovery_end(c, now_us);
				undo_check(c, h);
			} else if (!c->sack_ok) {
				/* NewReno partial ACK (RFC 6582 3.2 step 5) */
				c->rexmit_una = true;
				c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
				if (acked >= c->mss)
					c->cwnd += c->mss;
				if (c->cwnd < c->mss)
					c->cwnd = c->mss;
			}
		} else {
			c->dupacks = 0;
			c->cc->on_ack(c, acked, now_us);
		}
		if (c->want_writable && c->sq.len < c->sq.size) {
			c->want_writable = false;
			tcp_ev_post(c, DSSH_TCP_EV_WRITABLE);
		}
		if (c->t_persist != 0 && c->snd_wnd > 0)
			c->t_persist = 0;
		tcp_out_mark(c);
	} else if (dup) {
		c->dupacks++;
		if (c->dupacks <= 2)
			tcp_out_mark(c);
		if (c->in_recovery && !c->sack_ok) {
			c->cwnd += c->mss;   /* RFC 6582 3.2 step 4: inflate */
			tcp_out_mark(c);
		} else if (c->in_recovery) {
			tcp_out_mark(c);
		}
	}
	if (c->rack_on) {
		tcp_rack_on_ack(c, h, now_us);
		tcp_tlp_on_ack(c, h, now_us);
		if (SEQ_GT(ack, una_before))
			tcp_tlp_arm(c, now_us);
	}
	/* Loss recovery entry: three duplicate ACKs, or IsLost(HighACK + 1). */
	/* RFC 6582 3.2 step 2: not again until snd_una passes the old recover point */
	if (!c->in_recovery && !c->rack_on && c->snd_max != c->snd_una && SEQ_GEQ(c->snd_una, c->recover) &&
	    ((dup && c->dupacks >= TCP_DUPTHRESH) ||
	     (c->sack_ok && c->sb_n > 0 && SEQ_GT(c->sb[0].start, c->snd_una) &&
	      tcp_sb_lost_below(c, 0)))) {
		{
			c->in_recovery = true;
			c->recover = c->snd_max;
			c->high_rxt = c->snd_una;
			tcp_undo_save(c);
			c->cc->on_loss(c, now_us);
			if (!c->sack_ok)
				c->cwnd = c->ssthresh + TCP_DUPTHRESH * c->mss;
			else
				s->st.sack_recoveries++;
			c->rexmit_una = true;
			c->rtt_timing = false;
			s->st.fast_retransmits++;
			tcp_out_mark(c);
		}
	}
	/* window update (RFC 9293 3.10.7.4, SND.WL1/WL2) */
	if (SEQ_LT(c->snd_wl1, h->seq) || (c->snd_wl1 == h->seq && SEQ_LEQ(c->snd_wl2, ack))) {
		if (wnd != c->snd_wnd)
			tcp_out_mark(c);
		c->snd_wnd = wnd;
		c->snd_wl1 = h->seq;
		c->snd_wl2 = ack;
		if (wnd > c->max_snd_wnd)
			c->max_snd_wnd = wnd;
		if (wnd > 0 && c->t_persist != 0) {
			c->t_persist = 0;
			c->persist_backoff = 0;
		}
	}
	return 0;
}

static bool
fin_is_acked(const struct dssh_tcp_conn *c)
{
	return c->fin_sent && c->sq.len == 0 && c->snd_una == c->snd_max &&
	    c->snd_una == c->snd_nxt;
}

/*
 * PAWS exemption for a disordered pure ACK (as Linux's tcp_disordered_ack):
 * no data, SYN or FIN, at RCV.NXT, its TSval older than TS.Recent by less
 * than an RTO. Jitter on the return path reorders the peer's ACKs all the
 * time (10 +- 5 ms one way: about every other ACK at one per two
 * segments); RFC 7323 5.3 R1 would drop each one, its SACK blocks with
 * it, and answer it with an ACK of our own. An old duplicate from a
 * previous wrap of the sequence space (what PAWS guards against) is not
 * that recent, and an ACK carries nothing to be duplicated: rcv_ack
 * ignores a cumulative ACK below SND.UNA and SND.WL1/WL2 keep an older
 * window out.
 */
static bool
paws_disordered_ack(const struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h,
    uint32_t seglen)
{
	return seglen == 0 && (h->flags & DSSH_TCP_ACK) && h->seq == c->rcv_nxt &&
	    tcp_synchronized_send(c) &&
	    c->ts_recent - h->tsval <= DSSH_MAX(tcp_rto_cur(c) / 1000u, (uint64_t)1);
}

static void
conn_input(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;
	uint32_t seq = h->seq, seglen, wnd;
	bool acceptable, fin;

	c->last_rcv_us = now_us;
	c->keep_probes = 0;
	if (c->keepalive && c->state == DSSH_TCP_ESTABLISHED) {
		tcp_timer_arm(c, &c->t_keep, now_us + s->conf.keepalive_idle_us, now_us);
	}
	seglen = (uint32_t)h->plen + !!(h->flags & DSSH_TCP_SYN) + !!(h->flags & DSSH_TCP_FIN);

	if (c->state == DSSH_TCP_SYN_SENT) {
		if ((h->flags & DSSH_TCP_ACK) &&
		    (SEQ_LEQ(h->ack, c->iss) || SEQ_GT(h->ack, c->snd_max))) {
			if (!(h->flags & DSSH_TCP_RST))
				tcp_send_rst_for(s, c->raddr, c->laddr, h);
			return;
		}
		if (h->flags & DSSH_TCP_RST) {
			if (h->flags & DSSH_TCP_ACK) {
				s->st.rst_rcvd++;
				s->st.conns_reset++;
				tcp_conn_reset(c, DSSH_TCP_EV_RESET);
			}
			return;
		}
		if (!(h->flags & DSSH_TCP_SYN))
			return;
		c->irs = seq;
		c->rcv_nxt = seq + 1;
		negotiate(c, h);
		if (h->flags & DSSH_TCP_ACK) {
			syn_acked(c, h, now_us);
			c->ack_now = true;
		} else {
			/* simultaneous open: SYN-ACK from SYN-RECEIVED */
			c->state = DSSH_TCP_SYN_RCVD;
			c->snd_nxt = c->iss;
			c->t_rto = 0;
		}
		tcp_out_mark(c);
		return;
	}

	if (c->state == DSSH_TCP_SYN_RCVD && (h->flags & DSSH_TCP_SYN) &&
	    !(h->flags & (DSSH_TCP_ACK | DSSH_TCP_RST)) && seq == c->irs) {
		if (c->snd_nxt != c->iss)
			c->snd_nxt = c->iss;    /* duplicate SYN: repeat the SYN-ACK */
		tcp_out_mark(c);
		return;
	}

	/* PAWS (RFC 7323 5.3) before the sequence check */
	if (c->ts_ok && !(h->flags & DSSH_TCP_RST)) {
		if (!h->has_ts && c->state != DSSH_TCP_SYN_RCVD)
			return;     /* RFC 7323 3.2: drop non-RST segments without TSopt */
		/* RFC 7323 5.5: TS.Recent idle for over 24 days is no longer valid */
		if (h->has_ts && now_us - c->ts_recent_us > 24ull * 86400 * 1000000)
			c->ts_recent = h->tsval;
		if (h->has_ts && (int32_t)(h->tsval - c->ts_recent) < 0 &&
		    !paws_disordered_ack(c, h, seglen)) {
			s->st.paws_drops++;
			c->ack_now = true;
			tcp_out_mark(c);
			return;
		}
	}

	/* sequence acceptability (RFC 9293 3.10.7.4 first) */
	wnd = tcp_rcv_space(c);
	if (seglen == 0)
		acceptable = wnd == 0 ? seq == c->rcv_nxt :
		    SEQ_LEQ(c->rcv_nxt, seq) && SEQ_LT(seq, c->rcv_nxt + wnd);
	else
		acceptable = wnd != 0 &&
		    ((SEQ_LEQ(c->rcv_nxt, seq) && SEQ_LT(seq, c->rcv_nxt + wnd)) ||
		     (SEQ_LEQ(c->rcv_nxt, seq + seglen - 1) &&
		      SEQ_LT(seq + seglen - 1, c->rcv_nxt + wnd)));
	if (!acceptable && wnd == 0 && seglen > 0 && seq == c->rcv_nxt && !(h->flags & DSSH_TCP_RST)) {
		/* zero window: process the ACK, answer the probe (RFC 9293 3.8.6.1) */
		if ((h->flags & DSSH_TCP_ACK) && tcp_synchronized_send(c))
			rcv_ack(c, h, now_us);
		c->ack_now = true;
		tcp_out_mark(c);
		return;
	}
	if (!acceptable) {
		if (!(h->flags & DSSH_TCP_RST)) {
			if (h->plen > 0 && SEQ_LEQ(seq + seglen, c->rcv_nxt))
				s->st.dup_segs++;
			else
				s->st.out_of_window++;
			if (c->state == DSSH_TCP_TIME_WAIT && (h->flags & DSSH_TCP_FIN)) {
				/* the peer's FIN again: re-ACK and restart 2 MSL (RFC 9293 3.10.7.4) */
				tcp_timer_arm(c, &c->t_tw, now_us + 2ull * s->conf.msl_us, now_us);
			}
			c->ack_now = true;
			tcp_out_mark(c);
		}
		return;
	}

	/* RST (RFC 5961 3.2): exact match resets, otherwise challenge ACK */
	if (h->flags & DSSH_TCP_RST) {
		if (seq != c->rcv_nxt) {
			challenge_ack(c, now_us);
			return;
		}
		s->st.rst_rcvd++;
		if (c->state == DSSH_TCP_SYN_RCVD && c->passive) {
			tcp_conn_reset(c, 0);
			return;
		}
		if (c->state == DSSH_TCP_TIME_WAIT || c->state == DSSH_TCP_LAST_ACK ||
		    c->state == DSSH_TCP_CLOSING) {
			tcp_conn_reset(c, DSSH_TCP_EV_CLOSED);
			return;
		}
		s->st.conns_reset++;
		tcp_conn_reset(c, DSSH_TCP_EV_RESET);
		return;
	}

	/* RFC 7323 4.3 and 5.3 R3: TS.Recent from segments covering
	 * Last.ACK.sent, never backwards (a disordered ACK passed PAWS) */
	if (c->ts_ok && h->has_ts && SEQ_LEQ(seq, c->last_ack_sent) &&
	    (int32_t)(h->tsval - c->ts_recent) >= 0) {
		c->ts_recent = h->tsval;
		c->ts_recent_us = now_us;
	}

	/* SYN in a synchronized state: challenge ACK (RFC 5961 4.2) */
	if (h->flags & DSSH_TCP_SYN) {
		challenge_ack(c, now_us);
		return;
	}
	if (!(h->flags & DSSH_TCP_ACK))
		return;

	if (c->state == DSSH_TCP_SYN_RCVD) {
		if (SEQ_LEQ(h->ack, c->iss) || SEQ_GT(h->ack, c->snd_max)) {
			tcp_send_rst_for(s, c->raddr, c->laddr, h);
			return;
		}
		syn_acked(c, h, now_us);
		if (c->fin_queued)
			c->state = DSSH_TCP_FIN_WAIT_1;
		tcp_out_mark(c);
	} else if (c->state != DSSH_TCP_TIME_WAIT && c->state != DSSH_TCP_CLOSED) {
		if (rcv_ack(c, h, now_us) != 0) {
			tcp_out_mark(c);
			return;
		}
	}

	/* our FIN acknowledged */
	if (fin_is_acked(c)) {
		switch (c->state) {
		case DSSH_TCP_FIN_WAIT_1:
			c->state = DSSH_TCP_FIN_WAIT_2;
			/* nobody owns it any more: do not wait forever for the
			 * peer's FIN (the t_tw expiry frees the connection);
			 * after dssh_tcp_shutdown the owner still reads */
			if (c->app_released) {
				tcp_timer_arm(c, &c->t_tw, now_us + 2ull * s->conf.msl_us, now_us);
			}
			break;
		case DSSH_TCP_CLOSING:
			enter_time_wait(c, now_us);
			break;
		case DSSH_TCP_LAST_ACK:
			s->st.conns_closed++;
			tcp_conn_reset(c, DSSH_TCP_EV_CLOSED);
			return;
		default:
			break;
		}
	}

	/* segment text and FIN */
	fin = (h->flags & DSSH_TCP_FIN) != 0;
	switch (c->state) {
	case DSSH_TCP_ESTABLISHED: case DSSH_TCP_FIN_WAIT_1: case DSSH_TCP_FIN_WAIT_2:
		if (h->plen > 0 || fin)
			rcv_data(c, seq, h->payload, (uint32_t)h->plen, &fin, now_us);
		if (fin && seq + (uint32_t)h->plen != c->rcv_nxt)
			fin = false;
		break;
	case DSSH_TCP_TIME_WAIT:
		if (fin) {
			/* retransmitted FIN: ACK it and restart 2 MSL */
			c->ack_now = true;
			tcp_timer_arm(c, &c->t_tw, now_us + 2ull * s->conf.msl_us, now_us);
			tcp_out_mark(c);
		}
		return;
	default:
		if (h->plen > 0 && seq + h->plen != c->rcv_nxt)
			c->ack_now = true;
		fin = false;
		break;
	}
	if (fin) {
		c->rcv_nxt++;
		c->fin_rcvd = true;
		c->ack_now = true;
		tcp_ev_post(c, DSSH_TCP_EV_PEER_FIN);
		switch (c->state) {
		case DSSH_TCP_ESTABLISHED:
			c->state = DSSH_TCP_CLOSE_WAIT;
			break;
		case DSSH_TCP_FIN_WAIT_1:
			if (fin_is_acked(c))
				enter_time_wait(c, now_us);
			else
				c->state = DSSH_TCP_CLOSING;
			break;
		case DSSH_TCP_FIN_WAIT_2:
			enter_time_wait(c, now_us);
			break;
		default:
			break;
		}
	}
	if (c->ack_now || c->t_delack != 0 || c->rexmit_una)
		tcp_out_mark(c);
	if (c->ack_now)
		tcp_out_mark(c);
}

/* ---- SYN cookies ---- */

static uint32_t
cookie_hash(struct dssh_tcp_stack *s, uint32_t laddr, uint16_t lport,
    uint32_t raddr, uint16_t rport, uint32_t peer_isn, uint32_t t)
{
	return (uint32_t)tcp_tuple_mac(s, s->cookie_secret, laddr, lport, raddr, rport, peer_isn, t) &
	    0xffffffu;
}

/* ISN = t mod 32 (5 bits) | MSS index (3 bits) | 24-bit keyed hash. */
static void
cookie_synack(struct dssh_tcp_stack *s, uint32_t saddr, uint32_t daddr,
    const struct dssh_tcp_hdr *h, uint64_t now_us)
{
	struct dssh_tcp_seg_out *o;
	uint32_t t = (uint32_t)(now_us / COOKIE_PERIOD_US), mss = h->has_mss ? h->mss : 536;
	uint32_t idx = 0, isn, i;
	uint8_t *p;

	for (i = 0; i < DSSH_ARRAY_SIZE(cookie_mss_tab); i++)
		if (cookie_mss_tab[i] <= mss && cookie_mss_tab[i] <= s->conf.mss)
			idx = i;
	isn = (t & 0x1f) << 27 | idx << 24 |
	    cookie_hash(s, daddr, h->dport, saddr, h->sport, h->seq, t);
	if ((o = tcp_ctl_slot(s)) == NULL)
		return;
	o->saddr = daddr;
	o->daddr = saddr;
	p = tcp_hdr_start(o, h->dport, h->sport, isn, h->seq + 1, DSSH_TCP_SYN | DSSH_TCP_ACK,
	    (uint16_t)DSSH_MIN(s->conf.rcvbuf, 65535u));
	*p++ = 2; *p++ = 4;
	p = tcp_put16(p, cookie_mss_tab[idx]);
	/*
	 * The ISN has room for the MSS only. With timestamps the peer echoes
	 * our TSval, so its low 6 bits carry the rest: bits 0-3 the peer's
	 * window scale (15 = none), bit 4 SACK permitted. Without timestamps
	 * a cookie connection has no window scaling and no SACK.
	 */
	if (s->conf.timestamps && h->has_ts) {
		bool ws = s->conf.window_scaling && h->has_ws;
		bool sack = s->conf.sack && h->sack_ok;
		uint32_t bits = (ws ? DSSH_MIN(h->ws, (uint8_t)TCP_MAX_WSCALE) : 15u) |
		    (sack ? 0x10u : 0u);
		uint32_t tsv = (uint32_t)(now_us / 1000u) +
		    tcp_ts_offset(s, daddr, h->dport, saddr, h->sport) - 64u;

		if (sack) {
			*p++ = 4; *p++ = 2;
		} else {
			*p++ = 1; *p++ = 1;
		}
		*p++ = 8; *p++ = 10;
		p = tcp_put32(p, (tsv & ~0x3fu) | bits);
		p = tcp_put32(p, h->tsval);
		if (ws) {
			*p++ = 1; *p++ = 3; *p++ = 3;
			*p++ = tcp_wscale_for(s->conf.rcvbuf);
		}
	}
	tcp_hdr_end(o, p);
	tcp_seg_finish(s, o);
	s->st.syn_cookies_sent++;
}

static struct dssh_tcp_conn *
cookie_check(struct dssh_tcp_stack *s, uint32_t saddr, uint32_t daddr,
    const struct dssh_tcp_hdr *h, uint64_t now_us)
{
	uint32_t isn = h->ack - 1, peer_isn = h->seq - 1, t5 = isn >> 27;
	uint32_t tnow = (uint32_t)(now_us / COOKIE_PERIOD_US), t, age;
	struct dssh_tcp_conn *c;
	struct dssh_tcp_hdr fake;

	age = (tnow - t5) & 0x1f;
	if (age > 1)
		return NULL;     /* older than 64-128 s */
	t = tnow - age;
	if (cookie_hash(s, daddr, h->dport, saddr, h->sport, peer_isn, t) != (isn & 0xffffff))
		return NULL;
	if ((c = tcp_conn_new(s, daddr, h->dport, saddr, h->sport, now_us)) == NULL)
		return NULL;
	c->passive = true;
	c->iss = isn;
	c->snd_una = c->snd_nxt = c->snd_max = isn + 1;
	c->recover = c->snd_una;
	c->irs = peer_isn;
	c->rcv_nxt = peer_isn + 1;
	memset(&fake, 0, sizeof(fake));
	fake.has_mss = true;
	fake.mss = cookie_mss_tab[(isn >> 24) & 7];
	if (h->has_ts && s->conf.timestamps) {
		/* options encoded in the TSval we sent, echoed as TSecr */
		fake.has_ts = true;
		fake.tsval = h->tsval;
		fake.has_ws = (h->tsecr & 0xf) != 15;
		fake.ws = (uint8_t)(h->tsecr & 0xf);
		fake.sack_ok = (h->tsecr & 0x10) != 0;
	}
	negotiate(c, &fake);
	c->state = DSSH_TCP_SYN_RCVD;
	s->nsynrcvd++;
	c->last_ack_sent = c->rcv_nxt;
	return c;
}

/* ---- input entry point ---- */

int
dssh_tcp_input(struct dssh_tcp_stack *s, const struct dssh_tcp_seg_in *seg, uint64_t now_us)
{
	struct dssh_tcp_hdr h;
	struct dssh_tcp_conn *c;
	const uint8_t *pay[1];
	uint32_t plen[1];
	uint16_t ck;
	int r;

	s->st.in_segs++;
	if (seg == NULL || seg->data == NULL || seg->len > 65535u) {
		s->st.in_bad_hdr++;
		return DSSH_ERR_INVALID_ARGUMENT;
	}
	if ((r = dssh_tcp_parse(seg->data, seg->len, &h)) != 0) {
		if (seg->len >= TCP_HDR_MIN && (seg->data[12] >> 4) * 4u >= TCP_HDR_MIN &&
		    (seg->data[12] >> 4) * 4u <= seg->len)
			s->st.in_bad_opt++;
		else
			s->st.in_bad_hdr++;
		return r;
	}
	if (!(seg->flags & DSSH_TCP_SEG_CSUM_OK)) {
		pay[0] = h.payload;
		plen[0] = (uint32_t)h.plen;
		ck = dssh_tcp_checksum(seg->saddr, seg->daddr, seg->data, h.doff, pay, plen, 1);
		if (ck != h.csum && !(ck == 0 && h.csum == 0xffff) && !(ck == 0xffff && h.csum == 0)) {
			s->st.in_bad_csum++;
			return DSSH_ERR_INVALID_FORMAT;
		}
	}
	if (h.sport == 0 || h.dport == 0 ||
	    (h.flags & (DSSH_TCP_SYN | DSSH_TCP_FIN)) == (DSSH_TCP_SYN | DSSH_TCP_FIN) ||
	    (h.flags & (DSSH_TCP_SYN | DSSH_TCP_RST)) == (DSSH_TCP_SYN | DSSH_TCP_RST)) {
		s->st.in_bad_hdr++;
		return DSSH_ERR_INVALID_FORMAT;
	}
	c = dssh_tcp_lookup(s, seg->daddr, h.dport, seg->saddr, h.sport);
	if (c != NULL) {
		/* payload kept by reference only where the driver gave its buffer */
		s->in_buf = s->conf.buf_ops != NULL ? seg->buf : NULL;
		s->in_cost = seg->buf_cost;
		conn_input(c, &h, now_us);
		s->in_buf = NULL;
		return 0;
	}
	s->st.in_no_conn++;
	if (tcp_listener_find(s, seg->daddr, h.dport, false) == NULL) {
		tcp_send_rst_for(s, seg->saddr, seg->daddr, &h);
		return 0;
	}
	/* LISTEN (RFC 9293 3.10.7.2) */
	if (h.flags & DSSH_TCP_RST)
		return 0;
	if (h.flags & DSSH_TCP_ACK) {
		if (!(h.flags & DSSH_TCP_SYN) &&
		    (c = cookie_check(s, seg->saddr, seg->daddr, &h, now_us)) != NULL) {
			s->st.syn_cookies_ok++;
			conn_input(c, &h, now_us);
			return 0;
		}
		if (!(h.flags & DSSH_TCP_SYN))
			s->st.syn_cookies_bad++;
		tcp_send_rst_for(s, seg->saddr, seg->daddr, &h);
		return 0;
	}
	if (!(h.flags & DSSH_TCP_SYN))
		return 0;
	if (s->nsynrcvd >= s->conf.syn_backlog || s->nconns >= s->conf.max_conns) {
		cookie_synack(s, seg->saddr, seg->daddr, &h, now_us);
		return 0;
	}
	if ((c = tcp_conn_new(s, seg->daddr, h.dport, seg->saddr, h.sport, now_us)) == NULL) {
		s->st.syn_dropped++;
		return 0;
	}
	/* data on a SYN is not accepted (no TCP Fast Open): the peer resends it */
	c->passive = true;
	c->state = DSSH_TCP_SYN_RCVD;
	s->nsynrcvd++;
	c->irs = h.seq;
	c->rcv_nxt = h.seq + 1;
	negotiate(c, &h);
	c->last_ack_sent = c->rcv_nxt;
	c->rtt_timing = true;
	c->rtt_seq = c->iss + 1;
	c->rtt_start_us = now_us;
	tcp_out_mark(c);
	return 0;
}
