/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_SSH_INTERNAL_H
#define DSSH_SSH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "dssh_authmethods.h"
#include "dssh_buf.h"
#include "dssh_chan_win.h"
#include "dssh_crypto.h"
#include "dssh_kex.h"
#include "dssh_record.h"
#include "dssh_ssh.h"
#include "ssh_msg.h"

#define DSSH_PACKET_MAX (256u * 1024)      /* packet_length limit */
#define DSSH_VERSION_LINE_MAX 255
#define DSSH_BANNER_LINES_MAX 20
#define DSSH_OUTPUT_HIGH_WATER (4u * 1024 * 1024)

#define DSSH_DEFAULT_REKEY_BYTES (1ull << 30)

/* KEXINIT name-list slots, RFC 4253 7.1. */
enum dssh_kex_slot {
	KEX_SLOT_KEX, KEX_SLOT_HOSTKEY, KEX_SLOT_ENC_CS, KEX_SLOT_ENC_SC,
	KEX_SLOT_MAC_CS, KEX_SLOT_MAC_SC, KEX_SLOT_COMP_CS, KEX_SLOT_COMP_SC,
	KEX_SLOT_LANG_CS, KEX_SLOT_LANG_SC, KEX_SLOTS
};

struct dssh_kexinit {
	char *lists[KEX_SLOTS];
	bool first_kex_follows;
};

int dssh_kexinit_parse(const uint8_t *payload, size_t len, struct dssh_kexinit *out);
void dssh_kexinit_free(struct dssh_kexinit *k);
int dssh_kexinit_build(struct dssh_buf *payload, const char *const lists[KEX_SLOTS]);
/* First name of client's list the server also has; NULL when none (caller frees). */
char *dssh_kex_negotiate(const char *client, const char *server);
bool dssh_namelist_has(const char *list, const char *name);
/* First entry of a list (caller frees). */
char *dssh_namelist_first(const char *list);

/* The outcome of negotiation. */
struct dssh_kex_result {
	char *kex, *hostkey, *enc_cs, *enc_sc, *mac_cs, *mac_sc;
	int comp_cs, comp_sc;        /* enum dssh_comp_alg */
};

/* Compression (ssh_comp.c). */
enum dssh_comp_alg {
	DSSH_COMP_NONE,
	DSSH_COMP_ZLIB,              /* "zlib": from NEWKEYS on */
	DSSH_COMP_DELAYED,           /* "zlib@openssh.com": from USERAUTH_SUCCESS on */
};
/* A decompressed payload may not be longer (a zip bomb ends the connection). */
#define DSSH_COMP_INFLATE_MAX DSSH_PACKET_MAX
struct dssh_comp;
int dssh_comp_alg_by_name(const char *name);
int dssh_comp_new(bool inflate, struct dssh_comp **out);
void dssh_comp_free(struct dssh_comp *k);
/* head || body as the next compressed payload (valid until the next call). */
int dssh_comp_deflate(struct dssh_comp *k, const uint8_t *head, size_t hlen,
    const uint8_t *body, size_t blen, const uint8_t **out, size_t *olen);
/* The next packet's payload decompressed: DSSH_ERR_NO_BUFFER_SPACE past
 * DSSH_COMP_INFLATE_MAX, DSSH_ERR_INVALID_FORMAT for a bad stream. */
int dssh_comp_inflate(struct dssh_comp *k, const uint8_t *in, size_t n, const uint8_t **out,
    size_t *olen);
void dssh_comp_wipe_last(struct dssh_comp *k, size_t n);
/* The most of its output buffer any call wrote (and free wipes). */
size_t dssh_comp_used(const struct dssh_comp *k);
void dssh_kex_result_free(struct dssh_kex_result *r);
int dssh_kex_choose(const struct dssh_kexinit *client, const struct dssh_kexinit *server,
    struct dssh_kex_result *out, const char **failed_slot);

enum dssh_conn_state {
	CONN_VERSION,        /* waiting for the peer's version line */
	CONN_TRANSPORT,      /* binary packets */
	CONN_CLOSED,
};

enum dssh_auth_state {
	AUTH_NO_SERVICE,     /* waiting for ssh-userauth service request */
	AUTH_IN_PROGRESS,
	AUTH_PENDING,        /* asked the host; input paused */
	AUTH_KBDINT,         /* INFO_REQUEST sent, waiting for INFO_RESPONSE */
	AUTH_DONE,
};

