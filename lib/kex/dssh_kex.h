/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_KEX_H
#define DSSH_KEX_H

/*
 * SSH key-exchange methods: the ephemeral key agreement, the exchange hash
 * digest and the key derivation of RFC 4253 7.2. The surrounding protocol
 * (KEXINIT, the exchange-hash input layout, host key signature) belongs to
 * the caller.
 *
 *   curve25519-sha256, curve25519-sha256@libssh.org    RFC 8731
 *   ecdh-sha2-nistp256/384/521                         RFC 5656
 *   diffie-hellman-group14-sha256                      RFC 8268 (2048-bit MODP)
 *   diffie-hellman-group16-sha512                      RFC 8268 (4096-bit MODP)
 *   diffie-hellman-group18-sha512                      RFC 8268 (8192-bit MODP)
 *   mlkem768x25519-sha256          draft-ietf-sshm-mlkem-hybrid-kex (FIPS 203)
 *   sntrup761x25519-sha512(@openssh.com)  draft-ietf-sshm-ntruprime-ssh
 *
 * Public values on the wire: ECDH / X25519 / the hybrids send a string
 * (Q_C, Q_S; C_INIT, S_REPLY), DH sends an mpint (e, f): alg->pub_mpint.
 * The "raw" client/server values these functions take are the string
 * contents, or the mpint magnitude (no sign byte). The shared secret K is
 * an mpint for the classic methods and a string for the hybrids
 * (alg->k_string); K_enc below is always K as encoded, ready for the
 * exchange hash and the derivation.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "dssh_buf.h"

/*
 * Method family. Informational for callers and tests; the library
 * dispatches through alg->ops (lib/kex/kex_int.h), so a new method of an
 * existing family is one table line and a new family is one file.
 */
enum dssh_kex_kind {
	DSSH_KEX_X25519,
	DSSH_KEX_ECDH,
	DSSH_KEX_DH,
	DSSH_KEX_HYBRID,                /* post-quantum KEM + X25519 */
};

struct dssh_kex_method_ops;

struct dssh_kex_alg {
	const char *name;               /* SSH name */
	enum dssh_kex_kind kind;
	const struct dssh_kex_method_ops *ops;
	const char *group;              /* OpenSSL group name (ECDH, DH) */
	const char *md_name;            /* exchange hash, OpenSSL name */
	size_t hash_len;                /* exchange hash output bytes */
	size_t pub_len;                 /* client value: exact bytes;
	                                   DH: modulus bytes (an upper bound) */
	size_t reply_len;               /* server value: exact bytes;
	                                   DH: modulus bytes (an upper bound) */
	bool pub_mpint;                 /* e, f are mpints (DH), else strings */
	bool k_string;                  /* K encoded as a string (the hybrid
	                                   PQ methods), else as an mpint */
};

#define DSSH_KEX_MAX_HASH 64

const struct dssh_kex_alg *dssh_kex_alg_by_name(const char *name);
/* Comma-separated list of all methods, in OpenSSH's preference order. */
const char *dssh_kex_alg_names(void);
/* The default list: the same order, without the NIST-curve ECDH methods. */
const char *dssh_kex_alg_default_names(void);
const EVP_MD *dssh_kex_alg_md(const struct dssh_kex_alg *alg);

/*
 * Server side, in one step: check the client's value, make an ephemeral key,
 * agree. Appends the server's public value, SSH-encoded as it goes both in
 * the reply and in the exchange hash (string Q_S / mpint f), to
 * server_pub_enc, and the shared secret K, encoded (mpint, or string when
 * alg->k_string), to K_enc. On failure neither buffer changes.
 * A malformed or out-of-range client value gives DSSH_ERR_INVALID_FORMAT.
 */
int dssh_kex_server_reply(const struct dssh_kex_alg *alg, const uint8_t *client_pub,
    size_t client_pub_len, struct dssh_buf *server_pub_enc, struct dssh_buf *K_enc);

/* Client side. */
struct dssh_kex_client;
int dssh_kex_client_new(const struct dssh_kex_alg *alg, struct dssh_kex_client **ctxp);
/* Appends the client's public value, SSH-encoded (string Q_C / mpint e). */
int dssh_kex_client_pub(struct dssh_kex_client *ctx, struct dssh_buf *client_pub_enc);
/* server_pub: raw Q_S string contents / f magnitude. Appends K encoded. */
int dssh_kex_client_finish(struct dssh_kex_client *ctx, const uint8_t *server_pub,
    size_t len, struct dssh_buf *K_enc);
void dssh_kex_client_free(struct dssh_kex_client *ctx);

/*
 * H = HASH(parts_concat): the exchange hash over the already serialised
 * input. *outlen: in, the room at out (>= alg->hash_len); out, the length.
 */
int dssh_kex_hash(const struct dssh_kex_alg *alg, const struct dssh_buf *parts_concat,
    uint8_t *out, size_t *outlen);

/*
 * RFC 4253 7.2: K1 = HASH(K || H || letter || session_id),
 * Kn = HASH(K || H || K1 || ... || Kn-1); out gets the first `need` bytes.
 * K_enc is K as encoded (mpint or string, as the server_reply/client_finish
 * calls appended it).
 */
int dssh_kex_derive(const struct dssh_kex_alg *alg, const struct dssh_buf *K_enc,
    const uint8_t *H, size_t hlen, const uint8_t *session_id, size_t sid_len,
    char letter, uint8_t *out, size_t need);

#endif
