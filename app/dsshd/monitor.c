/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Privilege separation (docs/security.md). The monitor is the spawner
 * process (root, single-threaded, dsshd re-executed): it serves the
 * requests of lib/auth/dssh_monitor.h and remembers, per connection, what
 * it verified itself, so that it spawns sessions and makes user sockets
 * only for a user who authenticated through it. dsshd's side of each
 * request is at the end of this file.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/capability.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "dssh_err.h"
#include "dssh_fdpass.h"
#include "dssh_log.h"
#include "dssh_monitor.h"
#include "dssh_session.h"
#include "dssh_sshkey.h"
#include "dssh_util.h"
#include "monitor.h"

#define MON_CONNS_MAX 16384             /* connections with something verified */
#define MON_PENDING_MAX 256             /* PAM children at once */
#define MON_GROUPS_MAX 256
#define MON_REPLY_MAX (64u * 1024)

/* What the monitor itself saw succeed on one connection. */
struct mon_conn {
	uint64_t id;
	uint8_t sid[64];        /* the first exchange hash we signed for it */
	size_t sidlen;
	char user[DSSH_MONITOR_NAME_MAX + 1];
	bool pam_auth;          /* password or keyboard-interactive through our PAM */
	bool key_ok;            /* a key we found in the user's files, signature reported good */
	bool acct_ok;           /* PAM's account stack (publickey with UsePAM) */
};

/* A PAM child: it writes 'Y' or 'N' to rfd before its result goes to dsshd. */
struct mon_pending {
	pid_t pid;
	int rfd;
	uint64_t conn;
	enum dssh_pam_kind kind;
	char user[DSSH_MONITOR_NAME_MAX + 1];
};

static struct mon_conn *mconns;
static size_t nmconns, capmconns;
static struct mon_pending pending[MON_PENDING_MAX];
static size_t npending;

static struct mon_conn *
mconn_find(uint64_t id)
{
	for (size_t i = 0; i < nmconns; i++)
		if (mconns[i].id == id)
			return &mconns[i];
	return NULL;
}

/*
 * Session ids of ended connections on which a publickey login was
 * recorded (their first 32 bytes: they are hashes), the last
 * MON_RETIRED_MAX of them, hashed into buckets: a compromised dsshd must
 * not have one recorded again for a new connection id and replay the
 * user's signature there. Only real logins (a user's own signature, which
 * dsshd cannot make) enter, so dsshd cannot flush it with made-up ones.
 */
#define MON_RETIRED_MAX 65536u
#define MON_RETIRED_BUCKETS 65536u
#define MON_RETIRED_NONE UINT32_MAX
static struct mon_retired {
	uint8_t sid[32];
	uint32_t next;
} *retired;
static uint32_t *retired_head, nretired, retired_pos;

static uint32_t
retired_bucket(const uint8_t *sid)
{
	uint32_t v;

	memcpy(&v, sid, sizeof(v));
	return v % MON_RETIRED_BUCKETS;
}

static bool
sid_retired(const uint8_t *sid)
{
	if (retired == NULL)
		return false;
	for (uint32_t i = retired_head[retired_bucket(sid)]; i != MON_RETIRED_NONE;
	    i = retired[i].next)
		if (memcmp(retired[i].sid, sid, 32) == 0)
			return true;
	return false;
}

static void
sid_retire(const uint8_t *sid)
{
	uint32_t *pp, i;

	if (retired == NULL) {
		retired = calloc(MON_RETIRED_MAX, sizeof(*retired));
		retired_head = malloc(MON_RETIRED_BUCKETS * sizeof(*retired_head));
		if (retired == NULL || retired_head == NULL) {
			free(retired);
			free(retired_head);
			retired = NULL;
			retired_head = NULL;
			return;
		}
		for (i = 0; i < MON_RETIRED_BUCKETS; i++)
			retired_head[i] = MON_RETIRED_NONE;
	}
	i = retired_pos;
	if (nretired == MON_RETIRED_MAX) {
		/* full: the oldest slot (this one) leaves its bucket */
		for (pp = &retired_head[retired_bucket(retired[i].sid)]; *pp != i;
		    pp = &retired[*pp].next)
			;
		*pp = retired[i].next;
	} else
		nretired++;
	memcpy(retired[i].sid, sid, 32);
	retired[i].next = retired_head[retired_bucket(sid)];
	retired_head[retired_bucket(sid)] = i;
	retired_pos = (retired_pos + 1) % MON_RETIRED_MAX;
}

static void
mconn_forget(uint64_t id)
{
	struct mon_conn *c = mconn_find(id);

	if (c == NULL)
		return;
	if (c->key_ok && c->sidlen >= 32)
		sid_retire(c->sid);
	*c = mconns[--nmconns];
}

/* conn's record, made (empty) when there is none; NULL when full. */
static struct mon_conn *
mconn_get(uint64_t id)
{
	struct mon_conn *c = mconn_find(id);

	if (c != NULL)
		return c;
	if (nmconns >= MON_CONNS_MAX) {
		dssh_error("monitor: too many connections recorded; connection %llu refused",
		    (unsigned long long)id);
		return NULL;
	}
	if (nmconns == capmconns) {
		size_t ncap = capmconns ? capmconns * 2 : 64;
		struct mon_conn *n = reallocarray(mconns, ncap, sizeof(*n));

		if (n == NULL)
			return NULL;
		mconns = n;
		capmconns = ncap;
	}
	c = &mconns[nmconns++];
	memset(c, 0, sizeof(*c));
	c->id = id;
	return c;
}

