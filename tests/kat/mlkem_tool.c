/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh's ML-KEM-768 on stdin/stdout, for the cross-implementation test
 * (tests/kat/test_mlkem_noble.py). One command a line, hex arguments,
 * one line of hex answer (kat_tool.h):
 *   keygen D Z     -> EK DK
 *   encaps EK M    -> CT SS
 *   decaps DK CT   -> SS
 * An error answers "error <code>".
 */
#include "dssh_mlkem.h"
#include "kat_tool.h"

static int
mlkem_cmd(const char *name, const char *x, const char *y)
{
	static uint8_t pk[DSSH_MLKEM768_PK_LEN], sk[DSSH_MLKEM768_SK_LEN];
	static uint8_t ct[DSSH_MLKEM768_CT_LEN];
	uint8_t a[32], b[32], ss[32];
	int r;

	if (strcmp(name, "keygen") == 0) {
		r = kat_unhex(x, a, 32) || kat_unhex(y, b, 32) ? -100 :
		    dssh_mlkem768_keypair_derand(pk, sk, a, b);
		if (r == 0)
			kat_answer(pk, sizeof(pk), sk, sizeof(sk));
	} else if (strcmp(name, "encaps") == 0) {
		r = kat_unhex(x, pk, sizeof(pk)) || kat_unhex(y, a, 32) ? -100 :
		    dssh_mlkem768_encaps_derand(ct, ss, pk, a);
		if (r == 0)
			kat_answer(ct, sizeof(ct), ss, sizeof(ss));
	} else if (strcmp(name, "decaps") == 0) {
		r = kat_unhex(x, sk, sizeof(sk)) || kat_unhex(y, ct, sizeof(ct)) ? -100 :
		    dssh_mlkem768_decaps(ss, ct, sk);
		if (r == 0)
			kat_answer(ss, sizeof(ss), NULL, 0);
	} else {
		r = -101;
	}
	return r;
}

int
main(void)
{
	return kat_tool_run(mlkem_cmd);
}
