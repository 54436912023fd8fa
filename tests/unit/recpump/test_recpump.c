/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The record pump (lib/recpump) as a data core runs it, with nothing faked
 * but the NIC: the test client (tests/unit/ssh/test_client.c) speaks SSH over
 * a lib/tcp connection to a second stack joined in memory; that stack's
 * connection goes through the pump (its own crypto engine instance) and two
 * byte pipes to the real engine in record-offload mode. Whole sessions with
 * rekeys from both sides for AEAD, chacha20-poly1305, and CTR with a MAC and
 * with an ETM MAC, bulk data both ways compared byte for byte, packets sealed
 * into refcounted driver buffers queued by reference (every reference comes
 * back) or in the TCP ring, a small up pipe (flow control), and a corrupted
 * MAC ending in an ERROR record and the engine's DISCONNECT.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_pipe.h"
#include "dssh_record.h"
#include "dssh_recpump.h"
#include "dssh_sshkey.h"
#include "dssh_test.h"
#include "dssh_util.h"
#include "ssh_internal.h"
#include "test_client.h"
#include "test_host.h"

static struct dssh_crypto_engine *engine;
static struct dssh_sshkey *hostkey, *userkey;

/* ---- the server's application (the engine's host) ---- */

/* test_host.h's application, with the channel offload's events counted. */
struct host_ext {
	struct tc *t;
	unsigned ev[8];                 /* enum dssh_chan_offload_ev seen */
	bool hold_go;                   /* no dssh_chan_offload_go at OFFLOADED */
	unsigned eofs;
	uint64_t eof_chan_rx;           /* the core's stdin bytes when the EOF came */
};

static void
h_channel_eof(void *hp, uint32_t chan)
{
	struct host_ext *x = ((struct test_host *)hp)->ext;

	(void)chan;
	x->eofs++;
	if (x->t != NULL && x->t->shim != NULL)
		x->eof_chan_rx = tc_shim_stats(x->t)->chan_rx_bytes;
}

static void
h_channel_offload(void *hp, uint32_t chan, enum dssh_chan_offload_ev ev)
{
	struct test_host *h = hp;
	struct host_ext *x = h->ext;

	x->ev[ev]++;
	if (ev == DSSH_CHAN_OFFLOADED && !x->hold_go)
		CHECK_EQ_INT(dssh_chan_offload_go(h->c, chan), 0);
}

static struct dssh_conn_host_ops host_ops;

/* ---- a session: the test client, the data core's pump, the engine ---- */

struct fx {
	struct test_host h;
	struct host_ext x;
	struct dssh_ssh_hostkey hk[1];
	struct dssh_ssh_conf conf;
	struct dssh_conn *srv;
	struct tc *t;
	struct tc_shim *s;
	struct dssh_buf msg;
	unsigned server_kex;            /* rekeys the server started */
};

static uint32_t fx_chan_window;        /* the server's channel window (0: default) */

static void
fx_init(struct fx *f, const char *cipher, const char *mac, bool by_ref, size_t up_size,
    size_t up_read)
{
	memset(f, 0, sizeof(*f));
	test_host_init(&f->h, userkey);
	dssh_buf_init(&f->msg, 0);
	f->hk[0].alg = "ssh-ed25519";
	f->hk[0].key = hostkey;
	f->conf = (struct dssh_ssh_conf){
		.kex_algs = "curve25519-sha256",
		.cipher_algs = dssh_cipher_names(),
		.mac_algs = dssh_mac_names(),
		.pubkey_algs = "ssh-ed25519",
		.hostkeys = f->hk,
		.n_hostkeys = 1,
		.max_auth_tries = 6,
		.pubkey_auth = true,
		.version_comment = "dssh_test",
		.engine = engine,
		.rekey_bytes = 768 * 1024,      /* the server rekeys during bulk */
		.chan_window = fx_chan_window,
	};
	f->h.ext = &f->x;
	CHECK_EQ_INT(dssh_conn_new(&f->conf, &host_ops, &f->h, "test", &f->srv), 0);
	f->h.c = f->srv;
	struct tc_conf tcc = {
		.kex = "curve25519-sha256", .hostkey = "ssh-ed25519", .cipher = cipher, .mac = mac,
		.strict = true, .ext_info = true, .record_offload = true,
		.pump_by_ref = by_ref, .pump_up_size = up_size, .pump_up_read = up_read,
	};

	CHECK_EQ_INT(tc_new(f->srv, engine, &tcc, &f->t), 0);
	f->x.t = f->t;
	f->s = f->t->shim;
	CHECK(f->s != NULL && f->s->pc != NULL);
}

/* Everything let go: no reference of the pump's left, every buffer back. */
static void
fx_free(struct fx *f)
{
	struct tc_shim *s = f->s;

	tc_shim_close(f->t);
	CHECK(s->cb == NULL);
	CHECK_EQ_INT(s->refs, 0);
	CHECK_EQ_INT(s->buf_held, 0);
	CHECK_EQ_INT(s->buf_live, 0);
	CHECK_EQ_INT(s->buf_holds, s->buf_releases);
	CHECK_EQ_INT(s->bad, 0);
	tc_free(f->t);
	dssh_conn_free(f->srv);
	test_host_free(&f->h);
	dssh_buf_free(&f->msg);
}

static void
fill(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(dssh_test_rand(&seed) >> 32);
}

static void
chan_data_msg(struct fx *f, const uint8_t *p, size_t n, struct dssh_buf *m)
{
	dssh_buf_reset(m);
	dssh_buf_put_u8(m, SSH_MSG_CHANNEL_DATA);
	dssh_buf_put_u32(m, f->t->chan_remote);
	dssh_buf_put_string(m, p, n);
}

/* n bytes of CHANNEL_DATA from the server; a rekey it starts is run. */
static int
recv_chan_data(struct fx *f, struct dssh_buf *out, size_t n)
{
	struct tc *t = f->t;
	int r;

	while (dssh_buf_len(out) < n) {
		if ((r = tc_recv(t, &f->msg)) != 0)
			return r;
		uint8_t type = dssh_buf_ptr(&f->msg)[0];

		if (type == SSH_MSG_KEXINIT) {
			if ((r = tc_kex(t)) != 0)
				return r;
			f->server_kex++;
			continue;
		}
		if (type == SSH_MSG_CHANNEL_WINDOW_ADJUST || type == SSH_MSG_IGNORE ||
		    type == SSH_MSG_EXT_INFO)
			continue;
		if (type != SSH_MSG_CHANNEL_DATA)
			return DSSH_ERR_PROTOCOL;
		struct dssh_buf m;
		const uint8_t *p;
		uint32_t id;
		size_t len;

		dssh_buf_from(&m, dssh_buf_ptr(&f->msg) + 1, dssh_buf_len(&f->msg) - 1);
		if ((r = dssh_buf_get_u32(&m, &id)) != 0 ||
		    (r = dssh_buf_get_string_direct(&m, &p, &len)) != 0)
			return r;
		if (id != t->chan_local)
			return DSSH_ERR_PROTOCOL;
		dssh_buf_put(out, p, len);
	}
	return 0;
}

/* Every message the server sent so far: data, and rekeys it started. */
static int
drain_msgs(struct fx *f, struct dssh_buf *out)
{
	int r = recv_chan_data(f, out, SIZE_MAX);

	return r == DSSH_ERR_MSG_INCOMPLETE ? 0 : r;
}

