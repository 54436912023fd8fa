/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPsec-MB engine: bursts of SSH packets go through one multi-buffer
 * manager (per engine instance, i.e. per core) as IMB_JOBs, so that packets
 * of different sessions fill the SIMD lanes together.
 *
 * A burst is processed in two phases; every job of a phase is
 * submitted, then the manager is flushed before the next phase starts. A
 * phase exists only where one job needs another's output (a MAC over
 * ciphertext, a Poly1305 key) or where two jobs would otherwise touch the
 * same bytes at once.
 *
 *   mode              seal                       open
 *   aes-gcm           direct call, no job        direct call, tag compared
 *   ctr + hmac        0: hmac(copy), ctr         0: ctr                1: hmac(copy)
 *   ctr + hmac-etm    0: ctr          1: hmac    0: hmac(copy), ctr
 *   ctr + umac-etm    0: ctr          1: umac    0: umac, ctr
 *
 * chacha20-poly1305@openssh.com does not use the manager: the chacha ops of
 * a chunk go, all together, through lib/crypto/chacha_mb.c (ChaCha20 of
 * many packets in the SIMD lanes, K_1 length blocks and Poly1305 keys
 * included; Poly1305 in AVX-512 IFMA lanes), before phase 0. IPsec-MB's
 * chacha job cannot produce keystream block 0, which OpenSSH's construction
 * needs twice per packet.
 *
 * AES-GCM does not use the manager either: IPsec-MB runs a GCM job
 * synchronously inside submit (the GCM code is not multi-lane), so the job
 * (fill, checks, dispatch, completion queue) is pure overhead; gcm_one()
 * calls the same VAES routine directly, as each op is checked.
 *
 * UMAC (lib/crypto/umac.c) has no IPsec-MB job type; it runs inline, in C,
 * at the point of the phase where its job would be submitted.
 *
 * HMAC input is seq || packet; the packet buffer has no headroom for the
 * 4-byte sequence number, so the engine copies seq || bytes into a per-slot
 * scratch buffer (a memcpy costs a few percent of an HMAC-SHA2 pass).
 *
 * IPsec-MB's CTR mode increments only the low 32 bits of the counter block
 * (checked against OpenSSL); SSH's aes-ctr carries through all 128 bits, so a
 * packet whose counter crosses a 2^32 boundary is split into two jobs.
 */
#include <stdlib.h>
#include <string.h>

#include <emmintrin.h>
#include <intel-ipsec-mb.h>

#include "chacha_mb.h"
#include "dssh_buf.h"
#include "dssh_crypto_driver.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "umac.h"

#define IPSECMB_DEFAULT_BURST 32u
#define IPSECMB_MAX_BURST 64u   /* ops per chunk; larger bursts are chunked */
#define IPSECMB_HMAC_LANES_MIN 4u  /* fewer HMAC jobs in a chunk: SSE manager */
#define IPSECMB_DONE_CAP 1024u     /* finished-op ring; a power of two */

enum ipsecmb_kind {
	KIND_GCM,
	KIND_CTR_HMAC,
	KIND_CTR_ETM,
	KIND_CTR_UMAC,
	KIND_CHACHA,
};

/* Per-SA key schedule; separately allocated to get 64-byte alignment. */
struct ipsecmb_keys {
	struct gcm_key_data gcm;                            /* AES-GCM */
	DECLARE_ALIGNED(uint32_t enc_keys[60], 16);          /* AES-CTR */
	DECLARE_ALIGNED(uint32_t dec_keys[60], 16);
	DECLARE_ALIGNED(uint8_t ipad[64], 16);               /* HMAC states */
	DECLARE_ALIGNED(uint8_t opad[64], 16);
	uint8_t chacha_key[64];                              /* K_2 || K_1 */
	/* chacha: length keystream of packets len_seq .. len_seq + len_n - 1,
	 * computed 16 at a time (see ipsecmb_peek_length) */
	uint8_t len_ks[16][4];
	uint32_t len_seq;
	unsigned len_n;
	uint8_t ctr[16];               /* CTR: next counter block */
	uint8_t ctr0[16];              /* CTR: counter block at the start (peek_length_at) */
	/* GCM: IV = fixed(4) || invocation counter(8), both big endian; the
	 * counter is kept as a host integer so that the per-packet increment
	 * is one add and the IV one byte swap (no carry loop) */
	uint32_t gcm_fixed;            /* the 4 IV bytes as loaded (host order) */
	uint64_t gcm_ctr;
};

struct ipsecmb_sa {
	struct ipsecmb_keys *k;
	enum ipsecmb_kind kind;
	unsigned key_len;           /* AES key bytes */
	IMB_HASH_ALG hmac_alg;
	unsigned mac_len;
	struct dssh_umac *umac;     /* umac-*-etm */
};

