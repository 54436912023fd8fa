/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "dssh_log.h"

static enum dssh_log_level log_level = DSSH_LOG_INFO;
static bool log_stderr = true;
static const char *log_prog = "dssh";
static int log_facility = LOG_AUTH;     /* sshd's default SyslogFacility */
/* The name a connection's lines carry (dssh_log_set_conn_prog); NULL: log_prog. */
static const char *log_conn_prog;

/*
 * The connection this thread is working for (its log number, 0: none).
 * Thread-local: the loop threads and the PAM workers each set their own
 * around a connection's work (dssh_log_conn_enter/leave), so a line always
 * names the connection it is about, whichever thread logs it.
 */
static _Thread_local uint64_t log_conn;

/*
 * syslog: our own datagrams to /dev/log, not syslog(3). glibc's LOG_PID
 * writes getpid() into every header and its ident is process-wide, so a
 * connection's number cannot reach the header through it from several
 * threads at once. One socket for every thread, (re)connected under the
 * lock; libraries that call syslog(3) themselves (PAM modules) keep
 * openlog's "prog[pid]".
 */
static pthread_mutex_t log_sock_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_sock = -1;
static int log_sock_type;
static dev_t log_sock_dev;              /* log_sock's identity: see log_sock_ours */
static ino_t log_sock_ino;
static const char *log_sock_path = "/dev/log";

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

/* Connects log_sock to log_sock_path (datagram, else stream, as syslog(3)
 * does); with the lock held. */
static void
log_sock_connect(void)
{
	static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (log_sock >= 0)
		return;
	if (strlen(log_sock_path) >= sizeof(sa.sun_path))
		return;
	strcpy(sa.sun_path, log_sock_path);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return;
		struct stat st;

		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && fstat(fd, &st) == 0) {
			log_sock = fd;
			log_sock_type = types[i];
			log_sock_dev = st.st_dev;
			log_sock_ino = st.st_ino;
			return;
		}
		close(fd);
		if (errno != EPROTOTYPE)
			return;
	}
}

/*
 * Whether log_sock is still the socket we connected: a forked child that
 * closed every descriptor (a session's, a PAM child's) may have its number
 * on another file by now, which must never get a log line or be closed.
 */
static bool
log_sock_ours(void)
{
	struct stat st;

	return fstat(log_sock, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == log_sock_dev &&
	    st.st_ino == log_sock_ino;
}

/* One message to the syslog socket; reconnects once (the daemon restarted).
 * A stream socket takes the terminating NUL as the message's end. */
static void
log_sock_send(const char *line, size_t len)
{
	pthread_mutex_lock(&log_sock_lock);
	if (log_sock >= 0 && !log_sock_ours())
		log_sock = -1;          /* not ours to close */
	for (int attempt = 0; attempt < 2; attempt++) {
		log_sock_connect();
		if (log_sock < 0)
			break;
		size_t n = len + (log_sock_type == SOCK_STREAM);

		if (send(log_sock, line, n, MSG_NOSIGNAL) == (ssize_t)n)
			break;
		close(log_sock);
		log_sock = -1;
	}
	pthread_mutex_unlock(&log_sock_lock);
}

void
dssh_log_init(const char *progname, enum dssh_log_level level, bool to_stderr)
{
	log_prog = progname;
	log_level = level;
	log_stderr = to_stderr;
	if (!to_stderr) {
		openlog(progname, LOG_PID, log_facility);
		/* Connected now, as LOG_NDELAY would: before any chroot or drop. */
		pthread_mutex_lock(&log_sock_lock);
		log_sock_connect();
		pthread_mutex_unlock(&log_sock_lock);
	}
}

void
dssh_log_set_conn_prog(const char *name)
{
	log_conn_prog = name;
}

uint64_t
dssh_log_conn_number(uint64_t conn_id)
{
	/* id 0 names no connection: 0, the process's own pid in its lines */
	return conn_id != 0 ? DSSH_LOG_CONN_BASE + conn_id : 0;
}

uint64_t
dssh_log_conn_enter(uint64_t number)
{
	uint64_t prev = log_conn;

	log_conn = number;
	return prev;
}

void
dssh_log_conn_leave(uint64_t prev)
{
	log_conn = prev;
}

uint64_t
dssh_log_conn_current(void)
{
	return log_conn;
}

void
dssh_log_set_syslog_path(const char *path)
{
	pthread_mutex_lock(&log_sock_lock);
	log_sock_path = path;
	if (log_sock >= 0)
		close(log_sock);
	log_sock = -1;
	pthread_mutex_unlock(&log_sock_lock);
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

size_t
dssh_log_format_header(char *out, size_t n, bool for_syslog, int priority,
    const struct timespec *ts)
{
	const char *prog = log_conn != 0 && log_conn_prog != NULL ? log_conn_prog : log_prog;
	uint64_t num = log_conn != 0 ? log_conn : (uint64_t)getpid();
	struct tm tm;
	char tbuf[32];
	int len;

	localtime_r(&ts->tv_sec, &tm);
	if (for_syslog) {
		/* RFC 3164's HEADER as syslog(3) writes it: "<PRI>Mmm dd hh:mm:ss TAG" */
		strftime(tbuf, sizeof(tbuf), "%h %e %T", &tm);
		len = snprintf(out, n, "<%d>%s %s[%" PRIu64 "]: ", priority, tbuf, prog, num);
	} else {
		strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
		len = snprintf(out, n, "%s.%03ld %s[%" PRIu64 "]: ", tbuf, ts->tv_nsec / 1000000,
		    prog, num);
	}
	return len < 0 ? 0 : (size_t)len < n ? (size_t)len : n - 1;
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

	struct timespec ts;
	char line[1200];
	size_t len;

	clock_gettime(CLOCK_REALTIME, &ts);
	len = dssh_log_format_header(line, sizeof(line), !log_stderr,
	    log_facility | dssh_log_syslog_priority(level), &ts);
	if (log_stderr) {
		fprintf(stderr, "%s%s%s\n", line, prefix, msg);
	} else {
		int m = snprintf(line + len, sizeof(line) - len, "%s%s", prefix, msg);

		len += m < 0 ? 0 : (size_t)m < sizeof(line) - len ? (size_t)m : sizeof(line) - len - 1;
		log_sock_send(line, len);
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
