/* SPDX-License-Identifier: BSD-3-Clause */
/* Connection protocol, server side (RFC 4254): session channels. */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "ssh_internal.h"

static struct dssh_channel *
chan_get(struct dssh_conn *c, uint32_t id)
{
	if (id >= c->nchans || c->chans[id] == NULL || !c->chans[id]->in_use)
		return NULL;
	return c->chans[id];
}

static uint32_t
chan_limit(const struct dssh_conn *c)
{
	return c->conf->max_channels != 0 ? c->conf->max_channels : DSSH_DEFAULT_MAX_CHANNELS;
}

/*
 * The lowest free channel number, its struct zeroed and in use; NULL at
 * the limit or out of memory. The array of pointers doubles as needed.
 */
static struct dssh_channel *
chan_alloc(struct dssh_conn *c, uint32_t *idp)
{
	uint32_t id;

	if (c->chans_used >= chan_limit(c))
		return NULL;
	for (id = 0; id < c->nchans && c->chans[id] != NULL && c->chans[id]->in_use; id++)
		;
	if (id == c->nchans) {
		uint32_t n = c->nchans ? c->nchans * 2 : 8;
		struct dssh_channel **v;

		if (n > chan_limit(c))
			n = chan_limit(c);
		if ((v = realloc(c->chans, n * sizeof(*v))) == NULL)
			return NULL;
		memset(v + c->nchans, 0, (n - c->nchans) * sizeof(*v));
		c->chans = v;
		c->nchans = n;
	}
	if (c->chans[id] == NULL && (c->chans[id] = malloc(sizeof(*c->chans[id]))) == NULL)
		return NULL;
	memset(c->chans[id], 0, sizeof(*c->chans[id]));
	c->chans[id]->in_use = true;
	c->chans_used++;
	*idp = id;
	return c->chans[id];
}

static void
chan_release(struct dssh_conn *c, struct dssh_channel *ch)
{
	ch->in_use = false;
	c->chans_used--;
}

void
dssh_chan_free_all(struct dssh_conn *c)
{
	for (uint32_t i = 0; i < c->nchans; i++)
		free(c->chans[i]);
	free(c->chans);
	c->chans = NULL;
	c->nchans = c->chans_used = 0;
}

size_t
dssh_chan_count(const struct dssh_conn *c)
{
	return c->chans_used;
}

static const struct dssh_channel *
chan_get_const(const struct dssh_conn *c, uint32_t id)
{
	return chan_get((struct dssh_conn *)(uintptr_t)c, id);
}

/* Channel message from the peer naming one of our channels. */
static int
peer_chan(struct dssh_conn *c, struct dssh_buf *m, uint32_t *id, struct dssh_channel **ch)
{
	int r;

	if ((r = dssh_buf_get_u32(m, id)) != 0)
		return r;
	if ((*ch = chan_get(c, *id)) == NULL || (*ch)->open_state != CHAN_OPEN) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "message for unknown channel %u", *id);
		return DSSH_ERR_PROTOCOL;
	}
	return 0;
}

static int
send_chan_u32(struct dssh_conn *c, uint8_t type, uint32_t remote_id)
{
	uint8_t msg[5] = { type };

	dssh_put_u32be(msg + 1, remote_id);
	if (type == SSH_MSG_CHANNEL_SUCCESS || type == SSH_MSG_CHANNEL_FAILURE ||
	    type == SSH_MSG_CHANNEL_EOF || type == SSH_MSG_CHANNEL_CLOSE) {
		struct dssh_buf b;

		dssh_buf_from(&b, msg, sizeof(msg));
		return dssh_conn_send_app(c, &b);
	}
	return DSSH_ERR_INVALID_ARGUMENT;
}

static int
open_failure(struct dssh_conn *c, uint32_t sender, uint32_t reason, const char *why)
{
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_CHANNEL_OPEN_FAILURE)) == 0 &&
	    (r = dssh_buf_put_u32(&b, sender)) == 0 &&
	    (r = dssh_buf_put_u32(&b, reason)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, why)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, "")) == 0)
		r = dssh_conn_send_app(c, &b);
	dssh_buf_free(&b);
	return r;
}

static int
send_open_confirm(struct dssh_conn *c, struct dssh_channel *ch, uint32_t id)
{
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_CHANNEL_OPEN_CONFIRMATION)) == 0 &&
	    (r = dssh_buf_put_u32(&b, ch->remote_id)) == 0 &&
	    (r = dssh_buf_put_u32(&b, id)) == 0 &&
	    (r = dssh_buf_put_u32(&b, ch->win.size)) == 0 &&
	    (r = dssh_buf_put_u32(&b, DSSH_CHAN_MAXPACKET)) == 0)
		r = dssh_conn_send_app(c, &b);
	dssh_buf_free(&b);
	return r;
}

/* The host's refusal as an RFC 4254 reason. */
static uint32_t
open_reason(int err)
{
	switch (err) {
	case DSSH_ERR_PERMISSION:
		return DSSH_OPEN_ADMINISTRATIVELY_PROHIBITED;
	case DSSH_ERR_ALLOC:
	case DSSH_ERR_BUSY:
		return DSSH_OPEN_RESOURCE_SHORTAGE;
	default:
		return DSSH_OPEN_CONNECT_FAILED;
	}
}

