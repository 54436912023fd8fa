/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Certificate parsing against certificates made by the real `ssh-keygen -s`
 * at test time, plus truncated, padded, bit-flipped and re-signed blobs.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_sshkey.h"
#include "dssh_test.h"
#include "dssh_test_dir.h"
#include "dssh_util.h"

static char tmpdir[] = "/tmp/dssh-cert-XXXXXX";

/* "type base64 comment" in path -> decoded blob. */
static int
load_blob(const char *path, uint8_t **blob, size_t *len)
{
	char line[16384], *sp, *end;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	if ((sp = strchr(line, ' ')) == NULL)
		return -1;
	sp++;
	end = sp + strcspn(sp, " \n");
	return dssh_sshkey_b64_decode(sp, (size_t)(end - sp), blob, len);
}

static void
keygen(const char *name, const char *type)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	if (access(p, F_OK) == 0)
		return;
	CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -N '' -t %s -f %s", type, p), 0);
}

static const char *key_types[][2] = {
	{ "ed25519", "ed25519" }, { "p256", "ecdsa -b 256" }, { "p384", "ecdsa -b 384" },
	{ "p521", "ecdsa -b 521" }, { "rsa", "rsa -b 2048" },
};

static void
check_cert(const char *user, const char *ca, const char *extra, uint32_t want_type)
{
	char path[256];
	uint8_t *blob = NULL, *kb = NULL, *cab = NULL;
	size_t len = 0, klen = 0, calen = 0;
	struct dssh_sshkey_cert *c = NULL;
	struct dssh_sshkey *k = NULL, *cak = NULL;

	CHECK_EQ_INT(dssh_test_sh("cd %s && rm -f %s-cert.pub && ssh-keygen -q -s %s -I id-%s "
	    "-n alice,bob -z 42 -V 20200101:20991231 %s %s.pub", tmpdir, user, ca, user,
	    extra, user), 0);
	snprintf(path, sizeof(path), "%s/%s-cert.pub", tmpdir, user);
	CHECK_EQ_INT(load_blob(path, &blob, &len), 0);
	snprintf(path, sizeof(path), "%s/%s.pub", tmpdir, user);
	CHECK_EQ_INT(load_blob(path, &kb, &klen), 0);
	snprintf(path, sizeof(path), "%s/%s.pub", tmpdir, ca);
	CHECK_EQ_INT(load_blob(path, &cab, &calen), 0);
	CHECK_EQ_INT(dssh_sshkey_cert_parse(blob, len, &c), 0);
	if (c != NULL) {
		CHECK_EQ_INT(c->cert_type, want_type);
		CHECK_EQ_INT(c->serial, 42);
		CHECK(strncmp(c->key_id, "id-", 3) == 0);
		CHECK_EQ_INT(c->nprincipals, 2);
		if (c->nprincipals == 2) {
			CHECK_STR(c->principals[0], "alice");
			CHECK_STR(c->principals[1], "bob");
		}
		CHECK(c->valid_after > 1577000000 && c->valid_before > 4000000000ULL);
		CHECK(dssh_sshkey_cert_valid_at(c, 1700000000));
		CHECK(!dssh_sshkey_cert_valid_at(c, 1500000000));
		CHECK(!dssh_sshkey_cert_valid_at(c, c->valid_before));
		CHECK(dssh_sshkey_from_blob(kb, klen, &k) == 0 &&
		    dssh_sshkey_equal_public(k, c->key));
		CHECK(dssh_sshkey_from_blob(cab, calen, &cak) == 0 &&
		    dssh_sshkey_equal_public(cak, c->ca));
		CHECK(c->ca_bloblen == calen && memcmp(c->ca_blob, cab, calen) == 0);
		CHECK(dssh_sshkey_is_cert_name(c->type_name));
	}
	/* Every strict prefix and any trailing byte are refused. */
	for (size_t n = 0; n < len; n++) {
		struct dssh_sshkey_cert *t = NULL;

		CHECK(dssh_sshkey_cert_parse(blob, n, &t) != 0 && t == NULL);
	}
	{
		uint8_t *big = malloc(len + 1);
		struct dssh_sshkey_cert *t = NULL;

		memcpy(big, blob, len);
		big[len] = 0;
		CHECK(dssh_sshkey_cert_parse(big, len + 1, &t) != 0 && t == NULL);
		/* One flipped bit anywhere: refused (format or signature). */
		for (size_t i = 0; i < len; i += 7) {
			memcpy(big, blob, len);
			big[i] ^= 0x10;
			CHECK(dssh_sshkey_cert_parse(big, len, &t) != 0 && t == NULL);
		}
		free(big);
	}
	dssh_sshkey_cert_free(c);
	dssh_sshkey_free(k);
	dssh_sshkey_free(cak);
	free(blob);
	free(kb);
	free(cab);
}

