/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TCP_TEST_UTIL_H
#define TCP_TEST_UTIL_H

/* Helpers for the TCP unit tests: craft segments, capture the stack's replies. */
#include <string.h>

#include "dssh_err.h"
#include "dssh_tcp.h"
#include "dssh_util.h"
#include "dssh_buf.h"
#include "dssh_test.h"

#define IP_A 0x0a000001u   /* 10.0.0.1: the stack under test */
#define IP_B 0x0a000002u   /* 10.0.0.2: the crafted peer */

struct cap {
	struct dssh_tcp_hdr h;
	uint8_t raw[60 + 65536];
	size_t len;
	uint32_t saddr, daddr;
	bool csum_ok;
};

/* Build a segment from the peer. opts/olen are raw option bytes (padded here). */
static inline size_t mkseg(uint8_t *buf, uint16_t sport, uint16_t dport, uint32_t seq,
    uint32_t ack, uint8_t flags, uint16_t wnd, const uint8_t *opts, size_t olen,
    const void *pay, size_t plen)
{
	size_t hl = 20 + ((olen + 3) & ~(size_t)3);
	uint16_t ck;
	const uint8_t *pp[1] = { pay };
	uint32_t pl[1] = { (uint32_t)plen };

	memset(buf, 0, hl);
	buf[0] = sport >> 8; buf[1] = (uint8_t)sport;
	buf[2] = dport >> 8; buf[3] = (uint8_t)dport;
	buf[4] = seq >> 24; buf[5] = (uint8_t)(seq >> 16); buf[6] = (uint8_t)(seq >> 8); buf[7] = (uint8_t)seq;
	buf[8] = ack >> 24; buf[9] = (uint8_t)(ack >> 16); buf[10] = (uint8_t)(ack >> 8); buf[11] = (uint8_t)ack;
	buf[12] = (uint8_t)((hl / 4) << 4);
	buf[13] = flags;
	buf[14] = wnd >> 8; buf[15] = (uint8_t)wnd;
	if (olen)
		memcpy(buf + 20, opts, olen);
	if (plen)
		memcpy(buf + hl, pay, plen);
	ck = dssh_tcp_checksum(IP_B, IP_A, buf, hl, pp, pl, plen ? 1 : 0);
	buf[16] = ck >> 8; buf[17] = (uint8_t)ck;
	return hl + plen;
}

static inline int feed_raw(struct dssh_tcp_stack *s, uint32_t src, uint32_t dst,
    const uint8_t *buf, size_t len, uint64_t now)
{
	struct dssh_tcp_seg_in in = { .saddr = src, .daddr = dst, .data = buf, .len = len };

	return dssh_tcp_input(s, &in, now);
}

/* Peer -> stack segment with the given fields. */
static inline int feed(struct dssh_tcp_stack *s, uint16_t sport, uint16_t dport, uint32_t seq,
    uint32_t ack, uint8_t flags, uint16_t wnd, const uint8_t *opts, size_t olen,
    const void *pay, size_t plen, uint64_t now)
{
	static uint8_t buf[60 + 65536];
	size_t n = mkseg(buf, sport, dport, seq, ack, flags, wnd, opts, olen, pay, plen);

	return feed_raw(s, IP_B, IP_A, buf, n, now);
}

/* Flatten a seg_out into bytes, check its checksum, parse it. */
static inline void cap_from(struct cap *c, const struct dssh_tcp_seg_out *o)
{
	size_t off;
	unsigned i;
	const uint8_t *pp[1];
	uint32_t pl[1];
	uint16_t ck;

	memcpy(c->raw, o->hdr, o->hdr_len);
	off = o->hdr_len;
	for (i = 0; i < o->npay; i++) {
		memcpy(c->raw + off, o->pay[i], o->pay_len[i]);
		off += o->pay_len[i];
	}
	c->len = off;
	c->saddr = o->saddr;
	c->daddr = o->daddr;
	pp[0] = c->raw + o->hdr_len;
	pl[0] = (uint32_t)(off - o->hdr_len);
	ck = dssh_tcp_checksum(o->saddr, o->daddr, c->raw, o->hdr_len, pp, pl, 1);
	c->csum_ok = dssh_tcp_parse(c->raw, c->len, &c->h) == 0 && ck == c->h.csum;
}

/* Drain every output segment of s into caps; returns how many. */
static inline unsigned drain(struct dssh_tcp_stack *s, struct cap *caps, unsigned max, uint64_t now)
{
	struct dssh_tcp_seg_out o[8];
	unsigned n, i, k = 0, total = 0;

	while ((n = dssh_tcp_output(s, o, 8, now)) > 0) {
		for (i = 0; i < n; i++) {
			if (k < max)
				cap_from(&caps[k++], &o[i]);
			total++;
		}
		if (n < 8)
			break;
	}
	return total;
}

#endif