static const char *
open_reason_str(uint32_t reason)
{
	switch (reason) {
	case DSSH_OPEN_ADMINISTRATIVELY_PROHIBITED:
		return "administratively prohibited";
	case DSSH_OPEN_CONNECT_FAILED:
		return "connect failed";
	case DSSH_OPEN_UNKNOWN_CHANNEL_TYPE:
		return "unknown channel type";
	default:
		return "resource shortage";
	}
}

/* Ask the host about a new channel: 0 (confirm now), DSSH_ERR_AGAIN, or a refusal. */
static int
open_ask_host(struct dssh_conn *c, uint32_t id, const struct dssh_chan_open *o)
{
	if (o->kind == DSSH_CHAN_SESSION)   /* a client's host has none: refused */
		return c->ops->session_open != NULL && c->ops->session_open(c->host, id) == 0 ?
		    0 : DSSH_ERR_PERMISSION;
	if (c->ops->channel_open == NULL)
		return DSSH_ERR_PERMISSION;
	return c->ops->channel_open(c->host, id, o);
}

static int
handle_open(struct dssh_conn *c, struct dssh_buf *m)
{
	const struct dssh_chan_type *t;
	struct dssh_chan_open o;
	struct dssh_channel *ch;
	const uint8_t *type;
	char *s1 = NULL, *s2 = NULL;
	size_t tlen;
	uint32_t sender, window, maxpacket, id;
	int r;

	if ((r = dssh_buf_get_string_direct(m, &type, &tlen)) != 0 ||
	    (r = dssh_buf_get_u32(m, &sender)) != 0 ||
	    (r = dssh_buf_get_u32(m, &window)) != 0 ||
	    (r = dssh_buf_get_u32(m, &maxpacket)) != 0)
		return r;
	if ((t = dssh_chan_type_by_name(type, tlen)) == NULL || t->parse_open == NULL) {
		dssh_verbose("%s: refused channel type %.*s", c->log_id,
		    (int)DSSH_MIN(tlen, (size_t)40), (const char *)type);
		return open_failure(c, sender, SSH_OPEN_UNKNOWN_CHANNEL_TYPE, "unknown channel type");
	}
	memset(&o, 0, sizeof(o));
	o.kind = t->kind;
	if ((r = t->parse_open(m, &o, &s1, &s2)) != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed %s open", t->name);
		goto out;
	}
	if (maxpacket < 64) {
		r = open_failure(c, sender, SSH_OPEN_ADMINISTRATIVELY_PROHIBITED, "bad max packet");
		goto out;
	}
	if ((ch = chan_alloc(c, &id)) == NULL) {
		dssh_verbose("%s: %s refused: too many channels", c->log_id, t->name);
		r = open_failure(c, sender, SSH_OPEN_RESOURCE_SHORTAGE, "too many channels");
		goto out;
	}
	ch->type = t;
	ch->open_state = CHAN_OPENING_IN;
	ch->remote_id = sender;
	ch->remote_maxpacket = DSSH_MIN(maxpacket, DSSH_PACKET_MAX - 1024);
	dssh_chan_win_init(&ch->win, c->conf->chan_window, window);
	r = open_ask_host(c, id, &o);
	if (r == DSSH_ERR_AGAIN)
		r = 0;          /* dssh_chan_open_reply() answers */
	else
		r = dssh_chan_open_reply(c, id, r == 0 ? 0 : open_reason(r), NULL);
out:
	free(s1);
	free(s2);
	return r;
}

int
dssh_chan_open_reply(struct dssh_conn *c, uint32_t id, uint32_t reason, const char *msg)
{
	struct dssh_channel *ch = chan_get(c, id);
	uint32_t sender;

	if (ch == NULL || ch->open_state != CHAN_OPENING_IN)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (reason == 0) {
		ch->open_state = CHAN_OPEN;
		return send_open_confirm(c, ch, id);
	}
	sender = ch->remote_id;
	chan_release(c, ch);
	return open_failure(c, sender, reason, msg != NULL ? msg : open_reason_str(reason));
}

int
dssh_chan_open(struct dssh_conn *c, const struct dssh_chan_open *o, uint32_t *idp)
{
	const struct dssh_chan_type *t = dssh_chan_type_by_kind(o->kind);
	struct dssh_channel *ch;
	struct dssh_buf b;
	uint32_t id;
	int r;

	if (t == NULL || t->put_open == NULL || !c->authenticated || c->state != CONN_TRANSPORT)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((ch = chan_alloc(c, &id)) == NULL)
		return DSSH_ERR_BUSY;
	ch->type = t;
	ch->open_state = CHAN_OPENING_OUT;
	dssh_chan_win_init(&ch->win, c->conf->chan_window, 0);
	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_CHANNEL_OPEN)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, t->name)) == 0 &&
	    (r = dssh_buf_put_u32(&b, id)) == 0 &&
	    (r = dssh_buf_put_u32(&b, ch->win.size)) == 0 &&
	    (r = dssh_buf_put_u32(&b, DSSH_CHAN_MAXPACKET)) == 0 &&
	    (r = t->put_open(&b, o)) == 0)
		r = dssh_conn_send_app(c, &b);
	dssh_buf_free(&b);
	if (r != 0) {
		chan_release(c, ch);
		return r;
	}
	*idp = id;
	return 0;
}

