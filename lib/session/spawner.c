/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The spawner process and its client (dssh_spawner.h). The spawner is
 * single-threaded, so it may fork and let children run PAM before exec;
 * the client, in a threaded server, only ever fork+execs the spawner.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dssh_err.h"
#include "dssh_fdpass.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "session_int.h"
#include "spawner_int.h"

#define SPAWNER_ARG "--spawner"
#define SPAWNER_FD 3
/* Room for a whole message plus one byte, so that an oversized one shows. */
#define RECV_BUF (DSSH_SPAWNER_MSG_MAX + 1)
#define SOCK_BUF (2 * DSSH_SPAWNER_MSG_MAX)

/* ------------------------------------------------------------- transport */

/*
 * One message, with fds (nfds <= 3) attached. MSG_NOSIGNAL: a peer gone
 * is an EPIPE, not a death.
 */
static int
send_msg(int fd, const struct dssh_buf *b, const int *fds, size_t nfds)
{
	ssize_t n;

	if (nfds > DSSH_SEND_FDS_MAX)
		return DSSH_ERR_INVALID_ARGUMENT;
	do {
		n = dssh_send_fds(fd, dssh_buf_ptr(b), dssh_buf_len(b), fds, nfds, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EPIPE || errno == ECONNRESET ? DSSH_ERR_CONN_CLOSED : DSSH_ERR_SYSTEM;
	return (size_t)n == dssh_buf_len(b) ? 0 : DSSH_ERR_SYSTEM;
}

static void
close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fds[i] >= 0)
			(void)close(fds[i]);
		fds[i] = -1;
	}
}

/*
 * One message into buf (RECV_BUF bytes). Returns its length, 0 at EOF,
 * DSSH_ERR_AGAIN when none waits (flags MSG_DONTWAIT), DSSH_ERR_STRING_TOO_LARGE
 * for a message cut short, DSSH_ERR_SYSTEM. Received fds (close-on-exec)
 * go to fds[0..*nfds); any beyond max_fds are closed, as are all of them
 * for a message that is refused here.
 */
