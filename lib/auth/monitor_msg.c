/* SPDX-License-Identifier: BSD-3-Clause */
/* The monitor's request codec (dssh_monitor.h). Every field is checked. */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_monitor.h"
#include "dssh_util.h"

#define MON_PATH_MAX 4096
#define MON_TEXT_MAX 8192               /* command=, env entries */
#define MON_PERMITS_MAX 256

static int
put_ostr(struct dssh_buf *b, const char *s)
{
	int r;

	if ((r = dssh_buf_put_bool(b, s != NULL)) != 0 || s == NULL)
		return r;
	return dssh_buf_put_cstring(b, s);
}

/* A string without NUL of at most max bytes. */
static int
get_str(struct dssh_buf *b, char **out, size_t max)
{
	size_t n;
	int r;

	if ((r = dssh_buf_get_cstring(b, out, &n)) != 0)
		return r;
	if (n > max) {
		free(*out);
		*out = NULL;
		return DSSH_ERR_STRING_TOO_LARGE;
	}
	return 0;
}

static int
get_ostr(struct dssh_buf *b, char **out, size_t max)
{
	bool present;
	int r;

	*out = NULL;
	if ((r = dssh_buf_get_bool_strict(b, &present)) != 0 || !present)
		return r;
	return get_str(b, out, max);
}

static bool
name_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && strchr(s, '/') == NULL;
}

/* ------------------------------------------------------------------ PAM */

int
dssh_monitor_encode_pam(struct dssh_buf *b, uint64_t conn,
    const struct dssh_pam_request *req, const char *service)
{
	int r;

	if ((r = dssh_buf_put_u8(b, DSSH_MONITOR_PAM)) != 0 ||
	    (r = dssh_buf_put_u64(b, conn)) != 0 ||
	    (r = dssh_buf_put_u8(b, (uint8_t)req->kind)) != 0 ||
	    (r = dssh_buf_put_cstring(b, req->user)) != 0 ||
	    (r = put_ostr(b, req->password)) != 0 ||
	    (r = put_ostr(b, req->remote_host)) != 0 ||
	    (r = dssh_buf_put_bool(b, req->allow_empty_password)) != 0 ||
	    (r = dssh_buf_put_cstring(b, service)) != 0)
		return r;
	return 0;
}

void
dssh_monitor_pam_req_free(struct dssh_monitor_pam_req *r)
{
	free((char *)r->req.user);
	dssh_free_secret_str((char *)r->req.password);
	free((char *)r->req.remote_host);
	free(r->service);
	memset(r, 0, sizeof(*r));
}

int
dssh_monitor_decode_pam(const uint8_t *m, size_t len, struct dssh_monitor_pam_req *out)
{
	char *user = NULL, *password = NULL, *rhost = NULL;
	struct dssh_buf b;
	uint8_t kind;
	int r;

	memset(out, 0, sizeof(*out));
	dssh_buf_from(&b, m, len);
	if ((r = dssh_buf_get_u8_expect(&b, DSSH_MONITOR_PAM)) != 0 ||
	    (r = dssh_buf_get_u64(&b, &out->conn)) != 0 ||
	    (r = dssh_buf_get_u8(&b, &kind)) != 0 ||
	    (r = get_str(&b, &user, DSSH_MONITOR_NAME_MAX)) != 0)
		goto fail;
	out->req.user = user;
	if ((r = get_ostr(&b, &password, MON_TEXT_MAX)) != 0)
		goto fail;
	out->req.password = password;
	if ((r = get_ostr(&b, &rhost, MON_PATH_MAX)) != 0)
		goto fail;
	out->req.remote_host = rhost;
	if ((r = dssh_buf_get_bool_strict(&b, &out->req.allow_empty_password)) != 0 ||
	    (r = get_str(&b, &out->service, DSSH_MONITOR_NAME_MAX)) != 0 ||
	    (r = dssh_buf_expect_end(&b)) != 0)
		goto fail;
	r = DSSH_ERR_INVALID_FORMAT;
	if (kind > DSSH_PAM_KBDINT || user[0] == '\0' || !name_ok(out->service))
		goto fail;
	out->req.kind = (enum dssh_pam_kind)kind;
	out->req.id = out->conn;
	return 0;
 fail:
	dssh_monitor_pam_req_free(out);
	return r;
}

