/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_IMPAIR_H
#define DSSH_IMPAIR_H

/*
 * Network impairment stage (loss, duplication, delay, jitter, reordering)
 * for tests and operators, since the kernels we run on have no netem. It
 * sits in a packet path (e.g. a port's RX or TX) and is sans-I/O: packets
 * are opaque handles owned by the caller, never copied or looked into; the
 * clock is passed in (microseconds, any origin); nothing is allocated or
 * locked per packet. One stage per direction per core.
 *
 * Per packet, in this order (each random draw is made only when its
 * probability or width is non-zero, so a seed and a configuration give one
 * exact outcome):
 *   1. loss: with loss_ppm the packet is freed (free_pkt) and counted;
 *   2. duplication: with dup_ppm a second handle is made (dup_pkt);
 *      original then copy each go through steps 3-5 independently;
 *   3. delay: release = now + delay_us + uniform[-jitter_us, +jitter_us];
 *   4. reordering: with reorder_ppm, reorder_extra_us more, so that packets
 *      pushed after it overtake it;
 *   5. the packet is held until its release time; when max_held packets are
 *      already held it is freed and counted as overflow.
 * Jitter alone also reorders (as with netem): packets leave in release-time
 * order, ties in push order. With no delay, jitter or reordering a packet
 * that is not dropped leaves at the first pop at or after its push time, in
 * push order.
 *
 * Counters: in + duplicated == out + dropped + overflow + held.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DSSH_IMPAIR_PPM 1000000u                /* 100% */
#define DSSH_IMPAIR_TIME_MAX_US 60000000u       /* longest delay, jitter, reorder_extra: 60 s */
#define DSSH_IMPAIR_MAX_HELD_DEFAULT 4096u
#define DSSH_IMPAIR_MAX_HELD_LIMIT (1u << 20)
#define DSSH_IMPAIR_REORDER_EXTRA_MIN_US 1000u  /* see reorder_extra_us */
#define DSSH_IMPAIR_SPEC_MAX 256u               /* longest spec string, without the NUL */
#define DSSH_IMPAIR_FORMAT_MAX 256u             /* buffer always large enough for _format */

/*
 * All zero: no impairment. Probabilities are in parts per million
 * (2% = 20000), times in microseconds. jitter_us must not exceed delay_us
 * (release times are never before the push time and the spread stays
 * symmetric). reorder_extra_us 0: max(2 * jitter_us, 1 ms). max_held 0:
 * DSSH_IMPAIR_MAX_HELD_DEFAULT.
 */
struct dssh_impair_conf {
	uint32_t loss_ppm, reorder_ppm, dup_ppm;
	uint32_t delay_us, jitter_us;
	uint32_t reorder_extra_us;   /* how much later a reordered packet leaves */
	uint64_t seed;
	uint32_t max_held;
};

/* Single writer (the owning core), like dssh_net_stats. */
struct dssh_impair_stats {
	uint64_t in;           /* packets pushed */
	uint64_t out;          /* packets popped */
	uint64_t dropped;      /* freed by the loss draw */
	uint64_t duplicated;   /* copies made (each also counted once it leaves) */
	uint64_t dup_failed;   /* dup_pkt returned NULL: the original went on alone */
	uint64_t reordered;    /* packets given reorder_extra_us */
	uint64_t delayed;      /* packets held past their push time */
	uint64_t overflow;     /* freed because max_held packets were held */
	uint64_t held;         /* held now */
};

struct dssh_impair;

/* Releases a packet the stage drops. */
typedef void (*dssh_impair_free_fn)(void *arg, void *pkt);
/* A second handle for the same packet (e.g. a clone), or NULL. */
typedef void *(*dssh_impair_dup_fn)(void *arg, void *pkt);

/*
 * Operator syntax: "off" or "none" (all zero), or comma-separated key=value
 * items, blanks allowed around items and '=', each key at most once:
 *   loss=P, reorder=P, dup=P         P: "2%", "0.5%" (at most 4 decimals), "200ppm"
 *   delay=T, jitter=T, reorder_extra=T   T: "10ms", "1.5ms", "250us", "2s" (whole us)
 *   seed=N                           decimal or 0x hex, 64 bits
 *   max_held=N                       1..DSSH_IMPAIR_MAX_HELD_LIMIT
 * e.g. "loss=2%,reorder=5%,dup=1%,delay=10ms,jitter=5ms,seed=42".
 * Keys and units are lowercase and a unit is always required. jitter
 * greater than delay is an error, not clamped. Returns 0, DSSH_ERR_CONFIG
 * for any bad, unknown, repeated or out-of-range item, an empty spec or one
 * longer than DSSH_IMPAIR_SPEC_MAX, or DSSH_ERR_INVALID_ARGUMENT for NULL
 * pointers. *out is written only on success.
 */
int dssh_impair_parse(const char *spec, struct dssh_impair_conf *out);
/*
 * The spec that parses back to *conf ("off" when all zero; zero fields are
 * left out), for logs. 0, or DSSH_ERR_NO_BUFFER_SPACE when it did not fit
 * (buf then holds a truncated string when len > 0).
 */
int dssh_impair_format(const struct dssh_impair_conf *conf, char *buf, size_t len);
/* True when the conf changes traffic (loss, reorder, dup, delay or jitter set). */
bool dssh_impair_enabled(const struct dssh_impair_conf *conf);

/*
 * free_pkt is required; dup_pkt may be NULL only when dup_ppm is 0. Both are
 * called with cb_arg, from inside dssh_impair_push and dssh_impair_free
 * only. DSSH_ERR_INVALID_ARGUMENT for a conf out of the ranges above,
 * DSSH_ERR_ALLOC.
 */
int dssh_impair_new(const struct dssh_impair_conf *conf, dssh_impair_free_fn free_pkt,
    dssh_impair_dup_fn dup_pkt, void *cb_arg, struct dssh_impair **impp);
/* Frees the packets still held through free_pkt, then the stage. NULL ok. */
void dssh_impair_free(struct dssh_impair *imp);

/* Takes ownership of pkt: it is dropped (freed) or held for a later pop. */
void dssh_impair_push(struct dssh_impair *imp, void *pkt, uint64_t now_us);
void dssh_impair_push_burst(struct dssh_impair *imp, void *const *pkts, unsigned n,
    uint64_t now_us);
/*
 * Up to n packets whose release time is <= now_us, in release-time order,
 * ties in push order; returns how many were stored in out (the caller owns
 * them). now_us = UINT64_MAX releases everything held.
 */
unsigned dssh_impair_pop(struct dssh_impair *imp, uint64_t now_us, void **out, unsigned n);
/* The earliest release time held, UINT64_MAX when nothing is held. */
uint64_t dssh_impair_next_us(const struct dssh_impair *imp);

void dssh_impair_get_stats(const struct dssh_impair *imp, struct dssh_impair_stats *st);

#endif
