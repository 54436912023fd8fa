/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Many connections at once over a tiny RTT with burst losses, as 200 SSH
 * sessions over an af_packet port whose RX ring overflows when they all
 * start: N pairs between two stacks, each side sending 64 KiB while it
 * receives the peer's 64 KiB, through a channel of 25 +- 10 us one way
 * that drops runs of 20-60 consecutive packets now and then and every
 * packet that finds its "ring" full. Every transfer must complete
 * byte-exact and both ends close, within a simulated time bound, with
 * conf.rack off and on; after every step no connection may be left with
 * nothing to move it on (dssh_tcp_debug_stalled).
 *
 *   test_tcp_stall [seeds [pairs [rack 0/1]]]   more seeds (default: 4, 100)
 */
#include "tcp_test_chan.h"
#include "tcp_priv.h"

#define XFER (64u << 10)

static unsigned trace_port;

static void pump(struct dssh_tcp_stack *s, struct chan *ch, uint64_t now)
{
	struct dssh_tcp_seg_out o[32];
	unsigned n, i;

	do {
		n = dssh_tcp_output(s, o, 32, now);
		for (i = 0; i < n; i++) {
			if (trace_port) {
				struct dssh_tcp_hdr h;

				if (dssh_tcp_parse(o[i].hdr, o[i].hdr_len, &h) == 0 &&
				    (trace_port == 1 || h.sport == trace_port || h.dport == trace_port))
					fprintf(stderr, "T %llu %u>%u seq %u ack %u len %u fl %x ts %u/%u sack %u lost %llu\n",
					    (unsigned long long)now, h.sport, h.dport, h.seq, h.ack, o[i].len,
					    h.flags, h.tsval, h.tsecr, h.nsack, (unsigned long long)ch->lost);
			}
			chan_put(ch, &o[i], now);
		}
	} while (n == 32);
}

static void stall_cb(const struct dssh_tcp_conn *c, const char *why, void *arg)
{
	fprintf(stderr, "  stalled %c:%u %s: state %s una %u nxt %u max %u sq %u wnd %u cwnd %u "
	    "rec %d rto %llu tlp %llu reo %llu rs_n %u rack %d\n", *(const char *)arg, c->lport,
	    why, dssh_tcp_state_name(c->state), c->snd_una - c->iss, c->snd_nxt - c->iss,
	    c->snd_max - c->iss, c->sq.len, c->snd_wnd, c->cwnd, c->in_recovery,
	    (unsigned long long)c->t_rto, (unsigned long long)c->t_tlp,
	    (unsigned long long)c->t_reo, c->rs_n, c->rack_on);
}

static unsigned check_stalls(struct dssh_tcp_stack *sa, struct dssh_tcp_stack *sb, uint64_t now)
{
	return dssh_tcp_debug_stalled(sa, now, stall_cb, "A") +
	    dssh_tcp_debug_stalled(sb, now, stall_cb, "B");
}

static void dump(const char *who, struct end *e, const struct dssh_tcp_conn *c)
{
	if (c == NULL) {
		fprintf(stderr, "  %s: closed tx %llu rx %llu\n", who,
		    (unsigned long long)e->tx_done, (unsigned long long)e->rx_done);
		return;
	}
	fprintf(stderr, "  %s:%u fin q%d s%d r%d %s una %u nxt %u max %u sq %u wnd %u cwnd %u ssthresh %u rec %d "
	    "recover %u rto %llu(b%u) tlp %llu reo %llu due %d out %d rs_n %u rack %d rcv_nxt %u "
	    "rq %u ooo %u tx %llu rx %llu\n", who, c->lport, c->fin_queued, c->fin_sent, c->fin_rcvd,
	    dssh_tcp_state_name(c->state), c->snd_una - c->iss, c->snd_nxt - c->iss, c->snd_max - c->iss, c->sq.len, c->snd_wnd,
	    c->cwnd, c->ssthresh, c->in_recovery, c->recover - c->iss,
	    (unsigned long long)c->t_rto, c->backoff, (unsigned long long)c->t_tlp,
	    (unsigned long long)c->t_reo, c->tlp_due, c->tlp_out, c->rs_n, c->rack_on,
	    c->rcv_nxt - c->irs, c->rq.len, c->ooo_n, (unsigned long long)e->tx_done,
	    (unsigned long long)e->rx_done);
}

