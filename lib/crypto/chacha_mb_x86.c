/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SIMD kernels of chacha_mb.c, x86-64 only. Each function carries its own
 * target attribute, so the rest of the build stays generic; chacha_mb.c
 * calls them only when __builtin_cpu_supports says the CPU has the ISA.
 *
 * ChaCha20 is computed "vertically": vector register j holds state word j
 * of every lane (block), so a quarter round is 12 vector operations over
 * all lanes; the keystream is then transposed back to one 64-byte block per
 * lane and XORed into that lane's bytes.
 *
 * Poly1305 runs 16 messages in the 64-bit lanes of two zmm registers
 * (two independent dependency chains), radix 2^44 (limbs 44, 44, 42 bits)
 * with the 52-bit multiply-accumulate of AVX-512 IFMA; a lane whose message
 * is done is refilled with the next one. A burst of few messages splits
 * each long one over all lanes instead (powers of r).
 */
#include "chacha_mb_int.h"

#ifdef CMB_X86
#include <immintrin.h>
#include <string.h>

#include "dssh_util.h"

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define T256 __attribute__((target("avx2")))
#define TIFMA __attribute__((target("avx512f,avx512vl,avx512ifma")))

static const uint32_t sigma[4] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 };

/* --- AVX-512: 16 lanes ------------------------------------------------- */

#define ADD16(a, b) _mm512_add_epi32(a, b)
#define QR16(a, b, c, d) do { \
	a = ADD16(a, b); d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 16); \
	c = ADD16(c, d); b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 12); \
	a = ADD16(a, b); d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 8); \
	c = ADD16(c, d); b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 7); \
} while (0)

/* 20 rounds plus the feed-forward, in place. */
static inline T512 void
core16(__m512i x[16])
{
	__m512i s[16];
	int i;

	for (i = 0; i < 16; i++)
		s[i] = x[i];
	for (i = 0; i < 10; i++) {
		QR16(x[0], x[4], x[8], x[12]); QR16(x[1], x[5], x[9], x[13]);
		QR16(x[2], x[6], x[10], x[14]); QR16(x[3], x[7], x[11], x[15]);
		QR16(x[0], x[5], x[10], x[15]); QR16(x[1], x[6], x[11], x[12]);
		QR16(x[2], x[7], x[8], x[13]); QR16(x[3], x[4], x[9], x[14]);
	}
	for (i = 0; i < 16; i++)
		x[i] = ADD16(x[i], s[i]);
}

/*
 * x[word] (one dword per lane) -> b[lane] (16 words of one block). After the
 * 32- and 64-bit unpacks, u[4q + j] holds words 4q..4q+3 of lanes j, j + 4,
 * j + 8, j + 12 in its four 128-bit chunks; two rounds of 128-bit shuffles
 * gather each lane's four chunks.
 */
static inline T512 void
transpose16(const __m512i x[16], __m512i b[16])
{
	__m512i t[16], u[16];
	int q, j;

	for (q = 0; q < 4; q++) {
		__m512i a0 = x[4 * q], a1 = x[4 * q + 1], a2 = x[4 * q + 2], a3 = x[4 * q + 3];

		t[4 * q] = _mm512_unpacklo_epi32(a0, a1);
		t[4 * q + 1] = _mm512_unpackhi_epi32(a0, a1);
		t[4 * q + 2] = _mm512_unpacklo_epi32(a2, a3);
		t[4 * q + 3] = _mm512_unpackhi_epi32(a2, a3);
		u[4 * q] = _mm512_unpacklo_epi64(t[4 * q], t[4 * q + 2]);
		u[4 * q + 1] = _mm512_unpackhi_epi64(t[4 * q], t[4 * q + 2]);
		u[4 * q + 2] = _mm512_unpacklo_epi64(t[4 * q + 1], t[4 * q + 3]);
		u[4 * q + 3] = _mm512_unpackhi_epi64(t[4 * q + 1], t[4 * q + 3]);
	}
	for (j = 0; j < 4; j++) {
		__m512i v0 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x88);
		__m512i v1 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xdd);
		__m512i w0 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x88);
		__m512i w1 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xdd);

		b[j] = _mm512_shuffle_i32x4(v0, w0, 0x88);
		b[j + 8] = _mm512_shuffle_i32x4(v0, w0, 0xdd);
		b[j + 4] = _mm512_shuffle_i32x4(v1, w1, 0x88);
		b[j + 12] = _mm512_shuffle_i32x4(v1, w1, 0xdd);
	}
}

