/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TCP_TEST_CHAN_H
#define TCP_TEST_CHAN_H

/*
 * A seeded impaired one-way channel between two stacks (loss, reordering,
 * duplication, per mille) and the byte-stream helpers of the loop tests:
 * a deterministic stream per direction, written and verified end to end.
 */
#include <stdlib.h>

#include "tcp_test_util.h"

struct pkt {
	uint64_t due;
	uint32_t saddr, daddr;
	uint32_t len;
	uint8_t data[1600];
};

struct chan {
	struct pkt *q;
	size_t n, cap;
	uint64_t rng;
	unsigned loss_pm, reorder_pm, dup_pm;   /* per mille */
	bool fifo;      /* deliver packets due together in send order (else any order) */
	/*
	 * Delay model. delay_us == 0: 1 ms one way, a reordered packet 0.2-3.2 ms
	 * more. Otherwise each packet independently takes delay_us +- jitter_us
	 * (uniform; like netem, jitter alone reorders), a reordered one
	 * reorder_us more.
	 */
	uint32_t delay_us, jitter_us, reorder_us;
	/*
	 * Burst loss, like an overflowing RX ring: each packet starts a run
	 * of burst_min..burst_max consecutive drops with burst_pm per mille,
	 * over at most burst_us (an overflow ends when the ring drains);
	 * ring_max != 0 also drops every packet that finds ring_max packets
	 * already queued.
	 */
	unsigned burst_pm, burst_min, burst_max, burst_left;
	uint32_t burst_us;
	uint64_t burst_end;
	size_t ring_max;
	uint64_t sent, lost, reordered, duped;
};

/* One wire segment (TCP header + payload, len <= 1600) into the channel. */
static inline void chan_put_raw(struct chan *ch, uint32_t saddr, uint32_t daddr,
    const uint8_t *data, size_t len, uint64_t now)
{
	unsigned copies = 1, i;
	uint64_t r;

	ch->sent++;
	if (ch->burst_left > 0 && now >= ch->burst_end)
		ch->burst_left = 0;
	if (ch->burst_pm != 0 && ch->burst_left == 0 &&
	    dssh_test_rand(&ch->rng) % 1000 < ch->burst_pm) {
		ch->burst_left = ch->burst_min +
		    (unsigned)(dssh_test_rand(&ch->rng) % (ch->burst_max - ch->burst_min + 1));
		ch->burst_end = now + ch->burst_us;
	}
	if (ch->burst_left > 0 || (ch->ring_max != 0 && ch->n >= ch->ring_max)) {
		if (ch->burst_left > 0)
			ch->burst_left--;
		ch->lost++;
		return;
	}
	r = dssh_test_rand(&ch->rng) % 1000;
	if (r < ch->loss_pm) {
		ch->lost++;
		return;
	}
	if (dssh_test_rand(&ch->rng) % 1000 < ch->dup_pm) {
		copies = 2;
		ch->duped++;
	}
	for (i = 0; i < copies; i++) {
		struct pkt *p;

		if (ch->n == ch->cap) {
			ch->cap = ch->cap ? ch->cap * 2 : 1024;
			ch->q = realloc(ch->q, ch->cap * sizeof(*ch->q));
			if (ch->q == NULL)
				abort();
		}
		p = &ch->q[ch->n++];
		p->saddr = saddr;
		p->daddr = daddr;
		if (len > sizeof(p->data))
			abort();
		memcpy(p->data, data, len);
		p->len = (uint32_t)len;
		if (ch->delay_us == 0) {
			p->due = now + 1000;    /* 1 ms one way */
			if (dssh_test_rand(&ch->rng) % 1000 < ch->reorder_pm) {
				p->due += 200 + dssh_test_rand(&ch->rng) % 3000;
				ch->reordered++;
			}
		} else {
			p->due = now + ch->delay_us - ch->jitter_us +
			    dssh_test_rand(&ch->rng) % (2ull * ch->jitter_us + 1);
			if (dssh_test_rand(&ch->rng) % 1000 < ch->reorder_pm) {
				p->due += ch->reorder_us;
				ch->reordered++;
			}
		}
		p->due += i * 50;
	}
}