static bool run(bool rack, uint64_t seed, unsigned pairs, bool verbose)
{
	struct dssh_tcp_conf conf;
	struct dssh_tcp_stack *sa = NULL, *sb = NULL;
	struct chan ab = { 0 }, ba = { 0 };
	struct end *ea, *eb;
	struct dssh_tcp_event ev[64];
	struct dssh_tcp_stats x, y;
	uint64_t now = getenv("T0") ? strtoull(getenv("T0"), NULL, 10) : 5000000, t0 = now, deadline = now + 120ull * 1000000;
	unsigned n, i, k, done = 0, stalls = 0, bad = 0;
	bool ok;

	ea = calloc(pairs, sizeof(*ea));
	eb = calloc(pairs, sizeof(*eb));
	if (ea == NULL || eb == NULL)
		abort();
	dssh_tcp_conf_default(&conf);
	conf.rack = rack;
	conf.msl_us = 200000;
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &sa), 0);
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &sb), 0);
	if (sa == NULL || sb == NULL)
		return false;
	/* deterministic ISNs and timestamp offsets: a seed replays exactly */
	for (i = 0; i < sizeof(sa->isn_secret); i++) {
		sa->isn_secret[i] = (uint8_t)(seed * 31 + i);
		sb->isn_secret[i] = (uint8_t)(seed * 17 + 3 * i);
	}
	ab.rng = seed;
	ba.rng = seed ^ 0x5555;
	ab.delay_us = ba.delay_us = getenv("DELAY") ? (uint32_t)atoi(getenv("DELAY")) : 25;
	ab.jitter_us = ba.jitter_us = ab.delay_us * 2 / 5;
	ab.burst_pm = ba.burst_pm = 3;
	ab.burst_min = ba.burst_min = 20;
	ab.burst_max = ba.burst_max = 60;
	ab.burst_us = ba.burst_us = 500;
	ab.ring_max = ba.ring_max = getenv("RING") ? (size_t)atoi(getenv("RING")) : 512;
	CHECK_EQ_INT(dssh_tcp_listen(sb, 0, 22), 0);
	for (i = 0; i < pairs; i++) {
		ea[i].tx_seed = eb[i].rx_seed = seed * 1000 + 2 * i + 1;
		eb[i].tx_seed = ea[i].rx_seed = seed * 1000 + 2 * i + 2;
		ea[i].tx_total = eb[i].rx_total = XFER;
		eb[i].tx_total = ea[i].rx_total = XFER;
		CHECK_EQ_INT(dssh_tcp_connect(sa, IP_A, (uint16_t)(40000 + i), IP_B, 22, now,
		    &ea[i].c), 0);
	}
	while (now < deadline && done < pairs) {
		dssh_tcp_timers(sa, now);
		dssh_tcp_timers(sb, now);
		while ((n = dssh_tcp_events(sa, ev, 64)) > 0)
			for (k = 0; k < n; k++)
				if (ev[k].events & DSSH_TCP_EV_RESET)
					bad++;
		while ((n = dssh_tcp_events(sb, ev, 64)) > 0)
			for (k = 0; k < n; k++) {
				if (ev[k].events & DSSH_TCP_EV_ACCEPTED) {
					struct dssh_tcp_conn_info in;

					dssh_tcp_conn_get_info(ev[k].conn, &in);
					CHECK(in.rport >= 40000 && in.rport < 40000 + pairs);
					eb[in.rport - 40000].c = ev[k].conn;
				}
				if (ev[k].events & DSSH_TCP_EV_RESET)
					bad++;
			}
		done = 0;
		for (i = 0; i < pairs; i++) {
			struct end *a = &ea[i], *b = &eb[i];

			end_write(a, now);
			end_write(b, now);
			end_read(a);
			end_read(b);
			if (a->c && !a->fin_sent && a->tx_done == a->tx_total &&
			    a->rx_done == a->rx_total) {
				dssh_tcp_close(a->c, now);
				a->fin_sent = true;
				a->c = NULL;
			}
			if (b->c && !b->fin_sent && b->tx_done == b->tx_total &&
			    b->rx_done == b->rx_total && b->rx_eof) {
				dssh_tcp_close(b->c, now);
				b->fin_sent = true;
				b->c = NULL;
			}
			done += a->fin_sent && b->fin_sent;
		}
		pump(sa, &ab, now);
		pump(sb, &ba, now);
		if (check_stalls(sa, sb, now) > 0 && ++stalls >= 5)
			break;
		now = chan_next_time(sa, sb, &ab, &ba, now);
		chan_deliver(&ab, sb, now);
		chan_deliver(&ba, sa, now);
	}
	ok = done == pairs && stalls == 0 && bad == 0;
	for (i = 0; i < pairs; i++) {
		ok = ok && !ea[i].bad && !eb[i].bad && ea[i].rx_done == XFER &&
		    eb[i].rx_done == XFER;
		if (!ok && (verbose || !(ea[i].fin_sent && eb[i].fin_sent)) &&
		    !(ea[i].fin_sent && eb[i].fin_sent && !ea[i].bad && !eb[i].bad)) {
			fprintf(stderr, "  pair %u unfinished:\n", i);
			dump("A", &ea[i], dssh_tcp_lookup(sa, IP_A, (uint16_t)(40000 + i), IP_B, 22));
			dump("B", &eb[i], dssh_tcp_lookup(sb, IP_B, 22, IP_A, (uint16_t)(40000 + i)));
		}
	}
	dssh_tcp_get_stats(sa, &x);
	dssh_tcp_get_stats(sb, &y);
	if (verbose || !ok)
		fprintf(stderr, "  seed %llu rack=%d pairs %u: %s, %u done, %.3f s simulated, "
		    "stalls %u resets %u; A rto %llu rexmit %llu rack_lost %llu tlp %llu | "
		    "B rto %llu rexmit %llu; chan lost %llu/%llu %llu/%llu\n",
		    (unsigned long long)seed, rack, pairs, ok ? "ok" : "FAIL", done,
		    (now - t0) / 1e6, stalls, bad, (unsigned long long)x.rto_expired,
		    (unsigned long long)x.retransmits, (unsigned long long)x.rack_lost,
		    (unsigned long long)x.tlp_probes, (unsigned long long)y.rto_expired,
		    (unsigned long long)y.retransmits, (unsigned long long)ab.lost,
		    (unsigned long long)ab.sent, (unsigned long long)ba.lost,
		    (unsigned long long)ba.sent);
	CHECK(ok);
	CHECK(ab.lost > 0 && ba.lost > 0);
	dssh_tcp_stack_free(sa);
	dssh_tcp_stack_free(sb);
	free(ab.q);
	free(ba.q);
	free(ea);
	free(eb);
	return ok;
}

