/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_MLKEM_H
#define DSSH_MLKEM_H

/*
 * ML-KEM-768 (FIPS 203, module-lattice KEM, k = 3, eta1 = eta2 = 2,
 * du = 10, dv = 4), written from the standard; SHA3 / SHAKE from OpenSSL.
 *
 * Secret-dependent code (key generation, encapsulation, decapsulation
 * with its implicit rejection) runs in constant time: no branch and no
 * table index depends on secret data. That is checked by a unit test
 * running these functions under valgrind memcheck with the secrets marked
 * undefined (tests/unit/crypto/test_mlkem_ct.c).
 *
 * Encodings are FIPS 203's: ek (1184 bytes) = ByteEncode12(t) || rho,
 * dk (2400 bytes) = dk_pke || ek || H(ek) || z, ciphertext 1088 bytes,
 * shared secret 32 bytes.
 */

#include <stdint.h>

#define DSSH_MLKEM768_PK_LEN   1184
#define DSSH_MLKEM768_SK_LEN   2400
#define DSSH_MLKEM768_CT_LEN   1088
#define DSSH_MLKEM768_SS_LEN   32
#define DSSH_MLKEM768_SEED_LEN 32

/* ML-KEM.KeyGen_internal(d, z) (FIPS 203 algorithm 16). */
int dssh_mlkem768_keypair_derand(uint8_t pk[DSSH_MLKEM768_PK_LEN],
    uint8_t sk[DSSH_MLKEM768_SK_LEN], const uint8_t d[DSSH_MLKEM768_SEED_LEN],
    const uint8_t z[DSSH_MLKEM768_SEED_LEN]);
/* ML-KEM.KeyGen with d, z from the OpenSSL private DRBG. */
int dssh_mlkem768_keypair(uint8_t pk[DSSH_MLKEM768_PK_LEN], uint8_t sk[DSSH_MLKEM768_SK_LEN]);

/*
 * ML-KEM.Encaps_internal(ek, m) (algorithm 17) after the encapsulation
 * key check of 7.2: a key whose coefficients are not all below q gives
 * DSSH_ERR_INVALID_FORMAT.
 */
int dssh_mlkem768_encaps_derand(uint8_t ct[DSSH_MLKEM768_CT_LEN],
    uint8_t ss[DSSH_MLKEM768_SS_LEN], const uint8_t pk[DSSH_MLKEM768_PK_LEN],
    const uint8_t m[DSSH_MLKEM768_SEED_LEN]);
/* ML-KEM.Encaps with m from the OpenSSL private DRBG. */
int dssh_mlkem768_encaps(uint8_t ct[DSSH_MLKEM768_CT_LEN], uint8_t ss[DSSH_MLKEM768_SS_LEN],
    const uint8_t pk[DSSH_MLKEM768_PK_LEN]);

/*
 * ML-KEM.Decaps (algorithm 18) with implicit rejection: a ciphertext
 * that does not re-encrypt to itself yields J(z || c), not an error.
 * A decapsulation key failing the hash check of 7.3 gives
 * DSSH_ERR_INVALID_FORMAT.
 */
int dssh_mlkem768_decaps(uint8_t ss[DSSH_MLKEM768_SS_LEN],
    const uint8_t ct[DSSH_MLKEM768_CT_LEN], const uint8_t sk[DSSH_MLKEM768_SK_LEN]);

#endif
