/* SPDX-License-Identifier: BSD-3-Clause */
/* ARP for IPv4 over Ethernet (RFC 826), announcements as RFC 5227. */
#include <string.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "net_priv.h"

#define ARP_LEN 28
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

static struct dssh_net_arp_entry *
arp_find(const struct dssh_net_ctx *ctx, uint32_t ip)
{
	for (size_t i = 0; i < DSSH_NET_ARP_CACHE_SIZE; i++) {
		const struct dssh_net_arp_entry *e = &ctx->arp[i];

		if (e->state != DSSH_NET_ARP_FREE && e->ip == ip)
			return (struct dssh_net_arp_entry *)(uintptr_t)e;
	}
	return NULL;
}

static void
arp_release(struct dssh_net_ctx *ctx, struct dssh_net_arp_entry *e, enum dssh_net_drop why)
{
	if (e->held_len != 0)
		dssh_net_drop(ctx, why, 0);
	memset(e, 0, sizeof(*e));
}

/* A free slot, else the entry closest to expiry (reachable preferred over pending). */
static struct dssh_net_arp_entry *
arp_alloc(struct dssh_net_ctx *ctx, uint32_t ip)
{
	struct dssh_net_arp_entry *victim = NULL;

	for (size_t i = 0; i < DSSH_NET_ARP_CACHE_SIZE; i++) {
		struct dssh_net_arp_entry *e = &ctx->arp[i];

		if (e->state == DSSH_NET_ARP_FREE) {
			victim = e;
			break;
		}
		if (e->ip == ctx->conf.gateway)
			continue;
		if (victim == NULL || e->deadline < victim->deadline)
			victim = e;
	}
	if (victim == NULL)
		victim = &ctx->arp[0];
	arp_release(ctx, victim, DSSH_NET_DROP_TX_ARP_QUEUE);
	victim->ip = ip;
	return victim;
}

static uint8_t *
held_slot(struct dssh_net_ctx *ctx, const struct dssh_net_arp_entry *e)
{
	return ctx->held + (size_t)(e - ctx->arp) * ctx->conf.mtu;
}

static void
arp_set(struct dssh_net_ctx *ctx, struct dssh_net_arp_entry *e, const uint8_t mac[6],
    uint64_t now_ms)
{
	memcpy(e->mac, mac, 6);
	e->state = DSSH_NET_ARP_REACHABLE;
	e->tries = 0;
	e->deadline = now_ms + ctx->conf.arp_reachable_ms;
	if (e->held_len != 0) {
		size_t len = e->held_len;

		e->held_len = 0;
		dssh_net_eth_header(ctx, mac, DSSH_NET_ETHERTYPE_IPV4);
		memcpy(ctx->txbuf + DSSH_NET_ETH_HLEN, held_slot(ctx, e), len);
		(void)dssh_net_send(ctx, DSSH_NET_ETH_HLEN + len, e->held_flags);
	}
}

static int
valid_unicast_mac(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return (mac[0] & 1) == 0 && memcmp(mac, zero, 6) != 0;
}

int
dssh_net_arp_send(struct dssh_net_ctx *ctx, uint16_t oper, const uint8_t eth_dst[6],
    const uint8_t tha[6], uint32_t tpa)
{
	uint8_t *p = ctx->txbuf + DSSH_NET_ETH_HLEN;
	static const uint8_t zero[6];
	/* Padded to the 60-byte Ethernet minimum. */
	size_t len = 60;

	memset(ctx->txbuf, 0, len);
	dssh_net_eth_header(ctx, eth_dst, DSSH_NET_ETHERTYPE_ARP);
	dssh_net_put16(p, 1);                       /* htype Ethernet */
	dssh_net_put16(p + 2, DSSH_NET_ETHERTYPE_IPV4);
	p[4] = 6;
	p[5] = 4;
	dssh_net_put16(p + 6, oper);
	memcpy(p + 8, ctx->conf.mac, 6);
	dssh_put_u32be(p + 14, ctx->conf.ip);
	memcpy(p + 18, tha != NULL ? tha : zero, 6);
	dssh_put_u32be(p + 24, tpa);
	if (oper == ARP_OP_REQUEST) {
		if (tpa == ctx->conf.ip)
			ctx->st.tx_arp_gratuitous++;
		else
			ctx->st.tx_arp_request++;
	} else
		ctx->st.tx_arp_reply++;
	return dssh_net_send(ctx, len, 0);
}

