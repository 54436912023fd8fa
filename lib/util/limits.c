/* SPDX-License-Identifier: BSD-3-Clause */
/* Pre-authentication limits: see dssh_limits.h. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_limits.h"

int
dssh_addr_parse(const char *ip, struct dssh_addr *out)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint8_t b[16];

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, ip, b) == 1) {
		out->af = 4;
		memcpy(out->a, b, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, b) != 1)
		return DSSH_ERR_INVALID_FORMAT;
	if (memcmp(b, mapped, sizeof(mapped)) == 0) {
		out->af = 4;
		memcpy(out->a, b + 12, 4);
		return 0;
	}
	out->af = 6;
	memcpy(out->a, b, 16);
	return 0;
}

void
dssh_addr_mask(struct dssh_addr *a, unsigned bits)
{
	unsigned len = a->af == 4 ? 32 : 128;

	if (bits > len)
		bits = len;
	for (unsigned i = 0; i < 16; i++) {
		unsigned lo = i * 8;

		if (lo >= bits)
			a->a[i] = 0;
		else if (bits - lo < 8)
			a->a[i] &= (uint8_t)(0xff00u >> (bits - lo));
	}
}

void
dssh_addr_block(const struct dssh_addr *a, unsigned bits4, unsigned bits6, struct dssh_addr *out)
{
	*out = *a;
	dssh_addr_mask(out, a->af == 4 ? bits4 : bits6);
}

int
dssh_addr_cmp(const struct dssh_addr *x, const struct dssh_addr *y)
{
	if (x->af != y->af)
		return x->af < y->af ? -1 : 1;
	return memcmp(x->a, y->a, sizeof(x->a));
}

void
dssh_addr_format(const struct dssh_addr *a, char *buf, size_t n)
{
	if (inet_ntop(a->af == 4 ? AF_INET : AF_INET6, a->a, buf, (socklen_t)n) == NULL && n > 0)
		buf[0] = '\0';
}

/* ---- MaxStartups ---- */

static int
parse_uint(const char *s, const char *end, unsigned max, unsigned *out)
{
	unsigned long v = 0;

	if (s == end)
		return DSSH_ERR_INVALID_FORMAT;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return DSSH_ERR_INVALID_FORMAT;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return DSSH_ERR_INVALID_FORMAT;
	}
	*out = (unsigned)v;
	return 0;
}

int
dssh_maxstartups_parse(const char *s, struct dssh_maxstartups *out)
{
	const char *c1 = strchr(s, ':'), *end = s + strlen(s);
	const char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
	struct dssh_maxstartups m;

	if (c1 == NULL) {
		if (parse_uint(s, end, 1000000, &m.begin) != 0)
			return DSSH_ERR_INVALID_FORMAT;
		m.rate = 100;
		m.full = m.begin;
	} else if (c2 == NULL || parse_uint(s, c1, 1000000, &m.begin) != 0 ||
	    parse_uint(c1 + 1, c2, 100, &m.rate) != 0 ||
	    parse_uint(c2 + 1, end, 1000000, &m.full) != 0 || m.begin > m.full) {
		return DSSH_ERR_INVALID_FORMAT;
	}
	*out = m;
	return 0;
}

unsigned
dssh_maxstartups_drop_pct(const struct dssh_maxstartups *m, unsigned startups)
{
	if (startups < m->begin)
		return 0;
	if (startups >= m->full)
		return 100;
	/* From rate at begin up to 100 at full, linearly. */
	return m->rate + (100 - m->rate) * (startups - m->begin) / (m->full - m->begin);
}

/* ---- address lists ---- */

