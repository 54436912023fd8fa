/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * "internal-sftp": dssh's own SFTP server (lib/sftp) run inside the session
 * process, which the spawner forked and which already runs as the user
 * (and in its ChrootDirectory): the kernel enforces the user's rights on
 * every file operation.
 *
 * Arguments, as sshd's internal-sftp takes them (whitespace-separated, no
 * quoting): -d DIR start directory (%d the user's home, %u the user name,
 * %% a percent sign), -R read-only, -u UMASK (octal), -l LEVEL log level;
 * -e and -f FACILITY are accepted and change nothing (the spawner's log
 * destination is dsshd's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_session.h"
#include "dssh_sftp.h"
#include "internal.h"

#define MAX_ARGS 32

/* %d, %u and %% of a start directory; 0, or -1 when it does not fit. */
static int
expand_dir(const char *in, const struct dssh_session_spec *spec, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = in; *p != '\0'; p++) {
		const char *add = NULL;
		char one[2] = { *p, '\0' };

		if (*p == '%') {
			p++;
			if (*p == 'd')
				add = spec->user.home != NULL ? spec->user.home : "/";
			else if (*p == 'u')
				add = spec->user.name;
			else if (*p == '%')
				add = "%";
			else
				return -1;
		} else {
			add = one;
		}
		size_t n = strlen(add);

		if (o + n >= len)
			return -1;
		memcpy(out + o, add, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

int
dsshd_internal_sftp(int in_fd, int out_fd, int err_fd, const struct dssh_session_spec *spec)
{
	const char *cmd = spec->forced_command != NULL ? spec->forced_command : spec->command;
	char *copy = strdup(cmd != NULL ? cmd : "internal-sftp"), *save = NULL, *argv[MAX_ARGS];
	char start[4096], log_id[160];
	struct dssh_sftp_serve_opts o = { .home = NULL };
	int argc = 0, r;

	(void)err_fd;
	/* A fork of the spawner: named for ps and top, not "exe". */
	(void)prctl(PR_SET_NAME, "dsshd-sftp", 0, 0, 0);
	if (copy == NULL)
		return 1;
	for (char *t = strtok_r(copy, " \t", &save); t != NULL && argc < MAX_ARGS;
	    t = strtok_r(NULL, " \t", &save))
		argv[argc++] = t;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-R") == 0) {
			o.read_only = true;
		} else if (strcmp(a, "-e") == 0) {
			;
		} else if ((strcmp(a, "-d") == 0 || strcmp(a, "-u") == 0 || strcmp(a, "-l") == 0 ||
		    strcmp(a, "-f") == 0) && v != NULL) {
			i++;
			if (a[1] == 'd' && expand_dir(v, spec, start, sizeof(start)) == 0) {
				o.home = start;
			} else if (a[1] == 'u') {
				char *end;
				long m = strtol(v, &end, 8);

				if (*end != '\0' || m < 0 || m > 0777)
					goto bad;
				umask((mode_t)m);
			} else if (a[1] == 'l') {
				int lv = dssh_log_level_from_name(v);

				if (lv < 0)
					goto bad;
				dssh_log_set_level((enum dssh_log_level)lv);
			} else if (a[1] == 'd') {
				goto bad;
			}
		} else {
			goto bad;
		}
		continue;
bad:
		dssh_error("internal-sftp for %s: bad argument %s%s%s", spec->user.name, a,
		    v != NULL ? " " : "", v != NULL ? v : "");
		free(copy);
		return 1;
	}
	snprintf(log_id, sizeof(log_id), "sftp %s from %s", spec->user.name,
	    spec->remote_host != NULL ? spec->remote_host : "?");
	o.log_id = log_id;
	dssh_verbose("%s: session starts%s%s%s", log_id, o.read_only ? " (read-only)" : "",
	    o.home != NULL ? " in " : "", o.home != NULL ? o.home : "");
	r = dssh_sftp_serve_fds(in_fd, out_fd, &o);
	dssh_verbose("%s: session ends%s%s", log_id, r != 0 ? ": " : "",
	    r != 0 ? dssh_err_str(r) : "");
	free(copy);
	return r == 0 ? 0 : 1;
}
