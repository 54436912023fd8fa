/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SSH server engine driven by an in-process client (test_client.c):
 * full sessions for several kex/cipher/MAC combinations, rekeys from both
 * sides, and the protocol violations that must end in a DISCONNECT.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_sshkey.h"
#include "dssh_test.h"
#include "dssh_util.h"
#include "ssh_internal.h"
#include "test_client.h"

static struct dssh_crypto_engine *engine;
static struct dssh_sshkey *hostkey, *userkey, *otherkey;

struct host {
	struct dssh_conn *c;
	struct dssh_buf good_blob;
	char last_cmd[256];
	char auth_user[64];
	int auth_successes;
	int sessions;
	uint32_t chan;
	struct dssh_buf data;
	bool eof, closed, consume;
	int writable;
	int auth_queries;
	bool host_closed;            /* we called dssh_chan_close() */
	int data_after_close;
	int requests;
	struct dssh_session_req last_req;   /* copies of the strings below */
	char req_s1[64], req_s2[64];
	uint8_t req_modes[64];
	/* Channel types and global requests. */
	int opens;
	struct dssh_chan_open last_open;    /* strings copied below */
	char open_host[64], open_orig[64];
	int open_ret;                       /* what channel_open answers */
	uint32_t open_chan;
	int results;
	uint32_t result_chan, result_reason;
	int greqs;
	struct dssh_global_req last_greq;
	char greq_addr[64];
	int greq_ret;
	uint32_t greq_port;                 /* the bound port we report */
	/* keyboard-interactive */
	int kbd_calls, kbd_aborts;
	unsigned kbd_n;
	char kbd_resp[2][64];
};

static int
h_auth_pubkey(void *hp, const char *user, const uint8_t *blob, size_t len, bool final)
{
	struct host *h = hp;

	(void)final;
	h->auth_queries++;
	if (strcmp(user, "alice") != 0 || len != dssh_buf_len(&h->good_blob) ||
	    memcmp(blob, dssh_buf_ptr(&h->good_blob), len) != 0)
		return -1;
	return 0;
}

static int
h_auth_password(void *hp, const char *user, const char *pw)
{
	struct host *h = hp;

	h->auth_queries++;
	if (strcmp(pw, "later") == 0)
		return DSSH_ERR_AGAIN;
	return strcmp(user, "alice") == 0 && strcmp(pw, "secret") == 0 ? 0 : -1;
}

static int
h_auth_kbdint(void *hp, const char *user, const char *const *resp, unsigned n)
{
	struct host *h = hp;

	(void)user;
	h->kbd_calls++;
	h->kbd_n = n;
	for (unsigned i = 0; i < n && i < 2; i++)
		snprintf(h->kbd_resp[i], sizeof(h->kbd_resp[i]), "%s", resp[i]);
	return DSSH_ERR_AGAIN;
}

static void
h_auth_kbdint_abort(void *hp)
{
	((struct host *)hp)->kbd_aborts++;
}

static void
h_auth_success(void *hp, const char *user, enum dssh_auth_method m)
{
	struct host *h = hp;

	(void)m;
	h->auth_successes++;
	snprintf(h->auth_user, sizeof(h->auth_user), "%s", user);
}

static int
h_session_open(void *hp, uint32_t chan)
{
	struct host *h = hp;

	h->sessions++;
	h->chan = chan;
	return 0;
}

static int
h_session_request(void *hp, uint32_t chan, const struct dssh_session_req *req)
{
	struct host *h = hp;

	(void)chan;
	h->requests++;
	h->last_req = *req;
	snprintf(h->req_s1, sizeof(h->req_s1), "%s", req->term ? req->term : req->name ?
	    req->name : req->command ? req->command : "");
	snprintf(h->req_s2, sizeof(h->req_s2), "%s", req->value ? req->value : "");
	if (req->modes_len > 0 && req->modes_len <= sizeof(h->req_modes))
		memcpy(h->req_modes, req->modes, req->modes_len);
	h->last_req.term = h->last_req.name = h->last_req.value = h->last_req.command = NULL;
	h->last_req.modes = NULL;
	if (req->type == DSSH_REQ_EXEC)
		snprintf(h->last_cmd, sizeof(h->last_cmd), "%s", req->command);
	return 0;
}

static void
h_channel_data(void *hp, uint32_t chan, const uint8_t *p, size_t n)
{
	struct host *h = hp;

	if (h->host_closed)
		h->data_after_close++;

	dssh_buf_put(&h->data, p, n);
	if (h->consume)
		dssh_chan_consumed(h->c, chan, n);
}

static void
h_channel_eof(void *hp, uint32_t chan)
{
	(void)chan;
	((struct host *)hp)->eof = true;
}

static void
h_channel_closed(void *hp, uint32_t chan)
{
	(void)chan;
	((struct host *)hp)->closed = true;
}

static void
h_channel_writable(void *hp, uint32_t chan)
{
	(void)chan;
	((struct host *)hp)->writable++;
}

static int
h_channel_open(void *hp, uint32_t chan, const struct dssh_chan_open *o)
{
	struct host *h = hp;

	h->opens++;
	h->open_chan = chan;
	h->last_open = *o;
	snprintf(h->open_host, sizeof(h->open_host), "%s", o->host ? o->host : "");
	snprintf(h->open_orig, sizeof(h->open_orig), "%s", o->orig_host ? o->orig_host : "");
	h->last_open.host = h->last_open.orig_host = NULL;
	return h->open_ret;
}

static void
h_channel_open_result(void *hp, uint32_t chan, uint32_t reason)
{
	struct host *h = hp;

	h->results++;
	h->result_chan = chan;
	h->result_reason = reason;
}

static int
h_global_request(void *hp, const struct dssh_global_req *req, uint32_t *port)
{
	struct host *h = hp;

	h->greqs++;
	h->last_greq = *req;
	snprintf(h->greq_addr, sizeof(h->greq_addr), "%s", req->addr);
	h->last_greq.addr = NULL;
	if (h->greq_ret == 0 && req->port == 0)
		*port = h->greq_port;
	return h->greq_ret;
}

static const struct dssh_conn_host_ops host_ops = {
	.channel_open = h_channel_open,
	.channel_open_result = h_channel_open_result,
	.global_request = h_global_request,
	.auth_pubkey = h_auth_pubkey,
	.auth_password = h_auth_password,
	.auth_success = h_auth_success,
	.auth_kbdint = h_auth_kbdint,
	.auth_kbdint_abort = h_auth_kbdint_abort,
	.session_open = h_session_open,
	.session_request = h_session_request,
	.channel_data = h_channel_data,
	.channel_eof = h_channel_eof,
	.channel_closed = h_channel_closed,
	.channel_writable = h_channel_writable,
};

struct fx {
	struct host h;
	struct dssh_ssh_hostkey hk[1];
	struct dssh_ssh_conf conf;
	struct dssh_conn *c;
	struct tc *t;
	struct dssh_buf msg;
};

static void
fx_init(struct fx *f, const char *kex, const char *cipher, const char *mac, bool strict)
{
	memset(f, 0, sizeof(*f));
	dssh_buf_init(&f->h.good_blob, 0);
	dssh_buf_init(&f->h.data, 0);
	dssh_buf_init(&f->msg, 0);
	dssh_sshkey_public_blob(userkey, &f->h.good_blob);
	f->hk[0].alg = "ssh-ed25519";
	f->hk[0].key = hostkey;
	f->conf = (struct dssh_ssh_conf){
		.kex_algs = "mlkem768x25519-sha256,curve25519-sha256,ecdh-sha2-nistp256,"
		    "diffie-hellman-group14-sha256,sntrup761x25519-sha512,"
		    "sntrup761x25519-sha512@openssh.com",
		.cipher_algs = "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,"
		    "aes256-gcm@openssh.com,aes128-ctr,aes256-ctr",
		.mac_algs = "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
		    "hmac-sha2-256,hmac-sha2-512",
		.pubkey_algs = "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
		.hostkeys = f->hk,
		.n_hostkeys = 1,
		.max_auth_tries = 6,
		.pubkey_auth = true,
		.password_auth = true,
		.version_comment = "dssh_test",
		.engine = engine,
	};
	CHECK_EQ_INT(dssh_conn_new(&f->conf, &host_ops, &f->h, "test", &f->c), 0);
	f->h.c = f->c;
	struct tc_conf tcc = {
		.kex = kex, .hostkey = "ssh-ed25519", .cipher = cipher, .mac = mac,
		.strict = strict, .ext_info = true,
	};

	CHECK_EQ_INT(tc_new(f->c, engine, &tcc, &f->t), 0);
}

static void
fx_free(struct fx *f)
{
	tc_free(f->t);
	dssh_conn_free(f->c);
	dssh_buf_free(&f->h.good_blob);
	dssh_buf_free(&f->h.data);
	dssh_buf_free(&f->msg);
}

/* Expect the connection to be over with a DISCONNECT carrying reason. */
static void
expect_disconnect(struct fx *f, uint32_t reason)
{
	CHECK(dssh_conn_closing(f->c));
	CHECK(f->t->last_rc != 0);
	tc_drain(f->t);
	CHECK(f->t->got_disconnect);
	CHECK_EQ_INT(f->t->disconnect_reason, reason);
	if (f->t->got_disconnect && f->t->disconnect_reason != reason)
		fprintf(stderr, "  disconnect message: %s\n", f->t->disconnect_msg);
	/* Further input is refused without a crash. */
	CHECK_EQ_INT(dssh_conn_input(f->c, (const uint8_t *)"x", 1, 0), DSSH_ERR_CONN_CLOSED);
}

static void
fill(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(dssh_test_rand(&seed) >> 32);
}

/* Collect n bytes of CHANNEL_DATA (type 94) or EXTENDED_DATA into out. */
static int
recv_chan_data(struct fx *f, struct dssh_buf *out, size_t n, bool ext)
{
	int r;

	while (dssh_buf_len(out) < n) {
		if ((r = tc_expect(f->t, ext ? SSH_MSG_CHANNEL_EXTENDED_DATA : SSH_MSG_CHANNEL_DATA,
		    &f->msg)) != 0)
			return r;
		struct dssh_buf m;
		uint32_t id, code = 0;
		const uint8_t *p;
		size_t len;

		dssh_buf_from(&m, dssh_buf_ptr(&f->msg) + 1, dssh_buf_len(&f->msg) - 1);
		if ((r = dssh_buf_get_u32(&m, &id)) != 0 ||
		    (ext && (r = dssh_buf_get_u32(&m, &code)) != 0) ||
		    (r = dssh_buf_get_string_direct(&m, &p, &len)) != 0)
			return r;
		if (id != f->t->chan_local || (ext && code != 1) || len > 32768)
			return DSSH_ERR_PROTOCOL;
		dssh_buf_put(out, p, len);
	}
	return 0;
}

static void
send_u32_msg(struct fx *f, uint8_t type, uint32_t a, bool with_b, uint32_t b)
{
	struct dssh_buf m;

	dssh_buf_init(&m, 0);
	dssh_buf_put_u8(&m, type);
	dssh_buf_put_u32(&m, a);
	if (with_b)
		dssh_buf_put_u32(&m, b);
	tc_sendb(f->t, &m);
	dssh_buf_free(&m);
}

static void
run_flow(const char *kex, const char *cipher, const char *mac)
{
	struct fx f;
	struct dssh_conn_stats st;
	uint8_t *big = malloc(70000);
	struct dssh_buf got;

	fprintf(stderr, "  flow %s %s %s\n", kex, cipher, mac);
	dssh_buf_init(&got, 0);
	fx_init(&f, kex, cipher, mac, true);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_STR(f.t->v_s, "SSH-2.0-dssh_test");
	CHECK_EQ_INT(tc_kex(f.t), 0);
	dssh_conn_get_stats(f.c, &st);
	CHECK_EQ_INT(st.kex_count, 1);
	CHECK(st.strict_kex);
	CHECK(f.t->strict);
	CHECK_STR(st.kex_alg, kex);
	CHECK_STR(st.hostkey_alg, "ssh-ed25519");
	CHECK_STR(st.cipher_in, cipher);
	CHECK_STR(st.cipher_out, cipher);
	if (strstr(cipher, "ctr") != NULL) {
		CHECK_STR(st.mac_in, mac);
		CHECK_STR(st.mac_out, mac);
	} else {
		CHECK_STR(st.mac_in, "<implicit>");
	}
	CHECK(dssh_sshkey_equal_public(f.t->hostkey, hostkey) == 1);

	/* Service request; EXT_INFO came right after NEWKEYS. */
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	CHECK(f.t->server_sig_algs != NULL);
	if (f.t->server_sig_algs)
		CHECK(dssh_namelist_has(f.t->server_sig_algs, "ssh-ed25519"));
	CHECK(!dssh_conn_authenticated(f.c));

	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", userkey), 0);
	CHECK(dssh_conn_authenticated(f.c));
	CHECK_STR(dssh_conn_user(f.c), "alice");
	CHECK_STR(f.h.auth_user, "alice");
	CHECK_EQ_INT(f.h.auth_successes, 1);

	CHECK_EQ_INT(tc_open_session(f.t, 65536, 16384), 0);
	CHECK_EQ_INT(f.h.sessions, 1);
	CHECK_EQ_INT(f.t->chan_remote, f.h.chan);
	CHECK_EQ_INT(tc_exec(f.t, "echo hello world"), 0);
	CHECK_STR(f.h.last_cmd, "echo hello world");

	/* Client -> server. */
	fill(big, 3000, 1);
	CHECK_EQ_INT(tc_chan_data(f.t, big, 3000), 0);
	CHECK_EQ_INT(dssh_buf_len(&f.h.data), 3000);
	CHECK_MEM(dssh_buf_ptr(&f.h.data), big, 3000);

	/* Server -> client: limited by the client's window, split by maxpacket. */
	CHECK_EQ_INT(dssh_chan_send_space(f.c, f.h.chan), 65536);
	fill(big, 70000, 2);
	CHECK_EQ_INT(dssh_chan_send(f.c, f.h.chan, big, 70000, false), 65536);
	CHECK_EQ_INT(dssh_chan_send_space(f.c, f.h.chan), 0);
	CHECK_EQ_INT(dssh_chan_send(f.c, f.h.chan, big, 10, false), 0);
	CHECK_EQ_INT(recv_chan_data(&f, &got, 65536, false), 0);
	CHECK_EQ_INT(dssh_buf_len(&got), 65536);
	CHECK_MEM(dssh_buf_ptr(&got), big, 65536);

	/* Window adjust opens it again. */
	int w0 = f.h.writable;

	send_u32_msg(&f, SSH_MSG_CHANNEL_WINDOW_ADJUST, f.t->chan_remote, true, 5000);
	CHECK_EQ_INT(f.t->last_rc, 0);
	CHECK_EQ_INT(dssh_chan_send_space(f.c, f.h.chan), 5000);
	CHECK(f.h.writable > w0);
	dssh_buf_reset(&got);
	CHECK_EQ_INT(dssh_chan_send(f.c, f.h.chan, big + 1000, 20, true), 20);
	CHECK_EQ_INT(recv_chan_data(&f, &got, 20, true), 0);
	CHECK_MEM(dssh_buf_ptr(&got), big + 1000, 20);

	/* exit-status, EOF, close from both sides. */
	CHECK_EQ_INT(dssh_chan_exit_status(f.c, f.h.chan, 3), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_REQUEST, &f.msg), 0);
	{
		struct dssh_buf m;
		uint32_t id = 99, status = 0;
		char *rt = NULL;
		bool wr = true;

		dssh_buf_from(&m, dssh_buf_ptr(&f.msg) + 1, dssh_buf_len(&f.msg) - 1);
		CHECK_EQ_INT(dssh_buf_get_u32(&m, &id), 0);
		CHECK_EQ_INT(dssh_buf_get_cstring(&m, &rt, NULL), 0);
		CHECK_EQ_INT(dssh_buf_get_bool(&m, &wr), 0);
		CHECK_EQ_INT(dssh_buf_get_u32(&m, &status), 0);
		CHECK_EQ_INT(id, f.t->chan_local);
		CHECK_STR(rt, "exit-status");
		CHECK(!wr);
		CHECK_EQ_INT(status, 3);
		free(rt);
	}
	CHECK_EQ_INT(dssh_chan_send_eof(f.c, f.h.chan), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_EOF, &f.msg), 0);
	CHECK_EQ_INT(dssh_chan_send(f.c, f.h.chan, big, 10, false), 0);   /* after EOF */
	send_u32_msg(&f, SSH_MSG_CHANNEL_EOF, f.t->chan_remote, false, 0);
	CHECK(f.h.eof);
	send_u32_msg(&f, SSH_MSG_CHANNEL_CLOSE, f.t->chan_remote, false, 0);
	CHECK(f.h.closed);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_CLOSE, &f.msg), 0);
	CHECK_EQ_INT(f.t->last_rc, 0);
	/* The channel is gone: a message for it is a protocol error. */
	CHECK_EQ_INT(dssh_chan_send_space(f.c, f.h.chan), 0);

	/* Client DISCONNECT ends it cleanly. */
	{
		struct dssh_buf m;

		dssh_buf_init(&m, 0);
		dssh_buf_put_u8(&m, SSH_MSG_DISCONNECT);
		dssh_buf_put_u32(&m, SSH_DISCONNECT_BY_APPLICATION);
		dssh_buf_put_cstring(&m, "bye");
		dssh_buf_put_cstring(&m, "");
		CHECK_EQ_INT(tc_sendb(f.t, &m), DSSH_ERR_CONN_CLOSED);
		dssh_buf_free(&m);
	}
	CHECK(dssh_conn_closing(f.c));
	dssh_conn_get_stats(f.c, &st);
	CHECK(st.packets_in > 10 && st.packets_out > 10);
	dssh_buf_free(&got);
	free(big);
	fx_free(&f);
}

