/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DP_IDLE_H
#define DP_IDLE_H

/*
 * How long a data core sleeps between empty polls when its port can
 * neither interrupt nor be waited on through a socket (net_memif: the PMD
 * has no rx_queue_intr_enable op and masks the peer's doorbell on its own
 * receive rings, see docs/architecture.md). No DPDK here: the policy is a
 * pure function of what the core saw, unit-tested in tests/unit/dpdk.
 *
 * Two regimes, told apart by the bytes the port moved (in and out) since
 * the core last slept:
 *
 *  - idle or interactive (less than DP_BULK_BYTES): after DP_IDLE_YIELD
 *    empty polls (a reply often follows a request within microseconds),
 *    sleep a quarter of the time the queue has been empty, between
 *    DP_IDLE_SLEEP_MIN_US and DP_IDLE_SLEEP_MAX_US. What a keystroke
 *    waits stays small next to the gap before it.
 *
 *  - a transfer (DP_BULK_BYTES or more; then while wake-ups find anything,
 *    or found something less than DP_BULK_LINGER_US ago: a download's core
 *    often wakes to a few ACKs or nothing while the session's command waits
 *    for a CPU, and the transfer goes on): the gaps between the peer's
 *    bursts are short and there will be more, so the core sleeps after
 *    DP_BULK_SPIN empty polls, for bulk_us, tuned at every wake-up so
 *    that one wake-up handles about DP_BULK_BATCH bytes: longer while
 *    wake-ups find less, shorter when they find more than twice that. The
 *    rings (memif: 1024 slots), the TCP windows (256 KiB by default) and
 *    the channel pipes (1 MiB) hold what arrives meanwhile; DP_BULK_BATCH
 *    is half the default window, so the peer is not stalled. Each wake-up
 *    costs a context switch and the empty polls around it, tens of
 *    microseconds on a loaded VM: few, large batches are cheaper per byte.
 */
#include <stdbool.h>
#include <stdint.h>

#define DP_IDLE_YIELD 64
#define DP_IDLE_SLEEP_MIN_US 20u
#define DP_IDLE_SLEEP_MAX_US 250u
#define DP_BULK_BYTES (32u * 1024)
#define DP_BULK_BATCH (128u * 1024)
#define DP_BULK_LINGER_US 2000u
#define DP_BULK_SPIN 4
#define DP_BULK_SLEEP_MAX_US 500u

struct dp_idle_pol {
	unsigned bulk_us;         /* a transfer's sleep, tuned at each wake-up */
	uint64_t mark;            /* the port's byte count when the core last slept */
	bool slept;               /* slept since the last poll that found work */
	bool bulk;                /* the last sleep was a transfer's */
};

static inline void
dp_idle_pol_init(struct dp_idle_pol *p, uint64_t bytes)
{
	p->bulk_us = DP_IDLE_SLEEP_MIN_US;
	p->mark = bytes;
	p->slept = false;
	p->bulk = false;
}

/* An idle queue's sleep: a quarter of the time it has been empty, clamped. */
static inline unsigned
dp_idle_ramp_us(uint64_t idle_us)
{
	uint64_t us = idle_us / 4;

	return us < DP_IDLE_SLEEP_MIN_US ? DP_IDLE_SLEEP_MIN_US :
	    us > DP_IDLE_SLEEP_MAX_US ? DP_IDLE_SLEEP_MAX_US : (unsigned)us;
}

/* A poll found work: the next empty polls spin before a sleep again. */
static inline void
dp_idle_pol_work(struct dp_idle_pol *p)
{
	p->slept = false;
}

/*
 * After idle_run empty polls in a row, the queue empty for idle_us, the
 * port's bytes in and out so far bytes, and the next timer due in
 * timer_us (UINT64_MAX: none): microseconds to sleep now, 0 to poll on.
 * *bulk says whether it is a transfer's sleep.
 */
static inline unsigned
dp_idle_pol_next(struct dp_idle_pol *p, unsigned idle_run, uint64_t idle_us, uint64_t bytes,
    uint64_t timer_us, bool *bulk)
{
	uint64_t moved = bytes - p->mark;
	unsigned us;

	*bulk = moved >= DP_BULK_BYTES ||
	    (p->bulk && (moved > 0 || idle_us < DP_BULK_LINGER_US));
	if (*bulk) {
		if (idle_run < DP_BULK_SPIN)
			return 0;
		if (moved < DP_BULK_BATCH)
			us = p->bulk_us + p->bulk_us / 4 + 1;
		else if (moved > 2 * (uint64_t)DP_BULK_BATCH)
			us = p->bulk_us - p->bulk_us / 4;
		else
			us = p->bulk_us;
		us = us < DP_IDLE_SLEEP_MIN_US ? DP_IDLE_SLEEP_MIN_US :
		    us > DP_BULK_SLEEP_MAX_US ? DP_BULK_SLEEP_MAX_US : us;
		p->bulk_us = us;
	} else {
		if (idle_run < DP_IDLE_YIELD && !p->slept)
			return 0;
		us = dp_idle_ramp_us(idle_us);
	}
	/* A TCP timer (retransmission, delayed ACK) due sooner cuts the sleep. */
	if (timer_us < us)
		us = timer_us > DP_IDLE_SLEEP_MIN_US ? (unsigned)timer_us : DP_IDLE_SLEEP_MIN_US;
	p->mark = bytes;
	p->slept = true;
	p->bulk = *bulk;
	return us;
}

#endif
