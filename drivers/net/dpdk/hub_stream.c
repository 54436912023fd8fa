/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data plane's connections as dssh_streams for the control thread: an
 * adapter over the hub's streams (stream.c), and the hub as a source of new
 * streams, so that the daemon has one code path for every backend.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "dssh_dpdk.h"
#include "dssh_log.h"
#include "dssh_util.h"

struct hub_stream {
	struct dssh_stream base;
	struct dssh_dpdk_stream *s;
};

static struct dssh_dpdk_stream *
dp_of(struct dssh_stream *s)
{
	return ((struct hub_stream *)s)->s;
}

static size_t
hub_peek(struct dssh_stream *s, const uint8_t **p)
{
	const uint8_t *ptr[2];
	size_t len[2];

	if (dssh_dpdk_stream_peek(dp_of(s), ptr, len) == 0)
		return 0;
	*p = ptr[0];
	return len[0];
}

static void
hub_consume(struct dssh_stream *s, size_t n)
{
	dssh_dpdk_stream_consume(dp_of(s), n);
}

static ssize_t
hub_write(struct dssh_stream *s, const void *p, size_t n)
{
	return (ssize_t)dssh_dpdk_stream_write(dp_of(s), p, n);
}

static bool
hub_eof(struct dssh_stream *s)
{
	return dssh_dpdk_stream_eof(dp_of(s));
}

/* The data core posts an event for every change: nothing to arm. */
static void
hub_want(struct dssh_stream *s, bool readable, bool writable)
{
	(void)s;
	(void)readable;
	(void)writable;
}

static void
hub_close(struct dssh_stream *s)
{
	struct dssh_dpdk_stream *d = dp_of(s);

	dssh_dpdk_stream_set_udata(d, NULL);
	dssh_dpdk_stream_close(d);
	free(s);
}

static const struct dssh_stream_ops hub_ops = {
	.peek = hub_peek,
	.consume = hub_consume,
	.write = hub_write,
	.eof = hub_eof,
	.want = hub_want,
	.close = hub_close,
};

static void
format_ipv4(uint32_t host_order, char *buf, size_t len)
{
	struct in_addr a = { .s_addr = htonl(host_order) };

	if (inet_ntop(AF_INET, &a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

/* A connection the data plane accepted, wrapped; NULL (closed) when out of memory. */
static struct dssh_stream *
hub_stream_new(struct dssh_dpdk_hub *hub, struct dssh_dpdk_stream *d)
{
	struct hub_stream *h = calloc(1, sizeof(*h));
	struct dssh_dpdk_stream_info di;
	struct dssh_stream_info *in;

	if (h == NULL) {
		dssh_error("data plane: out of memory for a new connection");
		dssh_dpdk_stream_close(d);
		return NULL;
	}
	in = &h->base.info;
	dssh_dpdk_stream_get_info(d, &di);
	format_ipv4(di.raddr, in->peer_ip, sizeof(in->peer_ip));
	format_ipv4(di.laddr, in->local_ip, sizeof(in->local_ip));
	in->peer_port = di.rport;
	in->local_port = di.lport;
	in->via = " (DPDK data plane)";
	in->dataplane = true;
	in->core = di.core;
	in->records = dssh_dpdk_hub_packet_layer(hub);
	h->base.ops = &hub_ops;
	h->s = d;
	dssh_dpdk_stream_set_udata(d, h);
	return &h->base;
}

static void
hub_dispatch(void *ctx, void (*on_open)(void *arg, struct dssh_stream *s), void *arg)
{
	struct dssh_dpdk_hub *hub = ctx;
	struct dssh_dpdk_stream_event evs[32];
	unsigned n;

	do {
		n = dssh_dpdk_hub_poll(hub, evs, DSSH_ARRAY_SIZE(evs));
		for (unsigned i = 0; i < n; i++) {
			struct dssh_stream *s;

			if (evs[i].events & DSSH_DPDK_EV_OPEN) {
				/* the owner runs the first round of I/O itself */
				if ((s = hub_stream_new(hub, evs[i].stream)) != NULL)
					on_open(arg, s);
				continue;
			}
			if ((s = dssh_dpdk_stream_udata(evs[i].stream)) != NULL && s->on_event != NULL)
				s->on_event(s->owner);
		}
	} while (n == DSSH_ARRAY_SIZE(evs));
}

void
dssh_dpdk_hub_stream_source(struct dssh_dpdk_hub *hub, struct dssh_stream_source *src)
{
	src->fd = dssh_dpdk_hub_fd(hub);
	src->dispatch = hub_dispatch;
	src->ctx = hub;
}