int
dssh_net_arp_input(struct dssh_net_ctx *ctx, struct dssh_buf *b, uint64_t now_ms)
{
	uint8_t a[ARP_LEN], sha[6], tha[6];
	uint16_t oper;
	uint32_t spa, tpa;
	struct dssh_net_arp_entry *e;
	int merged = 0;

	if (dssh_buf_get(b, a, sizeof(a)) != 0)
		return dssh_net_drop(ctx, DSSH_NET_DROP_ARP_TRUNCATED, DSSH_ERR_MSG_INCOMPLETE);
	oper = dssh_net_get16(a + 6);
	if (dssh_net_get16(a) != 1 || dssh_net_get16(a + 2) != DSSH_NET_ETHERTYPE_IPV4 ||
	    a[4] != 6 || a[5] != 4 || (oper != ARP_OP_REQUEST && oper != ARP_OP_REPLY))
		return dssh_net_drop(ctx, DSSH_NET_DROP_ARP_BAD_FORMAT, DSSH_ERR_INVALID_FORMAT);
	memcpy(sha, a + 8, 6);
	spa = dssh_get_u32be(a + 14);
	memcpy(tha, a + 18, 6);
	tpa = dssh_get_u32be(a + 24);
	(void)tha;
	if (!valid_unicast_mac(sha) || memcmp(sha, ctx->conf.mac, 6) == 0 ||
	    spa == ctx->conf.ip || spa == 0xffffffffu || (spa >> 28) >= 0xe)
		return dssh_net_drop(ctx, DSSH_NET_DROP_ARP_BAD_SENDER, DSSH_ERR_INVALID_FORMAT);
	if (oper == ARP_OP_REQUEST)
		ctx->st.rx_arp_request++;
	else
		ctx->st.rx_arp_reply++;

	/* RFC 826: update an existing entry for the sender whoever the target is. */
	if (spa != 0 && (e = arp_find(ctx, spa)) != NULL) {
		arp_set(ctx, e, sha, now_ms);
		merged = 1;
	}
	if (tpa != ctx->conf.ip) {
		if (merged) {
			if (ctx->conf.arp_learned != NULL)
				ctx->conf.arp_learned(ctx->conf.arp_arg, spa, sha);
			return 0;
		}
		return dssh_net_drop(ctx, DSSH_NET_DROP_ARP_NOT_FOR_US, DSSH_ERR_NOT_FOUND);
	}
	/* spa 0 is an RFC 5227 probe: answer it, learn nothing. */
	if (spa != 0) {
		if (!merged)
			arp_set(ctx, arp_alloc(ctx, spa), sha, now_ms);
		if (ctx->conf.arp_learned != NULL)
			ctx->conf.arp_learned(ctx->conf.arp_arg, spa, sha);
	}
	if (oper == ARP_OP_REQUEST)
		(void)dssh_net_arp_send(ctx, ARP_OP_REPLY, sha, sha, spa);
	return 0;
}

int
dssh_net_arp_lookup(const struct dssh_net_ctx *ctx, uint32_t ip, uint8_t mac[6])
{
	const struct dssh_net_arp_entry *e = arp_find(ctx, ip);

	if (e == NULL || e->state != DSSH_NET_ARP_REACHABLE)
		return DSSH_ERR_NOT_FOUND;
	if (mac != NULL)
		memcpy(mac, e->mac, 6);
	return 0;
}

static struct dssh_net_arp_entry *
arp_start(struct dssh_net_ctx *ctx, uint32_t ip, uint64_t now_ms)
{
	struct dssh_net_arp_entry *e = arp_find(ctx, ip);

	if (e != NULL)
		return e;
	e = arp_alloc(ctx, ip);
	e->state = DSSH_NET_ARP_INCOMPLETE;
	e->tries = 1;
	e->deadline = now_ms + ctx->conf.arp_retry_ms;
	(void)dssh_net_arp_send(ctx, ARP_OP_REQUEST, dssh_net_bcast_mac, NULL, ip);
	return e;
}

