/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SFTP protocol engine: frames packets, parses requests with the checked
 * dssh_buf getters, calls the file-system backend and builds replies in an
 * output buffer. Written from draft-ietf-secsh-filexfer-02 and OpenSSH's
 * PROTOCOL document (extensions).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "sftp_int.h"

/* A handler's "the handle is unknown, stale or of the wrong kind". */
#define SFTP_ERR_HANDLE (-1000)
#define SFTP_NAME_MAX 32

enum handle_kind { H_FREE, H_FILE, H_DIR };

struct sftp_handle {
	uint32_t gen;               /* bumped at every close: stale handles fail */
	enum handle_kind kind;
	int fd;
	void *dir;
	char *path;
	uint64_t nread, nwritten;
};

struct name_cache {
	bool valid;
	uint32_t id;
	char name[SFTP_NAME_MAX + 1];
};

struct dssh_sftp {
	char *home;
	char *log_id;
	bool read_only;
	const struct dssh_sftp_fs_ops *fs;
	void *ctx;
	bool inited, dead;
	struct dssh_buf in;         /* a packet that arrived in pieces */
	struct dssh_buf out;
	size_t reply_at;            /* start of the reply being built, from out's cursor */
	struct sftp_handle *h;
	uint32_t nh;
	struct name_cache ucache, gcache;
};

static const struct {
	const char *name;
	const char *version;
} extensions[] = {
	{ "posix-rename@openssh.com", "1" },
	{ "statvfs@openssh.com", "2" },
	{ "fstatvfs@openssh.com", "2" },
	{ "hardlink@openssh.com", "1" },
	{ "fsync@openssh.com", "1" },
	{ "lsetstat@openssh.com", "1" },
	{ "limits@openssh.com", "1" },
	{ "expand-path@openssh.com", "1" },
	{ "copy-data", "1" },
	{ "home-directory", "1" },
	{ "users-groups-by-id@openssh.com", "1" },
};

uint32_t
dssh_sftp_errno_status(int err)
{
	switch (err) {
	case 0:
		return SSH_FX_OK;
	case ENOENT:
	case ENOTDIR:
	case ELOOP:
		return SSH_FX_NO_SUCH_FILE;
	case EACCES:
	case EPERM:
	case EROFS:
		return SSH_FX_PERMISSION_DENIED;
	case ENAMETOOLONG:
	case EINVAL:
		return SSH_FX_BAD_MESSAGE;
	case ENOSYS:
	case EOPNOTSUPP:
		return SSH_FX_OP_UNSUPPORTED;
	default:            /* ENOSPC, EDQUOT, EEXIST, EIO, ... */
		return SSH_FX_FAILURE;
	}
}

/* ---------------------------------------------------------------- replies */

static int
reply_begin(struct dssh_sftp *s, uint8_t type, uint32_t id)
{
	int r;

	s->reply_at = dssh_buf_len(&s->out);
	if ((r = dssh_buf_put_u32(&s->out, 0)) != 0 ||
	    (r = dssh_buf_put_u8(&s->out, type)) != 0)
		return r;
	return type == SSH_FXP_VERSION ? 0 : dssh_buf_put_u32(&s->out, id);
}

/* Drops the reply being built (an error answer replaces it). */
static void
reply_abort(struct dssh_sftp *s)
{
	size_t len = dssh_buf_len(&s->out);

	if (len > s->reply_at)
		dssh_buf_consume_end(&s->out, len - s->reply_at);
}

static int
reply_end(struct dssh_sftp *s)
{
	size_t n = dssh_buf_len(&s->out) - s->reply_at - 4;

	if (n > DSSH_SFTP_MAX_PACKET)
		return DSSH_ERR_NO_BUFFER_SPACE;    /* answered as FAILURE */
	dssh_put_u32be(dssh_buf_mutable_ptr(&s->out) + s->reply_at, (uint32_t)n);
	return 0;
}

static int
send_status(struct dssh_sftp *s, uint32_t id, uint32_t code, const char *msg)
{
	int r;

	if ((r = reply_begin(s, SSH_FXP_STATUS, id)) != 0 ||
	    (r = dssh_buf_put_u32(&s->out, code)) != 0 ||
	    (r = dssh_buf_put_cstring(&s->out, msg)) != 0 ||
	    (r = dssh_buf_put_cstring(&s->out, "")) != 0)
		return r;
	return reply_end(s);
}

static const char *const status_msg[] = {
	"Success", "End of file", "No such file", "Permission denied", "Failure",
	"Bad message", "No connection", "Connection lost", "Operation unsupported",
};

static int
send_code(struct dssh_sftp *s, uint32_t id, uint32_t code)
{
	return send_status(s, id, code, status_msg[code]);
}

/* err: a negative errno from the backend. */
static int
send_errno(struct dssh_sftp *s, uint32_t id, int err)
{
	char buf[128];

	err = -err;
	return send_status(s, id, dssh_sftp_errno_status(err), strerror_r(err, buf, sizeof(buf)));
}

static int
send_result(struct dssh_sftp *s, uint32_t id, int rv)
{
	return rv < 0 ? send_errno(s, id, rv) : send_code(s, id, SSH_FX_OK);
}

static int
put_attrs(struct dssh_buf *b, const struct stat *st)
{
	int r;

	if (st == NULL)
		return dssh_buf_put_u32(b, 0);
	if ((r = dssh_buf_put_u32(b, SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_UIDGID |
	    SSH_FILEXFER_ATTR_PERMISSIONS | SSH_FILEXFER_ATTR_ACMODTIME)) != 0 ||
	    (r = dssh_buf_put_u64(b, (uint64_t)st->st_size)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)st->st_uid)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)st->st_gid)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)st->st_mode)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)st->st_atime)) != 0)
		return r;
	return dssh_buf_put_u32(b, (uint32_t)st->st_mtime);
}

/* A NAME reply with one entry whose long name is the name (REALPATH etc.). */
static int
send_one_name(struct dssh_sftp *s, uint32_t id, const char *name, size_t len)
{
	int r;

	if ((r = reply_begin(s, SSH_FXP_NAME, id)) != 0 ||
	    (r = dssh_buf_put_u32(&s->out, 1)) != 0 ||
	    (r = dssh_buf_put_string(&s->out, name, len)) != 0 ||
	    (r = dssh_buf_put_string(&s->out, name, len)) != 0 ||
	    (r = put_attrs(&s->out, NULL)) != 0)
		return r;
	return reply_end(s);
}

