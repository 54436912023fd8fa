/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Both roles of the engine in one process: a client dssh_conn talks to a
 * server dssh_conn, bytes moved between them by hand. Every key exchange x
 * cipher (x MAC for the non-AEAD ones) x host-key type: the client's half
 * of each method against the server's, the key letters of each side, the
 * host-key signature check, strict KEX, EXT_INFO, publickey and password
 * userauth, an exec channel with data both ways, stderr and exit status,
 * a client- and a server-initiated rekey, and a refused host key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_crypto.h"
#include "dssh_err.h"
#include "dssh_kex.h"
#include "dssh_log.h"
#include "dssh_ssh.h"
#include "dssh_sshkey.h"
#include "dssh_test.h"
#include "dssh_util.h"

static struct dssh_crypto_engine *engine;

struct side {
	struct dssh_conn *c;
	struct dssh_buf data, ext;
	uint32_t chan;
	bool have_chan, open_ok, req_ok, req_answered, eof, closed, authed;
	int exit_status;
	unsigned hostkey_calls;
	int hostkey_verdict;
	/* client auth script */
	const struct dssh_sshkey *key;
	const char *password;
	unsigned attempts;
	char methods[128];
	/* server */
	struct dssh_buf good_blob;
	const char *good_password;
	uint8_t seen_blob[1024];
	size_t seen_len;
	/* server: the last direct-tcpip open (dssh-load -w forward's) */
	char open_host[64], open_orig[64];
	uint32_t open_port, open_orig_port;
	int open_verdict;
};

/* ---- server host ---- */

static int
s_auth_pubkey(void *hp, const char *user, const uint8_t *blob, size_t len, bool final)
{
	struct side *s = hp;

	(void)final;
	return strcmp(user, "alice") == 0 && len == dssh_buf_len(&s->good_blob) &&
	    memcmp(blob, dssh_buf_ptr(&s->good_blob), len) == 0 ? 0 : -1;
}

static int
s_auth_password(void *hp, const char *user, const char *pw)
{
	struct side *s = hp;

	return strcmp(user, "alice") == 0 && s->good_password != NULL &&
	    strcmp(pw, s->good_password) == 0 ? 0 : -1;
}

static void
s_auth_success(void *hp, const char *user, enum dssh_auth_method m)
{
	struct side *s = hp;

	(void)user;
	(void)m;
	s->authed = true;
}

static int
s_session_open(void *hp, uint32_t chan)
{
	struct side *s = hp;

	s->chan = chan;
	s->have_chan = true;
	return 0;
}

static int
s_channel_open(void *hp, uint32_t chan, const struct dssh_chan_open *o)
{
	struct side *s = hp;

	if (o->kind != DSSH_CHAN_DIRECT_TCPIP)
		return DSSH_ERR_PERMISSION;
	snprintf(s->open_host, sizeof(s->open_host), "%s", o->host);
	snprintf(s->open_orig, sizeof(s->open_orig), "%s", o->orig_host);
	s->open_port = o->port;
	s->open_orig_port = o->orig_port;
	s->chan = chan;
	s->have_chan = s->open_verdict == 0;
	return s->open_verdict;
}

static int
s_session_request(void *hp, uint32_t chan, const struct dssh_session_req *req)
{
	struct side *s = hp;

	(void)chan;
	if (req->type == DSSH_REQ_EXEC && strcmp(req->command, "fail") == 0)
		return -1;
	s->req_ok = req->type == DSSH_REQ_EXEC && strcmp(req->command, "echo") == 0;
	return 0;
}

static void
both_data(void *hp, uint32_t chan, const uint8_t *p, size_t n)
{
	struct side *s = hp;

	dssh_buf_put(&s->data, p, n);
	dssh_chan_consumed(s->c, chan, n);
}

static void
both_eof(void *hp, uint32_t chan)
{
	struct side *s = hp;

	(void)chan;
	s->eof = true;
}

static void
both_closed(void *hp, uint32_t chan)
{
	struct side *s = hp;

	(void)chan;
	s->closed = true;
}

