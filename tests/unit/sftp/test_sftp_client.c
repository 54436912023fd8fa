/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SFTP client against dssh's own SFTP server in one process (bytes
 * moved by hand): open/write/read/close/stat/setstat/opendir/readdir/
 * realpath/mkdir with many requests in flight, in any split of the byte
 * stream; and the reply parser on truncated, oversized and garbage input.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dssh_err.h"
#include "dssh_sftp.h"
#include "dssh_sftp_client.h"
#include "dssh_test.h"

#define MAXR 256

struct got {
	unsigned n;
	struct {
		uint32_t id;
		uint8_t type;
		uint32_t status;
		uint8_t handle[DSSH_SFTPC_HANDLE_MAX];
		size_t hlen;
		uint8_t data[70000];
		size_t len;
		struct dssh_sftpc_attrs attrs;
		char name[256];
		uint32_t count;
	} r[MAXR];
};

static struct got got;
static char dir[] = "/tmp/dssh_sftpc_XXXXXX";

static void
cb(void *arg, const struct dssh_sftpc_reply *r)
{
	struct got *g = arg;

	if (g->n >= MAXR)
		return;
	g->r[g->n].id = r->id;
	g->r[g->n].type = r->type;
	g->r[g->n].status = r->status;
	if (r->type == 102) {
		memcpy(g->r[g->n].handle, r->handle, r->handle_len);
		g->r[g->n].hlen = r->handle_len;
	}
	if (r->type == 103 && r->len <= sizeof(g->r[0].data)) {
		memcpy(g->r[g->n].data, r->data, r->len);
		g->r[g->n].len = r->len;
	}
	g->r[g->n].attrs = r->attrs;
	g->r[g->n].count = r->count;
	if (r->type == 104 && r->count > 0)
		snprintf(g->r[g->n].name, sizeof(g->r[0].name), "%s", r->names[0].name);
	g->n++;
}

/* Move bytes both ways until quiet, in pieces of `piece` bytes. */
static void
pump(struct dssh_sftpc *c, struct dssh_sftp *s, size_t piece)
{
	for (int i = 0; i < 100000; i++) {
		size_t n, used = 0;
		const uint8_t *p = dssh_sftpc_output(c, &n);
		bool moved = false;

		if (n > 0) {
			n = n < piece ? n : piece;
			CHECK_EQ_INT(dssh_sftp_input(s, p, n, &used), 0);
			dssh_sftpc_output_consume(c, used);
			moved = used > 0;
		}
		p = dssh_sftp_output(s, &n);
		if (n > 0) {
			n = n < piece ? n : piece;
			CHECK_EQ_INT(dssh_sftpc_input(c, p, n), 0);
			dssh_sftp_output_consume(s, n);
			moved = true;
		}
		if (!moved)
			return;
	}
}

