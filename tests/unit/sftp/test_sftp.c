/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SFTP engine driven with crafted packets against a scratch directory:
 * every request and extension, statuses and attributes, requests in flight,
 * malformed and oversized packets, stale handles, a full handle table,
 * read-only mode, back-pressure and errno mapping (through a wrapping
 * backend that injects disk errors).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_test.h"
#include "dssh_util.h"
#include "sftp_int.h"

static char tdir[256];

struct reply {
	uint8_t *data;              /* the packet after its length */
	size_t len;
	uint8_t type;
	uint32_t id;
	struct dssh_buf b;          /* cursor after type (and id) */
};

static void
reply_free(struct reply *r)
{
	free(r->data);
	memset(r, 0, sizeof(*r));
}

/* ---------------------------------------------------------------- packets */

static struct dssh_buf pk;
static size_t pk_start;

static void
pkt(uint8_t type, uint32_t id)
{
	pk_start = dssh_buf_len(&pk);
	dssh_buf_put_u32(&pk, 0);
	dssh_buf_put_u8(&pk, type);
	if (type != SSH_FXP_INIT)
		dssh_buf_put_u32(&pk, id);
}

static void
pkt_end(void)
{
	dssh_put_u32be(dssh_buf_mutable_ptr(&pk) + pk_start,
	    (uint32_t)(dssh_buf_len(&pk) - pk_start - 4));
}

static void
put_s(const char *s)
{
	dssh_buf_put_cstring(&pk, s);
}

static void
put_path(const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", tdir, name);
	put_s(p);
}

static void
ext(uint32_t id, const char *name)
{
	pkt(SSH_FXP_EXTENDED, id);
	put_s(name);
}

/* Feeds everything queued in pk; returns the engine's result. */
static int
send_all(struct dssh_sftp *s)
{
	size_t used = 0;
	int r = dssh_sftp_input(s, dssh_buf_ptr(&pk), dssh_buf_len(&pk), &used);

	if (r == 0)
		CHECK_EQ_INT(used, dssh_buf_len(&pk));
	dssh_buf_reset(&pk);
	return r;
}

static bool
next_reply(struct dssh_sftp *s, struct reply *rp)
{
	size_t len;
	const uint8_t *p = dssh_sftp_output(s, &len);
	uint32_t n;

	memset(rp, 0, sizeof(*rp));
	if (len < 4)
		return false;
	n = dssh_get_u32be(p);
	if (len - 4 < n || n < 1)
		return false;
	rp->data = malloc(n);
	memcpy(rp->data, p + 4, n);
	rp->len = n;
	dssh_sftp_output_consume(s, 4 + n);
	dssh_buf_from(&rp->b, rp->data, n);
	dssh_buf_get_u8(&rp->b, &rp->type);
	if (rp->type != SSH_FXP_VERSION)
		dssh_buf_get_u32(&rp->b, &rp->id);
	return true;
}

static bool
output_empty(struct dssh_sftp *s)
{
	size_t len;

	dssh_sftp_output(s, &len);
	return len == 0;
}

/* Sends pk, expects one STATUS reply with this code; returns its message. */
static char status_msg[256];

static void
expect_status_line(struct dssh_sftp *s, uint32_t id, uint32_t code, int line)
{
	struct reply r;
	uint32_t got = 999;
	const uint8_t *m = NULL;
	size_t ml = 0;

	status_msg[0] = '\0';
	if (dssh_buf_len(&pk) > 0)
		CHECK_EQ_INT(send_all(s), 0);
	if (!next_reply(s, &r)) {
		fprintf(stderr, "line %d: no reply\n", line);
		CHECK(0);
		return;
	}
	if (r.type == SSH_FXP_STATUS && dssh_buf_get_u32(&r.b, &got) == 0 &&
	    dssh_buf_get_string_direct(&r.b, &m, &ml) == 0)
		snprintf(status_msg, sizeof(status_msg), "%.*s", (int)ml, (const char *)m);
	if (r.type != SSH_FXP_STATUS || got != code || r.id != id)
		fprintf(stderr, "line %d: type %u id %u status %u (%s), want id %u status %u\n",
		    line, r.type, r.id, got, status_msg, id, code);
	CHECK_EQ_INT(r.type, SSH_FXP_STATUS);
	CHECK_EQ_INT(r.id, id);
	CHECK_EQ_INT(got, code);
	reply_free(&r);
}
#define expect_status(s, id, code) expect_status_line(s, id, code, __LINE__)

/* Sends pk, expects a reply of this type; caller frees. */
static void
expect_type_line(struct dssh_sftp *s, uint32_t id, uint8_t type, struct reply *r, int line)
{
	if (dssh_buf_len(&pk) > 0)
		CHECK_EQ_INT(send_all(s), 0);
	if (!next_reply(s, r)) {
		fprintf(stderr, "line %d: no reply\n", line);
		CHECK(0);
		r->data = NULL;
		return;
	}
	if (r->type != type || r->id != id)
		fprintf(stderr, "line %d: got type %u id %u, want %u id %u\n", line, r->type,
		    r->id, type, id);
	CHECK_EQ_INT(r->type, type);
	CHECK_EQ_INT(r->id, id);
}
#define expect_type(s, id, type, r) expect_type_line(s, id, type, r, __LINE__)

/* A handle from an OPEN/OPENDIR in pk. */
static void
expect_handle(struct dssh_sftp *s, uint32_t id, uint8_t h[8])
{
	struct reply r;
	const uint8_t *p;
	size_t n = 0;

	memset(h, 0xee, 8);
	expect_type(s, id, SSH_FXP_HANDLE, &r);
	if (r.data != NULL && dssh_buf_get_string_direct(&r.b, &p, &n) == 0 && n == 8)
		memcpy(h, p, 8);
	CHECK_EQ_INT(n, 8);
	reply_free(&r);
}

static void
put_handle(const uint8_t h[8])
{
	dssh_buf_put_string(&pk, h, 8);
}

static void
open_file(struct dssh_sftp *s, const char *name, uint32_t pflags, uint8_t h[8])
{
	pkt(SSH_FXP_OPEN, 1000);
	put_path(name);
	dssh_buf_put_u32(&pk, pflags);
	dssh_buf_put_u32(&pk, SSH_FILEXFER_ATTR_PERMISSIONS);
	dssh_buf_put_u32(&pk, 0644);
	pkt_end();
	expect_handle(s, 1000, h);
}

static void
close_handle(struct dssh_sftp *s, const uint8_t h[8])
{
	pkt(SSH_FXP_CLOSE, 1001);
	put_handle(h);
	pkt_end();
	expect_status(s, 1001, SSH_FX_OK);
}

struct attrs_got {
	uint32_t flags, uid, gid, perm, atime, mtime;
	uint64_t size;
};

static void
parse_attrs(struct dssh_buf *b, struct attrs_got *a)
{
	memset(a, 0, sizeof(*a));
	CHECK_EQ_INT(dssh_buf_get_u32(b, &a->flags), 0);
	if (a->flags & SSH_FILEXFER_ATTR_SIZE)
		CHECK_EQ_INT(dssh_buf_get_u64(b, &a->size), 0);
	if (a->flags & SSH_FILEXFER_ATTR_UIDGID) {
		CHECK_EQ_INT(dssh_buf_get_u32(b, &a->uid), 0);
		CHECK_EQ_INT(dssh_buf_get_u32(b, &a->gid), 0);
	}
	if (a->flags & SSH_FILEXFER_ATTR_PERMISSIONS)
		CHECK_EQ_INT(dssh_buf_get_u32(b, &a->perm), 0);
	if (a->flags & SSH_FILEXFER_ATTR_ACMODTIME) {
		CHECK_EQ_INT(dssh_buf_get_u32(b, &a->atime), 0);
		CHECK_EQ_INT(dssh_buf_get_u32(b, &a->mtime), 0);
	}
}

