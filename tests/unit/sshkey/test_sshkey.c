/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sshkey tests. Interoperability is checked against the real ssh-keygen
 * (openssh-client): keys it writes must load here, keys written here must
 * load in `ssh-keygen -y` and fingerprint the same in `ssh-keygen -l`.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_sshkey.h"
#include "dssh_test.h"
#include "dssh_test_dir.h"
#include "dssh_util.h"

static char tmpdir[] = "/tmp/dssh-sshkey-XXXXXX";
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static const enum dssh_sshkey_type all_types[] = {
	DSSH_SSHKEY_ED25519, DSSH_SSHKEY_ECDSA_P256, DSSH_SSHKEY_ECDSA_P384,
	DSSH_SSHKEY_ECDSA_P521, DSSH_SSHKEY_RSA,
};

/* First two words of a .pub line ("type base64"). */
static char *
pub_words(const char *line)
{
	const char *sp = strchr(line, ' ');
	const char *end;

	if (sp == NULL)
		return NULL;
	end = sp + 1 + strcspn(sp + 1, " \t\r\n");
	return dssh_strndup(line, (size_t)(end - line));
}

/* Sign with every algorithm the key has; verify with pub. */
static void
sign_verify_all(const struct dssh_sshkey *priv, const struct dssh_sshkey *pub)
{
	char algs[128], *save = NULL;
	static const uint8_t msg[] = "exchange hash stand-in";

	snprintf(algs, sizeof(algs), "%s", dssh_sshkey_sig_algs_for(priv));
	for (char *a = strtok_r(algs, ",", &save); a != NULL; a = strtok_r(NULL, ",", &save)) {
		struct dssh_buf sig;

		dssh_buf_init(&sig, 0);
		CHECK_EQ_INT(dssh_sshkey_sign(priv, a, msg, sizeof(msg), &sig), 0);
		CHECK_EQ_INT(dssh_sshkey_verify(pub, a, dssh_buf_ptr(&sig), dssh_buf_len(&sig),
		    msg, sizeof(msg)), 0);
		CHECK_EQ_INT(dssh_sshkey_verify(pub, a, dssh_buf_ptr(&sig), dssh_buf_len(&sig),
		    msg, sizeof(msg) - 1), DSSH_ERR_SIGNATURE_INVALID);
		dssh_buf_free(&sig);
	}
}

static void
test_names(void)
{
	CHECK_EQ_INT(dssh_sshkey_type_from_name("ssh-ed25519"), DSSH_SSHKEY_ED25519);
	CHECK_EQ_INT(dssh_sshkey_type_from_name("ecdsa-sha2-nistp521"), DSSH_SSHKEY_ECDSA_P521);
	CHECK_EQ_INT(dssh_sshkey_type_from_name("ssh-rsa"), DSSH_SSHKEY_RSA);
	CHECK_EQ_INT(dssh_sshkey_type_from_name("ssh-dss"), DSSH_SSHKEY_UNKNOWN);
	CHECK_EQ_INT(dssh_sshkey_type_from_name("rsa-sha2-256"), DSSH_SSHKEY_UNKNOWN);
	CHECK_EQ_INT(dssh_sshkey_type_from_name(NULL), DSSH_SSHKEY_UNKNOWN);
	CHECK_STR(dssh_sshkey_type_to_name(DSSH_SSHKEY_ECDSA_P384), "ecdsa-sha2-nistp384");
	CHECK(dssh_sshkey_type_to_name(DSSH_SSHKEY_UNKNOWN) == NULL);
	CHECK_EQ_INT(dssh_sshkey_sig_alg_key_type("rsa-sha2-256"), DSSH_SSHKEY_RSA);
	CHECK_EQ_INT(dssh_sshkey_sig_alg_key_type("rsa-sha2-512"), DSSH_SSHKEY_RSA);
	CHECK_EQ_INT(dssh_sshkey_sig_alg_key_type("ssh-rsa"), DSSH_SSHKEY_RSA);
	CHECK_EQ_INT(dssh_sshkey_sig_alg_key_type("ssh-ed25519"), DSSH_SSHKEY_ED25519);
	CHECK_EQ_INT(dssh_sshkey_sig_alg_key_type("ecdsa-sha2-nistp256"), DSSH_SSHKEY_ECDSA_P256);
	CHECK_EQ_INT(dssh_sshkey_sig_alg_key_type("ssh-dss"), DSSH_SSHKEY_UNKNOWN);
	CHECK_EQ_INT(dssh_sshkey_sig_alg_key_type(NULL), DSSH_SSHKEY_UNKNOWN);
	CHECK_STR(dssh_sshkey_sig_algs_for(NULL), "");
	dssh_sshkey_free(NULL);
}

/* Keys written by ssh-keygen, in each of its private key formats. */
static void
test_load_ssh_keygen(void)
{
	static const struct {
		const char *args;
		enum dssh_sshkey_type type;
		unsigned bits;
		const char *label;
	} kinds[] = {
		{ "-t ed25519", DSSH_SSHKEY_ED25519, 256, "ED25519" },
		{ "-t ecdsa -b 256", DSSH_SSHKEY_ECDSA_P256, 256, "ECDSA" },
		{ "-t ecdsa -b 384", DSSH_SSHKEY_ECDSA_P384, 384, "ECDSA" },
		{ "-t ecdsa -b 521", DSSH_SSHKEY_ECDSA_P521, 521, "ECDSA" },
		{ "-t rsa -b 2048", DSSH_SSHKEY_RSA, 2048, "RSA" },
	};
	static const char *formats[] = { "", "-m PEM", "-m PKCS8" };

	for (size_t i = 0; i < DSSH_ARRAY_SIZE(kinds); i++) {
		for (size_t j = 0; j < DSSH_ARRAY_SIZE(formats); j++) {
			char path[256], pubpath[300], fpcmd[400], fp[DSSH_SSHKEY_FP_LEN];
			char *pubtext = NULL, *keytext = NULL, *words = NULL, *fpout = NULL;
			struct dssh_sshkey *key = NULL, *pub = NULL;
			struct dssh_buf text;
			const char *rest = NULL;

			snprintf(path, sizeof(path), "%s/kg_%zu_%zu", tmpdir, i, j);
			snprintf(pubpath, sizeof(pubpath), "%s.pub", path);
			if (dssh_test_sh("ssh-keygen -q -N '' -C 'test comment' %s %s -f %s </dev/null",
			    kinds[i].args, formats[j], path) != 0) {
				CHECK(!"ssh-keygen failed");
				continue;
			}
			keytext = dssh_test_slurp(path);
			CHECK(keytext != NULL);
			if (j == 1 && kinds[i].type != DSSH_SSHKEY_ED25519)
				CHECK(keytext != NULL && strstr(keytext, "BEGIN OPENSSH") == NULL);
			CHECK_EQ_INT(dssh_sshkey_load_private(path, &key), 0);
			if (key == NULL) {
				fprintf(stderr, "  failed to load %s %s\n", kinds[i].args, formats[j]);
				free(keytext);
				continue;
			}
			CHECK_EQ_INT(dssh_sshkey_type(key), kinds[i].type);
			CHECK_EQ_INT(dssh_sshkey_bits(key), kinds[i].bits);
			CHECK(dssh_sshkey_has_private(key));
			pubtext = dssh_test_slurp(pubpath);
			CHECK(pubtext != NULL);
			CHECK_EQ_INT(dssh_sshkey_parse_pubkey_text(pubtext, &pub, &rest), 0);
			CHECK(pub != NULL && !dssh_sshkey_has_private(pub));
			CHECK_STR(rest, "test comment\n");
			CHECK_EQ_INT(dssh_sshkey_equal_public(key, pub), 1);
			/* Our encoding of the public key is byte-identical to ssh-keygen's. */
			dssh_buf_init(&text, 0);
			CHECK_EQ_INT(dssh_sshkey_public_to_text(key, NULL, &text), 0);
			dssh_buf_put_u8(&text, 0);
			words = pubtext ? pub_words(pubtext) : NULL;
			CHECK(words != NULL);
			if (words != NULL) {
				size_t wl = strlen(words);

				CHECK(strncmp((char *)dssh_buf_ptr(&text), words, wl) == 0 &&
				    dssh_buf_ptr(&text)[wl] == '\n');
			}
			/* Fingerprint as ssh-keygen -l prints it. */
			CHECK_EQ_INT(dssh_sshkey_fingerprint(key, fp, sizeof(fp)), 0);
			snprintf(fpcmd, sizeof(fpcmd), "%s.fp", path);
			CHECK_EQ_INT(dssh_test_sh("ssh-keygen -l -E sha256 -f %s > %s", pubpath, fpcmd), 0);
			fpout = dssh_test_slurp(fpcmd);
			if (fpout != NULL) {
				char want[512];

				snprintf(want, sizeof(want), "%u %s test comment (%s)\n",
				    kinds[i].bits, fp, kinds[i].label);
				CHECK_STR(fpout, want);
			}
			if (pub != NULL)
				sign_verify_all(key, pub);
			dssh_buf_free(&text);
			free(fpout);
			free(words);
			free(pubtext);
			free(keytext);
			dssh_sshkey_free(key);
			dssh_sshkey_free(pub);
		}
	}
}

