/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dsshd's control socket (dsshctl) and Prometheus endpoint, on loop 0.
 * Each client sends one request and gets one reply; then it is closed.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "dssh_build_config.h"
#include "dssh_ctl.h"
#include "dssh_err.h"
#include "dssh_evloop.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "dsshd_limits.h"
#if DSSH_HAVE_DPDK
#include "dssh_dpdk.h"
#endif

/* Per socket: a flood of scrapers does not lock dsshctl out. */
#define CTL_MAX_CLIENTS 16
#define CTL_CLIENT_TIMEOUT_MS 10000u
#define CTL_REPLY_MAX (64u << 20)
#define DP_MAX_NAMES 128
#define DP_MAX_CORES 64

struct ctl_client {
	struct dssh_evsource src;
	struct ctl_client *next;
	bool http;
	bool replying;
	bool draining;                      /* reply sent, waiting for the peer's close */
	uint64_t start_ms;
	size_t inlen;
	uint8_t in[DSSH_HTTP_HEAD_MAX];     /* also holds a control line and its newline */
	struct dssh_buf out;
};

struct ctl {
	struct dssh_evsource unix_src, http_src;
	char *path;                         /* the socket file we made */
	struct dssh_evloop *loop;
	struct dsshd_ctl_ops ops;
	struct ctl_client *clients;
	unsigned nclients[2];               /* control socket, metrics */
};

static struct ctl ctl = { .unix_src.fd = -1, .http_src.fd = -1 };

/* ---- the sockets ---- */

/* A socket file left by an earlier dsshd is replaced; a live one is not. */
static int
unix_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, t;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		dssh_error("ControlSocket %s: path too long", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			dssh_error("ControlSocket %s exists and is not a socket", path);
			return -1;
		}
		if ((t = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
			int live = connect(t, (struct sockaddr *)&sa, sizeof(sa)) == 0;

			close(t);
			if (live) {
				dssh_error("ControlSocket %s is served by another process", path);
				return -1;
			}
		}
		(void)unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	/* 0600 from the start: no moment where another user could connect. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0600) != 0 ||
	    listen(fd, 16) != 0) {
		dssh_error("ControlSocket %s: %s", path, strerror(errno));
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

void
dsshd_ctl_open(const struct dssh_config *cfg)
{
	char addr[64];
	int port, r;

	if (cfg->control_socket != NULL && strcmp(cfg->control_socket, "none") != 0 &&
	    (ctl.unix_src.fd = unix_listen(cfg->control_socket)) >= 0 &&
	    (ctl.path = strdup(cfg->control_socket)) == NULL) {
		close(ctl.unix_src.fd);
		ctl.unix_src.fd = -1;
	}
	if (cfg->metrics_listen == NULL || strcmp(cfg->metrics_listen, "none") == 0)
		return;
	/* checked by the configuration parser: numeric, loopback unless allow-remote */
	if (dssh_config_parse_hostport(cfg->metrics_listen, addr, sizeof(addr), &port) != 0)
		return;
	if ((r = dssh_listen_tcp(addr, port, &ctl.http_src.fd)) != 0) {
		dssh_error("MetricsListen %s: %s", cfg->metrics_listen, dssh_err_str(r));
		ctl.http_src.fd = -1;
		return;
	}
	dssh_info("Metrics on http://%s/metrics", cfg->metrics_listen);
}

/* ---- clients ---- */

