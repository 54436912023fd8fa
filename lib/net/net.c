/* SPDX-License-Identifier: BSD-3-Clause */
/* Ethernet II, IPv4 (RFC 791, RFC 1122 host rules), ICMP (RFC 792), UDP port unreachable. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_util.h"
#include "net_priv.h"

#define IPV4_HLEN 20
#define IPV4_DF 0x4000
#define IPV4_MF 0x2000
#define IPV4_OFFMASK 0x1fff
#define IP_TTL_OUT 64
#define ICMP_ECHO_REPLY 0
#define ICMP_UNREACH 3
#define ICMP_UNREACH_PROTO 2
#define ICMP_UNREACH_PORT 3
#define ICMP_ECHO 8

static const char *const drop_names[] = {
#define DSSH_NET_X(e, s) s,
	DSSH_NET_DROP_REASONS(DSSH_NET_X)
#undef DSSH_NET_X
};

const char *
dssh_net_drop_name(enum dssh_net_drop reason)
{
	if ((unsigned)reason >= DSSH_NET_DROP_MAX)
		return "unknown";
	return drop_names[reason];
}

int
dssh_net_drop(struct dssh_net_ctx *ctx, enum dssh_net_drop reason, int err)
{
	ctx->st.drop[reason]++;
	ctx->st.drops++;
	return err;
}

int
dssh_net_send(struct dssh_net_ctx *ctx, size_t len, unsigned flags)
{
	if (ctx->conf.tx(ctx->conf.tx_arg, ctx->txbuf, len, flags) != 0)
		return dssh_net_drop(ctx, DSSH_NET_DROP_TX_FAILED, DSSH_ERR_BUSY);
	ctx->st.tx_frames++;
	ctx->st.tx_bytes += len;
	return 0;
}

void
dssh_net_eth_header(struct dssh_net_ctx *ctx, const uint8_t dst[6], uint16_t type)
{
	memcpy(ctx->txbuf, dst, 6);
	memcpy(ctx->txbuf + 6, ctx->conf.mac, 6);
	dssh_net_put16(ctx->txbuf + 12, type);
}

uint32_t
dssh_net_csum_partial(const uint8_t *p, size_t len, uint32_t sum)
{
	uint64_t s = sum;

	for (; len >= 2; p += 2, len -= 2)
		s += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t
dssh_net_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int
dssh_net_ctx_new(const struct dssh_net_conf *conf, struct dssh_net_ctx **ctxp)
{
	struct dssh_net_ctx *ctx;

	*ctxp = NULL;
	if (conf == NULL || conf->tx == NULL || conf->prefix_len > 32 || conf->ip == 0 ||
	    (conf->mac[0] & 1) != 0 || conf->mtu > DSSH_NET_MTU_MAX ||
	    (conf->mtu != 0 && conf->mtu < 576) ||
	    (conf->ip6_enabled && (conf->ip6_prefix_len > 128 || conf->ip6[0] == 0xff ||
	    (conf->mtu != 0 && conf->mtu < 1280))))
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return DSSH_ERR_ALLOC;
	ctx->conf = *conf;
	if (ctx->conf.mtu == 0)
		ctx->conf.mtu = DSSH_NET_MTU_DEFAULT;
	if (ctx->conf.arp_reachable_ms == 0)
		ctx->conf.arp_reachable_ms = 60000;
	if (ctx->conf.arp_retry_ms == 0)
		ctx->conf.arp_retry_ms = 1000;
	if (ctx->conf.arp_retries == 0)
		ctx->conf.arp_retries = 3;
	if (ctx->conf.icmp_err_per_sec == 0)
		ctx->conf.icmp_err_per_sec = 100;
	ctx->icmp_err_sec = UINT64_MAX;
	ctx->mask = conf->prefix_len == 0 ? 0 : 0xffffffffu << (32 - conf->prefix_len);
	if ((ctx->held = calloc(DSSH_NET_ARP_CACHE_SIZE, ctx->conf.mtu)) == NULL) {
		free(ctx);
		return DSSH_ERR_ALLOC;
	}
	if (ctx->conf.ip6_enabled)
		dssh_net_ip6_init(ctx);
	*ctxp = ctx;
	return 0;
}

void
dssh_net_ctx_free(struct dssh_net_ctx *ctx)
{
	if (ctx == NULL)
		return;
	free(ctx->held);
	free(ctx);
}

const struct dssh_net_stats *
dssh_net_stats(const struct dssh_net_ctx *ctx)
{
	return &ctx->st;
}

uint32_t
dssh_net_next_hop(const struct dssh_net_ctx *ctx, uint32_t dst)
{
	if ((dst & ctx->mask) == (ctx->conf.ip & ctx->mask))
		return dst;
	return ctx->conf.gateway;
}

int
dssh_net_start(struct dssh_net_ctx *ctx, uint64_t now_ms)
{
	int r;

	/* RFC 5227 announcement: a request with sender and target both our address. */
	if ((r = dssh_net_arp_send(ctx, 1, dssh_net_bcast_mac, NULL, ctx->conf.ip)) != 0)
		return r;
	if (ctx->conf.ip6_enabled)
		dssh_net_ip6_start(ctx);
	if (ctx->conf.gateway != 0 && ctx->conf.gateway != ctx->conf.ip) {
		ctx->gw_retry_at = now_ms + 5 * (uint64_t)ctx->conf.arp_retry_ms;
		(void)dssh_net_arp_resolve(ctx, ctx->conf.gateway, now_ms);
	}
	return 0;
}

