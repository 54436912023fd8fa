/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <security/pam_appl.h>

#include "dssh_auth.h"
#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"

#define PAM_WORKER_THREADS 2
#define PAM_QUEUE_MAX 1024
#define PAM_DEFAULT_FAIL_DELAY_MS 300
#define PAM_KBD_MAX 256                 /* keyboard-interactive conversations at once */
#define PAM_KBD_WAIT_S 600              /* longest wait for a peer's answers */

/* As sshd: what unknown users are checked with, so that PAM still runs. */
static const char bogus_password[] = "\b\n\r\177INCORRECT";

struct pam_job {
	struct pam_job *next;
	uint64_t id;
	char *user;
	char *password;
	char *rhost;
	enum dssh_pam_kind kind;
	bool allow_empty;
};

struct pam_done {
	struct pam_done *next;
	uint64_t release_ns;
	struct dssh_pam_result res;
};

/*
 * A keyboard-interactive conversation: its own thread runs PAM; between
 * rounds it waits on cond (with the worker's lock) for answers.
 */
struct pam_kbd {
	struct pam_kbd *next;
	uint64_t id;
	struct dssh_pam_worker *w;
	struct pam_job *job;
	pthread_cond_t cond;
	char **answers;                 /* given by dssh_pam_worker_answer */
	unsigned nasked;                /* prompts outstanding, 0: not waiting */
	bool cancelled;
	char info[512];                 /* texts waiting for the next prompts */
	size_t infolen;
};

struct dssh_pam_worker {
	char *service;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct pam_job *qhead, **qtail;
	unsigned qlen;
	struct pam_done *ready, **ready_tail;
	struct pam_done *delayed;       /* unordered; release_ns says when */
	unsigned nresults;              /* ready + delayed, bounded */
	int efd;
	bool stop;
	uint64_t fail_delay_ns;
	pthread_t threads[PAM_WORKER_THREADS];
	unsigned nthreads;
	struct pam_kbd *kbds;
	unsigned nkbd;
	pthread_cond_t kbd_gone;
	dssh_pam_remote_fn remote;      /* set: PAM runs in the monitor, not here */
	void *remote_arg;
};

struct conv_ctx {
	const char *password;
	char msg[256];
	size_t msglen;
	unsigned pam_delay_usec;        /* failure delay the PAM stack asked for */
	struct pam_kbd *kbd;            /* keyboard-interactive: prompts go to the peer */
	int chan_fd;                    /* >= 0: in the monitor's child, prompts go down this */
	char info[512];                 /* chan: texts waiting for the next prompts */
	size_t infolen;
};

/*
 * PAM_FAIL_DELAY hook: instead of sleeping in the worker thread (pam_unix
 * asks for 2 s), remember the delay; the result is then held back that
 * long without holding a thread.
 */
static void
fail_delay_fn(int status, unsigned int usec, void *appdata)
{
	struct conv_ctx *c = appdata;

	if (c != NULL && status != PAM_SUCCESS && usec > c->pam_delay_usec)
		c->pam_delay_usec = usec;
}

/*
 * text (NULL: none) onto the string of len bytes in buf (size bytes), after
 * sep unless the string is empty; what does not fit is cut off.
 */
static void
note_append(char *buf, size_t size, size_t *len, char sep, const char *text)
{
	size_t n = text != NULL ? strlen(text) : 0;

	if (*len > 0 && *len + 1 < size)
		buf[(*len)++] = sep;
	if (*len + n >= size)
		n = size - 1 - *len;
	if (n > 0)
		memcpy(buf + *len, text, n);
	*len += n;
	buf[*len] = '\0';
}

static void
conv_note(struct conv_ctx *c, const char *text)
{
	if (c == NULL || text == NULL)
		return;
	note_append(c->msg, sizeof(c->msg), &c->msglen, ' ', text);
}

static void
free_responses(struct pam_response *resp, int n)
{
	if (resp == NULL)
		return;
	for (int i = 0; i < n; i++)
		dssh_free_secret_str(resp[i].resp);
	free(resp);
}

static void signal_ready(struct dssh_pam_worker *w);

void
dssh_pam_prompts_free(struct dssh_pam_prompts *p)
{
	if (p == NULL)
		return;
	free(p->instruction);
	for (unsigned i = 0; i < p->n; i++)
		free(p->text[i]);
	free(p);
}

static void
kbd_note(struct pam_kbd *k, const char *text)
{
	note_append(k->info, sizeof(k->info), &k->infolen, '\n', text);
}

/* With the lock held: a result (or prompts) for the caller to collect. */
static void
post_ready(struct dssh_pam_worker *w, struct pam_done *d)
{
	d->next = NULL;
	*w->ready_tail = d;
	w->ready_tail = &d->next;
	signal_ready(w);
}

/* The prompts of one conv call in p; info texts are kept for the next. */
static int
kbd_collect(struct pam_kbd *k, int n, const struct pam_message **msg,
    struct dssh_pam_prompts *p, int *idx)
{
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			if (p->n >= DSSH_PAM_MAX_PROMPTS ||
			    (p->text[p->n] = strdup(msg[i]->msg ? msg[i]->msg : "")) == NULL)
				return PAM_CONV_ERR;
			p->echo[p->n] = msg[i]->msg_style == PAM_PROMPT_ECHO_ON;
			idx[p->n++] = i;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			kbd_note(k, msg[i]->msg);
			break;
		default:
			return PAM_CONV_ERR;
		}
	}
	return PAM_SUCCESS;
}

