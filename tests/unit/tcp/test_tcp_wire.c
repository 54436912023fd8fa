/* SPDX-License-Identifier: BSD-3-Clause */
/* TCP header/option parser, checksum, and malformed segments fed to a stack. */
#include "tcp_test_util.h"
#include "tcp_priv.h"

/* RFC 1071 straight from the definition, as an independent reference. */
static uint16_t ref_csum(uint32_t sa, uint32_t da, const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	sum += sa >> 16; sum += sa & 0xffff; sum += da >> 16; sum += da & 0xffff;
	sum += 6; sum += (uint32_t)n;
	for (i = 0; i + 1 < n; i += 2)
		if (i != 16)
			sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void test_parse_all_options(void)
{
	static const uint8_t opts[] = {
		2, 4, 0x05, 0xb4,                 /* MSS 1460 */
		4, 2,                             /* SACK permitted */
		8, 10, 0, 0, 0, 100, 0, 0, 0, 7,  /* TS 100, 7 */
		1, 3, 3, 9,                       /* NOP, WS 9 */
		1, 1, 5, 10, 0, 0, 0x10, 0, 0, 0, 0x20, 0,   /* SACK 1 block */
		99, 4, 1, 2,                      /* unknown option: skipped */
	};
	uint8_t buf[200];
	struct dssh_tcp_hdr h;
	size_t n = mkseg(buf, 1234, 22, 0x01020304, 0x0a0b0c0d, DSSH_TCP_ACK | DSSH_TCP_PSH,
	    500, opts, sizeof(opts), "hello", 5);

	CHECK_EQ_INT(dssh_tcp_parse(buf, n, &h), 0);
	CHECK_EQ_INT(h.sport, 1234);
	CHECK_EQ_INT(h.dport, 22);
	CHECK_EQ_INT(h.seq, 0x01020304);
	CHECK_EQ_INT(h.ack, 0x0a0b0c0d);
	CHECK_EQ_INT(h.flags, DSSH_TCP_ACK | DSSH_TCP_PSH);
	CHECK_EQ_INT(h.wnd, 500);
	CHECK_EQ_INT(h.doff, 20 + sizeof(opts));
	CHECK(h.has_mss && h.mss == 1460);
	CHECK(h.sack_ok);
	CHECK(h.has_ts && h.tsval == 100 && h.tsecr == 7);
	CHECK(h.has_ws && h.ws == 9);
	CHECK_EQ_INT(h.nsack, 1);
	CHECK_EQ_INT(h.sack[0][0], 0x1000);
	CHECK_EQ_INT(h.sack[0][1], 0x2000);
	CHECK_EQ_INT(h.plen, 5);
	CHECK_MEM(h.payload, "hello", 5);
	CHECK_EQ_INT(h.csum, ref_csum(IP_B, IP_A, buf, n));
}

static void test_parse_eol_stops(void)
{
	static const uint8_t opts[] = { 0, 2, 0 /* would be bad, but after EOL */, 0 };
	uint8_t buf[100];
	struct dssh_tcp_hdr h;
	size_t n = mkseg(buf, 1, 2, 0, 0, DSSH_TCP_SYN, 0, opts, sizeof(opts), NULL, 0);

	CHECK_EQ_INT(dssh_tcp_parse(buf, n, &h), 0);
	CHECK(!h.has_mss);
}

static void test_parse_garbage(void)
{
	static const struct { uint8_t o[8]; size_t n; } bad[] = {
		{ { 2, 0 }, 2 },                /* length 0 */
		{ { 2, 1 }, 2 },                /* length 1 */
		{ { 1, 2, 4, 5 }, 4 },          /* MSS truncated (len 4, 1 byte left) */
		{ { 1, 1, 1, 2 }, 4 },          /* kind at the end, no length byte */
		{ { 8, 12, 0, 0 }, 4 },         /* length overflows the header */
		{ { 2, 3, 5, 0 }, 4 },          /* MSS wrong length */
		{ { 3, 4, 1, 0 }, 4 },          /* WS wrong length */
		{ { 4, 3, 0, 0 }, 4 },          /* SACK-permitted wrong length */
		{ { 8, 8, 0, 0, 0, 0, 0, 0 }, 8 },  /* TS wrong length */
		{ { 5, 6, 0, 0, 0, 0 }, 6 },    /* SACK not a whole block */
		{ { 5, 2, 0, 0 }, 4 },          /* SACK with no block */
		{ { 255, 255, 0, 0 }, 4 },      /* unknown, overflows */
	};
	uint8_t buf[100];
	struct dssh_tcp_hdr h;
	size_t i, n;

	for (i = 0; i < DSSH_ARRAY_SIZE(bad); i++) {
		n = mkseg(buf, 1, 2, 0, 0, DSSH_TCP_SYN, 0, bad[i].o, bad[i].n, NULL, 0);
		CHECK_EQ_INT(dssh_tcp_parse(buf, n, &h), DSSH_ERR_INVALID_FORMAT);
	}
	/* data offset below 5 words, beyond the segment, truncated header */
	n = mkseg(buf, 1, 2, 0, 0, DSSH_TCP_SYN, 0, NULL, 0, NULL, 0);
	buf[12] = 4 << 4;
	CHECK_EQ_INT(dssh_tcp_parse(buf, n, &h), DSSH_ERR_INVALID_FORMAT);
	buf[12] = 6 << 4;
	CHECK_EQ_INT(dssh_tcp_parse(buf, n, &h), DSSH_ERR_INVALID_FORMAT);
	buf[12] = 5 << 4;
	for (i = 0; i < 20; i++)
		CHECK_EQ_INT(dssh_tcp_parse(buf, i, &h), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_tcp_parse(buf, 20, &h), 0);
	/* every truncation of a segment with options must fail or parse cleanly */
	{
		static const uint8_t o[] = { 2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8 };

		n = mkseg(buf, 1, 2, 0, 0, DSSH_TCP_SYN, 0, o, sizeof(o), NULL, 0);
		for (i = 0; i < n; i++)
			CHECK_EQ_INT(dssh_tcp_parse(buf, i, &h), DSSH_ERR_INVALID_FORMAT);
	}
}

static void test_checksum(void)
{
	uint8_t seg[1501];
	const uint8_t *pp[2];
	uint32_t pl[2];
	uint64_t r = 42;
	size_t i;
	uint16_t whole, split;

	for (i = 0; i < sizeof(seg); i++)
		seg[i] = (uint8_t)dssh_test_rand(&r);
	whole = ref_csum(0xc0a80001, 0xc0a80002, seg, sizeof(seg));
	pp[0] = seg + 20; pl[0] = sizeof(seg) - 20;
	CHECK_EQ_INT(dssh_tcp_checksum(0xc0a80001, 0xc0a80002, seg, 20, pp, pl, 1), whole);
	/* odd split points across three pieces */
	pp[0] = seg + 20; pl[0] = 333;
	pp[1] = seg + 353; pl[1] = sizeof(seg) - 353;
	split = dssh_tcp_checksum(0xc0a80001, 0xc0a80002, seg, 20, pp, pl, 2);
	CHECK_EQ_INT(split, whole);
	CHECK_EQ_INT(dssh_tcp_checksum(0xc0a80001, 0xc0a80002, seg, 21, pp, pl, 0) != 0, 1);
	/*
	 * Every split of short segments into header + two pieces, odd and even
	 * lengths, all-0xff bytes (the most carries) and random ones: the
	 * word-at-a-time sum matches the byte-pair definition.
	 */
	for (int fill = 0; fill < 2; fill++) {
		for (size_t n = 20; n <= 80; n++) {
			for (i = 0; i < n; i++)
				seg[i] = fill ? 0xff : (uint8_t)dssh_test_rand(&r);
			whole = ref_csum(0xfffffffe, 0xffff0001, seg, n);
			for (size_t a = 20; a <= n; a++) {
				pp[0] = seg + 20; pl[0] = (uint32_t)(a - 20);
				pp[1] = seg + a; pl[1] = (uint32_t)(n - a);
				CHECK_EQ_INT(dssh_tcp_checksum(0xfffffffe, 0xffff0001, seg, 20, pp, pl, 2),
				    whole);
			}
		}
	}
	/* pseudo-header sum: 10.0.0.1 -> 10.0.0.2, proto 6, len 20 */
	CHECK_EQ_INT(dssh_tcp_pseudo_sum(IP_A, IP_B, 20), 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + 20);
}

static void test_input_garbage_counted(void)
{
	struct dssh_tcp_conf conf;
	struct dssh_tcp_stack *s = NULL;
	struct dssh_tcp_stats st;
	struct cap caps[4];
	uint8_t buf[100];
	size_t n;
	static const uint8_t badopt[] = { 2, 0, 0, 0 };
	struct dssh_tcp_seg_in in;

	dssh_tcp_conf_default(&conf);
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &s), 0);
	CHECK_EQ_INT(dssh_tcp_listen(s, 0, 22), 0);
	/* bad data offset */
	n = mkseg(buf, 40000, 22, 1, 0, DSSH_TCP_SYN, 1000, NULL, 0, NULL, 0);
	buf[12] = 3 << 4;
	CHECK_EQ_INT(feed_raw(s, IP_B, IP_A, buf, n, 0), DSSH_ERR_INVALID_FORMAT);
	buf[12] = 15 << 4;
	CHECK_EQ_INT(feed_raw(s, IP_B, IP_A, buf, n, 0), DSSH_ERR_INVALID_FORMAT);
	/* truncated header */
	CHECK_EQ_INT(feed_raw(s, IP_B, IP_A, buf, 19, 0), DSSH_ERR_INVALID_FORMAT);
	/* option length 0 */
	n = mkseg(buf, 40000, 22, 1, 0, DSSH_TCP_SYN, 1000, badopt, sizeof(badopt), NULL, 0);
	CHECK_EQ_INT(feed_raw(s, IP_B, IP_A, buf, n, 0), DSSH_ERR_INVALID_FORMAT);
	/* option overflowing the header */
	buf[21] = 40;
	CHECK_EQ_INT(feed_raw(s, IP_B, IP_A, buf, n, 0), DSSH_ERR_INVALID_FORMAT);
	/* bad checksum, then the same with the offload flag: accepted */
	n = mkseg(buf, 40000, 22, 1, 0, DSSH_TCP_SYN, 1000, NULL, 0, NULL, 0);
	buf[17] ^= 0x55;
	CHECK_EQ_INT(feed_raw(s, IP_B, IP_A, buf, n, 0), DSSH_ERR_INVALID_FORMAT);
	/* SYN+FIN and SYN+RST are nonsense */
	n = mkseg(buf, 40000, 22, 1, 0, DSSH_TCP_SYN | DSSH_TCP_FIN, 1000, NULL, 0, NULL, 0);
	CHECK_EQ_INT(feed_raw(s, IP_B, IP_A, buf, n, 0), DSSH_ERR_INVALID_FORMAT);
	n = mkseg(buf, 40000, 22, 1, 0, DSSH_TCP_SYN | DSSH_TCP_RST, 1000, NULL, 0, NULL, 0);
	CHECK_EQ_INT(feed_raw(s, IP_B, IP_A, buf, n, 0), DSSH_ERR_INVALID_FORMAT);
	/* NULL data */
	memset(&in, 0, sizeof(in));
	CHECK_EQ_INT(dssh_tcp_input(s, &in, 0), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(drain(s, caps, 4, 0), 0);    /* nothing answered */
	dssh_tcp_get_stats(s, &st);
	CHECK_EQ_INT(st.in_bad_hdr, 6);
	CHECK_EQ_INT(st.in_bad_opt, 2);
	CHECK_EQ_INT(st.in_bad_csum, 1);
	CHECK(dssh_tcp_lookup(s, IP_A, 22, IP_B, 40000) == NULL);
	/* with the checksum marked verified the bad-checksum SYN is processed */
	n = mkseg(buf, 40000, 22, 1, 0, DSSH_TCP_SYN, 1000, NULL, 0, NULL, 0);
	buf[17] ^= 0x55;
	in.saddr = IP_B; in.daddr = IP_A; in.data = buf; in.len = n; in.flags = DSSH_TCP_SEG_CSUM_OK;
	CHECK_EQ_INT(dssh_tcp_input(s, &in, 0), 0);
	CHECK(dssh_tcp_lookup(s, IP_A, 22, IP_B, 40000) != NULL);
	dssh_tcp_stack_free(s);
}