/* A server KEXINIT waiting for the client (one it sent after a bulk). */
static void
answer_rekey(struct fx *f)
{
	struct tc *t = f->t;

	while (!t->have_server_kexinit && tc_recv(t, &f->msg) == 0)
		;
	if (t->have_server_kexinit) {
		CHECK_EQ_INT(tc_kex(t), 0);
		f->server_kex++;
	}
}

/*
 * Bulk both ways. Client -> server: total bytes in packets of up to 32 KiB,
 * sealed into one buffer and fed at once (bursts of many packets on the
 * pump's input). Server -> client: total bytes through the channel, read
 * as they come, the window given back each 512 KiB.
 */
static void
bulk_both_ways(struct fx *f, size_t total, uint64_t seed)
{
	struct tc_shim *w = f->s;
	struct tc *t = f->t;
	uint8_t *d = malloc(total);
	struct dssh_buf wire, m, got;
	size_t before = dssh_buf_len(&f->h.data), off;
	unsigned up = w->packets_up, npkts = 0;

	dssh_buf_init(&wire, 0);
	dssh_buf_init(&m, 0);
	dssh_buf_init(&got, 0);
	fill(d, total, seed);
	answer_rekey(f);
	for (off = 0; off < total; ) {
		size_t n = DSSH_MIN(total - off, (size_t)(off * 7 % 32768) + 1);

		chan_data_msg(f, d + off, n, &m);
		CHECK_EQ_INT(tc_seal(t, dssh_buf_ptr(&m), dssh_buf_len(&m), &wire), 0);
		off += n;
		npkts++;
		if (dssh_buf_len(&wire) >= 256 * 1024 || off == total) {
			CHECK_EQ_INT(tc_feed(t, dssh_buf_ptr(&wire), dssh_buf_len(&wire)), 0);
			dssh_buf_reset(&wire);
			/* The server may have started a rekey: answered before the
			 * next packets (which would otherwise still be fine). */
			answer_rekey(f);
		}
	}
	CHECK_EQ_INT(dssh_buf_len(&f->h.data) - before, total);
	if (dssh_buf_len(&f->h.data) - before == total)
		CHECK_MEM(dssh_buf_ptr(&f->h.data) + before, d, total);
	CHECK(w->packets_up - up >= npkts);

	fill(d, total, seed + 1);
	/* At most 512 KiB outstanding; the window given back each 256 KiB. */
	size_t sent = 0, acked = 0;

	for (unsigned guard = 0; dssh_buf_len(&got) < total && guard < 100000; guard++) {
		size_t k = 0;

		if (sent < total && sent - acked < 512 * 1024)
			k = dssh_chan_send(f->srv, f->h.chan, d + sent,
			    DSSH_MIN(total - sent, 512 * 1024 - (sent - acked)), false);
		sent += k;
		if (drain_msgs(f, &got) != 0)
			break;
		if (dssh_buf_len(&got) - acked >= 256 * 1024 || dssh_buf_len(&got) == total) {
			struct dssh_buf a;
			size_t n = dssh_buf_len(&got) - acked;

			dssh_buf_init(&a, 0);
			dssh_buf_put_u8(&a, SSH_MSG_CHANNEL_WINDOW_ADJUST);
			dssh_buf_put_u32(&a, t->chan_remote);
			dssh_buf_put_u32(&a, (uint32_t)n);
			CHECK_EQ_INT(tc_sendb(t, &a), 0);
			dssh_buf_free(&a);
			acked += n;
		}
	}
	CHECK_EQ_INT(dssh_buf_len(&got), total);
	if (dssh_buf_len(&got) == total)
		CHECK_MEM(dssh_buf_ptr(&got), d, total);
	dssh_buf_free(&wire);
	dssh_buf_free(&m);
	dssh_buf_free(&got);
	free(d);
}

/*
 * 300 short packets (longer than a NEWKEYS can be: no barrier) in one write: they arrive together, so the pump opens
 * them in bursts of many (up to DSSH_RECPUMP_BURST) across rounds, and
 * every one goes up in order.
 */
static void
small_burst(struct fx *f)
{
	struct tc_shim *w = f->s;
	const struct dssh_recpump_stats *ps = tc_shim_stats(w->t);
	uint64_t bursts = ps->bursts, ops = ps->burst_ops;
	struct dssh_buf wire, m;
	uint8_t d[300 * 400];
	size_t before = dssh_buf_len(&f->h.data);

	dssh_buf_init(&wire, 0);
	dssh_buf_init(&m, 0);
	fill(d, sizeof(d), 77);
	answer_rekey(f);
	for (unsigned i = 0; i < 300; i++) {
		chan_data_msg(f, d + 400 * i, 400, &m);
		CHECK_EQ_INT(tc_seal(w->t, dssh_buf_ptr(&m), dssh_buf_len(&m), &wire), 0);
	}
	CHECK_EQ_INT(tc_feed(w->t, dssh_buf_ptr(&wire), dssh_buf_len(&wire)), 0);
	CHECK_EQ_INT(dssh_buf_len(&f->h.data) - before, sizeof(d));
	if (dssh_buf_len(&f->h.data) - before == sizeof(d))
		CHECK_MEM(dssh_buf_ptr(&f->h.data) + before, d, sizeof(d));
	/* Opened in bursts of many (not one by one). */
	CHECK(ps->burst_ops - ops >= 300);
	CHECK((ps->burst_ops - ops) >= 8 * (ps->bursts - bursts));
	if (getenv("TEST_RECPUMP_STATS") != NULL)
		fprintf(stderr, "  small: %llu ops in %llu bursts\n",
		    (unsigned long long)(ps->burst_ops - ops),
		    (unsigned long long)(ps->bursts - bursts));
	dssh_buf_free(&wire);
	dssh_buf_free(&m);
}

static bool up_small;

