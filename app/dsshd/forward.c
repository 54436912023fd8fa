/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Forwarding for one connection: relays between channels and kernel
 * sockets (forward.h). Each relayed channel is a struct fwd_chan with one
 * socket; each listener (ssh -R, agent) a struct fwd_listener.
 *
 * Flow control: bytes from the peer wait in to_sock until the socket took
 * them, and only then does the window reopen (dssh_chan_consumed); the
 * socket is read only while the channel has send space. Half-close: the
 * peer's EOF becomes shutdown(SHUT_WR) once to_sock is written; the
 * socket's EOF becomes our channel EOF. The channel is closed once both
 * directions ended, or at once on a socket error.
 *
 * On a connection whose packet layer is on a data core (fc->offload), an
 * open channel's socket is handed to that core (the channel offload of
 * dssh_record.h, as an exec session's pipes): two duplicates of the socket
 * as its stdin and stdout, no stderr. From then on the core moves the bytes
 * both ways, keeps the window, and shuts the socket down for writing at
 * the peer's EOF; we are told only of the ends (the socket's EOF: our
 * channel EOF; its reset: CLOSE; the peer's EOF, which the core already
 * turned into the FIN) and close our copy of the socket once what we held
 * for it is written (chan_offload_go).
 *
 * A direct-tcpip target that only the data plane reaches (dp_target: an
 * IPv4 address on the DataAddress subnet, or with DataGateway one the host
 * has no route to; never one of the host's own) is connected by that core
 * with its own TCP instead (dssh_chan_connect_offload): we hear only
 * whether it worked (then we confirm the open and hand the window over, as
 * for a socket) and never see a byte of it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "dssh_x11.h"
#include "forward.h"
#include "dssh_monitor.h"
#include "monitor.h"
#include "resolve.h"

#define FWD_WRITE_BATCH (256u * 1024)
#define FWD_READ_MAX (256u * 1024)  /* per wake-up: one flush sends it all */
#define FWD_ACCEPT_BATCH 64
#define FWD_MAX_GROUPS 256
#define FWD_LISTEN_BACKLOG 128

enum lkind { L_TCP, L_UNIX, L_AGENT, L_X11 };

#define X11_PORT_BASE 6000
#define X11_MAX_DISPLAYS 1000
#define X11_COOKIE_MAX DSSH_X11_COOKIE_MAX     /* bytes of a cookie (hex: twice) */
#define X11_SETUP_MAX DSSH_X11_SETUP_MAX

/* A session's X11 authentication: the client's cookie and the fake one
 * xauth got, which an X client must present (then replaced). */
struct fwd_x11 {
	char proto[64];
	uint8_t real[X11_COOKIE_MAX], fake[X11_COOKIE_MAX];
	size_t len;
	char fake_hex[2 * X11_COOKIE_MAX + 1];
	bool single;
};

/* One listening socket of a listener (loopback has one per family). */
struct fwd_lsock {
	struct dssh_evsource src;       /* first: the callback's pointer is ours */
	struct fwd_listener *l;
};

struct fwd_listener {
	struct fwd_conn *fc;
	struct fwd_listener *next;
	enum lkind kind;
	struct fwd_lsock socks[2];
	unsigned nsocks;
	char *addr;                     /* as the peer asked (TCP); the path (Unix, agent) */
	uint32_t bound;                 /* the port listened on (TCP) */
	char dir[64];                   /* agent: its private directory */
	struct fwd_x11 *x11;            /* X11: the cookies */
	bool single_done;               /* X11 single connection: close after the accept */
};

struct fwd_chan {
	struct fwd_conn *fc;
	uint32_t chan;
	struct dssh_evsource src;
	enum {
		FC_RESOLVING,           /* the target's name is looked up (src.fd: its pipe) */
		FC_CONNECTING,          /* our connect in progress; the peer waits for the answer */
		FC_OPENING,             /* our open towards the peer; its answer pending */
		FC_OPEN,
	} st;
	struct dssh_buf to_sock;        /* the peer's bytes the socket has not taken */
	bool peer_eof, shut_wr, sock_eof, sent_close;
	bool batched;                   /* to_sock: written at chan_update */
	enum {
		OFF_NONE,
		OFF_SENT,               /* dssh_chan_offload: the core intercepts soon */
		OFF_READY,              /* it does: GO once to_sock is written */
		OFF_GO,                 /* the core has the socket; our copy is closed */
	} off;
	struct addrinfo *ai_all, *ai_next;      /* TCP connect: addresses left to try */
	struct fwd_lookup *lookup;      /* FC_RESOLVING */
	char what[200];                 /* for log lines */
	/* X11: the client's connection setup (its cookie checked and
	 * replaced) that the channel has not taken yet */
	struct dssh_buf x11_setup;
};

/*
 * An X client whose connection setup has not come in full yet: no channel
 * is opened before its cookie was checked (a client that was refused
 * never costs the peer a channel, and OpenSSH's ssh would wait for ever
 * for the setup of a channel closed without one).
 */
#define X11_WAITS_MAX 32
struct fwd_x11_wait {
	struct dssh_evsource src;       /* first: the callback's pointer is ours */
	struct fwd_conn *fc;
	struct fwd_x11_wait *next;
	struct fwd_x11 x;
	struct dssh_buf setup;
	char ip[INET6_ADDRSTRLEN];
	uint32_t port;
};

/* ---- the user's file-system identity, on this thread only ------------- */

struct fwd_creds {
	gid_t saved[FWD_MAX_GROUPS];
	int nsaved;
	bool switched;
};

/*
 * Become the user for file-system checks. glibc's setgroups would change
 * every thread; the raw system call changes this one, as setfsuid and
 * setfsgid do. The file-system capabilities (CAP_DAC_OVERRIDE ...) leave
 * the effective set while the fsuid is not 0 and come back with it.
 */
static int
creds_user(const struct fwd_conn *fc, struct fwd_creds *cr)
{
	gid_t groups[FWD_MAX_GROUPS];
	int n = FWD_MAX_GROUPS;

	cr->switched = false;
	if (geteuid() != 0 || fc->uid == 0)
		return 0;
	if (getgrouplist(fc->user, fc->gid, groups, &n) < 0) {
		groups[0] = fc->gid;
		n = 1;
	}
	if ((cr->nsaved = getgroups(FWD_MAX_GROUPS, cr->saved)) < 0 ||
	    syscall(SYS_setgroups, (size_t)n, groups) != 0)
		return DSSH_ERR_SYSTEM;
	setfsgid(fc->gid);
	setfsuid(fc->uid);
	cr->switched = true;
	if ((uid_t)setfsuid((uid_t)-1) != fc->uid || (gid_t)setfsgid((gid_t)-1) != fc->gid) {
		dssh_error("%s: cannot take the user's file-system identity", fc->log_id);
		return DSSH_ERR_SYSTEM;
	}
	return 0;
}

static void
creds_root(struct fwd_creds *cr)
{
	if (!cr->switched)
		return;
	setfsuid(0);
	setfsgid(0);
	(void)syscall(SYS_setgroups, (size_t)cr->nsaved, cr->saved);
	cr->switched = false;
}

/* ---- channels by number ------------------------------------------------ */

bool
fwd_owns(const struct fwd_conn *fc, uint32_t chan)
{
	return chan < fc->nchans && fc->chans[chan] != NULL;
}

static struct fwd_chan *
chan_of(struct fwd_conn *fc, uint32_t chan)
{
	return fwd_owns(fc, chan) ? fc->chans[chan] : NULL;
}

static struct fwd_chan *
chan_new(struct fwd_conn *fc, uint32_t chan)
{
	struct fwd_chan *f;

	if (chan >= fc->nchans) {
		uint32_t n = fc->nchans ? fc->nchans : 16;
		struct fwd_chan **v;

		while (n <= chan)
			n *= 2;
		if ((v = realloc(fc->chans, n * sizeof(*v))) == NULL)
			return NULL;
		memset(v + fc->nchans, 0, (n - fc->nchans) * sizeof(*v));
		fc->chans = v;
		fc->nchans = n;
	}
	if (fc->chans[chan] != NULL || (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->fc = fc;
	f->chan = chan;
	f->src.fd = -1;
	dssh_buf_init(&f->to_sock, 0);
	dssh_buf_init(&f->x11_setup, X11_SETUP_MAX + FWD_READ_MAX);
	fc->chans[chan] = f;
	return f;
}

static void
sock_close(struct fwd_chan *f)
{
	if (f->src.fd < 0)
		return;
	dssh_evloop_del(f->fc->loop, &f->src);
	close(f->src.fd);
	f->src.fd = -1;
}

static void
chan_free(struct fwd_chan *f)
{
	sock_close(f);          /* a lookup's pipe too */
	fwd_lookup_cancel(f->lookup);
	if (f->ai_all != NULL)
		freeaddrinfo(f->ai_all);
	dssh_buf_free(&f->to_sock);
	dssh_buf_free(&f->x11_setup);
	f->fc->chans[f->chan] = NULL;
	free(f);
}

/* Our CLOSE; the struct stays until the peer's (fwd_channel_closed). */
static void
chan_close(struct fwd_chan *f)
{
	if (f->sent_close)
		return;
	f->sent_close = true;
	sock_close(f);
	dssh_buf_reset(&f->to_sock);
	dssh_chan_close(f->fc->ssh, f->chan);
}

static void
chan_maybe_done(struct fwd_chan *f)
{
	if (f->st == FC_OPEN && f->sock_eof && f->peer_eof && f->shut_wr)
		chan_close(f);
}

/* ---- relaying ----------------------------------------------------------- */

static void chan_offload_go(struct fwd_chan *f);
static void chan_update(struct fwd_chan *f);

static void
flush_to_sock(struct fwd_chan *f)
{
	struct fwd_conn *fc = f->fc;

	while (dssh_buf_len(&f->to_sock) > 0 && f->src.fd >= 0) {
		ssize_t w = send(f->src.fd, dssh_buf_ptr(&f->to_sock), dssh_buf_len(&f->to_sock),
		    MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			dssh_debug("%s: channel %u: %s: write: %s", fc->log_id, f->chan, f->what,
			    strerror(errno));
			chan_close(f);
			return;
		}
		dssh_buf_consume(&f->to_sock, (size_t)w);
		dssh_chan_consumed(fc->ssh, f->chan, (size_t)w);
	}
	if (f->peer_eof && !f->shut_wr && f->src.fd >= 0) {
		shutdown(f->src.fd, SHUT_WR);
		f->shut_wr = true;
	}
	chan_offload_go(f);
	chan_maybe_done(f);
}

/* 1 checked and replaced, 0 incomplete, -1 refused (logged). */
static int
x11_check_setup(const struct fwd_conn *fc, const struct fwd_x11 *x, struct dssh_buf *b)
{
	uint8_t *p = dssh_buf_mutable_ptr(b);

	switch (dssh_x11_setup_check(p, dssh_buf_len(b), x->proto, x->fake, x->real, x->len)) {
	case DSSH_X11_INCOMPLETE:
		return 0;
	case DSSH_X11_OK:
		return 1;
	case DSSH_X11_BAD_ORDER:
		dssh_info("%s: X11 connection rejected: bad byte order byte 0x%02x", fc->log_id,
		    p[0]);
		return -1;
	case DSSH_X11_OTHER_PROTO:
		dssh_info("%s: X11 connection uses different authentication protocol.",
		    fc->log_id);
		return -1;
	case DSSH_X11_WRONG_COOKIE:
		break;
	}
	dssh_info("%s: X11 connection rejected because of wrong authentication.", fc->log_id);
	return -1;
}

/* X11: the client's checked setup (read before the channel was opened). */
static void
x11_flush_setup(struct fwd_chan *f)
{
	size_t k = DSSH_MIN(dssh_chan_send_space(f->fc->ssh, f->chan),
	    dssh_buf_len(&f->x11_setup));

	if (k == 0)
		return;
	dssh_chan_send(f->fc->ssh, f->chan, dssh_buf_ptr(&f->x11_setup), k, false);
	dssh_buf_consume(&f->x11_setup, k);
}

static void
read_sock(struct fwd_chan *f, uint32_t ev)
{
	struct fwd_conn *fc = f->fc;
	size_t space = dssh_chan_send_space(fc->ssh, f->chan);
	ssize_t n;

	if (f->sock_eof || f->src.fd < 0)
		return;
	/* X11: the checked setup goes first */
	if (dssh_buf_len(&f->x11_setup) > 0) {
		x11_flush_setup(f);
		if (dssh_buf_len(&f->x11_setup) > 0)
			return;
		space = dssh_chan_send_space(fc->ssh, f->chan);
	}
	if (space == 0) {
		/* A reset or error while the window is shut: end now, not spin. */
		if (ev & EPOLLERR)
			chan_close(f);
		return;
	}
	n = read(f->src.fd, fc->buf, DSSH_MIN(DSSH_MIN(space, fc->buflen), (size_t)FWD_READ_MAX));
	if (n > 0) {
		dssh_chan_send(fc->ssh, f->chan, fc->buf, (size_t)n, false);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		dssh_debug("%s: channel %u: %s: read: %s", fc->log_id, f->chan, f->what,
		    strerror(errno));
		chan_close(f);
		return;
	}
	f->sock_eof = true;
	dssh_chan_send_eof(fc->ssh, f->chan);
	chan_maybe_done(f);
}

static int connect_next(struct fwd_chan *f);

/* A deferred open: r is where the connect stands (DSSH_ERR_AGAIN: going on). */
static void
open_answer(struct fwd_chan *f, int r, const char *err)
{
	struct fwd_conn *fc = f->fc;

	if (r == DSSH_ERR_AGAIN) {
		f->st = FC_CONNECTING;
		return;
	}
	if (r != 0) {
		dssh_info("%s: connect to %s failed: %s", fc->log_id, f->what, err);
		dssh_chan_open_reply(fc->ssh, f->chan, DSSH_OPEN_CONNECT_FAILED, err);
		chan_free(f);
		return;
	}
	freeaddrinfo(f->ai_all);
	f->ai_all = f->ai_next = NULL;
	f->st = FC_OPEN;
	dssh_verbose("%s: channel %u: connected to %s", fc->log_id, f->chan, f->what);
	dssh_chan_open_reply(fc->ssh, f->chan, 0, NULL);
}

/* The non-blocking connect ended: the next address, or the answer. */
static void
connect_done(struct fwd_chan *f)
{
	int err = 0, r;
	socklen_t len = sizeof(err);

	if (getsockopt(f->src.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == EINPROGRESS)
		return;
	r = 0;
	if (err != 0) {
		sock_close(f);
		r = connect_next(f);
	}
	open_answer(f, r, strerror(err));
}

/* The name lookup is over: connect to what it gave. */
static void
lookup_done(struct fwd_chan *f)
{
	struct addrinfo *res;
	int gai, r;

	if (fwd_lookup_finish(f->lookup, &gai, &res) != 0)
		return;
	f->lookup = NULL;
	sock_close(f);
	if (gai != 0) {
		open_answer(f, DSSH_ERR_NOT_FOUND, gai_strerror(gai));
		return;
	}
	f->ai_all = f->ai_next = res;
	r = connect_next(f);
	open_answer(f, r, strerror(errno));
}

static void
chan_cb(struct dssh_evsource *src, uint32_t ev)
{
	struct fwd_chan *f = (struct fwd_chan *)((char *)src - offsetof(struct fwd_chan, src));
	struct fwd_conn *fc = f->fc;
	uint64_t prev = dssh_log_conn_enter(fc->log_num);

	if (f->st == FC_RESOLVING) {
		lookup_done(f);
	} else if (f->st == FC_CONNECTING) {
		connect_done(f);
	} else if (f->st == FC_OPEN) {
		if (ev & EPOLLOUT)
			flush_to_sock(f);
		if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
			read_sock(f, ev);
	}
	fc->after_io(fc->owner);     /* last: it may free the connection */
	dssh_log_conn_leave(prev);
}

/* Everything we held for the socket is written: the core takes it all. */
static void
chan_offload_go(struct fwd_chan *f)
{
	struct fwd_conn *fc = f->fc;

	if (f->off != OFF_READY || dssh_buf_len(&f->to_sock) > 0 || f->sent_close)
		return;
	if (dssh_chan_offload_go(fc->ssh, f->chan) != 0) {
		dssh_error("%s: channel %u: offload go failed", fc->log_id, f->chan);
		chan_close(f);
		return;
	}
	f->off = OFF_GO;
	if (f->peer_eof)
		f->shut_wr = true;      /* ours did it, or the core's does */
	sock_close(f);
	dssh_buf_free(&f->to_sock);
	dssh_debug("%s: channel %u: %s: relayed by the data core", fc->log_id, f->chan, f->what);
}

/*
 * An open channel on a data core's connection: hand the socket to the core
 * (when the engine's side is open: it has send space). true: the socket
 * is the core's now (nothing to watch).
 */
static bool
chan_offload(struct fwd_chan *f)
{
	struct fwd_conn *fc = f->fc;
	struct dssh_chan_fds fds = { .in = -1, .out = -1, .err = -1 };

	if (f->off == OFF_GO)
		return true;
	/* a compressed connection's channels stay here: the core would see
	 * compressed payloads */
	if (!fc->offload || dssh_conn_compressed(fc->ssh) || f->off != OFF_NONE ||
	    f->sock_eof || f->peer_eof ||
	    f->sent_close || f->src.fd < 0 || dssh_chan_send_space(fc->ssh, f->chan) == 0)
		return false;
	fds.in = fcntl(f->src.fd, F_DUPFD_CLOEXEC, 0);
	fds.out = fcntl(f->src.fd, F_DUPFD_CLOEXEC, 0);
	if (fds.in < 0 || fds.out < 0 || dssh_chan_offload(fc->ssh, f->chan, &fds) != 0) {
		if (fds.in >= 0)
			close(fds.in);
		if (fds.out >= 0)
			close(fds.out);
		return false;   /* (we relay it, as ever) */
	}
	f->off = OFF_SENT;
	return false;
}

void
fwd_channel_offload(struct fwd_conn *fc, uint32_t chan, enum dssh_chan_offload_ev ev)
{
	struct fwd_chan *f = chan_of(fc, chan);

	if (f == NULL || f->off == OFF_NONE || f->sent_close)
		return;
	switch (ev) {
	case DSSH_CHAN_CONNECTED:
		open_answer(f, 0, NULL);
		dssh_info("%s: channel %u: %s: connected by the data core", fc->log_id, f->chan,
		    f->what);
		f->off = OFF_READY;
		chan_offload_go(f);
		break;
	case DSSH_CHAN_CONNECT_FAILED:
	case DSSH_CHAN_CONNECT_TIMEOUT: {
		int r;

		f->off = OFF_NONE;
		/* the next address, if the name had more */
		r = connect_next(f);
		open_answer(f, r, ev == DSSH_CHAN_CONNECT_TIMEOUT ? "Connection timed out" :
		    "Connection refused");
		if (r == DSSH_ERR_AGAIN || r == 0)
			chan_update(f);
		break;
	}
	case DSSH_CHAN_OFFLOADED:
		f->off = OFF_READY;
		chan_offload_go(f);
		break;
	case DSSH_CHAN_OUT_EOF:
		f->sock_eof = true;
		dssh_chan_send_eof(fc->ssh, f->chan);
		chan_maybe_done(f);
		break;
	case DSSH_CHAN_OUT_FAIL:
		dssh_debug("%s: channel %u: %s: reset", fc->log_id, f->chan, f->what);
		chan_close(f);
		break;
	case DSSH_CHAN_ERR_EOF:
	case DSSH_CHAN_RECLAIMED:
		break;
	}
}

static void
chan_update(struct fwd_chan *f)
{
	uint32_t ev = 0;

	if (f->src.fd < 0)
		return;
	if (f->st == FC_RESOLVING)
		ev = EPOLLIN;
	else if (f->st == FC_CONNECTING)
		ev = EPOLLOUT;
	else if (f->st == FC_OPEN) {
		if (f->batched) {
			f->batched = false;
			flush_to_sock(f);
			if (f->src.fd < 0)
				return;
		}
		if (dssh_buf_len(&f->x11_setup) > 0)
			x11_flush_setup(f);
		/* (an X client's setup goes before the core takes the socket) */
		if (dssh_buf_len(&f->x11_setup) == 0 && chan_offload(f))
			return;
		if (f->off == OFF_NONE && !f->sock_eof &&
		    dssh_chan_send_space(f->fc->ssh, f->chan) > 0)
			ev |= EPOLLIN;
		if (dssh_buf_len(&f->to_sock) > 0)
			ev |= EPOLLOUT;
	}
	/* Unregistered while idle: a hung-up socket would wake us for nothing. */
	if (ev == 0)
		dssh_evloop_del(f->fc->loop, &f->src);
	else if (dssh_evloop_set(f->fc->loop, &f->src, ev) != 0)
		chan_close(f);
}

void
fwd_update_events(struct fwd_conn *fc)
{
	for (uint32_t i = 0; i < fc->nchans; i++)
		if (fc->chans[i] != NULL)
			chan_update(fc->chans[i]);
}

/* ---- direct-tcpip, direct-streamlocal ---------------------------------- */

/* a (network order) is one of this host's own addresses. */
static bool
host_address(in_addr_t a)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa) != 0)
		return false;
	for (i = ifa; i != NULL && !found; i = i->ifa_next)
		if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET &&
		    ((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr.s_addr == a)
			found = true;
	freeifaddrs(ifa);
	return found;
}

/* The host's kernel has a route to sin (a UDP socket can be connected). */
static bool
host_route(const struct sockaddr_in *sin)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return true;
	ok = connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) == 0;
	close(fd);
	return ok;
}

