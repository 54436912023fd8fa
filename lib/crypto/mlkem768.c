/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ML-KEM-768, written from FIPS 203 (August 2024). Section and algorithm
 * numbers below are the standard's.
 *
 * Arithmetic: coefficients are kept fully reduced in [0, q) as uint16_t.
 * A product (< q^2) or a short sum of products is reduced by Barrett
 * reduction with m = floor(2^32 / q) (one 64-bit multiply, a subtraction
 * and a masked conditional subtraction), so no reduction branches or
 * divides.
 *
 * Constant time: nothing secret (s, e, y, e1, e2, the message m, the
 * random r, the shared keys, z, the re-encrypted ciphertext) reaches a
 * branch condition, a table index or a division. The tables (zetas) are
 * indexed by loop counters only. Compress (4.7) divides by q with the same
 * Barrett step; the decapsulation compares c with c' by OR-ing the byte
 * differences and picks K' or J(z || c) with a mask (8.4 step 9-10). The
 * only branches on data are on public values: rejection sampling of the
 * matrix from rho (SampleNTT) and the encapsulation key check.
 * Checked with valgrind memcheck: tests/unit/crypto/test_mlkem_ct.c marks
 * dk_pke, z, m, d and the ciphertext undefined (VALGRIND_MAKE_MEM_UNDEFINED)
 * and memcheck reports any conditional jump or address computed from them;
 * that test runs under valgrind in the unit suite.
 *
 * SHA3-256, SHA3-512, SHAKE128 and SHAKE256 come from OpenSSL 3.0 EVP. 3.0
 * can squeeze an XOF only once (EVP_DigestFinalXOF), so SampleNTT asks for
 * SAMPLE_BLOCKS blocks of SHAKE128 at once (3 blocks, 336 candidates for
 * 256 coefficients, are enough for about 99% of the polynomials); when
 * they are not, it squeezes again from the start with twice the length (a
 * SHAKE output is a prefix of any longer one) and continues where it
 * stopped, up to 8 times the first length (more would be needed with
 * probability far below 2^-128). Only public data (rho) is sampled that way.
 * The digests are fetched once (EVP_MD_fetch) rather than on every
 * EVP_DigestInit_ex.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "dssh_err.h"
#include "dssh_mlkem.h"
#include "dssh_util.h"

/*
 * rho comes out of G(d || k) with the secret sigma but is public (it is
 * part of ek): the constant-time test build (-DDSSH_MLKEM_CT_TEST) tells
 * valgrind so; elsewhere this is nothing.
 */
#ifdef DSSH_MLKEM_CT_TEST
#include <valgrind/memcheck.h>
#define DECLASSIFY(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#define DECLASSIFY(p, n) do { } while (0)
#endif

#define N        256
#define Q        3329
#define K        3
#define ETA1     2
#define ETA2     2
#define DU       10
#define DV       4
#define POLYBYTES 384                   /* ByteEncode12 of one polynomial */
#define BARRETT_M 1290167u              /* floor(2^32 / q) */
#define N_INV    3303                   /* 128^-1 mod q */
#define SHAKE128_RATE 168
#define SAMPLE_BLOCKS 3                 /* 504 bytes: enough for ~99% of polys */

struct poly {
	uint16_t c[N];
};

/*
 * zeta^BitRev7(i) mod q, zeta = 17 (4.3), in Montgomery form for the NTTs:
 * times 2^16 mod q, as signed values in (-q/2, q/2).
 */
static const int16_t zetas_mont[128] = {
	-1044, -758, -359, -1517, 1493, 1422, 287, 202, -171, 622, 1577, 182,
	962, -1202, -1474, 1468, 573, -1325, 264, 383, -829, 1458, -1602, -130,
	-681, 1017, 732, 608, -1542, 411, -205, -1571, 1223, 652, -552, 1015,
	-1293, 1491, -282, -1544, 516, -8, -320, -666, -1618, -1162, 126, 1469,
	-853, -90, -271, 830, 107, -1421, -247, -951, -398, 961, -1508, -725,
	448, -1065, 677, -1275, -1103, 430, 555, 843, -1251, 871, 1550, 105,
	422, 587, 177, -235, -291, -460, 1574, 1653, -246, 778, 1159, -147,
	-777, 1483, -602, 1119, -1590, 644, -872, 349, 418, 329, -156, -75,
	817, 1097, 603, 610, 1322, -1285, -1465, 384, -1215, -136, 1218, -1335,
	-874, 220, -1187, -1659, -1185, -1530, -1278, 794, -1510, -854, -870, 478,
	-108, -308, 996, 991, 958, -1460, 1522, 1628,
};