/* What one op in a burst needs while its jobs are in flight. */
struct ipsecmb_slot {
	bool refused;           /* op_check said no: nothing ran, nothing to wipe */
	bool fast;              /* finished at check time (AES-GCM): op->status is final */
	DECLARE_ALIGNED(uint8_t iv[2][16], 16);
	uint8_t tag[DSSH_CRYPTO_MAX_TAG];      /* computed tag when opening */
	int chacha;     /* chacha_mb op: cseal[chacha - 1] or copen[-chacha - 1]; 0 none */
	uint8_t *scratch;                       /* seq || bytes for HMAC */
	size_t scratch_cap;
	int status;
};

struct ipsecmb_engine {
	IMB_MGR *mgr;
	void *mgr_mem;
	size_t mgr_size;
	/* SSE manager (SHA-NI where present) for bursts with few HMAC jobs */
	IMB_MGR *sse;
	void *sse_mem;
	IMB_MGR *hmac_mgr;          /* the one HMAC jobs of this chunk go to */
	struct ipsecmb_slot *slots;
	unsigned nslots;
	/* AES-GCM direct calls (no job manager: GCM jobs are not multi-lane,
	 * IPsec-MB runs each one synchronously inside submit) */
	aes_gcm_enc_dec_t gcm_enc[2], gcm_dec[2];   /* [0] AES-128, [1] AES-256 */
	/* finished ops waiting for complete() */
	struct dssh_crypto_op **done;
	unsigned done_head, done_count, done_cap;
	/* chacha20-poly1305 ops of the chunk (see top of file) */
	struct dssh_chacha_mb *cmb;
	struct dssh_chacha_mb_op *cseal, *copen;
};

static const char *
arch_name(IMB_ARCH a)
{
	switch (a) {
	case IMB_ARCH_NOAESNI: return "no-aesni";
	case IMB_ARCH_SSE: return "sse";
	case IMB_ARCH_AVX: return "avx";
	case IMB_ARCH_AVX2: return "avx2";
	case IMB_ARCH_AVX512: return "avx512";
	default: return "unknown";
	}
}

static inline struct ipsecmb_engine *
eng(struct dssh_crypto_engine *e)
{
	return e->priv;
}

static inline struct ipsecmb_sa *
sapriv(struct dssh_crypto_sa *sa)
{
	return sa->priv;
}

static int
ipsecmb_engine_init(struct dssh_crypto_engine *e, const struct dssh_crypto_engine_conf *conf)
{
	struct ipsecmb_engine *me = eng(e);
	IMB_ARCH arch = IMB_ARCH_NONE;
	unsigned n = conf != NULL && conf->max_burst ? conf->max_burst : IPSECMB_DEFAULT_BURST;

	if (n > IPSECMB_MAX_BURST)
		n = IPSECMB_MAX_BURST;
	/* Our own allocation (not alloc_mb_mgr) so that fini can wipe it: the
	 * out-of-order managers keep digests and key pointers of past jobs. */
	me->mgr_size = (imb_get_mb_mgr_size() + 63) & ~(size_t)63;   /* C11 aligned_alloc */
	if ((me->mgr_mem = aligned_alloc(64, me->mgr_size)) == NULL)
		return DSSH_ERR_ALLOC;
	me->mgr = imb_set_pointers_mb_mgr(me->mgr_mem, 0, 1);
	init_mb_mgr_auto(me->mgr, &arch);
	if (imb_get_errno(me->mgr) != 0) {
		dssh_error("ipsecmb: init_mb_mgr_auto: %s", imb_get_strerror(imb_get_errno(me->mgr)));
		dssh_freezero(me->mgr_mem, me->mgr_size);
		me->mgr = me->mgr_mem = NULL;
		return DSSH_ERR_UNSUPPORTED;
	}
	if ((me->sse_mem = aligned_alloc(64, me->mgr_size)) == NULL) {
		dssh_freezero(me->mgr_mem, me->mgr_size);
		me->mgr = me->mgr_mem = NULL;
		return DSSH_ERR_ALLOC;
	}
	me->sse = imb_set_pointers_mb_mgr(me->sse_mem, 0, 1);
	init_mb_mgr_sse(me->sse);
	dssh_verbose("ipsecmb: IPsec-MB %s, %s manager%s; small HMAC bursts on sse%s",
	    imb_get_version_str(), arch_name(arch),
	    (me->mgr->features & IMB_FEATURE_VAES) ? " (VAES)" : "",
	    (me->sse->features & IMB_FEATURE_SHANI) ? " (SHA-NI)" : "");
	me->nslots = n;
	me->done_cap = IPSECMB_DONE_CAP;
	me->gcm_enc[0] = me->mgr->gcm128_enc;
	me->gcm_enc[1] = me->mgr->gcm256_enc;
	me->gcm_dec[0] = me->mgr->gcm128_dec;
	me->gcm_dec[1] = me->mgr->gcm256_dec;
	if ((me->slots = calloc(n, sizeof(*me->slots))) == NULL ||
	    (me->done = calloc(me->done_cap, sizeof(*me->done))) == NULL ||
	    (me->cseal = calloc(n, sizeof(*me->cseal))) == NULL ||
	    (me->copen = calloc(n, sizeof(*me->copen))) == NULL ||
	    dssh_chacha_mb_new(n, &me->cmb) != 0) {
		free(me->slots);
		free(me->done);
		free(me->cseal);
		free(me->copen);
		me->done = NULL;
		me->cseal = me->copen = NULL;
		dssh_freezero(me->mgr_mem, me->mgr_size);
		dssh_freezero(me->sse_mem, me->mgr_size);
		me->slots = NULL;
		me->mgr = me->mgr_mem = me->sse = me->sse_mem = NULL;
		return DSSH_ERR_ALLOC;
	}
	return 0;
}

