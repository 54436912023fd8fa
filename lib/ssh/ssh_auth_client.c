/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * User authentication protocol, client side (RFC 4252): the ssh-userauth
 * service request, a "none" request for the list of methods, then what
 * the host's auth_next gives, publickey (signed at once, RFC 4252 7, with
 * rsa-sha2-512/256 by the server's server-sig-algs, RFC 8332) or password
 * (RFC 4252 8), until USERAUTH_SUCCESS.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_sshkey.h"
#include "dssh_util.h"
#include "ssh_internal.h"

int
dssh_auth_client_start(struct dssh_conn *c)
{
	struct dssh_buf b;
	int r;

	if (c->auth_user == NULL &&
	    (c->auth_user = strdup(c->conf->user != NULL ? c->conf->user : "")) == NULL)
		return DSSH_ERR_ALLOC;
	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_SERVICE_REQUEST)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, "ssh-userauth")) == 0)
		r = dssh_conn_send_app(c, &b);
	dssh_buf_free(&b);
	return r;
}

static int
put_request_head(struct dssh_conn *c, struct dssh_buf *b, const char *method)
{
	int r;

	if ((r = dssh_buf_put_u8(b, SSH_MSG_USERAUTH_REQUEST)) != 0 ||
	    (r = dssh_buf_put_cstring(b, c->auth_user)) != 0 ||
	    (r = dssh_buf_put_cstring(b, "ssh-connection")) != 0 ||
	    (r = dssh_buf_put_cstring(b, method)) != 0)
		return r;
	return 0;
}

static int
send_none(struct dssh_conn *c)
{
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = put_request_head(c, &b, "none")) == 0)
		r = dssh_conn_send_app(c, &b);
	dssh_buf_free(&b);
	c->client_sent_none = true;
	return r;
}

/* The signature algorithm for a key: RSA by what the server said it takes. */
static const char *
pick_sig_alg(const struct dssh_conn *c, const struct dssh_sshkey *key)
{
	const char *ssa = c->server_sig_algs;

	if (dssh_sshkey_type(key) != DSSH_SSHKEY_RSA)
		return dssh_sshkey_type_name(key);
	if (ssa != NULL && !dssh_namelist_has(ssa, "rsa-sha2-512") &&
	    dssh_namelist_has(ssa, "rsa-sha2-256"))
		return "rsa-sha2-256";
	/* Without server-sig-algs too: never SHA-1 (ssh-rsa). */
	return "rsa-sha2-512";
}

static int
sign(struct dssh_conn *c, const struct dssh_sshkey *key, const char *alg,
    const struct dssh_buf *data, struct dssh_buf *sig)
{
	if (dssh_sshkey_has_private(key))
		return dssh_sshkey_sign(key, alg, dssh_buf_ptr(data), dssh_buf_len(data), sig);
	if (c->ops->auth_sign == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	return c->ops->auth_sign(c->host, key, alg, dssh_buf_ptr(data), dssh_buf_len(data), sig);
}

static int
send_publickey(struct dssh_conn *c, const struct dssh_sshkey *key)
{
	const char *alg = pick_sig_alg(c, key);
	struct dssh_buf blob, req, data, sig;
	int r;

	dssh_buf_init(&blob, 0);
	dssh_buf_init(&req, 0);
	dssh_buf_init(&data, 0);
	dssh_buf_init(&sig, 0);
	/* RFC 4252 7: the signed data is the request with the session id first. */
	if ((r = dssh_sshkey_public_blob(key, &blob)) != 0 ||
	    (r = put_request_head(c, &req, "publickey")) != 0 ||
	    (r = dssh_buf_put_bool(&req, true)) != 0 ||
	    (r = dssh_buf_put_cstring(&req, alg)) != 0 ||
	    (r = dssh_buf_put_stringb(&req, &blob)) != 0 ||
	    (r = dssh_buf_put_string(&data, c->session_id, c->session_id_len)) != 0 ||
	    (r = dssh_buf_put(&data, dssh_buf_ptr(&req), dssh_buf_len(&req))) != 0 ||
	    (r = sign(c, key, alg, &data, &sig)) != 0 ||
	    (r = dssh_buf_put_stringb(&req, &sig)) != 0)
		goto out;
	dssh_debug("%s: offering %s key", c->log_id, alg);
	r = dssh_conn_send_app(c, &req);
out:
	dssh_buf_free(&blob);
	dssh_buf_free(&req);
	dssh_buf_free(&data);
	dssh_buf_free(&sig);
	return r;
}

static int
send_password(struct dssh_conn *c, const char *password)
{
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = put_request_head(c, &b, "password")) == 0 &&
	    (r = dssh_buf_put_bool(&b, false)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, password != NULL ? password : "")) == 0)
		r = dssh_conn_send_app(c, &b);
	dssh_buf_free(&b);      /* wipes the password */
	return r;
}

