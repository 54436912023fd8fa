/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Impairment specs (lib/net/impair.c). The input, as a NUL-terminated copy,
 * goes to dssh_impair_parse. A spec that parses must format and parse back
 * to the same conf, then drive a stage: the bytes after the first NUL (or a
 * fixed script when there are none) are pushes and pops on a moving clock,
 * and every packet handle must end popped or freed, exactly once.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_impair.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_HELD 64u      /* keeps each run small; overflow is exercised */
#define FPKT_MAGIC 0x1badcafeu

struct fpkt {
	uint32_t magic;
};

static long fuzz_live;

static void *
fpkt_new(void)
{
	struct fpkt *p = malloc(sizeof(*p));

	if (p == NULL)
		abort();
	p->magic = FPKT_MAGIC;
	fuzz_live++;
	return p;
}

static void
fpkt_release(void *pkt)
{
	struct fpkt *p = pkt;

	if (p->magic != FPKT_MAGIC)
		abort();
	p->magic = 0;
	fuzz_live--;
	free(p);
}

static void
fuzz_free_pkt(void *arg, void *pkt)
{
	(void)arg;
	fpkt_release(pkt);
}

static void *
fuzz_dup_pkt(void *arg, void *pkt)
{
	unsigned *n = arg;

	if (((struct fpkt *)pkt)->magic != FPKT_MAGIC)
		abort();
	return ++*n % 7 == 0 ? NULL : fpkt_new();   /* sometimes the copy fails */
}

static bool
conf_eq(const struct dssh_impair_conf *a, const struct dssh_impair_conf *b)
{
	return a->loss_ppm == b->loss_ppm && a->reorder_ppm == b->reorder_ppm &&
	    a->dup_ppm == b->dup_ppm && a->delay_us == b->delay_us &&
	    a->jitter_us == b->jitter_us && a->reorder_extra_us == b->reorder_extra_us &&
	    a->seed == b->seed && a->max_held == b->max_held;
}

static void
check_stats(const struct dssh_impair *imp)
{
	struct dssh_impair_stats st;

	dssh_impair_get_stats(imp, &st);
	if (st.in + st.duplicated != st.out + st.dropped + st.overflow + st.held ||
	    st.held > FUZZ_MAX_HELD)
		abort();
}

static void
pop_all(struct dssh_impair *imp, uint64_t now)
{
	void *out[16];
	unsigned n;

	do {
		n = dssh_impair_pop(imp, now, out, 16);
		if (n > 16)
			abort();
		for (unsigned i = 0; i < n; i++)
			fpkt_release(out[i]);
	} while (n == 16);
	if (dssh_impair_next_us(imp) <= now)
		abort();     /* something due was left behind */
}

static void
run_stage(const struct dssh_impair_conf *conf, const uint8_t *script, size_t len)
{
	static const uint8_t fixed[] = { 0x07, 0x3f, 0x81, 0x17, 0xff, 0x07, 0x90, 0x00, 0xa0 };
	struct dssh_impair_conf c = *conf;
	struct dssh_impair *imp;
	uint64_t now = 1000;
	unsigned dups = 0;

	if (c.max_held == 0 || c.max_held > FUZZ_MAX_HELD)
		c.max_held = FUZZ_MAX_HELD;
	if (dssh_impair_new(&c, fuzz_free_pkt, fuzz_dup_pkt, &dups, &imp) != 0)
		abort();
	if (len == 0) {
		script = fixed;
		len = sizeof(fixed);
	}
	if (len > 4096)
		len = 4096;
	for (size_t i = 0; i < len; i++) {
		uint8_t b = script[i];

		if (b & 0x80) {
			/* pop after up to ~1.6 s; 0xff jumps far past any release time */
			now += b == 0xff ? 200000000u : (uint64_t)(b & 0x7f) * 12345u;
			pop_all(imp, now);
		} else {
			for (unsigned k = 0; k <= (b & 7u); k++)
				dssh_impair_push(imp, fpkt_new(), now);
			now += b >> 3;
		}
		check_stats(imp);
	}
	/* half the time everything is popped, else freeing the stage frees it */
	if (len & 1)
		pop_all(imp, UINT64_MAX - 1);
	check_stats(imp);
	dssh_impair_free(imp);
	if (fuzz_live != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dssh_impair_conf conf, again;
	char *spec = malloc(size + 1), buf[DSSH_IMPAIR_FORMAT_MAX];
	size_t slen;
	int r;

	if (spec == NULL)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	r = dssh_impair_parse(spec, &conf);
	if (r != 0 && r != DSSH_ERR_CONFIG)
		abort();
	if (r == 0) {
		if (dssh_impair_format(&conf, buf, sizeof(buf)) != 0 ||
		    memchr(buf, '\0', sizeof(buf)) == NULL ||
		    dssh_impair_parse(buf, &again) != 0 || !conf_eq(&conf, &again))
			abort();
		slen = strlen(spec);
		if (slen < size)
			run_stage(&conf, data + slen + 1, size - slen - 1);
		else
			run_stage(&conf, NULL, 0);
	}
	free(spec);
	return 0;
}
