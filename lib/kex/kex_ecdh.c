/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ecdh-sha2-nistp256/384/521 (RFC 5656 section 4) on OpenSSL EVP: Q_C and
 * Q_S are uncompressed SEC1 points in strings, K is the x coordinate of
 * the shared point as an mpint.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "dssh_err.h"
#include "dssh_pkey.h"
#include "kex_int.h"

#define ECDH_MAX_PT (1 + 2 * 66)

static int
ecdh_keygen(const struct dssh_kex_alg *alg, EVP_PKEY **ownp)
{
	*ownp = EVP_PKEY_Q_keygen(NULL, NULL, "EC", alg->group);
	return *ownp == NULL ? DSSH_ERR_LIBCRYPTO : 0;
}

/* Uncompressed point (SEC1 2.3.3), fixed-width coordinates, as a string. */
static int
ecdh_put_pub(const struct dssh_kex_alg *alg, EVP_PKEY *own, struct dssh_buf *out)
{
	uint8_t pt[ECDH_MAX_PT];
	size_t flen = (alg->pub_len - 1) / 2;
	BIGNUM *x = NULL, *y = NULL;
	int r = DSSH_ERR_LIBCRYPTO;

	if (alg->pub_len > sizeof(pt))
		return DSSH_ERR_INVALID_ARGUMENT;
	if (EVP_PKEY_get_bn_param(own, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(own, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
		goto out;
	pt[0] = 0x04;
	if (BN_bn2binpad(x, pt + 1, (int)flen) < 0 ||
	    BN_bn2binpad(y, pt + 1 + flen, (int)flen) < 0)
		goto out;
	r = dssh_buf_put_string(out, pt, alg->pub_len);
out:
	BN_free(x);
	BN_free(y);
	return r;
}

/* RFC 5656 4: uncompressed points only, validated (3.2.2.1). */
static int
ecdh_peer(const struct dssh_kex_alg *alg, const uint8_t *raw, size_t len, EVP_PKEY **peerp)
{
	OSSL_PARAM_BLD *bld = NULL;
	int r;

	*peerp = NULL;
	if (raw == NULL || len != alg->pub_len || raw[0] != 0x04)
		return DSSH_ERR_INVALID_FORMAT;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return DSSH_ERR_ALLOC;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, alg->group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, raw, len) != 1)
		r = DSSH_ERR_LIBCRYPTO;
	else if ((r = dssh_pkey_fromdata("EC", EVP_PKEY_PUBLIC_KEY, bld, peerp)) == 0)
		r = dssh_pkey_check(*peerp, false);
	if (r != 0) {
		EVP_PKEY_free(*peerp);
		*peerp = NULL;
	}
	OSSL_PARAM_BLD_free(bld);
	return r;
}

static int
ecdh_agree(const struct dssh_kex_alg *alg, EVP_PKEY *own, const uint8_t *raw, size_t len,
    struct dssh_buf *K_enc)
{
	EVP_PKEY *peer = NULL;
	int r;

	if ((r = ecdh_peer(alg, raw, len, &peer)) == 0)
		r = dssh_kex_evp_agree_mpint(own, peer, K_enc);
	EVP_PKEY_free(peer);
	return r;
}

static int
ecdh_server_reply(const struct dssh_kex_alg *alg, const uint8_t *client_pub, size_t len,
    struct dssh_buf *server_pub_enc, struct dssh_buf *K_enc)
{
	EVP_PKEY *own = NULL;
	int r;

	if ((r = ecdh_keygen(alg, &own)) == 0 &&
	    (r = ecdh_agree(alg, own, client_pub, len, K_enc)) == 0)
		r = ecdh_put_pub(alg, own, server_pub_enc);
	EVP_PKEY_free(own);
	return r;
}

static int
ecdh_client_new(const struct dssh_kex_alg *alg, void **statep)
{
	return ecdh_keygen(alg, (EVP_PKEY **)statep);
}

static int
ecdh_client_pub(const struct dssh_kex_alg *alg, void *state, struct dssh_buf *out)
{
	return ecdh_put_pub(alg, state, out);
}

static int
ecdh_client_finish(const struct dssh_kex_alg *alg, void *state, const uint8_t *server_pub,
    size_t len, struct dssh_buf *K_enc)
{
	return ecdh_agree(alg, state, server_pub, len, K_enc);
}

const struct dssh_kex_method_ops dssh_kex_ecdh_ops = {
	.server_reply = ecdh_server_reply,
	.client_new = ecdh_client_new,
	.client_pub = ecdh_client_pub,
	.client_finish = ecdh_client_finish,
	.client_free = dssh_kex_evp_client_free,
};