/* The peer's answer to our CHANNEL_OPEN. */
static int
handle_open_answer(struct dssh_conn *c, uint8_t type, struct dssh_buf *m)
{
	struct dssh_channel *ch;
	uint32_t id, sender = 0, window = 0, maxpacket = 0, reason = 0;
	int r;

	if ((r = dssh_buf_get_u32(m, &id)) != 0)
		return r;
	if (type == SSH_MSG_CHANNEL_OPEN_CONFIRMATION) {
		if ((r = dssh_buf_get_u32(m, &sender)) != 0 ||
		    (r = dssh_buf_get_u32(m, &window)) != 0 ||
		    (r = dssh_buf_get_u32(m, &maxpacket)) != 0)
			return r;
	} else if ((r = dssh_buf_get_u32(m, &reason)) != 0 ||
	    (r = dssh_buf_skip_string(m)) != 0) {
		return r;
	}
	if ((ch = chan_get(c, id)) == NULL || ch->open_state != CHAN_OPENING_OUT ||
	    (type == SSH_MSG_CHANNEL_OPEN_CONFIRMATION && maxpacket < 64) ||
	    (type == SSH_MSG_CHANNEL_OPEN_FAILURE && reason == 0)) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "unexpected open answer for channel %u",
		    id);
		return DSSH_ERR_PROTOCOL;
	}
	if (type == SSH_MSG_CHANNEL_OPEN_FAILURE) {
		bool host_knows = !ch->sent_close;

		chan_release(c, ch);
		if (host_knows && c->ops->channel_open_result != NULL)
			c->ops->channel_open_result(c->host, id, reason);
		return 0;
	}
	ch->open_state = CHAN_OPEN;
	ch->remote_id = sender;
	ch->remote_maxpacket = DSSH_MIN(maxpacket, DSSH_PACKET_MAX - 1024);
	ch->win.remote = window;
	if (ch->sent_close)     /* the host gave up on it meanwhile */
		return send_chan_u32(c, SSH_MSG_CHANNEL_CLOSE, ch->remote_id);
	if (c->ops->channel_open_result != NULL)
		c->ops->channel_open_result(c->host, id, 0);
	return 0;
}

static int
handle_request(struct dssh_conn *c, struct dssh_buf *m)
{
	struct dssh_channel *ch;
	struct dssh_session_req req;
	char *type = NULL, *s1 = NULL, *s2 = NULL;
	uint32_t id;
	bool want_reply;
	int r, ok;

	if ((r = peer_chan(c, m, &id, &ch)) != 0)
		return r;
	if ((r = dssh_buf_get_cstring(m, &type, NULL)) != 0 ||
	    (r = dssh_buf_get_bool(m, &want_reply)) != 0)
		goto out;
	if (dssh_is_client(c)) {
		r = dssh_chan_client_request(c, id, type, want_reply, m);
		goto out;
	}
	memset(&req, 0, sizeof(req));
	r = ch->type->request != NULL ? ch->type->request(type, m, &req, &s1, &s2) :
	    DSSH_ERR_UNSUPPORTED;
	if (ch->sent_close) {
		r = 0;          /* closing: nobody to ask, and no reply after our CLOSE */
		goto out;
	}
	if (r == DSSH_ERR_UNSUPPORTED) {
		dssh_debug("%s: channel %u: unsupported request %s", c->log_id, id, type);
		ok = -1;
	} else if (r != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed channel request %s", type);
		goto out;
	} else if ((req.type == DSSH_REQ_SHELL || req.type == DSSH_REQ_EXEC ||
	    req.type == DSSH_REQ_SUBSYSTEM || req.type == DSSH_REQ_PTY) && ch->started) {
		ok = -1;    /* one program per channel; no pty after it started */
	} else {
		ok = c->ops->session_request(c->host, id, &req);
		if (ok == 0 && (req.type == DSSH_REQ_SHELL || req.type == DSSH_REQ_EXEC ||
		    req.type == DSSH_REQ_SUBSYSTEM))
			ch->started = true;
	}
	r = 0;
	/* The host may have closed the channel from inside the callback. */
	if (want_reply && (ch = chan_get(c, id)) != NULL && !ch->sent_close)
		r = send_chan_u32(c, ok == 0 ? SSH_MSG_CHANNEL_SUCCESS : SSH_MSG_CHANNEL_FAILURE,
		    ch->remote_id);
out:
	free(type);
	if (s1 != NULL)
		dssh_free_secret_str(s1);
	if (s2 != NULL)
		dssh_free_secret_str(s2);
	return r;
}

static int offload_check(struct dssh_conn *c, struct dssh_channel *ch, uint32_t id);

