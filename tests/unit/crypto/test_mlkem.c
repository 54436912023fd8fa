/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ML-KEM-768: a FIPS 203 ACVP encapsulation/decapsulation known answer
 * (data file given as argv[1]; key generation is checked against
 * @noble/post-quantum by tests/kat), round trips, implicit rejection against an independent
 * J(z || c) computed here with EVP SHAKE256, and the input checks of
 * FIPS 203 7.2 / 7.3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dssh_err.h"
#include "dssh_mlkem.h"
#include "dssh_test.h"
#include "dssh_util.h"

static uint8_t pk[DSSH_MLKEM768_PK_LEN], sk[DSSH_MLKEM768_SK_LEN];
static uint8_t ct[DSSH_MLKEM768_CT_LEN];

/* "key=HEX" line of the data file into out (exactly n bytes). */
static int
load_hex(const char *path, const char *key, uint8_t *out, size_t n)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, klen = strlen(key);
	int ok = -1;

	if (f == NULL)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, key, klen) != 0 || line[klen] != '=')
			continue;
		const char *h = line + klen + 1;
		size_t i;

		for (i = 0; i < n; i++) {
			int a = dssh_hex_digit(h[2 * i]), b = a < 0 ? -1 : dssh_hex_digit(h[2 * i + 1]);

			if (a < 0 || b < 0)
				break;
			out[i] = (uint8_t)(a << 4 | b);
		}
		ok = i == n && dssh_hex_digit(h[2 * n]) < 0 ? 0 : -1;
		break;
	}
	free(line);
	fclose(f);
	return ok;
}

/* ACVP encapsulation (ek, m -> c, k) and decapsulation (dk, c -> k). */
static void
test_acvp_encap(const char *path)
{
	static uint8_t want_c[DSSH_MLKEM768_CT_LEN];
	uint8_t m[32], want_k[32], k[32];

	CHECK_EQ_INT(load_hex(path, "ek", pk, sizeof(pk)), 0);
	CHECK_EQ_INT(load_hex(path, "dk", sk, sizeof(sk)), 0);
	CHECK_EQ_INT(load_hex(path, "m", m, 32), 0);
	CHECK_EQ_INT(load_hex(path, "c", want_c, sizeof(want_c)), 0);
	CHECK_EQ_INT(load_hex(path, "k", want_k, 32), 0);
	CHECK_EQ_INT(dssh_mlkem768_encaps_derand(ct, k, pk, m), 0);
	CHECK_MEM(ct, want_c, sizeof(ct));
	CHECK_MEM(k, want_k, 32);
	memset(k, 0, sizeof(k));
	CHECK_EQ_INT(dssh_mlkem768_decaps(k, want_c, sk), 0);
	CHECK_MEM(k, want_k, 32);
}

static void
test_roundtrip(void)
{
	uint8_t s1[32], s2[32], s3[32], c2[DSSH_MLKEM768_CT_LEN], m[32];

	for (int i = 0; i < 20; i++) {
		CHECK_EQ_INT(dssh_mlkem768_keypair(pk, sk), 0);
		CHECK_EQ_INT(dssh_mlkem768_encaps(ct, s1, pk), 0);
		CHECK_EQ_INT(dssh_mlkem768_decaps(s2, ct, sk), 0);
		CHECK_MEM(s1, s2, 32);
	}
	/* Deterministic encapsulation: same m, same output; another m, another. */
	memset(m, 7, sizeof(m));
	CHECK_EQ_INT(dssh_mlkem768_encaps_derand(ct, s1, pk, m), 0);
	CHECK_EQ_INT(dssh_mlkem768_encaps_derand(c2, s2, pk, m), 0);
	CHECK_MEM(ct, c2, sizeof(ct));
	CHECK_MEM(s1, s2, 32);
	m[0] ^= 1;
	CHECK_EQ_INT(dssh_mlkem768_encaps_derand(c2, s3, pk, m), 0);
	CHECK(memcmp(ct, c2, sizeof(ct)) != 0 && memcmp(s1, s3, 32) != 0);
}

/* A changed ciphertext decapsulates to J(z || c), computed here independently. */
static void
test_implicit_rejection(void)
{
	uint8_t s1[32], s2[32], want[32];
	EVP_MD_CTX *x = EVP_MD_CTX_new();

	CHECK_EQ_INT(dssh_mlkem768_keypair(pk, sk), 0);
	CHECK_EQ_INT(dssh_mlkem768_encaps(ct, s1, pk), 0);
	for (size_t pos = 0; pos < sizeof(ct); pos += 97) {
		ct[pos] ^= 0x10;
		CHECK_EQ_INT(dssh_mlkem768_decaps(s2, ct, sk), 0);
		CHECK(x != NULL && EVP_DigestInit_ex(x, EVP_shake256(), NULL) == 1 &&
		    EVP_DigestUpdate(x, sk + DSSH_MLKEM768_SK_LEN - 32, 32) == 1 &&
		    EVP_DigestUpdate(x, ct, sizeof(ct)) == 1 &&
		    EVP_DigestFinalXOF(x, want, 32) == 1);
		CHECK_MEM(s2, want, 32);
		CHECK(memcmp(s1, s2, 32) != 0);
		ct[pos] ^= 0x10;
	}
	CHECK_EQ_INT(dssh_mlkem768_decaps(s2, ct, sk), 0);
	CHECK_MEM(s1, s2, 32);
	EVP_MD_CTX_free(x);
}

static void
test_input_checks(void)
{
	uint8_t s[32], m[32] = { 1 };

	CHECK_EQ_INT(dssh_mlkem768_keypair(pk, sk), 0);
	/* 7.2: a coefficient >= q in ek. */
	uint8_t save0 = pk[0], save1 = pk[1];

	pk[0] = 0x01;
	pk[1] = (uint8_t)((pk[1] & 0xf0) | 0x0d);   /* 0xd01 = 3329 = q */
	CHECK_EQ_INT(dssh_mlkem768_encaps_derand(ct, s, pk, m), DSSH_ERR_INVALID_FORMAT);
	pk[0] = 0x00;                               /* 0xd00 = 3328: fine */
	CHECK_EQ_INT(dssh_mlkem768_encaps_derand(ct, s, pk, m), 0);
	pk[0] = save0;
	pk[1] = save1;
	pk[3 * 384 - 1] = 0xff;                     /* last coefficient 0xff? >= 0xff0 */
	CHECK_EQ_INT(dssh_mlkem768_encaps_derand(ct, s, pk, m), DSSH_ERR_INVALID_FORMAT);
	/* 7.3: H(ek) in dk does not match. */
	CHECK_EQ_INT(dssh_mlkem768_keypair(pk, sk), 0);
	CHECK_EQ_INT(dssh_mlkem768_encaps(ct, s, pk), 0);
	sk[3 * 384 + DSSH_MLKEM768_PK_LEN] ^= 1;
	CHECK_EQ_INT(dssh_mlkem768_decaps(s, ct, sk), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_mlkem768_decaps(NULL, ct, sk), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_mlkem768_encaps(ct, s, NULL), DSSH_ERR_INVALID_ARGUMENT);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_mlkem acvp-encap-file\n");
		return 2;
	}
	test_acvp_encap(argv[1]);
	DSSH_RUN(test_roundtrip);
	DSSH_RUN(test_implicit_rejection);
	DSSH_RUN(test_input_checks);
	DSSH_TEST_END();
}
