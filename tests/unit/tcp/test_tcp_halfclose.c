/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh_tcp_shutdown: a half close. A sends a little, shuts down (FIN), and
 * goes on reading what B sends long after (past 2 MSL: the FIN-WAIT-2
 * timer of a released connection must not free one its owner still
 * reads); B's FIN then ends it and A releases it. Also: shutdown from
 * CLOSE-WAIT (LAST-ACK), twice (a no-op), and before the connection is
 * established (refused).
 */
#include "dssh_err.h"
#include "tcp_test_chan.h"

struct pair {
	struct dssh_tcp_stack *sa, *sb;
	struct chan ab, ba;
	struct dssh_tcp_conn *a, *b;
	uint32_t ev_a, ev_b;            /* events seen so far */
	uint64_t now;
};

static void
pair_init(struct pair *p)
{
	struct dssh_tcp_conf conf;

	memset(p, 0, sizeof(*p));
	dssh_tcp_conf_default(&conf);
	conf.msl_us = 100000;           /* 2 MSL: 0.2 s */
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &p->sa), 0);
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &p->sb), 0);
	p->ab.fifo = p->ba.fifo = true;
	p->now = 1000000;
	CHECK_EQ_INT(dssh_tcp_listen(p->sb, 0, 22), 0);
}

static void
pair_free(struct pair *p)
{
	dssh_tcp_stack_free(p->sa);
	dssh_tcp_stack_free(p->sb);
	free(p->ab.q);
	free(p->ba.q);
}

/* Runs the network for us microseconds of simulated time. */
static void
pair_run(struct pair *p, uint64_t us)
{
	uint64_t end = p->now + us;
	struct dssh_tcp_event ev[16];
	unsigned n;

	while (p->now < end) {
		dssh_tcp_timers(p->sa, p->now);
		dssh_tcp_timers(p->sb, p->now);
		while ((n = dssh_tcp_events(p->sa, ev, 16)) > 0)
			for (unsigned i = 0; i < n; i++)
				p->ev_a |= ev[i].events;
		while ((n = dssh_tcp_events(p->sb, ev, 16)) > 0)
			for (unsigned i = 0; i < n; i++) {
				if (ev[i].events & DSSH_TCP_EV_ACCEPTED)
					p->b = ev[i].conn;
				p->ev_b |= ev[i].events;
			}
		chan_pump(p->sa, &p->ab, p->now);
		chan_pump(p->sb, &p->ba, p->now);
		p->now = chan_next_time(p->sa, p->sb, &p->ab, &p->ba, p->now);
		chan_deliver(&p->ab, p->sb, p->now);
		chan_deliver(&p->ba, p->sa, p->now);
	}
}

static uint16_t
lport(const struct dssh_tcp_conn *c)
{
	struct dssh_tcp_conn_info in;

	dssh_tcp_conn_get_info(c, &in);
	return in.lport;
}

static enum dssh_tcp_state
state(const struct dssh_tcp_conn *c)
{
	struct dssh_tcp_conn_info in;

	dssh_tcp_conn_get_info(c, &in);
	return in.state;
}

