/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The monitor's request codec (lib/auth/dssh_monitor.h) and the PAM
 * channel's: round trips, and a clean error (nothing allocated, nothing
 * read past the end) for every truncation, a trailing byte, oversized
 * fields and out-of-range values.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_auth.h"
#include "dssh_err.h"
#include "dssh_monitor.h"
#include "dssh_test.h"

typedef int (*decode_fn)(const uint8_t *p, size_t n);

static int
dec_pam(const uint8_t *p, size_t n)
{
	struct dssh_monitor_pam_req q;
	int r = dssh_monitor_decode_pam(p, n, &q);

	if (r == 0)
		dssh_monitor_pam_req_free(&q);
	return r;
}

static int
dec_authkeys(const uint8_t *p, size_t n)
{
	struct dssh_monitor_authkeys_req q;
	int r = dssh_monitor_decode_authkeys(p, n, &q);

	if (r == 0)
		dssh_monitor_authkeys_req_free(&q);
	return r;
}

static int
dec_sock(const uint8_t *p, size_t n)
{
	struct dssh_monitor_sock_req q;
	int r = dssh_monitor_decode_sock(p, n, &q);

	if (r == 0)
		dssh_monitor_sock_req_free(&q);
	return r;
}

static int
dec_sign(const uint8_t *p, size_t n)
{
	const uint8_t *k, *d;
	size_t kl, dl;
	uint64_t conn;
	char alg[64];

	return dssh_monitor_decode_sign(p, n, &conn, &k, &kl, alg, sizeof(alg), &d, &dl);
}

static int
dec_load(const uint8_t *p, size_t n)
{
	char *path;
	int r = dssh_monitor_decode_hostkey_load(p, n, &path);

	free(path);
	return r;
}

static int
dec_opts(const uint8_t *p, size_t n)
{
	struct dssh_authkey_opts o;
	int result, r = dssh_monitor_decode_authkeys_reply(p, n, &result, &o);

	dssh_authkey_opts_free(&o);
	return r;
}

static int
dec_answers(const uint8_t *p, size_t n)
{
	char **a;
	unsigned na;
	int r = dssh_pam_chan_decode_answers(p, n, &a, &na);

	if (r == 0)
		dssh_pam_answers_free(a, na);
	return r;
}

static int
dec_prompts(const uint8_t *p, size_t n)
{
	struct dssh_pam_prompts *pr;
	int r = dssh_pam_chan_decode_prompts(p, n, &pr);

	dssh_pam_prompts_free(pr);
	return r;
}

/* b parses; every proper prefix and b plus one byte do not. */
static void
check_edges(const struct dssh_buf *b, decode_fn fn)
{
	size_t n = dssh_buf_len(b);
	uint8_t *p = malloc(n + 1);

	memcpy(p, dssh_buf_ptr(b), n);
	CHECK_EQ_INT(fn(p, n), 0);
	for (size_t i = 0; i < n; i++) {
		/* an exact-size copy: ASan sees any over-read */
		uint8_t *q = malloc(i ? i : 1);

		memcpy(q, p, i);
		CHECK(fn(q, i) != 0);
		free(q);
	}
	p[n] = 0;
	CHECK(fn(p, n + 1) != 0);
	free(p);
}

