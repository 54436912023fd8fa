/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Compression (RFC 4253 6.2, "zlib"; OpenSSH's "zlib@openssh.com", the same
 * stream started only after USERAUTH_SUCCESS). One zlib stream per
 * direction, a partial flush at the end of every packet, a fresh one after
 * each key exchange (the RFC's rule, which OpenSSH follows).
 *
 * Decompressed payloads are bounded by DSSH_PACKET_MAX: a packet that
 * would inflate past it (a zip bomb) ends the connection.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "ssh_internal.h"

#define COMP_OUT_MAX DSSH_PACKET_MAX      /* a compressed payload, as the packet's */

struct dssh_comp {
	z_stream z;
	bool inflate;
	uint8_t *buf;        /* the last packet's result */
	size_t cap;
	size_t used;         /* the most of buf any call wrote: what free wipes */
};

/* Free wipes only what was written: the 256 KiB buffer is mostly never
 * touched, and wiping all of it faulted in and zeroed 64 fresh pages per
 * stream (each direction, each key exchange). */
static void
note_used(struct dssh_comp *k)
{
	k->used = DSSH_MAX(k->used, k->cap - k->z.avail_out);
}

size_t
dssh_comp_used(const struct dssh_comp *k)
{
	return k->used;
}

int
dssh_comp_alg_by_name(const char *name)
{
	if (strcmp(name, "zlib@openssh.com") == 0)
		return DSSH_COMP_DELAYED;
	if (strcmp(name, "zlib") == 0)
		return DSSH_COMP_ZLIB;
	return DSSH_COMP_NONE;
}

int
dssh_comp_new(bool inflate, struct dssh_comp **out)
{
	struct dssh_comp *k = calloc(1, sizeof(*k));
	int zr;

	*out = NULL;
	if (k == NULL)
		return DSSH_ERR_ALLOC;
	k->inflate = inflate;
	k->cap = inflate ? DSSH_COMP_INFLATE_MAX + 1 : COMP_OUT_MAX;
	if ((k->buf = malloc(k->cap)) == NULL) {
		free(k);
		return DSSH_ERR_ALLOC;
	}
	zr = inflate ? inflateInit(&k->z) : deflateInit(&k->z, Z_DEFAULT_COMPRESSION);
	if (zr != Z_OK) {
		free(k->buf);
		free(k);
		return DSSH_ERR_ALLOC;
	}
	*out = k;
	return 0;
}

void
dssh_comp_free(struct dssh_comp *k)
{
	if (k == NULL)
		return;
	if (k->inflate)
		inflateEnd(&k->z);
	else
		deflateEnd(&k->z);
	dssh_wipe(k->buf, k->used);
	free(k->buf);
	free(k);
}

static int
deflate_part(struct dssh_comp *k, const uint8_t *p, size_t n, int flush)
{
	k->z.next_in = (Bytef *)(uintptr_t)p;
	k->z.avail_in = (uInt)n;
	do {
		if (k->z.avail_out == 0)
			return DSSH_ERR_NO_BUFFER_SPACE;
		if (deflate(&k->z, flush) != Z_OK)
			return DSSH_ERR_INTERNAL;
	} while (k->z.avail_in > 0 || k->z.avail_out == 0);
	return 0;
}

int
dssh_comp_deflate(struct dssh_comp *k, const uint8_t *head, size_t hlen, const uint8_t *body,
    size_t blen, const uint8_t **out, size_t *olen)
{
	int r;

	k->z.next_out = k->buf;
	k->z.avail_out = (uInt)k->cap;
	r = hlen > 0 ? deflate_part(k, head, hlen, blen > 0 ? Z_NO_FLUSH : Z_PARTIAL_FLUSH) : 0;
	if (r == 0 && blen > 0)
		r = deflate_part(k, body, blen, Z_PARTIAL_FLUSH);
	note_used(k);
	if (r != 0)
		return r;
	*out = k->buf;
	*olen = k->cap - k->z.avail_out;
	return 0;
}

static int
inflate_all(struct dssh_comp *k)
{
	int zr;

	for (;;) {
		zr = inflate(&k->z, Z_SYNC_FLUSH);
		if (k->z.avail_out == 0)
			return DSSH_ERR_NO_BUFFER_SPACE;   /* past the bound */
		if (zr == Z_BUF_ERROR && k->z.avail_in == 0)
			break;      /* all input taken, nothing more to give */
		if (zr != Z_OK)
			return DSSH_ERR_INVALID_FORMAT;
		if (k->z.avail_in == 0)
			break;
	}
	return 0;
}

int
dssh_comp_inflate(struct dssh_comp *k, const uint8_t *in, size_t n, const uint8_t **out,
    size_t *olen)
{
	int r;

	k->z.next_in = (Bytef *)(uintptr_t)in;
	k->z.avail_in = (uInt)n;
	k->z.next_out = k->buf;
	k->z.avail_out = (uInt)k->cap;
	r = inflate_all(k);
	note_used(k);     /* a refused packet wrote some of buf too */
	if (r != 0)
		return r;
	*out = k->buf;
	*olen = k->cap - k->z.avail_out;
	return 0;
}

/* The result of the last inflate is wiped once handled (it is the peer's
 * payload: keystrokes, passwords of a later sudo ...). */
void
dssh_comp_wipe_last(struct dssh_comp *k, size_t n)
{
	dssh_wipe(k->buf, DSSH_MIN(n, k->cap));
}
