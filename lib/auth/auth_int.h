/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_AUTH_INT_H
#define DSSH_AUTH_INT_H

/* Shared between authkeys.c and certauth.c. */

#include <stdbool.h>
#include <sys/types.h>

#include "dssh_auth.h"
#include "dssh_sshkey.h"

/* This thread's file-system ids switched to the user's (root only). */
struct auth_fsids {
	bool switched;
	uid_t uid;
	gid_t gid;
};

int auth_fsids_enter(const struct dssh_auth_user *user, struct auth_fsids *s);
void auth_fsids_leave(struct auth_fsids *s);

/*
 * Every AuthorizedKeysFile of user: a plain key_blob matches its own line;
 * with cert, a cert-authority line of cert's CA whose principals= (or else
 * the user name) is among cert's principals. *ca_seen (may be NULL) is set
 * when a cert-authority line named the CA at all.
 */
int auth_keys_files_check(const struct dssh_config *cfg,
    const struct dssh_auth_user *user, const uint8_t *key_blob, size_t key_len,
    const struct dssh_sshkey_cert *cert, bool *ca_seen, const char *remote_ip,
    struct dssh_authkey_opts *opts);

/* list: comma-separated principals, or NULL for the user name alone. */
bool auth_cert_principal_ok(const struct dssh_sshkey_cert *cert, const char *list,
    const char *user);

/*
 * A file of the user's opened as fd (with the user's fs ids): a regular
 * file and, under StrictModes, owned by the user or root and not group or
 * world writable, nor any directory up to the home directory (as sshd).
 */
int auth_user_file_ok(const struct dssh_config *cfg, const struct dssh_auth_user *user,
    const char *path, int fd);

/* A user certificate blob: the whole certificate policy (certauth.c). */
int auth_cert_check(const struct dssh_config *cfg, const struct dssh_auth_user *user,
    const uint8_t *blob, size_t len, const char *remote_ip,
    struct dssh_authkey_opts *opts);

/*
 * RevokedKeys lists the key blob (or, with cert, the certificate, its key
 * or its CA). An unreadable RevokedKeys file refuses every key, as sshd.
 */
bool auth_key_revoked(const struct dssh_config *cfg, const uint8_t *blob, size_t len,
    const struct dssh_sshkey_cert *cert);

#endif
