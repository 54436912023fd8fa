/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_SSH_H
#define DSSH_SSH_H

/*
 * The SSH-2 server engine (RFC 4253, 4252, 4254), sans-I/O.
 *
 * The engine never reads, writes, sleeps or forks. Its host (the kernel
 * socket backend, the DPDK data plane, a unit test, a fuzzer) feeds it the
 * bytes received from the peer with dssh_conn_input(), takes the bytes to
 * send with dssh_conn_output()/dssh_conn_output_consume(), and answers the
 * decisions the engine cannot make itself (is this key authorised? run this
 * command) through the callbacks in struct dssh_conn_host_ops. A decision
 * that takes time (PAM) is answered later; until then the engine stops
 * consuming input for that connection.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dssh_conn;
struct dssh_sshkey;
struct dssh_crypto_engine;
struct dssh_buf;

struct dssh_buf;

/* One usable host-key signature algorithm and the key that makes it. */
struct dssh_ssh_hostkey {
	const char *alg;              /* e.g. "rsa-sha2-512" */
	struct dssh_sshkey *key;
	/*
	 * A host certificate algorithm ("rsa-sha2-512-cert-v01@openssh.com"):
	 * the certificate blob sent as the host key, and the plain algorithm
	 * the key signs with ("rsa-sha2-512"). NULL/0 for plain keys.
	 */
	const uint8_t *cert_blob;
	size_t cert_len;
	const char *sig_alg;
	/*
	 * Set: key is public only and sign() makes the signature of an exchange
	 * hash (privilege separation: the private key is in the monitor).
	 * conn_id: the connection's dssh_conn_set_sign_id (the monitor takes
	 * the first hash it signs for an id as that connection's session id).
	 */
	int (*sign)(void *arg, uint64_t conn_id, const struct dssh_sshkey *key,
	    const char *sig_alg, const uint8_t *data, size_t len, struct dssh_buf *sig);
	void *sign_arg;
};

/*
 * Which end of the connection the engine plays. The transport (version,
 * packets, KEXINIT, the KEX state machine) and the connection protocol are
 * shared; the roles differ in the KEX halves (ssh_kex.c / ssh_kex_client.c),
 * the key letters, and userauth (ssh_auth.c / ssh_auth_client.c).
 */
enum dssh_role {
	DSSH_ROLE_SERVER = 0,
	DSSH_ROLE_CLIENT,
};

struct dssh_ssh_conf {
	enum dssh_role role;          /* 0: server */
	const char *kex_algs;         /* comma lists, preference order */
	const char *cipher_algs;
	const char *mac_algs;
	const char *pubkey_algs;      /* accepted user-key signature algorithms */
	const struct dssh_ssh_hostkey *hostkeys;
	unsigned n_hostkeys;
	uint64_t rekey_bytes;         /* 0: cipher default */
	uint32_t rekey_seconds;       /* 0: never by time */
	unsigned max_auth_tries;
	bool pubkey_auth;
	bool password_auth;
	bool kbdint_auth;             /* keyboard-interactive (host answers through auth_kbdint) */
	const struct dssh_authmethods *auth_methods;   /* AuthenticationMethods, NULL: any */
	uint32_t chan_window;         /* receive window of a channel, 0: the default */
	uint32_t max_channels;        /* open at once, 0: DSSH_DEFAULT_MAX_CHANNELS */
	uint32_t client_alive_interval;   /* seconds, 0 off */
	unsigned client_alive_count_max;
	const char *version_comment;  /* after "SSH-2.0-" */
	const char *auth_banner;      /* sshd's Banner: sent before authentication, or NULL */
	bool compression;             /* offer zlib@openssh.com (Compression yes/delayed) */
	struct dssh_crypto_engine *engine;
	/* Client role only. */
	const char *hostkey_algs;     /* accepted host-key algorithms, preference order */
	const char *user;             /* the login name */
};

#define DSSH_DEFAULT_MAX_CHANNELS 1024

