/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_EVLOOP_H
#define DSSH_EVLOOP_H

/*
 * The kernel-socket backend: an epoll loop with per-fd callbacks and a
 * once-a-second tick, plus listening-socket helpers. One loop per thread;
 * nothing in here is shared.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "dssh_stream.h"

struct dssh_evloop;

/* One registration; the owner embeds it in its own struct. */
struct dssh_evsource {
	int fd;
	uint32_t events;            /* EPOLLIN / EPOLLOUT currently wanted */
	bool registered;
	void (*cb)(struct dssh_evsource *src, uint32_t revents);
};

int dssh_evloop_new(struct dssh_evloop **out);
void dssh_evloop_free(struct dssh_evloop *l);
/* Register, change or drop interest; events 0 keeps the fd registered but idle. */
int dssh_evloop_set(struct dssh_evloop *l, struct dssh_evsource *src, uint32_t events);
void dssh_evloop_del(struct dssh_evloop *l, struct dssh_evsource *src);
/* Run until *stop is set. tick(arg) runs about once a second. */
int dssh_evloop_run(struct dssh_evloop *l, volatile int *stop,
    void (*tick)(void *arg), void *arg);

/* A non-blocking listening TCP socket on addr:port (numeric v4 or v6). */
int dssh_listen_tcp(const char *addr, int port, int *fd_out);
/* Accept one connection: fd non-blocking, TCP_NODELAY; peer and local as text. */
int dssh_accept_tcp(int lfd, int *fd_out, char *peer_ip, size_t iplen, int *peer_port,
    char *local_ip, size_t liplen, int *local_port);

/* Accept one connection on lfd: its fd (non-blocking, TCP_NODELAY) and addresses. */
int dssh_sock_accept(int lfd, int *fd, struct dssh_stream_info *info);
/*
 * A connected socket as a stream served by loop (the caller sets
 * on_event/owner, then calls dssh_stream_want); closing the stream closes
 * fd. scratch (scratch_len bytes) is the loop's receive buffer, shared by
 * all of its streams.
 */
int dssh_sock_stream_new(struct dssh_evloop *loop, int fd, const struct dssh_stream_info *info,
    uint8_t *scratch, size_t scratch_len, struct dssh_stream **out);

#endif
