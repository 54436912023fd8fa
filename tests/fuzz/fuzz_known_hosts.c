/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A known_hosts file's text, checked for a fixed host and key (an
 * ed25519 blob whose first byte the input may also flip, and the port
 * from the input's first byte), and the name it is looked up by.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_known_hosts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "ssh-ed25519" and 32 bytes. */
static uint8_t blob[4 + 11 + 4 + 32] = {
	0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9', 0, 0, 0, 32,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dssh_kh_result res;
	char *text;
	int port;

	if (size < 1)
		return 0;
	port = data[0] & 1 ? 22 : 2222;
	blob[19] = data[0];
	/* A private copy exactly as long: reads past it are caught. */
	if ((text = malloc(size - 1 + 1)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	if (dssh_known_hosts_check_text(text, size - 1, "host.example", port, blob, sizeof(blob),
	    &res) != 0)
		abort();
	if (res.status > DSSH_KH_REVOKED || (res.status != DSSH_KH_NEW && res.line == 0))
		abort();
	free(text);
	return 0;
}