static void
stat_path(struct dssh_sftp *s, uint8_t type, const char *name, struct attrs_got *a)
{
	struct reply r;

	pkt(type, 77);
	put_path(name);
	pkt_end();
	expect_type(s, 77, SSH_FXP_ATTRS, &r);
	if (r.data != NULL)
		parse_attrs(&r.b, a);
	reply_free(&r);
}

/* Sends pk, expects a one-entry NAME reply, returns the name. */
static char name_got[4096];

static void
expect_name_line(struct dssh_sftp *s, uint32_t id, int line)
{
	struct reply r;
	uint32_t count = 0;
	const uint8_t *p;
	size_t n = 0;

	name_got[0] = '\0';
	expect_type_line(s, id, SSH_FXP_NAME, &r, line);
	if (r.data == NULL)
		return;
	CHECK_EQ_INT(dssh_buf_get_u32(&r.b, &count), 0);
	CHECK_EQ_INT(count, 1);
	if (dssh_buf_get_string_direct(&r.b, &p, &n) == 0)
		snprintf(name_got, sizeof(name_got), "%.*s", (int)n, (const char *)p);
	reply_free(&r);
}
#define expect_name(s, id) expect_name_line(s, id, __LINE__)

static void
tpath(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", tdir, name);
}

static void
write_local(const char *name, const void *data, size_t n)
{
	char p[512];
	int fd;

	tpath(p, sizeof(p), name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static ssize_t
read_local(const char *name, void *data, size_t n)
{
	char p[512];
	ssize_t k;
	int fd;

	tpath(p, sizeof(p), name);
	if ((fd = open(p, O_RDONLY)) < 0)
		return -1;
	k = read(fd, data, n);
	close(fd);
	return k;
}

static struct dssh_sftp *
new_server(const struct dssh_sftp_opts *o)
{
	struct dssh_sftp_opts def = { .home = tdir, .log_id = "test" };
	struct dssh_sftp *s = NULL;
	struct reply r;
	uint32_t v = 0;

	CHECK_EQ_INT(dssh_sftp_create(o != NULL ? o : &def, &s), 0);
	pkt(SSH_FXP_INIT, 0);
	dssh_buf_put_u32(&pk, 3);
	pkt_end();
	CHECK_EQ_INT(send_all(s), 0);
	CHECK(next_reply(s, &r));
	CHECK_EQ_INT(r.type, SSH_FXP_VERSION);
	CHECK_EQ_INT(dssh_buf_get_u32(&r.b, &v), 0);
	CHECK_EQ_INT(v, 3);
	reply_free(&r);
	return s;
}

/* ---------------------------------------------------------------- tests */

static void
test_version(void)
{
	static const char *const want[] = {
		"posix-rename@openssh.com", "statvfs@openssh.com", "fstatvfs@openssh.com",
		"hardlink@openssh.com", "fsync@openssh.com", "lsetstat@openssh.com",
		"limits@openssh.com", "expand-path@openssh.com", "copy-data",
		"home-directory", "users-groups-by-id@openssh.com",
	};
	struct dssh_sftp_opts o = { .home = tdir };
	struct dssh_sftp *s;
	struct reply r;
	uint32_t v;
	bool seen[DSSH_ARRAY_SIZE(want)] = { false };

	CHECK_EQ_INT(dssh_sftp_create(&o, &s), 0);
	pkt(SSH_FXP_INIT, 0);
	dssh_buf_put_u32(&pk, 6);           /* a newer client still gets 3 */
	pkt_end();
	CHECK_EQ_INT(send_all(s), 0);
	CHECK(next_reply(s, &r));
	CHECK_EQ_INT(r.type, SSH_FXP_VERSION);
	CHECK_EQ_INT(dssh_buf_get_u32(&r.b, &v), 0);
	CHECK_EQ_INT(v, 3);
	while (dssh_buf_len(&r.b) > 0) {
		const uint8_t *n, *ver;
		size_t nl, vl;

		CHECK_EQ_INT(dssh_buf_get_string_direct(&r.b, &n, &nl), 0);
		CHECK_EQ_INT(dssh_buf_get_string_direct(&r.b, &ver, &vl), 0);
		for (size_t i = 0; i < DSSH_ARRAY_SIZE(want); i++)
			if (strlen(want[i]) == nl && memcmp(want[i], n, nl) == 0)
				seen[i] = true;
	}
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(want); i++)
		CHECK(seen[i]);
	reply_free(&r);
	/* A second INIT ends the session. */
	pkt(SSH_FXP_INIT, 0);
	dssh_buf_put_u32(&pk, 3);
	pkt_end();
	CHECK(send_all(s) < 0);
	dssh_sftp_free(s);

	/* Anything but INIT first ends the session; so does an INIT without a version. */
	CHECK_EQ_INT(dssh_sftp_create(&o, &s), 0);
	pkt(SSH_FXP_STAT, 1);
	put_s("/");
	pkt_end();
	CHECK(send_all(s) < 0);
	CHECK(output_empty(s));
	pkt(SSH_FXP_INIT, 0);           /* dead now */
	dssh_buf_put_u32(&pk, 3);
	pkt_end();
	CHECK(send_all(s) < 0);
	dssh_sftp_free(s);
	CHECK_EQ_INT(dssh_sftp_create(&o, &s), 0);
	pkt(SSH_FXP_INIT, 0);
	pkt_end();
	CHECK(send_all(s) < 0);
	dssh_sftp_free(s);
}

static void
test_file_io(void)
{
	struct dssh_sftp *s = new_server(NULL);
	uint8_t h[8], data[1000], back[2000];
	struct attrs_got a;
	struct reply r;
	const uint8_t *p;
	size_t n;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	open_file(s, "io", SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC, h);
	pkt(SSH_FXP_WRITE, 2);
	put_handle(h);
	dssh_buf_put_u64(&pk, 0);
	dssh_buf_put_string(&pk, data, 600);
	pkt_end();
	pkt(SSH_FXP_WRITE, 3);
	put_handle(h);
	dssh_buf_put_u64(&pk, 600);
	dssh_buf_put_string(&pk, data + 600, 400);
	pkt_end();
	CHECK_EQ_INT(send_all(s), 0);
	expect_status(s, 2, SSH_FX_OK);
	expect_status(s, 3, SSH_FX_OK);
	/* Reading a write-only handle: the kernel says no. */
	pkt(SSH_FXP_READ, 4);
	put_handle(h);
	dssh_buf_put_u64(&pk, 0);
	dssh_buf_put_u32(&pk, 10);
	pkt_end();
	expect_status(s, 4, SSH_FX_FAILURE);
	pkt(SSH_FXP_FSTAT, 5);
	put_handle(h);
	pkt_end();
	expect_type(s, 5, SSH_FXP_ATTRS, &r);
	parse_attrs(&r.b, &a);
	reply_free(&r);
	CHECK_EQ_INT(a.size, 1000);
	CHECK_EQ_INT(a.perm & 0777, 0644);
	CHECK(S_ISREG(a.perm));
	CHECK_EQ_INT(a.uid, geteuid());
	close_handle(s, h);
	CHECK_EQ_INT(read_local("io", back, sizeof(back)), 1000);
	CHECK_MEM(back, data, 1000);

	/* Read back: a whole read, a short one at the end, then EOF. */
	open_file(s, "io", SSH_FXF_READ, h);
	pkt(SSH_FXP_READ, 6);
	put_handle(h);
	dssh_buf_put_u64(&pk, 100);
	dssh_buf_put_u32(&pk, 2000);
	pkt_end();
	expect_type(s, 6, SSH_FXP_DATA, &r);
	CHECK_EQ_INT(dssh_buf_get_string_direct(&r.b, &p, &n), 0);
	CHECK_EQ_INT(n, 900);
	CHECK_MEM(p, data + 100, 900);
	reply_free(&r);
	pkt(SSH_FXP_READ, 7);
	put_handle(h);
	dssh_buf_put_u64(&pk, 1000);
	dssh_buf_put_u32(&pk, 10);
	pkt_end();
	expect_status(s, 7, SSH_FX_EOF);
	/* A READ over the limit is answered short, never refused. */
	pkt(SSH_FXP_READ, 8);
	put_handle(h);
	dssh_buf_put_u64(&pk, 0);
	dssh_buf_put_u32(&pk, 0xffffffffu);
	pkt_end();
	expect_type(s, 8, SSH_FXP_DATA, &r);
	CHECK_EQ_INT(dssh_buf_get_string_direct(&r.b, &p, &n), 0);
	CHECK_EQ_INT(n, 1000);
	reply_free(&r);
	close_handle(s, h);

	/* Append, exclusive create. */
	open_file(s, "io", SSH_FXF_WRITE | SSH_FXF_APPEND, h);
	pkt(SSH_FXP_WRITE, 9);
	put_handle(h);
	dssh_buf_put_u64(&pk, 0);
	dssh_buf_put_string(&pk, "tail", 4);
	pkt_end();
	expect_status(s, 9, SSH_FX_OK);
	close_handle(s, h);
	CHECK_EQ_INT(read_local("io", back, sizeof(back)), 1004);
	CHECK_MEM(back + 1000, "tail", 4);
	pkt(SSH_FXP_OPEN, 10);
	put_path("io");
	dssh_buf_put_u32(&pk, SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_EXCL);
	dssh_buf_put_u32(&pk, 0);
	pkt_end();
	expect_status(s, 10, SSH_FX_FAILURE);
	CHECK_STR(status_msg, "File exists");
	pkt(SSH_FXP_OPEN, 11);
	put_path("missing/file");
	dssh_buf_put_u32(&pk, SSH_FXF_READ);
	dssh_buf_put_u32(&pk, 0);
	pkt_end();
	expect_status(s, 11, SSH_FX_NO_SUCH_FILE);
	CHECK_STR(status_msg, "No such file or directory");
	/* A relative path is taken from the home directory. */
	pkt(SSH_FXP_STAT, 12);
	put_s("io");
	pkt_end();
	expect_type(s, 12, SSH_FXP_ATTRS, &r);
	parse_attrs(&r.b, &a);
	CHECK_EQ_INT(a.size, 1004);
	reply_free(&r);
	dssh_sftp_free(s);
}

/* Many requests in one input call: answered in order. */
static void
test_in_flight(void)
{
	struct dssh_sftp *s = new_server(NULL);
	uint8_t h[8], blk[4096], back[64 * 4096];
	struct reply r;

	open_file(s, "flight", SSH_FXF_READ | SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC, h);
	for (uint32_t i = 0; i < 64; i++) {
		memset(blk, (int)i, sizeof(blk));
		pkt(SSH_FXP_WRITE, 100 + i);
		put_handle(h);
		dssh_buf_put_u64(&pk, (uint64_t)(63 - i) * sizeof(blk));  /* out of order offsets */
		dssh_buf_put_string(&pk, blk, sizeof(blk));
		pkt_end();
	}
	for (uint32_t i = 0; i < 64; i++) {
		pkt(SSH_FXP_READ, 200 + i);
		put_handle(h);
		dssh_buf_put_u64(&pk, (uint64_t)i * sizeof(blk));
		dssh_buf_put_u32(&pk, sizeof(blk));
		pkt_end();
	}
	CHECK_EQ_INT(send_all(s), 0);
	for (uint32_t i = 0; i < 64; i++)
		expect_status(s, 100 + i, SSH_FX_OK);
	for (uint32_t i = 0; i < 64; i++) {
		const uint8_t *p;
		size_t n = 0;

		expect_type(s, 200 + i, SSH_FXP_DATA, &r);
		CHECK_EQ_INT(dssh_buf_get_string_direct(&r.b, &p, &n), 0);
		CHECK_EQ_INT(n, sizeof(blk));
		if (n == sizeof(blk))
			CHECK(p[0] == (uint8_t)(63 - i) && p[4095] == (uint8_t)(63 - i));
		reply_free(&r);
	}
	CHECK(output_empty(s));
	close_handle(s, h);
	CHECK_EQ_INT(read_local("flight", back, sizeof(back)), (ssize_t)sizeof(back));

	/* The same stream fed one byte at a time. */
	pkt(SSH_FXP_STAT, 300);
	put_path("flight");
	pkt_end();
	pkt(SSH_FXP_LSTAT, 301);
	put_path("nope");
	pkt_end();
	for (size_t i = 0; i < dssh_buf_len(&pk); i++) {
		size_t used = 0;

		CHECK_EQ_INT(dssh_sftp_input(s, dssh_buf_ptr(&pk) + i, 1, &used), 0);
		CHECK_EQ_INT(used, 1);
	}
	CHECK(dssh_sftp_idle(s));
	dssh_buf_reset(&pk);
	expect_type(s, 300, SSH_FXP_ATTRS, &r);
	reply_free(&r);
	expect_status(s, 301, SSH_FX_NO_SUCH_FILE);
	dssh_sftp_free(s);
}

/* Large READs pause the input until the output is drained. */
static void
test_backpressure(void)
{
	struct dssh_sftp *s = new_server(NULL);
	static uint8_t big[DSSH_SFTP_MAX_RW];
	uint8_t h[8];
	size_t used, total = 0, maxout = 0, len;
	unsigned replies = 0;
	struct reply r;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i >> 8);
	write_local("big", big, sizeof(big));
	open_file(s, "big", SSH_FXF_READ, h);
	for (uint32_t i = 0; i < 40; i++) {
		pkt(SSH_FXP_READ, 500 + i);
		put_handle(h);
		dssh_buf_put_u64(&pk, 0);
		dssh_buf_put_u32(&pk, DSSH_SFTP_MAX_RW);
		pkt_end();
	}
	while (total < dssh_buf_len(&pk)) {
		CHECK_EQ_INT(dssh_sftp_input(s, dssh_buf_ptr(&pk) + total,
		    dssh_buf_len(&pk) - total, &used), 0);
		total += used;
		dssh_sftp_output(s, &len);
		maxout = DSSH_MAX(maxout, len);
		if (total < dssh_buf_len(&pk))
			CHECK(dssh_sftp_input_paused(s));
		while (next_reply(s, &r)) {
			const uint8_t *p;
			size_t n = 0;

			CHECK_EQ_INT(r.id, 500 + replies);
			CHECK_EQ_INT(dssh_buf_get_string_direct(&r.b, &p, &n), 0);
			CHECK_EQ_INT(n, sizeof(big));
			if (n == sizeof(big))
				CHECK_MEM(p, big, n);
			replies++;
			reply_free(&r);
		}
		CHECK(!dssh_sftp_input_paused(s));
	}
	dssh_buf_reset(&pk);
	CHECK_EQ_INT(replies, 40);
	CHECK(maxout >= DSSH_SFTP_OUT_HIGH);
	CHECK(maxout < DSSH_SFTP_OUT_HIGH + DSSH_SFTP_MAX_PACKET + 64);
	close_handle(s, h);
	dssh_sftp_free(s);
}

