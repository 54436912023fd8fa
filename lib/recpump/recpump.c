/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SSH record pump of a data core (dssh_recpump.h): a flush takes every
 * connection with input or output waiting and processes them in rounds:
 * gather packets from all of them into one burst (copied into the core's
 * staging area, or sealed where they will be sent), seal or open the burst
 * with the core's engine, then deliver in order (records into the up pipe,
 * wire bytes into TCP). Space is promised before a packet is taken, so
 * delivery never fails half way. A connection stays for another round when
 * the burst filled up or it reached a barrier (a possible NEWKEYS in input,
 * a marker in output), so one busy connection cannot starve the others.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_pipe.h"
#include "dssh_record.h"
#include "dssh_tcp.h"
#include "dssh_util.h"
#include "recpump_int.h"
#include "ssh_msg.h"

/* ---- the pump and its connections ---- */

int
dssh_recpump_new(const struct dssh_recpump_conf *conf, struct dssh_recpump **out)
{
	struct dssh_crypto_engine_conf ec = { .max_burst = DSSH_RECPUMP_BURST, .socket_id = -1 };
	struct dssh_recpump *p;
	int r;

	*out = NULL;
	if (conf->engine == NULL || conf->ops == NULL || conf->ops->ref == NULL ||
	    conf->ops->unref == NULL || conf->ops->rx_done == NULL || conf->ops->tx_done == NULL ||
	    (conf->ops->tx_buf_get != NULL && conf->ops->tx_buf_put == NULL))
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return DSSH_ERR_ALLOC;
	p->core = conf->core;
	p->ops = conf->ops;
	p->arg = conf->arg;
	p->stage_size = conf->stage_size != 0 ? conf->stage_size : DSSH_RECPUMP_STAGE;
	p->tx_ref_min = conf->tx_ref_min != 0 ? conf->tx_ref_min : DSSH_RECPUMP_TX_REF_MIN;
	/* The core's own engine instance: nothing shared with other cores. */
	if ((r = dssh_crypto_engine_create(conf->engine, &ec, &p->engine)) != 0) {
		free(p);
		return r;
	}
	if ((p->stage = malloc(p->stage_size)) == NULL || (r = rp_chan_init(p)) != 0) {
		free(p->stage);
		dssh_crypto_engine_free(p->engine);
		free(p);
		return r != 0 ? r : DSSH_ERR_ALLOC;
	}
	*out = p;
	return 0;
}

static void
drop_dirty(struct dssh_recpump *p, struct dssh_recpump_conn *list, bool rx)
{
	while (list != NULL) {
		struct dssh_recpump_conn *next = rx ? list->rx_next : list->tx_next;

		if (rx)
			list->rx_dirty = false;
		else
			list->tx_dirty = false;
		p->ops->unref(list->udata);
		list = next;
	}
}

void
dssh_recpump_free(struct dssh_recpump *p)
{
	if (p == NULL)
		return;
	rp_chan_rearm(p, true);
	drop_dirty(p, p->rx_dirty, true);
	drop_dirty(p, p->tx_dirty, false);
	p->rx_dirty = p->tx_dirty = NULL;
	dssh_wipe(p->stage, p->stage_size);
	free(p->stage);
	rp_chan_fini(p);
	dssh_crypto_engine_free(p->engine);
	free(p);
}

const struct dssh_recpump_stats *
dssh_recpump_stats(const struct dssh_recpump *p)
{
	return &p->st;
}

int
dssh_recpump_conn_new(struct dssh_recpump *p, struct dssh_tcp_conn *tcp,
    struct dssh_pipe *up, struct dssh_pipe *down, uint32_t *up_wait, void *udata, uint32_t id,
    struct dssh_recpump_conn **out)
{
	struct dssh_recpump_conn *c;
	int r;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return DSSH_ERR_ALLOC;
	if ((r = dssh_rec_new(p->engine, &c->rec)) != 0) {
		free(c);
		return r;
	}
	c->p = p;
	c->tcp = tcp;
	c->up = up;
	c->down = down;
	c->up_wait = up_wait;
	c->udata = udata;
	c->id = id;
	dssh_buf_init(&c->upq, 0);
	*out = c;
	return 0;
}

