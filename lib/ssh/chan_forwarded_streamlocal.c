/* SPDX-License-Identifier: BSD-3-Clause */
/* "forwarded-streamlocal@openssh.com" (OpenSSH PROTOCOL 2.4): a connection
 * came to a Unix socket the peer asked us to listen on. */
#include "dssh_err.h"
#include "ssh_internal.h"

/* socket path, reserved string. */
static int
forwarded_streamlocal_put(struct dssh_buf *b, const struct dssh_chan_open *o)
{
	int r;

	if ((r = dssh_buf_put_cstring(b, o->host)) != 0 ||
	    (r = dssh_buf_put_cstring(b, "")) != 0)
		return r;
	return 0;
}

const struct dssh_chan_type dssh_chan_forwarded_streamlocal = {
	.name = "forwarded-streamlocal@openssh.com",
	.kind = DSSH_CHAN_FORWARDED_STREAMLOCAL,
	.put_open = forwarded_streamlocal_put,
};
