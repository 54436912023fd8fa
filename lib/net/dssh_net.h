/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_NET_H
#define DSSH_NET_H

/*
 * Network layer below TCP: Ethernet, ARP, IPv4, ICMP. Pure code over byte
 * buffers ("sans-I/O"): the caller hands in received frames and a clock,
 * frames to send come out through the tx callback. One context per data
 * core; nothing here is shared or locked.
 *
 * Addresses are kept in host byte order (uint32_t), MACs as 6 bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DSSH_NET_ETH_HLEN 14
#define DSSH_NET_MTU_DEFAULT 1500
#define DSSH_NET_MTU_MAX 9000
#define DSSH_NET_FRAME_MAX (DSSH_NET_MTU_MAX + DSSH_NET_ETH_HLEN)
#define DSSH_NET_ARP_CACHE_SIZE 64

#define DSSH_NET_ETHERTYPE_IPV4 0x0800
#define DSSH_NET_ETHERTYPE_ARP 0x0806
#define DSSH_NET_ETHERTYPE_IPV6 0x86dd

#define DSSH_NET_PROTO_ICMP 1
#define DSSH_NET_PROTO_TCP 6
#define DSSH_NET_PROTO_UDP 17

/* Counters: every received frame ends in exactly one of "delivered" or a drop reason. */
#define DSSH_NET_DROP_REASONS(X) \
	X(ETH_TRUNCATED, "eth_truncated") \
	X(ETH_NOT_FOR_US, "eth_not_for_us") \
	X(ETH_BAD_SRC, "eth_bad_src") \
	X(ETH_UNKNOWN_TYPE, "eth_unknown_type") \
	X(ARP_TRUNCATED, "arp_truncated") \
	X(ARP_BAD_FORMAT, "arp_bad_format") \
	X(ARP_BAD_SENDER, "arp_bad_sender") \
	X(ARP_NOT_FOR_US, "arp_not_for_us") \
	X(IP_TRUNCATED, "ip_truncated") \
	X(IP_BAD_VERSION, "ip_bad_version") \
	X(IP_BAD_IHL, "ip_bad_ihl") \
	X(IP_BAD_LENGTH, "ip_bad_length") \
	X(IP_BAD_CHECKSUM, "ip_bad_checksum") \
	X(IP_FRAGMENT, "ip_fragment") \
	X(IP_BAD_SRC, "ip_bad_src") \
	X(IP_NOT_FOR_US, "ip_not_for_us") \
	X(IP_UNKNOWN_PROTO, "ip_unknown_proto") \
	X(ICMP_TRUNCATED, "icmp_truncated") \
	X(ICMP_BAD_CHECKSUM, "icmp_bad_checksum") \
	X(ICMP_UNHANDLED, "icmp_unhandled") \
	X(ICMP_TOO_BIG, "icmp_too_big") \
	X(UDP_TRUNCATED, "udp_truncated") \
	X(UDP_NO_PORT, "udp_no_port") \
	X(TCP_NO_HANDLER, "tcp_no_handler") \
	X(TX_NO_ROUTE, "tx_no_route") \
	X(TX_ARP_FAILED, "tx_arp_failed") \
	X(TX_ARP_QUEUE, "tx_arp_queue") \
	X(TX_RATE_LIMIT, "tx_rate_limit") \
	X(TX_FAILED, "tx_failed") \
	X(IP6_TRUNCATED, "ip6_truncated") \
	X(IP6_BAD_VERSION, "ip6_bad_version") \
	X(IP6_BAD_LENGTH, "ip6_bad_length") \
	X(IP6_BAD_SRC, "ip6_bad_src") \
	X(IP6_NOT_FOR_US, "ip6_not_for_us") \
	X(IP6_UNSUPPORTED_HEADER, "ip6_unsupported_header") \
	X(ICMP6_TRUNCATED, "icmp6_truncated") \
	X(ICMP6_BAD_CHECKSUM, "icmp6_bad_checksum") \
	X(ICMP6_UNHANDLED, "icmp6_unhandled") \
	X(ND_INVALID, "nd_invalid") \
	X(ND_NOT_FOR_US, "nd_not_for_us") \
	X(TX_ND_PENDING, "tx_nd_pending")

