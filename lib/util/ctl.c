/* SPDX-License-Identifier: BSD-3-Clause */
/* dsshd's control protocol lines (flat JSON objects) and an HTTP request head. */
#include <string.h>

#include "dssh_ctl.h"
#include "dssh_err.h"
#include "dssh_util.h"

/* ---- reading ---- */

struct ctl_in {
	const char *p, *end;
	char *out, *out_end;
};

static void
skip_ws(struct ctl_in *in)
{
	while (in->p < in->end && (*in->p == ' ' || *in->p == '\t' || *in->p == '\r' ||
	    *in->p == '\n'))
		in->p++;
}

static int
hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int d = dssh_hex_digit(p[i]);

		if (d < 0)
			return DSSH_ERR_INVALID_FORMAT;
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

static int
out_byte(struct ctl_in *in, unsigned c)
{
	if (in->out >= in->out_end)
		return DSSH_ERR_NO_BUFFER_SPACE;
	*in->out++ = (char)c;
	return 0;
}

/* \uXXXX of the BMP (no surrogates, no NUL) as UTF-8. */
static int
out_utf8(struct ctl_in *in, unsigned u)
{
	int r;

	if (u == 0 || (u >= 0xd800 && u <= 0xdfff))
		return DSSH_ERR_INVALID_FORMAT;
	if (u < 0x80)
		return out_byte(in, u);
	if (u < 0x800)
		return (r = out_byte(in, 0xc0 | u >> 6)) != 0 ? r : out_byte(in, 0x80 | (u & 0x3f));
	if ((r = out_byte(in, 0xe0 | u >> 12)) != 0 || (r = out_byte(in, 0x80 | ((u >> 6) & 0x3f))) != 0)
		return r;
	return out_byte(in, 0x80 | (u & 0x3f));
}

/* A string at in->p (after its opening quote), decoded into in->out. */
static int
get_string(struct ctl_in *in, const char **val)
{
	static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
	int r;

	*val = in->out;
	for (;;) {
		unsigned char c;

		if (in->p >= in->end)
			return DSSH_ERR_INVALID_FORMAT;
		c = (unsigned char)*in->p++;
		if (c == '"')
			return out_byte(in, 0);
		if (c < 0x20 || c == 0x7f)
			return DSSH_ERR_INVALID_FORMAT;
		if (c != '\\') {
			if ((r = out_byte(in, c)) != 0)
				return r;
			continue;
		}
		if (in->p >= in->end)
			return DSSH_ERR_INVALID_FORMAT;
		c = (unsigned char)*in->p++;
		if (c == 'u') {
			unsigned u;

			if (in->end - in->p < 4 || hex4(in->p, &u) != 0)
				return DSSH_ERR_INVALID_FORMAT;
			in->p += 4;
			if ((r = out_utf8(in, u)) != 0)
				return r;
			continue;
		}
		const char *e = c != '\0' ? strchr(esc_in, c) : NULL;

		if (e == NULL)
			return DSSH_ERR_INVALID_FORMAT;
		if ((r = out_byte(in, (unsigned char)esc_out[e - esc_in])) != 0)
			return r;
	}
}

/* A value: string, unsigned integer (at most 20 digits, no overflow), true, false. */
static int
get_value(struct ctl_in *in, struct dssh_ctl_kv *kv)
{
	if (in->p >= in->end)
		return DSSH_ERR_INVALID_FORMAT;
	if (*in->p == '"') {
		in->p++;
		kv->is_str = true;
		return get_string(in, &kv->val);
	}
	kv->is_str = false;
	kv->val = in->out;
	if ((size_t)(in->end - in->p) >= 4 && memcmp(in->p, "true", 4) == 0) {
		in->p += 4;
		return out_byte(in, '1') != 0 ? DSSH_ERR_NO_BUFFER_SPACE : out_byte(in, 0);
	}
	if ((size_t)(in->end - in->p) >= 5 && memcmp(in->p, "false", 5) == 0) {
		in->p += 5;
		return out_byte(in, '0') != 0 ? DSSH_ERR_NO_BUFFER_SPACE : out_byte(in, 0);
	}
	uint64_t v = 0;
	unsigned nd = 0;
	int r;

	while (in->p < in->end && *in->p >= '0' && *in->p <= '9') {
		unsigned d = (unsigned)(*in->p - '0');

		if (v > (UINT64_MAX - d) / 10 || (nd == 1 && v == 0))
			return DSSH_ERR_INVALID_FORMAT;     /* overflow, leading zero */
		v = v * 10 + d;
		if ((r = out_byte(in, (unsigned char)*in->p++)) != 0)
			return r;
		nd++;
	}
	return nd == 0 ? DSSH_ERR_INVALID_FORMAT : out_byte(in, 0);
}

