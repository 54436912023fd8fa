/* SPDX-License-Identifier: BSD-3-Clause */
/* User authentication protocol, server side (RFC 4252). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

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

static const char *
method_name(enum dssh_auth_method m)
{
	return m == DSSH_AUTH_PUBLICKEY ? "publickey" :
	    m == DSSH_AUTH_PASSWORD ? "password" : "keyboard-interactive";
}

/* The engine's methods and lib/util's AuthenticationMethods ones. */
static enum dssh_authm
authm_of(enum dssh_auth_method m)
{
	return m == DSSH_AUTH_PUBLICKEY ? DSSH_AUTHM_PUBLICKEY :
	    m == DSSH_AUTH_PASSWORD ? DSSH_AUTHM_PASSWORD : DSSH_AUTHM_KBDINT;
}

static unsigned
enabled_methods(const struct dssh_conn *c)
{
	return (c->conf->pubkey_auth ? DSSH_AUTHM_BIT(DSSH_AUTHM_PUBLICKEY) : 0) |
	    (c->conf->password_auth ? DSSH_AUTHM_BIT(DSSH_AUTHM_PASSWORD) : 0) |
	    (c->conf->kbdint_auth && c->ops->auth_kbdint != NULL ?
	    DSSH_AUTHM_BIT(DSSH_AUTHM_KBDINT) : 0);
}

/* RFC 4252 5.1: the methods that can continue; partial after a step of a list. */
static int
send_failure(struct dssh_conn *c, bool partial)
{
	struct dssh_buf b;
	char methods[128];
	int r;

	if ((r = dssh_authmethods_continue(&c->auth_lists, enabled_methods(c), methods,
	    sizeof(methods))) != 0)
		return DSSH_ERR_INTERNAL;
	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_USERAUTH_FAILURE)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, methods)) == 0 &&
	    (r = dssh_buf_put_bool(&b, partial)) == 0)
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
	return send_failure(c, false);
}

static int
auth_succeeded(struct dssh_conn *c, enum dssh_auth_method m)
{
	int r;

	if (!dssh_authmethods_success(&c->auth_lists, authm_of(m))) {
		/* A step of an AuthenticationMethods list: more to come. */
		if (m == DSSH_AUTH_PUBLICKEY && c->nused_keys < DSSH_AUTHM_MAX_STEPS)
			memcpy(c->used_keys[c->nused_keys++], c->pending_key, 32);
		auth_log(c, "Partial", method_name(m));   /* sshd: "Partial publickey for ..." */
		return send_failure(c, true);
	}
	if ((r = send_simple(c, SSH_MSG_USERAUTH_SUCCESS)) != 0)
		return r;
	c->authenticated = true;
	c->auth = AUTH_DONE;
	auth_log(c, "Accepted", method_name(m));
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

	if (!c->auth_lists_set) {
		if (c->conf->auth_methods != NULL)
			c->auth_lists = *c->conf->auth_methods;
		else
			c->auth_lists.any = true;
		c->auth_lists_set = true;
	}
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

/* publickey,publickey: was this key (its blob's SHA-256 in c->pending_key) used? */
static bool
key_already_used(struct dssh_conn *c, const uint8_t *blob, size_t blen)
{
	unsigned int hl = 0;

	if (EVP_Digest(blob, blen, c->pending_key, &hl, EVP_sha256(), NULL) != 1 || hl != 32)
		return true;
	for (unsigned i = 0; i < c->nused_keys; i++)
		if (memcmp(c->used_keys[i], c->pending_key, 32) == 0)
			return true;
	return false;
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
	if (key_already_used(c, blob, blen)) {
		dssh_verbose("%s: refusing previously-used %s key", c->log_id, alg);
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

/* The host's answer to a keyboard-interactive start or response. */
static int
kbdint_after(struct dssh_conn *c, int r)
{
	if (r == DSSH_ERR_AGAIN) {
		c->auth = AUTH_PENDING;   /* prompts or the result come from the host */
		c->auth_pending_method = DSSH_AUTH_KBDINT;
		return 0;
	}
	c->auth = AUTH_IN_PROGRESS;
	return r == 0 ? auth_succeeded(c, DSSH_AUTH_KBDINT) :
	    auth_failed(c, "keyboard-interactive", true);
}

static int
userauth_kbdint(struct dssh_conn *c, struct dssh_buf *m)
{
	char *lang = NULL, *submethods = NULL;
	int r;

	/* RFC 4256 3.1: language tag and submethods; neither changes anything. */
	if ((r = dssh_buf_get_cstring(m, &lang, NULL)) != 0 ||
	    (r = dssh_buf_get_cstring(m, &submethods, NULL)) != 0) {
		free(lang);
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR,
		    "malformed keyboard-interactive request");
		return r;
	}
	free(lang);
	free(submethods);
	if (!(enabled_methods(c) & DSSH_AUTHM_BIT(DSSH_AUTHM_KBDINT)))
		return auth_failed(c, "keyboard-interactive", true);
	return kbdint_after(c, c->ops->auth_kbdint(c->host, c->auth_user, NULL, 0));
}

int
dssh_conn_kbdint_prompt(struct dssh_conn *c, const char *instruction,
    const char *const *prompts, const bool *echo, unsigned n, uint64_t now_ms)
{
	struct dssh_buf b;
	int r;

	if (c->state == CONN_CLOSED)
		return DSSH_ERR_CONN_CLOSED;
	if (c->auth != AUTH_PENDING || c->auth_pending_method != DSSH_AUTH_KBDINT ||
	    n > DSSH_KBDINT_MAX_PROMPTS)
		return DSSH_ERR_INVALID_ARGUMENT;
	c->now_ms = now_ms;
	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_USERAUTH_INFO_REQUEST)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, "")) == 0 &&
	    (r = dssh_buf_put_cstring(&b, instruction ? instruction : "")) == 0 &&
	    (r = dssh_buf_put_cstring(&b, "")) == 0 &&
	    (r = dssh_buf_put_u32(&b, n)) == 0) {
		for (unsigned i = 0; i < n && r == 0; i++)
			if ((r = dssh_buf_put_cstring(&b, prompts[i])) == 0)
				r = dssh_buf_put_bool(&b, echo[i]);
	}
	if (r == 0)
		r = dssh_conn_send_app(c, &b);
	dssh_buf_free(&b);
	if (r != 0)
		return r;
	c->kbdint_nprompts = n;
	c->auth = AUTH_KBDINT;
	return dssh_conn_resume(c, now_ms);
}