static inline T512 void
xor_out16(__m512i ks, const uint8_t *in, uint8_t *out, uint32_t n)
{
	if (n == 64) {
		_mm512_storeu_si512(out, _mm512_xor_si512(ks, _mm512_loadu_si512(in)));
	} else if (n != 0) {
		__mmask64 m = ((uint64_t)1 << n) - 1;

		_mm512_mask_storeu_epi8(out, m, _mm512_xor_si512(ks, _mm512_maskz_loadu_epi8(m, in)));
	}
}

/*
 * The 8 key words of 16 lanes, word-major: row l of an 8 x 8 transpose holds
 * lane l's key in its low 256 bits and lane l + 8's in its high 256 bits;
 * each 256-bit half is transposed on its own (plain loads and shuffles:
 * gathers are slow here).
 */
static inline T512 void
keys16(const uint32_t *keytab, const uint32_t ko[16], __m512i out[8])
{
	const __m512i i0 = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
	const __m512i i1 = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
	__m512i z[8], t[8], u[8];
	int l, q, j;

	for (l = 0; l < 8; l++)
		z[l] = _mm512_inserti64x4(_mm512_castsi256_si512(
		    _mm256_loadu_si256((const __m256i *)(keytab + ko[l]))),
		    _mm256_loadu_si256((const __m256i *)(keytab + ko[l + 8])), 1);
	for (q = 0; q < 2; q++) {
		t[4 * q] = _mm512_unpacklo_epi32(z[4 * q], z[4 * q + 1]);
		t[4 * q + 1] = _mm512_unpackhi_epi32(z[4 * q], z[4 * q + 1]);
		t[4 * q + 2] = _mm512_unpacklo_epi32(z[4 * q + 2], z[4 * q + 3]);
		t[4 * q + 3] = _mm512_unpackhi_epi32(z[4 * q + 2], z[4 * q + 3]);
		u[4 * q] = _mm512_unpacklo_epi64(t[4 * q], t[4 * q + 2]);
		u[4 * q + 1] = _mm512_unpackhi_epi64(t[4 * q], t[4 * q + 2]);
		u[4 * q + 2] = _mm512_unpacklo_epi64(t[4 * q + 1], t[4 * q + 3]);
		u[4 * q + 3] = _mm512_unpackhi_epi64(t[4 * q + 1], t[4 * q + 3]);
	}
	/* u[j] (rows 0-3) and u[4 + j] (rows 4-7): word j in 128-bit chunks
	 * 0 and 2, word 4 + j in chunks 1 and 3 */
	for (j = 0; j < 4; j++) {
		out[j] = _mm512_permutex2var_epi64(u[j], i0, u[4 + j]);
		out[4 + j] = _mm512_permutex2var_epi64(u[j], i1, u[4 + j]);
	}
}

T512 void
dssh_cmb_avx512_tasks(const uint32_t *keytab, const struct cmb_task t[16])
{
	uint32_t ko[16], ct[16], nc[16];
	__m512i x[16], b[16];
	int i;

	for (i = 0; i < 16; i++) {
		ko[i] = t[i].koff;
		ct[i] = t[i].ctr;
		nc[i] = t[i].nonce;
	}
	for (i = 0; i < 4; i++)
		x[i] = _mm512_set1_epi32((int)sigma[i]);
	keys16(keytab, ko, x + 4);
	x[12] = _mm512_loadu_si512(ct);
	x[13] = _mm512_setzero_si512();
	x[14] = _mm512_setzero_si512();
	x[15] = _mm512_loadu_si512(nc);
	core16(x);
	transpose16(x, b);
	for (i = 0; i < 16; i++)
		xor_out16(b[i], t[i].in, t[i].out, t[i].nbytes);
}

