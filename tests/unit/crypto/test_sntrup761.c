/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sntrup761: round trip, implicit rejection, lengths, and the NIST
 * known-answer test: the KAT generator's AES-256 CTR_DRBG (NIST's rng.c for
 * the PQC submissions: entropy 00..2f, then a 48-byte seed for count 0)
 * driving keypair and encapsulation; the SHA-256 of the generator's output
 * ("count = 0", seed, pk, sk, ct, ss in upper-case hex, one per line) is the
 * number PQClean publishes for sntrup761 (nistkat-sha256 in its META.yml),
 * which reproduces the round-3 submission's KAT file.
 */
#include <string.h>

#include <openssl/evp.h>

#include "dssh_err.h"
#include "dssh_sntrup761.h"
#include "dssh_test.h"

#define PK DSSH_SNTRUP761_PK_LEN
#define SK DSSH_SNTRUP761_SK_LEN
#define CT DSSH_SNTRUP761_CT_LEN
#define SS DSSH_SNTRUP761_SS_LEN

/* --- NIST PQC CTR_DRBG (AES-256, no derivation function) ---------------- */

struct drbg {
	uint8_t key[32];
	uint8_t v[16];
};

static void
aes256_block(const uint8_t key[32], const uint8_t in[16], uint8_t out[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;

	if (ctx == NULL || EVP_EncryptInit_ex(ctx, EVP_aes_256_ecb(), NULL, key, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &n, in, 16) != 1 || n != 16)
		abort();
	EVP_CIPHER_CTX_free(ctx);
}

static void
v_increment(uint8_t v[16])
{
	for (int j = 15; j >= 0; j--)
		if (++v[j] != 0)
			break;
}

static void
drbg_update(struct drbg *d, const uint8_t *provided)
{
	uint8_t tmp[48];

	for (int i = 0; i < 3; i++) {
		v_increment(d->v);
		aes256_block(d->key, d->v, tmp + 16 * i);
	}
	if (provided != NULL)
		for (int i = 0; i < 48; i++)
			tmp[i] ^= provided[i];
	memcpy(d->key, tmp, 32);
	memcpy(d->v, tmp + 32, 16);
}

static void
drbg_init(struct drbg *d, const uint8_t entropy[48])
{
	memset(d, 0, sizeof(*d));
	drbg_update(d, entropy);
}

static int
drbg_bytes(void *arg, uint8_t *out, size_t len)
{
	struct drbg *d = arg;
	uint8_t block[16];

	while (len > 0) {
		size_t n = len < 16 ? len : 16;

		v_increment(d->v);
		aes256_block(d->key, d->v, block);
		memcpy(out, block, n);
		out += n;
		len -= n;
	}
	drbg_update(d, NULL);
	return 0;
}

static void
hex_line(EVP_MD_CTX *md, const char *label, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789ABCDEF";
	char two[2];

	EVP_DigestUpdate(md, label, strlen(label));
	for (size_t i = 0; i < n; i++) {
		two[0] = hx[p[i] >> 4];
		two[1] = hx[p[i] & 15];
		EVP_DigestUpdate(md, two, 2);
	}
	EVP_DigestUpdate(md, "\n", 1);
}

static void
test_nist_kat(void)
{
	static const uint8_t want[32] = {
		0xaf, 0xc4, 0x2c, 0x3a, 0x5b, 0x10, 0xf4, 0xef, 0x69, 0x65, 0x42, 0x50,
		0x09, 0x7e, 0xbd, 0xa9, 0xb9, 0x56, 0x45, 0x70, 0xf4, 0x08, 0x67, 0x44,
		0xb2, 0x4a, 0x6d, 0xaf, 0x2b, 0xd1, 0xf8, 0x9a,
	};
	uint8_t entropy[48], seed[48], pk[PK], sk[SK], ct[CT], ss[SS], ss2[SS], got[32];
	struct drbg d;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned n = 0;

	for (int i = 0; i < 48; i++)
		entropy[i] = (uint8_t)i;
	drbg_init(&d, entropy);
	drbg_bytes(&d, seed, sizeof(seed));
	drbg_init(&d, seed);
	CHECK_EQ_INT(dssh_sntrup761_keypair_rng(pk, sk, drbg_bytes, &d), 0);
	CHECK_EQ_INT(dssh_sntrup761_enc_rng(ct, ss, pk, PK, drbg_bytes, &d), 0);
	CHECK_EQ_INT(dssh_sntrup761_dec(ss2, ct, CT, sk), 0);
	CHECK_MEM(ss, ss2, SS);

	CHECK(md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1);
	EVP_DigestUpdate(md, "count = 0\n", 10);
	hex_line(md, "seed = ", seed, sizeof(seed));
	hex_line(md, "pk = ", pk, PK);
	hex_line(md, "sk = ", sk, SK);
	hex_line(md, "ct = ", ct, CT);
	hex_line(md, "ss = ", ss, SS);
	CHECK(EVP_DigestFinal_ex(md, got, &n) == 1 && n == 32);
	EVP_MD_CTX_free(md);
	CHECK_MEM(got, want, 32);
	if (memcmp(got, want, 32) != 0) {
		fprintf(stderr, "kat sha256: ");
		for (int i = 0; i < 32; i++)
			fprintf(stderr, "%02x", got[i]);
		fprintf(stderr, "\n");
	}
}

static void
test_round_trip(void)
{
	uint8_t pk[PK], sk[SK], ct[CT], ct2[CT], ss[SS], ss2[SS], ss3[SS];

	for (int k = 0; k < 3; k++) {
		CHECK_EQ_INT(dssh_sntrup761_keypair(pk, sk), 0);
		/* The secret key carries the public key. */
		CHECK_MEM(sk + 2 * 191, pk, PK);
		CHECK_EQ_INT(dssh_sntrup761_enc(ct, ss, pk, PK), 0);
		CHECK_EQ_INT(dssh_sntrup761_dec(ss2, ct, CT, sk), 0);
		CHECK_MEM(ss, ss2, SS);
		/* A second encapsulation: a fresh ciphertext and key. */
		CHECK_EQ_INT(dssh_sntrup761_enc(ct2, ss3, pk, PK), 0);
		CHECK(memcmp(ct, ct2, CT) != 0);
		CHECK(memcmp(ss, ss3, SS) != 0);
		CHECK_EQ_INT(dssh_sntrup761_dec(ss2, ct2, CT, sk), 0);
		CHECK_MEM(ss3, ss2, SS);
	}
}

/*
 * A changed ciphertext decapsulates (no error) to a key unlike the sender's,
 * the same one every time (a function of rho and the ciphertext); a changed
 * rho changes it, and leaves valid ciphertexts alone.
 */
static void
test_implicit_rejection(void)
{
	uint8_t pk[PK], sk[SK], ct[CT], bad[CT], ss[SS], a[SS], b[SS], c[SS];
	size_t where[] = { 0, 500, 1006, 1007, CT - 1 };

	CHECK_EQ_INT(dssh_sntrup761_keypair(pk, sk), 0);
	CHECK_EQ_INT(dssh_sntrup761_enc(ct, ss, pk, PK), 0);
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		memcpy(bad, ct, CT);
		bad[where[i]] ^= 0x01;
		CHECK_EQ_INT(dssh_sntrup761_dec(a, bad, CT, sk), 0);
		CHECK_EQ_INT(dssh_sntrup761_dec(b, bad, CT, sk), 0);
		CHECK(memcmp(a, ss, SS) != 0);
		CHECK_MEM(a, b, SS);
		sk[2 * 191 + PK] ^= 0x80;       /* rho */
		CHECK_EQ_INT(dssh_sntrup761_dec(c, bad, CT, sk), 0);
		CHECK(memcmp(a, c, SS) != 0);
		CHECK_EQ_INT(dssh_sntrup761_dec(c, ct, CT, sk), 0);
		CHECK_MEM(c, ss, SS);
		sk[2 * 191 + PK] ^= 0x80;
	}
	/* All zeros and all ones are well-formed lengths: rejected keys. */
	memset(bad, 0, CT);
	CHECK_EQ_INT(dssh_sntrup761_dec(a, bad, CT, sk), 0);
	memset(bad, 0xff, CT);
	CHECK_EQ_INT(dssh_sntrup761_dec(b, bad, CT, sk), 0);
	CHECK(memcmp(a, b, SS) != 0);
	/* A ciphertext for another key pair is rejected, not decrypted. */
	{
		uint8_t pk2[PK], sk2[SK];

		CHECK_EQ_INT(dssh_sntrup761_keypair(pk2, sk2), 0);
		CHECK_EQ_INT(dssh_sntrup761_dec(a, ct, CT, sk2), 0);
		CHECK(memcmp(a, ss, SS) != 0);
	}
}

