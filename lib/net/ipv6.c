/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv6 (RFC 8200) as a host: ICMPv6 (RFC 4443) echo and port unreachable,
 * neighbour discovery (RFC 4861) for our global and link-local addresses.
 * Extension headers (fragments included) are counted and dropped.
 * Addresses are resolved on-link only (no router discovery yet); no DAD.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_util.h"
#include "net_priv.h"

#define IP6_HLEN 40
#define NH_TCP 6
#define NH_UDP 17
#define NH_ICMP6 58
#define ICMP6_UNREACH 1
#define ICMP6_UNREACH_PORT 4
#define ICMP6_ECHO 128
#define ICMP6_ECHO_REPLY 129
#define ND_NS 135
#define ND_NA 136
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2
#define ND_HOP_LIMIT 255
#define IP6_HOP_LIMIT 64

static const uint8_t ip6_unspec[16];
static const uint8_t ip6_all_nodes[16] = { 0xff, 0x02, [15] = 1 };

static int ip6_is_mcast(const uint8_t *a) { return a[0] == 0xff; }
static int ip6_is_ll(const uint8_t *a) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }

void
dssh_net_ip6_link_local(const struct dssh_net_ctx *ctx, uint8_t out[16])
{
	const uint8_t *m = ctx->conf.mac;

	memset(out, 0, 16);
	out[0] = 0xfe;
	out[1] = 0x80;
	out[8] = m[0] ^ 0x02;
	out[9] = m[1];
	out[10] = m[2];
	out[11] = 0xff;
	out[12] = 0xfe;
	out[13] = m[3];
	out[14] = m[4];
	out[15] = m[5];
}

void
dssh_net_ip6_init(struct dssh_net_ctx *ctx)
{
	dssh_net_ip6_link_local(ctx, ctx->ip6_ll);
}

static int
ip6_is_ours(const struct dssh_net_ctx *ctx, const uint8_t *a)
{
	return memcmp(a, ctx->conf.ip6, 16) == 0 || memcmp(a, ctx->ip6_ll, 16) == 0;
}

/* ff02::1:ffXX:XXXX for one of our addresses */
static int
ip6_is_our_solicited(const struct dssh_net_ctx *ctx, const uint8_t *a)
{
	static const uint8_t pfx[13] = { 0xff, 0x02, [11] = 1, [12] = 0xff };

	return memcmp(a, pfx, 13) == 0 &&
	    (memcmp(a + 13, ctx->conf.ip6 + 13, 3) == 0 || memcmp(a + 13, ctx->ip6_ll + 13, 3) == 0);
}

int
dssh_net_ip6_mcast_mac_ok(const struct dssh_net_ctx *ctx, const uint8_t mac[6])
{
	if (!ctx->conf.ip6_enabled || mac[0] != 0x33 || mac[1] != 0x33)
		return 0;
	if (mac[2] == 0 && mac[3] == 0 && mac[4] == 0 && mac[5] == 1)
		return 1;
	return mac[2] == 0xff && (memcmp(mac + 3, ctx->conf.ip6 + 13, 3) == 0 ||
	    memcmp(mac + 3, ctx->ip6_ll + 13, 3) == 0);
}

static int
ip6_on_link(const struct dssh_net_ctx *ctx, const uint8_t *a)
{
	unsigned bits = ctx->conf.ip6_prefix_len, i;

	if (ip6_is_ll(a))
		return 1;
	for (i = 0; i < bits / 8; i++)
		if (a[i] != ctx->conf.ip6[i])
			return 0;
	if (bits % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - bits % 8));

		if ((a[i] & m) != (ctx->conf.ip6[i] & m))
			return 0;
	}
	return 1;
}

static uint16_t
icmp6_csum(const uint8_t *src, const uint8_t *dst, const uint8_t *msg, size_t len)
{
	uint8_t tail[8] = { 0 };
	uint32_t sum;

	dssh_put_u32be(tail, (uint32_t)len);
	tail[7] = NH_ICMP6;
	sum = dssh_net_csum_partial(src, 16, 0);
	sum = dssh_net_csum_partial(dst, 16, sum);
	sum = dssh_net_csum_partial(tail, 8, sum);
	return dssh_net_csum_fold(dssh_net_csum_partial(msg, len, sum));
}

/* ---- neighbour cache ---- */

