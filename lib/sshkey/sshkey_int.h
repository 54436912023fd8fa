/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_SSHKEY_INT_H
#define DSSH_SSHKEY_INT_H

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "dssh_sshkey.h"

struct dssh_sshkey {
	enum dssh_sshkey_type type;
	EVP_PKEY *pkey;
	bool priv;
};

#define SSHKEY_ED25519_LEN 32
#define SSHKEY_RSA_MAX_BITS 16384

/* sshkey.c */
int sshkey_new(enum dssh_sshkey_type type, EVP_PKEY *pkey, bool priv, struct dssh_sshkey **keyp);
int sshkey_from_ed25519(const uint8_t *pub, size_t publen, const uint8_t *seed,
    struct dssh_sshkey **keyp);
int sshkey_from_ecdsa(enum dssh_sshkey_type type, const uint8_t *q, size_t qlen,
    const uint8_t *d, size_t dlen, struct dssh_sshkey **keyp);
int sshkey_from_rsa(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen,
    const uint8_t *d, size_t dlen, const uint8_t *iqmp, size_t iqmplen,
    const uint8_t *p, size_t plen, const uint8_t *q, size_t qlen, struct dssh_sshkey **keyp);
/* Type of an EVP_PKEY loaded from elsewhere (PEM, generation). */
int sshkey_type_of_pkey(EVP_PKEY *pkey, enum dssh_sshkey_type *typep);
const char *sshkey_ec_curve_name(enum dssh_sshkey_type type);   /* "nistp256" */
const char *sshkey_ec_group_name(enum dssh_sshkey_type type);   /* OpenSSL group */
/* Uncompressed point 0x04 || X || Y. */
int sshkey_ec_point(EVP_PKEY *pkey, enum dssh_sshkey_type type, uint8_t *out, size_t *lenp);
int sshkey_put_bn_param(struct dssh_buf *b, EVP_PKEY *pkey, const char *param);

/* base64 (strict: alphabet, length multiple of 4, padding only at the end) */
int sshkey_b64_decode(const char *s, size_t n, uint8_t **outp, size_t *outlenp);
int sshkey_b64_encode(struct dssh_buf *b, const uint8_t *data, size_t len);

#endif
