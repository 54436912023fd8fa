/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PAM worker and session tests with throw-away services in /etc/pam.d
 * built from pam_permit, pam_deny, pam_exec and pam_env (needs root; skipped
 * otherwise). The files are removed at the end.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "dssh_auth.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "dssh_test.h"

/* Generous, so that a slow or loaded machine does not make the test flaky. */
#define FAIL_DELAY_MS 1500

static char svc_permit[64], svc_deny[64], svc_exec[64], svc_acctdeny[64];
static char svc_delay[64];
static char tmpdir[64];

static int
make_service(char *name, size_t len, const char *suffix, const char *text)
{
	char path[128];

	snprintf(name, len, "dssh-unittest-%d-%s", (int)getpid(), suffix);
	snprintf(path, sizeof(path), "/etc/pam.d/%s", name);
	return dssh_test_write(path, text, 0644);
}

static void
remove_services(void)
{
	const char *names[] = { svc_permit, svc_deny, svc_exec, svc_acctdeny, svc_delay };
	char path[128];

	for (size_t i = 0; i < DSSH_ARRAY_SIZE(names); i++) {
		if (names[i][0] == '\0')
			continue;
		snprintf(path, sizeof(path), "/etc/pam.d/%s", names[i]);
		unlink(path);
	}
	if (tmpdir[0] != '\0') {
		char p[128];

		snprintf(p, sizeof(p), "%s/check.sh", tmpdir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/env.conf", tmpdir);
		unlink(p);
		rmdir(tmpdir);
	}
}

/* Wait on the worker fd like an event loop would; collect until n results. */
static unsigned
wait_results(struct dssh_pam_worker *w, struct dssh_pam_result *out,
    unsigned n, int timeout_ms)
{
	unsigned got = 0;
	uint64_t deadline = dssh_now_ms() + (uint64_t)timeout_ms;

	while (got < n && dssh_now_ms() < deadline) {
		struct pollfd p = { dssh_pam_worker_fd(w), POLLIN, 0 };
		int pr = poll(&p, 1, 100);

		if (pr < 0 && errno != EINTR)
			break;
		if (pr > 0)
			got += dssh_pam_worker_collect(w, out + got, n - got);
	}
	return got;
}

static const struct dssh_pam_result *
find(const struct dssh_pam_result *r, unsigned n, uint64_t id)
{
	for (unsigned i = 0; i < n; i++)
		if (r[i].id == id)
			return &r[i];
	return NULL;
}

static void
test_worker_flows(void)
{
	struct dssh_pam_worker *w = NULL;
	struct dssh_pam_result res[16];
	const struct dssh_pam_result *x;
	struct {
		uint64_t id;
		const char *svc;
		const char *user;
		const char *pw;
		enum dssh_pam_kind kind;
		bool ok;
	} cases[] = {
		{ 1, svc_permit, "root", "whatever", DSSH_PAM_PASSWORD, true },
		{ 2, svc_deny, "root", "whatever", DSSH_PAM_PASSWORD, false },
		{ 3, svc_exec, "root", "s3cret", DSSH_PAM_PASSWORD, true },
		{ 4, svc_exec, "root", "wrong", DSSH_PAM_PASSWORD, false },
		{ 5, svc_exec, "root", "", DSSH_PAM_PASSWORD, false },
		{ 6, svc_permit, "dssh-no-such-user-x", "s3cret", DSSH_PAM_PASSWORD, false },
		{ 7, svc_permit, "root", NULL, DSSH_PAM_ACCOUNT_ONLY, true },
		{ 8, svc_acctdeny, "root", NULL, DSSH_PAM_ACCOUNT_ONLY, false },
		{ 9, svc_acctdeny, "root", "s3cret", DSSH_PAM_PASSWORD, false },
		{ 10, svc_permit, "dssh-no-such-user-x", NULL, DSSH_PAM_ACCOUNT_ONLY, false },
		{ 11, svc_exec, "dssh-no-such-user-x", "s3cret", DSSH_PAM_PASSWORD, false },
	};

	/* One worker per service (a worker serves one service). */
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(cases); i++) {
		struct dssh_pam_request rq = {
			.id = cases[i].id, .user = cases[i].user,
			.password = cases[i].pw, .remote_host = "192.0.2.7",
			.kind = cases[i].kind,
		};
		unsigned n;

		CHECK_EQ_INT(dssh_pam_worker_new(cases[i].svc, &w), 0);
		if (w == NULL)
			return;
		dssh_pam_worker_set_fail_delay(w, 0);
		CHECK_EQ_INT(dssh_pam_worker_submit(w, &rq), 0);
		n = wait_results(w, res, 1, 10000);
		CHECK_EQ_INT(n, 1);
		if (n == 1) {
			CHECK(res[0].id == cases[i].id);
			if (res[0].ok != cases[i].ok)
				fprintf(stderr, "case %llu: ok=%d message \"%s\"\n",
				    (unsigned long long)cases[i].id, res[0].ok,
				    res[0].message);
			CHECK(res[0].ok == cases[i].ok);
		}
		/* nothing more */
		CHECK_EQ_INT(dssh_pam_worker_collect(w, res, 16), 0);
		dssh_pam_worker_free(w);
	}

	/* Many requests in flight on one worker, collected in small bursts. */
	CHECK_EQ_INT(dssh_pam_worker_new(svc_exec, &w), 0);
	dssh_pam_worker_set_fail_delay(w, 0);
	for (uint64_t id = 100; id < 112; id++) {
		struct dssh_pam_request rq = {
			.id = id, .user = "root",
			.password = (id & 1) ? "wrong" : "s3cret",
			.remote_host = "192.0.2.7", .kind = DSSH_PAM_PASSWORD,
		};

		CHECK_EQ_INT(dssh_pam_worker_submit(w, &rq), 0);
	}
	{
		unsigned got = 0;
		uint64_t deadline = dssh_now_ms() + 20000;

		while (got < 12 && dssh_now_ms() < deadline) {
			struct pollfd p = { dssh_pam_worker_fd(w), POLLIN, 0 };

			if (poll(&p, 1, 100) > 0)
				got += dssh_pam_worker_collect(w, res + got,
				    got + 3 <= 12 ? 3 : 12 - got);
		}
		CHECK_EQ_INT(got, 12);
		for (uint64_t id = 100; id < 112; id++) {
			x = find(res, got, id);
			CHECK(x != NULL);
			if (x != NULL)
				CHECK(x->ok == !(id & 1));
		}
	}
	/* bad requests */
	{
		struct dssh_pam_request rq = { .id = 1, .user = NULL };

		CHECK_EQ_INT(dssh_pam_worker_submit(w, &rq), DSSH_ERR_INVALID_ARGUMENT);
		rq.user = "root";
		rq.kind = (enum dssh_pam_kind)7;
		CHECK_EQ_INT(dssh_pam_worker_submit(w, &rq), DSSH_ERR_INVALID_ARGUMENT);
	}
	dssh_pam_worker_free(w);
	CHECK_EQ_INT(dssh_pam_worker_new("", &w), DSSH_ERR_INVALID_ARGUMENT);
}

