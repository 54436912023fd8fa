/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ~/.ssh/environment's parser (lib/session/userenv.c) under each kind of
 * PermitUserEnvironment value: whatever the file, every entry set has a
 * non-empty name the value allows, and the list stays NULL-terminated.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_util.h"
#include "session_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const allow[] = { "yes", "no", "LANG,LC_*,FOO?", "*,!PATH" };
	struct session_env e = { 0 };
	const char *a;
	char *copy, *name;
	unsigned bad;

	if (size == 0)
		return 0;
	a = allow[data[0] % 4];
	/* An exact-size copy, so that any over-read is ASan's to see. */
	copy = malloc(size - 1 ? size - 1 : 1);
	memcpy(copy, data + 1, size - 1);
	(void)session_user_env_parse(&e, copy, size - 1, a, &bad);
	for (size_t i = 0; i < e.n; i++) {
		const char *eq = strchr(e.v[i], '=');

		if (eq == NULL || eq == e.v[i])
			abort();
		name = dssh_strndup(e.v[i], (size_t)(eq - e.v[i]));
		if (name == NULL || !dssh_user_env_allowed(a, name))
			abort();
		free(name);
	}
	if (e.n > 0 && e.v[e.n] != NULL)
		abort();
	session_env_free(&e);
	free(copy);
	return 0;
}
