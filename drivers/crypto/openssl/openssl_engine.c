/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * OpenSSL 3 EVP engine: synchronous, one packet at a time. Ops finish inside
 * submit() and wait in a FIFO for complete().
 *
 * Modes (RFC 4253, RFC 5647 as changed by OpenSSH PROTOCOL, OpenSSH
 * PROTOCOL.chacha20poly1305, RFC 6668 and OpenSSH's -etm MACs):
 *  - aes-gcm: length in clear and the AAD; IV = 4-byte fixed || 8-byte
 *    invocation counter, +1 (big endian, 64 bit) per packet.
 *  - chacha20-poly1305: lib/crypto/chachapoly.c (shared with cryptodev).
 *  - aes-ctr + etm MAC: length in clear, MAC(seq || wire bytes); for UMAC
 *    the seq is the nonce instead (lib/crypto/umac.h).
 *  - aes-ctr + classic MAC: whole packet encrypted, MAC(seq || plaintext).
 *  The CTR counter is one 128-bit big-endian counter running across packets.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "chachapoly.h"
#include "dssh_buf.h"
#include "dssh_crypto_driver.h"
#include "dssh_err.h"
#include "dssh_util.h"

/* UMAC comes from lib/crypto when that module has it. */
#if __has_include("umac.h")
#include "umac.h"
#define OSSL_HAVE_UMAC 1
#endif

/* Far above any SSH packet (OpenSSH: 256 KiB), well inside an int. */
#define OSSL_MAX_LEN (16u * 1024 * 1024)

enum ossl_kind {
	OSSL_NONE,
	OSSL_GCM,
	OSSL_CHACHA,
	OSSL_CTR_ETM,
	OSSL_CTR_CLASSIC,
};

struct ossl_sa {
	enum ossl_kind kind;
	int enc;                      /* 1 seal, 0 open */
	size_t mac_len;
	EVP_CIPHER_CTX *cipher;       /* GCM; CTR stream */
	EVP_CIPHER_CTX *aux;          /* CTR classic: AES-ECB for peek */
	EVP_MAC_CTX *mac;             /* keyed HMAC */
	struct dssh_chachapoly *chacha;
#ifdef OSSL_HAVE_UMAC
	struct dssh_umac *umac;       /* umac-*-etm instead of HMAC */
#endif
	/* GCM: fixed || invocation counter. CTR: counter block of the next packet. */
	uint8_t iv[16];
	uint8_t iv0[16];              /* CTR: counter block at the start (peek_length_at) */
};

struct ossl_engine {
	struct dssh_crypto_op **fifo;
	unsigned cap;
	unsigned head;
	unsigned count;
};

static int
ossl_engine_init(struct dssh_crypto_engine *e, const struct dssh_crypto_engine_conf *conf)
{
	struct ossl_engine *pe = e->priv;

	/* Room for a few bursts submitted before the caller completes them. */
	pe->cap = 4 * (conf->max_burst > 0 ? conf->max_burst : 32);
	if ((pe->fifo = calloc(pe->cap, sizeof(*pe->fifo))) == NULL)
		return DSSH_ERR_ALLOC;
	return 0;
}

static void
ossl_engine_fini(struct dssh_crypto_engine *e)
{
	struct ossl_engine *pe = e->priv;

	free(pe->fifo);
	pe->fifo = NULL;
}

static int
cipher_ctx(EVP_CIPHER_CTX **out, const char *alg, const uint8_t *key, const uint8_t *iv,
    int enc)
{
	EVP_CIPHER *c = NULL;
	int r = DSSH_ERR_LIBCRYPTO;

	*out = NULL;
	if ((c = EVP_CIPHER_fetch(NULL, alg, NULL)) == NULL)
		goto out;
	if ((*out = EVP_CIPHER_CTX_new()) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	if (EVP_CipherInit_ex2(*out, c, key, iv, enc, NULL) != 1)
		goto out;
	r = 0;
 out:
	EVP_CIPHER_free(c);
	if (r != 0) {
		EVP_CIPHER_CTX_free(*out);
		*out = NULL;
	}
	return r;
}

static int
hmac_ctx(EVP_MAC_CTX **out, const char *digest, const uint8_t *key, size_t key_len)
{
	EVP_MAC *m = NULL;
	OSSL_PARAM params[2];
	int r = DSSH_ERR_LIBCRYPTO;

	*out = NULL;
	if ((m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		goto out;
	if ((*out = EVP_MAC_CTX_new(m)) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(*out, key, key_len, params) != 1)
		goto out;
	r = 0;
 out:
	EVP_MAC_free(m);
	if (r != 0) {
		EVP_MAC_CTX_free(*out);
		*out = NULL;
	}
	return r;
}

static void
ossl_sa_fini(struct dssh_crypto_sa *sa)
{
	struct ossl_sa *s = sa->priv;

	EVP_CIPHER_CTX_free(s->cipher);
	EVP_CIPHER_CTX_free(s->aux);
	EVP_MAC_CTX_free(s->mac);
	dssh_chachapoly_free(s->chacha);
#ifdef OSSL_HAVE_UMAC
	dssh_umac_free(s->umac);
#endif
	OPENSSL_cleanse(s, sizeof(*s));
}

static const char *
ctr_alg(enum dssh_cipher_id id, const char **ecb)
{
	switch (id) {
	case DSSH_CIPHER_AES128_CTR:
		*ecb = "AES-128-ECB";
		return "AES-128-CTR";
	case DSSH_CIPHER_AES192_CTR:
		*ecb = "AES-192-ECB";
		return "AES-192-CTR";
	case DSSH_CIPHER_AES256_CTR:
		*ecb = "AES-256-ECB";
		return "AES-256-CTR";
	default:
		return NULL;
	}
}

static int
ossl_sa_init(struct dssh_crypto_sa *sa, const struct dssh_crypto_keys *keys)
{
	struct ossl_sa *s = sa->priv;
	const char *alg, *ecb = NULL, *digest = NULL;
	int r = DSSH_ERR_INTERNAL;

	s->enc = sa->dir == DSSH_CRYPTO_SEAL ? 1 : 0;
	s->mac_len = sa->mac->mac_len;
	switch (sa->cipher->id) {
	case DSSH_CIPHER_NONE:
		s->kind = OSSL_NONE;
		return 0;
	case DSSH_CIPHER_AES128_GCM:
	case DSSH_CIPHER_AES256_GCM:
		s->kind = OSSL_GCM;
		alg = sa->cipher->id == DSSH_CIPHER_AES128_GCM ? "AES-128-GCM" : "AES-256-GCM";
		memcpy(s->iv, keys->iv, 12);
		/* 12 bytes is the default GCM IV length. */
		if ((r = cipher_ctx(&s->cipher, alg, keys->key, NULL, s->enc)) != 0)
			goto out;
		break;
	case DSSH_CIPHER_CHACHA20_POLY1305:
		s->kind = OSSL_CHACHA;
		s->mac_len = 16;
		if ((r = dssh_chachapoly_new(keys->key, &s->chacha)) != 0)
			goto out;
		break;
	case DSSH_CIPHER_AES128_CTR:
	case DSSH_CIPHER_AES192_CTR:
	case DSSH_CIPHER_AES256_CTR:
		s->kind = sa->mac->etm ? OSSL_CTR_ETM : OSSL_CTR_CLASSIC;
		alg = ctr_alg(sa->cipher->id, &ecb);
		memcpy(s->iv, keys->iv, 16);
		memcpy(s->iv0, keys->iv, 16);
		switch (sa->mac->id) {
		case DSSH_MAC_HMAC_SHA2_256:
		case DSSH_MAC_HMAC_SHA2_256_ETM:
			digest = "SHA2-256";
			break;
		case DSSH_MAC_HMAC_SHA2_512:
		case DSSH_MAC_HMAC_SHA2_512_ETM:
			digest = "SHA2-512";
			break;
#ifdef OSSL_HAVE_UMAC
		case DSSH_MAC_UMAC_64_ETM:
		case DSSH_MAC_UMAC_128_ETM:
			break;
#endif
		default:
			r = DSSH_ERR_UNSUPPORTED;
			goto out;
		}
		/* Stream ciphers: encryption and decryption are the same. */
		if ((r = cipher_ctx(&s->cipher, alg, keys->key, s->iv, 1)) != 0)
			goto out;
		if (s->kind == OSSL_CTR_CLASSIC) {
			if ((r = cipher_ctx(&s->aux, ecb, keys->key, NULL, 1)) != 0)
				goto out;
			if (EVP_CIPHER_CTX_set_padding(s->aux, 0) != 1) {
				r = DSSH_ERR_LIBCRYPTO;
				goto out;
			}
		}
		if (digest != NULL &&
		    (r = hmac_ctx(&s->mac, digest, keys->mac_key, sa->mac->key_len)) != 0)
			goto out;
#ifdef OSSL_HAVE_UMAC
		if (digest == NULL &&
		    (r = dssh_umac_new(keys->mac_key, sa->mac->mac_len, &s->umac)) != 0)
			goto out;
#endif
		break;
	default:
		r = DSSH_ERR_UNSUPPORTED;
		goto out;
	}
	r = 0;
 out:
	if (r != 0)
		ossl_sa_fini(sa);
	return r;
}

static int
ossl_peek_length(struct dssh_crypto_sa *sa, uint32_t seq, const uint8_t *wire,
    uint32_t *packet_length)
{
	struct ossl_sa *s = sa->priv;
	uint8_t ks[16];
	int outl, r = DSSH_ERR_LIBCRYPTO;

	switch (s->kind) {
	case OSSL_NONE:
	case OSSL_GCM:
	case OSSL_CTR_ETM:
		*packet_length = dssh_get_u32be(wire);
		return 0;
	case OSSL_CHACHA:
		return dssh_chachapoly_length(s->chacha, seq, wire, packet_length);
	case OSSL_CTR_CLASSIC:
		/* First keystream block = AES_K(counter); the stream is untouched. */
		if (EVP_CipherUpdate(s->aux, ks, &outl, s->iv, 16) != 1 || outl != 16)
			goto out;
		*packet_length = dssh_get_u32be(ks) ^ dssh_get_u32be(wire);
		break;
	}
	r = 0;
 out:
	OPENSSL_cleanse(ks, sizeof(ks));
	return r;
}

static int
ossl_peek_length_at(struct dssh_crypto_sa *sa, uint32_t seq, uint64_t block, const uint8_t *wire,
    uint32_t *packet_length)
{
	struct ossl_sa *s = sa->priv;
	uint8_t ctr[16], ks[16];
	int outl, r = DSSH_ERR_LIBCRYPTO;

	if (s->kind != OSSL_CTR_CLASSIC)
		return ossl_peek_length(sa, seq, wire, packet_length);
	memcpy(ctr, s->iv0, 16);
	dssh_crypto_ctr_add(ctr, block);
	if (EVP_CipherUpdate(s->aux, ks, &outl, ctr, 16) == 1 && outl == 16) {
		*packet_length = dssh_get_u32be(ks) ^ dssh_get_u32be(wire);
		r = 0;
	}
	OPENSSL_cleanse(ks, sizeof(ks));
	OPENSSL_cleanse(ctr, sizeof(ctr));
	return r;
}

/* HMAC(key, uint32 seq || data), key already in the context. */
static int
hmac_compute(struct ossl_sa *s, uint32_t seq, const uint8_t *data, size_t len, uint8_t *out)
{
	uint8_t seqb[4];
	size_t outl;

	dssh_put_u32be(seqb, seq);
	if (EVP_MAC_init(s->mac, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(s->mac, seqb, 4) != 1 ||
	    EVP_MAC_update(s->mac, data, len) != 1 ||
	    EVP_MAC_final(s->mac, out, &outl, DSSH_CRYPTO_MAX_TAG) != 1 ||
	    outl != s->mac_len)
		return DSSH_ERR_LIBCRYPTO;
	return 0;
}

static int
mac_compute(struct ossl_sa *s, uint32_t seq, const uint8_t *data, size_t len, uint8_t *out)
{
#ifdef OSSL_HAVE_UMAC
	if (s->umac != NULL)
		return dssh_umac_mac(s->umac, seq, data, len, out);
#endif
	return hmac_compute(s, seq, data, len, out);
}

static int
gcm_seal(struct ossl_sa *s, uint8_t *pkt, uint32_t len)
{
	uint8_t fin[16];
	int outl;

	if (EVP_CipherInit_ex2(s->cipher, NULL, NULL, s->iv, 1, NULL) != 1 ||
	    EVP_CipherUpdate(s->cipher, NULL, &outl, pkt, 4) != 1 ||
	    EVP_CipherUpdate(s->cipher, pkt + 4, &outl, pkt + 4, (int)(len - 4)) != 1 ||
	    EVP_CipherFinal_ex(s->cipher, fin, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(s->cipher, EVP_CTRL_AEAD_GET_TAG, 16, pkt + len) != 1)
		return DSSH_ERR_LIBCRYPTO;
	dssh_crypto_gcm_iv_inc(s->iv);
	return 0;
}

static int
gcm_open(struct ossl_sa *s, uint8_t *pkt, uint32_t len)
{
	uint8_t fin[16];
	int outl;

	if (EVP_CipherInit_ex2(s->cipher, NULL, NULL, s->iv, 0, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(s->cipher, EVP_CTRL_AEAD_SET_TAG, 16, pkt + len) != 1 ||
	    EVP_CipherUpdate(s->cipher, NULL, &outl, pkt, 4) != 1 ||
	    EVP_CipherUpdate(s->cipher, pkt + 4, &outl, pkt + 4, (int)(len - 4)) != 1)
		return DSSH_ERR_LIBCRYPTO;
	dssh_crypto_gcm_iv_inc(s->iv);
	if (EVP_CipherFinal_ex(s->cipher, fin, &outl) != 1)
		return DSSH_ERR_MAC_INVALID;
	return 0;
}

static int
ctr_crypt(struct ossl_sa *s, uint8_t *p, uint32_t n)
{
	int outl;

	if (EVP_CipherUpdate(s->cipher, p, &outl, p, (int)n) != 1)
		return DSSH_ERR_LIBCRYPTO;
	dssh_crypto_ctr_add(s->iv, n / 16);
	return 0;
}

static int
ctr_seal(struct ossl_sa *s, uint8_t *pkt, uint32_t len, uint32_t seq)
{
	int r;

	if (s->kind == OSSL_CTR_ETM) {
		if ((r = ctr_crypt(s, pkt + 4, len - 4)) != 0 ||
		    (r = mac_compute(s, seq, pkt, len, pkt + len)) != 0)
			return r;
	} else {
		if ((r = mac_compute(s, seq, pkt, len, pkt + len)) != 0 ||
		    (r = ctr_crypt(s, pkt, len)) != 0)
			return r;
	}
	return 0;
}

static int
ctr_open(struct ossl_sa *s, uint8_t *pkt, uint32_t len, uint32_t seq)
{
	uint8_t mac[DSSH_CRYPTO_MAX_TAG];
	int r;

	if (s->kind == OSSL_CTR_ETM) {
		if ((r = mac_compute(s, seq, pkt, len, mac)) != 0)
			return r;
		if (CRYPTO_memcmp(mac, pkt + len, s->mac_len) != 0)
			return DSSH_ERR_MAC_INVALID;
		return ctr_crypt(s, pkt + 4, len - 4);
	}
	if ((r = ctr_crypt(s, pkt, len)) != 0 ||
	    (r = mac_compute(s, seq, pkt, len, mac)) != 0)
		return r;
	if (CRYPTO_memcmp(mac, pkt + len, s->mac_len) != 0)
		return DSSH_ERR_MAC_INVALID;
	return 0;
}

/* Packet shape the mode needs; nothing has been touched when this fails. */
static int
check_len(const struct ossl_sa *s, uint32_t len)
{
	if (len < 4 || len > OSSL_MAX_LEN)
		return DSSH_ERR_INVALID_ARGUMENT;
	switch (s->kind) {
	case OSSL_NONE:
		return 0;
	case OSSL_GCM:
	case OSSL_CTR_ETM:
		return (len - 4) % 16 == 0 ? 0 : DSSH_ERR_INVALID_ARGUMENT;
	case OSSL_CHACHA:
		return (len - 4) % 8 == 0 ? 0 : DSSH_ERR_INVALID_ARGUMENT;
	case OSSL_CTR_CLASSIC:
		return len % 16 == 0 ? 0 : DSSH_ERR_INVALID_ARGUMENT;
	}
	return DSSH_ERR_INTERNAL;
}

static int
ossl_do_op(struct dssh_crypto_engine *e, struct dssh_crypto_op *op)
{
	struct ossl_sa *s;
	int r;

	if (op->sa == NULL || op->sa->engine != e || op->pkt == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	s = op->sa->priv;
	if ((r = check_len(s, op->len)) != 0)
		return r;
	if (s->enc) {
		switch (s->kind) {
		case OSSL_NONE:
			return 0;
		case OSSL_GCM:
			return gcm_seal(s, op->pkt, op->len);
		case OSSL_CHACHA:
			return dssh_chachapoly_seal(s->chacha, op->seq, op->pkt, op->len);
		case OSSL_CTR_ETM:
		case OSSL_CTR_CLASSIC:
			return ctr_seal(s, op->pkt, op->len, op->seq);
		}
		return DSSH_ERR_INTERNAL;
	}
	switch (s->kind) {
	case OSSL_NONE:
		return 0;
	case OSSL_GCM:
		r = gcm_open(s, op->pkt, op->len);
		break;
	case OSSL_CHACHA:
		r = dssh_chachapoly_open(s->chacha, op->seq, op->pkt, op->len);
		break;
	case OSSL_CTR_ETM:
	case OSSL_CTR_CLASSIC:
		r = ctr_open(s, op->pkt, op->len, op->seq);
		break;
	default:
		r = DSSH_ERR_INTERNAL;
		break;
	}
	/* Never hand out unauthenticated plaintext. */
	if (r != 0) {
		OPENSSL_cleanse(op->pkt, op->len);
		ERR_clear_error();
	}
	return r;
}

static unsigned
ossl_submit(struct dssh_crypto_engine *e, struct dssh_crypto_op **ops, unsigned n)
{
	struct ossl_engine *pe = e->priv;
	unsigned i;

	if (n > pe->cap - pe->count)
		n = pe->cap - pe->count;
	for (i = 0; i < n; i++) {
		ops[i]->status = ossl_do_op(e, ops[i]);
		pe->fifo[(pe->head + pe->count) % pe->cap] = ops[i];
		pe->count++;
	}
	return n;
}

static unsigned
ossl_complete(struct dssh_crypto_engine *e, struct dssh_crypto_op **ops, unsigned max)
{
	struct ossl_engine *pe = e->priv;
	unsigned i, n = DSSH_MIN(max, pe->count);

	for (i = 0; i < n; i++) {
		ops[i] = pe->fifo[pe->head];
		pe->head = (pe->head + 1) % pe->cap;
	}
	pe->count -= n;
	return n;
}

const struct dssh_crypto_engine_ops dssh_crypto_openssl_ops = {
	.name = "openssl",
	.engine_priv_size = sizeof(struct ossl_engine),
	.sa_priv_size = sizeof(struct ossl_sa),
	.engine_init = ossl_engine_init,
	.engine_fini = ossl_engine_fini,
	.sa_init = ossl_sa_init,
	.sa_fini = ossl_sa_fini,
	.peek_length = ossl_peek_length,
	.peek_length_at = ossl_peek_length_at,
	.submit = ossl_submit,
	.complete = ossl_complete,
};