void
dssh_recpump_conn_detach(struct dssh_recpump_conn *c)
{
	rp_chan_drop_all(c);
	c->tcp = NULL;
	dssh_rec_free(c->rec);
	c->rec = NULL;
}

void
dssh_recpump_conn_free(struct dssh_recpump_conn *c)
{
	if (c == NULL)
		return;
	rp_chan_drop_all(c);
	dssh_buf_free(&c->upq);
	dssh_rec_free(c->rec);      /* detached already unless never attached */
	free(c);
}

const struct dssh_rec *
dssh_recpump_conn_rec(const struct dssh_recpump_conn *c)
{
	return c->rec;
}

void
dssh_recpump_conn_close(struct dssh_recpump_conn *c)
{
	c->closing = true;
	rp_chan_drop_all(c);        /* the engine is done: nobody to tell */
}

void
dssh_recpump_mark(struct dssh_recpump_conn *c, bool rx)
{
	struct dssh_recpump *p = c->p;

	if (rx ? c->rx_dirty : c->tx_dirty)
		return;
	p->ops->ref(c->udata);      /* the list's */
	if (rx) {
		c->rx_dirty = true;
		c->rx_next = p->rx_dirty;
		p->rx_dirty = c;
	} else {
		c->tx_dirty = true;
		c->tx_next = p->tx_dirty;
		p->tx_dirty = c;
	}
}

void
dssh_recpump_tcp_event(struct dssh_recpump_conn *c, uint32_t events)
{
	if (events & DSSH_TCP_EV_PEER_FIN)
		c->fin_seen = true;
	/* Batched: the driver flushes after this poll's events. */
	if (events & (DSSH_TCP_EV_READABLE | DSSH_TCP_EV_PEER_FIN))
		dssh_recpump_mark(c, true);
	if (events & DSSH_TCP_EV_WRITABLE)
		dssh_recpump_mark(c, false);
}

bool
dssh_recpump_dirty(const struct dssh_recpump *p)
{
	return p->rx_dirty != NULL || p->tx_dirty != NULL;
}

/* ---- the burst ---- */

static bool
batch_room(const struct dssh_recpump *p, const struct rec_batch *b, size_t wire)
{
	return b->n < DSSH_RECPUMP_BURST && b->used + wire <= p->stage_size;
}

bool
rec_batch_room(const struct dssh_recpump *p, const struct rec_batch *b, size_t wire)
{
	return batch_room(p, b, wire);
}

static struct rec_job *
batch_add(struct dssh_recpump *p, struct rec_batch *b, struct dssh_recpump_conn *c, size_t wire)
{
	struct rec_job *j = &b->job[b->n++];

	j->c = c;
	j->pkt = p->stage + b->used;
	j->wire = wire;
	j->crypto = false;
	j->in_tcp = false;
	j->buf = NULL;
	b->used += (wire + 63) & ~(size_t)63;
	c->round_jobs = true;
	return j;
}

static void
batch_crypto(struct dssh_recpump *p, struct rec_batch *b)
{
	for (unsigned i = 0; i < b->n; i++)
		if (b->job[i].crypto)
			b->ops[b->nops++] = &b->op[i];
	if (b->nops > 0) {
		(void)dssh_crypto_process(p->engine, b->ops, b->nops);
		p->st.bursts++;
		p->st.burst_ops += b->nops;
	}
}

/* ---- input: TCP -> records ---- */

/* Room in the up pipe for need more bytes, or a kick asked for. */
static bool
rx_room(struct dssh_recpump_conn *c, size_t need)
{
	need += c->round_reserved;
	if (dssh_pipe_writable(c->up) >= need)
		return true;
	/* seq_cst pairs with the reader's consume and up_wait check. */
	__atomic_store_n(c->up_wait, 1, __ATOMIC_SEQ_CST);
	if (dssh_pipe_writable(c->up) < need)
		return false;
	__atomic_store_n(c->up_wait, 0, __ATOMIC_SEQ_CST);
	return true;
}

/* Channel markers (and a count when due) into up; false when some of
 * them wait for room (the reader's kick brings us back). */
