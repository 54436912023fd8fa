/* SPDX-License-Identifier: BSD-3-Clause */
/* Connection lifecycle: version exchange, the input loop, dispatch, output. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "ssh_internal.h"

/* Input we hold while a decision is pending, or a packet is incomplete. */
#define DSSH_INPUT_MAX (2u * DSSH_PACKET_MAX + 64u * 1024)

int
dssh_conn_new(const struct dssh_ssh_conf *conf, const struct dssh_conn_host_ops *ops,
    void *host, const char *log_id, struct dssh_conn **out)
{
	struct dssh_conn *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL)
		return DSSH_ERR_ALLOC;
	c->conf = conf;
	c->ops = ops;
	c->host = host;
	snprintf(c->log_id, sizeof(c->log_id), "%s", log_id ? log_id : "?");
	dssh_buf_init(&c->in, DSSH_INPUT_MAX);
	c->in.consumed_wiped = true;    /* dssh_pkt_consume wipes each packet */
	dssh_buf_init(&c->out, 0);
	dssh_buf_init(&c->deferred, 0);
	dssh_buf_init(&c->i_c, DSSH_PACKET_MAX);
	dssh_buf_init(&c->i_s, DSSH_PACKET_MAX);
	c->state = CONN_VERSION;
	c->auth = AUTH_NO_SERVICE;
	*out = c;
	return 0;
}

void
dssh_conn_free(struct dssh_conn *c)
{
	if (c == NULL)
		return;
	dssh_kex_cleanup(c);
	dssh_crypto_sa_free(c->rx.sa);
	dssh_crypto_sa_free(c->tx.sa);
	dssh_pkt_free_comp(c);
	dssh_buf_free(&c->in);
	dssh_buf_free(&c->out);
	dssh_buf_free(&c->deferred);
	dssh_buf_free(&c->i_c);
	dssh_buf_free(&c->i_s);
	free(c->v_c);
	free(c->v_s);
	free(c->auth_user);
	dssh_chan_free_all(c);
	dssh_wipe(c->session_id, sizeof(c->session_id));
	free(c);
}

static int
send_disconnect(struct dssh_conn *c, uint32_t reason, const char *msg)
{
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_DISCONNECT)) == 0 &&
	    (r = dssh_buf_put_u32(&b, reason)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, msg)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, "")) == 0)
		r = dssh_pkt_send(c, &b);
	dssh_buf_free(&b);
	return r;
}

void
dssh_conn_disconnect(struct dssh_conn *c, uint32_t reason, const char *msg)
{
	if (c->state == CONN_CLOSED)
		return;
	if (c->state == CONN_TRANSPORT)
		send_disconnect(c, reason, msg);
	c->state = CONN_CLOSED;
}

void
dssh_conn_fail(struct dssh_conn *c, uint32_t reason, const char *fmt, ...)
{
	char msg[256], who[256];
	va_list ap;

	if (c->state == CONN_CLOSED)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dssh_info("Disconnecting %s: %s%s", dssh_conn_log_peer(c, who, sizeof(who)), msg,
	    dssh_conn_log_preauth(c));
	dssh_conn_disconnect(c, reason, msg);
}

int
dssh_conn_start(struct dssh_conn *c, uint64_t now_ms)
{
	char line[DSSH_VERSION_LINE_MAX];
	int r;

	c->now_ms = c->last_rx_ms = now_ms;
	snprintf(line, sizeof(line), "SSH-2.0-%s",
	    c->conf->version_comment ? c->conf->version_comment : "dssh");
	/* Ours is V_S as a server, V_C as a client. */
	char **own = dssh_is_client(c) ? &c->v_c : &c->v_s;

	if ((*own = strdup(line)) == NULL)
		return DSSH_ERR_ALLOC;
	size_t n = strlen(line);

	if (n + 2 >= sizeof(line))
		return DSSH_ERR_INVALID_ARGUMENT;
	memcpy(line + n, "\r\n", 3);
	if ((r = dssh_pkt_send_text(c, line)) != 0)
		return r;
	return dssh_kex_start(c);
}

