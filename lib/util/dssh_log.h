/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_LOG_H
#define DSSH_LOG_H

#include <stdbool.h>

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
