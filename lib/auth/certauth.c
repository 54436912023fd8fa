/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * User certificates (PROTOCOL.certkeys, sshd_config(5) TrustedUserCAKeys,
 * AuthorizedPrincipalsFile, RevokedKeys; sshd(8) cert-authority lines).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth_int.h"
#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_log.h"

#define CERT_MAX_LINE 8192

static bool
file_set(const char *v)
{
	return v != NULL && strcmp(v, "none") != 0;
}

/* One line of f (without '\n'); false at EOF. Over-long lines are cut. */
static bool
read_line(FILE *f, char *line, size_t cap, bool *bad)
{
	size_t len = 0;
	int ch;

	*bad = false;
	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (ch == '\0' || len + 1 >= cap)
			*bad = true;
		else
			line[len++] = (char)ch;
	}
	if (ch == EOF && len == 0 && !*bad)
		return false;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
	    line[len - 1] == '\t'))
		len--;
	line[len] = '\0';
	return true;
}

/*
 * Does the key file at path (authorized_keys syntax) list one of the blobs?
 * 1 yes, 0 no, DSSH_ERR_NOT_FOUND when it cannot be opened.
 */
static int
keyfile_lists(const char *path, const uint8_t *const *blobs, const size_t *lens, size_t n)
{
	char line[CERT_MAX_LINE];
	FILE *f;
	bool bad;
	int found = 0;

	if ((f = fopen(path, "re")) == NULL)
		return DSSH_ERR_NOT_FOUND;
	while (!found && read_line(f, line, sizeof(line), &bad)) {
		struct dssh_authkey_opts o;
		char *from = NULL, why[128];
		uint8_t *blob = NULL;
		size_t bloblen = 0;
		bool ca;

		if (bad || dssh_authkeys_parse_line(line, &o, &from, &ca, &blob, &bloblen,
		    why, sizeof(why)) != 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (blobs[i] != NULL && lens[i] == bloblen &&
			    CRYPTO_memcmp(blobs[i], blob, bloblen) == 0)
				found = 1;
		dssh_authkey_opts_free(&o);
		free(from);
		free(blob);
	}
	fclose(f);
	return found;
}

#define KRL_MAX_SIZE (64u << 20)

/*
 * A binary KRL at path? 1 yes (data and length malloc'd), 0 no (a text list),
 * DSSH_ERR_NOT_FOUND unreadable, DSSH_ERR_ALLOC.
 */
static int
read_krl(const char *path, uint8_t **datap, size_t *lenp)
{
	uint8_t *data = NULL, *nd;
	size_t len = 0, cap = 0;
	FILE *f;

	*datap = NULL;
	*lenp = 0;
	if ((f = fopen(path, "re")) == NULL)
		return DSSH_ERR_NOT_FOUND;
	for (;;) {
		size_t n;

		if (len == cap) {
			cap = cap == 0 ? 8192 : cap * 2;
			if (cap > KRL_MAX_SIZE || (nd = realloc(data, cap)) == NULL) {
				free(data);
				fclose(f);
				return cap > KRL_MAX_SIZE ? DSSH_ERR_NOT_FOUND : DSSH_ERR_ALLOC;
			}
			data = nd;
		}
		if ((n = fread(data + len, 1, cap - len, f)) == 0)
			break;
		len += n;
	}
	fclose(f);
	if (!dssh_sshkey_is_krl(data, len)) {
		free(data);
		return 0;
	}
	*datap = data;
	*lenp = len;
	return 1;
}

bool
auth_key_revoked(const struct dssh_config *cfg, const uint8_t *blob, size_t len,
    const struct dssh_sshkey_cert *cert)
{
	uint8_t *krl = NULL;
	size_t krllen = 0;
	const uint8_t *blobs[3] = { blob, NULL, NULL };
	size_t lens[3] = { len, 0, 0 };
	struct dssh_buf kb;
	int r;

	if (!file_set(cfg->revoked_keys))
		return false;
	dssh_buf_init(&kb, 0);
	if (cert != NULL) {
		if (dssh_sshkey_public_blob(cert->key, &kb) != 0) {
			dssh_buf_free(&kb);
			return true;
		}
		blobs[1] = dssh_buf_ptr(&kb);
		lens[1] = dssh_buf_len(&kb);
		blobs[2] = cert->ca_blob;
		lens[2] = cert->ca_bloblen;
	}
	if ((r = read_krl(cfg->revoked_keys, &krl, &krllen)) == 1) {
		/* KRL: the key itself, or for a cert its key and CA, in blobs. */
		r = dssh_sshkey_krl_check(krl, krllen, cert != NULL ? blobs + 1 : blobs,
		    cert != NULL ? lens + 1 : lens, cert != NULL ? 2 : 1, cert);
		free(krl);
		dssh_buf_free(&kb);
		if (r < 0)
			dssh_error("RevokedKeys %s: malformed or unsupported KRL: refusing "
			    "all keys", cfg->revoked_keys);
		return r != 0;
	}
	if (r == 0)
		r = keyfile_lists(cfg->revoked_keys, blobs, lens, 3);
	dssh_buf_free(&kb);
	if (r == DSSH_ERR_NOT_FOUND) {
		dssh_error("RevokedKeys %s cannot be read (%s): refusing all keys",
		    cfg->revoked_keys, strerror(errno));
		return true;
	}
	return r != 0;      /* listed, or cannot tell: refuse */
}

static bool
cert_has_principal(const struct dssh_sshkey_cert *c, const char *p, size_t n)
{
	for (size_t i = 0; i < c->nprincipals; i++)
		if (strlen(c->principals[i]) == n && memcmp(c->principals[i], p, n) == 0)
			return true;
	return false;
}

bool
auth_cert_principal_ok(const struct dssh_sshkey_cert *c, const char *list,
    const char *user)
{
	if (list == NULL)
		return cert_has_principal(c, user, strlen(user));
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, ",");

		if (n > 0 && cert_has_principal(c, p, n))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

/* AuthorizedPrincipalsFile: one principal a line, '#' comments. */
static bool
principals_file_ok(const struct dssh_config *cfg, const struct dssh_auth_user *user,
    const struct dssh_sshkey_cert *c)
{
	struct auth_fsids ids;
	char line[CERT_MAX_LINE], *path = NULL;
	FILE *f = NULL;
	bool bad, ok = false;
	int fd;

	if (dssh_authkeys_expand_path(cfg->authorized_principals_file, user, &path) != 0) {
		dssh_info("bad AuthorizedPrincipalsFile \"%s\"", cfg->authorized_principals_file);
		return false;
	}
	if (auth_fsids_enter(user, &ids) != 0) {
		free(path);
		return false;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		dssh_info("AuthorizedPrincipalsFile %s: %s", path, strerror(errno));
	else if (auth_user_file_ok(cfg, user, path, fd) != 0 ||
	    (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		fd = -1;
	}
	auth_fsids_leave(&ids);
	if (fd < 0) {
		free(path);
		return false;
	}
	while (!ok && read_line(f, line, sizeof(line), &bad)) {
		const char *p = line;

		while (*p == ' ' || *p == '\t')
			p++;
		if (bad || *p == '\0' || *p == '#')
			continue;
		ok = cert_has_principal(c, p, strlen(p));
	}
	fclose(f);
	free(path);
	return ok;
}

static void
cert_refused(const struct dssh_sshkey_cert *c, const char *user, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
cert_refused(const struct dssh_sshkey_cert *c, const char *user, const char *fmt, ...)
{
	char why[512], fp[DSSH_SSHKEY_FP_LEN] = "?";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	(void)dssh_sshkey_fingerprint(c->ca, fp, sizeof(fp));
	dssh_info("certificate ID \"%s\" (serial %llu) signed by CA %s refused for %s: %s",
	    c->key_id, (unsigned long long)c->serial, fp, user, why);
}

/* A string option's data is itself one string. */
static int
opt_string(const struct dssh_sshkey_cert_opt *o, char **out)
{
	struct dssh_buf b;

	dssh_buf_from(&b, o->data, o->len);
	if (dssh_buf_get_cstring(&b, out, NULL) != 0)
		return DSSH_ERR_INVALID_FORMAT;
	if (dssh_buf_len(&b) != 0) {
		free(*out);
		*out = NULL;
		return DSSH_ERR_INVALID_FORMAT;
	}
	return 0;
}

/* Critical options: every one known and satisfied, or the cert is refused. */
static int
apply_critical(const struct dssh_sshkey_cert *c, const char *user, const char *remote_ip,
    struct dssh_authkey_opts *o)
{
	for (size_t i = 0; i < c->ncritical; i++) {
		const struct dssh_sshkey_cert_opt *co = &c->critical[i];
		char *v = NULL;

		if (strcmp(co->name, "force-command") == 0) {
			if (opt_string(co, &v) != 0) {
				cert_refused(c, user, "malformed force-command");
				return DSSH_ERR_PERMISSION;
			}
			if (o->command != NULL && strcmp(o->command, v) != 0) {
				cert_refused(c, user, "force-command conflicts with the "
				    "authorized_keys command=");
				free(v);
				return DSSH_ERR_PERMISSION;
			}
			free(o->command);
			o->command = v;
		} else if (strcmp(co->name, "source-address") == 0) {
			if (opt_string(co, &v) != 0 || *v == '\0') {
				cert_refused(c, user, "malformed source-address");
				free(v);
				return DSSH_ERR_PERMISSION;
			}
			if (remote_ip == NULL ||
			    dssh_auth_match_addr_list(remote_ip, NULL, v) != 1) {
				cert_refused(c, user, "source address %s not in source-address "
				    "\"%s\"", remote_ip != NULL ? remote_ip : "?", v);
				free(v);
				return DSSH_ERR_PERMISSION;
			}
			free(v);
		} else {
			cert_refused(c, user, "unknown critical option \"%s\"", co->name);
			return DSSH_ERR_PERMISSION;
		}
	}
	return 0;
}

/* Extensions grant; an absent one is not permitted. */
static void
apply_extensions(const struct dssh_sshkey_cert *c, struct dssh_authkey_opts *o)
{
#define EXT(name) (dssh_sshkey_cert_find(c->extensions, c->nextensions, name) != NULL)
	o->permit_pty = o->permit_pty && EXT("permit-pty");
	o->permit_port_forwarding = o->permit_port_forwarding && EXT("permit-port-forwarding");
	o->permit_agent_forwarding = o->permit_agent_forwarding &&
	    EXT("permit-agent-forwarding");
	o->permit_user_rc = o->permit_user_rc && EXT("permit-user-rc");
	o->permit_x11_forwarding = o->permit_x11_forwarding && EXT("permit-X11-forwarding");
#undef EXT
}

/* The trusted-CA route: 0 accepted (o filled), DSSH_ERR_NOT_FOUND otherwise. */
static int
trusted_ca(const struct dssh_config *cfg, const struct dssh_auth_user *user,
    const struct dssh_sshkey_cert *c, bool *ca_seen, struct dssh_authkey_opts *o)
{
	const uint8_t *blobs[1] = { c->ca_blob };
	size_t lens[1] = { c->ca_bloblen };
	int r;

	if (!file_set(cfg->trusted_user_ca_keys))
		return DSSH_ERR_NOT_FOUND;
	if ((r = keyfile_lists(cfg->trusted_user_ca_keys, blobs, lens, 1)) != 1) {
		if (r == DSSH_ERR_NOT_FOUND)
			dssh_info("TrustedUserCAKeys %s: %s", cfg->trusted_user_ca_keys,
			    strerror(errno));
		return DSSH_ERR_NOT_FOUND;
	}
	*ca_seen = true;
	if (file_set(cfg->authorized_principals_file)) {
		if (!principals_file_ok(cfg, user, c)) {
			cert_refused(c, user->name, "wrong principal (none listed in "
			    "AuthorizedPrincipalsFile %s)", cfg->authorized_principals_file);
			return DSSH_ERR_NOT_FOUND;
		}
	} else if (!auth_cert_principal_ok(c, NULL, user->name)) {
		cert_refused(c, user->name, "wrong principal (%s not in the certificate)",
		    user->name);
		return DSSH_ERR_NOT_FOUND;
	}
	dssh_authkey_opts_init(o);
	if ((o->file = strdup(cfg->trusted_user_ca_keys)) == NULL)
		return DSSH_ERR_ALLOC;
	return 0;
}

int
auth_cert_check(const struct dssh_config *cfg, const struct dssh_auth_user *user,
    const uint8_t *blob, size_t len, const char *remote_ip,
    struct dssh_authkey_opts *opts)
{
	struct dssh_sshkey_cert *c = NULL;
	uint64_t now = (uint64_t)time(NULL);
	bool ca_seen = false;
	int r;

	dssh_authkey_opts_init(opts);
	if ((r = dssh_sshkey_cert_parse(blob, len, &c)) != 0) {
		dssh_info("certificate refused for %s: invalid (%s)", user->name,
		    r == DSSH_ERR_SIGNATURE_INVALID ? "bad CA signature" : "malformed");
		return DSSH_ERR_NOT_FOUND;
	}
	r = DSSH_ERR_NOT_FOUND;
	if (c->cert_type != DSSH_SSHKEY_CERT_USER) {
		cert_refused(c, user->name, "not a user certificate");
		goto out;
	}
	if (auth_key_revoked(cfg, blob, len, c)) {
		cert_refused(c, user->name, "revoked (certificate, key or CA in RevokedKeys)");
		goto out;
	}
	if ((r = trusted_ca(cfg, user, c, &ca_seen, opts)) == DSSH_ERR_NOT_FOUND)
		r = auth_keys_files_check(cfg, user, blob, len, c, &ca_seen, remote_ip, opts);
	if (r != 0) {
		if (r == DSSH_ERR_NOT_FOUND && !ca_seen)
			cert_refused(c, user->name, "unknown CA (not in TrustedUserCAKeys nor "
			    "a cert-authority line)");
		goto out;
	}
	r = DSSH_ERR_NOT_FOUND;
	if (now < c->valid_after) {
		cert_refused(c, user->name, "not yet valid");
		goto out;
	}
	if (now >= c->valid_before) {
		cert_refused(c, user->name, "expired");
		goto out;
	}
	if (apply_critical(c, user->name, remote_ip, opts) != 0)
		goto out;
	apply_extensions(c, opts);
	dssh_info("certificate ID \"%s\" (serial %llu) accepted for %s via %s",
	    c->key_id, (unsigned long long)c->serial, user->name,
	    opts->file != NULL ? opts->file : "?");
	r = 0;
out:
	if (r != 0)
		dssh_authkey_opts_free(opts);
	dssh_sshkey_cert_free(c);
	return r;
}