/* Returns 0 once the peer's version line is in, MSG_INCOMPLETE, or an error. */
static int
read_version(struct dssh_conn *c)
{
	for (;;) {
		const uint8_t *p = dssh_buf_ptr(&c->in);
		size_t avail = dssh_buf_len(&c->in);
		const uint8_t *nl = memchr(p, '\n', DSSH_MIN(avail, (size_t)DSSH_VERSION_LINE_MAX));

		if (nl == NULL) {
			if (avail >= DSSH_VERSION_LINE_MAX) {
				dssh_info("%s: version line too long", c->log_id);
				c->state = CONN_CLOSED;
				return DSSH_ERR_INVALID_FORMAT;
			}
			return DSSH_ERR_MSG_INCOMPLETE;
		}
		size_t n = (size_t)(nl - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n >= 4 && memcmp(p, "SSH-", 4) == 0) {
			char *v = dssh_strndup((const char *)p, n);

			if (v == NULL)
				return DSSH_ERR_ALLOC;
			dssh_buf_consume(&c->in, (size_t)(nl - p) + 1);
			if (strncmp(v, "SSH-2.0-", 8) != 0 && strncmp(v, "SSH-1.99-", 9) != 0) {
				dssh_info("%s: Protocol major versions differ: %s vs. SSH-2.0 (\"%.40s\")",
				    c->log_id, v[4] == '1' ? "1" : "?", v);
				free(v);
				dssh_pkt_send_text(c, "Protocol major versions differ.\r\n");
				c->state = CONN_CLOSED;
				return DSSH_ERR_PROTOCOL;
			}
			for (size_t i = 0; i < n; i++) {
				if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e) {
					dssh_info("%s: bad characters in version string", c->log_id);
					free(v);
					c->state = CONN_CLOSED;
					return DSSH_ERR_INVALID_FORMAT;
				}
			}
			if (dssh_is_client(c))
				c->v_s = v;
			else
				c->v_c = v;
			c->state = CONN_TRANSPORT;
			dssh_verbose("%s: remote software version %s", c->log_id, v + 8);
			return 0;
		}
		/* A server may send lines before its version, clients must
		 * not (RFC 4253 4.2). */
		if (dssh_is_client(c) && c->banner_lines < DSSH_BANNER_LINES_MAX) {
			c->banner_lines++;
			dssh_buf_consume(&c->in, (size_t)(nl - p) + 1);
			continue;
		}
		dssh_info("%s: bad protocol version identification '%.*s'", c->log_id,
		    (int)DSSH_MIN(n, (size_t)60), (const char *)p);
		dssh_pkt_send_text(c, "Invalid SSH identification string.\r\n");
		c->state = CONN_CLOSED;
		return DSSH_ERR_PROTOCOL;
	}
}

static int
send_unimplemented(struct dssh_conn *c, uint32_t seq)
{
	uint8_t msg[5] = { SSH_MSG_UNIMPLEMENTED };

	dssh_put_u32be(msg + 1, seq);
	return dssh_pkt_send_raw(c, msg, sizeof(msg));
}

static int
handle_disconnect(struct dssh_conn *c, struct dssh_buf *m)
{
	uint32_t reason = 0;
	const uint8_t *desc = NULL;
	size_t dlen = 0;
	char who[256];

	dssh_buf_get_u32(m, &reason);
	dssh_buf_get_string_direct(m, &desc, &dlen);
	/* sshd's two lines (the text after "dsshd[pid]: " is what sshd prints) */
	dssh_info("Received disconnect from %s:%u: %.*s%s", c->log_id, reason,
	    (int)DSSH_MIN(dlen, (size_t)200), desc ? (const char *)desc : "",
	    dssh_conn_log_preauth(c));
	dssh_info("Disconnected from %s%s", dssh_conn_log_peer(c, who, sizeof(who)),
	    dssh_conn_log_preauth(c));
	c->state = CONN_CLOSED;
	return DSSH_ERR_CONN_CLOSED;
}

