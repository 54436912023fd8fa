/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_LOAD_H
#define DSSH_LOAD_H

/* dssh-load's parts: options and figures (load.c), the channel workloads
 * over one connection (load_chan.c, load_sftp.c), the handshake storm
 * (load_hs.c). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dpdkopt.h"
#include "dssh_client.h"
#include "dssh_sftp_client.h"

enum load_wl {
	WL_UPLOAD, WL_DOWNLOAD, WL_SFTP_UPLOAD, WL_SFTP_DOWNLOAD, WL_HANDSHAKE, WL_ECHO,
	WL_FORWARD,
};

struct load_cfg {
	enum load_wl wl;
	struct dssh_client_opts copts;
	unsigned sessions, conns;
	double duration;              /* seconds, 0: none (size-bound) */
	uint64_t size;                /* per session (handshake: per worker), 0: none */
	const char *command;          /* -C: the remote command, NULL: the workload's */
	const char *path;             /* --path: the SFTP file (upload: PATH.<session>) */
	const char *target_host;      /* forward: --target host:port */
	int target_port;
	unsigned interval_ms;         /* echo: between keystrokes */
	bool reopen;                  /* forward: a new channel after each, until -t */
	bool json, progress, quiet;
	/* -o DpdkArgs=: one DPDK port, all connections driven by one worker thread
	 * (handshake: a thread per login in flight, taking turns on the port) */
	struct dssh_dpdkopt dpdk;
};

/* Latency samples in microseconds, one thread's. */
struct lat {
	uint32_t *v;
	size_t n, cap;
};

/* What a worker (its connections, or one handshake thread) measured. */
struct load_stats {
	_Atomic uint64_t bytes;       /* read by the progress line */
	_Atomic uint64_t handshakes;
	_Atomic uint64_t errors;
	_Atomic uint64_t channels;    /* forward: channels opened */
	unsigned sessions_ok, sessions_failed;
	struct lat lat;
	char error[256];              /* the first failure */
};

struct load_worker {
	const struct load_cfg *cfg;
	unsigned idx;
	/* Its connections: first, first + 1, ... (kernel sockets: one; DPDK: all);
	 * connection k's sessions are k, k + conns, k + 2 * conns, ... */
	unsigned first, nconns;
	pthread_t th;
	pthread_barrier_t *start;
	struct dssh_crypto_engine *engine;    /* its own: an engine is one thread's */
	uint64_t deadline_us;         /* from the start barrier on; 0 none */
	struct load_stats st;
};

/* ---- one channel of a connection (load_chan.c, load_sftp.c) ---- */

#define LOAD_SFTP_INFLIGHT 64u

enum sess_state { S_SETUP, S_RUN, S_FINISH, S_REOPEN, S_DONE };

struct load_conn;

struct load_sess {
	struct load_conn *cn;
	unsigned idx;                 /* among all sessions */
	uint32_t chan;
	enum sess_state state;
	bool we_closed, got_exit, failed;
	int exit_status;
	uint64_t done;                /* bytes (echo: keystrokes) moved */
	uint64_t chan_done;           /* of them on this channel (--reopen: a new one each) */
	uint64_t finish_us;           /* when it entered S_FINISH */
	/* echo */
	bool waiting;
	uint64_t sent_us, next_us;
	char tail[32];
	size_t tlen;
	/* sftp */
	struct dssh_sftpc *sf;
	uint32_t open_id, close_id;
	bool open_sent, close_sent;
	uint8_t handle[DSSH_SFTPC_HANDLE_MAX];
	size_t hlen;
	struct {
		uint32_t id, len;
		uint64_t off;
		bool used;
	} slot[LOAD_SFTP_INFLIGHT];
	unsigned inflight;
	uint64_t inflight_bytes, next_off;
};

struct load_conn {
	struct load_worker *w;
	struct dssh_client *cl;
	struct load_sess *s;
	unsigned n;
	bool live;                    /* set up, not yet closed */
};

void load_sess_fail(struct load_sess *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void load_sess_count(struct load_sess *s, uint64_t n);
/* SFTP: the session's start (INIT), its step, the channel's bytes. */
int load_sftp_start(struct load_sess *s);
void load_sftp_pump(struct load_sess *s);
void load_sftp_input(struct load_sess *s, const uint8_t *p, size_t n);

extern pthread_mutex_t load_connect_lock;

uint64_t load_now_us(void);
void load_lat_add(struct lat *l, uint64_t us);
void load_fail(struct load_stats *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool load_deadline_passed(const struct load_worker *w);

/* Worker threads' bodies. */
void *load_chan_worker(void *arg);
void *load_hs_worker(void *arg);
/* handshake on the DPDK port: the workers take turns on it (before the
 * threads start); the most logins that were in flight at once. */
void load_hs_share_port(struct load_cfg *cfg);
unsigned load_hs_max_in_flight(void);

#endif
