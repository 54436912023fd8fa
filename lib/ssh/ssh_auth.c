/* SPDX-License-Identifier: BSD-3-Clause */
/* User authentication protocol, server side (RFC 4252). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_sshkey.h"
#include "dssh_util.h"
#include "ssh_internal.h"

/* Auth replies are application messages: held back during a rekey. */
static int
send_simple(struct dssh_conn *c, uint8_t type)
{
	struct dssh_buf b;

	dssh_buf_from(&b, &type, 1);
	return dssh_conn_send_app(c, &b);
}

static int
methods_list(const struct dssh_conn *c, char *out, size_t n)
{
	int w = snprintf(out, n, "%s%s%s", c->conf->pubkey_auth ? "publickey" : "",
	    c->conf->pubkey_auth && c->conf->password_auth ? "," : "",
	    c->conf->password_auth ? "password" : "");

	return w < 0 || (size_t)w >= n ? DSSH_ERR_INTERNAL : 0;
}

static int
send_failure(struct dssh_conn *c)
{
	struct dssh_buf b;
	char methods[64];
	int r;

	if ((r = methods_list(c, methods, sizeof(methods))) != 0)
		return r;
	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_USERAUTH_FAILURE)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, methods)) == 0 &&
	    (r = dssh_buf_put_bool(&b, false)) == 0)
		r = dssh_conn_send_app(c, &b);
	dssh_buf_free(&b);
	return r;
}

void
dssh_conn_set_invalid_user(struct dssh_conn *c)
{
	c->auth_user_invalid = true;
}

const char *
dssh_conn_log_peer(const struct dssh_conn *c, char *buf, size_t n)
{
	if (c->auth_user == NULL)
		snprintf(buf, n, "%s", c->log_id);
	else
		snprintf(buf, n, "%s %s %s", c->auth_user_invalid ? "invalid user" :
		    c->authenticated ? "user" : "authenticating user", c->auth_user, c->log_id);
	return buf;
}

const char *
dssh_conn_log_preauth(const struct dssh_conn *c)
{
	return c->authenticated || c->v_c == NULL ? "" : " [preauth]";
}

bool
dssh_conn_version_received(const struct dssh_conn *c)
{
	return c->v_c != NULL;
}

/* sshd's words: "<Failed|Accepted> METHOD for [invalid user ]USER from IP port N
 * ssh2[: KEY FINGERPRINT]" (the key for publickey, not for an invalid user). */
static void
auth_log(struct dssh_conn *c, const char *verdict, const char *method)
{
	bool key = strcmp(method, "publickey") == 0 && c->auth_key_desc[0] != '\0';

	dssh_info("%s %s for %s%s from %s ssh2%s%s", verdict, method,
	    c->auth_user_invalid ? "invalid user " : "", c->auth_user, c->log_id,
	    key ? ": " : "", key ? c->auth_key_desc : "");
}

/* A failed attempt: counted against MaxAuthTries, like sshd. */
static int
auth_failed(struct dssh_conn *c, const char *method, bool counts)
{
	if (counts) {
		c->auth_failures++;
		/* sshd names no key of an invalid user's publickey attempt */
		if (!(c->auth_user_invalid && strcmp(method, "publickey") == 0))
			auth_log(c, "Failed", method);
		if (c->auth_failures >= c->conf->max_auth_tries) {
			/* sshd's two lines for it, the first as an error (its remote id
			 * is "IP port N") */
			dssh_error("maximum authentication attempts exceeded for %s%s from %s ssh2 "
			    "[preauth]", c->auth_user_invalid ? "invalid user " : "", c->auth_user,
			    c->log_id);
			dssh_info("Disconnecting %s user %s %s: Too many authentication failures "
			    "[preauth]", c->auth_user_invalid ? "invalid" : "authenticating",
			    c->auth_user, c->log_id);
			c->auth_tries_exceeded = true;
			dssh_conn_fail(c, SSH_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE,
			    "Too many authentication failures");
			return DSSH_ERR_PERMISSION;
		}
	}
	return send_failure(c);
}