/* RFC 4256 3.4: exactly one string per prompt, nothing after them. */
static int
handle_info_response(struct dssh_conn *c, struct dssh_buf *m)
{
	char *resp[DSSH_KBDINT_MAX_PROMPTS] = { NULL };
	uint32_t n = 0, i;
	int r;

	if (c->auth != AUTH_KBDINT) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "unexpected INFO_RESPONSE");
		return DSSH_ERR_PROTOCOL;
	}
	if ((r = dssh_buf_get_u32(m, &n)) != 0 || n != c->kbdint_nprompts) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR,
		    "keyboard-interactive: wrong number of responses");
		return DSSH_ERR_PROTOCOL;
	}
	for (i = 0; i < n; i++)
		if ((r = dssh_buf_get_cstring(m, &resp[i], NULL)) != 0)
			break;
	if (i < n || dssh_buf_len(m) != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR,
		    "keyboard-interactive: malformed INFO_RESPONSE");
		r = DSSH_ERR_PROTOCOL;
	} else {
		c->auth = AUTH_IN_PROGRESS;
		c->kbdint_nprompts = 0;
		r = kbdint_after(c, c->ops->auth_kbdint(c->host, c->auth_user,
		    (const char *const *)resp, n));
	}
	for (i = 0; i < n; i++)
		dssh_free_secret_str(resp[i]);
	return r;
}

bool
dssh_conn_auth_used_publickey(const struct dssh_conn *c)
{
	return c->nused_keys > 0;
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

	r = ok ? auth_succeeded(c, m) : auth_failed(c, method_name(m), true);
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
	if (c->auth == AUTH_KBDINT) {
		/* RFC 4256 3.4: a new request ends the exchange in progress. It
		 * counts as a failed attempt: abandoning exchanges over and over
		 * must not be free. */
		c->auth = AUTH_IN_PROGRESS;
		c->kbdint_nprompts = 0;
		if (c->ops->auth_kbdint_abort != NULL)
			c->ops->auth_kbdint_abort(c->host);
		if (++c->auth_failures >= c->conf->max_auth_tries) {
			c->auth_tries_exceeded = true;
			dssh_conn_fail(c, SSH_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE,
			    "Too many authentication failures");
			return DSSH_ERR_PERMISSION;
		}
	}
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
		if (c->ops->auth_user_known != NULL) {
			c->ops->auth_user_known(c->host, c->auth_user);
			/* its configuration may name other AuthenticationMethods */
			if (c->conf->auth_methods != NULL)
				c->auth_lists = *c->conf->auth_methods;
			else
				c->auth_lists.any = true;
		}
	}
	dssh_debug("%s: userauth %s for %s", c->log_id, method, c->auth_user);
	if ((r = send_banner(c)) != 0)
		goto out;
	int am = dssh_authm_from_name(method);

	if (am >= 0 && !dssh_authmethods_allowed(&c->auth_lists, (enum dssh_authm)am)) {
		dssh_verbose("%s: %s not allowed now (AuthenticationMethods)", c->log_id, method);
		r = auth_failed(c, method, true);
	} else if (strcmp(method, "publickey") == 0)
		r = userauth_publickey(c, m);
	else if (strcmp(method, "password") == 0)
		r = userauth_password(c, m);
	else if (strcmp(method, "keyboard-interactive") == 0)
		r = userauth_kbdint(c, m);
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
	case SSH_MSG_USERAUTH_INFO_RESPONSE:
		return handle_info_response(c, m);
	default:
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "unexpected auth message %u", type);
		return DSSH_ERR_PROTOCOL;
	}
}
