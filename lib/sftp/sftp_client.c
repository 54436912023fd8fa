/* SPDX-License-Identifier: BSD-3-Clause */
/* SFTP client: see dssh_sftp_client.h. */
#include <stdlib.h>
#include <string.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_sftp_client.h"
#include "sftp_int.h"

struct dssh_sftpc {
	dssh_sftpc_reply_cb cb;
	void *arg;
	struct dssh_buf out, in;
	uint32_t next_id;
	unsigned inflight;
	bool ready;
	uint32_t version;
};

int
dssh_sftpc_new(dssh_sftpc_reply_cb cb, void *arg, struct dssh_sftpc **out)
{
	struct dssh_sftpc *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return DSSH_ERR_ALLOC;
	s->cb = cb;
	s->arg = arg;
	dssh_buf_init(&s->out, 0);
	dssh_buf_init(&s->in, 2 * DSSH_SFTPC_MAX_PACKET + 4096);
	s->next_id = 1;
	*out = s;
	return 0;
}

void
dssh_sftpc_free(struct dssh_sftpc *s)
{
	if (s == NULL)
		return;
	dssh_buf_free(&s->out);
	dssh_buf_free(&s->in);
	free(s);
}

bool
dssh_sftpc_ready(const struct dssh_sftpc *s)
{
	return s->ready;
}

uint32_t
dssh_sftpc_version(const struct dssh_sftpc *s)
{
	return s->version;
}

unsigned
dssh_sftpc_inflight(const struct dssh_sftpc *s)
{
	return s->inflight;
}

const uint8_t *
dssh_sftpc_output(const struct dssh_sftpc *s, size_t *len)
{
	*len = dssh_buf_len(&s->out);
	return dssh_buf_ptr(&s->out);
}

void
dssh_sftpc_output_consume(struct dssh_sftpc *s, size_t n)
{
	dssh_buf_consume(&s->out, n);
	if (dssh_buf_len(&s->out) == 0)
		dssh_buf_reset(&s->out);
}

/* ---- requests ---- */

/* The length word is patched in by end_packet. */
static int
begin(struct dssh_sftpc *s, uint8_t type, uint32_t *id, size_t *start)
{
	int r;

	*start = dssh_buf_len(&s->out);
	if ((r = dssh_buf_put_u32(&s->out, 0)) != 0 || (r = dssh_buf_put_u8(&s->out, type)) != 0)
		return r;
	if (id == NULL)
		return 0;
	*id = s->next_id++;
	return dssh_buf_put_u32(&s->out, *id);
}

static int
end(struct dssh_sftpc *s, size_t start, int r)
{
	uint8_t *p = dssh_buf_mutable_ptr(&s->out) + start;
	size_t n = dssh_buf_len(&s->out) - start - 4;

	if (r != 0) {
		dssh_buf_consume_end(&s->out, dssh_buf_len(&s->out) - start);
		return r;
	}
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	s->inflight++;
	return 0;
}

static int
put_attrs(struct dssh_buf *b, const struct dssh_sftpc_attrs *a)
{
	int r;

	if (a == NULL)
		return dssh_buf_put_u32(b, 0);
	if ((r = dssh_buf_put_u32(b, a->flags)) != 0)
		return r;
	if ((a->flags & DSSH_SFTPC_ATTR_SIZE) && (r = dssh_buf_put_u64(b, a->size)) != 0)
		return r;
	if ((a->flags & DSSH_SFTPC_ATTR_UIDGID) && ((r = dssh_buf_put_u32(b, a->uid)) != 0 ||
	    (r = dssh_buf_put_u32(b, a->gid)) != 0))
		return r;
	if ((a->flags & DSSH_SFTPC_ATTR_PERM) && (r = dssh_buf_put_u32(b, a->perm)) != 0)
		return r;
	if ((a->flags & DSSH_SFTPC_ATTR_TIMES) && ((r = dssh_buf_put_u32(b, a->atime)) != 0 ||
	    (r = dssh_buf_put_u32(b, a->mtime)) != 0))
		return r;
	return 0;
}