/* CHANNEL_OPEN_FAILURE reason codes (RFC 4254 5.1). */
#define DSSH_OPEN_ADMINISTRATIVELY_PROHIBITED 1
#define DSSH_OPEN_CONNECT_FAILED 2
#define DSSH_OPEN_UNKNOWN_CHANNEL_TYPE 3
#define DSSH_OPEN_RESOURCE_SHORTAGE 4

/* Channel types beyond "session" (RFC 4254 6, 7; OpenSSH PROTOCOL 2.4, 2.6). */
enum dssh_chan_kind {
	DSSH_CHAN_SESSION,
	DSSH_CHAN_DIRECT_TCPIP,             /* client opens: ssh -L, -D */
	DSSH_CHAN_FORWARDED_TCPIP,          /* we open: ssh -R */
	DSSH_CHAN_DIRECT_STREAMLOCAL,       /* direct-streamlocal@openssh.com */
	DSSH_CHAN_FORWARDED_STREAMLOCAL,    /* forwarded-streamlocal@openssh.com */
	DSSH_CHAN_AUTH_AGENT,               /* auth-agent@openssh.com (we open) */
	DSSH_CHAN_X11,                      /* x11 (we open: ssh -X) */
};

/*
 * A channel open, either way; strings are NUL-terminated views valid only
 * during the call. direct-tcpip: host:port is the target, orig_* the
 * originator. forwarded-tcpip: host:port is the address that was
 * connected (the listener), orig_* the originator. streamlocal: host is
 * the socket path (port, orig_* unused).
 */
struct dssh_chan_open {
	enum dssh_chan_kind kind;
	const char *host;
	uint32_t port;
	const char *orig_host;
	uint32_t orig_port;
};

enum dssh_global_req_type {
	DSSH_GREQ_TCPIP_FORWARD,
	DSSH_GREQ_CANCEL_TCPIP_FORWARD,
	DSSH_GREQ_STREAMLOCAL_FORWARD,          /* streamlocal-forward@openssh.com */
	DSSH_GREQ_CANCEL_STREAMLOCAL_FORWARD,
};

/* A parsed global request; addr is a view valid during the call (a path
 * for streamlocal). */
struct dssh_global_req {
	enum dssh_global_req_type type;
	const char *addr;
	uint32_t port;
	bool want_reply;              /* sshd refuses port 0 without one */
};

enum dssh_session_req_type {
	DSSH_REQ_PTY,
	DSSH_REQ_ENV,
	DSSH_REQ_SHELL,
	DSSH_REQ_EXEC,
	DSSH_REQ_SUBSYSTEM,
	DSSH_REQ_WINDOW_CHANGE,
	DSSH_REQ_SIGNAL,
	DSSH_REQ_AUTH_AGENT,          /* auth-agent-req@openssh.com */
	DSSH_REQ_X11,                 /* x11-req: name protocol, value cookie (hex) */
};

/* A parsed session channel request; strings are NUL-terminated views valid
 * only during the callback. */
struct dssh_session_req {
	enum dssh_session_req_type type;
	const char *term;             /* PTY */
	uint32_t cols, rows, xpixel, ypixel;  /* PTY, WINDOW_CHANGE */
	const uint8_t *modes;         /* PTY: encoded terminal modes */
	size_t modes_len;
	const char *name;             /* ENV name, SUBSYSTEM name, SIGNAL name */
	const char *value;            /* ENV value */
	const char *command;          /* EXEC */
	bool x11_single;              /* X11: single connection */
	uint32_t x11_screen;          /* X11: screen number */
};

enum dssh_auth_method {
	DSSH_AUTH_PUBLICKEY,
	DSSH_AUTH_PASSWORD,
	DSSH_AUTH_KBDINT,
};

