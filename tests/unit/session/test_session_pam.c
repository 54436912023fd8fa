/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PAM session around the user's process, with temporary services
 * /etc/pam.d/dssh-unittest* (pam_permit, pam_env, pam_deny). Needs root.
 */
#include <fcntl.h>
#include <stdlib.h>

#include "dssh_test.h"
#include "session_run.h"

#define SVC_PERMIT "dssh-unittest"
#define SVC_ENV "dssh-unittest-env"
#define SVC_DENY "dssh-unittest-deny"

static char home[64];
static char envconf[64];
static struct run_result res;

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void
spec_init(struct dssh_session_spec *s, const char *svc, const char *cmd)
{
	memset(s, 0, sizeof(*s));
	nobody_user(&s->user, home);
	s->command = cmd;
	s->use_pam = true;
	s->pam_service = svc;
	s->remote_host = "192.0.2.1";
}

static void
test_exit_relayed(void)
{
	struct dssh_session_spec s;
	int code = -1;

	spec_init(&s, SVC_PERMIT, "id -u; exit 7");
	CHECK_EQ_INT(run_session(&s, NULL, NULL, NULL, &res), 0);
	CHECK(!res.timed_out);
	CHECK_STR(res.out, "65534\n");
	CHECK_STR(res.err, "");
	CHECK(res.child.pid > 0 && res.child.shell_pid > 0);
	CHECK(res.child.pid != res.child.shell_pid);
	CHECK_EQ_INT(dssh_session_exit_info(res.status, &code, NULL, NULL), 0);
	CHECK_EQ_INT(code, 7);
}

static void
test_signal_relayed(void)
{
	struct dssh_session_spec s;
	const char *sn = NULL;

	spec_init(&s, SVC_PERMIT, "kill -TERM $$; sleep 5");
	CHECK_EQ_INT(run_session(&s, NULL, NULL, NULL, &res), 0);
	CHECK_EQ_INT(dssh_session_exit_info(res.status, NULL, &sn, NULL), 1);
	CHECK_STR(sn, "TERM");
}

