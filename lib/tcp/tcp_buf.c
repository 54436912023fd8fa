/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Payload storage for a connection: the send queue of pieces that reference
 * driver buffers or the stack's fixed-size byte ring, and the receive queue
 * of pieces that reference segment buffers (mbufs on a data core) or the
 * stack's own chunks (see tcp_priv.h).
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_util.h"
#include "tcp_priv.h"

int
tcp_ring_init(struct tcp_ring *r, uint32_t size)
{
	memset(r, 0, sizeof(*r));
	if (size == 0)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((r->data = malloc(size)) == NULL)
		return DSSH_ERR_ALLOC;
	r->size = size;
	return 0;
}

void
tcp_ring_free(struct tcp_ring *r)
{
	free(r->data);
	memset(r, 0, sizeof(*r));
}

void
tcp_ring_write_at(struct tcp_ring *r, uint32_t off, const uint8_t *p, uint32_t n)
{
	uint32_t pos, first;

	if (n == 0 || off >= r->size || n > r->size - off)
		return;     /* callers trim to the ring; never write outside it */
	pos = (uint32_t)(((uint64_t)r->head + off) % r->size);
	first = r->size - pos;
	if (first >= n) {
		memcpy(r->data + pos, p, n);
	} else {
		memcpy(r->data + pos, p, first);
		memcpy(r->data, p + first, n - first);
	}
}

uint32_t
tcp_ring_append(struct tcp_ring *r, const void *p, uint32_t n)
{
	if (n > tcp_ring_room(r))
		n = tcp_ring_room(r);
	tcp_ring_write_at(r, r->len, p, n);
	r->len += n;
	return n;
}

uint8_t *
tcp_ring_tail(struct tcp_ring *r, uint32_t off, uint32_t n)
{
	uint32_t pos;

	if (n == 0 || off > tcp_ring_room(r) || n > tcp_ring_room(r) - off)
		return NULL;
	pos = (uint32_t)(((uint64_t)r->head + r->len + off) % r->size);
	return n <= r->size - pos ? r->data + pos : NULL;
}

void
tcp_ring_commit(struct tcp_ring *r, uint32_t n)
{
	r->len = n > tcp_ring_room(r) ? r->size : r->len + n;
}

void
tcp_ring_consume(struct tcp_ring *r, uint32_t n)
{
	if (n > r->len)
		n = r->len;
	r->head = (uint32_t)(((uint64_t)r->head + n) % r->size);
	r->len -= n;
}

unsigned
tcp_ring_ref(const struct tcp_ring *r, uint32_t off, uint32_t n,
    const uint8_t *ptr[2], uint32_t len[2])
{
	uint32_t pos, first;

	if (n == 0 || off >= r->len || n > r->len - off)
		return 0;
	pos = (uint32_t)(((uint64_t)r->head + off) % r->size);
	first = r->size - pos;
	ptr[0] = r->data + pos;
	if (first >= n) {
		len[0] = n;
		return 1;
	}
	len[0] = first;
	ptr[1] = r->data;
	len[1] = n - first;
	return 2;
}

/* ---- send queue: pieces of held buffers and ring bytes ---- */

#define TXP(q, i) (&(q)->p[(q)->head + (i)])

int
tcp_txq_init(struct tcp_txq *q, uint32_t size, const struct dssh_tcp_buf_ops *ops,
    void *ops_arg)
{
	int r;

	memset(q, 0, sizeof(*q));
	if ((r = tcp_ring_init(&q->ring, size)) != 0)
		return r;
	q->size = size;
	q->ops = ops;
	q->ops_arg = ops_arg;
	return 0;
}

void
tcp_txq_free(struct tcp_txq *q)
{
	for (uint32_t i = 0; i < q->n; i++)
		if (TXP(q, i)->buf != NULL)
			q->ops->release(q->ops_arg, TXP(q, i)->buf);
	free(q->p);
	tcp_ring_free(&q->ring);
	memset(q, 0, sizeof(*q));
}

/*
 * A piece array p[head .. head + n) of cap elements of elem bytes (both
 * queues): room for one more at the end, by sliding the pieces down to the
 * start or else doubling the array. False when out of memory.
 */
static bool
pieces_room(void **p, size_t elem, uint32_t *head, uint32_t n, uint32_t *cap)
{
	if (*head + n < *cap)
		return true;
	if (*head > 0) {
		memmove(*p, (uint8_t *)*p + (size_t)*head * elem, (size_t)n * elem);
		*head = 0;
		return true;
	}
	uint32_t ncap = *cap ? *cap * 2 : 16;
	void *np = realloc(*p, (size_t)ncap * elem);

	if (np == NULL)
		return false;
	*p = np;
	*cap = ncap;
	return true;
}

