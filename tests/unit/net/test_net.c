/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>
#include <string.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_net.h"
#include "dssh_test.h"
#include "dssh_util.h"

#define OUR_IP 0xc6120002u     /* 198.18.0.2 */
#define PEER_IP 0xc6120001u    /* 198.18.0.1 */
#define GW_IP 0xc61200feu      /* 198.18.0.254 */
#define FAR_IP 0xc6130005u     /* 198.19.0.5 */

static const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t gw_mac[6] = { 0x02, 0, 0, 0, 0, 0xfe };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct sent {
	int n;
	size_t len[16];
	unsigned flags[16];
	uint8_t f[16][DSSH_NET_FRAME_MAX];
	int fail;
	int learned;
};

static int
tx_cb(void *arg, const uint8_t *frame, size_t len, unsigned flags)
{
	struct sent *s = arg;

	if (s->fail)
		return -1;
	if (s->n < 16) {
		memcpy(s->f[s->n], frame, len);
		s->len[s->n] = len;
		s->flags[s->n] = flags;
	}
	s->n++;
	return 0;
}

static void
learn_cb(void *arg, uint32_t ip, const uint8_t mac[6])
{
	(void)ip;
	(void)mac;
	((struct sent *)arg)->learned++;
}

static struct dssh_net_ctx *
mkctx(struct sent *s, uint32_t gw)
{
	struct dssh_net_conf c;
	struct dssh_net_ctx *ctx = NULL;

	memset(s, 0, sizeof(*s));
	memset(&c, 0, sizeof(c));
	memcpy(c.mac, our_mac, 6);
	c.ip = OUR_IP;
	c.prefix_len = 24;
	c.gateway = gw;
	c.tx = tx_cb;
	c.tx_arg = s;
	c.arp_learned = learn_cb;
	c.arp_arg = s;
	c.icmp_err_per_sec = 5;
	CHECK_EQ_INT(dssh_net_ctx_new(&c, &ctx), 0);
	return ctx;
}

static uint16_t g16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void p16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static size_t
mk_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	p16(f + 12, type);
	return 14;
}

static size_t
mk_arp(uint8_t *f, uint16_t oper, const uint8_t *edst, const uint8_t *sha, uint32_t spa,
    uint32_t tpa)
{
	uint8_t *a = f + mk_eth(f, edst, sha, 0x0806);

	p16(a, 1);
	p16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	p16(a + 6, oper);
	memcpy(a + 8, sha, 6);
	dssh_put_u32be(a + 14, spa);
	memset(a + 18, 0, 6);
	dssh_put_u32be(a + 24, tpa);
	return 42;
}

static void
ip_csum(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 15) * 4;

	p16(ip + 10, 0);
	p16(ip + 10, dssh_net_csum_fold(dssh_net_csum_partial(ip, ihl, 0)));
}

/* Ethernet + IPv4 (ihl words) + payload of plen bytes (filled by caller). */
static size_t
mk_ip(uint8_t *f, uint8_t proto, size_t ihlw, size_t plen, uint32_t src, uint32_t dst)
{
	uint8_t *ip = f + mk_eth(f, our_mac, peer_mac, 0x0800);
	size_t ihl = ihlw * 4;

	memset(ip, 0, ihl);
	ip[0] = (uint8_t)(0x40 | ihlw);
	p16(ip + 2, (uint16_t)(ihl + plen));
	p16(ip + 4, 0x1234);
	ip[8] = 64;
	ip[9] = proto;
	dssh_put_u32be(ip + 12, src);
	dssh_put_u32be(ip + 16, dst);
	if (ihl > 20)
		memset(ip + 20, 1, ihl - 20);  /* NOP options */
	ip_csum(ip);
	return 14 + ihl + plen;
}

static size_t
mk_echo(uint8_t *f, size_t datalen, uint32_t src)
{
	size_t n = mk_ip(f, 1, 5, 8 + datalen, src, OUR_IP);
	uint8_t *icmp = f + 34;

	icmp[0] = 8;
	icmp[1] = 0;
	p16(icmp + 2, 0);
	p16(icmp + 4, 0xbeef);
	p16(icmp + 6, 7);
	for (size_t i = 0; i < datalen; i++)
		icmp[8 + i] = (uint8_t)i;
	p16(icmp + 2, dssh_net_csum_fold(dssh_net_csum_partial(icmp, 8 + datalen, 0)));
	return n;
}

static uint64_t
dropped(struct dssh_net_ctx *ctx, enum dssh_net_drop r)
{
	return dssh_net_stats(ctx)->drop[r];
}

