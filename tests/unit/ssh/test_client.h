/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_TEST_CLIENT_H
#define DSSH_TEST_CLIENT_H

/*
 * A minimal in-process SSH-2 client for driving a dssh_conn in unit tests
 * and fuzzers. It has its own framing and key schedule (lib/kex, lib/sshkey,
 * lib/crypto) so that it checks the server engine rather than mirrors it.
 * Bytes go straight between the two: tc_send_*() feeds the server with
 * dssh_conn_input(), tc_recv() drains dssh_conn_output().
 *
 * With tc_conf.record_offload the server runs with its packet layer
 * offloaded (dssh_record.h) and a dssh_rec sits in between as a data core
 * would: client wire bytes are framed and opened into records for the
 * server, the server's records are sealed into wire bytes for the client.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dssh_buf.h"
#include "dssh_crypto.h"
#include "dssh_ssh.h"

struct dssh_sshkey;

struct tc_conf {
	const char *kex;          /* client KEXINIT lists, preference order */
	const char *hostkey;
	const char *cipher;
	const char *mac;
	bool strict;              /* offer kex-strict-c-v00@openssh.com */
	bool ext_info;            /* offer ext-info-c */
	bool record_offload;      /* a dssh_rec between client and server */
};

struct dssh_rec;

/* The data core's side of one connection (record_offload). */
struct tc_shim {
	struct dssh_crypto_engine *engine;   /* its own instance, as on a data core */
	struct dssh_rec *rec;
	struct dssh_buf wire;         /* client bytes not yet framed */
	unsigned packets_up;          /* opened packets passed to the server */
	unsigned markers_down;        /* markers taken from the server's output */
	uint64_t wire_up, wire_down;  /* packet bytes on the client's wire, each way */
	uint32_t error_sent;          /* code of the ERROR marker sent up, 0 none */
	int fault;                    /* bad record from the server: DSSH_ERR_* */
};

struct tc_dir {
	struct dssh_crypto_sa *sa;
	uint32_t seq;
};

struct tc {
	struct dssh_conn *srv;
	struct dssh_crypto_engine *engine;
	struct tc_conf conf;
	uint64_t now_ms;
	struct tc_shim *shim;         /* NULL unless conf.record_offload */
	/*
	 * A transport of the test's own in place of the shim and of direct
	 * calls (e.g. TCP and a data core's record pump in between): link_feed
	 * takes the client's wire bytes and returns what tc_feed returns;
	 * link_pull appends what reached the client to in. NULL: none.
	 */
	int (*link_feed)(void *arg, const void *p, size_t n);
	int (*link_pull)(void *arg);
	void *link_arg;

	struct dssh_buf in;           /* server bytes not yet framed */
	struct tc_dir tx, rx;
	struct dssh_crypto_keys rx_pending;   /* switched in after NEWKEYS */
	bool rx_pending_set;
	int last_rc;                  /* last dssh_conn_input() result */
	bool hold_newkeys;            /* tc_kex keeps its NEWKEYS in held ... */
	struct dssh_buf held;         /* ... and tc_feed sends it with the next bytes */

	char *v_s;
	struct dssh_buf i_c, i_s;     /* KEXINIT payloads */
	bool have_server_kexinit;     /* seen, kex not yet run */
	bool kexinit_sent;            /* i_c already sent: tc_kex must not resend */
	bool strict;
	unsigned kex_done;
	uint8_t session_id[64];
	size_t session_id_len;
	char *neg_kex, *neg_cipher_cs, *neg_cipher_sc;
	struct dssh_sshkey *hostkey;  /* from the last KEX reply */
	char *server_sig_algs;        /* EXT_INFO server-sig-algs, if any */

	bool got_disconnect;
	uint32_t disconnect_reason;
	char disconnect_msg[256];

	uint32_t chan_local, chan_remote;   /* one session channel */
	uint32_t remote_window, remote_maxpacket;
};

int tc_new(struct dssh_conn *srv, struct dssh_crypto_engine *e, const struct tc_conf *conf,
    struct tc **out);
void tc_free(struct tc *t);

/* Raw bytes into the server (through the shim, if any). Returns
 * dssh_conn_input()'s result: with the shim, the first error of the records
 * this produced, DSSH_ERR_CONN_CLOSED once the server is closed. */
int tc_feed(struct tc *t, const void *p, size_t n);
/* Frame and seal one payload with the current client keys into wire. */
int tc_seal(struct tc *t, const uint8_t *payload, size_t len, struct dssh_buf *wire);
/* Seal and feed one payload. */
int tc_send(struct tc *t, const uint8_t *payload, size_t len);
int tc_sendb(struct tc *t, const struct dssh_buf *payload);
/*
 * Next packet from the server into payload (reset first; the message type is
 * payload's first byte). DSSH_ERR_MSG_INCOMPLETE when nothing is pending.
 * DISCONNECT is recorded (got_disconnect, reason); EXT_INFO's server-sig-algs
 * is recorded; a KEXINIT is recorded (have_server_kexinit) and returned.
 */
int tc_recv(struct tc *t, struct dssh_buf *payload);
/* tc_recv skipping IGNORE/DEBUG/EXT_INFO; fails unless the type is want. */
int tc_expect(struct tc *t, uint8_t want, struct dssh_buf *payload);
/* Drain and drop everything pending (records DISCONNECT). */
void tc_drain(struct tc *t);

/* Start the server, exchange version lines. */
int tc_version(struct tc *t);
/* A full key exchange: KEXINIT (both), ECDH/DH, NEWKEYS (both). Works for
 * the first exchange and for rekeys started by either side. */
int tc_kex(struct tc *t);
/* ssh-userauth service request + publickey auth signed with key/sig_alg.
 * Returns 0 on USERAUTH_SUCCESS, DSSH_ERR_PERMISSION on FAILURE. */
int tc_service_request(struct tc *t);
int tc_auth_pubkey(struct tc *t, const char *user, struct dssh_sshkey *key,
    const char *sig_alg, struct dssh_sshkey *sign_with);
/* Open a session channel; 0 when confirmed. */
int tc_open_session(struct tc *t, uint32_t window, uint32_t maxpacket);
/* exec request wanting a reply: 0 on CHANNEL_SUCCESS. */
int tc_exec(struct tc *t, const char *cmd);
int tc_chan_data(struct tc *t, const uint8_t *p, size_t n);

/* Everything up to an open session channel with exec done. */
int tc_connect_all(struct tc *t, const char *user, struct dssh_sshkey *key, const char *sig_alg);

#endif
