/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loss detection and recovery state on the send side: the RFC 6675 SACK
 * scoreboard (SetPipe, NextSeg, IsLost), RACK-TLP (RFC 8985: per-segment
 * send times, the reordering window and timer, tail loss probes) and the
 * saved congestion state that undoes a needless recovery (RFC 9438 4.9).
 * tcp_input.c feeds it the ACKs, tcp_output.c asks it what to resend.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_util.h"
#include "tcp_priv.h"

/* ---- sender SACK scoreboard (RFC 6675) ---- */

void
tcp_sb_add(struct dssh_tcp_conn *c, uint32_t start, uint32_t end)
{
	struct seq_range tmp[TCP_SACK_SB_MAX + 1];
	uint32_t i, n = 0;
	bool placed = false;

	/* merge into a sorted, non-overlapping list */
	for (i = 0; i < c->sb_n; i++) {
		struct seq_range r = c->sb[i];

		if (SEQ_LT(r.end, start)) {
			tmp[n++] = r;
		} else if (SEQ_GT(r.start, end)) {
			if (!placed) {
				tmp[n].start = start; tmp[n].end = end; n++;
				placed = true;
			}
			tmp[n++] = r;
		} else {
			start = SEQ_MIN(start, r.start);
			end = SEQ_MAX(end, r.end);
		}
	}
	if (!placed) {
		tmp[n].start = start; tmp[n].end = end; n++;
	}
	if (n > TCP_SACK_SB_MAX)
		n = TCP_SACK_SB_MAX;   /* forget the highest range: conservative */
	memcpy(c->sb, tmp, n * sizeof(tmp[0]));
	c->sb_n = n;
}

void
tcp_sb_trim(struct dssh_tcp_conn *c)
{
	uint32_t i, n = 0;

	for (i = 0; i < c->sb_n; i++) {
		if (SEQ_LEQ(c->sb[i].end, c->snd_una))
			continue;
		c->sb[n] = c->sb[i];
		if (SEQ_LT(c->sb[n].start, c->snd_una))
			c->sb[n].start = c->snd_una;
		n++;
	}
	c->sb_n = n;
}

/* IsLost() for every byte of a hole ending where SACK block i begins. */
bool
tcp_sb_lost_below(const struct dssh_tcp_conn *c, uint32_t i)
{
	uint64_t bytes = 0;
	uint32_t j;

	for (j = i; j < c->sb_n; j++)
		bytes += c->sb[j].end - c->sb[j].start;
	return c->sb_n - i >= TCP_DUPTHRESH ||
	    bytes > (uint64_t)(TCP_DUPTHRESH - 1) * c->mss;
}

/* SetPipe(): bytes considered in flight (RFC 6675 section 4). */
uint32_t
tcp_sb_pipe(const struct dssh_tcp_conn *c)
{
	uint32_t pipe = 0, a = c->snd_una, i, b, lo, hi;

	for (i = 0; i <= c->sb_n; i++) {
		b = i < c->sb_n ? c->sb[i].start : c->snd_max;
		if (SEQ_LT(a, b)) {
			if (i == c->sb_n || !tcp_sb_lost_below(c, i))
				pipe += b - a;
			/* retransmitted bytes of this hole */
			lo = a;
			hi = SEQ_MIN(b, c->high_rxt);
			if (SEQ_LT(lo, hi))
				pipe += hi - lo;
		}
		if (i < c->sb_n)
			a = c->sb[i].end;
	}
	return pipe;
}

/* NextSeg() rule 1: first lost, not yet retransmitted byte; at most max bytes. */
bool
tcp_sb_next_lost(const struct dssh_tcp_conn *c, uint32_t max, uint32_t *seq,
    uint32_t *len)
{
	uint32_t a = c->snd_una, i, start;

	for (i = 0; i < c->sb_n; i++) {
		uint32_t b = c->sb[i].start;

		start = SEQ_MAX(a, c->high_rxt);
		if (SEQ_LT(start, b) && tcp_sb_lost_below(c, i)) {
			*seq = start;
			*len = DSSH_MIN(b - start, max);
			return true;
		}
		a = c->sb[i].end;
	}
	return false;
}

