/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_TCP_PRIV_H
#define DSSH_TCP_PRIV_H

#include <openssl/evp.h>

#include "dssh_tcp.h"

/* Sequence arithmetic modulo 2^32 (RFC 9293 3.4). */
#define SEQ_LT(a, b)  ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)
#define SEQ_MAX(a, b) (SEQ_GT(a, b) ? (a) : (b))
#define SEQ_MIN(a, b) (SEQ_LT(a, b) ? (a) : (b))

#define TCP_HDR_MIN 20
#define TCP_MAX_WSCALE 14
#define TCP_SACK_SB_MAX 32          /* sender scoreboard ranges */
#define TCP_DUPTHRESH 3
#define TCP_CTL_QUEUE 64            /* stack-generated replies awaiting output */
#define TCP_MAX_LISTEN 16
#define TCP_DEFAULT_MSS 536u        /* RFC 9293 3.7.1 when no MSS option */

struct seq_range {
	uint32_t start, end;            /* [start, end) */
	uint32_t age;                   /* receive side: recency for SACK order */
};

/*
 * Payload storage: the only code that touches payload bytes (tcp_buf.c).
 * tcp_ring is a fixed-size byte ring: the stack's own copy of sent bytes.
 */
struct tcp_ring {
	uint8_t *data;
	uint32_t size, head, len;       /* valid bytes: [head, head + len) mod size */
};

int tcp_ring_init(struct tcp_ring *r, uint32_t size);
void tcp_ring_free(struct tcp_ring *r);
static inline uint32_t tcp_ring_room(const struct tcp_ring *r) { return r->size - r->len; }
/* Copy in up to n bytes at the tail; returns how many fit. */
uint32_t tcp_ring_append(struct tcp_ring *r, const void *p, uint32_t n);
/* References to [off, off + n) of the valid bytes: up to two pieces. */
unsigned tcp_ring_ref(const struct tcp_ring *r, uint32_t off, uint32_t n,
    const uint8_t *ptr[2], uint32_t len[2]);
/* Store n bytes at offset off from head (off + n <= size); len unchanged. */
void tcp_ring_write_at(struct tcp_ring *r, uint32_t off, const uint8_t *p, uint32_t n);
/* The n free bytes starting off past the tail, when contiguous; else NULL. */
uint8_t *tcp_ring_tail(struct tcp_ring *r, uint32_t off, uint32_t n);
/* n bytes already written past the tail become valid. */
void tcp_ring_commit(struct tcp_ring *r, uint32_t n);
/* Drop n bytes from the head. */
void tcp_ring_consume(struct tcp_ring *r, uint32_t n);

/*
 * Send queue: the bytes from snd_una on, as pieces in sequence order. A
 * piece references a driver buffer (buf: one tx_buf_ops hold, released once
 * its bytes are cumulatively acknowledged or the queue is freed) or stands
 * for the next len bytes of the ring (buf NULL: copied bytes, appended to the
 * last piece while it is a ring piece). len never exceeds size (conf.sndbuf),
 * whatever holds the bytes, so the ring never overflows.
 */
struct tcp_tx_piece {
	const uint8_t *ptr;             /* driver bytes (unused for ring bytes) */
	void *buf;                      /* driver buffer, NULL: ring bytes */
	uint32_t len;
};

struct tcp_txq {
	struct tcp_ring ring;
	struct tcp_tx_piece *p;
	uint32_t head, n, cap;          /* pieces p[head .. head + n) */
	uint32_t size, len;             /* conf.sndbuf; bytes queued */
	uint32_t nref;                  /* driver buffer references held */
	const struct dssh_tcp_buf_ops *ops;
	void *ops_arg;
};

#define TCP_TX_REF_MIN 256u             /* smaller bytes are copied, not held */

int tcp_txq_init(struct tcp_txq *q, uint32_t size, const struct dssh_tcp_buf_ops *ops,
    void *ops_arg);
