/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_CHACHAPOLY_H
#define DSSH_CHACHAPOLY_H

/*
 * chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305) in
 * software, OpenSSL EVP ChaCha20 + Poly1305: K_2 = key[0..32) encrypts the
 * payload from block 1 and its block 0 gives the Poly1305 key; K_1 =
 * key[32..64) encrypts the 4 length bytes from block 0; nonce = seq as a
 * 64-bit big-endian number; the tag covers the whole encrypted packet.
 *
 * Shared by the engines that have no better path for it (openssl; cryptodev,
 * whose devices only know RFC 8439's AEAD). Packet layout as in
 * dssh_crypto.h: pkt[0..len) then the 16-byte tag.
 */
#include <stdint.h>

struct dssh_chachapoly;

/* key: 64 bytes (K_2 || K_1). */
int dssh_chachapoly_new(const uint8_t key[64], struct dssh_chachapoly **out);
void dssh_chachapoly_free(struct dssh_chachapoly *c);     /* wipes; NULL ok */
/* Encrypts pkt[0..len) in place and writes the tag at pkt + len. */
int dssh_chachapoly_seal(struct dssh_chachapoly *c, uint32_t seq, uint8_t *pkt, uint32_t len);
/* Checks the tag at pkt + len, then decrypts. DSSH_ERR_MAC_INVALID leaves
 * pkt as it was (still ciphertext); the caller wipes on any failure. */
int dssh_chachapoly_open(struct dssh_chachapoly *c, uint32_t seq, uint8_t *pkt, uint32_t len);
/* The plaintext packet_length from the first 4 wire bytes. */
int dssh_chachapoly_length(struct dssh_chachapoly *c, uint32_t seq, const uint8_t wire[4],
    uint32_t *packet_length);

#endif
