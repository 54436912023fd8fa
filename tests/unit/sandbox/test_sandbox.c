/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The unprivileged dsshd's seccomp filter (app/dsshd/sandbox.c). Each case
 * runs in a forked child that installs the filter; the same calls run in
 * an unfiltered child first (the control), so that an EPERM seen under
 * the filter is the filter's and not the kernel's: the probes' arguments
 * make the unfiltered call fail with another errno (ENOENT, ESRCH,
 * EBADF...) or succeed harmlessly in the child. Root only (77 otherwise):
 * as another user the kernel itself answers EPERM to most of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "dssh_test.h"
#include "sandbox.h"

#define NO_PID 0x3ffffff0      /* above any pid_max: ESRCH */

/* errno of a call, 0 when it succeeded */
#define ERRNO_OF(call) ((call) < 0 ? errno : 0)

static char *const true_argv[] = { "/bin/true", NULL };
static char *const no_env[] = { NULL };

static int p_execve(void) { return ERRNO_OF(execve("/bin/true", true_argv, no_env)); }
static int p_execveat(void)
{
	return ERRNO_OF(syscall(SYS_execveat, AT_FDCWD, "/bin/true", true_argv, no_env, 0));
}
static int p_ptrace(void) { return ERRNO_OF(ptrace(PTRACE_ATTACH, NO_PID, 0, 0)); }
static int p_vm_readv(void)
{
	char b[8];
	struct iovec l = { b, sizeof(b) }, r = { b, sizeof(b) };

	return ERRNO_OF(process_vm_readv(NO_PID, &l, 1, &r, 1, 0));
}
static int p_unshare_user(void) { return ERRNO_OF(unshare(CLONE_NEWUSER)); }
static int p_unshare_net(void) { return ERRNO_OF(unshare(CLONE_NEWNET)); }
static int p_mount(void)
{
	return ERRNO_OF(mount("none", "/nonexistent-dssh-sandbox", "tmpfs", 0, NULL));
}
static int p_umount(void) { return ERRNO_OF(umount2("/nonexistent-dssh-sandbox", 0)); }
static int p_chroot(void) { return ERRNO_OF(chroot("/nonexistent-dssh-sandbox")); }
static int p_setns(void) { return ERRNO_OF(setns(-1, 0)); }
static int p_bpf(void) { return ERRNO_OF(syscall(SYS_bpf, 0x7fff, NULL, 0)); }
static int p_perf(void) { return ERRNO_OF(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0)); }
static int p_keyctl(void) { return ERRNO_OF(syscall(SYS_keyctl, 0x7fff, 0, 0, 0, 0)); }
static int p_userfaultfd(void) { return ERRNO_OF(syscall(SYS_userfaultfd, ~0)); }
static int p_open_handle(void) { return ERRNO_OF(syscall(SYS_open_by_handle_at, -1, NULL, 0)); }
static int p_io_uring(void) { return ERRNO_OF(syscall(SYS_io_uring_setup, 0, NULL)); }
static int p_setresuid(void) { return ERRNO_OF(setresuid(-1, -1, -1)); }
static int p_setuid(void) { return ERRNO_OF(setuid(0)); }
static int p_setgroups(void) { return ERRNO_OF(setgroups(0, NULL)); }
static int p_personality(void)
{
	return ERRNO_OF(personality(PER_LINUX | ADDR_NO_RANDOMIZE));
}
static int p_kexec(void) { return ERRNO_OF(syscall(SYS_kexec_load, 0, 0, NULL, ~0UL)); }
static int p_finit_module(void) { return ERRNO_OF(syscall(SYS_finit_module, -1, "", 0)); }
static int p_clone_newuser(void)
{
	long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0);

	if (r == 0)
		syscall(SYS_exit, 0);           /* the (unfiltered) new child */
	if (r > 0)
		(void)waitpid((pid_t)r, NULL, 0);
	return ERRNO_OF(r);
}

struct probe {
	const char *name;
	int (*call)(void);
	bool control;   /* unfiltered: must not be EPERM (deterministic as root) */
};

static const struct probe probes[] = {
	{ "execve /bin/true", p_execve, false },  /* the control runs it below */
	{ "execveat /bin/true", p_execveat, false },
	{ "ptrace attach", p_ptrace, true },
	{ "process_vm_readv", p_vm_readv, true },
	{ "unshare(CLONE_NEWUSER)", p_unshare_user, true },
	{ "unshare(CLONE_NEWNET)", p_unshare_net, true },
	{ "clone(CLONE_NEWUSER)", p_clone_newuser, true },
	{ "mount", p_mount, true },
	{ "umount2", p_umount, true },
	{ "chroot", p_chroot, true },
	{ "setns", p_setns, true },
	{ "bpf", p_bpf, true },
	{ "perf_event_open", p_perf, true },
	{ "keyctl", p_keyctl, true },
	{ "userfaultfd", p_userfaultfd, true },
	{ "open_by_handle_at", p_open_handle, true },
	{ "io_uring_setup", p_io_uring, false },        /* may be disabled by sysctl */
	{ "setresuid(-1,-1,-1)", p_setresuid, true },
	{ "setuid(0)", p_setuid, true },
	{ "setgroups", p_setgroups, true },
	{ "personality(ADDR_NO_RANDOMIZE)", p_personality, true },
	{ "kexec_load", p_kexec, false },               /* lockdown may say EPERM */
	{ "finit_module", p_finit_module, false },      /* modules_disabled may */
};
#define NPROBES (sizeof(probes) / sizeof(probes[0]))

