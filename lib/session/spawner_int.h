/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_SPAWNER_INT_H
#define DSSH_SPAWNER_INT_H

/* The spawner protocol's messages (dssh_spawner.h describes them). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dssh_buf.h"
#include "dssh_session.h"
#include "dssh_spawner.h"

/* Longest user name, tty name and signal name accepted. */
#define SPAWNER_NAME_MAX 256
#define SPAWNER_USER_ENV_MAX DSSH_SESSION_USER_ENV_MAX
#define SPAWNER_SIGNAME_MAX 16

/* A decoded SPAWN; spec's pointers point at the copies owned here. */
struct spawner_spawn_req {
	uint64_t id;
	bool have_id;               /* set as soon as the id was read */
	struct dssh_session_spec spec;
	char *str[24];              /* every string of spec, to free */
	size_t nstr;
	char **env;
	uint8_t *modes;
};

struct spawner_reply {
	uint64_t id;
	int result;                 /* 0 or DSSH_ERR_* */
	pid_t pid, shell_pid;
	bool has_pty;
	char tty_name[DSSH_SESSION_TTY_NAME_MAX];
};

int spawner_encode_spawn(struct dssh_buf *b, uint64_t id, const struct dssh_session_spec *spec);
/*
 * Parse and validate a whole SPAWN message (type byte included). On error
 * nothing is left allocated; req->have_id tells whether req->id is valid
 * (so that the refusal can be answered).
 */
int spawner_decode_spawn(const uint8_t *p, size_t len, struct spawner_spawn_req *req);
void spawner_spawn_req_free(struct spawner_spawn_req *req);

int spawner_encode_signal(struct dssh_buf *b, uint64_t id, const char *signame);
/* name gets an RFC 4254 signal name (checked against the RFC's list). */
int spawner_decode_signal(const uint8_t *p, size_t len, uint64_t *id,
    char name[SPAWNER_SIGNAME_MAX]);

int spawner_encode_reply(struct dssh_buf *b, const struct spawner_reply *r);
int spawner_decode_reply(const uint8_t *p, size_t len, struct spawner_reply *r);

int spawner_encode_exit(struct dssh_buf *b, uint64_t id, int wait_status);
int spawner_decode_exit(const uint8_t *p, size_t len, uint64_t *id, int *wait_status);

#endif
