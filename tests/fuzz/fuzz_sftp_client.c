/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SFTP client's reply parsing: the input is the server's byte stream
 * after a good VERSION, with 64 requests in flight (so replies are
 * expected), and once more as one reply body for dssh_sftpc_parse_reply.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_sftp_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void
cb(void *arg, const struct dssh_sftpc_reply *r)
{
	(void)arg;
	sink += r->len + r->handle_len + r->count + (r->msg != NULL ? strlen(r->msg) : 0);
	for (uint32_t i = 0; i < r->count; i++)
		sink += strlen(r->names[i].name) + strlen(r->names[i].longname);
	if (r->len > 0)
		sink += r->data[r->len - 1];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t version[] = { 0, 0, 0, 5, 2, 0, 0, 0, 3 };
	struct dssh_sftpc *c;
	uint32_t id;
	uint8_t *copy;

	if (dssh_sftpc_new(cb, NULL, &c) != 0 || dssh_sftpc_init(c) != 0 ||
	    dssh_sftpc_input(c, version, sizeof(version)) != 0)
		abort();
	for (int i = 0; i < 64; i++)
		dssh_sftpc_stat(c, "/", true, &id);
	/* A private copy exactly as long: reads past it are caught. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	dssh_sftpc_input(c, copy, size);
	dssh_sftpc_parse_reply(copy, size, cb, NULL);
	free(copy);
	dssh_sftpc_free(c);
	return 0;
}
