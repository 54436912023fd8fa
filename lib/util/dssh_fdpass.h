/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_FDPASS_H
#define DSSH_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/* The most descriptors one dssh_send_fds message carries. */
#define DSSH_SEND_FDS_MAX 3

/*
 * One sendmsg(2) of the len bytes at p on the Unix socket sock, with
 * fds[0..nfds) attached by SCM_RIGHTS (none when nfds is 0) and flags
 * (MSG_NOSIGNAL, MSG_DONTWAIT, ...): sendmsg's result, -1 with errno set
 * (EINVAL for nfds > DSSH_SEND_FDS_MAX). Not retried on EINTR.
 */
ssize_t dssh_send_fds(int sock, const void *p, size_t len, const int *fds, size_t nfds,
    int flags);

#endif
