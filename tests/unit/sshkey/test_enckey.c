/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Passphrase-protected openssh-key-v1 keys: bcrypt_pbkdf against an
 * independent implementation (python3-bcrypt's bcrypt.kdf, run at test
 * time), Blowfish's pi-derived tables against published words, and keys
 * written by the real `ssh-keygen -N ... -Z cipher` decrypted here; and
 * encrypted PEM / PKCS#8 keys from `ssh-keygen -m PEM|PKCS8 -N` and openssl(1).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_sshkey.h"
#include "dssh_test.h"
#include "dssh_test_dir.h"
#include "dssh_util.h"
#include "sshkey_int.h"

#define PY "/usr/bin/python3"   /* Debian's, where python3-bcrypt is */

static char tmpdir[] = "/tmp/dssh-enckey-XXXXXX";
static bool have_pybcrypt;

static void
test_pi_tables(void)
{
	const uint32_t *w;
	size_t n;

	CHECK_EQ_INT(dssh_bcrypt_pi_words(&w, &n), 0);
	CHECK_EQ_INT((int)n, 18 + 4 * 256);
	/* Published words of Blowfish's tables (pi's hexadecimal fraction). */
	CHECK(w[0] == 0x243F6A88);
	CHECK(w[1] == 0x85A308D3);
	CHECK(w[2] == 0x13198A2E);
	CHECK(w[17] == 0x8979FB1B);
	CHECK(w[18] == 0xD1310BA6);             /* S[0][0] */
	CHECK(w[18 + 255] == 0x6E85076A);       /* S[0][255] */
	CHECK(w[18 + 3 * 256 + 255] == 0x3AC372E6);     /* S[3][255] */
}

/* bcrypt.kdf(pw, salt, len, rounds) from python3-bcrypt, as hex. */
static bool
py_kdf(const char *pw_hex, const char *salt_hex, unsigned rounds, size_t len, uint8_t *out)
{
	char cmd[8192], line[4200];
	FILE *p;
	bool ok = false;

	snprintf(cmd, sizeof(cmd), PY " -W ignore -c 'import bcrypt,binascii; print(bcrypt.kdf("
	    "bytes.fromhex(\"%s\"), bytes.fromhex(\"%s\"), %zu, %u, True).hex())'",
	    pw_hex, salt_hex, len, rounds);
	if ((p = popen(cmd, "r")) == NULL)
		return false;
	if (fgets(line, sizeof(line), p) != NULL && strlen(line) >= 2 * len) {
		ok = true;
		for (size_t i = 0; i < len; i++) {
			unsigned v;

			if (sscanf(line + 2 * i, "%2x", &v) != 1)
				ok = false;
			out[i] = (uint8_t)v;
		}
	}
	pclose(p);
	return ok;
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

static void
test_kat(void)
{
	static const struct {
		const char *pw, *salt;
		unsigned rounds;
		size_t len;
	} kat[] = {
		{ "password", "salt", 4, 32 },
		{ "password", "salt", 4, 48 },          /* aes256-ctr key + IV */
		{ "a", "b", 1, 1 },
		{ "correct horse battery staple", "0123456789abcdef", 16, 64 },
		{ "p\xc3\xa4ssw\xc3\xb6rd", "\x01\x02\x03", 3, 33 },    /* odd: stride 2 */
		{ "x", "s", 2, 512 },                   /* python-bcrypt's largest */
		{ "", "salt", 2, 44 },                  /* aes256-gcm: key + 12-byte IV */
	};
	uint8_t mine[1024], theirs[1024];
	char pwh[512], salth[512];

	if (!have_pybcrypt) {
		fprintf(stderr, "  python3-bcrypt missing: known answers skipped\n");
		CHECK(getenv("DSSH_REQUIRE_PYBCRYPT") == NULL);
		return;
	}
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(kat); i++) {
		size_t pl = strlen(kat[i].pw), sl = strlen(kat[i].salt);

		hex((const uint8_t *)kat[i].pw, pl, pwh);
		hex((const uint8_t *)kat[i].salt, sl, salth);
		CHECK_EQ_INT(dssh_bcrypt_pbkdf(kat[i].pw, pl, (const uint8_t *)kat[i].salt, sl,
		    kat[i].rounds, mine, kat[i].len), 0);
		if (pl == 0) {
			/* python-bcrypt refuses an empty password: compare lengths only. */
			continue;
		}
		CHECK(py_kdf(pwh, salth, kat[i].rounds, kat[i].len, theirs));
		CHECK_MEM(mine, theirs, kat[i].len);
	}
	/* A random binary salt of OpenSSH's size. */
	{
		uint8_t salt[16];
		uint64_t s = 0x1234567890abcdefULL ^ (uint64_t)time(NULL);

		for (size_t i = 0; i < sizeof(salt); i++)
			salt[i] = (uint8_t)dssh_test_rand(&s);
		hex(salt, sizeof(salt), salth);
		hex((const uint8_t *)"hunter2", 7, pwh);
		CHECK_EQ_INT(dssh_bcrypt_pbkdf("hunter2", 7, salt, sizeof(salt), 5, mine, 80), 0);
		CHECK(py_kdf(pwh, salth, 5, 80, theirs));
		CHECK_MEM(mine, theirs, 80);
	}
}

