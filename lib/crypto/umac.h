/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_UMAC_H
#define DSSH_UMAC_H

/*
 * UMAC-64 / UMAC-128 (RFC 4418) with AES-128, as used by OpenSSH's
 * umac-64-etm@openssh.com and umac-128-etm@openssh.com: the nonce is the
 * 8-byte big-endian sequence number.
 */
#include <stddef.h>
#include <stdint.h>

struct dssh_umac;

/* key: 16 bytes; taglen: 8 (UMAC-64) or 16 (UMAC-128). */
int dssh_umac_new(const uint8_t key[16], size_t taglen, struct dssh_umac **out);
void dssh_umac_free(struct dssh_umac *u);   /* wipes; NULL ok */
/* Generic RFC 4418 interface: nonce of 1..16 bytes. */
int dssh_umac_compute(struct dssh_umac *u, const uint8_t *msg, size_t len,
    const uint8_t *nonce, size_t nonce_len, uint8_t *tag);
/* SSH form: nonce = uint64 BE seq; MAC over seq-less msg (the ETM packet
 * bytes: length || ciphertext). Writes taglen bytes. */
int dssh_umac_mac(struct dssh_umac *u, uint32_t seq, const uint8_t *msg, size_t len,
    uint8_t *tag);

#endif