/*
 * Record a success for user on conn. Another user name on the same
 * connection starts over: what was verified was for the old name (the
 * session id stays: it is the connection's).
 */
static void
mconn_mark(uint64_t id, const char *user, enum dssh_pam_kind kind, bool key)
{
	struct mon_conn *c = mconn_get(id);

	if (c == NULL)
		return;
	if (strcmp(c->user, user) != 0) {
		c->pam_auth = c->key_ok = c->acct_ok = false;
		snprintf(c->user, sizeof(c->user), "%s", user);
	}
	if (key)
		c->key_ok = true;
	else if (kind == DSSH_PAM_ACCOUNT_ONLY)
		c->acct_ok = true;
	else
		c->pam_auth = true;
}

static bool
mconn_verified(const struct mon_conn *c)
{
	return c != NULL && (c->pam_auth || c->key_ok);
}

/* Read what finished PAM children said; drop those that are done. */
static void
mon_tick(void *arg)
{
	(void)arg;
	for (size_t i = 0; i < npending;) {
		struct mon_pending *p = &pending[i];
		char ch;
		ssize_t n = read(p->rfd, &ch, 1);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			i++;
			continue;
		}
		if (n == 1 && ch == 'Y')
			mconn_mark(p->conn, p->user, p->kind, false);
		(void)close(p->rfd);
		*p = pending[--npending];
	}
}

