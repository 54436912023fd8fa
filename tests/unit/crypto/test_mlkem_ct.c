/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Constant-time check of ML-KEM-768, ctgrind style: run under valgrind
 * memcheck with every secret marked undefined (VALGRIND_MAKE_MEM_UNDEFINED).
 * Memcheck then reports "Conditional jump or move depends on uninitialised
 * value(s)" for a branch on secret data and "Use of uninitialised value of
 * size N" for a secret-dependent address (table index), so the test fails
 * (--error-exitcode) if keygen, encaps or decaps has either.
 * Secrets: d and z (keygen), m (encaps), dk_pke, z and the ciphertext
 * (decaps; the implicit-rejection compare and select included). ek and
 * H(ek) inside dk are public and stay defined. Outputs that become public
 * (ek, the ciphertext) are marked defined again before they are used as
 * public inputs. Built without sanitizers (valgrind and ASan do not mix);
 * exits 77 (skipped) when not run under valgrind.
 */
#include <stdio.h>
#include <string.h>

#include <valgrind/memcheck.h>

#include "dssh_mlkem.h"

#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

int
main(void)
{
	static uint8_t pk[DSSH_MLKEM768_PK_LEN], sk[DSSH_MLKEM768_SK_LEN];
	static uint8_t ct[DSSH_MLKEM768_CT_LEN];
	uint8_t d[32], z[32], m[32], s1[32], s2[32];
	int fails = 0;

	if (!RUNNING_ON_VALGRIND) {
		fprintf(stderr, "not under valgrind: skipped\n");
		return 77;
	}
	for (int round = 0; round < 3; round++) {
		memset(d, 0x11 * (round + 1), sizeof(d));
		memset(z, 0x22 + round, sizeof(z));
		memset(m, 0x33 + round, sizeof(m));
		SECRET(d, sizeof(d));
		SECRET(z, sizeof(z));
		if (dssh_mlkem768_keypair_derand(pk, sk, d, z) != 0)
			fails++;
		PUBLIC(pk, sizeof(pk));
		PUBLIC(sk + 1152, DSSH_MLKEM768_PK_LEN + 32);  /* ek || H(ek) */
		SECRET(m, sizeof(m));
		if (dssh_mlkem768_encaps_derand(ct, s1, pk, m) != 0)
			fails++;
		/* Decapsulate the real ciphertext, then a changed one (rejection path). */
		for (int bad = 0; bad < 2; bad++) {
			ct[17] ^= (uint8_t)bad;
			SECRET(ct, sizeof(ct));
			SECRET(sk, 1152);
			SECRET(sk + DSSH_MLKEM768_SK_LEN - 32, 32);
			if (dssh_mlkem768_decaps(s2, ct, sk) != 0)
				fails++;
			PUBLIC(ct, sizeof(ct));
			PUBLIC(s1, sizeof(s1));
			PUBLIC(s2, sizeof(s2));
			if ((memcmp(s1, s2, 32) == 0) != !bad)
				fails++;
		}
	}
	printf("%d failures\n", fails);
	return fails == 0 ? 0 : 1;
}
