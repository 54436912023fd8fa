/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh-cp: copy a file to or from an SFTP server, scp's command line
 * ([user@]host:path on one side). The file is split into N ranges (-n),
 * each copied by its own thread over its own SSH connection with many
 * SFTP requests in flight; -p keeps mode and times; a progress bar with
 * rate and ETA on a terminal, a summary at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cliopts.h"
#include "dssh_client.h"
#include "dssh_crypto.h"
#include "dssh_err.h"
#include "dssh_sftp_client.h"
#include "dssh_ssh.h"

#define CHUNK (64u * 1024)
#define MAX_INFLIGHT 64u
#define MAX_STREAMS 64
#define JOURNAL_MAGIC "DSSHCP1\n"      /* the resume journal: see journal_name() */
#define JOURNAL_HDR 12

/* ---- one SFTP session over one connection ---- */

struct slot {
	uint32_t id;
	uint64_t off;
	uint32_t len;
	bool used;
};

struct xfer {
	bool upload;
	int fd;                       /* the local file */
	const uint8_t *h;             /* the remote handle */
	size_t hlen;
	uint64_t next, end;
	struct slot slots[MAX_INFLIGHT];
	unsigned n;
	int err;
	uint8_t *buf;
	int jfd;                      /* the journal, -1 none */
	off_t jofs;                   /* where this range's done offset is kept */
	uint64_t jdone;               /* what the journal says */
};

struct sess {
	struct dssh_crypto_engine *engine;    /* its own: an engine is one thread's */
	struct dssh_client *cl;
	uint32_t chan;
	struct dssh_sftpc *sf;
	bool closed;
	int err;
	/* the one-at-a-time calls */
	uint32_t want;
	bool got;
	uint8_t type;
	uint32_t status;
	char msg[128];
	uint8_t handle[DSSH_SFTPC_HANDLE_MAX];
	size_t hlen;
	struct dssh_sftpc_attrs attrs;
	char name[4096];
	struct xfer *x;
};

static struct dssh_client_opts copts;
static _Atomic uint64_t bytes_done;
static atomic_int failed;
static bool quiet;

static void
xfer_reply(struct sess *s, const struct dssh_sftpc_reply *r);

static void
on_reply(void *arg, const struct dssh_sftpc_reply *r)
{
	struct sess *s = arg;

	if (s->x != NULL && r->id != s->want) {
		xfer_reply(s, r);
		return;
	}
	if (r->id != s->want)
		return;
	s->got = true;
	s->type = r->type;
	s->status = r->status;
	snprintf(s->msg, sizeof(s->msg), "%s", r->msg != NULL ? r->msg : "");
	if (r->type == 102) {
		memcpy(s->handle, r->handle, r->handle_len);
		s->hlen = r->handle_len;
	}
	if (r->type == 105)
		s->attrs = r->attrs;
	if (r->type == 104 && r->count > 0)
		snprintf(s->name, sizeof(s->name), "%s", r->names[0].name);
}

static void
on_data(void *arg, uint32_t chan, const uint8_t *p, size_t n, bool ext)
{
	struct sess *s = arg;

	if (ext)
		(void)!write(2, p, n);
	else if (s->err == 0 && dssh_sftpc_input(s->sf, p, n) != 0)
		s->err = DSSH_ERR_PROTOCOL;
	dssh_client_consumed(s->cl, chan, n);
}

static void
on_closed(void *arg, uint32_t chan)
{
	struct sess *s = arg;

	s->closed = true;
	dssh_chan_close(dssh_client_conn(s->cl), chan);
}

static const struct dssh_client_chan_ops sess_ops = {
	.data = on_data,
	.closed = on_closed,
};

/* SFTP output into the channel, as far as the window goes. */
static void
sess_flush(struct sess *s)
{
	size_t len, sent;
	const uint8_t *p = dssh_sftpc_output(s->sf, &len);

	if (len == 0)
		return;
	sent = dssh_client_send(s->cl, s->chan, p, len);
	dssh_sftpc_output_consume(s->sf, sent);
}

static int
sess_step(struct sess *s)
{
	int r;

	sess_flush(s);
	if ((r = dssh_client_wait(s->cl, 1000)) != 0)
		return r;
	if (s->err != 0)
		return s->err;
	return s->closed ? DSSH_ERR_CONN_CLOSED : 0;
}

