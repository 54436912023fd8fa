/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_TURN_H
#define DSSH_TURN_H

/*
 * Threads taking turns, first come first served (a ticket lock): dssh-cp's
 * stream threads on one DPDK port (dpdkopt.h), where the port, lib/net,
 * lib/tcp and every stream on it must be one thread's at any moment, as if
 * one thread polled. take before touching what is shared, pass at each wait
 * (the threads in line run first, in the order they came; nobody in line:
 * the turn is kept, no wake-up, no sleep), give when done. Until
 * dssh_turn_init (a zeroed struct) all three do nothing.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct dssh_turn {
	bool on;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t ticket;              /* the next one handed out */
	uint64_t serving;             /* whose turn it is */
};

void dssh_turn_init(struct dssh_turn *t);
void dssh_turn_fini(struct dssh_turn *t);
void dssh_turn_take(struct dssh_turn *t);
void dssh_turn_pass(struct dssh_turn *t);
void dssh_turn_give(struct dssh_turn *t);
/* Threads holding or waiting for a ticket (for tests). */
unsigned dssh_turn_queued(struct dssh_turn *t);

#endif