static int
cidr_parse(const char *s, size_t len, struct dssh_cidr *out)
{
	char buf[64];
	const char *slash;
	unsigned bits;

	if (len == 0 || len >= sizeof(buf))
		return DSSH_ERR_INVALID_FORMAT;
	memcpy(buf, s, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (slash != NULL)
		buf[slash - buf] = '\0';
	if (dssh_addr_parse(buf, &out->addr) != 0)
		return DSSH_ERR_INVALID_FORMAT;
	bits = out->addr.af == 4 ? 32 : 128;
	if (slash != NULL && parse_uint(slash + 1, buf + len, bits, &bits) != 0)
		return DSSH_ERR_INVALID_FORMAT;
	out->bits = bits;
	dssh_addr_mask(&out->addr, bits);
	return 0;
}

int
dssh_cidr_list_parse(const char *s, struct dssh_cidr **out, unsigned *n)
{
	struct dssh_cidr *v = NULL;
	unsigned cnt = 0;

	*out = NULL;
	*n = 0;
	while (*s != '\0') {
		size_t len = strcspn(s, ",");
		struct dssh_cidr *nv;

		if (cnt >= 4096 || (nv = realloc(v, (cnt + 1) * sizeof(*v))) == NULL) {
			free(v);
			return cnt >= 4096 ? DSSH_ERR_INVALID_FORMAT : DSSH_ERR_ALLOC;
		}
		v = nv;
		if (cidr_parse(s, len, &v[cnt]) != 0) {
			free(v);
			return DSSH_ERR_INVALID_FORMAT;
		}
		cnt++;
		s += len;
		if (*s == ',' && *++s == '\0') {
			free(v);
			return DSSH_ERR_INVALID_FORMAT;    /* a trailing comma */
		}
	}
	*out = v;
	*n = cnt;
	return 0;
}

bool
dssh_cidr_list_match(const struct dssh_cidr *v, unsigned n, const struct dssh_addr *a)
{
	for (unsigned i = 0; i < n; i++) {
		struct dssh_addr m = *a;

		if (v[i].addr.af != a->af)
			continue;
		dssh_addr_mask(&m, v[i].bits);
		if (memcmp(m.a, v[i].addr.a, sizeof(m.a)) == 0)
			return true;
	}
	return false;
}

/* ---- penalties ---- */

void
dssh_penalty_conf_default(struct dssh_penalty_conf *pc)
{
	memset(pc, 0, sizeof(*pc));
	pc->enabled = true;
	pc->secs[DSSH_PENALTY_CRASH] = 90;
	pc->secs[DSSH_PENALTY_AUTHFAIL] = 5;
	pc->secs[DSSH_PENALTY_NOAUTH] = 1;
	pc->secs[DSSH_PENALTY_GRACE] = 20;
	pc->max_secs = 600;
	pc->min_secs = 15;
	pc->max_sources4 = pc->max_sources6 = 65536;
}

const char *
dssh_penalty_reason(enum dssh_penalty_kind k)
{
	switch (k) {
	case DSSH_PENALTY_CRASH:
		return "penalty: caused crash";
	case DSSH_PENALTY_AUTHFAIL:
		return "penalty: failed authentication";
	case DSSH_PENALTY_NOAUTH:
		return "penalty: connections without attempting authentication";
	case DSSH_PENALTY_GRACE:
		return "penalty: exceeded LoginGraceTime";
	default:
		return "penalty";
	}
}

struct penalty {
	struct dssh_addr block;
	uint64_t expiry_ms;
	bool active;
	enum dssh_penalty_kind kind;
};

/* Sorted by block: binary search; an insertion moves the tail (rare). */
struct dssh_penalty_table {
	struct dssh_penalty_conf conf;
	struct penalty *v;
	size_t n, cap;
	unsigned count[2];          /* IPv4, IPv6 */
};

int
dssh_penalty_table_new(const struct dssh_penalty_conf *pc, struct dssh_penalty_table **out)
{
	struct dssh_penalty_table *t = calloc(1, sizeof(*t));

	*out = t;
	if (t == NULL)
		return DSSH_ERR_ALLOC;
	t->conf = *pc;
	return 0;
}

void
dssh_penalty_table_free(struct dssh_penalty_table *t)
{
	if (t == NULL)
		return;
	free(t->v);
	free(t);
}

/*
 * Index of block in a sorted array of n entries of size `size`, each with
 * its struct dssh_addr at offset `at`, or where it would go (*found false).
 */
static size_t
addr_search(const void *v, size_t n, size_t size, size_t at, const struct dssh_addr *block,
    bool *found)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = dssh_addr_cmp((const struct dssh_addr *)((const char *)v + mid * size + at),
		    block);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static size_t
penalty_find(const struct dssh_penalty_table *t, const struct dssh_addr *block, bool *found)
{
	return addr_search(t->v, t->n, sizeof(t->v[0]), offsetof(struct penalty, block), block,
	    found);
}

static unsigned
fam(const struct dssh_addr *a)
{
	return a->af == 4 ? 0 : 1;
}

static bool
family_full(const struct dssh_penalty_table *t, const struct dssh_addr *a)
{
	unsigned max = a->af == 4 ? t->conf.max_sources4 : t->conf.max_sources6;

	return t->count[fam(a)] >= max;
}

static unsigned
secs_left(uint64_t expiry_ms, uint64_t now_ms)
{
	return expiry_ms > now_ms ? (unsigned)((expiry_ms - now_ms + 999) / 1000) : 0;
}

void
dssh_penalty_add(struct dssh_penalty_table *t, const struct dssh_addr *block,
    enum dssh_penalty_kind kind, unsigned secs, uint64_t now_ms, struct dssh_penalty_info *info)
{
	uint64_t cap = now_ms + (uint64_t)t->conf.max_secs * 1000;
	bool found;
	size_t i = penalty_find(t, block, &found);
	struct penalty *p;

	if (found && t->v[i].expiry_ms > now_ms) {
		/* Penalties from concurrent connections add up, to max. */
		p = &t->v[i];
		p->expiry_ms += (uint64_t)secs * 1000;
		info->result = DSSH_PENALTY_EXTENDED;
	} else if (found) {
		p = &t->v[i];   /* expired, not yet swept: starts afresh */
		p->expiry_ms = now_ms + (uint64_t)secs * 1000;
		p->active = false;
		info->result = DSSH_PENALTY_ADDED;
	} else {
		if (family_full(t, block) || t->n == SIZE_MAX / sizeof(*t->v) / 2) {
			info->result = DSSH_PENALTY_TABLE_FULL;
			info->secs = 0;
			info->active = false;
			return;
		}
		if (t->n == t->cap) {
			size_t cap2 = t->cap ? 2 * t->cap : 64;
			struct penalty *v = realloc(t->v, cap2 * sizeof(*v));

			if (v == NULL) {
				info->result = DSSH_PENALTY_TABLE_FULL;
				info->secs = 0;
				info->active = false;
				return;
			}
			t->v = v;
			t->cap = cap2;
		}
		memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof(*t->v));
		t->n++;
		t->count[fam(block)]++;
		p = &t->v[i];
		p->block = *block;
		p->expiry_ms = now_ms + (uint64_t)secs * 1000;
		p->active = false;
		info->result = DSSH_PENALTY_ADDED;
	}
	p->kind = kind;
	if (p->expiry_ms > cap)
		p->expiry_ms = cap;
	/* Enforced only once min has accrued; then until it expires. */
	if (p->expiry_ms >= now_ms + (uint64_t)t->conf.min_secs * 1000)
		p->active = true;
	info->secs = secs_left(p->expiry_ms, now_ms);
	info->active = p->active;
}

