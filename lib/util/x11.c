/* SPDX-License-Identifier: BSD-3-Clause */
/* The X11 connection setup's authorization (dssh_x11.h). */
#include <string.h>

#include "dssh_util.h"
#include "dssh_x11.h"

static size_t
pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

enum dssh_x11_verdict
dssh_x11_setup_check(uint8_t *p, size_t len, const char *proto, const uint8_t *fake,
    const uint8_t *real, size_t cookie_len)
{
	size_t n, d, plen = strlen(proto);
	uint8_t *data;

	if (len < 12)
		return DSSH_X11_INCOMPLETE;
	if (p[0] == 'B') {
		n = (size_t)p[6] << 8 | p[7];
		d = (size_t)p[8] << 8 | p[9];
	} else if (p[0] == 'l') {
		n = (size_t)p[7] << 8 | p[6];
		d = (size_t)p[9] << 8 | p[8];
	} else {
		return DSSH_X11_BAD_ORDER;
	}
	if (n != plen || d != cookie_len || plen > DSSH_X11_PROTO_MAX ||
	    cookie_len > DSSH_X11_COOKIE_MAX)
		return DSSH_X11_OTHER_PROTO;
	if (len < 12 + pad4(n) + pad4(d))
		return DSSH_X11_INCOMPLETE;
	if (memcmp(p + 12, proto, n) != 0)
		return DSSH_X11_OTHER_PROTO;
	data = p + 12 + pad4(n);
	if (dssh_ct_memcmp(data, fake, d) != 0)
		return DSSH_X11_WRONG_COOKIE;
	memcpy(data, real, d);
	return DSSH_X11_OK;
}