/*
 * Failed password attempts are answered after the fail delay, for known
 * and unknown users alike; a success is not held back; the caller's thread
 * never blocks (submit returns at once).
 */
static void
test_fail_delay(void)
{
	struct dssh_pam_worker *w = NULL;
	struct dssh_pam_result res[4];
	struct dssh_pam_request rq = {
		.remote_host = "192.0.2.7", .kind = DSSH_PAM_PASSWORD,
	};
	uint64_t t0, t1;
	unsigned n;

	CHECK_EQ_INT(dssh_pam_worker_new(svc_exec, &w), 0);
	if (w == NULL)
		return;
	dssh_pam_worker_set_fail_delay(w, FAIL_DELAY_MS);
	static const struct { const char *user, *pw; bool ok; } c[] = {
		{ "root", "wrong", false },
		{ "dssh-no-such-user-x", "s3cret", false },
		{ "root", "s3cret", true },
	};
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(c); i++) {
		rq.id = i;
		rq.user = c[i].user;
		rq.password = c[i].pw;
		t0 = dssh_now_ms();
		CHECK_EQ_INT(dssh_pam_worker_submit(w, &rq), 0);
		CHECK(dssh_now_ms() - t0 < 100);
		n = wait_results(w, res, 1, 10000);
		t1 = dssh_now_ms();
		CHECK_EQ_INT(n, 1);
		if (n != 1)
			continue;
		CHECK(res[0].ok == c[i].ok);
		if (!c[i].ok)
			CHECK(t1 - t0 >= FAIL_DELAY_MS);
		else
			CHECK(t1 - t0 < FAIL_DELAY_MS);
	}
	/* A delayed failure does not hold up a later success. */
	rq.id = 50;
	rq.user = "root";
	rq.password = "wrong";
	CHECK_EQ_INT(dssh_pam_worker_submit(w, &rq), 0);
	rq.id = 51;
	rq.password = "s3cret";
	t0 = dssh_now_ms();
	CHECK_EQ_INT(dssh_pam_worker_submit(w, &rq), 0);
	n = wait_results(w, res, 1, 10000);
	CHECK_EQ_INT(n, 1);
	if (n == 1)
		CHECK(res[0].id == 51 && res[0].ok);
	CHECK(dssh_now_ms() - t0 < FAIL_DELAY_MS);
	n = wait_results(w, res, 1, 10000);
	CHECK_EQ_INT(n, 1);
	if (n == 1)
		CHECK(res[0].id == 50 && !res[0].ok);
	/* free with a delayed result pending */
	rq.id = 52;
	rq.password = "wrong";
	CHECK_EQ_INT(dssh_pam_worker_submit(w, &rq), 0);
	usleep(100000);
	dssh_pam_worker_free(w);
}

