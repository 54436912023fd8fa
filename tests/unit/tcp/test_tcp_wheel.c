/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The stack's timing wheel (tcp_wheel.c): first on its own, with bare
 * connection structs whose one timer (t_rto) a model driver arms, checked
 * against a brute-force scan after every step; then through the stack's
 * API with real connections (keepalive, delayed ACK, SYN-ACK retransmission,
 * resets while armed), and a printed cost figure for dssh_tcp_timers with
 * 10 000 idle connections.
 */
#include <time.h>

#include "tcp_test_util.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/*
 * -DTCP_COST_ONLY builds the cost figure alone, with the public API only:
 * against an older lib/tcp too (the figure before the wheel).
 */
#ifndef TCP_COST_ONLY
#include "tcp_priv.h"

#define TURN_US ((uint64_t)TCP_WHEEL_SLOTS << TCP_WHEEL_TICK_SHIFT)   /* 4.19 s */
#define HORIZON_US (TURN_US * TCP_WHEEL_SLOTS)                        /* 4.77 h */

/* ---- the wheel alone ---- */

struct model {
	struct tcp_wheel *w;
	struct dssh_tcp_conn *c;        /* n bare connections: t_rto is the timer */
	unsigned n;
	uint64_t now, prev;             /* this and the previous expire's time */
	unsigned fired, early, late;
	unsigned arms, replaced;        /* each arm fires or is replaced */
	unsigned below;                 /* answers earlier than the true deadline */
};

static uint64_t
model_deadline(const struct dssh_tcp_conn *c)
{
	return c->t_rto != 0 ? c->t_rto : UINT64_MAX;
}

/* What tcp_timer_arm does in tcp_timer.c. */
static void
model_arm(struct model *m, unsigned i, uint64_t when)
{
	struct dssh_tcp_conn *c = &m->c[i];

	m->replaced += c->t_rto != 0;
	m->arms += when != 0;
	c->t_rto = when;
	if (when != 0 && (c->w_pprev == NULL || c->w_due > when))
		tcp_wheel_file(m->w, c, when, m->now);
}

static void
model_new(struct model *m, unsigned n, uint64_t now)
{
	memset(m, 0, sizeof(*m));
	m->w = calloc(1, sizeof(*m->w));
	m->c = calloc(n, sizeof(*m->c));
	m->n = n;
	m->now = m->prev = now;
	CHECK(m->w != NULL && m->c != NULL);
}

static void
model_free(struct model *m)
{
	free(m->c);
	free(m->w);
}

static uint64_t
model_min(const struct model *m)
{
	uint64_t t = UINT64_MAX;

	for (unsigned i = 0; i < m->n; i++)
		t = DSSH_MIN(t, model_deadline(&m->c[i]));
	return t;
}

/*
 * One dssh_tcp_timers step at m->now: fire what is due, as the stack does,
 * and check that nothing fired early, nothing due was left, and the wheel's
 * next deadline is the true one. Returns it.
 */
static uint64_t
model_step(struct model *m, bool exact)
{
	struct dssh_tcp_conn *due, *c;
	uint64_t next, truth;

	tcp_wheel_expire(m->w, m->now, &due);
	while ((c = due) != NULL) {
		tcp_wheel_unlink(m->w, c);
		if (c->t_rto != 0 && c->t_rto <= m->now) {
			m->fired++;
			if (c->t_rto <= m->prev && m->prev != m->now)
				m->late++;      /* was due at the previous step */
			c->t_rto = 0;
		} else if (c->t_rto != 0) {
			tcp_wheel_file(m->w, c, c->t_rto, m->now);
		}
	}
	for (unsigned i = 0; i < m->n; i++) {
		c = &m->c[i];
		if (c->t_rto != 0 && c->t_rto <= m->now)
			m->late++;              /* due, not handed over */
		if (c->t_rto != 0 && (c->w_pprev == NULL || c->w_due > c->t_rto))
			m->early++;             /* armed, not filed by its deadline */
	}
	next = tcp_wheel_next(m->w, model_deadline);
	truth = model_min(m);
	/* never later; earlier only as a wake-up that is not a busy loop */
	if (exact)
		CHECK_EQ_INT(next, truth);
	else
		CHECK(next <= truth && (next > m->now || truth <= m->now));
	m->below += next < truth;
	m->prev = m->now;
	return next;
}

