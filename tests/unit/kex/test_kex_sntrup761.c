/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sntrup761x25519-sha512 (and its @openssh.com name) through the lib/kex
 * API: both sides agree; K is the string SHA-512(KEM secret || X25519
 * secret), checked against a client the test plays itself with the KEM and
 * plain EVP X25519; bad lengths and small-order X25519 values are refused
 * with the buffers left alone; a changed ciphertext gives the client a
 * different K (implicit rejection), not an error.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_kex.h"
#include "dssh_sntrup761.h"
#include "dssh_test.h"
#include "dssh_util.h"
#include "test_kex.h"

#define PKL DSSH_SNTRUP761_PK_LEN
#define CTL DSSH_SNTRUP761_CT_LEN
#define INIT_LEN (PKL + 32)
#define REPLY_LEN (CTL + 32)

static const char *names[] = {
	"sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com",
};

static int
string_of(const struct dssh_buf *enc, const uint8_t **p, size_t *n)
{
	struct dssh_buf b;
	int r;

	dssh_buf_from(&b, dssh_buf_ptr(enc), dssh_buf_len(enc));
	r = dssh_buf_get_string_direct(&b, p, n);
	if (r == 0 && dssh_buf_len(&b) != 0)
		r = DSSH_ERR_INVALID_FORMAT;
	return r;
}

static void
test_table(void)
{
	const char *list = dssh_kex_alg_names();
	const char *a = strstr(list, "sntrup761x25519-sha512,");
	const char *b = strstr(list, "sntrup761x25519-sha512@openssh.com,");
	const char *c = strstr(list, "curve25519-sha256,");

	/* Preference: after mlkem768x25519 (if there), before curve25519. */
	CHECK(a != NULL && b != NULL && c != NULL && a < b && b < c);
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(names); i++) {
		const struct dssh_kex_alg *alg = dssh_kex_alg_by_name(names[i]);

		CHECK(alg != NULL);
		if (alg == NULL)
			continue;
		CHECK_STR(alg->name, names[i]);
		CHECK_EQ_INT(alg->kind, DSSH_KEX_HYBRID);
		CHECK_EQ_INT(alg->pub_len, INIT_LEN);
		CHECK_EQ_INT(alg->reply_len, REPLY_LEN);
		CHECK_EQ_INT(alg->hash_len, 64);
		CHECK(alg->k_string && !alg->pub_mpint);
		CHECK(dssh_kex_alg_md(alg) == EVP_sha512());
	}
}

static void
test_agree(void)
{
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(names); i++) {
		const struct dssh_kex_alg *alg = dssh_kex_alg_by_name(names[i]);

		for (int round = 0; round < 3; round++) {
			struct dssh_kex_client *c = NULL;
			struct dssh_buf cpub, spub, ks, kc;
			const uint8_t *raw, *kraw;
			size_t rawlen, klen;

			dssh_buf_init(&cpub, 0);
			dssh_buf_init(&spub, 0);
			dssh_buf_init(&ks, 0);
			dssh_buf_init(&kc, 0);
			CHECK_EQ_INT(dssh_kex_client_new(alg, &c), 0);
			CHECK_EQ_INT(dssh_kex_client_pub(c, &cpub), 0);
			CHECK_EQ_INT(string_of(&cpub, &raw, &rawlen), 0);
			CHECK_EQ_INT(rawlen, INIT_LEN);
			CHECK_EQ_INT(dssh_kex_server_reply(alg, raw, rawlen, &spub, &ks), 0);
			CHECK_EQ_INT(string_of(&spub, &raw, &rawlen), 0);
			CHECK_EQ_INT(rawlen, REPLY_LEN);
			CHECK_EQ_INT(dssh_kex_client_finish(c, raw, rawlen, &kc), 0);
			/* K: a 64-byte string, the same on both sides. */
			CHECK_EQ_INT(string_of(&ks, &kraw, &klen), 0);
			CHECK_EQ_INT(klen, 64);
			CHECK_EQ_INT(dssh_buf_len(&ks), dssh_buf_len(&kc));
			if (dssh_buf_len(&ks) == dssh_buf_len(&kc))
				CHECK_MEM(dssh_buf_ptr(&ks), dssh_buf_ptr(&kc), dssh_buf_len(&ks));
			dssh_kex_client_free(c);
			dssh_buf_free(&cpub);
			dssh_buf_free(&spub);
			dssh_buf_free(&ks);
			dssh_buf_free(&kc);
		}
	}
}

