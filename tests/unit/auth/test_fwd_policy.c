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

static int
sl(const struct dssh_fwd_policy *p, int dir)
{
	why[0] = '\0';
	return dssh_fwd_allow_streamlocal(p, dir, "/run/app.sock", why, sizeof(why));
}

static int
agent(const struct dssh_fwd_policy *p)
{
	why[0] = '\0';
	return dssh_fwd_allow_agent(p, why, sizeof(why));
}

/* DisableForwarding wins over every yes, the key's and the config's. */
static void
test_disable_overrides_all(void)
{
	static const char *const cfg[] = {
		"DisableForwarding yes", "AllowTcpForwarding yes",
		"AllowStreamLocalForwarding all", "AllowAgentForwarding yes",
		"PermitOpen any", "PermitListen any", "GatewayPorts yes", NULL,
	};
	struct dssh_fwd_policy p;
	struct dssh_fwd_bind b;

	mk(&p, cfg, "restrict,port-forwarding,agent-forwarding");
	CHECK_EQ_INT(open_(&p, "db", 5432), DSSH_ERR_PERMISSION);
	CHECK(why_has("(DisableForwarding)"));
	CHECK_EQ_INT(listen_(&p, "", 8080, 0, &b), DSSH_ERR_PERMISSION);
	CHECK(why_has("refused remote port forward: listen host  port 8080 (DisableForwarding)"));
	CHECK_EQ_INT(sl(&p, DSSH_FWD_LOCAL), DSSH_ERR_PERMISSION);
	CHECK(why_has("refused streamlocal port forward: target /run/app.sock (DisableForwarding)"));
	CHECK_EQ_INT(sl(&p, DSSH_FWD_REMOTE), DSSH_ERR_PERMISSION);
	CHECK(why_has("refused streamlocal remote forward: listen path /run/app.sock "
	    "(DisableForwarding)"));
	CHECK_EQ_INT(agent(&p), DSSH_ERR_PERMISSION);
	CHECK(why_has("refused agent forwarding (DisableForwarding)"));
	dssh_fwd_policy_free(&p);
}

/* AllowTcpForwarding and AllowStreamLocalForwarding, each value, independently. */
static void
test_allow_values(void)
{
	static const struct {
		const char *v;
		bool local, remote;
	} vals[] = {
		{ "yes", true, true }, { "all", true, true }, { "no", false, false },
		{ "local", true, false }, { "remote", false, true },
	};

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		char l1[64], l2[64];
		const char *cfg[] = { l1, NULL };
		struct dssh_fwd_policy p;
		struct dssh_fwd_bind b;

		snprintf(l1, sizeof(l1), "AllowTcpForwarding %s", vals[i].v);
		mk(&p, cfg, NULL);
		CHECK_EQ_INT(open_(&p, "db", 5432), vals[i].local ? 0 : DSSH_ERR_PERMISSION);
		if (!vals[i].local)
			CHECK(why_has("refused local port forward: originator 127.0.0.1 port 5555, "
			    "target db port 5432 (AllowTcpForwarding)"));
		CHECK_EQ_INT(listen_(&p, "localhost", 8080, 1000, &b),
		    vals[i].remote ? 0 : DSSH_ERR_PERMISSION);
		if (!vals[i].remote)
			CHECK(why_has("refused remote port forward: listen host localhost port "
			    "8080 (AllowTcpForwarding)"));
		/* Unix sockets are not TCP */
		CHECK_EQ_INT(sl(&p, DSSH_FWD_LOCAL), 0);
		CHECK_EQ_INT(sl(&p, DSSH_FWD_REMOTE), 0);
		dssh_fwd_policy_free(&p);

		snprintf(l2, sizeof(l2), "AllowStreamLocalForwarding %s", vals[i].v);
		cfg[0] = l2;
		mk(&p, cfg, NULL);
		CHECK_EQ_INT(sl(&p, DSSH_FWD_LOCAL), vals[i].local ? 0 : DSSH_ERR_PERMISSION);
		if (!vals[i].local)
			CHECK(why_has("(AllowStreamLocalForwarding)"));
		CHECK_EQ_INT(sl(&p, DSSH_FWD_REMOTE), vals[i].remote ? 0 : DSSH_ERR_PERMISSION);
		CHECK_EQ_INT(open_(&p, "db", 5432), 0);
		CHECK_EQ_INT(listen_(&p, "localhost", 8080, 1000, &b), 0);
		CHECK_EQ_INT(agent(&p), 0);
		dssh_fwd_policy_free(&p);
	}
}

