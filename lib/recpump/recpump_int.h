/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef RECPUMP_INT_H
#define RECPUMP_INT_H

#include "dssh_crypto.h"
#include "dssh_recpump.h"

struct dssh_rec;

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
};

#endif
