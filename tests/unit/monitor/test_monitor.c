/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The privilege-separation monitor (app/dsshd/monitor.c) as dsshd uses it:
 * this binary is its own spawner, with the monitor's hooks. What is checked
 * is the monitor's own record of authentication: a SPAWN or a user socket
 * for a connection on which it saw nobody authenticate is refused; an
 * authorized key it found (signature reported good) or a PAM success it
 * ran allows exactly that user on exactly that connection, until
 * CONN_END; host keys sign exchange hashes only. Needs root (skipped,
 * exit 77, otherwise): it spawns as root and writes /etc/pam.d services.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dssh_auth.h"
#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_monitor.h"
#include "dssh_spawner.h"
#include "dssh_sshkey.h"
#include "dssh_test.h"
#include "monitor.h"

static struct dssh_spawner *sp;
static struct dsshd_monitor_link link_;
static char tmpdir[64] = "/tmp/dssh-monitor-XXXXXX";
static char svc_permit[64], svc_deny[64];
static uint64_t next_sess = 1;

static int
send_fn(void *arg, const uint8_t *msg, size_t len, const int *fds, size_t nfds)
{
	(void)arg;
	return dssh_spawner_send(sp, msg, len, fds, nfds);
}

/* A root shell running `exit 0` for auth_id: the spawner's answer. */
static int
spawn_as(const char *user, uid_t uid, uint64_t auth_id)
{
	struct dssh_session_spec spec;
	struct dssh_session_child child;
	int r;

	memset(&spec, 0, sizeof(spec));
	spec.user.name = user;
	spec.user.uid = uid;
	spec.user.gid = uid == 0 ? 0 : 65534;
	spec.user.home = "/";
	spec.user.shell = "/bin/sh";
	spec.command = "exit 0";
	spec.auth_id = auth_id;
	r = dssh_spawner_spawn(sp, next_sess++, &spec, &child);
	if (r == 0)
		dssh_session_close(&child);
	return r;
}

/* A host key loaded into the monitor (main): it signs the session ids. */
static struct dssh_sshkey *hostpub;

/* conn's key exchange: the monitor signs sid (32 bytes) for it. */
static int
open_session(uint64_t conn, const uint8_t *sid)
{
	struct dssh_buf sig;
	int r;

	dssh_buf_init(&sig, 0);
	r = dsshd_monitor_sign(&link_, conn, hostpub, "ssh-ed25519", sid, 32, &sig);
	dssh_buf_free(&sig);
	return r;
}

/* What a client signs for publickey (RFC 4252 section 7), signed with k. */
static void
user_sig(const struct dssh_sshkey *k, const uint8_t *sid, const char *user, const char *alg,
    const struct dssh_buf *blob, struct dssh_buf *data, struct dssh_buf *sig)
{
	dssh_buf_reset(data);
	dssh_buf_reset(sig);
	CHECK(dssh_buf_put_string(data, sid, 32) == 0 && dssh_buf_put_u8(data, 50) == 0 &&
	    dssh_buf_put_cstring(data, user) == 0 &&
	    dssh_buf_put_cstring(data, "ssh-connection") == 0 &&
	    dssh_buf_put_cstring(data, "publickey") == 0 && dssh_buf_put_bool(data, true) == 0 &&
	    dssh_buf_put_cstring(data, alg) == 0 &&
	    dssh_buf_put_string(data, dssh_buf_ptr(blob), dssh_buf_len(blob)) == 0);
	CHECK_EQ_INT(dssh_sshkey_sign(k, "ssh-ed25519", dssh_buf_ptr(data), dssh_buf_len(data),
	    sig), 0);
}

/* The final AUTHKEYS step (dsshd verified data and sig) for user and key blob. */
static int
final_as(uint64_t conn, const struct dssh_config *cfg, const char *user,
    const struct dssh_buf *blob, const struct dssh_buf *data, const struct dssh_buf *sig)
{
	struct dsshd_monitor_sig s = { .data = dssh_buf_ptr(data), .datalen = dssh_buf_len(data),
	    .sig = dssh_buf_ptr(sig), .siglen = dssh_buf_len(sig) };
	struct dssh_authkey_opts opts;
	int r;

	r = dsshd_monitor_authkeys(&link_, conn, &s, cfg, user, dssh_buf_ptr(blob),
	    dssh_buf_len(blob), "127.0.0.1", &opts);
	dssh_authkey_opts_free(&opts);
	return r;
}