enum dssh_chan_offload_ev {
	DSSH_CHAN_OFFLOADED,     /* the core intercepts: write what you hold, then _go */
	DSSH_CHAN_OUT_EOF,       /* the child's stdout ended, all of it sent */
	DSSH_CHAN_ERR_EOF,       /* its stderr */
	DSSH_CHAN_RECLAIMED,     /* the core let the channel go (after a close) */
	DSSH_CHAN_OUT_FAIL,      /* stdout (a relayed socket) ended with an error (a reset) */
	DSSH_CHAN_CONNECTED,     /* dssh_chan_connect_offload: open (answer it, then _go) */
	DSSH_CHAN_CONNECT_FAILED,        /* it was refused or reset (answer the open) */
	DSSH_CHAN_CONNECT_TIMEOUT,       /* nothing answered it (answer the open) */
};

/* Client role: the next authentication attempt the host wants made. */
struct dssh_client_auth {
	enum dssh_auth_method method;  /* PUBLICKEY or PASSWORD */
	const struct dssh_sshkey *key; /* publickey: private, or public with auth_sign */
	const char *password;          /* password */
};

struct dssh_conn_host_ops {
	/*
	 * Is this public key (SSH wire blob) authorised for user? Called once
	 * the signature is verified (final), and for a query without one.
	 * 0 yes; for final, DSSH_ERR_AGAIN defers the answer to
	 * dssh_conn_auth_result() (account checks); anything else no.
	 */
	int (*auth_pubkey)(void *host, const char *user, const uint8_t *blob, size_t len,
	    bool final);
	/*
	 * Check a password. Return 0 to accept now, DSSH_ERR_AGAIN when the
	 * answer comes later through dssh_conn_auth_result(), else refuse.
	 * The password is wiped by the engine after the call.
	 */
	int (*auth_password)(void *host, const char *user, const char *password);
	/*
	 * keyboard-interactive (RFC 4256): called with n 0 (responses NULL)
	 * when the method starts, then with the peer's answers to the prompts
	 * the host gave dssh_conn_kbdint_prompt(). DSSH_ERR_AGAIN: the host
	 * answers later, with dssh_conn_kbdint_prompt() (another round) or
	 * dssh_conn_auth_result(); anything else refuses. Responses are wiped
	 * by the engine after the call.
	 */
	int (*auth_kbdint)(void *host, const char *user, const char *const *responses,
	    unsigned n);
	/* The peer left a keyboard-interactive exchange (a new request came). */
	void (*auth_kbdint_abort)(void *host);
	/*
	 * The user name of the first userauth request, before anything is
	 * done with it (optional). The host may change the conf's
	 * authentication settings here (sshd's Match User): the engine reads
	 * AuthenticationMethods, the Banner and the enabled methods after it.
	 */
	void (*auth_user_known)(void *host, const char *user);
	/* Authentication succeeded (after the account checks the host did). */
	void (*auth_success)(void *host, const char *user, enum dssh_auth_method m);
	/* A session channel was opened; 0 accepts it. */
	int (*session_open)(void *host, uint32_t chan);
	/* 0: success; anything else: failure reply. */
	int (*session_request)(void *host, uint32_t chan, const struct dssh_session_req *req);
	/* Data from the peer. The host must take all of it; it calls
	 * dssh_chan_consumed() when the bytes have left its buffers. */
	void (*channel_data)(void *host, uint32_t chan, const uint8_t *p, size_t n);
	void (*channel_eof)(void *host, uint32_t chan);
	/* Peer closed the channel: forget it (the engine answers the close). */
	void (*channel_closed)(void *host, uint32_t chan);
	/* The engine can take more data for chan (window opened, kex over). */
	void (*channel_writable)(void *host, uint32_t chan);
	/* An offloaded channel (dssh_chan_offload) moved on; NULL: never
	 * offloaded. The peer's EOF comes through channel_eof (the data core
	 * wrote every byte before it and closed its stdin). */
	void (*channel_offload)(void *host, uint32_t chan, enum dssh_chan_offload_ev ev);
	/*
	 * The peer opened a channel of another kind than session (NULL: every
	 * such open is refused). 0 confirms it now; DSSH_ERR_AGAIN defers the
	 * answer to dssh_chan_open_reply() (a connect in progress); anything
	 * else refuses it: DSSH_ERR_PERMISSION as administratively
	 * prohibited, DSSH_ERR_ALLOC/DSSH_ERR_BUSY as resource shortage, any
	 * other as connect failed.
	 */
	int (*channel_open)(void *host, uint32_t chan, const struct dssh_chan_open *req);
	/* Our dssh_chan_open() was answered: reason 0 confirmed, else the
	 * peer's failure reason (the channel number is free again after). */
	void (*channel_open_result)(void *host, uint32_t chan, uint32_t reason);
	/*
	 * A global request (NULL: all refused). 0 accepts; for a
	 * tcpip-forward, *bound_port is the port listened on (sent back when
	 * the peer asked for port 0). Anything else refuses.
	 */
	int (*global_request)(void *host, const struct dssh_global_req *req, uint32_t *bound_port);