static const struct dssh_conn_host_ops server_ops = {
	.auth_pubkey = s_auth_pubkey,
	.auth_password = s_auth_password,
	.auth_success = s_auth_success,
	.session_open = s_session_open,
	.session_request = s_session_request,
	.channel_open = s_channel_open,
	.channel_data = both_data,
	.channel_eof = both_eof,
	.channel_closed = both_closed,
};

/* ---- client host ---- */

static int
c_verify_hostkey(void *hp, const char *alg, const uint8_t *blob, size_t len)
{
	struct side *s = hp;

	(void)alg;
	s->hostkey_calls++;
	if (len <= sizeof(s->seen_blob)) {
		memcpy(s->seen_blob, blob, len);
		s->seen_len = len;
	}
	return s->hostkey_verdict;
}

static int
c_auth_next(void *hp, const char *methods, struct dssh_client_auth *a)
{
	struct side *s = hp;

	snprintf(s->methods, sizeof(s->methods), "%s", methods);
	s->attempts++;
	if (s->attempts == 1 && s->key != NULL && strstr(methods, "publickey") != NULL) {
		a->method = DSSH_AUTH_PUBLICKEY;
		a->key = s->key;
		return 0;
	}
	if (s->attempts <= 2 && s->password != NULL && strstr(methods, "password") != NULL) {
		a->method = DSSH_AUTH_PASSWORD;
		a->password = s->password;
		return 0;
	}
	return -1;
}

static void
c_auth_success(void *hp, const char *user, enum dssh_auth_method m)
{
	struct side *s = hp;

	(void)user;
	(void)m;
	s->authed = true;
}

static void
c_open_result(void *hp, uint32_t chan, uint32_t reason)
{
	struct side *s = hp;

	s->chan = chan;
	s->have_chan = true;
	s->open_ok = reason == 0;
}

static void
c_ext_data(void *hp, uint32_t chan, const uint8_t *p, size_t n)
{
	struct side *s = hp;

	dssh_buf_put(&s->ext, p, n);
	dssh_chan_consumed(s->c, chan, n);
}

static void
c_request_result(void *hp, uint32_t chan, bool ok)
{
	struct side *s = hp;

	(void)chan;
	s->req_answered = true;
	s->req_ok = ok;
}

static void
c_exit(void *hp, uint32_t chan, int status, const char *sig)
{
	struct side *s = hp;

	(void)chan;
	(void)sig;
	s->exit_status = status;
}

static const struct dssh_conn_host_ops client_ops = {
	.auth_success = c_auth_success,
	.channel_data = both_data,
	.channel_eof = both_eof,
	.channel_closed = both_closed,
	.channel_open_result = c_open_result,
	.verify_hostkey = c_verify_hostkey,
	.auth_next = c_auth_next,
	.channel_ext_data = c_ext_data,
	.channel_request_result = c_request_result,
	.channel_exit = c_exit,
};

/* ---- the pair ---- */

struct pair {
	struct dssh_ssh_conf sconf, cconf;
	struct dssh_ssh_hostkey hk;
	struct dssh_sshkey *hostkey, *userkey;
	struct side s, cl;
	int cerr, serr;
};

static void
move(struct dssh_conn *from, struct dssh_conn *to, int *err)
{
	const uint8_t *p;
	size_t n;

	dssh_conn_output(from, &p, &n);
	if (n == 0)
		return;
	/* Small pieces now and then: the reader copes with any split. */
	size_t piece = n > 7 && (n & 1) ? n / 2 : n;
	int r = dssh_conn_input(to, p, piece, 1000);

	dssh_conn_output_consume(from, piece);
	if (r != 0 && *err == 0)
		*err = r;
}

static void
pump(struct pair *pp)
{
	for (int i = 0; i < 2000; i++) {
		size_t a = dssh_conn_output_pending(pp->cl.c), b = dssh_conn_output_pending(pp->s.c);

		if (a == 0 && b == 0)
			return;
		move(pp->cl.c, pp->s.c, &pp->serr);
		move(pp->s.c, pp->cl.c, &pp->cerr);
	}
}

