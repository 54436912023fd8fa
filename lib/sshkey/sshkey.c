/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SSH public keys: wire blobs (RFC 4253 6.6, RFC 5656 3.1, RFC 8709 4),
 * signatures (RFC 4253 6.6, RFC 5656 3.1.2, RFC 8332, RFC 8709 6) and
 * fingerprints, on OpenSSL 3 EVP_PKEY.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>

#include "dssh_err.h"
#include "dssh_pkey.h"
#include "dssh_util.h"
#include "sshkey_int.h"

struct sshkey_type_info {
	enum dssh_sshkey_type type;
	const char *name;
	const char *curve;      /* SSH curve identifier */
	const char *group;      /* OpenSSL group name */
	size_t field_len;       /* bytes of one coordinate */
	unsigned bits;
};

static const struct sshkey_type_info key_types[] = {
	{ DSSH_SSHKEY_ED25519, "ssh-ed25519", NULL, NULL, 32, 256 },
	{ DSSH_SSHKEY_ECDSA_P256, "ecdsa-sha2-nistp256", "nistp256", "prime256v1", 32, 256 },
	{ DSSH_SSHKEY_ECDSA_P384, "ecdsa-sha2-nistp384", "nistp384", "secp384r1", 48, 384 },
	{ DSSH_SSHKEY_ECDSA_P521, "ecdsa-sha2-nistp521", "nistp521", "secp521r1", 66, 521 },
	{ DSSH_SSHKEY_RSA, "ssh-rsa", NULL, NULL, 0, 0 },
};

struct sshkey_sig_alg {
	const char *name;
	enum dssh_sshkey_type type;
	const char *md;         /* NULL: pure signature (Ed25519) */
};

static const struct sshkey_sig_alg sig_algs[] = {
	{ "ssh-ed25519", DSSH_SSHKEY_ED25519, NULL },
	{ "ecdsa-sha2-nistp256", DSSH_SSHKEY_ECDSA_P256, "SHA256" },
	{ "ecdsa-sha2-nistp384", DSSH_SSHKEY_ECDSA_P384, "SHA384" },
	{ "ecdsa-sha2-nistp521", DSSH_SSHKEY_ECDSA_P521, "SHA512" },
	{ "rsa-sha2-512", DSSH_SSHKEY_RSA, "SHA512" },
	{ "rsa-sha2-256", DSSH_SSHKEY_RSA, "SHA256" },
	{ "ssh-rsa", DSSH_SSHKEY_RSA, "SHA1" },
};

static const struct sshkey_type_info *
type_info(enum dssh_sshkey_type type)
{
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(key_types); i++)
		if (key_types[i].type == type)
			return &key_types[i];
	return NULL;
}

static const struct sshkey_sig_alg *
sig_alg_by_name(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(sig_algs); i++)
		if (strcmp(sig_algs[i].name, name) == 0)
			return &sig_algs[i];
	return NULL;
}

static bool
is_ecdsa(enum dssh_sshkey_type type)
{
	return type == DSSH_SSHKEY_ECDSA_P256 || type == DSSH_SSHKEY_ECDSA_P384 ||
	    type == DSSH_SSHKEY_ECDSA_P521;
}

enum dssh_sshkey_type
dssh_sshkey_type_from_name(const char *name)
{
	if (name == NULL)
		return DSSH_SSHKEY_UNKNOWN;
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(key_types); i++)
		if (strcmp(key_types[i].name, name) == 0)
			return key_types[i].type;
	return DSSH_SSHKEY_UNKNOWN;
}

const char *
dssh_sshkey_type_to_name(enum dssh_sshkey_type type)
{
	const struct sshkey_type_info *ti = type_info(type);

	return ti == NULL ? NULL : ti->name;
}

enum dssh_sshkey_type
dssh_sshkey_type(const struct dssh_sshkey *key)
{
	return key == NULL ? DSSH_SSHKEY_UNKNOWN : key->type;
}

const char *
dssh_sshkey_type_name(const struct dssh_sshkey *key)
{
	return key == NULL ? NULL : dssh_sshkey_type_to_name(key->type);
}

bool
dssh_sshkey_has_private(const struct dssh_sshkey *key)
{
	return key != NULL && key->priv;
}

