/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_ERR_H
#define DSSH_ERR_H

/*
 * Every dssh function that can fail returns an int: 0 on success or one of
 * these negative codes. Callers chain calls with
 *   if ((r = f()) != 0 || (r = g()) != 0) goto out;
 */
enum dssh_err {
	DSSH_OK = 0,
	DSSH_ERR_INTERNAL = -1,
	DSSH_ERR_ALLOC = -2,
	DSSH_ERR_MSG_INCOMPLETE = -3,   /* need more bytes than the buffer holds */
	DSSH_ERR_INVALID_FORMAT = -4,   /* bytes present but malformed */
	DSSH_ERR_NO_BUFFER_SPACE = -5,  /* would exceed the buffer's maximum */
	DSSH_ERR_STRING_TOO_LARGE = -6,
	DSSH_ERR_INVALID_ARGUMENT = -7,
	DSSH_ERR_LIBCRYPTO = -8,
	DSSH_ERR_MAC_INVALID = -9,
	DSSH_ERR_PROTOCOL = -10,        /* peer violated the protocol */
	DSSH_ERR_NO_MATCH = -11,        /* algorithm negotiation failed */
	DSSH_ERR_KEY_TYPE = -12,        /* unknown or unsupported key type */
	DSSH_ERR_SIGNATURE_INVALID = -13,
	DSSH_ERR_SYSTEM = -14,          /* see errno */
	DSSH_ERR_CONN_CLOSED = -15,
	DSSH_ERR_NOT_FOUND = -16,
	DSSH_ERR_AGAIN = -17,           /* try again later (would block, pending) */
	DSSH_ERR_PERMISSION = -18,
	DSSH_ERR_KEY_BAD_PERMISSIONS = -19,
	DSSH_ERR_UNSUPPORTED = -20,
	DSSH_ERR_TIMEOUT = -21,
	DSSH_ERR_CONFIG = -22,
	DSSH_ERR_BUSY = -23,            /* queue full */
	DSSH_ERR_KEY_ENCRYPTED = -24,   /* private key needs a passphrase */
	DSSH_ERR_KEY_PASSPHRASE = -25,  /* incorrect passphrase */
	DSSH_ERR_ACCOUNT_LOCKED = -26,  /* the user's account is locked (shadow) */
};

const char *dssh_err_str(int err);

#endif
