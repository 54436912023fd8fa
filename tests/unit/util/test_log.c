/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-connection log identity (dssh_log.h): a connection's number is
 * above every pid the kernel can hand out, lines logged for a connection
 * carry it in "prog[N]:" on stderr and in the syslog datagram's header,
 * other lines keep the pid, and the identity is each thread's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "dssh_log.h"
#include "dssh_test.h"

static bool
matches(const char *s, const char *re)
{
	regex_t rx;
	bool ok;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	ok = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	if (!ok)
		fprintf(stderr, "  \"%s\" does not match /%s/\n", s, re);
	return ok;
}

/* No process can have a connection's number, whatever kernel.pid_max is. */
static void
test_number(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	unsigned long pid_max = 0;

	CHECK(f != NULL);
	if (f != NULL) {
		CHECK(fscanf(f, "%lu", &pid_max) == 1);
		fclose(f);
	}
	/* pids are below pid_max, which Linux caps at PID_MAX_LIMIT (2^22) */
	CHECK(pid_max > 0 && pid_max <= DSSH_LOG_CONN_BASE);
	CHECK_EQ_INT(DSSH_LOG_CONN_BASE, 4194304);
	CHECK_EQ_INT(dssh_log_conn_number(0), 0);
	CHECK_EQ_INT(dssh_log_conn_number(1), 4194305);
	CHECK(dssh_log_conn_number(1) > pid_max);
	/* distinct ids, distinct numbers; a 64-bit id never wraps into pids */
	CHECK(dssh_log_conn_number(2) != dssh_log_conn_number(1));
	CHECK(dssh_log_conn_number(UINT64_MAX - DSSH_LOG_CONN_BASE) == UINT64_MAX);
	CHECK((uint64_t)getpid() < DSSH_LOG_CONN_BASE);
}

static void
test_header(void)
{
	struct timespec ts = { .tv_sec = 1700000000, .tv_nsec = 123456789 };
	char h[128], want[64];
	uint64_t prev;

	dssh_log_init("test_log", DSSH_LOG_INFO, true);
	dssh_log_set_conn_prog(NULL);
	/* no connection: the pid */
	snprintf(want, sizeof(want), " test_log\\[%d\\]: $", (int)getpid());
	dssh_log_format_header(h, sizeof(h), false, 0, &ts);
	CHECK(matches(h, "^[0-9]{2}:[0-9]{2}:[0-9]{2}\\.123 test_log\\[[0-9]+\\]: $"));
	CHECK(matches(h, want));
	dssh_log_format_header(h, sizeof(h), true, LOG_LOCAL3 | LOG_INFO, &ts);
	CHECK(matches(h, "^<158>[A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} "
	    "test_log\\[[0-9]+\\]: $"));
	CHECK(matches(h, want));
	/* a connection: its number, digits only, nested and restored */
	prev = dssh_log_conn_enter(dssh_log_conn_number(7));
	CHECK_EQ_INT(prev, 0);
	dssh_log_format_header(h, sizeof(h), false, 0, &ts);
	CHECK(matches(h, " test_log\\[4194311\\]: $"));
	dssh_log_format_header(h, sizeof(h), true, LOG_AUTH | LOG_ERR, &ts);
	CHECK(matches(h, "^<35>.* test_log\\[4194311\\]: $"));
	prev = dssh_log_conn_enter(dssh_log_conn_number(8));
	CHECK_EQ_INT(prev, 4194311);
	dssh_log_set_conn_prog("dsshd");        /* the monitor's lines for it */
	dssh_log_format_header(h, sizeof(h), false, 0, &ts);
	CHECK(matches(h, " dsshd\\[4194312\\]: $"));
	dssh_log_set_conn_prog(NULL);
	dssh_log_conn_leave(prev);
	CHECK_EQ_INT(dssh_log_conn_current(), 4194311);
	dssh_log_conn_leave(0);
	dssh_log_format_header(h, sizeof(h), false, 0, &ts);
	CHECK(matches(h, want));
	/* truncated, still terminated */
	CHECK_EQ_INT(dssh_log_format_header(h, 10, false, 0, &ts), 9);
	CHECK_EQ_INT(strlen(h), 9);
}

/* Lines on stderr: a connection's carry its number, the others the pid. */
static void
test_stderr(void)
{
	char path[] = "/tmp/dssh-test-log-XXXXXX", buf[4096], want[128];
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	CHECK(fd >= 0 && saved >= 0);
	if (fd < 0 || saved < 0)
		return;
	fflush(stderr);
	dup2(fd, 2);
	dssh_log_init("test_log", DSSH_LOG_INFO, true);
	dssh_info("start-up line");
	uint64_t prev = dssh_log_conn_enter(dssh_log_conn_number(42));

	dssh_info("User x not allowed because account is locked");
	dssh_verbose("not shown at INFO");
	dssh_log_conn_leave(prev);
	dssh_error("after it");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), " test_log\\[%d\\]: start-up line\n", (int)getpid());
	CHECK(matches(buf, want));
	CHECK(matches(buf, "\n[0-9:.]+ test_log\\[4194346\\]: User x not allowed because account "
	    "is locked\n"));
	snprintf(want, sizeof(want), " test_log\\[%d\\]: error: after it\n$", (int)getpid());
	CHECK(matches(buf, want));
	CHECK(strstr(buf, "not shown") == NULL);
}

/* ---- syslog: our own datagrams, a connection's number in the header ---- */

struct sl {
	char dir[48], path[96];
	int fd;
};

