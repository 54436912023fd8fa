/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Batched chacha20-poly1305@openssh.com (lib/crypto/chacha_mb.c) against
 * RFC 8439's test vectors and, byte for byte, against the OpenSSL-based
 * chachapoly.c the openssl engine uses: random bursts (packet lengths 4 ..
 * 64 KiB + 4, several keys, arbitrary sequence numbers), once per
 * implementation the CPU has (scalar, avx2, avx512). Tampering with any byte
 * of one packet of a burst refuses that packet only and leaves it as it was.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "chacha_mb.h"
#include "dssh_buf.h"
#include "chachapoly.h"
#include "dssh_err.h"
#include "dssh_test.h"

static uint64_t rng = 0x0123456789abcdefULL;

static void
fill_random(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(dssh_test_rand(&rng) >> 32);
}

static const enum dssh_chacha_mb_impl impls[] = {
	DSSH_CHACHA_MB_SCALAR, DSSH_CHACHA_MB_AVX2, DSSH_CHACHA_MB_AVX512,
};

static void
test_rfc_chacha(void)
{
	/* RFC 8439 2.3.2: key 00..1f, nonce 000000090000004a00000000, counter 1 */
	static const uint8_t want232[16] = { 0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15,
	    0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20, 0x71, 0xc4 };
	/* RFC 8439 A.1 test vector 1: zero key, zero nonce, counter 0 */
	static const uint8_t want_a1[16] = { 0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90,
	    0x40, 0x5d, 0x6a, 0xe5, 0x53, 0x86, 0xbd, 0x28 };
	uint32_t w[4] = { 1, 0x09000000, 0x4a000000, 0 };
	uint8_t key[32], out[64];
	int i;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	dssh_chacha20_block(key, w, out);
	CHECK_MEM(out, want232, 16);
	memset(key, 0, sizeof(key));
	memset(w, 0, sizeof(w));
	dssh_chacha20_block(key, w, out);
	CHECK_MEM(out, want_a1, 16);
}

/* RFC 8439 2.5.2, through every implementation, single and in a set. */
static void
test_rfc_poly(void)
{
	static const uint8_t key[32] = { 0x85, 0xd6, 0xbe, 0x78, 0x57, 0x55, 0x6d, 0x33, 0x7f,
	    0x44, 0x52, 0xfe, 0x42, 0xd5, 0x06, 0xa8, 0x01, 0x03, 0x80, 0x8a, 0xfb, 0x0d, 0xb2,
	    0xfd, 0x4a, 0xbf, 0xf6, 0xaf, 0x41, 0x49, 0xf5, 0x1b };
	static const uint8_t want[16] = { 0xa8, 0x06, 0x1d, 0xc1, 0x30, 0x51, 0x36, 0xc6, 0xc2,
	    0x2b, 0x8b, 0xaf, 0x0c, 0x01, 0x27, 0xa9 };
	static const char msg[] = "Cryptographic Forum Research Group";
	const uint8_t *keys[11], *msgs[11];
	uint8_t tags[11][16], *tp[11];
	uint32_t lens[11];
	unsigned i, m;

	dssh_poly1305(key, (const uint8_t *)msg, 34, tags[0]);
	CHECK_MEM(tags[0], want, 16);
	for (m = 0; m < 3; m++) {
		if (dssh_chacha_mb_set_impl(impls[m]) != 0)
			continue;
		for (i = 0; i < 11; i++) {
			keys[i] = key;
			msgs[i] = (const uint8_t *)msg;
			lens[i] = 34;
			tp[i] = tags[i];
		}
		memset(tags, 0, sizeof(tags));
		dssh_poly1305_multi(keys, msgs, lens, tp, 11);
		for (i = 0; i < 11; i++)
			CHECK_MEM(tags[i], want, 16);
	}
	CHECK_EQ_INT(dssh_chacha_mb_set_impl(DSSH_CHACHA_MB_AUTO), 0);
}

static void
ossl_poly(const uint8_t *key, const uint8_t *m, size_t n, uint8_t tag[16])
{
	size_t tl = 0;

	CHECK(EVP_Q_mac(NULL, "POLY1305", NULL, NULL, NULL, key, 32, m, n, tag, 16, &tl) != NULL);
	CHECK_EQ_INT(tl, 16);
}

/* Random key/length sets (some keys with all-ones r and s, lengths around
 * block edges) against OpenSSL's Poly1305. */
