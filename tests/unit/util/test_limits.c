/* SPDX-License-Identifier: BSD-3-Clause */
/* Pre-auth limits: MaxStartups arithmetic, address blocks, the penalty
 * table's expiry and bounds, per-source counts. */
#include "dssh_limits.h"
#include "dssh_test.h"

static struct dssh_addr
A(const char *s)
{
	struct dssh_addr a;

	CHECK_EQ_INT(dssh_addr_parse(s, &a), 0);
	return a;
}

static void
test_maxstartups_parse(void)
{
	struct dssh_maxstartups m;

	CHECK_EQ_INT(dssh_maxstartups_parse("10:30:100", &m), 0);
	CHECK_EQ_INT(m.begin, 10);
	CHECK_EQ_INT(m.rate, 30);
	CHECK_EQ_INT(m.full, 100);
	CHECK_EQ_INT(dssh_maxstartups_parse("7", &m), 0);
	CHECK_EQ_INT(m.begin, 7);
	CHECK_EQ_INT(m.full, 7);
	CHECK_EQ_INT(m.rate, 100);
	CHECK(dssh_maxstartups_parse("", &m) != 0);
	CHECK(dssh_maxstartups_parse("10:30", &m) != 0);
	CHECK(dssh_maxstartups_parse("10:101:100", &m) != 0);   /* rate is a percentage */
	CHECK(dssh_maxstartups_parse("20:30:10", &m) != 0);     /* begin > full */
	CHECK(dssh_maxstartups_parse("10:30:100:", &m) != 0);
	CHECK(dssh_maxstartups_parse("-1:30:100", &m) != 0);
	CHECK(dssh_maxstartups_parse("1::3", &m) != 0);
	CHECK(dssh_maxstartups_parse("99999999999999999999", &m) != 0);
}

static void
test_drop_pct(void)
{
	struct dssh_maxstartups m = { 10, 30, 100 };
	struct dssh_maxstartups one = { 5, 100, 5 };

	CHECK_EQ_INT(dssh_maxstartups_drop_pct(&m, 0), 0);
	CHECK_EQ_INT(dssh_maxstartups_drop_pct(&m, 9), 0);
	CHECK_EQ_INT(dssh_maxstartups_drop_pct(&m, 10), 30);
	CHECK_EQ_INT(dssh_maxstartups_drop_pct(&m, 55), 65);      /* half way: 30 + 70/2 */
	CHECK_EQ_INT(dssh_maxstartups_drop_pct(&m, 99), 99);
	CHECK_EQ_INT(dssh_maxstartups_drop_pct(&m, 100), 100);
	CHECK_EQ_INT(dssh_maxstartups_drop_pct(&m, 100000), 100);
	/* Monotone between begin and full. */
	for (unsigned n = 10, last = 0; n <= 100; n++) {
		unsigned p = dssh_maxstartups_drop_pct(&m, n);

		CHECK(p >= last && p <= 100);
		last = p;
	}
	/* A plain number: all below, none from it on. */
	CHECK_EQ_INT(dssh_maxstartups_drop_pct(&one, 4), 0);
	CHECK_EQ_INT(dssh_maxstartups_drop_pct(&one, 5), 100);
}

static void
test_netblock(void)
{
	struct dssh_addr a = A("192.0.2.77"), b;
	char s[64];

	CHECK_EQ_INT(a.af, 4);
	dssh_addr_block(&a, 24, 64, &b);
	dssh_addr_format(&b, s, sizeof(s));
	CHECK_STR(s, "192.0.2.0");
	dssh_addr_block(&a, 20, 64, &b);
	dssh_addr_format(&b, s, sizeof(s));
	CHECK_STR(s, "192.0.0.0");
	dssh_addr_block(&a, 32, 64, &b);
	CHECK(dssh_addr_cmp(&a, &b) == 0);
	dssh_addr_block(&a, 0, 64, &b);
	dssh_addr_format(&b, s, sizeof(s));
	CHECK_STR(s, "0.0.0.0");
	dssh_addr_block(&a, 99, 64, &b);          /* clamped to 32 */
	CHECK(dssh_addr_cmp(&a, &b) == 0);

	a = A("2001:db8:1234:5678:9abc::1");
	CHECK_EQ_INT(a.af, 6);
	dssh_addr_block(&a, 32, 64, &b);
	dssh_addr_format(&b, s, sizeof(s));
	CHECK_STR(s, "2001:db8:1234:5678::");
	dssh_addr_block(&a, 32, 36, &b);
	dssh_addr_format(&b, s, sizeof(s));
	CHECK_STR(s, "2001:db8:1000::");
	dssh_addr_block(&a, 32, 128, &b);
	CHECK(dssh_addr_cmp(&a, &b) == 0);

	/* IPv4-mapped IPv6 is the IPv4 address (one source, one block). */
	b = A("::ffff:192.0.2.77");
	CHECK_EQ_INT(b.af, 4);
	CHECK(dssh_addr_cmp(&b, &(struct dssh_addr){ 0 }) != 0);
	a = A("192.0.2.77");
	CHECK(dssh_addr_cmp(&a, &b) == 0);
	CHECK(dssh_addr_parse("192.0.2", &b) != 0);
	CHECK(dssh_addr_parse("", &b) != 0);
	CHECK(dssh_addr_parse("2001:db8::1::2", &b) != 0);
}

