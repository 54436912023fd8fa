/* SPDX-License-Identifier: BSD-3-Clause */
/* Encoded terminal modes (RFC 4254 8) from a pty-req. */
#include <stdlib.h>
#include <string.h>
#include <termios.h>

#include "dssh_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct termios t;
	uint8_t *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	memset(&t, 0, sizeof(t));
	dssh_session_decode_modes(copy, size, &t);
	free(copy);
	return 0;
}