/* Wait for the reply to request id. */
static int
sess_call(struct sess *s, int r, uint32_t id)
{
	if (r != 0)
		return r;
	s->want = id;
	s->got = false;
	while (!s->got)
		if ((r = sess_step(s)) != 0)
			return r;
	return 0;
}

static bool
sftp_ready(struct sess *s)
{
	return dssh_sftpc_ready(s->sf);
}

static int
sess_open(struct sess *s)
{
	struct dssh_session_req req = { .type = DSSH_REQ_SUBSYSTEM, .name = "sftp" };
	int r;

	struct dssh_client_opts o = copts;

	memset(s, 0, sizeof(*s));
	if (dssh_crypto_engine_create("openssl", NULL, &s->engine) != 0)
		return DSSH_ERR_INTERNAL;
	o.engine = s->engine;
	if ((r = dssh_client_connect(&o, &s->cl)) != 0)
		return r;
	dssh_client_set_chan_ops(s->cl, &sess_ops, s);
	if ((r = dssh_client_session(s->cl, &req, &s->chan)) != 0) {
		fprintf(stderr, "dssh-cp: the server refused the sftp subsystem\n");
		return r;
	}
	if ((r = dssh_sftpc_new(on_reply, s, &s->sf)) != 0 || (r = dssh_sftpc_init(s->sf)) != 0)
		return r;
	while (!sftp_ready(s))
		if ((r = sess_step(s)) != 0)
			return r;
	return 0;
}

static void
sess_close(struct sess *s)
{
	if (s->cl != NULL) {
		if (!s->closed)
			dssh_chan_close(dssh_client_conn(s->cl), s->chan);
		dssh_client_close(s->cl);
	}
	dssh_client_free(s->cl);
	dssh_sftpc_free(s->sf);
	dssh_crypto_engine_free(s->engine);
	s->cl = NULL;
	s->sf = NULL;
	s->engine = NULL;
}

static int
status_ok(struct sess *s, const char *what, const char *path)
{
	if (s->type == 101 && s->status == DSSH_SFTPC_OK)
		return 0;
	fprintf(stderr, "dssh-cp: %s %s: %s\n", what, path,
	    s->msg[0] ? s->msg : "failure");
	return DSSH_ERR_PERMISSION;
}

/* ---- the pipelined range copy ---- */

static struct slot *
slot_of(struct xfer *x, uint32_t id)
{
	for (unsigned i = 0; i < MAX_INFLIGHT; i++)
		if (x->slots[i].used && x->slots[i].id == id)
			return &x->slots[i];
	return NULL;
}

static int
issue(struct sess *s, struct xfer *x, uint64_t off, uint32_t len)
{
	struct slot *sl = NULL;
	uint32_t id;
	int r;

	for (unsigned i = 0; i < MAX_INFLIGHT && sl == NULL; i++)
		if (!x->slots[i].used)
			sl = &x->slots[i];
	if (sl == NULL)
		return DSSH_ERR_INTERNAL;
	if (x->upload) {
		ssize_t n = pread(x->fd, x->buf, len, (off_t)off);

		if (n != (ssize_t)len)
			return DSSH_ERR_SYSTEM;
		r = dssh_sftpc_write(s->sf, x->h, x->hlen, off, x->buf, len, &id);
	} else {
		r = dssh_sftpc_read(s->sf, x->h, x->hlen, off, len, &id);
	}
	if (r != 0)
		return r;
	*sl = (struct slot){ .id = id, .off = off, .len = len, .used = true };
	x->n++;
	return 0;
}

static void
xfer_reply(struct sess *s, const struct dssh_sftpc_reply *r)
{
	struct xfer *x = s->x;
	struct slot *sl = slot_of(x, r->id);
	struct slot done;

	if (sl == NULL) {
		x->err = DSSH_ERR_PROTOCOL;
		return;
	}
	done = *sl;
	sl->used = false;
	x->n--;
	if (x->upload) {
		if (r->type != 101 || r->status != DSSH_SFTPC_OK) {
			fprintf(stderr, "dssh-cp: write: %s\n", r->msg ? r->msg : "failure");
			x->err = DSSH_ERR_PERMISSION;
			return;
		}
		atomic_fetch_add(&bytes_done, done.len);
		return;
	}
	if (r->type != 103 || r->len == 0 || r->len > done.len) {
		fprintf(stderr, "dssh-cp: read: %s\n", r->type == 101 && r->status == DSSH_SFTPC_EOF ?
		    "the file shrank" : r->msg ? r->msg : "bad reply");
		x->err = DSSH_ERR_PROTOCOL;
		return;
	}
	if (pwrite(x->fd, r->data, r->len, (off_t)done.off) != (ssize_t)r->len) {
		x->err = DSSH_ERR_SYSTEM;
		return;
	}
	atomic_fetch_add(&bytes_done, r->len);
	/* A short read: ask for the rest. */
	if (r->len < done.len && issue(s, x, done.off + r->len, done.len - (uint32_t)r->len) != 0)
		x->err = DSSH_ERR_INTERNAL;
}

