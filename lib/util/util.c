/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "dssh_log.h"
#include "dssh_util.h"

/*
 * glibc's explicit_bzero is its vectorised memset behind a compiler
 * barrier: the same guarantee as OPENSSL_cleanse at several times the
 * speed, which matters because every opened packet's plaintext is wiped.
 */
void
dssh_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void
dssh_freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	dssh_wipe(p, n);
	free(p);
}

void
dssh_free_secret_str(char *s)
{
	if (s != NULL)
		dssh_freezero(s, strlen(s));
}

int
dssh_ct_memcmp(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) != 0;
}

uint64_t
dssh_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
dssh_random(void *p, size_t n)
{
	if (RAND_bytes(p, (int)n) != 1)
		dssh_fatal("RAND_bytes failed");
}

#define PAD_POOL 4096

void
dssh_random_pad(void *p, size_t n)
{
	static _Thread_local uint8_t pool[PAD_POOL];
	static _Thread_local size_t left;

	if (n > PAD_POOL / 4) {
		dssh_random(p, n);
		return;
	}
	if (left < n) {
		dssh_random(pool, sizeof(pool));
		left = sizeof(pool);
	}
	uint8_t *q = pool + sizeof(pool) - left;

	memcpy(p, q, n);
	dssh_wipe(q, n);        /* served once */
	left -= n;
}

char *
dssh_strndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

int
dssh_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
dssh_match_pattern(const char *s, const char *pattern)
{
	for (;;) {
		if (*pattern == '\0')
			return *s == '\0';
		if (*pattern == '*') {
			while (*pattern == '*')
				pattern++;
			if (*pattern == '\0')
				return 1;
			for (; *s != '\0'; s++)
				if (dssh_match_pattern(s, pattern))
					return 1;
			return 0;
		}
		if (*s == '\0')
			return 0;
		if (*pattern != '?' && *pattern != *s)
			return 0;
		s++;
		pattern++;
	}
}

int
dssh_match_pattern_list(const char *s, const char *list, bool lowercase)
{
	int got_positive = 0;
	const char *p = list;

	while (*p != '\0') {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		bool negated = n > 0 && p[0] == '!';
		char *sub = dssh_strndup(p + negated, n - negated);

		if (sub == NULL)
			return 0;
		if (lowercase)
			for (char *c = sub; *c; c++)
				*c = (char)tolower((unsigned char)*c);
		int m = dssh_match_pattern(s, sub);

		free(sub);
		if (m) {
			if (negated)
				return -1;
			got_positive = 1;
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	return got_positive;
}

bool
dssh_user_env_allowed(const char *allow, const char *name)
{
	if (allow == NULL || name == NULL || *name == '\0' || strcmp(allow, "no") == 0)
		return false;
	if (strcmp(allow, "yes") == 0)
		return true;
	return dssh_match_pattern_list(name, allow, false) == 1;
}
