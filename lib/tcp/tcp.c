/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The stack and connection lifecycle and the application API (dssh_tcp.h):
 * configuration, the connection table and its keyed hashes (SipHash: RFC
 * 6528 ISNs, timestamp offsets, SYN cookie hashes), the output and event
 * lists, creating, resetting and freeing connections, listeners, and the
 * calls the application makes on a connection. Segment arrival is
 * tcp_input.c, building and sending segments tcp_output.c, SACK and
 * RACK-TLP loss detection tcp_sack.c, the per-connection timers
 * tcp_timer.c. Sans-I/O: see dssh_tcp.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "dssh_err.h"
#include "dssh_util.h"
#include "tcp_priv.h"

#define TCP_EPHEMERAL_LO 49152u

void
dssh_tcp_conf_default(struct dssh_tcp_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->max_conns = 4096;
	conf->syn_backlog = 256;
	conf->sndbuf = 256 * 1024;
	conf->rcvbuf = 256 * 1024;
	conf->mss = 1460;
	conf->window_scaling = true;
	conf->timestamps = true;
	conf->sack = true;
	conf->cc = DSSH_TCP_CC_CUBIC;
	conf->rto_init_us = 1000000;        /* RFC 6298 2.1 */
	conf->rto_min_us = 200000;          /* the brief: 200 ms (RFC says 1 s; Linux 200 ms) */
	conf->rto_max_us = 60000000;        /* RFC 6298 2.5 */
	conf->max_retries = 15;
	conf->syn_retries = 6;
	/*
	 * Delayed ACKs: RFC 9293 3.8.6.3 / RFC 5681 4.2, an ACK at least every
	 * second full segment and never later than 40 ms. SSH clients set
	 * TCP_NODELAY, so delaying ACKs does not stall their small writes, and
	 * replies usually carry the ACK anyway; bulk transfers halve their ACK
	 * rate. delack_segs = 1 turns delaying off.
	 */
	conf->delack_us = 40000;
	conf->delack_segs = 2;
	conf->msl_us = 30000000;            /* 2 MSL = 60 s */
	conf->keepalive_idle_us = 600000000;  /* 10 min; keepalive is off unless enabled */
	conf->keepalive_intvl_us = 75000000;
	conf->keepalive_probes = 9;
	conf->ooo_max_ranges = 16;
	conf->challenge_ack_per_s = 1000;
	conf->tx_csum_offload = false;
	conf->tso_max = 0;                  /* the driver turns TSO on when the NIC has it */
	/*
	 * RFC 8985, SACK connections only: over 2% loss, 5% reordering, 10 ms
	 * +- 5 ms jitter it cut RTO expiries ~5x and raised goodput ~30%
	 * (tests/unit/tcp/test_tcp_rack.c). tests/unit/tcp/test_tcp_stall.c
	 * (many connections, burst loss) found a RACK/TLP retransmission of the
	 * last data segment carrying a FIN not yet counted in snd_max; fixed in
	 * send_data.
	 */
	conf->rack = true;
	conf->rcv_mem = 0;                  /* 2 * rcvbuf (dssh_tcp_stack_new) */
}

const char *
dssh_tcp_state_name(enum dssh_tcp_state s)
{
	static const char *names[] = {
		"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED",
		"FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT",
	};

	if ((unsigned)s >= DSSH_ARRAY_SIZE(names))
		return "?";
	return names[s];
}

/* ---- keyed hashes (SipHash through OpenSSL EVP_MAC) ---- */

static uint64_t
tcp_mac(struct dssh_tcp_stack *s, const uint8_t key[16], const void *in, size_t n)
{
	EVP_MAC_CTX *ctx;
	size_t sz = 8, outl = 0;
	uint8_t out[16];
	OSSL_PARAM params[2];
	uint64_t v = 0;

	params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &sz);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(s->mac)) == NULL)
		abort();
	if (EVP_MAC_init(ctx, key, 16, params) != 1 || EVP_MAC_update(ctx, in, n) != 1 ||
	    EVP_MAC_final(ctx, out, &outl, sizeof(out)) != 1 || outl < 8)
		abort();
	EVP_MAC_CTX_free(ctx);
	memcpy(&v, out, 8);
	return v;
}