/*
 * A stack with pam_faildelay (like pam_unix's own 2 s): the delay is
 * honoured for the result but no worker thread sleeps through it, so a
 * success submitted after several failures comes back at once.
 */
static void
test_pam_fail_delay_hook(void)
{
	struct dssh_pam_worker *w = NULL;
	struct dssh_pam_result res[8];
	struct dssh_pam_request rq = {
		.user = "root", .remote_host = "192.0.2.7",
		.kind = DSSH_PAM_PASSWORD,
	};
	uint64_t t0;
	unsigned n;

	CHECK_EQ_INT(dssh_pam_worker_new(svc_delay, &w), 0);
	if (w == NULL)
		return;
	dssh_pam_worker_set_fail_delay(w, 0);
	t0 = dssh_now_ms();
	rq.password = "wrong";
	for (uint64_t id = 1; id <= 4; id++) {
		rq.id = id;
		CHECK_EQ_INT(dssh_pam_worker_submit(w, &rq), 0);
	}
	rq.id = 9;
	rq.password = "s3cret";
	CHECK_EQ_INT(dssh_pam_worker_submit(w, &rq), 0);
	n = wait_results(w, res, 1, 10000);
	CHECK_EQ_INT(n, 1);
	if (n == 1)
		CHECK(res[0].id == 9 && res[0].ok);
	CHECK(dssh_now_ms() - t0 < 1500);
	n = wait_results(w, res, 4, 10000);
	CHECK_EQ_INT(n, 4);
	for (unsigned i = 0; i < n; i++)
		CHECK(!res[i].ok && res[i].id >= 1 && res[i].id <= 4);
	/* pam_faildelay asked for 3 s, randomised by libpam by up to 50% */
	CHECK(dssh_now_ms() - t0 >= 1500);
	dssh_pam_worker_free(w);
}

