/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * UMAC (RFC 4418) with AES-128, tag lengths 8 (UMAC-64) and 16 (UMAC-128),
 * written from the RFC's pseudocode. AES comes from OpenSSL (EVP AES-128-ECB,
 * used only for the KDF at key set-up and for the PDF per tag).
 *
 * Word conventions (RFC 4418 section 5): key material from the KDF is read
 * as big-endian words; NH reads the message as little-endian 32-bit words.
 *
 * Messages whose first-level hash exceeds 2^14 bytes (i.e. messages over
 * 2 MiB) need the 128-bit POLY step of L2-HASH; SSH packets never come
 * near that, so it is not implemented and such messages are refused.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dssh_err.h"
#include "dssh_util.h"
#include "umac.h"

#define UMAC_MAX_ITERS 4                       /* taglen 16 / 4 */
#define UMAC_L1_KEY_WORDS (256 + 4 * (UMAC_MAX_ITERS - 1))
#define UMAC_MAX_MSG (2u * 1024 * 1024)        /* 2^11 chunks of 1024 */

#define P36 ((UINT64_C(1) << 36) - 5)
#define P64 (UINT64_C(0xFFFFFFFFFFFFFFFF) - 58)  /* 2^64 - 59 */

__extension__ typedef unsigned __int128 umac_u128;

struct dssh_umac {
	size_t taglen;
	unsigned iters;
	uint32_t l1key[UMAC_L1_KEY_WORDS];
	uint64_t l2key[UMAC_MAX_ITERS];            /* k64, masked */
	uint64_t l3key1[UMAC_MAX_ITERS][8];        /* mod p36 */
	uint32_t l3key2[UMAC_MAX_ITERS];
	EVP_CIPHER_CTX *pdf;                       /* AES-128 under K' */
	/* UMAC-64: one AES block gives pads for two nonces */
	uint8_t pad_nonce[16];
	uint8_t pad_block[16];
	int pad_valid;
};

static inline uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static inline uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static int
aes_ecb(EVP_CIPHER_CTX *c, const uint8_t in[16], uint8_t out[16])
{
	int ol = 0;

	if (EVP_EncryptUpdate(c, out, &ol, in, 16) != 1 || ol != 16)
		return DSSH_ERR_LIBCRYPTO;
	return 0;
}

/* KDF(K, index, numbytes): AES_K(uint64 index || uint64 i), i = 1, 2, ... */
static int
kdf(EVP_CIPHER_CTX *c, uint64_t index, uint8_t *out, size_t n)
{
	uint8_t in[16], blk[16];
	uint64_t i;
	size_t off = 0, k;
	int r;

	for (i = 1; off < n; i++) {
		for (k = 0; k < 8; k++) {
			in[k] = (uint8_t)(index >> (56 - 8 * k));
			in[8 + k] = (uint8_t)(i >> (56 - 8 * k));
		}
		if ((r = aes_ecb(c, in, blk)) != 0)
			return r;
		k = DSSH_MIN(n - off, sizeof(blk));
		memcpy(out + off, blk, k);
		off += k;
	}
	dssh_wipe(blk, sizeof(blk));
	return 0;
}

static EVP_CIPHER_CTX *
aes_new(const uint8_t key[16])
{
	EVP_CIPHER_CTX *c;

	if ((c = EVP_CIPHER_CTX_new()) == NULL)
		return NULL;
	if (EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, key, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c, 0) != 1) {
		EVP_CIPHER_CTX_free(c);
		return NULL;
	}
	return c;
}

