/* SPDX-License-Identifier: BSD-3-Clause */
/* "direct-streamlocal@openssh.com" (OpenSSH PROTOCOL 2.4): the peer asks
 * us to connect a Unix socket. */
#include "dssh_err.h"
#include "ssh_internal.h"

/* socket path, reserved string, reserved u32. */
static int
direct_streamlocal_open(struct dssh_buf *m, struct dssh_chan_open *o, char **s1, char **s2)
{
	uint32_t reserved;
	int r;

	(void)s2;
	if ((r = dssh_buf_get_cstring(m, s1, NULL)) != 0 ||
	    (r = dssh_buf_skip_string(m)) != 0 ||
	    (r = dssh_buf_get_u32(m, &reserved)) != 0)
		return r;
	if ((*s1)[0] == '\0')
		return DSSH_ERR_INVALID_FORMAT;
	o->host = *s1;
	return 0;
}

const struct dssh_chan_type dssh_chan_direct_streamlocal = {
	.name = "direct-streamlocal@openssh.com",
	.kind = DSSH_CHAN_DIRECT_STREAMLOCAL,
	.parse_open = direct_streamlocal_open,
};