/* The test is the client: its own KEM key pair and EVP X25519 key. */
static void
test_k_encoding(void)
{
	const struct dssh_kex_alg *alg = dssh_kex_alg_by_name("sntrup761x25519-sha512");
	uint8_t pk[PKL], sk[DSSH_SNTRUP761_SK_LEN], init[INIT_LEN], kem_ss[32], x_ss[32];
	uint8_t both[64], want[64];
	size_t xl = 32, rawlen, klen;
	const uint8_t *raw, *kraw;
	struct dssh_buf spub, k;
	EVP_PKEY *mine = EVP_PKEY_Q_keygen(NULL, NULL, "X25519"), *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	unsigned n = 0;

	dssh_buf_init(&spub, 0);
	dssh_buf_init(&k, 0);
	CHECK(mine != NULL);
	CHECK_EQ_INT(dssh_sntrup761_keypair(pk, sk), 0);
	memcpy(init, pk, PKL);
	CHECK(EVP_PKEY_get_raw_public_key(mine, init + PKL, &xl) == 1 && xl == 32);
	CHECK_EQ_INT(dssh_kex_server_reply(alg, init, sizeof(init), &spub, &k), 0);
	CHECK_EQ_INT(string_of(&spub, &raw, &rawlen), 0);
	CHECK_EQ_INT(rawlen, REPLY_LEN);
	CHECK_EQ_INT(dssh_sntrup761_dec(kem_ss, raw, CTL, sk), 0);
	peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, raw + CTL, 32);
	ctx = EVP_PKEY_CTX_new(mine, NULL);
	xl = 32;
	CHECK(peer != NULL && ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
	    EVP_PKEY_derive(ctx, x_ss, &xl) == 1 && xl == 32);
	memcpy(both, kem_ss, 32);
	memcpy(both + 32, x_ss, 32);
	CHECK(EVP_Digest(both, 64, want, &n, EVP_sha512(), NULL) == 1 && n == 64);
	CHECK_EQ_INT(string_of(&k, &kraw, &klen), 0);
	CHECK_EQ_INT(klen, 64);
	if (klen == 64)
		CHECK_MEM(kraw, want, 64);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(mine);
	dssh_buf_free(&spub);
	dssh_buf_free(&k);
}

static void
test_server_rejects(void)
{
	const struct dssh_kex_alg *alg = dssh_kex_alg_by_name("sntrup761x25519-sha512");
	uint8_t v[4096], pk[PKL], sk[DSSH_SNTRUP761_SK_LEN];

	CHECK_EQ_INT(dssh_sntrup761_keypair(pk, sk), 0);
	memset(v, 0x42, sizeof(v));
	memcpy(v, pk, PKL);
	expect_reject(alg, NULL, 0, "empty");
	expect_reject(alg, v, 1, "one byte");
	expect_reject(alg, v, PKL, "KEM key alone");
	expect_reject(alg, v, 32, "X25519 value alone");
	expect_reject(alg, v, INIT_LEN - 1, "short");
	expect_reject(alg, v, INIT_LEN + 1, "long");
	expect_reject(alg, v, sizeof(v), "oversized");
	/* Small-order X25519 points: the X25519 output is all zeros. */
	memset(v + PKL, 0, 32);
	expect_reject(alg, v, INIT_LEN, "X25519 zero");
	v[PKL] = 1;
	expect_reject(alg, v, INIT_LEN, "X25519 order-1 point");
	/* A well-sized garbage KEM key is a key to encapsulate to. */
	{
		struct dssh_buf s, k;

		dssh_buf_init(&s, 0);
		dssh_buf_init(&k, 0);
		memset(v, 0x99, INIT_LEN);
		CHECK_EQ_INT(dssh_kex_server_reply(alg, v, INIT_LEN, &s, &k), 0);
		dssh_buf_free(&s);
		dssh_buf_free(&k);
	}
}

