/* SPDX-License-Identifier: BSD-3-Clause */
/* "forwarded-tcpip" (RFC 4254 7.2): we tell the peer a connection came
 * to a port it asked us to listen on (tcpip-forward). */
#include "dssh_err.h"
#include "ssh_internal.h"

static int
forwarded_tcpip_put(struct dssh_buf *b, const struct dssh_chan_open *o)
{
	int r;

	if ((r = dssh_buf_put_cstring(b, o->host)) != 0 ||
	    (r = dssh_buf_put_u32(b, o->port)) != 0 ||
	    (r = dssh_buf_put_cstring(b, o->orig_host)) != 0 ||
	    (r = dssh_buf_put_u32(b, o->orig_port)) != 0)
		return r;
	return 0;
}

const struct dssh_chan_type dssh_chan_forwarded_tcpip = {
	.name = "forwarded-tcpip",
	.kind = DSSH_CHAN_FORWARDED_TCPIP,
	.put_open = forwarded_tcpip_put,
};
