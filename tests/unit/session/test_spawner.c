/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The spawner: this binary is its own spawner (main hands the hidden
 * "--spawner" invocation to dssh_spawner_maybe_run first). Sessions run as
 * user nobody; needs root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "dssh_buf.h"
#include "dssh_fdpass.h"
#include "dssh_log.h"
#include "dssh_spawner.h"
#include "dssh_test.h"
#include "session_run.h"
#include "spawner_int.h"

static char home[64];
static char jail[64];
static struct dssh_spawner *sp;
static uint64_t next_id = 1;

/* ------------------------------------------------- an internal program */

/* Reports who and where it runs, then echoes stdin to stdout. */
static int
internal_report(int in, int out, int err, const struct dssh_session_spec *spec)
{
	char cwd[256], buf[4096];
	int n;

	(void)err;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		snprintf(cwd, sizeof(cwd), "?");
	n = snprintf(buf, sizeof(buf), "uid=%d gid=%d cwd=%s marker=%s passwd=%s user=%s\n",
	    (int)getuid(), (int)getgid(), cwd, access("/marker", F_OK) == 0 ? "yes" : "no",
	    access("/etc/passwd", F_OK) == 0 ? "yes" : "no", spec->user.name);
	if (write(out, buf, (size_t)n) != n)
		return 2;
	for (;;) {
		ssize_t k = read(in, buf, sizeof(buf));

		if (k <= 0)
			break;
		if (write(out, buf, (size_t)k) != k)
			return 2;
	}
	return 9;
}

static const struct dssh_spawner_internal internals[] = {
	{ "test-report", internal_report },
	{ NULL, NULL },
};

/* ---------------------------------------------------------- exits seen */

#define MAX_EXITS 64

static struct {
	uint64_t id;
	int status;
} exits[MAX_EXITS];
static size_t nexits;

static void
on_exit_cb(void *arg, uint64_t id, int status)
{
	(void)arg;
	if (nexits < MAX_EXITS) {
		exits[nexits].id = id;
		exits[nexits++].status = status;
	}
}

static bool
exit_of(uint64_t id, int *status)
{
	for (size_t i = 0; i < nexits; i++) {
		if (exits[i].id == id) {
			*status = exits[i].status;
			return true;
		}
	}
	return false;
}

/* Polls the spawner (and restarts it after a death) until id exited. */
static bool
wait_exit(uint64_t id, int *status, int ms)
{
	uint64_t end = dssh_now_ms() + (uint64_t)ms;

	while (!exit_of(id, status)) {
		struct pollfd p = { .fd = dssh_spawner_fd(sp), .events = POLLIN };

		if (dssh_now_ms() > end)
			return false;
		(void)poll(&p, 1, 20);
		if (dssh_spawner_poll(sp, on_exit_cb, NULL) == DSSH_ERR_CONN_CLOSED &&
		    dssh_spawner_restart(sp) != 0)
			return false;
	}
	return true;
}

/* ---------------------------------------------- running one session */

struct srun {
	uint64_t id;
	struct dssh_session_child c;
	char out[RUN_BUF], err[RUN_BUF];
	size_t out_len, err_len;
	int status;
	bool exited, timed_out;
};

typedef void (*srun_action_fn)(struct srun *r, void *arg);

static void
spec_init(struct dssh_session_spec *s, const char *cmd)
{
	memset(s, 0, sizeof(*s));
	nobody_user(&s->user, home);
	s->command = cmd;
}

static int
srun_start(const struct dssh_session_spec *spec, struct srun *r)
{
	memset(r, 0, sizeof(*r));
	r->id = next_id++;
	return dssh_spawner_spawn(sp, r->id, spec, &r->c);
}

static void
write_all(int fd, const char *s)
{
	size_t off = 0, len = strlen(s);

	while (off < len) {
		ssize_t k = write(fd, s + off, len - off);

		if (k > 0)
			off += (size_t)k;
		else if (k < 0 && errno != EAGAIN && errno != EINTR)
			break;
		else
			usleep(1000);
	}
}

/* Reads both outputs until EOF and waits for the exit notification. */
static void
srun_finish(struct srun *r, srun_action_fn action, void *arg)
{
	bool out_done = false, err_done = r->c.stderr_fd < 0;
	uint64_t deadline = dssh_now_ms() + 15000;

	while (!(out_done && err_done && r->exited)) {
		struct pollfd p[3];
		int n = 0;

		if (dssh_now_ms() > deadline) {
			r->timed_out = true;
			break;
		}
		if (action != NULL)
			action(r, arg);
		p[n++] = (struct pollfd){ .fd = dssh_spawner_fd(sp), .events = POLLIN };
		if (!out_done)
			p[n++] = (struct pollfd){ .fd = r->c.stdout_fd, .events = POLLIN };
		if (!err_done)
			p[n++] = (struct pollfd){ .fd = r->c.stderr_fd, .events = POLLIN };
		(void)poll(p, (nfds_t)n, 20);
		if (!out_done)
			run_append(r->c.stdout_fd, r->out, &r->out_len, &out_done);
		if (!err_done)
			run_append(r->c.stderr_fd, r->err, &r->err_len, &err_done);
		if (dssh_spawner_poll(sp, on_exit_cb, NULL) == DSSH_ERR_CONN_CLOSED)
			CHECK_EQ_INT(dssh_spawner_restart(sp), 0);
		if (!r->exited)
			r->exited = exit_of(r->id, &r->status);
	}
	dssh_session_close(&r->c);
}