	/* ---- client role (NULL in a server) ---- */
	/*
	 * The server's host key (wire blob) for the negotiated algorithm,
	 * its signature over the exchange hash already verified. 0 accepts
	 * it; anything else ends the connection (known_hosts said no). Called
	 * on the first key exchange only: a rekey must show the same key.
	 */
	int (*verify_hostkey)(void *host, const char *alg, const uint8_t *blob, size_t len);
	/*
	 * The next authentication attempt. methods: what the server said can
	 * continue. 0 with *a filled; anything else: nothing left to try
	 * (the engine disconnects, "Permission denied (methods)").
	 */
	int (*auth_next)(void *host, const char *methods, struct dssh_client_auth *a);
	/* Sign data for a key without its private half (ssh-agent); appends
	 * the signature blob. NULL: only keys with private parts. */
	int (*auth_sign)(void *host, const struct dssh_sshkey *key, const char *alg,
	    const uint8_t *data, size_t len, struct dssh_buf *sig);
	/* USERAUTH_BANNER text (NULL: dropped). */
	void (*auth_banner)(void *host, const char *msg);
	/* Stderr data (EXTENDED_DATA 1); the host calls dssh_chan_consumed
	 * for it too. NULL: discarded. */
	void (*channel_ext_data)(void *host, uint32_t chan, const uint8_t *p, size_t n);
	/* The answer to a dssh_chan_request() that wanted one. */
	void (*channel_request_result)(void *host, uint32_t chan, bool ok);
	/* exit-status (signal NULL) or exit-signal (status -1) from the server. */
	void (*channel_exit)(void *host, uint32_t chan, int status, const char *signal);
};

/* Before dssh_conn_start(): input and output are records of an offloaded
 * packet layer (dssh_record.h) instead of wire bytes. */
void dssh_conn_set_record_offload(struct dssh_conn *c);
/* The transport's smoothed round trip (0: unknown): channel windows grow
 * only where it, not the consumer, limits a transfer (dssh_chan_win.h). */
void dssh_conn_set_rtt(struct dssh_conn *c, uint32_t rtt_us);
/* The id passed to a host key's sign() for this connection (default 0). */
void dssh_conn_set_sign_id(struct dssh_conn *c, uint64_t id);
/*
 * Inside auth_pubkey(final): the exact data the client signed (RFC 4252
 * section 7) and its signature blob, as verified; views valid during the
 * call only. DSSH_ERR_NOT_FOUND elsewhere.
 */
int dssh_conn_auth_signature(const struct dssh_conn *c, const uint8_t **data, size_t *dlen,
    const uint8_t **sig, size_t *slen);
int dssh_conn_new(const struct dssh_ssh_conf *conf, const struct dssh_conn_host_ops *ops,
    void *host, const char *log_id, struct dssh_conn **out);
void dssh_conn_free(struct dssh_conn *c);

/* Queue the server's version line. Call once, before anything else. */
int dssh_conn_start(struct dssh_conn *c, uint64_t now_ms);
/* Bytes from the peer. Returns 0, or a negative error once the connection
 * is finished (the DISCONNECT is already queued in the output). */
