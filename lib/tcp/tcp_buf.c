/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Payload storage for a connection: a fixed-size byte ring. This file is
 * the seam where an mbuf-chain queue replaces copying (see tcp_priv.h).
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "tcp_priv.h"

int tcp_ring_init(struct tcp_ring *r, uint32_t size)
{
	memset(r, 0, sizeof(*r));
	if (size == 0)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((r->data = malloc(size)) == NULL)
		return DSSH_ERR_ALLOC;
	r->size = size;
	return 0;
}

void tcp_ring_free(struct tcp_ring *r)
{
	free(r->data);
	memset(r, 0, sizeof(*r));
}

void tcp_ring_write_at(struct tcp_ring *r, uint32_t off, const uint8_t *p, uint32_t n)
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

uint32_t tcp_ring_append(struct tcp_ring *r, const void *p, uint32_t n)
{
	if (n > tcp_ring_room(r))
		n = tcp_ring_room(r);
	tcp_ring_write_at(r, r->len, p, n);
	r->len += n;
	return n;
}

void tcp_ring_commit(struct tcp_ring *r, uint32_t n)
{
	r->len = n > tcp_ring_room(r) ? r->size : r->len + n;
}

void tcp_ring_consume(struct tcp_ring *r, uint32_t n)
{
	if (n > r->len)
		n = r->len;
	r->head = (uint32_t)(((uint64_t)r->head + n) % r->size);
	r->len -= n;
}

unsigned tcp_ring_ref(const struct tcp_ring *r, uint32_t off, uint32_t n,
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
