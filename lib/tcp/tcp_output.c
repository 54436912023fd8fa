/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Building and sending segments: headers, options (MSS, window scale,
 * timestamps, SACK blocks), checksums, the stack's queue of control
 * replies (RSTs, keepalive probes, cookie SYN-ACKs), the advertised
 * window, and per connection what may go now (RFC 9293 3.8.6 send
 * window, sender SWS avoidance, Nagle, RFC 3042 Limited Transmit, zero
 * window probes, TSO batching), retransmissions chosen by the loss
 * recovery of tcp_sack.c, and the ACKs owed. dssh_tcp_output() is the
 * entry point.
 */
#include <string.h>

#include "dssh_util.h"
#include "dssh_buf.h"
#include "tcp_priv.h"

/* ---- segment construction ---- */

uint8_t *
tcp_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

uint8_t *
tcp_put32(uint8_t *p, uint32_t v)
{
	dssh_put_u32be(p, v);
	return p + 4;
}

void
tcp_seg_finish(struct dssh_tcp_stack *s, struct dssh_tcp_seg_out *o)
{
	uint16_t ck;

	if (s->conf.tx_csum_offload) {
		/* TSO: the NIC adds each wire segment's length itself (see dssh_tcp.h) */
		ck = (uint16_t)dssh_tcp_pseudo_sum(o->saddr, o->daddr,
		    o->tso_mss != 0 ? 0 : o->hdr_len + o->len);
	} else {
		ck = dssh_tcp_checksum(o->saddr, o->daddr, o->hdr, o->hdr_len,
		    (const uint8_t *const *)o->pay, o->pay_len, o->npay);
	}
	tcp_put16(o->hdr + 16, ck);
	s->st.out_segs++;
	if (o->tso_mss != 0)
		s->st.tso_segs++;
}

/* Fixed part of a header; returns a pointer to where options go. */
uint8_t *
tcp_hdr_start(struct dssh_tcp_seg_out *o, uint16_t sport, uint16_t dport,
    uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd)
{
	uint8_t *p = o->hdr;

	p = tcp_put16(p, sport);
	p = tcp_put16(p, dport);
	p = tcp_put32(p, seq);
	p = tcp_put32(p, ack);
	*p++ = 0;       /* data offset, set in tcp_hdr_end */
	*p++ = flags;
	p = tcp_put16(p, wnd);
	p = tcp_put16(p, 0);
	p = tcp_put16(p, 0);
	return p;
}

void
tcp_hdr_end(struct dssh_tcp_seg_out *o, uint8_t *p)
{
	while ((p - o->hdr) % 4 != 0)
		*p++ = 0;   /* EOL padding */
	o->hdr_len = (uint16_t)(p - o->hdr);
	o->hdr[12] = (uint8_t)((o->hdr_len / 4) << 4);
}

struct dssh_tcp_seg_out *
tcp_ctl_slot(struct dssh_tcp_stack *s)
{
	struct dssh_tcp_seg_out *o;

	if (s->ctlq_n >= TCP_CTL_QUEUE) {
		s->st.ctl_queue_full++;
		return NULL;
	}
	o = &s->ctlq[(s->ctlq_head + s->ctlq_n) % TCP_CTL_QUEUE];
	s->ctlq_n++;
	memset(o, 0, sizeof(*o));
	return o;
}

/* RST in reply to a segment that has no connection (RFC 9293 3.10.7.1). */
void
tcp_send_rst_for(struct dssh_tcp_stack *s, uint32_t saddr, uint32_t daddr,
    const struct dssh_tcp_hdr *h)
{
	struct dssh_tcp_seg_out *o;
	uint8_t *p;
	uint32_t seglen;

	if (h->flags & DSSH_TCP_RST)
		return;
	if ((o = tcp_ctl_slot(s)) == NULL)
		return;
	o->saddr = daddr;
	o->daddr = saddr;
	if (h->flags & DSSH_TCP_ACK) {
		p = tcp_hdr_start(o, h->dport, h->sport, h->ack, 0, DSSH_TCP_RST, 0);
	} else {
		seglen = (uint32_t)h->plen + !!(h->flags & DSSH_TCP_SYN) + !!(h->flags & DSSH_TCP_FIN);
		p = tcp_hdr_start(o, h->dport, h->sport, 0, h->seq + seglen,
		    DSSH_TCP_RST | DSSH_TCP_ACK, 0);
	}
	tcp_hdr_end(o, p);
	tcp_seg_finish(s, o);
	s->st.rst_sent++;
}

