/* SPDX-License-Identifier: BSD-3-Clause */
/* Spawns real session children as user nobody; needs root. */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>

#include "dssh_test.h"
#include "session_run.h"

static char home[64];
static struct run_result res;

static void
spec_init(struct dssh_session_spec *s, const char *cmd)
{
	memset(s, 0, sizeof(*s));
	nobody_user(&s->user, home);
	s->command = cmd;
}

static void
test_identity(void)
{
	struct dssh_session_spec s;
	char want[512];

	spec_init(&s, "id -u; id -g; id -G; pwd; echo $HOME $USER $LOGNAME $SHELL; "
	    "echo $PATH; echo $MAIL");
	CHECK_EQ_INT(run_session(&s, NULL, NULL, NULL, &res), 0);
	CHECK(!res.timed_out);
	snprintf(want, sizeof(want), "65534\n65534\n65534\n%s\n%s nobody nobody /bin/sh\n"
	    "/usr/local/bin:/usr/bin:/bin:/usr/games\n/var/mail/nobody\n", home, home);
	CHECK_STR(res.out, want);
	CHECK_STR(res.err, "");
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
	CHECK_EQ_INT(res.child.pid, res.child.shell_pid);
	CHECK_STR(res.child.tty_name, "");
}

static void
test_env_clean(void)
{
	const char *env[] = { "LANG=C.UTF-8", "NOEQUALS", "=empty", "LC_FOO=a=b" };
	static const char *allowed[] = { "USER", "LOGNAME", "HOME", "SHELL", "PATH", "MAIL",
		"LANG", "LC_FOO", "SSH_CLIENT", "SSH_CONNECTION", "SSH_ORIGINAL_COMMAND",
		"PWD", "OLDPWD", "SHLVL", "_" };
	struct dssh_session_spec s;
	char *line, *save = NULL;
	size_t i;

	setenv("DSSH_LEAK_TEST", "1", 1);
	spec_init(&s, "what the client asked");
	s.forced_command = "env";
	s.env = env;
	s.n_env = DSSH_ARRAY_SIZE(env);
	s.ssh_client = "192.0.2.1 50000 22";
	s.ssh_connection = "192.0.2.1 50000 192.0.2.2 22";
	CHECK_EQ_INT(run_session(&s, NULL, NULL, NULL, &res), 0);
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
	CHECK(strstr(res.out, "LANG=C.UTF-8\n") != NULL);
	CHECK(strstr(res.out, "LC_FOO=a=b\n") != NULL);
	CHECK(strstr(res.out, "SSH_CLIENT=192.0.2.1 50000 22\n") != NULL);
	CHECK(strstr(res.out, "SSH_CONNECTION=192.0.2.1 50000 192.0.2.2 22\n") != NULL);
	CHECK(strstr(res.out, "SSH_ORIGINAL_COMMAND=what the client asked\n") != NULL);
	CHECK(strstr(res.out, "DSSH_LEAK_TEST") == NULL);
	CHECK(strstr(res.out, "TERM=") == NULL);
	CHECK(strstr(res.out, "SSH_TTY") == NULL);
	for (line = strtok_r(res.out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		size_t nl = strcspn(line, "=");
		bool ok = false;

		for (i = 0; i < DSSH_ARRAY_SIZE(allowed); i++)
			if (strlen(allowed[i]) == nl && strncmp(line, allowed[i], nl) == 0)
				ok = true;
		if (!ok)
			fprintf(stderr, "unexpected variable: %s\n", line);
		CHECK(ok);
	}
	unsetenv("DSSH_LEAK_TEST");
}

static void
test_pipes(void)
{
	struct dssh_session_spec s;

	spec_init(&s, "cat; echo to-stderr >&2; echo done");
	CHECK_EQ_INT(run_session(&s, "hello\nworld\n", NULL, NULL, &res), 0);
	CHECK_STR(res.out, "hello\nworld\ndone\n");
	CHECK_STR(res.err, "to-stderr\n");
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
	CHECK_EQ_INT(res.child.pty_fd, -1);
}

static void
test_exit_code(void)
{
	struct dssh_session_spec s;
	int code = -1;
	const char *sn = "x";
	bool core = true;

	spec_init(&s, "exit 3");
	CHECK_EQ_INT(run_session(&s, NULL, NULL, NULL, &res), 0);
	CHECK_EQ_INT(dssh_session_exit_info(res.status, &code, &sn, &core), 0);
	CHECK_EQ_INT(code, 3);
	CHECK(sn == NULL);
	CHECK(!core);
}

static void
test_signal_death(void)
{
	struct dssh_session_spec s;
	int code = -1;
	const char *sn = NULL;
	bool core = true;

	spec_init(&s, "kill -TERM $$; sleep 5");
	CHECK_EQ_INT(run_session(&s, NULL, NULL, NULL, &res), 0);
	CHECK_EQ_INT(dssh_session_exit_info(res.status, &code, &sn, &core), 1);
	CHECK_STR(sn, "TERM");
	CHECK(!core);
}

static void
test_exit_info(void)
{
	int code;
	const char *sn;
	bool core;
	size_t i;
	static const char *names[] = { "ABRT", "ALRM", "FPE", "HUP", "ILL", "INT", "KILL",
		"PIPE", "QUIT", "SEGV", "TERM", "USR1", "USR2" };

	CHECK_EQ_INT(dssh_session_exit_info(0x8b /* SEGV + core */, &code, &sn, &core), 1);
	CHECK_STR(sn, "SEGV");
	CHECK(core);
	CHECK_EQ_INT(dssh_session_exit_info(SIGWINCH, &code, &sn, &core), 1);
	CHECK_STR(sn, "SIG@openssh.com");
	CHECK_EQ_INT(dssh_session_exit_info(0x137f /* stopped */, &code, &sn, &core),
	    DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_session_exit_info(255 << 8, &code, NULL, NULL), 0);
	CHECK_EQ_INT(code, 255);
	for (i = 0; i < DSSH_ARRAY_SIZE(names); i++) {
		int sig = dssh_session_signum(names[i]);

		CHECK(sig > 0);
		CHECK_STR(dssh_session_signame(sig), names[i]);
	}
	CHECK_EQ_INT(dssh_session_signum("SIGTERM"), -1);
	CHECK_EQ_INT(dssh_session_signum("term"), -1);
	CHECK_EQ_INT(dssh_session_signum(""), -1);
	CHECK_EQ_INT(dssh_session_signum(NULL), -1);
	CHECK_EQ_INT(dssh_session_signum("WINCH"), -1);
	CHECK_EQ_INT(dssh_session_signum("INTX"), -1);
	CHECK(dssh_session_signame(SIGWINCH) == NULL);
}

static void
test_bad_shell(void)
{
	struct dssh_session_spec s;

	spec_init(&s, "echo should-not-run");
	s.user.shell = "/nonexistent/shell";
	CHECK_EQ_INT(run_session(&s, NULL, NULL, NULL, &res), 0);
	CHECK(strstr(res.err, "/nonexistent/shell") != NULL);
	CHECK(strstr(res.err, "No such file") != NULL);
	CHECK_STR(res.out, "");
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == DSSH_SESSION_EXIT_SETUP);
}

