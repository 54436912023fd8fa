/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/fsuid.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "dssh_auth.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_test.h"
#include "dssh_test_dir.h"
#include "dssh_util.h"

static char tmpdir[] = "/tmp/dssh-ut-authkeys-XXXXXX";
static char home[128];
static char why[256];

/* A key made by ssh-keygen: its .pub line and the wire blob. */
struct testkey {
	char line[4096];        /* "type base64 comment" */
	char type[64];
	char b64[4096];
	uint8_t blob[4096];
	size_t bloblen;
};

static struct testkey keys[6];

/* Decode with EVP_DecodeBlock (not the code under test's EVP_DecodeUpdate). */
static void
load_key(struct testkey *k, const char *type, const char *path)
{
	FILE *f = fopen(path, "r");
	int n, pad = 0;
	size_t l;

	CHECK(f != NULL);
	if (f == NULL)
		exit(1);
	CHECK(fgets(k->line, sizeof(k->line), f) != NULL);
	fclose(f);
	k->line[strcspn(k->line, "\n")] = '\0';
	CHECK_EQ_INT(sscanf(k->line, "%63s %4095s", k->type, k->b64), 2);
	CHECK_STR(k->type, type);
	l = strlen(k->b64);
	if (l > 0 && k->b64[l - 1] == '=')
		pad++;
	if (l > 1 && k->b64[l - 2] == '=')
		pad++;
	n = EVP_DecodeBlock(k->blob, (const unsigned char *)k->b64, (int)l);
	CHECK(n > 0);
	k->bloblen = (size_t)n - (size_t)pad;
	/* blob = string(type) ... */
	CHECK(k->bloblen > 4 + strlen(type));
	CHECK_EQ_INT(k->blob[3], strlen(type));
	CHECK_MEM(k->blob + 4, type, strlen(type));
}

static void
make_keys(void)
{
	static const struct { const char *t, *arg; } kinds[] = {
		{ "ssh-ed25519", "-t ed25519" },
		{ "ecdsa-sha2-nistp256", "-t ecdsa -b 256" },
		{ "ssh-rsa", "-t rsa -b 2048" },
		{ "ssh-ed25519", "-t ed25519" },
		{ "ecdsa-sha2-nistp384", "-t ecdsa -b 384" },
		{ "ssh-ed25519", "-t ed25519" },
	};

	for (size_t i = 0; i < DSSH_ARRAY_SIZE(kinds); i++) {
		char p[256];

		snprintf(p, sizeof(p), "%s/k%zu", tmpdir, i);
		CHECK_EQ_INT(dssh_test_sh("ssh-keygen -q %s -N '' -C 'comment %zu' -f %s",
		    kinds[i].arg, i, p), 0);
		strcat(p, ".pub");
		load_key(&keys[i], kinds[i].t, p);
	}
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode);
	size_t n = strlen(text);

	CHECK(fd >= 0);
	CHECK(write(fd, text, n) == (ssize_t)n);
	close(fd);
	chmod(path, mode);
}

static void
test_user_struct(struct dssh_auth_user *u, const char *name)
{
	memset(u, 0, sizeof(*u));
	u->name = strdup(name);
	u->uid = getuid();
	u->gid = getgid();
	u->home = strdup(home);
	u->shell = strdup("/bin/sh");
	u->exists = true;
}

/* ---- options ---- */

static void
test_options(void)
{
	struct dssh_authkey_opts o;
	char *from;

	dssh_authkey_opts_init(&o);
	CHECK_EQ_INT(dssh_authkey_parse_options(
	    "command=\"echo \\\"a,b\\\" c\\\\d\",no-pty", &o, &from, why,
	    sizeof(why)), 0);
	CHECK_STR(o.command, "echo \"a,b\" c\\\\d");
	CHECK(!o.permit_pty);
	CHECK(o.permit_port_forwarding);
	CHECK(from == NULL);
	dssh_authkey_opts_free(&o);

	dssh_authkey_opts_init(&o);
	CHECK_EQ_INT(dssh_authkey_parse_options("restrict,pty", &o, &from, why,
	    sizeof(why)), 0);
	CHECK(o.restricted);
	CHECK(o.permit_pty);
	CHECK(!o.permit_port_forwarding);
	CHECK(!o.permit_agent_forwarding);
	CHECK(!o.permit_x11_forwarding);
	CHECK(!o.permit_user_rc);
	dssh_authkey_opts_free(&o);

	dssh_authkey_opts_init(&o);
	CHECK_EQ_INT(dssh_authkey_parse_options("PTY,Restrict", &o, &from, why,
	    sizeof(why)), 0);
	CHECK(!o.permit_pty);
	dssh_authkey_opts_free(&o);

	dssh_authkey_opts_init(&o);
	CHECK_EQ_INT(dssh_authkey_parse_options(
	    "no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-user-rc,"
	    "from=\"10.0.0.0/8,!10.1.*\",environment=\"A=b c\",environment=\"B_2=,\","
	    "expiry-time=\"20991231\"", &o, &from, why, sizeof(why)), 0);
	CHECK(o.permit_pty);
	CHECK(!o.permit_port_forwarding && !o.permit_agent_forwarding);
	CHECK(!o.permit_x11_forwarding && !o.permit_user_rc);
	CHECK_STR(from, "10.0.0.0/8,!10.1.*");
	CHECK_EQ_INT(o.nenv, 2);
	CHECK_STR(o.env[0], "A=b c");
	CHECK_STR(o.env[1], "B_2=,");
	CHECK(o.expiry_time > 4000000000ULL);
	free(from);
	dssh_authkey_opts_free(&o);

	dssh_authkey_opts_init(&o);
	CHECK_EQ_INT(dssh_authkey_parse_options("expiry-time=\"19991231Z\"", &o,
	    &from, why, sizeof(why)), 0);
	CHECK(o.expiry_time == 946598400ULL);
	dssh_authkey_opts_free(&o);

	static const char *const bad[] = {
		"frobnicate",
		"no-pty,frobnicate=\"x\"",
		"command=unquoted",
		"command=\"unterminated",
		"command=\"a\",command=\"b\"",
		"from=\"a\",from=\"b\"",
		"from=\"\"",
		"no-pty=\"x\"",
		"restrict=\"1\"",
		"no-pty,",
		",no-pty",
		"",
		"no-pty,,pty",
		"environment=\"NOVALUE\"",
		"environment=\"=x\"",
		"environment=\"A B=x\"",
		"expiry-time=\"2020\"",
		"expiry-time=\"20201345\"",
		"expiry-time=\"2020010a\"",
		"principals=\"a\"",
		"command=\"a\"x",
		"command",
	};
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(bad); i++) {
		int r;

		dssh_authkey_opts_init(&o);
		r = dssh_authkey_parse_options(bad[i], &o, &from, why, sizeof(why));
		if (r != DSSH_ERR_INVALID_FORMAT)
			fprintf(stderr, "options \"%s\" accepted\n", bad[i]);
		CHECK_EQ_INT(r, DSSH_ERR_INVALID_FORMAT);
		CHECK(from == NULL);
		dssh_authkey_opts_free(&o);
	}
}