uint32_t
tcp_ts_now(const struct dssh_tcp_conn *c, uint64_t now_us)
{
	return (uint32_t)(now_us / 1000u) + c->ts_off;
}

uint32_t
tcp_rcv_space(const struct dssh_tcp_conn *c)
{
	return c->rq.size - c->rq.len;
}

static uint16_t
wnd_field(const struct dssh_tcp_conn *c, bool syn)
{
	uint32_t w = tcp_rcv_space(c);

	if (!syn)
		w >>= c->rcv_wscale;
	return (uint16_t)(w > 65535u ? 65535u : w);
}

/* Up to n SACK blocks, most recently changed first (RFC 2018 section 4). */
static unsigned
sack_blocks(const struct dssh_tcp_conn *c, uint32_t blk[4][2], unsigned n)
{
	bool used[DSSH_TCP_OOO_MAX] = { false };
	unsigned k, i, best;

	for (k = 0; k < n && k < c->ooo_n; k++) {
		best = UINT32_MAX;
		for (i = 0; i < c->ooo_n; i++)
			if (!used[i] && (best == UINT32_MAX || c->ooo[i].age > c->ooo[best].age))
				best = i;
		used[best] = true;
		blk[k][0] = c->ooo[best].start;
		blk[k][1] = c->ooo[best].end;
	}
	return k;
}

static void
sbuf_refs(const struct dssh_tcp_conn *c, struct dssh_tcp_seg_out *o, uint32_t off,
    uint32_t len)
{
	o->npay = (uint16_t)tcp_txq_ref(&c->sq, off, len, o->pay, o->pay_len, o->pay_buf,
	    DSSH_TCP_SEG_PAY_MAX, &o->len);
}

/*
 * What of [off, off + len) one segment can carry: its payload in at most
 * DSSH_TCP_SEG_PAY_MAX pieces. Cut shorter, a TSO segment keeps whole MSS;
 * one MSS in more pieces (tiny pieces in a row) goes out as a shorter one.
 */
static uint32_t
sq_seg_fit(const struct dssh_tcp_conn *c, uint32_t off, uint32_t len)
{
	const uint8_t *ptr[DSSH_TCP_SEG_PAY_MAX];
	uint32_t plen[DSSH_TCP_SEG_PAY_MAX], got;
	void *bufs[DSSH_TCP_SEG_PAY_MAX];

	if (len == 0 || c->sq.n <= 1)
		return len;
	(void)tcp_txq_ref(&c->sq, off, len, ptr, plen, bufs, DSSH_TCP_SEG_PAY_MAX, &got);
	if (got >= len || got == 0)
		return len;
	return got > c->mss ? got - got % c->mss : got;
}

