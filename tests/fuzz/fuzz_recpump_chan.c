/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Channel offload on a data core (lib/recpump/recpump_chan.c): the peer's
 * channel messages a core intercepts for a channel it moves itself. A
 * channel is offloaded to real pipes, or (bit 1 of the first byte) to a
 * socket as a forwarded channel's is (stdin and stdout duplicates of one
 * end of a socket pair, no stderr), the window from the first bytes,
 * GO given before or after the messages (bit 0 of the first byte); the rest
 * is messages (u16 length, then the payload, whose first byte is taken
 * modulo the four intercepted types, the recipient forced to the channel
 * one time in two). Each answer must be pass, taken, or an input error;
 * then the channel is reclaimed (every fd closed, nothing left queued).
 * Bit 2 of the first byte: the channel is a target the core connects with
 * its own TCP (CHAN_CONNECT; a second lib/tcp stack in memory listens;
 * bit 3: on a port where nothing does, refused),
 * the peer's data going into that connection's send buffer; after the
 * reclaim no target connection is left.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_pipe.h"
#include "dssh_record.h"
#include "dssh_recpump.h"
#include "dssh_tcp.h"
#include "dssh_util.h"
#include "recpump_int.h"
#include "ssh_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dssh_recpump *pump;
static struct dssh_pipe up, down;
/* CHAN_CONNECT: the core's stack (a) and the target's (b), joined here. */
static struct dssh_tcp_stack *sa, *sb;
static uint64_t now_us = 1000000;

#define IP_CORE 0xc6120002u
#define IP_TARGET 0xc6120001u

static int
f_connect(void *arg, uint32_t raddr, uint16_t rport, void *tag, struct dssh_tcp_conn **out)
{
	(void)arg;
	if (dssh_tcp_connect(sa, IP_CORE, 0, raddr, rport, now_us, out) != 0)
		return DSSH_ERR_BUSY;
	dssh_tcp_set_udata(*out, (void *)((uintptr_t)tag | 1u));
	return 0;
}

/* Segments of one stack into the other. */
static void
move_segs(struct dssh_tcp_stack *from, struct dssh_tcp_stack *to)
{
	struct dssh_tcp_seg_out o[16];
	unsigned n;

	do {
		n = dssh_tcp_output(from, o, 16, now_us);
		for (unsigned i = 0; i < n; i++) {
			static uint8_t buf[70000];
			size_t off = o[i].hdr_len;
			struct dssh_tcp_seg_in in = { .saddr = o[i].saddr, .daddr = o[i].daddr,
			    .data = buf };

			memcpy(buf, o[i].hdr, o[i].hdr_len);
			for (unsigned j = 0; j < o[i].npay; j++) {
				memcpy(buf + off, o[i].pay[j], o[i].pay_len[j]);
				off += o[i].pay_len[j];
			}
			in.len = off;
			(void)dssh_tcp_input(to, &in, now_us);
		}
	} while (n == 16);
}

/* A few rounds of the two stacks: the core's events to the pump, the
 * target reading what arrives (and accepting into *bc). */
static void
net_run(struct dssh_tcp_conn **bc, unsigned rounds)
{
	struct dssh_tcp_event ev[16];
	static uint8_t sink[65536];    /* static: see pl in LLVMFuzzerTestOneInput */
	unsigned n;

	for (unsigned r = 0; r < rounds; r++) {
		now_us += 1000;
		(void)dssh_tcp_timers(sa, now_us);
		(void)dssh_tcp_timers(sb, now_us);
		move_segs(sa, sb);
		move_segs(sb, sa);
		while ((n = dssh_tcp_events(sa, ev, 16)) > 0)
			for (unsigned i = 0; i < n; i++) {
				uintptr_t u = (uintptr_t)dssh_tcp_udata(ev[i].conn);

				if (u & 1u)
					dssh_recpump_chan_tcp_event(pump, (void *)(u & ~(uintptr_t)1),
					    ev[i].events, now_us);
			}
		while ((n = dssh_tcp_events(sb, ev, 16)) > 0)
			for (unsigned i = 0; i < n; i++)
				if ((ev[i].events & DSSH_TCP_EV_ACCEPTED) && *bc == NULL)
					*bc = ev[i].conn;
		if (*bc != NULL)
			while (dssh_tcp_recv(*bc, sink, sizeof(sink)) > 0)
				;
		dssh_recpump_flush(pump);
	}
}

static void
f_ref(void *u)
{
	(void)u;
}

static void
f_rx_done(void *a, void *u, bool posted, bool eof)
{
	(void)a;
	(void)u;
	(void)posted;
	(void)eof;
}

