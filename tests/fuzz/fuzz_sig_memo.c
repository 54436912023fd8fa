/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * For the targets that run whole key exchanges and a publickey
 * authentication per input (fuzz_engine_post_kex, fuzz_auth_kbdint; meson
 * links them with --wrap=dssh_random,--wrap=EVP_DigestSign,
 * --wrap=EVP_DigestVerify):
 *
 * dssh_random gives a fixed stream (the same bytes on every call), as
 * OpenSSL's own fuzzers do with their RAND: the KEXINIT cookies are then the
 * same on every exchange, so with the pool's X25519 keys
 * (fuzz_x25519_pool.c) an exchange hash, and the publickey request over its
 * session identifier, repeats from input to input. (Packet padding comes
 * from dssh_random_pad's pool, which is filled inside util.c and stays
 * random.) That makes the memo below find them:
 *
 * Ed25519 signatures, which are a function of key and message alone
 * (RFC 8032), are made by OpenSSL once per (public key, message) and then
 * answered from memory; a verification that OpenSSL passed is remembered by
 * its whole input (public key, signature, message) the same way, and
 * anything new, failed or of another key type goes to OpenSSL in full.
 * Signing and verifying Ed25519 was a third of every run (the server's
 * signature on every exchange, the user's signature and the server's
 * check of it); everything around them (dssh_sshkey_sign/verify's framing
 * and parsing of the signature blob, the digest contexts) still runs.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#define NMEMO 64
#define MEMO_MSG 512
#define ED25519_LEN 32
#define ED25519_SIG 64

struct sig_memo {
	bool made;        /* OpenSSL signed msg with pub's key and gave sig */
	bool verified;    /* OpenSSL said yes to exactly this */
	size_t mlen;
	uint8_t pub[ED25519_LEN], sig[ED25519_SIG], msg[MEMO_MSG];
};

static struct sig_memo memo[NMEMO];
static unsigned memo_next;

void __wrap_dssh_random(void *p, size_t n);
int __real_EVP_DigestSign(EVP_MD_CTX *ctx, unsigned char *sigret, size_t *siglen,
    const unsigned char *tbs, size_t tbslen);
int __wrap_EVP_DigestSign(EVP_MD_CTX *ctx, unsigned char *sigret, size_t *siglen,
    const unsigned char *tbs, size_t tbslen);
int __real_EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sigret, size_t siglen,
    const unsigned char *tbs, size_t tbslen);
int __wrap_EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sigret, size_t siglen,
    const unsigned char *tbs, size_t tbslen);

__attribute__((no_sanitize("coverage"))) void
__wrap_dssh_random(void *p, size_t n)
{
	uint8_t *q = p;
	uint32_t x = 0x2545f491;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		q[i] = (uint8_t)x;
	}
}

/* The Ed25519 public key the context signs or verifies with; false if none. */
__attribute__((no_sanitize("coverage"))) static bool
ctx_ed25519_pub(EVP_MD_CTX *ctx, uint8_t pub[ED25519_LEN])
{
	EVP_PKEY_CTX *pc = EVP_MD_CTX_get_pkey_ctx(ctx);
	EVP_PKEY *k = pc != NULL ? EVP_PKEY_CTX_get0_pkey(pc) : NULL;
	size_t n = ED25519_LEN;

	return k != NULL && EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 &&
	    EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == ED25519_LEN;
}

__attribute__((no_sanitize("coverage"))) static struct sig_memo *
memo_find(const uint8_t *pub, const uint8_t *sig, const uint8_t *msg, size_t mlen)
{
	/* sig NULL: the signature OpenSSL made, whatever it is */
	for (unsigned i = 0; i < NMEMO; i++) {
		struct sig_memo *m = &memo[i];

		if ((m->made || m->verified) && m->mlen == mlen && memcmp(m->pub, pub, ED25519_LEN) == 0 &&
		    (sig == NULL ? m->made : memcmp(m->sig, sig, ED25519_SIG) == 0) &&
		    memcmp(m->msg, msg, mlen) == 0)
			return m;
	}
	return NULL;
}

__attribute__((no_sanitize("coverage"))) static void
memo_add(const uint8_t *pub, const uint8_t *sig, const uint8_t *msg, size_t mlen,
    bool made)
{
	struct sig_memo *m = &memo[memo_next];

	memo_next = (memo_next + 1) % NMEMO;
	m->made = made;
	m->verified = !made;
	m->mlen = mlen;
	memcpy(m->pub, pub, ED25519_LEN);
	memcpy(m->sig, sig, ED25519_SIG);
	memcpy(m->msg, msg, mlen);
}

__attribute__((no_sanitize("coverage"))) int
__wrap_EVP_DigestSign(EVP_MD_CTX *ctx, unsigned char *sigret, size_t *siglen,
    const unsigned char *tbs, size_t tbslen)
{
	uint8_t pub[ED25519_LEN];
	struct sig_memo *m;
	int r;

	if (sigret == NULL || siglen == NULL || *siglen < ED25519_SIG || tbs == NULL ||
	    tbslen > MEMO_MSG || !ctx_ed25519_pub(ctx, pub))
		return __real_EVP_DigestSign(ctx, sigret, siglen, tbs, tbslen);
	if ((m = memo_find(pub, NULL, tbs, tbslen)) != NULL) {
		memcpy(sigret, m->sig, ED25519_SIG);
		*siglen = ED25519_SIG;
		return 1;
	}
	r = __real_EVP_DigestSign(ctx, sigret, siglen, tbs, tbslen);
	if (r == 1 && *siglen == ED25519_SIG)
		memo_add(pub, sigret, tbs, tbslen, true);
	return r;
}

__attribute__((no_sanitize("coverage"))) int
__wrap_EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sigret, size_t siglen,
    const unsigned char *tbs, size_t tbslen)
{
	uint8_t pub[ED25519_LEN];
	struct sig_memo *m;
	int r;

	if (sigret == NULL || siglen != ED25519_SIG || tbs == NULL || tbslen > MEMO_MSG ||
	    !ctx_ed25519_pub(ctx, pub))
		return __real_EVP_DigestVerify(ctx, sigret, siglen, tbs, tbslen);
	m = memo_find(pub, sigret, tbs, tbslen);
	if (m != NULL && m->verified)
		return 1;
	r = __real_EVP_DigestVerify(ctx, sigret, siglen, tbs, tbslen);
	if (r == 1) {
		if (m != NULL)
			m->verified = true;
		else
			memo_add(pub, sigret, tbs, tbslen, false);
	}
	return r;
}