/*
 * The routing rule: does this target go to the data core's own TCP? Only
 * when the connection's packet layer is on a data core, for IPv4, and not
 * an address of the host (loopback, its interfaces: the kernel reaches
 * those) nor the data plane's own: an address on the DataAddress subnet,
 * or, with a DataGateway, one the host's kernel has no route to.
 */
static bool
dp_target(const struct fwd_conn *fc, const struct sockaddr_in *sin)
{
	const struct dssh_config *cfg = fc->cfg;
	uint32_t a = ntohl(sin->sin_addr.s_addr), ours, mask;

	if (!fc->offload || cfg == NULL || cfg->data_prefixlen < 0 || cfg->data_prefixlen > 32)
		return false;
	ours = ntohl(cfg->data_addr.s_addr);
	mask = cfg->data_prefixlen == 0 ? 0 : ~0u << (32 - cfg->data_prefixlen);
	if (a == ours || a == 0 || (a >> 24) == 127 || a >= 0xe0000000u ||
	    host_address(sin->sin_addr.s_addr))
		return false;
	if ((a & mask) == (ours & mask))
		return (a & ~mask) != ~mask;    /* (not the broadcast address) */
	return cfg->data_gateway != NULL && !host_route(sin);
}

/* Start a connect to the next address: 0 connected, DSSH_ERR_AGAIN in
 * progress, else failed (errno says why). */