static ssize_t
recv_msg(int fd, uint8_t *buf, int flags, int *fds, size_t max_fds, size_t *nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(16 * sizeof(int))];
	} cm;
	struct iovec iov = { buf, RECV_BUF };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	int got[16];
	size_t ngot = 0;
	ssize_t n;

	*nfds = 0;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do {
		n = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? DSSH_ERR_AGAIN : DSSH_ERR_SYSTEM;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && ngot < DSSH_ARRAY_SIZE(got); i++)
			memcpy(&got[ngot++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	for (size_t i = 0; i < ngot; i++) {
		if (*nfds < max_fds && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
			fds[(*nfds)++] = got[i];
		else
			(void)close(got[i]);
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		close_fds(fds, *nfds);
		*nfds = 0;
		return DSSH_ERR_STRING_TOO_LARGE;
	}
	return n;
}

/* =============================================================== spawner */

static const struct dssh_spawner_monitor *sp_monitor;

void
dssh_spawner_set_monitor(const struct dssh_spawner_monitor *m)
{
	sp_monitor = m;
}

/*
 * Every fd >= 3 but keep[] closed, in as many close_range calls as there
 * are gaps between the kept ones: one close() per possible descriptor
 * (up to 65536) used to be most of a PAM child's or a login's CPU.
 */
void
dssh_spawner_child_fds(const int *keep, size_t nkeep)
{
	unsigned int lo = 3;

	for (;;) {
		unsigned int next = ~0U;

		/* The lowest kept fd at or above lo. */
		for (size_t i = 0; i < nkeep; i++)
			if (keep[i] >= 0 && (unsigned int)keep[i] >= lo && (unsigned int)keep[i] < next)
				next = (unsigned int)keep[i];
		if (next == ~0U) {
			session_close_from((int)lo);
			return;
		}
		if (next > lo)
			session_close_span(lo, next - 1);
		lo = next + 1;
	}
}

struct sp_sess {
	uint64_t id;
	struct dssh_session_child child;   /* only status_fd still open */
	struct sp_sess *next;
};

struct sp_state {
	int fd;
	const struct dssh_spawner_internal *table;
	struct sp_sess *sessions;
	uint8_t *buf;
};

static struct sp_sess *
sp_find(struct sp_state *st, uint64_t id)
{
	for (struct sp_sess *s = st->sessions; s != NULL; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static dssh_session_internal_fn
sp_internal(const struct sp_state *st, const char *name)
{
	for (const struct dssh_spawner_internal *t = st->table; t != NULL && t->name != NULL; t++)
		if (strcmp(t->name, name) == 0)
			return t->run;
	return NULL;
}

static void
sp_reply(struct sp_state *st, const struct spawner_reply *rep, const int *fds, size_t nfds)
{
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = spawner_encode_reply(&b, rep)) == 0)
		r = send_msg(st->fd, &b, fds, nfds);
	if (r != 0)
		dssh_error("spawner: cannot answer spawn %llu: %s",
		    (unsigned long long)rep->id, dssh_err_str(r));
	dssh_buf_free(&b);
}

static void
sp_refuse(struct sp_state *st, uint64_t id, int err)
{
	struct spawner_reply rep;

	memset(&rep, 0, sizeof(rep));
	rep.id = id;
	rep.result = err != 0 ? err : DSSH_ERR_INTERNAL;
	sp_reply(st, &rep, NULL, 0);
}

/* Our copies of the session's fds go once the server has them. */
static void
sp_close_io(struct dssh_session_child *c)
{
	int status_fd = c->status_fd;

	c->status_fd = -1;
	dssh_session_close(c);
	c->status_fd = status_fd;
}

static void
sp_spawn(struct sp_state *st, const uint8_t *msg, size_t len)
{
	struct spawner_spawn_req req;
	struct spawner_reply rep;
	struct sp_sess *s;
	dssh_session_internal_fn fn = NULL;
	int fds[3], r;

	if ((r = spawner_decode_spawn(msg, len, &req)) != 0) {
		dssh_error("spawner: malformed spawn request (%zu bytes): %s", len, dssh_err_str(r));
		if (req.have_id)
			sp_refuse(st, req.id, r);
		return;
	}
	/* Its lines (and its children's) are its connection's (dssh_log.h). */
	uint64_t prev = dssh_log_conn_enter(dssh_log_conn_number(req.spec.auth_id));

	if (sp_monitor != NULL && sp_monitor->spawn_check != NULL &&
	    sp_monitor->spawn_check(sp_monitor->arg, &req.spec) != 0) {
		r = DSSH_ERR_PERMISSION;
	} else if (sp_find(st, req.id) != NULL) {
		dssh_error("spawner: spawn request for session %llu, which exists",
		    (unsigned long long)req.id);
		r = DSSH_ERR_INVALID_ARGUMENT;
	} else if (req.spec.internal != NULL && (fn = sp_internal(st, req.spec.internal)) == NULL) {
		dssh_error("spawner: no internal program %s", req.spec.internal);
		r = DSSH_ERR_NOT_FOUND;
	} else if ((s = calloc(1, sizeof(*s))) == NULL) {
		r = DSSH_ERR_ALLOC;
	} else if ((r = session_spawn(&req.spec, fn, &s->child)) != 0) {
		free(s);
	}
	if (r != 0) {
		sp_refuse(st, req.id, r);
		spawner_spawn_req_free(&req);
		dssh_log_conn_leave(prev);
		return;
	}
	s->id = req.id;
	s->next = st->sessions;
	st->sessions = s;
	memset(&rep, 0, sizeof(rep));
	rep.id = req.id;
	rep.pid = s->child.pid;
	rep.shell_pid = s->child.shell_pid;
	rep.has_pty = s->child.has_pty;
	memcpy(rep.tty_name, s->child.tty_name, sizeof(rep.tty_name));
	fds[0] = s->child.has_pty ? s->child.pty_fd : s->child.stdin_fd;
	fds[1] = s->child.stdout_fd;
	fds[2] = s->child.stderr_fd;
	sp_reply(st, &rep, fds, s->child.has_pty ? 1 : 3);
	sp_close_io(&s->child);
	dssh_debug("spawner: session %llu: pid %d for %s", (unsigned long long)req.id,
	    (int)s->child.pid, req.spec.user.name);
	spawner_spawn_req_free(&req);
	dssh_log_conn_leave(prev);
}

static void
sp_signal(struct sp_state *st, const uint8_t *msg, size_t len)
{
	char name[SPAWNER_SIGNAME_MAX];
	struct sp_sess *s;
	uint64_t id;
	int r;

	if ((r = spawner_decode_signal(msg, len, &id, name)) != 0) {
		dssh_error("spawner: malformed signal request (%zu bytes): %s", len, dssh_err_str(r));
		return;
	}
	/* Gone already: its EXIT is on the way, the server will see it. */
	if ((s = sp_find(st, id)) == NULL)
		return;
	if ((r = dssh_session_signal(&s->child, name)) != 0)
		dssh_debug("spawner: signal %s to session %llu: %s", name,
		    (unsigned long long)id, dssh_err_str(r));
}

/*
 * Processes the users' sessions left behind (daemons, "cmd &" outliving
 * the shell) are reparented to us, their subreaper: reap them, but a
 * session child only through dssh_session_reap (its status is reported).
 */
static bool
sp_reap_stray(struct sp_state *st)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid <= 0)
		return false;
	for (struct sp_sess *s = st->sessions; s != NULL; s = s->next)
		if (s->child.pid == si.si_pid)
			return false;   /* sp_reap's next round takes it */
	(void)waitpid(si.si_pid, NULL, WNOHANG);
	return true;
}

