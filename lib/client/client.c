/* SPDX-License-Identifier: BSD-3-Clause */
/* An SSH client connection: see dssh_client.h. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client_int.h"
#include "dssh_buf.h"
#include "dssh_client.h"
#include "dssh_crypto.h"
#include "dssh_err.h"
#include "dssh_kex.h"
#include "dssh_known_hosts.h"
#include "dssh_log.h"
#include "dssh_sshkey.h"
#include "dssh_stream.h"
#include "dssh_util.h"

#define RBUF_SIZE (256u * 1024)

/* ---- the transport: a kernel TCP socket as a dssh_stream ---- */

struct sock_stream {
	struct dssh_stream s;
	int fd;
	uint8_t *rbuf;
	size_t roff, rlen;
	bool eof, dead;
};

static size_t
ss_peek(struct dssh_stream *st, const uint8_t **p)
{
	struct sock_stream *s = (struct sock_stream *)st;
	ssize_t n;

	if (s->rlen == 0 && !s->eof && !s->dead) {
		s->roff = 0;
		n = read(s->fd, s->rbuf, RBUF_SIZE);
		if (n > 0)
			s->rlen = (size_t)n;
		else if (n == 0)
			s->eof = true;
		else if (errno != EAGAIN && errno != EINTR)
			s->dead = s->eof = true;
	}
	*p = s->rbuf + s->roff;
	return s->rlen;
}

static void
ss_consume(struct dssh_stream *st, size_t n)
{
	struct sock_stream *s = (struct sock_stream *)st;

	s->roff += n;
	s->rlen -= n;
}

static ssize_t
ss_write(struct dssh_stream *st, const void *p, size_t n)
{
	struct sock_stream *s = (struct sock_stream *)st;
	ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);

	if (w >= 0)
		return w;
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	s->dead = true;
	return -1;
}

static bool
ss_eof(struct dssh_stream *st)
{
	struct sock_stream *s = (struct sock_stream *)st;

	return s->eof && s->rlen == 0;
}

static void
ss_want(struct dssh_stream *st, bool r, bool w)
{
	(void)st;
	(void)r;
	(void)w;
}

static void
ss_close(struct dssh_stream *st)
{
	struct sock_stream *s = (struct sock_stream *)st;

	close(s->fd);
	free(s->rbuf);
	free(s);
}

static const struct dssh_stream_ops sock_ops = {
	.peek = ss_peek, .consume = ss_consume, .write = ss_write, .eof = ss_eof,
	.want = ss_want, .close = ss_close,
};

static int
tcp_connect(const char *host, int port, unsigned timeout_s, int *fdp)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char ps[16];
	int fd = -1, e, one = 1;

	snprintf(ps, sizeof(ps), "%d", port);
	if ((e = getaddrinfo(host, ps, &hints, &res)) != 0) {
		fprintf(stderr, "dssh: Could not resolve hostname %s: %s\r\n", host, gai_strerror(e));
		return DSSH_ERR_NOT_FOUND;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0)) < 0)
			continue;
		if (timeout_s > 0) {
			struct timeval tv = { .tv_sec = timeout_s };

			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "dssh: connect to host %s port %d: %s\r\n", host, port,
		    strerror(errno));
		return DSSH_ERR_SYSTEM;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	*fdp = fd;
	return 0;
}

/* ---- the client ---- */

struct dssh_client {
	struct dssh_client_opts o;
	struct dssh_ssh_conf conf;
	struct dssh_conn *c;
	struct dssh_stream *st;       /* the transport's stream */
	struct sock_stream *ss;       /* the same, when it is a kernel socket; else NULL */
	const struct dssh_client_transport *tr;   /* NULL: kernel socket */
	char user[256], kh_path[1024];
	const char *agent;            /* the agent's socket, NULL none */
	struct dssh_sshkey *ids[DSSH_CLIENT_MAX_IDS];
	unsigned n_ids, next_id;
	bool tried_password;
	char *password;
	const struct dssh_client_chan_ops *cops;
	void *carg;
	/* the blocking waits */
	bool open_answered, open_ok, req_answered, req_ok;
	bool hostkey_refused;
};

