/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_SESSION_H
#define DSSH_SESSION_H

/*
 * Handing an authenticated "session" channel to a local process, as sshd
 * does: a pty or three pipes, a clean environment, privileges dropped to
 * the user, the user's shell exec'd, and optionally a PAM session opened
 * around it.
 *
 * The SSH engine owns the event loop: it writes stdin_fd, reads stdout_fd
 * and stderr_fd (all non-blocking, close-on-exec), and calls
 * dssh_session_reap() when it learns (SIGCHLD, timer) that children exited.
 *
 * dssh_session_spawn() forks; with use_pam the forked process calls PAM
 * (not async-signal-safe), so call it from a process where fork+PAM is
 * sane (a single-threaded control process, as sshd's monitor). dsshd,
 * which has threads, has its sessions made by the spawner process
 * (dssh_spawner.h), which calls this.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <termios.h>

struct dssh_session_spec;

/*
 * A program that runs in the forked session child itself, after the
 * privilege drop (and chroot), instead of exec'ing the user's shell (as
 * sshd's "internal-sftp"). Its fds 0-2 are the session's (in_fd, out_fd,
 * err_fd); the return value is the session's exit code (negative: 1).
 */
typedef int (*dssh_session_internal_fn)(int in_fd, int out_fd, int err_fd,
    const struct dssh_session_spec *spec);

struct dssh_session_user {
	const char *name;
	uid_t uid;
	gid_t gid;
	const char *home;
	const char *shell;          /* NULL or "" means /bin/sh */
};

struct dssh_session_spec {
	struct dssh_session_user user;
	/*
	 * What the client asked for: NULL starts a login shell ("-sh").
	 * For a subsystem, the configured subsystem command line; it is run
	 * as "shell -c command" like an exec request.
	 */
	const char *command;
	bool subsystem;
	/*
	 * When set, runs instead of command. SSH_ORIGINAL_COMMAND is set to
	 * original_command, or to command when original_command is NULL.
	 */
	const char *forced_command;
	const char *original_command;

	bool want_pty;
	const char *term;           /* TERM for a pty session */
	uint32_t cols, rows, xpixel, ypixel;
	const uint8_t *modes;       /* RFC 4254 section 8 encoded modes (peer bytes) */
	size_t modes_len;

	/* "NAME=value" strings the caller's AcceptEnv check let through. */
	const char *const *env;
	size_t n_env;

	const char *ssh_client;     /* "ip port localport" */
	const char *ssh_connection; /* "ip port localip localport" */
	const char *remote_host;    /* PAM_RHOST */

	bool use_pam;
	const char *pam_service;    /* e.g. "sshd"; required with use_pam */

	/*
	 * ChrootDirectory, already expanded, or NULL. Every component of the
	 * path must be owned by root and not writable by group or others (else
	 * the spawn is refused with a logged error, as sshd does); the child
	 * chroots there and chdirs to "/" before dropping privileges, then to
	 * the user's home inside it when that exists.
	 */
	const char *chroot_directory;
	/*
	 * NULL, or the name of a program that runs in-process in the child
	 * instead of the shell (e.g. "internal-sftp"). Only the spawner knows
	 * such programs (dssh_spawner_main's table); dssh_session_spawn refuses
	 * it with DSSH_ERR_NOT_FOUND.
	 */
	const char *internal;
	/*
	 * DSSH_SESSION_LOGIN_* bits, for a pty session (ignored without one):
	 * RECORD writes utmp, wtmp and lastlog records (as sshd, for every pty
	 * session); LASTLOG and MOTD print the previous login and /etc/motd
	 * before the shell starts (sshd's PrintLastLog, PrintMotd: the caller
	 * sets them for an interactive login only), unless ~/.hushlogin exists.
	 */
	uint32_t login;
	/*
	 * The connection this session belongs to, as the server named it to
	 * the monitor (dssh_spawner.h): a monitor spawns only for the user it
	 * saw authenticate on that connection. 0 where no monitor checks.
	 */
	uint64_t auth_id;
	/*
	 * Before the user's program (not an internal one), as sshd's
	 * do_rc_files: ~/.ssh/rc when user_rc (PermitUserRC) and it exists,
	 * else /etc/ssh/sshrc, each run by /bin/sh with "proto cookie" on its
	 * stdin when X11 is forwarded; else, with X11, "xauth_path -q -" adds
	 * the session's fake cookie for x11_auth_display ("unix:N.S").
	 */
	bool user_rc;
	const char *x11_proto;      /* NULL: no X11 forwarding */
	const char *x11_cookie;     /* hex, the fake one the X clients present */
	const char *x11_auth_display;
	const char *xauth_path;
	/*
	 * PermitUserEnvironment ("yes" or a pattern list of names; NULL: no):
	 * after the privilege drop the child reads ~/.ssh/environment as the
	 * user and sets the NAME=value lines whose names it allows (at most
	 * DSSH_SESSION_USER_ENV_MAX bytes).
	 */
	const char *user_env;
};

