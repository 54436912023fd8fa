/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sys/fsuid.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth_int.h"
#include "dssh_auth.h"
#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_sshkey.h"
#include "dssh_util.h"

#define AUTHKEYS_MAX_LINE 8192
#define AUTHKEYS_MAX_ENV 1024

static int
why_set(char *why, size_t whylen, const char *msg)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", msg);
	return DSSH_ERR_INVALID_FORMAT;
}

void
dssh_authkey_opts_init(struct dssh_authkey_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->permit_pty = true;
	o->permit_port_forwarding = true;
	o->permit_agent_forwarding = true;
	o->permit_x11_forwarding = true;
	o->permit_user_rc = true;
}

void
dssh_authkey_opts_free(struct dssh_authkey_opts *o)
{
	if (o == NULL)
		return;
	free(o->command);
	for (size_t i = 0; i < o->nenv; i++)
		free(o->env[i]);
	free(o->env);
	free(o->file);
	free(o->cert_principals);
	dssh_config_permits_free(o->permitopen, o->npermitopen);
	dssh_config_permits_free(o->permitlisten, o->npermitlisten);
	dssh_authkey_opts_init(o);
}

/*
 * expiry-time="YYYYMMDD[HHMM[SS]][Z]": local time unless 'Z' (as sshd).
 */
static int
parse_expiry(const char *s, uint64_t *out)
{
	struct tm tm;
	size_t len = strlen(s);
	bool utc = false;
	char digits[16];
	time_t t;
	int v[6] = { 0, 0, 0, 0, 0, 0 };

	if (len > 0 && (s[len - 1] == 'Z' || s[len - 1] == 'z')) {
		utc = true;
		len--;
	}
	if (len != 8 && len != 12 && len != 14)
		return DSSH_ERR_INVALID_FORMAT;
	memcpy(digits, s, len);
	digits[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)digits[i]))
			return DSSH_ERR_INVALID_FORMAT;
	v[0] = (digits[0] - '0') * 1000 + (digits[1] - '0') * 100 +
	    (digits[2] - '0') * 10 + (digits[3] - '0');
	for (size_t i = 1; i < len / 2 - 1; i++)
		v[i] = (digits[2 + 2 * i] - '0') * 10 + (digits[3 + 2 * i] - '0');
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
	    v[4] > 59 || v[5] > 60 || v[0] < 1970)
		return DSSH_ERR_INVALID_FORMAT;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	tm.tm_isdst = -1;
	t = utc ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1 || t <= 0)
		return DSSH_ERR_INVALID_FORMAT;
	*out = (uint64_t)t;
	return 0;
}

