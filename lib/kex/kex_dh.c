/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * diffie-hellman-group14-sha256, -group16-sha512, -group18-sha512 (RFC 4253
 * section 8, RFC 8268) over the RFC 3526 MODP groups on OpenSSL EVP: e and
 * f are mpints, K is an mpint.
 */
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "dssh_err.h"
#include "dssh_pkey.h"
#include "dssh_util.h"
#include "kex_int.h"

/*
 * Private exponent length: twice the bits of the hash, as OpenSSH (well
 * above twice the security of the derived keys).
 */
static int
dh_keygen(const struct dssh_kex_alg *alg, EVP_PKEY **ownp)
{
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM params[3];
	int priv_len = (int)(alg->hash_len * 8 * 2);
	int r = DSSH_ERR_LIBCRYPTO;

	*ownp = NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)(uintptr_t)alg->group, 0);
	params[1] = OSSL_PARAM_construct_int(OSSL_PKEY_PARAM_DH_PRIV_LEN, &priv_len);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_CTX_set_params(ctx, params) != 1 ||
	    EVP_PKEY_generate(ctx, ownp) != 1)
		goto out;
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

static int
put_bn_mpint(struct dssh_buf *b, const BIGNUM *bn)
{
	int n = BN_num_bytes(bn);
	uint8_t *tmp;
	int r;

	if ((tmp = malloc(n > 0 ? (size_t)n : 1)) == NULL)
		return DSSH_ERR_ALLOC;
	if (BN_bn2bin(bn, tmp) != n)
		r = DSSH_ERR_LIBCRYPTO;
	else
		r = dssh_buf_put_mpint_bytes(b, tmp, (size_t)n);
	dssh_freezero(tmp, n > 0 ? (size_t)n : 1);
	return r;
}

static int
dh_put_pub(EVP_PKEY *own, struct dssh_buf *out)
{
	BIGNUM *x = NULL;
	int r = DSSH_ERR_LIBCRYPTO;

	if (EVP_PKEY_get_bn_param(own, OSSL_PKEY_PARAM_PUB_KEY, &x) == 1)
		r = put_bn_mpint(out, x);
	BN_free(x);
	return r;
}

/* RFC 4253 8: 1 < e < p-1 (and f likewise); the subgroup check is OpenSSL's. */
static int
dh_peer(const struct dssh_kex_alg *alg, EVP_PKEY *own, const uint8_t *raw, size_t len,
    EVP_PKEY **peerp)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *p = NULL, *v = NULL;
	int r = DSSH_ERR_LIBCRYPTO;

	*peerp = NULL;
	if (raw == NULL || len == 0 || len > alg->pub_len)
		return DSSH_ERR_INVALID_FORMAT;
	if (EVP_PKEY_get_bn_param(own, OSSL_PKEY_PARAM_FFC_P, &p) != 1 ||
	    (v = BN_bin2bn(raw, (int)len, NULL)) == NULL ||
	    BN_sub_word(p, 1) != 1)
		goto out;
	if (BN_cmp(v, BN_value_one()) <= 0 || BN_cmp(v, p) >= 0) {
		r = DSSH_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, alg->group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, v) != 1)
		goto out;
	r = dssh_pkey_fromdata("DH", EVP_PKEY_PUBLIC_KEY, bld, peerp);
out:
	BN_free(p);
	BN_free(v);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

static int
dh_agree(const struct dssh_kex_alg *alg, EVP_PKEY *own, const uint8_t *raw, size_t len,
    struct dssh_buf *K_enc)
{
	EVP_PKEY *peer = NULL;
	int r;

	if ((r = dh_peer(alg, own, raw, len, &peer)) == 0)
		r = dssh_kex_evp_agree_mpint(own, peer, K_enc);
	EVP_PKEY_free(peer);
	return r;
}

static int
dh_server_reply(const struct dssh_kex_alg *alg, const uint8_t *client_pub, size_t len,
    struct dssh_buf *server_pub_enc, struct dssh_buf *K_enc)
{
	EVP_PKEY *own = NULL;
	int r;

	if ((r = dh_keygen(alg, &own)) == 0 &&
	    (r = dh_agree(alg, own, client_pub, len, K_enc)) == 0)
		r = dh_put_pub(own, server_pub_enc);
	EVP_PKEY_free(own);
	return r;
}

static int
dh_client_new(const struct dssh_kex_alg *alg, void **statep)
{
	return dh_keygen(alg, (EVP_PKEY **)statep);
}

static int
dh_client_pub(const struct dssh_kex_alg *alg, void *state, struct dssh_buf *out)
{
	(void)alg;
	return dh_put_pub(state, out);
}

static int
dh_client_finish(const struct dssh_kex_alg *alg, void *state, const uint8_t *server_pub,
    size_t len, struct dssh_buf *K_enc)
{
	return dh_agree(alg, state, server_pub, len, K_enc);
}

const struct dssh_kex_method_ops dssh_kex_dh_ops = {
	.server_reply = dh_server_reply,
	.client_new = dh_client_new,
	.client_pub = dh_client_pub,
	.client_finish = dh_client_finish,
	.client_free = dssh_kex_evp_client_free,
};