static void
test_kdf_args(void)
{
	uint8_t k[1025], salt[DSSH_BCRYPT_MAX_SALT + 1] = { 0 };

	CHECK_EQ_INT(dssh_bcrypt_pbkdf("p", 1, salt, 16, 0, k, 32), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_bcrypt_pbkdf("p", 1, salt, 16, 1, k, 0), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_bcrypt_pbkdf("p", 1, salt, 16, 1, k, 1025), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_bcrypt_pbkdf("p", 1, salt, 0, 1, k, 32), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_bcrypt_pbkdf("p", 1, salt, sizeof(salt), 1, k, 32),
	    DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_bcrypt_pbkdf(NULL, 1, salt, 16, 1, k, 32), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_bcrypt_pbkdf("p", 1, NULL, 16, 1, k, 32), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_bcrypt_pbkdf("p", 1, salt, DSSH_BCRYPT_MAX_SALT, 1, k, 1024), 0);
}

/* The key ssh-keygen wrote at path.pub equals k's public half. */
static bool
same_as_pub(const char *path, const struct dssh_sshkey *k)
{
	char pp[512], *t;
	struct dssh_sshkey *pub = NULL;
	bool same;

	if (snprintf(pp, sizeof(pp), "%s.pub", path) >= (int)sizeof(pp) ||
	    (t = dssh_test_slurp(pp)) == NULL)
		return false;
	same = dssh_sshkey_parse_pubkey_text(t, &pub, NULL) == 0 &&
	    dssh_sshkey_equal_public(pub, k) == 1;
	dssh_sshkey_free(pub);
	free(t);
	return same;
}