void
dssh_client_opts_init(struct dssh_client_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->port = 22;
	o->password_auth = true;
	o->pubkey_auth = true;
}

static const char *
home(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && h[0] != '\0')
		return h;
	pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_dir : "/";
}

/* Read on every I/O call (busy-polled with a DPDK transport): the coarse
 * clock is enough for the engine's millisecond timers and costs no
 * clock-source read. */
static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- host key ---- */

static const char *
key_label(const struct dssh_sshkey *k)
{
	switch (dssh_sshkey_type(k)) {
	case DSSH_SSHKEY_ED25519:
		return "ED25519";
	case DSSH_SSHKEY_RSA:
		return "RSA";
	default:
		return "ECDSA";
	}
}

static void
warn_changed(struct dssh_client *cl, const char *label, const char *fp, unsigned line)
{
	char name[1100];

	dssh_known_hosts_name(cl->o.host, cl->o.port, name, sizeof(name));
	fprintf(stderr,
	    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
	    "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n"
	    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
	    "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\r\n"
	    "Someone could be eavesdropping on you right now (man-in-the-middle attack)!\r\n"
	    "It is also possible that a host key has just been changed.\r\n"
	    "The fingerprint for the %s key sent by the remote host is\r\n%s.\r\n"
	    "Please contact your system administrator.\r\n"
	    "Add correct host key in %s to get rid of this message.\r\n"
	    "Offending %s key in %s:%u\r\n"
	    "Host key for %s has changed and you have requested strict checking.\r\n"
	    "Host key verification failed.\r\n",
	    label, fp, cl->kh_path, label, cl->kh_path, line, name);
}

/* StrictHostKeyChecking=ask: yes, no or the fingerprint on the terminal. */
static bool
ask_new(struct dssh_client *cl, const char *label, const char *fp)
{
	char name[1100], ans[128];
	FILE *tty;
	bool yes = false;

	if (cl->o.batch || (tty = fopen("/dev/tty", "r+")) == NULL)
		return false;
	dssh_known_hosts_name(cl->o.host, cl->o.port, name, sizeof(name));
	fprintf(tty, "The authenticity of host '%s' can't be established.\r\n"
	    "%s key fingerprint is %s.\r\n"
	    "Are you sure you want to continue connecting (yes/no/[fingerprint])? ",
	    name, label, fp);
	fflush(tty);
	if (fgets(ans, sizeof(ans), tty) != NULL) {
		ans[strcspn(ans, "\r\n")] = '\0';
		yes = strcmp(ans, "yes") == 0 || strcmp(ans, fp) == 0;
	}
	fclose(tty);
	return yes;
}