T512 void
dssh_cmb_avx512_wide(const uint32_t key[8], uint32_t ctr, uint32_t nonce, const uint8_t *in,
    uint8_t *out)
{
	__m512i x[16], b[16];
	int i;

	for (i = 0; i < 4; i++)
		x[i] = _mm512_set1_epi32((int)sigma[i]);
	for (i = 0; i < 8; i++)
		x[4 + i] = _mm512_set1_epi32((int)key[i]);
	x[12] = _mm512_add_epi32(_mm512_set1_epi32((int)ctr),
	    _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
	x[13] = _mm512_setzero_si512();
	x[14] = _mm512_setzero_si512();
	x[15] = _mm512_set1_epi32((int)nonce);
	core16(x);
	transpose16(x, b);
	for (i = 0; i < 16; i++)
		_mm512_storeu_si512(out + 64 * i,
		    _mm512_xor_si512(b[i], _mm512_loadu_si512(in + 64 * i)));
}

/* --- AVX2: 8 lanes ----------------------------------------------------- */

#define ADD8(a, b) _mm256_add_epi32(a, b)
#define ROL8(v, n) _mm256_or_si256(_mm256_slli_epi32(v, n), _mm256_srli_epi32(v, 32 - (n)))
#define QR8(a, b, c, d) do { \
	a = ADD8(a, b); d = _mm256_shuffle_epi8(_mm256_xor_si256(d, a), r16); \
	c = ADD8(c, d); b = ROL8(_mm256_xor_si256(b, c), 12); \
	a = ADD8(a, b); d = _mm256_shuffle_epi8(_mm256_xor_si256(d, a), r8); \
	c = ADD8(c, d); b = ROL8(_mm256_xor_si256(b, c), 7); \
} while (0)

static inline T256 void
core8(__m256i x[16])
{
	const __m256i r16 = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
	    2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
	const __m256i r8 = _mm256_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14,
	    3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
	__m256i s[16];
	int i;

	for (i = 0; i < 16; i++)
		s[i] = x[i];
	for (i = 0; i < 10; i++) {
		QR8(x[0], x[4], x[8], x[12]); QR8(x[1], x[5], x[9], x[13]);
		QR8(x[2], x[6], x[10], x[14]); QR8(x[3], x[7], x[11], x[15]);
		QR8(x[0], x[5], x[10], x[15]); QR8(x[1], x[6], x[11], x[12]);
		QR8(x[2], x[7], x[8], x[13]); QR8(x[3], x[4], x[9], x[14]);
	}
	for (i = 0; i < 16; i++)
		x[i] = ADD8(x[i], s[i]);
}

/* Words 8h..8h+7 of every lane: b[2 * lane + h] (32 bytes each). */
static inline T256 void
transpose8(const __m256i *x, __m256i *b, int h)
{
	__m256i t[8], u[8];
	int q, j;

	for (q = 0; q < 2; q++) {
		__m256i a0 = x[4 * q], a1 = x[4 * q + 1], a2 = x[4 * q + 2], a3 = x[4 * q + 3];

		t[4 * q] = _mm256_unpacklo_epi32(a0, a1);
		t[4 * q + 1] = _mm256_unpackhi_epi32(a0, a1);
		t[4 * q + 2] = _mm256_unpacklo_epi32(a2, a3);
		t[4 * q + 3] = _mm256_unpackhi_epi32(a2, a3);
		u[4 * q] = _mm256_unpacklo_epi64(t[4 * q], t[4 * q + 2]);
		u[4 * q + 1] = _mm256_unpackhi_epi64(t[4 * q], t[4 * q + 2]);
		u[4 * q + 2] = _mm256_unpacklo_epi64(t[4 * q + 1], t[4 * q + 3]);
		u[4 * q + 3] = _mm256_unpackhi_epi64(t[4 * q + 1], t[4 * q + 3]);
	}
	/* u[j] has words 0..3 of lanes j (low half) and j + 4 (high half) */
	for (j = 0; j < 4; j++) {
		b[2 * j + h] = _mm256_permute2x128_si256(u[j], u[4 + j], 0x20);
		b[2 * (j + 4) + h] = _mm256_permute2x128_si256(u[j], u[4 + j], 0x31);
	}
}

