/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SESSION_RUN_H
#define SESSION_RUN_H

/*
 * Shared by the session tests: run a spawned session to completion; encode
 * pty modes.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dssh_err.h"
#include "dssh_session.h"
#include "dssh_util.h"

#define RUN_BUF 65536

struct run_result {
	char out[RUN_BUF];
	size_t out_len;
	char err[RUN_BUF];
	size_t err_len;
	int status;
	bool timed_out;
	int spawn_rc;
	struct dssh_session_child child;   /* fds closed; pids kept */
};

/* Called on every loop turn while the session runs; may act on it. */
typedef void (*run_action_fn)(struct dssh_session_child *c, struct run_result *res, void *arg);

static inline void
run_append(int fd, char *buf, size_t *len, bool *done)
{
	ssize_t k;

	for (;;) {
		if (*len >= RUN_BUF - 1) {
			char sink[4096];

			k = read(fd, sink, sizeof(sink));
		} else
			k = read(fd, buf + *len, RUN_BUF - 1 - *len);
		if (k > 0) {
			if (*len < RUN_BUF - 1)
				*len += (size_t)k;
			buf[*len] = '\0';
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return;
		*done = true;   /* EOF, or EIO from a pty whose slave is gone */
		return;
	}
}

static inline int
run_session(const struct dssh_session_spec *spec, const char *input, run_action_fn action,
    void *arg, struct run_result *res)
{
	struct dssh_session_child *c = &res->child;
	uint64_t deadline;
	bool out_done = false, err_done = false, exited = false;
	struct pollfd pfd[2];
	int n, r;

	memset(res, 0, sizeof(*res));
	if ((res->spawn_rc = dssh_session_spawn(spec, c)) != 0)
		return res->spawn_rc;
	if (input != NULL) {
		size_t off = 0, len = strlen(input);

		while (off < len) {
			ssize_t k = write(c->stdin_fd, input + off, len - off);

			if (k > 0)
				off += (size_t)k;
			else if (k < 0 && errno != EAGAIN && errno != EINTR)
				break;
			else
				usleep(1000);
		}
	}
	if (c->pty_fd < 0)
		dssh_session_close_stdin(c);
	err_done = c->stderr_fd < 0;
	deadline = dssh_now_ms() + 15000;
	while (!(out_done && err_done && exited)) {
		if (dssh_now_ms() > deadline) {
			res->timed_out = true;
			kill(-c->shell_pid, SIGKILL);
			kill(c->shell_pid, SIGKILL);
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &res->status, 0);
			break;
		}
		if (action != NULL)
			action(c, res, arg);
		n = 0;
		if (!out_done)
			pfd[n++] = (struct pollfd){ .fd = c->stdout_fd, .events = POLLIN };
		if (!err_done)
			pfd[n++] = (struct pollfd){ .fd = c->stderr_fd, .events = POLLIN };
		if (n > 0)
			(void)poll(pfd, (nfds_t)n, 20);
		else
			usleep(5000);
		if (!out_done)
			run_append(c->stdout_fd, res->out, &res->out_len, &out_done);
		if (!err_done)
			run_append(c->stderr_fd, res->err, &res->err_len, &err_done);
		if (!exited) {
			r = dssh_session_reap(c, &res->status);
			if (r == 0)
				exited = true;
			else if (r != DSSH_ERR_AGAIN)
				break;
		}
	}
	dssh_session_close(c);
	dssh_session_close(c);   /* idempotent */
	return 0;
}

/* Whole-word (whitespace or ';' separated) search. */
static inline bool
has_token(const char *s, const char *tok)
{
	size_t tl = strlen(tok);
	const char *p = s;

	while ((p = strstr(p, tok)) != NULL) {
		bool start = p == s || strchr(" \t\r\n;", p[-1]) != NULL;
		bool end = p[tl] == '\0' || strchr(" \t\r\n;", p[tl]) != NULL;

		if (start && end)
			return true;
		p += tl;
	}
	return false;
}

#define NOBODY_UID 65534
#define NOBODY_GID 65534

static inline void
nobody_user(struct dssh_session_user *u, const char *home)
{
	u->name = "nobody";
	u->uid = NOBODY_UID;
	u->gid = NOBODY_GID;
	u->home = home;
	u->shell = "/bin/sh";
}

/* One encoded terminal mode (RFC 4254 8): opcode, uint32 value; 5 bytes. */
static inline size_t
put_mode(uint8_t *p, uint8_t op, uint32_t v)
{
	p[0] = op;
	p[1] = (uint8_t)(v >> 24);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 8);
	p[4] = (uint8_t)v;
	return 5;
}

#endif
