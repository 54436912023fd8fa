/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_SNTRUP761_H
#define DSSH_SNTRUP761_H

/*
 * Streamlined NTRU Prime sntrup761 (p = 761, q = 4591, w = 286), the KEM of
 * the NTRU Prime round-3 submission as OpenSSH's sntrup761x25519-sha512 uses
 * it: public key 1158 bytes, secret key 1763, ciphertext 1039, shared secret
 * 32. Written from the specification (see sntrup761.c for the construction
 * and for how constant time in secret data is checked).
 *
 * Randomness comes from OpenSSL's RAND_bytes; the _rng variants take a
 * generator instead (deterministic known-answer tests), called with the
 * same request sizes as the reference implementation's randombytes().
 */
#include <stddef.h>
#include <stdint.h>

#define DSSH_SNTRUP761_PK_LEN 1158
#define DSSH_SNTRUP761_SK_LEN 1763
#define DSSH_SNTRUP761_CT_LEN 1039
#define DSSH_SNTRUP761_SS_LEN 32

/* Fills out[0..len); returns 0, or a negative DSSH_ERR_* to abort. */
typedef int (*dssh_sntrup761_rng)(void *arg, uint8_t *out, size_t len);

int dssh_sntrup761_keypair(uint8_t pk[DSSH_SNTRUP761_PK_LEN],
    uint8_t sk[DSSH_SNTRUP761_SK_LEN]);
int dssh_sntrup761_keypair_rng(uint8_t pk[DSSH_SNTRUP761_PK_LEN],
    uint8_t sk[DSSH_SNTRUP761_SK_LEN], dssh_sntrup761_rng rng, void *arg);

/* pk_len must be DSSH_SNTRUP761_PK_LEN (else DSSH_ERR_INVALID_FORMAT). */
int dssh_sntrup761_enc(uint8_t ct[DSSH_SNTRUP761_CT_LEN], uint8_t ss[DSSH_SNTRUP761_SS_LEN],
    const uint8_t *pk, size_t pk_len);
int dssh_sntrup761_enc_rng(uint8_t ct[DSSH_SNTRUP761_CT_LEN],
    uint8_t ss[DSSH_SNTRUP761_SS_LEN], const uint8_t *pk, size_t pk_len,
    dssh_sntrup761_rng rng, void *arg);

/*
 * ct_len must be DSSH_SNTRUP761_CT_LEN (else DSSH_ERR_INVALID_FORMAT). Any
 * ciphertext of that length decapsulates: one that does not re-encrypt to
 * itself gives the implicit-rejection key (a hash of the secret rho and the
 * ciphertext), not an error, as the KEM specifies.
 */
int dssh_sntrup761_dec(uint8_t ss[DSSH_SNTRUP761_SS_LEN], const uint8_t *ct, size_t ct_len,
    const uint8_t sk[DSSH_SNTRUP761_SK_LEN]);

#endif
