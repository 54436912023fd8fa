/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP state machine (RFC 9293) with RFC 7323 (window scaling,
 * timestamps, PAWS), RFC 2018 + RFC 6675 (SACK and SACK loss recovery),
 * RFC 6582 (NewReno), RFC 6298 (RTO), RFC 5961 (blind in-window attacks),
 * RFC 6528 (ISNs) and SYN cookies. Sans-I/O: see dssh_tcp.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "dssh_err.h"
#include "dssh_util.h"
#include "dssh_buf.h"
#include "tcp_priv.h"

#define TCP_CLOCK_G_US 1000u        /* RFC 6298 G */
#define TCP_DEFAULT_MSS 536u        /* RFC 9293 3.7.1 when no MSS option */
#define TCP_EPHEMERAL_LO 49152u
#define COOKIE_PERIOD_US (64ull * 1000000ull)

static const uint16_t cookie_mss_tab[8] = { 536, 1024, 1220, 1360, 1400, 1440, 1448, 1460 };

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

static uint64_t
tuple_mac(struct dssh_tcp_stack *s, const uint8_t key[16], uint32_t laddr,
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

static void
out_mark(struct dssh_tcp_conn *c)
{
	struct dssh_tcp_stack *s = c->stack;

	if (c->on_out || c->dead)
		return;
	c->on_out = true;
	list_append(&s->out_head, &s->out_tail, c, false);
}

static void
ev_post(struct dssh_tcp_conn *c, uint32_t ev)
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

static uint8_t
wscale_for(uint32_t bufsize)
{
	uint8_t s = 0;

	while (s < TCP_MAX_WSCALE && (bufsize >> s) > 65535u)
		s++;
	return s;
}

static uint32_t
ts_now(const struct dssh_tcp_conn *c, uint64_t now_us)
{
	return (uint32_t)(now_us / 1000u) + c->ts_off;
}

/*
 * RFC 7323 5.4: a per-connection timestamp offset from a keyed hash. The
 * +64 keeps every TSval of the connection above the one a SYN cookie sent
 * (cookie_synack rounds down and puts option bits in the low 6 bits).
 */
static uint32_t
ts_offset(struct dssh_tcp_stack *s, uint32_t laddr, uint16_t lport,
    uint32_t raddr, uint16_t rport)
{
	return (uint32_t)tuple_mac(s, s->isn_secret, laddr, lport, raddr, rport, 1, 0) + 64u;
}

static struct dssh_tcp_conn *
conn_new(struct dssh_tcp_stack *s, uint32_t laddr, uint16_t lport,
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
	c->iss = (uint32_t)tuple_mac(s, s->isn_secret, laddr, lport, raddr, rport, 0, 0) +
	    (uint32_t)(now_us / 4);
	c->ts_off = ts_offset(s, laddr, lport, raddr, rport);
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

static struct tcp_listener *
listener_find(struct dssh_tcp_stack *s, uint32_t addr, uint16_t port,
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
	if (listener_find(s, addr, port, true) != NULL)
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
	struct tcp_listener *l = listener_find(s, addr, port, true);

	if (l == NULL)
		return DSSH_ERR_NOT_FOUND;
	l->used = false;
	return 0;
}

/* ---- segment construction ---- */

static uint8_t *
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	dssh_put_u32be(p, v);
	return p + 4;
}

static void
seg_finish(struct dssh_tcp_stack *s, struct dssh_tcp_seg_out *o)
{
	uint16_t ck;

	if (s->conf.tx_csum_offload) {
		/* TSO: the NIC adds each wire segment's length itself (see dssh_tcp.h) */
		ck = (uint16_t)dssh_tcp_pseudo_sum(o->saddr, o->daddr,
		    o->tso_mss != 0 ? 0 : o->hdr_len + o->len);
	} else {
		ck = dssh_tcp_checksum(o->saddr, o->daddr, o->hdr, o->hdr_len,
		    (const uint8_t *const *)o->pay, o->pay_len, o->npay);
	}
	put16(o->hdr + 16, ck);
	s->st.out_segs++;
	if (o->tso_mss != 0)
		s->st.tso_segs++;
}

/* Fixed part of a header; returns a pointer to where options go. */
static uint8_t *
hdr_start(struct dssh_tcp_seg_out *o, uint16_t sport, uint16_t dport,
    uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd)
{
	uint8_t *p = o->hdr;

	p = put16(p, sport);
	p = put16(p, dport);
	p = put32(p, seq);
	p = put32(p, ack);
	*p++ = 0;       /* data offset, set in hdr_end */
	*p++ = flags;
	p = put16(p, wnd);
	p = put16(p, 0);
	p = put16(p, 0);
	return p;
}

static void
hdr_end(struct dssh_tcp_seg_out *o, uint8_t *p)
{
	while ((p - o->hdr) % 4 != 0)
		*p++ = 0;   /* EOL padding */
	o->hdr_len = (uint16_t)(p - o->hdr);
	o->hdr[12] = (uint8_t)((o->hdr_len / 4) << 4);
}

static struct dssh_tcp_seg_out *
ctl_slot(struct dssh_tcp_stack *s)
{
	struct dssh_tcp_seg_out *o;

	if (s->ctlq_n >= TCP_CTL_QUEUE) {
		s->st.ctl_queue_full++;
		return NULL;
	}
	o = &s->ctlq[(s->ctlq_head + s->ctlq_n) % TCP_CTL_QUEUE];
	s->ctlq_n++;
	memset(o, 0, sizeof(*o));
	return o;
}

/* RST in reply to a segment that has no connection (RFC 9293 3.10.7.1). */
static void
send_rst_for(struct dssh_tcp_stack *s, uint32_t saddr, uint32_t daddr,
    const struct dssh_tcp_hdr *h)
{
	struct dssh_tcp_seg_out *o;
	uint8_t *p;
	uint32_t seglen;

	if (h->flags & DSSH_TCP_RST)
		return;
	if ((o = ctl_slot(s)) == NULL)
		return;
	o->saddr = daddr;
	o->daddr = saddr;
	if (h->flags & DSSH_TCP_ACK) {
		p = hdr_start(o, h->dport, h->sport, h->ack, 0, DSSH_TCP_RST, 0);
	} else {
		seglen = (uint32_t)h->plen + !!(h->flags & DSSH_TCP_SYN) + !!(h->flags & DSSH_TCP_FIN);
		p = hdr_start(o, h->dport, h->sport, 0, h->seq + seglen,
		    DSSH_TCP_RST | DSSH_TCP_ACK, 0);
	}
	hdr_end(o, p);
	seg_finish(s, o);
	s->st.rst_sent++;
}

static uint32_t
rcv_space(const struct dssh_tcp_conn *c)
{
	return c->rq.size - c->rq.len;
}

static uint16_t
wnd_field(const struct dssh_tcp_conn *c, bool syn)
{
	uint32_t w = rcv_space(c);

	if (!syn)
		w >>= c->rcv_wscale;
	return (uint16_t)(w > 65535u ? 65535u : w);
}

/* Up to n SACK blocks, most recently changed first (RFC 2018 section 4). */
static unsigned
sack_blocks(const struct dssh_tcp_conn *c, uint32_t blk[4][2], unsigned n)
{
	bool used[DSSH_TCP_OOO_MAX] = { false };
	unsigned k, i, best;

	for (k = 0; k < n && k < c->ooo_n; k++) {
		best = UINT32_MAX;
		for (i = 0; i < c->ooo_n; i++)
			if (!used[i] && (best == UINT32_MAX || c->ooo[i].age > c->ooo[best].age))
				best = i;
		used[best] = true;
		blk[k][0] = c->ooo[best].start;
		blk[k][1] = c->ooo[best].end;
	}
	return k;
}

static void
sbuf_refs(const struct dssh_tcp_conn *c, struct dssh_tcp_seg_out *o, uint32_t off,
    uint32_t len)
{
	o->npay = (uint16_t)tcp_txq_ref(&c->sq, off, len, o->pay, o->pay_len, o->pay_buf,
	    DSSH_TCP_SEG_PAY_MAX, &o->len);
}

/*
 * What of [off, off + len) one segment can carry: its payload in at most
 * DSSH_TCP_SEG_PAY_MAX pieces. Cut shorter, a TSO segment keeps whole MSS;
 * one MSS in more pieces (tiny pieces in a row) goes out as a shorter one.
 */
static uint32_t
sq_seg_fit(const struct dssh_tcp_conn *c, uint32_t off, uint32_t len)
{
	const uint8_t *ptr[DSSH_TCP_SEG_PAY_MAX];
	uint32_t plen[DSSH_TCP_SEG_PAY_MAX], got;
	void *bufs[DSSH_TCP_SEG_PAY_MAX];

	if (len == 0 || c->sq.n <= 1)
		return len;
	(void)tcp_txq_ref(&c->sq, off, len, ptr, plen, bufs, DSSH_TCP_SEG_PAY_MAX, &got);
	if (got >= len || got == 0)
		return len;
	return got > c->mss ? got - got % c->mss : got;
}

/* Build one segment of connection c. */
static void
emit(struct dssh_tcp_conn *c, struct dssh_tcp_seg_out *o, uint32_t seq,
    uint8_t flags, uint32_t len, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;
	bool syn = (flags & DSSH_TCP_SYN) != 0;
	uint32_t ack = (flags & DSSH_TCP_ACK) ? c->rcv_nxt : 0;
	uint32_t blk[4][2];
	unsigned nb = 0, i;
	uint8_t *p;

	memset(o, 0, sizeof(*o));
	o->saddr = c->laddr;
	o->daddr = c->raddr;
	o->conn = c;
	p = hdr_start(o, c->lport, c->rport, seq, ack, flags, wnd_field(c, syn));
	if (syn) {
		bool ts = c->passive ? c->ts_ok : s->conf.timestamps;
		bool sack = c->passive ? c->sack_ok : s->conf.sack;
		bool ws = c->passive ? c->ws_ok : s->conf.window_scaling;

		*p++ = 2; *p++ = 4;
		p = put16(p, s->conf.mss);
		if (sack && ts) {
			*p++ = 4; *p++ = 2;
		} else if (sack) {
			*p++ = 1; *p++ = 1; *p++ = 4; *p++ = 2;
		}
		if (ts) {
			if (!sack) {
				*p++ = 1; *p++ = 1;
			}
			*p++ = 8; *p++ = 10;
			p = put32(p, ts_now(c, now_us));
			p = put32(p, c->passive ? c->ts_recent : 0);
		}
		if (ws) {
			*p++ = 1; *p++ = 3; *p++ = 3;
			*p++ = c->rcv_wscale;
		}
	} else {
		if (c->ts_ok) {
			*p++ = 1; *p++ = 1; *p++ = 8; *p++ = 10;
			p = put32(p, ts_now(c, now_us));
			p = put32(p, c->ts_recent);
		}
		if (c->sack_ok && c->ooo_n > 0 && (flags & DSSH_TCP_ACK)) {
			unsigned room = c->ts_ok ? 3 : 4;

			/* on data segments, only the SACK blocks that fit in the MSS;
			 * none on a TSO segment (len > mss): the NIC copies the
			 * options into every full-MSS wire segment */
			while (room > 0 && len > 0 && len + 4u + 8u * room > c->mss)
				room--;
			nb = sack_blocks(c, blk, room);
			if (nb > 0) {
				*p++ = 1; *p++ = 1; *p++ = 5; *p++ = (uint8_t)(2 + 8 * nb);
				for (i = 0; i < nb; i++) {
					p = put32(p, blk[i][0]);
					p = put32(p, blk[i][1]);
				}
			}
		}
	}
	hdr_end(o, p);
	if (len > 0)
		sbuf_refs(c, o, seq - c->snd_una, len);
	/* only conn_output hands out more than one MSS, and only with TSO on */
	if (len > c->mss)
		o->tso_mss = c->mss;
	seg_finish(s, o);
	if (flags & DSSH_TCP_ACK) {
		c->last_ack_sent = c->rcv_nxt;
		c->rcv_adv = c->rcv_nxt + ((uint32_t)wnd_field(c, syn) << (syn ? 0 : c->rcv_wscale));
		c->segs_unacked = 0;
		c->ack_now = false;
		c->t_delack = 0;
	}
}

/* ---- RTT and timers ---- */

static uint64_t
rto_cur(const struct dssh_tcp_conn *c)
{
	uint64_t r = (uint64_t)c->rto_us << (c->backoff > 20 ? 20 : c->backoff);

	return r > c->stack->conf.rto_max_us ? c->stack->conf.rto_max_us : r;
}

/* The earliest armed timer of c, UINT64_MAX if none. */
static uint64_t
conn_deadline(const struct dssh_tcp_conn *c)
{
	const uint64_t t[] = { c->t_rto, c->t_delack, c->t_reo, c->t_tlp, c->t_persist,
	    c->t_keep, c->t_tw };
	uint64_t m = UINT64_MAX;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i] != 0)
			m = DSSH_MIN(m, t[i]);
	return m;
}

