/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Key files: openssh-key-v1 private keys (OpenSSH PROTOCOL.key; clear or
 * passphrase-protected, see sshkey_crypt.c), PEM private keys (through
 * OSSL_DECODER), ".pub" / authorized_keys public key text, and host key
 * generation like `ssh-keygen -A`.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "sshkey_int.h"

#define OPENSSH_MAGIC "openssh-key-v1"            /* followed by a NUL */
#define OPENSSH_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define OPENSSH_END "-----END OPENSSH PRIVATE KEY-----"
#define OPENSSH_BLOCK 8         /* cipher "none" block size */
#define OPENSSH_WRAP 70         /* ssh-keygen's base64 line length */
#define KEYFILE_MAX (1024 * 1024)
/* PKCS#8 KDF work allowed per bcrypt round of the cap (10000: 10 million). */
#define SSHKEY_PKCS8_WORK_PER_ROUND 1000U

int
dssh_sshkey_check_perms_fd(int fd, const char *path)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return DSSH_ERR_SYSTEM;
	if (!S_ISREG(st.st_mode))
		return DSSH_ERR_INVALID_ARGUMENT;
	/*
	 * sshd refuses keys its own user owns and others can read; here any
	 * group/other access is refused, whoever owns the file.
	 */
	if ((st.st_mode & 077) != 0) {
		dssh_error("Permissions 0%3.3o for '%s' are too open: private key files "
		    "must not be accessible by others", (unsigned)(st.st_mode & 0777),
		    path != NULL ? path : "(fd)");
		return DSSH_ERR_KEY_BAD_PERMISSIONS;
	}
	return 0;
}

