/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TEST_KEX_H
#define TEST_KEX_H

/* What the key exchange tests (test_kex, test_kex_sntrup761) share. */
#include <stdio.h>

#include "dssh_buf.h"
#include "dssh_kex.h"
#include "dssh_test.h"

/* The reply to a bad client value fails and leaves the output buffers alone. */
static inline void
expect_reject(const struct dssh_kex_alg *alg, const uint8_t *v, size_t n, const char *what)
{
	struct dssh_buf spub, k;
	int r;

	dssh_buf_init(&spub, 0);
	dssh_buf_init(&k, 0);
	dssh_buf_put_cstring(&spub, "keep");
	dssh_buf_put_cstring(&k, "keep");
	r = dssh_kex_server_reply(alg, v, n, &spub, &k);
	CHECK(r < 0);
	if (r >= 0)
		fprintf(stderr, "  %s: accepted %s\n", alg->name, what);
	CHECK_EQ_INT(dssh_buf_len(&spub), 8);
	CHECK_EQ_INT(dssh_buf_len(&k), 8);
	dssh_buf_free(&spub);
	dssh_buf_free(&k);
}

#endif
