/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_TCP_H
#define DSSH_TCP_H

/*
 * A sans-I/O TCP (RFC 9293) for one data core. The stack never touches a
 * NIC, a socket or a clock: the caller hands it received segments
 * (dssh_tcp_input), asks it for segments to transmit (dssh_tcp_output),
 * runs its timers (dssh_tcp_timers) and drains connection events
 * (dssh_tcp_events). Every call takes the current time in microseconds.
 *
 * Addresses are IPv4 in host byte order. A stack is single-threaded: one per
 * core, with its own connection table, timers, secrets and counters.
 *
 * Lifetime: a connection reported by DSSH_TCP_EV_ACCEPTED or returned by
 * dssh_tcp_connect() belongs to the application until it calls
 * dssh_tcp_close() or dssh_tcp_abort(); after that call the pointer must not
 * be used again (the stack finishes the protocol and frees it). A connection
 * that was reset or timed out (DSSH_TCP_EV_RESET) stays allocated in state
 * CLOSED, out of the lookup table, until the application closes it.
 * Half-open connections never handed out (SYN-RECEIVED) are the stack's own.
 *
 * Buffers: each connection queues at most conf.sndbuf bytes to send, copied
 * into the stack's own ring (dssh_tcp_send) or, with conf.tx_buf_ops, kept
 * by reference in the driver's buffer they were written in
 * (dssh_tcp_send_ref: e.g. an SSH packet sealed in an mbuf), released once
 * cumulatively acknowledged. Received payload, in order and out of order, is kept as
 * pieces that reference the buffer each segment arrived in (an mbuf on a data
 * core: see struct dssh_tcp_buf_ops) when the driver passes one with the
 * segment, and is copied into the stack's own chunks otherwise; at most
 * conf.rcvbuf bytes beyond the read point, and what the held buffers cost is
 * capped per connection (conf.rcv_mem).
 *
 * Payload pointers in dssh_tcp_seg_out point into the connection's send
 * ring or into a driver buffer (pay_buf): they stay valid until the next dssh_tcp_input, dssh_tcp_timers,
 * dssh_tcp_close or dssh_tcp_abort call on the same stack. Copy (or attach)
 * them to packet buffers before that (a frame that references a driver
 * buffer must take its own reference on it: the stack releases its own when
 * the bytes are acknowledged, while a retransmission may still be queued).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct dssh_tcp_stack;
struct dssh_tcp_conn;

/*
 * Received payload kept by reference (zero copy): the driver passes the
 * buffer a segment's bytes lie in (dssh_tcp_seg_in.buf, e.g. the mbuf) and
 * the stack takes a reference per piece it keeps instead of copying.
 * hold: one more reference on buf; false refuses it (the driver's own budget,
 * e.g. the mbufs one core may pin), the stack then copies the bytes. release:
 * drop one reference taken by hold. Called only from dssh_tcp_* calls on the
 * stack's thread; every hold is released by the time the connection is freed.
 */
struct dssh_tcp_buf_ops {
	bool (*hold)(void *arg, void *buf);
	void (*release)(void *arg, void *buf);
};

enum dssh_tcp_cc_algo {
	DSSH_TCP_CC_NEWRENO = 0,
	DSSH_TCP_CC_CUBIC = 1,
};