/* ---- lines ---- */

static int
parse(const char *line, struct dssh_authkey_opts *o, char **from, bool *cert,
    uint8_t **blob, size_t *len)
{
	return dssh_authkeys_parse_line(line, o, from, cert, blob, len, why,
	    sizeof(why));
}

static void
test_lines(void)
{
	struct dssh_authkey_opts o;
	char line[9000];
	char *from;
	bool cert;
	uint8_t *blob;
	size_t len;

	for (size_t i = 0; i < 5; i++) {
		CHECK_EQ_INT(parse(keys[i].line, &o, &from, &cert, &blob, &len), 0);
		CHECK_EQ_INT(len, keys[i].bloblen);
		CHECK_MEM(blob, keys[i].blob, keys[i].bloblen);
		free(blob);
		dssh_authkey_opts_free(&o);
	}
	/* options with quoted spaces and commas, then key, no comment */
	snprintf(line, sizeof(line), "  command=\"echo a, b\",from=\"1.2.3.4\" %s %s",
	    keys[0].type, keys[0].b64);
	CHECK_EQ_INT(parse(line, &o, &from, &cert, &blob, &len), 0);
	CHECK_STR(o.command, "echo a, b");
	CHECK_STR(from, "1.2.3.4");
	CHECK(!cert);
	CHECK_MEM(blob, keys[0].blob, keys[0].bloblen);
	free(blob);
	free(from);
	dssh_authkey_opts_free(&o);

	snprintf(line, sizeof(line), "cert-authority,principals=\"a\" %s", keys[1].line);
	CHECK_EQ_INT(parse(line, &o, &from, &cert, &blob, &len), 0);
	CHECK(cert);
	free(blob);
	dssh_authkey_opts_free(&o);

	CHECK_EQ_INT(parse("", &o, &from, &cert, &blob, &len), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(parse("   # comment", &o, &from, &cert, &blob, &len),
	    DSSH_ERR_NOT_FOUND);

	/* garbage and truncations */
	{
		char b64[8192];
		size_t l = strlen(keys[0].b64);
		const char *bad[16];
		char buf[16][9000];
		int nb = 0;

		bad[nb++] = "ssh-ed25519";
		bad[nb++] = "ssh-ed25519 ";
		bad[nb++] = "ssh-ed25519 AAAA";
		bad[nb++] = "ssh-ed25519 !!!!";
		bad[nb++] = "garbage garbage garbage";
		bad[nb++] = "no-pty";
		bad[nb++] = "\"unterminated ssh-ed25519 AAAA";
		/* base64 cut at a 4-char boundary: the blob is truncated */
		memcpy(b64, keys[0].b64, l - 8);
		b64[l - 8] = '\0';
		snprintf(buf[nb], sizeof(buf[nb]), "ssh-ed25519 %s", b64);
		bad[nb] = buf[nb]; nb++;
		/* cut off mid-quantum */
		b64[l - 9] = '\0';
		snprintf(buf[nb], sizeof(buf[nb]), "ssh-ed25519 %s", b64);
		bad[nb] = buf[nb]; nb++;
		/* type and blob disagree */
		snprintf(buf[nb], sizeof(buf[nb]), "ssh-rsa %s", keys[0].b64);
		bad[nb] = buf[nb]; nb++;
		/* bad char inside base64 */
		snprintf(buf[nb], sizeof(buf[nb]), "ssh-ed25519 %s", keys[0].b64);
		buf[nb][20] = '*';
		bad[nb] = buf[nb]; nb++;
		/* unknown option in front of a valid key */
		snprintf(buf[nb], sizeof(buf[nb]), "bogus-opt %s", keys[0].line);
		bad[nb] = buf[nb]; nb++;
		/* options but key missing */
		snprintf(buf[nb], sizeof(buf[nb]), "no-pty,command=\"x y\"");
		bad[nb] = buf[nb]; nb++;
		/* data after '=' padding */
		snprintf(buf[nb], sizeof(buf[nb]), "ecdsa-sha2-nistp256 %s==AAAA",
		    keys[1].b64);
		bad[nb] = buf[nb]; nb++;
		for (int i = 0; i < nb; i++) {
			int r = parse(bad[i], &o, &from, &cert, &blob, &len);

			if (r != DSSH_ERR_INVALID_FORMAT)
				fprintf(stderr, "line %d \"%.60s\" gave %d\n", i, bad[i], r);
			CHECK_EQ_INT(r, DSSH_ERR_INVALID_FORMAT);
			CHECK(blob == NULL);
			CHECK(from == NULL);
			CHECK(o.command == NULL);
		}
	}
	/* random garbage: no crash, never a blob equal to a test key */
	{
		uint64_t s = 42;

		for (int i = 0; i < 20000; i++) {
			size_t n = dssh_test_rand(&s) % 300;

			for (size_t k = 0; k < n; k++) {
				static const char alpha[] = "ssh-ed25519 AQZaz09+/=\",\\ no-ptycommand=from";
				uint64_t x = dssh_test_rand(&s);

				line[k] = (x & 3) == 0 ? (char)((x >> 8) | 1) :
				    alpha[(x >> 8) % (sizeof(alpha) - 1)];
			}
			line[n] = '\0';
			if (parse(line, &o, &from, &cert, &blob, &len) == 0) {
				free(blob);
				free(from);
				dssh_authkey_opts_free(&o);
			}
		}
	}
}

/* ---- files ---- */

static struct dssh_config cfg;

static int
check_key(const struct dssh_auth_user *u, int k, const char *ip,
    struct dssh_authkey_opts *o)
{
	return dssh_authkeys_check(&cfg, u, keys[k].blob, keys[k].bloblen, ip, o);
}

static void
test_files(void)
{
	struct dssh_authkey_opts o;
	struct dssh_auth_user u;
	char ak[512], ak2[512], sshdir[256], path2[512];
	static char text[65536];
	char longcomment[9000];
	uint8_t flipped[4096];

	snprintf(sshdir, sizeof(sshdir), "%s/.ssh", home);
	snprintf(ak, sizeof(ak), "%s/authorized_keys", sshdir);
	snprintf(ak2, sizeof(ak2), "%s/authorized_keys2", sshdir);
	CHECK_EQ_INT(mkdir(sshdir, 0700), 0);
	memset(longcomment, 'c', sizeof(longcomment) - 1);
	longcomment[sizeof(longcomment) - 1] = '\0';
	snprintf(text, sizeof(text),
	    "# authorized keys\n"
	    "\n"
	    "from=\"192.0.2.*,!192.0.2.66\" %s\n"
	    "restrict,pty,command=\"/bin/echo hi\",environment=\"FOO=bar\",environment=\"LANG=C\","
	    "environment=\"FOOD=x\" %s\n"
	    "cert-authority %s\n"
	    "frobnicate %s\n"
	    "no-agent-forwarding %s\n"
	    "expiry-time=\"20000101\" %s\n"
	    "%s %s\n"
	    "garbage line here\n",
	    keys[0].line, keys[1].line, keys[2].line, keys[3].line, keys[3].line,
	    keys[4].line, keys[5].line, longcomment);
	write_file(ak, text, 0600);
	test_user_struct(&u, "tester");

	dssh_config_init(&cfg);
	CHECK_EQ_INT(dssh_config_finalize(&cfg, NULL, why, sizeof(why)), 0);

	/* from= */
	CHECK_EQ_INT(check_key(&u, 0, "192.0.2.5", &o), 0);
	CHECK(o.permit_pty && o.command == NULL);
	CHECK_STR(o.file, ak);
	CHECK_EQ_INT(o.line, 3);
	dssh_authkey_opts_free(&o);
	CHECK_EQ_INT(check_key(&u, 0, "192.0.2.66", &o), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(check_key(&u, 0, "198.51.100.1", &o), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(check_key(&u, 0, NULL, &o), DSSH_ERR_NOT_FOUND);

	/* restrict + pty + command; environment dropped (PermitUserEnvironment no) */
	CHECK_EQ_INT(check_key(&u, 1, "203.0.113.9", &o), 0);
	CHECK_STR(o.command, "/bin/echo hi");
	CHECK(o.permit_pty);
	CHECK(!o.permit_port_forwarding && !o.permit_agent_forwarding &&
	    !o.permit_x11_forwarding && !o.permit_user_rc);
	CHECK_EQ_INT(o.nenv, 0);
	dssh_authkey_opts_free(&o);

	/* cert-authority lines are skipped */
	CHECK_EQ_INT(check_key(&u, 2, "203.0.113.9", &o), DSSH_ERR_NOT_FOUND);
	/* unknown option rejects that line; the next line for the key works */
	CHECK_EQ_INT(check_key(&u, 3, "203.0.113.9", &o), 0);
	CHECK(!o.permit_agent_forwarding && o.permit_pty);
	CHECK_EQ_INT(o.line, 7);
	dssh_authkey_opts_free(&o);
	/* expired */
	CHECK_EQ_INT(check_key(&u, 4, "203.0.113.9", &o), DSSH_ERR_NOT_FOUND);
	/* line longer than 8 KiB */
	CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), DSSH_ERR_NOT_FOUND);
	/* a blob that differs in the last byte */
	memcpy(flipped, keys[0].blob, keys[0].bloblen);
	flipped[keys[0].bloblen - 1] ^= 1;
	CHECK_EQ_INT(dssh_authkeys_check(&cfg, &u, flipped, keys[0].bloblen,
	    "192.0.2.5", &o), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(dssh_authkeys_check(&cfg, &u, keys[0].blob,
	    keys[0].bloblen - 1, "192.0.2.5", &o), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(dssh_authkeys_check(&cfg, &u, keys[0].blob, 0,
	    "192.0.2.5", &o), DSSH_ERR_NOT_FOUND);

	/* second default file */
	snprintf(text, sizeof(text), "%s\n", keys[5].line);
	write_file(ak2, text, 0600);
	CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), 0);
	CHECK_STR(o.file, ak2);
	dssh_authkey_opts_free(&o);

	/* StrictModes: file group/world writable, dirs writable, foreign owner */
	chmod(ak2, 0620);
	CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), DSSH_ERR_NOT_FOUND);
	chmod(ak2, 0602);
	CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), DSSH_ERR_NOT_FOUND);
	chmod(ak2, 0644);
	CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), 0);
	dssh_authkey_opts_free(&o);
	chmod(sshdir, 0770);
	CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), DSSH_ERR_NOT_FOUND);
	chmod(sshdir, 0700);
	chmod(home, 0777);
	CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), DSSH_ERR_NOT_FOUND);
	chmod(home, 0755);
	if (geteuid() == 0) {
		CHECK_EQ_INT(chown(ak2, 54321, 54321), 0);
		CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), DSSH_ERR_NOT_FOUND);
		/* owned by the user itself is fine (the file is read with the
		 * user's file-system ids, so .ssh must be traversable) */
		u.uid = 54321;
		u.gid = 54321;
		chmod(sshdir, 0700);
		CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), DSSH_ERR_NOT_FOUND);
		chmod(sshdir, 0755);
		CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), 0);
		dssh_authkey_opts_free(&o);
		/* a root-owned 0600 file the user cannot read is not read */
		CHECK_EQ_INT(chown(ak2, 0, 0), 0);
		chmod(ak2, 0600);
		CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), DSSH_ERR_NOT_FOUND);
		chmod(ak2, 0644);
		CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), 0);
		dssh_authkey_opts_free(&o);
		/* the caller's ids are restored afterwards */
		CHECK_EQ_INT(setfsuid((uid_t)-1), 0);
		CHECK_EQ_INT(setfsgid((gid_t)-1), 0);
		chmod(sshdir, 0700);
		chmod(ak2, 0600);
		u.uid = getuid();
		u.gid = getgid();
		CHECK_EQ_INT(chown(ak2, 0, 0), 0);
		CHECK_EQ_INT(chown(sshdir, 54321, 54321), 0);
		CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), DSSH_ERR_NOT_FOUND);
		CHECK_EQ_INT(chown(sshdir, 0, 0), 0);
	}
	CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), 0);
	dssh_authkey_opts_free(&o);
	/* StrictModes no: modes are not checked */
	chmod(ak2, 0666);
	CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), DSSH_ERR_NOT_FOUND);
	cfg.strict_modes = 0;
	CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), 0);
	dssh_authkey_opts_free(&o);
	cfg.strict_modes = 1;
	chmod(ak2, 0600);

	/* symlinked file is never followed */
	snprintf(path2, sizeof(path2), "%s/real_keys", sshdir);
	write_file(path2, text, 0600);
	unlink(ak2);
	CHECK_EQ_INT(symlink(path2, ak2), 0);
	cfg.strict_modes = 0;
	CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), DSSH_ERR_NOT_FOUND);
	cfg.strict_modes = 1;
	unlink(ak2);
	/* a directory or fifo in place of the file */
	CHECK_EQ_INT(mkfifo(ak2, 0600), 0);
	CHECK_EQ_INT(check_key(&u, 5, "203.0.113.9", &o), DSSH_ERR_NOT_FOUND);
	unlink(ak2);

	/* PermitUserEnvironment yes keeps environment=, a pattern list filters it */
	char *pue_saved = cfg.permit_user_environment;

	cfg.permit_user_environment = "yes";
	CHECK_EQ_INT(check_key(&u, 1, "203.0.113.9", &o), 0);
	CHECK_EQ_INT(o.nenv, 3);
	if (o.nenv == 3) {
		CHECK_STR(o.env[0], "FOO=bar");
		CHECK_STR(o.env[1], "LANG=C");
		CHECK_STR(o.env[2], "FOOD=x");
	}
	dssh_authkey_opts_free(&o);
	cfg.permit_user_environment = "LANG,FOO";
	CHECK_EQ_INT(check_key(&u, 1, "203.0.113.9", &o), 0);
	CHECK_EQ_INT(o.nenv, 2);
	if (o.nenv == 2) {
		CHECK_STR(o.env[0], "FOO=bar");
		CHECK_STR(o.env[1], "LANG=C");
	}
	dssh_authkey_opts_free(&o);
	cfg.permit_user_environment = "FOO*,!FOOD";
	CHECK_EQ_INT(check_key(&u, 1, "203.0.113.9", &o), 0);
	CHECK_EQ_INT(o.nenv, 1);
	if (o.nenv == 1)
		CHECK_STR(o.env[0], "FOO=bar");
	dssh_authkey_opts_free(&o);
	cfg.permit_user_environment = "lang,X*";     /* case-sensitive: none */
	CHECK_EQ_INT(check_key(&u, 1, "203.0.113.9", &o), 0);
	CHECK_EQ_INT(o.nenv, 0);
	CHECK(o.env == NULL);
	dssh_authkey_opts_free(&o);
	cfg.permit_user_environment = pue_saved;

	/* non-existent user never matches */
	u.exists = false;
	CHECK_EQ_INT(check_key(&u, 0, "192.0.2.5", &o), DSSH_ERR_NOT_FOUND);
	u.exists = true;
	dssh_config_free(&cfg);

	/* AuthorizedKeysFile with tokens, absolute and relative */
	dssh_config_init(&cfg);
	CHECK_EQ_INT(dssh_config_apply_line(&cfg,
	    "AuthorizedKeysFile %h/.ssh/keys_%u .ssh/rel_%U_%%", "t", 1, why,
	    sizeof(why)), 0);
	CHECK_EQ_INT(dssh_config_finalize(&cfg, NULL, why, sizeof(why)), 0);
	snprintf(path2, sizeof(path2), "%s/keys_tester", sshdir);
	write_file(path2, keys[3].line, 0600);       /* no trailing newline */
	CHECK_EQ_INT(check_key(&u, 3, "203.0.113.9", &o), 0);
	CHECK_STR(o.file, path2);
	dssh_authkey_opts_free(&o);
	snprintf(path2, sizeof(path2), "%s/rel_%lu_%%", sshdir, (unsigned long)u.uid);
	snprintf(text, sizeof(text), "%s\r\n", keys[4].line);   /* CRLF */
	write_file(path2, text, 0600);
	CHECK_EQ_INT(check_key(&u, 4, "203.0.113.9", &o), 0);
	dssh_authkey_opts_free(&o);
	CHECK_EQ_INT(check_key(&u, 0, "192.0.2.5", &o), DSSH_ERR_NOT_FOUND);

	/* 8 KiB boundary: 8192 characters before the newline pass, 8193 not */
	for (int extra = 0; extra < 2; extra++) {
		size_t l = strlen(keys[3].line);
		size_t total = 8192 + (size_t)extra;

		snprintf(path2, sizeof(path2), "%s/keys_tester", sshdir);
		memcpy(text, keys[3].line, l);
		memset(text + l, 'x', total - l);
		text[l] = ' ';
		text[total] = '\n';
		text[total + 1] = '\0';
		write_file(path2, text, 0600);
		CHECK_EQ_INT(check_key(&u, 3, "203.0.113.9", &o),
		    extra == 0 ? 0 : DSSH_ERR_NOT_FOUND);
		dssh_authkey_opts_free(&o);
		/* same without the final newline */
		text[total] = '\0';
		write_file(path2, text, 0600);
		CHECK_EQ_INT(check_key(&u, 3, "203.0.113.9", &o),
		    extra == 0 ? 0 : DSSH_ERR_NOT_FOUND);
		dssh_authkey_opts_free(&o);
	}
	/* a NUL byte rejects its line only */
	{
		size_t l = strlen(keys[3].line);
		int fd;

		memcpy(text, keys[3].line, l);
		memcpy(text + l, " a\0b\n", 5);
		memcpy(text + l + 5, keys[4].line, strlen(keys[4].line) + 1);
		fd = open(path2, O_WRONLY | O_TRUNC);
		CHECK(fd >= 0);
		CHECK(write(fd, text, l + 5 + strlen(keys[4].line)) > 0);
		close(fd);
		CHECK_EQ_INT(check_key(&u, 3, "203.0.113.9", &o), DSSH_ERR_NOT_FOUND);
		CHECK_EQ_INT(check_key(&u, 4, "203.0.113.9", &o), 0);
		CHECK_EQ_INT(o.line, 2);
		dssh_authkey_opts_free(&o);
	}
	dssh_config_free(&cfg);

	/* expansion */
	{
		char *p = NULL;

		CHECK_EQ_INT(dssh_authkeys_expand_path("/etc/ssh/keys/%u", &u, &p), 0);
		CHECK_STR(p, "/etc/ssh/keys/tester");
		free(p);
		CHECK_EQ_INT(dssh_authkeys_expand_path("%h/a%%b", &u, &p), 0);
		snprintf(path2, sizeof(path2), "%s/a%%b", home);
		CHECK_STR(p, path2);
		free(p);
		CHECK_EQ_INT(dssh_authkeys_expand_path("x/%x", &u, &p),
		    DSSH_ERR_INVALID_FORMAT);
		CHECK(p == NULL);
		CHECK_EQ_INT(dssh_authkeys_expand_path("x%", &u, &p),
		    DSSH_ERR_INVALID_FORMAT);
		CHECK_EQ_INT(dssh_authkeys_expand_path("%u/x", &u, &p), 0);
		snprintf(path2, sizeof(path2), "%s/tester/x", home);
		CHECK_STR(p, path2);
		free(p);
		CHECK_EQ_INT(dssh_authkeys_expand_path("%%%U", &u, &p), 0);
		snprintf(path2, sizeof(path2), "%s/%%%lu", home, (unsigned long)u.uid);
		CHECK_STR(p, path2);
		free(p);
	}
	dssh_auth_user_clear(&u);
}

