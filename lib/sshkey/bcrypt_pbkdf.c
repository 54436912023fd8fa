/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bcrypt_pbkdf, the KDF of passphrase-protected openssh-key-v1 files
 * (OpenSSH PROTOCOL.key, kdfname "bcrypt"), written from its description:
 * a PBKDF2-like loop whose PRF is "bcrypt_hash": Blowfish's expensive key
 * schedule (eksblowfish, Provos & Mazieres) keyed with SHA-512(passphrase)
 * and SHA-512(salt || counter), 64 rounds, then used to encrypt the 32-byte
 * string "OxychromaticBlowfishSwatDynamite" 64 times. Output bytes are
 * spread over the key with a stride so that every round counts for all of
 * the key.
 *
 * Blowfish's initial P-array and S-boxes are the fractional hexadecimal
 * digits of pi (Schneier): they are computed here once, at first use,
 * with OpenSSL BIGNUM and Machin's formula rather than carried as a table.
 *
 * Blowfish's S-box lookups depend on the key (here, the passphrase hash):
 * like every bcrypt implementation this is not free of cache-timing
 * leaks; it runs once on the client's own machine, with no network peer
 * timing it.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "dssh_err.h"
#include "dssh_util.h"
#include "sshkey_int.h"

#define BF_ROUNDS 16
#define BF_P 18
#define BF_WORDS (BF_P + 4 * 256)                   /* 1042 words of pi */
#define PI_BITS (32 * BF_WORDS)
#define PI_GUARD 64                                 /* bits for truncation error */
#define BCRYPT_WORDS 8                              /* 32-byte hash output */
#define BCRYPT_HASHSIZE (4 * BCRYPT_WORDS)

struct blf {
	uint32_t p[BF_P];
	uint32_t s[4][256];
};

static uint32_t pi_words[BF_WORDS];
static pthread_once_t pi_once = PTHREAD_ONCE_INIT;
static int pi_err = DSSH_ERR_INTERNAL;

/*
 * sum += or -= floor(2^prec / x) terms of arctan(1/x) = sum_k (-1)^k /
 * ((2k+1) x^(2k+1)), each truncated: a few thousand ulps of error at most,
 * which PI_GUARD bits absorb.
 */
static int
arctan_inv(BIGNUM *sum, unsigned x, int prec)
{
	BIGNUM *term = BN_new(), *t = BN_new();
	int ok = 0;

	if (term == NULL || t == NULL || !BN_set_bit(term, prec) ||
	    BN_div_word(term, x) == (BN_ULONG)-1)
		goto out;
	BN_zero(sum);
	for (unsigned long k = 0; !BN_is_zero(term); k++) {
		if (BN_copy(t, term) == NULL || BN_div_word(t, 2 * k + 1) == (BN_ULONG)-1)
			goto out;
		if (!((k & 1) == 0 ? BN_add(sum, sum, t) : BN_sub(sum, sum, t)))
			goto out;
		if (BN_div_word(term, (BN_ULONG)x * x) == (BN_ULONG)-1)
			goto out;
	}
	ok = 1;
out:
	BN_free(term);
	BN_free(t);
	return ok;
}

/* pi = 16 arctan(1/5) - 4 arctan(1/239); keep the fraction's first bits. */
static void
compute_pi(void)
{
	const int prec = PI_BITS + PI_GUARD;
	BIGNUM *a = BN_new(), *b = BN_new();
	uint8_t bytes[4 * BF_WORDS];

	if (a == NULL || b == NULL || !arctan_inv(a, 5, prec) || !arctan_inv(b, 239, prec) ||
	    !BN_lshift(a, a, 4) || !BN_lshift(b, b, 2) || !BN_sub(a, a, b) ||
	    !BN_mask_bits(a, prec) ||                   /* drop the integer part 3 */
	    !BN_rshift(a, a, PI_GUARD) || BN_bn2binpad(a, bytes, sizeof(bytes)) < 0)
		goto out;
	for (size_t i = 0; i < BF_WORDS; i++)
		pi_words[i] = dssh_get_u32be(bytes + 4 * i);
	pi_err = 0;
out:
	BN_free(a);
	BN_free(b);
}

