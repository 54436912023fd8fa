/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_CTL_H
#define DSSH_CTL_H

/*
 * dsshd's control protocol (dsshctl <-> /run/dsshd.ctl) and the request
 * parser of its Prometheus endpoint. Both are parsers of bytes from a
 * peer, kept here, pure, so that unit tests and fuzzers reach them.
 *
 * Control protocol: newline-terminated lines, each one flat JSON object
 * (string, non-negative integer and true/false values; no nesting), at
 * most DSSH_CTL_LINE_MAX bytes. A request is one line, e.g.
 * {"cmd":"sessions"}; the reply is zero or more row lines followed by one
 * line with "end":true (and "error":"text" when the request failed).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dssh_buf.h"

#define DSSH_CTL_LINE_MAX 4096
#define DSSH_CTL_MAX_FIELDS 128

struct dssh_ctl_kv {
	const char *key;
	const char *val;            /* decoded; numbers and booleans as digits */
	bool is_str;
};

/* kv points into buf: an object is parsed in place and never copied. */
struct dssh_ctl_obj {
	struct dssh_ctl_kv kv[DSSH_CTL_MAX_FIELDS];
	unsigned n;
	char buf[DSSH_CTL_LINE_MAX + 1];    /* the decoded keys and values */
};

/*
 * One object from line (len bytes, without the newline). 0, or
 * DSSH_ERR_STRING_TOO_LARGE (longer than DSSH_CTL_LINE_MAX),
 * DSSH_ERR_NO_BUFFER_SPACE (too many fields), DSSH_ERR_INVALID_FORMAT.
 * A key given twice is invalid.
 */
int dssh_ctl_parse(const char *line, size_t len, struct dssh_ctl_obj *o);
/* The value of key, or NULL. */
const char *dssh_ctl_get(const struct dssh_ctl_obj *o, const char *key);
/* A numeric value: 0, DSSH_ERR_NOT_FOUND, or DSSH_ERR_INVALID_FORMAT (a string). */
int dssh_ctl_get_u64(const struct dssh_ctl_obj *o, const char *key, uint64_t *v);

/* Writing a line: begin, fields, end (which adds "}\n"). */
int dssh_ctl_begin(struct dssh_buf *b);
int dssh_ctl_put_str(struct dssh_buf *b, const char *key, const char *val);
int dssh_ctl_put_u64(struct dssh_buf *b, const char *key, uint64_t v);
int dssh_ctl_put_bool(struct dssh_buf *b, const char *key, bool v);
int dssh_ctl_end(struct dssh_buf *b);

/* ---- the metrics endpoint: an HTTP/1.x request head ---- */

#define DSSH_HTTP_HEAD_MAX 8192

struct dssh_http_req {
	char method[16];
	char path[256];             /* the target up to '?' */
	int minor;                  /* HTTP/1.minor */
	size_t head_len;            /* bytes of the head, the empty line included */
};

/*
 * Parses the head at p (n bytes received so far). 0: complete, r filled;
 * DSSH_ERR_AGAIN: no empty line yet (read more); DSSH_ERR_STRING_TOO_LARGE:
 * no end within DSSH_HTTP_HEAD_MAX; DSSH_ERR_INVALID_FORMAT: not a request
 * (bad request line, version other than 1.0/1.1, control bytes, a header
 * line without a colon). Lines end in CRLF or LF.
 */
int dssh_http_parse_request(const uint8_t *p, size_t n, struct dssh_http_req *r);

#endif