/*
 * Every timer is armed here (*t is one of c's t_* fields, when the absolute
 * deadline, 0 to disarm): the connection must sit on the stack's wheel no
 * later than its earliest timer, and next_timer_us no later than any.
 * Disarming, or arming later, leaves the wheel alone: when the wheel gets
 * to the connection and finds nothing due it files it again (lazy), so the
 * per-ACK restart of the RTO costs no wheel work.
 */
static void
timer_arm(struct dssh_tcp_conn *c, uint64_t *t, uint64_t when, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;

	*t = when;
	if (when == 0)
		return;
	if (when < s->next_timer_us)
		s->next_timer_us = when;
	if (c->w_pprev == NULL || c->w_due > when)
		tcp_wheel_file(&s->wheel, c, when, now_us);
}

static void
rto_arm(struct dssh_tcp_conn *c, uint64_t now_us)
{
	timer_arm(c, &c->t_rto, now_us + rto_cur(c), now_us);
}

/* RFC 6298 section 2 */
static void
rtt_sample(struct dssh_tcp_conn *c, uint32_t r)
{
	const struct dssh_tcp_conf *cf = &c->stack->conf;
	uint64_t rto;
	uint32_t d;

	if (!c->rtt_valid) {
		c->srtt_us = r;
		c->rttvar_us = r / 2;
		c->rtt_valid = true;
	} else {
		d = c->srtt_us > r ? c->srtt_us - r : r - c->srtt_us;
		c->rttvar_us = (uint32_t)(((uint64_t)c->rttvar_us * 3 + d) / 4);
		c->srtt_us = (uint32_t)(((uint64_t)c->srtt_us * 7 + r) / 8);
	}
	rto = (uint64_t)c->srtt_us + DSSH_MAX((uint64_t)TCP_CLOCK_G_US, 4ull * c->rttvar_us);
	if (rto < cf->rto_min_us)
		rto = cf->rto_min_us;
	if (rto > cf->rto_max_us)
		rto = cf->rto_max_us;
	c->rto_us = (uint32_t)rto;
}

/* ---- sender SACK scoreboard (RFC 6675) ---- */

static void
sb_add(struct dssh_tcp_conn *c, uint32_t start, uint32_t end)
{
	struct seq_range tmp[TCP_SACK_SB_MAX + 1];
	uint32_t i, n = 0;
	bool placed = false;

	/* merge into a sorted, non-overlapping list */
	for (i = 0; i < c->sb_n; i++) {
		struct seq_range r = c->sb[i];

		if (SEQ_LT(r.end, start)) {
			tmp[n++] = r;
		} else if (SEQ_GT(r.start, end)) {
			if (!placed) {
				tmp[n].start = start; tmp[n].end = end; n++;
				placed = true;
			}
			tmp[n++] = r;
		} else {
			start = SEQ_MIN(start, r.start);
			end = SEQ_MAX(end, r.end);
		}
	}
	if (!placed) {
		tmp[n].start = start; tmp[n].end = end; n++;
	}
	if (n > TCP_SACK_SB_MAX)
		n = TCP_SACK_SB_MAX;   /* forget the highest range: conservative */
	memcpy(c->sb, tmp, n * sizeof(tmp[0]));
	c->sb_n = n;
}

static void
sb_trim(struct dssh_tcp_conn *c)
{
	uint32_t i, n = 0;

	for (i = 0; i < c->sb_n; i++) {
		if (SEQ_LEQ(c->sb[i].end, c->snd_una))
			continue;
		c->sb[n] = c->sb[i];
		if (SEQ_LT(c->sb[n].start, c->snd_una))
			c->sb[n].start = c->snd_una;
		n++;
	}
	c->sb_n = n;
}

/* IsLost() for every byte of a hole ending where SACK block i begins. */
static bool
sb_lost_below(const struct dssh_tcp_conn *c, uint32_t i)
{
	uint64_t bytes = 0;
	uint32_t j;

	for (j = i; j < c->sb_n; j++)
		bytes += c->sb[j].end - c->sb[j].start;
	return c->sb_n - i >= TCP_DUPTHRESH ||
	    bytes > (uint64_t)(TCP_DUPTHRESH - 1) * c->mss;
}

/* SetPipe(): bytes considered in flight (RFC 6675 section 4). */
static uint32_t
sb_pipe(const struct dssh_tcp_conn *c)
{
	uint32_t pipe = 0, a = c->snd_una, i, b, lo, hi;

	for (i = 0; i <= c->sb_n; i++) {
		b = i < c->sb_n ? c->sb[i].start : c->snd_max;
		if (SEQ_LT(a, b)) {
			if (i == c->sb_n || !sb_lost_below(c, i))
				pipe += b - a;
			/* retransmitted bytes of this hole */
			lo = a;
			hi = SEQ_MIN(b, c->high_rxt);
			if (SEQ_LT(lo, hi))
				pipe += hi - lo;
		}
		if (i < c->sb_n)
			a = c->sb[i].end;
	}
	return pipe;
}

/* NextSeg() rule 1: first lost, not yet retransmitted byte; at most max bytes. */
static bool
sb_next_lost(const struct dssh_tcp_conn *c, uint32_t max, uint32_t *seq,
    uint32_t *len)
{
	uint32_t a = c->snd_una, i, start;

	for (i = 0; i < c->sb_n; i++) {
		uint32_t b = c->sb[i].start;

		start = SEQ_MAX(a, c->high_rxt);
		if (SEQ_LT(start, b) && sb_lost_below(c, i)) {
			*seq = start;
			*len = DSSH_MIN(b - start, max);
			return true;
		}
		a = c->sb[i].end;
	}
	return false;
}

/* ---- RACK-TLP loss detection (RFC 8985) ---- */

/*
 * The segment list rs[] is kept per connection that negotiated SACK (as
 * Linux: without SACK there is nothing to tell a later delivery by, and
 * RFC 6582 applies). Split and merged in place: a SACK block or a
 * retransmission may cut a segment (TSO, go-back-N), and a resend covers
 * the range it sent as one segment. Should the list fill up the connection
 * falls back to RFC 6675 rather than guess.
 */
static void
rack_disable(struct dssh_tcp_conn *c)
{
	free(c->rs_mem);
	c->rs = c->rs_mem = NULL;
	c->rs_n = c->rs_cap = 0;
	c->rack_on = false;
	c->t_reo = c->t_tlp = 0;
	c->tlp_due = c->tlp_out = false;
	c->high_rxt = c->snd_una;   /* RFC 6675 from here: resend every hole */
}