/*
 * The journal's done offset of a range: everything below the oldest
 * request still in flight (replies may come in any order) is in the
 * target. Written every MiB and at the end: a killed copy redoes at most
 * that much plus what was in flight.
 */
static void
journal_mark(struct xfer *x, bool final)
{
	uint64_t wm = x->next;
	uint8_t b[8];

	if (x->jfd < 0)
		return;
	for (unsigned i = 0; i < MAX_INFLIGHT; i++)
		if (x->slots[i].used && x->slots[i].off < wm)
			wm = x->slots[i].off;
	if (!final && wm < x->jdone + (1u << 20))
		return;
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(wm >> (56 - 8 * i));
	if (pwrite(x->jfd, b, 8, x->jofs) == 8)
		x->jdone = wm;
}

static int
copy_range(struct sess *s, struct xfer *x)
{
	int r = 0;

	s->x = x;
	s->want = 0;
	while (r == 0 && x->err == 0 && (x->next < x->end || x->n > 0)) {
		size_t pending;

		dssh_sftpc_output(s->sf, &pending);
		while (x->next < x->end && x->n < MAX_INFLIGHT && pending < 4u * 1024 * 1024) {
			uint32_t len = x->end - x->next < CHUNK ? (uint32_t)(x->end - x->next) : CHUNK;

			if ((r = issue(s, x, x->next, len)) != 0)
				break;
			x->next += len;
			dssh_sftpc_output(s->sf, &pending);
		}
		if (r == 0)
			r = sess_step(s);
		journal_mark(x, false);
	}
	s->x = NULL;
	if (r == 0 && x->err == 0)
		journal_mark(x, true);
	return r != 0 ? r : x->err;
}

/* ---- the job ---- */

struct job {
	bool upload;
	const char *local, *remote;   /* remote: the resolved path */
	uint64_t size;
	uint32_t mtime;               /* the source's, part of the journal's name */
	unsigned streams;
	bool keep_partial;            /* -R: never start over */
	/* The journal (resume): the ranges and how far each got. */
	char jpath[4096];
	int jfd;
	uint64_t start[MAX_STREAMS], end[MAX_STREAMS], done[MAX_STREAMS];
	bool resumed;
	uint64_t skipped;             /* bytes an earlier run had copied */
};

struct worker {
	struct job *job;
	unsigned idx;
	uint64_t off, end;
	pthread_t th;
	int r;
};

