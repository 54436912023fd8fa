/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSHD_CTL_H
#define DSSHD_CTL_H

/*
 * The control socket (ControlSocket, for dsshctl) and the Prometheus
 * endpoint (MetricsListen). Both are made by dsshd_ctl_open at start-up,
 * as root and before any privilege is dropped, and served by loop 0's
 * event loop (non-blocking, bounded requests, a few clients at a time).
 * What they show comes from server.c through dsshd_ctl_ops: each loop
 * thread publishes its counters and connections about once a second
 * (tick), so nothing here touches another thread's connections.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dssh_config.h"

struct dssh_evloop;

/* One connection as dsshctl shows it. */
struct dsshd_ctl_sess {
	uint64_t id;
	char user[64];                  /* "" before authentication */
	char peer_ip[64];
	int peer_port;
	unsigned loop;
	bool dataplane;                 /* a DPDK data-plane stream ... */
	unsigned core;                  /* ... owned by this data core */
	bool authenticated;
	unsigned channels;
	uint64_t bytes_in, bytes_out;   /* the engine's wire bytes */
	char cipher[64];
	uint64_t age_s;
};

/* A loop thread's counters: running totals (ended connections included). */
#define DSSHD_LOOP_COUNTERS(X) \
	X(connections, "connections started") \
	X(bytes_in, "SSH bytes received") \
	X(bytes_out, "SSH bytes sent") \
	X(packets_in, "SSH packets received") \
	X(packets_out, "SSH packets sent") \
	X(rekeys, "key re-exchanges after the first") \
	X(auth_failures, "failed authentication attempts") \
	X(kills, "connections ended by dsshctl kill")

enum dsshd_loop_counter {
#define DSSHD_X(n, h) DSSHD_LC_##n,
	DSSHD_LOOP_COUNTERS(DSSHD_X)
#undef DSSHD_X
	DSSHD_LC_N,
};

struct dsshd_ctl_loop {
	uint64_t v[DSSHD_LC_N];
	uint64_t active, authenticated; /* now (gauges) */
};

/* server.c's side; every call is on loop 0. */
struct dsshd_ctl_ops {
	unsigned (*nloops)(void *arg);
	/* Loop i's last published counters and connections (*sess malloc'ed,
	 * the caller frees it). 0 or DSSH_ERR_ALLOC. */
	int (*snapshot)(void *arg, unsigned loop, struct dsshd_ctl_loop *st,
	    struct dsshd_ctl_sess **sess, size_t *n);
	/* Ask the connection's loop to disconnect it: 0, or DSSH_ERR_NOT_FOUND. */
	int (*kill)(void *arg, uint64_t id);
	void *arg;
};

/* At start-up, as root: the sockets the configuration asks for. An error
 * is logged and the daemon goes on without that socket. */
void dsshd_ctl_open(const struct dssh_config *cfg);
/* Loop 0 serves them from now on. */
int dsshd_ctl_attach(struct dssh_evloop *loop, const struct dsshd_ctl_ops *ops);
/* About once a second on loop 0: clients that took too long go. */
void dsshd_ctl_tick(void);
/* At exit: clients closed, the socket file removed. */
void dsshd_ctl_close(void);
/* The control socket's path while it is open, else NULL. */
const char *dsshd_ctl_path(void);

#endif