static int
srun(const struct dssh_session_spec *spec, const char *input, srun_action_fn action,
    void *arg, struct srun *r)
{
	int rc;

	if ((rc = srun_start(spec, r)) != 0)
		return rc;
	if (input != NULL)
		write_all(r->c.stdin_fd, input);
	if (!r->c.has_pty)
		dssh_session_close_stdin(&r->c);
	srun_finish(r, action, arg);
	return 0;
}

static struct srun res;

/*
 * PermitUserEnvironment through the spawner: the child reads
 * ~/.ssh/environment as the user (nobody here), only the names allowed.
 */
static void
write_user_file(const char *path, const char *text, mode_t mode, uid_t uid)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
	CHECK_EQ_INT(chmod(path, mode), 0);
	CHECK_EQ_INT(chown(path, uid, uid == 0 ? 0 : NOBODY_GID), 0);
}

static void
test_user_env_file(void)
{
	struct dssh_session_spec s;
	char dir[128], path[160];

	snprintf(dir, sizeof(dir), "%s/.ssh", home);
	snprintf(path, sizeof(path), "%s/environment", dir);
	CHECK(mkdir(dir, 0700) == 0 || errno == EEXIST);
	CHECK_EQ_INT(chown(dir, NOBODY_UID, NOBODY_GID), 0);
	write_user_file(path, "# set by the user\nLANG=xx_YY\nFOOBAR=fb\nOTHER=o\nbad line\n",
	    0600, NOBODY_UID);
	spec_init(&s, "echo \"[$LANG][$FOOBAR][$OTHER]\"");
	s.user_env = "LANG,FOO*";
	CHECK_EQ_INT(srun(&s, NULL, NULL, NULL, &res), 0);
	CHECK_STR(res.out, "[xx_YY][fb][]\n");
	CHECK(strstr(res.err, "1 bad line(s) ignored") != NULL);
	s.user_env = "yes";
	CHECK_EQ_INT(srun(&s, NULL, NULL, NULL, &res), 0);
	CHECK_STR(res.out, "[xx_YY][fb][o]\n");
	s.user_env = NULL;
	CHECK_EQ_INT(srun(&s, NULL, NULL, NULL, &res), 0);
	CHECK_STR(res.out, "[][][]\n");
	CHECK_STR(res.err, "");
	/* A file only root may read is not read: the child is the user by then. */
	write_user_file(path, "LANG=root_only\n", 0600, 0);
	s.user_env = "yes";
	CHECK_EQ_INT(srun(&s, NULL, NULL, NULL, &res), 0);
	CHECK_STR(res.out, "[][][]\n");
	CHECK(strstr(res.err, "cannot read") != NULL);
	unlink(path);
	rmdir(dir);
}

/* ---------------------------------------------------------------- tests */

/*
 * A monitor request's child keeps only stdio and keep[] (given unsorted,
 * with a duplicate and a negative entry), whatever the others' numbers.
 */
static void
test_child_fds(void)
{
	static const int opened[] = { 3, 10, 11, 12, 40, 41, 1000, 4095 };
	int st = -1;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		const int keep[] = { 40, 11, -1, 11 };
		int bad = 0;

		for (size_t i = 0; i < DSSH_ARRAY_SIZE(opened); i++)
			if (dup2(STDERR_FILENO, opened[i]) != opened[i])
				_exit(100);
		dssh_spawner_child_fds(keep, DSSH_ARRAY_SIZE(keep));
		for (int fd = 0; fd < 4200; fd++) {
			bool want = fd <= 2 || fd == 11 || fd == 40;

			if ((fcntl(fd, F_GETFD) != -1) != want)
				bad++;
		}
		_exit(bad > 99 ? 99 : bad);
	}
	CHECK_EQ_INT(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ_INT(WEXITSTATUS(st), 0);
}