unsigned
dssh_sshkey_bits(const struct dssh_sshkey *key)
{
	if (key == NULL)
		return 0;
	if (key->type == DSSH_SSHKEY_RSA)
		return (unsigned)EVP_PKEY_get_bits(key->pkey);
	const struct sshkey_type_info *ti = type_info(key->type);

	return ti == NULL ? 0 : ti->bits;
}

const char *
sshkey_ec_curve_name(enum dssh_sshkey_type type)
{
	const struct sshkey_type_info *ti = type_info(type);

	return ti == NULL ? NULL : ti->curve;
}

const char *
sshkey_ec_group_name(enum dssh_sshkey_type type)
{
	const struct sshkey_type_info *ti = type_info(type);

	return ti == NULL ? NULL : ti->group;
}

void
dssh_sshkey_free(struct dssh_sshkey *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

int
sshkey_new(enum dssh_sshkey_type type, EVP_PKEY *pkey, bool priv, struct dssh_sshkey **keyp)
{
	struct dssh_sshkey *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return DSSH_ERR_ALLOC;
	k->type = type;
	k->pkey = pkey;
	k->priv = priv;
	*keyp = k;
	return 0;
}

int
sshkey_type_of_pkey(EVP_PKEY *pkey, enum dssh_sshkey_type *typep)
{
	char group[64];
	size_t glen = 0;

	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		*typep = DSSH_SSHKEY_ED25519;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		*typep = DSSH_SSHKEY_RSA;
		return 0;
	}
	if (!EVP_PKEY_is_a(pkey, "EC"))
		return DSSH_ERR_KEY_TYPE;
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), &glen) != 1)
		return DSSH_ERR_KEY_TYPE;
	int nid = OBJ_sn2nid(group);

	if (nid == NID_undef)
		nid = EC_curve_nist2nid(group);
	switch (nid) {
	case NID_X9_62_prime256v1: *typep = DSSH_SSHKEY_ECDSA_P256; return 0;
	case NID_secp384r1: *typep = DSSH_SSHKEY_ECDSA_P384; return 0;
	case NID_secp521r1: *typep = DSSH_SSHKEY_ECDSA_P521; return 0;
	default: return DSSH_ERR_KEY_TYPE;
	}
}

int
sshkey_from_ed25519(const uint8_t *pub, size_t publen, const uint8_t *seed,
    struct dssh_sshkey **keyp)
{
	EVP_PKEY *pkey = NULL;
	uint8_t chk[SSHKEY_ED25519_LEN];
	size_t chklen = sizeof(chk);
	int r;

	*keyp = NULL;
	if (publen != SSHKEY_ED25519_LEN)
		return DSSH_ERR_INVALID_FORMAT;
	if (seed != NULL) {
		pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, SSHKEY_ED25519_LEN);
		if (pkey == NULL)
			return DSSH_ERR_INVALID_FORMAT;
		/* The stored public half must be the one the seed gives. */
		if (EVP_PKEY_get_raw_public_key(pkey, chk, &chklen) != 1 ||
		    chklen != SSHKEY_ED25519_LEN || memcmp(chk, pub, chklen) != 0) {
			EVP_PKEY_free(pkey);
			return DSSH_ERR_INVALID_FORMAT;
		}
	} else {
		pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, publen);
		if (pkey == NULL)
			return DSSH_ERR_INVALID_FORMAT;
	}
	if ((r = sshkey_new(DSSH_SSHKEY_ED25519, pkey, seed != NULL, keyp)) != 0)
		EVP_PKEY_free(pkey);
	return r;
}