/* ---------------------------------------------------------------- requests */

static bool
is_absolute(const char *p)
{
	return p[0] == '/';
}

/* Relative paths are taken from the home directory when there is one. */
static int
make_path(struct dssh_sftp *s, const char *raw, char **out)
{
	size_t hl, rl;

	if (s->home == NULL || is_absolute(raw)) {
		*out = strdup(raw[0] != '\0' ? raw : ".");
		return *out != NULL ? 0 : DSSH_ERR_ALLOC;
	}
	hl = strlen(s->home);
	rl = strlen(raw);
	if ((*out = malloc(hl + 1 + rl + 1)) == NULL)
		return DSSH_ERR_ALLOC;
	memcpy(*out, s->home, hl);
	(*out)[hl] = '/';
	memcpy(*out + hl + 1, raw, rl + 1);
	if (rl == 0)
		(*out)[hl] = '\0';
	return 0;
}

static int
get_path(struct dssh_sftp *s, struct dssh_buf *m, char **out)
{
	char *raw;
	int r;

	*out = NULL;
	if ((r = dssh_buf_get_cstring(m, &raw, NULL)) != 0)
		return r;
	r = make_path(s, raw, out);
	free(raw);
	return r;
}

static int
get_attrs(struct dssh_buf *m, struct dssh_sftp_attrs *a)
{
	uint32_t n;
	int r;

	memset(a, 0, sizeof(*a));
	if ((r = dssh_buf_get_u32(m, &a->flags)) != 0)
		return r;
	if ((a->flags & SSH_FILEXFER_ATTR_SIZE) && (r = dssh_buf_get_u64(m, &a->size)) != 0)
		return r;
	if ((a->flags & SSH_FILEXFER_ATTR_UIDGID) &&
	    ((r = dssh_buf_get_u32(m, &a->uid)) != 0 || (r = dssh_buf_get_u32(m, &a->gid)) != 0))
		return r;
	if ((a->flags & SSH_FILEXFER_ATTR_PERMISSIONS) && (r = dssh_buf_get_u32(m, &a->perm)) != 0)
		return r;
	if ((a->flags & SSH_FILEXFER_ATTR_ACMODTIME) &&
	    ((r = dssh_buf_get_u32(m, &a->atime)) != 0 || (r = dssh_buf_get_u32(m, &a->mtime)) != 0))
		return r;
	if (a->flags & SSH_FILEXFER_ATTR_EXTENDED) {
		if ((r = dssh_buf_get_u32(m, &n)) != 0)
			return r;
		/* Ignored pairs; the loop ends when the packet does. */
		for (; n > 0; n--)
			if ((r = dssh_buf_skip_string(m)) != 0 || (r = dssh_buf_skip_string(m)) != 0)
				return r;
	}
	a->flags &= ~SSH_FILEXFER_ATTR_EXTENDED;
	return 0;
}

static int
get_handle(struct dssh_sftp *s, struct dssh_buf *m, enum handle_kind kind,
    struct sftp_handle **hp)
{
	const uint8_t *p;
	size_t len;
	uint32_t idx;
	int r;

	if ((r = dssh_buf_get_string_direct(m, &p, &len)) != 0)
		return r;
	if (len != SFTP_HANDLE_LEN)
		return SFTP_ERR_HANDLE;
	idx = dssh_get_u32be(p);
	if (idx >= s->nh || s->h[idx].kind == H_FREE || s->h[idx].gen != dssh_get_u32be(p + 4) ||
	    (kind != H_FREE && s->h[idx].kind != kind))
		return SFTP_ERR_HANDLE;
	*hp = &s->h[idx];
	return 0;
}

static int
handle_alloc(struct dssh_sftp *s, enum handle_kind kind, const char *path, uint32_t *idx)
{
	for (uint32_t i = 0; i < s->nh; i++) {
		struct sftp_handle *h = &s->h[i];

		if (h->kind != H_FREE)
			continue;
		if ((h->path = strdup(path)) == NULL)
			return DSSH_ERR_ALLOC;
		h->kind = kind;
		h->fd = -1;
		h->dir = NULL;
		h->nread = h->nwritten = 0;
		*idx = i;
		return 0;
	}
	return DSSH_ERR_BUSY;
}

static int
handle_close(struct dssh_sftp *s, struct sftp_handle *h)
{
	int rv = 0;

	if (h->kind == H_FILE && h->fd >= 0)
		rv = s->fs->close(s->ctx, h->fd);
	else if (h->kind == H_DIR && h->dir != NULL)
		s->fs->closedir(s->ctx, h->dir);
	free(h->path);
	h->path = NULL;
	h->kind = H_FREE;
	h->gen++;
	return rv;
}

static int
send_handle(struct dssh_sftp *s, uint32_t id, uint32_t idx)
{
	uint8_t hs[SFTP_HANDLE_LEN];
	int r;

	dssh_put_u32be(hs, idx);
	dssh_put_u32be(hs + 4, s->h[idx].gen);
	if ((r = reply_begin(s, SSH_FXP_HANDLE, id)) != 0 ||
	    (r = dssh_buf_put_string(&s->out, hs, sizeof(hs))) != 0)
		return r;
	return reply_end(s);
}

static int
deny_read_only(struct dssh_sftp *s, uint32_t id, const char *what)
{
	dssh_verbose("%s: refused %s: read-only", s->log_id, what);
	return send_status(s, id, SSH_FX_PERMISSION_DENIED, "Read-only server");
}

static int
open_flags(uint32_t pflags)
{
	int fl;

	if ((pflags & SSH_FXF_READ) && (pflags & SSH_FXF_WRITE))
		fl = O_RDWR;
	else if (pflags & (SSH_FXF_WRITE | SSH_FXF_APPEND))
		fl = O_WRONLY;
	else
		fl = O_RDONLY;
	if (pflags & SSH_FXF_APPEND)
		fl |= O_APPEND;
	if (pflags & SSH_FXF_CREAT)
		fl |= O_CREAT;
	if (pflags & SSH_FXF_TRUNC)
		fl |= O_TRUNC;
	if (pflags & SSH_FXF_EXCL)
		fl |= O_EXCL;
	return fl | O_NOCTTY | O_CLOEXEC;
}