/* With the lock held: wait for the peer's answers (NULL: none, give up). */
static char **
kbd_wait(struct dssh_pam_worker *w, struct pam_kbd *k, unsigned nasked)
{
	uint64_t deadline = dssh_now_ns() + (uint64_t)PAM_KBD_WAIT_S * 1000000000u;
	struct timespec ts = {
		.tv_sec = (time_t)(deadline / 1000000000u),
		.tv_nsec = (long)(deadline % 1000000000u),
	};
	char **a;

	k->nasked = nasked;
	while (k->answers == NULL && !k->cancelled && !w->stop)
		if (pthread_cond_timedwait(&k->cond, &w->lock, &ts) == ETIMEDOUT)
			break;
	a = k->answers;
	k->answers = NULL;
	k->nasked = 0;
	return a;
}

/*
 * Hand prompts p (taken) to the event loop as a result and wait for the
 * peer's answers: NULL when cancelled, stopped or timed out.
 */
static char **
kbd_post_wait(struct pam_kbd *k, struct dssh_pam_prompts *p)
{
	struct dssh_pam_worker *w = k->w;
	struct pam_done *d = calloc(1, sizeof(*d));
	unsigned np = p->n;
	char **a;

	pthread_mutex_lock(&w->lock);
	if (d == NULL || k->cancelled || w->stop) {
		pthread_mutex_unlock(&w->lock);
		free(d);
		dssh_pam_prompts_free(p);
		return NULL;
	}
	d->res.id = k->id;
	d->res.prompts = p;
	w->nresults++;
	post_ready(w, d);
	a = kbd_wait(w, k, np);
	pthread_mutex_unlock(&w->lock);
	return a;
}

/*
 * keyboard-interactive: the prompts go to the event loop as a result, this
 * thread waits for the answers (dssh_pam_worker_answer) and gives them to
 * PAM. Only texts, no prompt: kept and sent with the next prompts.
 */
static int
kbd_conv(struct pam_kbd *k, int n, const struct pam_message **msg,
    struct pam_response **respp)
{
	struct pam_response *resp = calloc((size_t)n, sizeof(*resp));
	struct dssh_pam_prompts *p = calloc(1, sizeof(*p));
	int idx[DSSH_PAM_MAX_PROMPTS], rc = PAM_BUF_ERR;
	unsigned np;
	char **a;

	if (resp == NULL || p == NULL)
		goto out;
	if ((rc = kbd_collect(k, n, msg, p, idx)) != PAM_SUCCESS)
		goto out;
	if ((np = p->n) == 0) {
		*respp = resp;
		resp = NULL;
		goto out;
	}
	rc = PAM_CONV_ERR;
	if ((p->instruction = strdup(k->info)) == NULL)
		goto out;
	k->infolen = 0;
	k->info[0] = '\0';
	a = kbd_post_wait(k, p);
	p = NULL;
	if (a == NULL)
		goto out;
	for (unsigned j = 0; j < np; j++)
		resp[idx[j]].resp = a[j];       /* PAM owns them now */
	free(a);
	*respp = resp;
	resp = NULL;
	rc = PAM_SUCCESS;
 out:
	free_responses(resp, n);
	dssh_pam_prompts_free(p);
	return rc;
}

/* ---- the monitor's channel (dssh_auth.h, "PAM in the monitor") ---- */

int
dssh_pam_chan_encode_prompts(struct dssh_buf *b, const struct dssh_pam_prompts *p)
{
	int r;

	if (p->n == 0 || p->n > DSSH_PAM_MAX_PROMPTS)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((r = dssh_buf_put_u8(b, DSSH_PAM_CHAN_PROMPTS)) != 0 ||
	    (r = dssh_buf_put_cstring(b, p->instruction ? p->instruction : "")) != 0 ||
	    (r = dssh_buf_put_u32(b, p->n)) != 0)
		return r;
	for (unsigned i = 0; i < p->n; i++)
		if ((r = dssh_buf_put_cstring(b, p->text[i])) != 0 ||
		    (r = dssh_buf_put_bool(b, p->echo[i])) != 0)
			return r;
	return 0;
}

int
dssh_pam_chan_decode_prompts(const uint8_t *m, size_t len, struct dssh_pam_prompts **out)
{
	struct dssh_pam_prompts *p;
	struct dssh_buf b;
	uint32_t n;
	uint8_t t;
	int r;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return DSSH_ERR_ALLOC;
	dssh_buf_from(&b, m, len);
	if ((r = dssh_buf_get_u8(&b, &t)) != 0 ||
	    (r = dssh_buf_get_cstring(&b, &p->instruction, NULL)) != 0 ||
	    (r = dssh_buf_get_u32(&b, &n)) != 0)
		goto fail;
	r = DSSH_ERR_INVALID_FORMAT;
	if (t != DSSH_PAM_CHAN_PROMPTS || n == 0 || n > DSSH_PAM_MAX_PROMPTS)
		goto fail;
	for (; p->n < n; p->n++)
		if ((r = dssh_buf_get_cstring(&b, &p->text[p->n], NULL)) != 0 ||
		    (r = dssh_buf_get_bool_strict(&b, &p->echo[p->n])) != 0) {
			if (p->text[p->n] != NULL)
				p->n++;
			goto fail;
		}
	if (dssh_buf_len(&b) != 0) {
		r = DSSH_ERR_INVALID_FORMAT;
		goto fail;
	}
	*out = p;
	return 0;
 fail:
	dssh_pam_prompts_free(p);
	return r;
}