/*
 * RFC 4253 11.3: boolean always_display, string message, string language.
 * Logged (printable ASCII only), never shown to anyone; a message that does
 * not parse is a protocol error, as in OpenSSH.
 */
static int
handle_debug(struct dssh_conn *c, struct dssh_buf *m)
{
	bool display = false;
	const uint8_t *msg = NULL, *lang = NULL;
	size_t mlen = 0, llen = 0, i;
	char clean[201];

	if (dssh_buf_get_bool(m, &display) != 0 ||
	    dssh_buf_get_string_direct(m, &msg, &mlen) != 0 ||
	    dssh_buf_get_string_direct(m, &lang, &llen) != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed debug message");
		return DSSH_ERR_INVALID_FORMAT;
	}
	for (i = 0; i < mlen && i < sizeof(clean) - 1; i++)
		clean[i] = msg[i] >= 0x20 && msg[i] < 0x7f ? (char)msg[i] : '?';
	clean[i] = '\0';
	dssh_debug("%s: remote debug message%s: %s%s", c->log_id,
	    display ? " (always_display)" : "", clean, mlen > i ? "..." : "");
	return 0;
}

static bool
is_kex_msg(uint8_t type)
{
	return type >= SSH_MSG_KEXINIT && type <= SSH_MSG_KEX_METHOD_LAST;
}

static int
dispatch(struct dssh_conn *c, uint8_t type, struct dssh_buf *m)
{
	bool in_initial_kex = c->kex_count == 0;

	if (type == SSH_MSG_DISCONNECT)
		return handle_disconnect(c, m);
	/*
	 * RFC 4253 7: after a KEXINIT whose first_kex_packet_follows guess was
	 * wrong, the next packet is ignored. The guess is the first packet of a
	 * key exchange method (30-49); anything else there, a NEWKEYS above
	 * all, is refused: ignoring a NEWKEYS would leave a data core that
	 * frames the packets waiting for keys that never come.
	 */
	if (c->kex_ignore_guess) {
		c->kex_ignore_guess = false;
		if (type < SSH_MSG_KEX_METHOD_FIRST || type > SSH_MSG_KEX_METHOD_LAST) {
			dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR,
			    "message %u where a guessed key exchange packet should follow", type);
			return DSSH_ERR_PROTOCOL;
		}
		return 0;
	}
	if (is_kex_msg(type))
		return dssh_kex_dispatch(c, type, m);
	/* Before the first NEWKEYS only transport messages make sense; with
	 * strict KEX (the Terrapin fix) not even IGNORE/DEBUG. */
	if (in_initial_kex && (c->strict_kex || type > SSH_MSG_DEBUG)) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR,
		    "unexpected message %u during initial key exchange", type);
		return DSSH_ERR_PROTOCOL;
	}
	if (c->kex_rcvd_kexinit && type > SSH_MSG_DEBUG) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR,
		    "message %u during key exchange", type);
		return DSSH_ERR_PROTOCOL;
	}
	switch (type) {
	case SSH_MSG_DEBUG:
		return handle_debug(c, m);
	case SSH_MSG_IGNORE:
	case SSH_MSG_UNIMPLEMENTED:
		return 0;
	case SSH_MSG_SERVICE_REQUEST:
		if (dssh_is_client(c))
			break;
		return dssh_auth_dispatch(c, type, m);
	case SSH_MSG_SERVICE_ACCEPT:
		if (!dssh_is_client(c))
			break;
		return dssh_auth_client_dispatch(c, type, m);
	case SSH_MSG_EXT_INFO:
		if (!dssh_is_client(c))
			break;
		return dssh_kex_client_ext_info(c, m);
	default:
		break;
	}
	if (type >= SSH_MSG_USERAUTH_REQUEST && type < SSH_MSG_GLOBAL_REQUEST)
		return dssh_is_client(c) ? dssh_auth_client_dispatch(c, type, m) :
		    dssh_auth_dispatch(c, type, m);
	if (type >= SSH_MSG_GLOBAL_REQUEST && type <= 127) {
		if (!c->authenticated) {
			dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR,
			    "connection message %u before authentication", type);
			return DSSH_ERR_PROTOCOL;
		}
		if (type == SSH_MSG_GLOBAL_REQUEST)
			return dssh_global_request(c, m);
		if (type == SSH_MSG_REQUEST_SUCCESS || type == SSH_MSG_REQUEST_FAILURE)
			return 0;  /* answers to our keepalives */
		return dssh_chan_dispatch(c, type, m);
	}
	return send_unimplemented(c, c->rx.seq);
}