static void
test_flows(void)
{
	run_flow("curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256");
	run_flow("curve25519-sha256", "chacha20-poly1305@openssh.com", "hmac-sha2-256");
	run_flow("curve25519-sha256", "aes128-ctr", "hmac-sha2-256");
	run_flow("curve25519-sha256", "aes128-ctr", "hmac-sha2-256-etm@openssh.com");
	run_flow("curve25519-sha256", "aes256-ctr", "hmac-sha2-512");
	run_flow("diffie-hellman-group14-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256");
	run_flow("diffie-hellman-group14-sha256", "aes128-ctr", "hmac-sha2-256-etm@openssh.com");
	run_flow("ecdh-sha2-nistp256", "chacha20-poly1305@openssh.com", "hmac-sha2-256");
	/* The hybrid: our client side of it against the server engine. */
	run_flow("mlkem768x25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256");
	run_flow("mlkem768x25519-sha256", "aes128-ctr", "hmac-sha2-256-etm@openssh.com");
	/* The test client's side of sntrup761x25519 is lib/kex's (KeyGen, Decap). */
	run_flow("sntrup761x25519-sha512", "aes128-gcm@openssh.com", "hmac-sha2-256");
	run_flow("sntrup761x25519-sha512@openssh.com", "chacha20-poly1305@openssh.com",
	    "hmac-sha2-256");
}

/* Client preference wins in the live exchange too. */
static void
test_client_preference(void)
{
	struct fx f;
	struct dssh_conn_stats st;

	fx_init(&f, "ecdh-sha2-nistp256,curve25519-sha256", "aes256-ctr,aes128-gcm@openssh.com",
	    "hmac-sha2-512,hmac-sha2-256", false);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	dssh_conn_get_stats(f.c, &st);
	CHECK_STR(st.kex_alg, "ecdh-sha2-nistp256");
	CHECK_STR(st.cipher_in, "aes256-ctr");
	CHECK_STR(st.mac_in, "hmac-sha2-512");
	CHECK(!st.strict_kex);
	CHECK(!f.t->strict);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", userkey), 0);
	fx_free(&f);
}

static void
test_no_match(void)
{
	struct fx f;

	fx_init(&f, "curve25519-sha256", "3des-cbc", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK(tc_kex(f.t) != 0);
	expect_disconnect(&f, SSH_DISCONNECT_KEY_EXCHANGE_FAILED);
	fx_free(&f);
}

static void
bad_mac_one(const char *cipher, const char *mac)
{
	struct fx f;
	struct dssh_buf w;
	static const uint8_t ign[6] = { SSH_MSG_IGNORE, 0, 0, 0, 1, 'x' };

	fx_init(&f, "curve25519-sha256", cipher, mac, true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	dssh_buf_init(&w, 0);
	CHECK_EQ_INT(tc_seal(f.t, ign, sizeof(ign), &w), 0);
	dssh_buf_mutable_ptr(&w)[dssh_buf_len(&w) - 1] ^= 0x01;   /* in the tag */
	tc_feed(f.t, dssh_buf_ptr(&w), dssh_buf_len(&w));
	expect_disconnect(&f, SSH_DISCONNECT_MAC_ERROR);
	CHECK(dssh_buf_len(&f.h.data) == 0);
	dssh_buf_free(&w);

	/* A flipped ciphertext bit past the length field. */
	fx_free(&f);
	fx_init(&f, "curve25519-sha256", cipher, mac, true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	uint8_t data[64] = { SSH_MSG_CHANNEL_DATA };

	dssh_put_u32be(data + 1, f.t->chan_remote);
	dssh_put_u32be(data + 5, 40);
	dssh_buf_init(&w, 0);
	CHECK_EQ_INT(tc_seal(f.t, data, 49, &w), 0);
	dssh_buf_mutable_ptr(&w)[20] ^= 0x80;
	tc_feed(f.t, dssh_buf_ptr(&w), dssh_buf_len(&w));
	expect_disconnect(&f, SSH_DISCONNECT_MAC_ERROR);
	CHECK_EQ_INT(dssh_buf_len(&f.h.data), 0);   /* nothing unauthenticated delivered */
	dssh_buf_free(&w);
	fx_free(&f);
}

static void
test_bad_mac(void)
{
	bad_mac_one("aes128-gcm@openssh.com", "hmac-sha2-256");
	bad_mac_one("chacha20-poly1305@openssh.com", "hmac-sha2-256");
	bad_mac_one("aes128-ctr", "hmac-sha2-256");
	bad_mac_one("aes128-ctr", "hmac-sha2-256-etm@openssh.com");
}

static void
bad_length_plain(uint32_t len)
{
	struct fx f;
	uint8_t b[4];

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_version(f.t), 0);
	dssh_put_u32be(b, len);
	/* Only the length: the server must refuse before waiting for the rest. */
	tc_feed(f.t, b, 4);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	fx_free(&f);
}

static void
test_bad_length(void)
{
	bad_length_plain(0);
	bad_length_plain(4);
	bad_length_plain(256 * 1024 + 8);
	bad_length_plain(0xffffffffu);
	bad_length_plain(13);          /* not a multiple of the block size */

	/* -etm: the length is in clear after NEWKEYS. */
	struct fx f;
	uint8_t b[4];

	fx_init(&f, "curve25519-sha256", "aes128-ctr", "hmac-sha2-256-etm@openssh.com", true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	dssh_put_u32be(b, 16u << 20);
	tc_feed(f.t, b, 4);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	fx_free(&f);
}

static void
bad_padding(uint8_t padlen)
{
	struct fx f;
	uint8_t pkt[16] = { 0, 0, 0, 12 };

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_version(f.t), 0);
	pkt[4] = padlen;
	pkt[5] = SSH_MSG_IGNORE;
	tc_feed(f.t, pkt, sizeof(pkt));
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	fx_free(&f);
}

static void
test_bad_padding(void)
{
	bad_padding(11);
	bad_padding(12);
	bad_padding(255);
	bad_padding(3);
}

static void
test_strict_kex(void)
{
	struct fx f;
	static const uint8_t ign[5] = { SSH_MSG_IGNORE, 0, 0, 0, 0 };

	/* Strict: IGNORE before KEXINIT is fatal. */
	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_send(f.t, ign, sizeof(ign)), 0);
	CHECK(tc_kex(f.t) != 0);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	fx_free(&f);

	/* Not strict: allowed. */
	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", false);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_send(f.t, ign, sizeof(ign)), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	fx_free(&f);

	/* Strict: IGNORE between KEXINIT and NEWKEYS is fatal too. */
	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_version(f.t), 0);
	{
		struct dssh_buf k;
		const char *lists[KEX_SLOTS] = {
			"curve25519-sha256,kex-strict-c-v00@openssh.com", "ssh-ed25519",
			"aes128-ctr", "aes128-ctr", "hmac-sha2-256", "hmac-sha2-256",
			"none", "none", "", "",
		};

		dssh_buf_init(&k, 0);
		dssh_kexinit_build(&k, lists);
		CHECK_EQ_INT(tc_sendb(f.t, &k), 0);
		dssh_buf_free(&k);
		tc_send(f.t, ign, sizeof(ign));
		expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	}
	fx_free(&f);
}

static bool
output_contains(struct dssh_conn *c, const char *s)
{
	const uint8_t *p;
	size_t n;

	dssh_conn_output(c, &p, &n);
	return memmem(p, n, s, strlen(s)) != NULL;
}

static void
version_case(const char *in, size_t n, const char *reply, bool closes)
{
	struct fx f;

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(dssh_conn_start(f.c, 0), 0);
	int r = dssh_conn_input(f.c, (const uint8_t *)in, n, 0);

	CHECK_EQ_INT(dssh_conn_closing(f.c), closes);
	CHECK(closes ? r != 0 : r == 0);
	if (reply != NULL)
		CHECK(output_contains(f.c, reply));
	fx_free(&f);
}

static void
test_version(void)
{
	version_case("SSH-1.5-old\r\n", 13, "Protocol major versions differ.", true);
	version_case("SSH-3.0-new\r\n", 13, "Protocol major versions differ.", true);
	version_case("GET / HTTP/1.0\r\nSSH-2.0-x\r\n", 27, "Invalid SSH identification", true);
	version_case("SSH-2.0-a\x01\x02\r\n", 13, NULL, true);
	version_case("SSH-2.0-a\0b\r\n", 13, NULL, true);
	version_case("SSH-2.0-partial", 15, NULL, false);
	version_case("SSH-1.99-compat\r\n", 17, NULL, false);
	version_case("SSH-2.0-ok\n", 11, NULL, false);
	char longline[400];

	memset(longline, 'a', sizeof(longline));
	memcpy(longline, "SSH-2.0-", 8);
	version_case(longline, sizeof(longline), NULL, true);
	longline[300] = '\n';
	version_case(longline, 301, NULL, true);
}

static void
test_chan_before_auth(void)
{
	struct fx f;
	struct dssh_buf m;

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	dssh_buf_init(&m, 0);
	dssh_buf_put_u8(&m, SSH_MSG_CHANNEL_OPEN);
	dssh_buf_put_cstring(&m, "session");
	dssh_buf_put_u32(&m, 0);
	dssh_buf_put_u32(&m, 65536);
	dssh_buf_put_u32(&m, 32768);
	tc_sendb(f.t, &m);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	CHECK_EQ_INT(f.h.sessions, 0);
	fx_free(&f);

	/* userauth before the service request. */
	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", userkey) != 0);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	CHECK(!dssh_conn_authenticated(f.c));
	fx_free(&f);
	dssh_buf_free(&m);
}

/* ChannelWindowSize: the configured window is advertised, and a consuming
 * host gets an adjust once an eighth of it was taken, never more than it
 * received. */
static void
test_window_size(void)
{
	struct fx f;
	uint8_t *chunk = malloc(32768);
	const uint32_t want = 256u * 1024;
	uint32_t adjusted = 0;

	fill(chunk, 32768, 5);
	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	f.conf.chan_window = want;
	f.h.consume = true;
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	CHECK_EQ_INT(f.t->remote_window, want);
	/* 16 KiB consumed: under an eighth, no adjust yet. */
	tc_chan_data(f.t, chunk, 16384);
	while (tc_recv(f.t, &f.msg) == 0)
		CHECK(dssh_buf_ptr(&f.msg)[0] != SSH_MSG_CHANNEL_WINDOW_ADJUST);
	/* 32 KiB: exactly an eighth, adjust of all that was consumed. */
	tc_chan_data(f.t, chunk, 16384);
	while (tc_recv(f.t, &f.msg) == 0)
		if (dssh_buf_ptr(&f.msg)[0] == SSH_MSG_CHANNEL_WINDOW_ADJUST)
			adjusted += dssh_get_u32be(dssh_buf_ptr(&f.msg) + 5);
	CHECK_EQ_INT(adjusted, 32768);
	CHECK_EQ_INT(f.t->last_rc, 0);
	fx_free(&f);
	free(chunk);

	/* The window bookkeeping itself: a host that reports more than it
	 * received cannot open the window past its size. */
	struct dssh_chan_win w;

	dssh_chan_win_init(&w, want, 100);
	CHECK(dssh_chan_win_receive(&w, 1000));
	CHECK_EQ_INT(dssh_chan_win_consume(&w, 5000), 0);
	CHECK_EQ_INT(w.consumed, 1000);
	CHECK(!dssh_chan_win_receive(&w, want));
	CHECK(dssh_chan_win_receive(&w, want - 1000));
	CHECK_EQ_INT(dssh_chan_win_consume(&w, want), want);
	dssh_chan_win_adjusted(&w, want);
	CHECK_EQ_INT(w.local, want);
	CHECK_EQ_INT(w.consumed, 0);
	dssh_chan_win_peer_adjust(&w, UINT32_MAX);
	CHECK_EQ_INT(w.remote, UINT32_MAX);
	dssh_chan_win_init(&w, 0, 0);
	CHECK_EQ_INT(w.size, DSSH_CHAN_WIN_START);
	CHECK_EQ_INT(w.max, DSSH_CHAN_WIN_DEFAULT);

	/* Auto-tuning: three quarters of the window or more within one round
	 * trip, all of it taken by the host: it doubles at the adjust... */
	uint32_t start = DSSH_CHAN_WIN_START, adj;
	uint64_t t = 1000000;

	dssh_chan_win_init(&w, 5 * start, 0);
	CHECK(dssh_chan_win_receive(&w, start));
	dssh_chan_win_pace(&w, start, t, 50000);
	adj = dssh_chan_win_consume(&w, start);
	CHECK_EQ_INT(adj, 2 * start);
	dssh_chan_win_adjusted(&w, adj);
	CHECK_EQ_INT(w.size, 2 * start);
	CHECK_EQ_INT(w.local, 2 * start);
	CHECK_EQ_INT(w.consumed, 0);
	/* ... measured afresh at the new size: half of it is not enough ... */
	CHECK(dssh_chan_win_receive(&w, start));
	dssh_chan_win_pace(&w, start, t + 60000, 50000);
	adj = dssh_chan_win_consume(&w, start);
	dssh_chan_win_adjusted(&w, adj);
	CHECK_EQ_INT(w.size, 2 * start);
	CHECK(dssh_chan_win_receive(&w, 2 * start));
	dssh_chan_win_pace(&w, 2 * start, t + 120000, 50000);
	adj = dssh_chan_win_consume(&w, 2 * start);
	dssh_chan_win_adjusted(&w, adj);
	CHECK_EQ_INT(w.size, 4 * start);
	CHECK(dssh_chan_win_receive(&w, 4 * start));
	dssh_chan_win_pace(&w, 4 * start, t + 180000, 50000);
	adj = dssh_chan_win_consume(&w, 4 * start);
	dssh_chan_win_adjusted(&w, adj);
	CHECK_EQ_INT(w.size, 5 * start);             /* capped at max */
	CHECK_EQ_INT(w.local, 5 * start);
	/* ... never for a slow consumer (data received, not yet taken) ... */
	dssh_chan_win_init(&w, 4 * start, 0);
	CHECK(dssh_chan_win_receive(&w, start - start / 8));
	dssh_chan_win_pace(&w, start - start / 8, t, 50000);
	adj = dssh_chan_win_consume(&w, start / 4);
	CHECK_EQ_INT(adj, start / 4);
	dssh_chan_win_adjusted(&w, adj);
	CHECK_EQ_INT(w.size, start);
	/* ... nor where the round trip is short (the same bytes over 1 ms
	 * periods), nor when the round trip is unknown. */
	dssh_chan_win_init(&w, 4 * start, 0);
	for (unsigned i = 0; i < 16; i++) {
		CHECK(dssh_chan_win_receive(&w, start / 8));
		dssh_chan_win_pace(&w, start / 8, t + 1000 * i, 30);
		adj = dssh_chan_win_consume(&w, start / 8);
		dssh_chan_win_adjusted(&w, adj);
	}
	CHECK_EQ_INT(w.size, start);
	dssh_chan_win_init(&w, 4 * start, 0);
	CHECK(dssh_chan_win_receive(&w, start));
	dssh_chan_win_pace(&w, start, t, 0);
	adj = dssh_chan_win_consume(&w, start);
	CHECK_EQ_INT(adj, start);
}