static int
connect_next(struct fwd_chan *f)
{
	while (f->ai_next != NULL) {
		struct addrinfo *ai = f->ai_next;
		int fd;

		f->ai_next = ai->ai_next;
		if (ai->ai_family == AF_INET &&
		    dp_target(f->fc, (const struct sockaddr_in *)(const void *)ai->ai_addr)) {
			const struct sockaddr_in *sin = (const void *)ai->ai_addr;

			if (dssh_chan_connect_offload(f->fc->ssh, f->chan,
			    ntohl(sin->sin_addr.s_addr), ntohs(sin->sin_port)) == 0) {
				f->off = OFF_SENT;     /* (CHAN_CONNECT: the core intercepts) */
				dssh_debug("%s: channel %u: %s: the data core connects", f->fc->log_id,
				    f->chan, f->what);
				return DSSH_ERR_AGAIN;
			}
		}
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return DSSH_ERR_SYSTEM;
		f->src = (struct dssh_evsource){ .fd = fd, .cb = chan_cb };
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			return 0;
		if (errno == EINPROGRESS)
			return DSSH_ERR_AGAIN;
		int e = errno;

		sock_close(f);
		errno = e;
	}
	return DSSH_ERR_SYSTEM;
}

/*
 * 0 connected, DSSH_ERR_AGAIN in progress (f->st says which: a numeric
 * address connects now, a name is looked up on a thread first), else
 * failed (errno).
 */
