/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_CRYPTO_DRIVER_H
#define DSSH_CRYPTO_DRIVER_H

/* What an engine under drivers/crypto implements. Not for callers of the API. */

#include <stdint.h>

#include "dssh_crypto.h"

struct dssh_crypto_engine_ops {
	const char *name;
	size_t engine_priv_size;  /* zeroed, allocated by lib/crypto */
	size_t sa_priv_size;
	int (*engine_init)(struct dssh_crypto_engine *e, const struct dssh_crypto_engine_conf *conf);
	void (*engine_fini)(struct dssh_crypto_engine *e);
	int (*sa_init)(struct dssh_crypto_sa *sa, const struct dssh_crypto_keys *keys);
	void (*sa_fini)(struct dssh_crypto_sa *sa);   /* must wipe key material */
	int (*peek_length)(struct dssh_crypto_sa *sa, uint32_t seq, const uint8_t *wire,
	    uint32_t *packet_length);                 /* wire has length_bytes */
	/* classic CTR: the length of the packet starting at cipher block
	 * `block` of the SA's stream (see dssh_crypto_sa_peek_length_at) */
	int (*peek_length_at)(struct dssh_crypto_sa *sa, uint32_t seq, uint64_t block,
	    const uint8_t *wire, uint32_t *packet_length);
	unsigned (*submit)(struct dssh_crypto_engine *e, struct dssh_crypto_op **ops, unsigned n);
	unsigned (*complete)(struct dssh_crypto_engine *e, struct dssh_crypto_op **ops, unsigned max);
};

struct dssh_crypto_engine {
	const struct dssh_crypto_engine_ops *ops;
	struct dssh_crypto_engine_conf conf;
	void *priv;
};

struct dssh_crypto_sa {
	struct dssh_crypto_engine *engine;
	const struct dssh_cipher_info *cipher;
	const struct dssh_mac_info *mac;      /* never NULL: NONE entry for AEAD */
	enum dssh_crypto_dir dir;
	void *priv;
};

/* SSH counter rules every engine shares. */

/* aes*-ctr: the 128-bit big-endian counter block += n blocks (full carry;
 * OpenSSH's CTR carries through all 128 bits). */
static inline void
dssh_crypto_ctr_add(uint8_t c[16], uint64_t n)
{
	for (int i = 15; i >= 0 && n != 0; i--) {
		unsigned sum = c[i] + (unsigned)(n & 0xff);

		c[i] = (uint8_t)sum;
		n = (n >> 8) + (sum >> 8);
	}
}

/* aes*-gcm@openssh.com: the 64-bit invocation counter (IV bytes 4..11) += 1;
 * the 4-byte fixed field never changes. */
static inline void
dssh_crypto_gcm_iv_inc(uint8_t iv[12])
{
	for (int i = 11; i >= 4; i--)
		if (++iv[i] != 0)
			break;
}

/* Engines available in this build (drivers/crypto/engines.c). */
extern const struct dssh_crypto_engine_ops *const dssh_crypto_engine_list[];

#endif
