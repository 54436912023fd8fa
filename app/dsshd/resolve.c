/* SPDX-License-Identifier: BSD-3-Clause */
/* Name lookups on threads of their own (resolve.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dssh_err.h"
#include "resolve.h"

struct fwd_lookup {
	int refs;                       /* the thread's and the caller's */
	int wfd;
	bool done;
	int gai;
	struct addrinfo *res;
	char host[256];
	char port[8];
};

static void
lookup_put(struct fwd_lookup *lk)
{
	if (__atomic_sub_fetch(&lk->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (lk->res != NULL)
		freeaddrinfo(lk->res);
	close(lk->wfd);
	free(lk);
}

static void *
lookup_thread(void *arg)
{
	struct fwd_lookup *lk = arg;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV };

	lk->gai = getaddrinfo(lk->host, lk->port, &hints, &lk->res);
	if (lk->gai != 0)
		lk->res = NULL;
	__atomic_store_n(&lk->done, true, __ATOMIC_RELEASE);
	/* The caller may have closed its end already (SIGPIPE is ignored). */
	(void)!write(lk->wfd, "", 1);
	lookup_put(lk);
	return NULL;
}

int
fwd_lookup_start(const char *host, uint32_t port, struct fwd_lookup **out, int *fd)
{
	struct fwd_lookup *lk;
	pthread_attr_t attr;
	pthread_t t;
	int p[2], r;

	if (strlen(host) >= sizeof(lk->host))
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((lk = calloc(1, sizeof(*lk))) == NULL)
		return DSSH_ERR_ALLOC;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(lk);
		return DSSH_ERR_SYSTEM;
	}
	snprintf(lk->host, sizeof(lk->host), "%s", host);
	snprintf(lk->port, sizeof(lk->port), "%u", port);
	lk->wfd = p[1];
	lk->refs = 2;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, lookup_thread, lk);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		close(p[0]);
		close(p[1]);
		free(lk);
		errno = r;
		return DSSH_ERR_SYSTEM;
	}
	*out = lk;
	*fd = p[0];
	return 0;
}

int
fwd_lookup_finish(struct fwd_lookup *lk, int *gai, struct addrinfo **res)
{
	if (!__atomic_load_n(&lk->done, __ATOMIC_ACQUIRE))
		return DSSH_ERR_AGAIN;
	*gai = lk->gai;
	*res = lk->res;
	lk->res = NULL;
	lookup_put(lk);
	return 0;
}

void
fwd_lookup_cancel(struct fwd_lookup *lk)
{
	if (lk != NULL)
		lookup_put(lk);
}