/* ------------------------------------------------------------- AUTHKEYS */

static int
put_files(struct dssh_buf *b, const struct dssh_monitor_authkeys_req *q)
{
	int r;

	if (q->nfiles > DSSH_MONITOR_MAX_FILES)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((r = dssh_buf_put_u32(b, q->nfiles)) != 0)
		return r;
	for (uint32_t i = 0; i < q->nfiles; i++)
		if ((r = dssh_buf_put_cstring(b, q->files[i])) != 0)
			return r;
	return 0;
}

int
dssh_monitor_encode_authkeys(struct dssh_buf *b, const struct dssh_monitor_authkeys_req *q)
{
	int r;

	if ((r = dssh_buf_put_u8(b, DSSH_MONITOR_AUTHKEYS)) != 0 ||
	    (r = dssh_buf_put_u64(b, q->conn)) != 0 ||
	    (r = dssh_buf_put_bool(b, q->final)) != 0 ||
	    (r = dssh_buf_put_cstring(b, q->user)) != 0 ||
	    (r = dssh_buf_put_string(b, q->key, q->keylen)) != 0 ||
	    (r = dssh_buf_put_cstring(b, q->remote_ip ? q->remote_ip : "")) != 0 ||
	    (r = dssh_buf_put_u32(b, q->strict_modes)) != 0 ||
	    (r = dssh_buf_put_bool(b, q->refuse_locked)) != 0 ||
	    (r = dssh_buf_put_cstring(b, q->permit_user_environment ?
	    q->permit_user_environment : "no")) != 0 ||
	    (r = put_files(b, q)) != 0 ||
	    (r = put_ostr(b, q->trusted_ca)) != 0 ||
	    (r = put_ostr(b, q->principals_file)) != 0 ||
	    (r = put_ostr(b, q->revoked_keys)) != 0)
		return r;
	if (!q->final)
		return 0;
	if ((r = dssh_buf_put_string(b, q->sigdata, q->sigdatalen)) != 0 ||
	    (r = dssh_buf_put_string(b, q->sig, q->siglen)) != 0)
		return r;
	return 0;
}

void
dssh_monitor_authkeys_req_free(struct dssh_monitor_authkeys_req *q)
{
	free(q->user);
	free(q->key);
	free(q->remote_ip);
	free(q->permit_user_environment);
	for (uint32_t i = 0; i < q->nfiles; i++)
		free(q->files[i]);
	free(q->trusted_ca);
	free(q->principals_file);
	free(q->revoked_keys);
	free(q->sigdata);
	free(q->sig);
	memset(q, 0, sizeof(*q));
}

/* PermitUserEnvironment's value: not empty, no control characters. */
static bool
user_env_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int
get_files(struct dssh_buf *b, struct dssh_monitor_authkeys_req *q)
{
	uint32_t n;
	int r;

	if ((r = dssh_buf_get_u32(b, &n)) != 0)
		return r;
	if (n > DSSH_MONITOR_MAX_FILES)
		return DSSH_ERR_INVALID_FORMAT;
	for (; q->nfiles < n; q->nfiles++)
		if ((r = get_str(b, &q->files[q->nfiles], MON_PATH_MAX)) != 0)
			return r;
	return 0;
}

int
dssh_monitor_decode_authkeys(const uint8_t *m, size_t len,
    struct dssh_monitor_authkeys_req *q)
{
	struct dssh_buf b;
	int r;

