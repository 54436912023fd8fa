/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The unprivileged dsshd's seccomp filter (docs/security.md).
 *
 * A denylist, not OpenSSH's preauth allowlist: this one process runs the
 * engine, the kernel listeners, the DPDK data plane (EAL interrupt, lcore
 * and telemetry threads, tap/af_packet/memif PMDs, hugepage mmaps, NUMA
 * policy calls), PAM worker threads, the control socket, the metrics
 * listener, reloads (config files, Include, banners) and, in the test
 * build, the sanitizers' runtime. The set of calls that mix needs differs
 * between PMDs, glibc and kernel versions; an allowlist that misses one
 * kills the server in production on a path no test took. What this
 * process must never do after the drop is a short, stable list: run a
 * program, trace or read another process, change namespaces, mounts or
 * ids, load kernel code (modules, BPF, kexec), reach the big kernel
 * attack surfaces it has no use for (perf, keyrings, userfaultfd,
 * io_uring, handle-based opens) or push characters into a terminal. Those
 * fail with EPERM (logged by the kernel's audit when it runs, through
 * SECCOMP_FILTER_FLAG_LOG); a call made under another architecture's
 * calling convention (i386 int 0x80, x32) kills the process.
 *
 * libseccomp rather than hand-written BPF: it resolves names to numbers
 * per architecture (no table of #ifdefs to keep), emits the architecture
 * check and the x32 check on x86_64, compares 64-bit arguments, and
 * installs with TSYNC so that threads made before the drop (the data
 * plane's) are filtered too. It is a Debian package (libseccomp-dev); a
 * build without it (meson -Dseccomp=disabled) logs that it has no filter.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_build_config.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "sandbox.h"

/*
 * A sanitizer build's leak check at exit (LeakSanitizer, part of ASan)
 * stops the threads with ptrace from a helper task that shares the
 * process's memory: such builds (the test build) keep ptrace, or every
 * dsshd would end with "LeakSanitizer has encountered a fatal error".
 * Release builds deny it.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_KEEP_PTRACE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define SANDBOX_KEEP_PTRACE 1
#endif
#endif
#ifndef SANDBOX_KEEP_PTRACE
#define SANDBOX_KEEP_PTRACE 0
#endif

bool
dsshd_sandbox_keeps_ptrace(void)
{
	return SANDBOX_KEEP_PTRACE;
}

#if DSSH_HAVE_SECCOMP
#include <sched.h>
#include <sys/ioctl.h>
#include <seccomp.h>

/*
 * Denied with EPERM. Names a given architecture lacks (umount, iopl,
 * the *32 id calls...) are skipped there.
 */
static const char *const deny_eperm[] = {
	/* running anything else: the filter would follow it, but a shell
	 * as dsshd with dsshd's fds is still a pivot */
	"execve", "execveat", "uselib",
	/* other processes' memory and descriptors */
	"ptrace", "process_vm_readv", "process_vm_writev", "process_madvise",
	"kcmp", "pidfd_getfd",
	/* namespaces and mounts: user namespaces are the door to most
	 * kernel bugs reachable without a capability */
	"unshare", "setns", "mount", "umount", "umount2", "pivot_root", "chroot",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
	"mount_setattr",
	/* kernel code and kernel attack surface */
	"init_module", "finit_module", "delete_module", "create_module",
	"kexec_load", "kexec_file_load", "bpf", "perf_event_open",
	"keyctl", "add_key", "request_key", "userfaultfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"open_by_handle_at", "name_to_handle_at", "lookup_dcookie",
	"modify_ldt", "iopl", "ioperm", "vm86", "vm86old", "syslog",
	"fanotify_init", "nfsservctl",
	/* the machine's state */
	"reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
	"vhangup", "sethostname", "setdomainname", "settimeofday",
	"clock_settime", "clock_adjtime", "adjtimex",
	/* ids and capabilities: dropped for good, none may come back */
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
	"setfsuid", "setfsgid", "setgroups", "capset",
	"setuid32", "setgid32", "setreuid32", "setregid32", "setresuid32",
	"setresgid32", "setfsuid32", "setfsgid32", "setgroups32",
};

/* clone flags that make a namespace (clone's flags are argument 0 on
 * x86_64 and arm64; s390's order differs, dsshd does not build there). */
static const unsigned long clone_ns_flags[] = {
	CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUTS,
	CLONE_NEWIPC, CLONE_NEWCGROUP,
};

/* The native number of a call, or -1 when this architecture has none. */
static int
native_nr(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	return nr == __NR_SCMP_ERROR || nr < 0 ? -1 : nr;
}

static int
add_rules(scmp_filter_ctx ctx, unsigned *ndenied)
{
	const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
	int nr, rc;

	*ndenied = 0;
	for (size_t i = 0; i < sizeof(deny_eperm) / sizeof(deny_eperm[0]); i++) {
		if ((nr = native_nr(deny_eperm[i])) < 0 ||
		    (SANDBOX_KEEP_PTRACE && strcmp(deny_eperm[i], "ptrace") == 0))
			continue;
		if ((rc = seccomp_rule_add(ctx, eperm, nr, 0)) != 0)
			goto fail;
		(*ndenied)++;
	}
	for (size_t i = 0; i < sizeof(clone_ns_flags) / sizeof(clone_ns_flags[0]); i++)
		if ((rc = seccomp_rule_add(ctx, eperm, SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, clone_ns_flags[i], clone_ns_flags[i]))) != 0)
			goto fail;
	/* clone3's flags are in memory, out of the filter's sight: ENOSYS,
	 * on which glibc's pthread_create and fork fall back to clone. */
	if ((nr = native_nr("clone3")) >= 0 &&
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0)) != 0)
		goto fail;
	/* Only the query (0xffffffff); no READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE... */
	if ((rc = seccomp_rule_add(ctx, eperm, SCMP_SYS(personality), 1,
	    SCMP_A0_32(SCMP_CMP_NE, 0xffffffffU))) != 0)
		goto fail;
	/* A dsshd started from a root shell (-D) shares its terminal: no
	 * typing into it. The request is an int: compare 32 bits. */
	if ((rc = seccomp_rule_add(ctx, eperm, SCMP_SYS(ioctl), 1,
	    SCMP_A1_32(SCMP_CMP_EQ, (uint32_t)TIOCSTI))) != 0 ||
	    (rc = seccomp_rule_add(ctx, eperm, SCMP_SYS(ioctl), 1,
	    SCMP_A1_32(SCMP_CMP_EQ, (uint32_t)TIOCLINUX))) != 0)
		goto fail;
	return 0;