static void
send_reply(int fd, const struct dssh_buf *b, int pass_fd)
{
	/* Non-blocking: a dsshd that does not read its reply loses it. */
	if (dssh_send_fds(fd, dssh_buf_ptr(b), dssh_buf_len(b), &pass_fd, pass_fd >= 0 ? 1 : 0,
	    MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		dssh_debug("monitor: reply not sent: %s", strerror(errno));
}

/* ---- PAM ---------------------------------------------------------------- */

static void
pam_decided(void *arg, bool ok)
{
	int fd = *(int *)arg;

	if (write(fd, ok ? "Y" : "N", 1) != 1)
		_exit(1);
	(void)close(fd);
}

/*
 * A request for connection conn: its lines (and its PAM child's) are that
 * connection's, "dsshd[N]:" as dsshd's own (dssh_log.h); mon_request
 * goes back to the monitor's pid after each request.
 */
static void
mon_log_conn(uint64_t conn)
{
	(void)dssh_log_conn_enter(dssh_log_conn_number(conn));
}

/*
 * One short-lived root child per PAM request: a slow PAM stack or a
 * keyboard-interactive user never holds the monitor (which spawns
 * sessions) up.
 */
static void
mon_pam(const uint8_t *msg, size_t len, int chan)
{
	struct dssh_monitor_pam_req q;
	int pfd[2], r;
	sigset_t none;
	pid_t pid;

	if ((r = dssh_monitor_decode_pam(msg, len, &q)) != 0) {
		dssh_error("monitor: malformed PAM request (%zu bytes): %s", len, dssh_err_str(r));
		return;
	}
	mon_log_conn(q.req.id);
	if (npending >= MON_PENDING_MAX) {
		dssh_error("monitor: %u PAM conversations at once; request for %s refused",
		    MON_PENDING_MAX, q.req.user);
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		dssh_error("monitor: pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) < 0) {
		dssh_error("monitor: fork: %s", strerror(errno));
		(void)close(pfd[0]);
		(void)close(pfd[1]);
		goto out;
	}
	if (pid == 0) {
		int keep[2] = { chan, pfd[1] };

		(void)close(pfd[0]);
		dssh_spawner_child_fds(keep, 2);
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		(void)prctl(PR_SET_NAME, "dsshd-pam", 0, 0, 0);
		(void)dssh_pam_serve(chan, q.service, &q.req, pam_decided, &pfd[1]);
		_exit(0);
	}
	(void)close(pfd[1]);
	(void)fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	pending[npending] = (struct mon_pending){ .pid = pid, .rfd = pfd[0], .conn = q.conn,
	    .kind = q.req.kind };
	snprintf(pending[npending].user, sizeof(pending[npending].user), "%s", q.req.user);
	npending++;
 out:
	dssh_monitor_pam_req_free(&q);
}

/* ---- authorized_keys ------------------------------------------------------ */

/* A string field of the signed data equal to want (len bytes). */
static bool
sd_field_is(struct dssh_buf *b, const void *want, size_t len)
{
	const uint8_t *p;
	size_t n;

	return dssh_buf_get_string_direct(b, &p, &n) == 0 && n == len && memcmp(p, want, n) == 0;
}

/*
 * The publickey signature dsshd says it verified, checked again here
 * (RFC 4252 section 7) against what the monitor knows itself: conn's
 * session id (the first exchange hash it signed for conn), the user and
 * key blob of this request (just found in the user's files). NULL when
 * good, else why not.
 */
static const char *
userauth_sig_check(const struct mon_conn *c, const struct dssh_monitor_authkeys_req *q)
{
	struct dssh_sshkey *key = NULL;
	const char *sig_alg = NULL, *why = NULL;
	const uint8_t *alg;
	char algbuf[128];
	size_t alglen;
	struct dssh_buf b;
	uint8_t type;
	bool has_sig;

	if (c == NULL || c->sidlen == 0)
		return "no session id signed for the connection";
	dssh_buf_from(&b, q->sigdata, q->sigdatalen);
	if (!sd_field_is(&b, c->sid, c->sidlen))
		return "signed data is for another session id";
	if (dssh_buf_get_u8(&b, &type) != 0 || type != 50)
		return "signed data is no userauth request";
	if (!sd_field_is(&b, q->user, strlen(q->user)))
		return "signed data is for another user";
	if (!sd_field_is(&b, "ssh-connection", 14))
		return "signed data is for another service";
	if (!sd_field_is(&b, "publickey", 9) || dssh_buf_get_bool(&b, &has_sig) != 0 || !has_sig)
		return "signed data is no publickey request";
	if (dssh_buf_get_string_direct(&b, &alg, &alglen) != 0 || alglen == 0 ||
	    alglen >= sizeof(algbuf) || memchr(alg, '\0', alglen) != NULL)
		return "bad algorithm in signed data";
	memcpy(algbuf, alg, alglen);
	algbuf[alglen] = '\0';
	if (!sd_field_is(&b, q->key, q->keylen) || dssh_buf_len(&b) != 0)
		return "signed data is for another key";
	if (dssh_sshkey_userauth_key(algbuf, q->key, q->keylen, &key, &sig_alg) != 0)
		why = "algorithm does not fit the key";
	else if (dssh_sshkey_verify(key, sig_alg, q->sig, q->siglen, q->sigdata,
	    q->sigdatalen) != 0)
		why = "signature does not verify";
	dssh_sshkey_free(key);
	return why;
}

/*
 * dssh_authkeys_check as dsshd would run it, with the settings it sent: the
 * files are read here with the user's file-system ids (lib/auth switches
 * them), StrictModes checked; only the options of the line that matched
 * go back, never the files.
 */
static void
mon_authkeys(const uint8_t *msg, size_t len, int chan)
{
	struct dssh_monitor_authkeys_req q;
	struct dssh_authkey_opts opts;
	struct dssh_auth_user user;
	struct dssh_config cfg;
	struct dssh_buf b;
	int r;

	dssh_authkey_opts_init(&opts);
	if ((r = dssh_monitor_decode_authkeys(msg, len, &q)) != 0) {
		dssh_error("monitor: malformed authorized-keys request (%zu bytes): %s", len,
		    dssh_err_str(r));
		return;
	}
	mon_log_conn(q.conn);
	memset(&cfg, 0, sizeof(cfg));
	cfg.authorized_keys_files = q.files;
	cfg.nauthorized_keys_files = q.nfiles;
	cfg.strict_modes = (int)q.strict_modes;
	cfg.permit_user_environment = q.permit_user_environment;
	cfg.trusted_user_ca_keys = q.trusted_ca;
	cfg.authorized_principals_file = q.principals_file;
	cfg.revoked_keys = q.revoked_keys;
	r = dssh_auth_user_lookup(q.user, &user);
	/* dsshd (not root) cannot read shadow: the lock is checked here */
	if (r == 0 && q.refuse_locked && user.locked)
		r = DSSH_ERR_ACCOUNT_LOCKED;
	if (r == 0)
		r = dssh_authkeys_check(&cfg, &user, q.key, q.keylen, q.remote_ip, &opts);
	dssh_auth_user_clear(&user);
	if (r == 0 && q.final) {
		const char *why = userauth_sig_check(mconn_find(q.conn), &q);

		if (why == NULL)
			mconn_mark(q.conn, q.user, DSSH_PAM_PASSWORD, true);
		else {
			dssh_error("monitor: publickey login of %s on connection %llu refused: %s",
			    q.user, (unsigned long long)q.conn, why);
			r = DSSH_ERR_PERMISSION;
		}
	}
	dssh_buf_init(&b, MON_REPLY_MAX);
	if (dssh_monitor_encode_authkeys_reply(&b, r, &opts) == 0)
		send_reply(chan, &b, -1);
	dssh_buf_free(&b);
	dssh_authkey_opts_free(&opts);
	dssh_monitor_authkeys_req_free(&q);
}

/* ---- sockets as the user -------------------------------------------------- */

struct mon_ids {
	gid_t saved[MON_GROUPS_MAX];
	int nsaved;
	bool switched;
};

/* The monitor is single-threaded: glibc's setgroups is fine here. */
static int
ids_user(const struct passwd *pw, struct mon_ids *s)
{
	gid_t groups[MON_GROUPS_MAX];
	int n = MON_GROUPS_MAX;

	s->switched = false;
	if (pw->pw_uid == 0)
		return 0;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0) {
		groups[0] = pw->pw_gid;
		n = 1;
	}
	if ((s->nsaved = getgroups(MON_GROUPS_MAX, s->saved)) < 0 ||
	    setgroups((size_t)n, groups) != 0)
		return DSSH_ERR_SYSTEM;
	s->switched = true;
	setfsgid(pw->pw_gid);
	setfsuid(pw->pw_uid);
	if ((uid_t)setfsuid((uid_t)-1) != pw->pw_uid || (gid_t)setfsgid((gid_t)-1) != pw->pw_gid)
		return DSSH_ERR_SYSTEM;
	return 0;
}

static void
ids_root(struct mon_ids *s)
{
	if (!s->switched)
		return;
	setfsuid(0);
	setfsgid(0);
	(void)setgroups((size_t)s->nsaved, s->saved);
	s->switched = false;
}

static int
unix_sa(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return DSSH_ERR_INVALID_ARGUMENT;
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

/* The operation itself, with the user's ids in place. */
static int
sock_op(const struct dssh_monitor_sock_req *q, int *fd, char *dir, size_t dircap)
{
	struct sockaddr_un sa;
	int r;

	*fd = -1;
	switch (q->op) {
	case DSSH_MONITOR_SOCK_UNIX_CONNECT:
	case DSSH_MONITOR_SOCK_UNIX_LISTEN:
		if ((r = unix_sa(q->path, &sa)) != 0)
			return r;
		if ((*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
			return DSSH_ERR_SYSTEM;
		if (q->op == DSSH_MONITOR_SOCK_UNIX_CONNECT)
			return connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ?
			    0 : DSSH_ERR_SYSTEM;
		/* port: the mode mask (low 9 bits), 0x1000 unlink first */
		if (q->port & 0x1000)
			(void)unlink(q->path);
		if (bind(*fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(*fd, 128) != 0 ||
		    chmod(q->path, 0666 & ~(mode_t)(q->port & 0777)) != 0)
			return DSSH_ERR_SYSTEM;
		return 0;
	case DSSH_MONITOR_SOCK_UNIX_UNLINK:
		(void)unlink(q->path);
		/* port 1: and its directory (the agent's) */
		if (q->port == 1) {
			char *slash, d[sizeof(sa.sun_path)];

			snprintf(d, sizeof(d), "%s", q->path);
			if ((slash = strrchr(d, '/')) != NULL && slash != d) {
				*slash = '\0';
				(void)rmdir(d);
			}
		}
		return 0;
	case DSSH_MONITOR_SOCK_AGENT_DIR:
		snprintf(dir, dircap, "/tmp/ssh-XXXXXXXXXX");
		return mkdtemp(dir) != NULL ? 0 : DSSH_ERR_SYSTEM;
	default:
		return DSSH_ERR_UNSUPPORTED;
	}
}

/* TCP below 1024 (a root login's -R): only for a verified root user. */
static int
tcp_low_listen(const struct dssh_monitor_sock_req *q, int *fd)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, q->path, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)q->port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, q->path, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)q->port);
		sl = sizeof(struct sockaddr_in6);
	} else
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((*fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return DSSH_ERR_SYSTEM;
	(void)setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(*fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(*fd, (struct sockaddr *)&ss, sl) != 0 || listen(*fd, 128) != 0)
		return DSSH_ERR_SYSTEM;
	return 0;
}

static void
mon_socket(const uint8_t *msg, size_t len, int chan)
{
	struct dssh_monitor_sock_req q;
	struct mon_conn *c;
	struct passwd *pw;
	struct mon_ids ids;
	struct dssh_buf b;
	char dir[64] = "";
	int r, fd = -1, e = 0;

	if ((r = dssh_monitor_decode_sock(msg, len, &q)) != 0) {
		dssh_error("monitor: malformed socket request (%zu bytes): %s", len, dssh_err_str(r));
		return;
	}
	mon_log_conn(q.conn);
	mon_tick(NULL);
	c = mconn_find(q.conn);
	if (!mconn_verified(c) || (pw = getpwnam(c->user)) == NULL) {
		dssh_error("monitor: socket refused: connection %llu has no authenticated user",
		    (unsigned long long)q.conn);
		r = DSSH_ERR_PERMISSION;
	} else if (q.op == DSSH_MONITOR_SOCK_TCP_LISTEN) {
		r = pw->pw_uid == 0 ? tcp_low_listen(&q, &fd) : DSSH_ERR_PERMISSION;
		e = errno;
	} else if ((r = ids_user(pw, &ids)) == 0) {
		r = sock_op(&q, &fd, dir, sizeof(dir));
		e = errno;
		ids_root(&ids);
	} else
		ids_root(&ids);
	if (r != 0 && fd >= 0) {
		(void)close(fd);
		fd = -1;
	}
	/* the errno of a failed system call goes back as DSSH_ERR_SYSTEM - errno */
	if (r == DSSH_ERR_SYSTEM && e > 0 && e < 900)
		r = -(100 + e);
	dssh_buf_init(&b, 0);
	if (dssh_monitor_encode_sock_reply(&b, r, dir) == 0)
		send_reply(chan, &b, fd);
	dssh_buf_free(&b);
	if (fd >= 0)
		(void)close(fd);
	dssh_monitor_sock_req_free(&q);
}

/* ---- host keys ------------------------------------------------------------- */

#define MON_HOSTKEYS_MAX 64

/* Loaded host keys, oldest first: a reload adds, the oldest go when full. */
static struct mon_hostkey {
	struct dssh_sshkey *key;
	uint8_t *blob;
	size_t len;
} hostkeys[MON_HOSTKEYS_MAX];
static size_t nhostkeys;

static struct mon_hostkey *
hostkey_find(const uint8_t *blob, size_t len)
{
	for (size_t i = 0; i < nhostkeys; i++)
		if (hostkeys[i].len == len && memcmp(hostkeys[i].blob, blob, len) == 0)
			return &hostkeys[i];
	return NULL;
}

static void
mon_hostkey_load(const uint8_t *msg, size_t len, int chan)
{
	struct dssh_sshkey *k = NULL;
	struct dssh_buf pub, b;
	char *path = NULL;
	int r;

	dssh_buf_init(&pub, 0);
	dssh_buf_init(&b, 0);
	if ((r = dssh_monitor_decode_hostkey_load(msg, len, &path)) != 0) {
		dssh_error("monitor: malformed host key request (%zu bytes): %s", len, dssh_err_str(r));
		goto out;
	}
	if ((r = dssh_sshkey_load_private(path, &k)) == 0 &&
	    (r = dssh_sshkey_public_blob(k, &pub)) == 0 &&
	    hostkey_find(dssh_buf_ptr(&pub), dssh_buf_len(&pub)) == NULL) {
		struct mon_hostkey *h;

		if (nhostkeys == MON_HOSTKEYS_MAX) {
			dssh_sshkey_free(hostkeys[0].key);
			free(hostkeys[0].blob);
			memmove(&hostkeys[0], &hostkeys[1], (MON_HOSTKEYS_MAX - 1) * sizeof(hostkeys[0]));
			nhostkeys--;
		}
		h = &hostkeys[nhostkeys];
		if ((h->blob = malloc(dssh_buf_len(&pub))) == NULL) {
			r = DSSH_ERR_ALLOC;
		} else {
			memcpy(h->blob, dssh_buf_ptr(&pub), dssh_buf_len(&pub));
			h->len = dssh_buf_len(&pub);
			h->key = k;
			k = NULL;
			nhostkeys++;
			dssh_verbose("monitor: host key %s loaded", path);
		}
	}
	if (dssh_monitor_encode_blob_reply(&b, DSSH_MONITOR_HOSTKEY_REPLY, r,
	    dssh_buf_ptr(&pub), dssh_buf_len(&pub)) == 0)
		send_reply(chan, &b, -1);
 out:
	dssh_sshkey_free(k);
	free(path);
	dssh_buf_free(&pub);
	dssh_buf_free(&b);
}

/*
 * Some connection's session id already, or an ended one's on which a
 * publickey login was recorded: a compromised dsshd must not have it
 * recorded for a second connection (to replay a user's signature there).
 */
static bool
sid_taken(const uint8_t *h, size_t len)
{
	if (sid_retired(h))
		return true;
	for (size_t i = 0; i < nmconns; i++)
		if (mconns[i].sidlen == len && memcmp(mconns[i].sid, h, len) == 0)
			return true;
	return false;
}

static void
mon_hostkey_sign(const uint8_t *msg, size_t len, int chan)
{
	const uint8_t *key, *data;
	size_t keylen, datalen;
	struct mon_hostkey *h = NULL;
	struct mon_conn *c;
	struct dssh_buf sig, b;
	uint64_t conn = 0;
	char alg[128];
	int r;

	dssh_buf_init(&sig, 0);
	dssh_buf_init(&b, 0);
	r = dssh_monitor_decode_sign(msg, len, &conn, &key, &keylen, alg, sizeof(alg), &data,
	    &datalen);
	mon_log_conn(r == 0 ? conn : 0);
	if (r != 0)
		dssh_error("monitor: malformed sign request (%zu bytes): %s", len, dssh_err_str(r));
	else if ((h = hostkey_find(key, keylen)) == NULL)
		r = DSSH_ERR_NOT_FOUND;
	else if ((c = mconn_get(conn)) == NULL)
		r = DSSH_ERR_BUSY;
	else if (c->sidlen == 0 && sid_taken(data, datalen)) {
		dssh_error("monitor: exchange hash of another connection to sign for %llu; refused",
		    (unsigned long long)conn);
		r = DSSH_ERR_PERMISSION;
	} else if ((r = dssh_sshkey_sign(h->key, alg, data, datalen, &sig)) == 0 &&
	    c->sidlen == 0) {
		/* the first hash is the session id (RFC 4253 section 7.2) */
		memcpy(c->sid, data, datalen);
		c->sidlen = datalen;
	}
	if (dssh_monitor_encode_blob_reply(&b, DSSH_MONITOR_SIGN_REPLY, r,
	    dssh_buf_ptr(&sig), dssh_buf_len(&sig)) == 0)
		send_reply(chan, &b, -1);
	dssh_buf_free(&sig);
	dssh_buf_free(&b);
}

/* ---- the spawner's hooks -------------------------------------------------- */

/* dsshd's control socket (the first CTL_PATH only): removed when dsshd is gone. */
static char ctl_path[108];

static void
mon_fini(void *arg)
{
	struct stat st;

	(void)arg;
	if (ctl_path[0] != '\0' && lstat(ctl_path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(ctl_path);
}

static void
mon_request(void *arg, const uint8_t *msg, size_t len, int *fds, size_t nfds)
{
	char user[DSSH_MONITOR_NAME_MAX + 1], host[DSSH_MONITOR_NAME_MAX + 1];
	int chan = nfds > 0 ? fds[0] : -1;
	uint64_t conn;

	(void)arg;
	for (size_t i = 1; i < nfds; i++)
		(void)close(fds[i]);
	switch (msg[0]) {
	case DSSH_MONITOR_PAM:
		if (chan >= 0)
			mon_pam(msg, len, chan);
		break;
	case DSSH_MONITOR_AUTHKEYS:
		if (chan >= 0)
			mon_authkeys(msg, len, chan);
		break;
	case DSSH_MONITOR_SOCKET:
		if (chan >= 0)
			mon_socket(msg, len, chan);
		break;
	case DSSH_MONITOR_HOSTKEY_LOAD:
		if (chan >= 0)
			mon_hostkey_load(msg, len, chan);
		break;
	case DSSH_MONITOR_HOSTKEY_SIGN:
		if (chan >= 0)
			mon_hostkey_sign(msg, len, chan);
		break;
	case DSSH_MONITOR_FAILED_LOGIN:
		if (dssh_monitor_decode_failed_login(msg, len, user, host) == 0)
			dssh_session_record_failed_login(user, host);
		else
			dssh_error("monitor: malformed failed-login request");
		break;
	case DSSH_MONITOR_CTL_PATH:
		if (ctl_path[0] == '\0' && dssh_monitor_decode_ctl_path(msg, len, ctl_path) != 0) {
			ctl_path[0] = '\0';
			dssh_error("monitor: malformed control-socket request");
		}
		break;
	case DSSH_MONITOR_CONN_END:
		if (dssh_monitor_decode_conn_end(msg, len, &conn) == 0) {
			mon_tick(NULL);
			mconn_forget(conn);
		} else
			dssh_error("monitor: malformed connection-end request");
		break;
	default:
		dssh_error("monitor: unknown request type %u", msg[0]);
	}
	if (chan < 0 && msg[0] != DSSH_MONITOR_CONN_END && msg[0] != DSSH_MONITOR_FAILED_LOGIN &&
	    msg[0] != DSSH_MONITOR_CTL_PATH)
		dssh_error("monitor: request type %u without a reply channel", msg[0]);
	if (chan >= 0)
		(void)close(chan);
	dssh_log_conn_leave(0);
}

/*
 * A session only for the user the monitor saw authenticate on that
 * connection, with that user's own uid and gid.
 */
static int
mon_spawn_check(void *arg, const struct dssh_session_spec *spec)
{
	struct mon_conn *c;
	struct passwd *pw;

	(void)arg;
	mon_tick(NULL);
	c = mconn_find(spec->auth_id);
	if (!mconn_verified(c) || spec->user.name == NULL || strcmp(c->user, spec->user.name) != 0) {
		dssh_error("monitor: spawn refused: %s did not authenticate on connection %llu",
		    spec->user.name ? spec->user.name : "?", (unsigned long long)spec->auth_id);
		return DSSH_ERR_PERMISSION;
	}
	if ((pw = getpwnam(c->user)) == NULL || pw->pw_uid != spec->user.uid ||
	    pw->pw_gid != spec->user.gid) {
		dssh_error("monitor: spawn refused: uid/gid of %s do not match the request",
		    c->user);
		return DSSH_ERR_PERMISSION;
	}
	return 0;
}

const struct dssh_spawner_monitor dsshd_monitor_ops = {
	.arg = NULL,
	.request = mon_request,
	.spawn_check = mon_spawn_check,
	.tick = mon_tick,
	.fini = mon_fini,
};

/* ======================================================== dsshd's side */

/* A request with a reply channel; returns our end (or a negative code). */
static int
call(const struct dsshd_monitor_link *l, const struct dssh_buf *b)
{
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return DSSH_ERR_SYSTEM;
	r = l->send(l->arg, dssh_buf_ptr(b), dssh_buf_len(b), &sv[1], 1);
	(void)close(sv[1]);
	if (r != 0) {
		(void)close(sv[0]);
		return r;
	}
	return sv[0];
}

/* The reply (and an fd with it); message length or a negative code. */
static ssize_t
reply(int fd, uint8_t *buf, size_t cap, int *passed)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct iovec iov = { buf, cap };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
	    .msg_controllen = sizeof(cm.buf) };
	ssize_t n;
	int e;

	if (passed != NULL)
		*passed = -1;
	do {
		e = poll(&p, 1, DSSHD_MONITOR_TIMEOUT_MS);
	} while (e < 0 && errno == EINTR);
	if (e <= 0)
		return DSSH_ERR_TIMEOUT;
	do {
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return DSSH_ERR_SYSTEM;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (passed != NULL && *passed < 0)
				*passed = f;
			else
				(void)close(f);
		}
	}
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || n == 0) {
		if (passed != NULL && *passed >= 0) {
			(void)close(*passed);
			*passed = -1;
		}
		return n == 0 ? DSSH_ERR_CONN_CLOSED : DSSH_ERR_STRING_TOO_LARGE;
	}
	return n;
}

int
dsshd_monitor_pam_open(void *arg, const struct dssh_pam_request *req, const char *service)
{
	const struct dsshd_monitor_link *l = arg;
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = dssh_monitor_encode_pam(&b, req->id, req, service)) == 0)
		r = call(l, &b);
	dssh_buf_free(&b);
	if (r < 0)
		dssh_error("PAM through the monitor: %s", dssh_err_str(r));
	return r < 0 ? -1 : r;
}

