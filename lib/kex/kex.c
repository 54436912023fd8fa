/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ephemeral key agreement for SSH key exchange on OpenSSL 3 EVP_PKEY:
 * X25519 (RFC 8731), ECDH over the NIST curves (RFC 5656 section 4) and
 * finite-field DH over the RFC 3526 MODP groups (RFC 4253 section 8,
 * RFC 8268), plus the exchange hash digest and RFC 4253 7.2 derivation.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "dssh_err.h"
#include "dssh_kex.h"
#include "dssh_util.h"

#define X25519_LEN 32

/* OpenSSH's order of preference among the methods implemented here. */
static const struct dssh_kex_alg kex_algs[] = {
	{ "curve25519-sha256", DSSH_KEX_X25519, NULL, "SHA256", 32, X25519_LEN },
	{ "curve25519-sha256@libssh.org", DSSH_KEX_X25519, NULL, "SHA256", 32, X25519_LEN },
	{ "ecdh-sha2-nistp256", DSSH_KEX_ECDH, "prime256v1", "SHA256", 32, 1 + 2 * 32 },
	{ "ecdh-sha2-nistp384", DSSH_KEX_ECDH, "secp384r1", "SHA384", 48, 1 + 2 * 48 },
	{ "ecdh-sha2-nistp521", DSSH_KEX_ECDH, "secp521r1", "SHA512", 64, 1 + 2 * 66 },
	{ "diffie-hellman-group16-sha512", DSSH_KEX_DH, "modp_4096", "SHA512", 64, 512 },
	{ "diffie-hellman-group18-sha512", DSSH_KEX_DH, "modp_8192", "SHA512", 64, 1024 },
	{ "diffie-hellman-group14-sha256", DSSH_KEX_DH, "modp_2048", "SHA256", 32, 256 },
};

static const char kex_names[] =
	"curve25519-sha256,curve25519-sha256@libssh.org,"
	"ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
	"diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
	"diffie-hellman-group14-sha256";

struct dssh_kex_client {
	const struct dssh_kex_alg *alg;
	EVP_PKEY *own;
};

const struct dssh_kex_alg *
dssh_kex_alg_by_name(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(kex_algs); i++)
		if (strcmp(kex_algs[i].name, name) == 0)
			return &kex_algs[i];
	return NULL;
}

const char *
dssh_kex_alg_names(void)
{
	return kex_names;
}

const EVP_MD *
dssh_kex_alg_md(const struct dssh_kex_alg *alg)
{
	if (alg == NULL)
		return NULL;
	if (strcmp(alg->md_name, "SHA256") == 0)
		return EVP_sha256();
	if (strcmp(alg->md_name, "SHA384") == 0)
		return EVP_sha384();
	if (strcmp(alg->md_name, "SHA512") == 0)
		return EVP_sha512();
	return NULL;
}

/*
 * DH private exponent length: twice the bits of the hash, as OpenSSH
 * (well above twice the security of the derived keys).
 */