static int
req_open(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	struct dssh_sftp_attrs a;
	uint32_t pflags, idx;
	mode_t mode;
	char *path;
	int r, fd;

	if ((r = get_path(s, m, &path)) != 0 || (r = dssh_buf_get_u32(m, &pflags)) != 0 ||
	    (r = get_attrs(m, &a)) != 0)
		goto out;
	mode = (a.flags & SSH_FILEXFER_ATTR_PERMISSIONS) ? (a.perm & 07777) : 0666;
	dssh_verbose("%s: open \"%s\" flags 0x%x mode 0%o", s->log_id, path, pflags, mode);
	if (s->read_only && (pflags & (SSH_FXF_WRITE | SSH_FXF_APPEND | SSH_FXF_CREAT | SSH_FXF_TRUNC))) {
		r = deny_read_only(s, id, "open for writing");
		goto out;
	}
	if ((r = handle_alloc(s, H_FILE, path, &idx)) == DSSH_ERR_BUSY) {
		dssh_info("%s: open \"%s\": handle table full", s->log_id, path);
		r = send_status(s, id, SSH_FX_FAILURE, "Too many open handles");
		goto out;
	} else if (r != 0)
		goto out;
	if ((fd = s->fs->open(s->ctx, path, open_flags(pflags), mode)) < 0) {
		handle_close(s, &s->h[idx]);
		r = send_errno(s, id, fd);
		goto out;
	}
	s->h[idx].fd = fd;
	r = send_handle(s, id, idx);
out:
	free(path);
	return r;
}

static int
req_close(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	struct sftp_handle *h;
	int r;

	if ((r = get_handle(s, m, H_FREE, &h)) != 0)
		return r;
	if (h->kind == H_FILE)
		dssh_verbose("%s: close \"%s\" bytes read %llu written %llu", s->log_id, h->path,
		    (unsigned long long)h->nread, (unsigned long long)h->nwritten);
	else
		dssh_verbose("%s: closedir \"%s\"", s->log_id, h->path);
	return send_result(s, id, handle_close(s, h));
}

