/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Login accounting for pty sessions, as sshd keeps it: a USER_PROCESS
 * record in utmp and wtmp and the user's lastlog entry when the session
 * starts (so who(1), last(1) and lastlog(8) see it), a DEAD_PROCESS record
 * when it ends; and what an interactive login prints before the shell
 * (the previous login from lastlog, the motd), unless ~/.hushlogin exists.
 * A failed password is recorded in btmp (lastb(1)), as sshd does.
 * The records are written by root (the spawner); files that do not exist
 * are not created, as sshd does not create them either.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <lastlog.h>
#include <paths.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <utmp.h>
#include <utmpx.h>

#include "dssh_log.h"
#include "dssh_session.h"
#include "session_int.h"

#define LASTLOG_PATH "/var/log/lastlog"
#define BTMP_PATH "/var/log/btmp"

/* utmp's fixed fields need no NUL when full. */
static void
copy_field(char *dst, size_t dlen, const char *src)
{
	size_t n = strlen(src);

	memcpy(dst, src, n < dlen ? n : dlen);
}

/* "pts/3" from "/dev/pts/3". */
static const char *
line_of(const char *tty_name)
{
	return strncmp(tty_name, "/dev/", 5) == 0 ? tty_name + 5 : tty_name;
}

static void
fill_record(struct utmpx *ut, short type, const char *tty_name, pid_t pid,
    const char *user, const char *host)
{
	const char *line = line_of(tty_name);
	size_t ll = strlen(line), idl = sizeof(ut->ut_id);
	struct timeval tv;

	memset(ut, 0, sizeof(*ut));
	ut->ut_type = type;
	ut->ut_pid = pid;
	copy_field(ut->ut_line, sizeof(ut->ut_line), line);
	/* the id names the line: its last four characters ("ts/3") */
	memcpy(ut->ut_id, ll > idl ? line + ll - idl : line, ll > idl ? idl : ll);
	if (user != NULL)
		copy_field(ut->ut_user, sizeof(ut->ut_user), user);
	if (host != NULL) {
		copy_field(ut->ut_host, sizeof(ut->ut_host), host);
		if (inet_pton(AF_INET, host, &ut->ut_addr_v6[0]) != 1)
			(void)inet_pton(AF_INET6, host, ut->ut_addr_v6);
	}
	gettimeofday(&tv, NULL);
	ut->ut_tv.tv_sec = (int32_t)tv.tv_sec;
	ut->ut_tv.tv_usec = (int32_t)tv.tv_usec;
}

static void
write_utmp_wtmp(const struct utmpx *ut)
{
	setutxent();
	if (pututxline(ut) == NULL && errno != ENOENT)
		dssh_debug("session: utmp: %s", strerror(errno));
	endutxent();
	updwtmpx(_PATH_WTMP, ut);
}

int
session_lastlog_message(uid_t uid, char *out, size_t n)
{
	struct lastlog ll;
	char when[64];
	time_t t;
	struct tm tm;
	int fd;
	ssize_t k;

	out[0] = '\0';
	if ((fd = open(LASTLOG_PATH, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	k = pread(fd, &ll, sizeof(ll), (off_t)uid * (off_t)sizeof(ll));
	close(fd);
	if (k != (ssize_t)sizeof(ll) || ll.ll_time == 0)
		return -1;
	t = (time_t)ll.ll_time;
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		return -1;
	ll.ll_host[sizeof(ll.ll_host) - 1] = '\0';
	if (ll.ll_host[0] != '\0')
		snprintf(out, n, "Last login: %s from %.*s\r\n", when,
		    (int)sizeof(ll.ll_host), ll.ll_host);
	else
		snprintf(out, n, "Last login: %s\r\n", when);
	return 0;
}

static void
write_lastlog(uid_t uid, const char *tty_name, const char *host)
{
	struct lastlog ll;
	int fd;

	memset(&ll, 0, sizeof(ll));
	ll.ll_time = (int32_t)time(NULL);
	copy_field(ll.ll_line, sizeof(ll.ll_line), line_of(tty_name));
	if (host != NULL)
		copy_field(ll.ll_host, sizeof(ll.ll_host), host);
	if ((fd = open(LASTLOG_PATH, O_WRONLY | O_CLOEXEC)) < 0)
		return;
	if (pwrite(fd, &ll, sizeof(ll), (off_t)uid * (off_t)sizeof(ll)) != (ssize_t)sizeof(ll))
		dssh_debug("session: lastlog: %s", strerror(errno));
	close(fd);
}

void
session_login_record(const char *tty_name, pid_t pid, const char *user, uid_t uid,
    const char *host)
{
	struct utmpx ut;

	fill_record(&ut, USER_PROCESS, tty_name, pid, user, host);
	write_utmp_wtmp(&ut);
	write_lastlog(uid, tty_name, host);
}

void
session_logout_record(const char *tty_name, pid_t pid)
{
	struct utmpx ut;

	fill_record(&ut, DEAD_PROCESS, tty_name, pid, NULL, NULL);
	write_utmp_wtmp(&ut);
}

void
dssh_session_record_failed_login(const char *user, const char *host)
{
	struct utmpx ut;

	fill_record(&ut, LOGIN_PROCESS, "ssh:notty", getpid(), user, host);
	updwtmpx(BTMP_PATH, &ut);
}

/* The motd to the pty, as sshd's PrintMotd does (in the user's process). */
void
session_print_motd(void)
{
	char buf[4096];
	ssize_t k;
	int fd;

	if ((fd = open("/etc/motd", O_RDONLY | O_CLOEXEC)) < 0)
		return;
	while ((k = read(fd, buf, sizeof(buf))) > 0)
		if (write(STDOUT_FILENO, buf, (size_t)k) != k)
			break;
	close(fd);
}
