/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/client over a transport of its own (dssh_client_opts.transport), the
 * way the DPDK client data plane plugs in, without DPDK: the transport's
 * stream is an in-process server dssh_conn (the engine's server role), and
 * its poll runs that server. Checks: no descriptor (dssh_client_fd -1), the
 * blocking connect/session calls and dssh_client_wait driven only by the
 * transport's poll, an exec with data both ways and the exit status, short
 * writes, a host key that does not match known_hosts refused, and a
 * transport that cannot connect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dssh_buf.h"
#include "dssh_client.h"
#include "dssh_crypto.h"
#include "dssh_err.h"
#include "dssh_kex.h"
#include "dssh_known_hosts.h"
#include "dssh_log.h"
#include "dssh_ssh.h"
#include "dssh_sshkey.h"
#include "dssh_stream.h"
#include "dssh_test.h"

#define HOST "198.18.9.1"
#define PORT 2200

static struct dssh_crypto_engine *engine;
static const uint8_t down_msg[] = "from the server";

/* The far end: a server dssh_conn, its host callbacks, and the stream. */
struct fake {
	struct dssh_stream s;
	struct dssh_conn *srv;
	struct dssh_ssh_conf conf;
	struct dssh_ssh_hostkey hk;
	struct dssh_buf user_blob, got;
	uint32_t chan;
	bool exec, answered, got_eof, refuse_connect, closed, whole_writes;
	unsigned polls, writes, short_writes, auth_calls;
	unsigned idle_waits;            /* waits with time and nothing to read */
};

static int
s_auth_pubkey(void *arg, const char *user, const uint8_t *blob, size_t len, bool final)
{
	struct fake *f = arg;

	(void)final;
	f->auth_calls++;
	return strcmp(user, "alice") == 0 && len == dssh_buf_len(&f->user_blob) &&
	    memcmp(blob, dssh_buf_ptr(&f->user_blob), len) == 0 ? 0 : DSSH_ERR_PERMISSION;
}

static int
s_session_open(void *arg, uint32_t chan)
{
	struct fake *f = arg;

	f->chan = chan;
	return 0;
}

static int
s_session_request(void *arg, uint32_t chan, const struct dssh_session_req *req)
{
	struct fake *f = arg;

	(void)chan;
	f->exec = req->type == DSSH_REQ_EXEC && strcmp(req->command, "echo") == 0;
	return f->exec ? 0 : DSSH_ERR_PERMISSION;
}

static void
s_data(void *arg, uint32_t chan, const uint8_t *p, size_t n)
{
	struct fake *f = arg;

	dssh_buf_put(&f->got, p, n);
	dssh_chan_consumed(f->srv, chan, n);
}

static void
s_eof(void *arg, uint32_t chan)
{
	struct fake *f = arg;

	(void)chan;
	f->got_eof = true;
}

static void
s_closed(void *arg, uint32_t chan)
{
	(void)arg;
	(void)chan;
}

static const struct dssh_conn_host_ops server_ops = {
	.auth_pubkey = s_auth_pubkey,
	.session_open = s_session_open,
	.session_request = s_session_request,
	.channel_data = s_data,
	.channel_eof = s_eof,
	.channel_closed = s_closed,
};

/* ---- the stream: the server's output is what the client reads ---- */

static size_t
f_peek(struct dssh_stream *s, const uint8_t **p)
{
	struct fake *f = (struct fake *)s;
	size_t n;

	dssh_conn_output(f->srv, p, &n);
	return n;
}

static void
f_consume(struct dssh_stream *s, size_t n)
{
	struct fake *f = (struct fake *)s;

	dssh_conn_output_consume(f->srv, n);
}

/* Every other write is cut short, and some take nothing: the client must
 * keep the rest and send it later. */
static ssize_t
f_write(struct dssh_stream *s, const void *p, size_t n)
{
	struct fake *f = (struct fake *)s;
	size_t take = n;

	if (f->closed)
		return -1;
	if (f->whole_writes) {
		if (dssh_conn_input(f->srv, p, n, 1000) != 0)
			f->closed = true;
		return (ssize_t)n;
	}
	if (++f->writes % 3 == 0)
		return 0;
	if (n > 1 && f->writes % 2 == 0) {
		take = n / 2;
		f->short_writes++;
	}
	if (dssh_conn_input(f->srv, p, take, 1000) != 0)
		f->closed = true;
	return (ssize_t)take;
}

static bool
f_eof(struct dssh_stream *s)
{
	struct fake *f = (struct fake *)s;

	return f->closed && dssh_conn_output_pending(f->srv) == 0;
}

static void
f_want(struct dssh_stream *s, bool r, bool w)
{
	(void)s;
	(void)r;
	(void)w;
}

static void
f_close(struct dssh_stream *s)
{
	struct fake *f = (struct fake *)s;

	f->closed = true;
}

static const struct dssh_stream_ops fake_ops = {
	.peek = f_peek, .consume = f_consume, .write = f_write, .eof = f_eof,
	.want = f_want, .close = f_close,
};

/* ---- the transport ---- */

static int
t_connect(void *arg, const char *host, int port, unsigned timeout_s, struct dssh_stream **out)
{
	struct fake *f = arg;

	(void)timeout_s;
	CHECK(strcmp(host, HOST) == 0);
	CHECK_EQ_INT(port, PORT);
	if (f->refuse_connect)
		return DSSH_ERR_CONN_CLOSED;
	*out = &f->s;
	return 0;
}

/* The server's loop: once the exec was accepted, it answers, once. */
static int
t_poll(void *arg, struct dssh_stream *s, int timeout_ms)
{
	struct fake *f = arg;

	CHECK(s == &f->s);
	f->polls++;
	/* A real transport would sit out timeout_ms here. */
	if (timeout_ms > 0 && dssh_conn_output_pending(f->srv) == 0)
		f->idle_waits++;
	if (f->exec && f->got_eof && !f->answered) {
		f->answered = true;
		CHECK_EQ_INT(dssh_chan_send(f->srv, f->chan, down_msg, sizeof(down_msg), false),
		    sizeof(down_msg));
		CHECK_EQ_INT(dssh_chan_exit_status(f->srv, f->chan, 7), 0);
		CHECK_EQ_INT(dssh_chan_send_eof(f->srv, f->chan), 0);
		CHECK_EQ_INT(dssh_chan_close(f->srv, f->chan), 0);
	}
	return 0;
}

/* ---- the tool's side ---- */

struct tool {
	struct dssh_client *cl;
	struct dssh_buf data;
	int status;
	bool closed;
};

static void
c_data(void *arg, uint32_t chan, const uint8_t *p, size_t n, bool ext)
{
	struct tool *t = arg;

	CHECK(!ext);
	dssh_buf_put(&t->data, p, n);
	dssh_client_consumed(t->cl, chan, n);
}

static void
c_exit(void *arg, uint32_t chan, int status, const char *sig)
{
	struct tool *t = arg;

	(void)chan;
	CHECK(sig == NULL);
	t->status = status;
}

static void
c_closed(void *arg, uint32_t chan)
{
	struct tool *t = arg;

	t->closed = true;
	dssh_chan_close(dssh_client_conn(t->cl), chan);
}

static const struct dssh_client_chan_ops tool_ops = {
	.data = c_data, .exit = c_exit, .closed = c_closed,
};

struct setup {
	char dir[64], kh[128], id[128];
	struct dssh_sshkey *hostkey, *userkey, *other;
	struct fake f;
	struct dssh_client_transport tr;
	struct dssh_client_opts o;
};

/* known_hosts gets the server's key (good) or another one. */
static void
setup_new(struct setup *su, bool good)
{
	struct dssh_buf b;

	memset(su, 0, sizeof(*su));
	snprintf(su->dir, sizeof(su->dir), "/tmp/dssh-test-transport-XXXXXX");
	CHECK(mkdtemp(su->dir) != NULL);
	snprintf(su->kh, sizeof(su->kh), "%s/known_hosts", su->dir);
	snprintf(su->id, sizeof(su->id), "%s/id_ed25519", su->dir);
	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &su->hostkey), 0);
	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &su->userkey), 0);
	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &su->other), 0);
	CHECK_EQ_INT(dssh_sshkey_save_private(su->userkey, su->id, "test"), 0);
	dssh_buf_init(&b, 0);
	CHECK_EQ_INT(dssh_sshkey_public_blob(good ? su->hostkey : su->other, &b), 0);
	CHECK_EQ_INT(dssh_known_hosts_add(su->kh, HOST, PORT, dssh_buf_ptr(&b), dssh_buf_len(&b),
	    false), 0);
	dssh_buf_free(&b);

	su->f.s.ops = &fake_ops;
	dssh_buf_init(&su->f.user_blob, 0);
	dssh_buf_init(&su->f.got, 0);
	CHECK_EQ_INT(dssh_sshkey_public_blob(su->userkey, &su->f.user_blob), 0);
	su->f.hk.alg = "ssh-ed25519";
	su->f.hk.key = su->hostkey;
	su->f.conf = (struct dssh_ssh_conf){
		.kex_algs = dssh_kex_alg_names(), .cipher_algs = dssh_cipher_names(),
		.mac_algs = dssh_mac_names(), .pubkey_algs = "ssh-ed25519",
		.hostkeys = &su->f.hk, .n_hostkeys = 1, .max_auth_tries = 6,
		.pubkey_auth = true, .engine = engine,
	};
	CHECK_EQ_INT(dssh_conn_new(&su->f.conf, &server_ops, &su->f, "server", &su->f.srv), 0);
	CHECK_EQ_INT(dssh_conn_start(su->f.srv, 1000), 0);

	su->tr = (struct dssh_client_transport){ .connect = t_connect, .poll = t_poll,
	    .arg = &su->f };
	dssh_client_opts_init(&su->o);
	su->o.host = HOST;
	su->o.port = PORT;
	su->o.user = "alice";
	su->o.identities[su->o.n_identities++] = su->id;
	su->o.known_hosts = su->kh;
	su->o.identity_agent = "none";
	su->o.strict = DSSH_STRICT_YES;
	su->o.batch = true;
	su->o.password_auth = false;
	su->o.quiet = true;
	su->o.engine = engine;
	su->o.transport = &su->tr;
}