int
dssh_bcrypt_pi_words(const uint32_t **wordsp, size_t *np)
{
	pthread_once(&pi_once, compute_pi);
	if (pi_err != 0)
		return pi_err;
	*wordsp = pi_words;
	*np = BF_WORDS;
	return 0;
}

static inline uint32_t
bf_f(const struct blf *c, uint32_t x)
{
	return ((c->s[0][x >> 24] + c->s[1][(x >> 16) & 0xff]) ^ c->s[2][(x >> 8) & 0xff]) +
	    c->s[3][x & 0xff];
}

static void
bf_encipher(const struct blf *c, uint32_t *xl, uint32_t *xr)
{
	uint32_t l = *xl, r = *xr, t;

	for (int i = 0; i < BF_ROUNDS; i++) {
		l ^= c->p[i];
		r ^= bf_f(c, l);
		t = l;
		l = r;
		r = t;
	}
	/* Undo the last swap, then the output whitening. */
	t = l;
	l = r;
	r = t;
	r ^= c->p[BF_ROUNDS];
	l ^= c->p[BF_ROUNDS + 1];
	*xl = l;
	*xr = r;
}

/* The next 4 bytes of data, big endian, cycling over it. */
static uint32_t
stream_word(const uint8_t *data, size_t len, size_t *pos)
{
	uint32_t w = 0;

	for (int i = 0; i < 4; i++) {
		if (*pos >= len)
			*pos = 0;
		w = (w << 8) | data[(*pos)++];
	}
	return w;
}

static void
bf_init(struct blf *c)
{
	memcpy(c->p, pi_words, sizeof(c->p));
	memcpy(c->s, pi_words + BF_P, sizeof(c->s));
}

/*
 * Key the P-array, then rewrite P and S with the running encryption;
 * with data != NULL (the "expandstate" of eksblowfish) each block is
 * first XORed with the data's next 8 bytes (the salt).
 */
static void
bf_expand(struct blf *c, const uint8_t *data, size_t dlen, const uint8_t *key, size_t klen)
{
	uint32_t l = 0, r = 0;
	size_t kpos = 0, dpos = 0;

	for (int i = 0; i < BF_P; i++)
		c->p[i] ^= stream_word(key, klen, &kpos);
	for (int i = 0; i < BF_P; i += 2) {
		if (data != NULL) {
			l ^= stream_word(data, dlen, &dpos);
			r ^= stream_word(data, dlen, &dpos);
		}
		bf_encipher(c, &l, &r);
		c->p[i] = l;
		c->p[i + 1] = r;
	}
	for (int s = 0; s < 4; s++)
		for (int i = 0; i < 256; i += 2) {
			if (data != NULL) {
				l ^= stream_word(data, dlen, &dpos);
				r ^= stream_word(data, dlen, &dpos);
			}
			bf_encipher(c, &l, &r);
			c->s[s][i] = l;
			c->s[s][i + 1] = r;
		}
}