/* A new last piece; NULL when out of memory. */
static struct tcp_tx_piece *
txp_push(struct tcp_txq *q)
{
	void *p = q->p;
	bool ok = pieces_room(&p, sizeof(*q->p), &q->head, q->n, &q->cap);

	q->p = p;
	if (!ok)
		return NULL;
	q->n++;
	return TXP(q, q->n - 1);
}

/* n more ring bytes at the tail: the last piece grows or a new one follows. */
static bool
txp_ring_bytes(struct tcp_txq *q, uint32_t n)
{
	struct tcp_tx_piece *pc = q->n > 0 ? TXP(q, q->n - 1) : NULL;

	if (pc == NULL || pc->buf != NULL) {
		if ((pc = txp_push(q)) == NULL)
			return false;
		*pc = (struct tcp_tx_piece){ .ptr = NULL, .buf = NULL, .len = 0 };
	}
	pc->len += n;
	q->len += n;
	return true;
}

uint32_t
tcp_txq_append(struct tcp_txq *q, const void *p, uint32_t n)
{
	n = DSSH_MIN(n, tcp_txq_room(q));
	if (n == 0 || !txp_ring_bytes(q, 0))
		return 0;
	/* the ring holds at most size - (bytes held by reference) */
	(void)tcp_ring_append(&q->ring, p, n);
	TXP(q, q->n - 1)->len += n;
	q->len += n;
	return n;
}

bool
tcp_txq_append_ref(struct tcp_txq *q, void *buf, const uint8_t *p, uint32_t n)
{
	struct tcp_tx_piece *pc;

	if (q->ops == NULL || buf == NULL || n < TCP_TX_REF_MIN || n > tcp_txq_room(q) ||
	    (pc = txp_push(q)) == NULL)
		return false;
	if (!q->ops->hold(q->ops_arg, buf)) {
		q->n--;
		return false;
	}
	*pc = (struct tcp_tx_piece){ .ptr = p, .buf = buf, .len = n };
	q->len += n;
	q->nref++;
	return true;
}

uint8_t *
tcp_txq_tail(struct tcp_txq *q, uint32_t off, uint32_t n)
{
	if (n == 0 || off > tcp_txq_room(q) || n > tcp_txq_room(q) - off)
		return NULL;
	return tcp_ring_tail(&q->ring, off, n);
}

bool
tcp_txq_commit(struct tcp_txq *q, uint32_t n)
{
	n = DSSH_MIN(n, tcp_txq_room(q));
	if (n == 0)
		return true;
	if (!txp_ring_bytes(q, n))
		return false;
	tcp_ring_commit(&q->ring, n);
	return true;
}

unsigned
tcp_txq_ref(const struct tcp_txq *q, uint32_t off, uint32_t n, const uint8_t **ptr,
    uint32_t *len, void **bufs, unsigned max, uint32_t *got)
{
	uint32_t roff = 0, done = 0;
	unsigned k = 0;

	*got = 0;
	if (n == 0 || off >= q->len || n > q->len - off)
		return 0;
	for (uint32_t i = 0; i < q->n && done < n && k < max; i++) {
		const struct tcp_tx_piece *pc = TXP(q, i);
		uint32_t take;

		if (off >= pc->len) {
			off -= pc->len;
			if (pc->buf == NULL)
				roff += pc->len;
			continue;
		}
		take = DSSH_MIN(pc->len - off, n - done);
		if (pc->buf != NULL) {
			ptr[k] = pc->ptr + off;
			len[k] = take;
			bufs[k] = pc->buf;
			k++;
		} else {
			const uint8_t *rp[2];
			uint32_t rl[2];
			unsigned m = tcp_ring_ref(&q->ring, roff + off, take, rp, rl);

			if (m > max - k) {        /* wraps, one slot left: its first part */
				m = max - k;
				take = rl[0];
			}
			for (unsigned j = 0; j < m; j++) {
				ptr[k] = rp[j];
				len[k] = rl[j];
				bufs[k] = NULL;
				k++;
			}
			roff += pc->len;
		}
		done += take;
		off = 0;
	}
	*got = done;
	return k;
}

