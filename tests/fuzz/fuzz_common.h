/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_FUZZ_COMMON_H
#define DSSH_FUZZ_COMMON_H

/* A server configuration and host for the engine fuzzers, built once. */
#include <stdlib.h>
#include <string.h>

#include "dssh_crypto.h"
#include "dssh_log.h"
#include "dssh_sshkey.h"
#include "dssh_ssh.h"

struct fuzz_host {
	struct dssh_conn *c;
	const uint8_t *good_blob;
	size_t good_len;
	uint32_t chan;
	bool have_chan;
	unsigned opens;             /* channel_open answers in turn: now, later, no */
	uint32_t pending;           /* a deferred open, answered by the fuzz loop */
	bool have_pending;
};

static struct dssh_crypto_engine *fuzz_engine;
static struct dssh_sshkey *fuzz_hostkey, *fuzz_userkey;
static struct dssh_ssh_hostkey fuzz_hk[1];
static struct dssh_ssh_conf fuzz_conf;
static uint8_t *fuzz_user_blob;
static size_t fuzz_user_blob_len;
static volatile uint8_t fuzz_sink;

static int
fh_auth_pubkey(void *hp, const char *user, const uint8_t *blob, size_t len, bool final)
{
	(void)hp;
	(void)final;
	return strcmp(user, "alice") == 0 && len == fuzz_user_blob_len &&
	    memcmp(blob, fuzz_user_blob, len) == 0 ? 0 : -1;
}

static int
fh_auth_password(void *hp, const char *user, const char *pw)
{
	(void)hp;
	(void)user;
	if (strcmp(pw, "later") == 0)
		return -17;    /* DSSH_ERR_AGAIN */
	return strcmp(pw, "secret") == 0 ? 0 : -1;
}

static void
fh_auth_success(void *hp, const char *user, enum dssh_auth_method m)
{
	(void)hp;
	(void)user;
	(void)m;
}

static int
fh_session_open(void *hp, uint32_t chan)
{
	struct fuzz_host *h = hp;

	h->chan = chan;
	h->have_chan = true;
	return chan == 5 ? -1 : 0;
}

static int
fh_session_request(void *hp, uint32_t chan, const struct dssh_session_req *req)
{
	struct fuzz_host *h = hp;

	/* Touch every field the engine hands out. */
	size_t t = 0;

	if (req->term)
		t += strlen(req->term);
	if (req->name)
		t += strlen(req->name);
	if (req->value)
		t += strlen(req->value);
	if (req->command)
		t += strlen(req->command);
	for (size_t i = 0; i < req->modes_len; i++)
		t += req->modes[i];
	if (req->type == DSSH_REQ_SIGNAL)
		dssh_chan_close(h->c, chan);    /* host closes from inside the callback */
	return (int)(t & 1);
}

static void
fh_channel_data(void *hp, uint32_t chan, const uint8_t *p, size_t n)
{
	struct fuzz_host *h = hp;
	uint8_t x = 0;

	for (size_t i = 0; i < n; i++)
		x ^= p[i];    /* reads every byte handed over */
	fuzz_sink = x;
	dssh_chan_consumed(h->c, chan, n);
	if (n > 0 && p[0] == 'E')
		dssh_chan_send(h->c, chan, p, n, true);
	else if (n > 0)
		dssh_chan_send(h->c, chan, p, n, false);
}

static void
fh_channel_eof(void *hp, uint32_t chan)
{
	struct fuzz_host *h = hp;

	dssh_chan_exit_status(h->c, chan, 0);
	dssh_chan_send_eof(h->c, chan);
}

static void
fh_channel_closed(void *hp, uint32_t chan)
{
	struct fuzz_host *h = hp;

	if (h->have_chan && h->chan == chan)
		h->have_chan = false;
}

static void
fh_channel_writable(void *hp, uint32_t chan)
{
	(void)hp;
	(void)chan;
}

static int
fh_channel_open(void *hp, uint32_t chan, const struct dssh_chan_open *o)
{
	struct fuzz_host *h = hp;
	size_t t = 0;

	if (o->host != NULL)
		t += strlen(o->host);
	if (o->orig_host != NULL)
		t += strlen(o->orig_host);
	fuzz_sink = (uint8_t)(t + o->port + o->orig_port);
	switch (h->opens++ % 3) {
	case 0:
		return 0;
	case 1:
		if (h->have_pending)
			return -18;        /* DSSH_ERR_PERMISSION */
		h->pending = chan;
		h->have_pending = true;
		return -17;            /* DSSH_ERR_AGAIN */
	default:
		return -18;
	}
}

static void
fh_channel_open_result(void *hp, uint32_t chan, uint32_t reason)
{
	(void)hp;
	fuzz_sink = (uint8_t)(chan + reason);
}

static int
fh_global_request(void *hp, const struct dssh_global_req *req, uint32_t *port)
{
	(void)hp;
	fuzz_sink = (uint8_t)(strlen(req->addr) + req->type);
	if (req->port == 0)
		*port = 4242;
	return req->type == DSSH_GREQ_CANCEL_TCPIP_FORWARD ? -1 : 0;
}

static const struct dssh_conn_host_ops fuzz_ops = {
	.channel_open = fh_channel_open,
	.channel_open_result = fh_channel_open_result,
	.global_request = fh_global_request,
	.auth_pubkey = fh_auth_pubkey,
	.auth_password = fh_auth_password,
	.auth_success = fh_auth_success,
	.session_open = fh_session_open,
	.session_request = fh_session_request,
	.channel_data = fh_channel_data,
	.channel_eof = fh_channel_eof,
	.channel_closed = fh_channel_closed,
	.channel_writable = fh_channel_writable,
};