static int
sl_bind(struct sl *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	s->fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	return setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static bool
sl_recv(struct sl *s, char *buf, size_t n)
{
	ssize_t r = recv(s->fd, buf, n - 1, 0);

	if (r < 0)
		return false;
	buf[r] = '\0';
	return true;
}

struct worker {
	uint64_t conn;
	pthread_barrier_t *bar;
	uint64_t seen_at_start;
};

/* Two threads log for two connections at once: each line its own. */
static void *
worker(void *arg)
{
	struct worker *w = arg;

	w->seen_at_start = dssh_log_conn_current();    /* not the other thread's */
	pthread_barrier_wait(w->bar);
	dssh_log_conn_enter(dssh_log_conn_number(w->conn));
	pthread_barrier_wait(w->bar);
	for (int i = 0; i < 20; i++)
		dssh_info("conn %llu line %d", (unsigned long long)w->conn, i);
	dssh_log_conn_leave(0);
	return NULL;
}

static void
test_syslog(void)
{
	struct sl s;
	char buf[2048], want[160];
	pthread_barrier_t bar;
	pthread_t t[2];
	struct worker w[2] = { { .conn = 3, .bar = &bar }, { .conn = 4, .bar = &bar } };
	unsigned got[2] = { 0, 0 };

	snprintf(s.dir, sizeof(s.dir), "/tmp/dssh-test-syslog-XXXXXX");
	CHECK(mkdtemp(s.dir) != NULL);
	snprintf(s.path, sizeof(s.path), "%s/log", s.dir);
	CHECK_EQ_INT(sl_bind(&s), 0);
	dssh_log_set_syslog_path(s.path);
	dssh_log_set_facility(LOG_LOCAL3);
	dssh_log_init("test_log", DSSH_LOG_INFO, false);
	CHECK(!dssh_log_to_stderr());
	dssh_info("listening");
	CHECK(sl_recv(&s, buf, sizeof(buf)));
	snprintf(want, sizeof(want), "^<158>[A-Z][a-z]{2} [ 1-3][0-9] [0-9:]{8} test_log\\[%d\\]: "
	    "listening$", (int)getpid());
	CHECK(matches(buf, want));

	uint64_t prev = dssh_log_conn_enter(dssh_log_conn_number(9));

	dssh_error("Failed password for x from 127.0.0.2 port 5 ssh2");
	dssh_log_conn_leave(prev);
	CHECK(sl_recv(&s, buf, sizeof(buf)));
	CHECK(matches(buf, "^<155>.* test_log\\[4194313\\]: error: Failed password for x from "
	    "127\\.0\\.0\\.2 port 5 ssh2$"));

	dssh_log_conn_enter(dssh_log_conn_number(1));  /* the main thread's: not the workers' */
	pthread_barrier_init(&bar, NULL, 3);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, &w[i]);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	for (int i = 0; i < 40; i++) {
		unsigned long long conn, num;
		char *p;

		CHECK(sl_recv(&s, buf, sizeof(buf)));
		p = strstr(buf, "test_log[");
		CHECK(p != NULL && sscanf(p, "test_log[%llu]: conn %llu", &num, &conn) == 2);
		if (p == NULL || sscanf(p, "test_log[%llu]: conn %llu", &num, &conn) != 2)
			break;
		CHECK_EQ_INT(num, dssh_log_conn_number(conn));
		if (conn == 3 || conn == 4)
			got[conn - 3]++;
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ_INT(w[i].seen_at_start, 0);
		CHECK_EQ_INT(got[i], 20);
	}
	CHECK_EQ_INT(dssh_log_conn_current(), dssh_log_conn_number(1));
	dssh_log_conn_leave(0);
	pthread_barrier_destroy(&bar);

	/* A forked child closed every fd and reused the log socket's number
	 * (a pipe here): the line goes to a new socket, not into the pipe,
	 * and the pipe stays open. */
	int lfd = -1, pfd[2];
	char lnk[64], tgt[64];

	for (int fd = 3; fd < 256 && lfd < 0; fd++) {
		ssize_t k;

		snprintf(lnk, sizeof(lnk), "/proc/self/fd/%d", fd);
		if (fd != s.fd && (k = readlink(lnk, tgt, sizeof(tgt) - 1)) > 0 &&
		    (tgt[k] = '\0', strncmp(tgt, "socket:", 7) == 0))
			lfd = fd;
	}
	CHECK(lfd >= 0);
	CHECK_EQ_INT(pipe2(pfd, O_NONBLOCK), 0);
	CHECK_EQ_INT(dup2(pfd[1], lfd), lfd);
	dssh_info("after the fd was reused");
	CHECK(sl_recv(&s, buf, sizeof(buf)));
	CHECK(matches(buf, "test_log\\[[0-9]+\\]: after the fd was reused$"));
	CHECK(read(pfd[0], buf, sizeof(buf)) < 0 && errno == EAGAIN);
	CHECK(fcntl(lfd, F_GETFD) >= 0);
	close(lfd);
	close(pfd[0]);
	close(pfd[1]);

	/* The syslog daemon restarted (a new socket at the path): reconnected. */
	close(s.fd);
	unlink(s.path);
	CHECK_EQ_INT(sl_bind(&s), 0);
	dssh_info("after the restart");
	CHECK(sl_recv(&s, buf, sizeof(buf)));
	CHECK(matches(buf, "test_log\\[[0-9]+\\]: after the restart$"));

	dssh_log_init("test_log", DSSH_LOG_INFO, true);
	close(s.fd);
	unlink(s.path);
	rmdir(s.dir);
}

int
main(void)
{
	DSSH_RUN(test_number);
	DSSH_RUN(test_header);
	DSSH_RUN(test_stderr);
	DSSH_RUN(test_syslog);
	DSSH_TEST_END();
}
