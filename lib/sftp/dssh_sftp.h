/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_SFTP_H
#define DSSH_SFTP_H

/*
 * dssh's SFTP server (protocol version 3, draft-ietf-secsh-filexfer-02, with
 * OpenSSH's extensions), sans-I/O: the caller feeds the peer's bytes to
 * dssh_sftp_input() and sends what dssh_sftp_output() holds. File-system
 * work goes through a backend ops table (POSIX by default) and runs with
 * the caller's own credentials: the process already runs as the user, so
 * the kernel enforces permissions.
 *
 * Requests are answered in the order they were framed. While more than
 * DSSH_SFTP_OUT_HIGH bytes of replies are pending, dssh_sftp_input() stops
 * consuming (dssh_sftp_input_paused()), so memory per session is bounded.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest packet accepted (u32 length field): a 256 KiB WRITE plus headers. */
#define DSSH_SFTP_MAX_PACKET (256u * 1024 + 1024)
/* Longest READ answered and WRITE accepted, as limits@openssh.com says. */
#define DSSH_SFTP_MAX_RW (256u * 1024)
#define DSSH_SFTP_MAX_HANDLES 256u
/* Pending reply bytes above which input is paused. */
#define DSSH_SFTP_OUT_HIGH (1024u * 1024)

struct dssh_sftp;
struct dssh_sftp_fs_ops;        /* sftp_int.h; NULL means the POSIX backend */

struct dssh_sftp_opts {
	/* Where relative paths, REALPATH "." and "~" lead; NULL: process cwd. */
	const char *home;
	bool read_only;             /* every modifying request: PERMISSION_DENIED */
	const char *log_id;         /* prefix of log lines; NULL: "sftp" */
	const struct dssh_sftp_fs_ops *fs;
	void *fs_ctx;
	uint32_t max_handles;       /* 0: DSSH_SFTP_MAX_HANDLES */
};

int dssh_sftp_create(const struct dssh_sftp_opts *o, struct dssh_sftp **sp);
void dssh_sftp_free(struct dssh_sftp *s);     /* closes every handle; NULL ok */

/*
 * Consumes up to n peer bytes (*used says how many) and answers every whole
 * packet. Stops early when input is paused; the caller offers the rest
 * again later. A negative return (oversized packet, no request id, no INIT
 * first) means the session must end; the engine refuses input afterwards.
 */
int dssh_sftp_input(struct dssh_sftp *s, const void *p, size_t n, size_t *used);
bool dssh_sftp_input_paused(const struct dssh_sftp *s);
/* True between packets (no partial packet buffered). */
bool dssh_sftp_idle(const struct dssh_sftp *s);

/* Reply bytes to send; valid until the next call on s. */
const uint8_t *dssh_sftp_output(const struct dssh_sftp *s, size_t *len);
void dssh_sftp_output_consume(struct dssh_sftp *s, size_t n);

struct dssh_sftp_serve_opts {
	const char *home;           /* as dssh_sftp_opts */
	bool read_only;
	const char *log_id;
};

/*
 * Serves one session over in_fd/out_fd (pipes or sockets, made non-blocking
 * for the duration, flags restored on return) until EOF on in_fd: 0 on a
 * clean EOF, a negative DSSH_ERR_* on a protocol or I/O error (logged).
 * SIGPIPE is blocked while it runs. Suited to a forked child that has
 * already dropped privileges, or to a standalone process.
 */
int dssh_sftp_serve_fds(int in_fd, int out_fd, const struct dssh_sftp_serve_opts *o);

#endif
