/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_kex.h"
#include "dssh_mlkem.h"
#include "dssh_test.h"
#include "dssh_util.h"
#include "test_kex.h"

static const char *all_algs[] = {
	"mlkem768x25519-sha256",
	"curve25519-sha256", "curve25519-sha256@libssh.org",
	"ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
	"diffie-hellman-group14-sha256", "diffie-hellman-group16-sha512",
	"diffie-hellman-group18-sha512",
};

/* The raw value inside an encoded public value (string contents / mpint magnitude). */
static int
raw_of(const struct dssh_kex_alg *alg, const struct dssh_buf *enc, const uint8_t **p, size_t *n)
{
	struct dssh_buf b;
	int r;

	dssh_buf_from(&b, dssh_buf_ptr(enc), dssh_buf_len(enc));
	if (alg->pub_mpint)
		r = dssh_buf_get_mpint_direct(&b, p, n);
	else
		r = dssh_buf_get_string_direct(&b, p, n);
	if (r == 0 && dssh_buf_len(&b) != 0)
		r = DSSH_ERR_INVALID_FORMAT;
	return r;
}

static void
test_names(void)
{
	const char *names = dssh_kex_alg_names();
	size_t count = 1;

	CHECK(names != NULL);
	for (const char *p = names; *p; p++)
		count += *p == ',';
	/* + the two sntrup761x25519 names, tested in test_kex_sntrup761.c */
	CHECK_EQ_INT(count, DSSH_ARRAY_SIZE(all_algs) + 2);
	CHECK(strncmp(names, "mlkem768x25519-sha256,sntrup761x25519-sha512,"
	    "sntrup761x25519-sha512@openssh.com,curve25519-sha256,", 98) == 0);
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(all_algs); i++) {
		const struct dssh_kex_alg *alg = dssh_kex_alg_by_name(all_algs[i]);

		CHECK(alg != NULL);
		if (alg == NULL)
			continue;
		CHECK_STR(alg->name, all_algs[i]);
		CHECK(strstr(names, all_algs[i]) != NULL);
		CHECK(dssh_kex_alg_md(alg) != NULL);
		CHECK_EQ_INT(EVP_MD_get_size(dssh_kex_alg_md(alg)), alg->hash_len);
	}
	CHECK(dssh_kex_alg_by_name("diffie-hellman-group1-sha1") == NULL);
	CHECK(dssh_kex_alg_by_name("curve25519-sha256x") == NULL);
	CHECK(dssh_kex_alg_by_name("") == NULL);
	CHECK(dssh_kex_alg_by_name(NULL) == NULL);
	CHECK(dssh_kex_alg_md(NULL) == NULL);
}

