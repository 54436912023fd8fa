/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_PIPE_H
#define DSSH_PIPE_H

/*
 * A single-producer single-consumer byte ring for moving a byte stream
 * between two threads (a data core and the control thread) without locks.
 * The producer owns `head`, the consumer owns `tail`; each publishes its
 * index with a release store and reads the other's with an acquire load, so
 * bytes written before a head update are visible to a consumer that sees it.
 *
 * Both sides may work in place: the consumer peeks at up to two contiguous
 * pieces and consumes what it used; the producer reserves up to two pieces
 * of free space and commits what it filled.
 */
#include <stddef.h>
#include <stdint.h>

struct dssh_pipe {
	uint8_t *buf;
	size_t size;                 /* a power of two */
	size_t head;                 /* bytes ever written: producer's (atomic) */
	size_t tail;                 /* bytes ever read: consumer's (atomic) */
};

/* size is rounded up to a power of two; 0 or DSSH_ERR_ALLOC. */
int dssh_pipe_init(struct dssh_pipe *p, size_t size);
void dssh_pipe_fini(struct dssh_pipe *p);       /* wipes and frees the buffer */

size_t dssh_pipe_readable(const struct dssh_pipe *p);   /* either side */
size_t dssh_pipe_writable(const struct dssh_pipe *p);   /* either side */

/* Producer. */
size_t dssh_pipe_write(struct dssh_pipe *p, const void *data, size_t n);
unsigned dssh_pipe_reserve(struct dssh_pipe *p, uint8_t *ptr[2], size_t len[2]);
void dssh_pipe_commit(struct dssh_pipe *p, size_t n);

/* Consumer. */
size_t dssh_pipe_read(struct dssh_pipe *p, void *data, size_t n);
unsigned dssh_pipe_peek(const struct dssh_pipe *p, const uint8_t *ptr[2], size_t len[2]);
void dssh_pipe_consume(struct dssh_pipe *p, size_t n);
/* Consume, zeroing the bytes first (they held secrets). */
void dssh_pipe_consume_wipe(struct dssh_pipe *p, size_t n);
/* Copies n readable bytes from offset off past the read position, without
 * consuming; returns how many there were. */
size_t dssh_pipe_copy_out(const struct dssh_pipe *p, size_t off, void *data, size_t n);

#endif