/* ---- policy ---- */

static int
allowed(const char *cfgline1, const char *cfgline2, const char *user,
    const char *ip, const char *host)
{
	struct dssh_config c;
	struct dssh_auth_user u;
	int r;

	dssh_config_init(&c);
	if (cfgline1 != NULL)
		CHECK_EQ_INT(dssh_config_apply_line(&c, cfgline1, "t", 1, why,
		    sizeof(why)), 0);
	if (cfgline2 != NULL)
		CHECK_EQ_INT(dssh_config_apply_line(&c, cfgline2, "t", 2, why,
		    sizeof(why)), 0);
	CHECK_EQ_INT(dssh_config_finalize(&c, NULL, why, sizeof(why)), 0);
	test_user_struct(&u, user);
	r = dssh_auth_user_allowed(&c, &u, ip, host, why, sizeof(why));
	dssh_auth_user_clear(&u);
	dssh_config_free(&c);
	return r;
}

#define ALLOW(a, b, u, ip, h) CHECK_EQ_INT(allowed(a, b, u, ip, h), 0)
#define DENY(a, b, u, ip, h) CHECK_EQ_INT(allowed(a, b, u, ip, h), DSSH_ERR_PERMISSION)

static void
test_allow_deny(void)
{
	ALLOW(NULL, NULL, "alice", "192.0.2.1", NULL);
	ALLOW("AllowUsers alice", NULL, "alice", "192.0.2.1", NULL);
	DENY("AllowUsers alice", NULL, "bob", "192.0.2.1", NULL);
	CHECK(strstr(why, "not listed in AllowUsers") != NULL);
	ALLOW("AllowUsers a*", NULL, "alice", "192.0.2.1", NULL);
	ALLOW("AllowUsers bob ?lice", NULL, "alice", "192.0.2.1", NULL);
	DENY("AllowUsers Alice", NULL, "alice", "192.0.2.1", NULL);
	DENY("AllowUsers alice", "DenyUsers alice", "alice", "192.0.2.1", NULL);
	CHECK(strstr(why, "listed in DenyUsers") != NULL);
	DENY("DenyUsers *", NULL, "alice", "192.0.2.1", NULL);
	ALLOW("DenyUsers bob", NULL, "alice", "192.0.2.1", NULL);
	ALLOW("AllowUsers alice@192.0.2.*", NULL, "alice", "192.0.2.9", NULL);
	DENY("AllowUsers alice@192.0.2.*", NULL, "alice", "198.51.100.1", NULL);
	DENY("AllowUsers alice@192.0.2.*", NULL, "bob", "192.0.2.9", NULL);
	ALLOW("AllowUsers alice@10.0.0.0/8", NULL, "alice", "10.2.3.4", NULL);
	DENY("AllowUsers alice@10.0.0.0/8", NULL, "alice", "11.0.0.1", NULL);
	ALLOW("AllowUsers *@2001:db8::/32", NULL, "alice", "2001:db8::5", NULL);
	DENY("AllowUsers *@2001:db8::/32", NULL, "alice", "2001:db9::5", NULL);
	DENY("AllowUsers *@2001:db8::/32", NULL, "alice", "10.0.0.1", NULL);
	DENY("DenyUsers *@198.51.100.7", NULL, "bob", "198.51.100.7", NULL);
	ALLOW("DenyUsers *@198.51.100.7", NULL, "bob", "198.51.100.8", NULL);
	ALLOW("AllowUsers alice@*.example", NULL, "alice", "192.0.2.1", "HOST.Example");
	DENY("AllowUsers alice@*.example", NULL, "alice", "192.0.2.1", NULL);
	ALLOW("AllowUsers alice@192.0.2.1", "AllowUsers bob", "bob", "192.0.2.7", NULL);
	/* malformed CIDR matches nothing (denies through AllowUsers) */
	DENY("AllowUsers alice@10.0.0.1/8", NULL, "alice", "10.0.0.1", NULL);
	DENY("AllowUsers alice@10.0.0.0/33", NULL, "alice", "10.0.0.1", NULL);

	CHECK_EQ_INT(dssh_auth_match_addr_list("10.1.2.3", NULL, "10.0.0.0/8,!10.1.*"), -1);
	CHECK_EQ_INT(dssh_auth_match_addr_list("10.2.2.3", NULL, "10.0.0.0/8,!10.1.*"), 1);
	CHECK_EQ_INT(dssh_auth_match_addr_list("11.2.2.3", NULL, "10.0.0.0/8,!10.1.*"), 0);
	CHECK_EQ_INT(dssh_auth_match_addr_list("192.0.2.200", NULL, "192.0.2.128/25"), 1);
	CHECK_EQ_INT(dssh_auth_match_addr_list("192.0.2.127", NULL, "192.0.2.128/25"), 0);
	CHECK_EQ_INT(dssh_auth_match_addr_list("1.2.3.4", NULL, "0.0.0.0/0"), 1);
	CHECK_EQ_INT(dssh_auth_match_addr_list("1.2.3.4", NULL, "1.2.3.4/32"), 1);
	CHECK_EQ_INT(dssh_auth_match_addr_list("1.2.3.4", NULL, "1.2.3.4/"), -1);
	CHECK_EQ_INT(dssh_auth_match_addr_list("1.2.3.4", NULL, "garbage/8"), -1);
	CHECK_EQ_INT(dssh_auth_match_addr_list("::1", NULL, "::1/128"), 1);
	CHECK_EQ_INT(dssh_auth_match_addr_list("fe80::1", NULL, "fe80::/10"), 1);
	CHECK_EQ_INT(dssh_auth_match_addr_list("fec0::1", NULL, "fe80::/10"), 0);
}

