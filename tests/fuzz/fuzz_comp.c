/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Compression (ssh_comp.c). The first byte picks the mode:
 *
 *  even  the rest is a peer's compressed packets: each a length byte (1..255,
 *        0 ends the input) and that many bytes, inflated in order through
 *        one stream, as the engine does; a packet may fail (garbage, past
 *        the bound) and then the stream is not used again.
 *  odd   round trip: the rest is payloads, cut the same way (the length
 *        byte scaled so that some exceed the bound when repeated), each
 *        deflated and inflated: what comes out must be exactly what went
 *        in, or the inflate refused it as too large.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_util.h"
#include "ssh_internal.h"

static uint8_t scratch[DSSH_PACKET_MAX];

static void
peer_packets(const uint8_t *p, size_t n)
{
	struct dssh_comp *i;
	const uint8_t *out;
	size_t ol;

	if (dssh_comp_new(true, &i) != 0)
		return;
	while (n > 0) {
		size_t len = p[0];

		p++;
		n--;
		if (len == 0 || len > n)
			break;
		memcpy(scratch, p, len);
		if (dssh_comp_inflate(i, scratch, len, &out, &ol) != 0)
			break;
		if (ol > DSSH_COMP_INFLATE_MAX)
			abort();
		dssh_comp_wipe_last(i, ol);
		p += len;
		n -= len;
	}
	dssh_comp_free(i);
}

static void
round_trip(const uint8_t *p, size_t n)
{
	static uint8_t payload[DSSH_COMP_INFLATE_MAX + 4096];
	struct dssh_comp *d = NULL, *i = NULL;
	const uint8_t *z, *out;
	size_t zl, ol;
	int r;

	if (dssh_comp_new(false, &d) != 0 || dssh_comp_new(true, &i) != 0)
		goto out;
	while (n > 1) {
		/* a piece of the input repeated up to 1 KiB times */
		size_t len = p[0] % 64 + 1, reps = (size_t)p[1] * 4 + 1, total = 0;

		p += 2;
		n -= 2;
		if (len > n)
			len = n;
		for (size_t k = 0; k < reps && total + len <= sizeof(payload); k++, total += len)
			memcpy(payload + total, p, len);
		if (total == 0)
			break;
		if (dssh_comp_deflate(d, payload, 1, payload + 1, total - 1, &z, &zl) != 0)
			break;
		memcpy(scratch, z, zl);
		r = dssh_comp_inflate(i, scratch, zl, &out, &ol);
		if (r == DSSH_ERR_NO_BUFFER_SPACE && total > DSSH_COMP_INFLATE_MAX)
			break;
		if (r != 0 || ol != total || memcmp(out, payload, total) != 0)
			abort();
		p += len;
		n -= len;
	}
out:
	dssh_comp_free(d);
	dssh_comp_free(i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		round_trip(data + 1, size - 1);
	else
		peer_packets(data + 1, size - 1);
	return 0;
}