static void
test_csum(void)
{
	/* RFC 1071 example bytes */
	static const uint8_t d[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	CHECK_EQ_INT(dssh_net_csum_partial(d, sizeof(d), 0), 0x2ddf0);
	CHECK_EQ_INT(dssh_net_csum_fold(0x2ddf0), (uint16_t)~0xddf2);
	CHECK_EQ_INT(dssh_net_csum_partial(d, 3, 0), 0x0001 + 0xf200);
}

static void
test_parse(void)
{
	uint32_t ip;
	uint8_t pl;
	char s[16];

	CHECK_EQ_INT(dssh_net_parse_ipv4_prefix("198.18.0.2/24", &ip, &pl), 0);
	CHECK_EQ_INT(ip, OUR_IP);
	CHECK_EQ_INT(pl, 24);
	CHECK_EQ_INT(dssh_net_parse_ipv4_prefix("198.18.0.2", &ip, &pl), 0);
	CHECK_EQ_INT(pl, 32);
	CHECK_EQ_INT(dssh_net_parse_ipv4_prefix("198.18.0.2/33", &ip, &pl), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_net_parse_ipv4_prefix("198.18.0.2/", &ip, &pl), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_net_parse_ipv4_prefix("198.18.0.2/2x", &ip, &pl), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_net_parse_ipv4_prefix("198.18.0/24", &ip, &pl), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_net_parse_ipv4_prefix("198.18.0.256", &ip, &pl), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_net_parse_ipv4_prefix("1.2.3.4/5/6", &ip, &pl), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_net_parse_ipv4_prefix(
	    "111111111111111111111111111111111111111", &ip, &pl), DSSH_ERR_INVALID_FORMAT);
	uint8_t a6[16];
	CHECK_EQ_INT(dssh_net_parse_ipv6_prefix("2001:2::2/64", a6, &pl), 0);
	CHECK_EQ_INT(pl, 64);
	CHECK_EQ_INT(a6[1], 1);
	CHECK_EQ_INT(a6[15], 2);
	CHECK_EQ_INT(dssh_net_parse_ipv6_prefix("2001:2::2", a6, &pl), 0);
	CHECK_EQ_INT(pl, 128);
	CHECK_EQ_INT(dssh_net_parse_ipv6_prefix("2001:2::2/129", a6, &pl), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_net_parse_ipv6_prefix("2001:2::2/", a6, &pl), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_net_parse_ipv6_prefix("2001:2:::2/64", a6, &pl), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_net_parse_ipv6_prefix("198.18.0.1", a6, &pl), DSSH_ERR_INVALID_FORMAT);
	dssh_net_format_ipv4(OUR_IP, s);
	CHECK_STR(s, "198.18.0.2");
}

static void
test_ctx_args(void)
{
	struct dssh_net_conf c;
	struct dssh_net_ctx *ctx = (struct dssh_net_ctx *)1;

	memset(&c, 0, sizeof(c));
	c.ip = OUR_IP;
	CHECK_EQ_INT(dssh_net_ctx_new(&c, &ctx), DSSH_ERR_INVALID_ARGUMENT);  /* no tx */
	CHECK(ctx == NULL);
	c.tx = tx_cb;
	c.prefix_len = 33;
	CHECK_EQ_INT(dssh_net_ctx_new(&c, &ctx), DSSH_ERR_INVALID_ARGUMENT);
	c.prefix_len = 24;
	c.mac[0] = 1;  /* multicast MAC */
	CHECK_EQ_INT(dssh_net_ctx_new(&c, &ctx), DSSH_ERR_INVALID_ARGUMENT);
	c.mac[0] = 2;
	c.mtu = 100;
	CHECK_EQ_INT(dssh_net_ctx_new(&c, &ctx), DSSH_ERR_INVALID_ARGUMENT);
	dssh_net_ctx_free(NULL);
}

static void
test_start_gratuitous(void)
{
	struct sent s;
	struct dssh_net_ctx *ctx = mkctx(&s, GW_IP);

	CHECK_EQ_INT(dssh_net_start(ctx, 0), 0);
	CHECK_EQ_INT(s.n, 2);
	/* gratuitous: broadcast request, spa == tpa == ours */
	CHECK_MEM(s.f[0], bcast, 6);
	CHECK_MEM(s.f[0] + 6, our_mac, 6);
	CHECK_EQ_INT(g16(s.f[0] + 12), 0x0806);
	CHECK_EQ_INT(g16(s.f[0] + 20), 1);
	CHECK_EQ_INT(dssh_get_u32be(s.f[0] + 28), OUR_IP);
	CHECK_EQ_INT(dssh_get_u32be(s.f[0] + 38), OUR_IP);
	CHECK(s.len[0] >= 42);
	/* then a request for the gateway */
	CHECK_EQ_INT(dssh_get_u32be(s.f[1] + 38), GW_IP);
	CHECK_EQ_INT(dssh_net_stats(ctx)->tx_arp_gratuitous, 1);
	CHECK_EQ_INT(dssh_net_stats(ctx)->tx_arp_request, 1);
	/* unanswered: two retries, then a new round 5 s after the start */
	for (uint64_t t = 0; t < 5000; t += 10)
		dssh_net_tick(ctx, t);
	CHECK_EQ_INT(dssh_net_stats(ctx)->tx_arp_request, 3);
	dssh_net_tick(ctx, 5000);
	CHECK_EQ_INT(dssh_net_stats(ctx)->tx_arp_request, 4);
	dssh_net_ctx_free(ctx);
}

static void
test_arp_reply_and_learn(void)
{
	struct sent s;
	struct dssh_net_ctx *ctx = mkctx(&s, 0);
	uint8_t f[64], mac[6];
	size_t n;

	n = mk_arp(f, 1, bcast, peer_mac, PEER_IP, OUR_IP);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), 0);
	CHECK_EQ_INT(s.n, 1);
	CHECK_MEM(s.f[0], peer_mac, 6);
	CHECK_EQ_INT(g16(s.f[0] + 20), 2);
	CHECK_MEM(s.f[0] + 22, our_mac, 6);
	CHECK_EQ_INT(dssh_get_u32be(s.f[0] + 28), OUR_IP);
	CHECK_MEM(s.f[0] + 32, peer_mac, 6);
	CHECK_EQ_INT(dssh_get_u32be(s.f[0] + 38), PEER_IP);
	CHECK_EQ_INT(dssh_net_arp_lookup(ctx, PEER_IP, mac), 0);
	CHECK_MEM(mac, peer_mac, 6);
	CHECK_EQ_INT(s.learned, 1);

	/* request for someone else: not answered, not learned */
	n = mk_arp(f, 1, bcast, gw_mac, GW_IP, PEER_IP);
	CHECK(dssh_net_input(ctx, f, n, 0, 0) != 0);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(dssh_net_arp_lookup(ctx, GW_IP, mac), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ARP_NOT_FOR_US), 1);

	/* Past the reachable time the entry stays in use and is probed,
	 * unicast to its MAC; an answer keeps it, silence releases it. */
	dssh_net_tick(ctx, 59999);
	CHECK_EQ_INT(dssh_net_arp_lookup(ctx, PEER_IP, mac), 0);
	CHECK_EQ_INT(s.n, 1);
	dssh_net_tick(ctx, 60000);
	CHECK_EQ_INT(dssh_net_arp_lookup(ctx, PEER_IP, mac), 0);
	CHECK_EQ_INT(s.n, 2);
	CHECK_MEM(s.f[1], peer_mac, 6);                  /* unicast */
	CHECK_EQ_INT(g16(s.f[1] + 20), 1);                /* a request */
	n = mk_arp(f, 2, our_mac, peer_mac, PEER_IP, OUR_IP);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 60100), 0);
	dssh_net_tick(ctx, 60100 + 59999);
	CHECK_EQ_INT(dssh_net_arp_lookup(ctx, PEER_IP, mac), 0);
	CHECK_EQ_INT(s.n, 2);                            /* answered: no probe yet */
	for (uint64_t t = 120100; t < 130100; t += 100)
		dssh_net_tick(ctx, t);
	CHECK_EQ_INT(dssh_net_arp_lookup(ctx, PEER_IP, mac), DSSH_ERR_NOT_FOUND);
	CHECK(s.n > 3);
	dssh_net_ctx_free(ctx);
}