static void
test_client_side(void)
{
	const struct dssh_kex_alg *alg = dssh_kex_alg_by_name("sntrup761x25519-sha512@openssh.com");
	struct dssh_kex_client *c = NULL;
	struct dssh_buf cpub, spub, ks, kc;
	uint8_t v[REPLY_LEN + 8], reply[REPLY_LEN];
	const uint8_t *raw;
	size_t rawlen;

	dssh_buf_init(&cpub, 0);
	dssh_buf_init(&spub, 0);
	dssh_buf_init(&ks, 0);
	dssh_buf_init(&kc, 0);
	CHECK_EQ_INT(dssh_kex_client_new(alg, &c), 0);
	CHECK_EQ_INT(dssh_kex_client_pub(c, &cpub), 0);
	CHECK_EQ_INT(string_of(&cpub, &raw, &rawlen), 0);
	CHECK_EQ_INT(dssh_kex_server_reply(alg, raw, rawlen, &spub, &ks), 0);
	CHECK_EQ_INT(string_of(&spub, &raw, &rawlen), 0);
	CHECK_EQ_INT(rawlen, REPLY_LEN);
	memcpy(reply, raw, REPLY_LEN);
	/* Wrong lengths and a zero X25519 value: errors, nothing appended. */
	memset(v, 0, sizeof(v));
	CHECK(dssh_kex_client_finish(c, NULL, 0, &kc) < 0);
	CHECK(dssh_kex_client_finish(c, reply, REPLY_LEN - 1, &kc) < 0);
	CHECK(dssh_kex_client_finish(c, v, REPLY_LEN + 1, &kc) < 0);
	CHECK(dssh_kex_client_finish(c, reply, CTL, &kc) < 0);
	memcpy(v, reply, CTL);
	CHECK(dssh_kex_client_finish(c, v, REPLY_LEN, &kc) < 0);
	CHECK_EQ_INT(dssh_buf_len(&kc), 0);
	/* A changed ciphertext: no error, but not the server's K. */
	reply[100] ^= 1;
	CHECK_EQ_INT(dssh_kex_client_finish(c, reply, REPLY_LEN, &kc), 0);
	CHECK_EQ_INT(dssh_buf_len(&kc), dssh_buf_len(&ks));
	CHECK(memcmp(dssh_buf_ptr(&kc), dssh_buf_ptr(&ks), dssh_buf_len(&ks)) != 0);
	/* The real one agrees. */
	reply[100] ^= 1;
	dssh_buf_free(&kc);
	dssh_buf_init(&kc, 0);
	CHECK_EQ_INT(dssh_kex_client_finish(c, reply, REPLY_LEN, &kc), 0);
	CHECK_EQ_INT(dssh_buf_len(&kc), dssh_buf_len(&ks));
	CHECK_MEM(dssh_buf_ptr(&kc), dssh_buf_ptr(&ks), dssh_buf_len(&ks));
	dssh_kex_client_free(c);
	dssh_buf_free(&cpub);
	dssh_buf_free(&spub);
	dssh_buf_free(&ks);
	dssh_buf_free(&kc);
}

int
main(void)
{
	DSSH_RUN(test_table);
	DSSH_RUN(test_agree);
	DSSH_RUN(test_k_encoding);
	DSSH_RUN(test_server_rejects);
	DSSH_RUN(test_client_side);
	DSSH_TEST_END();
}
