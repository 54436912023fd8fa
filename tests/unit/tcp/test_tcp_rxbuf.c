/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The receive queue with payload kept by reference (conf.buf_ops): a fake
 * driver hands every segment in its own reference-counted buffer, as the
 * data plane does with mbufs, and counts references. Segments arrive out of
 * order, duplicated, overlapping, tiny and large, some buffers refused by
 * the driver's budget; the bytes read must be the stream in order, the
 * queue's cost stays bounded, and every reference comes back (after reads,
 * close, abort and stack free).
 */
#include <stdlib.h>

#include "tcp_test_bufs.h"

#define PPORT 40000
#define LPORT 22
#define PISS 5000u
#define FB_ROOM 2048u
#define FB_COST (FB_ROOM + 128u)

static struct cap caps[64];

/* A segment from the peer in its own buffer, as a NIC would deliver it. */
static int fd_feed(struct dssh_tcp_stack *s, struct tb_drv *d, uint32_t seq, uint32_t ack,
    uint8_t flags, const uint8_t *opts, size_t olen, const uint8_t *pay, size_t plen,
    uint64_t now)
{
	struct tb_buf *b;
	struct dssh_tcp_seg_in in;
	size_t n;
	int r;

	CHECK(plen <= FB_ROOM);
	if (plen > FB_ROOM)
		return -1;
	b = tb_new(d, 60 + FB_ROOM);
	n = mkseg(b->data, PPORT, LPORT, seq, ack, flags, 65535, opts, olen, pay, plen);
	memset(&in, 0, sizeof(in));
	in.saddr = IP_B;
	in.daddr = IP_A;
	in.data = b->data;
	in.len = n;
	in.buf = b;
	in.buf_cost = FB_COST;
	r = dssh_tcp_input(s, &in, now);
	tb_unref(d, b);             /* the driver's own reference */
	return r;
}

/* Passive open with SACK and window scaling (no timestamps: any order goes). */
static struct dssh_tcp_conn *fd_open(struct dssh_tcp_stack *s, struct tb_drv *d, uint32_t *iss,
    uint64_t now)
{
	static const uint8_t synopt[] = { 2, 4, 0x05, 0xb4, 4, 2, 3, 3, 7, 1 };
	struct dssh_tcp_event ev[4];

	CHECK_EQ_INT(dssh_tcp_listen(s, 0, LPORT), 0);
	CHECK_EQ_INT(fd_feed(s, d, PISS, 0, DSSH_TCP_SYN, synopt, sizeof(synopt), NULL, 0, now), 0);
	CHECK_EQ_INT(drain(s, caps, 64, now), 1);
	*iss = caps[0].h.seq;
	CHECK_EQ_INT(fd_feed(s, d, PISS + 1, *iss + 1, DSSH_TCP_ACK, NULL, 0, NULL, 0, now), 0);
	CHECK_EQ_INT(dssh_tcp_events(s, ev, 4), 1);
	return ev[0].conn;
}

static void stack_new(struct dssh_tcp_stack **s, struct tb_drv *d, uint32_t rcvbuf)
{
	struct dssh_tcp_conf conf;

	dssh_tcp_conf_default(&conf);
	conf.rcvbuf = rcvbuf;
	conf.buf_ops = &tb_ops;
	conf.buf_arg = d;
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, s), 0);
}

/*
 * total bytes through a rcvbuf-byte window in segments of up to maxseg,
 * chosen at random around the read point: in order, ahead (out of order),
 * behind (duplicates) and straddling what is held (overlaps). Reads of
 * random sizes through recv, peekv and copy_out in between.
 */
