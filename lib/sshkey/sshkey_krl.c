/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * OpenSSH key revocation lists, written from PROTOCOL.krl. The KRL is
 * scanned in place for each question (no index is built): RevokedKeys files
 * are small, and a scan validates the whole file every time.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dssh_err.h"
#include "dssh_util.h"
#include "sshkey_int.h"

#define KRL_MAGIC "SSHKRL\n\0"
#define KRL_MAGIC_LEN 8
#define KRL_FORMAT_VERSION 1

enum {
	KRL_CERTIFICATES = 1,
	KRL_EXPLICIT_KEY = 2,
	KRL_FP_SHA1 = 3,
	KRL_SIGNATURE = 4,
	KRL_FP_SHA256 = 5,
	KRL_EXTENSION = 255,
	KRL_CERT_SERIAL_LIST = 0x20,
	KRL_CERT_SERIAL_RANGE = 0x21,
	KRL_CERT_SERIAL_BITMAP = 0x22,
	KRL_CERT_KEY_ID = 0x23,
	KRL_CERT_EXTENSION = 0x39,
};

#define BAD DSSH_ERR_INVALID_FORMAT

bool
dssh_sshkey_is_krl(const uint8_t *data, size_t len)
{
	return data != NULL && len >= KRL_MAGIC_LEN &&
	    memcmp(data, KRL_MAGIC, KRL_MAGIC_LEN) == 0;
}

/* An extension (section or cert subsection): only non-critical ones pass. */
static int
krl_extension(const uint8_t *p, size_t len)
{
	struct dssh_buf b;
	bool critical;

	dssh_buf_from(&b, p, len);
	if (dssh_buf_skip_string(&b) != 0 || dssh_buf_get_bool(&b, &critical) != 0 ||
	    dssh_buf_skip_string(&b) != 0 || dssh_buf_len(&b) != 0 || critical)
		return BAD;
	return 0;
}

/* Bit n of a big-endian mpint magnitude. */
static bool
bitmap_has(const uint8_t *mag, size_t len, uint64_t n)
{
	if (n / 8 >= len)
		return false;
	return (mag[len - 1 - n / 8] >> (n % 8)) & 1;
}

static int
cert_subsection(uint8_t type, const uint8_t *p, size_t len,
    const struct dssh_sshkey_cert *c, bool applies)
{
	struct dssh_buf b;
	uint64_t lo, hi, off;
	const uint8_t *v;
	size_t vl;
	int hit = 0;

	dssh_buf_from(&b, p, len);
	switch (type) {
	case KRL_CERT_SERIAL_LIST:
		if (len == 0 || len % 8 != 0)
			return BAD;
		while (dssh_buf_len(&b) > 0) {
			if (dssh_buf_get_u64(&b, &lo) != 0)
				return BAD;
			hit |= applies && lo == c->serial;
		}
		return hit;
	case KRL_CERT_SERIAL_RANGE:
		if (dssh_buf_get_u64(&b, &lo) != 0 || dssh_buf_get_u64(&b, &hi) != 0 ||
		    dssh_buf_len(&b) != 0 || lo > hi)
			return BAD;
		return applies && c->serial >= lo && c->serial <= hi;
	case KRL_CERT_SERIAL_BITMAP:
		if (dssh_buf_get_u64(&b, &off) != 0 ||
		    dssh_buf_get_mpint_direct(&b, &v, &vl) != 0 || dssh_buf_len(&b) != 0)
			return BAD;
		return applies && c->serial >= off && bitmap_has(v, vl, c->serial - off);
	case KRL_CERT_KEY_ID:
		if (len == 0)
			return BAD;
		while (dssh_buf_len(&b) > 0) {
			if (dssh_buf_get_string_direct(&b, &v, &vl) != 0)
				return BAD;
			hit |= applies && strlen(c->key_id) == vl &&
			    memcmp(c->key_id, v, vl) == 0;
		}
		return hit;
	case KRL_CERT_EXTENSION:
		return krl_extension(p, len);
	default:
		return BAD;
	}
}

