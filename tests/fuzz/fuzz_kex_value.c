/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The peer values of key exchange: the server's check of a client value
 * (Q_C / C_INIT) and the client's check of a server value (Q_S / S_REPLY)
 * for curve25519, ecdh-sha2-nistp256 and mlkem768x25519-sha256, and ML-KEM
 * decapsulation of arbitrary ciphertexts. The first byte picks the case,
 * the rest is the value. (DH is left out: a 2048-bit key generation per
 * input is too slow for a fuzzer.)
 * Invariants: a result is 0 or a DSSH_ERR_*; a failed call leaves the
 * output buffers as they were; a value of the wrong length for a
 * fixed-length method is DSSH_ERR_INVALID_FORMAT; a successful server reply
 * appends exactly one string and a K of the method's encoding; decapsulation
 * never fails on a well-sized ciphertext (implicit rejection).
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_kex.h"
#include "dssh_mlkem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {
	"mlkem768x25519-sha256", "curve25519-sha256", "ecdh-sha2-nistp256",
};

static void
server_side(const struct dssh_kex_alg *alg, const uint8_t *v, size_t n)
{
	struct dssh_buf spub, k, view;
	const uint8_t *p;
	size_t plen;
	int r;

	dssh_buf_init(&spub, 0);
	dssh_buf_init(&k, 0);
	r = dssh_kex_server_reply(alg, v, n, &spub, &k);
	if (r > 0 || (r != 0 && (dssh_buf_len(&spub) != 0 || dssh_buf_len(&k) != 0)))
		abort();
	if (n != alg->pub_len && r != DSSH_ERR_INVALID_FORMAT)
		abort();
	if (r == 0) {
		dssh_buf_from(&view, dssh_buf_ptr(&spub), dssh_buf_len(&spub));
		if (dssh_buf_get_string_direct(&view, &p, &plen) != 0 ||
		    dssh_buf_len(&view) != 0 || plen != alg->reply_len)
			abort();
		dssh_buf_from(&view, dssh_buf_ptr(&k), dssh_buf_len(&k));
		if ((alg->k_string ? dssh_buf_get_string_direct(&view, &p, &plen) :
		    dssh_buf_get_mpint_direct(&view, &p, &plen)) != 0 || dssh_buf_len(&view) != 0)
			abort();
	}
	dssh_buf_free(&spub);
	dssh_buf_free(&k);
}

static void
client_side(const struct dssh_kex_alg *alg, const uint8_t *v, size_t n)
{
	struct dssh_kex_client *c = NULL;
	struct dssh_buf k;
	int r;

	if (dssh_kex_client_new(alg, &c) != 0)
		abort();
	dssh_buf_init(&k, 0);
	r = dssh_kex_client_finish(c, v, n, &k);
	if (r > 0 || (r != 0 && dssh_buf_len(&k) != 0))
		abort();
	if (n != alg->reply_len && r != DSSH_ERR_INVALID_FORMAT)
		abort();
	dssh_buf_free(&k);
	dssh_kex_client_free(c);
}

static void
decaps(const uint8_t *v, size_t n)
{
	static uint8_t pk[DSSH_MLKEM768_PK_LEN], sk[DSSH_MLKEM768_SK_LEN];
	static int have;
	uint8_t ct[DSSH_MLKEM768_CT_LEN] = { 0 }, ss[32];

	if (!have) {
		uint8_t d[32] = { 1 }, z[32] = { 2 };

		if (dssh_mlkem768_keypair_derand(pk, sk, d, z) != 0)
			abort();
		have = 1;
	}
	memcpy(ct, v, n < sizeof(ct) ? n : sizeof(ct));
	if (dssh_mlkem768_decaps(ss, ct, sk) != 0)
		abort();
	/* And the fuzz bytes as an encapsulation key: accepted or INVALID_FORMAT. */
	if (n >= DSSH_MLKEM768_PK_LEN) {
		int r = dssh_mlkem768_encaps(ct, ss, v);

		if (r != 0 && r != DSSH_ERR_INVALID_FORMAT)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct dssh_kex_alg *alg;
	unsigned sel;

	if (size < 1)
		return 0;
	sel = data[0] % 7;
	data++;
	size--;
	if (sel == 6) {
		decaps(data, size);
		return 0;
	}
	if ((alg = dssh_kex_alg_by_name(methods[sel % 3])) == NULL)
		abort();
	if (sel < 3)
		server_side(alg, size ? data : NULL, size);
	else
		client_side(alg, size ? data : NULL, size);
	return 0;
}