static void
test_ssh_keygen_certs(void)
{
	keygen("ca_ed25519", "ed25519");
	keygen("ca_rsa", "rsa -b 2048");
	keygen("ca_p384", "ecdsa -b 384");
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(key_types); i++)
		keygen(key_types[i][0], key_types[i][1]);
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(key_types); i++) {
		check_cert(key_types[i][0], "ca_ed25519", "", DSSH_SSHKEY_CERT_USER);
		check_cert(key_types[i][0], "ca_rsa", "", DSSH_SSHKEY_CERT_USER);
		check_cert(key_types[i][0], "ca_p384", "-h", DSSH_SSHKEY_CERT_HOST);
	}
	check_cert("ed25519", "ca_rsa", "-t rsa-sha2-256", DSSH_SSHKEY_CERT_USER);
}

static void
test_options(void)
{
	char path[256];
	uint8_t *blob = NULL;
	size_t len = 0;
	struct dssh_sshkey_cert *c = NULL;
	const struct dssh_sshkey_cert_opt *o;

	keygen("ca_ed25519", "ed25519");
	keygen("ed25519", "ed25519");
	CHECK_EQ_INT(dssh_test_sh("cd %s && rm -f ed25519-cert.pub && ssh-keygen -q -s ca_ed25519 -I o "
	    "-n alice -O clear -O permit-pty -O force-command='echo hi' "
	    "-O source-address=10.0.0.0/8,127.0.0.1 ed25519.pub", tmpdir), 0);
	snprintf(path, sizeof(path), "%s/ed25519-cert.pub", tmpdir);
	CHECK_EQ_INT(load_blob(path, &blob, &len), 0);
	CHECK_EQ_INT(dssh_sshkey_cert_parse(blob, len, &c), 0);
	if (c != NULL) {
		CHECK_EQ_INT(c->ncritical, 2);
		CHECK_EQ_INT(c->nextensions, 1);
		CHECK(dssh_sshkey_cert_find(c->extensions, c->nextensions, "permit-pty") != NULL);
		CHECK(dssh_sshkey_cert_find(c->extensions, c->nextensions,
		    "permit-port-forwarding") == NULL);
		o = dssh_sshkey_cert_find(c->critical, c->ncritical, "force-command");
		CHECK(o != NULL && o->len == 4 + 7 && memcmp(o->data + 4, "echo hi", 7) == 0);
		o = dssh_sshkey_cert_find(c->critical, c->ncritical, "source-address");
		CHECK(o != NULL && o->len > 4 &&
		    memcmp(o->data + 4, "10.0.0.0/8,127.0.0.1", 20) == 0);
		CHECK_EQ_INT(c->valid_after, 0);
		CHECK(c->valid_before == UINT64_MAX);
	}
	dssh_sshkey_cert_free(c);
	free(blob);
}

/*
 * Re-sign the body of a real certificate with our own CA key: lets the test
 * reach checks behind the signature (SHA-1 CA signatures, unsorted options).
 */
static int
resign(const uint8_t *body, size_t bodylen, const char *ca_path, const char *alg,
    struct dssh_sshkey_cert **cp)
{
	struct dssh_sshkey *ca = NULL;
	struct dssh_buf b, sig;
	int r;

	dssh_buf_init(&b, 0);
	dssh_buf_init(&sig, 0);
	if ((r = dssh_sshkey_load_private(ca_path, &ca)) == 0 &&
	    (r = dssh_buf_put(&b, body, bodylen)) == 0 &&
	    (r = dssh_sshkey_sign(ca, alg, body, bodylen, &sig)) == 0 &&
	    (r = dssh_buf_put_stringb(&b, &sig)) == 0)
		r = dssh_sshkey_cert_parse(dssh_buf_ptr(&b), dssh_buf_len(&b), cp);
	dssh_sshkey_free(ca);
	dssh_buf_free(&b);
	dssh_buf_free(&sig);
	return r;
}

