/* SPDX-License-Identifier: BSD-3-Clause */
/* Minimal in-process SSH-2 client for the engine tests and fuzzers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_kex.h"
#include "dssh_pipe.h"
#include "dssh_record.h"
#include "dssh_recpump.h"
#include "dssh_tcp.h"
#include "dssh_sshkey.h"
#include "dssh_util.h"
#include "ssh_internal.h"
#include "test_client.h"

#define TC_VERSION "SSH-2.0-dssh_test_client"
#define TC_PACKET_MAX (256u * 1024 + 64)

/*
 * ---- the data core between client and server (record_offload) ----
 *
 * As dsshd's data plane runs it, with nothing faked but the NIC: the
 * client's wire bytes go over a lib/tcp connection to a second stack (joined
 * in memory, segments delivered in order 1 ms later); that connection goes
 * through a data core's record pump (lib/recpump, its own engine instance)
 * and two byte pipes to the server engine in record-offload mode. Each
 * feed or pull runs it all until nothing moves and nothing is in flight.
 */
#define SHIM_PORT 22
#define SHIM_ADDR_C 0x0a000001u
#define SHIM_ADDR_S 0x0a000002u
#define SHIM_DELAY_US 1000

static void shim_run(struct tc_shim *s);

struct shim_seg {
	uint64_t due;
	uint32_t saddr, daddr, len;
	uint8_t data[1600];
};

/* A driver buffer with references, as an mbuf. */
struct shim_buf {
	int refs;
	size_t len;
	uint8_t data[];
};

static void
shim_buf_unref(struct tc_shim *s, struct shim_buf *b)
{
	if (b->refs <= 0) {
		s->bad++;
		return;
	}
	if (--b->refs == 0) {
		memset(b->data, 0xdd, b->len);   /* a stale pointer shows as wrong bytes */
		free(b);
		s->buf_live--;
	}
}

static bool
shim_tcp_hold(void *arg, void *buf)
{
	struct tc_shim *s = arg;

	((struct shim_buf *)buf)->refs++;
	s->buf_held++;
	s->buf_holds++;
	return true;
}

static void
shim_tcp_release(void *arg, void *buf)
{
	struct tc_shim *s = arg;

	s->buf_held--;
	s->buf_releases++;
	shim_buf_unref(s, buf);
}

static const struct dssh_tcp_buf_ops shim_tcp_buf_ops = {
	.hold = shim_tcp_hold, .release = shim_tcp_release,
};

static void
shim_ref(void *udata)
{
	((struct tc_shim *)udata)->refs++;
}

static void
shim_unref(void *udata)
{
	struct tc_shim *s = udata;

	if (s->refs <= 0)
		s->bad++;
	s->refs--;
}

static void
shim_rx_done(void *arg, void *udata, bool posted, bool eof)
{
	struct tc_shim *s = arg;

	if (udata != s)
		s->bad++;
	s->rx_posted += posted;
	s->eof_up = s->eof_up || eof;
}

/* The data core lets the connection go: reset, or closed once drained. */
static void
shim_let_go(struct tc_shim *s, bool abort)
{
	s->rx_state = dssh_rec_rx_state(dssh_recpump_conn_rec(s->pc));
	dssh_recpump_conn_detach(s->pc);
	dssh_tcp_set_udata(s->cb, NULL);
	if (abort)
		dssh_tcp_abort(s->cb, s->now);
	else
		dssh_tcp_close(s->cb, s->now);
	s->cb = NULL;
}

static void
shim_tx_done(void *arg, void *udata, bool moved, bool fatal)
{
	struct tc_shim *s = arg;

	if (udata != s)
		s->bad++;
	s->tx_moved += moved;
	if (fatal) {
		s->fault = DSSH_ERR_INVALID_FORMAT;     /* a record the pump refused */
		shim_let_go(s, true);
		return;
	}
	if (s->closing && dssh_pipe_readable(&s->down) == 0)
		shim_let_go(s, false);
}

static void *
shim_tx_buf_get(void *arg, size_t wire, uint8_t **data)
{
	struct tc_shim *s = arg;
	struct shim_buf *b;

	if (!s->by_ref || (b = calloc(1, sizeof(*b) + wire)) == NULL)
		return NULL;
	b->refs = 1;
	b->len = wire;
	memset(b->data, 0xee, wire);
	s->buf_live++;
	s->bufs_got++;
	*data = b->data;
	return b;
}

static void
shim_tx_buf_put(void *arg, void *buf)
{
	shim_buf_unref(arg, buf);
}

static const struct dssh_recpump_ops shim_pump_ops = {
	.tx_buf_get = shim_tx_buf_get,
	.tx_buf_put = shim_tx_buf_put,
	.ref = shim_ref,
	.unref = shim_unref,
	.rx_done = shim_rx_done,
	.tx_done = shim_tx_done,
};

static void
wire_put(struct tc_shim *s, struct tc_wire *w, const struct dssh_tcp_seg_out *o)
{
	struct shim_seg *g;
	size_t off;

	if (w->head > 0 && w->head == w->n)
		w->head = w->n = 0;
	if (w->n == w->cap) {
		struct shim_seg *q = realloc(w->q, (w->cap ? w->cap * 2 : 256) * sizeof(*q));

		if (q == NULL) {
			s->bad++;
			return;
		}
		w->q = q;
		w->cap = w->cap ? w->cap * 2 : 256;
	}
	g = &w->q[w->n];
	if ((size_t)o->hdr_len + o->len > sizeof(g->data)) {
		s->bad++;       /* no TSO here */
		return;
	}
	memcpy(g->data, o->hdr, o->hdr_len);
	off = o->hdr_len;
	for (unsigned j = 0; j < o->npay; j++) {
		memcpy(g->data + off, o->pay[j], o->pay_len[j]);
		off += o->pay_len[j];
	}
	g->len = (uint32_t)off;
	g->saddr = o->saddr;
	g->daddr = o->daddr;
	g->due = s->now + SHIM_DELAY_US;
	w->n++;
}

static void
wire_pump(struct tc_shim *s, struct dssh_tcp_stack *st, struct tc_wire *w)
{
	struct dssh_tcp_seg_out o[32];
	unsigned n;

	do {
		n = dssh_tcp_output(st, o, 32, s->now);
		for (unsigned i = 0; i < n; i++)
			wire_put(s, w, &o[i]);
	} while (n == 32);
}

