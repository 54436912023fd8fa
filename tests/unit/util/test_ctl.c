/* SPDX-License-Identifier: BSD-3-Clause */
/* The control protocol's lines and the metrics endpoint's request head. */
#include "dssh_ctl.h"
#include "dssh_err.h"
#include "dssh_test.h"

static struct dssh_ctl_obj o;

static int
parse(const char *s)
{
	return dssh_ctl_parse(s, strlen(s), &o);
}

static void
test_ctl_valid(void)
{
	uint64_t v = 0;

	CHECK_EQ_INT(parse("{\"cmd\":\"kill\",\"id\":42}"), 0);
	CHECK_EQ_INT(o.n, 2);
	CHECK_STR(dssh_ctl_get(&o, "cmd"), "kill");
	CHECK_EQ_INT(dssh_ctl_get_u64(&o, "id", &v), 0);
	CHECK_EQ_INT(v, 42);
	CHECK_EQ_INT(dssh_ctl_get_u64(&o, "cmd", &v), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_ctl_get_u64(&o, "nope", &v), DSSH_ERR_NOT_FOUND);
	CHECK(dssh_ctl_get(&o, "nope") == NULL);
	CHECK_EQ_INT(parse("  { }  \r\n"), 0);
	CHECK_EQ_INT(o.n, 0);
	CHECK_EQ_INT(parse("{ \"a\" : true , \"b\":false,\"c\":18446744073709551615 }"), 0);
	CHECK_STR(dssh_ctl_get(&o, "a"), "1");
	CHECK_STR(dssh_ctl_get(&o, "b"), "0");
	CHECK_EQ_INT(dssh_ctl_get_u64(&o, "c", &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_EQ_INT(parse("{\"s\":\"q\\\"b\\\\s\\/n\\n\\u0041\\u00e9\\u20ac\"}"), 0);
	CHECK_STR(dssh_ctl_get(&o, "s"), "q\"b\\s/n\nA\xc3\xa9\xe2\x82\xac");
	CHECK_EQ_INT(parse("{\"n\":0}"), 0);
}

static void
test_ctl_garbage(void)
{
	static const char *bad[] = {
		"", "{", "}", "[]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\":1 \"b\":2}",
		"{\"a\":-1}", "{\"a\":1.5}", "{\"a\":01}", "{\"a\":18446744073709551616}",
		"{\"a\":tru}", "{\"a\":null}", "{\"a\":{}}", "{\"a\":[1]}", "{\"a\":\"x}",
		"{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}",
		"{\"a\":\"\x01\"}", "{\"a\":1}x", "{\"a\":1}{}", "{a:1}", "{\"a\":1,\"a\":2}",
		"{\"a\":\"\\", "{\"a\":\"\\u", "x{}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i]);

		if (r != DSSH_ERR_INVALID_FORMAT)
			fprintf(stderr, "accepted or odd (%d): %s\n", r, bad[i]);
		CHECK_EQ_INT(r, DSSH_ERR_INVALID_FORMAT);
	}
	/* NUL inside the line */
	CHECK_EQ_INT(dssh_ctl_parse("{\"a\":\"\0\"}", 9, &o), DSSH_ERR_INVALID_FORMAT);
}

static void
test_ctl_truncated(void)
{
	const char *s = "{\"cmd\":\"kill\",\"id\":42,\"t\":true,\"u\":\"\\u00e9\"}";
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		CHECK_EQ_INT(dssh_ctl_parse(s, i, &o), DSSH_ERR_INVALID_FORMAT);
	CHECK_EQ_INT(dssh_ctl_parse(s, n, &o), 0);
}

static void
test_ctl_oversized(void)
{
	static char big[DSSH_CTL_LINE_MAX + 64];
	struct dssh_buf b;

	/* one long string: the limit holds, one byte past it does not */
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"a\":\"", 6);
	memcpy(big + DSSH_CTL_LINE_MAX - 2, "\"}", 2);
	CHECK_EQ_INT(dssh_ctl_parse(big, DSSH_CTL_LINE_MAX, &o), 0);
	CHECK_EQ_INT(strlen(dssh_ctl_get(&o, "a")), DSSH_CTL_LINE_MAX - 8);
	memcpy(big + DSSH_CTL_LINE_MAX - 1, "\"}", 2);
	CHECK_EQ_INT(dssh_ctl_parse(big, DSSH_CTL_LINE_MAX + 1, &o), DSSH_ERR_STRING_TOO_LARGE);
	/* too many fields */
	dssh_buf_init(&b, 1u << 16);
	dssh_ctl_begin(&b);
	for (int i = 0; i < DSSH_CTL_MAX_FIELDS + 1; i++) {
		char k[16];

		snprintf(k, sizeof(k), "%d", i);
		dssh_ctl_put_u64(&b, k, 1);
	}
	dssh_ctl_end(&b);
	CHECK(dssh_buf_len(&b) <= DSSH_CTL_LINE_MAX);
	CHECK_EQ_INT(dssh_ctl_parse((const char *)dssh_buf_ptr(&b), dssh_buf_len(&b), &o),
	    DSSH_ERR_NO_BUFFER_SPACE);
	dssh_buf_free(&b);
}

static void
test_ctl_write(void)
{
	struct dssh_buf b;
	uint64_t v;

	dssh_buf_init(&b, 4096);
	CHECK_EQ_INT(dssh_ctl_begin(&b), 0);
	CHECK_EQ_INT(dssh_ctl_put_str(&b, "user", "a\"b\\c\x01"), 0);
	CHECK_EQ_INT(dssh_ctl_put_u64(&b, "bytes", 123456789012345ull), 0);
	CHECK_EQ_INT(dssh_ctl_put_bool(&b, "end", true), 0);
	CHECK_EQ_INT(dssh_ctl_end(&b), 0);
	CHECK_EQ_INT(dssh_buf_len(&b), strlen("{\"user\":\"a\\\"b\\\\c\\u0001\",\"bytes\":123456789012345,\"end\":true}\n"));
	CHECK_MEM(dssh_buf_ptr(&b), "{\"user\":\"a\\\"b\\\\c\\u0001\",\"bytes\":123456789012345,\"end\":true}\n",
	    dssh_buf_len(&b));
	CHECK_EQ_INT(dssh_ctl_parse((const char *)dssh_buf_ptr(&b), dssh_buf_len(&b) - 1, &o), 0);
	CHECK_STR(dssh_ctl_get(&o, "user"), "a\"b\\c\x01");
	CHECK_EQ_INT(dssh_ctl_get_u64(&o, "bytes", &v), 0);
	CHECK(v == 123456789012345ull);
	dssh_buf_free(&b);
}

static int
http(const char *s, struct dssh_http_req *r)
{
	return dssh_http_parse_request((const uint8_t *)s, strlen(s), r);
}

static void
test_http_valid(void)
{
	struct dssh_http_req r;
	const char *s = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\nextra";

	CHECK_EQ_INT(http(s, &r), 0);
	CHECK_STR(r.method, "GET");
	CHECK_STR(r.path, "/metrics");
	CHECK_EQ_INT(r.minor, 1);
	CHECK_EQ_INT(r.head_len, strlen(s) - 5);
	CHECK_EQ_INT(http("HEAD /x?a=b HTTP/1.0\n\n", &r), 0);
	CHECK_STR(r.method, "HEAD");
	CHECK_STR(r.path, "/x");
	CHECK_EQ_INT(r.minor, 0);
}

static void
test_http_truncated(void)
{
	struct dssh_http_req r;
	const char *s = "GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n";

	for (size_t i = 0; i < strlen(s); i++)
		CHECK_EQ_INT(dssh_http_parse_request((const uint8_t *)s, i, &r), DSSH_ERR_AGAIN);
}

static void
test_http_garbage(void)
{
	static const char *bad[] = {
		"\r\n\r\n", "GET\r\n\r\n", "GET /metrics\r\n\r\n", "GET /metrics HTTP/2.0\r\n\r\n",
		"get /metrics HTTP/1.1\r\n\r\n", "GET metrics HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/1.1 x\r\n\r\n", "GET /a\x01 HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nNoColon\r\n\r\n", "GET /metrics HTTP/1.1\r\n folded: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nA: \x80\r\n\r\n", "GETTTTTTTTTTTTTTTTTTTT / HTTP/1.1\r\n\r\n",
		"\x16\x03\x01\x02\x01\n\n", "\x16\x03\x01",
	};
	struct dssh_http_req r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(http(bad[i], &r), DSSH_ERR_INVALID_FORMAT);
}

static void
test_http_oversized(void)
{
	static uint8_t big[DSSH_HTTP_HEAD_MAX + 100];
	struct dssh_http_req r;
	size_t n = strlen("GET /metrics HTTP/1.1\r\n");

	memcpy(big, "GET /metrics HTTP/1.1\r\n", n);
	for (size_t i = n; i + 8 < sizeof(big); i += 8)
		memcpy(big + i, "X-A: b\r\n", 8);
	CHECK_EQ_INT(dssh_http_parse_request(big, sizeof(big), &r), DSSH_ERR_STRING_TOO_LARGE);
	CHECK_EQ_INT(dssh_http_parse_request(big, DSSH_HTTP_HEAD_MAX - 1, &r), DSSH_ERR_AGAIN);
	/* a path too long for the buffer */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	memcpy(big + 400, " HTTP/1.1\r\n\r\n", 13);
	CHECK_EQ_INT(dssh_http_parse_request(big, 413, &r), DSSH_ERR_INVALID_FORMAT);
}

int
main(void)
{
	DSSH_RUN(test_ctl_valid);
	DSSH_RUN(test_ctl_garbage);
	DSSH_RUN(test_ctl_truncated);
	DSSH_RUN(test_ctl_oversized);
	DSSH_RUN(test_ctl_write);
	DSSH_RUN(test_http_valid);
	DSSH_RUN(test_http_truncated);
	DSSH_RUN(test_http_garbage);
	DSSH_RUN(test_http_oversized);
	DSSH_TEST_END();
}