int
dssh_sftpc_init(struct dssh_sftpc *s)
{
	size_t st;
	int r;

	if ((r = begin(s, SSH_FXP_INIT, NULL, &st)) == 0)
		r = dssh_buf_put_u32(&s->out, SFTP_PROTOCOL_VERSION);
	r = end(s, st, r);
	if (r == 0)
		s->inflight--;      /* VERSION is no reply to an id */
	return r;
}

static int
path_req(struct dssh_sftpc *s, uint8_t type, const char *path, uint32_t *id)
{
	size_t st;
	int r;

	if ((r = begin(s, type, id, &st)) == 0)
		r = dssh_buf_put_cstring(&s->out, path);
	return end(s, st, r);
}

/* A request of a path and attributes (SETSTAT, MKDIR). */
static int
path_attrs_req(struct dssh_sftpc *s, uint8_t type, const char *path,
    const struct dssh_sftpc_attrs *attrs, uint32_t *id)
{
	size_t st;
	int r;

	if ((r = begin(s, type, id, &st)) == 0 &&
	    (r = dssh_buf_put_cstring(&s->out, path)) == 0)
		r = put_attrs(&s->out, attrs);
	return end(s, st, r);
}

static int
handle_req(struct dssh_sftpc *s, uint8_t type, const uint8_t *h, size_t hlen, uint32_t *id)
{
	size_t st;
	int r;

	if ((r = begin(s, type, id, &st)) == 0)
		r = dssh_buf_put_string(&s->out, h, hlen);
	return end(s, st, r);
}

int
dssh_sftpc_open(struct dssh_sftpc *s, const char *path, uint32_t pflags,
    const struct dssh_sftpc_attrs *attrs, uint32_t *id)
{
	size_t st;
	int r;

	if ((r = begin(s, SSH_FXP_OPEN, id, &st)) == 0 &&
	    (r = dssh_buf_put_cstring(&s->out, path)) == 0 &&
	    (r = dssh_buf_put_u32(&s->out, pflags)) == 0)
		r = put_attrs(&s->out, attrs);
	return end(s, st, r);
}

int
dssh_sftpc_close(struct dssh_sftpc *s, const uint8_t *h, size_t hlen, uint32_t *id)
{
	return handle_req(s, SSH_FXP_CLOSE, h, hlen, id);
}

int
dssh_sftpc_read(struct dssh_sftpc *s, const uint8_t *h, size_t hlen, uint64_t off,
    uint32_t len, uint32_t *id)
{
	size_t st;
	int r;

	if ((r = begin(s, SSH_FXP_READ, id, &st)) == 0 &&
	    (r = dssh_buf_put_string(&s->out, h, hlen)) == 0 &&
	    (r = dssh_buf_put_u64(&s->out, off)) == 0)
		r = dssh_buf_put_u32(&s->out, len);
	return end(s, st, r);
}

int
dssh_sftpc_write(struct dssh_sftpc *s, const uint8_t *h, size_t hlen, uint64_t off,
    const uint8_t *data, size_t len, uint32_t *id)
{
	size_t st;
	int r;

	if ((r = begin(s, SSH_FXP_WRITE, id, &st)) == 0 &&
	    (r = dssh_buf_put_string(&s->out, h, hlen)) == 0 &&
	    (r = dssh_buf_put_u64(&s->out, off)) == 0)
		r = dssh_buf_put_string(&s->out, data, len);
	return end(s, st, r);
}

int
dssh_sftpc_stat(struct dssh_sftpc *s, const char *path, bool follow, uint32_t *id)
{
	return path_req(s, follow ? SSH_FXP_STAT : SSH_FXP_LSTAT, path, id);
}

int
dssh_sftpc_fstat(struct dssh_sftpc *s, const uint8_t *h, size_t hlen, uint32_t *id)
{
	return handle_req(s, SSH_FXP_FSTAT, h, hlen, id);
}

int
dssh_sftpc_setstat(struct dssh_sftpc *s, const char *path,
    const struct dssh_sftpc_attrs *attrs, uint32_t *id)
{
	return path_attrs_req(s, SSH_FXP_SETSTAT, path, attrs, id);
}