static void
test_queue_full(void)
{
	struct dssh_pam_worker *w = NULL;
	struct dssh_pam_result *res = calloc(2048, sizeof(*res));
	struct dssh_pam_request rq = {
		.user = "root", .password = "x", .remote_host = "192.0.2.7",
		.kind = DSSH_PAM_PASSWORD,
	};
	int r = 0;
	unsigned submitted = 0, got;

	CHECK_EQ_INT(dssh_pam_worker_new(svc_deny, &w), 0);
	if (w == NULL) {
		free(res);
		return;
	}
	/* hold all results back so the queue really fills */
	dssh_pam_worker_set_fail_delay(w, 60000);
	for (unsigned i = 0; i < 2048; i++) {
		rq.id = i;
		if ((r = dssh_pam_worker_submit(w, &rq)) != 0)
			break;
		submitted++;
	}
	CHECK_EQ_INT(r, DSSH_ERR_BUSY);
	CHECK(submitted >= 16 && submitted < 2048);
	dssh_pam_worker_set_fail_delay(w, 0);
	/* the delayed ones are released when their time comes: only check a
	 * freshly submitted one is refused while full, then free. */
	got = dssh_pam_worker_collect(w, res, 2048);
	CHECK_EQ_INT(got, 0);
	dssh_pam_worker_free(w);
	free(res);
}

static void
test_session(void)
{
	struct dssh_pam_session *s = NULL;
	char **env = NULL;
	bool found = false;

	CHECK_EQ_INT(dssh_pam_open_session(svc_permit, "root", "192.0.2.7", NULL,
	    &env, &s), 0);
	CHECK(s != NULL);
	CHECK(env != NULL);
	for (char **e = env; e != NULL && *e != NULL; e++)
		if (strcmp(*e, "DSSH_PAM_TEST=hello") == 0)
			found = true;
	CHECK(found);
	dssh_pam_env_free(env);
	CHECK_EQ_INT(dssh_pam_close_session(s), 0);

	s = NULL;
	CHECK_EQ_INT(dssh_pam_open_session(svc_deny, "root", "192.0.2.7", "pts/9",
	    NULL, &s), DSSH_ERR_PERMISSION);
	CHECK(s == NULL);
	CHECK_EQ_INT(dssh_pam_close_session(NULL), 0);
}

/* One round of prompts from a DSSH_PAM_KBDINT conversation. */
static struct dssh_pam_prompts *
kbd_round(struct dssh_pam_worker *w, uint64_t id)
{
	struct dssh_pam_result r;

	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(wait_results(w, &r, 1, 10000), 1);
	CHECK_EQ_INT(r.id, id);
	CHECK(r.prompts != NULL);
	return r.prompts;
}

static void
kbd_submit(struct dssh_pam_worker *w, uint64_t id)
{
	struct dssh_pam_request rq = {
		.id = id, .user = "root", .remote_host = "192.0.2.7", .kind = DSSH_PAM_KBDINT,
	};

	CHECK_EQ_INT(dssh_pam_worker_submit(w, &rq), 0);
}