static void
ipsecmb_engine_fini(struct dssh_crypto_engine *e)
{
	struct ipsecmb_engine *me = eng(e);
	unsigned i;

	if (me->slots != NULL) {
		for (i = 0; i < me->nslots; i++) {
			dssh_freezero(me->slots[i].scratch, me->slots[i].scratch_cap);
			dssh_wipe(&me->slots[i], sizeof(me->slots[i]));
		}
		free(me->slots);
	}
	free(me->done);
	dssh_chacha_mb_free(me->cmb);
	free(me->cseal);
	free(me->copen);
	dssh_freezero(me->mgr_mem, me->mgr_size);
	dssh_freezero(me->sse_mem, me->mgr_size);
	memset(me, 0, sizeof(*me));
}

/* HMAC inner/outer states: one compression of (key ^ pad) from the IV. */
static void
hmac_precompute(IMB_MGR *m, IMB_HASH_ALG alg, const uint8_t *key, size_t klen,
    uint8_t *ipad, uint8_t *opad)
{
	uint8_t blk[128];
	size_t bs = alg == IMB_AUTH_HMAC_SHA_256 ? 64 : 128, i;

	/* key lengths here (32, 64) never exceed the block size */
	memset(blk, 0x36, bs);
	for (i = 0; i < klen; i++)
		blk[i] ^= key[i];
	if (alg == IMB_AUTH_HMAC_SHA_256)
		IMB_SHA256_ONE_BLOCK(m, blk, ipad);
	else
		IMB_SHA512_ONE_BLOCK(m, blk, ipad);
	memset(blk, 0x5c, bs);
	for (i = 0; i < klen; i++)
		blk[i] ^= key[i];
	if (alg == IMB_AUTH_HMAC_SHA_256)
		IMB_SHA256_ONE_BLOCK(m, blk, opad);
	else
		IMB_SHA512_ONE_BLOCK(m, blk, opad);
	dssh_wipe(blk, sizeof(blk));
}