static void
session_one(const char *cipher, const char *mac, bool by_ref, size_t up_size)
{
	struct fx f;
	struct tc_shim *w;
	struct dssh_conn_stats st;
	const struct dssh_recpump_stats *ps;
	int before = dssh_test_failures;

	fx_init(&f, cipher, mac, by_ref, up_size, up_small ? 16 * 1024 : 0);
	w = f.s;
	CHECK_EQ_INT(tc_connect_all(w->t, "alice", userkey, "ssh-ed25519"), 0);
	CHECK(dssh_conn_authenticated(w->t->srv));
	CHECK(f.h.have_chan);
	dssh_conn_get_stats(w->t->srv, &st);
	CHECK_STR(st.cipher_in, cipher);
	CHECK_STR(st.cipher_out, cipher);
	small_burst(&f);
	bulk_both_ways(&f, 1500 * 1024, 1);
	/* Client rekeys, one with its NEWKEYS and the next packet in one
	 * write (the pump stops at the NEWKEYS until the engine's RX_KEYS). */
	for (unsigned i = 0; i < 2; i++) {
		w->t->hold_newkeys = i == 1;
		answer_rekey(&f);
		CHECK_EQ_INT(tc_kex(w->t), 0);
		w->t->hold_newkeys = false;
		/* One short packet behind the NEWKEYS, likely in its segment:
		 * it goes up once the engine's RX_KEYS came, with no new input. */
		size_t had = dssh_buf_len(&f.h.data);

		CHECK_EQ_INT(tc_chan_data(w->t, (const uint8_t *)"after-keys", 10), 0);
		CHECK_EQ_INT(dssh_buf_len(&f.h.data) - had, 10);
		if (dssh_buf_len(&f.h.data) - had == 10)
			CHECK_MEM(dssh_buf_ptr(&f.h.data) + had, "after-keys", 10);
		bulk_both_ways(&f, 600 * 1024, 10 + i);
	}
	answer_rekey(&f);
	tc_drain(w->t);
	dssh_conn_get_stats(w->t->srv, &st);
	CHECK(f.server_kex >= 2);
	CHECK_EQ_INT(st.kex_count, 1 + 2 + f.server_kex);
	/* Every packet through the pump both ways, counted as the engine did. */
	ps = tc_shim_stats(w->t);
	CHECK_EQ_INT(ps->rx_packets, st.packets_in);
	CHECK_EQ_INT(ps->tx_packets, st.packets_out);
	CHECK_EQ_INT(ps->errors, 0);
	CHECK_EQ_INT(w->error_sent, 0);
	CHECK_EQ_INT(w->packets_up, st.packets_in);
	CHECK(ps->bursts > 0 && ps->burst_ops >= ps->bursts);
	/* Bursts held several packets (not when the engine reads little). */
	if (getenv("TEST_RECPUMP_STATS") != NULL)
		fprintf(stderr, "  %s %s: rx %llu tx %llu bursts %llu ops %llu kicks %u bufs %u "
		    "kex %u steps %u\n", cipher, mac, (unsigned long long)ps->rx_packets,
		    (unsigned long long)ps->tx_packets, (unsigned long long)ps->bursts,
		    (unsigned long long)ps->burst_ops, w->up_kicks, w->bufs_got, f.server_kex,
		    w->steps);
	CHECK(ps->burst_ops > ps->bursts);
	CHECK(w->rx_posted > 0 && w->tx_moved > 0);
	CHECK(w->fault == 0 && !w->cli_reset && w->bad == 0);
	if (by_ref) {
		CHECK(w->bufs_got > 0);
		CHECK(w->buf_holds > 0);
	} else {
		CHECK_EQ_INT(w->bufs_got, 0);
	}
	if (up_size < 256 * 1024)
		CHECK(w->up_kicks > 0);     /* the up pipe filled and flow resumed */
	CHECK_EQ_INT(w->buf_live, w->buf_held);   /* only TCP's unacked ones */
	/* The client's DISCONNECT: the engine closes, the data core lets go. */
	{
		struct dssh_buf m;

		dssh_buf_init(&m, 0);
		dssh_buf_put_u8(&m, SSH_MSG_DISCONNECT);
		dssh_buf_put_u32(&m, SSH_DISCONNECT_BY_APPLICATION);
		dssh_buf_put_cstring(&m, "bye");
		dssh_buf_put_cstring(&m, "");
		CHECK_EQ_INT(tc_sendb(w->t, &m), DSSH_ERR_CONN_CLOSED);
		dssh_buf_free(&m);
	}
	CHECK(dssh_conn_closing(w->t->srv));
	CHECK(w->cb == NULL);
	CHECK(w->cli_eof);
	fx_free(&f);
	if (dssh_test_failures != before)
		fprintf(stderr, "  session %s %s %s up %zu failed\n", cipher, mac,
		    by_ref ? "by reference" : "in the ring", up_size);
}

static void
test_sessions(void)
{
	static const char *const cm[][2] = {
		{ "aes128-gcm@openssh.com", "hmac-sha2-256" },
		{ "chacha20-poly1305@openssh.com", "hmac-sha2-256" },
		{ "aes128-ctr", "hmac-sha2-256" },
		{ "aes128-ctr", "hmac-sha2-256-etm@openssh.com" },
	};

	for (size_t i = 0; i < DSSH_ARRAY_SIZE(cm); i++) {
		session_one(cm[i][0], cm[i][1], true, 1 << 20);
		session_one(cm[i][0], cm[i][1], false, 1 << 20);
	}
	/* An up pipe of two packets, the engine reading 16 KiB at a time:
	 * input waits for room. */
	up_small = true;
	session_one("aes128-ctr", "hmac-sha2-256-etm@openssh.com", true, 80 * 1024);
}

/* A flipped ciphertext bit: an ERROR record (nothing of the packet goes
 * up), the engine's DISCONNECT goes out, the connection is let go. */
static void
bad_mac_one(const char *cipher, const char *mac, long off)
{
	struct fx f;
	struct tc_shim *w;
	struct dssh_buf wire, m;
	uint8_t d[3000];
	unsigned up;
	const struct dssh_recpump_stats *ps;

	fx_init(&f, cipher, mac, true, 1 << 20, 0);
	w = f.s;
	CHECK_EQ_INT(tc_connect_all(w->t, "alice", userkey, "ssh-ed25519"), 0);
	tc_drain(w->t);
	dssh_buf_init(&wire, 0);
	dssh_buf_init(&m, 0);
	fill(d, sizeof(d), 5);
	/* A good packet, then the bad one, then another good one in one write:
	 * the first goes up, nothing after the failure does. */
	chan_data_msg(&f, d, 100, &m);
	CHECK_EQ_INT(tc_seal(w->t, dssh_buf_ptr(&m), dssh_buf_len(&m), &wire), 0);
	size_t first = dssh_buf_len(&wire);

	chan_data_msg(&f, d, sizeof(d), &m);
	CHECK_EQ_INT(tc_seal(w->t, dssh_buf_ptr(&m), dssh_buf_len(&m), &wire), 0);
	/* off into the bad packet, or from its end (its tag) when negative */
	size_t at = off >= 0 ? first + (size_t)off : dssh_buf_len(&wire) - (size_t)-off;

	chan_data_msg(&f, d, 50, &m);
	CHECK_EQ_INT(tc_seal(w->t, dssh_buf_ptr(&m), dssh_buf_len(&m), &wire), 0);
	dssh_buf_mutable_ptr(&wire)[at] ^= 0x04;
	up = w->packets_up;
	ps = tc_shim_stats(w->t);
	uint64_t rx_before = ps->rx_packets;

	(void)tc_feed(w->t, dssh_buf_ptr(&wire), dssh_buf_len(&wire));
	CHECK_EQ_INT(w->error_sent, DSSH_REC_ERR_MAC);
	CHECK_EQ_INT(tc_shim_rx_state(w->t), DSSH_REC_RX_FAILED);
	CHECK_EQ_INT(w->packets_up - up, 1);
	CHECK_EQ_INT(ps->rx_packets - rx_before, 1);
	CHECK_EQ_INT(ps->errors, 1);
	CHECK_EQ_INT(dssh_buf_len(&f.h.data), 100);
	CHECK(dssh_conn_closing(w->t->srv));
	tc_drain(w->t);
	CHECK(w->t->got_disconnect);
	CHECK_EQ_INT(w->t->disconnect_reason, SSH_DISCONNECT_MAC_ERROR);
	CHECK(w->cb == NULL);
	CHECK(w->cli_eof);
	dssh_buf_free(&wire);
	dssh_buf_free(&m);
	fx_free(&f);
}

static void
test_bad_mac(void)
{
	bad_mac_one("aes128-gcm@openssh.com", "hmac-sha2-256", 20);
	bad_mac_one("chacha20-poly1305@openssh.com", "hmac-sha2-256", 20);
	bad_mac_one("aes128-ctr", "hmac-sha2-256", 20);
	bad_mac_one("aes128-ctr", "hmac-sha2-256-etm@openssh.com", 20);
	bad_mac_one("aes128-ctr", "hmac-sha2-256-etm@openssh.com", -1);
	bad_mac_one("aes128-gcm@openssh.com", "hmac-sha2-256", -3);
}