static int
auth_succeeded(struct dssh_conn *c, enum dssh_auth_method m)
{
	int r;

	if ((r = send_simple(c, SSH_MSG_USERAUTH_SUCCESS)) != 0)
		return r;
	c->authenticated = true;
	c->auth = AUTH_DONE;
	auth_log(c, "Accepted", m == DSSH_AUTH_PUBLICKEY ? "publickey" : "password");
	if (c->ops->auth_success != NULL)
		c->ops->auth_success(c->host, c->auth_user, m);
	return 0;
}

static int
handle_service_request(struct dssh_conn *c, struct dssh_buf *m)
{
	const uint8_t *name;
	size_t n;
	int r;

	if ((r = dssh_buf_get_string_direct(m, &name, &n)) != 0)
		return r;
	/* As sshd: "ssh-userauth" again before success is accepted again
	 * (paramiko asks for it before every attempt). */
	if ((c->auth != AUTH_NO_SERVICE && c->auth != AUTH_IN_PROGRESS) || n != 12 ||
	    memcmp(name, "ssh-userauth", 12) != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_SERVICE_NOT_AVAILABLE, "service not available");
		return DSSH_ERR_PROTOCOL;
	}
	struct dssh_buf b;

	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_SERVICE_ACCEPT)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, "ssh-userauth")) == 0)
		r = dssh_conn_send_app(c, &b);
	dssh_buf_free(&b);
	c->auth = AUTH_IN_PROGRESS;
	return r;
}

/* "ED25519 SHA256:..." as sshd logs a key (type without "ssh-"/curve). */
static void
describe_key(struct dssh_conn *c, const struct dssh_sshkey *key)
{
	static const char *const names[] = {
		[DSSH_SSHKEY_ED25519] = "ED25519", [DSSH_SSHKEY_ECDSA_P256] = "ECDSA",
		[DSSH_SSHKEY_ECDSA_P384] = "ECDSA", [DSSH_SSHKEY_ECDSA_P521] = "ECDSA",
		[DSSH_SSHKEY_RSA] = "RSA",
	};
	enum dssh_sshkey_type t = dssh_sshkey_type(key);
	char fp[DSSH_SSHKEY_FP_LEN];

	c->auth_key_desc[0] = '\0';
	if ((size_t)t < DSSH_ARRAY_SIZE(names) && names[t] != NULL &&
	    dssh_sshkey_fingerprint(key, fp, sizeof(fp)) == 0)
		snprintf(c->auth_key_desc, sizeof(c->auth_key_desc), "%s %s", names[t], fp);
}

/*
 * The key the request's signature is checked with: the blob's own key, or
 * the certified key of a certificate (whose CA signature is checked here
 * too; what the certificate allows is the host's decision). *sig_alg is
 * the signature algorithm the signature itself carries.
 */
static int
offered_key(const char *alg, const uint8_t *blob, size_t blen,
    struct dssh_sshkey **keyp, const char **sig_alg)
{
	struct dssh_sshkey_cert *cert = NULL;
	struct dssh_buf b;
	const uint8_t *tname;
	size_t tlen;
	const char *want;
	enum dssh_sshkey_type kt;
	int r;

	*keyp = NULL;
	if ((want = dssh_sshkey_cert_blob_type(alg)) == NULL) {
		if ((r = dssh_sshkey_from_blob(blob, blen, keyp)) != 0)
			return r;
		/* rsa-sha2-* sign with ssh-rsa keys. */
		kt = dssh_sshkey_sig_alg_key_type(alg);
		*sig_alg = alg;
		return kt == dssh_sshkey_type(*keyp) ? 0 : DSSH_ERR_KEY_TYPE;
	}
	dssh_buf_from(&b, blob, blen);
	if (dssh_buf_get_string_direct(&b, &tname, &tlen) != 0 ||
	    tlen != strlen(want) || memcmp(tname, want, tlen) != 0)
		return DSSH_ERR_KEY_TYPE;
	if ((r = dssh_sshkey_cert_parse(blob, blen, &cert)) != 0)
		return r;
	*keyp = cert->key;
	cert->key = NULL;
	dssh_sshkey_cert_free(cert);
	*sig_alg = dssh_sshkey_cert_sig_alg(alg);
	return 0;
}