static bool
rec_up_flush(struct dssh_recpump_conn *c)
{
	for (int i = 0; i < 2; i++) {
		size_t w = rp_chan_up_flush(c, dssh_pipe_writable(c->up), false);

		if (w > 0)
			c->round_posted = true;
		if (dssh_buf_len(&c->upq) == 0)
			return true;
		if (!rx_room(c, dssh_buf_len(&c->upq)))
			return false;
	}
	return dssh_buf_len(&c->upq) == 0;
}

/* Drops what the peer sent that will never be taken. */
static void
discard_rx(struct dssh_recpump_conn *c)
{
	const uint8_t *ptr[2];
	size_t len[2];
	unsigned np;

	while ((np = dssh_tcp_peek(c->tcp, ptr, len)) > 0 && len[0] > 0)
		(void)dssh_tcp_consume(c->tcp, len[0] + (np > 1 ? len[1] : 0));
}

static void
rec_put_error(struct dssh_recpump_conn *c)
{
	uint8_t m[DSSH_REC_MARK_HDR + 4];

	if (c->rx_err == 0 || !rx_room(c, sizeof(m)))
		return;
	dssh_put_u32be(m, DSSH_REC_MARK | DSSH_REC_MARK_ERROR);
	dssh_put_u32be(m + 4, 4);
	dssh_put_u32be(m + 8, c->rx_err);
	(void)dssh_pipe_write(c->up, m, sizeof(m));
	c->rx_err = 0;
	c->round_posted = true;
}

static void
rec_rx_fail(struct dssh_recpump *p, struct dssh_recpump_conn *c, uint32_t code)
{
	dssh_rec_rx_fail(c->rec);
	c->rx_err = code;
	p->st.errors++;
	dssh_debug("core %u: stream %u: input failed: %s", p->core, c->id,
	    dssh_rec_err_str(code));
}

/* The peer's version line goes up as it came. */
static bool
rec_rx_version(struct dssh_recpump_conn *c)
{
	const uint8_t *ptr[2];
	size_t len[2], n;

	if (dssh_tcp_peek(c->tcp, ptr, len) == 0 || len[0] == 0)
		return false;
	n = dssh_rec_rx_version(c->rec, ptr[0], len[0]);
	if (!rx_room(c, n))
		return false;
	(void)dssh_pipe_write(c->up, ptr[0], n);
	(void)dssh_tcp_consume(c->tcp, n);
	c->round_posted = true;
	return true;
}

/* Takes the connection's complete packets into the burst. */
static enum rec_gather
rec_rx_gather(struct dssh_recpump *p, struct dssh_recpump_conn *c, struct rec_batch *b)
{
	c->round_reserved = 0;
	c->round_jobs = false;
	c->rx_starved = false;
	c->round_credit = 0;
	if (c->chans != NULL || c->cnt_rx_pkts != 0 || c->cnt_tx_pkts != 0) {
		/* Channel markers go before anything newer; room for a count
		 * ahead of a packet that goes up (see rec_rx_deliver). */
		if (!rec_up_flush(c) || !rx_room(c, RP_COUNT_MARK))
			return REC_DONE;
		c->round_reserved = c->round_credit = RP_COUNT_MARK;
	}
	for (;;) {
		enum dssh_rec_rx_state st = dssh_rec_rx_state(c->rec);
		const uint8_t *ptr[2];
		size_t len[2], avail, wire;
		uint8_t head[DSSH_REC_HEAD];
		uint32_t code;
		int r;

		if (st == DSSH_REC_RX_VERSION) {
			if (!rec_rx_version(c)) {
				c->rx_starved = dssh_tcp_peek(c->tcp, ptr, len) == 0 || len[0] == 0;
				return REC_DONE;
			}
			continue;
		}
		if (st != DSSH_REC_RX_PACKETS)
			return REC_DONE;
		/* The peer's bytes are still in the buffers they arrived in (the
		 * TCP receive queue holds them): framing reads the length from
		 * there, the packet is copied once, into the burst's staging. */
		avail = dssh_tcp_readable(c->tcp);
		(void)dssh_tcp_copy_out(c->tcp, 0, head, DSSH_MIN(avail, sizeof(head)));
		r = dssh_rec_rx_frame(c->rec, head, avail, &wire, &code);
		if (r == DSSH_ERR_MSG_INCOMPLETE || (r == 0 && avail < wire)) {
			c->rx_starved = true;
			return REC_DONE;
		}
		if (r != 0) {
			rec_rx_fail(p, c, code);
			return REC_DONE;
		}
		if (!batch_room(p, b, wire))
			return REC_MORE;
		if (!rx_room(c, DSSH_REC_HDR + wire))
			return REC_DONE;
		struct rec_job *j = batch_add(p, b, c, wire);

		if (dssh_tcp_copy_out(c->tcp, 0, j->pkt, wire) != wire) {
			rec_rx_fail(p, c, DSSH_REC_ERR_CRYPTO);     /* cannot happen: avail >= wire */
			return REC_DONE;
		}
		(void)dssh_tcp_consume(c->tcp, wire);
		j->crypto = dssh_rec_rx_op(c->rec, j->pkt, wire, &b->op[b->n - 1]);
		c->round_reserved += DSSH_REC_HDR + wire;
		if (dssh_rec_rx_barrier(wire))
			return REC_MORE;
	}
}

