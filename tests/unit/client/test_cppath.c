/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh-cp's path rules (app/dssh/cppath.c): the names a server lists are
 * joined below the target only when they stay one level below it. Fixed
 * cases, then random names over an alphabet of '.', '/' and friends, each
 * kept name resolved like a kernel would: it must land one level down.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cppath.h"
#include "dssh_test.h"

static void
test_names(void)
{
	static const char *const good[] = { "a", "a b", "new\nline", "\xff\xfe", "...", ".a",
	    "a.", "..a", " ", "\t" };
	static const char *const bad[] = { "", ".", "..", "a/b", "/", "../x", "x/..", "/abs",
	    "a/", "//" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(dssh_cp_name_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!dssh_cp_name_ok(bad[i]));
}

static void
check_join(const char *d, const char *n, const char *want)
{
	char *s = dssh_cp_join(d, n);

	CHECK_STR(s, want);
	free(s);
}

static void
check_base(const char *p, const char *want)
{
	char *s = dssh_cp_base(p);

	CHECK_STR(s, want);
	free(s);
}

static void
test_join_base(void)
{
	check_join("d", "n", "d/n");
	check_join("d/", "n", "d/n");
	check_join("", "n", "n");
	check_join("/", "n", "/n");
	check_join("a b", "new\nline", "a b/new\nline");
	check_base("a/b", "b");
	check_base("a/b/", "b");
	check_base("a//b//", "b");
	check_base("b", "b");
	check_base("/", "");
	check_base("", "");
	check_base("/x", "x");
}

/* Depth of a relative path after "." and ".." are resolved; -1 when it
 * climbs above its start. */
static int
depth(const char *path)
{
	char *c = strdup(path), *save = NULL;
	int d = 0;

	for (char *t = strtok_r(c, "/", &save); t != NULL; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0 && --d < 0)
			break;
		if (strcmp(t, "..") != 0)
			d++;
	}
	free(c);
	return d;
}

static void
test_random_names(void)
{
	static const char alpha[] = { '.', '/', 'a', ' ', '\n', '\xff' };
	uint64_t rng = 0x5eed5eedULL;
	unsigned kept = 0;

	for (int i = 0; i < 200000; i++) {
		char name[9];
		size_t n = dssh_test_rand(&rng) % 9;
		char *p;

		for (size_t k = 0; k < n; k++)
			name[k] = alpha[dssh_test_rand(&rng) % sizeof(alpha)];
		name[n] = '\0';
		if (!dssh_cp_name_ok(name))
			continue;
		kept++;
		/* Below "root", exactly one level, whatever the name. */
		p = dssh_cp_join("root", name);
		CHECK(p != NULL && strncmp(p, "root/", 5) == 0 && depth(p) == 2 &&
		    strchr(p + 5, '/') == NULL);
		free(p);
	}
	CHECK(kept > 1000);
}

int
main(void)
{
	DSSH_RUN(test_names);
	DSSH_RUN(test_join_base);
	DSSH_RUN(test_random_names);
	DSSH_TEST_END();
}