static void
sp_reap(struct sp_state *st)
{
	struct dssh_buf b;
	bool again = true;
	int status, r;

	dssh_buf_init(&b, 0);
	while (again) {
		again = false;
		while (sp_reap_stray(st))
			;
		for (struct sp_sess **pp = &st->sessions, *s; (s = *pp) != NULL;) {
			if (dssh_session_reap(&s->child, &status) != 0) {
				pp = &s->next;
				continue;
			}
			dssh_buf_reset(&b);
			if ((r = spawner_encode_exit(&b, s->id, status)) == 0)
				r = send_msg(st->fd, &b, NULL, 0);
			if (r != 0)
				dssh_error("spawner: cannot report the exit of session %llu: %s",
				    (unsigned long long)s->id, dssh_err_str(r));
			*pp = s->next;
			dssh_session_close(&s->child);
			free(s);
			again = true;   /* a stray may wait behind it */
		}
	}
	dssh_buf_free(&b);
}

/* recvmsg's 0 is EOF or an empty message: POLLHUP tells them apart. */
static bool
sp_peer_closed(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
}

/* False at EOF (the server is gone). */
static bool
sp_read(struct sp_state *st)
{
	int fds[16];
	size_t nfds;
	ssize_t n;

	n = recv_msg(st->fd, st->buf, MSG_DONTWAIT, fds, 2, &nfds);
	if (n == 0 && sp_peer_closed(st->fd))
		return false;
	if (n == 0) {
		dssh_error("spawner: empty request refused");
		return true;
	}
	if (n == DSSH_ERR_AGAIN)
		return true;
	if (n == DSSH_ERR_STRING_TOO_LARGE) {
		dssh_error("spawner: request longer than %u bytes refused", DSSH_SPAWNER_MSG_MAX);
		return true;
	}
	if (n < 0) {
		dssh_error("spawner: recvmsg: %s", strerror(errno));
		return errno != ENOTCONN && errno != ECONNRESET && errno != EBADF;
	}
	switch (st->buf[0]) {
	case DSSH_SPAWNER_MSG_SPAWN:
		close_fds(fds, nfds);
		sp_spawn(st, st->buf, (size_t)n);
		break;
	case DSSH_SPAWNER_MSG_SIGNAL:
		close_fds(fds, nfds);
		sp_signal(st, st->buf, (size_t)n);
		break;
	default:
		if (sp_monitor != NULL && sp_monitor->request != NULL) {
			sp_monitor->request(sp_monitor->arg, st->buf, (size_t)n, fds, nfds);
			break;
		}
		close_fds(fds, nfds);
		dssh_error("spawner: unknown request type %u", st->buf[0]);
	}
	return true;
}

/* fd on SPAWNER_FD, nothing else open but 0-2. */
static int
sp_take_fd(int fd)
{
	if (fd != SPAWNER_FD) {
		if (dup2(fd, SPAWNER_FD) < 0)
			return -1;
		(void)close(fd);
	}
	if (fcntl(SPAWNER_FD, F_SETFD, FD_CLOEXEC) != 0)
		return -1;
	session_close_from(SPAWNER_FD + 1);
	return SPAWNER_FD;
}

