/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bytes from a fresh connection's peer, from the version line on: the
 * version exchange, plaintext framing and the KEXINIT/ECDH_INIT handling
 * before the first NEWKEYS. The first input byte sets the chunk size the
 * rest is fed in, so framing across input boundaries is exercised too.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_host h = { 0 };
	struct dssh_conn *c;
	uint64_t now = 1000;

	if (size < 1)
		return 0;
	fuzz_setup();
	if (dssh_conn_new(&fuzz_conf, &fuzz_ops, &h, "fuzz", &c) != 0)
		abort();
	h.c = c;
	if (dssh_conn_start(c, now) != 0)
		abort();
	size_t chunk = (size_t)(data[0] & 0x7f) + 1;
	bool tick = data[0] & 0x80;

	data++;
	size--;
	while (size > 0 && !dssh_conn_closing(c)) {
		size_t n = size < chunk ? size : chunk;
		/* A private copy per chunk: the engine must not keep pointers into it. */
		uint8_t *p = malloc(n);

		memcpy(p, data, n);
		dssh_conn_input(c, p, n, now);
		free(p);
		data += n;
		size -= n;
		dssh_conn_output_consume(c, dssh_conn_output_pending(c));
		if (tick) {
			now += 700;
			dssh_conn_tick(c, now);
		}
	}
	dssh_conn_free(c);
	return 0;
}
