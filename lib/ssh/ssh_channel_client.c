/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Connection protocol, client side (RFC 4254 6.10): the requests a server
 * sends on a session channel. The rest of the channel machinery (open,
 * window, data, EOF, close) is ssh_channel.c's, shared by both roles.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "ssh_internal.h"

static int
reply(struct dssh_conn *c, uint32_t remote_id, bool ok)
{
	uint8_t msg[5] = { ok ? SSH_MSG_CHANNEL_SUCCESS : SSH_MSG_CHANNEL_FAILURE };
	struct dssh_buf b;

	dssh_put_u32be(msg + 1, remote_id);
	dssh_buf_from(&b, msg, sizeof(msg));
	return dssh_conn_send_app(c, &b);
}

/* exit-signal: string name (without "SIG"), bool core, string message, string lang. */
static int
exit_signal(struct dssh_conn *c, uint32_t id, struct dssh_buf *m)
{
	char *sig = NULL;
	bool core;
	int r;

	if ((r = dssh_buf_get_cstring(m, &sig, NULL)) != 0 ||
	    (r = dssh_buf_get_bool(m, &core)) != 0 ||
	    (r = dssh_buf_skip_string(m)) != 0 ||
	    (r = dssh_buf_skip_string(m)) != 0) {
		free(sig);
		return r;
	}
	if (c->ops->channel_exit != NULL)
		c->ops->channel_exit(c->host, id, -1, sig);
	free(sig);
	return 0;
}

int
dssh_chan_client_request(struct dssh_conn *c, uint32_t id, const char *type, bool want_reply,
    struct dssh_buf *m)
{
	struct dssh_channel *ch;
	uint32_t status;
	int r = 0;

	if (strcmp(type, "exit-status") == 0) {
		if ((r = dssh_buf_get_u32(m, &status)) != 0)
			goto bad;
		if (c->ops->channel_exit != NULL)
			c->ops->channel_exit(c->host, id, (int)(status & 0xff), NULL);
	} else if (strcmp(type, "exit-signal") == 0) {
		if ((r = exit_signal(c, id, m)) != 0)
			goto bad;
	} else {
		/* eow@openssh.com, keepalive@openssh.com, ...: nothing to do. */
		dssh_debug("%s: channel %u: server request %.60s", c->log_id, id, type);
		if (want_reply && (ch = c->chans[id]) != NULL && !ch->sent_close)
			return reply(c, ch->remote_id, false);
	}
	return 0;
bad:
	dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed channel request %.60s", type);
	return r;
}