static void
test_ssh_keygen_keys(void)
{
	static const char *const types[] = { "ed25519", "ecdsa -b 256", "ecdsa -b 521",
	    "rsa -b 2048" };
	static const char *const ciphers[] = { "aes256-ctr", "aes128-ctr", "aes192-ctr",
	    "aes256-cbc", "aes128-cbc", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com",
	    "chacha20-poly1305@openssh.com" };
	char path[256];

	for (size_t t = 0; t < DSSH_ARRAY_SIZE(types); t++)
		for (size_t c = 0; c < DSSH_ARRAY_SIZE(ciphers); c++) {
			struct dssh_sshkey *k = NULL;

			/* Every cipher with ed25519; the default one with the others. */
			if (t != 0 && c != 0 && c != 5 && c != 7)
				continue;
			snprintf(path, sizeof(path), "%s/k_%zu_%zu", tmpdir, t, c);
			CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -t %s -a 3 -Z %s -N 'sec ret' "
			    "-C test -f %s </dev/null", types[t], ciphers[c], path), 0);
			CHECK_EQ_INT(dssh_sshkey_load_private_pass(path, "sec ret", &k), 0);
			CHECK(k != NULL && dssh_sshkey_has_private(k));
			CHECK(k != NULL && same_as_pub(path, k));
			dssh_sshkey_free(k);
			k = NULL;
			CHECK_EQ_INT(dssh_sshkey_load_private_pass(path, "sec reT", &k),
			    DSSH_ERR_KEY_PASSPHRASE);
			CHECK(k == NULL);
			CHECK_EQ_INT(dssh_sshkey_load_private_pass(path, "", &k),
			    DSSH_ERR_KEY_PASSPHRASE);
			CHECK_EQ_INT(dssh_sshkey_load_private(path, &k), DSSH_ERR_KEY_ENCRYPTED);
			CHECK(k == NULL);
		}
	/* ssh-keygen's defaults (aes256-ctr, 16 rounds), and a signature with the key. */
	{
		struct dssh_sshkey *k = NULL;
		struct dssh_buf sig;

		dssh_buf_init(&sig, 0);
		snprintf(path, sizeof(path), "%s/k_default", tmpdir);
		CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -t ed25519 -N pw -f %s </dev/null", path), 0);
		CHECK_EQ_INT(dssh_sshkey_load_private_pass(path, "pw", &k), 0);
		CHECK(k != NULL && same_as_pub(path, k));
		if (k != NULL) {
			CHECK_EQ_INT(dssh_sshkey_sign(k, "ssh-ed25519", (const uint8_t *)"m", 1, &sig), 0);
			CHECK_EQ_INT(dssh_sshkey_verify(k, "ssh-ed25519", dssh_buf_ptr(&sig), dssh_buf_len(&sig),
			    (const uint8_t *)"m", 1), 0);
		}
		dssh_buf_free(&sig);
		dssh_sshkey_free(k);
	}
	/* A clear key still loads with a passphrase given (ssh does the same). */
	{
		struct dssh_sshkey *k = NULL;

		snprintf(path, sizeof(path), "%s/k_clear", tmpdir);
		CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -t ed25519 -N '' -f %s </dev/null", path), 0);
		CHECK_EQ_INT(dssh_sshkey_load_private_pass(path, "unused", &k), 0);
		dssh_sshkey_free(k);
	}
}

/* The decoded blob of an armoured key file. */
static uint8_t *
decode(const char *text, size_t *lenp)
{
	const char *b = strstr(text, "-----\n"), *e = strstr(text, "\n-----END");
	uint8_t *blob = NULL;
	char *clean;
	size_t n = 0;

	if (b == NULL || e == NULL)
		return NULL;
	b += 6;
	if ((clean = calloc(1, (size_t)(e - b) + 1)) == NULL)
		return NULL;
	for (const char *p = b; p < e; p++)
		if (*p != '\n')
			clean[n++] = *p;
	if (sshkey_b64_decode(clean, n, &blob, lenp) != 0)
		blob = NULL;
	free(clean);
	return blob;
}

static char *
encode(const uint8_t *blob, size_t len)
{
	struct dssh_buf b;
	char *s;

	dssh_buf_init(&b, 0);
	if (dssh_buf_put(&b, "-----BEGIN OPENSSH PRIVATE KEY-----\n", 36) != 0 ||
	    sshkey_b64_encode(&b, blob, len) != 0 ||
	    dssh_buf_put(&b, "\n-----END OPENSSH PRIVATE KEY-----\n", 35) != 0 ||
	    (s = calloc(1, dssh_buf_len(&b) + 1)) == NULL) {
		dssh_buf_free(&b);
		return NULL;
	}
	memcpy(s, dssh_buf_ptr(&b), dssh_buf_len(&b));
	dssh_buf_free(&b);
	return s;
}

/* Offset of the kdfoptions' rounds: magic, cipher, kdf, kdfopts(salt, rounds). */
static size_t
rounds_offset(const uint8_t *blob, size_t len)
{
	size_t off = 15;

	for (int i = 0; i < 2; i++)
		if (off + 4 <= len)
			off += 4 + dssh_get_u32be(blob + off);
	off += 4;                                       /* kdfoptions length */
	if (off + 4 <= len)
		off += 4 + dssh_get_u32be(blob + off);    /* salt */
	return off;
}

static int
parse_blob(const uint8_t *blob, size_t len, const char *pass, struct dssh_sshkey **k)
{
	char *t = encode(blob, len);
	int r;

	if (t == NULL)
		return DSSH_ERR_ALLOC;
	r = dssh_sshkey_parse_private_pass(t, strlen(t), pass, k);
	free(t);
	return r;
}

