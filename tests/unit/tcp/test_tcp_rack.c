/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RACK-TLP (RFC 8985) against the RFC 6675 sender: A sends a bulk stream to
 * B over the impairment measured end to end (2% loss, 5% reordering with
 * 10 ms extra delay, 1% duplication, 10 +- 5 ms one way in each direction),
 * on the fake clock. Reports simulated goodput, RTO expiries and
 * retransmissions for conf.rack off and on over several seeds; checks the
 * stream arrives byte-exact and that RACK is not slower and times out less.
 *
 *   test_tcp_rack [MiB [seeds]]   prints the figures for another size
 */
#include "tcp_test_chan.h"

struct result {
	double goodput;            /* bytes per simulated second */
	uint64_t rto, rexmit, fast, out;
	bool ok;
};

static void impair(struct chan *ch, uint64_t seed)
{
	ch->rng = seed;
	ch->loss_pm = 20;
	ch->reorder_pm = 50;
	ch->dup_pm = 10;
	ch->delay_us = 10000;
	ch->jitter_us = 5000;
	ch->reorder_us = 10000;
}

static void accept_b(struct dssh_tcp_stack *sb, struct end *eb)
{
	struct dssh_tcp_event ev[16];
	unsigned n, i;

	while ((n = dssh_tcp_events(sb, ev, 16)) > 0)
		for (i = 0; i < n; i++) {
			if (ev[i].events & DSSH_TCP_EV_ACCEPTED)
				eb->c = ev[i].conn;
			if (ev[i].events & DSSH_TCP_EV_RESET)
				eb->bad = true;
		}
}

static struct result xfer(bool rack, uint64_t seed, uint64_t bytes)
{
	struct dssh_tcp_conf conf;
	struct dssh_tcp_stack *sa = NULL, *sb = NULL;
	struct chan ab = { 0 }, ba = { 0 };
	struct end ea = { 0 }, eb = { 0 };
	struct dssh_tcp_event ev[16];
	struct dssh_tcp_stats st;
	struct result r = { 0 };
	uint64_t now = 1000000, start = 0, deadline = now + 3600ull * 1000000;

	dssh_tcp_conf_default(&conf);
	conf.rack = rack;
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &sa), 0);
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &sb), 0);
	if (sa == NULL || sb == NULL)
		return r;
	impair(&ab, seed);
	impair(&ba, seed ^ 0x5555);
	ea.tx_seed = eb.rx_seed = seed + 1;
	ea.tx_total = eb.rx_total = bytes;
	CHECK_EQ_INT(dssh_tcp_listen(sb, 0, 22), 0);
	CHECK_EQ_INT(dssh_tcp_connect(sa, IP_A, 0, IP_B, 22, now, &ea.c), 0);
	while (now < deadline && eb.rx_done < bytes && !ea.bad && !eb.bad) {
		dssh_tcp_timers(sa, now);
		dssh_tcp_timers(sb, now);
		while (dssh_tcp_events(sa, ev, 16) > 0)
			if (ev[0].events & DSSH_TCP_EV_RESET)
				ea.bad = true;
		accept_b(sb, &eb);
		if (eb.c != NULL && start == 0)
			start = now;   /* goodput from the handshake on */
		end_write(&ea, now);
		end_read(&eb);
		chan_pump(sa, &ab, now);
		chan_pump(sb, &ba, now);
		now = chan_next_time(sa, sb, &ab, &ba, now);
		chan_deliver(&ab, sb, now);
		chan_deliver(&ba, sa, now);
	}
	dssh_tcp_get_stats(sa, &st);
	r.ok = !ea.bad && !eb.bad && eb.rx_done == bytes;
	r.goodput = (double)eb.rx_done / ((double)(now - start) / 1e6);
	r.rto = st.rto_expired;
	r.rexmit = st.retransmits;
	r.fast = st.fast_retransmits;
	r.out = st.out_segs;
	dssh_tcp_stack_free(sa);
	dssh_tcp_stack_free(sb);
	free(ab.q);
	free(ba.q);
	return r;
}

static void compare(uint64_t bytes, unsigned seeds, bool assert_better)
{
	double gp[2] = { 0, 0 };
	uint64_t rto[2] = { 0, 0 }, rx[2] = { 0, 0 };
	unsigned i, m;

	for (i = 0; i < seeds; i++) {
		for (m = 0; m < 2; m++) {
			struct result r = xfer(m == 1, 0xc0ffee + 7919ull * i, bytes);

			CHECK(r.ok);
			gp[m] += r.goodput;
			rto[m] += r.rto;
			rx[m] += r.rexmit;
			fprintf(stderr, "  seed %u rack=%u: %.3f MB/s, rto %llu, rexmit %llu, "
			    "recoveries %llu, out %llu\n", i, m, r.goodput / 1e6,
			    (unsigned long long)r.rto, (unsigned long long)r.rexmit,
			    (unsigned long long)r.fast, (unsigned long long)r.out);
		}
	}
	fprintf(stderr, "  %llu KiB x %u seeds: rack off %.3f MB/s rto %llu rexmit %llu | "
	    "rack on %.3f MB/s rto %llu rexmit %llu\n", (unsigned long long)(bytes >> 10), seeds,
	    gp[0] / seeds / 1e6, (unsigned long long)rto[0], (unsigned long long)rx[0],
	    gp[1] / seeds / 1e6, (unsigned long long)rto[1], (unsigned long long)rx[1]);
	if (assert_better) {
		CHECK(gp[1] >= gp[0]);
		CHECK(rto[1] < rto[0]);
	}
}

static void test_rack_vs_6675(void)
{
	compare(4u << 20, 4, true);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		compare(strtoull(argv[1], NULL, 10) << 20,
		    argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 4, false);
		DSSH_TEST_END();
	}
	DSSH_RUN(test_rack_vs_6675);
	DSSH_TEST_END();
}