static int
cb_verify_hostkey(void *arg, const char *alg, const uint8_t *blob, size_t len)
{
	struct dssh_client *cl = arg;
	struct dssh_sshkey *k = NULL;
	struct dssh_kh_result res;
	char fp[DSSH_SSHKEY_FP_LEN], name[1100];
	const char *label;
	int r;

	(void)alg;
	if ((r = dssh_sshkey_from_blob(blob, len, &k)) != 0 ||
	    (r = dssh_sshkey_fingerprint(k, fp, sizeof(fp))) != 0)
		goto refuse;
	label = key_label(k);
	if ((r = dssh_known_hosts_check_file(cl->kh_path, cl->o.host, cl->o.port, blob, len,
	    &res)) != 0) {
		fprintf(stderr, "dssh: %s: %s\r\n", cl->kh_path, dssh_err_str(r));
		goto refuse;
	}
	dssh_known_hosts_name(cl->o.host, cl->o.port, name, sizeof(name));
	switch (res.status) {
	case DSSH_KH_OK:
		dssh_verbose("Host '%s' is known and matches the %s host key (%s:%u).", name,
		    label, cl->kh_path, res.line);
		dssh_sshkey_free(k);
		return 0;
	case DSSH_KH_REVOKED:
		fprintf(stderr, "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
		    "@       WARNING: REVOKED HOST KEY DETECTED!               @\r\n"
		    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
		    "The %s host key for %s is marked as revoked.\r\n"
		    "This could mean that a stolen key is being used to\r\n"
		    "impersonate this host.\r\nHost key verification failed.\r\n", label, name);
		goto refuse;
	case DSSH_KH_CHANGED:
		warn_changed(cl, label, fp, res.line);
		goto refuse;
	case DSSH_KH_NEW:
		break;
	}
	if (cl->o.strict == DSSH_STRICT_YES ||
	    (cl->o.strict == DSSH_STRICT_ASK && !ask_new(cl, label, fp))) {
		fprintf(stderr, "No %s host key is known for %s and you have requested strict "
		    "checking.\r\nHost key verification failed.\r\n", label, name);
		goto refuse;
	}
	if ((r = dssh_known_hosts_add(cl->kh_path, cl->o.host, cl->o.port, blob, len,
	    cl->o.hash_known_hosts)) != 0)
		fprintf(stderr, "dssh: could not add the host key to %s: %s\r\n", cl->kh_path,
		    dssh_err_str(r));
	else if (!cl->o.quiet)
		fprintf(stderr, "Warning: Permanently added '%s' (%s) to the list of known "
		    "hosts.\r\n", name, label);
	dssh_sshkey_free(k);
	return 0;
refuse:
	dssh_sshkey_free(k);
	cl->hostkey_refused = true;
	return DSSH_ERR_PERMISSION;
}

/* ---- authentication ---- */

static char *
get_password(struct dssh_client *cl)
{
	const char *env = getenv("DSSH_PASSWORD");
	char prompt[600];

	if (env != NULL)
		return strdup(env);
	/* as ssh: the terminal without echo, or SSH_ASKPASS (passphrase.c) */
	snprintf(prompt, sizeof(prompt), "%s@%s's password: ", cl->user, cl->o.host);
	return dssh_client_read_passphrase(prompt, cl->o.batch);
}

/* Is name one of the comma list's entries? */
static bool
has_word(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
		if ((p = strchr(p, ',')) != NULL)
			p++;
	}
	return false;
}

static int
cb_auth_next(void *arg, const char *methods, struct dssh_client_auth *a)
{
	struct dssh_client *cl = arg;

	if (cl->o.pubkey_auth && has_word(methods, "publickey") &&
	    cl->next_id < cl->n_ids) {
		a->method = DSSH_AUTH_PUBLICKEY;
		a->key = cl->ids[cl->next_id++];
		return 0;
	}
	if (cl->o.password_auth && has_word(methods, "password") &&
	    !cl->tried_password) {
		cl->tried_password = true;
		if ((cl->password = get_password(cl)) != NULL) {
			a->method = DSSH_AUTH_PASSWORD;
			a->password = cl->password;
			return 0;
		}
	}
	fprintf(stderr, "%s@%s: Permission denied (%s).\r\n", cl->user, cl->o.host, methods);
	return DSSH_ERR_PERMISSION;
}

static void
cb_auth_banner(void *arg, const char *msg)
{
	struct dssh_client *cl = arg;

	if (!cl->o.quiet)
		fputs(msg, stderr);
}

static void
cb_auth_success(void *arg, const char *user, enum dssh_auth_method m)
{
	struct dssh_client *cl = arg;

	(void)user;
	dssh_verbose("Authenticated to %s using \"%s\".", cl->o.host,
	    m == DSSH_AUTH_PUBLICKEY ? "publickey" : "password");
	if (cl->password != NULL) {
		dssh_free_secret_str(cl->password);
		cl->password = NULL;
	}
}