static void
test_arp_malformed(void)
{
	struct sent s;
	struct dssh_net_ctx *ctx = mkctx(&s, 0);
	uint8_t f[64];
	size_t n;

	n = mk_arp(f, 1, bcast, peer_mac, PEER_IP, OUR_IP);
	for (size_t cut = 14; cut < n; cut++)
		CHECK_EQ_INT(dssh_net_input(ctx, f, cut, 0, 0), DSSH_ERR_MSG_INCOMPLETE);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ARP_TRUNCATED), n - 14);
	f[14] = 9;  /* htype */
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	n = mk_arp(f, 1, bcast, peer_mac, PEER_IP, OUR_IP);
	f[18] = 8;  /* hlen */
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	n = mk_arp(f, 7, bcast, peer_mac, PEER_IP, OUR_IP);  /* opcode */
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ARP_BAD_FORMAT), 3);
	/* sender claims our address, or a broadcast sender MAC in the payload */
	n = mk_arp(f, 1, bcast, peer_mac, OUR_IP, OUR_IP);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	n = mk_arp(f, 1, bcast, peer_mac, PEER_IP, OUR_IP);
	memset(f + 22, 0xff, 6);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ARP_BAD_SENDER), 2);
	CHECK_EQ_INT(s.n, 0);
	CHECK_EQ_INT(dssh_net_arp_lookup(ctx, PEER_IP, NULL), DSSH_ERR_NOT_FOUND);
	dssh_net_ctx_free(ctx);
}

static void
test_arp_resolve_retries(void)
{
	struct sent s;
	struct dssh_net_ctx *ctx = mkctx(&s, GW_IP);
	uint8_t f[64], mac[6];
	static const uint8_t payload[4] = { 1, 2, 3, 4 };
	size_t n;

	/* off-link destination goes to the gateway; held while resolving */
	CHECK_EQ_INT(dssh_net_next_hop(ctx, FAR_IP), GW_IP);
	CHECK_EQ_INT(dssh_net_next_hop(ctx, PEER_IP), PEER_IP);
	CHECK_EQ_INT(dssh_net_ip_output(ctx, FAR_IP, 253, payload, 4, 0), DSSH_ERR_AGAIN);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(dssh_get_u32be(s.f[0] + 38), GW_IP);
	dssh_net_tick(ctx, 999);
	CHECK_EQ_INT(s.n, 1);
	dssh_net_tick(ctx, 1000);
	CHECK_EQ_INT(s.n, 2);
	dssh_net_tick(ctx, 2000);
	CHECK_EQ_INT(s.n, 3);
	/* answer: the held datagram goes out */
	n = mk_arp(f, 2, our_mac, gw_mac, GW_IP, OUR_IP);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 2500), 0);
	CHECK_EQ_INT(s.n, 4);
	CHECK_MEM(s.f[3], gw_mac, 6);
	CHECK_EQ_INT(g16(s.f[3] + 12), 0x0800);
	CHECK_EQ_INT(s.len[3], 14 + 20 + 4);
	CHECK_EQ_INT(s.f[3][14], 0x45);
	CHECK_EQ_INT(g16(s.f[3] + 20) & 0x4000, 0x4000);  /* DF */
	CHECK_EQ_INT(s.f[3][22], 64);
	CHECK_EQ_INT(s.f[3][23], 253);
	CHECK_EQ_INT(dssh_net_csum_fold(dssh_net_csum_partial(s.f[3] + 14, 20, 0)), 0);
	CHECK_MEM(s.f[3] + 34, payload, 4);
	CHECK_EQ_INT(dssh_net_arp_lookup(ctx, GW_IP, mac), 0);
	/* now direct */
	CHECK_EQ_INT(dssh_net_ip_output(ctx, FAR_IP, 253, payload, 4, 3000), 0);
	CHECK_EQ_INT(s.n, 5);

	/* unanswered resolution gives up after the retries, dropping the held datagram */
	CHECK_EQ_INT(dssh_net_ip_output(ctx, PEER_IP, 253, payload, 4, 10000), DSSH_ERR_AGAIN);
	CHECK_EQ_INT(dssh_net_arp_resolve(ctx, PEER_IP, 10000), DSSH_ERR_AGAIN);
	for (uint64_t t = 10000; t <= 14000; t += 100)
		dssh_net_tick(ctx, t);
	CHECK_EQ_INT(s.n, 5 + 3);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_TX_ARP_FAILED), 1);
	CHECK_EQ_INT(dssh_net_arp_lookup(ctx, PEER_IP, NULL), DSSH_ERR_NOT_FOUND);

	/* no gateway: off-link is unroutable */
	dssh_net_ctx_free(ctx);
	ctx = mkctx(&s, 0);
	CHECK_EQ_INT(dssh_net_ip_output(ctx, FAR_IP, 253, payload, 4, 0), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_TX_NO_ROUTE), 1);
	uint8_t big[1600] = { 0 };
	CHECK_EQ_INT(dssh_net_ip_output(ctx, PEER_IP, 253, big, 1481, 0), DSSH_ERR_INVALID_ARGUMENT);
	dssh_net_ctx_free(ctx);
}

static void
learn_peer(struct dssh_net_ctx *ctx)
{
	dssh_net_arp_learn(ctx, PEER_IP, peer_mac, 0);
}