/* A deadline from short (sub-ms) to very long (10 h, past level 1). */
static uint64_t
spread(uint64_t now, bool far)
{
	uint64_t r = rnd();

	switch (r % 8) {
	case 0: case 1: case 2:
		return now + 1 + (r >> 8) % 50000;                  /* 50 ms */
	case 3: case 4:
		return now + 1 + (r >> 8) % 10000000;               /* 10 s */
	case 5:
		return now + 1 + (r >> 8) % 600000000;              /* 10 min */
	case 6:
		return now + 1 + (r >> 8) % 7200000000ull;          /* 2 h */
	default:
		return now + 1 + (r >> 8) % (far ? 36000000000ull : 3600000000ull);
	}
}

/*
 * Many deadlines over short and long ranges, re-armed earlier, later and
 * disarmed while the clock runs: every one fires at the first step at or
 * after it, in order, none early. With 3000 entries a slot may hold more
 * than TCP_WHEEL_SCAN, and far adds deadlines past level 1: the answer is
 * then a lower bound (earlier, never later, never the present).
 */
static void
run_spread(bool far, uint64_t start)
{
	struct model m;
	unsigned i, armed = 0, steps = 0, disarmed = 0;
	uint64_t next;

	model_new(&m, 3000, start);
	for (i = 0; i < m.n; i++)
		model_arm(&m, i, spread(m.now, far));
	next = model_step(&m, false);
	while (next != UINT64_MAX && steps < 400000) {
		/* the data core wakes at the deadline, or earlier for a packet */
		if (rnd() % 4 == 0 && next > m.now + 1)
			m.now += 1 + rnd() % (next - m.now - 1);
		else
			m.now = next;
		/* traffic: some connections re-arm, earlier or later, or disarm */
		if (steps < 20000) {
			for (int k = 0; k < 3; k++) {
				i = (unsigned)(rnd() % m.n);
				if (rnd() % 5 == 0) {
					disarmed += m.c[i].t_rto != 0;
					model_arm(&m, i, 0);
				} else {
					armed++;
					model_arm(&m, i, spread(m.now, far));
				}
			}
		}
		next = model_step(&m, false);
		steps++;
	}
	CHECK_EQ_INT(next, UINT64_MAX);
	CHECK_EQ_INT(m.early, 0);
	CHECK_EQ_INT(m.late, 0);
	CHECK_EQ_INT(m.w->n[0] + m.w->n[1], 0);
	CHECK_EQ_INT(m.arms, m.fired + m.replaced);
	CHECK(m.fired > 3000);
	CHECK(m.below < steps / 4);
	printf("  spread%s: %u fired, %u re-armed, %u disarmed, %u steps, %u early answers\n",
	    far ? " (past 4.77 h)" : "", m.fired, armed, disarmed, steps, m.below);
	model_free(&m);
}

static void
test_spread(void)
{
	run_spread(false, 5000000);
	/* a start just before a level-1 turn and a level-0 wrap */
	run_spread(false, TURN_US * 1000 - 300);
	run_spread(true, 123456789012ull);
}

/*
 * Deadlines around the wheel's boundaries: the last tick of level 0, the
 * first of level 1, turn starts, a full level-1 wrap and beyond; stepped one
 * microsecond before and at each deadline.
 */
