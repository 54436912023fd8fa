/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Passphrases for encrypted key files: SSH_ASKPASS under
 * SSH_ASKPASS_REQUIRE=force (the prompt it gets, its answer, its failure),
 * BatchMode, and dssh_client_load_key's tries, its per-process memory and
 * its leaving a key the agent holds alone. Keys from the real ssh-keygen.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_int.h"
#include "dssh_err.h"
#include "dssh_sshkey.h"
#include "dssh_test.h"
#include "dssh_test_dir.h"
#include "dssh_util.h"

static char dir[] = "/tmp/dssh_pass_XXXXXX";
static char script[256], countf[256], promptf[256];

static int
asked(void)
{
	FILE *f = fopen(countf, "r");
	int n = 0, c;

	if (f == NULL)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void
reset_count(void)
{
	unlink(countf);
	unlink(promptf);
}

static char *
slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
test_read(void)
{
	char *p;
	const char *prompt;

	setenv("SSH_ASKPASS", script, 1);
	setenv("SSH_ASKPASS_REQUIRE", "force", 1);
	setenv("TEST_PW", "open sesame", 1);
	reset_count();
	p = dssh_client_read_passphrase("Enter passphrase for key 'k': ", false);
	CHECK(p != NULL && strcmp(p, "open sesame") == 0);
	dssh_free_secret_str(p);
	CHECK_EQ_INT(asked(), 1);
	prompt = slurp(promptf);
	CHECK(prompt != NULL && strcmp(prompt, "Enter passphrase for key 'k': ") == 0);
	/* BatchMode: the program is not even run. */
	reset_count();
	CHECK(dssh_client_read_passphrase("x", true) == NULL);
	CHECK_EQ_INT(asked(), 0);
	/* A failing program (a cancelled dialog) gives nothing. */
	setenv("SSH_ASKPASS", "/bin/false", 1);
	CHECK(dssh_client_read_passphrase("x", false) == NULL);
	setenv("SSH_ASKPASS", "/nonexistent/askpass", 1);
	CHECK(dssh_client_read_passphrase("x", false) == NULL);
	setenv("SSH_ASKPASS", script, 1);
	/* No newline at the end, and a long answer. */
	setenv("TEST_NONL", "1", 1);
	p = dssh_client_read_passphrase("x", false);
	CHECK(p != NULL && strcmp(p, "open sesame") == 0);
	dssh_free_secret_str(p);
	unsetenv("TEST_NONL");
	{
		char big[3000];

		memset(big, 'z', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		setenv("TEST_PW", big, 1);
		p = dssh_client_read_passphrase("x", false);
		CHECK(p != NULL && strlen(p) == 1023 && p[0] == 'z');
		dssh_free_secret_str(p);
	}
	/* never, with no terminal and no display: nothing is read. */
	{
		int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);

		if (fd >= 0)
			close(fd);
		else {
			setenv("SSH_ASKPASS_REQUIRE", "never", 1);
			unsetenv("DISPLAY");
			unsetenv("WAYLAND_DISPLAY");
			reset_count();
			CHECK(dssh_client_read_passphrase("x", false) == NULL);
			CHECK_EQ_INT(asked(), 0);
			/* No terminal, a display: the program. */
			unsetenv("SSH_ASKPASS_REQUIRE");
			setenv("DISPLAY", ":99", 1);
			setenv("TEST_PW", "via display", 1);
			p = dssh_client_read_passphrase("x", false);
			CHECK(p != NULL && strcmp(p, "via display") == 0);
			dssh_free_secret_str(p);
			unsetenv("DISPLAY");
		}
	}
	setenv("SSH_ASKPASS_REQUIRE", "force", 1);
}

static void
keygen(const char *name, const char *pass, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", dir, name);
	CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -t ed25519 -a 2 -N '%s' -f %s </dev/null",
	    pass, path), 0);
}