static void
test_window(void)
{
	struct fx f;
	uint8_t *chunk = malloc(40000);

	fill(chunk, 40000, 3);
	/* One packet larger than our max packet. */
	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	CHECK_EQ_INT(f.t->remote_maxpacket, 32768);
	tc_chan_data(f.t, chunk, 40000);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	fx_free(&f);

	/* Filling the whole window is fine; one byte more is not. */
	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	uint32_t win = f.t->remote_window;

	CHECK(win > 0 && win <= 64u << 20);
	for (uint32_t sent = 0; sent < win && f.t->last_rc == 0; ) {
		uint32_t n = DSSH_MIN(win - sent, 32768u);

		tc_chan_data(f.t, chunk, n);
		sent += n;
	}
	CHECK_EQ_INT(f.t->last_rc, 0);
	CHECK_EQ_INT(dssh_buf_len(&f.h.data), win);
	tc_drain(f.t);
	CHECK(!f.t->got_disconnect);
	tc_chan_data(f.t, chunk, 1);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	fx_free(&f);

	/* A host that consumes gets the window re-advertised. */
	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	f.h.consume = true;
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	win = f.t->remote_window;
	uint64_t total = 0;
	uint32_t adjusted = 0;

	for (int i = 0; i < 3; i++) {
		for (uint32_t sent = 0; sent < win && f.t->last_rc == 0; ) {
			uint32_t n = DSSH_MIN(win - sent, 32768u);

			tc_chan_data(f.t, chunk, n);
			sent += n;
			total += n;
		}
		while (tc_recv(f.t, &f.msg) == 0) {
			if (dssh_buf_ptr(&f.msg)[0] == SSH_MSG_CHANNEL_WINDOW_ADJUST) {
				uint32_t id = dssh_get_u32be(dssh_buf_ptr(&f.msg) + 1);

				CHECK_EQ_INT(id, f.t->chan_local);
				adjusted += dssh_get_u32be(dssh_buf_ptr(&f.msg) + 5);
			}
		}
		win = adjusted;
		adjusted = 0;
		CHECK(win > 0);
	}
	CHECK_EQ_INT(f.t->last_rc, 0);
	CHECK_EQ_INT(dssh_buf_len(&f.h.data), total);
	fx_free(&f);

	/* Our side: output buffering stops the host before the peer's window. */
	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", userkey), 0);
	CHECK_EQ_INT(tc_open_session(f.t, 0xffffffffu, 32768), 0);
	size_t queued = 0;

	for (int i = 0; i < 400 && dssh_chan_send_space(f.c, f.h.chan) > 0; i++)
		queued += dssh_chan_send(f.c, f.h.chan, chunk, 32768, false);
	CHECK_EQ_INT(dssh_chan_send_space(f.c, f.h.chan), 0);
	CHECK(dssh_conn_output_pending(f.c) >= 4u << 20);
	CHECK(queued >= 4u << 20 && queued < 5u << 20);
	struct dssh_buf got;

	dssh_buf_init(&got, 0);
	CHECK_EQ_INT(recv_chan_data(&f, &got, queued, false), 0);
	CHECK_EQ_INT(dssh_chan_send_space(f.c, f.h.chan), 0xffffffffu - queued);
	dssh_buf_free(&got);
	fx_free(&f);
	free(chunk);
}

static void
test_bad_signature(void)
{
	struct fx f;

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	/* The authorised key's blob, signed by another key. */
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", otherkey),
	    DSSH_ERR_PERMISSION);
	CHECK(!dssh_conn_authenticated(f.c));
	/* A valid signature by a key the host does not authorise. */
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", otherkey, "ssh-ed25519", otherkey),
	    DSSH_ERR_PERMISSION);
	/* Algorithm name not matching the key. */
	CHECK(tc_auth_pubkey(f.t, "alice", userkey, "rsa-sha2-256", userkey) != 0);
	CHECK(!dssh_conn_authenticated(f.c));
	CHECK_EQ_INT(f.h.auth_successes, 0);
	/* Then the right one. */
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", userkey), 0);
	CHECK(dssh_conn_authenticated(f.c));
	fx_free(&f);

	/* Signature made over another session id. */
	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	f.t->session_id[0] ^= 1;
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", userkey),
	    DSSH_ERR_PERMISSION);
	f.t->session_id[0] ^= 1;
	/* Change of user name is refused. */
	CHECK(tc_auth_pubkey(f.t, "bob", userkey, "ssh-ed25519", userkey) != 0);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	fx_free(&f);
}

static void
test_max_auth_tries(void)
{
	struct fx f;

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	f.conf.max_auth_tries = 3;
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", otherkey),
	    DSSH_ERR_PERMISSION);
	/* As sshd: ssh-userauth may be asked for again before success
	 * (paramiko does before every attempt). */
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", otherkey),
	    DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", otherkey),
	    DSSH_ERR_CONN_CLOSED);
	expect_disconnect(&f, SSH_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE);
	CHECK(!dssh_conn_authenticated(f.c));
	{
		struct dssh_conn_stats st;

		dssh_conn_get_stats(f.c, &st);
		CHECK_EQ_INT(st.auth_failures, 3);
		CHECK(st.auth_tries_exceeded);
		CHECK(!st.alive_timed_out);
	}
	fx_free(&f);
}

static void
test_unimplemented(void)
{
	struct fx f;
	static const uint8_t odd[3] = { 200, 1, 2 };

	fx_init(&f, "curve25519-sha256", "chacha20-poly1305@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	tc_drain(f.t);
	uint32_t seq = f.t->tx.seq;

	CHECK_EQ_INT(tc_send(f.t, odd, sizeof(odd)), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_UNIMPLEMENTED, &f.msg), 0);
	CHECK_EQ_INT(dssh_buf_len(&f.msg), 5);
	CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 1), seq);
	/* Still alive. */
	uint8_t d[5] = "hello";

	CHECK_EQ_INT(tc_chan_data(f.t, d, 5), 0);
	CHECK_EQ_INT(dssh_buf_len(&f.h.data), 5);
	/* An unknown global request wanting a reply gets REQUEST_FAILURE. */
	{
		struct dssh_buf m;

		dssh_buf_init(&m, 0);
		dssh_buf_put_u8(&m, SSH_MSG_GLOBAL_REQUEST);
		dssh_buf_put_cstring(&m, "no-such-request@example.com");
		dssh_buf_put_bool(&m, true);
		dssh_buf_put_cstring(&m, "");
		dssh_buf_put_u32(&m, 0);
		CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
		CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_REQUEST_FAILURE, &f.msg), 0);
		dssh_buf_free(&m);
	}
	fx_free(&f);
}

static void
data_roundtrip(struct fx *f, uint64_t seed)
{
	uint8_t d[5000];
	struct dssh_buf got;

	dssh_buf_init(&got, 0);
	fill(d, sizeof(d), seed);
	dssh_buf_reset(&f->h.data);
	CHECK_EQ_INT(tc_chan_data(f->t, d, sizeof(d)), 0);
	CHECK_EQ_INT(dssh_buf_len(&f->h.data), sizeof(d));
	CHECK_MEM(dssh_buf_ptr(&f->h.data), d, sizeof(d));
	CHECK_EQ_INT(dssh_chan_send(f->c, f->h.chan, d, sizeof(d), false), sizeof(d));
	CHECK_EQ_INT(recv_chan_data(f, &got, sizeof(d), false), 0);
	CHECK_EQ_INT(dssh_buf_len(&got), sizeof(d));
	CHECK_MEM(dssh_buf_ptr(&got), d, sizeof(d));
	dssh_buf_free(&got);
}

static void
test_rekey_client(void)
{
	struct fx f;
	struct dssh_conn_stats st;

	fx_init(&f, "curve25519-sha256", "aes128-ctr", "hmac-sha2-256-etm@openssh.com", true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	data_roundtrip(&f, 10);
	uint8_t sid[64];

	memcpy(sid, f.t->session_id, sizeof(sid));
	CHECK_EQ_INT(tc_kex(f.t), 0);
	dssh_conn_get_stats(f.c, &st);
	CHECK_EQ_INT(st.kex_count, 2);
	CHECK_MEM(sid, f.t->session_id, sizeof(sid));
	data_roundtrip(&f, 11);
	/* A rekey may switch the method (and takes the DH path). */
	f.t->conf.kex = "diffie-hellman-group14-sha256";
	CHECK_EQ_INT(tc_kex(f.t), 0);
	dssh_conn_get_stats(f.c, &st);
	CHECK_EQ_INT(st.kex_count, 3);
	CHECK_STR(st.kex_alg, "diffie-hellman-group14-sha256");
	data_roundtrip(&f, 12);
	/* And to the hybrid (K as a string in the derivation). */
	f.t->conf.kex = "mlkem768x25519-sha256";
	CHECK_EQ_INT(tc_kex(f.t), 0);
	dssh_conn_get_stats(f.c, &st);
	CHECK_EQ_INT(st.kex_count, 4);
	CHECK_STR(st.kex_alg, "mlkem768x25519-sha256");
	data_roundtrip(&f, 13);
	fx_free(&f);
}

static void
test_rekey_server(void)
{
	struct fx f;
	struct dssh_conn_stats st;
	uint8_t d[4096];
	size_t total = 0;

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	f.conf.rekey_bytes = 32 * 1024;
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	fill(d, sizeof(d), 20);
	for (int i = 0; i < 60 && f.t->last_rc == 0; i++) {
		CHECK_EQ_INT(tc_chan_data(f.t, d, sizeof(d)), 0);
		total += sizeof(d);
		while (tc_recv(f.t, &f.msg) == 0)
			;
		if (f.t->have_server_kexinit)
			CHECK_EQ_INT(tc_kex(f.t), 0);
	}
	dssh_conn_get_stats(f.c, &st);
	CHECK(st.kex_count >= 4);
	CHECK_EQ_INT(dssh_buf_len(&f.h.data), total);
	CHECK(!f.t->got_disconnect);
	data_roundtrip(&f, 21);

	/* Server output alone also triggers it; data waits for the new keys. */
	dssh_conn_get_stats(f.c, &st);
	unsigned before = st.kex_count;
	uint8_t big[16384];
	struct dssh_buf got;

	dssh_buf_init(&got, 0);
	fill(big, sizeof(big), 22);
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(dssh_chan_send(f.c, f.h.chan, big, sizeof(big), false), sizeof(big));
	/* The check runs on input; an IGNORE gives it a chance. */
	static const uint8_t ign[5] = { SSH_MSG_IGNORE, 0, 0, 0, 0 };

	CHECK_EQ_INT(tc_send(f.t, ign, sizeof(ign)), 0);
	CHECK_EQ_INT(dssh_conn_tick(f.c, 5000), 0);
	CHECK_EQ_INT(dssh_chan_send_space(f.c, f.h.chan), 0);   /* kex in progress */
	CHECK_EQ_INT(recv_chan_data(&f, &got, 4 * sizeof(big), false), 0);
	CHECK_MEM(dssh_buf_ptr(&got) + 3 * sizeof(big), big, sizeof(big));
	CHECK_EQ_INT(tc_recv(f.t, &f.msg), 0);
	CHECK_EQ_INT(dssh_buf_ptr(&f.msg)[0], SSH_MSG_KEXINIT);
	CHECK(f.t->have_server_kexinit);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	dssh_conn_get_stats(f.c, &st);
	CHECK_EQ_INT(st.kex_count, before + 1);
	CHECK(dssh_chan_send_space(f.c, f.h.chan) > 0);
	data_roundtrip(&f, 23);
	dssh_buf_free(&got);
	fx_free(&f);
}

/* App messages from the client during its rekey (between its KEXINIT and
 * NEWKEYS) are a protocol error. */
static void
test_data_during_kex(void)
{
	struct fx f;
	struct dssh_buf k;
	const char *lists[KEX_SLOTS] = {
		"curve25519-sha256", "ssh-ed25519", "aes128-gcm@openssh.com",
		"aes128-gcm@openssh.com", "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", "",
	};

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	dssh_buf_init(&k, 0);
	dssh_kexinit_build(&k, lists);
	CHECK_EQ_INT(tc_sendb(f.t, &k), 0);
	tc_chan_data(f.t, (const uint8_t *)"x", 1);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	CHECK_EQ_INT(dssh_buf_len(&f.h.data), 0);
	dssh_buf_free(&k);
	fx_free(&f);
}


static int
send_password(struct fx *f, const char *user, const char *pw)
{
	struct dssh_buf m;
	int r;

	dssh_buf_init(&m, 0);
	dssh_buf_put_u8(&m, SSH_MSG_USERAUTH_REQUEST);
	dssh_buf_put_cstring(&m, user);
	dssh_buf_put_cstring(&m, "ssh-connection");
	dssh_buf_put_cstring(&m, "password");
	dssh_buf_put_bool(&m, false);
	dssh_buf_put_cstring(&m, pw);
	r = tc_sendb(f->t, &m);
	dssh_buf_free(&m);
	return r;
}

static void
test_password(void)
{
	struct fx f;
	static const uint8_t ign[5] = { SSH_MSG_IGNORE, 0, 0, 0, 0 };

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	/* "none" lists the methods and does not count. */
	{
		struct dssh_buf m;
		char *methods = NULL;
		struct dssh_buf v;

		dssh_buf_init(&m, 0);
		dssh_buf_put_u8(&m, SSH_MSG_USERAUTH_REQUEST);
		dssh_buf_put_cstring(&m, "alice");
		dssh_buf_put_cstring(&m, "ssh-connection");
		dssh_buf_put_cstring(&m, "none");
		CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
		CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_FAILURE, &f.msg), 0);
		dssh_buf_from(&v, dssh_buf_ptr(&f.msg) + 1, dssh_buf_len(&f.msg) - 1);
		CHECK_EQ_INT(dssh_buf_get_cstring(&v, &methods, NULL), 0);
		CHECK_STR(methods, "publickey,password");
		free(methods);
		dssh_buf_free(&m);
	}
	CHECK_EQ_INT(send_password(&f, "alice", "wrong"), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_FAILURE, &f.msg), 0);
	/* A deferred answer pauses input until dssh_conn_auth_result(). */
	CHECK_EQ_INT(send_password(&f, "alice", "later"), 0);
	CHECK(dssh_conn_input_paused(f.c));
	CHECK_EQ_INT(tc_send(f.t, ign, sizeof(ign)), 0);     /* held, not processed */
	tc_drain(f.t);
	CHECK(!dssh_conn_authenticated(f.c));
	CHECK_EQ_INT(dssh_conn_auth_result(f.c, false, 2000), 0);
	CHECK(!dssh_conn_input_paused(f.c));
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_FAILURE, &f.msg), 0);
	CHECK_EQ_INT(send_password(&f, "alice", "later"), 0);
	CHECK(dssh_conn_input_paused(f.c));
	CHECK_EQ_INT(dssh_conn_auth_result(f.c, true, 2000), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_SUCCESS, &f.msg), 0);
	CHECK(dssh_conn_authenticated(f.c));
	CHECK_EQ_INT(f.h.auth_successes, 1);
	/* Requests after success are ignored (RFC 4252 5.1). */
	CHECK_EQ_INT(send_password(&f, "alice", "secret"), 0);
	CHECK_EQ_INT(tc_recv(f.t, &f.msg), DSSH_ERR_MSG_INCOMPLETE);
	CHECK_EQ_INT(f.h.auth_successes, 1);
	fx_free(&f);

	/* Password auth switched off: refused without asking the host. */
	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	f.conf.password_auth = false;
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	CHECK_EQ_INT(send_password(&f, "alice", "secret"), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_FAILURE, &f.msg), 0);
	CHECK_EQ_INT(f.h.auth_queries, 0);
	CHECK(!dssh_conn_authenticated(f.c));
	fx_free(&f);
}

