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

/* sshkey_crypt.c: openssh-key-v1 private section ciphers */
struct sshkey_cipher {
	const char *name;
	int mode;
	size_t keylen, ivlen, blocksize, authlen;
};
const struct sshkey_cipher *sshkey_cipher_by_name(const uint8_t *name, size_t len);
/* in[0..len) -> out (len bytes); tag: authlen bytes (AEAD ciphers). */
int sshkey_decrypt_private(const struct sshkey_cipher *c, const uint8_t *kdfopts, size_t kolen,
    const char *pass, unsigned max_rounds, const uint8_t *in, size_t len, const uint8_t *tag,
    uint8_t *out);

/* sshkey_file.c: parse with a cap on the KDF rounds (fuzzing uses a small one). */
int sshkey_parse_private_max(const char *text, size_t len, const char *pass,
    unsigned max_rounds, struct dssh_sshkey **keyp);

#endif