int
dssh_pam_chan_encode_answers(struct dssh_buf *b, const char *const *a, unsigned n)
{
	int r;

	if (n == 0 || n > DSSH_PAM_MAX_PROMPTS)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((r = dssh_buf_put_u8(b, DSSH_PAM_CHAN_ANSWERS)) != 0 ||
	    (r = dssh_buf_put_u32(b, n)) != 0)
		return r;
	for (unsigned i = 0; i < n; i++)
		if ((r = dssh_buf_put_cstring(b, a[i])) != 0)
			return r;
	return 0;
}

void
dssh_pam_answers_free(char **a, unsigned n)
{
	if (a == NULL)
		return;
	for (unsigned i = 0; i < n; i++)
		dssh_free_secret_str(a[i]);
	free(a);
}

int
dssh_pam_chan_decode_answers(const uint8_t *m, size_t len, char ***out, unsigned *nout)
{
	struct dssh_buf b;
	char **a = NULL;
	uint32_t n, i = 0;
	uint8_t t;
	int r;

	*out = NULL;
	*nout = 0;
	dssh_buf_from(&b, m, len);
	if ((r = dssh_buf_get_u8(&b, &t)) != 0 || (r = dssh_buf_get_u32(&b, &n)) != 0)
		return r;
	if (t != DSSH_PAM_CHAN_ANSWERS || n == 0 || n > DSSH_PAM_MAX_PROMPTS)
		return DSSH_ERR_INVALID_FORMAT;
	if ((a = calloc(n, sizeof(*a))) == NULL)
		return DSSH_ERR_ALLOC;
	for (; i < n; i++)
		if ((r = dssh_buf_get_cstring(&b, &a[i], NULL)) != 0)
			goto fail;
	if (dssh_buf_len(&b) != 0) {
		r = DSSH_ERR_INVALID_FORMAT;
		goto fail;
	}
	*out = a;
	*nout = n;
	return 0;
 fail:
	dssh_pam_answers_free(a, n);
	return r;
}

int
dssh_pam_chan_encode_result(struct dssh_buf *b, bool ok, uint32_t delay_usec, const char *msg)
{
	int r;

	if ((r = dssh_buf_put_u8(b, DSSH_PAM_CHAN_RESULT)) != 0 ||
	    (r = dssh_buf_put_bool(b, ok)) != 0 ||
	    (r = dssh_buf_put_u32(b, delay_usec)) != 0 ||
	    (r = dssh_buf_put_cstring(b, msg ? msg : "")) != 0)
		return r;
	return 0;
}

int
dssh_pam_chan_decode_result(const uint8_t *m, size_t len, bool *ok, uint32_t *delay_usec,
    char *msg, size_t msgcap)
{
	const uint8_t *s;
	struct dssh_buf b;
	size_t slen;
	uint8_t t;
	int r;

	*ok = false;
	dssh_buf_from(&b, m, len);
	if ((r = dssh_buf_get_u8(&b, &t)) != 0 || (r = dssh_buf_get_bool_strict(&b, ok)) != 0 ||
	    (r = dssh_buf_get_u32(&b, delay_usec)) != 0 ||
	    (r = dssh_buf_get_string_direct(&b, &s, &slen)) != 0)
		goto fail;
	r = DSSH_ERR_INVALID_FORMAT;
	if (t != DSSH_PAM_CHAN_RESULT || dssh_buf_len(&b) != 0 || msgcap == 0 ||
	    memchr(s, '\0', slen) != NULL)
		goto fail;
	if (slen >= msgcap)
		slen = msgcap - 1;
	memcpy(msg, s, slen);
	msg[slen] = '\0';
	return 0;
 fail:
	*ok = false;
	return r;
}