void tcp_txq_free(struct tcp_txq *q);       /* releases every reference */
static inline uint32_t tcp_txq_room(const struct tcp_txq *q) { return q->size - q->len; }
/* Copy in up to n bytes at the tail; returns how many were queued. */
uint32_t tcp_txq_append(struct tcp_txq *q, const void *p, uint32_t n);
/* Queue n bytes at p inside buf by reference (one ops hold); false when
 * that is not possible (no ops, too short, refused, no room): copy then. */
bool tcp_txq_append_ref(struct tcp_txq *q, void *buf, const uint8_t *p, uint32_t n);
/* Writing in place: the n free ring bytes starting off past the ring's
 * tail (bytes queued by reference do not count), contiguous; else NULL. */
uint8_t *tcp_txq_tail(struct tcp_txq *q, uint32_t off, uint32_t n);
/* n bytes written at the tcp_txq_tail space are queued; false: no memory. */
bool tcp_txq_commit(struct tcp_txq *q, uint32_t n);
/*
 * References to [off, off + n): at most max pieces (driver buffer or NULL
 * in bufs[]). Returns the number of pieces; *got the bytes they cover
 * (< n when max pieces were not enough).
 */
unsigned tcp_txq_ref(const struct tcp_txq *q, uint32_t off, uint32_t n, const uint8_t **ptr,
    uint32_t *len, void **bufs, unsigned max, uint32_t *got);
/* Drop n bytes from the head, releasing what they held. */
void tcp_txq_consume(struct tcp_txq *q, uint32_t n);

/*
 * Receive queue: pieces of payload sorted by sequence number and disjoint,
 * in order (the first nin, ending at rcv_nxt) then out of order. A piece
 * references a driver buffer (drv: one buf_ops hold) or owns one of the
 * stack's chunks (copied bytes; more contiguous bytes are appended to it
 * while it has room). Pieces are never split: new bytes fill only the gaps.
 */
struct tcp_chunk {
	uint32_t size, used;
	uint8_t data[];
};

struct tcp_rx_piece {
	const uint8_t *ptr;
	void *buf;                      /* driver buffer, or struct tcp_chunk * */
	uint32_t seq, len;
	uint32_t cost;                  /* charged to tcp_rxq.cost */
	bool drv;
};

struct tcp_rxq {
	struct tcp_rx_piece *p;
	uint32_t head, n, cap;          /* pieces p[head .. head + n) */
	uint32_t nin;                   /* in-order pieces (the first nin) */
	uint32_t size;                  /* bytes beyond the read point: conf.rcvbuf */
	uint32_t len;                   /* in-order unread bytes */
	uint32_t cost, cost_max;        /* what the pieces' buffers cost */
	const struct dssh_tcp_buf_ops *ops;
	void *ops_arg;
};

#define TCP_RXQ_PIECES_MAX 8192u        /* per connection */
#define TCP_RX_HOLD_MIN 256u            /* smaller bytes are copied, not held */
#define TCP_RX_CHUNK 16384u             /* chunk for copied in-order bytes */
#define TCP_RX_CHUNK_OOO 4096u          /* chunk for copied out-of-order bytes */

int tcp_rxq_init(struct tcp_rxq *q, uint32_t size, uint32_t cost_max,
    const struct dssh_tcp_buf_ops *ops, void *ops_arg);
void tcp_rxq_free(struct tcp_rxq *q);       /* releases every piece */
/*
 * Keep what is new of [seq, seq + n) (bytes at p, inside buf when buf is
 * not NULL). in_order: the bytes start at rcv_nxt; they are stored even
 * beyond cost_max (copied then). Returns true when every gap was filled.
 */
bool tcp_rxq_insert(struct tcp_rxq *q, uint32_t seq, const uint8_t *p, uint32_t n, void *buf,
    uint32_t cost, bool in_order);