struct dssh_tcp_conf {
	uint32_t max_conns;        /* connection table size (incl. TIME-WAIT) */
	uint32_t syn_backlog;      /* SYN-RCVD entries before SYN cookies */
	uint32_t sndbuf;           /* per-connection send buffer, bytes */
	uint32_t rcvbuf;           /* per-connection receive buffer, bytes */
	uint16_t mss;              /* MSS we advertise (link MTU - 40) */
	bool window_scaling, timestamps, sack;
	enum dssh_tcp_cc_algo cc;
	uint32_t rto_init_us, rto_min_us, rto_max_us;
	uint32_t max_retries;      /* RTO expiries before the connection is reset */
	uint32_t syn_retries;
	uint32_t delack_us;        /* longest an ACK is delayed */
	uint32_t delack_segs;      /* ACK at least every n-th segment; 1 = never delay */
	uint32_t msl_us;           /* TIME-WAIT lasts 2 * msl_us */
	uint32_t keepalive_idle_us, keepalive_intvl_us, keepalive_probes;
	uint32_t ooo_max_ranges;   /* out-of-order ranges held (<= DSSH_TCP_OOO_MAX) */
	uint32_t challenge_ack_per_s;  /* RFC 5961 section 7 rate limit */
	bool tx_csum_offload;      /* leave the pseudo-header sum in the checksum field */
	/*
	 * TCP segmentation offload: 0 = off. Otherwise dssh_tcp_output may
	 * return data segments of up to tso_max payload bytes (also capped so
	 * that the IPv4 total length fits 16 bits) with tso_mss set; the NIC
	 * cuts them into tso_mss-sized wire segments. Requires tx_csum_offload
	 * (dssh_tcp_stack_new refuses it otherwise): see dssh_tcp_seg_out.
	 */
	uint32_t tso_max;
	/*
	 * Ephemeral port choice for dssh_tcp_connect(lport = 0): when set, only
	 * ports it accepts are used, e.g. those whose RSS hash of the reply
	 * 4-tuple lands on this core's RX queue. NULL: any free port.
	 */
	/*
	 * RACK-TLP loss detection (RFC 8985) on connections that negotiated
	 * SACK: time-based loss marking (lost retransmissions included, a
	 * reordering window instead of the DupThresh count) and a Tail Loss
	 * Probe before the RTO. Off, or without SACK: RFC 6675 / RFC 6582.
	 */
	bool rack;
	bool (*port_ok)(void *arg, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport);
	void *port_ok_arg;
	/*
	 * Receive buffers by reference: NULL = always copy (tests, fuzzers,
	 * byte-oriented drivers). rcv_mem caps what one connection's receive
	 * queue may cost, held buffers at their dssh_tcp_seg_in.buf_cost
	 * (truesize) and the stack's own chunks at their size: past it a
	 * segment's bytes are copied into compact chunks instead of pinning
	 * its buffer, and out-of-order data is dropped. 0: 2 * rcvbuf.
	 */
	const struct dssh_tcp_buf_ops *buf_ops;
	void *buf_arg;
	uint32_t rcv_mem;
	/*
	 * Send buffers by reference (dssh_tcp_send_ref): hold takes one
	 * reference per queued piece (false: the bytes are copied instead),
	 * release drops it once the bytes are cumulatively acknowledged or the
	 * connection is freed. NULL: dssh_tcp_send_ref copies.
	 */
	const struct dssh_tcp_buf_ops *tx_buf_ops;
	void *tx_buf_arg;
};

#define DSSH_TCP_OOO_MAX 32

/* Defaults: see dssh_tcp_conf_default() in tcp.c for the values and why. */
void dssh_tcp_conf_default(struct dssh_tcp_conf *conf);

int dssh_tcp_stack_new(const struct dssh_tcp_conf *conf, struct dssh_tcp_stack **stackp);
void dssh_tcp_stack_free(struct dssh_tcp_stack *stack);   /* NULL ok; frees all conns */

/* Passive open on addr:port (addr 0 = any local address). */
int dssh_tcp_listen(struct dssh_tcp_stack *stack, uint32_t addr, uint16_t port);
int dssh_tcp_unlisten(struct dssh_tcp_stack *stack, uint32_t addr, uint16_t port);

/* Active open; lport 0 picks a free ephemeral port. */
int dssh_tcp_connect(struct dssh_tcp_stack *stack, uint32_t laddr, uint16_t lport,
    uint32_t raddr, uint16_t rport, uint64_t now_us, struct dssh_tcp_conn **connp);

/* ---- segments in and out ---- */

#define DSSH_TCP_SEG_CSUM_OK 0x1u  /* checksum already verified (RX offload) */

struct dssh_tcp_seg_in {
	uint32_t saddr, daddr;     /* from the IPv4 header, host order */
	const uint8_t *data;       /* TCP header + payload */
	size_t len;
	uint32_t flags;            /* DSSH_TCP_SEG_* */
	/* With conf.buf_ops: the buffer data lies in (NULL: none, copied) and
	 * what holding it costs (e.g. the mbuf's buffer and header). data stays
	 * valid while a reference taken by buf_ops->hold is held. */
	void *buf;
	uint32_t buf_cost;
};

/* Process one received segment. Returns 0, or a negative code when the
 * segment was dropped as malformed (counted in the stats). */
int dssh_tcp_input(struct dssh_tcp_stack *stack, const struct dssh_tcp_seg_in *seg,
    uint64_t now_us);

