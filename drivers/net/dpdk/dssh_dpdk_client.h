/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_DPDK_CLIENT_H
#define DSSH_DPDK_CLIENT_H

/*
 * The client tools' DPDK data plane: one Ethernet port (a vdev such as
 * net_memif or net_af_packet) with one RX/TX queue pair, our lib/net and
 * lib/tcp on it, and active opens to the server (one for dssh, many at a
 * time for dssh-load, each on its own ephemeral port), all run by one
 * thread when it polls any of them: no kernel socket, no other data core.
 * That one thread is the EAL's main lcore or, after
 * dssh_dpdk_client_thread, another one. The connection is a byte stream for lib/client
 * (struct dssh_client_transport): the SSH engine above it seals and opens
 * packets in the same thread. With one queue every source port is
 * RSS-consistent, so the stack's port_ok hook stays unset.
 *
 * The transport has no file descriptor: dssh_client_fd gives -1 and the
 * tool busy-polls (dssh_client_io / dssh_client_wait).
 */
#include <stdint.h>

#include "dssh_client.h"

struct dssh_dpdk_client;

struct dssh_dpdk_client_conf {
	/* EAL arguments, whitespace separated, e.g. "-l 1 --no-pci --no-huge
	 * -m 128 --vdev=net_memif0,role=client,socket=/run/x.sock". Added when
	 * missing: --in-memory (or with --no-huge --file-prefix=dsshc<pid>,
	 * removed at the end), --no-telemetry, --log-level=4 (EAL messages go
	 * to stderr, never to stdout). */
	const char *eal_args;
	uint32_t ipv4_addr;           /* ours, host byte order */
	uint8_t prefix_len;
	uint32_t gateway;             /* 0: on-link only */
	uint16_t mtu;                 /* 0: 1500 */
	uint32_t tcp_buffer;          /* TCP send/receive buffer, 0: 1 MiB */
};

/* EAL up, port started; 0 or a negative DSSH_ERR_* (messages on stderr).
 * Once per process (an EAL restriction). */
int dssh_dpdk_client_new(const struct dssh_dpdk_client_conf *conf,
    struct dssh_dpdk_client **out);
/* Port stopped and closed, EAL cleaned up. Close the stream first. */
void dssh_dpdk_client_free(struct dssh_dpdk_client *dc);
/*
 * The transport for dssh_client_opts.transport: any number of connections
 * open at a time, all of them used from the one thread (each stream's poll
 * drives the whole port, so the others' bytes arrive meanwhile).
 */
const struct dssh_client_transport *dssh_dpdk_client_transport(struct dssh_dpdk_client *dc);
/* Makes the calling thread (not the one that called _new) the one that
 * polls: an lcore id of its own, for the mbuf pool's per-lcore cache. */
int dssh_dpdk_client_thread(struct dssh_dpdk_client *dc);

/* Parses "EAL args" and "a.b.c.d/n" into conf (eal_args points into args). */
int dssh_dpdk_client_conf_parse(const char *eal_args, const char *addr,
    struct dssh_dpdk_client_conf *conf);

#endif