enum dssh_net_drop {
#define DSSH_NET_X(e, s) DSSH_NET_DROP_##e,
	DSSH_NET_DROP_REASONS(DSSH_NET_X)
#undef DSSH_NET_X
	DSSH_NET_DROP_MAX
};

const char *dssh_net_drop_name(enum dssh_net_drop reason);

/*
 * Single writer (the owning core). Readers on other threads load each field
 * with a relaxed atomic load; a torn snapshot across fields is acceptable.
 */
struct dssh_net_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t tx_frames, tx_bytes;
	uint64_t rx_arp_request, rx_arp_reply;
	uint64_t tx_arp_request, tx_arp_reply, tx_arp_gratuitous;
	uint64_t rx_icmp_echo, tx_icmp_echo_reply, tx_icmp_unreach;
	uint64_t rx_ip_options;
	uint64_t rx_tcp;
	uint64_t rx_nd_solicit, rx_nd_advert, tx_nd_solicit, tx_nd_advert;
	uint64_t rx_icmp6_echo, tx_icmp6_echo_reply, tx_icmp6_unreach;
	uint64_t drops;                      /* sum of drop[] */
	uint64_t drop[DSSH_NET_DROP_MAX];
};

/* Flags passed with a received frame (checksum offload results). */
#define DSSH_NET_RX_IP_CSUM_GOOD 0x1u   /* hardware verified the IPv4 header checksum */
#define DSSH_NET_RX_IP_CSUM_BAD 0x2u
/* Flags passed with a frame to send. */
#define DSSH_NET_TX_IP_CSUM 0x1u        /* IPv4 header checksum left 0: offload it (l2 14, l3 in frame) */

struct dssh_net_ctx;

/* Send one frame; 0 when queued, negative when it was not (counted as TX_FAILED). */
typedef int (*dssh_net_tx_fn)(void *arg, const uint8_t *frame, size_t len, unsigned flags);
/* A neighbour was learned or refreshed (for sharing between cores). */
typedef void (*dssh_net_arp_fn)(void *arg, uint32_t ip, const uint8_t mac[6]);
/* An IPv4 TCP segment for us (header already validated: src, dst, l4 bytes). */
typedef int (*dssh_net_l4_fn)(void *arg, struct dssh_net_ctx *ctx, uint32_t src, uint32_t dst,
    const uint8_t *seg, size_t len);

struct dssh_net_conf {
	uint8_t mac[6];
	uint32_t ip;            /* our IPv4 address */
	uint8_t prefix_len;     /* 0..32 */
	uint32_t gateway;       /* 0: none (on-link only) */
	uint16_t mtu;           /* 0: DSSH_NET_MTU_DEFAULT */
	bool tx_ip_csum_offload;
	uint32_t arp_reachable_ms;   /* 0: 60000 */
	uint32_t arp_retry_ms;       /* 0: 1000 */
	uint32_t arp_retries;        /* 0: 3 */
	uint32_t icmp_err_per_sec;   /* 0: 100; rate of ICMP errors we send */
	/* IPv6 (optional): a global address; the link-local one comes from the MAC (EUI-64). */
	bool ip6_enabled;
	uint8_t ip6[16];
	uint8_t ip6_prefix_len;
	dssh_net_tx_fn tx;
	void *tx_arg;
	dssh_net_arp_fn arp_learned;  /* may be NULL */
	void *arp_arg;
	dssh_net_l4_fn tcp_input;     /* may be NULL: TCP then counted as TCP_NO_HANDLER */
	void *tcp_arg;
};

int dssh_net_ctx_new(const struct dssh_net_conf *conf, struct dssh_net_ctx **ctxp);
void dssh_net_ctx_free(struct dssh_net_ctx *ctx);
const struct dssh_net_stats *dssh_net_stats(const struct dssh_net_ctx *ctx);