int
dssh_net_arp_resolve(struct dssh_net_ctx *ctx, uint32_t ip, uint64_t now_ms)
{
	struct dssh_net_arp_entry *e;

	if (ip == 0 || ip == ctx->conf.ip)
		return DSSH_ERR_INVALID_ARGUMENT;
	e = arp_start(ctx, ip, now_ms);
	return e->state == DSSH_NET_ARP_REACHABLE ? 0 : DSSH_ERR_AGAIN;
}

int
dssh_net_arp_hold(struct dssh_net_ctx *ctx, uint32_t nh, size_t len, unsigned flags,
    uint64_t now_ms)
{
	struct dssh_net_arp_entry *e;

	if (len > ctx->conf.mtu)
		return DSSH_ERR_INVALID_ARGUMENT;
	/* arp_start may send a request through txbuf: keep the datagram first. */
	e = arp_find(ctx, nh);
	if (e == NULL) {
		e = arp_alloc(ctx, nh);
		e->state = DSSH_NET_ARP_INCOMPLETE;
		e->tries = 0;
		e->deadline = now_ms;
	}
	if (e->held_len != 0)
		dssh_net_drop(ctx, DSSH_NET_DROP_TX_ARP_QUEUE, 0);
	memcpy(held_slot(ctx, e), ctx->txbuf + DSSH_NET_ETH_HLEN, len);
	e->held_len = (uint16_t)len;
	e->held_flags = flags;
	if (e->tries == 0) {
		e->tries = 1;
		e->deadline = now_ms + ctx->conf.arp_retry_ms;
		(void)dssh_net_arp_send(ctx, ARP_OP_REQUEST, dssh_net_bcast_mac, NULL, nh);
	}
	return DSSH_ERR_AGAIN;
}

void
dssh_net_arp_learn(struct dssh_net_ctx *ctx, uint32_t ip, const uint8_t mac[6], uint64_t now_ms)
{
	struct dssh_net_arp_entry *e;

	if (ip == 0 || ip == ctx->conf.ip || !valid_unicast_mac(mac))
		return;
	if ((e = arp_find(ctx, ip)) == NULL)
		e = arp_alloc(ctx, ip);
	arp_set(ctx, e, mac, now_ms);
}

void
dssh_net_tick(struct dssh_net_ctx *ctx, uint64_t now_ms)
{
	dssh_net_nd_tick(ctx, now_ms);
	/* The gateway is kept resolved: after a failure, try again a little later. */
	if (ctx->conf.gateway != 0 && arp_find(ctx, ctx->conf.gateway) == NULL &&
	    now_ms >= ctx->gw_retry_at) {
		ctx->gw_retry_at = now_ms + 5 * (uint64_t)ctx->conf.arp_retry_ms;
		(void)arp_start(ctx, ctx->conf.gateway, now_ms);
	}
	for (size_t i = 0; i < DSSH_NET_ARP_CACHE_SIZE; i++) {
		struct dssh_net_arp_entry *e = &ctx->arp[i];

		if (e->state == DSSH_NET_ARP_FREE || now_ms < e->deadline)
			continue;
		if (e->state == DSSH_NET_ARP_INCOMPLETE) {
			if (e->tries >= ctx->conf.arp_retries) {
				arp_release(ctx, e, DSSH_NET_DROP_TX_ARP_FAILED);
				continue;
			}
			e->tries++;
			e->deadline = now_ms + ctx->conf.arp_retry_ms;
			(void)dssh_net_arp_send(ctx, ARP_OP_REQUEST, dssh_net_bcast_mac, NULL, e->ip);
		} else {
			/*
			 * Past its reachable time an entry stays in use while it is
			 * asked again, unicast, to the MAC it has (as a neighbour
			 * goes stale and is probed, RFC 4861 7.3): releasing it
			 * under a transfer would drop all but one datagram until a
			 * new broadcast resolution came back. Only probes that go
			 * unanswered release it (the gateway is then resolved anew).
			 */
			e->deadline = now_ms + ctx->conf.arp_retry_ms;
			if (++e->tries > ctx->conf.arp_retries) {
				uint32_t ip = e->ip;

				arp_release(ctx, e, DSSH_NET_DROP_TX_ARP_FAILED);
				if (ip == ctx->conf.gateway)
					(void)arp_start(ctx, ip, now_ms);
				continue;
			}
			(void)dssh_net_arp_send(ctx, ARP_OP_REQUEST, e->mac, NULL, e->ip);
		}
	}
}