static int
process(struct dssh_conn *c)
{
	int r;

	if (c->state == CONN_VERSION) {
		if ((r = read_version(c)) != 0)
			return r == DSSH_ERR_MSG_INCOMPLETE ? 0 : r;
	}
	while (c->state == CONN_TRANSPORT && c->auth != AUTH_PENDING) {
		const uint8_t *payload;
		size_t len;

		if ((r = dssh_pkt_read(c, &payload, &len)) != 0) {
			if (r == DSSH_ERR_MSG_INCOMPLETE)
				return 0;
			dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "%s", dssh_err_str(r));
			return r;
		}
		struct dssh_buf m;

		dssh_buf_from(&m, payload + 1, len - 1);
		c->last_rx_ms = c->now_ms;
		c->alive_missed = 0;
		r = dispatch(c, payload[0], &m);
		dssh_pkt_consume(c);
		if (r == 0)
			r = dssh_kex_after_rx_packet(c);
		if (r == 0)
			r = dssh_kex_check_rekey(c);
		if (r != 0) {
			dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "%s", dssh_err_str(r));
			return r;
		}
	}
	return c->state == CONN_CLOSED ? DSSH_ERR_CONN_CLOSED : 0;
}

/*
 * n bytes of input appended: copied from p, or (p NULL) already written in
 * the room dssh_conn_input_room gave, where reserving them cannot allocate.
 */
static int
conn_take_input(struct dssh_conn *c, const uint8_t *p, size_t n, uint64_t now_ms)
{
	int r;

	if (c->state == CONN_CLOSED)
		return DSSH_ERR_CONN_CLOSED;
	c->now_ms = now_ms;
	if (n > 0) {
		r = p != NULL ? dssh_buf_put(&c->in, p, n) : dssh_buf_reserve(&c->in, n, NULL);
		if (r != 0) {
			dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "input buffer full");
			return r;
		}
	}
	return process(c);
}

int
dssh_conn_input(struct dssh_conn *c, const uint8_t *p, size_t n, uint64_t now_ms)
{
	if (n > 0 && p == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	return conn_take_input(c, p, n, now_ms);
}

size_t
dssh_conn_input_room(struct dssh_conn *c, uint8_t **p)
{
	if (c->state == CONN_CLOSED)
		return 0;
	return dssh_buf_room(&c->in, p);
}

int
dssh_conn_input_commit(struct dssh_conn *c, size_t n, uint64_t now_ms)
{
	return conn_take_input(c, NULL, n, now_ms);
}

bool
dssh_conn_input_paused(const struct dssh_conn *c)
{
	return c->auth == AUTH_PENDING || dssh_buf_len(&c->in) > DSSH_INPUT_MAX / 2;
}

int
dssh_conn_resume(struct dssh_conn *c, uint64_t now_ms)
{
	c->now_ms = now_ms;
	if (c->state == CONN_CLOSED)
		return DSSH_ERR_CONN_CLOSED;
	return process(c);
}

static int
send_keepalive(struct dssh_conn *c)
{
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_GLOBAL_REQUEST)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, "keepalive@openssh.com")) == 0 &&
	    (r = dssh_buf_put_bool(&b, true)) == 0)
		r = dssh_conn_send_app(c, &b);
	dssh_buf_free(&b);
	return r;
}