void
tcp_txq_consume(struct tcp_txq *q, uint32_t n)
{
	n = DSSH_MIN(n, q->len);
	q->len -= n;
	while (n > 0 && q->n > 0) {
		struct tcp_tx_piece *pc = TXP(q, 0);
		uint32_t k = DSSH_MIN(n, pc->len);

		n -= k;
		if (pc->buf == NULL)
			tcp_ring_consume(&q->ring, k);
		if (k < pc->len) {
			if (pc->buf != NULL)
				pc->ptr += k;
			pc->len -= k;
			return;
		}
		if (pc->buf != NULL) {
			q->ops->release(q->ops_arg, pc->buf);
			q->nref--;
		}
		q->head++;
		q->n--;
	}
	if (q->n == 0)
		q->head = 0;
}

/* ---- receive queue: pieces of held buffers and copied chunks ---- */

#define RXP(q, i) (&(q)->p[(q)->head + (i)])

int
tcp_rxq_init(struct tcp_rxq *q, uint32_t size, uint32_t cost_max,
    const struct dssh_tcp_buf_ops *ops, void *ops_arg)
{
	memset(q, 0, sizeof(*q));
	if (size == 0)
		return DSSH_ERR_INVALID_ARGUMENT;
	q->size = size;
	q->cost_max = cost_max;
	q->ops = ops;
	q->ops_arg = ops_arg;
	return 0;
}

static void
piece_release(struct tcp_rxq *q, struct tcp_rx_piece *pc)
{
	if (pc->drv)
		q->ops->release(q->ops_arg, pc->buf);
	else
		free(pc->buf);
	q->cost -= pc->cost;
}

void
tcp_rxq_free(struct tcp_rxq *q)
{
	for (uint32_t i = 0; i < q->n; i++)
		piece_release(q, RXP(q, i));
	free(q->p);
	memset(q, 0, sizeof(*q));
}

/* Room for one more piece at index i (0..n), the others moved up. */
static bool
piece_open(struct tcp_rxq *q, uint32_t i)
{
	void *p = q->p;
	bool ok;

	if (q->n >= TCP_RXQ_PIECES_MAX)
		return false;
	ok = pieces_room(&p, sizeof(*q->p), &q->head, q->n, &q->cap);
	q->p = p;
	if (!ok)
		return false;
	memmove(RXP(q, i + 1), RXP(q, i), (q->n - i) * sizeof(*q->p));
	q->n++;
	return true;
}

/* Copies into the chunk of the piece before i when it ends at seq. */
static uint32_t
chunk_append(struct tcp_rxq *q, uint32_t i, uint32_t seq, const uint8_t *p,
    uint32_t n)
{
	struct tcp_rx_piece *pc;
	struct tcp_chunk *ch;
	uint32_t k;

	if (i == 0)
		return 0;
	pc = RXP(q, i - 1);
	if (pc->drv || pc->seq + pc->len != seq)
		return 0;
	ch = pc->buf;
	k = DSSH_MIN(n, ch->size - ch->used);
	memcpy(ch->data + ch->used, p, k);
	ch->used += k;
	pc->len += k;
	return k;
}

/* Stores the gap [seq, seq + n) as piece(s) at *i. */
static bool
gap_store(struct tcp_rxq *q, uint32_t *i, uint32_t seq, const uint8_t *p,
    uint32_t n, void *buf, uint32_t cost, bool in_order)
{
	struct tcp_rx_piece *pc;
	struct tcp_chunk *ch;
	uint32_t k, csize;

	if (buf != NULL && q->ops != NULL && n >= TCP_RX_HOLD_MIN &&
	    cost <= q->cost_max - DSSH_MIN(q->cost, q->cost_max) && piece_open(q, *i)) {
		if (q->ops->hold(q->ops_arg, buf)) {
			pc = RXP(q, *i);
			*pc = (struct tcp_rx_piece){ .ptr = p, .buf = buf, .seq = seq, .len = n,
			    .cost = cost, .drv = true };
			q->cost += cost;
			(*i)++;
			return true;
		}
		/* refused: close the slot again, copy instead */
		memmove(RXP(q, *i), RXP(q, *i + 1), (q->n - *i - 1) * sizeof(*q->p));
		q->n--;
	}
	k = chunk_append(q, *i, seq, p, n);
	seq += k; p += k; n -= k;
	if (n == 0)
		return true;
	csize = DSSH_MAX(n, in_order ? TCP_RX_CHUNK : TCP_RX_CHUNK_OOO);
	if (!in_order && (uint64_t)q->cost + csize + sizeof(*ch) > q->cost_max)
		return false;
	if (!piece_open(q, *i))
		return false;
	if ((ch = malloc(sizeof(*ch) + csize)) == NULL) {
		memmove(RXP(q, *i), RXP(q, *i + 1), (q->n - *i - 1) * sizeof(*q->p));
		q->n--;
		return false;
	}
	ch->size = csize;
	ch->used = n;
	memcpy(ch->data, p, n);
	pc = RXP(q, *i);
	*pc = (struct tcp_rx_piece){ .ptr = ch->data, .buf = ch, .seq = seq, .len = n,
	    .cost = (uint32_t)(sizeof(*ch) + csize), .drv = false };
	q->cost += pc->cost;
	(*i)++;
	return true;
}