int
dssh_umac_new(const uint8_t key[16], size_t taglen, struct dssh_umac **out)
{
	struct dssh_umac *u = NULL;
	EVP_CIPHER_CTX *kc = NULL;
	uint8_t buf[UMAC_L1_KEY_WORDS * 4], kp[16];
	unsigned i, j;
	int r = DSSH_ERR_LIBCRYPTO;

	if (out == NULL || key == NULL || (taglen != 8 && taglen != 16))
		return DSSH_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return DSSH_ERR_ALLOC;
	u->taglen = taglen;
	u->iters = (unsigned)(taglen / 4);
	if ((kc = aes_new(key)) == NULL)
		goto out;
	/* L1: 1024 + (iters - 1) * 16 bytes */
	if ((r = kdf(kc, 1, buf, 1024 + (u->iters - 1) * 16)) != 0)
		goto out;
	for (i = 0; i < 256 + 4 * (u->iters - 1); i++)
		u->l1key[i] = be32(buf + 4 * i);
	/* L2: 24 bytes per iteration; only the 64-bit part is used */
	if ((r = kdf(kc, 2, buf, u->iters * 24)) != 0)
		goto out;
	for (i = 0; i < u->iters; i++)
		u->l2key[i] = be64(buf + 24 * i) & UINT64_C(0x01FFFFFF01FFFFFF);
	if ((r = kdf(kc, 3, buf, u->iters * 64)) != 0)
		goto out;
	for (i = 0; i < u->iters; i++)
		for (j = 0; j < 8; j++)
			u->l3key1[i][j] = be64(buf + 64 * i + 8 * j) % P36;
	if ((r = kdf(kc, 4, buf, u->iters * 4)) != 0)
		goto out;
	for (i = 0; i < u->iters; i++)
		u->l3key2[i] = be32(buf + 4 * i);
	/* PDF key K' = KDF(K, 0, 16) */
	if ((r = kdf(kc, 0, kp, sizeof(kp))) != 0)
		goto out;
	if ((u->pdf = aes_new(kp)) == NULL) {
		r = DSSH_ERR_LIBCRYPTO;
		goto out;
	}
	*out = u;
	u = NULL;
	r = 0;
 out:
	dssh_wipe(buf, sizeof(buf));
	dssh_wipe(kp, sizeof(kp));
	EVP_CIPHER_CTX_free(kc);
	dssh_umac_free(u);
	return r;
}

void
dssh_umac_free(struct dssh_umac *u)
{
	if (u == NULL)
		return;
	EVP_CIPHER_CTX_free(u->pdf);
	dssh_freezero(u, sizeof(*u));
}

/* NH over one zero-padded chunk (a multiple of 32 bytes), all iterations at
 * once: iteration i uses the key shifted by 4 words (16 bytes). */
static void
nh(const struct dssh_umac *u, const uint8_t *m, size_t n, uint64_t *y)
{
	size_t b, j;
	unsigned it;
	uint32_t mw[8];

	for (it = 0; it < u->iters; it++)
		y[it] = 0;
	for (b = 0; b < n; b += 32) {
		const uint32_t *k = u->l1key + b / 4;

		for (j = 0; j < 8; j++)
			mw[j] = le32(m + b + 4 * j);
		for (it = 0; it < u->iters; it++) {
			const uint32_t *ki = k + 4 * it;
			uint64_t s = 0;

			for (j = 0; j < 4; j++)
				s += (uint64_t)(uint32_t)(mw[j] + ki[j]) *
				    (uint64_t)(uint32_t)(mw[j + 4] + ki[j + 4]);
			y[it] += s;
		}
	}
}

static inline uint64_t
poly64_step(uint64_t k, uint64_t y, uint64_t m)
{
	umac_u128 t = (umac_u128)k * y + m;

	return (uint64_t)(t % P64);
}

static uint64_t
poly64(uint64_t k, uint64_t y, uint64_t m)
{
	/* maxwordrange 2^64 - 2^32; marker p - 1; offset 59 */
	if (m >= UINT64_C(0xFFFFFFFF00000000)) {
		y = poly64_step(k, y, P64 - 1);
		return poly64_step(k, y, m - 59);
	}
	return poly64_step(k, y, m);
}

static uint32_t
l3(const struct dssh_umac *u, unsigned it, uint64_t v)
{
	uint64_t y = 0;
	unsigned i;

	/* M = zeroes(8) || uint2str(v, 8): the first four 16-bit words are 0 */
	for (i = 0; i < 4; i++)
		y += ((v >> (48 - 16 * i)) & 0xffff) * u->l3key1[it][4 + i];
	return (uint32_t)(y % P36) ^ u->l3key2[it];
}

