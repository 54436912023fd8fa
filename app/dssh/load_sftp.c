/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh-load's SFTP workloads: one file per session written (sftp-upload)
 * or read (sftp-download) with up to LOAD_SFTP_INFLIGHT requests of CHUNK
 * bytes in flight. Offsets wrap: an upload bound by time alone rewrites
 * its first WRAP bytes, a download reads the file again from its start at
 * its end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_ssh.h"
#include "load.h"

#define CHUNK (64u * 1024)
#define WRAP (64ull << 20)
#define MAX_PENDING (4u << 20)          /* SFTP output not yet in the channel */

static const uint8_t zeros[CHUNK];

static const struct load_cfg *
cfg_of(const struct load_sess *s)
{
	return s->cn->w->cfg;
}

static bool
uploading(const struct load_sess *s)
{
	return cfg_of(s)->wl == WL_SFTP_UPLOAD;
}

/* The file: --path, "%u" in it becomes the session's number. */
static void
sess_path(const struct load_sess *s, char *buf, size_t len)
{
	const char *p = cfg_of(s)->path;
	const char *pct;

	if (p == NULL)
		p = uploading(s) ? "/dev/null" : "/dev/zero";
	if ((pct = strstr(p, "%u")) == NULL) {
		snprintf(buf, len, "%s", p);
		return;
	}
	snprintf(buf, len, "%.*s%u%s", (int)(pct - p), p, s->idx, pct + 2);
}

static void
on_reply(void *arg, const struct dssh_sftpc_reply *r);

int
load_sftp_start(struct load_sess *s)
{
	int r;

	if ((r = dssh_sftpc_new(on_reply, s, &s->sf)) != 0)
		return r;
	return dssh_sftpc_init(s->sf);
}

void
load_sftp_input(struct load_sess *s, const uint8_t *p, size_t n)
{
	if (s->sf != NULL && !s->failed && dssh_sftpc_input(s->sf, p, n) != 0) {
		load_sess_fail(s, "a malformed SFTP reply");
		s->we_closed = true;
		dssh_chan_close(dssh_client_conn(s->cn->cl), s->chan);
		s->state = S_FINISH;
	}
}

/* ---- requests ---- */

static int
slot_put(struct load_sess *s, uint32_t id, uint64_t off, uint32_t len)
{
	for (unsigned i = 0; i < LOAD_SFTP_INFLIGHT; i++) {
		if (!s->slot[i].used) {
			s->slot[i].used = true;
			s->slot[i].id = id;
			s->slot[i].off = off;
			s->slot[i].len = len;
			s->inflight++;
			s->inflight_bytes += len;
			return 0;
		}
	}
	return DSSH_ERR_INTERNAL;
}

static bool
slot_take(struct load_sess *s, uint32_t id, uint64_t *off, uint32_t *len)
{
	for (unsigned i = 0; i < LOAD_SFTP_INFLIGHT; i++) {
		if (s->slot[i].used && s->slot[i].id == id) {
			s->slot[i].used = false;
			*off = s->slot[i].off;
			*len = s->slot[i].len;
			s->inflight--;
			s->inflight_bytes -= *len;
			return true;
		}
	}
	return false;
}

/* Should another request go out? */
static bool
want_more(const struct load_sess *s, uint32_t *len)
{
	const struct load_cfg *cfg = cfg_of(s);
	uint64_t left;
	size_t pending;

	dssh_sftpc_output(s->sf, &pending);
	if (s->inflight >= LOAD_SFTP_INFLIGHT || pending >= MAX_PENDING)
		return false;
	*len = CHUNK;
	if (cfg->size == 0)
		return true;
	if (s->done + s->inflight_bytes >= cfg->size)
		return false;
	left = cfg->size - s->done - s->inflight_bytes;
	if (left < CHUNK)
		*len = (uint32_t)left;
	return true;
}

static int
issue(struct load_sess *s, uint32_t len)
{
	uint64_t off = s->next_off;
	uint32_t id;
	int r;

	if (uploading(s)) {
		if (cfg_of(s)->size == 0 && off >= WRAP)
			off = 0;
		r = dssh_sftpc_write(s->sf, s->handle, s->hlen, off, zeros, len, &id);
	} else {
		r = dssh_sftpc_read(s->sf, s->handle, s->hlen, off, len, &id);
	}
	if (r != 0 || (r = slot_put(s, id, off, len)) != 0)
		return r;
	s->next_off = off + len;
	return 0;
}

