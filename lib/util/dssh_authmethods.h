/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_AUTHMETHODS_H
#define DSSH_AUTHMETHODS_H

/*
 * AuthenticationMethods as in sshd_config(5): "any", or one or more lists
 * of comma-separated method names separated by spaces. A login is complete
 * once every method of one list has succeeded, in the list's order. After a
 * method succeeds with lists still unfinished, the server answers
 * USERAUTH_FAILURE with partial success and the methods that can continue
 * (RFC 4252 5.1): the next method of every list the login can still finish.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dssh_authm {
	DSSH_AUTHM_PUBLICKEY = 0,
	DSSH_AUTHM_PASSWORD,
	DSSH_AUTHM_KBDINT,             /* "keyboard-interactive" (":pam" accepted) */
	DSSH_AUTHM_COUNT,
};

#define DSSH_AUTHM_BIT(m) (1u << (m))
#define DSSH_AUTHM_MAX_LISTS 32
#define DSSH_AUTHM_MAX_STEPS 16

struct dssh_authm_list {
	uint8_t step[DSSH_AUTHM_MAX_STEPS];
	uint8_t n;                     /* methods in the list */
	uint8_t done;                  /* of them, succeeded (a prefix) */
};

struct dssh_authmethods {
	bool any;                      /* "any": one method of any kind is enough */
	unsigned nlists;
	struct dssh_authm_list list[DSSH_AUTHM_MAX_LISTS];
};

/* "publickey", "password", "keyboard-interactive"; NULL for others. */
const char *dssh_authm_name(enum dssh_authm m);
/* The method of a USERAUTH_REQUEST name; -1 for none/unknown. */
int dssh_authm_from_name(const char *name);

/*
 * Parse the value (lists separated by blanks). Returns 0, or
 * DSSH_ERR_INVALID_FORMAT with a reason in why.
 */
int dssh_authmethods_parse(const char *s, struct dssh_authmethods *am,
    char *why, size_t whylen);

/* Can at least one list finish with only the methods in enabled (a mask)? */
bool dssh_authmethods_satisfiable(const struct dssh_authmethods *am,
    unsigned enabled);

/* May method m be tried now (it is the next step of an unfinished list)? */
bool dssh_authmethods_allowed(const struct dssh_authmethods *am,
    enum dssh_authm m);

/*
 * Method m succeeded: advance every list whose next step it is. Returns
 * true when a list is now complete (the user is authenticated).
 */
bool dssh_authmethods_success(struct dssh_authmethods *am, enum dssh_authm m);

/*
 * The name-list for USERAUTH_FAILURE: the methods that can continue and
 * are in enabled, in sshd's order (publickey,password,keyboard-interactive).
 * Returns 0 or DSSH_ERR_NO_BUFFER_SPACE.
 */
int dssh_authmethods_continue(const struct dssh_authmethods *am,
    unsigned enabled, char *out, size_t n);

#endif