static void
test_stat_setstat(void)
{
	struct dssh_sftp *s = new_server(NULL);
	struct attrs_got a;
	struct stat st;
	char p[512];
	uint8_t h[8];

	write_local("st", "0123456789", 10);
	tpath(p, sizeof(p), "stlink");
	CHECK_EQ_INT(symlink("st", p), 0);
	stat_path(s, SSH_FXP_STAT, "stlink", &a);
	CHECK(S_ISREG(a.perm));
	CHECK_EQ_INT(a.size, 10);
	stat_path(s, SSH_FXP_LSTAT, "stlink", &a);
	CHECK(S_ISLNK(a.perm));
	CHECK_EQ_INT(a.size, 2);

	pkt(SSH_FXP_SETSTAT, 20);
	put_path("st");
	dssh_buf_put_u32(&pk, SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_PERMISSIONS |
	    SSH_FILEXFER_ATTR_ACMODTIME | SSH_FILEXFER_ATTR_UIDGID | SSH_FILEXFER_ATTR_EXTENDED);
	dssh_buf_put_u64(&pk, 4);
	dssh_buf_put_u32(&pk, geteuid());
	dssh_buf_put_u32(&pk, getegid());
	dssh_buf_put_u32(&pk, 0600);
	dssh_buf_put_u32(&pk, 1000000);
	dssh_buf_put_u32(&pk, 2000000);
	dssh_buf_put_u32(&pk, 1);           /* one extended pair, ignored */
	put_s("x@y");
	put_s("z");
	pkt_end();
	expect_status(s, 20, SSH_FX_OK);
	tpath(p, sizeof(p), "st");
	CHECK_EQ_INT(stat(p, &st), 0);
	CHECK_EQ_INT(st.st_size, 4);
	CHECK_EQ_INT(st.st_mode & 07777, 0600);
	CHECK_EQ_INT(st.st_atime, 1000000);
	CHECK_EQ_INT(st.st_mtime, 2000000);

	open_file(s, "st", SSH_FXF_WRITE, h);
	pkt(SSH_FXP_FSETSTAT, 21);
	put_handle(h);
	dssh_buf_put_u32(&pk, SSH_FILEXFER_ATTR_PERMISSIONS | SSH_FILEXFER_ATTR_SIZE);
	dssh_buf_put_u64(&pk, 1);
	dssh_buf_put_u32(&pk, 0640);
	pkt_end();
	expect_status(s, 21, SSH_FX_OK);
	close_handle(s, h);
	CHECK_EQ_INT(stat(p, &st), 0);
	CHECK_EQ_INT(st.st_size, 1);
	CHECK_EQ_INT(st.st_mode & 07777, 0640);

	/* lsetstat: times of the link itself; its mode cannot be set on Linux. */
	time_t target_mtime = st.st_mtime;

	ext(22, "lsetstat@openssh.com");
	put_path("stlink");
	dssh_buf_put_u32(&pk, SSH_FILEXFER_ATTR_ACMODTIME);
	dssh_buf_put_u32(&pk, 3000000);
	dssh_buf_put_u32(&pk, 4000000);
	pkt_end();
	expect_status(s, 22, SSH_FX_OK);
	tpath(p, sizeof(p), "stlink");
	CHECK_EQ_INT(lstat(p, &st), 0);
	CHECK_EQ_INT(st.st_mtime, 4000000);
	tpath(p, sizeof(p), "st");
	CHECK_EQ_INT(stat(p, &st), 0);
	CHECK_EQ_INT(st.st_mtime, target_mtime);
	ext(23, "lsetstat@openssh.com");
	put_path("stlink");
	dssh_buf_put_u32(&pk, SSH_FILEXFER_ATTR_PERMISSIONS);
	dssh_buf_put_u32(&pk, 0600);
	pkt_end();
	expect_status(s, 23, SSH_FX_OP_UNSUPPORTED);
	/* Attributes cut short. */
	pkt(SSH_FXP_SETSTAT, 24);
	put_path("st");
	dssh_buf_put_u32(&pk, SSH_FILEXFER_ATTR_ACMODTIME);
	dssh_buf_put_u32(&pk, 5);
	pkt_end();
	expect_status(s, 24, SSH_FX_BAD_MESSAGE);
	pkt(SSH_FXP_SETSTAT, 25);
	put_path("st");
	dssh_buf_put_u32(&pk, SSH_FILEXFER_ATTR_EXTENDED);
	dssh_buf_put_u32(&pk, 0xffffffffu);
	put_s("a");
	pkt_end();
	expect_status(s, 25, SSH_FX_BAD_MESSAGE);
	dssh_sftp_free(s);
}

