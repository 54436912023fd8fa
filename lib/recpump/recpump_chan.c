/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Channel offload on a data core (dssh_record.h): an exec/subsystem
 * channel's data moves between the peer and the child's pipes here, both
 * ways, instead of crossing to the control thread and back.
 *
 * From CHAN_OFFLOAD on, the peer's CHANNEL_DATA, EXTENDED_DATA, EOF and
 * WINDOW_ADJUST for the channel are taken out of the opened packets; until
 * CHAN_GO they are only queued (the host may still hold bytes for stdin,
 * and the window is the engine's). With CHAN_GO the window is ours (the
 * rules of dssh_chan_win.h): data goes to stdin (what the pipe does not take
 * waits, bounded by the window, which is given back only as stdin takes
 * it), stdout and stderr are read straight into packets sealed after the
 * engine's records, within the peer's window and the TCP send space, and
 * never from a KEXINIT the core sealed until the TX_KEYS after it.
 *
 * A relayed socket (a forwarded channel's target, app/dsshd/forward.c) is
 * the same with stdin and stdout two duplicates of the socket and no
 * stderr: the peer's EOF shuts it down for writing (the other duplicates
 * would keep a plain close from sending a FIN), and a read or write error
 * other than EPIPE (a reset) ends stdout as failed, which the host turns
 * into a CLOSE instead of an EOF.
 *
 * A target the core connected itself (CHAN_CONNECT: a direct-tcpip target
 * on the data plane's own network) is the same again with the core's own
 * TCP connection in place of the socket (fd[] then only says open or
 * closed): the peer's data goes into its send buffer (what it does not take
 * waits, WRITABLE brings it back), its bytes are read into packets, the
 * peer's EOF is dssh_tcp_shutdown (a FIN, reading goes on), a reset ends
 * stdout as failed. Until the connect completes (CONNECTED up, then the
 * engine's confirmation and GO) or fails (reset, refused, or nothing within
 * DSSH_RECPUMP_CONNECT_TIMEOUT_US) the channel is only reserved.
 *
 * The fds are the core's own duplicates: it closes them (stdin after the
 * peer's EOF and the queue, stdout/stderr at their end, all of them at
 * CHAN_RECLAIM or when the connection goes), so the host's copies never
 * matter. They are watched edge-triggered: every read or write is tried
 * until it would block, and whatever stops it for another reason (window,
 * TCP space, a key exchange) has its own event that brings the connection
 * back (an adjust, WRITABLE, the TX_KEYS marker).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dssh_buf.h"
#include "dssh_chan_win.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_pipe.h"
#include "dssh_record.h"
#include "dssh_tcp.h"
#include "dssh_util.h"
#include "recpump_int.h"
#include "ssh_msg.h"

enum { CH_IN, CH_OUT, CH_ERR };

#define CHAN_PIPE_SIZE (1u << 20)       /* asked of the child's pipes: fewer syscalls */
/*
 * Child output shorter than this (and than a packet) waits up to
 * CHAN_HOLD_NS for more before it goes: a child that writes many small
 * pieces (an sftp server's status replies, the tail of a reply one byte
 * past a packet) would otherwise cost a packet, and the client a wake-up,
 * each. The same coalescing the control thread's slower path gave by
 * accident; like Nagle's, bounded in time.
 */
#define CHAN_SMALL 4096
#define CHAN_HOLD_NS 200000
#define CHAN_POLL_MAX 64
#define CHAN_TC_FD INT32_MAX            /* fd[] of a target connection: open */

struct rp_chan {
	struct dssh_recpump_conn *c;
	struct rp_chan *next;
	uint32_t local, remote, maxpkt;
	int fd[3];                  /* the core's own; -1 once closed */
	bool go;                    /* the window is ours */
	struct dssh_chan_win win;
	uint64_t pre_rx;            /* before GO: data bytes the peer sent */
	uint64_t pre_ext;           /* of which extended (discarded) */
	uint32_t pre_adj;           /* before GO: the peer's adjusts */
	bool eof_rcvd;              /* the peer's EOF */
	bool eof_up;                /* EOF_IN went up (stdin closed) */
	bool failed;                /* writing stdin failed (not EPIPE): a reset */
	bool sock;                  /* a relayed socket (no stderr): no holding */
	uint64_t hold_until[3];     /* out/err: small output waits until then (0: not) */
	struct dssh_buf q;          /* for stdin, not written yet */
	struct dssh_tcp_conn *tc;   /* CHAN_CONNECT: the target (our TCP) */
	bool connecting;            /* its connect is under way */
	uint64_t deadline_us;       /* ... until then */
	struct rp_chan *cnext;      /* on p->connecting */
};