static int
tcp_connect(struct fwd_chan *f, const char *host, uint32_t port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV | AI_NUMERICHOST };
	char portstr[16];
	int r, fd;

	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((r = getaddrinfo(host, portstr, &hints, &f->ai_all)) == 0) {
		f->ai_next = f->ai_all;
		f->st = FC_CONNECTING;
		return connect_next(f);
	}
	f->ai_all = NULL;
	if (r != EAI_NONAME) {
		errno = EINVAL;
		return DSSH_ERR_INVALID_ARGUMENT;
	}
	if ((r = fwd_lookup_start(host, port, &f->lookup, &fd)) != 0)
		return r;
	f->src = (struct dssh_evsource){ .fd = fd, .cb = chan_cb };
	f->st = FC_RESOLVING;
	return DSSH_ERR_AGAIN;
}

static int
unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return DSSH_ERR_INVALID_ARGUMENT;
	}
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

/* As the user: the kernel checks the user's right to the socket file. */
static int
unix_connect(struct fwd_chan *f, const char *path)
{
	struct sockaddr_un sa;
	struct fwd_creds cr;
	int fd, r, e = 0;

	if ((r = unix_addr(path, &sa)) != 0)
		return r;
	if (f->fc->mon != NULL) {
		/* the monitor connects with the user's ids */
		if ((r = dsshd_monitor_socket(f->fc->mon, f->fc->mon_conn,
		    DSSH_MONITOR_SOCK_UNIX_CONNECT, path, 0, &fd, NULL, 0)) != 0)
			return r;
		f->src = (struct dssh_evsource){ .fd = fd, .cb = chan_cb };
		return 0;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return DSSH_ERR_SYSTEM;
	if ((r = creds_user(f->fc, &cr)) == 0) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			e = errno;
			r = DSSH_ERR_SYSTEM;
		}
	} else {
		e = EPERM;
	}
	creds_root(&cr);
	if (r != 0) {
		close(fd);
		errno = e;
		return r;
	}
	f->src = (struct dssh_evsource){ .fd = fd, .cb = chan_cb };
	return 0;
}

int
fwd_channel_open(struct fwd_conn *fc, uint32_t chan, const struct dssh_chan_open *req)
{
	bool tcp = req->kind == DSSH_CHAN_DIRECT_TCPIP;
	struct fwd_chan *f;
	char why[512];
	int r;

	if (req->kind != DSSH_CHAN_DIRECT_TCPIP && req->kind != DSSH_CHAN_DIRECT_STREAMLOCAL)
		return DSSH_ERR_UNSUPPORTED;
	if (!fc->have_user)
		return DSSH_ERR_PERMISSION;
	if ((tcp ? dssh_fwd_allow_open(&fc->pol, req->host, req->port, req->orig_host,
	    req->orig_port, why, sizeof(why)) :
	    dssh_fwd_allow_streamlocal(&fc->pol, DSSH_FWD_LOCAL, req->host, why,
	    sizeof(why))) != 0) {
		dssh_info("%s: %s", fc->log_id, why);
		return DSSH_ERR_PERMISSION;
	}
	if ((f = chan_new(fc, chan)) == NULL)
		return DSSH_ERR_ALLOC;
	if (tcp)
		snprintf(f->what, sizeof(f->what), "%.120s port %u", req->host, req->port);
	else
		snprintf(f->what, sizeof(f->what), "%.150s", req->host);
	r = tcp ? tcp_connect(f, req->host, req->port) : unix_connect(f, req->host);
	if (r == 0 || r == DSSH_ERR_AGAIN) {
		if (r == 0)
			f->st = FC_OPEN;
		dssh_debug("%s: channel %u: %s %s", fc->log_id, chan, r == 0 ? "connected to" :
		    f->st == FC_RESOLVING ? "resolving" : "connecting to", f->what);
		chan_update(f);
		return r;
	}
	dssh_info("%s: connect to %s failed: %s", fc->log_id, f->what, strerror(errno));
	chan_free(f);
	return DSSH_ERR_SYSTEM;
}

