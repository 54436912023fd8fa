/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_SSHKEY_H
#define DSSH_SSHKEY_H

/*
 * SSH public-key algorithms: key files, wire blobs, signatures.
 *
 * Key types: ssh-ed25519 (RFC 8709), ecdsa-sha2-nistp256/384/521 (RFC 5656),
 * ssh-rsa (RFC 4253 6.6). Signature algorithms: ssh-ed25519,
 * ecdsa-sha2-nistp256/384/521, rsa-sha2-256, rsa-sha2-512 (RFC 8332) and
 * ssh-rsa (SHA-1).
 *
 * All functions return 0 or a negative DSSH_ERR_* code unless noted.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dssh_buf.h"

enum dssh_sshkey_type {
	DSSH_SSHKEY_UNKNOWN = 0,
	DSSH_SSHKEY_ED25519,
	DSSH_SSHKEY_ECDSA_P256,
	DSSH_SSHKEY_ECDSA_P384,
	DSSH_SSHKEY_ECDSA_P521,
	DSSH_SSHKEY_RSA,
};

#define DSSH_SSHKEY_RSA_MIN_BITS 1024
#define DSSH_SSHKEY_RSA_DEFAULT_BITS 3072
/* "SHA256:" + 43 base64 chars + NUL */
#define DSSH_SSHKEY_FP_LEN 64

struct dssh_sshkey;

void dssh_sshkey_free(struct dssh_sshkey *key);

/* Names <-> types. Unknown names give DSSH_SSHKEY_UNKNOWN / NULL. */
enum dssh_sshkey_type dssh_sshkey_type_from_name(const char *name);
const char *dssh_sshkey_type_to_name(enum dssh_sshkey_type type);
enum dssh_sshkey_type dssh_sshkey_type(const struct dssh_sshkey *key);
const char *dssh_sshkey_type_name(const struct dssh_sshkey *key);
bool dssh_sshkey_has_private(const struct dssh_sshkey *key);
/* Key size in bits (255 for ed25519, curve size, RSA modulus). */
unsigned dssh_sshkey_bits(const struct dssh_sshkey *key);

/* Private key files. */
/*
 * Refuse what sshd refuses: not a regular file, or readable/writable by
 * group or other (DSSH_ERR_KEY_BAD_PERMISSIONS).
 */
int dssh_sshkey_check_perms_fd(int fd, const char *path);
int dssh_sshkey_check_perms(const char *path);
/*
 * Loads openssh-key-v1 or PEM (PKCS#8 / traditional). A passphrase-protected
 * key (openssh-key-v1, PKCS#8 EncryptedPrivateKeyInfo, or traditional PEM
 * with a DEK-Info header) gives DSSH_ERR_KEY_ENCRYPTED.
 */
int dssh_sshkey_load_private(const char *path, struct dssh_sshkey **keyp);
/* Same, from the file's text, without the permission check. */
int dssh_sshkey_parse_private(const char *text, size_t len, struct dssh_sshkey **keyp);
/*
 * With a passphrase (NUL-terminated; NULL = none) for openssh-key-v1 keys
 * encrypted with kdf "bcrypt" and aes{128,192,256}-{ctr,cbc},
 * aes{128,256}-gcm@openssh.com or chacha20-poly1305@openssh.com, and for
 * encrypted PEM (decrypted by OpenSSL's decoder, which is handed this
 * passphrase only and never prompts). A wrong passphrase gives
 * DSSH_ERR_KEY_PASSPHRASE; KDF rounds above DSSH_SSHKEY_MAX_KDF_ROUNDS
 * (in PKCS#8: PBKDF2 iterations or scrypt's N*r*p above 1000 times as
 * many) are refused
 * (DSSH_ERR_INVALID_FORMAT) so that a hostile file cannot keep the caller
 * busy for hours.
 */
#define DSSH_SSHKEY_MAX_KDF_ROUNDS 10000
int dssh_sshkey_load_private_pass(const char *path, const char *passphrase,
    struct dssh_sshkey **keyp);
int dssh_sshkey_parse_private_pass(const char *text, size_t len, const char *passphrase,
    struct dssh_sshkey **keyp);