static bool
valid_env(const char *s)
{
	const char *eq = strchr(s, '=');

	if (eq == NULL || eq == s)
		return false;
	for (const char *p = s; p < eq; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	return !isdigit((unsigned char)s[0]);
}

/* permitopen="host:port" or permitlisten="[host:]port", as sshd. */
static int
add_permit(struct dssh_authkey_opts *o, bool listen, const char *val,
    char *why, size_t whylen)
{
	struct dssh_config_permit p, **v;
	size_t *n;
	char msg[128];
	int r;

	v = listen ? &o->permitlisten : &o->permitopen;
	n = listen ? &o->npermitlisten : &o->npermitopen;
	if (val == NULL || *val == '\0') {
		snprintf(msg, sizeof(msg), "%s needs a value",
		    listen ? "permitlisten" : "permitopen");
		return why_set(why, whylen, msg);
	}
	if ((r = dssh_config_parse_permit(val, listen, &p, msg, sizeof(msg))) != 0) {
		if (r == DSSH_ERR_INVALID_FORMAT) {
			char full[160];

			snprintf(full, sizeof(full), "invalid %s: %s",
			    listen ? "permitlisten" : "permitopen", msg);
			return why_set(why, whylen, full);
		}
		return r;
	}
	r = dssh_config_permits_add(v, n, &p);
	free(p.host);
	if (r == DSSH_ERR_NO_BUFFER_SPACE)
		return why_set(why, whylen, listen ? "too many permitlisten options" :
		    "too many permitopen options");
	return r;
}

static int
parse_options(const char *s, struct dssh_authkey_opts *o, char **from_out,
    bool *cert_out, char *why, size_t whylen)
{
	static const struct {
		const char *name;
		size_t off;     /* offsetof the bool, or 0 for restrict */
		bool value;
	} flags[] = {
		{ "no-pty", offsetof(struct dssh_authkey_opts, permit_pty), false },
		{ "pty", offsetof(struct dssh_authkey_opts, permit_pty), true },
		{ "no-port-forwarding", offsetof(struct dssh_authkey_opts, permit_port_forwarding), false },
		{ "port-forwarding", offsetof(struct dssh_authkey_opts, permit_port_forwarding), true },
		{ "no-agent-forwarding", offsetof(struct dssh_authkey_opts, permit_agent_forwarding), false },
		{ "agent-forwarding", offsetof(struct dssh_authkey_opts, permit_agent_forwarding), true },
		{ "no-x11-forwarding", offsetof(struct dssh_authkey_opts, permit_x11_forwarding), false },
		{ "x11-forwarding", offsetof(struct dssh_authkey_opts, permit_x11_forwarding), true },
		{ "no-user-rc", offsetof(struct dssh_authkey_opts, permit_user_rc), false },
		{ "user-rc", offsetof(struct dssh_authkey_opts, permit_user_rc), true },
	};
	char *val = NULL, *from = NULL;
	bool cert = false, principals = false;
	const char *p = s;
	int r = DSSH_ERR_INVALID_FORMAT;

	if (from_out != NULL)
		*from_out = NULL;
	if ((val = malloc(strlen(s) + 1)) == NULL)
		return DSSH_ERR_ALLOC;
	for (;;) {
		const char *name = p;
		size_t nlen;
		bool has_val = false;

		while (isalnum((unsigned char)*p) || *p == '-')
			p++;
		nlen = (size_t)(p - name);
		if (nlen == 0) {
			why_set(why, whylen, "empty or malformed option");
			goto out;
		}
		if (*p == '=') {
			char *w = val;

			has_val = true;
			if (*++p != '"') {
				why_set(why, whylen, "option value not quoted");
				goto out;
			}
			p++;
			while (*p != '\0' && *p != '"') {
				/* As sshd: only \" is an escape in a value. */
				if (*p == '\\' && p[1] == '"')
					p++;
				*w++ = *p++;
			}
			if (*p != '"') {
				why_set(why, whylen, "unterminated quoted option value");
				goto out;
			}
			p++;
			*w = '\0';
		}
#define IS(n) (nlen == strlen(n) && strncasecmp(name, (n), nlen) == 0)
		if (IS("restrict") || IS("cert-authority")) {
			if (has_val) {
				why_set(why, whylen, "flag option takes no value");
				goto out;
			}
			if (IS("cert-authority"))
				cert = true;
			else {
				o->restricted = true;
				o->permit_pty = o->permit_port_forwarding = false;
				o->permit_agent_forwarding = false;
				o->permit_x11_forwarding = o->permit_user_rc = false;
			}
		} else if (IS("command")) {
			if (!has_val || o->command != NULL) {
				why_set(why, whylen, !has_val ? "command needs a value" :
				    "multiple command clauses");
				goto out;
			}
			if ((o->command = strdup(val)) == NULL) {
				r = DSSH_ERR_ALLOC;
				goto out;
			}
		} else if (IS("from")) {
			if (!has_val || from != NULL || *val == '\0') {
				why_set(why, whylen, !has_val || *val == '\0' ?
				    "from needs a value" : "multiple from clauses");
				goto out;
			}
			if ((from = strdup(val)) == NULL) {
				r = DSSH_ERR_ALLOC;
				goto out;
			}
		} else if (IS("environment")) {
			char **ne;

			if (!has_val || !valid_env(val)) {
				why_set(why, whylen, "invalid environment string");
				goto out;
			}
			if (o->nenv >= AUTHKEYS_MAX_ENV) {
				why_set(why, whylen, "too many environment options");
				goto out;
			}
			if ((ne = realloc(o->env, (o->nenv + 1) * sizeof(*ne))) == NULL) {
				r = DSSH_ERR_ALLOC;
				goto out;
			}
			o->env = ne;
			if ((ne[o->nenv] = strdup(val)) == NULL) {
				r = DSSH_ERR_ALLOC;
				goto out;
			}
			o->nenv++;
		} else if (IS("expiry-time")) {
			uint64_t t;

			if (!has_val || parse_expiry(val, &t) != 0) {
				why_set(why, whylen, "invalid expiry-time");
				goto out;
			}
			if (o->expiry_time == 0 || t < o->expiry_time)
				o->expiry_time = t;
		} else if (IS("permitopen") || IS("permitlisten")) {
			if ((r = add_permit(o, IS("permitlisten"), has_val ? val : NULL,
			    why, whylen)) != 0)
				goto out;
			r = DSSH_ERR_INVALID_FORMAT;
		} else if (IS("principals")) {
			if (!has_val || *val == '\0' || o->cert_principals != NULL) {
				why_set(why, whylen, !has_val || *val == '\0' ?
				    "principals needs a value" : "multiple principals clauses");
				goto out;
			}
			if ((o->cert_principals = strdup(val)) == NULL) {
				r = DSSH_ERR_ALLOC;
				goto out;
			}
			principals = true;
		} else {
			size_t i;

			for (i = 0; i < DSSH_ARRAY_SIZE(flags); i++) {
				if (IS(flags[i].name)) {
					if (has_val) {
						why_set(why, whylen, "flag option takes no value");
						goto out;
					}
					*(bool *)((char *)o + flags[i].off) = flags[i].value;
					break;
				}
			}
			if (i == DSSH_ARRAY_SIZE(flags)) {
				why_set(why, whylen, "unknown option");
				goto out;
			}
		}
#undef IS
		if (*p == '\0')
			break;
		if (*p != ',') {
			why_set(why, whylen, "garbage after option");
			goto out;
		}
		p++;
	}
	if (principals && !cert) {
		why_set(why, whylen, "principals without cert-authority");
		goto out;
	}
	if (cert_out != NULL)
		*cert_out = cert;
	if (from_out != NULL) {
		*from_out = from;
		from = NULL;
	}
	r = 0;
 out:
	free(from);
	free(val);
	return r;
}

int
dssh_authkey_parse_options(const char *s, struct dssh_authkey_opts *o,
    char **from_out, char *why, size_t whylen)
{
	return parse_options(s, o, from_out, NULL, why, whylen);
}

/*
 * A key of a type dsshd verifies is parsed by lib/sshkey, as it is at login
 * (exact fields, ed25519 length, the point on its curve, RSA size), so that
 * a truncated, padded or invalid key is refused on its line. Other types
 * (ssh-dss, security keys, certificates as keys) are compared as blobs only:
 * they never sign in here (no publickey algorithm of dsshd names them).
 */
static bool
blob_ok(const uint8_t *blob, size_t len)
{
	struct dssh_sshkey *k = NULL;
	int r = dssh_sshkey_from_blob(blob, len, &k);

	dssh_sshkey_free(k);
	return r == 0 || r == DSSH_ERR_KEY_TYPE;
}

/*
 * "type base64..." at s: decode, check the blob names the same type.
 * *end points after the base64 word. Returns 0 or DSSH_ERR_INVALID_FORMAT.
 */
static int
parse_key(const char *s, uint8_t **blobp, size_t *lenp, const char **end)
{
	const char *type = s, *b64;
	size_t tlen, blen, outlen = 0;
	uint8_t *out = NULL;
	struct dssh_buf b;
	const uint8_t *name;
	size_t namelen;
	int r;

	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	tlen = (size_t)(s - type);
	if (tlen == 0 || (*s != ' ' && *s != '\t'))
		return DSSH_ERR_INVALID_FORMAT;
	while (*s == ' ' || *s == '\t')
		s++;
	b64 = s;
	while (isalnum((unsigned char)*s) || *s == '+' || *s == '/' || *s == '=')
		s++;
	blen = (size_t)(s - b64);
	if (blen == 0 || (*s != '\0' && *s != ' ' && *s != '\t'))
		return DSSH_ERR_INVALID_FORMAT;
	if ((r = dssh_sshkey_b64_decode(b64, blen, &out, &outlen)) != 0)
		return r == DSSH_ERR_ALLOC ? r : DSSH_ERR_INVALID_FORMAT;
	dssh_buf_from(&b, out, outlen);
	if (dssh_buf_get_string_direct(&b, &name, &namelen) != 0 ||
	    namelen != tlen || memcmp(name, type, tlen) != 0 ||
	    dssh_buf_len(&b) == 0 || !blob_ok(out, outlen)) {
		free(out);
		return DSSH_ERR_INVALID_FORMAT;
	}
	*blobp = out;
	*lenp = outlen;
	*end = s;
	return 0;
}

int
dssh_authkeys_parse_line(const char *line, struct dssh_authkey_opts *opts,
    char **from_out, bool *cert_authority, uint8_t **blob, size_t *bloblen,
    char *why, size_t whylen)
{
	const char *p = line, *end;
	char *optstr = NULL;
	int r;

	dssh_authkey_opts_init(opts);
	*from_out = NULL;
	*cert_authority = false;
	*blob = NULL;
	*bloblen = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '\n' || *p == '\r' || *p == '#')
		return DSSH_ERR_NOT_FOUND;
	if ((r = parse_key(p, blob, bloblen, &end)) == 0)
		return 0;
	if (r != DSSH_ERR_INVALID_FORMAT)
		return r;
	/* Options field: up to the first whitespace outside quotes. */
	{
		const char *q = p;
		bool quoted = false;

		for (; *q != '\0'; q++) {
			if (*q == '\\' && quoted && q[1] == '"') {
				q++;
				continue;
			}
			if (*q == '"')
				quoted = !quoted;
			else if (!quoted && (*q == ' ' || *q == '\t'))
				break;
		}
		if (quoted)
			return why_set(why, whylen, "unterminated quote in options");
		if ((optstr = dssh_strndup(p, (size_t)(q - p))) == NULL)
			return DSSH_ERR_ALLOC;
		p = q;
	}
	if ((r = parse_options(optstr, opts, from_out, cert_authority, why,
	    whylen)) != 0)
		goto fail;
	while (*p == ' ' || *p == '\t')
		p++;
	if ((r = parse_key(p, blob, bloblen, &end)) != 0) {
		if (r == DSSH_ERR_INVALID_FORMAT)
			why_set(why, whylen, "invalid key");
		goto fail;
	}
	free(optstr);
	return 0;
 fail:
	free(optstr);
	free(*from_out);
	*from_out = NULL;
	dssh_authkey_opts_free(opts);
	return r;
}