/*
 * A channel type, selected by name (chan_*.c). parse_open reads a peer's
 * CHANNEL_OPEN fields after the common ones (NULL: the peer may not open
 * it); put_open writes ours (NULL: we never open it); request parses a
 * channel request of the type (NULL: all refused; DSSH_ERR_UNSUPPORTED for
 * an unknown name).
 */
struct dssh_chan_type {
	const char *name;
	enum dssh_chan_kind kind;
	int (*parse_open)(struct dssh_buf *m, struct dssh_chan_open *o, char **s1, char **s2);
	int (*put_open)(struct dssh_buf *b, const struct dssh_chan_open *o);
	int (*request)(const char *name, struct dssh_buf *m, struct dssh_session_req *req,
	    char **s1, char **s2);
};

extern const struct dssh_chan_type dssh_chan_session, dssh_chan_direct_tcpip,
    dssh_chan_forwarded_tcpip, dssh_chan_direct_streamlocal,
    dssh_chan_forwarded_streamlocal, dssh_chan_auth_agent, dssh_chan_x11;
const struct dssh_chan_type *dssh_chan_type_by_name(const uint8_t *name, size_t len);
const struct dssh_chan_type *dssh_chan_type_by_kind(enum dssh_chan_kind kind);

/* Global requests (ssh_global.c). */
int dssh_global_parse(const char *name, struct dssh_buf *m, struct dssh_global_req *req,
    char **addr);

struct dssh_channel {
	bool in_use;
	const struct dssh_chan_type *type;
	enum {
		CHAN_OPEN,               /* both sides agree it exists */
		CHAN_OPENING_IN,         /* the peer opened it, the host has not answered */
		CHAN_OPENING_OUT,        /* we opened it, the peer has not answered */
	} open_state;
	uint32_t remote_id;
	uint32_t remote_maxpacket;
	struct dssh_chan_win win;    /* both directions' windows */
	bool sent_eof, rcvd_eof, sent_close, rcvd_close;
	bool started;                /* shell/exec/subsystem accepted */
	bool reclaimed;              /* the core had the window: the peer's data is dropped */
	enum {
		CHAN_OFF_NONE,
		CHAN_OFF_SENT,           /* CHAN_OFFLOAD sent, OFFLOADED not yet back */
		CHAN_OFF_READY,          /* OFFLOADED seen: the core intercepts */
		CHAN_OFF_GO,             /* GO sent: the core owns the window */
		CHAN_OFF_RECLAIM,        /* RECLAIM sent, RECLAIMED not yet back */
	} offload;
};

struct dssh_direction {
	struct dssh_crypto_sa *sa;
	uint32_t seq;
	uint64_t blocks;             /* since the last key exchange */
	uint64_t packets;
	uint64_t bytes;
	const char *cipher_name, *mac_name;
	/* record offload: the algorithms the data core uses, for counting */
	const struct dssh_cipher_info *rec_cipher;
	const struct dssh_mac_info *rec_mac;
	/* compression: negotiated for the current keys, and the stream once on */
	enum dssh_comp_alg comp_alg;
	struct dssh_comp *comp;
	size_t comp_last;            /* rx: length of the payload inflated last */
};

struct dssh_conn {
	const struct dssh_ssh_conf *conf;
	const struct dssh_conn_host_ops *ops;
	void *host;
	char log_id[80];
	enum dssh_conn_state state;

	struct dssh_buf in;          /* wire bytes not yet processed */
	struct dssh_buf out;         /* wire bytes to send */
	struct dssh_buf deferred;    /* payloads held back during key exchange */
	bool rec_offload;            /* records in and out: see dssh_record.h */
	bool comp_auth_done;         /* USERAUTH_SUCCESS sent: zlib@openssh.com may run */
	size_t out_wipe;             /* output bytes holding keys, wiped as consumed */
	uint32_t in_pkt_len;         /* packet_length of the packet being read, 0 none */
	size_t in_pkt_total;         /* its wire size incl. tag, once framed */
	size_t in_pkt_wire;          /* record offload: its estimated wire size */
	unsigned banner_lines;

	struct dssh_direction rx, tx;
	uint64_t total_bytes_in, total_bytes_out, total_pkts_in, total_pkts_out;