static void
bcrypt_hash(struct blf *c, const uint8_t pass[SHA512_DIGEST_LENGTH],
    const uint8_t salt[SHA512_DIGEST_LENGTH], uint8_t out[BCRYPT_HASHSIZE])
{
	static const char magic[] = "OxychromaticBlowfishSwatDynamite";
	uint32_t cdata[BCRYPT_WORDS];
	size_t pos = 0;

	bf_init(c);
	bf_expand(c, salt, SHA512_DIGEST_LENGTH, pass, SHA512_DIGEST_LENGTH);
	for (int i = 0; i < 64; i++) {
		bf_expand(c, NULL, 0, salt, SHA512_DIGEST_LENGTH);
		bf_expand(c, NULL, 0, pass, SHA512_DIGEST_LENGTH);
	}
	for (int i = 0; i < BCRYPT_WORDS; i++)
		cdata[i] = stream_word((const uint8_t *)magic, BCRYPT_HASHSIZE, &pos);
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < BCRYPT_WORDS; j += 2)
			bf_encipher(c, &cdata[j], &cdata[j + 1]);
	/* Each word little endian: bcrypt_pbkdf's (historical) byte order. */
	for (int i = 0; i < BCRYPT_WORDS; i++) {
		out[4 * i] = (uint8_t)cdata[i];
		out[4 * i + 1] = (uint8_t)(cdata[i] >> 8);
		out[4 * i + 2] = (uint8_t)(cdata[i] >> 16);
		out[4 * i + 3] = (uint8_t)(cdata[i] >> 24);
	}
	dssh_wipe(cdata, sizeof(cdata));
}

int
dssh_bcrypt_pbkdf(const char *pass, size_t passlen, const uint8_t *salt, size_t saltlen,
    unsigned rounds, uint8_t *key, size_t keylen)
{
	uint8_t sha2pass[SHA512_DIGEST_LENGTH], sha2salt[SHA512_DIGEST_LENGTH];
	uint8_t out[BCRYPT_HASHSIZE], tmp[BCRYPT_HASHSIZE], cnt[4];
	struct blf *c = NULL;
	size_t stride, amt, left = keylen;
	EVP_MD_CTX *ctx = NULL;
	const uint32_t *w;
	size_t nw;
	int r;

	if ((pass == NULL && passlen > 0) || salt == NULL || key == NULL || rounds < 1 ||
	    saltlen == 0 || saltlen > DSSH_BCRYPT_MAX_SALT || keylen == 0 ||
	    keylen > BCRYPT_HASHSIZE * BCRYPT_HASHSIZE)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((r = dssh_bcrypt_pi_words(&w, &nw)) != 0)
		return r;
	if ((c = malloc(sizeof(*c))) == NULL || (ctx = EVP_MD_CTX_new()) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	stride = (keylen + BCRYPT_HASHSIZE - 1) / BCRYPT_HASHSIZE;
	amt = (keylen + stride - 1) / stride;
	SHA512((const uint8_t *)(pass != NULL ? pass : ""), passlen, sha2pass);
	for (uint32_t count = 1; left > 0; count++) {
		size_t i;

		dssh_put_u32be(cnt, count);
		if (EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) != 1 ||
		    EVP_DigestUpdate(ctx, salt, saltlen) != 1 ||
		    EVP_DigestUpdate(ctx, cnt, sizeof(cnt)) != 1 ||
		    EVP_DigestFinal_ex(ctx, sha2salt, NULL) != 1) {
			r = DSSH_ERR_LIBCRYPTO;
			goto out;
		}
		bcrypt_hash(c, sha2pass, sha2salt, tmp);
		memcpy(out, tmp, sizeof(out));
		for (unsigned n = 1; n < rounds; n++) {
			SHA512(tmp, sizeof(tmp), sha2salt);
			bcrypt_hash(c, sha2pass, sha2salt, tmp);
			for (size_t j = 0; j < sizeof(out); j++)
				out[j] ^= tmp[j];
		}
		/* Output byte i of this pass goes to key[i * stride + count - 1]. */
		amt = DSSH_MIN(amt, left);
		for (i = 0; i < amt; i++) {
			size_t dest = i * stride + (count - 1);

			if (dest >= keylen)
				break;
			key[dest] = out[i];
		}
		left -= i;
	}
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	dssh_wipe(sha2pass, sizeof(sha2pass));
	dssh_wipe(sha2salt, sizeof(sha2salt));
	dssh_wipe(out, sizeof(out));
	dssh_wipe(tmp, sizeof(tmp));
	if (c != NULL)
		dssh_freezero(c, sizeof(*c));
	return r;
}