int
dssh_authkeys_expand_path(const char *pattern, const struct dssh_auth_user *user,
    char **out)
{
	char uidstr[32];
	size_t cap, len = 0, hlen = strlen(user->home);
	char *res;

	*out = NULL;
	snprintf(uidstr, sizeof(uidstr), "%lu", (unsigned long)user->uid);
	/* Upper bound: the home prefix plus every token at its longest. */
	cap = strlen(pattern) + hlen + 2;
	for (const char *p = pattern; *p; p++)
		if (*p == '%')
			cap += hlen + strlen(user->name) + sizeof(uidstr);
	if ((res = malloc(cap)) == NULL)
		return DSSH_ERR_ALLOC;
	for (const char *p = pattern; *p; p++) {
		const char *v;

		if (*p != '%') {
			res[len++] = *p;
			continue;
		}
		switch (*++p) {
		case 'h': v = user->home; break;
		case 'u': v = user->name; break;
		case 'U': v = uidstr; break;
		case '%': v = "%"; break;
		default:
			free(res);
			return DSSH_ERR_INVALID_FORMAT;
		}
		memcpy(res + len, v, strlen(v));
		len += strlen(v);
	}
	res[len] = '\0';
	/* As sshd: a path that is not absolute after expansion is under home. */
	if (res[0] != '/') {
		if (user->home[0] != '/') {
			free(res);
			return DSSH_ERR_INVALID_FORMAT;
		}
		memmove(res + hlen + 1, res, len + 1);
		memcpy(res, user->home, hlen);
		res[hlen] = '/';
	}
	*out = res;
	return 0;
}