int
dssh_sshkey_check_perms(const char *path)
{
	int fd, r;

	if (path == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? DSSH_ERR_NOT_FOUND : DSSH_ERR_SYSTEM;
	r = dssh_sshkey_check_perms_fd(fd, path);
	close(fd);
	return r;
}

static bool
str_eq(const uint8_t *p, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(p, s, n) == 0;
}

/* The type-specific private part of the openssh-key-v1 inner section. */
static int
parse_openssh_private_key(struct dssh_buf *b, struct dssh_sshkey **keyp)
{
	const uint8_t *tname, *v[6];
	size_t tlen, l[6];
	enum dssh_sshkey_type type;
	int r;

	if ((r = dssh_buf_get_string_direct(b, &tname, &tlen)) != 0)
		return r;
	type = DSSH_SSHKEY_UNKNOWN;
	for (int t = DSSH_SSHKEY_ED25519; t <= DSSH_SSHKEY_RSA; t++)
		if (str_eq(tname, tlen, dssh_sshkey_type_to_name(t)))
			type = t;
	switch (type) {
	case DSSH_SSHKEY_ED25519:
		/* string pub(32), string seed(32) || pub(32) */
		if ((r = dssh_buf_get_string_direct(b, &v[0], &l[0])) != 0 ||
		    (r = dssh_buf_get_string_direct(b, &v[1], &l[1])) != 0)
			return r;
		if (l[0] != SSHKEY_ED25519_LEN || l[1] != 2 * SSHKEY_ED25519_LEN ||
		    memcmp(v[1] + SSHKEY_ED25519_LEN, v[0], SSHKEY_ED25519_LEN) != 0)
			return DSSH_ERR_INVALID_FORMAT;
		return sshkey_from_ed25519(v[0], l[0], v[1], keyp);
	case DSSH_SSHKEY_ECDSA_P256:
	case DSSH_SSHKEY_ECDSA_P384:
	case DSSH_SSHKEY_ECDSA_P521:
		/* string curve, string Q, mpint d */
		if ((r = dssh_buf_get_string_direct(b, &v[0], &l[0])) != 0 ||
		    (r = dssh_buf_get_string_direct(b, &v[1], &l[1])) != 0 ||
		    (r = dssh_buf_get_mpint_direct(b, &v[2], &l[2])) != 0)
			return r;
		if (!str_eq(v[0], l[0], sshkey_ec_curve_name(type)))
			return DSSH_ERR_INVALID_FORMAT;
		return sshkey_from_ecdsa(type, v[1], l[1], v[2], l[2], keyp);
	case DSSH_SSHKEY_RSA:
		/* mpint n, e, d, iqmp, p, q */
		for (int i = 0; i < 6; i++)
			if ((r = dssh_buf_get_mpint_direct(b, &v[i], &l[i])) != 0)
				return r;
		return sshkey_from_rsa(v[0], l[0], v[1], l[1], v[2], l[2], v[3], l[3],
		    v[4], l[4], v[5], l[5], keyp);
	default:
		return DSSH_ERR_KEY_TYPE;
	}
}

/*
 * The inner section (clear or decrypted): checkints, the key, comment,
 * padding 1, 2, 3, ... to the block size. encrypted: differing checkints
 * mean a wrong passphrase (CTR/CBC have no other way to tell).
 */
static int
parse_openssh_inner(struct dssh_buf *priv, size_t block, bool encrypted, const uint8_t *pub,
    size_t publen, struct dssh_sshkey **keyp)
{
	struct dssh_sshkey *key = NULL;
	struct dssh_buf check;
	uint32_t c1, c2;
	int r;

	dssh_buf_init(&check, 0);
	if (dssh_buf_len(priv) % block != 0)
		return DSSH_ERR_INVALID_FORMAT;
	if ((r = dssh_buf_get_u32(priv, &c1)) != 0 || (r = dssh_buf_get_u32(priv, &c2)) != 0)
		return encrypted ? DSSH_ERR_KEY_PASSPHRASE : r;
	if (c1 != c2)
		return encrypted ? DSSH_ERR_KEY_PASSPHRASE : DSSH_ERR_INVALID_FORMAT;
	if ((r = parse_openssh_private_key(priv, &key)) != 0 ||
	    (r = dssh_buf_skip_string(priv)) != 0)     /* comment */
		goto out;
	r = DSSH_ERR_INVALID_FORMAT;
	for (uint8_t i = 1; dssh_buf_len(priv) > 0; i++) {
		uint8_t c;

		if (i >= block || dssh_buf_get_u8(priv, &c) != 0 || c != i)
			goto out;
	}
	/* The clear public key must be the private key's. */
	if ((r = dssh_sshkey_public_blob(key, &check)) != 0)
		goto out;
	if (dssh_buf_len(&check) != publen || memcmp(dssh_buf_ptr(&check), pub, publen) != 0) {
		r = DSSH_ERR_INVALID_FORMAT;
		goto out;
	}
	*keyp = key;
	key = NULL;
	r = 0;
out:
	dssh_buf_free(&check);
	dssh_sshkey_free(key);
	return r;
}

static int
parse_openssh_v1(const uint8_t *blob, size_t len, const char *pass, unsigned max_rounds,
    struct dssh_sshkey **keyp)
{
	struct dssh_buf b, priv;
	const struct sshkey_cipher *ciph = NULL;
	const uint8_t *cipher, *kdf, *kdfopts, *pub, *enc, *tag;
	size_t clen, klen, kolen, publen, enclen;
	uint8_t *plain = NULL;
	uint32_t nkeys;
	int r;

	dssh_buf_from(&b, blob, len);
	if (len < sizeof(OPENSSH_MAGIC) || memcmp(blob, OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC)) != 0)
		return DSSH_ERR_INVALID_FORMAT;
	if ((r = dssh_buf_consume(&b, sizeof(OPENSSH_MAGIC))) != 0 ||
	    (r = dssh_buf_get_string_direct(&b, &cipher, &clen)) != 0 ||
	    (r = dssh_buf_get_string_direct(&b, &kdf, &klen)) != 0 ||
	    (r = dssh_buf_get_string_direct(&b, &kdfopts, &kolen)) != 0 ||
	    (r = dssh_buf_get_u32(&b, &nkeys)) != 0)
		return r;
	if (str_eq(cipher, clen, "none") != str_eq(kdf, klen, "none"))
		return DSSH_ERR_INVALID_FORMAT;
	if (!str_eq(cipher, clen, "none")) {
		if (!str_eq(kdf, klen, "bcrypt") || (ciph = sshkey_cipher_by_name(cipher, clen)) == NULL)
			return DSSH_ERR_UNSUPPORTED;
	} else if (kolen != 0)
		return DSSH_ERR_INVALID_FORMAT;
	if (nkeys != 1)
		return DSSH_ERR_INVALID_FORMAT;
	if ((r = dssh_buf_get_string_direct(&b, &pub, &publen)) != 0 ||
	    (r = dssh_buf_get_string_direct(&b, &enc, &enclen)) != 0)
		return r;
	/* An AEAD cipher's tag follows the encrypted section, then nothing. */
	tag = dssh_buf_ptr(&b);
	if (dssh_buf_len(&b) != (ciph != NULL ? ciph->authlen : 0))
		return DSSH_ERR_INVALID_FORMAT;
	if (ciph == NULL) {
		dssh_buf_from(&priv, enc, enclen);
		return parse_openssh_inner(&priv, OPENSSH_BLOCK, false, pub, publen, keyp);
	}
	if (enclen == 0 || enclen % ciph->blocksize != 0)
		return DSSH_ERR_INVALID_FORMAT;
	if ((plain = malloc(enclen)) == NULL)
		return DSSH_ERR_ALLOC;
	if ((r = sshkey_decrypt_private(ciph, kdfopts, kolen, pass, max_rounds, enc, enclen, tag,
	    plain)) == 0) {
		dssh_buf_from(&priv, plain, enclen);
		r = parse_openssh_inner(&priv, ciph->blocksize, true, pub, publen, keyp);
	}
	dssh_freezero(plain, enclen);
	return r;
}

