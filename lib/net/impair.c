/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Network impairment stage: see dssh_impair.h.
 *
 * Held packets live in two preallocated structures that together hold at
 * most max_held entries, each ordered by (release time, push sequence):
 *   - a FIFO ring, taking every packet whose release time is not earlier
 *     than the ring's last one. With a constant delay (zero included) and
 *     no jitter or reordering every packet goes here: O(1) push and pop.
 *   - a binary min-heap for the packets that would break the ring's order
 *     (jitter, reordering, a clock passed in going backwards).
 * Pop merges the two heads. Nothing is allocated after dssh_impair_new.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_impair.h"
#include "dssh_util.h"

struct impair_ent {
	uint64_t at;        /* release time; never UINT64_MAX */
	uint64_t seq;       /* push order, for ties */
	void *pkt;
};

struct dssh_impair {
	struct dssh_impair_conf conf;   /* with defaults filled */
	dssh_impair_free_fn free_pkt;
	dssh_impair_dup_fn dup_pkt;
	void *cb_arg;
	uint64_t rng[4];                /* xoshiro256** */
	uint64_t seq;
	struct impair_ent *fifo;        /* fifo_mask + 1 slots (>= max_held) */
	uint32_t fifo_mask, fifo_head, fifo_n;
	struct impair_ent *heap;        /* max_held slots */
	uint32_t heap_n;
	struct dssh_impair_stats st;
};

/* ---- PRNG: splitmix64 to seed xoshiro256** (Blackman and Vigna) ---- */

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t
rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t
rng_next(uint64_t s[4])
{
	uint64_t r = rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return r;
}

/* Uniform in [0, bound), bound <= 2^32 (multiply-shift, bias < 2^-32 * bound). */
static inline uint32_t
rng_below(uint64_t s[4], uint64_t bound)
{
	return (uint32_t)(((rng_next(s) >> 32) * bound) >> 32);
}

static inline bool
rng_chance(uint64_t s[4], uint32_t ppm)
{
	return rng_below(s, DSSH_IMPAIR_PPM) < ppm;
}

/* ---- configuration ---- */

static bool
conf_valid(const struct dssh_impair_conf *c)
{
	return c->loss_ppm <= DSSH_IMPAIR_PPM && c->reorder_ppm <= DSSH_IMPAIR_PPM &&
	    c->dup_ppm <= DSSH_IMPAIR_PPM && c->delay_us <= DSSH_IMPAIR_TIME_MAX_US &&
	    c->jitter_us <= c->delay_us && c->reorder_extra_us <= DSSH_IMPAIR_TIME_MAX_US &&
	    c->max_held <= DSSH_IMPAIR_MAX_HELD_LIMIT;
}

bool
dssh_impair_enabled(const struct dssh_impair_conf *conf)
{
	return conf != NULL && (conf->loss_ppm != 0 || conf->reorder_ppm != 0 ||
	    conf->dup_ppm != 0 || conf->delay_us != 0 || conf->jitter_us != 0);
}

/* ---- the stage ---- */