/* One full exchange; returns 0 when both sides agreed. */
static int
exchange(const struct dssh_kex_alg *alg)
{
	struct dssh_kex_client *c = NULL;
	struct dssh_buf cpub, spub, ks, kc, view;
	const uint8_t *raw, *mag;
	size_t rawlen, maglen;
	int fails = dssh_test_failures;

	dssh_buf_init(&cpub, 0);
	dssh_buf_init(&spub, 0);
	dssh_buf_init(&ks, 0);
	dssh_buf_init(&kc, 0);
	CHECK_EQ_INT(dssh_kex_client_new(alg, &c), 0);
	if (c == NULL)
		goto out;
	CHECK_EQ_INT(dssh_kex_client_pub(c, &cpub), 0);
	CHECK_EQ_INT(raw_of(alg, &cpub, &raw, &rawlen), 0);
	if (alg->kind != DSSH_KEX_DH) {
		CHECK_EQ_INT(rawlen, alg->pub_len);
		if (alg->kind == DSSH_KEX_ECDH)
			CHECK_EQ_INT(raw[0], 0x04);
	} else {
		CHECK(rawlen <= alg->pub_len && rawlen > alg->pub_len - 8);
	}
	CHECK_EQ_INT(dssh_kex_server_reply(alg, raw, rawlen, &spub, &ks), 0);
	CHECK_EQ_INT(raw_of(alg, &spub, &raw, &rawlen), 0);
	if (alg->kind != DSSH_KEX_DH)
		CHECK_EQ_INT(rawlen, alg->reply_len);
	CHECK_EQ_INT(dssh_kex_client_finish(c, raw, rawlen, &kc), 0);
	CHECK(dssh_buf_len(&ks) > 4);
	CHECK_EQ_INT(dssh_buf_len(&ks), dssh_buf_len(&kc));
	if (dssh_buf_len(&ks) == dssh_buf_len(&kc))
		CHECK_MEM(dssh_buf_ptr(&ks), dssh_buf_ptr(&kc), dssh_buf_len(&ks));
	dssh_buf_from(&view, dssh_buf_ptr(&ks), dssh_buf_len(&ks));
	if (alg->k_string) {
		/* The hybrids: K is a string holding the 32-byte SHA-256 output. */
		CHECK_EQ_INT(dssh_buf_get_string_direct(&view, &mag, &maglen), 0);
		CHECK_EQ_INT(maglen, 32);
		CHECK_EQ_INT(dssh_buf_len(&view), 0);
		goto out;
	}
	/* K is a well-formed, minimal, positive mpint and nothing else. */
	CHECK_EQ_INT(dssh_buf_get_mpint_direct(&view, &mag, &maglen), 0);
	CHECK_EQ_INT(dssh_buf_len(&view), 0);
	CHECK(maglen > 0 && maglen <= (alg->kind == DSSH_KEX_ECDH ? (alg->pub_len - 1) / 2 :
	    alg->kind == DSSH_KEX_X25519 ? 32 : alg->pub_len));
out:
	dssh_kex_client_free(c);
	dssh_buf_free(&cpub);
	dssh_buf_free(&spub);
	dssh_buf_free(&ks);
	dssh_buf_free(&kc);
	return dssh_test_failures == fails ? 0 : -1;
}

static void
test_agree(void)
{
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(all_algs); i++) {
		const struct dssh_kex_alg *alg = dssh_kex_alg_by_name(all_algs[i]);
		int rounds = alg->kind == DSSH_KEX_DH ? 1 : 8;

		for (int j = 0; j < rounds; j++)
			if (exchange(alg) != 0)
				fprintf(stderr, "  exchange failed for %s\n", alg->name);
	}
}

/* Two runs give different server values and secrets (fresh ephemeral keys). */
static void
test_fresh(void)
{
	const struct dssh_kex_alg *alg = dssh_kex_alg_by_name("curve25519-sha256");
	struct dssh_kex_client *c = NULL;
	struct dssh_buf cpub, s1, s2, k1, k2;
	const uint8_t *raw;
	size_t rawlen;

	dssh_buf_init(&cpub, 0);
	dssh_buf_init(&s1, 0);
	dssh_buf_init(&s2, 0);
	dssh_buf_init(&k1, 0);
	dssh_buf_init(&k2, 0);
	CHECK_EQ_INT(dssh_kex_client_new(alg, &c), 0);
	CHECK_EQ_INT(dssh_kex_client_pub(c, &cpub), 0);
	CHECK_EQ_INT(raw_of(alg, &cpub, &raw, &rawlen), 0);
	CHECK_EQ_INT(dssh_kex_server_reply(alg, raw, rawlen, &s1, &k1), 0);
	CHECK_EQ_INT(dssh_kex_server_reply(alg, raw, rawlen, &s2, &k2), 0);
	CHECK(dssh_buf_len(&s1) == dssh_buf_len(&s2) &&
	    memcmp(dssh_buf_ptr(&s1), dssh_buf_ptr(&s2), dssh_buf_len(&s1)) != 0);
	CHECK(dssh_buf_len(&k1) != dssh_buf_len(&k2) ||
	    memcmp(dssh_buf_ptr(&k1), dssh_buf_ptr(&k2), dssh_buf_len(&k1)) != 0);
	dssh_kex_client_free(c);
	dssh_buf_free(&cpub);
	dssh_buf_free(&s1);
	dssh_buf_free(&s2);
	dssh_buf_free(&k1);
	dssh_buf_free(&k2);
}

/*
 * Independent check of K's encoding: the test plays the client with plain
 * EVP calls (X25519 key from RFC 7748 6.1, a fresh P-256 key) and expects
 * K = mpint(raw shared secret read big-endian).
 */