static void
f_tx_done(void *a, void *u, bool moved, bool fatal)
{
	(void)a;
	(void)u;
	(void)moved;
	(void)fatal;
}

static const struct dssh_recpump_ops ops = {
	.ref = f_ref, .unref = f_ref, .rx_done = f_rx_done, .tx_done = f_tx_done,
	.connect = f_connect,
};

static void
setup(void)
{
	struct dssh_recpump_conf pc = { .engine = "openssl", .ops = &ops };

	signal(SIGPIPE, SIG_IGN);       /* as dsshd: a closed pipe is an EPIPE */
	struct dssh_tcp_conf tc;

	if (dssh_recpump_new(&pc, &pump) != 0 || dssh_pipe_init(&up, 1 << 20) != 0 ||
	    dssh_pipe_init(&down, 1 << 16) != 0)
		abort();
	dssh_tcp_conf_default(&tc);
	tc.sndbuf = tc.rcvbuf = 256 * 1024;
	tc.msl_us = 1000;
	if (dssh_tcp_stack_new(&tc, &sa) != 0 || dssh_tcp_stack_new(&tc, &sb) != 0 ||
	    dssh_tcp_listen(sb, IP_TARGET, 80) != 0)
		abort();
}

static void go(struct dssh_recpump_conn *c, const uint8_t *w);

/* The tcp mode: connect, messages, reclaim; no connection left after. */
static void
one_target(struct dssh_recpump_conn *c, const uint8_t *data, size_t size, bool early)
{
	static const uint8_t types[] = {
		SSH_MSG_CHANNEL_WINDOW_ADJUST, SSH_MSG_CHANNEL_DATA, SSH_MSG_CHANNEL_EXTENDED_DATA,
		SSH_MSG_CHANNEL_EOF,
	};
	static uint8_t pl[70000];       /* static: see LLVMFuzzerTestOneInput */
	uint8_t body[DSSH_REC_CHAN_CONNECT_LEN];
	struct dssh_tcp_conn *bc = NULL;
	size_t off = 10;

	dssh_put_u32be(body, 3);
	dssh_put_u32be(body + 4, 9);
	dssh_put_u32be(body + 8, 32768);
	dssh_put_u32be(body + 12, IP_TARGET);
	dssh_put_u32be(body + 16, (data[0] & 8) ? 81 : 80);    /* 81: refused (RST) */
	if (rp_chan_marker(pump, c, DSSH_REC_MARK_CHAN_CONNECT, body, sizeof(body)) != 0)
		abort();
	net_run(&bc, 6);
	if (c->chans == NULL) {         /* refused: forgotten */
		if (dssh_recpump_stats(pump)->chan_tcp_active != 0)
			abort();
		return;
	}
	if (early)
		go(c, data + 1);
	while (size - off >= 2) {
		size_t n = DSSH_MIN((size_t)(data[off] << 8 | data[off + 1]), size - off - 2);
		int r;

		off += 2;
		if (n > sizeof(pl))
			n = sizeof(pl);
		memcpy(pl, data + off, n);
		off += n;
		if (n > 0)
			pl[0] = types[pl[0] % 4];
		if (n >= 5 && (pl[1] & 1))
			dssh_put_u32be(pl + 1, 3);
		r = rp_chan_intercept(pump, c, pl, n, n + 32);
		if (r != 0 && r != 1 && r != DSSH_REC_ERR_WINDOW && r != DSSH_REC_ERR_CHANNEL)
			abort();
		if (r > 1)
			break;
		net_run(&bc, 1);
	}
	if (!early)
		go(c, data + 1);
	net_run(&bc, 4);
	dssh_put_u32be(body, 3);
	if (rp_chan_marker(pump, c, DSSH_REC_MARK_CHAN_RECLAIM, body, DSSH_REC_CHAN_ID_LEN) != 0 ||
	    c->chans != NULL)
		abort();
	dssh_recpump_flush(pump);       /* the target connection closed (or reset) */
	if (dssh_recpump_stats(pump)->chan_tcp_active != 0)
		abort();
	net_run(&bc, 4);
	if (bc != NULL)
		dssh_tcp_abort(bc, now_us);
	now_us += 10000000;             /* TIME-WAIT and the rest run out */
	(void)dssh_tcp_timers(sa, now_us);
	(void)dssh_tcp_timers(sb, now_us);
	move_segs(sa, sb);
	move_segs(sb, sa);
}

