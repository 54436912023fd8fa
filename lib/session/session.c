/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Session children: pty or pipes, a clean environment, privilege drop and
 * exec of the user's shell, as sshd's session.c does for a session channel.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "dssh_session.h"
#include "session_int.h"

#define PATH_USER "/usr/local/bin:/usr/bin:/bin:/usr/games"
#define PATH_ROOT "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define PATH_MAILDIR "/var/mail"
#define PATH_BSHELL "/bin/sh"

/* ---------------------------------------------------------------- env */

int
session_env_set(struct session_env *e, const char *name, size_t name_len,
    const char *value, bool overwrite)
{
	size_t i, vlen = strlen(value);
	char *s, **nv;

	if (name_len == 0 || memchr(name, '=', name_len) != NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	for (i = 0; i < e->n; i++) {
		if (strncmp(e->v[i], name, name_len) == 0 && e->v[i][name_len] == '=') {
			if (!overwrite)
				return 0;
			break;
		}
	}
	if (name_len > SIZE_MAX / 2 || vlen > SIZE_MAX / 2 ||
	    (s = malloc(name_len + vlen + 2)) == NULL)
		return DSSH_ERR_ALLOC;
	memcpy(s, name, name_len);
	s[name_len] = '=';
	memcpy(s + name_len + 1, value, vlen + 1);
	if (i < e->n) {
		free(e->v[i]);
		e->v[i] = s;
		return 0;
	}
	if (e->n + 2 > e->cap) {
		size_t ncap = e->cap == 0 ? 32 : e->cap * 2;

		if ((nv = reallocarray(e->v, ncap, sizeof(*nv))) == NULL) {
			free(s);
			return DSSH_ERR_ALLOC;
		}
		e->v = nv;
		e->cap = ncap;
	}
	e->v[e->n++] = s;
	e->v[e->n] = NULL;
	return 0;
}

int
session_env_put(struct session_env *e, const char *entry, bool overwrite)
{
	const char *eq;

	if (entry == NULL || (eq = strchr(entry, '=')) == NULL || eq == entry)
		return DSSH_ERR_INVALID_ARGUMENT;
	return session_env_set(e, entry, (size_t)(eq - entry), eq + 1, overwrite);
}

void
session_env_free(struct session_env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

#define ENV_SET(x, name, value) \
	session_env_set(&(x)->env, name, sizeof(name) - 1, value, true)

static const char *
orig_command(const struct dssh_session_spec *spec)
{
	if (spec->original_command != NULL)
		return spec->original_command;
	if (spec->forced_command != NULL)
		return spec->command;
	return NULL;
}

int
session_env_add_ssh_vars(struct session_exec *x)
{
	const struct dssh_session_spec *spec = x->spec;
	const char *oc = orig_command(spec);
	int r = 0;

	if (spec->ssh_client != NULL && (r = ENV_SET(x, "SSH_CLIENT", spec->ssh_client)) != 0)
		return r;
	if (spec->ssh_connection != NULL &&
	    (r = ENV_SET(x, "SSH_CONNECTION", spec->ssh_connection)) != 0)
		return r;
	if (x->pty && (r = ENV_SET(x, "SSH_TTY", x->tty_name)) != 0)
		return r;
	if (oc != NULL && (r = ENV_SET(x, "SSH_ORIGINAL_COMMAND", oc)) != 0)
		return r;
	return 0;
}

static int
build_env(struct session_exec *x)
{
	const struct dssh_session_spec *spec = x->spec;
	const struct dssh_session_user *u = &spec->user;
	char *mail = NULL;
	size_t i, n;
	int r;

	n = strlen(PATH_MAILDIR) + strlen(u->name) + 2;
	if ((mail = malloc(n)) == NULL)
		return DSSH_ERR_ALLOC;
	snprintf(mail, n, "%s/%s", PATH_MAILDIR, u->name);
	if ((r = ENV_SET(x, "USER", u->name)) != 0 ||
	    (r = ENV_SET(x, "LOGNAME", u->name)) != 0 ||
	    (r = ENV_SET(x, "HOME", u->home != NULL ? u->home : "/")) != 0 ||
	    (r = ENV_SET(x, "SHELL", x->shell)) != 0 ||
	    (r = ENV_SET(x, "PATH", u->uid == 0 ? PATH_ROOT : PATH_USER)) != 0 ||
	    (r = ENV_SET(x, "MAIL", mail)) != 0)
		goto out;
	if (x->pty && spec->term != NULL && *spec->term != '\0' &&
	    (r = ENV_SET(x, "TERM", spec->term)) != 0)
		goto out;
	for (i = 0; i < spec->n_env; i++) {
		if ((r = session_env_put(&x->env, spec->env[i], true)) != 0) {
			if (r != DSSH_ERR_INVALID_ARGUMENT)
				goto out;
			dssh_debug("session: ignoring malformed environment entry");
			r = 0;
		}
	}
	/* With PAM the middle process adds the PAM env, then these. */
	if (!spec->use_pam)
		r = session_env_add_ssh_vars(x);
 out:
	free(mail);
	return r;
}

/* --------------------------------------------------------- preparation */

static void
exec_free(struct session_exec *x)
{
	free(x->shell);
	free(x->argv0);
	session_env_free(&x->env);
	free(x->groups);
	memset(x, 0, sizeof(*x));
}

static int
load_groups(struct session_exec *x)
{
	const struct dssh_session_user *u = &x->spec->user;
	long max = sysconf(_SC_NGROUPS_MAX);
	int n = 16;
	gid_t *g = NULL, *ng;

	if (max <= 0 || max > 65536)
		max = 65536;
	for (;;) {
		int want = n;

		if ((ng = reallocarray(g, (size_t)n, sizeof(*g))) == NULL) {
			free(g);
			return DSSH_ERR_ALLOC;
		}
		g = ng;
		if (getgrouplist(u->name, u->gid, g, &n) >= 0)
			break;
		if (n <= want)  /* no progress: give up growing */
			n = want * 2;
		if (n > max) {
			/* More groups than the kernel allows: keep the first max. */
			n = (int)max;
			if ((ng = reallocarray(g, (size_t)n, sizeof(*g))) == NULL) {
				free(g);
				return DSSH_ERR_ALLOC;
			}
			g = ng;
			(void)getgrouplist(u->name, u->gid, g, &n);
			n = (int)max;
			break;
		}
	}
	x->groups = g;
	x->ngroups = n;
	return 0;
}

static int
prepare_exec(const struct dssh_session_spec *spec, struct session_exec *x, bool pty,
    const char *tty_name)
{
	const char *cmd, *base;
	size_t blen;
	int r;

	memset(x, 0, sizeof(*x));
	x->spec = spec;
	x->pty = pty;
	x->tty_name = tty_name;
	x->drop_root = geteuid() == 0;
	if (x->drop_root && (r = load_groups(x)) != 0)
		goto fail;
	x->shell = strdup(spec->user.shell != NULL && *spec->user.shell != '\0' ?
	    spec->user.shell : PATH_BSHELL);
	if (x->shell == NULL) {
		r = DSSH_ERR_ALLOC;
		goto fail;
	}
	base = strrchr(x->shell, '/');
	base = base != NULL ? base + 1 : x->shell;
	blen = strlen(base);
	if ((x->argv0 = malloc(blen + 2)) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto fail;
	}
	cmd = spec->forced_command != NULL ? spec->forced_command : spec->command;
	if (cmd == NULL) {
		/* Login shell: argv[0] is "-" + basename. */
		x->argv0[0] = '-';
		memcpy(x->argv0 + 1, base, blen + 1);
		x->argv[0] = x->argv0;
		x->argv[1] = NULL;
	} else {
		memcpy(x->argv0, base, blen + 1);
		x->argv[0] = x->argv0;
		x->argv[1] = (char *)"-c";
		x->argv[2] = (char *)(uintptr_t)cmd;
		x->argv[3] = NULL;
	}
	if ((r = build_env(x)) != 0)
		goto fail;
	/* Read before this login's own record replaces it. */
	if (pty && (spec->login & DSSH_SESSION_LOGIN_LASTLOG))
		(void)session_lastlog_message(spec->user.uid, x->lastlog_msg,
		    sizeof(x->lastlog_msg));
	return 0;
 fail:
	exec_free(x);
	return r;
}

/* ------------------------------------------------------ in the children */

void
session_child_say(const char *s, ...)
{
	char buf[1024];
	size_t n = 0, l;
	va_list ap;

	va_start(ap, s);
	for (; s != NULL; s = va_arg(ap, const char *)) {
		l = strlen(s);
		if (l > sizeof(buf) - 2 - n)
			l = sizeof(buf) - 2 - n;
		memcpy(buf + n, s, l);
		n += l;
	}
	va_end(ap);
	buf[n++] = '\n';
	while (write(STDERR_FILENO, buf, n) < 0 && errno == EINTR)
		;
}

static const char *
errstr(int e)
{
	const char *s = strerrordesc_np(e);

	return s != NULL ? s : "unknown error";
}

static _Noreturn void
child_fail(const char *what, int e)
{
	session_child_say("dssh: ", what, ": ", errstr(e), (const char *)NULL);
	_exit(DSSH_SESSION_EXIT_SETUP);
}

void
session_close_span(unsigned int lo, unsigned int hi)
{
	long max;

	if (lo > hi || close_range(lo, hi, 0) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 1048576)
		max = 1048576;
	for (long fd = lo; fd <= (long)hi && fd < max; fd++)
		(void)close((int)fd);
}

void
session_close_from(int lowfd)
{
	session_close_span((unsigned int)lowfd, ~0U);
}

void
session_reset_signals(void)
{
	struct sigaction sa;
	sigset_t all;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);  /* KILL, STOP, glibc-internal: EINVAL */
	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
}

/*
 * Put in/out/err on 0, 1, 2 and keep_fd (or -1) on 3; close the rest. The
 * fds are first moved above 9 so that none is overwritten by another's dup2.
 */
static void
child_setup_fds(int in, int out, int err, int keep_fd)
{
	int fds[4] = { in, out, err, keep_fd }, i, n = keep_fd >= 0 ? 4 : 3;

	for (i = 0; i < n; i++)
		if ((fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10)) < 0)
			_exit(DSSH_SESSION_EXIT_SETUP);
	for (i = 0; i < n; i++)
		if (dup2(fds[i], i) < 0)
			_exit(DSSH_SESSION_EXIT_SETUP);
	session_close_from(n);
}