#define DSSH_SESSION_USER_ENV_MAX 4096

#define DSSH_SESSION_LOGIN_RECORD  0x1u
#define DSSH_SESSION_LOGIN_LASTLOG 0x2u
#define DSSH_SESSION_LOGIN_MOTD    0x4u
#define DSSH_SESSION_LOGIN_ALL     0x7u

/* A failed password login in btmp, for lastb(1), as sshd records it (root;
 * nothing when /var/log/btmp does not exist). */
void dssh_session_record_failed_login(const char *user, const char *host);

#define DSSH_SESSION_TTY_NAME_MAX 64
/* Exit code of a session child that failed before or at exec. */
#define DSSH_SESSION_EXIT_SETUP 254

struct dssh_session_child {
	pid_t pid;          /* what the caller waits for: the PAM middle process or the shell */
	pid_t shell_pid;    /* the user's process (== pid without PAM) */
	int stdin_fd;       /* we write; == pty_fd with a pty */
	int stdout_fd;      /* we read;  == pty_fd with a pty */
	int stderr_fd;      /* we read;  -1 with a pty */
	int pty_fd;         /* pty master, -1 without a pty */
	char tty_name[DSSH_SESSION_TTY_NAME_MAX];  /* "/dev/pts/N" or "" */
	bool has_pty;
	/* internal */
	int status_fd;      /* PAM: the middle process reports the shell's raw status */
	bool reaped;
	int wait_status;
	bool login_recorded;  /* a utmp/wtmp login record waits for its logout */
};

/*
 * Start the session. On success *out is filled (all fds ours to close with
 * dssh_session_close) and 0 is returned. On failure nothing is left behind:
 * no fds, no unreaped child. A failure of the user's program itself (exec
 * of a nonexistent shell, chdir, ...) is not a spawn failure: the child
 * reports it on its stderr and exits DSSH_SESSION_EXIT_SETUP.
 */
int dssh_session_spawn(const struct dssh_session_spec *spec, struct dssh_session_child *out);

/*
 * The ChrootDirectory check: path absolute, and every component, from "/"
 * to path itself, a directory owned by root and not group or other
 * writable. 0, or DSSH_ERR_PERMISSION with the reason in why.
 */
int dssh_session_check_chroot(const char *path, char *why, size_t why_len);

/* TIOCSWINSZ on the pty (values above 65535 clamp). No pty: DSSH_ERR_INVALID_ARGUMENT. */
int dssh_session_resize(struct dssh_session_child *c, uint32_t cols, uint32_t rows,
    uint32_t xpixel, uint32_t ypixel);

/*
 * Deliver an RFC 4254 6.9 "signal" request ("TERM", "INT", ...) to the
 * user's process; with a pty, to its process group. Unknown name:
 * DSSH_ERR_INVALID_ARGUMENT; already reaped: DSSH_ERR_NOT_FOUND.
 */
int dssh_session_signal(struct dssh_session_child *c, const char *ssh_signame);

/* Channel EOF from the client: close our stdin end (no-op with a pty). */
int dssh_session_close_stdin(struct dssh_session_child *c);

/*
 * waitpid(WNOHANG) on c->pid: 0 and *wait_status when it has exited (and on
 * every later call), DSSH_ERR_AGAIN while it runs. With PAM, the status is
 * the shell's exact status as reported by the middle process.
 */
int dssh_session_reap(struct dssh_session_child *c, int *wait_status);

/*
 * For "exit-status" / "exit-signal": returns 0 with *exit_code for a normal
 * exit, 1 with *signame (RFC 4254 name without "SIG", or
 * "SIG@openssh.com"-style fallback for others) and *core for a signal
 * death, DSSH_ERR_INVALID_ARGUMENT when the status is neither.
 */
int dssh_session_exit_info(int wait_status, int *exit_code, const char **signame, bool *core);

/* RFC 4254 signal name <-> number; -1 / NULL when not one of the RFC's. */
int dssh_session_signum(const char *ssh_signame);
const char *dssh_session_signame(int sig);

/* Close our fds (idempotent). Does not kill or reap. */
void dssh_session_close(struct dssh_session_child *c);

/* Longest modes blob accepted (the RFC's opcodes fit in a few hundred bytes). */
#define DSSH_SESSION_MODES_MAX 4096

/*
 * Apply RFC 4254 section 8 encoded terminal modes (peer bytes) to *t.
 * Unknown opcodes 1..159 are skipped, an opcode >= 160 stops parsing, as
 * does TTY_OP_END or the end of the data. A truncated argument gives
 * DSSH_ERR_MSG_INCOMPLETE, a blob longer than DSSH_SESSION_MODES_MAX
 * DSSH_ERR_STRING_TOO_LARGE; *t is only changed on success. Out-of-range
 * values (a control character above 255, a speed with no B constant) are
 * ignored, like unknown opcodes.
 */
int dssh_session_decode_modes(const uint8_t *modes, size_t len, struct termios *t);

#endif
