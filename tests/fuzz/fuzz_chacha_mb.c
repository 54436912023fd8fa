/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Batched chacha20-poly1305@openssh.com (lib/crypto/chacha_mb.c) against
 * the OpenSSL-based chachapoly.c (the openssl engine's code), on bursts the
 * input describes:
 *
 *   byte 0        implementation (scalar, avx2, avx512; capped by the CPU)
 *   byte 1        packets in the burst (1..24)
 *   bytes 2..257  four 64-byte keys (zero-padded when the input is short)
 *   then per packet: 2 bytes length, 4 bytes seq, 1 byte key, 2 bytes where
 *   to flip a bit (0xffff: nowhere); the rest of the input fills the packets.
 *
 * Seal must give the same bytes as OpenSSL; open must accept exactly the
 * untouched packets, give back their plaintext, and leave the others as
 * they came; the raw (unsealed) bytes opened by both must be refused alike.
 * The length keystream of n packets at once (framing's look-ahead) must
 * match OpenSSL's one-at-a-time length decryption.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chacha_mb.h"
#include "chachapoly.h"
#include "dssh_err.h"

#define MAXN 24
#define NKEY 4

static struct dssh_chacha_mb *cmb;

static uint8_t
byte_at(const uint8_t *d, size_t n, size_t i)
{
	return i < n ? d[i] : 0;
}

/*
 * p[i] = d[pos % n] ^ (pos >> 8) for pos counting up from *pos (i when the
 * input is empty), a run at a time. The harness's own byte loop gives
 * coverage nothing (no branch on the bytes), yet instrumented it took half
 * of every run: a comparison callback per byte of up to 24 x 18 KiB. Nor
 * ASan or UBSan: their checks per byte (address, pointer overflow; the run
 * stays inside p[0..len) and d[0..n) by construction) kept the loop from
 * vectorizing and were an eighth of the run; what the code under test reads
 * of these bytes is still checked.
 */
__attribute__((no_sanitize("coverage", "address", "undefined"))) static void
fill(uint8_t *p, size_t len, const uint8_t *d, size_t n, size_t *pos)
{
	size_t i = 0;

	if (n == 0) {
		for (; i < len; i++)
			p[i] = (uint8_t)i;
		*pos += len;
		return;
	}
	while (i < len) {
		size_t at = *pos % n, run = len - i;
		uint8_t x = (uint8_t)(*pos >> 8);

		if (run > n - at)
			run = n - at;
		if (run > 256 - (*pos & 255))
			run = 256 - (*pos & 255);
		for (size_t j = 0; j < run; j++)
			p[i + j] = d[at + j] ^ x;
		i += run;
		*pos += run;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dssh_chacha_mb_impl impls[] = {
		DSSH_CHACHA_MB_SCALAR, DSSH_CHACHA_MB_AVX2, DSSH_CHACHA_MB_AVX512,
	};
	struct dssh_chacha_mb_op ops[MAXN], raw[MAXN];
	struct dssh_chachapoly *ref[NKEY] = { NULL };
	uint8_t keys[NKEY][64], *pkt[MAXN] = { NULL }, *exp[MAXN] = { NULL }, *plain[MAXN] = { NULL };
	uint8_t *rawp[MAXN] = { NULL };
	uint32_t len[MAXN], seq[MAXN], flip[MAXN];
	unsigned n, i, k, impl;
	size_t pos, hdr;

	if (cmb == NULL && dssh_chacha_mb_new(8, &cmb) != 0)
		abort();
	impl = byte_at(data, size, 0) % 3;
	while (dssh_chacha_mb_set_impl(impls[impl]) != 0)
		impl--;
	n = 1 + byte_at(data, size, 1) % MAXN;
	for (k = 0; k < NKEY; k++) {
		for (i = 0; i < 64; i++)
			keys[k][i] = byte_at(data, size, 2 + 64 * k + i);
		if (dssh_chachapoly_new(keys[k], &ref[k]) != 0)
			abort();
	}
	hdr = 2 + 64 * NKEY;
	pos = hdr + 9 * (size_t)n;
	for (i = 0; i < n; i++) {
		size_t o = hdr + 9 * (size_t)i;
		unsigned kk = byte_at(data, size, o + 6) % NKEY;
		uint32_t l = (uint32_t)byte_at(data, size, o) << 8 | byte_at(data, size, o + 1);

		len[i] = 4 + l % 9000;
		seq[i] = (uint32_t)byte_at(data, size, o + 2) << 24 |
		    (uint32_t)byte_at(data, size, o + 3) << 16 |
		    (uint32_t)byte_at(data, size, o + 4) << 8 | byte_at(data, size, o + 5);
		flip[i] = (uint32_t)byte_at(data, size, o + 7) << 8 | byte_at(data, size, o + 8);
		pkt[i] = malloc(len[i] + 16);
		exp[i] = malloc(len[i] + 16);
		plain[i] = malloc(len[i]);
		rawp[i] = malloc(len[i] + 16);
		if (pkt[i] == NULL || exp[i] == NULL || plain[i] == NULL || rawp[i] == NULL)
			abort();
		fill(plain[i], len[i], data, size, &pos);
		memcpy(pkt[i], plain[i], len[i]);
		memcpy(exp[i], plain[i], len[i]);
		fill(rawp[i], len[i] + 16, data, size, &pos);
		if (dssh_chachapoly_seal(ref[kk], seq[i], exp[i], len[i]) != 0)
			abort();
		ops[i] = (struct dssh_chacha_mb_op){ keys[kk], pkt[i], len[i], seq[i], -1 };
		raw[i] = (struct dssh_chacha_mb_op){ keys[kk], rawp[i], len[i], seq[i], -1 };
	}
	{
		uint8_t ks[MAXN][4], zero[4] = { 0, 0, 0, 0 };
		uint32_t want;

		dssh_chacha_mb_length_ks(keys[0], seq[0], n > 16 ? 16 : n, ks);
		for (i = 0; i < n && i < 16; i++)
			if (dssh_chachapoly_length(ref[0], seq[0] + i, zero, &want) != 0 ||
			    want != ((uint32_t)ks[i][0] << 24 | (uint32_t)ks[i][1] << 16 |
			    (uint32_t)ks[i][2] << 8 | ks[i][3]))
				abort();
	}
	dssh_chacha_mb_seal(cmb, ops, n);
	for (i = 0; i < n; i++)
		if (ops[i].status != 0 || memcmp(pkt[i], exp[i], len[i] + 16) != 0)
			abort();
	for (i = 0; i < n; i++)
		if (flip[i] != 0xffff) {
			uint32_t at = flip[i] % (len[i] + 16);

			pkt[i][at] ^= (uint8_t)(1u << (flip[i] >> 13));
			memcpy(exp[i], pkt[i], len[i] + 16);
		}
	dssh_chacha_mb_open(cmb, ops, n);
	for (i = 0; i < n; i++) {
		if (flip[i] != 0xffff) {
			if (ops[i].status != DSSH_ERR_MAC_INVALID ||
			    memcmp(pkt[i], exp[i], len[i] + 16) != 0)
				abort();
		} else if (ops[i].status != 0 || memcmp(pkt[i], plain[i], len[i]) != 0) {
			abort();
		}
	}
	/* garbage: both refuse (a forgery here would be a 2^-106 event) */
	dssh_chacha_mb_open(cmb, raw, n);
	for (i = 0; i < n; i++) {
		int want = dssh_chachapoly_open(ref[(raw[i].key - keys[0]) / 64], seq[i], rawp[i],
		    len[i]);

		if (raw[i].status != want)
			abort();
	}
	for (i = 0; i < n; i++) {
		free(pkt[i]);
		free(exp[i]);
		free(plain[i]);
		free(rawp[i]);
	}
	for (k = 0; k < NKEY; k++)
		dssh_chachapoly_free(ref[k]);
	dssh_chacha_mb_set_impl(DSSH_CHACHA_MB_AUTO);
	return 0;
}