	memset(q, 0, sizeof(*q));
	dssh_buf_from(&b, m, len);
	if ((r = dssh_buf_get_u8_expect(&b, DSSH_MONITOR_AUTHKEYS)) != 0 ||
	    (r = dssh_buf_get_u64(&b, &q->conn)) != 0 ||
	    (r = dssh_buf_get_bool_strict(&b, &q->final)) != 0 ||
	    (r = get_str(&b, &q->user, DSSH_MONITOR_NAME_MAX)) != 0 ||
	    (r = dssh_buf_get_string(&b, &q->key, &q->keylen)) != 0 ||
	    (r = get_str(&b, &q->remote_ip, MON_PATH_MAX)) != 0 ||
	    (r = dssh_buf_get_u32(&b, &q->strict_modes)) != 0 ||
	    (r = dssh_buf_get_bool_strict(&b, &q->refuse_locked)) != 0 ||
	    (r = get_str(&b, &q->permit_user_environment, DSSH_MONITOR_USER_ENV_MAX)) != 0 ||
	    (r = get_files(&b, q)) != 0 ||
	    (r = get_ostr(&b, &q->trusted_ca, MON_PATH_MAX)) != 0 ||
	    (r = get_ostr(&b, &q->principals_file, MON_PATH_MAX)) != 0 ||
	    (r = get_ostr(&b, &q->revoked_keys, MON_PATH_MAX)) != 0 ||
	    (q->final && (r = dssh_buf_get_string(&b, &q->sigdata, &q->sigdatalen)) != 0) ||
	    (q->final && (r = dssh_buf_get_string(&b, &q->sig, &q->siglen)) != 0) ||
	    (r = dssh_buf_expect_end(&b)) != 0)
		goto fail;
	r = DSSH_ERR_INVALID_FORMAT;
	if (q->user[0] == '\0' || q->keylen == 0 || q->strict_modes > 1 ||
	    !user_env_ok(q->permit_user_environment))
		goto fail;
	if (q->final && (q->sigdatalen == 0 || q->sigdatalen > DSSH_MONITOR_MAX_SIGNED_DATA ||
	    q->siglen == 0 || q->siglen > DSSH_MONITOR_MAX_KEY_BLOB))
		goto fail;
	return 0;
 fail:
	dssh_monitor_authkeys_req_free(q);
	return r;
}

static int
put_permits(struct dssh_buf *b, const struct dssh_config_permit *p, size_t n)
{
	int r;

	if ((r = dssh_buf_put_u32(b, (uint32_t)n)) != 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if ((r = dssh_buf_put_cstring(b, p[i].host ? p[i].host : "")) != 0 ||
		    (r = dssh_buf_put_u32(b, (uint32_t)p[i].port)) != 0)
			return r;
	return 0;
}

int
dssh_monitor_encode_authkeys_reply(struct dssh_buf *b, int result,
    const struct dssh_authkey_opts *o)
{
	int r;

	if ((r = dssh_buf_put_u8(b, DSSH_MONITOR_AUTHKEYS_REPLY)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)-result)) != 0 || result != 0)
		return r;
	if ((r = put_ostr(b, o->command)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)o->nenv)) != 0)
		return r;
	for (size_t i = 0; i < o->nenv; i++)
		if ((r = dssh_buf_put_cstring(b, o->env[i])) != 0)
			return r;
	if ((r = dssh_buf_put_bool(b, o->permit_pty)) != 0 ||
	    (r = dssh_buf_put_bool(b, o->permit_port_forwarding)) != 0 ||
	    (r = dssh_buf_put_bool(b, o->permit_agent_forwarding)) != 0 ||
	    (r = dssh_buf_put_bool(b, o->permit_x11_forwarding)) != 0 ||
	    (r = dssh_buf_put_bool(b, o->permit_user_rc)) != 0 ||
	    (r = dssh_buf_put_bool(b, o->restricted)) != 0 ||
	    (r = put_permits(b, o->permitopen, o->npermitopen)) != 0 ||
	    (r = put_permits(b, o->permitlisten, o->npermitlisten)) != 0 ||
	    (r = dssh_buf_put_u64(b, o->expiry_time)) != 0 ||
	    (r = put_ostr(b, o->cert_principals)) != 0 ||
	    (r = put_ostr(b, o->file)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)o->line)) != 0)
		return r;
	return 0;
}