static void
test_hostile(void)
{
	char path[256], *t;
	uint8_t *blob;
	size_t len, ro;
	struct dssh_sshkey *k = NULL;
	struct timespec t0, t1;

	snprintf(path, sizeof(path), "%s/k_hostile", tmpdir);
	CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -t ed25519 -a 2 -Z aes256-gcm@openssh.com "
	    "-N pw -f %s </dev/null", path), 0);
	if ((t = dssh_test_slurp(path)) == NULL || (blob = decode(t, &len)) == NULL) {
		CHECK(false);
		free(t);
		return;
	}
	CHECK_EQ_INT(parse_blob(blob, len, "pw", &k), 0);
	dssh_sshkey_free(k);
	k = NULL;
	ro = rounds_offset(blob, len);
	CHECK(ro + 4 <= len && dssh_get_u32be(blob + ro) == 2);
	/* Absurd rounds are refused at once, not computed. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dssh_put_u32be(blob + ro, DSSH_SSHKEY_MAX_KDF_ROUNDS + 1);
	CHECK_EQ_INT(parse_blob(blob, len, "pw", &k), DSSH_ERR_INVALID_FORMAT);
	dssh_put_u32be(blob + ro, 0xffffffff);
	CHECK_EQ_INT(parse_blob(blob, len, "pw", &k), DSSH_ERR_INVALID_FORMAT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec < 2);
	dssh_put_u32be(blob + ro, 0);
	CHECK_EQ_INT(parse_blob(blob, len, "pw", &k), DSSH_ERR_INVALID_FORMAT);
	/* Other rounds: another key, so the tag fails: "wrong passphrase". */
	dssh_put_u32be(blob + ro, 3);
	CHECK_EQ_INT(parse_blob(blob, len, "pw", &k), DSSH_ERR_KEY_PASSPHRASE);
	dssh_put_u32be(blob + ro, 2);
	/* A flipped ciphertext or tag byte: the tag check fails. */
	blob[len - 1] ^= 1;
	CHECK_EQ_INT(parse_blob(blob, len, "pw", &k), DSSH_ERR_KEY_PASSPHRASE);
	blob[len - 1] ^= 1;
	blob[len - 20] ^= 1;
	CHECK_EQ_INT(parse_blob(blob, len, "pw", &k), DSSH_ERR_KEY_PASSPHRASE);
	blob[len - 20] ^= 1;
	/* Without the tag, with an extra byte, and every truncation. */
	CHECK_EQ_INT(parse_blob(blob, len - 16, "pw", &k), DSSH_ERR_INVALID_FORMAT);
	for (size_t cut = 0; cut < len; cut += 7)
		CHECK(parse_blob(blob, cut, "pw", &k) < 0);
	{
		uint8_t *big = calloc(1, len + 1);

		if (big != NULL) {
			memcpy(big, blob, len);
			CHECK_EQ_INT(parse_blob(big, len + 1, "pw", &k), DSSH_ERR_INVALID_FORMAT);
		}
		free(big);
	}
	/* Garbage in each byte of the header and kdf options: never a crash or a key. */
	for (size_t i = 15; i < ro + 8 && i < len; i++) {
		uint8_t save = blob[i];

		blob[i] ^= 0xa5;
		CHECK(parse_blob(blob, len, "pw", &k) < 0);
		CHECK(k == NULL);
		blob[i] = save;
	}
	CHECK(k == NULL);
	free(blob);
	free(t);
	/* An unknown cipher or KDF name is "unsupported". */
	{
		struct dssh_buf b;

		dssh_buf_init(&b, 0);
		CHECK_EQ_INT(dssh_buf_put(&b, "openssh-key-v1", 15), 0);
		CHECK_EQ_INT(dssh_buf_put_cstring(&b, "twofish-cbc"), 0);
		CHECK_EQ_INT(dssh_buf_put_cstring(&b, "bcrypt"), 0);
		CHECK_EQ_INT(dssh_buf_put_cstring(&b, ""), 0);
		CHECK_EQ_INT(dssh_buf_put_u32(&b, 1), 0);
		CHECK_EQ_INT(parse_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), "pw", &k),
		    DSSH_ERR_UNSUPPORTED);
		dssh_buf_free(&b);
		dssh_buf_init(&b, 0);
		CHECK_EQ_INT(dssh_buf_put(&b, "openssh-key-v1", 15), 0);
		CHECK_EQ_INT(dssh_buf_put_cstring(&b, "aes256-ctr"), 0);
		CHECK_EQ_INT(dssh_buf_put_cstring(&b, "scrypt"), 0);
		CHECK_EQ_INT(dssh_buf_put_cstring(&b, ""), 0);
		CHECK_EQ_INT(dssh_buf_put_u32(&b, 1), 0);
		CHECK_EQ_INT(parse_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), "pw", &k),
		    DSSH_ERR_UNSUPPORTED);
		dssh_buf_free(&b);
	}
}