int
dssh_impair_new(const struct dssh_impair_conf *conf, dssh_impair_free_fn free_pkt,
    dssh_impair_dup_fn dup_pkt, void *cb_arg, struct dssh_impair **impp)
{
	struct dssh_impair *imp;
	uint64_t x;
	uint32_t cap = 1;

	if (impp == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	*impp = NULL;
	if (conf == NULL || free_pkt == NULL || !conf_valid(conf) ||
	    (conf->dup_ppm != 0 && dup_pkt == NULL))
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((imp = calloc(1, sizeof(*imp))) == NULL)
		return DSSH_ERR_ALLOC;
	imp->conf = *conf;
	if (imp->conf.max_held == 0)
		imp->conf.max_held = DSSH_IMPAIR_MAX_HELD_DEFAULT;
	if (imp->conf.reorder_extra_us == 0)
		imp->conf.reorder_extra_us = DSSH_MAX(2 * conf->jitter_us,
		    DSSH_IMPAIR_REORDER_EXTRA_MIN_US);
	imp->free_pkt = free_pkt;
	imp->dup_pkt = dup_pkt;
	imp->cb_arg = cb_arg;
	x = conf->seed;
	for (int i = 0; i < 4; i++)
		imp->rng[i] = splitmix64(&x);
	while (cap < imp->conf.max_held)
		cap <<= 1;
	imp->fifo_mask = cap - 1;
	imp->fifo = calloc(cap, sizeof(*imp->fifo));
	imp->heap = calloc(imp->conf.max_held, sizeof(*imp->heap));
	if (imp->fifo == NULL || imp->heap == NULL) {
		free(imp->fifo);
		free(imp->heap);
		free(imp);
		return DSSH_ERR_ALLOC;
	}
	*impp = imp;
	return 0;
}

static inline bool
ent_before(const struct impair_ent *a, const struct impair_ent *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
heap_insert(struct dssh_impair *imp, struct impair_ent e)
{
	uint32_t i = imp->heap_n++;

	while (i > 0) {
		uint32_t p = (i - 1) / 2;

		if (!ent_before(&e, &imp->heap[p]))
			break;
		imp->heap[i] = imp->heap[p];
		i = p;
	}
	imp->heap[i] = e;
}

static void
heap_remove_top(struct dssh_impair *imp)
{
	struct impair_ent last;
	uint32_t i = 0, n;

	n = --imp->heap_n;
	if (n == 0)
		return;
	last = imp->heap[n];
	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && ent_before(&imp->heap[c + 1], &imp->heap[c]))
			c++;
		if (!ent_before(&imp->heap[c], &last))
			break;
		imp->heap[i] = imp->heap[c];
		i = c;
	}
	imp->heap[i] = last;
}

static inline struct impair_ent *
fifo_at(struct dssh_impair *imp, uint32_t k)
{
	return &imp->fifo[(imp->fifo_head + k) & imp->fifo_mask];
}

/* Delay, reordering and holding for one handle (original or copy). */
static void
impair_hold(struct dssh_impair *imp, void *pkt, uint64_t now_us)
{
	const struct dssh_impair_conf *c = &imp->conf;
	struct impair_ent e;
	uint64_t add = c->delay_us;

	if (dssh_unlikely(c->jitter_us != 0))
		add = add - c->jitter_us + rng_below(imp->rng, 2 * (uint64_t)c->jitter_us + 1);
	if (dssh_unlikely(c->reorder_ppm != 0) && rng_chance(imp->rng, c->reorder_ppm)) {
		add += c->reorder_extra_us;
		imp->st.reordered++;
	}
	if (dssh_unlikely(imp->fifo_n + imp->heap_n >= c->max_held)) {
		imp->st.overflow++;
		imp->free_pkt(imp->cb_arg, pkt);
		return;
	}
	if (add != 0)
		imp->st.delayed++;
	/* add is at most 4 * DSSH_IMPAIR_TIME_MAX_US; UINT64_MAX stays "nothing held". */
	e.at = now_us < UINT64_MAX - 1 - add ? now_us + add : UINT64_MAX - 1;
	e.seq = imp->seq++;
	e.pkt = pkt;
	if (dssh_likely(imp->fifo_n == 0 || e.at >= fifo_at(imp, imp->fifo_n - 1)->at)) {
		*fifo_at(imp, imp->fifo_n) = e;
		imp->fifo_n++;
	} else {
		heap_insert(imp, e);
	}
	imp->st.held++;
}

void
dssh_impair_push(struct dssh_impair *imp, void *pkt, uint64_t now_us)
{
	const struct dssh_impair_conf *c = &imp->conf;
	void *copy = NULL;

	imp->st.in++;
	if (dssh_unlikely(c->loss_ppm != 0) && rng_chance(imp->rng, c->loss_ppm)) {
		imp->st.dropped++;
		imp->free_pkt(imp->cb_arg, pkt);
		return;
	}
	if (dssh_unlikely(c->dup_ppm != 0) && rng_chance(imp->rng, c->dup_ppm)) {
		if ((copy = imp->dup_pkt(imp->cb_arg, pkt)) != NULL)
			imp->st.duplicated++;
		else
			imp->st.dup_failed++;
	}
	impair_hold(imp, pkt, now_us);
	if (copy != NULL)
		impair_hold(imp, copy, now_us);
}