static inline T256 void
xor_out8(const __m256i *b, const uint8_t *in, uint8_t *out, uint32_t n)
{
	uint8_t ks[64];
	uint32_t i;

	if (n == 64) {
		_mm256_storeu_si256((__m256i *)out,
		    _mm256_xor_si256(b[0], _mm256_loadu_si256((const __m256i *)in)));
		_mm256_storeu_si256((__m256i *)(out + 32),
		    _mm256_xor_si256(b[1], _mm256_loadu_si256((const __m256i *)(in + 32))));
		return;
	}
	if (n == 0)
		return;
	_mm256_storeu_si256((__m256i *)ks, b[0]);
	_mm256_storeu_si256((__m256i *)(ks + 32), b[1]);
	for (i = 0; i < n; i++)
		out[i] = in[i] ^ ks[i];
	dssh_wipe(ks, sizeof(ks));
}

static inline T256 void
finish8(__m256i x[16], const uint8_t *const in[8], uint8_t *const out[8], const uint32_t n[8])
{
	__m256i b[16];
	int i;

	core8(x);
	transpose8(x, b, 0);
	transpose8(x + 8, b, 1);
	for (i = 0; i < 8; i++)
		xor_out8(b + 2 * i, in[i], out[i], n[i]);
}

T256 void
dssh_cmb_avx2_tasks(const uint32_t *keytab, const struct cmb_task t[8])
{
	uint32_t ko[8], ct[8], nc[8], n[8];
	const uint8_t *in[8];
	uint8_t *out[8];
	__m256i x[16], rows[8], kt[16];
	int i;

	for (i = 0; i < 8; i++) {
		ko[i] = t[i].koff;
		ct[i] = t[i].ctr;
		nc[i] = t[i].nonce;
		n[i] = t[i].nbytes;
		in[i] = t[i].in;
		out[i] = t[i].out;
	}
	for (i = 0; i < 4; i++)
		x[i] = _mm256_set1_epi32((int)sigma[i]);
	/* lane-major key rows -> word-major (a transpose is its own inverse) */
	for (i = 0; i < 8; i++)
		rows[i] = _mm256_loadu_si256((const __m256i *)(keytab + ko[i]));
	transpose8(rows, kt, 0);
	for (i = 0; i < 8; i++)
		x[4 + i] = kt[2 * i];
	x[12] = _mm256_loadu_si256((const __m256i *)ct);
	x[13] = _mm256_setzero_si256();
	x[14] = _mm256_setzero_si256();
	x[15] = _mm256_loadu_si256((const __m256i *)nc);
	finish8(x, in, out, n);
}

T256 void
dssh_cmb_avx2_wide(const uint32_t key[8], uint32_t ctr, uint32_t nonce, const uint8_t *in,
    uint8_t *out)
{
	const uint8_t *ip[8];
	uint8_t *op[8];
	uint32_t n[8];
	__m256i x[16];
	int i;

	for (i = 0; i < 8; i++) {
		ip[i] = in + 64 * i;
		op[i] = out + 64 * i;
		n[i] = 64;
	}
	for (i = 0; i < 4; i++)
		x[i] = _mm256_set1_epi32((int)sigma[i]);
	for (i = 0; i < 8; i++)
		x[4 + i] = _mm256_set1_epi32((int)key[i]);
	x[12] = _mm256_add_epi32(_mm256_set1_epi32((int)ctr), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
	x[13] = _mm256_setzero_si256();
	x[14] = _mm256_setzero_si256();
	x[15] = _mm256_set1_epi32((int)nonce);
	finish8(x, ip, op, n);
}

/* --- Poly1305, AVX-512 IFMA: 16 messages at once ------------------------- */

#define M44 (((uint64_t)1 << 44) - 1)
#define M42 (((uint64_t)1 << 42) - 1)
#define PL 16                       /* lanes: two zmm registers, for latency */

static inline uint64_t
ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);     /* x86: little endian */
	return v;
}

