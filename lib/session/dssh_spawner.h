/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_SPAWNER_H
#define DSSH_SPAWNER_H

/*
 * The spawner: a small single-threaded privileged process that makes
 * session children (dssh_session_spawn, PAM middle process included) for a
 * threaded server, which must not fork children that run code before exec.
 *
 * It is the server's own executable re-executed (/proc/self/exe --spawner
 * FD LEVEL STDERR), so it holds none of the server's secrets (host keys),
 * and started with only async-signal-safe calls between fork and exec. The
 * server's main() hands such an invocation to dssh_spawner_maybe_run()
 * before anything else.
 *
 * Protocol (one SOCK_SEQPACKET message each, at most DSSH_SPAWNER_MSG_MAX
 * bytes, fields in SSH wire encoding: u8, u32, u64, bool as one byte 0 or
 * 1, string as u32 length + bytes without NUL, ostring an optional string
 * as bool present + string when present); every message is parsed with
 * checked reads and a message with trailing bytes is refused:
 *
 *   server -> spawner
 *     SPAWN  (1):  u64 id, then the spec: string user, u32 uid, u32 gid,
 *                  ostring home, ostring shell, ostring command,
 *                  bool subsystem, ostring forced_command,
 *                  ostring original_command, bool want_pty, ostring term,
 *                  u32 cols, u32 rows, u32 xpixel, u32 ypixel, string modes
 *                  (<= DSSH_SESSION_MODES_MAX), u32 n_env (<=
 *                  DSSH_SPAWNER_MAX_ENV) and n_env strings "NAME=value",
 *                  ostring ssh_client, ostring ssh_connection,
 *                  ostring remote_host, bool use_pam, ostring pam_service,
 *                  ostring chroot_directory, ostring internal, u32 login,
 *                  u64 auth_id, bool user_rc, ostring x11_proto, ostring
 *                  x11_cookie, ostring x11_auth_display, ostring
 *                  xauth_path, ostring user_env (PermitUserEnvironment,
 *                  1..4096 bytes without control characters).
 *     SIGNAL (2):  u64 id, string RFC 4254 signal name ("TERM", ...).
 *                  No reply; an id that already exited is ignored.
 *   spawner -> server
 *     SPAWN_REPLY (0x81): u64 id, u32 result (0 or a negated DSSH_ERR_*),
 *                  u32 pid, u32 shell_pid, bool has_pty, string tty_name;
 *                  on success SCM_RIGHTS carries the pty master (has_pty)
 *                  or stdin, stdout, stderr in that order. A SPAWN too
 *                  malformed to carry an id gets no reply (only a log line).
 *     EXIT   (0x82): u64 id, u32 raw wait status, once the spawner reaped
 *                  the session child (with PAM, the user's exact status).
 *
 * Resizing needs no message: the server does TIOCSWINSZ itself on the pty
 * master it received (dssh_session_resize).
 *
 * The spawner exits when its socket reaches EOF; live sessions go on (the
 * server hangs them up with SIGNAL HUP before, as it always did).
 *
 * dssh_spawner_start makes the caller a child subreaper: if the spawner
 * dies, its session children become the caller's, and the client reaps
 * them itself (waitpid on their known pids) and still reports their exits.
 * The caller then starts a new spawner with dssh_spawner_restart.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "dssh_session.h"

#define DSSH_SPAWNER_MSG_MAX (256u * 1024)
#define DSSH_SPAWNER_MAX_ENV 256
/* How long a SPAWN waits for its reply (PAM session modules may be slow). */
#define DSSH_SPAWNER_SPAWN_TIMEOUT_MS 30000

enum {
	DSSH_SPAWNER_MSG_SPAWN = 1,
	DSSH_SPAWNER_MSG_SIGNAL = 2,
	DSSH_SPAWNER_MSG_SPAWN_REPLY = 0x81,
	DSSH_SPAWNER_MSG_EXIT = 0x82,
};

/* One in-process program, by name; a table ends with { NULL, NULL }. */
struct dssh_spawner_internal {
	const char *name;
	dssh_session_internal_fn run;
};

/* ---- the spawner process ---- */

/*
 * The monitor (privilege separation): a server that drops root gives the
 * spawner more requests to serve (app/dsshd/monitor.c). Set before
 * dssh_spawner_maybe_run; the spawner then
 *   - passes every request of a type it does not know, with the fds that
 *     came with it (at most 2, the callee owns them), to request();
 *   - spawns a session only when spawn_check(spec) returns 0 (spec->auth_id
 *     names the connection; the callee logs refusals);
 *   - calls tick() after each wake-up (a request read, a child reaped).
 * Children the callee forks are reaped by the spawner as strays.
 */