static inline void chan_put(struct chan *ch, const struct dssh_tcp_seg_out *o, uint64_t now)
{
	uint8_t buf[1600];
	size_t off;
	unsigned j;

	if ((size_t)o->hdr_len + o->len > sizeof(buf))
		abort();
	memcpy(buf, o->hdr, o->hdr_len);
	off = o->hdr_len;
	for (j = 0; j < o->npay; j++) {
		memcpy(buf + off, o->pay[j], o->pay_len[j]);
		off += o->pay_len[j];
	}
	chan_put_raw(ch, o->saddr, o->daddr, buf, off, now);
}

/* Everything the stack has to send, into the channel. */
static inline void chan_pump(struct dssh_tcp_stack *s, struct chan *ch, uint64_t now)
{
	struct dssh_tcp_seg_out o[32];
	unsigned n, i;

	do {
		n = dssh_tcp_output(s, o, 32, now);
		for (i = 0; i < n; i++)
			chan_put(ch, &o[i], now);
	} while (n == 32);
}

/*
 * The fake clock's next step for two stacks joined by two channels: the
 * earliest timer or delivery, at least 20 us on (1 ms when nothing is due).
 */
static inline uint64_t chan_next_time(struct dssh_tcp_stack *sa, struct dssh_tcp_stack *sb,
    const struct chan *ab, const struct chan *ba, uint64_t now)
{
	uint64_t nx = DSSH_MIN(dssh_tcp_timers(sa, now), dssh_tcp_timers(sb, now));

	for (size_t q = 0; q < ab->n; q++)
		nx = DSSH_MIN(nx, ab->q[q].due);
	for (size_t q = 0; q < ba->n; q++)
		nx = DSSH_MIN(nx, ba->q[q].due);
	return nx > now + 20 ? (nx == UINT64_MAX ? now + 1000 : nx) : now + 20;
}

static inline void chan_deliver(struct chan *ch, struct dssh_tcp_stack *dst, uint64_t now)
{
	size_t i = 0, k = 0;

	if (ch->fifo) {
		for (i = 0; i < ch->n; i++) {
			struct pkt p = ch->q[i];

			if (p.due > now) {
				ch->q[k++] = p;
				continue;
			}
			CHECK_EQ_INT(feed_raw(dst, p.saddr, p.daddr, p.data, p.len, now), 0);
		}
		ch->n = k;
		return;
	}
	while (i < ch->n) {
		if (ch->q[i].due <= now) {
			struct pkt p = ch->q[i];

			ch->q[i] = ch->q[--ch->n];
			CHECK_EQ_INT(feed_raw(dst, p.saddr, p.daddr, p.data, p.len, now), 0);
		} else {
			i++;
		}
	}
}

static inline uint8_t stream_byte(uint64_t seed, uint64_t i)
{
	uint64_t x = (i / 8 + 1) * 0x9E3779B97F4A7C15ull ^ seed;

	x ^= x >> 31; x *= 0xBF58476D1CE4E5B9ull; x ^= x >> 29;
	return (uint8_t)(x >> (8 * (i % 8)));
}

struct end {
	struct dssh_tcp_conn *c;
	uint64_t tx_seed, rx_seed, tx_total, rx_total, tx_done, rx_done;
	bool rx_eof, closed, bad, fin_sent, got_closed;
};

static inline void end_write(struct end *e, uint64_t now)
{
	uint8_t buf[16384];
	size_t n, i;
	ssize_t r;

	while (e->c != NULL && e->tx_done < e->tx_total) {
		n = (size_t)DSSH_MIN(sizeof(buf), e->tx_total - e->tx_done);
		for (i = 0; i < n; i++)
			buf[i] = stream_byte(e->tx_seed, e->tx_done + i);
		r = dssh_tcp_send(e->c, buf, n);
		if (r <= 0)
			break;
		e->tx_done += (uint64_t)r;
	}
	(void)now;
}

static inline void end_read(struct end *e)
{
	const uint8_t *p[2];
	size_t l[2], i;
	unsigned np, k;

	if (e->c == NULL)
		return;
	np = dssh_tcp_peek(e->c, p, l);
	for (k = 0; k < np; k++) {
		for (i = 0; i < l[k]; i++)
			if (p[k][i] != stream_byte(e->rx_seed, e->rx_done + i))
				e->bad = true;
		e->rx_done += l[k];
		CHECK_EQ_INT(dssh_tcp_consume(e->c, l[k]), 0);
	}
	if (dssh_tcp_eof(e->c))
		e->rx_eof = true;
}

#endif