static void
client_free(struct ctl_client *cl)
{
	for (struct ctl_client **pp = &ctl.clients; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	dssh_evloop_del(ctl.loop, &cl->src);
	close(cl->src.fd);
	dssh_buf_free(&cl->out);
	ctl.nclients[cl->http]--;
	free(cl);
}

/*
 * Reply sent: our side is shut, and what the peer still sends is read and
 * dropped until it closes (or the timeout). Closing with unread input
 * would reset the connection and could destroy the reply in flight.
 */
static void
client_drain(struct ctl_client *cl)
{
	uint8_t junk[4096];
	ssize_t n;

	if (!cl->draining) {
		cl->draining = true;
		(void)shutdown(cl->src.fd, SHUT_WR);
		dssh_evloop_set(ctl.loop, &cl->src, EPOLLIN);
	}
	while ((n = recv(cl->src.fd, junk, sizeof(junk), 0)) > 0)
		;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	client_free(cl);
}

/* Sends what the reply still holds; then the client drains and goes. */
static void
client_flush(struct ctl_client *cl)
{
	while (dssh_buf_len(&cl->out) > 0) {
		ssize_t n = send(cl->src.fd, dssh_buf_ptr(&cl->out), dssh_buf_len(&cl->out),
		    MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			dssh_evloop_set(ctl.loop, &cl->src, EPOLLOUT);
			return;
		}
		if (n <= 0) {
			client_free(cl);
			return;
		}
		dssh_buf_consume(&cl->out, (size_t)n);
	}
	client_drain(cl);
}

/* ---- what is shown: collected from every loop and the data plane ---- */

struct dp_view {
	int ncores;                         /* <= 0: no data plane */
	unsigned nnames, ntot;
	const char *names[DP_MAX_NAMES], *tot_names[DP_MAX_NAMES];
	bool gauge[DP_MAX_NAMES], tot_gauge[DP_MAX_NAMES];
	uint64_t v[DP_MAX_CORES][DP_MAX_NAMES], tot[DP_MAX_NAMES];
};

struct view {
	unsigned nloops;
	struct dsshd_ctl_loop loops[256], total;
	struct dsshd_ctl_sess *sess;
	size_t nsess;
	struct dp_view dp;
};

#if DSSH_HAVE_DPDK
struct dp_visit {
	struct dp_view *dp;
	int core;
	unsigned i;
};

static void
dp_visit_cb(void *arg, const char *name, uint64_t v, bool gauge)
{
	struct dp_visit *w = arg;
	struct dp_view *dp = w->dp;

	if (w->i >= DP_MAX_NAMES)
		return;
	if (w->core < 0) {
		dp->tot_names[w->i] = name;
		dp->tot_gauge[w->i] = gauge;
		dp->tot[w->i++] = v;
		dp->ntot = w->i;
		return;
	}
	dp->names[w->i] = name;
	dp->gauge[w->i] = gauge;
	dp->v[w->core][w->i++] = v;
	dp->nnames = w->i;
}
#endif

static void
view_dataplane(struct dp_view *dp)
{
	dp->ncores = 0;
#if DSSH_HAVE_DPDK
	struct dp_visit w = { dp, -1, 0 };

	if ((dp->ncores = dssh_dpdk_stats_visit(-1, dp_visit_cb, &w)) <= 0)
		return;
	dp->ncores = DSSH_MIN(dp->ncores, DP_MAX_CORES);
	for (int c = 0; c < dp->ncores; c++) {
		w = (struct dp_visit){ dp, c, 0 };
		if (dssh_dpdk_stats_visit(c, dp_visit_cb, &w) < 0)
			dp->ncores = c;
	}
#endif
}

/* Every loop's last published state (sessions only when asked). */
static int
view_collect(struct view *v, bool sessions)
{
	memset(v, 0, offsetof(struct view, dp));
	v->nloops = DSSH_MIN(ctl.ops.nloops(ctl.ops.arg), 256u);
	for (unsigned i = 0; i < v->nloops; i++) {
		struct dsshd_ctl_sess *s = NULL;
		size_t n = 0;
		int r;

		if ((r = ctl.ops.snapshot(ctl.ops.arg, i, &v->loops[i], sessions ? &s : NULL,
		    sessions ? &n : NULL)) != 0) {
			free(v->sess);
			return r;
		}
		for (int k = 0; k < DSSHD_LC_N; k++)
			v->total.v[k] += v->loops[i].v[k];
		v->total.active += v->loops[i].active;
		v->total.authenticated += v->loops[i].authenticated;
		if (n > 0) {
			struct dsshd_ctl_sess *all = realloc(v->sess, (v->nsess + n) * sizeof(*all));

			if (all == NULL) {
				free(s);
				free(v->sess);
				return DSSH_ERR_ALLOC;
			}
			memcpy(all + v->nsess, s, n * sizeof(*s));
			v->sess = all;
			v->nsess += n;
		}
		free(s);
	}
	view_dataplane(&v->dp);
	return 0;
}

/* ---- the control protocol's replies ---- */

static const char *const loop_names[] = {
#define DSSHD_X(n, h) #n,
	DSSHD_LOOP_COUNTERS(DSSHD_X)
#undef DSSHD_X
};
static const char *const loop_help[] = {
#define DSSHD_X(n, h) h,
	DSSHD_LOOP_COUNTERS(DSSHD_X)
#undef DSSHD_X
};

static void
put_loop(struct dssh_buf *b, const char *type, int index, const struct dsshd_ctl_loop *l)
{
	dssh_ctl_begin(b);
	dssh_ctl_put_str(b, "type", type);
	if (index >= 0)
		dssh_ctl_put_u64(b, "loop", (uint64_t)index);
	for (int k = 0; k < DSSHD_LC_N; k++)
		dssh_ctl_put_u64(b, loop_names[k], l->v[k]);
	dssh_ctl_put_u64(b, "active", l->active);
	dssh_ctl_put_u64(b, "authenticated", l->authenticated);
	dssh_ctl_end(b);
}

static void
reply_stats(struct dssh_buf *b, const struct view *v)
{
	const struct dp_view *dp = &v->dp;

	for (unsigned i = 0; i < v->nloops; i++)
		put_loop(b, "loop", (int)i, &v->loops[i]);
	put_loop(b, "total", -1, &v->total);
	for (int c = 0; c < dp->ncores; c++) {
		dssh_ctl_begin(b);
		dssh_ctl_put_str(b, "type", "core");
		dssh_ctl_put_u64(b, "core", (uint64_t)c);
		for (unsigned k = 0; k < dp->nnames; k++)
			dssh_ctl_put_u64(b, dp->names[k], dp->v[c][k]);
		dssh_ctl_end(b);
	}
	if (dp->ncores > 0) {
		dssh_ctl_begin(b);
		dssh_ctl_put_str(b, "type", "dataplane");
		for (unsigned k = 0; k < dp->ntot; k++)
			dssh_ctl_put_u64(b, dp->tot_names[k], dp->tot[k]);
		dssh_ctl_end(b);
	}
	dssh_ctl_begin(b);
	dssh_ctl_put_str(b, "type", "limits");
	dssh_ctl_put_u64(b, "startups", dsshd_limits_startups());
	for (int k = 0; k < DSSHD_LIM_NCOUNTERS; k++)
		dssh_ctl_put_u64(b, dsshd_limits_counter_name(k), dsshd_limits_counter(k));
	dssh_ctl_end(b);
}

static void
reply_sessions(struct dssh_buf *b, const struct view *v)
{
	for (size_t i = 0; i < v->nsess; i++) {
		const struct dsshd_ctl_sess *s = &v->sess[i];

		dssh_ctl_begin(b);
		dssh_ctl_put_u64(b, "id", s->id);
		dssh_ctl_put_str(b, "user", s->user);
		dssh_ctl_put_str(b, "addr", s->peer_ip);
		dssh_ctl_put_u64(b, "port", (uint64_t)s->peer_port);
		dssh_ctl_put_bool(b, "authenticated", s->authenticated);
		dssh_ctl_put_u64(b, "channels", s->channels);
		dssh_ctl_put_u64(b, "bytes_in", s->bytes_in);
		dssh_ctl_put_u64(b, "bytes_out", s->bytes_out);
		dssh_ctl_put_str(b, "cipher", s->cipher);
		dssh_ctl_put_u64(b, "loop", s->loop);
		dssh_ctl_put_str(b, "transport", s->dataplane ? "dpdk" : "kernel");
		if (s->dataplane)
			dssh_ctl_put_u64(b, "core", s->core);
		dssh_ctl_put_u64(b, "age", s->age_s);
		dssh_ctl_end(b);
	}
}

static void
reply_end(struct dssh_buf *b, const char *error)
{
	dssh_ctl_begin(b);
	dssh_ctl_put_bool(b, "end", true);
	if (error != NULL)
		dssh_ctl_put_str(b, "error", error);
	dssh_ctl_end(b);
}

static void
ctl_request(struct ctl_client *cl, const char *line, size_t len)
{
	static struct dssh_ctl_obj req;
	static struct view v;
	const char *cmd, *err = NULL;
	uint64_t id;
	int r;

	if ((r = dssh_ctl_parse(line, len, &req)) != 0 || (cmd = dssh_ctl_get(&req, "cmd")) == NULL) {
		reply_end(&cl->out, "bad request");
		return;
	}
	if (strcmp(cmd, "stats") == 0 || strcmp(cmd, "sessions") == 0) {
		bool sess = strcmp(cmd, "sessions") == 0;

		if (view_collect(&v, sess) != 0) {
			err = "out of memory";
		} else {
			if (sess)
				reply_sessions(&cl->out, &v);
			else
				reply_stats(&cl->out, &v);
			free(v.sess);
		}
	} else if (strcmp(cmd, "kill") == 0) {
		if (dssh_ctl_get_u64(&req, "id", &id) != 0)
			err = "kill needs a numeric id";
		else if (ctl.ops.kill(ctl.ops.arg, id) != 0)
			err = "no such session";
	} else {
		err = "unknown command";
	}
	reply_end(&cl->out, err);
}

/* ---- Prometheus text exposition, format 0.0.4 ---- */

static void
prom_family(struct dssh_buf *b, const char *name, const char *help, bool gauge)
{
	dssh_buf_putf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    gauge ? "gauge" : "counter");
}

