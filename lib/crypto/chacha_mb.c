/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Batched chacha20-poly1305@openssh.com (see chacha_mb.h): the portable
 * part. A burst becomes a stream of ChaCha20 block tasks that fill the SIMD
 * lanes of chacha_mb_x86.c (or run one by one here), then a set of Poly1305
 * messages.
 *
 * ChaCha20 state (RFC 8439 2.3, with OpenSSH's original 64-bit counter and
 * 64-bit nonce): words 0..3 the constant, 4..11 the key, 12..13 the block
 * counter (13 stays 0), 14..15 the nonce = the sequence number as a 64-bit
 * big-endian number read as two little-endian words, i.e. 0 and
 * bswap32(seq).
 *
 * Order within a burst. Seal: every packet's length block (K_1 block 0 over
 * pkt[0..4)), Poly1305 key (K_2 block 0) and payload (K_2 from block 1 over
 * pkt[4..len)), then Poly1305 over the whole encrypted packet. Open: the
 * Poly1305 keys, then the tags, compared in constant time, then the length
 * and payload of the packets whose tag was right only: no plaintext of a
 * forged packet is ever produced.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "chacha_mb.h"
#include "chacha_mb_int.h"
#include "dssh_err.h"
#include "dssh_util.h"

struct dssh_chacha_mb {
	unsigned max_ops;
	uint32_t (*keytab)[16];       /* per op: K_2 words, then K_1 words */
	uint8_t (*pkey)[64];          /* per op: K_2 block 0; [0..32) keys Poly1305 */
	uint8_t (*tag)[16];           /* open: computed tags */
	struct cmb_poly *pj;
	struct cmb_task q[CMB_LANES_MAX];
	unsigned nq, lanes;
	enum dssh_chacha_mb_impl impl;   /* for this burst */
	uint8_t sink[64];             /* idle lanes read and write here */
	EVP_MAC_CTX *mac;             /* OpenSSL Poly1305 (see poly_burst) */
};

static const uint8_t zero64[64];

/* --- implementation choice --------------------------------------------- */

static atomic_int cur_impl;           /* 0: not chosen yet */
static atomic_int have_ifma;

static enum dssh_chacha_mb_impl
cpu_best(void)
{
#ifdef CMB_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl"))
		return DSSH_CHACHA_MB_AVX512;
	if (__builtin_cpu_supports("avx2"))
		return DSSH_CHACHA_MB_AVX2;
#endif
	return DSSH_CHACHA_MB_SCALAR;
}

static bool
cpu_ifma(void)
{
#ifdef CMB_X86
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma") &&
	    __builtin_cpu_supports("avx512vl");
#else
	return false;
#endif
}

/* The best the CPU has, capped by DSSH_CHACHA_IMPL. */
static enum dssh_chacha_mb_impl
auto_impl(void)
{
	enum dssh_chacha_mb_impl best = cpu_best(), cap = DSSH_CHACHA_MB_AVX512;
	const char *env = getenv("DSSH_CHACHA_IMPL");

	if (env != NULL) {
		if (strcmp(env, "scalar") == 0)
			cap = DSSH_CHACHA_MB_SCALAR;
		else if (strcmp(env, "avx2") == 0)
			cap = DSSH_CHACHA_MB_AVX2;
	}
	return best < cap ? best : cap;
}

int
dssh_chacha_mb_set_impl(enum dssh_chacha_mb_impl impl)
{
	if (impl == DSSH_CHACHA_MB_AUTO)
		impl = auto_impl();
	if (impl > cpu_best() || impl < DSSH_CHACHA_MB_SCALAR)
		return DSSH_ERR_UNSUPPORTED;
	atomic_store(&have_ifma, impl == DSSH_CHACHA_MB_AVX512 && cpu_ifma());
	atomic_store(&cur_impl, (int)impl);
	return 0;
}

enum dssh_chacha_mb_impl
dssh_chacha_mb_get_impl(void)
{
	int v = atomic_load(&cur_impl);

	if (v == 0) {
		(void)dssh_chacha_mb_set_impl(DSSH_CHACHA_MB_AUTO);
		v = atomic_load(&cur_impl);
	}
	return (enum dssh_chacha_mb_impl)v;
}