static int
ipsecmb_sa_init(struct dssh_crypto_sa *sa, const struct dssh_crypto_keys *keys)
{
	struct ipsecmb_sa *s = sapriv(sa);
	IMB_MGR *m = eng(sa->engine)->mgr;
	struct ipsecmb_keys *k;
	int r;

	if ((k = aligned_alloc(64, (sizeof(*k) + 63) & ~(size_t)63)) == NULL)
		return DSSH_ERR_ALLOC;
	memset(k, 0, sizeof(*k));
	s->k = k;
	switch (sa->cipher->id) {
	case DSSH_CIPHER_AES128_GCM:
	case DSSH_CIPHER_AES256_GCM:
		s->kind = KIND_GCM;
		s->key_len = sa->cipher->key_len;
		if (s->key_len == 16)
			IMB_AES128_GCM_PRE(m, keys->key, &k->gcm);
		else
			IMB_AES256_GCM_PRE(m, keys->key, &k->gcm);
		memcpy(&k->gcm_fixed, keys->iv, 4);
		k->gcm_ctr = dssh_get_u64be(keys->iv + 4);
		return 0;
	case DSSH_CIPHER_CHACHA20_POLY1305:
		s->kind = KIND_CHACHA;
		/* OpenSSH: the first 32 bytes are the main key K_2, then K_1 */
		memcpy(k->chacha_key, keys->key, 64);
		return 0;
	case DSSH_CIPHER_AES128_CTR:
		IMB_AES_KEYEXP_128(m, keys->key, k->enc_keys, k->dec_keys);
		break;
	case DSSH_CIPHER_AES192_CTR:
		IMB_AES_KEYEXP_192(m, keys->key, k->enc_keys, k->dec_keys);
		break;
	case DSSH_CIPHER_AES256_CTR:
		IMB_AES_KEYEXP_256(m, keys->key, k->enc_keys, k->dec_keys);
		break;
	default:
		r = DSSH_ERR_UNSUPPORTED;
		goto fail;
	}
	s->key_len = sa->cipher->key_len;
	memcpy(k->ctr, keys->iv, 16);
	memcpy(k->ctr0, keys->iv, 16);
	switch (sa->mac->id) {
	case DSSH_MAC_HMAC_SHA2_256:
	case DSSH_MAC_HMAC_SHA2_256_ETM:
		s->hmac_alg = IMB_AUTH_HMAC_SHA_256;
		break;
	case DSSH_MAC_HMAC_SHA2_512:
	case DSSH_MAC_HMAC_SHA2_512_ETM:
		s->hmac_alg = IMB_AUTH_HMAC_SHA_512;
		break;
	case DSSH_MAC_UMAC_64_ETM:
	case DSSH_MAC_UMAC_128_ETM:
		s->kind = KIND_CTR_UMAC;
		s->mac_len = sa->mac->mac_len;
		if ((r = dssh_umac_new(keys->mac_key, s->mac_len, &s->umac)) != 0)
			goto fail;
		return 0;
	default:
		r = DSSH_ERR_UNSUPPORTED;
		goto fail;
	}
	s->kind = sa->mac->etm ? KIND_CTR_ETM : KIND_CTR_HMAC;
	s->mac_len = sa->mac->mac_len;
	hmac_precompute(m, s->hmac_alg, keys->mac_key, sa->mac->key_len, k->ipad, k->opad);
	return 0;
 fail:
	dssh_freezero(k, sizeof(*k));
	s->k = NULL;
	return r;
}

static void
ipsecmb_sa_fini(struct dssh_crypto_sa *sa)
{
	struct ipsecmb_sa *s = sapriv(sa);

	dssh_freezero(s->k, sizeof(*s->k));
	dssh_umac_free(s->umac);
	dssh_wipe(s, sizeof(*s));
}

/* --- counter helpers ---------------------------------------------------- */

static inline void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

/* --- job plumbing ------------------------------------------------------- */

static inline void
job_done(IMB_JOB *j)
{
	struct ipsecmb_slot *sl = j->user_data;

	if (dssh_unlikely(j->status != IMB_STATUS_COMPLETED) && sl->status == 0)
		sl->status = DSSH_ERR_LIBCRYPTO;
}

static inline IMB_JOB *
job_get(IMB_MGR *m, struct ipsecmb_slot *sl)
{
	IMB_JOB *j = IMB_GET_NEXT_JOB(m);

	j->user_data = sl;
	j->chain_order = IMB_ORDER_CIPHER_HASH;
	j->cipher_start_src_offset_in_bytes = 0;
	j->hash_start_src_offset_in_bytes = 0;
	j->msg_len_to_cipher_in_bytes = 0;
	j->msg_len_to_hash_in_bytes = 0;
	j->auth_tag_output = NULL;
	j->auth_tag_output_len_in_bytes = 0;
	j->iv = NULL;
	j->iv_len_in_bytes = 0;
	return j;
}

static inline void
job_submit(IMB_MGR *m)
{
	IMB_JOB *j = IMB_SUBMIT_JOB(m);

	while (j != NULL) {
		job_done(j);
		j = IMB_GET_COMPLETED_JOB(m);
	}
}

static void
jobs_flush(IMB_MGR *m)
{
	IMB_JOB *j;

	while ((j = IMB_FLUSH_JOB(m)) != NULL)
		job_done(j);
}

/* CTR over pkt[off, off + len) from counter block ctr; splits at a 2^32
 * wrap of the low word (see top of file). */