static struct dssh_net_nd_entry *
nd_find(const struct dssh_net_ctx *ctx, const uint8_t *ip)
{
	for (size_t i = 0; i < DSSH_NET_ND_CACHE_SIZE; i++)
		if (ctx->nd[i].state != DSSH_NET_ARP_FREE && memcmp(ctx->nd[i].ip, ip, 16) == 0)
			return (struct dssh_net_nd_entry *)(uintptr_t)&ctx->nd[i];
	return NULL;
}

static struct dssh_net_nd_entry *
nd_alloc(struct dssh_net_ctx *ctx, const uint8_t *ip)
{
	struct dssh_net_nd_entry *v = &ctx->nd[0];

	for (size_t i = 0; i < DSSH_NET_ND_CACHE_SIZE; i++) {
		if (ctx->nd[i].state == DSSH_NET_ARP_FREE) {
			v = &ctx->nd[i];
			break;
		}
		if (ctx->nd[i].deadline < v->deadline)
			v = &ctx->nd[i];
	}
	memset(v, 0, sizeof(*v));
	memcpy(v->ip, ip, 16);
	return v;
}

static void
nd_learn(struct dssh_net_ctx *ctx, const uint8_t *ip, const uint8_t *mac, int create,
    uint64_t now_ms)
{
	struct dssh_net_nd_entry *e = nd_find(ctx, ip);

	if (e == NULL) {
		if (!create)
			return;
		e = nd_alloc(ctx, ip);
	}
	memcpy(e->mac, mac, 6);
	e->state = DSSH_NET_ARP_REACHABLE;
	e->deadline = now_ms + ctx->conf.arp_reachable_ms;
}

int
dssh_net_nd_lookup(const struct dssh_net_ctx *ctx, const uint8_t ip6[16], uint8_t mac[6])
{
	const struct dssh_net_nd_entry *e = nd_find(ctx, ip6);

	if (e == NULL || e->state != DSSH_NET_ARP_REACHABLE)
		return DSSH_ERR_NOT_FOUND;
	if (mac != NULL)
		memcpy(mac, e->mac, 6);
	return 0;
}

void
dssh_net_nd_tick(struct dssh_net_ctx *ctx, uint64_t now_ms)
{
	for (size_t i = 0; i < DSSH_NET_ND_CACHE_SIZE; i++)
		if (ctx->nd[i].state != DSSH_NET_ARP_FREE && now_ms >= ctx->nd[i].deadline &&
		    ctx->nd[i].state == DSSH_NET_ARP_REACHABLE)
			memset(&ctx->nd[i], 0, sizeof(ctx->nd[i]));
}

/* ---- output ---- */

/*
 * Sends the len-byte ICMPv6 message at txbuf + 14 + 40 (checksum filled in
 * here). Multicast destinations map to 33:33:xx; unicast ones need a
 * neighbour entry, else a solicitation goes out and the message is dropped.
 */
static int
icmp6_output(struct dssh_net_ctx *ctx, const uint8_t *src, const uint8_t *dst, size_t len,
    uint8_t hlim, uint64_t now_ms);

/*
 * The 32-byte solicitation or advertisement (RFC 4861 4.3, 4.4) in the
 * transmit buffer: type, the flags byte, target (not in that buffer) and
 * our link-layer address as option opt.
 */
static void
nd_put(struct dssh_net_ctx *ctx, uint8_t type, uint8_t flags, const uint8_t *target,
    uint8_t opt)
{
	uint8_t *m = ctx->txbuf + DSSH_NET_ETH_HLEN + IP6_HLEN;

	memset(m, 0, 32);
	m[0] = type;
	m[4] = flags;
	memcpy(m + 8, target, 16);
	m[24] = opt;
	m[25] = 1;
	memcpy(m + 26, ctx->conf.mac, 6);
}