static int
chan_send(int fd, const struct dssh_buf *b)
{
	ssize_t n;

	do {
		n = send(fd, dssh_buf_ptr(b), dssh_buf_len(b), MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n == (ssize_t)dssh_buf_len(b) ? 0 : DSSH_ERR_CONN_CLOSED;
}

/* One message (buf holds DSSH_PAM_CHAN_MAX + 1); <= 0 at EOF, error, timeout. */
static ssize_t
chan_recv(int fd, uint8_t *buf, int timeout_s)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int e;

	do {
		e = poll(&pfd, 1, timeout_s * 1000);
	} while (e < 0 && errno == EINTR);
	if (e <= 0)
		return -1;
	do {
		n = recv(fd, buf, DSSH_PAM_CHAN_MAX + 1, 0);
	} while (n < 0 && errno == EINTR);
	return n > (ssize_t)DSSH_PAM_CHAN_MAX ? -1 : n;
}

/*
 * In the monitor's child: the prompts of one conv call go to dsshd, which
 * asks the peer; its answers come back (their number must match).
 */
static int
chan_conv(struct conv_ctx *c, int n, const struct pam_message **msg,
    struct pam_response **respp)
{
	struct pam_response *resp = calloc((size_t)n, sizeof(*resp));
	struct dssh_pam_prompts p;
	int idx[DSSH_PAM_MAX_PROMPTS], rc = PAM_CONV_ERR;
	struct dssh_buf b;
	uint8_t *buf = NULL;
	char **a = NULL;
	unsigned na = 0;
	ssize_t len;

	memset(&p, 0, sizeof(p));
	dssh_buf_init(&b, 0);
	if (resp == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			if (p.n >= DSSH_PAM_MAX_PROMPTS)
				goto out;
			p.text[p.n] = (char *)(msg[i]->msg ? msg[i]->msg : "");
			p.echo[p.n] = msg[i]->msg_style == PAM_PROMPT_ECHO_ON;
			idx[p.n++] = i;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			note_append(c->info, sizeof(c->info), &c->infolen, '\n', msg[i]->msg);
			break;
		default:
			goto out;
		}
	}
	if (p.n == 0) {
		*respp = resp;
		return PAM_SUCCESS;
	}
	p.instruction = c->info;
	if (dssh_pam_chan_encode_prompts(&b, &p) != 0 || chan_send(c->chan_fd, &b) != 0)
		goto out;
	c->infolen = 0;
	c->info[0] = '\0';
	if ((buf = malloc(DSSH_PAM_CHAN_MAX + 1)) == NULL ||
	    (len = chan_recv(c->chan_fd, buf, PAM_KBD_WAIT_S + 60)) <= 0 ||
	    dssh_pam_chan_decode_answers(buf, (size_t)len, &a, &na) != 0 || na != p.n)
		goto out;
	for (unsigned j = 0; j < na; j++) {
		resp[idx[j]].resp = a[j];       /* PAM owns them now */
		a[j] = NULL;
	}
	*respp = resp;
	resp = NULL;
	rc = PAM_SUCCESS;
 out:
	if (buf != NULL) {
		dssh_wipe(buf, DSSH_PAM_CHAN_MAX + 1);
		free(buf);
	}
	dssh_pam_answers_free(a, na);
	dssh_buf_free(&b);
	free_responses(resp, n);
	return rc;
}

/*
 * Answers every PAM_PROMPT_ECHO_OFF with the password (NULL password: the
 * prompt fails); echo-on prompts fail (there is nobody to ask); info and
 * error texts are collected.
 */
static int
conv_fn(int n, const struct pam_message **msg, struct pam_response **respp,
    void *appdata)
{
	struct conv_ctx *c = appdata;
	struct pam_response *resp;

	*respp = NULL;
	if (n <= 0 || n > 128)
		return PAM_CONV_ERR;
	if (c != NULL && c->kbd != NULL)
		return kbd_conv(c->kbd, n, msg, respp);
	if (c != NULL && c->chan_fd >= 0)
		return chan_conv(c, n, msg, respp);
	if ((resp = calloc((size_t)n, sizeof(*resp))) == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			if (c == NULL || c->password == NULL)
				goto fail;
			if ((resp[i].resp = strdup(c->password)) == NULL)
				goto fail;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			conv_note(c, msg[i]->msg);
			break;
		default:
			goto fail;
		}
	}
	*respp = resp;
	return PAM_SUCCESS;
 fail:
	free_responses(resp, n);
	return PAM_CONV_ERR;
}

static bool
user_exists(const char *name)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	char *big = NULL;
	int e;

	e = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (e == ERANGE) {
		if ((big = malloc(1024 * 1024)) == NULL)
			return false;
		e = getpwnam_r(name, &pw, big, 1024 * 1024, &res);
	}
	free(big);
	return e == 0 && res != NULL;
}

/* Returns the failure delay the PAM stack requested, in ns. */
static uint64_t
run_pam(const char *service, struct pam_job *job, struct dssh_pam_result *res,
    struct pam_kbd *kbd, int chan_fd)
{
	union {
		void (*fn)(int, unsigned int, void *);
		const void *item;
	} delay_hook = { .fn = fail_delay_fn };
	struct conv_ctx cc = { .kbd = kbd, .chan_fd = chan_fd };
	uint64_t pam_delay_ns;
	struct pam_conv conv = { conv_fn, &cc };
	pam_handle_t *pamh = NULL;
	bool exists = user_exists(job->user), force_fail = false;
	const void *item = NULL;
	int rc, flags = 0;

