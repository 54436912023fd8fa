/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two stacks joined by a seeded impaired channel (2% loss, 5% reordering,
 * 1% duplication): 10 MB one way and 2 MB the other must arrive byte-exact,
 * then both sides close cleanly.
 */
#include "tcp_test_chan.h"

static unsigned loss_pm = 20;
static bool server_cookies;     /* server answers every SYN with a SYN cookie */

static void run(enum dssh_tcp_cc_algo cc, bool sack, bool ts, uint64_t seed, uint64_t a2b,
    uint64_t b2a)
{
	struct dssh_tcp_conf conf;
	struct dssh_tcp_stack *sa = NULL, *sb = NULL;
	struct chan ab = { 0 }, ba = { 0 };
	struct end ea = { 0 }, eb = { 0 };
	struct dssh_tcp_event ev[16];
	struct dssh_tcp_stats st;
	uint64_t now = 1000000, deadline;
	unsigned n, i;

	dssh_tcp_conf_default(&conf);
	conf.cc = cc;
	conf.sack = sack;
	conf.timestamps = ts;
	conf.msl_us = 500000;
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &sa), 0);
	if (server_cookies)
		conf.syn_backlog = 0;
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &sb), 0);
	if (sa == NULL || sb == NULL)
		return;
	ab.rng = seed; ba.rng = seed ^ 0x5555;
	ab.loss_pm = ba.loss_pm = loss_pm;
	ab.reorder_pm = ba.reorder_pm = 50;
	ab.dup_pm = ba.dup_pm = 10;
	ea.tx_seed = eb.rx_seed = seed + 1;
	eb.tx_seed = ea.rx_seed = seed + 2;
	ea.tx_total = eb.rx_total = a2b;
	eb.tx_total = ea.rx_total = b2a;

	CHECK_EQ_INT(dssh_tcp_listen(sb, 0, 22), 0);
	CHECK_EQ_INT(dssh_tcp_connect(sa, IP_A, 0, IP_B, 22, now, &ea.c), 0);
	deadline = now + 600ull * 1000000;
	while (now < deadline) {
		dssh_tcp_timers(sa, now);
		dssh_tcp_timers(sb, now);
		while ((n = dssh_tcp_events(sa, ev, 16)) > 0) {
			for (i = 0; i < n; i++) {
				CHECK(ev[i].conn == ea.c);
				if (ev[i].events & (DSSH_TCP_EV_RESET))
					ea.bad = true;
				if (ev[i].events & DSSH_TCP_EV_CLOSED)
					ea.got_closed = true;
			}
		}
		while ((n = dssh_tcp_events(sb, ev, 16)) > 0) {
			for (i = 0; i < n; i++) {
				if (ev[i].events & DSSH_TCP_EV_ACCEPTED) {
					CHECK(eb.c == NULL);
					eb.c = ev[i].conn;
				}
				if (ev[i].events & DSSH_TCP_EV_RESET)
					eb.bad = true;
				if (ev[i].events & DSSH_TCP_EV_CLOSED)
					eb.got_closed = true;
			}
		}
		end_write(&ea, now);
		end_write(&eb, now);
		end_read(&ea);
		end_read(&eb);
		if (ea.c && !ea.fin_sent && ea.tx_done == ea.tx_total && ea.rx_eof) {
			/* A closes after it has everything: B closed first */
			dssh_tcp_close(ea.c, now);
			ea.fin_sent = true;
			ea.c = NULL;
		}
		if (eb.c && !eb.fin_sent && eb.tx_done == eb.tx_total && eb.rx_done == eb.rx_total) {
			dssh_tcp_close(eb.c, now);
			eb.fin_sent = true;
			eb.c = NULL;
		}
		chan_pump(sa, &ab, now);
		chan_pump(sb, &ba, now);
		if (ea.fin_sent && eb.fin_sent && ab.n == 0 && ba.n == 0 &&
		    dssh_tcp_timers(sa, now) == UINT64_MAX && dssh_tcp_timers(sb, now) == UINT64_MAX)
			break;
		/* jump to the next thing that happens */
		now = chan_next_time(sa, sb, &ab, &ba, now);
		chan_deliver(&ab, sb, now);
		chan_deliver(&ba, sa, now);
		if (ea.bad || eb.bad) {
			struct end *es[2] = { &ea, &eb };
			int z;

			for (z = 0; z < 2; z++) {
				struct dssh_tcp_conn_info in;

				if (es[z]->c == NULL)
					continue;
				dssh_tcp_conn_get_info(es[z]->c, &in);
				fprintf(stderr, "  %c: %s una %u nxt %u max %u wnd %u rcv_nxt %u rwnd %u "
				    "cwnd %u sbuf %u rq %u ooo %u sb %u rec %d tx %llu/%llu rx %llu\n",
				    'A' + z, dssh_tcp_state_name(in.state), in.snd_una - in.iss,
				    in.snd_nxt - in.iss, in.snd_max - in.iss, in.snd_wnd,
				    in.rcv_nxt - in.irs, in.rcv_wnd, in.cwnd, in.sndbuf_used,
				    in.rcv_queued, in.ooo_ranges, in.sacked_ranges, in.in_recovery,
				    (unsigned long long)es[z]->tx_done,
				    (unsigned long long)es[z]->tx_total,
				    (unsigned long long)es[z]->rx_done);
			}
			break;
		}
	}
	CHECK(!ea.bad);
	CHECK(!eb.bad);
	if (ea.bad || eb.bad || eb.rx_done != a2b || ea.rx_done != b2a) {
		struct dssh_tcp_stats x, y;

		dssh_tcp_get_stats(sa, &x);
		dssh_tcp_get_stats(sb, &y);
		fprintf(stderr, "  FAIL seed %llu t=%.3f: A rst_sent %llu rst_rcvd %llu timedout %llu "
		    "chack %llu | B rst_sent %llu rst_rcvd %llu timedout %llu chack %llu nocon %llu "
		    "cookies %llu/%llu\n",
		    (unsigned long long)seed, (now - 1000000) / 1e6,
		    (unsigned long long)x.rst_sent, (unsigned long long)x.rst_rcvd,
		    (unsigned long long)x.conns_timedout, (unsigned long long)x.challenge_acks,
		    (unsigned long long)y.rst_sent, (unsigned long long)y.rst_rcvd,
		    (unsigned long long)y.conns_timedout, (unsigned long long)y.challenge_acks,
		    (unsigned long long)y.in_no_conn, (unsigned long long)y.syn_cookies_sent,
		    (unsigned long long)y.syn_cookies_ok);
	}
	CHECK_EQ_INT(eb.rx_done, a2b);
	CHECK_EQ_INT(ea.rx_done, b2a);
	CHECK(ea.rx_eof);
	CHECK(ea.fin_sent && eb.fin_sent);
	CHECK(now < deadline);
	/* both tables are empty once TIME-WAIT ran out */
	CHECK(dssh_tcp_lookup(sa, IP_A, 0, IP_B, 22) == NULL);
	dssh_tcp_get_stats(sa, &st);
	CHECK(st.retransmits > 0);
	CHECK(ab.lost > 0 && ab.reordered > 0 && ab.duped > 0);
	fprintf(stderr, "  %s sack=%d ts=%d: %.1f s simulated, A: out %llu rexmit %llu rto %llu "
	    "fast %llu sackrec %llu dup %llu ooo %llu; chan lost %llu reord %llu dup %llu\n",
	    cc == DSSH_TCP_CC_CUBIC ? "cubic" : "newreno", sack, ts, (now - 1000000) / 1e6,
	    (unsigned long long)st.out_segs, (unsigned long long)st.retransmits,
	    (unsigned long long)st.rto_expired, (unsigned long long)st.fast_retransmits,
	    (unsigned long long)st.sack_recoveries, (unsigned long long)st.dup_segs,
	    (unsigned long long)st.ooo_segs, (unsigned long long)ab.lost,
	    (unsigned long long)ab.reordered, (unsigned long long)ab.duped);
	dssh_tcp_get_stats(sb, &st);
	CHECK_EQ_INT(st.in_bad_csum + st.in_bad_hdr + st.in_bad_opt, 0);
	CHECK_EQ_INT(st.conns_opened, 1);
	if (server_cookies)
		CHECK_EQ_INT(st.syn_cookies_ok, 1);
	dssh_tcp_stack_free(sa);
	dssh_tcp_stack_free(sb);
	free(ab.q);
	free(ba.q);
}