const char *
dssh_chacha_mb_impl_name(void)
{
	switch (dssh_chacha_mb_get_impl()) {
	case DSSH_CHACHA_MB_AVX512:
		return atomic_load(&have_ifma) ? "avx512+ifma" : "avx512";
	case DSSH_CHACHA_MB_AVX2:
		return "avx2";
	default:
		return "scalar";
	}
}

/* --- scalar ChaCha20 ---------------------------------------------------- */

static inline uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t
rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static inline void
wr64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t
rotl(uint32_t v, int n)
{
	return v << n | v >> (32 - n);
}

#define QR(a, b, c, d) do { \
	a += b; d = rotl(d ^ a, 16); c += d; b = rotl(b ^ c, 12); \
	a += b; d = rotl(d ^ a, 8); c += d; b = rotl(b ^ c, 7); \
} while (0)

/* key: 8 words; ctr, nonce: words 12 and 15 (13, 14 zero) unless w given. */
static void
chacha_words(const uint32_t key[8], const uint32_t last[4], uint8_t out[64])
{
	uint32_t s[16], x[16];
	int i;

	s[0] = 0x61707865; s[1] = 0x3320646e; s[2] = 0x79622d32; s[3] = 0x6b206574;
	memcpy(s + 4, key, 32);
	memcpy(s + 12, last, 16);
	memcpy(x, s, sizeof(x));
	for (i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]); QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]); QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]); QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]); QR(x[3], x[4], x[9], x[14]);
	}
	for (i = 0; i < 16; i++) {
		uint32_t v = x[i] + s[i];

		out[4 * i] = (uint8_t)v;
		out[4 * i + 1] = (uint8_t)(v >> 8);
		out[4 * i + 2] = (uint8_t)(v >> 16);
		out[4 * i + 3] = (uint8_t)(v >> 24);
	}
	dssh_wipe(x, sizeof(x));
	dssh_wipe(s, sizeof(s));
}

void
dssh_chacha20_block(const uint8_t key[32], const uint32_t w[4], uint8_t out[64])
{
	uint32_t k[8];
	int i;

	for (i = 0; i < 8; i++)
		k[i] = rd32(key + 4 * i);
	chacha_words(k, w, out);
	dssh_wipe(k, sizeof(k));
}

static void
scalar_task(const uint32_t *keytab, const struct cmb_task *t)
{
	uint32_t last[4] = { t->ctr, 0, 0, t->nonce };
	uint8_t ks[64];
	uint32_t i;

	chacha_words(keytab + t->koff, last, ks);
	for (i = 0; i < t->nbytes; i++)
		t->out[i] = t->in[i] ^ ks[i];
	dssh_wipe(ks, sizeof(ks));
}

/* --- scalar Poly1305: radix 2^64, three limbs (h2 holds bits 128..) ------ */

static void
poly_final64(uint64_t h0, uint64_t h1, uint64_t h2, const uint8_t s[16], uint8_t tag[16])
{
	unsigned __int128 t;
	uint64_t g0, g1, g2, mask;

	/* h < 2 * p here; g = h + 5 - 2^130 is h mod p when it is >= 0 */
	t = (unsigned __int128)h0 + 5;
	g0 = (uint64_t)t;
	t = (t >> 64) + h1;
	g1 = (uint64_t)t;
	g2 = h2 + (uint64_t)(t >> 64);
	mask = 0 - (g2 >> 2);            /* all ones when h >= p: constant time */
	h0 = (h0 & ~mask) | (g0 & mask);
	h1 = (h1 & ~mask) | (g1 & mask);
	t = (unsigned __int128)h0 + rd64(s);
	wr64(tag, (uint64_t)t);
	t = (t >> 64) + h1 + rd64(s + 8);
	wr64(tag + 8, (uint64_t)t);
}