static void
test_bad_home(void)
{
	struct dssh_session_spec s;

	spec_init(&s, "pwd; echo $HOME");
	s.user.home = "/nonexistent-dssh-home";
	CHECK_EQ_INT(run_session(&s, NULL, NULL, NULL, &res), 0);
	CHECK_STR(res.out, "/\n/nonexistent-dssh-home\n");
	CHECK(strstr(res.err, "Could not chdir to home directory /nonexistent-dssh-home") != NULL);
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
}

static void
test_login_shell(void)
{
	struct dssh_session_spec s;

	spec_init(&s, NULL);
	CHECK_EQ_INT(run_session(&s, "echo argv0=$0\nexit 5\n", NULL, NULL, &res), 0);
	CHECK(strstr(res.out, "argv0=-sh\n") != NULL);
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 5);
}

static void
test_bad_spec(void)
{
	struct dssh_session_spec s;
	struct dssh_session_child c;
	uint8_t trunc[3] = { 53, 0, 0 };

	spec_init(&s, "true");
	s.user.name = NULL;
	CHECK_EQ_INT(dssh_session_spawn(&s, &c), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(c.stdin_fd, -1);
	spec_init(&s, NULL);
	s.subsystem = true;
	CHECK_EQ_INT(dssh_session_spawn(&s, &c), DSSH_ERR_INVALID_ARGUMENT);
	spec_init(&s, "true");
	s.use_pam = true;
	CHECK_EQ_INT(dssh_session_spawn(&s, &c), DSSH_ERR_INVALID_ARGUMENT);
	/* Truncated modes from the peer: refused before anything is forked. */
	spec_init(&s, "true");
	s.want_pty = true;
	s.modes = trunc;
	s.modes_len = sizeof(trunc);
	CHECK_EQ_INT(dssh_session_spawn(&s, &c), DSSH_ERR_MSG_INCOMPLETE);
	CHECK_EQ_INT(c.pty_fd, -1);
	CHECK_EQ_INT(c.pid, -1);
	CHECK_EQ_INT(dssh_session_resize(&c, 1, 1, 0, 0), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_session_signal(&c, "TERM"), DSSH_ERR_NOT_FOUND);
	dssh_session_close(&c);
}

static void
test_subsystem(void)
{
	struct dssh_session_spec s;

	spec_init(&s, "echo subsys $0");
	s.subsystem = true;
	CHECK_EQ_INT(run_session(&s, NULL, NULL, NULL, &res), 0);
	CHECK_STR(res.out, "subsys sh\n");
}

struct sig_arg {
	const char *name;
	bool sent;
	const char *wait_for;
	int rc;
};

static void
send_signal(struct dssh_session_child *c, struct run_result *r, void *arg)
{
	struct sig_arg *a = arg;

	if (a->sent || (a->wait_for != NULL && strstr(r->out, a->wait_for) == NULL))
		return;
	a->rc = dssh_session_signal(c, a->name);
	a->sent = true;
}

static void
test_signal_request(void)
{
	struct dssh_session_spec s;
	struct sig_arg a = { "FOO", false, NULL, 0 };
	const char *sn = NULL;

	spec_init(&s, "echo started; exec sleep 30");
	a.wait_for = "started";
	/* An unknown name is refused; then TERM kills it. */
	CHECK_EQ_INT(dssh_session_spawn(&s, &res.child), 0);
	CHECK_EQ_INT(dssh_session_signal(&res.child, "FOO"), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_session_signal(&res.child, "SIGTERM"), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_session_signal(&res.child, "KILL"), 0);
	{
		int st = 0;

		CHECK_EQ_INT(waitpid(res.child.pid, &st, 0), res.child.pid);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		dssh_session_close(&res.child);
	}
	a.name = "TERM";
	CHECK_EQ_INT(run_session(&s, NULL, send_signal, &a, &res), 0);
	CHECK(a.sent);
	CHECK_EQ_INT(a.rc, 0);
	CHECK(!res.timed_out);
	CHECK_EQ_INT(dssh_session_exit_info(res.status, NULL, &sn, NULL), 1);
	CHECK_STR(sn, "TERM");
	/* After the reap, no signal can reach a recycled pid. */
	CHECK_EQ_INT(dssh_session_signal(&res.child, "TERM"), DSSH_ERR_NOT_FOUND);
}

/* The child gets fds 0-2 only, default signal handling, no way back to root. */
static void
test_hygiene(void)
{
	struct dssh_session_spec s;
	struct sigaction sa, old_int;
	sigset_t blk, old_mask;
	int leak = open("/dev/null", O_RDONLY);   /* deliberately not O_CLOEXEC */

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, &old_int);
	sigemptyset(&blk);
	sigaddset(&blk, SIGUSR1);
	sigprocmask(SIG_BLOCK, &blk, &old_mask);
	CHECK(leak >= 0);
	spec_init(&s, "ls /proc/self/fd | tr '\\n' ' '; echo; "
	    "grep -E '^(Uid|Gid|Groups|SigBlk|SigIgn):' /proc/self/status");
	CHECK_EQ_INT(run_session(&s, NULL, NULL, NULL, &res), 0);
	CHECK_STR(res.out, "0 1 2 3 \n"
	    "Uid:\t65534\t65534\t65534\t65534\nGid:\t65534\t65534\t65534\t65534\n"
	    "Groups:\t65534 \n"
	    "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
	CHECK_STR(res.err, "");
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGINT, &old_int, NULL);
	close(leak);
}