/* The public key `ssh-keygen -y -P pass` prints for path equals k's. */
static bool
same_as_keygen_y(const char *path, const char *pass, const struct dssh_sshkey *k)
{
	char yp[512];

	snprintf(yp, sizeof(yp), "%s.y", path);
	if (dssh_test_sh("ssh-keygen -y -P '%s' -f %s >%s.pub", pass, path, yp) != 0)
		return false;
	return same_as_pub(yp, k);
}

/* A signature made with k verifies: the private half is whole. */
static bool
signs(const struct dssh_sshkey *k)
{
	const char *alg = dssh_sshkey_type(k) == DSSH_SSHKEY_RSA ? "rsa-sha2-256" :
	    dssh_sshkey_type_name(k);
	struct dssh_buf sig;
	bool ok;

	dssh_buf_init(&sig, 0);
	ok = dssh_sshkey_sign(k, alg, (const uint8_t *)"m", 1, &sig) == 0 &&
	    dssh_sshkey_verify(k, alg, dssh_buf_ptr(&sig), dssh_buf_len(&sig),
	    (const uint8_t *)"m", 1) == 0;
	dssh_buf_free(&sig);
	return ok;
}

/* Right, wrong, empty and no passphrase for one encrypted key file. */
static void
check_pass_key(const char *path, const char *pass, bool keygen_y)
{
	struct dssh_sshkey *k = NULL;

	CHECK_EQ_INT(dssh_sshkey_load_private(path, &k), DSSH_ERR_KEY_ENCRYPTED);
	CHECK(k == NULL);
	CHECK_EQ_INT(dssh_sshkey_load_private_pass(path, pass, &k), 0);
	CHECK(k != NULL && dssh_sshkey_has_private(k) && signs(k));
	if (keygen_y)
		CHECK(k != NULL && same_as_pub(path, k) && same_as_keygen_y(path, pass, k));
	dssh_sshkey_free(k);
	k = NULL;
	CHECK_EQ_INT(dssh_sshkey_load_private_pass(path, "wrong pass", &k), DSSH_ERR_KEY_PASSPHRASE);
	CHECK(k == NULL);
	CHECK_EQ_INT(dssh_sshkey_load_private_pass(path, "", &k), DSSH_ERR_KEY_PASSPHRASE);
	CHECK(k == NULL);
}

/*
 * Encrypted PEM: traditional (Proc-Type/DEK-Info) and PKCS#8
 * EncryptedPrivateKeyInfo, as `ssh-keygen -m PEM|PKCS8 -N` writes them.
 */