/*
 * The checksum field of hdr holds the full TCP checksum, or with
 * conf.tx_csum_offload the folded, non-inverted IPv4 pseudo-header sum the
 * NIC completes (the value rte_ipv4_phdr_cksum() gives), in network order:
 *  - tso_mss == 0: the sum includes the TCP length (hdr_len + len), for
 *    RTE_MBUF_F_TX_TCP_CKSUM;
 *  - tso_mss != 0: the sum WITHOUT the length, as rte_ipv4_phdr_cksum()
 *    computes it when RTE_MBUF_F_TX_TCP_SEG is set: the NIC adds the length
 *    of each wire segment it cuts.
 *
 * TSO (conf.tso_max != 0): a segment with tso_mss != 0 carries more than
 * one MSS of payload; the driver sets RTE_MBUF_F_TX_TCP_SEG with
 * tso_segsz = tso_mss, l4_len = hdr_len. Its len is a multiple of tso_mss
 * except when the segment ends the queued data. Every wire segment repeats
 * hdr (options included: timestamps only, never SACK blocks); the NIC
 * advances the sequence number and clears FIN and PSH on all but the last.
 */
#define DSSH_TCP_SEG_PAY_MAX 8      /* payload pieces per segment (cut there) */

struct dssh_tcp_seg_out {
	uint32_t saddr, daddr;     /* host order */
	uint8_t hdr[60];           /* TCP header incl. options, checksum filled */
	uint16_t hdr_len;
	uint16_t npay;             /* payload pieces (0..DSSH_TCP_SEG_PAY_MAX) */
	const uint8_t *pay[DSSH_TCP_SEG_PAY_MAX];
	uint32_t pay_len[DSSH_TCP_SEG_PAY_MAX];
	/* the driver buffer (given to dssh_tcp_send_ref) each piece lies in;
	 * NULL: the stack's own ring */
	void *pay_buf[DSSH_TCP_SEG_PAY_MAX];
	uint32_t len;              /* total payload bytes */
	uint16_t tso_mss;          /* 0, or payload bytes per wire segment (TSO) */
	struct dssh_tcp_conn *conn; /* NULL for stack replies (RST, SYN cookie) */
};

/* Fill up to n segments to transmit; returns how many were filled. Call
 * again while it returns n. */
unsigned dssh_tcp_output(struct dssh_tcp_stack *stack, struct dssh_tcp_seg_out *segs,
    unsigned n, uint64_t now_us);

/* Run expired timers. Returns the time of the next deadline (UINT64_MAX if
 * none), so an event loop can sleep or skip calls until then. The answer is
 * never later than the next deadline; it may be earlier (a deadline since
 * disarmed, a bound of the timing wheel's), and a call at that time moves
 * on. Its cost is that of the expiring connections, not of all of them. */
uint64_t dssh_tcp_timers(struct dssh_tcp_stack *stack, uint64_t now_us);

/* ---- events ---- */

enum dssh_tcp_event_bits {
	DSSH_TCP_EV_ACCEPTED  = 1u << 0,  /* passive open completed: new conn */
	DSSH_TCP_EV_CONNECTED = 1u << 1,  /* active open completed */
	DSSH_TCP_EV_READABLE  = 1u << 2,  /* new in-order bytes */
	DSSH_TCP_EV_WRITABLE  = 1u << 3,  /* send buffer space after a short send */
	DSSH_TCP_EV_PEER_FIN  = 1u << 4,  /* peer closed its side: EOF after the data */
	DSSH_TCP_EV_CLOSED    = 1u << 5,  /* both sides closed cleanly */
	DSSH_TCP_EV_RESET     = 1u << 6,  /* reset by peer, refused or timed out */
};

struct dssh_tcp_event {
	struct dssh_tcp_conn *conn;
	uint32_t events;           /* DSSH_TCP_EV_* bits coalesced since last drain */
};

unsigned dssh_tcp_events(struct dssh_tcp_stack *stack, struct dssh_tcp_event *ev, unsigned n);

/* ---- data ---- */

/* Copy up to len bytes into the send buffer; returns bytes accepted (0 when
 * full: a WRITABLE event follows) or a negative code (closed/reset). */
ssize_t dssh_tcp_send(struct dssh_tcp_conn *conn, const void *data, size_t len);
/* Bytes dssh_tcp_send() would take now (0 when the connection cannot send);
 * when fewer than want, a WRITABLE event follows once there is room. */
size_t dssh_tcp_send_space(struct dssh_tcp_conn *conn, size_t want);
/*
 * Writing in place (e.g. sealing an SSH packet where TCP keeps it): the n
 * bytes of free send ring that start off bytes past the bytes it holds
 * (those queued by reference do not count), when they are contiguous and
 * there is room (NULL otherwise: use dssh_tcp_send).
 * dssh_tcp_send_commit queues n bytes written at the start of that space;
 * nothing else may be sent in between.
 */