static int
handle_data(struct dssh_conn *c, uint8_t type, struct dssh_buf *m)
{
	struct dssh_channel *ch;
	const uint8_t *p;
	uint32_t id, code = 0;
	size_t n;
	int r;

	if ((r = peer_chan(c, m, &id, &ch)) != 0)
		return r;
	if (type == SSH_MSG_CHANNEL_EXTENDED_DATA && (r = dssh_buf_get_u32(m, &code)) != 0)
		return r;
	if ((r = dssh_buf_get_string_direct(m, &p, &n)) != 0)
		return r;
	if ((r = offload_check(c, ch, id)) != 0)
		return r == 1 ? 0 : r;
	if (ch->rcvd_eof || n > DSSH_CHAN_MAXPACKET || !dssh_chan_win_receive(&ch->win, n)) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR,
		    "channel %u: data past %s", id, ch->rcvd_eof ? "EOF" : "window");
		return DSSH_ERR_PROTOCOL;
	}
	dssh_chan_win_pace(&ch->win, n, c->now_ms * 1000, c->rtt_us);
	/* In flight when we closed: the host has forgotten the channel. */
	if (ch->sent_close)
		return 0;
	if (type == SSH_MSG_CHANNEL_EXTENDED_DATA) {
		/* A server's stderr goes to a client host that takes it; nothing
		 * reads a client's extended data: discard, reopen window. */
		if (dssh_is_client(c) && code == SSH_EXTENDED_DATA_STDERR &&
		    c->ops->channel_ext_data != NULL && n > 0)
			c->ops->channel_ext_data(c->host, id, p, n);
		else
			dssh_chan_consumed(c, id, n);
		return 0;
	}
	if (n > 0)
		c->ops->channel_data(c->host, id, p, n);
	return 0;
}

static void
chan_maybe_free(struct dssh_conn *c, uint32_t id)
{
	struct dssh_channel *ch = chan_get(c, id);

	/* An offloaded one keeps its number until the core let it go. */
	if (ch != NULL && ch->sent_close && ch->rcvd_close && ch->offload == CHAN_OFF_NONE)
		chan_release(c, ch);
}

/* The core stops touching the channel; nothing of ours for it may be sent
 * before this marker in the output (a CLOSE may follow at once). */
static int
chan_reclaim(struct dssh_conn *c, struct dssh_channel *ch, uint32_t id)
{
	uint8_t b[DSSH_REC_CHAN_ID_LEN];

	if (ch->offload == CHAN_OFF_NONE || ch->offload == CHAN_OFF_RECLAIM)
		return 0;
	ch->offload = CHAN_OFF_RECLAIM;
	dssh_put_u32be(b, id);
	return dssh_pkt_put_marker(c, DSSH_REC_MARK_CHAN_RECLAIM, b, sizeof(b));
}

/*
 * A data/EOF/adjust record for a channel the core intercepts: it must
 * not be here (1 after a reclaim: ignored, the core kept the window;
 * else an error). 0: the engine handles it.
 */
static int
offload_check(struct dssh_conn *c, struct dssh_channel *ch, uint32_t id)
{
	switch (ch->offload) {
	case CHAN_OFF_NONE:
		return ch->reclaimed ? 1 : 0;
	case CHAN_OFF_SENT:
		return 0;
	case CHAN_OFF_RECLAIM:
		return 1;
	default:
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR,
		    "channel %u: message for an offloaded channel", id);
		return DSSH_ERR_PROTOCOL;
	}
}

static int
handle_close(struct dssh_conn *c, struct dssh_buf *m)
{
	struct dssh_channel *ch;
	uint32_t id;
	int r = 0;

	if ((r = peer_chan(c, m, &id, &ch)) != 0)
		return r;
	if (ch->rcvd_close) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "channel %u: duplicate close", id);
		return DSSH_ERR_PROTOCOL;
	}
	ch->rcvd_close = true;
	if ((r = chan_reclaim(c, ch, id)) != 0)
		return r;
	if (!ch->sent_close) {
		/* Tell the host first, then answer; the host must forget the channel. */
		c->ops->channel_closed(c->host, id);
		ch = chan_get(c, id);
		if (ch != NULL && !ch->sent_close) {
			ch->sent_close = true;
			r = send_chan_u32(c, SSH_MSG_CHANNEL_CLOSE, ch->remote_id);
		}
	} else {
		c->ops->channel_closed(c->host, id);
	}
	chan_maybe_free(c, id);
	return r;
}

