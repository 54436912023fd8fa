/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * For fuzz_enckey (meson links it with --wrap=dssh_bcrypt_pbkdf): the last
 * few bcrypt_pbkdf results are remembered by their whole input (passphrase,
 * salt, rounds, key length) and a repeat is answered from memory. The KDF
 * is a pure function and most mutations leave the salt alone, so without
 * this 85 % of every run was the same Blowfish key schedules computed again
 * (bcrypt_pbkdf.c comes from the library: no coverage for it to steer by,
 * and ASan sees the same accesses each time). Every input the KDF has not
 * seen, and every error, still runs it in full; the decryption and parsing
 * after it always do.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dssh_sshkey.h"

#define NMEMO 16
#define MEMO_PASS 64
#define MEMO_SALT 64
#define MEMO_KEY 128

struct memo {
	size_t passlen, saltlen, keylen;
	unsigned rounds;
	char pass[MEMO_PASS];
	uint8_t salt[MEMO_SALT], key[MEMO_KEY];
};

int __real_dssh_bcrypt_pbkdf(const char *pass, size_t passlen, const uint8_t *salt,
    size_t saltlen, unsigned rounds, uint8_t *key, size_t keylen);
int __wrap_dssh_bcrypt_pbkdf(const char *pass, size_t passlen, const uint8_t *salt,
    size_t saltlen, unsigned rounds, uint8_t *key, size_t keylen);

__attribute__((no_sanitize("coverage"))) static int
memo_same(const struct memo *m, const char *pass, size_t passlen, const uint8_t *salt,
    size_t saltlen, unsigned rounds, size_t keylen)
{
	return m->keylen == keylen && m->rounds == rounds && m->passlen == passlen &&
	    m->saltlen == saltlen && memcmp(m->pass, pass, passlen) == 0 &&
	    memcmp(m->salt, salt, saltlen) == 0;
}

__attribute__((no_sanitize("coverage"))) int
__wrap_dssh_bcrypt_pbkdf(const char *pass, size_t passlen, const uint8_t *salt,
    size_t saltlen, unsigned rounds, uint8_t *key, size_t keylen)
{
	static struct memo memo[NMEMO];
	static unsigned next;
	struct memo *m;
	int r;

	if (pass == NULL || salt == NULL || key == NULL || passlen > MEMO_PASS ||
	    saltlen > MEMO_SALT || keylen == 0 || keylen > MEMO_KEY)
		return __real_dssh_bcrypt_pbkdf(pass, passlen, salt, saltlen, rounds, key, keylen);
	for (unsigned i = 0; i < NMEMO; i++) {
		if (memo_same(&memo[i], pass, passlen, salt, saltlen, rounds, keylen)) {
			memcpy(key, memo[i].key, keylen);
			return 0;
		}
	}
	if ((r = __real_dssh_bcrypt_pbkdf(pass, passlen, salt, saltlen, rounds, key,
	    keylen)) != 0)
		return r;
	m = &memo[next];
	next = (next + 1) % NMEMO;
	m->passlen = passlen;
	m->saltlen = saltlen;
	m->keylen = keylen;
	m->rounds = rounds;
	memcpy(m->pass, pass, passlen);
	memcpy(m->salt, salt, saltlen);
	memcpy(m->key, key, keylen);
	return 0;
}