/* The caller's own waitpid on the middle sees the shell's status. */
static void
test_plain_waitpid(void)
{
	struct dssh_session_spec s;
	struct dssh_session_child c;
	int st = 0;

	spec_init(&s, SVC_PERMIT, "exit 7");
	CHECK_EQ_INT(dssh_session_spawn(&s, &c), 0);
	CHECK_EQ_INT(waitpid(c.pid, &st, 0), c.pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	dssh_session_close(&c);

	spec_init(&s, SVC_PERMIT, "kill -USR1 $$; sleep 5");
	CHECK_EQ_INT(dssh_session_spawn(&s, &c), 0);
	CHECK_EQ_INT(waitpid(c.pid, &st, 0), c.pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1);
	dssh_session_close(&c);
}

struct kill_arg {
	bool sent;
	bool to_middle;
	int sig;
};

static void
kill_when_started(struct dssh_session_child *c, struct run_result *r, void *arg)
{
	struct kill_arg *a = arg;

	if (a->sent || strstr(r->out, "started") == NULL)
		return;
	if (a->to_middle)
		kill(c->pid, a->sig);
	else
		dssh_session_signal(c, dssh_session_signame(a->sig));
	a->sent = true;
}

static void
test_middle_relays_signals(void)
{
	struct dssh_session_spec s;
	struct kill_arg a = { false, true, SIGHUP };
	const char *sn = NULL;

	/* A HUP to the middle process reaches the shell. */
	spec_init(&s, SVC_PERMIT, "echo started; exec sleep 30");
	CHECK_EQ_INT(run_session(&s, NULL, kill_when_started, &a, &res), 0);
	CHECK(a.sent);
	CHECK(!res.timed_out);
	CHECK_EQ_INT(dssh_session_exit_info(res.status, NULL, &sn, NULL), 1);
	CHECK_STR(sn, "HUP");

	/* A "signal" request goes straight to the shell. */
	a = (struct kill_arg){ false, false, SIGINT };
	s.command = "echo started; exec sleep 30";
	CHECK_EQ_INT(run_session(&s, NULL, kill_when_started, &a, &res), 0);
	CHECK(a.sent);
	CHECK_EQ_INT(dssh_session_exit_info(res.status, NULL, &sn, NULL), 1);
	CHECK_STR(sn, "INT");
}

/* Neither the middle's fds nor the caller's leak into the shell. */
static void
test_pam_fds(void)
{
	struct dssh_session_spec s;
	int leak = open("/dev/null", O_RDONLY);

	spec_init(&s, SVC_PERMIT, "ls /proc/self/fd | tr '\\n' ' '");
	CHECK_EQ_INT(run_session(&s, NULL, NULL, NULL, &res), 0);
	CHECK_STR(res.out, "0 1 2 3 ");
	close(leak);
}

static void
test_pam_env(void)
{
	struct dssh_session_spec s;

	spec_init(&s, SVC_ENV, "echo $DSSH_PAM_VAR; echo $SSH_CLIENT");
	s.ssh_client = "192.0.2.1 50000 22";
	CHECK_EQ_INT(run_session(&s, NULL, NULL, NULL, &res), 0);
	/* PAM adds variables but cannot override the SSH_* ones. */
	CHECK_STR(res.out, "frompam\n192.0.2.1 50000 22\n");
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
}

static void
test_pam_denied(void)
{
	struct dssh_session_spec s;
	struct dssh_session_child c;

	spec_init(&s, SVC_DENY, "echo should-not-run");
	CHECK_EQ_INT(dssh_session_spawn(&s, &c), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(c.pid, -1);
	CHECK_EQ_INT(c.stdin_fd, -1);
	CHECK_EQ_INT(c.stdout_fd, -1);
	CHECK_EQ_INT(c.stderr_fd, -1);
	/* Nothing left to reap. */
	CHECK_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
}

static void
test_pam_pty(void)
{
	struct dssh_session_spec s;
	char want[256];

	spec_init(&s, SVC_PERMIT, "tty; : </dev/tty && echo ctty-ok; exit 4");
	s.want_pty = true;
	s.cols = 80;
	s.rows = 24;
	CHECK_EQ_INT(run_session(&s, NULL, NULL, NULL, &res), 0);
	snprintf(want, sizeof(want), "%s\r\nctty-ok\r\n", res.child.tty_name);
	CHECK_STR(res.out, want);
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 4);
}

int
main(void)
{
	char conf[256];
	int ok;

	if (geteuid() != 0) {
		fprintf(stderr, "needs root: skipped\n");
		return 77;
	}
	snprintf(home, sizeof(home), "/tmp/dssh-session-pam-XXXXXX");
	snprintf(envconf, sizeof(envconf), "/tmp/dssh-pam-env-XXXXXX");
	ok = mkdtemp(home) != NULL && chmod(home, 0755) == 0 &&
	    chown(home, NOBODY_UID, NOBODY_GID) == 0;
	if (ok) {
		int fd = mkstemp(envconf);

		ok = fd >= 0 && close(fd) == 0 &&
		    write_file(envconf, "DSSH_PAM_VAR DEFAULT=frompam\n"
			"SSH_CLIENT DEFAULT=spoofed\n") == 0;
	}
	snprintf(conf, sizeof(conf),
	    "auth required pam_permit.so\naccount required pam_permit.so\n"
	    "session required pam_env.so readenv=0 user_readenv=0 conffile=%s\n", envconf);
	ok = ok && write_file("/etc/pam.d/" SVC_PERMIT,
	    "auth required pam_permit.so\naccount required pam_permit.so\n"
	    "session required pam_permit.so\n") == 0 &&
	    write_file("/etc/pam.d/" SVC_ENV, conf) == 0 &&
	    write_file("/etc/pam.d/" SVC_DENY,
		"auth required pam_permit.so\nsession required pam_deny.so\n") == 0;
	if (ok) {
		DSSH_RUN(test_exit_relayed);
		DSSH_RUN(test_signal_relayed);
		DSSH_RUN(test_plain_waitpid);
		DSSH_RUN(test_middle_relays_signals);
		DSSH_RUN(test_pam_fds);
		DSSH_RUN(test_pam_env);
		DSSH_RUN(test_pam_denied);
		DSSH_RUN(test_pam_pty);
	} else {
		perror("setup");
		CHECK(ok);
	}
	CHECK_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
	unlink("/etc/pam.d/" SVC_PERMIT);
	unlink("/etc/pam.d/" SVC_ENV);
	unlink("/etc/pam.d/" SVC_DENY);
	unlink(envconf);
	rmdir(home);
	DSSH_TEST_END();
}
