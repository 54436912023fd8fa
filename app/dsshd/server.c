/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dsshd on kernel sockets: the host of the SSH engine. It owns sockets,
 * the spawner (which makes session processes) and the PAM worker, and
 * answers the engine's questions (is this key authorised, run this command)
 * through dssh_conn_host_ops.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dssh_auth.h"
#include "dssh_buf.h"
#include "dssh_build_config.h"
#include "dssh_err.h"
#include "dssh_evloop.h"
#include "dssh_log.h"
#include "dssh_session.h"
#include "dssh_spawner.h"
#include "dssh_stream.h"
#include "dssh_util.h"
#include "ctl.h"
#include "forward.h"
#include "dsshd_limits.h"
#include "gen.h"
#include "server.h"
#include "monitor.h"
#include "sandbox.h"

#define READ_CHUNK (256u * 1024)
/* Bytes taken from a stream per turn, so that one busy connection does
 * not starve the others on the control thread. */
#define STREAM_TURN (1024u * 1024)
#define DIRECT_READ_MIN (64u * 1024)
#define CHILD_READ_CHUNK (64u * 1024)
#define MAX_LISTENERS 16
#define MAX_SESS_ENV 64
/* Before authentication a peer that does not read our replies stops being
 * read: what the engine holds for it is bounded (its input by the
 * engine's own limit, about 576 KiB). */
#define PREAUTH_OUTPUT_MAX (64u * 1024)
/* A connection the engine ended gets this long to flush its DISCONNECT;
 * a peer that reads nothing (a data-plane stream never says "gone" while
 * its pipes are full) must not keep it, and its memory, for ever. */
#define CLOSING_FLUSH_MS 5000u

struct conn;

struct sess {
	struct conn *conn;
	uint32_t chan;
	uint64_t id;                    /* the spawner's session id */
	bool pty;
	char *term;
	uint32_t cols, rows, xpixel, ypixel;
	uint8_t *modes;
	size_t modes_len;
	char *env[MAX_SESS_ENV];
	size_t nenv;
	bool spawned, finished;
	struct dssh_session_child child;
	struct dssh_evsource out_src, err_src, in_src;  /* out_src serves a pty both ways */
	struct dssh_buf to_child;
	bool client_eof, stdin_closed, out_eof, err_eof, exited;
	int wait_status;
	/* DataChannels cores: a data core moves the channel's data (its own
	 * duplicates of the fds); ours only drain to_child before it goes. */
	bool offloaded, offload_ready, offload_go;
	struct fwd_listener *agent;     /* agent forwarding: its socket */
	const char *agent_path;
	struct fwd_listener *x11;       /* X11 forwarding: its display */
	unsigned x11_display;
	uint32_t x11_screen;
	const char *x11_fake;           /* the fake cookie (hex), in the listener */
	char *x11_proto;
};

struct conn {
	struct dsshd *srv;
	struct conn *next;
	/* The configuration this connection started with (SIGHUP: new
	 * connections get the next one, this one keeps its own). */
	struct dsshd_gen *gen;
	const struct dssh_config *cfg;  /* gen's, or own_cfg (Match blocks) */
	struct dssh_ssh_conf sshconf;   /* gen's, with this loop's engine */
	/* sshd's Match: this connection's configuration (NULL: gen's applies),
	 * its Banner text when that differs from gen's, its AuthenticationMethods. */
	struct dssh_config *own_cfg;
	struct dssh_authmethods own_authm;
	struct dssh_stream *tr;         /* the transport: a kernel socket, a data-plane stream */
	uint64_t id;
	uint64_t log_num;               /* "dsshd[N]:" of its lines (dssh_log_conn_number) */
	char peer_ip[64], local_ip[64];
	int peer_port, local_port;
	char log_id[128];
	bool user_refused;              /* "Invalid user" (or not allowed) was logged */
	struct dssh_conn *ssh;
	uint64_t start_ms;
	struct dssh_auth_user user;
	bool have_user;
	struct dssh_authkey_opts keyopts;
	bool have_keyopts;
	bool pam_policy_ok;
	bool pam_password;              /* the PAM request in flight checks a password */
	bool dead;
	struct dsshd_startup startup;   /* pre-auth limits: its source block, counted */
	bool grace_exceeded;
	bool input_capped;
	uint64_t closing_ms;            /* when the tick first saw it closing, unflushed */
	struct sess **sess;             /* session channels by number */
	uint32_t nsess;
	struct fwd_conn fwd;            /* every other channel kind (forward.c) */
	int sock_fd;                    /* the kernel socket (IPQoS), -1 on the data plane */
};

struct listener {
	struct dsshd *srv;
	struct dssh_evsource src;       /* fd -1: a free slot (SIGHUP closed it) */
	char addr[64];                  /* as configured */
	int port;
};

static void conn_socket_opts(struct conn *c);
static void conn_set_qos(struct conn *c, bool interactive);

/* What a loop's inbox holds: a connection handed over, a session's exit,
 * or dsshctl's kill of one of its connections. */
struct inbox_item {
	bool is_exit;
	bool is_kill;
	uint64_t conn_id;               /* a kill */
	int fd;                         /* a connection */
	struct dssh_stream_info info;
	uint64_t sess_id;               /* an exit */
	int wait_status;
};

/* A growable array of items: a loop's inbox, exits read from the spawner. */
struct items {
	struct inbox_item *v;
	size_t n, cap;
};

/* Appends a copy of it; false when out of memory. */
static bool
items_push(struct items *q, const struct inbox_item *it)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 16;
		struct inbox_item *v = realloc(q->v, cap * sizeof(*v));

		if (v == NULL)
			return false;
		q->v = v;
		q->cap = cap;
	}
	q->v[q->n++] = *it;
	return true;
}

struct dsshd;

/* What the loop threads share: configuration, the spawner, stop. */
struct dsshd_shared {
	/* The first generation's (the caller keeps it): what only a restart changes. */
	const struct dssh_config *cfg;
	const struct dsshd_opts *opts;
	/* What new connections take (SIGHUP replaces it, loop 0 only). */
	pthread_mutex_t gen_lock;
	struct dsshd_gen *gen;
	struct dsshd_reloader *reloader;    /* loop 0 */
	struct dssh_evsource reload_src;
	struct dsshd **loops;
	unsigned nloops;
	volatile int stop;
	/* One spawner for every loop: a request and its reply, a signal, or
	 * reading its notices, each under the lock. Only loop 0 polls it. */
	pthread_mutex_t spawner_lock;
	struct dssh_spawner *spawner;
	int spawner_fd;                 /* as loop 0 watches it */
	pid_t spawner_pid;              /* ... for this spawner (a new one may get the same fd) */
	/*
	 * Privilege separation (started as root): PAM, authorized_keys and the
	 * user's sockets go through the spawner, the monitor (monitor.c), and
	 * dsshd drops root once set up; a monitor that dies is not replaced.
	 */
	bool privsep;
	bool dropped;
	struct dsshd_monitor_link mon;
	struct dsshd_limits *limits;    /* pre-auth admission, every loop */
	uint64_t next_conn_id;          /* atomic: connection ids are unique across loops */
};

/*
 * One loop thread: its own epoll loop, connections, engine instance, PAM
 * worker and buffers; nothing of a connection is touched by another
 * thread. Loop 0 (the main thread) also owns the listening sockets, the
 * data plane's streams, signals and the spawner's notices, and hands new
 * kernel connections to the loop with the fewest.
 */
struct dsshd {
	struct dsshd_shared *sh;
	unsigned index;
	pthread_t thread;
	const struct dssh_config *cfg;  /* boot's */
	struct dssh_crypto_engine *engine;  /* this loop's instance */
	struct dssh_evloop *loop;
	uint32_t nconns;                /* atomic: for the hand-over's choice */
	int inbox_fd;                   /* eventfd: the inbox has items, or stop */
	struct dssh_evsource inbox_src;
	pthread_mutex_t inbox_lock;
	int opening_fd;                 /* sock_opened -> conn_start: the kernel socket */
	struct items inbox;
	struct dssh_pam_worker *pam;
	struct dssh_evsource pam_src;
	struct dssh_evsource sig_src;
	struct listener listeners[MAX_LISTENERS];
	unsigned nlisteners;
	struct dssh_stream_source source;   /* data-plane streams (fd -1: none) */
	struct dssh_evsource source_ev;
	struct conn *conns;
	struct dssh_evsource spawner_src;   /* loop 0 */
	uint64_t next_sess_id;
	/* dsshctl: counters of the connections that ended (this thread's
	 * only), and what tick last published for loop 0 to read. */
	struct dsshd_ctl_loop ended;
	pthread_mutex_t pub_lock;
	struct dsshd_ctl_loop pub;
	struct dsshd_ctl_sess *pub_sess;
	size_t pub_n;
	uint8_t rbuf[READ_CHUNK];       /* child output */
	uint8_t sbuf[READ_CHUNK];       /* what kernel sockets received */
};

static void conn_after_io(struct conn *c);

/*
 * A connection's id as the monitor knows it: c->id, unique across loops
 * (the PAM requests carry it too).
 */
static uint64_t
mon_id(const struct conn *c)
{
	return c->id;
}

static int spawner_signal(struct dsshd_shared *sh, uint64_t id, const char *sig);

/* ---- sessions ---------------------------------------------------------- */

static struct sess *
sess_of(struct conn *c, uint32_t chan)
{
	return chan < c->nsess ? c->sess[chan] : NULL;
}

static void
sess_free(struct sess *s)
{
	struct dsshd *srv = s->conn->srv;

	if (s->spawned) {
		dssh_evloop_del(srv->loop, &s->out_src);
		dssh_evloop_del(srv->loop, &s->err_src);
		dssh_evloop_del(srv->loop, &s->in_src);
		/* The peer went away: hang up on the child (the spawner reaps it). */
		if (!s->exited)
			(void)spawner_signal(srv->sh, s->id, "HUP");
		dssh_session_close(&s->child);
	}
	fwd_agent_stop(&s->conn->fwd, s->agent);
	fwd_x11_stop(&s->conn->fwd, s->x11);
	free(s->x11_proto);
	s->conn->sess[s->chan] = NULL;
	free(s->term);
	free(s->modes);
	for (size_t i = 0; i < s->nenv; i++)
		free(s->env[i]);
	dssh_buf_free(&s->to_child);
	free(s);
}

static bool
output_has_room(struct sess *s)
{
	return dssh_chan_send_space(s->conn->ssh, s->chan) > 0;
}

static void
sess_update_events(struct sess *s)
{
	struct dssh_evloop *loop = s->conn->srv->loop;
	bool room = output_has_room(s);
	bool pending = dssh_buf_len(&s->to_child) > 0;

	if (!s->spawned)
		return;
	if (s->pty) {
		uint32_t ev = (room && !s->out_eof ? EPOLLIN : 0) | (pending && !s->out_eof ? EPOLLOUT : 0);

		if (!s->out_eof)
			dssh_evloop_set(loop, &s->out_src, ev);
		return;
	}
	if (s->offloaded) {
		if (!s->stdin_closed)
			dssh_evloop_set(loop, &s->in_src, pending ? EPOLLOUT : 0);
		return;
	}
	if (!s->out_eof)
		dssh_evloop_set(loop, &s->out_src, room ? EPOLLIN : 0);
	if (!s->err_eof)
		dssh_evloop_set(loop, &s->err_src, room ? EPOLLIN : 0);
	if (!s->stdin_closed)
		dssh_evloop_set(loop, &s->in_src, pending ? EPOLLOUT : 0);
}

static void
sess_maybe_close_stdin(struct sess *s)
{
	if (s->client_eof && !s->pty && !s->stdin_closed && dssh_buf_len(&s->to_child) == 0) {
		dssh_evloop_del(s->conn->srv->loop, &s->in_src);
		dssh_session_close_stdin(&s->child);
		s->stdin_closed = true;
	}
}