int
rp_chan_init(struct dssh_recpump *p)
{
	if ((p->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return DSSH_ERR_SYSTEM;
	return 0;
}

void
rp_chan_fini(struct dssh_recpump *p)
{
	/* (the TCP stack frees what is left in it) */
	free(p->graves);
	p->graves = NULL;
	p->ngraves = p->cap_graves = 0;
	if (p->epfd >= 0)
		close(p->epfd);
	p->epfd = -1;
}

int
dssh_recpump_chan_fd(const struct dssh_recpump *p)
{
	return p->epfd;
}

bool
dssh_recpump_chan_active(const struct dssh_recpump *p)
{
	return p->nchans > 0;
}

/* ---- markers up ---- */

static void
up_marker(struct dssh_recpump_conn *c, uint32_t kind, uint32_t id, int which)
{
	uint8_t m[DSSH_REC_MARK_HDR + 8];
	size_t n = which != 0 ? DSSH_REC_CHAN_OUT_EOF_LEN : DSSH_REC_CHAN_ID_LEN;

	dssh_put_u32be(m, DSSH_REC_MARK | kind);
	dssh_put_u32be(m + 4, (uint32_t)n);
	dssh_put_u32be(m + 8, id);
	dssh_put_u32be(m + 12, (uint32_t)which);
	if (dssh_buf_put(&c->upq, m, DSSH_REC_MARK_HDR + n) != 0)
		dssh_error("core %u: stream %u: channel marker lost", c->p->core, c->id);
	dssh_recpump_mark(c, true);     /* the input side puts it up */
}

size_t
rp_chan_up_flush(struct dssh_recpump_conn *c, size_t avail, bool force_count)
{
	const uint8_t *q = dssh_buf_ptr(&c->upq);
	size_t ql = dssh_buf_len(&c->upq), off = 0, w = 0;

	if ((c->cnt_rx_pkts != 0 || c->cnt_tx_pkts != 0) && avail >= RP_COUNT_MARK &&
	    (force_count || ql > 0 || c->cnt_rx_bytes + c->cnt_tx_bytes >= RP_COUNT_DUE)) {
		uint8_t m[RP_COUNT_MARK];

		dssh_put_u32be(m, DSSH_REC_MARK | DSSH_REC_MARK_CHAN_COUNT);
		dssh_put_u32be(m + 4, DSSH_REC_CHAN_COUNT_LEN);
		dssh_put_u32be(m + 8, c->cnt_rx_pkts);
		dssh_put_u32be(m + 12, c->cnt_tx_pkts);
		dssh_put_u64be(m + 16, c->cnt_rx_bytes);
		dssh_put_u64be(m + 24, c->cnt_tx_bytes);
		(void)dssh_pipe_write(c->up, m, sizeof(m));
		c->cnt_rx_pkts = c->cnt_tx_pkts = 0;
		c->cnt_rx_bytes = c->cnt_tx_bytes = 0;
		w += sizeof(m);
	}
	/* Whole markers only. */
	while (ql - off >= DSSH_REC_MARK_HDR) {
		size_t rl = DSSH_REC_MARK_HDR + dssh_get_u32be(q + off + 4);

		if (rl > avail - w - off)
			break;
		off += rl;
	}
	if (off > 0) {
		(void)dssh_pipe_write(c->up, q, off);
		dssh_buf_consume(&c->upq, off);
		w += off;
	}
	return w;
}

/* ---- channels ---- */

static struct rp_chan *
chan_find(struct dssh_recpump_conn *c, uint32_t local)
{
	for (struct rp_chan *ch = c->chans; ch != NULL; ch = ch->next)
		if (ch->local == local)
			return ch;
	return NULL;
}

static void
chan_close_fd(struct rp_chan *ch, int i)
{
	if (ch->fd[i] < 0)
		return;
	if (ch->tc != NULL) {
		ch->fd[i] = -1;         /* the connection itself goes with the channel */
		return;
	}
	(void)epoll_ctl(ch->c->p->epfd, EPOLL_CTL_DEL, ch->fd[i], NULL);
	close(ch->fd[i]);
	ch->fd[i] = -1;
}

void
rp_chan_reap(struct dssh_recpump *p)
{
	for (size_t i = 0; i < p->ngraves; i++) {
		struct dssh_tcp_conn *tc = (struct dssh_tcp_conn *)(p->graves[i] & ~(uintptr_t)1);

		if (p->graves[i] & 1)
			dssh_tcp_abort(tc, p->now_us);
		else
			dssh_tcp_close(tc, p->now_us);  /* (an abort if bytes are unread) */
	}
	p->ngraves = 0;
}

/* The target connection is let go of: closed at the end of the flush. */
static void
chan_tc_bury(struct rp_chan *ch, bool abort)
{
	struct dssh_recpump *p = ch->c->p;
	uintptr_t v = (uintptr_t)ch->tc | (abort ? 1u : 0u);

	dssh_tcp_set_udata(ch->tc, NULL);
	ch->tc = NULL;
	p->st.chan_tcp_active--;
	if (p->ngraves == p->cap_graves) {
		size_t cap = p->cap_graves == 0 ? 16 : p->cap_graves * 2;
		uintptr_t *g = realloc(p->graves, cap * sizeof(*g));

		if (g == NULL) {
			/* No room to defer it: a reset now (nothing still points at it
			 * but possibly the driver's event batch, which skips a NULL
			 * udata only if the conn lives: so keep it, leaked to the stack). */
			dssh_error("core %u: target connection kept: out of memory", p->core);
			return;
		}
		p->graves = g;
		p->cap_graves = cap;
	}
	p->graves[p->ngraves++] = v;
}

static void
chan_unconnecting(struct rp_chan *ch)
{
	struct dssh_recpump *p = ch->c->p;

	if (!ch->connecting)
		return;
	for (struct rp_chan **pp = &p->connecting; *pp != NULL; pp = &(*pp)->cnext) {
		if (*pp == ch) {
			*pp = ch->cnext;
			break;
		}
	}
	ch->connecting = false;
}

static void
chan_free(struct rp_chan *ch)
{
	struct dssh_recpump_conn *c = ch->c;

	for (int i = 0; i < 3; i++)
		chan_close_fd(ch, i);
	if (ch->tc != NULL)
		chan_tc_bury(ch, ch->connecting || ch->failed);
	chan_unconnecting(ch);
	for (struct rp_chan **pp = &c->chans; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == ch) {
			*pp = ch->next;
			break;
		}
	}
	c->p->st.chan_queued -= dssh_buf_len(&ch->q);
	dssh_buf_free(&ch->q);
	c->p->nchans--;
	free(ch);
}

void
rp_chan_drop_all(struct dssh_recpump_conn *c)
{
	while (c->chans != NULL)
		chan_free(c->chans);
	dssh_buf_reset(&c->upq);
}

/* Input fails as for a bad MAC: an ERROR record, nothing more taken. */
static void
chan_fail(struct dssh_recpump_conn *c, uint32_t code)
{
	if (dssh_rec_rx_state(c->rec) == DSSH_REC_RX_FAILED)
		return;
	dssh_rec_rx_fail(c->rec);
	c->rx_err = code;
	c->p->st.errors++;
	dssh_debug("core %u: stream %u: channel: %s", c->p->core, c->id, dssh_rec_err_str(code));
	dssh_recpump_mark(c, true);
}

/* n bytes of the peer's data were taken (or dropped): an adjust may be due. */
static void
chan_consumed(struct rp_chan *ch, size_t n)
{
	if (n > 0 && dssh_chan_win_consume(&ch->win, n) > 0 && !ch->eof_rcvd)
		dssh_recpump_mark(ch->c, false);
}

/* Writes as much of p as stdin takes; returns how much the caller may
 * drop (written, or all of it once stdin is gone: the child closed it). */
static size_t
chan_write(struct rp_chan *ch, const uint8_t *p, size_t n)
{
	size_t done = 0;

	while (done < n && ch->fd[CH_IN] >= 0) {
		ssize_t w;
		int e;

		if (ch->tc != NULL) {
			/* 0: full (WRITABLE follows); negative: reset */
			w = dssh_tcp_send(ch->tc, p + done, n - done);
			e = w == 0 ? EAGAIN : ECONNRESET;
			if (w == 0)
				w = -1;
		} else {
			w = write(ch->fd[CH_IN], p + done, n - done);
			e = errno;
		}
		if (w > 0) {
			done += (size_t)w;
		} else if (w < 0 && e == EINTR) {
			continue;
		} else if (w < 0 && e == EAGAIN) {
			break;                  /* EPOLLOUT (WRITABLE) follows */
		} else {
			/* EPIPE: nobody reads it; else a socket's reset, which
			 * its reader may not see any more (the error is read once). */
			if (w < 0 && e != EPIPE) {
				ch->failed = true;
				dssh_recpump_mark(ch->c, false);
			}
			chan_close_fd(ch, CH_IN);
			ch->c->p->st.chan_rx_bytes += done;
			chan_consumed(ch, n);
			return n;
		}
	}
	ch->c->p->st.chan_rx_bytes += done;
	chan_consumed(ch, done);
	return done;
}

/* The stdin queue, counted in the core's chan_queued. */
static int
chan_q_put(struct rp_chan *ch, const uint8_t *p, size_t n)
{
	int r = dssh_buf_put(&ch->q, p, n);

	if (r == 0)
		ch->c->p->st.chan_queued += n;
	return r;
}

/* The queue into stdin; the peer's EOF once it is empty. */
static void
chan_in_drain(struct rp_chan *ch)
{
	size_t n, w;

	if (!ch->go)
		return;
	if ((n = dssh_buf_len(&ch->q)) > 0) {
		w = chan_write(ch, dssh_buf_ptr(&ch->q), n);
		dssh_buf_consume(&ch->q, w);
		ch->c->p->st.chan_queued -= w;
		if (dssh_buf_len(&ch->q) == 0)
			dssh_buf_reset(&ch->q);
	}
	if (ch->eof_rcvd && !ch->eof_up && dssh_buf_len(&ch->q) == 0) {
		/* A socket: its FIN now (ENOTSOCK for a pipe: the close is it). */
		if (ch->fd[CH_IN] >= 0 && ch->tc != NULL)
			(void)dssh_tcp_shutdown(ch->tc, ch->c->p->now_us);
		else if (ch->fd[CH_IN] >= 0)
			(void)shutdown(ch->fd[CH_IN], SHUT_WR);
		chan_close_fd(ch, CH_IN);
		ch->eof_up = true;
		up_marker(ch->c, DSSH_REC_MARK_CHAN_EOF_IN, ch->local, 0);
	}
}

static void
chan_data(struct rp_chan *ch, const uint8_t *p, size_t n)
{
	size_t done = 0;

	if (ch->fd[CH_IN] < 0) {
		chan_consumed(ch, n);       /* nobody reads it: the window back */
		return;
	}
	if (dssh_buf_len(&ch->q) == 0)
		done = chan_write(ch, p, n);
	/* (the window bounds the queue: a failed put cannot be) */
	if (done < n && chan_q_put(ch, p + done, n - done) != 0)
		chan_consumed(ch, n - done);
}

static int
chan_offload(struct dssh_recpump *p, struct dssh_recpump_conn *c, const uint8_t *body, size_t n)
{
	struct rp_chan *ch;
	int fd[3];

	if (n != DSSH_REC_CHAN_OFFLOAD_LEN)
		return DSSH_ERR_INVALID_FORMAT;
	for (int i = 0; i < 3; i++) {
		uint32_t v = dssh_get_u32be(body + 12 + 4 * i);

		fd[i] = v > INT32_MAX ? -1 : (int)v;    /* UINT32_MAX: none (stderr) */
	}
	if (fd[CH_IN] < 0 || fd[CH_OUT] < 0) {
		for (int i = 0; i < 3; i++)
			if (fd[i] >= 0)
				close(fd[i]);
		return DSSH_ERR_INVALID_FORMAT;
	}
	if (c->closing || chan_find(c, dssh_get_u32be(body)) != NULL ||
	    (ch = calloc(1, sizeof(*ch))) == NULL) {
		for (int i = 0; i < 3; i++)
			if (fd[i] >= 0)
				close(fd[i]);
		return c->closing ? 0 : DSSH_ERR_INVALID_FORMAT;
	}
	ch->c = c;
	ch->local = dssh_get_u32be(body);
	ch->remote = dssh_get_u32be(body + 4);
	ch->maxpkt = DSSH_MAX(dssh_get_u32be(body + 8), 1u);
	memcpy(ch->fd, fd, sizeof(fd));
	ch->sock = fd[CH_ERR] < 0;
	dssh_buf_init(&ch->q, DSSH_CHAN_WIN_MAX);
	ch->next = c->chans;
	c->chans = ch;
	p->nchans++;
	for (int i = 0; i < 3; i++) {
		struct epoll_event ev = {
			.events = (i == CH_IN ? EPOLLOUT : EPOLLIN | EPOLLRDHUP) | EPOLLET,
			.data.u64 = (uintptr_t)ch | (uint64_t)i,
		};
		int fl;

		if (fd[i] < 0)
			continue;
		if ((fl = fcntl(fd[i], F_GETFL)) < 0 || fcntl(fd[i], F_SETFL, fl | O_NONBLOCK) != 0 ||
		    epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd[i], &ev) != 0) {
			dssh_error("core %u: stream %u: channel %u: fd %d: %s", p->core, c->id,
			    ch->local, fd[i], strerror(errno));
			chan_free(ch);
			return DSSH_ERR_SYSTEM;
		}
		/* Bigger pipes: fewer, larger reads and writes (best effort). */
		(void)fcntl(fd[i], F_SETPIPE_SZ, CHAN_PIPE_SIZE);
	}
	p->st.chan_offloads++;
	up_marker(c, DSSH_REC_MARK_CHAN_OFFLOADED, ch->local, 0);
	return 0;
}