uint8_t *dssh_tcp_send_buf(struct dssh_tcp_conn *conn, size_t off, size_t n);
ssize_t dssh_tcp_send_commit(struct dssh_tcp_conn *conn, size_t n);
/*
 * Queue len bytes at ptr, which lie in the driver buffer buf, by reference:
 * the stack takes its own reference (conf.tx_buf_ops->hold) and the caller
 * keeps its own. All or nothing: returns len, 0 when there is no room for
 * all of it (a WRITABLE event follows) or a negative code (closed/reset).
 * Without tx_buf_ops, when hold refuses, or for fewer than 256 bytes the
 * bytes are copied as by dssh_tcp_send (to the ring's tail: space reserved
 * there with dssh_tcp_send_buf is overwritten, so commit that first).
 */
ssize_t dssh_tcp_send_ref(struct dssh_tcp_conn *conn, void *buf, const void *ptr, size_t len);
/* Copy out up to len received bytes; 0 = nothing now (or EOF, see
 * dssh_tcp_eof), negative on reset. */
ssize_t dssh_tcp_recv(struct dssh_tcp_conn *conn, void *data, size_t len);
/* Zero-copy receive: the first (up to) two pieces of the in-order queue,
 * which may hold more (dssh_tcp_readable, dssh_tcp_peekv). Returns the
 * number of pieces; consume what was used. */
unsigned dssh_tcp_peek(const struct dssh_tcp_conn *conn, const uint8_t *ptr[2], size_t len[2]);
int dssh_tcp_consume(struct dssh_tcp_conn *conn, size_t n);
/* The in-order queue as it is stored: up to n pieces from byte off on
 * (pointers into held segment buffers or the stack's chunks, valid until the
 * bytes are consumed or the conn is released). Returns the number filled. */
struct dssh_tcp_iov {
	const uint8_t *ptr;
	size_t len;
};
unsigned dssh_tcp_peekv(const struct dssh_tcp_conn *conn, size_t off, struct dssh_tcp_iov *iov,
    unsigned n);
/* In-order bytes ready to read. */
size_t dssh_tcp_readable(const struct dssh_tcp_conn *conn);
/* Copy n bytes from byte off of the in-order queue without consuming them;
 * returns how many were there (< n when fewer are queued). */
size_t dssh_tcp_copy_out(const struct dssh_tcp_conn *conn, size_t off, void *dst, size_t n);
bool dssh_tcp_eof(const struct dssh_tcp_conn *conn);   /* FIN received and all read */

/* FIN after the queued data; the conn is released to the stack. Data that
 * arrives afterwards is acknowledged and discarded. With received data
 * still unread this is an abort instead (RFC 1122 4.2.2.13: RST shows the
 * peer that data was lost). */
void dssh_tcp_close(struct dssh_tcp_conn *conn, uint64_t now_us);
/* Half close: FIN after the queued data; the conn stays the application's,
 * which goes on reading until the peer's FIN (EV_PEER_FIN, then EV_CLOSED)
 * and still releases it with dssh_tcp_close/abort. 0, or
 * DSSH_ERR_INVALID_ARGUMENT when not ESTABLISHED/CLOSE_WAIT (already
 * shut down: 0). */
int dssh_tcp_shutdown(struct dssh_tcp_conn *conn, uint64_t now_us);
/* Send RST and free; the conn is released. */
void dssh_tcp_abort(struct dssh_tcp_conn *conn, uint64_t now_us);

/* ---- per-connection settings and info ---- */
void dssh_tcp_set_nodelay(struct dssh_tcp_conn *conn, bool on);   /* default on */
void dssh_tcp_set_keepalive(struct dssh_tcp_conn *conn, bool on, uint64_t now_us);
void dssh_tcp_set_udata(struct dssh_tcp_conn *conn, void *udata);
void *dssh_tcp_udata(const struct dssh_tcp_conn *conn);

enum dssh_tcp_state {
	DSSH_TCP_CLOSED = 0, DSSH_TCP_LISTEN, DSSH_TCP_SYN_SENT, DSSH_TCP_SYN_RCVD,
	DSSH_TCP_ESTABLISHED, DSSH_TCP_FIN_WAIT_1, DSSH_TCP_FIN_WAIT_2,
	DSSH_TCP_CLOSE_WAIT, DSSH_TCP_CLOSING, DSSH_TCP_LAST_ACK, DSSH_TCP_TIME_WAIT,
};
const char *dssh_tcp_state_name(enum dssh_tcp_state s);

