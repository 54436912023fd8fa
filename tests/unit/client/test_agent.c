/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ssh-agent client: against OpenSSH's ssh-agent (keys listed, RSA
 * signatures by rsa-sha2-256 and -512, ed25519 and ECDSA ones, each
 * verified), and its parsers on truncated and garbage answers.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_int.h"
#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_sshkey.h"
#include "dssh_test.h"

static char dir[] = "/tmp/dssh_agent_XXXXXX";

static void
test_live(void)
{
	static const char *const types[] = { "ed25519", "ecdsa", "rsa" };
	struct dssh_sshkey *keys[8];
	char sock[256], pidf[256];
	unsigned n = 0;
	static const uint8_t data[] = "data to sign";
	int pid;
	FILE *f;

	snprintf(sock, sizeof(sock), "%s/agent.sock", dir);
	snprintf(pidf, sizeof(pidf), "%s/agent.pid", dir);
	if (dssh_test_sh("ssh-agent -a %s | sed -n 's/.*SSH_AGENT_PID=\\([0-9]*\\);.*/\\1/p' > %s",
	    sock, pidf) != 0 || (f = fopen(pidf, "r")) == NULL) {
		fprintf(stderr, "no ssh-agent: live part skipped\n");
		return;
	}
	CHECK_EQ_INT(fscanf(f, "%d", &pid), 1);
	fclose(f);
	for (size_t i = 0; i < 3; i++)
		CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -t %s -N '' -f %s/k_%s && "
		    "SSH_AUTH_SOCK=%s ssh-add -q %s/k_%s 2>/dev/null", types[i], dir, types[i],
		    sock, dir, types[i]), 0);
	CHECK_EQ_INT(dssh_client_agent_keys(sock, keys, 8, &n), 0);
	CHECK_EQ_INT(n, 3);
	for (unsigned i = 0; i < n; i++) {
		const char *algs[3] = { NULL };

		if (dssh_sshkey_type(keys[i]) == DSSH_SSHKEY_RSA) {
			algs[0] = "rsa-sha2-512";
			algs[1] = "rsa-sha2-256";
		} else {
			algs[0] = dssh_sshkey_type_name(keys[i]);
		}
		for (int a = 0; algs[a] != NULL; a++) {
			struct dssh_buf sig;

			dssh_buf_init(&sig, 0);
			CHECK_EQ_INT(dssh_client_agent_sign(sock, keys[i], algs[a], data, sizeof(data),
			    &sig), 0);
			CHECK_EQ_INT(dssh_sshkey_verify(keys[i], algs[a], dssh_buf_ptr(&sig),
			    dssh_buf_len(&sig), data, sizeof(data)), 0);
			/* Not over other data. */
			CHECK(dssh_sshkey_verify(keys[i], algs[a], dssh_buf_ptr(&sig),
			    dssh_buf_len(&sig), data, 3) != 0);
			dssh_buf_free(&sig);
		}
		dssh_sshkey_free(keys[i]);
	}
	/* No agent there: not found. */
	CHECK_EQ_INT(dssh_client_agent_keys("/nonexistent/sock", keys, 8, &n),
	    DSSH_ERR_NOT_FOUND);
	kill(pid, SIGTERM);
}

static void
test_parsers(void)
{
	struct dssh_sshkey *keys[4], *k;
	struct dssh_buf good, sig;
	unsigned n;

	/* A good identities answer: one ed25519 key and its comment. */
	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &k), 0);
	dssh_buf_init(&good, 0);
	dssh_buf_init(&sig, 0);
	{
		struct dssh_buf blob;

		dssh_buf_init(&blob, 0);
		dssh_sshkey_public_blob(k, &blob);
		dssh_buf_put_u8(&good, 12);
		dssh_buf_put_u32(&good, 1);
		dssh_buf_put_stringb(&good, &blob);
		dssh_buf_put_cstring(&good, "comment");
		dssh_buf_free(&blob);
	}
	CHECK_EQ_INT(dssh_client_agent_parse_keys(dssh_buf_ptr(&good), dssh_buf_len(&good), keys,
	    4, &n), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(dssh_sshkey_equal_public(keys[0], k), 1);
	dssh_sshkey_free(keys[0]);
	/* Every truncation fails cleanly (none is a whole answer). */
	for (size_t i = 0; i < dssh_buf_len(&good); i++) {
		CHECK(dssh_client_agent_parse_keys(dssh_buf_ptr(&good), i, keys, 4, &n) != 0);
		CHECK_EQ_INT(n, 0);
	}
	/* A count far beyond the bytes. */
	{
		static const uint8_t huge[] = { 12, 0xff, 0xff, 0xff, 0xff };

		CHECK(dssh_client_agent_parse_keys(huge, sizeof(huge), keys, 4, &n) != 0);
	}
	/* Failure and garbage for a signature. */
	{
		static const uint8_t fail[] = { 5 };
		static const uint8_t shortsig[] = { 14, 0, 0, 0, 9, 1, 2 };
		static const uint8_t oksig[] = { 14, 0, 0, 0, 2, 7, 8 };

		CHECK_EQ_INT(dssh_client_agent_parse_sig(fail, sizeof(fail), &sig),
		    DSSH_ERR_PERMISSION);
		CHECK(dssh_client_agent_parse_sig(shortsig, sizeof(shortsig), &sig) != 0);
		CHECK(dssh_client_agent_parse_sig(oksig, 0, &sig) != 0);
		CHECK_EQ_INT(dssh_buf_len(&sig), 0);
		CHECK_EQ_INT(dssh_client_agent_parse_sig(oksig, sizeof(oksig), &sig), 0);
		CHECK_EQ_INT(dssh_buf_len(&sig), 2);
	}
	dssh_buf_free(&good);
	dssh_buf_free(&sig);
	dssh_sshkey_free(k);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	DSSH_RUN(test_parsers);
	DSSH_RUN(test_live);
	dssh_test_sh("rm -rf %s", dir);
	DSSH_TEST_END();
}