static void
test_ca_sig_algs(void)
{
	char path[256], ca[256];
	uint8_t *blob = NULL;
	size_t len = 0;
	struct dssh_sshkey_cert *c = NULL;

	keygen("ca_rsa", "rsa -b 2048");
	keygen("ed25519", "ed25519");
	/* ssh-keygen itself signing with SHA-1: refused. */
	CHECK_EQ_INT(dssh_test_sh("cd %s && rm -f ed25519-cert.pub && ssh-keygen -q -s ca_rsa -t ssh-rsa "
	    "-I sha1 -n alice ed25519.pub", tmpdir), 0);
	snprintf(path, sizeof(path), "%s/ed25519-cert.pub", tmpdir);
	CHECK_EQ_INT(load_blob(path, &blob, &len), 0);
	CHECK_EQ_INT(dssh_sshkey_cert_parse(blob, len, &c), DSSH_ERR_SIGNATURE_INVALID);
	CHECK(c == NULL);
	/* The same body re-signed: sha2 passes, sha1 does not. */
	dssh_sshkey_cert_free(c);
	c = NULL;
	snprintf(ca, sizeof(ca), "%s/ca_rsa", tmpdir);
	{
		/* body = blob minus its final string (the signature) */
		size_t n = len, body;
		uint32_t sl;

		/* The signature is the blob's last string: the first offset
		 * whose u32 spans exactly to the end (RSA sigs are > 100). */
		for (body = 0; body + 4 <= n; body++) {
			sl = dssh_get_u32be(blob + body);
			if ((size_t)sl + 4 + body == n && sl > 100)
				break;
		}
		CHECK(body + 4 <= n);
		CHECK_EQ_INT(resign(blob, body, ca, "rsa-sha2-512", &c), 0);
		dssh_sshkey_cert_free(c);
		c = NULL;
		CHECK_EQ_INT(resign(blob, body, ca, "rsa-sha2-256", &c), 0);
		dssh_sshkey_cert_free(c);
		c = NULL;
		CHECK_EQ_INT(resign(blob, body, ca, "ssh-rsa", &c), DSSH_ERR_SIGNATURE_INVALID);
		CHECK(c == NULL);
	}
	free(blob);
}

static void
test_garbage(void)
{
	uint64_t s = 0x1234567;
	uint8_t buf[512];
	struct dssh_buf b;
	struct dssh_sshkey_cert *c = NULL;

	CHECK(dssh_sshkey_cert_parse(NULL, 0, &c) != 0 && c == NULL);
	for (int i = 0; i < 2000; i++) {
		size_t n = dssh_test_rand(&s) % sizeof(buf);

		for (size_t k = 0; k < n; k++)
			buf[k] = (uint8_t)dssh_test_rand(&s);
		CHECK(dssh_sshkey_cert_parse(buf, n, &c) != 0 && c == NULL);
	}
	/* A right name followed by huge lengths. */
	dssh_buf_init(&b, 0);
	dssh_buf_put_cstring(&b, "ssh-ed25519-cert-v01@openssh.com");
	dssh_buf_put_u32(&b, 0xffffffffu);
	CHECK(dssh_sshkey_cert_parse(dssh_buf_ptr(&b), dssh_buf_len(&b), &c) != 0);
	dssh_buf_free(&b);
	CHECK(dssh_sshkey_is_cert_name("rsa-sha2-256-cert-v01@openssh.com"));
	CHECK(!dssh_sshkey_is_cert_name("ssh-ed25519"));
	CHECK_STR(dssh_sshkey_cert_sig_alg("rsa-sha2-512-cert-v01@openssh.com"), "rsa-sha2-512");
	CHECK_STR(dssh_sshkey_cert_blob_type("rsa-sha2-512-cert-v01@openssh.com"),
	    "ssh-rsa-cert-v01@openssh.com");
	CHECK(dssh_sshkey_cert_sig_alg("ssh-ed25519") == NULL);
}

