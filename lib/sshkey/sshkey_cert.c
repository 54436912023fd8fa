/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * OpenSSH certificates, written from PROTOCOL.certkeys:
 *
 *	string  "<type>-cert-v01@openssh.com"
 *	string  nonce
 *	...     the key's own fields (as in its plain blob, after the name)
 *	uint64  serial
 *	uint32  type (1 user, 2 host)
 *	string  key id
 *	string  valid principals (a packed list of strings)
 *	uint64  valid after
 *	uint64  valid before
 *	string  critical options (packed: string name, string data)
 *	string  extensions (same)
 *	string  reserved
 *	string  signature key (a plain public key blob)
 *	string  signature (over every byte above)
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_util.h"
#include "sshkey_int.h"

struct cert_type {
	const char *name;       /* certificate blob type */
	const char *plain;      /* the certified key's type */
	unsigned nfields;       /* strings/mpints of the key after its name */
};

static const struct cert_type cert_types[] = {
	{ "ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", 1 },
	{ "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp256", 2 },
	{ "ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp384", 2 },
	{ "ecdsa-sha2-nistp521-cert-v01@openssh.com", "ecdsa-sha2-nistp521", 2 },
	{ "ssh-rsa-cert-v01@openssh.com", "ssh-rsa", 2 },
};

/* userauth algorithm -> (signature algorithm, blob type) */
static const struct {
	const char *alg, *sig, *blob;
} cert_algs[] = {
	{ "ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com" },
	{ "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp256",
	    "ecdsa-sha2-nistp256-cert-v01@openssh.com" },
	{ "ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp384",
	    "ecdsa-sha2-nistp384-cert-v01@openssh.com" },
	{ "ecdsa-sha2-nistp521-cert-v01@openssh.com", "ecdsa-sha2-nistp521",
	    "ecdsa-sha2-nistp521-cert-v01@openssh.com" },
	{ "rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-512", "ssh-rsa-cert-v01@openssh.com" },
	{ "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-256", "ssh-rsa-cert-v01@openssh.com" },
	{ "ssh-rsa-cert-v01@openssh.com", "ssh-rsa", "ssh-rsa-cert-v01@openssh.com" },
};

bool
dssh_sshkey_is_cert_name(const char *name)
{
	if (name == NULL)
		return false;
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(cert_algs); i++)
		if (strcmp(cert_algs[i].alg, name) == 0)
			return true;
	return false;
}

const char *
dssh_sshkey_cert_sig_alg(const char *alg)
{
	for (size_t i = 0; alg != NULL && i < DSSH_ARRAY_SIZE(cert_algs); i++)
		if (strcmp(cert_algs[i].alg, alg) == 0)
			return cert_algs[i].sig;
	return NULL;
}

const char *
dssh_sshkey_cert_blob_type(const char *alg)
{
	for (size_t i = 0; alg != NULL && i < DSSH_ARRAY_SIZE(cert_algs); i++)
		if (strcmp(cert_algs[i].alg, alg) == 0)
			return cert_algs[i].blob;
	return NULL;
}

static void
free_opts(struct dssh_sshkey_cert_opt *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].name);
		free(o[i].data);
	}
	free(o);
}

void
dssh_sshkey_cert_free(struct dssh_sshkey_cert *c)
{
	if (c == NULL)
		return;
	free(c->type_name);
	dssh_sshkey_free(c->key);
	free(c->key_id);
	for (size_t i = 0; i < c->nprincipals; i++)
		free(c->principals[i]);
	free(c->principals);
	free_opts(c->critical, c->ncritical);
	free_opts(c->extensions, c->nextensions);
	dssh_sshkey_free(c->ca);
	free(c->ca_blob);
	free(c);
}

bool
dssh_sshkey_cert_valid_at(const struct dssh_sshkey_cert *c, uint64_t now)
{
	return c != NULL && now >= c->valid_after && now < c->valid_before;
}

const struct dssh_sshkey_cert_opt *
dssh_sshkey_cert_find(const struct dssh_sshkey_cert_opt *o, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(o[i].name, name) == 0)
			return &o[i];
	return NULL;
}

/* The packed principals list: strings without NULs, at least one byte. */
static int
parse_principals(const uint8_t *p, size_t len, struct dssh_sshkey_cert *c)
{
	struct dssh_buf b;
	int r;

	dssh_buf_from(&b, p, len);
	while (dssh_buf_len(&b) > 0) {
		char *s, **nv;
		size_t slen;

		if (c->nprincipals >= DSSH_SSHKEY_CERT_MAX_PRINCIPALS)
			return DSSH_ERR_INVALID_FORMAT;
		if ((r = dssh_buf_get_cstring(&b, &s, &slen)) != 0)
			return r == DSSH_ERR_ALLOC ? r : DSSH_ERR_INVALID_FORMAT;
		if (slen == 0 || (nv = realloc(c->principals,
		    (c->nprincipals + 1) * sizeof(*nv))) == NULL) {
			free(s);
			return slen == 0 ? DSSH_ERR_INVALID_FORMAT : DSSH_ERR_ALLOC;
		}
		c->principals = nv;
		c->principals[c->nprincipals++] = s;
	}
	return 0;
}