/* ------------------------------------------------------------------ pty */

struct pty_check {
	bool done;
	struct stat st;
	int stat_rc;
};

static void
stat_tty(struct dssh_session_child *c, struct run_result *r, void *arg)
{
	struct pty_check *p = arg;

	(void)r;
	if (p->done)
		return;
	p->stat_rc = stat(c->tty_name, &p->st);
	p->done = true;
}

static void
test_pty_basic(void)
{
	struct dssh_session_spec s;
	struct pty_check pc = { 0 };
	struct group *gr = getgrnam("tty");
	char want[256];

	spec_init(&s, "tty; stty size; echo $TERM $SSH_TTY; echo err >&2; "
	    ": </dev/tty && echo ctty-ok");
	s.want_pty = true;
	s.term = "xterm-256color";
	s.cols = 101;
	s.rows = 33;
	CHECK_EQ_INT(run_session(&s, NULL, stat_tty, &pc, &res), 0);
	CHECK(!res.timed_out);
	CHECK_EQ_INT(strncmp(res.child.tty_name, "/dev/pts/", 9), 0);
	snprintf(want, sizeof(want), "%s\r\n33 101\r\nxterm-256color %s\r\nerr\r\nctty-ok\r\n",
	    res.child.tty_name, res.child.tty_name);
	CHECK_STR(res.out, want);
	CHECK_STR(res.err, "");
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
	CHECK_EQ_INT(pc.stat_rc, 0);
	CHECK_EQ_INT(pc.st.st_uid, NOBODY_UID);
	if (gr != NULL) {
		CHECK_EQ_INT(pc.st.st_gid, gr->gr_gid);
		CHECK_EQ_INT(pc.st.st_mode & 07777, 0620);
	}
}