/* The agent at IdentityAgent or SSH_AUTH_SOCK, and the keys it holds. */
static void
list_agent_keys(struct dssh_client *cl, struct dssh_sshkey **keys, unsigned *n)
{
	*n = 0;
	cl->agent = cl->o.identity_agent != NULL ? cl->o.identity_agent : getenv("SSH_AUTH_SOCK");
	if (cl->agent != NULL && (cl->agent[0] == '\0' || strcmp(cl->agent, "none") == 0))
		cl->agent = NULL;
	if (cl->agent != NULL &&
	    dssh_client_agent_keys(cl->agent, keys, DSSH_CLIENT_MAX_IDS, n) != 0)
		*n = 0;
}

/* The agent's keys after the files' (those already loaded from a file skipped). */
static void
add_agent_keys(struct dssh_client *cl, struct dssh_sshkey **keys, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		bool dup = cl->n_ids >= DSSH_CLIENT_MAX_IDS;

		for (unsigned k = 0; k < cl->n_ids && !dup; k++)
			dup = dssh_sshkey_equal_public(cl->ids[k], keys[i]) == 1;
		if (dup)
			dssh_sshkey_free(keys[i]);
		else
			cl->ids[cl->n_ids++] = keys[i];
	}
	if (cl->agent != NULL)
		dssh_verbose("%u key%s from the agent", n, n == 1 ? "" : "s");
}

static int
cb_auth_sign(void *arg, const struct dssh_sshkey *key, const char *alg, const uint8_t *data,
    size_t len, struct dssh_buf *sig)
{
	struct dssh_client *cl = arg;

	if (cl->agent == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	return dssh_client_agent_sign(cl->agent, key, alg, data, len, sig);
}

static void
load_identities(struct dssh_client *cl)
{
	static const char *const defaults[] = { "id_ed25519", "id_ecdsa", "id_rsa" };
	struct dssh_sshkey *akeys[DSSH_CLIENT_MAX_IDS];
	unsigned na = 0;
	char path[1024];

	/* First the agent's list: an encrypted file whose key it holds is not asked for. */
	list_agent_keys(cl, akeys, &na);
	for (unsigned i = 0; i < cl->o.n_identities && cl->n_ids < DSSH_CLIENT_MAX_IDS; i++) {
		int r = dssh_client_load_key(cl->o.identities[i], cl->o.batch, akeys, na,
		    &cl->ids[cl->n_ids]);

		if (r == 0)
			cl->n_ids++;
		else if (r != DSSH_ERR_KEY_ENCRYPTED)   /* that one was said already */
			fprintf(stderr, "Load key \"%s\": %s\r\n", cl->o.identities[i],
			    r == DSSH_ERR_KEY_BAD_PERMISSIONS ? "bad permissions" : dssh_err_str(r));
	}
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(defaults) && cl->o.n_identities == 0; i++) {
		snprintf(path, sizeof(path), "%s/.ssh/%s", home(), defaults[i]);
		if (access(path, R_OK) == 0 &&
		    dssh_client_load_key(path, cl->o.batch, akeys, na, &cl->ids[cl->n_ids]) == 0)
			cl->n_ids++;
	}
	add_agent_keys(cl, akeys, na);
}

/* ---- engine callbacks: channels ---- */

static void
cb_data(void *arg, uint32_t chan, const uint8_t *p, size_t n)
{
	struct dssh_client *cl = arg;

	if (cl->cops != NULL && cl->cops->data != NULL)
		cl->cops->data(cl->carg, chan, p, n, false);
	else
		dssh_chan_consumed(cl->c, chan, n);
}

static void
cb_ext(void *arg, uint32_t chan, const uint8_t *p, size_t n)
{
	struct dssh_client *cl = arg;

	if (cl->cops != NULL && cl->cops->data != NULL)
		cl->cops->data(cl->carg, chan, p, n, true);
	else
		dssh_chan_consumed(cl->c, chan, n);
}

static void
cb_eof(void *arg, uint32_t chan)
{
	struct dssh_client *cl = arg;

	if (cl->cops != NULL && cl->cops->eof != NULL)
		cl->cops->eof(cl->carg, chan);
}

