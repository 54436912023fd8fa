/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The spawner protocol's messages: what the privileged spawner parses
 * (SPAWN, SIGNAL) and what dsshd parses (SPAWN_REPLY, EXIT). A SPAWN that
 * parses must encode back to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_log.h"
#include "spawner_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
spawn_roundtrip(const uint8_t *p, size_t n)
{
	struct spawner_spawn_req req;
	struct dssh_buf b;

	if (spawner_decode_spawn(p, n, &req) != 0)
		return;
	dssh_buf_init(&b, 0);
	/* A decoded spec is always encodable, and to the very same bytes. */
	if (spawner_encode_spawn(&b, req.id, &req.spec) != 0 || dssh_buf_len(&b) != n ||
	    memcmp(dssh_buf_ptr(&b), p, n) != 0)
		abort();
	dssh_buf_free(&b);
	spawner_spawn_req_free(&req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[SPAWNER_SIGNAME_MAX];
	struct spawner_reply rep;
	uint64_t id;
	int st;
	/* An exact-size copy, so that any over-read is ASan's to see. */
	uint8_t *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	spawn_roundtrip(copy, size);
	(void)spawner_decode_signal(copy, size, &id, name);
	if (spawner_decode_reply(copy, size, &rep) == 0 &&
	    strlen(rep.tty_name) >= sizeof(rep.tty_name))
		abort();
	(void)spawner_decode_exit(copy, size, &id, &st);
	free(copy);
	return 0;
}
