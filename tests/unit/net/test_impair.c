/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The impairment stage: spec parsing and formatting, then the stage driven
 * by a fake clock with tracked packet handles (each malloc'd, so ASan sees
 * a leak or a double free; the tracker also checks every handle ends either
 * freed by the stage or popped, exactly once).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_impair.h"
#include "dssh_test.h"

enum { P_LIVE = 1, P_FREED, P_TAKEN };

struct tpkt {
	uint32_t id;        /* handles are numbered in the order they enter the stage */
	uint64_t pushed;
};

struct trk {
	uint32_t n, cap;
	uint8_t *state;
	uint64_t frees, dups, bad;
	bool dup_fail;
};

static void
trk_init(struct trk *t, uint32_t cap)
{
	memset(t, 0, sizeof(*t));
	t->cap = cap;
	t->state = calloc(cap, 1);
	CHECK(t->state != NULL);
}

static struct tpkt *
trk_new(struct trk *t, uint64_t now)
{
	struct tpkt *p = malloc(sizeof(*p));

	if (p == NULL || t->n >= t->cap)
		abort();
	p->id = t->n++;
	p->pushed = now;
	t->state[p->id] = P_LIVE;
	return p;
}

static void
trk_free_cb(void *arg, void *pkt)
{
	struct trk *t = arg;
	struct tpkt *p = pkt;

	if (t->state[p->id] != P_LIVE)
		t->bad++;
	t->state[p->id] = P_FREED;
	t->frees++;
	free(p);
}

static void *
trk_dup_cb(void *arg, void *pkt)
{
	struct trk *t = arg;
	struct tpkt *p = pkt, *c;

	if (t->dup_fail)
		return NULL;
	if (t->state[p->id] != P_LIVE)
		t->bad++;
	c = trk_new(t, p->pushed);
	t->dups++;
	return c;
}

/* The test takes a popped handle: records it and frees it. */
static uint32_t
trk_take(struct trk *t, void *pkt)
{
	struct tpkt *p = pkt;
	uint32_t id = p->id;

	if (t->state[id] != P_LIVE)
		t->bad++;
	t->state[id] = P_TAKEN;
	free(p);
	return id;
}

/* Every handle made was freed by the stage or taken, exactly once. */
static void
trk_done(struct trk *t)
{
	uint32_t live = 0;

	for (uint32_t i = 0; i < t->n; i++)
		live += t->state[i] == P_LIVE;
	CHECK_EQ_INT(live, 0);
	CHECK_EQ_INT(t->bad, 0);
	free(t->state);
}

static void
check_invariant(const struct dssh_impair *imp)
{
	struct dssh_impair_stats st;

	dssh_impair_get_stats(imp, &st);
	CHECK_EQ_INT(st.in + st.duplicated, st.out + st.dropped + st.overflow + st.held);
}

static struct dssh_impair *
mk(const char *spec, struct trk *t)
{
	struct dssh_impair_conf c;
	struct dssh_impair *imp = NULL;

	CHECK_EQ_INT(dssh_impair_parse(spec, &c), 0);
	CHECK_EQ_INT(dssh_impair_new(&c, trk_free_cb, trk_dup_cb, t, &imp), 0);
	if (imp == NULL)
		abort();
	return imp;
}

/* Field by field: the struct has tail padding. */
static bool
conf_eq(const struct dssh_impair_conf *a, const struct dssh_impair_conf *b)
{
	return a->loss_ppm == b->loss_ppm && a->reorder_ppm == b->reorder_ppm &&
	    a->dup_ppm == b->dup_ppm && a->delay_us == b->delay_us &&
	    a->jitter_us == b->jitter_us && a->reorder_extra_us == b->reorder_extra_us &&
	    a->seed == b->seed && a->max_held == b->max_held;
}

/* ---- spec ---- */