static void
test_cidr_list(void)
{
	struct dssh_cidr *v;
	unsigned n;
	struct dssh_addr a;

	CHECK_EQ_INT(dssh_cidr_list_parse("10.0.0.0/8,192.0.2.1,2001:db8::/32", &v, &n), 0);
	CHECK_EQ_INT(n, 3);
	a = A("10.200.3.4");
	CHECK(dssh_cidr_list_match(v, n, &a));
	a = A("11.0.0.1");
	CHECK(!dssh_cidr_list_match(v, n, &a));
	a = A("192.0.2.1");
	CHECK(dssh_cidr_list_match(v, n, &a));
	a = A("192.0.2.2");
	CHECK(!dssh_cidr_list_match(v, n, &a));
	a = A("2001:db8:ffff::9");
	CHECK(dssh_cidr_list_match(v, n, &a));
	a = A("2001:db9::9");
	CHECK(!dssh_cidr_list_match(v, n, &a));
	free(v);
	CHECK(dssh_cidr_list_parse("10.0.0.0/33", &v, &n) != 0);
	CHECK(dssh_cidr_list_parse("10.0.0.0/8,", &v, &n) != 0);
	CHECK(dssh_cidr_list_parse(",10.0.0.0/8", &v, &n) != 0);
	CHECK(dssh_cidr_list_parse("10.0.0.0/", &v, &n) != 0);
	CHECK(dssh_cidr_list_parse("nonsense", &v, &n) != 0);
	CHECK(dssh_cidr_list_parse("::/129", &v, &n) != 0);
}

static void
test_penalty_expiry(void)
{
	struct dssh_penalty_conf pc;
	struct dssh_penalty_table *t;
	struct dssh_penalty_info info;
	struct dssh_addr a = A("198.18.0.1"), b = A("198.18.0.2");
	unsigned left;
	enum dssh_penalty_kind kind;
	uint64_t now = 1000000;

	dssh_penalty_conf_default(&pc);
	CHECK_EQ_INT(dssh_penalty_table_new(&pc, &t), 0);
	/* authfail 5 s: below min (15 s), recorded but not enforced. */
	dssh_penalty_add(t, &a, DSSH_PENALTY_AUTHFAIL, 5, now, &info);
	CHECK_EQ_INT(info.result, DSSH_PENALTY_ADDED);
	CHECK_EQ_INT(info.secs, 5);
	CHECK(!info.active);
	CHECK(!dssh_penalty_refused(t, &a, now, &left, &kind));
	CHECK_EQ_INT(left, 5);
	/* Penalties add up; at 15 s they are enforced. */
	dssh_penalty_add(t, &a, DSSH_PENALTY_AUTHFAIL, 5, now, &info);
	CHECK_EQ_INT(info.result, DSSH_PENALTY_EXTENDED);
	CHECK(!info.active);
	dssh_penalty_add(t, &a, DSSH_PENALTY_AUTHFAIL, 5, now, &info);
	CHECK(info.active);
	CHECK_EQ_INT(info.secs, 15);
	CHECK(dssh_penalty_refused(t, &a, now + 14000, &left, &kind));
	CHECK_EQ_INT(left, 1);
	CHECK_EQ_INT(kind, DSSH_PENALTY_AUTHFAIL);
	CHECK_STR(dssh_penalty_reason(kind), "penalty: failed authentication");
	CHECK(!dssh_penalty_refused(t, &b, now, &left, &kind));
	/* Expired: refused no more, and gone at the sweep. */
	CHECK(!dssh_penalty_refused(t, &a, now + 15000, &left, &kind));
	CHECK_EQ_INT(dssh_penalty_sources(t, 4), 1);
	CHECK_EQ_INT(dssh_penalty_expire(t, now + 14999), 0);
	CHECK_EQ_INT(dssh_penalty_expire(t, now + 15000), 1);
	CHECK_EQ_INT(dssh_penalty_sources(t, 4), 0);
	/* Capped at max. */
	dssh_penalty_add(t, &a, DSSH_PENALTY_AUTHFAIL, 90, now, &info);
	for (int i = 0; i < 20; i++)
		dssh_penalty_add(t, &a, DSSH_PENALTY_AUTHFAIL, 90, now, &info);
	CHECK_EQ_INT(info.secs, 600);
	CHECK(info.active);
	/* An expired entry not yet swept starts afresh (not active). */
	dssh_penalty_add(t, &a, DSSH_PENALTY_AUTHFAIL, 1, now + 700000, &info);
	CHECK_EQ_INT(info.result, DSSH_PENALTY_ADDED);
	CHECK(!info.active);
	CHECK_EQ_INT(dssh_penalty_sources(t, 4), 1);
	dssh_penalty_table_free(t);
}

