/* SPDX-License-Identifier: BSD-3-Clause */
/* Compression (ssh_comp.c): packets through one stream each way, the
 * inflate bound (zip bombs), garbage and truncated input, how much of the
 * output buffer free wipes. */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_test.h"
#include "dssh_util.h"
#include "ssh_internal.h"

static void
test_round_trip(void)
{
	struct dssh_comp *d, *i;
	static uint8_t big[200000];
	const uint8_t *z, *out;
	size_t zl, ol;
	uint8_t z_copy[DSSH_PACKET_MAX];

	CHECK_EQ_INT(dssh_comp_new(false, &d), 0);
	CHECK_EQ_INT(dssh_comp_new(true, &i), 0);
	for (size_t k = 0; k < sizeof(big); k++)
		big[k] = (uint8_t)(k * 7 + k / 1000);
	for (int round = 0; round < 50; round++) {
		/* head || body as one payload, sizes from 1 byte to 200 KB */
		size_t hl = (size_t)(round % 9), bl = round == 0 ? 1 : (size_t)round * 4000;
		uint8_t head[9] = { 94, 0, 0, 0, 1, 2, 3, 4, 5 };

		CHECK_EQ_INT(dssh_comp_deflate(d, head, hl, big, bl, &z, &zl), 0);
		memcpy(z_copy, z, zl);
		CHECK_EQ_INT(dssh_comp_inflate(i, z_copy, zl, &out, &ol), 0);
		CHECK_EQ_INT((int)ol, (int)(hl + bl));
		CHECK_MEM(out, head, hl);
		CHECK_MEM(out + hl, big, bl);
		dssh_comp_wipe_last(i, ol);
	}
	/* repeated payloads shrink: the stream goes on across packets */
	CHECK_EQ_INT(dssh_comp_deflate(d, NULL, 0, big, 1000, &z, &zl), 0);
	CHECK(zl < 100);
	dssh_comp_free(d);
	dssh_comp_free(i);
}

/* n zero bytes in one packet: over DSSH_COMP_INFLATE_MAX is refused. */
static int
inflate_zeros(size_t n)
{
	struct dssh_comp *d, *i;
	uint8_t *zeros = calloc(1, n);
	uint8_t *copy = malloc(DSSH_PACKET_MAX);
	const uint8_t *z, *out;
	size_t zl, ol;
	int r;

	CHECK(zeros != NULL && copy != NULL);
	CHECK_EQ_INT(dssh_comp_new(false, &d), 0);
	CHECK_EQ_INT(dssh_comp_new(true, &i), 0);
	/* two halves through deflate, as head and body */
	CHECK_EQ_INT(dssh_comp_deflate(d, zeros, n / 2, zeros, n - n / 2, &z, &zl), 0);
	CHECK(zl < n / 500 + 64);     /* deflate tops out near 1000:1 */
	memcpy(copy, z, zl);
	r = dssh_comp_inflate(i, copy, zl, &out, &ol);
	if (r == 0)
		CHECK_EQ_INT((int)ol, (int)n);
	dssh_comp_free(d);
	dssh_comp_free(i);
	free(zeros);
	free(copy);
	return r;
}

static void
test_bomb(void)
{
	CHECK_EQ_INT(inflate_zeros(DSSH_COMP_INFLATE_MAX), 0);
	CHECK_EQ_INT(inflate_zeros(DSSH_COMP_INFLATE_MAX + 1), DSSH_ERR_NO_BUFFER_SPACE);
	CHECK_EQ_INT(inflate_zeros(64u << 20), DSSH_ERR_NO_BUFFER_SPACE);
}

