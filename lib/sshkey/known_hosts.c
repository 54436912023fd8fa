/* SPDX-License-Identifier: BSD-3-Clause */
/* OpenSSH known_hosts files: see dssh_known_hosts.h. */
#include <errno.h>
#include <fcntl.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_known_hosts.h"
#include "dssh_sshkey.h"
#include "dssh_util.h"

#define KH_NAME_MAX 1100
#define KH_SHA1_LEN 20
#define KH_FILE_MAX (64u * 1024 * 1024)

int
dssh_known_hosts_name(const char *host, int port, char *out, size_t n)
{
	int w;

	if (host == NULL || out == NULL || n == 0)
		return DSSH_ERR_INVALID_ARGUMENT;
	w = port == 22 || port <= 0 ? snprintf(out, n, "%s", host) :
	    snprintf(out, n, "[%s]:%d", host, port);
	return w < 0 || (size_t)w >= n ? DSSH_ERR_NO_BUFFER_SPACE : 0;
}

/* The key type string at the head of a wire blob. */
static bool
blob_type(const uint8_t *blob, size_t len, const uint8_t **t, size_t *tlen)
{
	struct dssh_buf b;

	dssh_buf_from(&b, blob, len);
	return dssh_buf_get_string_direct(&b, t, tlen) == 0;
}

/* |1|salt|hash: HMAC-SHA1 keyed with the salt over the name. */
static bool
hashed_match(const char *pat, size_t plen, const char *name)
{
	const char *salt = pat + 3, *bar = memchr(salt, '|', plen - 3);
	uint8_t *s = NULL, *h = NULL, mac[KH_SHA1_LEN];
	size_t slen = 0, hlen = 0;
	unsigned mlen = 0;
	bool ok = false;

	if (bar == NULL)
		return false;
	if (dssh_sshkey_b64_decode(salt, (size_t)(bar - salt), &s, &slen) != 0 ||
	    dssh_sshkey_b64_decode(bar + 1, plen - (size_t)(bar + 1 - pat), &h, &hlen) != 0)
		goto out;
	if (slen != KH_SHA1_LEN || hlen != KH_SHA1_LEN)
		goto out;
	if (HMAC(EVP_sha1(), s, (int)slen, (const uint8_t *)name, strlen(name), mac, &mlen) == NULL ||
	    mlen != KH_SHA1_LEN)
		goto out;
	ok = CRYPTO_memcmp(mac, h, KH_SHA1_LEN) == 0;
out:
	free(s);
	free(h);
	return ok;
}

/* * and ? wildcards (only those: [ ] are literal, as in "[host]:port"), no case. */
static bool
wild_match(const char *pat, size_t plen, const char *s)
{
	size_t pi = 0, star = (size_t)-1, mark = 0;
	const char *s0 = s;
	size_t si = 0, slen = strlen(s0);

	while (si < slen) {
		if (pi < plen && (pat[pi] == '?' ||
		    tolower((unsigned char)pat[pi]) == tolower((unsigned char)s0[si]))) {
			pi++;
			si++;
		} else if (pi < plen && pat[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < plen && pat[pi] == '*')
		pi++;
	return pi == plen;
}

/* Does the pattern list name the host? A matching !pattern vetoes the line. */
static bool
patterns_match(const char *pats, size_t len, const char *name)
{
	bool yes = false;
	size_t i = 0;

	if (len >= 3 && memcmp(pats, "|1|", 3) == 0)
		return hashed_match(pats, len, name);
	while (i < len) {
		size_t e = i;

		while (e < len && pats[e] != ',')
			e++;
		size_t n = e - i;
		bool neg = n > 0 && pats[i] == '!';

		if (neg) {
			i++;
			n--;
		}
		if (n > 0 && wild_match(pats + i, n, name)) {
			if (neg)
				return false;
			yes = true;
		}
		i = e + 1;
	}
	return yes;
}

struct kh_line {
	enum { KH_PLAIN, KH_CA, KH_REVOKED } marker;
	const char *pats;
	size_t plen;
	const char *type;
	size_t tlen;
	uint8_t *blob;
	size_t bloblen;
};

/* The next blank-separated word of [*p, end). */
static bool
word(const char **p, const char *end, const char **w, size_t *n)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s == end)
		return false;
	*w = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	*n = (size_t)(s - *w);
	*p = s;
	return true;
}