static void
test_pem_keys(void)
{
	static const char *const types[] = { "rsa -b 2048", "ecdsa -b 256", "ecdsa -b 384",
	    "ecdsa -b 521" };
	static const char *const fmts[] = { "PEM", "PKCS8" };
	static const char *const marks[] = { "Proc-Type: 4,ENCRYPTED",
	    "-----BEGIN ENCRYPTED PRIVATE KEY-----" };
	char path[256], *t;

	for (size_t i = 0; i < DSSH_ARRAY_SIZE(types); i++)
		for (size_t f = 0; f < DSSH_ARRAY_SIZE(fmts); f++) {
			snprintf(path, sizeof(path), "%s/pem_%zu_%zu", tmpdir, i, f);
			CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -t %s -m %s -N 'sec ret' -f %s "
			    "</dev/null", types[i], fmts[f], path), 0);
			t = dssh_test_slurp(path);
			CHECK(t != NULL && strstr(t, marks[f]) != NULL);
			free(t);
			check_pass_key(path, "sec ret", true);
		}
	/* ssh-keygen 9.2 writes ed25519 as openssh-key-v1 whatever -m says. */
	snprintf(path, sizeof(path), "%s/pem_ed", tmpdir);
	CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -t ed25519 -m PKCS8 -N 'sec ret' -f %s </dev/null",
	    path), 0);
	t = dssh_test_slurp(path);
	CHECK(t != NULL && strstr(t, "BEGIN OPENSSH PRIVATE KEY") != NULL);
	free(t);
	check_pass_key(path, "sec ret", true);
	/*
	 * PKCS#8 ed25519 and other ciphers, from openssl(1); the public half is
	 * compared with the same key decrypted by openssl.
	 */
	{
		static const char *const gen[] = {
			"openssl genpkey -algorithm ed25519 -aes256 -pass pass:sesame -out %s",
			"openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out %s.c && "
			"openssl ec -in %s.c -aes256 -passout pass:sesame -out %s",
			"openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out %s.c && "
			"openssl pkcs8 -topk8 -in %s.c -v2 aes-128-cbc -v2prf hmacWithSHA512 "
			"-passout pass:sesame -out %s",
			"openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-384 -out %s.c && "
			"openssl pkcs8 -topk8 -in %s.c -scrypt -passout pass:sesame -out %s",
			/* The curve's block first, as `openssl ecparam -genkey` writes. */
			"openssl ecparam -name secp521r1 -genkey -noout -out %s.c && "
			"openssl ecparam -name secp521r1 >%s && "
			"openssl ec -in %s.c -aes192 -passout pass:sesame >>%s",
		};

		for (size_t i = 0; i < DSSH_ARRAY_SIZE(gen); i++) {
			struct dssh_sshkey *k = NULL, *c = NULL;
			char cmd[1024], cpath[300];

			snprintf(path, sizeof(path), "%s/ossl_%zu", tmpdir, i);
			snprintf(cpath, sizeof(cpath), "%s.clear", path);
			snprintf(cmd, sizeof(cmd), gen[i], path, path, path, path);
			CHECK_EQ_INT(dssh_test_sh("umask 077 && %s 2>/dev/null", cmd), 0);
			check_pass_key(path, "sesame", false);
			CHECK_EQ_INT(dssh_test_sh("umask 077 && openssl pkey -in %s -passin pass:sesame "
			    "-out %s", path, cpath), 0);
			CHECK_EQ_INT(dssh_sshkey_load_private_pass(path, "sesame", &k), 0);
			CHECK_EQ_INT(dssh_sshkey_load_private(cpath, &c), 0);
			CHECK(k != NULL && c != NULL && dssh_sshkey_equal_public(k, c) == 1);
			dssh_sshkey_free(k);
			dssh_sshkey_free(c);
		}
	}
}