void
fwd_channel_data(struct fwd_conn *fc, uint32_t chan, const uint8_t *p, size_t n)
{
	struct fwd_chan *f = chan_of(fc, chan);

	if (f == NULL || f->sent_close || f->src.fd < 0 || f->shut_wr) {
		dssh_chan_consumed(fc->ssh, chan, n);
		return;
	}
	if (dssh_buf_put(&f->to_sock, p, n) != 0) {
		chan_close(f);
		return;
	}
	/* Written at the end of this round of input (chan_update): one send
	 * for all the packets it brought, not one per 32 KiB packet. */
	if (dssh_buf_len(&f->to_sock) >= FWD_WRITE_BATCH)
		flush_to_sock(f);
	else
		f->batched = true;
}

void
fwd_channel_eof(struct fwd_conn *fc, uint32_t chan)
{
	struct fwd_chan *f = chan_of(fc, chan);

	if (f == NULL)
		return;
	f->peer_eof = true;
	if (f->off == OFF_GO)
		f->shut_wr = true;      /* the core shut the socket down (EOF_IN) */
	flush_to_sock(f);
}

void
fwd_channel_closed(struct fwd_conn *fc, uint32_t chan)
{
	struct fwd_chan *f = chan_of(fc, chan);

	if (f != NULL)
		chan_free(f);
}

/* ---- listeners ----------------------------------------------------------- */

static void
listener_close(struct fwd_conn *fc, struct fwd_listener *l)
{
	struct fwd_creds cr;

	for (struct fwd_listener **pp = &fc->listeners; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	}
	for (unsigned i = 0; i < l->nsocks; i++) {
		dssh_evloop_del(fc->loop, &l->socks[i].src);
		close(l->socks[i].src.fd);
	}
	/* The socket file (and the agent's directory) as the user made them. */
	if ((l->kind == L_UNIX || l->kind == L_AGENT) && fc->mon != NULL) {
		(void)dsshd_monitor_socket(fc->mon, fc->mon_conn, DSSH_MONITOR_SOCK_UNIX_UNLINK,
		    l->addr, l->kind == L_AGENT, NULL, NULL, 0);
	} else if (l->kind == L_UNIX || l->kind == L_AGENT) {
		if (creds_user(fc, &cr) == 0) {
			unlink(l->addr);
			if (l->kind == L_AGENT)
				rmdir(l->dir);
		}
		creds_root(&cr);
	}
	free(l->x11);
	free(l->addr);
	free(l);
}

/* ---- X11 clients before their channel ----------------------------------- */

static void
x11_wait_free(struct fwd_x11_wait *w)
{
	struct fwd_conn *fc = w->fc;

	for (struct fwd_x11_wait **pp = &fc->x11_waits; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	if (w->src.fd >= 0) {
		dssh_evloop_del(fc->loop, &w->src);
		close(w->src.fd);
	}
	dssh_buf_free(&w->setup);
	dssh_wipe(&w->x, sizeof(w->x));
	free(w);
	fc->nx11_waits--;
}

/* The setup checked: the channel, with the setup (real cookie) first. */
static void
x11_wait_open(struct fwd_x11_wait *w)
{
	struct fwd_conn *fc = w->fc;
	struct dssh_chan_open o = { .kind = DSSH_CHAN_X11, .orig_host = w->ip,
	    .orig_port = w->port };
	struct fwd_chan *f;
	uint32_t chan;
	int r;

	if ((r = dssh_chan_open(fc->ssh, &o, &chan)) != 0) {
		dssh_info("%s: X11 connection dropped: %s", fc->log_id, dssh_err_str(r));
		x11_wait_free(w);
		return;
	}
	if ((f = chan_new(fc, chan)) == NULL) {
		dssh_chan_close(fc->ssh, chan);
		x11_wait_free(w);
		return;
	}
	dssh_evloop_del(fc->loop, &w->src);
	f->st = FC_OPENING;
	f->src = (struct dssh_evsource){ .fd = w->src.fd, .cb = chan_cb };
	w->src.fd = -1;
	if (dssh_buf_put(&f->x11_setup, dssh_buf_ptr(&w->setup), dssh_buf_len(&w->setup)) != 0)
		chan_close(f);
	snprintf(f->what, sizeof(f->what), "X11 from %s port %u", w->ip, w->port);
	dssh_debug("%s: channel %u: forwarding %s", fc->log_id, chan, f->what);
	x11_wait_free(w);
}

static void
x11_wait_cb(struct dssh_evsource *src, uint32_t ev)
{
	struct fwd_x11_wait *w = (struct fwd_x11_wait *)src;
	struct fwd_conn *fc = w->fc;
	uint64_t prev = dssh_log_conn_enter(fc->log_num);
	uint8_t *p;
	ssize_t n;
	int r = -1;

	(void)ev;
	if (dssh_buf_reserve(&w->setup, X11_SETUP_MAX, &p) == 0) {
		n = read(src->fd, p, X11_SETUP_MAX);
		dssh_buf_consume_end(&w->setup, n > 0 ? X11_SETUP_MAX - (size_t)n : X11_SETUP_MAX);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			r = 0;
		else if (n > 0)
			r = x11_check_setup(fc, &w->x, &w->setup);
	}
	if (r != 0) {
		if (r < 0)
			x11_wait_free(w);
		else
			x11_wait_open(w);
		fc->after_io(fc->owner);
	}
	dssh_log_conn_leave(prev);
}

static void
x11_wait_new(struct fwd_listener *l, int fd, const char *ip, uint32_t port)
{
	struct fwd_conn *fc = l->fc;
	struct fwd_x11_wait *w;

	if (fc->nx11_waits >= X11_WAITS_MAX || (w = calloc(1, sizeof(*w))) == NULL) {
		dssh_info("%s: X11 connection from %s dropped: too many waiting", fc->log_id, ip);
		close(fd);
		return;
	}
	w->fc = fc;
	w->x = *l->x11;
	w->port = port;
	snprintf(w->ip, sizeof(w->ip), "%s", ip);
	/* the setup and whatever the client sent behind it */
	dssh_buf_init(&w->setup, X11_SETUP_MAX * 2 + FWD_READ_MAX);
	w->src = (struct dssh_evsource){ .fd = fd, .cb = x11_wait_cb };
	w->next = fc->x11_waits;
	fc->x11_waits = w;
	fc->nx11_waits++;
	if (dssh_evloop_set(fc->loop, &w->src, EPOLLIN) != 0)
		x11_wait_free(w);
}

/* A connection to one of our listeners: a channel towards the peer. */
static void
listener_accepted(struct fwd_listener *l, int fd, const struct sockaddr_storage *ss)
{
	struct fwd_conn *fc = l->fc;
	char ip[INET6_ADDRSTRLEN] = "";
	struct dssh_chan_open o = { .host = l->addr, .port = l->bound, .orig_host = ip };
	struct fwd_chan *f;
	uint32_t chan;
	int r;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		o.orig_port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		o.orig_port = ntohs(s6->sin6_port);
	}
	if (l->kind == L_X11) {
		l->single_done = l->x11->single;
		x11_wait_new(l, fd, ip, o.orig_port);
		return;
	}
	o.kind = l->kind == L_TCP ? DSSH_CHAN_FORWARDED_TCPIP : l->kind == L_UNIX ?
	    DSSH_CHAN_FORWARDED_STREAMLOCAL : l->kind == L_X11 ? DSSH_CHAN_X11 :
	    DSSH_CHAN_AUTH_AGENT;
	if ((r = dssh_chan_open(fc->ssh, &o, &chan)) != 0) {
		dssh_info("%s: connection to forwarded %s dropped: %s", fc->log_id, l->addr,
		    dssh_err_str(r));
		close(fd);
		return;
	}
	if ((f = chan_new(fc, chan)) == NULL) {
		close(fd);
		dssh_chan_close(fc->ssh, chan);
		return;
	}
	f->st = FC_OPENING;
	f->src = (struct dssh_evsource){ .fd = fd, .cb = chan_cb };

	if (l->kind == L_TCP)
		snprintf(f->what, sizeof(f->what), "%.60s port %u from %s port %u", l->addr, l->bound,
		    ip, o.orig_port);
	else
		snprintf(f->what, sizeof(f->what), "%.150s", l->addr);
	dssh_debug("%s: channel %u: forwarding %s", fc->log_id, chan, f->what);
}