/* Fills up to n bytes at p from the file: short only at end of file or on an error. */
static ssize_t
read_full(struct dssh_sftp *s, int fd, uint8_t *p, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = s->fs->pread(s->ctx, fd, p + got, n - got, off + got);

		if (k < 0)
			return got > 0 ? (ssize_t)got : k;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

static ssize_t
write_full(struct dssh_sftp *s, int fd, const uint8_t *p, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = s->fs->pwrite(s->ctx, fd, p + done, n - done, off + done);

		if (k < 0)
			return k;
		if (k == 0)
			return -EIO;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

static int
req_read(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	struct sftp_handle *h;
	uint64_t off;
	uint32_t len;
	uint8_t *p;
	ssize_t got;
	int r;

	if ((r = get_handle(s, m, H_FILE, &h)) != 0 || (r = dssh_buf_get_u64(m, &off)) != 0 ||
	    (r = dssh_buf_get_u32(m, &len)) != 0)
		return r;
	if (len > DSSH_SFTP_MAX_RW)
		len = DSSH_SFTP_MAX_RW;    /* a short read; the client asks for the rest */
	/* The data goes straight from the file into the reply. */
	if ((r = reply_begin(s, SSH_FXP_DATA, id)) != 0 ||
	    (r = dssh_buf_put_u32(&s->out, len)) != 0 ||
	    (r = dssh_buf_reserve(&s->out, len, &p)) != 0)
		return r;
	got = read_full(s, h->fd, p, len, off);
	if (got <= 0) {
		reply_abort(s);
		return got == 0 ? send_code(s, id, SSH_FX_EOF) : send_errno(s, id, (int)got);
	}
	dssh_buf_consume_end(&s->out, len - (size_t)got);
	dssh_put_u32be(p - 4, (uint32_t)got);
	h->nread += (uint64_t)got;
	return reply_end(s);
}

static int
req_write(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	struct sftp_handle *h;
	const uint8_t *data;
	uint64_t off;
	size_t len;
	ssize_t k;
	int r;

	if ((r = get_handle(s, m, H_FILE, &h)) != 0 || (r = dssh_buf_get_u64(m, &off)) != 0 ||
	    (r = dssh_buf_get_string_direct(m, &data, &len)) != 0)
		return r;
	if ((k = write_full(s, h->fd, data, len, off)) < 0) {
		dssh_verbose("%s: write \"%s\" at %llu: %s", s->log_id, h->path,
		    (unsigned long long)off, strerror(-(int)k));
		return send_errno(s, id, (int)k);
	}
	h->nwritten += len;
	return send_code(s, id, SSH_FX_OK);
}

static int
send_stat(struct dssh_sftp *s, uint32_t id, int rv, const struct stat *st)
{
	int r;

	if (rv < 0)
		return send_errno(s, id, rv);
	if ((r = reply_begin(s, SSH_FXP_ATTRS, id)) != 0 || (r = put_attrs(&s->out, st)) != 0)
		return r;
	return reply_end(s);
}

static int
stat_path(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m, bool follow)
{
	struct stat st;
	char *path;
	int r;

	if ((r = get_path(s, m, &path)) != 0)
		return r;
	dssh_debug("%s: %s \"%s\"", s->log_id, follow ? "stat" : "lstat", path);
	r = send_stat(s, id, s->fs->stat(s->ctx, path, follow, &st), &st);
	free(path);
	return r;
}

static int
req_stat(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	return stat_path(s, id, m, true);
}

static int
req_lstat(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	return stat_path(s, id, m, false);
}

static int
req_fstat(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	struct sftp_handle *h;
	struct stat st;
	int r;

	if ((r = get_handle(s, m, H_FILE, &h)) != 0)
		return r;
	return send_stat(s, id, s->fs->fstat(s->ctx, h->fd, &st), &st);
}

static void
log_setstat(struct dssh_sftp *s, const char *what, const char *path,
    const struct dssh_sftp_attrs *a)
{
	dssh_verbose("%s: %s \"%s\"%s%s%s%s", s->log_id, what, path,
	    (a->flags & SSH_FILEXFER_ATTR_SIZE) ? " size" : "",
	    (a->flags & SSH_FILEXFER_ATTR_UIDGID) ? " owner" : "",
	    (a->flags & SSH_FILEXFER_ATTR_PERMISSIONS) ? " mode" : "",
	    (a->flags & SSH_FILEXFER_ATTR_ACMODTIME) ? " times" : "");
}

static int
setstat_path(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m, bool follow)
{
	struct dssh_sftp_attrs a;
	char *path;
	int r;

	if ((r = get_path(s, m, &path)) != 0 || (r = get_attrs(m, &a)) != 0)
		goto out;
	log_setstat(s, follow ? "setstat" : "lsetstat", path, &a);
	if (s->read_only)
		r = deny_read_only(s, id, "setstat");
	else
		r = send_result(s, id, s->fs->setstat(s->ctx, path, -1, follow, &a));
out:
	free(path);
	return r;
}

static int
req_setstat(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	return setstat_path(s, id, m, true);
}

static int
req_fsetstat(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	struct dssh_sftp_attrs a;
	struct sftp_handle *h;
	int r;

	if ((r = get_handle(s, m, H_FILE, &h)) != 0 || (r = get_attrs(m, &a)) != 0)
		return r;
	log_setstat(s, "fsetstat", h->path, &a);
	if (s->read_only)
		return deny_read_only(s, id, "fsetstat");
	return send_result(s, id, s->fs->setstat(s->ctx, NULL, h->fd, true, &a));
}

static int
req_opendir(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	uint32_t idx;
	char *path;
	int r, rv;

	if ((r = get_path(s, m, &path)) != 0)
		goto out;
	dssh_verbose("%s: opendir \"%s\"", s->log_id, path);
	if ((r = handle_alloc(s, H_DIR, path, &idx)) == DSSH_ERR_BUSY) {
		r = send_status(s, id, SSH_FX_FAILURE, "Too many open handles");
		goto out;
	} else if (r != 0)
		goto out;
	if ((rv = s->fs->opendir(s->ctx, path, &s->h[idx].dir)) < 0) {
		handle_close(s, &s->h[idx]);
		r = send_errno(s, id, rv);
		goto out;
	}
	r = send_handle(s, id, idx);
out:
	free(path);
	return r;
}

static const char *
cached_name(struct dssh_sftp *s, struct name_cache *c, uint32_t id, bool user)
{
	int rv;

	if (c->valid && c->id == id)
		return c->name;
	rv = user ? s->fs->user_name(s->ctx, id, c->name, sizeof(c->name)) :
	    s->fs->group_name(s->ctx, id, c->name, sizeof(c->name));
	if (rv < 0)
		snprintf(c->name, sizeof(c->name), "%u", id);
	c->valid = true;
	c->id = id;
	return c->name;
}

static void
mode_string(mode_t m, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";

	switch (m & S_IFMT) {
	case S_IFDIR: out[0] = 'd'; break;
	case S_IFLNK: out[0] = 'l'; break;
	case S_IFCHR: out[0] = 'c'; break;
	case S_IFBLK: out[0] = 'b'; break;
	case S_IFIFO: out[0] = 'p'; break;
	case S_IFSOCK: out[0] = 's'; break;
	default: out[0] = '-'; break;
	}
	for (int i = 0; i < 9; i++)
		out[1 + i] = (m & (0400u >> i)) ? rwx[i] : '-';
	if (m & S_ISUID)
		out[3] = (m & S_IXUSR) ? 's' : 'S';
	if (m & S_ISGID)
		out[6] = (m & S_IXGRP) ? 's' : 'S';
	if (m & S_ISVTX)
		out[9] = (m & S_IXOTH) ? 't' : 'T';
	out[10] = '\0';
}

/* "ls -l" style, as OpenSSH's sftp shows it for a version 3 server. */
static int
put_longname(struct dssh_sftp *s, const char *name, const struct stat *st)
{
	char mode[11], when[32], buf[SFTP_NAME_MAX * 2 + 128];
	time_t now = time(NULL), t = st->st_mtime;
	const char *user, *group;
	struct tm tm;
	int n;

	mode_string(st->st_mode, mode);
	user = cached_name(s, &s->ucache, (uint32_t)st->st_uid, true);
	group = cached_name(s, &s->gcache, (uint32_t)st->st_gid, false);
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), (t > now - 182 * 86400 && t < now + 86400) ?
	    "%b %e %H:%M" : "%b %e  %Y", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)t);
	n = snprintf(buf, sizeof(buf), "%s %3lu %-8s %-8s %8llu %s ", mode,
	    (unsigned long)st->st_nlink, user, group, (unsigned long long)st->st_size, when);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return DSSH_ERR_INTERNAL;
	size_t nl = strlen(name);
	int r;
	uint8_t *p;

	if ((r = dssh_buf_put_u32(&s->out, (uint32_t)(n + nl))) != 0 ||
	    (r = dssh_buf_reserve(&s->out, (size_t)n + nl, &p)) != 0)
		return r;
	memcpy(p, buf, (size_t)n);
	memcpy(p + n, name, nl);
	return 0;
}

static int
req_readdir(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	struct sftp_handle *h;
	const char *name;
	struct stat st;
	bool have_st;
	uint32_t count = 0;
	size_t count_at;
	int r, rv = 0;

	if ((r = get_handle(s, m, H_DIR, &h)) != 0)
		return r;
	if ((r = reply_begin(s, SSH_FXP_NAME, id)) != 0)
		return r;
	count_at = dssh_buf_len(&s->out);
	if ((r = dssh_buf_put_u32(&s->out, 0)) != 0)
		return r;
	while (count < SFTP_READDIR_BATCH &&
	    (rv = s->fs->readdir(s->ctx, h->dir, &name, &st, &have_st)) > 0) {
		if ((r = dssh_buf_put_cstring(&s->out, name)) != 0)
			return r;
		if (have_st)
			r = put_longname(s, name, &st);
		else
			r = dssh_buf_put_cstring(&s->out, name);
		if (r != 0 || (r = put_attrs(&s->out, have_st ? &st : NULL)) != 0)
			return r;
		count++;
	}
	if (count == 0) {
		reply_abort(s);
		return rv < 0 ? send_errno(s, id, rv) : send_code(s, id, SSH_FX_EOF);
	}
	dssh_put_u32be(dssh_buf_mutable_ptr(&s->out) + count_at, count);
	return reply_end(s);
}