static void
test_poly_cross(void)
{
	enum { N = 37, MAXL = 5000 };
	static uint8_t msg[N][MAXL], key[N][32], tags[N][16], want[16];
	const uint8_t *kp[N], *mp[N];
	uint8_t *tp[N];
	uint32_t lens[N];
	unsigned m, i, round;

	for (m = 0; m < 3; m++) {
		if (dssh_chacha_mb_set_impl(impls[m]) != 0)
			continue;
		for (round = 0; round < 40; round++) {
			/* sets of 1..3 take another path (long messages split
			 * over the lanes) than larger ones */
			unsigned cnt = round % 2 ? N : 1 + round % 3;

			for (i = 0; i < cnt; i++) {
				fill_random(key[i], 32);
				if (i % 9 == 0)
					memset(key[i], 0xff, 32);
				lens[i] = (uint32_t)(dssh_test_rand(&rng) % (i % 3 == 0 || cnt < N ? MAXL : 80));
				fill_random(msg[i], lens[i]);
				if (i % 7 == 0)
					memset(msg[i], 0xff, lens[i]);
				kp[i] = key[i];
				mp[i] = msg[i];
				tp[i] = tags[i];
			}
			dssh_poly1305_multi(kp, mp, lens, tp, cnt);
			for (i = 0; i < cnt; i++) {
				ossl_poly(key[i], msg[i], lens[i], want);
				CHECK_MEM(tags[i], want, 16);
			}
		}
	}
	CHECK_EQ_INT(dssh_chacha_mb_set_impl(DSSH_CHACHA_MB_AUTO), 0);
}

enum { MAXN = 40, NKEYS = 5, MAXLEN = 65536 + 4 };

struct burst {
	unsigned n;
	uint8_t keys[NKEYS][64];
	struct dssh_chachapoly *ref[NKEYS];
	uint8_t *pkt[MAXN], *exp[MAXN], *plain[MAXN];
	uint32_t len[MAXN], seq[MAXN];
	unsigned key[MAXN];
	struct dssh_chacha_mb_op ops[MAXN];
};

static uint32_t
rand_len(void)
{
	uint64_t v = dssh_test_rand(&rng);

	switch (v % 4) {
	case 0: return 4 + (uint32_t)(v >> 8) % 64;
	case 1: return 4 + (uint32_t)(v >> 8) % 1200;
	case 2: return 4 + 8 * ((uint32_t)(v >> 8) % 4096);      /* SSH shapes */
	default: return 4 + (uint32_t)(v >> 8) % 65537;
	}
}

static void
burst_make(struct burst *b, unsigned n)
{
	unsigned i;

	b->n = n;
	for (i = 0; i < NKEYS; i++) {
		fill_random(b->keys[i], 64);
		CHECK_EQ_INT(dssh_chachapoly_new(b->keys[i], &b->ref[i]), 0);
	}
	for (i = 0; i < n; i++) {
		b->len[i] = rand_len();
		b->seq[i] = (uint32_t)dssh_test_rand(&rng);
		if (i % 5 == 1)
			b->seq[i] = i % 2 ? 0xffffffffu : 0;
		b->key[i] = (unsigned)(dssh_test_rand(&rng) % NKEYS);
		b->pkt[i] = malloc(b->len[i] + 16);
		b->exp[i] = malloc(b->len[i] + 16);
		b->plain[i] = malloc(b->len[i]);
		fill_random(b->plain[i], b->len[i]);
		memcpy(b->pkt[i], b->plain[i], b->len[i]);
		memcpy(b->exp[i], b->plain[i], b->len[i]);
		CHECK_EQ_INT(dssh_chachapoly_seal(b->ref[b->key[i]], b->seq[i], b->exp[i], b->len[i]), 0);
		b->ops[i] = (struct dssh_chacha_mb_op){ b->keys[b->key[i]], b->pkt[i], b->len[i],
		    b->seq[i], -1 };
	}
}

static void
burst_free(struct burst *b)
{
	unsigned i;

	for (i = 0; i < b->n; i++) {
		free(b->pkt[i]);
		free(b->exp[i]);
		free(b->plain[i]);
	}
	for (i = 0; i < NKEYS; i++)
		dssh_chachapoly_free(b->ref[i]);
}

static void
test_burst_cross(void)
{
	struct dssh_chacha_mb *c;
	static struct burst b;
	unsigned m, round, i, n;
	uint32_t pl;

	/* max 16: bursts of up to 40 are chunked too */
	CHECK_EQ_INT(dssh_chacha_mb_new(16, &c), 0);
	for (m = 0; m < 3; m++) {
		if (dssh_chacha_mb_set_impl(impls[m]) != 0) {
			fprintf(stderr, "  (impl %u not on this CPU)\n", m);
			continue;
		}
		fprintf(stderr, "  impl %s\n", dssh_chacha_mb_impl_name());
		for (round = 0; round < 12; round++) {
			n = 1 + (unsigned)(dssh_test_rand(&rng) % MAXN);
			burst_make(&b, n);
			dssh_chacha_mb_seal(c, b.ops, n);
			for (i = 0; i < n; i++) {
				CHECK_EQ_INT(b.ops[i].status, 0);
				CHECK_MEM(b.pkt[i], b.exp[i], b.len[i] + 16);
				dssh_chacha_mb_length(b.keys[b.key[i]], b.seq[i], b.pkt[i], &pl);
				CHECK_EQ_INT(pl, dssh_get_u32be(b.plain[i]));
			}
			dssh_chacha_mb_open(c, b.ops, n);
			for (i = 0; i < n; i++) {
				CHECK_EQ_INT(b.ops[i].status, 0);
				CHECK_MEM(b.pkt[i], b.plain[i], b.len[i]);
			}
			burst_free(&b);
		}
	}
	dssh_chacha_mb_free(c);
	CHECK_EQ_INT(dssh_chacha_mb_set_impl(DSSH_CHACHA_MB_AUTO), 0);
}