/* keyboard-interactive: pam_exec asks "Password: " through the conversation. */
static void
test_kbdint(void)
{
	struct dssh_pam_worker *w = NULL;
	struct dssh_pam_prompts *p;
	struct dssh_pam_result r;
	const char *good[2] = { "s3cret", "x" }, *bad[1] = { "wrong" };

	CHECK_EQ_INT(dssh_pam_worker_new(svc_exec, &w), 0);
	if (w == NULL)
		return;
	dssh_pam_worker_set_fail_delay(w, 0);
	kbd_submit(w, 21);
	p = kbd_round(w, 21);
	if (p != NULL) {
		CHECK_EQ_INT(p->n, 1);
		CHECK_STR(p->text[0], "Password: ");
		CHECK(!p->echo[0]);
		dssh_pam_prompts_free(p);
	}
	CHECK_EQ_INT(dssh_pam_worker_answer(w, 21, good, 2), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_pam_worker_answer(w, 99, good, 1), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(dssh_pam_worker_answer(w, 21, good, 1), 0);
	CHECK_EQ_INT(dssh_pam_worker_answer(w, 21, good, 1), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(wait_results(w, &r, 1, 10000), 1);
	CHECK_EQ_INT(r.id, 21);
	CHECK(r.prompts == NULL);
	CHECK(r.ok);
	/* a wrong answer */
	kbd_submit(w, 22);
	dssh_pam_prompts_free(kbd_round(w, 22));
	CHECK_EQ_INT(dssh_pam_worker_answer(w, 22, bad, 1), 0);
	CHECK_EQ_INT(wait_results(w, &r, 1, 10000), 1);
	CHECK_EQ_INT(r.id, 22);
	CHECK(!r.ok);
	/* cancelled: no result at all, answers no longer taken */
	kbd_submit(w, 23);
	dssh_pam_prompts_free(kbd_round(w, 23));
	dssh_pam_worker_cancel(w, 23);
	CHECK_EQ_INT(dssh_pam_worker_answer(w, 23, good, 1), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(wait_results(w, &r, 1, 700), 0);
	/* freed while a conversation waits for its answers: no hang */
	kbd_submit(w, 24);
	dssh_pam_prompts_free(kbd_round(w, 24));
	kbd_submit(w, 25);          /* and one whose prompts nobody collected */
	usleep(200000);
	dssh_pam_worker_free(w);
}

int
main(void)
{
	char script[128], envconf[128], text[1024];

	dssh_log_init("test_pam", DSSH_LOG_FATAL, true);
	atexit(remove_services);
	if (geteuid() != 0 || access("/etc/pam.d", W_OK) != 0) {
		fprintf(stderr, "SKIP: needs root and a writable /etc/pam.d\n");
		return 77;
	}
	strcpy(tmpdir, "/tmp/dssh-ut-pam-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	chmod(tmpdir, 0755);
	snprintf(script, sizeof(script), "%s/check.sh", tmpdir);
	/* pam_exec hands the password on stdin (NUL-terminated). */
	CHECK_EQ_INT(dssh_test_write(script,
	    "#!/bin/sh\n"
	    "pw=$(tr -d '\\000')\n"
	    "[ \"$pw\" = s3cret ] && [ \"$PAM_RHOST\" = 192.0.2.7 ] && "
	    "[ \"$PAM_TTY\" = ssh ] && [ \"$PAM_USER\" = root ]\n", 0755), 0);
	snprintf(envconf, sizeof(envconf), "%s/env.conf", tmpdir);
	CHECK_EQ_INT(dssh_test_write(envconf, "DSSH_PAM_TEST DEFAULT=hello\n", 0644), 0);

	snprintf(text, sizeof(text),
	    "auth required pam_permit.so\n"
	    "account required pam_permit.so\n"
	    "session required pam_env.so readenv=0 user_readenv=0 conffile=%s\n"
	    "session required pam_permit.so\n", envconf);
	CHECK_EQ_INT(make_service(svc_permit, sizeof(svc_permit), "permit", text), 0);
	CHECK_EQ_INT(make_service(svc_deny, sizeof(svc_deny), "deny",
	    "auth required pam_deny.so\n"
	    "account required pam_deny.so\n"
	    "session required pam_deny.so\n"), 0);
	snprintf(text, sizeof(text),
	    "auth required pam_exec.so expose_authtok quiet %s\n"
	    "account required pam_permit.so\n", script);
	CHECK_EQ_INT(make_service(svc_exec, sizeof(svc_exec), "exec", text), 0);
	snprintf(text, sizeof(text),
	    "auth optional pam_faildelay.so delay=3000000\n"
	    "auth required pam_exec.so expose_authtok quiet %s\n"
	    "account required pam_permit.so\n", script);
	CHECK_EQ_INT(make_service(svc_delay, sizeof(svc_delay), "delay", text), 0);
	CHECK_EQ_INT(make_service(svc_acctdeny, sizeof(svc_acctdeny), "acctdeny",
	    "auth required pam_permit.so\n"
	    "account required pam_deny.so\n"), 0);

	DSSH_RUN(test_worker_flows);
	DSSH_RUN(test_fail_delay);
	DSSH_RUN(test_pam_fail_delay_hook);
	DSSH_RUN(test_queue_full);
	DSSH_RUN(test_session);
	DSSH_RUN(test_kbdint);
	remove_services();
	DSSH_TEST_END();
}