static enum dssh_sshkey_type
key_type_of(const char *alg)
{
	return dssh_sshkey_sig_alg_key_type(alg);
}

static int
pair_new(struct pair *pp, const char *kex, const char *cipher, const char *mac, const char *hkalg)
{
	memset(pp, 0, sizeof(*pp));
	if (dssh_sshkey_generate(key_type_of(hkalg), 2048, &pp->hostkey) != 0 ||
	    dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &pp->userkey) != 0)
		return -1;
	pp->hk.alg = hkalg;
	pp->hk.key = pp->hostkey;
	pp->sconf = (struct dssh_ssh_conf){
		.kex_algs = dssh_kex_alg_names(), .cipher_algs = dssh_cipher_names(),
		.mac_algs = dssh_mac_names(),
		.pubkey_algs = "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
		.hostkeys = &pp->hk, .n_hostkeys = 1, .max_auth_tries = 6,
		.pubkey_auth = true, .password_auth = true, .engine = engine,
	};
	pp->cconf = (struct dssh_ssh_conf){
		.role = DSSH_ROLE_CLIENT, .kex_algs = kex, .cipher_algs = cipher,
		.mac_algs = mac, .hostkey_algs = hkalg, .user = "alice", .engine = engine,
	};
	dssh_buf_init(&pp->s.data, 0);
	dssh_buf_init(&pp->s.ext, 0);
	dssh_buf_init(&pp->cl.data, 0);
	dssh_buf_init(&pp->cl.ext, 0);
	dssh_buf_init(&pp->s.good_blob, 0);
	dssh_sshkey_public_blob(pp->userkey, &pp->s.good_blob);
	pp->cl.key = pp->userkey;
	pp->cl.exit_status = -2;
	if (dssh_conn_new(&pp->sconf, &server_ops, &pp->s, "server", &pp->s.c) != 0 ||
	    dssh_conn_new(&pp->cconf, &client_ops, &pp->cl, "client", &pp->cl.c) != 0)
		return -1;
	if (dssh_conn_start(pp->s.c, 1000) != 0 || dssh_conn_start(pp->cl.c, 1000) != 0)
		return -1;
	return 0;
}

static void
pair_free(struct pair *pp)
{
	dssh_conn_free(pp->s.c);
	dssh_conn_free(pp->cl.c);
	dssh_sshkey_free(pp->hostkey);
	dssh_sshkey_free(pp->userkey);
	dssh_buf_free(&pp->s.data);
	dssh_buf_free(&pp->s.ext);
	dssh_buf_free(&pp->cl.data);
	dssh_buf_free(&pp->cl.ext);
	dssh_buf_free(&pp->s.good_blob);
}