void
dssh_cmb_poly_finish44(const uint64_t h44[3], const uint8_t s[16], uint8_t tag[16])
{
	const uint64_t m44 = ((uint64_t)1 << 44) - 1, m42 = ((uint64_t)1 << 42) - 1;
	uint64_t h0 = h44[0], h1 = h44[1], h2 = h44[2], c;

	h1 += h0 >> 44; h0 &= m44;
	h2 += h1 >> 44; h1 &= m44;
	c = h2 >> 42; h2 &= m42;
	h0 += c * 5;
	h1 += h0 >> 44; h0 &= m44;
	h2 += h1 >> 44; h1 &= m44;
	poly_final64(h0 | h1 << 44, h1 >> 20 | h2 << 24, h2 >> 40, s, tag);
}

static void
poly64_blocks(uint64_t h[3], uint64_t r0, uint64_t r1, const uint8_t *m, size_t nb,
    uint64_t hibit)
{
	const uint64_t s1 = r1 + (r1 >> 2);     /* 5 * r1 / 4: r1 % 4 == 0 */
	uint64_t h0 = h[0], h1 = h[1], h2 = h[2], d2, c;
	unsigned __int128 t, d0, d1;

	for (; nb > 0; nb--, m += 16) {
		t = (unsigned __int128)h0 + rd64(m);
		h0 = (uint64_t)t;
		t = (t >> 64) + h1 + rd64(m + 8);
		h1 = (uint64_t)t;
		h2 += (uint64_t)(t >> 64) + hibit;
		/* h * r with 2^130 = 5: h1 * r1 * 2^128 = h1 * s1, h2 * r1 * 2^192 = h2 * s1 * 2^64 */
		d0 = (unsigned __int128)h0 * r0 + (unsigned __int128)h1 * s1;
		d1 = (unsigned __int128)h0 * r1 + (unsigned __int128)h1 * r0 +
		    (unsigned __int128)h2 * s1;
		d2 = h2 * r0;
		h0 = (uint64_t)d0;
		d1 += d0 >> 64;
		h1 = (uint64_t)d1;
		d2 += (uint64_t)(d1 >> 64);
		c = (d2 & ~(uint64_t)3) + (d2 >> 2);   /* (d2 >> 2) * 5 */
		h2 = d2 & 3;
		t = (unsigned __int128)h0 + c;
		h0 = (uint64_t)t;
		t = (t >> 64) + h1;
		h1 = (uint64_t)t;
		h2 += (uint64_t)(t >> 64);
	}
	h[0] = h0; h[1] = h1; h[2] = h2;
}

void
dssh_poly1305(const uint8_t key[32], const uint8_t *m, size_t n, uint8_t tag[16])
{
	uint64_t h[3] = { 0, 0, 0 };
	uint64_t r0 = rd64(key) & 0x0ffffffc0fffffffULL, r1 = rd64(key + 8) & 0x0ffffffc0ffffffcULL;
	uint8_t last[16];
	size_t rem = n % 16;

	poly64_blocks(h, r0, r1, m, n / 16, 1);
	if (rem != 0) {
		memset(last, 0, sizeof(last));
		memcpy(last, m + n - rem, rem);
		last[rem] = 1;
		poly64_blocks(h, r0, r1, last, 1, 0);
		dssh_wipe(last, sizeof(last));
	}
	poly_final64(h[0], h[1], h[2], key + 16, tag);
}

static void
poly_run(const struct cmb_poly *j, unsigned n, bool ifma)
{
	unsigned i;

#ifdef CMB_X86
	if (ifma) {
		dssh_cmb_poly_ifma(j, n);
		return;
	}
#else
	(void)ifma;
#endif
	for (i = 0; i < n; i++)
		dssh_poly1305(j[i].key, j[i].m, j[i].len, j[i].tag);
}

void
dssh_poly1305_multi(const uint8_t *const *keys, const uint8_t *const *msgs,
    const uint32_t *lens, uint8_t *const *tags, unsigned n)
{
	struct cmb_poly j[16];
	unsigned i, k;
	bool ifma;

	(void)dssh_chacha_mb_get_impl();
	ifma = atomic_load(&have_ifma);
	for (i = 0; i < n; i += k) {
		for (k = 0; k < 16 && i + k < n; k++)
			j[k] = (struct cmb_poly){ keys[i + k], msgs[i + k], lens[i + k], tags[i + k] };
		poly_run(j, k, ifma);
	}
}

