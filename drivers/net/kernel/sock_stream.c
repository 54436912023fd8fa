/* SPDX-License-Identifier: BSD-3-Clause */
/* A connected kernel TCP socket as a dssh_stream, driven by a dssh_evloop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_evloop.h"
#include "dssh_log.h"
#include "dssh_util.h"

struct sock_stream {
	struct dssh_stream base;
	struct dssh_evsource src;
	struct dssh_evloop *loop;
	uint8_t *scratch;          /* the loop's receive buffer, shared by its sockets */
	size_t scratch_len;
	const uint8_t *view;       /* what the last peek returned */
	size_t view_len;
	struct dssh_buf rest;      /* a peeked piece not wholly consumed: kept here, so
	                            * the shared scratch is free for the next socket */
	bool eof;
};

static struct sock_stream *
sock_of(struct dssh_stream *s)
{
	return (struct sock_stream *)s;
}

static size_t
sock_peek(struct dssh_stream *s, const uint8_t **p)
{
	struct sock_stream *k = sock_of(s);
	ssize_t n;

	if (dssh_buf_len(&k->rest) > 0) {
		k->view = dssh_buf_ptr(&k->rest);
		k->view_len = dssh_buf_len(&k->rest);
	} else if (k->eof) {
		k->view_len = 0;
	} else if ((n = recv(k->src.fd, k->scratch, k->scratch_len, 0)) > 0) {
		k->view = k->scratch;
		k->view_len = (size_t)n;
	} else {
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			if (n < 0)
				dssh_verbose("%s port %d: read: %s", s->info.peer_ip,
				    s->info.peer_port, strerror(errno));
			k->eof = true;
		}
		k->view_len = 0;
	}
	*p = k->view;
	return k->view_len;
}

static void
sock_consume(struct dssh_stream *s, size_t n)
{
	struct sock_stream *k = sock_of(s);

	n = DSSH_MIN(n, k->view_len);
	if (dssh_buf_len(&k->rest) > 0) {
		dssh_buf_consume(&k->rest, n);
	} else if (n < k->view_len && dssh_buf_put(&k->rest, k->view + n, k->view_len - n) != 0) {
		dssh_error("%s port %d: out of memory for input", s->info.peer_ip, s->info.peer_port);
		k->eof = true;
	}
	k->view_len = 0;
}

static size_t
sock_read(struct dssh_stream *s, uint8_t *p, size_t n)
{
	struct sock_stream *k = sock_of(s);
	ssize_t r;

	if (dssh_buf_len(&k->rest) > 0) {
		n = DSSH_MIN(n, dssh_buf_len(&k->rest));
		memcpy(p, dssh_buf_ptr(&k->rest), n);
		dssh_buf_consume(&k->rest, n);
		return n;
	}
	if (k->eof || n == 0)
		return 0;
	if ((r = recv(k->src.fd, p, n, 0)) > 0)
		return (size_t)r;
	if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
		if (r < 0)
			dssh_verbose("%s port %d: read: %s", s->info.peer_ip, s->info.peer_port,
			    strerror(errno));
		k->eof = true;
	}
	return 0;
}

static ssize_t
sock_write(struct dssh_stream *s, const void *p, size_t n)
{
	struct sock_stream *k = sock_of(s);
	ssize_t w = send(k->src.fd, p, n, MSG_NOSIGNAL);

	if (w >= 0)
		return w;
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	dssh_verbose("%s port %d: write: %s", s->info.peer_ip, s->info.peer_port, strerror(errno));
	return -1;
}

static bool
sock_eof(struct dssh_stream *s)
{
	struct sock_stream *k = sock_of(s);

	return k->eof && dssh_buf_len(&k->rest) == 0;
}

static void
sock_want(struct dssh_stream *s, bool readable, bool writable)
{
	struct sock_stream *k = sock_of(s);

	dssh_evloop_set(k->loop, &k->src, (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0));
}

static void
sock_close(struct dssh_stream *s)
{
	struct sock_stream *k = sock_of(s);

	dssh_evloop_del(k->loop, &k->src);
	close(k->src.fd);
	dssh_buf_free(&k->rest);
	free(k);
}

static uint32_t
sock_rtt_us(struct dssh_stream *s)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(sock_of(s)->src.fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return 0;
	return ti.tcpi_rtt;
}

static const struct dssh_stream_ops sock_ops = {
	.rtt_us = sock_rtt_us,
	.peek = sock_peek,
	.consume = sock_consume,
	.read = sock_read,
	.write = sock_write,
	.eof = sock_eof,
	.want = sock_want,
	.close = sock_close,
};

static void
sock_event(struct dssh_evsource *src, uint32_t ev)
{
	struct sock_stream *k = (struct sock_stream *)((char *)src - offsetof(struct sock_stream, src));

	(void)ev;
	k->base.on_event(k->base.owner);
}

int
dssh_sock_stream_new(struct dssh_evloop *loop, int fd, const struct dssh_stream_info *info,
    uint8_t *scratch, size_t scratch_len, struct dssh_stream **out)
{
	struct sock_stream *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return DSSH_ERR_ALLOC;
	k->base.info = *info;
	k->base.info.via = "";
	k->base.ops = &sock_ops;
	k->loop = loop;
	k->scratch = scratch;
	k->scratch_len = scratch_len;
	dssh_buf_init(&k->rest, 0);
	k->src = (struct dssh_evsource){ .fd = fd, .cb = sock_event };
	*out = &k->base;
	return 0;
}

int
dssh_sock_accept(int lfd, int *fd, struct dssh_stream_info *info)
{
	memset(info, 0, sizeof(*info));
	return dssh_accept_tcp(lfd, fd, info->peer_ip, sizeof(info->peer_ip), &info->peer_port,
	    info->local_ip, sizeof(info->local_ip), &info->local_port);
}