int
dssh_chan_dispatch(struct dssh_conn *c, uint8_t type, struct dssh_buf *m)
{
	struct dssh_channel *ch;
	uint32_t id, add;
	int r;

	switch (type) {
	case SSH_MSG_CHANNEL_OPEN:
		return handle_open(c, m);
	case SSH_MSG_CHANNEL_REQUEST:
		return handle_request(c, m);
	case SSH_MSG_CHANNEL_DATA:
	case SSH_MSG_CHANNEL_EXTENDED_DATA:
		return handle_data(c, type, m);
	case SSH_MSG_CHANNEL_WINDOW_ADJUST:
		if ((r = peer_chan(c, m, &id, &ch)) != 0 || (r = dssh_buf_get_u32(m, &add)) != 0)
			return r;
		if ((r = offload_check(c, ch, id)) != 0)
			return r == 1 ? 0 : r;
		dssh_chan_win_peer_adjust(&ch->win, add);
		if (c->ops->channel_writable != NULL && !ch->sent_close)
			c->ops->channel_writable(c->host, id);
		return 0;
	case SSH_MSG_CHANNEL_EOF:
		if ((r = peer_chan(c, m, &id, &ch)) != 0)
			return r;
		if ((r = offload_check(c, ch, id)) < 0)
			return r;
		if (!ch->rcvd_eof) {
			ch->rcvd_eof = true;
			if (!ch->sent_close)
				c->ops->channel_eof(c->host, id);
		}
		return 0;
	case SSH_MSG_CHANNEL_CLOSE:
		return handle_close(c, m);
	case SSH_MSG_CHANNEL_SUCCESS:
	case SSH_MSG_CHANNEL_FAILURE:
		/* A server sends no requests wanting replies; a client's host hears. */
		if ((r = peer_chan(c, m, &id, &ch)) != 0)
			return r;
		if (dssh_is_client(c) && !ch->sent_close && c->ops->channel_request_result != NULL)
			c->ops->channel_request_result(c->host, id, type == SSH_MSG_CHANNEL_SUCCESS);
		return 0;
	case SSH_MSG_CHANNEL_OPEN_CONFIRMATION:
	case SSH_MSG_CHANNEL_OPEN_FAILURE:
		return handle_open_answer(c, type, m);
	default:
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "unexpected channel message %u", type);
		return DSSH_ERR_PROTOCOL;
	}
}

static int
global_reply(struct dssh_conn *c, bool ok, bool with_port, uint32_t port)
{
	uint8_t msg[5] = { ok ? SSH_MSG_REQUEST_SUCCESS : SSH_MSG_REQUEST_FAILURE };
	struct dssh_buf b;

	dssh_put_u32be(msg + 1, port);
	dssh_buf_from(&b, msg, ok && with_port ? 5 : 1);
	return dssh_conn_send_app(c, &b);
}

int
dssh_global_request(struct dssh_conn *c, struct dssh_buf *m)
{
	struct dssh_global_req req;
	char *name = NULL, *addr = NULL;
	uint32_t bound = 0;
	bool want_reply;
	int r, ok = -1;

	if ((r = dssh_buf_get_cstring(m, &name, NULL)) != 0 ||
	    (r = dssh_buf_get_bool(m, &want_reply)) != 0)
		goto out;
	r = dssh_global_parse(name, m, &req, &addr);
	if (r == DSSH_ERR_UNSUPPORTED) {
		dssh_debug("%s: global request %.60s refused", c->log_id, name);
	} else if (r != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed global request %.60s",
		    name);
		goto out;
	} else if (c->ops->global_request != NULL) {
		req.want_reply = want_reply;
		bound = req.port;
		ok = c->ops->global_request(c->host, &req, &bound);
	}
	r = 0;
	/* The port goes back only where the peer let us choose it. */
	if (want_reply)
		r = global_reply(c, ok == 0, ok == 0 && req.type == DSSH_GREQ_TCPIP_FORWARD &&
		    req.port == 0, bound);
out:
	free(name);
	free(addr);
	return r;
}

void
dssh_chan_kex_done(struct dssh_conn *c)
{
	for (uint32_t id = 0; id < c->nchans; id++) {
		struct dssh_channel *ch = chan_get(c, id);

		if (ch != NULL && ch->open_state == CHAN_OPEN && !ch->sent_close && ch->win.remote > 0 &&
		    c->ops->channel_writable != NULL)
			c->ops->channel_writable(c->host, id);
	}
}

size_t
dssh_chan_send_space(const struct dssh_conn *c, uint32_t id)
{
	const struct dssh_channel *ch = chan_get_const(c, id);

	if (ch == NULL || ch->open_state != CHAN_OPEN || ch->sent_eof || ch->sent_close ||
	    ch->offload != CHAN_OFF_NONE ||
	    c->state != CONN_TRANSPORT ||
	    c->kex_in_progress || dssh_buf_len(&c->out) >= DSSH_OUTPUT_HIGH_WATER)
		return 0;
	return ch->win.remote;
}

/* One CHANNEL_DATA packet, framed straight into the output buffer. */
static int
send_data_packet(struct dssh_conn *c, struct dssh_channel *ch, const uint8_t *p, size_t n,
    bool ext)
{
	uint8_t hdr[13];
	size_t hl = 0;

	hdr[hl++] = ext ? SSH_MSG_CHANNEL_EXTENDED_DATA : SSH_MSG_CHANNEL_DATA;
	dssh_put_u32be(hdr + hl, ch->remote_id);
	hl += 4;
	if (ext) {
		dssh_put_u32be(hdr + hl, SSH_EXTENDED_DATA_STDERR);
		hl += 4;
	}
	dssh_put_u32be(hdr + hl, (uint32_t)n);
	hl += 4;
	return dssh_pkt_send2(c, hdr, hl, p, n);
}

