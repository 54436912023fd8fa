/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_PKEY_H
#define DSSH_PKEY_H

/*
 * OpenSSL 3 EVP_PKEY pieces that lib/kex (peer keys) and lib/sshkey (key
 * blobs and files) both build keys with.
 */
#include <stdbool.h>

#include <openssl/types.h>

/*
 * An EVP_PKEY of algorithm alg ("EC", "RSA", "DH", ...) with selection
 * (EVP_PKEY_PUBLIC_KEY or EVP_PKEY_KEYPAIR) from the built parameters in
 * *pkeyp; DSSH_ERR_INVALID_FORMAT (and *pkeyp NULL) if OpenSSL refuses them.
 */
int dssh_pkey_fromdata(const char *alg, int selection, OSSL_PARAM_BLD *bld,
    EVP_PKEY **pkeyp);

/*
 * OpenSSL's check of a key: the pairwise check of a private key with priv,
 * else the public check. 0, DSSH_ERR_INVALID_FORMAT, or DSSH_ERR_ALLOC.
 */
int dssh_pkey_check(EVP_PKEY *pkey, bool priv);

#endif
