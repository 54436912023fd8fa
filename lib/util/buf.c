/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_util.h"

void
dssh_buf_init(struct dssh_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max ? max : DSSH_BUF_MAX_DEFAULT;
}

void
dssh_buf_from(struct dssh_buf *b, const void *data, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->data = (uint8_t *)(uintptr_t)data;
	b->end = len;
	b->max = len;
	b->readonly = true;
}

void
dssh_buf_free(struct dssh_buf *b)
{
	if (b == NULL)
		return;
	if (!b->readonly && b->data != NULL) {
		dssh_wipe(b->data, b->alloc);
		free(b->data);
	}
	size_t max = b->max;
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
dssh_buf_reset(struct dssh_buf *b)
{
	if (b->readonly) {
		b->off = b->end;
		return;
	}
	if (b->data != NULL)
		dssh_wipe(b->data, b->end);
	b->off = b->end = 0;
}

struct dssh_buf *
dssh_buf_new(size_t max)
{
	struct dssh_buf *b = malloc(sizeof(*b));

	if (b != NULL)
		dssh_buf_init(b, max);
	return b;
}

void
dssh_buf_destroy(struct dssh_buf *b)
{
	if (b == NULL)
		return;
	dssh_buf_free(b);
	free(b);
}

void
dssh_buf_compact(struct dssh_buf *b)
{
	if (b->readonly || b->off == 0)
		return;
	size_t n = b->end - b->off;

	size_t from = b->consumed_wiped && b->off > n ? b->off : n;

	memmove(b->data, b->data + b->off, n);
	dssh_wipe(b->data + from, b->end - from);
	b->off = 0;
	b->end = n;
}

size_t
dssh_buf_room(struct dssh_buf *b, uint8_t **p)
{
	if (b->readonly || b->data == NULL)
		return 0;
	if (b->off > 0 && b->off >= b->alloc / 2)
		dssh_buf_compact(b);
	*p = b->data + b->end;
	return DSSH_MIN(b->alloc - b->end, b->max - DSSH_MIN(b->max, dssh_buf_len(b)));
}

int
dssh_buf_reserve(struct dssh_buf *b, size_t n, uint8_t **p)
{
	if (b->readonly)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (n > b->max || b->end - b->off > b->max - n)
		return DSSH_ERR_NO_BUFFER_SPACE;
	if (b->alloc - b->end < n) {
		/* Reclaim consumed space first; grow only when that is not enough. */
		if (b->off > 0 && b->alloc - (b->end - b->off) >= n &&
		    b->off >= b->alloc / 2)
			dssh_buf_compact(b);
	}
	if (b->alloc - b->end < n) {
		size_t need = b->end + n;
		size_t nalloc = b->alloc ? b->alloc : 256;

		while (nalloc < need)
			nalloc = nalloc > SIZE_MAX / 2 ? need : nalloc * 2;
		if (nalloc > b->max + b->off)
			nalloc = need > b->max + b->off ? need : b->max + b->off;
		/* realloc would leave a stale copy of secrets behind: copy and wipe. */
		uint8_t *nd = malloc(nalloc);

		if (nd == NULL)
			return DSSH_ERR_ALLOC;
		if (b->data != NULL) {
			memcpy(nd, b->data, b->end);
			dssh_wipe(b->data, b->alloc);
			free(b->data);
		}
		b->data = nd;
		b->alloc = nalloc;
	}
	if (p != NULL)
		*p = b->data + b->end;
	b->end += n;
	return 0;
}

int
dssh_buf_consume(struct dssh_buf *b, size_t n)
{
	if (n > dssh_buf_len(b))
		return DSSH_ERR_MSG_INCOMPLETE;
	b->off += n;
	if (b->off == b->end && !b->readonly)
		b->off = b->end = 0;
	return 0;
}

int
dssh_buf_consume_end(struct dssh_buf *b, size_t n)
{
	if (n > dssh_buf_len(b))
		return DSSH_ERR_MSG_INCOMPLETE;
	b->end -= n;
	return 0;
}

int
dssh_buf_put(struct dssh_buf *b, const void *v, size_t n)
{
	uint8_t *p;
	int r;

	if (n == 0)
		return b->readonly ? DSSH_ERR_INVALID_ARGUMENT : 0;
	if ((r = dssh_buf_reserve(b, n, &p)) != 0)
		return r;
	memcpy(p, v, n);
	return 0;
}

int
dssh_buf_put_u8(struct dssh_buf *b, uint8_t v)
{
	return dssh_buf_put(b, &v, 1);
}

int
dssh_buf_put_bool(struct dssh_buf *b, bool v)
{
	return dssh_buf_put_u8(b, v ? 1 : 0);
}

int
dssh_buf_put_u32(struct dssh_buf *b, uint32_t v)
{
	uint8_t t[4];

	dssh_put_u32be(t, v);
	return dssh_buf_put(b, t, 4);
}

int
dssh_buf_put_u64(struct dssh_buf *b, uint64_t v)
{
	uint8_t t[8];

	dssh_put_u64be(t, v);
	return dssh_buf_put(b, t, 8);
}

int
dssh_buf_put_string(struct dssh_buf *b, const void *v, size_t n)
{
	uint8_t *p;
	int r;

	if (n > UINT32_MAX - 4)
		return DSSH_ERR_STRING_TOO_LARGE;
	if ((r = dssh_buf_reserve(b, 4 + n, &p)) != 0)
		return r;
	dssh_put_u32be(p, (uint32_t)n);
	if (n > 0)
		memcpy(p + 4, v, n);
	return 0;
}

int
dssh_buf_put_cstring(struct dssh_buf *b, const char *s)
{
	return dssh_buf_put_string(b, s, s == NULL ? 0 : strlen(s));
}

int
dssh_buf_put_stringb(struct dssh_buf *b, const struct dssh_buf *v)
{
	return dssh_buf_put_string(b, dssh_buf_ptr(v), dssh_buf_len(v));
}

int
dssh_buf_put_mpint_bytes(struct dssh_buf *b, const uint8_t *mag, size_t n)
{
	uint8_t *p;
	int r;

	while (n > 0 && mag[0] == 0) {
		mag++;
		n--;
	}
	bool prefix = n > 0 && (mag[0] & 0x80) != 0;
	size_t len = n + (prefix ? 1 : 0);

	if (len > UINT32_MAX - 4)
		return DSSH_ERR_STRING_TOO_LARGE;
	if ((r = dssh_buf_reserve(b, 4 + len, &p)) != 0)
		return r;
	dssh_put_u32be(p, (uint32_t)len);
	if (prefix)
		p[4] = 0;
	if (n > 0)
		memcpy(p + 4 + (prefix ? 1 : 0), mag, n);
	return 0;
}

int
dssh_buf_putf(struct dssh_buf *b, const char *fmt, ...)
{
	va_list ap;
	uint8_t *p;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return DSSH_ERR_INVALID_FORMAT;
	if ((r = dssh_buf_reserve(b, (size_t)n + 1, &p)) != 0)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->end--;  /* the NUL is not part of the data */
	return 0;
}

int
dssh_buf_get(struct dssh_buf *b, void *v, size_t n)
{
	if (n > dssh_buf_len(b))
		return DSSH_ERR_MSG_INCOMPLETE;
	if (v != NULL && n > 0)
		memcpy(v, dssh_buf_ptr(b), n);
	b->off += n;
	return 0;
}

int
dssh_buf_get_u8(struct dssh_buf *b, uint8_t *v)
{
	return dssh_buf_get(b, v, 1);
}

int
dssh_buf_get_bool(struct dssh_buf *b, bool *v)
{
	uint8_t t;
	int r;

	if ((r = dssh_buf_get_u8(b, &t)) != 0)
		return r;
	if (v != NULL)
		*v = t != 0;
	return 0;
}

int
dssh_buf_get_bool_strict(struct dssh_buf *b, bool *v)
{
	uint8_t t;
	int r;

	if ((r = dssh_buf_get_u8(b, &t)) != 0)
		return r;
	if (t > 1)
		return DSSH_ERR_INVALID_FORMAT;
	if (v != NULL)
		*v = t == 1;
	return 0;
}

int
dssh_buf_get_u8_expect(struct dssh_buf *b, uint8_t want)
{
	uint8_t t;
	int r;

	if ((r = dssh_buf_get_u8(b, &t)) != 0)
		return r;
	return t == want ? 0 : DSSH_ERR_INVALID_FORMAT;
}

int
dssh_buf_expect_end(const struct dssh_buf *b)
{
	return dssh_buf_len(b) == 0 ? 0 : DSSH_ERR_INVALID_FORMAT;
}

int
dssh_buf_peek_u32(const struct dssh_buf *b, size_t offset, uint32_t *v)
{
	if (offset > dssh_buf_len(b) || dssh_buf_len(b) - offset < 4)
		return DSSH_ERR_MSG_INCOMPLETE;
	*v = dssh_get_u32be(dssh_buf_ptr(b) + offset);
	return 0;
}

int
dssh_buf_get_u32(struct dssh_buf *b, uint32_t *v)
{
	uint8_t t[4];
	int r;

	if ((r = dssh_buf_get(b, t, 4)) != 0)
		return r;
	if (v != NULL)
		*v = dssh_get_u32be(t);
	return 0;
}

int
dssh_buf_get_u64(struct dssh_buf *b, uint64_t *v)
{
	uint8_t t[8];
	int r;

	if ((r = dssh_buf_get(b, t, 8)) != 0)
		return r;
	if (v != NULL)
		*v = dssh_get_u64be(t);
	return 0;
}

int
dssh_buf_get_string_direct(struct dssh_buf *b, const uint8_t **vp, size_t *lenp)
{
	uint32_t n;
	int r;

	if (vp != NULL)
		*vp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if ((r = dssh_buf_peek_u32(b, 0, &n)) != 0)
		return r;
	if (n > DSSH_BUF_MAX_STRING)
		return DSSH_ERR_STRING_TOO_LARGE;
	if (dssh_buf_len(b) - 4 < n)
		return DSSH_ERR_MSG_INCOMPLETE;
	if (vp != NULL)
		*vp = dssh_buf_ptr(b) + 4;
	if (lenp != NULL)
		*lenp = n;
	b->off += 4 + (size_t)n;
	return 0;
}

int
dssh_buf_get_stringb(struct dssh_buf *b, struct dssh_buf *view)
{
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = dssh_buf_get_string_direct(b, &p, &n)) != 0)
		return r;
	dssh_buf_from(view, p, n);
	return 0;
}