static void
test_wrap(void)
{
	static const uint64_t d[] = {
		1, 1023, 1024, 1025, (TCP_WHEEL_SLOTS - 1ull) << TCP_WHEEL_TICK_SHIFT,
		(uint64_t)TCP_WHEEL_SLOTS << TCP_WHEEL_TICK_SHIFT,
		((uint64_t)TCP_WHEEL_SLOTS << TCP_WHEEL_TICK_SHIFT) + 1, TURN_US * 2 - 1,
		TURN_US * 2, TURN_US * 2 + 1, TURN_US * 4095, TURN_US * 4096 - 1, TURN_US * 4096,
		TURN_US * 4097 + 5, TURN_US * 9000 + 7,
	};
	const size_t nd = sizeof(d) / sizeof(d[0]);
	struct model m;
	uint64_t start = TURN_US * 77 + TURN_US / 2 + 333, next;
	size_t k;

	model_new(&m, (unsigned)nd, start);
	for (k = 0; k < nd; k++)
		model_arm(&m, (unsigned)k, start + d[k]);
	CHECK_EQ_INT(m.c[0].w_lvl, 0);
	CHECK_EQ_INT(m.c[nd - 1].w_lvl, 1);
	next = model_step(&m, false);
	for (k = 0; k < nd; k++) {
		unsigned before = m.fired, wakes = 0;

		/* the wheel may answer a turn's start for the far ones */
		while (next < start + d[k] && wakes++ < 16) {
			CHECK(next > m.now);
			m.now = next;
			next = model_step(&m, false);
		}
		CHECK(wakes <= 3);
		CHECK_EQ_INT(m.fired, before);
		m.now = start + d[k] - 1;
		model_step(&m, false);
		CHECK_EQ_INT(m.fired, before);          /* 1 us early: not yet */
		m.now = start + d[k];
		next = model_step(&m, false);
		CHECK_EQ_INT(m.fired, before + 1);
	}
	CHECK_EQ_INT(next, UINT64_MAX);
	CHECK_EQ_INT(m.early + m.late, 0);
	CHECK_EQ_INT(m.arms, m.fired);
	model_free(&m);
}

/*
 * A connection freed while on the due list (its timer reset another one):
 * the list stays whole. And an idle gap of a day in one step.
 */
static void
test_unlink_and_gap(void)
{
	struct model m;
	struct dssh_tcp_conn *due, *c;
	unsigned seen = 0;

	model_new(&m, 4, 1000000);
	for (unsigned i = 0; i < 4; i++)
		model_arm(&m, i, m.now + 100 + i);
	tcp_wheel_expire(m.w, m.now + 200, &due);
	CHECK_EQ_INT(m.w->n[0] + m.w->n[1], 0);
	tcp_wheel_unlink(m.w, &m.c[2]);         /* freed while due */
	tcp_wheel_unlink(m.w, &m.c[2]);         /* and again: a no-op */
	while ((c = due) != NULL) {
		tcp_wheel_unlink(m.w, c);
		CHECK(c != &m.c[2]);
		seen++;
	}
	CHECK_EQ_INT(seen, 3);
	model_free(&m);

	/* empty wheel: nothing, and a far clock brings the cursor up */
	model_new(&m, 3, 5000);
	CHECK_EQ_INT(tcp_wheel_next(m.w, model_deadline), UINT64_MAX);
	m.now = 86400000000ull * 3;
	model_arm(&m, 0, m.now + 40000);
	CHECK_EQ_INT(m.c[0].w_lvl, 0);
	model_arm(&m, 1, m.now + 7200000000ull);
	model_arm(&m, 2, m.now + 50);
	CHECK_EQ_INT(tcp_wheel_next(m.w, model_deadline), m.now + 50);
	m.now += 86400000000ull;                /* a day without a call */
	model_step(&m, true);
	CHECK_EQ_INT(m.fired, 3);
	CHECK_EQ_INT(m.w->n[0] + m.w->n[1], 0);
	model_free(&m);
}

/* Re-arming earlier moves the entry; later leaves it, and the wheel catches up. */
static void
test_rearm(void)
{
	struct model m;

	model_new(&m, 2, 1000000);
	model_arm(&m, 0, m.now + 2000000000ull);
	CHECK_EQ_INT(m.c[0].w_lvl, 1);
	model_arm(&m, 0, m.now + 3000);          /* earlier: moved to level 0 */
	CHECK_EQ_INT(m.c[0].w_lvl, 0);
	CHECK_EQ_INT(m.c[0].w_due, m.now + 3000);
	CHECK_EQ_INT(m.w->n[0], 1);
	CHECK_EQ_INT(m.w->n[1], 0);
	model_arm(&m, 0, m.now + 9000);          /* later: stays (lazy) */
	CHECK_EQ_INT(m.c[0].w_due, m.now + 3000);
	CHECK_EQ_INT(tcp_wheel_next(m.w, model_deadline), m.now + 9000);
	CHECK_EQ_INT(m.c[0].w_due, m.now + 9000);       /* corrected on the way */
	m.now += 3000;
	model_step(&m, true);
	CHECK_EQ_INT(m.fired, 0);
	model_arm(&m, 0, 0);                     /* disarmed */
	model_arm(&m, 1, m.now + 10);
	CHECK_EQ_INT(tcp_wheel_next(m.w, model_deadline), m.now + 10);
	m.now += 10;
	CHECK_EQ_INT(model_step(&m, true), UINT64_MAX);
	CHECK_EQ_INT(m.fired, 1);
	CHECK_EQ_INT(m.w->n[0] + m.w->n[1], 0);
	model_free(&m);
}