static void
test_load_key(void)
{
	char k1[256], k2[256], k3[256], k4[256], k5[256], pub[300];
	struct dssh_sshkey *k = NULL, *agent[1] = { NULL };
	char *text;

	keygen("k1", "pw one", k1, sizeof(k1));
	keygen("k2", "pw two", k2, sizeof(k2));
	keygen("k3", "pw three", k3, sizeof(k3));
	keygen("k4", "", k4, sizeof(k4));
	keygen("k5", "pw five", k5, sizeof(k5));
	setenv("SSH_ASKPASS", script, 1);
	setenv("SSH_ASKPASS_REQUIRE", "force", 1);

	/* Asked once; the second load (another connection) is not asked again. */
	setenv("TEST_PW", "pw one", 1);
	reset_count();
	CHECK_EQ_INT(dssh_client_load_key(k1, false, NULL, 0, &k), 0);
	CHECK(k != NULL);
	dssh_sshkey_free(k);
	k = NULL;
	CHECK_EQ_INT(dssh_client_load_key(k1, false, NULL, 0, &k), 0);
	dssh_sshkey_free(k);
	k = NULL;
	CHECK_EQ_INT(asked(), 1);
	/* Encrypted PEM and PKCS#8 files are asked for the same way. */
	for (int f = 0; f < 2; f++) {
		char kp[256];

		snprintf(kp, sizeof(kp), "%s/kpem%d", dir, f);
		CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -t ecdsa -m %s -N 'pw pem' -f %s </dev/null",
		    f == 0 ? "PEM" : "PKCS8", kp), 0);
		setenv("TEST_PW", "wrong", 1);
		reset_count();
		CHECK_EQ_INT(dssh_client_load_key(kp, false, NULL, 0, &k), DSSH_ERR_KEY_PASSPHRASE);
		CHECK(k == NULL);
		CHECK_EQ_INT(asked(), 3);
		setenv("TEST_PW", "pw pem", 1);
		reset_count();
		CHECK_EQ_INT(dssh_client_load_key(kp, false, NULL, 0, &k), 0);
		CHECK(k != NULL && dssh_sshkey_has_private(k));
		dssh_sshkey_free(k);
		k = NULL;
		CHECK_EQ_INT(asked(), 1);
	}
	/* A wrong passphrase: three tries, then refused, nothing kept. */
	setenv("TEST_PW", "wrong", 1);
	reset_count();
	CHECK_EQ_INT(dssh_client_load_key(k2, false, NULL, 0, &k), DSSH_ERR_KEY_PASSPHRASE);
	CHECK(k == NULL);
	CHECK_EQ_INT(asked(), 3);
	setenv("TEST_PW", "pw two", 1);
	CHECK_EQ_INT(dssh_client_load_key(k2, false, NULL, 0, &k), 0);
	dssh_sshkey_free(k);
	k = NULL;
	/* An empty answer skips the key, once for the process. */
	setenv("TEST_PW", "", 1);
	reset_count();
	CHECK_EQ_INT(dssh_client_load_key(k3, false, NULL, 0, &k), DSSH_ERR_KEY_ENCRYPTED);
	CHECK_EQ_INT(dssh_client_load_key(k3, false, NULL, 0, &k), DSSH_ERR_KEY_ENCRYPTED);
	CHECK(k == NULL);
	CHECK_EQ_INT(asked(), 1);
	/* A clear key: no question. */
	reset_count();
	CHECK_EQ_INT(dssh_client_load_key(k4, false, NULL, 0, &k), 0);
	dssh_sshkey_free(k);
	k = NULL;
	CHECK_EQ_INT(asked(), 0);
	/* The agent holds k5 (its .pub): not asked, left to the agent. */
	snprintf(pub, sizeof(pub), "%s.pub", k5);
	text = slurp(pub);
	CHECK(text != NULL && dssh_sshkey_parse_pubkey_text(text, &agent[0], NULL) == 0);
	setenv("TEST_PW", "pw five", 1);
	reset_count();
	CHECK_EQ_INT(dssh_client_load_key(k5, false, agent, 1, &k), DSSH_ERR_KEY_ENCRYPTED);
	CHECK_EQ_INT(asked(), 0);
	/* Another key in the agent: k5 is asked for. */
	{
		struct dssh_sshkey *other[1] = { NULL };
		char p1[300];

		snprintf(p1, sizeof(p1), "%s.pub", k1);
		text = slurp(p1);
		CHECK(text != NULL && dssh_sshkey_parse_pubkey_text(text, &other[0], NULL) == 0);
		CHECK_EQ_INT(dssh_client_load_key(k5, false, other, 1, &k), 0);
		CHECK_EQ_INT(asked(), 1);
		dssh_sshkey_free(other[0]);
	}
	dssh_sshkey_free(k);
	dssh_sshkey_free(agent[0]);
	/* BatchMode: skipped without a question. */
	{
		char k6[256];

		keygen("k6", "pw six", k6, sizeof(k6));
		reset_count();
		CHECK_EQ_INT(dssh_client_load_key(k6, true, NULL, 0, &k), DSSH_ERR_KEY_ENCRYPTED);
		CHECK_EQ_INT(asked(), 0);
	}
}

int
main(void)
{
	FILE *f;
	int rc;

	if ((rc = dssh_test_keygen_dir(dir)) != 0)
		return rc;
	snprintf(script, sizeof(script), "%s/askpass.sh", dir);
	snprintf(countf, sizeof(countf), "%s/count", dir);
	snprintf(promptf, sizeof(promptf), "%s/prompt", dir);
	if ((f = fopen(script, "w")) == NULL)
		return 1;
	fprintf(f, "#!/bin/sh\necho x >> %s\nprintf '%%s' \"$1\" > %s\n"
	    "if [ -n \"$TEST_NONL\" ]; then printf '%%s' \"$TEST_PW\"; "
	    "else printf '%%s\\n' \"$TEST_PW\"; fi\n", countf, promptf);
	fclose(f);
	chmod(script, 0755);
	DSSH_RUN(test_read);
	DSSH_RUN(test_load_key);
	dssh_test_dir_done(dir);
	DSSH_TEST_END();
}