static void
test_pipes(void)
{
	struct dssh_session_spec s;
	int code = -1;

	spec_init(&s, "id -u; id -g; pwd; cat; echo to-stderr >&2; exit 3");
	CHECK_EQ_INT(srun(&s, "hello\nworld\n", NULL, NULL, &res), 0);
	CHECK(!res.timed_out);
	{
		char want[256];

		snprintf(want, sizeof(want), "65534\n65534\n%s\nhello\nworld\n", home);
		CHECK_STR(res.out, want);
	}
	CHECK_STR(res.err, "to-stderr\n");
	CHECK(res.exited);
	CHECK_EQ_INT(dssh_session_exit_info(res.status, &code, NULL, NULL), 0);
	CHECK_EQ_INT(code, 3);
	CHECK_EQ_INT(res.c.pty_fd, -1);
	CHECK(!res.c.has_pty);
	CHECK(res.c.pid > 0);
	/* Reported once: the session is forgotten. */
	CHECK_EQ_INT(dssh_spawner_signal(sp, res.id, "TERM"), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(dssh_spawner_sessions(sp), 0);
}

static void
test_env_and_args(void)
{
	const char *env[] = { "LANG=C.UTF-8", "LC_FOO=a=b" };
	struct dssh_session_spec s;

	spec_init(&s, "what the client asked");
	s.forced_command = "echo $LANG $LC_FOO $SSH_CLIENT; echo $SSH_ORIGINAL_COMMAND";
	s.env = env;
	s.n_env = DSSH_ARRAY_SIZE(env);
	s.ssh_client = "192.0.2.1 50000 22";
	s.ssh_connection = "192.0.2.1 50000 192.0.2.2 22";
	CHECK_EQ_INT(srun(&s, NULL, NULL, NULL, &res), 0);
	CHECK_STR(res.out, "C.UTF-8 a=b 192.0.2.1 50000 22\nwhat the client asked\n");
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
}

struct resize_arg {
	bool done;
	int rc;
};

static void
do_resize(struct srun *r, void *arg)
{
	struct resize_arg *a = arg;

	if (a->done || strstr(r->out, "ready") == NULL)
		return;
	a->rc = dssh_session_resize(&r->c, 50, 20, 640, 480);
	a->done = true;
	write_all(r->c.stdin_fd, "typed\n");
}

static void
test_pty(void)
{
	struct dssh_session_spec s;
	struct resize_arg a = { false, -1 };
	char want[256];

	spec_init(&s, "tty; stty size; echo $TERM; id -u; : </dev/tty && echo ctty-ok; "
	    "echo ready; read x; echo got=$x; stty size; exit 4");
	s.want_pty = true;
	s.term = "xterm";
	s.cols = 80;
	s.rows = 24;
	CHECK_EQ_INT(srun(&s, NULL, do_resize, &a, &res), 0);
	CHECK(!res.timed_out);
	CHECK(res.c.has_pty);
	CHECK_EQ_INT(strncmp(res.c.tty_name, "/dev/pts/", 9), 0);
	CHECK(a.done);
	CHECK_EQ_INT(a.rc, 0);
	/* The echo of what we typed comes from the pty's line discipline. */
	snprintf(want, sizeof(want), "%s\r\n24 80\r\nxterm\r\n65534\r\nctty-ok\r\nready\r\ntyped\r\n"
	    "got=typed\r\n20 50\r\n", res.c.tty_name);
	CHECK_STR(res.out, want);
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 4);
}

struct sig_arg {
	const char *name;
	const char *wait_for;
	bool sent;
	int rc;
};

static void
send_signal(struct srun *r, void *arg)
{
	struct sig_arg *a = arg;

	if (a->sent || strstr(r->out, a->wait_for) == NULL)
		return;
	a->rc = dssh_spawner_signal(sp, r->id, a->name);
	a->sent = true;
}

static void
test_signals(void)
{
	struct dssh_session_spec s;
	struct sig_arg a = { "TERM", "started", false, -1 };
	const char *sn = NULL;

	/* Death by a signal of its own. */
	spec_init(&s, "kill -USR1 $$; sleep 5");
	CHECK_EQ_INT(srun(&s, NULL, NULL, NULL, &res), 0);
	CHECK_EQ_INT(dssh_session_exit_info(res.status, NULL, &sn, NULL), 1);
	CHECK_STR(sn, "USR1");

	/* A signal request, after refusing names that are not RFC 4254's. */
	spec_init(&s, "echo started; exec sleep 30");
	CHECK_EQ_INT(srun_start(&s, &res), 0);
	CHECK_EQ_INT(dssh_spawner_signal(sp, res.id, "SIGTERM"), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_spawner_signal(sp, res.id, "WINCH"), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_spawner_signal(sp, res.id + 1000, "TERM"), DSSH_ERR_NOT_FOUND);
	dssh_session_close_stdin(&res.c);
	srun_finish(&res, send_signal, &a);
	CHECK(!res.timed_out);
	CHECK(a.sent);
	CHECK_EQ_INT(a.rc, 0);
	CHECK_EQ_INT(dssh_session_exit_info(res.status, NULL, &sn, NULL), 1);
	CHECK_STR(sn, "TERM");

	/* With a pty the whole process group gets it. */
	a = (struct sig_arg){ "HUP", "bg=", false, -1 };
	spec_init(&s, "sleep 30 & echo bg=$!; wait");
	s.want_pty = true;
	CHECK_EQ_INT(srun(&s, NULL, send_signal, &a, &res), 0);
	CHECK(!res.timed_out);
	CHECK_EQ_INT(a.rc, 0);
	CHECK_EQ_INT(dssh_session_exit_info(res.status, NULL, &sn, NULL), 1);
	CHECK_STR(sn, "HUP");
	/* The background sleep held the pty: its end (EOF) shows it died too. */
	CHECK(strstr(res.out, "bg=") != NULL);
}

