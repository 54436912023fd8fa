/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP segments into a per-core stack (lib/tcp) with a listener and an echo
 * application: the input is a sequence of records (u16 length, segment
 * bytes: TCP header + payload, checksum treated as verified so that the
 * fuzzer reaches the state machine). Between records the clock moves, the
 * stack's output is drained and its timers run.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_log.h"
#include "dssh_tcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PEER 0xC6120001u   /* 198.18.0.1 */
#define US   0xC6120002u   /* 198.18.0.2 */

static volatile size_t fuzz_sink;

static void
drain(struct dssh_tcp_stack *st, uint64_t now)
{
	struct dssh_tcp_seg_out segs[16];
	struct dssh_tcp_event ev[16];
	uint8_t buf[2048];
	unsigned n;

	while ((n = dssh_tcp_events(st, ev, 16)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			struct dssh_tcp_conn *c = ev[i].conn;
			ssize_t r;

			if (ev[i].events & DSSH_TCP_EV_READABLE)
				while ((r = dssh_tcp_recv(c, buf, sizeof(buf))) > 0)
					dssh_tcp_send(c, buf, (size_t)r);   /* echo */
			if (ev[i].events & (DSSH_TCP_EV_PEER_FIN | DSSH_TCP_EV_RESET |
			    DSSH_TCP_EV_CLOSED))
				dssh_tcp_close(c, now);
		}
	}
	while ((n = dssh_tcp_output(st, segs, 16, now)) > 0)
		for (unsigned i = 0; i < n; i++)
			fuzz_sink += segs[i].hdr[13];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dssh_tcp_conf conf;
	struct dssh_tcp_stack *st;
	uint64_t now = 1000000;

	dssh_log_set_level(DSSH_LOG_QUIET);
	dssh_tcp_conf_default(&conf);
	conf.max_conns = 8;
	conf.syn_backlog = 2;      /* reach the SYN-cookie path too */
	if (dssh_tcp_stack_new(&conf, &st) != 0)
		return 0;
	dssh_tcp_listen(st, US, 22);
	while (size >= 2) {
		size_t n = (size_t)data[0] << 8 | data[1];

		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		uint8_t *seg = malloc(n ? n : 1);   /* private copy for ASan */

		memcpy(seg, data, n);
		struct dssh_tcp_seg_in in = { .saddr = PEER, .daddr = US, .data = seg, .len = n,
		    .flags = DSSH_TCP_SEG_CSUM_OK };

		dssh_tcp_input(st, &in, now);
		free(seg);
		data += n;
		size -= n;
		drain(st, now);
		now += 50000;
		dssh_tcp_timers(st, now);
		drain(st, now);
	}
	dssh_tcp_stack_free(st);
	return 0;
}