int
dsshd_monitor_authkeys(const struct dsshd_monitor_link *l, uint64_t conn,
    const struct dsshd_monitor_sig *sig, const struct dssh_config *cfg, const char *user,
    const uint8_t *blob, size_t len, const char *remote_ip, struct dssh_authkey_opts *opts)
{
	struct dssh_monitor_authkeys_req q = {
		.conn = conn, .final = sig != NULL, .user = (char *)user, .key = (uint8_t *)blob,
		.sigdata = sig ? (uint8_t *)sig->data : NULL, .sigdatalen = sig ? sig->datalen : 0,
		.sig = sig ? (uint8_t *)sig->sig : NULL, .siglen = sig ? sig->siglen : 0,
		.keylen = len, .remote_ip = (char *)remote_ip,
		.strict_modes = cfg->strict_modes != 0,
		.refuse_locked = cfg->use_pam == 0,
		.permit_user_environment = cfg->permit_user_environment,
		.trusted_ca = cfg->trusted_user_ca_keys,
		.principals_file = cfg->authorized_principals_file,
		.revoked_keys = cfg->revoked_keys,
	};
	uint8_t *buf = malloc(MON_REPLY_MAX + 1);
	struct dssh_buf b;
	ssize_t n;
	int fd, r, result = DSSH_ERR_INTERNAL;

	dssh_authkey_opts_init(opts);
	q.nfiles = DSSH_MIN(cfg->nauthorized_keys_files, DSSH_MONITOR_MAX_FILES);
	for (uint32_t i = 0; i < q.nfiles; i++)
		q.files[i] = cfg->authorized_keys_files[i];
	dssh_buf_init(&b, 0);
	if (buf == NULL)
		r = DSSH_ERR_ALLOC;
	else if ((r = dssh_monitor_encode_authkeys(&b, &q)) == 0 && (fd = call(l, &b)) >= 0) {
		if ((n = reply(fd, buf, MON_REPLY_MAX + 1, NULL)) < 0)
			r = (int)n;
		else
			r = dssh_monitor_decode_authkeys_reply(buf, (size_t)n, &result, opts);
		(void)close(fd);
	} else if (r == 0)
		r = DSSH_ERR_CONN_CLOSED;
	free(buf);
	dssh_buf_free(&b);
	if (r != 0) {
		dssh_error("authorized keys through the monitor: %s", dssh_err_str(r));
		return r;
	}
	return result;
}