	/* Key exchange. */
	char *v_c, *v_s;             /* version strings, without CR LF */
	struct dssh_buf i_c, i_s;    /* KEXINIT payloads */
	struct dssh_kex_result neg;
	bool kex_in_progress;        /* KEXINIT sent, NEWKEYS not yet sent */
	bool kex_sent_kexinit;
	bool kex_rcvd_kexinit;
	bool kex_ignore_guess;       /* wrong first_kex_packet_follows guess */
	bool kex_awaiting_newkeys;   /* our NEWKEYS sent, peer's not yet seen */
	bool strict_kex;
	bool ext_info_c;
	bool sent_ext_info;
	unsigned kex_count;
	uint8_t session_id[64];
	size_t session_id_len;
	uint64_t sign_id;               /* dssh_conn_set_sign_id */
	/* during auth_pubkey(final) only: what was verified */
	const uint8_t *auth_sigdata, *auth_sig;
	size_t auth_sigdata_len, auth_sig_len;
	struct dssh_crypto_keys pending_rx_keys;
	bool have_pending_rx;
	bool rx_switch_pending;      /* NEWKEYS in hand: switch after it is consumed */
	const struct dssh_ssh_hostkey *hostkey;
	uint64_t kex_time_ms;
	uint64_t now_ms;
	uint32_t rtt_us;             /* the transport's round trip (host's word), 0 unknown */

	/* Authentication. */
	enum dssh_auth_state auth;
	char *auth_user;
	bool auth_user_invalid;      /* the host found no such (allowed) user */
	bool auth_banner_sent;
	char auth_key_desc[96];      /* "ED25519 SHA256:..." of the key in the last publickey request */
	unsigned auth_failures;
	bool auth_tries_exceeded;    /* MaxAuthTries ended it */
	enum dssh_auth_method auth_pending_method;
	bool authenticated;
	/* AuthenticationMethods: the lists, advanced as methods succeed, and
	 * the keys already used (SHA-256 of the blob; publickey,publickey
	 * needs two different keys). */
	struct dssh_authmethods auth_lists;
	bool auth_lists_set;
	uint8_t used_keys[DSSH_AUTHM_MAX_STEPS][32];
	unsigned nused_keys;
	uint8_t pending_key[32];     /* of the publickey attempt in AUTH_PENDING */
	unsigned kbdint_nprompts;    /* of the INFO_REQUEST outstanding */

	/* Client role (ssh_kex_client.c, ssh_auth_client.c). */
	struct dssh_kex_client *kex_client;   /* our ephemeral half, until the reply */
	struct dssh_buf kex_cpub;    /* our public value, encoded as sent */
	uint8_t *hostkey_blob;       /* the server's host key of the first exchange */
	size_t hostkey_blob_len;
	char *server_sig_algs;       /* EXT_INFO server-sig-algs, NULL if none came */
	bool client_sent_none;       /* the "none" request that asks for the methods */

	/* Client alive. */
	uint64_t last_rx_ms;
	unsigned alive_missed;
	uint64_t last_alive_ms;
	bool alive_timed_out;        /* ClientAliveCountMax ended it */

	/* Channels by number: the array grows (doubling) up to the limit;
	 * each channel, once made, stays until the connection is freed and is
	 * reused (so a host callback never leaves a dangling pointer). */
	struct dssh_channel **chans;
	uint32_t nchans;             /* slots in chans */
	uint32_t chans_used;
};

static inline bool
dssh_is_client(const struct dssh_conn *c)
{
	return c->conf->role == DSSH_ROLE_CLIENT;
}

/* Our KEXINIT payload and the peer's: I_C and I_S by role. */
static inline struct dssh_buf *
dssh_kexinit_ours(struct dssh_conn *c)
{
	return dssh_is_client(c) ? &c->i_c : &c->i_s;
}

static inline struct dssh_buf *
dssh_kexinit_peers(struct dssh_conn *c)
{
	return dssh_is_client(c) ? &c->i_s : &c->i_c;
}

/* ssh_packet.c */
int dssh_pkt_send(struct dssh_conn *c, const struct dssh_buf *payload);
int dssh_pkt_send_raw(struct dssh_conn *c, const uint8_t *payload, size_t len);
int dssh_pkt_send2(struct dssh_conn *c, const uint8_t *head, size_t hlen, const uint8_t *body,
    size_t blen);