/* Open a session and exec "echo"; the server answers with data, stderr, status. */
static void
exec_roundtrip(struct pair *pp, const char *what)
{
	struct dssh_chan_open o = { .kind = DSSH_CHAN_SESSION };
	struct dssh_session_req req = { .type = DSSH_REQ_EXEC, .command = "echo" };
	uint32_t cch;
	static const uint8_t up[] = "to the server", down[] = "to the client", err[] = "err";

	CHECK_EQ_INT(dssh_chan_open(pp->cl.c, &o, &cch), 0);
	pump(pp);
	CHECK(pp->cl.open_ok);
	CHECK(pp->s.have_chan);
	CHECK_EQ_INT(dssh_chan_request(pp->cl.c, cch, &req, true), 0);
	pump(pp);
	CHECK(pp->cl.req_answered);
	CHECK(pp->cl.req_ok);
	CHECK_EQ_INT(dssh_chan_send(pp->cl.c, cch, up, sizeof(up), false), sizeof(up));
	CHECK_EQ_INT(dssh_chan_send_eof(pp->cl.c, cch), 0);
	pump(pp);
	CHECK_EQ_INT(dssh_chan_send(pp->s.c, pp->s.chan, down, sizeof(down), false), sizeof(down));
	CHECK_EQ_INT(dssh_chan_send(pp->s.c, pp->s.chan, err, sizeof(err), true), sizeof(err));
	CHECK_EQ_INT(dssh_chan_exit_status(pp->s.c, pp->s.chan, 3), 0);
	CHECK_EQ_INT(dssh_chan_send_eof(pp->s.c, pp->s.chan), 0);
	CHECK_EQ_INT(dssh_chan_close(pp->s.c, pp->s.chan), 0);
	pump(pp);
	CHECK(pp->s.eof);
	CHECK_EQ_INT(dssh_buf_len(&pp->s.data), sizeof(up));
	CHECK_MEM(dssh_buf_ptr(&pp->s.data), up, sizeof(up));
	CHECK_EQ_INT(dssh_buf_len(&pp->cl.data), sizeof(down));
	CHECK_MEM(dssh_buf_ptr(&pp->cl.data), down, sizeof(down));
	CHECK_EQ_INT(dssh_buf_len(&pp->cl.ext), sizeof(err));
	CHECK_EQ_INT(pp->cl.exit_status, 3);
	CHECK(pp->cl.eof);
	CHECK(pp->cl.closed);
	CHECK_EQ_INT(dssh_chan_close(pp->cl.c, cch), 0);
	pump(pp);
	CHECK_EQ_INT(dssh_chan_count(pp->cl.c), 0);
	CHECK_EQ_INT(dssh_chan_count(pp->s.c), 0);
	if (pp->cerr || pp->serr)
		fprintf(stderr, "  %s: client %d server %d\n", what, pp->cerr, pp->serr);
	dssh_buf_reset(&pp->s.data);
	dssh_buf_reset(&pp->cl.data);
	dssh_buf_reset(&pp->cl.ext);
	pp->s.eof = pp->cl.eof = pp->cl.closed = pp->s.closed = false;
	pp->cl.req_answered = false;
	pp->s.have_chan = false;
}

static void
one_combo(const char *kex, const char *cipher, const char *mac, const char *hkalg)
{
	struct pair pp;
	struct dssh_conn_stats cs, ss;
	char what[256];

	snprintf(what, sizeof(what), "%s %s %s %s", kex, cipher, mac, hkalg);
	CHECK_EQ_INT(pair_new(&pp, kex, cipher, mac, hkalg), 0);
	pump(&pp);
	CHECK_EQ_INT(pp.cerr, 0);
	CHECK_EQ_INT(pp.serr, 0);
	CHECK(pp.cl.authed);
	CHECK(pp.s.authed);
	CHECK_EQ_INT(pp.cl.hostkey_calls, 1);
	dssh_conn_get_stats(pp.cl.c, &cs);
	dssh_conn_get_stats(pp.s.c, &ss);
	CHECK_STR(cs.kex_alg, kex);
	CHECK_STR(ss.kex_alg, kex);
	CHECK_STR(cs.cipher_out, cipher);
	CHECK_STR(ss.cipher_in, cipher);
	CHECK_STR(cs.hostkey_alg, hkalg);
	CHECK(cs.strict_kex);
	CHECK(ss.strict_kex);
	/* The blob the client saw is the server's key. */
	{
		struct dssh_buf b;

		dssh_buf_init(&b, 0);
		dssh_sshkey_public_blob(pp.hostkey, &b);
		CHECK_EQ_INT(pp.cl.seen_len, dssh_buf_len(&b));
		CHECK_MEM(pp.cl.seen_blob, dssh_buf_ptr(&b), dssh_buf_len(&b));
		dssh_buf_free(&b);
	}
	exec_roundtrip(&pp, what);
	if (dssh_test_failures > 0)
		fprintf(stderr, "  combo: %s\n", what);
	pair_free(&pp);
}

