/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh-cp: copy a file, or with -r a directory tree, to or from an SFTP
 * server, scp's command line ([user@]host:path on one side). The copy is
 * planned first (the tree walked, directories made, targets created) as a
 * list of ranges: a large file is split into up to N ranges (-n). N
 * threads, each over its own SSH connection with many SFTP requests in
 * flight, take the ranges of the whole tree from one queue. -p keeps
 * modes and times (a directory's after its contents); a progress bar with
 * rate and ETA on a terminal, a summary at the end. With -o DpdkArgs= the
 * connections are on a DPDK port of our own (dpdkopt.h): the threads take
 * turns on it, one at a time, each passing it on at its waits.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
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
#include "cppath.h"
#include "dpdkopt.h"
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
#define TREE_MAGIC "DSSHCPT\n"        /* a tree copy under way: see tree_begin() */
#define MIN_RANGE (1u << 20)           /* no file is split into shorter ranges */
/* Smaller files have no journal: it is advanced per MiB, and a file of one
 * range this short is soon copied again. */
#define JOURNAL_MIN (4u << 20)

/* ---- one SFTP session over one connection ---- */

/* A directory listing, as READDIR replies bring it. */
struct rname {
	char *name;
	struct dssh_sftpc_attrs a;
};

struct listing {
	struct rname *v;
	size_t n, cap;
	bool nomem;
};

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
	/* Compare mode: read the remote range and compare it with fd. */
	bool compare, mismatch;
	uint64_t compared;
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
	struct listing *list;         /* READDIR's names go here */
	struct xfer *x;
};

static struct dssh_client_opts copts;
static struct dssh_dpdkopt dpdk;
static _Atomic uint64_t bytes_done;
static atomic_int failed;
static bool quiet;

static void
xfer_reply(struct sess *s, const struct dssh_sftpc_reply *r);

static void
list_add(struct listing *l, const struct dssh_sftpc_reply *r)
{
	for (uint32_t i = 0; i < r->count && !l->nomem; i++) {
		if (l->n == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 64;
			struct rname *v = realloc(l->v, cap * sizeof(*v));

			if (v == NULL) {
				l->nomem = true;
				break;
			}
			l->v = v;
			l->cap = cap;
		}
		if ((l->v[l->n].name = strdup(r->names[i].name)) == NULL) {
			l->nomem = true;
			break;
		}
		l->v[l->n++].a = r->names[i].attrs;
	}
}

