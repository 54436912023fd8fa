/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_LIMITS_H
#define DSSH_LIMITS_H

/*
 * Pre-authentication limits with sshd's meanings (sshd_config(5), OpenSSH
 * 9.8): MaxStartups start:rate:full random early drop, per-source counts
 * of unauthenticated connections (PerSourceMaxStartups over address blocks
 * of PerSourceNetBlockSize), and PerSourcePenalties' table of penalised
 * source blocks. Pure data structures and arithmetic: no locks, no clock,
 * no I/O (the caller passes the time and serialises access).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IPv4 (af 4, a[0..3]) or IPv6 (af 6) address; the rest of a[] is 0. */
struct dssh_addr {
	uint8_t af;
	uint8_t a[16];
};

/* Numeric address; an IPv4-mapped IPv6 address is taken as IPv4. */
int dssh_addr_parse(const char *ip, struct dssh_addr *out);
/* Keeps the first bits (clamped to the family's length), zeroes the rest. */
void dssh_addr_mask(struct dssh_addr *a, unsigned bits);
/* The block of a: masked to bits4 or bits6 by its family. */
void dssh_addr_block(const struct dssh_addr *a, unsigned bits4, unsigned bits6,
    struct dssh_addr *out);
int dssh_addr_cmp(const struct dssh_addr *x, const struct dssh_addr *y);
/* "a.b.c.d" or IPv6 text into buf (at least 46 bytes). */
void dssh_addr_format(const struct dssh_addr *a, char *buf, size_t n);

/* MaxStartups start:rate:full ("n" alone: n:100:n). */
struct dssh_maxstartups {
	unsigned begin, rate, full;
};
int dssh_maxstartups_parse(const char *s, struct dssh_maxstartups *out);
/*
 * Probability, in percent, that a new connection is refused while
 * `startups` unauthenticated connections exist: 0 below begin, rate at
 * begin rising linearly to 100 at full, 100 from full on.
 */
unsigned dssh_maxstartups_drop_pct(const struct dssh_maxstartups *m, unsigned startups);

/* addr/bits lists (PerSourcePenaltyExemptList): comma separated. */
struct dssh_cidr {
	struct dssh_addr addr;     /* masked */
	unsigned bits;
};
int dssh_cidr_list_parse(const char *s, struct dssh_cidr **out, unsigned *n);
bool dssh_cidr_list_match(const struct dssh_cidr *v, unsigned n, const struct dssh_addr *a);

/* PerSourcePenalties. */
enum dssh_penalty_kind {
	DSSH_PENALTY_CRASH,
	DSSH_PENALTY_AUTHFAIL,
	DSSH_PENALTY_NOAUTH,
	DSSH_PENALTY_GRACE,
	DSSH_PENALTY_KINDS,
};

struct dssh_penalty_conf {
	bool enabled;
	unsigned secs[DSSH_PENALTY_KINDS];
	unsigned max_secs, min_secs;
	unsigned max_sources4, max_sources6;
	bool overflow_deny4, overflow_deny6;   /* deny-all (else permissive) */
};
/* 9.8's defaults: crash:90 authfail:5 noauth:1 grace-exceeded:20 max:600
 * min:15 max-sources4/6:65536 overflow/overflow6:permissive. */
void dssh_penalty_conf_default(struct dssh_penalty_conf *pc);
/* sshd's reason text, e.g. "penalty: failed authentication". */
const char *dssh_penalty_reason(enum dssh_penalty_kind k);

struct dssh_penalty_table;

enum dssh_penalty_result {
	DSSH_PENALTY_ADDED,        /* a new source */
	DSSH_PENALTY_EXTENDED,     /* a source already penalised */
	DSSH_PENALTY_TABLE_FULL,   /* max-sources of its family reached: not recorded */
};

struct dssh_penalty_info {
	enum dssh_penalty_result result;
	unsigned secs;              /* the penalty left, after the addition */
	bool active;                /* refusing connections (min reached) */
};

int dssh_penalty_table_new(const struct dssh_penalty_conf *pc, struct dssh_penalty_table **out);
void dssh_penalty_table_free(struct dssh_penalty_table *t);
/* Penalise a source block (already masked) by secs, capped at max; kind
 * is remembered as the reason (the latest wins). */
void dssh_penalty_add(struct dssh_penalty_table *t, const struct dssh_addr *block,
    enum dssh_penalty_kind kind, unsigned secs, uint64_t now_ms, struct dssh_penalty_info *info);
/*
 * True when new connections from block are refused now: an active penalty
 * not yet expired, or (overflow deny-all) its family's table is full.
 * *left_s gets the seconds left of the source's penalty (0: none), *kind
 * its reason (DSSH_PENALTY_KINDS: none, the table is full).
 */
bool dssh_penalty_refused(const struct dssh_penalty_table *t, const struct dssh_addr *block,
    uint64_t now_ms, unsigned *left_s, enum dssh_penalty_kind *kind);
/* Forget expired penalties; returns how many went. */
unsigned dssh_penalty_expire(struct dssh_penalty_table *t, uint64_t now_ms);
unsigned dssh_penalty_sources(const struct dssh_penalty_table *t, unsigned af);

/* Unauthenticated connections per source block (PerSourceMaxStartups). */
struct dssh_srccount {
	struct dssh_srccount_ent *v;
	size_t n, cap;
};
/* The block's count after adding one; 0 when out of memory. */
unsigned dssh_srccount_inc(struct dssh_srccount *sc, const struct dssh_addr *block);
unsigned dssh_srccount_get(const struct dssh_srccount *sc, const struct dssh_addr *block);
void dssh_srccount_dec(struct dssh_srccount *sc, const struct dssh_addr *block);
void dssh_srccount_free(struct dssh_srccount *sc);

#endif
