/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_CPPATH_H
#define DSSH_CPPATH_H

/*
 * dssh-cp's path rules for recursive copies. A directory listing comes
 * from the server: a name in it is a single path component, or the copy
 * would write outside its target.
 */
#include <stdbool.h>

/* True when name may be joined below a directory: not empty, not "." or
 * "..", no '/'. (SFTP names are NUL-free: the reply parser refuses one.) */
bool dssh_cp_name_ok(const char *name);
/* dir "/" name, without a second '/' when dir ends in one ("" is name);
 * malloc'd, NULL when out of memory. */
char *dssh_cp_join(const char *dir, const char *name);
/* The last component of path (trailing '/' ignored), malloc'd: what a copy
 * into a directory is called there. "" for "/" or an empty path. */
char *dssh_cp_base(const char *path);

#endif