int
dssh_sftpc_fsetstat(struct dssh_sftpc *s, const uint8_t *h, size_t hlen,
    const struct dssh_sftpc_attrs *attrs, uint32_t *id)
{
	size_t st;
	int r;

	if ((r = begin(s, SSH_FXP_FSETSTAT, id, &st)) == 0 &&
	    (r = dssh_buf_put_string(&s->out, h, hlen)) == 0)
		r = put_attrs(&s->out, attrs);
	return end(s, st, r);
}

int
dssh_sftpc_opendir(struct dssh_sftpc *s, const char *path, uint32_t *id)
{
	return path_req(s, SSH_FXP_OPENDIR, path, id);
}

int
dssh_sftpc_readdir(struct dssh_sftpc *s, const uint8_t *h, size_t hlen, uint32_t *id)
{
	return handle_req(s, SSH_FXP_READDIR, h, hlen, id);
}

int
dssh_sftpc_realpath(struct dssh_sftpc *s, const char *path, uint32_t *id)
{
	return path_req(s, SSH_FXP_REALPATH, path, id);
}

int
dssh_sftpc_mkdir(struct dssh_sftpc *s, const char *path,
    const struct dssh_sftpc_attrs *attrs, uint32_t *id)
{
	return path_attrs_req(s, SSH_FXP_MKDIR, path, attrs, id);
}

/* ---- replies ---- */

static int
get_attrs(struct dssh_buf *m, struct dssh_sftpc_attrs *a)
{
	uint32_t n;
	int r;

	memset(a, 0, sizeof(*a));
	if ((r = dssh_buf_get_u32(m, &a->flags)) != 0)
		return r;
	if ((a->flags & DSSH_SFTPC_ATTR_SIZE) && (r = dssh_buf_get_u64(m, &a->size)) != 0)
		return r;
	if ((a->flags & DSSH_SFTPC_ATTR_UIDGID) && ((r = dssh_buf_get_u32(m, &a->uid)) != 0 ||
	    (r = dssh_buf_get_u32(m, &a->gid)) != 0))
		return r;
	if ((a->flags & DSSH_SFTPC_ATTR_PERM) && (r = dssh_buf_get_u32(m, &a->perm)) != 0)
		return r;
	if ((a->flags & DSSH_SFTPC_ATTR_TIMES) && ((r = dssh_buf_get_u32(m, &a->atime)) != 0 ||
	    (r = dssh_buf_get_u32(m, &a->mtime)) != 0))
		return r;
	if (a->flags & SSH_FILEXFER_ATTR_EXTENDED) {
		if ((r = dssh_buf_get_u32(m, &n)) != 0)
			return r;
		for (uint32_t i = 0; i < n; i++)
			if ((r = dssh_buf_skip_string(m)) != 0 || (r = dssh_buf_skip_string(m)) != 0)
				return r;
	}
	return 0;
}

static int
parse_names(struct dssh_buf *m, struct dssh_sftpc_reply *rep, char ***strs)
{
	struct dssh_sftpc_name *names;
	uint32_t n;
	int r;

	if ((r = dssh_buf_get_u32(m, &n)) != 0)
		return r;
	/* Each entry takes at least 12 bytes: no count beyond what is there. */
	if (n > dssh_buf_len(m) / 12)
		return DSSH_ERR_INVALID_FORMAT;
	if ((names = calloc(n ? n : 1, sizeof(*names))) == NULL ||
	    (*strs = calloc(2 * (size_t)n + 1, sizeof(char *))) == NULL) {
		free(names);
		return DSSH_ERR_ALLOC;
	}
	rep->names = names;
	rep->count = n;
	for (uint32_t i = 0; i < n; i++) {
		char *a = NULL, *b = NULL;

		if ((r = dssh_buf_get_cstring(m, &a, NULL)) != 0)
			return r;
		(*strs)[2 * i] = a;
		if ((r = dssh_buf_get_cstring(m, &b, NULL)) != 0)
			return r;
		(*strs)[2 * i + 1] = b;
		names[i].name = a;
		names[i].longname = b;
		if ((r = get_attrs(m, &names[i].attrs)) != 0)
			return r;
	}
	return 0;
}