/* 0: a key line in *l; 1: nothing to check (blank, comment, malformed). */
static int
parse_line(const char *s, const char *end, struct kh_line *l)
{
	const char *w;
	size_t n;

	memset(l, 0, sizeof(*l));
	if (!word(&s, end, &w, &n) || w[0] == '#')
		return 1;
	if (w[0] == '@') {
		if (n == 15 && memcmp(w, "@cert-authority", 15) == 0)
			l->marker = KH_CA;
		else if (n == 8 && memcmp(w, "@revoked", 8) == 0)
			l->marker = KH_REVOKED;
		else
			return 1;
		if (!word(&s, end, &w, &n))
			return 1;
	}
	l->pats = w;
	l->plen = n;
	if (!word(&s, end, &l->type, &l->tlen) || !word(&s, end, &w, &n))
		return 1;
	if (dssh_sshkey_b64_decode(w, n, &l->blob, &l->bloblen) != 0)
		return 1;
	/* The type word names the blob's own type. */
	const uint8_t *bt;
	size_t btlen;

	if (!blob_type(l->blob, l->bloblen, &bt, &btlen) || btlen != l->tlen ||
	    memcmp(bt, l->type, btlen) != 0) {
		free(l->blob);
		l->blob = NULL;
		return 1;
	}
	return 0;
}

struct kh_seen {
	unsigned ok, changed, revoked;  /* first line of each, 0 none */
	unsigned other_types;
};

static void
judge(const struct kh_line *l, unsigned lineno, const char *name, const uint8_t *blob,
    size_t bloblen, struct kh_seen *seen)
{
	const uint8_t *t;
	size_t tlen;
	bool same = l->bloblen == bloblen && memcmp(l->blob, blob, bloblen) == 0;

	if (l->marker == KH_REVOKED) {
		if (same && seen->revoked == 0)
			seen->revoked = lineno;
		return;
	}
	if (l->marker == KH_CA || !patterns_match(l->pats, l->plen, name))
		return;
	if (same) {
		if (seen->ok == 0)
			seen->ok = lineno;
	} else if (blob_type(blob, bloblen, &t, &tlen) && tlen == l->tlen &&
	    memcmp(t, l->type, tlen) == 0) {
		if (seen->changed == 0)
			seen->changed = lineno;
	} else {
		seen->other_types++;
	}
}

int
dssh_known_hosts_check_text(const char *text, size_t len, const char *host, int port,
    const uint8_t *blob, size_t bloblen, struct dssh_kh_result *res)
{
	char name[KH_NAME_MAX];
	const char *p = text, *end = text + len;
	struct kh_seen seen = { 0 };
	unsigned lineno = 0;
	int r;

	if (res == NULL || blob == NULL || (text == NULL && len > 0))
		return DSSH_ERR_INVALID_ARGUMENT;
	if (text == NULL)
		p = end = "";
	memset(res, 0, sizeof(*res));
	if ((r = dssh_known_hosts_name(host, port, name, sizeof(name))) != 0)
		return r;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		struct kh_line l;

		lineno++;
		if (le > p && le[-1] == '\r')
			le--;
		if (parse_line(p, le, &l) == 0) {
			judge(&l, lineno, name, blob, bloblen, &seen);
			free(l.blob);
		}
		p = nl != NULL ? nl + 1 : end;
	}
	/* REVOKED beats everything; OK on one line beats CHANGED on another
	 * (a host may have several keys of a type). */
	res->other_types = seen.other_types;
	if (seen.revoked != 0) {
		res->status = DSSH_KH_REVOKED;
		res->line = seen.revoked;
	} else if (seen.ok != 0) {
		res->status = DSSH_KH_OK;
		res->line = seen.ok;
	} else if (seen.changed != 0) {
		res->status = DSSH_KH_CHANGED;
		res->line = seen.changed;
	}
	return 0;
}

