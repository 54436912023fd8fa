/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Byte streams between data cores and the control thread. Ownership:
 * a stream starts with two references (data core, control thread); each
 * ring entry holds one more. Whoever drops the last one frees it, so the
 * free may happen on either side (plain malloc, not rte_malloc: the pipes
 * need no DMA memory and hugepage memory may be small).
 *
 * Event flags are the ring's admission ticket: a side posts a stream only
 * when its pending-event word goes from 0 to non-zero, so a stream sits in
 * each ring at most once and a ring of max_streams entries never overflows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp_stream.h"
#include "dssh_buf.h"
#include "dssh_crypto.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_pipe.h"
#include "dssh_record.h"
#include "dssh_util.h"

#define HUB_MAX_CORES 64
#define HUB_BURST 32

/* Requests for the data core. */
enum {
	CORE_TX = 1u << 0,        /* the control thread wrote output */
	CORE_RX_SPACE = 1u << 1,  /* the control thread read after the pipe was full */
	CORE_CLOSE = 1u << 2,     /* the control thread is done */
};

struct dssh_dpdk_stream {
	struct dssh_dpdk_hub *hub;
	struct dssh_dpdk_stream_info info;
	struct dssh_pipe rx;        /* data core -> control */
	struct dssh_pipe tx;        /* control -> data core */
	uint32_t refs;              /* atomic */
	uint32_t ctl_ev;            /* atomic: DSSH_DPDK_EV_* for the control thread */
	uint32_t core_ev;           /* atomic: CORE_* for the data core */
	uint32_t rx_wait;           /* atomic: the data core waits for rx space */
	uint32_t tx_wait;           /* atomic: the control thread waits for tx space */
	uint32_t peer_eof;          /* atomic: no more bytes will arrive in rx */
	bool ctl_closed;            /* control thread only */
	void *udata;                /* control thread only */
	/* Data core only. */
	struct dssh_tcp_conn *tcp;
	bool closing;
	bool fin_seen;              /* the peer's FIN arrived */
	struct dssh_dpdk_stream *next, *prev;
	/* Packet layer on the data core (NULL: bytes pass through). */
	struct dssh_rec *rec;
	uint32_t rx_err;            /* an ERROR record still to deliver */
	bool rx_dirty, tx_dirty;    /* on the core's lists for the next flush */
	struct dssh_dpdk_stream *rx_next, *tx_next;
	size_t round_reserved;      /* pipe/send space promised within a round */
	size_t round_ring;          /* tx: of which in the TCP ring (not in mbufs) */
	bool round_mbuf;            /* tx: a packet of the round is in an mbuf */
	bool round_jobs;            /* packets of this stream in the round's burst */
	bool round_more;            /* wants another round */
	bool round_posted;          /* records went up: READABLE due */
	bool round_moved;           /* packets went out */
	bool rx_starved;            /* input stopped for want of bytes */
	bool tx_fatal;              /* output cannot go on: reset */
};

struct dssh_dpdk_hub {
	int efd;
	unsigned max_streams;
	size_t pipe_bytes;
	uint32_t ready;             /* atomic: rings attached */
	uint32_t wake_pending;      /* atomic: the eventfd was kicked and not drained */
	uint32_t nstreams;          /* atomic */
	unsigned ncores;
	char rec_engine[32];        /* packet layer on the data cores with this engine */
	struct rte_ring *to_ctl;    /* multi-producer (data cores), single consumer */
	struct rte_ring *to_core[HUB_MAX_CORES];   /* single producer, single consumer */
	/*
	 * A data core blocked waiting for RX interrupts sets asleep; whoever
	 * queues work for it then rings its bell (an eventfd it waits on too).
	 */
	struct {
		int fd;
		uint32_t asleep;    /* atomic */
	} bell[HUB_MAX_CORES];
};

/* ---- references ---- */

static void
stream_ref(struct dssh_dpdk_stream *s)
{
	__atomic_fetch_add(&s->refs, 1, __ATOMIC_RELAXED);
}

static void
stream_unref(struct dssh_dpdk_stream *s)
{
	/* acq_rel: every access to the stream by the dropping side happens
	 * before the free on the side that drops the last reference. */
	if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	__atomic_fetch_sub(&s->hub->nstreams, 1, __ATOMIC_RELAXED);
	dssh_pipe_fini(&s->rx);
	dssh_pipe_fini(&s->tx);
	free(s);
}

/* ---- hub ---- */