static void
test_user_checks(void)
{
	struct dssh_config c;
	struct dssh_auth_user u;
	char shell[256];

	dssh_config_init(&c);
	CHECK_EQ_INT(dssh_config_finalize(&c, NULL, why, sizeof(why)), 0);
	test_user_struct(&u, "carol");
	CHECK_EQ_INT(dssh_auth_user_allowed(&c, &u, "192.0.2.1", NULL, why,
	    sizeof(why)), 0);
	/* locked accounts: refused only without PAM */
	u.locked = true;
	CHECK_EQ_INT(dssh_auth_user_allowed(&c, &u, "192.0.2.1", NULL, why,
	    sizeof(why)), 0);
	c.use_pam = 0;
	CHECK_EQ_INT(dssh_auth_user_allowed(&c, &u, "192.0.2.1", NULL, why,
	    sizeof(why)), DSSH_ERR_PERMISSION);
	CHECK(strstr(why, "locked") != NULL);
	u.locked = false;
	/* shells */
	free(u.shell);
	u.shell = strdup("/nonexistent/shell");
	CHECK_EQ_INT(dssh_auth_user_allowed(&c, &u, "192.0.2.1", NULL, why,
	    sizeof(why)), DSSH_ERR_PERMISSION);
	CHECK(strstr(why, "does not exist") != NULL);
	snprintf(shell, sizeof(shell), "%s/noexec-shell", tmpdir);
	write_file(shell, "#!/bin/sh\n", 0644);
	free(u.shell);
	u.shell = strdup(shell);
	CHECK_EQ_INT(dssh_auth_user_allowed(&c, &u, "192.0.2.1", NULL, why,
	    sizeof(why)), DSSH_ERR_PERMISSION);
	CHECK(strstr(why, "not executable") != NULL);
	chmod(shell, 0755);
	CHECK_EQ_INT(dssh_auth_user_allowed(&c, &u, "192.0.2.1", NULL, why,
	    sizeof(why)), 0);
	free(u.shell);
	u.shell = strdup(tmpdir);       /* a directory */
	CHECK_EQ_INT(dssh_auth_user_allowed(&c, &u, "192.0.2.1", NULL, why,
	    sizeof(why)), DSSH_ERR_PERMISSION);
	u.exists = false;
	CHECK_EQ_INT(dssh_auth_user_allowed(&c, &u, "192.0.2.1", NULL, why,
	    sizeof(why)), DSSH_ERR_PERMISSION);
	dssh_auth_user_clear(&u);

	/* real lookups */
	CHECK_EQ_INT(dssh_auth_user_lookup("root", &u), 0);
	CHECK(u.exists);
	CHECK_EQ_INT(u.uid, 0);
	CHECK_STR(u.name, "root");
	CHECK(u.home != NULL && u.home[0] == '/');
	CHECK(u.shell != NULL && u.shell[0] == '/');
	dssh_auth_user_clear(&u);
	CHECK_EQ_INT(dssh_auth_user_lookup("dssh-no-such-user-x", &u), DSSH_ERR_NOT_FOUND);
	CHECK(!u.exists);
	CHECK_STR(u.name, "dssh-no-such-user-x");
	CHECK_EQ_INT(dssh_auth_user_allowed(&c, &u, "192.0.2.1", NULL, why,
	    sizeof(why)), DSSH_ERR_PERMISSION);
	CHECK(strstr(why, "invalid user") != NULL);
	dssh_auth_user_clear(&u);
	dssh_config_free(&c);
}