static int
get_permits(struct dssh_buf *b, struct dssh_config_permit **pp, size_t *np)
{
	uint32_t n, port;
	int r;

	if ((r = dssh_buf_get_u32(b, &n)) != 0)
		return r;
	if (n > MON_PERMITS_MAX)
		return DSSH_ERR_INVALID_FORMAT;
	if (n == 0)
		return 0;
	if ((*pp = calloc(n, sizeof(**pp))) == NULL)
		return DSSH_ERR_ALLOC;
	for (; *np < n; (*np)++) {
		if ((r = get_str(b, &(*pp)[*np].host, MON_PATH_MAX)) != 0)
			return r;
		if ((r = dssh_buf_get_u32(b, &port)) != 0) {
			(*np)++;        /* its host is freed with the rest */
			return r;
		}
		/* -1 is a wildcard port ("*"); anything else is 0..65535 */
		if (port > 65535 && port != UINT32_MAX) {
			(*np)++;
			return DSSH_ERR_INVALID_FORMAT;
		}
		(*pp)[*np].port = (int)port;
	}
	return 0;
}

static int
get_env_list(struct dssh_buf *b, struct dssh_authkey_opts *o)
{
	uint32_t n;
	int r;

	if ((r = dssh_buf_get_u32(b, &n)) != 0)
		return r;
	if (n > 256)
		return DSSH_ERR_INVALID_FORMAT;
	if (n == 0)
		return 0;
	if ((o->env = calloc(n, sizeof(*o->env))) == NULL)
		return DSSH_ERR_ALLOC;
	for (; o->nenv < n; o->nenv++)
		if ((r = get_str(b, &o->env[o->nenv], MON_TEXT_MAX)) != 0)
			return r;
	return 0;
}

int
dssh_monitor_decode_authkeys_reply(const uint8_t *m, size_t len, int *result,
    struct dssh_authkey_opts *o)
{
	struct dssh_buf b;
	uint32_t neg, line;
	int r;

	dssh_authkey_opts_init(o);
	*result = DSSH_ERR_INTERNAL;
	dssh_buf_from(&b, m, len);
	if ((r = dssh_buf_get_u8_expect(&b, DSSH_MONITOR_AUTHKEYS_REPLY)) != 0 ||
	    (r = dssh_buf_get_u32(&b, &neg)) != 0)
		return r;
	if (neg > 1000)
		return DSSH_ERR_INVALID_FORMAT;
	if (neg != 0) {
		*result = -(int)neg;
		return dssh_buf_expect_end(&b);
	}
	if ((r = get_ostr(&b, &o->command, MON_TEXT_MAX)) != 0 ||
	    (r = get_env_list(&b, o)) != 0 ||
	    (r = dssh_buf_get_bool_strict(&b, &o->permit_pty)) != 0 ||
	    (r = dssh_buf_get_bool_strict(&b, &o->permit_port_forwarding)) != 0 ||
	    (r = dssh_buf_get_bool_strict(&b, &o->permit_agent_forwarding)) != 0 ||
	    (r = dssh_buf_get_bool_strict(&b, &o->permit_x11_forwarding)) != 0 ||
	    (r = dssh_buf_get_bool_strict(&b, &o->permit_user_rc)) != 0 ||
	    (r = dssh_buf_get_bool_strict(&b, &o->restricted)) != 0 ||
	    (r = get_permits(&b, &o->permitopen, &o->npermitopen)) != 0 ||
	    (r = get_permits(&b, &o->permitlisten, &o->npermitlisten)) != 0 ||
	    (r = dssh_buf_get_u64(&b, &o->expiry_time)) != 0 ||
	    (r = get_ostr(&b, &o->cert_principals, MON_TEXT_MAX)) != 0 ||
	    (r = get_ostr(&b, &o->file, MON_PATH_MAX)) != 0 ||
	    (r = dssh_buf_get_u32(&b, &line)) != 0 ||
	    (r = dssh_buf_expect_end(&b)) != 0) {
		dssh_authkey_opts_free(o);
		dssh_authkey_opts_init(o);
		return r;
	}
	o->line = line;
	*result = 0;
	return 0;
}