static void
submit_ctr(IMB_MGR *m, struct ipsecmb_slot *sl, const struct ipsecmb_sa *s, uint8_t *buf,
    uint32_t off, uint32_t len, IMB_CIPHER_DIRECTION dir)
{
	uint64_t nblk = ((uint64_t)len + 15) / 16;
	uint64_t room = (uint64_t)1 << 32;
	uint32_t first;
	int part;
	IMB_JOB *j;

	room -= dssh_get_u32be(sl->iv[0] + 12);
	if (len == 0)
		return;
	first = nblk > room ? (uint32_t)(room * 16) : len;
	for (part = 0; part < 2; part++) {
		uint32_t o = part == 0 ? off : off + first;
		uint32_t l = part == 0 ? first : len - first;

		if (l == 0)
			break;
		if (part == 1) {
			memcpy(sl->iv[1], sl->iv[0], 16);
			dssh_crypto_ctr_add(sl->iv[1], room);
		}
		j = job_get(m, sl);
		j->cipher_mode = IMB_CIPHER_CNTR;
		j->cipher_direction = dir;
		j->hash_alg = IMB_AUTH_NULL;
		j->enc_keys = s->k->enc_keys;
		j->dec_keys = s->k->enc_keys;
		j->key_len_in_bytes = s->key_len;
		j->src = buf;
		j->dst = buf + o;
		j->cipher_start_src_offset_in_bytes = o;
		j->msg_len_to_cipher_in_bytes = l;
		j->iv = sl->iv[part];
		j->iv_len_in_bytes = 16;
		job_submit(m);
	}
}

static int
scratch_fill(struct ipsecmb_slot *sl, uint32_t seq, const uint8_t *p, size_t n)
{
	size_t need = 4 + n;

	if (need > sl->scratch_cap) {
		uint8_t *ns;
		size_t cap = need < 4096 ? 4096 : need + need / 4;

		if ((ns = malloc(cap)) == NULL)
			return DSSH_ERR_ALLOC;
		dssh_freezero(sl->scratch, sl->scratch_cap);
		sl->scratch = ns;
		sl->scratch_cap = cap;
	}
	put_be32(sl->scratch, seq);
	memcpy(sl->scratch + 4, p, n);
	return 0;
}

static void
submit_hmac(IMB_MGR *m, struct ipsecmb_slot *sl, const struct ipsecmb_sa *s, size_t n,
    uint8_t *tag)
{
	IMB_JOB *j = job_get(m, sl);

	j->cipher_mode = IMB_CIPHER_NULL;
	j->cipher_direction = IMB_DIR_ENCRYPT;
	j->hash_alg = s->hmac_alg;
	j->src = sl->scratch;
	j->dst = sl->scratch;
	j->msg_len_to_hash_in_bytes = n;
	j->u.HMAC._hashed_auth_key_xor_ipad = s->k->ipad;
	j->u.HMAC._hashed_auth_key_xor_opad = s->k->opad;
	j->auth_tag_output = tag;
	j->auth_tag_output_len_in_bytes = s->mac_len;
	job_submit(m);
}

/* Basic shape checks, so that no job can run past the caller's buffer. */
static int
op_check(const struct dssh_crypto_engine *e, const struct dssh_crypto_op *op)
{
	const struct dssh_crypto_sa *sa = op->sa;

	/* The smallest SSH packet is 12 bytes with chacha20-poly1305 (block 8,
	 * length not counted): OpenSSH sends those for 1-byte messages. */
	if (sa == NULL || sa->engine != e || op->pkt == NULL || op->len < 12 ||
	    op->len > (1u << 30))
		return DSSH_ERR_INVALID_ARGUMENT;
	/* block lengths are 8 or 16: a mask, not a division per packet */
	uint32_t bm = sa->cipher->block_len - 1u;

	switch (sapriv((struct dssh_crypto_sa *)sa)->kind) {
	case KIND_CTR_HMAC:
		return op->len >= 16 && (op->len & bm) == 0 ? 0 : DSSH_ERR_INVALID_ARGUMENT;
	case KIND_CTR_ETM:
	case KIND_CTR_UMAC:
	case KIND_GCM:
		return op->len >= 16 && ((op->len - 4) & bm) == 0 ? 0 : DSSH_ERR_INVALID_ARGUMENT;
	case KIND_CHACHA:
		return ((op->len - 4) & bm) == 0 ? 0 : DSSH_ERR_INVALID_ARGUMENT;
	}
	return DSSH_ERR_INTERNAL;
}

/*
 * One AES-GCM op, start to end, with IPsec-MB's direct GCM call: the tag goes
 * straight after the packet when sealing; when opening it is computed into a
 * local buffer and compared in constant time, and a bad packet is wiped
 * before anyone sees it.
 */