void
dsshd_monitor_failed_login(const struct dsshd_monitor_link *l, const char *user,
    const char *host)
{
	struct dssh_buf b;

	dssh_buf_init(&b, 0);
	if (dssh_monitor_encode_failed_login(&b, user, host) == 0)
		(void)l->send(l->arg, dssh_buf_ptr(&b), dssh_buf_len(&b), NULL, 0);
	dssh_buf_free(&b);
}

void
dsshd_monitor_ctl_path(const struct dsshd_monitor_link *l, const char *path)
{
	struct dssh_buf b;

	dssh_buf_init(&b, 0);
	if (dssh_monitor_encode_ctl_path(&b, path) == 0)
		(void)l->send(l->arg, dssh_buf_ptr(&b), dssh_buf_len(&b), NULL, 0);
	dssh_buf_free(&b);
}

void
dsshd_monitor_conn_end(const struct dsshd_monitor_link *l, uint64_t conn)
{
	struct dssh_buf b;

	dssh_buf_init(&b, 0);
	if (dssh_monitor_encode_conn_end(&b, conn) == 0)
		(void)l->send(l->arg, dssh_buf_ptr(&b), dssh_buf_len(&b), NULL, 0);
	dssh_buf_free(&b);
}

int
dsshd_monitor_socket(const struct dsshd_monitor_link *l, uint64_t conn, int op,
    const char *path, unsigned port, int *fdp, char *dir, size_t dircap)
{
	struct dssh_monitor_sock_req q = { .conn = conn, .op = (uint8_t)op, .path = (char *)path,
	    .port = port };
	char got[64];
	uint8_t buf[512];
	struct dssh_buf b;
	ssize_t n;
	int fd, r, result = DSSH_ERR_INTERNAL, passed = -1;

	if (fdp != NULL)
		*fdp = -1;
	dssh_buf_init(&b, 0);
	if ((r = dssh_monitor_encode_sock(&b, &q)) == 0 && (fd = call(l, &b)) >= 0) {
		if ((n = reply(fd, buf, sizeof(buf), &passed)) < 0)
			r = (int)n;
		else
			r = dssh_monitor_decode_sock_reply(buf, (size_t)n, &result, got, sizeof(got));
		(void)close(fd);
	} else if (r == 0)
		r = DSSH_ERR_CONN_CLOSED;
	dssh_buf_free(&b);
	if (r == 0 && result <= -100 && result > -1000) {
		errno = -result - 100;
		result = DSSH_ERR_SYSTEM;
	}
	if (r != 0 || result != 0 || (op != DSSH_MONITOR_SOCK_UNIX_UNLINK &&
	    op != DSSH_MONITOR_SOCK_AGENT_DIR && passed < 0)) {
		if (passed >= 0)
			(void)close(passed);
		if (r != 0)
			errno = EPERM;
		return r != 0 ? r : result != 0 ? result : DSSH_ERR_INTERNAL;
	}
	if (dir != NULL)
		snprintf(dir, dircap, "%s", got);
	if (fdp != NULL)
		*fdp = passed;
	else if (passed >= 0)
		(void)close(passed);
	return 0;
}