/* ---- channel offload: the data core moves the channel's data itself ---- */

/* The session's child, as the test plays it: the far ends of its pipes
 * (the near ends go to the data core, which closes them). */
struct child {
	int in_r, out_w, err_w;
	bool in_eof;
	struct dssh_buf in;             /* what reached its stdin */
};

static void
child_new(struct child *k, struct dssh_chan_fds *fds)
{
	int in[2], out[2], err[2];

	memset(k, 0, sizeof(*k));
	dssh_buf_init(&k->in, 0);
	CHECK(pipe2(in, O_NONBLOCK | O_CLOEXEC) == 0 && pipe2(out, O_NONBLOCK | O_CLOEXEC) == 0 &&
	    pipe2(err, O_NONBLOCK | O_CLOEXEC) == 0);
	k->in_r = in[0];
	k->out_w = out[1];
	k->err_w = err[1];
	fds->in = in[1];
	fds->out = out[0];
	fds->err = err[0];
}

static void
child_free(struct child *k)
{
	if (k->in_r >= 0)
		close(k->in_r);
	if (k->out_w >= 0)
		close(k->out_w);
	if (k->err_w >= 0)
		close(k->err_w);
	dssh_buf_free(&k->in);
}

/* Reads what its stdin holds (EOF noted). */
static void
child_read(struct child *k)
{
	uint8_t b[65536];
	ssize_t n;

	while ((n = read(k->in_r, b, sizeof(b))) > 0)
		dssh_buf_put(&k->in, b, (size_t)n);
	if (n == 0)
		k->in_eof = true;
}

/* Writes what the pipe takes of d[*off..len). */
static void
child_write(int fd, const uint8_t *d, size_t len, size_t *off)
{
	ssize_t n;

	while (*off < len && (n = write(fd, d + *off, DSSH_MIN(len - *off, (size_t)65536))) > 0)
		*off += (size_t)n;
}

/* The client's side of the channel. */
struct xfer {
	uint32_t win;                   /* what the server lets it send */
	uint32_t local;                 /* what it lets the server send */
	size_t unacked;                 /* taken, not yet given back */
	size_t sent;
	struct dssh_buf out, err;       /* the server's CHANNEL_DATA / EXTENDED_DATA */
	struct dssh_buf stash;          /* tc_kex's */
	unsigned adjusts, over, bad;
	bool eof, closed, exit_status;
};

static void
xfer_init(struct xfer *x, struct tc *t)
{
	memset(x, 0, sizeof(*x));
	x->win = t->remote_window;
	x->local = 1u << 20;            /* tc_connect_all's window */
	dssh_buf_init(&x->out, 0);
	dssh_buf_init(&x->err, 0);
	dssh_buf_init(&x->stash, 0);
	t->stash = &x->stash;
}

static void
xfer_free(struct xfer *x)
{
	dssh_buf_free(&x->out);
	dssh_buf_free(&x->err);
	dssh_buf_free(&x->stash);
}

/* Every message the server sent: rekeys run, adjusts applied, data taken
 * (never more than the window), the window given back each 256 KiB. */
static void
xfer_msg(struct fx *f, struct xfer *x, const uint8_t *pl, size_t len)
{
	struct tc *t = f->t;
	struct dssh_buf m;
	const uint8_t *p;
	uint32_t id = 0, v = 0;
	size_t n;
	uint8_t type = pl[0];

	dssh_buf_from(&m, pl + 1, len - 1);
	if (type == SSH_MSG_IGNORE || type == SSH_MSG_EXT_INFO)
		return;
	if (dssh_buf_get_u32(&m, &id) != 0 || id != t->chan_local) {
		x->bad++;
		return;
	}
	switch (type) {
	case SSH_MSG_CHANNEL_WINDOW_ADJUST:
		if (dssh_buf_get_u32(&m, &v) != 0)
			x->bad++;
		x->win += v;
		x->adjusts++;
		break;
	case SSH_MSG_CHANNEL_DATA:
	case SSH_MSG_CHANNEL_EXTENDED_DATA:
		if ((type == SSH_MSG_CHANNEL_EXTENDED_DATA &&
		    (dssh_buf_get_u32(&m, &v) != 0 || v != SSH_EXTENDED_DATA_STDERR)) ||
		    dssh_buf_get_string_direct(&m, &p, &n) != 0 || n > 32768) {
			x->bad++;
			break;
		}
		if (n > x->local)
			x->over++;      /* past the window we gave */
		x->local -= (uint32_t)DSSH_MIN(n, (size_t)x->local);
		dssh_buf_put(type == SSH_MSG_CHANNEL_DATA ? &x->out : &x->err, p, n);
		x->unacked += n;
		break;
	case SSH_MSG_CHANNEL_EOF:
		x->eof = true;
		break;
	case SSH_MSG_CHANNEL_CLOSE:
		x->closed = true;
		break;
	case SSH_MSG_CHANNEL_REQUEST:
		x->exit_status = true;
		break;
	default:
		x->bad++;
	}
}

/* Every message the server sent: rekeys run, adjusts applied, data taken
 * (never more than the window), the window given back each 256 KiB. */
static void
xfer_poll(struct fx *f, struct xfer *x)
{
	struct tc *t = f->t;

	for (;;) {
		const uint8_t *p;
		size_t n;

		/* (what a client rekey read before the server's KEXINIT first) */
		if (dssh_buf_len(&x->stash) > 0) {
			CHECK_EQ_INT(dssh_buf_get_string_direct(&x->stash, &p, &n), 0);
			xfer_msg(f, x, p, n);
			continue;
		}
		if (tc_recv(t, &f->msg) != 0)
			break;
		if (dssh_buf_ptr(&f->msg)[0] == SSH_MSG_KEXINIT) {
			CHECK_EQ_INT(tc_kex(t), 0);
			f->server_kex++;
			continue;
		}
		xfer_msg(f, x, dssh_buf_ptr(&f->msg), dssh_buf_len(&f->msg));
	}
	if (x->unacked >= 256 * 1024 && !x->closed) {
		struct dssh_buf a;

		dssh_buf_init(&a, 0);
		dssh_buf_put_u8(&a, SSH_MSG_CHANNEL_WINDOW_ADJUST);
		dssh_buf_put_u32(&a, t->chan_remote);
		dssh_buf_put_u32(&a, (uint32_t)x->unacked);
		CHECK_EQ_INT(tc_sendb(t, &a), 0);
		x->local += (uint32_t)x->unacked;
		x->unacked = 0;
		dssh_buf_free(&a);
	}
}

/* Client data within its window, up to 256 KiB of wire in one write. */
static void
xfer_send(struct fx *f, struct xfer *x, const uint8_t *d, size_t total)
{
	struct dssh_buf wire;

	dssh_buf_init(&wire, 0);
	while (x->sent < total && x->win > 0 && dssh_buf_len(&wire) < 256 * 1024) {
		size_t n = DSSH_MIN(DSSH_MIN(total - x->sent, (size_t)x->win),
		    (size_t)(x->sent * 7 % 32768) + 1);

		chan_data_msg(f, d + x->sent, n, &f->msg);
		CHECK_EQ_INT(tc_seal(f->t, dssh_buf_ptr(&f->msg), dssh_buf_len(&f->msg), &wire), 0);
		x->sent += n;
		x->win -= (uint32_t)n;
	}
	if (dssh_buf_len(&wire) > 0)
		CHECK_EQ_INT(tc_feed(f->t, dssh_buf_ptr(&wire), dssh_buf_len(&wire)), 0);
	dssh_buf_free(&wire);
}