static int
sp_setup_signals(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, NULL);
	/* The terminal's signals are the server's to handle, not ours. */
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	(void)sigaction(SIGQUIT, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_SETMASK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

_Noreturn void
dssh_spawner_main(int fd, const struct dssh_spawner_internal *table)
{
	struct sp_state st = { .table = table };
	struct signalfd_siginfo si;
	struct pollfd pfd[2];
	int sfd, one = SOCK_BUF;

	/* Re-exec'd through /proc/self/exe, it would show as "exe" in ps. */
	(void)prctl(PR_SET_NAME, "dsshd-spawner", 0, 0, 0);

	if ((st.fd = sp_take_fd(fd)) < 0 || (sfd = sp_setup_signals()) < 0 ||
	    (st.buf = malloc(RECV_BUF)) == NULL) {
		dssh_error("spawner: cannot start: %s", strerror(errno));
		_exit(1);
	}
	(void)setsockopt(st.fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof(one));
	(void)setsockopt(st.fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
	/* What sessions leave behind is ours to reap, not the server's. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
		dssh_error("spawner: PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	dssh_verbose("spawner: started (pid %d)", (int)getpid());
	for (;;) {
		pfd[0] = (struct pollfd){ .fd = st.fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			dssh_error("spawner: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents != 0) {
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				;
			sp_reap(&st);
		}
		if (pfd[0].revents != 0 && !sp_read(&st))
			break;
		if (sp_monitor != NULL && sp_monitor->tick != NULL)
			sp_monitor->tick(sp_monitor->arg);
	}
	dssh_verbose("spawner: the server went away; exiting");
	if (sp_monitor != NULL && sp_monitor->fini != NULL)
		sp_monitor->fini(sp_monitor->arg);
	while (st.sessions != NULL) {
		struct sp_sess *s = st.sessions;

		st.sessions = s->next;
		dssh_session_close(&s->child);
		free(s);
	}
	free(st.buf);
	(void)close(sfd);
	(void)close(st.fd);
	exit(0);
}

void
dssh_spawner_maybe_run(int argc, char **argv, const struct dssh_spawner_internal *table)
{
	char *end;
	long fd, level, to_stderr;

	if (argc < 2 || strcmp(argv[1], SPAWNER_ARG) != 0)
		return;
	if (argc != 5) {
		fprintf(stderr, "%s: bad spawner invocation\n", argv[0]);
		_exit(1);
	}
	errno = 0;
	fd = strtol(argv[2], &end, 10);
	if (*end != '\0' || fd < 0 || fd > INT_MAX)
		_exit(1);
	level = strtol(argv[3], &end, 10);
	if (*end != '\0' || level < DSSH_LOG_QUIET || level > DSSH_LOG_DEBUG3)
		_exit(1);
	/* 1: stderr; 0: syslog; else syslog with that facility (SyslogFacility) */
	to_stderr = strtol(argv[4], &end, 10);
	if (*end != '\0' || to_stderr < 0 || to_stderr > LOG_LOCAL7 ||
	    (to_stderr > 1 && (to_stderr & 7) != 0))
		_exit(1);
	if (to_stderr > 1)
		dssh_log_set_facility((int)to_stderr);
	dssh_log_init("dsshd-spawner", (enum dssh_log_level)level, to_stderr == 1);
	/* what it logs for one of dsshd's connections reads as dsshd's (dssh_log.h) */
	dssh_log_set_conn_prog("dsshd");
	/* Away from the server's terminal and process group. */
	(void)setsid();
	dssh_spawner_main((int)fd, table);
}

/* ================================================================ client */

struct cl_sess {
	uint64_t id;
	pid_t pid, shell_pid;
	bool has_pty;
	bool adopted;               /* our child now: the spawner died */
};

struct cl_note {
	uint64_t id;
	int status;
};

struct dssh_spawner {
	char *exe;
	int fd;
	pid_t pid;
	bool dead;
	bool orphans;               /* a spawner died: its strays may be ours */
	struct cl_sess *sess;
	size_t nsess, capsess;
	struct cl_note *notes;      /* exits read while waiting for a reply */
	size_t nnotes, capnotes;
	uint8_t *buf;
};

static struct cl_sess *
cl_find(struct dssh_spawner *sp, uint64_t id)
{
	for (size_t i = 0; i < sp->nsess; i++)
		if (sp->sess[i].id == id)
			return &sp->sess[i];
	return NULL;
}

static void
cl_forget(struct dssh_spawner *sp, struct cl_sess *s)
{
	*s = sp->sess[--sp->nsess];
}

static int
grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *np;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 16 : *cap * 2;
	if ((np = reallocarray(*p, ncap, size)) == NULL)
		return DSSH_ERR_ALLOC;
	*p = np;
	*cap = ncap;
	return 0;
}

static int
cl_note(struct dssh_spawner *sp, uint64_t id, int status)
{
	int r;

	if ((r = grow((void **)&sp->notes, &sp->capnotes, sp->nnotes, sizeof(*sp->notes))) != 0)
		return r;
	sp->notes[sp->nnotes++] = (struct cl_note){ id, status };
	return 0;
}

/*
 * Between fork and exec only async-signal-safe calls: the caller has
 * threads, any of which may hold a lock at fork().
 */
static int
cl_launch(struct dssh_spawner *sp)
{
	char fdarg[16], levelarg[16], errarg[16];
	char *argv[] = { sp->exe, (char *)SPAWNER_ARG, fdarg, levelarg, errarg, NULL };
	int sv[2], one = SOCK_BUF;
	sigset_t none;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return DSSH_ERR_SYSTEM;
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &one, sizeof(one));
	(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
	snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
	snprintf(levelarg, sizeof(levelarg), "%d", (int)dssh_log_get_level());
	snprintf(errarg, sizeof(errarg), "%d", dssh_log_to_stderr() ? 1 : dssh_log_get_facility());
	sigemptyset(&none);
	if ((pid = fork()) < 0) {
		(void)close(sv[0]);
		(void)close(sv[1]);
		return DSSH_ERR_SYSTEM;
	}
	if (pid == 0) {
		/* The spawner's end survives exec; signals as a new process's. */
		if (fcntl(sv[1], F_SETFD, 0) != 0)
			_exit(127);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		execv(sp->exe, argv);
		_exit(127);
	}
	(void)close(sv[1]);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0) {
		(void)close(sv[0]);
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		return DSSH_ERR_SYSTEM;
	}
	sp->fd = sv[0];
	sp->pid = pid;
	sp->dead = false;
	dssh_verbose("spawner started (pid %d)", (int)pid);
	return 0;
}