size_t
dssh_chan_send(struct dssh_conn *c, uint32_t id, const uint8_t *p, size_t n, bool ext_stderr)
{
	struct dssh_channel *ch = chan_get(c, id);
	size_t sent = 0;

	/* The space is taken once: a caller that read no more than
	 * dssh_chan_send_space() bytes gets all of them sent. */
	n = DSSH_MIN(n, dssh_chan_send_space(c, id));
	while (ch != NULL && sent < n) {
		size_t chunk = DSSH_MIN(n - sent, (size_t)ch->remote_maxpacket);

		if (send_data_packet(c, ch, p + sent, chunk, ext_stderr) != 0)
			break;
		dssh_chan_win_sent(&ch->win, chunk);
		sent += chunk;
	}
	return sent;
}

void
dssh_chan_consumed(struct dssh_conn *c, uint32_t id, size_t n)
{
	struct dssh_channel *ch = chan_get(c, id);
	uint32_t adjust;

	/* Once the core has the window, it gives it back itself. */
	if (ch == NULL || ch->open_state != CHAN_OPEN || ch->sent_close ||
	    ch->offload > CHAN_OFF_READY)
		return;
	adjust = dssh_chan_win_consume(&ch->win, n);
	if (adjust > 0 && !ch->rcvd_eof) {
		uint8_t msg[9] = { SSH_MSG_CHANNEL_WINDOW_ADJUST };
		struct dssh_buf b;

		dssh_put_u32be(msg + 1, ch->remote_id);
		dssh_put_u32be(msg + 5, adjust);
		dssh_buf_from(&b, msg, sizeof(msg));
		if (dssh_conn_send_app(c, &b) == 0)
			dssh_chan_win_adjusted(&ch->win, adjust);
	}
}

int
dssh_chan_send_eof(struct dssh_conn *c, uint32_t id)
{
	struct dssh_channel *ch = chan_get(c, id);

	if (ch == NULL || ch->open_state != CHAN_OPEN || ch->sent_eof || ch->sent_close)
		return 0;
	ch->sent_eof = true;
	return send_chan_u32(c, SSH_MSG_CHANNEL_EOF, ch->remote_id);
}

static int
send_exit_request(struct dssh_conn *c, struct dssh_channel *ch, const char *req,
    const struct dssh_buf *args)
{
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_CHANNEL_REQUEST)) == 0 &&
	    (r = dssh_buf_put_u32(&b, ch->remote_id)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, req)) == 0 &&
	    (r = dssh_buf_put_bool(&b, false)) == 0 &&
	    (r = dssh_buf_put(&b, dssh_buf_ptr(args), dssh_buf_len(args))) == 0)
		r = dssh_conn_send_app(c, &b);
	dssh_buf_free(&b);
	return r;
}

int
dssh_chan_exit_status(struct dssh_conn *c, uint32_t id, uint32_t status)
{
	struct dssh_channel *ch = chan_get(c, id);
	uint8_t v[4];
	struct dssh_buf args;

	if (ch == NULL || ch->sent_close)
		return DSSH_ERR_NOT_FOUND;
	dssh_put_u32be(v, status);
	dssh_buf_from(&args, v, 4);
	return send_exit_request(c, ch, "exit-status", &args);
}

int
dssh_chan_exit_signal(struct dssh_conn *c, uint32_t id, const char *sig, bool core)
{
	struct dssh_channel *ch = chan_get(c, id);
	struct dssh_buf args;
	int r;

	if (ch == NULL || ch->sent_close)
		return DSSH_ERR_NOT_FOUND;
	dssh_buf_init(&args, 0);
	if ((r = dssh_buf_put_cstring(&args, sig)) == 0 &&
	    (r = dssh_buf_put_bool(&args, core)) == 0 &&
	    (r = dssh_buf_put_cstring(&args, "")) == 0 &&
	    (r = dssh_buf_put_cstring(&args, "")) == 0)
		r = send_exit_request(c, ch, "exit-signal", &args);
	dssh_buf_free(&args);
	return r;
}

static int
put_session_req(struct dssh_buf *b, const struct dssh_session_req *req)
{
	int r;

	switch (req->type) {
	case DSSH_REQ_EXEC:
		return dssh_buf_put_cstring(b, req->command);
	case DSSH_REQ_SUBSYSTEM:
		return dssh_buf_put_cstring(b, req->name);
	case DSSH_REQ_ENV:
		if ((r = dssh_buf_put_cstring(b, req->name)) != 0)
			return r;
		return dssh_buf_put_cstring(b, req->value);
	case DSSH_REQ_SHELL:
		return 0;
	case DSSH_REQ_PTY:
		if ((r = dssh_buf_put_cstring(b, req->term)) != 0 ||
		    (r = dssh_buf_put_u32(b, req->cols)) != 0 ||
		    (r = dssh_buf_put_u32(b, req->rows)) != 0 ||
		    (r = dssh_buf_put_u32(b, req->xpixel)) != 0 ||
		    (r = dssh_buf_put_u32(b, req->ypixel)) != 0)
			return r;
		return dssh_buf_put_string(b, req->modes, req->modes_len);
	default:
		return DSSH_ERR_UNSUPPORTED;
	}
}

