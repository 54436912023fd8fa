/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh's sntrup761 on stdin/stdout, for the cross-implementation test
 * (tests/kat/test_sntrup_liboqs.py). One command a line, hex arguments,
 * one line of hex answer:
 *   keypair        -> PK SK
 *   enc PK         -> CT SS
 *   dec SK CT      -> SS
 * An error answers "error <code>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_sntrup761.h"

static int
unhex(const char *s, uint8_t *out, size_t n)
{
	if (s == NULL || strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static void
puthex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

int
main(void)
{
	static uint8_t pk[DSSH_SNTRUP761_PK_LEN], sk[DSSH_SNTRUP761_SK_LEN];
	static uint8_t ct[DSSH_SNTRUP761_CT_LEN];
	uint8_t ss[DSSH_SNTRUP761_SS_LEN];
	char *line = NULL;
	size_t cap = 0;
	int r;

	while (getline(&line, &cap, stdin) > 0) {
		char *cmd = strtok(line, " \n"), *x = strtok(NULL, " \n"), *y = strtok(NULL, " \n");

		if (cmd == NULL)
			continue;
		if (strcmp(cmd, "keypair") == 0) {
			if ((r = dssh_sntrup761_keypair(pk, sk)) == 0) {
				puthex(pk, sizeof(pk));
				putchar(' ');
				puthex(sk, sizeof(sk));
			}
		} else if (strcmp(cmd, "enc") == 0) {
			r = unhex(x, pk, sizeof(pk)) ? -100 :
			    dssh_sntrup761_enc(ct, ss, pk, sizeof(pk));
			if (r == 0) {
				puthex(ct, sizeof(ct));
				putchar(' ');
				puthex(ss, sizeof(ss));
			}
		} else if (strcmp(cmd, "dec") == 0) {
			r = unhex(x, sk, sizeof(sk)) || unhex(y, ct, sizeof(ct)) ? -100 :
			    dssh_sntrup761_dec(ss, ct, sizeof(ct), sk);
			if (r == 0)
				puthex(ss, sizeof(ss));
		} else {
			r = -101;
		}
		if (r != 0)
			printf("error %d", r);
		putchar('\n');
		fflush(stdout);
	}
	free(line);
	return 0;
}
