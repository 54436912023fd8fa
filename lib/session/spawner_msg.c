/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The spawner protocol's messages, both ways. The spawner is the
 * privileged side: everything it reads goes through dssh_buf's checked
 * gets and is validated here before a session is made from it.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_util.h"
#include "spawner_int.h"

/* ------------------------------------------------------------ encoding */

static int
put_ostring(struct dssh_buf *b, const char *s)
{
	int r;

	if ((r = dssh_buf_put_bool(b, s != NULL)) != 0 || s == NULL)
		return r;
	return dssh_buf_put_cstring(b, s);
}

static int
put_spec_user(struct dssh_buf *b, const struct dssh_session_spec *spec)
{
	const struct dssh_session_user *u = &spec->user;
	int r;

	if ((r = dssh_buf_put_cstring(b, u->name)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)u->uid)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)u->gid)) != 0 ||
	    (r = put_ostring(b, u->home)) != 0 ||
	    (r = put_ostring(b, u->shell)) != 0)
		return r;
	return 0;
}

static int
put_spec_pty(struct dssh_buf *b, const struct dssh_session_spec *spec)
{
	int r;

	if ((r = dssh_buf_put_bool(b, spec->want_pty)) != 0 ||
	    (r = put_ostring(b, spec->term)) != 0 ||
	    (r = dssh_buf_put_u32(b, spec->cols)) != 0 ||
	    (r = dssh_buf_put_u32(b, spec->rows)) != 0 ||
	    (r = dssh_buf_put_u32(b, spec->xpixel)) != 0 ||
	    (r = dssh_buf_put_u32(b, spec->ypixel)) != 0 ||
	    (r = dssh_buf_put_string(b, spec->modes, spec->modes_len)) != 0)
		return r;
	return 0;
}

int
spawner_encode_spawn(struct dssh_buf *b, uint64_t id, const struct dssh_session_spec *spec)
{
	int r;

	if (spec->user.name == NULL || spec->n_env > DSSH_SPAWNER_MAX_ENV ||
	    spec->modes_len > DSSH_SESSION_MODES_MAX || (spec->modes == NULL && spec->modes_len))
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((r = dssh_buf_put_u8(b, DSSH_SPAWNER_MSG_SPAWN)) != 0 ||
	    (r = dssh_buf_put_u64(b, id)) != 0 ||
	    (r = put_spec_user(b, spec)) != 0 ||
	    (r = put_ostring(b, spec->command)) != 0 ||
	    (r = dssh_buf_put_bool(b, spec->subsystem)) != 0 ||
	    (r = put_ostring(b, spec->forced_command)) != 0 ||
	    (r = put_ostring(b, spec->original_command)) != 0 ||
	    (r = put_spec_pty(b, spec)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)spec->n_env)) != 0)
		return r;
	for (size_t i = 0; i < spec->n_env; i++)
		if ((r = dssh_buf_put_cstring(b, spec->env[i])) != 0)
			return r;
	if ((r = put_ostring(b, spec->ssh_client)) != 0 ||
	    (r = put_ostring(b, spec->ssh_connection)) != 0 ||
	    (r = put_ostring(b, spec->remote_host)) != 0 ||
	    (r = dssh_buf_put_bool(b, spec->use_pam)) != 0 ||
	    (r = put_ostring(b, spec->pam_service)) != 0 ||
	    (r = put_ostring(b, spec->chroot_directory)) != 0 ||
	    (r = put_ostring(b, spec->internal)) != 0 ||
	    (r = dssh_buf_put_u32(b, spec->login)) != 0 ||
	    (r = dssh_buf_put_u64(b, spec->auth_id)) != 0 ||
	    (r = dssh_buf_put_bool(b, spec->user_rc)) != 0 ||
	    (r = put_ostring(b, spec->x11_proto)) != 0 ||
	    (r = put_ostring(b, spec->x11_cookie)) != 0 ||
	    (r = put_ostring(b, spec->x11_auth_display)) != 0 ||
	    (r = put_ostring(b, spec->xauth_path)) != 0 ||
	    (r = put_ostring(b, spec->user_env)) != 0)
		return r;
	return dssh_buf_len(b) > DSSH_SPAWNER_MSG_MAX ? DSSH_ERR_STRING_TOO_LARGE : 0;
}

int
spawner_encode_signal(struct dssh_buf *b, uint64_t id, const char *signame)
{
	int r;

	if ((r = dssh_buf_put_u8(b, DSSH_SPAWNER_MSG_SIGNAL)) != 0 ||
	    (r = dssh_buf_put_u64(b, id)) != 0 ||
	    (r = dssh_buf_put_cstring(b, signame)) != 0)
		return r;
	return 0;
}