int
dssh_chan_request(struct dssh_conn *c, uint32_t id, const struct dssh_session_req *req,
    bool want_reply)
{
	static const char *const names[] = {
		[DSSH_REQ_PTY] = "pty-req", [DSSH_REQ_ENV] = "env", [DSSH_REQ_SHELL] = "shell",
		[DSSH_REQ_EXEC] = "exec", [DSSH_REQ_SUBSYSTEM] = "subsystem",
	};
	struct dssh_channel *ch = chan_get(c, id);
	struct dssh_buf b;
	int r;

	if (ch == NULL || ch->open_state != CHAN_OPEN || ch->sent_close ||
	    (size_t)req->type >= DSSH_ARRAY_SIZE(names) || names[req->type] == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_CHANNEL_REQUEST)) == 0 &&
	    (r = dssh_buf_put_u32(&b, ch->remote_id)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, names[req->type])) == 0 &&
	    (r = dssh_buf_put_bool(&b, want_reply)) == 0 &&
	    (r = put_session_req(&b, req)) == 0)
		r = dssh_conn_send_app(c, &b);
	dssh_buf_free(&b);
	return r;
}

int
dssh_chan_close(struct dssh_conn *c, uint32_t id)
{
	struct dssh_channel *ch = chan_get(c, id);
	int r;

	if (ch == NULL || ch->sent_close)
		return 0;
	if (ch->open_state == CHAN_OPENING_IN)
		return dssh_chan_open_reply(c, id, DSSH_OPEN_CONNECT_FAILED, NULL);
	if (ch->open_state == CHAN_OPENING_OUT) {
		ch->sent_close = true;  /* CLOSE once the peer confirms; forgotten on failure */
		return 0;
	}
	if ((r = chan_reclaim(c, ch, id)) != 0)
		return r;
	ch->sent_close = true;
	r = send_chan_u32(c, SSH_MSG_CHANNEL_CLOSE, ch->remote_id);
	chan_maybe_free(c, id);
	return r;
}

/* ---- channel offload (record offload: dssh_record.h) ---- */

int
dssh_chan_offload(struct dssh_conn *c, uint32_t id, const struct dssh_chan_fds *fds)
{
	struct dssh_channel *ch = chan_get(c, id);
	uint8_t b[DSSH_REC_CHAN_OFFLOAD_LEN];

	if (!c->rec_offload || ch == NULL || ch->open_state != CHAN_OPEN ||
	    ch->offload != CHAN_OFF_NONE || ch->sent_eof ||
	    ch->sent_close || ch->rcvd_eof || ch->rcvd_close || c->state != CONN_TRANSPORT ||
	    fds->in < 0 || fds->out < 0)
		return DSSH_ERR_INVALID_ARGUMENT;
	dssh_put_u32be(b, id);
	dssh_put_u32be(b + 4, ch->remote_id);
	dssh_put_u32be(b + 8, ch->remote_maxpacket);
	dssh_put_u32be(b + 12, (uint32_t)fds->in);
	dssh_put_u32be(b + 16, (uint32_t)fds->out);
	dssh_put_u32be(b + 20, fds->err < 0 ? UINT32_MAX : (uint32_t)fds->err);
	ch->offload = CHAN_OFF_SENT;
	return dssh_pkt_put_marker(c, DSSH_REC_MARK_CHAN_OFFLOAD, b, sizeof(b));
}

int
dssh_chan_connect_offload(struct dssh_conn *c, uint32_t id, uint32_t addr, uint16_t port)
{
	struct dssh_channel *ch = chan_get(c, id);
	uint8_t b[DSSH_REC_CHAN_CONNECT_LEN];

	if (!c->rec_offload || ch == NULL || ch->open_state != CHAN_OPENING_IN ||
	    ch->offload != CHAN_OFF_NONE || c->state != CONN_TRANSPORT)
		return DSSH_ERR_INVALID_ARGUMENT;
	dssh_put_u32be(b, id);
	dssh_put_u32be(b + 4, ch->remote_id);
	dssh_put_u32be(b + 8, ch->remote_maxpacket);
	dssh_put_u32be(b + 12, addr);
	dssh_put_u32be(b + 16, port);
	ch->offload = CHAN_OFF_SENT;
	return dssh_pkt_put_marker(c, DSSH_REC_MARK_CHAN_CONNECT, b, sizeof(b));
}

static void offload_event(struct dssh_conn *c, struct dssh_channel *ch, uint32_t id,
    enum dssh_chan_offload_ev ev);

/* CHAN_CONNECTED: the core's connect for an open we have not answered. */
static int
connected_marker(struct dssh_conn *c, const uint8_t *body, size_t n)
{
	struct dssh_channel *ch;
	uint32_t id, res;

	if (n != DSSH_REC_CHAN_CONNECTED_LEN)
		return DSSH_ERR_PROTOCOL;
	id = dssh_get_u32be(body);
	res = dssh_get_u32be(body + 4);
	if (res > DSSH_REC_CONN_TIMEOUT)
		return DSSH_ERR_PROTOCOL;
	/* Answered meanwhile (the connection is closing): the core keeps what
	 * it has until the connection ends. */
	if ((ch = chan_get(c, id)) == NULL || ch->open_state != CHAN_OPENING_IN ||
	    ch->offload != CHAN_OFF_SENT)
		return 0;
	if (res == DSSH_REC_CONN_OK) {
		ch->offload = CHAN_OFF_READY;
		offload_event(c, ch, id, DSSH_CHAN_CONNECTED);
		return 0;
	}
	ch->offload = CHAN_OFF_NONE;    /* the core forgot it */
	offload_event(c, ch, id, res == DSSH_REC_CONN_TIMEOUT ? DSSH_CHAN_CONNECT_TIMEOUT :
	    DSSH_CHAN_CONNECT_FAILED);
	return 0;
}