static int
chan_go(struct dssh_recpump_conn *c, const uint8_t *body, size_t n)
{
	struct rp_chan *ch;

	if (n != DSSH_REC_CHAN_GO_LEN || (ch = chan_find(c, dssh_get_u32be(body))) == NULL ||
	    ch->go)
		return DSSH_ERR_INVALID_FORMAT;
	ch->win.size = dssh_get_u32be(body + 4);
	ch->win.local = dssh_get_u32be(body + 8);
	ch->win.consumed = dssh_get_u32be(body + 12);
	ch->win.remote = dssh_get_u32be(body + 16);
	ch->win.max = dssh_get_u32be(body + 24);
	if (ch->win.max < ch->win.size || ch->win.local > ch->win.size ||
	    ch->win.consumed > ch->win.size - ch->win.local)
		return DSSH_ERR_INVALID_FORMAT;
	if (dssh_get_u32be(body + 20) & DSSH_REC_CHAN_GO_PEER_EOF)
		ch->eof_rcvd = true;
	ch->go = true;
	/* What the peer sent meanwhile counts now, against the window the
	 * engine had. */
	if (ch->pre_rx > UINT32_MAX || !dssh_chan_win_receive(&ch->win, (size_t)ch->pre_rx)) {
		chan_fail(c, DSSH_REC_ERR_WINDOW);
		return 0;
	}
	chan_consumed(ch, (size_t)ch->pre_ext);
	dssh_chan_win_peer_adjust(&ch->win, ch->pre_adj);
	chan_in_drain(ch);
	if (ch->tc != NULL)
		dssh_recpump_mark(c, false);    /* what the target sent already */
	return 0;
}