static void
cb_closed(void *arg, uint32_t chan)
{
	struct dssh_client *cl = arg;

	if (cl->cops != NULL && cl->cops->closed != NULL)
		cl->cops->closed(cl->carg, chan);
	else
		dssh_chan_close(cl->c, chan);
}

static void
cb_exit(void *arg, uint32_t chan, int status, const char *sig)
{
	struct dssh_client *cl = arg;

	if (cl->cops != NULL && cl->cops->exit != NULL)
		cl->cops->exit(cl->carg, chan, status, sig);
}

static void
cb_writable(void *arg, uint32_t chan)
{
	struct dssh_client *cl = arg;

	if (cl->cops != NULL && cl->cops->writable != NULL)
		cl->cops->writable(cl->carg, chan);
}

static void
cb_open_result(void *arg, uint32_t chan, uint32_t reason)
{
	struct dssh_client *cl = arg;

	(void)chan;
	cl->open_answered = true;
	cl->open_ok = reason == 0;
}

static void
cb_request_result(void *arg, uint32_t chan, bool ok)
{
	struct dssh_client *cl = arg;

	(void)chan;
	cl->req_answered = true;
	cl->req_ok = ok;
}

static const struct dssh_conn_host_ops client_host_ops = {
	.auth_success = cb_auth_success,
	.channel_data = cb_data,
	.channel_eof = cb_eof,
	.channel_closed = cb_closed,
	.channel_writable = cb_writable,
	.channel_open_result = cb_open_result,
	.verify_hostkey = cb_verify_hostkey,
	.auth_next = cb_auth_next,
	.auth_banner = cb_auth_banner,
	.auth_sign = cb_auth_sign,
	.channel_ext_data = cb_ext,
	.channel_request_result = cb_request_result,
	.channel_exit = cb_exit,
};

/* ---- I/O ---- */

static int
flush_out(struct dssh_client *cl)
{
	const uint8_t *p;
	size_t n;
	ssize_t w;

	for (;;) {
		dssh_conn_output(cl->c, &p, &n);
		if (n == 0)
			return 0;
		if ((w = dssh_stream_write(cl->st, p, n)) < 0)
			return DSSH_ERR_CONN_CLOSED;
		if (w == 0)
			return 0;
		dssh_conn_output_consume(cl->c, (size_t)w);
	}
}

int
dssh_client_fd(const struct dssh_client *cl)
{
	return cl->ss != NULL ? cl->ss->fd : -1;
}

bool
dssh_client_want_write(const struct dssh_client *cl)
{
	return dssh_conn_output_pending(cl->c) > 0;
}

int
dssh_client_io(struct dssh_client *cl, short revents)
{
	int r = 0;

	if (cl->tr != NULL) {
		/* No descriptor to poll: drive the transport once, then look. */
		if ((r = cl->tr->poll(cl->tr->arg, cl->st, 0)) != 0)
			return r;
		revents = POLLIN | POLLOUT;
	}
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && !dssh_conn_input_paused(cl->c)) {
		const uint8_t *p;
		size_t n = dssh_stream_peek(cl->st, &p);

		if (n > 0) {
			r = dssh_conn_input(cl->c, p, n, now_ms());
			dssh_stream_consume(cl->st, n);
		} else if (dssh_stream_eof(cl->st)) {
			r = DSSH_ERR_CONN_CLOSED;
		}
	}
	if (r == 0 && dssh_conn_input_paused(cl->c))
		r = dssh_conn_resume(cl->c, now_ms());
	int f = flush_out(cl);

	if (r == 0 && dssh_conn_closing(cl->c))
		r = DSSH_ERR_CONN_CLOSED;
	return r != 0 ? r : f;
}