/* All output read and the child reaped: report and close the channel. */
static void
sess_maybe_finish(struct sess *s)
{
	struct dssh_conn *ssh = s->conn->ssh;
	int code;
	const char *sig;
	bool core;

	if (s->finished || !s->spawned || !s->exited || !s->out_eof || (!s->pty && !s->err_eof))
		return;
	s->finished = true;
	if (dssh_session_exit_info(s->wait_status, &code, &sig, &core) == 0 && sig != NULL)
		dssh_chan_exit_signal(ssh, s->chan, sig, core);
	else
		dssh_chan_exit_status(ssh, s->chan, (uint32_t)code);
	dssh_chan_send_eof(ssh, s->chan);
	dssh_chan_close(ssh, s->chan);
}

/* Offloaded: once the core intercepts and all we held reached the child,
 * the core takes over stdin and the window (our copy of stdin goes). */
static void
sess_offload_go(struct sess *s)
{
	if (!s->offload_ready || s->offload_go || dssh_buf_len(&s->to_child) > 0)
		return;
	s->offload_go = true;
	if (dssh_chan_offload_go(s->conn->ssh, s->chan) != 0)
		dssh_error("%s: channel %u: offload go failed", s->conn->log_id, s->chan);
	if (!s->stdin_closed) {
		dssh_evloop_del(s->conn->srv->loop, &s->in_src);
		dssh_session_close_stdin(&s->child);
		s->stdin_closed = true;
	}
}

static void
sess_flush_to_child(struct sess *s)
{
	int fd = s->child.stdin_fd;

	while (dssh_buf_len(&s->to_child) > 0 && !s->stdin_closed) {
		ssize_t n = write(fd, dssh_buf_ptr(&s->to_child), dssh_buf_len(&s->to_child));

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			/* The child stopped reading for good: drop what it will never get. */
			size_t lost = dssh_buf_len(&s->to_child);

			dssh_buf_reset(&s->to_child);
			dssh_chan_consumed(s->conn->ssh, s->chan, lost);
			if (!s->pty) {
				dssh_evloop_del(s->conn->srv->loop, &s->in_src);
				dssh_session_close_stdin(&s->child);
				s->stdin_closed = true;
			}
			break;
		}
		dssh_buf_consume(&s->to_child, (size_t)n);
		dssh_chan_consumed(s->conn->ssh, s->chan, (size_t)n);
	}
	sess_maybe_close_stdin(s);
	if (s->offloaded)
		sess_offload_go(s);
}

/* Read one chunk of child output into the channel. */
static void
sess_read_child(struct sess *s, int fd, bool is_stderr, bool *eof)
{
	size_t space = dssh_chan_send_space(s->conn->ssh, s->chan);
	uint8_t *buf = s->conn->srv->rbuf;

	if (space == 0)
		return;
	ssize_t n = read(fd, buf, DSSH_MIN(space, (size_t)CHILD_READ_CHUNK));

	if (n > 0) {
		dssh_chan_send(s->conn->ssh, s->chan, buf, (size_t)n, is_stderr);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* 0, or EIO from a pty master once the last slave fd is gone. */
	*eof = true;
}

static void
sess_out_cb(struct dssh_evsource *src, uint32_t ev)
{
	struct sess *s = (struct sess *)((char *)src - offsetof(struct sess, out_src));
	struct conn *c = s->conn;
	uint64_t prev = dssh_log_conn_enter(c->log_num);

	if (s->pty && (ev & EPOLLOUT))
		sess_flush_to_child(s);
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		sess_read_child(s, src->fd, false, &s->out_eof);
		if (s->out_eof)
			dssh_evloop_del(c->srv->loop, src);
	}
	sess_maybe_finish(s);
	conn_after_io(c);
	dssh_log_conn_leave(prev);
}

static void
sess_err_cb(struct dssh_evsource *src, uint32_t ev)
{
	struct sess *s = (struct sess *)((char *)src - offsetof(struct sess, err_src));
	struct conn *c = s->conn;
	uint64_t prev = dssh_log_conn_enter(c->log_num);

	(void)ev;
	sess_read_child(s, src->fd, true, &s->err_eof);
	if (s->err_eof)
		dssh_evloop_del(c->srv->loop, src);
	sess_maybe_finish(s);
	conn_after_io(c);
	dssh_log_conn_leave(prev);
}

static void
sess_in_cb(struct dssh_evsource *src, uint32_t ev)
{
	struct sess *s = (struct sess *)((char *)src - offsetof(struct sess, in_src));
	struct conn *c = s->conn;
	uint64_t prev = dssh_log_conn_enter(c->log_num);

	(void)ev;
	sess_flush_to_child(s);
	conn_after_io(c);
	dssh_log_conn_leave(prev);
}

static int spawner_spawn(struct dsshd_shared *sh, uint64_t id,
    const struct dssh_session_spec *spec, struct dssh_session_child *out);

/* "internal-sftp", alone or with arguments, runs in the session process. */
static const char *
internal_program(const char *command)
{
	static const char sftp[] = "internal-sftp";
	size_t n = sizeof(sftp) - 1;

	if (strncmp(command, sftp, n) == 0 && (command[n] == '\0' || command[n] == ' ' ||
	    command[n] == '\t'))
		return sftp;
	return NULL;
}

/*
 * DataChannels cores, on a connection whose packet layer is on a data core:
 * that core moves the channel's data to and from the child, with its own
 * duplicates of the fds. Ours of stdout/stderr go now (the core reads
 * them); stdin stays until what we hold for it is written (sess_offload_go).
 */
static void
sess_offload(struct sess *s)
{
	struct conn *c = s->conn;
	struct dssh_chan_fds fds;

	if (!c->tr->info.records || c->cfg->data_channels_control == 1 ||
	    dssh_conn_compressed(c->ssh))
		return;
	fds.in = fcntl(s->child.stdin_fd, F_DUPFD_CLOEXEC, 0);
	fds.out = fcntl(s->child.stdout_fd, F_DUPFD_CLOEXEC, 0);
	fds.err = fcntl(s->child.stderr_fd, F_DUPFD_CLOEXEC, 0);
	if (fds.in < 0 || fds.out < 0 || fds.err < 0 ||
	    dssh_chan_offload(c->ssh, s->chan, &fds) != 0) {
		/* (then the control thread moves it, as ever) */
		if (fds.in >= 0)
			close(fds.in);
		if (fds.out >= 0)
			close(fds.out);
		if (fds.err >= 0)
			close(fds.err);
		return;
	}
	s->offloaded = true;
	close(s->child.stdout_fd);
	close(s->child.stderr_fd);
	s->child.stdout_fd = s->child.stderr_fd = -1;
	dssh_debug("%s: channel %u: data moved by the data core", c->log_id, s->chan);
}

/* Our name for X11UseLocalhost no (DISPLAY and xauth's display). */
static void
x11_host(char *h, size_t n)
{
	if (gethostname(h, n) != 0 || h[0] == '\0')
		snprintf(h, n, "localhost");
	h[n - 1] = '\0';
}

/*
 * What the server puts into a session: DISPLAY and xauth's arguments for
 * X11, the rc rules, the key's environment= options, then SetEnv (last:
 * it overrides the client's, as sshd's). auth_display: room for xauth's display name.
 */
static int
sess_server_env(struct sess *s, struct dssh_session_spec *spec, char *auth_display,
    size_t adlen)
{
	const struct dssh_config *cfg = s->conn->cfg;
	struct conn *c = s->conn;
	char host[256], disp[320];

	/* sshd: not for subsystems (an sftp stream) nor under the server's ForceCommand */
	spec->user_rc = cfg->permit_user_rc == 1 && (!c->have_keyopts || c->keyopts.permit_user_rc) &&
	    !spec->subsystem && strcmp(cfg->force_command, "none") == 0;
	if (s->x11 != NULL && s->nenv < MAX_SESS_ENV) {
		x11_host(host, sizeof(host));
		if (cfg->x11_use_localhost) {
			snprintf(disp, sizeof(disp), "DISPLAY=localhost:%u.%u", s->x11_display,
			    s->x11_screen);
			snprintf(auth_display, adlen, "unix:%u.%u", s->x11_display, s->x11_screen);
		} else {
			snprintf(disp, sizeof(disp), "DISPLAY=%s:%u.%u", host, s->x11_display,
			    s->x11_screen);
			snprintf(auth_display, adlen, "%s/unix:%u.%u", host, s->x11_display,
			    s->x11_screen);
		}
		if ((s->env[s->nenv] = strdup(disp)) == NULL)
			return DSSH_ERR_ALLOC;
		s->nenv++;
		spec->x11_proto = s->x11_proto;
		spec->x11_cookie = s->x11_fake;
		spec->x11_auth_display = auth_display;
		spec->xauth_path = cfg->xauth_location ? cfg->xauth_location :
		    DSSH_CONFIG_XAUTH_DEFAULT;
	}
	/* authorized_keys environment=: the monitor kept only what PermitUserEnvironment allows */
	for (size_t i = 0; c->have_keyopts && i < c->keyopts.nenv && s->nenv < MAX_SESS_ENV; i++) {
		if ((s->env[s->nenv] = strdup(c->keyopts.env[i])) == NULL)
			return DSSH_ERR_ALLOC;
		s->nenv++;
	}
	/* SetEnv last: the administrator's values win over the client's and the key's */
	for (unsigned i = 0; i < cfg->nset_env && s->nenv < MAX_SESS_ENV; i++) {
		if ((s->env[s->nenv] = strdup(cfg->set_env[i])) == NULL)
			return DSSH_ERR_ALLOC;
		s->nenv++;
	}
	return 0;
}

/*
 * The names ~/.ssh/environment may set (NULL: the file is not read):
 * PermitUserEnvironment's, less SetEnv's, which stay the administrator's
 * (sshd_config(5) SetEnv) - the child reads the file last, so SetEnv's
 * names go first in the list, negated.
 */
static int
user_env_allow(const struct dssh_config *cfg, char **out)
{
	const char *pue = cfg->permit_user_environment;
	size_t len = 0, n;
	char *s;

	*out = NULL;
	if (strcmp(pue, "no") == 0)
		return 0;
	if (strcmp(pue, "yes") == 0)
		pue = "*";
	for (unsigned i = 0; i < cfg->nset_env; i++)
		len += strcspn(cfg->set_env[i], "=") + 2;
	n = len + strlen(pue) + 1;
	if ((s = malloc(n)) == NULL)
		return DSSH_ERR_ALLOC;
	len = 0;
	for (unsigned i = 0; i < cfg->nset_env; i++) {
		int k = (int)strcspn(cfg->set_env[i], "=");

		/* a ',' would split the name into list entries of its own */
		if (memchr(cfg->set_env[i], ',', (size_t)k) == NULL)
			len += (size_t)snprintf(s + len, n - len, "!%.*s,", k, cfg->set_env[i]);
	}
	snprintf(s + len, n - len, "%s", pue);
	/* the spawner's bound; beyond it the file is not read (no SetEnv name may be lost) */
	if (strlen(s) > DSSH_SESSION_USER_ENV_MAX) {
		dssh_error("PermitUserEnvironment with SetEnv's names is too long: "
		    "~/.ssh/environment not read");
		free(s);
		return 0;
	}
	*out = s;
	return 0;
}

/* x11-req (sshd's session_x11_req_process): allowed, then a display. */
static int
sess_x11(struct sess *s, const struct dssh_session_req *req)
{
	struct conn *c = s->conn;
	const struct dssh_config *cfg = c->cfg;
	const char *xauth = cfg->xauth_location ? cfg->xauth_location : DSSH_CONFIG_XAUTH_DEFAULT;
	struct fwd_x11_req xr = { .single = req->x11_single, .proto = req->name,
	    .cookie = req->value, .offset = (unsigned)cfg->x11_display_offset,
	    .localhost = cfg->x11_use_localhost == 1 };
	int r;

	if (s->x11 != NULL) {
		dssh_info("%s: X11 forwarding already active for this session", c->log_id);
		return DSSH_ERR_PERMISSION;
	}
	if (cfg->x11_forwarding != 1 || cfg->disable_forwarding == 1 ||
	    (c->have_keyopts && !c->keyopts.permit_x11_forwarding)) {
		dssh_info("%s: X11 forwarding disabled; x11-req refused", c->log_id);
		return DSSH_ERR_PERMISSION;
	}
	/* sshd takes any XAuthLocation; the spawner runs absolute paths only. */
	if (xauth[0] != '/' || access(xauth, X_OK) != 0) {
		dssh_info("%s: No xauth program (%s); cannot forward X11.", c->log_id, xauth);
		return DSSH_ERR_PERMISSION;
	}
	if ((s->x11_proto = strdup(req->name)) == NULL)
		return DSSH_ERR_ALLOC;
	if ((r = fwd_x11_start(&c->fwd, &xr, &s->x11_display, &s->x11_fake, &s->x11)) != 0) {
		free(s->x11_proto);
		s->x11_proto = NULL;
		s->x11 = NULL;
		return r;
	}
	s->x11_screen = req->x11_screen;
	return 0;
}