static int
certs_section(const uint8_t *p, size_t len, const struct dssh_sshkey_cert *c)
{
	struct dssh_buf b;
	const uint8_t *ca, *sub;
	size_t calen, sublen;
	bool applies;
	int r, hit = 0;

	dssh_buf_from(&b, p, len);
	if (dssh_buf_get_string_direct(&b, &ca, &calen) != 0 ||
	    dssh_buf_skip_string(&b) != 0)
		return BAD;
	/* An empty CA key: the section is about every CA. */
	applies = c != NULL && (calen == 0 || (calen == c->ca_bloblen &&
	    memcmp(ca, c->ca_blob, calen) == 0));
	while (dssh_buf_len(&b) > 0) {
		uint8_t type;

		if (dssh_buf_get_u8(&b, &type) != 0 ||
		    dssh_buf_get_string_direct(&b, &sub, &sublen) != 0)
			return BAD;
		if ((r = cert_subsection(type, sub, sublen, c, applies)) < 0)
			return r;
		hit |= r;
	}
	return hit;
}

/* Explicit keys or hashes: a non-empty list of strings. */
static int
keys_section(uint8_t type, const uint8_t *p, size_t len, const uint8_t *const *blobs,
    const size_t *lens, size_t n)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	struct dssh_buf b;
	const uint8_t *v;
	size_t vl;
	int hit = 0;

	if (len == 0)
		return BAD;
	dssh_buf_from(&b, p, len);
	while (dssh_buf_len(&b) > 0) {
		if (dssh_buf_get_string_direct(&b, &v, &vl) != 0)
			return BAD;
		for (size_t i = 0; i < n; i++) {
			const uint8_t *want = blobs[i];
			size_t wl = lens[i];
			unsigned mdlen = 0;

			if (want == NULL)
				continue;
			if (type != KRL_EXPLICIT_KEY) {
				if (EVP_Digest(want, wl, md, &mdlen, type == KRL_FP_SHA1 ?
				    EVP_sha1() : EVP_sha256(), NULL) != 1)
					return DSSH_ERR_LIBCRYPTO;
				want = md;
				wl = mdlen;
			}
			hit |= vl == wl && CRYPTO_memcmp(v, want, wl) == 0;
		}
	}
	return hit;
}

int
dssh_sshkey_krl_check(const uint8_t *krl, size_t len, const uint8_t *const *blobs,
    const size_t *lens, size_t nblobs, const struct dssh_sshkey_cert *cert)
{
	struct dssh_buf b;
	uint32_t version;
	uint64_t u;
	int r, hit = 0;

	if (!dssh_sshkey_is_krl(krl, len))
		return BAD;
	dssh_buf_from(&b, krl + KRL_MAGIC_LEN, len - KRL_MAGIC_LEN);
	if (dssh_buf_get_u32(&b, &version) != 0 || version != KRL_FORMAT_VERSION ||
	    dssh_buf_get_u64(&b, &u) != 0 || dssh_buf_get_u64(&b, &u) != 0 ||
	    dssh_buf_get_u64(&b, &u) != 0 || dssh_buf_skip_string(&b) != 0 ||
	    dssh_buf_skip_string(&b) != 0)
		return BAD;
	while (dssh_buf_len(&b) > 0) {
		const uint8_t *p;
		size_t plen;
		uint8_t type;

		if (dssh_buf_get_u8(&b, &type) != 0 ||
		    dssh_buf_get_string_direct(&b, &p, &plen) != 0)
			return BAD;
		switch (type) {
		case KRL_CERTIFICATES:
			r = certs_section(p, plen, cert);
			break;
		case KRL_EXPLICIT_KEY:
		case KRL_FP_SHA1:
		case KRL_FP_SHA256:
			r = keys_section(type, p, plen, blobs, lens, nblobs);
			break;
		case KRL_EXTENSION:
			r = krl_extension(p, plen);
			break;
		default:
			/* KRL_SIGNATURE too: refused, as OpenSSH >= 9.4 does. */
			r = BAD;
			break;
		}
		if (r < 0)
			return r;
		hit |= r;
	}
	return hit;
}