static void
child_drop_privileges(const struct session_exec *x)
{
	const struct dssh_session_user *u = &x->spec->user;

	if (!x->drop_root) {
		/* Not root: we can only ever run sessions as ourselves. */
		if (getuid() != u->uid || geteuid() != u->uid)
			child_fail("cannot switch to the session user", EPERM);
		return;
	}
	if (setgroups((size_t)x->ngroups, x->groups) != 0)
		child_fail("setgroups", errno);
	if (setresgid(u->gid, u->gid, u->gid) != 0)
		child_fail("setresgid", errno);
	if (setresuid(u->uid, u->uid, u->uid) != 0)
		child_fail("setresuid", errno);
	if (getuid() != u->uid || geteuid() != u->uid ||
	    getgid() != u->gid || getegid() != u->gid)
		child_fail("privilege drop did not take", EPERM);
	/* Paranoia, as sshd's permanently_set_uid: root must be gone for good. */
	if (u->uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		child_fail("was able to regain root after dropping privileges", EPERM);
}

int
dssh_session_check_chroot(const char *path, char *why, size_t why_len)
{
	char comp[PATH_MAX];
	struct stat st;
	size_t len, end;
	const char *slash;

	if (why_len > 0)
		why[0] = '\0';
	if (path == NULL || path[0] != '/') {
		snprintf(why, why_len, "chroot path does not begin at root");
		return DSSH_ERR_PERMISSION;
	}
	if ((len = strlen(path)) >= sizeof(comp)) {
		snprintf(why, why_len, "chroot path too long");
		return DSSH_ERR_PERMISSION;
	}
	/* "/", then each longer prefix ending before a '/', then path itself. */
	for (end = 1;; end = (size_t)(slash - path)) {
		memcpy(comp, path, end);
		comp[end] = '\0';
		if (stat(comp, &st) != 0) {
			snprintf(why, why_len, "stat(\"%s\"): %s", comp, errstr(errno));
			return DSSH_ERR_PERMISSION;
		}
		if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
			snprintf(why, why_len, "bad ownership or modes for chroot directory %s\"%s\"",
			    end < len ? "component " : "", comp);
			return DSSH_ERR_PERMISSION;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(why, why_len, "chroot path \"%s\" is not a directory", comp);
			return DSSH_ERR_PERMISSION;
		}
		if (end >= len)
			return 0;
		slash = strchr(path + end + 1, '/');
		if (slash == NULL)
			slash = path + len;
	}
}