/* The peer as sshd's log lines name it, through authentication. */
static void
test_log_peer(void)
{
	struct fx f;
	char who[128];

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_STR(dssh_conn_log_peer(f.c, who, sizeof(who)), "test");
	CHECK_STR(dssh_conn_log_preauth(f.c), "");      /* sshd: none before the version */
	CHECK(!dssh_conn_version_received(f.c));
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK(dssh_conn_version_received(f.c));
	CHECK_STR(dssh_conn_log_preauth(f.c), " [preauth]");
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	CHECK_EQ_INT(send_password(&f, "alice", "wrong"), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_FAILURE, &f.msg), 0);
	CHECK_STR(dssh_conn_log_peer(f.c, who, sizeof(who)), "authenticating user alice test");
	CHECK_EQ_INT(send_password(&f, "alice", "secret"), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_SUCCESS, &f.msg), 0);
	CHECK_STR(dssh_conn_log_peer(f.c, who, sizeof(who)), "user alice test");
	CHECK_STR(dssh_conn_log_preauth(f.c), "");
	/* a short buffer truncates, never overruns */
	CHECK_STR(dssh_conn_log_peer(f.c, who, 5), "user");
	fx_free(&f);

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	CHECK_EQ_INT(send_password(&f, "mallory", "x"), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_FAILURE, &f.msg), 0);
	dssh_conn_set_invalid_user(f.c);
	CHECK_STR(dssh_conn_log_peer(f.c, who, sizeof(who)), "invalid user mallory test");
	fx_free(&f);
}

/* RFC 4252 5.4: the Banner once, before the answer to the first request
 * (sshd's Banner keyword); none at all without one. */
static void
test_banner(void)
{
	struct fx f;
	struct dssh_buf v;
	char *text = NULL, *lang = NULL;

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	f.conf.auth_banner = "Authorised use only.\nSecond line\n";
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	CHECK_EQ_INT(send_password(&f, "alice", "wrong"), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_BANNER, &f.msg), 0);
	dssh_buf_from(&v, dssh_buf_ptr(&f.msg) + 1, dssh_buf_len(&f.msg) - 1);
	CHECK_EQ_INT(dssh_buf_get_cstring(&v, &text, NULL), 0);
	CHECK_EQ_INT(dssh_buf_get_cstring(&v, &lang, NULL), 0);
	CHECK_STR(text, "Authorised use only.\nSecond line\n");
	CHECK_STR(lang, "");
	CHECK_EQ_INT(dssh_buf_len(&v), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_FAILURE, &f.msg), 0);
	/* not again: the next answer is the FAILURE itself */
	CHECK_EQ_INT(send_password(&f, "alice", "wrong"), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_FAILURE, &f.msg), 0);
	free(text);
	free(lang);
	fx_free(&f);

	/* An empty banner is no banner. */
	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	f.conf.auth_banner = "";
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	CHECK_EQ_INT(send_password(&f, "alice", "wrong"), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_FAILURE, &f.msg), 0);
	fx_free(&f);
}

/* A USERAUTH_REQUEST with no method fields ("none") or keyboard-interactive's. */
static int
send_userauth(struct fx *f, const char *method)
{
	struct dssh_buf m;
	int r;

	dssh_buf_init(&m, 0);
	dssh_buf_put_u8(&m, SSH_MSG_USERAUTH_REQUEST);
	dssh_buf_put_cstring(&m, "alice");
	dssh_buf_put_cstring(&m, "ssh-connection");
	dssh_buf_put_cstring(&m, method);
	if (strcmp(method, "keyboard-interactive") == 0) {
		dssh_buf_put_cstring(&m, "");
		dssh_buf_put_cstring(&m, "pam");
	}
	r = tc_sendb(f->t, &m);
	dssh_buf_free(&m);
	return r;
}

/* USERAUTH_FAILURE's name-list and partial-success flag. */
static void
expect_failure(struct fx *f, const char *methods, bool partial)
{
	struct dssh_buf v;
	char *ml = NULL;
	bool p = !partial;

	CHECK_EQ_INT(tc_expect(f->t, SSH_MSG_USERAUTH_FAILURE, &f->msg), 0);
	dssh_buf_from(&v, dssh_buf_ptr(&f->msg) + 1, dssh_buf_len(&f->msg) - 1);
	CHECK_EQ_INT(dssh_buf_get_cstring(&v, &ml, NULL), 0);
	CHECK_EQ_INT(dssh_buf_get_bool(&v, &p), 0);
	CHECK_STR(ml ? ml : "(null)", methods);
	CHECK_EQ_INT(p, partial);
	free(ml);
}

static void
fx_auth_methods(struct fx *f, struct dssh_authmethods *am, const char *lists)
{
	fx_init(f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(dssh_authmethods_parse(lists, am, NULL, 0), 0);
	f->conf.auth_methods = am;
	f->conf.kbdint_auth = true;
	CHECK_EQ_INT(tc_version(f->t), 0);
	CHECK_EQ_INT(tc_kex(f->t), 0);
	CHECK_EQ_INT(tc_service_request(f->t), 0);
}

/* AuthenticationMethods: partial success, order, publickey,publickey. */
static void
test_auth_methods(void)
{
	struct dssh_authmethods am;
	struct fx f;

	fx_auth_methods(&f, &am, "publickey,password publickey,keyboard-interactive");
	CHECK_EQ_INT(send_userauth(&f, "none"), 0);
	expect_failure(&f, "publickey", false);
	/* password first: not allowed, the host is not asked */
	CHECK_EQ_INT(send_password(&f, "alice", "secret"), 0);
	expect_failure(&f, "publickey", false);
	CHECK_EQ_INT(f.h.auth_queries, 0);
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", userkey),
	    DSSH_ERR_PERMISSION);
	CHECK(f.t->auth_partial);
	CHECK_STR(f.t->auth_methods, "password,keyboard-interactive");
	CHECK(!dssh_conn_authenticated(f.c));
	CHECK(dssh_conn_auth_used_publickey(f.c));
	CHECK_EQ_INT(send_password(&f, "alice", "wrong"), 0);
	expect_failure(&f, "password,keyboard-interactive", false);
	CHECK_EQ_INT(send_password(&f, "alice", "secret"), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_SUCCESS, &f.msg), 0);
	CHECK(dssh_conn_authenticated(f.c));
	CHECK_EQ_INT(f.h.auth_successes, 1);
	fx_free(&f);

	/* publickey,publickey: the same key twice is refused, another key passes. */
	fx_auth_methods(&f, &am, "publickey,publickey");
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", userkey),
	    DSSH_ERR_PERMISSION);
	CHECK(f.t->auth_partial);
	CHECK_STR(f.t->auth_methods, "publickey");
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", userkey),
	    DSSH_ERR_PERMISSION);
	CHECK(!f.t->auth_partial);
	CHECK(!dssh_conn_authenticated(f.c));
	dssh_buf_reset(&f.h.good_blob);
	dssh_sshkey_public_blob(otherkey, &f.h.good_blob);
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", otherkey, "ssh-ed25519", otherkey), 0);
	CHECK(dssh_conn_authenticated(f.c));
	fx_free(&f);
}

static int
send_info_response(struct fx *f, unsigned count, unsigned nstr, bool trailing)
{
	struct dssh_buf m;
	int r;

	dssh_buf_init(&m, 0);
	dssh_buf_put_u8(&m, SSH_MSG_USERAUTH_INFO_RESPONSE);
	dssh_buf_put_u32(&m, count);
	for (unsigned i = 0; i < nstr; i++)
		dssh_buf_put_cstring(&m, i == 0 ? "hunter2" : "424242");
	if (trailing)
		dssh_buf_put_u8(&m, 0);
	r = tc_sendb(f->t, &m);
	dssh_buf_free(&m);
	return r;
}

/* Start keyboard-interactive and get the host's two prompts to the peer. */
static void
kbdint_two_prompts(struct fx *f)
{
	static const char *const prompts[2] = { "Password: ", "Code: " };
	static const bool echo[2] = { false, true };
	struct dssh_buf v;
	char *name = NULL, *instr = NULL, *lang = NULL, *p0 = NULL;
	uint32_t n = 0;
	bool e0 = true;

	CHECK_EQ_INT(send_userauth(f, "keyboard-interactive"), 0);
	CHECK(dssh_conn_input_paused(f->c));
	CHECK_EQ_INT(f->h.kbd_n, 0);
	CHECK_EQ_INT(dssh_conn_kbdint_prompt(f->c, "two questions", prompts, echo, 2, 1000), 0);
	CHECK(!dssh_conn_input_paused(f->c));
	CHECK_EQ_INT(tc_expect(f->t, SSH_MSG_USERAUTH_INFO_REQUEST, &f->msg), 0);
	dssh_buf_from(&v, dssh_buf_ptr(&f->msg) + 1, dssh_buf_len(&f->msg) - 1);
	CHECK_EQ_INT(dssh_buf_get_cstring(&v, &name, NULL), 0);
	CHECK_EQ_INT(dssh_buf_get_cstring(&v, &instr, NULL), 0);
	CHECK_EQ_INT(dssh_buf_get_cstring(&v, &lang, NULL), 0);
	CHECK_EQ_INT(dssh_buf_get_u32(&v, &n), 0);
	CHECK_EQ_INT(dssh_buf_get_cstring(&v, &p0, NULL), 0);
	CHECK_EQ_INT(dssh_buf_get_bool(&v, &e0), 0);
	CHECK_STR(instr ? instr : "", "two questions");
	CHECK_EQ_INT(n, 2);
	CHECK_STR(p0 ? p0 : "", "Password: ");
	CHECK(!e0);
	free(name);
	free(instr);
	free(lang);
	free(p0);
}

/* keyboard-interactive (RFC 4256): prompts out, checked responses in. */
static void
test_kbdint(void)
{
	struct dssh_authmethods am;
	struct fx f;
	static const char *const one[1] = { "Password: " };
	static const bool no[1] = { false };

	fx_auth_methods(&f, &am, "any");
	/* not asked for: prompting is refused */
	CHECK_EQ_INT(dssh_conn_kbdint_prompt(f.c, "", one, no, 1, 0), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(send_userauth(&f, "none"), 0);
	expect_failure(&f, "publickey,password,keyboard-interactive", false);
	kbdint_two_prompts(&f);
	CHECK_EQ_INT(send_info_response(&f, 2, 2, false), 0);
	CHECK_EQ_INT(f.h.kbd_n, 2);
	CHECK_STR(f.h.kbd_resp[0], "hunter2");
	CHECK_STR(f.h.kbd_resp[1], "424242");
	CHECK(dssh_conn_input_paused(f.c));
	/* a wrong answer: failure, then another attempt with one more round */
	CHECK_EQ_INT(dssh_conn_auth_result(f.c, false, 1000), 0);
	expect_failure(&f, "publickey,password,keyboard-interactive", false);
	kbdint_two_prompts(&f);
	/* a new request abandons the exchange */
	CHECK_EQ_INT(send_userauth(&f, "none"), 0);
	CHECK_EQ_INT(f.h.kbd_aborts, 1);
	expect_failure(&f, "publickey,password,keyboard-interactive", false);
	kbdint_two_prompts(&f);
	CHECK_EQ_INT(send_info_response(&f, 2, 2, false), 0);
	CHECK_EQ_INT(dssh_conn_kbdint_prompt(f.c, "", one, no, 1, 1000), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_INFO_REQUEST, &f.msg), 0);
	CHECK_EQ_INT(send_info_response(&f, 1, 1, false), 0);
	CHECK_EQ_INT(f.h.kbd_n, 1);
	CHECK_EQ_INT(dssh_conn_auth_result(f.c, true, 1000), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_SUCCESS, &f.msg), 0);
	CHECK(dssh_conn_authenticated(f.c));
	fx_free(&f);

	/* Bad INFO_RESPONSEs: wrong count, truncated, trailing bytes, unasked. */
	static const struct { unsigned count, nstr; bool trailing, ask; } bad[] = {
		{ 1, 1, false, true }, { 3, 3, false, true }, { 2, 1, false, true },
		{ 2, 2, true, true }, { 0, 0, false, false }, { 0xffffffffu, 0, false, true },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fx_auth_methods(&f, &am, "any");
		if (bad[i].ask)
			kbdint_two_prompts(&f);
		send_info_response(&f, bad[i].count, bad[i].nstr, bad[i].trailing);
		expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
		CHECK(!dssh_conn_authenticated(f.c));
		fx_free(&f);
	}
	/* abandoned exchanges count against MaxAuthTries */
	fx_auth_methods(&f, &am, "any");
	f.conf.max_auth_tries = 3;
	kbdint_two_prompts(&f);
	CHECK_EQ_INT(send_userauth(&f, "none"), 0);
	expect_failure(&f, "publickey,password,keyboard-interactive", false);
	kbdint_two_prompts(&f);
	CHECK_EQ_INT(send_userauth(&f, "none"), 0);
	expect_failure(&f, "publickey,password,keyboard-interactive", false);
	kbdint_two_prompts(&f);
	send_userauth(&f, "none");
	expect_disconnect(&f, SSH_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE);
	CHECK_EQ_INT(f.h.kbd_aborts, 3);
	fx_free(&f);
	/* switched off: refused without asking the host */
	fx_auth_methods(&f, &am, "any");
	f.conf.kbdint_auth = false;
	CHECK_EQ_INT(send_userauth(&f, "keyboard-interactive"), 0);
	expect_failure(&f, "publickey,password", false);
	CHECK_EQ_INT(f.h.kbd_calls, 0);
	fx_free(&f);
}

