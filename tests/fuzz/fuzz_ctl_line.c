/* SPDX-License-Identifier: BSD-3-Clause */
/* dsshd's control protocol lines: parse, and a parsed object round-trips. */
#include <stdlib.h>
#include <string.h>

#include "dssh_ctl.h"
#include "dssh_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dssh_ctl_obj o, o2;
	struct dssh_buf b;
	int r = dssh_ctl_parse((const char *)data, size, &o);

	if (r != 0) {
		if (r != DSSH_ERR_INVALID_FORMAT && r != DSSH_ERR_STRING_TOO_LARGE &&
		    r != DSSH_ERR_NO_BUFFER_SPACE)
			abort();
		return 0;
	}
	/* What was parsed, written again, parses to the same fields. */
	dssh_buf_init(&b, 1u << 20);
	if (dssh_ctl_begin(&b) != 0)
		abort();
	for (unsigned i = 0; i < o.n; i++) {
		if (o.kv[i].is_str)
			r = dssh_ctl_put_str(&b, o.kv[i].key, o.kv[i].val);
		else {
			uint64_t v;

			if (dssh_ctl_get_u64(&o, o.kv[i].key, &v) != 0)
				abort();
			r = dssh_ctl_put_u64(&b, o.kv[i].key, v);
		}
		if (r != 0)
			abort();
	}
	if (dssh_ctl_end(&b) != 0)
		abort();
	if (dssh_buf_len(&b) - 1 <= DSSH_CTL_LINE_MAX) {
		if (dssh_ctl_parse((const char *)dssh_buf_ptr(&b), dssh_buf_len(&b) - 1, &o2) != 0 ||
		    o2.n != o.n)
			abort();
		for (unsigned i = 0; i < o.n; i++)
			if (strcmp(o.kv[i].key, o2.kv[i].key) != 0 || o.kv[i].is_str != o2.kv[i].is_str)
				abort();
	}
	dssh_buf_free(&b);
	return 0;
}