/* Reaped: not even a zombie left (polling the spawner meanwhile). */
static bool
reaped_within(long pid, int ms)
{
	char path[64];
	uint64_t end = dssh_now_ms() + (uint64_t)ms;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	while (access(path, F_OK) == 0) {
		if (dssh_now_ms() > end)
			return false;
		usleep(20000);
		(void)dssh_spawner_poll(sp, on_exit_cb, NULL);
	}
	return true;
}

static long
bg_pid(const char *out)
{
	const char *p = strstr(out, "bg=");

	return p != NULL ? strtol(p + 3, NULL, 10) : -1;
}

/* A process that outlives its session is reparented to the spawner
 * (a subreaper), which reaps it: no zombie anywhere. */
static void
test_orphans(void)
{
	struct dssh_session_spec s;
	long bg;

	spec_init(&s, "sleep 0.5 >/dev/null 2>&1 </dev/null & echo bg=$!");
	CHECK_EQ_INT(srun(&s, NULL, NULL, NULL, &res), 0);
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
	bg = bg_pid(res.out);
	CHECK(bg > 1);
	CHECK(reaped_within(bg, 5000));
}

/* ------------------------------------------------------------- chroot */

static bool
make_jail(void)
{
	char path[128];
	int fd;

	snprintf(jail, sizeof(jail), "/var/lib/dssh-spawner-XXXXXX");
	if (mkdtemp(jail) == NULL || chmod(jail, 0755) != 0)
		return false;
	snprintf(path, sizeof(path), "%s/marker", jail);
	if ((fd = open(path, O_WRONLY | O_CREAT, 0644)) < 0)
		return false;
	close(fd);
	snprintf(path, sizeof(path), "%s/gw", jail);
	if (mkdir(path, 0755) != 0 || chmod(path, 0775) != 0)
		return false;
	snprintf(path, sizeof(path), "%s/gw/in", jail);
	if (mkdir(path, 0755) != 0)
		return false;
	snprintf(path, sizeof(path), "%s/usr", jail);
	if (mkdir(path, 0755) != 0 || chown(path, NOBODY_UID, NOBODY_GID) != 0)
		return false;
	return true;
}

static void
remove_jail(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/gw/in", jail);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/gw", jail);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/usr", jail);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/marker", jail);
	unlink(path);
	rmdir(jail);
}