int
dssh_known_hosts_check_file(const char *path, const char *host, int port,
    const uint8_t *blob, size_t bloblen, struct dssh_kh_result *res)
{
	struct dssh_buf b;
	uint8_t tmp[8192];
	ssize_t n;
	int fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return dssh_known_hosts_check_text("", 0, host, port, blob, bloblen, res);
		return DSSH_ERR_SYSTEM;
	}
	dssh_buf_init(&b, KH_FILE_MAX);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		if ((r = dssh_buf_put(&b, tmp, (size_t)n)) != 0)
			break;
	if (n < 0)
		r = DSSH_ERR_SYSTEM;
	close(fd);
	if (r == 0)
		r = dssh_known_hosts_check_text((const char *)dssh_buf_ptr(&b), dssh_buf_len(&b),
		    host, port, blob, bloblen, res);
	dssh_buf_free(&b);
	return r;
}

static int
b64(struct dssh_buf *out, const uint8_t *p, size_t n)
{
	uint8_t *w;
	size_t need = 4 * ((n + 2) / 3) + 1;
	int r;

	if ((r = dssh_buf_reserve(out, need, &w)) != 0)
		return r;
	if (EVP_EncodeBlock(w, p, (int)n) != (int)(need - 1))
		return DSSH_ERR_LIBCRYPTO;
	return dssh_buf_consume_end(out, 1);
}

static int
put_name(struct dssh_buf *line, const char *name, bool hash)
{
	uint8_t salt[KH_SHA1_LEN], mac[KH_SHA1_LEN];
	unsigned mlen = 0;
	int r;

	if (!hash)
		return dssh_buf_put(line, name, strlen(name));
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    HMAC(EVP_sha1(), salt, sizeof(salt), (const uint8_t *)name, strlen(name), mac,
	    &mlen) == NULL)
		return DSSH_ERR_LIBCRYPTO;
	if ((r = dssh_buf_put(line, "|1|", 3)) != 0 || (r = b64(line, salt, sizeof(salt))) != 0 ||
	    (r = dssh_buf_put_u8(line, '|')) != 0)
		return r;
	return b64(line, mac, sizeof(mac));
}

/* mkdir of path's directory (one level, as ~/.ssh). */
static void
make_dir(const char *path)
{
	char *d = strdup(path), *sl;

	if (d != NULL && (sl = strrchr(d, '/')) != NULL && sl != d) {
		*sl = '\0';
		(void)mkdir(d, 0700);
	}
	free(d);
}

int
dssh_known_hosts_add(const char *path, const char *host, int port, const uint8_t *blob,
    size_t bloblen, bool hash)
{
	char name[KH_NAME_MAX];
	const uint8_t *t;
	size_t tlen;
	struct dssh_buf line;
	int fd, r;

	if (path == NULL || blob == NULL || !blob_type(blob, bloblen, &t, &tlen))
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((r = dssh_known_hosts_name(host, port, name, sizeof(name))) != 0)
		return r;
	dssh_buf_init(&line, 0);
	if ((r = put_name(&line, name, hash)) != 0 ||
	    (r = dssh_buf_put_u8(&line, ' ')) != 0 ||
	    (r = dssh_buf_put(&line, t, tlen)) != 0 ||
	    (r = dssh_buf_put_u8(&line, ' ')) != 0 ||
	    (r = b64(&line, blob, bloblen)) != 0 ||
	    (r = dssh_buf_put_u8(&line, '\n')) != 0)
		goto out;
	make_dir(path);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		r = DSSH_ERR_SYSTEM;
		goto out;
	}
	if (write(fd, dssh_buf_ptr(&line), dssh_buf_len(&line)) != (ssize_t)dssh_buf_len(&line))
		r = DSSH_ERR_SYSTEM;
	if (close(fd) != 0)
		r = DSSH_ERR_SYSTEM;
out:
	dssh_buf_free(&line);
	return r;
}