/* Our KRL answer for tmpdir/user-cert.pub (and its key) against ssh-keygen -Q. */
static void
krl_case(const char *krl, uint8_t *kdata, size_t klen, const char *signopts)
{
	char path[256];
	uint8_t *blob = NULL;
	size_t len = 0;
	struct dssh_sshkey_cert *c = NULL;
	struct dssh_buf kb;
	const uint8_t *blobs[2];
	size_t lens[2];
	int want, got;

	CHECK_EQ_INT(dssh_test_sh("cd %s && rm -f ed25519-cert.pub && ssh-keygen -q -s ca_ed25519 "
	    "-n alice %s ed25519.pub", tmpdir, signopts), 0);
	want = dssh_test_sh("cd %s && ssh-keygen -Q -f %s ed25519-cert.pub >/dev/null 2>&1", tmpdir,
	    krl) != 0;
	snprintf(path, sizeof(path), "%s/ed25519-cert.pub", tmpdir);
	CHECK_EQ_INT(load_blob(path, &blob, &len), 0);
	CHECK_EQ_INT(dssh_sshkey_cert_parse(blob, len, &c), 0);
	if (c == NULL) {
		free(blob);
		return;
	}
	dssh_buf_init(&kb, 0);
	CHECK_EQ_INT(dssh_sshkey_public_blob(c->key, &kb), 0);
	blobs[0] = dssh_buf_ptr(&kb);
	lens[0] = dssh_buf_len(&kb);
	blobs[1] = c->ca_blob;
	lens[1] = c->ca_bloblen;
	got = dssh_sshkey_krl_check(kdata, klen, blobs, lens, 2, c);
	if (got != want)
		fprintf(stderr, "  KRL %s, cert %s: got %d, ssh-keygen says %d\n", krl,
		    signopts, got, want);
	CHECK_EQ_INT(got, want);
	dssh_buf_free(&kb);
	dssh_sshkey_cert_free(c);
	free(blob);
}

static uint8_t *
slurp_bin(const char *name, size_t *lenp)
{
	char path[256];
	uint8_t *d = malloc(1 << 20);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	*lenp = 0;
	if ((f = fopen(path, "rb")) != NULL) {
		*lenp = fread(d, 1, 1 << 20, f);
		fclose(f);
	}
	return d;
}

