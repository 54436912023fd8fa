/* SPDX-License-Identifier: BSD-3-Clause */
/* KEXINIT build, parse and algorithm negotiation (RFC 4253 7.1). */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_util.h"
#include "ssh_internal.h"

#define NAMELIST_MAX 4096

void
dssh_kexinit_free(struct dssh_kexinit *k)
{
	for (int i = 0; i < KEX_SLOTS; i++) {
		free(k->lists[i]);
		k->lists[i] = NULL;
	}
}

static bool
namelist_valid(const char *s, size_t n)
{
	/* Names are printable US-ASCII without commas inside; no empty names. */
	if (n == 0)
		return true;
	if (s[0] == ',' || s[n - 1] == ',')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch >= 0x7f)
			return false;
		if (ch == ',' && s[i + 1] == ',')
			return false;
	}
	return true;
}

int
dssh_kexinit_parse(const uint8_t *payload, size_t len, struct dssh_kexinit *out)
{
	struct dssh_buf b;
	uint32_t reserved;
	int r;

	memset(out, 0, sizeof(*out));
	dssh_buf_from(&b, payload, len);
	if ((r = dssh_buf_consume(&b, 16)) != 0)      /* cookie */
		goto out;
	for (int i = 0; i < KEX_SLOTS; i++) {
		const uint8_t *p;
		size_t n;

		if ((r = dssh_buf_get_string_direct(&b, &p, &n)) != 0)
			goto out;
		if (n > NAMELIST_MAX || !namelist_valid((const char *)p, n)) {
			r = DSSH_ERR_INVALID_FORMAT;
			goto out;
		}
		if ((out->lists[i] = dssh_strndup((const char *)p, n)) == NULL) {
			r = DSSH_ERR_ALLOC;
			goto out;
		}
	}
	if ((r = dssh_buf_get_bool(&b, &out->first_kex_follows)) != 0 ||
	    (r = dssh_buf_get_u32(&b, &reserved)) != 0)
		goto out;
	/* Trailing bytes are tolerated, as other implementations do. */
out:
	if (r != 0)
		dssh_kexinit_free(out);
	return r;
}

int
dssh_kexinit_build(struct dssh_buf *payload, const char *const lists[KEX_SLOTS])
{
	uint8_t cookie[16];
	int r;

	dssh_random(cookie, sizeof(cookie));
	if ((r = dssh_buf_put_u8(payload, SSH_MSG_KEXINIT)) != 0 ||
	    (r = dssh_buf_put(payload, cookie, sizeof(cookie))) != 0)
		return r;
	for (int i = 0; i < KEX_SLOTS; i++)
		if ((r = dssh_buf_put_cstring(payload, lists[i] ? lists[i] : "")) != 0)
			return r;
	if ((r = dssh_buf_put_bool(payload, false)) != 0 ||
	    (r = dssh_buf_put_u32(payload, 0)) != 0)
		return r;
	return 0;
}

/* Calls fn for each name in list until it returns true. */
static bool
namelist_any(const char *list, bool (*fn)(const char *name, size_t n, const void *arg),
    const void *arg)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n > 0 && fn(p, n, arg))
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

struct name_ref {
	const char *name;
	size_t len;
};

static bool
name_equals(const char *name, size_t n, const void *arg)
{
	const struct name_ref *ref = arg;

	return n == ref->len && memcmp(name, ref->name, n) == 0;
}

bool
dssh_namelist_has(const char *list, const char *name)
{
	struct name_ref ref = { name, strlen(name) };

	return namelist_any(list, name_equals, &ref);
}

struct first_common {
	const char *server;
	const char **found;
	size_t *found_len;
};

static bool
in_server_list(const char *name, size_t n, const void *arg)
{
	const struct first_common *fc = arg;
	struct name_ref ref = { name, n };

	if (!namelist_any(fc->server, name_equals, &ref))
		return false;
	*fc->found = name;
	*fc->found_len = n;
	return true;
}