static void
test_perms(void)
{
	char path[256], dpath[256];
	struct dssh_sshkey *key = NULL;

	snprintf(path, sizeof(path), "%s/perm_key", tmpdir);
	CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -N '' -t ed25519 -f %s </dev/null", path), 0);
	CHECK_EQ_INT(dssh_sshkey_check_perms(path), 0);
	CHECK_EQ_INT(dssh_sshkey_load_private(path, &key), 0);
	dssh_sshkey_free(key);
	key = NULL;
	static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0606, 0610, 0601, 0700 | 040 };

	for (size_t i = 0; i < DSSH_ARRAY_SIZE(bad); i++) {
		CHECK_EQ_INT(chmod(path, bad[i]), 0);
		CHECK_EQ_INT(dssh_sshkey_check_perms(path), DSSH_ERR_KEY_BAD_PERMISSIONS);
		CHECK_EQ_INT(dssh_sshkey_load_private(path, &key), DSSH_ERR_KEY_BAD_PERMISSIONS);
		CHECK(key == NULL);
	}
	CHECK_EQ_INT(chmod(path, 0400), 0);
	CHECK_EQ_INT(dssh_sshkey_check_perms(path), 0);
	CHECK_EQ_INT(dssh_sshkey_load_private(path, &key), 0);
	dssh_sshkey_free(key);
	snprintf(path, sizeof(path), "%s/no_such_key", tmpdir);
	CHECK_EQ_INT(dssh_sshkey_load_private(path, &key), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(dssh_sshkey_check_perms(path), DSSH_ERR_NOT_FOUND);
	snprintf(dpath, sizeof(dpath), "%s/adir", tmpdir);
	CHECK_EQ_INT(mkdir(dpath, 0700), 0);
	CHECK(dssh_sshkey_load_private(dpath, &key) < 0);
	CHECK(dssh_sshkey_check_perms(dpath) < 0);
	/* An empty file and garbage file (with good permissions) fail cleanly. */
	snprintf(path, sizeof(path), "%s/empty_key", tmpdir);
	CHECK_EQ_INT(dssh_test_sh("install -m 600 /dev/null %s", path), 0);
	CHECK_EQ_INT(dssh_sshkey_load_private(path, &key), DSSH_ERR_INVALID_FORMAT);
	snprintf(path, sizeof(path), "%s/garbage_key", tmpdir);
	CHECK_EQ_INT(dssh_test_sh("head -c 3000 /dev/urandom > %s; chmod 600 %s", path, path), 0);
	CHECK(dssh_sshkey_load_private(path, &key) < 0);
	CHECK(key == NULL);
}

/* Keys generated and saved here, checked with ssh-keygen. */
static void
test_save_interop(void)
{
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(all_types); i++) {
		char path[256], out[300], fp[DSSH_SSHKEY_FP_LEN], want[512];
		char *mypub = NULL, *words = NULL, *y = NULL, *l = NULL;
		struct dssh_sshkey *key = NULL, *back = NULL;
		struct stat st;

		CHECK_EQ_INT(dssh_sshkey_generate(all_types[i],
		    all_types[i] == DSSH_SSHKEY_RSA ? 2048 : 0, &key), 0);
		if (key == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/saved_%zu", tmpdir, i);
		CHECK_EQ_INT(dssh_sshkey_save_private(key, path, "dssh@test"), 0);
		CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
		snprintf(out, sizeof(out), "%s.pub", path);
		CHECK(stat(out, &st) == 0 && (st.st_mode & 0777) == 0644);
		mypub = dssh_test_slurp(out);
		CHECK(mypub != NULL);
		/* ssh-keygen -y reads the private key and prints the public one. */
		snprintf(out, sizeof(out), "%s.y", path);
		CHECK_EQ_INT(dssh_test_sh("ssh-keygen -y -f %s > %s", path, out), 0);
		y = dssh_test_slurp(out);
		words = mypub ? pub_words(mypub) : NULL;
		CHECK(y != NULL && words != NULL);
		if (y != NULL && words != NULL)
			CHECK(strncmp(y, words, strlen(words)) == 0);
		/* ssh-keygen -l on the private key file: same fingerprint. */
		CHECK_EQ_INT(dssh_sshkey_fingerprint(key, fp, sizeof(fp)), 0);
		snprintf(out, sizeof(out), "%s.l", path);
		CHECK_EQ_INT(dssh_test_sh("ssh-keygen -l -E sha256 -f %s > %s", path, out), 0);
		l = dssh_test_slurp(out);
		snprintf(want, sizeof(want), "%u %s dssh@test (", dssh_sshkey_bits(key), fp);
		CHECK(l != NULL && strncmp(l, want, strlen(want)) == 0);
		if (l != NULL && strncmp(l, want, strlen(want)) != 0)
			fprintf(stderr, "  got '%s' want '%s'\n", l, want);
		/* Round trip through our own loader. */
		CHECK_EQ_INT(dssh_sshkey_load_private(path, &back), 0);
		CHECK_EQ_INT(dssh_sshkey_equal_public(key, back), 1);
		if (back != NULL) {
			sign_verify_all(back, key);
			sign_verify_all(key, back);
		}
		/* Changing the comment through ssh-keygen rewrites the file: still loads. */
		CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -c -C renamed -f %s >/dev/null", path), 0);
		dssh_sshkey_free(back);
		back = NULL;
		CHECK_EQ_INT(dssh_sshkey_load_private(path, &back), 0);
		CHECK_EQ_INT(dssh_sshkey_equal_public(key, back), 1);
		free(mypub);
		free(words);
		free(y);
		free(l);
		dssh_sshkey_free(key);
		dssh_sshkey_free(back);
	}
	/* Saving a public-only key is refused. */
	{
		struct dssh_sshkey *key = NULL, *pub = NULL;
		char path[256];

		snprintf(path, sizeof(path), "%s/pubonly", tmpdir);
		CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &key), 0);
		CHECK_EQ_INT(dssh_sshkey_demote(key, &pub), 0);
		CHECK(!dssh_sshkey_has_private(pub));
		CHECK(dssh_sshkey_save_private(pub, path, "x") < 0);
		CHECK(access(path, F_OK) != 0);
		dssh_sshkey_free(key);
		CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_RSA, 512, &key), DSSH_ERR_INVALID_ARGUMENT);
		CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_UNKNOWN, 0, &key), DSSH_ERR_KEY_TYPE);
		dssh_sshkey_free(pub);
	}
}