static int
sess_spawn(struct sess *s, const struct dssh_session_req *req)
{
	struct conn *c = s->conn;
	const struct dssh_config *cfg = c->cfg;
	struct dssh_session_spec spec;
	char ssh_client[160], ssh_connection[200], x11_display[300];
	const char *command = NULL;
	char *chroot_dir = NULL, *user_env = NULL;
	int r;

	memset(&spec, 0, sizeof(spec));
	if (req->type == DSSH_REQ_EXEC) {
		command = req->command;
	} else if (req->type == DSSH_REQ_SUBSYSTEM) {
		for (unsigned i = 0; i < cfg->nsubsystems; i++)
			if (strcmp(cfg->subsystems[i].name, req->name) == 0)
				command = cfg->subsystems[i].command;
		if (command == NULL) {
			dssh_info("%s: subsystem request for %s refused", c->log_id, req->name);
			return DSSH_ERR_NOT_FOUND;
		}
		spec.subsystem = true;
	}
	snprintf(ssh_client, sizeof(ssh_client), "%s %d %d", c->peer_ip, c->peer_port,
	    c->local_port);
	snprintf(ssh_connection, sizeof(ssh_connection), "%s %d %s %d", c->peer_ip, c->peer_port,
	    c->local_ip, c->local_port);
	spec.user.name = c->user.name;
	spec.user.uid = c->user.uid;
	spec.user.gid = c->user.gid;
	spec.user.home = c->user.home;
	spec.user.shell = c->user.shell;
	spec.command = command;
	/* As sshd: the server's ForceCommand wins over a key's command="". */
	if (strcmp(cfg->force_command, "none") != 0) {
		spec.forced_command = cfg->force_command;
		spec.original_command = command;
	} else if (c->have_keyopts && c->keyopts.command != NULL) {
		spec.forced_command = c->keyopts.command;
		spec.original_command = command;
	}
	/* As sshd: what runs (a forced command, or a subsystem's configured
	 * command, never a client's exec) may be the in-process sftp server. */
	if (spec.forced_command != NULL)
		spec.internal = internal_program(spec.forced_command);
	else if (spec.subsystem)
		spec.internal = internal_program(command);
	spec.want_pty = s->pty;
	spec.term = s->term;
	spec.cols = s->cols;
	spec.rows = s->rows;
	spec.xpixel = s->xpixel;
	spec.ypixel = s->ypixel;
	spec.modes = s->modes;
	spec.modes_len = s->modes_len;
	if (s->agent_path != NULL && s->nenv < MAX_SESS_ENV) {
		size_t n = strlen(s->agent_path) + sizeof("SSH_AUTH_SOCK=");

		if ((s->env[s->nenv] = malloc(n)) == NULL)
			return DSSH_ERR_ALLOC;
		snprintf(s->env[s->nenv++], n, "SSH_AUTH_SOCK=%s", s->agent_path);
	}
	if ((r = sess_server_env(s, &spec, x11_display, sizeof(x11_display))) != 0)
		return r;
	spec.env = (const char *const *)s->env;
	spec.n_env = s->nenv;
	spec.ssh_client = ssh_client;
	spec.ssh_connection = ssh_connection;
	spec.remote_host = c->peer_ip;
	spec.use_pam = cfg->use_pam;
	spec.pam_service = cfg->pam_service_name;
	if ((r = user_env_allow(cfg, &user_env)) != 0)
		return r;
	spec.user_env = user_env;
	if (strcmp(cfg->chroot_directory, "none") != 0 &&
	    dssh_authkeys_expand_path(cfg->chroot_directory, &c->user, &chroot_dir) != 0) {
		dssh_error("%s: ChrootDirectory %s: bad pattern", c->log_id, cfg->chroot_directory);
		free(user_env);
		return DSSH_ERR_CONFIG;
	}
	spec.chroot_directory = chroot_dir;
	/* sshd's login accounting for pty sessions; the greeting for a login shell */
	if (s->pty) {
		spec.login = DSSH_SESSION_LOGIN_RECORD;
		if (command == NULL && spec.forced_command == NULL && !spec.subsystem)
			spec.login |= (cfg->print_lastlog == 1 ? DSSH_SESSION_LOGIN_LASTLOG : 0) |
			    (cfg->print_motd == 1 ? DSSH_SESSION_LOGIN_MOTD : 0);
	}
	spec.auth_id = mon_id(c);
	/* The loop's index in the top bits: exits find their loop. */
	s->id = (uint64_t)c->srv->index << 48 | ++c->srv->next_sess_id;
	r = spawner_spawn(c->srv->sh, s->id, &spec, &s->child);
	free(chroot_dir);
	free(user_env);
	if (r != 0) {
		dssh_error("%s: cannot start session for %s: %s", c->log_id, c->user.name,
		    dssh_err_str(r));
		return r;
	}
	s->spawned = true;
	conn_set_qos(c, s->pty);
	dssh_verbose("%s: channel %u: %s for %s (pid %d)%s", c->log_id, s->chan,
	    spec.forced_command ? "forced command" : spec.internal ? spec.internal :
	    command ? "exec" : "shell", c->user.name,
	    (int)s->child.pid, s->pty ? " with pty" : "");
	s->out_src = (struct dssh_evsource){ .fd = s->child.stdout_fd, .cb = sess_out_cb };
	if (!s->pty) {
		s->err_src = (struct dssh_evsource){ .fd = s->child.stderr_fd, .cb = sess_err_cb };
		s->in_src = (struct dssh_evsource){ .fd = s->child.stdin_fd, .cb = sess_in_cb };
		sess_offload(s);
	}
	sess_update_events(s);
	return 0;
}

static int
sess_add_env(struct sess *s, const char *name, const char *value)
{
	const struct dssh_config *cfg = s->conn->cfg;
	bool ok = false;

	for (unsigned i = 0; i < cfg->naccept_env && !ok; i++)
		ok = dssh_match_pattern(name, cfg->accept_env[i]);
	if (!ok || s->nenv >= MAX_SESS_ENV || strchr(name, '=') != NULL) {
		dssh_debug("%s: ignoring env %s", s->conn->log_id, name);
		return DSSH_ERR_PERMISSION;
	}
	size_t n = strlen(name) + strlen(value) + 2;

	if ((s->env[s->nenv] = malloc(n)) == NULL)
		return DSSH_ERR_ALLOC;
	snprintf(s->env[s->nenv++], n, "%s=%s", name, value);
	return 0;
}

/* ---- engine callbacks --------------------------------------------------- */

static bool
lookup_user(struct conn *c, const char *name, const char *method, bool forced)
{
	char why[200] = "";

	if (!c->have_user) {
		int r = dssh_auth_user_lookup(name, &c->user);

		/* no such user: kept (exists false), so it is said and freed once */
		if (r != 0 && r != DSSH_ERR_NOT_FOUND) {
			dssh_auth_user_clear(&c->user);
			return false;
		}
		c->have_user = true;
	}
	/* sshd's words, once per connection; a refused user is "invalid" from then on */
	if (!c->user.exists || strcmp(c->user.name, name) != 0) {
		if (!c->user_refused)
			dssh_info("Invalid user %s from %s", name, c->log_id);
		c->user_refused = true;
		dssh_conn_set_invalid_user(c->ssh);
		return false;
	}
	if (dssh_auth_user_allowed(c->cfg, &c->user, c->peer_ip, NULL, why, sizeof(why)) != 0) {
		if (!c->user_refused)
			dssh_info("U%s", why + 1);   /* "User X [from IP] not allowed because ..." */
		c->user_refused = true;
		dssh_conn_set_invalid_user(c->ssh);
		return false;
	}
	if (c->user.uid == 0 && dssh_auth_root_allowed(c->cfg, method, forced) != 0) {
		dssh_info("ROOT LOGIN REFUSED FROM %s", c->log_id);
		return false;
	}
	return true;
}

/* With UsePAM, a publickey login still has to pass PAM's account stack. */
static int
pam_account_check(struct conn *c, const char *user)
{
	struct dssh_pam_request req = {
		.id = c->id, .user = user, .remote_host = c->peer_ip, .kind = DSSH_PAM_ACCOUNT_ONLY,
	};

	if (!c->cfg->use_pam || c->srv->pam == NULL)
		return 0;
	c->pam_policy_ok = true;
	c->pam_password = false;
	if (dssh_pam_worker_submit(c->srv->pam, &req) != 0)
		return DSSH_ERR_BUSY;
	return DSSH_ERR_AGAIN;
}

static int
host_auth_pubkey(void *host, const char *user, const uint8_t *blob, size_t len, bool final)
{
	struct conn *c = host;
	struct dssh_authkey_opts opts;
	int r;

	if (!lookup_user(c, user, "publickey", true))
		return DSSH_ERR_PERMISSION;
	dssh_authkey_opts_init(&opts);
	if (c->srv->sh->privsep) {
		struct dsshd_monitor_sig sig;

		/* final: the monitor checks the signature again itself */
		r = final ? dssh_conn_auth_signature(c->ssh, &sig.data, &sig.datalen, &sig.sig,
		    &sig.siglen) : 0;
		if (r == 0)
			r = dsshd_monitor_authkeys(&c->srv->sh->mon, mon_id(c), final ? &sig : NULL,
			    c->cfg, c->user.name, blob, len, c->peer_ip, &opts);
		/* lookup_user's check, which only the monitor can make (shadow) */
		if (r == DSSH_ERR_ACCOUNT_LOCKED) {
			if (!c->user_refused)
				dssh_info("User %s not allowed because account is locked",
				    c->user.name);
			c->user_refused = true;
			dssh_conn_set_invalid_user(c->ssh);
			r = DSSH_ERR_PERMISSION;
		}
	} else
		r = dssh_authkeys_check(c->cfg, &c->user, blob, len, c->peer_ip, &opts);
	if (r == 0 && c->user.uid == 0 &&
	    dssh_auth_root_allowed(c->cfg, "publickey", opts.command != NULL) != 0) {
		dssh_info("ROOT LOGIN REFUSED FROM %s", c->log_id);
		r = DSSH_ERR_PERMISSION;
	}
	if (r == 0 && final) {
		if (c->have_keyopts)
			dssh_authkey_opts_free(&c->keyopts);
		c->keyopts = opts;
		c->have_keyopts = true;
		return pam_account_check(c, user);
	}
	dssh_authkey_opts_free(&opts);
	return r;
}

static int
host_auth_password(void *host, const char *user, const char *password)
{
	struct conn *c = host;
	struct dssh_pam_request req = {
		.id = c->id, .user = user, .password = password, .remote_host = c->peer_ip,
		.kind = DSSH_PAM_PASSWORD,
		.allow_empty_password = c->cfg->permit_empty_passwords != 0,
	};

	if (!c->cfg->use_pam || c->srv->pam == NULL)
		return DSSH_ERR_UNSUPPORTED;
	/* Unknown or refused users still go through PAM, so that the answer
	 * takes as long as for a real user with a wrong password. */
	c->pam_policy_ok = lookup_user(c, user, "password", false);
	c->pam_password = true;
	if (dssh_pam_worker_submit(c->srv->pam, &req) != 0)
		return DSSH_ERR_BUSY;
	return DSSH_ERR_AGAIN;
}

/*
 * keyboard-interactive through PAM: responses NULL starts a conversation
 * (its prompts come back through pam_cb), else they answer its last round.
 */