int
dssh_chan_offload_go(struct dssh_conn *c, uint32_t id)
{
	struct dssh_channel *ch = chan_get(c, id);
	uint8_t b[DSSH_REC_CHAN_GO_LEN];

	if (ch == NULL || ch->offload != CHAN_OFF_READY)
		return DSSH_ERR_INVALID_ARGUMENT;
	dssh_put_u32be(b, id);
	dssh_put_u32be(b + 4, ch->win.size);
	dssh_put_u32be(b + 8, ch->win.local);
	dssh_put_u32be(b + 12, ch->win.consumed);
	dssh_put_u32be(b + 16, ch->win.remote);
	/* An EOF that came before the core intercepted: stdin is to close
	 * after what the core queued (nothing: the EOF was last). */
	dssh_put_u32be(b + 20, ch->rcvd_eof ? DSSH_REC_CHAN_GO_PEER_EOF : 0);
	dssh_put_u32be(b + 24, ch->win.max);
	ch->offload = CHAN_OFF_GO;
	return dssh_pkt_put_marker(c, DSSH_REC_MARK_CHAN_GO, b, sizeof(b));
}

bool
dssh_chan_offloaded(const struct dssh_conn *c, uint32_t id)
{
	const struct dssh_channel *ch = chan_get_const(c, id);

	return ch != NULL && ch->offload != CHAN_OFF_NONE;
}

static void
offload_event(struct dssh_conn *c, struct dssh_channel *ch, uint32_t id,
    enum dssh_chan_offload_ev ev)
{
	if (c->ops->channel_offload != NULL && !ch->sent_close)
		c->ops->channel_offload(c->host, id, ev);
}

int
dssh_chan_offload_marker(struct dssh_conn *c, uint32_t kind, const uint8_t *body, size_t n)
{
	struct dssh_channel *ch;
	uint32_t id;

	if (kind == DSSH_REC_MARK_CHAN_COUNT) {
		if (n != DSSH_REC_CHAN_COUNT_LEN)
			goto bad;
		dssh_pkt_count_offloaded(c, dssh_get_u32be(body), dssh_get_u64be(body + 8),
		    dssh_get_u32be(body + 4), dssh_get_u64be(body + 16));
		return dssh_kex_check_rekey(c);
	}
	if (kind == DSSH_REC_MARK_CHAN_CONNECTED) {
		if (connected_marker(c, body, n) != 0)
			goto bad;
		return 0;
	}
	if (n != (kind == DSSH_REC_MARK_CHAN_OUT_EOF ? DSSH_REC_CHAN_OUT_EOF_LEN :
	    DSSH_REC_CHAN_ID_LEN))
		goto bad;
	id = dssh_get_u32be(body);
	if ((ch = chan_get(c, id)) == NULL || ch->offload == CHAN_OFF_NONE)
		goto bad;
	switch (kind) {
	case DSSH_REC_MARK_CHAN_OFFLOADED:
		if (ch->offload == CHAN_OFF_RECLAIM)
			return 0;
		if (ch->offload != CHAN_OFF_SENT)
			goto bad;
		ch->offload = CHAN_OFF_READY;
		offload_event(c, ch, id, DSSH_CHAN_OFFLOADED);
		return 0;
	case DSSH_REC_MARK_CHAN_EOF_IN:
		if (ch->offload != CHAN_OFF_GO && ch->offload != CHAN_OFF_RECLAIM)
			goto bad;
		if (!ch->rcvd_eof) {
			ch->rcvd_eof = true;
			if (!ch->sent_close)
				c->ops->channel_eof(c->host, id);
		}
		return 0;
	case DSSH_REC_MARK_CHAN_OUT_EOF: {
		uint32_t which = dssh_get_u32be(body + 4);

		if ((ch->offload != CHAN_OFF_GO && ch->offload != CHAN_OFF_RECLAIM) ||
		    which < 1 || which > 3)
			goto bad;
		offload_event(c, ch, id, which == 1 ? DSSH_CHAN_OUT_EOF : which == 2 ?
		    DSSH_CHAN_ERR_EOF : DSSH_CHAN_OUT_FAIL);
		return 0;
	}
	case DSSH_REC_MARK_CHAN_RECLAIMED:
		if (ch->offload != CHAN_OFF_RECLAIM)
			goto bad;
		ch->offload = CHAN_OFF_NONE;
		ch->reclaimed = true;       /* our window state is stale: closing anyway */
		offload_event(c, ch, id, DSSH_CHAN_RECLAIMED);
		chan_maybe_free(c, id);
		return 0;
	default:
		break;
	}
bad:
	dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "bad channel offload marker %u", kind);
	return DSSH_ERR_PROTOCOL;
}

unsigned
dssh_conn_channels_open(const struct dssh_conn *c)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < c->nchans; i++)
		n += c->chans[i] != NULL && c->chans[i]->in_use;
	return n;
}
