/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include "dssh_err.h"

const char *
dssh_err_str(int err)
{
	switch (err) {
	case DSSH_OK: return "success";
	case DSSH_ERR_INTERNAL: return "internal error";
	case DSSH_ERR_ALLOC: return "memory allocation failed";
	case DSSH_ERR_MSG_INCOMPLETE: return "message incomplete";
	case DSSH_ERR_INVALID_FORMAT: return "invalid format";
	case DSSH_ERR_NO_BUFFER_SPACE: return "no buffer space";
	case DSSH_ERR_STRING_TOO_LARGE: return "string too large";
	case DSSH_ERR_INVALID_ARGUMENT: return "invalid argument";
	case DSSH_ERR_LIBCRYPTO: return "error in libcrypto";
	case DSSH_ERR_MAC_INVALID: return "message authentication code incorrect";
	case DSSH_ERR_PROTOCOL: return "protocol error";
	case DSSH_ERR_NO_MATCH: return "no matching algorithm";
	case DSSH_ERR_KEY_TYPE: return "unknown or unsupported key type";
	case DSSH_ERR_SIGNATURE_INVALID: return "incorrect signature";
	case DSSH_ERR_SYSTEM: return strerror(errno);
	case DSSH_ERR_CONN_CLOSED: return "connection closed";
	case DSSH_ERR_NOT_FOUND: return "not found";
	case DSSH_ERR_AGAIN: return "try again";
	case DSSH_ERR_PERMISSION: return "permission denied";
	case DSSH_ERR_KEY_BAD_PERMISSIONS: return "bad permissions";
	case DSSH_ERR_UNSUPPORTED: return "unsupported";
	case DSSH_ERR_TIMEOUT: return "timeout";
	case DSSH_ERR_CONFIG: return "configuration error";
	case DSSH_ERR_BUSY: return "busy";
	case DSSH_ERR_KEY_ENCRYPTED: return "passphrase-protected key";
	case DSSH_ERR_KEY_PASSPHRASE: return "incorrect passphrase supplied to decrypt private key";
	case DSSH_ERR_ACCOUNT_LOCKED: return "account is locked";
	}
	return "unknown error";
}