static void
wire_deliver(struct tc_shim *s, struct tc_wire *w, struct dssh_tcp_stack *dst)
{
	while (w->head < w->n && w->q[w->head].due <= s->now) {
		struct shim_seg *g = &w->q[w->head++];
		struct dssh_tcp_seg_in in = { .saddr = g->saddr, .daddr = g->daddr, .data = g->data,
		    .len = g->len };

		if (dssh_tcp_input(dst, &in, s->now) != 0)
			s->bad++;
	}
}

static size_t
wire_inflight(const struct tc_wire *w)
{
	return w->n - w->head;
}

static int
shim_new(struct tc *t, struct dssh_crypto_engine *e)
{
	struct tc_shim *s = calloc(1, sizeof(*s));
	struct dssh_recpump_conf pc = { .engine = dssh_crypto_engine_name(e), .ops = &shim_pump_ops };
	struct dssh_tcp_conf tconf;
	int r;

	if (s == NULL)
		return DSSH_ERR_ALLOC;
	t->shim = s;
	pc.arg = s;
	s->t = t;
	s->now = 1000000;
	s->by_ref = t->conf.pump_by_ref;
	s->up_read_max = t->conf.pump_up_read;
	dssh_buf_init(&s->cli_out, 0);
	dssh_buf_init(&s->upbuf, 0);
	dssh_tcp_conf_default(&tconf);
	tconf.sndbuf = 512 * 1024;
	if ((r = dssh_tcp_stack_new(&tconf, &s->sa)) != 0)
		return r;
	if (s->by_ref) {
		tconf.tx_buf_ops = &shim_tcp_buf_ops;
		tconf.tx_buf_arg = s;
	}
	if ((r = dssh_tcp_stack_new(&tconf, &s->sb)) != 0 ||
	    (r = dssh_tcp_listen(s->sb, 0, SHIM_PORT)) != 0 ||
	    (r = dssh_tcp_connect(s->sa, SHIM_ADDR_C, 0, SHIM_ADDR_S, SHIM_PORT, s->now, &s->ca)) != 0 ||
	    (r = dssh_pipe_init(&s->up, t->conf.pump_up_size ? t->conf.pump_up_size : 1u << 20)) != 0 ||
	    (r = dssh_pipe_init(&s->down, 512 * 1024)) != 0 ||
	    (r = dssh_recpump_new(&pc, &s->pump)) != 0)
		return r;
	dssh_conn_set_record_offload(t->srv);
	shim_run(s);
	return s->pc != NULL ? 0 : DSSH_ERR_CONN_CLOSED;
}

/* The server stack's events: the accept, then the pump's. */
static void
shim_server_events(struct tc_shim *s)
{
	struct dssh_tcp_event ev[16];
	unsigned n;

	while ((n = dssh_tcp_events(s->sb, ev, 16)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			uint32_t e = ev[i].events;

			if ((e & DSSH_TCP_EV_ACCEPTED) && s->pc == NULL) {
				s->cb = ev[i].conn;
				if (dssh_recpump_conn_new(s->pump, s->cb, &s->up, &s->down, &s->up_wait, s,
				    SHIM_PORT, &s->pc) != 0) {
					s->bad++;
					dssh_tcp_abort(s->cb, s->now);
					s->cb = NULL;
					continue;
				}
				dssh_tcp_set_udata(s->cb, s);
			}
			if (dssh_tcp_udata(ev[i].conn) != s)
				continue;
			if (e & (DSSH_TCP_EV_RESET | DSSH_TCP_EV_CLOSED)) {
				/* What arrived before the end still goes up. */
				if (e & DSSH_TCP_EV_READABLE) {
					dssh_recpump_tcp_event(s->pc, e & (DSSH_TCP_EV_READABLE |
					    DSSH_TCP_EV_PEER_FIN));
					dssh_recpump_flush(s->pump);
				}
				if (s->cb != NULL)
					shim_let_go(s, false);
				continue;
			}
			dssh_recpump_tcp_event(s->pc, e);
		}
	}
}

static void
shim_up_error(struct tc_shim *s, const uint8_t *rec, size_t len)
{
	if (dssh_get_u32be(rec) != (DSSH_REC_MARK | DSSH_REC_MARK_ERROR) ||
	    len != DSSH_REC_MARK_HDR + 4) {
		s->bad++;
		return;
	}
	s->error_sent = dssh_get_u32be(rec + DSSH_REC_MARK_HDR);
}

/* Whole records of up to the engine (a closed one takes nothing), counted. */
static bool
shim_engine_input(struct tc_shim *s)
{
	const uint8_t *ptr[2];
	size_t len[2], used = 0, take = 0;
	unsigned np = dssh_pipe_peek(&s->up, ptr, len);

	for (unsigned i = 0; i < np; i++)
		take += len[i];
	if (s->up_read_max != 0)
		take = DSSH_MIN(take, s->up_read_max);
	for (unsigned i = 0; i < np && take > 0; i++) {
		size_t k = DSSH_MIN(take, len[i]);

		dssh_buf_put(&s->upbuf, ptr[i], k);
		dssh_pipe_consume(&s->up, k);
		take -= k;
	}
	/* The reader's half of the flow control (as the hub's consume). */
	if (__atomic_exchange_n(&s->up_wait, 0, __ATOMIC_SEQ_CST) != 0) {
		s->up_kicks++;
		if (s->cb != NULL && !s->closing)
			dssh_recpump_mark(s->pc, true);
	}
	for (;;) {
		const uint8_t *p = dssh_buf_ptr(&s->upbuf) + used;
		size_t left = dssh_buf_len(&s->upbuf) - used, rl;
		const uint8_t *nl;

		if (!s->version_up) {
			/* Raw, as it came: up to the LF, or all of a line too long
			 * (the pump passes DSSH_REC_VERSION_MAX bytes, then stops). */
			if ((nl = memchr(p, '\n', left)) != NULL) {
				rl = (size_t)(nl - p) + 1;
				s->version_up = true;
			} else {
				rl = left;
			}
			if (rl == 0)
				break;
		} else if (left < DSSH_REC_HDR) {
			break;
		} else if (dssh_get_u32be(p) & DSSH_REC_MARK) {
			if (left < DSSH_REC_MARK_HDR || left - DSSH_REC_MARK_HDR < dssh_get_u32be(p + 4))
				break;
			rl = DSSH_REC_MARK_HDR + dssh_get_u32be(p + 4);
			uint32_t kind = dssh_get_u32be(p) & ~DSSH_REC_MARK;

			if ((kind >= DSSH_REC_MARK_CHAN_OFFLOADED && kind <= DSSH_REC_MARK_CHAN_COUNT) ||
			    kind == DSSH_REC_MARK_CHAN_CONNECTED)
				s->chan_up[kind]++;     /* channel offload: the engine's */
			else
				shim_up_error(s, p, rl);
		} else {
			if (left - DSSH_REC_HDR < dssh_get_u32be(p))
				break;
			rl = DSSH_REC_HDR + dssh_get_u32be(p);
			s->packets_up++;
		}
		if (!dssh_conn_closing(s->t->srv)) {
			int r = dssh_conn_input(s->t->srv, p, rl, s->t->now_ms);

			if (s->rc == 0)
				s->rc = r;
		}
		used += rl;
	}
	dssh_buf_consume(&s->upbuf, used);
	return np > 0;
}