static void
roundtrip(size_t piece)
{
	struct dssh_sftp_opts so = { .home = dir };
	struct dssh_sftpc *c;
	struct dssh_sftp *s;
	struct dssh_sftpc_attrs a = { .flags = DSSH_SFTPC_ATTR_PERM, .perm = 0640 };
	static uint8_t data[64 * 1024 * 8];
	char path[256];
	uint32_t id, ids[8];
	uint8_t h[DSSH_SFTPC_HANDLE_MAX];
	size_t hlen;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + piece);
	memset(&got, 0, sizeof(got));
	CHECK_EQ_INT(dssh_sftp_create(&so, &s), 0);
	CHECK_EQ_INT(dssh_sftpc_new(cb, &got, &c), 0);
	CHECK_EQ_INT(dssh_sftpc_init(c), 0);
	pump(c, s, piece);
	CHECK(dssh_sftpc_ready(c));
	CHECK_EQ_INT(dssh_sftpc_version(c), 3);
	snprintf(path, sizeof(path), "%s/f", dir);
	CHECK_EQ_INT(dssh_sftpc_open(c, path, DSSH_SFTPC_WRITE | DSSH_SFTPC_CREAT |
	    DSSH_SFTPC_TRUNC, &a, &id), 0);
	pump(c, s, piece);
	CHECK_EQ_INT(got.n, 1);
	CHECK_EQ_INT(got.r[0].type, 102);
	hlen = got.r[0].hlen;
	memcpy(h, got.r[0].handle, hlen);
	/* Eight writes in flight, answered in order. */
	for (int i = 0; i < 8; i++)
		CHECK_EQ_INT(dssh_sftpc_write(c, h, hlen, (uint64_t)i * 65536, data + i * 65536,
		    65536, &ids[i]), 0);
	CHECK_EQ_INT(dssh_sftpc_inflight(c), 8);
	pump(c, s, piece);
	CHECK_EQ_INT(dssh_sftpc_inflight(c), 0);
	CHECK_EQ_INT(got.n, 9);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ_INT(got.r[1 + i].id, ids[i]);
		CHECK_EQ_INT(got.r[1 + i].type, 101);
		CHECK_EQ_INT(got.r[1 + i].status, 0);
	}
	CHECK_EQ_INT(dssh_sftpc_close(c, h, hlen, &id), 0);
	/* Read it back, eight in flight, and past the end: EOF. */
	CHECK_EQ_INT(dssh_sftpc_open(c, path, DSSH_SFTPC_READ, NULL, &id), 0);
	pump(c, s, piece);
	CHECK_EQ_INT(got.r[10].type, 102);
	hlen = got.r[10].hlen;
	memcpy(h, got.r[10].handle, hlen);
	got.n = 0;
	for (int i = 0; i < 8; i++)
		CHECK_EQ_INT(dssh_sftpc_read(c, h, hlen, (uint64_t)i * 65536, 65536, &ids[i]), 0);
	CHECK_EQ_INT(dssh_sftpc_read(c, h, hlen, sizeof(data), 100, &id), 0);
	pump(c, s, piece);
	CHECK_EQ_INT(got.n, 9);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ_INT(got.r[i].type, 103);
		CHECK_EQ_INT(got.r[i].len, 65536);
		CHECK_MEM(got.r[i].data, data + i * 65536, 65536);
	}
	CHECK_EQ_INT(got.r[8].type, 101);
	CHECK_EQ_INT(got.r[8].status, DSSH_SFTPC_EOF);
	/* stat, fstat, setstat, realpath, mkdir, opendir/readdir. */
	got.n = 0;
	CHECK_EQ_INT(dssh_sftpc_stat(c, path, true, &id), 0);
	CHECK_EQ_INT(dssh_sftpc_fstat(c, h, hlen, &id), 0);
	a = (struct dssh_sftpc_attrs){ .flags = DSSH_SFTPC_ATTR_PERM | DSSH_SFTPC_ATTR_TIMES,
	    .perm = 0600, .atime = 1500000000, .mtime = 1500000001 };
	CHECK_EQ_INT(dssh_sftpc_setstat(c, path, &a, &id), 0);
	CHECK_EQ_INT(dssh_sftpc_stat(c, path, false, &id), 0);
	CHECK_EQ_INT(dssh_sftpc_realpath(c, ".", &id), 0);
	CHECK_EQ_INT(dssh_sftpc_mkdir(c, "sub", NULL, &id), 0);
	CHECK_EQ_INT(dssh_sftpc_opendir(c, dir, &id), 0);
	CHECK_EQ_INT(dssh_sftpc_close(c, h, hlen, &id), 0);
	pump(c, s, piece);
	CHECK_EQ_INT(got.n, 8);
	CHECK_EQ_INT(got.r[0].type, 105);
	CHECK_EQ_INT(got.r[0].attrs.size, sizeof(data));
	CHECK_EQ_INT(got.r[1].attrs.size, sizeof(data));
	CHECK_EQ_INT(got.r[2].status, 0);
	CHECK_EQ_INT(got.r[3].attrs.perm & 0777, 0600);
	CHECK_EQ_INT(got.r[3].attrs.mtime, 1500000001);
	CHECK_EQ_INT(got.r[4].type, 104);
	CHECK_STR(got.r[4].name, dir);
	CHECK_EQ_INT(got.r[5].status, 0);
	CHECK_EQ_INT(got.r[6].type, 102);
	hlen = got.r[6].hlen;
	memcpy(h, got.r[6].handle, hlen);
	got.n = 0;
	CHECK_EQ_INT(dssh_sftpc_readdir(c, h, hlen, &id), 0);
	pump(c, s, piece);
	CHECK_EQ_INT(got.r[0].type, 104);
	CHECK(got.r[0].count >= 3);      /* ., .., f, sub */
	dssh_sftpc_free(c);
	dssh_sftp_free(s);
	snprintf(path, sizeof(path), "rm -rf %s/f %s/sub", dir, dir);
	CHECK_EQ_INT(system(path), 0);
}

