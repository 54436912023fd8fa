/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mlkem768x25519-sha256 (draft-ietf-sshm-mlkem-hybrid-kex; OpenSSH's
 * PROTOCOL): ML-KEM-768 (FIPS 203) combined with X25519.
 *
 *   C_INIT  = C_PK2 || C_PK1    ML-KEM encapsulation key (1184) || X25519 (32)
 *   S_REPLY = S_CT2 || S_PK1    ML-KEM ciphertext (1088) || X25519 (32)
 *   K       = SHA-256(K_PQ || K_CL)   K_PQ the ML-KEM shared secret, K_CL
 *                                     the raw X25519 output
 *
 * C_INIT and S_REPLY travel as strings in SSH_MSG_KEX_HYBRID_INIT/REPLY
 * (numbers 30 and 31, those of ECDH) and go into the exchange hash as
 * strings; K is encoded as a string, not an mpint, in the exchange hash
 * and the key derivation.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dssh_err.h"
#include "dssh_mlkem.h"
#include "dssh_util.h"
#include "kex_int.h"

#define C_INIT_LEN  (DSSH_MLKEM768_PK_LEN + DSSH_KEX_X25519_LEN)
#define S_REPLY_LEN (DSSH_MLKEM768_CT_LEN + DSSH_KEX_X25519_LEN)
#define K_LEN       32

struct hybrid_client {
	uint8_t sk[DSSH_MLKEM768_SK_LEN];
	uint8_t pk[DSSH_MLKEM768_PK_LEN];
	EVP_PKEY *x25519;
};

/* K = SHA-256(K_PQ || K_CL), appended as a string. */
static int
put_k(const uint8_t k_pq[DSSH_MLKEM768_SS_LEN], const uint8_t k_cl[DSSH_KEX_X25519_LEN],
    struct dssh_buf *K_enc)
{
	uint8_t in[DSSH_MLKEM768_SS_LEN + DSSH_KEX_X25519_LEN], k[K_LEN];
	unsigned n = 0;
	int r = DSSH_ERR_LIBCRYPTO;

	memcpy(in, k_pq, DSSH_MLKEM768_SS_LEN);
	memcpy(in + DSSH_MLKEM768_SS_LEN, k_cl, DSSH_KEX_X25519_LEN);
	if (EVP_Digest(in, sizeof(in), k, &n, EVP_sha256(), NULL) == 1 && n == K_LEN)
		r = dssh_buf_put_string(K_enc, k, K_LEN);
	dssh_wipe(in, sizeof(in));
	dssh_wipe(k, sizeof(k));
	return r;
}

static int
hybrid_server_reply(const struct dssh_kex_alg *alg, const uint8_t *c_init, size_t len,
    struct dssh_buf *server_pub_enc, struct dssh_buf *K_enc)
{
	uint8_t ct[DSSH_MLKEM768_CT_LEN], k_pq[DSSH_MLKEM768_SS_LEN];
	uint8_t k_cl[DSSH_KEX_X25519_LEN], pub[DSSH_KEX_X25519_LEN];
	EVP_PKEY *own = NULL;
	int r;

	(void)alg;
	if (c_init == NULL || len != C_INIT_LEN)
		return DSSH_ERR_INVALID_FORMAT;
	/* Encapsulation-key check (FIPS 203 7.2) and the X25519 half. */
	if ((r = dssh_mlkem768_encaps(ct, k_pq, c_init)) != 0 ||
	    (r = dssh_kex_x25519_keygen(&own)) != 0 ||
	    (r = dssh_kex_x25519_shared(own, c_init + DSSH_MLKEM768_PK_LEN,
	    DSSH_KEX_X25519_LEN, k_cl)) != 0 ||
	    (r = dssh_kex_x25519_pub(own, pub)) != 0 ||
	    (r = put_k(k_pq, k_cl, K_enc)) != 0)
		goto out;
	if ((r = dssh_buf_put_u32(server_pub_enc, S_REPLY_LEN)) != 0 ||
	    (r = dssh_buf_put(server_pub_enc, ct, sizeof(ct))) != 0 ||
	    (r = dssh_buf_put(server_pub_enc, pub, sizeof(pub))) != 0)
		goto out;
out:
	EVP_PKEY_free(own);
	dssh_wipe(k_pq, sizeof(k_pq));
	dssh_wipe(k_cl, sizeof(k_cl));
	return r;
}

static void
hybrid_client_free(void *state)
{
	struct hybrid_client *c = state;

	if (c == NULL)
		return;
	EVP_PKEY_free(c->x25519);
	dssh_freezero(c, sizeof(*c));
}

static int
hybrid_client_new(const struct dssh_kex_alg *alg, void **statep)
{
	struct hybrid_client *c;
	int r;

	(void)alg;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return DSSH_ERR_ALLOC;
	if ((r = dssh_mlkem768_keypair(c->pk, c->sk)) != 0 ||
	    (r = dssh_kex_x25519_keygen(&c->x25519)) != 0) {
		hybrid_client_free(c);
		return r;
	}
	*statep = c;
	return 0;
}

static int
hybrid_client_pub(const struct dssh_kex_alg *alg, void *state, struct dssh_buf *out)
{
	struct hybrid_client *c = state;
	uint8_t pub[DSSH_KEX_X25519_LEN];
	int r;

	(void)alg;
	if ((r = dssh_kex_x25519_pub(c->x25519, pub)) != 0 ||
	    (r = dssh_buf_put_u32(out, C_INIT_LEN)) != 0 ||
	    (r = dssh_buf_put(out, c->pk, sizeof(c->pk))) != 0)
		return r;
	return dssh_buf_put(out, pub, sizeof(pub));
}

static int
hybrid_client_finish(const struct dssh_kex_alg *alg, void *state, const uint8_t *s_reply,
    size_t len, struct dssh_buf *K_enc)
{
	struct hybrid_client *c = state;
	uint8_t k_pq[DSSH_MLKEM768_SS_LEN], k_cl[DSSH_KEX_X25519_LEN];
	int r;

	(void)alg;
	if (s_reply == NULL || len != S_REPLY_LEN)
		return DSSH_ERR_INVALID_FORMAT;
	if ((r = dssh_mlkem768_decaps(k_pq, s_reply, c->sk)) == 0 &&
	    (r = dssh_kex_x25519_shared(c->x25519, s_reply + DSSH_MLKEM768_CT_LEN,
	    DSSH_KEX_X25519_LEN, k_cl)) == 0)
		r = put_k(k_pq, k_cl, K_enc);
	dssh_wipe(k_pq, sizeof(k_pq));
	dssh_wipe(k_cl, sizeof(k_cl));
	return r;
}

const struct dssh_kex_method_ops dssh_kex_mlkem768x25519_ops = {
	.server_reply = hybrid_server_reply,
	.client_new = hybrid_client_new,
	.client_pub = hybrid_client_pub,
	.client_finish = hybrid_client_finish,
	.client_free = hybrid_client_free,
};