/*
 * bcrypt_pbkdf as OpenSSH defines it (keylen 1..1024, salt 1..
 * DSSH_BCRYPT_MAX_SALT bytes, rounds >= 1).
 */
#define DSSH_BCRYPT_MAX_SALT 1024
int dssh_bcrypt_pbkdf(const char *pass, size_t passlen, const uint8_t *salt, size_t saltlen,
    unsigned rounds, uint8_t *key, size_t keylen);
/* Blowfish's initial P-array then S-boxes: the first 1042 words of pi's fraction. */
int dssh_bcrypt_pi_words(const uint32_t **wordsp, size_t *np);

/* bits: RSA modulus size (0 = 3072); ignored for the other types. */
int dssh_sshkey_generate(enum dssh_sshkey_type type, unsigned bits, struct dssh_sshkey **keyp);
/* Writes path (openssh-key-v1, 0600) and path.pub (0644). */
int dssh_sshkey_save_private(const struct dssh_sshkey *key, const char *path, const char *comment);
/* The private key in openssh-key-v1 armoured text form (appended to out). */
int dssh_sshkey_private_to_text(const struct dssh_sshkey *key, const char *comment, struct dssh_buf *out);
/* "type base64 comment\n" (appended to out; comment may be NULL). */
int dssh_sshkey_public_to_text(const struct dssh_sshkey *key, const char *comment, struct dssh_buf *out);

/*
 * Like `ssh-keygen -A`: in dir, create ssh_host_ed25519_key,
 * ssh_host_ecdsa_key (nistp256) and ssh_host_rsa_key (3072 bits) unless
 * present. When createdp is not NULL it receives a malloc'ed array of the
 * paths created (*ncreatedp entries, may be 0): free with
 * dssh_sshkey_free_paths().
 */
int dssh_sshkey_ensure_host_keys(const char *dir, char ***createdp, size_t *ncreatedp);
void dssh_sshkey_free_paths(char **paths, size_t n);

/* Public key wire blob (appended to out) and its strict parser. */
int dssh_sshkey_public_blob(const struct dssh_sshkey *key, struct dssh_buf *out);
int dssh_sshkey_from_blob(const uint8_t *blob, size_t len, struct dssh_sshkey **keyp);
/* A public-only copy. */
int dssh_sshkey_demote(const struct dssh_sshkey *key, struct dssh_sshkey **pubp);
/* 1 when both keys have the same type and public part, else 0. */
int dssh_sshkey_equal_public(const struct dssh_sshkey *a, const struct dssh_sshkey *b);
/* "SHA256:<base64 without padding>" as `ssh-keygen -l`; outlen >= DSSH_SSHKEY_FP_LEN. */
int dssh_sshkey_fingerprint(const struct dssh_sshkey *key, char *out, size_t outlen);

/*
 * Parses "type base64" at the start of s (leading blanks skipped), as in
 * authorized_keys and .pub files. *restp (if not NULL) is set to the first
 * non-blank character after the key (the comment, or the end of the line).
 * The type word must match the type inside the blob.
 */
int dssh_sshkey_parse_pubkey_text(const char *s, struct dssh_sshkey **keyp, const char **restp);

/* Signatures. */
/* Comma-separated signature algorithm names usable with the key, preferred first. */
const char *dssh_sshkey_sig_algs_for(const struct dssh_sshkey *key);
/* The key type a signature algorithm needs (DSSH_SSHKEY_UNKNOWN if none). */
enum dssh_sshkey_type dssh_sshkey_sig_alg_key_type(const char *sig_alg);
/* Appends the SSH signature blob: string alg-name, string signature. */
int dssh_sshkey_sign(const struct dssh_sshkey *key, const char *sig_alg,
    const uint8_t *data, size_t len, struct dssh_buf *sig);
/*
 * sig_alg is the algorithm the peer claimed: it must be valid for the key
 * and equal the name inside the blob. 0 or DSSH_ERR_SIGNATURE_INVALID
 * (other codes only for bad arguments / allocation failure).
 */
int dssh_sshkey_verify(const struct dssh_sshkey *key, const char *sig_alg,
    const uint8_t *sig, size_t siglen, const uint8_t *data, size_t len);

/* base64 (strict: alphabet, length a multiple of 4, padding only at the end;
 * blanks and newlines are skipped). *outp malloc'd. */
