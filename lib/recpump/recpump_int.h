/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef RECPUMP_INT_H
#define RECPUMP_INT_H

#include <sys/types.h>

#include "dssh_buf.h"
#include "dssh_crypto.h"
#include "dssh_record.h"
#include "dssh_recpump.h"

struct dssh_rec;
struct rp_chan;

enum rec_gather { REC_DONE, REC_MORE };

struct rec_job {
	struct dssh_recpump_conn *c;
	uint8_t *pkt;
	size_t wire;
	size_t len;                 /* tx: payload length */
	bool crypto;
	bool in_tcp;                /* tx: sealed in the TCP send buffer (no copy) */
	void *buf;                  /* tx: sealed in this buffer, queued by reference */
};

struct rec_batch {
	unsigned n, nops;
	size_t used;
	struct rec_job job[DSSH_RECPUMP_BURST];
	struct dssh_crypto_op op[DSSH_RECPUMP_BURST];
	struct dssh_crypto_op *ops[DSSH_RECPUMP_BURST];
};

struct dssh_recpump_conn {
	struct dssh_recpump *p;
	void *udata;
	uint32_t id;
	struct dssh_tcp_conn *tcp;      /* NULL once detached */
	struct dssh_rec *rec;
	struct dssh_pipe *up, *down;
	uint32_t *up_wait;              /* atomic */
	uint32_t rx_err;                /* an ERROR record still to deliver */
	bool closing;                   /* no more input taken */
	bool fin_seen;                  /* the peer's FIN arrived */
	bool rx_dirty, tx_dirty;        /* on the pump's lists for the next flush */
	struct dssh_recpump_conn *rx_next, *tx_next;
	size_t round_reserved;          /* pipe/send space promised within a round */
	size_t round_ring;              /* tx: of which in the TCP ring (not in buffers) */
	bool round_buf;                 /* tx: a packet of the round is in a buffer */
	bool round_jobs;                /* packets of this connection in the round's burst */
	bool round_more;                /* wants another round */
	bool round_posted;              /* records went up */
	bool round_moved;               /* packets went out */
	bool rx_starved;                /* input stopped for want of bytes */
	bool tx_fatal;                  /* output cannot go on: reset */
	/* Channel offload (recpump_chan.c). */
	struct rp_chan *chans;          /* channels this core moves itself */
	struct dssh_buf upq;            /* channel markers waiting for room in up */
	uint32_t cnt_rx_pkts, cnt_tx_pkts;      /* not yet in a CHAN_COUNT */
	uint64_t cnt_rx_bytes, cnt_tx_bytes;
	size_t round_credit;            /* rx: up bytes reserved, not used by packets */
	bool tx_kex;                    /* a KEXINIT sealed, TX_KEYS not yet: no channel output */
	bool chan_held;                 /* on the pump's held list */
	struct dssh_recpump_conn *held_next;
};

struct dssh_recpump {
	struct dssh_crypto_engine *engine;
	unsigned core;
	uint8_t *stage;
	size_t stage_size;
	size_t tx_ref_min;
	const struct dssh_recpump_ops *ops;
	void *arg;
	struct dssh_recpump_conn *rx_dirty, *tx_dirty;
	struct dssh_recpump_stats st;
	int epfd;                       /* the offloaded channels' fds */
	unsigned nchans;                /* channels offloaded now */
	struct dssh_recpump_conn *held; /* small child output held back a moment */
	struct rp_chan *connecting;     /* CHAN_CONNECTs not answered yet */
	/* Target connections let go of, closed at the end of the flush (the
	 * driver may hold their pointers in an event batch until then); the
	 * low bit set: abort. */
	uintptr_t *graves;
	size_t ngraves, cap_graves;
	uint64_t now_us;                /* the TCP clock, as last given */
};

/* recpump.c, for recpump_chan.c */
struct rec_job *rec_tx_job_new(struct dssh_recpump *p, struct dssh_recpump_conn *c,
    struct rec_batch *b, size_t wire);
void rec_tx_job_cancel(struct dssh_recpump *p, struct dssh_recpump_conn *c,
    struct rec_batch *b, bool jobs_before);
void rec_tx_job_commit(struct dssh_recpump_conn *c, struct rec_batch *b, struct rec_job *j,
    size_t len);
bool rec_tx_space(struct dssh_recpump_conn *c, size_t wire);
bool rec_batch_room(const struct dssh_recpump *p, const struct rec_batch *b, size_t wire);

/* recpump_chan.c */
#define RP_COUNT_MARK (DSSH_REC_MARK_HDR + DSSH_REC_CHAN_COUNT_LEN)
#define RP_COUNT_DUE (256u * 1024)      /* bytes counted before a CHAN_COUNT goes up */
int rp_chan_init(struct dssh_recpump *p);
void rp_chan_fini(struct dssh_recpump *p);
/* Closes the target connections let go of (end of a flush). */
void rp_chan_reap(struct dssh_recpump *p);
/* A down marker of channel offload: 0 or DSSH_ERR_*. */
int rp_chan_marker(struct dssh_recpump *p, struct dssh_recpump_conn *c, uint32_t kind,
    const uint8_t *body, size_t n);
/* An opened packet: 0 passes it up, 1 it was taken here, else an
 * enum dssh_rec_err to fail input with. */
int rp_chan_intercept(struct dssh_recpump *p, struct dssh_recpump_conn *c,
    const uint8_t *payload, size_t len, size_t wire);
/* Packets of the channels (data, adjusts) into the burst after the
 * engine's records. */
enum rec_gather rp_chan_tx_gen(struct dssh_recpump *p, struct dssh_recpump_conn *c,
    struct rec_batch *b);
/* Counts (when due or forced) and queued markers into up, within avail
 * bytes; returns the bytes written. */
size_t rp_chan_up_flush(struct dssh_recpump_conn *c, size_t avail, bool force_count);
/* Every channel let go (fds closed). */
void rp_chan_drop_all(struct dssh_recpump_conn *c);
/* After a flush: connections holding small output back go on the output
 * list again (drop: just let go of them). */
void rp_chan_rearm(struct dssh_recpump *p, bool drop);


#endif