static void
test_pam(void)
{
	struct dssh_pam_request req = { .user = "dsshtest", .password = "pw",
	    .remote_host = "127.0.0.1", .kind = DSSH_PAM_KBDINT };
	struct dssh_monitor_pam_req q;
	struct dssh_buf b;
	char big[300];

	dssh_buf_init(&b, 0);
	CHECK_EQ_INT(dssh_monitor_encode_pam(&b, 42, &req, "dsshd"), 0);
	check_edges(&b, dec_pam);
	CHECK_EQ_INT(dssh_monitor_decode_pam(dssh_buf_ptr(&b), dssh_buf_len(&b), &q), 0);
	CHECK(q.conn == 42 && q.req.id == 42 && q.req.kind == DSSH_PAM_KBDINT);
	CHECK_STR(q.req.user, "dsshtest");
	CHECK_STR(q.req.password, "pw");
	CHECK_STR(q.service, "dsshd");
	dssh_monitor_pam_req_free(&q);
	/* a service with '/', an unknown kind, an oversized user: refused */
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_pam(&b, 1, &req, "../etc/x"), 0);
	CHECK_EQ_INT(dec_pam(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	dssh_buf_reset(&b);
	req.kind = (enum dssh_pam_kind)3;
	CHECK_EQ_INT(dssh_monitor_encode_pam(&b, 1, &req, "dsshd"), 0);
	CHECK_EQ_INT(dec_pam(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	dssh_buf_reset(&b);
	memset(big, 'u', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	req.kind = DSSH_PAM_PASSWORD;
	req.user = big;
	CHECK_EQ_INT(dssh_monitor_encode_pam(&b, 1, &req, "dsshd"), 0);
	CHECK_EQ_INT(dec_pam(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_STRING_TOO_LARGE);
	dssh_buf_free(&b);
}

static void
test_authkeys(void)
{
	static const uint8_t key[] = { 0, 0, 0, 3, 'a', 'b', 'c' };
	static uint8_t sd[] = { 0, 0, 0, 1, 'x', 50 }, sig[] = { 9, 8, 7 };
	struct dssh_monitor_authkeys_req q = { .conn = 5, .final = true, .user = "u",
	    .key = (uint8_t *)key, .keylen = sizeof(key), .remote_ip = "::1", .strict_modes = 1,
	    .refuse_locked = true, .permit_user_environment = "LANG,LC_*,!LC_ALL",
	    .files = { ".ssh/authorized_keys", "/etc/keys/%u" }, .nfiles = 2,
	    .principals_file = "%h/p", .sigdata = sd, .sigdatalen = sizeof(sd), .sig = sig,
	    .siglen = sizeof(sig) };
	struct dssh_monitor_authkeys_req d;
	struct dssh_buf b;
	uint8_t *big;

	dssh_buf_init(&b, 0);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), 0);
	check_edges(&b, dec_authkeys);
	CHECK_EQ_INT(dssh_monitor_decode_authkeys(dssh_buf_ptr(&b), dssh_buf_len(&b), &d), 0);
	CHECK(d.final && d.nfiles == 2 && d.keylen == sizeof(key) && d.trusted_ca == NULL);
	CHECK(d.refuse_locked);
	CHECK_STR(d.files[1], "/etc/keys/%u");
	CHECK_STR(d.principals_file, "%h/p");
	CHECK_STR(d.permit_user_environment, "LANG,LC_*,!LC_ALL");
	/* final: the signed data and the signature come through unchanged */
	CHECK(d.sigdatalen == sizeof(sd) && memcmp(d.sigdata, sd, sizeof(sd)) == 0);
	CHECK(d.siglen == sizeof(sig) && memcmp(d.sig, sig, sizeof(sig)) == 0);
	dssh_monitor_authkeys_req_free(&d);
	/* a query carries no signature: its encoding ends after RevokedKeys */
	q.final = false;
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), 0);
	check_edges(&b, dec_authkeys);
	CHECK_EQ_INT(dssh_monitor_decode_authkeys(dssh_buf_ptr(&b), dssh_buf_len(&b), &d), 0);
	CHECK(!d.final && d.sigdata == NULL && d.siglen == 0);
	dssh_monitor_authkeys_req_free(&d);
	/* refuse_locked (UsePAM no) comes through either way; not 0/1: refused */
	q.refuse_locked = false;
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), 0);
	CHECK_EQ_INT(dssh_monitor_decode_authkeys(dssh_buf_ptr(&b), dssh_buf_len(&b), &d), 0);
	CHECK(!d.refuse_locked);
	dssh_monitor_authkeys_req_free(&d);
	/* the bool follows the u8 type, u64 conn, bool final, user "u", the key,
	 * "::1" and u32 strict_modes */
	size_t at = 1 + 8 + 1 + (4 + 1) + (4 + sizeof(key)) + (4 + 3) + 4;

	uint8_t msg[512];
	size_t mlen = dssh_buf_len(&b) < sizeof(msg) ? dssh_buf_len(&b) : sizeof(msg);

	CHECK(mlen == dssh_buf_len(&b) && mlen > at);
	memcpy(msg, dssh_buf_ptr(&b), mlen);
	CHECK_EQ_INT(msg[at], 0);
	msg[at] = 2;
	CHECK_EQ_INT(dec_authkeys(msg, mlen), DSSH_ERR_INVALID_FORMAT);
	q.refuse_locked = true;
	q.final = true;
	/* final without a signature or signed data: refused */
	q.siglen = 0;
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), 0);
	CHECK_EQ_INT(dec_authkeys(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	q.siglen = sizeof(sig);
	q.sigdatalen = 0;
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), 0);
	CHECK_EQ_INT(dec_authkeys(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	/* oversized signed data, oversized signature: refused; the limits themselves pass */
	big = calloc(1, DSSH_MONITOR_MAX_SIGNED_DATA + 1);
	q.sigdata = big;
	q.sigdatalen = DSSH_MONITOR_MAX_SIGNED_DATA;
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), 0);
	CHECK_EQ_INT(dec_authkeys(dssh_buf_ptr(&b), dssh_buf_len(&b)), 0);
	q.sigdatalen = DSSH_MONITOR_MAX_SIGNED_DATA + 1;
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), 0);
	CHECK_EQ_INT(dec_authkeys(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	q.sigdata = sd;
	q.sigdatalen = sizeof(sd);
	q.sig = big;
	q.siglen = DSSH_MONITOR_MAX_KEY_BLOB;
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), 0);
	CHECK_EQ_INT(dec_authkeys(dssh_buf_ptr(&b), dssh_buf_len(&b)), 0);
	q.siglen = DSSH_MONITOR_MAX_KEY_BLOB + 1;
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), 0);
	CHECK_EQ_INT(dec_authkeys(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	free(big);
	q.sig = sig;
	q.siglen = sizeof(sig);
	/* more files than DSSH_MONITOR_MAX_FILES, strict_modes not 0/1 */
	q.nfiles = DSSH_MONITOR_MAX_FILES + 1;
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), DSSH_ERR_INVALID_ARGUMENT);
	q.nfiles = 2;
	q.strict_modes = 2;
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), 0);
	CHECK_EQ_INT(dec_authkeys(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	q.strict_modes = 1;
	/* PermitUserEnvironment: NULL goes as "no"; empty, control characters, oversized refused */
	q.permit_user_environment = NULL;
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), 0);
	CHECK_EQ_INT(dssh_monitor_decode_authkeys(dssh_buf_ptr(&b), dssh_buf_len(&b), &d), 0);
	CHECK_STR(d.permit_user_environment, "no");
	dssh_monitor_authkeys_req_free(&d);
	q.permit_user_environment = "";
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), 0);
	CHECK_EQ_INT(dec_authkeys(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	q.permit_user_environment = "LANG\nX";
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), 0);
	CHECK_EQ_INT(dec_authkeys(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	big = malloc(DSSH_MONITOR_USER_ENV_MAX + 2);
	memset(big, 'A', DSSH_MONITOR_USER_ENV_MAX + 1);
	big[DSSH_MONITOR_USER_ENV_MAX] = '\0';
	q.permit_user_environment = (char *)big;
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), 0);
	CHECK_EQ_INT(dec_authkeys(dssh_buf_ptr(&b), dssh_buf_len(&b)), 0);
	big[DSSH_MONITOR_USER_ENV_MAX] = 'A';
	big[DSSH_MONITOR_USER_ENV_MAX + 1] = '\0';
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys(&b, &q), 0);
	CHECK_EQ_INT(dec_authkeys(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_STRING_TOO_LARGE);
	free(big);
	dssh_buf_free(&b);
}

