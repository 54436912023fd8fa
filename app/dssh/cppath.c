/* SPDX-License-Identifier: BSD-3-Clause */
/* dssh-cp's path rules: see cppath.h. */
#include <stdlib.h>
#include <string.h>

#include "cppath.h"

bool
dssh_cp_name_ok(const char *name)
{
	return name[0] != '\0' && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	    strchr(name, '/') == NULL;
}

char *
dssh_cp_join(const char *dir, const char *name)
{
	size_t d = strlen(dir), n = strlen(name);
	bool slash = d > 0 && dir[d - 1] != '/';
	char *s = malloc(d + slash + n + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, dir, d);
	if (slash)
		s[d] = '/';
	memcpy(s + d + slash, name, n + 1);
	return s;
}

char *
dssh_cp_base(const char *path)
{
	size_t n = strlen(path), b;

	while (n > 0 && path[n - 1] == '/')
		n--;
	b = n;
	while (b > 0 && path[b - 1] != '/')
		b--;
	return strndup(path + b, n - b);
}