static void
test_shutdown_then_read(void)
{
	struct pair p;
	uint8_t buf[65536];
	size_t sent = 0, got = 0, total = 3u << 20;
	bool pattern_ok = true;
	uint16_t lp;

	pair_init(&p);
	CHECK_EQ_INT(dssh_tcp_connect(p.sa, IP_A, 0, IP_B, 22, p.now, &p.a), 0);
	lp = lport(p.a);
	/* not established yet: nothing to shut down */
	CHECK_EQ_INT(dssh_tcp_shutdown(p.a, p.now), DSSH_ERR_INVALID_ARGUMENT);
	pair_run(&p, 50000);
	CHECK(p.ev_a & DSSH_TCP_EV_CONNECTED);
	CHECK(p.b != NULL);
	if (p.b == NULL) {
		pair_free(&p);
		return;
	}
	CHECK_EQ_INT(dssh_tcp_send(p.a, "hello", 5), 5);
	CHECK_EQ_INT(dssh_tcp_shutdown(p.a, p.now), 0);
	CHECK_EQ_INT(dssh_tcp_shutdown(p.a, p.now), 0);         /* again: nothing more */
	pair_run(&p, 50000);
	CHECK(p.ev_b & DSSH_TCP_EV_PEER_FIN);
	CHECK_EQ_INT(dssh_tcp_recv(p.b, buf, sizeof(buf)), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK(dssh_tcp_eof(p.b));
	CHECK_EQ_INT(state(p.a), DSSH_TCP_FIN_WAIT_2);
	/* well past 2 MSL: A is still there, still the application's */
	pair_run(&p, 2000000);
	CHECK_EQ_INT(state(p.a), DSSH_TCP_FIN_WAIT_2);
	CHECK(!(p.ev_a & (DSSH_TCP_EV_RESET | DSSH_TCP_EV_CLOSED)));
	/* B talks, A reads */
	while (got < total && p.now < 60000000ull) {
		while (sent < total) {
			uint8_t chunk[4096];
			size_t n = DSSH_MIN(sizeof(chunk), total - sent);
			ssize_t w;

			for (size_t i = 0; i < n; i++)
				chunk[i] = stream_byte(7, sent + i);
			if ((w = dssh_tcp_send(p.b, chunk, n)) <= 0)
				break;
			sent += (size_t)w;
		}
		pair_run(&p, 1000);
		for (;;) {
			ssize_t r = dssh_tcp_recv(p.a, buf, sizeof(buf));

			if (r <= 0)
				break;
			for (ssize_t i = 0; i < r; i++)
				if (buf[i] != stream_byte(7, got + (size_t)i))
					pattern_ok = false;
			got += (size_t)r;
		}
	}
	CHECK_EQ_INT(got, total);
	CHECK(pattern_ok);
	CHECK(!dssh_tcp_eof(p.a));
	/* B closes: A sees the FIN, then the end */
	dssh_tcp_close(p.b, p.now);
	pair_run(&p, 50000);
	CHECK(p.ev_a & DSSH_TCP_EV_PEER_FIN);
	CHECK(p.ev_a & DSSH_TCP_EV_CLOSED);
	CHECK(!(p.ev_a & DSSH_TCP_EV_RESET));
	CHECK(dssh_tcp_eof(p.a));
	CHECK(dssh_tcp_lookup(p.sa, IP_A, lp, IP_B, 22) == p.a);
	dssh_tcp_close(p.a, p.now);
	pair_run(&p, 1000000);
	CHECK(dssh_tcp_lookup(p.sa, IP_A, lp, IP_B, 22) == NULL);
	{
		struct dssh_tcp_stats st;

		dssh_tcp_get_stats(p.sa, &st);
		CHECK_EQ_INT(st.rst_sent + st.rst_rcvd, 0);
	}
	pair_free(&p);
}

/* The peer closed first: our shutdown is the last FIN (LAST-ACK). */
static void
test_shutdown_close_wait(void)
{
	struct pair p;
	uint8_t buf[16];
	uint16_t lp;

	pair_init(&p);
	CHECK_EQ_INT(dssh_tcp_connect(p.sa, IP_A, 0, IP_B, 22, p.now, &p.a), 0);
	lp = lport(p.a);
	pair_run(&p, 50000);
	CHECK(p.b != NULL);
	if (p.b == NULL) {
		pair_free(&p);
		return;
	}
	dssh_tcp_close(p.b, p.now);
	pair_run(&p, 50000);
	CHECK(p.ev_a & DSSH_TCP_EV_PEER_FIN);
	CHECK_EQ_INT(state(p.a), DSSH_TCP_CLOSE_WAIT);
	CHECK_EQ_INT(dssh_tcp_recv(p.a, buf, sizeof(buf)), 0);
	CHECK(dssh_tcp_eof(p.a));
	CHECK_EQ_INT(dssh_tcp_shutdown(p.a, p.now), 0);
	pair_run(&p, 50000);
	CHECK(p.ev_a & DSSH_TCP_EV_CLOSED);
	CHECK_EQ_INT(state(p.a), DSSH_TCP_CLOSED);
	dssh_tcp_close(p.a, p.now);     /* the application lets it go */
	pair_run(&p, 1000000);
	CHECK(dssh_tcp_lookup(p.sa, IP_A, lp, IP_B, 22) == NULL);
	pair_free(&p);
}

int main(void)
{
	DSSH_RUN(test_shutdown_then_read);
	DSSH_RUN(test_shutdown_close_wait);
	DSSH_TEST_END();
}