fail:
	dssh_error("seccomp: cannot add a rule: %s", strerror(-rc));
	return DSSH_ERR_SYSTEM;
}

bool
dsshd_sandbox_available(void)
{
	return true;
}

int
dsshd_sandbox_install(void)
{
	scmp_filter_ctx ctx;
	unsigned ndenied = 0;
	int r = DSSH_ERR_SYSTEM, rc;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		dssh_error("seccomp: cannot make a filter");
		return DSSH_ERR_ALLOC;
	}
	/* Another architecture's calls (and x32's on x86_64) kill: their
	 * numbers mean other calls, the list above would not hold. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) != 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1)) != 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1)) != 0) {
		dssh_error("seccomp: filter attributes: %s", strerror(-rc));
		goto out;
	}
	if (add_rules(ctx, &ndenied) != 0)
		goto out;
	/* TSYNC: one filter for every thread, and NoNewPrivs on each. */
	if ((rc = seccomp_load(ctx)) != 0) {
		dssh_error("seccomp: cannot install the filter: %s", strerror(-rc));
		goto out;
	}
	dssh_info("seccomp filter installed on every thread: %u system calls and namespace "
	    "clones denied, other architectures killed%s", ndenied,
	    SANDBOX_KEEP_PTRACE ? " (ptrace allowed: a sanitizer build)" : "");
	r = 0;
out:
	seccomp_release(ctx);
	return r;
}

#else /* !DSSH_HAVE_SECCOMP */

bool
dsshd_sandbox_available(void)
{
	return false;
}

int
dsshd_sandbox_install(void)
{
	dssh_info("built without libseccomp: no seccomp filter on the unprivileged dsshd");
	return 0;
}

#endif

int
dsshd_sandbox_apply(void)
{
	const char *e = getenv("DSSH_NO_SECCOMP");

	if (e != NULL && strcmp(e, "1") == 0) {
		dssh_error("DSSH_NO_SECCOMP=1: the unprivileged dsshd runs WITHOUT its seccomp "
		    "filter (for debugging only; unset it in production)");
		return 0;
	}
	return dsshd_sandbox_install();
}
