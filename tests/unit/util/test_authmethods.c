/* SPDX-License-Identifier: BSD-3-Clause */
/* AuthenticationMethods: parsing, which methods may be tried, partial
 * success and the name-list of the methods that can continue. */
#include <string.h>

#include "dssh_authmethods.h"
#include "dssh_err.h"
#include "dssh_test.h"

#define ALL (DSSH_AUTHM_BIT(DSSH_AUTHM_PUBLICKEY) | DSSH_AUTHM_BIT(DSSH_AUTHM_PASSWORD) | \
	DSSH_AUTHM_BIT(DSSH_AUTHM_KBDINT))

static void
test_parse(void)
{
	struct dssh_authmethods am;
	char why[128];

	CHECK_EQ_INT(dssh_authmethods_parse("any", &am, why, sizeof(why)), 0);
	CHECK(am.any);
	CHECK_EQ_INT(dssh_authmethods_parse("publickey,password publickey,keyboard-interactive:pam",
	    &am, why, sizeof(why)), 0);
	CHECK(!am.any);
	CHECK_EQ_INT(am.nlists, 2);
	CHECK_EQ_INT(am.list[0].n, 2);
	CHECK_EQ_INT(am.list[0].step[1], DSSH_AUTHM_PASSWORD);
	CHECK_EQ_INT(am.list[1].step[1], DSSH_AUTHM_KBDINT);
	CHECK_EQ_INT(dssh_authmethods_parse("  password\tpublickey ", &am, why, sizeof(why)), 0);
	CHECK_EQ_INT(am.nlists, 2);
	static const char *const badv[] = {
		"", " ", "publickey,", ",publickey", "publickey,,password", "hostbased",
		"keyboard-interactive:bsdauth", "any publickey", "publickey any", "Password",
		"publickey,publickey,publickey,publickey,publickey,publickey,publickey,publickey,"
		"publickey,publickey,publickey,publickey,publickey,publickey,publickey,publickey,"
		"publickey",
	};
	for (size_t i = 0; i < sizeof(badv) / sizeof(badv[0]); i++) {
		CHECK_EQ_INT(dssh_authmethods_parse(badv[i], &am, why, sizeof(why)),
		    DSSH_ERR_INVALID_FORMAT);
		CHECK(why[0] != '\0');
	}
	CHECK_EQ_INT(dssh_authm_from_name("keyboard-interactive"), DSSH_AUTHM_KBDINT);
	CHECK_EQ_INT(dssh_authm_from_name("none"), -1);
}

static void
test_flow(void)
{
	struct dssh_authmethods am;
	char out[128];

	CHECK_EQ_INT(dssh_authmethods_parse("publickey,password publickey,keyboard-interactive",
	    &am, NULL, 0), 0);
	CHECK(dssh_authmethods_satisfiable(&am, ALL));
	CHECK(dssh_authmethods_allowed(&am, DSSH_AUTHM_PUBLICKEY));
	CHECK(!dssh_authmethods_allowed(&am, DSSH_AUTHM_PASSWORD));
	CHECK(!dssh_authmethods_allowed(&am, DSSH_AUTHM_KBDINT));
	CHECK_EQ_INT(dssh_authmethods_continue(&am, ALL, out, sizeof(out)), 0);
	CHECK_STR(out, "publickey");
	/* publickey: partial, password or keyboard-interactive continue */
	CHECK(!dssh_authmethods_success(&am, DSSH_AUTHM_PUBLICKEY));
	CHECK(!dssh_authmethods_allowed(&am, DSSH_AUTHM_PUBLICKEY));
	CHECK(dssh_authmethods_allowed(&am, DSSH_AUTHM_PASSWORD));
	CHECK_EQ_INT(dssh_authmethods_continue(&am, ALL, out, sizeof(out)), 0);
	CHECK_STR(out, "password,keyboard-interactive");
	/* keyboard-interactive disabled: only password can continue */
	CHECK_EQ_INT(dssh_authmethods_continue(&am, ALL & ~DSSH_AUTHM_BIT(DSSH_AUTHM_KBDINT),
	    out, sizeof(out)), 0);
	CHECK_STR(out, "password");
	CHECK(dssh_authmethods_success(&am, DSSH_AUTHM_PASSWORD));
	/* too small an output */
	CHECK_EQ_INT(dssh_authmethods_parse("publickey", &am, NULL, 0), 0);
	CHECK_EQ_INT(dssh_authmethods_continue(&am, ALL, out, 4), DSSH_ERR_NO_BUFFER_SPACE);
	CHECK_EQ_INT(dssh_authmethods_continue(&am, ALL, out, 0), DSSH_ERR_NO_BUFFER_SPACE);
}

static void
test_twice_and_any(void)
{
	struct dssh_authmethods am;
	char out[128];

	CHECK_EQ_INT(dssh_authmethods_parse("publickey,publickey", &am, NULL, 0), 0);
	CHECK(!dssh_authmethods_success(&am, DSSH_AUTHM_PUBLICKEY));
	CHECK(dssh_authmethods_allowed(&am, DSSH_AUTHM_PUBLICKEY));
	CHECK(dssh_authmethods_success(&am, DSSH_AUTHM_PUBLICKEY));
	/* a method not next in any list does not advance anything */
	CHECK_EQ_INT(dssh_authmethods_parse("password,publickey", &am, NULL, 0), 0);
	CHECK(!dssh_authmethods_success(&am, DSSH_AUTHM_PUBLICKEY));
	CHECK_EQ_INT(am.list[0].done, 0);
	/* only lists that can finish with the enabled methods are offered */
	CHECK(!dssh_authmethods_satisfiable(&am, DSSH_AUTHM_BIT(DSSH_AUTHM_PUBLICKEY)));
	CHECK_EQ_INT(dssh_authmethods_continue(&am, DSSH_AUTHM_BIT(DSSH_AUTHM_PASSWORD), out,
	    sizeof(out)), 0);
	CHECK_STR(out, "");
	CHECK_EQ_INT(dssh_authmethods_parse("any", &am, NULL, 0), 0);
	CHECK(dssh_authmethods_allowed(&am, DSSH_AUTHM_KBDINT));
	CHECK_EQ_INT(dssh_authmethods_continue(&am, ALL, out, sizeof(out)), 0);
	CHECK_STR(out, "publickey,password,keyboard-interactive");
	CHECK(dssh_authmethods_success(&am, DSSH_AUTHM_PASSWORD));
	CHECK(!dssh_authmethods_satisfiable(&am, 0));
}

int
main(void)
{
	DSSH_RUN(test_parse);
	DSSH_RUN(test_flow);
	DSSH_RUN(test_twice_and_any);
	DSSH_TEST_END();
}
