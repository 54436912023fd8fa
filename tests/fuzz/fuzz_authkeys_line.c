/* SPDX-License-Identifier: BSD-3-Clause */
/* One authorized_keys line. */
#include <stdlib.h>
#include <string.h>

#include "dssh_auth.h"
#include "dssh_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dssh_authkey_opts opts;
	char *line = malloc(size + 1), *from = NULL;
	bool ca = false;
	uint8_t *blob = NULL;
	size_t bloblen = 0;
	char why[128];

	memcpy(line, data, size);
	line[size] = '\0';
	why[0] = '\0';
	int r = dssh_authkeys_parse_line(line, &opts, &from, &ca, &blob, &bloblen, why,
	    sizeof(why));

	if (r == 0 && (blob == NULL || bloblen == 0))
		abort();
	if (memchr(why, '\0', sizeof(why)) == NULL)
		abort();
	if (from != NULL && r == 0)
		dssh_auth_match_addr_list("192.0.2.1", "host.example", from);
	dssh_authkey_opts_free(&opts);
	free(from);
	free(blob);
	free(line);
	return 0;
}