/* Headers for frames a driver builds itself: the same bytes ip_output sends. */
static void
test_ip_header(void)
{
	struct sent s;
	struct dssh_net_ctx *ctx = mkctx(&s, GW_IP);
	uint8_t hdr[DSSH_NET_IPV4_HDRS];
	static const uint8_t payload[4] = { 1, 2, 3, 4 };
	unsigned flags = 99;

	/* unresolved: resolution starts (one ARP request), nothing is held */
	CHECK_EQ_INT(dssh_net_ip_header(ctx, PEER_IP, 6, 4, hdr, &flags, 0), DSSH_ERR_AGAIN);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(g16(s.f[0] + 12), 0x0806);
	learn_peer(ctx);
	CHECK_EQ_INT(dssh_net_ip_header(ctx, PEER_IP, 6, 4, hdr, &flags, 0), 0);
	CHECK_EQ_INT(flags, 0);
	CHECK_EQ_INT(dssh_net_ip_output(ctx, PEER_IP, 6, payload, 4, 0), 0);
	CHECK_EQ_INT(s.n, 2);
	/* identical but for the IP ID (and so the checksum) */
	CHECK_MEM(hdr, s.f[1], 18);
	CHECK_MEM(hdr + 20, s.f[1] + 20, 4);
	CHECK_MEM(hdr + 26, s.f[1] + 26, 8);
	CHECK_EQ_INT(g16(s.f[1] + 18), (uint16_t)(g16(hdr + 18) + 1));
	CHECK_EQ_INT(dssh_net_csum_fold(dssh_net_csum_partial(hdr + 14, 20, 0)), 0);
	/* larger than the MTU (TSO super-frames): the length field says so */
	CHECK_EQ_INT(dssh_net_ip_header(ctx, PEER_IP, 6, 60000, hdr, &flags, 0), 0);
	CHECK_EQ_INT(g16(hdr + 16), 60020);
	CHECK_EQ_INT(dssh_net_ip_header(ctx, PEER_IP, 6, 65516, hdr, &flags, 0),
	    DSSH_ERR_INVALID_ARGUMENT);
	/* off-link via the (unresolved) gateway; no route without one */
	CHECK_EQ_INT(dssh_net_ip_header(ctx, FAR_IP, 6, 4, hdr, &flags, 0), DSSH_ERR_AGAIN);
	dssh_net_ctx_free(ctx);
	ctx = mkctx(&s, 0);
	CHECK_EQ_INT(dssh_net_ip_header(ctx, FAR_IP, 6, 4, hdr, &flags, 0), DSSH_ERR_NOT_FOUND);
	dssh_net_ctx_free(ctx);
}

static void
test_echo(void)
{
	struct sent s;
	struct dssh_net_ctx *ctx = mkctx(&s, 0);
	static uint8_t f[DSSH_NET_FRAME_MAX];
	size_t sizes[] = { 0, 1, 56, 1000, 1472 }, n;

	learn_peer(ctx);
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(sizes); i++) {
		s.n = 0;
		n = mk_echo(f, sizes[i], PEER_IP);
		CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), 0);
		CHECK_EQ_INT(s.n, 1);
		CHECK_EQ_INT(s.len[0], n);
		CHECK_MEM(s.f[0], peer_mac, 6);
		CHECK_EQ_INT(dssh_get_u32be(s.f[0] + 26), OUR_IP);
		CHECK_EQ_INT(dssh_get_u32be(s.f[0] + 30), PEER_IP);
		CHECK_EQ_INT(s.f[0][34], 0);
		CHECK_EQ_INT(dssh_net_csum_fold(dssh_net_csum_partial(s.f[0] + 34, 8 + sizes[i], 0)), 0);
		CHECK_MEM(s.f[0] + 36 + 2, f + 36 + 2, 6 + sizes[i]);  /* id, seq, data */
	}
	CHECK_EQ_INT(dssh_net_stats(ctx)->tx_icmp_echo_reply, DSSH_ARRAY_SIZE(sizes));
	/* larger than our MTU: not answered */
	s.n = 0;
	n = mk_echo(f, 1473, PEER_IP);
	CHECK(dssh_net_input(ctx, f, n, 0, 0) != 0);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ICMP_TOO_BIG), 1);
	/* Ethernet padding after the datagram is ignored */
	n = mk_echo(f, 0, PEER_IP);
	memset(f + n, 0xaa, 60 - n);
	CHECK_EQ_INT(dssh_net_input(ctx, f, 60, 0, 0), 0);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(s.len[0], n);
	/* options are skipped; the reply has none */
	s.n = 0;
	n = mk_ip(f, 1, 8, 8, PEER_IP, OUR_IP);
	memset(f + 46, 0, 8);
	f[46] = 8;
	p16(f + 48, dssh_net_csum_fold(dssh_net_csum_partial(f + 46, 8, 0)));
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), 0);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(s.len[0], 14 + 20 + 8);
	CHECK_EQ_INT(dssh_net_stats(ctx)->rx_ip_options, 1);
	/* reply to an unresolved on-link source is held until ARP answers */
	s.n = 0;
	n = mk_echo(f, 10, PEER_IP + 2);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), 0);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(g16(s.f[0] + 12), 0x0806);
	dssh_net_ctx_free(ctx);
}

