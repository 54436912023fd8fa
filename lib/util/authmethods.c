/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <string.h>

#include "dssh_authmethods.h"
#include "dssh_err.h"

static const char *const names[DSSH_AUTHM_COUNT] = {
	[DSSH_AUTHM_PUBLICKEY] = "publickey",
	[DSSH_AUTHM_PASSWORD] = "password",
	[DSSH_AUTHM_KBDINT] = "keyboard-interactive",
};

const char *
dssh_authm_name(enum dssh_authm m)
{
	return (unsigned)m < DSSH_AUTHM_COUNT ? names[m] : NULL;
}

int
dssh_authm_from_name(const char *name)
{
	for (int i = 0; i < DSSH_AUTHM_COUNT; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

static int
bad(char *why, size_t whylen, const char *fmt, const char *tok, size_t n)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, fmt, (int)n, tok);
	return DSSH_ERR_INVALID_FORMAT;
}

/* One method name of a list, [p, p + n); the submethod ":pam" as sshd. */
static int
parse_method(const char *p, size_t n, char *why, size_t whylen)
{
	for (int i = 0; i < DSSH_AUTHM_COUNT; i++) {
		size_t l = strlen(names[i]);

		if (n == l && memcmp(p, names[i], l) == 0)
			return i;
		if (i == DSSH_AUTHM_KBDINT && n == l + 4 &&
		    memcmp(p, names[i], l) == 0 && memcmp(p + l, ":pam", 4) == 0)
			return i;
	}
	return bad(why, whylen, "unknown authentication method \"%.*s\"", p, n);
}

static int
parse_list(const char *p, size_t n, struct dssh_authm_list *l, char *why,
    size_t whylen)
{
	const char *end = p + n;

	memset(l, 0, sizeof(*l));
	for (;;) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t len = c ? (size_t)(c - p) : (size_t)(end - p);
		int m;

		if (len == 0)
			return bad(why, whylen, "empty method in list \"%.*s\"", end - n, n);
		if ((m = parse_method(p, len, why, whylen)) < 0)
			return m;
		if (l->n >= DSSH_AUTHM_MAX_STEPS)
			return bad(why, whylen, "too many methods in list \"%.*s\"", end - n, n);
		l->step[l->n++] = (uint8_t)m;
		if (c == NULL)
			return 0;
		p = c + 1;
	}
}

int
dssh_authmethods_parse(const char *s, struct dssh_authmethods *am, char *why,
    size_t whylen)
{
	const char *p = s;
	int r;

	memset(am, 0, sizeof(*am));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (strcmp(p, "any") == 0 || (strncmp(p, "any", 3) == 0 &&
	    strspn(p + 3, " \t") == strlen(p + 3))) {
		am->any = true;
		return 0;
	}
	while (*p != '\0') {
		size_t n = strcspn(p, " \t");

		if (n == 3 && memcmp(p, "any", 3) == 0)
			return bad(why, whylen, "\"%.*s\" must be the only list", p, n);
		if (am->nlists >= DSSH_AUTHM_MAX_LISTS)
			return bad(why, whylen, "too many lists (at \"%.*s\")", p, n);
		if ((r = parse_list(p, n, &am->list[am->nlists], why, whylen)) != 0)
			return r;
		am->nlists++;
		p += n;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	if (am->nlists == 0)
		return bad(why, whylen, "no authentication methods%.*s", "", 0);
	return 0;
}

static bool
list_enabled(const struct dssh_authm_list *l, unsigned enabled)
{
	for (unsigned i = l->done; i < l->n; i++)
		if (!(enabled & DSSH_AUTHM_BIT(l->step[i])))
			return false;
	return true;
}

bool
dssh_authmethods_satisfiable(const struct dssh_authmethods *am, unsigned enabled)
{
	if (am->any)
		return (enabled & (DSSH_AUTHM_BIT(DSSH_AUTHM_COUNT) - 1)) != 0;
	for (unsigned i = 0; i < am->nlists; i++)
		if (list_enabled(&am->list[i], enabled))
			return true;
	return false;
}

bool
dssh_authmethods_allowed(const struct dssh_authmethods *am, enum dssh_authm m)
{
	if ((unsigned)m >= DSSH_AUTHM_COUNT)
		return false;
	if (am->any)
		return true;
	for (unsigned i = 0; i < am->nlists; i++) {
		const struct dssh_authm_list *l = &am->list[i];

		if (l->done < l->n && l->step[l->done] == m)
			return true;
	}
	return false;
}

bool
dssh_authmethods_success(struct dssh_authmethods *am, enum dssh_authm m)
{
	bool complete = false;

	if (am->any)
		return true;
	for (unsigned i = 0; i < am->nlists; i++) {
		struct dssh_authm_list *l = &am->list[i];

		if (l->done < l->n && l->step[l->done] == m && ++l->done == l->n)
			complete = true;
	}
	return complete;
}

int
dssh_authmethods_continue(const struct dssh_authmethods *am, unsigned enabled,
    char *out, size_t n)
{
	size_t len = 0;

	if (n == 0)
		return DSSH_ERR_NO_BUFFER_SPACE;
	out[0] = '\0';
	for (int m = 0; m < DSSH_AUTHM_COUNT; m++) {
		bool can = false;

		if (!(enabled & DSSH_AUTHM_BIT(m)))
			continue;
		if (am->any)
			can = true;
		for (unsigned i = 0; !can && i < am->nlists; i++) {
			const struct dssh_authm_list *l = &am->list[i];

			/* only lists that can still finish with what is enabled */
			can = l->done < l->n && l->step[l->done] == m &&
			    list_enabled(l, enabled);
		}
		if (!can)
			continue;
		int w = snprintf(out + len, n - len, "%s%s", len ? "," : "", names[m]);

		if (w < 0 || (size_t)w >= n - len) {
			out[len] = '\0';
			return DSSH_ERR_NO_BUFFER_SPACE;
		}
		len += (size_t)w;
	}
	return 0;
}