static void
test_root(void)
{
	static const struct {
		const char *value;
		int pk, pk_forced, pw, pw_forced;
	} m[] = {
		{ "yes", 0, 0, 0, 0 },
		{ "no", -18, -18, -18, -18 },
		{ "prohibit-password", 0, 0, -18, -18 },
		{ "without-password", 0, 0, -18, -18 },
		{ "forced-commands-only", -18, 0, -18, -18 },
	};

	for (size_t i = 0; i < DSSH_ARRAY_SIZE(m); i++) {
		struct dssh_config c;
		char l[64];

		dssh_config_init(&c);
		snprintf(l, sizeof(l), "PermitRootLogin %s", m[i].value);
		CHECK_EQ_INT(dssh_config_apply_line(&c, l, "t", 1, why, sizeof(why)), 0);
		CHECK_EQ_INT(dssh_config_finalize(&c, NULL, why, sizeof(why)), 0);
		CHECK_EQ_INT(dssh_auth_root_allowed(&c, "publickey", false), m[i].pk);
		CHECK_EQ_INT(dssh_auth_root_allowed(&c, "publickey", true), m[i].pk_forced);
		CHECK_EQ_INT(dssh_auth_root_allowed(&c, "password", false), m[i].pw);
		CHECK_EQ_INT(dssh_auth_root_allowed(&c, "password", true), m[i].pw_forced);
		CHECK_EQ_INT(dssh_auth_root_allowed(&c, "keyboard-interactive", true),
		    m[i].pw_forced);
		dssh_config_free(&c);
	}
}

