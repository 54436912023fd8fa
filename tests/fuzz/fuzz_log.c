/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linked into every fuzz target: logging off before the first input, so a
 * long run does not write a line per parsed keyword or refused packet (a
 * target that never set a level logged at INFO, tens of megabytes an hour).
 * DSSH_FUZZ_LOG asks for the lines back when looking at one input: a
 * LogLevel name (ERROR, INFO, DEBUG3, ...), or anything else for DEBUG3.
 * Not instrumented: it would add its edges to every target's count.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_log.h"

__attribute__((constructor, no_sanitize("coverage"))) static void
fuzz_log_setup(void)
{
	const char *v = getenv("DSSH_FUZZ_LOG");
	int level = DSSH_LOG_QUIET;

	if (v != NULL && *v != '\0' && strcmp(v, "0") != 0) {
		level = dssh_log_level_from_name(v);
		if (level < 0)
			level = DSSH_LOG_DEBUG3;
	}
	dssh_log_init("fuzz", (enum dssh_log_level)level, true);
}