static void
test_penalty_bounds(void)
{
	struct dssh_penalty_conf pc;
	struct dssh_penalty_table *t;
	struct dssh_penalty_info info;
	struct dssh_addr a, v6 = A("2001:db8::1");
	unsigned left;
	enum dssh_penalty_kind kind;
	uint64_t now = 5000;
	char s[64];

	dssh_penalty_conf_default(&pc);
	pc.min_secs = 0;
	pc.max_sources4 = 100;
	pc.max_sources6 = 2;
	CHECK_EQ_INT(dssh_penalty_table_new(&pc, &t), 0);
	for (unsigned i = 0; i < 150; i++) {
		snprintf(s, sizeof(s), "10.0.%u.%u", i / 7, i % 200);
		a = A(s);
		dssh_penalty_add(t, &a, DSSH_PENALTY_AUTHFAIL, 10 + i, now, &info);
		CHECK_EQ_INT(info.result, i < 100 ? DSSH_PENALTY_ADDED : DSSH_PENALTY_TABLE_FULL);
	}
	CHECK_EQ_INT(dssh_penalty_sources(t, 4), 100);
	/* A source already there is extended even when full. */
	a = A("10.0.0.0");
	dssh_penalty_add(t, &a, DSSH_PENALTY_AUTHFAIL, 1, now, &info);
	CHECK_EQ_INT(info.result, DSSH_PENALTY_EXTENDED);
	/* Permissive overflow: an unknown source is let in. */
	a = A("10.9.9.9");
	CHECK(!dssh_penalty_refused(t, &a, now, &left, &kind));
	/* The IPv6 table is separate. */
	dssh_penalty_add(t, &v6, DSSH_PENALTY_AUTHFAIL, 10, now, &info);
	CHECK_EQ_INT(info.result, DSSH_PENALTY_ADDED);
	CHECK_EQ_INT(dssh_penalty_sources(t, 6), 1);
	/* The shortest ones expire first, which makes room. */
	CHECK_EQ_INT(dssh_penalty_expire(t, now + 20000), 12);
	CHECK_EQ_INT(dssh_penalty_sources(t, 4), 89);
	CHECK_EQ_INT(dssh_penalty_sources(t, 6), 0);
	dssh_penalty_add(t, &a, DSSH_PENALTY_AUTHFAIL, 10, now + 20000, &info);
	CHECK_EQ_INT(info.result, DSSH_PENALTY_ADDED);
	dssh_penalty_table_free(t);

	/* deny-all: while the family's table is full, everyone is refused. */
	pc.max_sources4 = 1;
	pc.overflow_deny4 = true;
	CHECK_EQ_INT(dssh_penalty_table_new(&pc, &t), 0);
	a = A("10.0.0.1");
	CHECK(!dssh_penalty_refused(t, &a, now, &left, &kind));
	dssh_penalty_add(t, &a, DSSH_PENALTY_AUTHFAIL, 10, now, &info);
	a = A("10.0.0.2");
	CHECK(dssh_penalty_refused(t, &a, now, &left, &kind));
	CHECK(!dssh_penalty_refused(t, &v6, now, &left, &kind));  /* overflow6 permissive */
	CHECK_EQ_INT(dssh_penalty_expire(t, now + 10000), 1);
	CHECK(!dssh_penalty_refused(t, &a, now + 10000, &left, &kind));
	dssh_penalty_table_free(t);
}

static void
test_srccount(void)
{
	struct dssh_srccount sc = { 0 };
	struct dssh_addr a = A("127.0.0.1"), b = A("127.0.0.2"), c = A("::1");

	CHECK_EQ_INT(dssh_srccount_inc(&sc, &a), 1);
	CHECK_EQ_INT(dssh_srccount_inc(&sc, &a), 2);
	CHECK_EQ_INT(dssh_srccount_inc(&sc, &b), 1);
	CHECK_EQ_INT(dssh_srccount_inc(&sc, &c), 1);
	for (int i = 0; i < 1000; i++)
		CHECK_EQ_INT(dssh_srccount_inc(&sc, &c), 2 + i);
	CHECK_EQ_INT(dssh_srccount_get(&sc, &a), 2);
	dssh_srccount_dec(&sc, &a);
	dssh_srccount_dec(&sc, &a);
	dssh_srccount_dec(&sc, &a);      /* one too many: harmless */
	CHECK_EQ_INT(dssh_srccount_get(&sc, &a), 0);
	CHECK_EQ_INT(sc.n, 2);
	CHECK_EQ_INT(dssh_srccount_get(&sc, &b), 1);
	dssh_srccount_free(&sc);
}

int
main(void)
{
	DSSH_RUN(test_maxstartups_parse);
	DSSH_RUN(test_drop_pct);
	DSSH_RUN(test_netblock);
	DSSH_RUN(test_cidr_list);
	DSSH_RUN(test_penalty_expiry);
	DSSH_RUN(test_penalty_bounds);
	DSSH_RUN(test_srccount);
	DSSH_TEST_END();
}