/* Pieces that now continue the in-order data move in: advances *rcv_nxt. */
void tcp_rxq_pull(struct tcp_rxq *q, uint32_t *rcv_nxt);
unsigned tcp_rxq_ref(const struct tcp_rxq *q, size_t off, struct dssh_tcp_iov *iov, unsigned n);
size_t tcp_rxq_copy(const struct tcp_rxq *q, size_t off, uint8_t *dst, size_t n);
/* Drop n in-order bytes from the head, releasing what they held. */
void tcp_rxq_consume(struct tcp_rxq *q, uint32_t n);
/* Release every out-of-order piece (reneging, RFC 2018 section 8). */
void tcp_rxq_prune(struct tcp_rxq *q);

/* Congestion control: an ops table; state lives in the connection. */
struct dssh_tcp_cc_ops {
	const char *name;
	void (*init)(struct dssh_tcp_conn *c);
	/* acked bytes newly cumulatively acknowledged, outside recovery */
	void (*on_ack)(struct dssh_tcp_conn *c, uint32_t acked, uint64_t now_us);
	/* fast retransmit / SACK recovery entry: set ssthresh (and cc state) */
	void (*on_loss)(struct dssh_tcp_conn *c, uint64_t now_us);
	/* retransmission timeout */
	void (*on_rto)(struct dssh_tcp_conn *c, uint64_t now_us);
	/* recovery finished (full ACK) */
	void (*on_recovery_end)(struct dssh_tcp_conn *c, uint64_t now_us);
};

extern const struct dssh_tcp_cc_ops dssh_tcp_cc_newreno;
extern const struct dssh_tcp_cc_ops dssh_tcp_cc_cubic;

struct tcp_cubic {
	double w_max;                   /* segments */
	double w_last_max;
	double k;                       /* seconds */
	double w_est;                   /* Reno-friendly estimate, segments */
	uint64_t epoch_us;              /* start of the current congestion avoidance epoch */
	bool epoch_valid;
};

/* RACK (RFC 8985): one transmitted segment, as last sent. */
struct tcp_rack_seg {
	uint32_t start, end;            /* [start, end), a FIN counted */
	uint64_t xmit_us;               /* last (re)transmission */
	uint8_t flags;                  /* TCP_RS_* */
};
#define TCP_RS_SACKED  0x1
#define TCP_RS_LOST    0x2              /* marked lost, not resent since */
#define TCP_RS_RETRANS 0x4              /* sent more than once: RTT ambiguous */

struct dssh_tcp_conn {
	struct dssh_tcp_stack *stack;
	struct dssh_tcp_conn *hnext;        /* hash chain */
	struct dssh_tcp_conn *prev, *next;  /* all conns (stack free, debug) */
	struct dssh_tcp_conn *out_next;     /* output pending list */
	struct dssh_tcp_conn *ev_next;      /* event pending list */
	/* timing wheel (tcp_wheel.c): filed at w_due when w_pprev != NULL */
	struct dssh_tcp_conn *w_next, **w_pprev;
	uint64_t w_due;
	uint16_t w_slot;
	uint8_t w_lvl;
	bool on_out, on_ev;
	uint32_t ev;

	uint32_t laddr, raddr;
	uint16_t lport, rport;
	enum dssh_tcp_state state;
	bool app_owned;                 /* given to the app, not yet closed by it */
	bool app_released;              /* app called close/abort */
	bool passive;
	bool nodelay, keepalive;
	bool ts_ok, sack_ok, ws_ok;
	bool fin_queued, fin_sent, fin_rcvd;
	bool want_writable;
	bool dead;                      /* to be freed */
	void *udata;

	/* send side */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd, snd_wl1, snd_wl2, max_snd_wnd;
	uint8_t snd_wscale, rcv_wscale;
	uint16_t mss;                   /* bytes of payload per segment */
	struct tcp_txq sq;              /* head = the byte at snd_una */