static void
test_readdir(void)
{
	struct dssh_sftp *s = new_server(NULL);
	unsigned seen = 0, batches = 0, found = 0;
	char name[64];
	uint8_t h[8];
	struct reply r;

	pkt(SSH_FXP_MKDIR, 30);
	put_path("dir");
	dssh_buf_put_u32(&pk, SSH_FILEXFER_ATTR_PERMISSIONS);
	dssh_buf_put_u32(&pk, 0750);
	pkt_end();
	expect_status(s, 30, SSH_FX_OK);
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof(name), "dir/f%03d", i);
		write_local(name, "abc", (size_t)(i % 4));
	}
	pkt(SSH_FXP_OPENDIR, 31);
	put_path("dir");
	pkt_end();
	expect_handle(s, 31, h);
	for (;;) {
		uint32_t count;

		pkt(SSH_FXP_READDIR, 32);
		put_handle(h);
		pkt_end();
		CHECK_EQ_INT(send_all(s), 0);
		CHECK(next_reply(s, &r));
		CHECK_EQ_INT(r.id, 32);
		if (r.type == SSH_FXP_STATUS) {
			uint32_t code = 0;

			dssh_buf_get_u32(&r.b, &code);
			CHECK_EQ_INT(code, SSH_FX_EOF);
			reply_free(&r);
			break;
		}
		CHECK_EQ_INT(r.type, SSH_FXP_NAME);
		CHECK_EQ_INT(dssh_buf_get_u32(&r.b, &count), 0);
		CHECK(count >= 1 && count <= SFTP_READDIR_BATCH);
		batches++;
		for (uint32_t i = 0; i < count; i++) {
			const uint8_t *fn, *ln;
			size_t fl, ll;
			struct attrs_got a;
			char lname[512];

			CHECK_EQ_INT(dssh_buf_get_string_direct(&r.b, &fn, &fl), 0);
			CHECK_EQ_INT(dssh_buf_get_string_direct(&r.b, &ln, &ll), 0);
			parse_attrs(&r.b, &a);
			seen++;
			snprintf(lname, sizeof(lname), "%.*s", (int)ll, (const char *)ln);
			if (fl == 4 && memcmp(fn, "f042", 4) == 0) {
				/* "-rw-r--r--   1 root     root            2 Jan  1 12:34 f042" */
				struct passwd *pw = getpwuid(geteuid());

				found++;
				CHECK_EQ_INT(a.size, 2);
				CHECK(strncmp(lname, "-rw-r--r--   1 ", 15) == 0);
				CHECK(pw != NULL && strstr(lname, pw->pw_name) != NULL);
				CHECK(strstr(lname, "        2 ") != NULL);
				CHECK(ll > 5 && strcmp(lname + ll - 5, " f042") == 0);
			}
			if (fl == 1 && fn[0] == '.') {
				found++;
				CHECK(S_ISDIR(a.perm));
				CHECK_EQ_INT(a.perm & 0777, 0750);
				CHECK(lname[0] == 'd');
			}
		}
		reply_free(&r);
	}
	CHECK_EQ_INT(seen, 152);
	CHECK_EQ_INT(batches, 2);
	CHECK_EQ_INT(found, 2);
	/* A directory handle is not a file handle. */
	pkt(SSH_FXP_READ, 33);
	put_handle(h);
	dssh_buf_put_u64(&pk, 0);
	dssh_buf_put_u32(&pk, 1);
	pkt_end();
	expect_status(s, 33, SSH_FX_BAD_MESSAGE);
	close_handle(s, h);
	pkt(SSH_FXP_OPENDIR, 34);
	put_path("dir/f001");
	pkt_end();
	expect_status(s, 34, SSH_FX_NO_SUCH_FILE);     /* ENOTDIR */
	pkt(SSH_FXP_RMDIR, 35);
	put_path("dir");
	pkt_end();
	expect_status(s, 35, SSH_FX_FAILURE);          /* not empty */
	CHECK_STR(status_msg, "Directory not empty");
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof(name), "dir/f%03d", i);
		pkt(SSH_FXP_REMOVE, 36);
		put_path(name);
		pkt_end();
		expect_status(s, 36, SSH_FX_OK);
	}
	pkt(SSH_FXP_REMOVE, 37);
	put_path("dir/f000");
	pkt_end();
	expect_status(s, 37, SSH_FX_NO_SUCH_FILE);
	pkt(SSH_FXP_RMDIR, 38);
	put_path("dir");
	pkt_end();
	expect_status(s, 38, SSH_FX_OK);
	dssh_sftp_free(s);
}