/* One path, one backend call, a status reply; modifying requests obey -R. */
static int
path_op(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m, const char *what,
    int (*op)(void *, const char *))
{
	char *path;
	int r;

	if ((r = get_path(s, m, &path)) != 0)
		return r;
	dssh_verbose("%s: %s \"%s\"", s->log_id, what, path);
	if (s->read_only)
		r = deny_read_only(s, id, what);
	else
		r = send_result(s, id, op(s->ctx, path));
	free(path);
	return r;
}

static int
req_remove(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	return path_op(s, id, m, "remove", s->fs->unlink);
}

static int
req_rmdir(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	return path_op(s, id, m, "rmdir", s->fs->rmdir);
}

static int
req_mkdir(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	struct dssh_sftp_attrs a;
	char *path;
	int r;

	if ((r = get_path(s, m, &path)) != 0 || (r = get_attrs(m, &a)) != 0)
		goto out;
	dssh_verbose("%s: mkdir \"%s\"", s->log_id, path);
	if (s->read_only)
		r = deny_read_only(s, id, "mkdir");
	else
		r = send_result(s, id, s->fs->mkdir(s->ctx, path,
		    (a.flags & SSH_FILEXFER_ATTR_PERMISSIONS) ? (a.perm & 07777) : 0777));
out:
	free(path);
	return r;
}

static int
send_realpath(struct dssh_sftp *s, uint32_t id, const char *path)
{
	char *canon;
	int rv, r;

	if ((rv = s->fs->realpath(s->ctx, path, &canon)) < 0)
		return send_errno(s, id, rv);
	dssh_debug("%s: realpath \"%s\" -> \"%s\"", s->log_id, path, canon);
	r = send_one_name(s, id, canon, strlen(canon));
	free(canon);
	return r;
}

static int
req_realpath(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	char *path;
	int r;

	if ((r = get_path(s, m, &path)) != 0)
		return r;
	r = send_realpath(s, id, path);
	free(path);
	return r;
}

/* Two paths and a backend call: rename, posix-rename, hardlink. */
static int
two_paths(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m, const char *what,
    int (*op)(struct dssh_sftp *, const char *, const char *))
{
	char *from = NULL, *to = NULL;
	int r;

	if ((r = get_path(s, m, &from)) != 0 || (r = get_path(s, m, &to)) != 0)
		goto out;
	dssh_verbose("%s: %s \"%s\" \"%s\"", s->log_id, what, from, to);
	if (s->read_only)
		r = deny_read_only(s, id, what);
	else
		r = send_result(s, id, op(s, from, to));
out:
	free(from);
	free(to);
	return r;
}

static int
op_rename(struct dssh_sftp *s, const char *from, const char *to)
{
	/* Version 3 RENAME must not replace an existing target. */
	return s->fs->rename(s->ctx, from, to, true);
}

static int
op_posix_rename(struct dssh_sftp *s, const char *from, const char *to)
{
	return s->fs->rename(s->ctx, from, to, false);
}

static int
op_link(struct dssh_sftp *s, const char *from, const char *to)
{
	return s->fs->link(s->ctx, from, to);
}

static int
req_rename(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	return two_paths(s, id, m, "rename", op_rename);
}

static int
req_readlink(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	char *path, *buf;
	ssize_t n;
	int r;

	if ((r = get_path(s, m, &path)) != 0)
		return r;
	if ((buf = malloc(PATH_MAX)) == NULL) {
		free(path);
		return DSSH_ERR_ALLOC;
	}
	if ((n = s->fs->readlink(s->ctx, path, buf, PATH_MAX)) < 0)
		r = send_errno(s, id, (int)n);
	else
		r = send_one_name(s, id, buf, (size_t)n);
	free(buf);
	free(path);
	return r;
}

/*
 * OpenSSH sends the link's target first and the new link's path second,
 * the reverse of the draft; its clients are the ones that matter, so the
 * target (stored as given, never made absolute) comes first here too.
 */
static int
req_symlink(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	char *target = NULL, *link = NULL;
	int r;

	if ((r = dssh_buf_get_cstring(m, &target, NULL)) != 0 || (r = get_path(s, m, &link)) != 0)
		goto out;
	dssh_verbose("%s: symlink \"%s\" -> \"%s\"", s->log_id, link, target);
	if (s->read_only)
		r = deny_read_only(s, id, "symlink");
	else
		r = send_result(s, id, s->fs->symlink(s->ctx, target, link));
out:
	free(target);
	free(link);
	return r;
}

/* ---------------------------------------------------------------- extensions */

static int
ext_posix_rename(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	return two_paths(s, id, m, "posix-rename", op_posix_rename);
}

static int
ext_hardlink(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	return two_paths(s, id, m, "hardlink", op_link);
}

static int
send_statvfs(struct dssh_sftp *s, uint32_t id, int rv, const struct statvfs *sv)
{
	uint64_t v[11];
	int r;

	if (rv < 0)
		return send_errno(s, id, rv);
	v[0] = sv->f_bsize;
	v[1] = sv->f_frsize;
	v[2] = sv->f_blocks;
	v[3] = sv->f_bfree;
	v[4] = sv->f_bavail;
	v[5] = sv->f_files;
	v[6] = sv->f_ffree;
	v[7] = sv->f_favail;
	v[8] = sv->f_fsid;
	v[9] = ((sv->f_flag & ST_RDONLY) ? SSH_FXE_STATVFS_ST_RDONLY : 0) |
	    ((sv->f_flag & ST_NOSUID) ? SSH_FXE_STATVFS_ST_NOSUID : 0);
	v[10] = sv->f_namemax;
	if ((r = reply_begin(s, SSH_FXP_EXTENDED_REPLY, id)) != 0)
		return r;
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(v); i++)
		if ((r = dssh_buf_put_u64(&s->out, v[i])) != 0)
			return r;
	return reply_end(s);
}

static int
ext_statvfs(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	struct statvfs sv;
	char *path;
	int r;

	if ((r = get_path(s, m, &path)) != 0)
		return r;
	dssh_debug("%s: statvfs \"%s\"", s->log_id, path);
	r = send_statvfs(s, id, s->fs->statvfs(s->ctx, path, -1, &sv), &sv);
	free(path);
	return r;
}

static int
ext_fstatvfs(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	struct sftp_handle *h;
	struct statvfs sv;
	int r;

	if ((r = get_handle(s, m, H_FILE, &h)) != 0)
		return r;
	return send_statvfs(s, id, s->fs->statvfs(s->ctx, NULL, h->fd, &sv), &sv);
}