static void
test_matrix(void)
{
	static const char *const kexes[] = {
		"mlkem768x25519-sha256", "sntrup761x25519-sha512",
		"sntrup761x25519-sha512@openssh.com", "curve25519-sha256",
		"curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
		"ecdh-sha2-nistp521", "diffie-hellman-group14-sha256",
		"diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512",
	};
	static const char *const hks[] = {
		"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
		"ecdsa-sha2-nistp521", "rsa-sha2-256", "rsa-sha2-512",
	};
	static const char *const ciphers[] = {
		"chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
		"aes128-ctr", "aes192-ctr", "aes256-ctr",
	};
	static const char *const macs[] = {
		"hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
		"umac-64-etm@openssh.com", "umac-128-etm@openssh.com", "hmac-sha2-256",
		"hmac-sha2-512",
	};
	int before = dssh_test_failures;

	/* Every KEX with every host-key type (one cipher), every cipher and
	 * MAC with one KEX: the product of all would add nothing but time. */
	for (size_t k = 0; k < DSSH_ARRAY_SIZE(kexes); k++)
		for (size_t h = 0; h < DSSH_ARRAY_SIZE(hks); h++)
			one_combo(kexes[k], ciphers[(k + h) % DSSH_ARRAY_SIZE(ciphers)],
			    macs[(k + h) % DSSH_ARRAY_SIZE(macs)], hks[h]);
	for (size_t ci = 0; ci < DSSH_ARRAY_SIZE(ciphers); ci++)
		for (size_t m = 0; m < DSSH_ARRAY_SIZE(macs); m++)
			one_combo("curve25519-sha256", ciphers[ci], macs[m], "ssh-ed25519");
	CHECK_EQ_INT(dssh_test_failures, before);
}

/* The client's preference wins (RFC 4253 7.1), whatever the server's order. */
static void
test_client_order(void)
{
	struct pair pp;
	struct dssh_conn_stats cs;

	CHECK_EQ_INT(pair_new(&pp, "diffie-hellman-group14-sha256,curve25519-sha256",
	    "aes256-ctr,chacha20-poly1305@openssh.com", "hmac-sha2-512,hmac-sha2-256",
	    "ssh-ed25519"), 0);
	pump(&pp);
	dssh_conn_get_stats(pp.cl.c, &cs);
	CHECK_STR(cs.kex_alg, "diffie-hellman-group14-sha256");
	CHECK_STR(cs.cipher_out, "aes256-ctr");
	CHECK_STR(cs.mac_out, "hmac-sha2-512");
	pair_free(&pp);
}

static void
test_hostkey_refused(void)
{
	struct pair pp;

	CHECK_EQ_INT(pair_new(&pp, "curve25519-sha256", "aes128-ctr", "hmac-sha2-256",
	    "ssh-ed25519"), 0);
	pp.cl.hostkey_verdict = DSSH_ERR_PERMISSION;
	pump(&pp);
	CHECK(pp.cerr != 0);
	CHECK(dssh_conn_closing(pp.cl.c));
	CHECK(!pp.cl.authed);
	CHECK(!pp.s.authed);
	pair_free(&pp);
}

static void
test_password_and_failure(void)
{
	struct pair pp;

	/* A key the server does not know, then the password. */
	CHECK_EQ_INT(pair_new(&pp, "curve25519-sha256", "chacha20-poly1305@openssh.com", "",
	    "ssh-ed25519"), 0);
	dssh_buf_reset(&pp.s.good_blob);
	pp.cl.password = "secret";
	pp.s.good_password = "secret";
	pump(&pp);
	CHECK(pp.cl.authed);
	CHECK_EQ_INT(pp.cl.attempts, 2);
	CHECK(strstr(pp.cl.methods, "password") != NULL);
	pair_free(&pp);

	/* Nothing works: the client gives up with the server's list. */
	CHECK_EQ_INT(pair_new(&pp, "curve25519-sha256", "chacha20-poly1305@openssh.com", "",
	    "ssh-ed25519"), 0);
	dssh_buf_reset(&pp.s.good_blob);
	pp.cl.password = "wrong";
	pp.s.good_password = "secret";
	pump(&pp);
	CHECK(!pp.cl.authed);
	CHECK(dssh_conn_closing(pp.cl.c));
	CHECK_EQ_INT(pp.cerr, DSSH_ERR_PERMISSION);
	pair_free(&pp);
}