/* How much of the engine's output (at p, n bytes) is whole records. */
static size_t
shim_down_records(struct tc_shim *s, const uint8_t *p, size_t n)
{
	size_t used = 0;

	while (n - used >= DSSH_REC_HDR) {
		const uint8_t *rec = p + used;
		uint32_t w = dssh_get_u32be(rec);
		size_t rl;

		if (w & DSSH_REC_MARK) {
			if (n - used < DSSH_REC_MARK_HDR ||
			    n - used - DSSH_REC_MARK_HDR < dssh_get_u32be(rec + 4))
				break;
			rl = DSSH_REC_MARK_HDR + dssh_get_u32be(rec + 4);
		} else {
			rl = DSSH_REC_HDR + (size_t)w;
			if (n - used < rl)
				break;
		}
		if (rl > dssh_pipe_writable(&s->down))
			break;
		if (w & DSSH_REC_MARK) {
			s->markers_down++;
			if ((w & ~DSSH_REC_MARK) == DSSH_REC_MARK_RAW)
				s->raw_down += rl - DSSH_REC_MARK_HDR;
		}
		(void)dssh_pipe_write(&s->down, rec, rl);
		used += rl;
	}
	return used;
}

/* The engine's records into down; the close once it is done. */
static bool
shim_engine_output(struct tc_shim *s)
{
	const uint8_t *p;
	size_t n, done;

	dssh_conn_output(s->t->srv, &p, &n);
	done = shim_down_records(s, p, n);
	dssh_conn_output_consume(s->t->srv, done);
	if (s->cb != NULL && done > 0)
		dssh_recpump_mark(s->pc, false);
	if (!s->closing && s->cb != NULL && dssh_conn_closing(s->t->srv) &&
	    dssh_conn_output_pending(s->t->srv) == 0) {
		s->closing = true;
		dssh_recpump_conn_close(s->pc);
		dssh_recpump_mark(s->pc, false);
	}
	return done > 0;
}

static bool
shim_client_io(struct tc_shim *s)
{
	struct dssh_tcp_event ev[16];
	const uint8_t *p[2];
	size_t l[2];
	unsigned n, np;
	bool moved = false;

	while ((n = dssh_tcp_events(s->sa, ev, 16)) > 0)
		for (unsigned i = 0; i < n; i++)
			if (ev[i].events & DSSH_TCP_EV_RESET)
				s->cli_reset = true;
	if (s->ca == NULL)
		return false;
	if (dssh_buf_len(&s->cli_out) > 0) {
		ssize_t r = dssh_tcp_send(s->ca, dssh_buf_ptr(&s->cli_out), dssh_buf_len(&s->cli_out));

		if (r > 0) {
			dssh_buf_consume(&s->cli_out, (size_t)r);
			moved = true;
		}
	}
	np = dssh_tcp_peek(s->ca, p, l);
	for (unsigned k = 0; k < np; k++) {
		dssh_buf_put(&s->t->in, p[k], l[k]);
		(void)dssh_tcp_consume(s->ca, l[k]);
		moved = moved || l[k] > 0;
	}
	if (dssh_tcp_eof(s->ca))
		s->cli_eof = true;
	return moved;
}

static size_t
shim_sndq(struct dssh_tcp_conn *c)
{
	struct dssh_tcp_conn_info in;

	if (c == NULL)
		return 0;
	dssh_tcp_conn_get_info(c, &in);
	return in.sndbuf_used;
}

static uint64_t
shim_next_time(struct tc_shim *s)
{
	uint64_t nx = DSSH_MIN(dssh_tcp_timers(s->sa, s->now), dssh_tcp_timers(s->sb, s->now));

	if (wire_inflight(&s->ab))
		nx = DSSH_MIN(nx, s->ab.q[s->ab.head].due);
	if (wire_inflight(&s->ba))
		nx = DSSH_MIN(nx, s->ba.q[s->ba.head].due);
	return nx > s->now + 20 ? (nx == UINT64_MAX ? s->now + 1000 : nx) : s->now + 20;
}

/* One step of everything; true when anything moved or is in flight. */
static bool
shim_step(struct tc_shim *s)
{
	bool moved;

	dssh_tcp_timers(s->sa, s->now);
	dssh_tcp_timers(s->sb, s->now);
	shim_server_events(s);
	moved = dssh_recpump_chan_poll(s->pump) > 0;    /* the children's pipes */
	dssh_recpump_flush(s->pump);
	moved |= shim_engine_input(s);
	moved |= shim_engine_output(s);
	dssh_recpump_flush(s->pump);
	moved |= shim_client_io(s);
	wire_pump(s, s->sa, &s->ab);
	wire_pump(s, s->sb, &s->ba);
	s->steps++;
	moved = moved || wire_inflight(&s->ab) > 0 || wire_inflight(&s->ba) > 0 ||
	    dssh_buf_len(&s->cli_out) > 0 || shim_sndq(s->ca) > 0 || shim_sndq(s->cb) > 0 ||
	    dssh_recpump_dirty(s->pump) || dssh_pipe_readable(&s->up) > 0 ||
	    dssh_pipe_readable(&s->down) > 0 || dssh_conn_output_pending(s->t->srv) > 0;
	s->now = shim_next_time(s);
	wire_deliver(s, &s->ab, s->sb);
	wire_deliver(s, &s->ba, s->sa);
	return moved;
}