static int
ext_fsync(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	struct sftp_handle *h;
	int r;

	if ((r = get_handle(s, m, H_FILE, &h)) != 0)
		return r;
	dssh_debug("%s: fsync \"%s\"", s->log_id, h->path);
	return send_result(s, id, s->fs->fsync(s->ctx, h->fd));
}

static int
ext_lsetstat(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	return setstat_path(s, id, m, false);
}

static int
ext_limits(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	int r;

	(void)m;
	if ((r = reply_begin(s, SSH_FXP_EXTENDED_REPLY, id)) != 0 ||
	    (r = dssh_buf_put_u64(&s->out, DSSH_SFTP_MAX_PACKET)) != 0 ||
	    (r = dssh_buf_put_u64(&s->out, DSSH_SFTP_MAX_RW)) != 0 ||
	    (r = dssh_buf_put_u64(&s->out, DSSH_SFTP_MAX_RW)) != 0 ||
	    (r = dssh_buf_put_u64(&s->out, s->nh)) != 0)
		return r;
	return reply_end(s);
}

/* A home directory: "" is the session's own. */
static int
home_of(struct dssh_sftp *s, const char *user, char **out)
{
	if (user[0] == '\0' && s->home != NULL) {
		*out = strdup(s->home);
		return *out != NULL ? 0 : -ENOMEM;
	}
	return s->fs->user_home(s->ctx, user, out);
}

static int
ext_home_directory(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	char *user, *home;
	int r, rv;

	if ((r = dssh_buf_get_cstring(m, &user, NULL)) != 0)
		return r;
	if ((rv = home_of(s, user, &home)) < 0) {
		r = send_errno(s, id, rv);
	} else {
		r = send_one_name(s, id, home, strlen(home));
		free(home);
	}
	free(user);
	return r;
}

/* "~", "~/x", "~user", "~user/x": the home directory put in front. */
static int
expand_tilde(struct dssh_sftp *s, const char *raw, char **out)
{
	const char *rest = strchr(raw, '/');
	size_t ulen = rest != NULL ? (size_t)(rest - raw - 1) : strlen(raw + 1);
	char *user, *home;
	int rv;

	if ((user = dssh_strndup(raw + 1, ulen)) == NULL)
		return -ENOMEM;
	rv = home_of(s, user, &home);
	free(user);
	if (rv < 0)
		return rv;
	if (rest == NULL || rest[1] == '\0') {
		*out = home;
		return 0;
	}
	size_t hl = strlen(home), rl = strlen(rest);

	if ((*out = malloc(hl + rl + 1)) != NULL) {
		memcpy(*out, home, hl);
		memcpy(*out + hl, rest, rl + 1);
	}
	free(home);
	return *out != NULL ? 0 : -ENOMEM;
}

static int
ext_expand_path(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	char *raw, *exp = NULL, *path = NULL;
	int r, rv;

	if ((r = dssh_buf_get_cstring(m, &raw, NULL)) != 0)
		return r;
	if (raw[0] == '~') {
		if ((rv = expand_tilde(s, raw, &exp)) < 0) {
			r = send_errno(s, id, rv);
			goto out;
		}
	}
	if ((r = make_path(s, exp != NULL ? exp : raw, &path)) == 0)
		r = send_realpath(s, id, path);
out:
	free(raw);
	free(exp);
	free(path);
	return r;
}

static int
copy_range(struct dssh_sftp *s, struct sftp_handle *rh, uint64_t roff, uint64_t len,
    struct sftp_handle *wh, uint64_t woff)
{
	uint8_t *buf = malloc(SFTP_COPY_CHUNK);
	int rv = 0;

	if (buf == NULL)
		return -ENOMEM;
	/* len 0: up to the end of the file. */
	for (uint64_t done = 0; len == 0 || done < len;) {
		size_t want = SFTP_COPY_CHUNK;
		ssize_t k;

		if (len != 0 && len - done < want)
			want = (size_t)(len - done);
		if ((k = read_full(s, rh->fd, buf, want, roff + done)) <= 0) {
			rv = (int)k;
			break;
		}
		if ((rv = (int)write_full(s, wh->fd, buf, (size_t)k, woff + done)) < 0)
			break;
		rv = 0;
		done += (uint64_t)k;
		rh->nread += (uint64_t)k;
		wh->nwritten += (uint64_t)k;
	}
	free(buf);
	return rv;
}

static bool
ranges_overlap(uint64_t a, uint64_t b, uint64_t len)
{
	if (len == 0)
		return true;       /* "to the end" of a file that grows as it is copied */
	return a < b ? b - a < len : a - b < len;
}

static int
ext_copy_data(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	struct sftp_handle *rh, *wh;
	uint64_t roff, len, woff;
	int r;

	if ((r = get_handle(s, m, H_FILE, &rh)) != 0 || (r = dssh_buf_get_u64(m, &roff)) != 0 ||
	    (r = dssh_buf_get_u64(m, &len)) != 0 || (r = get_handle(s, m, H_FILE, &wh)) != 0 ||
	    (r = dssh_buf_get_u64(m, &woff)) != 0)
		return r;
	dssh_verbose("%s: copy-data \"%s\" -> \"%s\" %llu bytes", s->log_id, rh->path, wh->path,
	    (unsigned long long)len);
	if (s->read_only)
		return deny_read_only(s, id, "copy-data");
	if (rh == wh && ranges_overlap(roff, woff, len))
		return send_status(s, id, SSH_FX_FAILURE, "Overlapping copy-data ranges");
	return send_result(s, id, copy_range(s, rh, roff, len, wh, woff));
}

/* Packed u32 ids in, packed name strings out (empty when unknown). */
static int
put_names(struct dssh_sftp *s, const uint8_t *ids, size_t len, bool user)
{
	size_t at = dssh_buf_len(&s->out);
	char name[SFTP_NAME_MAX + 1];
	int r;

	if ((r = dssh_buf_put_u32(&s->out, 0)) != 0)
		return r;
	for (size_t i = 0; i + 4 <= len; i += 4) {
		uint32_t id = dssh_get_u32be(ids + i);
		int rv = user ? s->fs->user_name(s->ctx, id, name, sizeof(name)) :
		    s->fs->group_name(s->ctx, id, name, sizeof(name));

		if ((r = dssh_buf_put_cstring(&s->out, rv < 0 ? "" : name)) != 0)
			return r;
		if (dssh_buf_len(&s->out) - s->reply_at > DSSH_SFTP_MAX_PACKET)
			return DSSH_ERR_NO_BUFFER_SPACE;
	}
	dssh_put_u32be(dssh_buf_mutable_ptr(&s->out) + at,
	    (uint32_t)(dssh_buf_len(&s->out) - at - 4));
	return 0;
}