/* ------------------------------------------------------------- CONN_END */

int
dssh_monitor_encode_conn_end(struct dssh_buf *b, uint64_t conn)
{
	int r;

	if ((r = dssh_buf_put_u8(b, DSSH_MONITOR_CONN_END)) != 0)
		return r;
	return dssh_buf_put_u64(b, conn);
}

int
dssh_monitor_decode_conn_end(const uint8_t *m, size_t len, uint64_t *conn)
{
	struct dssh_buf b;
	int r;

	dssh_buf_from(&b, m, len);
	if ((r = dssh_buf_get_u8_expect(&b, DSSH_MONITOR_CONN_END)) != 0 ||
	    (r = dssh_buf_get_u64(&b, conn)) != 0)
		return r;
	return dssh_buf_expect_end(&b);
}

/* --------------------------------------------------------------- SOCKET */

int
dssh_monitor_encode_sock(struct dssh_buf *b, const struct dssh_monitor_sock_req *q)
{
	int r;

	if ((r = dssh_buf_put_u8(b, DSSH_MONITOR_SOCKET)) != 0 ||
	    (r = dssh_buf_put_u64(b, q->conn)) != 0 ||
	    (r = dssh_buf_put_u8(b, q->op)) != 0 ||
	    (r = dssh_buf_put_cstring(b, q->path ? q->path : "")) != 0 ||
	    (r = dssh_buf_put_u32(b, q->port)) != 0)
		return r;
	return 0;
}

void
dssh_monitor_sock_req_free(struct dssh_monitor_sock_req *q)
{
	free(q->path);
	memset(q, 0, sizeof(*q));
}

int
dssh_monitor_decode_sock(const uint8_t *m, size_t len, struct dssh_monitor_sock_req *q)
{
	struct dssh_buf b;
	int r;

	memset(q, 0, sizeof(*q));
	dssh_buf_from(&b, m, len);
	if ((r = dssh_buf_get_u8_expect(&b, DSSH_MONITOR_SOCKET)) != 0 ||
	    (r = dssh_buf_get_u64(&b, &q->conn)) != 0 ||
	    (r = dssh_buf_get_u8(&b, &q->op)) != 0 ||
	    (r = get_str(&b, &q->path, MON_PATH_MAX)) != 0 ||
	    (r = dssh_buf_get_u32(&b, &q->port)) != 0 ||
	    (r = dssh_buf_expect_end(&b)) != 0)
		goto fail;
	r = DSSH_ERR_INVALID_FORMAT;
	if (q->op > DSSH_MONITOR_SOCK_AGENT_DIR || q->port > 65535)
		goto fail;
	/* Unix sockets: absolute paths only; TCP: a port below 1024. */
	if (q->op <= DSSH_MONITOR_SOCK_UNIX_UNLINK && q->path[0] != '/')
		goto fail;
	if (q->op == DSSH_MONITOR_SOCK_TCP_LISTEN && (q->port == 0 || q->port >= 1024))
		goto fail;
	return 0;
 fail:
	dssh_monitor_sock_req_free(q);
	return r;
}

int
dssh_monitor_encode_sock_reply(struct dssh_buf *b, int result, const char *path)
{
	int r;

	if ((r = dssh_buf_put_u8(b, DSSH_MONITOR_SOCKET_REPLY)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)-result)) != 0 ||
	    (r = dssh_buf_put_cstring(b, path ? path : "")) != 0)
		return r;
	return 0;
}