/* Runs everything until nothing moves and nothing is in flight. */
static void
shim_run(struct tc_shim *s)
{
	for (unsigned it = 0; it < 200000; it++)
		if (!shim_step(s))
			return;
	s->bad++;       /* never settled */
}

static int
shim_feed(struct tc *t, const void *p, size_t n)
{
	struct tc_shim *s = t->shim;

	if (dssh_conn_closing(t->srv))
		return DSSH_ERR_CONN_CLOSED;
	dssh_buf_put(&s->cli_out, p, n);
	s->rc = 0;
	shim_run(s);
	if (s->rc == 0 && dssh_conn_closing(t->srv))
		return DSSH_ERR_CONN_CLOSED;
	return s->rc;
}

static int
shim_pump(struct tc *t)
{
	shim_run(t->shim);
	return 0;
}

/* The client closes too; the connections end, every reference comes back. */
static void
shim_close(struct tc_shim *s)
{
	if (s->sa == NULL)
		return;
	if (s->ca != NULL)
		dssh_tcp_close(s->ca, s->now);
	s->ca = NULL;
	if (s->pump != NULL && s->cb != NULL) {
		/* The engine is done with it (or gone): close once drained. */
		if (!s->closing) {
			s->closing = true;
			dssh_recpump_conn_close(s->pc);
			dssh_recpump_mark(s->pc, false);
		}
		for (int i = 0; i < 2000 && (s->cb != NULL || wire_inflight(&s->ab) ||
		    wire_inflight(&s->ba)); i++)
			(void)shim_step(s);
	}
	if (s->cb != NULL)
		shim_let_go(s, true);
	/* Channel fds handed over in markers the core never read. */
	dssh_recpump_down_drop(&s->down);
	if (s->pump != NULL)
		s->st_last = *dssh_recpump_stats(s->pump);
	dssh_recpump_free(s->pump);
	s->pump = NULL;
	dssh_recpump_conn_free(s->pc);
	s->pc = NULL;
	dssh_tcp_stack_free(s->sa);
	dssh_tcp_stack_free(s->sb);
	s->sa = s->sb = NULL;
}

static void
shim_free(struct tc_shim *s)
{
	if (s == NULL)
		return;
	shim_close(s);
	dssh_pipe_fini(&s->up);
	dssh_pipe_fini(&s->down);
	free(s->ab.q);
	free(s->ba.q);
	dssh_buf_free(&s->cli_out);
	dssh_buf_free(&s->upbuf);
	free(s);
}

void
tc_shim_run(struct tc *t)
{
	shim_run(t->shim);
}

void
tc_shim_close(struct tc *t)
{
	shim_close(t->shim);
}

const struct dssh_recpump_stats *
tc_shim_stats(const struct tc *t)
{
	return t->shim->pump != NULL ? dssh_recpump_stats(t->shim->pump) : &t->shim->st_last;
}

enum dssh_rec_rx_state
tc_shim_rx_state(const struct tc *t)
{
	const struct tc_shim *s = t->shim;

	return s->pc != NULL && s->cb != NULL ? dssh_rec_rx_state(dssh_recpump_conn_rec(s->pc)) :
	    s->rx_state;
}

uint64_t
tc_shim_wire_down(const struct tc *t)
{
	return tc_shim_stats(t)->tx_bytes - t->shim->raw_down;
}

uint64_t
tc_shim_wire_up(const struct tc *t)
{
	return tc_shim_stats(t)->rx_bytes;
}

int
tc_new(struct dssh_conn *srv, struct dssh_crypto_engine *e, const struct tc_conf *conf,
    struct tc **out)
{
	struct tc *t = calloc(1, sizeof(*t));
	int r;

	*out = NULL;
	if (t == NULL)
		return DSSH_ERR_ALLOC;
	t->srv = srv;
	t->engine = e;
	t->conf = *conf;
	t->now_ms = 1000;
	dssh_buf_init(&t->in, 0);
	dssh_buf_init(&t->i_c, 0);
	dssh_buf_init(&t->i_s, 0);
	dssh_buf_init(&t->held, 0);
	if (conf->record_offload && (r = shim_new(t, e)) != 0) {
		tc_free(t);
		return r;
	}
	*out = t;
	return 0;
}

void
tc_free(struct tc *t)
{
	if (t == NULL)
		return;
	shim_free(t->shim);
	dssh_crypto_sa_free(t->tx.sa);
	dssh_crypto_sa_free(t->rx.sa);
	dssh_buf_free(&t->in);
	dssh_buf_free(&t->i_c);
	dssh_buf_free(&t->i_s);
	dssh_buf_free(&t->held);
	dssh_wipe(&t->rx_pending, sizeof(t->rx_pending));
	free(t->v_s);
	free(t->neg_kex);
	free(t->neg_cipher_cs);
	free(t->neg_cipher_sc);
	free(t->server_sig_algs);
	dssh_sshkey_free(t->hostkey);
	free(t);
}

int
tc_feed(struct tc *t, const void *p, size_t n)
{
	if (dssh_buf_len(&t->held) > 0 && n > 0) {
		/* The held NEWKEYS and these bytes in one write. */
		struct dssh_buf both;

		dssh_buf_init(&both, 0);
		dssh_buf_put(&both, dssh_buf_ptr(&t->held), dssh_buf_len(&t->held));
		dssh_buf_put(&both, p, n);
		dssh_buf_reset(&t->held);
		tc_feed(t, dssh_buf_ptr(&both), dssh_buf_len(&both));
		dssh_buf_free(&both);
		return t->last_rc;
	}
	if (t->shim != NULL)
		t->last_rc = shim_feed(t, p, n);
	else
		t->last_rc = dssh_conn_input(t->srv, p, n, t->now_ms);
	return t->last_rc;
}