struct tuple_in {
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint32_t extra[2];
};

uint64_t
tcp_tuple_mac(struct dssh_tcp_stack *s, const uint8_t key[16], uint32_t laddr,
    uint16_t lport, uint32_t raddr, uint16_t rport, uint32_t e0, uint32_t e1)
{
	struct tuple_in t;

	memset(&t, 0, sizeof(t));
	t.laddr = laddr; t.raddr = raddr; t.lport = lport; t.rport = rport;
	t.extra[0] = e0; t.extra[1] = e1;
	return tcp_mac(s, key, &t, sizeof(t));
}

/* ---- connection table ---- */

static uint32_t
tuple_hash(const struct dssh_tcp_stack *s, uint32_t laddr, uint16_t lport,
    uint32_t raddr, uint16_t rport)
{
	uint64_t h = s->hseed;

	h ^= ((uint64_t)laddr << 32 | raddr) * 0x9E3779B97F4A7C15ull;
	h ^= ((uint64_t)lport << 16 | rport) * 0xC2B2AE3D27D4EB4Full;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 32;
	return (uint32_t)h & s->hmask;
}

struct dssh_tcp_conn *
dssh_tcp_lookup(struct dssh_tcp_stack *s, uint32_t laddr, uint16_t lport,
    uint32_t raddr, uint16_t rport)
{
	struct dssh_tcp_conn *c;

	for (c = s->htab[tuple_hash(s, laddr, lport, raddr, rport)]; c != NULL; c = c->hnext)
		if (c->laddr == laddr && c->lport == lport && c->raddr == raddr && c->rport == rport)
			return c;
	return NULL;
}

static void
hash_insert(struct dssh_tcp_conn *c)
{
	struct dssh_tcp_stack *s = c->stack;
	uint32_t b = tuple_hash(s, c->laddr, c->lport, c->raddr, c->rport);

	c->hnext = s->htab[b];
	s->htab[b] = c;
}

static void
hash_remove(struct dssh_tcp_conn *c)
{
	struct dssh_tcp_stack *s = c->stack;
	struct dssh_tcp_conn **pp;

	pp = &s->htab[tuple_hash(s, c->laddr, c->lport, c->raddr, c->rport)];
	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			c->hnext = NULL;
			return;
		}
	}
}

/* Intrusive doubly linked lists: all conns, output pending, events pending. */
static void
all_insert(struct dssh_tcp_conn *c)
{
	struct dssh_tcp_stack *s = c->stack;

	c->prev = NULL;
	c->next = s->all;
	if (s->all != NULL)
		s->all->prev = c;
	s->all = c;
}