int dssh_sshkey_b64_decode(const char *s, size_t n, uint8_t **outp, size_t *outlenp);

/*
 * OpenSSH certificates (PROTOCOL.certkeys): *-cert-v01@openssh.com blobs for
 * ed25519, ecdsa-sha2-nistp256/384/521 and rsa. Parsing checks every
 * length, that options are sorted and unique, and the CA's signature over
 * the blob up to the signature (RSA CAs: rsa-sha2-256/512 only, never
 * ssh-rsa/SHA-1; a CA may not itself be a certificate).
 */
#define DSSH_SSHKEY_CERT_USER 1
#define DSSH_SSHKEY_CERT_HOST 2
#define DSSH_SSHKEY_CERT_MAX_PRINCIPALS 256
#define DSSH_SSHKEY_CERT_MAX_OPTIONS 64

struct dssh_sshkey_cert_opt {
	char *name;
	uint8_t *data;          /* the option's data string (may be empty) */
	size_t len;
};

struct dssh_sshkey_cert {
	char *type_name;        /* "ssh-ed25519-cert-v01@openssh.com" */
	struct dssh_sshkey *key;        /* the certified key */
	uint64_t serial;
	uint32_t cert_type;     /* DSSH_SSHKEY_CERT_USER or _HOST */
	char *key_id;
	char **principals;
	size_t nprincipals;
	uint64_t valid_after, valid_before;
	struct dssh_sshkey_cert_opt *critical;
	size_t ncritical;
	struct dssh_sshkey_cert_opt *extensions;
	size_t nextensions;
	struct dssh_sshkey *ca;         /* the signature key */
	uint8_t *ca_blob;       /* its wire blob */
	size_t ca_bloblen;
};

/* Parses and verifies the CA signature. Free with dssh_sshkey_cert_free. */
int dssh_sshkey_cert_parse(const uint8_t *blob, size_t len, struct dssh_sshkey_cert **certp);
void dssh_sshkey_cert_free(struct dssh_sshkey_cert *cert);
/* Is this a certificate key type / userauth algorithm name? */
bool dssh_sshkey_is_cert_name(const char *name);
/*
 * Certificate userauth algorithm -> the plain signature algorithm the
 * request's signature uses ("rsa-sha2-512-cert-v01@openssh.com" ->
 * "rsa-sha2-512"), and the certificate blob type it needs
 * ("ssh-rsa-cert-v01@openssh.com"). NULL when alg is not one.
 */
const char *dssh_sshkey_cert_sig_alg(const char *alg);
const char *dssh_sshkey_cert_blob_type(const char *alg);
/*
 * A publickey userauth request's (alg, key blob): the key its signature is
 * checked with (the certified key for a certificate, whose CA signature is
 * checked) and that signature's algorithm (*sig_alg: a static string or
 * alg). DSSH_ERR_KEY_TYPE when alg does not fit the key.
 */
int dssh_sshkey_userauth_key(const char *alg, const uint8_t *blob, size_t blen,
    struct dssh_sshkey **keyp, const char **sig_alg);
/* Is now within [valid_after, valid_before)? */
bool dssh_sshkey_cert_valid_at(const struct dssh_sshkey_cert *cert, uint64_t now);
/* The option named name, or NULL. */
const struct dssh_sshkey_cert_opt *dssh_sshkey_cert_find(
    const struct dssh_sshkey_cert_opt *opts, size_t n, const char *name);

/*
 * OpenSSH KRL (PROTOCOL.krl): is any of the plain key blobs (explicitly,
 * by SHA-1 or SHA-256 hash) or cert (by CA and serial, serial range,
 * serial bitmap or key ID) revoked? Returns 1 revoked, 0 not, or
 * DSSH_ERR_INVALID_FORMAT for a malformed KRL, a critical extension or a
 * signature section (callers refuse then). cert may be NULL.
 */
bool dssh_sshkey_is_krl(const uint8_t *data, size_t len);
int dssh_sshkey_krl_check(const uint8_t *krl, size_t len, const uint8_t *const *blobs,
    const size_t *lens, size_t nblobs, const struct dssh_sshkey_cert *cert);

#endif
