/* SPDX-License-Identifier: BSD-3-Clause */
/* The "session" channel type (RFC 4254 6): its requests. */
#include <string.h>

#include "dssh_err.h"
#include "ssh_internal.h"

static int
parse_pty(struct dssh_buf *m, struct dssh_session_req *req, char **s1)
{
	const uint8_t *modes;
	int r;

	req->type = DSSH_REQ_PTY;
	if ((r = dssh_buf_get_cstring(m, s1, NULL)) != 0 ||
	    (r = dssh_buf_get_u32(m, &req->cols)) != 0 ||
	    (r = dssh_buf_get_u32(m, &req->rows)) != 0 ||
	    (r = dssh_buf_get_u32(m, &req->xpixel)) != 0 ||
	    (r = dssh_buf_get_u32(m, &req->ypixel)) != 0 ||
	    (r = dssh_buf_get_string_direct(m, &modes, &req->modes_len)) != 0)
		return r;
	req->term = *s1;
	req->modes = modes;
	return 0;
}

static int
parse_window(struct dssh_buf *m, struct dssh_session_req *req)
{
	int r;

	req->type = DSSH_REQ_WINDOW_CHANGE;
	if ((r = dssh_buf_get_u32(m, &req->cols)) != 0 ||
	    (r = dssh_buf_get_u32(m, &req->rows)) != 0 ||
	    (r = dssh_buf_get_u32(m, &req->xpixel)) != 0 ||
	    (r = dssh_buf_get_u32(m, &req->ypixel)) != 0)
		return r;
	return 0;
}

/* x11-req: bool single connection, string protocol, string cookie (hex),
 * u32 screen (RFC 4254 6.3.1). */
static int
parse_x11(struct dssh_buf *m, struct dssh_session_req *req, char **s1, char **s2)
{
	int r;

	req->type = DSSH_REQ_X11;
	if ((r = dssh_buf_get_bool(m, &req->x11_single)) != 0 ||
	    (r = dssh_buf_get_cstring(m, s1, NULL)) != 0 ||
	    (r = dssh_buf_get_cstring(m, s2, NULL)) != 0 ||
	    (r = dssh_buf_get_u32(m, &req->x11_screen)) != 0)
		return r;
	req->name = *s1;
	req->value = *s2;
	return 0;
}

/* A request with one string argument, kept in *s1. */
static int
parse_one(struct dssh_buf *m, struct dssh_session_req *req, enum dssh_session_req_type t,
    const char **field, char **s1)
{
	int r;

	req->type = t;
	if ((r = dssh_buf_get_cstring(m, s1, NULL)) != 0)
		return r;
	*field = *s1;
	return 0;
}

static int
session_request(const char *type, struct dssh_buf *m, struct dssh_session_req *req,
    char **s1, char **s2)
{
	int r;

	memset(req, 0, sizeof(*req));
	if (strcmp(type, "pty-req") == 0)
		return parse_pty(m, req, s1);
	if (strcmp(type, "env") == 0) {
		req->type = DSSH_REQ_ENV;
		if ((r = dssh_buf_get_cstring(m, s1, NULL)) != 0 ||
		    (r = dssh_buf_get_cstring(m, s2, NULL)) != 0)
			return r;
		req->name = *s1;
		req->value = *s2;
		return 0;
	}
	if (strcmp(type, "shell") == 0) {
		req->type = DSSH_REQ_SHELL;
		return 0;
	}
	if (strcmp(type, "exec") == 0)
		return parse_one(m, req, DSSH_REQ_EXEC, &req->command, s1);
	if (strcmp(type, "subsystem") == 0)
		return parse_one(m, req, DSSH_REQ_SUBSYSTEM, &req->name, s1);
	if (strcmp(type, "window-change") == 0)
		return parse_window(m, req);
	if (strcmp(type, "signal") == 0)
		return parse_one(m, req, DSSH_REQ_SIGNAL, &req->name, s1);
	if (strcmp(type, "x11-req") == 0)
		return parse_x11(m, req, s1, s2);
	if (strcmp(type, "auth-agent-req@openssh.com") == 0) {
		req->type = DSSH_REQ_AUTH_AGENT;
		return 0;
	}
	return DSSH_ERR_UNSUPPORTED;
}

static int
session_open(struct dssh_buf *m, struct dssh_chan_open *o, char **s1, char **s2)
{
	(void)m;
	(void)s1;
	(void)s2;
	o->kind = DSSH_CHAN_SESSION;
	return 0;
}

/* A client's open carries nothing past the common fields. */
static int
session_put_open(struct dssh_buf *b, const struct dssh_chan_open *o)
{
	(void)b;
	(void)o;
	return 0;
}

const struct dssh_chan_type dssh_chan_session = {
	.name = "session",
	.kind = DSSH_CHAN_SESSION,
	.parse_open = session_open,
	.put_open = session_put_open,
	.request = session_request,
};