int
sshkey_from_ecdsa(enum dssh_sshkey_type type, const uint8_t *q, size_t qlen,
    const uint8_t *d, size_t dlen, struct dssh_sshkey **keyp)
{
	const struct sshkey_type_info *ti = type_info(type);
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *dbn = NULL;
	EVP_PKEY *pkey = NULL;
	int r = DSSH_ERR_LIBCRYPTO;

	*keyp = NULL;
	if (ti == NULL || !is_ecdsa(type))
		return DSSH_ERR_KEY_TYPE;
	/* Only the uncompressed form, as OpenSSH. */
	if (qlen != 1 + 2 * ti->field_len || q[0] != 0x04)
		return DSSH_ERR_INVALID_FORMAT;
	if (d != NULL && (dlen == 0 || dlen > ti->field_len))
		return DSSH_ERR_INVALID_FORMAT;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, ti->group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q, qlen) != 1)
		goto out;
	if (d != NULL) {
		if ((dbn = BN_secure_new()) == NULL || BN_bin2bn(d, (int)dlen, dbn) == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, dbn) != 1)
			goto out;
	}
	if ((r = dssh_pkey_fromdata("EC", d != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
	    bld, &pkey)) != 0)
		goto out;
	if ((r = dssh_pkey_check(pkey, d != NULL)) != 0)
		goto out;
	if ((r = sshkey_new(type, pkey, d != NULL, keyp)) != 0)
		goto out;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	BN_clear_free(dbn);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

static int
push_bn_bytes(OSSL_PARAM_BLD *bld, const char *name, const uint8_t *v, size_t n,
    BIGNUM **bnp)
{
	if ((*bnp = BN_secure_new()) == NULL)
		return DSSH_ERR_ALLOC;
	if (BN_bin2bn(v, (int)n, *bnp) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, name, *bnp) != 1)
		return DSSH_ERR_LIBCRYPTO;
	return 0;
}

int
sshkey_from_rsa(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen,
    const uint8_t *d, size_t dlen, const uint8_t *iqmp, size_t iqmplen,
    const uint8_t *p, size_t plen, const uint8_t *q, size_t qlen, struct dssh_sshkey **keyp)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *bn[6] = { NULL };
	BIGNUM *dmp1 = NULL, *dmq1 = NULL, *tmp = NULL;
	BN_CTX *bnctx = NULL;
	EVP_PKEY *pkey = NULL;
	int r = DSSH_ERR_LIBCRYPTO;

	*keyp = NULL;
	/* n, e: the magnitudes of mpints (no leading zeros). */
	if (nlen == 0 || nlen * 8 > SSHKEY_RSA_MAX_BITS || elen == 0 || elen > nlen)
		return DSSH_ERR_INVALID_FORMAT;
	if ((e[elen - 1] & 1) == 0 || (elen == 1 && e[0] < 3))
		return DSSH_ERR_INVALID_FORMAT;
	if ((n[nlen - 1] & 1) == 0)
		return DSSH_ERR_INVALID_FORMAT;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	if ((r = push_bn_bytes(bld, OSSL_PKEY_PARAM_RSA_N, n, nlen, &bn[0])) != 0 ||
	    (r = push_bn_bytes(bld, OSSL_PKEY_PARAM_RSA_E, e, elen, &bn[1])) != 0)
		goto out;
	if (BN_num_bits(bn[0]) < DSSH_SSHKEY_RSA_MIN_BITS) {
		r = DSSH_ERR_KEY_TYPE;   /* too small to be trusted */
		goto out;
	}
	if (d != NULL) {
		r = DSSH_ERR_INVALID_FORMAT;
		if (dlen == 0 || plen == 0 || qlen == 0 || iqmplen == 0)
			goto out;
		if ((r = push_bn_bytes(bld, OSSL_PKEY_PARAM_RSA_D, d, dlen, &bn[2])) != 0 ||
		    (r = push_bn_bytes(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p, plen, &bn[3])) != 0 ||
		    (r = push_bn_bytes(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q, qlen, &bn[4])) != 0)
			goto out;
		r = DSSH_ERR_LIBCRYPTO;
		/* The file has no CRT exponents: d mod (p-1), d mod (q-1). */
		if ((bnctx = BN_CTX_secure_new()) == NULL || (tmp = BN_secure_new()) == NULL ||
		    (dmp1 = BN_secure_new()) == NULL || (dmq1 = BN_secure_new()) == NULL)
			goto out;
		if (BN_sub(tmp, bn[3], BN_value_one()) != 1 ||
		    BN_mod(dmp1, bn[2], tmp, bnctx) != 1 ||
		    BN_sub(tmp, bn[4], BN_value_one()) != 1 ||
		    BN_mod(dmq1, bn[2], tmp, bnctx) != 1)
			goto out;
		if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dmp1) != 1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dmq1) != 1 ||
		    (r = push_bn_bytes(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, iqmp, iqmplen,
		    &bn[5])) != 0)
			goto out;
	}
	if ((r = dssh_pkey_fromdata("RSA", d != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
	    bld, &pkey)) != 0)
		goto out;
	if (d != NULL && (r = dssh_pkey_check(pkey, true)) != 0)
		goto out;
	if ((r = sshkey_new(DSSH_SSHKEY_RSA, pkey, d != NULL, keyp)) != 0)
		goto out;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(bn); i++)
		BN_clear_free(bn[i]);
	BN_clear_free(dmp1);
	BN_clear_free(dmq1);
	BN_clear_free(tmp);
	BN_CTX_free(bnctx);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

