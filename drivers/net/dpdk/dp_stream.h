/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DP_STREAM_H
#define DP_STREAM_H

/* The data-core side of the byte-stream service (see dssh_dpdk.h). */
#include <stdint.h>

#include "dssh_dpdk.h"
#include "dssh_recpump.h"
#include "dssh_tcp.h"

#define DP_REC_STAGE (2u << 20)       /* staging bytes per core (>= 1 packet) */
#define DP_TX_REF_MIN 1024            /* smaller packets are sealed in the TCP ring */

struct rte_mempool;

/* Per data core: the streams it owns and its counters. */
struct dp_streams {
	struct dssh_dpdk_hub *hub;
	unsigned core;
	struct dssh_dpdk_stream *list;
	uint64_t opened, refused, closed, gone;
	uint64_t rx_bytes, tx_bytes;
	uint64_t active;
	/* The SSH packet layer (when the hub has it): this core's record
	 * pump (lib/recpump), with its own engine; its counters are the
	 * ssh_* ones, its bytes count in rx_bytes/tx_bytes. */
	struct dssh_recpump *pump;
	struct dssh_recpump_stats pump_last;   /* its counters once it is freed */
	uint64_t now_us;            /* of the flush under way */
	/*
	 * Packets sealed straight into an mbuf of tx_mp (one packet, up to
	 * tx_room bytes, per buffer) and queued by reference in TCP
	 * (dssh_tcp_send_ref), while the core's TCP holds fewer than
	 * tx_hold_max of them (*tx_held, plus tx_pending taken for the burst
	 * being sealed). tx_mp NULL: sealed in the TCP ring.
	 */
	struct rte_mempool *tx_mp;
	uint32_t tx_room;
	const uint32_t *tx_held;
	uint32_t tx_hold_max, tx_pending;
	/* Forwarding targets the core connects itself (CHAN_CONNECT): its
	 * TCP stack and address (NULL/0: refused). */
	struct dssh_tcp_stack *tcp;
	uint32_t laddr;
};

/* Rings for ncores data cores (after rte_eal_init); 0 or DSSH_ERR_*. */
int dp_hub_attach(struct dssh_dpdk_hub *hub, unsigned ncores, int socket);
/* After the data cores stopped: drops queued references, frees the rings. */
void dp_hub_detach(struct dssh_dpdk_hub *hub);

/* 0, or DSSH_ERR_* when the core's crypto engine cannot be made. */
int dp_streams_init(struct dp_streams *ds, struct dssh_dpdk_hub *hub, unsigned core);
/* A connection accepted on a stream port: hand it to the control thread
 * (or reset it when the hub is full). */
void dp_streams_accept(struct dp_streams *ds, struct dssh_tcp_conn *conn, uint64_t now_us);
/* TCP events of a connection whose udata is a stream. */
void dp_streams_tcp_event(struct dp_streams *ds, struct dssh_tcp_conn *conn, uint32_t events,
    uint64_t now_us);
/* TCP events of a forwarding target's connection (udata with bit 0 set). */
void dp_streams_target_event(struct dp_streams *ds, void *udata, uint32_t events,
    uint64_t now_us);
/* Now and then: connect timeouts. */
void dp_streams_tick(struct dp_streams *ds, uint64_t now_us);
/* Requests from the control thread are waiting. */
bool dp_streams_pending(const struct dp_streams *ds);
/* Requests from the control thread (new output, closes). */
void dp_streams_poll(struct dp_streams *ds, uint64_t now_us);
/* Seals and opens what the events and requests of this poll left waiting. */
void dp_streams_flush(struct dp_streams *ds, uint64_t now_us);
bool dp_streams_dirty(const struct dp_streams *ds);
/*
 * Blocking for interrupts: the core's bell, an eventfd that is readable
 * when the control thread queued work for it while it slept. dp_streams_sleep(ds, true) before blocking: false when there is
 * work already (do not block); dp_streams_sleep(ds, false) after waking.
 */
int dp_streams_bell_fd(const struct dp_streams *ds);
bool dp_streams_sleep(struct dp_streams *ds, bool on);
/* Channel offload (dssh_recpump.h): the epoll fd of the children's pipes
 * (-1 without a packet layer), whether any channel is offloaded, and its
 * events taken (flush after). */
int dp_streams_chan_fd(const struct dp_streams *ds);
bool dp_streams_chan_active(const struct dp_streams *ds);
unsigned dp_streams_chan_poll(struct dp_streams *ds);
/* The packet layer's counters (zero without one). */
const struct dssh_recpump_stats *dp_streams_pump_stats(const struct dp_streams *ds);
/* Data core stopping: every connection it owns is reset and let go. */
void dp_streams_fini(struct dp_streams *ds, uint64_t now_us);

#endif