static void
test_names(void)
{
	struct dssh_sftp *s = new_server(NULL);
	char p[512], want[600], buf[64];
	struct attrs_got a;
	struct stat st;

	write_local("n1", "one", 3);
	write_local("n2", "two", 3);
	/* RENAME (version 3) does not replace; posix-rename does. */
	pkt(SSH_FXP_RENAME, 40);
	put_path("n1");
	put_path("n2");
	pkt_end();
	expect_status(s, 40, SSH_FX_FAILURE);
	CHECK_STR(status_msg, "File exists");
	ext(41, "posix-rename@openssh.com");
	put_path("n1");
	put_path("n2");
	pkt_end();
	expect_status(s, 41, SSH_FX_OK);
	CHECK_EQ_INT(read_local("n2", buf, sizeof(buf)), 3);
	CHECK_MEM(buf, "one", 3);
	pkt(SSH_FXP_RENAME, 42);
	put_path("n2");
	put_path("n3");
	pkt_end();
	expect_status(s, 42, SSH_FX_OK);
	ext(43, "hardlink@openssh.com");
	put_path("n3");
	put_path("n4");
	pkt_end();
	expect_status(s, 43, SSH_FX_OK);
	tpath(p, sizeof(p), "n4");
	CHECK_EQ_INT(stat(p, &st), 0);
	CHECK_EQ_INT(st.st_nlink, 2);
	/* SYMLINK in OpenSSH's order: target, then the link's path. */
	pkt(SSH_FXP_SYMLINK, 44);
	put_s("n3");
	put_path("n5");
	pkt_end();
	expect_status(s, 44, SSH_FX_OK);
	tpath(p, sizeof(p), "n5");
	CHECK_EQ_INT(readlink(p, buf, sizeof(buf)), 2);
	CHECK_MEM(buf, "n3", 2);
	pkt(SSH_FXP_READLINK, 45);
	put_path("n5");
	pkt_end();
	expect_name(s, 45);
	CHECK_STR(name_got, "n3");
	pkt(SSH_FXP_READLINK, 46);
	put_path("n3");
	pkt_end();
	expect_status(s, 46, SSH_FX_BAD_MESSAGE);       /* EINVAL: not a link */
	stat_path(s, SSH_FXP_STAT, "n5", &a);
	CHECK_EQ_INT(a.size, 3);

	/* REALPATH: "." and "" are the home, a missing last component is fine. */
	pkt(SSH_FXP_REALPATH, 47);
	put_s(".");
	pkt_end();
	expect_name(s, 47);
	CHECK_STR(name_got, tdir);
	pkt(SSH_FXP_REALPATH, 48);
	put_s("");
	pkt_end();
	expect_name(s, 48);
	CHECK_STR(name_got, tdir);
	pkt(SSH_FXP_REALPATH, 49);
	put_s("./x/../n5");
	pkt_end();
	expect_status(s, 49, SSH_FX_NO_SUCH_FILE);      /* x does not exist */
	pkt(SSH_FXP_REALPATH, 50);
	put_s("n5/../newfile");
	pkt_end();
	expect_status(s, 50, SSH_FX_NO_SUCH_FILE);      /* n5 is not a directory */
	pkt(SSH_FXP_REALPATH, 51);
	put_s("./newfile");
	pkt_end();
	expect_name(s, 51);
	snprintf(want, sizeof(want), "%s/newfile", tdir);
	CHECK_STR(name_got, want);
	pkt(SSH_FXP_REALPATH, 52);
	put_s("/");
	pkt_end();
	expect_name(s, 52);
	CHECK_STR(name_got, "/");
	pkt(SSH_FXP_REALPATH, 53);
	put_s("/..");
	pkt_end();
	expect_name(s, 53);
	CHECK_STR(name_got, "/");
	dssh_sftp_free(s);
}