int
sshkey_ec_point(EVP_PKEY *pkey, enum dssh_sshkey_type type, uint8_t *out, size_t *lenp)
{
	const struct sshkey_type_info *ti = type_info(type);
	BIGNUM *x = NULL, *y = NULL;
	int r = DSSH_ERR_LIBCRYPTO;

	if (ti == NULL || !is_ecdsa(type) || *lenp < 1 + 2 * ti->field_len)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
		goto out;
	out[0] = 0x04;
	if (BN_bn2binpad(x, out + 1, (int)ti->field_len) < 0 ||
	    BN_bn2binpad(y, out + 1 + ti->field_len, (int)ti->field_len) < 0)
		goto out;
	*lenp = 1 + 2 * ti->field_len;
	r = 0;
out:
	BN_free(x);
	BN_free(y);
	return r;
}

int
sshkey_put_bn_param(struct dssh_buf *b, EVP_PKEY *pkey, const char *param)
{
	BIGNUM *bn = NULL;
	uint8_t *tmp = NULL;
	int n, r = DSSH_ERR_LIBCRYPTO;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		goto out;
	n = BN_num_bytes(bn);
	if ((tmp = malloc(n > 0 ? (size_t)n : 1)) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	if (BN_bn2bin(bn, tmp) != n)
		goto out;
	r = dssh_buf_put_mpint_bytes(b, tmp, (size_t)n);
out:
	if (tmp != NULL)
		dssh_freezero(tmp, n > 0 ? (size_t)n : 1);
	BN_clear_free(bn);
	return r;
}

int
dssh_sshkey_public_blob(const struct dssh_sshkey *key, struct dssh_buf *out)
{
	uint8_t pt[1 + 2 * 66];
	size_t len = sizeof(pt);
	int r;

	if (key == NULL || key->pkey == NULL || out == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((r = dssh_buf_put_cstring(out, dssh_sshkey_type_name(key))) != 0)
		return r;
	switch (key->type) {
	case DSSH_SSHKEY_ED25519:
		len = SSHKEY_ED25519_LEN;
		if (EVP_PKEY_get_raw_public_key(key->pkey, pt, &len) != 1 ||
		    len != SSHKEY_ED25519_LEN)
			return DSSH_ERR_LIBCRYPTO;
		return dssh_buf_put_string(out, pt, len);
	case DSSH_SSHKEY_ECDSA_P256:
	case DSSH_SSHKEY_ECDSA_P384:
	case DSSH_SSHKEY_ECDSA_P521:
		if ((r = sshkey_ec_point(key->pkey, key->type, pt, &len)) != 0 ||
		    (r = dssh_buf_put_cstring(out, sshkey_ec_curve_name(key->type))) != 0)
			return r;
		return dssh_buf_put_string(out, pt, len);
	case DSSH_SSHKEY_RSA:
		if ((r = sshkey_put_bn_param(out, key->pkey, OSSL_PKEY_PARAM_RSA_E)) != 0)
			return r;
		return sshkey_put_bn_param(out, key->pkey, OSSL_PKEY_PARAM_RSA_N);
	default:
		return DSSH_ERR_KEY_TYPE;
	}
}

int
dssh_sshkey_from_blob(const uint8_t *blob, size_t len, struct dssh_sshkey **keyp)
{
	struct dssh_buf b;
	const uint8_t *tname, *curve, *v1, *v2;
	size_t tlen, clen, l1, l2;
	enum dssh_sshkey_type type = DSSH_SSHKEY_UNKNOWN;
	struct dssh_sshkey *key = NULL;
	int r;

	if (keyp == NULL || (blob == NULL && len > 0))
		return DSSH_ERR_INVALID_ARGUMENT;
	*keyp = NULL;
	dssh_buf_from(&b, blob, len);
	if ((r = dssh_buf_get_string_direct(&b, &tname, &tlen)) != 0)
		return r;
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(key_types); i++) {
		if (strlen(key_types[i].name) == tlen &&
		    memcmp(key_types[i].name, tname, tlen) == 0)
			type = key_types[i].type;
	}
	switch (type) {
	case DSSH_SSHKEY_ED25519:
		if ((r = dssh_buf_get_string_direct(&b, &v1, &l1)) != 0)
			return r;
		if (dssh_buf_len(&b) != 0)
			return DSSH_ERR_INVALID_FORMAT;
		r = sshkey_from_ed25519(v1, l1, NULL, &key);
		break;
	case DSSH_SSHKEY_ECDSA_P256:
	case DSSH_SSHKEY_ECDSA_P384:
	case DSSH_SSHKEY_ECDSA_P521: {
		const char *want = sshkey_ec_curve_name(type);

		if ((r = dssh_buf_get_string_direct(&b, &curve, &clen)) != 0 ||
		    (r = dssh_buf_get_string_direct(&b, &v1, &l1)) != 0)
			return r;
		if (clen != strlen(want) || memcmp(curve, want, clen) != 0)
			return DSSH_ERR_INVALID_FORMAT;
		if (dssh_buf_len(&b) != 0)
			return DSSH_ERR_INVALID_FORMAT;
		r = sshkey_from_ecdsa(type, v1, l1, NULL, 0, &key);
		break;
	}
	case DSSH_SSHKEY_RSA:
		/* e then n */
		if ((r = dssh_buf_get_mpint_direct(&b, &v1, &l1)) != 0 ||
		    (r = dssh_buf_get_mpint_direct(&b, &v2, &l2)) != 0)
			return r;
		if (dssh_buf_len(&b) != 0)
			return DSSH_ERR_INVALID_FORMAT;
		r = sshkey_from_rsa(v2, l2, v1, l1, NULL, 0, NULL, 0, NULL, 0, NULL, 0, &key);
		break;
	default:
		return DSSH_ERR_KEY_TYPE;
	}
	if (r != 0)
		return r;
	*keyp = key;
	return 0;
}

int
dssh_sshkey_demote(const struct dssh_sshkey *key, struct dssh_sshkey **pubp)
{
	struct dssh_buf b;
	int r;

	if (key == NULL || pubp == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	*pubp = NULL;
	dssh_buf_init(&b, 0);
	if ((r = dssh_sshkey_public_blob(key, &b)) == 0)
		r = dssh_sshkey_from_blob(dssh_buf_ptr(&b), dssh_buf_len(&b), pubp);
	dssh_buf_free(&b);
	return r;
}

int
dssh_sshkey_equal_public(const struct dssh_sshkey *a, const struct dssh_sshkey *b)
{
	struct dssh_buf ba, bb;
	int eq = 0;

	if (a == NULL || b == NULL || a->type != b->type)
		return 0;
	dssh_buf_init(&ba, 0);
	dssh_buf_init(&bb, 0);
	if (dssh_sshkey_public_blob(a, &ba) == 0 && dssh_sshkey_public_blob(b, &bb) == 0 &&
	    dssh_buf_len(&ba) == dssh_buf_len(&bb) &&
	    memcmp(dssh_buf_ptr(&ba), dssh_buf_ptr(&bb), dssh_buf_len(&ba)) == 0)
		eq = 1;
	dssh_buf_free(&ba);
	dssh_buf_free(&bb);
	return eq;
}

int
dssh_sshkey_fingerprint(const struct dssh_sshkey *key, char *out, size_t outlen)
{
	struct dssh_buf blob, enc;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	size_t n;
	int r;

	if (key == NULL || out == NULL || outlen < DSSH_SSHKEY_FP_LEN)
		return DSSH_ERR_INVALID_ARGUMENT;
	dssh_buf_init(&blob, 0);
	dssh_buf_init(&enc, 0);
	if ((r = dssh_sshkey_public_blob(key, &blob)) != 0)
		goto out;
	if (EVP_Digest(dssh_buf_ptr(&blob), dssh_buf_len(&blob), md, &mdlen,
	    EVP_sha256(), NULL) != 1) {
		r = DSSH_ERR_LIBCRYPTO;
		goto out;
	}
	if ((r = sshkey_b64_encode(&enc, md, mdlen)) != 0)
		goto out;
	n = dssh_buf_len(&enc);
	while (n > 0 && dssh_buf_ptr(&enc)[n - 1] == '=')
		n--;
	if (strlen("SHA256:") + n + 1 > outlen) {
		r = DSSH_ERR_NO_BUFFER_SPACE;
		goto out;
	}
	memcpy(out, "SHA256:", 7);
	memcpy(out + 7, dssh_buf_ptr(&enc), n);
	out[7 + n] = '\0';
	r = 0;
out:
	dssh_buf_free(&blob);
	dssh_buf_free(&enc);
	return r;
}

const char *
dssh_sshkey_sig_algs_for(const struct dssh_sshkey *key)
{
	switch (dssh_sshkey_type(key)) {
	case DSSH_SSHKEY_ED25519: return "ssh-ed25519";
	case DSSH_SSHKEY_ECDSA_P256: return "ecdsa-sha2-nistp256";
	case DSSH_SSHKEY_ECDSA_P384: return "ecdsa-sha2-nistp384";
	case DSSH_SSHKEY_ECDSA_P521: return "ecdsa-sha2-nistp521";
	case DSSH_SSHKEY_RSA: return "rsa-sha2-512,rsa-sha2-256,ssh-rsa";
	default: return "";
	}
}

enum dssh_sshkey_type
dssh_sshkey_sig_alg_key_type(const char *sig_alg)
{
	const struct sshkey_sig_alg *sa = sig_alg_by_name(sig_alg);

	return sa == NULL ? DSSH_SSHKEY_UNKNOWN : sa->type;
}

/* DER ECDSA-Sig-Value -> mpint r || mpint s. */
static int
ecdsa_sig_to_ssh(const uint8_t *der, size_t derlen, struct dssh_buf *inner)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	const BIGNUM *rb, *sb;
	uint8_t tmp[66];
	int n, r = DSSH_ERR_LIBCRYPTO;

	if (es == NULL)
		return DSSH_ERR_LIBCRYPTO;
	ECDSA_SIG_get0(es, &rb, &sb);
	if ((n = BN_num_bytes(rb)) > (int)sizeof(tmp) || BN_bn2bin(rb, tmp) != n ||
	    (r = dssh_buf_put_mpint_bytes(inner, tmp, (size_t)n)) != 0)
		goto out;
	r = DSSH_ERR_LIBCRYPTO;
	if ((n = BN_num_bytes(sb)) > (int)sizeof(tmp) || BN_bn2bin(sb, tmp) != n ||
	    (r = dssh_buf_put_mpint_bytes(inner, tmp, (size_t)n)) != 0)
		goto out;
	r = 0;
out:
	ECDSA_SIG_free(es);
	return r;
}

int
dssh_sshkey_sign(const struct dssh_sshkey *key, const char *sig_alg,
    const uint8_t *data, size_t len, struct dssh_buf *sig)
{
	const struct sshkey_sig_alg *sa = sig_alg_by_name(sig_alg);
	EVP_MD_CTX *md = NULL;
	struct dssh_buf inner;
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	int r = DSSH_ERR_LIBCRYPTO;

	if (key == NULL || sig == NULL || (data == NULL && len > 0))
		return DSSH_ERR_INVALID_ARGUMENT;
	if (sa == NULL || sa->type != key->type)
		return DSSH_ERR_KEY_TYPE;
	if (!key->priv)
		return DSSH_ERR_INVALID_ARGUMENT;
	dssh_buf_init(&inner, 0);
	if ((md = EVP_MD_CTX_new()) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	if (EVP_DigestSignInit_ex(md, NULL, sa->md, NULL, NULL, key->pkey, NULL) != 1 ||
	    EVP_DigestSign(md, NULL, &rawlen, data, len) != 1)
		goto out;
	if ((raw = malloc(rawlen)) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	if (EVP_DigestSign(md, raw, &rawlen, data, len) != 1)
		goto out;
	if ((r = dssh_buf_put_cstring(sig, sa->name)) != 0)
		goto out;
	if (is_ecdsa(key->type)) {
		if ((r = ecdsa_sig_to_ssh(raw, rawlen, &inner)) != 0 ||
		    (r = dssh_buf_put_stringb(sig, &inner)) != 0)
			goto out;
	} else if (key->type == DSSH_SSHKEY_RSA) {
		/* RFC 8332: exactly the modulus length. */
		size_t modlen = (size_t)EVP_PKEY_get_size(key->pkey);

		if (rawlen > modlen) {
			r = DSSH_ERR_LIBCRYPTO;
			goto out;
		}
		uint8_t *p;

		if ((r = dssh_buf_put_u32(sig, (uint32_t)modlen)) != 0 ||
		    (r = dssh_buf_reserve(sig, modlen, &p)) != 0)
			goto out;
		memset(p, 0, modlen - rawlen);
		memcpy(p + modlen - rawlen, raw, rawlen);
	} else if ((r = dssh_buf_put_string(sig, raw, rawlen)) != 0) {
		goto out;
	}
	r = 0;
out:
	if (raw != NULL)
		dssh_freezero(raw, rawlen);
	dssh_buf_free(&inner);
	EVP_MD_CTX_free(md);
	return r;
}

/* mpint r || mpint s (exactly) -> DER. */
static int
ecdsa_sig_from_ssh(const uint8_t *v, size_t vlen, size_t field_len, uint8_t **derp,
    size_t *derlenp)
{
	struct dssh_buf b;
	const uint8_t *rp, *sp;
	size_t rl, sl;
	ECDSA_SIG *es = NULL;
	BIGNUM *rb = NULL, *sb = NULL;
	unsigned char *der = NULL;
	int n;

	dssh_buf_from(&b, v, vlen);
	if (dssh_buf_get_mpint_direct(&b, &rp, &rl) != 0 ||
	    dssh_buf_get_mpint_direct(&b, &sp, &sl) != 0 || dssh_buf_len(&b) != 0)
		return DSSH_ERR_SIGNATURE_INVALID;
	if (rl == 0 || sl == 0 || rl > field_len || sl > field_len)
		return DSSH_ERR_SIGNATURE_INVALID;
	if ((es = ECDSA_SIG_new()) == NULL || (rb = BN_bin2bn(rp, (int)rl, NULL)) == NULL ||
	    (sb = BN_bin2bn(sp, (int)sl, NULL)) == NULL || ECDSA_SIG_set0(es, rb, sb) != 1) {
		BN_free(rb);
		BN_free(sb);
		ECDSA_SIG_free(es);
		return DSSH_ERR_ALLOC;
	}
	n = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	if (n <= 0)
		return DSSH_ERR_LIBCRYPTO;
	*derp = der;
	*derlenp = (size_t)n;
	return 0;
}

int
dssh_sshkey_verify(const struct dssh_sshkey *key, const char *sig_alg,
    const uint8_t *sig, size_t siglen, const uint8_t *data, size_t len)
{
	const struct sshkey_sig_alg *sa = sig_alg_by_name(sig_alg);
	const struct sshkey_type_info *ti;
	struct dssh_buf b;
	const uint8_t *name, *v;
	size_t namelen, vlen;
	uint8_t *der = NULL, *padded = NULL;
	size_t derlen = 0, modlen = 0;
	EVP_MD_CTX *md = NULL;
	int r = DSSH_ERR_SIGNATURE_INVALID;

	if (key == NULL || (sig == NULL && siglen > 0) || (data == NULL && len > 0))
		return DSSH_ERR_INVALID_ARGUMENT;
	if (sa == NULL || sa->type != key->type || (ti = type_info(key->type)) == NULL)
		return DSSH_ERR_SIGNATURE_INVALID;
	dssh_buf_from(&b, sig, siglen);
	if (dssh_buf_get_string_direct(&b, &name, &namelen) != 0 ||
	    dssh_buf_get_string_direct(&b, &v, &vlen) != 0 || dssh_buf_len(&b) != 0)
		return DSSH_ERR_SIGNATURE_INVALID;
	if (namelen != strlen(sa->name) || memcmp(name, sa->name, namelen) != 0)
		return DSSH_ERR_SIGNATURE_INVALID;
	switch (key->type) {
	case DSSH_SSHKEY_ED25519:
		if (vlen != 64)
			return DSSH_ERR_SIGNATURE_INVALID;
		break;
	case DSSH_SSHKEY_ECDSA_P256:
	case DSSH_SSHKEY_ECDSA_P384:
	case DSSH_SSHKEY_ECDSA_P521:
		if ((r = ecdsa_sig_from_ssh(v, vlen, ti->field_len, &der, &derlen)) != 0)
			goto out;
		v = der;
		vlen = derlen;
		break;
	case DSSH_SSHKEY_RSA:
		/* Some implementations send fewer bytes than the modulus: left-pad. */
		modlen = (size_t)EVP_PKEY_get_size(key->pkey);
		if (vlen == 0 || vlen > modlen) {
			r = DSSH_ERR_SIGNATURE_INVALID;
			goto out;
		}
		if (vlen < modlen) {
			if ((padded = calloc(1, modlen)) == NULL) {
				r = DSSH_ERR_ALLOC;
				goto out;
			}
			memcpy(padded + modlen - vlen, v, vlen);
			v = padded;
			vlen = modlen;
		}
		break;
	default:
		return DSSH_ERR_KEY_TYPE;
	}
	r = DSSH_ERR_SIGNATURE_INVALID;
	if ((md = EVP_MD_CTX_new()) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	if (EVP_DigestVerifyInit_ex(md, NULL, sa->md, NULL, NULL, key->pkey, NULL) != 1)
		goto out;
	if (EVP_DigestVerify(md, v, vlen, data, len) != 1)
		goto out;
	r = 0;
out:
	OPENSSL_free(der);
	free(padded);
	EVP_MD_CTX_free(md);
	return r;
}

int
sshkey_b64_encode(struct dssh_buf *b, const uint8_t *data, size_t len)
{
	size_t outlen = 4 * ((len + 2) / 3);
	uint8_t *p;
	int r;

	if (len > (size_t)INT32_MAX / 2)
		return DSSH_ERR_STRING_TOO_LARGE;
	if ((r = dssh_buf_reserve(b, outlen + 1, &p)) != 0)
		return r;
	if (EVP_EncodeBlock(p, data, (int)len) != (int)outlen)
		return DSSH_ERR_LIBCRYPTO;
	return dssh_buf_consume_end(b, 1);   /* the NUL EVP_EncodeBlock wrote */
}

static bool
b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '+' || c == '/';
}

int
sshkey_b64_decode(const char *s, size_t n, uint8_t **outp, size_t *outlenp)
{
	char *clean = NULL;
	uint8_t *out = NULL;
	size_t m = 0, pad = 0;
	int r = DSSH_ERR_INVALID_FORMAT, got;

	*outp = NULL;
	*outlenp = 0;
	if (n > (size_t)INT32_MAX / 2)
		return DSSH_ERR_STRING_TOO_LARGE;
	if ((clean = malloc(n + 1)) == NULL)
		return DSSH_ERR_ALLOC;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
		} else if (!b64_char(c) || pad > 0) {
			goto out;   /* bad character, or data after padding */
		}
		clean[m++] = c;
	}
	if (m == 0 || m % 4 != 0 || pad > 2)
		goto out;
	if ((out = malloc(m / 4 * 3)) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	got = EVP_DecodeBlock(out, (const unsigned char *)clean, (int)m);
	if (got < 0 || (size_t)got != m / 4 * 3)
		goto out;
	*outlenp = (size_t)got - pad;
	*outp = out;
	out = NULL;
	r = 0;
out:
	if (out != NULL)
		dssh_freezero(out, m / 4 * 3);
	dssh_freezero(clean, n + 1);
	return r;
}

int
dssh_sshkey_b64_decode(const char *s, size_t n, uint8_t **outp, size_t *outlenp)
{
	if (s == NULL || outp == NULL || outlenp == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	return sshkey_b64_decode(s, n, outp, outlenp);
}