/* Build one segment of connection c. */
void
tcp_emit(struct dssh_tcp_conn *c, struct dssh_tcp_seg_out *o, uint32_t seq,
    uint8_t flags, uint32_t len, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;
	bool syn = (flags & DSSH_TCP_SYN) != 0;
	uint32_t ack = (flags & DSSH_TCP_ACK) ? c->rcv_nxt : 0;
	uint32_t blk[4][2];
	unsigned nb = 0, i;
	uint8_t *p;

	memset(o, 0, sizeof(*o));
	o->saddr = c->laddr;
	o->daddr = c->raddr;
	o->conn = c;
	p = tcp_hdr_start(o, c->lport, c->rport, seq, ack, flags, wnd_field(c, syn));
	if (syn) {
		bool ts = c->passive ? c->ts_ok : s->conf.timestamps;
		bool sack = c->passive ? c->sack_ok : s->conf.sack;
		bool ws = c->passive ? c->ws_ok : s->conf.window_scaling;

		*p++ = 2; *p++ = 4;
		p = tcp_put16(p, s->conf.mss);
		if (sack && ts) {
			*p++ = 4; *p++ = 2;
		} else if (sack) {
			*p++ = 1; *p++ = 1; *p++ = 4; *p++ = 2;
		}
		if (ts) {
			if (!sack) {
				*p++ = 1; *p++ = 1;
			}
			*p++ = 8; *p++ = 10;
			p = tcp_put32(p, tcp_ts_now(c, now_us));
			p = tcp_put32(p, c->passive ? c->ts_recent : 0);
		}
		if (ws) {
			*p++ = 1; *p++ = 3; *p++ = 3;
			*p++ = c->rcv_wscale;
		}
	} else {
		if (c->ts_ok) {
			*p++ = 1; *p++ = 1; *p++ = 8; *p++ = 10;
			p = tcp_put32(p, tcp_ts_now(c, now_us));
			p = tcp_put32(p, c->ts_recent);
		}
		if (c->sack_ok && c->ooo_n > 0 && (flags & DSSH_TCP_ACK)) {
			unsigned room = c->ts_ok ? 3 : 4;

			/* on data segments, only the SACK blocks that fit in the MSS;
			 * none on a TSO segment (len > mss): the NIC copies the
			 * options into every full-MSS wire segment */
			while (room > 0 && len > 0 && len + 4u + 8u * room > c->mss)
				room--;
			nb = sack_blocks(c, blk, room);
			if (nb > 0) {
				*p++ = 1; *p++ = 1; *p++ = 5; *p++ = (uint8_t)(2 + 8 * nb);
				for (i = 0; i < nb; i++) {
					p = tcp_put32(p, blk[i][0]);
					p = tcp_put32(p, blk[i][1]);
				}
			}
		}
	}
	tcp_hdr_end(o, p);
	if (len > 0)
		sbuf_refs(c, o, seq - c->snd_una, len);
	/* only conn_output hands out more than one MSS, and only with TSO on */
	if (len > c->mss)
		o->tso_mss = c->mss;
	tcp_seg_finish(s, o);
	if (flags & DSSH_TCP_ACK) {
		c->last_ack_sent = c->rcv_nxt;
		c->rcv_adv = c->rcv_nxt + ((uint32_t)wnd_field(c, syn) << (syn ? 0 : c->rcv_wscale));
		c->segs_unacked = 0;
		c->ack_now = false;
		c->t_delack = 0;
	}
}

/* ---- output ---- */

/*
 * Largest payload of one TSO segment of c, a whole number of MSS: tso_max,
 * capped so that IPv4 total length (20 + TCP header + payload) fits 16
 * bits. A TSO segment's options are the timestamp only (tcp_emit leaves SACK
 * blocks off segments longer than the MSS). 0: no TSO for c.
 */
static uint32_t
tso_cap(const struct dssh_tcp_conn *c)
{
	uint32_t cap = c->stack->conf.tso_max;
	uint32_t lim = 65535u - 40u - (c->ts_ok ? 12u : 0u);

	if (cap == 0)
		return 0;
	cap = DSSH_MIN(cap, lim);
	cap -= cap % c->mss;
	return cap >= 2u * c->mss ? cap : 0;
}

bool
tcp_synchronized_send(const struct dssh_tcp_conn *c)
{
	switch (c->state) {
	case DSSH_TCP_ESTABLISHED: case DSSH_TCP_CLOSE_WAIT: case DSSH_TCP_FIN_WAIT_1:
	case DSSH_TCP_CLOSING: case DSSH_TCP_LAST_ACK:
		return true;
	default:
		return false;
	}
}

/*
 * Send the bytes [seq, seq+len) (offset in the send buffer), FIN if it ends
 * the stream. The FIN occupies the sequence number after the data (RFC 9293
 * 3.4): it goes out for the first time only from the new-data path (fresh),
 * which counts it in snd_nxt and snd_max. A retransmission that ends the
 * data (RACK, TLP, SACK or NewReno recovery) carries it only once it is
 * counted, i.e. was sent before: otherwise fin_sent would be set with the
 * FIN outside snd_max, the peer's ACK of it would acknowledge "unsent data"
 * and be dropped (the connection then makes no progress at all), and
 * should the FIN segment be lost, the ACK of the data alone would pass
 * for the ACK of the FIN (fin_is_acked) and it would never be resent.
 */