int
tc_seal(struct tc *t, const uint8_t *payload, size_t len, struct dssh_buf *wire)
{
	struct tc_dir *d = &t->tx;
	size_t bs = d->sa ? dssh_crypto_sa_block_len(d->sa) : 8;
	size_t tag = d->sa ? dssh_crypto_sa_tag_len(d->sa) : 0;
	bool counted = d->sa ? dssh_crypto_sa_length_encrypted(d->sa) : true;
	size_t aligned = (counted ? 4 : 0) + 1 + len;
	size_t pad = bs - aligned % bs;
	uint8_t *p;
	int r;

	if (pad < 4)
		pad += bs;
	size_t plen = 1 + len + pad;

	if ((r = dssh_buf_reserve(wire, 4 + plen + tag, &p)) != 0)
		return r;
	dssh_put_u32be(p, (uint32_t)plen);
	p[4] = (uint8_t)pad;
	if (len > 0)
		memcpy(p + 5, payload, len);
	dssh_random(p + 5 + len, pad);
	if (d->sa != NULL) {
		struct dssh_crypto_op op = { .sa = d->sa, .pkt = p, .len = (uint32_t)(4 + plen),
		    .seq = d->seq };
		struct dssh_crypto_op *ops[1] = { &op };

		if ((r = dssh_crypto_process(t->engine, ops, 1)) != 0)
			return r;
	}
	d->seq++;
	return 0;
}

int
tc_send(struct tc *t, const uint8_t *payload, size_t len)
{
	struct dssh_buf w;
	int r;

	dssh_buf_init(&w, 0);
	if ((r = tc_seal(t, payload, len, &w)) == 0)
		r = tc_feed(t, dssh_buf_ptr(&w), dssh_buf_len(&w));
	dssh_buf_free(&w);
	return r;
}

int
tc_sendb(struct tc *t, const struct dssh_buf *payload)
{
	return tc_send(t, dssh_buf_ptr(payload), dssh_buf_len(payload));
}

static void
pull_output(struct tc *t)
{
	const uint8_t *p;
	size_t n;
	int r;

	if (t->shim != NULL) {
		if ((r = shim_pump(t)) != 0)
			t->last_rc = r;
		return;
	}
	dssh_conn_output(t->srv, &p, &n);
	if (n > 0 && dssh_buf_put(&t->in, p, n) == 0)
		dssh_conn_output_consume(t->srv, n);
}

static int
switch_rx(struct tc *t)
{
	struct dssh_crypto_sa *sa;
	int r;

	if (!t->rx_pending_set)
		return DSSH_ERR_PROTOCOL;
	r = dssh_crypto_sa_new(t->engine, &t->rx_pending, DSSH_CRYPTO_OPEN, &sa);
	dssh_wipe(&t->rx_pending, sizeof(t->rx_pending));
	t->rx_pending_set = false;
	if (r != 0)
		return r;
	dssh_crypto_sa_free(t->rx.sa);
	t->rx.sa = sa;
	if (t->strict)
		t->rx.seq = 0;
	return 0;
}

static void
note_message(struct tc *t, const uint8_t *p, size_t n)
{
	struct dssh_buf m;

	dssh_buf_from(&m, p + 1, n - 1);
	if (p[0] == SSH_MSG_DISCONNECT) {
		const uint8_t *d = NULL;
		size_t dl = 0;

		t->got_disconnect = true;
		dssh_buf_get_u32(&m, &t->disconnect_reason);
		dssh_buf_get_string_direct(&m, &d, &dl);
		snprintf(t->disconnect_msg, sizeof(t->disconnect_msg), "%.*s",
		    (int)DSSH_MIN(dl, (size_t)200), d ? (const char *)d : "");
	} else if (p[0] == SSH_MSG_EXT_INFO) {
		uint32_t count = 0;

		dssh_buf_get_u32(&m, &count);
		for (uint32_t i = 0; i < count; i++) {
			char *name = NULL, *val = NULL;

			if (dssh_buf_get_cstring(&m, &name, NULL) != 0)
				break;
			if (dssh_buf_get_cstring(&m, &val, NULL) != 0) {
				free(name);
				break;
			}
			if (strcmp(name, "server-sig-algs") == 0) {
				free(t->server_sig_algs);
				t->server_sig_algs = val;
				val = NULL;
			}
			free(name);
			free(val);
		}
	} else if (p[0] == SSH_MSG_KEXINIT) {
		dssh_buf_reset(&t->i_s);
		dssh_buf_put(&t->i_s, p, n);
		t->have_server_kexinit = true;
	}
}

int
tc_recv(struct tc *t, struct dssh_buf *payload)
{
	struct tc_dir *d = &t->rx;
	uint32_t plen;
	int r;

	dssh_buf_reset(payload);
	pull_output(t);
	size_t avail = dssh_buf_len(&t->in);
	size_t lb = d->sa ? dssh_crypto_sa_length_bytes(d->sa) : 4;
	size_t tag = d->sa ? dssh_crypto_sa_tag_len(d->sa) : 0;

	if (avail < lb)
		return DSSH_ERR_MSG_INCOMPLETE;
	if (d->sa != NULL) {
		if ((r = dssh_crypto_sa_peek_length(d->sa, d->seq, dssh_buf_ptr(&t->in), avail,
		    &plen)) != 0)
			return r;
	} else {
		plen = dssh_get_u32be(dssh_buf_ptr(&t->in));
	}
	if (plen < 5 || plen > TC_PACKET_MAX)
		return DSSH_ERR_INVALID_FORMAT;
	size_t total = 4 + (size_t)plen + tag;

	if (avail < total)
		return DSSH_ERR_MSG_INCOMPLETE;
	uint8_t *pkt = dssh_buf_mutable_ptr(&t->in);

	if (d->sa != NULL) {
		struct dssh_crypto_op op = { .sa = d->sa, .pkt = pkt, .len = 4 + plen, .seq = d->seq };
		struct dssh_crypto_op *ops[1] = { &op };

		if ((r = dssh_crypto_process(t->engine, ops, 1)) != 0)
			return r;
	}
	uint8_t padlen = pkt[4];

	if (padlen < 4 || (size_t)padlen + 2 > plen)
		return DSSH_ERR_INVALID_FORMAT;
	size_t len = plen - padlen - 1;

	r = dssh_buf_put(payload, pkt + 5, len);
	dssh_buf_consume(&t->in, total);
	d->seq++;
	if (r != 0)
		return r;
	note_message(t, dssh_buf_ptr(payload), len);
	if (dssh_buf_ptr(payload)[0] == SSH_MSG_NEWKEYS)
		return switch_rx(t);
	return 0;
}