int
dssh_spawner_start(const char *exe, struct dssh_spawner **out)
{
	struct dssh_spawner *sp;
	int r;

	*out = NULL;
	/* A dead spawner's session children become ours, not init's. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
		dssh_error("spawner: PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
		return DSSH_ERR_SYSTEM;
	}
	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return DSSH_ERR_ALLOC;
	sp->fd = -1;
	sp->pid = -1;
	if ((sp->exe = strdup(exe != NULL ? exe : "/proc/self/exe")) == NULL ||
	    (sp->buf = malloc(RECV_BUF)) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto fail;
	}
	if ((r = cl_launch(sp)) != 0) {
		dssh_error("spawner: cannot start %s: %s", sp->exe, strerror(errno));
		goto fail;
	}
	*out = sp;
	return 0;
 fail:
	dssh_spawner_free(sp);
	return r;
}

int
dssh_spawner_fd(const struct dssh_spawner *sp)
{
	return sp->fd;
}

pid_t
dssh_spawner_pid(const struct dssh_spawner *sp)
{
	return sp->dead ? -1 : sp->pid;
}

size_t
dssh_spawner_sessions(const struct dssh_spawner *sp)
{
	return sp->nsess;
}

/*
 * The spawner is gone (EOF, a failed send, or its SIGCHLD). Reap it: once
 * it is reaped the kernel has handed its children to us (the subreaper),
 * so waitpid on their pids is ours to do from now on.
 */
static void
cl_died(struct dssh_spawner *sp)
{
	int st = 0;

	if (sp->dead)
		return;
	sp->dead = true;
	(void)kill(sp->pid, SIGKILL);
	while (waitpid(sp->pid, &st, 0) < 0 && errno == EINTR)
		;
	for (size_t i = 0; i < sp->nsess; i++)
		sp->sess[i].adopted = true;
	sp->orphans = true;
	if (WIFSIGNALED(st))
		dssh_error("spawner (pid %d) died of signal %d; %zu session(s) adopted",
		    (int)sp->pid, WTERMSIG(st), sp->nsess);
	else
		dssh_error("spawner (pid %d) exited with status %d; %zu session(s) adopted",
		    (int)sp->pid, WEXITSTATUS(st), sp->nsess);
}

int
dssh_spawner_send(struct dssh_spawner *sp, const uint8_t *msg, size_t len,
    const int *fds, size_t nfds)
{
	struct dssh_buf b;
	int r;

	if (sp->dead)
		return DSSH_ERR_CONN_CLOSED;
	if (len == 0 || len > DSSH_SPAWNER_MSG_MAX || nfds > 2)
		return DSSH_ERR_INVALID_ARGUMENT;
	dssh_buf_from(&b, msg, len);
	r = send_msg(sp->fd, &b, fds, nfds);
	/* a full socket (EAGAIN) is a monitor that does not keep up: an error */
	return r;
}

int
dssh_spawner_restart(struct dssh_spawner *sp)
{
	int r;

	if (!sp->dead)
		return 0;
	if (sp->fd >= 0)
		(void)close(sp->fd);
	sp->fd = -1;
	if ((r = cl_launch(sp)) != 0) {
		dssh_error("spawner: restart failed: %s", strerror(errno));
		return r;
	}
	dssh_info("spawner restarted (pid %d)", (int)sp->pid);
	return 0;
}

/* An EXIT from the spawner: remembered for cb, or queued. */
static void
cl_handle_exit(struct dssh_spawner *sp, const uint8_t *msg, size_t len, bool queue,
    dssh_spawner_exit_fn cb, void *arg)
{
	struct cl_sess *s;
	uint64_t id;
	int status;

	if (spawner_decode_exit(msg, len, &id, &status) != 0) {
		dssh_error("spawner: malformed exit notification");
		return;
	}
	if ((s = cl_find(sp, id)) == NULL || s->adopted)
		return;
	cl_forget(sp, s);
	if (queue || cb == NULL) {
		if (cl_note(sp, id, status) != 0)
			dssh_error("spawner: out of memory: the exit of session %llu is lost",
			    (unsigned long long)id);
		return;
	}
	cb(arg, id, status);
}

static void
cl_deliver_notes(struct dssh_spawner *sp, dssh_spawner_exit_fn cb, void *arg)
{
	/* cb may spawn, which may queue more: take one at a time. */
	while (sp->nnotes > 0 && cb != NULL) {
		struct cl_note n = sp->notes[0];

		memmove(sp->notes, sp->notes + 1, --sp->nnotes * sizeof(*sp->notes));
		cb(arg, n.id, n.status);
	}
}

/* Adopted sessions are our children: waitpid is race-free on their pids. */
static void
cl_reap_adopted(struct dssh_spawner *sp, dssh_spawner_exit_fn cb, void *arg)
{
	for (size_t i = 0; i < sp->nsess;) {
		struct cl_sess *s = &sp->sess[i];
		uint64_t id = s->id;
		int st = 0;
		pid_t p;

		if (!s->adopted) {
			i++;
			continue;
		}
		do {
			p = waitpid(s->pid, &st, WNOHANG);
		} while (p < 0 && errno == EINTR);
		if (p == 0) {
			i++;
			continue;
		}
		if (p < 0) {
			/* Reaped by the spawner, which died before it could tell. */
			dssh_error("spawner: the exit status of session %llu (pid %d) is lost",
			    (unsigned long long)id, (int)s->pid);
			st = 255 << 8;
		}
		cl_forget(sp, s);
		if (cb != NULL)
			cb(arg, id, st);
	}
}

/*
 * After a spawner's death, what its sessions left behind (and what it had
 * adopted) is reparented to us too. Such orphans go to the subreaper's
 * main thread, whose children are otherwise only spawners, so reaping the
 * unknown ones among them never takes a child another thread waits for.
 */
static void
cl_reap_strays(struct dssh_spawner *sp)
{
	char path[64], buf[4096], *p, *end;
	ssize_t n;
	int fd;

	if (!sp->orphans)
		return;
	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (p = buf;; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid <= 0 || pid > INT_MAX || (pid_t)pid == sp->pid)
			continue;
		for (size_t i = 0; i < sp->nsess; i++)
			if (sp->sess[i].pid == (pid_t)pid)
				goto next;
		(void)waitpid((pid_t)pid, NULL, WNOHANG);
 next:
		;
	}
}

