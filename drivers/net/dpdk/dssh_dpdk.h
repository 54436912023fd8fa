/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_DPDK_H
#define DSSH_DPDK_H

/*
 * DPDK data plane: EAL, one Ethernet port, one control lcore (the main
 * lcore, the caller's thread) and N data lcores each polling its own RX/TX
 * queue pair with its own lib/net context. Control and data lcores talk
 * through rte_ring; per-core counters are published to DPDK telemetry as
 * "/dssh/stats" (and the control core's neighbour table as "/dssh/arp").
 * Each data lcore also runs its own lib/tcp stack, fed from lib/net.
 */
#include <stdbool.h>
#include <stdint.h>

struct dssh_dpdk_conf {
	/* EAL arguments, whitespace separated, e.g.
	 * "--no-pci --no-huge -m 256 --vdev=net_tap0,iface=dtap0". Added when
	 * missing: -l 0-N (control + N data lcores), --file-prefix=dssh,
	 * --no-huge (and -m 256) when the machine has no free hugepages,
	 * --huge-unlink when it has. */
	const char *eal_args;
	uint32_t ipv4_addr;       /* host byte order */
	uint8_t prefix_len;
	uint32_t gateway;         /* 0: none */
	bool ipv6_enabled;        /* IPv6 with neighbour discovery, on-link only */
	uint8_t ipv6_addr[16];
	uint8_t ipv6_prefix_len;
	unsigned n_data_cores;    /* 0: 1 */
	uint16_t mtu;             /* 0: 1500 */
	bool sw_csum;             /* ignore checksum offloads even where offered */
	/*
	 * Built-in TCP echo service for tests (0: none): every connection
	 * accepted on this port echoes what it receives and closes when the
	 * peer closes. Needs n_data_cores == 1 (RSS may spread a flow).
	 */
	uint16_t tcp_echo_port;
};

/*
 * Runs the data plane until *stop becomes non-zero (e.g. set by a SIGTERM
 * handler), then stops and closes the port and cleans up the EAL. May be
 * called once per process (an EAL restriction). 0 or a negative DSSH_ERR_*.
 */
int dssh_dpdk_dataplane_run(const struct dssh_dpdk_conf *conf, volatile int *stop);

#endif
