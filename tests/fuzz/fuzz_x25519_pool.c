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
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define NPOOL 4

EVP_PKEY *__real_EVP_PKEY_Q_keygen(OSSL_LIB_CTX *libctx, const char *propq,
    const char *type, ...);
EVP_PKEY *__wrap_EVP_PKEY_Q_keygen(OSSL_LIB_CTX *libctx, const char *propq,
    const char *type, ...);

__attribute__((no_sanitize("coverage"))) EVP_PKEY *
__wrap_EVP_PKEY_Q_keygen(OSSL_LIB_CTX *libctx, const char *propq, const char *type, ...)
{
	static EVP_PKEY *pool[NPOOL];
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