static int
rng_fail(void *arg, uint8_t *out, size_t len)
{
	(void)arg;
	memset(out, 0, len);
	return DSSH_ERR_LIBCRYPTO;
}

static void
test_lengths(void)
{
	uint8_t pk[PK + 1], sk[SK], ct[CT + 1], ss[SS];

	CHECK_EQ_INT(dssh_sntrup761_keypair(pk, sk), 0);
	pk[PK] = 0;
	CHECK_EQ_INT(dssh_sntrup761_enc(ct, ss, pk, PK - 1), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_sntrup761_enc(ct, ss, pk, PK + 1), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_sntrup761_enc(ct, ss, pk, 0), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_sntrup761_enc(ct, ss, NULL, PK), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_sntrup761_enc(ct, ss, pk, PK), 0);
	ct[CT] = 0;
	CHECK_EQ_INT(dssh_sntrup761_dec(ss, ct, CT - 1, sk), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_sntrup761_dec(ss, ct, CT + 1, sk), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_sntrup761_dec(ss, ct, 0, sk), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_sntrup761_dec(ss, NULL, CT, sk), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_sntrup761_dec(ss, ct, CT, NULL), DSSH_ERR_INVALID_ARGUMENT);
	/* A failing generator is an error, not a weak key. */
	CHECK_EQ_INT(dssh_sntrup761_keypair_rng(pk, sk, rng_fail, NULL), DSSH_ERR_LIBCRYPTO);
	CHECK_EQ_INT(dssh_sntrup761_enc_rng(ct, ss, pk, PK, rng_fail, NULL), DSSH_ERR_LIBCRYPTO);
}

/* Any 1158 bytes are a public key to encapsulate to (Decode reduces). */
static void
test_garbage_pk(void)
{
	uint8_t pk[PK], ct[CT], ss[SS];
	uint64_t s = 0x5eed;

	for (int k = 0; k < 3; k++) {
		for (int i = 0; i < PK; i++)
			pk[i] = (uint8_t)dssh_test_rand(&s);
		if (k == 1)
			memset(pk, 0xff, PK);
		CHECK_EQ_INT(dssh_sntrup761_enc(ct, ss, pk, PK), 0);
	}
}

int
main(void)
{
	DSSH_RUN(test_nist_kat);
	DSSH_RUN(test_round_trip);
	DSSH_RUN(test_implicit_rejection);
	DSSH_RUN(test_lengths);
	DSSH_RUN(test_garbage_pk);
	DSSH_TEST_END();
}