/* One blob reply to a request in b. */
static int
blob_call(const struct dsshd_monitor_link *l, const struct dssh_buf *b, uint8_t type,
    uint8_t **blob, size_t *bloblen)
{
	uint8_t *buf = malloc(DSSH_MONITOR_MAX_KEY_BLOB + 64);
	ssize_t n;
	int fd, r, result = DSSH_ERR_INTERNAL;

	*blob = NULL;
	if (buf == NULL)
		return DSSH_ERR_ALLOC;
	if ((fd = call(l, b)) < 0) {
		free(buf);
		return fd;
	}
	if ((n = reply(fd, buf, DSSH_MONITOR_MAX_KEY_BLOB + 64, NULL)) < 0)
		r = (int)n;
	else
		r = dssh_monitor_decode_blob_reply(buf, (size_t)n, type, &result, blob, bloblen);
	(void)close(fd);
	free(buf);
	return r != 0 ? r : result;
}

int
dsshd_monitor_hostkey_load(const struct dsshd_monitor_link *l, const char *path,
    struct dssh_sshkey **pub)
{
	struct dssh_buf b;
	uint8_t *blob = NULL;
	size_t len = 0;
	int r;

	*pub = NULL;
	dssh_buf_init(&b, 0);
	if ((r = dssh_monitor_encode_hostkey_load(&b, path)) == 0 &&
	    (r = blob_call(l, &b, DSSH_MONITOR_HOSTKEY_REPLY, &blob, &len)) == 0)
		r = dssh_sshkey_from_blob(blob, len, pub);
	free(blob);
	dssh_buf_free(&b);
	return r;
}