/* IPv4 header (DF, TTL 64) for a datagram of tot bytes; checksum per offload. */
static unsigned
ip_header(struct dssh_net_ctx *ctx, uint8_t *ip, uint32_t dst, uint8_t proto, size_t tot)
{
	ip[0] = 0x45;
	ip[1] = 0;
	dssh_net_put16(ip + 2, (uint16_t)tot);
	/* DF is always set, so the ID only needs to differ between datagrams for diagnosis. */
	dssh_net_put16(ip + 4, ctx->ip_id++);
	dssh_net_put16(ip + 6, IPV4_DF);
	ip[8] = IP_TTL_OUT;
	ip[9] = proto;
	dssh_net_put16(ip + 10, 0);
	dssh_put_u32be(ip + 12, ctx->conf.ip);
	dssh_put_u32be(ip + 16, dst);
	if (ctx->conf.tx_ip_csum_offload)
		return DSSH_NET_TX_IP_CSUM;
	dssh_net_put16(ip + 10, dssh_net_csum_fold(dssh_net_csum_partial(ip, IPV4_HLEN, 0)));
	return 0;
}

int
dssh_net_ip_header(struct dssh_net_ctx *ctx, uint32_t dst, uint8_t proto, size_t l4_len,
    uint8_t hdr[DSSH_NET_IPV4_HDRS], unsigned *flags, uint64_t now_ms)
{
	uint8_t mac[6];
	uint32_t nh;
	size_t tot = IPV4_HLEN + l4_len;

	if (tot > UINT16_MAX)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((nh = dssh_net_next_hop(ctx, dst)) == 0)
		return dssh_net_drop(ctx, DSSH_NET_DROP_TX_NO_ROUTE, DSSH_ERR_NOT_FOUND);
	if (dssh_net_arp_lookup(ctx, nh, mac) != 0) {
		(void)dssh_net_arp_resolve(ctx, nh, now_ms);
		return DSSH_ERR_AGAIN;
	}
	memcpy(hdr, mac, 6);
	memcpy(hdr + 6, ctx->conf.mac, 6);
	dssh_net_put16(hdr + 12, DSSH_NET_ETHERTYPE_IPV4);
	*flags = ip_header(ctx, hdr + DSSH_NET_ETH_HLEN, dst, proto, tot);
	ctx->st.tx_frames++;
	ctx->st.tx_bytes += DSSH_NET_ETH_HLEN + tot;
	return 0;
}

/* Sends the len-byte payload already at txbuf + 14 + 20 as an IPv4 datagram. */
static int
ip_output_inplace(struct dssh_net_ctx *ctx, uint32_t dst, uint8_t proto, size_t len,
    uint64_t now_ms)
{
	uint8_t *ip = ctx->txbuf + DSSH_NET_ETH_HLEN;
	uint8_t mac[6];
	uint32_t nh;
	size_t tot = IPV4_HLEN + len;
	unsigned flags = 0;

	if (tot > ctx->conf.mtu)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((nh = dssh_net_next_hop(ctx, dst)) == 0)
		return dssh_net_drop(ctx, DSSH_NET_DROP_TX_NO_ROUTE, DSSH_ERR_NOT_FOUND);
	flags = ip_header(ctx, ip, dst, proto, tot);
	if (dssh_net_arp_lookup(ctx, nh, mac) != 0)
		return dssh_net_arp_hold(ctx, nh, tot, flags, now_ms);
	dssh_net_eth_header(ctx, mac, DSSH_NET_ETHERTYPE_IPV4);
	return dssh_net_send(ctx, DSSH_NET_ETH_HLEN + tot, flags);
}