int
dssh_conn_tick(struct dssh_conn *c, uint64_t now_ms)
{
	uint32_t ival = c->conf->client_alive_interval;

	c->now_ms = now_ms;
	if (c->state != CONN_TRANSPORT)
		return c->state == CONN_CLOSED ? DSSH_ERR_CONN_CLOSED : 0;
	if (ival > 0 && c->authenticated &&
	    now_ms - c->last_rx_ms >= (uint64_t)ival * 1000 &&
	    now_ms - c->last_alive_ms >= (uint64_t)ival * 1000) {
		if (c->alive_missed >= c->conf->client_alive_count_max) {
			c->alive_timed_out = true;
			dssh_info("Timeout, client not responding from user %s %s",
			    c->auth_user ? c->auth_user : "?", c->log_id);
			dssh_conn_fail(c, SSH_DISCONNECT_BY_APPLICATION,
			    "Timeout, client not responding");
			return DSSH_ERR_TIMEOUT;
		}
		c->alive_missed++;
		c->last_alive_ms = now_ms;
		send_keepalive(c);
	}
	return dssh_kex_check_rekey(c);
}

int
dssh_conn_send_app(struct dssh_conn *c, const struct dssh_buf *payload)
{
	if (!c->kex_in_progress)
		return dssh_pkt_send(c, payload);
	/* RFC 4253 7.1: nothing but transport messages until our NEWKEYS. */
	int r = dssh_buf_put_u32(&c->deferred, (uint32_t)dssh_buf_len(payload));

	return r ? r : dssh_buf_put(&c->deferred, dssh_buf_ptr(payload), dssh_buf_len(payload));
}

void
dssh_conn_output(struct dssh_conn *c, const uint8_t **p, size_t *n)
{
	*p = dssh_buf_ptr(&c->out);
	*n = dssh_buf_len(&c->out);
}

void
dssh_conn_output_consume(struct dssh_conn *c, size_t n)
{
	size_t w = DSSH_MIN(n, c->out_wipe);

	if (w > 0) {
		dssh_wipe(dssh_buf_mutable_ptr(&c->out), w);
		c->out_wipe -= w;
	}
	dssh_buf_consume(&c->out, n);
}

void
dssh_conn_set_record_offload(struct dssh_conn *c)
{
	c->rec_offload = true;
}

void
dssh_conn_set_rtt(struct dssh_conn *c, uint32_t rtt_us)
{
	c->rtt_us = rtt_us;
}

void
dssh_conn_set_sign_id(struct dssh_conn *c, uint64_t id)
{
	c->sign_id = id;
}

size_t
dssh_conn_output_pending(const struct dssh_conn *c)
{
	return dssh_buf_len(&c->out);
}

bool
dssh_conn_closing(const struct dssh_conn *c)
{
	return c->state == CONN_CLOSED;
}

bool
dssh_conn_authenticated(const struct dssh_conn *c)
{
	return c->authenticated;
}

const char *
dssh_conn_user(const struct dssh_conn *c)
{
	return c->auth_user;
}

void
dssh_conn_get_stats(const struct dssh_conn *c, struct dssh_conn_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->bytes_in = c->total_bytes_in;
	st->bytes_out = c->total_bytes_out;
	st->packets_in = c->total_pkts_in;
	st->packets_out = c->total_pkts_out;
	st->kex_count = c->kex_count;
	st->strict_kex = c->strict_kex;
	st->kex_alg = c->neg.kex;
	st->hostkey_alg = c->neg.hostkey;
	st->cipher_in = c->rx.cipher_name;
	st->cipher_out = c->tx.cipher_name;
	st->mac_in = c->rx.mac_name;
	st->mac_out = c->tx.mac_name;
	st->auth_failures = c->auth_failures;
	st->auth_tries_exceeded = c->auth_tries_exceeded;
	st->alive_timed_out = c->alive_timed_out;
}
