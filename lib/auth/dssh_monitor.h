/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_MONITOR_H
#define DSSH_MONITOR_H

/*
 * The monitor's requests (privilege separation): what the unprivileged
 * dsshd asks the root monitor (the spawner, lib/session/dssh_spawner.h) for.
 * Each goes on the spawner socket as one message (type byte first, SSH wire
 * encoding as the spawner's own messages, trailing bytes refused) with a
 * reply channel attached by SCM_RIGHTS (one end of a SOCK_SEQPACKET
 * socketpair); the answer comes down that channel, never on the spawner
 * socket, so that any dsshd thread may ask without demultiplexing.
 *
 *   PAM (3):      u64 conn, u8 kind (dssh_pam_kind), string user,
 *                 ostring password, ostring rhost, bool allow_empty,
 *                 string service (no '/'). The monitor forks a root child
 *                 that runs PAM and speaks dssh_auth.h's PAM channel
 *                 protocol on the reply channel.
 *   AUTHKEYS (4): u64 conn, bool final, string user, string key blob,
 *                 string remote ip, u32 strict_modes, string
 *                 PermitUserEnvironment ("no", "yes" or a pattern list,
 *                 1..DSSH_MONITOR_USER_ENV_MAX bytes, no control
 *                 characters), u32 n (<= 64) and n strings
 *                 AuthorizedKeysFile, ostring TrustedUserCAKeys, ostring
 *                 AuthorizedPrincipalsFile, ostring RevokedKeys, and
 *                 when final: string signed data (exactly what the client
 *                 signed, RFC 4252 section 7), string signature blob; the
 *                 monitor records the user only when that data and
 *                 signature check out against the session id it signed
 *                 for conn (docs/security.md). Reply
 *                 AUTHKEYS_REPLY (0xa4): u32 result (0 or negated DSSH_ERR_*),
 *                 and on 0 the options (see dssh_monitor_encode_opts).
 *   CONN_END (5): u64 conn; no reply channel, no reply.
 *   SOCKET (6):   u64 conn, u8 op (dssh_monitor_sock_op), string path or
 *                 host, u32 port. Reply SOCKET_REPLY (0xa6): u32 result,
 *                 the socket by SCM_RIGHTS on success (none for UNLINK).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dssh_auth.h"
#include "dssh_buf.h"

#define DSSH_MONITOR_MAX_FILES 64
#define DSSH_MONITOR_NAME_MAX 256
#define DSSH_MONITOR_USER_ENV_MAX 4096    /* PermitUserEnvironment's value */

enum {
	DSSH_MONITOR_PAM = 3,
	DSSH_MONITOR_AUTHKEYS = 4,
	DSSH_MONITOR_CONN_END = 5,
	DSSH_MONITOR_SOCKET = 6,
	DSSH_MONITOR_HOSTKEY_LOAD = 7,
	DSSH_MONITOR_HOSTKEY_SIGN = 8,
	DSSH_MONITOR_FAILED_LOGIN = 9,
	DSSH_MONITOR_CTL_PATH = 10,
	DSSH_MONITOR_AUTHKEYS_REPLY = 0xa4,
	DSSH_MONITOR_SOCKET_REPLY = 0xa6,
	DSSH_MONITOR_HOSTKEY_REPLY = 0xa7,
	DSSH_MONITOR_SIGN_REPLY = 0xa8,
};

/*
 *   HOSTKEY_LOAD (7): string path (absolute). The monitor loads the private
 *                 key and keeps it; reply HOSTKEY_REPLY (0xa7): u32 result,
 *                 string public key blob.
 *   HOSTKEY_SIGN (8): u64 conn, string public key blob (of a key loaded), string
 *                 signature algorithm, string data: an exchange hash, 32,
 *                 48 or 64 bytes, nothing else (so that the monitor is no
 *                 signing oracle for user-authentication blobs, which are
 *                 longer). The first hash signed for a conn is its
 *                 session id (a hash already some other conn's is
 *                 refused). Reply SIGN_REPLY (0xa8): u32 result, string
 *                 signature blob.
 */
#define DSSH_MONITOR_MAX_KEY_BLOB 16384
/* A publickey request's signed data: the key blob plus names and a hash. */
#define DSSH_MONITOR_MAX_SIGNED_DATA (DSSH_MONITOR_MAX_KEY_BLOB + 1024)

/*
 *   FAILED_LOGIN (9): string user, string host: a failed password login
 *                 for btmp (lastb); no reply channel, no reply.
 */
int dssh_monitor_encode_failed_login(struct dssh_buf *b, const char *user, const char *host);
/* user and host: DSSH_MONITOR_NAME_MAX + 1 bytes each. */
int dssh_monitor_decode_failed_login(const uint8_t *m, size_t len, char *user, char *host);

/*
 *   CTL_PATH (10): string path (absolute, < 108 bytes): dsshd's control
 *                 socket, named while dsshd is still root; the monitor takes
 *                 the first one only and removes that socket file when dsshd
 *                 is gone (dsshd no longer may). No reply.
 */
