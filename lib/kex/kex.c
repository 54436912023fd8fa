/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SSH key exchange: the method table, the public wrappers that dispatch to
 * each family's ops (kex_int.h; kex_x25519.c, kex_ecdh.c, kex_dh.c, ...),
 * helpers the EVP-based families share, the exchange hash digest and the
 * RFC 4253 7.2 key derivation.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "dssh_err.h"
#include "dssh_kex.h"
#include "dssh_mlkem.h"
#include "dssh_sntrup761.h"
#include "dssh_util.h"
#include "kex_int.h"

#define CLASSIC(n, k, o, g, md, hl, pl) \
	{ .name = (n), .kind = (k), .ops = (o), .group = (g), .md_name = (md), \
	  .hash_len = (hl), .pub_len = (pl), .reply_len = (pl), \
	  .pub_mpint = (k) == DSSH_KEX_DH, .k_string = false }

/* Hybrid post-quantum methods: string values of fixed lengths, K a string. */
#define HYBRID(n, o, md, hl, cl, sl) \
	{ .name = (n), .kind = DSSH_KEX_HYBRID, .ops = (o), .group = NULL, .md_name = (md), \
	  .hash_len = (hl), .pub_len = (cl), .reply_len = (sl), \
	  .pub_mpint = false, .k_string = true }

/*
 * The registration point: every method, in OpenSSH's order of preference
 * among those implemented here. kex_names below is the advertised list.
 */
static const struct dssh_kex_alg kex_algs[] = {
	HYBRID("mlkem768x25519-sha256", &dssh_kex_mlkem768x25519_ops, "SHA256", 32,
	    DSSH_MLKEM768_PK_LEN + DSSH_KEX_X25519_LEN, DSSH_MLKEM768_CT_LEN + DSSH_KEX_X25519_LEN),
	HYBRID("sntrup761x25519-sha512", &dssh_kex_sntrup761x25519_ops, "SHA512", 64,
	    DSSH_SNTRUP761_PK_LEN + DSSH_KEX_X25519_LEN, DSSH_SNTRUP761_CT_LEN + DSSH_KEX_X25519_LEN),
	HYBRID("sntrup761x25519-sha512@openssh.com", &dssh_kex_sntrup761x25519_ops, "SHA512", 64,
	    DSSH_SNTRUP761_PK_LEN + DSSH_KEX_X25519_LEN, DSSH_SNTRUP761_CT_LEN + DSSH_KEX_X25519_LEN),
	CLASSIC("curve25519-sha256", DSSH_KEX_X25519, &dssh_kex_x25519_ops, NULL, "SHA256", 32,
	    DSSH_KEX_X25519_LEN),
	CLASSIC("curve25519-sha256@libssh.org", DSSH_KEX_X25519, &dssh_kex_x25519_ops, NULL,
	    "SHA256", 32, DSSH_KEX_X25519_LEN),
	CLASSIC("ecdh-sha2-nistp256", DSSH_KEX_ECDH, &dssh_kex_ecdh_ops, "prime256v1", "SHA256",
	    32, 1 + 2 * 32),
	CLASSIC("ecdh-sha2-nistp384", DSSH_KEX_ECDH, &dssh_kex_ecdh_ops, "secp384r1", "SHA384",
	    48, 1 + 2 * 48),
	CLASSIC("ecdh-sha2-nistp521", DSSH_KEX_ECDH, &dssh_kex_ecdh_ops, "secp521r1", "SHA512",
	    64, 1 + 2 * 66),
	CLASSIC("diffie-hellman-group16-sha512", DSSH_KEX_DH, &dssh_kex_dh_ops, "modp_4096",
	    "SHA512", 64, 512),
	CLASSIC("diffie-hellman-group18-sha512", DSSH_KEX_DH, &dssh_kex_dh_ops, "modp_8192",
	    "SHA512", 64, 1024),
	CLASSIC("diffie-hellman-group14-sha256", DSSH_KEX_DH, &dssh_kex_dh_ops, "modp_2048",
	    "SHA256", 32, 256),
};

/*
 * The default preference order, OpenSSH's: the post-quantum hybrids first
 * (sntrup761x25519-sha512 and sntrup761x25519-sha512@openssh.com go right
 * after mlkem768x25519-sha256), then curve25519 for clients without one.
 */
static const char kex_names[] =
	"mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,"
	"curve25519-sha256,curve25519-sha256@libssh.org,"
	"ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
	"diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
	"diffie-hellman-group14-sha256";