static void
prom_metrics(struct dssh_buf *b, const struct view *v)
{
	const struct dp_view *dp = &v->dp;
	char name[128];

	for (int k = 0; k < DSSHD_LC_N; k++) {
		snprintf(name, sizeof(name), "dssh_%s_total", loop_names[k]);
		prom_family(b, name, loop_help[k], false);
		for (unsigned i = 0; i < v->nloops; i++)
			dssh_buf_putf(b, "%s{loop=\"%u\"} %llu\n", name, i,
			    (unsigned long long)v->loops[i].v[k]);
	}
	prom_family(b, "dssh_connections_active", "connections open now", true);
	for (unsigned i = 0; i < v->nloops; i++)
		dssh_buf_putf(b, "dssh_connections_active{loop=\"%u\"} %llu\n", i,
		    (unsigned long long)v->loops[i].active);
	prom_family(b, "dssh_connections_authenticated", "authenticated connections open now", true);
	for (unsigned i = 0; i < v->nloops; i++)
		dssh_buf_putf(b, "dssh_connections_authenticated{loop=\"%u\"} %llu\n", i,
		    (unsigned long long)v->loops[i].authenticated);
	prom_family(b, "dssh_unauthenticated_connections",
	    "connections not yet authenticated (MaxStartups counts them)", true);
	dssh_buf_putf(b, "dssh_unauthenticated_connections %u\n", dsshd_limits_startups());
	for (int k = 0; k < DSSHD_LIM_NCOUNTERS; k++) {
		snprintf(name, sizeof(name), "dssh_limits_%s_total", dsshd_limits_counter_name(k));
		prom_family(b, name, "pre-authentication limits (see dsshd_config(5))", false);
		dssh_buf_putf(b, "%s %llu\n", name, (unsigned long long)dsshd_limits_counter(k));
	}
	for (unsigned k = 0; k < dp->nnames && dp->ncores > 0; k++) {
		snprintf(name, sizeof(name), "dssh_dataplane_%s%s", dp->names[k],
		    dp->gauge[k] ? "" : "_total");
		prom_family(b, name, "DPDK data plane, per data core (DPDK telemetry /dssh/stats)",
		    dp->gauge[k]);
		for (int c = 0; c < dp->ncores; c++)
			dssh_buf_putf(b, "%s{core=\"%d\"} %llu\n", name, c,
			    (unsigned long long)dp->v[c][k]);
	}
	for (unsigned k = 0; k < dp->ntot && dp->ncores > 0; k++) {
		if (!dp->tot_gauge[k] || strstr(dp->tot_names[k], "mbuf") == NULL)
			continue;   /* the per-core ones are above */
		snprintf(name, sizeof(name), "dssh_dataplane_%s", dp->tot_names[k]);
		prom_family(b, name, "DPDK data plane, packet buffers out of the pool", true);
		dssh_buf_putf(b, "%s %llu\n", name, (unsigned long long)dp->tot[k]);
	}
}