static const char *
memmem_str(const char *hay, size_t n, const char *needle)
{
	if (hay == NULL)
		return NULL;
	return memmem(hay, n, needle, strlen(needle));
}

/*
 * OpenSSL's passphrase callback: hands over the caller's passphrase and
 * nothing else (NULL: none, so that OpenSSL never prompts on a terminal).
 */
struct pem_pass {
	const char *pass;
	size_t len;
};

static int
pem_passphrase(char *buf, size_t size, size_t *len, const OSSL_PARAM params[], void *arg)
{
	const struct pem_pass *pp = arg;

	(void)params;
	*len = 0;
	if (pp == NULL || pp->pass == NULL || pp->len > size)
		return 0;
	memcpy(buf, pp->pass, pp->len);
	*len = pp->len;
	return 1;
}

/* Same, for the pem_password_cb of the PEM_read_bio_* calls. */
static int
pem_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/*
 * The first "-----BEGIN ... PRIVATE KEY-----" line, where the decoder
 * starts: blocks before it (the curve's, from `openssl ecparam -genkey`)
 * are skipped, as PEM_read_bio_PrivateKey skips them. NULL: none.
 */
static const char *
pem_key_start(const char *text, size_t len)
{
	static const char begin[] = "-----BEGIN ", tail[] = "PRIVATE KEY-----";
	const char *p = text, *end = text + len, *nl;

	while ((p = memmem_str(p, (size_t)(end - p), begin)) != NULL) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl > p && nl[-1] == '\r')
			nl--;
		if ((size_t)(nl - p) >= sizeof(begin) - 1 + sizeof(tail) - 1 &&
		    memcmp(nl - (sizeof(tail) - 1), tail, sizeof(tail) - 1) == 0)
			return p;
		p += sizeof(begin) - 1;
	}
	return NULL;
}

static bool
pem_is_encrypted(const char *text, size_t len)
{
	/* PKCS#8 EncryptedPrivateKeyInfo, or traditional PEM with a DEK-Info. */
	return memmem_str(text, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
	    memmem_str(text, len, "Proc-Type: 4,ENCRYPTED") != NULL;
}

/* An ASN1_INTEGER as a count; 0 if it is not a non-negative 64-bit one. */
static uint64_t
asn1_count(const ASN1_INTEGER *a)
{
	uint64_t v;

	if (a == NULL || ASN1_INTEGER_get_uint64(&v, a) != 1)
		return 0;
	return v;
}

/* scrypt's work, N * r * p, saturated at UINT64_MAX. */
static uint64_t
scrypt_work(const ASN1_TYPE *param)
{
	SCRYPT_PARAMS *sp;
	uint64_t n, r, p, w = 0;

	if ((sp = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS), param)) == NULL)
		return 0;
	n = asn1_count(sp->costParameter);
	r = asn1_count(sp->blockSize);
	p = asn1_count(sp->parallelizationParameter);
	if (n != 0 && r != 0 && p != 0)
		w = n > UINT32_MAX || r > UINT32_MAX || p > UINT32_MAX || n * r > UINT64_MAX / p ?
		    UINT64_MAX : n * r * p;
	SCRYPT_PARAMS_free(sp);
	return w;
}

