/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_SFTP_CLIENT_H
#define DSSH_SFTP_CLIENT_H

/*
 * SFTP client (protocol version 3, draft-ietf-secsh-filexfer-02), sans-I/O
 * and pipelined: each request call appends a packet to the output and
 * returns its id at once; the caller sends dssh_sftpc_output() over the
 * channel and feeds the channel's bytes to dssh_sftpc_input(), which calls
 * the reply callback for every whole reply, in the server's order. Any
 * number of requests may be in flight.
 *
 * Replies are parsed with the checked dssh_buf getters: a malformed one
 * (short, oversized, bad type, trailing garbage in a fixed-size reply)
 * makes dssh_sftpc_input() fail; the session must end then.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DSSH_SFTPC_MAX_PACKET (512u * 1024)
#define DSSH_SFTPC_HANDLE_MAX 256u

/* Open flags (SSH_FXF_*) and attribute flags (SSH_FILEXFER_ATTR_*). */
#define DSSH_SFTPC_READ 0x01u
#define DSSH_SFTPC_WRITE 0x02u
#define DSSH_SFTPC_CREAT 0x08u
#define DSSH_SFTPC_TRUNC 0x10u
#define DSSH_SFTPC_ATTR_SIZE 0x01u
#define DSSH_SFTPC_ATTR_UIDGID 0x02u
#define DSSH_SFTPC_ATTR_PERM 0x04u
#define DSSH_SFTPC_ATTR_TIMES 0x08u

/* Status codes (SSH_FX_*). */
#define DSSH_SFTPC_OK 0u
#define DSSH_SFTPC_EOF 1u
#define DSSH_SFTPC_NO_SUCH_FILE 2u

struct dssh_sftpc_attrs {
	uint32_t flags;
	uint64_t size;
	uint32_t uid, gid, perm, atime, mtime;
};

struct dssh_sftpc_name {
	const char *name;           /* NUL-terminated views, valid during the callback */
	const char *longname;
	struct dssh_sftpc_attrs attrs;
};

struct dssh_sftpc_reply {
	uint8_t type;               /* 101 STATUS, 102 HANDLE, 103 DATA, 104 NAME, 105 ATTRS */
	uint32_t id;
	uint32_t status;            /* STATUS */
	const char *msg;            /* STATUS message */
	const uint8_t *handle;      /* HANDLE */
	size_t handle_len;
	const uint8_t *data;        /* DATA */
	size_t len;
	struct dssh_sftpc_attrs attrs;  /* ATTRS */
	const struct dssh_sftpc_name *names;  /* NAME */
	uint32_t count;
};

typedef void (*dssh_sftpc_reply_cb)(void *arg, const struct dssh_sftpc_reply *r);

struct dssh_sftpc;

int dssh_sftpc_new(dssh_sftpc_reply_cb cb, void *arg, struct dssh_sftpc **out);
void dssh_sftpc_free(struct dssh_sftpc *s);

/* INIT; the VERSION reply is taken by dssh_sftpc_input (dssh_sftpc_ready). */
int dssh_sftpc_init(struct dssh_sftpc *s);
bool dssh_sftpc_ready(const struct dssh_sftpc *s);
uint32_t dssh_sftpc_version(const struct dssh_sftpc *s);

/* Requests; *id gets the request id. attrs may be NULL (no attributes). */
int dssh_sftpc_open(struct dssh_sftpc *s, const char *path, uint32_t pflags,
    const struct dssh_sftpc_attrs *attrs, uint32_t *id);
int dssh_sftpc_close(struct dssh_sftpc *s, const uint8_t *h, size_t hlen, uint32_t *id);
int dssh_sftpc_read(struct dssh_sftpc *s, const uint8_t *h, size_t hlen, uint64_t off,
    uint32_t len, uint32_t *id);
int dssh_sftpc_write(struct dssh_sftpc *s, const uint8_t *h, size_t hlen, uint64_t off,
    const uint8_t *data, size_t len, uint32_t *id);
int dssh_sftpc_stat(struct dssh_sftpc *s, const char *path, bool follow, uint32_t *id);
int dssh_sftpc_fstat(struct dssh_sftpc *s, const uint8_t *h, size_t hlen, uint32_t *id);
int dssh_sftpc_setstat(struct dssh_sftpc *s, const char *path,
    const struct dssh_sftpc_attrs *attrs, uint32_t *id);
int dssh_sftpc_fsetstat(struct dssh_sftpc *s, const uint8_t *h, size_t hlen,
    const struct dssh_sftpc_attrs *attrs, uint32_t *id);
int dssh_sftpc_opendir(struct dssh_sftpc *s, const char *path, uint32_t *id);
int dssh_sftpc_readdir(struct dssh_sftpc *s, const uint8_t *h, size_t hlen, uint32_t *id);
int dssh_sftpc_realpath(struct dssh_sftpc *s, const char *path, uint32_t *id);
int dssh_sftpc_mkdir(struct dssh_sftpc *s, const char *path,
    const struct dssh_sftpc_attrs *attrs, uint32_t *id);

/* Bytes to send, and how many were sent. */
const uint8_t *dssh_sftpc_output(const struct dssh_sftpc *s, size_t *len);
void dssh_sftpc_output_consume(struct dssh_sftpc *s, size_t n);
/* Bytes from the server: all taken; replies go to the callback. */
int dssh_sftpc_input(struct dssh_sftpc *s, const uint8_t *p, size_t n);
/* Requests sent and not yet answered. */
unsigned dssh_sftpc_inflight(const struct dssh_sftpc *s);

/* Parse one reply packet body (type byte on): for tests and fuzzing. */
int dssh_sftpc_parse_reply(const uint8_t *p, size_t n, dssh_sftpc_reply_cb cb, void *arg);

#endif