static int
next_attempt(struct dssh_conn *c, const char *methods)
{
	struct dssh_client_auth a;

	memset(&a, 0, sizeof(a));
	if (c->ops->auth_next == NULL || c->ops->auth_next(c->host, methods, &a) != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE,
		    "Permission denied (%s)", methods);
		return DSSH_ERR_PERMISSION;
	}
	c->auth_pending_method = a.method;
	c->auth_failures++;
	switch (a.method) {
	case DSSH_AUTH_PUBLICKEY:
		if (a.key == NULL)
			return DSSH_ERR_INVALID_ARGUMENT;
		return send_publickey(c, a.key);
	case DSSH_AUTH_PASSWORD:
		return send_password(c, a.password);
	default:
		return DSSH_ERR_UNSUPPORTED;
	}
}

static int
handle_failure(struct dssh_conn *c, struct dssh_buf *m)
{
	char *methods = NULL;
	bool partial;
	int r;

	if ((r = dssh_buf_get_cstring(m, &methods, NULL)) != 0 ||
	    (r = dssh_buf_get_bool(m, &partial)) != 0) {
		free(methods);
		return r;
	}
	dssh_debug("%s: authentications that can continue: %s%s", c->log_id, methods,
	    partial ? " (partial success)" : "");
	r = next_attempt(c, methods);
	free(methods);
	return r;
}

static int
handle_banner(struct dssh_conn *c, struct dssh_buf *m)
{
	char *msg = NULL;
	int r;

	if ((r = dssh_buf_get_cstring(m, &msg, NULL)) != 0 ||
	    (r = dssh_buf_skip_string(m)) != 0) {
		free(msg);
		return r;
	}
	if (c->ops->auth_banner != NULL)
		c->ops->auth_banner(c->host, msg);
	free(msg);
	return 0;
}

int
dssh_auth_client_dispatch(struct dssh_conn *c, uint8_t type, struct dssh_buf *m)
{
	if (c->authenticated) {
		/* Late answers after success are a protocol error (RFC 4252 5.1). */
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "auth message %u after success",
		    type);
		return DSSH_ERR_PROTOCOL;
	}
	switch (type) {
	case SSH_MSG_SERVICE_ACCEPT:
		if (c->client_sent_none)
			break;
		c->auth = AUTH_IN_PROGRESS;
		return send_none(c);
	case SSH_MSG_USERAUTH_BANNER:
		return handle_banner(c, m);
	case SSH_MSG_USERAUTH_FAILURE:
		if (!c->client_sent_none)
			break;
		return handle_failure(c, m);
	case SSH_MSG_USERAUTH_SUCCESS:
		if (!c->client_sent_none)
			break;
		c->authenticated = true;
		c->auth = AUTH_DONE;
		dssh_verbose("%s: authenticated as %s", c->log_id, c->auth_user);
		if (c->ops->auth_success != NULL)
			c->ops->auth_success(c->host, c->auth_user, c->auth_pending_method);
		return 0;
	default:
		break;
	}
	dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "unexpected auth message %u", type);
	return DSSH_ERR_PROTOCOL;
}