/* --- burst scheduling --------------------------------------------------- */

int
dssh_chacha_mb_new(unsigned max_ops, struct dssh_chacha_mb **out)
{
	struct dssh_chacha_mb *c;

	*out = NULL;
	if (max_ops == 0)
		max_ops = 32;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return DSSH_ERR_ALLOC;
	c->max_ops = max_ops;
	c->keytab = calloc(max_ops, sizeof(*c->keytab));
	c->pkey = calloc(max_ops, sizeof(*c->pkey));
	c->tag = calloc(max_ops, sizeof(*c->tag));
	c->pj = calloc(max_ops, sizeof(*c->pj));
	if (c->keytab == NULL || c->pkey == NULL || c->tag == NULL || c->pj == NULL) {
		dssh_chacha_mb_free(c);
		return DSSH_ERR_ALLOC;
	}
	{
		EVP_MAC *m = EVP_MAC_fetch(NULL, "POLY1305", NULL);

		if (m != NULL)
			c->mac = EVP_MAC_CTX_new(m);    /* NULL: scalar Poly1305 */
		EVP_MAC_free(m);
		ERR_clear_error();
	}
	*out = c;
	return 0;
}

void
dssh_chacha_mb_free(struct dssh_chacha_mb *c)
{
	if (c == NULL)
		return;
	dssh_freezero(c->keytab, c->max_ops * sizeof(*c->keytab));
	dssh_freezero(c->pkey, c->max_ops * sizeof(*c->pkey));
	dssh_freezero(c->tag, c->max_ops * sizeof(*c->tag));
	free(c->pj);
	EVP_MAC_CTX_free(c->mac);
	dssh_freezero(c, sizeof(*c));
}

/*
 * Without IFMA the SIMD Poly1305 left is OpenSSL's (AVX2, base 2^26, 4
 * blocks at a time), faster than the 64-bit scalar for long messages; short
 * ones stay scalar (an EVP call per message costs more than it saves). The
 * forced scalar implementation stays all ours.
 */
#define CMB_OSSL_POLY_MIN 512

static void
poly_burst(struct dssh_chacha_mb *c, const struct cmb_poly *j, unsigned n, bool ifma)
{
	unsigned i;
	size_t tl;

	if (ifma || c->impl != DSSH_CHACHA_MB_AVX2 || c->mac == NULL) {
		poly_run(j, n, ifma);
		return;
	}
	for (i = 0; i < n; i++) {
		if (j[i].len >= CMB_OSSL_POLY_MIN) {
			if (EVP_MAC_init(c->mac, j[i].key, 32, NULL) == 1 &&
			    EVP_MAC_update(c->mac, j[i].m, j[i].len) == 1 &&
			    EVP_MAC_final(c->mac, j[i].tag, &tl, 16) == 1 && tl == 16)
				continue;
			ERR_clear_error();
		}
		dssh_poly1305(j[i].key, j[i].m, j[i].len, j[i].tag);
	}
}

static void
q_run(struct dssh_chacha_mb *c)
{
	unsigned i;

	for (i = c->nq; i < c->lanes; i++)
		c->q[i] = (struct cmb_task){ 0, 0, 0, 0, c->sink, c->sink };
	switch (c->impl) {
#ifdef CMB_X86
	case DSSH_CHACHA_MB_AVX512:
		dssh_cmb_avx512_tasks(&c->keytab[0][0], c->q);
		break;
	case DSSH_CHACHA_MB_AVX2:
		dssh_cmb_avx2_tasks(&c->keytab[0][0], c->q);
		break;
#endif
	default:
		for (i = 0; i < c->nq; i++)
			scalar_task(&c->keytab[0][0], &c->q[i]);
		break;
	}
	c->nq = 0;
}

static inline void
q_push(struct dssh_chacha_mb *c, uint32_t koff, uint32_t ctr, uint32_t nonce, uint32_t nbytes,
    const uint8_t *in, uint8_t *out)
{
	c->q[c->nq++] = (struct cmb_task){ koff, ctr, nonce, nbytes, in, out };
	if (c->nq == c->lanes)
		q_run(c);
}