/* ---- CHAN_CONNECT: a target on the core's own TCP ---- */

static void
connected_up(struct rp_chan *ch, uint32_t res)
{
	struct dssh_recpump_conn *c = ch->c;
	uint8_t m[DSSH_REC_MARK_HDR + DSSH_REC_CHAN_CONNECTED_LEN];

	dssh_put_u32be(m, DSSH_REC_MARK | DSSH_REC_MARK_CHAN_CONNECTED);
	dssh_put_u32be(m + 4, DSSH_REC_CHAN_CONNECTED_LEN);
	dssh_put_u32be(m + 8, ch->local);
	dssh_put_u32be(m + 12, res);
	if (dssh_buf_put(&c->upq, m, sizeof(m)) != 0)
		dssh_error("core %u: stream %u: channel marker lost", c->p->core, c->id);
	dssh_recpump_mark(c, true);
}

/* The connect's end: the channel is the engine's to confirm, or gone. */
static void
connect_result(struct rp_chan *ch, uint32_t res)
{
	struct dssh_recpump *p = ch->c->p;

	chan_unconnecting(ch);
	connected_up(ch, res);
	if (res == DSSH_REC_CONN_OK) {
		p->st.chan_connects++;
		p->st.chan_offloads++;
		dssh_debug("core %u: stream %u: channel %u: target connected", p->core, ch->c->id,
		    ch->local);
		return;
	}
	if (res == DSSH_REC_CONN_TIMEOUT)
		p->st.chan_connect_timeout++;
	else
		p->st.chan_connect_fail++;
	ch->failed = true;      /* abort: no FIN for a connect that never was */
	chan_free(ch);
}