char *
dssh_kex_negotiate(const char *client, const char *server)
{
	const char *found = NULL;
	size_t n = 0;
	struct first_common fc = { server, &found, &n };

	if (!namelist_any(client, in_server_list, &fc))
		return NULL;
	return dssh_strndup(found, n);
}

char *
dssh_namelist_first(const char *list)
{
	const char *e = strchr(list, ',');

	return dssh_strndup(list, e ? (size_t)(e - list) : strlen(list));
}

void
dssh_kex_result_free(struct dssh_kex_result *r)
{
	free(r->kex);
	free(r->hostkey);
	free(r->enc_cs);
	free(r->enc_sc);
	free(r->mac_cs);
	free(r->mac_sc);
	memset(r, 0, sizeof(*r));
}

static bool
cipher_is_aead(const char *name)
{
	const struct dssh_cipher_info *ci = dssh_cipher_by_name(name);

	return ci != NULL && ci->aead;
}

static int
choose_mac(const char *enc, const char *client, const char *server, char **out)
{
	/* AEAD ciphers ignore the MAC slot (RFC 5647 as modified by OpenSSH). */
	if (cipher_is_aead(enc)) {
		*out = dssh_strndup("", 0);
		return *out ? 0 : DSSH_ERR_ALLOC;
	}
	*out = dssh_kex_negotiate(client, server);
	return *out ? 0 : DSSH_ERR_NO_MATCH;
}

int
dssh_kex_choose(const struct dssh_kexinit *cl, const struct dssh_kexinit *sv,
    struct dssh_kex_result *out, const char **failed_slot)
{
	char *comp_cs = NULL, *comp_sc = NULL;
	int r = DSSH_ERR_NO_MATCH;

	memset(out, 0, sizeof(*out));
	*failed_slot = NULL;
	if ((out->kex = dssh_kex_negotiate(cl->lists[KEX_SLOT_KEX], sv->lists[KEX_SLOT_KEX])) == NULL) {
		*failed_slot = "kex";
		goto out;
	}
	if ((out->hostkey = dssh_kex_negotiate(cl->lists[KEX_SLOT_HOSTKEY],
	    sv->lists[KEX_SLOT_HOSTKEY])) == NULL) {
		*failed_slot = "host key";
		goto out;
	}
	if ((out->enc_cs = dssh_kex_negotiate(cl->lists[KEX_SLOT_ENC_CS],
	    sv->lists[KEX_SLOT_ENC_CS])) == NULL) {
		*failed_slot = "cipher client->server";
		goto out;
	}
	if ((out->enc_sc = dssh_kex_negotiate(cl->lists[KEX_SLOT_ENC_SC],
	    sv->lists[KEX_SLOT_ENC_SC])) == NULL) {
		*failed_slot = "cipher server->client";
		goto out;
	}
	if (choose_mac(out->enc_cs, cl->lists[KEX_SLOT_MAC_CS], sv->lists[KEX_SLOT_MAC_CS],
	    &out->mac_cs) != 0) {
		*failed_slot = "MAC client->server";
		goto out;
	}
	if (choose_mac(out->enc_sc, cl->lists[KEX_SLOT_MAC_SC], sv->lists[KEX_SLOT_MAC_SC],
	    &out->mac_sc) != 0) {
		*failed_slot = "MAC server->client";
		goto out;
	}
	comp_cs = dssh_kex_negotiate(cl->lists[KEX_SLOT_COMP_CS], sv->lists[KEX_SLOT_COMP_CS]);
	comp_sc = dssh_kex_negotiate(cl->lists[KEX_SLOT_COMP_SC], sv->lists[KEX_SLOT_COMP_SC]);
	if (comp_cs == NULL || comp_sc == NULL) {
		*failed_slot = "compression";
		goto out;
	}
	out->comp_cs = dssh_comp_alg_by_name(comp_cs);
	out->comp_sc = dssh_comp_alg_by_name(comp_sc);
	r = 0;
out:
	free(comp_cs);
	free(comp_sc);
	if (r != 0)
		dssh_kex_result_free(out);
	return r;
}