int
tc_expect(struct tc *t, uint8_t want, struct dssh_buf *payload)
{
	int r;

	for (;;) {
		if ((r = tc_recv(t, payload)) != 0)
			return r;
		uint8_t type = dssh_buf_ptr(payload)[0];

		if (type == SSH_MSG_IGNORE || type == SSH_MSG_DEBUG || type == SSH_MSG_EXT_INFO)
			continue;
		if (type == want)
			return 0;
		if (type == SSH_MSG_DISCONNECT)
			return DSSH_ERR_CONN_CLOSED;
		return DSSH_ERR_PROTOCOL;
	}
}

void
tc_drain(struct tc *t)
{
	struct dssh_buf p;

	dssh_buf_init(&p, 0);
	while (tc_recv(t, &p) == 0)
		;
	dssh_buf_free(&p);
}

int
tc_version(struct tc *t)
{
	const uint8_t *p, *nl;
	size_t n;
	int r;

	if ((r = dssh_conn_start(t->srv, t->now_ms)) != 0)
		return r;
	if ((r = tc_feed(t, TC_VERSION "\r\n", strlen(TC_VERSION) + 2)) != 0)
		return r;
	/* Through the shim the line came as a RAW marker, now in t->in. */
	if (t->shim != NULL) {
		pull_output(t);
		p = dssh_buf_ptr(&t->in);
		n = dssh_buf_len(&t->in);
	} else {
		dssh_conn_output(t->srv, &p, &n);
	}
	if ((nl = memchr(p, '\n', n)) == NULL)
		return DSSH_ERR_MSG_INCOMPLETE;
	size_t ll = (size_t)(nl - p);

	if (ll < 9 || p[ll - 1] != '\r' || memcmp(p, "SSH-2.0-", 8) != 0)
		return DSSH_ERR_INVALID_FORMAT;
	if ((t->v_s = dssh_strndup((const char *)p, ll - 1)) == NULL)
		return DSSH_ERR_ALLOC;
	if (t->shim != NULL)
		dssh_buf_consume(&t->in, ll + 1);
	else
		dssh_conn_output_consume(t->srv, ll + 1);
	return 0;
}

static int
derive(const struct dssh_kex_alg *alg, const struct dssh_buf *K, const uint8_t *H, size_t hlen,
    const struct tc *t, const char *enc, const char *mac, const char *letters,
    struct dssh_crypto_keys *k)
{
	int r;

	memset(k, 0, sizeof(*k));
	if ((k->cipher = dssh_cipher_by_name(enc)) == NULL)
		return DSSH_ERR_NO_MATCH;
	k->mac = k->cipher->aead ? dssh_mac_by_id(DSSH_MAC_NONE) : dssh_mac_by_name(mac);
	if (k->mac == NULL)
		return DSSH_ERR_NO_MATCH;
	if (k->cipher->iv_len > 0 && (r = dssh_kex_derive(alg, K, H, hlen, t->session_id,
	    t->session_id_len, letters[0], k->iv, k->cipher->iv_len)) != 0)
		return r;
	if ((r = dssh_kex_derive(alg, K, H, hlen, t->session_id, t->session_id_len, letters[1],
	    k->key, k->cipher->key_len)) != 0)
		return r;
	if (k->mac->key_len > 0 && (r = dssh_kex_derive(alg, K, H, hlen, t->session_id,
	    t->session_id_len, letters[2], k->mac_key, k->mac->key_len)) != 0)
		return r;
	return 0;
}