static int
dh_keygen(const struct dssh_kex_alg *alg, EVP_PKEY **ownp)
{
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM params[3];
	int priv_len = (int)(alg->hash_len * 8 * 2);
	int r = DSSH_ERR_LIBCRYPTO;

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
kex_keygen(const struct dssh_kex_alg *alg, EVP_PKEY **ownp)
{
	*ownp = NULL;
	switch (alg->kind) {
	case DSSH_KEX_X25519:
		*ownp = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
		break;
	case DSSH_KEX_ECDH:
		*ownp = EVP_PKEY_Q_keygen(NULL, NULL, "EC", alg->group);
		break;
	case DSSH_KEX_DH:
		return dh_keygen(alg, ownp);
	}
	return *ownp == NULL ? DSSH_ERR_LIBCRYPTO : 0;
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

/* Our public value, SSH-encoded: string Q, or mpint e/f. */
static int
kex_put_pub(const struct dssh_kex_alg *alg, EVP_PKEY *own, struct dssh_buf *out)
{
	uint8_t pt[1 + 2 * 66];
	size_t len = sizeof(pt), flen;
	BIGNUM *x = NULL, *y = NULL;
	int r = DSSH_ERR_LIBCRYPTO;

	switch (alg->kind) {
	case DSSH_KEX_X25519:
		len = X25519_LEN;
		if (EVP_PKEY_get_raw_public_key(own, pt, &len) != 1 || len != X25519_LEN)
			return DSSH_ERR_LIBCRYPTO;
		return dssh_buf_put_string(out, pt, len);
	case DSSH_KEX_ECDH:
		/* Uncompressed point (SEC1 2.3.3), fixed-width coordinates. */
		flen = (alg->pub_len - 1) / 2;
		if (EVP_PKEY_get_bn_param(own, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
		    EVP_PKEY_get_bn_param(own, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
			goto out;
		pt[0] = 0x04;
		if (BN_bn2binpad(x, pt + 1, (int)flen) < 0 ||
		    BN_bn2binpad(y, pt + 1 + flen, (int)flen) < 0)
			goto out;
		r = dssh_buf_put_string(out, pt, alg->pub_len);
		break;
	case DSSH_KEX_DH:
		if (EVP_PKEY_get_bn_param(own, OSSL_PKEY_PARAM_PUB_KEY, &x) != 1)
			goto out;
		r = put_bn_mpint(out, x);
		break;
	}
out:
	BN_free(x);
	BN_free(y);
	return r;
}

static int
pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **pkeyp)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int r = DSSH_ERR_INVALID_FORMAT;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, pkeyp, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		*pkeyp = NULL;
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return r;
}

static int
pkey_public_check(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	int ok;

	if (ctx == NULL)
		return DSSH_ERR_ALLOC;
	ok = EVP_PKEY_public_check(ctx);
	EVP_PKEY_CTX_free(ctx);
	return ok == 1 ? 0 : DSSH_ERR_INVALID_FORMAT;
}

/* The peer's raw value as a key, after every check the method needs. */
static int
kex_peer(const struct dssh_kex_alg *alg, EVP_PKEY *own, const uint8_t *raw, size_t len,
    EVP_PKEY **peerp)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *p = NULL, *v = NULL;
	int r = DSSH_ERR_INVALID_FORMAT;

	*peerp = NULL;
	if (raw == NULL || len == 0)
		return DSSH_ERR_INVALID_FORMAT;
	switch (alg->kind) {
	case DSSH_KEX_X25519:
		if (len != X25519_LEN)
			return DSSH_ERR_INVALID_FORMAT;
		*peerp = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, raw, len);
		return *peerp == NULL ? DSSH_ERR_INVALID_FORMAT : 0;
	case DSSH_KEX_ECDH:
		/* RFC 5656 4: uncompressed points only, validated (3.2.2.1). */
		if (len != alg->pub_len || raw[0] != 0x04)
			return DSSH_ERR_INVALID_FORMAT;
		if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
			r = DSSH_ERR_ALLOC;
			goto out;
		}
		if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
		    alg->group, 0) != 1 ||
		    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, raw, len) != 1) {
			r = DSSH_ERR_LIBCRYPTO;
			goto out;
		}
		if ((r = pkey_fromdata("EC", bld, peerp)) != 0 ||
		    (r = pkey_public_check(*peerp)) != 0)
			goto out;
		break;
	case DSSH_KEX_DH:
		/* RFC 4253 8: 1 < e < p-1 (and f likewise). */
		if (len > alg->pub_len)
			return DSSH_ERR_INVALID_FORMAT;
		r = DSSH_ERR_LIBCRYPTO;
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
		if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
		    alg->group, 0) != 1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, v) != 1)
			goto out;
		if ((r = pkey_fromdata("DH", bld, peerp)) != 0)
			goto out;
		break;
	}
	r = 0;
out:
	if (r != 0) {
		EVP_PKEY_free(*peerp);
		*peerp = NULL;
	}
	BN_free(p);
	BN_free(v);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