static void
fuzz_setup(void)
{
	struct dssh_buf b;

	if (fuzz_engine != NULL)
		return;
	/* DSSH_FUZZ_ENGINE: another engine's framing and open paths (meson
	 * registers fuzz_record again with ipsecmb) */
	const char *fe = getenv("DSSH_FUZZ_ENGINE");

	if (dssh_crypto_engine_create(fe != NULL ? fe : "openssl", NULL, &fuzz_engine) != 0 ||
	    dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &fuzz_hostkey) != 0 ||
	    dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &fuzz_userkey) != 0)
		abort();
	dssh_buf_init(&b, 0);
	if (dssh_sshkey_public_blob(fuzz_userkey, &b) != 0)
		abort();
	fuzz_user_blob_len = dssh_buf_len(&b);
	fuzz_user_blob = malloc(fuzz_user_blob_len);
	memcpy(fuzz_user_blob, dssh_buf_ptr(&b), fuzz_user_blob_len);
	dssh_buf_free(&b);
	fuzz_hk[0].alg = "ssh-ed25519";
	fuzz_hk[0].key = fuzz_hostkey;
	fuzz_conf = (struct dssh_ssh_conf){
		.kex_algs = "curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group14-sha256,"
		    "mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com",
		.cipher_algs = "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr",
		.mac_algs = "hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
		.pubkey_algs = "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
		.hostkeys = fuzz_hk,
		.n_hostkeys = 1,
		.max_auth_tries = 6,
		.pubkey_auth = true,
		.password_auth = true,
		.auth_banner = "fuzz banner\n",   /* sent before the first auth answer */
		.rekey_bytes = 64 * 1024,
		.client_alive_interval = 1,
		.client_alive_count_max = 3,
		.engine = fuzz_engine,
	};
}

#ifdef FUZZ_HOSTSIG_MEMO
/*
 * For the targets that run a key exchange with the test client per input
 * (meson links them with --wrap=dssh_sshkey_sign,--wrap=dssh_sshkey_verify):
 * the last few signatures the server made with the fuzz host key are kept
 * with the bytes they sign, and when the test client then checks the host
 * key's signature over exactly those bytes and gets exactly that signature,
 * the check passes without OpenSSL verifying it again. That check is the
 * harness's, not the code under test's (a fifth of the run: Ed25519
 * verification is three times the signing), and what it still shows is what
 * the harness needs: the client computed the same exchange hash and got the
 * server's signature intact. Anything else, and every other key (the
 * server's check of the user's signature), is verified in full; signing
 * always runs.
 */
#define FUZZ_NSIG 4
#define FUZZ_SIG_DATA 128
#define FUZZ_SIG_LEN 512

static struct {
	size_t dlen, slen;
	uint8_t data[FUZZ_SIG_DATA], sig[FUZZ_SIG_LEN];
	char alg[32];
} fuzz_sigs[FUZZ_NSIG];
static unsigned fuzz_sig_next;

int __real_dssh_sshkey_sign(const struct dssh_sshkey *key, const char *sig_alg,
    const uint8_t *data, size_t len, struct dssh_buf *sig);
int __wrap_dssh_sshkey_sign(const struct dssh_sshkey *key, const char *sig_alg,
    const uint8_t *data, size_t len, struct dssh_buf *sig);
int __real_dssh_sshkey_verify(const struct dssh_sshkey *key, const char *sig_alg,
    const uint8_t *sig, size_t siglen, const uint8_t *data, size_t len);
int __wrap_dssh_sshkey_verify(const struct dssh_sshkey *key, const char *sig_alg,
    const uint8_t *sig, size_t siglen, const uint8_t *data, size_t len);

__attribute__((no_sanitize("coverage"))) int
__wrap_dssh_sshkey_sign(const struct dssh_sshkey *key, const char *sig_alg,
    const uint8_t *data, size_t len, struct dssh_buf *sig)
{
	size_t at = dssh_buf_len(sig), n;
	int r = __real_dssh_sshkey_sign(key, sig_alg, data, len, sig);

	n = dssh_buf_len(sig) - at;
	if (r == 0 && key == fuzz_hostkey && sig_alg != NULL &&
	    strlen(sig_alg) < sizeof(fuzz_sigs[0].alg) && len <= FUZZ_SIG_DATA &&
	    n <= FUZZ_SIG_LEN) {
		unsigned i = fuzz_sig_next;

		fuzz_sig_next = (i + 1) % FUZZ_NSIG;
		fuzz_sigs[i].dlen = len;
		fuzz_sigs[i].slen = n;
		memcpy(fuzz_sigs[i].data, data, len);
		memcpy(fuzz_sigs[i].sig, dssh_buf_ptr(sig) + at, n);
		strcpy(fuzz_sigs[i].alg, sig_alg);
	}
	return r;
}

__attribute__((no_sanitize("coverage"))) int
__wrap_dssh_sshkey_verify(const struct dssh_sshkey *key, const char *sig_alg,
    const uint8_t *sig, size_t siglen, const uint8_t *data, size_t len)
{
	if (key != NULL && sig_alg != NULL && sig != NULL && data != NULL &&
	    fuzz_hostkey != NULL && dssh_sshkey_equal_public(key, fuzz_hostkey)) {
		for (unsigned i = 0; i < FUZZ_NSIG; i++) {
			if (fuzz_sigs[i].slen == siglen && fuzz_sigs[i].dlen == len &&
			    strcmp(fuzz_sigs[i].alg, sig_alg) == 0 &&
			    memcmp(fuzz_sigs[i].sig, sig, siglen) == 0 &&
			    memcmp(fuzz_sigs[i].data, data, len) == 0)
				return 0;
		}
	}
	return __real_dssh_sshkey_verify(key, sig_alg, sig, siglen, data, len);
}
#endif

#endif