static void
check_k_encoding(const char *algname, EVP_PKEY *mine)
{
	const struct dssh_kex_alg *alg = dssh_kex_alg_by_name(algname);
	struct dssh_buf spub, k, want;
	uint8_t mypub[200], secret[80];
	size_t mylen = sizeof(mypub), slen = sizeof(secret), rawlen;
	const uint8_t *raw;
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;

	dssh_buf_init(&spub, 0);
	dssh_buf_init(&k, 0);
	dssh_buf_init(&want, 0);
	if (alg->kind == DSSH_KEX_X25519)
		CHECK(EVP_PKEY_get_raw_public_key(mine, mypub, &mylen) == 1);
	else
		CHECK(EVP_PKEY_get_octet_string_param(mine, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
		    mypub, sizeof(mypub), &mylen) == 1);
	CHECK_EQ_INT(mylen, alg->pub_len);
	CHECK_EQ_INT(dssh_kex_server_reply(alg, mypub, mylen, &spub, &k), 0);
	CHECK_EQ_INT(raw_of(alg, &spub, &raw, &rawlen), 0);
	if (alg->kind == DSSH_KEX_X25519) {
		peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, raw, rawlen);
	} else {
		peer = EVP_PKEY_new();
		CHECK(EVP_PKEY_copy_parameters(peer, mine) == 1);
		CHECK(EVP_PKEY_set1_encoded_public_key(peer, raw, rawlen) == 1);
	}
	CHECK(peer != NULL);
	ctx = EVP_PKEY_CTX_new(mine, NULL);
	CHECK(ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
	    EVP_PKEY_derive(ctx, secret, &slen) == 1);
	CHECK_EQ_INT(dssh_buf_put_mpint_bytes(&want, secret, slen), 0);
	CHECK_EQ_INT(dssh_buf_len(&k), dssh_buf_len(&want));
	CHECK_MEM(dssh_buf_ptr(&k), dssh_buf_ptr(&want), dssh_buf_len(&want));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	dssh_buf_free(&spub);
	dssh_buf_free(&k);
	dssh_buf_free(&want);
}

static void
test_k_encoding(void)
{
	uint8_t alice[32];
	EVP_PKEY *k;

	dssh_test_hex2bin("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
	    alice, sizeof(alice));
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, alice, sizeof(alice));
	CHECK(k != NULL);
	for (int i = 0; i < 4 && k != NULL; i++) {
		check_k_encoding("curve25519-sha256", k);
		check_k_encoding("curve25519-sha256@libssh.org", k);
	}
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	CHECK(k != NULL);
	if (k != NULL) {
		EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
		    "uncompressed");
		check_k_encoding("ecdh-sha2-nistp256", k);
	}
	EVP_PKEY_free(k);
}

static void
test_reject_ecx_ecdh(void)
{
	uint8_t v[2048];
	uint64_t seed = 0x1234567;

	for (size_t i = 0; i < DSSH_ARRAY_SIZE(all_algs); i++) {
		const struct dssh_kex_alg *alg = dssh_kex_alg_by_name(all_algs[i]);
		size_t L = alg->pub_len;

		if (alg->kind == DSSH_KEX_DH || alg->kind == DSSH_KEX_HYBRID)
			continue;
		memset(v, 0, sizeof(v));
		expect_reject(alg, NULL, 0, "empty");
		expect_reject(alg, v, L, "all zeros");
		expect_reject(alg, v, 1, "one byte");
		memset(v, 0x42, sizeof(v));
		v[0] = 0x04;
		expect_reject(alg, v, L - 1, "short");
		expect_reject(alg, v, L + 1, "long");
		expect_reject(alg, v, sizeof(v), "oversized");
		if (alg->kind == DSSH_KEX_X25519) {
			/* Small-order points: the X25519 output is all zeros. */
			memset(v, 0, L);
			v[0] = 1;
			expect_reject(alg, v, L, "order-1 point");
			dssh_test_hex2bin(
			    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
			    v, sizeof(v));
			expect_reject(alg, v, L, "order-8 point");
			dssh_test_hex2bin(
			    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
			    v, sizeof(v));
			expect_reject(alg, v, L, "order-8 point");
			continue;
		}
		/* ECDH: not on the curve, compressed, infinity. */
		for (int t = 0; t < 16; t++) {
			for (size_t j = 0; j < L; j++)
				v[j] = (uint8_t)dssh_test_rand(&seed);
			v[0] = 0x04;
			expect_reject(alg, v, L, "random point");
		}
		v[0] = 0x02;
		expect_reject(alg, v, (L - 1) / 2 + 1, "compressed point");
		expect_reject(alg, v, L, "bad prefix");
		v[0] = 0x00;
		expect_reject(alg, v, 1, "infinity");
	}
}