/* RFC 4254 5.3: once we sent CLOSE, what the peer still sends for the
 * channel is discarded, not handed to a host that has forgotten it. */
static void
test_host_close(void)
{
	struct fx f;
	static const uint8_t d[3] = "abc";

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	CHECK_EQ_INT(dssh_chan_close(f.c, f.h.chan), 0);
	f.h.host_closed = true;
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_CLOSE, &f.msg), 0);
	CHECK_EQ_INT(dssh_chan_send_space(f.c, f.h.chan), 0);
	CHECK_EQ_INT(dssh_chan_send(f.c, f.h.chan, d, 3, false), 0);
	/* In flight from the client before it saw our CLOSE. */
	CHECK_EQ_INT(tc_chan_data(f.t, d, 3), 0);
	CHECK_EQ_INT(f.t->last_rc, 0);
	if (f.h.data_after_close != 0)
		fprintf(stderr, "  BUG: CHANNEL_DATA handed to the host after dssh_chan_close()\n");
	CHECK_EQ_INT(f.h.data_after_close, 0);
	/* A request in flight gets no reply and does not reach the host. */
	int reqs = f.h.requests;
	struct dssh_buf m;

	dssh_buf_init(&m, 0);
	dssh_buf_put_u8(&m, SSH_MSG_CHANNEL_REQUEST);
	dssh_buf_put_u32(&m, f.t->chan_remote);
	dssh_buf_put_cstring(&m, "env");
	dssh_buf_put_bool(&m, true);
	dssh_buf_put_cstring(&m, "LANG");
	dssh_buf_put_cstring(&m, "C");
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	dssh_buf_free(&m);
	CHECK_EQ_INT(tc_recv(f.t, &f.msg), DSSH_ERR_MSG_INCOMPLETE);
	if (f.h.requests != reqs)
		fprintf(stderr, "  BUG: CHANNEL_REQUEST handed to the host after dssh_chan_close()\n");
	CHECK_EQ_INT(f.h.requests, reqs);
	send_u32_msg(&f, SSH_MSG_CHANNEL_CLOSE, f.t->chan_remote, false, 0);
	CHECK_EQ_INT(f.t->last_rc, 0);
	/* Both closed: the id is free and can be reused. */
	CHECK_EQ_INT(tc_open_session(f.t, 4096, 1024), 0);
	CHECK_EQ_INT(f.h.sessions, 2);
	fx_free(&f);
}

/* first_kex_packet_follows with a wrong guess: the guessed packet is dropped. */
static void
test_wrong_guess(void)
{
	struct fx f;
	struct dssh_buf k, g;
	const char *lists[KEX_SLOTS] = {
		"ecdh-sha2-nistp521,curve25519-sha256", "ssh-ed25519", "aes128-gcm@openssh.com",
		"aes128-gcm@openssh.com", "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", "",
	};

	fx_init(&f, "ecdh-sha2-nistp521,curve25519-sha256", "aes128-gcm@openssh.com",
	    "hmac-sha2-256", false);
	CHECK_EQ_INT(tc_version(f.t), 0);
	dssh_buf_init(&k, 0);
	dssh_buf_init(&g, 0);
	dssh_kexinit_build(&k, lists);
	dssh_buf_mutable_ptr(&k)[dssh_buf_len(&k) - 5] = 1;     /* first_kex_packet_follows */
	CHECK_EQ_INT(tc_sendb(f.t, &k), 0);
	/* The guess: junk that would fail if it were processed. */
	dssh_buf_put_u8(&g, SSH_MSG_KEX_ECDH_INIT);
	dssh_buf_put_cstring(&g, "not a point");
	CHECK_EQ_INT(tc_sendb(f.t, &g), 0);
	CHECK(!dssh_conn_closing(f.c));
	/* Now the real exchange, reusing the KEXINIT already sent. */
	dssh_buf_reset(&f.t->i_c);
	dssh_buf_put(&f.t->i_c, dssh_buf_ptr(&k), dssh_buf_len(&k));
	f.t->kexinit_sent = true;
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_STR(f.t->neg_kex, "curve25519-sha256");
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	dssh_buf_free(&k);
	dssh_buf_free(&g);
	fx_free(&f);

	/* RFC 4253 7.1: the packet after a wrongly guessed KEXINIT is ignored
	 * whatever its type (here a group-exchange request, number 34). */
	fx_init(&f, "diffie-hellman-group-exchange-sha256,curve25519-sha256",
	    "aes128-gcm@openssh.com", "hmac-sha2-256", false);
	CHECK_EQ_INT(tc_version(f.t), 0);
	lists[KEX_SLOT_KEX] = "diffie-hellman-group-exchange-sha256,curve25519-sha256";
	dssh_buf_init(&k, 0);
	dssh_buf_init(&g, 0);
	dssh_kexinit_build(&k, lists);
	dssh_buf_mutable_ptr(&k)[dssh_buf_len(&k) - 5] = 1;
	CHECK_EQ_INT(tc_sendb(f.t, &k), 0);
	dssh_buf_put_u8(&g, 34);
	dssh_buf_put_u32(&g, 2048);
	dssh_buf_put_u32(&g, 3072);
	dssh_buf_put_u32(&g, 8192);
	tc_sendb(f.t, &g);
	if (dssh_conn_closing(f.c))
		fprintf(stderr, "  BUG: wrong-guess packet of another kex method not ignored\n");
	CHECK(!dssh_conn_closing(f.c));
	if (!dssh_conn_closing(f.c)) {
		dssh_buf_reset(&f.t->i_c);
		dssh_buf_put(&f.t->i_c, dssh_buf_ptr(&k), dssh_buf_len(&k));
		f.t->kexinit_sent = true;
		CHECK_EQ_INT(tc_kex(f.t), 0);
		CHECK_STR(f.t->neg_kex, "curve25519-sha256");
	}
	dssh_buf_free(&k);
	dssh_buf_free(&g);
	fx_free(&f);

	/* A NEWKEYS (or any non-method message) where the guess should be is
	 * refused, not ignored: a data core framing the packets would wait for
	 * keys after it. */
	for (int i = 0; i < 2; i++) {
		static const uint8_t wrong[2] = { SSH_MSG_NEWKEYS, SSH_MSG_IGNORE };

		fx_init(&f, "ecdh-sha2-nistp521,curve25519-sha256", "aes128-gcm@openssh.com",
		    "hmac-sha2-256", false);
		CHECK_EQ_INT(tc_version(f.t), 0);
		lists[KEX_SLOT_KEX] = "ecdh-sha2-nistp521,curve25519-sha256";
		dssh_buf_init(&k, 0);
		dssh_buf_init(&g, 0);
		dssh_kexinit_build(&k, lists);
		dssh_buf_mutable_ptr(&k)[dssh_buf_len(&k) - 5] = 1;
		CHECK_EQ_INT(tc_sendb(f.t, &k), 0);
		CHECK(!dssh_conn_closing(f.c));
		dssh_buf_put_u8(&g, wrong[i]);
		if (wrong[i] == SSH_MSG_IGNORE)
			dssh_buf_put_cstring(&g, "");
		tc_sendb(f.t, &g);
		CHECK(dssh_conn_closing(f.c));
		dssh_buf_free(&k);
		dssh_buf_free(&g);
		fx_free(&f);
	}
}

static void
test_client_alive(void)
{
	struct fx f;
	int probes = 0;

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	f.conf.client_alive_interval = 2;
	f.conf.client_alive_count_max = 2;
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	tc_drain(f.t);
	uint64_t now = f.t->now_ms;
	int r = 0;

	for (int i = 1; i <= 10 && r == 0; i++) {
		r = dssh_conn_tick(f.c, now + (uint64_t)i * 1000);
		while (tc_recv(f.t, &f.msg) == 0)
			if (dssh_buf_ptr(&f.msg)[0] == SSH_MSG_GLOBAL_REQUEST)
				probes++;
	}
	CHECK_EQ_INT(probes, 2);
	CHECK_EQ_INT(r, DSSH_ERR_TIMEOUT);
	CHECK(dssh_conn_closing(f.c));
	CHECK(f.t->got_disconnect);
	{
		struct dssh_conn_stats st;

		dssh_conn_get_stats(f.c, &st);
		CHECK(st.alive_timed_out);
		CHECK(!st.auth_tries_exceeded);
		CHECK_EQ_INT(st.auth_failures, 0);
	}
	fx_free(&f);
}

/* Application messages from the host during a rekey wait for our NEWKEYS. */
static void
test_deferred_during_rekey(void)
{
	struct fx f;
	struct dssh_buf k;
	const char *lists[KEX_SLOTS] = {
		"curve25519-sha256", "ssh-ed25519", "aes128-gcm@openssh.com",
		"aes128-gcm@openssh.com", "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", "",
	};

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	tc_drain(f.t);
	dssh_buf_init(&k, 0);
	dssh_kexinit_build(&k, lists);
	CHECK_EQ_INT(tc_sendb(f.t, &k), 0);
	/* Host output while the exchange runs. */
	CHECK_EQ_INT(dssh_chan_send_space(f.c, f.h.chan), 0);
	CHECK_EQ_INT(dssh_chan_send(f.c, f.h.chan, (const uint8_t *)"zz", 2, false), 0);
	CHECK_EQ_INT(dssh_chan_exit_status(f.c, f.h.chan, 7), 0);
	CHECK_EQ_INT(dssh_chan_send_eof(f.c, f.h.chan), 0);
	/* tc_kex fails if anything but kex messages comes before NEWKEYS. */
	dssh_buf_reset(&f.t->i_c);
	dssh_buf_put(&f.t->i_c, dssh_buf_ptr(&k), dssh_buf_len(&k));
	f.t->kexinit_sent = true;
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_REQUEST, &f.msg), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_EOF, &f.msg), 0);
	CHECK_EQ_INT(tc_recv(f.t, &f.msg), DSSH_ERR_MSG_INCOMPLETE);
	dssh_buf_free(&k);
	fx_free(&f);
}

static void
test_channel_limits(void)
{
	struct fx f;
	struct dssh_buf m;
	int confirmed = 0, refused = 0;

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	f.conf.max_channels = 32;
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	tc_drain(f.t);
	dssh_buf_init(&m, 0);
	for (uint32_t i = 0; i < 32 + 2; i++) {
		dssh_buf_reset(&m);
		dssh_buf_put_u8(&m, SSH_MSG_CHANNEL_OPEN);
		dssh_buf_put_cstring(&m, "session");
		dssh_buf_put_u32(&m, 100 + i);
		dssh_buf_put_u32(&m, 1000);
		dssh_buf_put_u32(&m, 1000);
		CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
		CHECK_EQ_INT(tc_recv(f.t, &f.msg), 0);
		uint8_t type = dssh_buf_ptr(&f.msg)[0];

		CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 1), 100 + i);
		confirmed += type == SSH_MSG_CHANNEL_OPEN_CONFIRMATION;
		refused += type == SSH_MSG_CHANNEL_OPEN_FAILURE;
	}
	CHECK_EQ_INT(confirmed, 32 - 1);     /* one is open already */
	CHECK_EQ_INT((int)dssh_chan_count(f.c), 32);
	CHECK_EQ_INT(refused, 3);
	/* Unknown type, tiny max packet: refused, connection lives. */
	dssh_buf_reset(&m);
	dssh_buf_put_u8(&m, SSH_MSG_CHANNEL_OPEN);
	dssh_buf_put_cstring(&m, "x11");
	dssh_buf_put_u32(&m, 1);
	dssh_buf_put_u32(&m, 1000);
	dssh_buf_put_u32(&m, 1000);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_OPEN_FAILURE, &f.msg), 0);
	CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 5), SSH_OPEN_UNKNOWN_CHANNEL_TYPE);
	/* A message for a channel that does not exist ends the connection. */
	send_u32_msg(&f, SSH_MSG_CHANNEL_EOF, 999, false, 0);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	dssh_buf_free(&m);
	fx_free(&f);
}

/* Past the old fixed 32: the table grows up to the default limit. */
static void
test_many_channels(void)
{
	struct fx f;
	struct dssh_buf m;
	uint32_t confirmed = 0, refused = 0, n = DSSH_DEFAULT_MAX_CHANNELS + 5;

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	tc_drain(f.t);
	dssh_buf_init(&m, 0);
	for (uint32_t i = 0; i < n; i++) {
		dssh_buf_reset(&m);
		dssh_buf_put_u8(&m, SSH_MSG_CHANNEL_OPEN);
		dssh_buf_put_cstring(&m, "session");
		dssh_buf_put_u32(&m, 5000 + i);
		dssh_buf_put_u32(&m, 1000);
		dssh_buf_put_u32(&m, 1000);
		CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
		CHECK_EQ_INT(tc_recv(f.t, &f.msg), 0);
		confirmed += dssh_buf_ptr(&f.msg)[0] == SSH_MSG_CHANNEL_OPEN_CONFIRMATION;
		refused += dssh_buf_ptr(&f.msg)[0] == SSH_MSG_CHANNEL_OPEN_FAILURE;
	}
	CHECK_EQ_INT(confirmed, DSSH_DEFAULT_MAX_CHANNELS - 1);
	CHECK_EQ_INT(refused, 6);
	/* Close one (number 700): its number is the next one given out. */
	send_u32_msg(&f, SSH_MSG_CHANNEL_CLOSE, 700, false, 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_CLOSE, &f.msg), 0);
	CHECK_EQ_INT((int)dssh_chan_count(f.c), DSSH_DEFAULT_MAX_CHANNELS - 1);
	dssh_buf_reset(&m);
	dssh_buf_put_u8(&m, SSH_MSG_CHANNEL_OPEN);
	dssh_buf_put_cstring(&m, "session");
	dssh_buf_put_u32(&m, 1);
	dssh_buf_put_u32(&m, 1000);
	dssh_buf_put_u32(&m, 1000);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_OPEN_CONFIRMATION, &f.msg), 0);
	CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 5), 700);
	dssh_buf_free(&m);
	fx_free(&f);
}