/* Reads what waits; false once the spawner is found dead. */
static bool
cl_read_all(struct dssh_spawner *sp, dssh_spawner_exit_fn cb, void *arg)
{
	int fds[3];
	size_t nfds;
	ssize_t n;

	for (;;) {
		n = recv_msg(sp->fd, sp->buf, MSG_DONTWAIT, fds, 3, &nfds);
		if (n == DSSH_ERR_AGAIN)
			return true;
		if (n == 0 || (n < 0 && n != DSSH_ERR_STRING_TOO_LARGE))
			return false;
		close_fds(fds, nfds);   /* a reply nobody waits for */
		if (n > 0 && sp->buf[0] == DSSH_SPAWNER_MSG_EXIT)
			cl_handle_exit(sp, sp->buf, (size_t)n, false, cb, arg);
		else
			dssh_error("spawner: unexpected message (%zd bytes)", n);
	}
}

/* Exited (not reaped: cl_died does that). */
static bool
cl_exited(const struct dssh_spawner *sp)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)sp->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    si.si_pid == sp->pid;
}

int
dssh_spawner_poll(struct dssh_spawner *sp, dssh_spawner_exit_fn cb, void *arg)
{
	cl_deliver_notes(sp, cb, arg);
	if (!sp->dead) {
		bool alive = cl_read_all(sp, cb, arg);

		/* Its SIGCHLD may come before we see EOF: read what it left. */
		if (alive && cl_exited(sp)) {
			(void)cl_read_all(sp, cb, arg);
			alive = false;
		}
		if (!alive)
			cl_died(sp);
	}
	cl_reap_adopted(sp, cb, arg);
	cl_reap_strays(sp);
	return sp->dead ? DSSH_ERR_CONN_CLOSED : 0;
}

