/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The timed-sleep policy of a data core that cannot block (net_memif):
 * idle and interactive traffic keep the spin-then-ramp of before (a
 * keystroke waits at most DP_IDLE_SLEEP_MAX_US), a transfer sleeps after a
 * few empty polls and tunes its sleep so that each wake-up finds a batch
 * of about DP_BULK_BATCH bytes, within the bounds, and TCP timers cut it.
 */
#include <stdbool.h>
#include <stdint.h>

#include "dp_idle.h"
#include "dssh_test.h"

#define NONE UINT64_MAX

static void
test_idle_ramp(void)
{
	struct dp_idle_pol p;
	bool bulk = true;
	unsigned run;

	dp_idle_pol_init(&p, 1000);
	/* Nothing moved: spins DP_IDLE_YIELD polls first. */
	for (run = 1; run < DP_IDLE_YIELD; run++)
		CHECK_EQ_INT(dp_idle_pol_next(&p, run, 10, 1000, NONE, &bulk), 0);
	CHECK_EQ_INT(dp_idle_pol_next(&p, DP_IDLE_YIELD, 40, 1000, NONE, &bulk),
	    DP_IDLE_SLEEP_MIN_US);
	CHECK(!bulk);
	/* Once slept, every empty poll sleeps, longer the longer it is idle. */
	CHECK_EQ_INT(dp_idle_pol_next(&p, DP_IDLE_YIELD + 1, 400, 1000, NONE, &bulk), 100);
	CHECK_EQ_INT(dp_idle_pol_next(&p, DP_IDLE_YIELD + 2, 10000000, 1000, NONE, &bulk),
	    DP_IDLE_SLEEP_MAX_US);
	CHECK(!bulk);
	/* Work: spins again before the next sleep. */
	dp_idle_pol_work(&p);
	CHECK_EQ_INT(dp_idle_pol_next(&p, 1, 1, 1000, NONE, &bulk), 0);
	CHECK_EQ_INT(dp_idle_pol_next(&p, DP_BULK_SPIN, 2, 1000, NONE, &bulk), 0);
}

/* A 1-byte echo loop: a few hundred bytes a round never count as a transfer. */
static void
test_keystrokes(void)
{
	struct dp_idle_pol p;
	uint64_t bytes = 0;
	bool bulk;

	dp_idle_pol_init(&p, 0);
	for (int k = 0; k < 1000; k++) {
		unsigned us = 0, run;

		bytes += 2 * 150;       /* the keystroke in, its echo out */
		dp_idle_pol_work(&p);
		for (run = 1; us == 0; run++) {
			us = dp_idle_pol_next(&p, run, run / 2 + (k % 7) * 300, bytes, NONE, &bulk);
			CHECK(!bulk);
		}
		CHECK(run - 1 >= DP_IDLE_YIELD);
		CHECK(us >= DP_IDLE_SLEEP_MIN_US && us <= DP_IDLE_SLEEP_MAX_US);
	}
}

static void
test_bulk_enter(void)
{
	struct dp_idle_pol p;
	uint64_t b = 5;
	bool bulk = false;
	unsigned us;

	dp_idle_pol_init(&p, b);
	b += DP_BULK_BYTES;
	CHECK_EQ_INT(dp_idle_pol_next(&p, DP_BULK_SPIN - 1, 3, b, NONE, &bulk), 0);
	CHECK(bulk);
	us = dp_idle_pol_next(&p, DP_BULK_SPIN, 3, b, NONE, &bulk);
	CHECK(bulk && us == DP_IDLE_SLEEP_MIN_US + DP_IDLE_SLEEP_MIN_US / 4 + 1);
	/* Wake-ups that find nothing for less than DP_BULK_LINGER_US: still a
	 * transfer (its sleep grows: little found); past that, the idle ramp. */
	CHECK(dp_idle_pol_next(&p, DP_BULK_SPIN + 1, DP_BULK_LINGER_US - 1, b, NONE, &bulk) > us);
	CHECK(bulk);
	CHECK_EQ_INT(dp_idle_pol_next(&p, DP_BULK_SPIN + 2, DP_BULK_LINGER_US, b, NONE, &bulk),
	    DP_IDLE_SLEEP_MAX_US);
	CHECK(!bulk);
	CHECK_EQ_INT(dp_idle_pol_next(&p, DP_BULK_SPIN + 3, 800, b, NONE, &bulk), 200);
	CHECK(!bulk);
	/* Once in a transfer, wake-ups finding anything keep it one, even a
	 * single ACK long after the last work. */
	dp_idle_pol_work(&p);
	b += DP_BULK_BYTES;
	(void)dp_idle_pol_next(&p, DP_BULK_SPIN, 3, b, NONE, &bulk);
	CHECK(bulk);
	b += 66;
	dp_idle_pol_work(&p);
	us = dp_idle_pol_next(&p, DP_BULK_SPIN, 10 * DP_BULK_LINGER_US, b, NONE, &bulk);
	CHECK(bulk && us > DP_IDLE_SLEEP_MIN_US);
	/* Ended (nothing for DP_BULK_LINGER_US), a little traffic is none. */
	CHECK_EQ_INT(dp_idle_pol_next(&p, DP_BULK_SPIN + 1, DP_BULK_LINGER_US, b, NONE, &bulk),
	    DP_BULK_LINGER_US / 4 > DP_IDLE_SLEEP_MAX_US ? DP_IDLE_SLEEP_MAX_US :
	    DP_BULK_LINGER_US / 4);
	CHECK(!bulk);
	b += 1024;
	dp_idle_pol_work(&p);
	CHECK_EQ_INT(dp_idle_pol_next(&p, DP_BULK_SPIN, 3, b, NONE, &bulk), 0);
	CHECK(!bulk);
	CHECK_EQ_INT(dp_idle_pol_next(&p, DP_IDLE_YIELD, 3, b, NONE, &bulk), DP_IDLE_SLEEP_MIN_US);
	CHECK(!bulk);
	/* Just under the threshold is not a transfer. */
	b += DP_BULK_BYTES - 1;
	dp_idle_pol_work(&p);
	CHECK_EQ_INT(dp_idle_pol_next(&p, DP_BULK_SPIN, 3, b, NONE, &bulk), 0);
	CHECK(!bulk);
}

