/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Forwarding policy: config keywords and authorized_keys options combined
 * into per-connection decisions (lib/auth/dssh_fwd_policy.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_auth.h"
#include "dssh_config.h"
#include "dssh_err.h"
#include "dssh_fwd_policy.h"
#include "dssh_log.h"
#include "dssh_test.h"

static char why[512];

/*
 * A policy from config lines (NULL-terminated) and an authorized_keys
 * options string (NULL: not a key login).
 */
static void
mk(struct dssh_fwd_policy *p, const char *const *lines, const char *keyopts)
{
	struct dssh_authkey_opts o;
	struct dssh_config c;
	char err[256];

	dssh_config_init(&c);
	for (size_t i = 0; lines != NULL && lines[i] != NULL; i++) {
		int r = dssh_config_apply_line(&c, lines[i], "t", (unsigned)i + 1, err,
		    sizeof(err));

		CHECK_EQ_INT(r, 0);
		if (r != 0)
			fprintf(stderr, "config: %s\n", err);
	}
	CHECK_EQ_INT(dssh_config_finalize(&c, NULL, err, sizeof(err)), 0);
	dssh_authkey_opts_init(&o);
	if (keyopts != NULL) {
		CHECK_EQ_INT(dssh_authkey_parse_options(keyopts, &o, NULL, why,
		    sizeof(why)), 0);
		o.file = strdup("/home/u/.ssh/authorized_keys");
		o.line = 3;
	}
	CHECK_EQ_INT(dssh_fwd_policy_build(p, &c, keyopts ? &o : NULL, NULL,
	    "192.0.2.7", 40022), 0);
	dssh_authkey_opts_free(&o);
	dssh_config_free(&c);  /* the policy keeps copies */
}

static int
open_(const struct dssh_fwd_policy *p, const char *host, uint32_t port)
{
	why[0] = '\0';
	return dssh_fwd_allow_open(p, host, port, "127.0.0.1", 5555, why, sizeof(why));
}

static int
listen_(const struct dssh_fwd_policy *p, const char *addr, uint32_t port,
    uid_t uid, struct dssh_fwd_bind *b)
{
	why[0] = '\0';
	return dssh_fwd_allow_listen(p, addr, port, uid, b, why, sizeof(why));
}

static bool
why_has(const char *s)
{
	if (strstr(why, s) != NULL)
		return true;
	fprintf(stderr, "reason \"%s\" lacks \"%s\"\n", why, s);
	return false;
}

static void
test_defaults_allow_everything(void)
{
	struct dssh_fwd_policy p;
	struct dssh_fwd_bind b;

	mk(&p, NULL, NULL);
	CHECK_EQ_INT(open_(&p, "db.internal", 5432), 0);
	CHECK_EQ_INT(open_(&p, "::1", 22), 0);
	CHECK_EQ_INT(listen_(&p, "localhost", 8080, 1000, &b), 0);
	CHECK_EQ_INT(b.kind, DSSH_FWD_BIND_LOOPBACK);
	CHECK_EQ_INT(listen_(&p, "", 0, 1000, &b), 0);
	CHECK_EQ_INT(dssh_fwd_allow_streamlocal(&p, DSSH_FWD_LOCAL, "/tmp/s", why,
	    sizeof(why)), 0);
	CHECK_EQ_INT(dssh_fwd_allow_streamlocal(&p, DSSH_FWD_REMOTE, "/tmp/s", why,
	    sizeof(why)), 0);
	CHECK_EQ_INT(dssh_fwd_allow_agent(&p, why, sizeof(why)), 0);
	CHECK(!p.streamlocal_bind_unlink);
	CHECK_EQ_INT(p.streamlocal_bind_mask, 0177);
	dssh_fwd_policy_free(&p);
}

static void
test_disable_forwarding(void)
{
	static const char *const cfg[] = { "DisableForwarding yes", NULL };
	struct dssh_fwd_policy p;
	struct dssh_fwd_bind b;

	mk(&p, cfg, NULL);
	CHECK_EQ_INT(open_(&p, "db.internal", 5432), DSSH_ERR_PERMISSION);
	CHECK(why_has("refused local port forward: originator 127.0.0.1 port 5555, "
	    "target db.internal port 5432 (DisableForwarding)"));
	CHECK_EQ_INT(listen_(&p, "localhost", 8080, 0, &b), DSSH_ERR_PERMISSION);
	CHECK(why_has("DisableForwarding"));
	dssh_fwd_policy_free(&p);
}

int
main(void)
{
	dssh_log_init("test_fwd_policy", DSSH_LOG_ERROR, true);
	DSSH_RUN(test_defaults_allow_everything);
	DSSH_RUN(test_disable_forwarding);
	DSSH_TEST_END();
}