static void
test_internal_chroot(void)
{
	struct dssh_session_spec s;
	char path[128];
	char why[256];

	CHECK(make_jail());
	/* In process, as the user, in the jail (no /etc/passwd there). */
	spec_init(&s, NULL);
	s.internal = "test-report";
	s.chroot_directory = jail;
	CHECK_EQ_INT(srun(&s, "echo this back\n", NULL, NULL, &res), 0);
	CHECK(!res.timed_out);
	CHECK_STR(res.out, "uid=65534 gid=65534 cwd=/ marker=yes passwd=no user=nobody\n"
	    "echo this back\n");
	CHECK(strstr(res.err, "Could not chdir to home directory") != NULL);
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 9);

	/* The same program outside any chroot, at home, with a pty. */
	spec_init(&s, NULL);
	s.internal = "test-report";
	s.want_pty = true;
	CHECK_EQ_INT(srun_start(&s, &res), 0);
	write_all(res.c.stdin_fd, "\004");
	srun_finish(&res, NULL, NULL);
	snprintf(why, sizeof(why), "uid=65534 gid=65534 cwd=%s marker=no passwd=yes user=nobody\r\n",
	    home);
	CHECK_STR(res.out, why);

	/* Refused: a group-writable component, a non-root owner, a relative
	 * path; an unknown internal program. */
	snprintf(path, sizeof(path), "%s/gw/in", jail);
	s.want_pty = false;
	s.chroot_directory = path;
	CHECK_EQ_INT(srun_start(&s, &res), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(dssh_session_check_chroot(path, why, sizeof(why)), DSSH_ERR_PERMISSION);
	CHECK(strstr(why, "bad ownership or modes") != NULL && strstr(why, "/gw\"") != NULL);
	snprintf(path, sizeof(path), "%s/usr", jail);
	CHECK_EQ_INT(srun_start(&s, &res), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(dssh_session_check_chroot("var/lib", why, sizeof(why)), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(dssh_session_check_chroot(jail, why, sizeof(why)), 0);
	CHECK_EQ_INT(dssh_session_check_chroot("/", why, sizeof(why)), 0);
	s.chroot_directory = NULL;
	s.internal = "no-such-program";
	CHECK_EQ_INT(srun_start(&s, &res), DSSH_ERR_NOT_FOUND);
	/* Without the spawner's table there are no internal programs. */
	s.internal = "test-report";
	CHECK_EQ_INT(dssh_session_spawn(&s, &res.c), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(res.c.pid, -1);
	CHECK_EQ_INT(dssh_spawner_sessions(sp), 0);

	/* A shell session in the chroot: nothing to exec there. */
	spec_init(&s, "echo escaped");
	s.chroot_directory = jail;
	CHECK_EQ_INT(srun(&s, NULL, NULL, NULL, &res), 0);
	CHECK_STR(res.out, "");
	CHECK(strstr(res.err, "exec /bin/sh") != NULL);
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == DSSH_SESSION_EXIT_SETUP);
	remove_jail();
}

/* ---------------------------------------------------------- malformed */

static int
count_fds_of(pid_t pid)
{
	char path[64];
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* Sends raw bytes (and optionally an fd) and returns the reply's result,
 * or 1 when no reply came within 300 ms. */
static int
raw_exchange(const void *msg, size_t len, int pass_fd, uint64_t *reply_id)
{
	struct spawner_reply rep;
	static uint8_t buf[4096];
	int fd = dssh_spawner_fd(sp);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (dssh_send_fds(fd, msg, len, &pass_fd, pass_fd >= 0 ? 1 : 0, MSG_NOSIGNAL) !=
	    (ssize_t)len)
		return -1000;
	if (poll(&p, 1, 300) != 1)
		return 1;
	if ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) <= 0)
		return -1001;
	if (spawner_decode_reply(buf, (size_t)n, &rep) != 0)
		return -1002;
	if (reply_id != NULL)
		*reply_id = rep.id;
	return rep.result;
}

static size_t
first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i = 0;

	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* The EXIT of a session the library does not know, read raw. */
static bool
raw_wait_exit(uint64_t id, int *status)
{
	struct pollfd p = { .fd = dssh_spawner_fd(sp), .events = POLLIN };
	uint8_t buf[64];
	uint64_t got;
	ssize_t n;

	if (poll(&p, 1, 5000) != 1 || (n = recv(p.fd, buf, sizeof(buf), 0)) <= 0)
		return false;
	return spawner_decode_exit(buf, (size_t)n, &got, status) == 0 && got == id;
}

static void
test_malformed(void)
{
	struct dssh_session_spec s;
	struct dssh_buf b, big;
	pid_t pid = dssh_spawner_pid(sp);
	int fds_before = count_fds_of(pid), devnull = open("/dev/null", O_RDONLY);
	uint64_t rid = 0;
	const char *many_env[DSSH_SPAWNER_MAX_ENV + 1];
	uint8_t *m;
	size_t len, cut;

	CHECK(pid > 0 && fds_before > 0);
	spec_init(&s, "true");
	dssh_buf_init(&b, 0);
	CHECK_EQ_INT(spawner_encode_spawn(&b, 777, &s), 0);
	m = dssh_buf_mutable_ptr(&b);
	len = dssh_buf_len(&b);

	/* Every truncation of a good request is refused (answered once the
	 * id is there), never served. */
	for (cut = 1; cut < len; cut++) {
		int rc = raw_exchange(m, cut, -1, &rid);

		if (cut < 9)
			CHECK_EQ_INT(rc, 1);
		else {
			CHECK(rc < 0 && rc > -1000);
			CHECK_EQ_INT(rid, 777);
		}
	}
	/* Trailing garbage, a bad boolean, a huge env count, a uid of -1,
	 * an attached fd, an unknown type, an empty message. */
	{
		uint8_t *t = malloc(len + 1);

		memcpy(t, m, len);
		t[len] = 0;
		CHECK_EQ_INT(raw_exchange(t, len + 1, -1, NULL), DSSH_ERR_INVALID_FORMAT);
		free(t);
	}
	/* A boolean that is neither 0 nor 1 (want_pty's byte). */
	{
		struct dssh_buf e;
		size_t i;

		s.want_pty = true;
		dssh_buf_init(&e, 0);
		CHECK_EQ_INT(spawner_encode_spawn(&e, 777, &s), 0);
		s.want_pty = false;
		i = first_diff(m, dssh_buf_ptr(&e), len);
		CHECK_EQ_INT(dssh_buf_ptr(&e)[i], 1);
		m[i] = 2;
		CHECK_EQ_INT(raw_exchange(m, len, -1, NULL), DSSH_ERR_INVALID_FORMAT);
		m[i] = 0;
		dssh_buf_free(&e);
	}
	/* The env count: huge, more than there are, fewer than there are. */
	{
		const char *env[1] = { "A=b" };
		struct dssh_buf e;
		uint8_t *em;
		size_t i;

		s.env = env;
		s.n_env = 1;
		dssh_buf_init(&e, 0);
		CHECK_EQ_INT(spawner_encode_spawn(&e, 780, &s), 0);
		s.env = NULL;
		s.n_env = 0;
		em = dssh_buf_mutable_ptr(&e);
		/* The ids differ in their last byte; the count's last byte next. */
		i = first_diff(m + 9, em + 9, len - 9) + 9 - 3;
		CHECK_EQ_INT(dssh_get_u32be(em + i), 1);
		dssh_put_u32be(em + i, 0xffffffffu);
		CHECK_EQ_INT(raw_exchange(em, dssh_buf_len(&e), -1, NULL), DSSH_ERR_INVALID_FORMAT);
		dssh_put_u32be(em + i, 2);
		CHECK(raw_exchange(em, dssh_buf_len(&e), -1, NULL) < 0);
		dssh_put_u32be(em + i, 0);
		CHECK_EQ_INT(raw_exchange(em, dssh_buf_len(&e), -1, NULL), DSSH_ERR_INVALID_FORMAT);
		dssh_buf_free(&e);
	}
	/* An env entry without '=', a bad uid, a PAM service with a '/'. */
	{
		const char *env[1] = { "NOEQUALS" };

		s.env = env;
		s.n_env = 1;
		dssh_buf_reset(&b);
		CHECK_EQ_INT(spawner_encode_spawn(&b, 781, &s), 0);
		CHECK_EQ_INT(raw_exchange(dssh_buf_ptr(&b), dssh_buf_len(&b), -1, NULL),
		    DSSH_ERR_INVALID_FORMAT);
		s.env = NULL;
		s.n_env = 0;
		s.user.uid = (uid_t)-1;
		dssh_buf_reset(&b);
		CHECK_EQ_INT(spawner_encode_spawn(&b, 782, &s), 0);
		CHECK_EQ_INT(raw_exchange(dssh_buf_ptr(&b), dssh_buf_len(&b), -1, NULL),
		    DSSH_ERR_INVALID_FORMAT);
		s.user.uid = NOBODY_UID;
		s.use_pam = true;
		s.pam_service = "../../tmp/x";
		dssh_buf_reset(&b);
		CHECK_EQ_INT(spawner_encode_spawn(&b, 783, &s), 0);
		CHECK_EQ_INT(raw_exchange(dssh_buf_ptr(&b), dssh_buf_len(&b), -1, NULL),
		    DSSH_ERR_INVALID_FORMAT);
		s.use_pam = false;
		s.pam_service = NULL;
		s.chroot_directory = "relative/dir";
		dssh_buf_reset(&b);
		CHECK_EQ_INT(spawner_encode_spawn(&b, 784, &s), 0);
		CHECK_EQ_INT(raw_exchange(dssh_buf_ptr(&b), dssh_buf_len(&b), -1, NULL),
		    DSSH_ERR_INVALID_FORMAT);
		s.chroot_directory = NULL;
		/* Login accounting bits no spawner knows. */
		s.login = DSSH_SESSION_LOGIN_ALL + 1;
		dssh_buf_reset(&b);
		CHECK_EQ_INT(spawner_encode_spawn(&b, 784, &s), 0);
		CHECK_EQ_INT(raw_exchange(dssh_buf_ptr(&b), dssh_buf_len(&b), -1, NULL),
		    DSSH_ERR_INVALID_FORMAT);
		s.login = 0;
	}
	/* X11's words go on an xauth command line: no spaces, no control
	 * characters, not empty; xauth's path is absolute. */
	{
		static const char *const bad[] = { "MIT MAGIC", "", "a\nadd", "\x7f" };

		for (size_t i = 0; i < DSSH_ARRAY_SIZE(bad); i++) {
			for (int which = 0; which < 3; which++) {
				s.x11_proto = which == 0 ? bad[i] : "MIT-MAGIC-COOKIE-1";
				s.x11_cookie = which == 1 ? bad[i] : "00ff";
				s.x11_auth_display = which == 2 ? bad[i] : "unix:10.0";
				dssh_buf_reset(&b);
				CHECK_EQ_INT(spawner_encode_spawn(&b, 787, &s), 0);
				CHECK_EQ_INT(raw_exchange(dssh_buf_ptr(&b), dssh_buf_len(&b), -1, NULL),
				    DSSH_ERR_INVALID_FORMAT);
			}
		}
		s.x11_proto = "MIT-MAGIC-COOKIE-1";
		s.x11_cookie = "00ff";
		s.x11_auth_display = "unix:10.0";
		s.xauth_path = "usr/bin/xauth";
		dssh_buf_reset(&b);
		CHECK_EQ_INT(spawner_encode_spawn(&b, 788, &s), 0);
		CHECK_EQ_INT(raw_exchange(dssh_buf_ptr(&b), dssh_buf_len(&b), -1, NULL),
		    DSSH_ERR_INVALID_FORMAT);
		s.x11_proto = s.x11_cookie = s.x11_auth_display = s.xauth_path = NULL;
	}
	/* PermitUserEnvironment's value: not empty, no control characters, bounded. */
	{
		static char big[SPAWNER_USER_ENV_MAX + 2];
		static const char *const bad[] = { "", "LANG\nX", "A\x7f", big };

		memset(big, 'A', sizeof(big) - 1);
		for (size_t i = 0; i < DSSH_ARRAY_SIZE(bad); i++) {
			s.user_env = bad[i];
			dssh_buf_reset(&b);
			CHECK_EQ_INT(spawner_encode_spawn(&b, 789, &s), 0);
			CHECK_EQ_INT(raw_exchange(dssh_buf_ptr(&b), dssh_buf_len(&b), -1, NULL),
			    DSSH_ERR_INVALID_FORMAT);
		}
		s.user_env = NULL;
	}
	/* The encoder refuses too many env entries; by hand, the spawner too. */
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(many_env); i++)
		many_env[i] = "A=b";
	s.env = many_env;
	s.n_env = DSSH_ARRAY_SIZE(many_env);
	dssh_buf_reset(&b);
	CHECK_EQ_INT(spawner_encode_spawn(&b, 785, &s), DSSH_ERR_INVALID_ARGUMENT);
	s.env = NULL;
	s.n_env = 0;
	/* An fd attached to a good request is not kept. */
	dssh_buf_reset(&b);
	spec_init(&s, "exit 0");
	CHECK_EQ_INT(spawner_encode_spawn(&b, 786, &s), 0);
	{
		int rc = raw_exchange(dssh_buf_ptr(&b), dssh_buf_len(&b), devnull, &rid);
		int st;

		/* Served: the reply's fds were dropped by recv() without a
		 * control buffer. Its exit is reported all the same. */
		CHECK_EQ_INT(rc, 0);
		CHECK_EQ_INT(rid, 786);
		CHECK(raw_wait_exit(786, &st));
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	{
		static const uint8_t unknown[] = { 0x55, 1, 2, 3 }, empty[1] = { 0 };
		static const uint8_t sig_bad[] = { DSSH_SPAWNER_MSG_SIGNAL, 0, 0, 0, 0, 0, 0, 0, 1,
			0, 0, 0, 4, 'W', 'I', 'N', 'C' };
		static const uint8_t sig_short[] = { DSSH_SPAWNER_MSG_SIGNAL, 0, 0, 0, 0, 0, 0, 0, 1,
			0, 0, 0, 9, 'T' };

		CHECK_EQ_INT(raw_exchange(unknown, sizeof(unknown), -1, NULL), 1);
		CHECK_EQ_INT(raw_exchange(empty, 0, -1, NULL), 1);
		CHECK_EQ_INT(raw_exchange(sig_bad, sizeof(sig_bad), -1, NULL), 1);
		CHECK_EQ_INT(raw_exchange(sig_short, sizeof(sig_short), -1, NULL), 1);
	}
	/* Oversized: longer than any message may be. */
	dssh_buf_init(&big, 0);
	CHECK_EQ_INT(dssh_buf_put_u8(&big, DSSH_SPAWNER_MSG_SPAWN), 0);
	CHECK_EQ_INT(dssh_buf_put_u64(&big, 787), 0);
	{
		uint8_t *p;

		CHECK_EQ_INT(dssh_buf_reserve(&big, DSSH_SPAWNER_MSG_MAX, &p), 0);
		memset(p, 'x', DSSH_SPAWNER_MSG_MAX);
	}
	CHECK_EQ_INT(raw_exchange(dssh_buf_ptr(&big), dssh_buf_len(&big), -1, NULL), 1);
	/* Still there, still serving, holding no fd more than before. */
	dssh_buf_free(&big);
	dssh_buf_free(&b);
	close(devnull);
	CHECK_EQ_INT(dssh_spawner_pid(sp), pid);
	CHECK_EQ_INT(kill(pid, 0), 0);
	CHECK_EQ_INT(count_fds_of(pid), fds_before);
	spec_init(&s, "echo still-here");
	CHECK_EQ_INT(srun(&s, NULL, NULL, NULL, &res), 0);
	CHECK_STR(res.out, "still-here\n");
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
}

/* ------------------------------------------------------- spawner death */

static void
test_spawner_death(void)
{
	struct dssh_session_spec s;
	struct srun a, b;
	pid_t old = dssh_spawner_pid(sp);
	const char *sn = NULL;
	uint64_t end;
	int st = 0;

	/* Two sessions: one to finish normally, one to be signalled. */
	spec_init(&s, "sleep 1 >/dev/null 2>&1 </dev/null & echo bg=$!; echo started; read x; "
	    "echo got=$x; exit 7");
	CHECK_EQ_INT(srun_start(&s, &a), 0);
	spec_init(&s, "echo waiting; exec sleep 30");
	s.want_pty = true;
	CHECK_EQ_INT(srun_start(&s, &b), 0);
	CHECK_EQ_INT(dssh_spawner_sessions(sp), 2);
	CHECK_EQ_INT(kill(old, SIGKILL), 0);
	/* The death is noticed (EOF), the spawner reaped, sessions adopted. */
	end = dssh_now_ms() + 5000;
	while (dssh_spawner_poll(sp, on_exit_cb, NULL) != DSSH_ERR_CONN_CLOSED &&
	    dssh_now_ms() < end)
		usleep(10000);
	CHECK_EQ_INT(dssh_spawner_pid(sp), -1);
	CHECK_EQ_INT(kill(old, 0), -1);
	CHECK_EQ_INT(dssh_spawner_sessions(sp), 2);
	/* A spawn now fails cleanly; a restart brings a new spawner. */
	spec_init(&s, "true");
	CHECK_EQ_INT(srun_start(&s, &res), DSSH_ERR_CONN_CLOSED);
	CHECK_EQ_INT(dssh_spawner_restart(sp), 0);
	CHECK(dssh_spawner_pid(sp) > 0 && dssh_spawner_pid(sp) != old);
	/* The adopted sessions still work, and their exits are reported. */
	write_all(a.c.stdin_fd, "hello\n");
	dssh_session_close_stdin(&a.c);
	srun_finish(&a, NULL, NULL);
	CHECK(!a.timed_out);
	CHECK(strstr(a.out, "started\ngot=hello\n") != NULL);
	CHECK(WIFEXITED(a.status) && WEXITSTATUS(a.status) == 7);
	/* Its background sleep outlived it, orphaned to us: reaped too. */
	CHECK(bg_pid(a.out) > 1);
	CHECK(reaped_within(bg_pid(a.out), 5000));
	{
		uint64_t wend = dssh_now_ms() + 5000;
		static char tmp[RUN_BUF];
		size_t tl = 0;
		bool done = false;

		tmp[0] = '\0';

		while (strstr(tmp, "waiting") == NULL && dssh_now_ms() < wend) {
			usleep(10000);
			run_append(b.c.stdout_fd, tmp, &tl, &done);
		}
		CHECK(strstr(tmp, "waiting") != NULL);
	}
	CHECK_EQ_INT(dssh_spawner_signal(sp, b.id, "INT"), 0);
	CHECK(wait_exit(b.id, &st, 5000));
	CHECK_EQ_INT(dssh_session_exit_info(st, NULL, &sn, NULL), 1);
	CHECK_STR(sn, "INT");
	dssh_session_close(&b.c);
	CHECK_EQ_INT(dssh_spawner_sessions(sp), 0);
	/* The new spawner serves new sessions. */
	spec_init(&s, "echo new-spawner");
	CHECK_EQ_INT(srun(&s, NULL, NULL, NULL, &res), 0);
	CHECK_STR(res.out, "new-spawner\n");
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
}

static int
count_fds(void)
{
	return count_fds_of(getpid());
}

int
main(int argc, char **argv)
{
	int fds_before;
	pid_t spid;

	dssh_spawner_maybe_run(argc, argv, internals);
	if (geteuid() != 0) {
		fprintf(stderr, "needs root: skipped\n");
		return 77;
	}
	dssh_log_init("test_spawner", DSSH_LOG_INFO, true);
	snprintf(home, sizeof(home), "/tmp/dssh-spawner-XXXXXX");
	if (mkdtemp(home) == NULL || chmod(home, 0755) != 0 ||
	    chown(home, NOBODY_UID, NOBODY_GID) != 0) {
		perror("home");
		return 1;
	}
	fds_before = count_fds();
	if (dssh_spawner_start(NULL, &sp) != 0) {
		fprintf(stderr, "cannot start the spawner\n");
		return 1;
	}
	DSSH_RUN(test_child_fds);
	DSSH_RUN(test_pipes);
	DSSH_RUN(test_env_and_args);
	DSSH_RUN(test_user_env_file);
	DSSH_RUN(test_pty);
	DSSH_RUN(test_signals);
	DSSH_RUN(test_orphans);
	DSSH_RUN(test_internal_chroot);
	DSSH_RUN(test_malformed);
	DSSH_RUN(test_spawner_death);
	spid = dssh_spawner_pid(sp);
	dssh_spawner_free(sp);
	/* The spawner exited at EOF and was reaped; no fd of ours is left. */
	CHECK(spid > 0);
	CHECK_EQ_INT(kill(spid, 0), -1);
	CHECK_EQ_INT(count_fds(), fds_before);
	/* The session of the raw test was the spawner's; reparented to us. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	rmdir(home);
	DSSH_TEST_END();
}