static int
host_auth_kbdint(void *host, const char *user, const char *const *responses, unsigned n)
{
	struct conn *c = host;
	struct dssh_pam_request req = {
		.id = c->id, .user = user, .remote_host = c->peer_ip, .kind = DSSH_PAM_KBDINT,
		.allow_empty_password = c->cfg->permit_empty_passwords != 0,
	};

	if (!c->srv->cfg->use_pam || c->srv->pam == NULL)
		return DSSH_ERR_UNSUPPORTED;
	if (responses != NULL) {
		if (dssh_pam_worker_answer(c->srv->pam, c->id, responses, n) == 0)
			return DSSH_ERR_AGAIN;
		dssh_pam_worker_cancel(c->srv->pam, c->id);
		return DSSH_ERR_PERMISSION;
	}
	dssh_debug("%s: PAM keyboard-interactive starts", c->log_id);
	dssh_pam_worker_cancel(c->srv->pam, c->id);
	/* As for passwords: refused users still talk to PAM, and fail. */
	c->pam_policy_ok = lookup_user(c, user, "keyboard-interactive", false);
	if (dssh_pam_worker_submit(c->srv->pam, &req) != 0)
		return DSSH_ERR_BUSY;
	return DSSH_ERR_AGAIN;
}

static void
host_auth_kbdint_abort(void *host)
{
	struct conn *c = host;

	if (c->srv->pam != NULL)
		dssh_pam_worker_cancel(c->srv->pam, c->id);
}

static void
host_auth_success(void *host, const char *user, enum dssh_auth_method m)
{
	struct conn *c = host;

	dsshd_limits_auth_done(c->srv->sh->limits, &c->startup);
	dssh_debug("%s: session for %s starts", c->log_id, user);
	/* The policy for every forwarding (none without it: all refused). */
	if (c->have_user && fwd_set_user(&c->fwd, c->user.name, c->user.uid, c->user.gid,
	    (m == DSSH_AUTH_PUBLICKEY || dssh_conn_auth_used_publickey(c->ssh)) &&
	    c->have_keyopts ? &c->keyopts : NULL, c->peer_ip,
	    c->peer_port) != 0)
		dssh_error("%s: no forwarding policy (out of memory)", c->log_id);
}

static unsigned
sess_count(const struct conn *c)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < c->nsess; i++)
		n += c->sess[i] != NULL;
	return n;
}

