/* SPDX-License-Identifier: BSD-3-Clause */
/* chacha20-poly1305@openssh.com through OpenSSL EVP (see chachapoly.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "chachapoly.h"
#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_util.h"

struct dssh_chachapoly {
	EVP_CIPHER_CTX *main;     /* K_2: payload, Poly1305 key */
	EVP_CIPHER_CTX *hdr;      /* K_1: length */
	EVP_MAC_CTX *poly;        /* keyed per packet */
};

/* OpenSSL's 16-byte ChaCha20 IV is state words 12..15, little endian:
 * for OpenSSH's variant, a 64-bit block counter (0) then the 64-bit nonce. */
static void
chacha_iv(uint8_t iv[16], uint32_t seq)
{
	memset(iv, 0, 16);
	dssh_put_u64be(iv + 8, seq);
}

static int
cipher_ctx(EVP_CIPHER_CTX **out, EVP_CIPHER *c, const uint8_t *key)
{
	if ((*out = EVP_CIPHER_CTX_new()) == NULL)
		return DSSH_ERR_ALLOC;
	if (EVP_CipherInit_ex2(*out, c, key, NULL, 1, NULL) != 1)
		return DSSH_ERR_LIBCRYPTO;
	return 0;
}

int
dssh_chachapoly_new(const uint8_t key[64], struct dssh_chachapoly **out)
{
	struct dssh_chachapoly *c;
	EVP_CIPHER *cc = NULL;
	EVP_MAC *m = NULL;
	int r = DSSH_ERR_LIBCRYPTO;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return DSSH_ERR_ALLOC;
	if ((cc = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL)) == NULL ||
	    (m = EVP_MAC_fetch(NULL, "POLY1305", NULL)) == NULL)
		goto out;
	if ((r = cipher_ctx(&c->main, cc, key)) != 0 ||
	    (r = cipher_ctx(&c->hdr, cc, key + 32)) != 0)
		goto out;
	if ((c->poly = EVP_MAC_CTX_new(m)) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
 out:
	EVP_CIPHER_free(cc);
	EVP_MAC_free(m);
	if (r != 0)
		ERR_clear_error();
	dssh_chachapoly_free(c);
	return r;
}

void
dssh_chachapoly_free(struct dssh_chachapoly *c)
{
	if (c == NULL)
		return;
	EVP_CIPHER_CTX_free(c->main);     /* cleanses the key */
	EVP_CIPHER_CTX_free(c->hdr);
	EVP_MAC_CTX_free(c->poly);
	dssh_freezero(c, sizeof(*c));
}

/* iv set, poly_key = block 0 of K_2; the K_2 stream then sits at block 1. */
static int
poly_key(struct dssh_chachapoly *c, const uint8_t iv[16], uint8_t key[64])
{
	static const uint8_t zero[64];
	int outl;

	if (EVP_CipherInit_ex2(c->main, NULL, NULL, iv, 1, NULL) != 1 ||
	    EVP_CipherUpdate(c->main, key, &outl, zero, 64) != 1)
		return DSSH_ERR_LIBCRYPTO;
	return 0;
}

static int
poly_tag(struct dssh_chachapoly *c, const uint8_t key[64], const uint8_t *pkt, uint32_t len,
    uint8_t tag[16])
{
	size_t tagl;

	if (EVP_MAC_init(c->poly, key, 32, NULL) != 1 ||
	    EVP_MAC_update(c->poly, pkt, len) != 1 ||
	    EVP_MAC_final(c->poly, tag, &tagl, 16) != 1 || tagl != 16)
		return DSSH_ERR_LIBCRYPTO;
	return 0;
}

static int
crypt_hdr(struct dssh_chachapoly *c, const uint8_t iv[16], const uint8_t *in, uint8_t *out)
{
	int outl;

	if (EVP_CipherInit_ex2(c->hdr, NULL, NULL, iv, 1, NULL) != 1 ||
	    EVP_CipherUpdate(c->hdr, out, &outl, in, 4) != 1)
		return DSSH_ERR_LIBCRYPTO;
	return 0;
}

int
dssh_chachapoly_seal(struct dssh_chachapoly *c, uint32_t seq, uint8_t *pkt, uint32_t len)
{
	uint8_t iv[16], key[64];
	int outl, r;

	if (len < 4 || len > INT32_MAX)
		return DSSH_ERR_INVALID_ARGUMENT;
	chacha_iv(iv, seq);
	if ((r = poly_key(c, iv, key)) != 0)
		goto out;
	r = DSSH_ERR_LIBCRYPTO;
	if (EVP_CipherUpdate(c->main, pkt + 4, &outl, pkt + 4, (int)(len - 4)) != 1)
		goto out;
	if ((r = crypt_hdr(c, iv, pkt, pkt)) == 0)
		r = poly_tag(c, key, pkt, len, pkt + len);
 out:
	OPENSSL_cleanse(key, sizeof(key));
	if (r != 0)
		ERR_clear_error();
	return r;
}

int
dssh_chachapoly_open(struct dssh_chachapoly *c, uint32_t seq, uint8_t *pkt, uint32_t len)
{
	uint8_t iv[16], key[64], tag[16];
	int outl, r;

	if (len < 4 || len > INT32_MAX)
		return DSSH_ERR_INVALID_ARGUMENT;
	chacha_iv(iv, seq);
	if ((r = poly_key(c, iv, key)) != 0 ||
	    (r = poly_tag(c, key, pkt, len, tag)) != 0)
		goto out;
	if (CRYPTO_memcmp(tag, pkt + len, 16) != 0) {
		r = DSSH_ERR_MAC_INVALID;
		goto out;
	}
	r = DSSH_ERR_LIBCRYPTO;
	if (EVP_CipherUpdate(c->main, pkt + 4, &outl, pkt + 4, (int)(len - 4)) != 1)
		goto out;
	r = crypt_hdr(c, iv, pkt, pkt);
 out:
	OPENSSL_cleanse(key, sizeof(key));
	if (r != 0 && r != DSSH_ERR_MAC_INVALID)
		ERR_clear_error();
	return r;
}

int
dssh_chachapoly_length(struct dssh_chachapoly *c, uint32_t seq, const uint8_t wire[4],
    uint32_t *packet_length)
{
	uint8_t iv[16], pl[4];
	int r;

	chacha_iv(iv, seq);
	if ((r = crypt_hdr(c, iv, wire, pl)) != 0) {
		ERR_clear_error();
		return r;
	}
	*packet_length = dssh_get_u32be(pl);
	OPENSSL_cleanse(pl, sizeof(pl));
	return 0;
}
