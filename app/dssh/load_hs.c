/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh-load's handshake storm: each worker thread connects (TCP, version
 * exchange, KEX, host-key check, userauth), optionally runs -C's command
 * in a session, disconnects, and again, until the time (-t) or its count
 * (-s) is reached; the time of each whole login is a latency sample. A
 * worker stops at its first failure.
 *
 * On dssh-load's own DPDK port (-o DpdkArgs=) the workers share the port as
 * dssh-cp's streams do (turn.h): a worker holds the turn while it touches
 * the port, lib/net, lib/tcp or its connection, and passes it at each poll
 * of the port, so that the -n logins are in flight together, each waiting
 * for the server while the others compute.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "dssh_crypto.h"
#include "dssh_err.h"
#include "dssh_ssh.h"
#include "load.h"
#include "turn.h"

/* Logins under way now, and the most at once (the JSON's max_in_flight). */
static atomic_uint in_flight, in_flight_max;

/* The DPDK transport, wrapped so that each poll passes the turn. */
static struct {
	struct dssh_client_transport tr;
	const struct dssh_client_transport *real;
	struct dssh_turn *turn;
} shared;

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
shared_connect(void *arg, const char *host, int port, unsigned timeout_s,
    struct dssh_stream **out)
{
	(void)arg;
	/* The SYN's round trip with the turn held: one RTT, short on a port. */
	return shared.real->connect(shared.real->arg, host, port, timeout_s, out);
}

/*
 * The port polled once, then the threads in line have their turn: the
 * caller (the client's wait loops) polls again if it has no news yet.
 */
static int
shared_poll(void *arg, struct dssh_stream *s, int timeout_ms)
{
	int r;

	(void)arg;
	(void)timeout_ms;
	r = shared.real->poll(shared.real->arg, s, 0);
	dssh_turn_pass(shared.turn);
	return r;
}

void
load_hs_share_port(struct load_cfg *cfg)
{
	shared.real = cfg->copts.transport;
	shared.turn = &cfg->dpdk.turn;
	shared.tr = (struct dssh_client_transport){ .connect = shared_connect,
	    .poll = shared_poll };
	cfg->copts.transport = &shared.tr;
}

unsigned
load_hs_max_in_flight(void)
{
	return atomic_load(&in_flight_max);
}

static void
flight_begin(void)
{
	unsigned n = atomic_fetch_add(&in_flight, 1) + 1, m = atomic_load(&in_flight_max);

	while (n > m && !atomic_compare_exchange_weak(&in_flight_max, &m, n))
		;
}

static int
one_handshake(struct load_worker *w, uint64_t *us, const char **what)
{
	struct dssh_client_opts o = w->cfg->copts;
	struct dssh_client *cl = NULL;
	uint64_t t0 = load_now_us();
	int r;

	o.engine = w->engine;
	flight_begin();
	*what = "login";
	if ((r = dssh_client_connect(&o, &cl)) == 0 && w->cfg->command != NULL) {
		*what = "the command";
		r = hs_command(cl, w->cfg->command);
	}
	*us = load_now_us() - t0;
	if (cl != NULL)
		dssh_client_close(cl);
	dssh_client_free(cl);
	atomic_fetch_sub(&in_flight, 1);
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
	if (shared.turn != NULL)
		dssh_turn_take(shared.turn);
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
	if (shared.turn != NULL)
		dssh_turn_give(shared.turn);
	if (w->engine != NULL && w->st.sessions_failed == 0)
		w->st.sessions_ok++;
	dssh_crypto_engine_free(w->engine);
	return NULL;
}