static void
test_host_keys(void)
{
	static const char *names[] = { "ssh_host_ed25519_key", "ssh_host_ecdsa_key",
	    "ssh_host_rsa_key" };
	static const enum dssh_sshkey_type types[] = { DSSH_SSHKEY_ED25519,
	    DSSH_SSHKEY_ECDSA_P256, DSSH_SSHKEY_RSA };
	static const unsigned bits[] = { 256, 256, 3072 };
	char dir[128], path[256];
	char **created = NULL;
	size_t n = 99;

	snprintf(dir, sizeof(dir), "%s/etc", tmpdir);
	CHECK_EQ_INT(mkdir(dir, 0755), 0);
	CHECK_EQ_INT(dssh_sshkey_ensure_host_keys(dir, &created, &n), 0);
	CHECK_EQ_INT(n, 3);
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(names); i++) {
		struct dssh_sshkey *key = NULL;
		bool listed = false;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		for (size_t j = 0; j < n; j++)
			listed |= strcmp(created[j], path) == 0;
		CHECK(listed);
		CHECK_EQ_INT(dssh_sshkey_load_private(path, &key), 0);
		CHECK_EQ_INT(dssh_sshkey_type(key), types[i]);
		CHECK_EQ_INT(dssh_sshkey_bits(key), bits[i]);
		CHECK_EQ_INT(dssh_test_sh("ssh-keygen -l -f %s >/dev/null", path), 0);
		dssh_sshkey_free(key);
	}
	dssh_sshkey_free_paths(created, n);
	created = NULL;
	/* Second run: nothing to do. */
	CHECK_EQ_INT(dssh_sshkey_ensure_host_keys(dir, &created, &n), 0);
	CHECK_EQ_INT(n, 0);
	dssh_sshkey_free_paths(created, n);
	/* One missing: only that one is made; the others are untouched. */
	snprintf(path, sizeof(path), "%s/ssh_host_ed25519_key.pub", dir);
	char *before = dssh_test_slurp(path);

	snprintf(path, sizeof(path), "%s/ssh_host_ecdsa_key", dir);
	CHECK_EQ_INT(unlink(path), 0);
	CHECK_EQ_INT(dssh_sshkey_ensure_host_keys(dir, &created, &n), 0);
	CHECK_EQ_INT(n, 1);
	if (n == 1)
		CHECK_STR(created[0], path);
	dssh_sshkey_free_paths(created, n);
	snprintf(path, sizeof(path), "%s/ssh_host_ed25519_key.pub", dir);
	char *after = dssh_test_slurp(path);

	CHECK(before != NULL && after != NULL && strcmp(before, after) == 0);
	free(before);
	free(after);
	CHECK_EQ_INT(dssh_sshkey_ensure_host_keys(dir, NULL, NULL), 0);
	snprintf(path, sizeof(path), "%s/nonexistent", tmpdir);
	CHECK(dssh_sshkey_ensure_host_keys(path, &created, &n) < 0);
}

static void
check_rejects_tampering(const struct dssh_sshkey *key, const struct dssh_sshkey *other,
    const char *alg)
{
	static const uint8_t msg[] = "some data to sign";
	struct dssh_buf sig, sig2;
	uint8_t *copy;
	size_t len;

	dssh_buf_init(&sig, 0);
	dssh_buf_init(&sig2, 0);
	CHECK_EQ_INT(dssh_sshkey_sign(key, alg, msg, sizeof(msg), &sig), 0);
	len = dssh_buf_len(&sig);
	CHECK_EQ_INT(dssh_sshkey_verify(key, alg, dssh_buf_ptr(&sig), len, msg, sizeof(msg)), 0);
	/* The wrong key. */
	CHECK_EQ_INT(dssh_sshkey_verify(other, alg, dssh_buf_ptr(&sig), len, msg, sizeof(msg)),
	    DSSH_ERR_SIGNATURE_INVALID);
	/* Any flipped bit. */
	copy = malloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		memcpy(copy, dssh_buf_ptr(&sig), len);
		copy[i] ^= (uint8_t)(1u << (dssh_test_rand(&rng) % 8));
		CHECK_EQ_INT(dssh_sshkey_verify(key, alg, copy, len, msg, sizeof(msg)),
		    DSSH_ERR_SIGNATURE_INVALID);
	}
	/* Every truncation, and a trailing byte. */
	memcpy(copy, dssh_buf_ptr(&sig), len);
	for (size_t i = 0; i < len; i++)
		CHECK_EQ_INT(dssh_sshkey_verify(key, alg, copy, i, msg, sizeof(msg)),
		    DSSH_ERR_SIGNATURE_INVALID);
	copy[len] = 0;
	CHECK_EQ_INT(dssh_sshkey_verify(key, alg, copy, len + 1, msg, sizeof(msg)),
	    DSSH_ERR_SIGNATURE_INVALID);
	/* A flipped message bit. */
	for (size_t i = 0; i < sizeof(msg); i += 5) {
		uint8_t m2[sizeof(msg)];

		memcpy(m2, msg, sizeof(msg));
		m2[i] ^= 0x10;
		CHECK_EQ_INT(dssh_sshkey_verify(key, alg, copy, len, m2, sizeof(m2)),
		    DSSH_ERR_SIGNATURE_INVALID);
	}
	/* Claimed algorithms that do not match the blob or the key. */
	static const char *claims[] = { "ssh-ed25519", "ecdsa-sha2-nistp256",
	    "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-256", "rsa-sha2-512",
	    "ssh-rsa", "ssh-dss", "" };

	for (size_t i = 0; i < DSSH_ARRAY_SIZE(claims); i++) {
		if (strcmp(claims[i], alg) == 0)
			continue;
		CHECK_EQ_INT(dssh_sshkey_verify(key, claims[i], copy, len, msg, sizeof(msg)),
		    DSSH_ERR_SIGNATURE_INVALID);
	}
	CHECK_EQ_INT(dssh_sshkey_verify(key, NULL, copy, len, msg, sizeof(msg)),
	    DSSH_ERR_SIGNATURE_INVALID);
	/*
	 * The same signature bytes relabelled with another algorithm valid for
	 * the key (RSA): the hash differs, so it must fail under either name.
	 */
	if (dssh_sshkey_type(key) == DSSH_SSHKEY_RSA) {
		const char *o = strcmp(alg, "rsa-sha2-256") == 0 ? "rsa-sha2-512" : "rsa-sha2-256";
		struct dssh_buf v;
		const uint8_t *s;
		size_t sl;

		dssh_buf_from(&v, copy, len);
		CHECK_EQ_INT(dssh_buf_skip_string(&v), 0);
		CHECK_EQ_INT(dssh_buf_get_string_direct(&v, &s, &sl), 0);
		CHECK_EQ_INT(sl, (dssh_sshkey_bits(key) + 7) / 8);
		dssh_buf_put_cstring(&sig2, o);
		dssh_buf_put_string(&sig2, s, sl);
		CHECK_EQ_INT(dssh_sshkey_verify(key, o, dssh_buf_ptr(&sig2), dssh_buf_len(&sig2),
		    msg, sizeof(msg)), DSSH_ERR_SIGNATURE_INVALID);
		CHECK_EQ_INT(dssh_sshkey_verify(key, alg, dssh_buf_ptr(&sig2), dssh_buf_len(&sig2),
		    msg, sizeof(msg)), DSSH_ERR_SIGNATURE_INVALID);
	}
	free(copy);
	dssh_buf_free(&sig);
	dssh_buf_free(&sig2);
}