	memset(res, 0, sizeof(*res));
	res->id = job->id;
	if (job->kind == DSSH_PAM_PASSWORD) {
		cc.password = job->password ? job->password : "";
		if (!exists || (!job->allow_empty && cc.password[0] == '\0')) {
			cc.password = bogus_password;
			force_fail = true;
		}
		if (!job->allow_empty)
			flags |= PAM_DISALLOW_NULL_AUTHTOK;
	}
	if (job->kind == DSSH_PAM_KBDINT && !job->allow_empty)
		flags |= PAM_DISALLOW_NULL_AUTHTOK;
	if (!exists)
		force_fail = true;
	rc = pam_start(service, job->user, &conv, &pamh);
	if (rc != PAM_SUCCESS) {
		snprintf(res->message, sizeof(res->message), "pam_start: %s",
		    pam_strerror(pamh, rc));
		pamh = NULL;
		goto out;
	}
	if ((rc = pam_set_item(pamh, PAM_RHOST,
	    job->rhost ? job->rhost : "")) != PAM_SUCCESS ||
	    (rc = pam_set_item(pamh, PAM_TTY, "ssh")) != PAM_SUCCESS ||
	    (rc = pam_set_item(pamh, PAM_FAIL_DELAY, delay_hook.item)) != PAM_SUCCESS)
		goto done;
	if (job->kind != DSSH_PAM_ACCOUNT_ONLY &&
	    (rc = pam_authenticate(pamh, flags)) != PAM_SUCCESS)
		goto done;
	rc = pam_acct_mgmt(pamh, flags);
	if (rc == PAM_NEW_AUTHTOK_REQD) {
		conv_note(&cc, "password change required but not supported");
		goto done;
	}
	if (rc != PAM_SUCCESS)
		goto done;
	/* A module may have changed the user name: refuse that, as sshd. */
	if (pam_get_item(pamh, PAM_USER, &item) != PAM_SUCCESS || item == NULL ||
	    strcmp(item, job->user) != 0) {
		conv_note(&cc, "PAM changed the user name");
		rc = PAM_PERM_DENIED;
		goto done;
	}
 done:
	if (rc == PAM_SUCCESS && !force_fail)
		res->ok = true;
	if (!res->ok && cc.msglen == 0 && rc != PAM_SUCCESS)
		conv_note(&cc, pam_strerror(pamh, rc));
	snprintf(res->message, sizeof(res->message), "%s",
	    res->ok || exists ? cc.msg : "authentication failure");
	pam_end(pamh, rc);
 out:
	pam_delay_ns = (uint64_t)cc.pam_delay_usec * 1000u;
	dssh_wipe(&cc, sizeof(cc));
	return pam_delay_ns;
}

/*
 * dsshd's side of PAM in the monitor: the monitor's child runs run_pam;
 * keyboard-interactive prompts come up the channel, the answers go down.
 */
static uint64_t
run_remote(struct dssh_pam_worker *w, struct pam_job *job, struct dssh_pam_result *res,
    struct pam_kbd *k)
{
	struct dssh_pam_request req = {
		.id = job->id, .user = job->user, .password = job->password,
		.remote_host = job->rhost, .kind = job->kind,
		.allow_empty_password = job->allow_empty,
	};
	uint8_t *buf = malloc(DSSH_PAM_CHAN_MAX + 1);
	uint32_t delay_usec = 0;
	struct dssh_buf b;
	ssize_t n;
	int fd = -1;

	memset(res, 0, sizeof(*res));
	res->id = job->id;
	snprintf(res->message, sizeof(res->message), "PAM monitor unavailable");
	dssh_buf_init(&b, 0);
	if (buf == NULL || (fd = w->remote(w->remote_arg, &req, w->service)) < 0)
		goto out;
	for (;;) {
		struct dssh_pam_prompts *p = NULL;
		unsigned np;
		char **a;

		if ((n = chan_recv(fd, buf, PAM_KBD_WAIT_S + 60)) <= 0)
			break;
		if (buf[0] == DSSH_PAM_CHAN_RESULT) {
			if (dssh_pam_chan_decode_result(buf, (size_t)n, &res->ok, &delay_usec,
			    res->message, sizeof(res->message)) != 0)
				dssh_error("pam: malformed result from the monitor");
			break;
		}
		if (k == NULL || dssh_pam_chan_decode_prompts(buf, (size_t)n, &p) != 0) {
			dssh_error("pam: unexpected message from the monitor");
			break;
		}
		np = p->n;
		if ((a = kbd_post_wait(k, p)) == NULL)
			break;          /* closing the channel ends the conversation */
		dssh_buf_reset(&b);
		n = dssh_pam_chan_encode_answers(&b, (const char *const *)a, np) == 0 &&
		    chan_send(fd, &b) == 0;
		dssh_pam_answers_free(a, np);
		if (!n)
			break;
	}
 out:
	if (fd >= 0)
		close(fd);
	if (buf != NULL) {
		dssh_wipe(buf, DSSH_PAM_CHAN_MAX + 1);
		free(buf);
	}
	dssh_buf_free(&b);
	return (uint64_t)delay_usec * 1000u;
}

static uint64_t
run_job(struct dssh_pam_worker *w, struct pam_job *job, struct dssh_pam_result *res,
    struct pam_kbd *kbd)
{
	if (w->remote != NULL)
		return run_remote(w, job, res, kbd);
	return run_pam(w->service, job, res, kbd, -1);
}

int
dssh_pam_serve(int fd, const char *service, const struct dssh_pam_request *req,
    void (*decided)(void *arg, bool ok), void *arg)
{
	struct pam_job job = {
		.id = req->id, .user = (char *)req->user, .password = (char *)req->password,
		.rhost = (char *)req->remote_host, .kind = req->kind,
		.allow_empty = req->allow_empty_password,
	};
	struct dssh_pam_result res;
	struct dssh_buf b;
	uint64_t delay_ns;
	int r;

	delay_ns = run_pam(service, &job, &res, NULL, req->kind == DSSH_PAM_KBDINT ? fd : -1);
	if (decided != NULL)
		decided(arg, res.ok);
	dssh_buf_init(&b, 0);
	if ((r = dssh_pam_chan_encode_result(&b, res.ok,
	    (uint32_t)DSSH_MIN(delay_ns / 1000u, UINT32_MAX), res.message)) == 0)
		r = chan_send(fd, &b);
	dssh_buf_free(&b);
	return r != 0 ? r : res.ok ? 0 : DSSH_ERR_PERMISSION;
}