static int
host_session_open(void *host, uint32_t chan)
{
	struct conn *c = host;
	struct sess *s;

	if (chan >= c->nsess) {
		uint32_t n = c->nsess ? c->nsess : 8;
		struct sess **v;

		while (n <= chan)
			n *= 2;
		if ((v = realloc(c->sess, n * sizeof(*v))) == NULL)
			return DSSH_ERR_ALLOC;
		memset(v + c->nsess, 0, (n - c->nsess) * sizeof(*v));
		c->sess = v;
		c->nsess = n;
	}
	if (c->sess[chan] != NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (sess_count(c) >= (unsigned)c->cfg->max_sessions) {
		dsshd_limits_count(DSSHD_LIM_sessions_refused);
		dssh_info("%s: no more sessions (MaxSessions %d): session channel refused", c->log_id,
		    c->cfg->max_sessions);
		return DSSH_ERR_PERMISSION;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return DSSH_ERR_ALLOC;
	s->conn = c;
	s->chan = chan;
	dssh_buf_init(&s->to_child, 0);
	c->sess[chan] = s;
	return 0;
}

static int
store_pty(struct sess *s, const struct dssh_session_req *req)
{
	struct conn *c = s->conn;

	if (s->pty || (c->have_keyopts && !c->keyopts.permit_pty))
		return DSSH_ERR_PERMISSION;
	if (c->cfg->permit_tty != 1) {
		dssh_info("%s: PermitTTY no: pty-req refused", c->log_id);
		return DSSH_ERR_PERMISSION;
	}
	free(s->term);
	free(s->modes);
	s->term = strdup(req->term);
	s->modes = malloc(req->modes_len ? req->modes_len : 1);
	if (s->term == NULL || s->modes == NULL)
		return DSSH_ERR_ALLOC;
	memcpy(s->modes, req->modes, req->modes_len);
	s->modes_len = req->modes_len;
	s->cols = req->cols;
	s->rows = req->rows;
	s->xpixel = req->xpixel;
	s->ypixel = req->ypixel;
	s->pty = true;
	return 0;
}

static int
host_session_request(void *host, uint32_t chan, const struct dssh_session_req *req)
{
	struct conn *c = host;
	struct sess *s = sess_of(c, chan);

	if (s == NULL)
		return DSSH_ERR_NOT_FOUND;
	switch (req->type) {
	case DSSH_REQ_PTY:
		return store_pty(s, req);
	case DSSH_REQ_ENV:
		return sess_add_env(s, req->name, req->value);
	case DSSH_REQ_SHELL:
	case DSSH_REQ_EXEC:
	case DSSH_REQ_SUBSYSTEM:
		return s->spawned ? DSSH_ERR_PROTOCOL : sess_spawn(s, req);
	case DSSH_REQ_WINDOW_CHANGE:
		s->cols = req->cols;
		s->rows = req->rows;
		return s->spawned && s->pty ?
		    dssh_session_resize(&s->child, req->cols, req->rows, req->xpixel, req->ypixel) : 0;
	case DSSH_REQ_SIGNAL:
		return s->spawned && !s->exited ?
		    spawner_signal(s->conn->srv->sh, s->id, req->name) : DSSH_ERR_NOT_FOUND;
	case DSSH_REQ_AUTH_AGENT:
		if (s->spawned)
			return DSSH_ERR_PROTOCOL;
		if (s->agent != NULL)
			return 0;
		return fwd_agent_start(&c->fwd, &s->agent_path, &s->agent);
	case DSSH_REQ_X11:
		return s->spawned ? DSSH_ERR_PROTOCOL : sess_x11(s, req);
	}
	return DSSH_ERR_UNSUPPORTED;
}

static void
host_channel_data(void *host, uint32_t chan, const uint8_t *p, size_t n)
{
	struct conn *c = host;
	struct sess *s = sess_of(c, chan);

	if (fwd_owns(&c->fwd, chan)) {
		fwd_channel_data(&c->fwd, chan, p, n);
		return;
	}
	if (s == NULL || !s->spawned || s->stdin_closed) {
		/* Nobody will read it: give the window back at once. */
		dssh_chan_consumed(c->ssh, chan, n);
		return;
	}
	if (dssh_buf_put(&s->to_child, p, n) != 0) {
		dssh_chan_consumed(c->ssh, chan, n);
		return;
	}
	sess_flush_to_child(s);
}

static void
host_channel_eof(void *host, uint32_t chan)
{
	struct conn *c = host;
	struct sess *s = sess_of(c, chan);

	if (fwd_owns(&c->fwd, chan)) {
		fwd_channel_eof(&c->fwd, chan);
		return;
	}
	if (s == NULL)
		return;
	s->client_eof = true;
	if (s->spawned)
		sess_maybe_close_stdin(s);
}

static void
host_channel_closed(void *host, uint32_t chan)
{
	struct conn *c = host;
	struct sess *s = sess_of(c, chan);

	if (fwd_owns(&c->fwd, chan)) {
		fwd_channel_closed(&c->fwd, chan);
		return;
	}
	if (s != NULL)
		sess_free(s);
}

static void
host_channel_offload(void *host, uint32_t chan, enum dssh_chan_offload_ev ev)
{
	struct conn *c = host;
	struct sess *s;

	if (fwd_owns(&c->fwd, chan)) {
		fwd_channel_offload(&c->fwd, chan, ev);
		return;
	}
	if ((s = sess_of(host, chan)) == NULL || !s->offloaded)
		return;
	switch (ev) {
	case DSSH_CHAN_OFFLOADED:
		s->offload_ready = true;
		sess_offload_go(s);
		break;
	case DSSH_CHAN_OUT_EOF:
	case DSSH_CHAN_OUT_FAIL:
		s->out_eof = true;
		break;
	case DSSH_CHAN_ERR_EOF:
		s->err_eof = true;
		break;
	case DSSH_CHAN_RECLAIMED:
		break;      /* the core closed its own fds: nothing of ours */
	case DSSH_CHAN_CONNECTED:
	case DSSH_CHAN_CONNECT_FAILED:
	case DSSH_CHAN_CONNECT_TIMEOUT:
		break;      /* forwarding only */
	}
	sess_maybe_finish(s);
}

static void
host_channel_writable(void *host, uint32_t chan)
{
	(void)host;
	(void)chan;   /* conn_after_io re-arms the child fds */
}

static int
host_channel_open(void *host, uint32_t chan, const struct dssh_chan_open *req)
{
	return fwd_channel_open(&((struct conn *)host)->fwd, chan, req);
}

static void
host_channel_open_result(void *host, uint32_t chan, uint32_t reason)
{
	fwd_open_result(&((struct conn *)host)->fwd, chan, reason);
}

static int
host_global_request(void *host, const struct dssh_global_req *req, uint32_t *port)
{
	return fwd_global_request(&((struct conn *)host)->fwd, req, port);
}

/* Nothing may authenticate: a Match evaluation failed (fail closed). */
static void
conn_refuse_auth(struct conn *c)
{
	c->sshconf.pubkey_auth = false;
	c->sshconf.password_auth = false;
	c->sshconf.kbdint_auth = false;
}

/*
 * sshd's Match: the configuration of this connection from what is known of
 * it (user NULL at the start: User and Group criteria do not hold yet;
 * then again at the first userauth request, with the user and its groups).
 * The engine's authentication settings follow it.
 */
static void
conn_apply_match(struct conn *c, const char *user)
{
	const struct dssh_config *base = &c->gen->cfg;
	struct dssh_config_conn ci = {
		.user = user, .host = c->peer_ip, .addr = c->peer_ip, .laddr = c->local_ip,
		.lport = c->local_port,
	};
	struct dsshd_groups groups = { 0 };
	struct dssh_config *cfg;
	struct dssh_authmethods am;
	char err[512], why[160];

	if (base->nmatch == 0)
		return;
	if (user != NULL && dsshd_user_groups(user, &groups) == 0) {
		ci.groups = (const char *const *)groups.names;
		ci.ngroups = groups.n;
	}
	if (dssh_config_for_conn(base, &ci, &cfg, err, sizeof(err)) != 0) {
		dsshd_groups_free(&groups);
		dssh_error("%s: Match: %s", c->log_id, err);
		conn_refuse_auth(c);
		return;
	}
	dsshd_groups_free(&groups);
	if (dssh_authmethods_parse(cfg->authentication_methods, &am, why, sizeof(why)) != 0) {
		dssh_error("%s: Match: AuthenticationMethods: %s", c->log_id, why);
		dssh_config_free_conn(cfg);
		conn_refuse_auth(c);
		return;
	}
	c->own_authm = am;
	c->sshconf.auth_methods = am.any ? NULL : &c->own_authm;
	c->sshconf.auth_banner = dsshd_gen_banner(c->gen, cfg->banner);
	c->sshconf.max_auth_tries = (unsigned)cfg->max_auth_tries;
	c->sshconf.pubkey_auth = cfg->pubkey_authentication != 0;
	c->sshconf.password_auth = cfg->password_authentication != 0 && cfg->use_pam != 0;
	c->sshconf.kbdint_auth = cfg->kbd_interactive_authentication != 0 && cfg->use_pam != 0;
	c->sshconf.client_alive_interval = (uint32_t)cfg->client_alive_interval;
	c->sshconf.client_alive_count_max = (unsigned)cfg->client_alive_count_max;
	c->sshconf.rekey_bytes = cfg->rekey_limit_bytes;
	c->sshconf.rekey_seconds = cfg->rekey_limit_seconds > 0 ?
	    (uint32_t)cfg->rekey_limit_seconds : 0;
	c->cfg = cfg;
	c->fwd.cfg = cfg;
	dssh_config_free_conn(c->own_cfg);
	c->own_cfg = cfg;
}

static void
host_auth_user_known(void *host, const char *user)
{
	conn_apply_match(host, user);
}

static const struct dssh_conn_host_ops host_ops = {
	.channel_open = host_channel_open,
	.channel_open_result = host_channel_open_result,
	.global_request = host_global_request,
	.auth_pubkey = host_auth_pubkey,
	.auth_password = host_auth_password,
	.auth_success = host_auth_success,
	.auth_kbdint = host_auth_kbdint,
	.auth_kbdint_abort = host_auth_kbdint_abort,
	.auth_user_known = host_auth_user_known,
	.session_open = host_session_open,
	.session_request = host_session_request,
	.channel_data = host_channel_data,
	.channel_eof = host_channel_eof,
	.channel_closed = host_channel_closed,
	.channel_writable = host_channel_writable,
	.channel_offload = host_channel_offload,
};

/* ---- connections -------------------------------------------------------- */

/* Counters of how it ended, and PerSourcePenalties for an unauthenticated end. */
static void
conn_limits_end(struct conn *c)
{
	struct dssh_conn_stats st;
	struct dsshd_conn_end how;

	dssh_conn_get_stats(c->ssh, &st);
	if (st.auth_tries_exceeded)
		dsshd_limits_count(DSSHD_LIM_auth_tries_exceeded);
	if (st.alive_timed_out)
		dsshd_limits_count(DSSHD_LIM_alive_timeouts);
	how = (struct dsshd_conn_end){
		.authenticated = dssh_conn_authenticated(c->ssh),
		.grace_exceeded = c->grace_exceeded,
		.auth_failures = st.auth_failures,
		.shutting_down = c->srv->sh->stop != 0,
		.log_id = c->log_id,
	};
	dsshd_limits_end(c->srv->sh->limits, &c->startup, &how);
}

/* dsshctl: a connection's engine counters added to a loop's. */
static void
conn_add_counters(const struct conn *c, struct dsshd_ctl_loop *l)
{
	struct dssh_conn_stats st;

	dssh_conn_get_stats(c->ssh, &st);
	l->v[DSSHD_LC_bytes_in] += st.bytes_in;
	l->v[DSSHD_LC_bytes_out] += st.bytes_out;
	l->v[DSSHD_LC_packets_in] += st.packets_in;
	l->v[DSSHD_LC_packets_out] += st.packets_out;
	l->v[DSSHD_LC_rekeys] += st.kex_count > 1 ? st.kex_count - 1 : 0;
	l->v[DSSHD_LC_auth_failures] += st.auth_failures;
}

static void
conn_free(struct conn *c)
{
	struct dsshd *srv = c->srv;
	uint64_t prev = dssh_log_conn_enter(c->log_num);

	for (uint32_t i = 0; i < c->nsess; i++)
		if (c->sess[i] != NULL)
			sess_free(c->sess[i]);
	free(c->sess);
	fwd_free(&c->fwd);
	for (struct conn **pp = &srv->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	dssh_stream_close(c->tr);
	__atomic_fetch_sub(&srv->nconns, 1, __ATOMIC_RELAXED);
	conn_add_counters(c, &srv->ended);
	conn_limits_end(c);
	dssh_conn_free(c->ssh);
	if (srv->pam != NULL)
		dssh_pam_worker_cancel(srv->pam, c->id);   /* a conversation waiting on it */
	if (srv->sh->privsep)
		dsshd_monitor_conn_end(&srv->sh->mon, mon_id(c));
	if (c->have_user)
		dssh_auth_user_clear(&c->user);
	if (c->have_keyopts)
		dssh_authkey_opts_free(&c->keyopts);
	dssh_verbose("%s: connection closed", c->log_id);
	dssh_config_free_conn(c->own_cfg);
	dsshd_gen_unref(c->gen);
	free(c);
	dssh_log_conn_leave(prev);
}

static bool
conn_flush(struct conn *c)
{
	for (;;) {
		const uint8_t *p;
		size_t n;
		ssize_t w;

		dssh_conn_output(c->ssh, &p, &n);
		if (n == 0)
			return true;
		if ((w = dssh_stream_write(c->tr, p, n)) <= 0)
			return w == 0;
		dssh_conn_output_consume(c->ssh, (size_t)w);
	}
}

/*
 * Whether to take the peer's bytes now: not while the engine pauses, nor,
 * before authentication, while the peer leaves our replies unread.
 */
static bool
conn_may_read(struct conn *c)
{
	if (dssh_conn_closing(c->ssh) || dssh_conn_input_paused(c->ssh))
		return false;
	if (dssh_conn_authenticated(c->ssh) || dssh_conn_output_pending(c->ssh) <= PREAUTH_OUTPUT_MAX)
		return true;
	if (!c->input_capped) {
		c->input_capped = true;
		dsshd_limits_count(DSSHD_LIM_preauth_input_capped);
		dssh_verbose("%s: peer does not read before authentication: input paused",
		    c->log_id);
	}
	return false;
}

/*
 * Feeds what the transport delivered to the engine, up to STREAM_TURN
 * bytes. Returns true when it did something (the caller flushes and comes
 * back), false when there is nothing to do now.
 */
static bool
conn_input(struct conn *c)
{
	size_t fed = 0;

	while (fed < STREAM_TURN && conn_may_read(c)) {
		const uint8_t *p;
		uint8_t *room;
		size_t n;

		/* A bulk transfer's input buffer has grown: receive straight into
		 * it (one copy less per byte); small ones go through the scratch. */
		if (dssh_stream_can_read(c->tr) &&
		    (n = dssh_conn_input_room(c->ssh, &room)) >= DIRECT_READ_MIN) {
			if ((n = dssh_stream_read(c->tr, room, n)) > 0) {
				dssh_conn_input_commit(c->ssh, n, dssh_now_ms());
				fed += n;
				continue;
			}
		} else if ((n = dssh_stream_peek(c->tr, &p)) > 0) {
			dssh_conn_input(c->ssh, p, n, dssh_now_ms());
			dssh_stream_consume(c->tr, n);
			fed += n;
			continue;
		}
		/* nothing now */
		if (dssh_stream_eof(c->tr)) {
			char who[256];

			if (!dssh_conn_version_received(c->ssh))
				dssh_error("kex_exchange_identification: Connection closed by "
				    "remote host");
			dssh_info("Connection closed by %s%s",
			    dssh_conn_log_peer(c->ssh, who, sizeof(who)),
			    dssh_conn_log_preauth(c->ssh));
			c->dead = true;
			return true;
		}
		break;
	}
	return fed > 0;
}

/* After anything touched the engine: send, re-arm interest, or tear down. */
static void
conn_after_io(struct conn *c)
{
	for (;;) {
		if (!c->dead && !conn_flush(c))
			c->dead = true;
		if (c->dead || (dssh_conn_closing(c->ssh) && dssh_conn_output_pending(c->ssh) == 0)) {
			conn_free(c);
			return;
		}
		if (conn_input(c))
			continue;
		break;
	}
	dssh_stream_want(c->tr, conn_may_read(c), dssh_conn_output_pending(c->ssh) > 0);
	for (uint32_t i = 0; i < c->nsess; i++)
		if (c->sess[i] != NULL)
			sess_update_events(c->sess[i]);
	fwd_update_events(&c->fwd);
}

/*
 * The transport's (and forward.c's) word that the connection has work: every
 * line logged meanwhile is this connection's (conn_after_io may free it).
 */
static void
conn_event(void *owner)
{
	struct conn *c = owner;
	uint64_t prev = dssh_log_conn_enter(c->log_num);

	conn_after_io(c);
	dssh_log_conn_leave(prev);
}

/* A new connection, its transport set: start the engine. False when it
 * could not start (the caller closes the transport). */
static bool
conn_start(struct dsshd *srv, struct conn *c)
{
	const struct dssh_stream_info *in = &c->tr->info;

	c->srv = srv;
	/* unique across loops: dsshctl names connections by it */
	c->id = __atomic_add_fetch(&srv->sh->next_conn_id, 1, __ATOMIC_RELAXED);
	/* from here on its lines are "dsshd[N]:" (stream_opened restores) */
	c->log_num = dssh_log_conn_number(c->id);
	dssh_log_conn_enter(c->log_num);
	srv->ended.v[DSSHD_LC_connections]++;
	snprintf(c->peer_ip, sizeof(c->peer_ip), "%s", in->peer_ip);
	snprintf(c->local_ip, sizeof(c->local_ip), "%s", in->local_ip);
	c->peer_port = in->peer_port;
	c->local_port = in->local_port;
	c->start_ms = dssh_now_ms();
	snprintf(c->log_id, sizeof(c->log_id), "%s port %d", c->peer_ip, c->peer_port);
	pthread_mutex_lock(&srv->sh->gen_lock);
	c->gen = dsshd_gen_ref(srv->sh->gen);
	pthread_mutex_unlock(&srv->sh->gen_lock);
	c->cfg = &c->gen->cfg;
	c->sshconf = c->gen->sshconf;
	c->sshconf.engine = srv->engine;
	conn_apply_match(c, NULL);
	if (dssh_conn_new(&c->sshconf, &host_ops, c, c->log_id, &c->ssh) != 0) {
		dssh_conn_free(c->ssh);
		dsshd_gen_unref(c->gen);
		return false;
	}
	/* the monitor learns this connection's session id from its first signature */
	dssh_conn_set_sign_id(c->ssh, mon_id(c));
	/* A data core does the packet layer: the engine takes records. */
	if (in->records)
		dssh_conn_set_record_offload(c->ssh);
	if (dssh_conn_start(c->ssh, c->start_ms) != 0) {
		dssh_conn_free(c->ssh);
		dsshd_gen_unref(c->gen);
		return false;
	}
	fwd_init(&c->fwd);
	c->fwd.ssh = c->ssh;
	c->fwd.loop = srv->loop;
	c->fwd.log_id = c->log_id;
	c->fwd.log_num = c->log_num;
	c->fwd.cfg = c->cfg;
	if (srv->sh->privsep) {
		c->fwd.mon = &srv->sh->mon;
		c->fwd.mon_conn = mon_id(c);
	}
	c->fwd.after_io = conn_event;
	c->fwd.owner = c;
	c->fwd.buf = srv->rbuf;
	c->fwd.buflen = sizeof(srv->rbuf);
	c->sock_fd = srv->opening_fd;
	conn_socket_opts(c);
	/* As sess_offload: the data core relays forwarded sockets too. */
	c->fwd.offload = in->records && c->cfg->data_channels_control != 1;
	c->next = srv->conns;
	srv->conns = c;
	__atomic_fetch_add(&srv->nconns, 1, __ATOMIC_RELAXED);
	c->tr->on_event = conn_event;
	c->tr->owner = c;
	dssh_verbose("Connection from %s port %d on %s port %d rdomain \"\"", c->peer_ip,
	    c->peer_port, c->local_ip, c->local_port);
	dssh_debug("%s: served%s by loop %u", c->log_id, in->via, srv->index);
	conn_after_io(c);
	return true;
}

/*
 * IPQoS as sshd: none before a session, then interactive with a pty and
 * bulk without (the last session started decides), on the kernel socket;
 * the data plane's TCP does not set a TOS (docs/architecture.md).
 */
static void
conn_set_qos(struct conn *c, bool interactive)
{
	int v = interactive ? c->cfg->ipqos_interactive : c->cfg->ipqos_bulk;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (c->sock_fd < 0 || v < 0 || getsockname(c->sock_fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(c->sock_fd, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v)) != 0)
		dssh_debug("%s: IPV6_TCLASS %d: %s", c->log_id, v, strerror(errno));
	/* an IPv4-mapped peer on a v6 socket takes IP_TOS too */
	if (setsockopt(c->sock_fd, IPPROTO_IP, IP_TOS, &v, sizeof(v)) != 0 &&
	    ss.ss_family == AF_INET)
		dssh_debug("%s: IP_TOS %d: %s", c->log_id, v, strerror(errno));
}

/* TCPKeepAlive (SO_KEEPALIVE), on kernel sockets. */
static void
conn_socket_opts(struct conn *c)
{
	int on = c->cfg->tcp_keepalive == 1;

	if (c->sock_fd < 0)
		return;
	if (setsockopt(c->sock_fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) != 0)
		dssh_debug("%s: SO_KEEPALIVE: %s", c->log_id, strerror(errno));
}

/* A new connection from any backend: the same engine on its stream. */
static void
stream_opened(void *arg, struct dssh_stream *tr)
{
	static const char refused[] = "Not allowed at this time\r\n";
	struct dsshd *srv = arg;
	struct dsshd_startup st;
	struct conn *c;

	/* MaxStartups, PerSourceMaxStartups, PerSourcePenalties: before any
	 * memory is spent on it. sshd's best-effort notice, where the stream
	 * takes bytes (a data core's packet layer takes records). */
	if (!dsshd_limits_admit(srv->sh->limits, &tr->info, &st)) {
		if (!tr->info.records)
			(void)dssh_stream_write(tr, refused, sizeof(refused) - 1);
		dssh_stream_close(tr);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) != NULL) {
		uint64_t prev = dssh_log_conn_current();
		bool started;

		c->tr = tr;
		c->startup = st;
		started = conn_start(srv, c);
		dssh_log_conn_leave(prev);
		if (started)
			return;     /* conn_start ran the first round of I/O */
		free(c);
	}
	dsshd_limits_auth_done(srv->sh->limits, &st);
	dssh_stream_close(tr);
}

/* A kernel connection handed to this loop (accepted by loop 0). */
static void
sock_opened(struct dsshd *srv, int fd, const struct dssh_stream_info *info)
{
	struct dssh_stream *tr;

	if (dssh_sock_stream_new(srv->loop, fd, info, srv->sbuf, sizeof(srv->sbuf), &tr) != 0) {
		close(fd);
		return;
	}
	srv->opening_fd = fd;
	stream_opened(srv, tr);
	srv->opening_fd = -1;
}

static void
inbox_kick(struct dsshd *srv)
{
	uint64_t one = 1;

	(void)!write(srv->inbox_fd, &one, sizeof(one));
}

/* Queue an item for another loop; false when it cannot be queued. */
static bool
inbox_post(struct dsshd *to, const struct inbox_item *it)
{
	bool ok;

	pthread_mutex_lock(&to->inbox_lock);
	ok = items_push(&to->inbox, it);
	pthread_mutex_unlock(&to->inbox_lock);
	if (ok)
		inbox_kick(to);
	return ok;
}

/* The loop with the fewest connections (this one on a tie). */
static struct dsshd *
least_loaded(struct dsshd *srv)
{
	struct dsshd_shared *sh = srv->sh;
	struct dsshd *best = srv;
	uint32_t least = __atomic_load_n(&srv->nconns, __ATOMIC_RELAXED);

	for (unsigned i = 0; i < sh->nloops; i++) {
		uint32_t n = __atomic_load_n(&sh->loops[i]->nconns, __ATOMIC_RELAXED);

		if (n < least) {
			least = n;
			best = sh->loops[i];
		}
	}
	return best;
}

static void
accept_cb(struct dssh_evsource *src, uint32_t ev)
{
	struct listener *l = (struct listener *)((char *)src - offsetof(struct listener, src));
	struct dsshd *srv = l->srv;
	struct inbox_item it = { .is_exit = false };

	(void)ev;
	while (dssh_sock_accept(src->fd, &it.fd, &it.info) == 0) {
		struct dsshd *to = least_loaded(srv);

		if (to == srv)
			sock_opened(srv, it.fd, &it.info);
		else if (!inbox_post(to, &it))
			close(it.fd);
	}
}

/* Sessions of another loop that exited, connections handed over. */
static void sess_exited(void *arg, uint64_t id, int wait_status);
static void conn_kill(struct dsshd *srv, uint64_t id);

static void
inbox_cb(struct dssh_evsource *src, uint32_t ev)
{
	struct dsshd *srv = (struct dsshd *)((char *)src - offsetof(struct dsshd, inbox_src));
	struct items q;
	uint64_t v;

	(void)ev;
	(void)!read(srv->inbox_fd, &v, sizeof(v));
	pthread_mutex_lock(&srv->inbox_lock);
	q = srv->inbox;
	srv->inbox = (struct items){ NULL, 0, 0 };
	pthread_mutex_unlock(&srv->inbox_lock);
	for (size_t i = 0; i < q.n; i++) {
		if (q.v[i].is_exit)
			sess_exited(srv, q.v[i].sess_id, q.v[i].wait_status);
		else if (q.v[i].is_kill)
			conn_kill(srv, q.v[i].conn_id);
		else
			sock_opened(srv, q.v[i].fd, &q.v[i].info);
	}
	free(q.v);
}

static void
source_cb(struct dssh_evsource *src, uint32_t ev)
{
	struct dsshd *srv = (struct dsshd *)((char *)src - offsetof(struct dsshd, source_ev));

	(void)ev;
	srv->source.dispatch(srv->source.ctx, stream_opened, srv);
}

/* ---- PAM, signals, timers ---------------------------------------------- */

static struct conn *
conn_by_id(struct dsshd *srv, uint64_t id)
{
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/* A keyboard-interactive round from PAM: to the peer as an INFO_REQUEST. */
static void
pam_prompts(struct conn *c, struct dssh_pam_prompts *p)
{
	uint64_t prev = dssh_log_conn_enter(c->log_num);

	if (dssh_conn_kbdint_prompt(c->ssh, p->instruction, (const char *const *)p->text,
	    p->echo, p->n, dssh_now_ms()) != 0)
		dssh_pam_worker_cancel(c->srv->pam, c->id);
	dssh_pam_prompts_free(p);
	conn_after_io(c);
	dssh_log_conn_leave(prev);
}

static void
pam_cb(struct dssh_evsource *src, uint32_t ev)
{
	struct dsshd *srv = (struct dsshd *)((char *)src - offsetof(struct dsshd, pam_src));
	struct dssh_pam_result res[16];
	unsigned n;

	(void)ev;
	while ((n = dssh_pam_worker_collect(srv->pam, res, DSSH_ARRAY_SIZE(res))) > 0) {
		for (unsigned i = 0; i < n; i++) {
			struct conn *c = conn_by_id(srv, res[i].id);

			if (c == NULL) {
				dssh_pam_prompts_free(res[i].prompts);
				continue;
			}
			if (res[i].prompts != NULL) {
				pam_prompts(c, res[i].prompts);
				continue;
			}
			uint64_t prev = dssh_log_conn_enter(c->log_num);

			if (!res[i].ok && res[i].message[0] != '\0')
				dssh_verbose("%s: PAM: %s", c->log_id, res[i].message);
			if (c->pam_password && !(res[i].ok && c->pam_policy_ok) &&
			    srv->sh->privsep)
				dsshd_monitor_failed_login(&srv->sh->mon, dssh_conn_user(c->ssh),
				    c->peer_ip);
			else if (c->pam_password && !(res[i].ok && c->pam_policy_ok))
				dssh_session_record_failed_login(dssh_conn_user(c->ssh), c->peer_ip);
			dssh_conn_auth_result(c->ssh, res[i].ok && c->pam_policy_ok, dssh_now_ms());
			conn_after_io(c);
			dssh_log_conn_leave(prev);
		}
	}
}

static struct sess *
sess_by_id(struct dsshd *srv, uint64_t id)
{
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		for (uint32_t i = 0; i < c->nsess; i++)
			if (c->sess[i] != NULL && c->sess[i]->spawned && c->sess[i]->id == id)
				return c->sess[i];
	return NULL;
}

/* A session process exited (the spawner's word, or our own waitpid). */
static void
sess_exited(void *arg, uint64_t id, int wait_status)
{
	struct sess *s = sess_by_id(arg, id);
	struct conn *c;

	if (s == NULL || s->exited)
		return;    /* its channel is gone already */
	c = s->conn;
	uint64_t prev = dssh_log_conn_enter(c->log_num);

	s->exited = true;
	s->wait_status = wait_status;
	sess_maybe_finish(s);
	conn_after_io(c);
	dssh_log_conn_leave(prev);
}

/* ---- the spawner, shared by the loops ---------------------------------- */

/*
 * The spawner died: its sessions are ours now (we are their subreaper) and
 * go on; a new spawner serves new ones. Without one dsshd cannot serve.
 * Called with the lock held; loop 0 watches the new fd from its next turn.
 */
static bool
spawner_restart_locked(struct dsshd_shared *sh)
{
	int r;

	if (sh->dropped) {
		/* A new one would not be root: without a monitor, no logins. */
		dssh_error("the monitor (spawner) died; terminating");
		sh->stop = 1;
		return false;
	}
	dssh_error("spawner died; starting a new one");
	if ((r = dssh_spawner_restart(sh->spawner)) != 0) {
		dssh_error("cannot restart the spawner (%s); terminating", dssh_err_str(r));
		sh->stop = 1;
		return false;
	}
	return true;
}

static int
spawner_spawn(struct dsshd_shared *sh, uint64_t id, const struct dssh_session_spec *spec,
    struct dssh_session_child *out)
{
	int r;

	pthread_mutex_lock(&sh->spawner_lock);
	r = dssh_spawner_spawn(sh->spawner, id, spec, out);
	/* The spawner died since we last looked: a new one, one more try. */
	if (r == DSSH_ERR_CONN_CLOSED && spawner_restart_locked(sh))
		r = dssh_spawner_spawn(sh->spawner, id, spec, out);
	pthread_mutex_unlock(&sh->spawner_lock);
	if (sh->loops[0]->inbox_fd >= 0)
		inbox_kick(sh->loops[0]);   /* loop 0: watch a new spawner's fd */
	return r;
}

static int
spawner_signal(struct dsshd_shared *sh, uint64_t id, const char *sig)
{
	int r;

	pthread_mutex_lock(&sh->spawner_lock);
	r = dssh_spawner_signal(sh->spawner, id, sig);
	pthread_mutex_unlock(&sh->spawner_lock);
	return r;
}

/* Exits read under the lock, handed to their loops after it (a session
 * handler may spawn, which takes the lock). */
static void
exit_collect(void *arg, uint64_t id, int wait_status)
{
	const struct inbox_item it = { .is_exit = true, .sess_id = id, .wait_status = wait_status };

	if (!items_push(arg, &it))
		dssh_error("session %llu: exit lost (out of memory)", (unsigned long long)id);
}

static void spawner_cb(struct dssh_evsource *src, uint32_t ev);

/* Loop 0: watch the spawner's current fd (a restart changes it). */
static void
spawner_watch(struct dsshd *srv)
{
	struct dsshd_shared *sh = srv->sh;
	pid_t pid;
	int fd;

	pthread_mutex_lock(&sh->spawner_lock);
	fd = dssh_spawner_fd(sh->spawner);
	pid = dssh_spawner_pid(sh->spawner);
	pthread_mutex_unlock(&sh->spawner_lock);
	if (fd == sh->spawner_fd && pid == sh->spawner_pid)
		return;
	/* The old fd was closed by the restart and left epoll with it; a new
	 * spawner's socket may have the same number, hence the pid. */
	dssh_evloop_del(srv->loop, &srv->spawner_src);
	sh->spawner_fd = fd;
	sh->spawner_pid = pid;
	if (fd < 0)
		return;
	srv->spawner_src = (struct dssh_evsource){ .fd = fd, .cb = spawner_cb };
	if (dssh_evloop_set(srv->loop, &srv->spawner_src, EPOLLIN) != 0) {
		dssh_error("cannot watch the spawner; terminating");
		sh->stop = 1;
	}
}

/* Loop 0: exits reported by the spawner or reaped by us, each to its
 * loop; a dead spawner replaced. */
static void
reap_children(struct dsshd *srv)
{
	struct dsshd_shared *sh = srv->sh;
	struct items e = { NULL, 0, 0 };

	pthread_mutex_lock(&sh->spawner_lock);
	if (dssh_spawner_poll(sh->spawner, exit_collect, &e) == DSSH_ERR_CONN_CLOSED)
		(void)spawner_restart_locked(sh);
	pthread_mutex_unlock(&sh->spawner_lock);
	for (size_t i = 0; i < e.n; i++) {
		unsigned owner = (unsigned)(e.v[i].sess_id >> 48);

		if (owner == srv->index || owner >= sh->nloops)
			sess_exited(srv, e.v[i].sess_id, e.v[i].wait_status);
		else if (!inbox_post(sh->loops[owner], &e.v[i]))
			dssh_error("session %llu: exit not delivered (out of memory)",
			    (unsigned long long)e.v[i].sess_id);
	}
	free(e.v);
	spawner_watch(srv);
}

static void
spawner_cb(struct dssh_evsource *src, uint32_t ev)
{
	struct dsshd *srv = (struct dsshd *)((char *)src - offsetof(struct dsshd, spawner_src));

	(void)ev;
	reap_children(srv);
}

static void
stop_all(struct dsshd_shared *sh)
{
	sh->stop = 1;
	for (unsigned i = 0; i < sh->nloops; i++)
		inbox_kick(sh->loops[i]);
}

static void rebind_listeners(struct dsshd *srv, const struct dssh_config *cfg);

/* SIGHUP: the reload thread builds the next generation from the current. */
static void
reload(struct dsshd_shared *sh)
{
	dssh_info("Received SIGHUP; reloading the configuration.");
	dsshd_notify_reloading();
	if (dsshd_reloader_start(sh->reloader, sh->gen) != 0)
		dsshd_notify("READY=1");
}

/* The reload thread finished: new connections take its generation if it
 * made one (it logged why not otherwise). */
static void
reload_cb(struct dssh_evsource *src, uint32_t ev)
{
	struct dsshd_shared *sh = (struct dsshd_shared *)((char *)src -
	    offsetof(struct dsshd_shared, reload_src));
	struct dsshd_gen *next, *old;
	bool again;

	(void)ev;
	if ((next = dsshd_reloader_collect(sh->reloader, &again)) != NULL) {
		pthread_mutex_lock(&sh->gen_lock);
		old = sh->gen;
		sh->gen = next;
		pthread_mutex_unlock(&sh->gen_lock);
		dsshd_gen_unref(old);
		rebind_listeners(sh->loops[0], &next->cfg);
		/* last: "Reloaded" tells a reader the whole reload is done */
		dsshd_reload_applied(sh->opts, next);
	}
	/* A SIGHUP while it ran: the file may have changed since it was read. */
	if (!again || dsshd_reloader_start(sh->reloader, sh->gen) != 0)
		dsshd_notify("READY=1");
}

static int
setup_reloader(struct dsshd *srv)
{
	struct dsshd_shared *sh = srv->sh;
	int r;

	if ((r = dsshd_reloader_new(sh->opts, &sh->reloader)) != 0)
		return r;
	sh->reload_src = (struct dssh_evsource){ .fd = dsshd_reloader_fd(sh->reloader),
	    .cb = reload_cb };
	return dssh_evloop_set(srv->loop, &sh->reload_src, EPOLLIN);
}

static void
signal_cb(struct dssh_evsource *src, uint32_t ev)
{
	struct dsshd *srv = (struct dsshd *)((char *)src - offsetof(struct dsshd, sig_src));
	struct signalfd_siginfo si;

	(void)ev;
	while (read(src->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap_children(srv);
		else if (si.ssi_signo == SIGUSR1)
			dsshd_limits_log_counters();
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			dssh_info("Received signal %u; terminating.", si.ssi_signo);
			dsshd_notify("STOPPING=1");
			stop_all(srv->sh);
		} else if (si.ssi_signo == SIGHUP)
			reload(srv->sh);
	}
}

/* ---- dsshctl: what each loop publishes, and kill ---------------------- */

/* This loop's counters and connections, for loop 0's control socket. */
static void
ctl_publish(struct dsshd *srv, uint64_t now)
{
	struct dsshd_ctl_loop l = srv->ended;
	struct dsshd_ctl_sess *v = NULL;
	size_t n = 0, cap = 0;

	for (struct conn *c = srv->conns; c != NULL; c = c->next) {
		struct dssh_conn_stats st;
		struct dsshd_ctl_sess *s;

		conn_add_counters(c, &l);
		l.active++;
		l.authenticated += dssh_conn_authenticated(c->ssh);
		if (n == cap) {
			struct dsshd_ctl_sess *nv = realloc(v, (cap ? 2 * cap : 16) * sizeof(*v));

			if (nv == NULL)
				continue;   /* this one is left out until the next tick */
			v = nv;
			cap = cap ? 2 * cap : 16;
		}
		s = &v[n++];
		memset(s, 0, sizeof(*s));
		dssh_conn_get_stats(c->ssh, &st);
		s->id = c->id;
		if (dssh_conn_authenticated(c->ssh) && dssh_conn_user(c->ssh) != NULL)
			snprintf(s->user, sizeof(s->user), "%s", dssh_conn_user(c->ssh));
		snprintf(s->peer_ip, sizeof(s->peer_ip), "%s", c->peer_ip);
		s->peer_port = c->peer_port;
		s->loop = srv->index;
		s->dataplane = c->tr->info.dataplane;
		s->core = c->tr->info.core;
		s->authenticated = dssh_conn_authenticated(c->ssh);
		s->channels = dssh_conn_channels_open(c->ssh);
		s->bytes_in = st.bytes_in;
		s->bytes_out = st.bytes_out;
		snprintf(s->cipher, sizeof(s->cipher), "%s", st.cipher_out ? st.cipher_out : "");
		s->age_s = (now - c->start_ms) / 1000;
	}
	pthread_mutex_lock(&srv->pub_lock);
	srv->pub = l;
	free(srv->pub_sess);
	srv->pub_sess = v;
	srv->pub_n = n;
	pthread_mutex_unlock(&srv->pub_lock);
}

/* dsshctl kill, on the connection's loop: disconnect it as sshd would. */
static void
conn_kill(struct dsshd *srv, uint64_t id)
{
	struct conn *c = conn_by_id(srv, id);

	if (c == NULL || c->dead || dssh_conn_closing(c->ssh))
		return;
	uint64_t prev = dssh_log_conn_enter(c->log_num);

	srv->ended.v[DSSHD_LC_kills]++;
	if (dssh_conn_authenticated(c->ssh))
		dssh_info("Disconnecting user %s %s port %d: killed by dsshctl",
		    dssh_conn_user(c->ssh), c->peer_ip, c->peer_port);
	else
		dssh_info("Disconnecting %s port %d: killed by dsshctl", c->peer_ip, c->peer_port);
	/* SSH2_DISCONNECT_BY_APPLICATION */
	dssh_conn_disconnect(c->ssh, 11, "Disconnected by the administrator");
	conn_after_io(c);
	dssh_log_conn_leave(prev);
}

static unsigned
ctl_nloops(void *arg)
{
	return ((struct dsshd_shared *)arg)->nloops;
}

static int
ctl_snapshot(void *arg, unsigned i, struct dsshd_ctl_loop *st, struct dsshd_ctl_sess **sess,
    size_t *n)
{
	struct dsshd *l = ((struct dsshd_shared *)arg)->loops[i];
	int r = 0;

	pthread_mutex_lock(&l->pub_lock);
	*st = l->pub;
	if (sess != NULL) {
		*n = 0;
		*sess = NULL;
		if (l->pub_n > 0 && (*sess = malloc(l->pub_n * sizeof(**sess))) == NULL)
			r = DSSH_ERR_ALLOC;
		else if (l->pub_n > 0) {
			memcpy(*sess, l->pub_sess, l->pub_n * sizeof(**sess));
			*n = l->pub_n;
		}
	}
	pthread_mutex_unlock(&l->pub_lock);
	return r;
}

/* The loop that published the connection gets the kill through its inbox. */
static int
ctl_kill(void *arg, uint64_t id)
{
	struct dsshd_shared *sh = arg;

	for (unsigned i = 0; i < sh->nloops; i++) {
		struct dsshd *l = sh->loops[i];
		bool found = false;

		pthread_mutex_lock(&l->pub_lock);
		for (size_t k = 0; k < l->pub_n && !found; k++)
			found = l->pub_sess[k].id == id;
		pthread_mutex_unlock(&l->pub_lock);
		if (found) {
			struct inbox_item it = { .is_kill = true, .conn_id = id, .fd = -1 };

			return inbox_post(l, &it) ? 0 : DSSH_ERR_ALLOC;
		}
	}
	return DSSH_ERR_NOT_FOUND;
}

static void
tick(void *arg)
{
	struct dsshd *srv = arg;
	uint64_t now = dssh_now_ms();

	for (struct conn *c = srv->conns, *next; c != NULL; c = next) {
		int grace = c->cfg->login_grace_time;
		uint64_t prev = dssh_log_conn_enter(c->log_num);

		next = c->next;
		if (!dssh_conn_authenticated(c->ssh) && grace > 0 && !c->grace_exceeded &&
		    now - c->start_ms > (uint64_t)grace * 1000) {
			/* sshd's words */
			dssh_info("Timeout before authentication for %s port %d", c->peer_ip,
			    c->peer_port);
			c->grace_exceeded = true;
			dsshd_limits_count(DSSHD_LIM_grace_timeouts);
			dssh_conn_disconnect(c->ssh, 2, "Timeout before authentication");
		}
		if (dssh_conn_closing(c->ssh) && dssh_conn_output_pending(c->ssh) > 0) {
			if (c->closing_ms == 0) {
				c->closing_ms = now;
			} else if (now - c->closing_ms > CLOSING_FLUSH_MS) {
				dssh_verbose("%s: peer does not read: closed unflushed", c->log_id);
				c->dead = true;
			}
		}
		dssh_conn_set_rtt(c->ssh, dssh_stream_rtt_us(c->tr));
		dssh_conn_tick(c->ssh, now);
		conn_after_io(c);
		dssh_log_conn_leave(prev);
	}
	ctl_publish(srv, now);
	if (srv->index == 0) {
		reap_children(srv);   /* in case a SIGCHLD was coalesced */
		dsshd_limits_tick(srv->sh->limits);
		dsshd_ctl_tick();
	}
}

/* The signals loop 0's signalfd takes (SIGUSR1: log the limits' counters). */
void
dsshd_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

/* Loop 0's signals; blocked before any thread (PAM workers, the EAL's) is
 * made, so that none of them takes a SIGHUP's (or SIGUSR1's) default action. */
int
dsshd_block_signals(void)
{
	sigset_t set;

	dsshd_signal_set(&set);
	return pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 ? 0 : DSSH_ERR_SYSTEM;
}

static int
setup_signals(struct dsshd *srv)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	dsshd_signal_set(&set);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return DSSH_ERR_SYSTEM;
	srv->sig_src = (struct dssh_evsource){ .fd = fd, .cb = signal_cb };
	return dssh_evloop_set(srv->loop, &srv->sig_src, EPOLLIN);
}

static bool
is_listening(const struct dsshd *srv, const char *addr, int port)
{
	for (unsigned i = 0; i < srv->nlisteners; i++)
		if (srv->listeners[i].src.fd >= 0 && srv->listeners[i].port == port &&
		    strcmp(srv->listeners[i].addr, addr) == 0)
			return true;
	return false;
}

static int
add_listener(struct dsshd *srv, const char *addr, int port)
{
	struct listener *l = NULL;
	int fd, r;

	for (unsigned i = 0; i < srv->nlisteners && l == NULL; i++)
		if (srv->listeners[i].src.fd < 0)
			l = &srv->listeners[i];
	if (l == NULL && srv->nlisteners < MAX_LISTENERS)
		l = &srv->listeners[srv->nlisteners++];
	if (l == NULL)
		return DSSH_ERR_NO_BUFFER_SPACE;
	l->src.fd = -1;
	if ((r = dssh_listen_tcp(addr, port, &fd)) != 0)
		return r;
	l->srv = srv;
	l->src = (struct dssh_evsource){ .fd = fd, .cb = accept_cb };
	snprintf(l->addr, sizeof(l->addr), "%s", addr);
	l->port = port;
	if ((r = dssh_evloop_set(srv->loop, &l->src, EPOLLIN)) != 0) {
		close(fd);
		l->src.fd = -1;
		return r;
	}
	dssh_info("Server listening on %s port %d.", addr, port);
	return 0;
}

static int
setup_listeners(struct dsshd *srv)
{
	const struct dssh_config *cfg = srv->cfg;
	int r;

	for (unsigned i = 0; i < cfg->nlisten && srv->nlisteners < MAX_LISTENERS; i++)
		if ((r = add_listener(srv, cfg->listen[i].addr, cfg->listen[i].port)) != 0)
			return r;
	return 0;
}

/*
 * SIGHUP, loop 0: listen where the new configuration says. Sockets it no
 * longer names are closed (connections accepted on them go on), new ones
 * opened; one that cannot be opened is logged and the rest go ahead.
 */
static void
rebind_listeners(struct dsshd *srv, const struct dssh_config *cfg)
{
	int r;

	for (unsigned i = 0; i < srv->nlisteners; i++) {
		struct listener *l = &srv->listeners[i];
		bool wanted = false;

		for (unsigned k = 0; k < cfg->nlisten && !wanted; k++)
			wanted = cfg->listen[k].port == l->port && strcmp(cfg->listen[k].addr, l->addr) == 0;
		if (l->src.fd < 0 || wanted)
			continue;
		dssh_evloop_del(srv->loop, &l->src);
		close(l->src.fd);
		l->src.fd = -1;
		dssh_info("No longer listening on %s port %d.", l->addr, l->port);
	}
	for (unsigned k = 0; k < cfg->nlisten; k++)
		if (!is_listening(srv, cfg->listen[k].addr, cfg->listen[k].port) &&
		    (r = add_listener(srv, cfg->listen[k].addr, cfg->listen[k].port)) != 0)
			dssh_error("Cannot listen on %s port %d: %s", cfg->listen[k].addr,
			    cfg->listen[k].port, dssh_err_str(r));
}

/* After daemon(): the spawner must be our child (dsshd's main runs it). */
static int
setup_spawner(struct dsshd *srv)
{
	struct dsshd_shared *sh = srv->sh;
	int r;

	if ((r = dssh_spawner_start(NULL, &sh->spawner)) != 0) {
		dssh_error("cannot start the spawner: %s", dssh_err_str(r));
		return r;
	}
	spawner_watch(srv);
	return sh->stop ? DSSH_ERR_SYSTEM : 0;
}

/* Per loop: its epoll loop, inbox, PAM worker; its engine is the caller's. */
static int
loop_init(struct dsshd_shared *sh, unsigned index, struct dssh_crypto_engine *engine,
    struct dsshd **out)
{
	struct dsshd *srv = calloc(1, sizeof(*srv));
	int r;

	*out = srv;
	if (srv == NULL)
		return DSSH_ERR_ALLOC;
	srv->sh = sh;
	srv->index = index;
	srv->cfg = sh->cfg;
	srv->engine = engine;
	srv->source.fd = -1;
	srv->sig_src.fd = -1;
	pthread_mutex_init(&srv->inbox_lock, NULL);
	srv->opening_fd = -1;
	pthread_mutex_init(&srv->pub_lock, NULL);
	if ((srv->inbox_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return DSSH_ERR_SYSTEM;
	if ((r = dssh_evloop_new(&srv->loop)) != 0)
		return r;
	srv->inbox_src = (struct dssh_evsource){ .fd = srv->inbox_fd, .cb = inbox_cb };
	if ((r = dssh_evloop_set(srv->loop, &srv->inbox_src, EPOLLIN)) != 0)
		return r;
	return 0;
}

/*
 * The loop's PAM worker. With privilege separation it is made after the
 * drop, so that its threads start with PR_SET_NO_NEW_PRIVS (a per-thread
 * bit, inherited by new threads only) and run no PAM: the monitor does.
 */
static int
loop_pam_init(struct dsshd *srv)
{
	struct dsshd_shared *sh = srv->sh;
	int r;

	if (!sh->cfg->use_pam)
		return 0;
	if ((r = dssh_pam_worker_new(sh->cfg->pam_service_name, &srv->pam)) != 0) {
		dssh_error("PAM worker: %s", dssh_err_str(r));
		return r;
	}
	if (sh->privsep)
		dssh_pam_worker_set_remote(srv->pam, dsshd_monitor_pam_open, &sh->mon);
	srv->pam_src = (struct dssh_evsource){ .fd = dssh_pam_worker_fd(srv->pam), .cb = pam_cb };
	return dssh_evloop_set(srv->loop, &srv->pam_src, EPOLLIN);
}

/* After its thread ended: sessions still running get HUP (through the
 * spawner), connections handed over but never opened are closed. */
static void
loop_free(struct dsshd *srv)
{
	if (srv == NULL)
		return;
	while (srv->conns != NULL)
		conn_free(srv->conns);
	for (size_t i = 0; i < srv->inbox.n; i++)
		if (!srv->inbox.v[i].is_exit && !srv->inbox.v[i].is_kill)
			close(srv->inbox.v[i].fd);
	free(srv->pub_sess);
	pthread_mutex_destroy(&srv->pub_lock);
	free(srv->inbox.v);
	for (unsigned i = 0; i < srv->nlisteners; i++)
		if (srv->listeners[i].src.fd >= 0)
			close(srv->listeners[i].src.fd);
	if (srv->pam != NULL)
		dssh_pam_worker_free(srv->pam);
	if (srv->sig_src.fd >= 0)
		close(srv->sig_src.fd);
	if (srv->inbox_fd >= 0)
		close(srv->inbox_fd);
	dssh_evloop_free(srv->loop);
	pthread_mutex_destroy(&srv->inbox_lock);
	free(srv);
}

/* One message to the monitor, under the spawner lock (any thread). */
static int
monitor_send(void *arg, const uint8_t *msg, size_t len, const int *fds, size_t nfds)
{
	struct dsshd_shared *sh = arg;
	int r;

	pthread_mutex_lock(&sh->spawner_lock);
	r = sh->spawner != NULL ? dssh_spawner_send(sh->spawner, msg, len, fds, nfds) :
	    DSSH_ERR_CONN_CLOSED;
	pthread_mutex_unlock(&sh->spawner_lock);
	return r;
}

static void *
loop_thread(void *arg)
{
	struct dsshd *srv = arg;

	if (dssh_evloop_run(srv->loop, &srv->sh->stop, tick, srv) != 0) {
		dssh_error("loop %u: %s; terminating", srv->index, strerror(errno));
		stop_all(srv->sh);
	}
	return NULL;
}

/* LoopThreads: auto is a loop per online CPU, less the data cores. */
static unsigned
loops_wanted(const struct dssh_config *cfg, const struct dsshd_engines *engines)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	long n = cfg->loop_threads > 0 ? cfg->loop_threads : ncpu;

	if (cfg->loop_threads <= 0 && cfg->data_plane == DSSH_DATA_PLANE_DPDK)
		n -= cfg->data_cores > 0 ? cfg->data_cores : 1;
	if (engines == NULL || engines->make == NULL)
		n = 1;
	return n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
}

int
dsshd_server_run(struct dsshd_gen *gen, const struct dsshd_opts *opts,
    const struct dssh_stream_source *source, const struct dsshd_engines *engines)
{
	struct dsshd_shared sh = { .cfg = &gen->cfg, .opts = opts, .spawner_fd = -1,
	    .privsep = geteuid() == 0 };
	unsigned want = loops_wanted(&gen->cfg, engines), started = 0;
	struct dsshd *srv;
	int r;

	if (dsshd_block_signals() != 0)
		return DSSH_ERR_SYSTEM;
	pthread_mutex_init(&sh.spawner_lock, NULL);
	pthread_mutex_init(&sh.gen_lock, NULL);
	sh.mon = (struct dsshd_monitor_link){ .send = monitor_send, .arg = &sh };
	if (sh.privsep && (r = dsshd_privsep_user_check(DSSHD_PRIVSEP_USER)) != 0) {
		pthread_mutex_destroy(&sh.spawner_lock);
		pthread_mutex_destroy(&sh.gen_lock);
		return r;
	}
	if ((r = dsshd_limits_new(&gen->cfg, &sh.limits)) != 0) {
		dsshd_limits_free(sh.limits);
		return r;
	}
	if ((sh.loops = calloc(want, sizeof(*sh.loops))) == NULL) {
		dsshd_limits_free(sh.limits);
		return DSSH_ERR_ALLOC;
	}
	sh.gen = dsshd_gen_ref(gen);
	sh.nloops = 1;
	/* Signals are blocked before any thread exists, so only loop 0's
	 * signalfd sees them. */
	if ((r = loop_init(&sh, 0, gen->sshconf.engine, &sh.loops[0])) != 0)
		goto out;
	srv = sh.loops[0];
	if ((r = setup_signals(srv)) != 0 ||
	    (r = setup_reloader(srv)) != 0 ||
	    (r = setup_spawner(srv)) != 0 ||
	    (r = setup_listeners(srv)) != 0)
		goto out;
	if (source != NULL) {
		srv->source = *source;
		srv->source_ev = (struct dssh_evsource){ .fd = source->fd, .cb = source_cb };
		if ((r = dssh_evloop_set(srv->loop, &srv->source_ev, EPOLLIN)) != 0)
			goto out;
	}
	for (unsigned i = 1; i < want; i++) {
		struct dsshd *l;

		if ((r = loop_init(&sh, i, NULL, &l)) != 0 ||
		    (l->engine = engines->make(engines->arg, i)) == NULL) {
			loop_free(l);
			dssh_info("%u loop threads (no more could be made)", sh.nloops);
			break;
		}
		sh.loops[sh.nloops++] = l;
	}
	/* Everything that needs root is made: listeners, the monitor, the EAL. */
	if (sh.privsep) {
		if (dsshd_ctl_path() != NULL)
			dsshd_monitor_ctl_path(&sh.mon, dsshd_ctl_path());
		dsshd_gen_use_monitor(&sh.mon);
		if ((r = dsshd_gen_keys_to_monitor(sh.gen)) != 0 ||
		    (r = dsshd_drop_privileges(DSSHD_PRIVSEP_USER)) != 0)
			goto out;
		sh.dropped = true;
		/* Every thread, the data plane's too; the monitor and the
		 * sessions it forks are another process, started before. */
		if ((r = dsshd_sandbox_apply()) != 0)
			goto out;
	}
	for (unsigned i = 0; i < sh.nloops; i++)
		if ((r = loop_pam_init(sh.loops[i])) != 0)
			goto out;
	for (started = 1; started < sh.nloops; started++)
		if (pthread_create(&sh.loops[started]->thread, NULL, loop_thread, sh.loops[started]) != 0)
			break;
	if (started < sh.nloops) {
		dssh_error("cannot start loop thread %u", started);
		r = DSSH_ERR_SYSTEM;
		goto out;
	}
	dssh_verbose("%u loop thread%s", sh.nloops, sh.nloops > 1 ? "s" : "");
	struct dsshd_ctl_ops ctl_ops = { ctl_nloops, ctl_snapshot, ctl_kill, &sh };

	if ((r = dsshd_ctl_attach(srv->loop, &ctl_ops)) != 0)
		goto out;
	/* Listening (and the data plane, if any, up): systemd may go on. */
	dsshd_notify("READY=1");
	r = dssh_evloop_run(srv->loop, &sh.stop, tick, srv);
out:
	stop_all(&sh);
	for (unsigned i = 1; i < started; i++)
		pthread_join(sh.loops[i]->thread, NULL);
	dsshd_ctl_close();
	dsshd_reloader_free(sh.reloader);
	for (unsigned i = sh.nloops; i-- > 0;) {
		struct dssh_crypto_engine *e = i > 0 ? sh.loops[i]->engine : NULL;

		loop_free(sh.loops[i]);
		if (e != NULL)
			engines->free(engines->arg, e);
	}
	if (sh.spawner != NULL)
		dssh_spawner_free(sh.spawner);
	pthread_mutex_destroy(&sh.spawner_lock);
	dsshd_gen_unref(sh.gen);
	pthread_mutex_destroy(&sh.gen_lock);
	free(sh.loops);
	dsshd_limits_free(sh.limits);
	return r;
}