void
dssh_impair_push_burst(struct dssh_impair *imp, void *const *pkts, unsigned n, uint64_t now_us)
{
	for (unsigned i = 0; i < n; i++)
		dssh_impair_push(imp, pkts[i], now_us);
}

unsigned
dssh_impair_pop(struct dssh_impair *imp, uint64_t now_us, void **out, unsigned n)
{
	unsigned k = 0;

	while (k < n) {
		struct impair_ent *f = imp->fifo_n != 0 ? fifo_at(imp, 0) : NULL;
		struct impair_ent *h = imp->heap_n != 0 ? &imp->heap[0] : NULL;

		if (f != NULL && (h == NULL || ent_before(f, h))) {
			if (f->at > now_us)
				break;
			out[k++] = f->pkt;
			imp->fifo_head = (imp->fifo_head + 1) & imp->fifo_mask;
			imp->fifo_n--;
		} else if (h != NULL) {
			if (h->at > now_us)
				break;
			out[k++] = h->pkt;
			heap_remove_top(imp);
		} else {
			break;
		}
	}
	imp->st.out += k;
	imp->st.held -= k;
	return k;
}

uint64_t
dssh_impair_next_us(const struct dssh_impair *imp)
{
	uint64_t t = UINT64_MAX;

	if (imp->fifo_n != 0)
		t = imp->fifo[imp->fifo_head].at;
	if (imp->heap_n != 0 && imp->heap[0].at < t)
		t = imp->heap[0].at;
	return t;
}

void
dssh_impair_get_stats(const struct dssh_impair *imp, struct dssh_impair_stats *st)
{
	*st = imp->st;
}

void
dssh_impair_free(struct dssh_impair *imp)
{
	if (imp == NULL)
		return;
	for (uint32_t i = 0; i < imp->fifo_n; i++)
		imp->free_pkt(imp->cb_arg, fifo_at(imp, i)->pkt);
	for (uint32_t i = 0; i < imp->heap_n; i++)
		imp->free_pkt(imp->cb_arg, imp->heap[i].pkt);
	free(imp->fifo);
	free(imp->heap);
	free(imp);
}

/* ---- operator spec ---- */

struct impair_unit {
	const char *name;
	uint32_t scale;
};

static const struct impair_unit pct_units[] = { { "%", 10000 }, { "ppm", 1 } };
static const struct impair_unit time_units[] = { { "us", 1 }, { "ms", 1000 }, { "s", 1000000 } };

enum impair_key {
	KEY_LOSS, KEY_REORDER, KEY_DUP, KEY_DELAY, KEY_JITTER, KEY_REORDER_EXTRA, KEY_SEED,
	KEY_MAX_HELD,
};

static const char *const key_names[] = {
	[KEY_LOSS] = "loss", [KEY_REORDER] = "reorder", [KEY_DUP] = "dup",
	[KEY_DELAY] = "delay", [KEY_JITTER] = "jitter", [KEY_REORDER_EXTRA] = "reorder_extra",
	[KEY_SEED] = "seed", [KEY_MAX_HELD] = "max_held",
};

static inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
static inline bool is_blank(char c) { return c == ' ' || c == '\t'; }

static bool
span_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static void
span_trim(const char **s, size_t *n)
{
	while (*n > 0 && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_blank((*s)[*n - 1]))
		(*n)--;
}

/*
 * "12", "12.5", "0.0001" followed by one of units, exact in the unit's
 * base (1 us, 1 ppm), at most max. At most 19 digits, so the mantissa and
 * the power of ten fit in 64 bits.
 */
