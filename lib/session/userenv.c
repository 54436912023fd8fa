/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ~/.ssh/environment (sshd(8) FILES; sshd_config(5) PermitUserEnvironment):
 * read in the session child after it became the user, so that the file is
 * opened with the user's rights only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dssh_err.h"
#include "dssh_util.h"
#include "session_int.h"

/* One line: leading blanks skipped; blank, '#' and malformed lines ignored. */
static int
user_env_line(struct session_env *e, const char *p, size_t n, const char *allow, bool *bad)
{
	const char *eq;
	char *name;
	int r;

	*bad = false;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	if (n == 0 || *p == '#')
		return 0;
	if (memchr(p, '\0', n) != NULL || (eq = memchr(p, '=', n)) == NULL || eq == p) {
		*bad = true;
		return 0;
	}
	if ((name = dssh_strndup(p, (size_t)(eq - p))) == NULL)
		return DSSH_ERR_ALLOC;
	if (!dssh_user_env_allowed(allow, name)) {
		free(name);
		return 0;
	}
	/* the value is the rest of the line, as written */
	char *value = dssh_strndup(eq + 1, n - (size_t)(eq + 1 - p));

	r = value != NULL ? session_env_set(e, name, strlen(name), value, true) : DSSH_ERR_ALLOC;
	free(name);
	free(value);
	return r;
}

int
session_user_env_parse(struct session_env *e, const char *buf, size_t len,
    const char *allow, unsigned *nbad)
{
	size_t off = 0, n;
	const char *nl;
	unsigned lines = 0;
	bool bad;
	int r;

	if (nbad != NULL)
		*nbad = 0;
	while (off < len) {
		nl = memchr(buf + off, '\n', len - off);
		n = nl != NULL ? (size_t)(nl - (buf + off)) : len - off;
		if (++lines > SESSION_USER_ENV_MAX_LINES)
			return DSSH_ERR_NO_BUFFER_SPACE;
		if (n > SESSION_USER_ENV_MAX_LINE)
			bad = true;
		else if ((r = user_env_line(e, buf + off, n, allow, &bad)) != 0)
			return r;
		if (bad && nbad != NULL)
			(*nbad)++;
		off += n + (nl != NULL);
	}
	return 0;
}

/* The whole file into buf (at most SESSION_USER_ENV_MAX_FILE bytes). */
static int
read_env_file(const char *path, char **buf, size_t *len)
{
	struct stat st;
	size_t got = 0;
	ssize_t k;
	int fd;

	*buf = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0)
		return errno == ENOENT || errno == ENOTDIR ? DSSH_ERR_NOT_FOUND : DSSH_ERR_SYSTEM;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (*buf = malloc(SESSION_USER_ENV_MAX_FILE)) == NULL) {
		close(fd);
		return DSSH_ERR_SYSTEM;
	}
	while (got < SESSION_USER_ENV_MAX_FILE &&
	    (k = read(fd, *buf + got, SESSION_USER_ENV_MAX_FILE - got)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			close(fd);
			free(*buf);
			*buf = NULL;
			return DSSH_ERR_SYSTEM;
		}
		got += (size_t)k;
	}
	close(fd);
	*len = got;
	return 0;
}

void
session_user_env_read(struct session_exec *x)
{
	const struct dssh_session_spec *s = x->spec;
	const char *home = s->user.home != NULL ? s->user.home : "/";
	char path[4096], nb[16], *buf;
	unsigned nbad;
	size_t len;
	int r;

	if (s->user_env == NULL || strcmp(s->user_env, "no") == 0)
		return;
	if ((size_t)snprintf(path, sizeof(path), "%s/.ssh/environment", home) >= sizeof(path))
		return;
	if ((r = read_env_file(path, &buf, &len)) != 0) {
		if (r != DSSH_ERR_NOT_FOUND)
			session_child_say("dssh: cannot read ", path, (const char *)NULL);
		return;
	}
	r = session_user_env_parse(&x->env, buf, len, s->user_env, &nbad);
	free(buf);
	if (r != 0)
		session_child_say("dssh: ", path, ": ", dssh_err_str(r), (const char *)NULL);
	else if (nbad > 0) {
		snprintf(nb, sizeof(nb), "%u", nbad);
		session_child_say("dssh: ", path, ": ", nb, " bad line(s) ignored",
		    (const char *)NULL);
	}
}
