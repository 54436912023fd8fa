/* SPDX-License-Identifier: BSD-3-Clause */
/* "direct-tcpip" (RFC 4254 7.2): the peer asks us to connect host:port. */
#include "dssh_err.h"
#include "ssh_internal.h"

/* host, port, originator address, originator port. */
static int
direct_tcpip_open(struct dssh_buf *m, struct dssh_chan_open *o, char **s1, char **s2)
{
	int r;

	if ((r = dssh_buf_get_cstring(m, s1, NULL)) != 0 ||
	    (r = dssh_buf_get_u32(m, &o->port)) != 0 ||
	    (r = dssh_buf_get_cstring(m, s2, NULL)) != 0 ||
	    (r = dssh_buf_get_u32(m, &o->orig_port)) != 0)
		return r;
	if (o->port > 65535 || o->orig_port > 65535)
		return DSSH_ERR_INVALID_FORMAT;
	o->host = *s1;
	o->orig_host = *s2;
	return 0;
}

/* The client role asks the peer (as ssh -L does): the same four fields. */
static int
direct_tcpip_put(struct dssh_buf *b, const struct dssh_chan_open *o)
{
	int r;

	if ((r = dssh_buf_put_cstring(b, o->host)) != 0 ||
	    (r = dssh_buf_put_u32(b, o->port)) != 0 ||
	    (r = dssh_buf_put_cstring(b, o->orig_host != NULL ? o->orig_host : "127.0.0.1")) != 0)
		return r;
	return dssh_buf_put_u32(b, o->orig_port);
}

const struct dssh_chan_type dssh_chan_direct_tcpip = {
	.name = "direct-tcpip",
	.kind = DSSH_CHAN_DIRECT_TCPIP,
	.parse_open = direct_tcpip_open,
	.put_open = direct_tcpip_put,
};