#endif /* !TCP_COST_ONLY */

/* ---- through the stack ---- */

#define LPORT 22


struct sfx {
	struct dssh_tcp_conf conf;
	struct dssh_tcp_stack *s;
	struct cap caps[16];
	uint64_t now;
};

static void
sfx_new(struct sfx *f, uint32_t max_conns)
{
	memset(f, 0, sizeof(*f));
	dssh_tcp_conf_default(&f->conf);
	f->conf.max_conns = max_conns;
	f->conf.syn_backlog = max_conns;
	f->conf.keepalive_idle_us = 3600000000u;       /* 1 h */
	f->conf.keepalive_intvl_us = 75000000;
	f->conf.keepalive_probes = 9;
	f->conf.rcvbuf = 16384;
	f->conf.sndbuf = 16384;
	f->now = 10000000;
}

/* sfx_new, then the stack (delack_segs: 0 keeps the default) listening on LPORT. */
static void
sfx_listen(struct sfx *f, uint32_t max_conns, unsigned delack_segs)
{
	sfx_new(f, max_conns);
	if (delack_segs != 0)
		f->conf.delack_segs = delack_segs;
	CHECK_EQ_INT(dssh_tcp_stack_new(&f->conf, &f->s), 0);
	CHECK_EQ_INT(dssh_tcp_listen(f->s, 0, LPORT), 0);
}

static unsigned
sfx_out(struct sfx *f)
{
	return drain(f->s, f->caps, 16, f->now);
}

/* Passive open from port pport; returns the accepted connection. */
static struct dssh_tcp_conn *
sfx_accept(struct sfx *f, uint16_t pport, uint32_t *snxt)
{
	struct dssh_tcp_event ev[2];

	CHECK_EQ_INT(feed(f->s, pport, LPORT, 1000, 0, DSSH_TCP_SYN, 65535, NULL, 0, NULL, 0,
	    f->now), 0);
	if (sfx_out(f) != 1)
		return NULL;
	*snxt = f->caps[0].h.seq + 1;
	CHECK_EQ_INT(feed(f->s, pport, LPORT, 1001, *snxt, DSSH_TCP_ACK, 65535, NULL, 0, NULL, 0,
	    f->now), 0);
	if (dssh_tcp_events(f->s, ev, 2) != 1)
		return NULL;
	return ev[0].conn;
}

#ifndef TCP_COST_ONLY
/*
 * Connections opened at different times with keepalive on: each probe goes
 * out at the step at its deadline, none a microsecond early, and
 * dssh_tcp_timers returns each next deadline exactly.
 */