int
dsshd_monitor_sign(void *arg, uint64_t conn, const struct dssh_sshkey *key, const char *alg,
    const uint8_t *data, size_t len, struct dssh_buf *sig)
{
	const struct dsshd_monitor_link *l = arg;
	struct dssh_buf pub, b;
	uint8_t *blob = NULL;
	size_t bloblen = 0;
	int r;

	dssh_buf_init(&pub, 0);
	dssh_buf_init(&b, 0);
	if ((r = dssh_sshkey_public_blob(key, &pub)) == 0 &&
	    (r = dssh_monitor_encode_sign(&b, conn, dssh_buf_ptr(&pub), dssh_buf_len(&pub), alg,
	    data, len)) == 0 &&
	    (r = blob_call(l, &b, DSSH_MONITOR_SIGN_REPLY, &blob, &bloblen)) == 0)
		r = dssh_buf_put(sig, blob, bloblen);
	if (r != 0)
		dssh_error("host key signature through the monitor: %s", dssh_err_str(r));
	free(blob);
	dssh_buf_free(&pub);
	dssh_buf_free(&b);
	return r;
}

/* ---- dropping root -------------------------------------------------------- */

int
dsshd_privsep_user_check(const char *user)
{
	if (getpwnam(user) == NULL) {
		dssh_error("Privilege separation user %s does not exist", user);
		return DSSH_ERR_CONFIG;
	}
	return 0;
}

