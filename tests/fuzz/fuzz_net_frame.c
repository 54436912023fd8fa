/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ethernet frames into the data plane's network layer (lib/net): the input
 * is a sequence of records, u16 length then that many frame bytes, fed to
 * one context with IPv4 and IPv6 on, with the clock moving between frames
 * so ARP/ND timers run too.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_log.h"
#include "dssh_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t fuzz_tx_bytes;

static int
fuzz_tx(void *arg, const uint8_t *frame, size_t len, unsigned flags)
{
	(void)arg;
	(void)flags;
	/* touch every byte: what we send is built from peer bytes */
	for (size_t i = 0; i < len; i++)
		fuzz_tx_bytes += frame[i];
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dssh_net_conf conf;
	struct dssh_net_ctx *ctx;
	uint64_t now = 1000;

	dssh_log_set_level(DSSH_LOG_QUIET);
	memset(&conf, 0, sizeof(conf));
	memcpy(conf.mac, "\x02\x00\x00\x00\x00\x02", 6);
	conf.ip = 0xC6120002;                  /* 198.18.0.2 */
	conf.prefix_len = 24;
	conf.gateway = 0xC6120001;
	conf.ip6_enabled = true;
	dssh_net_parse_ipv6_prefix("2001:2::2/64", conf.ip6, &conf.ip6_prefix_len);
	conf.tx = fuzz_tx;
	if (dssh_net_ctx_new(&conf, &ctx) != 0)
		return 0;
	dssh_net_start(ctx, now);
	while (size >= 2) {
		size_t n = (size_t)data[0] << 8 | data[1];

		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		/* a private copy: ASan then sees any read past the frame */
		uint8_t *frame = malloc(n ? n : 1);

		memcpy(frame, data, n);
		dssh_net_input(ctx, frame, n, 0, now);
		free(frame);
		data += n;
		size -= n;
		now += 700;
		dssh_net_tick(ctx, now);
	}
	dssh_net_ctx_free(ctx);
	return 0;
}