static void
listener_cb(struct dssh_evsource *src, uint32_t ev)
{
	struct fwd_listener *l = ((struct fwd_lsock *)src)->l;
	struct fwd_conn *fc = l->fc;
	uint64_t prev = dssh_log_conn_enter(fc->log_num);

	(void)ev;
	for (int i = 0; i < FWD_ACCEPT_BATCH && !l->single_done; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(src->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			break;
		listener_accepted(l, fd, &ss);
	}
	/* x11-req's single connection: the display goes with its first client
	 * (the session's handle then points at nothing: it asks first) */
	if (l->single_done) {
		for (unsigned i = 0; i < l->nsocks; i++) {
			dssh_evloop_del(fc->loop, &l->socks[i].src);
			close(l->socks[i].src.fd);
		}
		l->nsocks = 0;
	}
	fc->after_io(fc->owner);
	dssh_log_conn_leave(prev);
}

/* A listener over nfd listening sockets (closed on failure). */
static int
listener_add(struct fwd_conn *fc, enum lkind kind, const int *fds, unsigned nfd,
    const char *addr, uint32_t bound, struct fwd_listener **out)
{
	struct fwd_listener *l = calloc(1, sizeof(*l));

	if (l == NULL || (l->addr = strdup(addr)) == NULL) {
		free(l);
		for (unsigned i = 0; i < nfd; i++)
			close(fds[i]);
		return DSSH_ERR_ALLOC;
	}
	l->fc = fc;
	l->kind = kind;
	l->bound = bound;
	for (unsigned i = 0; i < nfd && i < DSSH_ARRAY_SIZE(l->socks); i++) {
		l->socks[i].src = (struct dssh_evsource){ .fd = fds[i], .cb = listener_cb };
		l->socks[i].l = l;
		l->nsocks++;
	}
	l->next = fc->listeners;
	fc->listeners = l;
	for (unsigned i = 0; i < l->nsocks; i++) {
		if (dssh_evloop_set(fc->loop, &l->socks[i].src, EPOLLIN) != 0) {
			listener_close(fc, l);
			return DSSH_ERR_SYSTEM;
		}
	}
	if (out != NULL)
		*out = l;
	return 0;
}

/* One listening TCP socket on a numeric address (NULL: any of family). */
/* A privileged port for a root login, made by the monitor (dsshd is not root). */
static int
tcp_listen_mon(const struct fwd_conn *fc, const struct addrinfo *ai, uint32_t port, int *fdp)
{
	char host[INET6_ADDRSTRLEN];

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL, 0,
	    NI_NUMERICHOST) != 0) {
		errno = EADDRNOTAVAIL;
		return DSSH_ERR_SYSTEM;
	}
	return dsshd_monitor_socket(fc->mon, fc->mon_conn, DSSH_MONITOR_SOCK_TCP_LISTEN, host,
	    port, fdp, NULL, 0);
}