/*
 * Critical options or extensions: (string name, string data)*, names
 * sorted and unique (PROTOCOL.certkeys asks for lexical order; it also
 * rules out duplicates that could make two readers disagree).
 */
static int
parse_opts(const uint8_t *p, size_t len, struct dssh_sshkey_cert_opt **outp, size_t *np)
{
	struct dssh_buf b;
	int r;

	dssh_buf_from(&b, p, len);
	while (dssh_buf_len(&b) > 0) {
		struct dssh_sshkey_cert_opt *nv, o = { 0 };
		size_t nlen;

		if (*np >= DSSH_SSHKEY_CERT_MAX_OPTIONS)
			return DSSH_ERR_INVALID_FORMAT;
		if ((r = dssh_buf_get_cstring(&b, &o.name, &nlen)) != 0)
			return r == DSSH_ERR_ALLOC ? r : DSSH_ERR_INVALID_FORMAT;
		if (nlen == 0 || (*np > 0 && strcmp((*outp)[*np - 1].name, o.name) >= 0) ||
		    (r = dssh_buf_get_string(&b, &o.data, &o.len)) != 0) {
			free(o.name);
			return DSSH_ERR_INVALID_FORMAT;
		}
		if ((nv = realloc(*outp, (*np + 1) * sizeof(*nv))) == NULL) {
			free(o.name);
			free(o.data);
			return DSSH_ERR_ALLOC;
		}
		*outp = nv;
		nv[(*np)++] = o;
	}
	return 0;
}

/* The certified key: rebuild its plain blob from the fields in b. */
static int
parse_key(const struct cert_type *ct, struct dssh_buf *b, struct dssh_sshkey **keyp)
{
	struct dssh_buf plain;
	const uint8_t *start = dssh_buf_ptr(b);
	size_t before = dssh_buf_len(b);
	int r;

	for (unsigned i = 0; i < ct->nfields; i++)
		if ((r = dssh_buf_skip_string(b)) != 0)
			return DSSH_ERR_INVALID_FORMAT;
	dssh_buf_init(&plain, 0);
	if ((r = dssh_buf_put_cstring(&plain, ct->plain)) == 0 &&
	    (r = dssh_buf_put(&plain, start, before - dssh_buf_len(b))) == 0)
		r = dssh_sshkey_from_blob(dssh_buf_ptr(&plain), dssh_buf_len(&plain), keyp);
	dssh_buf_free(&plain);
	if (r != 0 && r != DSSH_ERR_ALLOC)
		r = DSSH_ERR_INVALID_FORMAT;
	return r;
}

/* The CA signature's algorithm must fit the CA key; never SHA-1. */
static int
verify_ca(struct dssh_sshkey_cert *c, const uint8_t *sig, size_t siglen,
    const uint8_t *data, size_t len)
{
	struct dssh_buf b;
	char *alg = NULL;
	int r;

	dssh_buf_from(&b, sig, siglen);
	if (dssh_buf_get_cstring(&b, &alg, NULL) != 0)
		return DSSH_ERR_SIGNATURE_INVALID;
	if (strcmp(alg, "ssh-rsa") == 0 ||
	    dssh_sshkey_sig_alg_key_type(alg) != dssh_sshkey_type(c->ca))
		r = DSSH_ERR_SIGNATURE_INVALID;
	else
		r = dssh_sshkey_verify(c->ca, alg, sig, siglen, data, len);
	free(alg);
	return r;
}

