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
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_pipe.h"
#include "dssh_recpump.h"
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
	struct dssh_dpdk_stream *next, *prev;
	/* The SSH packet layer on the data core (NULL: bytes pass through);
	 * freed with the stream, detached with the connection. */
	struct dssh_recpump_conn *pc;
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
	/* Child fds handed over in channel markers no core read. */
	if (s->pc != NULL)
		dssh_recpump_down_drop(&s->tx);
	dssh_recpump_conn_free(s->pc);
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

static const struct dssh_recpump_ops pump_ops;

int
dp_streams_init(struct dp_streams *ds, struct dssh_dpdk_hub *hub, unsigned core)
{
	struct dssh_recpump_conf pc = {
		.engine = hub != NULL ? hub->rec_engine : NULL, .core = core,
		.stage_size = DP_REC_STAGE, .tx_ref_min = DP_TX_REF_MIN,
		.ops = &pump_ops, .arg = ds,
	};

	memset(ds, 0, sizeof(*ds));
	ds->hub = hub;
	ds->core = core;
	if (hub == NULL || !dssh_dpdk_hub_packet_layer(hub))
		return 0;
	/* The core's own engine instance: nothing shared with other cores. */
	return dssh_recpump_new(&pc, &ds->pump);
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

	dssh_tcp_conn_get_info(conn, &ti);
	if (__atomic_add_fetch(&hub->nstreams, 1, __ATOMIC_RELAXED) > hub->max_streams ||
	    (s = calloc(1, sizeof(*s))) == NULL ||
	    dssh_pipe_init(&s->rx, hub->pipe_bytes) != 0 ||
	    dssh_pipe_init(&s->tx, hub->pipe_bytes) != 0 ||
	    (ds->pump != NULL && dssh_recpump_conn_new(ds->pump, conn, &s->rx, &s->tx,
	    &s->rx_wait, s, ti.rport, &s->pc) != 0)) {
		if (s != NULL) {
			dssh_recpump_conn_free(s->pc);
			dssh_pipe_fini(&s->rx);
			dssh_pipe_fini(&s->tx);
			free(s);
		}
		__atomic_fetch_sub(&hub->nstreams, 1, __ATOMIC_RELAXED);
		ds->refused++;
		dssh_tcp_abort(conn, now_us);
		return;
	}
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
	if (s->pc != NULL)
		dssh_recpump_conn_detach(s->pc);
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

/* The control thread is done: no more input goes up. */
static void
stream_closing(struct dssh_dpdk_stream *s)
{
	s->closing = true;
	if (s->pc != NULL)
		dssh_recpump_conn_close(s->pc);
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

/* ---- the SSH packet layer on the data core (lib/recpump) ----
 *
 * The pump frames, opens and seals; the hub gives it the stream's pipes and
 * answers for the stream: references while it is on the pump's lists,
 * events for the control thread, buffers to seal packets into.
 */

static void
pump_ref(void *udata)
{
	stream_ref(udata);
}

static void
pump_unref(void *udata)
{
	stream_unref(udata);
}

/* After an input round: events for the control thread, end of input. */
static void
pump_rx_done(void *arg, void *udata, bool posted, bool eof)
{
	struct dssh_dpdk_stream *s = udata;

	(void)arg;
	if (posted)
		post_ctl(s, DSSH_DPDK_EV_READABLE);
	if (eof && !__atomic_load_n(&s->peer_eof, __ATOMIC_RELAXED)) {
		__atomic_store_n(&s->peer_eof, 1, __ATOMIC_RELEASE);
		post_ctl(s, DSSH_DPDK_EV_EOF);
	}
}

static void
pump_tx_done(void *arg, void *udata, bool moved, bool fatal)
{
	struct dp_streams *ds = arg;
	struct dssh_dpdk_stream *s = udata;

	if (fatal) {
		stream_detach_tcp(ds, s, true, ds->now_us);
		return;
	}
	if (moved && __atomic_exchange_n(&s->tx_wait, 0, __ATOMIC_SEQ_CST) != 0)
		post_ctl(s, DSSH_DPDK_EV_WRITABLE);
	stream_close_if_drained(ds, s, ds->now_us);
}

/*
 * An mbuf to seal a packet of wire bytes in (the pump asks only for packets
 * worth one), while the core's TCP may hold one more; NULL otherwise.
 */
static void *
pump_tx_buf_get(void *arg, size_t wire, uint8_t **data)
{
	struct dp_streams *ds = arg;
	struct rte_mbuf *m;

	if (ds->tx_mp == NULL || wire > ds->tx_room ||
	    *ds->tx_held + ds->tx_pending >= ds->tx_hold_max ||
	    (m = rte_pktmbuf_alloc(ds->tx_mp)) == NULL)
		return NULL;
	if (rte_pktmbuf_append(m, (uint16_t)wire) == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	ds->tx_pending++;
	*data = rte_pktmbuf_mtod(m, uint8_t *);
	return m;
}

/* The pump's reference: TCP took its own (or the packet was dropped). */
static void
pump_tx_buf_put(void *arg, void *buf)
{
	struct dp_streams *ds = arg;

	ds->tx_pending--;
	rte_pktmbuf_free(buf);
}

/*
 * CHAN_CONNECT: the core's own connection to a forwarding target. Its
 * udata is the pump's tag with the low bit set, which tells the data
 * plane's event loop that the pump, not a stream, owns it; the source
 * port is the stack's choice (conf.port_ok keeps it on this core's queue).
 */
static int
pump_connect(void *arg, uint32_t raddr, uint16_t rport, void *tag, struct dssh_tcp_conn **out)
{
	struct dp_streams *ds = arg;
	int r;

	if (ds->tcp == NULL || ds->laddr == 0)
		return DSSH_ERR_UNSUPPORTED;
	if ((r = dssh_tcp_connect(ds->tcp, ds->laddr, 0, raddr, rport, ds->now_us, out)) != 0)
		return r;
	dssh_tcp_set_udata(*out, (void *)((uintptr_t)tag | 1u));
	return 0;
}

void
dp_streams_target_event(struct dp_streams *ds, void *udata, uint32_t events, uint64_t now_us)
{
	ds->now_us = now_us;
	if (ds->pump != NULL)
		dssh_recpump_chan_tcp_event(ds->pump, (void *)((uintptr_t)udata & ~(uintptr_t)1),
		    events, now_us);
}

void
dp_streams_tick(struct dp_streams *ds, uint64_t now_us)
{
	if (ds->pump != NULL)
		dssh_recpump_chan_timers(ds->pump, now_us);
}

static const struct dssh_recpump_ops pump_ops = {
	.connect = pump_connect,
	.tx_buf_get = pump_tx_buf_get,
	.tx_buf_put = pump_tx_buf_put,
	.ref = pump_ref,
	.unref = pump_unref,
	.rx_done = pump_rx_done,
	.tx_done = pump_tx_done,
};

void
dp_streams_flush(struct dp_streams *ds, uint64_t now_us)
{
	if (ds->pump == NULL)
		return;
	ds->now_us = now_us;
	dssh_recpump_chan_timers(ds->pump, now_us);
	dssh_recpump_flush(ds->pump);
}

void
dp_streams_tcp_event(struct dp_streams *ds, struct dssh_tcp_conn *conn, uint32_t events,
    uint64_t now_us)
{
	struct dssh_dpdk_stream *s = dssh_tcp_udata(conn);

	if (s == NULL)
		return;
	if (s->pc != NULL && !(events & (DSSH_TCP_EV_RESET | DSSH_TCP_EV_CLOSED))) {
		/* Batched: the data plane flushes after this poll's events. */
		dssh_recpump_tcp_event(s->pc, events);
		return;
	}
	if (events & (DSSH_TCP_EV_RESET | DSSH_TCP_EV_CLOSED)) {
		if (!s->closing && (events & DSSH_TCP_EV_READABLE)) {
			if (s->pc != NULL) {
				/* What arrived before the end still goes up. */
				bool gone;

				stream_ref(s);
				dssh_recpump_tcp_event(s->pc,
				    events & (DSSH_TCP_EV_READABLE | DSSH_TCP_EV_PEER_FIN));
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
					stream_closing(s);
				if (s->pc != NULL) {
					if ((req & CORE_RX_SPACE) && !s->closing)
						dssh_recpump_mark(s->pc, true);
					dssh_recpump_mark(s->pc, false);
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

int
dp_streams_chan_fd(const struct dp_streams *ds)
{
	return ds->pump != NULL ? dssh_recpump_chan_fd(ds->pump) : -1;
}

bool
dp_streams_chan_active(const struct dp_streams *ds)
{
	return ds->pump != NULL && dssh_recpump_chan_active(ds->pump);
}

unsigned
dp_streams_chan_poll(struct dp_streams *ds)
{
	return ds->pump != NULL ? dssh_recpump_chan_poll(ds->pump) : 0;
}

const struct dssh_recpump_stats *
dp_streams_pump_stats(const struct dp_streams *ds)
{
	return ds->pump != NULL ? dssh_recpump_stats(ds->pump) : &ds->pump_last;
}

bool
dp_streams_dirty(const struct dp_streams *ds)
{
	return ds->pump != NULL && dssh_recpump_dirty(ds->pump);
}

void
dp_streams_fini(struct dp_streams *ds, uint64_t now_us)
{
	while (ds->list != NULL)
		stream_detach_tcp(ds, ds->list, true, now_us);
	if (ds->pump != NULL)
		ds->pump_last = *dssh_recpump_stats(ds->pump);
	dssh_recpump_free(ds->pump);
	ds->pump = NULL;
}
