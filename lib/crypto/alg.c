/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cipher and MAC tables. Kept apart from the engine code (crypto.c) so that
 * modules needing only names and sizes (kex, config) link without pulling in
 * the engine list of drivers/crypto.
 */
#include <string.h>

#include "dssh_crypto.h"
#include "dssh_util.h"

/* "none" entries are reachable by id only: they are never negotiated. */
static const struct dssh_cipher_info cipher_none = {
	"none", DSSH_CIPHER_NONE, 0, 0, 8, 0, false,
};

/* Preference order, as OpenSSH's default. */
static const struct dssh_cipher_info ciphers[] = {
	{ "chacha20-poly1305@openssh.com", DSSH_CIPHER_CHACHA20_POLY1305, 64, 0, 8, 16, true },
	{ "aes128-ctr", DSSH_CIPHER_AES128_CTR, 16, 16, 16, 0, false },
	{ "aes192-ctr", DSSH_CIPHER_AES192_CTR, 24, 16, 16, 0, false },
	{ "aes256-ctr", DSSH_CIPHER_AES256_CTR, 32, 16, 16, 0, false },
	{ "aes128-gcm@openssh.com", DSSH_CIPHER_AES128_GCM, 16, 12, 16, 16, true },
	{ "aes256-gcm@openssh.com", DSSH_CIPHER_AES256_GCM, 32, 12, 16, 16, true },
};

static const struct dssh_mac_info mac_none = {
	"none", DSSH_MAC_NONE, 0, 0, false,
};

static const struct dssh_mac_info macs[] = {
	{ "umac-64-etm@openssh.com", DSSH_MAC_UMAC_64_ETM, 16, 8, true },
	{ "umac-128-etm@openssh.com", DSSH_MAC_UMAC_128_ETM, 16, 16, true },
	{ "hmac-sha2-256-etm@openssh.com", DSSH_MAC_HMAC_SHA2_256_ETM, 32, 32, true },
	{ "hmac-sha2-512-etm@openssh.com", DSSH_MAC_HMAC_SHA2_512_ETM, 64, 64, true },
	{ "hmac-sha2-256", DSSH_MAC_HMAC_SHA2_256, 32, 32, false },
	{ "hmac-sha2-512", DSSH_MAC_HMAC_SHA2_512, 64, 64, false },
};

static const char cipher_list[] =
	"chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
	"aes128-gcm@openssh.com,aes256-gcm@openssh.com";
static const char mac_list[] =
	"umac-64-etm@openssh.com,umac-128-etm@openssh.com,"
	"hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
	"hmac-sha2-256,hmac-sha2-512";

const struct dssh_cipher_info *
dssh_cipher_by_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < DSSH_ARRAY_SIZE(ciphers); i++)
		if (strcmp(ciphers[i].name, name) == 0)
			return &ciphers[i];
	return NULL;
}

const struct dssh_cipher_info *
dssh_cipher_by_id(enum dssh_cipher_id id)
{
	size_t i;

	if (id == DSSH_CIPHER_NONE)
		return &cipher_none;
	for (i = 0; i < DSSH_ARRAY_SIZE(ciphers); i++)
		if (ciphers[i].id == id)
			return &ciphers[i];
	return NULL;
}

const struct dssh_mac_info *
dssh_mac_by_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < DSSH_ARRAY_SIZE(macs); i++)
		if (strcmp(macs[i].name, name) == 0)
			return &macs[i];
	return NULL;
}

const struct dssh_mac_info *
dssh_mac_by_id(enum dssh_mac_id id)
{
	size_t i;

	if (id == DSSH_MAC_NONE)
		return &mac_none;
	for (i = 0; i < DSSH_ARRAY_SIZE(macs); i++)
		if (macs[i].id == id)
			return &macs[i];
	return NULL;
}

const char *
dssh_cipher_names(void)
{
	return cipher_list;
}

const char *
dssh_mac_names(void)
{
	return mac_list;
}
