/* SPDX-License-Identifier: BSD-3-Clause */
/* Public key wire blobs: parse, re-encode, reparse, fingerprint, verify. */
#include <stdlib.h>
#include <string.h>

#include "dssh_sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dssh_sshkey *k = NULL, *k2 = NULL;
	struct dssh_buf b;
	char fp[DSSH_SSHKEY_FP_LEN];
	uint8_t *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	if (dssh_sshkey_from_blob(copy, size, &k) != 0) {
		free(copy);
		return 0;
	}
	dssh_buf_init(&b, 0);
	if (dssh_sshkey_public_blob(k, &b) != 0)
		abort();
	/* The parser is strict: what it accepts is exactly what it writes. */
	if (dssh_buf_len(&b) != size || memcmp(dssh_buf_ptr(&b), copy, size) != 0)
		abort();
	if (dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), &k2) != 0 ||
	    dssh_sshkey_equal_public(k, k2) != 1)
		abort();
	if (dssh_sshkey_fingerprint(k, fp, sizeof(fp)) != 0 || strncmp(fp, "SHA256:", 7) != 0)
		abort();
	if (dssh_sshkey_has_private(k))
		abort();
	/* A signature check with junk must fail cleanly. */
	const char *algs = dssh_sshkey_sig_algs_for(k);

	if (algs != NULL) {
		char alg[64];
		size_t n = strcspn(algs, ",");

		if (n < sizeof(alg)) {
			memcpy(alg, algs, n);
			alg[n] = '\0';
			if (dssh_sshkey_verify(k, alg, copy, size, copy, size) == 0)
				abort();
		}
	}
	dssh_buf_free(&b);
	dssh_sshkey_free(k);
	dssh_sshkey_free(k2);
	free(copy);
	return 0;
}
