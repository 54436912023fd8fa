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
		openlog(progname, LOG_PID, LOG_AUTH);
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
	if (log_stderr) {
		struct timespec ts;
		struct tm tm;
		char tbuf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s[%d]: %s%s\n", tbuf, ts.tv_nsec / 1000000,
		    log_prog, (int)getpid(),
		    level >= DSSH_LOG_DEBUG1 ? "debug: " : level <= DSSH_LOG_ERROR ? "error: " : "",
		    msg);
	} else {
		int pri = level <= DSSH_LOG_ERROR ? LOG_ERR :
		    level <= DSSH_LOG_VERBOSE ? LOG_INFO : LOG_DEBUG;
		syslog(pri, "%s", msg);
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