static int
chan_connect(struct dssh_recpump *p, struct dssh_recpump_conn *c, const uint8_t *body,
    size_t n)
{
	struct rp_chan *ch;
	uint32_t raddr, rport;

	if (n != DSSH_REC_CHAN_CONNECT_LEN)
		return DSSH_ERR_INVALID_FORMAT;
	if (c->closing)
		return 0;
	if (chan_find(c, dssh_get_u32be(body)) != NULL)
		return DSSH_ERR_INVALID_FORMAT;
	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return DSSH_ERR_ALLOC;
	ch->c = c;
	ch->local = dssh_get_u32be(body);
	ch->remote = dssh_get_u32be(body + 4);
	ch->maxpkt = DSSH_MAX(dssh_get_u32be(body + 8), 1u);
	raddr = dssh_get_u32be(body + 12);
	rport = dssh_get_u32be(body + 16);
	ch->fd[CH_IN] = ch->fd[CH_OUT] = ch->fd[CH_ERR] = -1;
	ch->sock = true;
	dssh_buf_init(&ch->q, DSSH_CHAN_WIN_MAX);
	ch->next = c->chans;
	c->chans = ch;
	p->nchans++;
	if (rport == 0 || rport > UINT16_MAX || raddr == 0 || p->ops->connect == NULL ||
	    p->ops->connect(p->arg, raddr, (uint16_t)rport, ch, &ch->tc) != 0) {
		ch->tc = NULL;
		connect_result(ch, DSSH_REC_CONN_REFUSED);
		return 0;
	}
	p->st.chan_tcp_active++;
	ch->fd[CH_IN] = ch->fd[CH_OUT] = CHAN_TC_FD;
	ch->connecting = true;
	ch->deadline_us = p->now_us + DSSH_RECPUMP_CONNECT_TIMEOUT_US;
	ch->cnext = p->connecting;
	p->connecting = ch;
	return 0;
}