static void
free_names(struct dssh_sftpc_reply *rep, char **strs)
{
	if (strs != NULL)
		for (size_t i = 0; i < 2 * (size_t)rep->count; i++)
			free(strs[i]);
	free(strs);
	free((void *)(uintptr_t)rep->names);
}

int
dssh_sftpc_parse_reply(const uint8_t *p, size_t n, dssh_sftpc_reply_cb cb, void *arg)
{
	struct dssh_sftpc_reply rep;
	struct dssh_buf m;
	char *msg = NULL, **strs = NULL;
	int r;

	memset(&rep, 0, sizeof(rep));
	dssh_buf_from(&m, p, n);
	if ((r = dssh_buf_get_u8(&m, &rep.type)) != 0 || (r = dssh_buf_get_u32(&m, &rep.id)) != 0)
		return r;
	switch (rep.type) {
	case SSH_FXP_STATUS:
		if ((r = dssh_buf_get_u32(&m, &rep.status)) != 0)
			break;
		/* Version 3 servers add message and language; older may not. */
		if (dssh_buf_len(&m) > 0 && (r = dssh_buf_get_cstring(&m, &msg, NULL)) == 0)
			r = dssh_buf_skip_string(&m);
		rep.msg = msg != NULL ? msg : "";
		break;
	case SSH_FXP_HANDLE:
		r = dssh_buf_get_string_direct(&m, &rep.handle, &rep.handle_len);
		if (r == 0 && (rep.handle_len == 0 || rep.handle_len > DSSH_SFTPC_HANDLE_MAX))
			r = DSSH_ERR_INVALID_FORMAT;
		break;
	case SSH_FXP_DATA:
		r = dssh_buf_get_string_direct(&m, &rep.data, &rep.len);
		break;
	case SSH_FXP_ATTRS:
		r = get_attrs(&m, &rep.attrs);
		break;
	case SSH_FXP_NAME:
		r = parse_names(&m, &rep, &strs);
		break;
	default:
		r = DSSH_ERR_INVALID_FORMAT;
		break;
	}
	if (r == 0 && cb != NULL)
		cb(arg, &rep);
	free(msg);
	free_names(&rep, strs);
	return r;
}

static int
take_version(struct dssh_sftpc *s, const uint8_t *p, size_t n)
{
	struct dssh_buf m;
	uint8_t type;
	int r;

	dssh_buf_from(&m, p, n);
	if ((r = dssh_buf_get_u8(&m, &type)) != 0 || (r = dssh_buf_get_u32(&m, &s->version)) != 0)
		return r;
	/* Extension pairs follow; none is needed here. */
	if (type != SSH_FXP_VERSION || s->version < 3)
		return DSSH_ERR_PROTOCOL;
	s->ready = true;
	return 0;
}

int
dssh_sftpc_input(struct dssh_sftpc *s, const uint8_t *p, size_t n)
{
	int r;

	if (n > 0 && (r = dssh_buf_put(&s->in, p, n)) != 0)
		return r;
	for (;;) {
		uint32_t len;

		if (dssh_buf_peek_u32(&s->in, 0, &len) != 0)
			break;
		if (len < 5 || len > DSSH_SFTPC_MAX_PACKET)
			return DSSH_ERR_INVALID_FORMAT;
		if (dssh_buf_len(&s->in) < 4 + (size_t)len)
			break;
		const uint8_t *body = dssh_buf_ptr(&s->in) + 4;

		if (!s->ready) {
			r = take_version(s, body, len);
		} else {
			if (s->inflight == 0)
				return DSSH_ERR_PROTOCOL;     /* a reply to nothing */
			s->inflight--;
			r = dssh_sftpc_parse_reply(body, len, s->cb, s->arg);
		}
		dssh_buf_consume(&s->in, 4 + (size_t)len);
		if (r != 0)
			return r;
	}
	dssh_buf_compact(&s->in);
	return 0;
}