static int
cl_add(struct dssh_spawner *sp, uint64_t id, const struct spawner_reply *rep)
{
	int r;

	if ((r = grow((void **)&sp->sess, &sp->capsess, sp->nsess, sizeof(*sp->sess))) != 0)
		return r;
	sp->sess[sp->nsess++] = (struct cl_sess){
		.id = id, .pid = rep->pid, .shell_pid = rep->shell_pid, .has_pty = rep->has_pty,
	};
	return 0;
}

static int
cl_fill_child(const struct spawner_reply *rep, int *fds, size_t nfds,
    struct dssh_session_child *out)
{
	if (nfds != (rep->has_pty ? 1u : 3u))
		return DSSH_ERR_PROTOCOL;
	out->pid = rep->pid;
	out->shell_pid = rep->shell_pid;
	out->has_pty = rep->has_pty;
	memcpy(out->tty_name, rep->tty_name, sizeof(out->tty_name));
	if (rep->has_pty) {
		out->pty_fd = out->stdin_fd = out->stdout_fd = fds[0];
	} else {
		out->stdin_fd = fds[0];
		out->stdout_fd = fds[1];
		out->stderr_fd = fds[2];
	}
	return 0;
}

/* Waits for id's reply; EXITs that come first are queued. */
static int
cl_wait_reply(struct dssh_spawner *sp, uint64_t id, struct dssh_session_child *out)
{
	uint64_t deadline = dssh_now_ms() + DSSH_SPAWNER_SPAWN_TIMEOUT_MS;
	struct spawner_reply rep;
	struct pollfd pfd;
	int fds[3], r;
	size_t nfds;
	ssize_t n;

	for (;;) {
		n = recv_msg(sp->fd, sp->buf, MSG_DONTWAIT, fds, 3, &nfds);
		if (n == DSSH_ERR_AGAIN) {
			uint64_t now = dssh_now_ms();

			if (now >= deadline)
				return DSSH_ERR_TIMEOUT;
			pfd = (struct pollfd){ .fd = sp->fd, .events = POLLIN };
			(void)poll(&pfd, 1, (int)(deadline - now));
			continue;
		}
		if (n == 0 || (n < 0 && n != DSSH_ERR_STRING_TOO_LARGE))
			return DSSH_ERR_CONN_CLOSED;
		if (n > 0 && sp->buf[0] == DSSH_SPAWNER_MSG_EXIT) {
			close_fds(fds, nfds);
			cl_handle_exit(sp, sp->buf, (size_t)n, true, NULL, NULL);
			continue;
		}
		if (n < 0 || spawner_decode_reply(sp->buf, (size_t)n, &rep) != 0 || rep.id != id) {
			close_fds(fds, nfds);
			dssh_error("spawner: unexpected message while waiting for a reply");
			continue;
		}
		if (rep.result != 0) {
			close_fds(fds, nfds);
			return rep.result;
		}
		if ((r = cl_fill_child(&rep, fds, nfds, out)) != 0 || (r = cl_add(sp, id, &rep)) != 0) {
			/* The session runs but we cannot hold it: hang up on it. */
			close_fds(fds, nfds);
			dssh_session_close(out);
			return r;
		}
		return 0;
	}
}

