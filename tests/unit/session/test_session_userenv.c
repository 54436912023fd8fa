/* SPDX-License-Identifier: BSD-3-Clause */
/* ~/.ssh/environment's parser (lib/session/userenv.c), PermitUserEnvironment's filter. */
#include <stdlib.h>
#include <string.h>

#include "dssh_test.h"
#include "dssh_err.h"
#include "session_int.h"

/* The value of name in e, or NULL. */
static const char *
env_get(const struct session_env *e, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->v[i], name, n) == 0 && e->v[i][n] == '=')
			return e->v[i] + n + 1;
	return NULL;
}

static int
parse(struct session_env *e, const char *text, const char *allow, unsigned *bad)
{
	return session_user_env_parse(e, text, strlen(text), allow, bad);
}

static void
test_lines(void)
{
	struct session_env e = { 0 };
	unsigned bad = 99;
	const char *text =
	    "# a comment\n"
	    "\n"
	    "   \t\n"
	    "FOO=bar\n"
	    "  \tLANG=en_US.UTF-8\n"
	    "EMPTY=\n"
	    "EQ=a=b=c\n"
	    "SP=  two words  \n"
	    "   # indented comment\n"
	    "no equals sign\n"
	    "=nameless\n"
	    "CR=x\r\n"
	    "LAST=no newline";

	CHECK_EQ_INT(session_env_set(&e, "FOO", 3, "old", true), 0);
	CHECK_EQ_INT(parse(&e, text, "yes", &bad), 0);
	CHECK_EQ_INT(bad, 2);
	CHECK_STR(env_get(&e, "FOO"), "bar");        /* replaces */
	CHECK_STR(env_get(&e, "LANG"), "en_US.UTF-8");
	CHECK_STR(env_get(&e, "EMPTY"), "");
	CHECK_STR(env_get(&e, "EQ"), "a=b=c");
	CHECK_STR(env_get(&e, "SP"), "  two words  ");
	CHECK_STR(env_get(&e, "CR"), "x\r");         /* as sshd: only '\n' ends a line */
	CHECK_STR(env_get(&e, "LAST"), "no newline");
	CHECK(env_get(&e, "# a comment") == NULL && env_get(&e, "") == NULL);
	CHECK_EQ_INT(e.n, 7);
	CHECK(e.v[e.n] == NULL);
	session_env_free(&e);
}

static void
test_filter(void)
{
	struct session_env e = { 0 };
	unsigned bad;
	const char *text = "LANG=C\nLANGUAGE=de\nFOO=1\nFOOBAR=2\nPATH=/evil\nfoo=3\nLC_ALL=C\n";

	CHECK_EQ_INT(parse(&e, text, "LANG,FOO*", &bad), 0);
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(e.n, 3);
	CHECK_STR(env_get(&e, "LANG"), "C");
	CHECK_STR(env_get(&e, "FOO"), "1");
	CHECK_STR(env_get(&e, "FOOBAR"), "2");
	CHECK(env_get(&e, "LANGUAGE") == NULL && env_get(&e, "PATH") == NULL &&
	    env_get(&e, "foo") == NULL && env_get(&e, "LC_ALL") == NULL);
	session_env_free(&e);

	CHECK_EQ_INT(parse(&e, text, "*,!PATH,!LANG*", &bad), 0);
	CHECK_EQ_INT(e.n, 4);
	CHECK(env_get(&e, "PATH") == NULL && env_get(&e, "LANG") == NULL);
	CHECK_STR(env_get(&e, "foo"), "3");
	session_env_free(&e);

	/* "no" (and NULL) sets nothing */
	CHECK_EQ_INT(parse(&e, text, "no", &bad), 0);
	CHECK_EQ_INT(e.n, 0);
	CHECK_EQ_INT(parse(&e, text, NULL, NULL), 0);
	CHECK_EQ_INT(e.n, 0);
	session_env_free(&e);
}

static void
test_garbage_and_limits(void)
{
	struct session_env e = { 0 };
	size_t big = SESSION_USER_ENV_MAX_LINE + 100;
	char *buf = malloc(big + 64), *p;
	unsigned bad;

	/* a NUL inside a line: that line is skipped, the next one counts */
	static const char nul[] = "A=x\0y\nB=2\n";

	CHECK_EQ_INT(session_user_env_parse(&e, nul, sizeof(nul) - 1, "yes", &bad), 0);
	CHECK_EQ_INT(bad, 1);
	CHECK(env_get(&e, "A") == NULL);
	CHECK_STR(env_get(&e, "B"), "2");
	session_env_free(&e);

	/* an over-long line is skipped whole; the line after it is read */
	memcpy(buf, "LONG=", 5);
	memset(buf + 5, 'v', big - 5);
	strcpy(buf + big, "\nAFTER=ok\n");
	CHECK_EQ_INT(parse(&e, buf, "yes", &bad), 0);
	CHECK_EQ_INT(bad, 1);
	CHECK(env_get(&e, "LONG") == NULL);
	CHECK_STR(env_get(&e, "AFTER"), "ok");
	session_env_free(&e);
	/* the longest line accepted */
	buf[SESSION_USER_ENV_MAX_LINE] = '\0';
	CHECK_EQ_INT(parse(&e, buf, "yes", &bad), 0);
	CHECK_EQ_INT(bad, 0);
	CHECK(env_get(&e, "LONG") != NULL &&
	    strlen(env_get(&e, "LONG")) == SESSION_USER_ENV_MAX_LINE - 5);
	session_env_free(&e);
	free(buf);

	/* binary garbage: no crash, nothing without a name and '=' */
	buf = malloc(4096);
	srand(7);
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < 4096; i++)
			buf[i] = (char)(rand() & 0xff);
		CHECK_EQ_INT(session_user_env_parse(&e, buf, 4096, "yes", &bad), 0);
		for (size_t i = 0; i < e.n; i++)
			CHECK(e.v[i][0] != '=' && strchr(e.v[i], '=') != NULL);
		session_env_free(&e);
	}
	free(buf);

	/* too many lines: refused past the limit */
	size_t n = (SESSION_USER_ENV_MAX_LINES + 1) * 2;

	buf = malloc(n + 1);
	for (p = buf; p < buf + n; p += 2)
		memcpy(p, "#\n", 2);
	buf[n] = '\0';
	CHECK_EQ_INT(parse(&e, buf, "yes", &bad), DSSH_ERR_NO_BUFFER_SPACE);
	buf[n - 2] = '\0';
	CHECK_EQ_INT(parse(&e, buf, "yes", &bad), 0);
	session_env_free(&e);
	free(buf);

	/* empty input */
	CHECK_EQ_INT(session_user_env_parse(&e, "", 0, "yes", &bad), 0);
	CHECK_EQ_INT(e.n, 0);
	CHECK_EQ_INT(bad, 0);
}

int
main(void)
{
	DSSH_RUN(test_lines);
	DSSH_RUN(test_filter);
	DSSH_RUN(test_garbage_and_limits);
	DSSH_TEST_END();
}