/* ---- forwarding options (permitopen=, permitlisten=, restrict) ---- */

static void
test_forward_options(void)
{
	struct dssh_authkey_opts o;
	char *from = NULL;

	dssh_authkey_opts_init(&o);
	CHECK_EQ_INT(o.npermitopen, 0);
	CHECK_EQ_INT(o.npermitlisten, 0);
	CHECK_EQ_INT(dssh_authkey_parse_options(
	    "permitopen=\"db.internal:5432\",PermitOpen=\"[2001:db8::1]:*\","
	    "permitopen=\"*:80\",permitlisten=\"8080\",permitlisten=\"LocalHost:*\","
	    "permitlisten=\"[::1]:9000\"", &o, &from, why, sizeof(why)), 0);
	CHECK_EQ_INT(o.npermitopen, 3);
	if (o.npermitopen == 3) {
		CHECK_STR(o.permitopen[0].host, "db.internal");
		CHECK_EQ_INT(o.permitopen[0].port, 5432);
		CHECK_STR(o.permitopen[1].host, "2001:db8::1");
		CHECK_EQ_INT(o.permitopen[1].port, DSSH_PERMIT_ANY_PORT);
		CHECK_STR(o.permitopen[2].host, "*");
		CHECK_EQ_INT(o.permitopen[2].port, 80);
	}
	CHECK_EQ_INT(o.npermitlisten, 3);
	if (o.npermitlisten == 3) {
		CHECK_STR(o.permitlisten[0].host, "*");
		CHECK_EQ_INT(o.permitlisten[0].port, 8080);
		CHECK_STR(o.permitlisten[1].host, "localhost");
		CHECK_EQ_INT(o.permitlisten[1].port, DSSH_PERMIT_ANY_PORT);
		CHECK_STR(o.permitlisten[2].host, "::1");
	}
	/* the lists do not switch forwarding itself on or off */
	CHECK(o.permit_port_forwarding && o.permit_agent_forwarding);
	dssh_authkey_opts_free(&o);
	CHECK(o.permitopen == NULL && o.npermitopen == 0);

	/* restrict, then port-forwarding / agent-forwarding undo it (in order) */
	dssh_authkey_opts_init(&o);
	CHECK_EQ_INT(dssh_authkey_parse_options("restrict,port-forwarding", &o, &from,
	    why, sizeof(why)), 0);
	CHECK(o.restricted && o.permit_port_forwarding && !o.permit_agent_forwarding);
	CHECK(!o.permit_pty && !o.permit_x11_forwarding && !o.permit_user_rc);
	dssh_authkey_opts_free(&o);
	dssh_authkey_opts_init(&o);
	CHECK_EQ_INT(dssh_authkey_parse_options("restrict,agent-forwarding", &o, &from,
	    why, sizeof(why)), 0);
	CHECK(!o.permit_port_forwarding && o.permit_agent_forwarding);
	dssh_authkey_opts_free(&o);
	dssh_authkey_opts_init(&o);
	CHECK_EQ_INT(dssh_authkey_parse_options("port-forwarding,restrict", &o, &from,
	    why, sizeof(why)), 0);
	CHECK(!o.permit_port_forwarding);
	dssh_authkey_opts_free(&o);
	dssh_authkey_opts_init(&o);
	CHECK_EQ_INT(dssh_authkey_parse_options("no-port-forwarding", &o, &from,
	    why, sizeof(why)), 0);
	CHECK(!o.restricted && !o.permit_port_forwarding && o.permit_agent_forwarding);
	CHECK(o.permit_pty && o.permit_x11_forwarding);
	dssh_authkey_opts_free(&o);
	dssh_authkey_opts_init(&o);
	CHECK_EQ_INT(dssh_authkey_parse_options("no-agent-forwarding", &o, &from,
	    why, sizeof(why)), 0);
	CHECK(o.permit_port_forwarding && !o.permit_agent_forwarding);
	dssh_authkey_opts_free(&o);

	static const struct {
		const char *opts, *reason;
	} bad[] = {
		{ "permitopen", "permitopen needs a value" },
		{ "permitopen=\"\"", "permitopen needs a value" },
		{ "permitopen=host:22", "not quoted" },
		{ "permitopen=\"host\"", "invalid permitopen: missing port" },
		{ "permitopen=\"host:0\"", "invalid permitopen: bad port" },
		{ "permitopen=\"host:65536\"", "invalid permitopen: bad port" },
		{ "permitopen=\"host:-1\"", "invalid permitopen: bad port" },
		{ "permitopen=\"host: 22\"", "invalid permitopen: bad port" },
		{ "permitopen=\"host:22 \"", "invalid permitopen: bad port" },
		{ "permitopen=\"::1:22\"", "invalid permitopen: bad port" },
		{ "permitopen=\"[::1]\"", "invalid permitopen: bad [address]:port" },
		{ "permitopen=\"[::1:22\"", "invalid permitopen: bad [address]:port" },
		{ "permitopen=\"a b:22\"", "invalid permitopen: bad host" },
		{ "permitopen=\"a/b:22\"", "invalid permitopen: bad host" },
		{ "permitopen=\"a\tb:22\"", "invalid permitopen: bad host" },
		{ "permitopen=\"8080\"", "invalid permitopen: missing port" },
		{ "permitlisten", "permitlisten needs a value" },
		{ "permitlisten=\"0\"", "invalid permitlisten: bad port" },
		{ "permitlisten=\"x\"", "invalid permitlisten: bad port" },
		{ "permitlisten=\"host:\"", "invalid permitlisten: bad port" },
		{ "permitlisten=\"::1\"", "invalid permitlisten: bad port" },
		{ "permitlisten=\"[::1]80\"", "invalid permitlisten: bad [address]:port" },
		{ "port-forwarding=\"yes\"", "flag option takes no value" },
		{ "agent-forwarding=\"yes\"", "flag option takes no value" },
		{ "no-port-forwarding=\"x\"", "flag option takes no value" },
		{ "permitopen=\"ok:1\",permitopen=\"bad\"", "invalid permitopen" },
	};
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(bad); i++) {
		int r;

		dssh_authkey_opts_init(&o);
		why[0] = '\0';
		r = dssh_authkey_parse_options(bad[i].opts, &o, &from, why, sizeof(why));
		CHECK_EQ_INT(r, DSSH_ERR_INVALID_FORMAT);
		if (strstr(why, bad[i].reason) == NULL) {
			fprintf(stderr, "options \"%s\": reason \"%s\", wanted \"%s\"\n",
			    bad[i].opts, why, bad[i].reason);
			CHECK(0);
		}
		CHECK(from == NULL);
		dssh_authkey_opts_free(&o);
	}

	/* A host name of 1024 characters is accepted, 1025 refused. */
	{
		char opt[1200];
		size_t n = (size_t)sprintf(opt, "permitopen=\"");

		memset(opt + n, 'h', 1024);
		strcpy(opt + n + 1024, ":22\"");
		dssh_authkey_opts_init(&o);
		CHECK_EQ_INT(dssh_authkey_parse_options(opt, &o, &from, why, sizeof(why)), 0);
		CHECK_EQ_INT(o.npermitopen, 1);
		dssh_authkey_opts_free(&o);
		memset(opt + n, 'h', 1025);
		strcpy(opt + n + 1025, ":22\"");
		dssh_authkey_opts_init(&o);
		CHECK_EQ_INT(dssh_authkey_parse_options(opt, &o, &from, why, sizeof(why)),
		    DSSH_ERR_INVALID_FORMAT);
		dssh_authkey_opts_free(&o);
	}
	/* More than DSSH_PERMIT_MAX permitopen options are refused. */
	{
		size_t each = strlen("permitopen=\"h:1\",");
		char *many = malloc((DSSH_PERMIT_MAX + 1) * each + 1), *w = many;

		for (size_t i = 0; i <= DSSH_PERMIT_MAX; i++)
			w += sprintf(w, "permitopen=\"h:1\",");
		w[-1] = '\0';
		dssh_authkey_opts_init(&o);
		CHECK_EQ_INT(dssh_authkey_parse_options(many, &o, &from, why, sizeof(why)),
		    DSSH_ERR_INVALID_FORMAT);
		CHECK(strstr(why, "too many permitopen") != NULL);
		dssh_authkey_opts_free(&o);
		/* exactly DSSH_PERMIT_MAX is fine */
		w -= each;
		w[-1] = '\0';
		dssh_authkey_opts_init(&o);
		CHECK_EQ_INT(dssh_authkey_parse_options(many, &o, &from, why, sizeof(why)), 0);
		CHECK_EQ_INT(o.npermitopen, DSSH_PERMIT_MAX);
		dssh_authkey_opts_free(&o);
		free(many);
	}
}

