/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_TEST_H
#define DSSH_TEST_H

/*
 * Minimal unit-test helpers. A test program runs its cases from main() with
 * DSSH_RUN(fn); every CHECK failure is reported with file and line, and the
 * program exits non-zero when any check failed.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int dssh_test_failures;
static int dssh_test_checks;

#define CHECK(cond) do { \
	dssh_test_checks++; \
	if (!(cond)) { \
		dssh_test_failures++; \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

#define CHECK_EQ_INT(a, b) do { \
	long long _a = (long long)(a), _b = (long long)(b); \
	dssh_test_checks++; \
	if (_a != _b) { \
		dssh_test_failures++; \
		fprintf(stderr, "%s:%d: CHECK_EQ_INT failed: %s == %lld, %s == %lld\n", \
		    __FILE__, __LINE__, #a, _a, #b, _b); \
	} \
} while (0)

#define CHECK_MEM(a, b, n) do { \
	dssh_test_checks++; \
	if (memcmp((a), (b), (n)) != 0) { \
		dssh_test_failures++; \
		fprintf(stderr, "%s:%d: CHECK_MEM failed: %s vs %s (%zu bytes)\n", \
		    __FILE__, __LINE__, #a, #b, (size_t)(n)); \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *_a = (a), *_b = (b); \
	dssh_test_checks++; \
	if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0) { \
		dssh_test_failures++; \
		fprintf(stderr, "%s:%d: CHECK_STR failed: \"%s\" vs \"%s\"\n", \
		    __FILE__, __LINE__, _a ? _a : "(null)", _b ? _b : "(null)"); \
	} \
} while (0)

#define DSSH_RUN(fn) do { \
	int _before = dssh_test_failures; \
	fn(); \
	fprintf(stderr, "%s %s\n", dssh_test_failures == _before ? "ok  " : "FAIL", #fn); \
} while (0)

#define DSSH_TEST_END() do { \
	fprintf(stderr, "%d checks, %d failed\n", dssh_test_checks, dssh_test_failures); \
	return dssh_test_failures == 0 ? 0 : 1; \
} while (0)

/* Deterministic pseudo-random numbers for test data (xorshift64*). */
static inline uint64_t dssh_test_rand(uint64_t *s)
{
	*s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* Hex (two digits a byte) into out, at most max bytes; its length in bytes. */
static inline size_t
dssh_test_hex2bin(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex) / 2;

	if (n > max)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

/*
 * A shell command (printf-style, for the OpenSSH tools the tests set keys
 * up with): its exit status, -1 for a signal. A failure is printed with
 * the command; tests that expect one say so in their check.
 */
static inline int dssh_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline int
dssh_test_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	if (WEXITSTATUS(st) != 0)
		fprintf(stderr, "  command exited %d: %s\n", WEXITSTATUS(st), cmd);
	return WEXITSTATUS(st);
}

/* text as the whole of the file at path, then chmod to mode: 0, or -1. */
static inline int
dssh_test_write(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	fclose(f);
	return chmod(path, mode);
}

/* A whole file as a NUL-terminated string (free() it); NULL if unreadable. */
static inline char *
dssh_test_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	s = calloc(1, (size_t)n + 1);
	if (s != NULL && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

#endif
