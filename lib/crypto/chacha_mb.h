/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_CHACHA_MB_H
#define DSSH_CHACHA_MB_H

/*
 * chacha20-poly1305@openssh.com for a burst of packets at once (OpenSSH
 * PROTOCOL.chacha20poly1305, same construction as chachapoly.h), written
 * here from RFC 8439 without OpenSSL:
 *
 * - ChaCha20 keystream blocks of many packets run together in SIMD lanes
 *   (AVX-512: 16 lanes, AVX2: 8, else one block at a time). Every block a
 *   burst needs is one lane task: the K_1 block 0 for the 4 length bytes, the
 *   K_2 block 0 for the Poly1305 key and the K_2 payload blocks from 1, each
 *   with its own key, nonce (the sequence number) and counter. 16 full
 *   payload blocks of one packet go through a broadcast-key pass instead.
 * - Poly1305: 16 packets at once in AVX-512 IFMA lanes (radix 2^44) where
 *   the CPU has it (a lone long packet split over the lanes), else a 64-bit
 *   scalar (radix 2^64, unsigned __int128); on the AVX2 path long packets go
 *   to OpenSSL's SIMD Poly1305.
 *
 * The implementation is picked at first use from the CPU features; the
 * environment variable DSSH_CHACHA_IMPL=scalar|avx2|avx512 (or
 * dssh_chacha_mb_set_impl(), for tests) forces a lower one.
 */
#include <stddef.h>
#include <stdint.h>

enum dssh_chacha_mb_impl {
	DSSH_CHACHA_MB_AUTO = 0,
	DSSH_CHACHA_MB_SCALAR,
	DSSH_CHACHA_MB_AVX2,
	DSSH_CHACHA_MB_AVX512,
};

/* One packet; layout as in dssh_crypto.h: pkt[0..len) then the 16-byte tag. */
struct dssh_chacha_mb_op {
	const uint8_t *key;   /* 64 bytes: K_2 || K_1 */
	uint8_t *pkt;
	uint32_t len;         /* >= 4 */
	uint32_t seq;
	int status;           /* out: 0 or DSSH_ERR_MAC_INVALID (open) */
};

struct dssh_chacha_mb;

/* Scratch for bursts of up to max_ops packets (larger ones are chunked). */
int dssh_chacha_mb_new(unsigned max_ops, struct dssh_chacha_mb **out);
void dssh_chacha_mb_free(struct dssh_chacha_mb *c);       /* wipes; NULL ok */

/* Encrypts every pkt[0..len) in place and writes its tag at pkt + len. */
void dssh_chacha_mb_seal(struct dssh_chacha_mb *c, struct dssh_chacha_mb_op *ops, unsigned n);
/* Checks every tag (constant time) and decrypts only the packets whose tag
 * is right; a refused packet keeps its ciphertext and gets
 * DSSH_ERR_MAC_INVALID. */
void dssh_chacha_mb_open(struct dssh_chacha_mb *c, struct dssh_chacha_mb_op *ops, unsigned n);
/* The plaintext packet_length from the first 4 wire bytes. */
void dssh_chacha_mb_length(const uint8_t key[64], uint32_t seq, const uint8_t wire[4],
    uint32_t *packet_length);

/* The 4 length keystream bytes (K_1 block 0) of the packets with sequence
 * numbers seq0 .. seq0 + n - 1 (n <= 16, wrapping at 2^32), computed
 * together in the lanes: framing reads one length per packet, in order. */
void dssh_chacha_mb_length_ks(const uint8_t key[64], uint32_t seq0, unsigned n,
    uint8_t ks[][4]);

/* 0, or DSSH_ERR_UNSUPPORTED when the CPU lacks what impl needs. AUTO
 * goes back to the best one (still capped by DSSH_CHACHA_IMPL). */
int dssh_chacha_mb_set_impl(enum dssh_chacha_mb_impl impl);
enum dssh_chacha_mb_impl dssh_chacha_mb_get_impl(void);
/* "scalar", "avx2", "avx512"; with "+ifma" when Poly1305 runs in IFMA. */
const char *dssh_chacha_mb_impl_name(void);

/* Building blocks, exposed for the known-answer tests (RFC 8439). */
/* One ChaCha20 block, RFC 8439 2.3: key 32 bytes, w12..w15 the last row. */
void dssh_chacha20_block(const uint8_t key[32], const uint32_t w[4], uint8_t out[64]);
/* Poly1305 (RFC 8439 2.5) of m[0..n) under the 32-byte one-time key. */
void dssh_poly1305(const uint8_t key[32], const uint8_t *m, size_t n, uint8_t tag[16]);
/* The same for n messages at once through the selected implementation. */
void dssh_poly1305_multi(const uint8_t *const *keys, const uint8_t *const *msgs,
    const uint32_t *lens, uint8_t *const *tags, unsigned n);

#endif