static void
http_reply(struct ctl_client *cl, int minor, const char *status, const char *type,
    const struct dssh_buf *body, bool head)
{
	size_t n = body != NULL ? dssh_buf_len(body) : 0;

	dssh_buf_putf(&cl->out, "HTTP/1.%d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", minor, status, type, n);
	if (n > 0 && !head)
		dssh_buf_put(&cl->out, dssh_buf_ptr(body), n);
}

static void
http_request(struct ctl_client *cl, const struct dssh_http_req *req)
{
	static struct view v;
	struct dssh_buf body;
	bool head = strcmp(req->method, "HEAD") == 0;

	dssh_buf_init(&body, CTL_REPLY_MAX);
	if (strcmp(req->method, "GET") != 0 && !head) {
		dssh_buf_putf(&body, "method not allowed\n");
		http_reply(cl, req->minor, "405 Method Not Allowed", "text/plain", &body, false);
	} else if (strcmp(req->path, "/metrics") != 0) {
		dssh_buf_putf(&body, "not found\n");
		http_reply(cl, req->minor, "404 Not Found", "text/plain", &body, head);
	} else if (view_collect(&v, false) != 0) {
		http_reply(cl, req->minor, "500 Internal Server Error", "text/plain", NULL, head);
	} else {
		prom_metrics(&body, &v);
		http_reply(cl, req->minor, "200 OK", "text/plain; version=0.0.4; charset=utf-8",
		    &body, head);
	}
	dssh_buf_free(&body);
}

