/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_KEX_INT_H
#define DSSH_KEX_INT_H

/*
 * Internal interface of lib/kex: one ops table per method family.
 *
 * Adding a method:
 *   - a method of an existing family (another DH group, another curve) is
 *     one line in kex_algs[] in kex.c;
 *   - a new family is one file kex_<family>.c defining a
 *     `const struct dssh_kex_method_ops dssh_kex_<family>_ops`, its
 *     declaration below, the file in meson.build and its line(s) in
 *     kex_algs[] (and in kex_names, the advertised preference order).
 *
 * The public wrappers in kex.c check the arguments, check the value's
 * length against alg->pub_len / alg->reply_len (exact for string values,
 * an upper bound for DH's mpints) before any key generation, and on
 * failure wipe and drop whatever a method appended to the output buffers,
 * so the methods may fail half-way.
 *
 * Encodings: the methods append the SSH encoding themselves: the public
 * value as it goes in the reply and the exchange hash (string or mpint,
 * alg->pub_mpint) and K as it goes in the exchange hash and the key
 * derivation (mpint, or string when alg->k_string).
 */

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "dssh_buf.h"
#include "dssh_kex.h"

struct dssh_kex_method_ops {
	/*
	 * Server side in one step: validate the client's raw value (string
	 * contents / mpint magnitude), make an ephemeral key or encapsulate
	 * to the client's key, append the server's public value encoded
	 * (string Q_S / S_REPLY, mpint f) to server_pub_enc and K encoded to
	 * K_enc. A malformed or invalid client value: DSSH_ERR_INVALID_FORMAT.
	 */
	int (*server_reply)(const struct dssh_kex_alg *alg, const uint8_t *client_pub,
	    size_t len, struct dssh_buf *server_pub_enc, struct dssh_buf *K_enc);
	/* Client side: make the ephemeral key pair(s) into *statep. */
	int (*client_new)(const struct dssh_kex_alg *alg, void **statep);
	/* Append the client's public value, encoded (string Q_C / C_INIT, mpint e). */
	int (*client_pub)(const struct dssh_kex_alg *alg, void *state, struct dssh_buf *out);
	/* Check the server's raw value, agree / decapsulate, append K encoded. */
	int (*client_finish)(const struct dssh_kex_alg *alg, void *state,
	    const uint8_t *server_pub, size_t len, struct dssh_buf *K_enc);
	/* Wipe and free the state; NULL is fine. */
	void (*client_free)(void *state);
};

extern const struct dssh_kex_method_ops dssh_kex_x25519_ops;
extern const struct dssh_kex_method_ops dssh_kex_ecdh_ops;
extern const struct dssh_kex_method_ops dssh_kex_dh_ops;
extern const struct dssh_kex_method_ops dssh_kex_mlkem768x25519_ops;
extern const struct dssh_kex_method_ops dssh_kex_sntrup761x25519_ops;

/* Shared helpers (kex.c). */

/*
 * EVP_PKEY derivation own x peer into a fresh OPENSSL_secure_malloc'd
 * buffer (*secretp, *lenp; free with OPENSSL_secure_clear_free). A peer
 * key OpenSSL rejects gives DSSH_ERR_INVALID_FORMAT.
 */
int dssh_kex_evp_derive(EVP_PKEY *own, EVP_PKEY *peer, uint8_t **secretp, size_t *lenp);
/* dssh_kex_evp_derive, the secret appended to K_enc as an mpint. */
int dssh_kex_evp_agree_mpint(EVP_PKEY *own, EVP_PKEY *peer, struct dssh_buf *K_enc);
/* client_free of the families whose client state is their own EVP_PKEY. */
void dssh_kex_evp_client_free(void *state);

/*
 * X25519 pieces for the hybrid methods (kex_x25519.c): a fresh key, its
 * 32-byte public value, and the 32-byte shared secret with a raw peer
 * value (DSSH_ERR_INVALID_FORMAT on a bad length or an all-zero result,
 * RFC 8731 3).
 */
#define DSSH_KEX_X25519_LEN 32
int dssh_kex_x25519_keygen(EVP_PKEY **ownp);
int dssh_kex_x25519_pub(EVP_PKEY *own, uint8_t pub[DSSH_KEX_X25519_LEN]);
int dssh_kex_x25519_shared(EVP_PKEY *own, const uint8_t *peer, size_t len,
    uint8_t out[DSSH_KEX_X25519_LEN]);

#endif