static void
test_ip_malformed(void)
{
	struct sent s;
	struct dssh_net_ctx *ctx = mkctx(&s, 0);
	static uint8_t f[2048];
	size_t n;

	learn_peer(ctx);
	n = mk_echo(f, 32, PEER_IP);
	/* every truncation of a valid echo is dropped, never answered */
	for (size_t cut = 0; cut < n; cut++)
		CHECK(dssh_net_input(ctx, f, cut, 0, 0) < 0);
	CHECK_EQ_INT(s.n, 0);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ETH_TRUNCATED), 14);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_IP_TRUNCATED), 20);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_IP_BAD_LENGTH), n - 34);

	/* bad version */
	n = mk_echo(f, 32, PEER_IP);
	f[14] = 0x65;
	ip_csum(f + 14);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_IP_BAD_VERSION), 1);
	/* bogus IHL: below 5, beyond total length, beyond the frame */
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		n = mk_echo(f, 32, PEER_IP);
		f[14] = (uint8_t)(0x40 | ihl);
		CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	}
	n = mk_echo(f, 0, PEER_IP);
	f[14] = 0x4f;  /* 60 bytes of header in a 28-byte datagram */
	ip_csum(f + 14);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_IP_BAD_IHL), 6);
	n = mk_echo(f, 0, PEER_IP);
	f[14] = 0x4f;
	p16(f + 16, 60);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_MSG_INCOMPLETE);
	/* total length beyond the frame; below the header */
	n = mk_echo(f, 32, PEER_IP);
	p16(f + 16, (uint16_t)(n - 14 + 1));
	ip_csum(f + 14);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	p16(f + 16, 0xffff);
	ip_csum(f + 14);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	p16(f + 16, 19);
	ip_csum(f + 14);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	/* bad header checksum, and the offload verdicts */
	n = mk_echo(f, 32, PEER_IP);
	f[24] ^= 0x40;
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_IP_BAD_CHECKSUM), 1);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, DSSH_NET_RX_IP_CSUM_GOOD, 0), 0);
	CHECK_EQ_INT(s.n, 1);
	n = mk_echo(f, 32, PEER_IP);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, DSSH_NET_RX_IP_CSUM_BAD, 0), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_IP_BAD_CHECKSUM), 2);
	/* fragments: first (MF) and later (offset) */
	n = mk_echo(f, 32, PEER_IP);
	p16(f + 20, 0x2000);
	ip_csum(f + 14);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_UNSUPPORTED);
	p16(f + 20, 0x0010);
	ip_csum(f + 14);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_UNSUPPORTED);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_IP_FRAGMENT), 2);
	/* TTL 0 and 1 are accepted by a host (RFC 1122 3.2.1.7) */
	s.n = 0;
	n = mk_echo(f, 32, PEER_IP);
	f[22] = 0;
	ip_csum(f + 14);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), 0);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(s.f[0][22], 64);
	/* bad sources, other destinations */
	uint32_t bad_src[] = { 0, 0xffffffffu, 0xe0000001u, 0x7f000001u, OUR_IP, 0xc61200ffu };
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(bad_src); i++) {
		n = mk_echo(f, 8, bad_src[i]);
		CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	}
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_IP_BAD_SRC), DSSH_ARRAY_SIZE(bad_src));
	n = mk_echo(f, 8, PEER_IP);
	dssh_put_u32be(f + 30, OUR_IP + 1);
	ip_csum(f + 14);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_IP_NOT_FOR_US), 1);
	CHECK_EQ_INT(s.n, 1);
	dssh_net_ctx_free(ctx);
}

static void
test_eth_malformed(void)
{
	struct sent s;
	struct dssh_net_ctx *ctx = mkctx(&s, 0);
	uint8_t f[128];
	static const uint8_t other[6] = { 0x02, 9, 9, 9, 9, 9 };
	static const uint8_t mcast[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	size_t n;

	learn_peer(ctx);
	n = mk_echo(f, 8, PEER_IP);
	memcpy(f, other, 6);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_NOT_FOUND);
	memcpy(f, mcast, 6);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ETH_NOT_FOR_US), 2);
	n = mk_echo(f, 8, PEER_IP);
	memcpy(f + 6, mcast, 6);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ETH_BAD_SRC), 1);
	n = mk_echo(f, 8, PEER_IP);
	p16(f + 12, 0x8100);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_UNSUPPORTED);
	p16(f + 12, 0x86dd);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_UNSUPPORTED);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ETH_UNKNOWN_TYPE), 2);
	CHECK_EQ_INT(s.n, 0);
	/* broadcast Ethernet destination is accepted for ARP and IPv4 */
	n = mk_echo(f, 8, PEER_IP);
	memcpy(f, bcast, 6);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), 0);
	CHECK_EQ_INT(s.n, 1);
	const struct dssh_net_stats *st = dssh_net_stats(ctx);
	uint64_t sum = 0;
	for (int i = 0; i < DSSH_NET_DROP_MAX; i++)
		sum += st->drop[i];
	CHECK_EQ_INT(sum, st->drops);
	CHECK_EQ_INT(st->rx_frames, 6);
	CHECK_STR(dssh_net_drop_name(DSSH_NET_DROP_IP_FRAGMENT), "ip_fragment");
	CHECK_STR(dssh_net_drop_name(DSSH_NET_DROP_MAX), "unknown");
	dssh_net_ctx_free(ctx);
}

