/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Engine and SA front end: picks an engine from dssh_crypto_engine_list,
 * allocates the private state the engine asks for, and wraps its burst ops.
 * The cipher/MAC tables are in alg.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_crypto_driver.h"
#include "dssh_err.h"
#include "dssh_util.h"

#define DEFAULT_MAX_BURST 32

static char engine_names[256];
static pthread_once_t engine_names_once = PTHREAD_ONCE_INIT;

static void
engine_names_build(void)
{
	size_t i, off = 0;
	int n;

	for (i = 0; dssh_crypto_engine_list[i] != NULL; i++) {
		n = snprintf(engine_names + off, sizeof(engine_names) - off, "%s%s",
		    i == 0 ? "" : ",", dssh_crypto_engine_list[i]->name);
		if (n < 0 || (size_t)n >= sizeof(engine_names) - off)
			break;
		off += (size_t)n;
	}
}

const char *
dssh_crypto_engine_names(void)
{
	(void)pthread_once(&engine_names_once, engine_names_build);
	return engine_names;
}

/*
 * "auto": the first of these that this build has and that starts on this
 * CPU. IPsec-MB's engine batches packets across sessions and runs AES-GCM
 * several times faster per packet than OpenSSL (docs/performance.md).
 */
static const char *const auto_order[] = { "ipsecmb", "openssl" };

static int engine_create_named(const char *name, const struct dssh_crypto_engine_conf *conf,
    struct dssh_crypto_engine **out);

int
dssh_crypto_engine_create(const char *name, const struct dssh_crypto_engine_conf *conf,
    struct dssh_crypto_engine **out)
{
	size_t i;
	int r = DSSH_ERR_NOT_FOUND;

	if (name == NULL || strcmp(name, DSSH_CRYPTO_ENGINE_AUTO) != 0)
		return engine_create_named(name, conf, out);
	for (i = 0; i < DSSH_ARRAY_SIZE(auto_order); i++)
		if ((r = engine_create_named(auto_order[i], conf, out)) == 0)
			break;
	return r;
}

static int
engine_create_named(const char *name, const struct dssh_crypto_engine_conf *conf,
    struct dssh_crypto_engine **out)
{
	const struct dssh_crypto_engine_ops *ops = NULL;
	struct dssh_crypto_engine *e = NULL;
	size_t i;
	int r;

