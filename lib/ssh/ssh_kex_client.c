/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Key exchange, client half (RFC 4253 7-8, RFC 5656 4, RFC 8731, RFC 8268,
 * the hybrid drafts): the state machine, KEXINIT and negotiation are
 * ssh_kex.c's, shared with the server; here are the client's KEXINIT
 * markers, KEX_ECDH_INIT, the check of the server's reply (host key,
 * signature over the exchange hash) and EXT_INFO (RFC 8308).
 *
 *   KEXINIT out ──> KEXINIT in ──> ECDH_INIT out ──> ECDH_REPLY in
 *     (verify) ──> NEWKEYS out (outgoing keys switch) ──> NEWKEYS in
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_sshkey.h"
#include "dssh_util.h"
#include "ssh_internal.h"

#define CLIENT_MARKERS ",ext-info-c,kex-strict-c-v00@openssh.com"

void
dssh_kex_client_cleanup(struct dssh_conn *c)
{
	dssh_kex_client_free(c->kex_client);
	c->kex_client = NULL;
	dssh_buf_free(&c->kex_cpub);
	free(c->hostkey_blob);
	c->hostkey_blob = NULL;
	free(c->server_sig_algs);
	c->server_sig_algs = NULL;
}

int
dssh_kex_client_lists(struct dssh_conn *c, struct dssh_buf *kexlist, struct dssh_buf *hklist)
{
	const char *hk = c->conf->hostkey_algs != NULL ? c->conf->hostkey_algs :
	    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
	    "rsa-sha2-512,rsa-sha2-256";
	int r;

	/* ext-info-c and the strict-KEX marker in the first KEXINIT only. */
	if ((r = dssh_buf_putf(kexlist, "%s%s", c->conf->kex_algs,
	    c->kex_count == 0 ? CLIENT_MARKERS : "")) != 0 ||
	    (r = dssh_buf_put_u8(kexlist, '\0')) != 0 ||
	    (r = dssh_buf_put(hklist, hk, strlen(hk) + 1)) != 0)
		return r;
	return 0;
}

int
dssh_kex_client_send_init(struct dssh_conn *c)
{
	const struct dssh_kex_alg *alg = dssh_kex_alg_by_name(c->neg.kex);
	struct dssh_buf b;
	int r;

	dssh_kex_client_free(c->kex_client);
	c->kex_client = NULL;
	dssh_buf_free(&c->kex_cpub);
	dssh_buf_init(&c->kex_cpub, 0);
	if ((r = dssh_kex_client_new(alg, &c->kex_client)) != 0 ||
	    (r = dssh_kex_client_pub(c->kex_client, &c->kex_cpub)) != 0)
		return r;
	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_KEX_ECDH_INIT)) == 0 &&
	    (r = dssh_buf_put(&b, dssh_buf_ptr(&c->kex_cpub), dssh_buf_len(&c->kex_cpub))) == 0)
		r = dssh_pkt_send(c, &b);
	dssh_buf_free(&b);
	return r;
}

/* Our public value as the exchange hash takes it: raw string contents or
 * mpint magnitude (it encodes it again). */
static int
our_pub_raw(struct dssh_conn *c, bool is_dh, const uint8_t **p, size_t *n)
{
	struct dssh_buf v;

	dssh_buf_from(&v, dssh_buf_ptr(&c->kex_cpub), dssh_buf_len(&c->kex_cpub));
	return is_dh ? dssh_buf_get_mpint_direct(&v, p, n) : dssh_buf_get_string_direct(&v, p, n);
}

/*
 * The host key in the reply: a plain key of the negotiated algorithm's
 * type (certificates are not offered), the same blob as at the first
 * exchange on a rekey.
 */
static int
reply_hostkey(struct dssh_conn *c, const uint8_t *blob, size_t len, struct dssh_sshkey **keyp)
{
	int r;

	if ((r = dssh_sshkey_from_blob(blob, len, keyp)) != 0)
		return r;
	if (dssh_sshkey_type(*keyp) != dssh_sshkey_sig_alg_key_type(c->neg.hostkey))
		return DSSH_ERR_KEY_TYPE;
	if (c->kex_count > 0 && (len != c->hostkey_blob_len ||
	    memcmp(blob, c->hostkey_blob, len) != 0)) {
		dssh_error("%s: the server's host key changed during a rekey", c->log_id);
		return DSSH_ERR_SIGNATURE_INVALID;
	}
	return 0;
}

static int
keep_hostkey(struct dssh_conn *c, const uint8_t *blob, size_t len)
{
	int r;

	if (c->kex_count > 0)
		return 0;
	if (c->ops->verify_hostkey != NULL &&
	    (r = c->ops->verify_hostkey(c->host, c->neg.hostkey, blob, len)) != 0)
		return r;
	if ((c->hostkey_blob = malloc(len)) == NULL)
		return DSSH_ERR_ALLOC;
	memcpy(c->hostkey_blob, blob, len);
	c->hostkey_blob_len = len;
	return 0;
}

