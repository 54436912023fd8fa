/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Certificate blobs: parse (every length, option lists, the CA signature).
 * What parses must be self-consistent. The seeds are real certificates
 * (ssh-keygen -s) so that mutations reach the fields behind the key.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dssh_sshkey_cert *c = NULL;
	uint8_t *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	if (dssh_sshkey_cert_parse(copy, size, &c) != 0) {
		if (c != NULL)
			abort();
		free(copy);
		return 0;
	}
	if (c->key == NULL || c->ca == NULL || c->ca_bloblen == 0 ||
	    !dssh_sshkey_is_cert_name(c->type_name) ||
	    (c->cert_type != DSSH_SSHKEY_CERT_USER && c->cert_type != DSSH_SSHKEY_CERT_HOST) ||
	    c->nprincipals > DSSH_SSHKEY_CERT_MAX_PRINCIPALS)
		abort();
	for (size_t i = 0; i < c->nprincipals; i++)
		if (c->principals[i][0] == '\0')
			abort();
	for (size_t i = 1; i < c->ncritical; i++)
		if (strcmp(c->critical[i - 1].name, c->critical[i].name) >= 0)
			abort();
	(void)dssh_sshkey_cert_valid_at(c, 1700000000);
	(void)dssh_sshkey_cert_find(c->extensions, c->nextensions, "permit-pty");
	dssh_sshkey_cert_free(c);
	free(copy);
	return 0;
}