static void test_stall_rack_off(void)
{
	for (uint64_t s = 1; s <= 3; s++)
		run(false, s, 100, true);
}

static void test_stall_rack_on(void)
{
	for (uint64_t s = 1; s <= 3; s++)
		run(true, s, 100, true);
}

int main(int argc, char **argv)
{
	if (getenv("TRACE_PORT"))
		trace_port = (unsigned)atoi(getenv("TRACE_PORT"));
	if (argc > 1) {
		unsigned seeds = (unsigned)strtoul(argv[1], NULL, 10);
		unsigned pairs = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 100;
		int only = argc > 3 ? atoi(argv[3]) : -1;
		unsigned fails[2] = { 0, 0 };

		for (unsigned s = 0; s < seeds; s++)
			for (int m = 0; m < 2; m++)
				if (only < 0 || only == m)
					fails[m] += !run(m == 1, (getenv("SEED_BASE") ? strtoull(getenv("SEED_BASE"), NULL, 10) : 100) + s, pairs, false);
		fprintf(stderr, "  %u seeds x %u pairs: rack off %u failed, rack on %u failed\n",
		    seeds, pairs, fails[0], fails[1]);
		DSSH_TEST_END();
	}
	DSSH_RUN(test_stall_rack_off);
	DSSH_RUN(test_stall_rack_on);
	DSSH_TEST_END();
}