int
dssh_monitor_decode_sock_reply(const uint8_t *m, size_t len, int *result,
    char *path, size_t pathcap)
{
	const uint8_t *s;
	struct dssh_buf b;
	uint32_t neg;
	size_t n;
	int r;

	*result = DSSH_ERR_INTERNAL;
	dssh_buf_from(&b, m, len);
	if ((r = dssh_buf_get_u8_expect(&b, DSSH_MONITOR_SOCKET_REPLY)) != 0 ||
	    (r = dssh_buf_get_u32(&b, &neg)) != 0 ||
	    (r = dssh_buf_get_string_direct(&b, &s, &n)) != 0 ||
	    (r = dssh_buf_expect_end(&b)) != 0)
		return r;
	if (neg > 1000 || n >= pathcap || memchr(s, '\0', n) != NULL)
		return DSSH_ERR_INVALID_FORMAT;
	memcpy(path, s, n);
	path[n] = '\0';
	*result = -(int)neg;
	return 0;
}

/* -------------------------------------------------------------- HOSTKEY */

int
dssh_monitor_encode_hostkey_load(struct dssh_buf *b, const char *path)
{
	int r;

	if ((r = dssh_buf_put_u8(b, DSSH_MONITOR_HOSTKEY_LOAD)) != 0)
		return r;
	return dssh_buf_put_cstring(b, path);
}

int
dssh_monitor_decode_hostkey_load(const uint8_t *m, size_t len, char **path)
{
	struct dssh_buf b;
	int r;

	*path = NULL;
	dssh_buf_from(&b, m, len);
	if ((r = dssh_buf_get_u8_expect(&b, DSSH_MONITOR_HOSTKEY_LOAD)) != 0 ||
	    (r = get_str(&b, path, MON_PATH_MAX)) != 0)
		return r;
	if (dssh_buf_expect_end(&b) != 0 || (*path)[0] != '/') {
		free(*path);
		*path = NULL;
		return DSSH_ERR_INVALID_FORMAT;
	}
	return 0;
}

int
dssh_monitor_encode_blob_reply(struct dssh_buf *b, uint8_t type, int result,
    const uint8_t *blob, size_t len)
{
	int r;

	if ((r = dssh_buf_put_u8(b, type)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)-result)) != 0)
		return r;
	return dssh_buf_put_string(b, result == 0 ? blob : NULL, result == 0 ? len : 0);
}

int
dssh_monitor_decode_blob_reply(const uint8_t *m, size_t len, uint8_t type, int *result,
    uint8_t **blob, size_t *bloblen)
{
	struct dssh_buf b;
	uint32_t neg;
	int r;

	*blob = NULL;
	*bloblen = 0;
	*result = DSSH_ERR_INTERNAL;
	dssh_buf_from(&b, m, len);
	if ((r = dssh_buf_get_u8_expect(&b, type)) != 0 || (r = dssh_buf_get_u32(&b, &neg)) != 0)
		return r;
	if (neg > 1000)
		return DSSH_ERR_INVALID_FORMAT;
	if ((r = dssh_buf_get_string(&b, blob, bloblen)) != 0)
		return r;
	if (dssh_buf_expect_end(&b) != 0 || *bloblen > DSSH_MONITOR_MAX_KEY_BLOB ||
	    (neg == 0) != (*bloblen > 0)) {
		free(*blob);
		*blob = NULL;
		*bloblen = 0;
		return DSSH_ERR_INVALID_FORMAT;
	}
	if (neg != 0) {
		free(*blob);
		*blob = NULL;
	}
	*result = -(int)neg;
	return 0;
}

int
dssh_monitor_encode_sign(struct dssh_buf *b, uint64_t conn, const uint8_t *key,
    size_t keylen, const char *alg, const uint8_t *data, size_t datalen)
{
	int r;

	if ((r = dssh_buf_put_u8(b, DSSH_MONITOR_HOSTKEY_SIGN)) != 0 ||
	    (r = dssh_buf_put_u64(b, conn)) != 0 ||
	    (r = dssh_buf_put_string(b, key, keylen)) != 0 ||
	    (r = dssh_buf_put_cstring(b, alg)) != 0 ||
	    (r = dssh_buf_put_string(b, data, datalen)) != 0)
		return r;
	return 0;
}

