/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * known_hosts: plain, wildcard, negated, [host]:port and hashed names,
 * @revoked and @cert-authority, changed keys, malformed lines; entries we
 * add are found by OpenSSH's ssh-keygen -F, and entries ssh-keygen -H
 * hashed are found by us.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_known_hosts.h"
#include "dssh_sshkey.h"
#include "dssh_test.h"

static char dir[] = "/tmp/dssh_kh_XXXXXX";
static struct dssh_sshkey *k1, *k2, *k3;
static struct dssh_buf b1, b2, b3;

/* "type base64" of a key. */
static char *
pubtext(const struct dssh_sshkey *k)
{
	struct dssh_buf t;
	char *s;

	dssh_buf_init(&t, 0);
	dssh_sshkey_public_to_text(k, NULL, &t);
	dssh_buf_put_u8(&t, '\0');
	s = strdup((const char *)dssh_buf_ptr(&t));
	s[strcspn(s, "\n")] = '\0';
	dssh_buf_free(&t);
	return s;
}

static enum dssh_kh_status
check(const char *text, const char *host, int port, const struct dssh_buf *blob, unsigned *line)
{
	struct dssh_kh_result res;

	CHECK_EQ_INT(dssh_known_hosts_check_text(text, strlen(text), host, port,
	    dssh_buf_ptr(blob), dssh_buf_len(blob), &res), 0);
	if (line != NULL)
		*line = res.line;
	return res.status;
}

static void
test_plain(void)
{
	char *p1 = pubtext(k1), *p2 = pubtext(k2), *p3 = pubtext(k3), text[8192];
	unsigned line;

	snprintf(text, sizeof(text),
	    "# comment\n"
	    "\n"
	    "alpha.example,10.0.0.1 %s comment here\n"
	    "*.wild.example,!bad.wild.example %s\n"
	    "[alpha.example]:2222 %s\n"
	    "garbage line\n"
	    "beta.example ssh-ed25519 AAAA!!!!\n", p1, p1, p2);
	CHECK_EQ_INT(check(text, "alpha.example", 22, &b1, &line), DSSH_KH_OK);
	CHECK_EQ_INT(line, 3);
	CHECK_EQ_INT(check(text, "ALPHA.example", 22, &b1, NULL), DSSH_KH_OK);
	CHECK_EQ_INT(check(text, "10.0.0.1", 22, &b1, NULL), DSSH_KH_OK);
	CHECK_EQ_INT(check(text, "x.wild.example", 22, &b1, NULL), DSSH_KH_OK);
	CHECK_EQ_INT(check(text, "bad.wild.example", 22, &b1, NULL), DSSH_KH_NEW);
	CHECK_EQ_INT(check(text, "wild.example", 22, &b1, NULL), DSSH_KH_NEW);
	/* The port matters: 2222 has its own entry, 2223 none. */
	CHECK_EQ_INT(check(text, "alpha.example", 2222, &b2, &line), DSSH_KH_OK);
	CHECK_EQ_INT(line, 5);
	CHECK_EQ_INT(check(text, "alpha.example", 2222, &b1, NULL), DSSH_KH_CHANGED);
	CHECK_EQ_INT(check(text, "alpha.example", 2223, &b1, NULL), DSSH_KH_NEW);
	/* Same type, other key: changed; other type: new. */
	CHECK_EQ_INT(check(text, "alpha.example", 22, &b2, &line), DSSH_KH_CHANGED);
	CHECK_EQ_INT(line, 3);
	CHECK_EQ_INT(check(text, "alpha.example", 22, &b3, NULL), DSSH_KH_NEW);
	CHECK_EQ_INT(check(text, "beta.example", 22, &b1, NULL), DSSH_KH_NEW);

	/* Two keys of one type for a host: either is OK. */
	snprintf(text, sizeof(text), "h %s\nh %s\n", p2, p1);
	CHECK_EQ_INT(check(text, "h", 22, &b1, NULL), DSSH_KH_OK);
	CHECK_EQ_INT(check(text, "h", 22, &b2, NULL), DSSH_KH_OK);

	/* @revoked wins over a plain OK line; @cert-authority never makes OK. */
	snprintf(text, sizeof(text), "h %s\n@revoked * %s\n@cert-authority h %s\n", p1, p1, p3);
	CHECK_EQ_INT(check(text, "h", 22, &b1, &line), DSSH_KH_REVOKED);
	CHECK_EQ_INT(line, 2);
	CHECK_EQ_INT(check(text, "h", 22, &b3, NULL), DSSH_KH_NEW);
	/* A type word that does not name the blob's type: the line is skipped. */
	snprintf(text, sizeof(text), "h ecdsa-sha2-nistp256 %s\n", strchr(p1, ' ') + 1);
	CHECK_EQ_INT(check(text, "h", 22, &b1, NULL), DSSH_KH_NEW);
	/* CR LF line ends and no final newline. */
	snprintf(text, sizeof(text), "h %s\r\nq %s", p2, p1);
	CHECK_EQ_INT(check(text, "h", 22, &b2, NULL), DSSH_KH_OK);
	CHECK_EQ_INT(check(text, "q", 22, &b1, NULL), DSSH_KH_OK);
	free(p1);
	free(p2);
	free(p3);
}