struct ifma_lanes {
	uint64_t r[3][PL];          /* r limbs */
	uint64_t h[3][PL];          /* h limbs, spilled at lane changes */
	uint64_t addr[PL];          /* next block */
	uint64_t hib[PL];           /* 2^128 bit in limb 2: 1 << 40, 0 for a padded block */
	uint64_t inc[PL];           /* addr step: 16, 0 for a padded block or an idle lane */
	uint32_t nfull[PL];         /* full blocks left */
	int job[PL];                /* -1: idle */
	bool part[PL];              /* padded last block still to do */
	uint8_t pad[PL][16];
};

/* 8 lanes of the state; two of these run interleaved. */
struct ifma_g {
	__m512i r0, r1, r2, s1, s2, h0, h1, h2, hib;
};

static inline TIFMA void
g_load(struct ifma_g *g, const struct ifma_lanes *L, int o)
{
	g->r0 = _mm512_loadu_si512(L->r[0] + o);
	g->r1 = _mm512_loadu_si512(L->r[1] + o);
	g->r2 = _mm512_loadu_si512(L->r[2] + o);
	g->s1 = _mm512_add_epi64(_mm512_slli_epi64(g->r1, 4), _mm512_slli_epi64(g->r1, 2));
	g->s2 = _mm512_add_epi64(_mm512_slli_epi64(g->r2, 4), _mm512_slli_epi64(g->r2, 2));
	g->h0 = _mm512_loadu_si512(L->h[0] + o);
	g->h1 = _mm512_loadu_si512(L->h[1] + o);
	g->h2 = _mm512_loadu_si512(L->h[2] + o);
	g->hib = _mm512_loadu_si512(L->hib + o);
}

static inline TIFMA void
g_store(const struct ifma_g *g, struct ifma_lanes *L, int o)
{
	_mm512_storeu_si512(L->h[0] + o, g->h0);
	_mm512_storeu_si512(L->h[1] + o, g->h1);
	_mm512_storeu_si512(L->h[2] + o, g->h2);
}

/*
 * One step h = (h + m) * r for 8 lanes. Products: limbs at 0, 44, 88;
 * 2^132 = 20 (mod p), so h1 r2 and h2 r1 fold into limb 0 and h2 r2 into
 * limb 1 through s = 20 r. madd52lo/hi give bits 0..51 and 52..103 of each
 * product; the high halves sit 8 bits above the next limb (52 = 44 + 8), and
 * limb 2's high half at 2^140 = 5 * 2^10 (mod p).
 */