static int
tcp_listen_one(const struct fwd_conn *fc, int family, const char *addr, uint32_t port,
    int *fdp, uint32_t *bound)
{
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char portstr[16];
	int fd = -1, one = 1, e;

	snprintf(portstr, sizeof(portstr), "%u", port);
	if (getaddrinfo(addr, portstr, &hints, &ai) != 0) {
		errno = EADDRNOTAVAIL;
		return DSSH_ERR_NOT_FOUND;
	}
	if (fc->mon != NULL && port != 0 && port < 1024) {
		if (tcp_listen_mon(fc, ai, port, &fd) != 0 ||
		    getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
			goto fail;
	} else {
		if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
			goto fail;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
		    listen(fd, FWD_LISTEN_BACKLOG) != 0 ||
		    getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
			goto fail;
	}
	freeaddrinfo(ai);
	*bound = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	*fdp = fd;
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	errno = e;
	return DSSH_ERR_SYSTEM;
}

/*
 * Listen where the policy says (GatewayPorts): loopback or every address
 * as IPv4 and, where the host has it, IPv6 on the same port; or one
 * address. The first socket decides the port (the kernel's, for port 0).
 */
static int
tcp_listen(struct fwd_conn *fc, const struct dssh_global_req *req,
    const struct dssh_fwd_bind *bind, uint32_t *port)
{
	const char *v4 = bind->kind == DSSH_FWD_BIND_LOOPBACK ? "127.0.0.1" : "0.0.0.0";
	const char *v6 = bind->kind == DSSH_FWD_BIND_LOOPBACK ? "::1" : "::";
	int fds[2], r;
	unsigned n = 0;

	if (bind->kind == DSSH_FWD_BIND_ADDR)
		r = tcp_listen_one(fc, AF_UNSPEC, bind->addr, req->port, &fds[0], port);
	else
		r = tcp_listen_one(fc, AF_INET, v4, req->port, &fds[0], port);
	if (r != 0) {
		dssh_info("%s: tcpip-forward on %s port %u failed: %s", fc->log_id,
		    bind->kind == DSSH_FWD_BIND_ADDR ? bind->addr : v4, req->port, strerror(errno));
		return DSSH_ERR_SYSTEM;
	}
	n = 1;
	if (bind->kind != DSSH_FWD_BIND_ADDR) {
		uint32_t p6;

		if (tcp_listen_one(fc, AF_INET6, v6, *port, &fds[1], &p6) == 0)
			n = 2;
		else
			dssh_debug("%s: tcpip-forward: no %s port %u: %s", fc->log_id, v6, *port,
			    strerror(errno));
	}
	if ((r = listener_add(fc, L_TCP, fds, n, req->addr, *port, NULL)) != 0)
		return r;
	dssh_verbose("%s: forwarding %s port %u (asked %s port %u)", fc->log_id,
	    bind->kind == DSSH_FWD_BIND_ADDR ? bind->addr : bind->kind == DSSH_FWD_BIND_ANY ?
	    "every address" : "loopback", *port, req->addr, req->port);
	return 0;
}

/*
 * A listening Unix socket at path, made as the user, mode 0666 less mask
 * (set after the bind: the umask is the whole process's). unlink_first:
 * StreamLocalBindUnlink.
 */
static int
unix_listen_fd(struct fwd_conn *fc, const char *path, bool unlink_first, unsigned mask,
    int *fdp)
{
	struct sockaddr_un sa;
	struct fwd_creds cr;
	int fd, r, e = 0;

	if ((r = unix_addr(path, &sa)) != 0)
		return r;
	if (fc->mon != NULL)
		return dsshd_monitor_socket(fc->mon, fc->mon_conn, DSSH_MONITOR_SOCK_UNIX_LISTEN,
		    path, (mask & 0777) | (unlink_first ? 0x1000 : 0), fdp, NULL, 0);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return DSSH_ERR_SYSTEM;
	if ((r = creds_user(fc, &cr)) == 0) {
		if (unlink_first)
			(void)unlink(path);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    listen(fd, FWD_LISTEN_BACKLOG) != 0 ||
		    chmod(path, 0666 & ~(mode_t)mask) != 0) {
			e = errno;
			r = DSSH_ERR_SYSTEM;
		}
	}
	creds_root(&cr);
	if (r != 0) {
		close(fd);
		errno = e != 0 ? e : EPERM;
		return r;
	}
	*fdp = fd;
	return 0;
}

static struct fwd_listener *
listener_find(struct fwd_conn *fc, enum lkind kind, const char *addr, uint32_t port)
{
	for (struct fwd_listener *l = fc->listeners; l != NULL; l = l->next)
		if (l->kind == kind && strcmp(l->addr, addr) == 0 && (kind != L_TCP ||
		    l->bound == port))
			return l;
	return NULL;
}

static int
remote_forward(struct fwd_conn *fc, const struct dssh_global_req *req, uint32_t *port)
{
	bool tcp = req->type == DSSH_GREQ_TCPIP_FORWARD;
	struct dssh_fwd_bind bind;
	char why[512];
	int fd, r;

	if (!fc->have_user)
		return DSSH_ERR_PERMISSION;
	if ((tcp ? dssh_fwd_allow_listen(&fc->pol, req->addr, req->port, fc->uid, &bind, why,
	    sizeof(why)) : dssh_fwd_allow_streamlocal(&fc->pol, DSSH_FWD_REMOTE, req->addr, why,
	    sizeof(why))) != 0) {
		dssh_info("%s: %s", fc->log_id, why);
		return DSSH_ERR_PERMISSION;
	}
	if (tcp && req->port == 0 && !req->want_reply) {
		/* As sshd: the client could never learn the port. */
		dssh_info("%s: tcpip-forward for port 0 without want-reply refused", fc->log_id);
		return DSSH_ERR_PERMISSION;
	}
	if (tcp)
		return tcp_listen(fc, req, &bind, port);
	if ((r = unix_listen_fd(fc, req->addr, fc->pol.streamlocal_bind_unlink,
	    fc->pol.streamlocal_bind_mask, &fd)) != 0) {
		dssh_info("%s: streamlocal-forward on %s failed: %s", fc->log_id, req->addr,
		    strerror(errno));
		return r;
	}
	dssh_verbose("%s: forwarding %s", fc->log_id, req->addr);
	return listener_add(fc, L_UNIX, &fd, 1, req->addr, 0, NULL);
}

int
fwd_global_request(struct fwd_conn *fc, const struct dssh_global_req *req, uint32_t *port)
{
	bool tcp = req->type == DSSH_GREQ_CANCEL_TCPIP_FORWARD;
	struct fwd_listener *l;

	switch (req->type) {
	case DSSH_GREQ_TCPIP_FORWARD:
	case DSSH_GREQ_STREAMLOCAL_FORWARD:
		return remote_forward(fc, req, port);
	case DSSH_GREQ_CANCEL_TCPIP_FORWARD:
	case DSSH_GREQ_CANCEL_STREAMLOCAL_FORWARD:
		/* Always allowed: only this connection's own listeners. */
		if ((l = listener_find(fc, tcp ? L_TCP : L_UNIX, req->addr, req->port)) == NULL)
			return DSSH_ERR_NOT_FOUND;
		dssh_verbose("%s: forwarding of %s cancelled", fc->log_id, req->addr);
		listener_close(fc, l);
		return 0;
	}
	return DSSH_ERR_UNSUPPORTED;
}

void
fwd_open_result(struct fwd_conn *fc, uint32_t chan, uint32_t reason)
{
	struct fwd_chan *f = chan_of(fc, chan);

	if (f == NULL || f->st != FC_OPENING)
		return;
	if (reason != 0) {
		dssh_verbose("%s: channel %u: %s: the client refused (reason %u)", fc->log_id, chan,
		    f->what, reason);
		chan_free(f);
		return;
	}
	f->st = FC_OPEN;
}

/* ---- agent forwarding ---------------------------------------------------- */

