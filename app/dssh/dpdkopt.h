/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_DPDKOPT_H
#define DSSH_DPDKOPT_H

/*
 * The client tools' -o DpdkArgs= / DpdkAddress= / DpdkGateway= / DpdkMTU=
 * (dssh, dssh-cp, dssh-load): the connections on a DPDK port of the
 * tool's own (drivers/net/dpdk/dssh_dpdk_client.h) instead of kernel
 * sockets.
 */
#include <stdbool.h>

#include "dssh_client.h"
#include "turn.h"

struct dssh_dpdkopt {
	const char *args, *addr, *gateway, *mtu;
	void *dc;                     /* struct dssh_dpdk_client, once up */
	/* Threads sharing the port take turns on it (dssh-cp); on once the port is up. */
	struct dssh_turn turn;
};

/* One -o argument: true if it was one of ours (then stored). */
bool dssh_dpdkopt_take(struct dssh_dpdkopt *d, const char *arg);
/* DpdkArgs given: EAL and port up, o->transport set; 0 or a negative
 * DSSH_ERR_* (message on stderr, prog its prefix). Not given: 0, nothing. */
int dssh_dpdkopt_up(struct dssh_dpdkopt *d, const char *prog, struct dssh_client_opts *o);
/* The calling thread becomes the one that polls the port (dssh_dpdk_client_thread). */
int dssh_dpdkopt_thread(struct dssh_dpdkopt *d);
/* Port and EAL down (the connections closed before). */
void dssh_dpdkopt_down(struct dssh_dpdkopt *d);

#endif