/* zeta^(2 BitRev7(i) + 1) mod q, the base-case moduli (4.3.1). */
static const uint16_t gammas[128] = {
	17, 3312, 2761, 568, 583, 2746, 2649, 680, 1637, 1692, 723, 2606,
	2288, 1041, 1100, 2229, 1409, 1920, 2662, 667, 3281, 48, 233, 3096,
	756, 2573, 2156, 1173, 3015, 314, 3050, 279, 1703, 1626, 1651, 1678,
	2789, 540, 1789, 1540, 1847, 1482, 952, 2377, 1461, 1868, 2687, 642,
	939, 2390, 2308, 1021, 2437, 892, 2388, 941, 733, 2596, 2337, 992,
	268, 3061, 641, 2688, 1584, 1745, 2298, 1031, 2037, 1292, 3220, 109,
	375, 2954, 2549, 780, 2090, 1239, 1645, 1684, 1063, 2266, 319, 3010,
	2773, 556, 757, 2572, 2099, 1230, 561, 2768, 2466, 863, 2594, 735,
	2804, 525, 1092, 2237, 403, 2926, 1026, 2303, 1143, 2186, 2150, 1179,
	2775, 554, 886, 2443, 1722, 1607, 1212, 2117, 1874, 1455, 1029, 2300,
	2110, 1219, 2935, 394, 885, 2444, 2154, 1175,
};

/* ---- arithmetic mod q, branch-free ---- */

/* r in [0, 2q) -> r mod q. */
static inline uint16_t
csubq(uint32_t r)
{
	r -= Q;
	r += Q & (0u - (r >> 31));
	return (uint16_t)r;
}

/* floor(x / q) for x < 2^32 - q, by Barrett (the estimate is off by at most one). */
static inline uint32_t
divq(uint32_t x)
{
	uint32_t t = (uint32_t)(((uint64_t)x * BARRETT_M) >> 32);
	uint32_t r = x - t * Q;                 /* in [0, 2q) */

	return t + (((uint32_t)(Q - 1) - r) >> 31);
}

static inline uint16_t
modq(uint32_t x)
{
	uint32_t t = (uint32_t)(((uint64_t)x * BARRETT_M) >> 32);

	return csubq(x - t * Q);
}

static inline uint16_t
fqmul(uint16_t a, uint16_t b)
{
	return modq((uint32_t)a * b);
}

static void
poly_add(struct poly *r, const struct poly *a)
{
	for (int i = 0; i < N; i++)
		r->c[i] = csubq((uint32_t)r->c[i] + a->c[i]);
}

static void
poly_sub(struct poly *r, const struct poly *a)
{
	for (int i = 0; i < N; i++)
		r->c[i] = csubq((uint32_t)r->c[i] + Q - a->c[i]);
}

/*
 * The NTTs work on signed 16-bit values with Montgomery multiplication
 * (R = 2^16): mont_reduce(a) = a R^-1 mod q in (-q, q) for |a| < q 2^15,
 * so zeta * x costs three multiplications and no reduction branch. The
 * polynomials go in and come out fully reduced in [0, q).
 */
#define QINV (-3327)                    /* q^-1 mod 2^16 */
#define F_MONT 512                      /* 128^-1 * 2^16 mod q */

static inline int16_t
mont_reduce(int32_t a)
{
	int16_t t = (int16_t)((int16_t)a * QINV);

	return (int16_t)((a - (int32_t)t * Q) >> 16);
}

static inline int16_t
mont_mul(int16_t a, int16_t b)
{
	return mont_reduce((int32_t)a * b);
}

/* x in [-2q, 2q] -> [-q, q], branch-free. */
static inline int16_t
center(int32_t x)
{
	x -= Q & ((Q - 1 - x) >> 31);           /* x >= q */
	x += Q & ((x + Q) >> 31);               /* x < -q */
	return (int16_t)x;
}