static bool
owner_mode_ok(const struct stat *st, uid_t uid)
{
	return (st->st_uid == 0 || st->st_uid == uid) &&
	    (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/*
 * sshd's safe_path: every directory from the file's up to the home
 * directory (or '/' when the file is outside it) owned by the user or root
 * and not group/world writable.
 */
static int
check_dirs(const char *path, const struct dssh_auth_user *user)
{
	char *rp = NULL, *home = NULL;
	struct stat st;
	int r = DSSH_ERR_KEY_BAD_PERMISSIONS;

	if ((rp = realpath(path, NULL)) == NULL)
		return DSSH_ERR_KEY_BAD_PERMISSIONS;
	home = realpath(user->home, NULL);
	for (;;) {
		char *slash = strrchr(rp, '/');

		if (slash == NULL)
			goto out;
		if (slash == rp)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(rp, &st) != 0 || !S_ISDIR(st.st_mode)) {
			dssh_info("authorized keys: cannot stat directory %s", rp);
			goto out;
		}
		if (!owner_mode_ok(&st, user->uid)) {
			dssh_info("authorized keys: bad ownership or modes for directory %s", rp);
			goto out;
		}
		if ((home != NULL && strcmp(rp, home) == 0) || strcmp(rp, "/") == 0)
			break;
	}
	r = 0;
 out:
	free(rp);
	free(home);
	return r;
}

int
auth_user_file_ok(const struct dssh_config *cfg, const struct dssh_auth_user *user,
    const char *path, int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		dssh_info("%s is not a regular file", path);
		return DSSH_ERR_PERMISSION;
	}
	if (cfg->strict_modes == 0)
		return 0;
	if (!owner_mode_ok(&st, user->uid)) {
		dssh_info("bad ownership or modes for file %s", path);
		return DSSH_ERR_KEY_BAD_PERMISSIONS;
	}
	return check_dirs(path, user);
}