int
tc_kex(struct tc *t)
{
	struct dssh_kexinit mine = { 0 }, theirs = { 0 };
	struct dssh_kex_result neg = { 0 };
	struct dssh_kex_client *kc = NULL;
	struct dssh_buf pl, qc, K, hb, msg, sigb;
	struct dssh_crypto_keys txk;
	struct dssh_crypto_sa *sa = NULL;
	const struct dssh_kex_alg *alg;
	const char *failed = NULL;
	uint8_t H[64];
	size_t hlen = sizeof(H);
	char kexlist[512];
	int r;

	dssh_buf_init(&pl, 0);
	dssh_buf_init(&qc, 0);
	dssh_buf_init(&K, 0);
	dssh_buf_init(&hb, 0);
	dssh_buf_init(&msg, 0);
	dssh_buf_init(&sigb, 0);
	memset(&txk, 0, sizeof(txk));
	snprintf(kexlist, sizeof(kexlist), "%s%s%s", t->conf.kex,
	    t->kex_done == 0 && t->conf.ext_info ? ",ext-info-c" : "",
	    t->kex_done == 0 && t->conf.strict ? ",kex-strict-c-v00@openssh.com" : "");
	const char *lists[KEX_SLOTS] = {
		kexlist, t->conf.hostkey, t->conf.cipher, t->conf.cipher,
		t->conf.mac, t->conf.mac, "none", "none", "", "",
	};

	if (t->kexinit_sent) {
		t->kexinit_sent = false;
	} else {
		dssh_buf_reset(&t->i_c);
		if ((r = dssh_kexinit_build(&t->i_c, lists)) != 0 ||
		    (r = tc_sendb(t, &t->i_c)) != 0)
			goto out;
	}
	while (!t->have_server_kexinit) {
		if ((r = tc_recv(t, &msg)) != 0)
			goto out;
		if (t->got_disconnect) {
			r = DSSH_ERR_CONN_CLOSED;
			goto out;
		}
		/* What the server sent before its KEXINIT, kept for the test. */
		if (!t->have_server_kexinit && t->stash != NULL)
			(void)dssh_buf_put_string(t->stash, dssh_buf_ptr(&msg), dssh_buf_len(&msg));
	}
	t->have_server_kexinit = false;
	if ((r = dssh_kexinit_parse(dssh_buf_ptr(&t->i_c) + 1, dssh_buf_len(&t->i_c) - 1,
	    &mine)) != 0 ||
	    (r = dssh_kexinit_parse(dssh_buf_ptr(&t->i_s) + 1, dssh_buf_len(&t->i_s) - 1,
	    &theirs)) != 0 ||
	    (r = dssh_kex_choose(&mine, &theirs, &neg, &failed)) != 0)
		goto out;
	if (t->kex_done == 0)
		t->strict = t->conf.strict &&
		    dssh_namelist_has(theirs.lists[KEX_SLOT_KEX], "kex-strict-s-v00@openssh.com");
	if ((alg = dssh_kex_alg_by_name(neg.kex)) == NULL) {
		r = DSSH_ERR_NO_MATCH;
		goto out;
	}
	bool is_dh = alg->pub_mpint;

	if ((r = dssh_kex_client_new(alg, &kc)) != 0 ||
	    (r = dssh_kex_client_pub(kc, &qc)) != 0 ||
	    (r = dssh_buf_put_u8(&pl, SSH_MSG_KEX_ECDH_INIT)) != 0 ||
	    (r = dssh_buf_put(&pl, dssh_buf_ptr(&qc), dssh_buf_len(&qc))) != 0 ||
	    (r = tc_sendb(t, &pl)) != 0)
		goto out;
	if ((r = tc_expect(t, SSH_MSG_KEX_ECDH_REPLY, &msg)) != 0)
		goto out;

	struct dssh_buf m;
	const uint8_t *ks, *sp, *sig, *spub_start, *sig_alg_p, *sig_raw;
	size_t kslen, splen, siglen, spub_enc_len, sig_alg_len, sig_raw_len;

	dssh_buf_from(&m, dssh_buf_ptr(&msg) + 1, dssh_buf_len(&msg) - 1);
	if ((r = dssh_buf_get_string_direct(&m, &ks, &kslen)) != 0)
		goto out;
	spub_start = dssh_buf_ptr(&m);
	r = is_dh ? dssh_buf_get_mpint_direct(&m, &sp, &splen) :
	    dssh_buf_get_string_direct(&m, &sp, &splen);
	if (r != 0)
		goto out;
	spub_enc_len = (size_t)(dssh_buf_ptr(&m) - spub_start);
	if ((r = dssh_buf_get_string_direct(&m, &sig, &siglen)) != 0)
		goto out;
	if (dssh_buf_len(&m) != 0) {
		r = DSSH_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = dssh_kex_client_finish(kc, sp, splen, &K)) != 0)
		goto out;
	if ((r = dssh_buf_put_cstring(&hb, TC_VERSION)) != 0 ||
	    (r = dssh_buf_put_cstring(&hb, t->v_s)) != 0 ||
	    (r = dssh_buf_put_stringb(&hb, &t->i_c)) != 0 ||
	    (r = dssh_buf_put_stringb(&hb, &t->i_s)) != 0 ||
	    (r = dssh_buf_put_string(&hb, ks, kslen)) != 0 ||
	    (r = dssh_buf_put(&hb, dssh_buf_ptr(&qc), dssh_buf_len(&qc))) != 0 ||
	    (r = dssh_buf_put(&hb, spub_start, spub_enc_len)) != 0 ||
	    (r = dssh_buf_put(&hb, dssh_buf_ptr(&K), dssh_buf_len(&K))) != 0 ||
	    (r = dssh_kex_hash(alg, &hb, H, &hlen)) != 0)
		goto out;
	/* The host key signs H with the negotiated algorithm. */
	dssh_sshkey_free(t->hostkey);
	t->hostkey = NULL;
	dssh_buf_from(&sigb, sig, siglen);
	if ((r = dssh_sshkey_from_blob(ks, kslen, &t->hostkey)) != 0 ||
	    (r = dssh_buf_get_string_direct(&sigb, &sig_alg_p, &sig_alg_len)) != 0 ||
	    (r = dssh_buf_get_string_direct(&sigb, &sig_raw, &sig_raw_len)) != 0)
		goto out;
	if (sig_alg_len != strlen(neg.hostkey) || memcmp(sig_alg_p, neg.hostkey, sig_alg_len) != 0 ||
	    dssh_sshkey_verify(t->hostkey, neg.hostkey, sig, siglen, H, hlen) != 0) {
		r = DSSH_ERR_SIGNATURE_INVALID;
		goto out;
	}
	if (t->kex_done == 0) {
		memcpy(t->session_id, H, hlen);
		t->session_id_len = hlen;
	}
	/* Client: out = c->s (A, C, E), in = s->c (B, D, F). */
	if ((r = derive(alg, &K, H, hlen, t, neg.enc_cs, neg.mac_cs, "ACE", &txk)) != 0 ||
	    (r = derive(alg, &K, H, hlen, t, neg.enc_sc, neg.mac_sc, "BDF", &t->rx_pending)) != 0)
		goto out;
	t->rx_pending_set = true;
	static const uint8_t newkeys[1] = { SSH_MSG_NEWKEYS };

	r = t->hold_newkeys ? tc_seal(t, newkeys, 1, &t->held) : tc_send(t, newkeys, 1);
	if (r != 0 && r != DSSH_ERR_MSG_INCOMPLETE)
		goto out;
	if ((r = dssh_crypto_sa_new(t->engine, &txk, DSSH_CRYPTO_SEAL, &sa)) != 0)
		goto out;
	dssh_crypto_sa_free(t->tx.sa);
	t->tx.sa = sa;
	if (t->strict)
		t->tx.seq = 0;
	if ((r = tc_expect(t, SSH_MSG_NEWKEYS, &msg)) != 0)
		goto out;
	t->kex_done++;
	free(t->neg_kex);
	free(t->neg_cipher_cs);
	free(t->neg_cipher_sc);
	t->neg_kex = strdup(neg.kex);
	t->neg_cipher_cs = strdup(neg.enc_cs);
	t->neg_cipher_sc = strdup(neg.enc_sc);
out:
	dssh_kexinit_free(&mine);
	dssh_kexinit_free(&theirs);
	dssh_kex_result_free(&neg);
	dssh_kex_client_free(kc);
	dssh_wipe(H, sizeof(H));
	dssh_wipe(&txk, sizeof(txk));
	dssh_buf_free(&pl);
	dssh_buf_free(&qc);
	dssh_buf_free(&K);
	dssh_buf_free(&hb);
	dssh_buf_free(&msg);
	return r;
}

int
tc_service_request(struct tc *t)
{
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_SERVICE_REQUEST)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, "ssh-userauth")) == 0 &&
	    (r = tc_sendb(t, &b)) == 0)
		r = tc_expect(t, SSH_MSG_SERVICE_ACCEPT, &b);
	dssh_buf_free(&b);
	return r;
}

int
tc_auth_pubkey(struct tc *t, const char *user, struct dssh_sshkey *key, const char *sig_alg,
    struct dssh_sshkey *sign_with)
{
	struct dssh_buf blob, data, sig, req;
	int r;