/* Truncations of a valid file never crash and never say OK for a cut key. */
static void
test_truncated(void)
{
	char *p1 = pubtext(k1), text[4096];
	struct dssh_kh_result res;
	size_t n;

	n = (size_t)snprintf(text, sizeof(text), "|1|AAAAAAAAAAAAAAAAAAAAAAAAAAA=|x h %s\n", p1);
	for (size_t i = 0; i < n; i++) {
		CHECK_EQ_INT(dssh_known_hosts_check_text(text, i, "h", 22, dssh_buf_ptr(&b1),
		    dssh_buf_len(&b1), &res), 0);
		CHECK(res.status != DSSH_KH_OK);
	}
	CHECK_EQ_INT(dssh_known_hosts_check_text(NULL, 0, "h", 22, dssh_buf_ptr(&b1),
	    dssh_buf_len(&b1), &res), 0);
	CHECK_EQ_INT(res.status, DSSH_KH_NEW);
	CHECK_EQ_INT(dssh_known_hosts_check_text(text, n, "h", 22, NULL, 0, &res),
	    DSSH_ERR_INVALID_ARGUMENT);
	free(p1);
}

/* What we add, OpenSSH finds (ssh-keygen -F), hashed or not; and back. */
static void
test_files_with_openssh(void)
{
	char path[256], cmd_path[300];
	struct dssh_kh_result res;

	snprintf(path, sizeof(path), "%s/sub/known_hosts", dir);
	CHECK_EQ_INT(dssh_known_hosts_check_file(path, "h1", 22, dssh_buf_ptr(&b1),
	    dssh_buf_len(&b1), &res), 0);
	CHECK_EQ_INT(res.status, DSSH_KH_NEW);
	CHECK_EQ_INT(dssh_known_hosts_add(path, "h1", 22, dssh_buf_ptr(&b1), dssh_buf_len(&b1),
	    false), 0);
	CHECK_EQ_INT(dssh_known_hosts_add(path, "h2", 2222, dssh_buf_ptr(&b2),
	    dssh_buf_len(&b2), true), 0);
	CHECK_EQ_INT(dssh_known_hosts_check_file(path, "h1", 22, dssh_buf_ptr(&b1),
	    dssh_buf_len(&b1), &res), 0);
	CHECK_EQ_INT(res.status, DSSH_KH_OK);
	CHECK_EQ_INT(dssh_known_hosts_check_file(path, "h2", 2222, dssh_buf_ptr(&b2),
	    dssh_buf_len(&b2), &res), 0);
	CHECK_EQ_INT(res.status, DSSH_KH_OK);
	CHECK_EQ_INT(dssh_known_hosts_check_file(path, "h2", 22, dssh_buf_ptr(&b2),
	    dssh_buf_len(&b2), &res), 0);
	CHECK_EQ_INT(res.status, DSSH_KH_NEW);
	CHECK_EQ_INT(dssh_test_sh("ssh-keygen -F h1 -f %s >/dev/null", path), 0);
	CHECK_EQ_INT(dssh_test_sh("ssh-keygen -F '[h2]:2222' -f %s | grep -q '^|1|'", path), 0);
	CHECK(dssh_test_sh("ssh-keygen -F h3 -f %s >/dev/null", path) != 0);
	/* ssh-keygen -H hashes the plain h1 line: still found. */
	snprintf(cmd_path, sizeof(cmd_path), "%s", path);
	CHECK_EQ_INT(dssh_test_sh("ssh-keygen -H -f %s >/dev/null 2>&1", cmd_path), 0);
	CHECK_EQ_INT(dssh_test_sh("! grep -q '^h1 ' %s", path), 0);
	CHECK_EQ_INT(dssh_known_hosts_check_file(path, "h1", 22, dssh_buf_ptr(&b1),
	    dssh_buf_len(&b1), &res), 0);
	CHECK_EQ_INT(res.status, DSSH_KH_OK);
	CHECK_EQ_INT(dssh_known_hosts_check_file(path, "h1", 22, dssh_buf_ptr(&b3),
	    dssh_buf_len(&b3), &res), 0);
	CHECK_EQ_INT(res.status, DSSH_KH_NEW);
	CHECK_EQ_INT(dssh_test_sh("rm -rf %s/sub", dir), 0);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	if (dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &k1) != 0 ||
	    dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &k2) != 0 ||
	    dssh_sshkey_generate(DSSH_SSHKEY_ECDSA_P256, 0, &k3) != 0)
		return 1;
	dssh_buf_init(&b1, 0);
	dssh_buf_init(&b2, 0);
	dssh_buf_init(&b3, 0);
	dssh_sshkey_public_blob(k1, &b1);
	dssh_sshkey_public_blob(k2, &b2);
	dssh_sshkey_public_blob(k3, &b3);
	DSSH_RUN(test_plain);
	DSSH_RUN(test_truncated);
	DSSH_RUN(test_files_with_openssh);
	dssh_sshkey_free(k1);
	dssh_sshkey_free(k2);
	dssh_sshkey_free(k3);
	dssh_buf_free(&b1);
	dssh_buf_free(&b2);
	dssh_buf_free(&b3);
	dssh_test_sh("rm -rf %s", dir);
	DSSH_TEST_END();
}