static void
list_free(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

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
	if (r->type == 104 && s->list != NULL)
		list_add(s->list, r);
	else if (r->type == 104 && r->count > 0)
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

/*
 * One wait for the connection. A DPDK port (no descriptor) is polled once,
 * not for a second (the other streams' bytes would wait in their TCP
 * buffers meanwhile), then the next stream in line has its turn.
 */
static int
sess_step(struct sess *s)
{
	int r;

	sess_flush(s);
	r = dssh_client_wait(s->cl, dssh_client_fd(s->cl) < 0 ? 0 : 1000);
	dssh_turn_pass(&dpdk.turn);
	if (r != 0)
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
	if (dssh_crypto_engine_create(DSSH_CRYPTO_ENGINE_AUTO, NULL, &s->engine) != 0)
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
	if (x->upload && !x->compare) {
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

/* A read of compare mode: a short file or different bytes end the compare. */
static void
compare_reply(struct sess *s, struct xfer *x, const struct dssh_sftpc_reply *r,
    const struct slot *done)
{
	if (x->mismatch)
		return;
	if (r->type != 103 || r->len == 0 || r->len > done->len ||
	    pread(x->fd, x->buf, r->len, (off_t)done->off) != (ssize_t)r->len ||
	    memcmp(x->buf, r->data, r->len) != 0) {
		x->mismatch = true;
		x->next = x->end;     /* issue no more; what is in flight drains */
		return;
	}
	x->compared += r->len;
	atomic_fetch_add(&bytes_done, r->len);
	if (r->len < done->len && issue(s, x, done->off + r->len, done->len - (uint32_t)r->len) != 0)
		x->err = DSSH_ERR_INTERNAL;
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
	if (x->upload && !x->compare) {
		if (r->type != 101 || r->status != DSSH_SFTPC_OK) {
			fprintf(stderr, "dssh-cp: write: %s\n", r->msg ? r->msg : "failure");
			x->err = DSSH_ERR_PERMISSION;
			return;
		}
		atomic_fetch_add(&bytes_done, done.len);
		return;
	}
	if (x->compare) {
		compare_reply(s, x, r, &done);
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

/* ---- the plan: files, directories and the queue of ranges ---- */

struct cfile {
	char *local, *remote;
	char *jpath;                  /* its journal, NULL none */
	uint64_t size;
	uint32_t perm, atime, mtime;
	unsigned nr;                  /* ranges */
	uint64_t *rng;                /* nr x (start, end, done) */
	bool verify;                  /* resumed tree, no journal: compare first */
	bool trunc;                   /* created and truncated by its (one) worker */
	unsigned left;                /* ranges not finished (under plan.mu) */
	bool bad;
};

struct cdir {
	char *local, *remote;
	uint32_t perm, atime, mtime;
	bool created;
};

struct item {
	uint32_t file, range;
};

static struct plan {
	bool upload, keep, tree, tree_resume, resumed, keep_partial;
	unsigned streams;
	const char *label;            /* the source as given */
	char *root;                   /* the target as resolved */
	struct cfile *f;
	size_t nf, capf;
	struct cdir *d;
	size_t nd, capd;
	struct item *it;
	size_t nit, capit, next;      /* next: under mu */
	pthread_mutex_t mu;
	uint64_t total;
	mode_t umask;                 /* ours, read once: umask() is the process's */
	_Atomic uint64_t skipped;     /* bytes an earlier run had copied */
	char tpath[4096];             /* the tree's journal */
} plan = { .streams = 1, .mu = PTHREAD_MUTEX_INITIALIZER };

static void
fail(void)
{
	atomic_store(&failed, 1);
}

static void *
grow(void *v, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? 2 * *cap : 16;
	void *p;

	if (n < *cap)
		return v;
	if ((p = realloc(v, c * size)) == NULL) {
		fprintf(stderr, "dssh-cp: out of memory\n");
		exit(1);
	}
	*cap = c;
	return p;
}

/*
 * A target is created writable by its owner whatever the source's mode,
 * since every stream opens it again to write its range; a mode without
 * that is set when the file is complete.
 */
static uint32_t
create_perm(uint32_t perm)
{
	return (perm & 07777) | 0600;
}

static unsigned
ranges_for(uint64_t size)
{
	uint64_t n = size / MIN_RANGE;

	if (n < 1)
		n = 1;
	return n < plan.streams ? (unsigned)n : plan.streams;
}

/* Equal ranges (CHUNK multiples) tiling [0, size). */
static void
split(struct cfile *f, unsigned nr)
{
	uint64_t per = (f->size / nr + CHUNK - 1) / CHUNK * CHUNK;

	if (per == 0)
		per = CHUNK;
	f->nr = nr;
	if ((f->rng = calloc(3 * (size_t)nr, sizeof(uint64_t))) == NULL)
		exit(1);
	for (unsigned i = 0; i < nr; i++) {
		uint64_t *g = f->rng + 3 * i;

		g[0] = (uint64_t)i * per < f->size ? (uint64_t)i * per : f->size;
		g[1] = i + 1 == nr || g[0] + per > f->size ? f->size : g[0] + per;
		g[2] = g[0];
	}
}

/* ---- the journals ---- */

/*
 * Resume. With N streams writing at once, a short target is no copied
 * prefix, so the size alone cannot say what is done: a journal can.
 * ~/.cache/dssh-cp/<sha256 of direction, user, host, port, both paths,
 * size, source mtime> holds "DSSHCP1\n", the range count, and per range
 * start, end and done (big-endian u64s); the workers advance done as
 * their ranges complete. A copy whose journal exists goes on from it
 * (with its ranges, whatever -n says); a finished one removes it.
 *
 * A tree copy has one more, named by the direction, the server and both
 * roots, that only says "a copy of this tree is under way": run again
 * after an interruption, files that have a journal go on from it, and
 * targets of the source's size without one are compared range by range
 * with the source (the remote bytes read and compared), kept where equal.
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

/* A local path made absolute by its directory (the target may not exist). */
static void
abs_local(const char *path, char *out, size_t n)
{
	char *d = strdup(path), *b = strdup(path), dabs[4096];
	int w = -1;

	if (d != NULL && b != NULL && realpath(dirname(d), dabs) != NULL)
		w = snprintf(out, n, "%s/%s", dabs, basename(b));
	if (w < 0 || (size_t)w >= n)
		snprintf(out, n, "%s", path);
	free(d);
	free(b);
}

/* ~/.cache/dssh-cp/<sha256 of key, hex> */
static void
journal_path(const char *key, char *out, size_t n)
{
	uint8_t md[32];
	unsigned mdlen = 0;
	char hex[65];
	const char *home = getenv("HOME");

	EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(out, n, "%s/.cache", home ? home : "/tmp");
	(void)mkdir(out, 0700);
	snprintf(out, n, "%s/.cache/dssh-cp", home ? home : "/tmp");
	(void)mkdir(out, 0700);
	snprintf(out + strlen(out), n - strlen(out), "/%s", hex);
}

static char *
file_journal_name(const struct cfile *f)
{
	char local[4096], path[4096];
	char *key;

	abs_local(f->local, local, sizeof(local));
	if (asprintf(&key, "%s\n%s\n%s\n%d\n%s\n%s\n%llu\n%u", plan.upload ? "up" : "down",
	    copts.user ? copts.user : "", copts.host, copts.port, f->remote, local,
	    (unsigned long long)f->size, f->mtime) < 0)
		return NULL;
	journal_path(key, path, sizeof(path));
	free(key);
	return strdup(path);
}

/* 0: an earlier copy's journal, ranges loaded; -1: none (or unusable). */
static int
journal_load(struct cfile *f)
{
	uint8_t b[JOURNAL_HDR + 24 * MAX_STREAMS];
	ssize_t n;
	uint32_t cnt;
	uint64_t at = 0;
	int fd;

	if ((fd = open(f->jpath, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = pread(fd, b, sizeof(b), 0);
	close(fd);
	if (n < JOURNAL_HDR || memcmp(b, JOURNAL_MAGIC, 8) != 0)
		return -1;
	cnt = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
	if (cnt < 1 || cnt > MAX_STREAMS || n != (ssize_t)(JOURNAL_HDR + 24 * cnt))
		return -1;
	split(f, cnt);
	for (uint32_t i = 0; i < cnt; i++) {
		uint64_t *g = f->rng + 3 * i;

		for (int k = 0; k < 3; k++)
			g[k] = get64(b + JOURNAL_HDR + 24 * i + 8 * k);
		/* The ranges tile [0, size) in order, done within each. */
		if (g[0] != at || g[1] < g[0] || g[2] < g[0] || g[2] > g[1]) {
			free(f->rng);
			f->rng = NULL;
			return -1;
		}
		at = g[1];
	}
	if (at == f->size)
		return 0;
	free(f->rng);
	f->rng = NULL;
	return -1;
}

static void
journal_create(struct cfile *f)
{
	uint8_t b[JOURNAL_HDR + 24 * MAX_STREAMS];
	size_t len = JOURNAL_HDR + 24 * (size_t)f->nr;
	int fd;

	memcpy(b, JOURNAL_MAGIC, 8);
	b[8] = b[9] = b[10] = 0;
	b[11] = (uint8_t)f->nr;
	for (unsigned i = 0; i < f->nr; i++)
		for (int k = 0; k < 3; k++)
			put64(b + JOURNAL_HDR + 24 * i + 8 * k, f->rng[3 * i + k]);
	fd = open(f->jpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	/* Without a journal the copy still works, it just cannot resume. */
	if (fd < 0 || pwrite(fd, b, len, 0) != (ssize_t)len) {
		free(f->jpath);
		f->jpath = NULL;
	}
	if (fd >= 0)
		close(fd);
}

/* Is there a journal of an interrupted copy of this tree? (path: its name) */
static bool
tree_found(const char *local, const char *remote, char *path, size_t n)
{
	char abs[4096], *key, b[8];
	bool ok = false;
	int fd;

	abs_local(local, abs, sizeof(abs));
	if (asprintf(&key, "tree\n%s\n%s\n%s\n%d\n%s\n%s", plan.upload ? "up" : "down",
	    copts.user ? copts.user : "", copts.host, copts.port, remote, abs) < 0)
		exit(1);
	journal_path(key, path, n);
	free(key);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		ok = read(fd, b, 8) == 8 && memcmp(b, TREE_MAGIC, 8) == 0;
		close(fd);
	}
	return ok;
}

/* The tree's journal: true when an interrupted copy of it is resumed. */
static bool
tree_begin(const char *local, const char *remote)
{
	int fd;

	if (tree_found(local, remote, plan.tpath, sizeof(plan.tpath)))
		return true;
	if ((fd = open(plan.tpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0) {
		(void)!write(fd, TREE_MAGIC, 8);
		close(fd);
	}
	return false;
}

/* ---- remote calls of the planning session ---- */

static int
remote_stat(struct sess *s, const char *path, bool follow, struct dssh_sftpc_attrs *a)
{
	uint32_t id;
	int r = dssh_sftpc_stat(s->sf, path, follow, &id);

	if ((r = sess_call(s, r, id)) != 0)
		return r;
	if (s->type != 105)
		return DSSH_ERR_NOT_FOUND;
	*a = s->attrs;
	return 0;
}

/* One handle request and its close, for creating a file. */
static int
remote_create(struct sess *s, const char *path, uint32_t perm)
{
	struct dssh_sftpc_attrs set = { .flags = DSSH_SFTPC_ATTR_PERM, .perm = create_perm(perm) };
	uint32_t id;
	int r = dssh_sftpc_open(s->sf, path, DSSH_SFTPC_WRITE | DSSH_SFTPC_CREAT | DSSH_SFTPC_TRUNC,
	    &set, &id);

	if ((r = sess_call(s, r, id)) != 0)
		return r;
	if (s->type != 102) {
		fprintf(stderr, "dssh-cp: %s: %s\n", path, s->msg[0] ? s->msg : "cannot create");
		return DSSH_ERR_PERMISSION;
	}
	r = dssh_sftpc_close(s->sf, s->handle, s->hlen, &id);
	return sess_call(s, r, id);
}

static int
remote_setstat(struct sess *s, const char *path, uint32_t perm, uint32_t atime,
    uint32_t mtime, bool times)
{
	struct dssh_sftpc_attrs set = { .flags = DSSH_SFTPC_ATTR_PERM, .perm = perm & 07777,
	    .atime = atime, .mtime = mtime };
	uint32_t id;
	int r;

	if (times)
		set.flags |= DSSH_SFTPC_ATTR_TIMES;
	r = dssh_sftpc_setstat(s->sf, path, &set, &id);
	if ((r = sess_call(s, r, id)) != 0)
		return r;
	return status_ok(s, "setstat", path);
}

/* mkdir, or an existing directory: 0 (created tells which). */
static int
remote_mkdir(struct sess *s, const char *path, uint32_t perm, bool *created)
{
	/* Writable by us until its contents are in; its mode comes after. */
	struct dssh_sftpc_attrs set = { .flags = DSSH_SFTPC_ATTR_PERM, .perm = (perm & 07777) | 0700 };
	struct dssh_sftpc_attrs a;
	uint32_t id;
	int r = dssh_sftpc_mkdir(s->sf, path, &set, &id);

	if ((r = sess_call(s, r, id)) != 0)
		return r;
	*created = s->type == 101 && s->status == DSSH_SFTPC_OK;
	if (*created)
		return 0;
	if (remote_stat(s, path, true, &a) == 0 && (a.perm & S_IFMT) == S_IFDIR)
		return 0;
	fprintf(stderr, "dssh-cp: %s: %s\n", path, s->msg[0] ? s->msg : "cannot make the directory");
	return DSSH_ERR_PERMISSION;
}

/* The whole listing of a remote directory. */
static int
remote_list(struct sess *s, const char *path, struct listing *l)
{
	uint8_t h[DSSH_SFTPC_HANDLE_MAX];
	size_t hlen;
	uint32_t id;
	int r = dssh_sftpc_opendir(s->sf, path, &id);

	if ((r = sess_call(s, r, id)) != 0)
		return r;
	if (s->type != 102) {
		fprintf(stderr, "dssh-cp: %s: %s\n", path, s->msg[0] ? s->msg : "cannot list");
		return DSSH_ERR_PERMISSION;
	}
	memcpy(h, s->handle, s->hlen);
	hlen = s->hlen;
	s->list = l;
	do {
		r = dssh_sftpc_readdir(s->sf, h, hlen, &id);
		r = sess_call(s, r, id);
	} while (r == 0 && s->type == 104 && !l->nomem);
	s->list = NULL;
	if (r == 0 && (l->nomem || s->type != 101 || s->status != DSSH_SFTPC_EOF)) {
		fprintf(stderr, "dssh-cp: %s: %s\n", path, l->nomem ? "out of memory" :
		    s->msg[0] ? s->msg : "cannot list");
		r = DSSH_ERR_PERMISSION;
	}
	if (s->cl != NULL && !s->closed && s->err == 0) {
		int c = dssh_sftpc_close(s->sf, h, hlen, &id);

		c = sess_call(s, c, id);
		if (r == 0)
			r = c;
	}
	return r;
}

/* ---- planning ---- */

static void
add_item(uint32_t file, uint32_t range)
{
	plan.it = grow(plan.it, &plan.capit, plan.nit, sizeof(*plan.it));
	plan.it[plan.nit++] = (struct item){ .file = file, .range = range };
}

/* A target's size, or -1 when it has none. */
static int64_t
target_size(struct sess *s, const char *local, const char *remote)
{
	struct dssh_sftpc_attrs a;
	struct stat st;

	if (plan.upload)
		return remote_stat(s, remote, false, &a) == 0 && (a.perm & S_IFMT) == S_IFREG &&
		    (a.flags & DSSH_SFTPC_ATTR_SIZE) ? (int64_t)a.size : -1;
	return lstat(local, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
}

/* A download's target: created (or kept, resuming) at its full size. */
static int
local_create(struct cfile *f, bool resume)
{
	int fd = open(f->local, O_WRONLY | O_CREAT | (resume ? 0 : O_TRUNC) | O_CLOEXEC,
	    create_perm(f->perm) & 0777);

	if (fd < 0 || ftruncate(fd, (off_t)f->size) != 0) {
		fprintf(stderr, "dssh-cp: %s: %s\n", f->local, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Resume from the file's journal, compare (a resumed tree), or start over. */
static int
prepare(struct sess *s, struct cfile *f)
{
	bool resume = false;

	if (f->size >= JOURNAL_MIN && (f->jpath = file_journal_name(f)) != NULL &&
	    journal_load(f) == 0) {
		resume = true;
		plan.resumed = true;
		for (unsigned i = 0; i < f->nr; i++)
			plan.skipped += f->rng[3 * i + 2] - f->rng[3 * i];
	} else if (plan.tree_resume && target_size(s, f->local, f->remote) == (int64_t)f->size) {
		free(f->jpath);
		f->jpath = NULL;
		f->verify = true;
		split(f, ranges_for(f->size));
	} else {
		split(f, ranges_for(f->size));
		if (f->jpath != NULL)
			journal_create(f);
	}
	if (!plan.upload && !f->verify && local_create(f, resume) != 0)
		return -1;
	/* An upload of one range is created by its worker; of more, here,
	 * once, before the streams write into it. */
	if (plan.upload && !resume && !f->verify) {
		if (f->nr == 1)
			f->trunc = true;
		else if (remote_create(s, f->remote, f->perm & 07777) != 0)
			return -1;
	}
	return 0;
}

static void
add_file(struct sess *s, char *local, char *remote, uint64_t size, uint32_t perm,
    uint32_t atime, uint32_t mtime)
{
	struct cfile *f;

	plan.f = grow(plan.f, &plan.capf, plan.nf, sizeof(*plan.f));
	f = &plan.f[plan.nf];
	*f = (struct cfile){ .local = local, .remote = remote, .size = size, .perm = perm,
	    .atime = atime, .mtime = mtime };
	if (prepare(s, f) != 0) {
		fail();
		free(f->rng);
		free(f->jpath);
		free(local);
		free(remote);
		return;
	}
	f->left = f->nr;
	for (unsigned i = 0; i < f->nr; i++)
		add_item((uint32_t)plan.nf, i);
	plan.total += size;
	plan.nf++;
}

static void
add_dir(char *local, char *remote, uint32_t perm, uint32_t atime, uint32_t mtime,
    bool created)
{
	plan.d = grow(plan.d, &plan.capd, plan.nd, sizeof(*plan.d));
	plan.d[plan.nd++] = (struct cdir){ .local = local, .remote = remote, .perm = perm,
	    .atime = atime, .mtime = mtime, .created = created };
}

static void
skip_note(const char *path)
{
	if (!quiet)
		fprintf(stderr, "dssh-cp: %s: not a regular file, skipped\n", path);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A local directory's names (no "." and ".."), sorted; NULL on error. */
static char **
local_names(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (d == NULL) {
		fprintf(stderr, "dssh-cp: %s: %s\n", dir, strerror(errno));
		return NULL;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		v = grow(v, &cap, *n, sizeof(*v));
		if ((v[*n] = strdup(e->d_name)) == NULL)
			exit(1);
		(*n)++;
	}
	closedir(d);
	/* An empty directory: v is NULL, which qsort must not be given. */
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_str);
	return v != NULL ? v : calloc(1, sizeof(*v));
}

/*
 * Upload: the local tree below ldir. Symbolic links are followed to
 * regular files (copied as files, as scp does); links to directories are
 * not followed (no loops), and neither are other special files: they are
 * skipped with a note. The root itself is followed when it is a link.
 */
static void
walk_local(struct sess *s, char *ldir, char *rdir, const struct stat *st)
{
	bool created = false;
	char **names;
	size_t n;

	if (remote_mkdir(s, rdir, st->st_mode, &created) != 0) {
		fail();
		free(ldir);
		free(rdir);
		return;
	}
	add_dir(ldir, rdir, st->st_mode & 07777, (uint32_t)st->st_atime, (uint32_t)st->st_mtime,
	    created);
	if ((names = local_names(ldir, &n)) == NULL) {
		fail();
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *lp = dssh_cp_join(ldir, names[i]), *rp = dssh_cp_join(rdir, names[i]);
		struct stat cs;
		bool link = false;

		if (lp == NULL || rp == NULL)
			exit(1);
		if (lstat(lp, &cs) == 0 && S_ISLNK(cs.st_mode)) {
			link = true;
			if (stat(lp, &cs) != 0) {
				fprintf(stderr, "dssh-cp: %s: %s\n", lp, strerror(errno));
				fail();
				goto next;
			}
		}
		if (S_ISDIR(cs.st_mode) && !link) {
			walk_local(s, lp, rp, &cs);
			lp = rp = NULL;
		} else if (S_ISREG(cs.st_mode)) {
			add_file(s, lp, rp, (uint64_t)cs.st_size, cs.st_mode & 07777,
			    (uint32_t)cs.st_atime, (uint32_t)cs.st_mtime);
			lp = rp = NULL;
		} else {
			skip_note(lp);
		}
next:
		free(lp);
		free(rp);
		free(names[i]);
	}
	free(names);
}

/* mkdir, or an existing directory: 0 (created tells which). */
static int
local_mkdir(const char *path, uint32_t perm, bool *created)
{
	struct stat st;

	*created = mkdir(path, (perm & 0777) | 0700) == 0;
	if (*created || (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
		return 0;
	fprintf(stderr, "dssh-cp: %s: %s\n", path, strerror(errno));
	return -1;
}

/*
 * A name the server listed, kept only when it is one component of the
 * directory: "." and ".." (which servers list) are passed over, a name
 * with a '/' (or an empty one) is a server trying to write outside the
 * target, refused and logged.
 */
static bool
listed_name_ok(const char *dir, const char *name)
{
	if (dssh_cp_name_ok(name))
		return true;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	fprintf(stderr, "dssh-cp: %s: the server listed a name that is no name in it, "
	    "refused: \"%s\"\n", dir, name);
	fail();
	return false;
}

/*
 * A second guard besides the names: every directory a download walks into
 * and every file's directory resolves (links included) to the target's
 * root or below it. root_real is the root's, set when it is made.
 */
static char root_real[PATH_MAX];

static bool
inside_target(const char *path, bool parent)
{
	char real[PATH_MAX], *c = strdup(path);
	size_t n = strlen(root_real);
	bool ok;

	if (c == NULL)
		return false;
	ok = n > 0 && realpath(parent ? dirname(c) : c, real) != NULL &&
	    strncmp(real, root_real, n) == 0 && (real[n] == '\0' || real[n] == '/' ||
	    strcmp(root_real, "/") == 0);
	free(c);
	if (!ok) {
		fprintf(stderr, "dssh-cp: %s: outside the target, refused\n", path);
		fail();
	}
	return ok;
}

/*
 * Download: the remote tree below rdir. A link is followed to a regular
 * file and copied as one; links to directories and other special files
 * are skipped with a note, as on upload.
 */
static void
walk_remote(struct sess *s, char *rdir, char *ldir, const struct dssh_sftpc_attrs *a)
{
	struct listing l = { 0 };
	bool created = false;
	int r = local_mkdir(ldir, a->perm, &created);

	/* The first call makes the root. */
	if (r == 0 && root_real[0] == '\0' && realpath(ldir, root_real) == NULL)
		r = -1;
	if (r != 0 || !inside_target(ldir, false) || remote_list(s, rdir, &l) != 0) {
		fail();
		list_free(&l);
		free(ldir);
		free(rdir);
		return;
	}
	add_dir(ldir, rdir, a->perm & 07777, a->atime, a->mtime, created);
	for (size_t i = 0; i < l.n; i++) {
		struct dssh_sftpc_attrs ca = l.v[i].a;
		char *lp, *rp;
		bool link = false;

		if (!listed_name_ok(rdir, l.v[i].name))
			continue;
		if ((lp = dssh_cp_join(ldir, l.v[i].name)) == NULL ||
		    (rp = dssh_cp_join(rdir, l.v[i].name)) == NULL)
			exit(1);
		/* READDIR's attributes are lstat's, and may be missing. */
		if (!(ca.flags & DSSH_SFTPC_ATTR_PERM) || (ca.perm & S_IFMT) == S_IFLNK) {
			link = (ca.flags & DSSH_SFTPC_ATTR_PERM) != 0;
			if (remote_stat(s, rp, true, &ca) != 0) {
				fprintf(stderr, "dssh-cp: %s: %s\n", rp, s->msg[0] ? s->msg : "cannot stat");
				fail();
				goto next;
			}
		}
		if ((ca.perm & S_IFMT) == S_IFDIR && !link) {
			walk_remote(s, rp, lp, &ca);
			lp = rp = NULL;
		} else if ((ca.perm & S_IFMT) == S_IFREG && (ca.flags & DSSH_SFTPC_ATTR_SIZE)) {
			if (!inside_target(lp, true))
				goto next;
			add_file(s, lp, rp, ca.size, ca.perm & 07777, ca.atime, ca.mtime);
			lp = rp = NULL;
		} else {
			skip_note(rp);
		}
next:
		free(lp);
		free(rp);
	}
	list_free(&l);
}

/* ---- the workers ---- */

struct worker {
	pthread_t th;
	int r;
};

static bool
take(struct item *it)
{
	bool ok;

	pthread_mutex_lock(&plan.mu);
	ok = plan.next < plan.nit;
	if (ok)
		*it = plan.it[plan.next++];
	pthread_mutex_unlock(&plan.mu);
	return ok;
}

/* A range over: true when it was the file's last and all went well. */
static bool
range_over(struct cfile *f, bool bad)
{
	bool last;

	pthread_mutex_lock(&plan.mu);
	f->bad |= bad;
	last = --f->left == 0 && !f->bad;
	pthread_mutex_unlock(&plan.mu);
	return last;
}

static int
open_remote(struct sess *s, const char *path, uint32_t flags, const struct dssh_sftpc_attrs *a)
{
	uint32_t id;
	int r = dssh_sftpc_open(s->sf, path, flags, a, &id);

	if ((r = sess_call(s, r, id)) != 0)
		return r;
	if (s->type != 102) {
		fprintf(stderr, "dssh-cp: %s: %s\n", path, s->msg[0] ? s->msg : "cannot open");
		return DSSH_ERR_PERMISSION;
	}
	return 0;
}

/* One pass over [off, end) of f: a copy, or (compare) a read and compare. */
static int
run_range(struct sess *s, struct cfile *f, unsigned ri, uint64_t off, bool compare,
    uint8_t *buf, bool *mismatch)
{
	uint64_t *g = f->rng + 3 * ri;
	struct xfer x = { .upload = plan.upload, .next = off, .end = g[1], .jfd = -1,
	    .jofs = (off_t)(JOURNAL_HDR + 24 * ri + 16), .jdone = off, .compare = compare,
	    .buf = buf };
	struct dssh_sftpc_attrs set = { .flags = DSSH_SFTPC_ATTR_PERM,
	    .perm = create_perm(f->perm) };
	uint8_t h[DSSH_SFTPC_HANDLE_MAX];
	uint32_t flags = DSSH_SFTPC_READ, id;
	int r, c;

	if (plan.upload && !compare)
		flags = DSSH_SFTPC_WRITE | DSSH_SFTPC_CREAT | (f->trunc ? DSSH_SFTPC_TRUNC : 0);
	x.fd = open(f->local, plan.upload || compare ? O_RDONLY | O_CLOEXEC : O_WRONLY | O_CLOEXEC);
	if (x.fd < 0) {
		fprintf(stderr, "dssh-cp: %s: %s\n", f->local, strerror(errno));
		return DSSH_ERR_PERMISSION;
	}
	if (!compare && f->jpath != NULL)
		x.jfd = open(f->jpath, O_RDWR | O_CLOEXEC);
	if ((r = open_remote(s, f->remote, flags, &set)) == 0) {
		memcpy(h, s->handle, s->hlen);
		x.h = h;
		x.hlen = s->hlen;
		r = copy_range(s, &x);
		c = dssh_sftpc_close(s->sf, h, x.hlen, &id);
		if ((c = sess_call(s, c, id)) == 0)
			c = status_ok(s, "close", f->remote);
		if (r == 0)
			r = c;
	}
	close(x.fd);
	if (x.jfd >= 0)
		close(x.jfd);
	*mismatch = x.mismatch;
	if (compare && x.mismatch)
		atomic_fetch_sub(&bytes_done, x.compared);
	else if (compare)
		plan.skipped += x.compared;
	return r;
}

static int
do_range(struct sess *s, struct cfile *f, unsigned ri, uint8_t *buf)
{
	uint64_t *g = f->rng + 3 * ri;
	bool mismatch = false;
	int r;

	if (f->verify) {
		if ((r = run_range(s, f, ri, g[0], true, buf, &mismatch)) != 0 || !mismatch)
			return r;
	}
	return run_range(s, f, ri, f->verify ? g[0] : g[2], false, buf, &mismatch);
}

/*
 * Every range of f is in: its journal goes, -p's mode and times come (and
 * without -p, a mode create_perm() had to widen).
 */
static int
file_over(struct sess *s, struct cfile *f)
{
	struct timespec ts[2] = { { .tv_sec = f->atime }, { .tv_sec = f->mtime } };
	uint32_t perm = f->perm & 07777;

	if (f->jpath != NULL)
		unlink(f->jpath);
	if (!plan.keep && create_perm(perm) == perm)
		return 0;
	if (!plan.keep)
		perm &= ~plan.umask;
	if (plan.upload)
		return remote_setstat(s, f->remote, perm, f->atime, f->mtime, plan.keep);
	if (chmod(f->local, perm) != 0 ||
	    (plan.keep && utimensat(AT_FDCWD, f->local, ts, 0) != 0)) {
		fprintf(stderr, "dssh-cp: %s: %s\n", f->local, strerror(errno));
		return -1;
	}
	return 0;
}

static bool
sess_alive(const struct sess *s)
{
	return !s->closed && s->err == 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct sess s;
	struct item it;
	uint8_t *buf = malloc(CHUNK);

	memset(&s, 0, sizeof(s));
	dssh_turn_take(&dpdk.turn);
	w->r = buf == NULL ? DSSH_ERR_ALLOC : sess_open(&s);
	if (w->r != 0) {
		/* The ranges stay in the queue for the other streams. */
		fprintf(stderr, "dssh-cp: a stream could not connect: %s\n", dssh_err_str(w->r));
		fail();
		sess_close(&s);
		dssh_turn_give(&dpdk.turn);
		free(buf);
		return NULL;
	}
	while (sess_alive(&s) && take(&it)) {
		struct cfile *f = &plan.f[it.file];
		int r = do_range(&s, f, it.range, buf);

		if (r != 0) {
			fail();
			w->r = r;
		}
		if (range_over(f, r != 0) && file_over(&s, f) != 0)
			fail();
	}
	sess_close(&s);
	dssh_turn_give(&dpdk.turn);
	free(buf);
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
progress(uint64_t done, double t, bool final)
{
	char a[32], rate[32];
	uint64_t total = plan.total, skipped = plan.skipped;
	double pct = total ? 100.0 * (double)done / (double)total : 100.0;
	double bps = t > 0 && done > skipped ? (double)(done - skipped) / t : 0;
	unsigned eta = bps > 0 && done < total ? (unsigned)((double)(total - done) / bps) : 0;

	human((double)done, a, sizeof(a));
	human(bps, rate, sizeof(rate));
	fprintf(stderr, "\r%-30.30s %3.0f%% %10s %10s/s %02u:%02u %s", plan.label, pct, a, rate,
	    eta / 60, eta % 60, final ? "    \n" : "ETA ");
}

static void
summary(double t)
{
	char a[32], rate[32], what[64] = "";
	/* The rate of what this run moved (a resumed copy had a head start). */
	uint64_t moved = plan.total - plan.skipped;
	unsigned streams = plan.streams;

	if (!plan.tree && plan.nf == 1)
		streams = plan.f[0].nr;
	if (plan.tree)
		snprintf(what, sizeof(what), "%zu file%s, %zu director%s, ", plan.nf,
		    plan.nf == 1 ? "" : "s", plan.nd, plan.nd == 1 ? "y" : "ies");
	human((double)plan.total, a, sizeof(a));
	human(t > 0 ? (double)moved / t : 0, rate, sizeof(rate));
	fprintf(stderr, "%s %s %s: %s%llu bytes (%s) in %.2f s, %s/s, %u stream%s%s\n",
	    plan.upload ? plan.label : plan.root, plan.upload ? "->" : "<-",
	    plan.upload ? plan.root : plan.label, what, (unsigned long long)plan.total, a, t,
	    rate, streams, streams == 1 ? "" : "s", plan.resumed || plan.tree_resume ?
	    ", resumed" : "");
}

static void
run_workers(void)
{
	struct worker w[MAX_STREAMS];
	unsigned n = plan.streams;
	bool tty = !quiet && isatty(2);
	double t0 = now_s(), t;

	if (n > plan.nit)
		n = (unsigned)plan.nit;
	atomic_store(&bytes_done, plan.skipped);
	/* The workers' turns on a DPDK port; the planning session waits. */
	dssh_turn_give(&dpdk.turn);
	for (unsigned i = 0; i < n; i++) {
		w[i].r = 0;
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0) {
			n = i;
			fail();
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
			progress(atomic_load(&bytes_done), now_s() - t0, false);
		}
		if (!tty)
			pthread_join(w[i].th, NULL);
	}
	dssh_turn_take(&dpdk.turn);
	t = now_s() - t0;
	if (plan.next < plan.nit) {
		fprintf(stderr, "dssh-cp: no stream left to copy with\n");
		fail();
	}
	if (tty)
		progress(atomic_load(&bytes_done), t, true);
	if (!quiet && !atomic_load(&failed))
		summary(t);
}

/* Directories' modes (and with -p times), deepest first: after their contents. */
static void
dirs_over(struct sess *s)
{
	for (size_t i = plan.nd; i-- > 0;) {
		struct cdir *d = &plan.d[i];
		struct timespec ts[2] = { { .tv_sec = d->atime }, { .tv_sec = d->mtime } };
		int r = 0;

		if (!plan.keep && !(d->created && (d->perm & 0700) != 0700))
			continue;
		if (plan.upload)
			r = remote_setstat(s, d->remote, d->perm, d->atime, d->mtime, plan.keep);
		else if (chmod(d->local, plan.keep ? d->perm : d->perm & ~plan.umask & 0777) != 0 ||
		    (plan.keep && utimensat(AT_FDCWD, d->local, ts, 0) != 0))
			r = -1;
		if (r != 0) {
			if (!plan.upload)
				fprintf(stderr, "dssh-cp: %s: %s\n", d->local, strerror(errno));
			fail();
		}
	}
}

/* ---- the two directions ---- */

/* The name a copy gets inside a directory: the path's last component
 * (for ".", "..", "/" or "": its real path's, locally or on the server). */
static char *
copy_name(struct sess *s, const char *path, bool remote)
{
	char *b = dssh_cp_base(path), real[4096];
	uint32_t id;
	int r;

	if (b != NULL && dssh_cp_name_ok(b))
		return b;
	free(b);
	if (!remote && realpath(path[0] ? path : ".", real) == NULL)
		return NULL;
	if (remote) {
		r = dssh_sftpc_realpath(s->sf, path[0] ? path : ".", &id);
		if (sess_call(s, r, id) != 0 || s->type != 104)
			return NULL;
	}
	b = dssh_cp_base(remote ? s->name : real);
	if (b != NULL && !dssh_cp_name_ok(b)) {
		free(b);
		b = NULL;
	}
	return b;
}

/* "not a regular file", as scp says of a directory without -r. */
static int
not_regular(const char *path)
{
	fprintf(stderr, "dssh-cp: %s: not a regular file\n", path);
	return -1;
}

/* The copy's target, also plan.root: dir itself, or (into) the source's
 * name inside it. */
static char *
target_of(struct sess *s, const char *src, bool remote, const char *dir, bool into)
{
	char *name = NULL, *t;

	if (into && (name = copy_name(s, src, remote)) == NULL) {
		not_regular(src);
		return NULL;
	}
	t = into ? dssh_cp_join(dir, name) : strdup(dir);
	free(name);
	if (t != NULL && (plan.root = strdup(t)) == NULL) {
		free(t);
		t = NULL;
	}
	return t;
}

static int
plan_upload(struct sess *s, const char *src, const char *rpath, bool recursive)
{
	struct dssh_sftpc_attrs a;
	struct stat st;
	bool into;
	char *target;

	if (stat(src, &st) != 0) {
		fprintf(stderr, "dssh-cp: %s: %s\n", src, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) && !(recursive && S_ISDIR(st.st_mode)))
		return not_regular(src);
	/* An existing directory (or "host:") takes the copy under its name;
	 * unless an interrupted copy of this tree made it. */
	into = rpath[0] == '\0' || (remote_stat(s, rpath, true, &a) == 0 &&
	    (a.perm & S_IFMT) == S_IFDIR);
	if (into && S_ISDIR(st.st_mode) && rpath[0] != '\0' &&
	    tree_found(src, rpath, plan.tpath, sizeof(plan.tpath)))
		into = false;
	if (!into && S_ISDIR(st.st_mode) && remote_stat(s, rpath, true, &a) == 0 &&
	    (a.perm & S_IFMT) != S_IFDIR) {
		fprintf(stderr, "dssh-cp: %s: Not a directory\n", rpath);
		return -1;
	}
	if ((target = target_of(s, src, false, rpath, into)) == NULL)
		return -1;
	plan.tree = S_ISDIR(st.st_mode);
	if (plan.tree) {
		plan.tree_resume = tree_begin(src, target);
		walk_local(s, strdup(src), target, &st);
	} else {
		add_file(s, strdup(src), target, (uint64_t)st.st_size, st.st_mode & 07777,
		    (uint32_t)st.st_atime, (uint32_t)st.st_mtime);
	}
	return 0;
}

static int
plan_download(struct sess *s, const char *rpath, const char *local, bool recursive)
{
	struct dssh_sftpc_attrs a;
	struct stat st;
	bool into, dir;
	char *target;

	if (remote_stat(s, rpath[0] ? rpath : ".", true, &a) != 0) {
		fprintf(stderr, "dssh-cp: %s: %s\n", rpath, s->msg[0] ? s->msg : "no such file");
		return -1;
	}
	dir = (a.perm & S_IFMT) == S_IFDIR;
	if (!((a.perm & S_IFMT) == S_IFREG && (a.flags & DSSH_SFTPC_ATTR_SIZE)) &&
	    !(recursive && dir))
		return not_regular(rpath);
	into = stat(local, &st) == 0 && S_ISDIR(st.st_mode);
	if (into && dir && tree_found(local, rpath, plan.tpath, sizeof(plan.tpath)))
		into = false;
	if (!into && dir && lstat(local, &st) == 0 && !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "dssh-cp: %s: Not a directory\n", local);
		return -1;
	}
	if ((target = target_of(s, rpath, true, local, into)) == NULL)
		return -1;
	plan.tree = dir;
	if (dir) {
		plan.tree_resume = tree_begin(target, rpath);
		walk_remote(s, strdup(rpath[0] ? rpath : "."), target, &a);
	} else {
		add_file(s, target, strdup(rpath), a.size, a.perm & 07777, a.atime, a.mtime);
	}
	return 0;
}

static int
copy(const char *src, const char *rpath, const char *local, bool recursive)
{
	struct sess s;
	int r;

	if ((r = sess_open(&s)) != 0)
		goto out;
	r = plan.upload ? plan_upload(&s, src, rpath, recursive) :
	    plan_download(&s, rpath, local, recursive);
	if (r != 0)
		goto out;
	if (plan.resumed || plan.tree_resume) {
		if (!quiet)
			fprintf(stderr, "dssh-cp: resuming the copy to %s\n", plan.root);
	} else if (plan.keep_partial) {
		fprintf(stderr, "dssh-cp: -R: no interrupted copy to resume, starting over\n");
	}
	run_workers();
	/* The planning session sat idle meanwhile: a new one if it was let go. */
	if (!sess_alive(&s)) {
		sess_close(&s);
		if ((r = sess_open(&s)) != 0)
			goto out;
	}
	dirs_over(&s);
	if (plan.tree && !atomic_load(&failed))
		unlink(plan.tpath);
	r = atomic_load(&failed) ? -1 : 0;
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
	fprintf(stderr, "usage: dssh-cp [-pqRrv] [-c cipher] [-i identity_file] [-n streams]\n"
	    "               [-o ssh_option] [-P port] source target\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	bool recursive = false;
	int ch, verbose = 0, r;

	dssh_client_opts_init(&copts);
	while ((ch = getopt(argc, argv, "346BCpqRrTvc:F:i:l:n:o:P:S:")) != -1) {
		/* -o DpdkArgs= and friends, before the ssh options. */
		if (ch == 'o' && dssh_dpdkopt_take(&dpdk, optarg))
			continue;
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
			plan.streams = (unsigned)atoi(optarg);
			if (plan.streams < 1 || plan.streams > MAX_STREAMS) {
				fprintf(stderr, "dssh-cp: -n: 1 to %d streams\n", MAX_STREAMS);
				exit(1);
			}
			break;
		case 'p':
			plan.keep = true;
			break;
		case 'R':
			plan.keep_partial = true;
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
			recursive = true;
			break;
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
	plan.upload = is_remote(dst);
	plan.umask = umask(0);
	umask(plan.umask);
	if ((plan.label = strdup(src)) == NULL)
		return 1;
	rpath = split_remote(plan.upload ? dst : src);
	if (dssh_dpdkopt_up(&dpdk, "dssh-cp", &copts) != 0)
		return 1;
	/* This thread's turn on the port while it plans (workers: run_workers). */
	dssh_turn_take(&dpdk.turn);
	r = copy(src, rpath, dst, recursive);
	dssh_turn_give(&dpdk.turn);
	dssh_dpdkopt_down(&dpdk);
	return r == 0 ? 0 : 1;
}