static void
test_extensions(void)
{
	struct dssh_sftp *s = new_server(NULL);
	uint8_t h[8], h2[8], buf[300000];
	struct reply r;
	uint64_t v[11];
	char want[600];

	/* limits */
	ext(60, "limits@openssh.com");
	pkt_end();
	expect_type(s, 60, SSH_FXP_EXTENDED_REPLY, &r);
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(dssh_buf_get_u64(&r.b, &v[i]), 0);
	CHECK(v[0] >= 256 * 1024 + 13 && v[0] == DSSH_SFTP_MAX_PACKET);
	CHECK_EQ_INT(v[1], 256 * 1024);
	CHECK_EQ_INT(v[2], 256 * 1024);
	CHECK_EQ_INT(v[3], DSSH_SFTP_MAX_HANDLES);
	reply_free(&r);
	/* statvfs / fstatvfs agree with statvfs(3). */
	struct statvfs sv;

	CHECK_EQ_INT(statvfs(tdir, &sv), 0);
	ext(61, "statvfs@openssh.com");
	put_s(tdir);
	pkt_end();
	expect_type(s, 61, SSH_FXP_EXTENDED_REPLY, &r);
	for (int i = 0; i < 11; i++)
		CHECK_EQ_INT(dssh_buf_get_u64(&r.b, &v[i]), 0);
	CHECK_EQ_INT(v[0], sv.f_bsize);
	CHECK_EQ_INT(v[2], sv.f_blocks);
	CHECK_EQ_INT(v[10], sv.f_namemax);
	reply_free(&r);
	ext(62, "statvfs@openssh.com");
	put_path("nonexistent");
	pkt_end();
	expect_status(s, 62, SSH_FX_NO_SUCH_FILE);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13);
	write_local("src", buf, sizeof(buf));
	open_file(s, "src", SSH_FXF_READ | SSH_FXF_WRITE, h);
	ext(63, "fstatvfs@openssh.com");
	put_handle(h);
	pkt_end();
	expect_type(s, 63, SSH_FXP_EXTENDED_REPLY, &r);
	CHECK_EQ_INT(dssh_buf_get_u64(&r.b, &v[0]), 0);
	CHECK_EQ_INT(v[0], sv.f_bsize);
	reply_free(&r);
	ext(64, "fsync@openssh.com");
	put_handle(h);
	pkt_end();
	expect_status(s, 64, SSH_FX_OK);

	/* copy-data: a range, then the rest to EOF, then overlapping on one handle. */
	open_file(s, "dst", SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC, h2);
	ext(65, "copy-data");
	put_handle(h);
	dssh_buf_put_u64(&pk, 1000);
	dssh_buf_put_u64(&pk, 100000);
	put_handle(h2);
	dssh_buf_put_u64(&pk, 0);
	pkt_end();
	expect_status(s, 65, SSH_FX_OK);
	ext(66, "copy-data");
	put_handle(h);
	dssh_buf_put_u64(&pk, 101000);
	dssh_buf_put_u64(&pk, 0);
	put_handle(h2);
	dssh_buf_put_u64(&pk, 100000);
	pkt_end();
	expect_status(s, 66, SSH_FX_OK);
	ext(67, "copy-data");
	put_handle(h);
	dssh_buf_put_u64(&pk, 0);
	dssh_buf_put_u64(&pk, 100);
	put_handle(h);
	dssh_buf_put_u64(&pk, 50);
	pkt_end();
	expect_status(s, 67, SSH_FX_FAILURE);
	ext(68, "copy-data");       /* write to a read-only handle */
	put_handle(h2);
	dssh_buf_put_u64(&pk, 0);
	dssh_buf_put_u64(&pk, 10);
	put_handle(h);
	dssh_buf_put_u64(&pk, 0);
	pkt_end();
	expect_status(s, 68, SSH_FX_FAILURE);           /* EBADF: h2 is write-only */
	close_handle(s, h2);
	close_handle(s, h);
	{
		static uint8_t back[sizeof(buf)];

		CHECK_EQ_INT(read_local("dst", back, sizeof(back)), (ssize_t)sizeof(buf) - 1000);
		CHECK_MEM(back, buf + 1000, sizeof(buf) - 1000);
	}

	/* home-directory / expand-path */
	ext(69, "home-directory");
	put_s("");
	pkt_end();
	expect_name(s, 69);
	CHECK_STR(name_got, tdir);
	ext(70, "home-directory");
	put_s("root");
	pkt_end();
	expect_name(s, 70);
	CHECK_STR(name_got, getpwnam("root")->pw_dir);
	ext(71, "home-directory");
	put_s("no-such-user-dssh");
	pkt_end();
	expect_status(s, 71, SSH_FX_NO_SUCH_FILE);
	ext(72, "expand-path@openssh.com");
	put_s("~");
	pkt_end();
	expect_name(s, 72);
	CHECK_STR(name_got, tdir);
	ext(73, "expand-path@openssh.com");
	put_s("~/src");
	pkt_end();
	expect_name(s, 73);
	snprintf(want, sizeof(want), "%s/src", tdir);
	CHECK_STR(name_got, want);
	ext(74, "expand-path@openssh.com");
	put_s("~root/");
	pkt_end();
	expect_name(s, 74);
	CHECK_STR(name_got, getpwnam("root")->pw_dir);
	ext(75, "expand-path@openssh.com");
	put_s("src");
	pkt_end();
	expect_name(s, 75);
	CHECK_STR(name_got, want);
	ext(76, "expand-path@openssh.com");
	put_s("~no-such-user-dssh/x");
	pkt_end();
	expect_status(s, 76, SSH_FX_NO_SUCH_FILE);

	/* users-groups-by-id: names, "" for unknown ids. */
	uint8_t ids[8];

	ext(77, "users-groups-by-id@openssh.com");
	dssh_put_u32be(ids, 0);
	dssh_put_u32be(ids + 4, 3999999999u);
	dssh_buf_put_string(&pk, ids, 8);
	dssh_buf_put_string(&pk, ids, 4);
	pkt_end();
	expect_type(s, 77, SSH_FXP_EXTENDED_REPLY, &r);
	{
		struct dssh_buf u, g;
		char *n1 = NULL, *n2 = NULL, *g1 = NULL;

		CHECK_EQ_INT(dssh_buf_get_stringb(&r.b, &u), 0);
		CHECK_EQ_INT(dssh_buf_get_stringb(&r.b, &g), 0);
		CHECK_EQ_INT(dssh_buf_get_cstring(&u, &n1, NULL), 0);
		CHECK_EQ_INT(dssh_buf_get_cstring(&u, &n2, NULL), 0);
		CHECK_EQ_INT(dssh_buf_len(&u), 0);
		CHECK_EQ_INT(dssh_buf_get_cstring(&g, &g1, NULL), 0);
		CHECK_STR(n1, "root");
		CHECK_STR(n2, "");
		CHECK_STR(g1, "root");
		free(n1);
		free(n2);
		free(g1);
	}
	reply_free(&r);
	ext(78, "users-groups-by-id@openssh.com");
	dssh_buf_put_string(&pk, ids, 5);       /* not a multiple of 4 */
	dssh_buf_put_string(&pk, ids, 0);
	pkt_end();
	expect_status(s, 78, SSH_FX_BAD_MESSAGE);
	ext(79, "no-such-extension@example.com");
	put_s("arg");
	pkt_end();
	expect_status(s, 79, SSH_FX_OP_UNSUPPORTED);
	dssh_sftp_free(s);
}