static int
ext_users_groups(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	const uint8_t *uids, *gids;
	size_t nu, ng;
	int r;

	if ((r = dssh_buf_get_string_direct(m, &uids, &nu)) != 0 ||
	    (r = dssh_buf_get_string_direct(m, &gids, &ng)) != 0)
		return r;
	if (nu % 4 != 0 || ng % 4 != 0)
		return DSSH_ERR_INVALID_FORMAT;
	if ((r = reply_begin(s, SSH_FXP_EXTENDED_REPLY, id)) != 0 ||
	    (r = put_names(s, uids, nu, true)) != 0 ||
	    (r = put_names(s, gids, ng, false)) != 0)
		return r;
	return reply_end(s);
}

typedef int (*req_fn)(struct dssh_sftp *, uint32_t, struct dssh_buf *);

static const struct {
	const char *name;
	req_fn fn;
} ext_handlers[] = {
	{ "posix-rename@openssh.com", ext_posix_rename },
	{ "statvfs@openssh.com", ext_statvfs },
	{ "fstatvfs@openssh.com", ext_fstatvfs },
	{ "hardlink@openssh.com", ext_hardlink },
	{ "fsync@openssh.com", ext_fsync },
	{ "lsetstat@openssh.com", ext_lsetstat },
	{ "limits@openssh.com", ext_limits },
	{ "expand-path@openssh.com", ext_expand_path },
	{ "copy-data", ext_copy_data },
	{ "home-directory", ext_home_directory },
	{ "users-groups-by-id@openssh.com", ext_users_groups },
};

static int
req_extended(struct dssh_sftp *s, uint32_t id, struct dssh_buf *m)
{
	const uint8_t *name;
	size_t len;
	int r;

	if ((r = dssh_buf_get_string_direct(m, &name, &len)) != 0)
		return r;
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(ext_handlers); i++)
		if (strlen(ext_handlers[i].name) == len &&
		    memcmp(ext_handlers[i].name, name, len) == 0)
			return ext_handlers[i].fn(s, id, m);
	dssh_verbose("%s: unsupported extended request (%zu bytes of name)", s->log_id, len);
	return send_code(s, id, SSH_FX_OP_UNSUPPORTED);
}

static const struct {
	const char *name;
	req_fn fn;
} handlers[] = {
	[SSH_FXP_OPEN] = { "open", req_open },
	[SSH_FXP_CLOSE] = { "close", req_close },
	[SSH_FXP_READ] = { "read", req_read },
	[SSH_FXP_WRITE] = { "write", req_write },
	[SSH_FXP_LSTAT] = { "lstat", req_lstat },
	[SSH_FXP_FSTAT] = { "fstat", req_fstat },
	[SSH_FXP_SETSTAT] = { "setstat", req_setstat },
	[SSH_FXP_FSETSTAT] = { "fsetstat", req_fsetstat },
	[SSH_FXP_OPENDIR] = { "opendir", req_opendir },
	[SSH_FXP_READDIR] = { "readdir", req_readdir },
	[SSH_FXP_REMOVE] = { "remove", req_remove },
	[SSH_FXP_MKDIR] = { "mkdir", req_mkdir },
	[SSH_FXP_RMDIR] = { "rmdir", req_rmdir },
	[SSH_FXP_REALPATH] = { "realpath", req_realpath },
	[SSH_FXP_STAT] = { "stat", req_stat },
	[SSH_FXP_RENAME] = { "rename", req_rename },
	[SSH_FXP_READLINK] = { "readlink", req_readlink },
	[SSH_FXP_SYMLINK] = { "symlink", req_symlink },
};

/* ---------------------------------------------------------------- framing */

static int
fatal(struct dssh_sftp *s, int err, const char *why)
{
	dssh_error("%s: %s: ending the session", s->log_id, why);
	s->dead = true;
	return err;
}

static int
process_init(struct dssh_sftp *s, struct dssh_buf *m)
{
	uint32_t version;
	int r;

	if (dssh_buf_get_u32(m, &version) != 0)
		return fatal(s, DSSH_ERR_PROTOCOL, "INIT without a version");
	dssh_verbose("%s: client protocol version %u", s->log_id, version);
	if ((r = reply_begin(s, SSH_FXP_VERSION, 0)) != 0 ||
	    (r = dssh_buf_put_u32(&s->out, SFTP_PROTOCOL_VERSION)) != 0)
		return r;
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(extensions); i++)
		if ((r = dssh_buf_put_cstring(&s->out, extensions[i].name)) != 0 ||
		    (r = dssh_buf_put_cstring(&s->out, extensions[i].version)) != 0)
			return r;
	s->inited = true;
	return reply_end(s);
}

static int
process_packet(struct dssh_sftp *s, const uint8_t *p, size_t n)
{
	struct dssh_buf m;
	const char *name;
	uint8_t type;
	uint32_t id;
	int r;

	dssh_buf_from(&m, p, n);
	if (dssh_buf_get_u8(&m, &type) != 0)
		return fatal(s, DSSH_ERR_PROTOCOL, "empty packet");
	if (!s->inited)
		return type == SSH_FXP_INIT ? process_init(s, &m) :
		    fatal(s, DSSH_ERR_PROTOCOL, "first packet is not INIT");
	if (type == SSH_FXP_INIT)
		return fatal(s, DSSH_ERR_PROTOCOL, "INIT received twice");
	if (dssh_buf_get_u32(&m, &id) != 0)
		return fatal(s, DSSH_ERR_PROTOCOL, "request without an id");
	if (type == SSH_FXP_EXTENDED) {
		name = "extended";
		r = req_extended(s, id, &m);
	} else if (type < DSSH_ARRAY_SIZE(handlers) && handlers[type].fn != NULL) {
		name = handlers[type].name;
		r = handlers[type].fn(s, id, &m);
	} else {
		dssh_verbose("%s: unsupported request type %u", s->log_id, type);
		return send_code(s, id, SSH_FX_OP_UNSUPPORTED);
	}
	if (r == 0)
		return 0;
	reply_abort(s);
	switch (r) {
	case SFTP_ERR_HANDLE:
		dssh_info("%s: %s: invalid handle", s->log_id, name);
		return send_status(s, id, SSH_FX_BAD_MESSAGE, "Invalid handle");
	case DSSH_ERR_MSG_INCOMPLETE:
	case DSSH_ERR_INVALID_FORMAT:
	case DSSH_ERR_STRING_TOO_LARGE:
		dssh_info("%s: malformed %s request (id %u): %s", s->log_id, name, id,
		    dssh_err_str(r));
		return send_status(s, id, SSH_FX_BAD_MESSAGE, "Malformed request");
	case DSSH_ERR_NO_BUFFER_SPACE:
		dssh_info("%s: %s: reply too long", s->log_id, name);
		return send_status(s, id, SSH_FX_FAILURE, "Reply too long");
	default:
		return fatal(s, r, dssh_err_str(r));
	}
}