int
dssh_spawner_spawn(struct dssh_spawner *sp, uint64_t id, const struct dssh_session_spec *spec,
    struct dssh_session_child *out)
{
	struct dssh_buf b;
	int r;

	memset(out, 0, sizeof(*out));
	out->pid = out->shell_pid = -1;
	out->stdin_fd = out->stdout_fd = out->stderr_fd = out->pty_fd = out->status_fd = -1;
	if (sp->dead)
		return DSSH_ERR_CONN_CLOSED;
	if (cl_find(sp, id) != NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	dssh_buf_init(&b, DSSH_SPAWNER_MSG_MAX + 1024);
	if ((r = spawner_encode_spawn(&b, id, spec)) == 0)
		r = send_msg(sp->fd, &b, NULL, 0);
	dssh_buf_free(&b);
	if (r == DSSH_ERR_CONN_CLOSED)
		return r;
	if (r != 0)
		return r;
	if ((r = cl_wait_reply(sp, id, out)) == DSSH_ERR_TIMEOUT) {
		/* A late reply would be mistaken for the next: start afresh. */
		dssh_error("spawner: no reply to a spawn in %d ms; killing it",
		    DSSH_SPAWNER_SPAWN_TIMEOUT_MS);
		cl_died(sp);
	} else if (r == DSSH_ERR_CONN_CLOSED) {
		cl_died(sp);
	}
	return r;
}

int
dssh_spawner_signal(struct dssh_spawner *sp, uint64_t id, const char *ssh_signame)
{
	struct cl_sess *s;
	struct dssh_buf b;
	int sig, r;

	if ((sig = dssh_session_signum(ssh_signame)) < 0)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((s = cl_find(sp, id)) == NULL)
		return DSSH_ERR_NOT_FOUND;
	if (!s->adopted) {
		dssh_buf_init(&b, 0);
		if ((r = spawner_encode_signal(&b, id, ssh_signame)) == 0)
			r = send_msg(sp->fd, &b, NULL, 0);
		dssh_buf_free(&b);
		if (r != DSSH_ERR_CONN_CLOSED)
			return r;
		cl_died(sp);
		if ((s = cl_find(sp, id)) == NULL)
			return DSSH_ERR_NOT_FOUND;
	}
	/* Our own unreaped child now: its pid cannot have been reused. */
	if (kill(s->has_pty ? -s->shell_pid : s->shell_pid, sig) != 0)
		return errno == ESRCH ? DSSH_ERR_NOT_FOUND : DSSH_ERR_SYSTEM;
	return 0;
}

void
dssh_spawner_free(struct dssh_spawner *sp)
{
	int st;

	if (sp == NULL)
		return;
	if (sp->fd >= 0)
		(void)close(sp->fd);
	if (sp->pid > 0 && !sp->dead) {
		/* It exits at EOF; do not hang on one that does not. */
		for (int i = 0; i < 200; i++) {
			if (waitpid(sp->pid, &st, WNOHANG) != 0)
				goto reaped;
			usleep(5000);
		}
		(void)kill(sp->pid, SIGKILL);
		(void)waitpid(sp->pid, &st, 0);
	}
 reaped:
	free(sp->exe);
	free(sp->sess);
	free(sp->notes);
	free(sp->buf);
	free(sp);
}