static void
test_nothing_verified(void)
{
	int fd = -1;

	CHECK_EQ_INT(spawn_as("root", 0, 77), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(dsshd_monitor_socket(&link_, 77, DSSH_MONITOR_SOCK_UNIX_CONNECT,
	    "/run/nothing.sock", 0, &fd, NULL, 0), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(fd, -1);
}

/* An authorized_keys file of our own (StrictModes off: it is in /tmp). */
static void
test_authkeys(void)
{
	struct dssh_sshkey *k = NULL, *other = NULL;
	struct dssh_buf text, blob, oblob, data, sig;
	struct dssh_authkey_opts opts;
	struct dssh_config cfg;
	char path[128], *files[1] = { path };
	uint8_t sid[32], osid[32];

	dssh_buf_init(&data, 0);
	dssh_buf_init(&sig, 0);
	dssh_buf_init(&text, 0);
	dssh_buf_init(&blob, 0);
	dssh_buf_init(&oblob, 0);
	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &k), 0);
	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &other), 0);
	CHECK_EQ_INT(dssh_buf_put(&text, "command=\"echo forced\" ", 22), 0);
	CHECK_EQ_INT(dssh_sshkey_public_to_text(k, "test", &text), 0);
	CHECK_EQ_INT(dssh_buf_put(&text, "\n", 2), 0);
	snprintf(path, sizeof(path), "%s/ak", tmpdir);
	CHECK_EQ_INT(dssh_test_write(path, (const char *)dssh_buf_ptr(&text), 0644), 0);
	CHECK_EQ_INT(dssh_sshkey_public_blob(k, &blob), 0);
	CHECK_EQ_INT(dssh_sshkey_public_blob(other, &oblob), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.authorized_keys_files = files;
	cfg.nauthorized_keys_files = 1;
	cfg.strict_modes = 0;

	/* an unknown key: not found, nothing recorded */
	memset(sid, 0x78, sizeof(sid));
	CHECK_EQ_INT(open_session(78, sid), 0);
	user_sig(other, sid, "root", "ssh-ed25519", &oblob, &data, &sig);
	CHECK_EQ_INT(final_as(78, &cfg, "root", &oblob, &data, &sig), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(spawn_as("root", 0, 78), DSSH_ERR_PERMISSION);
	/* the query (no signature yet): found, options back, still nothing recorded */
	CHECK_EQ_INT(dsshd_monitor_authkeys(&link_, 77, NULL, &cfg, "root", dssh_buf_ptr(&blob),
	    dssh_buf_len(&blob), "127.0.0.1", &opts), 0);
	CHECK(opts.command != NULL && strcmp(opts.command, "echo forced") == 0);
	CHECK(opts.file != NULL && strcmp(opts.file, path) == 0 && opts.line == 1);
	dssh_authkey_opts_free(&opts);
	CHECK_EQ_INT(spawn_as("root", 0, 77), DSSH_ERR_PERMISSION);
	/* a good signature, but no session id signed for connection 77 yet */
	memset(sid, 0x77, sizeof(sid));
	user_sig(k, sid, "root", "ssh-ed25519", &blob, &data, &sig);
	CHECK_EQ_INT(final_as(77, &cfg, "root", &blob, &data, &sig), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(open_session(77, sid), 0);
	/* a rekey's hash is signed but does not replace the session id */
	memset(osid, 0x99, sizeof(osid));
	CHECK_EQ_INT(open_session(77, osid), 0);
	/* connection 78's session id cannot become connection 84's */
	memset(osid, 0x78, sizeof(osid));
	CHECK_EQ_INT(open_session(84, osid), DSSH_ERR_PERMISSION);
	/* signed over another session id (78's, one the monitor did sign) */
	user_sig(k, osid, "root", "ssh-ed25519", &blob, &data, &sig);
	CHECK_EQ_INT(final_as(77, &cfg, "root", &blob, &data, &sig), DSSH_ERR_PERMISSION);
	/* over the rekey's hash */
	memset(osid, 0x99, sizeof(osid));
	user_sig(k, osid, "root", "ssh-ed25519", &blob, &data, &sig);
	CHECK_EQ_INT(final_as(77, &cfg, "root", &blob, &data, &sig), DSSH_ERR_PERMISSION);
	/* for another user (nobody's login, sent as root's) */
	user_sig(k, sid, "nobody", "ssh-ed25519", &blob, &data, &sig);
	CHECK_EQ_INT(final_as(77, &cfg, "root", &blob, &data, &sig), DSSH_ERR_PERMISSION);
	/* for another key blob (the unlisted key's, which signed it) */
	user_sig(other, sid, "root", "ssh-ed25519", &oblob, &data, &sig);
	CHECK_EQ_INT(final_as(77, &cfg, "root", &blob, &data, &sig), DSSH_ERR_PERMISSION);
	/* the listed key's data signed by the unlisted key */
	user_sig(other, sid, "root", "ssh-ed25519", &blob, &data, &sig);
	CHECK_EQ_INT(final_as(77, &cfg, "root", &blob, &data, &sig), DSSH_ERR_PERMISSION);
	/* an algorithm that does not fit the key */
	user_sig(k, sid, "root", "rsa-sha2-256", &blob, &data, &sig);
	CHECK_EQ_INT(final_as(77, &cfg, "root", &blob, &data, &sig), DSSH_ERR_PERMISSION);
	/* a corrupted signature, and a trailing byte after the signed data */
	user_sig(k, sid, "root", "ssh-ed25519", &blob, &data, &sig);
	((uint8_t *)dssh_buf_ptr(&sig))[dssh_buf_len(&sig) - 1] ^= 1;
	CHECK_EQ_INT(final_as(77, &cfg, "root", &blob, &data, &sig), DSSH_ERR_PERMISSION);
	user_sig(k, sid, "root", "ssh-ed25519", &blob, &data, &sig);
	CHECK_EQ_INT(dssh_buf_put_u8(&data, 0), 0);
	CHECK_EQ_INT(final_as(77, &cfg, "root", &blob, &data, &sig), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(spawn_as("root", 0, 77), DSSH_ERR_PERMISSION);
	/* final with the right signature: recorded for root on connection 77, and only there */
	user_sig(k, sid, "root", "ssh-ed25519", &blob, &data, &sig);
	CHECK_EQ_INT(final_as(77, &cfg, "root", &blob, &data, &sig), 0);
	CHECK_EQ_INT(spawn_as("root", 0, 77), 0);
	/* the same signature replayed on another connection: refused there */
	memset(osid, 0x79, sizeof(osid));
	CHECK_EQ_INT(open_session(79, osid), 0);
	CHECK_EQ_INT(final_as(79, &cfg, "root", &blob, &data, &sig), DSSH_ERR_PERMISSION);
	/* a port below 1024 for the root login: a listening socket comes back */
	{
		int fd = -1, acc = 0;
		socklen_t al = sizeof(acc);

		CHECK_EQ_INT(dsshd_monitor_socket(&link_, 77, DSSH_MONITOR_SOCK_TCP_LISTEN,
		    "127.0.0.1", 1007, &fd, NULL, 0), 0);
		CHECK(fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) == 0 && acc);
		if (fd >= 0)
			close(fd);
	}
	CHECK_EQ_INT(spawn_as("root", 0, 79), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(spawn_as("nobody", 65534, 77), DSSH_ERR_PERMISSION);
	/* root's name with another uid */
	CHECK_EQ_INT(spawn_as("root", 65534, 77), DSSH_ERR_PERMISSION);
	/* user nobody, verified on connection 82: its sockets are its own */
	memset(sid, 0x82, sizeof(sid));
	CHECK_EQ_INT(open_session(82, sid), 0);
	user_sig(k, sid, "nobody", "ssh-ed25519", &blob, &data, &sig);
	CHECK_EQ_INT(final_as(82, &cfg, "nobody", &blob, &data, &sig), 0);
	{
		char sock[160];
		int fd = -1;

		CHECK_EQ_INT(dsshd_monitor_socket(&link_, 82, DSSH_MONITOR_SOCK_TCP_LISTEN,
		    "127.0.0.1", 1008, &fd, NULL, 0), DSSH_ERR_PERMISSION);
		/* tmpdir is root's, 0755: nobody may not make a socket there */
		snprintf(sock, sizeof(sock), "%s/nobody.sock", tmpdir);
		CHECK_EQ_INT(dsshd_monitor_socket(&link_, 82, DSSH_MONITOR_SOCK_UNIX_LISTEN, sock,
		    0077, &fd, NULL, 0), DSSH_ERR_SYSTEM);
		CHECK(fd == -1 && access(sock, F_OK) != 0);
		/* in a directory of its own it may, and the socket is its own */
		snprintf(sock, sizeof(sock), "%s/nob", tmpdir);
		CHECK_EQ_INT(mkdir(sock, 0700), 0);
		CHECK_EQ_INT(chown(sock, 65534, 65534), 0);
		snprintf(sock, sizeof(sock), "%s/nob/s.sock", tmpdir);
		CHECK_EQ_INT(dsshd_monitor_socket(&link_, 82, DSSH_MONITOR_SOCK_UNIX_LISTEN, sock,
		    0077, &fd, NULL, 0), 0);
		{
			struct stat st;

			CHECK(stat(sock, &st) == 0 && st.st_uid == 65534 && (st.st_mode & 0777) == 0600);
		}
		if (fd >= 0)
			close(fd);
		CHECK_EQ_INT(dsshd_monitor_socket(&link_, 82, DSSH_MONITOR_SOCK_UNIX_UNLINK, sock, 1,
		    NULL, NULL, 0), 0);
		CHECK(access(sock, F_OK) != 0);
		/* (its directory stays: nobody may not remove it from root's tmpdir) */
		snprintf(sock, sizeof(sock), "%s/nob", tmpdir);
		rmdir(sock);
		dsshd_monitor_conn_end(&link_, 82);
	}
	/* after CONN_END the connection is forgotten */
	dsshd_monitor_conn_end(&link_, 77);
	CHECK_EQ_INT(spawn_as("root", 0, 77), DSSH_ERR_PERMISSION);
	/*
	 * and its session id (a publickey login was recorded on it) cannot be
	 * any connection's again: root's signature is not replayed later
	 */
	memset(sid, 0x77, sizeof(sid));
	CHECK_EQ_INT(open_session(77, sid), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(open_session(85, sid), DSSH_ERR_PERMISSION);
	user_sig(k, sid, "root", "ssh-ed25519", &blob, &data, &sig);
	CHECK_EQ_INT(final_as(85, &cfg, "root", &blob, &data, &sig), DSSH_ERR_PERMISSION);
	CHECK_EQ_INT(spawn_as("root", 0, 85), DSSH_ERR_PERMISSION);
	dsshd_monitor_conn_end(&link_, 85);
	unlink(path);
	dssh_sshkey_free(k);
	dssh_sshkey_free(other);
	dssh_buf_free(&text);
	dssh_buf_free(&blob);
	dssh_buf_free(&oblob);
	dssh_buf_free(&data);
	dssh_buf_free(&sig);
	dsshd_monitor_conn_end(&link_, 78);
	dsshd_monitor_conn_end(&link_, 79);
	dsshd_monitor_conn_end(&link_, 84);
}

static bool
pam_run(const char *service, uint64_t conn, const char *password, bool *ok)
{
	struct dssh_pam_request req = { .id = conn, .user = "root", .password = password,
	    .remote_host = "127.0.0.1", .kind = DSSH_PAM_PASSWORD };
	struct dssh_pam_worker *w = NULL;
	struct dssh_pam_result res;
	unsigned n = 0;

	if (dssh_pam_worker_new(service, &w) != 0)
		return false;
	dssh_pam_worker_set_fail_delay(w, 0);
	dssh_pam_worker_set_remote(w, dsshd_monitor_pam_open, &link_);
	if (dssh_pam_worker_submit(w, &req) != 0) {
		dssh_pam_worker_free(w);
		return false;
	}
	for (int i = 0; i < 100 && n == 0; i++) {
		struct pollfd p = { .fd = dssh_pam_worker_fd(w), .events = POLLIN };

		(void)poll(&p, 1, 100);
		n = dssh_pam_worker_collect(w, &res, 1);
	}
	dssh_pam_worker_free(w);
	if (n != 1)
		return false;
	*ok = res.ok;
	return true;
}

static void
test_pam(void)
{
	bool ok = true;

	CHECK(pam_run(svc_deny, 81, "x", &ok));
	CHECK(!ok);
	CHECK_EQ_INT(spawn_as("root", 0, 81), DSSH_ERR_PERMISSION);
	CHECK(pam_run(svc_permit, 80, "x", &ok));
	CHECK(ok);
	CHECK_EQ_INT(spawn_as("root", 0, 80), 0);
	CHECK_EQ_INT(spawn_as("root", 0, 81), DSSH_ERR_PERMISSION);
	dsshd_monitor_conn_end(&link_, 80);
}

static void
test_hostkeys(void)
{
	struct dssh_sshkey *k = NULL, *pub = NULL;
	struct dssh_buf sig;
	uint8_t hash[64];
	char path[128];

	dssh_buf_init(&sig, 0);
	memset(hash, 0x5a, sizeof(hash));
	snprintf(path, sizeof(path), "%s/hostkey", tmpdir);
	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &k), 0);
	CHECK_EQ_INT(dssh_sshkey_save_private(k, path, "host"), 0);
	CHECK_EQ_INT(dsshd_monitor_hostkey_load(&link_, path, &pub), 0);
	CHECK(pub != NULL && !dssh_sshkey_has_private(pub) && dssh_sshkey_equal_public(pub, k));
	CHECK_EQ_INT(dsshd_monitor_sign(&link_, 200, pub, "ssh-ed25519", hash, 32, &sig), 0);
	CHECK_EQ_INT(dssh_sshkey_verify(k, "ssh-ed25519", dssh_buf_ptr(&sig), dssh_buf_len(&sig),
	    hash, 32), 0);
	/* anything but an exchange hash's length is refused */
	dssh_buf_reset(&sig);
	CHECK(dsshd_monitor_sign(&link_, 200, pub, "ssh-ed25519", hash, 33, &sig) != 0);
	CHECK(dsshd_monitor_sign(&link_, 200, pub, "ssh-ed25519", hash, 20, &sig) != 0);
	CHECK_EQ_INT(dssh_buf_len(&sig), 0);
	/* a key it did not load */
	dssh_sshkey_free(k);
	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &k), 0);
	CHECK(dsshd_monitor_sign(&link_, 200, k, "ssh-ed25519", hash, 32, &sig) != 0);
	/* a relative path is refused, a missing file fails */
	dssh_sshkey_free(pub);
	pub = NULL;
	CHECK(dsshd_monitor_hostkey_load(&link_, "hostkey", &pub) != 0 && pub == NULL);
	CHECK(dsshd_monitor_hostkey_load(&link_, "/nonexistent/key", &pub) != 0 && pub == NULL);
	unlink(path);
	snprintf(path, sizeof(path), "%s/hostkey.pub", tmpdir);
	unlink(path);
	dssh_sshkey_free(k);
	dssh_buf_free(&sig);
}

