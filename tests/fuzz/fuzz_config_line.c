/* SPDX-License-Identifier: BSD-3-Clause */
/* dsshd_config lines: the input is split at newlines, applied in order. */
#include <stdlib.h>
#include <string.h>

#include "dssh_config.h"
#include "dssh_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dssh_config cfg;
	char err[256];
	unsigned lineno = 0;

	dssh_config_init(&cfg);
	while (size > 0) {
		const uint8_t *nl = memchr(data, '\n', size);
		size_t n = nl ? (size_t)(nl - data) : size;
		char *line = malloc(n + 1);

		memcpy(line, data, n);
		line[n] = '\0';
		err[0] = '\0';
		int r = dssh_config_apply_line(&cfg, line, "fuzz", ++lineno, err, sizeof(err));

		if (r != 0 && r != DSSH_ERR_CONFIG && r != DSSH_ERR_ALLOC)
			abort();
		if (memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		free(line);
		data += nl ? n + 1 : n;
		size -= nl ? n + 1 : n;
	}
	dssh_config_free(&cfg);
	return 0;
}