static void
send_u32_msg(struct fx *f, uint8_t type)
{
	struct dssh_buf m;

	dssh_buf_init(&m, 0);
	dssh_buf_put_u8(&m, type);
	dssh_buf_put_u32(&m, f->t->chan_remote);
	CHECK_EQ_INT(tc_sendb(f->t, &m), 0);
	dssh_buf_free(&m);
}

/* A session offloaded to the test's pipes: data the client sent before
 * goes through the host (which writes it to the child itself, then lets
 * the core go), data sent between OFFLOAD and GO is queued by the core. */
static void
offload_start(struct fx *f, struct child *k, struct xfer *x, bool quick)
{
	struct dssh_chan_fds fds;

	CHECK_EQ_INT(tc_connect_all(f->t, "alice", userkey, "ssh-ed25519"), 0);
	answer_rekey(f);
	child_new(k, &fds);
	xfer_init(x, f->t);
	CHECK_EQ_INT(tc_chan_data(f->t, (const uint8_t *)"host:", 5), 0);
	CHECK_EQ_INT(dssh_buf_len(&f->h.data), 5);
	f->x.hold_go = true;
	CHECK_EQ_INT(dssh_chan_offload(f->srv, f->h.chan, &fds), 0);
	CHECK_EQ_INT(dssh_chan_send_space(f->srv, f->h.chan), 0);
	tc_shim_run(f->t);
	CHECK_EQ_INT(f->x.ev[DSSH_CHAN_OFFLOADED], 1);
	CHECK_EQ_INT(f->s->chan_up[DSSH_REC_MARK_CHAN_OFFLOADED], 1);
	CHECK_EQ_INT(tc_shim_stats(f->t)->chan_offloads, 1);
	/* Intercepted now: queued, not written before GO. */
	CHECK_EQ_INT(tc_chan_data(f->t, (const uint8_t *)"core:", 5), 0);
	CHECK_EQ_INT(dssh_buf_len(&f->h.data), 5);
	child_read(k);
	CHECK_EQ_INT(dssh_buf_len(&k->in), 0);
	/* A quick child: all its output, and its end, before GO (the core
	 * saw the fds ready once, when it took them, and no edge after). */
	if (quick) {
		CHECK(write(k->out_w, "early", 5) == 5 && write(k->err_w, "E", 1) == 1);
		close(k->out_w);
		close(k->err_w);
		k->out_w = k->err_w = -1;
		tc_shim_run(f->t);
	}
	/* The host writes what it held, then lets the core go. */
	CHECK(write(fds.in, dssh_buf_ptr(&f->h.data), 5) == 5);
	CHECK_EQ_INT(dssh_chan_offload_go(f->srv, f->h.chan), 0);
	tc_shim_run(f->t);
	child_read(k);
	CHECK_EQ_INT(dssh_buf_len(&k->in), 10);
	if (dssh_buf_len(&k->in) == 10)
		CHECK_MEM(dssh_buf_ptr(&k->in), "host:core:", 10);
	dssh_buf_reset(&k->in);
	x->win -= 10;
}

/*
 * Bulk both ways through the core, byte for byte: the client's data to the
 * child's stdin within the server's (small) window, which the core gives
 * back; stdout and stderr to the client within its window; rekeys by both
 * sides on the way (the server's from the core's counts); the client's EOF
 * reaches the child after every byte; the child's output ends (OUT_EOF),
 * the host closes (RECLAIM), and the counts of both sides agree.
 */
static void
offload_bulk(const char *cipher, const char *mac)
{
	const size_t up = 3u << 20, down = 2u << 20, errn = 100 * 1024;
	struct fx f;
	struct child k;
	struct xfer x;
	uint8_t *du = malloc(up), *dd = malloc(down), *de = malloc(errn);
	size_t doff = 0, eoff = 0;
	bool cli_kex = false, eof_sent = false;
	struct dssh_conn_stats st;
	const struct dssh_recpump_stats *ps;
	int before = dssh_test_failures;

	fill(du, up, 21);
	fill(dd, down, 22);
	fill(de, errn, 23);
	fx_chan_window = 256 * 1024;
	fx_init(&f, cipher, mac, true, 1 << 20, 0);
	offload_start(&f, &k, &x, false);
	ps = tc_shim_stats(f.t);
	for (unsigned guard = 0; guard < 20000; guard++) {
		xfer_send(&f, &x, du, up);
		if (!cli_kex && x.sent >= up / 2) {
			CHECK_EQ_INT(tc_kex(f.t), 0);   /* the client rekeys mid-way */
			cli_kex = true;
		}
		if (x.sent == up && !eof_sent) {
			send_u32_msg(&f, SSH_MSG_CHANNEL_EOF);
			eof_sent = true;
		}
		child_read(&k);
		child_write(k.out_w, dd, down, &doff);
		child_write(k.err_w, de, errn, &eoff);
		if (doff == down && eoff == errn && k.out_w >= 0) {
			close(k.out_w);
			close(k.err_w);
			k.out_w = k.err_w = -1;
		}
		tc_shim_run(f.t);
		xfer_poll(&f, &x);
		if (k.in_eof && f.x.ev[DSSH_CHAN_OUT_EOF] && f.x.ev[DSSH_CHAN_ERR_EOF])
			break;
	}
	CHECK(k.in_eof);
	CHECK_EQ_INT(dssh_buf_len(&k.in), up);
	if (dssh_buf_len(&k.in) == up)
		CHECK_MEM(dssh_buf_ptr(&k.in), du, up);
	CHECK_EQ_INT(dssh_buf_len(&x.out), down);
	if (dssh_buf_len(&x.out) == down)
		CHECK_MEM(dssh_buf_ptr(&x.out), dd, down);
	CHECK_EQ_INT(dssh_buf_len(&x.err), errn);
	if (dssh_buf_len(&x.err) == errn)
		CHECK_MEM(dssh_buf_ptr(&x.err), de, errn);
	/* The EOF came after the last byte reached stdin. */
	CHECK_EQ_INT(f.x.eofs, 1);
	CHECK_EQ_INT(f.x.eof_chan_rx, up + 5);
	CHECK_EQ_INT(f.s->chan_up[DSSH_REC_MARK_CHAN_EOF_IN], 1);
	CHECK_EQ_INT(f.s->chan_up[DSSH_REC_MARK_CHAN_OUT_EOF], 2);
	/* Windows: the core gave the small one back many times, never sent
	 * past the client's. */
	CHECK(x.adjusts >= up / (256 * 1024));
	CHECK_EQ_INT(x.over, 0);
	CHECK_EQ_INT(x.bad, 0);
	CHECK(f.server_kex >= 2);
	CHECK_EQ_INT(ps->chan_rx_bytes, up + 5);
	CHECK_EQ_INT(ps->chan_tx_bytes, down + errn);
	/* The host finishes as for a child that exited: the channel is
	 * reclaimed before the CLOSE. */
	CHECK_EQ_INT(dssh_chan_exit_status(f.srv, f.h.chan, 0), 0);
	CHECK_EQ_INT(dssh_chan_send_eof(f.srv, f.h.chan), 0);
	CHECK_EQ_INT(dssh_chan_close(f.srv, f.h.chan), 0);
	tc_shim_run(f.t);
	xfer_poll(&f, &x);
	CHECK(x.eof && x.exit_status && x.closed);
	CHECK_EQ_INT(f.s->chan_up[DSSH_REC_MARK_CHAN_RECLAIMED], 1);
	CHECK(dssh_chan_offloaded(f.srv, f.h.chan) == false);
	send_u32_msg(&f, SSH_MSG_CHANNEL_CLOSE);
	CHECK(!f.h.have_chan || true);
	answer_rekey(&f);
	tc_drain(f.t);
	/* Every packet counted once by the engine (its own and the core's). */
	dssh_conn_get_stats(f.srv, &st);
	CHECK_EQ_INT(ps->rx_packets, st.packets_in);
	CHECK_EQ_INT(ps->tx_packets, st.packets_out);
	CHECK_EQ_INT(ps->errors, 0);
	CHECK_EQ_INT(f.s->error_sent, 0);
	CHECK(!dssh_conn_closing(f.srv));
	CHECK_EQ_INT(f.s->bad, 0);
	child_free(&k);
	xfer_free(&x);
	fx_free(&f);
	free(du);
	free(dd);
	free(de);
	fx_chan_window = 0;
	if (dssh_test_failures != before)
		fprintf(stderr, "  offload bulk %s %s failed\n", cipher, mac);
}