int
dssh_buf_skip_string(struct dssh_buf *b)
{
	return dssh_buf_get_string_direct(b, NULL, NULL);
}

int
dssh_buf_get_string(struct dssh_buf *b, uint8_t **vp, size_t *lenp)
{
	const uint8_t *p;
	size_t n;
	int r;

	*vp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if ((r = dssh_buf_get_string_direct(b, &p, &n)) != 0)
		return r;
	uint8_t *s = malloc(n + 1);

	if (s == NULL)
		return DSSH_ERR_ALLOC;
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	*vp = s;
	if (lenp != NULL)
		*lenp = n;
	return 0;
}

int
dssh_buf_get_cstring(struct dssh_buf *b, char **vp, size_t *lenp)
{
	const uint8_t *p;
	size_t n;
	struct dssh_buf save = *b;
	int r;

	*vp = NULL;
	if ((r = dssh_buf_get_string_direct(b, &p, &n)) != 0)
		return r;
	if (n > 0 && memchr(p, '\0', n) != NULL) {
		*b = save;
		return DSSH_ERR_INVALID_FORMAT;
	}
	*b = save;
	return dssh_buf_get_string(b, (uint8_t **)vp, lenp);
}

int
dssh_buf_get_mpint_direct(struct dssh_buf *b, const uint8_t **vp, size_t *lenp)
{
	struct dssh_buf save = *b;
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = dssh_buf_get_string_direct(b, &p, &n)) != 0)
		return r;
	if ((n > 0 && (p[0] & 0x80) != 0) ||               /* negative */
	    (n > 1 && p[0] == 0 && (p[1] & 0x80) == 0)) {  /* non-minimal */
		*b = save;
		return DSSH_ERR_INVALID_FORMAT;
	}
	if (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	*vp = p;
	*lenp = n;
	return 0;
}
