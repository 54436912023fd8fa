/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PEM private key files, clear or encrypted (traditional with a DEK-Info
 * header, PKCS#8 EncryptedPrivateKeyInfo): the input is the file's text,
 * parsed with the passphrase "fuzz" and the KDF work capped low (2 rounds:
 * 2000 PBKDF2 iterations) so that a run stays fast. The seeds are
 * ssh-keygen -m PEM|PKCS8 -N fuzz keys, re-encrypted with a small iteration
 * count where the cap would refuse them.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_sshkey.h"
#include "sshkey_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dssh_sshkey *k = NULL;
	int r;

	if (size > 64 * 1024)
		return 0;
	r = sshkey_parse_private_max((const char *)data, size, "fuzz", 2, &k);
	if ((r == 0) != (k != NULL))
		abort();
	/* What loads is a whole private key. */
	if (k != NULL && !dssh_sshkey_has_private(k))
		abort();
	dssh_sshkey_free(k);
	return 0;
}
