/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh-load's channel workloads: a worker thread drives its connections
 * (kernel sockets: one thread per connection; the DPDK data plane: one
 * thread for all of them, the port polled as each connection's turn
 * comes), their sessions as channels, in one loop. upload (exec, bytes
 * into the command's stdin), download (the command's stdout), echo (one
 * byte at a time through a raw PTY), forward (direct-tcpip to a sink);
 * SFTP in load_sftp.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_crypto.h"
#include "dssh_err.h"
#include "dssh_ssh.h"
#include "load.h"

#define SEND_CHUNK (256u * 1024)
#define FINISH_GRACE_US (15u * 1000000)      /* for the server's close at the end */
#define SETUP_TIMEOUT_US (30u * 1000000)
#define ECHO_READY "dssh-load-ready"

static const uint8_t zeros[SEND_CHUNK];

void
load_sess_fail(struct load_sess *s, const char *fmt, ...)
{
	struct load_stats *st = &s->cn->w->st;
	char msg[200];
	va_list ap;

	if (s->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->failed = true;
	load_fail(st, "session %u: %s", s->idx, msg);
}

void
load_sess_count(struct load_sess *s, uint64_t n)
{
	s->done += n;
	s->chan_done += n;
	atomic_fetch_add(&s->cn->w->st.bytes, n);
}

static struct load_sess *
sess_of(struct load_conn *cn, uint32_t chan)
{
	for (unsigned i = 0; i < cn->n; i++)
		if (cn->s[i].state != S_DONE && cn->s[i].chan == chan)
			return &cn->s[i];
	return NULL;
}

static const struct load_cfg *
cfg_of(const struct load_sess *s)
{
	return s->cn->w->cfg;
}

static bool
sess_is_sftp(const struct load_sess *s)
{
	return cfg_of(s)->wl == WL_SFTP_UPLOAD || cfg_of(s)->wl == WL_SFTP_DOWNLOAD;
}

/* ---- the channel's events ---- */

/* echo: wait for the marker, then every byte back is one keystroke's echo. */
static void
echo_data(struct load_sess *s, const uint8_t *p, size_t n)
{
	uint64_t now = load_now_us();

	if (s->state == S_SETUP) {
		for (size_t i = 0; i < n; i++) {
			if (s->tlen == sizeof(s->tail) - 1)
				memmove(s->tail, s->tail + 1, --s->tlen);
			s->tail[s->tlen++] = (char)p[i];
		}
		s->tail[s->tlen] = '\0';
		if (strstr(s->tail, ECHO_READY) != NULL)
			s->state = S_RUN;
		return;
	}
	if (s->state != S_RUN || !s->waiting)
		return;
	load_lat_add(&s->cn->w->st.lat, now - s->sent_us);
	load_sess_count(s, 1);
	s->waiting = false;
	s->next_us = s->sent_us + (uint64_t)cfg_of(s)->interval_ms * 1000;
	(void)n;
}

static void
on_data(void *arg, uint32_t chan, const uint8_t *p, size_t n, bool ext)
{
	struct load_conn *cn = arg;
	struct load_sess *s = sess_of(cn, chan);

	if (s != NULL && !ext) {
		switch (cfg_of(s)->wl) {
		case WL_DOWNLOAD:
			/*
			 * The command starts with the exec: its first bytes may come
			 * with the answer, before the clock (a window at most).
			 * They count: a size bound is checked against the whole.
			 */
			if (!s->we_closed)
				load_sess_count(s, n);
			break;
		case WL_ECHO:
			echo_data(s, p, n);
			break;
		case WL_SFTP_UPLOAD:
		case WL_SFTP_DOWNLOAD:
			load_sftp_input(s, p, n);
			break;
		default:
			break;
		}
	} else if (s != NULL && !cfg_of(s)->quiet) {
		fprintf(stderr, "dssh-load: session %u: %.*s", s->idx, (int)n, (const char *)p);
	}
	dssh_client_consumed(cn->cl, chan, n);
}

static void
on_exit_status(void *arg, uint32_t chan, int status, const char *sig)
{
	struct load_sess *s = sess_of(arg, chan);

	if (s == NULL)
		return;
	s->got_exit = true;
	s->exit_status = sig != NULL ? -1 : status;
}

/* The server ended the channel: its command's status says how, unless we asked. */
static void
check_end(struct load_sess *s)
{
	const struct load_cfg *cfg = cfg_of(s);

	if (s->we_closed)
		return;
	if (s->state != S_FINISH)
		load_sess_fail(s, "closed by the server");
	else if (cfg->wl != WL_FORWARD && (!s->got_exit || s->exit_status != 0))
		load_sess_fail(s, "remote command exit status %d", s->got_exit ? s->exit_status : -1);
	else if (cfg->wl == WL_DOWNLOAD && s->done != cfg->size)
		load_sess_fail(s, "%" PRIu64 " bytes of %" PRIu64, s->done, cfg->size);
}

static void
on_closed(void *arg, uint32_t chan)
{
	struct load_conn *cn = arg;
	struct load_sess *s = sess_of(cn, chan);

	dssh_chan_close(dssh_client_conn(cn->cl), chan);
	if (s == NULL)
		return;
	/* A size-bound download ends when the command does. */
	if (cfg_of(s)->wl == WL_DOWNLOAD && s->state == S_RUN && cfg_of(s)->size > 0)
		s->state = S_FINISH;
	check_end(s);
	s->state = S_DONE;
	/* --reopen: the next channel (its number may go to another session meanwhile). */
	if (!s->failed && cfg_of(s)->reopen && !load_deadline_passed(cn->w)) {
		s->state = S_REOPEN;
		s->chan = UINT32_MAX;
	}
}

static const struct dssh_client_chan_ops chan_ops = {
	.data = on_data,
	.closed = on_closed,
	.exit = on_exit_status,
};

/* ---- the sessions' steps ---- */

static void
finish(struct load_sess *s, bool close)
{
	struct dssh_conn *c = dssh_client_conn(s->cn->cl);

	s->state = S_FINISH;
	s->finish_us = load_now_us();
	if (close) {
		s->we_closed = true;
		dssh_chan_close(c, s->chan);
	} else {
		dssh_chan_send_eof(c, s->chan);
	}
}

static bool
size_reached(const struct load_sess *s)
{
	return cfg_of(s)->size > 0 && s->chan_done >= cfg_of(s)->size;
}

/* upload, forward: bytes into the channel as far as the window goes. */
static void
send_pump(struct load_sess *s)
{
	struct dssh_conn *c = dssh_client_conn(s->cn->cl);
	uint64_t want = SEND_CHUNK;
	size_t space, sent;

	if (load_deadline_passed(s->cn->w) || size_reached(s)) {
		finish(s, false);
		return;
	}
	if (cfg_of(s)->size > 0 && cfg_of(s)->size - s->chan_done < want)
		want = cfg_of(s)->size - s->chan_done;
	if ((space = dssh_chan_send_space(c, s->chan)) == 0)
		return;
	sent = dssh_client_send(s->cn->cl, s->chan, zeros, space < want ? space : (size_t)want);
	load_sess_count(s, sent);
}

static void
echo_pump(struct load_sess *s)
{
	static const uint8_t key = 'k';
	uint64_t now = load_now_us();

	if (load_deadline_passed(s->cn->w) || size_reached(s)) {
		finish(s, true);
		return;
	}
	if (s->waiting)
		return;
	if (now < s->next_us || dssh_chan_send_space(dssh_client_conn(s->cn->cl), s->chan) == 0)
		return;
	s->sent_us = now;
	s->waiting = true;
	dssh_client_send(s->cn->cl, s->chan, &key, 1);
}

static void
sess_pump(struct load_sess *s)
{
	if (s->state == S_FINISH && load_now_us() - s->finish_us > FINISH_GRACE_US) {
		load_sess_fail(s, "the server did not end the session");
		s->state = S_DONE;
		return;
	}
	if (sess_is_sftp(s)) {
		load_sftp_pump(s);
		return;
	}
	if (s->state != S_RUN)
		return;
	switch (cfg_of(s)->wl) {
	case WL_UPLOAD:
	case WL_FORWARD:
		send_pump(s);
		break;
	case WL_DOWNLOAD:
		/* Duration-bound: cat /dev/zero until we close it. */
		if (load_deadline_passed(s->cn->w))
			finish(s, true);
		break;
	case WL_ECHO:
		echo_pump(s);
		break;
	default:
		break;
	}
}

/* ---- the connection ---- */

static void
remote_command(const struct load_cfg *cfg, char *buf, size_t len)
{
	if (cfg->command != NULL)
		snprintf(buf, len, "%s", cfg->command);
	else if (cfg->wl == WL_UPLOAD)
		snprintf(buf, len, "cat > /dev/null");
	else if (cfg->wl == WL_DOWNLOAD && cfg->size > 0)
		snprintf(buf, len, "head -c %" PRIu64 " /dev/zero", cfg->size);
	else if (cfg->wl == WL_DOWNLOAD)
		snprintf(buf, len, "cat /dev/zero");
	else
		/* echo: the PTY raw (no line discipline, no echo of its own): cat echoes. */
		snprintf(buf, len, "stty raw -echo; printf %s; exec cat", ECHO_READY);
}

static int
open_pty_exec(struct dssh_client *cl, const char *cmd, uint32_t *chan)
{
	static const uint8_t modes[] = { 0 };      /* TTY_OP_END */
	struct dssh_chan_open o = { .kind = DSSH_CHAN_SESSION };
	struct dssh_session_req pty = { .type = DSSH_REQ_PTY, .term = "xterm", .cols = 80,
		.rows = 24, .modes = modes, .modes_len = sizeof(modes) };
	struct dssh_session_req ex = { .type = DSSH_REQ_EXEC, .command = cmd };
	int r;

	if ((r = dssh_client_open(cl, &o, chan)) != 0 ||
	    (r = dssh_client_request(cl, *chan, &pty)) != 0)
		return r;
	return dssh_client_request(cl, *chan, &ex);
}

static int
sess_open(struct load_sess *s)
{
	const struct load_cfg *cfg = cfg_of(s);
	struct dssh_client *cl = s->cn->cl;
	struct dssh_session_req req = { .type = DSSH_REQ_EXEC };
	char cmd[1024];

	remote_command(cfg, cmd, sizeof(cmd));
	req.command = cmd;
	switch (cfg->wl) {
	case WL_ECHO:
		return open_pty_exec(cl, cmd, &s->chan);
	case WL_FORWARD: {
		struct dssh_chan_open o = { .kind = DSSH_CHAN_DIRECT_TCPIP,
			.host = cfg->target_host, .port = (uint32_t)cfg->target_port,
			.orig_host = "127.0.0.1", .orig_port = 40000 + s->idx % 20000 };

		return dssh_client_open(cl, &o, &s->chan);
	}
	case WL_SFTP_UPLOAD:
	case WL_SFTP_DOWNLOAD:
		req.type = DSSH_REQ_SUBSYSTEM;
		req.name = "sftp";
		return dssh_client_session(cl, &req, &s->chan);
	default:
		return dssh_client_session(cl, &req, &s->chan);
	}
}

/* The next channel of a --reopen session (blocking: the others wait meanwhile). */
static void
reopen(struct load_sess *s)
{
	int r;

	s->chan_done = 0;
	if (load_deadline_passed(s->cn->w)) {
		s->state = S_DONE;
		return;
	}
	s->state = S_RUN;
	if ((r = sess_open(s)) != 0) {
		load_sess_fail(s, "direct-tcpip refused: %s", dssh_err_str(r));
		s->state = S_DONE;
		return;
	}
	atomic_fetch_add(&s->cn->w->st.channels, 1);
}

static unsigned
count_in(const struct load_conn *cn, enum sess_state st)
{
	unsigned k = 0;

	for (unsigned i = 0; i < cn->n; i++)
		k += cn->s[i].state == st;
	return k;
}

static void
fail_open(struct load_conn *cn, int r)
{
	for (unsigned i = 0; i < cn->n; i++) {
		if (cn->s[i].state != S_DONE) {
			load_sess_fail(&cn->s[i], "%s", dssh_err_str(r));
			cn->s[i].state = S_DONE;
		}
	}
}

/* One round: every session's step, then the socket. */
static int
conn_round(struct load_conn *cn, int timeout_ms)
{
	for (unsigned i = 0; i < cn->n; i++) {
		if (cn->s[i].state == S_REOPEN)
			reopen(&cn->s[i]);
		if (cn->s[i].state != S_DONE)
			sess_pump(&cn->s[i]);
	}
	return dssh_client_wait(cn->cl, timeout_ms);
}

/* Connect, open the sessions, run until each is S_RUN (SFTP file open, echo ready). */
static int
conn_setup(struct load_conn *cn)
{
	const struct load_cfg *cfg = cn->w->cfg;
	struct dssh_client_opts o = cfg->copts;
	uint64_t t0;
	int r;

	o.engine = cn->w->engine;
	/* One at a time: the first may add the host key to known_hosts. */
	pthread_mutex_lock(&load_connect_lock);
	r = dssh_client_connect(&o, &cn->cl);
	pthread_mutex_unlock(&load_connect_lock);
	if (r != 0)
		return r;
	dssh_client_set_chan_ops(cn->cl, &chan_ops, cn);
	for (unsigned i = 0; i < cn->n; i++) {
		struct load_sess *s = &cn->s[i];

		/* The state first: data, even the channel's end, may come with the answer. */
		s->state = cfg->wl == WL_ECHO || sess_is_sftp(s) ? S_SETUP : S_RUN;
		if ((r = sess_open(s)) != 0) {
			load_sess_fail(s, "%s refused: %s", cfg->wl == WL_FORWARD ?
			    "direct-tcpip" : "session", dssh_err_str(r));
			s->state = S_DONE;
			continue;
		}
		if (cfg->wl == WL_FORWARD)
			atomic_fetch_add(&cn->w->st.channels, 1);
		if (s->state != S_DONE && sess_is_sftp(s) && (r = load_sftp_start(s)) != 0)
			return r;
	}
	t0 = load_now_us();
	while (count_in(cn, S_SETUP) > 0) {
		if ((r = conn_round(cn, 100)) != 0)
			return r;
		if (load_now_us() - t0 > SETUP_TIMEOUT_US) {
			for (unsigned i = 0; i < cn->n; i++)
				if (cn->s[i].state == S_SETUP) {
					load_sess_fail(&cn->s[i], "not ready after 30 s");
					cn->s[i].state = S_DONE;
				}
		}
	}
	return 0;
}

/*
 * The connections' rounds in turn until each one's sessions are done. A
 * kernel socket waits in its poll; a DPDK port (no descriptor) is polled
 * without waiting, each round driving the port once, as dssh's relay
 * does (a 50 ms wait there, which ends at the stream's next TCP event,
 * held one-connection uploads to 10 MB/s at times).
 */
static void
conns_run(struct load_conn *cn, unsigned nc)
{
	int wait = cn->w->cfg->wl == WL_ECHO ? 5 : 50;
	unsigned live = 0;
	int r;

	for (unsigned k = 0; k < nc; k++) {
		live += cn[k].live;
		if (cn[k].live && dssh_client_fd(cn[k].cl) < 0)
			wait = 0;
	}
	while (live > 0) {
		for (unsigned k = 0; k < nc; k++) {
			if (!cn[k].live)
				continue;
			if ((r = conn_round(&cn[k], wait)) != 0)
				fail_open(&cn[k], r);
			else if (count_in(&cn[k], S_DONE) == cn[k].n)
				dssh_client_close(cn[k].cl);
			else
				continue;
			cn[k].live = false;
			live--;
		}
	}
}

/* Connection k's sessions: k, k + conns, ... */
static int
conn_init(struct load_worker *w, struct load_conn *cn, unsigned k)
{
	const struct load_cfg *cfg = w->cfg;

	cn->w = w;
	cn->n = cfg->sessions / cfg->conns + (k < cfg->sessions % cfg->conns);
	if ((cn->s = calloc(cn->n, sizeof(*cn->s))) == NULL) {
		cn->n = 0;
		return DSSH_ERR_ALLOC;
	}
	for (unsigned i = 0; i < cn->n; i++) {
		cn->s[i].cn = cn;
		cn->s[i].idx = k + i * cfg->conns;
		cn->s[i].chan = UINT32_MAX;
	}
	return 0;
}

static void
conn_end(struct load_conn *cn)
{
	struct load_stats *st = &cn->w->st;

	for (unsigned i = 0; i < cn->n; i++) {
		if (cn->s[i].failed)
			st->sessions_failed++;
		else
			st->sessions_ok++;
		dssh_sftpc_free(cn->s[i].sf);
	}
	dssh_client_free(cn->cl);
	free(cn->s);
}

void *
load_chan_worker(void *arg)
{
	struct load_worker *w = arg;
	struct load_conn *cn = calloc(w->nconns, sizeof(*cn));
	unsigned nc = cn != NULL ? w->nconns : 0;
	int r;

	if (cn == NULL)
		load_fail(&w->st, "out of memory");
	else if (dssh_crypto_engine_create(DSSH_CRYPTO_ENGINE_AUTO, NULL, &w->engine) != 0)
		load_fail(&w->st, "no crypto engine");
	/* One after the other: one thread's connections log in in turn. */
	for (unsigned k = 0; k < nc; k++) {
		if ((r = conn_init(w, &cn[k], w->first + k)) != 0) {
			load_fail(&w->st, "out of memory");
			continue;
		}
		r = w->engine == NULL ? DSSH_ERR_INTERNAL : conn_setup(&cn[k]);
		if (r != 0)
			fail_open(&cn[k], r);
		cn[k].live = r == 0;
	}
	pthread_barrier_wait(w->start);
	if (w->cfg->duration > 0)
		w->deadline_us = load_now_us() + (uint64_t)(w->cfg->duration * 1e6);
	conns_run(cn, nc);
	for (unsigned k = 0; k < nc; k++)
		conn_end(&cn[k]);
	dssh_crypto_engine_free(w->engine);
	free(cn);
	return NULL;
}