static void run_stream(uint64_t seed, uint32_t rcvbuf, size_t total, size_t maxseg,
    unsigned refuse_pct, long budget)
{
	struct tb_drv d = { .rnd = seed | 1, .refuse_pct = refuse_pct, .budget = budget };
	struct dssh_tcp_stack *s = NULL;
	struct dssh_tcp_conn *c;
	struct dssh_tcp_conn_info info;
	uint8_t pay[FB_ROOM], rd[8192];
	uint64_t r = seed, now = 1000000;
	size_t nread = 0;
	uint32_t iss;
	bool bad = false;
	unsigned iter = 0;
	struct dssh_tcp_stats st;

	stack_new(&s, &d, rcvbuf);
	c = fd_open(s, &d, &iss, now);
	CHECK(c != NULL);
	if (c == NULL)
		goto out;
	while (nread < total && iter++ < 2000000) {
		size_t have, from, len, k;
		uint64_t pick = dssh_test_rand(&r) % 100;

		dssh_tcp_conn_get_info(c, &info);
		have = info.rcv_nxt - (PISS + 1);           /* in order so far */
		len = 1 + dssh_test_rand(&r) % (pick < 20 ? 16 : maxseg);
		if (pick < 50)
			from = have;                         /* the next bytes */
		else if (pick < 60)
			from = have > 3000 ? have - dssh_test_rand(&r) % 3000 : 0;   /* old */
		else
			from = have + dssh_test_rand(&r) % (rcvbuf + 2000);     /* ahead */
		if (from >= total)
			continue;
		len = DSSH_MIN(len, total - from);
		for (k = 0; k < len; k++)
			pay[k] = tb_pat(from + k);
		(void)fd_feed(s, &d, PISS + 1 + (uint32_t)from, iss + 1, DSSH_TCP_ACK, NULL, 0,
		    pay, len, now);
		now += 10;
		(void)drain(s, caps, 64, now);
		if (dssh_test_rand(&r) % 4 == 0) {
			size_t want = 1 + dssh_test_rand(&r) % sizeof(rd), got, tot = 0;
			struct dssh_tcp_iov iov[8];
			unsigned np = dssh_tcp_peekv(c, 0, iov, 8);
			ssize_t n;

			for (unsigned i = 0; i < np; i++)
				tot += iov[i].len;
			dssh_tcp_conn_get_info(c, &info);
			CHECK(dssh_tcp_readable(c) == info.rcv_queued);
			CHECK(np == 8 ? tot <= dssh_tcp_readable(c) : tot == dssh_tcp_readable(c));
			if (np > 0 && iov[0].ptr[0] != tb_pat(nread))
				bad = true;
			/* copy_out at an offset, then recv the same bytes */
			got = dssh_tcp_copy_out(c, 1, rd, want);
			CHECK(got == DSSH_MIN(want, dssh_tcp_readable(c) > 0 ?
			    dssh_tcp_readable(c) - 1 : 0));
			for (k = 0; k < got; k++)
				if (rd[k] != tb_pat(nread + 1 + k))
					bad = true;
			n = dssh_tcp_recv(c, rd, want);
			CHECK(n >= 0);
			for (k = 0; n > 0 && k < (size_t)n; k++)
				if (rd[k] != tb_pat(nread + k))
					bad = true;
			if (n > 0)
				nread += (size_t)n;
		}
		/* what the queue pins stays within rcv_mem (2 * rcvbuf) */
		if ((uint64_t)d.held * FB_COST > 2ull * rcvbuf)
			bad = true;
	}
	CHECK(!bad);
	CHECK_EQ_INT(nread, total);
	dssh_tcp_get_stats(s, &st);
	fprintf(stderr, "  seed %llu rcvbuf %u seg %zu refuse %u%% budget %ld: %u segs, ooo %llu "
	    "dup %llu dropped %llu; holds %ld (max %ld at once), refused %ld\n",
	    (unsigned long long)seed, rcvbuf, maxseg, refuse_pct, budget, iter,
	    (unsigned long long)st.ooo_segs, (unsigned long long)st.dup_segs,
	    (unsigned long long)st.ooo_dropped, d.holds, d.max_held, d.refused);
	/* held unless refused, or too small to be worth a buffer (copied) */
	CHECK(refuse_pct == 100 || maxseg < 256 ? d.holds == 0 : d.holds > 0);
	CHECK(budget == 0 || d.max_held <= budget);
	/* all read: nothing in order is held; out-of-order beyond may be */
	dssh_tcp_conn_get_info(c, &info);
	CHECK_EQ_INT(info.rcv_queued, 0);
	dssh_tcp_close(c, now);
	(void)drain(s, caps, 64, now);
 out:
	dssh_tcp_stack_free(s);
	CHECK_EQ_INT(d.held, 0);
	CHECK_EQ_INT(d.holds, d.releases);
	CHECK_EQ_INT(d.live, 0);
}