int
dssh_dpdk_hub_new(unsigned max_streams, size_t pipe_bytes, struct dssh_dpdk_hub **hubp)
{
	struct dssh_dpdk_hub *hub;

	if (max_streams == 0 || pipe_bytes == 0)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((hub = calloc(1, sizeof(*hub))) == NULL)
		return DSSH_ERR_ALLOC;
	if ((hub->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		free(hub);
		return DSSH_ERR_SYSTEM;
	}
	hub->max_streams = max_streams;
	hub->pipe_bytes = pipe_bytes;
	*hubp = hub;
	return 0;
}

void
dssh_dpdk_hub_free(struct dssh_dpdk_hub *hub)
{
	if (hub == NULL)
		return;
	dp_hub_detach(hub);
	close(hub->efd);
	free(hub);
}

int
dssh_dpdk_hub_set_packet_layer(struct dssh_dpdk_hub *hub, const char *engine)
{
	if (engine == NULL) {
		hub->rec_engine[0] = '\0';
		return 0;
	}
	if (strlen(engine) >= sizeof(hub->rec_engine))
		return DSSH_ERR_INVALID_ARGUMENT;
	snprintf(hub->rec_engine, sizeof(hub->rec_engine), "%s", engine);
	return 0;
}

bool
dssh_dpdk_hub_packet_layer(const struct dssh_dpdk_hub *hub)
{
	return hub->rec_engine[0] != '\0';
}

int
dssh_dpdk_hub_fd(const struct dssh_dpdk_hub *hub)
{
	return hub->efd;
}

unsigned
dssh_dpdk_hub_streams(const struct dssh_dpdk_hub *hub)
{
	return __atomic_load_n(&hub->nstreams, __ATOMIC_RELAXED);
}

static unsigned
ring_pow2(unsigned n)
{
	unsigned r = 64;

	while (r < n + 1)
		r <<= 1;
	return r;
}

int
dp_hub_attach(struct dssh_dpdk_hub *hub, unsigned ncores, int socket)
{
	char name[RTE_RING_NAMESIZE];
	unsigned size = ring_pow2(hub->max_streams);

	if (ncores > HUB_MAX_CORES)
		return DSSH_ERR_CONFIG;
	hub->to_ctl = rte_ring_create("dssh_hub_ctl", size, socket, RING_F_SC_DEQ);
	if (hub->to_ctl == NULL)
		return DSSH_ERR_ALLOC;
	for (unsigned i = 0; i < ncores; i++) {
		snprintf(name, sizeof(name), "dssh_hub_core%u", i);
		hub->to_core[i] = rte_ring_create(name, size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (hub->to_core[i] == NULL)
			return DSSH_ERR_ALLOC;
		hub->ncores = i + 1;
		hub->bell[i].asleep = 0;
		if ((hub->bell[i].fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
			return DSSH_ERR_SYSTEM;
	}
	/* Release: the rings exist before the control thread sees ready. */
	__atomic_store_n(&hub->ready, 1, __ATOMIC_RELEASE);
	return 0;
}

static void
ring_drop_all(struct rte_ring *r)
{
	void *p;

	while (r != NULL && rte_ring_dequeue(r, &p) == 0)
		stream_unref(p);
}

void
dp_hub_detach(struct dssh_dpdk_hub *hub)
{
	__atomic_store_n(&hub->ready, 0, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < hub->ncores; i++) {
		ring_drop_all(hub->to_core[i]);
		rte_ring_free(hub->to_core[i]);
		hub->to_core[i] = NULL;
		if (hub->bell[i].fd >= 0)
			close(hub->bell[i].fd);
		hub->bell[i].fd = -1;
	}
	hub->ncores = 0;
	ring_drop_all(hub->to_ctl);
	rte_ring_free(hub->to_ctl);
	hub->to_ctl = NULL;
}

/* Data core → control. */
static void
post_ctl(struct dssh_dpdk_stream *s, uint32_t ev)
{
	struct dssh_dpdk_hub *hub = s->hub;
	uint64_t one = 1;

	if (__atomic_fetch_or(&s->ctl_ev, ev, __ATOMIC_ACQ_REL) != 0)
		return;     /* already queued; the control thread will see the new bits */
	stream_ref(s);
	if (rte_ring_mp_enqueue(hub->to_ctl, s) != 0) {
		/* Cannot happen (one entry per stream, ring > max_streams). */
		dssh_error("stream hub: control ring full");
		stream_unref(s);
		return;
	}
	/* One kick per drain: the control thread clears wake_pending before it
	 * drains, so an entry queued after that either is seen by the drain or
	 * kicks again. */
	if (__atomic_exchange_n(&hub->wake_pending, 1, __ATOMIC_SEQ_CST) == 0 &&
	    write(hub->efd, &one, sizeof(one)) != sizeof(one))
		dssh_debug("stream hub: eventfd write: %s", strerror(errno));
}

/* Wakes data core i if it is blocked waiting for interrupts. */
static void
ring_bell(struct dssh_dpdk_hub *hub, unsigned i)
{
	uint64_t one = 1;

	/* seq_cst: pairs with dp_streams_sleep's store of asleep and its
	 * re-check of the ring (neither side misses the other). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&hub->bell[i].asleep, __ATOMIC_SEQ_CST) &&
	    write(hub->bell[i].fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		dssh_debug("stream hub: bell of core %u: %s", i, strerror(errno));
}

/* Control → data core. */
static void
post_core(struct dssh_dpdk_stream *s, uint32_t req)
{
	struct dssh_dpdk_hub *hub = s->hub;

	if (__atomic_fetch_or(&s->core_ev, req, __ATOMIC_ACQ_REL) != 0)
		return;
	stream_ref(s);
	if (!__atomic_load_n(&hub->ready, __ATOMIC_ACQUIRE) || s->info.core >= hub->ncores ||
	    rte_ring_sp_enqueue(hub->to_core[s->info.core], s) != 0) {
		/* The data plane is gone: nobody will serve the request. */
		stream_unref(s);
		return;
	}
	ring_bell(hub, s->info.core);
}

unsigned
dssh_dpdk_hub_poll(struct dssh_dpdk_hub *hub, struct dssh_dpdk_stream_event *ev, unsigned n)
{
	uint64_t v;
	unsigned k = 0;
	void *obj;

	if (!__atomic_load_n(&hub->ready, __ATOMIC_ACQUIRE))
		return 0;
	if (read(hub->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		dssh_debug("stream hub: eventfd read: %s", strerror(errno));
	/* Cleared before the drain: see post_ctl. */
	__atomic_store_n(&hub->wake_pending, 0, __ATOMIC_SEQ_CST);
	while (k < n && rte_ring_sc_dequeue(hub->to_ctl, &obj) == 0) {
		struct dssh_dpdk_stream *s = obj;
		uint32_t e = __atomic_exchange_n(&s->ctl_ev, 0, __ATOMIC_ACQ_REL);

		/* A stream the control thread closed gets no more events. */
		if (!s->ctl_closed && e != 0) {
			ev[k].stream = s;
			ev[k++].events = e;
		}
		/* The ring's reference; an open stream's own keeps it alive. */
		stream_unref(s);
	}
	return k;
}

/* ---- control thread's side of a stream ---- */

unsigned
dssh_dpdk_stream_peek(struct dssh_dpdk_stream *s, const uint8_t *ptr[2], size_t len[2])
{
	return dssh_pipe_peek(&s->rx, ptr, len);
}

void
dssh_dpdk_stream_consume(struct dssh_dpdk_stream *s, size_t n)
{
	if (n == 0)
		return;
	dssh_pipe_consume(&s->rx, n);
	/* seq_cst pairs with the data core's rx_wait store and re-check. */
	if (__atomic_exchange_n(&s->rx_wait, 0, __ATOMIC_SEQ_CST) != 0)
		post_core(s, CORE_RX_SPACE);
}

size_t
dssh_dpdk_stream_write(struct dssh_dpdk_stream *s, const void *data, size_t n)
{
	size_t done = dssh_pipe_write(&s->tx, data, n);

	if (done < n) {
		__atomic_store_n(&s->tx_wait, 1, __ATOMIC_SEQ_CST);
		/* The data core may have drained the pipe meanwhile. */
		done += dssh_pipe_write(&s->tx, (const uint8_t *)data + done, n - done);
		if (done == n)
			__atomic_store_n(&s->tx_wait, 0, __ATOMIC_SEQ_CST);
	}
	if (done > 0)
		post_core(s, CORE_TX);
	return done;
}

bool
dssh_dpdk_stream_eof(struct dssh_dpdk_stream *s)
{
	/* peer_eof is stored after the last rx commit: acquire, then check. */
	return __atomic_load_n(&s->peer_eof, __ATOMIC_ACQUIRE) && dssh_pipe_readable(&s->rx) == 0;
}

void
dssh_dpdk_stream_get_info(const struct dssh_dpdk_stream *s, struct dssh_dpdk_stream_info *info)
{
	*info = s->info;
}

void
dssh_dpdk_stream_set_udata(struct dssh_dpdk_stream *s, void *udata)
{
	s->udata = udata;
}

void *
dssh_dpdk_stream_udata(const struct dssh_dpdk_stream *s)
{
	return s->udata;
}

void
dssh_dpdk_stream_close(struct dssh_dpdk_stream *s)
{
	s->ctl_closed = true;
	post_core(s, CORE_CLOSE);
	stream_unref(s);
}

/* ---- data core's side ---- */

int
dp_streams_init(struct dp_streams *ds, struct dssh_dpdk_hub *hub, unsigned core)
{
	struct dssh_crypto_engine_conf ec = { .max_burst = DP_REC_BURST, .socket_id = -1 };
	int r;

	memset(ds, 0, sizeof(*ds));
	ds->hub = hub;
	ds->core = core;
	if (hub == NULL || !dssh_dpdk_hub_packet_layer(hub))
		return 0;
	/* The core's own engine instance: nothing shared with other cores. */
	if ((r = dssh_crypto_engine_create(hub->rec_engine, &ec, &ds->engine)) != 0)
		return r;
	ds->stage_size = DP_REC_STAGE;
	if ((ds->stage = malloc(ds->stage_size)) == NULL) {
		dssh_crypto_engine_free(ds->engine);
		ds->engine = NULL;
		return DSSH_ERR_ALLOC;
	}
	return 0;
}

static void
list_add(struct dp_streams *ds, struct dssh_dpdk_stream *s)
{
	s->prev = NULL;
	s->next = ds->list;
	if (ds->list != NULL)
		ds->list->prev = s;
	ds->list = s;
	ds->active++;
}

static void
list_del(struct dp_streams *ds, struct dssh_dpdk_stream *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		ds->list = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	ds->active--;
}

void
dp_streams_accept(struct dp_streams *ds, struct dssh_tcp_conn *conn, uint64_t now_us)
{
	struct dssh_dpdk_hub *hub = ds->hub;
	struct dssh_dpdk_stream *s = NULL;
	struct dssh_tcp_conn_info ti;

	if (__atomic_add_fetch(&hub->nstreams, 1, __ATOMIC_RELAXED) > hub->max_streams ||
	    (s = calloc(1, sizeof(*s))) == NULL ||
	    dssh_pipe_init(&s->rx, hub->pipe_bytes) != 0 ||
	    dssh_pipe_init(&s->tx, hub->pipe_bytes) != 0 ||
	    (ds->engine != NULL && dssh_rec_new(ds->engine, &s->rec) != 0)) {
		if (s != NULL) {
			dssh_rec_free(s->rec);
			dssh_pipe_fini(&s->rx);
			dssh_pipe_fini(&s->tx);
			free(s);
		}
		__atomic_fetch_sub(&hub->nstreams, 1, __ATOMIC_RELAXED);
		ds->refused++;
		dssh_tcp_abort(conn, now_us);
		return;
	}
	dssh_tcp_conn_get_info(conn, &ti);
	s->hub = hub;
	s->refs = 2;
	s->tcp = conn;
	s->info = (struct dssh_dpdk_stream_info){ .laddr = ti.laddr, .raddr = ti.raddr,
	    .lport = ti.lport, .rport = ti.rport, .core = ds->core };
	dssh_tcp_set_udata(conn, s);
	list_add(ds, s);
	ds->opened++;
	post_ctl(s, DSSH_DPDK_EV_OPEN);
}

/* The TCP connection is finished with (or gone): let go of it. */
static void
stream_detach_tcp(struct dp_streams *ds, struct dssh_dpdk_stream *s, bool abort, uint64_t now_us)
{
	struct dssh_tcp_conn *conn = s->tcp;

	s->tcp = NULL;
	/* Its SAs belong to this core's engine, which may go before the
	 * stream does: the packet layer ends with the connection. */
	dssh_rec_free(s->rec);
	s->rec = NULL;
	dssh_tcp_set_udata(conn, NULL);
	if (abort)
		dssh_tcp_abort(conn, now_us);
	else
		dssh_tcp_close(conn, now_us);
	list_del(ds, s);
	if (!__atomic_load_n(&s->peer_eof, __ATOMIC_RELAXED)) {
		__atomic_store_n(&s->peer_eof, 1, __ATOMIC_RELEASE);
		post_ctl(s, DSSH_DPDK_EV_EOF);
	}
	stream_unref(s);    /* the data core's reference */
}

/* TCP receive queue → rx pipe. */
static void
stream_pump_rx(struct dp_streams *ds, struct dssh_dpdk_stream *s)
{
	size_t moved = 0;

	for (;;) {
		const uint8_t *ptr[2];
		size_t len[2], n;

		if (dssh_tcp_peek(s->tcp, ptr, len) == 0 || len[0] == 0)
			break;
		if ((n = dssh_pipe_write(&s->rx, ptr[0], len[0])) > 0) {
			(void)dssh_tcp_consume(s->tcp, n);
			moved += n;
			if (n == len[0])
				continue;
		}
		/* Pipe full: ask for a kick, then look once more in case the
		 * control thread read in between (it checks rx_wait after reading). */
		__atomic_store_n(&s->rx_wait, 1, __ATOMIC_SEQ_CST);
		if (dssh_pipe_writable(&s->rx) == 0)
			break;
		__atomic_store_n(&s->rx_wait, 0, __ATOMIC_SEQ_CST);
	}
	ds->rx_bytes += moved;
	if (moved > 0)
		post_ctl(s, DSSH_DPDK_EV_READABLE);
	if (dssh_tcp_eof(s->tcp) && !__atomic_load_n(&s->peer_eof, __ATOMIC_RELAXED)) {
		/* Release: every rx byte is committed before the flag shows. */
		__atomic_store_n(&s->peer_eof, 1, __ATOMIC_RELEASE);
		post_ctl(s, DSSH_DPDK_EV_EOF);
	}
}

/* Discards what arrives after the control thread closed. */
static void
stream_discard_rx(struct dssh_dpdk_stream *s)
{
	const uint8_t *ptr[2];
	size_t len[2];
	unsigned np;

	while ((np = dssh_tcp_peek(s->tcp, ptr, len)) > 0 && len[0] > 0)
		(void)dssh_tcp_consume(s->tcp, len[0] + (np > 1 ? len[1] : 0));
}

/* A close from the control thread ends once all its output is queued. */
static void
stream_close_if_drained(struct dp_streams *ds, struct dssh_dpdk_stream *s, uint64_t now_us)
{
	if (s->closing && dssh_pipe_readable(&s->tx) == 0) {
		stream_discard_rx(s);
		ds->closed++;
		stream_detach_tcp(ds, s, false, now_us);
	}
}

/* tx pipe → TCP send buffer; finishes a close once everything is queued. */
static void
stream_pump_tx(struct dp_streams *ds, struct dssh_dpdk_stream *s, uint64_t now_us)
{
	size_t moved = 0;

	for (;;) {
		const uint8_t *ptr[2];
		size_t len[2];
		ssize_t n;

		if (dssh_pipe_peek(&s->tx, ptr, len) == 0)
			break;
		if ((n = dssh_tcp_send(s->tcp, ptr[0], len[0])) <= 0)
			break;      /* send buffer full (WRITABLE follows) or closed */
		dssh_pipe_consume(&s->tx, (size_t)n);
		moved += (size_t)n;
		if ((size_t)n < len[0])
			break;
	}
	ds->tx_bytes += moved;
	if (moved > 0 && __atomic_exchange_n(&s->tx_wait, 0, __ATOMIC_SEQ_CST) != 0)
		post_ctl(s, DSSH_DPDK_EV_WRITABLE);
	stream_close_if_drained(ds, s, now_us);
}

/* ---- the SSH packet layer on the data core (see dssh_record.h) ----
 *
 * A flush takes every stream with input or output waiting and processes
 * them in rounds: gather packets from all of them into one burst (copied
 * into the core's staging area), seal or open the burst with the core's
 * engine, then deliver in order (records into the rx pipe, wire bytes into
 * TCP). Space is promised before a packet is taken, so delivery never
 * fails half way. A stream stays for another round when the burst filled
 * up or it reached a barrier (a possible NEWKEYS in input, a marker in
 * output), so one busy connection cannot starve the others.
 */

enum rec_gather { REC_DONE, REC_MORE };

struct rec_job {
	struct dssh_dpdk_stream *s;
	uint8_t *pkt;
	size_t wire;
	size_t len;                 /* tx: payload length */
	bool crypto;
	bool in_tcp;                /* tx: sealed in the TCP send buffer (no copy) */
	struct rte_mbuf *m;         /* tx: sealed in this mbuf, queued by reference */
};

struct rec_batch {
	unsigned n, nops;
	size_t used;
	struct rec_job job[DP_REC_BURST];
	struct dssh_crypto_op op[DP_REC_BURST];
	struct dssh_crypto_op *ops[DP_REC_BURST];
};

static void
mark_dirty(struct dssh_dpdk_stream *s, bool rx, struct dp_streams *ds)
{
	if (rx ? s->rx_dirty : s->tx_dirty)
		return;
	stream_ref(s);      /* the list's */
	if (rx) {
		s->rx_dirty = true;
		s->rx_next = ds->rx_dirty;
		ds->rx_dirty = s;
	} else {
		s->tx_dirty = true;
		s->tx_next = ds->tx_dirty;
		ds->tx_dirty = s;
	}
}

static bool
batch_room(const struct dp_streams *ds, const struct rec_batch *b, size_t wire)
{
	return b->n < DP_REC_BURST && b->used + wire <= ds->stage_size;
}

static struct rec_job *
batch_add(struct dp_streams *ds, struct rec_batch *b, struct dssh_dpdk_stream *s, size_t wire)
{
	struct rec_job *j = &b->job[b->n++];

	j->s = s;
	j->pkt = ds->stage + b->used;
	j->wire = wire;
	j->crypto = false;
	j->in_tcp = false;
	j->m = NULL;
	b->used += (wire + 63) & ~(size_t)63;
	s->round_jobs = true;
	return j;
}

static void
batch_crypto(struct dp_streams *ds, struct rec_batch *b)
{
	for (unsigned i = 0; i < b->n; i++)
		if (b->job[i].crypto)
			b->ops[b->nops++] = &b->op[i];
	if (b->nops > 0) {
		(void)dssh_crypto_process(ds->engine, b->ops, b->nops);
		ds->rec_bursts++;
		ds->rec_burst_ops += b->nops;
	}
}

/* Room in the rx pipe for need more bytes, or a kick asked for. */
static bool
rx_room(struct dssh_dpdk_stream *s, size_t need)
{
	need += s->round_reserved;
	if (dssh_pipe_writable(&s->rx) >= need)
		return true;
	/* seq_cst pairs with the control thread's consume and rx_wait check. */
	__atomic_store_n(&s->rx_wait, 1, __ATOMIC_SEQ_CST);
	if (dssh_pipe_writable(&s->rx) < need)
		return false;
	__atomic_store_n(&s->rx_wait, 0, __ATOMIC_SEQ_CST);
	return true;
}

static void
rec_put_error(struct dssh_dpdk_stream *s)
{
	uint8_t m[DSSH_REC_MARK_HDR + 4];

	if (s->rx_err == 0 || !rx_room(s, sizeof(m)))
		return;
	dssh_put_u32be(m, DSSH_REC_MARK | DSSH_REC_MARK_ERROR);
	dssh_put_u32be(m + 4, 4);
	dssh_put_u32be(m + 8, s->rx_err);
	(void)dssh_pipe_write(&s->rx, m, sizeof(m));
	s->rx_err = 0;
	s->round_posted = true;
}

static void
rec_rx_fail(struct dp_streams *ds, struct dssh_dpdk_stream *s, uint32_t code)
{
	dssh_rec_rx_fail(s->rec);
	s->rx_err = code;
	ds->rec_errors++;
	dssh_debug("core %u: stream %u: input failed: %s", ds->core, s->info.rport,
	    dssh_rec_err_str(code));
}

/* The peer's version line goes up as it came. */
static bool
rec_rx_version(struct dssh_dpdk_stream *s)
{
	const uint8_t *ptr[2];
	size_t len[2], n;

	if (dssh_tcp_peek(s->tcp, ptr, len) == 0 || len[0] == 0)
		return false;
	n = dssh_rec_rx_version(s->rec, ptr[0], len[0]);
	if (!rx_room(s, n))
		return false;
	(void)dssh_pipe_write(&s->rx, ptr[0], n);
	(void)dssh_tcp_consume(s->tcp, n);
	s->round_posted = true;
	return true;
}

/* Takes the stream's complete packets into the burst. */
static enum rec_gather
rec_rx_gather(struct dp_streams *ds, struct dssh_dpdk_stream *s, struct rec_batch *b)
{
	s->round_reserved = 0;
	s->round_jobs = false;
	s->rx_starved = false;
	for (;;) {
		enum dssh_rec_rx_state st = dssh_rec_rx_state(s->rec);
		const uint8_t *ptr[2];
		size_t len[2], avail, wire;
		uint8_t head[DSSH_REC_HEAD];
		uint32_t code;
		int r;

		if (st == DSSH_REC_RX_VERSION) {
			if (!rec_rx_version(s)) {
				s->rx_starved = dssh_tcp_peek(s->tcp, ptr, len) == 0 || len[0] == 0;
				return REC_DONE;
			}
			continue;
		}
		if (st != DSSH_REC_RX_PACKETS)
			return REC_DONE;
		/* The peer's bytes are still in the mbufs they arrived in (the
		 * TCP receive queue holds them): framing reads the length from
		 * there, the packet is copied once, into the burst's staging. */
		avail = dssh_tcp_readable(s->tcp);
		(void)dssh_tcp_copy_out(s->tcp, 0, head, DSSH_MIN(avail, sizeof(head)));
		r = dssh_rec_rx_frame(s->rec, head, avail, &wire, &code);
		if (r == DSSH_ERR_MSG_INCOMPLETE || (r == 0 && avail < wire)) {
			s->rx_starved = true;
			return REC_DONE;
		}
		if (r != 0) {
			rec_rx_fail(ds, s, code);
			return REC_DONE;
		}
		if (!batch_room(ds, b, wire))
			return REC_MORE;
		if (!rx_room(s, DSSH_REC_HDR + wire))
			return REC_DONE;
		struct rec_job *j = batch_add(ds, b, s, wire);

		if (dssh_tcp_copy_out(s->tcp, 0, j->pkt, wire) != wire) {
			rec_rx_fail(ds, s, DSSH_REC_ERR_CRYPTO);     /* cannot happen: avail >= wire */
			return REC_DONE;
		}
		(void)dssh_tcp_consume(s->tcp, wire);
		j->crypto = dssh_rec_rx_op(s->rec, j->pkt, wire, &b->op[b->n - 1]);
		s->round_reserved += DSSH_REC_HDR + wire;
		if (dssh_rec_rx_barrier(wire))
			return REC_MORE;
	}
}

/* Opened packets go up as records, in order. */
static void
rec_rx_deliver(struct dp_streams *ds, struct rec_batch *b)
{
	for (unsigned i = 0; i < b->n; i++) {
		struct rec_job *j = &b->job[i];
		struct dssh_dpdk_stream *s = j->s;
		const uint8_t *payload;
		size_t len;
		uint32_t code;
		uint8_t hdr[DSSH_REC_HDR];

		if (dssh_rec_rx_state(s->rec) == DSSH_REC_RX_FAILED) {
			dssh_wipe(j->pkt, j->wire);     /* after a failed one: dropped */
			continue;
		}
		if (dssh_rec_rx_done(s->rec, j->pkt, j->crypto ? b->op[i].status : 0, &payload, &len,
		    &code) != 0) {
			rec_rx_fail(ds, s, code);
		} else {
			dssh_put_u32be(hdr, (uint32_t)len);
			(void)dssh_pipe_write(&s->rx, hdr, sizeof(hdr));
			(void)dssh_pipe_write(&s->rx, payload, len);
			s->round_posted = true;
			ds->rec_rx_pkts++;
			ds->rx_bytes += j->wire;
		}
		dssh_wipe(j->pkt, j->wire);
	}
}

/* After its last round: events for the control thread, end of input. */
static void
rec_rx_finish(struct dssh_dpdk_stream *s)
{
	enum dssh_rec_rx_state st;

	if (s->tcp == NULL)
		return;
	rec_put_error(s);
	st = dssh_rec_rx_state(s->rec);
	if (st == DSSH_REC_RX_FAILED)
		stream_discard_rx(s);
	if (s->round_posted)
		post_ctl(s, DSSH_DPDK_EV_READABLE);
	s->round_posted = false;
	/* A packet cut short by the peer's FIN will never complete. */
	if (s->fin_seen && s->rx_starved && st != DSSH_REC_RX_WAIT_KEYS)
		stream_discard_rx(s);
	if (dssh_tcp_eof(s->tcp) && s->rx_err == 0 &&
	    !__atomic_load_n(&s->peer_eof, __ATOMIC_RELAXED)) {
		__atomic_store_n(&s->peer_eof, 1, __ATOMIC_RELEASE);
		post_ctl(s, DSSH_DPDK_EV_EOF);
	}
}

static void
rec_rx_flush(struct dp_streams *ds)
{
	struct dssh_dpdk_stream *list = ds->rx_dirty;

	ds->rx_dirty = NULL;
	while (list != NULL) {
		struct dssh_dpdk_stream *s, *next, *again = NULL;
		struct rec_batch b;

		b.n = b.nops = 0;
		b.used = 0;
		for (s = list; s != NULL; s = s->rx_next)
			s->round_more = s->tcp != NULL && !s->closing &&
			    rec_rx_gather(ds, s, &b) == REC_MORE;
		batch_crypto(ds, &b);
		rec_rx_deliver(ds, &b);
		for (s = list; s != NULL; s = next) {
			next = s->rx_next;
			if (s->round_more && s->tcp != NULL) {
				s->rx_next = again;
				again = s;
				continue;
			}
			rec_rx_finish(s);
			s->rx_dirty = false;
			stream_unref(s);
		}
		list = again;
	}
}

/* A marker from the engine, applied in stream order. False: stop here. */
static bool
rec_tx_marker(struct dp_streams *ds, struct dssh_dpdk_stream *s, uint32_t kind, size_t n,
    bool *fatal)
{
	uint8_t body[DP_REC_MARK_MAX];
	int r = 0;

	if (kind == DSSH_REC_MARK_RAW &&
	    dssh_tcp_send_space(s->tcp, n) < s->round_reserved + n)
		return false;
	(void)dssh_pipe_copy_out(&s->tx, DSSH_REC_MARK_HDR, body, n);
	switch (kind) {
	case DSSH_REC_MARK_RAW:
		if (dssh_tcp_send(s->tcp, body, n) != (ssize_t)n)
			r = DSSH_ERR_CONN_CLOSED;
		ds->tx_bytes += n;
		break;
	case DSSH_REC_MARK_TX_KEYS:
	case DSSH_REC_MARK_RX_KEYS:
		r = dssh_rec_set_keys(s->rec, (enum dssh_rec_mark)kind, body, n);
		if (r == 0 && kind == DSSH_REC_MARK_RX_KEYS)
			mark_dirty(s, true, ds);     /* input resumes */
		break;
	default:
		r = DSSH_ERR_INVALID_FORMAT;
	}
	dssh_wipe(body, n);
	dssh_pipe_consume_wipe(&s->tx, DSSH_REC_MARK_HDR + n);
	if (r != 0) {
		dssh_error("core %u: stream %u: record marker %u: %s", ds->core, s->info.rport,
		    kind, dssh_err_str(r));
		*fatal = true;
		return false;
	}
	return true;
}

/*
 * An mbuf to seal a packet of wire bytes in, when it is worth one (not a
 * short packet: those are sealed in the TCP ring, one copy less than
 * before anyway) and the core's TCP may hold one more; NULL otherwise.
 */
static struct rte_mbuf *
rec_tx_mbuf(struct dp_streams *ds, size_t wire)
{
	struct rte_mbuf *m;

	if (ds->tx_mp == NULL || wire < DP_TX_REF_MIN || wire > ds->tx_room ||
	    *ds->tx_held + ds->tx_pending >= ds->tx_hold_max ||
	    (m = rte_pktmbuf_alloc(ds->tx_mp)) == NULL)
		return NULL;
	if (rte_pktmbuf_append(m, (uint16_t)wire) == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	ds->tx_pending++;
	return m;
}

/* Takes the engine's complete records into the burst. */
static enum rec_gather
rec_tx_gather(struct dp_streams *ds, struct dssh_dpdk_stream *s, struct rec_batch *b,
    bool *fatal)
{
	s->round_reserved = 0;
	s->round_ring = 0;
	s->round_mbuf = false;
	s->round_jobs = false;
	for (;;) {
		size_t avail = dssh_pipe_readable(&s->tx), wire, space;
		uint8_t hdr[DSSH_REC_MARK_HDR];
		uint32_t w;

		if (avail < DSSH_REC_HDR)
			return REC_DONE;
		(void)dssh_pipe_copy_out(&s->tx, 0, hdr, DSSH_MIN(avail, sizeof(hdr)));
		w = dssh_get_u32be(hdr);
		if (w & DSSH_REC_MARK) {
			size_t n;

			if (avail < DSSH_REC_MARK_HDR)
				return REC_DONE;
			n = dssh_get_u32be(hdr + 4);
			if ((w & ~(DSSH_REC_MARK | 0xffu)) != 0 || n > DP_REC_MARK_MAX) {
				*fatal = true;
				return REC_DONE;
			}
			if (avail < DSSH_REC_MARK_HDR + n)
				return REC_DONE;
			/* Keys change after the packets before them: those go first. */
			if (s->round_jobs)
				return REC_MORE;
			if (!rec_tx_marker(ds, s, w & 0xffu, n, fatal))
				return REC_DONE;
			continue;
		}
		if (w == 0 || w > DSSH_REC_PACKET_MAX) {
			*fatal = true;
			return REC_DONE;
		}
		if (avail < DSSH_REC_HDR + w)
			return REC_DONE;
		wire = dssh_rec_tx_wire_len(s->rec, w);
		space = dssh_tcp_send_space(s->tcp, s->round_reserved + wire);
		if (space < s->round_reserved + wire)
			return REC_DONE;        /* WRITABLE follows */
		if (!batch_room(ds, b, wire))
			return REC_MORE;
		struct rec_job *j = batch_add(ds, b, s, wire);
		struct rte_mbuf *m = rec_tx_mbuf(ds, wire);
		uint8_t *dst;

		if (m != NULL) {
			/* Sealed in its own mbuf, which TCP then holds (frames
			 * reference it: no copy after sealing). */
			b->used -= (wire + 63) & ~(size_t)63;
			j->pkt = rte_pktmbuf_mtod(m, uint8_t *);
			j->m = m;
			s->round_mbuf = true;
		} else if (!s->round_mbuf &&
		    (dst = dssh_tcp_send_buf(s->tcp, s->round_ring, wire)) != NULL) {
			/* Sealed where TCP keeps it when that space is contiguous
			 * (the ring packets before it in this round are reserved
			 * ahead of it). Not after a packet in an mbuf: should TCP
			 * copy that one (no hold), it would land on this space. */
			b->used -= (wire + 63) & ~(size_t)63;
			j->pkt = dst;
			j->in_tcp = true;
		}
		if (m == NULL)
			s->round_ring += wire;
		j->len = w;
		(void)dssh_pipe_copy_out(&s->tx, DSSH_REC_HDR, j->pkt + DSSH_REC_TX_PAYLOAD, w);
		dssh_pipe_consume(&s->tx, DSSH_REC_HDR + w);
		j->crypto = dssh_rec_tx_op(s->rec, j->pkt, w, &b->op[b->n - 1]);
		s->round_reserved += wire;
	}
}

static void
rec_tx_deliver(struct dp_streams *ds, struct rec_batch *b)
{
	for (unsigned i = 0; i < b->n; i++) {
		struct rec_job *j = &b->job[i];
		struct dssh_dpdk_stream *s = j->s;
		bool bad = s->tcp == NULL || (j->crypto && b->op[i].status != 0);

		if (bad && s->tcp != NULL) {
			dssh_error("core %u: stream %u: seal failed: %s", ds->core, s->info.rport,
			    dssh_err_str(b->op[i].status));
			s->tx_fatal = true;
		}
		if (j->m != NULL)
			ds->tx_pending--;
		if (bad) {
			/* (a packet in the ring of a connection already gone
			 * went with it) */
			if ((j->in_tcp && s->tcp != NULL) || j->m != NULL)
				dssh_wipe(j->pkt, j->wire);
			rte_pktmbuf_free(j->m);
			continue;
		}
		/* Space was promised: the whole packet goes in (in order: one
		 * sealed in place goes only right after those before it; one in
		 * an mbuf is held by TCP, our reference is dropped here). */
		if (j->m != NULL) {
			if (s->tx_fatal ||
			    dssh_tcp_send_ref(s->tcp, j->m, j->pkt, j->wire) != (ssize_t)j->wire)
				s->tx_fatal = true;
			rte_pktmbuf_free(j->m);
		} else if (j->in_tcp ? s->tx_fatal ||
		    dssh_tcp_send_commit(s->tcp, j->wire) != (ssize_t)j->wire :
		    dssh_tcp_send(s->tcp, j->pkt, j->wire) != (ssize_t)j->wire)
			s->tx_fatal = true;
		s->round_moved = true;
		ds->tx_bytes += j->wire;
		ds->rec_tx_pkts++;
	}
}

static void
rec_tx_finish(struct dp_streams *ds, struct dssh_dpdk_stream *s, uint64_t now_us)
{
	if (s->tcp == NULL)
		return;
	if (s->tx_fatal) {
		ds->rec_errors++;
		stream_detach_tcp(ds, s, true, now_us);
		return;
	}
	if (s->round_moved && __atomic_exchange_n(&s->tx_wait, 0, __ATOMIC_SEQ_CST) != 0)
		post_ctl(s, DSSH_DPDK_EV_WRITABLE);
	s->round_moved = false;
	stream_close_if_drained(ds, s, now_us);
}

static void
rec_tx_flush(struct dp_streams *ds, uint64_t now_us)
{
	struct dssh_dpdk_stream *list = ds->tx_dirty;

	ds->tx_dirty = NULL;
	while (list != NULL) {
		struct dssh_dpdk_stream *s, *next, *again = NULL;
		struct rec_batch b;

		b.n = b.nops = 0;
		b.used = 0;
		for (s = list; s != NULL; s = s->tx_next) {
			bool fatal = false;

			s->round_more = s->tcp != NULL &&
			    rec_tx_gather(ds, s, &b, &fatal) == REC_MORE;
			s->tx_fatal = s->tx_fatal || fatal;
			if (s->tx_fatal)
				s->round_more = false;
		}
		batch_crypto(ds, &b);
		rec_tx_deliver(ds, &b);
		for (s = list; s != NULL; s = next) {
			next = s->tx_next;
			if (s->round_more && s->tcp != NULL) {
				s->tx_next = again;
				again = s;
				continue;
			}
			rec_tx_finish(ds, s, now_us);
			s->tx_dirty = false;
			stream_unref(s);
		}
		list = again;
	}
}

void
dp_streams_flush(struct dp_streams *ds, uint64_t now_us)
{
	/* Output may install input keys (RX_KEYS), input may then continue:
	 * a few passes settle it; what is left waits for the next poll. */
	for (unsigned pass = 0; pass < 4 && (ds->rx_dirty != NULL || ds->tx_dirty != NULL); pass++) {
		rec_rx_flush(ds);
		rec_tx_flush(ds, now_us);
	}
}

void
dp_streams_tcp_event(struct dp_streams *ds, struct dssh_tcp_conn *conn, uint32_t events,
    uint64_t now_us)
{
	struct dssh_dpdk_stream *s = dssh_tcp_udata(conn);

	if (s == NULL)
		return;
	if (events & DSSH_TCP_EV_PEER_FIN)
		s->fin_seen = true;
	if (s->rec != NULL && !(events & (DSSH_TCP_EV_RESET | DSSH_TCP_EV_CLOSED))) {
		/* Batched: the data plane flushes after this poll's events. */
		if (events & (DSSH_TCP_EV_READABLE | DSSH_TCP_EV_PEER_FIN))
			mark_dirty(s, true, ds);
		if (events & DSSH_TCP_EV_WRITABLE)
			mark_dirty(s, false, ds);
		return;
	}
	if (events & (DSSH_TCP_EV_RESET | DSSH_TCP_EV_CLOSED)) {
		if (!s->closing && (events & DSSH_TCP_EV_READABLE)) {
			if (s->rec != NULL) {
				/* What arrived before the end still goes up. */
				bool gone;

				stream_ref(s);
				mark_dirty(s, true, ds);
				dp_streams_flush(ds, now_us);
				gone = s->tcp == NULL;
				stream_unref(s);
				if (gone)
					return;
			} else {
				stream_pump_rx(ds, s);
			}
		}
		ds->gone++;
		stream_detach_tcp(ds, s, false, now_us);
		return;
	}
	if (s->closing) {
		stream_discard_rx(s);
		stream_pump_tx(ds, s, now_us);
		return;
	}
	if (events & (DSSH_TCP_EV_READABLE | DSSH_TCP_EV_PEER_FIN))
		stream_pump_rx(ds, s);
	if (events & DSSH_TCP_EV_WRITABLE)
		stream_pump_tx(ds, s, now_us);
}

bool
dp_streams_pending(const struct dp_streams *ds)
{
	return rte_ring_count(ds->hub->to_core[ds->core]) > 0;
}

int
dp_streams_bell_fd(const struct dp_streams *ds)
{
	return ds->hub->bell[ds->core].fd;
}

bool
dp_streams_sleep(struct dp_streams *ds, bool on)
{
	struct dssh_dpdk_hub *hub = ds->hub;
	uint64_t v;

	if (!on) {
		__atomic_store_n(&hub->bell[ds->core].asleep, 0, __ATOMIC_SEQ_CST);
		if (read(hub->bell[ds->core].fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			dssh_debug("stream hub: bell of core %u: %s", ds->core, strerror(errno));
		return true;
	}
	__atomic_store_n(&hub->bell[ds->core].asleep, 1, __ATOMIC_SEQ_CST);
	/* Work queued before asleep was seen: do not block. */
	if (dp_streams_pending(ds) || dp_streams_dirty(ds)) {
		__atomic_store_n(&hub->bell[ds->core].asleep, 0, __ATOMIC_SEQ_CST);
		return false;
	}
	return true;
}

void
dp_streams_poll(struct dp_streams *ds, uint64_t now_us)
{
	struct dssh_dpdk_hub *hub = ds->hub;
	void *objs[HUB_BURST];
	unsigned n;

	do {
		n = rte_ring_sc_dequeue_burst(hub->to_core[ds->core], objs, HUB_BURST, NULL);
		for (unsigned i = 0; i < n; i++) {
			struct dssh_dpdk_stream *s = objs[i];
			uint32_t req = __atomic_exchange_n(&s->core_ev, 0, __ATOMIC_ACQ_REL);

			if (s->tcp != NULL) {
				if (req & CORE_CLOSE)
					s->closing = true;
				if (s->rec != NULL) {
					if ((req & CORE_RX_SPACE) && !s->closing)
						mark_dirty(s, true, ds);
					mark_dirty(s, false, ds);
				} else {
					if ((req & CORE_RX_SPACE) && !s->closing)
						stream_pump_rx(ds, s);
					if (s->tcp != NULL)
						stream_pump_tx(ds, s, now_us);
				}
			}
			stream_unref(s);    /* the ring's reference */
		}
	} while (n == HUB_BURST);
	dp_streams_flush(ds, now_us);
}

bool
dp_streams_dirty(const struct dp_streams *ds)
{
	return ds->rx_dirty != NULL || ds->tx_dirty != NULL;
}

static void
drop_dirty(struct dssh_dpdk_stream *list, bool rx)
{
	while (list != NULL) {
		struct dssh_dpdk_stream *next = rx ? list->rx_next : list->tx_next;

		if (rx)
			list->rx_dirty = false;
		else
			list->tx_dirty = false;
		stream_unref(list);
		list = next;
	}
}

void
dp_streams_fini(struct dp_streams *ds, uint64_t now_us)
{
	while (ds->list != NULL)
		stream_detach_tcp(ds, ds->list, true, now_us);
	drop_dirty(ds->rx_dirty, true);
	drop_dirty(ds->tx_dirty, false);
	ds->rx_dirty = ds->tx_dirty = NULL;
	if (ds->stage != NULL)
		dssh_wipe(ds->stage, ds->stage_size);
	free(ds->stage);
	ds->stage = NULL;
	dssh_crypto_engine_free(ds->engine);
	ds->engine = NULL;
}