int dssh_pkt_read(struct dssh_conn *c, const uint8_t **payload, size_t *len);
void dssh_pkt_consume(struct dssh_conn *c);
/* New keys for one direction (from the next packet on); reset_seq: strict KEX. */
int dssh_pkt_set_keys(struct dssh_conn *c, enum dssh_crypto_dir dir,
    const struct dssh_crypto_keys *keys, bool reset_seq);
/* A line of text outside the packet protocol (version exchange). */
int dssh_pkt_send_text(struct dssh_conn *c, const char *line);
/* Record offload: a marker into the output, in stream order. */
int dssh_pkt_put_marker(struct dssh_conn *c, enum dssh_rec_mark kind, const uint8_t *body,
    size_t len);
/* USERAUTH_SUCCESS sent: zlib@openssh.com starts both ways. */
int dssh_pkt_auth_done(struct dssh_conn *c);
void dssh_pkt_free_comp(struct dssh_conn *c);
/* Record offload: packets the data core took or sent itself. */
void dssh_pkt_count_offloaded(struct dssh_conn *c, uint32_t rx_pkts, uint64_t rx_bytes,
    uint32_t tx_pkts, uint64_t tx_bytes);

/* ssh_conn.c */
void dssh_conn_fail(struct dssh_conn *c, uint32_t reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Send now, or hold back (application messages during key exchange). */
int dssh_conn_send_app(struct dssh_conn *c, const struct dssh_buf *payload);

/* ssh_kex.c */
int dssh_kex_start(struct dssh_conn *c);
int dssh_kex_dispatch(struct dssh_conn *c, uint8_t type, struct dssh_buf *msg);
int dssh_kex_check_rekey(struct dssh_conn *c);
/* After a packet is consumed: switch to new incoming keys if NEWKEYS was it. */
int dssh_kex_after_rx_packet(struct dssh_conn *c);
void dssh_kex_cleanup(struct dssh_conn *c);

/* Shared by both halves (ssh_kex.c). */
int dssh_kex_exchange_hash(struct dssh_conn *c, const struct dssh_kex_alg *alg, bool is_dh,
    const uint8_t *client_pub, size_t client_pub_len, const struct dssh_buf *K_S,
    const struct dssh_buf *server_pub_enc, const struct dssh_buf *K, uint8_t *H, size_t *hlen);
/* New keys from K and H: tx now (after our NEWKEYS), rx pending. */
int dssh_kex_newkeys(struct dssh_conn *c, const struct dssh_kex_alg *alg,
    const struct dssh_buf *K, const uint8_t *H, size_t hlen);

/* ssh_kex_client.c */
/* Our KEXINIT's kex and host-key lists (the client's markers in the first). */
int dssh_kex_client_lists(struct dssh_conn *c, struct dssh_buf *kexlist, struct dssh_buf *hklist);
/* After both KEXINITs: make our ephemeral key and send KEX_ECDH_INIT. */
int dssh_kex_client_send_init(struct dssh_conn *c);
int dssh_kex_client_reply(struct dssh_conn *c, struct dssh_buf *msg);
int dssh_kex_client_ext_info(struct dssh_conn *c, struct dssh_buf *msg);
void dssh_kex_client_cleanup(struct dssh_conn *c);

/* ssh_auth.c */
int dssh_auth_dispatch(struct dssh_conn *c, uint8_t type, struct dssh_buf *msg);

/* ssh_auth_client.c */
int dssh_auth_client_start(struct dssh_conn *c);
int dssh_auth_client_dispatch(struct dssh_conn *c, uint8_t type, struct dssh_buf *msg);

/* ssh_channel_client.c */
int dssh_chan_client_request(struct dssh_conn *c, uint32_t id, const char *type,
    bool want_reply, struct dssh_buf *m);

/* ssh_channel.c */
int dssh_chan_dispatch(struct dssh_conn *c, uint8_t type, struct dssh_buf *msg);
void dssh_chan_kex_done(struct dssh_conn *c);
int dssh_global_request(struct dssh_conn *c, struct dssh_buf *msg);
void dssh_chan_free_all(struct dssh_conn *c);
/* An up marker of channel offload (dssh_record.h). 0 or an error (failed). */
int dssh_chan_offload_marker(struct dssh_conn *c, uint32_t kind, const uint8_t *body, size_t n);

#endif