static void
test_sign_verify(void)
{
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(all_types); i++) {
		struct dssh_sshkey *a = NULL, *b = NULL, *pa = NULL;
		unsigned bits = all_types[i] == DSSH_SSHKEY_RSA ? 2048 : 0;
		char algs[128], *save = NULL;

		CHECK_EQ_INT(dssh_sshkey_generate(all_types[i], bits, &a), 0);
		CHECK_EQ_INT(dssh_sshkey_generate(all_types[i], bits, &b), 0);
		if (a == NULL || b == NULL)
			continue;
		CHECK_EQ_INT(dssh_sshkey_equal_public(a, b), 0);
		CHECK_EQ_INT(dssh_sshkey_demote(a, &pa), 0);
		CHECK_EQ_INT(dssh_sshkey_equal_public(a, pa), 1);
		snprintf(algs, sizeof(algs), "%s", dssh_sshkey_sig_algs_for(a));
		for (char *s = strtok_r(algs, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
			struct dssh_buf sig;

			CHECK_EQ_INT(dssh_sshkey_sig_alg_key_type(s), all_types[i]);
			check_rejects_tampering(a, b, s);
			/* A public-only key verifies but cannot sign. */
			dssh_buf_init(&sig, 0);
			CHECK(dssh_sshkey_sign(pa, s, (const uint8_t *)"x", 1, &sig) < 0);
			CHECK_EQ_INT(dssh_sshkey_sign(a, s, (const uint8_t *)"x", 1, &sig), 0);
			CHECK_EQ_INT(dssh_sshkey_verify(pa, s, dssh_buf_ptr(&sig), dssh_buf_len(&sig),
			    (const uint8_t *)"x", 1), 0);
			/* Empty data is fine to sign. */
			dssh_buf_reset(&sig);
			CHECK_EQ_INT(dssh_sshkey_sign(a, s, NULL, 0, &sig), 0);
			CHECK_EQ_INT(dssh_sshkey_verify(pa, s, dssh_buf_ptr(&sig), dssh_buf_len(&sig),
			    NULL, 0), 0);
			dssh_buf_free(&sig);
		}
		/* An algorithm for another key type cannot sign. */
		{
			struct dssh_buf sig;

			dssh_buf_init(&sig, 0);
			CHECK_EQ_INT(dssh_sshkey_sign(a, all_types[i] == DSSH_SSHKEY_RSA ?
			    "ssh-ed25519" : "rsa-sha2-256", (const uint8_t *)"x", 1, &sig),
			    DSSH_ERR_KEY_TYPE);
			CHECK_EQ_INT(dssh_sshkey_sign(a, "ssh-dss", (const uint8_t *)"x", 1, &sig),
			    DSSH_ERR_KEY_TYPE);
			CHECK_EQ_INT(dssh_buf_len(&sig), 0);
			dssh_buf_free(&sig);
		}
		dssh_sshkey_free(a);
		dssh_sshkey_free(b);
		dssh_sshkey_free(pa);
	}
}

static void
test_ecdsa_sig_encoding(void)
{
	struct dssh_sshkey *k = NULL;
	struct dssh_buf sig, inner, bad;
	const uint8_t *name, *in, *r, *s;
	size_t namelen, inlen, rl, sl;
	static const uint8_t msg[] = "m";

	dssh_buf_init(&sig, 0);
	dssh_buf_init(&bad, 0);
	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_ECDSA_P384, 0, &k), 0);
	CHECK_EQ_INT(dssh_sshkey_sign(k, "ecdsa-sha2-nistp384", msg, 1, &sig), 0);
	/* string name, string (mpint r, mpint s) */
	dssh_buf_from(&inner, dssh_buf_ptr(&sig), dssh_buf_len(&sig));
	CHECK_EQ_INT(dssh_buf_get_string_direct(&inner, &name, &namelen), 0);
	CHECK(namelen == 19 && memcmp(name, "ecdsa-sha2-nistp384", 19) == 0);
	CHECK_EQ_INT(dssh_buf_get_string_direct(&inner, &in, &inlen), 0);
	CHECK_EQ_INT(dssh_buf_len(&inner), 0);
	dssh_buf_from(&inner, in, inlen);
	CHECK_EQ_INT(dssh_buf_get_mpint_direct(&inner, &r, &rl), 0);
	CHECK_EQ_INT(dssh_buf_get_mpint_direct(&inner, &s, &sl), 0);
	CHECK_EQ_INT(dssh_buf_len(&inner), 0);
	CHECK(rl > 0 && rl <= 48 && sl > 0 && sl <= 48);
	/* r = 0 */
	{
		struct dssh_buf in2;

		dssh_buf_init(&in2, 0);
		dssh_buf_put_mpint_bytes(&in2, NULL, 0);
		dssh_buf_put_mpint_bytes(&in2, s, sl);
		dssh_buf_put_cstring(&bad, "ecdsa-sha2-nistp384");
		dssh_buf_put_stringb(&bad, &in2);
		CHECK_EQ_INT(dssh_sshkey_verify(k, "ecdsa-sha2-nistp384", dssh_buf_ptr(&bad),
		    dssh_buf_len(&bad), msg, 1), DSSH_ERR_SIGNATURE_INVALID);
		/* s and r swapped */
		dssh_buf_reset(&in2);
		dssh_buf_reset(&bad);
		dssh_buf_put_mpint_bytes(&in2, s, sl);
		dssh_buf_put_mpint_bytes(&in2, r, rl);
		dssh_buf_put_cstring(&bad, "ecdsa-sha2-nistp384");
		dssh_buf_put_stringb(&bad, &in2);
		CHECK_EQ_INT(dssh_sshkey_verify(k, "ecdsa-sha2-nistp384", dssh_buf_ptr(&bad),
		    dssh_buf_len(&bad), msg, 1), DSSH_ERR_SIGNATURE_INVALID);
		/* r, s and a trailing mpint */
		dssh_buf_reset(&in2);
		dssh_buf_reset(&bad);
		dssh_buf_put_mpint_bytes(&in2, r, rl);
		dssh_buf_put_mpint_bytes(&in2, s, sl);
		dssh_buf_put_mpint_bytes(&in2, s, sl);
		dssh_buf_put_cstring(&bad, "ecdsa-sha2-nistp384");
		dssh_buf_put_stringb(&bad, &in2);
		CHECK_EQ_INT(dssh_sshkey_verify(k, "ecdsa-sha2-nistp384", dssh_buf_ptr(&bad),
		    dssh_buf_len(&bad), msg, 1), DSSH_ERR_SIGNATURE_INVALID);
		/* the untouched pair still verifies */
		dssh_buf_reset(&in2);
		dssh_buf_reset(&bad);
		dssh_buf_put_mpint_bytes(&in2, r, rl);
		dssh_buf_put_mpint_bytes(&in2, s, sl);
		dssh_buf_put_cstring(&bad, "ecdsa-sha2-nistp384");
		dssh_buf_put_stringb(&bad, &in2);
		CHECK_EQ_INT(dssh_sshkey_verify(k, "ecdsa-sha2-nistp384", dssh_buf_ptr(&bad),
		    dssh_buf_len(&bad), msg, 1), 0);
		dssh_buf_free(&in2);
	}
	dssh_buf_free(&sig);
	dssh_buf_free(&bad);
	dssh_sshkey_free(k);
}