static void
test_offload_bulk(void)
{
	offload_bulk("aes128-gcm@openssh.com", "hmac-sha2-256");
	offload_bulk("chacha20-poly1305@openssh.com", "hmac-sha2-256");
	offload_bulk("aes128-ctr", "hmac-sha2-256-etm@openssh.com");
}

/*
 * A child that stops reading: its pipe fills, the core queues no more
 * than the window and gives none of it back, the client stalls. Then the
 * host closes mid-transfer: the core drops the queue, closes its fds (the
 * child sees its stdin end) and is reclaimed before the CLOSE goes out.
 */
static void
test_offload_backpressure(void)
{
	const size_t total = 8u << 20;
	struct fx f;
	struct child k;
	struct xfer x;
	uint8_t *d = malloc(total);
	const struct dssh_recpump_stats *ps;
	unsigned adjusts;

	fill(d, total, 31);
	fx_chan_window = 256 * 1024;
	fx_init(&f, "aes128-gcm@openssh.com", "hmac-sha2-256", true, 1 << 20, 0);
	offload_start(&f, &k, &x, false);
	ps = tc_shim_stats(f.t);
	for (unsigned i = 0; i < 2000 && x.win > 0; i++) {
		xfer_send(&f, &x, d, total);
		tc_shim_run(f.t);
		xfer_poll(&f, &x);
	}
	/* Stalled: the window is spent, the pipe full, the rest queued. */
	CHECK_EQ_INT(x.win, 0);
	CHECK(x.sent < total);
	CHECK(ps->chan_rx_bytes > 0);
	CHECK(x.sent + 10 - ps->chan_rx_bytes <= 256 * 1024);
	/* What the core holds for the child is counted, and bounded. */
	CHECK(ps->chan_queued > 0 && ps->chan_queued <= 256 * 1024);
	adjusts = x.adjusts;
	tc_shim_run(f.t);
	xfer_poll(&f, &x);
	CHECK_EQ_INT(x.adjusts, adjusts);
	/* The child reads again: everything arrives, in order. */
	for (unsigned i = 0; i < 20000 && dssh_buf_len(&k.in) < 3 * total / 4; i++) {
		child_read(&k);
		tc_shim_run(f.t);
		xfer_poll(&f, &x);
		xfer_send(&f, &x, d, 3 * total / 4);
	}
	CHECK_EQ_INT(dssh_buf_len(&k.in), 3 * total / 4);
	if (dssh_buf_len(&k.in) == 3 * total / 4)
		CHECK_MEM(dssh_buf_ptr(&k.in), d, 3 * total / 4);
	CHECK_EQ_INT(ps->chan_queued, 0);
	/* Stop reading again, fill, then close with data queued. */
	for (unsigned i = 0; i < 2000 && x.win > 0; i++) {
		xfer_send(&f, &x, d, total);
		tc_shim_run(f.t);
		xfer_poll(&f, &x);
	}
	CHECK(x.sent - 3 * total / 4 > 0);
	CHECK_EQ_INT(dssh_chan_close(f.srv, f.h.chan), 0);
	tc_shim_run(f.t);
	xfer_poll(&f, &x);
	CHECK(x.closed);
	CHECK_EQ_INT(f.s->chan_up[DSSH_REC_MARK_CHAN_RECLAIMED], 1);
	CHECK_EQ_INT(ps->chan_queued, 0);         /* dropped with the channel */
	CHECK_EQ_INT(ps->chan_queued, 0);         /* dropped with the channel */
	/* The core's stdin end is closed: the child reads what the pipe
	 * held, then its end. */
	for (unsigned i = 0; i < 100 && !k.in_eof; i++)
		child_read(&k);
	CHECK(k.in_eof);
	/* Data the client sent before it saw the CLOSE is dropped. */
	xfer_send(&f, &x, d, total);
	send_u32_msg(&f, SSH_MSG_CHANNEL_CLOSE);
	CHECK(!dssh_conn_closing(f.srv));
	CHECK_EQ_INT(f.s->error_sent, 0);
	CHECK_EQ_INT(f.s->bad, 0);
	child_free(&k);
	xfer_free(&x);
	fx_free(&f);
	free(d);
	fx_chan_window = 0;
}

/* A child whose output and end came before the core had the window. */
static void
test_offload_quick_child(void)
{
	struct fx f;
	struct child k;
	struct xfer x;

	fx_init(&f, "chacha20-poly1305@openssh.com", "hmac-sha2-256", false, 1 << 20, 0);
	offload_start(&f, &k, &x, true);
	xfer_poll(&f, &x);
	CHECK_EQ_INT(dssh_buf_len(&x.out), 5);
	CHECK_EQ_INT(dssh_buf_len(&x.err), 1);
	CHECK_EQ_INT(f.x.ev[DSSH_CHAN_OUT_EOF], 1);
	CHECK_EQ_INT(f.x.ev[DSSH_CHAN_ERR_EOF], 1);
	/* The client's EOF after it: the child's stdin ends. */
	send_u32_msg(&f, SSH_MSG_CHANNEL_EOF);
	child_read(&k);
	CHECK(k.in_eof);
	CHECK_EQ_INT(f.x.eofs, 1);
	CHECK_EQ_INT(dssh_chan_close(f.srv, f.h.chan), 0);
	tc_shim_run(f.t);
	xfer_poll(&f, &x);
	CHECK(x.closed);
	CHECK_EQ_INT(f.s->chan_up[DSSH_REC_MARK_CHAN_RECLAIMED], 1);
	child_free(&k);
	xfer_free(&x);
	fx_free(&f);
}