static uint32_t
send_data(struct dssh_tcp_conn *c, struct dssh_tcp_seg_out *o, uint32_t seq,
    uint32_t len, bool fresh, uint64_t now_us)
{
	uint32_t end_data = c->snd_una + c->sq.len;
	uint8_t flags = DSSH_TCP_ACK;

	len = sq_seg_fit(c, seq - c->snd_una, len);
	if (len > 0)
		flags |= DSSH_TCP_PSH * (seq + len == end_data);
	if (c->fin_queued && seq + len == end_data && tcp_synchronized_send(c) &&
	    (fresh || SEQ_LT(end_data, c->snd_max)))
		flags |= DSSH_TCP_FIN;
	tcp_emit(c, o, seq, flags, len, now_us);
	tcp_rack_sent(c, seq, seq + len + !!(flags & DSSH_TCP_FIN), now_us);
	if (SEQ_LT(seq, c->snd_max)) {
		c->stack->st.retransmits++;
		if (c->undo_on && !c->undo_ts_set) {
			c->undo_tsval = tcp_ts_now(c, now_us);   /* what tcp_emit put in TSval */
			c->undo_ts_set = true;
		}
	}
	if (flags & DSSH_TCP_FIN)
		c->fin_sent = true;
	if (c->t_rto == 0)
		tcp_rto_arm(c, now_us);
	if (SEQ_GEQ(seq, c->snd_max))
		tcp_tlp_arm(c, now_us);
	return len;
}

/*
 * The tail loss probe when no new data could go (RFC 8985 7.3): resend the
 * last MSS sent, then wait for the RTO.
 */
static void
tlp_send_last(struct dssh_tcp_conn *c, struct dssh_tcp_seg_out *o, uint64_t now_us)
{
	uint32_t last = SEQ_MIN(c->snd_max, c->snd_una + c->sq.len);
	uint32_t len = DSSH_MIN(last - c->snd_una, (uint32_t)c->mss);

	(void)send_data(c, o, last - len, len, false, now_us);
	c->tlp_out = true;
	c->tlp_rexmit = true;
	c->tlp_end = c->snd_max;
	c->tlp_xmit_us = now_us;
	c->stack->st.tlp_probes++;
	tcp_rto_arm(c, now_us);
}

/*
 * Sequence number of a segment without data. After a timeout snd_nxt has
 * gone back to snd_una, but the peer may hold everything up to snd_max: an
 * ACK numbered below its RCV.NXT would be unacceptable to it and dropped,
 * ACK field and all. A zero-window probe byte is not counted (the peer
 * has not taken it).
 */
uint32_t
tcp_ack_seq(const struct dssh_tcp_conn *c)
{
	if (c->snd_wnd == 0 && c->snd_max == c->snd_nxt + 1 && !c->fin_sent)
		return c->snd_nxt;
	return c->snd_max;
}