static void test_stream_random(void)
{
	for (uint64_t seed = 1; seed <= 4; seed++)
		run_stream(seed, 65536, 1u << 20, 1448, 0, 0);
	run_stream(7, 16384, 256u << 10, 1448, 0, 0);
	run_stream(8, 262144, 2u << 20, 2000, 0, 0);
}

static void test_stream_refused(void)
{
	/* the driver refuses some holds, or all past a budget: those bytes are copied */
	run_stream(11, 65536, 512u << 10, 1448, 30, 0);
	run_stream(12, 65536, 512u << 10, 1448, 100, 0);
	run_stream(13, 65536, 512u << 10, 1448, 0, 8);
}

static void test_tiny_segments(void)
{
	/* 1..16-byte segments: copied into chunks, never one buffer per byte */
	run_stream(21, 65536, 64u << 10, 16, 0, 0);
}

/* Unread data in order and out of order, then abort / stack free: all released. */
static void test_release_on_abort_and_free(void)
{
	struct tb_drv d = { .rnd = 3 };
	struct dssh_tcp_stack *s = NULL;
	struct dssh_tcp_conn *c;
	uint8_t pay[1448];
	uint32_t iss;
	uint64_t now = 1000000;
	struct dssh_tcp_conn_info info;

	for (size_t k = 0; k < sizeof(pay); k++)
		pay[k] = tb_pat(k);
	for (int round = 0; round < 2; round++) {
		stack_new(&s, &d, 65536);
		c = fd_open(s, &d, &iss, now);
		CHECK(c != NULL);
		if (c == NULL)
			break;
		/* in order, a hole, out of order, overlapping out of order, duplicate */
		CHECK_EQ_INT(fd_feed(s, &d, PISS + 1, iss + 1, DSSH_TCP_ACK, NULL, 0, pay, 1000, now), 0);
		CHECK_EQ_INT(fd_feed(s, &d, PISS + 1 + 3000, iss + 1, DSSH_TCP_ACK, NULL, 0, pay, 1448, now), 0);
		CHECK_EQ_INT(fd_feed(s, &d, PISS + 1 + 3500, iss + 1, DSSH_TCP_ACK, NULL, 0, pay, 1448, now), 0);
		CHECK_EQ_INT(fd_feed(s, &d, PISS + 1, iss + 1, DSSH_TCP_ACK, NULL, 0, pay, 1000, now), 0);
		(void)drain(s, caps, 64, now);
		dssh_tcp_conn_get_info(c, &info);
		CHECK_EQ_INT(info.rcv_queued, 1000);
		CHECK_EQ_INT(info.ooo_ranges, 1);
		CHECK_EQ_INT(d.held, 3);        /* the duplicate added nothing */
		CHECK_EQ_INT(d.live, 3);
		if (round == 0)
			dssh_tcp_abort(c, now);         /* also what close does with unread data */
		dssh_tcp_stack_free(s);
		s = NULL;
		CHECK_EQ_INT(d.held, 0);
		CHECK_EQ_INT(d.live, 0);
	}
	CHECK_EQ_INT(d.holds, d.releases);
}