/*
 * The KDF's work in a PKCS#8 EncryptedPrivateKeyInfo (PBKDF2 or PKCS#5 v1.5
 * iterations, scrypt's N * r * p), capped so that a hostile file cannot keep
 * the caller busy for hours (ssh-keygen writes PBKDF2 with 2048 iterations).
 */
static int
pkcs8_check_kdf(const X509_SIG *p8, unsigned max_rounds)
{
	const X509_ALGOR *alg;
	PBEPARAM *pbe = NULL;
	PBE2PARAM *pbe2 = NULL;
	PBKDF2PARAM *kdf = NULL;
	uint64_t work = 0;
	int r = 0;

	X509_SIG_get0(p8, &alg, NULL);
	if (OBJ_obj2nid(alg->algorithm) != NID_pbes2) {
		/* PKCS#5 v1.5 and PKCS#12 schemes: salt and iterations. */
		if ((pbe = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), alg->parameter)) != NULL)
			work = asn1_count(pbe->iter);
	} else if ((pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM),
	    alg->parameter)) != NULL) {
		switch (OBJ_obj2nid(pbe2->keyfunc->algorithm)) {
		case NID_id_pbkdf2:
			if ((kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
			    pbe2->keyfunc->parameter)) != NULL)
				work = asn1_count(kdf->iter);
			break;
		case NID_id_scrypt:
			work = scrypt_work(pbe2->keyfunc->parameter);
			break;
		default:
			r = DSSH_ERR_UNSUPPORTED;
			break;
		}
	}
	if (r == 0 && (work == 0 || work > (uint64_t)max_rounds * SSHKEY_PKCS8_WORK_PER_ROUND))
		r = DSSH_ERR_INVALID_FORMAT;
	PBKDF2PARAM_free(kdf);
	PBE2PARAM_free(pbe2);
	PBEPARAM_free(pbe);
	return r;
}

/*
 * The encrypted PEM's structure, checked without the passphrase, so that a
 * decryption failure after this means the passphrase (or the ciphertext,
 * which nothing authenticates) is wrong, and a damaged file says so.
 */
static int
pem_check_encrypted(const char *text, size_t len, unsigned max_rounds)
{
	EVP_CIPHER_INFO ci;
	BIO *bio;
	X509_SIG *p8 = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long dlen = 0;
	int r = DSSH_ERR_INVALID_FORMAT, bs;

	if (len > INT_MAX || (bio = BIO_new_mem_buf(text, (int)len)) == NULL)
		return DSSH_ERR_LIBCRYPTO;
	if (memmem_str(text, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL) {
		if ((p8 = PEM_read_bio_PKCS8(bio, NULL, pem_no_passphrase, NULL)) != NULL)
			r = pkcs8_check_kdf(p8, max_rounds);
	} else if (PEM_read_bio(bio, &name, &header, &data, &dlen) == 1 &&
	    PEM_get_EVP_CIPHER_INFO(header, &ci) == 1 && ci.cipher != NULL &&
	    (bs = EVP_CIPHER_get_block_size(ci.cipher)) > 0 && dlen > 0 && dlen % bs == 0)
		r = 0;
	X509_SIG_free(p8);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	ERR_clear_error();
	return r;
}

static int
parse_pem(const char *text, size_t len, const char *pass, unsigned max_rounds,
    struct dssh_sshkey **keyp)
{
	OSSL_DECODER_CTX *dctx = NULL;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p = (const unsigned char *)text;
	size_t left = len;
	struct pem_pass pp = { NULL, 0 };
	enum dssh_sshkey_type type;
	bool encrypted;
	int r = DSSH_ERR_INVALID_FORMAT;

	if ((p = (const unsigned char *)pem_key_start(text, len)) == NULL)
		return DSSH_ERR_INVALID_FORMAT;
	left = len - (size_t)((const char *)p - text);
	text = (const char *)p;
	len = left;
	encrypted = pem_is_encrypted(text, len);
	if (encrypted) {
		if (pass == NULL)
			return DSSH_ERR_KEY_ENCRYPTED;
		if ((r = pem_check_encrypted(text, len, max_rounds)) != 0)
			return r;
		pp.pass = pass;
		pp.len = strlen(pass);
	}
	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, NULL, EVP_PKEY_KEYPAIR,
	    NULL, NULL);
	if (dctx == NULL || OSSL_DECODER_CTX_set_passphrase_cb(dctx, pem_passphrase, &pp) != 1) {
		r = DSSH_ERR_LIBCRYPTO;
		goto out;
	}
	if (OSSL_DECODER_from_data(dctx, &p, &left) != 1 || pkey == NULL) {
		/* A clear key with its markers damaged lands here too: no passphrase. */
		r = encrypted ? DSSH_ERR_KEY_PASSPHRASE : DSSH_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = sshkey_type_of_pkey(pkey, &type)) != 0)
		goto out;
	if (type == DSSH_SSHKEY_RSA && (EVP_PKEY_get_bits(pkey) < DSSH_SSHKEY_RSA_MIN_BITS ||
	    EVP_PKEY_get_bits(pkey) > SSHKEY_RSA_MAX_BITS)) {
		r = DSSH_ERR_KEY_TYPE;
		goto out;
	}
	if ((r = sshkey_new(type, pkey, true, keyp)) != 0)
		goto out;
	pkey = NULL;
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	/* Frees (and clears) the decoder's copy of the passphrase. */
	OSSL_DECODER_CTX_free(dctx);
	return r;
}