bool
dssh_penalty_refused(const struct dssh_penalty_table *t, const struct dssh_addr *block,
    uint64_t now_ms, unsigned *left_s, enum dssh_penalty_kind *kind)
{
	bool found;
	size_t i = penalty_find(t, block, &found);
	bool deny_all = block->af == 4 ? t->conf.overflow_deny4 : t->conf.overflow_deny6;

	*left_s = 0;
	*kind = DSSH_PENALTY_KINDS;
	if (found && t->v[i].expiry_ms > now_ms) {
		*left_s = secs_left(t->v[i].expiry_ms, now_ms);
		*kind = t->v[i].kind;
		if (t->v[i].active)
			return true;
	}
	return deny_all && family_full(t, block);
}

unsigned
dssh_penalty_expire(struct dssh_penalty_table *t, uint64_t now_ms)
{
	size_t j = 0;
	unsigned gone = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].expiry_ms <= now_ms) {
			t->count[fam(&t->v[i].block)]--;
			gone++;
			continue;
		}
		t->v[j++] = t->v[i];
	}
	t->n = j;
	return gone;
}

unsigned
dssh_penalty_sources(const struct dssh_penalty_table *t, unsigned af)
{
	return t->count[af == 4 ? 0 : 1];
}

/* ---- per-source counts ---- */

struct dssh_srccount_ent {
	struct dssh_addr block;
	unsigned count;
};

static size_t
src_find(const struct dssh_srccount *sc, const struct dssh_addr *block, bool *found)
{
	return addr_search(sc->v, sc->n, sizeof(sc->v[0]), offsetof(struct dssh_srccount_ent, block),
	    block, found);
}

unsigned
dssh_srccount_inc(struct dssh_srccount *sc, const struct dssh_addr *block)
{
	bool found;
	size_t i = src_find(sc, block, &found);

	if (found)
		return ++sc->v[i].count;
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? 2 * sc->cap : 64;
		struct dssh_srccount_ent *v = realloc(sc->v, cap * sizeof(*v));

		if (v == NULL)
			return 0;
		sc->v = v;
		sc->cap = cap;
	}
	memmove(&sc->v[i + 1], &sc->v[i], (sc->n - i) * sizeof(*sc->v));
	sc->n++;
	sc->v[i].block = *block;
	sc->v[i].count = 1;
	return 1;
}

unsigned
dssh_srccount_get(const struct dssh_srccount *sc, const struct dssh_addr *block)
{
	bool found;
	size_t i = src_find(sc, block, &found);

	return found ? sc->v[i].count : 0;
}

void
dssh_srccount_dec(struct dssh_srccount *sc, const struct dssh_addr *block)
{
	bool found;
	size_t i = src_find(sc, block, &found);

	if (!found)
		return;
	if (--sc->v[i].count == 0) {
		memmove(&sc->v[i], &sc->v[i + 1], (sc->n - i - 1) * sizeof(*sc->v));
		sc->n--;
	}
}

void
dssh_srccount_free(struct dssh_srccount *sc)
{
	free(sc->v);
	sc->v = NULL;
	sc->n = sc->cap = 0;
}
