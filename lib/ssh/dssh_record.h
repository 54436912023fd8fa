/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_RECORD_H
#define DSSH_RECORD_H

/*
 * The SSH binary packet layer (RFC 4253 section 6) split off the engine, so
 * that a DPDK data core frames, seals and opens a connection's packets in
 * bursts across all its connections while the engine on the control thread
 * does everything above (KEX, auth, channels). Sans-I/O like the engine.
 *
 * Between the two sides flow *records* instead of wire bytes:
 *
 *   u32 n (< DSSH_REC_MARK)        a packet: n payload bytes follow
 *   u32 DSSH_REC_MARK | kind,
 *   u32 n, n bytes                 a marker (enum dssh_rec_mark)
 *
 * Engine -> data core: packets to seal; RAW bytes sent as they are (the
 * version line); TX_KEYS (packets after it use these keys, in stream order,
 * so a rekey never stalls output); RX_KEYS (keys for the packets after the
 * peer's NEWKEYS).
 * Data core -> engine: the peer's version-exchange bytes as they came, then
 * opened packets; ERROR when input failed (bad MAC, length, padding).
 *
 * Keys change in the middle of the peer's stream: the data core cannot
 * frame the packet after a NEWKEYS until the engine has handled that NEWKEYS
 * and sent RX_KEYS, so input stops at a NEWKEYS (DSSH_REC_RX_WAIT_KEYS). A
 * NEWKEYS packet is small: every packet short enough to be one is a
 * barrier, nothing after it is framed before it has been opened.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dssh_crypto.h"

#define DSSH_REC_MARK 0x80000000u
#define DSSH_REC_PACKET_MAX (256u * 1024)   /* packet_length limit, as the engine's */
#define DSSH_REC_HDR 4          /* a packet record's header */
#define DSSH_REC_MARK_HDR 8     /* a marker's header */

enum dssh_rec_mark {
	DSSH_REC_MARK_RAW = 1,
	DSSH_REC_MARK_TX_KEYS = 2,
	DSSH_REC_MARK_RX_KEYS = 3,
	DSSH_REC_MARK_ERROR = 4,    /* body: u32 enum dssh_rec_err */
	/* Channel offload (see below); bodies are u32/u64 big endian. */
	DSSH_REC_MARK_CHAN_OFFLOAD = 5,     /* down: local, remote, maxpkt, in, out, err fds */
	DSSH_REC_MARK_CHAN_GO = 6,          /* down: local, win size, local, consumed, remote, flags, max */
	DSSH_REC_MARK_CHAN_RECLAIM = 7,     /* down: local */
	DSSH_REC_MARK_CHAN_OFFLOADED = 8,   /* up: local */
	DSSH_REC_MARK_CHAN_EOF_IN = 9,      /* up: local */
	DSSH_REC_MARK_CHAN_OUT_EOF = 10,    /* up: local, which (1 stdout, 2 stderr, 3 stdout failed) */
	DSSH_REC_MARK_CHAN_RECLAIMED = 11,  /* up: local */
	DSSH_REC_MARK_CHAN_COUNT = 12,      /* up: u32 rx pkts, u32 tx pkts, u64 rx, tx bytes */
	/* A direct-tcpip target the data core connects itself (see below). */
	DSSH_REC_MARK_CHAN_CONNECT = 13,    /* down: local, remote, maxpkt, IPv4 addr, port */
	DSSH_REC_MARK_CHAN_CONNECTED = 14,  /* up: local, result (DSSH_REC_CONN_*) */
};

/*
 * Channel offload: the data core moves an exec/subsystem channel's data
 * between the peer and the child's pipes itself, both ways.
 *
 * Down, in record order: CHAN_OFFLOAD hands the core its own duplicates of
 * the child's fds (a relayed socket: in and out are the socket, err is
 * UINT32_MAX, none; the core closes them; the host may close its copies at
 * any time): from there on the core intercepts the peer's CHANNEL_DATA,
 * EXTENDED_DATA, EOF and WINDOW_ADJUST for `local` and queues them, and
 * puts CHAN_OFFLOADED up (whatever of the channel is before it in up was
 * opened before). CHAN_GO (once the engine saw OFFLOADED and the host wrote
 * all it held for the child): the window state moves to the core, which
 * from then on writes stdin, reads stdout/stderr into CHANNEL_DATA /
 * EXTENDED_DATA packets it seals itself between the engine's records (never
 * between a KEXINIT it sealed and the TX_KEYS after it), sends the
 * WINDOW_ADJUSTs, and applies the peer's. CHAN_RECLAIM: the core closes its
 * fds, drops what it queued, sends nothing more for the channel and puts
 * CHAN_RECLAIMED up (the engine keeps the channel number until then).
 *
 * Up: CHAN_EOF_IN (the peer's EOF, after every queued byte reached stdin,
 * which the core then shut down for writing and closed), CHAN_OUT_EOF
 * (stdout or stderr ended after all of it was sealed; which 3: stdout
 * ended with an error, or writing stdin failed with one other than EPIPE,
 * as a forwarded socket's reset), CHAN_COUNT (packets and wire bytes the core took
 * or sealed itself, for the engine's rekey limits and counters; always
 * before any other record of the connection that follows them).
 */