int
sshkey_parse_private_max(const char *text, size_t len, const char *pass, unsigned max_rounds,
    struct dssh_sshkey **keyp)
{
	const char *begin, *end;
	uint8_t *blob = NULL;
	size_t bloblen = 0;
	int r;

	if (keyp == NULL || (text == NULL && len > 0))
		return DSSH_ERR_INVALID_ARGUMENT;
	*keyp = NULL;
	if (len == 0)
		return DSSH_ERR_INVALID_FORMAT;
	if ((begin = memmem_str(text, len, OPENSSH_BEGIN)) == NULL)
		return parse_pem(text, len, pass, max_rounds, keyp);
	begin += strlen(OPENSSH_BEGIN);
	if ((end = memmem_str(begin, len - (size_t)(begin - text), OPENSSH_END)) == NULL)
		return DSSH_ERR_INVALID_FORMAT;
	if ((r = sshkey_b64_decode(begin, (size_t)(end - begin), &blob, &bloblen)) != 0)
		return r;
	r = parse_openssh_v1(blob, bloblen, pass, max_rounds, keyp);
	dssh_freezero(blob, bloblen);
	return r;
}

int
dssh_sshkey_parse_private_pass(const char *text, size_t len, const char *passphrase,
    struct dssh_sshkey **keyp)
{
	return sshkey_parse_private_max(text, len, passphrase, DSSH_SSHKEY_MAX_KDF_ROUNDS, keyp);
}

int
dssh_sshkey_parse_private(const char *text, size_t len, struct dssh_sshkey **keyp)
{
	return dssh_sshkey_parse_private_pass(text, len, NULL, keyp);
}

int
dssh_sshkey_load_private(const char *path, struct dssh_sshkey **keyp)
{
	return dssh_sshkey_load_private_pass(path, NULL, keyp);
}