int
dssh_ctl_parse(const char *line, size_t len, struct dssh_ctl_obj *o)
{
	struct ctl_in in = { line, line + len, o->buf, o->buf + sizeof(o->buf) };
	int r;

	o->n = 0;
	if (len > DSSH_CTL_LINE_MAX)
		return DSSH_ERR_STRING_TOO_LARGE;
	skip_ws(&in);
	if (in.p >= in.end || *in.p++ != '{')
		return DSSH_ERR_INVALID_FORMAT;
	skip_ws(&in);
	if (in.p < in.end && *in.p == '}') {
		in.p++;
		goto done;
	}
	for (;;) {
		struct dssh_ctl_kv *kv;

		if (o->n == DSSH_CTL_MAX_FIELDS)
			return DSSH_ERR_NO_BUFFER_SPACE;
		kv = &o->kv[o->n];
		skip_ws(&in);
		if (in.p >= in.end || *in.p++ != '"')
			return DSSH_ERR_INVALID_FORMAT;
		if ((r = get_string(&in, &kv->key)) != 0)
			return r == DSSH_ERR_NO_BUFFER_SPACE ? DSSH_ERR_INVALID_FORMAT : r;
		if (dssh_ctl_get(o, kv->key) != NULL)
			return DSSH_ERR_INVALID_FORMAT;
		skip_ws(&in);
		if (in.p >= in.end || *in.p++ != ':')
			return DSSH_ERR_INVALID_FORMAT;
		skip_ws(&in);
		if ((r = get_value(&in, kv)) != 0)
			return r == DSSH_ERR_NO_BUFFER_SPACE ? DSSH_ERR_INVALID_FORMAT : r;
		o->n++;
		skip_ws(&in);
		if (in.p >= in.end)
			return DSSH_ERR_INVALID_FORMAT;
		if (*in.p == '}') {
			in.p++;
			break;
		}
		if (*in.p++ != ',')
			return DSSH_ERR_INVALID_FORMAT;
	}
done:
	skip_ws(&in);
	if (in.p != in.end) {
		o->n = 0;
		return DSSH_ERR_INVALID_FORMAT;
	}
	return 0;
}

const char *
dssh_ctl_get(const struct dssh_ctl_obj *o, const char *key)
{
	for (unsigned i = 0; i < o->n; i++)
		if (strcmp(o->kv[i].key, key) == 0)
			return o->kv[i].val;
	return NULL;
}

int
dssh_ctl_get_u64(const struct dssh_ctl_obj *o, const char *key, uint64_t *v)
{
	for (unsigned i = 0; i < o->n; i++) {
		if (strcmp(o->kv[i].key, key) != 0)
			continue;
		if (o->kv[i].is_str)
			return DSSH_ERR_INVALID_FORMAT;
		*v = 0;
		for (const char *p = o->kv[i].val; *p != '\0'; p++)
			*v = *v * 10 + (uint64_t)(*p - '0');   /* checked by the parser */
		return 0;
	}
	return DSSH_ERR_NOT_FOUND;
}

/* ---- writing ---- */

/* Whether a field was written since begin: a comma goes before the next. */
static bool
needs_comma(const struct dssh_buf *b)
{
	size_t n = dssh_buf_len(b);

	return n > 0 && dssh_buf_ptr(b)[n - 1] != '{';
}

static int
put_json_string(struct dssh_buf *b, const char *s)
{
	int r;

	if ((r = dssh_buf_put_u8(b, '"')) != 0)
		return r;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			r = dssh_buf_putf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			r = dssh_buf_putf(b, "\\u%04x", c);
		else
			r = dssh_buf_put_u8(b, c);
		if (r != 0)
			return r;
	}
	return dssh_buf_put_u8(b, '"');
}

static int
put_key(struct dssh_buf *b, const char *key)
{
	int r;

	if (needs_comma(b) && (r = dssh_buf_put_u8(b, ',')) != 0)
		return r;
	if ((r = put_json_string(b, key)) != 0)
		return r;
	return dssh_buf_put_u8(b, ':');
}