static int
build_signed_data(struct dssh_conn *c, const char *user, const char *alg,
    const uint8_t *blob, size_t blen, struct dssh_buf *d)
{
	int r;

	if ((r = dssh_buf_put_string(d, c->session_id, c->session_id_len)) != 0 ||
	    (r = dssh_buf_put_u8(d, SSH_MSG_USERAUTH_REQUEST)) != 0 ||
	    (r = dssh_buf_put_cstring(d, user)) != 0 ||
	    (r = dssh_buf_put_cstring(d, "ssh-connection")) != 0 ||
	    (r = dssh_buf_put_cstring(d, "publickey")) != 0 ||
	    (r = dssh_buf_put_bool(d, true)) != 0 ||
	    (r = dssh_buf_put_cstring(d, alg)) != 0 ||
	    (r = dssh_buf_put_string(d, blob, blen)) != 0)
		return r;
	return 0;
}

static int
userauth_publickey(struct dssh_conn *c, struct dssh_buf *m)
{
	struct dssh_sshkey *key = NULL;
	struct dssh_buf signed_data;
	const char *sig_alg = NULL;
	const uint8_t *blob, *sig = NULL;
	size_t blen, slen = 0;
	char *alg = NULL;
	bool has_sig;
	int r;

	dssh_buf_init(&signed_data, 0);
	if ((r = dssh_buf_get_bool(m, &has_sig)) != 0 ||
	    (r = dssh_buf_get_cstring(m, &alg, NULL)) != 0 ||
	    (r = dssh_buf_get_string_direct(m, &blob, &blen)) != 0 ||
	    (has_sig && (r = dssh_buf_get_string_direct(m, &sig, &slen)) != 0)) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed publickey request");
		goto out;
	}
	c->auth_key_desc[0] = '\0';
	if (!c->conf->pubkey_auth || !dssh_namelist_has(c->conf->pubkey_algs, alg)) {
		dssh_verbose("%s: publickey algorithm %s not accepted", c->log_id, alg);
		r = auth_failed(c, "publickey", true);
		goto out;
	}
	if ((r = offered_key(alg, blob, blen, &key, &sig_alg)) != 0) {
		if (dssh_sshkey_is_cert_name(alg))
			dssh_info("%s: certificate refused for %s: invalid (%s)", c->log_id,
			    c->auth_user, r == DSSH_ERR_SIGNATURE_INVALID ?
			    "bad or SHA-1 CA signature" : "malformed or wrong type");
		else
			dssh_verbose("%s: bad or mismatched public key for %s", c->log_id, alg);
		r = auth_failed(c, "publickey", true);
		goto out;
	}
	describe_key(c, key);
	if (!has_sig) {
		if (c->ops->auth_pubkey(c->host, c->auth_user, blob, blen, false) != 0) {
			r = auth_failed(c, "publickey", true);
			goto out;
		}
		struct dssh_buf b;

		dssh_buf_init(&b, 0);
		if ((r = dssh_buf_put_u8(&b, SSH_MSG_USERAUTH_PK_OK)) == 0 &&
		    (r = dssh_buf_put_cstring(&b, alg)) == 0 &&
		    (r = dssh_buf_put_string(&b, blob, blen)) == 0)
			r = dssh_conn_send_app(c, &b);
		dssh_buf_free(&b);
		goto out;
	}
	if ((r = build_signed_data(c, c->auth_user, alg, blob, blen, &signed_data)) != 0)
		goto out;
	if (dssh_sshkey_verify(key, sig_alg, sig, slen, dssh_buf_ptr(&signed_data),
	    dssh_buf_len(&signed_data)) != 0) {
		r = auth_failed(c, "publickey", true);
		goto out;
	}
	r = c->ops->auth_pubkey(c->host, c->auth_user, blob, blen, true);
	if (r == DSSH_ERR_AGAIN) {
		/* e.g. the PAM account stack: input waits for dssh_conn_auth_result() */
		c->auth = AUTH_PENDING;
		c->auth_pending_method = DSSH_AUTH_PUBLICKEY;
		r = 0;
		goto out;
	}
	r = r == 0 ? auth_succeeded(c, DSSH_AUTH_PUBLICKEY) : auth_failed(c, "publickey", true);
out:
	dssh_sshkey_free(key);
	dssh_buf_free(&signed_data);
	free(alg);
	return r;
}