static void
put_direct_open(struct dssh_buf *m, const char *type, uint32_t sender, const char *host,
    uint32_t port)
{
	dssh_buf_reset(m);
	dssh_buf_put_u8(m, SSH_MSG_CHANNEL_OPEN);
	dssh_buf_put_cstring(m, type);
	dssh_buf_put_u32(m, sender);
	dssh_buf_put_u32(m, 100000);
	dssh_buf_put_u32(m, 32768);
	dssh_buf_put_cstring(m, host);
	if (strcmp(type, "direct-tcpip") == 0) {
		dssh_buf_put_u32(m, port);
		dssh_buf_put_cstring(m, "10.1.2.3");
		dssh_buf_put_u32(m, 5555);
	} else {
		dssh_buf_put_cstring(m, "");
		dssh_buf_put_u32(m, 0);
	}
}

/* direct-tcpip / direct-streamlocal: parsed, confirmed now or later, refused. */
static void
test_direct_open(void)
{
	struct fx f;
	struct dssh_buf m;
	uint8_t d[3] = { 'a', 'b', 'c' };

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	f.h.consume = true;
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	tc_drain(f.t);
	dssh_buf_init(&m, 0);
	/* Confirmed at once; data flows to the host. */
	put_direct_open(&m, "direct-tcpip", 77, "db.example", 5432);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_OPEN_CONFIRMATION, &f.msg), 0);
	CHECK_EQ_INT(f.h.opens, 1);
	CHECK_EQ_INT(f.h.last_open.kind, DSSH_CHAN_DIRECT_TCPIP);
	CHECK_STR(f.h.open_host, "db.example");
	CHECK_EQ_INT(f.h.last_open.port, 5432);
	CHECK_STR(f.h.open_orig, "10.1.2.3");
	CHECK_EQ_INT(f.h.last_open.orig_port, 5555);
	uint32_t id = dssh_get_u32be(dssh_buf_ptr(&f.msg) + 5);

	CHECK_EQ_INT(id, f.h.open_chan);
	CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 1), 77);
	dssh_buf_reset(&m);
	dssh_buf_put_u8(&m, SSH_MSG_CHANNEL_DATA);
	dssh_buf_put_u32(&m, id);
	dssh_buf_put_string(&m, d, 3);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	CHECK_EQ_INT((int)dssh_buf_len(&f.h.data), 3);
	CHECK(dssh_chan_send_space(f.c, id) == 100000);
	/* Deferred (a connect in progress): nothing sent, no space, then confirmed. */
	f.h.open_ret = DSSH_ERR_AGAIN;
	put_direct_open(&m, "direct-streamlocal@openssh.com", 78, "/run/x.sock", 0);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	CHECK_EQ_INT(tc_recv(f.t, &f.msg), DSSH_ERR_MSG_INCOMPLETE);
	CHECK_EQ_INT(f.h.last_open.kind, DSSH_CHAN_DIRECT_STREAMLOCAL);
	CHECK_STR(f.h.open_host, "/run/x.sock");
	uint32_t id2 = f.h.open_chan;

	CHECK(dssh_chan_send_space(f.c, id2) == 0);
	CHECK_EQ_INT(dssh_chan_open_reply(f.c, id2, 0, NULL), 0);
	CHECK_EQ_INT(dssh_chan_open_reply(f.c, id2, 0, NULL), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_OPEN_CONFIRMATION, &f.msg), 0);
	CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 1), 78);
	/* Deferred, then failed: the reason goes out, the number is free again. */
	put_direct_open(&m, "direct-tcpip", 79, "127.0.0.1", 1);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	uint32_t id3 = f.h.open_chan;
	size_t before = dssh_chan_count(f.c);

	CHECK_EQ_INT(dssh_chan_open_reply(f.c, id3, DSSH_OPEN_CONNECT_FAILED, "Connection refused"),
	    0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_OPEN_FAILURE, &f.msg), 0);
	CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 1), 79);
	CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 5), DSSH_OPEN_CONNECT_FAILED);
	CHECK_EQ_INT((int)dssh_chan_count(f.c), (int)before - 1);
	/* A message naming a channel still being opened is a protocol error later;
	 * first, a refusal by policy. */
	f.h.open_ret = DSSH_ERR_PERMISSION;
	put_direct_open(&m, "direct-tcpip", 80, "127.0.0.1", 22);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_OPEN_FAILURE, &f.msg), 0);
	CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 5),
	    DSSH_OPEN_ADMINISTRATIVELY_PROHIBITED);
	/* The peer may not open a forwarded-tcpip channel. */
	put_direct_open(&m, "forwarded-tcpip", 81, "127.0.0.1", 22);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_OPEN_FAILURE, &f.msg), 0);
	CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 5), DSSH_OPEN_UNKNOWN_CHANNEL_TYPE);
	/* Data for a channel whose open is still pending: protocol error. */
	f.h.open_ret = DSSH_ERR_AGAIN;
	put_direct_open(&m, "direct-tcpip", 82, "127.0.0.1", 22);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	send_u32_msg(&f, SSH_MSG_CHANNEL_EOF, f.h.open_chan, false, 0);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	dssh_buf_free(&m);
	fx_free(&f);
}

static void
put_open_confirm(struct dssh_buf *m, uint32_t id, uint32_t sender, uint32_t window)
{
	dssh_buf_reset(m);
	dssh_buf_put_u8(m, SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	dssh_buf_put_u32(m, id);
	dssh_buf_put_u32(m, sender);
	dssh_buf_put_u32(m, window);
	dssh_buf_put_u32(m, 16384);
}

/* Server-initiated opens: confirmation, failure, close before the answer. */
static void
test_open_to_client(void)
{
	struct fx f;
	struct dssh_buf m, rd;
	struct dssh_chan_open o = {
		.kind = DSSH_CHAN_FORWARDED_TCPIP, .host = "127.0.0.1", .port = 8080,
		.orig_host = "127.0.0.2", .orig_port = 40000,
	};
	const uint8_t *p;
	size_t n;
	uint32_t id, id2, id3, v;

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	f.h.consume = true;
	dssh_buf_init(&m, 0);
	/* Not before authentication. */
	CHECK_EQ_INT(dssh_chan_open(f.c, &o, &id), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	tc_drain(f.t);
	CHECK_EQ_INT(dssh_chan_open(f.c, &o, &id), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_OPEN, &f.msg), 0);
	dssh_buf_from(&rd, dssh_buf_ptr(&f.msg) + 1, dssh_buf_len(&f.msg) - 1);
	CHECK_EQ_INT(dssh_buf_get_string_direct(&rd, &p, &n), 0);
	CHECK(n == 15 && memcmp(p, "forwarded-tcpip", 15) == 0);
	CHECK_EQ_INT(dssh_buf_get_u32(&rd, &v), 0);
	CHECK_EQ_INT(v, id);
	CHECK_EQ_INT(dssh_buf_get_u32(&rd, &v), 0);     /* window */
	CHECK_EQ_INT(dssh_buf_get_u32(&rd, &v), 0);     /* max packet */
	CHECK_EQ_INT(dssh_buf_get_string_direct(&rd, &p, &n), 0);
	CHECK(n == 9 && memcmp(p, "127.0.0.1", 9) == 0);
	CHECK_EQ_INT(dssh_buf_get_u32(&rd, &v), 0);
	CHECK_EQ_INT(v, 8080);
	CHECK_EQ_INT(dssh_buf_get_string_direct(&rd, &p, &n), 0);
	CHECK(n == 9 && memcmp(p, "127.0.0.2", 9) == 0);
	CHECK_EQ_INT(dssh_buf_get_u32(&rd, &v), 0);
	CHECK_EQ_INT(v, 40000);
	CHECK_EQ_INT((int)dssh_buf_len(&rd), 0);
	/* No data before the answer. */
	CHECK(dssh_chan_send_space(f.c, id) == 0);
	CHECK(dssh_chan_send(f.c, id, (const uint8_t *)"x", 1, false) == 0);
	put_open_confirm(&m, id, 900, 50000);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	CHECK_EQ_INT(f.h.results, 1);
	CHECK_EQ_INT(f.h.result_chan, id);
	CHECK_EQ_INT(f.h.result_reason, 0);
	CHECK(dssh_chan_send_space(f.c, id) == 50000);
	CHECK(dssh_chan_send(f.c, id, (const uint8_t *)"hello", 5, false) == 5);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_DATA, &f.msg), 0);
	CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 1), 900);
	/* Peer data for it reaches the host. */
	dssh_buf_reset(&m);
	dssh_buf_put_u8(&m, SSH_MSG_CHANNEL_DATA);
	dssh_buf_put_u32(&m, id);
	dssh_buf_put_string(&m, "back", 4);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	CHECK_EQ_INT((int)dssh_buf_len(&f.h.data), 4);
	/* A second one refused by the peer: the host learns the reason, the number is free. */
	o.kind = DSSH_CHAN_AUTH_AGENT;
	CHECK_EQ_INT(dssh_chan_open(f.c, &o, &id2), 0);
	CHECK(id2 != id);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_OPEN, &f.msg), 0);
	size_t before = dssh_chan_count(f.c);

	dssh_buf_reset(&m);
	dssh_buf_put_u8(&m, SSH_MSG_CHANNEL_OPEN_FAILURE);
	dssh_buf_put_u32(&m, id2);
	dssh_buf_put_u32(&m, DSSH_OPEN_CONNECT_FAILED);
	dssh_buf_put_cstring(&m, "no agent");
	dssh_buf_put_cstring(&m, "");
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	CHECK_EQ_INT(f.h.results, 2);
	CHECK_EQ_INT(f.h.result_chan, id2);
	CHECK_EQ_INT(f.h.result_reason, DSSH_OPEN_CONNECT_FAILED);
	CHECK_EQ_INT((int)dssh_chan_count(f.c), (int)before - 1);
	/* Closed by the host before the answer: CLOSE follows the confirmation,
	 * the host hears nothing more. */
	o.kind = DSSH_CHAN_FORWARDED_STREAMLOCAL;
	o.host = "/tmp/s.sock";
	CHECK_EQ_INT(dssh_chan_open(f.c, &o, &id3), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_OPEN, &f.msg), 0);
	CHECK_EQ_INT(dssh_chan_close(f.c, id3), 0);
	put_open_confirm(&m, id3, 901, 1000);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	CHECK_EQ_INT(f.h.results, 2);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_CLOSE, &f.msg), 0);
	CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 1), 901);
	send_u32_msg(&f, SSH_MSG_CHANNEL_CLOSE, id3, false, 0);
	CHECK(!dssh_conn_closing(f.c));
	/* The peer may not open an agent channel to us. */
	put_direct_open(&m, "auth-agent@openssh.com", 5, "", 0);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_OPEN_FAILURE, &f.msg), 0);
	/* A confirmation for a channel we never opened ends the connection. */
	put_open_confirm(&m, id, 902, 1000);
	CHECK_EQ_INT(tc_sendb(f.t, &m), DSSH_ERR_PROTOCOL);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	dssh_buf_free(&m);
	fx_free(&f);
}

static void
send_greq(struct fx *f, const char *name, bool want, const char *addr, bool with_port,
    uint32_t port)
{
	struct dssh_buf m;

	dssh_buf_init(&m, 0);
	dssh_buf_put_u8(&m, SSH_MSG_GLOBAL_REQUEST);
	dssh_buf_put_cstring(&m, name);
	dssh_buf_put_bool(&m, want);
	if (addr != NULL)
		dssh_buf_put_cstring(&m, addr);
	if (with_port)
		dssh_buf_put_u32(&m, port);
	tc_sendb(f->t, &m);
	dssh_buf_free(&m);
}

/* Global requests: the host decides; the bound port goes back for port 0. */
static void
test_global_requests(void)
{
	struct fx f;

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	tc_drain(f.t);
	f.h.greq_port = 41234;
	send_greq(&f, "tcpip-forward", true, "localhost", true, 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_REQUEST_SUCCESS, &f.msg), 0);
	CHECK_EQ_INT((int)dssh_buf_len(&f.msg), 5);
	CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 1), 41234);
	CHECK_EQ_INT(f.h.last_greq.type, DSSH_GREQ_TCPIP_FORWARD);
	CHECK_STR(f.h.greq_addr, "localhost");
	/* A port asked for: success carries nothing. */
	send_greq(&f, "tcpip-forward", true, "", true, 8022);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_REQUEST_SUCCESS, &f.msg), 0);
	CHECK_EQ_INT((int)dssh_buf_len(&f.msg), 1);
	CHECK_EQ_INT(f.h.last_greq.port, 8022);
	send_greq(&f, "cancel-tcpip-forward", true, "", true, 8022);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_REQUEST_SUCCESS, &f.msg), 0);
	CHECK_EQ_INT(f.h.last_greq.type, DSSH_GREQ_CANCEL_TCPIP_FORWARD);
	send_greq(&f, "streamlocal-forward@openssh.com", true, "/tmp/a.sock", false, 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_REQUEST_SUCCESS, &f.msg), 0);
	CHECK_EQ_INT((int)dssh_buf_len(&f.msg), 1);
	CHECK_EQ_INT(f.h.last_greq.type, DSSH_GREQ_STREAMLOCAL_FORWARD);
	CHECK_STR(f.h.greq_addr, "/tmp/a.sock");
	/* Refused by the host. */
	f.h.greq_ret = DSSH_ERR_PERMISSION;
	send_greq(&f, "tcpip-forward", true, "", true, 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_REQUEST_FAILURE, &f.msg), 0);
	CHECK_EQ_INT((int)dssh_buf_len(&f.msg), 1);
	/* Unknown: refused without asking; no reply wanted: none sent. */
	int before = f.h.greqs;

	send_greq(&f, "keepalive@openssh.com", true, NULL, false, 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_REQUEST_FAILURE, &f.msg), 0);
	CHECK_EQ_INT(f.h.greqs, before);
	f.h.greq_ret = 0;
	send_greq(&f, "cancel-streamlocal-forward@openssh.com", false, "/tmp/a.sock", false, 0);
	CHECK_EQ_INT(f.h.greqs, before + 1);
	CHECK_EQ_INT(tc_recv(f.t, &f.msg), DSSH_ERR_MSG_INCOMPLETE);
	/* Port out of range: malformed. */
	send_greq(&f, "tcpip-forward", true, "", true, 70000);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	fx_free(&f);
}