static int
gcm_one(struct ipsecmb_engine *me, struct dssh_crypto_op *op)
{
	struct ipsecmb_sa *s = sapriv(op->sa);
	struct ipsecmb_keys *k = s->k;
	struct gcm_context_data ctx;
	DECLARE_ALIGNED(uint8_t iv[16], 16);
	uint8_t tag[16];
	uint64_t ctr = __builtin_bswap64(k->gcm_ctr++);
	unsigned w = s->key_len == 32;
	uint8_t *pkt = op->pkt;
	uint32_t len = op->len;

	/* fixed || counter (big endian) || 0 in one 16-byte store: the GCM
	 * code's load of the IV then forwards from it (two narrower stores
	 * under one wider load stall until they retire) */
	_mm_store_si128((__m128i *)iv, _mm_set_epi64x((long long)(ctr >> 32),
	    (long long)((uint64_t)k->gcm_fixed | (ctr << 32))));
	if (op->sa->dir == DSSH_CRYPTO_SEAL) {
		me->gcm_enc[w](&k->gcm, &ctx, pkt + 4, pkt + 4, len - 4, iv, pkt, 4, pkt + len, 16);
		return 0;
	}
	me->gcm_dec[w](&k->gcm, &ctx, pkt + 4, pkt + 4, len - 4, iv, pkt, 4, tag, 16);
	if (dssh_ct_memcmp(tag, pkt + len, 16) != 0) {
		dssh_wipe(pkt, len);
		return DSSH_ERR_MAC_INVALID;
	}
	return 0;
}

/* Phase 0: state advance and first jobs. */
static void
phase0(struct ipsecmb_engine *me, struct dssh_crypto_op *op, struct ipsecmb_slot *sl)
{
	struct ipsecmb_sa *s = sapriv(op->sa);
	IMB_MGR *m = me->mgr;
	bool seal = op->sa->dir == DSSH_CRYPTO_SEAL;
	IMB_CIPHER_DIRECTION dir = seal ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
	uint8_t *pkt = op->pkt;
	uint32_t len = op->len;
	int r;

	switch (s->kind) {
	case KIND_GCM:
		break;              /* done at check time (gcm_one) */
	case KIND_CTR_HMAC:
		memcpy(sl->iv[0], s->k->ctr, 16);
		dssh_crypto_ctr_add(s->k->ctr, len / 16);
		if (seal) {
			if ((r = scratch_fill(sl, op->seq, pkt, len)) != 0) {
				sl->status = r;
				break;
			}
			submit_hmac(me->hmac_mgr, sl, s, 4 + (size_t)len, pkt + len);
		}
		submit_ctr(m, sl, s, pkt, 0, len, dir);
		break;
	case KIND_CTR_ETM:
	case KIND_CTR_UMAC:
		memcpy(sl->iv[0], s->k->ctr, 16);
		dssh_crypto_ctr_add(s->k->ctr, (len - 4) / 16);
		if (!seal) {
			if (s->kind == KIND_CTR_UMAC) {
				dssh_umac_mac(s->umac, op->seq, pkt, len, sl->tag);
			} else {
				if ((r = scratch_fill(sl, op->seq, pkt, len)) != 0) {
					sl->status = r;
					break;
				}
				submit_hmac(me->hmac_mgr, sl, s, 4 + (size_t)len, sl->tag);
			}
		}
		submit_ctr(m, sl, s, pkt, 4, len - 4, dir);
		break;
	case KIND_CHACHA:
		break;              /* done before phase 0 (chacha_run) */
	}
}

/* Phase 1: jobs that need phase 0's output. */
static void
phase1(struct ipsecmb_engine *me, struct dssh_crypto_op *op, struct ipsecmb_slot *sl)
{
	struct ipsecmb_sa *s = sapriv(op->sa);
	bool seal = op->sa->dir == DSSH_CRYPTO_SEAL;
	uint8_t *pkt = op->pkt;
	uint32_t len = op->len;
	int r;

	switch (s->kind) {
	case KIND_GCM:
		break;
	case KIND_CTR_HMAC:
		if (!seal) {
			if ((r = scratch_fill(sl, op->seq, pkt, len)) != 0) {
				sl->status = r;
				break;
			}
			submit_hmac(me->hmac_mgr, sl, s, 4 + (size_t)len, sl->tag);
		}
		break;
	case KIND_CTR_ETM:
		if (seal) {
			if ((r = scratch_fill(sl, op->seq, pkt, len)) != 0) {
				sl->status = r;
				break;
			}
			submit_hmac(me->hmac_mgr, sl, s, 4 + (size_t)len, pkt + len);
		}
		break;
	case KIND_CTR_UMAC:
		if (seal)
			dssh_umac_mac(s->umac, op->seq, pkt, len, pkt + len);
		break;
	case KIND_CHACHA:
		break;
	}
}

