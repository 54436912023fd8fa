/* SPDX-License-Identifier: BSD-3-Clause */
/* Threads taking turns (turn.h). */
#include "turn.h"

void
dssh_turn_init(struct dssh_turn *t)
{
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	t->ticket = t->serving = 0;
	t->on = true;
}

void
dssh_turn_fini(struct dssh_turn *t)
{
	if (!t->on)
		return;
	t->on = false;
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
}

void
dssh_turn_take(struct dssh_turn *t)
{
	uint64_t mine;

	if (!t->on)
		return;
	pthread_mutex_lock(&t->mu);
	mine = t->ticket++;
	while (t->serving != mine)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

void
dssh_turn_give(struct dssh_turn *t)
{
	if (!t->on)
		return;
	pthread_mutex_lock(&t->mu);
	t->serving++;
	/* Every waiter wakes; the one whose ticket is up goes on. */
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

void
dssh_turn_pass(struct dssh_turn *t)
{
	bool line;

	if (!t->on)
		return;
	pthread_mutex_lock(&t->mu);
	line = t->ticket != t->serving + 1;
	pthread_mutex_unlock(&t->mu);
	if (!line)
		return;
	dssh_turn_give(t);
	dssh_turn_take(t);
}

unsigned
dssh_turn_queued(struct dssh_turn *t)
{
	unsigned n;

	if (!t->on)
		return 0;
	pthread_mutex_lock(&t->mu);
	n = (unsigned)(t->ticket - t->serving);
	pthread_mutex_unlock(&t->mu);
	return n;
}
