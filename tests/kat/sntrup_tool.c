/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh's sntrup761 on stdin/stdout, for the cross-implementation test
 * (tests/kat/test_sntrup_liboqs.py) and the handshake benchmark. One
 * command a line, hex arguments, one line of hex answer (kat_tool.h):
 *   keypair        -> PK SK
 *   enc PK         -> CT SS
 *   dec SK CT      -> SS
 * An error answers "error <code>".
 */
#include "dssh_sntrup761.h"
#include "kat_tool.h"

static int
sntrup_cmd(const char *name, const char *x, const char *y)
{
	static uint8_t pk[DSSH_SNTRUP761_PK_LEN], sk[DSSH_SNTRUP761_SK_LEN];
	static uint8_t ct[DSSH_SNTRUP761_CT_LEN];
	uint8_t ss[DSSH_SNTRUP761_SS_LEN];
	int r;

	if (strcmp(name, "keypair") == 0) {
		if ((r = dssh_sntrup761_keypair(pk, sk)) == 0)
			kat_answer(pk, sizeof(pk), sk, sizeof(sk));
	} else if (strcmp(name, "enc") == 0) {
		r = kat_unhex(x, pk, sizeof(pk)) ? -100 :
		    dssh_sntrup761_enc(ct, ss, pk, sizeof(pk));
		if (r == 0)
			kat_answer(ct, sizeof(ct), ss, sizeof(ss));
	} else if (strcmp(name, "dec") == 0) {
		r = kat_unhex(x, sk, sizeof(sk)) || kat_unhex(y, ct, sizeof(ct)) ? -100 :
		    dssh_sntrup761_dec(ss, ct, sizeof(ct), sk);
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
	return kat_tool_run(sntrup_cmd);
}
