/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh-sftp-server: dssh's SFTP server over stdin/stdout, for
 * "Subsystem sftp /path/dssh-sftp-server" or `sftp -D`. Options as OpenSSH's
 * sftp-server: -e logs to stderr, -l sets the log level, -d the starting
 * directory (%d the user's home, %u the user name), -R refuses changes.
 */
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_sftp.h"

static void
usage(void)
{
	fprintf(stderr, "usage: dssh-sftp-server [-eR] [-d start_directory] [-l log_level]\n");
	exit(1);
}

/* The start directory with %d, %u and %% expanded; NULL on error. */
static char *
expand_start_dir(const char *spec)
{
	struct passwd *pw = getpwuid(geteuid());
	size_t cap = strlen(spec) + 1, len = 0;
	char *out;

	for (const char *p = spec; *p != '\0'; p++)
		if (*p == '%' && pw != NULL)
			cap += strlen(pw->pw_dir) + strlen(pw->pw_name);
	if ((out = malloc(cap)) == NULL)
		return NULL;
	for (const char *p = spec; *p != '\0'; p++) {
		const char *add = NULL;

		if (*p == '%' && p[1] == '%')
			add = "%";
		else if (*p == '%' && p[1] == 'd' && pw != NULL)
			add = pw->pw_dir;
		else if (*p == '%' && p[1] == 'u' && pw != NULL)
			add = pw->pw_name;
		else if (*p == '%') {
			free(out);
			return NULL;
		}
		if (add != NULL) {
			memcpy(out + len, add, strlen(add));
			len += strlen(add);
			p++;
		} else {
			out[len++] = *p;
		}
	}
	out[len] = '\0';
	return out;
}

int
main(int argc, char **argv)
{
	struct dssh_sftp_serve_opts o = { .log_id = "sftp" };
	enum dssh_log_level level = DSSH_LOG_ERROR;
	bool to_stderr = false;
	char *start = NULL;
	int ch, r, lv;

	while ((ch = getopt(argc, argv, "ed:l:Rh")) != -1) {
		switch (ch) {
		case 'e':
			to_stderr = true;
			break;
		case 'l':
			if ((lv = dssh_log_level_from_name(optarg)) < 0)
				usage();
			level = (enum dssh_log_level)lv;
			break;
		case 'd':
			free(start);
			if ((start = expand_start_dir(optarg)) == NULL)
				usage();
			break;
		case 'R':
			o.read_only = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	dssh_log_init("dssh-sftp-server", level, to_stderr);
	signal(SIGPIPE, SIG_IGN);
	o.home = start;
	r = dssh_sftp_serve_fds(STDIN_FILENO, STDOUT_FILENO, &o);
	free(start);
	return r == 0 ? 0 : 1;
}
