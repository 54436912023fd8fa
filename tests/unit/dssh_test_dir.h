/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_TEST_DIR_H
#define DSSH_TEST_DIR_H

/*
 * The temporary directory of a test that drives the real ssh-keygen. Kept
 * out of dssh_test.h so that only these tests pull in <ftw.h> (nftw is
 * declared under the project-wide -D_GNU_SOURCE).
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "dssh_test.h"

/*
 * The start of main(): 0 with a fresh directory made from tmpl (a
 * "/tmp/...-XXXXXX" array, filled in place), else main's exit status:
 * 77 (meson's "skipped") without ssh-keygen, 1 when mkdtemp fails.
 */
static inline int
dssh_test_keygen_dir(char *tmpl)
{
	if (system("command -v ssh-keygen >/dev/null") != 0) {
		fprintf(stderr, "SKIP: ssh-keygen (openssh-client) not installed\n");
		return 77;
	}
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	return 0;
}

static inline int
dssh_test_rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/*
 * The end of main(): the directory's tree is removed when every check
 * passed, and kept (and named) for a look when one failed.
 */
static inline void
dssh_test_dir_done(const char *dir)
{
	if (dssh_test_failures == 0)
		nftw(dir, dssh_test_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	else
		fprintf(stderr, "files kept in %s\n", dir);
}

#endif