/* ---- reading requests ---- */

/* A whole request answers; false while it is incomplete. */
static bool
client_read_done(struct ctl_client *cl)
{
	if (cl->http) {
		struct dssh_http_req req;
		int r = dssh_http_parse_request(cl->in, cl->inlen, &req);

		if (r == DSSH_ERR_AGAIN)
			return false;
		if (r != 0) {
			client_free(cl);    /* not HTTP, or too big: closed */
			return true;
		}
		http_request(cl, &req);
	} else {
		uint8_t *nl = memchr(cl->in, '\n', cl->inlen);

		if (nl == NULL && cl->inlen <= DSSH_CTL_LINE_MAX)
			return false;
		if (nl == NULL)
			reply_end(&cl->out, "request too long");
		else
			ctl_request(cl, (const char *)cl->in, (size_t)(nl - cl->in));
	}
	cl->replying = true;
	client_flush(cl);
	return true;
}

static void
client_cb(struct dssh_evsource *src, uint32_t ev)
{
	struct ctl_client *cl = (struct ctl_client *)((char *)src - offsetof(struct ctl_client, src));

	if (cl->draining) {
		client_drain(cl);
		return;
	}
	if (cl->replying) {
		client_flush(cl);
		return;
	}
	(void)ev;
	bool eof = false;

	for (;;) {
		size_t room = sizeof(cl->in) - cl->inlen;
		ssize_t n;

		if (!cl->http)
			room = DSSH_MIN(room, DSSH_CTL_LINE_MAX + 1 - cl->inlen);
		if (room == 0)
			break;
		n = recv(src->fd, cl->in + cl->inlen, room, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			eof = true;         /* a request may still be whole (half close) */
			break;
		}
		cl->inlen += (size_t)n;
	}
	if (!client_read_done(cl) && eof)
		client_free(cl);    /* gone before a whole request */
}