/* Index of the first segment ending after seq. */
static uint32_t
rs_find(const struct dssh_tcp_conn *c, uint32_t seq)
{
	uint32_t lo = 0, hi = c->rs_n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (SEQ_LEQ(c->rs[mid].end, seq))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool
rs_insert(struct dssh_tcp_conn *c, uint32_t i, const struct tcp_rack_seg *r)
{
	if ((uint32_t)(c->rs - c->rs_mem) + c->rs_n == c->rs_cap && c->rs != c->rs_mem) {
		/* acknowledged ones were dropped off the front: compact now */
		memmove(c->rs_mem, c->rs, c->rs_n * sizeof(c->rs[0]));
		c->rs = c->rs_mem;
	}
	if (c->rs_n == c->rs_cap) {
		rack_disable(c);
		return false;
	}
	memmove(&c->rs[i + 1], &c->rs[i], (c->rs_n - i) * sizeof(c->rs[0]));
	c->rs[i] = *r;
	c->rs_n++;
	return true;
}

/* A segment boundary at seq. */
static bool
rs_split(struct dssh_tcp_conn *c, uint32_t seq)
{
	uint32_t i = rs_find(c, seq);
	struct tcp_rack_seg r;

	if (i == c->rs_n || SEQ_GEQ(c->rs[i].start, seq))
		return true;
	r = c->rs[i];
	c->rs[i].end = seq;
	r.start = seq;
	return rs_insert(c, i + 1, &r);
}

/* [start, end) was (re)sent now: it becomes one segment. */
static void
rack_sent(struct dssh_tcp_conn *c, uint32_t start, uint32_t end, uint64_t now_us)
{
	struct tcp_rack_seg r = { start, end, now_us, 0 };
	uint32_t i, j;

	if (!c->rack_on || start == end)
		return;
	if (c->rs == NULL) {
		/* RACK.fack and RACK.end_seq start at SND.UNA: left at 0 a
		 * sequence space half away (any ISN of 2^31 and up) made every
		 * delivery look reordered (RFC 8985 6.2 step 2) */
		c->rack_fack = c->rack_end = c->snd_una;
		c->rs_cap = c->stack->conf.sndbuf / 512u + 64u;
		if ((c->rs = c->rs_mem = calloc(c->rs_cap, sizeof(c->rs[0]))) == NULL) {
			rack_disable(c);
			return;
		}
	}
	if (SEQ_LT(start, c->snd_max))
		r.flags = TCP_RS_RETRANS;
	if (r.flags != 0)
		c->rs_marked = true;
	if (!rs_split(c, start) || !rs_split(c, end))
		return;
	i = rs_find(c, start);
	for (j = i; j < c->rs_n && SEQ_LEQ(c->rs[j].end, end); j++)
		r.flags |= c->rs[j].flags & TCP_RS_RETRANS;
	c->rs_marked |= r.flags != 0;
	memmove(&c->rs[i], &c->rs[j], (c->rs_n - j) * sizeof(c->rs[0]));
	c->rs_n -= j - i;
	rs_insert(c, i, &r);
}

/* RACK.reo_wnd (RFC 8985 6.2 step 4). */
static uint64_t
rack_reo_wnd(const struct dssh_tcp_conn *c, uint32_t sacked_segs)
{
	uint64_t w;

	if (!c->rack_reord && (c->in_recovery || sacked_segs >= TCP_DUPTHRESH))
		return 0;
	w = (uint64_t)c->rack_min_rtt_us / 4 * c->reo_mult;
	return DSSH_MIN(w, (uint64_t)c->srtt_us);
}

/*
 * A spurious retransmission (the original arrived: the ACK echoes its
 * timestamp, RFC 3522) widens the reordering window, at most once per
 * round trip, as a DSACK does in RFC 8985 6.2 step 4.
 */
static void
rack_spurious(struct dssh_tcp_conn *c)
{
	c->stack->st.spurious_rexmits++;
	if (c->spur_round_on && SEQ_LT(c->snd_una, c->spur_round))
		return;
	c->spur_round_on = true;
	c->spur_round = c->snd_max;
	if (c->reo_mult < 64)
		c->reo_mult++;
	c->reo_persist = 16;
}

/* RFC 8985 6.2 steps 1-3 for one newly delivered segment. */
static void
rack_delivered(struct dssh_tcp_conn *c, struct tcp_rack_seg *r,
    const struct dssh_tcp_hdr *h, bool cum, uint64_t now_us)
{
	uint32_t rtt = (uint32_t)DSSH_MIN(now_us - r->xmit_us, (uint64_t)UINT32_MAX);

	if (r->flags & TCP_RS_RETRANS) {
		/* ambiguous: the original may be what arrived. The echo is only
		 * meaningful on the ACK that advanced past it (RFC 7323 4.3) */
		if (cum && c->ts_ok && h->has_ts && SEQ_LT(h->tsecr, ts_now(c, r->xmit_us))) {
			rack_spurious(c);
			return;
		}
		if (rtt < c->rack_min_rtt_us)
			return;
	} else {
		if (c->rack_min_rtt_us == 0 || rtt < c->rack_min_rtt_us)
			c->rack_min_rtt_us = rtt ? rtt : 1;
		if (SEQ_LT(r->end, c->rack_fack))
			c->rack_reord = true;
	}
	c->rack_fack = SEQ_MAX(c->rack_fack, r->end);
	if (r->xmit_us > c->rack_xmit_us ||
	    (r->xmit_us == c->rack_xmit_us && SEQ_GT(r->end, c->rack_end))) {
		c->rack_xmit_us = r->xmit_us;
		c->rack_end = r->end;
		c->rack_rtt_us = rtt;
	}
}

/*
 * RACK_detect_loss (RFC 8985 6.2 step 5): a segment sent before the most
 * recently delivered one and outstanding for longer than RACK.rtt plus the
 * reordering window is lost; a resent one too, which is how a lost
 * retransmission is found without a timeout. Arms the reordering timer for
 * the earliest one still inside the window. Returns the segments marked.
 */
static uint32_t
rack_detect_loss(struct dssh_tcp_conn *c, uint64_t now_us)
{
	uint64_t reo, deadline, timeout = 0;
	uint32_t i, sacked = 0, lost = 0;
	bool marked = false;

	/*
	 * With nothing SACKed or resent in the list, it is in transmission
	 * order: past the first segment not sent before the most recently
	 * delivered one, none is (a bulk sender's usual case, where a scan
	 * of everything in flight on every ACK was the cost).
	 */
	if (c->rs_marked) {
		for (i = 0; i < c->rs_n; i++) {
			sacked += (c->rs[i].flags & TCP_RS_SACKED) != 0;
			marked |= (c->rs[i].flags & (TCP_RS_SACKED | TCP_RS_RETRANS)) != 0;
		}
		c->rs_marked = marked;
	}
	reo = rack_reo_wnd(c, sacked);
	for (i = 0; i < c->rs_n; i++) {
		struct tcp_rack_seg *r = &c->rs[i];

		if (!(c->rack_xmit_us > r->xmit_us ||
		    (c->rack_xmit_us == r->xmit_us && SEQ_GT(c->rack_end, r->end)))) {
			if (!marked)
				break;
			continue;
		}
		if (r->flags & (TCP_RS_SACKED | TCP_RS_LOST))
			continue;
		deadline = r->xmit_us + c->rack_rtt_us + reo;
		if (deadline <= now_us) {
			r->flags |= TCP_RS_LOST;
			lost++;
		} else {
			timeout = DSSH_MAX(timeout, deadline);
		}
	}
	timer_arm(c, &c->t_reo, timeout, now_us);
	c->stack->st.rack_lost += lost;
	return lost;
}

/*
 * A recovery episode starts: keep what its congestion response is about to
 * change, for undo_check (RFC 9438 4.9). Timestamps are what tells a
 * needless episode (RFC 3522), so without them there is no undo.
 */
static void
undo_save(struct dssh_tcp_conn *c)
{
	c->undo_on = c->ts_ok;
	c->undo_ts_set = false;
	c->undo_cwnd = c->cwnd;
	c->undo_ssthresh = c->ssthresh;
	c->undo_cubic = c->cubic;
}

/* Loss found: fast recovery (RFC 6675 5 with RACK's IsLost, RFC 8985 6.2). */
static void
rack_enter_recovery(struct dssh_tcp_conn *c, uint64_t now_us)
{
	if (c->in_recovery)
		return;
	c->in_recovery = true;
	c->recover = c->snd_max;
	undo_save(c);
	c->cc->on_loss(c, now_us);
	c->rtt_timing = false;
	c->tlp_due = false;
	c->t_tlp = 0;
	c->stack->st.sack_recoveries++;
	c->stack->st.fast_retransmits++;
}

/* Bytes in flight: not delivered, and not lost unless resent since. */
static uint32_t
rack_pipe(const struct dssh_tcp_conn *c)
{
	uint32_t i, pipe = 0;

	for (i = 0; i < c->rs_n; i++)
		if (!(c->rs[i].flags & (TCP_RS_SACKED | TCP_RS_LOST)))
			pipe += c->rs[i].end - c->rs[i].start;
	return pipe;
}

/* The first segment marked lost and not resent: [*seq, *seq + *len). */
static bool
rack_next_lost(const struct dssh_tcp_conn *c, uint32_t *seq, uint32_t *len)
{
	uint32_t i;

	for (i = 0; i < c->rs_n; i++)
		if ((c->rs[i].flags & (TCP_RS_SACKED | TCP_RS_LOST)) == TCP_RS_LOST) {
			*seq = c->rs[i].start;
			*len = c->rs[i].end - c->rs[i].start;
			return true;
		}
	return false;
}

/*
 * Probe timeout (RFC 8985 7.2): 2 SRTT, plus the worst delayed ACK when
 * only one segment is out, and not past the RTO. Restarted by new data and
 * by ACKs, so it only fires on a tail.
 */
static void
tlp_arm(struct dssh_tcp_conn *c, uint64_t now_us)
{
	uint64_t pto;

	c->t_tlp = 0;
	if (!c->rack_on || c->in_recovery || c->tlp_out || c->snd_una == c->snd_max ||
	    c->backoff > 0)
		return;
	pto = c->rtt_valid ? 2ull * c->srtt_us : 1000000u;
	if (c->snd_max - c->snd_una <= c->mss)
		pto += c->stack->conf.delack_us;
	if (c->t_rto != 0 && now_us + pto >= c->t_rto)
		return;
	timer_arm(c, &c->t_tlp, now_us + pto, now_us);
}

/* Per ACK: update the list and RACK state, detect losses (RFC 8985 6.2). */
static void
rack_on_ack(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h, uint64_t now_us)
{
	uint32_t i, k, lo, st, en;

	if (!c->rack_on || c->rs_n == 0)
		return;
	/* cumulatively acknowledged: delivered unless SACKed before */
	if (!rs_split(c, c->snd_una))
		return;
	for (k = 0; k < c->rs_n && SEQ_LEQ(c->rs[k].end, c->snd_una); k++)
		if (!(c->rs[k].flags & TCP_RS_SACKED))
			rack_delivered(c, &c->rs[k], h, true, now_us);
	/* off the front without moving the rest (rs_insert compacts) */
	c->rs += k;
	c->rs_n -= k;
	if (c->rs_n == 0)
		c->rs = c->rs_mem;
	lo = c->snd_una;
	for (k = 0; k < h->nsack; k++) {
		st = h->sack[k][0];
		en = h->sack[k][1];
		if (!SEQ_LT(st, en) || SEQ_LEQ(en, lo) || SEQ_GT(en, c->snd_max))
			continue;
		st = SEQ_MAX(st, lo);
		if (!rs_split(c, st) || !rs_split(c, en))
			return;
		for (i = rs_find(c, st); i < c->rs_n && SEQ_LEQ(c->rs[i].end, en); i++) {
			if (c->rs[i].flags & TCP_RS_SACKED)
				continue;
			rack_delivered(c, &c->rs[i], h, false, now_us);
			c->rs[i].flags = (uint8_t)((c->rs[i].flags | TCP_RS_SACKED) & ~TCP_RS_LOST);
			c->rs_marked = true;
		}
	}
	if (c->spur_round_on && SEQ_GEQ(c->snd_una, c->spur_round))
		c->spur_round_on = false;
	if (c->rack_xmit_us != 0 && rack_detect_loss(c, now_us) > 0) {
		rack_enter_recovery(c, now_us);
		out_mark(c);
	}
}

/* The reordering timer (RFC 8985 6.3). */
static void
rack_on_reo_timer(struct dssh_tcp_conn *c, uint64_t now_us)
{
	c->t_reo = 0;
	if (!c->rack_on)
		return;
	if (rack_detect_loss(c, now_us) > 0) {
		c->stack->st.rack_reo_timeouts++;
		rack_enter_recovery(c, now_us);
		out_mark(c);
	}
}

/*
 * End of a TLP episode (RFC 8985 7.4): the ACK covers the probe. When the
 * probe resent data and the ACK echoes the probe's timestamp, it repaired a
 * loss and congestion control reacts as to one; an echo of the original's
 * says the probe was not needed.
 */
static void
tlp_on_ack(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h, uint64_t now_us)
{
	if (!c->tlp_out || SEQ_LT(c->snd_una, c->tlp_end))
		return;
	c->tlp_out = false;
	if (!c->tlp_rexmit || c->in_recovery)
		return;
	if (c->ts_ok && h->has_ts && SEQ_LT(h->tsecr, ts_now(c, c->tlp_xmit_us)))
		return;
	c->cc->on_loss(c, now_us);
}

/* ---- output ---- */

/*
 * Largest payload of one TSO segment of c, a whole number of MSS: tso_max,
 * capped so that IPv4 total length (20 + TCP header + payload) fits 16
 * bits. A TSO segment's options are the timestamp only (emit leaves SACK
 * blocks off segments longer than the MSS). 0: no TSO for c.
 */
static uint32_t
tso_cap(const struct dssh_tcp_conn *c)
{
	uint32_t cap = c->stack->conf.tso_max;
	uint32_t lim = 65535u - 40u - (c->ts_ok ? 12u : 0u);

	if (cap == 0)
		return 0;
	cap = DSSH_MIN(cap, lim);
	cap -= cap % c->mss;
	return cap >= 2u * c->mss ? cap : 0;
}

static bool
synchronized_send(const struct dssh_tcp_conn *c)
{
	switch (c->state) {
	case DSSH_TCP_ESTABLISHED: case DSSH_TCP_CLOSE_WAIT: case DSSH_TCP_FIN_WAIT_1:
	case DSSH_TCP_CLOSING: case DSSH_TCP_LAST_ACK:
		return true;
	default:
		return false;
	}
}

/*
 * Send the bytes [seq, seq+len) (offset in the send buffer), FIN if it ends
 * the stream. The FIN occupies the sequence number after the data (RFC 9293
 * 3.4): it goes out for the first time only from the new-data path (fresh),
 * which counts it in snd_nxt and snd_max. A retransmission that ends the
 * data (RACK, TLP, SACK or NewReno recovery) carries it only once it is
 * counted, i.e. was sent before: otherwise fin_sent would be set with the
 * FIN outside snd_max, the peer's ACK of it would acknowledge "unsent data"
 * and be dropped (the connection then makes no progress at all), and
 * should the FIN segment be lost, the ACK of the data alone would pass
 * for the ACK of the FIN (fin_is_acked) and it would never be resent.
 */
static uint32_t
send_data(struct dssh_tcp_conn *c, struct dssh_tcp_seg_out *o, uint32_t seq,
    uint32_t len, bool fresh, uint64_t now_us)
{
	uint32_t end_data = c->snd_una + c->sq.len;
	uint8_t flags = DSSH_TCP_ACK;

	len = sq_seg_fit(c, seq - c->snd_una, len);
	if (len > 0)
		flags |= DSSH_TCP_PSH * (seq + len == end_data);
	if (c->fin_queued && seq + len == end_data && synchronized_send(c) &&
	    (fresh || SEQ_LT(end_data, c->snd_max)))
		flags |= DSSH_TCP_FIN;
	emit(c, o, seq, flags, len, now_us);
	rack_sent(c, seq, seq + len + !!(flags & DSSH_TCP_FIN), now_us);
	if (SEQ_LT(seq, c->snd_max)) {
		c->stack->st.retransmits++;
		if (c->undo_on && !c->undo_ts_set) {
			c->undo_tsval = ts_now(c, now_us);   /* what emit put in TSval */
			c->undo_ts_set = true;
		}
	}
	if (flags & DSSH_TCP_FIN)
		c->fin_sent = true;
	if (c->t_rto == 0)
		rto_arm(c, now_us);
	if (SEQ_GEQ(seq, c->snd_max))
		tlp_arm(c, now_us);
	return len;
}

/*
 * The tail loss probe when no new data could go (RFC 8985 7.3): resend the
 * last MSS sent, then wait for the RTO.
 */
static void
tlp_send_last(struct dssh_tcp_conn *c, struct dssh_tcp_seg_out *o, uint64_t now_us)
{
	uint32_t last = SEQ_MIN(c->snd_max, c->snd_una + c->sq.len);
	uint32_t len = DSSH_MIN(last - c->snd_una, (uint32_t)c->mss);

	(void)send_data(c, o, last - len, len, false, now_us);
	c->tlp_out = true;
	c->tlp_rexmit = true;
	c->tlp_end = c->snd_max;
	c->tlp_xmit_us = now_us;
	c->stack->st.tlp_probes++;
	rto_arm(c, now_us);
}

/* RACK recovery: the next lost segment to resend, TSO-sized if allowed. */
static bool
rack_rexmit(struct dssh_tcp_conn *c, uint32_t max, uint32_t *seq, uint32_t *len)
{
	uint32_t end_data = c->snd_una + c->sq.len;

	if (!rack_next_lost(c, seq, len))
		return false;
	*len = DSSH_MIN(*len, max);
	if (SEQ_GT(*seq + *len, end_data))
		*len = SEQ_GT(end_data, *seq) ? end_data - *seq : 0;
	if (*len > c->mss)
		*len -= *len % c->mss;
	if (*len == 0 && !(c->fin_queued && *seq == end_data && SEQ_LT(end_data, c->snd_max) &&
	    synchronized_send(c))) {
		/* nothing left to resend there (cannot happen with a sane list):
		 * unmark rather than spin */
		c->rs[rs_find(c, *seq)].flags &= (uint8_t)~TCP_RS_LOST;
		return false;
	}
	return true;
}

/*
 * Sequence number of a segment without data. After a timeout snd_nxt has
 * gone back to snd_una, but the peer may hold everything up to snd_max: an
 * ACK numbered below its RCV.NXT would be unacceptable to it and dropped,
 * ACK field and all. A zero-window probe byte is not counted (the peer
 * has not taken it).
 */
static uint32_t
ack_seq(const struct dssh_tcp_conn *c)
{
	if (c->snd_wnd == 0 && c->snd_max == c->snd_nxt + 1 && !c->fin_sent)
		return c->snd_nxt;
	return c->snd_max;
}

/* Returns the number of segments written; *more when it stopped on space. */
static unsigned
conn_output(struct dssh_tcp_conn *c, struct dssh_tcp_seg_out *segs, unsigned n,
    uint64_t now_us, bool *more)
{
	unsigned k = 0;
	uint32_t off, avail, wnd, inflight, usable, len, seq, end_data, pipe, tso;
	bool fin_pending;

	*more = false;
	if (c->state == DSSH_TCP_SYN_SENT || c->state == DSSH_TCP_SYN_RCVD) {
		if (c->snd_nxt == c->iss) {
			if (k == n)
				goto full;
			emit(c, &segs[k++], c->iss, c->state == DSSH_TCP_SYN_SENT ? DSSH_TCP_SYN :
			    DSSH_TCP_SYN | DSSH_TCP_ACK, 0, now_us);
			c->snd_nxt = c->iss + 1;
			c->snd_max = SEQ_MAX(c->snd_max, c->snd_nxt);
			if (c->t_rto == 0)
				rto_arm(c, now_us);
		}
	} else if (synchronized_send(c)) {
		/*
		 * TSO (tso != 0) batches what this loop would otherwise send as
		 * consecutive full-MSS segments with no state change between
		 * them: same bytes, windows and flags, fewer segments. The fast
		 * retransmit of the segment at snd_una (rexmit_una) stays one
		 * MSS; hole retransmissions in SACK recovery, go-back-N after a
		 * timeout and new data may be TSO segments.
		 */
		tso = tso_cap(c);
		for (;;) {
			end_data = c->snd_una + c->sq.len;
			if (c->rexmit_una) {
				if (k == n)
					goto full;
				len = DSSH_MIN(c->sq.len, (uint32_t)c->mss);
				for (unsigned i = 0; i < c->sb_n; i++)
					if (SEQ_GT(c->sb[i].start, c->snd_una) &&
					    SEQ_LT(c->sb[i].start, c->snd_una + len))
						len = c->sb[i].start - c->snd_una;
				len = send_data(c, &segs[k++], c->snd_una, len, false, now_us);
				c->high_rxt = SEQ_MAX(c->high_rxt, c->snd_una + len);
				c->rexmit_una = false;
				continue;
			}
			if (c->in_recovery && c->rack_on) {
				pipe = rack_pipe(c);
				if (pipe + c->mss > c->cwnd)
					break;
				if (rack_rexmit(c, tso != 0 ? DSSH_MIN(tso, c->cwnd - pipe) : c->mss,
				    &seq, &len)) {
					if (k == n)
						goto full;
					(void)send_data(c, &segs[k++], seq, len, false, now_us);
					continue;
				}
				wnd = c->snd_wnd;
				inflight = c->snd_nxt - c->snd_una;
				usable = wnd > inflight ? wnd - inflight : 0;
				usable = DSSH_MIN(usable, c->cwnd - pipe);
			} else if (c->in_recovery && c->sack_ok) {
				pipe = sb_pipe(c);
				if (pipe + c->mss > c->cwnd)
					break;
				/* pipe grows by exactly the bytes resent (HighRxt), so
				 * n MSS at once equal n rounds of one MSS */
				if (sb_next_lost(c, tso != 0 ? DSSH_MIN(tso, c->cwnd - pipe) : c->mss,
				    &seq, &len)) {
					if (len > c->mss)
						len -= len % c->mss;   /* the hole's tail on its own */
					if (k == n)
						goto full;
					len = send_data(c, &segs[k++], seq, len, false, now_us);
					c->high_rxt = seq + len;
					continue;
				}
				wnd = c->snd_wnd;
				inflight = c->snd_nxt - c->snd_una;
				usable = wnd > inflight ? wnd - inflight : 0;
				usable = DSSH_MIN(usable, c->cwnd - pipe);
			} else {
				/* Limited Transmit (RFC 3042): the first two duplicate
				 * ACKs each release one new segment */
				wnd = DSSH_MIN(c->snd_wnd, c->cwnd +
				    (c->in_recovery ? 0 : DSSH_MIN(c->dupacks, 2u) * c->mss) +
				    (c->tlp_due ? c->mss : 0u));   /* RFC 8985 7.3: new data probes */
				inflight = c->snd_nxt - c->snd_una;
				usable = wnd > inflight ? wnd - inflight : 0;
			}
			off = c->snd_nxt - c->snd_una;
			avail = off < c->sq.len ? c->sq.len - off : 0;
			len = DSSH_MIN(DSSH_MIN(avail, usable), (uint32_t)c->mss);
			if (tso != 0 && len == c->mss) {
				/*
				 * Whole MSS only, but for a tail that ends the queued
				 * data with nodelay on: a window-limited tail would
				 * meet SWS avoidance, and with Nagle a tail always
				 * waits (the first part of this segment is in flight).
				 * The next round decides on such a tail alone.
				 */
				len = DSSH_MIN(DSSH_MIN(avail, usable), tso);
				if (len != avail || !c->nodelay)
					len -= len % c->mss;
			}
			fin_pending = c->fin_queued && c->snd_nxt == end_data && !c->fin_sent;
			if (c->fin_queued && c->fin_sent && c->snd_nxt == end_data &&
			    SEQ_LT(c->snd_nxt, c->snd_max))
				fin_pending = true;   /* go-back-N after a timeout resends FIN */
			if (len == 0) {
				if (!fin_pending)
					break;
			} else if (len < c->mss && len < avail) {
				/* window-limited runt: sender SWS avoidance (RFC 9293 3.8.6.2.1) */
				if (len < c->max_snd_wnd / 2)
					break;
			} else if (len < c->mss && !c->nodelay && c->snd_max != c->snd_una) {
				break;   /* Nagle */
			}
			if (k == n)
				goto full;
			seq = c->snd_nxt;
			if (!c->rtt_timing && seq == c->snd_max && len > 0) {
				/* time the first MSS only, as without TSO: its ACK
				 * does not wait for the rest of the burst */
				c->rtt_timing = true;
				c->rtt_seq = seq + DSSH_MIN(len, (uint32_t)c->mss);
				c->rtt_start_us = now_us;
			}
			len = send_data(c, &segs[k++], seq, len, true, now_us);
			c->snd_nxt = seq + len + !!(c->fin_queued && seq + len == end_data);
			c->snd_max = SEQ_MAX(c->snd_max, c->snd_nxt);
			if (c->tlp_due) {
				c->tlp_due = false;
				c->tlp_out = true;
				c->tlp_rexmit = false;
				c->tlp_end = c->snd_max;
				c->t_tlp = 0;
				c->stack->st.tlp_probes++;
				rto_arm(c, now_us);
			}
		}
		if (c->tlp_due) {
			if (k == n)
				goto full;
			c->tlp_due = false;
			if (c->snd_una != c->snd_max && !c->in_recovery)
				tlp_send_last(c, &segs[k++], now_us);
		}
		/* zero window: arm the persist timer (RFC 9293 3.8.6.1) */
		off = c->snd_nxt - c->snd_una;
		if (c->snd_wnd == 0 && off < c->sq.len && c->snd_max == c->snd_una &&
		    c->t_persist == 0) {
			timer_arm(c, &c->t_persist,
			    now_us + (rto_cur(c) << DSSH_MIN(c->persist_backoff, 10u)), now_us);
		}
		if (c->persist_probe) {
			if (k == n)
				goto full;
			c->persist_probe = false;
			if (c->sq.len > off && c->snd_wnd == 0) {
				/* one byte past the window, snd_nxt unchanged */
				emit(c, &segs[k++], c->snd_nxt, DSSH_TCP_ACK, 1, now_us);
				c->snd_max = SEQ_MAX(c->snd_max, c->snd_nxt + 1);
				c->stack->st.zwp_sent++;
			}
		}
	}
	if (c->state != DSSH_TCP_SYN_SENT && c->state != DSSH_TCP_CLOSED &&
	    (c->state != DSSH_TCP_SYN_RCVD || c->snd_nxt != c->iss)) {
		/* a data segment just sent carried one of the owed ACKs */
		if (!c->ack_now && c->dupacks_owed > 0)
			c->dupacks_owed--;
		while (c->ack_now || c->dupacks_owed > 0) {
			if (k == n)
				goto full;
			emit(c, &segs[k++], ack_seq(c), DSSH_TCP_ACK, 0, now_us);
			if (c->dupacks_owed > 0)
				c->dupacks_owed--;
		}
	}
	c->dupacks_owed = 0;
	return k;
 full:
	*more = true;
	return k;
}

unsigned
dssh_tcp_output(struct dssh_tcp_stack *s, struct dssh_tcp_seg_out *segs, unsigned n,
    uint64_t now_us)
{
	struct dssh_tcp_conn *c;
	unsigned k = 0;
	bool more;

	while (k < n && s->ctlq_n > 0) {
		segs[k++] = s->ctlq[s->ctlq_head];
		s->ctlq_head = (s->ctlq_head + 1) % TCP_CTL_QUEUE;
		s->ctlq_n--;
	}
	while (k < n && (c = s->out_head) != NULL) {
		k += conn_output(c, segs + k, n - k, now_us, &more);
		if (more)
			break;
		s->out_head = c->out_next;
		if (s->out_head == NULL)
			s->out_tail = NULL;
		c->on_out = false;
	}
	return k;
}

/* ---- closing ---- */

static void
conn_reset(struct dssh_tcp_conn *c, uint32_t ev)
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
		ev_post(c, ev);
		return;
	}
	c->dead = true;
	conn_free(c);
}