/* Shared secret K, appended to K_enc as an mpint. */
static int
kex_agree(const struct dssh_kex_alg *alg, EVP_PKEY *own, EVP_PKEY *peer,
    struct dssh_buf *K_enc)
{
	static const uint8_t zero[X25519_LEN];
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *secret = NULL;
	size_t slen = 0, alloc = 0;
	int r = DSSH_ERR_LIBCRYPTO;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1)
		goto out;
	/* set_peer validates the peer key against our domain parameters. */
	if (EVP_PKEY_derive_set_peer(ctx, peer) != 1) {
		r = DSSH_ERR_INVALID_FORMAT;
		goto out;
	}
	if (EVP_PKEY_derive(ctx, NULL, &slen) != 1 || slen == 0)
		goto out;
	alloc = slen;
	if ((secret = OPENSSL_secure_malloc(alloc)) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	if (EVP_PKEY_derive(ctx, secret, &slen) != 1) {
		/* OpenSSL refuses an all-zero X25519 result (small-order peer). */
		r = DSSH_ERR_INVALID_FORMAT;
		goto out;
	}
	if (alg->kind == DSSH_KEX_X25519 &&
	    (slen != X25519_LEN || CRYPTO_memcmp(secret, zero, X25519_LEN) == 0)) {
		r = DSSH_ERR_INVALID_FORMAT;   /* RFC 8731 3: abort on all zeros */
		goto out;
	}
	/* RFC 8731 3.1: the X25519 octets read as a big-endian number. */
	r = dssh_buf_put_mpint_bytes(K_enc, secret, slen);
out:
	if (secret != NULL)
		OPENSSL_secure_clear_free(secret, alloc);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

/* Drop (and wipe) whatever was appended to b past len0. */
static void
buf_rollback(struct dssh_buf *b, size_t len0)
{
	size_t n = dssh_buf_len(b);

	if (n > len0) {
		dssh_wipe(dssh_buf_mutable_ptr(b) + len0, n - len0);
		dssh_buf_consume_end(b, n - len0);
	}
}

int
dssh_kex_server_reply(const struct dssh_kex_alg *alg, const uint8_t *client_pub,
    size_t client_pub_len, struct dssh_buf *server_pub_enc, struct dssh_buf *K_enc)
{
	EVP_PKEY *own = NULL, *peer = NULL;
	size_t k0, s0;
	int r;

	if (alg == NULL || server_pub_enc == NULL || K_enc == NULL ||
	    (client_pub == NULL && client_pub_len > 0))
		return DSSH_ERR_INVALID_ARGUMENT;
	k0 = dssh_buf_len(K_enc);
	s0 = dssh_buf_len(server_pub_enc);
	/* Cheap shape checks before spending a key generation. */
	if (client_pub_len == 0 ||
	    (alg->kind != DSSH_KEX_DH && client_pub_len != alg->pub_len) ||
	    (alg->kind == DSSH_KEX_DH && client_pub_len > alg->pub_len))
		return DSSH_ERR_INVALID_FORMAT;
	if ((r = kex_keygen(alg, &own)) != 0 ||
	    (r = kex_peer(alg, own, client_pub, client_pub_len, &peer)) != 0 ||
	    (r = kex_agree(alg, own, peer, K_enc)) != 0 ||
	    (r = kex_put_pub(alg, own, server_pub_enc)) != 0)
		goto out;
out:
	if (r != 0) {
		buf_rollback(K_enc, k0);
		buf_rollback(server_pub_enc, s0);
	}
	EVP_PKEY_free(own);
	EVP_PKEY_free(peer);
	ERR_clear_error();
	return r;
}

int
dssh_kex_client_new(const struct dssh_kex_alg *alg, struct dssh_kex_client **ctxp)
{
	struct dssh_kex_client *c;
	int r;

	if (alg == NULL || ctxp == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	*ctxp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return DSSH_ERR_ALLOC;
	c->alg = alg;
	if ((r = kex_keygen(alg, &c->own)) != 0) {
		free(c);
		return r;
	}
	*ctxp = c;
	return 0;
}

int
dssh_kex_client_pub(struct dssh_kex_client *ctx, struct dssh_buf *client_pub_enc)
{
	if (ctx == NULL || ctx->own == NULL || client_pub_enc == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	return kex_put_pub(ctx->alg, ctx->own, client_pub_enc);
}

int
dssh_kex_client_finish(struct dssh_kex_client *ctx, const uint8_t *server_pub,
    size_t len, struct dssh_buf *K_enc)
{
	EVP_PKEY *peer = NULL;
	int r;

	if (ctx == NULL || ctx->own == NULL || K_enc == NULL || (server_pub == NULL && len > 0))
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((r = kex_peer(ctx->alg, ctx->own, server_pub, len, &peer)) == 0)
		r = kex_agree(ctx->alg, ctx->own, peer, K_enc);
	EVP_PKEY_free(peer);
	ERR_clear_error();
	return r;
}

void
dssh_kex_client_free(struct dssh_kex_client *ctx)
{
	if (ctx == NULL)
		return;
	EVP_PKEY_free(ctx->own);
	free(ctx);
}

int
dssh_kex_hash(const struct dssh_kex_alg *alg, const struct dssh_buf *parts_concat,
    uint8_t *out, size_t *outlen)
{
	const EVP_MD *md = dssh_kex_alg_md(alg);
	unsigned n = 0;

	if (md == NULL || parts_concat == NULL || out == NULL || outlen == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (*outlen < alg->hash_len)
		return DSSH_ERR_NO_BUFFER_SPACE;
	if (EVP_Digest(dssh_buf_ptr(parts_concat), dssh_buf_len(parts_concat), out, &n,
	    md, NULL) != 1)
		return DSSH_ERR_LIBCRYPTO;
	*outlen = n;
	return 0;
}

int
dssh_kex_derive(const struct dssh_kex_alg *alg, const struct dssh_buf *K_enc,
    const uint8_t *H, size_t hlen, const uint8_t *session_id, size_t sid_len,
    char letter, uint8_t *out, size_t need)
{
	const EVP_MD *md = dssh_kex_alg_md(alg);
	EVP_MD_CTX *ctx = NULL;
	uint8_t *acc = NULL;
	size_t have = 0, alloc;
	unsigned n;
	int r = DSSH_ERR_LIBCRYPTO;

	if (md == NULL || K_enc == NULL || H == NULL || hlen == 0 || session_id == NULL ||
	    sid_len == 0 || (out == NULL && need > 0))
		return DSSH_ERR_INVALID_ARGUMENT;
	if (need == 0)
		return 0;
	if (need > 64 * 1024)
		return DSSH_ERR_INVALID_ARGUMENT;
	alloc = need + alg->hash_len;
	if ((acc = malloc(alloc)) == NULL)
		return DSSH_ERR_ALLOC;
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	/* K1 = HASH(K || H || X || session_id) */
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, dssh_buf_ptr(K_enc), dssh_buf_len(K_enc)) != 1 ||
	    EVP_DigestUpdate(ctx, H, hlen) != 1 ||
	    EVP_DigestUpdate(ctx, &letter, 1) != 1 ||
	    EVP_DigestUpdate(ctx, session_id, sid_len) != 1 ||
	    EVP_DigestFinal_ex(ctx, acc, &n) != 1)
		goto out;
	have = n;
	/* Kn = HASH(K || H || K1 || ... || Kn-1) */
	while (have < need) {
		if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
		    EVP_DigestUpdate(ctx, dssh_buf_ptr(K_enc), dssh_buf_len(K_enc)) != 1 ||
		    EVP_DigestUpdate(ctx, H, hlen) != 1 ||
		    EVP_DigestUpdate(ctx, acc, have) != 1 ||
		    EVP_DigestFinal_ex(ctx, acc + have, &n) != 1)
			goto out;
		have += n;
	}
	memcpy(out, acc, need);
	r = 0;
out:
	dssh_freezero(acc, alloc);
	EVP_MD_CTX_free(ctx);
	return r;
}
