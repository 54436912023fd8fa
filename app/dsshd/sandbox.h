/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSHD_SANDBOX_H
#define DSSHD_SANDBOX_H

/*
 * The seccomp filter of the unprivileged dsshd (docs/security.md, "The
 * seccomp filter"): installed right after dsshd_drop_privileges, on every
 * thread of the process at once (the DPDK data plane's and the EAL's
 * threads made before the drop too). Never on the monitor, the PAM
 * children or sessions: they are forked from the spawner, which dsshd
 * started (re-executed) while it was still root.
 */
#include <stdbool.h>

/* Whether this dsshd was built with libseccomp. */
bool dsshd_sandbox_available(void);

/*
 * Installs the filter on all threads (SECCOMP_FILTER_FLAG_TSYNC) and sets
 * PR_SET_NO_NEW_PRIVS on each. 0, or a negative DSSH_ERR_* (logged); the
 * caller must then exit: a filter that is not there is not silently
 * skipped. With DSSH_NO_SECCOMP=1 in the environment nothing is
 * installed and an error-level line says so (debugging only). Built
 * without libseccomp: logs that and returns 0.
 */
int dsshd_sandbox_apply(void);

/* A sanitizer build (LeakSanitizer's exit check needs it) allows ptrace. */
bool dsshd_sandbox_keeps_ptrace(void);

/* The filter alone, without looking at the environment (unit tests). */
int dsshd_sandbox_install(void);

#endif