static void
enter_time_wait(struct dssh_tcp_conn *c, uint64_t now_us)
{
	c->state = DSSH_TCP_TIME_WAIT;
	c->t_rto = c->t_persist = c->t_keep = 0;
	/* nothing is read any more: out-of-order buffers go now, not in 2 MSL */
	tcp_rxq_prune(&c->rq);
	c->ooo_n = 0;
	timer_arm(c, &c->t_tw, now_us + 2ull * c->stack->conf.msl_us, now_us);
	c->stack->st.conns_closed++;
	ev_post(c, DSSH_TCP_EV_CLOSED);
}

/* ---- input ---- */

static bool
challenge_ack(struct dssh_tcp_conn *c, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;

	if (now_us - s->chack_window_us >= 1000000u || now_us < s->chack_window_us) {
		s->chack_window_us = now_us;
		s->chack_count = 0;
	}
	if (s->chack_count >= s->conf.challenge_ack_per_s) {
		s->st.challenge_acks_limited++;
		return false;
	}
	s->chack_count++;
	s->st.challenge_acks++;
	c->ack_now = true;
	out_mark(c);
	return true;
}

static void
negotiate(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h)
{
	const struct dssh_tcp_conf *cf = &c->stack->conf;
	uint32_t peer_mss = h->has_mss ? h->mss : TCP_DEFAULT_MSS;

	c->ws_ok = cf->window_scaling && h->has_ws;
	c->ts_ok = cf->timestamps && h->has_ts;
	c->sack_ok = cf->sack && h->sack_ok;
	c->rack_on = cf->rack && c->sack_ok;
	c->reo_mult = 1;
	if (c->ws_ok) {
		c->snd_wscale = h->ws > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : h->ws;
		c->rcv_wscale = wscale_for(c->rq.size);
	} else {
		c->snd_wscale = c->rcv_wscale = 0;
	}
	if (peer_mss < 88)
		peer_mss = 88;
	c->mss = (uint16_t)DSSH_MIN(peer_mss, (uint32_t)cf->mss);
	if (c->ts_ok)
		c->mss -= 12;
	if (c->ts_ok) {
		c->ts_recent = h->tsval;
		c->ts_recent_us = c->last_rcv_us;
	}
}