int
dssh_client_wait(struct dssh_client *cl, int timeout_ms)
{
	struct pollfd pfd = { .fd = dssh_client_fd(cl), .events = POLLIN };
	int n;

	if (cl->tr != NULL) {
		/*
		 * What the engine queued goes to the stream first: the poll
		 * below waits for news, and the news is usually the answer
		 * to it (a channel open, an exec request waited out the
		 * whole timeout each before they left).
		 */
		if ((n = flush_out(cl)) != 0)
			return n;
		/* Busy-polls until the stream has news (or the time is up). */
		if ((n = cl->tr->poll(cl->tr->arg, cl->st, timeout_ms)) != 0)
			return n;
		dssh_conn_tick(cl->c, now_ms());
		return dssh_client_io(cl, POLLIN | POLLOUT);
	}
	if (dssh_client_want_write(cl))
		pfd.events |= POLLOUT;
	n = poll(&pfd, 1, timeout_ms);
	if (n < 0 && errno != EINTR)
		return DSSH_ERR_SYSTEM;
	dssh_conn_tick(cl->c, now_ms());
	return dssh_client_io(cl, n > 0 ? pfd.revents : 0);
}

size_t
dssh_client_send(struct dssh_client *cl, uint32_t chan, const uint8_t *p, size_t n)
{
	return dssh_chan_send(cl->c, chan, p, n, false);
}

void
dssh_client_consumed(struct dssh_client *cl, uint32_t chan, size_t n)
{
	dssh_chan_consumed(cl->c, chan, n);
}

struct dssh_conn *
dssh_client_conn(struct dssh_client *cl)
{
	return cl->c;
}

void
dssh_client_set_chan_ops(struct dssh_client *cl, const struct dssh_client_chan_ops *ops,
    void *arg)
{
	cl->cops = ops;
	cl->carg = arg;
}

/* Run the connection until done() or the end; 0 or the error. */
static int
wait_for(struct dssh_client *cl, bool (*done)(struct dssh_client *))
{
	int r;

	while (!done(cl))
		if ((r = dssh_client_wait(cl, 1000)) != 0)
			return r;
	return 0;
}

static bool
authed(struct dssh_client *cl)
{
	return dssh_conn_authenticated(cl->c);
}

static bool
open_answered(struct dssh_client *cl)
{
	return cl->open_answered;
}

static bool
req_answered(struct dssh_client *cl)
{
	return cl->req_answered;
}

/* The byte stream to the server: a kernel socket, or the opts' transport. */
static int
open_transport(struct dssh_client *cl)
{
	int fd, r;

	if ((cl->tr = cl->o.transport) != NULL)
		return cl->tr->connect(cl->tr->arg, cl->o.host, cl->o.port, cl->o.connect_timeout,
		    &cl->st);
	if ((r = tcp_connect(cl->o.host, cl->o.port, cl->o.connect_timeout, &fd)) != 0)
		return r;
	if ((cl->ss = calloc(1, sizeof(*cl->ss))) == NULL ||
	    (cl->ss->rbuf = malloc(RBUF_SIZE)) == NULL) {
		if (cl->ss != NULL)
			free(cl->ss);
		cl->ss = NULL;
		close(fd);
		return DSSH_ERR_ALLOC;
	}
	cl->ss->s.ops = &sock_ops;
	cl->ss->fd = fd;
	cl->st = &cl->ss->s;
	return 0;
}