static int
parse_fixed(const char *s, size_t n, const struct impair_unit *units, size_t nunits,
    uint64_t max, uint64_t *out)
{
	uint64_t m = 0, pow = 1, v;
	size_t i = 0, ndig = 0, f0;
	const struct impair_unit *u = NULL;

	while (i < n && is_digit(s[i])) {
		if (++ndig > 19)
			return DSSH_ERR_CONFIG;
		m = m * 10 + (uint64_t)(s[i++] - '0');
	}
	if (ndig == 0)
		return DSSH_ERR_CONFIG;
	if (i < n && s[i] == '.') {
		f0 = ++i;
		while (i < n && is_digit(s[i])) {
			if (++ndig > 19)
				return DSSH_ERR_CONFIG;
			m = m * 10 + (uint64_t)(s[i++] - '0');
			pow *= 10;
		}
		if (i == f0)
			return DSSH_ERR_CONFIG;
	}
	for (size_t k = 0; k < nunits; k++)
		if (span_eq(s + i, n - i, units[k].name))
			u = &units[k];
	if (u == NULL || m > UINT64_MAX / u->scale)
		return DSSH_ERR_CONFIG;
	v = m * u->scale;
	if (v % pow != 0 || v / pow > max)   /* finer than the base unit, or too large */
		return DSSH_ERR_CONFIG;
	*out = v / pow;
	return 0;
}