static void
setup_free(struct setup *su)
{
	dssh_conn_free(su->f.srv);
	dssh_buf_free(&su->f.user_blob);
	dssh_buf_free(&su->f.got);
	dssh_sshkey_free(su->hostkey);
	dssh_sshkey_free(su->userkey);
	dssh_sshkey_free(su->other);
	unlink(su->kh);
	unlink(su->id);
	rmdir(su->dir);
}

static void
test_exec(void)
{
	struct setup su;
	struct tool t = { .status = -1 };
	struct dssh_session_req req = { .type = DSSH_REQ_EXEC, .command = "echo" };
	static const uint8_t up[] = "to the server";
	uint32_t chan;
	int r = 0;

	setup_new(&su, true);
	CHECK_EQ_INT(dssh_client_connect(&su.o, &t.cl), 0);
	if (t.cl == NULL)
		goto out;
	CHECK_EQ_INT(dssh_client_fd(t.cl), -1);
	CHECK(su.f.polls > 0);
	dssh_buf_init(&t.data, 0);
	dssh_client_set_chan_ops(t.cl, &tool_ops, &t);
	CHECK_EQ_INT(dssh_client_session(t.cl, &req, &chan), 0);
	CHECK(su.f.exec);
	CHECK_EQ_INT(dssh_client_send(t.cl, chan, up, sizeof(up)), sizeof(up));
	CHECK_EQ_INT(dssh_chan_send_eof(dssh_client_conn(t.cl), chan), 0);
	/* The tool's loop with no descriptor: dssh_client_io alone, busy. */
	for (int i = 0; i < 10000 && !t.closed && r == 0; i++)
		r = dssh_client_io(t.cl, 0);
	CHECK_EQ_INT(r, 0);
	CHECK(t.closed);
	CHECK_EQ_INT(t.status, 7);
	CHECK_EQ_INT(dssh_buf_len(&t.data), sizeof(down_msg));
	CHECK(memcmp(dssh_buf_ptr(&t.data), down_msg, sizeof(down_msg)) == 0);
	CHECK_EQ_INT(dssh_buf_len(&su.f.got), sizeof(up));
	CHECK(memcmp(dssh_buf_ptr(&su.f.got), up, sizeof(up)) == 0);
	CHECK(su.f.short_writes > 0);
	/* dssh_client_wait works on the transport too. */
	CHECK_EQ_INT(dssh_client_wait(t.cl, 0), 0);
	CHECK(su.f.auth_calls > 0);
	dssh_client_close(t.cl);
	CHECK(!dssh_client_want_write(t.cl));     /* the DISCONNECT went out */
	dssh_client_free(t.cl);
	CHECK(su.f.closed);
	dssh_buf_free(&t.data);
out:
	setup_free(&su);
}

