/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TCP_TEST_BUFS_H
#define TCP_TEST_BUFS_H

/*
 * A fake driver for the buffer ops (conf.buf_ops / conf.tx_buf_ops): each
 * buffer is reference-counted as an mbuf is, and the driver counts the
 * references the stack takes and gives back, refusing holds past a budget
 * (or a random share of them), as the data plane's budget does.
 */
#include <stdlib.h>

#include "tcp_test_util.h"

struct tb_buf {
	int refs;
	uint32_t len;
	uint8_t data[];
};

struct tb_drv {
	long live;            /* buffers not yet freed */
	long held;            /* references the stack holds now */
	long max_held;
	long holds, releases, refused;
	uint64_t rnd;
	unsigned refuse_pct;  /* hold() refuses this share */
	long budget;          /* and anything past this many held (0: none) */
};

/* A buffer of len bytes with the driver's own reference. */
static inline struct tb_buf *tb_new(struct tb_drv *d, uint32_t len)
{
	struct tb_buf *b = calloc(1, sizeof(*b) + len);

	if (b == NULL)
		abort();
	b->refs = 1;
	b->len = len;
	d->live++;
	return b;
}

static inline void tb_unref(struct tb_drv *d, struct tb_buf *b)
{
	CHECK(b->refs > 0);
	if (--b->refs == 0) {
		memset(b->data, 0xdd, b->len);   /* a stale pointer shows as wrong bytes */
		free(b);
		d->live--;
	}
}

static inline bool tb_hold(void *arg, void *buf)
{
	struct tb_drv *d = arg;
	struct tb_buf *b = buf;

	if ((d->refuse_pct && dssh_test_rand(&d->rnd) % 100 < d->refuse_pct) ||
	    (d->budget && d->held >= d->budget)) {
		d->refused++;
		return false;
	}
	CHECK(b->refs > 0);
	b->refs++;
	d->held++;
	d->holds++;
	if (d->held > d->max_held)
		d->max_held = d->held;
	return true;
}

static inline void tb_release(void *arg, void *buf)
{
	struct tb_drv *d = arg;

	d->held--;
	d->releases++;
	tb_unref(d, buf);
}

static const struct dssh_tcp_buf_ops tb_ops = { .hold = tb_hold, .release = tb_release };

/* Byte off of the test stream. */
static inline uint8_t tb_pat(uint64_t off)
{
	return (uint8_t)((off * 2654435761u) >> 13);
}

#endif