static inline uint32_t
nonce_word(uint32_t seq)
{
	return (seq >> 24) | ((seq >> 8) & 0xff00) | ((seq << 8) & 0xff0000) | (seq << 24);
}

/* K_2 from block 1 over pkt[4..len): whole lane-widths of one packet in a
 * broadcast-key pass, the rest as lane tasks mixed with other packets. */
static void
payload(struct dssh_chacha_mb *c, unsigned i, const struct dssh_chacha_mb_op *op)
{
	uint32_t rem = op->len - 4, ctr = 1, nonce = nonce_word(op->seq), w = 64 * c->lanes;
	uint8_t *p = op->pkt + 4;

	for (; c->lanes > 1 && rem >= w; rem -= w, p += w, ctr += c->lanes) {
#ifdef CMB_X86
		if (c->impl == DSSH_CHACHA_MB_AVX512)
			dssh_cmb_avx512_wide(c->keytab[i], ctr, nonce, p, p);
		else
			dssh_cmb_avx2_wide(c->keytab[i], ctr, nonce, p, p);
#endif
	}
	for (; rem > 0; ctr++) {
		uint32_t nb = rem < 64 ? rem : 64;

		q_push(c, 16 * i, ctr, nonce, nb, p, p);
		p += nb;
		rem -= nb;
	}
}

static void
burst_begin(struct dssh_chacha_mb *c, const struct dssh_chacha_mb_op *ops, unsigned n)
{
	unsigned i, w;

	c->impl = dssh_chacha_mb_get_impl();
	c->lanes = c->impl == DSSH_CHACHA_MB_AVX512 ? 16 : c->impl == DSSH_CHACHA_MB_AVX2 ? 8 : 1;
	c->nq = 0;
	for (i = 0; i < n; i++)
		for (w = 0; w < 16; w++)
			c->keytab[i][w] = rd32(ops[i].key + 4 * w);
}

static void
burst_end(struct dssh_chacha_mb *c, unsigned n)
{
	dssh_wipe(c->keytab, n * sizeof(*c->keytab));
	dssh_wipe(c->pkey, n * sizeof(*c->pkey));
	dssh_wipe(c->tag, n * sizeof(*c->tag));
	dssh_wipe(c->sink, sizeof(c->sink));
}

/*
 * Long packets are done one at a time, cipher and MAC back to back while the
 * packet is in cache (two passes over a whole burst of them would stream it
 * through memory twice); their Poly1305 then splits over the IFMA lanes by
 * itself. Short packets share lanes with each other.
 */
#define CMB_LONG 4096

static inline bool
is_long(const struct dssh_chacha_mb_op *op)
{
	return op->len >= CMB_LONG;
}

static void
seal_chunk(struct dssh_chacha_mb *c, struct dssh_chacha_mb_op *ops, unsigned n)
{
	bool ifma = atomic_load(&have_ifma);
	unsigned i, np = 0;

	burst_begin(c, ops, n);
	for (i = 0; i < n; i++) {
		uint32_t nonce = nonce_word(ops[i].seq);

		q_push(c, 16 * i + 8, 0, nonce, 4, ops[i].pkt, ops[i].pkt);
		q_push(c, 16 * i, 0, nonce, 32, zero64, c->pkey[i]);
		if (!is_long(&ops[i]))
			payload(c, i, &ops[i]);
		ops[i].status = 0;
	}
	if (c->nq > 0)
		q_run(c);
	for (i = 0; i < n; i++) {
		struct cmb_poly j = { c->pkey[i], ops[i].pkt, ops[i].len, ops[i].pkt + ops[i].len };

		if (!is_long(&ops[i])) {
			c->pj[np++] = j;
			continue;
		}
		payload(c, i, &ops[i]);
		if (c->nq > 0)
			q_run(c);
		poly_burst(c, &j, 1, ifma);
	}
	poly_burst(c, c->pj, np, ifma);
	burst_end(c, n);
}