/*
 * environment= entries PermitUserEnvironment does not allow are dropped
 * (sshd's do_setup_env skips them; all of them with "no").
 */
static void
filter_env(struct dssh_authkey_opts *o, const char *allow)
{
	size_t i, n = 0;

	for (i = 0; i < o->nenv; i++) {
		const char *eq = strchr(o->env[i], '=');
		char *name = eq != NULL ? dssh_strndup(o->env[i], (size_t)(eq - o->env[i])) : NULL;

		if (name != NULL && dssh_user_env_allowed(allow, name))
			o->env[n++] = o->env[i];
		else
			free(o->env[i]);
		free(name);
	}
	o->nenv = n;
	if (n == 0) {
		free(o->env);
		o->env = NULL;
	}
}

static bool
key_allowed_now(const struct dssh_authkey_opts *o)
{
	return o->expiry_time == 0 || (uint64_t)time(NULL) < o->expiry_time;
}

/* 0 match (opts filled), DSSH_ERR_NOT_FOUND none, other codes errors. */
static int
check_file(const struct dssh_config *cfg, const struct dssh_auth_user *user,
    const char *path, const uint8_t *key, size_t keylen,
    const struct dssh_sshkey_cert *certc, bool *ca_seen, const char *remote_ip,
    struct dssh_authkey_opts *result)
{
	char line[AUTHKEYS_MAX_LINE + 1];
	unsigned long lineno = 0;
	struct stat st;
	FILE *f = NULL;
	int fd, r = DSSH_ERR_NOT_FOUND;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			dssh_info("authorized keys: could not open %s: %s", path,
			    strerror(errno));
		return DSSH_ERR_NOT_FOUND;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		dssh_info("authorized keys: %s is not a regular file", path);
		close(fd);
		return DSSH_ERR_NOT_FOUND;
	}
	if (cfg->strict_modes != 0) {
		if (!owner_mode_ok(&st, user->uid)) {
			dssh_info("authorized keys: bad ownership or modes for file %s", path);
			close(fd);
			return DSSH_ERR_NOT_FOUND;
		}
		if (check_dirs(path, user) != 0) {
			close(fd);
			return DSSH_ERR_NOT_FOUND;
		}
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return DSSH_ERR_SYSTEM;
	}
	for (;;) {
		struct dssh_authkey_opts o;
		size_t len = 0;
		char why[128] = "";
		char *from = NULL;
		uint8_t *blob = NULL;
		size_t bloblen = 0;
		bool cert = false, too_long = false, nul = false;
		int ch, pr;

		/* One line, bounded: longer lines and NUL bytes reject it. */
		while ((ch = getc(f)) != EOF && ch != '\n') {
			if (ch == '\0')
				nul = true;
			if (len < AUTHKEYS_MAX_LINE)
				line[len++] = (char)ch;
			else
				too_long = true;
		}
		if (ch == EOF && len == 0 && !too_long)
			break;
		line[len] = '\0';
		lineno++;
		if (too_long || nul) {
			dssh_info("%s line %lu: %s, ignored", path, lineno,
			    too_long ? "line too long" : "NUL byte in line");
			continue;
		}
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		pr = dssh_authkeys_parse_line(line, &o, &from, &cert, &blob,
		    &bloblen, why, sizeof(why));
		if (pr == DSSH_ERR_NOT_FOUND)
			continue;
		if (pr != 0) {
			if (pr == DSSH_ERR_INVALID_FORMAT)
				dssh_info("%s line %lu: bad line: %s", path, lineno, why);
			if (pr == DSSH_ERR_ALLOC) {
				r = pr;
				break;
			}
			continue;
		}
		if (certc == NULL) {
			/* A plain key matches its own line, never a CA line. */
			if (cert || bloblen != keylen ||
			    CRYPTO_memcmp(blob, key, keylen) != 0)
				goto next;
		} else {
			/* A certificate matches a cert-authority line of its CA. */
			if (!cert || bloblen != certc->ca_bloblen ||
			    CRYPTO_memcmp(blob, certc->ca_blob, bloblen) != 0)
				goto next;
			if (ca_seen != NULL)
				*ca_seen = true;
			if (!auth_cert_principal_ok(certc, o.cert_principals, user->name)) {
				dssh_info("%s line %lu: certificate ID \"%s\" (serial %llu) "
				    "refused: wrong principal (%s not listed)", path, lineno,
				    certc->key_id, (unsigned long long)certc->serial,
				    o.cert_principals != NULL ? o.cert_principals : user->name);
				goto next;
			}
		}
		if (from != NULL && dssh_auth_match_addr_list(remote_ip, NULL, from) != 1) {
			dssh_info("%s line %lu: key matched but %s is not permitted by from=\"%s\"",
			    path, lineno, remote_ip ? remote_ip : "?", from);
			goto next;
		}
		if (!key_allowed_now(&o)) {
			dssh_info("%s line %lu: key has expired", path, lineno);
			goto next;
		}
		filter_env(&o, cfg->permit_user_environment);
		if ((o.file = strdup(path)) == NULL) {
			dssh_authkey_opts_free(&o);
			free(from);
			free(blob);
			r = DSSH_ERR_ALLOC;
			break;
		}
		o.line = lineno;
		*result = o;
		free(from);
		free(blob);
		r = 0;
		dssh_verbose("%s line %lu: key accepted", path, lineno);
		break;
 next:
		dssh_authkey_opts_free(&o);
		free(from);
		free(blob);
	}
	fclose(f);
	return r;
}

