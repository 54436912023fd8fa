/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_LOG_H
#define DSSH_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct timespec;

/* Levels and names as sshd's LogLevel. */
enum dssh_log_level {
	DSSH_LOG_QUIET = 0,
	DSSH_LOG_FATAL,
	DSSH_LOG_ERROR,
	DSSH_LOG_INFO,
	DSSH_LOG_VERBOSE,
	DSSH_LOG_DEBUG1,
	DSSH_LOG_DEBUG2,
	DSSH_LOG_DEBUG3,
};

/* Process-wide, set once at start-up (not touched on the data path). */
void dssh_log_init(const char *progname, enum dssh_log_level level, bool to_stderr);
void dssh_log_set_level(enum dssh_log_level level);
enum dssh_log_level dssh_log_get_level(void);
/* Whether messages go to stderr (else syslog), as dssh_log_init set it. */
bool dssh_log_to_stderr(void);
int dssh_log_level_from_name(const char *name);  /* -1 when unknown */
/* SyslogFacility: LOG_AUTH (sshd's default) until set; the name is one of
 * DAEMON USER AUTH AUTHPRIV LOCAL0..LOCAL7 (any case), -1 when unknown. */
void dssh_log_set_facility(int facility);
int dssh_log_get_facility(void);
int dssh_log_facility_from_name(const char *name);
const char *dssh_log_facility_name(int facility);
/* The syslog priority a message of this level is sent with. */
int dssh_log_syslog_priority(enum dssh_log_level level);
const char *dssh_log_level_name(enum dssh_log_level level);

/*
 * Per-connection log identity. dsshd serves every connection in one
 * process, where sshd has one per connection whose pid, in "sshd[pid]:",
 * tells log readers (fail2ban groups lines by it) which connection a line
 * is about. A line logged for a connection carries "prog[N]:" with N the
 * connection's log number instead of the pid: DSSH_LOG_CONN_BASE plus the
 * connection's id (unique for the process's life, from 1), digits only as
 * syslog readers want. The base is Linux's PID_MAX_LIMIT (2^22 on 64-bit,
 * the most any kernel allows: kernel.pid_max cannot be raised past it), so
 * no process, now or after a sysctl, can have a number dsshd gives a
 * connection; a reader never mistakes one for the other (and every process
 * of dsshd that logs for a connection, the monitor too, computes the same
 * number from the connection's id). Other lines keep the real pid.
 */
#define DSSH_LOG_CONN_BASE 4194304u
/* conn_id 0 (no connection) gives 0. */
uint64_t dssh_log_conn_number(uint64_t conn_id);
/* The calling thread's connection from now on (0: none, the pid); returns
 * the previous one, for dssh_log_conn_leave. */
uint64_t dssh_log_conn_enter(uint64_t number);
void dssh_log_conn_leave(uint64_t prev);
uint64_t dssh_log_conn_current(void);
/* The name a connection's lines carry (the monitor, "dsshd-spawner",
 * logs them as "dsshd"); unset: the name dssh_log_init was given. */
void dssh_log_set_conn_prog(const char *name);
/* The syslog socket (default /dev/log): for tests. */
void dssh_log_set_syslog_path(const char *path);
/* A line's header into out (NUL-terminated, its length returned): stderr's
 * "hh:mm:ss.mmm prog[N]: " or syslog's RFC 3164 "<PRI>Mmm dd hh:mm:ss prog[N]: ". */
size_t dssh_log_format_header(char *out, size_t n, bool for_syslog, int priority,
    const struct timespec *ts);

void dssh_log(enum dssh_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
_Noreturn void dssh_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline bool dssh_log_enabled(enum dssh_log_level level)
{
	return level <= dssh_log_get_level();
}

#define dssh_error(...) dssh_log(DSSH_LOG_ERROR, __VA_ARGS__)
#define dssh_info(...) dssh_log(DSSH_LOG_INFO, __VA_ARGS__)
#define dssh_verbose(...) dssh_log(DSSH_LOG_VERBOSE, __VA_ARGS__)
#define dssh_debug(...) do { if (dssh_log_enabled(DSSH_LOG_DEBUG1)) dssh_log(DSSH_LOG_DEBUG1, __VA_ARGS__); } while (0)
#define dssh_debug2(...) do { if (dssh_log_enabled(DSSH_LOG_DEBUG2)) dssh_log(DSSH_LOG_DEBUG2, __VA_ARGS__); } while (0)
#define dssh_debug3(...) do { if (dssh_log_enabled(DSSH_LOG_DEBUG3)) dssh_log(DSSH_LOG_DEBUG3, __VA_ARGS__); } while (0)

#endif