/* As root, before the privilege drop: checked again right before chroot. */
static void
child_chroot(const char *dir)
{
	char why[PATH_MAX + 100];

	if (dssh_session_check_chroot(dir, why, sizeof(why)) != 0) {
		session_child_say("dssh: ", why, (const char *)NULL);
		_exit(DSSH_SESSION_EXIT_SETUP);
	}
	if (chdir(dir) != 0)
		child_fail("chdir to the chroot directory", errno);
	if (chroot(".") != 0)
		child_fail("chroot", errno);
	if (chdir("/") != 0)
		child_fail("chdir / in the chroot", errno);
}

/* What an interactive login prints before the shell, as sshd does it:
 * before any chroot, the previous login and the motd; ~/.hushlogin hushes. */
static void
login_greeting(const struct session_exec *x)
{
	unsigned what = x->spec->login & (DSSH_SESSION_LOGIN_LASTLOG | DSSH_SESSION_LOGIN_MOTD);
	char hush[PATH_MAX];
	const char *home = x->spec->user.home != NULL ? x->spec->user.home : "/";

	if (what == 0)
		return;
	if (snprintf(hush, sizeof(hush), "%s/.hushlogin", home) < (int)sizeof(hush) &&
	    access(hush, F_OK) == 0)
		return;
	if (x->lastlog_msg[0] != '\0' &&
	    write(STDOUT_FILENO, x->lastlog_msg, strlen(x->lastlog_msg)) < 0)
		return;
	if (what & DSSH_SESSION_LOGIN_MOTD)
		session_print_motd();
}