/* Opened packets go up as records, in order. */
static void
rec_rx_deliver(struct dssh_recpump *p, struct rec_batch *b)
{
	for (unsigned i = 0; i < b->n; i++) {
		struct rec_job *j = &b->job[i];
		struct dssh_recpump_conn *c = j->c;
		const uint8_t *payload;
		size_t len;
		uint32_t code;
		uint8_t hdr[DSSH_REC_HDR];

		if (dssh_rec_rx_state(c->rec) == DSSH_REC_RX_FAILED) {
			dssh_wipe(j->pkt, j->wire);     /* after a failed one: dropped */
			continue;
		}
		int ic = 0;

		if (dssh_rec_rx_done(c->rec, j->pkt, j->crypto ? b->op[i].status : 0, &payload, &len,
		    &code) != 0) {
			rec_rx_fail(p, c, code);
		} else if (c->chans != NULL &&
		    (ic = rp_chan_intercept(p, c, payload, len, j->wire)) != 0) {
			if (ic != 1) {
				rec_rx_fail(p, c, (uint32_t)ic);
			} else {
				/* Taken here: its room in up is spare for markers. */
				p->st.rx_packets++;
				p->st.rx_bytes += j->wire;
				c->cnt_rx_pkts++;
				c->cnt_rx_bytes += j->wire;
				c->round_credit += DSSH_REC_HDR + j->wire;
				c->round_credit -= rp_chan_up_flush(c, c->round_credit, false);
			}
		} else {
			/* The engine counts what the core took before this one. */
			if (c->cnt_rx_pkts != 0 || c->cnt_tx_pkts != 0)
				c->round_credit -= rp_chan_up_flush(c, c->round_credit, true);
			dssh_put_u32be(hdr, (uint32_t)len);
			(void)dssh_pipe_write(c->up, hdr, sizeof(hdr));
			(void)dssh_pipe_write(c->up, payload, len);
			c->round_posted = true;
			p->st.rx_packets++;
			p->st.rx_bytes += j->wire;
		}
		dssh_wipe(j->pkt, j->wire);
	}
}

/* After its last round: events for the control thread, end of input. */
static void
rec_rx_finish(struct dssh_recpump *p, struct dssh_recpump_conn *c)
{
	enum dssh_rec_rx_state st;
	bool posted;

	if (c->tcp == NULL)
		return;
	c->round_reserved = 0;      /* what the round promised is delivered */
	rec_put_error(c);
	if (dssh_buf_len(&c->upq) > 0 || c->cnt_rx_bytes + c->cnt_tx_bytes >= RP_COUNT_DUE)
		(void)rec_up_flush(c);
	st = dssh_rec_rx_state(c->rec);
	if (st == DSSH_REC_RX_FAILED)
		discard_rx(c);
	posted = c->round_posted;
	c->round_posted = false;
	/* A packet cut short by the peer's FIN will never complete. */
	if (c->fin_seen && c->rx_starved && st != DSSH_REC_RX_WAIT_KEYS)
		discard_rx(c);
	p->ops->rx_done(p->arg, c->udata, posted, dssh_tcp_eof(c->tcp) && c->rx_err == 0);
}