int
dssh_ctl_begin(struct dssh_buf *b)
{
	return dssh_buf_put_u8(b, '{');
}

int
dssh_ctl_put_str(struct dssh_buf *b, const char *key, const char *val)
{
	int r;

	if ((r = put_key(b, key)) != 0)
		return r;
	return put_json_string(b, val != NULL ? val : "");
}

int
dssh_ctl_put_u64(struct dssh_buf *b, const char *key, uint64_t v)
{
	int r;

	if ((r = put_key(b, key)) != 0)
		return r;
	return dssh_buf_putf(b, "%llu", (unsigned long long)v);
}

int
dssh_ctl_put_bool(struct dssh_buf *b, const char *key, bool v)
{
	int r;

	if ((r = put_key(b, key)) != 0)
		return r;
	return dssh_buf_putf(b, "%s", v ? "true" : "false");
}

int
dssh_ctl_end(struct dssh_buf *b)
{
	return dssh_buf_put(b, "}\n", 2);
}

/* ---- HTTP request head ---- */

/* The end of the line starting at p (its '\n'), or NULL. */
static const uint8_t *
line_end(const uint8_t *p, const uint8_t *end)
{
	return memchr(p, '\n', (size_t)(end - p));
}

/* Printable ASCII and tab only (obs-text and controls are refused). */
static bool
clean(const uint8_t *p, const uint8_t *e)
{
	for (; p < e; p++)
		if ((*p < 0x20 && *p != '\t') || *p >= 0x7f)
			return false;
	return true;
}

static int
request_line(const uint8_t *p, const uint8_t *e, struct dssh_http_req *r)
{
	const uint8_t *sp1, *sp2, *q;
	size_t ml, tl;

	if (e > p && e[-1] == '\r')
		e--;
	if (!clean(p, e) || (sp1 = memchr(p, ' ', (size_t)(e - p))) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(e - sp1 - 1))) == NULL)
		return DSSH_ERR_INVALID_FORMAT;
	ml = (size_t)(sp1 - p);
	if (ml == 0 || ml >= sizeof(r->method))
		return DSSH_ERR_INVALID_FORMAT;
	for (q = p; q < sp1; q++)
		if (*q < 'A' || *q > 'Z')
			return DSSH_ERR_INVALID_FORMAT;
	memcpy(r->method, p, ml);
	r->method[ml] = '\0';
	q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	tl = (size_t)((q != NULL ? q : sp2) - sp1 - 1);
	if (tl == 0 || tl >= sizeof(r->path) || sp1[1] != '/')
		return DSSH_ERR_INVALID_FORMAT;
	memcpy(r->path, sp1 + 1, tl);
	r->path[tl] = '\0';
	if (e - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return DSSH_ERR_INVALID_FORMAT;
	r->minor = sp2[8] - '0';
	return 0;
}

int
dssh_http_parse_request(const uint8_t *p, size_t n, struct dssh_http_req *r)
{
	const uint8_t *end = p + (n > DSSH_HTTP_HEAD_MAX ? DSSH_HTTP_HEAD_MAX : n);
	const uint8_t *l = p, *e;
	bool first = true;
	int ret;

	memset(r, 0, sizeof(*r));
	while ((e = line_end(l, end)) != NULL) {
		const uint8_t *le = e > l && e[-1] == '\r' ? e - 1 : e;

		if (first) {
			if ((ret = request_line(l, e, r)) != 0)
				return ret;
			first = false;
		} else if (le == l) {
			r->head_len = (size_t)(e + 1 - p);
			return 0;
		} else if (!clean(l, le) || memchr(l, ':', (size_t)(le - l)) == NULL ||
		    *l == ' ' || *l == '\t' || *l == ':') {
			return DSSH_ERR_INVALID_FORMAT;
		}
		l = e + 1;
	}
	/* An unfinished request line that is already wrong (a TLS hello) need not wait. */
	if (first && !clean(l, end > l && end[-1] == '\r' ? end - 1 : end))
		return DSSH_ERR_INVALID_FORMAT;
	return n >= DSSH_HTTP_HEAD_MAX ? DSSH_ERR_STRING_TOO_LARGE : DSSH_ERR_AGAIN;
}