/* Algorithm 9. Values grow by at most q a layer: below 8q < 2^15 at the end. */
static void
ntt(struct poly *f)
{
	int16_t r[N];
	int k = 1;

	for (int i = 0; i < N; i++)
		r[i] = (int16_t)f->c[i];
	for (int len = 128; len >= 2; len >>= 1)
		for (int start = 0; start < N; start += 2 * len) {
			int16_t zeta = zetas_mont[k++];

			for (int j = start; j < start + len; j++) {
				int16_t t = mont_mul(zeta, r[j + len]);

				r[j + len] = (int16_t)(r[j] - t);
				r[j] = (int16_t)(r[j] + t);
			}
		}
	for (int i = 0; i < N; i++)
		f->c[i] = modq((uint32_t)(r[i] + 8 * Q));
	dssh_wipe(r, sizeof(r));
}

/* Algorithm 10, the sums kept in [-q, q]; the 128^-1 folded into F_MONT. */
static void
ntt_inv(struct poly *f)
{
	int16_t r[N];
	int k = 127;

	for (int i = 0; i < N; i++)
		r[i] = (int16_t)f->c[i];
	for (int len = 2; len <= 128; len <<= 1)
		for (int start = 0; start < N; start += 2 * len) {
			int16_t zeta = zetas_mont[k--];

			for (int j = start; j < start + len; j++) {
				int16_t t = r[j];

				r[j] = center((int32_t)t + r[j + len]);
				r[j + len] = mont_mul(zeta, (int16_t)(r[j + len] - t));
			}
		}
	for (int i = 0; i < N; i++)
		f->c[i] = csubq((uint32_t)(mont_mul(r[i], F_MONT) + Q));
	dssh_wipe(r, sizeof(r));
}

/*
 * r = sum over j < K of f[j] * g[j] in T_q (algorithms 11 and 12), one
 * reduction a coefficient at the end: each term is below 2 q^2, K of them
 * well below 2^32.
 */
static void
poly_dot(struct poly *r, const struct poly *f, const struct poly *g)
{
	for (int i = 0; i < 128; i++) {
		uint32_t c0 = 0, c1 = 0;

		for (int j = 0; j < K; j++) {
			uint32_t a0 = f[j].c[2 * i], a1 = f[j].c[2 * i + 1];
			uint32_t b0 = g[j].c[2 * i], b1 = g[j].c[2 * i + 1];

			c0 += a0 * b0 + (uint32_t)modq(a1 * b1) * gammas[i];
			c1 += a0 * b1 + a1 * b0;
		}
		r->c[2 * i] = modq(c0);
		r->c[2 * i + 1] = modq(c1);
	}
}

/* ---- encodings (4.2.1) ---- */

/* ByteEncode_d, d <= 12: 256 d-bit values, least significant bit first. */
static void
byte_encode(uint8_t *out, const struct poly *f, int d)
{
	uint32_t acc = 0;
	int bits = 0;

	for (int i = 0; i < N; i++) {
		acc |= (uint32_t)f->c[i] << bits;
		bits += d;
		while (bits >= 8) {
			*out++ = (uint8_t)acc;
			acc >>= 8;
			bits -= 8;
		}
	}
}

/* ByteDecode_d; for d = 12 the values are reduced mod q, as the standard says. */
static void
byte_decode(struct poly *f, const uint8_t *in, int d)
{
	uint32_t acc = 0, mask = (1u << d) - 1;
	int bits = 0;

	for (int i = 0; i < N; i++) {
		while (bits < d) {
			acc |= (uint32_t)*in++ << bits;
			bits += 8;
		}
		f->c[i] = (uint16_t)(acc & mask);
		acc >>= d;
		bits -= d;
		if (d == 12)
			f->c[i] = csubq(f->c[i]);       /* < 4096 < 2q */
	}
}

/* Compress_d (4.7): round(2^d x / q) mod 2^d, the division by Barrett. */
static void
poly_compress(struct poly *f, int d)
{
	for (int i = 0; i < N; i++)
		f->c[i] = (uint16_t)(divq(((uint32_t)f->c[i] << d) + Q / 2) & ((1u << d) - 1));
}

/* Decompress_d (4.8): round(q y / 2^d). */
static void
poly_decompress(struct poly *f, int d)
{
	for (int i = 0; i < N; i++)
		f->c[i] = (uint16_t)(((uint32_t)f->c[i] * Q + (1u << (d - 1))) >> d);
}