static void
test_icmp_udp(void)
{
	struct sent s;
	struct dssh_net_ctx *ctx = mkctx(&s, 0);
	static uint8_t f[2048];
	size_t n;

	learn_peer(ctx);
	/* ICMP shorter than its header; bad ICMP checksum; unhandled types */
	n = mk_ip(f, 1, 5, 4, PEER_IP, OUR_IP);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_MSG_INCOMPLETE);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ICMP_TRUNCATED), 1);
	n = mk_echo(f, 20, PEER_IP);
	f[50] ^= 1;
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ICMP_BAD_CHECKSUM), 1);
	n = mk_echo(f, 20, PEER_IP);
	f[34] = 0;  /* an echo reply */
	p16(f + 36, 0);
	p16(f + 36, dssh_net_csum_fold(dssh_net_csum_partial(f + 34, 28, 0)));
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_UNSUPPORTED);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ICMP_UNHANDLED), 1);
	CHECK_EQ_INT(s.n, 0);

	/* UDP: port unreachable quoting header + 8 bytes */
	n = mk_ip(f, 17, 5, 20, PEER_IP, OUR_IP);
	p16(f + 34, 5555);
	p16(f + 36, 53);
	p16(f + 38, 20);
	p16(f + 40, 0);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(s.len[0], 14 + 20 + 8 + 28);
	CHECK_EQ_INT(s.f[0][23], 1);
	CHECK_EQ_INT(s.f[0][34], 3);
	CHECK_EQ_INT(s.f[0][35], 3);
	CHECK_MEM(s.f[0] + 42, f + 14, 28);
	CHECK_EQ_INT(dssh_net_csum_fold(dssh_net_csum_partial(s.f[0] + 34, 36, 0)), 0);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_UDP_NO_PORT), 1);
	/* bad UDP lengths */
	p16(f + 38, 21);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	p16(f + 38, 7);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	n = mk_ip(f, 17, 5, 5, PEER_IP, OUR_IP);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_MSG_INCOMPLETE);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_UDP_TRUNCATED), 3);
	CHECK_EQ_INT(s.n, 1);
	/* to Ethernet broadcast: no ICMP error */
	n = mk_ip(f, 17, 5, 8, PEER_IP, OUR_IP);
	p16(f + 38, 8);
	memcpy(f, bcast, 6);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(s.n, 1);
	/* unknown protocol: protocol unreachable; rate limit of 5 a second */
	n = mk_ip(f, 99, 5, 3, PEER_IP, OUR_IP);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_UNSUPPORTED);
	CHECK_EQ_INT(s.n, 2);
	CHECK_EQ_INT(s.f[1][35], 2);
	CHECK_EQ_INT(s.len[1], 14 + 20 + 8 + 23);
	for (int i = 0; i < 10; i++)
		(void)dssh_net_input(ctx, f, n, 0, 0);
	CHECK_EQ_INT(s.n, 5);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_TX_RATE_LIMIT), 7);
	(void)dssh_net_input(ctx, f, n, 0, 1000);
	CHECK_EQ_INT(s.n, 6);
	/* TCP with no handler */
	n = mk_ip(f, 6, 5, 20, PEER_IP, OUR_IP);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_UNSUPPORTED);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_TCP_NO_HANDLER), 1);
	/* tx failure is counted */
	s.fail = 1;
	n = mk_echo(f, 8, PEER_IP);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), 0);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_TX_FAILED), 1);
	dssh_net_ctx_free(ctx);
}

static void
test_tx_offload_flag(void)
{
	struct sent s;
	struct dssh_net_conf c;
	struct dssh_net_ctx *ctx = NULL;
	static uint8_t f[256];
	size_t n;

	memset(&s, 0, sizeof(s));
	memset(&c, 0, sizeof(c));
	memcpy(c.mac, our_mac, 6);
	c.ip = OUR_IP;
	c.prefix_len = 24;
	c.tx = tx_cb;
	c.tx_arg = &s;
	c.tx_ip_csum_offload = true;
	CHECK_EQ_INT(dssh_net_ctx_new(&c, &ctx), 0);
	dssh_net_arp_learn(ctx, PEER_IP, peer_mac, 0);
	n = mk_echo(f, 8, PEER_IP);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), 0);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(s.flags[0], DSSH_NET_TX_IP_CSUM);
	CHECK_EQ_INT(g16(s.f[0] + 24), 0);
	dssh_net_ctx_free(ctx);
}

/* Random garbage and random mutations of valid frames: never crash, always counted. */
static void
test_fuzz(void)
{
	struct sent s;
	struct dssh_net_ctx *ctx = mkctx(&s, GW_IP);
	static uint8_t f[2048];
	uint64_t seed = 0x1234567;
	const struct dssh_net_stats *st = dssh_net_stats(ctx);

	learn_peer(ctx);
	for (int i = 0; i < 200000; i++) {
		size_t n;

		if (i & 1) {
			n = dssh_test_rand(&seed) % 200;
			for (size_t j = 0; j < n; j++)
				f[j] = (uint8_t)dssh_test_rand(&seed);
			if (i & 2)
				memcpy(f, our_mac, 6);
			if (i & 4)
				p16(f + 12, (i & 8) ? 0x0800 : 0x0806);
		} else {
			n = (i & 2) ? mk_echo(f, dssh_test_rand(&seed) % 100, PEER_IP) :
			    mk_arp(f, 1, bcast, peer_mac, PEER_IP, OUR_IP);
			for (int k = 0; k < 3; k++)
				f[dssh_test_rand(&seed) % n] ^= (uint8_t)(1u << (dssh_test_rand(&seed) % 8));
			if (i & 4)
				n = dssh_test_rand(&seed) % (n + 1);
		}
		int r = dssh_net_input(ctx, f, n, 0, (uint64_t)i);
		CHECK(r <= 0);
		if (i % 1000 == 0)
			dssh_net_tick(ctx, (uint64_t)i);
	}
	uint64_t sum = 0;
	for (int i = 0; i < DSSH_NET_DROP_MAX; i++)
		sum += st->drop[i];
	CHECK_EQ_INT(sum, st->drops);
	CHECK_EQ_INT(st->rx_frames, 200000);
	CHECK(st->drops > 100000);
	dssh_net_ctx_free(ctx);
}

/* ---- IPv6 ---- */

static const uint8_t our6[16] = { 0x20, 0x01, 0, 2, [15] = 2 };
static const uint8_t peer6[16] = { 0x20, 0x01, 0, 2, [15] = 1 };

static struct dssh_net_ctx *
mkctx6(struct sent *s)
{
	struct dssh_net_conf c;
	struct dssh_net_ctx *ctx = NULL;

	memset(s, 0, sizeof(*s));
	memset(&c, 0, sizeof(c));
	memcpy(c.mac, our_mac, 6);
	c.ip = OUR_IP;
	c.prefix_len = 24;
	c.ip6_enabled = true;
	memcpy(c.ip6, our6, 16);
	c.ip6_prefix_len = 64;
	c.tx = tx_cb;
	c.tx_arg = s;
	CHECK_EQ_INT(dssh_net_ctx_new(&c, &ctx), 0);
	return ctx;
}

static uint16_t
csum6(const uint8_t *src, const uint8_t *dst, const uint8_t *m, size_t len)
{
	uint8_t t[8] = { 0 };
	uint32_t sum;

	dssh_put_u32be(t, (uint32_t)len);
	t[7] = 58;
	sum = dssh_net_csum_partial(src, 16, 0);
	sum = dssh_net_csum_partial(dst, 16, sum);
	sum = dssh_net_csum_partial(t, 8, sum);
	return dssh_net_csum_fold(dssh_net_csum_partial(m, len, sum));
}