	/* receive side */
	uint32_t irs, rcv_nxt, rcv_adv;    /* rcv_adv: right edge advertised */
	struct tcp_rxq rq;              /* len = in-order unread bytes */
	struct seq_range ooo[DSSH_TCP_OOO_MAX];
	uint32_t ooo_n, ooo_age;

	/* timestamps (RFC 7323) */
	uint32_t ts_recent, ts_off, last_ack_sent;
	uint64_t ts_recent_us;          /* when ts_recent was last updated */

	/* RTT / RTO (RFC 6298) */
	uint32_t srtt_us, rttvar_us, rto_us;
	bool rtt_valid, rtt_timing;
	uint32_t rtt_seq;
	uint64_t rtt_start_us;
	uint32_t backoff, retries;

	/* timers: absolute deadlines, 0 = off */
	uint64_t t_rto, t_delack, t_persist, t_keep, t_tw;
	uint64_t last_rcv_us;
	uint32_t keep_probes;
	uint32_t persist_backoff;
	bool persist_probe;             /* send one window probe byte */

	/* congestion control and loss recovery */
	const struct dssh_tcp_cc_ops *cc;
	uint32_t cwnd, ssthresh;
	struct tcp_cubic cubic;
	bool in_recovery;
	uint32_t recover;               /* RecoveryPoint / NewReno recover */
	uint32_t dupacks;
	uint32_t high_rxt;              /* RFC 6675 HighRxt */
	bool rexmit_una;                /* NewReno: resend the segment at snd_una */
	/*
	 * Undo of a spurious congestion response (RFC 9438 4.9, RFC 4015
	 * with RFC 3522 detection): the congestion control state from before
	 * the recovery episode, and the TSval of its first retransmission.
	 */
	bool undo_on, undo_ts_set;
	uint32_t undo_cwnd, undo_ssthresh, undo_tsval;
	struct tcp_cubic undo_cubic;
	struct seq_range sb[TCP_SACK_SB_MAX];   /* sender SACK scoreboard, sorted */
	uint32_t sb_n;

	/*
	 * RACK-TLP (RFC 8985), when rack_on: rs[] holds the segments sent
	 * and not cumulatively acknowledged, sorted and disjoint.
	 */
	bool rack_on;
	struct tcp_rack_seg *rs;            /* rs_n segments, at or after rs_mem */
	struct tcp_rack_seg *rs_mem;        /* the allocation, rs_cap of them */
	uint32_t rs_n, rs_cap;
	/* A segment in rs may be SACKed or resent (else the list is in
	 * transmission order too: rack_detect_loss stops early). */
	bool rs_marked;
	uint64_t rack_xmit_us;          /* RACK.xmit_ts */
	uint32_t rack_end;              /* RACK.end_seq */
	uint32_t rack_rtt_us;           /* RACK.rtt */
	uint32_t rack_min_rtt_us;       /* RACK.min_RTT; 0 = no sample */
	uint32_t rack_fack;             /* RACK.fack */
	bool rack_reord;                /* RACK.reordering_seen */
	uint32_t reo_mult, reo_persist; /* RACK.reo_wnd_mult, RACK.reo_wnd_persist */
	uint32_t spur_round;            /* RACK.dsack_round (0 = none) */
	bool spur_round_on;
	uint64_t t_reo, t_tlp;          /* reordering timer, probe timeout */
	bool tlp_due;                   /* PTO expired: send the probe */
	bool tlp_out, tlp_rexmit;       /* TLP episode open; the probe resent data */
	uint32_t tlp_end;               /* TLP.end_seq */
	uint64_t tlp_xmit_us;

	/* ACK generation */
	uint32_t segs_unacked;
	uint32_t dupacks_owed;          /* one immediate ACK per out-of-order segment */
	bool ack_now;
};

