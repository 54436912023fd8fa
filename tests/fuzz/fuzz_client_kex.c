/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client role's first key exchange, from the server's side of the
 * wire: a server version line and a KEXINIT (method picked by the first
 * input byte) come from the harness, then the rest of the input as
 * plaintext packets (2-byte length, payload): the KEX_ECDH_REPLY parser
 * (host-key blob, server value, signature), EXT_INFO, and whatever else.
 *
 * The client's own sntrup761 key pair comes from a pool of four made once
 * (meson links this target with --wrap=dssh_sntrup761_keypair), picked by
 * the first byte: a fresh pair cost 4/5 of an sntrup761 input and is not
 * peer input. The server's ciphertext is still decapsulated in full.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_buf.h"
#include "dssh_crypto.h"
#include "dssh_log.h"
#include "dssh_sntrup761.h"
#include "dssh_ssh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kexes[] = {
	"curve25519-sha256", "ecdh-sha2-nistp256", "diffie-hellman-group14-sha256",
	"mlkem768x25519-sha256", "sntrup761x25519-sha512",
};
static const char *const hks[] = { "ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512" };

static struct dssh_crypto_engine *engine;

#define NPAIR 4
int __real_dssh_sntrup761_keypair(uint8_t *pk, uint8_t *sk);
int __wrap_dssh_sntrup761_keypair(uint8_t *pk, uint8_t *sk);
static uint8_t pool_pk[NPAIR][DSSH_SNTRUP761_PK_LEN], pool_sk[NPAIR][DSSH_SNTRUP761_SK_LEN];
static unsigned pool_pick;

int
__wrap_dssh_sntrup761_keypair(uint8_t *pk, uint8_t *sk)
{
	memcpy(pk, pool_pk[pool_pick], DSSH_SNTRUP761_PK_LEN);
	memcpy(sk, pool_sk[pool_pick], DSSH_SNTRUP761_SK_LEN);
	return 0;
}

static int
verify(void *h, const char *alg, const uint8_t *blob, size_t len)
{
	(void)h;
	(void)alg;
	(void)blob;
	(void)len;
	return 0;
}

static void
frame(struct dssh_buf *out, const uint8_t *payload, size_t n)
{
	size_t pad = 8 - ((4 + 1 + n) % 8);

	if (pad < 4)
		pad += 8;
	dssh_buf_put_u32(out, (uint32_t)(1 + n + pad));
	dssh_buf_put_u8(out, (uint8_t)pad);
	dssh_buf_put(out, payload, n);
	for (size_t i = 0; i < pad; i++)
		dssh_buf_put_u8(out, 0);
}

static void
kexinit(struct dssh_buf *out, const char *kex, const char *hk)
{
	struct dssh_buf p;
	char k[128];

	dssh_buf_init(&p, 0);
	dssh_buf_put_u8(&p, 20);
	for (int i = 0; i < 16; i++)
		dssh_buf_put_u8(&p, 0x5a);
	snprintf(k, sizeof(k), "%s,kex-strict-s-v00@openssh.com", kex);
	dssh_buf_put_cstring(&p, k);
	dssh_buf_put_cstring(&p, hk);
	dssh_buf_put_cstring(&p, "aes128-ctr");
	dssh_buf_put_cstring(&p, "aes128-ctr");
	dssh_buf_put_cstring(&p, "hmac-sha2-256");
	dssh_buf_put_cstring(&p, "hmac-sha2-256");
	dssh_buf_put_cstring(&p, "none");
	dssh_buf_put_cstring(&p, "none");
	dssh_buf_put_cstring(&p, "");
	dssh_buf_put_cstring(&p, "");
	dssh_buf_put_bool(&p, false);
	dssh_buf_put_u32(&p, 0);
	frame(out, dssh_buf_ptr(&p), dssh_buf_len(&p));
	dssh_buf_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dssh_conn_host_ops ops = { .verify_hostkey = verify };
	struct dssh_ssh_conf conf;
	struct dssh_conn *c;
	struct dssh_buf in;

	if (size < 1)
		return 0;
	if (engine == NULL) {
		if (dssh_crypto_engine_create("openssl", NULL, &engine) != 0)
			abort();
		for (unsigned i = 0; i < NPAIR; i++)
			if (__real_dssh_sntrup761_keypair(pool_pk[i], pool_sk[i]) != 0)
				abort();
	}
	const char *kex = kexes[data[0] % 5], *hk = hks[(data[0] / 5) % 3];

	pool_pick = (data[0] / 15) % NPAIR;

	memset(&conf, 0, sizeof(conf));
	conf.role = DSSH_ROLE_CLIENT;
	conf.kex_algs = kex;
	conf.cipher_algs = "aes128-ctr";
	conf.mac_algs = "hmac-sha2-256";
	conf.hostkey_algs = hk;
	conf.user = "alice";
	conf.engine = engine;
	if (dssh_conn_new(&conf, &ops, NULL, "fuzz", &c) != 0 || dssh_conn_start(c, 1000) != 0)
		abort();
	dssh_buf_init(&in, 0);
	dssh_buf_put(&in, "SSH-2.0-fuzz\r\n", 14);
	kexinit(&in, kex, hk);
	data++;
	size--;
	while (size >= 2) {
		size_t n = ((size_t)data[0] << 8 | data[1]);

		data += 2;
		size -= 2;
		n = n < size ? n : size;
		if (n == 0)
			break;
		frame(&in, data, n);
		data += n;
		size -= n;
	}
	dssh_conn_input(c, dssh_buf_ptr(&in), dssh_buf_len(&in), 1000);
	dssh_conn_output_consume(c, dssh_conn_output_pending(c));
	dssh_buf_free(&in);
	dssh_conn_free(c);
	return 0;
}
