/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The monitor's requests (lib/auth/dssh_monitor.h): what the root monitor
 * parses from the unprivileged dsshd (PAM, AUTHKEYS, CONN_END, SOCKET,
 * HOSTKEY_LOAD, HOSTKEY_SIGN, and the PAM channel's ANSWERS) and what dsshd
 * parses back (the replies, PROMPTS, RESULT). Requests that parse must
 * encode back to the very same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_auth.h"
#include "dssh_log.h"
#include "dssh_monitor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same(const struct dssh_buf *b, const uint8_t *p, size_t n)
{
	if (dssh_buf_len(b) != n || memcmp(dssh_buf_ptr(b), p, n) != 0)
		abort();
}

static void
requests(const uint8_t *p, size_t n)
{
	struct dssh_monitor_pam_req pq;
	struct dssh_monitor_authkeys_req aq;
	struct dssh_monitor_sock_req sq;
	const uint8_t *key, *hash;
	size_t keylen, hashlen;
	char alg[128], *path;
	uint64_t conn;
	struct dssh_buf b;

	dssh_buf_init(&b, 0);
	if (dssh_monitor_decode_pam(p, n, &pq) == 0) {
		if (dssh_monitor_encode_pam(&b, pq.conn, &pq.req, pq.service) != 0)
			abort();
		same(&b, p, n);
		dssh_monitor_pam_req_free(&pq);
	}
	dssh_buf_reset(&b);
	if (dssh_monitor_decode_authkeys(p, n, &aq) == 0) {
		if (dssh_monitor_encode_authkeys(&b, &aq) != 0)
			abort();
		same(&b, p, n);
		dssh_monitor_authkeys_req_free(&aq);
	}
	dssh_buf_reset(&b);
	if (dssh_monitor_decode_sock(p, n, &sq) == 0) {
		if (dssh_monitor_encode_sock(&b, &sq) != 0)
			abort();
		same(&b, p, n);
		dssh_monitor_sock_req_free(&sq);
	}
	dssh_buf_reset(&b);
	if (dssh_monitor_decode_hostkey_load(p, n, &path) == 0) {
		if (dssh_monitor_encode_hostkey_load(&b, path) != 0)
			abort();
		same(&b, p, n);
		free(path);
	}
	dssh_buf_reset(&b);
	if (dssh_monitor_decode_sign(p, n, &conn, &key, &keylen, alg, sizeof(alg), &hash,
	    &hashlen) == 0) {
		if (strlen(alg) >= sizeof(alg) || dssh_monitor_encode_sign(&b, conn, key, keylen,
		    alg, hash, hashlen) != 0)
			abort();
		same(&b, p, n);
	}
	(void)dssh_monitor_decode_conn_end(p, n, &conn);
	{
		char cpath[108];

		if (dssh_monitor_decode_ctl_path(p, n, cpath) == 0 && strlen(cpath) >= sizeof(cpath))
			abort();
	}
	{
		char user[DSSH_MONITOR_NAME_MAX + 1], host[DSSH_MONITOR_NAME_MAX + 1];

		if (dssh_monitor_decode_failed_login(p, n, user, host) == 0 &&
		    (strlen(user) > DSSH_MONITOR_NAME_MAX || strlen(host) > DSSH_MONITOR_NAME_MAX))
			abort();
	}
	dssh_buf_free(&b);
}

static void
replies(const uint8_t *p, size_t n)
{
	struct dssh_authkey_opts o;
	struct dssh_pam_prompts *pr;
	uint8_t *blob;
	size_t bloblen;
	char msg[256], dir[64], **a;
	unsigned na;
	uint32_t delay;
	bool ok;
	int result;

	if (dssh_monitor_decode_authkeys_reply(p, n, &result, &o) == 0)
		dssh_authkey_opts_free(&o);
	if (dssh_monitor_decode_sock_reply(p, n, &result, dir, sizeof(dir)) == 0 &&
	    strlen(dir) >= sizeof(dir))
		abort();
	if (dssh_monitor_decode_blob_reply(p, n, p[0], &result, &blob, &bloblen) == 0)
		free(blob);
	if (dssh_pam_chan_decode_prompts(p, n, &pr) == 0)
		dssh_pam_prompts_free(pr);
	if (dssh_pam_chan_decode_answers(p, n, &a, &na) == 0)
		dssh_pam_answers_free(a, na);
	if (dssh_pam_chan_decode_result(p, n, &ok, &delay, msg, sizeof(msg)) == 0 &&
	    strlen(msg) >= sizeof(msg))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so that any over-read is ASan's to see. */
	uint8_t *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	requests(copy, size);
	if (size > 0)
		replies(copy, size);
	free(copy);
	return 0;
}
