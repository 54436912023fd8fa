/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The private section of a passphrase-protected openssh-key-v1 file
 * (OpenSSH PROTOCOL.key): key || IV = bcrypt_pbkdf(passphrase, salt,
 * rounds, keylen + ivlen) with kdfoptions = string salt, uint32 rounds;
 * the section is encrypted whole as one message with sequence number 0,
 * and the AEAD ciphers' tag follows the section's string.
 */
#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "dssh_err.h"
#include "dssh_util.h"
#include "sshkey_int.h"

#define CHACHA_KEY 32
#define POLY_TAG 16

enum mode { M_CTR, M_CBC, M_GCM, M_CHACHAPOLY };

static const struct sshkey_cipher ciphers[] = {
	{ "aes128-ctr", M_CTR, 16, 16, 16, 0 },
	{ "aes192-ctr", M_CTR, 24, 16, 16, 0 },
	{ "aes256-ctr", M_CTR, 32, 16, 16, 0 },
	{ "aes128-cbc", M_CBC, 16, 16, 16, 0 },
	{ "aes192-cbc", M_CBC, 24, 16, 16, 0 },
	{ "aes256-cbc", M_CBC, 32, 16, 16, 0 },
	{ "aes128-gcm@openssh.com", M_GCM, 16, 12, 16, 16 },
	{ "aes256-gcm@openssh.com", M_GCM, 32, 12, 16, 16 },
	/* K_2 || K_1; only K_2 is used: there is no length field here. */
	{ "chacha20-poly1305@openssh.com", M_CHACHAPOLY, 64, 0, 8, POLY_TAG },
};

const struct sshkey_cipher *
sshkey_cipher_by_name(const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(ciphers); i++)
		if (strlen(ciphers[i].name) == len && memcmp(ciphers[i].name, name, len) == 0)
			return &ciphers[i];
	return NULL;
}

static const EVP_CIPHER *
evp_of(const struct sshkey_cipher *c)
{
	switch (c->mode) {
	case M_CTR:
		return c->keylen == 16 ? EVP_aes_128_ctr() : c->keylen == 24 ?
		    EVP_aes_192_ctr() : EVP_aes_256_ctr();
	case M_CBC:
		return c->keylen == 16 ? EVP_aes_128_cbc() : c->keylen == 24 ?
		    EVP_aes_192_cbc() : EVP_aes_256_cbc();
	case M_GCM:
		return c->keylen == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
	default:
		return NULL;
	}
}

/* AES modes: one EVP pass; GCM checks the tag (no AAD). */
static int
decrypt_aes(const struct sshkey_cipher *c, const uint8_t *key, const uint8_t *iv,
    const uint8_t *in, size_t len, const uint8_t *tag, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	int n, fin, r = DSSH_ERR_LIBCRYPTO;

	if (len > INT_MAX)
		return DSSH_ERR_INVALID_FORMAT;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return DSSH_ERR_ALLOC;
	if (EVP_DecryptInit_ex(ctx, evp_of(c), NULL, NULL, NULL) != 1 ||
	    (c->mode == M_GCM && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
	    (int)c->ivlen, NULL) != 1) ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, key, iv) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
		goto out;
	if (c->mode == M_GCM && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
	    (int)c->authlen, (void *)(uintptr_t)tag) != 1)
		goto out;
	if (EVP_DecryptUpdate(ctx, out, &n, in, (int)len) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(ctx, out + n, &fin) != 1) {
		/* Only GCM's tag check can fail here: a wrong key. */
		r = c->mode == M_GCM ? DSSH_ERR_KEY_PASSPHRASE : DSSH_ERR_LIBCRYPTO;
		goto out;
	}
	r = (size_t)n + (size_t)fin == len ? 0 : DSSH_ERR_LIBCRYPTO;
out:
	ERR_clear_error();
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

/*
 * chacha20-poly1305@openssh.com with sequence number 0 and no AAD: block 0
 * of ChaCha20(K_2, nonce 0) keys Poly1305 over the ciphertext, blocks 1..
 * decrypt it. OpenSSL's 16-byte IV: 32-bit LE block counter, then the
 * 96-bit nonce whose first word is the 64-bit counter's high half (0).
 */
static int
decrypt_chachapoly(const uint8_t *key, const uint8_t *in, size_t len, const uint8_t *tag,
    uint8_t *out)
{
	static const uint8_t zero[32];
	uint8_t iv[16] = { 0 }, polykey[32], mac[POLY_TAG];
	EVP_CIPHER_CTX *ctx = NULL;
	EVP_MAC *m = NULL;
	EVP_MAC_CTX *mc = NULL;
	size_t maclen = 0;
	int n, r = DSSH_ERR_LIBCRYPTO;

	if (len > INT_MAX)
		return DSSH_ERR_INVALID_FORMAT;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_chacha20(), NULL, key, iv) != 1 ||
	    EVP_EncryptUpdate(ctx, polykey, &n, zero, sizeof(zero)) != 1)
		goto out;
	if ((m = EVP_MAC_fetch(NULL, "POLY1305", NULL)) == NULL ||
	    (mc = EVP_MAC_CTX_new(m)) == NULL ||
	    EVP_MAC_init(mc, polykey, sizeof(polykey), NULL) != 1 ||
	    EVP_MAC_update(mc, in, len) != 1 ||
	    EVP_MAC_final(mc, mac, &maclen, sizeof(mac)) != 1 || maclen != sizeof(mac))
		goto out;
	if (CRYPTO_memcmp(mac, tag, sizeof(mac)) != 0) {
		r = DSSH_ERR_KEY_PASSPHRASE;
		goto out;
	}
	iv[0] = 1;
	if (EVP_EncryptInit_ex(ctx, EVP_chacha20(), NULL, key, iv) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1 || (size_t)n != len)
		goto out;
	r = 0;
out:
	ERR_clear_error();
	dssh_wipe(polykey, sizeof(polykey));
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(m);
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

int
sshkey_decrypt_private(const struct sshkey_cipher *c, const uint8_t *kdfopts, size_t kolen,
    const char *pass, unsigned max_rounds, const uint8_t *in, size_t len, const uint8_t *tag,
    uint8_t *out)
{
	struct dssh_buf b;
	const uint8_t *salt;
	size_t saltlen;
	uint32_t rounds;
	uint8_t keyiv[64 + 16];
	int r;

	if (pass == NULL)
		return DSSH_ERR_KEY_ENCRYPTED;
	dssh_buf_from(&b, kdfopts, kolen);
	if ((r = dssh_buf_get_string_direct(&b, &salt, &saltlen)) != 0 ||
	    (r = dssh_buf_get_u32(&b, &rounds)) != 0)
		return r;
	if (dssh_buf_len(&b) != 0 || saltlen == 0 || saltlen > DSSH_BCRYPT_MAX_SALT ||
	    rounds == 0 || rounds > max_rounds || c->keylen + c->ivlen > sizeof(keyiv))
		return DSSH_ERR_INVALID_FORMAT;
	if ((r = dssh_bcrypt_pbkdf(pass, strlen(pass), salt, saltlen, rounds, keyiv,
	    c->keylen + c->ivlen)) != 0)
		return r;
	if (c->mode == M_CHACHAPOLY)
		r = decrypt_chachapoly(keyiv, in, len, tag, out);
	else
		r = decrypt_aes(c, keyiv, keyiv + c->keylen, in, len, tag, out);
	dssh_wipe(keyiv, sizeof(keyiv));
	return r;
}