/*
 * Runs fn in a child; the child must write "k" on the pipe at its end
 * (so that an execve that got through, which would exit 0 as /bin/true,
 * is a failure) and exit 0. Returns the raw wait status.
 */
static int
in_child(void (*fn)(void), bool need_done)
{
	int p[2], st = 0;
	char c = 0;
	pid_t pid;

	if (pipe(p) != 0)
		abort();
	if ((pid = fork()) < 0)
		abort();
	if (pid == 0) {
		close(p[0]);
		dssh_test_failures = 0;
		fn();
		if (dssh_test_failures == 0 && write(p[1], "k", 1) != 1)
			_exit(3);
		_exit(dssh_test_failures == 0 ? 0 : 1);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		c = 0;
	close(p[0]);
	if (waitpid(pid, &st, 0) != pid)
		abort();
	if (need_done) {
		CHECK(c == 'k');
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	return st;
}

static void
install(void)
{
	CHECK_EQ_INT(dsshd_sandbox_install(), 0);
}

/* A status line's value of /proc/<self>/status (or thread-self). */
static long
status_value(const char *file, const char *key)
{
	char line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *f = fopen(file, "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void
controls(void)
{
	/* each in its own child: one that worked (unshare) changes the next */
	for (size_t i = 0; i < NPROBES; i++) {
		pid_t pid;
		int st = 0;

		if (!probes[i].control)
			continue;
		if ((pid = fork()) == 0)
			_exit(probes[i].call() == EPERM ? 1 : 0);
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			fprintf(stderr, "control: %s gave EPERM without the filter\n",
			    probes[i].name);
			dssh_test_failures++;
		}
	}
}

static void
filtered_probes(void)
{
	install();
	for (size_t i = 0; i < NPROBES; i++) {
		int e = probes[i].call();

		dssh_test_checks++;
		if (probes[i].call == p_ptrace && dsshd_sandbox_keeps_ptrace()) {
			/* a sanitizer build: LeakSanitizer needs it */
			if (e != ESRCH) {
				fprintf(stderr, "filtered: ptrace in a sanitizer build: errno %d, "
				    "want ESRCH\n", e);
				dssh_test_failures++;
			}
			continue;
		}
		if (e != EPERM) {
			fprintf(stderr, "filtered: %s: errno %d (%s), want EPERM\n",
			    probes[i].name, e, strerror(e));
			dssh_test_failures++;
		}
	}
	/* clone3 cannot be looked into: ENOSYS, for glibc to fall back */
	errno = 0;
	CHECK(syscall(SYS_clone3, NULL, 0) < 0 && errno == ENOSYS);
	CHECK_EQ_INT(status_value("/proc/self/status", "Seccomp"), 2);
	CHECK(status_value("/proc/self/status", "Seccomp_filters") >= 1);
	CHECK_EQ_INT(status_value("/proc/self/status", "NoNewPrivs"), 1);
}

/* The control for execve: it works without the filter. */
static void
control_execve(void)
{
	pid_t pid;
	int st = 0;

	if ((pid = fork()) == 0) {
		execve("/bin/true", true_argv, no_env);
		_exit(127);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void *
thread_fn(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)status_value("/proc/thread-self/status", "Seccomp");
}

/* What dsshd does all the time still works under the filter. */
static void
ordinary_calls(void)
{
	int p[2], sv[2], fd, ep, ev, tfd, st = 0;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char buf[16];
	void *m, *ret = NULL;
	pthread_t t;
	pid_t pid;

	install();
	CHECK(pipe(p) == 0);
	CHECK(write(p[1], "hello", 5) == 5 && read(p[0], buf, sizeof(buf)) == 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 4) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	CHECK(send(sv[0], "x", 1, 0) == 1 && recv(sv[1], buf, 1, 0) == 1);
	m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	if (m != MAP_FAILED) {
		memset(m, 0xa5, 1 << 20);
		CHECK(mprotect(m, 4096, PROT_READ) == 0 && munmap(m, 1 << 20) == 0);
	}
	CHECK((ep = epoll_create1(EPOLL_CLOEXEC)) >= 0);
	CHECK((ev = eventfd(0, EFD_NONBLOCK)) >= 0);
	CHECK((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK)) >= 0);
	CHECK(open("/etc/passwd", O_RDONLY | O_CLOEXEC) >= 0);
	CHECK(personality(0xffffffff) >= 0);
	/* pthread_create: clone3 is ENOSYS, glibc falls back to clone */
	CHECK(pthread_create(&t, NULL, thread_fn, NULL) == 0 && pthread_join(t, &ret) == 0);
	CHECK_EQ_INT((intptr_t)ret, 2);
	/* fork (no namespace flag) works; the child is filtered too */
	if ((pid = fork()) == 0)
		_exit(status_value("/proc/self/status", "Seccomp") == 2 ? 0 : 1);
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(getpid() > 0 && getuid() == 0);
}

/* A thread made before the filter (as the data plane's) gets it too. */
static volatile int go;

static void *
early_thread(void *arg)
{
	int *res = arg;

	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		usleep(1000);
	res[0] = (int)status_value("/proc/thread-self/status", "Seccomp");
	res[1] = (int)status_value("/proc/thread-self/status", "NoNewPrivs");
	res[2] = p_execve();
	res[3] = p_unshare_user();
	return NULL;
}

static void
earlier_threads(void)
{
	int res[4] = { -1, -1, -1, -1 };
	pthread_t t;

	CHECK(pthread_create(&t, NULL, early_thread, res) == 0);
	install();
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK_EQ_INT(res[0], 2);
	CHECK_EQ_INT(res[1], 1);
	CHECK_EQ_INT(res[2], EPERM);
	CHECK_EQ_INT(res[3], EPERM);
}

/* TIOCSTI on a terminal: refused; other ioctls on it work. */
static void
terminal_ioctls(void)
{
	int m, s;
	char c = 'x';
	struct winsize ws;

	install();
	if ((m = posix_openpt(O_RDWR | O_NOCTTY)) < 0 || grantpt(m) != 0 || unlockpt(m) != 0 ||
	    (s = open(ptsname(m), O_RDWR | O_NOCTTY)) < 0) {
		CHECK(!"a pty");
		return;
	}
	errno = 0;
	CHECK(ioctl(s, TIOCSTI, &c) < 0 && errno == EPERM);
	CHECK(ioctl(s, TIOCGWINSZ, &ws) == 0);
}

/* Another architecture's calling convention: the process is killed. */
static void
x32_call(void)
{
#ifdef __x86_64__
	(void)syscall(0x40000000 | SYS_getpid);
#endif
}

static void
x32_filtered(void)
{
	install();
	x32_call();
}

#ifdef __x86_64__
static void
i386_call(void)
{
	long r = 20;    /* i386 getpid */

	__asm__ volatile ("int $0x80" : "+a"(r) : : "memory");
}

static void
i386_filtered(void)
{
	install();
	i386_call();
}
#endif

static void
foreign_arch_killed(void)
{
#ifdef __x86_64__
	int st;

	/* unfiltered: not killed (ENOSYS when x32 is off) */
	st = in_child(x32_call, false);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = in_child(x32_filtered, false);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	/* int 0x80: without ia32 emulation the kernel sends SIGSEGV itself */
	st = in_child(i386_call, false);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		st = in_child(i386_filtered, false);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	} else {
		fprintf(stderr, "note: no ia32 emulation here, int 0x80 not checked\n");
	}
#endif
}

static void
forbidden_calls(void)
{
	in_child(controls, true);
	in_child(control_execve, true);
	in_child(filtered_probes, true);
}

static void
ordinary(void)
{
	in_child(ordinary_calls, true);
	in_child(earlier_threads, true);
	in_child(terminal_ioctls, true);
}

/* DSSH_NO_SECCOMP=1 leaves the process unfiltered. */
static void
env_off_child(void)
{
	setenv("DSSH_NO_SECCOMP", "1", 1);
	CHECK_EQ_INT(dsshd_sandbox_apply(), 0);
	CHECK_EQ_INT(status_value("/proc/self/status", "Seccomp"), 0);
	unsetenv("DSSH_NO_SECCOMP");
	CHECK_EQ_INT(dsshd_sandbox_apply(), 0);
	CHECK_EQ_INT(status_value("/proc/self/status", "Seccomp"), 2);
}

static void
env_off(void)
{
	in_child(env_off_child, true);
}

int
main(void)
{
	if (!dsshd_sandbox_available()) {
		fprintf(stderr, "built without libseccomp\n");
		return 77;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "needs root (the controls would be EPERM anyway)\n");
		return 77;
	}
	if (dsshd_sandbox_keeps_ptrace())
		fprintf(stderr, "note: a sanitizer build: the filter allows ptrace\n");
	DSSH_RUN(forbidden_calls);
	DSSH_RUN(ordinary);
	DSSH_RUN(foreign_arch_killed);
	DSSH_RUN(env_off);
	DSSH_TEST_END();
}