static void
rec_rx_flush(struct dssh_recpump *p)
{
	struct dssh_recpump_conn *list = p->rx_dirty;

	p->rx_dirty = NULL;
	while (list != NULL) {
		struct dssh_recpump_conn *c, *next, *again = NULL;
		struct rec_batch b;

		b.n = b.nops = 0;
		b.used = 0;
		for (c = list; c != NULL; c = c->rx_next)
			c->round_more = c->tcp != NULL && !c->closing &&
			    rec_rx_gather(p, c, &b) == REC_MORE;
		batch_crypto(p, &b);
		rec_rx_deliver(p, &b);
		for (c = list; c != NULL; c = next) {
			next = c->rx_next;
			if (c->round_more && c->tcp != NULL) {
				c->rx_next = again;
				again = c;
				continue;
			}
			rec_rx_finish(p, c);
			c->rx_dirty = false;
			p->ops->unref(c->udata);
		}
		list = again;
	}
}

/* ---- output: records -> TCP ---- */

/* A marker from the engine, applied in stream order. False: stop here. */
static bool
rec_tx_marker(struct dssh_recpump *p, struct dssh_recpump_conn *c, uint32_t kind, size_t n,
    bool *fatal)
{
	uint8_t body[DSSH_RECPUMP_MARK_MAX];
	int r = 0;

	if (kind == DSSH_REC_MARK_RAW &&
	    dssh_tcp_send_space(c->tcp, n) < c->round_reserved + n)
		return false;
	(void)dssh_pipe_copy_out(c->down, DSSH_REC_MARK_HDR, body, n);
	switch (kind) {
	case DSSH_REC_MARK_RAW:
		if (dssh_tcp_send(c->tcp, body, n) != (ssize_t)n)
			r = DSSH_ERR_CONN_CLOSED;
		p->st.tx_bytes += n;
		break;
	case DSSH_REC_MARK_TX_KEYS:
	case DSSH_REC_MARK_RX_KEYS:
		r = dssh_rec_set_keys(c->rec, (enum dssh_rec_mark)kind, body, n);
		if (r == 0 && kind == DSSH_REC_MARK_RX_KEYS)
			dssh_recpump_mark(c, true);     /* input resumes */
		if (r == 0 && kind == DSSH_REC_MARK_TX_KEYS)
			c->tx_kex = false;              /* channel output may go on */
		break;
	case DSSH_REC_MARK_CHAN_OFFLOAD:
	case DSSH_REC_MARK_CHAN_GO:
	case DSSH_REC_MARK_CHAN_RECLAIM:
	case DSSH_REC_MARK_CHAN_CONNECT:
		r = rp_chan_marker(p, c, kind, body, n);
		break;
	default:
		r = DSSH_ERR_INVALID_FORMAT;
	}
	dssh_wipe(body, n);
	dssh_pipe_consume_wipe(c->down, DSSH_REC_MARK_HDR + n);
	if (r != 0) {
		dssh_error("core %u: stream %u: record marker %u: %s", p->core, c->id, kind,
		    dssh_err_str(r));
		*fatal = true;
		return false;
	}
	return true;
}

/*
 * A driver buffer to seal a packet of wire bytes in, when it is worth one
 * (not a short packet: those are sealed in the TCP ring, one copy less than
 * before anyway) and the driver has one; NULL otherwise.
 */
static void *
rec_tx_buf(struct dssh_recpump *p, size_t wire, uint8_t **data)
{
	if (p->ops->tx_buf_get == NULL || wire < p->tx_ref_min)
		return NULL;
	return p->ops->tx_buf_get(p->arg, wire, data);
}

