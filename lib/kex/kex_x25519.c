/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * curve25519-sha256 (RFC 8731): X25519 on OpenSSL EVP, Q_C and Q_S are
 * 32-byte strings, K is the X25519 output read as a big-endian number and
 * encoded as an mpint (RFC 8731 3.1). The pieces are also used by the
 * hybrid post-quantum methods.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "dssh_err.h"
#include "dssh_util.h"
#include "kex_int.h"

int
dssh_kex_x25519_keygen(EVP_PKEY **ownp)
{
	*ownp = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	return *ownp == NULL ? DSSH_ERR_LIBCRYPTO : 0;
}

int
dssh_kex_x25519_pub(EVP_PKEY *own, uint8_t pub[DSSH_KEX_X25519_LEN])
{
	size_t len = DSSH_KEX_X25519_LEN;

	if (EVP_PKEY_get_raw_public_key(own, pub, &len) != 1 || len != DSSH_KEX_X25519_LEN)
		return DSSH_ERR_LIBCRYPTO;
	return 0;
}

int
dssh_kex_x25519_shared(EVP_PKEY *own, const uint8_t *peer_raw, size_t len,
    uint8_t out[DSSH_KEX_X25519_LEN])
{
	static const uint8_t zero[DSSH_KEX_X25519_LEN];
	EVP_PKEY *peer;
	uint8_t *secret = NULL;
	size_t slen = 0;
	int r;

	if (peer_raw == NULL || len != DSSH_KEX_X25519_LEN)
		return DSSH_ERR_INVALID_FORMAT;
	if ((peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_raw, len)) == NULL)
		return DSSH_ERR_INVALID_FORMAT;
	r = dssh_kex_evp_derive(own, peer, &secret, &slen);
	EVP_PKEY_free(peer);
	if (r != 0)
		return r;
	/* RFC 8731 3: abort on an all-zero result. */
	if (slen != DSSH_KEX_X25519_LEN || CRYPTO_memcmp(secret, zero, slen) == 0)
		r = DSSH_ERR_INVALID_FORMAT;
	else
		memcpy(out, secret, DSSH_KEX_X25519_LEN);
	OPENSSL_secure_clear_free(secret, slen);
	return r;
}

static int
x25519_put_pub(EVP_PKEY *own, struct dssh_buf *out)
{
	uint8_t pub[DSSH_KEX_X25519_LEN];
	int r;

	if ((r = dssh_kex_x25519_pub(own, pub)) != 0)
		return r;
	return dssh_buf_put_string(out, pub, sizeof(pub));
}

static int
x25519_agree(EVP_PKEY *own, const uint8_t *peer, size_t len, struct dssh_buf *K_enc)
{
	uint8_t k[DSSH_KEX_X25519_LEN];
	int r;

	if ((r = dssh_kex_x25519_shared(own, peer, len, k)) == 0)
		r = dssh_buf_put_mpint_bytes(K_enc, k, sizeof(k));
	dssh_wipe(k, sizeof(k));
	return r;
}

static int
x25519_server_reply(const struct dssh_kex_alg *alg, const uint8_t *client_pub, size_t len,
    struct dssh_buf *server_pub_enc, struct dssh_buf *K_enc)
{
	EVP_PKEY *own = NULL;
	int r;

	(void)alg;
	if ((r = dssh_kex_x25519_keygen(&own)) == 0 &&
	    (r = x25519_agree(own, client_pub, len, K_enc)) == 0)
		r = x25519_put_pub(own, server_pub_enc);
	EVP_PKEY_free(own);
	return r;
}

static int
x25519_client_new(const struct dssh_kex_alg *alg, void **statep)
{
	(void)alg;
	return dssh_kex_x25519_keygen((EVP_PKEY **)statep);
}

static int
x25519_client_pub(const struct dssh_kex_alg *alg, void *state, struct dssh_buf *out)
{
	(void)alg;
	return x25519_put_pub(state, out);
}

static int
x25519_client_finish(const struct dssh_kex_alg *alg, void *state, const uint8_t *server_pub,
    size_t len, struct dssh_buf *K_enc)
{
	(void)alg;
	return x25519_agree(state, server_pub, len, K_enc);
}

const struct dssh_kex_method_ops dssh_kex_x25519_ops = {
	.server_reply = x25519_server_reply,
	.client_new = x25519_client_new,
	.client_pub = x25519_client_pub,
	.client_finish = x25519_client_finish,
	.client_free = dssh_kex_evp_client_free,
};
