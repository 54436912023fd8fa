/* SPDX-License-Identifier: BSD-3-Clause */
/* An ssh-agent's answers (after the length word): identities and a signature. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "dssh_buf.h"
#include "dssh_sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dssh_sshkey *keys[16];
	struct dssh_buf sig;
	unsigned n = 0;
	uint8_t *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	if (dssh_client_agent_parse_keys(copy, size, keys, 16, &n) != 0 && n != 0)
		abort();
	for (unsigned i = 0; i < n; i++)
		dssh_sshkey_free(keys[i]);
	dssh_buf_init(&sig, 0);
	dssh_client_agent_parse_sig(copy, size, &sig);
	dssh_buf_free(&sig);
	free(copy);
	return 0;
}