/* Takes the engine's complete records into the burst. */
static enum rec_gather
rec_tx_gather(struct dssh_recpump *p, struct dssh_recpump_conn *c, struct rec_batch *b,
    bool *fatal)
{
	c->round_reserved = 0;
	c->round_ring = 0;
	c->round_buf = false;
	c->round_jobs = false;
	for (;;) {
		size_t avail = dssh_pipe_readable(c->down), wire;
		uint8_t hdr[DSSH_REC_MARK_HDR];
		uint32_t w;

		/* The engine's records first, then the channels' own. */
		if (avail < DSSH_REC_HDR)
			return c->chans != NULL ? rp_chan_tx_gen(p, c, b) : REC_DONE;
		(void)dssh_pipe_copy_out(c->down, 0, hdr, DSSH_MIN(avail, sizeof(hdr)));
		w = dssh_get_u32be(hdr);
		if (w & DSSH_REC_MARK) {
			size_t n;

			if (avail < DSSH_REC_MARK_HDR)
				return c->chans != NULL ? rp_chan_tx_gen(p, c, b) : REC_DONE;
			n = dssh_get_u32be(hdr + 4);
			if ((w & ~(DSSH_REC_MARK | 0xffu)) != 0 || n > DSSH_RECPUMP_MARK_MAX) {
				*fatal = true;
				return REC_DONE;
			}
			if (avail < DSSH_REC_MARK_HDR + n)
				return c->chans != NULL ? rp_chan_tx_gen(p, c, b) : REC_DONE;
			/* Keys change after the packets before them: those go first. */
			if (c->round_jobs)
				return REC_MORE;
			if (!rec_tx_marker(p, c, w & 0xffu, n, fatal))
				return REC_DONE;
			continue;
		}
		if (w == 0 || w > DSSH_REC_PACKET_MAX) {
			*fatal = true;
			return REC_DONE;
		}
		if (avail < DSSH_REC_HDR + w)
			return c->chans != NULL ? rp_chan_tx_gen(p, c, b) : REC_DONE;
		wire = dssh_rec_tx_wire_len(c->rec, w);
		if (!rec_tx_space(c, wire))
			return REC_DONE;        /* WRITABLE follows */
		if (!batch_room(p, b, wire))
			return REC_MORE;
		struct rec_job *j = rec_tx_job_new(p, c, b, wire);

		(void)dssh_pipe_copy_out(c->down, DSSH_REC_HDR, j->pkt + DSSH_REC_TX_PAYLOAD, w);
		dssh_pipe_consume(c->down, DSSH_REC_HDR + w);
		/* From our KEXINIT to the new keys, nothing of the channels the
		 * core moves (RFC 4253 7.1), as the engine holds its own back. */
		if (j->pkt[DSSH_REC_TX_PAYLOAD] == SSH_MSG_KEXINIT)
			c->tx_kex = true;
		rec_tx_job_commit(c, b, j, w);
	}
}

bool
rec_tx_space(struct dssh_recpump_conn *c, size_t wire)
{
	return dssh_tcp_send_space(c->tcp, c->round_reserved + wire) >= c->round_reserved + wire;
}

/* A job for a packet of up to wire bytes (batch_room checked). */
struct rec_job *
rec_tx_job_new(struct dssh_recpump *p, struct dssh_recpump_conn *c, struct rec_batch *b,
    size_t wire)
{
	struct rec_job *j = batch_add(p, b, c, wire);
	uint8_t *data = NULL, *dst;
	void *buf = rec_tx_buf(p, wire, &data);

	if (buf != NULL) {
		/* Sealed in its own buffer, which TCP then holds (frames
		 * reference it: no copy after sealing). */
		b->used -= (wire + 63) & ~(size_t)63;
		j->pkt = data;
		j->buf = buf;
		c->round_buf = true;
	} else if (!c->round_buf &&
	    (dst = dssh_tcp_send_buf(c->tcp, c->round_ring, wire)) != NULL) {
		/* Sealed where TCP keeps it when that space is contiguous
		 * (the ring packets before it in this round are reserved
		 * ahead of it). Not after a packet in a buffer: should TCP
		 * copy that one (no hold), it would land on this space. */
		b->used -= (wire + 63) & ~(size_t)63;
		j->pkt = dst;
		j->in_tcp = true;
	}
	return j;
}

/* The last job taken back (nothing to send after all). */
void
rec_tx_job_cancel(struct dssh_recpump *p, struct dssh_recpump_conn *c, struct rec_batch *b,
    bool jobs_before)
{
	struct rec_job *j = &b->job[--b->n];

	if (j->buf != NULL)
		p->ops->tx_buf_put(p->arg, j->buf);
	else if (!j->in_tcp)
		b->used -= (j->wire + 63) & ~(size_t)63;
	c->round_jobs = jobs_before;
}