	dssh_buf_init(&blob, 0);
	dssh_buf_init(&data, 0);
	dssh_buf_init(&sig, 0);
	dssh_buf_init(&req, 0);
	if ((r = dssh_sshkey_public_blob(key, &blob)) != 0 ||
	    (r = dssh_buf_put_string(&data, t->session_id, t->session_id_len)) != 0 ||
	    (r = dssh_buf_put_u8(&data, SSH_MSG_USERAUTH_REQUEST)) != 0 ||
	    (r = dssh_buf_put_cstring(&data, user)) != 0 ||
	    (r = dssh_buf_put_cstring(&data, "ssh-connection")) != 0 ||
	    (r = dssh_buf_put_cstring(&data, "publickey")) != 0 ||
	    (r = dssh_buf_put_bool(&data, true)) != 0 ||
	    (r = dssh_buf_put_cstring(&data, sig_alg)) != 0 ||
	    (r = dssh_buf_put_stringb(&data, &blob)) != 0 ||
	    (r = dssh_sshkey_sign(sign_with, sig_alg, dssh_buf_ptr(&data), dssh_buf_len(&data),
	    &sig)) != 0)
		goto out;
	if ((r = dssh_buf_put_u8(&req, SSH_MSG_USERAUTH_REQUEST)) != 0 ||
	    (r = dssh_buf_put_cstring(&req, user)) != 0 ||
	    (r = dssh_buf_put_cstring(&req, "ssh-connection")) != 0 ||
	    (r = dssh_buf_put_cstring(&req, "publickey")) != 0 ||
	    (r = dssh_buf_put_bool(&req, true)) != 0 ||
	    (r = dssh_buf_put_cstring(&req, sig_alg)) != 0 ||
	    (r = dssh_buf_put_stringb(&req, &blob)) != 0 ||
	    (r = dssh_buf_put_stringb(&req, &sig)) != 0)
		goto out;
	/* A refusal that ends the connection fails the feed; the reply says why. */
	tc_sendb(t, &req);
	for (;;) {
		if ((r = tc_recv(t, &req)) != 0)
			goto out;
		uint8_t type = dssh_buf_ptr(&req)[0];

		if (type == SSH_MSG_USERAUTH_SUCCESS) {
			r = 0;
			break;
		}
		if (type == SSH_MSG_USERAUTH_FAILURE) {
			struct dssh_buf v;
			const uint8_t *ml;
			size_t mn;

			dssh_buf_from(&v, dssh_buf_ptr(&req) + 1, dssh_buf_len(&req) - 1);
			if (dssh_buf_get_string_direct(&v, &ml, &mn) == 0 &&
			    mn < sizeof(t->auth_methods) &&
			    dssh_buf_get_bool(&v, &t->auth_partial) == 0) {
				memcpy(t->auth_methods, ml, mn);
				t->auth_methods[mn] = '\0';
			}
			r = DSSH_ERR_PERMISSION;
			break;
		}
		if (type == SSH_MSG_DISCONNECT) {
			r = DSSH_ERR_CONN_CLOSED;
			break;
		}
		if (type != SSH_MSG_IGNORE && type != SSH_MSG_EXT_INFO && type != SSH_MSG_DEBUG &&
		    type != SSH_MSG_USERAUTH_BANNER) {
			r = DSSH_ERR_PROTOCOL;
			break;
		}
	}
out:
	dssh_buf_free(&blob);
	dssh_buf_free(&data);
	dssh_buf_free(&sig);
	dssh_buf_free(&req);
	return r;
}

int
tc_open_session(struct tc *t, uint32_t window, uint32_t maxpacket)
{
	struct dssh_buf b, m;
	uint32_t recipient;
	int r;

	t->chan_local = 7;
	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_CHANNEL_OPEN)) != 0 ||
	    (r = dssh_buf_put_cstring(&b, "session")) != 0 ||
	    (r = dssh_buf_put_u32(&b, t->chan_local)) != 0 ||
	    (r = dssh_buf_put_u32(&b, window)) != 0 ||
	    (r = dssh_buf_put_u32(&b, maxpacket)) != 0 ||
	    (r = tc_sendb(t, &b)) != 0 ||
	    (r = tc_expect(t, SSH_MSG_CHANNEL_OPEN_CONFIRMATION, &b)) != 0)
		goto out;
	dssh_buf_from(&m, dssh_buf_ptr(&b) + 1, dssh_buf_len(&b) - 1);
	if ((r = dssh_buf_get_u32(&m, &recipient)) != 0 ||
	    (r = dssh_buf_get_u32(&m, &t->chan_remote)) != 0 ||
	    (r = dssh_buf_get_u32(&m, &t->remote_window)) != 0 ||
	    (r = dssh_buf_get_u32(&m, &t->remote_maxpacket)) != 0)
		goto out;
	if (recipient != t->chan_local)
		r = DSSH_ERR_PROTOCOL;
out:
	dssh_buf_free(&b);
	return r;
}

int
tc_exec(struct tc *t, const char *cmd)
{
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_CHANNEL_REQUEST)) == 0 &&
	    (r = dssh_buf_put_u32(&b, t->chan_remote)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, "exec")) == 0 &&
	    (r = dssh_buf_put_bool(&b, true)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, cmd)) == 0 &&
	    (r = tc_sendb(t, &b)) == 0)
		r = tc_expect(t, SSH_MSG_CHANNEL_SUCCESS, &b);
	dssh_buf_free(&b);
	return r;
}

int
tc_chan_data(struct tc *t, const uint8_t *p, size_t n)
{
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_CHANNEL_DATA)) == 0 &&
	    (r = dssh_buf_put_u32(&b, t->chan_remote)) == 0 &&
	    (r = dssh_buf_put_string(&b, p, n)) == 0)
		r = tc_sendb(t, &b);
	dssh_buf_free(&b);
	if (r == 0)
		t->remote_window -= (uint32_t)DSSH_MIN(n, (size_t)t->remote_window);
	return r;
}

int
tc_connect_all(struct tc *t, const char *user, struct dssh_sshkey *key, const char *sig_alg)
{
	int r;

	if ((r = tc_version(t)) != 0 || (r = tc_kex(t)) != 0 ||
	    (r = tc_service_request(t)) != 0 ||
	    (r = tc_auth_pubkey(t, user, key, sig_alg, key)) != 0 ||
	    (r = tc_open_session(t, 1u << 20, 32768)) != 0)
		return r;
	return tc_exec(t, "true");
}