static void
nd_solicit(struct dssh_net_ctx *ctx, const uint8_t *target, uint64_t now_ms)
{
	uint8_t dst[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
	const uint8_t *src = ip6_is_ll(target) ? ctx->ip6_ll : ctx->conf.ip6;

	memcpy(dst + 13, target + 13, 3);
	nd_put(ctx, ND_NS, 0, target, ND_OPT_SLLA);
	ctx->st.tx_nd_solicit++;
	(void)icmp6_output(ctx, src, dst, 32, ND_HOP_LIMIT, now_ms);
}

static int
icmp6_output(struct dssh_net_ctx *ctx, const uint8_t *src, const uint8_t *dst, size_t len,
    uint8_t hlim, uint64_t now_ms)
{
	uint8_t *ip = ctx->txbuf + DSSH_NET_ETH_HLEN, *msg = ip + IP6_HLEN;
	uint8_t mac[6];
	struct dssh_net_nd_entry *e;

	if (len > (size_t)ctx->conf.mtu - IP6_HLEN)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (ip6_is_mcast(dst)) {
		mac[0] = mac[1] = 0x33;
		memcpy(mac + 2, dst + 12, 4);
	} else if (!ip6_on_link(ctx, dst)) {
		return dssh_net_drop(ctx, DSSH_NET_DROP_TX_NO_ROUTE, DSSH_ERR_NOT_FOUND);
	} else if (dssh_net_nd_lookup(ctx, dst, mac) != 0) {
		/* At most one solicitation a retry interval per neighbour. */
		if ((e = nd_find(ctx, dst)) == NULL) {
			e = nd_alloc(ctx, dst);
			e->state = DSSH_NET_ARP_INCOMPLETE;
		}
		if (now_ms >= e->deadline) {
			uint8_t target[16];

			memcpy(target, dst, 16);
			e->deadline = now_ms + ctx->conf.arp_retry_ms;
			nd_solicit(ctx, target, now_ms);
		}
		return dssh_net_drop(ctx, DSSH_NET_DROP_TX_ND_PENDING, DSSH_ERR_AGAIN);
	}
	msg[2] = msg[3] = 0;
	dssh_net_put16(msg + 2, icmp6_csum(src, dst, msg, len));
	ip[0] = 0x60;
	ip[1] = ip[2] = ip[3] = 0;
	dssh_net_put16(ip + 4, (uint16_t)len);
	ip[6] = NH_ICMP6;
	ip[7] = hlim;
	memmove(ip + 8, src, 16);
	memmove(ip + 24, dst, 16);
	dssh_net_eth_header(ctx, mac, DSSH_NET_ETHERTYPE_IPV6);
	return dssh_net_send(ctx, DSSH_NET_ETH_HLEN + IP6_HLEN + len, 0);
}

static void
nd_advertise(struct dssh_net_ctx *ctx, const uint8_t *target, const uint8_t *dst, int solicited,
    uint64_t now_ms)
{
	uint8_t t[16], d[16];

	memcpy(t, target, 16);
	memcpy(d, dst, 16);
	nd_put(ctx, ND_NA, (uint8_t)((solicited ? 0x40 : 0) | 0x20), t, ND_OPT_TLLA);  /* S, O */
	ctx->st.tx_nd_advert++;
	(void)icmp6_output(ctx, t, d, 32, ND_HOP_LIMIT, now_ms);
}

void
dssh_net_ip6_start(struct dssh_net_ctx *ctx)
{
	/* Unsolicited advertisements (RFC 4861 7.2.6) for both addresses. */
	nd_advertise(ctx, ctx->conf.ip6, ip6_all_nodes, 0, 0);
	nd_advertise(ctx, ctx->ip6_ll, ip6_all_nodes, 0, 0);
}

/* ---- input ---- */

/* Finds a link-layer address option of type want in opts[0..len); -1 malformed, 0 none, 1 found. */
static int
nd_opt_lla(const uint8_t *opts, size_t len, uint8_t want, uint8_t mac[6])
{
	int found = 0;

	while (len > 0) {
		size_t olen;

		if (len < 2 || opts[1] == 0 || (olen = (size_t)opts[1] * 8) > len)
			return -1;
		if (opts[0] == want) {
			if (olen != 8)
				return -1;
			memcpy(mac, opts + 2, 6);
			found = 1;
		}
		opts += olen;
		len -= olen;
	}
	return found;
}

static int
icmp6_input(struct dssh_net_ctx *ctx, struct dssh_buf *b, size_t len, const uint8_t *src,
    const uint8_t *dst, uint8_t hlim, uint64_t now_ms)
{
	uint8_t *m = ctx->txbuf + DSSH_NET_ETH_HLEN + IP6_HLEN;
	uint8_t s[16], d[16], mac[6];
	int r;

	memcpy(s, src, 16);
	memcpy(d, dst, 16);
	if (len < 4)
		return dssh_net_drop(ctx, DSSH_NET_DROP_ICMP6_TRUNCATED, DSSH_ERR_MSG_INCOMPLETE);
	if (len > (size_t)ctx->conf.mtu - IP6_HLEN)
		return dssh_net_drop(ctx, DSSH_NET_DROP_ICMP_TOO_BIG, DSSH_ERR_INVALID_FORMAT);
	if (dssh_buf_get(b, m, len) != 0)
		return dssh_net_drop(ctx, DSSH_NET_DROP_ICMP6_TRUNCATED, DSSH_ERR_MSG_INCOMPLETE);
	if (icmp6_csum(s, d, m, len) != 0)
		return dssh_net_drop(ctx, DSSH_NET_DROP_ICMP6_BAD_CHECKSUM, DSSH_ERR_INVALID_FORMAT);
	switch (m[0]) {
	case ICMP6_ECHO:
		if (len < 8)
			return dssh_net_drop(ctx, DSSH_NET_DROP_ICMP6_TRUNCATED, DSSH_ERR_MSG_INCOMPLETE);
		if (memcmp(s, ip6_unspec, 16) == 0)
			return dssh_net_drop(ctx, DSSH_NET_DROP_IP6_BAD_SRC, DSSH_ERR_INVALID_FORMAT);
		ctx->st.rx_icmp6_echo++;
		m[0] = ICMP6_ECHO_REPLY;
		/* A multicast echo is answered from the address of the matching scope. */
		if (!ip6_is_ours(ctx, d))
			memcpy(d, ip6_is_ll(s) ? ctx->ip6_ll : ctx->conf.ip6, 16);
		ctx->st.tx_icmp6_echo_reply++;
		(void)icmp6_output(ctx, d, s, len, IP6_HOP_LIMIT, now_ms);
		return 0;
	case ND_NS:
		if (hlim != ND_HOP_LIMIT || m[1] != 0 || len < 24 || ip6_is_mcast(m + 8) ||
		    (r = nd_opt_lla(m + 24, len - 24, ND_OPT_SLLA, mac)) < 0 ||
		    (memcmp(s, ip6_unspec, 16) == 0 && (r == 1 || !ip6_is_our_solicited(ctx, d))))
			return dssh_net_drop(ctx, DSSH_NET_DROP_ND_INVALID, DSSH_ERR_INVALID_FORMAT);
		ctx->st.rx_nd_solicit++;
		if (!ip6_is_ours(ctx, m + 8))
			return dssh_net_drop(ctx, DSSH_NET_DROP_ND_NOT_FOR_US, DSSH_ERR_NOT_FOUND);
		if (memcmp(s, ip6_unspec, 16) == 0) {
			/* Someone's DAD probe for our address: defend it. */
			nd_advertise(ctx, m + 8, ip6_all_nodes, 0, now_ms);
			return 0;
		}
		if (r == 1 && (mac[0] & 1) == 0)
			nd_learn(ctx, s, mac, 1, now_ms);
		{
			uint8_t target[16];

			memcpy(target, m + 8, 16);
			nd_advertise(ctx, target, s, 1, now_ms);
		}
		return 0;
	case ND_NA:
		if (hlim != ND_HOP_LIMIT || m[1] != 0 || len < 24 || ip6_is_mcast(m + 8) ||
		    (r = nd_opt_lla(m + 24, len - 24, ND_OPT_TLLA, mac)) < 0 ||
		    (ip6_is_mcast(d) && (m[4] & 0x40)))
			return dssh_net_drop(ctx, DSSH_NET_DROP_ND_INVALID, DSSH_ERR_INVALID_FORMAT);
		ctx->st.rx_nd_advert++;
		/* Only neighbours we asked about (or already know) are updated. */
		if (r == 1 && (mac[0] & 1) == 0 && nd_find(ctx, m + 8) != NULL) {
			uint8_t target[16];

			memcpy(target, m + 8, 16);
			nd_learn(ctx, target, mac, 0, now_ms);
		}
		return 0;
	default:
		return dssh_net_drop(ctx, DSSH_NET_DROP_ICMP6_UNHANDLED, DSSH_ERR_UNSUPPORTED);
	}
}

int
dssh_net_ip6_input(struct dssh_net_ctx *ctx, struct dssh_buf *b, int l2_mcast, uint64_t now_ms)
{
	const uint8_t *orig = dssh_buf_ptr(b);
	uint8_t h[IP6_HLEN];
	size_t plen;

	if (dssh_buf_get(b, h, sizeof(h)) != 0)
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP6_TRUNCATED, DSSH_ERR_MSG_INCOMPLETE);
	if ((h[0] >> 4) != 6)
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP6_BAD_VERSION, DSSH_ERR_INVALID_FORMAT);
	plen = dssh_net_get16(h + 4);
	if (plen > dssh_buf_len(b))
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP6_BAD_LENGTH, DSSH_ERR_INVALID_FORMAT);
	if (ip6_is_mcast(h + 8) || ip6_is_ours(ctx, h + 8))
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP6_BAD_SRC, DSSH_ERR_INVALID_FORMAT);
	if (!ip6_is_ours(ctx, h + 24) && memcmp(h + 24, ip6_all_nodes, 16) != 0 &&
	    !ip6_is_our_solicited(ctx, h + 24))
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP6_NOT_FOR_US, DSSH_ERR_NOT_FOUND);
	switch (h[6]) {
	case NH_ICMP6:
		return icmp6_input(ctx, b, plen, h + 8, h + 24, h[7], now_ms);
	case NH_UDP: {
		uint8_t uh[8], *m = ctx->txbuf + DSSH_NET_ETH_HLEN + IP6_HLEN;
		uint8_t s[16], d[16];
		size_t q;

		if (plen < 8 || dssh_buf_get(b, uh, sizeof(uh)) != 0 ||
		    dssh_net_get16(uh + 4) < 8 || dssh_net_get16(uh + 4) > plen)
			return dssh_net_drop(ctx, DSSH_NET_DROP_UDP_TRUNCATED, DSSH_ERR_INVALID_FORMAT);
		if (!l2_mcast && ip6_is_ours(ctx, h + 24) && memcmp(h + 8, ip6_unspec, 16) != 0 &&
		    dssh_net_icmp_err_allowed(ctx, now_ms)) {
			/* RFC 4443 2.4: as much of the invoking packet as fits the minimum MTU. */
			memcpy(s, h + 24, 16);
			memcpy(d, h + 8, 16);
			q = DSSH_MIN(IP6_HLEN + plen, (size_t)1280 - IP6_HLEN - 8);
			memset(m, 0, 8);
			m[0] = ICMP6_UNREACH;
			m[1] = ICMP6_UNREACH_PORT;
			memcpy(m + 8, orig, q);
			if (icmp6_output(ctx, s, d, 8 + q, IP6_HOP_LIMIT, now_ms) == 0)
				ctx->st.tx_icmp6_unreach++;
		}
		return dssh_net_drop(ctx, DSSH_NET_DROP_UDP_NO_PORT, DSSH_ERR_NOT_FOUND);
	}
	case NH_TCP:
		return dssh_net_drop(ctx, DSSH_NET_DROP_TCP_NO_HANDLER, DSSH_ERR_UNSUPPORTED);
	default:
		/* Extension headers (hop-by-hop, routing, fragment, ...) and other protocols. */
		return dssh_net_drop(ctx, DSSH_NET_DROP_IP6_UNSUPPORTED_HEADER, DSSH_ERR_UNSUPPORTED);
	}
}

int
dssh_net_parse_ipv6_prefix(const char *s, uint8_t ip6[16], uint8_t *prefix_len)
{
	char tmp[64], *slash, *end;
	unsigned long n = 128;

	if (s == NULL || strlen(s) >= sizeof(tmp))
		return DSSH_ERR_INVALID_FORMAT;
	strcpy(tmp, s);
	if ((slash = strchr(tmp, '/')) != NULL) {
		*slash++ = '\0';
		if (*slash < '0' || *slash > '9')
			return DSSH_ERR_INVALID_FORMAT;
		n = strtoul(slash, &end, 10);
		if (*end != '\0' || n > 128)
			return DSSH_ERR_INVALID_FORMAT;
	}
	if (inet_pton(AF_INET6, tmp, ip6) != 1)
		return DSSH_ERR_INVALID_FORMAT;
	*prefix_len = (uint8_t)n;
	return 0;
}