/* More data than the window let: an ERROR record, the engine's DISCONNECT. */
static void
test_offload_past_window(void)
{
	struct fx f;
	struct child k;
	struct xfer x;
	uint8_t d[32768];
	struct dssh_buf wire;

	fill(d, sizeof(d), 41);
	fx_chan_window = 64 * 1024;
	fx_init(&f, "aes128-ctr", "hmac-sha2-256", true, 1 << 20, 0);
	offload_start(&f, &k, &x, false);
	dssh_buf_init(&wire, 0);
	/* The child does not read: past its pipe and the window the core
	 * gives nothing back, and the client goes on. */
	for (int i = 0; i < 200 && !dssh_conn_closing(f.srv); i++) {
		dssh_buf_reset(&wire);
		chan_data_msg(&f, d, sizeof(d), &f.msg);
		CHECK_EQ_INT(tc_seal(f.t, dssh_buf_ptr(&f.msg), dssh_buf_len(&f.msg), &wire), 0);
		(void)tc_feed(f.t, dssh_buf_ptr(&wire), dssh_buf_len(&wire));
	}
	CHECK_EQ_INT(f.s->error_sent, DSSH_REC_ERR_WINDOW);
	CHECK(dssh_conn_closing(f.srv));
	tc_drain(f.t);
	CHECK(f.t->got_disconnect);
	CHECK_EQ_INT(f.t->disconnect_reason, SSH_DISCONNECT_PROTOCOL_ERROR);
	/* The connection went: the core closed its ends. */
	fx_free(&f);
	child_read(&k);
	CHECK(k.in_eof);
	CHECK(write(k.out_w, "x", 1) < 0 && errno == EPIPE);
	dssh_buf_free(&wire);
	child_free(&k);
	xfer_free(&x);
	fx_chan_window = 0;
}

/* ---- a relayed socket (a forwarded channel's target) ---- */

/* A TCP connection on loopback: *near (ours, to the core) and *far (the
 * target's end), both non-blocking. */