#define DSSH_REC_CHAN_OFFLOAD_LEN 24
#define DSSH_REC_CHAN_GO_LEN 28
#define DSSH_REC_CHAN_GO_PEER_EOF 1u     /* GO flags: the engine saw the peer's EOF */
#define DSSH_REC_CHAN_ID_LEN 4
#define DSSH_REC_CHAN_OUT_EOF_LEN 8
#define DSSH_REC_CHAN_COUNT_LEN 24
/*
 * CHAN_CONNECT (for a channel the engine has not answered yet): the core
 * opens a TCP connection of its own (lib/tcp) to the address and port and
 * intercepts the channel as from CHAN_OFFLOAD, with that connection as
 * stdin and stdout. CHAN_CONNECTED says how it went: CONN_OK, and the
 * channel is as after CHAN_OFFLOADED (the engine confirms the open, then
 * GO); anything else, and the core forgot it (the engine refuses the open).
 */
#define DSSH_REC_CHAN_CONNECT_LEN 20
#define DSSH_REC_CHAN_CONNECTED_LEN 8
#define DSSH_REC_CONN_OK 0u
#define DSSH_REC_CONN_REFUSED 1u        /* reset, or no connection to be had */
#define DSSH_REC_CONN_TIMEOUT 2u        /* no answer within the core's limit */

enum dssh_rec_err {
	DSSH_REC_ERR_MAC = 1,       /* MAC or AEAD tag did not verify */
	DSSH_REC_ERR_LENGTH,        /* packet_length out of range */
	DSSH_REC_ERR_BLOCK,         /* not a multiple of the block size */
	DSSH_REC_ERR_PADDING,       /* bad padding_length */
	DSSH_REC_ERR_KEYS,          /* keys could not be installed */
	DSSH_REC_ERR_CRYPTO,        /* the engine failed otherwise */
	DSSH_REC_ERR_RECORD,        /* a malformed record from the engine */
	DSSH_REC_ERR_WINDOW,        /* offloaded channel: data past the window or EOF */
	DSSH_REC_ERR_CHANNEL,       /* offloaded channel: a malformed message */
};

const char *dssh_rec_err_str(uint32_t code);

/* Keys as carried in a TX_KEYS/RX_KEYS marker's body. */
#define DSSH_REC_KEYS_LEN (4 + DSSH_CRYPTO_MAX_KEY + DSSH_CRYPTO_MAX_IV + DSSH_CRYPTO_MAX_KEY)
void dssh_rec_keys_encode(const struct dssh_crypto_keys *k, bool reset_seq,
    uint8_t out[DSSH_REC_KEYS_LEN]);
int dssh_rec_keys_decode(const uint8_t *in, size_t len, struct dssh_crypto_keys *k,
    bool *reset_seq);

/* Framing rules shared with the engine's own packet layer. sa NULL: before
 * the first NEWKEYS (no cipher, block 8, length counted in the padding). */
size_t dssh_rec_block(const struct dssh_crypto_sa *sa);
size_t dssh_rec_tag(const struct dssh_crypto_sa *sa);
/* 0, or the dssh_rec_err that packet_length breaks. */
uint32_t dssh_rec_check_length(const struct dssh_crypto_sa *sa, uint32_t plen);
/* Padding for a payload of len bytes (4..block+3). */
size_t dssh_rec_pad_len(const struct dssh_crypto_sa *sa, size_t len);
/* Wire bytes of a packet with a len-byte payload and the least padding,
 * from the algorithms alone (cipher NULL: before the first NEWKEYS). */