static void
test_reject_dh(void)
{
	static const char *dh[] = { "diffie-hellman-group14-sha256",
	    "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512" };
	uint8_t v[1100];

	for (size_t i = 0; i < DSSH_ARRAY_SIZE(dh); i++) {
		const struct dssh_kex_alg *alg = dssh_kex_alg_by_name(dh[i]);
		BIGNUM *p = alg->pub_len == 256 ? BN_get_rfc3526_prime_2048(NULL) :
		    alg->pub_len == 512 ? BN_get_rfc3526_prime_4096(NULL) :
		    BN_get_rfc3526_prime_8192(NULL);
		size_t L = alg->pub_len;
		uint8_t one = 1, two = 2;

		CHECK(p != NULL && (size_t)BN_num_bytes(p) == L);
		memset(v, 0, sizeof(v));
		expect_reject(alg, NULL, 0, "e = 0 (empty)");
		expect_reject(alg, v, 1, "e = 0");
		expect_reject(alg, v, L, "e = 0 (padded)");
		expect_reject(alg, &one, 1, "e = 1");
		BN_bn2binpad(p, v, (int)L);
		expect_reject(alg, v, L, "e = p");
		BN_sub_word(p, 1);
		BN_bn2binpad(p, v, (int)L);
		expect_reject(alg, v, L, "e = p - 1");
		memset(v, 0xff, sizeof(v));
		expect_reject(alg, v, L, "e > p");
		expect_reject(alg, v, L + 1, "oversized");
		expect_reject(alg, v, sizeof(v), "oversized");
		/* 2 = g is in range and a valid element: accepted. */
		{
			struct dssh_buf s, k;

			dssh_buf_init(&s, 0);
			dssh_buf_init(&k, 0);
			CHECK_EQ_INT(dssh_kex_server_reply(alg, &two, 1, &s, &k), 0);
			dssh_buf_free(&s);
			dssh_buf_free(&k);
		}
		/* p - 2: in range, but not in the prime-order subgroup. */
		BN_sub_word(p, 1);
		BN_bn2binpad(p, v, (int)L);
		expect_reject(alg, v, L, "e = p - 2 (not in subgroup)");
		BN_free(p);
	}
}

/*
 * mlkem768x25519-sha256: a client value of any other length than 1184 +
 * 32 is DSSH_ERR_INVALID_FORMAT before any work; an encapsulation key
 * with a coefficient >= q (FIPS 203 7.2) and small-order X25519 points
 * are refused too, and the output buffers stay as they were.
 */