int dssh_monitor_encode_ctl_path(struct dssh_buf *b, const char *path);
/* path: 108 bytes. */
int dssh_monitor_decode_ctl_path(const uint8_t *m, size_t len, char *path);
int dssh_monitor_encode_hostkey_load(struct dssh_buf *b, const char *path);
/* *path malloc'd. */
int dssh_monitor_decode_hostkey_load(const uint8_t *m, size_t len, char **path);
/* HOSTKEY_REPLY and SIGN_REPLY: a result and a blob (its type says which). */
int dssh_monitor_encode_blob_reply(struct dssh_buf *b, uint8_t type, int result,
    const uint8_t *blob, size_t len);
/* *blob malloc'd (NULL when the result is not 0). */
int dssh_monitor_decode_blob_reply(const uint8_t *m, size_t len, uint8_t type, int *result,
    uint8_t **blob, size_t *bloblen);
int dssh_monitor_encode_sign(struct dssh_buf *b, uint64_t conn, const uint8_t *key,
    size_t keylen, const char *alg, const uint8_t *data, size_t datalen);
/* Views into m (no allocation); alg is copied into algbuf. */
int dssh_monitor_decode_sign(const uint8_t *m, size_t len, uint64_t *conn, const uint8_t **key,
    size_t *keylen, char *algbuf, size_t algcap, const uint8_t **data, size_t *datalen);

enum dssh_monitor_sock_op {
	DSSH_MONITOR_SOCK_UNIX_CONNECT = 0,     /* connect(path) as the user */
	DSSH_MONITOR_SOCK_UNIX_LISTEN = 1,      /* bind+listen(path) as the user */
	DSSH_MONITOR_SOCK_UNIX_UNLINK = 2,      /* unlink(path) as the user */
	DSSH_MONITOR_SOCK_TCP_LISTEN = 3,       /* bind(host, port < 1024), root users only */
	DSSH_MONITOR_SOCK_AGENT_DIR = 4,        /* mkdtemp under /tmp as the user: no fd, path back */
};

struct dssh_monitor_pam_req {
	uint64_t conn;
	struct dssh_pam_request req;    /* its strings are owned here */
	char *service;
};

struct dssh_monitor_authkeys_req {
	uint64_t conn;
	bool final;
	char *user;
	uint8_t *key;
	size_t keylen;
	char *remote_ip;
	uint32_t strict_modes;
	/* UsePAM no: a locked account (shadow, which only root reads) is
	 * refused with DSSH_ERR_ACCOUNT_LOCKED, as sshd's allowed_user */
	bool refuse_locked;
	char *permit_user_environment;  /* "no", "yes" or a pattern list */
	char *files[DSSH_MONITOR_MAX_FILES];
	uint32_t nfiles;
	char *trusted_ca, *principals_file, *revoked_keys;
	uint8_t *sigdata, *sig;         /* final only (both non-empty) */
	size_t sigdatalen, siglen;
};

struct dssh_monitor_sock_req {
	uint64_t conn;
	uint8_t op;
	char *path;                     /* path, or host for TCP_LISTEN */
	uint32_t port;
};

int dssh_monitor_encode_pam(struct dssh_buf *b, uint64_t conn,
    const struct dssh_pam_request *req, const char *service);
/* Whole message, type byte included; on error nothing stays allocated. */
int dssh_monitor_decode_pam(const uint8_t *m, size_t len, struct dssh_monitor_pam_req *out);
void dssh_monitor_pam_req_free(struct dssh_monitor_pam_req *r);

int dssh_monitor_encode_authkeys(struct dssh_buf *b, const struct dssh_monitor_authkeys_req *r);
int dssh_monitor_decode_authkeys(const uint8_t *m, size_t len,
    struct dssh_monitor_authkeys_req *out);
void dssh_monitor_authkeys_req_free(struct dssh_monitor_authkeys_req *r);

/* AUTHKEYS_REPLY: result, and the options when result is 0. */
int dssh_monitor_encode_authkeys_reply(struct dssh_buf *b, int result,
    const struct dssh_authkey_opts *o);
int dssh_monitor_decode_authkeys_reply(const uint8_t *m, size_t len, int *result,
    struct dssh_authkey_opts *o);

int dssh_monitor_encode_conn_end(struct dssh_buf *b, uint64_t conn);
int dssh_monitor_decode_conn_end(const uint8_t *m, size_t len, uint64_t *conn);

int dssh_monitor_encode_sock(struct dssh_buf *b, const struct dssh_monitor_sock_req *r);
int dssh_monitor_decode_sock(const uint8_t *m, size_t len, struct dssh_monitor_sock_req *out);
void dssh_monitor_sock_req_free(struct dssh_monitor_sock_req *r);
/* SOCKET_REPLY: result and, for AGENT_DIR, the directory made. */
int dssh_monitor_encode_sock_reply(struct dssh_buf *b, int result, const char *path);
int dssh_monitor_decode_sock_reply(const uint8_t *m, size_t len, int *result,
    char *path, size_t pathcap);

#endif