size_t dssh_rec_wire_len_algs(const struct dssh_cipher_info *cipher,
    const struct dssh_mac_info *mac, size_t len);
/* Payload length of an opened packet (pkt[0..3] plaintext), or 0 with
 * *code set when its padding_length is bad. */
size_t dssh_rec_payload_len(const uint8_t *pkt, uint32_t *code);

/* ---- one connection's packet layer on a data core ---- */

struct dssh_rec;

enum dssh_rec_rx_state {
	DSSH_REC_RX_VERSION,        /* the peer's version line is passed on raw */
	DSSH_REC_RX_PACKETS,
	DSSH_REC_RX_WAIT_KEYS,      /* a NEWKEYS went up; RX_KEYS not yet here */
	DSSH_REC_RX_FAILED,
};

/* e: the data core's own engine instance; SAs are made on it. */
int dssh_rec_new(struct dssh_crypto_engine *e, struct dssh_rec **out);
void dssh_rec_free(struct dssh_rec *r);            /* wipes the keys; NULL ok */
enum dssh_rec_rx_state dssh_rec_rx_state(const struct dssh_rec *r);
void dssh_rec_rx_fail(struct dssh_rec *r);

/* VERSION: how many of the n bytes at p are version-exchange bytes to pass
 * on raw; after the line's LF (or DSSH_REC_VERSION_MAX bytes without one)
 * the state moves on. */
#define DSSH_REC_VERSION_MAX 256
size_t dssh_rec_rx_version(struct dssh_rec *r, const uint8_t *p, size_t n);

/* PACKETS: the next packet's wire size from its first min(avail,
 * DSSH_REC_HEAD) bytes at head (avail: bytes the peer has sent so far).
 * 0 and *wire; DSSH_ERR_MSG_INCOMPLETE; or DSSH_ERR_INVALID_FORMAT with *code
 * (the state is then FAILED). */
#define DSSH_REC_HEAD 16
int dssh_rec_rx_frame(struct dssh_rec *r, const uint8_t *head, size_t avail, size_t *wire,
    uint32_t *code);
/* A packet this short may be a NEWKEYS. */
bool dssh_rec_rx_barrier(size_t wire);
/* The packet's wire bytes are at pkt: fills op (sequence number taken) and
 * returns true, or false when no crypto is due (before the first NEWKEYS). */
bool dssh_rec_rx_op(struct dssh_rec *r, uint8_t *pkt, size_t wire, struct dssh_crypto_op *op);
/* After the op (status: its result, 0 when there was none): 0 with the
 * payload inside pkt, or an error with *code (state FAILED). Notes NEWKEYS. */
int dssh_rec_rx_done(struct dssh_rec *r, uint8_t *pkt, int status, const uint8_t **payload,
    size_t *len, uint32_t *code);

/*
 * The steps above for input that lies contiguous in buf (avail bytes): frames
 * up to max (<= DSSH_REC_BURST_MAX) complete packets, stopping after one that
 * may be a NEWKEYS, and opens those due crypto in one burst on engine.
 * Returns how many; wire[i] and status[i] go to dssh_rec_rx_done in order.
 * *fr is the framing result that stopped it: 0 (max or a barrier reached),
 * DSSH_ERR_MSG_INCOMPLETE, or DSSH_ERR_INVALID_FORMAT with *code, to report
 * after the packets before it.
 */
#define DSSH_REC_BURST_MAX 64
unsigned dssh_rec_rx_open_burst(struct dssh_rec *r, struct dssh_crypto_engine *engine,
    uint8_t *buf, size_t avail, unsigned max, size_t *wire, int *status, int *fr,
    uint32_t *code);

/* Wire size of a packet of len payload bytes under the current output keys. */
size_t dssh_rec_tx_wire_len(const struct dssh_rec *r, size_t len);
/* The payload is at pkt + 5 already: writes length and padding, fills op
 * and returns true, or false when no crypto is due. */
#define DSSH_REC_TX_PAYLOAD 5
bool dssh_rec_tx_op(struct dssh_rec *r, uint8_t *pkt, size_t len, struct dssh_crypto_op *op);

/* A TX_KEYS or RX_KEYS body: new SA (the old one is freed: no op may still
 * use it); RX_KEYS also resumes input. 0 or DSSH_ERR_*. */
int dssh_rec_set_keys(struct dssh_rec *r, enum dssh_rec_mark kind, const uint8_t *body,
    size_t len);

#endif