static void
test_agent(void)
{
	static const char *const no[] = { "AllowAgentForwarding no", NULL };
	struct dssh_fwd_policy p;

	mk(&p, no, NULL);
	CHECK_EQ_INT(agent(&p), DSSH_ERR_PERMISSION);
	CHECK(why_has("refused agent forwarding (AllowAgentForwarding)"));
	CHECK_EQ_INT(open_(&p, "db", 1), 0);
	dssh_fwd_policy_free(&p);
	/* the key cannot turn on what the config turned off */
	mk(&p, no, "agent-forwarding");
	CHECK_EQ_INT(agent(&p), DSSH_ERR_PERMISSION);
	dssh_fwd_policy_free(&p);
	mk(&p, NULL, "no-agent-forwarding");
	CHECK_EQ_INT(agent(&p), DSSH_ERR_PERMISSION);
	CHECK(why_has("refused agent forwarding (key option no-agent-forwarding in "
	    "/home/u/.ssh/authorized_keys line 3)"));
	CHECK_EQ_INT(open_(&p, "db", 1), 0);     /* port forwarding unaffected */
	dssh_fwd_policy_free(&p);
}

/* restrict, no-port-forwarding and their undo options. */
static void
test_key_flags(void)
{
	struct dssh_fwd_policy p;
	struct dssh_fwd_bind b;

	mk(&p, NULL, "restrict");
	CHECK_EQ_INT(open_(&p, "db", 5432), DSSH_ERR_PERMISSION);
	CHECK(why_has("(key option restrict in /home/u/.ssh/authorized_keys line 3)"));
	CHECK_EQ_INT(listen_(&p, "localhost", 8080, 1000, &b), DSSH_ERR_PERMISSION);
	CHECK(why_has("key option restrict"));
	/* as sshd, no-port-forwarding covers Unix-socket forwarding too */
	CHECK_EQ_INT(sl(&p, DSSH_FWD_LOCAL), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(sl(&p, DSSH_FWD_REMOTE), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(agent(&p), DSSH_ERR_PERMISSION);
	CHECK(why_has("key option restrict"));
	dssh_fwd_policy_free(&p);

	mk(&p, NULL, "restrict,port-forwarding");
	CHECK_EQ_INT(open_(&p, "db", 5432), 0);
	CHECK_EQ_INT(listen_(&p, "localhost", 8080, 1000, &b), 0);
	CHECK_EQ_INT(sl(&p, DSSH_FWD_LOCAL), 0);
	CHECK_EQ_INT(sl(&p, DSSH_FWD_REMOTE), 0);
	CHECK_EQ_INT(agent(&p), DSSH_ERR_PERMISSION);
	dssh_fwd_policy_free(&p);

	mk(&p, NULL, "restrict,agent-forwarding");
	CHECK_EQ_INT(open_(&p, "db", 5432), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(agent(&p), 0);
	dssh_fwd_policy_free(&p);

	mk(&p, NULL, "no-port-forwarding");
	CHECK_EQ_INT(open_(&p, "db", 5432), DSSH_ERR_PERMISSION);
	CHECK(why_has("(key option no-port-forwarding in /home/u/.ssh/authorized_keys line 3)"));
	CHECK_EQ_INT(sl(&p, DSSH_FWD_REMOTE), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(agent(&p), 0);
	dssh_fwd_policy_free(&p);

	/* the key's yes does not beat the config's no */
	{
		static const char *const cfg[] = { "AllowTcpForwarding no", NULL };

		mk(&p, cfg, "restrict,port-forwarding");
		CHECK_EQ_INT(open_(&p, "db", 5432), DSSH_ERR_PERMISSION);
		CHECK(why_has("(AllowTcpForwarding)"));
		CHECK_EQ_INT(sl(&p, DSSH_FWD_LOCAL), 0);
		dssh_fwd_policy_free(&p);
	}
	/* a login without a key (password) has no key restrictions */
	mk(&p, NULL, NULL);
	CHECK(p.key_port_forwarding && p.key_where == NULL);
	CHECK_EQ_INT(open_(&p, "db", 5432), 0);
	dssh_fwd_policy_free(&p);
}

/* PermitOpen: literal hosts, "*" host and port, brackets, none, any. */
static void
test_permit_open(void)
{
	static const char *const cfg[] = {
		"PermitOpen db.internal:5432 [2001:db8::1]:* *:80 10.0.0.1:22 db*:1", NULL,
	};
	static const struct {
		const char *host;
		uint32_t port;
		bool ok;
	} cases[] = {
		{ "db.internal", 5432, true },
		{ "db.internal", 5433, false },
		{ "DB.internal", 5432, false },          /* literal, as sshd */
		{ "db.internal.", 5432, false },
		{ "2001:db8::1", 1, true },
		{ "2001:db8::1", 65535, true },
		{ "[2001:db8::1]", 1, false },           /* the wire form has no brackets */
		{ "2001:db8::2", 1, false },
		{ "anything.example", 80, true },
		{ "192.0.2.1", 80, true },
		{ "192.0.2.1", 81, false },
		{ "10.0.0.1", 22, true },
		{ "10.0.0.01", 22, false },              /* no address normalisation */
		{ "db1", 1, false },                     /* no patterns in PermitOpen */
		{ "db*", 1, true },
		{ "", 80, true },
		{ "", 22, false },
	};
	struct dssh_fwd_policy p;

	mk(&p, cfg, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = open_(&p, cases[i].host, cases[i].port);

		if (r != (cases[i].ok ? 0 : DSSH_ERR_PERMISSION))
			fprintf(stderr, "open %s port %u: %d (%s)\n", cases[i].host,
			    cases[i].port, r, why);
		CHECK_EQ_INT(r, cases[i].ok ? 0 : DSSH_ERR_PERMISSION);
	}
	CHECK_EQ_INT(open_(&p, "db.internal", 5433), DSSH_ERR_PERMISSION);
	CHECK_STR(why, "Received request from 192.0.2.7 port 40022 to connect to host "
	    "db.internal port 5433, but the request was denied (PermitOpen)");
	dssh_fwd_policy_free(&p);

	{
		static const char *const none[] = { "PermitOpen none", NULL };
		static const char *const star[] = { "PermitOpen *:*", NULL };

		mk(&p, none, NULL);
		CHECK_EQ_INT(open_(&p, "db.internal", 5432), DSSH_ERR_PERMISSION);
		CHECK(why_has("(PermitOpen)"));
		CHECK_EQ_INT(open_(&p, "*", 5432), DSSH_ERR_PERMISSION);
		/* PermitOpen is about TCP targets only */
		CHECK_EQ_INT(sl(&p, DSSH_FWD_LOCAL), 0);
		dssh_fwd_policy_free(&p);
		mk(&p, star, NULL);
		CHECK_EQ_INT(open_(&p, "x", 1), 0);
		CHECK_EQ_INT(open_(&p, "::1", 65535), 0);
		dssh_fwd_policy_free(&p);
	}
}

/* PermitOpen and permitopen= intersect; the key only restricts further. */
static void
test_permit_open_intersection(void)
{
	static const char *const cfg[] = { "PermitOpen a:1 b:2 *:3", NULL };
	struct dssh_fwd_policy p;

	mk(&p, cfg, "permitopen=\"b:2\",permitopen=\"c:3\",permitopen=\"d:4\"");
	CHECK_EQ_INT(open_(&p, "a", 1), DSSH_ERR_PERMISSION);   /* config only */
	CHECK(why_has("denied (permitopen in /home/u/.ssh/authorized_keys line 3)"));
	CHECK_EQ_INT(open_(&p, "b", 2), 0);                     /* both */
	CHECK_EQ_INT(open_(&p, "c", 3), 0);                     /* key, config's *:3 */
	CHECK_EQ_INT(open_(&p, "d", 4), DSSH_ERR_PERMISSION);   /* key only */
	CHECK(why_has("denied (PermitOpen)"));
	dssh_fwd_policy_free(&p);

	/* key list with PermitOpen any: the key's list alone */
	mk(&p, NULL, "permitopen=\"[::1]:*\",permitopen=\"*:443\"");
	CHECK_EQ_INT(open_(&p, "::1", 22), 0);
	CHECK_EQ_INT(open_(&p, "example.com", 443), 0);
	CHECK_EQ_INT(open_(&p, "example.com", 80), DSSH_ERR_PERMISSION);
	CHECK(why_has("(permitopen in"));
	CHECK_EQ_INT(open_(&p, "127.0.0.1", 22), DSSH_ERR_PERMISSION);
	dssh_fwd_policy_free(&p);

	/* with PermitOpen none nothing the key lists is reachable */
	{
		static const char *const none[] = { "PermitOpen none", NULL };

		mk(&p, none, "permitopen=\"b:2\"");
		CHECK_EQ_INT(open_(&p, "b", 2), DSSH_ERR_PERMISSION);
		dssh_fwd_policy_free(&p);
	}
	/* permitopen= does not re-enable what restrict turned off */
	mk(&p, NULL, "restrict,permitopen=\"b:2\"");
	CHECK_EQ_INT(open_(&p, "b", 2), DSSH_ERR_PERMISSION);
	CHECK(why_has("(key option restrict"));
	dssh_fwd_policy_free(&p);
}

/* PermitListen / permitlisten=: patterns, bare ports, port 0, intersection. */
static void
test_permit_listen(void)
{
	static const char *const cfg[] = {
		"PermitListen 8080 localhost:* 127.0.0.1:9000 [::1]:9001 10.0.*.1:7000", NULL,
	};
	static const struct {
		const char *addr;
		uint32_t port;
		bool ok;
	} cases[] = {
		{ "localhost", 8080, true },
		{ "", 8080, true },                      /* bare port: any host */
		{ "192.0.2.9", 8080, true },
		{ "localhost", 1, true },
		{ "LOCALHOST", 2000, true },             /* requests are lowercased */
		{ "localhost", 0, true },                /* port "*" covers port 0 */
		{ "127.0.0.1", 9000, true },
		{ "127.0.0.1", 9001, false },            /* "localhost" is not 127.0.0.1 */
		{ "127.0.0.1", 0, false },               /* port 0 needs a "*" port */
		{ "::1", 9001, true },
		{ "[::1]", 9001, false },
		{ "10.0.5.1", 7000, true },              /* PermitListen hosts are patterns */
		{ "10.0.5.2", 7000, false },
		{ "10.0.5.1", 7001, false },
		{ "", 9000, false },
	};
	struct dssh_fwd_policy p;
	struct dssh_fwd_bind b;

	mk(&p, cfg, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = listen_(&p, cases[i].addr, cases[i].port, 0, &b);

		if (r != (cases[i].ok ? 0 : DSSH_ERR_PERMISSION))
			fprintf(stderr, "listen \"%s\" port %u: %d (%s)\n", cases[i].addr,
			    cases[i].port, r, why);
		CHECK_EQ_INT(r, cases[i].ok ? 0 : DSSH_ERR_PERMISSION);
	}
	CHECK_EQ_INT(listen_(&p, "127.0.0.1", 9001, 0, &b), DSSH_ERR_PERMISSION);
	CHECK_STR(why, "Received request from 192.0.2.7 port 40022 to remote forward to "
	    "host 127.0.0.1 port 9001, but the request was denied (PermitListen)");
	dssh_fwd_policy_free(&p);

	{
		static const char *const none[] = { "PermitListen none", NULL };

		mk(&p, none, NULL);
		CHECK_EQ_INT(listen_(&p, "localhost", 8080, 0, &b), DSSH_ERR_PERMISSION);
		CHECK(why_has("(PermitListen)"));
		CHECK_EQ_INT(open_(&p, "db", 1), 0);
		/* no ACLs for Unix sockets, as sshd */
		CHECK_EQ_INT(sl(&p, DSSH_FWD_REMOTE), 0);
		dssh_fwd_policy_free(&p);
	}
	/* intersection with the key's permitlisten= */
	mk(&p, cfg, "permitlisten=\"localhost:8080\",permitlisten=\"*:7000\","
	    "permitlisten=\"9999\"");
	CHECK_EQ_INT(listen_(&p, "localhost", 8080, 0, &b), 0);
	CHECK_EQ_INT(listen_(&p, "localhost", 8081, 0, &b), DSSH_ERR_PERMISSION);
	CHECK(why_has("(permitlisten in /home/u/.ssh/authorized_keys line 3)"));
	CHECK_EQ_INT(listen_(&p, "10.0.1.1", 7000, 0, &b), 0);
	CHECK_EQ_INT(listen_(&p, "10.0.1.2", 7000, 0, &b), DSSH_ERR_PERMISSION);
	CHECK(why_has("(PermitListen)"));
	CHECK_EQ_INT(listen_(&p, "", 9999, 0, &b), DSSH_ERR_PERMISSION);
	CHECK(why_has("(PermitListen)"));
	dssh_fwd_policy_free(&p);
	/* the key's list alone, and its patterns */
	mk(&p, NULL, "permitlisten=\"Local*:*\"");
	CHECK_EQ_INT(listen_(&p, "localhost", 5000, 1000, &b), 0);
	CHECK_EQ_INT(listen_(&p, "localhost.localdomain", 5000, 1000, &b), 0);
	CHECK_EQ_INT(listen_(&p, "", 5000, 1000, &b), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(listen_(&p, "127.0.0.1", 5000, 1000, &b), DSSH_ERR_PERMISSION);
	dssh_fwd_policy_free(&p);
}

/* GatewayPorts: what to bind for each requested address. */
static void
test_gateway_ports(void)
{
	static const struct {
		const char *gw, *req;
		enum dssh_fwd_bind_kind kind;
		bool overridden;
	} cases[] = {
		{ "no", "", DSSH_FWD_BIND_LOOPBACK, false },
		{ "no", "*", DSSH_FWD_BIND_LOOPBACK, false },
		{ "no", "localhost", DSSH_FWD_BIND_LOOPBACK, false },
		{ "no", "0.0.0.0", DSSH_FWD_BIND_LOOPBACK, false },
		{ "no", "192.0.2.5", DSSH_FWD_BIND_LOOPBACK, false },
		{ "no", "127.0.0.1", DSSH_FWD_BIND_ADDR, false },
		{ "no", "::1", DSSH_FWD_BIND_ADDR, false },
		{ "yes", "", DSSH_FWD_BIND_ANY, false },
		{ "yes", "*", DSSH_FWD_BIND_ANY, false },
		{ "yes", "0.0.0.0", DSSH_FWD_BIND_ANY, false },
		{ "yes", "localhost", DSSH_FWD_BIND_ANY, true },
		{ "yes", "127.0.0.1", DSSH_FWD_BIND_ANY, true },
		{ "yes", "192.0.2.5", DSSH_FWD_BIND_ANY, true },
		{ "clientspecified", "", DSSH_FWD_BIND_ANY, false },
		{ "clientspecified", "*", DSSH_FWD_BIND_ANY, false },
		{ "clientspecified", "localhost", DSSH_FWD_BIND_LOOPBACK, false },
		{ "clientspecified", "127.0.0.1", DSSH_FWD_BIND_ADDR, false },
		{ "clientspecified", "::1", DSSH_FWD_BIND_ADDR, false },
		{ "clientspecified", "192.0.2.5", DSSH_FWD_BIND_ADDR, false },
		{ "clientspecified", "2001:db8::5", DSSH_FWD_BIND_ADDR, false },
		{ "clientspecified", "0.0.0.0", DSSH_FWD_BIND_ADDR, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char l[64];
		const char *cfg[] = { l, NULL };
		struct dssh_fwd_policy p;
		struct dssh_fwd_bind b = { DSSH_FWD_BIND_ANY, "junk", true };
		int r;

		snprintf(l, sizeof(l), "GatewayPorts %s", cases[i].gw);
		mk(&p, cfg, NULL);
		r = listen_(&p, cases[i].req, 8080, 1000, &b);
		CHECK_EQ_INT(r, 0);
		if (b.kind != cases[i].kind || b.overridden != cases[i].overridden)
			fprintf(stderr, "GatewayPorts %s, \"%s\": kind %d overridden %d\n",
			    cases[i].gw, cases[i].req, b.kind, b.overridden);
		CHECK_EQ_INT(b.kind, cases[i].kind);
		CHECK_EQ_INT(b.overridden, cases[i].overridden);
		if (cases[i].kind == DSSH_FWD_BIND_ADDR)
			CHECK_STR(b.addr, cases[i].req);
		else
			CHECK(b.addr == NULL);
		dssh_fwd_policy_free(&p);
	}
}

/* Privileged ports, port range, bad input. */
static void
test_ports(void)
{
	struct dssh_fwd_policy p;
	struct dssh_fwd_bind b;

	mk(&p, NULL, NULL);
	CHECK_EQ_INT(listen_(&p, "localhost", 80, 1000, &b), DSSH_ERR_PERMISSION);
	CHECK(why_has("refused remote port forward: listen host localhost port 80 "
	    "(privileged port, user is not root)"));
	CHECK_EQ_INT(listen_(&p, "localhost", 1023, 1000, &b), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(listen_(&p, "localhost", 1024, 1000, &b), 0);
	CHECK_EQ_INT(listen_(&p, "localhost", 80, 0, &b), 0);
	CHECK_EQ_INT(listen_(&p, "localhost", 0, 1000, &b), 0);  /* kernel picks */
	CHECK_EQ_INT(listen_(&p, "localhost", 65535, 1000, &b), 0);
	CHECK_EQ_INT(listen_(&p, "localhost", 65536, 0, &b), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(listen_(&p, "localhost", UINT32_MAX, 0, &b), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(listen_(&p, NULL, 8080, 0, &b), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(dssh_fwd_allow_listen(&p, "localhost", 8080, 0, NULL, NULL, 0), 0);
	{
		char big[1100];

		memset(big, 'a', 1025);
		big[1025] = '\0';
		CHECK_EQ_INT(listen_(&p, big, 8080, 0, &b), DSSH_ERR_PERMISSION);
		big[1024] = '\0';
		CHECK_EQ_INT(listen_(&p, big, 8080, 0, &b), 0);
	}
	CHECK_EQ_INT(open_(&p, "db", 0), 0);     /* sshd does not refuse port 0 here */
	CHECK_EQ_INT(open_(&p, "db", 65536), DSSH_ERR_PERMISSION);
	CHECK(why_has("(bad target)"));
	CHECK_EQ_INT(open_(&p, NULL, 22), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(dssh_fwd_allow_streamlocal(&p, 0, "/x", why, sizeof(why)),
	    DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(dssh_fwd_allow_streamlocal(&p, DSSH_FWD_ALL, "/x", why, sizeof(why)),
	    DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(dssh_fwd_allow_streamlocal(&p, DSSH_FWD_LOCAL, NULL, NULL, 0), 0);
	dssh_fwd_policy_free(&p);
}

/* Peer strings in reasons: cut at 100 characters, control bytes replaced. */
static void
test_reason_hygiene(void)
{
	static const char *const cfg[] = { "AllowTcpForwarding no", NULL };
	struct dssh_fwd_policy p;
	char host[300], small[24];

	mk(&p, cfg, NULL);
	memset(host, 'x', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	host[3] = '\n';
	host[4] = '\033';
	CHECK_EQ_INT(dssh_fwd_allow_open(&p, host, 22, "evil\r\nline", 1, why,
	    sizeof(why)), DSSH_ERR_PERMISSION);
	CHECK(strchr(why, '\n') == NULL && strchr(why, '\r') == NULL &&
	    strchr(why, '\033') == NULL);
	CHECK(why_has("originator evil??line port 1, target xxx??"));
	CHECK(why_has("xxxxx port 22 (AllowTcpForwarding)"));
	CHECK(strlen(why) < 100 + 120);
	/* a short buffer is cut, not overrun */
	CHECK_EQ_INT(dssh_fwd_allow_open(&p, "db", 22, NULL, 0, small, sizeof(small)),
	    DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(strlen(small), sizeof(small) - 1);
	dssh_fwd_policy_free(&p);
}

/* Certificate extensions restrict like key options. */
static void
test_cert(void)
{
	struct dssh_config c;
	struct dssh_fwd_policy p;
	struct dssh_fwd_cert_perms none = { false, false }, port = { true, false };

	dssh_config_init(&c);
	CHECK_EQ_INT(dssh_config_finalize(&c, NULL, why, sizeof(why)), 0);
	CHECK_EQ_INT(dssh_fwd_policy_build(&p, &c, NULL, &none, NULL, 0), 0);
	CHECK_EQ_INT(open_(&p, "db", 1), DSSH_ERR_PERMISSION);
	CHECK(why_has("(certificate without permit-port-forwarding)"));
	CHECK_EQ_INT(agent(&p), DSSH_ERR_PERMISSION);
	CHECK(why_has("permit-agent-forwarding"));
	dssh_fwd_policy_free(&p);
	CHECK_EQ_INT(dssh_fwd_policy_build(&p, &c, NULL, &port, NULL, 0), 0);
	CHECK_EQ_INT(open_(&p, "db", 1), 0);
	CHECK_EQ_INT(agent(&p), DSSH_ERR_PERMISSION);
	dssh_fwd_policy_free(&p);
	dssh_config_free(&c);
}

/* Unset (unfinalized) config values count as sshd's defaults; StreamLocal*. */
static void
test_unset_and_streamlocal_opts(void)
{
	struct dssh_config c;
	struct dssh_fwd_policy p;
	struct dssh_fwd_bind b;

	dssh_config_init(&c);
	CHECK_EQ_INT(dssh_fwd_policy_build(&p, &c, NULL, NULL, NULL, 0), 0);
	CHECK_EQ_INT(open_(&p, "db", 1), 0);
	CHECK_EQ_INT(listen_(&p, "", 8080, 1000, &b), 0);
	CHECK_EQ_INT(b.kind, DSSH_FWD_BIND_LOOPBACK);
	CHECK_EQ_INT(agent(&p), 0);
	CHECK_EQ_INT(p.streamlocal_bind_mask, 0177);
	CHECK(!p.streamlocal_bind_unlink);
	CHECK_STR(p.remote_ip, "?");
	dssh_fwd_policy_free(&p);
	dssh_config_free(&c);

	{
		static const char *const cfg[] = {
			"StreamLocalBindUnlink yes", "StreamLocalBindMask 0", NULL,
		};

		mk(&p, cfg, NULL);
		CHECK(p.streamlocal_bind_unlink);
		CHECK_EQ_INT(p.streamlocal_bind_mask, 0);
		dssh_fwd_policy_free(&p);
	}
	/* free twice is harmless (free leaves an empty policy) */
	mk(&p, NULL, "permitopen=\"a:1\"");
	dssh_fwd_policy_free(&p);
	dssh_fwd_policy_free(&p);
	CHECK(p.key_open == NULL && p.nkey_open == 0);
}

int
main(void)
{
	dssh_log_init("test_fwd_policy", DSSH_LOG_ERROR, true);
	DSSH_RUN(test_defaults_allow_everything);
	DSSH_RUN(test_disable_forwarding);
	DSSH_RUN(test_disable_overrides_all);
	DSSH_RUN(test_allow_values);
	DSSH_RUN(test_agent);
	DSSH_RUN(test_key_flags);
	DSSH_RUN(test_permit_open);
	DSSH_RUN(test_permit_open_intersection);
	DSSH_RUN(test_permit_listen);
	DSSH_RUN(test_gateway_ports);
	DSSH_RUN(test_ports);
	DSSH_RUN(test_reason_hygiene);
	DSSH_RUN(test_cert);
	DSSH_RUN(test_unset_and_streamlocal_opts);
	DSSH_TEST_END();
}