/*
 * Hashed hierarchical timing wheel (tcp_wheel.c), one per stack: each
 * connection is filed once, at w_due, no later than its earliest armed
 * timer. Level 0: TCP_WHEEL_SLOTS ticks of 2^TCP_WHEEL_TICK_SHIFT us
 * (1.024 ms, 4.19 s in all), one tick per slot. Level 1: slots of one
 * level-0 turn each (4.19 s, 4.77 h in all); an entry moves down to level 0
 * when the cursor enters its turn. Deadlines beyond level 1 wait in its last
 * slot and are filed again from there. The tick only picks a slot: expiry
 * compares exact deadlines.
 */
#define TCP_WHEEL_TICK_SHIFT 10
#define TCP_WHEEL_BITS 12
#define TCP_WHEEL_SLOTS (1u << TCP_WHEEL_BITS)
#define TCP_WHEEL_MASK (TCP_WHEEL_SLOTS - 1)
#define TCP_WHEEL_DUE 2             /* w_lvl of an entry taken off by expire */
#define TCP_WHEEL_SCAN 32           /* entries tcp_wheel_next looks at per slot */

struct tcp_wheel {
	uint64_t now;                   /* cursor tick: the earlier ones are done */
	uint32_t n[2];                  /* entries per level */
	struct dssh_tcp_conn *slot[2][TCP_WHEEL_SLOTS];
	uint64_t lo[2][TCP_WHEEL_SLOTS];        /* a non-empty slot's least w_due, or less */
	uint64_t map[2][TCP_WHEEL_SLOTS / 64];  /* non-empty slots */
};

void tcp_wheel_file(struct tcp_wheel *w, struct dssh_tcp_conn *c, uint64_t due,
    uint64_t now_us);
void tcp_wheel_unlink(struct tcp_wheel *w, struct dssh_tcp_conn *c);
void tcp_wheel_expire(struct tcp_wheel *w, uint64_t now_us, struct dssh_tcp_conn **due);
uint64_t tcp_wheel_next(struct tcp_wheel *w,
    uint64_t (*deadline)(const struct dssh_tcp_conn *c));

struct tcp_listener {
	uint32_t addr;
	uint16_t port;
	bool used;
};

struct dssh_tcp_stack {
	struct dssh_tcp_conf conf;
	struct dssh_tcp_conn **htab;
	uint32_t hmask;
	uint64_t hseed;
	uint32_t nconns, nsynrcvd;
	struct dssh_tcp_conn *all;
	struct dssh_tcp_conn *out_head, *out_tail;
	struct dssh_tcp_conn *ev_head, *ev_tail;
	struct tcp_listener listeners[TCP_MAX_LISTEN];
	struct dssh_tcp_seg_out ctlq[TCP_CTL_QUEUE];
	uint32_t ctlq_head, ctlq_n;
	uint16_t next_ephemeral;
	uint64_t chack_window_us;
	uint32_t chack_count;
	uint64_t next_timer_us;         /* no timer is armed before this */
	struct tcp_wheel wheel;

	EVP_MAC *mac;                   /* SipHash for ISN, cookies, TS offsets */
	uint8_t isn_secret[16];
	uint8_t cookie_secret[16];

	struct dssh_tcp_stats st;

	/* the segment being processed (dssh_tcp_input): its buffer, if any */
	void *in_buf;
	uint32_t in_cost;
};

/*
 * Calls between the files of the stack (tcp.c, tcp_input.c, tcp_output.c,
 * tcp_sack.c, tcp_timer.c); internal, not part of dssh_tcp.h.
 */

/* tcp.c: stack and connection lifecycle */
uint64_t tcp_tuple_mac(struct dssh_tcp_stack *s, const uint8_t key[16], uint32_t laddr,
    uint16_t lport, uint32_t raddr, uint16_t rport, uint32_t e0, uint32_t e1);
void tcp_out_mark(struct dssh_tcp_conn *c);
void tcp_ev_post(struct dssh_tcp_conn *c, uint32_t ev);
void tcp_conn_reset(struct dssh_tcp_conn *c, uint32_t ev);
uint8_t tcp_wscale_for(uint32_t bufsize);
uint32_t tcp_ts_offset(struct dssh_tcp_stack *s, uint32_t laddr, uint16_t lport,
    uint32_t raddr, uint16_t rport);