struct dssh_tcp_conn_info {
	enum dssh_tcp_state state;
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint32_t iss, irs, snd_una, snd_nxt, snd_max, snd_wnd, rcv_nxt, rcv_wnd;
	uint16_t mss;              /* effective send MSS */
	uint8_t snd_wscale, rcv_wscale;   /* 0xff: scaling not in use */
	bool ts_ok, sack_ok;
	uint32_t cwnd, ssthresh;
	uint32_t srtt_us, rttvar_us, rto_us;
	uint32_t backoff;
	uint32_t sndbuf_used, rcv_queued, ooo_ranges, sacked_ranges;
	bool in_recovery;
};
void dssh_tcp_conn_get_info(const struct dssh_tcp_conn *conn, struct dssh_tcp_conn_info *info);
/* Look a connection up by its 4-tuple (tests, diagnostics). */
struct dssh_tcp_conn *dssh_tcp_lookup(struct dssh_tcp_stack *stack, uint32_t laddr,
    uint16_t lport, uint32_t raddr, uint16_t rport);

struct dssh_tcp_stats {
	uint64_t in_segs, out_segs;
	uint64_t in_bad_csum, in_bad_hdr, in_bad_opt;  /* dropped as malformed */
	uint64_t in_no_conn, rst_sent, rst_rcvd;
	uint64_t challenge_acks, challenge_acks_limited, paws_drops;
	uint64_t syn_cookies_sent, syn_cookies_ok, syn_cookies_bad, syn_dropped;
	uint64_t retransmits, rto_expired, fast_retransmits, sack_recoveries;
	uint64_t dup_segs, ooo_segs, ooo_dropped, out_of_window;
	uint64_t zwp_sent, keepalive_sent;
	uint64_t conns_opened, conns_closed, conns_reset, conns_timedout;
	uint64_t ctl_queue_full;
	uint64_t tso_segs;         /* segments out with tso_mss != 0 (also in out_segs) */
	uint64_t rack_lost;        /* segments RACK marked lost (RFC 8985) */
	uint64_t rack_reo_timeouts;  /* losses found by the reordering timer */
	uint64_t tlp_probes;       /* tail loss probes sent */
	uint64_t spurious_rexmits; /* retransmissions found needless (timestamps) */
	uint64_t spurious_recoveries;  /* recovery episodes undone as needless (RFC 9438 4.9) */
};
void dssh_tcp_get_stats(const struct dssh_tcp_stack *stack, struct dssh_tcp_stats *st);

/* ---- wire helpers (also for the IPv4 layer and tests) ---- */

/* Ones-complement sum of the IPv4 pseudo-header (not folded, not inverted). */
uint32_t dssh_tcp_pseudo_sum(uint32_t saddr, uint32_t daddr, uint32_t tcp_len);
/* Full TCP checksum of a segment given as up to three pieces (header,
 * payload pieces): the value to store in the header (checksum field zeroed
 * in hdr while summing). */
uint16_t dssh_tcp_checksum(uint32_t saddr, uint32_t daddr, const uint8_t *hdr, size_t hlen,
    const uint8_t *const *pay, const uint32_t *pay_len, unsigned npay);

#define DSSH_TCP_FIN 0x01
#define DSSH_TCP_SYN 0x02
#define DSSH_TCP_RST 0x04
#define DSSH_TCP_PSH 0x08
#define DSSH_TCP_ACK 0x10
#define DSSH_TCP_URG 0x20

/* A parsed TCP header. Options that were absent have their has_* false. */
struct dssh_tcp_hdr {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t doff;              /* header length in bytes */
	uint8_t flags;
	uint16_t wnd, csum, urp;
	bool has_mss, has_ws, has_ts, sack_ok;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	uint8_t nsack;
	uint32_t sack[4][2];       /* [start, end) */
	const uint8_t *payload;
	size_t plen;
};

/* Parse and validate a TCP header and its options (RFC 9293 3.1/3.2,
 * RFC 7323, RFC 2018). DSSH_ERR_INVALID_FORMAT for a bad data offset,
 * truncated header or malformed options. Does not check the checksum. */
int dssh_tcp_parse(const uint8_t *p, size_t len, struct dssh_tcp_hdr *h);

#endif
