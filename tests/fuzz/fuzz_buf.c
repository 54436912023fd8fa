/* SPDX-License-Identifier: BSD-3-Clause */
/* dssh_buf getters on peer bytes: a byte-coded sequence of get calls. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_buf.h"
#include "dssh_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dssh_buf b, view, copy;
	size_t nops;

	if (size < 1)
		return 0;
	nops = data[0] % 16 + 1;
	if (size < 1 + nops)
		return 0;
	const uint8_t *ops = data + 1;

	/* The rest lives in its own allocation so ASan sees any overread. */
	size_t n = size - 1 - nops;
	uint8_t *bytes = malloc(n ? n : 1);

	memcpy(bytes, data + 1 + nops, n);
	dssh_buf_from(&b, bytes, n);
	dssh_buf_init(&copy, 1024 * 1024);
	for (size_t i = 0; i < nops; i++) {
		uint8_t u8;
		uint32_t u32;
		uint64_t u64;
		bool bl;
		const uint8_t *p;
		size_t len;
		uint8_t *s;
		char *cs;
		uint8_t tmp[64];
		size_t before = dssh_buf_len(&b);
		int r = 0;

		switch (ops[i] % 14) {
		case 0: r = dssh_buf_get_u8(&b, &u8); break;
		case 1: r = dssh_buf_get_u32(&b, &u32); break;
		case 2: r = dssh_buf_get_u64(&b, &u64); break;
		case 3: r = dssh_buf_get_bool(&b, &bl); break;
		case 4:
			r = dssh_buf_get_string_direct(&b, &p, &len);
			if (r == 0 && len > 0)
				dssh_buf_put(&copy, p, len);    /* touch every byte */
			break;
		case 5:
			r = dssh_buf_get_string(&b, &s, &len);
			if (r == 0) {
				if (s[len] != '\0')
					abort();
				free(s);
			}
			break;
		case 6:
			r = dssh_buf_get_cstring(&b, &cs, &len);
			if (r == 0) {
				if (strlen(cs) != len)
					abort();
				free(cs);
			}
			break;
		case 7:
			r = dssh_buf_get_mpint_direct(&b, &p, &len);
			if (r == 0 && len > 0 && p[0] == 0)
				abort();        /* magnitude has no leading zero */
			if (r == 0 && len > 0)
				dssh_buf_put(&copy, p, len);
			break;
		case 8:
			r = dssh_buf_get_stringb(&b, &view);
			if (r == 0 && dssh_buf_len(&view) > 0)
				dssh_buf_put(&copy, dssh_buf_ptr(&view), dssh_buf_len(&view));
			break;
		case 9: r = dssh_buf_skip_string(&b); break;
		case 10: r = dssh_buf_peek_u32(&b, ops[i] >> 4, &u32); break;
		case 11: r = dssh_buf_get(&b, tmp, ops[i] % sizeof(tmp)); break;
		case 12: r = dssh_buf_consume(&b, ops[i] >> 3); break;
		case 13:
			/* put into a read-only view must fail */
			if (dssh_buf_put_u8(&b, 1) == 0)
				abort();
			break;
		}
		(void)r;    /* failures are fine; reading past the end is not */
		if (dssh_buf_len(&b) > before)
			abort();
	}
	/* Round trip what was copied through the writer side. */
	struct dssh_buf w;

	dssh_buf_init(&w, 0);
	/* (dssh_buf_ptr of a never-filled buffer is NULL + 0: see the report) */
	if (dssh_buf_len(&copy) > 0 &&
	    dssh_buf_put_string(&w, dssh_buf_ptr(&copy), dssh_buf_len(&copy)) == 0) {
		const uint8_t *p;
		size_t len;

		if (dssh_buf_get_string_direct(&w, &p, &len) != 0 || len != dssh_buf_len(&copy))
			abort();
	}
	if (n > 0 && dssh_buf_put_mpint_bytes(&w, bytes, n > 600 ? 600 : n) == 0) {
		const uint8_t *p;
		size_t len;

		if (dssh_buf_get_mpint_direct(&w, &p, &len) != 0)
			abort();
	}
	dssh_buf_free(&w);
	dssh_buf_free(&copy);
	free(bytes);
	return 0;
}