/* After the last phase: verify (open) and publish the status. */
static void
finish(struct dssh_crypto_op *op, struct ipsecmb_slot *sl)
{
	size_t tl;

	if (op->sa == NULL) {
		op->status = sl->status;   /* refused by op_check; nothing ran */
		return;
	}
	struct ipsecmb_sa *s = sapriv(op->sa);

	if (s->kind == KIND_CHACHA && sl->status == 0)
		sl->status = sl->chacha > 0 ? eng(op->sa->engine)->cseal[sl->chacha - 1].status :
		    eng(op->sa->engine)->copen[-sl->chacha - 1].status;
	if (op->sa->dir == DSSH_CRYPTO_OPEN && sl->status == 0 && s->kind != KIND_CHACHA) {
		tl = s->kind == KIND_GCM ? 16 : s->mac_len;
		if (dssh_ct_memcmp(sl->tag, op->pkt + op->len, tl) != 0)
			sl->status = DSSH_ERR_MAC_INVALID;
	}
	if (sl->status != 0 && op->sa->dir == DSSH_CRYPTO_OPEN && op->pkt != NULL &&
	    op->len <= (1u << 30))
		dssh_wipe(op->pkt, op->len);
	op->status = sl->status;
	dssh_wipe(sl->tag, sizeof(sl->tag));
}

/* Every chacha20-poly1305 op of the chunk at once (see top of file). */
static void
chacha_run(struct ipsecmb_engine *me, struct dssh_crypto_op **ops, unsigned cnt)
{
	unsigned i, ns = 0, no = 0;

	for (i = 0; i < cnt; i++) {
		struct dssh_crypto_op *op = ops[i];
		struct ipsecmb_slot *sl = &me->slots[i];
		struct dssh_chacha_mb_op *c;

		sl->chacha = 0;
		if (sl->status != 0 || sapriv(op->sa)->kind != KIND_CHACHA)
			continue;
		if (op->sa->dir == DSSH_CRYPTO_SEAL) {
			c = &me->cseal[ns++];
			sl->chacha = (int)ns;
		} else {
			c = &me->copen[no++];
			sl->chacha = -(int)no;
		}
		*c = (struct dssh_chacha_mb_op){ sapriv(op->sa)->k->chacha_key, op->pkt, op->len,
		    op->seq, 0 };
	}
	if (ns > 0)
		dssh_chacha_mb_seal(me->cmb, me->cseal, ns);
	if (no > 0)
		dssh_chacha_mb_open(me->cmb, me->copen, no);
}

static void
done_push(struct ipsecmb_engine *me, struct dssh_crypto_op *op)
{
	me->done[(me->done_head + me->done_count) & (IPSECMB_DONE_CAP - 1)] = op;
	me->done_count++;
}

static unsigned
ipsecmb_submit(struct dssh_crypto_engine *e, struct dssh_crypto_op **ops, unsigned n)
{
	struct ipsecmb_engine *me = eng(e);
	unsigned room = me->done_cap - me->done_count, done = 0, cnt, i, nh, nchacha, nother;

	if (n > room)
		n = room;
	while (done < n) {
		cnt = DSSH_MIN(n - done, me->nslots);
		/* AES-GCM ops are finished here, in order; the others are
		 * counted and go through the phases below */
		for (i = 0, nchacha = nother = nh = 0; i < cnt; i++) {
			struct dssh_crypto_op *op = ops[done + i];
			struct ipsecmb_slot *sl = &me->slots[i];

			sl->status = op_check(e, op);
			sl->refused = sl->status != 0;
			sl->fast = false;
			if (sl->refused)
				continue;
			switch (sapriv(op->sa)->kind) {
			case KIND_GCM:
				op->status = gcm_one(me, op);
				sl->fast = true;
				break;
			case KIND_CHACHA:
				nchacha++;
				break;
			case KIND_CTR_HMAC:
			case KIND_CTR_ETM:
				nh++;
				nother++;
				break;
			default:
				nother++;
				break;
			}
		}
		/*
		 * HMAC-SHA2 is multi-lane in the AVX2/AVX-512 managers: a lone
		 * job runs in one lane of 8 or 16 (several times slower than
		 * SHA-NI). Chunks with few HMAC jobs use the SSE manager, which
		 * has SHA-NI for SHA-256 and 2-lane SHA-512.
		 */
		me->hmac_mgr = nh < IPSECMB_HMAC_LANES_MIN ? me->sse : me->mgr;
		if (nchacha > 0)
			chacha_run(me, ops + done, cnt);
		if (nother > 0) {
			for (i = 0; i < cnt; i++)
				if (me->slots[i].status == 0 && !me->slots[i].fast)
					phase0(me, ops[done + i], &me->slots[i]);
			jobs_flush(me->mgr);
			jobs_flush(me->sse);
			for (i = 0; i < cnt; i++)
				if (me->slots[i].status == 0 && !me->slots[i].fast)
					phase1(me, ops[done + i], &me->slots[i]);
			jobs_flush(me->mgr);
			jobs_flush(me->sse);
		}
		for (i = 0; i < cnt; i++) {
			if (me->slots[i].refused)
				ops[done + i]->status = me->slots[i].status;  /* untouched */
			else if (!me->slots[i].fast)
				finish(ops[done + i], &me->slots[i]);
			done_push(me, ops[done + i]);
		}
		done += cnt;
	}
	return n;
}

