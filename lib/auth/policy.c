/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/stat.h>

#include "dssh_auth.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"

#define PW_BUF_MAX (1024 * 1024)

void
dssh_auth_user_clear(struct dssh_auth_user *u)
{
	if (u == NULL)
		return;
	free(u->name);
	free(u->home);
	free(u->shell);
	memset(u, 0, sizeof(*u));
}

static bool
shadow_locked(const char *name)
{
	struct spwd sp, *res = NULL;
	size_t len = 4096;
	char *buf = NULL;
	bool locked = false;
	int e;

	for (;;) {
		char *nb = realloc(buf, len);

		if (nb == NULL)
			goto out;
		buf = nb;
		e = getspnam_r(name, &sp, buf, len, &res);
		if (e == ERANGE && len < PW_BUF_MAX) {
			len *= 2;
			continue;
		}
		break;
	}
	if (e == 0 && res != NULL && res->sp_pwdp != NULL)
		locked = res->sp_pwdp[0] == '!' || strcmp(res->sp_pwdp, "*LK*") == 0;
 out:
	if (buf != NULL)
		dssh_freezero(buf, len);
	return locked;
}

int
dssh_auth_user_lookup(const char *name, struct dssh_auth_user *out)
{
	struct passwd pw, *res = NULL;
	size_t len = 4096;
	char *buf = NULL;
	int e, r;

	memset(out, 0, sizeof(*out));
	if ((out->name = strdup(name)) == NULL)
		return DSSH_ERR_ALLOC;
	for (;;) {
		char *nb = realloc(buf, len);

		if (nb == NULL) {
			r = DSSH_ERR_ALLOC;
			goto out;
		}
		buf = nb;
		e = getpwnam_r(name, &pw, buf, len, &res);
		if (e == ERANGE && len < PW_BUF_MAX) {
			len *= 2;
			continue;
		}
		break;
	}
	if (e != 0 || res == NULL) {
		r = DSSH_ERR_NOT_FOUND;
		goto out;
	}
	out->uid = pw.pw_uid;
	out->gid = pw.pw_gid;
	if ((out->home = strdup(pw.pw_dir ? pw.pw_dir : "/")) == NULL ||
	    (out->shell = strdup(pw.pw_shell && *pw.pw_shell ? pw.pw_shell :
	    "/bin/sh")) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	out->exists = true;
	out->locked = shadow_locked(name);
	r = 0;
 out:
	free(buf);
	if (r == DSSH_ERR_ALLOC)
		dssh_auth_user_clear(out);
	return r;
}

/* ---- address patterns ---- */

/* 1 in net, 0 not, -1 malformed CIDR. */
static int
cidr_match(const char *ip, const char *cidr)
{
	unsigned char a[16], n[16];
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	int fam, alen, ilen;
	long bits;

	if (strlen(cidr) >= sizeof(buf))
		return -1;
	strcpy(buf, cidr);
	slash = strchr(buf, '/');
	*slash = '\0';
	if (inet_pton(AF_INET, buf, n) == 1) {
		fam = AF_INET;
		alen = 4;
	} else if (inet_pton(AF_INET6, buf, n) == 1) {
		fam = AF_INET6;
		alen = 16;
	} else
		return -1;
	errno = 0;
	bits = strtol(slash + 1, &end, 10);
	if (slash[1] == '\0' || *end != '\0' || errno != 0 || bits < 0 ||
	    bits > alen * 8)
		return -1;
	/* The network part must have no host bits set (as sshd). */
	for (int i = 0; i < alen; i++) {
		int keep = (int)bits - i * 8;
		unsigned char mask = keep >= 8 ? 0xff : keep <= 0 ? 0 :
		    (unsigned char)(0xff << (8 - keep));

		if (n[i] & (unsigned char)~mask)
			return -1;
	}
	if (ip == NULL)
		return 0;
	ilen = fam == AF_INET ? 4 : 16;
	if (inet_pton(fam, ip, a) != 1)
		return 0;
	for (int i = 0; i < ilen; i++) {
		int keep = (int)bits - i * 8;
		unsigned char mask = keep >= 8 ? 0xff : keep <= 0 ? 0 :
		    (unsigned char)(0xff << (8 - keep));

		if ((a[i] & mask) != (n[i] & mask))
			return 0;
	}
	return 1;
}

int
dssh_auth_match_addr_list(const char *ip, const char *host, const char *list)
{
	const char *p = list;
	int got = 0;

	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		bool neg = n > 0 && p[0] == '!';
		char *pat = dssh_strndup(p + neg, n - neg);
		int m = 0;

		if (pat == NULL)
			return -1;
		if (strchr(pat, '/') != NULL) {
			m = cidr_match(ip, pat);
			if (m < 0) {
				dssh_error("invalid CIDR pattern \"%s\"", pat);
				free(pat);
				return -1;
			}
		} else {
			for (char *c = pat; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			if (ip != NULL && dssh_match_pattern(ip, pat))
				m = 1;
			else if (host != NULL) {
				char *lh = strdup(host);

				if (lh == NULL) {
					free(pat);
					return -1;
				}
				for (char *c = lh; *c; c++)
					*c = (char)tolower((unsigned char)*c);
				m = dssh_match_pattern(lh, pat);
				free(lh);
			}
		}
		free(pat);
		if (m) {
			if (neg)
				return -1;
			got = 1;
		}
		p = e ? e + 1 : NULL;
	}
	return got;
}

/* sshd's match_user: "USER" or "USER@HOST". */
static bool
match_user_pattern(const char *user, const char *ip, const char *host,
    const char *pattern)
{
	const char *at = strrchr(pattern, '@');
	char *up;
	bool m;

	if (at == NULL)
		return dssh_match_pattern(user, pattern) == 1;
	if ((up = dssh_strndup(pattern, (size_t)(at - pattern))) == NULL)
		return false;
	m = dssh_match_pattern(user, up) == 1 &&
	    dssh_auth_match_addr_list(ip, host, at + 1) == 1;
	free(up);
	return m;
}

static int
deny(char *why, size_t whylen, const char *fmt, const char *a, const char *b)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, fmt, a, b);
	return DSSH_ERR_PERMISSION;
}