int dssh_conn_input(struct dssh_conn *c, const uint8_t *p, size_t n, uint64_t now_ms);
/* The same without a copy: the free room of the input buffer (what it
 * already has allocated, 0 when none), for the transport to receive into;
 * then dssh_conn_input_commit with how many bytes it put there. */
size_t dssh_conn_input_room(struct dssh_conn *c, uint8_t **p);
int dssh_conn_input_commit(struct dssh_conn *c, size_t n, uint64_t now_ms);
/* True while the engine will not consume more input (a decision is
 * pending, or too much is buffered): stop reading the socket. */
bool dssh_conn_input_paused(const struct dssh_conn *c);
/* Process input held back while paused. */
int dssh_conn_resume(struct dssh_conn *c, uint64_t now_ms);
/* Timers: rekey by time, client-alive probes. Call about once a second. */
int dssh_conn_tick(struct dssh_conn *c, uint64_t now_ms);

void dssh_conn_output(struct dssh_conn *c, const uint8_t **p, size_t *n);
void dssh_conn_output_consume(struct dssh_conn *c, size_t n);
size_t dssh_conn_output_pending(const struct dssh_conn *c);
/* The engine has finished: flush what is pending, then close. */
bool dssh_conn_closing(const struct dssh_conn *c);
bool dssh_conn_authenticated(const struct dssh_conn *c);
/* Compression negotiated in either direction (its channels stay off the
 * data cores: they would see compressed payloads). */
bool dssh_conn_compressed(const struct dssh_conn *c);
const char *dssh_conn_user(const struct dssh_conn *c);
/* Send DISCONNECT (RFC 4253 11.1 reason) and stop. */
void dssh_conn_disconnect(struct dssh_conn *c, uint32_t reason, const char *msg);
/* The user the client named does not exist or is not allowed: logged as
 * sshd does ("Failed password for invalid user X ..."). */
void dssh_conn_set_invalid_user(struct dssh_conn *c);
/* The peer as sshd's log lines name it: the log_id ("IP port N"), after
 * "invalid user X ", "authenticating user X " or "user X " once a user
 * was named; returns buf. */
const char *dssh_conn_log_peer(const struct dssh_conn *c, char *buf, size_t n);
/* " [preauth]" before authentication (sshd's tag for those lines), else ""
 * (also before the client's version line, as sshd). */
const char *dssh_conn_log_preauth(const struct dssh_conn *c);
/* The client's version line has arrived. */
bool dssh_conn_version_received(const struct dssh_conn *c);
/* Deliver a deferred auth answer (password, or publickey account check) and resume input. */
int dssh_conn_auth_result(struct dssh_conn *c, bool ok, uint64_t now_ms);
/*
 * keyboard-interactive: send an INFO_REQUEST with n prompts (echo[i]: the
 * answer may be shown) and resume input for the INFO_RESPONSE. Only while
 * an auth_kbdint answer is pending. n at most DSSH_KBDINT_MAX_PROMPTS.
 */
#define DSSH_KBDINT_MAX_PROMPTS 32
int dssh_conn_kbdint_prompt(struct dssh_conn *c, const char *instruction,
    const char *const *prompts, const bool *echo, unsigned n, uint64_t now_ms);
/* Did a publickey step of the login succeed (AuthenticationMethods lists)? */
bool dssh_conn_auth_used_publickey(const struct dssh_conn *c);

/* Channels. */
size_t dssh_chan_send_space(const struct dssh_conn *c, uint32_t chan);
/* Sends up to n bytes as CHANNEL_DATA / EXTENDED_DATA (stderr); returns
 * how many were taken (limited by window and output buffering). */
size_t dssh_chan_send(struct dssh_conn *c, uint32_t chan, const uint8_t *p, size_t n,
    bool ext_stderr);