/* Returns the number of segments written; *more when it stopped on space. */
static unsigned
conn_output(struct dssh_tcp_conn *c, struct dssh_tcp_seg_out *segs, unsigned n,
    uint64_t now_us, bool *more)
{
	unsigned k = 0;
	uint32_t off, avail, wnd, inflight, usable, len, seq, end_data, pipe, tso;
	bool fin_pending;

	*more = false;
	if (c->state == DSSH_TCP_SYN_SENT || c->state == DSSH_TCP_SYN_RCVD) {
		if (c->snd_nxt == c->iss) {
			if (k == n)
				goto full;
			tcp_emit(c, &segs[k++], c->iss, c->state == DSSH_TCP_SYN_SENT ? DSSH_TCP_SYN :
			    DSSH_TCP_SYN | DSSH_TCP_ACK, 0, now_us);
			c->snd_nxt = c->iss + 1;
			c->snd_max = SEQ_MAX(c->snd_max, c->snd_nxt);
			if (c->t_rto == 0)
				tcp_rto_arm(c, now_us);
		}
	} else if (tcp_synchronized_send(c)) {
		/*
		 * TSO (tso != 0) batches what this loop would otherwise send as
		 * consecutive full-MSS segments with no state change between
		 * them: same bytes, windows and flags, fewer segments. The fast
		 * retransmit of the segment at snd_una (rexmit_una) stays one
		 * MSS; hole retransmissions in SACK recovery, go-back-N after a
		 * timeout and new data may be TSO segments.
		 */
		tso = tso_cap(c);
		for (;;) {
			end_data = c->snd_una + c->sq.len;
			if (c->rexmit_una) {
				if (k == n)
					goto full;
				len = DSSH_MIN(c->sq.len, (uint32_t)c->mss);
				for (unsigned i = 0; i < c->sb_n; i++)
					if (SEQ_GT(c->sb[i].start, c->snd_una) &&
					    SEQ_LT(c->sb[i].start, c->snd_una + len))
						len = c->sb[i].start - c->snd_una;
				len = send_data(c, &segs[k++], c->snd_una, len, false, now_us);
				c->high_rxt = SEQ_MAX(c->high_rxt, c->snd_una + len);
				c->rexmit_una = false;
				continue;
			}
			if (c->in_recovery && c->rack_on) {
				pipe = tcp_rack_pipe(c);
				if (pipe + c->mss > c->cwnd)
					break;
				if (tcp_rack_rexmit(c, tso != 0 ? DSSH_MIN(tso, c->cwnd - pipe) : c->mss,
				    &seq, &len)) {
					if (k == n)
						goto full;
					(void)send_data(c, &segs[k++], seq, len, false, now_us);
					continue;
				}
				wnd = c->snd_wnd;
				inflight = c->snd_nxt - c->snd_una;
				usable = wnd > inflight ? wnd - inflight : 0;
				usable = DSSH_MIN(usable, c->cwnd - pipe);
			} else if (c->in_recovery && c->sack_ok) {
				pipe = tcp_sb_pipe(c);
				if (pipe + c->mss > c->cwnd)
					break;
				/* pipe grows by exactly the bytes resent (HighRxt), so
				 * n MSS at once equal n rounds of one MSS */
				if (tcp_sb_next_lost(c, tso != 0 ? DSSH_MIN(tso, c->cwnd - pipe) : c->mss,
				    &seq, &len)) {
					if (len > c->mss)
						len -= len % c->mss;   /* the hole's tail on its own */
					if (k == n)
						goto full;
					len = send_data(c, &segs[k++], seq, len, false, now_us);
					c->high_rxt = seq + len;
					continue;
				}
				wnd = c->snd_wnd;
				inflight = c->snd_nxt - c->snd_una;
				usable = wnd > inflight ? wnd - inflight : 0;
				usable = DSSH_MIN(usable, c->cwnd - pipe);
			} else {
				/* Limited Transmit (RFC 3042): the first two duplicate
				 * ACKs each release one new segment */
				wnd = DSSH_MIN(c->snd_wnd, c->cwnd +
				    (c->in_recovery ? 0 : DSSH_MIN(c->dupacks, 2u) * c->mss) +
				    (c->tlp_due ? c->mss : 0u));   /* RFC 8985 7.3: new data probes */
				inflight = c->snd_nxt - c->snd_una;
				usable = wnd > inflight ? wnd - inflight : 0;
			}
			off = c->snd_nxt - c->snd_una;
			avail = off < c->sq.len ? c->sq.len - off : 0;
			len = DSSH_MIN(DSSH_MIN(avail, usable), (uint32_t)c->mss);
			if (tso != 0 && len == c->mss) {
				/*
				 * Whole MSS only, but for a tail that ends the queued
				 * data with nodelay on: a window-limited tail would
				 * meet SWS avoidance, and with Nagle a tail always
				 * waits (the first part of this segment is in flight).
				 * The next round decides on such a tail alone.
				 */
				len = DSSH_MIN(DSSH_MIN(avail, usable), tso);
				if (len != avail || !c->nodelay)
					len -= len % c->mss;
			}
			fin_pending = c->fin_queued && c->snd_nxt == end_data && !c->fin_sent;
			if (c->fin_queued && c->fin_sent && c->snd_nxt == end_data &&
			    SEQ_LT(c->snd_nxt, c->snd_max))
				fin_pending = true;   /* go-back-N after a timeout resends FIN */
			if (len == 0) {
				if (!fin_pending)
					break;
			} else if (len < c->mss && len < avail) {
				/* window-limited runt: sender SWS avoidance (RFC 9293 3.8.6.2.1) */
				if (len < c->max_snd_wnd / 2)
					break;
			} else if (len < c->mss && !c->nodelay && c->snd_max != c->snd_una) {
				break;   /* Nagle */
			}
			if (k == n)
				goto full;
			seq = c->snd_nxt;
			if (!c->rtt_timing && seq == c->snd_max && len > 0) {
				/* time the first MSS only, as without TSO: its ACK
				 * does not wait for the rest of the burst */
				c->rtt_timing = true;
				c->rtt_seq = seq + DSSH_MIN(len, (uint32_t)c->mss);
				c->rtt_start_us = now_us;
			}
			len = send_data(c, &segs[k++], seq, len, true, now_us);
			c->snd_nxt = seq + len + !!(c->fin_queued && seq + len == end_data);
			c->snd_max = SEQ_MAX(c->snd_max, c->snd_nxt);
			if (c->tlp_due) {
				c->tlp_due = false;
				c->tlp_out = true;
				c->tlp_rexmit = false;
				c->tlp_end = c->snd_max;
				c->t_tlp = 0;
				c->stack->st.tlp_probes++;
				tcp_rto_arm(c, now_us);
			}
		}
		if (c->tlp_due) {
			if (k == n)
				goto full;
			c->tlp_due = false;
			if (c->snd_una != c->snd_max && !c->in_recovery)
				tlp_send_last(c, &segs[k++], now_us);
		}
		/* zero window: arm the persist timer (RFC 9293 3.8.6.1) */
		off = c->snd_nxt - c->snd_una;
		if (c->snd_wnd == 0 && off < c->sq.len && c->snd_max == c->snd_una &&
		    c->t_persist == 0) {
			tcp_timer_arm(c, &c->t_persist,
			    now_us + (tcp_rto_cur(c) << DSSH_MIN(c->persist_backoff, 10u)), now_us);
		}
		if (c->persist_probe) {
			if (k == n)
				goto full;
			c->persist_probe = false;
			if (c->sq.len > off && c->snd_wnd == 0) {
				/* one byte past the window, snd_nxt unchanged */
				tcp_emit(c, &segs[k++], c->snd_nxt, DSSH_TCP_ACK, 1, now_us);
				c->snd_max = SEQ_MAX(c->snd_max, c->snd_nxt + 1);
				c->stack->st.zwp_sent++;
			}
		}
	}
	if (c->state != DSSH_TCP_SYN_SENT && c->state != DSSH_TCP_CLOSED &&
	    (c->state != DSSH_TCP_SYN_RCVD || c->snd_nxt != c->iss)) {
		/* a data segment just sent carried one of the owed ACKs */
		if (!c->ack_now && c->dupacks_owed > 0)
			c->dupacks_owed--;
		while (c->ack_now || c->dupacks_owed > 0) {
			if (k == n)
				goto full;
			tcp_emit(c, &segs[k++], tcp_ack_seq(c), DSSH_TCP_ACK, 0, now_us);
			if (c->dupacks_owed > 0)
				c->dupacks_owed--;
		}
	}
	c->dupacks_owed = 0;
	return k;
 full:
	*more = true;
	return k;
}

unsigned
dssh_tcp_output(struct dssh_tcp_stack *s, struct dssh_tcp_seg_out *segs, unsigned n,
    uint64_t now_us)
{
	struct dssh_tcp_conn *c;
	unsigned k = 0;
	bool more;

	while (k < n && s->ctlq_n > 0) {
		segs[k++] = s->ctlq[s->ctlq_head];
		s->ctlq_head = (s->ctlq_head + 1) % TCP_CTL_QUEUE;
		s->ctlq_n--;
	}
	while (k < n && (c = s->out_head) != NULL) {
		k += conn_output(c, segs + k, n - k, now_us, &more);
		if (more)
			break;
		s->out_head = c->out_next;
		if (s->out_head == NULL)
			s->out_tail = NULL;
		c->on_out = false;
	}
	return k;
}