/* Truncated or garbage opens and global requests end the connection cleanly. */
static void
test_chan_garbage(void)
{
	static const char *const types[] = {
		"direct-tcpip", "direct-streamlocal@openssh.com",
	};
	struct dssh_buf m;
	uint64_t seed = 7;

	dssh_buf_init(&m, 0);
	for (size_t t = 0; t < 2; t++) {
		put_direct_open(&m, types[t], 1, "127.0.0.1", 80);
		size_t full = dssh_buf_len(&m);

		/* Each truncation past the common fields. */
		for (size_t cut = 1 + 4 + strlen(types[t]) + 12; cut < full; cut++) {
			struct fx f;

			fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256",
			    true);
			CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
			tc_drain(f.t);
			tc_send(f.t, dssh_buf_ptr(&m), cut);
			CHECK(dssh_conn_closing(f.c));
			CHECK_EQ_INT(f.h.opens, 0);
			fx_free(&f);
		}
	}
	/* Random bytes after a known global request name never crash. */
	for (int i = 0; i < 200; i++) {
		struct fx f;
		uint8_t junk[24];

		fill(junk, sizeof(junk), seed++);
		fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
		CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
		tc_drain(f.t);
		dssh_buf_reset(&m);
		dssh_buf_put_u8(&m, SSH_MSG_GLOBAL_REQUEST);
		dssh_buf_put_cstring(&m, i % 2 ? "tcpip-forward" : "streamlocal-forward@openssh.com");
		dssh_buf_put_bool(&m, true);
		dssh_buf_put(&m, junk, (size_t)(i % 24));
		tc_sendb(f.t, &m);
		tc_drain(f.t);
		fx_free(&f);
	}
	dssh_buf_free(&m);
}

/* Weak or invalid client key-exchange values end the connection. */
static void
bad_kex_value(const char *kex, const uint8_t *v, size_t n, bool mpint)
{
	struct fx f;
	struct dssh_buf k;
	const char *lists[KEX_SLOTS] = {
		kex, "ssh-ed25519", "aes128-gcm@openssh.com",
		"aes128-gcm@openssh.com", "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", "",
	};

	fx_init(&f, kex, "aes128-gcm@openssh.com", "hmac-sha2-256", false);
	CHECK_EQ_INT(tc_version(f.t), 0);
	dssh_buf_init(&k, 0);
	dssh_kexinit_build(&k, lists);
	CHECK_EQ_INT(tc_sendb(f.t, &k), 0);
	dssh_buf_reset(&k);
	dssh_buf_put_u8(&k, SSH_MSG_KEX_ECDH_INIT);
	if (mpint)
		dssh_buf_put_mpint_bytes(&k, v, n);
	else
		dssh_buf_put_string(&k, v, n);
	tc_sendb(f.t, &k);
	if (!dssh_conn_closing(f.c))
		fprintf(stderr, "  %s: weak value (%zu bytes) accepted\n", kex, n);
	expect_disconnect(&f, SSH_DISCONNECT_KEY_EXCHANGE_FAILED);
	dssh_buf_free(&k);
	fx_free(&f);
}

static void
test_bad_kex_values(void)
{
	uint8_t z[65], one[1] = { 1 }, zero[1] = { 0 };
	/* p - 1 for the 2048-bit MODP group (RFC 3526 group 14). */
	static const char g14_hex[] =
	    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B2251"
	    "4A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C"
	    "42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007C"
	    "B8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED52907"
	    "7096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC"
	    "07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AAC"
	    "AA68FFFFFFFFFFFFFFFF";
	uint8_t pm1[256];

	dssh_test_hex2bin(g14_hex, pm1, sizeof(pm1));
	pm1[255] -= 1;
	memset(z, 0, sizeof(z));
	bad_kex_value("curve25519-sha256", z, 32, false);         /* low order: K = 0 */
	bad_kex_value("curve25519-sha256", z, 31, false);         /* wrong length */
	bad_kex_value("curve25519-sha256", z, 33, false);
	bad_kex_value("ecdh-sha2-nistp256", z, 65, false);        /* not on the curve */
	z[0] = 4;
	bad_kex_value("ecdh-sha2-nistp256", z, 65, false);
	bad_kex_value("ecdh-sha2-nistp256", z, 0, false);
	bad_kex_value("diffie-hellman-group14-sha256", zero, 1, true);   /* e = 0 */
	bad_kex_value("diffie-hellman-group14-sha256", one, 1, true);    /* e = 1 */
	bad_kex_value("diffie-hellman-group14-sha256", pm1, sizeof(pm1), true);   /* p - 1 */
	pm1[255] += 1;
	bad_kex_value("diffie-hellman-group14-sha256", pm1, sizeof(pm1), true);   /* p */
}

/* Several host keys: the client's preferred algorithm picks the key and hash. */
static void
test_hostkey_choice(void)
{
	struct dssh_sshkey *ec = NULL, *rsa = NULL;
	static const char *const want[] = {
		"ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256", "ssh-ed25519",
	};

	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_ECDSA_P256, 0, &ec), 0);
	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_RSA, 2048, &rsa), 0);
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(want); i++) {
		struct fx f;
		struct dssh_ssh_hostkey hks[4] = {
			{ "ssh-ed25519", hostkey }, { "ecdsa-sha2-nistp256", ec },
			{ "rsa-sha2-512", rsa }, { "rsa-sha2-256", rsa },
		};
		struct dssh_conn_stats st;

		fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
		f.conf.hostkeys = hks;
		f.conf.n_hostkeys = 4;
		f.t->conf.hostkey = want[i];
		CHECK_EQ_INT(tc_version(f.t), 0);
		CHECK_EQ_INT(tc_kex(f.t), 0);     /* verifies the signature with want[i] */
		dssh_conn_get_stats(f.c, &st);
		CHECK_STR(st.hostkey_alg, want[i]);
		CHECK(dssh_sshkey_equal_public(f.t->hostkey, i == 0 ? ec : i < 3 ? rsa : hostkey) == 1);
		CHECK_EQ_INT(tc_service_request(f.t), 0);
		fx_free(&f);
	}
	/* A host-key algorithm the server has no key for. */
	{
		struct fx f;

		fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
		f.t->conf.hostkey = "ssh-rsa,rsa-sha2-256";
		CHECK_EQ_INT(tc_version(f.t), 0);
		CHECK(tc_kex(f.t) != 0);
		expect_disconnect(&f, SSH_DISCONNECT_KEY_EXCHANGE_FAILED);
		fx_free(&f);
	}
	dssh_sshkey_free(ec);
	dssh_sshkey_free(rsa);
}

/* User keys of each type and signature hash; SHA-1 ssh-rsa is not accepted. */
static void
user_key_case(struct dssh_sshkey *key, const char *alg, int expect)
{
	struct fx f;

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	dssh_buf_reset(&f.h.good_blob);
	dssh_sshkey_public_blob(key, &f.h.good_blob);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	int r = tc_auth_pubkey(f.t, "alice", key, alg, key);

	if (r != expect)
		fprintf(stderr, "  user key %s: %d\n", alg, r);
	CHECK_EQ_INT(r, expect);
	CHECK_EQ_INT(dssh_conn_authenticated(f.c), expect == 0);
	fx_free(&f);
}

static void
test_user_key_types(void)
{
	struct dssh_sshkey *ec = NULL, *ec384 = NULL, *rsa = NULL;

	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_ECDSA_P256, 0, &ec), 0);
	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_ECDSA_P384, 0, &ec384), 0);
	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_RSA, 2048, &rsa), 0);
	user_key_case(ec, "ecdsa-sha2-nistp256", 0);
	user_key_case(ec384, "ecdsa-sha2-nistp384", DSSH_ERR_PERMISSION);  /* not in pubkey_algs */
	user_key_case(rsa, "rsa-sha2-512", 0);
	user_key_case(rsa, "rsa-sha2-256", 0);
	user_key_case(rsa, "ssh-rsa", DSSH_ERR_PERMISSION);
	dssh_sshkey_free(ec);
	dssh_sshkey_free(ec384);
	dssh_sshkey_free(rsa);
}

static int
chan_request(struct fx *f, uint32_t chan, const char *type, bool want_reply,
    const struct dssh_buf *args)
{
	struct dssh_buf m;
	int r;

	dssh_buf_init(&m, 0);
	dssh_buf_put_u8(&m, SSH_MSG_CHANNEL_REQUEST);
	dssh_buf_put_u32(&m, chan);
	dssh_buf_put_cstring(&m, type);
	dssh_buf_put_bool(&m, want_reply);
	if (args != NULL)
		dssh_buf_put(&m, dssh_buf_ptr(args), dssh_buf_len(args));
	r = tc_sendb(f->t, &m);
	dssh_buf_free(&m);
	if (r != 0 || !want_reply)
		return r;
	if ((r = tc_recv(f->t, &f->msg)) != 0)
		return r;
	return dssh_buf_ptr(&f->msg)[0];
}

static void
test_session_requests(void)
{
	struct fx f;
	struct dssh_buf a;
	static const uint8_t modes[] = { 1, 0, 0, 0, 3, 128, 0, 0, 0x96, 0, 0 };

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", userkey), 0);
	CHECK_EQ_INT(tc_open_session(f.t, 65536, 32768), 0);
	uint32_t ch = f.t->chan_remote;

	dssh_buf_init(&a, 0);
	dssh_buf_put_cstring(&a, "xterm-256color");
	dssh_buf_put_u32(&a, 132);
	dssh_buf_put_u32(&a, 43);
	dssh_buf_put_u32(&a, 640);
	dssh_buf_put_u32(&a, 480);
	dssh_buf_put_string(&a, modes, sizeof(modes));
	CHECK_EQ_INT(chan_request(&f, ch, "pty-req", true, &a), SSH_MSG_CHANNEL_SUCCESS);
	CHECK_EQ_INT(f.h.last_req.type, DSSH_REQ_PTY);
	CHECK_STR(f.h.req_s1, "xterm-256color");
	CHECK_EQ_INT(f.h.last_req.cols, 132);
	CHECK_EQ_INT(f.h.last_req.rows, 43);
	CHECK_EQ_INT(f.h.last_req.xpixel, 640);
	CHECK_EQ_INT(f.h.last_req.ypixel, 480);
	CHECK_EQ_INT(f.h.last_req.modes_len, sizeof(modes));
	CHECK_MEM(f.h.req_modes, modes, sizeof(modes));

	dssh_buf_reset(&a);
	dssh_buf_put_cstring(&a, "LANG");
	dssh_buf_put_cstring(&a, "C.UTF-8");
	CHECK_EQ_INT(chan_request(&f, ch, "env", true, &a), SSH_MSG_CHANNEL_SUCCESS);
	CHECK_EQ_INT(f.h.last_req.type, DSSH_REQ_ENV);
	CHECK_STR(f.h.req_s1, "LANG");
	CHECK_STR(f.h.req_s2, "C.UTF-8");

	CHECK_EQ_INT(chan_request(&f, ch, "shell", true, NULL), SSH_MSG_CHANNEL_SUCCESS);
	CHECK_EQ_INT(f.h.last_req.type, DSSH_REQ_SHELL);
	int n = f.h.requests;

	/* One program per channel; no pty once it runs: refused, host not asked. */
	dssh_buf_reset(&a);
	dssh_buf_put_cstring(&a, "ls");
	CHECK_EQ_INT(chan_request(&f, ch, "exec", true, &a), SSH_MSG_CHANNEL_FAILURE);
	CHECK_EQ_INT(f.h.requests, n);

	dssh_buf_reset(&a);
	dssh_buf_put_u32(&a, 100);
	dssh_buf_put_u32(&a, 50);
	dssh_buf_put_u32(&a, 0);
	dssh_buf_put_u32(&a, 0);
	CHECK_EQ_INT(chan_request(&f, ch, "window-change", false, &a), 0);
	CHECK_EQ_INT(f.h.last_req.type, DSSH_REQ_WINDOW_CHANGE);
	CHECK_EQ_INT(f.h.last_req.cols, 100);
	CHECK_EQ_INT(f.h.last_req.rows, 50);
	dssh_buf_reset(&a);
	dssh_buf_put_cstring(&a, "INT");
	CHECK_EQ_INT(chan_request(&f, ch, "signal", false, &a), 0);
	CHECK_EQ_INT(f.h.last_req.type, DSSH_REQ_SIGNAL);
	CHECK_STR(f.h.req_s1, "INT");
	/* x11-req: single connection, protocol, cookie, screen. */
	dssh_buf_reset(&a);
	dssh_buf_put_bool(&a, true);
	dssh_buf_put_cstring(&a, "MIT-MAGIC-COOKIE-1");
	dssh_buf_put_cstring(&a, "00112233445566778899aabbccddeeff");
	dssh_buf_put_u32(&a, 3);
	CHECK_EQ_INT(chan_request(&f, ch, "x11-req", false, &a), 0);
	CHECK_EQ_INT(f.h.last_req.type, DSSH_REQ_X11);
	CHECK(f.h.last_req.x11_single);
	CHECK_EQ_INT((int)f.h.last_req.x11_screen, 3);
	CHECK_STR(f.h.req_s1, "MIT-MAGIC-COOKIE-1");
	CHECK_STR(f.h.req_s2, "00112233445566778899aabbccddeeff");
	/* Unknown request: FAILURE, connection lives. */
	n = f.h.requests;
	CHECK_EQ_INT(chan_request(&f, ch, "no-such-request@dssh", true, NULL),
	    SSH_MSG_CHANNEL_FAILURE);
	CHECK_EQ_INT(f.h.requests, n);
	CHECK_EQ_INT(chan_request(&f, ch, "auth-agent-req@openssh.com", false, NULL), 0);
	CHECK(!dssh_conn_closing(f.c));

	/* exit-signal as the host sends it. */
	CHECK_EQ_INT(dssh_chan_exit_signal(f.c, f.h.chan, "KILL", true), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_REQUEST, &f.msg), 0);
	{
		struct dssh_buf m;
		uint32_t id;
		char *rt = NULL, *sig = NULL, *msg = NULL, *lang = NULL;
		bool wr = true, core = false;

		dssh_buf_from(&m, dssh_buf_ptr(&f.msg) + 1, dssh_buf_len(&f.msg) - 1);
		CHECK_EQ_INT(dssh_buf_get_u32(&m, &id), 0);
		CHECK_EQ_INT(dssh_buf_get_cstring(&m, &rt, NULL), 0);
		CHECK_EQ_INT(dssh_buf_get_bool(&m, &wr), 0);
		CHECK_EQ_INT(dssh_buf_get_cstring(&m, &sig, NULL), 0);
		CHECK_EQ_INT(dssh_buf_get_bool(&m, &core), 0);
		CHECK_EQ_INT(dssh_buf_get_cstring(&m, &msg, NULL), 0);
		CHECK_EQ_INT(dssh_buf_get_cstring(&m, &lang, NULL), 0);
		CHECK_EQ_INT(dssh_buf_len(&m), 0);
		CHECK_STR(rt, "exit-signal");
		CHECK_STR(sig, "KILL");
		CHECK(core && !wr);
		free(rt);
		free(sig);
		free(msg);
		free(lang);
	}

	/* subsystem on a second channel. */
	CHECK_EQ_INT(tc_open_session(f.t, 65536, 32768), 0);
	dssh_buf_reset(&a);
	dssh_buf_put_cstring(&a, "sftp");
	CHECK_EQ_INT(chan_request(&f, f.t->chan_remote, "subsystem", true, &a),
	    SSH_MSG_CHANNEL_SUCCESS);
	CHECK_EQ_INT(f.h.last_req.type, DSSH_REQ_SUBSYSTEM);
	CHECK_STR(f.h.req_s1, "sftp");

	/* A truncated pty-req is a protocol error. */
	dssh_buf_reset(&a);
	dssh_buf_put_cstring(&a, "vt100");
	dssh_buf_put_u32(&a, 80);
	chan_request(&f, ch, "pty-req", true, &a);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
	dssh_buf_free(&a);
	fx_free(&f);
}