/* argv[0] with input on its stdin (session's stdout and stderr), waited
 * for; as the user, in the child, before the shell. */
static int
run_with_input(const struct session_exec *x, const char *path, char *const argv[],
    const char *input)
{
	int p[2], st = 0;
	pid_t pid;

	if (pipe(p) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[1]);
		if (dup2(p[0], STDIN_FILENO) < 0)
			_exit(127);
		close(p[0]);
		execve(path, argv, x->env.v);
		_exit(127);
	}
	close(p[0]);
	if (input != NULL && write(p[1], input, strlen(input)) < 0)
		st = -1;
	close(p[1]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* sshd's do_rc_files: the user's rc, the system's, or xauth for X11. */
static void
run_rc_files(const struct session_exec *x)
{
	const struct dssh_session_spec *s = x->spec;
	char line[1024], *sh_rc[] = { "sh", ".ssh/rc", NULL },
	    *sh_sys[] = { "sh", "/etc/ssh/sshrc", NULL },
	    *xauth[] = { "xauth", "-q", "-", NULL };
	bool x11 = s->x11_proto != NULL && s->x11_cookie != NULL;
	struct stat st;

	if (x11)
		snprintf(line, sizeof(line), "%s %s\n", s->x11_proto, s->x11_cookie);
	if (s->user_rc && stat(".ssh/rc", &st) == 0) {
		if (run_with_input(x, "/bin/sh", sh_rc, x11 ? line : NULL) != 0)
			session_child_say("dssh: ~/.ssh/rc failed", (const char *)NULL);
		return;
	}
	if (stat("/etc/ssh/sshrc", &st) == 0) {
		(void)run_with_input(x, "/bin/sh", sh_sys, x11 ? line : NULL);
		return;
	}
	if (!x11 || s->xauth_path == NULL || s->x11_auth_display == NULL)
		return;
	snprintf(line, sizeof(line), "remove %s\nadd %s %s %s\n", s->x11_auth_display,
	    s->x11_auth_display, s->x11_proto, s->x11_cookie);
	if (run_with_input(x, s->xauth_path, xauth, line) != 0)
		session_child_say("dssh: xauth failed", (const char *)NULL);
}

_Noreturn void
session_exec_shell(struct session_exec *x)
{
	const char *home = x->spec->user.home != NULL ? x->spec->user.home : "/";
	int code;

	session_close_from(3);
	if (setsid() < 0)
		child_fail("setsid", errno);
	if (x->pty && ioctl(STDIN_FILENO, TIOCSCTTY, 0) != 0)
		child_fail("cannot make the pty the controlling terminal", errno);
	if (x->pty)
		login_greeting(x);
	if (x->spec->chroot_directory != NULL)
		child_chroot(x->spec->chroot_directory);
	child_drop_privileges(x);
	if (chdir(home) != 0) {
		session_child_say("Could not chdir to home directory ", home, ": ",
		    errstr(errno), (const char *)NULL);
		if (chdir("/") != 0)
			child_fail("chdir /", errno);
	}
	/* as sshd's do_setup_env: the user's file, read as the user, before ~/.ssh/rc */
	session_user_env_read(x);
	if (x->internal == NULL)
		run_rc_files(x);
	if (x->internal != NULL) {
		code = x->internal(STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, x->spec);
		fflush(NULL);
		_exit(code < 0 ? 1 : code & 0xff);
	}
	execve(x->shell, x->argv, x->env.v);
	session_child_say("dssh: exec ", x->shell, ": ", errstr(errno), (const char *)NULL);
	_exit(DSSH_SESSION_EXIT_SETUP);
}

/* ------------------------------------------------------------- parent */

static int
set_nonblock_cloexec(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    (fl = fcntl(fd, F_GETFD)) < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return DSSH_ERR_SYSTEM;
	return 0;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0) {
		(void)close(*fd);
		*fd = -1;
	}
}