static int
uhash(const struct dssh_umac *u, const uint8_t *msg, size_t len, uint8_t *out)
{
	uint64_t a[UMAC_MAX_ITERS], poly[UMAC_MAX_ITERS];
	uint8_t pad[1024];
	size_t off = 0, n;
	unsigned it;
	uint32_t h;

	if (len > UMAC_MAX_MSG)
		return DSSH_ERR_INVALID_ARGUMENT;
	for (it = 0; it < u->iters; it++)
		poly[it] = 1;
	do {
		n = DSSH_MIN(len - off, (size_t)1024);
		if (n == 1024 || (n % 32 == 0 && n != 0)) {
			nh(u, msg + off, n, a);
		} else {
			size_t padded = n == 0 ? 32 : (n + 31) / 32 * 32;

			memcpy(pad, msg + off, n);
			memset(pad + n, 0, padded - n);
			nh(u, pad, padded, a);
		}
		for (it = 0; it < u->iters; it++) {
			a[it] += (uint64_t)n * 8;
			if (len > 1024)
				poly[it] = poly64(u->l2key[it], poly[it], a[it]);
		}
		off += n;
	} while (off < len);
	for (it = 0; it < u->iters; it++) {
		h = l3(u, it, len > 1024 ? poly[it] : a[it]);
		out[4 * it] = (uint8_t)(h >> 24);
		out[4 * it + 1] = (uint8_t)(h >> 16);
		out[4 * it + 2] = (uint8_t)(h >> 8);
		out[4 * it + 3] = (uint8_t)h;
	}
	dssh_wipe(pad, sizeof(pad));
	return 0;
}

static int
pdf(struct dssh_umac *u, const uint8_t *nonce, size_t nlen, uint8_t *out)
{
	uint8_t nb[16];
	unsigned index = 0;
	int r;

	memset(nb, 0, sizeof(nb));
	memcpy(nb, nonce, nlen);
	if (u->taglen == 8) {
		/* index = nonce mod 2, then cleared from the nonce */
		index = nb[nlen - 1] & 1;
		nb[nlen - 1] &= 0xfe;
	}
	if (!u->pad_valid || memcmp(nb, u->pad_nonce, 16) != 0) {
		if ((r = aes_ecb(u->pdf, nb, u->pad_block)) != 0) {
			u->pad_valid = 0;
			return r;
		}
		memcpy(u->pad_nonce, nb, 16);
		u->pad_valid = 1;
	}
	memcpy(out, u->pad_block + index * u->taglen, u->taglen);
	return 0;
}

int
dssh_umac_compute(struct dssh_umac *u, const uint8_t *msg, size_t len,
    const uint8_t *nonce, size_t nonce_len, uint8_t *tag)
{
	uint8_t h[16], p[16];
	size_t i;
	int r;

	if (u == NULL || tag == NULL || nonce == NULL || nonce_len < 1 || nonce_len > 16 ||
	    (msg == NULL && len != 0))
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((r = uhash(u, msg, len, h)) != 0 || (r = pdf(u, nonce, nonce_len, p)) != 0)
		goto out;
	for (i = 0; i < u->taglen; i++)
		tag[i] = h[i] ^ p[i];
 out:
	dssh_wipe(h, sizeof(h));
	dssh_wipe(p, sizeof(p));
	return r;
}

int
dssh_umac_mac(struct dssh_umac *u, uint32_t seq, const uint8_t *msg, size_t len, uint8_t *tag)
{
	uint8_t nonce[8] = { 0 };

	nonce[4] = (uint8_t)(seq >> 24);
	nonce[5] = (uint8_t)(seq >> 16);
	nonce[6] = (uint8_t)(seq >> 8);
	nonce[7] = (uint8_t)seq;
	return dssh_umac_compute(u, msg, len, nonce, sizeof(nonce), tag);
}
