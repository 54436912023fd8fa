/* SPDX-License-Identifier: BSD-3-Clause */
/* The engine over two file descriptors: a poll loop for one session. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "sftp_int.h"

/* Room for a whole maximum packet plus the next read. */
#define SERVE_IBUF (2 * (DSSH_SFTP_MAX_PACKET + 4))

struct serve {
	struct dssh_sftp *s;
	const char *id;
	int in_fd, out_fd;
	uint8_t *ibuf;
	size_t ilen;                /* bytes read, not yet taken by the engine */
	bool eof;
};

static int
set_nonblock(int fd, int *saved)
{
	if ((*saved = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, *saved | O_NONBLOCK) < 0)
		return DSSH_ERR_SYSTEM;
	return 0;
}

static int
feed(struct serve *v)
{
	size_t used;
	int r;

	if (v->ilen == 0 || dssh_sftp_input_paused(v->s))
		return 0;
	r = dssh_sftp_input(v->s, v->ibuf, v->ilen, &used);
	memmove(v->ibuf, v->ibuf + used, v->ilen - used);
	v->ilen -= used;
	return r;
}

static int
flush(struct serve *v)
{
	size_t len;
	const uint8_t *p = dssh_sftp_output(v->s, &len);
	ssize_t n;

	if (len == 0)
		return 0;
	if ((n = write(v->out_fd, p, len)) < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		dssh_verbose("%s: write: %s", v->id, strerror(errno));
		return DSSH_ERR_CONN_CLOSED;
	}
	dssh_sftp_output_consume(v->s, (size_t)n);
	return 0;
}

static int
fill(struct serve *v)
{
	ssize_t n = read(v->in_fd, v->ibuf + v->ilen, SERVE_IBUF - v->ilen);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		dssh_error("%s: read: %s", v->id, strerror(errno));
		return DSSH_ERR_SYSTEM;
	}
	if (n == 0)
		v->eof = true;
	v->ilen += (size_t)n;
	return 0;
}

static int
loop(struct serve *v)
{
	struct pollfd pfd[2];
	size_t olen;
	int r;

	for (;;) {
		if ((r = feed(v)) != 0)
			return r;
		dssh_sftp_output(v->s, &olen);
		if (v->eof && olen == 0 && (v->ilen == 0 || !dssh_sftp_input_paused(v->s)))
			return 0;
		pfd[0] = (struct pollfd){ .fd = v->in_fd, .events = 0 };
		pfd[1] = (struct pollfd){ .fd = v->out_fd, .events = olen > 0 ? POLLOUT : 0 };
		if (!v->eof && !dssh_sftp_input_paused(v->s) && v->ilen < SERVE_IBUF)
			pfd[0].events = POLLIN;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return DSSH_ERR_SYSTEM;
		}
		if ((pfd[1].revents & (POLLOUT | POLLERR | POLLHUP)) && olen > 0 &&
		    (r = flush(v)) != 0)
			return r;
		if ((pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) && pfd[0].events != 0 &&
		    (r = fill(v)) != 0)
			return r;
	}
}

/* A SIGPIPE raised while it was blocked must not fire once it is unblocked. */
static void
drop_pending_sigpipe(void)
{
	sigset_t pending, only;
	struct timespec zero = { 0, 0 };

	sigemptyset(&only);
	sigaddset(&only, SIGPIPE);
	while (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
		if (sigtimedwait(&only, NULL, &zero) < 0)
			break;
}

int
dssh_sftp_serve_fds(int in_fd, int out_fd, const struct dssh_sftp_serve_opts *o)
{
	struct dssh_sftp_opts so = {
		.home = o->home, .read_only = o->read_only, .log_id = o->log_id,
	};
	struct serve v = { .in_fd = in_fd, .out_fd = out_fd };
	int in_fl = -1, out_fl = -1, r;
	sigset_t pipe_set, old_set;

	v.id = o->log_id != NULL ? o->log_id : "sftp";
	if ((r = dssh_sftp_create(&so, &v.s)) != 0)
		return r;
	if ((v.ibuf = malloc(SERVE_IBUF)) == NULL) {
		dssh_sftp_free(v.s);
		return DSSH_ERR_ALLOC;
	}
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old_set);
	if ((r = set_nonblock(in_fd, &in_fl)) == 0 &&
	    (out_fd == in_fd || (r = set_nonblock(out_fd, &out_fl)) == 0)) {
		dssh_verbose("%s: session opened%s", v.id, o->read_only ? " (read-only)" : "");
		r = loop(&v);
		if (r == 0 && !dssh_sftp_idle(v.s))
			dssh_verbose("%s: end of input inside a packet", v.id);
		dssh_verbose("%s: session closed%s%s", v.id, r != 0 ? ": " : "",
		    r != 0 ? dssh_err_str(r) : "");
	} else {
		dssh_error("%s: cannot set up descriptors: %s", v.id, strerror(errno));
	}
	if (in_fl >= 0)
		fcntl(in_fd, F_SETFL, in_fl);
	if (out_fl >= 0)
		fcntl(out_fd, F_SETFL, out_fl);
	drop_pending_sigpipe();
	sigprocmask(SIG_SETMASK, &old_set, NULL);
	free(v.ibuf);
	dssh_sftp_free(v.s);
	return r;
}