static void test_loop_cubic_sack(void)
{
	run(DSSH_TCP_CC_CUBIC, true, true, 0x1234567ull, 10u << 20, 2u << 20);
}

static void test_loop_newreno_nosack(void)
{
	run(DSSH_TCP_CC_NEWRENO, false, false, 0xabcdefull, 10u << 20, 1u << 20);
}

static void test_loop_newreno_sack(void)
{
	run(DSSH_TCP_CC_NEWRENO, true, true, 0x777ull, 4u << 20, 1u << 20);
}

static void test_loop_syn_cookie_conn(void)
{
	server_cookies = true;
	run(DSSH_TCP_CC_CUBIC, true, true, 0x4242ull, 2u << 20, 1u << 20);
	server_cookies = false;
}

int main(int argc, char **argv)
{
	/* stress mode: test_tcp_loop N [loss per mille] runs N extra seeds of each variant (1 MiB) */
	if (argc > 1) {
		unsigned long i, n = strtoul(argv[1], NULL, 10);

		if (argc > 2)
			loss_pm = (unsigned)strtoul(argv[2], NULL, 10);

		for (i = 0; i < n; i++) {
			run(DSSH_TCP_CC_CUBIC, true, true, 1000 + i, 1u << 20, 256u << 10);
			run(DSSH_TCP_CC_NEWRENO, false, false, 5000 + i, 1u << 20, 256u << 10);
			run(DSSH_TCP_CC_CUBIC, true, false, 9000 + i, 1u << 20, 0);
		}
		DSSH_TEST_END();
	}
	DSSH_RUN(test_loop_cubic_sack);
	DSSH_RUN(test_loop_newreno_nosack);
	DSSH_RUN(test_loop_newreno_sack);
	DSSH_RUN(test_loop_syn_cookie_conn);
	DSSH_TEST_END();
}
