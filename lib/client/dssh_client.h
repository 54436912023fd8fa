/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_CLIENT_H
#define DSSH_CLIENT_H

/*
 * An SSH client connection for the client tools (dssh, dssh-cp): the
 * engine in its client role (lib/ssh) over a transport (lib/stream: a
 * kernel TCP socket here; a DPDK stream fits the same ops), with the
 * host-key check against known_hosts (lib/sshkey/dssh_known_hosts.h),
 * publickey authentication from OpenSSH key files and ssh-agent's keys
 * ($SSH_AUTH_SOCK, signatures made by the agent), and password
 * authentication (DSSH_PASSWORD in the environment, else a prompt on the
 * terminal).
 *
 * Blocking API: connect returns once authenticated; session channels are
 * opened and started with one call each. The tool then drives I/O with
 * dssh_client_fd / dssh_client_io (for its own poll loop) or
 * dssh_client_wait.
 *
 * Transports: a kernel TCP socket unless opts.transport names another one
 * (the DPDK client data plane, drivers/net/dpdk/dssh_dpdk_client.h). A
 * transport without a file descriptor makes dssh_client_fd return -1: the
 * tool then busy-polls, calling dssh_client_io (or dssh_client_wait with a
 * timeout of 0) in its loop, each call driving the transport once.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dssh_ssh.h"

struct dssh_client;
struct dssh_crypto_engine;

enum dssh_strict_hostkey {
	DSSH_STRICT_ASK = 0,          /* ask on the terminal; no terminal: refuse */
	DSSH_STRICT_YES,              /* unknown keys refused */
	DSSH_STRICT_ACCEPT_NEW,       /* unknown keys added, changed refused */
	DSSH_STRICT_NO,               /* unknown keys added, changed refused too */
};

#define DSSH_CLIENT_MAX_IDS 16

struct dssh_stream;

/*
 * A transport other than a kernel socket, polled by the client's thread.
 * connect: open a byte stream to host:port (an address the transport
 * understands), blocking until it is established, refused or timeout_s
 * passed (0: the transport's default); messages to stderr as ssh writes
 * them. poll: drive the transport's I/O (receive, timers, transmit) for up
 * to timeout_ms (0: once), returning as soon as s has news (bytes to read,
 * room after a short write, EOF); 0 or a negative DSSH_ERR_*. The stream
 * is let go of with dssh_stream_close (what was written is still sent).
 */
struct dssh_client_transport {
	int (*connect)(void *arg, const char *host, int port, unsigned timeout_s,
	    struct dssh_stream **out);
	int (*poll)(void *arg, struct dssh_stream *s, int timeout_ms);
	void *arg;
};

struct dssh_client_opts {
	const char *host;
	int port;                     /* 0: 22 */
	const char *user;             /* NULL: $USER */
	const char *identities[DSSH_CLIENT_MAX_IDS];   /* NULL: ~/.ssh/id_{ed25519,ecdsa,rsa} */
	unsigned n_identities;
	const char *known_hosts;      /* NULL: ~/.ssh/known_hosts */
	const char *identity_agent;   /* ssh-agent socket; NULL: $SSH_AUTH_SOCK, "none": off */
	enum dssh_strict_hostkey strict;
	bool hash_known_hosts;        /* HashKnownHosts */
	bool batch;                   /* BatchMode: never prompt */
	bool password_auth;
	bool pubkey_auth;
	bool quiet;
	const char *kex, *ciphers, *macs, *hostkey_algs;   /* NULL: defaults */
	unsigned connect_timeout;     /* seconds, 0: none */
	struct dssh_crypto_engine *engine;
	const struct dssh_client_transport *transport;   /* NULL: a kernel TCP socket */
};

/* What the tool hears about a channel. */
struct dssh_client_chan_ops {
	/* Data (ext: stderr). The tool calls dssh_client_consumed once done with it. */
	void (*data)(void *arg, uint32_t chan, const uint8_t *p, size_t n, bool ext);
	void (*eof)(void *arg, uint32_t chan);
	void (*closed)(void *arg, uint32_t chan);
	void (*exit)(void *arg, uint32_t chan, int status, const char *signal);
	void (*writable)(void *arg, uint32_t chan);
};

void dssh_client_opts_init(struct dssh_client_opts *o);
/* Connect, exchange keys, check the host key, authenticate. Messages go to
 * stderr as ssh writes them; failures give a negative error. */
int dssh_client_connect(const struct dssh_client_opts *o, struct dssh_client **out);
void dssh_client_free(struct dssh_client *cl);

void dssh_client_set_chan_ops(struct dssh_client *cl, const struct dssh_client_chan_ops *ops,
    void *arg);
/*
 * Open a session channel and start req on it (exec, shell, subsystem);
 * blocks until the server answers. DSSH_ERR_PERMISSION: refused.
 */
int dssh_client_session(struct dssh_client *cl, const struct dssh_session_req *req,
    uint32_t *chan);

/*
 * The two halves of dssh_client_session, for other channels and requests:
 * open any channel kind (direct-tcpip as ssh -L) and wait for the answer;
 * send one request with want-reply and wait for it (a PTY before exec).
 */
int dssh_client_open(struct dssh_client *cl, const struct dssh_chan_open *o, uint32_t *chan);
int dssh_client_request(struct dssh_client *cl, uint32_t chan,
    const struct dssh_session_req *req);

struct dssh_conn *dssh_client_conn(struct dssh_client *cl);
/* The socket, and whether output is pending (poll for POLLOUT too). -1
 * with a transport that has no descriptor: busy-poll dssh_client_io. */
int dssh_client_fd(const struct dssh_client *cl);
bool dssh_client_want_write(const struct dssh_client *cl);
/* After poll: read and write what can be. 0, or an error once the
 * connection is over (DSSH_ERR_CONN_CLOSED: the peer closed). With a
 * polled transport (fd -1) revents is ignored: the transport is driven
 * once and whatever it has is read and written. */
int dssh_client_io(struct dssh_client *cl, short revents);
/* poll the socket (or drive the transport) alone for up to timeout_ms and
 * do its I/O. */
int dssh_client_wait(struct dssh_client *cl, int timeout_ms);
/* Send what can be sent now (window, buffers); returns bytes taken. */
size_t dssh_client_send(struct dssh_client *cl, uint32_t chan, const uint8_t *p, size_t n);
void dssh_client_consumed(struct dssh_client *cl, uint32_t chan, size_t n);
/* Flush everything queued (blocking), then close the transport. */
void dssh_client_close(struct dssh_client *cl);

#endif
