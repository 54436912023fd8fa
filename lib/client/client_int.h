/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_CLIENT_INT_H
#define DSSH_CLIENT_INT_H

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

#endif