/* Armour a binary openssh-key-v1 blob. */
static char *
armour(const struct dssh_buf *blob)
{
	size_t n = dssh_buf_len(blob);
	char *b64 = malloc(4 * ((n + 2) / 3) + 1);
	char *out = malloc(4 * ((n + 2) / 3) + 200);

	EVP_EncodeBlock((unsigned char *)b64, dssh_buf_ptr(blob), (int)n);
	sprintf(out, "-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----\n",
	    b64);
	free(b64);
	return out;
}

enum v1_fault {
	V1_OK, V1_CHECKINT, V1_PADDING, V1_CIPHER, V1_KDF, V1_NKEYS, V1_PUB_MISMATCH,
	V1_PRIV_PUB_MISMATCH, V1_TRAILING, V1_BLOCK, V1_SEED_PUB,
};

/* Hand-built openssh-key-v1 (PROTOCOL.key) around the RFC 8032 test key 1. */
static void
build_v1(struct dssh_buf *out, enum v1_fault fault)
{
	uint8_t seed[32], pub[32], other[32];
	struct dssh_buf priv, pb;

	dssh_test_hex2bin("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	    seed, 32);
	dssh_test_hex2bin("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	    pub, 32);
	memcpy(other, pub, 32);
	other[5] ^= 1;
	dssh_buf_init(&priv, 0);
	dssh_buf_init(&pb, 0);
	dssh_buf_put_cstring(&pb, "ssh-ed25519");
	dssh_buf_put_string(&pb, fault == V1_PUB_MISMATCH ? other : pub, 32);
	dssh_buf_put_u32(&priv, 0x11223344);
	dssh_buf_put_u32(&priv, fault == V1_CHECKINT ? 0x11223345 : 0x11223344);
	dssh_buf_put_cstring(&priv, "ssh-ed25519");
	dssh_buf_put_string(&priv, fault == V1_PRIV_PUB_MISMATCH ? other : pub, 32);
	dssh_buf_put(&priv, "\0\0\0\x40", 4);
	dssh_buf_put(&priv, seed, 32);
	dssh_buf_put(&priv, fault == V1_SEED_PUB ? other : pub, 32);
	dssh_buf_put_cstring(&priv, "comment");
	for (uint8_t i = 1; dssh_buf_len(&priv) % 8 != 0; i++)
		dssh_buf_put_u8(&priv, fault == V1_PADDING ? (uint8_t)(i + 1) : i);
	if (fault == V1_BLOCK)
		dssh_buf_put_u8(&priv, 1);
	dssh_buf_init(out, 0);
	dssh_buf_put(out, "openssh-key-v1", 15);
	dssh_buf_put_cstring(out, fault == V1_CIPHER ? "aes256-ctr" : "none");
	dssh_buf_put_cstring(out, fault == V1_KDF ? "bcrypt" : "none");
	dssh_buf_put_cstring(out, "");
	dssh_buf_put_u32(out, fault == V1_NKEYS ? 2 : 1);
	dssh_buf_put_stringb(out, &pb);
	dssh_buf_put_stringb(out, &priv);
	if (fault == V1_TRAILING)
		dssh_buf_put_u8(out, 0);
	dssh_buf_free(&priv);
	dssh_buf_free(&pb);
}

static void
test_openssh_v1_parse(void)
{
	static const struct { enum v1_fault f; int want; } cases[] = {
		{ V1_CHECKINT, DSSH_ERR_INVALID_FORMAT },
		{ V1_PADDING, DSSH_ERR_INVALID_FORMAT },
		/* A cipher without a KDF or the reverse: malformed. */
		{ V1_CIPHER, DSSH_ERR_INVALID_FORMAT },
		{ V1_KDF, DSSH_ERR_INVALID_FORMAT },
		{ V1_NKEYS, DSSH_ERR_INVALID_FORMAT },
		{ V1_PUB_MISMATCH, DSSH_ERR_INVALID_FORMAT },
		{ V1_PRIV_PUB_MISMATCH, DSSH_ERR_INVALID_FORMAT },
		{ V1_TRAILING, DSSH_ERR_INVALID_FORMAT },
		{ V1_BLOCK, DSSH_ERR_INVALID_FORMAT },
		{ V1_SEED_PUB, DSSH_ERR_INVALID_FORMAT },
	};
	struct dssh_sshkey *key = NULL;
	struct dssh_buf blob, sig;
	uint8_t want_sig[64];
	const uint8_t *p;
	size_t n;
	char *text;

	/* The good file, and the RFC 8032 7.1 TEST 1 signature of "". */
	build_v1(&blob, V1_OK);
	text = armour(&blob);
	CHECK_EQ_INT(dssh_sshkey_parse_private(text, strlen(text), &key), 0);
	CHECK_EQ_INT(dssh_sshkey_type(key), DSSH_SSHKEY_ED25519);
	dssh_buf_init(&sig, 0);
	CHECK_EQ_INT(dssh_sshkey_sign(key, "ssh-ed25519", NULL, 0, &sig), 0);
	dssh_test_hex2bin("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b", want_sig, 64);
	CHECK_EQ_INT(dssh_buf_skip_string(&sig), 0);
	CHECK_EQ_INT(dssh_buf_get_string_direct(&sig, &p, &n), 0);
	CHECK_EQ_INT(n, 64);
	if (n == 64)
		CHECK_MEM(p, want_sig, 64);
	dssh_sshkey_free(key);
	key = NULL;
	dssh_buf_free(&sig);
	/* Every truncation of the binary blob fails. */
	for (size_t cut = 0; cut < dssh_buf_len(&blob); cut++) {
		struct dssh_buf t;
		char *tt;

		dssh_buf_init(&t, 0);
		dssh_buf_put(&t, dssh_buf_ptr(&blob), cut);
		tt = cut > 0 ? armour(&t) : strdup("-----BEGIN OPENSSH PRIVATE KEY-----\n"
		    "-----END OPENSSH PRIVATE KEY-----\n");
		CHECK(dssh_sshkey_parse_private(tt, strlen(tt), &key) < 0);
		CHECK(key == NULL);
		free(tt);
		dssh_buf_free(&t);
	}
	/* Every truncation of the text fails (short of dropping the final newline). */
	for (size_t cut = 0; cut + 1 < strlen(text); cut++) {
		CHECK(dssh_sshkey_parse_private(text, cut, &key) < 0);
		CHECK(key == NULL);
	}
	free(text);
	dssh_buf_free(&blob);
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(cases); i++) {
		build_v1(&blob, cases[i].f);
		text = armour(&blob);
		CHECK_EQ_INT(dssh_sshkey_parse_private(text, strlen(text), &key), cases[i].want);
		CHECK(key == NULL);
		free(text);
		dssh_buf_free(&blob);
	}
	/* Base64 damage. */
	{
		static const char *bad[] = {
			"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn!!!\n-----END OPENSSH PRIVATE KEY-----\n",
			"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn=NzaC1r\n-----END OPENSSH PRIVATE KEY-----\n",
			"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n",
			"-----BEGIN OPENSSH PRIVATE KEY-----\n-----END OPENSSH PRIVATE KEY-----\n",
			"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n",
			"-----BEGIN RSA PRIVATE KEY-----\n\n-----END RSA PRIVATE KEY-----\n",
			"garbage",
		};

		for (size_t i = 0; i < DSSH_ARRAY_SIZE(bad); i++) {
			CHECK(dssh_sshkey_parse_private(bad[i], strlen(bad[i]), &key) < 0);
			CHECK(key == NULL);
		}
		CHECK(dssh_sshkey_parse_private("", 0, &key) < 0);
	}
	/* A passphrase-protected key (any format) without a passphrase is refused, not misread. */
	{
		char path[256], *t;

		snprintf(path, sizeof(path), "%s/enc_key", tmpdir);
		CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -N secretpass -t ed25519 -f %s </dev/null", path), 0);
		t = dssh_test_slurp(path);
		CHECK(t != NULL);
		if (t != NULL)
			CHECK_EQ_INT(dssh_sshkey_parse_private(t, strlen(t), &key), DSSH_ERR_KEY_ENCRYPTED);
		free(t);
		snprintf(path, sizeof(path), "%s/enc_pem", tmpdir);
		CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -N secretpass -t ecdsa -m PEM -f %s </dev/null",
		    path), 0);
		t = dssh_test_slurp(path);
		CHECK(t != NULL);
		if (t != NULL)
			CHECK_EQ_INT(dssh_sshkey_parse_private(t, strlen(t), &key), DSSH_ERR_KEY_ENCRYPTED);
		CHECK(key == NULL);
		free(t);
		snprintf(path, sizeof(path), "%s/enc_pkcs8", tmpdir);
		CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -N secretpass -t rsa -b 1024 -m PKCS8 -f %s </dev/null",
		    path), 0);
		t = dssh_test_slurp(path);
		CHECK(t != NULL);
		if (t != NULL)
			CHECK_EQ_INT(dssh_sshkey_parse_private(t, strlen(t), &key), DSSH_ERR_KEY_ENCRYPTED);
		CHECK(key == NULL);
		free(t);
		/* The markers removed: the decoder still must not prompt or succeed. */
		snprintf(path, sizeof(path), "%s/enc_pem", tmpdir);
		t = dssh_test_slurp(path);
		if (t != NULL) {
			char *pt = strstr(t, "Proc-Type");

			if (pt != NULL)
				pt[0] = 'X';
			CHECK(dssh_sshkey_parse_private(t, strlen(t), &key) < 0);
		}
		CHECK(key == NULL);
		free(t);
	}
}