static void
go(struct dssh_recpump_conn *c, const uint8_t *w)
{
	uint8_t b[DSSH_REC_CHAN_GO_LEN];

	dssh_put_u32be(b, 3);
	dssh_put_u32be(b + 4, 64 * 1024);
	dssh_put_u32be(b + 8, dssh_get_u32be(w) % (64 * 1024 + 1));
	dssh_put_u32be(b + 12, 0);
	dssh_put_u32be(b + 16, dssh_get_u32be(w + 4));
	dssh_put_u32be(b + 20, w[8] & 1);
	dssh_put_u32be(b + 24, (w[8] & 2) ? 64 * 1024 : 1024 * 1024);    /* max: grows or not */
	if (rp_chan_marker(pump, c, DSSH_REC_MARK_CHAN_GO, b, sizeof(b)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t types[] = {
		SSH_MSG_CHANNEL_WINDOW_ADJUST, SSH_MSG_CHANNEL_DATA, SSH_MSG_CHANNEL_EXTENDED_DATA,
		SSH_MSG_CHANNEL_EOF,
	};
	/*
	 * The message buffers are static, not on the stack: ASan poisoned and
	 * unpoisoned the shadow of every 64-70 KiB frame on each call (net_run
	 * runs once per message), a third of the run in memset and page faults.
	 * A global has its redzone as a stack array does.
	 */
	static uint8_t pl[70000];
	struct dssh_recpump_conn *c;
	uint8_t body[DSSH_REC_CHAN_OFFLOAD_LEN];
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, sp[2];
	size_t off = 10;
	bool early, sock;

	if (pump == NULL)
		setup();
	if (size < off)
		return 0;
	early = data[0] & 1;
	sock = data[0] & 2;
	if (dssh_recpump_conn_new(pump, NULL, &up, &down, &(uint32_t){ 0 }, NULL, 1, &c) != 0)
		abort();
	if (data[0] & 4) {
		one_target(c, data, size, early);
		dssh_recpump_flush(pump);
		dssh_pipe_consume(&up, dssh_pipe_readable(&up));
		dssh_recpump_conn_free(c);
		return 0;
	}
	if (sock) {
		/* in[0] and out[1] are the far end, once; the core's two are dups */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0 ||
		    (out[0] = dup(sp[0])) < 0)
			abort();
		in[1] = sp[0];
		in[0] = sp[1];
	} else if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
	    pipe2(err, O_CLOEXEC) != 0) {
		abort();
	}
	dssh_put_u32be(body, 3);
	dssh_put_u32be(body + 4, 9);
	dssh_put_u32be(body + 8, 32768);
	dssh_put_u32be(body + 12, (uint32_t)in[1]);
	dssh_put_u32be(body + 16, (uint32_t)out[0]);
	dssh_put_u32be(body + 20, sock ? UINT32_MAX : (uint32_t)err[0]);
	if (rp_chan_marker(pump, c, DSSH_REC_MARK_CHAN_OFFLOAD, body, sizeof(body)) != 0)
		abort();
	if (early)
		go(c, data + 1);
	while (size - off >= 2) {
		size_t n = DSSH_MIN((size_t)(data[off] << 8 | data[off + 1]), size - off - 2);
		int r;

		off += 2;
		if (n > sizeof(pl))
			n = sizeof(pl);
		memcpy(pl, data + off, n);
		off += n;
		if (n > 0)
			pl[0] = types[pl[0] % 4];
		if (n >= 5 && (pl[1] & 1))
			dssh_put_u32be(pl + 1, 3);
		r = rp_chan_intercept(pump, c, pl, n, n + 32);
		if (r != 0 && r != 1 && r != DSSH_REC_ERR_WINDOW && r != DSSH_REC_ERR_CHANNEL)
			abort();
		if (r > 1)
			break;
	}
	if (!early)
		go(c, data + 1);
	(void)dssh_recpump_chan_poll(pump);
	dssh_put_u32be(body, 3);
	if (rp_chan_marker(pump, c, DSSH_REC_MARK_CHAN_RECLAIM, body, DSSH_REC_CHAN_ID_LEN) != 0 ||
	    c->chans != NULL || dssh_recpump_chan_active(pump))
		abort();
	/* The core's ends are closed: the far ones see it. */
	if (write(sock ? in[0] : out[1], "x", 1) != -1)
		abort();
	close(in[0]);
	if (!sock) {
		close(out[1]);
		close(err[1]);
	}
	dssh_recpump_flush(pump);       /* (lets go of the lists' entries) */
	dssh_pipe_consume(&up, dssh_pipe_readable(&up));
	dssh_recpump_conn_free(c);
	return 0;
}