void
dssh_recpump_chan_tcp_event(struct dssh_recpump *p, void *tag, uint32_t events, uint64_t now_us)
{
	struct rp_chan *ch = tag;

	p->now_us = now_us;
	if (ch->connecting) {
		if (events & DSSH_TCP_EV_CONNECTED) {
			connect_result(ch, DSSH_REC_CONN_OK);
		} else if (events & (DSSH_TCP_EV_RESET | DSSH_TCP_EV_CLOSED)) {
			connect_result(ch, DSSH_REC_CONN_REFUSED);
			return;
		} else {
			return;
		}
	}
	if (events & (DSSH_TCP_EV_WRITABLE | DSSH_TCP_EV_RESET))
		chan_in_drain(ch);      /* room (or the reset, which fails it) */
	if (events & (DSSH_TCP_EV_READABLE | DSSH_TCP_EV_PEER_FIN | DSSH_TCP_EV_RESET |
	    DSSH_TCP_EV_CLOSED))
		dssh_recpump_mark(ch->c, false);
}

void
dssh_recpump_chan_timers(struct dssh_recpump *p, uint64_t now_us)
{
	struct rp_chan *ch, *next;

	p->now_us = now_us;
	for (ch = p->connecting; ch != NULL; ch = next) {
		next = ch->cnext;
		if (now_us >= ch->deadline_us) {
			dssh_info("core %u: stream %u: channel %u: connect timed out", p->core,
			    ch->c->id, ch->local);
			connect_result(ch, DSSH_REC_CONN_TIMEOUT);
		}
	}
}

int
rp_chan_marker(struct dssh_recpump *p, struct dssh_recpump_conn *c, uint32_t kind,
    const uint8_t *body, size_t n)
{
	struct rp_chan *ch;

	switch (kind) {
	case DSSH_REC_MARK_CHAN_OFFLOAD:
		return chan_offload(p, c, body, n);
	case DSSH_REC_MARK_CHAN_GO:
		return chan_go(c, body, n);
	case DSSH_REC_MARK_CHAN_CONNECT:
		return chan_connect(p, c, body, n);
	case DSSH_REC_MARK_CHAN_RECLAIM:
		if (n != DSSH_REC_CHAN_ID_LEN)
			return DSSH_ERR_INVALID_FORMAT;
		if ((ch = chan_find(c, dssh_get_u32be(body))) == NULL)
			return c->closing ? 0 : DSSH_ERR_INVALID_FORMAT;
		chan_free(ch);
		up_marker(c, DSSH_REC_MARK_CHAN_RECLAIMED, dssh_get_u32be(body), 0);
		return 0;
	default:
		return DSSH_ERR_INVALID_FORMAT;
	}
}

/* ---- the peer's messages ---- */

static int
chan_peer_data(struct rp_chan *ch, uint8_t type, struct dssh_buf *m)
{
	const uint8_t *d;
	uint32_t code;
	size_t n;

	if ((type == SSH_MSG_CHANNEL_EXTENDED_DATA && dssh_buf_get_u32(m, &code) != 0) ||
	    dssh_buf_get_string_direct(m, &d, &n) != 0)
		return DSSH_REC_ERR_CHANNEL;
	if (ch->eof_rcvd || n > DSSH_CHAN_MAXPACKET)
		return DSSH_REC_ERR_WINDOW;
	if (!ch->go) {
		ch->pre_rx += n;
		if (ch->pre_rx > UINT32_MAX)
			return DSSH_REC_ERR_WINDOW;
		if (type == SSH_MSG_CHANNEL_EXTENDED_DATA)
			ch->pre_ext += n;
		else if (chan_q_put(ch, d, n) != 0)
			return DSSH_REC_ERR_WINDOW;
		return 1;
	}
	if (!dssh_chan_win_receive(&ch->win, n))
		return DSSH_REC_ERR_WINDOW;
	if (ch->c->tcp != NULL) {
		struct dssh_tcp_conn_info ti;

		dssh_tcp_conn_get_info(ch->c->tcp, &ti);
		dssh_chan_win_pace(&ch->win, n, dssh_now_ns() / 1000, ti.srtt_us);
	}
	/* Nothing reads a client's extended data: discarded, window back. */
	if (type == SSH_MSG_CHANNEL_EXTENDED_DATA)
		chan_consumed(ch, n);
	else if (n > 0)
		chan_data(ch, d, n);
	return 1;
}

int
rp_chan_intercept(struct dssh_recpump *p, struct dssh_recpump_conn *c, const uint8_t *payload,
    size_t len, size_t wire)
{
	struct rp_chan *ch;
	struct dssh_buf m;
	uint32_t add;
	uint8_t type;

	(void)p;
	(void)wire;
	if (len < 5)
		return 0;
	type = payload[0];
	if (type < SSH_MSG_CHANNEL_WINDOW_ADJUST || type > SSH_MSG_CHANNEL_EOF ||
	    (ch = chan_find(c, dssh_get_u32be(payload + 1))) == NULL)
		return 0;
	dssh_buf_from(&m, payload + 5, len - 5);
	switch (type) {
	case SSH_MSG_CHANNEL_WINDOW_ADJUST:
		if (dssh_buf_get_u32(&m, &add) != 0)
			return DSSH_REC_ERR_CHANNEL;
		if (!ch->go) {
			ch->pre_adj = add > UINT32_MAX - ch->pre_adj ? UINT32_MAX : ch->pre_adj + add;
		} else {
			dssh_chan_win_peer_adjust(&ch->win, add);
			dssh_recpump_mark(c, false);
		}
		return 1;
	case SSH_MSG_CHANNEL_EOF:
		ch->eof_rcvd = true;
		chan_in_drain(ch);
		return 1;
	default:
		return chan_peer_data(ch, type, &m);
	}
}

