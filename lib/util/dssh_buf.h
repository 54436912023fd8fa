/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_BUF_H
#define DSSH_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A growable byte buffer with a read cursor. Peer bytes are only ever read
 * through the dssh_buf_get_* calls, which check every length against what is
 * present before touching memory. Bytes live in data[off .. end).
 *
 * A buffer made with dssh_buf_from() wraps caller memory read-only: the get
 * calls work, any put fails with DSSH_ERR_INVALID_ARGUMENT.
 */
struct dssh_buf {
	uint8_t *data;
	size_t off;        /* read cursor */
	size_t end;        /* end of valid bytes */
	size_t alloc;      /* allocated size (0 for a read-only view) */
	size_t max;        /* the buffer never grows past this */
	bool readonly;
	/* The owner wipes every byte it consumes (the packet layer's input):
	 * compacting then wipes only the moved bytes' old place, not again
	 * the consumed ones (a second pass over every byte received). */
	bool consumed_wiped;
};

#define DSSH_BUF_MAX_DEFAULT (64u * 1024 * 1024)
/* Longest string a peer may make us allocate in one get_string call. */
#define DSSH_BUF_MAX_STRING (256u * 1024)

void dssh_buf_init(struct dssh_buf *b, size_t max);
void dssh_buf_from(struct dssh_buf *b, const void *data, size_t len);
void dssh_buf_free(struct dssh_buf *b);     /* wipes, frees; safe on zeroed */
void dssh_buf_reset(struct dssh_buf *b);    /* wipes contents, keeps memory */
struct dssh_buf *dssh_buf_new(size_t max);
void dssh_buf_destroy(struct dssh_buf *b);  /* dssh_buf_free + free(b) */

static inline size_t dssh_buf_len(const struct dssh_buf *b) { return b->end - b->off; }
/* Never NULL + 0 (undefined behaviour) for a buffer that was never written. */
static inline const uint8_t *dssh_buf_ptr(const struct dssh_buf *b)
{
	return b->data != NULL ? b->data + b->off : (const uint8_t *)"";
}
static inline uint8_t *dssh_buf_mutable_ptr(struct dssh_buf *b) { return b->data + b->off; }

/* Room for n more bytes at the end; *p points at it; the bytes count as data. */
int dssh_buf_reserve(struct dssh_buf *b, size_t n, uint8_t **p);
/* Drop n bytes from the front (read cursor) / back. */
int dssh_buf_consume(struct dssh_buf *b, size_t n);
int dssh_buf_consume_end(struct dssh_buf *b, size_t n);
/* Move the unread bytes to the start of the allocation. */
void dssh_buf_compact(struct dssh_buf *b);
/* Free bytes after the data that the allocation already has (within max),
 * compacting first when half of it is consumed; never grows. *p points at
 * them; dssh_buf_reserve of up to that many then makes them data. */
size_t dssh_buf_room(struct dssh_buf *b, uint8_t **p);

int dssh_buf_put(struct dssh_buf *b, const void *v, size_t n);
int dssh_buf_put_u8(struct dssh_buf *b, uint8_t v);
int dssh_buf_put_u32(struct dssh_buf *b, uint32_t v);
int dssh_buf_put_u64(struct dssh_buf *b, uint64_t v);
int dssh_buf_put_bool(struct dssh_buf *b, bool v);
int dssh_buf_put_string(struct dssh_buf *b, const void *v, size_t n);
int dssh_buf_put_cstring(struct dssh_buf *b, const char *s);
int dssh_buf_put_stringb(struct dssh_buf *b, const struct dssh_buf *v);
/* mpint from an unsigned big-endian magnitude (leading zeros stripped, 0x00 prefix if top bit set) */
int dssh_buf_put_mpint_bytes(struct dssh_buf *b, const uint8_t *mag, size_t n);
int dssh_buf_putf(struct dssh_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

int dssh_buf_get(struct dssh_buf *b, void *v, size_t n);
int dssh_buf_get_u8(struct dssh_buf *b, uint8_t *v);
int dssh_buf_get_u32(struct dssh_buf *b, uint32_t *v);
int dssh_buf_get_u64(struct dssh_buf *b, uint64_t *v);
int dssh_buf_get_bool(struct dssh_buf *b, bool *v);
/* Our own messages (spawner, monitor, PAM child): a byte 0 or 1, anything
 * else DSSH_ERR_INVALID_FORMAT, so that a re-encoding gives the same bytes. */
int dssh_buf_get_bool_strict(struct dssh_buf *b, bool *v);
/* A message's type byte: 0 when it is want, else DSSH_ERR_INVALID_FORMAT. */
int dssh_buf_get_u8_expect(struct dssh_buf *b, uint8_t want);
/* 0 when nothing is left to read, else DSSH_ERR_INVALID_FORMAT. */
int dssh_buf_expect_end(const struct dssh_buf *b);
/* Points into the buffer; valid until the buffer changes. NULL/lenp may be NULL. */
int dssh_buf_get_string_direct(struct dssh_buf *b, const uint8_t **vp, size_t *lenp);
/* A read-only view of the next string, consumed from b. */
int dssh_buf_get_stringb(struct dssh_buf *b, struct dssh_buf *view);
/* Allocated copy, NUL-terminated (not counted in *lenp). */
int dssh_buf_get_string(struct dssh_buf *b, uint8_t **vp, size_t *lenp);
/* Like get_string, but rejects embedded NULs. */
int dssh_buf_get_cstring(struct dssh_buf *b, char **vp, size_t *lenp);
int dssh_buf_skip_string(struct dssh_buf *b);
/* mpint magnitude (no sign: negative values are rejected), points into b. */
int dssh_buf_get_mpint_direct(struct dssh_buf *b, const uint8_t **vp, size_t *lenp);

/* Peek a big-endian u32 at offset without consuming. */
int dssh_buf_peek_u32(const struct dssh_buf *b, size_t offset, uint32_t *v);

static inline uint32_t dssh_get_u32be(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void dssh_put_u32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline uint64_t dssh_get_u64be(const uint8_t *p)
{
	return ((uint64_t)dssh_get_u32be(p) << 32) | dssh_get_u32be(p + 4);
}
static inline void dssh_put_u64be(uint8_t *p, uint64_t v)
{
	dssh_put_u32be(p, (uint32_t)(v >> 32)); dssh_put_u32be(p + 4, (uint32_t)v);
}

#endif