static void
test_garbage(void)
{
	static const uint8_t bad_header[] = { 0xff, 0xff, 0xff, 0xff, 0x00 };
	static const uint8_t bad_block[] = { 0x78, 0x9c, 0xff, 0xff, 0xff };
	struct dssh_comp *i, *d;
	const uint8_t *out, *z;
	uint8_t half[64];
	size_t ol, zl;
	int r;

	CHECK_EQ_INT(dssh_comp_new(true, &i), 0);
	CHECK_EQ_INT(dssh_comp_inflate(i, bad_header, sizeof(bad_header), &out, &ol),
	    DSSH_ERR_INVALID_FORMAT);
	dssh_comp_free(i);
	CHECK_EQ_INT(dssh_comp_new(true, &i), 0);
	CHECK_EQ_INT(dssh_comp_inflate(i, bad_block, sizeof(bad_block), &out, &ol),
	    DSSH_ERR_INVALID_FORMAT);
	dssh_comp_free(i);
	/* empty input: nothing out, no error (the engine refuses length 0) */
	CHECK_EQ_INT(dssh_comp_new(true, &i), 0);
	CHECK_EQ_INT(dssh_comp_inflate(i, bad_block, 0, &out, &ol), 0);
	CHECK_EQ_INT((int)ol, 0);
	dssh_comp_free(i);
	/* truncated: what is there comes out, the rest never does */
	CHECK_EQ_INT(dssh_comp_new(false, &d), 0);
	CHECK_EQ_INT(dssh_comp_new(true, &i), 0);
	CHECK_EQ_INT(dssh_comp_deflate(d, (const uint8_t *)"hello, world, hello, world", 26,
	    NULL, 0, &z, &zl), 0);
	CHECK(zl > 4 && zl <= sizeof(half));
	memcpy(half, z, zl);
	r = dssh_comp_inflate(i, half, zl / 2, &out, &ol);
	CHECK(r == 0 || r == DSSH_ERR_INVALID_FORMAT);
	if (r == 0)
		CHECK(ol < 26);
	dssh_comp_free(d);
	dssh_comp_free(i);
	CHECK_EQ_INT(dssh_comp_alg_by_name("zlib@openssh.com"), DSSH_COMP_DELAYED);
	CHECK_EQ_INT(dssh_comp_alg_by_name("zlib"), DSSH_COMP_ZLIB);
	CHECK_EQ_INT(dssh_comp_alg_by_name("none"), DSSH_COMP_NONE);
}

/* What free wipes: the most of the output buffer any call wrote, refused
 * packets included, never less than a packet returned. */
static void
test_used(void)
{
	static uint8_t text[3000], zeros[DSSH_COMP_INFLATE_MAX + 2];
	struct dssh_comp *d, *i;
	const uint8_t *z, *out;
	uint8_t copy[4096];
	size_t zl, ol, big;

	for (size_t k = 0; k < sizeof(text); k++)
		text[k] = (uint8_t)(k * 13 + k / 7);
	CHECK_EQ_INT(dssh_comp_new(false, &d), 0);
	CHECK_EQ_INT(dssh_comp_new(true, &i), 0);
	CHECK_EQ_INT((int)dssh_comp_used(d), 0);
	CHECK_EQ_INT((int)dssh_comp_used(i), 0);
	CHECK_EQ_INT(dssh_comp_deflate(d, text, 10, text + 10, sizeof(text) - 10, &z, &zl), 0);
	CHECK_EQ_INT((int)dssh_comp_used(d), (int)zl);
	big = zl;
	CHECK(zl <= sizeof(copy));
	memcpy(copy, z, zl);
	CHECK_EQ_INT(dssh_comp_inflate(i, copy, zl, &out, &ol), 0);
	CHECK_EQ_INT((int)ol, (int)sizeof(text));
	CHECK_EQ_INT((int)dssh_comp_used(i), (int)sizeof(text));
	/* a smaller packet next: the mark stays at the larger one */
	CHECK_EQ_INT(dssh_comp_deflate(d, text, 5, NULL, 0, &z, &zl), 0);
	CHECK(zl < big);
	CHECK_EQ_INT((int)dssh_comp_used(d), (int)big);
	memcpy(copy, z, zl);
	CHECK_EQ_INT(dssh_comp_inflate(i, copy, zl, &out, &ol), 0);
	CHECK_EQ_INT((int)ol, 5);
	CHECK_EQ_INT((int)dssh_comp_used(i), (int)sizeof(text));
	dssh_comp_free(d);
	dssh_comp_free(i);
	/* a bomb refused: it filled the whole buffer, all of it is wiped */
	CHECK_EQ_INT(dssh_comp_new(false, &d), 0);
	CHECK_EQ_INT(dssh_comp_new(true, &i), 0);
	CHECK_EQ_INT(dssh_comp_deflate(d, zeros, 1, zeros + 1, sizeof(zeros) - 1, &z, &zl), 0);
	CHECK(zl <= sizeof(copy));
	memcpy(copy, z, zl);
	CHECK_EQ_INT(dssh_comp_inflate(i, copy, zl, &out, &ol), DSSH_ERR_NO_BUFFER_SPACE);
	CHECK_EQ_INT((int)dssh_comp_used(i), (int)DSSH_COMP_INFLATE_MAX + 1);
	dssh_comp_free(d);
	dssh_comp_free(i);
}

int
main(void)
{
	DSSH_RUN(test_round_trip);
	DSSH_RUN(test_used);
	DSSH_RUN(test_bomb);
	DSSH_RUN(test_garbage);
	DSSH_TEST_END();
}
