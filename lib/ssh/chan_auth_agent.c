/* SPDX-License-Identifier: BSD-3-Clause */
/* "auth-agent@openssh.com" (OpenSSH PROTOCOL 2.2): a program of the
 * session connected to its SSH_AUTH_SOCK; the peer relays to its agent. */
#include "dssh_err.h"
#include "ssh_internal.h"

static int
auth_agent_put(struct dssh_buf *b, const struct dssh_chan_open *o)
{
	(void)b;
	(void)o;
	return 0;     /* no type-specific fields */
}

const struct dssh_chan_type dssh_chan_auth_agent = {
	.name = "auth-agent@openssh.com",
	.kind = DSSH_CHAN_AUTH_AGENT,
	.put_open = auth_agent_put,
};