static int
parse_body(struct dssh_sshkey_cert *c, const uint8_t *blob, size_t len)
{
	const struct cert_type *ct = NULL;
	struct dssh_buf b;
	const uint8_t *tname, *nonce, *princ, *crit, *ext, *resv, *cablob, *sig;
	size_t tlen, nlen, plen, critlen, extlen, rlen, calen, siglen, signed_len;
	int r;

	dssh_buf_from(&b, blob, len);
	if (dssh_buf_get_string_direct(&b, &tname, &tlen) != 0)
		return DSSH_ERR_INVALID_FORMAT;
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(cert_types); i++)
		if (strlen(cert_types[i].name) == tlen &&
		    memcmp(cert_types[i].name, tname, tlen) == 0)
			ct = &cert_types[i];
	if (ct == NULL)
		return DSSH_ERR_KEY_TYPE;
	if ((c->type_name = strdup(ct->name)) == NULL)
		return DSSH_ERR_ALLOC;
	/* The nonce only randomises what the CA signs; OpenSSH makes 32 bytes. */
	if (dssh_buf_get_string_direct(&b, &nonce, &nlen) != 0 || nlen == 0)
		return DSSH_ERR_INVALID_FORMAT;
	if ((r = parse_key(ct, &b, &c->key)) != 0)
		return r;
	if (dssh_buf_get_u64(&b, &c->serial) != 0 ||
	    dssh_buf_get_u32(&b, &c->cert_type) != 0 ||
	    dssh_buf_get_cstring(&b, &c->key_id, NULL) != 0 ||
	    dssh_buf_get_string_direct(&b, &princ, &plen) != 0 ||
	    dssh_buf_get_u64(&b, &c->valid_after) != 0 ||
	    dssh_buf_get_u64(&b, &c->valid_before) != 0 ||
	    dssh_buf_get_string_direct(&b, &crit, &critlen) != 0 ||
	    dssh_buf_get_string_direct(&b, &ext, &extlen) != 0 ||
	    dssh_buf_get_string_direct(&b, &resv, &rlen) != 0 ||
	    dssh_buf_get_string_direct(&b, &cablob, &calen) != 0)
		return DSSH_ERR_INVALID_FORMAT;
	signed_len = len - dssh_buf_len(&b);
	if (dssh_buf_get_string_direct(&b, &sig, &siglen) != 0 || dssh_buf_len(&b) != 0)
		return DSSH_ERR_INVALID_FORMAT;
	if (c->cert_type != DSSH_SSHKEY_CERT_USER && c->cert_type != DSSH_SSHKEY_CERT_HOST)
		return DSSH_ERR_INVALID_FORMAT;
	if ((r = parse_principals(princ, plen, c)) != 0 ||
	    (r = parse_opts(crit, critlen, &c->critical, &c->ncritical)) != 0 ||
	    (r = parse_opts(ext, extlen, &c->extensions, &c->nextensions)) != 0)
		return r;
	/* A plain key only: dssh_sshkey_from_blob refuses certificate types. */
	if ((r = dssh_sshkey_from_blob(cablob, calen, &c->ca)) != 0)
		return r == DSSH_ERR_ALLOC ? r : DSSH_ERR_INVALID_FORMAT;
	if ((c->ca_blob = malloc(calen)) == NULL)
		return DSSH_ERR_ALLOC;
	memcpy(c->ca_blob, cablob, calen);
	c->ca_bloblen = calen;
	return verify_ca(c, sig, siglen, blob, signed_len);
}

int
dssh_sshkey_cert_parse(const uint8_t *blob, size_t len, struct dssh_sshkey_cert **certp)
{
	struct dssh_sshkey_cert *c;
	int r;

	if (certp == NULL || (blob == NULL && len > 0))
		return DSSH_ERR_INVALID_ARGUMENT;
	*certp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return DSSH_ERR_ALLOC;
	if ((r = parse_body(c, blob, len)) != 0) {
		dssh_sshkey_cert_free(c);
		return r;
	}
	*certp = c;
	return 0;
}

/*
 * The key the request's signature is checked with: the blob's own key, or
 * the certified key of a certificate (whose CA signature is checked here
 * too; what the certificate allows is the host's decision). *sig_alg is
 * the signature algorithm the signature itself carries. Shared by the
 * engine's userauth and the privilege-separation monitor.
 */
int
dssh_sshkey_userauth_key(const char *alg, const uint8_t *blob, size_t blen,
    struct dssh_sshkey **keyp, const char **sig_alg)
{
	struct dssh_sshkey_cert *cert = NULL;
	struct dssh_buf b;
	const uint8_t *tname;
	size_t tlen;
	const char *want;
	enum dssh_sshkey_type kt;
	int r;

	*keyp = NULL;
	if ((want = dssh_sshkey_cert_blob_type(alg)) == NULL) {
		if ((r = dssh_sshkey_from_blob(blob, blen, keyp)) != 0)
			return r;
		/* rsa-sha2-* sign with ssh-rsa keys. */
		kt = dssh_sshkey_sig_alg_key_type(alg);
		*sig_alg = alg;
		return kt == dssh_sshkey_type(*keyp) ? 0 : DSSH_ERR_KEY_TYPE;
	}
	dssh_buf_from(&b, blob, blen);
	if (dssh_buf_get_string_direct(&b, &tname, &tlen) != 0 ||
	    tlen != strlen(want) || memcmp(tname, want, tlen) != 0)
		return DSSH_ERR_KEY_TYPE;
	if ((r = dssh_sshkey_cert_parse(blob, blen, &cert)) != 0)
		return r;
	*keyp = cert->key;
	cert->key = NULL;
	dssh_sshkey_cert_free(cert);
	*sig_alg = dssh_sshkey_cert_sig_alg(alg);
	return 0;
}