static void
test_stack_keepalive_order(void)
{
	enum { N = 300 };
	struct sfx f;
	struct dssh_tcp_conn *c[N];
	uint64_t when[N], t0, next;
	uint32_t snxt;
	unsigned i, probes = 0;

	sfx_listen(&f, 1024, 0);
	CHECK_EQ_INT(dssh_tcp_timers(f.s, f.now), UINT64_MAX);
	t0 = f.now;
	for (i = 0; i < N; i++) {
		f.now = t0 + (uint64_t)i * 7777 + (rnd() % 5000);
		c[i] = sfx_accept(&f, (uint16_t)(30000 + i), &snxt);
		CHECK(c[i] != NULL);
		if (c[i] == NULL)
			goto out;
		dssh_tcp_set_keepalive(c[i], true, f.now);
		when[i] = f.now + f.conf.keepalive_idle_us;
	}
	/* past the SYN-ACKs' disarmed RTOs: the answer is exact from here */
	f.now += f.conf.rto_init_us + 1;
	next = dssh_tcp_timers(f.s, f.now);
	CHECK_EQ_INT(sfx_out(&f), 0);
	CHECK_EQ_INT(next, when[0]);
	for (i = 0; i < N; i++) {
		f.now = when[i] - 1;
		next = dssh_tcp_timers(f.s, f.now);
		CHECK_EQ_INT(next, when[i]);
		CHECK_EQ_INT(sfx_out(&f), 0);
		f.now = when[i];
		next = dssh_tcp_timers(f.s, f.now);
		CHECK_EQ_INT(sfx_out(&f), 1);
		probes++;
		/* the next is the following connection's, or this one's re-probe */
		CHECK_EQ_INT(next, DSSH_MIN(i + 1 < N ? when[i + 1] : UINT64_MAX,
		    when[0] + f.conf.keepalive_intvl_us));
	}
	CHECK_EQ_INT(probes, N);
	/*
	 * Turning keepalive off everywhere leaves nothing armed: the wheel,
	 * lazy, may answer a disarmed deadline; a few wake-ups find nothing.
	 */
	for (i = 0; i < N; i++)
		dssh_tcp_set_keepalive(c[i], false, f.now);
	for (i = 0; i < 8 && next != UINT64_MAX; i++) {
		CHECK(next > f.now);
		f.now = next;
		next = dssh_tcp_timers(f.s, f.now);
		CHECK_EQ_INT(sfx_out(&f), 0);
	}
	CHECK_EQ_INT(next, UINT64_MAX);
	CHECK_EQ_INT(f.s->wheel.n[0] + f.s->wheel.n[1], 0);
	for (i = 0; i < N; i++)
		dssh_tcp_abort(c[i], f.now);
 out:
	dssh_tcp_stack_free(f.s);
}

/*
 * A delayed ACK (40 ms) armed under a keepalive (2 h) moves the connection
 * earlier; the returned next deadline follows.
 */
static void
test_stack_delack_under_keepalive(void)
{
	struct sfx f;
	struct dssh_tcp_conn *c;
	uint32_t snxt;

	sfx_listen(&f, 16, 2);
	c = sfx_accept(&f, 40000, &snxt);
	CHECK(c != NULL);
	if (c == NULL)
		goto out;
	f.now += f.conf.rto_init_us + 1;       /* past the SYN-ACK's disarmed RTO */
	CHECK_EQ_INT(dssh_tcp_timers(f.s, f.now), UINT64_MAX);
	dssh_tcp_set_keepalive(c, true, f.now);
	CHECK_EQ_INT(dssh_tcp_timers(f.s, f.now), f.now + f.conf.keepalive_idle_us);
	f.now += 1000;
	CHECK_EQ_INT(feed(f.s, 40000, LPORT, 1001, snxt, DSSH_TCP_ACK, 65535, NULL, 0, "x", 1,
	    f.now), 0);
	CHECK_EQ_INT(sfx_out(&f), 0);
	CHECK_EQ_INT(dssh_tcp_timers(f.s, f.now), f.now + f.conf.delack_us);
	f.now += f.conf.delack_us - 1;
	dssh_tcp_timers(f.s, f.now);
	CHECK_EQ_INT(sfx_out(&f), 0);
	f.now += 1;
	CHECK_EQ_INT(dssh_tcp_timers(f.s, f.now), f.now - f.conf.delack_us +
	    f.conf.keepalive_idle_us);          /* the keepalive restarted with the data */
	CHECK_EQ_INT(sfx_out(&f), 1);
	CHECK_EQ_INT(f.caps[0].h.ack, 1002);
	dssh_tcp_abort(c, f.now);
 out:
	dssh_tcp_stack_free(f.s);
}

/*
 * A SYN flood's half-open connections: each SYN-ACK is resent at its RTO
 * (1 s); the peer resets half of them while armed (freed: ASan checks no
 * use after free), and only the others' retransmissions follow.
 */
