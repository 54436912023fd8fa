/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_KAT_TOOL_H
#define DSSH_KAT_TOOL_H

/*
 * The stdin/stdout protocol of the KEM tools the cross-implementation tests
 * drive (mlkem_tool, sntrup_tool): one command a line with hex arguments,
 * one line of hex answer, "error <code>" on failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exactly n bytes of hex at s into out; -1 for a missing or wrong-length argument. */
static int
kat_unhex(const char *s, uint8_t *out, size_t n)
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

/* "A" or "A B" in hex (b NULL: one value). */
static void
kat_answer(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	for (size_t i = 0; i < na; i++)
		printf("%02x", a[i]);
	if (b != NULL)
		putchar(' ');
	for (size_t i = 0; b != NULL && i < nb; i++)
		printf("%02x", b[i]);
}

/* Reads commands until EOF: cmd(name, arg1, arg2) answers through
 * kat_answer and returns 0, or returns the error code to print. */
static int
kat_tool_run(int (*cmd)(const char *name, const char *x, const char *y))
{
	char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, stdin) > 0) {
		char *name = strtok(line, " \n"), *x = strtok(NULL, " \n"), *y = strtok(NULL, " \n");
		int r;

		if (name == NULL)
			continue;
		if ((r = cmd(name, x, y)) != 0)
			printf("error %d", r);
		putchar('\n');
		fflush(stdout);
	}
	free(line);
	return 0;
}

#endif