/* Truncated fields, bad strings, bad handles: BAD_MESSAGE and the session goes on. */
static void
test_malformed(void)
{
	struct dssh_sftp *s = new_server(NULL);
	uint8_t h[8], bad[8];
	struct reply r;

	pkt(SSH_FXP_OPEN, 80);          /* path length says 100, 3 bytes follow */
	dssh_buf_put_u32(&pk, 100);
	dssh_buf_put(&pk, "abc", 3);
	pkt_end();
	expect_status(s, 80, SSH_FX_BAD_MESSAGE);
	pkt(SSH_FXP_OPEN, 81);          /* no pflags, no attrs */
	put_path("x");
	pkt_end();
	expect_status(s, 81, SSH_FX_BAD_MESSAGE);
	pkt(SSH_FXP_STAT, 82);          /* embedded NUL */
	dssh_buf_put_string(&pk, "a\0b", 3);
	pkt_end();
	expect_status(s, 82, SSH_FX_BAD_MESSAGE);
	pkt(SSH_FXP_READ, 83);          /* handle of the wrong length */
	dssh_buf_put_string(&pk, "abc", 3);
	dssh_buf_put_u64(&pk, 0);
	dssh_buf_put_u32(&pk, 1);
	pkt_end();
	expect_status(s, 83, SSH_FX_BAD_MESSAGE);
	CHECK_STR(status_msg, "Invalid handle");
	memset(bad, 0, sizeof(bad));
	dssh_put_u32be(bad, 100000);
	pkt(SSH_FXP_CLOSE, 84);
	put_handle(bad);
	pkt_end();
	expect_status(s, 84, SSH_FX_BAD_MESSAGE);
	/* A closed handle stays dead even when its slot is reused. */
	write_local("m", "x", 1);
	open_file(s, "m", SSH_FXF_READ, h);
	close_handle(s, h);
	pkt(SSH_FXP_READ, 85);
	put_handle(h);
	dssh_buf_put_u64(&pk, 0);
	dssh_buf_put_u32(&pk, 1);
	pkt_end();
	expect_status(s, 85, SSH_FX_BAD_MESSAGE);
	open_file(s, "m", SSH_FXF_READ, bad);
	CHECK(memcmp(bad, h, 4) == 0 && memcmp(bad + 4, h + 4, 4) != 0);
	pkt(SSH_FXP_CLOSE, 86);
	put_handle(h);
	pkt_end();
	expect_status(s, 86, SSH_FX_BAD_MESSAGE);
	pkt(SSH_FXP_WRITE, 87);         /* data string longer than the packet */
	put_handle(bad);
	dssh_buf_put_u64(&pk, 0);
	dssh_buf_put_u32(&pk, 1000);
	pkt_end();
	expect_status(s, 87, SSH_FX_BAD_MESSAGE);
	close_handle(s, bad);
	pkt(99, 88);                    /* unknown type */
	pkt_end();
	expect_status(s, 88, SSH_FX_OP_UNSUPPORTED);
	pkt(SSH_FXP_EXTENDED, 89);      /* no name */
	pkt_end();
	expect_status(s, 89, SSH_FX_BAD_MESSAGE);
	pkt(SSH_FXP_MKDIR, 90);         /* no attrs */
	put_path("mk");
	pkt_end();
	expect_status(s, 90, SSH_FX_BAD_MESSAGE);
	/* Still serving. */
	stat_path(s, SSH_FXP_STAT, "m", &(struct attrs_got){ 0 });
	CHECK(output_empty(s));

	/* A request without an id ends the session. */
	pkt(SSH_FXP_STAT, 0);
	dssh_buf_consume_end(&pk, 4);
	pkt_end();
	CHECK(send_all(s) < 0);
	dssh_sftp_free(s);

	/* An oversized length ends it before anything is allocated. */
	s = new_server(NULL);
	dssh_buf_put_u32(&pk, DSSH_SFTP_MAX_PACKET + 1);
	dssh_buf_put_u8(&pk, SSH_FXP_WRITE);
	CHECK(send_all(s) < 0);
	CHECK(output_empty(s));
	dssh_sftp_free(s);
	/* The same, arriving in pieces. */
	s = new_server(NULL);
	{
		uint8_t len[4];
		size_t used;

		dssh_put_u32be(len, 0xffffffffu);
		CHECK_EQ_INT(dssh_sftp_input(s, len, 2, &used), 0);
		CHECK(!dssh_sftp_idle(s));
		CHECK(dssh_sftp_input(s, len + 2, 2, &used) < 0);
	}
	dssh_sftp_free(s);
	/* An empty packet. */
	s = new_server(NULL);
	dssh_buf_put_u32(&pk, 0);
	CHECK(send_all(s) < 0);
	dssh_sftp_free(s);
	/* The largest legal packet is fine (a WRITE of 256 KiB). */
	s = new_server(NULL);
	{
		static uint8_t blk[DSSH_SFTP_MAX_RW];

		open_file(s, "maxw", SSH_FXF_WRITE | SSH_FXF_CREAT, h);
		pkt(SSH_FXP_WRITE, 91);
		put_handle(h);
		dssh_buf_put_u64(&pk, 0);
		dssh_buf_put_string(&pk, blk, sizeof(blk));
		pkt_end();
		expect_status(s, 91, SSH_FX_OK);
		close_handle(s, h);
	}
	(void)r;
	dssh_sftp_free(s);
}

static void
test_handle_table(void)
{
	struct dssh_sftp_opts o = { .home = tdir, .max_handles = 4 };
	struct dssh_sftp *s = new_server(&o);
	uint8_t h[5][8];
	struct reply r;
	uint64_t v[4];

	write_local("ht", "x", 1);
	for (int i = 0; i < 3; i++)
		open_file(s, "ht", SSH_FXF_READ, h[i]);
	pkt(SSH_FXP_OPENDIR, 95);
	put_s(tdir);
	pkt_end();
	expect_handle(s, 95, h[3]);
	pkt(SSH_FXP_OPEN, 96);
	put_path("ht");
	dssh_buf_put_u32(&pk, SSH_FXF_READ);
	dssh_buf_put_u32(&pk, 0);
	pkt_end();
	expect_status(s, 96, SSH_FX_FAILURE);
	CHECK_STR(status_msg, "Too many open handles");
	pkt(SSH_FXP_OPENDIR, 97);
	put_s(tdir);
	pkt_end();
	expect_status(s, 97, SSH_FX_FAILURE);
	ext(98, "limits@openssh.com");
	pkt_end();
	expect_type(s, 98, SSH_FXP_EXTENDED_REPLY, &r);
	for (int i = 0; i < 4; i++)
		dssh_buf_get_u64(&r.b, &v[i]);
	CHECK_EQ_INT(v[3], 4);
	reply_free(&r);
	close_handle(s, h[1]);
	open_file(s, "ht", SSH_FXF_READ, h[4]);
	/* A failed open does not leak a slot. */
	close_handle(s, h[4]);
	pkt(SSH_FXP_OPEN, 99);
	put_path("nonexistent");
	dssh_buf_put_u32(&pk, SSH_FXF_READ);
	dssh_buf_put_u32(&pk, 0);
	pkt_end();
	expect_status(s, 99, SSH_FX_NO_SUCH_FILE);
	open_file(s, "ht", SSH_FXF_READ, h[4]);
	/* Freed with handles still open: no leak (ASan checks). */
	dssh_sftp_free(s);
}

