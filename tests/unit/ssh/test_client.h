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
 * offloaded (dssh_record.h) and a data core sits in between: the client's
 * wire bytes go over lib/tcp (two stacks joined in memory) into the data
 * core's record pump (lib/recpump), which opens them into records for the
 * server through a byte pipe and seals the server's records into TCP.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dssh_buf.h"
#include "dssh_crypto.h"
#include "dssh_pipe.h"
#include "dssh_record.h"
#include "dssh_recpump.h"
#include "dssh_ssh.h"

struct dssh_sshkey;

struct tc_conf {
	const char *kex;          /* client KEXINIT lists, preference order */
	const char *hostkey;
	const char *cipher;
	const char *mac;
	bool strict;              /* offer kex-strict-c-v00@openssh.com */
	bool ext_info;            /* offer ext-info-c */
	bool record_offload;      /* a data core's record pump between client and server */
	bool pump_by_ref;         /* it seals packets into refcounted buffers sent by reference */
	size_t pump_up_size;      /* its up pipe (0: 1 MiB) */
	size_t pump_up_read;      /* the server reads this much of it a step (0: all) */
};

/* One way of the in-memory wire (test_client.c). */
struct tc_wire {
	struct shim_seg *q;
	size_t head, n, cap;
};

/* The data core and the wire (record_offload): see test_client.c. */
struct tc_shim {
	struct tc *t;
	uint64_t now;                 /* the TCP clock, microseconds */
	struct dssh_tcp_stack *sa, *sb;       /* the client's, the data core's */
	struct dssh_tcp_conn *ca, *cb;        /* cb NULL once the data core let go */
	struct tc_wire ab, ba;
	struct dssh_buf cli_out;      /* client bytes TCP did not take yet */
	bool cli_eof, cli_reset;      /* the client's TCP saw FIN / a reset */
	struct dssh_recpump *pump;
	struct dssh_recpump_conn *pc;
	struct dssh_pipe up, down;
	uint32_t up_wait;
	size_t up_read_max;
	bool by_ref, closing;
	struct dssh_buf upbuf;        /* up bytes not yet whole records */
	bool version_up;
	int rc;
	enum dssh_rec_rx_state rx_state;      /* when let go */
	struct dssh_recpump_stats st_last;    /* the pump's, once closed */
	/* What was seen. */
	unsigned packets_up;          /* opened packets passed to the server */
	unsigned markers_down;        /* markers taken from the server's output */
	uint64_t raw_down;            /* RAW marker bytes among them */
	uint32_t error_sent;          /* code of the ERROR marker sent up, 0 none */
	int fault;                    /* a record from the server the pump refused */
	long refs;                    /* the pump's references on the connection */
	long buf_live, buf_held, buf_holds, buf_releases;
	unsigned bufs_got, up_kicks, rx_posted, tx_moved, steps;
	bool eof_up;
	unsigned chan_up[16];         /* channel offload markers up, by kind */
	unsigned bad;                 /* broken invariants (the test checks 0) */
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

	struct dssh_buf in;           /* server bytes not yet framed */
	struct tc_dir tx, rx;
	struct dssh_crypto_keys rx_pending;   /* switched in after NEWKEYS */
	bool rx_pending_set;
	int last_rc;                  /* last dssh_conn_input() result */
	struct dssh_buf *stash;       /* tc_kex: messages before the server's KEXINIT (strings) */
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

	bool auth_partial;            /* of the last USERAUTH_FAILURE tc_auth_pubkey saw */
	char auth_methods[128];       /* ... its name-list */
	bool got_disconnect;
	uint32_t disconnect_reason;
	char disconnect_msg[256];

	uint32_t chan_local, chan_remote;   /* one session channel */
	uint32_t remote_window, remote_maxpacket;
};

/* record_offload: the pump's input state (its last one once let go);
 * packet bytes it sealed for the client (RAW bytes not counted). */
enum dssh_rec_rx_state tc_shim_rx_state(const struct tc *t);
uint64_t tc_shim_wire_down(const struct tc *t);
uint64_t tc_shim_wire_up(const struct tc *t);
const struct dssh_recpump_stats *tc_shim_stats(const struct tc *t);
/* Runs the client, the data core and the engine until nothing moves
 * (channel offload: after the test's "child" read or wrote its pipes). */
void tc_shim_run(struct tc *t);
/* The client closes, the data core lets go, the pump and the stacks are
 * freed (every buffer reference back); the counters stay for checks. */
void tc_shim_close(struct tc *t);

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
