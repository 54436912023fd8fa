/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * KRLs (PROTOCOL.krl): the input is the KRL, checked against fixed keys and
 * a fixed certificate. Answers are 1, 0 or a clean refusal.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char key_id[] = "fuzz-id";
	static uint8_t ca_blob[51] = "\0\0\0\x0bssh-ed25519\0\0\0\x20";
	static const uint8_t key_blob[] = "\0\0\0\x0bssh-ed25519\0\0\0\x20"
	    "0123456789abcdef0123456789abcdef";
	struct dssh_sshkey_cert cert;
	const uint8_t *blobs[2] = { key_blob, ca_blob };
	size_t lens[2] = { sizeof(key_blob) - 1, sizeof(ca_blob) };
	uint8_t *copy = malloc(size ? size : 1);
	int r;

	memset(&cert, 0, sizeof(cert));
	cert.serial = 1000;
	cert.key_id = key_id;
	cert.ca_blob = ca_blob;
	cert.ca_bloblen = sizeof(ca_blob);
	memcpy(copy, data, size);
	r = dssh_sshkey_krl_check(copy, size, blobs, lens, 2, &cert);
	if (r != 0 && r != 1 && r != DSSH_ERR_INVALID_FORMAT)
		abort();
	r = dssh_sshkey_krl_check(copy, size, blobs, lens, 1, NULL);
	if (r != 0 && r != 1 && r != DSSH_ERR_INVALID_FORMAT)
		abort();
	free(copy);
	return 0;
}