static void test_conf_rejected(void)
{
	struct dssh_tcp_conf conf;
	struct dssh_tcp_stack *s = NULL;

	dssh_tcp_conf_default(&conf);
	conf.ooo_max_ranges = DSSH_TCP_OOO_MAX + 1;
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &s), DSSH_ERR_INVALID_ARGUMENT);
	dssh_tcp_conf_default(&conf);
	conf.rto_max_us = conf.rto_min_us - 1;
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &s), DSSH_ERR_INVALID_ARGUMENT);
	CHECK(s == NULL);
}

/* Mutated segments (checksum bypassed) thrown at live connections: no crash,
 * no sanitizer report, and every reply the stack makes parses cleanly. */
static void test_mutation_fuzz(void)
{
	struct dssh_tcp_conf conf;
	struct dssh_tcp_stack *s = NULL;
	struct dssh_tcp_seg_out o[16];
	struct dssh_tcp_seg_in in;
	struct dssh_tcp_event ev[16];
	struct dssh_tcp_hdr h;
	uint8_t base[200], buf[200];
	uint64_t r = 0x5eed, now = 1000000;
	uint32_t pseq[4] = { 0 }, piss[4] = { 0 }, pdata[4] = { 0 };
	unsigned i, j, n, bad = 0;
	size_t bl, len;
	static const uint8_t opts[] = { 2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7 };

	dssh_tcp_conf_default(&conf);
	conf.max_conns = 64;
	conf.syn_backlog = 8;
	CHECK_EQ_INT(dssh_tcp_stack_new(&conf, &s), 0);
	CHECK_EQ_INT(dssh_tcp_listen(s, 0, 22), 0);
	for (i = 0; i < 20000; i++) {
		uint16_t pi = (uint16_t)(dssh_test_rand(&r) % 4), port = (uint16_t)(40000 + pi);
		uint32_t k = (uint32_t)(dssh_test_rand(&r) % 8), seq, ack;
		uint8_t flags = k == 0 ? DSSH_TCP_SYN : (uint8_t)(DSSH_TCP_ACK |
		    (dssh_test_rand(&r) % 8 == 0 ? DSSH_TCP_FIN : 0) |
		    (dssh_test_rand(&r) % 50 == 0 ? DSSH_TCP_RST : 0));
		bool exact = dssh_test_rand(&r) % 2 == 0;

		if (k == 0)
			pseq[pi] = 1000 + (uint32_t)(dssh_test_rand(&r) % 3000);
		seq = k == 0 ? pseq[pi] : pseq[pi] + 1 + pdata[pi] +
		    (exact ? 0 : (uint32_t)(dssh_test_rand(&r) % 3000));
		ack = piss[pi] + (exact ? 0 : (uint32_t)(dssh_test_rand(&r) % 100));
		bl = mkseg(base, port, 22, seq, ack, flags, 1000, opts,
		    k == 0 ? sizeof(opts) : 0, "payload-bytes-here", dssh_test_rand(&r) % 19);
		if (k != 0 && exact && bl >= 20 && dssh_tcp_parse(base, bl, &h) == 0)
			pdata[pi] += (uint32_t)h.plen;
		memcpy(buf, base, bl);
		len = bl;
		for (j = dssh_test_rand(&r) % 4; j > 0; j--)
			buf[dssh_test_rand(&r) % bl] = (uint8_t)dssh_test_rand(&r);
		if (dssh_test_rand(&r) % 8 == 0)
			len = dssh_test_rand(&r) % (bl + 1);
		memset(&in, 0, sizeof(in));
		in.saddr = IP_B; in.daddr = IP_A; in.data = buf; in.len = len;
		in.flags = DSSH_TCP_SEG_CSUM_OK;
		dssh_tcp_input(s, &in, now);
		now += dssh_test_rand(&r) % 50000;
		dssh_tcp_timers(s, now);
		while ((n = dssh_tcp_output(s, o, 16, now)) > 0) {
			for (j = 0; j < n; j++) {
				if (dssh_tcp_parse(o[j].hdr, o[j].hdr_len, &h) != 0)
					bad++;
				else if ((h.flags & DSSH_TCP_SYN) && h.dport >= 40000 && h.dport < 40004) {
					piss[h.dport - 40000] = h.seq + 1;
					pdata[h.dport - 40000] = 0;
				}
			}
			if (n < 16)
				break;
		}
		while ((n = dssh_tcp_events(s, ev, 16)) > 0)
			for (j = 0; j < n; j++)
				if (ev[j].events & (DSSH_TCP_EV_RESET | DSSH_TCP_EV_CLOSED |
				    DSSH_TCP_EV_PEER_FIN))
					dssh_tcp_close(ev[j].conn, now);
	}
	CHECK_EQ_INT(bad, 0);
	{
		struct dssh_tcp_stats st;

		dssh_tcp_get_stats(s, &st);
		fprintf(stderr, "  fuzz: opened %llu reset %llu bad hdr/opt %llu/%llu chack %llu "
		    "rst_sent %llu ooo %llu cookies %llu\n",
		    (unsigned long long)st.conns_opened, (unsigned long long)st.conns_reset,
		    (unsigned long long)st.in_bad_hdr, (unsigned long long)st.in_bad_opt,
		    (unsigned long long)st.challenge_acks, (unsigned long long)st.rst_sent,
		    (unsigned long long)st.ooo_segs, (unsigned long long)st.syn_cookies_sent);
		CHECK(st.conns_opened >= 4);   /* deterministic seed */
	}
	dssh_tcp_stack_free(s);
}

