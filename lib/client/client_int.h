/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_CLIENT_INT_H
#define DSSH_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dssh_sshkey;
struct dssh_buf;

/* agent.c: the keys an agent at sock holds (public only), and a signature by one. */
int dssh_client_agent_keys(const char *sock, struct dssh_sshkey **keys, unsigned max,
    unsigned *nkeys);
int dssh_client_agent_sign(const char *sock, const struct dssh_sshkey *key, const char *alg,
    const uint8_t *data, size_t len, struct dssh_buf *sig);

/* The answers' parsers (agent bytes, after the length word), for tests and fuzzing. */
int dssh_client_agent_parse_keys(const uint8_t *p, size_t n, struct dssh_sshkey **keys,
    unsigned max, unsigned *nkeys);
int dssh_client_agent_parse_sig(const uint8_t *p, size_t n, struct dssh_buf *sig);

/*
 * passphrase.c: a passphrase for prompt from SSH_ASKPASS or /dev/tty (see
 * there), malloc'd (dssh_free_secret_str); NULL if none could be read.
 */
char *dssh_client_read_passphrase(const char *prompt, bool batch);
/*
 * A private key file, asking for its passphrase if it has one (0 or
 * DSSH_ERR_*). An encrypted file whose path.pub key is one of agent_keys
 * is left to the agent, unasked (DSSH_ERR_KEY_ENCRYPTED, nothing printed).
 */
int dssh_client_load_key(const char *path, bool batch, struct dssh_sshkey *const *agent_keys,
    unsigned n_agent, struct dssh_sshkey **keyp);

#endif