int
spawner_encode_reply(struct dssh_buf *b, const struct spawner_reply *rep)
{
	int r;

	if ((r = dssh_buf_put_u8(b, DSSH_SPAWNER_MSG_SPAWN_REPLY)) != 0 ||
	    (r = dssh_buf_put_u64(b, rep->id)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)-rep->result)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)rep->pid)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)rep->shell_pid)) != 0 ||
	    (r = dssh_buf_put_bool(b, rep->has_pty)) != 0 ||
	    (r = dssh_buf_put_cstring(b, rep->tty_name)) != 0)
		return r;
	return 0;
}

int
spawner_encode_exit(struct dssh_buf *b, uint64_t id, int wait_status)
{
	int r;

	if ((r = dssh_buf_put_u8(b, DSSH_SPAWNER_MSG_EXIT)) != 0 ||
	    (r = dssh_buf_put_u64(b, id)) != 0 ||
	    (r = dssh_buf_put_u32(b, (uint32_t)wait_status)) != 0)
		return r;
	return 0;
}

/* ------------------------------------------------------------ decoding */

/* A string of req (required), kept for spawner_spawn_req_free. */
static int
get_str(struct dssh_buf *b, struct spawner_spawn_req *req, const char **out)
{
	char *s;
	int r;

	if (req->nstr >= DSSH_ARRAY_SIZE(req->str))
		return DSSH_ERR_INTERNAL;
	if ((r = dssh_buf_get_cstring(b, &s, NULL)) != 0)
		return r;
	req->str[req->nstr++] = s;
	*out = s;
	return 0;
}

static int
get_ostr(struct dssh_buf *b, struct spawner_spawn_req *req, const char **out)
{
	bool present;
	int r;

	*out = NULL;
	if ((r = dssh_buf_get_bool_strict(b, &present)) != 0 || !present)
		return r;
	return get_str(b, req, out);
}

/* NULL, or a non-empty absolute path. */
static bool
abs_path_or_null(const char *s)
{
	return s == NULL || s[0] == '/';
}

static int
get_user(struct dssh_buf *b, struct spawner_spawn_req *req)
{
	struct dssh_session_user *u = &req->spec.user;
	uint32_t uid, gid;
	int r;

	if ((r = get_str(b, req, &u->name)) != 0 ||
	    (r = dssh_buf_get_u32(b, &uid)) != 0 ||
	    (r = dssh_buf_get_u32(b, &gid)) != 0 ||
	    (r = get_ostr(b, req, &u->home)) != 0 ||
	    (r = get_ostr(b, req, &u->shell)) != 0)
		return r;
	/* (uid_t)-1 means "no change" to setresuid: never a user's id. */
	if (u->name[0] == '\0' || strlen(u->name) > SPAWNER_NAME_MAX || strchr(u->name, '/') ||
	    uid == UINT32_MAX || gid == UINT32_MAX)
		return DSSH_ERR_INVALID_FORMAT;
	if ((u->home != NULL && u->home[0] != '\0' && u->home[0] != '/') ||
	    (u->shell != NULL && u->shell[0] != '\0' && u->shell[0] != '/'))
		return DSSH_ERR_INVALID_FORMAT;
	u->uid = (uid_t)uid;
	u->gid = (gid_t)gid;
	return 0;
}

static int
get_pty(struct dssh_buf *b, struct spawner_spawn_req *req)
{
	struct dssh_session_spec *s = &req->spec;
	const uint8_t *m;
	size_t mlen;
	int r;

	if ((r = dssh_buf_get_bool_strict(b, &s->want_pty)) != 0 ||
	    (r = get_ostr(b, req, &s->term)) != 0 ||
	    (r = dssh_buf_get_u32(b, &s->cols)) != 0 ||
	    (r = dssh_buf_get_u32(b, &s->rows)) != 0 ||
	    (r = dssh_buf_get_u32(b, &s->xpixel)) != 0 ||
	    (r = dssh_buf_get_u32(b, &s->ypixel)) != 0 ||
	    (r = dssh_buf_get_string_direct(b, &m, &mlen)) != 0)
		return r;
	if (mlen > DSSH_SESSION_MODES_MAX)
		return DSSH_ERR_STRING_TOO_LARGE;
	if ((req->modes = malloc(mlen ? mlen : 1)) == NULL)
		return DSSH_ERR_ALLOC;
	if (mlen > 0)
		memcpy(req->modes, m, mlen);
	s->modes = req->modes;
	s->modes_len = mlen;
	return 0;
}

