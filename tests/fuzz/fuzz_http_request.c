/* SPDX-License-Identifier: BSD-3-Clause */
/* The metrics endpoint's HTTP request head, whole and byte by byte. */
#include <stdlib.h>
#include <string.h>

#include "dssh_ctl.h"
#include "dssh_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dssh_http_req r;
	int ret = dssh_http_parse_request(data, size, &r);

	if (ret == 0) {
		if (r.head_len == 0 || r.head_len > size || r.head_len > DSSH_HTTP_HEAD_MAX ||
		    r.path[0] != '/' || memchr(r.path, '\0', sizeof(r.path)) == NULL ||
		    (r.minor != 0 && r.minor != 1))
			abort();
		/* The head alone parses the same. */
		struct dssh_http_req r2;

		if (dssh_http_parse_request(data, r.head_len, &r2) != 0 ||
		    strcmp(r.path, r2.path) != 0)
			abort();
	} else if (ret != DSSH_ERR_AGAIN && ret != DSSH_ERR_INVALID_FORMAT &&
	    ret != DSSH_ERR_STRING_TOO_LARGE) {
		abort();
	}
	/* A prefix never completes where the whole did not reach its end. */
	if (size > 1) {
		struct dssh_http_req r3;
		int p = dssh_http_parse_request(data, size / 2, &r3);

		if (p == 0 && (ret != 0 || r3.head_len != r.head_len))
			abort();
	}
	return 0;
}