static void
test_reject_hybrid(void)
{
	const struct dssh_kex_alg *alg = dssh_kex_alg_by_name("mlkem768x25519-sha256");
	static const size_t lens[] = { 0, 1, 32, 1184, 1215, 1217, 1088 + 32, 2432, 4096 };
	static uint8_t v[4096], sk[DSSH_MLKEM768_SK_LEN];
	struct dssh_buf spub, k;
	EVP_PKEY *x;
	size_t xl = 32;

	CHECK(alg != NULL && alg->kind == DSSH_KEX_HYBRID && alg->k_string && !alg->pub_mpint);
	CHECK_EQ_INT(alg->pub_len, 1216);
	CHECK_EQ_INT(alg->reply_len, 1120);
	memset(v, 0x42, sizeof(v));
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(lens); i++) {
		dssh_buf_init(&spub, 0);
		dssh_buf_init(&k, 0);
		CHECK_EQ_INT(dssh_kex_server_reply(alg, lens[i] ? v : NULL, lens[i], &spub, &k),
		    DSSH_ERR_INVALID_FORMAT);
		CHECK_EQ_INT(dssh_buf_len(&spub) + dssh_buf_len(&k), 0);
		dssh_buf_free(&spub);
		dssh_buf_free(&k);
	}
	/* A valid ML-KEM key and a valid X25519 value: accepted. */
	CHECK_EQ_INT(dssh_mlkem768_keypair(v, sk), 0);
	x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	CHECK(x != NULL && EVP_PKEY_get_raw_public_key(x, v + 1184, &xl) == 1);
	dssh_buf_init(&spub, 0);
	dssh_buf_init(&k, 0);
	CHECK_EQ_INT(dssh_kex_server_reply(alg, v, 1216, &spub, &k), 0);
	dssh_buf_free(&spub);
	dssh_buf_free(&k);
	/* Coefficient 0 of ek set to q = 0xd01. */
	uint8_t b0 = v[0], b1 = v[1];

	v[0] = 0x01;
	v[1] = (uint8_t)((v[1] & 0xf0) | 0x0d);
	expect_reject(alg, v, 1216, "ek coefficient q");
	v[0] = b0;
	v[1] = b1;
	memset(v + 1184, 0, 32);
	expect_reject(alg, v, 1216, "x25519 zero");
	v[1184] = 1;
	expect_reject(alg, v, 1216, "x25519 order-1 point");
	dssh_test_hex2bin("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	    v + 1184, 32);
	expect_reject(alg, v, 1216, "x25519 order-8 point");
	memset(v, 0xff, 1184);                      /* every coefficient 4095 */
	EVP_PKEY_get_raw_public_key(x, v + 1184, &xl);
	expect_reject(alg, v, 1216, "ek all 0xff");
	EVP_PKEY_free(x);
}

/*
 * Independent check of the hybrid's K: the test plays the client with the
 * ML-KEM primitives and plain EVP X25519 and expects
 * K = string(SHA-256(K_PQ || K_CL)) and S_REPLY = ciphertext || X25519.
 */
static void
test_hybrid_k(void)
{
	const struct dssh_kex_alg *alg = dssh_kex_alg_by_name("mlkem768x25519-sha256");
	static uint8_t cinit[1216], sk[DSSH_MLKEM768_SK_LEN];
	uint8_t kpq[32], kcl[32], cat[64], h[32];
	size_t xl = 32, kl = 32, rawlen;
	const uint8_t *raw;
	struct dssh_buf spub, k, want;
	EVP_PKEY *x = NULL, *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	unsigned n;

	dssh_buf_init(&spub, 0);
	dssh_buf_init(&k, 0);
	dssh_buf_init(&want, 0);
	CHECK_EQ_INT(dssh_mlkem768_keypair(cinit, sk), 0);
	x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	CHECK(x != NULL && EVP_PKEY_get_raw_public_key(x, cinit + 1184, &xl) == 1);
	CHECK_EQ_INT(dssh_kex_server_reply(alg, cinit, sizeof(cinit), &spub, &k), 0);
	CHECK_EQ_INT(raw_of(alg, &spub, &raw, &rawlen), 0);
	CHECK_EQ_INT(rawlen, 1120);
	if (rawlen == 1120) {
		CHECK_EQ_INT(dssh_mlkem768_decaps(kpq, raw, sk), 0);
		peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, raw + 1088, 32);
		ctx = EVP_PKEY_CTX_new(x, NULL);
		CHECK(peer != NULL && ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
		    EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
		    EVP_PKEY_derive(ctx, kcl, &kl) == 1 && kl == 32);
		memcpy(cat, kpq, 32);
		memcpy(cat + 32, kcl, 32);
		CHECK(EVP_Digest(cat, 64, h, &n, EVP_sha256(), NULL) == 1);
		CHECK_EQ_INT(dssh_buf_put_string(&want, h, 32), 0);
		CHECK_EQ_INT(dssh_buf_len(&k), 36);
		CHECK_MEM(dssh_buf_ptr(&k), dssh_buf_ptr(&want), 36);
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(x);
	dssh_buf_free(&spub);
	dssh_buf_free(&k);
	dssh_buf_free(&want);
}

