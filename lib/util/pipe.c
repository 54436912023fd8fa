/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_pipe.h"
#include "dssh_util.h"

int
dssh_pipe_init(struct dssh_pipe *p, size_t size)
{
	size_t s = 4096;

	memset(p, 0, sizeof(*p));
	while (s < size && s < ((size_t)1 << 30))
		s <<= 1;
	if ((p->buf = malloc(s)) == NULL)
		return DSSH_ERR_ALLOC;
	p->size = s;
	return 0;
}

void
dssh_pipe_fini(struct dssh_pipe *p)
{
	if (p->buf != NULL) {
		dssh_wipe(p->buf, p->size);
		free(p->buf);
	}
	memset(p, 0, sizeof(*p));
}

size_t
dssh_pipe_readable(const struct dssh_pipe *p)
{
	size_t tail = __atomic_load_n(&p->tail, __ATOMIC_ACQUIRE);

	return __atomic_load_n(&p->head, __ATOMIC_ACQUIRE) - tail;
}

size_t
dssh_pipe_writable(const struct dssh_pipe *p)
{
	return p->size - dssh_pipe_readable(p);
}

/* Up to two pieces of [from, from + n) in ring positions. */
static unsigned
pipe_pieces(const struct dssh_pipe *p, size_t from, size_t n, size_t off[2], size_t len[2])
{
	size_t pos = from & (p->size - 1), first = DSSH_MIN(n, p->size - pos);

	if (n == 0)
		return 0;
	off[0] = pos;
	len[0] = first;
	if (first == n)
		return 1;
	off[1] = 0;
	len[1] = n - first;
	return 2;
}

unsigned
dssh_pipe_reserve(struct dssh_pipe *p, uint8_t *ptr[2], size_t len[2])
{
	/* The consumer's tail is read with acquire: it has finished reading
	 * the bytes it released before we overwrite them. */
	size_t tail = __atomic_load_n(&p->tail, __ATOMIC_ACQUIRE);
	size_t head = p->head, off[2];
	unsigned np = pipe_pieces(p, head, p->size - (head - tail), off, len);

	for (unsigned i = 0; i < np; i++)
		ptr[i] = p->buf + off[i];
	return np;
}

void
dssh_pipe_commit(struct dssh_pipe *p, size_t n)
{
	/* Release: the bytes written land before the consumer sees the head. */
	__atomic_store_n(&p->head, p->head + n, __ATOMIC_RELEASE);
}

size_t
dssh_pipe_write(struct dssh_pipe *p, const void *data, size_t n)
{
	uint8_t *ptr[2];
	size_t len[2], done = 0;
	unsigned np = dssh_pipe_reserve(p, ptr, len);

	for (unsigned i = 0; i < np && done < n; i++) {
		size_t k = DSSH_MIN(len[i], n - done);

		memcpy(ptr[i], (const uint8_t *)data + done, k);
		done += k;
	}
	dssh_pipe_commit(p, done);
	return done;
}

unsigned
dssh_pipe_peek(const struct dssh_pipe *p, const uint8_t *ptr[2], size_t len[2])
{
	size_t head = __atomic_load_n(&p->head, __ATOMIC_ACQUIRE);
	size_t tail = p->tail, off[2];
	unsigned np = pipe_pieces(p, tail, head - tail, off, len);

	for (unsigned i = 0; i < np; i++)
		ptr[i] = p->buf + off[i];
	return np;
}

void
dssh_pipe_consume(struct dssh_pipe *p, size_t n)
{
	/* Release: our reads of the bytes finish before the producer reuses them. */
	__atomic_store_n(&p->tail, p->tail + n, __ATOMIC_RELEASE);
}

void
dssh_pipe_consume_wipe(struct dssh_pipe *p, size_t n)
{
	const uint8_t *ptr[2];
	size_t len[2], done = 0;
	unsigned np = dssh_pipe_peek(p, ptr, len);

	/* The bytes are ours until the tail moves: safe to write. */
	for (unsigned i = 0; i < np && done < n; i++) {
		size_t k = DSSH_MIN(len[i], n - done);

		dssh_wipe((uint8_t *)(uintptr_t)ptr[i], k);
		done += k;
	}
	dssh_pipe_consume(p, n);
}

size_t
dssh_pipe_copy_out(const struct dssh_pipe *p, size_t off, void *data, size_t n)
{
	const uint8_t *ptr[2];
	size_t len[2], done = 0;
	unsigned np = dssh_pipe_peek(p, ptr, len);

	for (unsigned i = 0; i < np && done < n; i++) {
		if (off >= len[i]) {
			off -= len[i];
			continue;
		}
		size_t k = DSSH_MIN(len[i] - off, n - done);

		memcpy((uint8_t *)data + done, ptr[i] + off, k);
		done += k;
		off = 0;
	}
	return done;
}

size_t
dssh_pipe_read(struct dssh_pipe *p, void *data, size_t n)
{
	const uint8_t *ptr[2];
	size_t len[2], done = 0;
	unsigned np = dssh_pipe_peek(p, ptr, len);

	for (unsigned i = 0; i < np && done < n; i++) {
		size_t k = DSSH_MIN(len[i], n - done);

		memcpy((uint8_t *)data + done, ptr[i], k);
		done += k;
	}
	dssh_pipe_consume(p, done);
	return done;
}
