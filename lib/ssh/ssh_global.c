/* SPDX-License-Identifier: BSD-3-Clause */
/* Global requests the host answers (RFC 4254 7.1, OpenSSH PROTOCOL 2.4),
 * and the channel type table. */
#include <string.h>

#include "dssh_err.h"
#include "ssh_internal.h"

static const struct dssh_chan_type *const chan_types[] = {
	&dssh_chan_session,
	&dssh_chan_direct_tcpip,
	&dssh_chan_forwarded_tcpip,
	&dssh_chan_direct_streamlocal,
	&dssh_chan_forwarded_streamlocal,
	&dssh_chan_auth_agent,
	&dssh_chan_x11,
};

const struct dssh_chan_type *
dssh_chan_type_by_name(const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < sizeof(chan_types) / sizeof(chan_types[0]); i++)
		if (strlen(chan_types[i]->name) == len && memcmp(chan_types[i]->name, name, len) == 0)
			return chan_types[i];
	return NULL;
}

const struct dssh_chan_type *
dssh_chan_type_by_kind(enum dssh_chan_kind kind)
{
	for (size_t i = 0; i < sizeof(chan_types) / sizeof(chan_types[0]); i++)
		if (chan_types[i]->kind == kind)
			return chan_types[i];
	return NULL;
}

/*
 * tcpip-forward, cancel-tcpip-forward: address, u32 port.
 * streamlocal-forward@openssh.com, cancel-...: socket path.
 * DSSH_ERR_UNSUPPORTED for any other name (refused, not an error).
 */
int
dssh_global_parse(const char *name, struct dssh_buf *m, struct dssh_global_req *req,
    char **addr)
{
	bool tcp = true;
	int r;

	memset(req, 0, sizeof(*req));
	if (strcmp(name, "tcpip-forward") == 0)
		req->type = DSSH_GREQ_TCPIP_FORWARD;
	else if (strcmp(name, "cancel-tcpip-forward") == 0)
		req->type = DSSH_GREQ_CANCEL_TCPIP_FORWARD;
	else if (strcmp(name, "streamlocal-forward@openssh.com") == 0)
		req->type = DSSH_GREQ_STREAMLOCAL_FORWARD, tcp = false;
	else if (strcmp(name, "cancel-streamlocal-forward@openssh.com") == 0)
		req->type = DSSH_GREQ_CANCEL_STREAMLOCAL_FORWARD, tcp = false;
	else
		return DSSH_ERR_UNSUPPORTED;
	if ((r = dssh_buf_get_cstring(m, addr, NULL)) != 0)
		return r;
	req->addr = *addr;
	if (tcp) {
		if ((r = dssh_buf_get_u32(m, &req->port)) != 0)
			return r;
		if (req->port > 65535)
			return DSSH_ERR_INVALID_FORMAT;
	} else if ((*addr)[0] == '\0') {
		return DSSH_ERR_INVALID_FORMAT;
	}
	return 0;
}