int
dssh_client_connect(const struct dssh_client_opts *o, struct dssh_client **out)
{
	struct dssh_client *cl;
	const char *u;
	int r;

	*out = NULL;
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return DSSH_ERR_ALLOC;
	cl->o = *o;
	if (cl->o.port <= 0)
		cl->o.port = 22;
	u = o->user != NULL ? o->user : getenv("USER");
	if (u == NULL) {
		struct passwd *pw = getpwuid(getuid());

		u = pw != NULL ? pw->pw_name : "root";
	}
	snprintf(cl->user, sizeof(cl->user), "%s", u);
	if (o->known_hosts != NULL)
		snprintf(cl->kh_path, sizeof(cl->kh_path), "%s", o->known_hosts);
	else
		snprintf(cl->kh_path, sizeof(cl->kh_path), "%s/.ssh/known_hosts", home());
	cl->conf = (struct dssh_ssh_conf){
		.role = DSSH_ROLE_CLIENT,
		.kex_algs = o->kex != NULL ? o->kex : dssh_kex_alg_default_names(),
		.cipher_algs = o->ciphers != NULL ? o->ciphers : dssh_cipher_names(),
		.mac_algs = o->macs != NULL ? o->macs : dssh_mac_names(),
		.hostkey_algs = o->hostkey_algs,
		.user = cl->user,
		.version_comment = "dssh",
		.engine = o->engine,
	};
	load_identities(cl);
	if ((r = open_transport(cl)) != 0)
		goto fail;
	if ((r = dssh_conn_new(&cl->conf, &client_host_ops, cl, o->host, &cl->c)) != 0 ||
	    (r = dssh_conn_start(cl->c, now_ms())) != 0)
		goto fail;
	if ((r = wait_for(cl, authed)) != 0) {
		if (!cl->hostkey_refused && r != DSSH_ERR_PERMISSION)
			fprintf(stderr, "dssh: connection to %s port %d: %s\r\n", o->host,
			    cl->o.port, dssh_err_str(r));
		goto fail;
	}
	*out = cl;
	return 0;
fail:
	dssh_client_free(cl);
	return r;
}

int
dssh_client_session(struct dssh_client *cl, const struct dssh_session_req *req, uint32_t *chan)
{
	struct dssh_chan_open o = { .kind = DSSH_CHAN_SESSION };
	int r;

	cl->open_answered = cl->req_answered = false;
	if ((r = dssh_chan_open(cl->c, &o, chan)) != 0 || (r = wait_for(cl, open_answered)) != 0)
		return r;
	if (!cl->open_ok)
		return DSSH_ERR_PERMISSION;
	if ((r = dssh_chan_request(cl->c, *chan, req, true)) != 0 ||
	    (r = wait_for(cl, req_answered)) != 0)
		return r;
	return cl->req_ok ? 0 : DSSH_ERR_PERMISSION;
}

void
dssh_client_close(struct dssh_client *cl)
{
	if (cl == NULL || cl->c == NULL || cl->st == NULL)
		return;
	dssh_conn_disconnect(cl->c, 11 /* by application */, "disconnected by user");
	for (int i = 0; i < 100 && flush_out(cl) == 0 && dssh_client_want_write(cl); i++) {
		struct pollfd pfd = { .fd = dssh_client_fd(cl), .events = POLLOUT };

		if (cl->tr != NULL ? cl->tr->poll(cl->tr->arg, cl->st, 100) != 0 :
		    poll(&pfd, 1, 100) < 0)
			break;
	}
}

void
dssh_client_free(struct dssh_client *cl)
{
	if (cl == NULL)
		return;
	dssh_conn_free(cl->c);
	if (cl->st != NULL)
		dssh_stream_close(cl->st);
	for (unsigned i = 0; i < cl->n_ids; i++)
		dssh_sshkey_free(cl->ids[i]);
	if (cl->password != NULL)
		dssh_free_secret_str(cl->password);
	free(cl);
}

/* ---- any channel, any request (dssh-load: direct-tcpip, a PTY before exec) ---- */

int
dssh_client_open(struct dssh_client *cl, const struct dssh_chan_open *o, uint32_t *chan)
{
	int r;

	cl->open_answered = false;
	if ((r = dssh_chan_open(cl->c, o, chan)) != 0 || (r = wait_for(cl, open_answered)) != 0)
		return r;
	return cl->open_ok ? 0 : DSSH_ERR_PERMISSION;
}

int
dssh_client_request(struct dssh_client *cl, uint32_t chan, const struct dssh_session_req *req)
{
	int r;

	cl->req_answered = false;
	if ((r = dssh_chan_request(cl->c, chan, req, true)) != 0 ||
	    (r = wait_for(cl, req_answered)) != 0)
		return r;
	return cl->req_ok ? 0 : DSSH_ERR_PERMISSION;
}