int
dssh_monitor_decode_sign(const uint8_t *m, size_t len, uint64_t *conn, const uint8_t **key,
    size_t *keylen, char *algbuf, size_t algcap, const uint8_t **data, size_t *datalen)
{
	const uint8_t *alg;
	struct dssh_buf b;
	size_t alglen;
	int r;

	dssh_buf_from(&b, m, len);
	if ((r = dssh_buf_get_u8_expect(&b, DSSH_MONITOR_HOSTKEY_SIGN)) != 0 ||
	    (r = dssh_buf_get_u64(&b, conn)) != 0 ||
	    (r = dssh_buf_get_string_direct(&b, key, keylen)) != 0 ||
	    (r = dssh_buf_get_string_direct(&b, &alg, &alglen)) != 0 ||
	    (r = dssh_buf_get_string_direct(&b, data, datalen)) != 0 ||
	    (r = dssh_buf_expect_end(&b)) != 0)
		return r;
	if (*keylen == 0 || *keylen > DSSH_MONITOR_MAX_KEY_BLOB || alglen == 0 ||
	    alglen >= algcap || memchr(alg, '\0', alglen) != NULL ||
	    (*datalen != 32 && *datalen != 48 && *datalen != 64))
		return DSSH_ERR_INVALID_FORMAT;
	memcpy(algbuf, alg, alglen);
	algbuf[alglen] = '\0';
	return 0;
}

/* --------------------------------------------------------- FAILED_LOGIN */

int
dssh_monitor_encode_failed_login(struct dssh_buf *b, const char *user, const char *host)
{
	int r;

	if ((r = dssh_buf_put_u8(b, DSSH_MONITOR_FAILED_LOGIN)) != 0 ||
	    (r = dssh_buf_put_cstring(b, user ? user : "")) != 0 ||
	    (r = dssh_buf_put_cstring(b, host ? host : "")) != 0)
		return r;
	return 0;
}

static int
get_name(struct dssh_buf *b, char *out)
{
	const uint8_t *s;
	size_t n;
	int r;

	if ((r = dssh_buf_get_string_direct(b, &s, &n)) != 0)
		return r;
	if (n > DSSH_MONITOR_NAME_MAX || memchr(s, '\0', n) != NULL)
		return DSSH_ERR_INVALID_FORMAT;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int
dssh_monitor_decode_failed_login(const uint8_t *m, size_t len, char *user, char *host)
{
	struct dssh_buf b;
	int r;

	dssh_buf_from(&b, m, len);
	if ((r = dssh_buf_get_u8_expect(&b, DSSH_MONITOR_FAILED_LOGIN)) != 0 ||
	    (r = get_name(&b, user)) != 0 || (r = get_name(&b, host)) != 0)
		return r;
	return dssh_buf_expect_end(&b);
}

/* ------------------------------------------------------------- CTL_PATH */

int
dssh_monitor_encode_ctl_path(struct dssh_buf *b, const char *path)
{
	int r;

	if ((r = dssh_buf_put_u8(b, DSSH_MONITOR_CTL_PATH)) != 0)
		return r;
	return dssh_buf_put_cstring(b, path);
}

int
dssh_monitor_decode_ctl_path(const uint8_t *m, size_t len, char *path)
{
	const uint8_t *s;
	struct dssh_buf b;
	size_t n;
	int r;

	dssh_buf_from(&b, m, len);
	if ((r = dssh_buf_get_u8_expect(&b, DSSH_MONITOR_CTL_PATH)) != 0 ||
	    (r = dssh_buf_get_string_direct(&b, &s, &n)) != 0 || (r = dssh_buf_expect_end(&b)) != 0)
		return r;
	if (n == 0 || n >= 108 || s[0] != '/' || memchr(s, '\0', n) != NULL)
		return DSSH_ERR_INVALID_FORMAT;
	memcpy(path, s, n);
	path[n] = '\0';
	return 0;
}