static void
test_rekey_time(void)
{
	struct fx f;
	struct dssh_conn_stats st;

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	f.conf.rekey_seconds = 10;
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	tc_drain(f.t);
	CHECK_EQ_INT(dssh_conn_tick(f.c, f.t->now_ms + 5000), 0);
	CHECK_EQ_INT(tc_recv(f.t, &f.msg), DSSH_ERR_MSG_INCOMPLETE);
	CHECK_EQ_INT(dssh_conn_tick(f.c, f.t->now_ms + 10000), 0);
	CHECK_EQ_INT(tc_recv(f.t, &f.msg), 0);
	CHECK_EQ_INT(dssh_buf_ptr(&f.msg)[0], SSH_MSG_KEXINIT);
	f.t->now_ms += 10000;
	CHECK_EQ_INT(tc_kex(f.t), 0);
	dssh_conn_get_stats(f.c, &st);
	CHECK_EQ_INT(st.kex_count, 2);
	/* The clock restarts at the new keys. */
	CHECK_EQ_INT(dssh_conn_tick(f.c, f.t->now_ms + 9000), 0);
	CHECK_EQ_INT(tc_recv(f.t, &f.msg), DSSH_ERR_MSG_INCOMPLETE);
	data_roundtrip(&f, 30);
	fx_free(&f);
}

/*
 * RFC 4253 7.1: after our KEXINIT only transport and kex messages until our
 * NEWKEYS. A userauth request that was in flight when we started a rekey
 * is answered after the exchange.
 */
static void
test_auth_during_rekey(void)
{
	struct fx f;

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	f.conf.rekey_seconds = 10;
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	tc_drain(f.t);
	f.t->now_ms += 10000;
	CHECK_EQ_INT(dssh_conn_tick(f.c, f.t->now_ms), 0);     /* our KEXINIT goes out */
	/* tc_auth_pubkey stops at the KEXINIT it reads first. */
	CHECK_EQ_INT(tc_auth_pubkey(f.t, "alice", userkey, "ssh-ed25519", userkey),
	    DSSH_ERR_PROTOCOL);
	CHECK(f.t->have_server_kexinit);
	int r = tc_recv(f.t, &f.msg);

	if (r == 0)
		fprintf(stderr, "  BUG: message %u sent between our KEXINIT and NEWKEYS\n",
		    dssh_buf_ptr(&f.msg)[0]);
	CHECK_EQ_INT(r, DSSH_ERR_MSG_INCOMPLETE);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	if (r != 0)
		CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_USERAUTH_SUCCESS, &f.msg), 0);
	CHECK(dssh_conn_authenticated(f.c));
	fx_free(&f);
}

static int
send_debug(struct fx *f, bool display, const char *msg, const char *lang)
{
	struct dssh_buf m;
	int r;

	dssh_buf_init(&m, 0);
	dssh_buf_put_u8(&m, SSH_MSG_DEBUG);
	dssh_buf_put_bool(&m, display);
	dssh_buf_put_cstring(&m, msg);
	dssh_buf_put_cstring(&m, lang);
	r = tc_sendb(f->t, &m);
	dssh_buf_free(&m);
	return r;
}

/* SSH_MSG_DEBUG (RFC 4253 11.3) is taken without a reply and the connection
 * carries on; one that does not parse ends it with a DISCONNECT. */
static void
test_debug_msg(void)
{
	struct fx f;
	char longmsg[1000];

	memset(longmsg, 'd', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	longmsg[10] = '\n';
	longmsg[11] = '\x1b';
	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	tc_drain(f.t);
	CHECK_EQ_INT(send_debug(&f, true, "shown to the user", ""), 0);
	CHECK_EQ_INT(send_debug(&f, false, longmsg, "en"), 0);
	CHECK_EQ_INT(send_debug(&f, true, "", ""), 0);
	CHECK(!dssh_conn_closing(f.c));
	/* No reply at all (no UNIMPLEMENTED, no DISCONNECT). */
	CHECK_EQ_INT(tc_recv(f.t, &f.msg), DSSH_ERR_MSG_INCOMPLETE);
	data_roundtrip(&f, 40);
	/* Allowed in a rekey too, between the client's KEXINIT and NEWKEYS. */
	{
		struct dssh_buf k;
		const char *lists[KEX_SLOTS] = {
			"curve25519-sha256", "ssh-ed25519", "aes128-gcm@openssh.com",
			"aes128-gcm@openssh.com", "hmac-sha2-256", "hmac-sha2-256", "none", "none",
			"", "",
		};

		dssh_buf_init(&k, 0);
		dssh_kexinit_build(&k, lists);
		CHECK_EQ_INT(tc_sendb(f.t, &k), 0);
		CHECK_EQ_INT(send_debug(&f, true, "during the rekey", ""), 0);
		dssh_buf_reset(&f.t->i_c);
		dssh_buf_put(&f.t->i_c, dssh_buf_ptr(&k), dssh_buf_len(&k));
		f.t->kexinit_sent = true;
		CHECK_EQ_INT(tc_kex(f.t), 0);
		dssh_buf_free(&k);
	}
	data_roundtrip(&f, 41);
	fx_free(&f);

	/* Before the first NEWKEYS without strict KEX: allowed. */
	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", false);
	CHECK_EQ_INT(tc_version(f.t), 0);
	CHECK_EQ_INT(send_debug(&f, false, "before kex", ""), 0);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	fx_free(&f);

	/* Malformed: each ends the connection with PROTOCOL_ERROR. */
	static const uint8_t bad[][12] = {
		{ SSH_MSG_DEBUG },                                   /* nothing */
		{ SSH_MSG_DEBUG, 1 },                                /* no message */
		{ SSH_MSG_DEBUG, 1, 0, 0, 0, 100, 'a', 'b', 'c' },   /* truncated message */
		{ SSH_MSG_DEBUG, 0, 0, 0, 0, 2, 'h', 'i' },          /* no language */
		{ SSH_MSG_DEBUG, 0, 0, 0, 0, 1, 'x', 0, 0, 0, 9, 'e' },   /* truncated language */
	};
	static const size_t bad_len[] = { 1, 2, 9, 8, 12 };

	for (size_t i = 0; i < DSSH_ARRAY_SIZE(bad); i++) {
		fx_init(&f, "curve25519-sha256", "chacha20-poly1305@openssh.com", "hmac-sha2-256",
		    true);
		CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
		tc_drain(f.t);
		tc_send(f.t, bad[i], bad_len[i]);
		if (!dssh_conn_closing(f.c))
			fprintf(stderr, "  malformed DEBUG %zu accepted\n", i);
		expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR);
		CHECK_EQ_INT(dssh_buf_len(&f.h.data), 0);
		fx_free(&f);
	}
}

/*
 * Input arrives in whatever pieces TCP makes: packets split anywhere (down to
 * one byte per dssh_conn_input call, inside the length field, the MAC or
 * the tag) and several packets in one call are framed the same.
 */
static void
split_one(const char *cipher, const char *mac)
{
	struct fx f;
	struct dssh_buf w;
	uint8_t d[300];
	uint8_t pkt[320] = { SSH_MSG_CHANNEL_DATA };
	static const uint8_t ign[8] = { SSH_MSG_IGNORE, 0, 0, 0, 3, 'a', 'b', 'c' };

	fprintf(stderr, "  split %s %s\n", cipher, mac);
	fx_init(&f, "curve25519-sha256", cipher, mac, true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	tc_drain(f.t);
	fill(d, sizeof(d), 50);
	dssh_put_u32be(pkt + 1, f.t->chan_remote);
	dssh_put_u32be(pkt + 5, sizeof(d));
	memcpy(pkt + 9, d, sizeof(d));

	/* One packet, one byte per call: nothing is delivered until the last. */
	dssh_buf_init(&w, 0);
	CHECK_EQ_INT(tc_seal(f.t, pkt, 9 + sizeof(d), &w), 0);
	size_t n = dssh_buf_len(&w);
	int early = 0;

	for (size_t i = 0; i < n; i++) {
		CHECK_EQ_INT(tc_feed(f.t, dssh_buf_ptr(&w) + i, 1), 0);
		if (i + 1 < n && dssh_buf_len(&f.h.data) != 0)
			early++;
	}
	CHECK_EQ_INT(early, 0);
	CHECK(!dssh_conn_closing(f.c));
	CHECK_EQ_INT(dssh_buf_len(&f.h.data), sizeof(d));
	CHECK_MEM(dssh_buf_ptr(&f.h.data), d, sizeof(d));

	/* Three packets (IGNORE, DATA, DATA) fed in pieces of 1..7 bytes that
	 * straddle the packet boundaries. */
	dssh_buf_reset(&w);
	dssh_buf_reset(&f.h.data);
	CHECK_EQ_INT(tc_seal(f.t, ign, sizeof(ign), &w), 0);
	CHECK_EQ_INT(tc_seal(f.t, pkt, 9 + sizeof(d), &w), 0);
	CHECK_EQ_INT(tc_seal(f.t, pkt, 9 + sizeof(d), &w), 0);
	n = dssh_buf_len(&w);
	for (size_t i = 0, k = 1; i < n; i += k, k = k % 7 + 1)
		CHECK_EQ_INT(tc_feed(f.t, dssh_buf_ptr(&w) + i, DSSH_MIN(k, n - i)), 0);
	CHECK_EQ_INT(dssh_buf_len(&f.h.data), 2 * sizeof(d));
	CHECK_MEM(dssh_buf_ptr(&f.h.data), d, sizeof(d));
	CHECK_MEM(dssh_buf_ptr(&f.h.data) + sizeof(d), d, sizeof(d));
	/* And all of it in one call. */
	dssh_buf_reset(&w);
	dssh_buf_reset(&f.h.data);
	CHECK_EQ_INT(tc_seal(f.t, pkt, 9 + sizeof(d), &w), 0);
	CHECK_EQ_INT(tc_seal(f.t, ign, sizeof(ign), &w), 0);
	CHECK_EQ_INT(tc_seal(f.t, pkt, 9 + sizeof(d), &w), 0);
	CHECK_EQ_INT(tc_feed(f.t, dssh_buf_ptr(&w), dssh_buf_len(&w)), 0);
	CHECK_EQ_INT(dssh_buf_len(&f.h.data), 2 * sizeof(d));
	CHECK(!dssh_conn_closing(f.c));
	tc_drain(f.t);
	CHECK(!f.t->got_disconnect);
	data_roundtrip(&f, 51);
	dssh_buf_free(&w);
	fx_free(&f);
}

static void
test_split_input(void)
{
	split_one("aes128-gcm@openssh.com", "hmac-sha2-256");
	split_one("chacha20-poly1305@openssh.com", "hmac-sha2-256");
	split_one("aes128-ctr", "hmac-sha2-256");                  /* length in block 0 */
	split_one("aes256-ctr", "hmac-sha2-512-etm@openssh.com");

	/* Before any keys: the version line and the cleartext KEXINIT. */
	struct fx f;
	static const char v[] = "SSH-2.0-dssh_test_client\r\n";   /* tc signs over this */
	struct dssh_buf k;
	const char *lists[KEX_SLOTS] = {
		"curve25519-sha256", "ssh-ed25519", "aes128-gcm@openssh.com",
		"aes128-gcm@openssh.com", "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", "",
	};

	fx_init(&f, "curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", false);
	CHECK_EQ_INT(dssh_conn_start(f.c, f.t->now_ms), 0);
	for (size_t i = 0; i + 1 < sizeof(v); i++)
		CHECK_EQ_INT(tc_feed(f.t, v + i, 1), 0);
	CHECK(!dssh_conn_closing(f.c));
	/* What tc_version would have done after its own line. */
	{
		const uint8_t *p, *nl;
		size_t n;

		dssh_conn_output(f.c, &p, &n);
		nl = memchr(p, '\n', n);
		CHECK(nl != NULL);
		if (nl != NULL) {
			f.t->v_s = dssh_strndup((const char *)p, (size_t)(nl - p) - 1);
			dssh_conn_output_consume(f.c, (size_t)(nl - p) + 1);
		}
	}
	dssh_buf_init(&k, 0);
	dssh_kexinit_build(&k, lists);
	{
		struct dssh_buf w;

		dssh_buf_init(&w, 0);
		CHECK_EQ_INT(tc_seal(f.t, dssh_buf_ptr(&k), dssh_buf_len(&k), &w), 0);
		for (size_t i = 0; i < dssh_buf_len(&w); i++)
			CHECK_EQ_INT(tc_feed(f.t, dssh_buf_ptr(&w) + i, 1), 0);
		dssh_buf_free(&w);
	}
	/* The server took it: the exchange finishes with the KEXINIT reused. */
	dssh_buf_reset(&f.t->i_c);
	dssh_buf_put(&f.t->i_c, dssh_buf_ptr(&k), dssh_buf_len(&k));
	f.t->kexinit_sent = true;
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	dssh_buf_free(&k);
	fx_free(&f);
}

int
main(void)
{
	dssh_log_init("test_engine", getenv("TEST_ENGINE_DEBUG") ? DSSH_LOG_DEBUG3 :
	    DSSH_LOG_QUIET, true);
	if (dssh_crypto_engine_create("openssl", NULL, &engine) != 0 ||
	    dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &hostkey) != 0 ||
	    dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &userkey) != 0 ||
	    dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &otherkey) != 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	DSSH_RUN(test_flows);
	DSSH_RUN(test_client_preference);
	DSSH_RUN(test_no_match);
	DSSH_RUN(test_bad_mac);
	DSSH_RUN(test_bad_length);
	DSSH_RUN(test_bad_padding);
	DSSH_RUN(test_strict_kex);
	DSSH_RUN(test_version);
	DSSH_RUN(test_chan_before_auth);
	DSSH_RUN(test_window);
	DSSH_RUN(test_window_size);
	DSSH_RUN(test_bad_signature);
	DSSH_RUN(test_max_auth_tries);
	DSSH_RUN(test_unimplemented);
	DSSH_RUN(test_rekey_client);
	DSSH_RUN(test_rekey_server);
	DSSH_RUN(test_data_during_kex);
	DSSH_RUN(test_password);
	DSSH_RUN(test_banner);
	DSSH_RUN(test_log_peer);
	DSSH_RUN(test_host_close);
	DSSH_RUN(test_wrong_guess);
	DSSH_RUN(test_client_alive);
	DSSH_RUN(test_deferred_during_rekey);
	DSSH_RUN(test_channel_limits);
	DSSH_RUN(test_many_channels);
	DSSH_RUN(test_direct_open);
	DSSH_RUN(test_open_to_client);
	DSSH_RUN(test_global_requests);
	DSSH_RUN(test_chan_garbage);
	DSSH_RUN(test_bad_kex_values);
	DSSH_RUN(test_hostkey_choice);
	DSSH_RUN(test_user_key_types);
	DSSH_RUN(test_session_requests);
	DSSH_RUN(test_rekey_time);
	DSSH_RUN(test_auth_during_rekey);
	DSSH_RUN(test_debug_msg);
	DSSH_RUN(test_split_input);
	DSSH_RUN(test_auth_methods);
	DSSH_RUN(test_kbdint);
	dssh_sshkey_free(hostkey);
	dssh_sshkey_free(userkey);
	dssh_sshkey_free(otherkey);
	dssh_crypto_engine_free(engine);
	DSSH_TEST_END();
}