/* RSA user key: rsa-sha2-512 (the server's server-sig-algs lists it). */
static void
test_rsa_userkey(void)
{
	struct pair pp;

	CHECK_EQ_INT(pair_new(&pp, "curve25519-sha256", "aes128-gcm@openssh.com", "",
	    "ssh-ed25519"), 0);
	dssh_sshkey_free(pp.userkey);
	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_RSA, 2048, &pp.userkey), 0);
	pp.cl.key = pp.userkey;
	dssh_buf_reset(&pp.s.good_blob);
	dssh_sshkey_public_blob(pp.userkey, &pp.s.good_blob);
	pp.sconf.pubkey_algs = "rsa-sha2-256";   /* only SHA-256: the client follows */
	pump(&pp);
	CHECK(pp.cl.authed);
	pair_free(&pp);
}

static void
test_exec_refused(void)
{
	struct pair pp;
	struct dssh_chan_open o = { .kind = DSSH_CHAN_SESSION };
	struct dssh_session_req req = { .type = DSSH_REQ_EXEC, .command = "fail" };
	uint32_t cch;

	CHECK_EQ_INT(pair_new(&pp, "curve25519-sha256", "aes128-ctr", "hmac-sha2-256",
	    "ssh-ed25519"), 0);
	pump(&pp);
	CHECK_EQ_INT(dssh_chan_open(pp.cl.c, &o, &cch), 0);
	pump(&pp);
	CHECK_EQ_INT(dssh_chan_request(pp.cl.c, cch, &req, true), 0);
	pump(&pp);
	CHECK(pp.cl.req_answered);
	CHECK(!pp.cl.req_ok);
	pair_free(&pp);
}

/* Rekeys started by either side, with data after each. */
static void
test_rekey(void)
{
	static const char *const kexes[] = {
		"curve25519-sha256", "mlkem768x25519-sha256", "diffie-hellman-group14-sha256",
		"ecdh-sha2-nistp384",
	};

	for (size_t k = 0; k < DSSH_ARRAY_SIZE(kexes); k++) {
		struct pair pp;
		struct dssh_conn_stats cs, ss;

		CHECK_EQ_INT(pair_new(&pp, kexes[k], "aes256-gcm@openssh.com", "",
		    "ecdsa-sha2-nistp256"), 0);
		pp.cconf.rekey_bytes = 16 * 1024;
		pump(&pp);
		CHECK(pp.cl.authed);
		exec_roundtrip(&pp, "before");
		/* Past the client's limit: it starts a key exchange. */
		{
			struct dssh_chan_open o = { .kind = DSSH_CHAN_SESSION };
			struct dssh_session_req req = { .type = DSSH_REQ_EXEC, .command = "echo" };
			static uint8_t blk[8192];
			uint32_t cch;

			CHECK_EQ_INT(dssh_chan_open(pp.cl.c, &o, &cch), 0);
			pump(&pp);
			CHECK_EQ_INT(dssh_chan_request(pp.cl.c, cch, &req, true), 0);
			pump(&pp);
			for (int i = 0; i < 8; i++) {
				size_t n = dssh_chan_send(pp.cl.c, cch, blk, sizeof(blk), false);

				pump(&pp);
				dssh_conn_tick(pp.cl.c, 2000);
				pump(&pp);
				if (n == 0)
					n = dssh_chan_send(pp.cl.c, cch, blk, sizeof(blk), false);
				CHECK_EQ_INT(n, sizeof(blk));
			}
			pump(&pp);
			CHECK_EQ_INT(dssh_buf_len(&pp.s.data), 8 * sizeof(blk));
			dssh_chan_close(pp.cl.c, cch);
			pump(&pp);
			dssh_buf_reset(&pp.s.data);
			pp.s.closed = pp.cl.closed = false;
			pp.cl.req_answered = false;
		}
		dssh_conn_get_stats(pp.cl.c, &cs);
		CHECK(cs.kex_count >= 2);
		/* The server starts one (by time). */
		pp.sconf.rekey_seconds = 1;
		dssh_conn_tick(pp.s.c, 10 * 1000 * 1000);
		pump(&pp);
		dssh_conn_get_stats(pp.s.c, &ss);
		CHECK(ss.kex_count > cs.kex_count);
		exec_roundtrip(&pp, "after");
		CHECK_EQ_INT(pp.cl.hostkey_calls, 1);
		CHECK_EQ_INT(pp.cerr, 0);
		CHECK_EQ_INT(pp.serr, 0);
		pair_free(&pp);
	}
}

