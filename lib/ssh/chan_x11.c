/* SPDX-License-Identifier: BSD-3-Clause */
/* "x11" (RFC 4254 6.3.2): an X client connected to the display we listen
 * on for a session's x11-req; the peer relays it to its X server. */
#include "dssh_err.h"
#include "ssh_internal.h"

static int
x11_put(struct dssh_buf *b, const struct dssh_chan_open *o)
{
	int r;

	if ((r = dssh_buf_put_cstring(b, o->orig_host)) != 0 ||
	    (r = dssh_buf_put_u32(b, o->orig_port)) != 0)
		return r;
	return 0;
}

const struct dssh_chan_type dssh_chan_x11 = {
	.name = "x11",
	.kind = DSSH_CHAN_X11,
	.put_open = x11_put,
};