int
dssh_sshkey_load_private_pass(const char *path, const char *passphrase,
    struct dssh_sshkey **keyp)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0, cap = 0;
	int fd = -1, r;

	if (path == NULL || keyp == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	*keyp = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? DSSH_ERR_NOT_FOUND : DSSH_ERR_SYSTEM;
	if ((r = dssh_sshkey_check_perms_fd(fd, path)) != 0)
		goto out;
	if (fstat(fd, &st) != 0) {
		r = DSSH_ERR_SYSTEM;
		goto out;
	}
	if (st.st_size <= 0 || st.st_size > KEYFILE_MAX) {
		r = DSSH_ERR_INVALID_FORMAT;
		goto out;
	}
	cap = (size_t)st.st_size;
	if ((text = malloc(cap)) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	while (len < cap) {
		ssize_t n = read(fd, text + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = DSSH_ERR_SYSTEM;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	r = dssh_sshkey_parse_private_pass(text, len, passphrase, keyp);
out:
	if (text != NULL)
		dssh_freezero(text, cap);
	if (fd >= 0)
		close(fd);
	return r;
}

int
dssh_sshkey_generate(enum dssh_sshkey_type type, unsigned bits, struct dssh_sshkey **keyp)
{
	EVP_PKEY *pkey = NULL;
	int r;

	if (keyp == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	*keyp = NULL;
	switch (type) {
	case DSSH_SSHKEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case DSSH_SSHKEY_ECDSA_P256:
	case DSSH_SSHKEY_ECDSA_P384:
	case DSSH_SSHKEY_ECDSA_P521:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", sshkey_ec_group_name(type));
		break;
	case DSSH_SSHKEY_RSA:
		if (bits == 0)
			bits = DSSH_SSHKEY_RSA_DEFAULT_BITS;
		if (bits < DSSH_SSHKEY_RSA_MIN_BITS || bits > SSHKEY_RSA_MAX_BITS)
			return DSSH_ERR_INVALID_ARGUMENT;
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
		break;
	default:
		return DSSH_ERR_KEY_TYPE;
	}
	if (pkey == NULL)
		return DSSH_ERR_LIBCRYPTO;
	if ((r = sshkey_new(type, pkey, true, keyp)) != 0)
		EVP_PKEY_free(pkey);
	return r;
}

static int
put_private_part(const struct dssh_sshkey *key, struct dssh_buf *b)
{
	uint8_t raw[2 * SSHKEY_ED25519_LEN], pt[1 + 2 * 66];
	size_t len, ptlen = sizeof(pt);
	int r;

	if ((r = dssh_buf_put_cstring(b, dssh_sshkey_type_name(key))) != 0)
		return r;
	switch (key->type) {
	case DSSH_SSHKEY_ED25519:
		len = SSHKEY_ED25519_LEN;
		if (EVP_PKEY_get_raw_private_key(key->pkey, raw, &len) != 1 ||
		    len != SSHKEY_ED25519_LEN) {
			r = DSSH_ERR_LIBCRYPTO;
			break;
		}
		len = SSHKEY_ED25519_LEN;
		if (EVP_PKEY_get_raw_public_key(key->pkey, raw + SSHKEY_ED25519_LEN, &len) != 1 ||
		    len != SSHKEY_ED25519_LEN) {
			r = DSSH_ERR_LIBCRYPTO;
			break;
		}
		if ((r = dssh_buf_put_string(b, raw + SSHKEY_ED25519_LEN, SSHKEY_ED25519_LEN)) != 0)
			break;
		r = dssh_buf_put_string(b, raw, sizeof(raw));
		break;
	case DSSH_SSHKEY_ECDSA_P256:
	case DSSH_SSHKEY_ECDSA_P384:
	case DSSH_SSHKEY_ECDSA_P521:
		if ((r = dssh_buf_put_cstring(b, sshkey_ec_curve_name(key->type))) != 0 ||
		    (r = sshkey_ec_point(key->pkey, key->type, pt, &ptlen)) != 0 ||
		    (r = dssh_buf_put_string(b, pt, ptlen)) != 0)
			break;
		r = sshkey_put_bn_param(b, key->pkey, OSSL_PKEY_PARAM_PRIV_KEY);
		break;
	case DSSH_SSHKEY_RSA:
		if ((r = sshkey_put_bn_param(b, key->pkey, OSSL_PKEY_PARAM_RSA_N)) != 0 ||
		    (r = sshkey_put_bn_param(b, key->pkey, OSSL_PKEY_PARAM_RSA_E)) != 0 ||
		    (r = sshkey_put_bn_param(b, key->pkey, OSSL_PKEY_PARAM_RSA_D)) != 0 ||
		    (r = sshkey_put_bn_param(b, key->pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1)) != 0 ||
		    (r = sshkey_put_bn_param(b, key->pkey, OSSL_PKEY_PARAM_RSA_FACTOR1)) != 0)
			break;
		r = sshkey_put_bn_param(b, key->pkey, OSSL_PKEY_PARAM_RSA_FACTOR2);
		break;
	default:
		r = DSSH_ERR_KEY_TYPE;
	}
	dssh_wipe(raw, sizeof(raw));
	return r;
}

int
dssh_sshkey_private_to_text(const struct dssh_sshkey *key, const char *comment,
    struct dssh_buf *out)
{
	struct dssh_buf blob, priv, pub, b64;
	uint32_t check;
	int r;

	if (key == NULL || out == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (!key->priv)
		return DSSH_ERR_INVALID_ARGUMENT;
	dssh_buf_init(&blob, 0);
	dssh_buf_init(&priv, 0);
	dssh_buf_init(&pub, 0);
	dssh_buf_init(&b64, 0);
	dssh_random(&check, sizeof(check));
	if ((r = dssh_sshkey_public_blob(key, &pub)) != 0 ||
	    (r = dssh_buf_put_u32(&priv, check)) != 0 ||
	    (r = dssh_buf_put_u32(&priv, check)) != 0 ||
	    (r = put_private_part(key, &priv)) != 0 ||
	    (r = dssh_buf_put_cstring(&priv, comment != NULL ? comment : "")) != 0)
		goto out;
	for (uint8_t i = 1; dssh_buf_len(&priv) % OPENSSH_BLOCK != 0; i++)
		if ((r = dssh_buf_put_u8(&priv, i)) != 0)
			goto out;
	if ((r = dssh_buf_put(&blob, OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC))) != 0 ||
	    (r = dssh_buf_put_cstring(&blob, "none")) != 0 ||
	    (r = dssh_buf_put_cstring(&blob, "none")) != 0 ||
	    (r = dssh_buf_put_cstring(&blob, "")) != 0 ||
	    (r = dssh_buf_put_u32(&blob, 1)) != 0 ||
	    (r = dssh_buf_put_stringb(&blob, &pub)) != 0 ||
	    (r = dssh_buf_put_stringb(&blob, &priv)) != 0 ||
	    (r = sshkey_b64_encode(&b64, dssh_buf_ptr(&blob), dssh_buf_len(&blob))) != 0)
		goto out;
	if ((r = dssh_buf_put(out, OPENSSH_BEGIN "\n", strlen(OPENSSH_BEGIN) + 1)) != 0)
		goto out;
	for (size_t off = 0; off < dssh_buf_len(&b64); off += OPENSSH_WRAP) {
		size_t n = DSSH_MIN(OPENSSH_WRAP, dssh_buf_len(&b64) - off);

		if ((r = dssh_buf_put(out, dssh_buf_ptr(&b64) + off, n)) != 0 ||
		    (r = dssh_buf_put_u8(out, '\n')) != 0)
			goto out;
	}
	r = dssh_buf_put(out, OPENSSH_END "\n", strlen(OPENSSH_END) + 1);
out:
	dssh_buf_free(&blob);
	dssh_buf_free(&priv);
	dssh_buf_free(&pub);
	dssh_buf_free(&b64);
	return r;
}

int
dssh_sshkey_public_to_text(const struct dssh_sshkey *key, const char *comment,
    struct dssh_buf *out)
{
	struct dssh_buf blob;
	int r;

	if (key == NULL || out == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	dssh_buf_init(&blob, 0);
	if ((r = dssh_sshkey_public_blob(key, &blob)) != 0 ||
	    (r = dssh_buf_putf(out, "%s ", dssh_sshkey_type_name(key))) != 0 ||
	    (r = sshkey_b64_encode(out, dssh_buf_ptr(&blob), dssh_buf_len(&blob))) != 0)
		goto out;
	if (comment != NULL && *comment != '\0')
		r = dssh_buf_putf(out, " %s\n", comment);
	else
		r = dssh_buf_put_u8(out, '\n');
out:
	dssh_buf_free(&blob);
	return r;
}

static int
write_file(const char *path, const struct dssh_buf *b, mode_t mode)
{
	const uint8_t *p = dssh_buf_ptr(b);
	size_t left = dssh_buf_len(b);
	int fd, r = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode)) < 0)
		return DSSH_ERR_SYSTEM;
	/* An existing file keeps its mode through O_CREAT: set it. */
	if (fchmod(fd, mode) != 0)
		r = DSSH_ERR_SYSTEM;
	while (r == 0 && left > 0) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = DSSH_ERR_SYSTEM;
			break;
		}
		p += n;
		left -= (size_t)n;
	}
	if (close(fd) != 0 && r == 0)
		r = DSSH_ERR_SYSTEM;
	if (r != 0)
		unlink(path);
	return r;
}

