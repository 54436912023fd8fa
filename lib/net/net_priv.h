/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_NET_PRIV_H
#define DSSH_NET_PRIV_H

#include "dssh_net.h"

enum dssh_net_arp_state {
	DSSH_NET_ARP_FREE = 0,
	DSSH_NET_ARP_INCOMPLETE,
	DSSH_NET_ARP_REACHABLE,
};

struct dssh_net_arp_entry {
	uint32_t ip;
	uint8_t state;
	uint8_t mac[6];
	uint32_t tries;
	uint64_t deadline;      /* next retry (incomplete) or expiry (reachable) */
	uint16_t held_len;      /* one IPv4 datagram waiting for resolution, 0: none */
	unsigned held_flags;
};

#define DSSH_NET_ND_CACHE_SIZE 32

struct dssh_net_nd_entry {
	uint8_t ip[16];
	uint8_t state;          /* dssh_net_arp_state values */
	uint8_t mac[6];
	uint64_t deadline;      /* expiry (reachable) or next solicitation allowed (incomplete) */
};

struct dssh_net_ctx {
	struct dssh_net_conf conf;
	uint32_t mask;
	struct dssh_net_stats st;
	struct dssh_net_arp_entry arp[DSSH_NET_ARP_CACHE_SIZE];
	uint8_t *held;          /* DSSH_NET_ARP_CACHE_SIZE slots of mtu bytes */
	uint16_t ip_id;
	uint64_t gw_retry_at;   /* when to try the gateway again after a failed resolution */
	uint64_t icmp_err_sec;  /* rate limit window (second) and tokens left in it */
	uint32_t icmp_err_left;
	uint8_t ip6_ll[16];
	struct dssh_net_nd_entry nd[DSSH_NET_ND_CACHE_SIZE];
	uint8_t txbuf[DSSH_NET_FRAME_MAX];
};

static const uint8_t dssh_net_bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static inline uint16_t dssh_net_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline void dssh_net_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* Counts the drop, returns err. */
int dssh_net_drop(struct dssh_net_ctx *ctx, enum dssh_net_drop reason, int err);
/* Sends txbuf[0..len) through the tx callback, counting it. */
int dssh_net_send(struct dssh_net_ctx *ctx, size_t len, unsigned flags);
void dssh_net_eth_header(struct dssh_net_ctx *ctx, const uint8_t dst[6], uint16_t type);

/* ICMP error rate limit shared by v4 and v6: 1 when one may be sent now (counted otherwise). */
int dssh_net_icmp_err_allowed(struct dssh_net_ctx *ctx, uint64_t now_ms);

/* arp.c */
int dssh_net_arp_input(struct dssh_net_ctx *ctx, struct dssh_buf *b, uint64_t now_ms);
int dssh_net_arp_send(struct dssh_net_ctx *ctx, uint16_t oper, const uint8_t eth_dst[6],
    const uint8_t tha[6], uint32_t tpa);
/* Holds the datagram at txbuf + 14 (len bytes) for next hop nh and resolves it. */
int dssh_net_arp_hold(struct dssh_net_ctx *ctx, uint32_t nh, size_t len, unsigned flags,
    uint64_t now_ms);

/* ipv6.c */
int dssh_net_ip6_input(struct dssh_net_ctx *ctx, struct dssh_buf *b, int l2_mcast,
    uint64_t now_ms);
/* Ethernet destination acceptable for IPv6 (our solicited-node / all-nodes groups). */
int dssh_net_ip6_mcast_mac_ok(const struct dssh_net_ctx *ctx, const uint8_t mac[6]);
void dssh_net_ip6_init(struct dssh_net_ctx *ctx);
void dssh_net_ip6_start(struct dssh_net_ctx *ctx);
void dssh_net_nd_tick(struct dssh_net_ctx *ctx, uint64_t now_ms);

#endif