static bool
ooo_add(struct dssh_tcp_conn *c, uint32_t start, uint32_t end)
{
	uint32_t i = 0;

	while (i < c->ooo_n) {
		struct seq_range *r = &c->ooo[i];

		if (SEQ_LT(r->end, start) || SEQ_GT(r->start, end)) {
			i++;
			continue;
		}
		start = SEQ_MIN(start, r->start);
		end = SEQ_MAX(end, r->end);
		c->ooo[i] = c->ooo[--c->ooo_n];
	}
	if (c->ooo_n >= c->stack->conf.ooo_max_ranges)
		return false;
	c->ooo[c->ooo_n].start = start;
	c->ooo[c->ooo_n].end = end;
	c->ooo[c->ooo_n].age = ++c->ooo_age;
	c->ooo_n++;
	return true;
}

/* ooo_add() would keep [start, end): it joins a range or there is room. */
static bool
ooo_fits(const struct dssh_tcp_conn *c, uint32_t start, uint32_t end)
{
	for (uint32_t i = 0; i < c->ooo_n; i++)
		if (!SEQ_LT(c->ooo[i].end, start) && !SEQ_GT(c->ooo[i].start, end))
			return true;
	return c->ooo_n < c->stack->conf.ooo_max_ranges;
}

/* Segment text (RFC 9293 3.10.7.4 seventh). seq is the first data byte. */
static void
rcv_data(struct dssh_tcp_conn *c, uint32_t seq, const uint8_t *p, uint32_t len,
    bool *fin, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;
	uint32_t read_seq = c->rcv_nxt - c->rq.len, skip, off, i;
	bool progressed = false, had_ooo = c->ooo_n > 0;

	if (SEQ_LT(seq, c->rcv_nxt)) {
		skip = c->rcv_nxt - seq;
		if (skip >= len) {
			if (len > 0)
				s->st.dup_segs++;
			c->ack_now = true;
			return;
		}
		seq += skip; p += skip; len -= skip;
	}
	off = seq - read_seq;
	if (off >= c->rq.size) {
		*fin = false;
		c->ack_now = true;
		return;
	}
	if (len > c->rq.size - off) {
		len = c->rq.size - off;   /* beyond the window: trimmed */
		*fin = false;
	}
	if (len == 0)
		return;
	if (seq == c->rcv_nxt) {
		uint32_t old_nxt = c->rcv_nxt;

		/* Kept by reference to the segment's buffer, or copied. Should
		 * even that fail (memory, piece count), out-of-order data goes
		 * first: the peer resends what it finds no longer SACKed. */
		if (!tcp_rxq_insert(&c->rq, seq, p, len, s->in_buf, s->in_cost, true) &&
		    c->rq.n > c->rq.nin) {
			tcp_rxq_prune(&c->rq);
			c->ooo_n = 0;
			(void)tcp_rxq_insert(&c->rq, seq, p, len, s->in_buf, s->in_cost, true);
		}
		/* with the out-of-order pieces that now connect */
		tcp_rxq_pull(&c->rq, &c->rcv_nxt);
		progressed = c->rcv_nxt != old_nxt;
		for (i = 0; i < c->ooo_n;) {
			if (SEQ_LEQ(c->ooo[i].start, c->rcv_nxt)) {
				c->ooo[i] = c->ooo[--c->ooo_n];
				continue;
			}
			i++;
		}
	} else {
		s->st.ooo_segs++;
		/* a range is kept only for bytes all stored (SACK promises them) */
		if (!ooo_fits(c, seq, seq + len) ||
		    !tcp_rxq_insert(&c->rq, seq, p, len, s->in_buf, s->in_cost, false) ||
		    !ooo_add(c, seq, seq + len))
			s->st.ooo_dropped++;
		*fin = false;   /* FIN beyond a hole is not processed yet */
		/* an immediate duplicate ACK for each (RFC 5681 4.2), even when a
		 * burst of them is processed before the next output call */
		c->ack_now = true;
		if (c->dupacks_owed < 8)
			c->dupacks_owed++;
	}
	if (progressed) {
		ev_post(c, DSSH_TCP_EV_READABLE);
		/* released by the application: nobody reads, keep the window open */
		if (c->app_released)
			tcp_rxq_consume(&c->rq, c->rq.len);
		if (had_ooo) {
			c->ack_now = true;   /* filled (part of) a hole */
		} else if (++c->segs_unacked >= s->conf.delack_segs) {
			c->ack_now = true;
		} else if (c->t_delack == 0) {
			timer_arm(c, &c->t_delack, now_us + s->conf.delack_us, now_us);
		}
	}
}