/* The payload (len bytes) is in place: the job's wire size and op. */
void
rec_tx_job_commit(struct dssh_recpump_conn *c, struct rec_batch *b, struct rec_job *j, size_t len)
{
	j->len = len;
	j->wire = dssh_rec_tx_wire_len(c->rec, len);
	if (j->buf == NULL)
		c->round_ring += j->wire;
	j->crypto = dssh_rec_tx_op(c->rec, j->pkt, len, &b->op[j - b->job]);
	c->round_reserved += j->wire;
}

static void
rec_tx_deliver(struct dssh_recpump *p, struct rec_batch *b)
{
	for (unsigned i = 0; i < b->n; i++) {
		struct rec_job *j = &b->job[i];
		struct dssh_recpump_conn *c = j->c;
		bool bad = c->tcp == NULL || (j->crypto && b->op[i].status != 0);

		if (bad && c->tcp != NULL) {
			dssh_error("core %u: stream %u: seal failed: %s", p->core, c->id,
			    dssh_err_str(b->op[i].status));
			c->tx_fatal = true;
		}
		if (bad) {
			/* (a packet in the ring of a connection already gone
			 * went with it) */
			if ((j->in_tcp && c->tcp != NULL) || j->buf != NULL)
				dssh_wipe(j->pkt, j->wire);
			if (j->buf != NULL)
				p->ops->tx_buf_put(p->arg, j->buf);
			continue;
		}
		/* Space was promised: the whole packet goes in (in order: one
		 * sealed in place goes only right after those before it; one in
		 * a buffer is held by TCP, our reference is dropped here). */
		if (j->buf != NULL) {
			if (c->tx_fatal ||
			    dssh_tcp_send_ref(c->tcp, j->buf, j->pkt, j->wire) != (ssize_t)j->wire)
				c->tx_fatal = true;
			p->ops->tx_buf_put(p->arg, j->buf);
		} else if (j->in_tcp ? c->tx_fatal ||
		    dssh_tcp_send_commit(c->tcp, j->wire) != (ssize_t)j->wire :
		    dssh_tcp_send(c->tcp, j->pkt, j->wire) != (ssize_t)j->wire)
			c->tx_fatal = true;
		c->round_moved = true;
		p->st.tx_bytes += j->wire;
		p->st.tx_packets++;
	}
}

static void
rec_tx_finish(struct dssh_recpump *p, struct dssh_recpump_conn *c)
{
	bool moved = c->round_moved;

	if (c->tcp == NULL)
		return;
	c->round_moved = false;
	if (c->tx_fatal)
		p->st.errors++;
	p->ops->tx_done(p->arg, c->udata, moved, c->tx_fatal);
}

static void
rec_tx_flush(struct dssh_recpump *p)
{
	struct dssh_recpump_conn *list = p->tx_dirty;

	p->tx_dirty = NULL;
	while (list != NULL) {
		struct dssh_recpump_conn *c, *next, *again = NULL;
		struct rec_batch b;

		b.n = b.nops = 0;
		b.used = 0;
		for (c = list; c != NULL; c = c->tx_next) {
			bool fatal = false;

			c->round_more = c->tcp != NULL &&
			    rec_tx_gather(p, c, &b, &fatal) == REC_MORE;
			c->tx_fatal = c->tx_fatal || fatal;
			if (c->tx_fatal)
				c->round_more = false;
		}
		batch_crypto(p, &b);
		rec_tx_deliver(p, &b);
		for (c = list; c != NULL; c = next) {
			next = c->tx_next;
			if (c->round_more && c->tcp != NULL) {
				c->tx_next = again;
				again = c;
				continue;
			}
			rec_tx_finish(p, c);
			c->tx_dirty = false;
			p->ops->unref(c->udata);
		}
		list = again;
	}
}

void
dssh_recpump_flush(struct dssh_recpump *p)
{
	/* Output may install input keys (RX_KEYS), input may then continue:
	 * a few passes settle it; what is left waits for the next poll. */
	for (unsigned pass = 0; pass < 4 && dssh_recpump_dirty(p); pass++) {
		rec_rx_flush(p);
		rec_tx_flush(p);
	}
	rp_chan_rearm(p, false);
	rp_chan_reap(p);
}