static int
get_env(struct dssh_buf *b, struct spawner_spawn_req *req)
{
	uint32_t n;
	const char *eq;
	int r;

	if ((r = dssh_buf_get_u32(b, &n)) != 0)
		return r;
	/* The count is checked against the bytes too: each entry takes >= 4. */
	if (n > DSSH_SPAWNER_MAX_ENV || n > dssh_buf_len(b) / 4)
		return DSSH_ERR_INVALID_FORMAT;
	if ((req->env = calloc((size_t)n + 1, sizeof(*req->env))) == NULL)
		return DSSH_ERR_ALLOC;
	for (uint32_t i = 0; i < n; i++) {
		if ((r = dssh_buf_get_cstring(b, &req->env[i], NULL)) != 0)
			return r;
		req->spec.n_env = i + 1;
		if ((eq = strchr(req->env[i], '=')) == NULL || eq == req->env[i])
			return DSSH_ERR_INVALID_FORMAT;
	}
	req->spec.env = (const char *const *)req->env;
	return 0;
}

/* NULL, or 1..256 printable characters without spaces. */
static bool
x11_word_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return true;
	if ((n = strlen(s)) == 0 || n > 256)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* NULL, or PermitUserEnvironment's value: 1..4096 bytes, no control characters. */
static bool
user_env_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return true;
	if ((n = strlen(s)) == 0 || n > SPAWNER_USER_ENV_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static int
check_spec(const struct dssh_session_spec *s)
{
	if (s->subsystem && s->command == NULL && s->forced_command == NULL)
		return DSSH_ERR_INVALID_FORMAT;
	/* The service names a file in /etc/pam.d. */
	if (s->use_pam && (s->pam_service == NULL || s->pam_service[0] == '\0' ||
	    strchr(s->pam_service, '/') != NULL || strcmp(s->pam_service, "..") == 0))
		return DSSH_ERR_INVALID_FORMAT;
	if (!abs_path_or_null(s->chroot_directory) ||
	    (s->internal != NULL && s->internal[0] == '\0'))
		return DSSH_ERR_INVALID_FORMAT;
	if (s->term != NULL && strlen(s->term) > SPAWNER_NAME_MAX)
		return DSSH_ERR_INVALID_FORMAT;
	if ((s->login & ~DSSH_SESSION_LOGIN_ALL) != 0)
		return DSSH_ERR_INVALID_FORMAT;
	/* X11: printable words (they go on an xauth command line) */
	if (!abs_path_or_null(s->xauth_path) || !x11_word_ok(s->x11_proto) ||
	    !x11_word_ok(s->x11_cookie) || !x11_word_ok(s->x11_auth_display))
		return DSSH_ERR_INVALID_FORMAT;
	if (!user_env_ok(s->user_env))
		return DSSH_ERR_INVALID_FORMAT;
	return 0;
}

static int
decode_spawn(struct dssh_buf *b, struct spawner_spawn_req *req)
{
	struct dssh_session_spec *s = &req->spec;
	int r;

	if ((r = dssh_buf_get_u8_expect(b, DSSH_SPAWNER_MSG_SPAWN)) != 0 ||
	    (r = dssh_buf_get_u64(b, &req->id)) != 0)
		return r;
	req->have_id = true;
	if ((r = get_user(b, req)) != 0 ||
	    (r = get_ostr(b, req, &s->command)) != 0 ||
	    (r = dssh_buf_get_bool_strict(b, &s->subsystem)) != 0 ||
	    (r = get_ostr(b, req, &s->forced_command)) != 0 ||
	    (r = get_ostr(b, req, &s->original_command)) != 0 ||
	    (r = get_pty(b, req)) != 0 ||
	    (r = get_env(b, req)) != 0 ||
	    (r = get_ostr(b, req, &s->ssh_client)) != 0 ||
	    (r = get_ostr(b, req, &s->ssh_connection)) != 0 ||
	    (r = get_ostr(b, req, &s->remote_host)) != 0 ||
	    (r = dssh_buf_get_bool_strict(b, &s->use_pam)) != 0 ||
	    (r = get_ostr(b, req, &s->pam_service)) != 0 ||
	    (r = get_ostr(b, req, &s->chroot_directory)) != 0 ||
	    (r = get_ostr(b, req, &s->internal)) != 0 ||
	    (r = dssh_buf_get_u32(b, &s->login)) != 0 ||
	    (r = dssh_buf_get_u64(b, &s->auth_id)) != 0 ||
	    (r = dssh_buf_get_bool_strict(b, &s->user_rc)) != 0 ||
	    (r = get_ostr(b, req, &s->x11_proto)) != 0 ||
	    (r = get_ostr(b, req, &s->x11_cookie)) != 0 ||
	    (r = get_ostr(b, req, &s->x11_auth_display)) != 0 ||
	    (r = get_ostr(b, req, &s->xauth_path)) != 0 ||
	    (r = get_ostr(b, req, &s->user_env)) != 0 ||
	    (r = dssh_buf_expect_end(b)) != 0)
		return r;
	return check_spec(s);
}

int
spawner_decode_spawn(const uint8_t *p, size_t len, struct spawner_spawn_req *req)
{
	struct dssh_buf b;
	int r;

	memset(req, 0, sizeof(*req));
	if (len > DSSH_SPAWNER_MSG_MAX)
		return DSSH_ERR_STRING_TOO_LARGE;
	dssh_buf_from(&b, p, len);
	if ((r = decode_spawn(&b, req)) != 0) {
		uint64_t id = req->id;
		bool have_id = req->have_id;

		spawner_spawn_req_free(req);
		req->id = id;
		req->have_id = have_id;
	}
	return r;
}

void
spawner_spawn_req_free(struct spawner_spawn_req *req)
{
	if (req->env != NULL)
		for (size_t i = 0; req->env[i] != NULL; i++)
			free(req->env[i]);
	free(req->env);
	for (size_t i = 0; i < req->nstr; i++)
		free(req->str[i]);
	free(req->modes);
	memset(req, 0, sizeof(*req));
}

int
spawner_decode_signal(const uint8_t *p, size_t len, uint64_t *id,
    char name[SPAWNER_SIGNAME_MAX])
{
	struct dssh_buf b;
	const uint8_t *s;
	size_t n;
	int r;

	dssh_buf_from(&b, p, len);
	if ((r = dssh_buf_get_u8_expect(&b, DSSH_SPAWNER_MSG_SIGNAL)) != 0 ||
	    (r = dssh_buf_get_u64(&b, id)) != 0 ||
	    (r = dssh_buf_get_string_direct(&b, &s, &n)) != 0 ||
	    (r = dssh_buf_expect_end(&b)) != 0)
		return r;
	if (n == 0 || n >= SPAWNER_SIGNAME_MAX || memchr(s, '\0', n) != NULL)
		return DSSH_ERR_INVALID_FORMAT;
	memcpy(name, s, n);
	name[n] = '\0';
	return dssh_session_signum(name) > 0 ? 0 : DSSH_ERR_INVALID_FORMAT;
}

int
spawner_decode_reply(const uint8_t *p, size_t len, struct spawner_reply *rep)
{
	struct dssh_buf b;
	uint32_t res, pid, shell_pid;
	const uint8_t *t;
	size_t n;
	int r;

	memset(rep, 0, sizeof(*rep));
	dssh_buf_from(&b, p, len);
	if ((r = dssh_buf_get_u8_expect(&b, DSSH_SPAWNER_MSG_SPAWN_REPLY)) != 0 ||
	    (r = dssh_buf_get_u64(&b, &rep->id)) != 0 ||
	    (r = dssh_buf_get_u32(&b, &res)) != 0 ||
	    (r = dssh_buf_get_u32(&b, &pid)) != 0 ||
	    (r = dssh_buf_get_u32(&b, &shell_pid)) != 0 ||
	    (r = dssh_buf_get_bool_strict(&b, &rep->has_pty)) != 0 ||
	    (r = dssh_buf_get_string_direct(&b, &t, &n)) != 0 ||
	    (r = dssh_buf_expect_end(&b)) != 0)
		return r;
	if (n >= sizeof(rep->tty_name) || (n > 0 && memchr(t, '\0', n) != NULL))
		return DSSH_ERR_INVALID_FORMAT;
	/* An error code, or a success with two real pids. */
	if (res > 1000 || (res == 0 && ((int32_t)pid <= 0 || (int32_t)shell_pid <= 0)))
		return DSSH_ERR_INVALID_FORMAT;
	rep->result = -(int)res;
	rep->pid = (pid_t)pid;
	rep->shell_pid = (pid_t)shell_pid;
	if (n > 0)
		memcpy(rep->tty_name, t, n);
	rep->tty_name[n] = '\0';
	return 0;
}

int
spawner_decode_exit(const uint8_t *p, size_t len, uint64_t *id, int *wait_status)
{
	struct dssh_buf b;
	uint32_t st;
	int r;

	dssh_buf_from(&b, p, len);
	if ((r = dssh_buf_get_u8_expect(&b, DSSH_SPAWNER_MSG_EXIT)) != 0 ||
	    (r = dssh_buf_get_u64(&b, id)) != 0 ||
	    (r = dssh_buf_get_u32(&b, &st)) != 0 ||
	    (r = dssh_buf_expect_end(&b)) != 0)
		return r;
	*wait_status = (int)st;
	return 0;
}