bool
tcp_rxq_insert(struct tcp_rxq *q, uint32_t seq, const uint8_t *p, uint32_t n, void *buf,
    uint32_t cost, bool in_order)
{
	uint32_t i = q->n, pos = seq, end = seq + n;

	/* the first piece that ends after seq (inserts are mostly at the end) */
	while (i > q->nin && SEQ_GT(RXP(q, i - 1)->seq + RXP(q, i - 1)->len, seq))
		i--;
	while (SEQ_LT(pos, end)) {
		struct tcp_rx_piece *pc = i < q->n ? RXP(q, i) : NULL;
		uint32_t gap_end;

		if (pc != NULL && SEQ_LEQ(pc->seq, pos)) {
			pos = SEQ_MAX(pos, pc->seq + pc->len);     /* already held */
			i++;
			continue;
		}
		gap_end = pc != NULL && SEQ_LT(pc->seq, end) ? pc->seq : end;
		if (!gap_store(q, &i, pos, p + (pos - seq), gap_end - pos, buf, cost, in_order))
			return false;
		pos = gap_end;
	}
	return true;
}

void
tcp_rxq_pull(struct tcp_rxq *q, uint32_t *rcv_nxt)
{
	/* bytes appended to the last in-order piece's chunk */
	if (q->nin > 0) {
		const struct tcp_rx_piece *pc = RXP(q, q->nin - 1);

		if (SEQ_GT(pc->seq + pc->len, *rcv_nxt)) {
			q->len += pc->seq + pc->len - *rcv_nxt;
			*rcv_nxt = pc->seq + pc->len;
		}
	}
	while (q->nin < q->n && RXP(q, q->nin)->seq == *rcv_nxt) {
		*rcv_nxt += RXP(q, q->nin)->len;
		q->len += RXP(q, q->nin)->len;
		q->nin++;
	}
}

unsigned
tcp_rxq_ref(const struct tcp_rxq *q, size_t off, struct dssh_tcp_iov *iov, unsigned n)
{
	unsigned k = 0;

	for (uint32_t i = 0; i < q->nin && k < n; i++) {
		const struct tcp_rx_piece *pc = RXP(q, i);

		if (off >= pc->len) {
			off -= pc->len;
			continue;
		}
		iov[k].ptr = pc->ptr + off;
		iov[k].len = pc->len - off;
		off = 0;
		k++;
	}
	return k;
}

size_t
tcp_rxq_copy(const struct tcp_rxq *q, size_t off, uint8_t *dst, size_t n)
{
	size_t done = 0;

	for (uint32_t i = 0; i < q->nin && done < n; i++) {
		const struct tcp_rx_piece *pc = RXP(q, i);
		size_t k;

		if (off >= pc->len) {
			off -= pc->len;
			continue;
		}
		k = DSSH_MIN(pc->len - off, n - done);
		memcpy(dst + done, pc->ptr + off, k);
		done += k;
		off = 0;
	}
	return done;
}

void
tcp_rxq_consume(struct tcp_rxq *q, uint32_t n)
{
	if (n > q->len)
		n = q->len;
	q->len -= n;
	while (n > 0 && q->nin > 0) {
		struct tcp_rx_piece *pc = RXP(q, 0);

		if (n < pc->len) {
			pc->ptr += n;
			pc->seq += n;
			pc->len -= n;
			return;
		}
		n -= pc->len;
		piece_release(q, pc);
		q->head++;
		q->n--;
		q->nin--;
	}
	if (q->n == 0)
		q->head = 0;
}

void
tcp_rxq_prune(struct tcp_rxq *q)
{
	while (q->n > q->nin) {
		piece_release(q, RXP(q, q->n - 1));
		q->n--;
	}
}