static void
test_opts_reply(void)
{
	struct dssh_config_permit po = { "localhost", 22 }, pl = { "*", DSSH_PERMIT_ANY_PORT };
	char *env[] = { "A=b" };
	struct dssh_authkey_opts o, d;
	struct dssh_buf b;
	int result;

	dssh_authkey_opts_init(&o);
	o.command = "echo hi";
	o.env = env;
	o.nenv = 1;
	o.permit_pty = false;
	o.permitopen = &po;
	o.npermitopen = 1;
	o.permitlisten = &pl;
	o.npermitlisten = 1;
	o.expiry_time = 123;
	o.file = "/home/u/.ssh/authorized_keys";
	o.line = 7;
	dssh_buf_init(&b, 0);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys_reply(&b, 0, &o), 0);
	check_edges(&b, dec_opts);
	CHECK_EQ_INT(dssh_monitor_decode_authkeys_reply(dssh_buf_ptr(&b), dssh_buf_len(&b),
	    &result, &d), 0);
	CHECK_EQ_INT(result, 0);
	CHECK_STR(d.command, "echo hi");
	CHECK(d.nenv == 1 && !d.permit_pty && d.npermitopen == 1 && d.permitopen[0].port == 22);
	CHECK(d.npermitlisten == 1 && d.permitlisten[0].port == DSSH_PERMIT_ANY_PORT);
	CHECK(d.expiry_time == 123 && d.line == 7);
	dssh_authkey_opts_free(&d);
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_authkeys_reply(&b, DSSH_ERR_NOT_FOUND, NULL), 0);
	CHECK_EQ_INT(dssh_monitor_decode_authkeys_reply(dssh_buf_ptr(&b), dssh_buf_len(&b),
	    &result, &d), 0);
	CHECK_EQ_INT(result, DSSH_ERR_NOT_FOUND);
	dssh_buf_free(&b);
}

