/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * User certificate policy (dssh_authkeys_check with a certificate blob),
 * certificates made by the real `ssh-keygen -s` at test time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "dssh_auth.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_sshkey.h"
#include "dssh_test.h"
#include "dssh_test_dir.h"

static char tmpdir[] = "/tmp/dssh-ut-certauth-XXXXXX";
static char home[128];
static struct dssh_config cfg;
static struct dssh_auth_user user;

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
}

/* The decoded blob of the first line of path. */
static size_t
load_blob(const char *path, uint8_t **blob)
{
	char line[16384], *sp;
	size_t len = 0;
	FILE *f = fopen(path, "r");

	*blob = NULL;
	if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
		if (f != NULL)
			fclose(f);
		return 0;
	}
	fclose(f);
	if ((sp = strchr(line, ' ')) == NULL)
		return 0;
	sp++;
	if (dssh_sshkey_b64_decode(sp, strcspn(sp, " \n"), blob, &len) != 0)
		return 0;
	return len;
}

static char *
slurp(const char *path)
{
	static char buf[16384];
	FILE *f = fopen(path, "r");
	size_t n;

	buf[0] = '\0';
	if (f == NULL)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Sign a fresh certificate for tmpdir/user with ca; check it. */
static int
cert_check(const char *ca, const char *opts, const char *ip, struct dssh_authkey_opts *o)
{
	char p[256];
	uint8_t *blob;
	size_t len;
	int r;

	CHECK_EQ_INT(dssh_test_sh("cd %s && rm -f user-cert.pub && ssh-keygen -q -s %s -I unit %s "
	    "user.pub", tmpdir, ca, opts), 0);
	snprintf(p, sizeof(p), "%s/user-cert.pub", tmpdir);
	len = load_blob(p, &blob);
	CHECK(len > 0);
	r = dssh_authkeys_check(&cfg, &user, blob, len, ip, o);
	free(blob);
	return r;
}

static void
setup(void)
{
	char p[256], ak[8192], ca2[4096];

	CHECK_EQ_INT(dssh_test_sh("cd %s && ssh-keygen -q -N '' -t ed25519 -f ca && "
	    "ssh-keygen -q -N '' -t ecdsa -f ca2 && ssh-keygen -q -N '' -t ed25519 -f ca3 && "
	    "ssh-keygen -q -N '' -t ed25519 -f user && cp ca.pub trusted && "
	    "mkdir -m 700 %s/.ssh", tmpdir, home), 0);
	/* slurp's buffer is static: one call at a time */
	snprintf(ca2, sizeof(ca2), "%s", slurp(strcat(strcpy(p, tmpdir), "/ca2.pub")));
	snprintf(ak, sizeof(ak), "cert-authority,principals=\"ops,admin\" %s"
	    "cert-authority,command=\"/bin/true\" %s",
	    ca2, slurp(strcat(strcpy(p, tmpdir), "/ca3.pub")));
	snprintf(p, sizeof(p), "%s/.ssh/authorized_keys", home);
	write_file(p, ak);
	snprintf(p, sizeof(p), "%s/.ssh/principals", home);
	write_file(p, "# comment\n  ops-team  \n\nsecond\n");
	memset(&user, 0, sizeof(user));
	user.name = strdup("tester");
	user.uid = getuid();
	user.gid = getgid();
	user.home = strdup(home);
	user.shell = strdup("/bin/sh");
	user.exists = true;
}

static void
config(bool principals_file, const char *revoked)
{
	char p[256];

	dssh_config_free(&cfg);
	dssh_config_init(&cfg);
	snprintf(p, sizeof(p), "TrustedUserCAKeys %s/trusted", tmpdir);
	CHECK_EQ_INT(dssh_config_apply_line(&cfg, p, "t", 1, NULL, 0), 0);
	if (principals_file)
		CHECK_EQ_INT(dssh_config_apply_line(&cfg,
		    "AuthorizedPrincipalsFile %h/.ssh/principals", "t", 2, NULL, 0), 0);
	if (revoked != NULL) {
		snprintf(p, sizeof(p), "RevokedKeys %s", revoked);
		CHECK_EQ_INT(dssh_config_apply_line(&cfg, p, "t", 3, NULL, 0), 0);
	}
	CHECK_EQ_INT(dssh_config_finalize(&cfg, NULL, NULL, 0), 0);
}

static void
test_trusted_ca(void)
{
	struct dssh_authkey_opts o;

	config(false, NULL);
	CHECK_EQ_INT(cert_check("ca", "-n tester", "192.0.2.1", &o), 0);
	CHECK(o.permit_pty && o.permit_port_forwarding && o.permit_agent_forwarding &&
	    o.permit_x11_forwarding && o.permit_user_rc && o.command == NULL);
	dssh_authkey_opts_free(&o);
	CHECK_EQ_INT(cert_check("ca", "-n a,tester,b -V -1h:+1h", "192.0.2.1", &o), 0);
	dssh_authkey_opts_free(&o);
	/* extensions: absent = not permitted */
	CHECK_EQ_INT(cert_check("ca", "-n tester -O clear", "192.0.2.1", &o), 0);
	CHECK(!o.permit_pty && !o.permit_port_forwarding && !o.permit_agent_forwarding &&
	    !o.permit_x11_forwarding && !o.permit_user_rc);
	dssh_authkey_opts_free(&o);
	CHECK_EQ_INT(cert_check("ca", "-n tester -O clear -O permit-port-forwarding "
	    "-O permit-X11-forwarding", "192.0.2.1", &o), 0);
	CHECK(!o.permit_pty && o.permit_port_forwarding && !o.permit_agent_forwarding &&
	    o.permit_x11_forwarding && !o.permit_user_rc);
	dssh_authkey_opts_free(&o);
	/* critical options */
	CHECK_EQ_INT(cert_check("ca", "-n tester -O force-command='ls -l'", "192.0.2.1", &o), 0);
	CHECK_STR(o.command, "ls -l");
	dssh_authkey_opts_free(&o);
	CHECK_EQ_INT(cert_check("ca", "-n tester -O source-address=192.0.2.0/24,2001:db8::/32",
	    "192.0.2.77", &o), 0);
	dssh_authkey_opts_free(&o);
	CHECK_EQ_INT(cert_check("ca", "-n tester -O source-address=192.0.2.0/24,2001:db8::/32",
	    "2001:db8::5", &o), 0);
	dssh_authkey_opts_free(&o);
	CHECK_EQ_INT(cert_check("ca", "-n tester -O source-address=192.0.2.0/24",
	    "198.51.100.1", &o), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(cert_check("ca", "-n tester -O source-address=192.0.2.0/24", NULL, &o),
	    DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(cert_check("ca", "-n tester -O critical:frobnicate=x", "192.0.2.1", &o),
	    DSSH_ERR_NOT_FOUND);
	/* unknown extensions are ignored */
	CHECK_EQ_INT(cert_check("ca", "-n tester -O extension:frob@example.com",
	    "192.0.2.1", &o), 0);
	dssh_authkey_opts_free(&o);
	/* validity, principals, type, CA */
	CHECK_EQ_INT(cert_check("ca", "-n tester -V 20200101:20200102", "192.0.2.1", &o),
	    DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(cert_check("ca", "-n tester -V +1h:+2h", "192.0.2.1", &o),
	    DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(cert_check("ca", "-n other", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(cert_check("ca", "-n testers", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(cert_check("ca", "-h -n tester", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(cert_check("ca", "", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(cert_check("user", "-n tester", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
}

static void
test_cert_authority(void)
{
	struct dssh_authkey_opts o;

	config(false, NULL);
	CHECK_EQ_INT(cert_check("ca2", "-n admin", "192.0.2.1", &o), 0);
	dssh_authkey_opts_free(&o);
	CHECK_EQ_INT(cert_check("ca2", "-n x,ops", "192.0.2.1", &o), 0);
	dssh_authkey_opts_free(&o);
	/* principals= given: the user name alone is not enough */
	CHECK_EQ_INT(cert_check("ca2", "-n tester", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
	/* no principals=: the user name; the line's command= applies */
	CHECK_EQ_INT(cert_check("ca3", "-n tester", "192.0.2.1", &o), 0);
	CHECK_STR(o.command, "/bin/true");
	dssh_authkey_opts_free(&o);
	CHECK_EQ_INT(cert_check("ca3", "-n admin", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
	/* the same forced command twice is fine, two different ones are not */
	CHECK_EQ_INT(cert_check("ca3", "-n tester -O force-command=/bin/true", "192.0.2.1",
	    &o), 0);
	dssh_authkey_opts_free(&o);
	CHECK_EQ_INT(cert_check("ca3", "-n tester -O force-command=/bin/false", "192.0.2.1",
	    &o), DSSH_ERR_NOT_FOUND);
}

static void
test_principals_file(void)
{
	struct dssh_authkey_opts o;

	config(true, NULL);
	CHECK_EQ_INT(cert_check("ca", "-n ops-team", "192.0.2.1", &o), 0);
	dssh_authkey_opts_free(&o);
	CHECK_EQ_INT(cert_check("ca", "-n x,second", "192.0.2.1", &o), 0);
	dssh_authkey_opts_free(&o);
	CHECK_EQ_INT(cert_check("ca", "-n tester", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(cert_check("ca", "-n comment", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
	/* StrictModes: a group-writable principals file is ignored */
	CHECK_EQ_INT(dssh_test_sh("chmod 620 %s/.ssh/principals", home), 0);
	CHECK_EQ_INT(cert_check("ca", "-n ops-team", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(dssh_test_sh("chmod 600 %s/.ssh/principals", home), 0);
	CHECK_EQ_INT(cert_check("ca", "-n ops-team", "192.0.2.1", &o), 0);
	dssh_authkey_opts_free(&o);
}

static void
test_revoked(void)
{
	struct dssh_authkey_opts o;
	char p[256], q[256];

	snprintf(p, sizeof(p), "%s/revoked", tmpdir);
	config(false, p);
	write_file(p, "# nothing revoked\n");
	CHECK_EQ_INT(cert_check("ca", "-n tester", "192.0.2.1", &o), 0);
	dssh_authkey_opts_free(&o);
	snprintf(q, sizeof(q), "%s/user.pub", tmpdir);
	write_file(p, slurp(q));
	CHECK_EQ_INT(cert_check("ca", "-n tester", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
	snprintf(q, sizeof(q), "%s/ca.pub", tmpdir);
	write_file(p, slurp(q));
	CHECK_EQ_INT(cert_check("ca", "-n tester", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(cert_check("ca3", "-n tester", "192.0.2.1", &o), 0);
	dssh_authkey_opts_free(&o);
	/* an unreadable RevokedKeys refuses everything */
	unlink(p);
	CHECK_EQ_INT(cert_check("ca3", "-n tester", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
	/* a KRL: by serial and key ID for ca's certificates */
	CHECK_EQ_INT(dssh_test_sh("cd %s && printf 'serial: 77\\nid: bad-id\\n' > spec && "
	    "ssh-keygen -q -k -f revoked -s ca.pub spec", tmpdir), 0);
	CHECK_EQ_INT(cert_check("ca", "-n tester -z 77", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(cert_check("ca", "-n tester -z 78 -I bad-id", "192.0.2.1", &o),
	    DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(cert_check("ca", "-n tester -z 78", "192.0.2.1", &o), 0);
	dssh_authkey_opts_free(&o);
	CHECK_EQ_INT(cert_check("ca3", "-n tester -z 77", "192.0.2.1", &o), 0);
	dssh_authkey_opts_free(&o);
	/* a KRL listing the user key itself */
	CHECK_EQ_INT(dssh_test_sh("cd %s && ssh-keygen -q -k -u -f revoked user.pub", tmpdir), 0);
	CHECK_EQ_INT(cert_check("ca3", "-n tester -z 78", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
	/* a malformed KRL refuses everything */
	write_file(p, "SSHKRL\n");
	{
		FILE *f = fopen(p, "ab");

		fwrite("\0\0\0\0\2garbage", 1, 12, f);
		fclose(f);
	}
	CHECK_EQ_INT(cert_check("ca", "-n tester -z 78", "192.0.2.1", &o), DSSH_ERR_NOT_FOUND);
}

static void
test_bad_blobs(void)
{
	struct dssh_authkey_opts o;
	char p[256];
	uint8_t *blob;
	size_t len;

	config(false, NULL);
	CHECK_EQ_INT(dssh_test_sh("cd %s && rm -f user-cert.pub && ssh-keygen -q -s ca -I unit -n tester "
	    "user.pub", tmpdir), 0);
	snprintf(p, sizeof(p), "%s/user-cert.pub", tmpdir);
	len = load_blob(p, &blob);
	CHECK_EQ_INT(dssh_authkeys_check(&cfg, &user, blob, len, "192.0.2.1", &o), 0);
	dssh_authkey_opts_free(&o);
	for (size_t n = 0; n < len; n += 3)
		CHECK_EQ_INT(dssh_authkeys_check(&cfg, &user, blob, n, "192.0.2.1", &o),
		    DSSH_ERR_NOT_FOUND);
	blob[len / 2] ^= 1;
	CHECK_EQ_INT(dssh_authkeys_check(&cfg, &user, blob, len, "192.0.2.1", &o),
	    DSSH_ERR_NOT_FOUND);
	free(blob);
}

int
main(void)
{
	int rc;

	dssh_log_init("test_certauth", DSSH_LOG_FATAL, true);
	umask(022);
	if ((rc = dssh_test_keygen_dir(tmpdir)) != 0)
		return rc;
	chmod(tmpdir, 0755);
	snprintf(home, sizeof(home), "%s/home", tmpdir);
	CHECK_EQ_INT(mkdir(home, 0755), 0);
	dssh_config_init(&cfg);
	setup();
	DSSH_RUN(test_trusted_ca);
	DSSH_RUN(test_cert_authority);
	DSSH_RUN(test_principals_file);
	DSSH_RUN(test_revoked);
	DSSH_RUN(test_bad_blobs);
	dssh_config_free(&cfg);
	dssh_auth_user_clear(&user);
	dssh_test_dir_done(tmpdir);
	DSSH_TEST_END();
}