static void
test_client_bad_server(void)
{
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(all_algs); i++) {
		const struct dssh_kex_alg *alg = dssh_kex_alg_by_name(all_algs[i]);
		struct dssh_kex_client *c = NULL;
		struct dssh_buf k;
		uint8_t v[1100];

		if (alg->kind == DSSH_KEX_DH && alg->pub_len > 256)
			continue;   /* one DH group is enough here */
		dssh_buf_init(&k, 0);
		CHECK_EQ_INT(dssh_kex_client_new(alg, &c), 0);
		memset(v, 0, sizeof(v));
		CHECK(dssh_kex_client_finish(c, v, alg->pub_len, &k) < 0);
		CHECK(dssh_kex_client_finish(c, NULL, 0, &k) < 0);
		memset(v, 0xff, sizeof(v));
		CHECK(dssh_kex_client_finish(c, v, alg->pub_len + 1, &k) < 0);
		CHECK(dssh_kex_client_finish(c, v, 3, &k) < 0 || alg->kind == DSSH_KEX_DH);
		CHECK_EQ_INT(dssh_buf_len(&k), 0);
		dssh_kex_client_free(c);
		dssh_buf_free(&k);
	}
	dssh_kex_client_free(NULL);
	CHECK_EQ_INT(dssh_kex_client_new(NULL, NULL), DSSH_ERR_INVALID_ARGUMENT);
}