static inline TIFMA void
g_step(struct ifma_g *g, uint64_t *ptr, const uint64_t *inc)
{
	const __m512i m44 = _mm512_set1_epi64(M44), m42 = _mm512_set1_epi64(M42);
	const __m512i z = _mm512_setzero_si512();
	__m512i v0, v1, lo, hi;
	__m512i t0, t1, t2, d0l, d0h, d1l, d1h, d2l, d2h, c;

	/* blocks of lanes 0 2 4 6 and 1 3 5 7, then their low and high
	 * halves: the 64-bit unpacks pair them back in lane order (plain
	 * loads: cheaper than gathers here) */
#define BLK(l) _mm_loadu_si128((const __m128i *)(uintptr_t)ptr[l])
	v0 = _mm512_inserti32x4(_mm512_inserti32x4(_mm512_inserti32x4(
	    _mm512_castsi128_si512(BLK(0)), BLK(2), 1), BLK(4), 2), BLK(6), 3);
	v1 = _mm512_inserti32x4(_mm512_inserti32x4(_mm512_inserti32x4(
	    _mm512_castsi128_si512(BLK(1)), BLK(3), 1), BLK(5), 2), BLK(7), 3);
#undef BLK
	for (int l = 0; l < 8; l++)
		ptr[l] += inc[l];
	lo = _mm512_unpacklo_epi64(v0, v1);
	hi = _mm512_unpackhi_epi64(v0, v1);
	t0 = _mm512_add_epi64(g->h0, _mm512_and_si512(lo, m44));
	t1 = _mm512_add_epi64(g->h1, _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(lo, 44),
	    _mm512_slli_epi64(hi, 20)), m44));
	t2 = _mm512_add_epi64(g->h2, _mm512_or_si512(_mm512_srli_epi64(hi, 24), g->hib));
	/* chained: the two lane groups interleave, so latency is hidden */
	d0l = _mm512_madd52lo_epu64(_mm512_madd52lo_epu64(_mm512_madd52lo_epu64(z, t0, g->r0),
	    t1, g->s2), t2, g->s1);
	d0h = _mm512_madd52hi_epu64(_mm512_madd52hi_epu64(_mm512_madd52hi_epu64(z, t0, g->r0),
	    t1, g->s2), t2, g->s1);
	d1l = _mm512_madd52lo_epu64(_mm512_madd52lo_epu64(_mm512_madd52lo_epu64(z, t0, g->r1),
	    t1, g->r0), t2, g->s2);
	d1h = _mm512_madd52hi_epu64(_mm512_madd52hi_epu64(_mm512_madd52hi_epu64(z, t0, g->r1),
	    t1, g->r0), t2, g->s2);
	d2l = _mm512_madd52lo_epu64(_mm512_madd52lo_epu64(_mm512_madd52lo_epu64(z, t0, g->r2),
	    t1, g->r1), t2, g->r0);
	d2h = _mm512_madd52hi_epu64(_mm512_madd52hi_epu64(_mm512_madd52hi_epu64(z, t0, g->r2),
	    t1, g->r1), t2, g->r0);
	d1l = _mm512_add_epi64(d1l, _mm512_slli_epi64(d0h, 8));
	d2l = _mm512_add_epi64(d2l, _mm512_slli_epi64(d1h, 8));
	/* d2h * 5 * 2^10 */
	d0l = _mm512_add_epi64(d0l, _mm512_add_epi64(_mm512_slli_epi64(d2h, 12),
	    _mm512_slli_epi64(d2h, 10)));
	c = _mm512_srli_epi64(d0l, 44);
	g->h0 = _mm512_and_si512(d0l, m44);
	d1l = _mm512_add_epi64(d1l, c);
	c = _mm512_srli_epi64(d1l, 44);
	g->h1 = _mm512_and_si512(d1l, m44);
	d2l = _mm512_add_epi64(d2l, c);
	c = _mm512_srli_epi64(d2l, 42);
	g->h2 = _mm512_and_si512(d2l, m42);
	/* h0 may end up a little above 2^44 (by < 5 * 2^14): still well
	 * inside what the next step's products allow */
	g->h0 = _mm512_add_epi64(g->h0, _mm512_add_epi64(c, _mm512_slli_epi64(c, 2)));
}

/* k steps over all 16 lanes; addr in L is left as it was. */
static TIFMA void
ifma_steps(struct ifma_lanes *L, unsigned k)
{
	struct ifma_g A, B;
	uint64_t ptr[PL];

	memcpy(ptr, L->addr, sizeof(ptr));
	g_load(&A, L, 0);
	g_load(&B, L, 8);
	for (; k > 0; k--) {
		g_step(&A, ptr, L->inc);
		g_step(&B, ptr + 8, L->inc + 8);
	}
	g_store(&A, L, 0);
	g_store(&B, L, 8);
}

static const uint8_t zero_block[16];

static void
lane_load(struct ifma_lanes *L, int l, const struct cmb_poly *j, int idx)
{
	uint64_t r0 = ld64(j->key) & 0x0ffffffc0fffffffULL, r1 = ld64(j->key + 8) & 0x0ffffffc0ffffffcULL;
	uint32_t rem = j->len % 16;

	L->r[0][l] = r0 & (M44);
	L->r[1][l] = (r0 >> 44 | r1 << 20) & (M44);
	L->r[2][l] = r1 >> 24;
	L->h[0][l] = L->h[1][l] = L->h[2][l] = 0;
	L->job[l] = idx;
	L->nfull[l] = j->len / 16;
	L->addr[l] = (uint64_t)(uintptr_t)j->m;
	L->part[l] = rem != 0;
	if (rem != 0) {
		memset(L->pad[l], 0, 16);
		memcpy(L->pad[l], j->m + j->len - rem, rem);
		L->pad[l][rem] = 1;
	}
}