struct dssh_spawner_monitor {
	void *arg;
	void (*request)(void *arg, const uint8_t *msg, size_t len, int *fds, size_t nfds);
	int (*spawn_check)(void *arg, const struct dssh_session_spec *spec);
	void (*tick)(void *arg);
	void (*fini)(void *arg);        /* the server is gone; the spawner exits */
};
void dssh_spawner_set_monitor(const struct dssh_spawner_monitor *m);
/* In a child forked by a monitor request: close every fd >= 3 but keep[]. */
void dssh_spawner_child_fds(const int *keep, size_t nkeep);

/*
 * When argv is the spawner's hidden invocation ("--spawner" FD LEVEL
 * STDERR as argv[1..4]), runs the spawner and never returns; otherwise
 * returns at once. Call first thing in main().
 */
void dssh_spawner_maybe_run(int argc, char **argv, const struct dssh_spawner_internal *table);

/* Serves fd until EOF, then exits. table may be NULL (no internal programs). */
_Noreturn void dssh_spawner_main(int fd, const struct dssh_spawner_internal *table);

/* ---- the server's side ---- */

struct dssh_spawner;

/* Called for each session child that exited: its id and raw wait status. */
typedef void (*dssh_spawner_exit_fn)(void *arg, uint64_t id, int wait_status);

/*
 * Make the caller a child subreaper (PR_SET_CHILD_SUBREAPER) and start the
 * spawner from exe (NULL: /proc/self/exe, the caller's own executable,
 * whose main() must call dssh_spawner_maybe_run). The spawner logs as the
 * caller does (level, stderr or syslog).
 */
int dssh_spawner_start(const char *exe, struct dssh_spawner **out);

/* Poll this fd for reading (EXIT notifications, the spawner's death). */
int dssh_spawner_fd(const struct dssh_spawner *sp);
/* The spawner's pid (-1 when it is dead and not restarted). */
pid_t dssh_spawner_pid(const struct dssh_spawner *sp);

/*
 * Like dssh_session_spawn, through the spawner, as session id (unique
 * among live sessions, chosen by the caller). Blocks until the reply (a
 * local fork; PAM session modules with UsePAM). *out's fds are the
 * caller's (non-blocking, close-on-exec; close with dssh_session_close);
 * dssh_session_resize and dssh_session_close_stdin work on it, but signals
 * and exits go through dssh_spawner_signal and the exit callback, never
 * dssh_session_signal or dssh_session_reap. DSSH_ERR_CONN_CLOSED: the
 * spawner is dead (restart it and try again).
 */
int dssh_spawner_spawn(struct dssh_spawner *sp, uint64_t id,
    const struct dssh_session_spec *spec, struct dssh_session_child *out);

/*
 * RFC 4254 signal to session id's process (its process group with a pty).
 * DSSH_ERR_INVALID_ARGUMENT for an unknown name, DSSH_ERR_NOT_FOUND when
 * the session already exited (as far as the caller was told).
 */
int dssh_spawner_signal(struct dssh_spawner *sp, uint64_t id, const char *ssh_signame);

/*
 * Non-blocking: reads what the spawner sent, reaps the sessions adopted
 * after a spawner's death, and calls cb for each exit. Call when the fd is
 * readable, on SIGCHLD and from a timer. Returns 0, or DSSH_ERR_CONN_CLOSED
 * when the spawner died: its process is reaped, its sessions adopted (their
 * exits still come through cb), and dssh_spawner_restart is due (take the
 * old fd out of any poll set first: restart closes it).
 */
int dssh_spawner_poll(struct dssh_spawner *sp, dssh_spawner_exit_fn cb, void *arg);

/*
 * One monitor request (msg starts with its type byte) with up to 2 fds
 * (SCM_RIGHTS), no reply on this socket: replies go down a channel passed
 * as an fd. DSSH_ERR_CONN_CLOSED: the spawner is dead.
 */
int dssh_spawner_send(struct dssh_spawner *sp, const uint8_t *msg, size_t len,
    const int *fds, size_t nfds);

/* After DSSH_ERR_CONN_CLOSED: a new spawner for new sessions. */
int dssh_spawner_restart(struct dssh_spawner *sp);

/* Live sessions known (spawned, exit not yet reported). */
size_t dssh_spawner_sessions(const struct dssh_spawner *sp);

/*
 * Close the socket (the spawner exits; session children go on, reparented)
 * and reap the spawner. NULL is fine.
 */
void dssh_spawner_free(struct dssh_spawner *sp);

#endif