static int
open_remote(struct sess *s, const char *path, uint32_t flags)
{
	uint32_t id;
	int r = dssh_sftpc_open(s->sf, path, flags, NULL, &id);

	if ((r = sess_call(s, r, id)) != 0)
		return r;
	if (s->type != 102) {
		fprintf(stderr, "dssh-cp: %s: %s\n", path, s->msg[0] ? s->msg : "cannot open");
		return DSSH_ERR_PERMISSION;
	}
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct job *j = w->job;
	struct sess s;
	struct xfer x = { .upload = j->upload, .next = w->off, .end = w->end, .jfd = j->jfd,
	    .jofs = (off_t)(JOURNAL_HDR + 24 * w->idx + 16), .jdone = w->off };
	uint8_t handle[DSSH_SFTPC_HANDLE_MAX];
	uint32_t id;
	int r;

	x.fd = open(j->local, j->upload ? O_RDONLY | O_CLOEXEC : O_WRONLY | O_CLOEXEC);
	if (x.fd < 0 || (x.buf = malloc(CHUNK)) == NULL) {
		fprintf(stderr, "dssh-cp: %s: %s\n", j->local, strerror(errno));
		w->r = DSSH_ERR_SYSTEM;
		goto out;
	}
	if ((r = sess_open(&s)) != 0 ||
	    (r = open_remote(&s, j->remote, j->upload ? DSSH_SFTPC_WRITE : DSSH_SFTPC_READ)) != 0)
		goto done;
	memcpy(handle, s.handle, s.hlen);
	x.h = handle;
	x.hlen = s.hlen;
	r = copy_range(&s, &x);
	if (r == 0) {
		r = dssh_sftpc_close(s.sf, handle, x.hlen, &id);
		if ((r = sess_call(&s, r, id)) == 0)
			r = status_ok(&s, "close", j->remote);
	}
done:
	sess_close(&s);
	w->r = r;
out:
	if (x.fd >= 0)
		close(x.fd);
	free(x.buf);
	if (w->r != 0)
		atomic_store(&failed, 1);
	return NULL;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
human(double v, char *out, size_t n)
{
	const char *u = "B";

	if (v >= 1024.0 * 1024 * 1024) {
		v /= 1024.0 * 1024 * 1024;
		u = "GiB";
	} else if (v >= 1024.0 * 1024) {
		v /= 1024.0 * 1024;
		u = "MiB";
	} else if (v >= 1024.0) {
		v /= 1024.0;
		u = "KiB";
	}
	snprintf(out, n, "%.1f%s", v, u);
}

static void
progress(const char *name, uint64_t done, uint64_t skipped, uint64_t total, double t,
    bool final)
{
	char a[32], rate[32];
	double pct = total ? 100.0 * (double)done / (double)total : 100.0;
	double bps = t > 0 && done > skipped ? (double)(done - skipped) / t : 0;
	unsigned eta = bps > 0 && done < total ? (unsigned)((double)(total - done) / bps) : 0;

	human((double)done, a, sizeof(a));
	human(bps, rate, sizeof(rate));
	fprintf(stderr, "\r%-30.30s %3.0f%% %10s %10s/s %02u:%02u %s", name, pct, a, rate,
	    eta / 60, eta % 60, final ? "    \n" : "ETA ");
}

static int
run_workers(struct job *j)
{
	struct worker w[MAX_STREAMS];
	uint64_t per = j->size / j->streams;
	bool tty = !quiet && isatty(2);
	double t0 = now_s();
	unsigned n = j->streams;

	(void)per;
	for (unsigned i = 0; i < n; i++) {
		w[i].job = j;
		w[i].idx = i;
		w[i].off = j->done[i];
		w[i].end = j->end[i];
		w[i].r = 0;
		atomic_fetch_add(&bytes_done, j->done[i] - j->start[i]);
		j->skipped += j->done[i] - j->start[i];
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0) {
			n = i;
			atomic_store(&failed, 1);
			break;
		}
	}
	/* Progress while they run: the workers are joined in order, the bar
	 * keeps being drawn by polling the counter between the joins. */
	for (unsigned i = 0; i < n; i++) {
		while (tty) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 250 * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			if (pthread_timedjoin_np(w[i].th, NULL, &ts) == 0)
				break;
			progress(j->local, atomic_load(&bytes_done), j->skipped, j->size,
			    now_s() - t0, false);
		}
		if (!tty)
			pthread_join(w[i].th, NULL);
	}
	double t = now_s() - t0;

	if (tty)
		progress(j->local, atomic_load(&bytes_done), j->skipped, j->size, t, true);
	if (!quiet && !atomic_load(&failed)) {
		char a[32], rate[32];

		/* The rate of what this run moved (a resumed copy had a head start). */
		uint64_t moved = j->size - j->skipped;

		human((double)j->size, a, sizeof(a));
		human(t > 0 ? (double)moved / t : 0, rate, sizeof(rate));
		fprintf(stderr, "%s %s %s: %llu bytes (%s) in %.2f s, %s/s, %u stream%s%s\n",
		    j->local, j->upload ? "->" : "<-", j->remote, (unsigned long long)j->size, a, t,
		    rate, j->streams, j->streams == 1 ? "" : "s", j->resumed ? ", resumed" : "");
	}
	return atomic_load(&failed) ? -1 : 0;
}

/* ---- the journal ---- */