/* Ethernet + IPv6 + ICMPv6 message m (checksum filled in). */
static size_t
mk6(uint8_t *f, const uint8_t *edst, const uint8_t *src, const uint8_t *dst, uint8_t nh,
    uint8_t hlim, const uint8_t *m, size_t len)
{
	uint8_t *ip = f + mk_eth(f, edst, peer_mac, 0x86dd);

	memset(ip, 0, 40);
	ip[0] = 0x60;
	p16(ip + 4, (uint16_t)len);
	ip[6] = nh;
	ip[7] = hlim;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	memcpy(ip + 40, m, len);
	if (nh == 58) {
		p16(ip + 42, 0);
		p16(ip + 42, csum6(src, dst, ip + 40, len));
	}
	return 54 + len;
}

static size_t
mk_ns(uint8_t *f, const uint8_t *target, int with_slla)
{
	uint8_t m[32] = { 135 }, dst[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
	uint8_t emac[6] = { 0x33, 0x33, 0xff };

	memcpy(dst + 13, target + 13, 3);
	memcpy(emac + 3, target + 13, 3);
	memcpy(m + 8, target, 16);
	m[24] = 1;
	m[25] = 1;
	memcpy(m + 26, peer_mac, 6);
	return mk6(f, emac, peer6, dst, 58, 255, m, with_slla ? 32 : 24);
}

static void
test_ipv6_nd(void)
{
	struct sent s;
	struct dssh_net_ctx *ctx = mkctx6(&s);
	static uint8_t f[2048];
	uint8_t mac[6], ll[16];
	size_t n;

	CHECK_EQ_INT(dssh_net_start(ctx, 0), 0);
	CHECK_EQ_INT(s.n, 3);  /* gratuitous ARP, unsolicited NA for both addresses */
	CHECK_EQ_INT(g16(s.f[1] + 12), 0x86dd);
	CHECK_MEM(s.f[1], "\x33\x33\x00\x00\x00\x01", 6);
	CHECK_EQ_INT(s.f[1][54], 136);
	CHECK_EQ_INT(s.f[1][58], 0x20);  /* O, not S */
	s.n = 0;
	n = mk_ns(f, our6, 1);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), 0);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(s.len[0], 14 + 40 + 32);
	CHECK_MEM(s.f[0], peer_mac, 6);
	CHECK_EQ_INT(s.f[0][21], 255);
	CHECK_MEM(s.f[0] + 22, our6, 16);
	CHECK_MEM(s.f[0] + 38, peer6, 16);
	CHECK_EQ_INT(s.f[0][54], 136);
	CHECK_EQ_INT(s.f[0][58], 0x60);  /* S, O */
	CHECK_MEM(s.f[0] + 62, our6, 16);
	CHECK_EQ_INT(s.f[0][78], 2);
	CHECK_MEM(s.f[0] + 80, our_mac, 6);
	CHECK_EQ_INT(csum6(our6, peer6, s.f[0] + 54, 32), 0);
	CHECK_EQ_INT(dssh_net_nd_lookup(ctx, peer6, mac), 0);
	CHECK_MEM(mac, peer_mac, 6);
	/* our link-local address is answered too */
	dssh_net_ip6_link_local(ctx, ll);
	CHECK_EQ_INT(ll[0], 0xfe);
	CHECK_EQ_INT(ll[8], 0x00);    /* 0x02 ^ 0x02 */
	CHECK_EQ_INT(ll[11], 0xff);
	s.n = 0;
	n = mk_ns(f, ll, 1);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), 0);
	CHECK_EQ_INT(s.n, 1);
	CHECK_MEM(s.f[0] + 62, ll, 16);
	/* invalid: hop limit, zero-length option, option running past the end, multicast target */
	s.n = 0;
	n = mk_ns(f, our6, 1);
	f[21] = 254;
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	n = mk_ns(f, our6, 1);
	f[54 + 25] = 0;
	p16(f + 56, 0);
	p16(f + 56, csum6(peer6, f + 38, f + 54, 32));
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	n = mk_ns(f, our6, 1);
	f[54 + 25] = 2;
	p16(f + 56, 0);
	p16(f + 56, csum6(peer6, f + 38, f + 54, 32));
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ND_INVALID), 3);
	/* not our target */
	n = mk_ns(f, peer6, 1);
	memcpy(f, "\x33\x33\xff\x00\x00\x02", 6);
	memcpy(f + 38 + 13, our6 + 13, 3);
	p16(f + 56, 0);
	p16(f + 56, csum6(peer6, f + 38, f + 54, 32));
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ND_NOT_FOR_US), 1);
	/* somebody else's solicited-node group: filtered at Ethernet */
	n = mk_ns(f, peer6, 1);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ETH_NOT_FOR_US), 1);
	CHECK_EQ_INT(s.n, 0);
	/* entries expire */
	dssh_net_tick(ctx, 60000);
	CHECK_EQ_INT(dssh_net_nd_lookup(ctx, peer6, mac), DSSH_ERR_NOT_FOUND);
	dssh_net_ctx_free(ctx);
}