/* Without buf_ops a segment's buffer is ignored: the bytes are copied. */
static void test_no_ops_copies(void)
{
	struct dssh_tcp_conf conf;
	struct dssh_tcp_stack *s = NULL;
	struct tb_drv d = { .rnd = 5 };
	struct dssh_tcp_conn *c;
	uint8_t pay[1000], rd[1000];
	uint32_t iss;

	for (size_t k = 0; k < sizeof(pay); k++)
		pay[k] = tb_pat(k);
	dssh_tcp_conf_default(&conf);
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &s), 0);
	c = fd_open(s, &d, &iss, 1000000);
	CHECK(c != NULL);
	CHECK_EQ_INT(fd_feed(s, &d, PISS + 1, iss + 1, DSSH_TCP_ACK, NULL, 0, pay, 1000, 1000000), 0);
	CHECK_EQ_INT(d.live, 0);            /* freed by the driver: the stack copied */
	CHECK_EQ_INT(d.holds, 0);
	CHECK_EQ_INT(dssh_tcp_recv(c, rd, sizeof(rd)), 1000);
	CHECK(memcmp(rd, pay, sizeof(rd)) == 0);
	dssh_tcp_stack_free(s);
	/* bad configurations */
	conf.rcv_mem = conf.rcvbuf - 1;
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &s), DSSH_ERR_INVALID_ARGUMENT);
}

/* Writing into the send buffer in place: contiguous space only, in order. */
static void test_send_in_place(void)
{
	struct dssh_tcp_stack *s = NULL;
	struct tb_drv d = { .rnd = 9 };
	struct dssh_tcp_conn *c;
	uint8_t *p, *q;
	uint32_t iss;
	unsigned n, k;
	size_t got = 0;
	bool same = true;

	stack_new(&s, &d, 65536);
	c = fd_open(s, &d, &iss, 1000000);
	CHECK(c != NULL);
	if (c == NULL)
		goto out;
	p = dssh_tcp_send_buf(c, 0, 1000);
	q = dssh_tcp_send_buf(c, 1000, 500);     /* reserved after the first */
	CHECK(p != NULL && q == p + 1000);
	CHECK(dssh_tcp_send_buf(c, 0, 256 * 1024 + 1) == NULL);   /* more than the room */
	if (p == NULL || q == NULL)
		goto out;
	for (k = 0; k < 1500; k++)
		p[k] = tb_pat(k);
	CHECK_EQ_INT(dssh_tcp_send_commit(c, 1000), 1000);
	CHECK_EQ_INT(dssh_tcp_send_commit(c, 500), 500);
	n = drain(s, caps, 64, 1000000);
	for (k = 0; k < n && k < 64; k++) {
		for (size_t i = 0; i < caps[k].h.plen; i++)
			if (caps[k].h.payload[i] != tb_pat(got + i))
				same = false;
		got += caps[k].h.plen;
	}
	CHECK(same);
	CHECK_EQ_INT(got, 1500);
	/* the tail wraps: not contiguous, NULL (dssh_tcp_send copies instead) */
	CHECK_EQ_INT(fd_feed(s, &d, PISS + 1, iss + 1 + 1500, DSSH_TCP_ACK, NULL, 0, NULL, 0,
	    1000000), 0);
	CHECK(dssh_tcp_send_buf(c, 0, 256 * 1024 - 1000) == NULL);
	CHECK(dssh_tcp_send_buf(c, 0, 256 * 1024 - 1500) != NULL);
 out:
	dssh_tcp_stack_free(s);
	CHECK_EQ_INT(d.live, 0);
}

int main(void)
{
	DSSH_RUN(test_stream_random);
	DSSH_RUN(test_stream_refused);
	DSSH_RUN(test_tiny_segments);
	DSSH_RUN(test_release_on_abort_and_free);
	DSSH_RUN(test_no_ops_copies);
	DSSH_RUN(test_send_in_place);
	DSSH_TEST_END();
}