/* ---- RACK-TLP loss detection (RFC 8985) ---- */

/*
 * The segment list rs[] is kept per connection that negotiated SACK (as
 * Linux: without SACK there is nothing to tell a later delivery by, and
 * RFC 6582 applies). Split and merged in place: a SACK block or a
 * retransmission may cut a segment (TSO, go-back-N), and a resend covers
 * the range it sent as one segment. Should the list fill up the connection
 * falls back to RFC 6675 rather than guess.
 */
static void
rack_disable(struct dssh_tcp_conn *c)
{
	free(c->rs_mem);
	c->rs = c->rs_mem = NULL;
	c->rs_n = c->rs_cap = 0;
	c->rack_on = false;
	c->t_reo = c->t_tlp = 0;
	c->tlp_due = c->tlp_out = false;
	c->high_rxt = c->snd_una;   /* RFC 6675 from here: resend every hole */
}

/* Index of the first segment ending after seq. */
static uint32_t
rs_find(const struct dssh_tcp_conn *c, uint32_t seq)
{
	uint32_t lo = 0, hi = c->rs_n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (SEQ_LEQ(c->rs[mid].end, seq))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool
rs_insert(struct dssh_tcp_conn *c, uint32_t i, const struct tcp_rack_seg *r)
{
	if ((uint32_t)(c->rs - c->rs_mem) + c->rs_n == c->rs_cap && c->rs != c->rs_mem) {
		/* acknowledged ones were dropped off the front: compact now */
		memmove(c->rs_mem, c->rs, c->rs_n * sizeof(c->rs[0]));
		c->rs = c->rs_mem;
	}
	if (c->rs_n == c->rs_cap) {
		rack_disable(c);
		return false;
	}
	memmove(&c->rs[i + 1], &c->rs[i], (c->rs_n - i) * sizeof(c->rs[0]));
	c->rs[i] = *r;
	c->rs_n++;
	return true;
}

/* A segment boundary at seq. */
static bool
rs_split(struct dssh_tcp_conn *c, uint32_t seq)
{
	uint32_t i = rs_find(c, seq);
	struct tcp_rack_seg r;

	if (i == c->rs_n || SEQ_GEQ(c->rs[i].start, seq))
		return true;
	r = c->rs[i];
	c->rs[i].end = seq;
	r.start = seq;
	return rs_insert(c, i + 1, &r);
}

/* [start, end) was (re)sent now: it becomes one segment. */
void
tcp_rack_sent(struct dssh_tcp_conn *c, uint32_t start, uint32_t end, uint64_t now_us)
{
	struct tcp_rack_seg r = { start, end, now_us, 0 };
	uint32_t i, j;

	if (!c->rack_on || start == end)
		return;
	if (c->rs == NULL) {
		/* RACK.fack and RACK.end_seq start at SND.UNA: left at 0 a
		 * sequence space half away (any ISN of 2^31 and up) made every
		 * delivery look reordered (RFC 8985 6.2 step 2) */
		c->rack_fack = c->rack_end = c->snd_una;
		c->rs_cap = c->stack->conf.sndbuf / 512u + 64u;
		if ((c->rs = c->rs_mem = calloc(c->rs_cap, sizeof(c->rs[0]))) == NULL) {
			rack_disable(c);
			return;
		}
	}
	if (SEQ_LT(start, c->snd_max))
		r.flags = TCP_RS_RETRANS;
	if (r.flags != 0)
		c->rs_marked = true;
	if (!rs_split(c, start) || !rs_split(c, end))
		return;
	i = rs_find(c, start);
	for (j = i; j < c->rs_n && SEQ_LEQ(c->rs[j].end, end); j++)
		r.flags |= c->rs[j].flags & TCP_RS_RETRANS;
	c->rs_marked |= r.flags != 0;
	memmove(&c->rs[i], &c->rs[j], (c->rs_n - j) * sizeof(c->rs[0]));
	c->rs_n -= j - i;
	rs_insert(c, i, &r);
}

/* RACK.reo_wnd (RFC 8985 6.2 step 4). */
static uint64_t
rack_reo_wnd(const struct dssh_tcp_conn *c, uint32_t sacked_segs)
{
	uint64_t w;

	if (!c->rack_reord && (c->in_recovery || sacked_segs >= TCP_DUPTHRESH))
		return 0;
	w = (uint64_t)c->rack_min_rtt_us / 4 * c->reo_mult;
	return DSSH_MIN(w, (uint64_t)c->srtt_us);
}

/*
 * A spurious retransmission (the original arrived: the ACK echoes its
 * timestamp, RFC 3522) widens the reordering window, at most once per
 * round trip, as a DSACK does in RFC 8985 6.2 step 4.
 */
static void
rack_spurious(struct dssh_tcp_conn *c)
{
	c->stack->st.spurious_rexmits++;
	if (c->spur_round_on && SEQ_LT(c->snd_una, c->spur_round))
		return;
	c->spur_round_on = true;
	c->spur_round = c->snd_max;
	if (c->reo_mult < 64)
		c->reo_mult++;
	c->reo_persist = 16;
}

/* RFC 8985 6.2 steps 1-3 for one newly delivered segment. */
static void
rack_delivered(struct dssh_tcp_conn *c, struct tcp_rack_seg *r,
    const struct dssh_tcp_hdr *h, bool cum, uint64_t now_us)
{
	uint32_t rtt = (uint32_t)DSSH_MIN(now_us - r->xmit_us, (uint64_t)UINT32_MAX);

	if (r->flags & TCP_RS_RETRANS) {
		/* ambiguous: the original may be what arrived. The echo is only
		 * meaningful on the ACK that advanced past it (RFC 7323 4.3) */
		if (cum && c->ts_ok && h->has_ts && SEQ_LT(h->tsecr, tcp_ts_now(c, r->xmit_us))) {
			rack_spurious(c);
			return;
		}
		if (rtt < c->rack_min_rtt_us)
			return;
	} else {
		if (c->rack_min_rtt_us == 0 || rtt < c->rack_min_rtt_us)
			c->rack_min_rtt_us = rtt ? rtt : 1;
		if (SEQ_LT(r->end, c->rack_fack))
			c->rack_reord = true;
	}
	c->rack_fack = SEQ_MAX(c->rack_fack, r->end);
	if (r->xmit_us > c->rack_xmit_us ||
	    (r->xmit_us == c->rack_xmit_us && SEQ_GT(r->end, c->rack_end))) {
		c->rack_xmit_us = r->xmit_us;
		c->rack_end = r->end;
		c->rack_rtt_us = rtt;
	}
}

/*
 * RACK_detect_loss (RFC 8985 6.2 step 5): a segment sent before the most
 * recently delivered one and outstanding for longer than RACK.rtt plus the
 * reordering window is lost; a resent one too, which is how a lost
 * retransmission is found without a timeout. Arms the reordering timer for
 * the earliest one still inside the window. Returns the segments marked.
 */
static uint32_t
rack_detect_loss(struct dssh_tcp_conn *c, uint64_t now_us)
{
	uint64_t reo, deadline, timeout = 0;
	uint32_t i, sacked = 0, lost = 0;
	bool marked = false;

	/*
	 * With nothing SACKed or resent in the list, it is in transmission
	 * order: past the first segment not sent before the most recently
	 * delivered one, none is (a bulk sender's usual case, where a scan
	 * of everything in flight on every ACK was the cost).
	 */
	if (c->rs_marked) {
		for (i = 0; i < c->rs_n; i++) {
			sacked += (c->rs[i].flags & TCP_RS_SACKED) != 0;
			marked |= (c->rs[i].flags & (TCP_RS_SACKED | TCP_RS_RETRANS)) != 0;
		}
		c->rs_marked = marked;
	}
	reo = rack_reo_wnd(c, sacked);
	for (i = 0; i < c->rs_n; i++) {
		struct tcp_rack_seg *r = &c->rs[i];

		if (!(c->rack_xmit_us > r->xmit_us ||
		    (c->rack_xmit_us == r->xmit_us && SEQ_GT(c->rack_end, r->end)))) {
			if (!marked)
				break;
			continue;
		}
		if (r->flags & (TCP_RS_SACKED | TCP_RS_LOST))
			continue;
		deadline = r->xmit_us + c->rack_rtt_us + reo;
		if (deadline <= now_us) {
			r->flags |= TCP_RS_LOST;
			lost++;
		} else {
			timeout = DSSH_MAX(timeout, deadline);
		}
	}
	tcp_timer_arm(c, &c->t_reo, timeout, now_us);
	c->stack->st.rack_lost += lost;
	return lost;
}

/*
 * A recovery episode starts: keep what its congestion response is about to
 * change, for undo_check (RFC 9438 4.9). Timestamps are what tells a
 * needless episode (RFC 3522), so without them there is no undo.
 */
void
tcp_undo_save(struct dssh_tcp_conn *c)
{
	c->undo_on = c->ts_ok;
	c->undo_ts_set = false;
	c->undo_cwnd = c->cwnd;
	c->undo_ssthresh = c->ssthresh;
	c->undo_cubic = c->cubic;
}

/* Loss found: fast recovery (RFC 6675 5 with RACK's IsLost, RFC 8985 6.2). */
static void
rack_enter_recovery(struct dssh_tcp_conn *c, uint64_t now_us)
{
	if (c->in_recovery)
		return;
	c->in_recovery = true;
	c->recover = c->snd_max;
	tcp_undo_save(c);
	c->cc->on_loss(c, now_us);
	c->rtt_timing = false;
	c->tlp_due = false;
	c->t_tlp = 0;
	c->stack->st.sack_recoveries++;
	c->stack->st.fast_retransmits++;
}

/* Bytes in flight: not delivered, and not lost unless resent since. */
uint32_t
tcp_rack_pipe(const struct dssh_tcp_conn *c)
{
	uint32_t i, pipe = 0;

	for (i = 0; i < c->rs_n; i++)
		if (!(c->rs[i].flags & (TCP_RS_SACKED | TCP_RS_LOST)))
			pipe += c->rs[i].end - c->rs[i].start;
	return pipe;
}

/* The first segment marked lost and not resent: [*seq, *seq + *len). */
static bool
rack_next_lost(const struct dssh_tcp_conn *c, uint32_t *seq, uint32_t *len)
{
	uint32_t i;

	for (i = 0; i < c->rs_n; i++)
		if ((c->rs[i].flags & (TCP_RS_SACKED | TCP_RS_LOST)) == TCP_RS_LOST) {
			*seq = c->rs[i].start;
			*len = c->rs[i].end - c->rs[i].start;
			return true;
		}
	return false;
}

/* RACK recovery: the next lost segment to resend, TSO-sized if allowed. */
bool
tcp_rack_rexmit(struct dssh_tcp_conn *c, uint32_t max, uint32_t *seq, uint32_t *len)
{
	uint32_t end_data = c->snd_una + c->sq.len;

	if (!rack_next_lost(c, seq, len))
		return false;
	*len = DSSH_MIN(*len, max);
	if (SEQ_GT(*seq + *len, end_data))
		*len = SEQ_GT(end_data, *seq) ? end_data - *seq : 0;
	if (*len > c->mss)
		*len -= *len % c->mss;
	if (*len == 0 && !(c->fin_queued && *seq == end_data && SEQ_LT(end_data, c->snd_max) &&
	    tcp_synchronized_send(c))) {
		/* nothing left to resend there (cannot happen with a sane list):
		 * unmark rather than spin */
		c->rs[rs_find(c, *seq)].flags &= (uint8_t)~TCP_RS_LOST;
		return false;
	}
	return true;
}

/*
 * Probe timeout (RFC 8985 7.2): 2 SRTT, plus the worst delayed ACK when
 * only one segment is out, and not past the RTO. Restarted by new data and
 * by ACKs, so it only fires on a tail.
 */
void
tcp_tlp_arm(struct dssh_tcp_conn *c, uint64_t now_us)
{
	uint64_t pto;

	c->t_tlp = 0;
	if (!c->rack_on || c->in_recovery || c->tlp_out || c->snd_una == c->snd_max ||
	    c->backoff > 0)
		return;
	pto = c->rtt_valid ? 2ull * c->srtt_us : 1000000u;
	if (c->snd_max - c->snd_una <= c->mss)
		pto += c->stack->conf.delack_us;
	if (c->t_rto != 0 && now_us + pto >= c->t_rto)
		return;
	tcp_timer_arm(c, &c->t_tlp, now_us + pto, now_us);
}

/* Per ACK: update the list and RACK state, detect losses (RFC 8985 6.2). */
void
tcp_rack_on_ack(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h, uint64_t now_us)
{
	uint32_t i, k, lo, st, en;

	if (!c->rack_on || c->rs_n == 0)
		return;
	/* cumulatively acknowledged: delivered unless SACKed before */
	if (!rs_split(c, c->snd_una))
		return;
	for (k = 0; k < c->rs_n && SEQ_LEQ(c->rs[k].end, c->snd_una); k++)
		if (!(c->rs[k].flags & TCP_RS_SACKED))
			rack_delivered(c, &c->rs[k], h, true, now_us);
	/* off the front without moving the rest (rs_insert compacts) */
	c->rs += k;
	c->rs_n -= k;
	if (c->rs_n == 0)
		c->rs = c->rs_mem;
	lo = c->snd_una;
	for (k = 0; k < h->nsack; k++) {
		st = h->sack[k][0];
		en = h->sack[k][1];
		if (!SEQ_LT(st, en) || SEQ_LEQ(en, lo) || SEQ_GT(en, c->snd_max))
			continue;
		st = SEQ_MAX(st, lo);
		if (!rs_split(c, st) || !rs_split(c, en))
			return;
		for (i = rs_find(c, st); i < c->rs_n && SEQ_LEQ(c->rs[i].end, en); i++) {
			if (c->rs[i].flags & TCP_RS_SACKED)
				continue;
			rack_delivered(c, &c->rs[i], h, false, now_us);
			c->rs[i].flags = (uint8_t)((c->rs[i].flags | TCP_RS_SACKED) & ~TCP_RS_LOST);
			c->rs_marked = true;
		}
	}
	if (c->spur_round_on && SEQ_GEQ(c->snd_una, c->spur_round))
		c->spur_round_on = false;
	if (c->rack_xmit_us != 0 && rack_detect_loss(c, now_us) > 0) {
		rack_enter_recovery(c, now_us);
		tcp_out_mark(c);
	}
}

/* The reordering timer (RFC 8985 6.3). */
void
tcp_rack_on_reo_timer(struct dssh_tcp_conn *c, uint64_t now_us)
{
	c->t_reo = 0;
	if (!c->rack_on)
		return;
	if (rack_detect_loss(c, now_us) > 0) {
		c->stack->st.rack_reo_timeouts++;
		rack_enter_recovery(c, now_us);
		tcp_out_mark(c);
	}
}

/*
 * End of a TLP episode (RFC 8985 7.4): the ACK covers the probe. When the
 * probe resent data and the ACK echoes the probe's timestamp, it repaired a
 * loss and congestion control reacts as to one; an echo of the original's
 * says the probe was not needed.
 */
void
tcp_tlp_on_ack(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h, uint64_t now_us)
{
	if (!c->tlp_out || SEQ_LT(c->snd_una, c->tlp_end))
		return;
	c->tlp_out = false;
	if (!c->tlp_rexmit || c->in_recovery)
		return;
	if (c->ts_ok && h->has_ts && SEQ_LT(h->tsecr, tcp_ts_now(c, c->tlp_xmit_us)))
		return;
	c->cc->on_loss(c, now_us);
}