static void
test_pty_modes(void)
{
	struct dssh_session_spec s;
	uint8_t m[64];
	size_t n = 0;

	n += put_mode(m + n, 53, 0);         /* -echo */
	n += put_mode(m + n, 1, 0x18);       /* intr = ^X */
	n += put_mode(m + n, 128, 9600);
	n += put_mode(m + n, 129, 9600);
	m[n++] = 0;
	spec_init(&s, "stty -a");
	s.want_pty = true;
	s.modes = m;
	s.modes_len = n;
	CHECK_EQ_INT(run_session(&s, NULL, NULL, NULL, &res), 0);
	CHECK(has_token(res.out, "-echo"));
	CHECK(!has_token(res.out, "echo"));
	CHECK(strstr(res.out, "intr = ^X;") != NULL);
	CHECK(strstr(res.out, "speed 9600 baud") != NULL);

	/* And the other way round, so the check above can fail. */
	n = 0;
	n += put_mode(m + n, 53, 1);
	n += put_mode(m + n, 128, 38400);
	n += put_mode(m + n, 129, 38400);
	m[n++] = 0;
	s.modes_len = n;
	CHECK_EQ_INT(run_session(&s, NULL, NULL, NULL, &res), 0);
	CHECK(has_token(res.out, "echo"));
	CHECK(!has_token(res.out, "-echo"));
	CHECK(strstr(res.out, "intr = ^C;") != NULL);
	CHECK(strstr(res.out, "speed 38400 baud") != NULL);
}