/* Garbage of every request type: refused, and the monitor goes on. */
static void
test_garbage(void)
{
	uint8_t msg[16];

	for (uint8_t t = 3; t <= 12; t++) {
		memset(msg, 0xff, sizeof(msg));
		msg[0] = t;
		CHECK_EQ_INT(dssh_spawner_send(sp, msg, sizeof(msg), NULL, 0), 0);
	}
	CHECK_EQ_INT(spawn_as("root", 0, 90), DSSH_ERR_PERMISSION);
	CHECK(dssh_spawner_pid(sp) > 0);
}

int
main(int argc, char **argv)
{
	if (geteuid() == 0)
		dssh_spawner_set_monitor(&dsshd_monitor_ops);
	dssh_spawner_maybe_run(argc, argv, NULL);
	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return 77;
	}
	dssh_log_init("test_monitor", DSSH_LOG_ERROR, true);
	if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) != 0)
		return 1;
	snprintf(svc_permit, sizeof(svc_permit), "dssh-montest-%d-permit", (int)getpid());
	snprintf(svc_deny, sizeof(svc_deny), "dssh-montest-%d-deny", (int)getpid());
	{
		char p[128];

		snprintf(p, sizeof(p), "/etc/pam.d/%s", svc_permit);
		dssh_test_write(p, "auth required pam_permit.so\n"
		    "account required pam_permit.so\n", 0644);
		snprintf(p, sizeof(p), "/etc/pam.d/%s", svc_deny);
		dssh_test_write(p, "auth required pam_deny.so\n"
		    "account required pam_permit.so\n", 0644);
	}
	if (dssh_spawner_start(NULL, &sp) != 0)
		return 1;
	link_ = (struct dsshd_monitor_link){ .send = send_fn };
	{
		struct dssh_sshkey *hk = NULL;
		char p[128];

		snprintf(p, sizeof(p), "%s/sidkey", tmpdir);
		if (dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &hk) != 0 ||
		    dssh_sshkey_save_private(hk, p, "host") != 0 ||
		    dsshd_monitor_hostkey_load(&link_, p, &hostpub) != 0)
			return 1;
		dssh_sshkey_free(hk);
		unlink(p);
		snprintf(p, sizeof(p), "%s/sidkey.pub", tmpdir);
		unlink(p);
	}
	DSSH_RUN(test_nothing_verified);
	DSSH_RUN(test_authkeys);
	DSSH_RUN(test_pam);
	DSSH_RUN(test_hostkeys);
	DSSH_RUN(test_garbage);
	dssh_spawner_free(sp);
	dssh_sshkey_free(hostpub);
	{
		char p[128];

		snprintf(p, sizeof(p), "/etc/pam.d/%s", svc_permit);
		unlink(p);
		snprintf(p, sizeof(p), "/etc/pam.d/%s", svc_deny);
		unlink(p);
	}
	rmdir(tmpdir);
	DSSH_TEST_END();
}