struct dssh_tcp_conn *tcp_conn_new(struct dssh_tcp_stack *s, uint32_t laddr, uint16_t lport,
    uint32_t raddr, uint16_t rport, uint64_t now_us);
struct tcp_listener *tcp_listener_find(struct dssh_tcp_stack *s, uint32_t addr, uint16_t port,
    bool exact);

/* tcp_output.c: segment construction and output */
uint8_t *tcp_put16(uint8_t *p, uint16_t v);
uint8_t *tcp_put32(uint8_t *p, uint32_t v);
void tcp_seg_finish(struct dssh_tcp_stack *s, struct dssh_tcp_seg_out *o);
uint8_t *tcp_hdr_start(struct dssh_tcp_seg_out *o, uint16_t sport, uint16_t dport,
    uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd);
void tcp_hdr_end(struct dssh_tcp_seg_out *o, uint8_t *p);
struct dssh_tcp_seg_out *tcp_ctl_slot(struct dssh_tcp_stack *s);
void tcp_send_rst_for(struct dssh_tcp_stack *s, uint32_t saddr, uint32_t daddr,
    const struct dssh_tcp_hdr *h);
uint32_t tcp_ts_now(const struct dssh_tcp_conn *c, uint64_t now_us);
uint32_t tcp_rcv_space(const struct dssh_tcp_conn *c);
void tcp_emit(struct dssh_tcp_conn *c, struct dssh_tcp_seg_out *o, uint32_t seq,
    uint8_t flags, uint32_t len, uint64_t now_us);
bool tcp_synchronized_send(const struct dssh_tcp_conn *c);
uint32_t tcp_ack_seq(const struct dssh_tcp_conn *c);

/* tcp_timer.c: RTT, RTO and the per-connection timers */
uint64_t tcp_rto_cur(const struct dssh_tcp_conn *c);
void tcp_timer_arm(struct dssh_tcp_conn *c, uint64_t *t, uint64_t when, uint64_t now_us);
void tcp_rto_arm(struct dssh_tcp_conn *c, uint64_t now_us);
void tcp_rtt_sample(struct dssh_tcp_conn *c, uint32_t r);

/* tcp_sack.c: SACK scoreboard, RACK-TLP, undo */
void tcp_sb_add(struct dssh_tcp_conn *c, uint32_t start, uint32_t end);
void tcp_sb_trim(struct dssh_tcp_conn *c);
bool tcp_sb_lost_below(const struct dssh_tcp_conn *c, uint32_t i);
uint32_t tcp_sb_pipe(const struct dssh_tcp_conn *c);
bool tcp_sb_next_lost(const struct dssh_tcp_conn *c, uint32_t max, uint32_t *seq,
    uint32_t *len);
void tcp_rack_sent(struct dssh_tcp_conn *c, uint32_t start, uint32_t end, uint64_t now_us);
void tcp_undo_save(struct dssh_tcp_conn *c);
uint32_t tcp_rack_pipe(const struct dssh_tcp_conn *c);
bool tcp_rack_rexmit(struct dssh_tcp_conn *c, uint32_t max, uint32_t *seq, uint32_t *len);
void tcp_tlp_arm(struct dssh_tcp_conn *c, uint64_t now_us);
void tcp_rack_on_ack(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h, uint64_t now_us);
void tcp_rack_on_reo_timer(struct dssh_tcp_conn *c, uint64_t now_us);
void tcp_tlp_on_ack(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h, uint64_t now_us);

/* Test hook (tcp.c): connections with nothing that would move them on. */
unsigned dssh_tcp_debug_stalled(struct dssh_tcp_stack *s, uint64_t now_us,
    void (*cb)(const struct dssh_tcp_conn *c, const char *why, void *arg), void *arg);

#endif
