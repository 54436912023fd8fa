/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP segments into a per-core stack (lib/tcp) with a listener and an echo
 * application: the input is a sequence of records (u16 length, segment
 * bytes: TCP header + payload, checksum treated as verified so that the
 * fuzzer reaches the state machine). Between records the clock moves, the
 * stack's output is drained and its timers run. Inputs of odd length run
 * with payload held by reference (conf.buf_ops, as the data plane does with
 * mbufs): each segment in its own reference-counted buffer, so that a byte
 * read after its buffer was released shows under ASan, and every reference
 * must be back when the stack is freed; the echo then goes back by
 * reference too (conf.tx_buf_ops, dssh_tcp_send_ref, each write in its own
 * buffer) and every payload byte of every segment out is read.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_log.h"
#include "dssh_tcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PEER 0xC6120001u   /* 198.18.0.1 */
#define US   0xC6120002u   /* 198.18.0.2 */

static volatile size_t fuzz_sink;

struct fbuf {
	long refs;
	uint8_t data[];
};

static long fuzz_live;

static void
fbuf_unref(struct fbuf *b)
{
	if (--b->refs == 0) {
		free(b);
		fuzz_live--;
	}
}

static bool
fbuf_hold(void *arg, void *buf)
{
	struct fbuf *b = buf;

	(void)arg;
	if ((b->refs & 7) == 4)
		return false;               /* the driver's budget refuses some */
	b->refs++;
	return true;
}

static void
fbuf_release(void *arg, void *buf)
{
	(void)arg;
	fbuf_unref(buf);
}

static const struct dssh_tcp_buf_ops fbuf_ops = { .hold = fbuf_hold, .release = fbuf_release };

static bool fuzz_tx_ref;

static void
echo(struct dssh_tcp_conn *c, const uint8_t *p, size_t n)
{
	struct fbuf *b;

	if (!fuzz_tx_ref || (b = malloc(sizeof(*b) + n)) == NULL) {
		dssh_tcp_send(c, p, n);
		return;
	}
	b->refs = 1;
	fuzz_live++;
	memcpy(b->data, p, n);
	dssh_tcp_send_ref(c, b, b->data, n);
	fbuf_unref(b);
}

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
					echo(c, buf, (size_t)r);
			if (ev[i].events & (DSSH_TCP_EV_PEER_FIN | DSSH_TCP_EV_RESET |
			    DSSH_TCP_EV_CLOSED))
				dssh_tcp_close(c, now);
		}
	}
	while ((n = dssh_tcp_output(st, segs, 16, now)) > 0)
		for (unsigned i = 0; i < n; i++) {
			fuzz_sink += segs[i].hdr[13];
			for (unsigned k = 0; k < segs[i].npay; k++)
				for (uint32_t j = 0; j < segs[i].pay_len[k]; j++)
					fuzz_sink += segs[i].pay[k][j];
		}
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
	fuzz_tx_ref = (size & 1) != 0;
	if (size & 1) {
		conf.buf_ops = &fbuf_ops;
		conf.rcvbuf = 16384;
		conf.tx_buf_ops = &fbuf_ops;
	}
	if (dssh_tcp_stack_new(&conf, &st) != 0)
		return 0;
	dssh_tcp_listen(st, US, 22);
	while (size >= 2) {
		size_t n = (size_t)data[0] << 8 | data[1];

		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		struct fbuf *b = malloc(sizeof(*b) + (n ? n : 1));   /* private copy for ASan */

		if (b == NULL)
			break;
		b->refs = 1;
		fuzz_live++;
		memcpy(b->data, data, n);
		struct dssh_tcp_seg_in in = { .saddr = PEER, .daddr = US, .data = b->data, .len = n,
		    .flags = DSSH_TCP_SEG_CSUM_OK, .buf = b, .buf_cost = (uint32_t)n + 64 };

		dssh_tcp_input(st, &in, now);
		fbuf_unref(b);
		data += n;
		size -= n;
		drain(st, now);
		now += 50000;
		dssh_tcp_timers(st, now);
		drain(st, now);
	}
	dssh_tcp_stack_free(st);
	if (fuzz_live != 0)
		abort();                    /* a reference never released */
	return 0;
}