bool
dssh_sftp_input_paused(const struct dssh_sftp *s)
{
	return dssh_buf_len(&s->out) >= DSSH_SFTP_OUT_HIGH;
}

bool
dssh_sftp_idle(const struct dssh_sftp *s)
{
	return dssh_buf_len(&s->in) == 0;
}

static int
check_len(struct dssh_sftp *s, uint32_t len)
{
	char why[80];

	if (len <= DSSH_SFTP_MAX_PACKET)
		return 0;
	snprintf(why, sizeof(why), "packet length %u over the maximum %u", len,
	    DSSH_SFTP_MAX_PACKET);
	return fatal(s, DSSH_ERR_PROTOCOL, why);
}

/* Moves up to want bytes from *p into the partial-packet buffer. */
static int
top_up(struct dssh_sftp *s, const uint8_t **p, size_t *left, size_t want)
{
	size_t have = dssh_buf_len(&s->in), take;
	int r;

	if (have >= want)
		return 0;
	take = DSSH_MIN(want - have, *left);
	if ((r = dssh_buf_put(&s->in, *p, take)) != 0)
		return r;
	*p += take;
	*left -= take;
	return 0;
}

/* Continues a packet that arrived in pieces: 1 when whole and processed, 0 when more is needed. */
static int
input_partial(struct dssh_sftp *s, const uint8_t **p, size_t *left)
{
	uint32_t len;
	int r;

	if ((r = top_up(s, p, left, 4)) != 0)
		return r;
	if (dssh_buf_len(&s->in) < 4)
		return 0;
	len = dssh_get_u32be(dssh_buf_ptr(&s->in));
	if ((r = check_len(s, len)) != 0 || (r = top_up(s, p, left, 4 + (size_t)len)) != 0)
		return r;
	if (dssh_buf_len(&s->in) < 4 + (size_t)len)
		return 0;
	r = process_packet(s, dssh_buf_ptr(&s->in) + 4, len);
	dssh_buf_consume(&s->in, 4 + (size_t)len);
	return r != 0 ? r : 1;
}

int
dssh_sftp_input(struct dssh_sftp *s, const void *data, size_t n, size_t *used)
{
	const uint8_t *p = data;
	size_t left = n;
	int r = 0;

	*used = 0;
	if (s->dead)
		return DSSH_ERR_PROTOCOL;
	while (left > 0 && !dssh_sftp_input_paused(s)) {
		if (dssh_buf_len(&s->in) > 0 || left < 4) {
			if ((r = input_partial(s, &p, &left)) <= 0)
				break;
			r = 0;
			continue;
		}
		/* A whole packet in the caller's bytes is parsed in place. */
		uint32_t len = dssh_get_u32be(p);

		if ((r = check_len(s, len)) != 0)
			break;
		if (left - 4 < len) {
			r = top_up(s, &p, &left, left);
			break;
		}
		r = process_packet(s, p + 4, len);
		p += 4 + (size_t)len;
		left -= 4 + (size_t)len;
		if (r != 0)
			break;
	}
	*used = n - left;
	if (r < 0 && !s->dead)
		fatal(s, r, dssh_err_str(r));
	return r < 0 ? r : 0;
}

const uint8_t *
dssh_sftp_output(const struct dssh_sftp *s, size_t *len)
{
	*len = dssh_buf_len(&s->out);
	return dssh_buf_ptr(&s->out);
}

void
dssh_sftp_output_consume(struct dssh_sftp *s, size_t n)
{
	dssh_buf_consume(&s->out, DSSH_MIN(n, dssh_buf_len(&s->out)));
}

/* ---------------------------------------------------------------- life cycle */

int
dssh_sftp_create(const struct dssh_sftp_opts *o, struct dssh_sftp **sp)
{
	struct dssh_sftp *s;

	*sp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return DSSH_ERR_ALLOC;
	s->fs = o->fs != NULL ? o->fs : &dssh_sftp_posix_ops;
	s->ctx = o->fs_ctx;
	s->read_only = o->read_only;
	s->nh = o->max_handles != 0 ? o->max_handles : DSSH_SFTP_MAX_HANDLES;
	s->log_id = strdup(o->log_id != NULL ? o->log_id : "sftp");
	s->home = o->home != NULL ? strdup(o->home) : NULL;
	s->h = calloc(s->nh, sizeof(*s->h));
	if (s->log_id == NULL || (o->home != NULL && s->home == NULL) || s->h == NULL) {
		dssh_sftp_free(s);
		return DSSH_ERR_ALLOC;
	}
	for (uint32_t i = 0; i < s->nh; i++)
		s->h[i].gen = 1;
	dssh_buf_init(&s->in, DSSH_SFTP_MAX_PACKET + 4);
	/* Room past the pause mark for the reply being built and its error. */
	dssh_buf_init(&s->out, DSSH_SFTP_OUT_HIGH + 3 * (DSSH_SFTP_MAX_PACKET + 4));
	*sp = s;
	return 0;
}

void
dssh_sftp_free(struct dssh_sftp *s)
{
	if (s == NULL)
		return;
	for (uint32_t i = 0; s->h != NULL && i < s->nh; i++)
		if (s->h[i].kind != H_FREE)
			handle_close(s, &s->h[i]);
	free(s->h);
	dssh_buf_free(&s->in);
	dssh_buf_free(&s->out);
	free(s->home);
	free(s->log_id);
	free(s);
}