static int
setup_pty(const struct dssh_session_spec *spec, struct dssh_session_child *c, int *slave)
{
	struct termios t;
	struct winsize ws;
	struct group *gr;
	gid_t ttygid = spec->user.gid;
	mode_t mode = 0600;
	int r, m = -1, s = -1;

	if (openpty(&m, &s, NULL, NULL, NULL) != 0) {
		dssh_error("session: openpty: %s", strerror(errno));
		return DSSH_ERR_SYSTEM;
	}
	if ((r = set_nonblock_cloexec(m)) != 0 ||
	    fcntl(s, F_SETFD, FD_CLOEXEC) != 0) {
		r = DSSH_ERR_SYSTEM;
		goto fail;
	}
	if ((errno = ttyname_r(s, c->tty_name, sizeof(c->tty_name))) != 0) {
		dssh_error("session: ttyname: %s", strerror(errno));
		r = DSSH_ERR_SYSTEM;
		goto fail;
	}
	if (tcgetattr(s, &t) != 0) {
		r = DSSH_ERR_SYSTEM;
		goto fail;
	}
	if ((r = dssh_session_decode_modes(spec->modes, spec->modes_len, &t)) != 0) {
		dssh_error("session: bad terminal modes: %s", dssh_err_str(r));
		goto fail;
	}
	if (tcsetattr(s, TCSANOW, &t) != 0) {
		dssh_error("session: tcsetattr: %s", strerror(errno));
		r = DSSH_ERR_SYSTEM;
		goto fail;
	}
	memset(&ws, 0, sizeof(ws));
	ws.ws_col = (unsigned short)DSSH_MIN(spec->cols, 65535u);
	ws.ws_row = (unsigned short)DSSH_MIN(spec->rows, 65535u);
	ws.ws_xpixel = (unsigned short)DSSH_MIN(spec->xpixel, 65535u);
	ws.ws_ypixel = (unsigned short)DSSH_MIN(spec->ypixel, 65535u);
	if (ioctl(m, TIOCSWINSZ, &ws) != 0) {
		r = DSSH_ERR_SYSTEM;
		goto fail;
	}
	/* As sshd's pty_setowner: the user owns it, group tty may write to it. */
	if (geteuid() == 0) {
		if ((gr = getgrnam("tty")) != NULL) {
			ttygid = gr->gr_gid;
			mode = 0620;
		}
		if (fchown(s, spec->user.uid, ttygid) != 0 || fchmod(s, mode) != 0) {
			dssh_error("session: chown/chmod %s: %s", c->tty_name, strerror(errno));
			r = DSSH_ERR_SYSTEM;
			goto fail;
		}
	}
	c->pty_fd = c->stdin_fd = c->stdout_fd = m;
	c->has_pty = true;
	*slave = s;
	return 0;
 fail:
	close_fd(&m);
	close_fd(&s);
	c->tty_name[0] = '\0';
	return r;
}