void
dssh_pam_worker_set_remote(struct dssh_pam_worker *w, dssh_pam_remote_fn fn, void *arg)
{
	w->remote = fn;
	w->remote_arg = arg;
}

static void
job_free(struct pam_job *job)
{
	if (job == NULL)
		return;
	free(job->user);
	dssh_free_secret_str(job->password);
	free(job->rhost);
	free(job);
}

static void
signal_ready(struct dssh_pam_worker *w)
{
	uint64_t one = 1;

	if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		dssh_error("pam worker: eventfd write: %s", strerror(errno));
}

/* With the lock held. */
static void
release_due(struct dssh_pam_worker *w, uint64_t now, uint64_t *earliest)
{
	struct pam_done **pp = &w->delayed;
	bool moved = false;

	*earliest = 0;
	while (*pp != NULL) {
		struct pam_done *d = *pp;

		if (d->release_ns <= now) {
			*pp = d->next;
			d->next = NULL;
			*w->ready_tail = d;
			w->ready_tail = &d->next;
			moved = true;
			continue;
		}
		if (*earliest == 0 || d->release_ns < *earliest)
			*earliest = d->release_ns;
		pp = &d->next;
	}
	if (moved)
		signal_ready(w);
}

static void *
worker_main(void *arg)
{
	struct dssh_pam_worker *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		uint64_t earliest;

		release_due(w, dssh_now_ns(), &earliest);
		if (w->stop)
			break;
		if (w->qhead != NULL) {
			struct pam_job *job = w->qhead;
			struct pam_done *d;
			uint64_t start = dssh_now_ns(), delay = w->fail_delay_ns;

			w->qhead = job->next;
			if (w->qhead == NULL)
				w->qtail = &w->qhead;
			w->qlen--;
			pthread_mutex_unlock(&w->lock);
			d = calloc(1, sizeof(*d));
			if (d != NULL) {
				/* not inside DSSH_MAX: it evaluates its arguments twice */
				uint64_t pam_delay = run_job(w, job, &d->res, NULL);

				delay = DSSH_MAX(delay, pam_delay);
			}
			else
				dssh_error("pam worker: out of memory, request %llu dropped",
				    (unsigned long long)job->id);
			if (d != NULL && !d->res.ok && job->kind == DSSH_PAM_PASSWORD)
				d->release_ns = start + delay;
			job_free(job);
			pthread_mutex_lock(&w->lock);
			if (d != NULL) {
				d->next = w->delayed;
				w->delayed = d;
			}
			continue;
		}
		if (earliest != 0) {
			struct timespec ts = {
				.tv_sec = (time_t)(earliest / 1000000000u),
				.tv_nsec = (long)(earliest % 1000000000u),
			};

			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		} else
			pthread_cond_wait(&w->cond, &w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void
kbd_free(struct pam_kbd *k)
{
	if (k->answers != NULL) {
		for (unsigned i = 0; i < k->nasked; i++)
			dssh_free_secret_str(k->answers[i]);
		free(k->answers);
	}
	job_free(k->job);
	pthread_cond_destroy(&k->cond);
	dssh_wipe(k->info, sizeof(k->info));
	free(k);
}

/* With the lock held. */
static void
kbd_unlink(struct dssh_pam_worker *w, struct pam_kbd *k)
{
	for (struct pam_kbd **pp = &w->kbds; *pp != NULL; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	w->nkbd--;
	pthread_cond_broadcast(&w->kbd_gone);
}

static void *
kbd_main(void *arg)
{
	struct pam_kbd *k = arg;
	struct dssh_pam_worker *w = k->w;
	struct pam_done *d = calloc(1, sizeof(*d));
	uint64_t start = dssh_now_ns(), delay;

	pthread_mutex_lock(&w->lock);
	delay = w->fail_delay_ns;
	pthread_mutex_unlock(&w->lock);
	if (d != NULL) {
		uint64_t pam_delay = run_job(w, k->job, &d->res, k);

		delay = DSSH_MAX(delay, pam_delay);
	}
	pthread_mutex_lock(&w->lock);
	if (d != NULL && !k->cancelled && !w->stop) {
		/* failures wait as for passwords; the worker threads release them */
		d->release_ns = d->res.ok ? 0 : start + delay;
		d->next = w->delayed;
		w->delayed = d;
		d = NULL;
		pthread_cond_broadcast(&w->cond);
	} else
		w->nresults--;
	kbd_unlink(w, k);
	pthread_mutex_unlock(&w->lock);
	free(d);
	kbd_free(k);
	return NULL;
}

static int
kbd_start(struct dssh_pam_worker *w, struct pam_job *job)
{
	struct pam_kbd *k = calloc(1, sizeof(*k));
	pthread_condattr_t ca;
	pthread_attr_t ta;
	pthread_t t;
	int e;

	if (k == NULL) {
		job_free(job);
		return DSSH_ERR_ALLOC;
	}
	k->id = job->id;
	k->w = w;
	k->job = job;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&w->lock);
	if (w->stop || w->nkbd >= PAM_KBD_MAX || w->qlen + w->nresults >= PAM_QUEUE_MAX) {
		pthread_mutex_unlock(&w->lock);
		kbd_free(k);
		return DSSH_ERR_BUSY;
	}
	k->next = w->kbds;
	w->kbds = k;
	w->nkbd++;
	w->nresults++;
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&t, &ta, kbd_main, k);
	pthread_attr_destroy(&ta);
	if (e != 0) {
		kbd_unlink(w, k);
		w->nresults--;
		pthread_mutex_unlock(&w->lock);
		kbd_free(k);
		return DSSH_ERR_SYSTEM;
	}
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int
dssh_pam_worker_answer(struct dssh_pam_worker *w, uint64_t id,
    const char *const *answers, unsigned n)
{
	struct pam_kbd *k;
	char **a;
	int r = DSSH_ERR_NOT_FOUND;

	if (n == 0 || n > DSSH_PAM_MAX_PROMPTS || (a = calloc(n, sizeof(*a))) == NULL)
		return n == 0 || n > DSSH_PAM_MAX_PROMPTS ? DSSH_ERR_INVALID_ARGUMENT :
		    DSSH_ERR_ALLOC;
	for (unsigned i = 0; i < n; i++)
		if ((a[i] = strdup(answers[i])) == NULL) {
			r = DSSH_ERR_ALLOC;
			goto out;
		}
	pthread_mutex_lock(&w->lock);
	for (k = w->kbds; k != NULL; k = k->next)
		if (k->id == id && !k->cancelled && k->nasked > 0 && k->answers == NULL)
			break;
	if (k != NULL && k->nasked != n)
		r = DSSH_ERR_INVALID_ARGUMENT;
	else if (k != NULL) {
		k->answers = a;
		a = NULL;
		pthread_cond_signal(&k->cond);
		r = 0;
	}
	pthread_mutex_unlock(&w->lock);
 out:
	if (a != NULL) {
		for (unsigned i = 0; i < n; i++)
			dssh_free_secret_str(a[i]);
		free(a);
	}
	return r;
}

void
dssh_pam_worker_cancel(struct dssh_pam_worker *w, uint64_t id)
{
	pthread_mutex_lock(&w->lock);
	for (struct pam_kbd *k = w->kbds; k != NULL; k = k->next)
		if (k->id == id) {
			k->cancelled = true;
			pthread_cond_signal(&k->cond);
		}
	/* prompts of it not collected yet are dropped too */
	w->ready_tail = &w->ready;
	for (struct pam_done **pp = &w->ready; *pp != NULL; ) {
		struct pam_done *d = *pp;

		if (d->res.id == id && d->res.prompts != NULL) {
			*pp = d->next;
			dssh_pam_prompts_free(d->res.prompts);
			free(d);
			w->nresults--;
			continue;
		}
		w->ready_tail = &d->next;
		pp = &d->next;
	}
	pthread_mutex_unlock(&w->lock);
}

int
dssh_pam_worker_new(const char *service, struct dssh_pam_worker **wp)
{
	struct dssh_pam_worker *w;
	pthread_condattr_t ca;
	int r = DSSH_ERR_SYSTEM;

	*wp = NULL;
	if (service == NULL || *service == '\0')
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return DSSH_ERR_ALLOC;
	w->efd = -1;
	w->qtail = &w->qhead;
	w->ready_tail = &w->ready;
	w->fail_delay_ns = (uint64_t)PAM_DEFAULT_FAIL_DELAY_MS * 1000000u;
	if ((w->service = strdup(service)) == NULL) {
		free(w);
		return DSSH_ERR_ALLOC;
	}
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		free(w->service);
		free(w);
		return DSSH_ERR_SYSTEM;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&w->kbd_gone, NULL);
	for (unsigned i = 0; i < PAM_WORKER_THREADS; i++) {
		if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0)
			goto fail;
		w->nthreads++;
	}
	*wp = w;
	return 0;
 fail:
	dssh_pam_worker_free(w);
	return r;
}

