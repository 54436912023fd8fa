/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sntrup761x25519-sha512 and its older name
 * sntrup761x25519-sha512@openssh.com (draft-ietf-sshm-ntruprime-ssh;
 * OpenSSH since 9.0): the Streamlined NTRU Prime KEM (lib/crypto,
 * dssh_sntrup761.h) with an X25519 exchange beside it, on the ECDH
 * messages (30/31):
 *
 *   C_INIT  = sntrup761 public key (1158) || client X25519 value (32)
 *   S_REPLY = sntrup761 ciphertext (1039) || server X25519 value (32)
 *   K       = SHA-512(sntrup761 shared secret || X25519 shared secret),
 *             encoded as a string (alg->k_string), exchange hash SHA-512.
 *
 * The X25519 part refuses an all-zero result as curve25519-sha256 does
 * (RFC 8731 3). The KEM itself never fails on a well-sized ciphertext
 * (implicit rejection): a bad one simply gives a K the server does not
 * have, and the host key signature check fails.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dssh_err.h"
#include "dssh_sntrup761.h"
#include "dssh_util.h"
#include "kex_int.h"

#define SNTRUP_SS DSSH_SNTRUP761_SS_LEN

struct sntrup_client {
	uint8_t sk[DSSH_SNTRUP761_SK_LEN];
	uint8_t pk[DSSH_SNTRUP761_PK_LEN];
	EVP_PKEY *x25519;
};

/* K = string SHA-512(kem_ss || x_ss). */
static int
put_k(const uint8_t kem_ss[SNTRUP_SS], const uint8_t x_ss[DSSH_KEX_X25519_LEN],
    struct dssh_buf *K_enc)
{
	uint8_t in[SNTRUP_SS + DSSH_KEX_X25519_LEN], k[64];
	unsigned n = 0;
	int r = DSSH_ERR_LIBCRYPTO;

	memcpy(in, kem_ss, SNTRUP_SS);
	memcpy(in + SNTRUP_SS, x_ss, DSSH_KEX_X25519_LEN);
	if (EVP_Digest(in, sizeof(in), k, &n, EVP_sha512(), NULL) == 1 && n == sizeof(k))
		r = dssh_buf_put_string(K_enc, k, sizeof(k));
	dssh_wipe(in, sizeof(in));
	dssh_wipe(k, sizeof(k));
	return r;
}

static int
sntrup_server_reply(const struct dssh_kex_alg *alg, const uint8_t *client_pub, size_t len,
    struct dssh_buf *server_pub_enc, struct dssh_buf *K_enc)
{
	uint8_t reply[DSSH_SNTRUP761_CT_LEN + DSSH_KEX_X25519_LEN];
	uint8_t kem_ss[SNTRUP_SS], x_ss[DSSH_KEX_X25519_LEN];
	EVP_PKEY *own = NULL;
	int r;

	(void)alg;
	if (client_pub == NULL || len != DSSH_SNTRUP761_PK_LEN + DSSH_KEX_X25519_LEN)
		return DSSH_ERR_INVALID_FORMAT;
	if ((r = dssh_kex_x25519_keygen(&own)) != 0 ||
	    (r = dssh_kex_x25519_shared(own, client_pub + DSSH_SNTRUP761_PK_LEN,
	    DSSH_KEX_X25519_LEN, x_ss)) != 0 ||
	    (r = dssh_kex_x25519_pub(own, reply + DSSH_SNTRUP761_CT_LEN)) != 0 ||
	    (r = dssh_sntrup761_enc(reply, kem_ss, client_pub, DSSH_SNTRUP761_PK_LEN)) != 0 ||
	    (r = put_k(kem_ss, x_ss, K_enc)) != 0)
		goto out;
	r = dssh_buf_put_string(server_pub_enc, reply, sizeof(reply));
out:
	EVP_PKEY_free(own);
	dssh_wipe(kem_ss, sizeof(kem_ss));
	dssh_wipe(x_ss, sizeof(x_ss));
	return r;
}

static void
sntrup_client_free(void *state)
{
	struct sntrup_client *s = state;

	if (s == NULL)
		return;
	EVP_PKEY_free(s->x25519);
	dssh_freezero(s, sizeof(*s));
}

static int
sntrup_client_new(const struct dssh_kex_alg *alg, void **statep)
{
	struct sntrup_client *s;
	int r;

	(void)alg;
	*statep = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return DSSH_ERR_ALLOC;
	if ((r = dssh_sntrup761_keypair(s->pk, s->sk)) != 0 ||
	    (r = dssh_kex_x25519_keygen(&s->x25519)) != 0) {
		sntrup_client_free(s);
		return r;
	}
	*statep = s;
	return 0;
}

static int
sntrup_client_pub(const struct dssh_kex_alg *alg, void *state, struct dssh_buf *out)
{
	struct sntrup_client *s = state;
	uint8_t init[DSSH_SNTRUP761_PK_LEN + DSSH_KEX_X25519_LEN];
	int r;

	(void)alg;
	memcpy(init, s->pk, DSSH_SNTRUP761_PK_LEN);
	if ((r = dssh_kex_x25519_pub(s->x25519, init + DSSH_SNTRUP761_PK_LEN)) != 0)
		return r;
	return dssh_buf_put_string(out, init, sizeof(init));
}

static int
sntrup_client_finish(const struct dssh_kex_alg *alg, void *state, const uint8_t *server_pub,
    size_t len, struct dssh_buf *K_enc)
{
	struct sntrup_client *s = state;
	uint8_t kem_ss[SNTRUP_SS], x_ss[DSSH_KEX_X25519_LEN];
	int r;

	(void)alg;
	if (server_pub == NULL || len != DSSH_SNTRUP761_CT_LEN + DSSH_KEX_X25519_LEN)
		return DSSH_ERR_INVALID_FORMAT;
	if ((r = dssh_kex_x25519_shared(s->x25519, server_pub + DSSH_SNTRUP761_CT_LEN,
	    DSSH_KEX_X25519_LEN, x_ss)) == 0 &&
	    (r = dssh_sntrup761_dec(kem_ss, server_pub, DSSH_SNTRUP761_CT_LEN, s->sk)) == 0)
		r = put_k(kem_ss, x_ss, K_enc);
	dssh_wipe(kem_ss, sizeof(kem_ss));
	dssh_wipe(x_ss, sizeof(x_ss));
	return r;
}

const struct dssh_kex_method_ops dssh_kex_sntrup761x25519_ops = {
	.server_reply = sntrup_server_reply,
	.client_new = sntrup_client_new,
	.client_pub = sntrup_client_pub,
	.client_finish = sntrup_client_finish,
	.client_free = sntrup_client_free,
};