static void
became_established(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h)
{
	struct dssh_tcp_stack *s = c->stack;
	/* the window of a SYN segment is never scaled (RFC 7323 2.2) */
	uint8_t sc = (h->flags & DSSH_TCP_SYN) ? 0 : c->snd_wscale;

	if (c->passive && s->nsynrcvd > 0)
		s->nsynrcvd--;
	c->state = DSSH_TCP_ESTABLISHED;
	c->snd_wnd = (uint32_t)h->wnd << sc;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = h->seq;
	c->snd_wl2 = h->ack;
	c->cc->init(c);
	c->backoff = 0;
	c->retries = 0;
	/*
	 * A duplicate SYN rewound snd_nxt to repeat the SYN-ACK; the ACK that
	 * got here first makes the repeat moot. Left rewound, the next output
	 * was that SYN-ACK again and no data ever followed it.
	 */
	if (SEQ_LT(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;
	s->st.conns_opened++;
	if (c->passive) {
		c->app_owned = true;
		ev_post(c, DSSH_TCP_EV_ACCEPTED);
	} else {
		ev_post(c, DSSH_TCP_EV_CONNECTED);
	}
}

/*
 * Our SYN acknowledged by h (the SYN-ACK in SYN-SENT, the ACK in
 * SYN-RECEIVED): the handshake's RTT sample, then established.
 */
static void
syn_acked(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h, uint64_t now_us)
{
	c->snd_una = h->ack;
	c->t_rto = 0;
	if (c->rtt_timing) {
		rtt_sample(c, (uint32_t)(now_us - c->rtt_start_us));
		c->rtt_timing = false;
	}
	became_established(c, h);
}

/*
 * The ACK that ends a recovery episode (RFC 3522 detection; RFC 4015 and
 * RFC 9438 4.9 response). The receiver echoes TS.Recent, which only moves
 * forward and is taken from the segment that advanced its left edge
 * (RFC 7323 4.3): an echo older than the episode's first retransmission
 * says no retransmission of the episode ever advanced it, the originals
 * did; and an episode that resent nothing needed nothing. Either way the
 * "losses" were reordering: the congestion control state from before the
 * episode comes back (cwnd, ssthresh, and CUBIC's W_max, K and epoch).
 */
static void
undo_check(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h)
{
	bool spurious = c->undo_on && (!c->undo_ts_set ||
	    (h->has_ts && SEQ_LT(h->tsecr, c->undo_tsval)));

	c->undo_on = false;
	if (!spurious)
		return;
	c->stack->st.spurious_recoveries++;
	c->cwnd = DSSH_MAX(c->cwnd, c->undo_cwnd);
	c->ssthresh = DSSH_MAX(c->ssthresh, c->undo_ssthresh);
	c->cubic = c->undo_cubic;
}

/* The ACK field in synchronized states (RFC 9293 3.10.7.4 fifth, RFC 5961 5). */
static int
rcv_ack(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;
	uint32_t ack = h->ack, acked, data_acked, wnd = (uint32_t)h->wnd << c->snd_wscale;
	uint32_t una_before = c->snd_una;
	unsigned i;
	bool dup;

	if (SEQ_GT(ack, c->snd_max)) {
		c->ack_now = true;   /* acks something not yet sent */
		return -1;
	}
	if (SEQ_LT(ack, c->snd_una - c->max_snd_wnd)) {
		challenge_ack(c, now_us);
		return -1;
	}
	/*
	 * SACK blocks update the scoreboard (RFC 2018, RFC 6675). Trimmed at
	 * snd_una too: a reordered older ACK may carry blocks that snd_una has
	 * passed, and a scoreboard range below snd_una would make NextSeg()
	 * pick a "hole" of bytes no longer in the send buffer.
	 */
	if (c->sack_ok) {
		uint32_t lo = SEQ_MAX(ack, c->snd_una);

		for (i = 0; i < h->nsack; i++) {
			uint32_t st = h->sack[i][0], en = h->sack[i][1];

			if (!SEQ_LT(st, en) || SEQ_LEQ(en, lo) || SEQ_GT(en, c->snd_max))
				continue;
			if (SEQ_LT(st, lo))
				st = lo;
			sb_add(c, st, en);
		}
	}
	dup = ack == c->snd_una && h->plen == 0 && !(h->flags & (DSSH_TCP_SYN | DSSH_TCP_FIN)) &&
	    wnd == c->snd_wnd && c->snd_max != c->snd_una;
	if (SEQ_GT(ack, c->snd_una)) {
		acked = ack - c->snd_una;
		data_acked = DSSH_MIN(acked, c->sq.len);
		tcp_txq_consume(&c->sq, data_acked);
		c->snd_una = ack;
		if (SEQ_LT(c->snd_nxt, ack))
			c->snd_nxt = ack;
		/* Karn: rtt_timing is cleared on every retransmission */
		if (c->rtt_timing && SEQ_GEQ(ack, c->rtt_seq)) {
			rtt_sample(c, (uint32_t)DSSH_MIN(now_us - c->rtt_start_us, (uint64_t)UINT32_MAX));
			c->rtt_timing = false;
		}
		c->backoff = 0;
		c->retries = 0;
		if (c->snd_una == c->snd_max)
			c->t_rto = 0;
		else
			rto_arm(c, now_us);   /* RFC 6298 5.3 */
		sb_trim(c);
		if (c->in_recovery) {
			if (SEQ_GEQ(ack, c->recover)) {
				c->in_recovery = false;
				c->dupacks = 0;
				/* RFC 8985 6.2 step 4: the window widening wears off */
				if (c->reo_persist > 0 && --c->reo_persist == 0)
					c->reo_mult = 1;
				c->cc->on_recovery_end(c, now_us);
				undo_check(c, h);
			} else if (!c->sack_ok) {
				/* NewReno partial ACK (RFC 6582 3.2 step 5) */
				c->rexmit_una = true;
				c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
				if (acked >= c->mss)
					c->cwnd += c->mss;
				if (c->cwnd < c->mss)
					c->cwnd = c->mss;
			}
		} else {
			c->dupacks = 0;
			c->cc->on_ack(c, acked, now_us);
		}
		if (c->want_writable && c->sq.len < c->sq.size) {
			c->want_writable = false;
			ev_post(c, DSSH_TCP_EV_WRITABLE);
		}
		if (c->t_persist != 0 && c->snd_wnd > 0)
			c->t_persist = 0;
		out_mark(c);
	} else if (dup) {
		c->dupacks++;
		if (c->dupacks <= 2)
			out_mark(c);
		if (c->in_recovery && !c->sack_ok) {
			c->cwnd += c->mss;   /* RFC 6582 3.2 step 4: inflate */
			out_mark(c);
		} else if (c->in_recovery) {
			out_mark(c);
		}
	}
	if (c->rack_on) {
		rack_on_ack(c, h, now_us);
		tlp_on_ack(c, h, now_us);
		if (SEQ_GT(ack, una_before))
			tlp_arm(c, now_us);
	}
	/* Loss recovery entry: three duplicate ACKs, or IsLost(HighACK + 1). */
	/* RFC 6582 3.2 step 2: not again until snd_una passes the old recover point */
	if (!c->in_recovery && !c->rack_on && c->snd_max != c->snd_una && SEQ_GEQ(c->snd_una, c->recover) &&
	    ((dup && c->dupacks >= TCP_DUPTHRESH) ||
	     (c->sack_ok && c->sb_n > 0 && SEQ_GT(c->sb[0].start, c->snd_una) &&
	      sb_lost_below(c, 0)))) {
		{
			c->in_recovery = true;
			c->recover = c->snd_max;
			c->high_rxt = c->snd_una;
			undo_save(c);
			c->cc->on_loss(c, now_us);
			if (!c->sack_ok)
				c->cwnd = c->ssthresh + TCP_DUPTHRESH * c->mss;
			else
				s->st.sack_recoveries++;
			c->rexmit_una = true;
			c->rtt_timing = false;
			s->st.fast_retransmits++;
			out_mark(c);
		}
	}
	/* window update (RFC 9293 3.10.7.4, SND.WL1/WL2) */
	if (SEQ_LT(c->snd_wl1, h->seq) || (c->snd_wl1 == h->seq && SEQ_LEQ(c->snd_wl2, ack))) {
		if (wnd != c->snd_wnd)
			out_mark(c);
		c->snd_wnd = wnd;
		c->snd_wl1 = h->seq;
		c->snd_wl2 = ack;
		if (wnd > c->max_snd_wnd)
			c->max_snd_wnd = wnd;
		if (wnd > 0 && c->t_persist != 0) {
			c->t_persist = 0;
			c->persist_backoff = 0;
		}
	}
	return 0;
}

static bool
fin_is_acked(const struct dssh_tcp_conn *c)
{
	return c->fin_sent && c->sq.len == 0 && c->snd_una == c->snd_max &&
	    c->snd_una == c->snd_nxt;
}

/*
 * PAWS exemption for a disordered pure ACK (as Linux's tcp_disordered_ack):
 * no data, SYN or FIN, at RCV.NXT, its TSval older than TS.Recent by less
 * than an RTO. Jitter on the return path reorders the peer's ACKs all the
 * time (10 +- 5 ms one way: about every other ACK at one per two
 * segments); RFC 7323 5.3 R1 would drop each one, its SACK blocks with
 * it, and answer it with an ACK of our own. An old duplicate from a
 * previous wrap of the sequence space (what PAWS guards against) is not
 * that recent, and an ACK carries nothing to be duplicated: rcv_ack
 * ignores a cumulative ACK below SND.UNA and SND.WL1/WL2 keep an older
 * window out.
 */
static bool
paws_disordered_ack(const struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h,
    uint32_t seglen)
{
	return seglen == 0 && (h->flags & DSSH_TCP_ACK) && h->seq == c->rcv_nxt &&
	    synchronized_send(c) &&
	    c->ts_recent - h->tsval <= DSSH_MAX(rto_cur(c) / 1000u, (uint64_t)1);
}

static void
conn_input(struct dssh_tcp_conn *c, const struct dssh_tcp_hdr *h, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;
	uint32_t seq = h->seq, seglen, wnd;
	bool acceptable, fin;

	c->last_rcv_us = now_us;
	c->keep_probes = 0;
	if (c->keepalive && c->state == DSSH_TCP_ESTABLISHED) {
		timer_arm(c, &c->t_keep, now_us + s->conf.keepalive_idle_us, now_us);
	}
	seglen = (uint32_t)h->plen + !!(h->flags & DSSH_TCP_SYN) + !!(h->flags & DSSH_TCP_FIN);

	if (c->state == DSSH_TCP_SYN_SENT) {
		if ((h->flags & DSSH_TCP_ACK) &&
		    (SEQ_LEQ(h->ack, c->iss) || SEQ_GT(h->ack, c->snd_max))) {
			if (!(h->flags & DSSH_TCP_RST))
				send_rst_for(s, c->raddr, c->laddr, h);
			return;
		}
		if (h->flags & DSSH_TCP_RST) {
			if (h->flags & DSSH_TCP_ACK) {
				s->st.rst_rcvd++;
				s->st.conns_reset++;
				conn_reset(c, DSSH_TCP_EV_RESET);
			}
			return;
		}
		if (!(h->flags & DSSH_TCP_SYN))
			return;
		c->irs = seq;
		c->rcv_nxt = seq + 1;
		negotiate(c, h);
		if (h->flags & DSSH_TCP_ACK) {
			syn_acked(c, h, now_us);
			c->ack_now = true;
		} else {
			/* simultaneous open: SYN-ACK from SYN-RECEIVED */
			c->state = DSSH_TCP_SYN_RCVD;
			c->snd_nxt = c->iss;
			c->t_rto = 0;
		}
		out_mark(c);
		return;
	}

	if (c->state == DSSH_TCP_SYN_RCVD && (h->flags & DSSH_TCP_SYN) &&
	    !(h->flags & (DSSH_TCP_ACK | DSSH_TCP_RST)) && seq == c->irs) {
		if (c->snd_nxt != c->iss)
			c->snd_nxt = c->iss;    /* duplicate SYN: repeat the SYN-ACK */
		out_mark(c);
		return;
	}

	/* PAWS (RFC 7323 5.3) before the sequence check */
	if (c->ts_ok && !(h->flags & DSSH_TCP_RST)) {
		if (!h->has_ts && c->state != DSSH_TCP_SYN_RCVD)
			return;     /* RFC 7323 3.2: drop non-RST segments without TSopt */
		/* RFC 7323 5.5: TS.Recent idle for over 24 days is no longer valid */
		if (h->has_ts && now_us - c->ts_recent_us > 24ull * 86400 * 1000000)
			c->ts_recent = h->tsval;
		if (h->has_ts && (int32_t)(h->tsval - c->ts_recent) < 0 &&
		    !paws_disordered_ack(c, h, seglen)) {
			s->st.paws_drops++;
			c->ack_now = true;
			out_mark(c);
			return;
		}
	}

	/* sequence acceptability (RFC 9293 3.10.7.4 first) */
	wnd = rcv_space(c);
	if (seglen == 0)
		acceptable = wnd == 0 ? seq == c->rcv_nxt :
		    SEQ_LEQ(c->rcv_nxt, seq) && SEQ_LT(seq, c->rcv_nxt + wnd);
	else
		acceptable = wnd != 0 &&
		    ((SEQ_LEQ(c->rcv_nxt, seq) && SEQ_LT(seq, c->rcv_nxt + wnd)) ||
		     (SEQ_LEQ(c->rcv_nxt, seq + seglen - 1) &&
		      SEQ_LT(seq + seglen - 1, c->rcv_nxt + wnd)));
	if (!acceptable && wnd == 0 && seglen > 0 && seq == c->rcv_nxt && !(h->flags & DSSH_TCP_RST)) {
		/* zero window: process the ACK, answer the probe (RFC 9293 3.8.6.1) */
		if ((h->flags & DSSH_TCP_ACK) && synchronized_send(c))
			rcv_ack(c, h, now_us);
		c->ack_now = true;
		out_mark(c);
		return;
	}
	if (!acceptable) {
		if (!(h->flags & DSSH_TCP_RST)) {
			if (h->plen > 0 && SEQ_LEQ(seq + seglen, c->rcv_nxt))
				s->st.dup_segs++;
			else
				s->st.out_of_window++;
			if (c->state == DSSH_TCP_TIME_WAIT && (h->flags & DSSH_TCP_FIN)) {
				/* the peer's FIN again: re-ACK and restart 2 MSL (RFC 9293 3.10.7.4) */
				timer_arm(c, &c->t_tw, now_us + 2ull * s->conf.msl_us, now_us);
			}
			c->ack_now = true;
			out_mark(c);
		}
		return;
	}

	/* RST (RFC 5961 3.2): exact match resets, otherwise challenge ACK */
	if (h->flags & DSSH_TCP_RST) {
		if (seq != c->rcv_nxt) {
			challenge_ack(c, now_us);
			return;
		}
		s->st.rst_rcvd++;
		if (c->state == DSSH_TCP_SYN_RCVD && c->passive) {
			conn_reset(c, 0);
			return;
		}
		if (c->state == DSSH_TCP_TIME_WAIT || c->state == DSSH_TCP_LAST_ACK ||
		    c->state == DSSH_TCP_CLOSING) {
			conn_reset(c, DSSH_TCP_EV_CLOSED);
			return;
		}
		s->st.conns_reset++;
		conn_reset(c, DSSH_TCP_EV_RESET);
		return;
	}

	/* RFC 7323 4.3 and 5.3 R3: TS.Recent from segments covering
	 * Last.ACK.sent, never backwards (a disordered ACK passed PAWS) */
	if (c->ts_ok && h->has_ts && SEQ_LEQ(seq, c->last_ack_sent) &&
	    (int32_t)(h->tsval - c->ts_recent) >= 0) {
		c->ts_recent = h->tsval;
		c->ts_recent_us = now_us;
	}

	/* SYN in a synchronized state: challenge ACK (RFC 5961 4.2) */
	if (h->flags & DSSH_TCP_SYN) {
		challenge_ack(c, now_us);
		return;
	}
	if (!(h->flags & DSSH_TCP_ACK))
		return;

	if (c->state == DSSH_TCP_SYN_RCVD) {
		if (SEQ_LEQ(h->ack, c->iss) || SEQ_GT(h->ack, c->snd_max)) {
			send_rst_for(s, c->raddr, c->laddr, h);
			return;
		}
		syn_acked(c, h, now_us);
		if (c->fin_queued)
			c->state = DSSH_TCP_FIN_WAIT_1;
		out_mark(c);
	} else if (c->state != DSSH_TCP_TIME_WAIT && c->state != DSSH_TCP_CLOSED) {
		if (rcv_ack(c, h, now_us) != 0) {
			out_mark(c);
			return;
		}
	}

	/* our FIN acknowledged */
	if (fin_is_acked(c)) {
		switch (c->state) {
		case DSSH_TCP_FIN_WAIT_1:
			c->state = DSSH_TCP_FIN_WAIT_2;
			/* nobody owns it any more: do not wait forever for the
			 * peer's FIN (the t_tw expiry frees the connection);
			 * after dssh_tcp_shutdown the owner still reads */
			if (c->app_released) {
				timer_arm(c, &c->t_tw, now_us + 2ull * s->conf.msl_us, now_us);
			}
			break;
		case DSSH_TCP_CLOSING:
			enter_time_wait(c, now_us);
			break;
		case DSSH_TCP_LAST_ACK:
			s->st.conns_closed++;
			conn_reset(c, DSSH_TCP_EV_CLOSED);
			return;
		default:
			break;
		}
	}

	/* segment text and FIN */
	fin = (h->flags & DSSH_TCP_FIN) != 0;
	switch (c->state) {
	case DSSH_TCP_ESTABLISHED: case DSSH_TCP_FIN_WAIT_1: case DSSH_TCP_FIN_WAIT_2:
		if (h->plen > 0 || fin)
			rcv_data(c, seq, h->payload, (uint32_t)h->plen, &fin, now_us);
		if (fin && seq + (uint32_t)h->plen != c->rcv_nxt)
			fin = false;
		break;
	case DSSH_TCP_TIME_WAIT:
		if (fin) {
			/* retransmitted FIN: ACK it and restart 2 MSL */
			c->ack_now = true;
			timer_arm(c, &c->t_tw, now_us + 2ull * s->conf.msl_us, now_us);
			out_mark(c);
		}
		return;
	default:
		if (h->plen > 0 && seq + h->plen != c->rcv_nxt)
			c->ack_now = true;
		fin = false;
		break;
	}
	if (fin) {
		c->rcv_nxt++;
		c->fin_rcvd = true;
		c->ack_now = true;
		ev_post(c, DSSH_TCP_EV_PEER_FIN);
		switch (c->state) {
		case DSSH_TCP_ESTABLISHED:
			c->state = DSSH_TCP_CLOSE_WAIT;
			break;
		case DSSH_TCP_FIN_WAIT_1:
			if (fin_is_acked(c))
				enter_time_wait(c, now_us);
			else
				c->state = DSSH_TCP_CLOSING;
			break;
		case DSSH_TCP_FIN_WAIT_2:
			enter_time_wait(c, now_us);
			break;
		default:
			break;
		}
	}
	if (c->ack_now || c->t_delack != 0 || c->rexmit_una)
		out_mark(c);
	if (c->ack_now)
		out_mark(c);
}

/* ---- SYN cookies ---- */

static uint32_t
cookie_hash(struct dssh_tcp_stack *s, uint32_t laddr, uint16_t lport,
    uint32_t raddr, uint16_t rport, uint32_t peer_isn, uint32_t t)
{
	return (uint32_t)tuple_mac(s, s->cookie_secret, laddr, lport, raddr, rport, peer_isn, t) &
	    0xffffffu;
}

/* ISN = t mod 32 (5 bits) | MSS index (3 bits) | 24-bit keyed hash. */
static void
cookie_synack(struct dssh_tcp_stack *s, uint32_t saddr, uint32_t daddr,
    const struct dssh_tcp_hdr *h, uint64_t now_us)
{
	struct dssh_tcp_seg_out *o;
	uint32_t t = (uint32_t)(now_us / COOKIE_PERIOD_US), mss = h->has_mss ? h->mss : 536;
	uint32_t idx = 0, isn, i;
	uint8_t *p;

	for (i = 0; i < DSSH_ARRAY_SIZE(cookie_mss_tab); i++)
		if (cookie_mss_tab[i] <= mss && cookie_mss_tab[i] <= s->conf.mss)
			idx = i;
	isn = (t & 0x1f) << 27 | idx << 24 |
	    cookie_hash(s, daddr, h->dport, saddr, h->sport, h->seq, t);
	if ((o = ctl_slot(s)) == NULL)
		return;
	o->saddr = daddr;
	o->daddr = saddr;
	p = hdr_start(o, h->dport, h->sport, isn, h->seq + 1, DSSH_TCP_SYN | DSSH_TCP_ACK,
	    (uint16_t)DSSH_MIN(s->conf.rcvbuf, 65535u));
	*p++ = 2; *p++ = 4;
	p = put16(p, cookie_mss_tab[idx]);
	/*
	 * The ISN has room for the MSS only. With timestamps the peer echoes
	 * our TSval, so its low 6 bits carry the rest: bits 0-3 the peer's
	 * window scale (15 = none), bit 4 SACK permitted. Without timestamps
	 * a cookie connection has no window scaling and no SACK.
	 */
	if (s->conf.timestamps && h->has_ts) {
		bool ws = s->conf.window_scaling && h->has_ws;
		bool sack = s->conf.sack && h->sack_ok;
		uint32_t bits = (ws ? DSSH_MIN(h->ws, (uint8_t)TCP_MAX_WSCALE) : 15u) |
		    (sack ? 0x10u : 0u);
		uint32_t tsv = (uint32_t)(now_us / 1000u) +
		    ts_offset(s, daddr, h->dport, saddr, h->sport) - 64u;

		if (sack) {
			*p++ = 4; *p++ = 2;
		} else {
			*p++ = 1; *p++ = 1;
		}
		*p++ = 8; *p++ = 10;
		p = put32(p, (tsv & ~0x3fu) | bits);
		p = put32(p, h->tsval);
		if (ws) {
			*p++ = 1; *p++ = 3; *p++ = 3;
			*p++ = wscale_for(s->conf.rcvbuf);
		}
	}
	hdr_end(o, p);
	seg_finish(s, o);
	s->st.syn_cookies_sent++;
}

static struct dssh_tcp_conn *
cookie_check(struct dssh_tcp_stack *s, uint32_t saddr, uint32_t daddr,
    const struct dssh_tcp_hdr *h, uint64_t now_us)
{
	uint32_t isn = h->ack - 1, peer_isn = h->seq - 1, t5 = isn >> 27;
	uint32_t tnow = (uint32_t)(now_us / COOKIE_PERIOD_US), t, age;
	struct dssh_tcp_conn *c;
	struct dssh_tcp_hdr fake;

	age = (tnow - t5) & 0x1f;
	if (age > 1)
		return NULL;     /* older than 64-128 s */
	t = tnow - age;
	if (cookie_hash(s, daddr, h->dport, saddr, h->sport, peer_isn, t) != (isn & 0xffffff))
		return NULL;
	if ((c = conn_new(s, daddr, h->dport, saddr, h->sport, now_us)) == NULL)
		return NULL;
	c->passive = true;
	c->iss = isn;
	c->snd_una = c->snd_nxt = c->snd_max = isn + 1;
	c->recover = c->snd_una;
	c->irs = peer_isn;
	c->rcv_nxt = peer_isn + 1;
	memset(&fake, 0, sizeof(fake));
	fake.has_mss = true;
	fake.mss = cookie_mss_tab[(isn >> 24) & 7];
	if (h->has_ts && s->conf.timestamps) {
		/* options encoded in the TSval we sent, echoed as TSecr */
		fake.has_ts = true;
		fake.tsval = h->tsval;
		fake.has_ws = (h->tsecr & 0xf) != 15;
		fake.ws = (uint8_t)(h->tsecr & 0xf);
		fake.sack_ok = (h->tsecr & 0x10) != 0;
	}
	negotiate(c, &fake);
	c->state = DSSH_TCP_SYN_RCVD;
	s->nsynrcvd++;
	c->last_ack_sent = c->rcv_nxt;
	return c;
}

/* ---- input entry point ---- */

int
dssh_tcp_input(struct dssh_tcp_stack *s, const struct dssh_tcp_seg_in *seg, uint64_t now_us)
{
	struct dssh_tcp_hdr h;
	struct dssh_tcp_conn *c;
	const uint8_t *pay[1];
	uint32_t plen[1];
	uint16_t ck;
	int r;

	s->st.in_segs++;
	if (seg == NULL || seg->data == NULL || seg->len > 65535u) {
		s->st.in_bad_hdr++;
		return DSSH_ERR_INVALID_ARGUMENT;
	}
	if ((r = dssh_tcp_parse(seg->data, seg->len, &h)) != 0) {
		if (seg->len >= TCP_HDR_MIN && (seg->data[12] >> 4) * 4u >= TCP_HDR_MIN &&
		    (seg->data[12] >> 4) * 4u <= seg->len)
			s->st.in_bad_opt++;
		else
			s->st.in_bad_hdr++;
		return r;
	}
	if (!(seg->flags & DSSH_TCP_SEG_CSUM_OK)) {
		pay[0] = h.payload;
		plen[0] = (uint32_t)h.plen;
		ck = dssh_tcp_checksum(seg->saddr, seg->daddr, seg->data, h.doff, pay, plen, 1);
		if (ck != h.csum && !(ck == 0 && h.csum == 0xffff) && !(ck == 0xffff && h.csum == 0)) {
			s->st.in_bad_csum++;
			return DSSH_ERR_INVALID_FORMAT;
		}
	}
	if (h.sport == 0 || h.dport == 0 ||
	    (h.flags & (DSSH_TCP_SYN | DSSH_TCP_FIN)) == (DSSH_TCP_SYN | DSSH_TCP_FIN) ||
	    (h.flags & (DSSH_TCP_SYN | DSSH_TCP_RST)) == (DSSH_TCP_SYN | DSSH_TCP_RST)) {
		s->st.in_bad_hdr++;
		return DSSH_ERR_INVALID_FORMAT;
	}
	c = dssh_tcp_lookup(s, seg->daddr, h.dport, seg->saddr, h.sport);
	if (c != NULL) {
		/* payload kept by reference only where the driver gave its buffer */
		s->in_buf = s->conf.buf_ops != NULL ? seg->buf : NULL;
		s->in_cost = seg->buf_cost;
		conn_input(c, &h, now_us);
		s->in_buf = NULL;
		return 0;
	}
	s->st.in_no_conn++;
	if (listener_find(s, seg->daddr, h.dport, false) == NULL) {
		send_rst_for(s, seg->saddr, seg->daddr, &h);
		return 0;
	}
	/* LISTEN (RFC 9293 3.10.7.2) */
	if (h.flags & DSSH_TCP_RST)
		return 0;
	if (h.flags & DSSH_TCP_ACK) {
		if (!(h.flags & DSSH_TCP_SYN) &&
		    (c = cookie_check(s, seg->saddr, seg->daddr, &h, now_us)) != NULL) {
			s->st.syn_cookies_ok++;
			conn_input(c, &h, now_us);
			return 0;
		}
		if (!(h.flags & DSSH_TCP_SYN))
			s->st.syn_cookies_bad++;
		send_rst_for(s, seg->saddr, seg->daddr, &h);
		return 0;
	}
	if (!(h.flags & DSSH_TCP_SYN))
		return 0;
	if (s->nsynrcvd >= s->conf.syn_backlog || s->nconns >= s->conf.max_conns) {
		cookie_synack(s, seg->saddr, seg->daddr, &h, now_us);
		return 0;
	}
	if ((c = conn_new(s, seg->daddr, h.dport, seg->saddr, h.sport, now_us)) == NULL) {
		s->st.syn_dropped++;
		return 0;
	}
	/* data on a SYN is not accepted (no TCP Fast Open): the peer resends it */
	c->passive = true;
	c->state = DSSH_TCP_SYN_RCVD;
	s->nsynrcvd++;
	c->irs = h.seq;
	c->rcv_nxt = h.seq + 1;
	negotiate(c, &h);
	c->last_ack_sent = c->rcv_nxt;
	c->rtt_timing = true;
	c->rtt_seq = c->iss + 1;
	c->rtt_start_us = now_us;
	out_mark(c);
	return 0;
}

/* ---- timers ---- */

/* Returns false when the connection was freed. */
static bool
on_rto(struct dssh_tcp_conn *c, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;
	uint32_t limit = (c->state == DSSH_TCP_SYN_SENT || c->state == DSSH_TCP_SYN_RCVD) ?
	    s->conf.syn_retries : s->conf.max_retries;

	c->t_rto = 0;
	if (c->snd_una == c->snd_max && c->state != DSSH_TCP_SYN_SENT &&
	    c->state != DSSH_TCP_SYN_RCVD)
		return true;
	if (++c->retries > limit) {
		bool owned = c->app_owned;

		s->st.conns_timedout++;
		conn_reset(c, DSSH_TCP_EV_RESET);
		return owned;
	}
	s->st.rto_expired++;
	/* RFC 5681 eq. (4) on the first timeout only; later ones keep ssthresh */
	if (synchronized_send(c)) {
		if (c->backoff == 0)
			c->cc->on_rto(c, now_us);
		else
			c->cwnd = c->mss;
	}
	c->backoff++;                 /* RFC 6298 5.5 */
	c->rtt_timing = false;        /* Karn */
	c->in_recovery = false;
	c->undo_on = false;           /* the timeout's response is not undone */
	c->dupacks = 0;
	c->sb_n = 0;                  /* forget SACK state: resend from snd_una */
	for (uint32_t i = 0; i < c->rs_n; i++)   /* and RACK's: go-back-N resends all */
		c->rs[i].flags &= (uint8_t)~(TCP_RS_SACKED | TCP_RS_LOST);
	c->t_reo = c->t_tlp = 0;
	c->tlp_due = c->tlp_out = false;
	c->high_rxt = c->snd_una;
	c->recover = c->snd_max;
	c->snd_nxt = c->snd_una;      /* go back N */
	if (c->state == DSSH_TCP_SYN_SENT || c->state == DSSH_TCP_SYN_RCVD)
		c->snd_nxt = c->iss;
	rto_arm(c, now_us);
	out_mark(c);
	return true;
}

/*
 * The timers of c due at now_us, the wheel having taken c off. Returns
 * false when c was closed (and perhaps freed).
 */
static bool
conn_timers(struct dssh_tcp_conn *c, uint64_t now_us)
{
	struct dssh_tcp_stack *s = c->stack;

	if (c->t_tw != 0 && now_us >= c->t_tw) {
		c->t_tw = 0;
		conn_reset(c, 0);
		return false;
	}
	if (c->t_rto != 0 && now_us >= c->t_rto) {
		if (!on_rto(c, now_us) || c->state == DSSH_TCP_CLOSED)
			return false;
	}
	if (c->t_reo != 0 && now_us >= c->t_reo)
		rack_on_reo_timer(c, now_us);
	if (c->t_tlp != 0 && now_us >= c->t_tlp) {
		c->t_tlp = 0;
		if (c->rack_on && !c->in_recovery && c->snd_una != c->snd_max) {
			c->tlp_due = true;
			out_mark(c);
		}
	}
	if (c->t_delack != 0 && now_us >= c->t_delack) {
		c->t_delack = 0;
		c->ack_now = true;
		out_mark(c);
	}
	if (c->t_persist != 0 && now_us >= c->t_persist) {
		c->persist_probe = true;
		c->persist_backoff++;
		timer_arm(c, &c->t_persist,
		    now_us + DSSH_MIN(rto_cur(c) << DSSH_MIN(c->persist_backoff, 10u),
		    (uint64_t)s->conf.rto_max_us), now_us);
		out_mark(c);
	}
	if (c->t_keep != 0 && now_us >= c->t_keep) {
		if (c->keep_probes >= s->conf.keepalive_probes) {
			s->st.conns_timedout++;
			conn_reset(c, DSSH_TCP_EV_RESET);
			return false;
		}
		c->t_keep = 0;
		if (c->state == DSSH_TCP_ESTABLISHED || c->state == DSSH_TCP_CLOSE_WAIT) {
			struct dssh_tcp_seg_out *o = ctl_slot(s);

			/* SEG.SEQ = SND.NXT - 1: the peer must answer with an ACK */
			if (o != NULL) {
				emit(c, o, c->snd_una - 1, DSSH_TCP_ACK, 0, now_us);
				o->conn = NULL;
				s->st.keepalive_sent++;
			}
			c->keep_probes++;
		}
		timer_arm(c, &c->t_keep, now_us + s->conf.keepalive_intvl_us, now_us);
	}
	return true;
}

/*
 * The wheel hands over only the connections it has filed at or before
 * now_us; each runs its due timers and is filed again at its next one.
 * The cost is that of the expiring connections (plus the wheel's slot and
 * turn bookkeeping), not of all connections.
 */
uint64_t
dssh_tcp_timers(struct dssh_tcp_stack *s, uint64_t now_us)
{
	struct dssh_tcp_conn *due, *c;
	uint64_t m;

	if (now_us < s->next_timer_us)
		return s->next_timer_us;
	tcp_wheel_expire(&s->wheel, now_us, &due);
	while ((c = due) != NULL) {
		tcp_wheel_unlink(&s->wheel, c);
		if (!conn_timers(c, now_us))
			continue;
		m = conn_deadline(c);
		if (m == UINT64_MAX)
			tcp_wheel_unlink(&s->wheel, c);
		else if (c->w_pprev == NULL || c->w_due != m)
			tcp_wheel_file(&s->wheel, c, m, now_us);
	}
	s->next_timer_us = tcp_wheel_next(&s->wheel, conn_deadline);
	return s->next_timer_us;
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
	if ((c = conn_new(s, laddr, lport, raddr, rport, now_us)) == NULL)
		return s->nconns >= s->conf.max_conns ? DSSH_ERR_BUSY : DSSH_ERR_ALLOC;
	c->state = DSSH_TCP_SYN_SENT;
	c->app_owned = true;
	c->rcv_wscale = s->conf.window_scaling ? wscale_for(c->rq.size) : 0;
	c->rtt_timing = true;
	c->rtt_seq = c->iss + 1;
	c->rtt_start_us = now_us;
	out_mark(c);
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
	out_mark(c);
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
		out_mark(c);
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
	out_mark(c);
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
	new_edge = c->rcv_nxt + ((rcv_space(c) >> c->rcv_wscale) << c->rcv_wscale);
	thresh = DSSH_MIN(c->rq.size / 2, 2u * c->mss);
	if (c->state != DSSH_TCP_CLOSED && SEQ_GEQ(new_edge, old_edge + thresh) &&
	    c->state >= DSSH_TCP_ESTABLISHED) {
		c->ack_now = true;
		out_mark(c);
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
	    c->state != DSSH_TCP_TIME_WAIT && (o = ctl_slot(s)) != NULL) {
		emit(c, o, ack_seq(c), DSSH_TCP_RST | DSSH_TCP_ACK, 0, now_us);
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
	out_mark(c);
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
	out_mark(c);
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
		out_mark(c);
}

void
dssh_tcp_set_keepalive(struct dssh_tcp_conn *c, bool on, uint64_t now_us)
{
	c->keepalive = on;
	c->keep_probes = 0;
	timer_arm(c, &c->t_keep, on ? now_us + c->stack->conf.keepalive_idle_us : 0, now_us);
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
	i->snd_wnd = c->snd_wnd; i->rcv_nxt = c->rcv_nxt; i->rcv_wnd = rcv_space(c);
	i->mss = c->mss;
	i->snd_wscale = c->ws_ok ? c->snd_wscale : 0xff;
	i->rcv_wscale = c->ws_ok ? c->rcv_wscale : 0xff;
	i->ts_ok = c->ts_ok; i->sack_ok = c->sack_ok;
	i->cwnd = c->cwnd; i->ssthresh = c->ssthresh;
	i->srtt_us = c->srtt_us; i->rttvar_us = c->rttvar_us; i->rto_us = (uint32_t)rto_cur(c);
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
		else if (c->snd_una == c->snd_max && synchronized_send(c) && off < c->sq.len &&
		    c->snd_wnd > 0 && !c->on_out && t == UINT64_MAX)
			why = "sendable data, nothing in flight, no output or timer";
		else if (c->snd_una == c->snd_max && synchronized_send(c) && off < c->sq.len &&
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
