/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two stacks joined by a seeded impaired channel (2% loss, 5% reordering,
 * 1% duplication): 10 MB one way and 2 MB the other must arrive byte-exact,
 * then both sides close cleanly.
 */
#include <stdlib.h>

#include "tcp_test_util.h"

struct pkt {
	uint64_t due;
	uint32_t saddr, daddr;
	uint32_t len;
	uint8_t data[1600];
};

struct chan {
	struct pkt *q;
	size_t n, cap;
	uint64_t rng;
	unsigned loss_pm, reorder_pm, dup_pm;   /* per mille */
	uint64_t sent, lost, reordered, duped;
};

static void chan_put(struct chan *ch, const struct dssh_tcp_seg_out *o, uint64_t now)
{
	unsigned copies = 1, i, j;
	uint64_t r;

	ch->sent++;
	r = dssh_test_rand(&ch->rng) % 1000;
	if (r < ch->loss_pm) {
		ch->lost++;
		return;
	}
	if (dssh_test_rand(&ch->rng) % 1000 < ch->dup_pm) {
		copies = 2;
		ch->duped++;
	}
	for (i = 0; i < copies; i++) {
		struct pkt *p;
		size_t off;

		if (ch->n == ch->cap) {
			ch->cap = ch->cap ? ch->cap * 2 : 1024;
			ch->q = realloc(ch->q, ch->cap * sizeof(*ch->q));
			if (ch->q == NULL)
				abort();
		}
		p = &ch->q[ch->n++];
		p->saddr = o->saddr;
		p->daddr = o->daddr;
		memcpy(p->data, o->hdr, o->hdr_len);
		off = o->hdr_len;
		for (j = 0; j < o->npay; j++) {
			memcpy(p->data + off, o->pay[j], o->pay_len[j]);
			off += o->pay_len[j];
		}
		p->len = (uint32_t)off;
		p->due = now + 1000;    /* 1 ms one way */
		if (dssh_test_rand(&ch->rng) % 1000 < ch->reorder_pm) {
			p->due += 200 + dssh_test_rand(&ch->rng) % 3000;
			ch->reordered++;
		}
		p->due += i * 50;
	}
}

static void chan_deliver(struct chan *ch, struct dssh_tcp_stack *dst, uint64_t now)
{
	size_t i = 0;

	while (i < ch->n) {
		if (ch->q[i].due <= now) {
			struct pkt p = ch->q[i];

			ch->q[i] = ch->q[--ch->n];
			CHECK_EQ_INT(feed_raw(dst, p.saddr, p.daddr, p.data, p.len, now), 0);
		} else {
			i++;
		}
	}
}

static void pump(struct dssh_tcp_stack *s, struct chan *ch, uint64_t now)
{
	struct dssh_tcp_seg_out o[32];
	unsigned n, i;

	do {
		n = dssh_tcp_output(s, o, 32, now);
		for (i = 0; i < n; i++)
			chan_put(ch, &o[i], now);
	} while (n == 32);
}

static uint8_t stream_byte(uint64_t seed, uint64_t i)
{
	uint64_t x = (i / 8 + 1) * 0x9E3779B97F4A7C15ull ^ seed;

	x ^= x >> 31; x *= 0xBF58476D1CE4E5B9ull; x ^= x >> 29;
	return (uint8_t)(x >> (8 * (i % 8)));
}

struct end {
	struct dssh_tcp_conn *c;
	uint64_t tx_seed, rx_seed, tx_total, rx_total, tx_done, rx_done;
	bool rx_eof, closed, bad, fin_sent, got_closed;
};

static void end_write(struct end *e, uint64_t now)
{
	uint8_t buf[16384];
	size_t n, i;
	ssize_t r;

	while (e->c != NULL && e->tx_done < e->tx_total) {
		n = (size_t)DSSH_MIN(sizeof(buf), e->tx_total - e->tx_done);
		for (i = 0; i < n; i++)
			buf[i] = stream_byte(e->tx_seed, e->tx_done + i);
		r = dssh_tcp_send(e->c, buf, n);
		if (r <= 0)
			break;
		e->tx_done += (uint64_t)r;
	}
	(void)now;
}

static void end_read(struct end *e)
{
	const uint8_t *p[2];
	size_t l[2], i;
	unsigned np, k;

	if (e->c == NULL)
		return;
	np = dssh_tcp_peek(e->c, p, l);
	for (k = 0; k < np; k++) {
		for (i = 0; i < l[k]; i++)
			if (p[k][i] != stream_byte(e->rx_seed, e->rx_done + i))
				e->bad = true;
		e->rx_done += l[k];
		CHECK_EQ_INT(dssh_tcp_consume(e->c, l[k]), 0);
	}
	if (dssh_tcp_eof(e->c))
		e->rx_eof = true;
}

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
		pump(sa, &ab, now);
		pump(sb, &ba, now);
		if (ea.fin_sent && eb.fin_sent && ab.n == 0 && ba.n == 0 &&
		    dssh_tcp_timers(sa, now) == UINT64_MAX && dssh_tcp_timers(sb, now) == UINT64_MAX)
			break;
		{
			/* jump to the next thing that happens */
			uint64_t nx = DSSH_MIN(dssh_tcp_timers(sa, now), dssh_tcp_timers(sb, now));
			size_t q;

			for (q = 0; q < ab.n; q++)
				nx = DSSH_MIN(nx, ab.q[q].due);
			for (q = 0; q < ba.n; q++)
				nx = DSSH_MIN(nx, ba.q[q].due);
			now = nx > now + 20 ? (nx == UINT64_MAX ? now + 1000 : nx) : now + 20;
		}
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
