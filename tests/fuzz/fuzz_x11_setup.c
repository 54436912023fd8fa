/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An X client's connection setup as it reaches dsshd's display (dssh_x11.h):
 * the input fed in every prefix length up to the whole. A verdict other
 * than INCOMPLETE must not change with more bytes, OK only where the fake
 * cookie is in place, and nothing but the cookie may change.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_x11.h"

static const char proto[] = "MIT-MAGIC-COOKIE-1";
static const uint8_t fake[16] = "0123456789abcdef", real[16] = "REALREALREALREAL";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t p[4096], orig[4096];
	int first = DSSH_X11_INCOMPLETE;

	if (size > sizeof(p))
		size = sizeof(p);
	for (size_t k = 0; k <= size; k++) {
		int v;

		memcpy(p, data, size);
		v = dssh_x11_setup_check(p, k, proto, fake, real, sizeof(fake));
		if (first != DSSH_X11_INCOMPLETE && v != first)
			abort();
		if (first == DSSH_X11_INCOMPLETE)
			first = v;
		memcpy(orig, data, size);
		if (v == DSSH_X11_OK) {
			/* the name is 20 bytes padded: the cookie at 32 */
			if (k < 48 || memcmp(orig + 32, fake, 16) != 0 || memcmp(p + 32, real, 16) != 0 ||
			    memcmp(p, orig, 32) != 0 || memcmp(p + 48, orig + 48, size - 48) != 0)
				abort();
		} else if (memcmp(p, orig, size) != 0) {
			abort();
		}
	}
	return 0;
}
