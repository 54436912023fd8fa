/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * For the targets that run a whole key exchange before their fuzz bytes
 * (fuzz_engine_post_kex, fuzz_auth_kbdint; meson links them with
 * --wrap=EVP_PKEY_Q_keygen): X25519 ephemeral keys, both sides', come from
 * a pool of four made on first use, in turn. A fresh key is not peer input
 * and its generation (OpenSSL's provider lookups, each malloc through ASan)
 * was a seventh of every run; the exchange itself, the shared secrets and
 * everything after them, is still computed in full. Other key types are
 * generated as before.
 *
 * With --wrap=EVP_PKEY_derive too, the X25519 shared secret of two pool keys
 * (own key a pool key, the peer's public value a pool key's) is computed
 * once per pair and then answered from memory: both sides derived it on
 * every key exchange, a seventh of the run, and the result of a pair never
 * changes. The peer key is still built from the wire bytes and checked by
 * EVP_PKEY_derive_set_peer; any other peer value (or key type) is derived
 * in full.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define NPOOL 4
#define X25519_LEN 32

static EVP_PKEY *pool[NPOOL];

EVP_PKEY *__real_EVP_PKEY_Q_keygen(OSSL_LIB_CTX *libctx, const char *propq,
    const char *type, ...);
EVP_PKEY *__wrap_EVP_PKEY_Q_keygen(OSSL_LIB_CTX *libctx, const char *propq,
    const char *type, ...);

__attribute__((no_sanitize("coverage"))) EVP_PKEY *
__wrap_EVP_PKEY_Q_keygen(OSSL_LIB_CTX *libctx, const char *propq, const char *type, ...)
{
	static unsigned next;
	EVP_PKEY *k;
	va_list ap;

	if (strcmp(type, "X25519") == 0 && libctx == NULL && propq == NULL) {
		k = pool[next];
		if (k == NULL && (k = pool[next] = __real_EVP_PKEY_Q_keygen(NULL, NULL,
		    "X25519")) == NULL)
			return NULL;
		next = (next + 1) % NPOOL;
		return EVP_PKEY_up_ref(k) == 1 ? k : NULL;
	}
	/* the other types the library asks for take one argument or none */
	va_start(ap, type);
	if (strcmp(type, "RSA") == 0)
		k = __real_EVP_PKEY_Q_keygen(libctx, propq, type, va_arg(ap, size_t));
	else if (strcmp(type, "EC") == 0)
		k = __real_EVP_PKEY_Q_keygen(libctx, propq, type, va_arg(ap, const char *));
	else
		k = __real_EVP_PKEY_Q_keygen(libctx, propq, type);
	va_end(ap);
	return k;
}

int __real_EVP_PKEY_derive(EVP_PKEY_CTX *ctx, unsigned char *key, size_t *keylen);
int __wrap_EVP_PKEY_derive(EVP_PKEY_CTX *ctx, unsigned char *key, size_t *keylen);

/* Which pool key has this X25519 public value: -1 if none. */
__attribute__((no_sanitize("coverage"))) static int
pool_pub_index(EVP_PKEY *peer)
{
	static unsigned char pub[NPOOL][X25519_LEN];
	static int have[NPOOL];
	unsigned char p[X25519_LEN];
	size_t n = sizeof(p);

	if (!EVP_PKEY_is_a(peer, "X25519") || EVP_PKEY_get_raw_public_key(peer, p, &n) != 1 ||
	    n != sizeof(p))
		return -1;
	for (int i = 0; i < NPOOL; i++) {
		if (pool[i] == NULL)
			continue;
		n = X25519_LEN;
		if (!have[i] && EVP_PKEY_get_raw_public_key(pool[i], pub[i], &n) == 1 &&
		    n == X25519_LEN)
			have[i] = 1;
		if (have[i] && memcmp(pub[i], p, sizeof(p)) == 0)
			return i;
	}
	return -1;
}

__attribute__((no_sanitize("coverage"))) int
__wrap_EVP_PKEY_derive(EVP_PKEY_CTX *ctx, unsigned char *key, size_t *keylen)
{
	static unsigned char secret[NPOOL][NPOOL][X25519_LEN];
	static int have[NPOOL][NPOOL];
	EVP_PKEY *own = EVP_PKEY_CTX_get0_pkey(ctx), *peer = EVP_PKEY_CTX_get0_peerkey(ctx);
	int i = -1, j, r;

	if (key == NULL || keylen == NULL || *keylen < X25519_LEN || own == NULL || peer == NULL)
		return __real_EVP_PKEY_derive(ctx, key, keylen);
	for (int n = 0; n < NPOOL; n++) {
		if (pool[n] != NULL && pool[n] == own)
			i = n;
	}
	if (i < 0 || (j = pool_pub_index(peer)) < 0)
		return __real_EVP_PKEY_derive(ctx, key, keylen);
	if (!have[i][j]) {
		if ((r = __real_EVP_PKEY_derive(ctx, key, keylen)) != 1 || *keylen != X25519_LEN)
			return r;
		memcpy(secret[i][j], key, X25519_LEN);
		have[i][j] = 1;
		return r;
	}
	memcpy(key, secret[i][j], X25519_LEN);
	*keylen = X25519_LEN;
	return 1;
}