/*
 * Every wait for an answer finds one: what the engine queued (channel
 * open, exec request) reaches the stream before the transport waits.
 * (Once each sat out dssh_client_wait's whole timeout first: 2 s per
 * session start over memif.)
 */
static void
test_no_idle_wait(void)
{
	struct setup su;
	struct tool t = { .status = -1 };
	struct dssh_session_req req = { .type = DSSH_REQ_EXEC, .command = "echo" };
	uint32_t chan;

	setup_new(&su, true);
	su.f.whole_writes = true;
	CHECK_EQ_INT(dssh_client_connect(&su.o, &t.cl), 0);
	if (t.cl == NULL)
		goto out;
	dssh_buf_init(&t.data, 0);
	dssh_client_set_chan_ops(t.cl, &tool_ops, &t);
	CHECK_EQ_INT(dssh_client_session(t.cl, &req, &chan), 0);
	CHECK(su.f.exec);
	CHECK_EQ_INT(su.f.idle_waits, 0);
	dssh_client_close(t.cl);
	dssh_client_free(t.cl);
	dssh_buf_free(&t.data);
out:
	setup_free(&su);
}

static void
test_wrong_hostkey(void)
{
	struct setup su;
	struct dssh_client *cl = NULL;

	setup_new(&su, false);
	CHECK_EQ_INT(dssh_client_connect(&su.o, &cl), DSSH_ERR_PERMISSION);
	CHECK(cl == NULL);
	CHECK(su.f.closed);            /* the stream was let go of */
	CHECK_EQ_INT(su.f.auth_calls, 0);   /* refused before any userauth */
	setup_free(&su);
}

static void
test_connect_refused(void)
{
	struct setup su;
	struct dssh_client *cl = NULL;

	setup_new(&su, true);
	su.f.refuse_connect = true;
	CHECK_EQ_INT(dssh_client_connect(&su.o, &cl), DSSH_ERR_CONN_CLOSED);
	CHECK(cl == NULL);
	CHECK_EQ_INT(su.f.polls, 0);
	setup_free(&su);
}

int
main(void)
{
	dssh_log_init("test_transport", getenv("TEST_DEBUG") ? DSSH_LOG_DEBUG3 : DSSH_LOG_QUIET,
	    true);
	if (dssh_crypto_engine_create("openssl", NULL, &engine) != 0) {
		fprintf(stderr, "no engine\n");
		return 1;
	}
	DSSH_RUN(test_exec);
	DSSH_RUN(test_no_idle_wait);
	DSSH_RUN(test_wrong_hostkey);
	DSSH_RUN(test_connect_refused);
	dssh_crypto_engine_free(engine);
	DSSH_TEST_END();
}