int
fwd_agent_start(struct fwd_conn *fc, const char **path, struct fwd_listener **handle)
{
	char dir[64] = "/tmp/ssh-XXXXXXXXXX", sock[128], why[512];
	struct fwd_creds cr;
	int fd, r;

	if (!fc->have_user)
		return DSSH_ERR_PERMISSION;
	if (dssh_fwd_allow_agent(&fc->pol, why, sizeof(why)) != 0) {
		dssh_info("%s: %s", fc->log_id, why);
		return DSSH_ERR_PERMISSION;
	}
	/* mkdtemp makes it 0700; as the user, it is the user's. */
	if (fc->mon != NULL) {
		r = dsshd_monitor_socket(fc->mon, fc->mon_conn, DSSH_MONITOR_SOCK_AGENT_DIR,
		    "", 0, NULL, dir, sizeof(dir));
	} else {
		if ((r = creds_user(fc, &cr)) == 0 && mkdtemp(dir) == NULL)
			r = DSSH_ERR_SYSTEM;
		creds_root(&cr);
	}
	if (r != 0) {
		dssh_error("%s: agent directory: %s", fc->log_id, strerror(errno));
		return r;
	}
	snprintf(sock, sizeof(sock), "%s/agent.%d", dir, (int)getpid());
	/* Owner only, as sshd's (its umask 0177), in a private directory. */
	if ((r = unix_listen_fd(fc, sock, false, 0177, &fd)) != 0 ||
	    (r = listener_add(fc, L_AGENT, &fd, 1, sock, 0, handle)) != 0) {
		dssh_error("%s: agent socket %s: %s", fc->log_id, sock, strerror(errno));
		if (fc->mon != NULL)
			(void)dsshd_monitor_socket(fc->mon, fc->mon_conn,
			    DSSH_MONITOR_SOCK_UNIX_UNLINK, sock, 1, NULL, NULL, 0);
		else if (creds_user(fc, &cr) == 0)
			rmdir(dir);
		creds_root(&cr);
		return r;
	}
	snprintf((*handle)->dir, sizeof((*handle)->dir), "%s", dir);
	*path = (*handle)->addr;
	dssh_verbose("%s: agent forwarding on %s", fc->log_id, sock);
	return 0;
}

void
fwd_agent_stop(struct fwd_conn *fc, struct fwd_listener *handle)
{
	if (handle != NULL)
		listener_close(fc, handle);
}

/* ---- X11 forwarding -------------------------------------------------------- */

/* The client's cookie (hex), and a random fake of the same length. */
static int
x11_auth_new(const char *proto, const char *cookie, bool single, struct fwd_x11 **out)
{
	size_t n = strlen(cookie);
	struct fwd_x11 *x;

	if (strlen(proto) == 0 || strlen(proto) > DSSH_X11_PROTO_MAX || n == 0 || n % 2 != 0 ||
	    n / 2 > X11_COOKIE_MAX)
		return DSSH_ERR_INVALID_FORMAT;
	for (size_t i = 0; proto[i] != '\0'; i++)
		if ((unsigned char)proto[i] <= 0x20 || (unsigned char)proto[i] >= 0x7f)
			return DSSH_ERR_INVALID_FORMAT;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return DSSH_ERR_ALLOC;
	snprintf(x->proto, sizeof(x->proto), "%s", proto);
	x->len = n / 2;
	x->single = single;
	for (size_t i = 0; i < x->len; i++) {
		int hi = dssh_hex_digit(cookie[2 * i]), lo = dssh_hex_digit(cookie[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(x);
			return DSSH_ERR_INVALID_FORMAT;
		}
		x->real[i] = (uint8_t)(hi << 4 | lo);
	}
	dssh_random(x->fake, x->len);
	for (size_t i = 0; i < x->len; i++)
		snprintf(x->fake_hex + 2 * i, 3, "%02x", x->fake[i]);
	*out = x;
	return 0;
}

/* Display N's port on every loopback (or wildcard) address the host has:
 * 0, or DSSH_ERR_BUSY when one of them is taken. */
static int
x11_listen_display(const struct fwd_conn *fc, unsigned n, bool localhost, int fds[2],
    unsigned *nfd)
{
	const char *v4 = localhost ? "127.0.0.1" : "0.0.0.0", *v6 = localhost ? "::1" : "::";
	uint32_t port = X11_PORT_BASE + n, bound;

	*nfd = 0;
	if (tcp_listen_one(fc, AF_INET, v4, port, &fds[0], &bound) != 0)
		return errno == EADDRINUSE ? DSSH_ERR_BUSY : DSSH_ERR_SYSTEM;
	*nfd = 1;
	if (tcp_listen_one(fc, AF_INET6, v6, port, &fds[1], &bound) == 0) {
		*nfd = 2;
	} else if (errno == EADDRINUSE) {
		close(fds[0]);
		*nfd = 0;
		return DSSH_ERR_BUSY;
	}
	return 0;
}

int
fwd_x11_start(struct fwd_conn *fc, const struct fwd_x11_req *req, unsigned *display,
    const char **fake_hex, struct fwd_listener **handle)
{
	struct fwd_x11 *x = NULL;
	int fds[2], r = DSSH_ERR_BUSY;
	unsigned n, nfd = 0;

	if (!fc->have_user)
		return DSSH_ERR_PERMISSION;
	if ((r = x11_auth_new(req->proto, req->cookie, req->single, &x)) != 0) {
		dssh_info("%s: x11-req with a bad protocol or cookie refused", fc->log_id);
		return r;
	}
	for (n = req->offset; n < req->offset + X11_MAX_DISPLAYS; n++)
		if ((r = x11_listen_display(fc, n, req->localhost, fds, &nfd)) != DSSH_ERR_BUSY)
			break;
	if (r != 0) {
		dssh_error("%s: Failed to allocate internet-domain X11 display socket.",
		    fc->log_id);
		free(x);
		return r == DSSH_ERR_BUSY ? DSSH_ERR_NOT_FOUND : r;
	}
	if ((r = listener_add(fc, L_X11, fds, nfd, "X11", X11_PORT_BASE + n, handle)) != 0) {
		free(x);
		return r;
	}
	(*handle)->x11 = x;
	*display = n;
	*fake_hex = x->fake_hex;
	dssh_verbose("%s: X11 display %u (port %u)%s", fc->log_id, n, X11_PORT_BASE + n,
	    req->single ? ", single connection" : "");
	return 0;
}

void
fwd_x11_stop(struct fwd_conn *fc, struct fwd_listener *handle)
{
	if (handle != NULL)
		listener_close(fc, handle);
}

/* ---- the connection ------------------------------------------------------ */

void
fwd_init(struct fwd_conn *fc)
{
	fc->chans = NULL;
	fc->nchans = 0;
	fc->listeners = NULL;
	fc->x11_waits = NULL;
	fc->nx11_waits = 0;
	fc->have_user = false;
	fc->offload = false;
}

int
fwd_set_user(struct fwd_conn *fc, const char *user, uid_t uid, gid_t gid,
    const struct dssh_authkey_opts *key, const char *peer_ip, int peer_port)
{
	int r;

	if (fc->have_user)
		dssh_fwd_policy_free(&fc->pol);
	fc->have_user = false;
	if ((r = dssh_fwd_policy_build(&fc->pol, fc->cfg, key, NULL, peer_ip, peer_port)) != 0)
		return r;
	fc->user = user;
	fc->uid = uid;
	fc->gid = gid;
	fc->have_user = true;
	return 0;
}

void
fwd_free(struct fwd_conn *fc)
{
	while (fc->x11_waits != NULL)
		x11_wait_free(fc->x11_waits);
	while (fc->listeners != NULL)
		listener_close(fc, fc->listeners);
	for (uint32_t i = 0; i < fc->nchans; i++)
		if (fc->chans[i] != NULL)
			chan_free(fc->chans[i]);
	free(fc->chans);
	fc->chans = NULL;
	fc->nchans = 0;
	if (fc->have_user)
		dssh_fwd_policy_free(&fc->pol);
	fc->have_user = false;
}
