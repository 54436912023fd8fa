/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_KNOWN_HOSTS_H
#define DSSH_KNOWN_HOSTS_H

/*
 * OpenSSH known_hosts files (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"), for a
 * client checking a server's host key.
 *
 * A line: [@cert-authority|@revoked] patterns keytype base64 [comment].
 * Patterns: comma-separated names with * and ? wildcards, !negated ones,
 * "[host]:port" for a port other than 22, or one hashed name
 * |1|base64(salt)|base64(HMAC-SHA1(salt, name)). Blank and # lines are
 * skipped, and so is a line that does not parse (as OpenSSH does).
 *
 * The verdict for a host and its key (wire blob):
 *   REVOKED   an @revoked line has the key (whatever its host patterns)
 *   OK        a plain line for the host has the key
 *   CHANGED   a plain line for the host has another key of the same type
 *   NEW       none of these
 * @cert-authority lines are parsed but match only certificate host keys,
 * which the client does not negotiate: they never make a plain key OK.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dssh_kh_status {
	DSSH_KH_NEW = 0,
	DSSH_KH_OK,
	DSSH_KH_CHANGED,
	DSSH_KH_REVOKED,
};

struct dssh_kh_result {
	enum dssh_kh_status status;
	unsigned line;          /* the deciding line (1-based), 0 none */
	unsigned other_types;   /* lines for the host with keys of other types */
};

/* The name a host goes by in the file: "host", or "[host]:port" (port != 22). */
int dssh_known_hosts_name(const char *host, int port, char *out, size_t n);

/* Check against the text of one file (need not be NUL-terminated). */
int dssh_known_hosts_check_text(const char *text, size_t len, const char *host, int port,
    const uint8_t *blob, size_t bloblen, struct dssh_kh_result *res);
/* The same for a file; a missing file is empty (status NEW). */
int dssh_known_hosts_check_file(const char *path, const char *host, int port,
    const uint8_t *blob, size_t bloblen, struct dssh_kh_result *res);
/*
 * Append "name keytype base64" for the key (hashed: |1|salt|hash as
 * HashKnownHosts does), creating the file (0600) and its directory (0700)
 * when missing.
 */
int dssh_known_hosts_add(const char *path, const char *host, int port, const uint8_t *blob,
    size_t bloblen, bool hash);

#endif
