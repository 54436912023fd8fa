/* SPDX-License-Identifier: BSD-3-Clause */
/* Cipher/MAC tables. Linked against crypto_dep alone: that must work. */
#include <string.h>

#include "dssh_crypto.h"
#include "dssh_test.h"

static void
test_cipher_list(void)
{
	char list[512], *save = NULL, *tok;
	const char *want[] = {
		"chacha20-poly1305@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr",
		"aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
	};
	const struct dssh_cipher_info *c;
	size_t n = 0;

	snprintf(list, sizeof(list), "%s", dssh_cipher_names());
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		CHECK(n < sizeof(want) / sizeof(want[0]));
		if (n < sizeof(want) / sizeof(want[0]))
			CHECK_STR(tok, want[n]);
		c = dssh_cipher_by_name(tok);
		CHECK(c != NULL);
		if (c != NULL) {
			CHECK_STR(c->name, tok);
			CHECK(dssh_cipher_by_id(c->id) == c);
			CHECK(c->key_len <= DSSH_CRYPTO_MAX_KEY);
			CHECK(c->iv_len <= DSSH_CRYPTO_MAX_IV);
			CHECK(c->tag_len <= DSSH_CRYPTO_MAX_TAG);
		}
		n++;
	}
	CHECK_EQ_INT(n, 6);
}

static void
test_mac_list(void)
{
	char list[512], *save = NULL, *tok;
	const char *want[] = {
		"umac-64-etm@openssh.com", "umac-128-etm@openssh.com",
		"hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
		"hmac-sha2-256", "hmac-sha2-512",
	};
	const struct dssh_mac_info *m;
	size_t n = 0;

	snprintf(list, sizeof(list), "%s", dssh_mac_names());
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		CHECK(n < sizeof(want) / sizeof(want[0]));
		if (n < sizeof(want) / sizeof(want[0]))
			CHECK_STR(tok, want[n]);
		m = dssh_mac_by_name(tok);
		CHECK(m != NULL);
		if (m != NULL) {
			CHECK_STR(m->name, tok);
			CHECK(dssh_mac_by_id(m->id) == m);
			CHECK(m->key_len <= DSSH_CRYPTO_MAX_KEY);
			CHECK(m->mac_len <= DSSH_CRYPTO_MAX_TAG);
			CHECK_EQ_INT(m->etm, strstr(tok, "-etm@openssh.com") != NULL);
		}
		n++;
	}
	CHECK_EQ_INT(n, 6);
}

static void
test_sizes(void)
{
	const struct dssh_cipher_info *c;
	const struct dssh_mac_info *m;

	c = dssh_cipher_by_name("aes128-gcm@openssh.com");
	CHECK(c != NULL && c->id == DSSH_CIPHER_AES128_GCM && c->key_len == 16 &&
	    c->iv_len == 12 && c->block_len == 16 && c->tag_len == 16 && c->aead);
	c = dssh_cipher_by_name("aes256-gcm@openssh.com");
	CHECK(c != NULL && c->id == DSSH_CIPHER_AES256_GCM && c->key_len == 32 &&
	    c->iv_len == 12 && c->block_len == 16 && c->tag_len == 16 && c->aead);
	c = dssh_cipher_by_name("chacha20-poly1305@openssh.com");
	CHECK(c != NULL && c->id == DSSH_CIPHER_CHACHA20_POLY1305 && c->key_len == 64 &&
	    c->iv_len == 0 && c->block_len == 8 && c->tag_len == 16 && c->aead);
	c = dssh_cipher_by_name("aes128-ctr");
	CHECK(c != NULL && c->id == DSSH_CIPHER_AES128_CTR && c->key_len == 16 &&
	    c->iv_len == 16 && c->block_len == 16 && c->tag_len == 0 && !c->aead);
	c = dssh_cipher_by_name("aes192-ctr");
	CHECK(c != NULL && c->id == DSSH_CIPHER_AES192_CTR && c->key_len == 24 && c->iv_len == 16);
	c = dssh_cipher_by_name("aes256-ctr");
	CHECK(c != NULL && c->id == DSSH_CIPHER_AES256_CTR && c->key_len == 32 && c->iv_len == 16);

	m = dssh_mac_by_name("hmac-sha2-256");
	CHECK(m != NULL && m->key_len == 32 && m->mac_len == 32 && !m->etm);
	m = dssh_mac_by_name("hmac-sha2-512");
	CHECK(m != NULL && m->key_len == 64 && m->mac_len == 64 && !m->etm);
	m = dssh_mac_by_name("hmac-sha2-256-etm@openssh.com");
	CHECK(m != NULL && m->key_len == 32 && m->mac_len == 32 && m->etm);
	m = dssh_mac_by_name("hmac-sha2-512-etm@openssh.com");
	CHECK(m != NULL && m->key_len == 64 && m->mac_len == 64 && m->etm);
	m = dssh_mac_by_name("umac-64-etm@openssh.com");
	CHECK(m != NULL && m->key_len == 16 && m->mac_len == 8 && m->etm);
	m = dssh_mac_by_name("umac-128-etm@openssh.com");
	CHECK(m != NULL && m->key_len == 16 && m->mac_len == 16 && m->etm);
}

static void
test_unknown(void)
{
	CHECK(dssh_cipher_by_name(NULL) == NULL);
	CHECK(dssh_cipher_by_name("") == NULL);
	CHECK(dssh_cipher_by_name("aes128-cbc") == NULL);
	CHECK(dssh_cipher_by_name("AES128-CTR") == NULL);
	CHECK(dssh_cipher_by_name("aes128-ctr ") == NULL);
	CHECK(dssh_cipher_by_name("aes128-gcm") == NULL);
	/* "none" is never negotiable by name, only reachable by id. */
	CHECK(dssh_cipher_by_name("none") == NULL);
	CHECK(dssh_mac_by_name("none") == NULL);
	CHECK(dssh_mac_by_name(NULL) == NULL);
	CHECK(dssh_mac_by_name("hmac-sha1") == NULL);
	CHECK(dssh_mac_by_name("hmac-sha2-256-etm") == NULL);
	CHECK(dssh_cipher_by_id((enum dssh_cipher_id)99) == NULL);
	CHECK(dssh_mac_by_id((enum dssh_mac_id)99) == NULL);
	CHECK(dssh_cipher_by_id(DSSH_CIPHER_NONE) != NULL);
	CHECK_EQ_INT(dssh_cipher_by_id(DSSH_CIPHER_NONE)->tag_len, 0);
	CHECK_EQ_INT(dssh_cipher_by_id(DSSH_CIPHER_NONE)->block_len, 8);
	CHECK(dssh_mac_by_id(DSSH_MAC_NONE) != NULL);
	CHECK_EQ_INT(dssh_mac_by_id(DSSH_MAC_NONE)->mac_len, 0);
}

int
main(void)
{
	DSSH_RUN(test_cipher_list);
	DSSH_RUN(test_mac_list);
	DSSH_RUN(test_sizes);
	DSSH_RUN(test_unknown);
	DSSH_TEST_END();
}
