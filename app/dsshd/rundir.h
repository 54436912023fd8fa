/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSHD_RUNDIR_H
#define DSSHD_RUNDIR_H

#include <sys/types.h>

/* A root helper that removes the EAL's runtime directory when dsshd, no
 * longer root, stops its data plane (rundir.c). */
struct dsshd_rundir_cleaner {
	int fd;
	pid_t pid;
};

/* In main(), before anything else: the helper's own invocation runs here
 * and never returns. */
void dsshd_rundir_cleaner_maybe_run(int argc, char **argv);

/* As root, once the EAL is up: 0 (also when dir is not root's EAL
 * directory: nothing to do) or a negative errno. */
int dsshd_rundir_cleaner_start(const char *dir, struct dsshd_rundir_cleaner *c);

/* After the data plane stopped: the helper removes the directory; returns
 * when it has exited. */
void dsshd_rundir_cleaner_finish(struct dsshd_rundir_cleaner *c);

#endif
