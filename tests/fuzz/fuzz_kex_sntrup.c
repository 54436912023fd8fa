/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The peer's sntrup761x25519-sha512 values through lib/kex: the first
 * input byte picks the name (bit 0) and the side (bit 1); the rest is the
 * client's C_INIT given to the server (dssh_kex_server_reply) or the
 * server's S_REPLY given to a client (dssh_kex_client_finish). Checks the
 * contract: a value of the wrong length is refused, a refusal leaves the
 * output buffers as they were, and an accepted one gives a 64-byte string
 * K (and, server side, a string S_REPLY of the exact length).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_buf.h"
#include "dssh_kex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_string(const struct dssh_buf *b, size_t off, size_t want)
{
	struct dssh_buf v;
	const uint8_t *p;
	size_t n;

	dssh_buf_from(&v, dssh_buf_ptr(b) + off, dssh_buf_len(b) - off);
	if (dssh_buf_get_string_direct(&v, &p, &n) != 0 || n != want || dssh_buf_len(&v) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dssh_kex_client *client[2];
	const struct dssh_kex_alg *alg;
	struct dssh_buf spub, k;
	int which, r;

	if (size < 1)
		return 0;
	which = data[0] & 1;
	alg = dssh_kex_alg_by_name(which ? "sntrup761x25519-sha512@openssh.com" :
	    "sntrup761x25519-sha512");
	if (alg == NULL)
		abort();
	dssh_buf_init(&spub, 0);
	dssh_buf_init(&k, 0);
	dssh_buf_put_cstring(&spub, "keep");
	dssh_buf_put_cstring(&k, "keep");
	if ((data[0] & 2) == 0) {
		r = dssh_kex_server_reply(alg, data + 1, size - 1, &spub, &k);
		if (r == 0) {
			if (size - 1 != alg->pub_len)
				abort();
			check_string(&spub, 8, alg->reply_len);
			check_string(&k, 8, 64);
		}
	} else {
		/* One client key pair per name for the whole run: KeyGen is slow. */
		if (client[which] == NULL && dssh_kex_client_new(alg, &client[which]) != 0)
			abort();
		r = dssh_kex_client_finish(client[which], data + 1, size - 1, &k);
		if (r == 0) {
			if (size - 1 != alg->reply_len)
				abort();
			check_string(&k, 8, 64);
		}
	}
	if (r != 0 && (dssh_buf_len(&spub) != 8 || dssh_buf_len(&k) != 8))
		abort();
	dssh_buf_free(&spub);
	dssh_buf_free(&k);
	return 0;
}