int
dsshd_drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (pw == NULL) {
		dssh_error("Privilege separation user %s does not exist", user);
		return DSSH_ERR_CONFIG;
	}
	if (pw->pw_uid == 0) {
		dssh_error("Privilege separation user %s is root", user);
		return DSSH_ERR_CONFIG;
	}
	/* No supplementary group, then gid, then uid: root cannot come back. */
	if (setgroups(1, &pw->pw_gid) != 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		dssh_error("cannot drop privileges to %s: %s", user, strerror(errno));
		return DSSH_ERR_SYSTEM;
	}
	if (setuid(0) == 0 || geteuid() == 0) {
		dssh_error("privileges could be regained after dropping them; exiting");
		return DSSH_ERR_SYSTEM;
	}
	/* A full setuid from root clears them: make sure none is left. */
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0 || data[0].effective != 0 ||
	    data[0].permitted != 0 || data[1].effective != 0 || data[1].permitted != 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
		dssh_error("capabilities left after dropping privileges; exiting");
		return DSSH_ERR_SYSTEM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		dssh_error("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return DSSH_ERR_SYSTEM;
	}
	dssh_info("privileges dropped to %s (uid %d, gid %d)", user, (int)pw->pw_uid,
	    (int)pw->pw_gid);
	return 0;
}