	if (out == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if (name == NULL || *name == '\0')
		ops = dssh_crypto_engine_list[0];
	else {
		for (i = 0; dssh_crypto_engine_list[i] != NULL; i++) {
			if (strcmp(dssh_crypto_engine_list[i]->name, name) == 0) {
				ops = dssh_crypto_engine_list[i];
				break;
			}
		}
	}
	if (ops == NULL)
		return DSSH_ERR_NOT_FOUND;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return DSSH_ERR_ALLOC;
	e->ops = ops;
	if (conf != NULL)
		e->conf = *conf;
	else
		e->conf.socket_id = -1;
	if (e->conf.max_burst == 0)
		e->conf.max_burst = DEFAULT_MAX_BURST;
	if (ops->engine_priv_size > 0 &&
	    (e->priv = calloc(1, ops->engine_priv_size)) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	if (ops->engine_init != NULL && (r = ops->engine_init(e, &e->conf)) != 0)
		goto out;
	*out = e;
	e = NULL;
	r = 0;
 out:
	if (e != NULL) {
		dssh_freezero(e->priv, ops->engine_priv_size);
		free(e);
	}
	return r;
}

/* Every SA of the engine must have been freed first. */
void
dssh_crypto_engine_free(struct dssh_crypto_engine *e)
{
	if (e == NULL)
		return;
	if (e->ops->engine_fini != NULL)
		e->ops->engine_fini(e);
	dssh_freezero(e->priv, e->ops->engine_priv_size);
	free(e);
}

const char *
dssh_crypto_engine_name(const struct dssh_crypto_engine *e)
{
	return e == NULL ? NULL : e->ops->name;
}

int
dssh_crypto_sa_new(struct dssh_crypto_engine *e, const struct dssh_crypto_keys *keys,
    enum dssh_crypto_dir dir, struct dssh_crypto_sa **out)
{
	const struct dssh_cipher_info *cipher;
	const struct dssh_mac_info *mac;
	struct dssh_crypto_sa *sa = NULL;
	int r;

	if (out == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if (e == NULL || keys == NULL || keys->cipher == NULL ||
	    (dir != DSSH_CRYPTO_SEAL && dir != DSSH_CRYPTO_OPEN))
		return DSSH_ERR_INVALID_ARGUMENT;
	/* Use our own table entries, whatever the caller passed. */
	if ((cipher = dssh_cipher_by_id(keys->cipher->id)) == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (cipher->aead || cipher->id == DSSH_CIPHER_NONE) {
		/* AEAD: the MAC list is ignored. none: no MAC either. */
		if (cipher->id == DSSH_CIPHER_NONE && keys->mac != NULL &&
		    keys->mac->id != DSSH_MAC_NONE)
			return DSSH_ERR_INVALID_ARGUMENT;
		mac = dssh_mac_by_id(DSSH_MAC_NONE);
	} else {
		if (keys->mac == NULL || keys->mac->id == DSSH_MAC_NONE ||
		    (mac = dssh_mac_by_id(keys->mac->id)) == NULL)
			return DSSH_ERR_INVALID_ARGUMENT;
	}
	if ((sa = calloc(1, sizeof(*sa))) == NULL)
		return DSSH_ERR_ALLOC;
	sa->engine = e;
	sa->cipher = cipher;
	sa->mac = mac;
	sa->dir = dir;
	if (e->ops->sa_priv_size > 0 &&
	    (sa->priv = calloc(1, e->ops->sa_priv_size)) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	if ((r = e->ops->sa_init(sa, keys)) != 0)
		goto out;
	*out = sa;
	sa = NULL;
 out:
	if (sa != NULL) {
		dssh_freezero(sa->priv, e->ops->sa_priv_size);
		free(sa);
	}
	return r;
}

void
dssh_crypto_sa_free(struct dssh_crypto_sa *sa)
{
	if (sa == NULL)
		return;
	if (sa->engine->ops->sa_fini != NULL)
		sa->engine->ops->sa_fini(sa);
	dssh_freezero(sa->priv, sa->engine->ops->sa_priv_size);
	free(sa);
}

size_t
dssh_crypto_sa_tag_len(const struct dssh_crypto_sa *sa)
{
	return sa->cipher->aead ? sa->cipher->tag_len : sa->mac->mac_len;
}

/* Classic encrypt-and-MAC: the length is inside the first cipher block. */
static bool
sa_classic(const struct dssh_crypto_sa *sa)
{
	return !sa->cipher->aead && sa->cipher->id != DSSH_CIPHER_NONE && !sa->mac->etm;
}

size_t
dssh_crypto_sa_length_bytes(const struct dssh_crypto_sa *sa)
{
	return sa_classic(sa) ? sa->cipher->block_len : 4;
}

size_t
dssh_crypto_sa_block_len(const struct dssh_crypto_sa *sa)
{
	return sa->cipher->block_len;
}

/*
 * Also true for the "none" cipher: there too the padding rule of RFC 4253
 * section 6 counts the length field.
 */
bool
dssh_crypto_sa_length_encrypted(const struct dssh_crypto_sa *sa)
{
	return !sa->cipher->aead && !sa->mac->etm;
}

int
dssh_crypto_sa_peek_length(struct dssh_crypto_sa *sa, uint32_t seq,
    const uint8_t *wire, size_t avail, uint32_t *packet_length)
{
	if (sa == NULL || wire == NULL || packet_length == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (avail < dssh_crypto_sa_length_bytes(sa))
		return DSSH_ERR_MSG_INCOMPLETE;
	return sa->engine->ops->peek_length(sa, seq, wire, packet_length);
}

int
dssh_crypto_sa_peek_length_at(struct dssh_crypto_sa *sa, uint32_t seq, uint64_t block,
    const uint8_t *wire, size_t avail, uint32_t *packet_length)
{
	if (sa == NULL || wire == NULL || packet_length == NULL)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (avail < dssh_crypto_sa_length_bytes(sa))
		return DSSH_ERR_MSG_INCOMPLETE;
	return sa->engine->ops->peek_length_at(sa, seq, block, wire, packet_length);
}

unsigned
dssh_crypto_submit(struct dssh_crypto_engine *e, struct dssh_crypto_op **ops, unsigned n)
{
	if (n == 0)
		return 0;
	return e->ops->submit(e, ops, n);
}

unsigned
dssh_crypto_complete(struct dssh_crypto_engine *e, struct dssh_crypto_op **ops, unsigned max)
{
	if (max == 0)
		return 0;
	return e->ops->complete(e, ops, max);
}

/*
 * Assumes nothing else is in flight on e: every op completed here is one of
 * ours. Engines complete ops in submission order per SA, so counting is
 * enough.
 */
int
dssh_crypto_process(struct dssh_crypto_engine *e, struct dssh_crypto_op **ops, unsigned n)
{
	struct dssh_crypto_op *done[DEFAULT_MAX_BURST];
	unsigned submitted = 0, completed = 0, k, i;

	if (e == NULL || (ops == NULL && n > 0))
		return DSSH_ERR_INVALID_ARGUMENT;
	while (completed < n) {
		k = 0;
		if (submitted < n) {
			k = e->ops->submit(e, ops + submitted, n - submitted);
			submitted += k;
		}
		completed += e->ops->complete(e, done, DSSH_ARRAY_SIZE(done));
		/* Nothing in flight and nothing accepted: it never will be. */
		if (k == 0 && submitted == completed && submitted < n)
			return DSSH_ERR_BUSY;
	}
	for (i = 0; i < n; i++)
		if (ops[i]->status != 0)
			return ops[i]->status;
	return 0;
}
