/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_UTIL_H
#define DSSH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DSSH_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DSSH_MIN(a, b) ((a) < (b) ? (a) : (b))
#define DSSH_MAX(a, b) ((a) > (b) ? (a) : (b))
#define dssh_likely(x) __builtin_expect(!!(x), 1)
#define dssh_unlikely(x) __builtin_expect(!!(x), 0)

/* Zero memory in a way the compiler cannot drop (secrets). */
void dssh_wipe(void *p, size_t n);
/* dssh_wipe(p, n) then free(p); NULL is fine. */
void dssh_freezero(void *p, size_t n);
/* free a NUL-terminated secret string after wiping it. */
void dssh_free_secret_str(char *s);
/* Constant-time comparison: 0 when equal. Time depends on n only. */
int dssh_ct_memcmp(const void *a, const void *b, size_t n);

/* Monotonic clock. */
uint64_t dssh_now_ns(void);
static inline uint64_t dssh_now_ms(void) { return dssh_now_ns() / 1000000u; }

/* Fill with cryptographically strong random bytes (aborts on failure). */
void dssh_random(void *p, size_t n);
/* The same bytes for packet padding, served from a per-thread pool that
 * RAND_bytes refills 4 KiB at a time (a RAND_bytes call per packet, with
 * its locks and fork check, was several per cent of a bulk transfer's
 * CPU). Padding only: a fork's child shares the pool's unused bytes. */
void dssh_random_pad(void *p, size_t n);

/*
 * OpenSSH-style wildcard patterns: '*' and '?'; a pattern list is comma
 * separated and entries starting with '!' negate.
 * dssh_match_pattern: 1 match, 0 no match.
 * dssh_match_pattern_list: 1 positive match, 0 no match, -1 negated match.
 */
int dssh_match_pattern(const char *s, const char *pattern);
int dssh_match_pattern_list(const char *s, const char *list, bool lowercase);

/*
 * PermitUserEnvironment (sshd_config(5)): may a user-supplied variable
 * (~/.ssh/environment, authorized_keys environment=) named name be set?
 * allow is the keyword's value: NULL or "no" none, "yes" all, else a
 * pattern list of names (case-sensitive, "!" negates).
 */
bool dssh_user_env_allowed(const char *allow, const char *name);

/* strdup that aborts on failure is not wanted here: returns NULL on ENOMEM. */
char *dssh_strndup(const char *s, size_t n);

/* The value of a hex digit (0-9, a-f, A-F), -1 for any other character. */
int dssh_hex_digit(int c);

#endif