int
dssh_net_ip_output(struct dssh_net_ctx *ctx, uint32_t dst, uint8_t proto,
    const uint8_t *payload, size_t len, uint64_t now_ms)
{
	if (len > (size_t)ctx->conf.mtu - IPV4_HLEN)
		return DSSH_ERR_INVALID_ARGUMENT;
	memmove(ctx->txbuf + DSSH_NET_ETH_HLEN + IPV4_HLEN, payload, len);
	return ip_output_inplace(ctx, dst, proto, len, now_ms);
}

int
dssh_net_icmp_err_allowed(struct dssh_net_ctx *ctx, uint64_t now_ms)
{
	uint64_t sec = now_ms / 1000;

	if (sec != ctx->icmp_err_sec) {
		ctx->icmp_err_sec = sec;
		ctx->icmp_err_left = ctx->conf.icmp_err_per_sec;
	}
	if (ctx->icmp_err_left == 0) {
		dssh_net_drop(ctx, DSSH_NET_DROP_TX_RATE_LIMIT, 0);
		return 0;
	}
	ctx->icmp_err_left--;
	return 1;
}

/*
 * ICMP error quoting the offending datagram's header and first 8 payload
 * bytes (RFC 792). Never for broadcasts, fragments or ICMP errors (RFC 1122
 * 3.2.2); the callers have already excluded those. Rate limited.
 */
static void
icmp_error(struct dssh_net_ctx *ctx, uint8_t type, uint8_t code, uint32_t dst,
    const uint8_t *orig, size_t orig_len, uint64_t now_ms)
{
	uint8_t *icmp = ctx->txbuf + DSSH_NET_ETH_HLEN + IPV4_HLEN;

	if (!dssh_net_icmp_err_allowed(ctx, now_ms))
		return;
	if (orig_len > (size_t)ctx->conf.mtu - IPV4_HLEN - 8)
		orig_len = (size_t)ctx->conf.mtu - IPV4_HLEN - 8;
	icmp[0] = type;
	icmp[1] = code;
	memset(icmp + 2, 0, 6);
	memcpy(icmp + 8, orig, orig_len);
	dssh_net_put16(icmp + 2, dssh_net_csum_fold(dssh_net_csum_partial(icmp, 8 + orig_len, 0)));
	if (ip_output_inplace(ctx, dst, DSSH_NET_PROTO_ICMP, 8 + orig_len, now_ms) != DSSH_ERR_INVALID_ARGUMENT)
		ctx->st.tx_icmp_unreach++;
}

static int
icmp_input(struct dssh_net_ctx *ctx, struct dssh_buf *b, size_t len, uint32_t src,
    uint64_t now_ms)
{
	uint8_t *icmp = ctx->txbuf + DSSH_NET_ETH_HLEN + IPV4_HLEN;

	if (len < 8)
		return dssh_net_drop(ctx, DSSH_NET_DROP_ICMP_TRUNCATED, DSSH_ERR_MSG_INCOMPLETE);
	if (len > (size_t)ctx->conf.mtu - IPV4_HLEN)
		return dssh_net_drop(ctx, DSSH_NET_DROP_ICMP_TOO_BIG, DSSH_ERR_INVALID_FORMAT);
	/* Copied straight into the reply position; the caller checked len against b. */
	if (dssh_buf_get(b, icmp, len) != 0)
		return dssh_net_drop(ctx, DSSH_NET_DROP_ICMP_TRUNCATED, DSSH_ERR_MSG_INCOMPLETE);
	if (dssh_net_csum_fold(dssh_net_csum_partial(icmp, len, 0)) != 0)
		return dssh_net_drop(ctx, DSSH_NET_DROP_ICMP_BAD_CHECKSUM, DSSH_ERR_INVALID_FORMAT);
	if (icmp[0] != ICMP_ECHO || icmp[1] != 0)
		return dssh_net_drop(ctx, DSSH_NET_DROP_ICMP_UNHANDLED, DSSH_ERR_UNSUPPORTED);
	ctx->st.rx_icmp_echo++;
	/* Identifier, sequence number and data echoed unchanged. */
	icmp[0] = ICMP_ECHO_REPLY;
	dssh_net_put16(icmp + 2, 0);
	dssh_net_put16(icmp + 2, dssh_net_csum_fold(dssh_net_csum_partial(icmp, len, 0)));
	ctx->st.tx_icmp_echo_reply++;
	(void)ip_output_inplace(ctx, src, DSSH_NET_PROTO_ICMP, len, now_ms);
	return 0;
}

