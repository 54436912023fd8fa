/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>
#include <string.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_test.h"
#include "dssh_util.h"

static void
test_roundtrip(void)
{
	struct dssh_buf b;
	uint32_t u32;
	uint64_t u64;
	uint8_t u8;
	char *s;
	size_t n;

	dssh_buf_init(&b, 0);
	CHECK_EQ_INT(dssh_buf_put_u8(&b, 7), 0);
	CHECK_EQ_INT(dssh_buf_put_u32(&b, 0xdeadbeef), 0);
	CHECK_EQ_INT(dssh_buf_put_u64(&b, 0x0102030405060708ULL), 0);
	CHECK_EQ_INT(dssh_buf_put_cstring(&b, "hello"), 0);
	CHECK_EQ_INT(dssh_buf_len(&b), 1 + 4 + 8 + 4 + 5);
	CHECK_EQ_INT(dssh_buf_get_u8(&b, &u8), 0);
	CHECK_EQ_INT(u8, 7);
	CHECK_EQ_INT(dssh_buf_get_u32(&b, &u32), 0);
	CHECK_EQ_INT(u32, 0xdeadbeef);
	CHECK_EQ_INT(dssh_buf_get_u64(&b, &u64), 0);
	CHECK(u64 == 0x0102030405060708ULL);
	CHECK_EQ_INT(dssh_buf_get_cstring(&b, &s, &n), 0);
	CHECK_STR(s, "hello");
	CHECK_EQ_INT(n, 5);
	free(s);
	CHECK_EQ_INT(dssh_buf_len(&b), 0);
	CHECK_EQ_INT(dssh_buf_get_u8(&b, &u8), DSSH_ERR_MSG_INCOMPLETE);
	dssh_buf_free(&b);
}

static void
test_truncated_and_oversized(void)
{
	struct dssh_buf b;
	const uint8_t *p;
	size_t n;
	/* claims 10 bytes, holds 3 */
	static const uint8_t trunc[] = { 0, 0, 0, 10, 'a', 'b', 'c' };
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 'a' };
	static const uint8_t nul[] = { 0, 0, 0, 3, 'a', 0, 'c' };
	char *s;

	dssh_buf_from(&b, trunc, sizeof(trunc));
	CHECK_EQ_INT(dssh_buf_get_string_direct(&b, &p, &n), DSSH_ERR_MSG_INCOMPLETE);
	CHECK_EQ_INT(dssh_buf_len(&b), sizeof(trunc));  /* nothing consumed */
	dssh_buf_from(&b, huge, sizeof(huge));
	CHECK_EQ_INT(dssh_buf_get_string_direct(&b, &p, &n), DSSH_ERR_STRING_TOO_LARGE);
	dssh_buf_from(&b, nul, sizeof(nul));
	CHECK_EQ_INT(dssh_buf_get_cstring(&b, &s, &n), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_buf_len(&b), sizeof(nul));
	CHECK_EQ_INT(dssh_buf_get_string_direct(&b, &p, &n), 0);
	CHECK_EQ_INT(n, 3);
	/* read-only view refuses writes */
	CHECK_EQ_INT(dssh_buf_put_u8(&b, 1), DSSH_ERR_INVALID_ARGUMENT);
}

static void
test_max_and_growth(void)
{
	struct dssh_buf b;
	uint8_t big[1000];

	memset(big, 0xaa, sizeof(big));
	dssh_buf_init(&b, 1500);
	CHECK_EQ_INT(dssh_buf_put(&b, big, 1000), 0);
	CHECK_EQ_INT(dssh_buf_put(&b, big, 1000), DSSH_ERR_NO_BUFFER_SPACE);
	CHECK_EQ_INT(dssh_buf_consume(&b, 900), 0);
	CHECK_EQ_INT(dssh_buf_put(&b, big, 1000), 0);   /* reclaimed */
	CHECK_EQ_INT(dssh_buf_len(&b), 1100);
	CHECK_EQ_INT(dssh_buf_consume(&b, 2000), DSSH_ERR_MSG_INCOMPLETE);
	dssh_buf_free(&b);
}