/* Sends the gratuitous ARP announcement and starts resolving the gateway. */
int dssh_net_start(struct dssh_net_ctx *ctx, uint64_t now_ms);
/*
 * Processes one received Ethernet frame. Returns 0 when it was handled
 * (possibly by sending a reply) and a negative DSSH_ERR_* when it was dropped;
 * the drop reason has been counted either way.
 */
int dssh_net_input(struct dssh_net_ctx *ctx, const uint8_t *frame, size_t len,
    unsigned rx_flags, uint64_t now_ms);
/* Timers: ARP retries and expiry. Call every few tens of ms. */
void dssh_net_tick(struct dssh_net_ctx *ctx, uint64_t now_ms);

/*
 * Sends an IPv4 datagram (DF set, TTL 64) carrying payload to dst. When the
 * next hop is not resolved yet, the datagram is held (one per neighbour)
 * and an ARP request goes out: returns DSSH_ERR_AGAIN.
 */
int dssh_net_ip_output(struct dssh_net_ctx *ctx, uint32_t dst, uint8_t proto,
    const uint8_t *payload, size_t len, uint64_t now_ms);

/*
 * For drivers that build frames in their own buffers (straight into mbufs,
 * TSO super-frames): the Ethernet and IPv4 headers for an l4_len-byte
 * payload to dst (l4_len may exceed the MTU for TSO; the NIC fixes each
 * segment's length). *flags gets DSSH_NET_TX_* as for the tx callback.
 * Counted as sent. DSSH_ERR_AGAIN when the next hop is not resolved yet
 * (resolution is started; nothing is held: the caller drops or retries),
 * DSSH_ERR_NOT_FOUND when there is no route.
 */
#define DSSH_NET_IPV4_HDRS (DSSH_NET_ETH_HLEN + 20)
int dssh_net_ip_header(struct dssh_net_ctx *ctx, uint32_t dst, uint8_t proto, size_t l4_len,
    uint8_t hdr[DSSH_NET_IPV4_HDRS], unsigned *flags, uint64_t now_ms);

/* ARP cache. lookup: 0 and *mac when resolved, DSSH_ERR_NOT_FOUND otherwise. */
int dssh_net_arp_lookup(const struct dssh_net_ctx *ctx, uint32_t ip, uint8_t mac[6]);
/* Starts (or keeps) resolving ip: 0 when already resolved, DSSH_ERR_AGAIN while pending. */
int dssh_net_arp_resolve(struct dssh_net_ctx *ctx, uint32_t ip, uint64_t now_ms);
/* Inserts an entry learned elsewhere (another core): sends any held datagram. */
void dssh_net_arp_learn(struct dssh_net_ctx *ctx, uint32_t ip, const uint8_t mac[6],
    uint64_t now_ms);
/* The next hop for dst: dst on the local subnet, else the gateway; 0 when no route. */
uint32_t dssh_net_next_hop(const struct dssh_net_ctx *ctx, uint32_t dst);

/* IPv6 neighbour cache: 0 and *mac when known, DSSH_ERR_NOT_FOUND otherwise. */
int dssh_net_nd_lookup(const struct dssh_net_ctx *ctx, const uint8_t ip6[16], uint8_t mac[6]);
/* Our link-local address (fe80::/64 + modified EUI-64 of the MAC). */
void dssh_net_ip6_link_local(const struct dssh_net_ctx *ctx, uint8_t out[16]);
int dssh_net_parse_ipv6_prefix(const char *s, uint8_t ip6[16], uint8_t *prefix_len);

/* Internet checksum (RFC 1071) helpers. */
uint32_t dssh_net_csum_partial(const uint8_t *p, size_t len, uint32_t sum);
uint16_t dssh_net_csum_fold(uint32_t sum);

/* "a.b.c.d" → host order; "a.b.c.d/n" with prefix. 0 or DSSH_ERR_INVALID_FORMAT. */
int dssh_net_parse_ipv4(const char *s, uint32_t *ip);
int dssh_net_parse_ipv4_prefix(const char *s, uint32_t *ip, uint8_t *prefix_len);
void dssh_net_format_ipv4(uint32_t ip, char out[16]);

#endif
