/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSHD_MONITOR_H
#define DSSHD_MONITOR_H

/*
 * Privilege separation: the root monitor's requests (lib/auth/dssh_monitor.h)
 * served in the spawner process, and dsshd's side of them.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dssh_auth.h"
#include "dssh_config.h"
#include "dssh_spawner.h"

/* The monitor side: hand to dssh_spawner_set_monitor before maybe_run. */
extern const struct dssh_spawner_monitor dsshd_monitor_ops;

/*
 * dsshd's side. send() puts one message on the spawner socket (with the
 * lock that guards it); every request waits at most
 * DSSHD_MONITOR_TIMEOUT_MS for its reply.
 */
#define DSSHD_MONITOR_TIMEOUT_MS 30000

struct dsshd_monitor_link {
	int (*send)(void *arg, const uint8_t *msg, size_t len, const int *fds, size_t nfds);
	void *arg;
};

/* A dssh_pam_remote_fn: arg is a struct dsshd_monitor_link. */
int dsshd_monitor_pam_open(void *arg, const struct dssh_pam_request *req, const char *service);

/*
 * dssh_authkeys_check, run by the monitor as the user. final: the
 * signature was verified (the monitor then records the key as allowed for
 * conn and user).
 */
int dsshd_monitor_authkeys(const struct dsshd_monitor_link *l, uint64_t conn, bool final,
    const struct dssh_config *cfg, const char *user, const uint8_t *blob, size_t len,
    const char *remote_ip, struct dssh_authkey_opts *opts);

/* btmp, written by the monitor (names longer than 256 bytes are dropped). */
void dsshd_monitor_failed_login(const struct dsshd_monitor_link *l, const char *user,
    const char *host);

/* The control socket's path, sent while still root (the monitor removes it at the end). */
void dsshd_monitor_ctl_path(const struct dsshd_monitor_link *l, const char *path);

void dsshd_monitor_conn_end(const struct dsshd_monitor_link *l, uint64_t conn);

/*
 * A socket made by the monitor for conn's authenticated user (op of
 * enum dssh_monitor_sock_op): *fd gets it (close-on-exec); AGENT_DIR
 * writes the directory into dir (dircap bytes) instead.
 */
int dsshd_monitor_socket(const struct dsshd_monitor_link *l, uint64_t conn, int op,
    const char *path, unsigned port, int *fd, char *dir, size_t dircap);

/*
 * Host keys in the monitor: it loads path's private key and keeps it;
 * *pub gets the public key. dsshd_monitor_sign is a dssh_ssh_hostkey sign
 * function (arg: the link).
 */
struct dssh_sshkey;
struct dssh_buf;
int dsshd_monitor_hostkey_load(const struct dsshd_monitor_link *l, const char *path,
    struct dssh_sshkey **pub);
int dsshd_monitor_sign(void *arg, const struct dssh_sshkey *key, const char *alg,
    const uint8_t *data, size_t len, struct dssh_buf *sig);

/*
 * Drop root for good: setgroups, setgid, setuid to user (DSSHD_PRIVSEP_USER),
 * no capabilities left, PR_SET_NO_NEW_PRIVS. Logs and fails when the user
 * does not exist.
 */
#define DSSHD_PRIVSEP_USER "dsshd"
int dsshd_drop_privileges(const char *user);
/* Checked at start-up (before anything is bound): the user exists. */
int dsshd_privsep_user_check(const char *user);

#endif