static void
test_roundtrip(void)
{
	roundtrip(1 << 20);
	roundtrip(7);
}

static void
feed(const uint8_t *p, size_t n, int want)
{
	struct dssh_sftpc *c;

	memset(&got, 0, sizeof(got));
	CHECK_EQ_INT(dssh_sftpc_new(cb, &got, &c), 0);
	CHECK_EQ_INT(dssh_sftpc_init(c), 0);
	/* VERSION 3, then a request in flight for the reply. */
	static const uint8_t version[] = { 0, 0, 0, 5, 2, 0, 0, 0, 3 };
	uint32_t id;

	CHECK_EQ_INT(dssh_sftpc_input(c, version, sizeof(version)), 0);
	CHECK_EQ_INT(dssh_sftpc_stat(c, "/", true, &id), 0);
	CHECK_EQ_INT(dssh_sftpc_input(c, p, n), want);
	dssh_sftpc_free(c);
}

static void
test_bad_replies(void)
{
	/* ATTRS with the size flag but no size. */
	static const uint8_t short_attrs[] = { 0, 0, 0, 9, 105, 0, 0, 0, 1, 0, 0, 0, 1 };
	/* An unknown type. */
	static const uint8_t bad_type[] = { 0, 0, 0, 5, 77, 0, 0, 0, 1 };
	/* Too long a packet. */
	static const uint8_t huge[] = { 0, 0x10, 0, 0, 101, 0, 0, 0, 1 };
	/* NAME claiming a million entries. */
	static const uint8_t names[] = { 0, 0, 0, 9, 104, 0, 0, 0, 1, 0, 0x0f, 0x42, 0x40 };
	/* A HANDLE of length 0. */
	static const uint8_t h0[] = { 0, 0, 0, 9, 102, 0, 0, 0, 1, 0, 0, 0, 0 };
	/* Good: STATUS OK without the message (old servers). */
	static const uint8_t ok[] = { 0, 0, 0, 9, 101, 0, 0, 0, 1, 0, 0, 0, 0 };
	/* A reply with nothing in flight after the first. */
	static const uint8_t two[] = { 0, 0, 0, 9, 101, 0, 0, 0, 1, 0, 0, 0, 0,
	    0, 0, 0, 9, 101, 0, 0, 0, 2, 0, 0, 0, 0 };

	feed(short_attrs, sizeof(short_attrs), DSSH_ERR_MSG_INCOMPLETE);
	feed(bad_type, sizeof(bad_type), DSSH_ERR_INVALID_FORMAT);
	feed(huge, sizeof(huge), DSSH_ERR_INVALID_FORMAT);
	feed(names, sizeof(names), DSSH_ERR_INVALID_FORMAT);
	feed(h0, sizeof(h0), DSSH_ERR_INVALID_FORMAT);
	feed(ok, sizeof(ok), 0);
	CHECK_EQ_INT(got.n, 1);
	feed(two, sizeof(two), DSSH_ERR_PROTOCOL);
	/* Every truncation of a good reply waits for more, never fails or calls back. */
	for (size_t i = 0; i < sizeof(ok); i++) {
		feed(ok, i, 0);
		CHECK_EQ_INT(got.n, 0);
	}
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	DSSH_RUN(test_roundtrip);
	DSSH_RUN(test_bad_replies);
	rmdir(dir);
	DSSH_TEST_END();
}