static void
test_stack_synrcvd_reset(void)
{
	enum { N = 2000 };
	struct sfx f;
	uint32_t iss[N];
	uint64_t t0;
	unsigned i, n;
	uint64_t next;
	struct dssh_tcp_stats st;

	sfx_listen(&f, N + 16, 0);
	t0 = f.now;
	for (i = 0; i < N; i++) {
		CHECK_EQ_INT(feed(f.s, (uint16_t)(20000 + i), LPORT, 5000, 0, DSSH_TCP_SYN, 65535,
		    NULL, 0, NULL, 0, f.now), 0);
		CHECK_EQ_INT(sfx_out(&f), 1);
		iss[i] = f.caps[0].h.seq;
		CHECK_EQ_INT(f.caps[0].h.flags, DSSH_TCP_SYN | DSSH_TCP_ACK);
	}
	dssh_tcp_get_stats(f.s, &st);
	CHECK_EQ_INT(st.syn_cookies_sent, 0);
	f.now += 500000;
	for (i = 0; i < N; i += 2)
		CHECK_EQ_INT(feed(f.s, (uint16_t)(20000 + i), LPORT, 5001, 0, DSSH_TCP_RST, 0,
		    NULL, 0, NULL, 0, f.now), 0);
	CHECK_EQ_INT(dssh_tcp_timers(f.s, f.now), t0 + f.conf.rto_init_us);
	f.now = t0 + f.conf.rto_init_us - 1;
	dssh_tcp_timers(f.s, f.now);
	CHECK_EQ_INT(sfx_out(&f), 0);
	f.now = t0 + f.conf.rto_init_us;
	dssh_tcp_timers(f.s, f.now);
	n = drain(f.s, f.caps, 16, f.now);
	CHECK_EQ_INT(n, N / 2);
	(void)iss;
	/* the rest give up after syn_retries: freed inside dssh_tcp_timers */
	next = dssh_tcp_timers(f.s, f.now);
	for (i = 0; i < 64 && next != UINT64_MAX; i++) {
		CHECK(next > f.now);
		f.now = next;
		next = dssh_tcp_timers(f.s, f.now);
		n = drain(f.s, f.caps, 16, f.now);
		CHECK(n == 0 || n == N / 2);
	}
	CHECK_EQ_INT(next, UINT64_MAX);
	dssh_tcp_get_stats(f.s, &st);
	CHECK_EQ_INT(st.conns_timedout, N / 2);
	CHECK_EQ_INT(f.s->wheel.n[0] + f.s->wheel.n[1], 0);
	CHECK_EQ_INT(f.s->nconns, 0);
	dssh_tcp_stack_free(f.s);
}

/* Many connections in TIME-WAIT ending in the same tick, freed by the wheel. */
static void
test_stack_time_wait_burst(void)
{
	enum { N = 500 };
	struct sfx f;
	struct dssh_tcp_conn *c;
	uint32_t snxt;
	uint64_t t_close, next;
	unsigned i;

	sfx_listen(&f, N + 16, 0);
	for (i = 0; i < N; i++) {
		c = sfx_accept(&f, (uint16_t)(10000 + i), &snxt);
		CHECK(c != NULL);
		if (c == NULL)
			goto out;
		/* active close: FIN, the peer's ACK and FIN, our ACK: TIME-WAIT */
		dssh_tcp_close(c, f.now);
		CHECK_EQ_INT(sfx_out(&f), 1);
		CHECK_EQ_INT(feed(f.s, (uint16_t)(10000 + i), LPORT, 1001, snxt + 1,
		    DSSH_TCP_ACK | DSSH_TCP_FIN, 65535, NULL, 0, NULL, 0, f.now), 0);
		CHECK_EQ_INT(sfx_out(&f), 1);
	}
	CHECK_EQ_INT(f.s->nconns, N);
	t_close = f.now;
	f.now += 2ull * f.conf.msl_us - 1;
	next = dssh_tcp_timers(f.s, f.now);
	CHECK_EQ_INT(f.s->nconns, N);
	CHECK(next <= t_close + 2ull * f.conf.msl_us);
	while (next < t_close + 2ull * f.conf.msl_us) {
		f.now = next;
		next = dssh_tcp_timers(f.s, f.now);
	}
	CHECK_EQ_INT(f.s->nconns, N);
	f.now = t_close + 2ull * f.conf.msl_us;
	CHECK_EQ_INT(dssh_tcp_timers(f.s, f.now), UINT64_MAX);
	CHECK_EQ_INT(f.s->nconns, 0);
	CHECK_EQ_INT(sfx_out(&f), 0);
 out:
	dssh_tcp_stack_free(f.s);
}

