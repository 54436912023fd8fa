/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * openssh-key-v1 private key files, clear or passphrase-protected: the
 * input is the binary blob (armoured here), parsed with the passphrase
 * "fuzz" and the KDF rounds capped at 2 so that a run stays fast. The
 * seeds are ssh-keygen keys (-N fuzz -a 1) with each cipher.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_sshkey.h"
#include "sshkey_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----\n"
#define END "\n-----END OPENSSH PRIVATE KEY-----\n"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dssh_sshkey *k = NULL;
	struct dssh_buf t;
	int r;

	if (size > 64 * 1024)
		return 0;
	dssh_buf_init(&t, 0);
	if (dssh_buf_put(&t, BEGIN, strlen(BEGIN)) != 0 ||
	    sshkey_b64_encode(&t, data, size) != 0 ||
	    dssh_buf_put(&t, END, strlen(END)) != 0)
		abort();
	r = sshkey_parse_private_max((const char *)dssh_buf_ptr(&t), dssh_buf_len(&t), "fuzz", 2,
	    &k);
	if ((r == 0) != (k != NULL))
		abort();
	/* What loads is a whole private key. */
	if (k != NULL && !dssh_sshkey_has_private(k))
		abort();
	dssh_sshkey_free(k);
	dssh_buf_free(&t);
	return 0;
}