static void
test_read_only(void)
{
	struct dssh_sftp_opts o = { .home = tdir, .read_only = true };
	struct dssh_sftp *s = new_server(&o);
	uint8_t h[8];
	char p[512];
	struct stat st;

	write_local("ro", "readonly", 8);
	pkt(SSH_FXP_OPEN, 110);
	put_path("ro");
	dssh_buf_put_u32(&pk, SSH_FXF_WRITE);
	dssh_buf_put_u32(&pk, 0);
	pkt_end();
	expect_status(s, 110, SSH_FX_PERMISSION_DENIED);
	pkt(SSH_FXP_REMOVE, 111);
	put_path("ro");
	pkt_end();
	expect_status(s, 111, SSH_FX_PERMISSION_DENIED);
	pkt(SSH_FXP_MKDIR, 112);
	put_path("rodir");
	dssh_buf_put_u32(&pk, 0);
	pkt_end();
	expect_status(s, 112, SSH_FX_PERMISSION_DENIED);
	pkt(SSH_FXP_SETSTAT, 113);
	put_path("ro");
	dssh_buf_put_u32(&pk, SSH_FILEXFER_ATTR_PERMISSIONS);
	dssh_buf_put_u32(&pk, 0777);
	pkt_end();
	expect_status(s, 113, SSH_FX_PERMISSION_DENIED);
	ext(114, "posix-rename@openssh.com");
	put_path("ro");
	put_path("ro2");
	pkt_end();
	expect_status(s, 114, SSH_FX_PERMISSION_DENIED);
	pkt(SSH_FXP_SYMLINK, 115);
	put_s("ro");
	put_path("rolink");
	pkt_end();
	expect_status(s, 115, SSH_FX_PERMISSION_DENIED);
	tpath(p, sizeof(p), "ro");
	CHECK_EQ_INT(stat(p, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0644);
	open_file(s, "ro", SSH_FXF_READ, h);
	close_handle(s, h);
	dssh_sftp_free(s);
}

/* ---------------------------------------------------------------- errno mapping */

static int inject_errno;

static ssize_t
fail_pwrite(void *ctx, int fd, const void *buf, size_t n, uint64_t off)
{
	(void)ctx;
	(void)fd;
	(void)buf;
	(void)n;
	(void)off;
	return -inject_errno;
}

static int
fail_open(void *ctx, const char *path, int oflags, mode_t mode)
{
	if (strstr(path, "inject") != NULL)
		return -inject_errno;
	return dssh_sftp_posix_ops.open(ctx, path, oflags, mode);
}

static void
test_errno_mapping(void)
{
	static const struct {
		int err;
		uint32_t code;
		const char *msg;
	} cases[] = {
		{ ENOSPC, SSH_FX_FAILURE, "No space left on device" },
		{ EDQUOT, SSH_FX_FAILURE, "Disk quota exceeded" },
		{ EIO, SSH_FX_FAILURE, "Input/output error" },
		{ EACCES, SSH_FX_PERMISSION_DENIED, "Permission denied" },
		{ EPERM, SSH_FX_PERMISSION_DENIED, "Operation not permitted" },
		{ EROFS, SSH_FX_PERMISSION_DENIED, "Read-only file system" },
		{ ENOENT, SSH_FX_NO_SUCH_FILE, "No such file or directory" },
		{ ENOTDIR, SSH_FX_NO_SUCH_FILE, "Not a directory" },
		{ ELOOP, SSH_FX_NO_SUCH_FILE, "Too many levels of symbolic links" },
		{ EOPNOTSUPP, SSH_FX_OP_UNSUPPORTED, "Operation not supported" },
		{ ENAMETOOLONG, SSH_FX_BAD_MESSAGE, "File name too long" },
	};
	struct dssh_sftp_fs_ops ops = dssh_sftp_posix_ops;
	struct dssh_sftp_opts o = { .home = tdir, .fs = &ops };
	struct dssh_sftp *s;
	uint8_t h[8];

	ops.pwrite = fail_pwrite;
	ops.open = fail_open;
	s = new_server(&o);
	open_file(s, "full", SSH_FXF_WRITE | SSH_FXF_CREAT, h);
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(cases); i++) {
		inject_errno = cases[i].err;
		pkt(SSH_FXP_WRITE, 120);
		put_handle(h);
		dssh_buf_put_u64(&pk, 0);
		dssh_buf_put_string(&pk, "data", 4);
		pkt_end();
		expect_status(s, 120, cases[i].code);
		CHECK_STR(status_msg, cases[i].msg);
		pkt(SSH_FXP_OPEN, 121);
		put_path("inject");
		dssh_buf_put_u32(&pk, SSH_FXF_READ);
		dssh_buf_put_u32(&pk, 0);
		pkt_end();
		expect_status(s, 121, cases[i].code);
		CHECK_EQ_INT(dssh_sftp_errno_status(cases[i].err), cases[i].code);
	}
	close_handle(s, h);
	dssh_sftp_free(s);
}

/* The fd loop in a forked child: replies to every request, 0 at EOF, an error on garbage. */
static int
serve_child(const uint8_t *in, size_t n, struct dssh_buf *out)
{
	struct dssh_sftp_serve_opts o = { .home = tdir, .log_id = "serve" };
	int to[2], from[2], status = -1;
	uint8_t buf[65536];
	ssize_t k;
	pid_t pid;

	if (pipe(to) != 0 || pipe(from) != 0)
		return -1;
	if ((pid = fork()) == 0) {
		close(to[1]);
		close(from[0]);
		_exit(dssh_sftp_serve_fds(to[0], from[1], &o) == 0 ? 0 : 3);
	}
	close(to[0]);
	close(from[1]);
	/* All requests first, replies only afterwards: the child must wait in poll. */
	CHECK_EQ_INT(write(to[1], in, n), (ssize_t)n);
	close(to[1]);
	while ((k = read(from[0], buf, sizeof(buf))) > 0)
		dssh_buf_put(out, buf, (size_t)k);
	close(from[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_serve_fds(void)
{
	static uint8_t big[DSSH_SFTP_MAX_RW];
	struct dssh_buf out;
	uint8_t h[8];
	uint32_t n, count = 0;

	write_local("served", big, sizeof(big));
	/* The first OPEN gets slot 0, generation 1. */
	dssh_put_u32be(h, 0);
	dssh_put_u32be(h + 4, 1);
	pkt(SSH_FXP_INIT, 0);
	dssh_buf_put_u32(&pk, 3);
	pkt_end();
	pkt(SSH_FXP_OPEN, 1);
	put_path("served");
	dssh_buf_put_u32(&pk, SSH_FXF_READ);
	dssh_buf_put_u32(&pk, 0);
	pkt_end();
	for (uint32_t i = 0; i < 20; i++) {
		pkt(SSH_FXP_READ, 2 + i);
		put_handle(h);
		dssh_buf_put_u64(&pk, 0);
		dssh_buf_put_u32(&pk, DSSH_SFTP_MAX_RW);
		pkt_end();
	}
	dssh_buf_init(&out, 0);
	CHECK_EQ_INT(serve_child(dssh_buf_ptr(&pk), dssh_buf_len(&pk), &out), 0);
	dssh_buf_reset(&pk);
	while (dssh_buf_get_u32(&out, &n) == 0 && dssh_buf_consume(&out, n) == 0)
		count++;
	CHECK_EQ_INT(count, 22);         /* VERSION, HANDLE, 20 DATA */
	CHECK_EQ_INT(dssh_buf_len(&out), 0);
	dssh_buf_free(&out);

	/* An oversized packet: the loop ends with an error. */
	pkt(SSH_FXP_INIT, 0);
	dssh_buf_put_u32(&pk, 3);
	pkt_end();
	dssh_buf_put_u32(&pk, 0x7fffffff);
	dssh_buf_init(&out, 0);
	CHECK_EQ_INT(serve_child(dssh_buf_ptr(&pk), dssh_buf_len(&pk), &out), 3);
	dssh_buf_reset(&pk);
	dssh_buf_free(&out);
}

static void
rm_rf(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

int
main(void)
{
	char tmpl[] = "/tmp/dssh-sftp-test.XXXXXX";

	dssh_log_init("test_sftp", DSSH_LOG_ERROR, true);
	if (mkdtemp(tmpl) == NULL)
		return 1;
	/* The canonical name, as REALPATH answers it. */
	if (realpath(tmpl, tdir) == NULL)
		return 1;
	dssh_buf_init(&pk, 0);
	DSSH_RUN(test_version);
	DSSH_RUN(test_file_io);
	DSSH_RUN(test_in_flight);
	DSSH_RUN(test_backpressure);
	DSSH_RUN(test_stat_setstat);
	DSSH_RUN(test_readdir);
	DSSH_RUN(test_names);
	DSSH_RUN(test_extensions);
	DSSH_RUN(test_malformed);
	DSSH_RUN(test_handle_table);
	DSSH_RUN(test_read_only);
	DSSH_RUN(test_errno_mapping);
	DSSH_RUN(test_serve_fds);
	dssh_buf_free(&pk);
	rm_rf(tmpl);
	DSSH_TEST_END();
}