/*
 * As sshd reads authorized_keys with the user's ids: when running as root,
 * switch this thread's file-system uid/gid (Linux: per thread, does not touch
 * the real/effective ids) to the user's around the file access.
 */
int
auth_fsids_enter(const struct dssh_auth_user *user, struct auth_fsids *s)
{
	s->switched = false;
	if (geteuid() != 0 || user->uid == 0)
		return 0;
	s->gid = (gid_t)setfsgid(user->gid);
	s->uid = (uid_t)setfsuid(user->uid);
	s->switched = true;
	if ((uid_t)setfsuid((uid_t)-1) != user->uid ||
	    (gid_t)setfsgid((gid_t)-1) != user->gid) {
		setfsuid(s->uid);
		setfsgid(s->gid);
		s->switched = false;
		return DSSH_ERR_SYSTEM;
	}
	return 0;
}

void
auth_fsids_leave(struct auth_fsids *s)
{
	if (!s->switched)
		return;
	setfsuid(s->uid);
	setfsgid(s->gid);
	s->switched = false;
}

int
auth_keys_files_check(const struct dssh_config *cfg,
    const struct dssh_auth_user *user, const uint8_t *key_blob, size_t key_len,
    const struct dssh_sshkey_cert *cert, bool *ca_seen, const char *remote_ip,
    struct dssh_authkey_opts *opts)
{
	int r = DSSH_ERR_NOT_FOUND;

