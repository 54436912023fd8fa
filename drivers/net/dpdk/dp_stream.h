/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DP_STREAM_H
#define DP_STREAM_H

/* The data-core side of the byte-stream service (see dssh_dpdk.h). */
#include <stdint.h>

#include "dssh_dpdk.h"
#include "dssh_tcp.h"

/* Per data core: the streams it owns and its counters. */
struct dp_streams {
	struct dssh_dpdk_hub *hub;
	unsigned core;
	struct dssh_dpdk_stream *list;
	uint64_t opened, refused, closed, gone;
	uint64_t rx_bytes, tx_bytes;
	uint64_t active;
};

/* Rings for ncores data cores (after rte_eal_init); 0 or DSSH_ERR_*. */
int dp_hub_attach(struct dssh_dpdk_hub *hub, unsigned ncores, int socket);
/* After the data cores stopped: drops queued references, frees the rings. */
void dp_hub_detach(struct dssh_dpdk_hub *hub);

void dp_streams_init(struct dp_streams *ds, struct dssh_dpdk_hub *hub, unsigned core);
/* A connection accepted on a stream port: hand it to the control thread
 * (or reset it when the hub is full). */
void dp_streams_accept(struct dp_streams *ds, struct dssh_tcp_conn *conn, uint64_t now_us);
/* TCP events of a connection whose udata is a stream. */
void dp_streams_tcp_event(struct dp_streams *ds, struct dssh_tcp_conn *conn, uint32_t events,
    uint64_t now_us);
/* Waits at a safe point while the control thread forks (see stream.c). */
void dp_streams_park(struct dp_streams *ds);
/* Requests from the control thread are waiting. */
bool dp_streams_pending(const struct dp_streams *ds);
/* Requests from the control thread (new output, closes). */
void dp_streams_poll(struct dp_streams *ds, uint64_t now_us);
/* Data core stopping: every connection it owns is reset and let go. */
void dp_streams_fini(struct dp_streams *ds, uint64_t now_us);

#endif
