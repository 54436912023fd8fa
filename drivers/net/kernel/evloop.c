/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dssh_err.h"
#include "dssh_evloop.h"
#include "dssh_log.h"
#include "dssh_util.h"

#define EVLOOP_MAX_EVENTS 64

struct dssh_evloop {
	int epfd;
	/* The batch being dispatched: a source dropped by a callback must not
	 * get the events still pending for it in this batch (its memory may
	 * already be freed). */
	struct epoll_event *batch;
	int batch_next, batch_n;
};

int
dssh_evloop_new(struct dssh_evloop **out)
{
	struct dssh_evloop *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return DSSH_ERR_ALLOC;
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		free(l);
		return DSSH_ERR_SYSTEM;
	}
	*out = l;
	return 0;
}

void
dssh_evloop_free(struct dssh_evloop *l)
{
	if (l == NULL)
		return;
	close(l->epfd);
	free(l);
}

int
dssh_evloop_set(struct dssh_evloop *l, struct dssh_evsource *src, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	if (src->registered && src->events == events)
		return 0;
	if (epoll_ctl(l->epfd, src->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, src->fd, &ev) != 0) {
		dssh_error("epoll_ctl fd %d: %s", src->fd, strerror(errno));
		return DSSH_ERR_SYSTEM;
	}
	src->registered = true;
	src->events = events;
	return 0;
}

void
dssh_evloop_del(struct dssh_evloop *l, struct dssh_evsource *src)
{
	if (!src->registered)
		return;
	for (int i = l->batch_next; i < l->batch_n; i++)
		if (l->batch[i].data.ptr == src)
			l->batch[i].data.ptr = NULL;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, src->fd, NULL);
	src->registered = false;
	src->events = 0;
}

int
dssh_evloop_run(struct dssh_evloop *l, volatile int *stop, void (*tick)(void *arg), void *arg)
{
	struct epoll_event evs[EVLOOP_MAX_EVENTS];
	uint64_t next_tick = dssh_now_ms() + 1000;

	while (!*stop) {
		uint64_t now = dssh_now_ms();
		int timeout = now >= next_tick ? 0 : (int)(next_tick - now);
		int n = epoll_wait(l->epfd, evs, EVLOOP_MAX_EVENTS, timeout);

		if (n < 0 && errno != EINTR)
			return DSSH_ERR_SYSTEM;
		l->batch = evs;
		l->batch_n = n > 0 ? n : 0;
		for (int i = 0; i < l->batch_n; i++) {
			struct dssh_evsource *src = evs[i].data.ptr;

			l->batch_next = i + 1;
			if (src != NULL)
				src->cb(src, evs[i].events);
		}
		l->batch_n = l->batch_next = 0;
		if (dssh_now_ms() >= next_tick) {
			next_tick = dssh_now_ms() + 1000;
			if (tick != NULL)
				tick(arg);
		}
	}
	return 0;
}

int
dssh_listen_tcp(const char *addr, int port, int *fd_out)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST | AI_PASSIVE };
	struct addrinfo *ai = NULL;
	char portstr[16];
	int fd = -1, one = 1, r;

	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((r = getaddrinfo(addr, portstr, &hints, &ai)) != 0) {
		dssh_error("bad listen address %s: %s", addr, gai_strerror(r));
		return DSSH_ERR_CONFIG;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0)
		goto fail;
	freeaddrinfo(ai);
	*fd_out = fd;
	return 0;
fail:
	dssh_error("listen on %s port %d: %s", addr, port, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return DSSH_ERR_SYSTEM;
}

static void
addr_text(const struct sockaddr_storage *ss, char *ip, size_t iplen, int *port)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, (socklen_t)iplen);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)iplen);
		*port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)iplen);
		*port = ntohs(s4->sin_port);
	}
}

int
dssh_accept_tcp(int lfd, int *fd_out, char *peer_ip, size_t iplen, int *peer_port,
    char *local_ip, size_t liplen, int *local_port)
{
	struct sockaddr_storage ss, ls;
	socklen_t sl = sizeof(ss), ll = sizeof(ls);
	int one = 1;
	int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? DSSH_ERR_AGAIN : DSSH_ERR_SYSTEM;
	/* Interactive and handshake traffic must not wait for Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	getsockname(fd, (struct sockaddr *)&ls, &ll);
	addr_text(&ss, peer_ip, iplen, peer_port);
	addr_text(&ls, local_ip, liplen, local_port);
	*fd_out = fd;
	return 0;
}
