/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Passphrases for encrypted private key files, read as ssh(1) does: from
 * the terminal (/dev/tty, no echo) or from the SSH_ASKPASS program, which
 * gets the prompt as its argument and prints the passphrase.
 * SSH_ASKPASS_REQUIRE=force always uses the program, =prefer uses it when a
 * display is set, =never never; without a terminal the program is used
 * when a display is set. BatchMode reads nothing.
 *
 * A passphrase that decrypted a key is kept for the process's life, so
 * that dssh-cp's streams, each its own connection, ask only once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "client_int.h"
#include "dssh_client.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_sshkey.h"
#include "dssh_util.h"

#define PASS_MAX 1024
#define PROMPTS 3               /* ssh's NumberOfPasswordPrompts default */
#define DEFAULT_ASKPASS "/usr/bin/ssh-askpass"

static char *
strip_dup(char *buf)
{
	char *p;

	buf[strcspn(buf, "\r\n")] = '\0';
	p = strdup(buf);
	dssh_wipe(buf, PASS_MAX);
	return p;
}

/* The askpass program's first output line; NULL if it fails or is cancelled. */
static char *
askpass(const char *prog, const char *prompt)
{
	char buf[PASS_MAX];
	size_t len = 0;
	int fd[2], st = -1;
	pid_t pid;

	if (pipe2(fd, O_CLOEXEC) != 0)
		return NULL;
	if ((pid = fork()) < 0) {
		close(fd[0]);
		close(fd[1]);
		return NULL;
	}
	if (pid == 0) {
		if (dup2(fd[1], STDOUT_FILENO) < 0)
			_exit(127);
		execlp(prog, prog, prompt, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	while (len < sizeof(buf) - 1) {
		ssize_t n = read(fd[0], buf + len, sizeof(buf) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd[0]);
	for (;;) {
		pid_t w = waitpid(pid, &st, 0);

		if (w == pid)
			break;
		if (w < 0 && errno == EINTR)
			continue;
		st = -1;                /* e.g. SIGCHLD ignored: no status to trust */
		break;
	}
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		dssh_wipe(buf, sizeof(buf));
		return NULL;
	}
	return strip_dup(buf);
}

static char *
tty_read(FILE *tty, const char *prompt)
{
	struct termios t, saved;
	char buf[PASS_MAX], *got;
	bool restore;

	/* Unbuffered: the passphrase stays out of stdio's buffer, which is not wiped. */
	setvbuf(tty, NULL, _IONBF, 0);
	/*
	 * Echo off before the prompt: TCSAFLUSH drops typed-ahead input, which
	 * after the prompt could already be the answer.
	 */
	restore = tcgetattr(fileno(tty), &saved) == 0;
	if (restore) {
		t = saved;
		t.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &t);
	}
	fputs(prompt, tty);
	got = fgets(buf, sizeof(buf), tty);
	if (restore)
		tcsetattr(fileno(tty), TCSAFLUSH, &saved);
	fputs("\n", tty);
	fflush(tty);
	if (got == NULL) {
		dssh_wipe(buf, sizeof(buf));
		return NULL;
	}
	return strip_dup(buf);
}

static bool
have_display(void)
{
	const char *d = getenv("DISPLAY"), *w = getenv("WAYLAND_DISPLAY");

	return (d != NULL && *d != '\0') || (w != NULL && *w != '\0');
}

char *
dssh_client_read_passphrase(const char *prompt, bool batch)
{
	const char *req = getenv("SSH_ASKPASS_REQUIRE"), *prog = getenv("SSH_ASKPASS");
	bool force = req != NULL && strcmp(req, "force") == 0;
	bool never = req != NULL && strcmp(req, "never") == 0;
	FILE *tty;
	char *p;

	if (batch)
		return NULL;
	if (prog == NULL || *prog == '\0')
		prog = DEFAULT_ASKPASS;
	if (force || (!never && req != NULL && strcmp(req, "prefer") == 0 && have_display()))
		return askpass(prog, prompt);
	if ((tty = fopen("/dev/tty", "r+e")) != NULL) {
		p = tty_read(tty, prompt);
		fclose(tty);
		return p;
	}
	if (!never && have_display())
		return askpass(prog, prompt);
	return NULL;
}

/* ---- passphrases that worked, by key path ---- */

static struct {
	char *path;
	char *pass;             /* NULL: could not ask; the key is skipped */
} cache[2 * DSSH_CLIENT_MAX_IDS];
static size_t ncache;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static int
cache_find(const char *path)
{
	for (size_t i = 0; i < ncache; i++)
		if (strcmp(cache[i].path, path) == 0)
			return (int)i;
	return -1;
}

static void
cache_add(const char *path, const char *pass)
{
	if (ncache >= DSSH_ARRAY_SIZE(cache) || (cache[ncache].path = strdup(path)) == NULL)
		return;
	cache[ncache].pass = pass != NULL ? strdup(pass) : NULL;
	ncache++;
}

/* Does the agent hold the key of path.pub? */
static bool
agent_holds(const char *path, struct dssh_sshkey *const *keys, unsigned n)
{
	char pub[PATH_MAX + 8], line[16384];
	struct dssh_sshkey *k = NULL;
	bool held = false;
	FILE *f;

	if (n == 0 || snprintf(pub, sizeof(pub), "%s.pub", path) >= (int)sizeof(pub) ||
	    (f = fopen(pub, "re")) == NULL)
		return false;
	if (fgets(line, sizeof(line), f) != NULL &&
	    dssh_sshkey_parse_pubkey_text(line, &k, NULL) == 0)
		for (unsigned i = 0; i < n && !held; i++)
			held = dssh_sshkey_equal_public(k, keys[i]) == 1;
	dssh_sshkey_free(k);
	fclose(f);
	return held;
}

int
dssh_client_load_key(const char *path, bool batch, struct dssh_sshkey *const *agent_keys,
    unsigned n_agent, struct dssh_sshkey **keyp)
{
	char prompt[PATH_MAX + 64], *pass = NULL;
	int r, i;

	if ((r = dssh_sshkey_load_private(path, keyp)) != DSSH_ERR_KEY_ENCRYPTED)
		return r;
	if (agent_holds(path, agent_keys, n_agent)) {
		dssh_verbose("Key '%s' is encrypted; the agent holds it.", path);
		return DSSH_ERR_KEY_ENCRYPTED;
	}
	/* One prompt at a time, so that concurrent connections ask only once. */
	pthread_mutex_lock(&cache_lock);
	if ((i = cache_find(path)) >= 0) {
		r = cache[i].pass != NULL ?
		    dssh_sshkey_load_private_pass(path, cache[i].pass, keyp) : DSSH_ERR_KEY_ENCRYPTED;
		pthread_mutex_unlock(&cache_lock);
		return r;
	}
	snprintf(prompt, sizeof(prompt), "Enter passphrase for key '%s': ", path);
	r = DSSH_ERR_KEY_ENCRYPTED;
	for (int n = 0; n < PROMPTS && r != 0; n++) {
		if ((pass = dssh_client_read_passphrase(prompt, batch)) == NULL)
			break;
		if (*pass == '\0') {            /* as ssh: an empty answer skips the key */
			dssh_free_secret_str(pass);
			pass = NULL;
			break;
		}
		r = dssh_sshkey_load_private_pass(path, pass, keyp);
		if (r == DSSH_ERR_KEY_PASSPHRASE)
			fprintf(stderr, "Incorrect passphrase for key '%s'.\r\n", path);
		else if (r != 0)
			break;
		if (r != 0) {
			dssh_free_secret_str(pass);
			pass = NULL;
		}
	}
	if (r == DSSH_ERR_KEY_ENCRYPTED)
		fprintf(stderr, "Key '%s' is passphrase-protected and no passphrase was read%s: "
		    "skipped.\r\n", path, batch ? " (BatchMode)" : "");
	if (r == 0 || r == DSSH_ERR_KEY_ENCRYPTED)
		cache_add(path, pass);
	if (pass != NULL)
		dssh_free_secret_str(pass);
	pthread_mutex_unlock(&cache_lock);
	return r;
}