static void
test_krl(void)
{
	static const char *const certs[] = {
		"-I a -z 0", "-I a -z 5", "-I a -z 6", "-I a -z 10", "-I a -z 15", "-I a -z 20",
		"-I a -z 21", "-I a -z 99", "-I a -z 100", "-I a -z 101", "-I a -z 104",
		"-I a -z 140", "-I a -z 141", "-I bad-id -z 1", "-I bad-id2 -z 1",
	};
	uint8_t *krl, *kb = NULL, *pb = NULL;
	size_t klen, kblen = 0, pblen = 0;
	char path[256];
	FILE *f;

	keygen("ca_ed25519", "ed25519");
	keygen("ca_p384", "ecdsa -b 384");
	keygen("ed25519", "ed25519");
	keygen("rsa", "rsa -b 2048");
	keygen("p256", "ecdsa -b 256");
	snprintf(path, sizeof(path), "%s/spec", tmpdir);
	f = fopen(path, "w");
	fprintf(f, "serial: 5\nserial: 10-20\nid: bad-id\n");
	for (int i = 100; i <= 140; i += 2)
		fprintf(f, "serial: %d\n", i);
	fclose(f);
	/* certificate sections for ca_ed25519, plain keys explicit and by hash */
	CHECK_EQ_INT(dssh_test_sh("cd %s && rm -f krl && ssh-keygen -q -k -f krl -s ca_ed25519.pub spec && "
	    "(echo \"sha256: $(cat p256.pub)\") > spec2 && "
	    "ssh-keygen -q -k -u -f krl rsa.pub spec2", tmpdir), 0);
	krl = slurp_bin("krl", &klen);
	CHECK(dssh_sshkey_is_krl(krl, klen));
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(certs); i++)
		krl_case("krl", krl, klen, certs[i]);
	snprintf(path, sizeof(path), "%s/rsa.pub", tmpdir);
	CHECK_EQ_INT(load_blob(path, &kb, &kblen), 0);
	snprintf(path, sizeof(path), "%s/p256.pub", tmpdir);
	CHECK_EQ_INT(load_blob(path, &pb, &pblen), 0);
	{
		const uint8_t *b1[1] = { kb }, *b2[1] = { pb }, *b3[1] = { krl + 100 };
		size_t l1[1] = { kblen }, l2[1] = { pblen }, l3[1] = { 40 };

		CHECK_EQ_INT(dssh_sshkey_krl_check(krl, klen, b1, l1, 1, NULL), 1);
		CHECK_EQ_INT(dssh_sshkey_krl_check(krl, klen, b2, l2, 1, NULL), 1);
		CHECK_EQ_INT(dssh_sshkey_krl_check(krl, klen, b3, l3, 1, NULL), 0);
		/* Prefixes: never a crash; shorter than the header: malformed. */
		for (size_t n = 0; n < klen; n++) {
			int r = dssh_sshkey_krl_check(krl, n, b1, l1, 1, NULL);

			CHECK(r == 0 || r == 1 || r == DSSH_ERR_INVALID_FORMAT);
			if (n < 8 + 4 + 24 + 8)
				CHECK_EQ_INT(r, DSSH_ERR_INVALID_FORMAT);
		}
		/* An appended signature section or critical extension: refused. */
		memcpy(krl + klen, "\x04\0\0\0\0", 5);
		CHECK_EQ_INT(dssh_sshkey_krl_check(krl, klen + 5, b3, l3, 1, NULL),
		    DSSH_ERR_INVALID_FORMAT);
		memcpy(krl + klen, "\xff\0\0\0\x0a\0\0\0\x01x\x01\0\0\0\0", 15);
		CHECK_EQ_INT(dssh_sshkey_krl_check(krl, klen + 15, b3, l3, 1, NULL),
		    DSSH_ERR_INVALID_FORMAT);
		krl[klen + 10] = 0;     /* the same extension, not critical */
		CHECK_EQ_INT(dssh_sshkey_krl_check(krl, klen + 15, b3, l3, 1, NULL), 0);
	}
	free(krl);
	/* A KRL for another CA revokes nothing of ca_ed25519's. */
	CHECK_EQ_INT(dssh_test_sh("cd %s && rm -f krl2 && ssh-keygen -q -k -f krl2 -s ca_p384.pub spec",
	    tmpdir), 0);
	krl = slurp_bin("krl2", &klen);
	krl_case("krl2", krl, klen, "-I bad-id -z 5");
	free(krl);
	/* A dense serial set: ssh-keygen writes a bitmap. */
	snprintf(path, sizeof(path), "%s/spec3", tmpdir);
	f = fopen(path, "w");
	for (int i = 1000; i < 1300; i++)
		if (i % 3 != 0)
			fprintf(f, "serial: %d\n", i);
	fclose(f);
	CHECK_EQ_INT(dssh_test_sh("cd %s && rm -f krl3 && ssh-keygen -q -k -f krl3 -s ca_ed25519.pub spec3",
	    tmpdir), 0);
	krl = slurp_bin("krl3", &klen);
	krl_case("krl3", krl, klen, "-I a -z 1000");
	krl_case("krl3", krl, klen, "-I a -z 1001");
	krl_case("krl3", krl, klen, "-I a -z 1002");
	krl_case("krl3", krl, klen, "-I a -z 1003");
	krl_case("krl3", krl, klen, "-I a -z 1298");
	krl_case("krl3", krl, klen, "-I a -z 1299");
	krl_case("krl3", krl, klen, "-I a -z 1301");
	krl_case("krl3", krl, klen, "-I a -z 999");
	free(krl);
	free(kb);
	free(pb);
}

int
main(void)
{
	int rc;

	if ((rc = dssh_test_keygen_dir(tmpdir)) != 0)
		return rc;
	DSSH_RUN(test_ssh_keygen_certs);
	DSSH_RUN(test_options);
	DSSH_RUN(test_ca_sig_algs);
	DSSH_RUN(test_garbage);
	DSSH_RUN(test_krl);
	dssh_test_dir_done(tmpdir);
	DSSH_TEST_END();
}
