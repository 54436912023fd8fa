/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSHD_SERVER_H
#define DSSHD_SERVER_H

#include <signal.h>

#include "dssh_config.h"
#include "dssh_ssh.h"
#include "dssh_stream.h"

struct dssh_crypto_engine;
struct dsshd_gen;
struct dsshd_opts;

/* Crypto engine instances for loop threads 1..N-1 (loop 0 uses sshconf's). */
struct dsshd_engines {
	/* NULL: this engine has no second instance (one loop thread). */
	struct dssh_crypto_engine *(*make)(void *arg, unsigned loop);
	void (*free)(void *arg, struct dssh_crypto_engine *e);
	void *arg;
};

/*
 * Listen per gen's configuration and serve until SIGTERM/SIGINT with
 * LoopThreads loop threads: connections on kernel sockets, and, with a
 * source (the DPDK data plane), its connections too (on loop 0). gen's
 * sshconf.engine is loop 0's. SIGHUP reloads from opts (gen.h): new
 * connections take the new generation. The caller keeps its reference.
 */
/* SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1: taken by loop 0's signalfd
 * only; dsshd_block_signals blocks them in the calling thread. */
void dsshd_signal_set(sigset_t *set);
int dsshd_block_signals(void);

int dsshd_server_run(struct dsshd_gen *gen, const struct dsshd_opts *opts,
    const struct dssh_stream_source *source, const struct dsshd_engines *engines);

#endif
