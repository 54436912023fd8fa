/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>

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

int
main(void)
{
	DSSH_RUN(test_roundtrip);
	DSSH_RUN(test_truncated_and_oversized);
	DSSH_RUN(test_max_and_growth);
	DSSH_RUN(test_mpint);
	DSSH_RUN(test_match);
	DSSH_TEST_END();
}
