/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The peer values of key exchange: the server's check of a client value
 * (Q_C / C_INIT) and the client's check of a server value (Q_S / S_REPLY)
 * for curve25519, ecdh-sha2-nistp256, mlkem768x25519-sha256 and
 * sntrup761x25519-sha512 (both names), and ML-KEM and sntrup761
 * decapsulation of arbitrary ciphertexts. The first byte picks the case
 * (0xf0..0xff: the sntrup761 cases), the rest is the value. (DH is left out: a 2048-bit key generation per
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
#include "dssh_sntrup761.h"

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
client_finish(struct dssh_kex_client *c, const struct dssh_kex_alg *alg, const uint8_t *v,
    size_t n)
{
	struct dssh_buf k;
	int r;

	dssh_buf_init(&k, 0);
	r = dssh_kex_client_finish(c, v, n, &k);
	if (r > 0 || (r != 0 && dssh_buf_len(&k) != 0))
		abort();
	if (n != alg->reply_len && r != DSSH_ERR_INVALID_FORMAT)
		abort();
	dssh_buf_free(&k);
}

static void
client_side(const struct dssh_kex_alg *alg, const uint8_t *v, size_t n)
{
	struct dssh_kex_client *c = NULL;

	if (dssh_kex_client_new(alg, &c) != 0)
		abort();
	client_finish(c, alg, v, n);
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

/*
 * sntrup761x25519: bit 0 picks the name, bits 1-2 the case: the server's
 * check of C_INIT, a client's of S_REPLY (one client per name for the
 * run: sntrup761 KeyGen is slow), or the KEM on arbitrary bytes.
 */
static void
sntrup_case(unsigned sel, const uint8_t *v, size_t n)
{
	static struct dssh_kex_client *clients[2];
	static uint8_t pk[DSSH_SNTRUP761_PK_LEN], sk[DSSH_SNTRUP761_SK_LEN];
	static int have;
	const struct dssh_kex_alg *alg = dssh_kex_alg_by_name((sel & 1) ?
	    "sntrup761x25519-sha512@openssh.com" : "sntrup761x25519-sha512");
	uint8_t ct[DSSH_SNTRUP761_CT_LEN] = { 0 }, ss[DSSH_SNTRUP761_SS_LEN];

	if (alg == NULL)
		abort();
	switch ((sel >> 1) & 3) {
	case 0:
	case 3:
		server_side(alg, n ? v : NULL, n);
		break;
	case 1:
		if (clients[sel & 1] == NULL && dssh_kex_client_new(alg, &clients[sel & 1]) != 0)
			abort();
		client_finish(clients[sel & 1], alg, n ? v : NULL, n);
		break;
	case 2:
		/* Any well-sized ciphertext decapsulates; any 1158 bytes are a key. */
		if (!have && dssh_sntrup761_keypair(pk, sk) != 0)
			abort();
		have = 1;
		memcpy(ct, v, n < sizeof(ct) ? n : sizeof(ct));
		if (dssh_sntrup761_dec(ss, ct, sizeof(ct), sk) != 0)
			abort();
		if (n >= DSSH_SNTRUP761_PK_LEN &&
		    dssh_sntrup761_enc(ct, ss, v, DSSH_SNTRUP761_PK_LEN) != 0)
			abort();
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct dssh_kex_alg *alg;
	unsigned sel;

	if (size < 1)
		return 0;
	if (data[0] >= 0xf0) {
		sntrup_case(data[0] & 0x0f, data + 1, size - 1);
		return 0;
	}
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
