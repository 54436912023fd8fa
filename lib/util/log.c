/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "dssh_log.h"

static enum dssh_log_level log_level = DSSH_LOG_INFO;
static bool log_stderr = true;
static const char *log_prog = "dssh";
static int log_facility = LOG_AUTH;     /* sshd's default SyslogFacility */

/* SyslogFacility names, as sshd_config(5) lists them. */
static const struct {
	const char *name;
	int facility;
} facilities[] = {
	{ "DAEMON", LOG_DAEMON }, { "USER", LOG_USER }, { "AUTH", LOG_AUTH },
	{ "AUTHPRIV", LOG_AUTHPRIV }, { "LOCAL0", LOG_LOCAL0 }, { "LOCAL1", LOG_LOCAL1 },
	{ "LOCAL2", LOG_LOCAL2 }, { "LOCAL3", LOG_LOCAL3 }, { "LOCAL4", LOG_LOCAL4 },
	{ "LOCAL5", LOG_LOCAL5 }, { "LOCAL6", LOG_LOCAL6 }, { "LOCAL7", LOG_LOCAL7 },
};

static const char *const level_names[] = {
	"QUIET", "FATAL", "ERROR", "INFO", "VERBOSE", "DEBUG1", "DEBUG2", "DEBUG3",
};

void
dssh_log_init(const char *progname, enum dssh_log_level level, bool to_stderr)
{
	log_prog = progname;
	log_level = level;
	log_stderr = to_stderr;
	if (!to_stderr)
		openlog(progname, LOG_PID, log_facility);
}

void
dssh_log_set_facility(int facility)
{
	log_facility = facility;
	if (!log_stderr) {
		closelog();
		openlog(log_prog, LOG_PID, log_facility);
	}
}

int
dssh_log_get_facility(void)
{
	return log_facility;
}

int
dssh_log_facility_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcasecmp(name, facilities[i].name) == 0)
			return facilities[i].facility;
	return -1;
}

const char *
dssh_log_facility_name(int facility)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (facilities[i].facility == facility)
			return facilities[i].name;
	return "?";
}

/* LogLevel to syslog priority, as sshd maps them. */
int
dssh_log_syslog_priority(enum dssh_log_level level)
{
	switch (level) {
	case DSSH_LOG_QUIET:
	case DSSH_LOG_FATAL:
		return LOG_CRIT;
	case DSSH_LOG_ERROR:
		return LOG_ERR;
	case DSSH_LOG_INFO:
	case DSSH_LOG_VERBOSE:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

void
dssh_log_set_level(enum dssh_log_level level)
{
	log_level = level;
}

enum dssh_log_level
dssh_log_get_level(void)
{
	return log_level;
}

bool
dssh_log_to_stderr(void)
{
	return log_stderr;
}

int
dssh_log_level_from_name(const char *name)
{
	if (strcasecmp(name, "DEBUG") == 0)
		return DSSH_LOG_DEBUG1;
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
dssh_log_level_name(enum dssh_log_level level)
{
	return (unsigned)level < sizeof(level_names) / sizeof(level_names[0]) ?
	    level_names[level] : "?";
}

static void
log_emit(enum dssh_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Peer-supplied text may end up here: never pass control characters on. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			*c = '?';
	const char *prefix = level >= DSSH_LOG_DEBUG1 ? "debug: " :
	    level == DSSH_LOG_FATAL ? "fatal: " : level <= DSSH_LOG_ERROR ? "error: " : "";

	if (log_stderr) {
		struct timespec ts;
		struct tm tm;
		char tbuf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s[%d]: %s%s\n", tbuf, ts.tv_nsec / 1000000,
		    log_prog, (int)getpid(), prefix, msg);
	} else {
		syslog(dssh_log_syslog_priority(level), "%s%s", prefix, msg);
	}
}

void
dssh_log(enum dssh_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_emit(level, fmt, ap);
	va_end(ap);
}

void
dssh_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(DSSH_LOG_FATAL, fmt, ap);
	va_end(ap);
	exit(255);
}