static void
test_sock_and_keys(void)
{
	struct dssh_monitor_sock_req q = { .conn = 1, .op = DSSH_MONITOR_SOCK_UNIX_LISTEN,
	    .path = "/tmp/a.sock", .port = 0x1000 | 0177 };
	uint8_t blob[32] = { 1 }, hash[33] = { 2 };
	struct dssh_buf b;

	dssh_buf_init(&b, 0);
	CHECK_EQ_INT(dssh_monitor_encode_sock(&b, &q), 0);
	check_edges(&b, dec_sock);
	/* relative paths, TCP ports 1024 and up, unknown ops */
	q.path = "a.sock";
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_sock(&b, &q), 0);
	CHECK_EQ_INT(dec_sock(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	q.op = DSSH_MONITOR_SOCK_TCP_LISTEN;
	q.path = "127.0.0.1";
	q.port = 1024;
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_sock(&b, &q), 0);
	CHECK_EQ_INT(dec_sock(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	q.op = 9;
	q.port = 80;
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_sock(&b, &q), 0);
	CHECK_EQ_INT(dec_sock(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	/* HOSTKEY_LOAD: absolute paths only */
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_hostkey_load(&b, "/etc/ssh/k"), 0);
	check_edges(&b, dec_load);
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_hostkey_load(&b, "k"), 0);
	CHECK_EQ_INT(dec_load(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	/* HOSTKEY_SIGN: 32, 48 or 64 bytes of hash, nothing else */
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_sign(&b, 0x1122334455667788ull, blob, sizeof(blob),
	    "ssh-ed25519", hash, 32), 0);
	check_edges(&b, dec_sign);
	{
		const uint8_t *k, *d;
		size_t kl, dl;
		uint64_t conn = 0;
		char alg[64];

		CHECK_EQ_INT(dssh_monitor_decode_sign(dssh_buf_ptr(&b), dssh_buf_len(&b), &conn, &k,
		    &kl, alg, sizeof(alg), &d, &dl), 0);
		CHECK(conn == 0x1122334455667788ull && kl == sizeof(blob) && dl == 32);
		CHECK_STR(alg, "ssh-ed25519");
	}
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_sign(&b, 1, blob, sizeof(blob), "ssh-ed25519", hash, 33), 0);
	CHECK_EQ_INT(dec_sign(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	dssh_buf_free(&b);
}

static int
dec_failed(const uint8_t *p, size_t n)
{
	char user[DSSH_MONITOR_NAME_MAX + 1], host[DSSH_MONITOR_NAME_MAX + 1];

	return dssh_monitor_decode_failed_login(p, n, user, host);
}

static void
test_failed_login(void)
{
	char user[DSSH_MONITOR_NAME_MAX + 1], host[DSSH_MONITOR_NAME_MAX + 1], big[300];
	struct dssh_buf b;

	dssh_buf_init(&b, 0);
	CHECK_EQ_INT(dssh_monitor_encode_failed_login(&b, "dsshtest", "10.0.0.1"), 0);
	check_edges(&b, dec_failed);
	CHECK_EQ_INT(dssh_monitor_decode_failed_login(dssh_buf_ptr(&b), dssh_buf_len(&b), user,
	    host), 0);
	CHECK_STR(user, "dsshtest");
	CHECK_STR(host, "10.0.0.1");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_failed_login(&b, big, "h"), 0);
	CHECK_EQ_INT(dec_failed(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	dssh_buf_free(&b);
}

static int
dec_ctl(const uint8_t *p, size_t n)
{
	char path[108];

	return dssh_monitor_decode_ctl_path(p, n, path);
}

static void
test_ctl_path(void)
{
	char long_path[200];
	struct dssh_buf b;

	dssh_buf_init(&b, 0);
	CHECK_EQ_INT(dssh_monitor_encode_ctl_path(&b, "/run/dsshd.ctl"), 0);
	check_edges(&b, dec_ctl);
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_ctl_path(&b, "run/dsshd.ctl"), 0);
	CHECK_EQ_INT(dec_ctl(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_monitor_encode_ctl_path(&b, long_path), 0);
	CHECK_EQ_INT(dec_ctl(dssh_buf_ptr(&b), dssh_buf_len(&b)), DSSH_ERR_INVALID_FORMAT);
	dssh_buf_free(&b);
}

static void
test_pam_chan(void)
{
	const char *ans[2] = { "pw", "123" };
	struct dssh_pam_prompts p = { .instruction = "hello", .n = 2,
	    .text = { "Password: ", "Code: " }, .echo = { false, true } };
	struct dssh_buf b;
	uint32_t delay;
	char msg[8];
	bool ok;

	dssh_buf_init(&b, 0);
	CHECK_EQ_INT(dssh_pam_chan_encode_prompts(&b, &p), 0);
	check_edges(&b, dec_prompts);
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_pam_chan_encode_answers(&b, ans, 2), 0);
	check_edges(&b, dec_answers);
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_pam_chan_encode_answers(&b, ans, 0), DSSH_ERR_INVALID_ARGUMENT);
	/* a result message longer than the caller's buffer is cut, NUL-terminated */
	dssh_buf_reset(&b);
	CHECK_EQ_INT(dssh_pam_chan_encode_result(&b, true, 5, "a long message"), 0);
	CHECK_EQ_INT(dssh_pam_chan_decode_result(dssh_buf_ptr(&b), dssh_buf_len(&b), &ok, &delay,
	    msg, sizeof(msg)), 0);
	CHECK(ok && delay == 5);
	CHECK_STR(msg, "a long ");
	CHECK(dssh_pam_chan_decode_result(dssh_buf_ptr(&b), dssh_buf_len(&b) - 1, &ok, &delay,
	    msg, sizeof(msg)) != 0 && !ok);
	dssh_buf_free(&b);
}

int
main(void)
{
	DSSH_RUN(test_pam);
	DSSH_RUN(test_authkeys);
	DSSH_RUN(test_opts_reply);
	DSSH_RUN(test_sock_and_keys);
	DSSH_RUN(test_pam_chan);
	DSSH_RUN(test_failed_login);
	DSSH_RUN(test_ctl_path);
	DSSH_TEST_END();
}