/* ---- hashing (4.1) ---- */

static EVP_MD *md_sha3_256, *md_sha3_512, *md_shake128, *md_shake256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void
md_fetch(void)
{
	md_sha3_256 = EVP_MD_fetch(NULL, "SHA3-256", NULL);
	md_sha3_512 = EVP_MD_fetch(NULL, "SHA3-512", NULL);
	md_shake128 = EVP_MD_fetch(NULL, "SHAKE128", NULL);
	md_shake256 = EVP_MD_fetch(NULL, "SHAKE256", NULL);
}

/* The context every operation uses, with the digests fetched. */
static EVP_MD_CTX *
md_ctx_new(void)
{
	if (pthread_once(&md_once, md_fetch) != 0 || md_sha3_256 == NULL ||
	    md_sha3_512 == NULL || md_shake128 == NULL || md_shake256 == NULL)
		return NULL;
	return EVP_MD_CTX_new();
}

static int
md_run(EVP_MD_CTX *ctx, EVP_MD *md, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen, uint8_t *out, size_t outlen)
{
	int xof = (EVP_MD_get_flags(md) & EVP_MD_FLAG_XOF) != 0;

	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, a, alen) != 1 ||
	    (blen > 0 && EVP_DigestUpdate(ctx, b, blen) != 1))
		return DSSH_ERR_LIBCRYPTO;
	if (xof)
		return EVP_DigestFinalXOF(ctx, out, outlen) == 1 ? 0 : DSSH_ERR_LIBCRYPTO;
	return EVP_DigestFinal_ex(ctx, out, NULL) == 1 ? 0 : DSSH_ERR_LIBCRYPTO;
}

/* ---- sampling (4.2.2) ---- */

/*
 * Algorithm 7, SampleNTT(rho || j || i). Branches here depend on rho,
 * which is public (it is in ek).
 */
static int
sample_ntt(EVP_MD_CTX *ctx, struct poly *a, const uint8_t rho[32], uint8_t j, uint8_t i)
{
	uint8_t seed[34], buf[SHAKE128_RATE * SAMPLE_BLOCKS * 8];
	size_t have = SHAKE128_RATE * SAMPLE_BLOCKS, pos = 0;
	int n = 0, r;

	memcpy(seed, rho, 32);
	seed[32] = j;
	seed[33] = i;
	if ((r = md_run(ctx, md_shake128, seed, sizeof(seed), NULL, 0, buf, have)) != 0)
		return r;
	while (n < N) {
		if (pos + 3 > have) {
			/* Rare: squeeze again, longer (see the head comment). */
			if (have * 2 > sizeof(buf))
				return DSSH_ERR_LIBCRYPTO;
			have *= 2;
			if ((r = md_run(ctx, md_shake128, seed, sizeof(seed), NULL, 0, buf,
			    have)) != 0)
				return r;
		}
		uint16_t d1 = (uint16_t)(buf[pos] | ((buf[pos + 1] & 0x0f) << 8));
		uint16_t d2 = (uint16_t)((buf[pos + 1] >> 4) | (buf[pos + 2] << 4));

		pos += 3;
		if (d1 < Q)
			a->c[n++] = d1;
		if (d2 < Q && n < N)
			a->c[n++] = d2;
	}
	return 0;
}

/* A (transposed = 0: A[i][j] from rho || j || i) or its transpose. */
static int
gen_matrix(EVP_MD_CTX *ctx, struct poly a[K][K], const uint8_t rho[32], int transposed)
{
	int r;

	for (int i = 0; i < K; i++)
		for (int j = 0; j < K; j++)
			if ((r = sample_ntt(ctx, &a[i][j], rho, transposed ? (uint8_t)i : (uint8_t)j,
			    transposed ? (uint8_t)j : (uint8_t)i)) != 0)
				return r;
	return 0;
}