int
dssh_sshkey_save_private(const struct dssh_sshkey *key, const char *path, const char *comment)
{
	struct dssh_buf priv, pub;
	char *pubpath = NULL;
	int r;

	if (key == NULL || path == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	dssh_buf_init(&priv, 0);
	dssh_buf_init(&pub, 0);
	if (asprintf(&pubpath, "%s.pub", path) < 0) {
		pubpath = NULL;
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	if ((r = dssh_sshkey_private_to_text(key, comment, &priv)) != 0 ||
	    (r = dssh_sshkey_public_to_text(key, comment, &pub)) != 0)
		goto out;
	if ((r = write_file(path, &priv, 0600)) != 0)
		goto out;
	if ((r = write_file(pubpath, &pub, 0644)) != 0) {
		unlink(path);
		goto out;
	}
out:
	free(pubpath);
	dssh_buf_free(&priv);
	dssh_buf_free(&pub);
	return r;
}

void
dssh_sshkey_free_paths(char **paths, size_t n)
{
	if (paths == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

int
dssh_sshkey_ensure_host_keys(const char *dir, char ***createdp, size_t *ncreatedp)
{
	static const struct {
		const char *file;
		enum dssh_sshkey_type type;
		unsigned bits;
	} hk[] = {
		{ "ssh_host_rsa_key", DSSH_SSHKEY_RSA, DSSH_SSHKEY_RSA_DEFAULT_BITS },
		{ "ssh_host_ecdsa_key", DSSH_SSHKEY_ECDSA_P256, 0 },
		{ "ssh_host_ed25519_key", DSSH_SSHKEY_ED25519, 0 },
	};
	char **created = NULL, *path = NULL, host[256], comment[512];
	size_t ncreated = 0;
	struct dssh_sshkey *key = NULL;
	struct passwd *pw;
	struct stat st;
	int r = 0;

	if (dir == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (createdp != NULL)
		*createdp = NULL;
	if (ncreatedp != NULL)
		*ncreatedp = 0;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return DSSH_ERR_NOT_FOUND;
	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	pw = getpwuid(geteuid());
	snprintf(comment, sizeof(comment), "%s@%s", pw != NULL ? pw->pw_name : "root", host);
	if ((created = calloc(DSSH_ARRAY_SIZE(hk), sizeof(*created))) == NULL)
		return DSSH_ERR_ALLOC;
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(hk); i++) {
		if (asprintf(&path, "%s/%s", dir, hk[i].file) < 0) {
			path = NULL;
			r = DSSH_ERR_ALLOC;
			goto out;
		}
		if (lstat(path, &st) == 0) {
			free(path);
			path = NULL;
			continue;
		}
		if ((r = dssh_sshkey_generate(hk[i].type, hk[i].bits, &key)) != 0 ||
		    (r = dssh_sshkey_save_private(key, path, comment)) != 0)
			goto out;
		dssh_sshkey_free(key);
		key = NULL;
		dssh_info("generated %s host key %s", dssh_sshkey_type_to_name(hk[i].type), path);
		created[ncreated++] = path;
		path = NULL;
	}
out:
	free(path);
	dssh_sshkey_free(key);
	if (r != 0 || createdp == NULL) {
		dssh_sshkey_free_paths(created, ncreated);
		return r;
	}
	*createdp = created;
	if (ncreatedp != NULL)
		*ncreatedp = ncreated;
	return 0;
}

int
dssh_sshkey_parse_pubkey_text(const char *s, struct dssh_sshkey **keyp, const char **restp)
{
	const char *p, *t;
	uint8_t *blob = NULL;
	size_t tlen, bloblen = 0;
	enum dssh_sshkey_type type = DSSH_SSHKEY_UNKNOWN;
	struct dssh_sshkey *key = NULL;
	int r;

	if (s == NULL || keyp == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	*keyp = NULL;
	for (p = s; *p == ' ' || *p == '\t'; p++)
		;
	for (t = p; *p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n'; p++)
		;
	tlen = (size_t)(p - t);
	for (int i = DSSH_SSHKEY_ED25519; i <= DSSH_SSHKEY_RSA; i++)
		if (str_eq((const uint8_t *)t, tlen, dssh_sshkey_type_to_name(i)))
			type = i;
	if (type == DSSH_SSHKEY_UNKNOWN)
		return DSSH_ERR_KEY_TYPE;
	if (*p != ' ' && *p != '\t')
		return DSSH_ERR_INVALID_FORMAT;
	while (*p == ' ' || *p == '\t')
		p++;
	for (t = p; *p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n'; p++)
		;
	if ((r = sshkey_b64_decode(t, (size_t)(p - t), &blob, &bloblen)) != 0)
		return r;
	if ((r = dssh_sshkey_from_blob(blob, bloblen, &key)) != 0)
		goto out;
	if (key->type != type) {
		r = DSSH_ERR_INVALID_FORMAT;
		goto out;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (restp != NULL)
		*restp = p;
	*keyp = key;
	key = NULL;
out:
	free(blob);
	dssh_sshkey_free(key);
	return r;
}