/* The lists come through a real authorized_keys file into the result. */
static void
test_forward_file(void)
{
	struct dssh_authkey_opts o;
	struct dssh_auth_user u;
	struct dssh_config c;
	char dir[256], sshdir[300], ak[350];
	static char text[20000];

	snprintf(dir, sizeof(dir), "%s/fwdhome", tmpdir);
	snprintf(sshdir, sizeof(sshdir), "%s/.ssh", dir);
	snprintf(ak, sizeof(ak), "%s/authorized_keys", sshdir);
	CHECK_EQ_INT(mkdir(dir, 0755), 0);
	CHECK_EQ_INT(mkdir(sshdir, 0700), 0);
	snprintf(text, sizeof(text),
	    "restrict,port-forwarding,permitopen=\"db:5432\",permitopen=\"[::1]:*\","
	    "permitlisten=\"localhost:8080\" %s\n"
	    "permitopen=\"nohost\" %s\n"
	    "no-port-forwarding,permitlisten=\"0\" %s\n"
	    "no-agent-forwarding %s\n",
	    keys[0].line, keys[1].line, keys[3].line, keys[3].line);
	write_file(ak, text, 0600);
	memset(&u, 0, sizeof(u));
	u.name = strdup("tester");
	u.uid = getuid();
	u.gid = getgid();
	u.home = strdup(dir);
	u.shell = strdup("/bin/sh");
	u.exists = true;
	dssh_config_init(&c);
	CHECK_EQ_INT(dssh_config_finalize(&c, NULL, why, sizeof(why)), 0);

	CHECK_EQ_INT(dssh_authkeys_check(&c, &u, keys[0].blob, keys[0].bloblen,
	    "192.0.2.1", &o), 0);
	CHECK(o.restricted && o.permit_port_forwarding && !o.permit_agent_forwarding);
	CHECK_EQ_INT(o.npermitopen, 2);
	CHECK_EQ_INT(o.npermitlisten, 1);
	if (o.npermitopen == 2 && o.npermitlisten == 1) {
		CHECK_STR(o.permitopen[1].host, "::1");
		CHECK_STR(o.permitlisten[0].host, "localhost");
		CHECK_EQ_INT(o.permitlisten[0].port, 8080);
	}
	CHECK_EQ_INT(o.line, 1);
	dssh_authkey_opts_free(&o);
	/* a malformed permitopen= refuses its line: key 1 has no other */
	CHECK_EQ_INT(dssh_authkeys_check(&c, &u, keys[1].blob, keys[1].bloblen,
	    "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
	/* a malformed permitlisten= too: key 3 falls through to line 4 */
	CHECK_EQ_INT(dssh_authkeys_check(&c, &u, keys[3].blob, keys[3].bloblen,
	    "192.0.2.1", &o), 0);
	CHECK_EQ_INT(o.line, 4);
	CHECK(o.permit_port_forwarding && !o.permit_agent_forwarding);
	CHECK_EQ_INT(o.npermitlisten, 0);
	dssh_authkey_opts_free(&o);
	dssh_config_free(&c);
	dssh_auth_user_clear(&u);
}

int
main(void)
{
	int rc;

	dssh_log_init("test_auth", DSSH_LOG_FATAL, true);
	umask(022);
	if ((rc = dssh_test_keygen_dir(tmpdir)) != 0)
		return rc;
	chmod(tmpdir, 0755);
	snprintf(home, sizeof(home), "%s/home", tmpdir);
	CHECK_EQ_INT(mkdir(home, 0755), 0);
	make_keys();
	DSSH_RUN(test_options);
	DSSH_RUN(test_lines);
	DSSH_RUN(test_files);
	DSSH_RUN(test_allow_deny);
	DSSH_RUN(test_user_checks);
	DSSH_RUN(test_root);
	DSSH_RUN(test_forward_options);
	DSSH_RUN(test_forward_file);
	dssh_test_dir_done(tmpdir);
	DSSH_TEST_END();
}