static void
test_hash(void)
{
	const struct dssh_kex_alg *a256 = dssh_kex_alg_by_name("curve25519-sha256");
	const struct dssh_kex_alg *a512 = dssh_kex_alg_by_name("diffie-hellman-group16-sha512");
	const struct dssh_kex_alg *a384 = dssh_kex_alg_by_name("ecdh-sha2-nistp384");
	uint8_t out[DSSH_KEX_MAX_HASH], want[64];
	size_t outlen;
	struct dssh_buf b;

	dssh_buf_init(&b, 0);
	dssh_buf_put(&b, "abc", 3);
	outlen = sizeof(out);
	CHECK_EQ_INT(dssh_kex_hash(a256, &b, out, &outlen), 0);
	CHECK_EQ_INT(outlen, 32);
	dssh_test_hex2bin("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    want, 64);
	CHECK_MEM(out, want, 32);
	outlen = sizeof(out);
	CHECK_EQ_INT(dssh_kex_hash(a384, &b, out, &outlen), 0);
	CHECK_EQ_INT(outlen, 48);
	dssh_test_hex2bin("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
	    "8086072ba1e7cc2358baeca134c825a7", want, 64);
	CHECK_MEM(out, want, 48);
	outlen = sizeof(out);
	CHECK_EQ_INT(dssh_kex_hash(a512, &b, out, &outlen), 0);
	CHECK_EQ_INT(outlen, 64);
	dssh_test_hex2bin("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f", want, 64);
	CHECK_MEM(out, want, 64);
	outlen = 31;
	CHECK_EQ_INT(dssh_kex_hash(a256, &b, out, &outlen), DSSH_ERR_NO_BUFFER_SPACE);
	outlen = sizeof(out);
	CHECK_EQ_INT(dssh_kex_hash(NULL, &b, out, &outlen), DSSH_ERR_INVALID_ARGUMENT);
	dssh_buf_free(&b);
}

static void
test_derive(void)
{
	const struct dssh_kex_alg *a256 = dssh_kex_alg_by_name("ecdh-sha2-nistp256");
	const struct dssh_kex_alg *a512 = dssh_kex_alg_by_name("diffie-hellman-group16-sha512");
	uint8_t mag[64], H[64], sid[32], out[200], want[200], blk[64];
	struct dssh_buf K, cat;
	unsigned n;

	/* Known answers, computed separately. */
	for (int i = 0; i < 32; i++)
		mag[i] = (uint8_t)(i + 1);
	dssh_buf_init(&K, 0);
	CHECK_EQ_INT(dssh_buf_put_mpint_bytes(&K, mag, 32), 0);
	memset(H, 0xaa, 32);
	memset(sid, 0xbb, 32);
	CHECK_EQ_INT(dssh_kex_derive(a256, &K, H, 32, sid, 32, 'C', out, 40), 0);
	dssh_test_hex2bin("44f1d44e6cc53352a11e1f5994f21783c4e92ba512ed19e30a20e28431fe362a"
	    "18ab6c62752b70ad", want, sizeof(want));
	CHECK_MEM(out, want, 40);
	dssh_buf_free(&K);

	for (int i = 0; i < 64; i++)
		mag[i] = (uint8_t)(0x80 + i);   /* top bit set: mpint gets a 0x00 */
	dssh_buf_init(&K, 0);
	CHECK_EQ_INT(dssh_buf_put_mpint_bytes(&K, mag, 64), 0);
	CHECK_EQ_INT(dssh_buf_len(&K), 4 + 65);
	memset(H, 0x11, 64);
	memset(sid, 0x22, 32);
	CHECK_EQ_INT(dssh_kex_derive(a512, &K, H, 64, sid, 32, 'E', out, 100), 0);
	dssh_test_hex2bin("910124f3d71d9cfc019f26e01eec474246eee9e17ad5de467d04c525dba889b9"
	    "095e10f42de813c6ba99ddacd26b991b987a387afcdb07d20047afd5bca3977c"
	    "ef6331e08059eb3f1b09f18c12d857ac14fd6f777846f02924abc36811c226e6"
	    "421f458a", want, sizeof(want));
	CHECK_MEM(out, want, 100);

	/* The same expansion written out by hand with EVP_Digest. */
	dssh_buf_init(&cat, 0);
	dssh_buf_put(&cat, dssh_buf_ptr(&K), dssh_buf_len(&K));
	dssh_buf_put(&cat, H, 64);
	dssh_buf_put_u8(&cat, 'E');
	dssh_buf_put(&cat, sid, 32);
	CHECK(EVP_Digest(dssh_buf_ptr(&cat), dssh_buf_len(&cat), want, &n, EVP_sha512(), NULL));
	for (size_t have = 64; have < 200; have += 64) {
		dssh_buf_reset(&cat);
		dssh_buf_put(&cat, dssh_buf_ptr(&K), dssh_buf_len(&K));
		dssh_buf_put(&cat, H, 64);
		dssh_buf_put(&cat, want, have);
		CHECK(EVP_Digest(dssh_buf_ptr(&cat), dssh_buf_len(&cat), blk, &n, EVP_sha512(),
		    NULL));
		memcpy(want + have, blk, DSSH_MIN(64, 200 - have));
	}
	CHECK_EQ_INT(dssh_kex_derive(a512, &K, H, 64, sid, 32, 'E', out, 200), 0);
	CHECK_MEM(out, want, 200);
	/* Every length is a prefix of the longer output. */
	for (size_t need = 1; need <= 200; need += 13) {
		memset(out, 0, sizeof(out));
		CHECK_EQ_INT(dssh_kex_derive(a512, &K, H, 64, sid, 32, 'E', out, need), 0);
		CHECK_MEM(out, want, need);
		CHECK_EQ_INT(out[need < 200 ? need : 199], need < 200 ? 0 : want[199]);
	}
	/* Different letter, different key. */
	CHECK_EQ_INT(dssh_kex_derive(a512, &K, H, 64, sid, 32, 'F', out, 64), 0);
	CHECK(memcmp(out, want, 64) != 0);
	CHECK_EQ_INT(dssh_kex_derive(a512, &K, H, 64, sid, 32, 'E', out, 0), 0);
	CHECK_EQ_INT(dssh_kex_derive(NULL, &K, H, 64, sid, 32, 'E', out, 10),
	    DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_kex_derive(a512, &K, NULL, 0, sid, 32, 'E', out, 10),
	    DSSH_ERR_INVALID_ARGUMENT);
	dssh_buf_free(&cat);
	dssh_buf_free(&K);
}

int
main(void)
{
	DSSH_RUN(test_names);
	DSSH_RUN(test_agree);
	DSSH_RUN(test_fresh);
	DSSH_RUN(test_k_encoding);
	DSSH_RUN(test_reject_ecx_ecdh);
	DSSH_RUN(test_reject_dh);
	DSSH_RUN(test_reject_hybrid);
	DSSH_RUN(test_hybrid_k);
	DSSH_RUN(test_client_bad_server);
	DSSH_RUN(test_hash);
	DSSH_RUN(test_derive);
	DSSH_TEST_END();
}