/* An established connection reset by the peer while its timers are armed. */
static void
test_stack_reset_while_armed(void)
{
	struct sfx f;
	struct dssh_tcp_conn *c;
	struct dssh_tcp_event ev[2];
	uint32_t snxt;

	sfx_listen(&f, 16, 2);
	c = sfx_accept(&f, 40001, &snxt);
	CHECK(c != NULL);
	if (c == NULL)
		goto out;
	dssh_tcp_set_keepalive(c, true, f.now);
	CHECK(dssh_tcp_send(c, "hello", 5) == 5);   /* RTO armed */
	CHECK_EQ_INT(sfx_out(&f), 1);
	CHECK_EQ_INT(feed(f.s, 40001, LPORT, 1001, snxt, DSSH_TCP_ACK, 65535, NULL, 0, "y", 1,
	    f.now), 0);                                 /* delayed ACK armed */
	CHECK(dssh_tcp_timers(f.s, f.now) < UINT64_MAX);
	CHECK_EQ_INT(feed(f.s, 40001, LPORT, 1002, 0, DSSH_TCP_RST, 0, NULL, 0, NULL, 0, f.now), 0);
	CHECK_EQ_INT(dssh_tcp_events(f.s, ev, 2), 1);
	CHECK(ev[0].conn == c && (ev[0].events & DSSH_TCP_EV_RESET));
	CHECK_EQ_INT(f.s->wheel.n[0] + f.s->wheel.n[1], 0);
	dssh_tcp_close(c, f.now);
	f.now += 3 * 3600000000ull;
	CHECK_EQ_INT(dssh_tcp_timers(f.s, f.now), UINT64_MAX);
	CHECK_EQ_INT(sfx_out(&f), 0);
 out:
	dssh_tcp_stack_free(f.s);
}

#endif /* !TCP_COST_ONLY */

/* ---- cost ---- */

static double
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * 10 000 idle connections (keepalive at 1 h) and one busy one whose delayed
 * ACK expires every 40 ms: the time of a dssh_tcp_timers call that fires
 * it. Printed, not asserted (the machine is shared; sanitizers are on).
 */
static void
test_cost_idle(void)
{
	enum { N = 10000, ROUNDS = 200 };
	struct sfx f;
	struct dssh_tcp_conn *busy = NULL, *c;
	uint32_t snxt, bsnxt = 0, seq = 1001;
	double t, total = 0;
	unsigned i;

	sfx_listen(&f, N + 16, 2);
	for (i = 0; i < N + 1; i++) {
		f.now += 50;
		c = sfx_accept(&f, (uint16_t)(1024 + i), &snxt);
		CHECK(c != NULL);
		if (c == NULL)
			goto out;
		dssh_tcp_set_keepalive(c, true, f.now);
		if (i == N) {
			busy = c;
			bsnxt = snxt;
		}
	}
	f.now += 2000000;       /* past the SYN-ACKs' disarmed RTOs */
	dssh_tcp_timers(f.s, f.now);
	for (i = 0; i < ROUNDS; i++) {
		CHECK_EQ_INT(feed(f.s, (uint16_t)(1024 + N), LPORT, seq, bsnxt, DSSH_TCP_ACK, 65535,
		    NULL, 0, "z", 1, f.now), 0);
		seq++;
		f.now += f.conf.delack_us;
		t = mono_ns();
		dssh_tcp_timers(f.s, f.now);
		total += mono_ns() - t;
		CHECK_EQ_INT(sfx_out(&f), 1);
		dssh_tcp_recv(busy, (uint8_t[4]){ 0 }, 4);
	}
	printf("  dssh_tcp_timers with %u idle connections: %.0f ns per expiring call\n", N,
	    total / ROUNDS);
 out:
	dssh_tcp_stack_free(f.s);
}

int
main(void)
{
#ifndef TCP_COST_ONLY
	DSSH_RUN(test_rearm);
	DSSH_RUN(test_unlink_and_gap);
	DSSH_RUN(test_wrap);
	DSSH_RUN(test_spread);
	DSSH_RUN(test_stack_keepalive_order);
	DSSH_RUN(test_stack_delack_under_keepalive);
	DSSH_RUN(test_stack_synrcvd_reset);
	DSSH_RUN(test_stack_reset_while_armed);
	DSSH_RUN(test_stack_time_wait_burst);
#endif
	DSSH_RUN(test_cost_idle);
	DSSH_TEST_END();
}
