/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh-load's handshake storm: each worker thread connects (TCP, version
 * exchange, KEX, host-key check, userauth), optionally runs -C's command
 * in a session, disconnects, and again, until the time (-t) or its count
 * (-s) is reached; the time of each whole login is a latency sample. A
 * worker stops at its first failure.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "dssh_crypto.h"
#include "dssh_err.h"
#include "dssh_ssh.h"
#include "load.h"

struct hs_run {
	bool closed;
	int status;
};

static void
hs_closed(void *arg, uint32_t chan)
{
	(void)chan;
	((struct hs_run *)arg)->closed = true;
}

static void
hs_exit(void *arg, uint32_t chan, int status, const char *sig)
{
	(void)chan;
	((struct hs_run *)arg)->status = sig != NULL ? -1 : status;
}

static const struct dssh_client_chan_ops hs_ops = {
	.closed = hs_closed,
	.exit = hs_exit,
};

/* -C: the command in a session, to its end; 0 if its status is 0. */
static int
hs_command(struct dssh_client *cl, const char *cmd)
{
	struct dssh_session_req req = { .type = DSSH_REQ_EXEC, .command = cmd };
	struct hs_run run = { .status = -1 };
	uint32_t chan;
	int r;

	dssh_client_set_chan_ops(cl, &hs_ops, &run);
	if ((r = dssh_client_session(cl, &req, &chan)) != 0)
		return r;
	while (!run.closed)
		if ((r = dssh_client_wait(cl, 1000)) != 0)
			return r;
	dssh_chan_close(dssh_client_conn(cl), chan);
	return run.status == 0 ? 0 : DSSH_ERR_PERMISSION;
}

static int
one_handshake(struct load_worker *w, uint64_t *us, const char **what)
{
	struct dssh_client_opts o = w->cfg->copts;
	struct dssh_client *cl = NULL;
	uint64_t t0 = load_now_us();
	int r;

	o.engine = w->engine;
	*what = "login";
	if ((r = dssh_client_connect(&o, &cl)) == 0 && w->cfg->command != NULL) {
		*what = "the command";
		r = hs_command(cl, w->cfg->command);
	}
	*us = load_now_us() - t0;
	if (cl != NULL)
		dssh_client_close(cl);
	dssh_client_free(cl);
	return r;
}

static bool
hs_more(const struct load_worker *w, uint64_t done)
{
	if (w->cfg->size > 0 && done >= w->cfg->size)
		return false;
	return !load_deadline_passed(w);
}

void *
load_hs_worker(void *arg)
{
	struct load_worker *w = arg;
	uint64_t done = 0, us;
	const char *what;
	int r;

	if (dssh_crypto_engine_create(DSSH_CRYPTO_ENGINE_AUTO, NULL, &w->engine) != 0)
		load_fail(&w->st, "no crypto engine");
	pthread_barrier_wait(w->start);
	if (w->cfg->duration > 0)
		w->deadline_us = load_now_us() + (uint64_t)(w->cfg->duration * 1e6);
	while (w->engine != NULL && hs_more(w, done)) {
		if ((r = one_handshake(w, &us, &what)) != 0) {
			load_fail(&w->st, "worker %u, handshake %" PRIu64 ": %s failed: %s", w->idx,
			    done + 1, what, dssh_err_str(r));
			w->st.sessions_failed++;
			break;
		}
		done++;
		atomic_fetch_add(&w->st.handshakes, 1);
		load_lat_add(&w->st.lat, us);
	}
	if (w->engine != NULL && w->st.sessions_failed == 0)
		w->st.sessions_ok++;
	dssh_crypto_engine_free(w->engine);
	return NULL;
}