static void
all_remove(struct dssh_tcp_conn *c)
{
	struct dssh_tcp_stack *s = c->stack;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->all = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/*
 * out and ev lists are singly linked FIFOs; removal is lazy (see out_pop).
 * ev picks the list a connection's link is for: ev_next, else out_next.
 */
static struct dssh_tcp_conn **
list_link(struct dssh_tcp_conn *c, bool ev)
{
	return ev ? &c->ev_next : &c->out_next;
}

static void
list_append(struct dssh_tcp_conn **head, struct dssh_tcp_conn **tail,
    struct dssh_tcp_conn *c, bool ev)
{
	*list_link(c, ev) = NULL;
	*(*tail != NULL ? list_link(*tail, ev) : head) = c;
	*tail = c;
}

void
tcp_out_mark(struct dssh_tcp_conn *c)
{
	struct dssh_tcp_stack *s = c->stack;

	if (c->on_out || c->dead)
		return;
	c->on_out = true;
	list_append(&s->out_head, &s->out_tail, c, false);
}

void
tcp_ev_post(struct dssh_tcp_conn *c, uint32_t ev)
{
	struct dssh_tcp_stack *s = c->stack;

	if (!c->app_owned)
		return;
	c->ev |= ev;
	if (c->on_ev)
		return;
	c->on_ev = true;
	list_append(&s->ev_head, &s->ev_tail, c, true);
}

static void
list_unlink(struct dssh_tcp_conn **head, struct dssh_tcp_conn **tail,
    struct dssh_tcp_conn *c, bool ev)
{
	struct dssh_tcp_conn *p = NULL, *x;

	for (x = *head; x != NULL; p = x, x = *list_link(x, ev)) {
		if (x != c)
			continue;
		*(p != NULL ? list_link(p, ev) : head) = *list_link(x, ev);
		if (*tail == c)
			*tail = p;
		return;
	}
}

static void
conn_free(struct dssh_tcp_conn *c)
{
	struct dssh_tcp_stack *s = c->stack;

	if (c->on_out)
		list_unlink(&s->out_head, &s->out_tail, c, false);
	if (c->on_ev)
		list_unlink(&s->ev_head, &s->ev_tail, c, true);
	hash_remove(c);
	all_remove(c);
	tcp_wheel_unlink(&s->wheel, c);
	if (c->state == DSSH_TCP_SYN_RCVD && c->passive && s->nsynrcvd > 0)
		s->nsynrcvd--;
	s->nconns--;
	tcp_txq_free(&c->sq);
	tcp_rxq_free(&c->rq);
	free(c->rs_mem);
	free(c);
}

void
tcp_conn_reset(struct dssh_tcp_conn *c, uint32_t ev)
{
	struct dssh_tcp_stack *s = c->stack;

	if (c->state == DSSH_TCP_SYN_RCVD && c->passive && s->nsynrcvd > 0)
		s->nsynrcvd--;
	c->state = DSSH_TCP_CLOSED;
	c->t_rto = c->t_delack = c->t_persist = c->t_keep = c->t_tw = 0;
	c->t_reo = c->t_tlp = 0;
	if (c->app_owned) {
		tcp_wheel_unlink(&s->wheel, c);
		hash_remove(c);
		tcp_ev_post(c, ev);
		return;
	}
	c->dead = true;
	conn_free(c);
}

uint8_t
tcp_wscale_for(uint32_t bufsize)
{
	uint8_t s = 0;

	while (s < TCP_MAX_WSCALE && (bufsize >> s) > 65535u)
		s++;
	return s;
}

/*
 * RFC 7323 5.4: a per-connection timestamp offset from a keyed hash. The
 * +64 keeps every TSval of the connection above the one a SYN cookie sent
 * (cookie_synack rounds down and puts option bits in the low 6 bits).
 */
uint32_t
tcp_ts_offset(struct dssh_tcp_stack *s, uint32_t laddr, uint16_t lport,
    uint32_t raddr, uint16_t rport)
{
	return (uint32_t)tcp_tuple_mac(s, s->isn_secret, laddr, lport, raddr, rport, 1, 0) + 64u;
}

struct dssh_tcp_conn *
tcp_conn_new(struct dssh_tcp_stack *s, uint32_t laddr, uint16_t lport,
    uint32_t raddr, uint16_t rport, uint64_t now_us)
{
	struct dssh_tcp_conn *c;

	if (s->nconns >= s->conf.max_conns)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (tcp_txq_init(&c->sq, s->conf.sndbuf, s->conf.tx_buf_ops, s->conf.tx_buf_arg) != 0 ||
	    tcp_rxq_init(&c->rq, s->conf.rcvbuf, s->conf.rcv_mem, s->conf.buf_ops,
	    s->conf.buf_arg) != 0) {
		tcp_txq_free(&c->sq);
		tcp_rxq_free(&c->rq);
		free(c);
		return NULL;
	}
	c->stack = s;
	c->laddr = laddr; c->lport = lport; c->raddr = raddr; c->rport = rport;
	c->nodelay = true;
	c->mss = TCP_DEFAULT_MSS;
	c->rto_us = s->conf.rto_init_us;
	c->cc = s->conf.cc == DSSH_TCP_CC_CUBIC ? &dssh_tcp_cc_cubic : &dssh_tcp_cc_newreno;
	/* RFC 6528: ISN = M + F(4-tuple, secret), M a 4 us clock */
	c->iss = (uint32_t)tcp_tuple_mac(s, s->isn_secret, laddr, lport, raddr, rport, 0, 0) +
	    (uint32_t)(now_us / 4);
	c->ts_off = tcp_ts_offset(s, laddr, lport, raddr, rport);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->recover = c->iss;
	c->last_rcv_us = now_us;
	c->snd_wscale = c->rcv_wscale = 0;
	hash_insert(c);
	all_insert(c);
	s->nconns++;
	return c;
}

int
dssh_tcp_stack_new(const struct dssh_tcp_conf *conf, struct dssh_tcp_stack **stackp)
{
	struct dssh_tcp_stack *s = NULL;
	uint32_t nb = 16;
	int r = DSSH_ERR_INTERNAL;

	*stackp = NULL;
	if (conf->max_conns == 0 || conf->sndbuf < 4096 || conf->rcvbuf < 4096 ||
	    conf->mss < 88 || conf->ooo_max_ranges == 0 || conf->ooo_max_ranges > DSSH_TCP_OOO_MAX ||
	    conf->rto_min_us == 0 || conf->rto_max_us < conf->rto_min_us || conf->delack_segs == 0 ||
	    conf->max_conns > (1u << 24) || conf->sndbuf > (1u << 30) || conf->rcvbuf > (1u << 30))
		return DSSH_ERR_INVALID_ARGUMENT;
	/* a TSO segment's checksum can only be finished by the NIC, per wire segment */
	if (conf->tso_max != 0 && !conf->tx_csum_offload)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((conf->rcv_mem != 0 && conf->rcv_mem < conf->rcvbuf) ||
	    (conf->buf_ops != NULL && (conf->buf_ops->hold == NULL || conf->buf_ops->release == NULL)))
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return DSSH_ERR_ALLOC;
	s->conf = *conf;
	if (s->conf.rcv_mem == 0)
		s->conf.rcv_mem = 2 * conf->rcvbuf;
	while (nb < conf->max_conns * 2u)
		nb <<= 1;
	if ((s->htab = calloc(nb, sizeof(*s->htab))) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	s->hmask = nb - 1;
	if ((s->mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL)) == NULL) {
		r = DSSH_ERR_LIBCRYPTO;
		goto out;
	}
	dssh_random(&s->hseed, sizeof(s->hseed));
	dssh_random(s->isn_secret, sizeof(s->isn_secret));
	dssh_random(s->cookie_secret, sizeof(s->cookie_secret));
	dssh_random(&s->next_ephemeral, sizeof(s->next_ephemeral));
	s->next_timer_us = UINT64_MAX;
	*stackp = s;
	s = NULL;
	r = 0;
 out:
	dssh_tcp_stack_free(s);
	return r;
}

void
dssh_tcp_stack_free(struct dssh_tcp_stack *s)
{
	if (s == NULL)
		return;
	while (s->all != NULL)
		conn_free(s->all);
	free(s->htab);
	EVP_MAC_free(s->mac);
	dssh_wipe(s->isn_secret, sizeof(s->isn_secret));
	dssh_wipe(s->cookie_secret, sizeof(s->cookie_secret));
	free(s);
}

struct tcp_listener *
tcp_listener_find(struct dssh_tcp_stack *s, uint32_t addr, uint16_t port,
    bool exact)
{
	unsigned i;

	for (i = 0; i < TCP_MAX_LISTEN; i++) {
		struct tcp_listener *l = &s->listeners[i];

		if (l->used && l->port == port && (l->addr == addr || (!exact && l->addr == 0)))
			return l;
	}
	return NULL;
}

int
dssh_tcp_listen(struct dssh_tcp_stack *s, uint32_t addr, uint16_t port)
{
	unsigned i;

	if (port == 0)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (tcp_listener_find(s, addr, port, true) != NULL)
		return DSSH_ERR_BUSY;
	for (i = 0; i < TCP_MAX_LISTEN; i++) {
		if (!s->listeners[i].used) {
			s->listeners[i].used = true;
			s->listeners[i].addr = addr;
			s->listeners[i].port = port;
			return 0;
		}
	}
	return DSSH_ERR_NO_BUFFER_SPACE;
}

int
dssh_tcp_unlisten(struct dssh_tcp_stack *s, uint32_t addr, uint16_t port)
{
	struct tcp_listener *l = tcp_listener_find(s, addr, port, true);

	if (l == NULL)
		return DSSH_ERR_NOT_FOUND;
	l->used = false;
	return 0;
}

/* ---- application API ---- */

int
dssh_tcp_connect(struct dssh_tcp_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
    uint16_t rport, uint64_t now_us, struct dssh_tcp_conn **connp)
{
	struct dssh_tcp_conn *c;
	uint32_t tries;

	*connp = NULL;
	if (rport == 0)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (lport == 0) {
		for (tries = 0; tries < 65536u - TCP_EPHEMERAL_LO; tries++) {
			s->next_ephemeral = (uint16_t)(s->next_ephemeral + 1);
			if (s->next_ephemeral < TCP_EPHEMERAL_LO)
				s->next_ephemeral = TCP_EPHEMERAL_LO;
			if (dssh_tcp_lookup(s, laddr, s->next_ephemeral, raddr, rport) == NULL &&
			    (s->conf.port_ok == NULL || s->conf.port_ok(s->conf.port_ok_arg,
			    laddr, s->next_ephemeral, raddr, rport))) {
				lport = s->next_ephemeral;
				break;
			}
		}
		if (lport == 0)
			return DSSH_ERR_BUSY;
	} else if (dssh_tcp_lookup(s, laddr, lport, raddr, rport) != NULL) {
		return DSSH_ERR_BUSY;
	}
	if ((c = tcp_conn_new(s, laddr, lport, raddr, rport, now_us)) == NULL)
		return s->nconns >= s->conf.max_conns ? DSSH_ERR_BUSY : DSSH_ERR_ALLOC;
	c->state = DSSH_TCP_SYN_SENT;
	c->app_owned = true;
	c->rcv_wscale = s->conf.window_scaling ? tcp_wscale_for(c->rq.size) : 0;
	c->rtt_timing = true;
	c->rtt_seq = c->iss + 1;
	c->rtt_start_us = now_us;
	tcp_out_mark(c);
	*connp = c;
	return 0;
}

ssize_t
dssh_tcp_send(struct dssh_tcp_conn *c, const void *data, size_t len)
{
	uint32_t n;

	if (c->state == DSSH_TCP_CLOSED)
		return DSSH_ERR_CONN_CLOSED;
	if (c->fin_queued || (c->state != DSSH_TCP_ESTABLISHED && c->state != DSSH_TCP_CLOSE_WAIT &&
	    c->state != DSSH_TCP_SYN_SENT && c->state != DSSH_TCP_SYN_RCVD))
		return DSSH_ERR_CONN_CLOSED;
	n = tcp_txq_append(&c->sq, data, (uint32_t)DSSH_MIN(len, (size_t)UINT32_MAX));
	if (n < len)
		c->want_writable = true;
	if (n == 0)
		return 0;
	tcp_out_mark(c);
	return (ssize_t)n;
}

size_t
dssh_tcp_send_space(struct dssh_tcp_conn *c, size_t want)
{
	uint32_t room;

	if (c->state == DSSH_TCP_CLOSED || c->fin_queued ||
	    (c->state != DSSH_TCP_ESTABLISHED && c->state != DSSH_TCP_CLOSE_WAIT &&
	    c->state != DSSH_TCP_SYN_SENT && c->state != DSSH_TCP_SYN_RCVD))
		return 0;
	room = tcp_txq_room(&c->sq);
	if (room < want)
		c->want_writable = true;
	return room;
}

uint8_t *
dssh_tcp_send_buf(struct dssh_tcp_conn *c, size_t off, size_t n)
{
	if (dssh_tcp_send_space(c, 0) == 0 || off > UINT32_MAX || n > UINT32_MAX)
		return NULL;
	return tcp_txq_tail(&c->sq, (uint32_t)off, (uint32_t)n);
}

ssize_t
dssh_tcp_send_commit(struct dssh_tcp_conn *c, size_t n)
{
	if (dssh_tcp_send_space(c, 0) < n)
		return DSSH_ERR_CONN_CLOSED;
	if (!tcp_txq_commit(&c->sq, (uint32_t)n))
		return DSSH_ERR_ALLOC;
	if (n > 0)
		tcp_out_mark(c);
	return (ssize_t)n;
}

ssize_t
dssh_tcp_send_ref(struct dssh_tcp_conn *c, void *buf, const void *ptr, size_t len)
{
	size_t room = dssh_tcp_send_space(c, len);

	if (c->state == DSSH_TCP_CLOSED || c->fin_queued ||
	    (c->state != DSSH_TCP_ESTABLISHED && c->state != DSSH_TCP_CLOSE_WAIT &&
	    c->state != DSSH_TCP_SYN_SENT && c->state != DSSH_TCP_SYN_RCVD))
		return DSSH_ERR_CONN_CLOSED;
	if (len == 0 || room < len)
		return 0;
	if (!tcp_txq_append_ref(&c->sq, buf, ptr, (uint32_t)len) &&
	    tcp_txq_append(&c->sq, ptr, (uint32_t)len) != len)
		return DSSH_ERR_ALLOC;
	tcp_out_mark(c);
	return (ssize_t)len;
}

unsigned
dssh_tcp_peek(const struct dssh_tcp_conn *c, const uint8_t *ptr[2], size_t len[2])
{
	struct dssh_tcp_iov iov[2];
	unsigned n = tcp_rxq_ref(&c->rq, 0, iov, 2);

	len[0] = len[1] = 0;
	for (unsigned i = 0; i < n; i++) {
		ptr[i] = iov[i].ptr;
		len[i] = iov[i].len;
	}
	return n;
}

unsigned
dssh_tcp_peekv(const struct dssh_tcp_conn *c, size_t off, struct dssh_tcp_iov *iov,
    unsigned n)
{
	return tcp_rxq_ref(&c->rq, off, iov, n);
}

size_t
dssh_tcp_readable(const struct dssh_tcp_conn *c)
{
	return c->rq.len;
}

size_t
dssh_tcp_copy_out(const struct dssh_tcp_conn *c, size_t off, void *dst, size_t n)
{
	return tcp_rxq_copy(&c->rq, off, dst, n);
}

int
dssh_tcp_consume(struct dssh_tcp_conn *c, size_t n)
{
	uint32_t old_edge, new_edge, thresh;

	if (n > c->rq.len)
		return DSSH_ERR_INVALID_ARGUMENT;
	old_edge = c->rcv_adv;
	tcp_rxq_consume(&c->rq, (uint32_t)n);
	/* receiver SWS avoidance: a window update once the edge moves enough */
	new_edge = c->rcv_nxt + ((tcp_rcv_space(c) >> c->rcv_wscale) << c->rcv_wscale);
	thresh = DSSH_MIN(c->rq.size / 2, 2u * c->mss);
	if (c->state != DSSH_TCP_CLOSED && SEQ_GEQ(new_edge, old_edge + thresh) &&
	    c->state >= DSSH_TCP_ESTABLISHED) {
		c->ack_now = true;
		tcp_out_mark(c);
	}
	return 0;
}

ssize_t
dssh_tcp_recv(struct dssh_tcp_conn *c, void *data, size_t len)
{
	size_t done = tcp_rxq_copy(&c->rq, 0, data, len);

	if (done > 0) {
		dssh_tcp_consume(c, done);
		return (ssize_t)done;
	}
	if (c->state == DSSH_TCP_CLOSED && !c->fin_rcvd)
		return DSSH_ERR_CONN_CLOSED;
	return 0;
}

bool
dssh_tcp_eof(const struct dssh_tcp_conn *c)
{
	return c->fin_rcvd && c->rq.len == 0;
}

void
dssh_tcp_abort(struct dssh_tcp_conn *c, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;
	struct dssh_tcp_seg_out *o;

	if (c->state != DSSH_TCP_CLOSED && c->state != DSSH_TCP_SYN_SENT &&
	    c->state != DSSH_TCP_TIME_WAIT && (o = tcp_ctl_slot(s)) != NULL) {
		tcp_emit(c, o, tcp_ack_seq(c), DSSH_TCP_RST | DSSH_TCP_ACK, 0, now_us);
		o->conn = NULL;
		s->st.rst_sent++;
	}
	c->app_owned = false;
	c->app_released = true;
	c->dead = true;
	conn_free(c);
}

void
dssh_tcp_close(struct dssh_tcp_conn *c, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;

	if (c->rq.len > 0 && c->state != DSSH_TCP_CLOSED) {
		dssh_tcp_abort(c, now_us);
		return;
	}
	c->app_owned = false;
	c->app_released = true;
	if (c->on_ev) {
		list_unlink(&s->ev_head, &s->ev_tail, c, true);
		c->on_ev = false;
	}
	switch (c->state) {
	case DSSH_TCP_CLOSED:
	case DSSH_TCP_SYN_SENT:
		c->dead = true;
		conn_free(c);
		return;
	case DSSH_TCP_SYN_RCVD:
	case DSSH_TCP_ESTABLISHED:
		c->fin_queued = true;
		if (c->state == DSSH_TCP_ESTABLISHED)
			c->state = DSSH_TCP_FIN_WAIT_1;
		break;
	case DSSH_TCP_CLOSE_WAIT:
		c->fin_queued = true;
		c->state = DSSH_TCP_LAST_ACK;
		break;
	default:
		return;     /* already closing */
	}
	tcp_out_mark(c);
}

int
dssh_tcp_shutdown(struct dssh_tcp_conn *c, uint64_t now_us)
{
	(void)now_us;
	if (c->fin_queued)
		return 0;
	switch (c->state) {
	case DSSH_TCP_ESTABLISHED:
		c->state = DSSH_TCP_FIN_WAIT_1;
		break;
	case DSSH_TCP_CLOSE_WAIT:
		c->state = DSSH_TCP_LAST_ACK;
		break;
	default:
		return DSSH_ERR_INVALID_ARGUMENT;
	}
	c->fin_queued = true;
	tcp_out_mark(c);
	return 0;
}

unsigned
dssh_tcp_events(struct dssh_tcp_stack *s, struct dssh_tcp_event *ev, unsigned n)
{
	struct dssh_tcp_conn *c;
	unsigned k = 0;

	while (k < n && (c = s->ev_head) != NULL) {
		s->ev_head = c->ev_next;
		if (s->ev_head == NULL)
			s->ev_tail = NULL;
		c->on_ev = false;
		ev[k].conn = c;
		ev[k].events = c->ev;
		c->ev = 0;
		k++;
	}
	return k;
}

void
dssh_tcp_set_nodelay(struct dssh_tcp_conn *c, bool on)
{
	c->nodelay = on;
	if (on)
		tcp_out_mark(c);
}

void
dssh_tcp_set_keepalive(struct dssh_tcp_conn *c, bool on, uint64_t now_us)
{
	c->keepalive = on;
	c->keep_probes = 0;
	tcp_timer_arm(c, &c->t_keep, on ? now_us + c->stack->conf.keepalive_idle_us : 0, now_us);
}

void
dssh_tcp_set_udata(struct dssh_tcp_conn *c, void *udata)
{
	c->udata = udata;
}

void *
dssh_tcp_udata(const struct dssh_tcp_conn *c)
{
	return c->udata;
}

void
dssh_tcp_conn_get_info(const struct dssh_tcp_conn *c, struct dssh_tcp_conn_info *i)
{
	memset(i, 0, sizeof(*i));
	i->state = c->state;
	i->laddr = c->laddr; i->raddr = c->raddr; i->lport = c->lport; i->rport = c->rport;
	i->iss = c->iss; i->irs = c->irs;
	i->snd_una = c->snd_una; i->snd_nxt = c->snd_nxt; i->snd_max = c->snd_max;
	i->snd_wnd = c->snd_wnd; i->rcv_nxt = c->rcv_nxt; i->rcv_wnd = tcp_rcv_space(c);
	i->mss = c->mss;
	i->snd_wscale = c->ws_ok ? c->snd_wscale : 0xff;
	i->rcv_wscale = c->ws_ok ? c->rcv_wscale : 0xff;
	i->ts_ok = c->ts_ok; i->sack_ok = c->sack_ok;
	i->cwnd = c->cwnd; i->ssthresh = c->ssthresh;
	i->srtt_us = c->srtt_us; i->rttvar_us = c->rttvar_us; i->rto_us = (uint32_t)tcp_rto_cur(c);
	i->backoff = c->backoff;
	i->sndbuf_used = c->sq.len; i->rcv_queued = c->rq.len;
	i->ooo_ranges = c->ooo_n; i->sacked_ranges = c->sb_n;
	i->in_recovery = c->in_recovery;
}

void
dssh_tcp_get_stats(const struct dssh_tcp_stack *s, struct dssh_tcp_stats *st)
{
	*st = s->st;
}

/*
 * Test hook: connections that can make no progress on their own. A
 * connection with data in flight (or a FIN, or a SYN) needs a timer that
 * will resend it should every ACK be lost; one with data it may send right
 * now and nothing in flight must be queued for output or wait on the persist
 * timer. A deadline below next_timer_us would be skipped by
 * dssh_tcp_timers(). Returns the number of such connections, reporting
 * each through cb when given.
 */
unsigned
dssh_tcp_debug_stalled(struct dssh_tcp_stack *s, uint64_t now_us,
    void (*cb)(const struct dssh_tcp_conn *c, const char *why, void *arg), void *arg)
{
	struct dssh_tcp_conn *c;
	unsigned bad = 0;

	(void)now_us;
	for (c = s->all; c != NULL; c = c->next) {
		const char *why = NULL;
		uint64_t t = UINT64_MAX;
		uint32_t off = c->snd_nxt - c->snd_una;

		if (c->state == DSSH_TCP_CLOSED || c->state == DSSH_TCP_LISTEN ||
		    c->state == DSSH_TCP_TIME_WAIT)
			continue;
		if (c->t_rto != 0) t = DSSH_MIN(t, c->t_rto);
		if (c->t_reo != 0) t = DSSH_MIN(t, c->t_reo);
		if (c->t_tlp != 0) t = DSSH_MIN(t, c->t_tlp);
		if (c->t_persist != 0) t = DSSH_MIN(t, c->t_persist);
		if (c->t_delack != 0) t = DSSH_MIN(t, c->t_delack);
		if (c->t_keep != 0) t = DSSH_MIN(t, c->t_keep);
		if (c->snd_una != c->snd_max && c->t_rto == 0)
			why = "data in flight, no retransmission timer";
		else if (c->snd_una == c->snd_max && tcp_synchronized_send(c) && off < c->sq.len &&
		    c->snd_wnd > 0 && !c->on_out && t == UINT64_MAX)
			why = "sendable data, nothing in flight, no output or timer";
		else if (c->snd_una == c->snd_max && tcp_synchronized_send(c) && off < c->sq.len &&
		    c->snd_wnd == 0 && c->t_persist == 0 && !c->on_out)
			why = "zero window, no persist timer";
		else if (c->fin_sent && SEQ_GEQ(c->snd_una + c->sq.len, c->snd_max) &&
		    (c->state == DSSH_TCP_FIN_WAIT_1 || c->state == DSSH_TCP_CLOSING ||
		    c->state == DSSH_TCP_LAST_ACK))
			why = "FIN sent but not counted in snd_max";
		else if (t != UINT64_MAX && t < s->next_timer_us)
			why = "deadline before the stack's next timer";
		else if (t != UINT64_MAX && (c->w_pprev == NULL || c->w_due > t))
			why = "armed timer not on the wheel by its deadline";
		if (why != NULL) {
			bad++;
			if (cb != NULL)
				cb(c, why, arg);
		}
	}
	return bad;
}