static void
open_chunk(struct dssh_chacha_mb *c, struct dssh_chacha_mb_op *ops, unsigned n)
{
	bool ifma = atomic_load(&have_ifma);
	unsigned i, np = 0;

	burst_begin(c, ops, n);
	for (i = 0; i < n; i++)
		q_push(c, 16 * i, 0, nonce_word(ops[i].seq), 32, zero64, c->pkey[i]);
	if (c->nq > 0)
		q_run(c);
	for (i = 0; i < n; i++)
		if (!is_long(&ops[i]))
			c->pj[np++] = (struct cmb_poly){ c->pkey[i], ops[i].pkt, ops[i].len, c->tag[i] };
	poly_burst(c, c->pj, np, ifma);
	for (i = 0; i < n; i++) {
		if (is_long(&ops[i])) {
			struct cmb_poly j = { c->pkey[i], ops[i].pkt, ops[i].len, c->tag[i] };

			poly_burst(c, &j, 1, ifma);
		}
		if (dssh_ct_memcmp(c->tag[i], ops[i].pkt + ops[i].len, 16) != 0) {
			ops[i].status = DSSH_ERR_MAC_INVALID;
			continue;
		}
		ops[i].status = 0;
		q_push(c, 16 * i + 8, 0, nonce_word(ops[i].seq), 4, ops[i].pkt, ops[i].pkt);
		payload(c, i, &ops[i]);
		if (is_long(&ops[i]) && c->nq > 0)
			q_run(c);
	}
	if (c->nq > 0)
		q_run(c);
	burst_end(c, n);
}

void
dssh_chacha_mb_seal(struct dssh_chacha_mb *c, struct dssh_chacha_mb_op *ops, unsigned n)
{
	unsigned k;

	for (; n > 0; n -= k, ops += k) {
		k = n < c->max_ops ? n : c->max_ops;
		seal_chunk(c, ops, k);
	}
}

void
dssh_chacha_mb_open(struct dssh_chacha_mb *c, struct dssh_chacha_mb_op *ops, unsigned n)
{
	unsigned k;

	for (; n > 0; n -= k, ops += k) {
		k = n < c->max_ops ? n : c->max_ops;
		open_chunk(c, ops, k);
	}
}

void
dssh_chacha_mb_length(const uint8_t key[64], uint32_t seq, const uint8_t wire[4],
    uint32_t *packet_length)
{
	uint32_t last[4] = { 0, 0, 0, nonce_word(seq) };
	uint8_t ks[64];

	dssh_chacha20_block(key + 32, last, ks);
	*packet_length = (uint32_t)(wire[0] ^ ks[0]) << 24 | (uint32_t)(wire[1] ^ ks[1]) << 16 |
	    (uint32_t)(wire[2] ^ ks[2]) << 8 | (uint32_t)(wire[3] ^ ks[3]);
	dssh_wipe(ks, sizeof(ks));
}

void
dssh_chacha_mb_length_ks(const uint8_t key[64], uint32_t seq0, unsigned n, uint8_t ks[][4])
{
	enum dssh_chacha_mb_impl impl = dssh_chacha_mb_get_impl();
	struct cmb_task t[CMB_LANES_MAX];
	uint32_t kt[16];
	uint8_t sink[64];
	unsigned i, w, lanes = impl == DSSH_CHACHA_MB_AVX512 ? 16 : impl == DSSH_CHACHA_MB_AVX2 ? 8 : 1;

	if (n > CMB_LANES_MAX)
		n = CMB_LANES_MAX;
	for (w = 0; w < 16; w++)
		kt[w] = rd32(key + 4 * w);
	for (i = 0; i < n; i += lanes) {
		for (w = 0; w < lanes; w++)
			t[w] = i + w < n ?
			    (struct cmb_task){ 8, 0, nonce_word(seq0 + i + w), 4, zero64, ks[i + w] } :
			    (struct cmb_task){ 8, 0, 0, 0, sink, sink };
		switch (impl) {
#ifdef CMB_X86
		case DSSH_CHACHA_MB_AVX512:
			dssh_cmb_avx512_tasks(kt, t);
			break;
		case DSSH_CHACHA_MB_AVX2:
			dssh_cmb_avx2_tasks(kt, t);
			break;
#endif
		default:
			scalar_task(kt, &t[0]);
			break;
		}
	}
	dssh_wipe(kt, sizeof(kt));
}