static void
send_open(struct load_sess *s)
{
	char path[4096];
	uint32_t fl = uploading(s) ? DSSH_SFTPC_WRITE | DSSH_SFTPC_CREAT | DSSH_SFTPC_TRUNC :
	    DSSH_SFTPC_READ;
	struct dssh_sftpc_attrs a = { .flags = DSSH_SFTPC_ATTR_PERM, .perm = 0644 };

	sess_path(s, path, sizeof(path));
	s->open_sent = true;
	if (dssh_sftpc_open(s->sf, path, fl, uploading(s) ? &a : NULL, &s->open_id) != 0)
		load_sess_fail(s, "sftp open request");
}

/* Done: close the handle, then the channel once its answer is in. */
static void
end_transfer(struct load_sess *s)
{
	s->state = S_FINISH;
	s->finish_us = load_now_us();
	s->close_sent = true;
	if (dssh_sftpc_close(s->sf, s->handle, s->hlen, &s->close_id) != 0)
		load_sess_fail(s, "sftp close request");
}

static void
flush(struct load_sess *s)
{
	size_t len, sent;
	const uint8_t *p = dssh_sftpc_output(s->sf, &len);

	if (len == 0)
		return;
	sent = dssh_client_send(s->cn->cl, s->chan, p, len);
	dssh_sftpc_output_consume(s->sf, sent);
}

void
load_sftp_pump(struct load_sess *s)
{
	uint32_t len;

	if (s->failed && s->state != S_FINISH && s->state != S_DONE) {
		s->we_closed = true;
		s->state = S_FINISH;
		s->finish_us = load_now_us();
		dssh_chan_close(dssh_client_conn(s->cn->cl), s->chan);
	}
	if (s->state == S_SETUP && dssh_sftpc_ready(s->sf) && !s->open_sent)
		send_open(s);
	if (s->state == S_RUN) {
		bool stop = load_deadline_passed(s->cn->w);

		while (!stop && want_more(s, &len))
			if (issue(s, len) != 0) {
				load_sess_fail(s, "sftp request");
				break;
			}
		if (s->inflight == 0 && (stop || (cfg_of(s)->size > 0 &&
		    s->done >= cfg_of(s)->size)))
			end_transfer(s);
	}
	if (s->state != S_DONE && !s->we_closed)
		flush(s);
}

/* ---- replies ---- */

static void
data_reply(struct load_sess *s, const struct dssh_sftpc_reply *r, uint64_t off, uint32_t len)
{
	if (r->type == 103 && r->len <= len) {
		load_sess_count(s, r->len);
		return;
	}
	if (r->type == 101 && r->status == DSSH_SFTPC_EOF) {
		/* The end of the file: from its start again (an empty one is an error). */
		if (off == 0) {
			load_sess_fail(s, "sftp read: the file is empty");
			return;
		}
		if (s->next_off > off)
			s->next_off = 0;
		return;
	}
	load_sess_fail(s, "sftp read: %s", r->msg != NULL && r->msg[0] ? r->msg : "bad reply");
}

static void
xfer_reply(struct load_sess *s, const struct dssh_sftpc_reply *r)
{
	uint64_t off;
	uint32_t len;

	if (!slot_take(s, r->id, &off, &len)) {
		load_sess_fail(s, "an SFTP reply to no request (id %" PRIu32 ")", r->id);
		return;
	}
	if (!uploading(s)) {
		data_reply(s, r, off, len);
		return;
	}
	if (r->type == 101 && r->status == DSSH_SFTPC_OK)
		load_sess_count(s, len);
	else
		load_sess_fail(s, "sftp write: %s", r->msg != NULL && r->msg[0] ? r->msg :
		    "failure");
}

static void
on_reply(void *arg, const struct dssh_sftpc_reply *r)
{
	struct load_sess *s = arg;

	if (s->open_sent && s->state == S_SETUP && r->id == s->open_id) {
		if (r->type != 102 || r->handle_len > sizeof(s->handle)) {
			load_sess_fail(s, "sftp open: %s", r->msg != NULL && r->msg[0] ? r->msg :
			    "refused");
			return;
		}
		memcpy(s->handle, r->handle, r->handle_len);
		s->hlen = r->handle_len;
		s->state = S_RUN;
		return;
	}
	if (s->close_sent && r->id == s->close_id) {
		if (r->type != 101 || r->status != DSSH_SFTPC_OK)
			load_sess_fail(s, "sftp close: %s", r->msg != NULL ? r->msg : "failure");
		s->we_closed = true;
		dssh_chan_close(dssh_client_conn(s->cn->cl), s->chan);
		return;
	}
	xfer_reply(s, r);
}