static int
ip_input(struct dssh_net_ctx *ctx, struct dssh_buf *b, unsigned rx_flags, int l2_bcast,
    uint64_t now_ms)
{
	const uint8_t *orig = dssh_buf_ptr(b);  /* for quoting in ICMP errors */
	uint8_t h[IPV4_HLEN];
	size_t avail = dssh_buf_len(b), ihl, tot, plen;
	uint32_t src, dst;
	uint16_t frag;
	uint8_t proto;

	if (dssh_buf_get(b, h, sizeof(h)) != 0)
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP_TRUNCATED, DSSH_ERR_MSG_INCOMPLETE);
	if ((h[0] >> 4) != 4)
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP_BAD_VERSION, DSSH_ERR_INVALID_FORMAT);
	ihl = (size_t)(h[0] & 0x0f) * 4;
	tot = dssh_net_get16(h + 2);
	if (ihl < IPV4_HLEN || ihl > tot)
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP_BAD_IHL, DSSH_ERR_INVALID_FORMAT);
	if (ihl > avail)
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP_TRUNCATED, DSSH_ERR_MSG_INCOMPLETE);
	/* Longer frames are Ethernet padding; shorter ones lost bytes. */
	if (tot > avail)
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP_BAD_LENGTH, DSSH_ERR_INVALID_FORMAT);
	if (rx_flags & DSSH_NET_RX_IP_CSUM_BAD)
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP_BAD_CHECKSUM, DSSH_ERR_INVALID_FORMAT);
	if (!(rx_flags & DSSH_NET_RX_IP_CSUM_GOOD) &&
	    dssh_net_csum_fold(dssh_net_csum_partial(orig, ihl, 0)) != 0)
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP_BAD_CHECKSUM, DSSH_ERR_INVALID_FORMAT);
	src = dssh_get_u32be(h + 12);
	dst = dssh_get_u32be(h + 16);
	if (src == 0 || src == 0xffffffffu || (src >> 28) >= 0xe || (src >> 24) == 127 ||
	    src == ctx->conf.ip ||
	    (ctx->conf.prefix_len < 31 && (src & ctx->mask) == (ctx->conf.ip & ctx->mask) &&
	    (src | ctx->mask) == 0xffffffffu))
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP_BAD_SRC, DSSH_ERR_INVALID_FORMAT);
	if (dst != ctx->conf.ip)
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP_NOT_FOR_US, DSSH_ERR_NOT_FOUND);
	/* No reassembly: a host may refuse fragments; they are counted. */
	frag = dssh_net_get16(h + 6);
	if ((frag & IPV4_MF) || (frag & IPV4_OFFMASK))
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP_FRAGMENT, DSSH_ERR_UNSUPPORTED);
	/* TTL is not checked on input: RFC 1122 3.2.1.7, a host does not forward. */
	if (ihl > IPV4_HLEN) {
		ctx->st.rx_ip_options++;
		(void)dssh_buf_consume(b, ihl - IPV4_HLEN);
	}
	plen = tot - ihl;
	proto = h[9];
	switch (proto) {
	case DSSH_NET_PROTO_ICMP:
		return icmp_input(ctx, b, plen, src, now_ms);
	case DSSH_NET_PROTO_TCP:
		if (ctx->conf.tcp_input == NULL)
			return dssh_net_drop(ctx, DSSH_NET_DROP_TCP_NO_HANDLER, DSSH_ERR_UNSUPPORTED);
		ctx->st.rx_tcp++;
		return ctx->conf.tcp_input(ctx->conf.tcp_arg, ctx, src, dst, dssh_buf_ptr(b), plen);
	case DSSH_NET_PROTO_UDP: {
		uint8_t uh[8];
		uint16_t ulen;

		if (plen < 8 || dssh_buf_get(b, uh, sizeof(uh)) != 0)
			return dssh_net_drop(ctx, DSSH_NET_DROP_UDP_TRUNCATED, DSSH_ERR_MSG_INCOMPLETE);
		ulen = dssh_net_get16(uh + 4);
		if (ulen < 8 || ulen > plen)
			return dssh_net_drop(ctx, DSSH_NET_DROP_UDP_TRUNCATED, DSSH_ERR_INVALID_FORMAT);
		/* No UDP services: answer as a host with no listener. */
		if (!l2_bcast)
			icmp_error(ctx, ICMP_UNREACH, ICMP_UNREACH_PORT, src, orig, ihl + 8, now_ms);
		return dssh_net_drop(ctx, DSSH_NET_DROP_UDP_NO_PORT, DSSH_ERR_NOT_FOUND);
	}
	default:
		if (!l2_bcast)
			icmp_error(ctx, ICMP_UNREACH, ICMP_UNREACH_PROTO, src, orig,
			    ihl + DSSH_MIN(plen, (size_t)8), now_ms);
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP_UNKNOWN_PROTO, DSSH_ERR_UNSUPPORTED);
	}
}

