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
#include <stdlib.h>
#include <string.h>

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

static struct dssh_crypto_engine *engine;
static struct dssh_sshkey *hostkey, *userkey;

/* ---- the server's application (the engine's host) ---- */

struct host {
	struct dssh_conn *c;
	struct dssh_buf good_blob;
	uint32_t chan;
	bool have_chan;
	struct dssh_buf data;
};

static int
h_auth_pubkey(void *hp, const char *user, const uint8_t *blob, size_t len, bool final)
{
	struct host *h = hp;

	(void)final;
	return strcmp(user, "alice") == 0 && len == dssh_buf_len(&h->good_blob) &&
	    memcmp(blob, dssh_buf_ptr(&h->good_blob), len) == 0 ? 0 : -1;
}

static int
h_auth_password(void *hp, const char *user, const char *pw)
{
	(void)hp;
	(void)user;
	(void)pw;
	return -1;
}

static void
h_auth_success(void *hp, const char *user, enum dssh_auth_method m)
{
	(void)hp;
	(void)user;
	(void)m;
}

static int
h_session_open(void *hp, uint32_t chan)
{
	struct host *h = hp;

	h->chan = chan;
	h->have_chan = true;
	return 0;
}

static int
h_session_request(void *hp, uint32_t chan, const struct dssh_session_req *req)
{
	(void)hp;
	(void)chan;
	(void)req;
	return 0;
}

static void
h_channel_data(void *hp, uint32_t chan, const uint8_t *p, size_t n)
{
	struct host *h = hp;

	dssh_buf_put(&h->data, p, n);
	dssh_chan_consumed(h->c, chan, n);
}

static void
h_channel_eof(void *hp, uint32_t chan)
{
	(void)hp;
	(void)chan;
}

static void
h_channel_closed(void *hp, uint32_t chan)
{
	(void)chan;
	((struct host *)hp)->have_chan = false;
}

static void
h_channel_writable(void *hp, uint32_t chan)
{
	(void)hp;
	(void)chan;
}

static const struct dssh_conn_host_ops host_ops = {
	.auth_pubkey = h_auth_pubkey,
	.auth_password = h_auth_password,
	.auth_success = h_auth_success,
	.session_open = h_session_open,
	.session_request = h_session_request,
	.channel_data = h_channel_data,
	.channel_eof = h_channel_eof,
	.channel_closed = h_channel_closed,
	.channel_writable = h_channel_writable,
};

/* ---- a session: the test client, the data core's pump, the engine ---- */

struct fx {
	struct host h;
	struct dssh_ssh_hostkey hk[1];
	struct dssh_ssh_conf conf;
	struct dssh_conn *srv;
	struct tc *t;
	struct tc_shim *s;
	struct dssh_buf msg;
	unsigned server_kex;            /* rekeys the server started */
};

static void
fx_init(struct fx *f, const char *cipher, const char *mac, bool by_ref, size_t up_size,
    size_t up_read)
{
	memset(f, 0, sizeof(*f));
	dssh_buf_init(&f->h.good_blob, 0);
	dssh_buf_init(&f->h.data, 0);
	dssh_buf_init(&f->msg, 0);
	dssh_sshkey_public_blob(userkey, &f->h.good_blob);
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
	};
	CHECK_EQ_INT(dssh_conn_new(&f->conf, &host_ops, &f->h, "test", &f->srv), 0);
	f->h.c = f->srv;
	struct tc_conf tcc = {
		.kex = "curve25519-sha256", .hostkey = "ssh-ed25519", .cipher = cipher, .mac = mac,
		.strict = true, .ext_info = true, .record_offload = true,
		.pump_by_ref = by_ref, .pump_up_size = up_size, .pump_up_read = up_read,
	};

	CHECK_EQ_INT(tc_new(f->srv, engine, &tcc, &f->t), 0);
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
	dssh_buf_free(&f->h.good_blob);
	dssh_buf_free(&f->h.data);
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

int
main(void)
{
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
	dssh_sshkey_free(hostkey);
	dssh_sshkey_free(userkey);
	dssh_crypto_engine_free(engine);
	DSSH_TEST_END();
}