/* 1..20 decimal digits, no sign, fitting in 64 bits. */
static int
parse_dec(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return DSSH_ERR_CONFIG;
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (!is_digit(s[i]))
			return DSSH_ERR_CONFIG;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return DSSH_ERR_CONFIG;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Decimal, or 0x and 1..16 hex digits. */
static int
parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return parse_dec(s, n, out);
	if (n - 2 > 16)
		return DSSH_ERR_CONFIG;
	for (size_t i = 2; i < n; i++) {
		int d = dssh_hex_digit(s[i]);

		if (d < 0)
			return DSSH_ERR_CONFIG;
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return 0;
}

static int
parse_item(const char *s, size_t n, struct dssh_impair_conf *c, unsigned *seen)
{
	const char *eq = memchr(s, '=', n), *val;
	size_t klen, vlen;
	uint64_t v;
	int key = -1, r;

	if (eq == NULL)
		return DSSH_ERR_CONFIG;
	klen = (size_t)(eq - s);
	val = eq + 1;
	vlen = n - klen - 1;
	span_trim(&s, &klen);
	span_trim(&val, &vlen);
	for (size_t k = 0; k < DSSH_ARRAY_SIZE(key_names); k++)
		if (span_eq(s, klen, key_names[k]))
			key = (int)k;
	if (key < 0 || (*seen & (1u << key)) != 0)
		return DSSH_ERR_CONFIG;
	*seen |= 1u << key;
	switch (key) {
	case KEY_LOSS:
	case KEY_REORDER:
	case KEY_DUP:
		r = parse_fixed(val, vlen, pct_units, DSSH_ARRAY_SIZE(pct_units), DSSH_IMPAIR_PPM, &v);
		break;
	case KEY_DELAY:
	case KEY_JITTER:
	case KEY_REORDER_EXTRA:
		r = parse_fixed(val, vlen, time_units, DSSH_ARRAY_SIZE(time_units),
		    DSSH_IMPAIR_TIME_MAX_US, &v);
		break;
	case KEY_SEED:
		r = parse_u64(val, vlen, &v);
		break;
	default:
		r = parse_dec(val, vlen, &v);   /* KEY_MAX_HELD */
		if (r == 0 && (v == 0 || v > DSSH_IMPAIR_MAX_HELD_LIMIT))
			r = DSSH_ERR_CONFIG;
		break;
	}
	if (r != 0)
		return DSSH_ERR_CONFIG;
	switch (key) {
	case KEY_LOSS: c->loss_ppm = (uint32_t)v; break;
	case KEY_REORDER: c->reorder_ppm = (uint32_t)v; break;
	case KEY_DUP: c->dup_ppm = (uint32_t)v; break;
	case KEY_DELAY: c->delay_us = (uint32_t)v; break;
	case KEY_JITTER: c->jitter_us = (uint32_t)v; break;
	case KEY_REORDER_EXTRA: c->reorder_extra_us = (uint32_t)v; break;
	case KEY_SEED: c->seed = v; break;
	default: c->max_held = (uint32_t)v; break;
	}
	return 0;
}

int
dssh_impair_parse(const char *spec, struct dssh_impair_conf *out)
{
	struct dssh_impair_conf c;
	const char *p = spec;
	size_t len;
	unsigned seen = 0;
	int r;

	if (spec == NULL || out == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((len = strnlen(spec, DSSH_IMPAIR_SPEC_MAX + 1)) > DSSH_IMPAIR_SPEC_MAX)
		return DSSH_ERR_CONFIG;
	memset(&c, 0, sizeof(c));
	span_trim(&p, &len);
	if (len == 0)
		return DSSH_ERR_CONFIG;
	if (!span_eq(p, len, "off") && !span_eq(p, len, "none")) {
		for (;;) {
			const char *comma = memchr(p, ',', len);
			size_t n = comma != NULL ? (size_t)(comma - p) : len;

			if ((r = parse_item(p, n, &c, &seen)) != 0)
				return r;
			if (comma == NULL)
				break;
			p += n + 1;
			len -= n + 1;
		}
		if (!conf_valid(&c))
			return DSSH_ERR_CONFIG;   /* jitter > delay; the rest is range-checked above */
	}
	*out = c;
	return 0;
}

struct impair_fmt {
	char *buf;
	size_t len, off;
	bool full;
};

static void fmt_add(struct impair_fmt *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fmt_add(struct impair_fmt *f, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (f->full)
		return;
	va_start(ap, fmt);
	r = vsnprintf(f->buf + f->off, f->len - f->off, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= f->len - f->off) {
		f->full = true;
		return;
	}
	f->off += (size_t)r;
}

static void
fmt_ppm(struct impair_fmt *f, const char *key, uint32_t ppm)
{
	char frac[8];
	size_t n;

	if (ppm == 0)
		return;
	fmt_add(f, "%s%s=%u", f->off ? "," : "", key, ppm / 10000);
	if (ppm % 10000 != 0) {
		snprintf(frac, sizeof(frac), "%04u", ppm % 10000);
		for (n = strlen(frac); n > 0 && frac[n - 1] == '0'; n--)
			frac[n - 1] = '\0';
		fmt_add(f, ".%s", frac);
	}
	fmt_add(f, "%%");
}

static void
fmt_time(struct impair_fmt *f, const char *key, uint32_t us)
{
	if (us == 0)
		return;
	if (us % 1000000 == 0)
		fmt_add(f, "%s%s=%us", f->off ? "," : "", key, us / 1000000);
	else if (us % 1000 == 0)
		fmt_add(f, "%s%s=%ums", f->off ? "," : "", key, us / 1000);
	else
		fmt_add(f, "%s%s=%uus", f->off ? "," : "", key, us);
}

int
dssh_impair_format(const struct dssh_impair_conf *conf, char *buf, size_t len)
{
	struct impair_fmt f = { .buf = buf, .len = len };

	if (conf == NULL || buf == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (len == 0)
		return DSSH_ERR_NO_BUFFER_SPACE;
	buf[0] = '\0';
	fmt_ppm(&f, key_names[KEY_LOSS], conf->loss_ppm);
	fmt_ppm(&f, key_names[KEY_REORDER], conf->reorder_ppm);
	fmt_ppm(&f, key_names[KEY_DUP], conf->dup_ppm);
	fmt_time(&f, key_names[KEY_DELAY], conf->delay_us);
	fmt_time(&f, key_names[KEY_JITTER], conf->jitter_us);
	fmt_time(&f, key_names[KEY_REORDER_EXTRA], conf->reorder_extra_us);
	if (conf->seed != 0)
		fmt_add(&f, "%sseed=%llu", f.off ? "," : "", (unsigned long long)conf->seed);
	if (conf->max_held != 0)
		fmt_add(&f, "%smax_held=%u", f.off ? "," : "", conf->max_held);
	if (f.off == 0 && !f.full)
		fmt_add(&f, "off");
	return f.full ? DSSH_ERR_NO_BUFFER_SPACE : 0;
}