/* out = a * b mod p (radix 2^44; out < 2^130, not necessarily < p). */
static void
mul44(const uint64_t a[3], const uint64_t b[3], uint64_t out[3])
{
	typedef unsigned __int128 u128;
	const uint64_t s1 = b[1] * 20, s2 = b[2] * 20;
	u128 d0 = (u128)a[0] * b[0] + (u128)a[1] * s2 + (u128)a[2] * s1;
	u128 d1 = (u128)a[0] * b[1] + (u128)a[1] * b[0] + (u128)a[2] * s2;
	u128 d2 = (u128)a[0] * b[2] + (u128)a[1] * b[1] + (u128)a[2] * b[0];
	uint64_t h0, h1, h2, c;
	int i;

	d1 += (uint64_t)(d0 >> 44);
	h0 = (uint64_t)d0 & M44;
	d2 += (uint64_t)(d1 >> 44);
	h1 = (uint64_t)d1 & M44;
	c = (uint64_t)(d2 >> 42);
	h2 = (uint64_t)d2 & M42;
	for (i = 0; i < 2; i++) {
		h0 += c * 5;
		h1 += h0 >> 44;
		h0 &= M44;
		h2 += h1 >> 44;
		h1 &= M44;
		c = h2 >> 42;
		h2 &= M42;
	}
	out[0] = h0;
	out[1] = h1;
	out[2] = h2;
}

static void
lanes_idle(struct ifma_lanes *L)
{
	int l;

	for (l = 0; l < PL; l++) {
		L->addr[l] = (uint64_t)(uintptr_t)zero_block;
		L->inc[l] = 0;
		L->hib[l] = 0;
		L->r[0][l] = L->r[1][l] = L->r[2][l] = 0;
		L->h[0][l] = L->h[1][l] = L->h[2][l] = 0;
	}
}

/*
 * One long message in all PL lanes: lane j takes blocks j, j + PL, ...;
 * every step multiplies by r^PL except the last, by r^(PL - j), so that
 * each block gets the power of r it has in the serial Horner evaluation;
 * the lanes' sum is then the state after those PL * q blocks. The caller's
 * state h enters lane 0 (it gets the power of the first block).
 */
static void
poly_split(struct ifma_lanes *L, uint64_t h[3], const uint64_t r[3], const uint8_t *m,
    uint32_t q)
{
	uint64_t pw[PL + 1][3];
	int k, l, i;

	memcpy(pw[1], r, sizeof(pw[1]));
	for (k = 2; k <= PL; k++)
		mul44(pw[k - 1], r, pw[k]);
	for (l = 0; l < PL; l++) {
		for (i = 0; i < 3; i++) {
			L->r[i][l] = pw[PL][i];
			L->h[i][l] = l == 0 ? h[i] : 0;
		}
		L->addr[l] = (uint64_t)(uintptr_t)(m + 16 * l);
		L->inc[l] = 16 * PL;
		L->hib[l] = (uint64_t)1 << 40;
	}
	if (q > 1)
		ifma_steps(L, q - 1);
	for (l = 0; l < PL; l++) {
		for (i = 0; i < 3; i++)
			L->r[i][l] = pw[PL - l][i];
		/* ifma_steps leaves addr as it was */
		L->addr[l] = (uint64_t)(uintptr_t)(m + 16 * PL * (size_t)(q - 1) + 16 * l);
	}
	ifma_steps(L, 1);
	for (i = 0; i < 3; i++)
		for (h[i] = 0, l = 0; l < PL; l++)
			h[i] += L->h[i][l];
	h[1] += h[0] >> 44;
	h[0] &= M44;
	h[2] += h[1] >> 44;
	h[1] &= M44;
	h[0] += (h[2] >> 42) * 5;
	h[2] &= M42;
	dssh_wipe(pw, sizeof(pw));
}