void
dssh_pam_worker_set_fail_delay(struct dssh_pam_worker *w, unsigned ms)
{
	pthread_mutex_lock(&w->lock);
	w->fail_delay_ns = (uint64_t)ms * 1000000u;
	pthread_mutex_unlock(&w->lock);
}

int
dssh_pam_worker_fd(const struct dssh_pam_worker *w)
{
	return w->efd;
}

int
dssh_pam_worker_submit(struct dssh_pam_worker *w,
    const struct dssh_pam_request *req)
{
	struct pam_job *job;

	if (req == NULL || req->user == NULL || (req->kind != DSSH_PAM_PASSWORD &&
	    req->kind != DSSH_PAM_ACCOUNT_ONLY && req->kind != DSSH_PAM_KBDINT))
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return DSSH_ERR_ALLOC;
	job->id = req->id;
	job->kind = req->kind;
	job->allow_empty = req->allow_empty_password;
	if ((job->user = strdup(req->user)) == NULL ||
	    (req->password != NULL &&
	    (job->password = strdup(req->password)) == NULL) ||
	    (req->remote_host != NULL &&
	    (job->rhost = strdup(req->remote_host)) == NULL)) {
		job_free(job);
		return DSSH_ERR_ALLOC;
	}
	if (job->kind == DSSH_PAM_KBDINT)
		return kbd_start(w, job);
	pthread_mutex_lock(&w->lock);
	if (w->stop || w->qlen + w->nresults >= PAM_QUEUE_MAX) {
		pthread_mutex_unlock(&w->lock);
		job_free(job);
		return DSSH_ERR_BUSY;
	}
	*w->qtail = job;
	w->qtail = &job->next;
	w->qlen++;
	w->nresults++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

unsigned
dssh_pam_worker_collect(struct dssh_pam_worker *w, struct dssh_pam_result *out,
    unsigned max)
{
	uint64_t v;
	unsigned n = 0;

	pthread_mutex_lock(&w->lock);
	if (read(w->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		dssh_error("pam worker: eventfd read: %s", strerror(errno));
	while (n < max && w->ready != NULL) {
		struct pam_done *d = w->ready;

		w->ready = d->next;
		if (w->ready == NULL)
			w->ready_tail = &w->ready;
		out[n++] = d->res;
		free(d);
		w->nresults--;
	}
	if (w->ready != NULL)
		signal_ready(w);
	pthread_mutex_unlock(&w->lock);
	return n;
}

void
dssh_pam_worker_free(struct dssh_pam_worker *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	for (struct pam_kbd *k = w->kbds; k != NULL; k = k->next)
		pthread_cond_signal(&k->cond);
	/* conversation threads end on stop (after a PAM call in progress) */
	while (w->nkbd > 0)
		pthread_cond_wait(&w->kbd_gone, &w->lock);
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	while (w->qhead != NULL) {
		struct pam_job *j = w->qhead;

		w->qhead = j->next;
		job_free(j);
	}
	for (struct pam_done *d = w->ready, *n; d != NULL; d = n) {
		n = d->next;
		dssh_pam_prompts_free(d->res.prompts);
		free(d);
	}
	for (struct pam_done *d = w->delayed, *n; d != NULL; d = n) {
		n = d->next;
		free(d);
	}
	pthread_cond_destroy(&w->cond);
	pthread_cond_destroy(&w->kbd_gone);
	pthread_mutex_destroy(&w->lock);
	if (w->efd >= 0)
		close(w->efd);
	free(w->service);
	free(w);
}

/* ---- synchronous session part ---- */

struct dssh_pam_session {
	pam_handle_t *pamh;
	struct pam_conv conv;
	bool cred;
	bool opened;
};

int
dssh_pam_open_session(const char *service, const char *user,
    const char *remote_host, const char *tty, char ***env_out,
    struct dssh_pam_session **sessp)
{
	struct dssh_pam_session *s;
	int rc, r = DSSH_ERR_PERMISSION;

	*sessp = NULL;
	if (env_out != NULL)
		*env_out = NULL;
	if (service == NULL || user == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return DSSH_ERR_ALLOC;
	s->conv.conv = conv_fn;
	s->conv.appdata_ptr = NULL;
	if ((rc = pam_start(service, user, &s->conv, &s->pamh)) != PAM_SUCCESS) {
		dssh_error("pam_start(%s): %s", service, pam_strerror(s->pamh, rc));
		s->pamh = NULL;
		goto fail;
	}
	if ((rc = pam_set_item(s->pamh, PAM_RHOST,
	    remote_host ? remote_host : "")) != PAM_SUCCESS ||
	    (rc = pam_set_item(s->pamh, PAM_TTY, tty ? tty : "ssh")) != PAM_SUCCESS) {
		dssh_error("pam_set_item: %s", pam_strerror(s->pamh, rc));
		goto fail;
	}
	if ((rc = pam_setcred(s->pamh, PAM_ESTABLISH_CRED)) != PAM_SUCCESS) {
		dssh_error("pam_setcred: %s", pam_strerror(s->pamh, rc));
		goto fail;
	}
	s->cred = true;
	if ((rc = pam_open_session(s->pamh, 0)) != PAM_SUCCESS) {
		dssh_error("pam_open_session: %s", pam_strerror(s->pamh, rc));
		goto fail;
	}
	s->opened = true;
	if (env_out != NULL && (*env_out = pam_getenvlist(s->pamh)) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto fail;
	}
	*sessp = s;
	return 0;
 fail:
	dssh_pam_close_session(s);
	return r;
}

int
dssh_pam_close_session(struct dssh_pam_session *s)
{
	int rc = PAM_SUCCESS, r = 0;

	if (s == NULL)
		return 0;
	if (s->pamh != NULL) {
		if (s->opened &&
		    (rc = pam_close_session(s->pamh, 0)) != PAM_SUCCESS) {
			dssh_error("pam_close_session: %s", pam_strerror(s->pamh, rc));
			r = DSSH_ERR_PERMISSION;
		}
		if (s->cred)
			pam_setcred(s->pamh, PAM_DELETE_CRED);
		pam_end(s->pamh, rc);
	}
	free(s);
	return r;
}

void
dssh_pam_env_free(char **env)
{
	if (env == NULL)
		return;
	for (char **e = env; *e != NULL; e++)
		dssh_free_secret_str(*e);
	free(env);
}