/* Algorithm 8 for eta = 2 on PRF_2(s, b) = SHAKE256(s || b, 128 bytes). */
static int
sample_cbd2(EVP_MD_CTX *ctx, struct poly *f, const uint8_t s[32], uint8_t b)
{
	uint8_t buf[64 * ETA1];
	int r;

	if ((r = md_run(ctx, md_shake256, s, 32, &b, 1, buf, sizeof(buf))) != 0)
		return r;
	for (int w = 0; w < N / 8; w++) {
		uint32_t t = (uint32_t)buf[4 * w] | (uint32_t)buf[4 * w + 1] << 8 |
		    (uint32_t)buf[4 * w + 2] << 16 | (uint32_t)buf[4 * w + 3] << 24;
		/* Each 2-bit field: the sum of two adjacent bits. */
		uint32_t d = (t & 0x55555555u) + ((t >> 1) & 0x55555555u);

		for (int k = 0; k < 8; k++) {
			uint32_t x = (d >> (4 * k)) & 3, y = (d >> (4 * k + 2)) & 3;

			f->c[8 * w + k] = csubq(x + Q - y);
		}
	}
	dssh_wipe(buf, sizeof(buf));
	return 0;
}

/* ---- K-PKE (5) ---- */

/* Algorithm 13: ek_pke (1184 bytes), dk_pke (1152 bytes) from d. */
static int
pke_keygen(EVP_MD_CTX *ctx, uint8_t *ek, uint8_t *dk, const uint8_t d[32])
{
	struct poly a[K][K], s[K], e[K], t;
	uint8_t in[33], rs[64];               /* rho || sigma */
	uint8_t nonce = 0;
	int r;

	memcpy(in, d, 32);
	in[32] = K;
	if ((r = md_run(ctx, md_sha3_512, in, sizeof(in), NULL, 0, rs, sizeof(rs))) != 0)
		goto out;
	DECLASSIFY(rs, 32);
	if ((r = gen_matrix(ctx, a, rs, 0)) != 0)
		goto out;
	for (int i = 0; i < K; i++)
		if ((r = sample_cbd2(ctx, &s[i], rs + 32, nonce++)) != 0)
			goto out;
	for (int i = 0; i < K; i++)
		if ((r = sample_cbd2(ctx, &e[i], rs + 32, nonce++)) != 0)
			goto out;
	for (int i = 0; i < K; i++) {
		ntt(&s[i]);
		ntt(&e[i]);
	}
	for (int i = 0; i < K; i++) {
		poly_dot(&t, a[i], s);
		poly_add(&t, &e[i]);
		byte_encode(ek + i * POLYBYTES, &t, 12);
		byte_encode(dk + i * POLYBYTES, &s[i], 12);
	}
	memcpy(ek + K * POLYBYTES, rs, 32);
out:
	dssh_wipe(in, sizeof(in));
	dssh_wipe(rs, sizeof(rs));
	dssh_wipe(s, sizeof(s));
	dssh_wipe(e, sizeof(e));
	dssh_wipe(&t, sizeof(t));
	return r;
}

/* Algorithm 14: c (1088 bytes) = Encrypt(ek_pke, m, r). */
static int
pke_encrypt(EVP_MD_CTX *ctx, uint8_t *c, const uint8_t *ek, const uint8_t m[32],
    const uint8_t rnd[32])
{
	struct poly at[K][K], t[K], y[K], u, v, e2, mu;
	uint8_t nonce = 0;
	int r;

	for (int i = 0; i < K; i++)
		byte_decode(&t[i], ek + i * POLYBYTES, 12);
	if ((r = gen_matrix(ctx, at, ek + K * POLYBYTES, 1)) != 0)
		goto out;
	for (int i = 0; i < K; i++)
		if ((r = sample_cbd2(ctx, &y[i], rnd, nonce++)) != 0)
			goto out;
	for (int i = 0; i < K; i++)
		ntt(&y[i]);
	nonce = K;
	/* u = NTT^-1(A^T y) + e1 */
	for (int i = 0; i < K; i++) {
		poly_dot(&u, at[i], y);
		ntt_inv(&u);
		if ((r = sample_cbd2(ctx, &e2, rnd, nonce++)) != 0)   /* e1[i] */
			goto out;
		poly_add(&u, &e2);
		poly_compress(&u, DU);
		byte_encode(c + i * 32 * DU, &u, DU);
	}
	/* v = NTT^-1(t^T y) + e2 + Decompress_1(m) */
	poly_dot(&v, t, y);
	ntt_inv(&v);
	if ((r = sample_cbd2(ctx, &e2, rnd, nonce)) != 0)
		goto out;
	poly_add(&v, &e2);
	byte_decode(&mu, m, 1);
	poly_decompress(&mu, 1);
	poly_add(&v, &mu);
	poly_compress(&v, DV);
	byte_encode(c + K * 32 * DU, &v, DV);
out:
	dssh_wipe(y, sizeof(y));
	dssh_wipe(&u, sizeof(u));
	dssh_wipe(&v, sizeof(v));
	dssh_wipe(&e2, sizeof(e2));
	dssh_wipe(&mu, sizeof(mu));
	return r;
}

