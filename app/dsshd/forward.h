/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSHD_FORWARD_H
#define DSSHD_FORWARD_H

/*
 * Forwarding for one connection (forward.c): direct-tcpip and
 * direct-streamlocal channels (ssh -L, -D), tcpip-forward and
 * streamlocal-forward listeners (ssh -R) with their forwarded-* channels,
 * and agent forwarding sockets. Every socket is a kernel socket served by
 * the connection's loop; bytes move between it and the channel with the
 * channel's flow control.
 *
 * Privileges: dsshd runs as root. What touches the file system for the
 * user (connecting or binding a Unix socket, the agent's directory) runs
 * with the user's file-system identity on this thread only (setfsuid,
 * setfsgid and the raw setgroups system call change the calling thread's
 * credentials, nothing else's), so the kernel checks the user's
 * permissions and new files are the user's. TCP needs no file-system
 * rights; a user other than root may not listen below port 1024.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "dssh_auth.h"
#include "dssh_config.h"
#include "dssh_evloop.h"
#include "dssh_fwd_policy.h"
#include "dssh_ssh.h"

struct fwd_chan;
struct fwd_listener;
struct fwd_x11_wait;

struct dsshd_monitor_link;

struct fwd_conn {
	struct dssh_conn *ssh;
	struct dssh_evloop *loop;
	const char *log_id;
	uint64_t log_num;               /* the connection's "dsshd[N]:" (dssh_log.h) */
	const struct dssh_config *cfg;
	/* The user and the policy, once authenticated (fwd_set_user). */
	bool have_user;
	const char *user;
	uid_t uid;
	gid_t gid;
	struct dssh_fwd_policy pol;
	/* After our socket I/O touched the engine: flush and re-arm. */
	void (*after_io)(void *owner);
	void *owner;
	uint8_t *buf;                   /* the loop's scratch for socket reads */
	size_t buflen;
	/* Channels we relay, by channel number (NULL: not ours). */
	struct fwd_chan **chans;
	uint32_t nchans;
	struct fwd_listener *listeners;
	/* Privilege separation: the user's sockets come from the monitor. */
	const struct dsshd_monitor_link *mon;
	uint64_t mon_conn;
	struct fwd_x11_wait *x11_waits;  /* X clients whose setup is not in yet */
	unsigned nx11_waits;
	/* The packet layer is on a data core: open channels' sockets go to it
	 * (dssh_chan_offload), which relays them. */
	bool offload;
};

void fwd_init(struct fwd_conn *fc);
/* After authentication: whose rights, and the policy (lib/auth) that
 * decides every forwarding (key: the authorized_keys options, or NULL). */
int fwd_set_user(struct fwd_conn *fc, const char *user, uid_t uid, gid_t gid,
    const struct dssh_authkey_opts *key, const char *peer_ip, int peer_port);
/* Close every socket, listener and agent directory. */
void fwd_free(struct fwd_conn *fc);
bool fwd_owns(const struct fwd_conn *fc, uint32_t chan);

/* Engine callbacks (dssh_conn_host_ops), for channels fwd_owns. */
int fwd_channel_open(struct fwd_conn *fc, uint32_t chan, const struct dssh_chan_open *req);
void fwd_open_result(struct fwd_conn *fc, uint32_t chan, uint32_t reason);
int fwd_global_request(struct fwd_conn *fc, const struct dssh_global_req *req, uint32_t *port);
void fwd_channel_data(struct fwd_conn *fc, uint32_t chan, const uint8_t *p, size_t n);
void fwd_channel_eof(struct fwd_conn *fc, uint32_t chan);
void fwd_channel_closed(struct fwd_conn *fc, uint32_t chan);
/* An offloaded channel's events (channel_offload). */
void fwd_channel_offload(struct fwd_conn *fc, uint32_t chan, enum dssh_chan_offload_ev ev);
/* Re-arm socket interest after the engine moved (window, output space). */
void fwd_update_events(struct fwd_conn *fc);

/*
 * Agent forwarding for a session: a listening socket in a new private
 * directory made as the user; *path (static to the listener, valid until
 * fwd_agent_stop) goes into SSH_AUTH_SOCK. *handle identifies it.
 */
int fwd_agent_start(struct fwd_conn *fc, const char **path, struct fwd_listener **handle);
void fwd_agent_stop(struct fwd_conn *fc, struct fwd_listener *handle);

/*
 * X11 forwarding (x11-req): listen on TCP 6000+N for the first N from
 * offset free on loopback (localhost) or every address; each connection
 * opens an "x11" channel to the client once its setup presented the fake
 * cookie (*fake_hex, for xauth), which is replaced by the client's. Closed
 * by fwd_x11_stop (the session's end) or with the connection.
 */
struct fwd_x11_req {
	bool single;
	const char *proto, *cookie;     /* as in the request; cookie hex */
	unsigned offset;                /* X11DisplayOffset */
	bool localhost;                 /* X11UseLocalhost */
};
int fwd_x11_start(struct fwd_conn *fc, const struct fwd_x11_req *req, unsigned *display,
    const char **fake_hex, struct fwd_listener **handle);
void fwd_x11_stop(struct fwd_conn *fc, struct fwd_listener *handle);

#endif
