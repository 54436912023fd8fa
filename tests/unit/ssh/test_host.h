/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_TEST_HOST_H
#define DSSH_TEST_HOST_H

/*
 * A minimal application for the server engine in tests: it accepts user
 * "alice" with good_blob's key and nothing else, opens every session and
 * accepts every request, keeps channel data in `data` and gives the window
 * back at once. Tests that need more override single callbacks after
 * test_host_ops() and keep their own state behind `ext`.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dssh_buf.h"
#include "dssh_ssh.h"
#include "dssh_sshkey.h"

struct test_host {
	struct dssh_conn *c;
	struct dssh_buf good_blob;
	uint32_t chan;
	bool have_chan;
	struct dssh_buf data;
	void *ext;                      /* the test's own */
};

static inline int
test_host_auth_pubkey(void *hp, const char *user, const uint8_t *blob, size_t len, bool final)
{
	struct test_host *h = hp;

	(void)final;
	return strcmp(user, "alice") == 0 && len == dssh_buf_len(&h->good_blob) &&
	    memcmp(blob, dssh_buf_ptr(&h->good_blob), len) == 0 ? 0 : -1;
}

static inline int
test_host_auth_password(void *hp, const char *user, const char *pw)
{
	(void)hp;
	(void)user;
	(void)pw;
	return -1;
}

static inline void
test_host_auth_success(void *hp, const char *user, enum dssh_auth_method m)
{
	(void)hp;
	(void)user;
	(void)m;
}

static inline int
test_host_session_open(void *hp, uint32_t chan)
{
	struct test_host *h = hp;

	h->chan = chan;
	h->have_chan = true;
	return 0;
}

static inline int
test_host_session_request(void *hp, uint32_t chan, const struct dssh_session_req *req)
{
	(void)hp;
	(void)chan;
	(void)req;
	return 0;
}

static inline void
test_host_channel_data(void *hp, uint32_t chan, const uint8_t *p, size_t n)
{
	struct test_host *h = hp;

	dssh_buf_put(&h->data, p, n);
	dssh_chan_consumed(h->c, chan, n);
}

static inline void
test_host_channel_eof(void *hp, uint32_t chan)
{
	(void)hp;
	(void)chan;
}

static inline void
test_host_channel_closed(void *hp, uint32_t chan)
{
	(void)chan;
	((struct test_host *)hp)->have_chan = false;
}

static inline void
test_host_channel_writable(void *hp, uint32_t chan)
{
	(void)hp;
	(void)chan;
}

/* Empty buffers; "alice" authorised with userkey. */
static inline void
test_host_init(struct test_host *h, const struct dssh_sshkey *userkey)
{
	dssh_buf_init(&h->good_blob, 0);
	dssh_buf_init(&h->data, 0);
	dssh_sshkey_public_blob(userkey, &h->good_blob);
}

static inline void
test_host_free(struct test_host *h)
{
	dssh_buf_free(&h->good_blob);
	dssh_buf_free(&h->data);
}

static inline void
test_host_ops(struct dssh_conn_host_ops *o)
{
	memset(o, 0, sizeof(*o));
	o->auth_pubkey = test_host_auth_pubkey;
	o->auth_password = test_host_auth_password;
	o->auth_success = test_host_auth_success;
	o->session_open = test_host_session_open;
	o->session_request = test_host_session_request;
	o->channel_data = test_host_channel_data;
	o->channel_eof = test_host_channel_eof;
	o->channel_closed = test_host_channel_closed;
	o->channel_writable = test_host_channel_writable;
}

#endif