static void
test_parse_good(void)
{
	static const struct {
		const char *spec;
		struct dssh_impair_conf c;
	} v[] = {
		{ "off", { 0 } },
		{ "none", { 0 } },
		{ "  off ", { 0 } },
		{ "loss=2%,reorder=5%,dup=1%,delay=10ms,jitter=5ms,seed=42",
		  { .loss_ppm = 20000, .reorder_ppm = 50000, .dup_ppm = 10000,
		    .delay_us = 10000, .jitter_us = 5000, .seed = 42 } },
		{ "loss=0.5%", { .loss_ppm = 5000 } },
		{ "loss=0.0001%", { .loss_ppm = 1 } },
		{ "loss=100%", { .loss_ppm = 1000000 } },
		{ "loss=100.0000%", { .loss_ppm = 1000000 } },
		{ "loss=0%", { 0 } },
		{ "dup=250ppm", { .dup_ppm = 250 } },
		{ "reorder=1000000ppm", { .reorder_ppm = 1000000 } },
		{ "delay=1.5ms", { .delay_us = 1500 } },
		{ "delay=250us,jitter=250us", { .delay_us = 250, .jitter_us = 250 } },
		{ "delay=2s,jitter=0.000001s", { .delay_us = 2000000, .jitter_us = 1 } },
		{ "delay=60s", { .delay_us = 60000000 } },
		{ "reorder=5%,reorder_extra=3ms", { .reorder_ppm = 50000, .reorder_extra_us = 3000 } },
		{ "seed=0xDeadBeef", { .seed = 0xdeadbeefull } },
		{ "seed=18446744073709551615", { .seed = UINT64_MAX } },
		{ "seed=0xffffffffffffffff", { .seed = UINT64_MAX } },
		{ "max_held=1", { .max_held = 1 } },
		{ "max_held=1048576", { .max_held = 1048576 } },
		{ " loss = 2% ,\tdup=1% ", { .loss_ppm = 20000, .dup_ppm = 10000 } },
		{ "loss=007%", { .loss_ppm = 70000 } },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dssh_impair_conf c;
		int r;

		memset(&c, 0xa5, sizeof(c));
		r = dssh_impair_parse(v[i].spec, &c);

		CHECK_EQ_INT(r, 0);
		if (r != 0 || !conf_eq(&c, &v[i].c)) {
			fprintf(stderr, "  spec \"%s\"\n", v[i].spec);
			CHECK(0);
		}
	}
}

static void
test_parse_bad(void)
{
	static const char *const bad[] = {
		"", "   ", ",", "off,loss=1%", "offx", "Off", "loss", "loss=", "=2%", "loss=2",
		"loss=2 %", "loss=2%%", "loss=-1%", "loss=+1%", "loss=101%", "loss=100.0001%",
		"loss=0.00001%", "loss=.5%", "loss=5.%", "loss=1e2%", "loss=2%,", ",loss=2%",
		"loss=2%,,dup=1%", "loss=1%,loss=1%", "loss==1%", "loss=1%dup=1%", "LOSS=1%",
		"loss=2pct", "dup=1000001ppm", "dup=0.5ppm", "foo=1", "reorder_extra", "delay=10",
		"delay=10 ms", "delay=10Ms", "delay=10m", "delay=61s", "delay=60.000001s",
		"delay=1.5us", "delay=0.0001ms", "delay=99999999999999999999ms",
		"delay=18446744073709551616us", "delay=1000000000000000000s", "jitter=5ms",
		"delay=1ms,jitter=2ms", "reorder_extra=61s", "seed=", "seed=abc", "seed=-1",
		"seed=18446744073709551616", "seed=0x", "seed=0x1ffffffffffffffff", "seed=0xg",
		"seed=1.5", "max_held=0", "max_held=1048577", "max_held=0x10", "max_held=4k",
		"loss=2%;dup=1%", "loss=2%\n", "loss=\t", "delay=1ms,delay=1ms",
	};
	struct dssh_impair_conf c, sentinel;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r;

		memcpy(&c, &sentinel, sizeof(c));
		r = dssh_impair_parse(bad[i], &c);

		if (r != DSSH_ERR_CONFIG)
			fprintf(stderr, "  accepted or wrong error (%d): \"%s\"\n", r, bad[i]);
		CHECK_EQ_INT(r, DSSH_ERR_CONFIG);
		CHECK_MEM(&c, &sentinel, sizeof(c));   /* untouched on error */
	}
	CHECK_EQ_INT(dssh_impair_parse(NULL, &c), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_impair_parse("off", NULL), DSSH_ERR_INVALID_ARGUMENT);
}

static void
test_parse_length(void)
{
	char s[DSSH_IMPAIR_SPEC_MAX + 2];
	struct dssh_impair_conf c;

	/* exactly the maximum: accepted (padding is blanks) */
	memset(s, ' ', sizeof(s));
	memcpy(s, "loss=1%", 7);
	s[DSSH_IMPAIR_SPEC_MAX] = '\0';
	CHECK_EQ_INT(dssh_impair_parse(s, &c), 0);
	CHECK_EQ_INT(c.loss_ppm, 10000);
	/* one more: rejected before anything is parsed */
	s[DSSH_IMPAIR_SPEC_MAX] = ' ';
	s[DSSH_IMPAIR_SPEC_MAX + 1] = '\0';
	CHECK_EQ_INT(dssh_impair_parse(s, &c), DSSH_ERR_CONFIG);
}