static void
test_ipv6_echo_and_malformed(void)
{
	struct sent s;
	struct dssh_net_ctx *ctx = mkctx6(&s);
	static uint8_t f[2048], m[1500];
	uint8_t ns_frame[128], tgt[16];
	size_t n, len = 8 + 100;

	n = mk_ns(ns_frame, our6, 1);
	CHECK_EQ_INT(dssh_net_input(ctx, ns_frame, n, 0, 0), 0);
	s.n = 0;
	memset(m, 0, sizeof(m));
	m[0] = 128;
	p16(m + 4, 0x77);
	for (size_t i = 8; i < len; i++)
		m[i] = (uint8_t)i;
	n = mk6(f, our_mac, peer6, our6, 58, 64, m, len);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), 0);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(s.len[0], n);
	CHECK_EQ_INT(s.f[0][54], 129);
	CHECK_MEM(s.f[0] + 22, our6, 16);
	CHECK_MEM(s.f[0] + 38, peer6, 16);
	CHECK_MEM(s.f[0] + 58, f + 58, len - 4);
	CHECK_EQ_INT(csum6(our6, peer6, s.f[0] + 54, len), 0);
	CHECK_EQ_INT(dssh_net_stats(ctx)->tx_icmp6_echo_reply, 1);

	/* every truncation is dropped */
	s.n = 0;
	for (size_t cut = 14; cut < n; cut++)
		CHECK(dssh_net_input(ctx, f, cut, 0, 0) < 0);
	CHECK_EQ_INT(s.n, 0);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_IP6_TRUNCATED), 40);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_IP6_BAD_LENGTH), len);
	/* bad version, bad checksum, fragment header, multicast source */
	n = mk6(f, our_mac, peer6, our6, 58, 64, m, len);
	f[14] = 0x40;
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	n = mk6(f, our_mac, peer6, our6, 58, 64, m, len);
	f[70] ^= 1;
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	n = mk6(f, our_mac, peer6, our6, 44, 64, m, len);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_UNSUPPORTED);
	n = mk6(f, our_mac, (const uint8_t *)"\xff\x02\0\0\0\0\0\0\0\0\0\0\0\0\0\1", our6, 58, 64, m, len);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_IP6_BAD_VERSION), 1);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ICMP6_BAD_CHECKSUM), 1);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_IP6_UNSUPPORTED_HEADER), 1);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_IP6_BAD_SRC), 1);
	/* short ICMPv6, unhandled type (router advertisement) */
	n = mk6(f, our_mac, peer6, our6, 58, 64, m, 3);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_MSG_INCOMPLETE);
	m[0] = 134;
	n = mk6(f, our_mac, peer6, our6, 58, 255, m, 16);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_UNSUPPORTED);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_ICMP6_UNHANDLED), 1);
	CHECK_EQ_INT(s.n, 0);

	/* UDP: port unreachable quoting the datagram */
	memset(m, 0, 16);
	p16(m + 4, 16);
	n = mk6(f, our_mac, peer6, our6, 17, 64, m, 16);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(s.f[0][54], 1);
	CHECK_EQ_INT(s.f[0][55], 4);
	CHECK_EQ_INT(s.len[0], 14 + 40 + 8 + 40 + 16);
	CHECK_MEM(s.f[0] + 62, f + 14, 56);
	CHECK_EQ_INT(csum6(our6, peer6, s.f[0] + 54, 8 + 56), 0);
	p16(f + 54 + 4, 17);  /* UDP length beyond the payload */
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), DSSH_ERR_INVALID_FORMAT);

	/* reply to an unknown neighbour: solicitation to its solicited-node group, once a second */
	s.n = 0;
	memcpy(tgt, peer6, 16);
	tgt[15] = 9;
	memset(m, 0, 16);
	m[0] = 128;
	n = mk6(f, our_mac, tgt, our6, 58, 64, m, 16);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), 0);
	CHECK_EQ_INT(s.n, 1);
	CHECK_MEM(s.f[0], "\x33\x33\xff\x00\x00\x09", 6);
	CHECK_EQ_INT(s.f[0][54], 135);
	CHECK_MEM(s.f[0] + 62, tgt, 16);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_TX_ND_PENDING), 1);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 500), 0);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 1000), 0);
	CHECK_EQ_INT(s.n, 2);
	/* off-link without a router: no route */
	tgt[3] = 3;
	n = mk6(f, our_mac, tgt, our6, 58, 64, m, 16);
	CHECK_EQ_INT(dssh_net_input(ctx, f, n, 0, 0), 0);
	CHECK_EQ_INT(dropped(ctx, DSSH_NET_DROP_TX_NO_ROUTE), 1);
	dssh_net_ctx_free(ctx);
}

static void
test_ipv6_fuzz(void)
{
	struct sent s;
	struct dssh_net_ctx *ctx = mkctx6(&s);
	static uint8_t f[2048], m[256];
	uint64_t seed = 99;
	const struct dssh_net_stats *st = dssh_net_stats(ctx);

	for (int i = 0; i < 100000; i++) {
		size_t n, len = 8 + dssh_test_rand(&seed) % 64;

		if (i & 1) {
			n = mk_ns(f, our6, 1);
		} else {
			memset(m, 0, len);
			m[0] = (uint8_t)((i & 2) ? 128 : 136);
			n = mk6(f, our_mac, peer6, our6, 58, 255, m, len);
		}
		for (int k = 0; k < 2; k++)
			f[14 + dssh_test_rand(&seed) % (n - 14)] ^= (uint8_t)(1u << (dssh_test_rand(&seed) % 8));
		if (i & 4)
			n = dssh_test_rand(&seed) % (n + 1);
		CHECK(dssh_net_input(ctx, f, n, 0, (uint64_t)i) <= 0);
	}
	CHECK_EQ_INT(st->rx_frames, 100000);
	CHECK(st->drops > 50000);
	dssh_net_ctx_free(ctx);
}

int
main(void)
{
	DSSH_RUN(test_csum);
	DSSH_RUN(test_parse);
	DSSH_RUN(test_ctx_args);
	DSSH_RUN(test_start_gratuitous);
	DSSH_RUN(test_arp_reply_and_learn);
	DSSH_RUN(test_arp_malformed);
	DSSH_RUN(test_arp_resolve_retries);
	DSSH_RUN(test_echo);
	DSSH_RUN(test_ip_header);
	DSSH_RUN(test_ip_malformed);
	DSSH_RUN(test_eth_malformed);
	DSSH_RUN(test_icmp_udp);
	DSSH_RUN(test_tx_offload_flag);
	DSSH_RUN(test_fuzz);
	DSSH_RUN(test_ipv6_nd);
	DSSH_RUN(test_ipv6_echo_and_malformed);
	DSSH_RUN(test_ipv6_fuzz);
	DSSH_TEST_END();
}