static void
tcp_pair(int *near, int *far)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(l >= 0 && bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(l, 1) == 0 &&
	    getsockname(l, (struct sockaddr *)&sa, &len) == 0);
	*near = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(*near >= 0 && connect(*near, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	*far = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK(*far >= 0);
	CHECK(fcntl(*near, F_SETFL, O_NONBLOCK) == 0);
	close(l);
}

/* As app/dsshd/forward.c: two duplicates of the socket, no stderr; our
 * own copy closed once the core has the window. */
static void
sock_offload_start(struct fx *f, struct xfer *x, int *far)
{
	struct dssh_chan_fds fds = { .err = -1 };
	int near;

	CHECK_EQ_INT(tc_connect_all(f->t, "alice", userkey, "ssh-ed25519"), 0);
	answer_rekey(f);
	xfer_init(x, f->t);
	tcp_pair(&near, far);
	fds.in = dup(near);
	fds.out = dup(near);
	f->x.hold_go = true;
	CHECK_EQ_INT(dssh_chan_offload(f->srv, f->h.chan, &fds), 0);
	tc_shim_run(f->t);
	CHECK_EQ_INT(f->x.ev[DSSH_CHAN_OFFLOADED], 1);
	CHECK_EQ_INT(dssh_chan_offload_go(f->srv, f->h.chan), 0);
	close(near);
	tc_shim_run(f->t);
}

/*
 * Bulk both ways through a socket; the client's EOF is the target's FIN
 * while the core still holds the socket's duplicates (a shutdown, not a
 * close); the target's FIN an OUT_EOF (an EOF, not a failure).
 */
static void
test_offload_socket(void)
{
	const size_t up = 2u << 20, down = 3u << 20;
	uint8_t *du = malloc(up), *dd = malloc(down), b[65536];
	struct dssh_buf got;
	struct fx f;
	struct xfer x;
	size_t doff = 0;
	bool eof_sent = false, far_eof = false, far_shut = false;
	int far;

	fill(du, up, 51);
	fill(dd, down, 52);
	dssh_buf_init(&got, 0);
	fx_chan_window = 256 * 1024;
	fx_init(&f, "aes128-gcm@openssh.com", "hmac-sha2-256", true, 1 << 20, 0);
	sock_offload_start(&f, &x, &far);
	for (unsigned guard = 0; guard < 20000; guard++) {
		ssize_t n;

		xfer_send(&f, &x, du, up);
		if (x.sent == up && !eof_sent) {
			send_u32_msg(&f, SSH_MSG_CHANNEL_EOF);
			eof_sent = true;
		}
		while ((n = read(far, b, sizeof(b))) > 0)
			dssh_buf_put(&got, b, (size_t)n);
		if (n == 0)
			far_eof = true;
		child_write(far, dd, down, &doff);
		if (doff == down && far_eof && !far_shut) {
			CHECK(shutdown(far, SHUT_WR) == 0);
			far_shut = true;
		}
		tc_shim_run(f.t);
		xfer_poll(&f, &x);
		if (far_eof && f.x.ev[DSSH_CHAN_OUT_EOF] > 0 && dssh_buf_len(&x.out) == down)
			break;
	}
	CHECK(far_eof);
	CHECK_EQ_INT(dssh_buf_len(&got), up);
	if (dssh_buf_len(&got) == up)
		CHECK_MEM(dssh_buf_ptr(&got), du, up);
	CHECK_EQ_INT(dssh_buf_len(&x.out), down);
	if (dssh_buf_len(&x.out) == down)
		CHECK_MEM(dssh_buf_ptr(&x.out), dd, down);
	CHECK_EQ_INT(dssh_buf_len(&x.err), 0);
	CHECK_EQ_INT(f.x.eofs, 1);
	CHECK_EQ_INT(f.x.ev[DSSH_CHAN_OUT_EOF], 1);
	CHECK_EQ_INT(f.x.ev[DSSH_CHAN_OUT_FAIL], 0);
	CHECK_EQ_INT(f.x.ev[DSSH_CHAN_ERR_EOF], 0);
	CHECK_EQ_INT(x.over, 0);
	CHECK_EQ_INT(x.bad, 0);
	CHECK(x.adjusts >= up / (256 * 1024));
	CHECK_EQ_INT(dssh_chan_send_eof(f.srv, f.h.chan), 0);
	CHECK_EQ_INT(dssh_chan_close(f.srv, f.h.chan), 0);
	tc_shim_run(f.t);
	xfer_poll(&f, &x);
	CHECK(x.eof && x.closed);
	CHECK_EQ_INT(f.s->chan_up[DSSH_REC_MARK_CHAN_RECLAIMED], 1);
	CHECK_EQ_INT(tc_shim_stats(f.t)->errors, 0);
	CHECK(!dssh_conn_closing(f.srv));
	close(far);
	dssh_buf_free(&got);
	xfer_free(&x);
	fx_free(&f);
	free(du);
	free(dd);
	fx_chan_window = 0;
}

/* The target resets mid-transfer: OUT_FAIL (the host's CLOSE), not EOF. */
static void
test_offload_socket_reset(void)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	uint8_t d[100000];
	struct fx f;
	struct xfer x;
	size_t off = 0;
	int far;

	fill(d, sizeof(d), 61);
	fx_init(&f, "chacha20-poly1305@openssh.com", "hmac-sha2-256", false, 1 << 20, 0);
	sock_offload_start(&f, &x, &far);
	child_write(far, d, sizeof(d), &off);
	CHECK_EQ_INT(off, sizeof(d));
	for (unsigned i = 0; i < 200 && dssh_buf_len(&x.out) < sizeof(d); i++) {
		tc_shim_run(f.t);
		xfer_poll(&f, &x);
	}
	CHECK_EQ_INT(dssh_buf_len(&x.out), sizeof(d));
	CHECK(setsockopt(far, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	close(far);
	for (unsigned i = 0; i < 2000 && f.x.ev[DSSH_CHAN_OUT_FAIL] == 0 &&
	    f.x.ev[DSSH_CHAN_OUT_EOF] == 0; i++) {
		usleep(100);
		tc_shim_run(f.t);
		xfer_poll(&f, &x);
	}
	CHECK_EQ_INT(f.x.ev[DSSH_CHAN_OUT_FAIL], 1);
	CHECK_EQ_INT(f.x.ev[DSSH_CHAN_OUT_EOF], 0);
	CHECK_EQ_INT(dssh_chan_close(f.srv, f.h.chan), 0);
	tc_shim_run(f.t);
	xfer_poll(&f, &x);
	CHECK(x.closed);
	CHECK_EQ_INT(f.s->chan_up[DSSH_REC_MARK_CHAN_RECLAIMED], 1);
	CHECK(!dssh_conn_closing(f.srv));
	xfer_free(&x);
	fx_free(&f);
}

/* A direct-tcpip open: answered later (dssh_chan_open_reply). */
static int
h_channel_open(void *hp, uint32_t chan, const struct dssh_chan_open *o)
{
	struct test_host *h = hp;

	if (o->kind != DSSH_CHAN_DIRECT_TCPIP)
		return DSSH_ERR_PERMISSION;
	h->chan = chan;
	h->have_chan = true;
	return DSSH_ERR_AGAIN;
}

/*
 * CHAN_CONNECT for an open not answered yet: the test's pump has no
 * ops->connect, so the core refuses it (CONNECTED, refused) and forgets
 * the channel; the engine passes that on (CONNECT_FAILED) and the host's
 * OPEN_FAILURE reaches the client. The connection goes on. An open channel,
 * or none, cannot be connected that way.
 */
static void
test_connect_refused(void)
{
	struct dssh_buf b;
	struct fx f;

	fx_init(&f, "aes128-gcm@openssh.com", "hmac-sha2-256", true, 1 << 20, 0);
	dssh_buf_init(&b, 0);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", userkey), 0);
	CHECK_EQ_INT(dssh_buf_put_u8(&b, SSH_MSG_CHANNEL_OPEN), 0);
	CHECK_EQ_INT(dssh_buf_put_cstring(&b, "direct-tcpip"), 0);
	CHECK_EQ_INT(dssh_buf_put_u32(&b, 9), 0);
	CHECK_EQ_INT(dssh_buf_put_u32(&b, 1u << 20), 0);
	CHECK_EQ_INT(dssh_buf_put_u32(&b, 32768), 0);
	CHECK_EQ_INT(dssh_buf_put_cstring(&b, "198.18.0.1"), 0);
	CHECK_EQ_INT(dssh_buf_put_u32(&b, 80), 0);
	CHECK_EQ_INT(dssh_buf_put_cstring(&b, "127.0.0.1"), 0);
	CHECK_EQ_INT(dssh_buf_put_u32(&b, 5555), 0);
	CHECK_EQ_INT(tc_sendb(f.t, &b), 0);
	tc_shim_run(f.t);
	CHECK_EQ_INT(f.s->bad, 0);
	CHECK(f.h.have_chan);
	CHECK_EQ_INT(dssh_chan_connect_offload(f.srv, f.h.chan + 1, 0xc6120001u, 80),
	    DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_chan_connect_offload(f.srv, f.h.chan, 0xc6120001u, 80), 0);
	/* once only */
	CHECK_EQ_INT(dssh_chan_connect_offload(f.srv, f.h.chan, 0xc6120001u, 80),
	    DSSH_ERR_INVALID_ARGUMENT);
	for (unsigned i = 0; i < 50 && f.x.ev[DSSH_CHAN_CONNECT_FAILED] == 0; i++)
		tc_shim_run(f.t);
	CHECK_EQ_INT(f.s->bad, 0);
	CHECK_EQ_INT(f.x.ev[DSSH_CHAN_CONNECT_FAILED], 1);
	CHECK_EQ_INT(f.x.ev[DSSH_CHAN_CONNECTED], 0);
	CHECK_EQ_INT(f.s->chan_up[DSSH_REC_MARK_CHAN_CONNECTED], 1);
	CHECK_EQ_INT(tc_shim_stats(f.t)->chan_connect_fail, 1);
	CHECK_EQ_INT(tc_shim_stats(f.t)->chan_tcp_active, 0);
	CHECK_EQ_INT(tc_shim_stats(f.t)->errors, 0);
	CHECK_EQ_INT(dssh_chan_open_reply(f.srv, f.h.chan, DSSH_OPEN_CONNECT_FAILED,
	    "Connection refused"), 0);
	tc_shim_run(f.t);
	CHECK_EQ_INT(f.s->bad, 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_OPEN_FAILURE, &b), 0);
	CHECK_EQ_INT(f.s->bad, 0);
	CHECK(!dssh_conn_closing(f.srv));
	/* The channel number is free again: a normal session on it works. */
	CHECK_EQ_INT(tc_open_session(f.t, 1u << 20, 32768), 0);
	CHECK_EQ_INT(dssh_chan_connect_offload(f.srv, f.h.chan, 0xc6120001u, 80),
	    DSSH_ERR_INVALID_ARGUMENT);     /* open already */
	CHECK(!dssh_conn_closing(f.srv));
	dssh_buf_free(&b);
	fx_free(&f);
}

/* Not record offload, not a channel, or the peer's EOF already: refused. */
static void
test_offload_refused(void)
{
	struct fx f;
	struct dssh_chan_fds fds = { 0, 1, 2 };

	fx_init(&f, "aes128-gcm@openssh.com", "hmac-sha2-256", true, 1 << 20, 0);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	CHECK_EQ_INT(dssh_chan_offload(f.srv, f.h.chan + 1, &fds), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_chan_offload_go(f.srv, f.h.chan), DSSH_ERR_INVALID_ARGUMENT);
	send_u32_msg(&f, SSH_MSG_CHANNEL_EOF);
	CHECK_EQ_INT(dssh_chan_offload(f.srv, f.h.chan, &fds), DSSH_ERR_INVALID_ARGUMENT);
	fx_free(&f);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);       /* as dsshd: a closed pipe is an EPIPE */
	test_host_ops(&host_ops);
	host_ops.channel_eof = h_channel_eof;
	host_ops.channel_offload = h_channel_offload;
	host_ops.channel_open = h_channel_open;
	dssh_log_init("test_recpump", getenv("TEST_ENGINE_DEBUG") ? DSSH_LOG_DEBUG3 :
	    DSSH_LOG_QUIET, true);
	if (dssh_crypto_engine_create("openssl", NULL, &engine) != 0 ||
	    dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &hostkey) != 0 ||
	    dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &userkey) != 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	DSSH_RUN(test_sessions);
	DSSH_RUN(test_bad_mac);
	DSSH_RUN(test_offload_refused);
	DSSH_RUN(test_connect_refused);
	DSSH_RUN(test_offload_bulk);
	DSSH_RUN(test_offload_quick_child);
	DSSH_RUN(test_offload_backpressure);
	DSSH_RUN(test_offload_past_window);
	DSSH_RUN(test_offload_socket);
	DSSH_RUN(test_offload_socket_reset);
	dssh_sshkey_free(hostkey);
	dssh_sshkey_free(userkey);
	dssh_crypto_engine_free(engine);
	DSSH_TEST_END();
}
