/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh-cp's threads taking turns on one DPDK port (app/dssh/turn.c): off
 * until initialised; first come first served; one thread at a time over
 * many passes, the turn really going round; a pass with nobody in line
 * keeps it. The threads record what they saw; main checks (CHECK is not
 * thread-safe).
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>

#include "dssh_test.h"
#include "turn.h"

#define NTHREADS 4
#define ROUNDS 20000

static struct dssh_turn turn;

static void
test_off(void)
{
	struct dssh_turn t;

	memset(&t, 0, sizeof(t));
	/* Not initialised: nothing blocks, however unbalanced. */
	dssh_turn_take(&t);
	dssh_turn_take(&t);
	dssh_turn_pass(&t);
	dssh_turn_give(&t);
	CHECK_EQ_INT(dssh_turn_queued(&t), 0);
	CHECK_EQ_INT(t.ticket, 0);
	dssh_turn_fini(&t);
}

/* ---- first come first served ---- */

static int order[NTHREADS];
static int norder;

static void *
fifo_thread(void *arg)
{
	dssh_turn_take(&turn);
	order[norder++] = (int)(long)arg;
	dssh_turn_give(&turn);
	return NULL;
}

static void
test_fifo(void)
{
	pthread_t th[NTHREADS];

	dssh_turn_init(&turn);
	norder = 0;
	dssh_turn_take(&turn);
	/* Each one in line before the next starts: their order is known. */
	for (long i = 0; i < NTHREADS; i++) {
		CHECK(pthread_create(&th[i], NULL, fifo_thread, (void *)i) == 0);
		while (dssh_turn_queued(&turn) != (unsigned)i + 2)
			sched_yield();
	}
	CHECK_EQ_INT(norder, 0);
	dssh_turn_give(&turn);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ_INT(norder, NTHREADS);
	for (int i = 0; i < NTHREADS; i++)
		CHECK_EQ_INT(order[i], i);
	CHECK_EQ_INT(dssh_turn_queued(&turn), 0);
	dssh_turn_fini(&turn);
}

/* ---- one at a time, and round ---- */

/* Touched only with the turn (the ticket lock's mutex orders them). */
static int inside, overlaps, last = -1;
static long shared, switches;
static pthread_barrier_t start;

static void *
loop_thread(void *arg)
{
	int id = (int)(long)arg;

	/* All in line at about once: the first's head start is short. */
	pthread_barrier_wait(&start);
	dssh_turn_take(&turn);
	for (int i = 0; i < ROUNDS; i++) {
		if (inside++ != 0)
			overlaps++;
		if (last != id)
			switches++;
		last = id;
		shared++;
		/* A wider window for another thread to run now if it could. */
		if (i % 64 == 0)
			sched_yield();
		inside--;
		dssh_turn_pass(&turn);
	}
	dssh_turn_give(&turn);
	return NULL;
}

static void
test_exclusive(void)
{
	pthread_t th[NTHREADS];

	dssh_turn_init(&turn);
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (long i = 0; i < NTHREADS; i++)
		CHECK(pthread_create(&th[i], NULL, loop_thread, (void *)i) == 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	CHECK_EQ_INT(overlaps, 0);
	CHECK_EQ_INT(shared, (long)NTHREADS * ROUNDS);
	/* With the others in line every pass hands the turn on. */
	CHECK(switches > ROUNDS);
	dssh_turn_fini(&turn);
}

static void
test_keep(void)
{
	dssh_turn_init(&turn);
	dssh_turn_take(&turn);
	for (int i = 0; i < 1000; i++)
		dssh_turn_pass(&turn);
	/* Nobody in line: no ticket given back and taken again. */
	CHECK_EQ_INT(turn.ticket, 1);
	CHECK_EQ_INT(dssh_turn_queued(&turn), 1);
	dssh_turn_give(&turn);
	CHECK_EQ_INT(dssh_turn_queued(&turn), 0);
	dssh_turn_fini(&turn);
	CHECK(!turn.on);
}

int
main(void)
{
	DSSH_RUN(test_off);
	DSSH_RUN(test_fifo);
	DSSH_RUN(test_exclusive);
	DSSH_RUN(test_keep);
	DSSH_TEST_END();
}