static int
setup_pipes(struct dssh_session_child *c, int child_fds[3])
{
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } }, i, r;

	for (i = 0; i < 3; i++) {
		if (pipe2(p[i], O_CLOEXEC) != 0) {
			r = DSSH_ERR_SYSTEM;
			goto fail;
		}
	}
	if ((r = set_nonblock_cloexec(p[0][1])) != 0 ||
	    (r = set_nonblock_cloexec(p[1][0])) != 0 ||
	    (r = set_nonblock_cloexec(p[2][0])) != 0)
		goto fail;
	c->stdin_fd = p[0][1];
	c->stdout_fd = p[1][0];
	c->stderr_fd = p[2][0];
	child_fds[0] = p[0][0];
	child_fds[1] = p[1][1];
	child_fds[2] = p[2][1];
	return 0;
 fail:
	for (i = 0; i < 3; i++) {
		close_fd(&p[i][0]);
		close_fd(&p[i][1]);
	}
	return r;
}

static int
read_full(int fd, void *p, size_t n)
{
	size_t got = 0;
	ssize_t k;

	while (got < n) {
		k = read(fd, (uint8_t *)p + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	return got == n ? 0 : -1;
}

static void
child_init(struct dssh_session_child *c)
{
	memset(c, 0, sizeof(*c));
	c->pid = c->shell_pid = -1;
	c->stdin_fd = c->stdout_fd = c->stderr_fd = c->pty_fd = c->status_fd = -1;
}

int
dssh_session_spawn(const struct dssh_session_spec *spec, struct dssh_session_child *out)
{
	if (out != NULL)
		child_init(out);
	if (spec != NULL && spec->internal != NULL)
		return DSSH_ERR_NOT_FOUND;
	return session_spawn(spec, NULL, out);
}

int
session_spawn(const struct dssh_session_spec *spec, dssh_session_internal_fn internal,
    struct dssh_session_child *out)
{
	char why[PATH_MAX + 100];
	struct session_exec x;
	struct dssh_session_child c;
	struct session_sync sync;
	int child_fds[3] = { -1, -1, -1 }, slave = -1, sp[2] = { -1, -1 };
	int r, st;
	bool have_exec = false;
	pid_t pid;

	if (out != NULL)
		child_init(out);
	if (spec == NULL || out == NULL || spec->user.name == NULL || *spec->user.name == '\0')
		return DSSH_ERR_INVALID_ARGUMENT;
	if (spec->subsystem && spec->command == NULL && spec->forced_command == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (spec->use_pam && (spec->pam_service == NULL || *spec->pam_service == '\0'))
		return DSSH_ERR_INVALID_ARGUMENT;
	if (spec->modes == NULL && spec->modes_len != 0)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((spec->internal != NULL) != (internal != NULL))
		return DSSH_ERR_INVALID_ARGUMENT;
	if (spec->chroot_directory != NULL &&
	    dssh_session_check_chroot(spec->chroot_directory, why, sizeof(why)) != 0) {
		dssh_error("session: refusing ChrootDirectory for %s: %s", spec->user.name, why);
		return DSSH_ERR_PERMISSION;
	}
	child_init(&c);

	if (spec->want_pty) {
		if ((r = setup_pty(spec, &c, &slave)) != 0)
			goto out;
		child_fds[0] = child_fds[1] = child_fds[2] = slave;
	} else if ((r = setup_pipes(&c, child_fds)) != 0)
		goto out;
	if ((r = prepare_exec(spec, &x, spec->want_pty, c.tty_name)) != 0)
		goto out;
	have_exec = true;
	x.internal = internal;
	if (spec->use_pam && pipe2(sp, O_CLOEXEC) != 0) {
		r = DSSH_ERR_SYSTEM;
		goto out;
	}

	if ((pid = fork()) < 0) {
		dssh_error("session: fork: %s", strerror(errno));
		r = DSSH_ERR_SYSTEM;
		goto out;
	}
	if (pid == 0) {
		session_reset_signals();
		child_setup_fds(child_fds[0], child_fds[1], child_fds[2], sp[1]);
		if (spec->use_pam)
			session_pam_middle(&x, 3);
		session_exec_shell(&x);
	}
	c.pid = c.shell_pid = pid;

	if (spec->use_pam) {
		close_fd(&sp[1]);
		memset(&sync, 0, sizeof(sync));
		if (read_full(sp[0], &sync, sizeof(sync)) != 0 || sync.pid <= 0) {
			sync.msg[sizeof(sync.msg) - 1] = '\0';
			dssh_error("session: PAM session for %s failed: %s", spec->user.name,
			    sync.msg[0] != '\0' ? sync.msg : "middle process died");
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			r = DSSH_ERR_PERMISSION;
			goto out;
		}
		c.shell_pid = sync.pid;
		if ((r = set_nonblock_cloexec(sp[0])) != 0)
			goto out;
		c.status_fd = sp[0];
		sp[0] = -1;
	}
	if (spec->want_pty && (spec->login & DSSH_SESSION_LOGIN_RECORD)) {
		session_login_record(c.tty_name, c.shell_pid, spec->user.name, spec->user.uid,
		    spec->remote_host);
		c.login_recorded = true;
	}
	*out = c;
	child_init(&c);
	r = 0;
 out:
	close_fd(&slave);
	if (!spec->want_pty) {
		close_fd(&child_fds[0]);
		close_fd(&child_fds[1]);
		close_fd(&child_fds[2]);
	}
	close_fd(&sp[0]);
	close_fd(&sp[1]);
	if (have_exec)
		exec_free(&x);
	dssh_session_close(&c);
	return r;
}

void
dssh_session_close(struct dssh_session_child *c)
{
	if (c == NULL)
		return;
	if (c->pty_fd >= 0) {
		close_fd(&c->pty_fd);
		c->stdin_fd = c->stdout_fd = -1;
	}
	close_fd(&c->stdin_fd);
	close_fd(&c->stdout_fd);
	close_fd(&c->stderr_fd);
	close_fd(&c->status_fd);
}

int
dssh_session_close_stdin(struct dssh_session_child *c)
{
	if (c == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (c->pty_fd >= 0)
		return 0;
	close_fd(&c->stdin_fd);
	return 0;
}

int
dssh_session_resize(struct dssh_session_child *c, uint32_t cols, uint32_t rows,
    uint32_t xpixel, uint32_t ypixel)
{
	struct winsize ws;

	if (c == NULL || c->pty_fd < 0)
		return DSSH_ERR_INVALID_ARGUMENT;
	memset(&ws, 0, sizeof(ws));
	ws.ws_col = (unsigned short)DSSH_MIN(cols, 65535u);
	ws.ws_row = (unsigned short)DSSH_MIN(rows, 65535u);
	ws.ws_xpixel = (unsigned short)DSSH_MIN(xpixel, 65535u);
	ws.ws_ypixel = (unsigned short)DSSH_MIN(ypixel, 65535u);
	if (ioctl(c->pty_fd, TIOCSWINSZ, &ws) != 0)
		return DSSH_ERR_SYSTEM;
	return 0;
}

static const struct {
	const char *name;
	int sig;
} rfc_signals[] = {
	{ "ABRT", SIGABRT }, { "ALRM", SIGALRM }, { "FPE", SIGFPE },
	{ "HUP", SIGHUP }, { "ILL", SIGILL }, { "INT", SIGINT },
	{ "KILL", SIGKILL }, { "PIPE", SIGPIPE }, { "QUIT", SIGQUIT },
	{ "SEGV", SIGSEGV }, { "TERM", SIGTERM }, { "USR1", SIGUSR1 },
	{ "USR2", SIGUSR2 },
};

int
dssh_session_signum(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < DSSH_ARRAY_SIZE(rfc_signals); i++)
		if (strcmp(rfc_signals[i].name, name) == 0)
			return rfc_signals[i].sig;
	return -1;
}

const char *
dssh_session_signame(int sig)
{
	size_t i;

	for (i = 0; i < DSSH_ARRAY_SIZE(rfc_signals); i++)
		if (rfc_signals[i].sig == sig)
			return rfc_signals[i].name;
	return NULL;
}

int
dssh_session_signal(struct dssh_session_child *c, const char *ssh_signame)
{
	int sig;
	pid_t target;

	if (c == NULL || (sig = dssh_session_signum(ssh_signame)) < 0)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (c->reaped || c->shell_pid <= 0)
		return DSSH_ERR_NOT_FOUND;
	/* The user's process is a session (and group) leader. */
	target = c->has_pty ? -c->shell_pid : c->shell_pid;
	if (kill(target, sig) != 0)
		return errno == ESRCH ? DSSH_ERR_NOT_FOUND : DSSH_ERR_SYSTEM;
	return 0;
}

int
dssh_session_reap(struct dssh_session_child *c, int *wait_status)
{
	int32_t shell_st;
	pid_t p;
	int st;

	if (c == NULL || c->pid <= 0)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (!c->reaped) {
		do {
			p = waitpid(c->pid, &st, WNOHANG);
		} while (p < 0 && errno == EINTR);
		if (p < 0)
			return DSSH_ERR_SYSTEM;
		if (p == 0)
			return DSSH_ERR_AGAIN;
		/* The PAM middle process sent the shell's exact status first. */
		if (c->status_fd >= 0 && read_full(c->status_fd, &shell_st, sizeof(shell_st)) == 0)
			st = shell_st;
		close_fd(&c->status_fd);
		c->reaped = true;
		c->wait_status = st;
		if (c->login_recorded)
			session_logout_record(c->tty_name, c->shell_pid);
		c->login_recorded = false;
	}
	if (wait_status != NULL)
		*wait_status = c->wait_status;
	return 0;
}

int
dssh_session_exit_info(int wait_status, int *exit_code, const char **signame, bool *core)
{
	const char *n;

	if (exit_code != NULL)
		*exit_code = 0;
	if (signame != NULL)
		*signame = NULL;
	if (core != NULL)
		*core = false;
	if (WIFEXITED(wait_status)) {
		if (exit_code != NULL)
			*exit_code = WEXITSTATUS(wait_status);
		return 0;
	}
	if (!WIFSIGNALED(wait_status))
		return DSSH_ERR_INVALID_ARGUMENT;
	/* Not an RFC name: OpenSSH's convention for signals it cannot name. */
	n = dssh_session_signame(WTERMSIG(wait_status));
	if (signame != NULL)
		*signame = n != NULL ? n : "SIG@openssh.com";
	if (core != NULL)
		*core = WCOREDUMP(wait_status) != 0;
	return 1;
}