/*
 * The client opens direct-tcpip (RFC 4254 7.2, as ssh -L does): the
 * server reads the target and the originator back, bytes cross, and a
 * refusal reaches the client's open result.
 */
static void
test_direct_tcpip(void)
{
	struct dssh_chan_open o = { .kind = DSSH_CHAN_DIRECT_TCPIP, .host = "sink.example",
		.port = 9, .orig_host = "192.0.2.7", .orig_port = 40001 };
	static const uint8_t up[] = "forwarded bytes";
	struct pair pp;
	uint32_t cch;

	CHECK_EQ_INT(pair_new(&pp, "curve25519-sha256", "aes128-gcm@openssh.com", "",
	    "ssh-ed25519"), 0);
	pump(&pp);
	CHECK(pp.cl.authed);
	CHECK_EQ_INT(dssh_chan_open(pp.cl.c, &o, &cch), 0);
	pump(&pp);
	CHECK(pp.cl.open_ok);
	CHECK(pp.s.have_chan);
	CHECK_STR(pp.s.open_host, "sink.example");
	CHECK_EQ_INT(pp.s.open_port, 9);
	CHECK_STR(pp.s.open_orig, "192.0.2.7");
	CHECK_EQ_INT(pp.s.open_orig_port, 40001);
	CHECK_EQ_INT(dssh_chan_send(pp.cl.c, cch, up, sizeof(up), false), sizeof(up));
	pump(&pp);
	CHECK_EQ_INT(dssh_buf_len(&pp.s.data), sizeof(up));
	CHECK_MEM(dssh_buf_ptr(&pp.s.data), up, sizeof(up));
	CHECK_EQ_INT(dssh_chan_close(pp.cl.c, cch), 0);
	pump(&pp);
	/* Refused (administratively prohibited): the client hears reason 1. */
	pp.s.open_verdict = DSSH_ERR_PERMISSION;
	pp.cl.open_ok = true;
	o.orig_host = NULL;           /* the client fills in 127.0.0.1 */
	CHECK_EQ_INT(dssh_chan_open(pp.cl.c, &o, &cch), 0);
	pump(&pp);
	CHECK(!pp.cl.open_ok);
	CHECK_STR(pp.s.open_orig, "127.0.0.1");
	CHECK_EQ_INT(pp.cerr, 0);
	CHECK_EQ_INT(pp.serr, 0);
	pair_free(&pp);
}

int
main(void)
{
	dssh_log_init("test_roles", getenv("TEST_ROLES_DEBUG") ? DSSH_LOG_DEBUG3 : DSSH_LOG_QUIET,
	    true);
	if (dssh_crypto_engine_create("openssl", NULL, &engine) != 0) {
		fprintf(stderr, "no engine\n");
		return 1;
	}
	DSSH_RUN(test_client_order);
	DSSH_RUN(test_hostkey_refused);
	DSSH_RUN(test_password_and_failure);
	DSSH_RUN(test_rsa_userkey);
	DSSH_RUN(test_exec_refused);
	DSSH_RUN(test_direct_tcpip);
	DSSH_RUN(test_rekey);
	DSSH_RUN(test_matrix);
	dssh_crypto_engine_free(engine);
	DSSH_TEST_END();
}