static void test_ring(void)
{
	struct tcp_ring r;
	const uint8_t *p[2];
	uint32_t l[2];
	uint8_t out[16];

	CHECK_EQ_INT(tcp_ring_init(&r, 0), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(tcp_ring_init(&r, 8), 0);
	CHECK_EQ_INT(tcp_ring_append(&r, "abcdef", 6), 6);
	CHECK_EQ_INT(tcp_ring_append(&r, "ghijk", 5), 2);     /* bounded */
	CHECK_EQ_INT(tcp_ring_room(&r), 0);
	tcp_ring_consume(&r, 5);
	CHECK_EQ_INT(tcp_ring_append(&r, "KLMN", 4), 4);      /* wraps */
	CHECK_EQ_INT(tcp_ring_ref(&r, 0, 7, p, l), 2);
	CHECK_EQ_INT(l[0], 3);
	CHECK_EQ_INT(l[1], 4);
	memcpy(out, p[0], l[0]);
	memcpy(out + l[0], p[1], l[1]);
	CHECK_MEM(out, "fghKLMN", 7);
	CHECK_EQ_INT(tcp_ring_ref(&r, 1, 2, p, l), 1);
	CHECK_MEM(p[0], "gh", 2);
	/* out-of-range references and writes are refused */
	CHECK_EQ_INT(tcp_ring_ref(&r, 7, 1, p, l), 0);
	CHECK_EQ_INT(tcp_ring_ref(&r, 2, 6, p, l), 0);
	tcp_ring_consume(&r, 7);
	tcp_ring_write_at(&r, 6, (const uint8_t *)"xyz", 3);  /* would pass the end */
	tcp_ring_write_at(&r, 2, (const uint8_t *)"xy", 2);   /* past the tail: ok */
	tcp_ring_commit(&r, 4);
	CHECK_EQ_INT(tcp_ring_ref(&r, 2, 2, p, l), 1);
	CHECK_MEM(p[0], "xy", 2);
	tcp_ring_consume(&r, 100);
	CHECK_EQ_INT(r.len, 0);
	tcp_ring_free(&r);
}

/*
 * The vector sums (64 bytes a step where the CPU has AVX2, 8 otherwise)
 * against the byte-pair definition: random lengths up to a jumbo frame's,
 * every start alignment within a cache line, split into a header and up to
 * three pieces at random (odd and even) points, random and all-0xff bytes.
 */
static void test_checksum_long(void)
{
	static uint8_t buf[9100 + 64];
	uint64_t r = 7;

	for (int iter = 0; iter < 4000; iter++) {
		size_t n = 20 + (size_t)(dssh_test_rand(&r) % 9000), al = (size_t)(dssh_test_rand(&r) % 64);
		uint8_t *seg = buf + al;
		const uint8_t *pp[3];
		uint32_t pl[3], left = (uint32_t)n - 20;
		unsigned np = 1 + (unsigned)(dssh_test_rand(&r) % 3), k;
		bool ones = iter % 7 == 0;

		for (size_t i = 0; i < n; i++)
			seg[i] = ones ? 0xff : (uint8_t)dssh_test_rand(&r);
		pp[0] = seg + 20;
		for (k = 0; k + 1 < np; k++) {
			pl[k] = left == 0 ? 0 : (uint32_t)(dssh_test_rand(&r) % (left + 1));
			left -= pl[k];
			pp[k + 1] = pp[k] + pl[k];
		}
		pl[k] = left;
		CHECK_EQ_INT(dssh_tcp_checksum(0xc6120001, 0xc6120002, seg, 20, pp, pl, np),
		    ref_csum(0xc6120001, 0xc6120002, seg, n));
	}
}

int main(void)
{
	DSSH_RUN(test_parse_all_options);
	DSSH_RUN(test_parse_eol_stops);
	DSSH_RUN(test_parse_garbage);
	DSSH_RUN(test_checksum);
	DSSH_RUN(test_checksum_long);
	DSSH_RUN(test_ring);
	DSSH_RUN(test_input_garbage_counted);
	DSSH_RUN(test_conf_rejected);
	DSSH_RUN(test_mutation_fuzz);
	DSSH_TEST_END();
}