/*
 * What is offered without a KexAlgorithms line: the list above less the NIST
 * curves (ssh-audit fails them; a KexAlgorithms line can still name them).
 */
static const char kex_default_names[] =
	"mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,"
	"curve25519-sha256,curve25519-sha256@libssh.org,"
	"diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
	"diffie-hellman-group14-sha256";

struct dssh_kex_client {
	const struct dssh_kex_alg *alg;
	void *state;
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

const char *
dssh_kex_alg_default_names(void)
{
	return kex_default_names;
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

int
dssh_kex_evp_derive(EVP_PKEY *own, EVP_PKEY *peer, uint8_t **secretp, size_t *lenp)
{
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *secret = NULL;
	size_t slen = 0, alloc = 0;
	int r = DSSH_ERR_LIBCRYPTO;

	*secretp = NULL;
	*lenp = 0;
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
	*secretp = secret;
	*lenp = slen;
	secret = NULL;
	r = 0;
out:
	if (secret != NULL)
		OPENSSL_secure_clear_free(secret, alloc);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

int
dssh_kex_evp_agree_mpint(EVP_PKEY *own, EVP_PKEY *peer, struct dssh_buf *K_enc)
{
	uint8_t *secret;
	size_t slen;
	int r;

	if ((r = dssh_kex_evp_derive(own, peer, &secret, &slen)) != 0)
		return r;
	/* The octets read as a big-endian number (RFC 5656 4, RFC 4253 8). */
	r = dssh_buf_put_mpint_bytes(K_enc, secret, slen);
	OPENSSL_secure_clear_free(secret, slen);
	return r;
}

void
dssh_kex_evp_client_free(void *state)
{
	EVP_PKEY_free(state);
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

/* Length check of a raw peer value before any work: exact, or DH's bound. */
static bool
len_ok(const struct dssh_kex_alg *alg, size_t len, size_t want)
{
	if (len == 0)
		return false;
	return alg->pub_mpint ? len <= want : len == want;
}

int
dssh_kex_server_reply(const struct dssh_kex_alg *alg, const uint8_t *client_pub,
    size_t client_pub_len, struct dssh_buf *server_pub_enc, struct dssh_buf *K_enc)
{
	size_t k0, s0;
	int r;

	if (alg == NULL || server_pub_enc == NULL || K_enc == NULL ||
	    (client_pub == NULL && client_pub_len > 0))
		return DSSH_ERR_INVALID_ARGUMENT;
	/* Cheap shape check before spending a key generation. */
	if (!len_ok(alg, client_pub_len, alg->pub_len))
		return DSSH_ERR_INVALID_FORMAT;
	k0 = dssh_buf_len(K_enc);
	s0 = dssh_buf_len(server_pub_enc);
	r = alg->ops->server_reply(alg, client_pub, client_pub_len, server_pub_enc, K_enc);
	if (r != 0) {
		buf_rollback(K_enc, k0);
		buf_rollback(server_pub_enc, s0);
	}
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
	if ((r = alg->ops->client_new(alg, &c->state)) != 0) {
		free(c);
		ERR_clear_error();
		return r;
	}
	*ctxp = c;
	return 0;
}

int
dssh_kex_client_pub(struct dssh_kex_client *ctx, struct dssh_buf *client_pub_enc)
{
	size_t p0;
	int r;

	if (ctx == NULL || ctx->state == NULL || client_pub_enc == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	p0 = dssh_buf_len(client_pub_enc);
	if ((r = ctx->alg->ops->client_pub(ctx->alg, ctx->state, client_pub_enc)) != 0)
		buf_rollback(client_pub_enc, p0);
	ERR_clear_error();
	return r;
}

int
dssh_kex_client_finish(struct dssh_kex_client *ctx, const uint8_t *server_pub,
    size_t len, struct dssh_buf *K_enc)
{
	size_t k0;
	int r;

	if (ctx == NULL || ctx->state == NULL || K_enc == NULL || (server_pub == NULL && len > 0))
		return DSSH_ERR_INVALID_ARGUMENT;
	if (!len_ok(ctx->alg, len, ctx->alg->reply_len))
		return DSSH_ERR_INVALID_FORMAT;
	k0 = dssh_buf_len(K_enc);
	r = ctx->alg->ops->client_finish(ctx->alg, ctx->state, server_pub, len, K_enc);
	if (r != 0)
		buf_rollback(K_enc, k0);
	ERR_clear_error();
	return r;
}

void
dssh_kex_client_free(struct dssh_kex_client *ctx)
{
	if (ctx == NULL)
		return;
	ctx->alg->ops->client_free(ctx->state);
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
