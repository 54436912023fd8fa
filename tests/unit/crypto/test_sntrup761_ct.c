/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Constant-time check of sntrup761 (ctgrind style). This program is built
 * from lib/crypto/sntrup761.c itself, without sanitizers, and run under
 * valgrind --error-exitcode: the random bytes KeyGen and Encap draw and
 * the secret parts of the key given to Decap (f, 1/g, rho) are marked undefined
 * (VALGRIND_MAKE_MEM_UNDEFINED), so memcheck reports every conditional
 * jump, and every memory address, computed from them. Public results
 * (public key, ciphertext) are marked defined again before use, and the
 * shared secrets before they are compared.
 *
 * "leak" as argument adds one branch on a secret key bit: meson runs that
 * too and expects valgrind to fail it, which shows the check can fail.
 */
#include <stdio.h>
#include <string.h>

#include <valgrind/memcheck.h>

#include "dssh_sntrup761.h"

static int
rng_secret(void *arg, uint8_t *out, size_t len)
{
	uint64_t *s = arg;

	for (size_t i = 0; i < len; i++) {
		*s ^= *s >> 12;
		*s ^= *s << 25;
		*s ^= *s >> 27;
		out[i] = (uint8_t)((*s * 0x2545F4914F6CDD1DULL) >> 56);
	}
	VALGRIND_MAKE_MEM_UNDEFINED(out, len);
	return 0;
}

int
main(int argc, char **argv)
{
	static uint8_t pk[DSSH_SNTRUP761_PK_LEN], sk[DSSH_SNTRUP761_SK_LEN];
	static uint8_t ct[DSSH_SNTRUP761_CT_LEN];
	uint8_t ss[DSSH_SNTRUP761_SS_LEN], ss2[DSSH_SNTRUP761_SS_LEN];
	uint64_t seed = 0x243f6a8885a308d3ULL;
	int fails = 0;

	if (!RUNNING_ON_VALGRIND)
		fprintf(stderr, "note: not under valgrind, nothing is checked\n");
	for (int round = 0; round < 2; round++) {
		if (dssh_sntrup761_keypair_rng(pk, sk, rng_secret, &seed) != 0)
			return 2;
		VALGRIND_MAKE_MEM_DEFINED(pk, sizeof(pk));
		if (dssh_sntrup761_enc_rng(ct, ss, pk, sizeof(pk), rng_secret, &seed) != 0)
			return 2;
		VALGRIND_MAKE_MEM_DEFINED(ct, sizeof(ct));
		VALGRIND_MAKE_MEM_DEFINED(ss, sizeof(ss));

		/* f, v and rho are secret; the copy of pk and its hash are not. */
		VALGRIND_MAKE_MEM_UNDEFINED(sk, sizeof(sk));
		VALGRIND_MAKE_MEM_DEFINED(sk + 2 * 191, sizeof(pk));
		VALGRIND_MAKE_MEM_DEFINED(sk + sizeof(sk) - 32, 32);
		if (argc > 1 && strcmp(argv[1], "leak") == 0 && (sk[0] & 1))
			fprintf(stderr, "secret bit set\n");
		if (dssh_sntrup761_dec(ss2, ct, sizeof(ct), sk) != 0)
			return 2;
		VALGRIND_MAKE_MEM_DEFINED(ss2, sizeof(ss2));
		fails += memcmp(ss, ss2, sizeof(ss)) != 0;

		/* Rejection path: a changed ciphertext. */
		ct[round == 0 ? 10 : 1020] ^= 4;
		if (dssh_sntrup761_dec(ss2, ct, sizeof(ct), sk) != 0)
			return 2;
		VALGRIND_MAKE_MEM_DEFINED(ss2, sizeof(ss2));
		fails += memcmp(ss, ss2, sizeof(ss)) == 0;
	}
	fprintf(stderr, "%s\n", fails == 0 ? "sntrup761 ct: ok" : "sntrup761 ct: WRONG KEYS");
	return fails == 0 ? 0 : 1;
}