/*
 * Any of the user's groups (primary and supplementary) matches one of the
 * patterns (each entry a pattern list, as sshd's AllowGroups/DenyGroups).
 */
static bool
groups_match(const struct dssh_auth_user *user, char *const *pats, unsigned npats)
{
	gid_t gids[256];
	int ng = (int)DSSH_ARRAY_SIZE(gids);
	bool hit = false;

	if (getgrouplist(user->name, user->gid, gids, &ng) < 0)
		ng = (int)DSSH_ARRAY_SIZE(gids);
	for (int i = 0; i < ng && !hit; i++) {
		struct group gr, *grp;
		char buf[8192];

		if (getgrgid_r(gids[i], &gr, buf, sizeof(buf), &grp) != 0 || grp == NULL)
			continue;
		for (unsigned k = 0; k < npats && !hit; k++)
			hit = dssh_match_pattern_list(grp->gr_name, pats[k], false) == 1;
	}
	return hit;
}

int
dssh_auth_user_allowed(const struct dssh_config *cfg,
    const struct dssh_auth_user *user, const char *remote_ip,
    const char *remote_host, char *why, size_t whylen)
{
	struct stat st;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (user == NULL || !user->exists)
		return deny(why, whylen, "invalid user %s%s",
		    user && user->name ? user->name : "(null)", "");
	if (cfg->use_pam == 0 && user->locked)
		return deny(why, whylen, "user %s not allowed because account is locked%s",
		    user->name, "");
	if (stat(user->shell, &st) != 0)
		return deny(why, whylen, "user %s not allowed because shell %s does not exist",
		    user->name, user->shell);
	if (!S_ISREG(st.st_mode) ||
	    (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0)
		return deny(why, whylen, "user %s not allowed because shell %s is not executable",
		    user->name, user->shell);
	for (unsigned i = 0; i < cfg->ndeny_users; i++)
		if (match_user_pattern(user->name, remote_ip, remote_host,
		    cfg->deny_users[i]))
			return deny(why, whylen,
			    "user %s from %s not allowed because listed in DenyUsers",
			    user->name, remote_ip ? remote_ip : "?");
	if (cfg->nallow_users > 0) {
		unsigned i;

		for (i = 0; i < cfg->nallow_users; i++)
			if (match_user_pattern(user->name, remote_ip, remote_host,
			    cfg->allow_users[i]))
				break;
		if (i == cfg->nallow_users)
			return deny(why, whylen,
			    "user %s from %s not allowed because not listed in AllowUsers",
			    user->name, remote_ip ? remote_ip : "?");
	}
	if (cfg->ndeny_groups > 0 && groups_match(user, cfg->deny_groups, cfg->ndeny_groups))
		return deny(why, whylen, "user %s from %s not allowed because a group is listed in "
		    "DenyGroups", user->name, remote_ip ? remote_ip : "?");
	if (cfg->nallow_groups > 0 && !groups_match(user, cfg->allow_groups, cfg->nallow_groups))
		return deny(why, whylen, "user %s from %s not allowed because none of user's groups "
		    "are listed in AllowGroups", user->name, remote_ip ? remote_ip : "?");
	return 0;
}

int
dssh_auth_root_allowed(const struct dssh_config *cfg, const char *method,
    bool forced_command_present)
{
	bool pubkey = method != NULL && strcmp(method, "publickey") == 0;

	switch (cfg->permit_root_login) {
	case DSSH_PERMIT_ROOT_YES:
		return 0;
	case DSSH_PERMIT_ROOT_NO_PASSWORD:
		return pubkey ? 0 : DSSH_ERR_PERMISSION;
	case DSSH_PERMIT_ROOT_FORCED_ONLY:
		return pubkey && forced_command_present ? 0 : DSSH_ERR_PERMISSION;
	default:
		return DSSH_ERR_PERMISSION;
	}
}
