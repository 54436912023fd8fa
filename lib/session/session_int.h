/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_SESSION_INT_H
#define DSSH_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dssh_session.h"

/* A growable "NAME=value" list ending in NULL, for execve. */
struct session_env {
	char **v;
	size_t n;
	size_t cap;
};

int session_env_set(struct session_env *e, const char *name, size_t name_len,
    const char *value, bool overwrite);
/* "NAME=value"; entries without '=' or with an empty name are refused. */
int session_env_put(struct session_env *e, const char *entry, bool overwrite);
void session_env_free(struct session_env *e);

/* Everything the user's process needs, prepared before fork. */
struct session_exec {
	const struct dssh_session_spec *spec;
	char *shell;
	char *argv[4];
	char *argv0;
	struct session_env env;
	gid_t *groups;
	int ngroups;
	bool drop_root;     /* we run as root and become the user */
	bool pty;
	const char *tty_name;
	dssh_session_internal_fn internal;   /* runs instead of exec when set */
	char lastlog_msg[512];      /* "Last login: ...\r\n" to print, or "" */
};

/*
 * ~/.ssh/environment with PermitUserEnvironment (userenv.c). parse: the
 * NAME=value lines of buf whose names allow permits (dssh_user_env_allowed)
 * go into e, replacing; leading blanks are skipped, blank and '#' lines
 * ignored, lines without '=', with an empty name, a NUL or longer than
 * SESSION_USER_ENV_MAX_LINE are counted in *nbad and skipped. More than
 * SESSION_USER_ENV_MAX_LINES lines: DSSH_ERR_NO_BUFFER_SPACE. read: in the
 * child, as the user, the file under the user's home into x->env (a no-op
 * unless spec->user_env; problems are told on fd 2, the session goes on).
 */
#define SESSION_USER_ENV_MAX_FILE (256u * 1024)
#define SESSION_USER_ENV_MAX_LINE 8192u
#define SESSION_USER_ENV_MAX_LINES 4096u
int session_user_env_parse(struct session_env *e, const char *buf, size_t len,
    const char *allow, unsigned *nbad);
void session_user_env_read(struct session_exec *x);

/* The variables set last (cannot be overridden by client or PAM env). */
int session_env_add_ssh_vars(struct session_exec *x);

/*
 * In a forked process whose fds 0-2 are the session's: become the user's
 * process and exec. Never returns; failures go to fd 2 and exit
 * DSSH_SESSION_EXIT_SETUP.
 */
_Noreturn void session_exec_shell(struct session_exec *x);

/*
 * dssh_session_spawn, with the function that spec->internal names (NULL
 * when spec->internal is NULL). For the spawner.
 */
int session_spawn(const struct dssh_session_spec *spec, dssh_session_internal_fn internal,
    struct dssh_session_child *out);

/* Write the NULL-terminated list of strings to fd 2 as one line. */
void session_child_say(const char *s, ...) __attribute__((sentinel));

/* Closes fds lo..hi (close_range(2), else one by one up to the fd limit). */
void session_close_span(unsigned int lo, unsigned int hi);
void session_close_from(int lowfd);
void session_reset_signals(void);

/*
 * PAM middle process record, sent over the sync pipe once the user's
 * process has been forked (pid > 0) or PAM failed (pid < 0, msg set).
 * After the user's process exits the middle sends its raw wait status
 * (int32_t) on the same pipe.
 */
struct session_sync {
	int32_t pid;
	char msg[200];
};

/* Runs as the forked middle process: fds 0-2 set, sync_fd = 3. */
_Noreturn void session_pam_middle(struct session_exec *x, int sync_fd);

/* login.c: login accounting and what a login prints (see there). */
int session_lastlog_message(uid_t uid, char *out, size_t n);
void session_login_record(const char *tty_name, pid_t pid, const char *user, uid_t uid,
    const char *host);
void session_logout_record(const char *tty_name, pid_t pid);
void session_print_motd(void);
#endif