/* One flipped bit anywhere in one packet: only that one is refused, and it
 * is left as it came (no plaintext of it released). */
static void
test_tamper(void)
{
	struct dssh_chacha_mb *c;
	static struct burst b;
	unsigned m, round, i, n, victim;
	uint32_t at;

	CHECK_EQ_INT(dssh_chacha_mb_new(32, &c), 0);
	for (m = 0; m < 3; m++) {
		if (dssh_chacha_mb_set_impl(impls[m]) != 0)
			continue;
		for (round = 0; round < 16; round++) {
			n = 1 + (unsigned)(dssh_test_rand(&rng) % 20);
			burst_make(&b, n);
			for (i = 0; i < n; i++)
				memcpy(b.pkt[i], b.exp[i], b.len[i] + 16);
			victim = (unsigned)(dssh_test_rand(&rng) % n);
			switch (round % 4) {
			case 0: at = 0; break;                              /* length */
			case 1: at = b.len[victim] + 15; break;             /* tag */
			case 2: at = b.len[victim]; break;
			default: at = (uint32_t)(dssh_test_rand(&rng) % (b.len[victim] + 16)); break;
			}
			b.pkt[victim][at] ^= (uint8_t)(1u << (round % 8));
			memcpy(b.exp[victim], b.pkt[victim], b.len[victim] + 16);
			dssh_chacha_mb_open(c, b.ops, n);
			for (i = 0; i < n; i++) {
				if (i == victim) {
					CHECK_EQ_INT(b.ops[i].status, DSSH_ERR_MAC_INVALID);
					CHECK_MEM(b.pkt[i], b.exp[i], b.len[i] + 16);
				} else {
					CHECK_EQ_INT(b.ops[i].status, 0);
					CHECK_MEM(b.pkt[i], b.plain[i], b.len[i]);
				}
			}
			burst_free(&b);
		}
	}
	dssh_chacha_mb_free(c);
	CHECK_EQ_INT(dssh_chacha_mb_set_impl(DSSH_CHACHA_MB_AUTO), 0);
}

/* Length keystream of up to 16 packets at once = one at a time, across
 * the 2^32 wrap of the sequence number. */
static void
test_length_ks(void)
{
	static const uint32_t seq0s[] = { 0, 7, 0xfffffff8u, 0xffffffffu };
	uint8_t key[64], ks[16][4], wire[4] = { 0, 0, 0, 0 };
	uint32_t want, got;
	unsigned m, s, n, i;

	fill_random(key, sizeof(key));
	for (m = 0; m < 3; m++) {
		if (dssh_chacha_mb_set_impl(impls[m]) != 0)
			continue;
		for (s = 0; s < sizeof(seq0s) / sizeof(seq0s[0]); s++)
			for (n = 1; n <= 16; n += 5) {
				memset(ks, 0xa5, sizeof(ks));
				dssh_chacha_mb_length_ks(key, seq0s[s], n, ks);
				for (i = 0; i < 16; i++) {
					if (i >= n) {
						CHECK_EQ_INT(ks[i][0], 0xa5);   /* untouched */
						continue;
					}
					dssh_chacha_mb_length(key, seq0s[s] + i, wire, &want);
					got = dssh_get_u32be(ks[i]);
					CHECK_EQ_INT(got, want);
				}
			}
	}
	CHECK_EQ_INT(dssh_chacha_mb_set_impl(DSSH_CHACHA_MB_AUTO), 0);
}

static void
test_impl_select(void)
{
	CHECK_EQ_INT(dssh_chacha_mb_set_impl(DSSH_CHACHA_MB_SCALAR), 0);
	CHECK_STR(dssh_chacha_mb_impl_name(), "scalar");
	CHECK_EQ_INT(dssh_chacha_mb_get_impl(), DSSH_CHACHA_MB_SCALAR);
	CHECK_EQ_INT(dssh_chacha_mb_set_impl((enum dssh_chacha_mb_impl)99), DSSH_ERR_UNSUPPORTED);
	CHECK_EQ_INT(dssh_chacha_mb_set_impl(DSSH_CHACHA_MB_AUTO), 0);
	fprintf(stderr, "  auto: %s\n", dssh_chacha_mb_impl_name());
}

int
main(void)
{
	DSSH_RUN(test_rfc_chacha);
	DSSH_RUN(test_rfc_poly);
	DSSH_RUN(test_poly_cross);
	DSSH_RUN(test_burst_cross);
	DSSH_RUN(test_tamper);
	DSSH_RUN(test_length_ks);
	DSSH_RUN(test_impl_select);
	DSSH_TEST_END();
}