/* Algorithm 15: m = Decrypt(dk_pke, c). */
static void
pke_decrypt(uint8_t m[32], const uint8_t *dk, const uint8_t *c)
{
	struct poly u[K], s[K], w, acc;

	for (int i = 0; i < K; i++) {
		byte_decode(&u[i], c + i * 32 * DU, DU);
		poly_decompress(&u[i], DU);
		ntt(&u[i]);
		byte_decode(&s[i], dk + i * POLYBYTES, 12);
	}
	poly_dot(&acc, s, u);
	ntt_inv(&acc);
	byte_decode(&w, c + K * 32 * DU, DV);
	poly_decompress(&w, DV);
	poly_sub(&w, &acc);
	poly_compress(&w, 1);
	byte_encode(m, &w, 1);
	dssh_wipe(s, sizeof(s));
	dssh_wipe(&w, sizeof(w));
	dssh_wipe(&acc, sizeof(acc));
}

/* ---- ML-KEM (6, 7) ---- */

int
dssh_mlkem768_keypair_derand(uint8_t pk[DSSH_MLKEM768_PK_LEN], uint8_t sk[DSSH_MLKEM768_SK_LEN],
    const uint8_t d[DSSH_MLKEM768_SEED_LEN], const uint8_t z[DSSH_MLKEM768_SEED_LEN])
{
	EVP_MD_CTX *ctx;
	int r;

	if (pk == NULL || sk == NULL || d == NULL || z == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((ctx = md_ctx_new()) == NULL)
		return DSSH_ERR_ALLOC;
	/* dk = dk_pke || ek || H(ek) || z (algorithm 16). */
	if ((r = pke_keygen(ctx, pk, sk, d)) == 0) {
		memcpy(sk + K * POLYBYTES, pk, DSSH_MLKEM768_PK_LEN);
		r = md_run(ctx, md_sha3_256, pk, DSSH_MLKEM768_PK_LEN, NULL, 0,
		    sk + K * POLYBYTES + DSSH_MLKEM768_PK_LEN, 32);
		memcpy(sk + DSSH_MLKEM768_SK_LEN - 32, z, 32);
	}
	EVP_MD_CTX_free(ctx);
	if (r != 0)
		dssh_wipe(sk, DSSH_MLKEM768_SK_LEN);
	return r;
}

int
dssh_mlkem768_keypair(uint8_t pk[DSSH_MLKEM768_PK_LEN], uint8_t sk[DSSH_MLKEM768_SK_LEN])
{
	uint8_t dz[64];
	int r;

	if (RAND_priv_bytes(dz, sizeof(dz)) != 1)
		return DSSH_ERR_LIBCRYPTO;
	r = dssh_mlkem768_keypair_derand(pk, sk, dz, dz + 32);
	dssh_wipe(dz, sizeof(dz));
	return r;
}

/* 7.2 modulus check: every ByteDecode12 value of ek below q (ek is public). */
static int
ek_check(const uint8_t *ek)
{
	for (int i = 0; i < K * POLYBYTES; i += 3) {
		unsigned a = ek[i] | (ek[i + 1] & 0x0f) << 8;
		unsigned b = ek[i + 1] >> 4 | ek[i + 2] << 4;

		if (a >= Q || b >= Q)
			return DSSH_ERR_INVALID_FORMAT;
	}
	return 0;
}

int
dssh_mlkem768_encaps_derand(uint8_t ct[DSSH_MLKEM768_CT_LEN], uint8_t ss[DSSH_MLKEM768_SS_LEN],
    const uint8_t pk[DSSH_MLKEM768_PK_LEN], const uint8_t m[DSSH_MLKEM768_SEED_LEN])
{
	EVP_MD_CTX *ctx;
	uint8_t mh[64], kr[64];                 /* m || H(ek); K || r */
	int r;

	if (ct == NULL || ss == NULL || pk == NULL || m == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((r = ek_check(pk)) != 0)
		return r;
	if ((ctx = md_ctx_new()) == NULL)
		return DSSH_ERR_ALLOC;
	/* Algorithm 17: (K, r) = G(m || H(ek)); c = Encrypt(ek, m, r). */
	memcpy(mh, m, 32);
	if ((r = md_run(ctx, md_sha3_256, pk, DSSH_MLKEM768_PK_LEN, NULL, 0, mh + 32, 32)) == 0 &&
	    (r = md_run(ctx, md_sha3_512, mh, sizeof(mh), NULL, 0, kr, sizeof(kr))) == 0 &&
	    (r = pke_encrypt(ctx, ct, pk, m, kr + 32)) == 0)
		memcpy(ss, kr, 32);
	EVP_MD_CTX_free(ctx);
	dssh_wipe(mh, sizeof(mh));
	dssh_wipe(kr, sizeof(kr));
	return r;
}

int
dssh_mlkem768_encaps(uint8_t ct[DSSH_MLKEM768_CT_LEN], uint8_t ss[DSSH_MLKEM768_SS_LEN],
    const uint8_t pk[DSSH_MLKEM768_PK_LEN])
{
	uint8_t m[32];
	int r;

	if (RAND_priv_bytes(m, sizeof(m)) != 1)
		return DSSH_ERR_LIBCRYPTO;
	r = dssh_mlkem768_encaps_derand(ct, ss, pk, m);
	dssh_wipe(m, sizeof(m));
	return r;
}

int
dssh_mlkem768_decaps(uint8_t ss[DSSH_MLKEM768_SS_LEN], const uint8_t ct[DSSH_MLKEM768_CT_LEN],
    const uint8_t sk[DSSH_MLKEM768_SK_LEN])
{
	const uint8_t *dk_pke = sk, *ek = sk + K * POLYBYTES;
	const uint8_t *h = ek + DSSH_MLKEM768_PK_LEN, *z = h + 32;
	uint8_t hek[32], mh[64], kr[64], kbar[32], c2[DSSH_MLKEM768_CT_LEN];
	EVP_MD_CTX *ctx;
	uint32_t diff = 0;
	uint8_t mask;
	int r;

	if (ss == NULL || ct == NULL || sk == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((ctx = md_ctx_new()) == NULL)
		return DSSH_ERR_ALLOC;
	/* 7.3 hash check; ek and H(ek) are public. */
	if ((r = md_run(ctx, md_sha3_256, ek, DSSH_MLKEM768_PK_LEN, NULL, 0, hek, 32)) != 0)
		goto out;
	if (memcmp(hek, h, 32) != 0) {
		r = DSSH_ERR_INVALID_FORMAT;
		goto out;
	}
	/* Algorithm 18. */
	pke_decrypt(mh, dk_pke, ct);
	memcpy(mh + 32, h, 32);
	if ((r = md_run(ctx, md_sha3_512, mh, sizeof(mh), NULL, 0, kr, sizeof(kr))) != 0 ||
	    (r = md_run(ctx, md_shake256, z, 32, ct, DSSH_MLKEM768_CT_LEN, kbar,
	    sizeof(kbar))) != 0 ||
	    (r = pke_encrypt(ctx, c2, ek, mh, kr + 32)) != 0)
		goto out;
	for (size_t i = 0; i < DSSH_MLKEM768_CT_LEN; i++)
		diff |= (uint32_t)(ct[i] ^ c2[i]);
	/* mask = 0xff when c == c' (diff == 0), else 0. */
	mask = (uint8_t)((diff - 1) >> 8 & 1) * 0xff;
	for (int i = 0; i < 32; i++)
		ss[i] = (uint8_t)((kr[i] & mask) | (kbar[i] & (uint8_t)~mask));
out:
	EVP_MD_CTX_free(ctx);
	dssh_wipe(mh, sizeof(mh));
	dssh_wipe(kr, sizeof(kr));
	dssh_wipe(kbar, sizeof(kbar));
	dssh_wipe(c2, sizeof(c2));
	return r;
}
