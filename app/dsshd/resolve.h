/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSHD_RESOLVE_H
#define DSSHD_RESOLVE_H

/*
 * A name lookup off the loop thread: getaddrinfo may wait seconds on DNS,
 * and a loop thread serves many connections. Each lookup runs on a
 * detached thread of its own and says it is done by making a pipe
 * readable; the caller polls that fd, then takes the result, or gives up
 * at any time (the thread frees what it made once it finishes).
 */
#include <netdb.h>
#include <stdint.h>

struct fwd_lookup;

/* Start resolving host:port (TCP). *fd is the caller's (close it after
 * fwd_lookup_finish or fwd_lookup_cancel): readable once done. */
int fwd_lookup_start(const char *host, uint32_t port, struct fwd_lookup **out, int *fd);
/* DSSH_ERR_AGAIN while running; else the lookup is over: the getaddrinfo
 * code in *gai and, for 0, *res (the caller's, freeaddrinfo). */
int fwd_lookup_finish(struct fwd_lookup *lk, int *gai, struct addrinfo **res);
void fwd_lookup_cancel(struct fwd_lookup *lk);

#endif