static void
test_mpint(void)
{
	struct dssh_buf b;
	static const uint8_t v1[] = { 0x00, 0x00, 0x80, 0x01 };
	static const uint8_t neg[] = { 0, 0, 0, 1, 0x80 };
	static const uint8_t nonmin[] = { 0, 0, 0, 2, 0x00, 0x01 };
	const uint8_t *p;
	size_t n;

	dssh_buf_init(&b, 0);
	CHECK_EQ_INT(dssh_buf_put_mpint_bytes(&b, v1, sizeof(v1)), 0);
	CHECK_EQ_INT(dssh_buf_len(&b), 4 + 3);
	CHECK_EQ_INT(dssh_buf_ptr(&b)[3], 3);
	CHECK_EQ_INT(dssh_buf_ptr(&b)[4], 0);
	CHECK_EQ_INT(dssh_buf_get_mpint_direct(&b, &p, &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(p[0], 0x80);
	dssh_buf_free(&b);
	dssh_buf_from(&b, neg, sizeof(neg));
	CHECK_EQ_INT(dssh_buf_get_mpint_direct(&b, &p, &n), DSSH_ERR_INVALID_FORMAT);
	dssh_buf_from(&b, nonmin, sizeof(nonmin));
	CHECK_EQ_INT(dssh_buf_get_mpint_direct(&b, &p, &n), DSSH_ERR_INVALID_FORMAT);
}

static void
test_match(void)
{
	CHECK_EQ_INT(dssh_match_pattern("alice", "a*"), 1);
	CHECK_EQ_INT(dssh_match_pattern("alice", "b*"), 0);
	CHECK_EQ_INT(dssh_match_pattern("10.0.0.1", "10.0.?.1"), 1);
	CHECK_EQ_INT(dssh_match_pattern_list("bob", "alice,b?b", false), 1);
	CHECK_EQ_INT(dssh_match_pattern_list("bob", "*,!bob", false), -1);
	CHECK_EQ_INT(dssh_match_pattern_list("carol", "alice,bob", false), 0);
	CHECK_EQ_INT(dssh_ct_memcmp("abc", "abc", 3), 0);
	CHECK(dssh_ct_memcmp("abc", "abd", 3) != 0);
}

/* dssh_buf_room: only what is allocated, within max; compacts when half is
 * consumed; reserving within it keeps the bytes written there. */
static void
test_room(void)
{
	struct dssh_buf b;
	uint8_t *p, *q;
	uint8_t big[1000];

	dssh_buf_init(&b, 1024);
	CHECK_EQ_INT(dssh_buf_room(&b, &p), 0);        /* nothing allocated */
	memset(big, 'a', sizeof(big));
	CHECK_EQ_INT(dssh_buf_put(&b, big, 600), 0);
	size_t alloc = b.alloc;
	size_t room = dssh_buf_room(&b, &p);

	CHECK(room > 0);
	CHECK_EQ_INT(room, DSSH_MIN(alloc - 600, (size_t)1024 - 600));
	memset(p, 'b', room);
	CHECK_EQ_INT(dssh_buf_reserve(&b, room, &q), 0);
	CHECK(q == p);
	CHECK_EQ_INT(b.alloc, alloc);                  /* no growth */
	CHECK_EQ_INT(dssh_buf_ptr(&b)[600], 'b');
	/* consume past half: the room call compacts the rest to the front */
	CHECK_EQ_INT(dssh_buf_consume(&b, 600 + room - 10), 0);
	room = dssh_buf_room(&b, &p);
	CHECK_EQ_INT(b.off, 0);
	CHECK_EQ_INT(dssh_buf_len(&b), 10);
	CHECK_EQ_INT(dssh_buf_ptr(&b)[0], 'b');
	CHECK_EQ_INT(room, DSSH_MIN(alloc - 10, (size_t)1024 - 10));
	dssh_buf_free(&b);
}

/* consumed_wiped: compaction wipes the moved bytes' old place and leaves
 * the consumed region (the owner's to wipe) alone; without it, all. */
static void
test_compact_wipe(void)
{
	for (int owner = 0; owner < 2; owner++) {
		struct dssh_buf b;
		uint8_t v[100];

		dssh_buf_init(&b, 0);
		b.consumed_wiped = owner;
		for (size_t i = 0; i < sizeof(v); i++)
			v[i] = (uint8_t)(i + 1);
		CHECK_EQ_INT(dssh_buf_put(&b, v, sizeof(v)), 0);
		CHECK_EQ_INT(dssh_buf_consume(&b, 90), 0);
		dssh_buf_compact(&b);
		CHECK_EQ_INT(dssh_buf_len(&b), 10);
		CHECK_EQ_INT(memcmp(dssh_buf_ptr(&b), v + 90, 10), 0);
		/* the moved bytes' old place: wiped either way */
		for (size_t i = 90; i < 100; i++)
			CHECK_EQ_INT(b.data[i], 0);
		/* the consumed bytes 10..89: left as they were for the owner */
		CHECK_EQ_INT(b.data[50], owner ? 51 : 0);
		dssh_buf_free(&b);
	}
}

/* Padding bytes: random (not zero, not repeating) across pool refills,
 * large requests served directly. */
static void
test_random_pad(void)
{
	uint8_t a[255], b[255], big[2048];
	int zero = 0;

	for (int i = 0; i < 100; i++) {        /* 100 * 2 * 255 > the pool */
		dssh_random_pad(a, sizeof(a));
		dssh_random_pad(b, sizeof(b));
		CHECK(memcmp(a, b, sizeof(a)) != 0);
		for (size_t j = 0; j < sizeof(a); j++)
			zero += a[j] == 0;
	}
	CHECK(zero < 100 * 255 / 32);          /* ~1/256 expected */
	memset(big, 0, sizeof(big));
	dssh_random_pad(big, sizeof(big));
	CHECK(memcmp(big, big + 1024, 1024) != 0);
	dssh_random_pad(a, 0);
}

int
main(void)
{
	DSSH_RUN(test_room);
	DSSH_RUN(test_compact_wipe);
	DSSH_RUN(test_random_pad);
	DSSH_RUN(test_roundtrip);
	DSSH_RUN(test_truncated_and_oversized);
	DSSH_RUN(test_max_and_growth);
	DSSH_RUN(test_mpint);
	DSSH_RUN(test_match);
	DSSH_TEST_END();
}
