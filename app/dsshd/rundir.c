/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The EAL's runtime directory (/var/run/dpdk/PREFIX) is made by root when
 * the data plane comes up; dsshd then drops root (privilege separation) and
 * can no longer remove it when the data plane stops. A small root helper,
 * this executable run again (as the spawner is), holds one end of a socket
 * pair: at EOF (dsshd stopped its data plane, or died) it removes the
 * directory and exits, closing its end, which dsshd waits for so that the
 * directory is gone when dsshd exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include "dssh_dpdk.h"
#include "dssh_log.h"
#include "rundir.h"

#define RUNDIR_ARG "--eal-rundir-cleaner"
#define RUNDIR_FD 3

extern char **environ;

/* Only an EAL runtime directory of root's: /var/run/dpdk/NAME or /run/dpdk/NAME. */
static int
rundir_ok(const char *dir)
{
	const char *name;

	if (strncmp(dir, "/var/run/dpdk/", 14) == 0)
		name = dir + 14;
	else if (strncmp(dir, "/run/dpdk/", 10) == 0)
		name = dir + 10;
	else
		return 0;
	return name[0] != '\0' && name[0] != '.' && strchr(name, '/') == NULL &&
	    strlen(name) < 128;
}

void
dsshd_rundir_cleaner_maybe_run(int argc, char **argv)
{
	char b[64];
	ssize_t n;

	if (argc < 2 || strcmp(argv[1], RUNDIR_ARG) != 0)
		return;
	if (argc != 3 || !rundir_ok(argv[2]))
		_exit(2);
	while ((n = read(RUNDIR_FD, b, sizeof(b))) != 0)
		if (n < 0 && errno != EINTR)
			break;
	dssh_dpdk_remove_runtime_dir(argv[2]);
	_exit(0);
}

int
dsshd_rundir_cleaner_start(const char *dir, struct dsshd_rundir_cleaner *c)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)"dsshd-rundir", (char *)RUNDIR_ARG, (char *)dir, NULL };
	int sv[2], e;

	c->fd = -1;
	c->pid = -1;
	if (!rundir_ok(dir))
		return 0;       /* not root's EAL directory: nothing to hand over */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], RUNDIR_FD);
	/* Blocked signals stay blocked in the helper (dsshd blocks the ones
	 * its signalfd takes), so a SIGTERM or ^C to the group leaves it. */
	e = posix_spawn(&c->pid, "/proc/self/exe", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	if (e != 0) {
		close(sv[0]);
		c->pid = -1;
		dssh_error("EAL runtime directory helper: %s", strerror(e));
		return -e;
	}
	c->fd = sv[0];
	return 0;
}

void
dsshd_rundir_cleaner_finish(struct dsshd_rundir_cleaner *c)
{
	char b[64];
	ssize_t n;

	if (c->fd < 0)
		return;
	shutdown(c->fd, SHUT_WR);
	/* EOF when the helper has removed the directory and exited. */
	while ((n = read(c->fd, b, sizeof(b))) != 0)
		if (n < 0 && errno != EINTR)
			break;
	close(c->fd);
	c->fd = -1;
	if (c->pid > 0)
		(void)waitpid(c->pid, NULL, 0);
	c->pid = -1;
}