struct resize_arg {
	bool done;
	int rc;
};

static void
do_resize(struct dssh_session_child *c, struct run_result *r, void *arg)
{
	struct resize_arg *a = arg;

	if (a->done || strstr(r->out, "ready") == NULL)
		return;
	a->rc = dssh_session_resize(c, 50, 20, 640, 480);
	a->done = true;
	(void)write(c->stdin_fd, "go\n", 3);
}

static void
test_pty_resize(void)
{
	struct dssh_session_spec s;
	struct resize_arg a = { false, -1 };

	spec_init(&s, "stty size; echo ready; read x; stty size");
	s.want_pty = true;
	s.cols = 80;
	s.rows = 24;
	CHECK_EQ_INT(run_session(&s, NULL, do_resize, &a, &res), 0);
	CHECK(a.done);
	CHECK_EQ_INT(a.rc, 0);
	CHECK(strstr(res.out, "24 80\r\n") != NULL);
	CHECK(strstr(res.out, "20 50\r\n") != NULL);
}

static void
test_pty_signal_group(void)
{
	struct dssh_session_spec s;
	struct sig_arg a = { "TERM", false, "bg=", 0 };
	const char *sn = NULL, *p;
	char path[64], state = 0;
	long bgpid;
	int i;

	spec_init(&s, "sleep 30 & echo bg=$!; wait");
	s.want_pty = true;
	CHECK_EQ_INT(run_session(&s, NULL, send_signal, &a, &res), 0);
	CHECK(!res.timed_out);
	CHECK(a.sent);
	CHECK_EQ_INT(a.rc, 0);
	CHECK_EQ_INT(dssh_session_exit_info(res.status, NULL, &sn, NULL), 1);
	CHECK_STR(sn, "TERM");
	/* The background sleep was in the group too. */
	p = strstr(res.out, "bg=");
	CHECK(p != NULL);
	if (p == NULL)
		return;
	bgpid = strtol(p + 3, NULL, 10);
	CHECK(bgpid > 1);
	snprintf(path, sizeof(path), "/proc/%ld/stat", bgpid);
	for (i = 0; i < 200; i++) {
		FILE *f = fopen(path, "r");

		if (f == NULL) {
			state = 'X';
			break;
		}
		if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
			state = '?';
		fclose(f);
		if (state == 'Z' || state == 'X')
			break;
		usleep(10000);
	}
	CHECK(state == 'Z' || state == 'X');
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

int
main(void)
{
	int fds_before;

	if (geteuid() != 0) {
		fprintf(stderr, "needs root: skipped\n");
		return 77;
	}
	snprintf(home, sizeof(home), "/tmp/dssh-session-XXXXXX");
	if (mkdtemp(home) == NULL || chmod(home, 0755) != 0 ||
	    chown(home, NOBODY_UID, NOBODY_GID) != 0) {
		perror("home");
		return 1;
	}
	fds_before = count_fds();
	DSSH_RUN(test_identity);
	DSSH_RUN(test_hygiene);
	DSSH_RUN(test_env_clean);
	DSSH_RUN(test_pipes);
	DSSH_RUN(test_exit_code);
	DSSH_RUN(test_signal_death);
	DSSH_RUN(test_exit_info);
	DSSH_RUN(test_bad_shell);
	DSSH_RUN(test_bad_home);
	DSSH_RUN(test_login_shell);
	DSSH_RUN(test_bad_spec);
	DSSH_RUN(test_subsystem);
	DSSH_RUN(test_signal_request);
	DSSH_RUN(test_pty_basic);
	DSSH_RUN(test_pty_modes);
	DSSH_RUN(test_pty_resize);
	DSSH_RUN(test_pty_signal_group);
	/* No fd of ours left open, no child left unreaped. */
	CHECK_EQ_INT(count_fds(), fds_before);
	CHECK_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
	rmdir(home);
	DSSH_TEST_END();
}