/* A new client; refused: it gets only the error reply. */
static void
client_add(int fd, bool http, bool refused)
{
	struct ctl_client *cl;

	if (ctl.nclients[http] >= CTL_MAX_CLIENTS || (cl = calloc(1, sizeof(*cl))) == NULL) {
		close(fd);
		return;
	}
	cl->http = http;
	cl->start_ms = dssh_now_ms();
	dssh_buf_init(&cl->out, CTL_REPLY_MAX);
	cl->src = (struct dssh_evsource){ .fd = fd, .cb = client_cb };
	cl->next = ctl.clients;
	ctl.clients = cl;
	ctl.nclients[http]++;
	if (dssh_evloop_set(ctl.loop, &cl->src, EPOLLIN) != 0) {
		client_free(cl);
		return;
	}
	if (refused) {
		reply_end(&cl->out, "permission denied");
		cl->replying = true;
		client_flush(cl);
	}
}

/* Only root may use the control socket (the file is 0600 too). */
static bool
peer_is_root(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || len != sizeof(cr))
		return false;
	if (cr.uid == 0)
		return true;
	dssh_info("control socket: refused peer uid %u pid %d", (unsigned)cr.uid, (int)cr.pid);
	return false;
}

static void
accept_cb(struct dssh_evsource *src, uint32_t ev)
{
	bool http = src == &ctl.http_src;
	int fd;

	(void)ev;
	while ((fd = accept4(src->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		client_add(fd, http, !http && !peer_is_root(fd));
}

int
dsshd_ctl_attach(struct dssh_evloop *loop, const struct dsshd_ctl_ops *ops)
{
	int r;

	ctl.loop = loop;
	ctl.ops = *ops;
	ctl.unix_src.cb = accept_cb;
	ctl.http_src.cb = accept_cb;
	if (ctl.unix_src.fd >= 0 && (r = dssh_evloop_set(loop, &ctl.unix_src, EPOLLIN)) != 0)
		return r;
	if (ctl.http_src.fd >= 0 && (r = dssh_evloop_set(loop, &ctl.http_src, EPOLLIN)) != 0)
		return r;
	return 0;
}

void
dsshd_ctl_tick(void)
{
	uint64_t now = dssh_now_ms();

	for (struct ctl_client *cl = ctl.clients, *next; cl != NULL; cl = next) {
		next = cl->next;
		if (now - cl->start_ms > CTL_CLIENT_TIMEOUT_MS)
			client_free(cl);
	}
}

void
dsshd_ctl_close(void)
{
	while (ctl.clients != NULL)
		client_free(ctl.clients);
	if (ctl.unix_src.fd >= 0) {
		if (ctl.loop != NULL)
			dssh_evloop_del(ctl.loop, &ctl.unix_src);
		close(ctl.unix_src.fd);
		ctl.unix_src.fd = -1;
	}
	if (ctl.http_src.fd >= 0) {
		if (ctl.loop != NULL)
			dssh_evloop_del(ctl.loop, &ctl.http_src);
		close(ctl.http_src.fd);
		ctl.http_src.fd = -1;
	}
	if (ctl.path != NULL) {
		(void)unlink(ctl.path);
		free(ctl.path);
		ctl.path = NULL;
	}
	ctl.loop = NULL;
}

const char *
dsshd_ctl_path(void)
{
	return ctl.unix_src.fd >= 0 ? ctl.path : NULL;
}