/* ---- packets of our own ---- */

/* One packet with this payload (a WINDOW_ADJUST). */
static enum rec_gather
gen_small(struct dssh_recpump *p, struct dssh_recpump_conn *c, struct rec_batch *b,
    const uint8_t *pl, size_t len, bool *sent)
{
	size_t wire = dssh_rec_tx_wire_len(c->rec, len);
	struct rec_job *j;

	*sent = false;
	if (!rec_tx_space(c, wire))
		return REC_DONE;
	if (!rec_batch_room(p, b, wire))
		return REC_MORE;
	j = rec_tx_job_new(p, c, b, wire);
	memcpy(j->pkt + DSSH_REC_TX_PAYLOAD, pl, len);
	rec_tx_job_commit(c, b, j, len);
	c->cnt_tx_pkts++;
	c->cnt_tx_bytes += j->wire;
	*sent = true;
	return REC_MORE;
}

/* fail: stdout ended by an error (or stdin's write failed: a reset). */
static void
chan_out_eof(struct rp_chan *ch, int i, bool fail)
{
	chan_close_fd(ch, i);
	up_marker(ch->c, DSSH_REC_MARK_CHAN_OUT_EOF, ch->local, i == CH_OUT ?
	    (fail || ch->failed ? 3 : 1) : 2);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
chan_hold(struct dssh_recpump_conn *c)
{
	if (c->chan_held)
		return;
	c->p->ops->ref(c->udata);
	c->chan_held = true;
	c->held_next = c->p->held;
	c->p->held = c;
}

void
rp_chan_rearm(struct dssh_recpump *p, bool drop)
{
	struct dssh_recpump_conn *c = p->held;

	p->held = NULL;
	while (c != NULL) {
		struct dssh_recpump_conn *next = c->held_next;

		c->chan_held = false;
		if (!drop && c->tcp != NULL)
			dssh_recpump_mark(c, false);
		p->ops->unref(c->udata);
		c = next;
	}
}

/* Small output, and more may come: true while it waits (see CHAN_SMALL). */
static bool
gen_hold(struct rp_chan *ch, int i, size_t want)
{
	int avail = 0;
	uint64_t now;

	/* A socket's peer answers requests: a held reply would be latency. */
	if (CHAN_HOLD_NS == 0 || ch->sock || ioctl(ch->fd[i], FIONREAD, &avail) != 0 || avail <= 0 ||
	    (size_t)avail >= want || avail >= CHAN_SMALL) {
		ch->hold_until[i] = 0;
		return false;
	}
	now = now_ns();
	if (ch->hold_until[i] == 0)
		ch->hold_until[i] = now + CHAN_HOLD_NS;
	if (now >= ch->hold_until[i]) {
		ch->hold_until[i] = 0;
		return false;
	}
	chan_hold(ch->c);
	return true;
}

/*
 * stdout (i CH_OUT) or stderr read straight into packets sealed where they
 * are sent, while the peer's window, the TCP send space and the burst allow.
 * REC_MORE: the burst is full; REC_DONE: stopped for anything else.
 */
static enum rec_gather
gen_output(struct dssh_recpump *p, struct dssh_recpump_conn *c, struct rec_batch *b,
    struct rp_chan *ch, int i)
{
	size_t hl = i == CH_OUT ? 9 : 13;

	while (ch->fd[i] >= 0 && ch->win.remote > 0) {
		size_t want = DSSH_MIN((size_t)ch->win.remote, (size_t)ch->maxpkt);
		size_t wire = dssh_rec_tx_wire_len(c->rec, hl + want);
		bool before = c->round_jobs;
		struct rec_job *j;
		uint8_t *pl;
		ssize_t n;

		if (!rec_tx_space(c, wire))
			return REC_DONE;        /* WRITABLE follows */
		if (!rec_batch_room(p, b, wire))
			return REC_MORE;
		if (gen_hold(ch, i, want))
			return REC_DONE;        /* the held list brings it back */
		j = rec_tx_job_new(p, c, b, wire);
		pl = j->pkt + DSSH_REC_TX_PAYLOAD;
		if (ch->tc != NULL) {
			/* 0: nothing now, or the end once the FIN was read */
			n = dssh_tcp_recv(ch->tc, pl + hl, want);
			if (n == 0 && !dssh_tcp_eof(ch->tc)) {
				n = -1;
				errno = EAGAIN;
			} else if (n < 0) {
				n = -1;
				errno = ECONNRESET;
			}
		} else {
			do
				n = read(ch->fd[i], pl + hl, want);
			while (n < 0 && errno == EINTR);
		}
		if (n <= 0) {
			int e = errno;

			rec_tx_job_cancel(p, c, b, before);
			if (n < 0 && e == EAGAIN)
				return REC_DONE;    /* EPOLLIN follows */
			chan_out_eof(ch, i, n < 0 && e != EPIPE);      /* end, or failed */
			return REC_DONE;
		}
		pl[0] = i == CH_OUT ? SSH_MSG_CHANNEL_DATA : SSH_MSG_CHANNEL_EXTENDED_DATA;
		dssh_put_u32be(pl + 1, ch->remote);
		if (i == CH_ERR)
			dssh_put_u32be(pl + 5, SSH_EXTENDED_DATA_STDERR);
		dssh_put_u32be(pl + hl - 4, (uint32_t)n);
		rec_tx_job_commit(c, b, j, hl + (size_t)n);
		dssh_chan_win_sent(&ch->win, (size_t)n);
		c->cnt_tx_pkts++;
		c->cnt_tx_bytes += j->wire;
		p->st.chan_tx_bytes += (size_t)n;
		/* On to EAGAIN or the end even after a short read: an edge may
		 * have gone by already (an end, or readiness before GO). */
	}
	return REC_DONE;
}

enum rec_gather
rp_chan_tx_gen(struct dssh_recpump *p, struct dssh_recpump_conn *c, struct rec_batch *b)
{
	enum rec_gather g = REC_DONE;

	if (c->tx_kex || c->tcp == NULL || c->closing)
		return REC_DONE;
	for (struct rp_chan *ch = c->chans; ch != NULL; ch = ch->next) {
		uint32_t adj;
		bool sent;

		if (!ch->go)
			continue;
		adj = ch->eof_rcvd ? 0 : dssh_chan_win_consume(&ch->win, 0);
		if (adj > 0) {
			uint8_t pl[9] = { SSH_MSG_CHANNEL_WINDOW_ADJUST };

			dssh_put_u32be(pl + 1, ch->remote);
			dssh_put_u32be(pl + 5, adj);
			g = gen_small(p, c, b, pl, sizeof(pl), &sent);
			if (!sent)
				return g;
			dssh_chan_win_adjusted(&ch->win, adj);
		}
		for (int i = CH_OUT; i <= CH_ERR; i++)
			if (gen_output(p, c, b, ch, i) == REC_MORE)
				return REC_MORE;
	}
	if (c->cnt_tx_bytes >= RP_COUNT_DUE)
		dssh_recpump_mark(c, true);     /* the engine's rekey counts them */
	return REC_DONE;
}

/* ---- the fds' events ---- */

unsigned
dssh_recpump_chan_poll(struct dssh_recpump *p)
{
	struct epoll_event ev[CHAN_POLL_MAX];
	int n = epoll_wait(p->epfd, ev, CHAN_POLL_MAX, 0);

	for (int k = 0; k < n; k++) {
		struct rp_chan *ch = (struct rp_chan *)(uintptr_t)(ev[k].data.u64 & ~(uint64_t)3);
		int i = (int)(ev[k].data.u64 & 3);

		if (i == CH_IN)
			chan_in_drain(ch);      /* room in stdin (or it broke) */
		else
			dssh_recpump_mark(ch->c, false);
	}
	return n > 0 ? (unsigned)n : 0;
}

/* ---- a down pipe left behind ---- */

void
dssh_recpump_down_drop(struct dssh_pipe *down)
{
	size_t off = 0, avail = dssh_pipe_readable(down);

	while (avail - off >= DSSH_REC_HDR) {
		uint8_t hdr[DSSH_REC_MARK_HDR + DSSH_REC_CHAN_OFFLOAD_LEN];
		uint32_t w;
		size_t rl;

		(void)dssh_pipe_copy_out(down, off, hdr, DSSH_MIN(avail - off, sizeof(hdr)));
		w = dssh_get_u32be(hdr);
		if (!(w & DSSH_REC_MARK)) {
			rl = DSSH_REC_HDR + (size_t)w;
		} else {
			if (avail - off < DSSH_REC_MARK_HDR)
				break;
			rl = DSSH_REC_MARK_HDR + (size_t)dssh_get_u32be(hdr + 4);
			if (w == (DSSH_REC_MARK | DSSH_REC_MARK_CHAN_OFFLOAD) && avail - off >= rl &&
			    rl == sizeof(hdr))
				for (int i = 0; i < 3; i++) {
					uint32_t fd = dssh_get_u32be(hdr + DSSH_REC_MARK_HDR + 12 + 4 * i);

					if (fd <= INT32_MAX)
						close((int)fd);
				}
		}
		if (rl > avail - off)
			break;
		off += rl;
	}
	dssh_pipe_consume(down, avail);
}