void dssh_chan_consumed(struct dssh_conn *c, uint32_t chan, size_t n);
int dssh_chan_send_eof(struct dssh_conn *c, uint32_t chan);
int dssh_chan_exit_status(struct dssh_conn *c, uint32_t chan, uint32_t status);
int dssh_chan_exit_signal(struct dssh_conn *c, uint32_t chan, const char *sig, bool core);
/*
 * Record offload only: the data core moves the channel's data to and from
 * the child itself (dssh_record.h, channel offload). fds are the core's own
 * duplicates of the child's stdin, stdout, stderr (err -1: none, as for a
 * relayed socket whose in and out are the socket; it closes them; the host
 * keeps and closes its copies as it likes). From here the engine sends no
 * data for the channel (dssh_chan_send_space is 0). After the
 * DSSH_CHAN_OFFLOADED event and once the host wrote everything it still
 * held for the child, dssh_chan_offload_go hands the window to the core.
 * Closing the channel (either side) reclaims it first. 0 or
 * DSSH_ERR_INVALID_ARGUMENT (not record offload, channel not open, EOF).
 */
struct dssh_chan_fds {
	int in, out, err;
};
int dssh_chan_offload(struct dssh_conn *c, uint32_t chan, const struct dssh_chan_fds *fds);
int dssh_chan_offload_go(struct dssh_conn *c, uint32_t chan);
/*
 * A direct-tcpip open not answered yet (channel_open returned
 * DSSH_ERR_AGAIN): the data core connects to addr:port (IPv4, host order)
 * with its own TCP and relays the channel itself (CHAN_CONNECT). The
 * result comes through channel_offload: DSSH_CHAN_CONNECTED (confirm with
 * dssh_chan_open_reply, then dssh_chan_offload_go) or
 * DSSH_CHAN_CONNECT_FAILED/_TIMEOUT (refuse it with dssh_chan_open_reply).
 */
int dssh_chan_connect_offload(struct dssh_conn *c, uint32_t chan, uint32_t addr, uint16_t port);
bool dssh_chan_offloaded(const struct dssh_conn *c, uint32_t chan);
/* The answer to a deferred channel_open: reason 0 confirms, else
 * DSSH_OPEN_* with msg (a failure frees the channel number). */
int dssh_chan_open_reply(struct dssh_conn *c, uint32_t chan, uint32_t reason, const char *msg);
/*
 * Open a channel towards the peer (forwarded-tcpip, forwarded-streamlocal,
 * auth-agent). *chan is its number at once; the answer comes through
 * channel_open_result, and no data moves before it (send space is 0).
 * DSSH_ERR_BUSY: at the channel limit.
 */
int dssh_chan_open(struct dssh_conn *c, const struct dssh_chan_open *req, uint32_t *chan);
/*
 * Client role: a session channel request (exec, shell, subsystem, env,
 * pty). want_reply: the answer comes through channel_request_result.
 */
int dssh_chan_request(struct dssh_conn *c, uint32_t chan, const struct dssh_session_req *req,
    bool want_reply);
/* The server's host-key blob (after the first key exchange; NULL before). */
const uint8_t *dssh_conn_hostkey_blob(const struct dssh_conn *c, size_t *len);
/* Channels in use (for tests and logs). */
size_t dssh_chan_count(const struct dssh_conn *c);
/* Our CLOSE. The channel is freed once both sides have closed. */
int dssh_chan_close(struct dssh_conn *c, uint32_t chan);

/* For tests and logs. */
struct dssh_conn_stats {
	uint64_t bytes_in, bytes_out;     /* wire bytes */
	uint64_t packets_in, packets_out;
	unsigned kex_count;
	bool strict_kex;
	const char *kex_alg, *hostkey_alg, *cipher_in, *cipher_out, *mac_in, *mac_out;
	/* How it ended, for the host's limits (penalties, counters). */
	unsigned auth_failures;           /* failed attempts (none excluded) */
	bool auth_tries_exceeded;         /* disconnected at MaxAuthTries */
	bool alive_timed_out;             /* disconnected at ClientAliveCountMax */
};
void dssh_conn_get_stats(const struct dssh_conn *c, struct dssh_conn_stats *st);
/* Channels in use now (any type, opening ones too): for dsshctl. */
unsigned dssh_conn_channels_open(const struct dssh_conn *c);

#endif
