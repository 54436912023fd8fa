/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_CLIOPTS_H
#define DSSH_CLIOPTS_H

/* The ssh-style options dssh and dssh-cp share (-o Key=Value and friends). */
#include <stdbool.h>

#include "dssh_client.h"

/* Applies one -o argument ("Key=Value" or "Key Value"); 0 or -1 (message printed). */
int dssh_cliopt_apply(struct dssh_client_opts *o, const char *arg);
/*
 * The options dssh, dssh-cp (and dssh-load) share, one getopt character
 * at a time: -i identity_file, -o option, -c cipher_spec. 1: taken; 0: not
 * one of them (the caller's own); -1: a bad -o (message printed).
 */
int dssh_cliopt_common(struct dssh_client_opts *o, int ch, const char *arg);
/* -c: the cipher list. */
void dssh_cliopt_cipher(struct dssh_client_opts *o, const char *list);
/* [user@]host: splits into o->host and (if present) o->user; s is modified. */
void dssh_cliopt_userhost(struct dssh_client_opts *o, char *s);
/* Log level from -v count and -q. */
void dssh_cliopt_log(const char *prog, int verbose, bool quiet);

#endif
