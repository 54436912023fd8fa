/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_CHACHA_MB_INT_H
#define DSSH_CHACHA_MB_INT_H

/* Between chacha_mb.c (portable, scheduling) and chacha_mb_x86.c (SIMD). */
#include <stdint.h>

/* One ChaCha20 keystream block in one lane: out[0..nbytes) =
 * in[0..nbytes) ^ block(key, ctr, nonce). nbytes 0 leaves the lane idle. */
struct cmb_task {
	uint32_t koff;        /* first of the 8 key words in the key table */
	uint32_t ctr;         /* state word 12 (word 13 is 0: OpenSSH's 64-bit counter) */
	uint32_t nonce;       /* state word 15 (word 14 is 0: seq < 2^32) */
	uint32_t nbytes;      /* 0..64 */
	const uint8_t *in;
	uint8_t *out;
};

/* One Poly1305 message. */
struct cmb_poly {
	const uint8_t *key;   /* 32: r || s */
	const uint8_t *m;
	uint32_t len;
	uint8_t *tag;
};

#define CMB_LANES_MAX 16

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CMB_X86 1
void dssh_cmb_avx512_tasks(const uint32_t *keytab, const struct cmb_task t[16]);
void dssh_cmb_avx512_wide(const uint32_t key[8], uint32_t ctr, uint32_t nonce,
    const uint8_t *in, uint8_t *out);               /* 16 full blocks */
void dssh_cmb_avx2_tasks(const uint32_t *keytab, const struct cmb_task t[8]);
void dssh_cmb_avx2_wide(const uint32_t key[8], uint32_t ctr, uint32_t nonce,
    const uint8_t *in, uint8_t *out);               /* 8 full blocks */
void dssh_cmb_poly_ifma(const struct cmb_poly *jobs, unsigned n);
#endif

/* h (radix 2^44 limbs, not fully reduced) + s -> tag; shared final step. */
void dssh_cmb_poly_finish44(const uint64_t h44[3], const uint8_t s[16], uint8_t tag[16]);

#endif
