/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PAM session stack runs as root around the user's process: the
 * forked middle process opens the session, forks the user's process, waits
 * for it while relaying signals, closes the session and exits the way the
 * user's process did.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "dssh_err.h"
#include "dssh_session.h"
#include "session_int.h"

/* Session modules may print (motd, mail); nobody can answer prompts here. */
static int
session_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *arg)
{
	struct pam_response *r;
	int i;

	(void)arg;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			if (msg[i]->msg != NULL)
				session_child_say(msg[i]->msg, (const char *)NULL);
			break;
		default:
			free(r);
			return PAM_CONV_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t k;

	while (n > 0) {
		k = write(fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		b += k;
		n -= (size_t)k;
	}
}

static _Noreturn void
middle_fail(pam_handle_t *pamh, int sync_fd, const char *what, int pr)
{
	struct session_sync s;
	const char *es = pamh != NULL ? pam_strerror(pamh, pr) : "pam_start failed";

	memset(&s, 0, sizeof(s));
	s.pid = -1;
	snprintf(s.msg, sizeof(s.msg), "%s: %s", what, es != NULL ? es : "?");
	session_child_say("dssh: PAM ", s.msg, (const char *)NULL);
	write_all(sync_fd, &s, sizeof(s));
	if (pamh != NULL)
		pam_end(pamh, pr);
	_exit(DSSH_SESSION_EXIT_SETUP);
}

/* Exit the way the user's process did: same code, or death by same signal. */
static _Noreturn void
mirror_status(int st)
{
	struct rlimit rl = { 0, 0 };
	sigset_t one;
	int sig;

	if (WIFSIGNALED(st)) {
		sig = WTERMSIG(st);
		/* No core file of ours; the exact status went over the pipe. */
		(void)setrlimit(RLIMIT_CORE, &rl);
		signal(sig, SIG_DFL);
		sigemptyset(&one);
		sigaddset(&one, sig);
		(void)sigprocmask(SIG_UNBLOCK, &one, NULL);
		raise(sig);
		_exit(128 + sig);
	}
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : DSSH_SESSION_EXIT_SETUP);
}

static const int relayed_signals[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM,
};

_Noreturn void
session_pam_middle(struct session_exec *x, int sync_fd)
{
	const struct dssh_session_spec *spec = x->spec;
	struct pam_conv conv = { session_conv, NULL };
	pam_handle_t *pamh = NULL;
	struct session_sync s;
	sigset_t waitset, blockset;
	siginfo_t si;
	char **penv;
	size_t i;
	int pr, sig, st = 0;
	int32_t st32;
	pid_t pid, p;

	/* Own session, away from the server's terminal and process group. */
	(void)setsid();
	sigemptyset(&waitset);
	for (i = 0; i < sizeof(relayed_signals) / sizeof(relayed_signals[0]); i++)
		sigaddset(&waitset, relayed_signals[i]);
	sigaddset(&waitset, SIGCHLD);
	blockset = waitset;
	sigaddset(&blockset, SIGPIPE);  /* a closed sync pipe is an EPIPE, not death */
	(void)sigprocmask(SIG_BLOCK, &blockset, NULL);

	if ((pr = pam_start(spec->pam_service, spec->user.name, &conv, &pamh)) != PAM_SUCCESS)
		middle_fail(NULL, sync_fd, "pam_start", pr);
	if ((pr = pam_set_item(pamh, PAM_TTY, x->pty ? x->tty_name : "ssh")) != PAM_SUCCESS)
		middle_fail(pamh, sync_fd, "pam_set_item(PAM_TTY)", pr);
	if (spec->remote_host != NULL &&
	    (pr = pam_set_item(pamh, PAM_RHOST, spec->remote_host)) != PAM_SUCCESS)
		middle_fail(pamh, sync_fd, "pam_set_item(PAM_RHOST)", pr);
	if ((pr = pam_setcred(pamh, PAM_ESTABLISH_CRED)) != PAM_SUCCESS)
		middle_fail(pamh, sync_fd, "pam_setcred", pr);
	if ((pr = pam_open_session(pamh, 0)) != PAM_SUCCESS) {
		(void)pam_setcred(pamh, PAM_DELETE_CRED);
		middle_fail(pamh, sync_fd, "pam_open_session", pr);
	}
	/* PAM's environment may override ours, but not the SSH_* variables. */
	if ((penv = pam_getenvlist(pamh)) != NULL) {
		for (i = 0; penv[i] != NULL; i++) {
			(void)session_env_put(&x->env, penv[i], true);
			free(penv[i]);
		}
		free(penv);
	}
	if (session_env_add_ssh_vars(x) != 0) {
		pr = PAM_BUF_ERR;
		goto close;
	}

	if ((pid = fork()) < 0) {
		pr = PAM_SYSTEM_ERR;
		goto close;
	}
	if (pid == 0) {
		session_reset_signals();
		session_exec_shell(x);   /* closes sync_fd (fd 3) */
	}
	memset(&s, 0, sizeof(s));
	s.pid = (int32_t)pid;
	write_all(sync_fd, &s, sizeof(s));

	for (;;) {
		sig = sigwaitinfo(&waitset, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			/* Cannot wait for signals: just wait for the child. */
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			break;
		}
		if (sig == SIGCHLD) {
			do {
				p = waitpid(pid, &st, WNOHANG);
			} while (p < 0 && errno == EINTR);
			if (p == pid || (p < 0 && errno == ECHILD))
				break;
			continue;
		}
		/* Relay to the user's process (its process group with a pty). */
		(void)kill(x->pty ? -pid : pid, sig);
	}

	(void)pam_close_session(pamh, 0);
	(void)pam_setcred(pamh, PAM_DELETE_CRED);
	pam_end(pamh, PAM_SUCCESS);
	st32 = (int32_t)st;
	write_all(sync_fd, &st32, sizeof(st32));
	mirror_status(st);

 close:
	(void)pam_close_session(pamh, 0);
	(void)pam_setcred(pamh, PAM_DELETE_CRED);
	middle_fail(pamh, sync_fd, "session setup", pr);
}