/*
 * Resume. With N streams writing at once, a short target is no copied
 * prefix, so the size alone cannot say what is done: a journal can.
 * ~/.cache/dssh-cp/<sha256 of direction, user, host, port, both paths,
 * size, source mtime> holds "DSSHCP1\n", the range count, and per range
 * start, end and done (big-endian u64s); the workers advance done as
 * their ranges complete. A copy whose journal exists goes on from it
 * (with its ranges, whatever -n says); a finished one removes it.
 */

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
journal_name(struct job *j)
{
	char key[8192], local[4096], hex[65];
	uint8_t md[32];
	unsigned mdlen = 0;
	const char *home = getenv("HOME");

	/* The directory made absolute (a download's target may not exist yet). */
	char *d = strdup(j->local), *b = strdup(j->local), dabs[4096];

	int w = -1;

	if (d != NULL && b != NULL && realpath(dirname(d), dabs) != NULL)
		w = snprintf(local, sizeof(local), "%s/%s", dabs, basename(b));
	if (w < 0 || (size_t)w >= sizeof(local))
		snprintf(local, sizeof(local), "%s", j->local);
	free(d);
	free(b);
	snprintf(key, sizeof(key), "%s\n%s\n%s\n%d\n%s\n%s\n%llu\n%u",
	    j->upload ? "up" : "down", copts.user ? copts.user : "", copts.host, copts.port,
	    j->remote, local, (unsigned long long)j->size, j->mtime);
	EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(j->jpath, sizeof(j->jpath), "%s/.cache", home ? home : "/tmp");
	(void)mkdir(j->jpath, 0700);
	snprintf(j->jpath, sizeof(j->jpath), "%s/.cache/dssh-cp", home ? home : "/tmp");
	(void)mkdir(j->jpath, 0700);
	snprintf(j->jpath + strlen(j->jpath), sizeof(j->jpath) - strlen(j->jpath), "/%s", hex);
}

/* 0: an earlier copy's journal, ranges loaded; -1: none (or unusable). */
static int
journal_load(struct job *j)
{
	uint8_t b[JOURNAL_HDR + 24 * MAX_STREAMS];
	ssize_t n;
	uint32_t cnt;
	uint64_t at = 0;

	if ((j->jfd = open(j->jpath, O_RDWR | O_CLOEXEC)) < 0)
		return -1;
	n = pread(j->jfd, b, sizeof(b), 0);
	if (n < JOURNAL_HDR || memcmp(b, JOURNAL_MAGIC, 8) != 0)
		goto bad;
	cnt = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
	if (cnt < 1 || cnt > MAX_STREAMS || n != (ssize_t)(JOURNAL_HDR + 24 * cnt))
		goto bad;
	for (uint32_t i = 0; i < cnt; i++) {
		j->start[i] = get64(b + JOURNAL_HDR + 24 * i);
		j->end[i] = get64(b + JOURNAL_HDR + 24 * i + 8);
		j->done[i] = get64(b + JOURNAL_HDR + 24 * i + 16);
		/* The ranges tile [0, size) in order, done within each. */
		if (j->start[i] != at || j->end[i] < j->start[i] || j->done[i] < j->start[i] ||
		    j->done[i] > j->end[i])
			goto bad;
		at = j->end[i];
	}
	if (at != j->size)
		goto bad;
	j->streams = cnt;
	j->resumed = true;
	return 0;
bad:
	close(j->jfd);
	j->jfd = -1;
	return -1;
}