/* Wake-ups finding little grow the sleep to its cap; finding much shrink
 * it to the floor; inside the band it holds. */
static void
test_bulk_bounds(void)
{
	struct dp_idle_pol p;
	uint64_t bytes = 0;
	unsigned us = 0, prev = 0;
	bool bulk;

	dp_idle_pol_init(&p, 0);
	for (int i = 0; i < 100; i++) {
		bytes += 64 * 1024;
		dp_idle_pol_work(&p);
		us = dp_idle_pol_next(&p, DP_BULK_SPIN, 5, bytes, NONE, &bulk);
		CHECK(bulk && us >= prev && us <= DP_BULK_SLEEP_MAX_US);
		prev = us;
	}
	CHECK_EQ_INT(us, DP_BULK_SLEEP_MAX_US);
	for (int i = 0; i < 100; i++) {
		bytes += 4 * DP_BULK_BATCH;
		dp_idle_pol_work(&p);
		us = dp_idle_pol_next(&p, DP_BULK_SPIN, 5, bytes, NONE, &bulk);
		CHECK(bulk && us <= prev && us >= DP_IDLE_SLEEP_MIN_US);
		prev = us;
	}
	CHECK_EQ_INT(us, DP_IDLE_SLEEP_MIN_US);
	p.bulk_us = 300;
	bytes += DP_BULK_BATCH + DP_BULK_BATCH / 2;
	CHECK_EQ_INT(dp_idle_pol_next(&p, DP_BULK_SPIN, 5, bytes, NONE, &bulk), 300);
}

/* A due TCP timer cuts any sleep, to no less than the floor. */
static void
test_timer(void)
{
	struct dp_idle_pol p;
	bool bulk;

	dp_idle_pol_init(&p, 0);
	p.bulk_us = DP_BULK_SLEEP_MAX_US;
	CHECK_EQ_INT(dp_idle_pol_next(&p, DP_BULK_SPIN, 5, 64 * 1024, 100, &bulk), 100);
	CHECK_EQ_INT(p.bulk_us, DP_BULK_SLEEP_MAX_US);    /* the tuning is kept */
	CHECK_EQ_INT(dp_idle_pol_next(&p, DP_IDLE_YIELD, 1000000, 64 * 1024, 3, &bulk),
	    DP_IDLE_SLEEP_MIN_US);
	CHECK_EQ_INT(dp_idle_pol_next(&p, DP_IDLE_YIELD, 1000000, 64 * 1024, 1000, &bulk),
	    DP_IDLE_SLEEP_MAX_US);
}

/*
 * A sender at rate bytes per microsecond, limited to a window per wake-up
 * (what the peer may send unacknowledged): after a while each wake-up finds
 * DP_BULK_BATCH..2*DP_BULK_BATCH bytes, or the sleep sits at its cap, and
 * the wake-ups per MiB are few; the batch never exceeds the window.
 */
static void
sim(uint64_t rate, uint64_t window, unsigned max_wakes_per_mib)
{
	struct dp_idle_pol p;
	uint64_t bytes = 0, moved = 0, total = 0, wakes = 0;
	unsigned us = DP_IDLE_SLEEP_MIN_US;
	bool bulk;

	dp_idle_pol_init(&p, 0);
	bytes = moved = window;         /* the first window arrives at once */
	for (int i = 0; i < 400; i++) {
		dp_idle_pol_work(&p);
		us = dp_idle_pol_next(&p, DP_BULK_SPIN, 5, bytes, NONE, &bulk);
		CHECK(bulk && us >= DP_IDLE_SLEEP_MIN_US && us <= DP_BULK_SLEEP_MAX_US);
		moved = rate * us < window ? rate * us : window;
		bytes += moved;
		if (i >= 200) {
			total += moved;
			wakes++;
			CHECK((moved >= DP_BULK_BATCH && moved <= 2 * (uint64_t)DP_BULK_BATCH + rate *
			    (us / 4 + 1)) || us == DP_BULK_SLEEP_MAX_US || moved == window);
		}
	}
	CHECK(wakes * (1u << 20) <= (uint64_t)max_wakes_per_mib * total);
}

static void
test_bulk_converges(void)
{
	sim(300, 256 * 1024, 8);        /* 300 MB/s, dsshd's default window */
	sim(100, 256 * 1024, 24);       /* 100 MB/s: the sleep's cap holds it */
	sim(2000, 256 * 1024, 8);       /* 2 GB/s */
	sim(400, 64 * 1024, 17);        /* a small window: every wake-up finds it full */
}

int
main(void)
{
	DSSH_RUN(test_idle_ramp);
	DSSH_RUN(test_keystrokes);
	DSSH_RUN(test_bulk_enter);
	DSSH_RUN(test_bulk_bounds);
	DSSH_RUN(test_timer);
	DSSH_RUN(test_bulk_converges);
	DSSH_TEST_END();
}