/* Damaged encrypted PEM files: a clean error, never a key or a crash. */
static void
test_pem_hostile(void)
{
	struct dssh_sshkey *k = NULL;
	char path[256], *t;
	size_t len;

	for (int f = 0; f < 2; f++) {
		snprintf(path, sizeof(path), "%s/hpem_%d", tmpdir, f);
		CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q -t ecdsa -m %s -N 'sec ret' -f %s </dev/null",
		    f == 0 ? "PEM" : "PKCS8", path), 0);
		if ((t = dssh_test_slurp(path)) == NULL) {
			CHECK(t != NULL);
			continue;
		}
		len = strlen(t);
		CHECK_EQ_INT(dssh_sshkey_parse_private_pass(t, len, "sec ret", &k), 0);
		dssh_sshkey_free(k);
		k = NULL;
		/* Truncated anywhere: the armour or the DER is incomplete. */
		for (size_t n = 1; n < len - 2; n += 7) {
			int r = dssh_sshkey_parse_private_pass(t, n, "sec ret", &k);

			CHECK(r == DSSH_ERR_INVALID_FORMAT || r == DSSH_ERR_KEY_PASSPHRASE);
			CHECK(k == NULL);
		}
		/* Every byte garbled in turn (kept printable, so base64 may still decode). */
		for (size_t i = 0; i < len; i++) {
			char save = t[i];
			int r;

			t[i] = save == 'Q' ? 'R' : 'Q';
			r = dssh_sshkey_parse_private_pass(t, len, "sec ret", &k);
			CHECK(r < 0 || (k != NULL && dssh_sshkey_has_private(k)));
			dssh_sshkey_free(k);
			k = NULL;
			t[i] = save;
		}
		/* No passphrase at all: asked for, not guessed. */
		CHECK_EQ_INT(dssh_sshkey_parse_private(t, len, &k), DSSH_ERR_KEY_ENCRYPTED);
		CHECK(k == NULL);
		if (f == 0) {
			char *dek = strstr(t, "DEK-Info: AES-128-CBC,");

			/* An unknown cipher, or an IV cut short, in the DEK-Info header. */
			CHECK(dek != NULL);
			if (dek != NULL) {
				memcpy(dek + 10, "AES-999", 7);
				CHECK_EQ_INT(dssh_sshkey_parse_private_pass(t, len, "sec ret", &k),
				    DSSH_ERR_INVALID_FORMAT);
				memcpy(dek + 10, "AES-128", 7);
				dek[22] = '\n';
				CHECK_EQ_INT(dssh_sshkey_parse_private_pass(t, len, "sec ret", &k),
				    DSSH_ERR_INVALID_FORMAT);
			}
		} else {
			/* PBKDF2's iterations (2048 from ssh-keygen) against the cap. */
			CHECK_EQ_INT(sshkey_parse_private_max(t, len, "sec ret", 2, &k),
			    DSSH_ERR_INVALID_FORMAT);
			CHECK(k == NULL);
			CHECK_EQ_INT(sshkey_parse_private_max(t, len, "sec ret", 3, &k), 0);
			dssh_sshkey_free(k);
			k = NULL;
		}
		CHECK(k == NULL);
		free(t);
	}
	/* The KDF work of other PKCS#8 schemes against the cap (1000 per round). */
	{
		static const struct {
			const char *opts;
			unsigned refused, loads;
		} kdfs[] = {
			{ "-v1 PBE-SHA1-3DES -iter 3000", 2, 3 },       /* PKCS#12 PBE, 3000 */
			{ "-scrypt -scrypt_N 1024 -scrypt_r 8 -scrypt_p 2", 16, 17 }, /* 16384 */
			{ "-v2 aes-256-cbc -iter 5000", 4, 5 },         /* PBKDF2, 5000 */
		};

		snprintf(path, sizeof(path), "%s/kdf_clear", tmpdir);
		CHECK_EQ_INT(dssh_test_sh("umask 077 && openssl genpkey -algorithm ec "
		    "-pkeyopt ec_paramgen_curve:P-256 -out %s", path), 0);
		for (size_t i = 0; i < DSSH_ARRAY_SIZE(kdfs); i++) {
			char p8[300];

			snprintf(p8, sizeof(p8), "%s/kdf_%zu", tmpdir, i);
			CHECK_EQ_INT(dssh_test_sh("umask 077 && openssl pkcs8 -topk8 -in %s %s "
			    "-passout pass:sesame -out %s", path, kdfs[i].opts, p8), 0);
			if ((t = dssh_test_slurp(p8)) == NULL) {
				CHECK(t != NULL);
				continue;
			}
			len = strlen(t);
			CHECK_EQ_INT(sshkey_parse_private_max(t, len, "sesame", kdfs[i].refused, &k),
			    DSSH_ERR_INVALID_FORMAT);
			CHECK(k == NULL);
			CHECK_EQ_INT(sshkey_parse_private_max(t, len, "sesame", kdfs[i].loads, &k), 0);
			CHECK(k != NULL);
			dssh_sshkey_free(k);
			k = NULL;
			CHECK_EQ_INT(sshkey_parse_private_max(t, len, "sesamE", kdfs[i].loads, &k),
			    DSSH_ERR_KEY_PASSPHRASE);
			CHECK(k == NULL);
			free(t);
		}
	}
}

int
main(void)
{
	int rc;

	if ((rc = dssh_test_keygen_dir(tmpdir)) != 0)
		return rc;
	have_pybcrypt = system(PY " -c 'import bcrypt; bcrypt.kdf' 2>/dev/null") == 0;
	DSSH_RUN(test_pi_tables);
	DSSH_RUN(test_kat);
	DSSH_RUN(test_kdf_args);
	DSSH_RUN(test_ssh_keygen_keys);
	DSSH_RUN(test_hostile);
	DSSH_RUN(test_pem_keys);
	DSSH_RUN(test_pem_hostile);
	dssh_test_dir_done(tmpdir);
	DSSH_TEST_END();
}