	for (unsigned i = 0; i < cfg->nauthorized_keys_files; i++) {
		struct auth_fsids ids;
		char *path = NULL;
		int e;

		if ((e = dssh_authkeys_expand_path(cfg->authorized_keys_files[i],
		    user, &path)) != 0) {
			if (e == DSSH_ERR_ALLOC)
				return e;
			dssh_info("bad AuthorizedKeysFile \"%s\"",
			    cfg->authorized_keys_files[i]);
			continue;
		}
		if ((r = auth_fsids_enter(user, &ids)) != 0) {
			free(path);
			return r;
		}
		r = check_file(cfg, user, path, key_blob, key_len, cert, ca_seen,
		    remote_ip, opts);
		auth_fsids_leave(&ids);
		free(path);
		if (r != DSSH_ERR_NOT_FOUND)
			return r;
	}
	return DSSH_ERR_NOT_FOUND;
}

int
dssh_authkeys_check(const struct dssh_config *cfg,
    const struct dssh_auth_user *user, const uint8_t *key_blob, size_t key_len,
    const char *remote_ip, struct dssh_authkey_opts *opts)
{
	struct dssh_buf b;
	char *tname = NULL;
	bool is_cert;

	dssh_authkey_opts_init(opts);
	if (user == NULL || !user->exists || key_blob == NULL || key_len == 0)
		return DSSH_ERR_NOT_FOUND;
	dssh_buf_from(&b, key_blob, key_len);
	if (dssh_buf_get_cstring(&b, &tname, NULL) != 0)
		return DSSH_ERR_NOT_FOUND;
	is_cert = dssh_sshkey_is_cert_name(tname);
	free(tname);
	if (is_cert)
		return auth_cert_check(cfg, user, key_blob, key_len, remote_ip, opts);
	if (auth_key_revoked(cfg, key_blob, key_len, NULL)) {
		dssh_info("authorized keys: key refused: listed in RevokedKeys %s",
		    cfg->revoked_keys);
		return DSSH_ERR_NOT_FOUND;
	}
	return auth_keys_files_check(cfg, user, key_blob, key_len, NULL, NULL,
	    remote_ip, opts);
}