int
dssh_net_input(struct dssh_net_ctx *ctx, const uint8_t *frame, size_t len, unsigned rx_flags,
    uint64_t now_ms)
{
	struct dssh_buf b;
	uint8_t eh[DSSH_NET_ETH_HLEN];
	int l2_group;

	ctx->st.rx_frames++;
	ctx->st.rx_bytes += len;
	dssh_buf_from(&b, frame, len);
	if (dssh_buf_get(&b, eh, sizeof(eh)) != 0)
		return dssh_net_drop(ctx, DSSH_NET_DROP_ETH_TRUNCATED, DSSH_ERR_MSG_INCOMPLETE);
	if (eh[6] & 1)
		return dssh_net_drop(ctx, DSSH_NET_DROP_ETH_BAD_SRC, DSSH_ERR_INVALID_FORMAT);
	l2_group = memcmp(eh, ctx->conf.mac, 6) != 0;   /* broadcast or one of our multicast groups */
	if (l2_group && memcmp(eh, dssh_net_bcast_mac, 6) != 0 && !dssh_net_ip6_mcast_mac_ok(ctx, eh))
		return dssh_net_drop(ctx, DSSH_NET_DROP_ETH_NOT_FOR_US, DSSH_ERR_NOT_FOUND);
	switch (dssh_net_get16(eh + 12)) {
	case DSSH_NET_ETHERTYPE_ARP:
		return dssh_net_arp_input(ctx, &b, now_ms);
	case DSSH_NET_ETHERTYPE_IPV4:
		return ip_input(ctx, &b, rx_flags, l2_group, now_ms);
	case DSSH_NET_ETHERTYPE_IPV6:
		if (!ctx->conf.ip6_enabled)
			return dssh_net_drop(ctx, DSSH_NET_DROP_ETH_UNKNOWN_TYPE, DSSH_ERR_UNSUPPORTED);
		return dssh_net_ip6_input(ctx, &b, l2_group, now_ms);
	default:
		return dssh_net_drop(ctx, DSSH_NET_DROP_ETH_UNKNOWN_TYPE, DSSH_ERR_UNSUPPORTED);
	}
}

int
dssh_net_parse_ipv4(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
		return DSSH_ERR_INVALID_FORMAT;
	*ip = ntohl(a.s_addr);
	return 0;
}

int
dssh_net_parse_ipv4_prefix(const char *s, uint32_t *ip, uint8_t *prefix_len)
{
	char tmp[32], *slash, *end;
	unsigned long n = 32;
	int r;

	if (s == NULL || strlen(s) >= sizeof(tmp))
		return DSSH_ERR_INVALID_FORMAT;
	strcpy(tmp, s);
	if ((slash = strchr(tmp, '/')) != NULL) {
		*slash++ = '\0';
		if (*slash == '\0' || *slash == '-' || *slash == '+')
			return DSSH_ERR_INVALID_FORMAT;
		n = strtoul(slash, &end, 10);
		if (*end != '\0' || n > 32)
			return DSSH_ERR_INVALID_FORMAT;
	}
	if ((r = dssh_net_parse_ipv4(tmp, ip)) != 0)
		return r;
	*prefix_len = (uint8_t)n;
	return 0;
}

void
dssh_net_format_ipv4(uint32_t ip, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}