static void
test_format(void)
{
	static const struct dssh_impair_conf v[] = {
		{ 0 },
		{ .loss_ppm = 20000, .reorder_ppm = 50000, .dup_ppm = 10000, .delay_us = 10000,
		  .jitter_us = 5000, .seed = 42 },
		{ .loss_ppm = 1, .reorder_ppm = 999999, .dup_ppm = 1000000, .delay_us = 60000000,
		  .jitter_us = 1234567, .reorder_extra_us = 1001, .seed = UINT64_MAX,
		  .max_held = 1048576 },
		{ .seed = 7 },
		{ .max_held = 3, .delay_us = 2000000 },
	};
	char buf[DSSH_IMPAIR_FORMAT_MAX];
	struct dssh_impair_conf c, big;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK_EQ_INT(dssh_impair_format(&v[i], buf, sizeof(buf)), 0);
		CHECK_EQ_INT(dssh_impair_parse(buf, &c), 0);
		CHECK(conf_eq(&c, &v[i]));
	}
	CHECK_EQ_INT(dssh_impair_format(&v[0], buf, sizeof(buf)), 0);
	CHECK_STR(buf, "off");
	CHECK_EQ_INT(dssh_impair_format(&v[1], buf, sizeof(buf)), 0);
	CHECK_STR(buf, "loss=2%,reorder=5%,dup=1%,delay=10ms,jitter=5ms,seed=42");
	CHECK_EQ_INT(dssh_impair_format(&v[2], buf, sizeof(buf)), 0);
	CHECK_STR(buf, "loss=0.0001%,reorder=99.9999%,dup=100%,delay=60s,jitter=1234567us,"
	    "reorder_extra=1001us,seed=18446744073709551615,max_held=1048576");
	c = (struct dssh_impair_conf){ .loss_ppm = 5000, .delay_us = 1500 };
	CHECK_EQ_INT(dssh_impair_format(&c, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "loss=0.5%,delay=1500us");
	/* too small: an error, and still a terminated string */
	CHECK_EQ_INT(dssh_impair_format(&c, buf, 8), DSSH_ERR_NO_BUFFER_SPACE);
	CHECK(strlen(buf) < 8);
	CHECK_EQ_INT(dssh_impair_format(&v[0], buf, 3), DSSH_ERR_NO_BUFFER_SPACE);
	CHECK_EQ_INT(dssh_impair_format(&v[0], buf, 4), 0);
	CHECK_EQ_INT(dssh_impair_format(&v[0], buf, 0), DSSH_ERR_NO_BUFFER_SPACE);
	/* the largest any conf (valid or not) can produce still fits */
	memset(&big, 0xff, sizeof(big));
	CHECK_EQ_INT(dssh_impair_format(&big, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(dssh_impair_format(NULL, buf, sizeof(buf)), DSSH_ERR_INVALID_ARGUMENT);
}

static void
test_enabled(void)
{
	struct dssh_impair_conf c = { 0 };

	CHECK(!dssh_impair_enabled(&c));
	CHECK(!dssh_impair_enabled(NULL));
	c.seed = 1;
	c.max_held = 10;
	c.reorder_extra_us = 10;
	CHECK(!dssh_impair_enabled(&c));
	c.delay_us = 1;
	CHECK(dssh_impair_enabled(&c));
	CHECK_EQ_INT(dssh_impair_parse("dup=0.0001%", &c), 0);
	CHECK(dssh_impair_enabled(&c));
}

/* ---- the stage ---- */

static void
test_new_args(void)
{
	struct dssh_impair_conf c = { 0 };
	struct dssh_impair *imp = (struct dssh_impair *)&c;
	struct trk t;

	trk_init(&t, 1);
	CHECK_EQ_INT(dssh_impair_new(&c, NULL, NULL, &t, &imp), DSSH_ERR_INVALID_ARGUMENT);
	CHECK(imp == NULL);
	CHECK_EQ_INT(dssh_impair_new(NULL, trk_free_cb, NULL, &t, &imp), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_impair_new(&c, trk_free_cb, NULL, &t, NULL), DSSH_ERR_INVALID_ARGUMENT);
	c.dup_ppm = 1;
	CHECK_EQ_INT(dssh_impair_new(&c, trk_free_cb, NULL, &t, &imp), DSSH_ERR_INVALID_ARGUMENT);
	c = (struct dssh_impair_conf){ .loss_ppm = DSSH_IMPAIR_PPM + 1 };
	CHECK_EQ_INT(dssh_impair_new(&c, trk_free_cb, NULL, &t, &imp), DSSH_ERR_INVALID_ARGUMENT);
	c = (struct dssh_impair_conf){ .delay_us = 10, .jitter_us = 11 };
	CHECK_EQ_INT(dssh_impair_new(&c, trk_free_cb, NULL, &t, &imp), DSSH_ERR_INVALID_ARGUMENT);
	c = (struct dssh_impair_conf){ .delay_us = DSSH_IMPAIR_TIME_MAX_US + 1 };
	CHECK_EQ_INT(dssh_impair_new(&c, trk_free_cb, NULL, &t, &imp), DSSH_ERR_INVALID_ARGUMENT);
	c = (struct dssh_impair_conf){ .reorder_extra_us = DSSH_IMPAIR_TIME_MAX_US + 1 };
	CHECK_EQ_INT(dssh_impair_new(&c, trk_free_cb, NULL, &t, &imp), DSSH_ERR_INVALID_ARGUMENT);
	c = (struct dssh_impair_conf){ .max_held = DSSH_IMPAIR_MAX_HELD_LIMIT + 1 };
	CHECK_EQ_INT(dssh_impair_new(&c, trk_free_cb, NULL, &t, &imp), DSSH_ERR_INVALID_ARGUMENT);
	c = (struct dssh_impair_conf){ .max_held = DSSH_IMPAIR_MAX_HELD_LIMIT };
	CHECK_EQ_INT(dssh_impair_new(&c, trk_free_cb, NULL, &t, &imp), 0);
	dssh_impair_free(imp);
	dssh_impair_free(NULL);
	trk_done(&t);
}

/* Off: what goes in comes out at once, in order, with no copies or draws. */
static void
test_passthrough(void)
{
	struct trk t;
	struct dssh_impair *imp;
	struct dssh_impair_stats st;
	void *out[8];

	trk_init(&t, 100);
	imp = mk("off", &t);
	CHECK(dssh_impair_next_us(imp) == UINT64_MAX);
	CHECK_EQ_INT(dssh_impair_pop(imp, 0, out, 8), 0);
	dssh_impair_push(imp, trk_new(&t, 5), 5);
	CHECK(dssh_impair_next_us(imp) == 5);
	CHECK_EQ_INT(dssh_impair_pop(imp, 5, out, 8), 1);
	CHECK_EQ_INT(trk_take(&t, out[0]), 0);
	for (int round = 0; round < 3; round++) {
		void *in[5];

		for (int i = 0; i < 5; i++)
			in[i] = trk_new(&t, 10);
		dssh_impair_push_burst(imp, in, 5, 10);
		CHECK_EQ_INT(dssh_impair_pop(imp, 10, out, 8), 5);
		for (uint32_t i = 0; i < 5; i++)
			CHECK_EQ_INT(trk_take(&t, out[i]), 1 + 5 * round + i);
	}
	dssh_impair_get_stats(imp, &st);
	CHECK_EQ_INT(st.in, 16);
	CHECK_EQ_INT(st.out, 16);
	CHECK_EQ_INT(st.held + st.dropped + st.duplicated + st.delayed + st.reordered + st.overflow, 0);
	check_invariant(imp);
	dssh_impair_free(imp);
	trk_done(&t);
}

/* Constant delay (FIFO path) and ties in push order; pop honours n. */
static void
test_release_order(void)
{
	/* push times of A..F below */
	static const uint64_t at[6] = { 500, 100, 400, 500, 600, 500 };
	struct trk t;
	struct dssh_impair *imp;
	void *out[8];
	uint32_t a0;

	trk_init(&t, 100);
	imp = mk("delay=1ms", &t);
	for (int i = 0; i < 5; i++)
		dssh_impair_push(imp, trk_new(&t, 0), 0);
	CHECK(dssh_impair_next_us(imp) == 1000);
	CHECK_EQ_INT(dssh_impair_pop(imp, 999, out, 8), 0);
	CHECK_EQ_INT(dssh_impair_pop(imp, 1000, out, 2), 2);
	CHECK_EQ_INT(trk_take(&t, out[0]), 0);
	CHECK_EQ_INT(trk_take(&t, out[1]), 1);
	CHECK_EQ_INT(dssh_impair_pop(imp, 1000, out, 0), 0);
	CHECK_EQ_INT(dssh_impair_pop(imp, 5000, out, 8), 3);
	for (uint32_t i = 0; i < 3; i++)
		CHECK_EQ_INT(trk_take(&t, out[i]), 2 + i);
	check_invariant(imp);

	/*
	 * A clock going backwards sends packets to the heap; ties between the
	 * heap and the FIFO still leave in push order. Release times:
	 * A 1500, B 1100, C 1400, D 1500, E 1600, F 1500 → B C A D F E.
	 */
	a0 = t.n;
	for (int i = 0; i < 6; i++)
		dssh_impair_push(imp, trk_new(&t, at[i]), at[i]);
	CHECK(dssh_impair_next_us(imp) == 1100);
	CHECK_EQ_INT(dssh_impair_pop(imp, 1099, out, 8), 0);
	CHECK_EQ_INT(dssh_impair_pop(imp, 1400, out, 8), 2);
	CHECK_EQ_INT(trk_take(&t, out[0]), a0 + 1);
	CHECK_EQ_INT(trk_take(&t, out[1]), a0 + 2);
	CHECK(dssh_impair_next_us(imp) == 1500);
	CHECK_EQ_INT(dssh_impair_pop(imp, UINT64_MAX, out, 8), 4);
	CHECK_EQ_INT(trk_take(&t, out[0]), a0 + 0);
	CHECK_EQ_INT(trk_take(&t, out[1]), a0 + 3);
	CHECK_EQ_INT(trk_take(&t, out[2]), a0 + 5);
	CHECK_EQ_INT(trk_take(&t, out[3]), a0 + 4);
	CHECK(dssh_impair_next_us(imp) == UINT64_MAX);
	check_invariant(imp);

	/* a clock near the end of time saturates instead of wrapping */
	dssh_impair_push(imp, trk_new(&t, UINT64_MAX - 10), UINT64_MAX - 10);
	CHECK(dssh_impair_next_us(imp) == UINT64_MAX - 1);
	CHECK_EQ_INT(dssh_impair_pop(imp, UINT64_MAX - 2, out, 8), 0);
	CHECK_EQ_INT(dssh_impair_pop(imp, UINT64_MAX - 1, out, 8), 1);
	trk_take(&t, out[0]);
	dssh_impair_free(imp);
	trk_done(&t);
}

/* Reordering: the chosen packet leaves reorder_extra later; default extra. */
static void
test_reorder(void)
{
	struct trk t;
	struct dssh_impair *imp;
	struct dssh_impair_stats st;
	void *out[8];
	uint32_t late = 0;

	trk_init(&t, 100);
	/* 100%: every packet gets the default 1 ms (no jitter), so order is kept */
	imp = mk("reorder=100%", &t);
	dssh_impair_push(imp, trk_new(&t, 0), 0);
	dssh_impair_push(imp, trk_new(&t, 10), 10);
	CHECK(dssh_impair_next_us(imp) == 1000);
	CHECK_EQ_INT(dssh_impair_pop(imp, 1010, out, 8), 2);
	CHECK_EQ_INT(trk_take(&t, out[0]), 0);
	CHECK_EQ_INT(trk_take(&t, out[1]), 1);
	dssh_impair_free(imp);

	/* with jitter the default is 2 * jitter: release in [delay - j + 2j, delay + j + 2j] */
	imp = mk("reorder=100%,delay=4ms,jitter=1ms", &t);
	for (int i = 0; i < 50; i++)
		dssh_impair_push(imp, trk_new(&t, 0), 0);
	CHECK(dssh_impair_next_us(imp) >= 5000);
	CHECK_EQ_INT(dssh_impair_pop(imp, 4999, out, 8), 0);
	for (unsigned n; (n = dssh_impair_pop(imp, 7000, out, 8)) > 0;)
		for (unsigned i = 0; i < n; i++)
			trk_take(&t, out[i]);
	CHECK(dssh_impair_next_us(imp) == UINT64_MAX);
	dssh_impair_free(imp);

	/* explicit extra, 50%: reordered ones leave 3 ms later and are overtaken */
	imp = mk("reorder=50%,reorder_extra=3ms,seed=9", &t);
	for (uint64_t i = 0; i < 40; i++) {
		unsigned n;

		dssh_impair_push(imp, trk_new(&t, i), i);
		/* a packet not reordered leaves at once; a reordered one not before 3 ms */
		n = dssh_impair_pop(imp, i, out, 8);
		CHECK(n <= 1);
		if (n == 0)
			late++;
		else
			CHECK_EQ_INT(trk_take(&t, out[0]), t.n - 1);
	}
	dssh_impair_get_stats(imp, &st);
	CHECK_EQ_INT(st.reordered, late);
	CHECK(late > 5 && late < 35);
	CHECK_EQ_INT(st.held, late);
	CHECK(dssh_impair_next_us(imp) >= 3000);
	CHECK_EQ_INT(dssh_impair_pop(imp, 2999, out, 8), 0);
	dssh_impair_free(imp);    /* frees the held ones */
	trk_done(&t);
}

static void
drain_take(struct dssh_impair *imp, struct trk *t, uint64_t now, uint32_t *ids, uint32_t *nids)
{
	void *out[32];
	unsigned n;

	while ((n = dssh_impair_pop(imp, now, out, 32)) > 0)
		for (unsigned i = 0; i < n; i++) {
			uint32_t id = trk_take(t, out[i]);

			if (ids != NULL)
				ids[(*nids)++] = id;
		}
}

/* Same seed, same traffic: same outcome; another seed: another one. */
static void
run_seeded(const char *spec, uint32_t *ids, uint32_t *nids, struct dssh_impair_stats *st)
{
	struct trk t;
	struct dssh_impair *imp;

	trk_init(&t, 20000);
	imp = mk(spec, &t);
	*nids = 0;
	for (uint64_t now = 0; now < 5000 * 20; now += 20) {
		dssh_impair_push(imp, trk_new(&t, now), now);
		drain_take(imp, &t, now, ids, nids);
	}
	drain_take(imp, &t, UINT64_MAX, ids, nids);
	dssh_impair_get_stats(imp, st);
	check_invariant(imp);
	dssh_impair_free(imp);
	trk_done(&t);
}

static void
test_determinism(void)
{
	static uint32_t a[20000], b[20000], c[20000];
	uint32_t na, nb, nc;
	struct dssh_impair_stats sa, sb, sc;
	const char *s1 = "loss=5%,dup=5%,reorder=10%,delay=1ms,jitter=500us,seed=42";
	const char *s2 = "loss=5%,dup=5%,reorder=10%,delay=1ms,jitter=500us,seed=43";

	run_seeded(s1, a, &na, &sa);
	run_seeded(s1, b, &nb, &sb);
	run_seeded(s2, c, &nc, &sc);
	CHECK_EQ_INT(na, nb);
	CHECK(na > 4000);
	CHECK_MEM(a, b, na * sizeof(a[0]));
	CHECK_MEM(&sa, &sb, sizeof(sa));
	CHECK(na != nc || memcmp(a, c, na * sizeof(a[0])) != 0);
	CHECK(memcmp(&sa, &sc, sizeof(sa)) != 0);
}

/* |observed - expected| within 5 standard deviations of a binomial. */
static void
check_rate(const char *what, uint64_t hits, uint64_t n, uint32_t ppm)
{
	double p = ppm / 1e6, obs = (double)hits / (double)n, d = obs - p;
	double var = p * (1 - p) / (double)n;

	fprintf(stderr, "  %-9s %.5f (configured %.5f, n %llu)\n", what, obs, p,
	    (unsigned long long)n);
	CHECK(d * d <= 25 * var);
}

static void
test_rates(void)
{
	const uint32_t npkt = 100000;
	struct trk t;
	struct dssh_impair *imp;
	struct dssh_impair_stats st;
	uint32_t *ids = malloc(2 * npkt * sizeof(*ids)), nids = 0, maxid = 0, overtaken = 0;
	uint64_t now = 0;

	CHECK(ids != NULL);
	trk_init(&t, 2 * npkt);
	imp = mk("loss=2%,dup=1%,reorder=5%,seed=1234", &t);
	for (uint32_t i = 0; i < npkt; i++, now += 10) {
		dssh_impair_push(imp, trk_new(&t, now), now);
		drain_take(imp, &t, now, ids, &nids);
	}
	drain_take(imp, &t, UINT64_MAX, ids, &nids);
	dssh_impair_get_stats(imp, &st);
	check_invariant(imp);
	CHECK_EQ_INT(st.in, npkt);
	CHECK_EQ_INT(st.held, 0);
	CHECK_EQ_INT(st.overflow, 0);
	CHECK_EQ_INT(st.out, nids);
	CHECK_EQ_INT(st.dropped, t.frees);
	CHECK_EQ_INT(st.duplicated, t.dups);
	CHECK_EQ_INT(st.delayed, st.reordered);   /* no delay: only reordered ones wait */
	check_rate("loss", st.dropped, st.in, 20000);
	check_rate("dup", st.duplicated, st.in - st.dropped, 10000);
	check_rate("reorder", st.reordered, st.in - st.dropped + st.duplicated, 50000);
	/* observed reordering: a handle that leaves after a later one did */
	for (uint32_t i = 0; i < nids; i++) {
		if (i > 0 && ids[i] < maxid)
			overtaken++;
		if (ids[i] > maxid)
			maxid = ids[i];
	}
	/* the last reordered ones have no later packets to overtake them */
	CHECK(overtaken <= st.reordered && overtaken + 20 >= st.reordered);
	check_rate("observed", overtaken, st.in - st.dropped + st.duplicated, 50000);
	dssh_impair_free(imp);
	trk_done(&t);
	free(ids);
}

/* delay 10 ms +/- 5 ms with a 1 us clock: every release within bounds, next_us exact. */
static void
test_delay_jitter(void)
{
	const uint32_t npkt = 2000;
	struct trk t;
	struct dssh_impair *imp;
	struct dssh_impair_stats st;
	void *out[16];
	uint64_t now, min = UINT64_MAX, max = 0, sum = 0, next_push = 0;
	uint32_t pushed = 0, popped = 0, last_id = 0, bad_next = 0, bad_order = 0;

	trk_init(&t, npkt);
	imp = mk("delay=10ms,jitter=5ms,seed=77", &t);
	for (now = 0; popped < npkt && now < 1000000; now++) {
		uint64_t next;
		unsigned n;

		if (pushed < npkt && now == next_push) {
			dssh_impair_push(imp, trk_new(&t, now), now);
			pushed++;
			next_push += 37;
		}
		next = dssh_impair_next_us(imp);
		n = dssh_impair_pop(imp, now, out, 16);
		if ((next <= now) != (n > 0))
			bad_next++;
		for (unsigned i = 0; i < n; i++) {
			struct tpkt *p = out[i];
			uint64_t d = now - p->pushed;

			if (i > 0 && p->id < last_id)   /* same release time: push order */
				bad_order++;
			last_id = p->id;
			min = d < min ? d : min;
			max = d > max ? d : max;
			sum += d;
			trk_take(&t, p);
			popped++;
		}
		if (n > 0 && dssh_impair_next_us(imp) <= now)
			bad_next++;     /* everything due was popped (n < 16 here) */
	}
	CHECK_EQ_INT(popped, npkt);
	CHECK_EQ_INT(bad_next, 0);
	CHECK_EQ_INT(bad_order, 0);
	fprintf(stderr, "  delay min %llu max %llu mean %.1f us\n", (unsigned long long)min,
	    (unsigned long long)max, (double)sum / npkt);
	CHECK(min >= 5000 && max <= 15000);
	CHECK(min < 5100 && max > 14900);      /* the whole spread is used */
	CHECK((double)sum / npkt > 9800 && (double)sum / npkt < 10200);
	dssh_impair_get_stats(imp, &st);
	CHECK_EQ_INT(st.delayed, npkt);
	CHECK_EQ_INT(st.reordered, 0);
	check_invariant(imp);
	dssh_impair_free(imp);
	trk_done(&t);
}

/* The jitter bounds are inclusive and uniform: delay 2 us +/- 1 us gives 1, 2, 3 us alike. */
static void
test_jitter_edges(void)
{
	const uint32_t npkt = 3000;
	struct trk t;
	struct dssh_impair *imp;
	uint32_t count[4] = { 0 };
	void *out[16];

	trk_init(&t, npkt);
	imp = mk("delay=2us,jitter=1us,seed=3", &t);
	for (uint64_t now = 0; now < npkt + 4; now++) {
		unsigned n;

		if (now < npkt)
			dssh_impair_push(imp, trk_new(&t, now), now);
		n = dssh_impair_pop(imp, now, out, 16);
		for (unsigned i = 0; i < n; i++) {
			uint64_t d = now - ((struct tpkt *)out[i])->pushed;

			count[d < 4 ? d : 0]++;
			trk_take(&t, out[i]);
		}
	}
	CHECK_EQ_INT(count[0], 0);
	CHECK_EQ_INT(count[1] + count[2] + count[3], npkt);
	for (int d = 1; d <= 3; d++)
		CHECK(count[d] > npkt / 3 - 150 && count[d] < npkt / 3 + 150);
	dssh_impair_free(imp);
	trk_done(&t);
}

/* A full stage drops and counts; the copy of a duplicated packet can overflow too. */
static void
test_overflow(void)
{
	struct trk t;
	struct dssh_impair *imp;
	struct dssh_impair_stats st;
	void *out[32];

	trk_init(&t, 100);
	imp = mk("delay=1ms,max_held=8", &t);
	for (int i = 0; i < 20; i++)
		dssh_impair_push(imp, trk_new(&t, 0), 0);
	dssh_impair_get_stats(imp, &st);
	CHECK_EQ_INT(st.overflow, 12);
	CHECK_EQ_INT(st.held, 8);
	CHECK_EQ_INT(t.frees, 12);
	for (uint32_t i = 8; i < 20; i++)
		CHECK_EQ_INT(t.state[i], P_FREED);    /* the late ones are dropped */
	CHECK_EQ_INT(dssh_impair_pop(imp, 1000, out, 32), 8);
	for (uint32_t i = 0; i < 8; i++)
		CHECK_EQ_INT(trk_take(&t, out[i]), i);
	check_invariant(imp);
	dssh_impair_free(imp);

	imp = mk("dup=100%,delay=1ms,max_held=3", &t);
	dssh_impair_push(imp, trk_new(&t, 0), 0);
	dssh_impair_push(imp, trk_new(&t, 0), 0);   /* copy overflows */
	dssh_impair_get_stats(imp, &st);
	CHECK_EQ_INT(st.duplicated, 2);
	CHECK_EQ_INT(st.overflow, 1);
	CHECK_EQ_INT(st.held, 3);
	check_invariant(imp);
	dssh_impair_free(imp);   /* frees the 3 held */
	trk_done(&t);
}

static void
test_dup(void)
{
	struct trk t;
	struct dssh_impair *imp;
	struct dssh_impair_stats st;
	void *out[8];

	trk_init(&t, 100);
	imp = mk("dup=100%", &t);
	dssh_impair_push(imp, trk_new(&t, 0), 0);
	CHECK_EQ_INT(dssh_impair_pop(imp, 0, out, 8), 2);
	CHECK_EQ_INT(trk_take(&t, out[0]), 0);    /* original first, then the copy */
	CHECK_EQ_INT(trk_take(&t, out[1]), 1);
	t.dup_fail = true;
	dssh_impair_push(imp, trk_new(&t, 0), 0);
	CHECK_EQ_INT(dssh_impair_pop(imp, 0, out, 8), 1);
	trk_take(&t, out[0]);
	dssh_impair_get_stats(imp, &st);
	CHECK_EQ_INT(st.duplicated, 1);
	CHECK_EQ_INT(st.dup_failed, 1);
	check_invariant(imp);
	dssh_impair_free(imp);

	/* loss=100%: nothing survives, nothing is duplicated */
	t.dup_fail = false;
	imp = mk("loss=100%,dup=100%", &t);
	for (int i = 0; i < 10; i++)
		dssh_impair_push(imp, trk_new(&t, 0), 0);
	CHECK_EQ_INT(dssh_impair_pop(imp, UINT64_MAX, out, 8), 0);
	dssh_impair_get_stats(imp, &st);
	CHECK_EQ_INT(st.dropped, 10);
	CHECK_EQ_INT(st.duplicated, 0);
	dssh_impair_free(imp);
	trk_done(&t);
}

/* Freeing the stage with packets in both the FIFO and the heap frees each once. */
static void
test_free_held(void)
{
	struct trk t;
	struct dssh_impair *imp;

	trk_init(&t, 5000);
	imp = mk("delay=50ms,jitter=20ms,reorder=20%,dup=10%,seed=5", &t);
	for (uint64_t now = 0; now < 4000; now++)
		dssh_impair_push(imp, trk_new(&t, now), now);
	dssh_impair_free(imp);
	CHECK_EQ_INT(t.frees, t.n);
	trk_done(&t);
}

int
main(void)
{
	DSSH_RUN(test_parse_good);
	DSSH_RUN(test_parse_bad);
	DSSH_RUN(test_parse_length);
	DSSH_RUN(test_format);
	DSSH_RUN(test_enabled);
	DSSH_RUN(test_new_args);
	DSSH_RUN(test_passthrough);
	DSSH_RUN(test_release_order);
	DSSH_RUN(test_reorder);
	DSSH_RUN(test_determinism);
	DSSH_RUN(test_rates);
	DSSH_RUN(test_delay_jitter);
	DSSH_RUN(test_jitter_edges);
	DSSH_RUN(test_overflow);
	DSSH_RUN(test_dup);
	DSSH_RUN(test_free_held);
	DSSH_TEST_END();
}