static int
journal_create(struct job *j)
{
	uint8_t b[JOURNAL_HDR + 24 * MAX_STREAMS];
	uint64_t per = (j->size / j->streams + CHUNK - 1) / CHUNK * CHUNK;
	size_t len = JOURNAL_HDR + 24 * (size_t)j->streams;

	memcpy(b, JOURNAL_MAGIC, 8);
	b[8] = b[9] = b[10] = 0;
	b[11] = (uint8_t)j->streams;
	for (unsigned i = 0; i < j->streams; i++) {
		j->start[i] = (uint64_t)i * per < j->size ? (uint64_t)i * per : j->size;
		j->end[i] = i + 1 == j->streams || j->start[i] + per > j->size ? j->size :
		    j->start[i] + per;
		j->done[i] = j->start[i];
		put64(b + JOURNAL_HDR + 24 * i, j->start[i]);
		put64(b + JOURNAL_HDR + 24 * i + 8, j->end[i]);
		put64(b + JOURNAL_HDR + 24 * i + 16, j->done[i]);
	}
	j->jfd = open(j->jpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (j->jfd >= 0 && pwrite(j->jfd, b, len, 0) != (ssize_t)len) {
		close(j->jfd);
		j->jfd = -1;
	}
	return 0;   /* without a journal the copy still works, it just cannot resume */
}

static void
journal_done(struct job *j, bool ok)
{
	if (j->jfd >= 0)
		close(j->jfd);
	j->jfd = -1;
	if (ok)
		unlink(j->jpath);
}

/* Resume when an earlier copy left a journal, else start over. */
static bool
journal_begin(struct job *j)
{
	journal_name(j);
	if (journal_load(j) == 0) {
		if (!quiet)
			fprintf(stderr, "dssh-cp: resuming the copy to %s\n",
			    j->upload ? j->remote : j->local);
		return true;
	}
	if (j->keep_partial)
		fprintf(stderr, "dssh-cp: -R: no interrupted copy to resume, starting over\n");
	journal_create(j);
	return false;
}

/* ---- the two directions ---- */

static int
remote_stat(struct sess *s, const char *path, struct dssh_sftpc_attrs *a)
{
	uint32_t id;
	int r = dssh_sftpc_stat(s->sf, path, true, &id);

	if ((r = sess_call(s, r, id)) != 0)
		return r;
	if (s->type != 105)
		return DSSH_ERR_NOT_FOUND;
	*a = s->attrs;
	return 0;
}

static int
upload(struct job *j, const char *rpath, bool keep)
{
	struct sess s;
	struct stat st;
	struct dssh_sftpc_attrs a, set;
	char target[4096];
	uint32_t id;
	int r;

	if (stat(j->local, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "dssh-cp: %s: %s\n", j->local, errno ? strerror(errno) :
		    "not a regular file");
		return -1;
	}
	j->size = (uint64_t)st.st_size;
	j->mtime = (uint32_t)st.st_mtime;
	if ((r = sess_open(&s)) != 0)
		goto out;
	char *lc = strdup(j->local);

	/* A directory (or "host:") as the target: the file's name in it. */
	if (rpath[0] == '\0' || (remote_stat(&s, rpath, &a) == 0 && (a.perm & S_IFMT) == S_IFDIR))
		snprintf(target, sizeof(target), "%s%s%s", rpath,
		    rpath[0] && rpath[strlen(rpath) - 1] != '/' ? "/" : "", basename(lc));
	else
		snprintf(target, sizeof(target), "%s", rpath);
	free(lc);
	j->remote = target;
	bool resume = journal_begin(j);

	/* Created and truncated once (kept when resuming); each stream then
	 * writes its range. */
	set = (struct dssh_sftpc_attrs){ .flags = DSSH_SFTPC_ATTR_PERM, .perm = st.st_mode & 07777 };
	r = dssh_sftpc_open(s.sf, target, DSSH_SFTPC_WRITE | DSSH_SFTPC_CREAT |
	    (resume ? 0 : DSSH_SFTPC_TRUNC), &set, &id);
	if ((r = sess_call(&s, r, id)) != 0)
		goto out;
	if (s.type != 102) {
		fprintf(stderr, "dssh-cp: %s: %s\n", target, s.msg[0] ? s.msg : "cannot create");
		r = -1;
		goto out;
	}
	r = dssh_sftpc_close(s.sf, s.handle, s.hlen, &id);
	if ((r = sess_call(&s, r, id)) != 0)
		goto out;
	r = run_workers(j);
	journal_done(j, r == 0);
	if (r != 0)
		goto out;
	if (keep) {
		set = (struct dssh_sftpc_attrs){ .flags = DSSH_SFTPC_ATTR_PERM | DSSH_SFTPC_ATTR_TIMES,
		    .perm = st.st_mode & 07777, .atime = (uint32_t)st.st_atime,
		    .mtime = (uint32_t)st.st_mtime };
		r = dssh_sftpc_setstat(s.sf, target, &set, &id);
		if ((r = sess_call(&s, r, id)) == 0)
			r = status_ok(&s, "setstat", target);
	}
out:
	sess_close(&s);
	return r;
}

static int
download(struct job *j, const char *rpath, bool keep)
{
	struct sess s;
	struct dssh_sftpc_attrs a;
	struct stat st;
	static char target[4096];
	int fd, r;

	if ((r = sess_open(&s)) != 0)
		goto out;
	if ((r = remote_stat(&s, rpath, &a)) != 0) {
		fprintf(stderr, "dssh-cp: %s: %s\n", rpath, s.msg[0] ? s.msg : "no such file");
		goto out;
	}
	if ((a.perm & S_IFMT) != S_IFREG || !(a.flags & DSSH_SFTPC_ATTR_SIZE)) {
		fprintf(stderr, "dssh-cp: %s: not a regular file\n", rpath);
		r = -1;
		goto out;
	}
	j->size = a.size;
	j->mtime = a.mtime;
	j->remote = rpath;
	if (stat(j->local, &st) == 0 && S_ISDIR(st.st_mode)) {
		char *rc = strdup(rpath);

		snprintf(target, sizeof(target), "%s/%s", j->local, basename(rc));
		free(rc);
		j->local = target;
	}
	bool resume = journal_begin(j);

	if ((fd = open(j->local, O_WRONLY | O_CREAT | (resume ? 0 : O_TRUNC) | O_CLOEXEC,
	    (a.flags & DSSH_SFTPC_ATTR_PERM) ? a.perm & 0777 : 0644)) < 0 ||
	    ftruncate(fd, (off_t)j->size) != 0) {
		fprintf(stderr, "dssh-cp: %s: %s\n", j->local, strerror(errno));
		r = -1;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	r = run_workers(j);
	journal_done(j, r == 0);
	if (r == 0 && keep) {
		struct timespec ts[2] = { { .tv_sec = a.atime }, { .tv_sec = a.mtime } };

		if (fchmod(fd, a.perm & 07777) != 0 ||
		    ((a.flags & DSSH_SFTPC_ATTR_TIMES) && futimens(fd, ts) != 0))
			r = -1;
	}
	close(fd);
out:
	sess_close(&s);
	return r;
}

/* "[user@]host:path" (not a local path with a colon after a slash). */
static bool
is_remote(const char *s)
{
	const char *colon = strchr(s, ':'), *slash = strchr(s, '/');

	if (s[0] == '[')
		colon = strstr(s, "]:") ? strstr(s, "]:") + 1 : NULL;
	return colon != NULL && colon != s && (slash == NULL || colon < slash);
}

static const char *
split_remote(char *spec)
{
	char *colon = strstr(spec, "]:");

	if (colon != NULL)
		colon++;
	else
		colon = strchr(spec, ':');
	*colon = '\0';
	dssh_cliopt_userhost(&copts, spec);
	return colon + 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: dssh-cp [-pqv] [-c cipher] [-i identity_file] [-n streams]\n"
	    "               [-o ssh_option] [-P port] source target\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	struct job j = { .streams = 1 };
	bool keep = false;
	int ch, verbose = 0, r;

	dssh_client_opts_init(&copts);
	j.jfd = -1;
	while ((ch = getopt(argc, argv, "346BCpqRrTvc:F:i:l:n:o:P:S:")) != -1) {
		switch (dssh_cliopt_common(&copts, ch, optarg)) {
		case 1:
			continue;
		case -1:
			exit(1);
		}
		switch (ch) {
		case 'P':
			copts.port = atoi(optarg);
			break;
		case 'n':
			j.streams = (unsigned)atoi(optarg);
			if (j.streams < 1 || j.streams > MAX_STREAMS) {
				fprintf(stderr, "dssh-cp: -n: 1 to %d streams\n", MAX_STREAMS);
				exit(1);
			}
			break;
		case 'p':
			keep = true;
			break;
		case 'R':
			j.keep_partial = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'B':
			copts.batch = true;
			break;
		case 'r':
			fprintf(stderr, "dssh-cp: -r: directories are not copied yet\n");
			exit(1);
		case '3': case '4': case '6': case 'C': case 'T': case 'F': case 'l': case 'S':
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	copts.quiet = quiet;
	dssh_cliopt_log("dssh-cp", verbose, quiet);
	signal(SIGPIPE, SIG_IGN);
	char *src = argv[optind], *dst = argv[optind + 1];
	const char *rpath;

	if (is_remote(src) == is_remote(dst)) {
		fprintf(stderr, "dssh-cp: exactly one of source and target is remote\n");
		return 1;
	}
	j.upload = is_remote(dst);
	j.local = j.upload ? src : dst;
	rpath = split_remote(j.upload ? dst : src);
	r = j.upload ? upload(&j, rpath, keep) : download(&j, rpath, keep);
	return r == 0 ? 0 : 1;
}