/* Public blobs of one key of each type. */
static void
make_blobs(struct dssh_buf blobs[5], struct dssh_sshkey *keys[5])
{
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(all_types); i++) {
		keys[i] = NULL;
		CHECK_EQ_INT(dssh_sshkey_generate(all_types[i],
		    all_types[i] == DSSH_SSHKEY_RSA ? 1024 : 0, &keys[i]), 0);
		dssh_buf_init(&blobs[i], 0);
		CHECK_EQ_INT(dssh_sshkey_public_blob(keys[i], &blobs[i]), 0);
	}
}

static void
test_from_blob(void)
{
	struct dssh_buf blobs[5];
	struct dssh_sshkey *keys[5], *k = NULL;

	make_blobs(blobs, keys);
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(all_types); i++) {
		const uint8_t *b = dssh_buf_ptr(&blobs[i]);
		size_t n = dssh_buf_len(&blobs[i]);
		uint8_t *copy = malloc(n + 16);

		CHECK_EQ_INT(dssh_sshkey_from_blob(b, n, &k), 0);
		CHECK_EQ_INT(dssh_sshkey_equal_public(k, keys[i]), 1);
		CHECK(!dssh_sshkey_has_private(k));
		dssh_sshkey_free(k);
		k = NULL;
		for (size_t cut = 0; cut < n; cut++) {
			CHECK(dssh_sshkey_from_blob(b, cut, &k) < 0);
			CHECK(k == NULL);
		}
		memcpy(copy, b, n);
		copy[n] = 0;
		CHECK_EQ_INT(dssh_sshkey_from_blob(copy, n + 1, &k), DSSH_ERR_INVALID_FORMAT);
		/* Length fields made huge. */
		memcpy(copy, b, n);
		copy[0] = 0xff;
		CHECK(dssh_sshkey_from_blob(copy, n, &k) < 0);
		memcpy(copy, b, n);
		copy[4 + strlen(dssh_sshkey_type_name(keys[i]))] = 0x7f;
		CHECK(dssh_sshkey_from_blob(copy, n, &k) < 0);
		/* A byte of the key material changed (the last byte: Y, n, or Ed25519 A). */
		if (all_types[i] != DSSH_SSHKEY_ED25519 && all_types[i] != DSSH_SSHKEY_RSA) {
			memcpy(copy, b, n);
			copy[n - 1] ^= 1;
			CHECK_EQ_INT(dssh_sshkey_from_blob(copy, n, &k), DSSH_ERR_INVALID_FORMAT);
		}
		if (all_types[i] == DSSH_SSHKEY_RSA) {
			memcpy(copy, b, n);
			copy[n - 1] ^= 1;   /* even modulus */
			CHECK_EQ_INT(dssh_sshkey_from_blob(copy, n, &k), DSSH_ERR_INVALID_FORMAT);
		}
		CHECK(k == NULL);
		free(copy);
	}
	/* Hand-made bad blobs. */
	{
		struct dssh_buf b;
		uint8_t pt[1 + 2 * 66], big[128];
		const uint8_t *q;
		size_t ql;
		struct dssh_buf v;

		/* ECDSA: the curve name does not match the key type. */
		dssh_buf_from(&v, dssh_buf_ptr(&blobs[1]), dssh_buf_len(&blobs[1]));
		dssh_buf_skip_string(&v);
		dssh_buf_skip_string(&v);
		CHECK_EQ_INT(dssh_buf_get_string_direct(&v, &q, &ql), 0);
		CHECK_EQ_INT(ql, 65);
		memcpy(pt, q, ql);
		dssh_buf_init(&b, 0);
		dssh_buf_put_cstring(&b, "ecdsa-sha2-nistp256");
		dssh_buf_put_cstring(&b, "nistp384");
		dssh_buf_put_string(&b, pt, 65);
		CHECK_EQ_INT(dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k),
		    DSSH_ERR_INVALID_FORMAT);
		dssh_buf_reset(&b);
		dssh_buf_put_cstring(&b, "ecdsa-sha2-nistp256");
		dssh_buf_put_cstring(&b, "secp256r1");
		dssh_buf_put_string(&b, pt, 65);
		CHECK_EQ_INT(dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k),
		    DSSH_ERR_INVALID_FORMAT);
		/* Compressed point (0x02/0x03 + X), hybrid prefix, infinity. */
		dssh_buf_reset(&b);
		pt[0] = 0x02 | (pt[64] & 1);
		dssh_buf_put_cstring(&b, "ecdsa-sha2-nistp256");
		dssh_buf_put_cstring(&b, "nistp256");
		dssh_buf_put_string(&b, pt, 33);
		CHECK_EQ_INT(dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k),
		    DSSH_ERR_INVALID_FORMAT);
		dssh_buf_reset(&b);
		pt[0] = 0x06 | (pt[64] & 1);
		dssh_buf_put_cstring(&b, "ecdsa-sha2-nistp256");
		dssh_buf_put_cstring(&b, "nistp256");
		dssh_buf_put_string(&b, pt, 65);
		CHECK_EQ_INT(dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k),
		    DSSH_ERR_INVALID_FORMAT);
		dssh_buf_reset(&b);
		dssh_buf_put_cstring(&b, "ecdsa-sha2-nistp256");
		dssh_buf_put_cstring(&b, "nistp256");
		dssh_buf_put_string(&b, "\0", 1);
		CHECK_EQ_INT(dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k),
		    DSSH_ERR_INVALID_FORMAT);
		/* All-zero point with the right length. */
		dssh_buf_reset(&b);
		memset(pt + 1, 0, 64);
		pt[0] = 4;
		dssh_buf_put_cstring(&b, "ecdsa-sha2-nistp256");
		dssh_buf_put_cstring(&b, "nistp256");
		dssh_buf_put_string(&b, pt, 65);
		CHECK_EQ_INT(dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k),
		    DSSH_ERR_INVALID_FORMAT);
		/* Ed25519 key of 31 and 33 bytes. */
		dssh_buf_reset(&b);
		dssh_buf_put_cstring(&b, "ssh-ed25519");
		dssh_buf_put_string(&b, pt, 31);
		CHECK_EQ_INT(dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k),
		    DSSH_ERR_INVALID_FORMAT);
		dssh_buf_reset(&b);
		dssh_buf_put_cstring(&b, "ssh-ed25519");
		dssh_buf_put_string(&b, pt, 33);
		CHECK_EQ_INT(dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k),
		    DSSH_ERR_INVALID_FORMAT);
		/* RSA with a 1016-bit and a 512-bit modulus; 1024 bits is accepted. */
		static const int rsa_bits[] = { 512, 1016, 1024 };

		for (size_t bi = 0; bi < DSSH_ARRAY_SIZE(rsa_bits); bi++) {
			int bits = rsa_bits[bi];
			size_t nb = (size_t)bits / 8;

			memset(big, 0xc5, sizeof(big));
			big[nb - 1] |= 1;
			dssh_buf_reset(&b);
			dssh_buf_put_cstring(&b, "ssh-rsa");
			dssh_buf_put_mpint_bytes(&b, (const uint8_t *)"\x01\x00\x01", 3);
			dssh_buf_put_mpint_bytes(&b, big, nb);
			CHECK_EQ_INT(dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k),
			    bits < 1024 ? DSSH_ERR_KEY_TYPE : 0);
			if (bits == 1024)
				CHECK_EQ_INT(dssh_sshkey_bits(k), 1024);
			dssh_sshkey_free(k);
			k = NULL;
		}
		memset(big, 0x7f, sizeof(big));   /* 1023 bits */
		dssh_buf_reset(&b);
		dssh_buf_put_cstring(&b, "ssh-rsa");
		dssh_buf_put_mpint_bytes(&b, (const uint8_t *)"\x01\x00\x01", 3);
		dssh_buf_put_mpint_bytes(&b, big, 128);
		CHECK_EQ_INT(dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k),
		    DSSH_ERR_KEY_TYPE);
		/* RSA: even exponent, e = 1, negative mpint. */
		memset(big, 0xc5, sizeof(big));
		dssh_buf_reset(&b);
		dssh_buf_put_cstring(&b, "ssh-rsa");
		dssh_buf_put_mpint_bytes(&b, (const uint8_t *)"\x01\x00\x00", 3);
		dssh_buf_put_mpint_bytes(&b, big, 128);
		CHECK_EQ_INT(dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k),
		    DSSH_ERR_INVALID_FORMAT);
		dssh_buf_reset(&b);
		dssh_buf_put_cstring(&b, "ssh-rsa");
		dssh_buf_put_mpint_bytes(&b, (const uint8_t *)"\x01", 1);
		dssh_buf_put_mpint_bytes(&b, big, 128);
		CHECK_EQ_INT(dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k),
		    DSSH_ERR_INVALID_FORMAT);
		dssh_buf_reset(&b);
		dssh_buf_put_cstring(&b, "ssh-rsa");
		dssh_buf_put_mpint_bytes(&b, (const uint8_t *)"\x01\x00\x01", 3);
		dssh_buf_put_string(&b, big, 128);  /* top bit set, no 0x00: negative */
		CHECK(dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k) < 0);
		/* Unknown and empty type names. */
		dssh_buf_reset(&b);
		dssh_buf_put_cstring(&b, "ssh-dss");
		dssh_buf_put_mpint_bytes(&b, big, 128);
		CHECK_EQ_INT(dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k),
		    DSSH_ERR_KEY_TYPE);
		dssh_buf_reset(&b);
		dssh_buf_put_cstring(&b, "");
		CHECK_EQ_INT(dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k),
		    DSSH_ERR_KEY_TYPE);
		CHECK(dssh_sshkey_from_blob(NULL, 0, &k) < 0);
		CHECK(k == NULL);
		dssh_buf_free(&b);
	}
	/* Random garbage, and garbage after a valid type name. */
	for (int it = 0; it < 3000; it++) {
		uint8_t g[300];
		size_t n = dssh_test_rand(&rng) % sizeof(g);
		const char *tn = dssh_sshkey_type_to_name(all_types[it % 5]);

		for (size_t j = 0; j < n; j++)
			g[j] = (uint8_t)dssh_test_rand(&rng);
		if (it % 2 == 0 && n > 4 + strlen(tn)) {
			dssh_put_u32be(g, (uint32_t)strlen(tn));
			memcpy(g + 4, tn, strlen(tn));
		}
		CHECK(dssh_sshkey_from_blob(g, n, &k) < 0 || it % 2 == 0);
		dssh_sshkey_free(k);
		k = NULL;
	}
	for (size_t i = 0; i < 5; i++) {
		dssh_buf_free(&blobs[i]);
		dssh_sshkey_free(keys[i]);
	}
}