int
dssh_kex_client_reply(struct dssh_conn *c, struct dssh_buf *m)
{
	const struct dssh_kex_alg *alg = dssh_kex_alg_by_name(c->neg.kex);
	struct dssh_sshkey *key = NULL;
	struct dssh_buf K, K_S, spub_enc;
	const uint8_t *ks, *spub, *sig, *spub_start, *cpub;
	size_t kslen, spublen, siglen, cpublen, hlen;
	uint8_t H[DSSH_KEX_MAX_HASH];
	bool is_dh = alg != NULL && alg->pub_mpint;
	int r;

	if (!c->kex_rcvd_kexinit || c->kex_awaiting_newkeys || c->kex_client == NULL) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "unexpected KEX_ECDH_REPLY");
		return DSSH_ERR_PROTOCOL;
	}
	dssh_buf_init(&K, 0);
	if ((r = dssh_buf_get_string_direct(m, &ks, &kslen)) != 0)
		goto bad;
	spub_start = dssh_buf_ptr(m);
	r = is_dh ? dssh_buf_get_mpint_direct(m, &spub, &spublen) :
	    dssh_buf_get_string_direct(m, &spub, &spublen);
	if (r != 0)
		goto bad;
	/* The server's value as it was encoded goes into the hash. */
	dssh_buf_from(&spub_enc, spub_start, (size_t)(dssh_buf_ptr(m) - spub_start));
	if ((r = dssh_buf_get_string_direct(m, &sig, &siglen)) != 0 || dssh_buf_len(m) != 0)
		goto bad;
	if ((r = reply_hostkey(c, ks, kslen, &key)) != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_KEY_EXCHANGE_FAILED, "bad server host key: %s",
		    dssh_err_str(r));
		goto out;
	}
	if ((r = dssh_kex_client_finish(c->kex_client, spub, spublen, &K)) != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_KEY_EXCHANGE_FAILED, "key exchange failed: %s",
		    dssh_err_str(r));
		goto out;
	}
	dssh_buf_from(&K_S, ks, kslen);
	hlen = sizeof(H);
	if ((r = our_pub_raw(c, is_dh, &cpub, &cpublen)) != 0 ||
	    (r = dssh_kex_exchange_hash(c, alg, is_dh, cpub, cpublen, &K_S, &spub_enc, &K, H,
	    &hlen)) != 0)
		goto out;
	if ((r = dssh_sshkey_verify(key, c->neg.hostkey, sig, siglen, H, hlen)) != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_KEY_EXCHANGE_FAILED,
		    "host key signature over the exchange hash does not verify");
		goto out;
	}
	if ((r = keep_hostkey(c, ks, kslen)) != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_KEY_EXCHANGE_FAILED, "host key verification failed");
		goto out;
	}
	if (c->kex_count == 0) {
		memcpy(c->session_id, H, hlen);
		c->session_id_len = hlen;
	}
	dssh_kex_client_free(c->kex_client);
	c->kex_client = NULL;
	r = dssh_kex_newkeys(c, alg, &K, H, hlen);
	goto out;
bad:
	dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed key exchange reply");
	r = DSSH_ERR_INVALID_FORMAT;
out:
	if (r != 0 && !dssh_conn_closing(c))
		dssh_conn_fail(c, SSH_DISCONNECT_KEY_EXCHANGE_FAILED, "key exchange: %s",
		    dssh_err_str(r));
	dssh_wipe(H, sizeof(H));
	dssh_sshkey_free(key);
	dssh_buf_free(&K);
	return r;
}

/* RFC 8308 2.3: uint32 count, then name/value string pairs; only
 * server-sig-algs matters to us (which rsa-sha2 the server takes). */
int
dssh_kex_client_ext_info(struct dssh_conn *c, struct dssh_buf *m)
{
	uint32_t n;
	int r;

	if (!dssh_is_client(c)) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "unexpected EXT_INFO");
		return DSSH_ERR_PROTOCOL;
	}
	if ((r = dssh_buf_get_u32(m, &n)) != 0)
		goto bad;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *name, *val;
		size_t nlen, vlen;

		if ((r = dssh_buf_get_string_direct(m, &name, &nlen)) != 0 ||
		    (r = dssh_buf_get_string_direct(m, &val, &vlen)) != 0)
			goto bad;
		if (nlen == 15 && memcmp(name, "server-sig-algs", 15) == 0) {
			free(c->server_sig_algs);
			if ((c->server_sig_algs = dssh_strndup((const char *)val, vlen)) == NULL)
				return DSSH_ERR_ALLOC;
		}
	}
	return 0;
bad:
	dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed EXT_INFO");
	return DSSH_ERR_INVALID_FORMAT;
}

const uint8_t *
dssh_conn_hostkey_blob(const struct dssh_conn *c, size_t *len)
{
	*len = c->hostkey_blob_len;
	return c->hostkey_blob;
}