static int
userauth_password(struct dssh_conn *c, struct dssh_buf *m)
{
	char *password = NULL;
	bool change;
	int r;

	if ((r = dssh_buf_get_bool(m, &change)) != 0 ||
	    (r = dssh_buf_get_cstring(m, &password, NULL)) != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed password request");
		return r;
	}
	if (!c->conf->password_auth || change) {
		dssh_free_secret_str(password);
		return auth_failed(c, "password", true);
	}
	r = c->ops->auth_password(c->host, c->auth_user, password);
	dssh_free_secret_str(password);
	if (r == 0)
		return auth_succeeded(c, DSSH_AUTH_PASSWORD);
	if (r == DSSH_ERR_AGAIN) {
		c->auth = AUTH_PENDING;   /* input waits for dssh_conn_auth_result() */
		c->auth_pending_method = DSSH_AUTH_PASSWORD;
		return 0;
	}
	return auth_failed(c, "password", true);
}

int
dssh_conn_auth_result(struct dssh_conn *c, bool ok, uint64_t now_ms)
{
	int r;

	if (c->auth != AUTH_PENDING || c->state == CONN_CLOSED)
		return c->state == CONN_CLOSED ? DSSH_ERR_CONN_CLOSED : 0;
	c->auth = AUTH_IN_PROGRESS;
	c->now_ms = now_ms;
	enum dssh_auth_method m = c->auth_pending_method;

	r = ok ? auth_succeeded(c, m) :
	    auth_failed(c, m == DSSH_AUTH_PUBLICKEY ? "publickey" : "password", true);
	if (r != 0)
		return r;
	return dssh_conn_resume(c, now_ms);
}

/* RFC 4252 5.4: the Banner text, once, before the answer to the first request. */
static int
send_banner(struct dssh_conn *c)
{
	struct dssh_buf b;
	int r;

	if (c->auth_banner_sent || c->conf->auth_banner == NULL || c->conf->auth_banner[0] == '\0')
		return 0;
	c->auth_banner_sent = true;
	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_USERAUTH_BANNER)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, c->conf->auth_banner)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, "")) == 0)
		r = dssh_conn_send_app(c, &b);
	dssh_buf_free(&b);
	return r;
}

static int
handle_userauth_request(struct dssh_conn *c, struct dssh_buf *m)
{
	char *user = NULL, *service = NULL, *method = NULL;
	int r;

	if (c->auth == AUTH_DONE)
		return 0;    /* RFC 4252 5.1: ignore requests after success */
	if (c->auth != AUTH_IN_PROGRESS) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "userauth before service request");
		return DSSH_ERR_PROTOCOL;
	}
	if ((r = dssh_buf_get_cstring(m, &user, NULL)) != 0 ||
	    (r = dssh_buf_get_cstring(m, &service, NULL)) != 0 ||
	    (r = dssh_buf_get_cstring(m, &method, NULL)) != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed userauth request");
		goto out;
	}
	if (strcmp(service, "ssh-connection") != 0 ||
	    (c->auth_user != NULL && strcmp(c->auth_user, user) != 0)) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR,
		    "Change of username or service not allowed");
		r = DSSH_ERR_PROTOCOL;
		goto out;
	}
	if (c->auth_user == NULL) {
		c->auth_user = user;
		user = NULL;
	}
	dssh_debug("%s: userauth %s for %s", c->log_id, method, c->auth_user);
	if ((r = send_banner(c)) != 0)
		goto out;
	if (strcmp(method, "publickey") == 0)
		r = userauth_publickey(c, m);
	else if (strcmp(method, "password") == 0)
		r = userauth_password(c, m);
	else
		r = auth_failed(c, method, strcmp(method, "none") != 0);
out:
	free(user);
	free(service);
	free(method);
	return r;
}

int
dssh_auth_dispatch(struct dssh_conn *c, uint8_t type, struct dssh_buf *m)
{
	switch (type) {
	case SSH_MSG_SERVICE_REQUEST:
		return handle_service_request(c, m);
	case SSH_MSG_USERAUTH_REQUEST:
		return handle_userauth_request(c, m);
	default:
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "unexpected auth message %u", type);
		return DSSH_ERR_PROTOCOL;
	}
}