static void
test_pubkey_text(void)
{
	struct dssh_sshkey *key = NULL, *k = NULL;
	struct dssh_buf text;
	const char *rest = NULL;
	char line[2048], *b64, *sp;

	CHECK_EQ_INT(dssh_sshkey_generate(DSSH_SSHKEY_ECDSA_P256, 0, &key), 0);
	dssh_buf_init(&text, 0);
	CHECK_EQ_INT(dssh_sshkey_public_to_text(key, "user@host and more", &text), 0);
	dssh_buf_put_u8(&text, 0);
	snprintf(line, sizeof(line), "%s", (const char *)dssh_buf_ptr(&text));
	CHECK_EQ_INT(dssh_sshkey_parse_pubkey_text(line, &k, &rest), 0);
	CHECK_STR(rest, "user@host and more\n");
	CHECK_EQ_INT(dssh_sshkey_equal_public(k, key), 1);
	dssh_sshkey_free(k);
	k = NULL;
	/* Leading blanks, tabs, no comment, no newline. */
	sp = strchr(line, ' ');
	*sp = '\0';
	b64 = sp + 1;
	*strchr(b64, ' ') = '\0';
	{
		char l2[4200];

		snprintf(l2, sizeof(l2), " \t%s\t  %s", line, b64);
		CHECK_EQ_INT(dssh_sshkey_parse_pubkey_text(l2, &k, &rest), 0);
		CHECK(rest != NULL && *rest == '\0');
		dssh_sshkey_free(k);
		k = NULL;
		snprintf(l2, sizeof(l2), "%s %s\r\n", line, b64);
		CHECK_EQ_INT(dssh_sshkey_parse_pubkey_text(l2, &k, &rest), 0);
		CHECK_STR(rest, "\r\n");
		dssh_sshkey_free(k);
		k = NULL;
		/* The type word disagrees with the blob. */
		snprintf(l2, sizeof(l2), "ecdsa-sha2-nistp384 %s", b64);
		CHECK_EQ_INT(dssh_sshkey_parse_pubkey_text(l2, &k, &rest), DSSH_ERR_INVALID_FORMAT);
		snprintf(l2, sizeof(l2), "ssh-dss %s", b64);
		CHECK_EQ_INT(dssh_sshkey_parse_pubkey_text(l2, &k, &rest), DSSH_ERR_KEY_TYPE);
		/* Options before the key are not this parser's job. */
		snprintf(l2, sizeof(l2), "no-pty %s %s", line, b64);
		CHECK(dssh_sshkey_parse_pubkey_text(l2, &k, &rest) < 0);
		/* Damaged base64. */
		snprintf(l2, sizeof(l2), "%s %s", line, b64);
		l2[strlen(line) + 10] = '*';
		CHECK(dssh_sshkey_parse_pubkey_text(l2, &k, &rest) < 0);
		snprintf(l2, sizeof(l2), "%s %.*s", line, (int)strlen(b64) - 4, b64);
		CHECK(dssh_sshkey_parse_pubkey_text(l2, &k, &rest) < 0);
		snprintf(l2, sizeof(l2), "%s %.*s", line, (int)strlen(b64) - 1, b64);
		CHECK(dssh_sshkey_parse_pubkey_text(l2, &k, &rest) < 0);
		snprintf(l2, sizeof(l2), "%s %sAAAA", line, b64);
		CHECK(dssh_sshkey_parse_pubkey_text(l2, &k, &rest) < 0);
		snprintf(l2, sizeof(l2), "%s", line);
		CHECK(dssh_sshkey_parse_pubkey_text(l2, &k, &rest) < 0);
		snprintf(l2, sizeof(l2), "%s ", line);
		CHECK(dssh_sshkey_parse_pubkey_text(l2, &k, &rest) < 0);
		CHECK(dssh_sshkey_parse_pubkey_text("", &k, &rest) < 0);
		CHECK(dssh_sshkey_parse_pubkey_text("# comment line", &k, &rest) < 0);
		CHECK(k == NULL);
	}
	dssh_buf_free(&text);
	dssh_sshkey_free(key);
}