static unsigned
ipsecmb_complete(struct dssh_crypto_engine *e, struct dssh_crypto_op **ops, unsigned max)
{
	struct ipsecmb_engine *me = eng(e);
	unsigned n = DSSH_MIN(max, me->done_count), i;

	for (i = 0; i < n; i++) {
		ops[i] = me->done[me->done_head];
		me->done_head = (me->done_head + 1) & (IPSECMB_DONE_CAP - 1);
	}
	me->done_count -= n;
	return n;
}

/* Classic CTR: the first block of wire decrypted with counter block ctr. */
static int
ctr_first_block(struct dssh_crypto_sa *sa, const uint8_t ctr[16], const uint8_t *wire,
    uint32_t *packet_length)
{
	struct ipsecmb_engine *me = eng(sa->engine);
	struct ipsecmb_slot sl;
	uint8_t blk[16];
	unsigned i;

	memset(&sl, 0, sizeof(sl));
	memcpy(sl.iv[0], ctr, 16);
	memset(blk, 0, 16);
	submit_ctr(me->mgr, &sl, sapriv(sa), blk, 0, 16, IMB_DIR_ENCRYPT);
	jobs_flush(me->mgr);
	dssh_wipe(sl.iv, sizeof(sl.iv));
	if (sl.status != 0)
		return sl.status;
	for (i = 0; i < 4; i++)
		blk[i] ^= wire[i];
	*packet_length = dssh_get_u32be(blk);
	dssh_wipe(blk, sizeof(blk));
	return 0;
}

static int ipsecmb_peek_length(struct dssh_crypto_sa *sa, uint32_t seq, const uint8_t *wire,
    uint32_t *packet_length);

static int
ipsecmb_peek_length_at(struct dssh_crypto_sa *sa, uint32_t seq, uint64_t block,
    const uint8_t *wire, uint32_t *packet_length)
{
	struct ipsecmb_sa *s = sapriv(sa);
	uint8_t ctr[16];
	int r;

	if (s->kind != KIND_CTR_HMAC)
		return ipsecmb_peek_length(sa, seq, wire, packet_length);
	memcpy(ctr, s->k->ctr0, 16);
	dssh_crypto_ctr_add(ctr, block);
	r = ctr_first_block(sa, ctr, wire, packet_length);
	dssh_wipe(ctr, sizeof(ctr));
	return r;
}

static int
ipsecmb_peek_length(struct dssh_crypto_sa *sa, uint32_t seq, const uint8_t *wire,
    uint32_t *packet_length)
{
	struct ipsecmb_sa *s = sapriv(sa);
	uint8_t blk[4];
	unsigned i;

	switch (s->kind) {
	case KIND_GCM:
	case KIND_CTR_ETM:
	case KIND_CTR_UMAC:
		*packet_length = dssh_get_u32be(wire);
		return 0;
	case KIND_CHACHA:
		/* framing asks for one packet after the other: one lane pass
		 * gives the next 16 lengths' keystream */
		if (seq - s->k->len_seq >= s->k->len_n) {
			dssh_chacha_mb_length_ks(s->k->chacha_key, seq, 16, s->k->len_ks);
			s->k->len_seq = seq;
			s->k->len_n = 16;
		}
		memcpy(blk, s->k->len_ks[seq - s->k->len_seq], 4);
		break;
	case KIND_CTR_HMAC:
		return ctr_first_block(sa, s->k->ctr, wire, packet_length);
	}
	for (i = 0; i < 4; i++)
		blk[i] ^= wire[i];
	*packet_length = dssh_get_u32be(blk);
	dssh_wipe(blk, sizeof(blk));
	return 0;
}

const struct dssh_crypto_engine_ops dssh_crypto_ipsecmb_ops = {
	.name = "ipsecmb",
	.engine_priv_size = sizeof(struct ipsecmb_engine),
	.sa_priv_size = sizeof(struct ipsecmb_sa),
	.engine_init = ipsecmb_engine_init,
	.engine_fini = ipsecmb_engine_fini,
	.sa_init = ipsecmb_sa_init,
	.sa_fini = ipsecmb_sa_fini,
	.peek_length = ipsecmb_peek_length,
	.peek_length_at = ipsecmb_peek_length_at,
	.submit = ipsecmb_submit,
	.complete = ipsecmb_complete,
};
