/* SPDX-License-Identifier: BSD-3-Clause */
/* KEXINIT parse, rebuild, reparse and negotiation against a fixed server. */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "ssh_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const server_lists[KEX_SLOTS] = {
	("curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group14-sha256,"
	    "kex-strict-s-v00@openssh.com"),
	"ssh-ed25519,rsa-sha2-512",
	"aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr",
	"aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr",
	"hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
	"hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
	"none", "none", "", "",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dssh_kexinit k, k2, sv;
	struct dssh_kex_result res;
	struct dssh_buf b;
	const char *failed;
	uint8_t *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	if (dssh_kexinit_parse(copy, size, &k) != 0) {
		free(copy);
		return 0;
	}
	free(copy);
	dssh_buf_init(&b, 0);
	if (dssh_kexinit_build(&b, (const char *const *)k.lists) != 0)
		abort();
	if (dssh_kexinit_parse(dssh_buf_ptr(&b) + 1, dssh_buf_len(&b) - 1, &k2) != 0)
		abort();
	for (int i = 0; i < KEX_SLOTS; i++)
		if (strcmp(k.lists[i], k2.lists[i]) != 0)
			abort();
	dssh_buf_reset(&b);
	dssh_kexinit_build(&b, server_lists);
	if (dssh_kexinit_parse(dssh_buf_ptr(&b) + 1, dssh_buf_len(&b) - 1, &sv) != 0)
		abort();
	if (dssh_kex_choose(&k, &sv, &res, &failed) == 0) {
		/* Whatever was chosen is in both lists. */
		if (!dssh_namelist_has(k.lists[KEX_SLOT_KEX], res.kex) ||
		    !dssh_namelist_has(sv.lists[KEX_SLOT_KEX], res.kex) ||
		    !dssh_namelist_has(sv.lists[KEX_SLOT_ENC_CS], res.enc_cs) ||
		    !dssh_namelist_has(k.lists[KEX_SLOT_ENC_SC], res.enc_sc))
			abort();
		dssh_kex_result_free(&res);
	} else if (failed == NULL) {
		abort();
	}
	dssh_kexinit_free(&sv);
	dssh_kexinit_free(&k);
	dssh_kexinit_free(&k2);
	dssh_buf_free(&b);
	return 0;
}