/* A message alone: split over the lanes for most of it, lane 0 for the rest. */
static void
poly_one(struct ifma_lanes *L, const struct cmb_poly *j)
{
	uint64_t h[3] = { 0, 0, 0 }, r[3];
	uint32_t nb = j->len / 16, q = nb / PL, rem = j->len % 16;
	int i;

	lanes_idle(L);
	lane_load(L, 0, j, 0);
	for (i = 0; i < 3; i++)
		r[i] = L->r[i][0];
	if (q > 0)
		poly_split(L, h, r, j->m, q);
	lanes_idle(L);
	for (i = 0; i < 3; i++) {
		L->r[i][0] = r[i];
		L->h[i][0] = h[i];
	}
	L->hib[0] = (uint64_t)1 << 40;
	L->inc[0] = 16;
	L->addr[0] = (uint64_t)(uintptr_t)(j->m + 16 * PL * (size_t)q);
	if (nb % PL != 0)
		ifma_steps(L, nb % PL);
	if (rem != 0) {
		memset(L->pad[0], 0, 16);
		memcpy(L->pad[0], j->m + j->len - rem, rem);
		L->pad[0][rem] = 1;
		L->addr[0] = (uint64_t)(uintptr_t)L->pad[0];
		L->hib[0] = 0;
		ifma_steps(L, 1);
	}
	for (i = 0; i < 3; i++)
		h[i] = L->h[i][0];
	dssh_cmb_poly_finish44(h, j->key + 16, j->tag);
	dssh_wipe(h, sizeof(h));
	dssh_wipe(r, sizeof(r));
}

static void poly_lanes(const struct cmb_poly *jobs, unsigned n);

/* Bursts of few messages: the long ones each split over all lanes (one
 * message in one lane would leave 15 of 16 idle), the rest share lanes. */
#define IFMA_SPLIT_MIN 1024
#define IFMA_FEW 8

TIFMA void
dssh_cmb_poly_ifma(const struct cmb_poly *jobs, unsigned n)
{
	struct cmb_poly small[IFMA_FEW];
	struct ifma_lanes L;
	unsigned i, ns = 0;

	if (n >= IFMA_FEW) {
		poly_lanes(jobs, n);
		return;
	}
	for (i = 0; i < n; i++) {
		if (jobs[i].len >= IFMA_SPLIT_MIN)
			poly_one(&L, &jobs[i]);
		else
			small[ns++] = jobs[i];
	}
	if (ns > 0)
		poly_lanes(small, ns);
	dssh_wipe(&L, sizeof(L));
}

static void
poly_lanes(const struct cmb_poly *jobs, unsigned n)
{
	struct ifma_lanes L;
	unsigned next = 0, k;
	int l;

	memset(&L, 0, sizeof(L));
	for (l = 0; l < PL; l++)
		L.job[l] = -1;
	for (;;) {
		bool any = false;

		k = UINT32_MAX;
		for (l = 0; l < PL; l++) {
			/* finish the lane's message when nothing is left, refill */
			while (L.job[l] >= 0 && L.nfull[l] == 0 && !L.part[l]) {
				uint64_t h[3] = { L.h[0][l], L.h[1][l], L.h[2][l] };
				const struct cmb_poly *j = &jobs[L.job[l]];

				dssh_cmb_poly_finish44(h, j->key + 16, j->tag);
				L.job[l] = -1;
				if (next < n) {
					lane_load(&L, l, &jobs[next], (int)next);
					next++;
				}
			}
			if (L.job[l] < 0 && next < n) {
				lane_load(&L, l, &jobs[next], (int)next);
				next++;
				l--;            /* may be an empty message: check again */
				continue;
			}
			if (L.job[l] < 0) {
				L.addr[l] = (uint64_t)(uintptr_t)zero_block;
				L.inc[l] = 0;
				continue;
			}
			any = true;
			if (L.nfull[l] > 0) {
				L.hib[l] = (uint64_t)1 << 40;
				L.inc[l] = 16;
				if (L.nfull[l] < k)
					k = L.nfull[l];
			} else {
				L.addr[l] = (uint64_t)(uintptr_t)L.pad[l];
				L.hib[l] = 0;
				L.inc[l] = 0;
				k = 1;
			}
		}
		if (!any)
			break;
		ifma_steps(&L, k);
		for (l = 0; l < PL; l++) {
			if (L.job[l] < 0)
				continue;
			if (L.nfull[l] > 0) {
				L.nfull[l] -= k;
				L.addr[l] += 16 * (uint64_t)k;
			} else {
				L.part[l] = false;
			}
		}
	}
	dssh_wipe(&L, sizeof(L));
}

#endif