static void
test_fingerprint(void)
{
	struct dssh_sshkey *key = NULL;
	char fp[DSSH_SSHKEY_FP_LEN], small[10];
	const char *line = "ssh-ed25519 "
	    "AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea rfc8032";

	/* The RFC 8032 test key 1 public key; fingerprint from ssh-keygen -l. */
	CHECK_EQ_INT(dssh_sshkey_parse_pubkey_text(line, &key, NULL), 0);
	CHECK_EQ_INT(dssh_sshkey_fingerprint(key, fp, sizeof(fp)), 0);
	CHECK_EQ_INT(strlen(fp), 7 + 43);
	CHECK(strncmp(fp, "SHA256:", 7) == 0);
	{
		char path[256], *out;

		snprintf(path, sizeof(path), "%s/rfc.pub", tmpdir);
		FILE *f = fopen(path, "w");

		fprintf(f, "%s\n", line);
		fclose(f);
		CHECK_EQ_INT(dssh_test_sh("ssh-keygen -l -f %s | cut -d' ' -f2 > %s.fp", path, path), 0);
		snprintf(path, sizeof(path), "%s/rfc.pub.fp", tmpdir);
		out = dssh_test_slurp(path);
		CHECK(out != NULL);
		if (out != NULL) {
			out[strcspn(out, "\n")] = '\0';
			CHECK_STR(fp, out);
		}
		free(out);
	}
	CHECK_EQ_INT(dssh_sshkey_fingerprint(key, small, sizeof(small)), DSSH_ERR_INVALID_ARGUMENT);
	dssh_sshkey_free(key);
}

int
main(void)
{
	int rc;

	if ((rc = dssh_test_keygen_dir(tmpdir)) != 0)
		return rc;
	DSSH_RUN(test_names);
	DSSH_RUN(test_load_ssh_keygen);
	DSSH_RUN(test_perms);
	DSSH_RUN(test_save_interop);
	DSSH_RUN(test_host_keys);
	DSSH_RUN(test_sign_verify);
	DSSH_RUN(test_ecdsa_sig_encoding);
	DSSH_RUN(test_openssh_v1_parse);
	DSSH_RUN(test_from_blob);
	DSSH_RUN(test_pubkey_text);
	DSSH_RUN(test_fingerprint);
	dssh_test_dir_done(tmpdir);
	DSSH_TEST_END();
}
