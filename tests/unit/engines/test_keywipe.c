/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Key wiping ("keys live in engine-owned contexts, wiped on free and on
 * rekey"), checked from outside the engines, for every engine built in:
 *
 *  - Every heap block freed is scanned for key bytes just before it goes:
 *    the frees of our own code through link-time wrappers of this
 *    executable only (-Wl,--wrap=malloc,...,--wrap=free), OpenSSL's through
 *    CRYPTO_set_mem_functions (the EVP contexts the engines key: an AES key
 *    schedule starts with the raw key, ChaCha20 keeps it as is, HMAC keeps a
 *    copy). A freed block holding a key is a key left behind in memory.
 *  - The keys are whatever dssh_crypto_sa_new() is given (wrapped too):
 *    distinctive random keys for the engine-level cases, the keys the key
 *    exchange derived for the SSH session cases (server and test client).
 *  - Once every SA holding a key has been freed (dssh_crypto_sa_free()
 *    wrapped), no live heap block may still hold it, nor, for cryptodev,
 *    any DPDK memory (session mempools, rte_malloc heap). That is checked
 *    after each "rekey" (old SAs replaced by new ones) and after the engine
 *    or the connection is freed.
 *  - While an SA is alive its cipher key is found (the detector is not
 *    blind for that engine and mode), and self-checks show each detector
 *    firing on a key left behind on purpose.
 *
 * Built a second time with DSSH_TEST_CRYPTODEV for the cryptodev engine on
 * the crypto_aesni_mb and crypto_openssl vdevs (EAL --no-huge).
 */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dssh_crypto.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_sshkey.h"
#include "dssh_ssh.h"
#include "dssh_test.h"
#include "dssh_util.h"
#include "ssh_msg.h"
#include "test_client.h"

#ifdef DSSH_TEST_CRYPTODEV
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#endif

/* ------------------------------------------------------------ key patterns */

#define PAT_LEN 16
#define MAX_PATS 8192
#define MAX_SAS 1024

struct pat {
	uint8_t b[PAT_LEN];
	int live;                /* SAs holding it; 0: retired, must be gone */
	bool probe;              /* looked for by SCAN_PROBE */
	bool dead;               /* the self-check's key, done with */
	const char *what;        /* "cipher key", "MAC key" */
	int next;                /* hash chain */
};

static struct pat pats[MAX_PATS];
static int npats;
static int heads[1 << 16];
static uint8_t filt[1 << 16];

struct sa_rec {
	const void *sa;
	int idx[16];
	int n;
};

static struct sa_rec sa_recs[MAX_SAS];
static int nsa_recs;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static bool hooks_on;
static int leaks;                 /* freed blocks that held a key */
static char last_leak[512];

static unsigned
hash4(const uint8_t *p)
{
	uint32_t w;

	memcpy(&w, p, 4);
	return (w * 2654435761u) >> 16;
}

/* Index of a pattern equal to p, or -1. */
static int
pat_find(const uint8_t *p)
{
	unsigned h = hash4(p);

	if (!filt[h])
		return -1;
	for (int i = heads[h]; i >= 0; i = pats[i].next)
		if (memcmp(pats[i].b, p, PAT_LEN) == 0)
			return i;
	return -1;
}

static int
pat_add(const uint8_t *p, const char *what)
{
	int i = pat_find(p);

	if (i >= 0)
		return i;
	if (npats >= MAX_PATS)
		return -1;
	i = npats++;
	memcpy(pats[i].b, p, PAT_LEN);
	pats[i].what = what;
	pats[i].live = 0;
	pats[i].probe = false;
	pats[i].dead = false;
	unsigned h = hash4(p);

	pats[i].next = filt[h] ? heads[h] : -1;
	heads[h] = i;
	filt[h] = 1;
	return i;
}

enum scan_kind {
	SCAN_ANY,        /* a freed block: no key may be in it */
	SCAN_RETIRED,    /* live memory: keys no SA holds any more */
	SCAN_PROBE,      /* live memory: the keys marked probe */
};

static bool
wanted(const struct pat *pt, enum scan_kind k)
{
	return !pt->dead && (k == SCAN_ANY || (k == SCAN_RETIRED && pt->live == 0) ||
	    (k == SCAN_PROBE && pt->probe));
}

/* First matching pattern in [p, p+n), or -1. One pass whatever the number
 * of patterns. */
static int
scan(const void *vp, size_t n, enum scan_kind k)
{
	const uint8_t *p = vp;

	if (p == NULL || n < PAT_LEN || npats == 0)
		return -1;
	for (size_t i = 0; i + PAT_LEN <= n; i++) {
		/* A window starting in the 8 bytes at i covers the 8 after them
		 * whole; random keys have no 8 zero bytes in a row (add_key_pats
		 * makes sure): skip zeroed memory 8 bytes a step. */
		if ((i & 7) == 0 && i + 16 <= n) {
			uint64_t w;

			memcpy(&w, p + i + 8, 8);
			if (w == 0) {
				i += 7;
				continue;
			}
		}
		unsigned h = hash4(p + i);

		if (!filt[h])
			continue;
		for (int j = heads[h]; j >= 0; j = pats[j].next)
			if (wanted(&pats[j], k) && memcmp(pats[j].b, p + i, PAT_LEN) == 0)
				return j;
	}
	return -1;
}

/* ------------------------------------------------------------ heap tracking */

#define TBITS 20
#define TSIZE (1u << TBITS)

static struct blk {
	uintptr_t p;
	size_t n;
} tab[TSIZE];
static size_t ntab;

static size_t
slot_of(uintptr_t p)
{
	return (size_t)(((uint64_t)(p >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - TBITS));
}

static void
track_add(void *vp, size_t n)
{
	uintptr_t p = (uintptr_t)vp;

	if (vp == NULL || ntab >= TSIZE - 1)
		return;
	pthread_mutex_lock(&mu);
	size_t i = slot_of(p);

	while (tab[i].p != 0 && tab[i].p != p)
		i = (i + 1) & (TSIZE - 1);
	if (tab[i].p == 0)
		ntab++;
	tab[i].p = p;
	tab[i].n = n;
	pthread_mutex_unlock(&mu);
}

/* Removes p; returns its size, or (size_t)-1 when it was not tracked. */
static size_t
track_del(void *vp)
{
	uintptr_t p = (uintptr_t)vp;
	size_t n = (size_t)-1;

	pthread_mutex_lock(&mu);
	size_t i = slot_of(p);

	while (tab[i].p != 0 && tab[i].p != p)
		i = (i + 1) & (TSIZE - 1);
	if (tab[i].p == p) {
		n = tab[i].n;
		/* Backward-shift deletion (linear probing, no tombstones). */
		size_t j = i;

		for (;;) {
			j = (j + 1) & (TSIZE - 1);
			if (tab[j].p == 0)
				break;
			size_t home = slot_of(tab[j].p);

			if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
				tab[i] = tab[j];
				i = j;
			}
		}
		tab[i].p = 0;
		tab[i].n = 0;
		ntab--;
	}
	pthread_mutex_unlock(&mu);
	return n;
}

/* The symbolizer of ASan/UBSan, when linked: names the code that freed. */
void __sanitizer_symbolize_pc(void *pc, const char *fmt, char *out, size_t n)
    __attribute__((weak));

static void
note_leak(int j, size_t n, void *pc, const char *file, int line)
{
	char where[256] = "?";

	if (file != NULL)
		snprintf(where, sizeof(where), "%s:%d", file, line);
	else if (__sanitizer_symbolize_pc != NULL)
		__sanitizer_symbolize_pc(pc, "%F %L", where, sizeof(where));
	else
		snprintf(where, sizeof(where), "%p", pc);
	leaks++;
	snprintf(last_leak, sizeof(last_leak), "%s in a %zu-byte block freed unwiped by %s",
	    pats[j].what, n, where);
	fprintf(stderr, "  LEAK: %s\n", last_leak);
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_aligned_alloc(size_t al, size_t n);
int __real_posix_memalign(void **pp, size_t al, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t al, size_t n);
int __wrap_posix_memalign(void **pp, size_t al, size_t n);
void __wrap_free(void *p);

static void
checked_free(void *p, void *pc, const char *file, int line)
{
	if (p == NULL)
		return;
	size_t n = track_del(p);

	if (n == (size_t)-1)
		n = malloc_usable_size(p);
	if (hooks_on) {
		int j = scan(p, n, SCAN_ANY);

		if (j >= 0)
			note_leak(j, n, pc, file, line);
	}
	__real_free(p);
}

void *
__wrap_malloc(size_t n)
{
	void *p = __real_malloc(n);

	track_add(p, n);
	return p;
}

void *
__wrap_calloc(size_t a, size_t b)
{
	void *p = __real_calloc(a, b);

	track_add(p, a * b);
	return p;
}

void *
__wrap_aligned_alloc(size_t al, size_t n)
{
	void *p = __real_aligned_alloc(al, n);

	track_add(p, n);
	return p;
}

int
__wrap_posix_memalign(void **pp, size_t al, size_t n)
{
	int r = __real_posix_memalign(pp, al, n);

	if (r == 0)
		track_add(*pp, n);
	return r;
}

/* Always moves: a realloc that moves leaves the old bytes in freed memory,
 * so the old block is checked like a free. */
static void *
moving_realloc(void *p, size_t n, void *pc, const char *file, int line)
{
	if (p == NULL)
		return __wrap_malloc(n);
	if (n == 0) {
		checked_free(p, pc, file, line);
		return NULL;
	}
	void *q = __wrap_malloc(n);

	if (q == NULL)
		return NULL;
	size_t old = malloc_usable_size(p);

	memcpy(q, p, old < n ? old : n);
	checked_free(p, pc, file, line);
	return q;
}

void *
__wrap_realloc(void *p, size_t n)
{
	return moving_realloc(p, n, __builtin_return_address(0), NULL, 0);
}

void
__wrap_free(void *p)
{
	checked_free(p, __builtin_return_address(0), NULL, 0);
}

static void *
ossl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return __wrap_malloc(n);
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
	return moving_realloc(p, n, NULL, file, line);
}

static void
ossl_free(void *p, const char *file, int line)
{
	checked_free(p, NULL, file ? file : "OpenSSL", line);
}

/* Live memory: every tracked heap block (and DPDK memory) scanned. */
struct live_hit {
	int pat;
	size_t size;
	const char *where;
};

static bool
scan_heap(enum scan_kind k, struct live_hit *hit)
{
	for (size_t i = 0; i < TSIZE; i++) {
		if (tab[i].p == 0)
			continue;
		int j = scan((const void *)tab[i].p, tab[i].n, k);

		if (j >= 0) {
			*hit = (struct live_hit){ j, tab[i].n, "heap block" };
			return true;
		}
	}
	return false;
}

#ifdef DSSH_TEST_CRYPTODEV
struct dpdk_scan {
	enum scan_kind k;
	int pat;
};

static int
dpdk_scan_cb(const struct rte_memseg_list *msl, const struct rte_memseg *ms, size_t len,
    void *arg)
{
	struct dpdk_scan *ds = arg;

	(void)msl;
	ds->pat = scan(ms->addr, len, ds->k);
	return ds->pat >= 0 ? 1 : 0;
}
#endif

static bool
scan_live(enum scan_kind k, struct live_hit *hit)
{
	if (scan_heap(k, hit))
		return true;
#ifdef DSSH_TEST_CRYPTODEV
	struct dpdk_scan ds = { k, -1 };

	rte_memseg_contig_walk(dpdk_scan_cb, &ds);
	if (ds.pat >= 0) {
		*hit = (struct live_hit){ ds.pat, 0, "DPDK memory" };
		return true;
	}
#endif
	return false;
}

/* No retired key anywhere in live memory, no key in any freed block. */
static void
check_clean(const char *when)
{
	struct live_hit hit;

	bool retired_key_in_memory = scan_live(SCAN_RETIRED, &hit);

	if (retired_key_in_memory)
		fprintf(stderr, "  %s: a retired %s is still in %s (%zu bytes; 0: DPDK)\n",
		    when, pats[hit.pat].what, hit.where, hit.size);
	CHECK(!retired_key_in_memory);
	if (leaks != 0)
		fprintf(stderr, "  %s: %d freed block(s) held a key; last: %s\n", when, leaks,
		    last_leak);
	CHECK_EQ_INT(leaks, 0);
	leaks = 0;
}

static int
retired_count(void)
{
	int n = 0;

	for (int i = 0; i < npats; i++)
		n += pats[i].live == 0;
	return n;
}

/* ------------------------------------------------------------ SA wrappers */

int __real_dssh_crypto_sa_new(struct dssh_crypto_engine *e, const struct dssh_crypto_keys *keys,
    enum dssh_crypto_dir dir, struct dssh_crypto_sa **out);
void __real_dssh_crypto_sa_free(struct dssh_crypto_sa *sa);
int __wrap_dssh_crypto_sa_new(struct dssh_crypto_engine *e, const struct dssh_crypto_keys *keys,
    enum dssh_crypto_dir dir, struct dssh_crypto_sa **out);
void __wrap_dssh_crypto_sa_free(struct dssh_crypto_sa *sa);

/* 16-byte windows covering a key of len bytes. */
static void
add_key_pats(struct sa_rec *rec, const uint8_t *k, size_t len, const char *what)
{
	if (len < PAT_LEN)
		return;
	for (size_t off = 0; ; off += PAT_LEN) {
		if (off + PAT_LEN > len)
			off = len - PAT_LEN;
		bool zero8 = false;

		for (size_t z = 0; z + 8 <= PAT_LEN; z++)
			zero8 |= memcmp(k + off + z, "\0\0\0\0\0\0\0\0", 8) == 0;
		if (zero8) {         /* scan() could skip it: one in 2^60, never mind */
			fprintf(stderr, "  a key with 8 zero bytes in a row: not tracked\n");
			if (off + PAT_LEN >= len)
				break;
			continue;
		}
		int i = pat_add(k + off, what);

		if (i >= 0 && rec->n < (int)DSSH_ARRAY_SIZE(rec->idx)) {
			pats[i].live++;
			rec->idx[rec->n++] = i;
		}
		if (off + PAT_LEN >= len)
			break;
	}
}

static void
rec_release(struct sa_rec *rec)
{
	for (int i = 0; i < rec->n; i++)
		pats[rec->idx[i]].live--;
	*rec = sa_recs[--nsa_recs];
}

int
__wrap_dssh_crypto_sa_new(struct dssh_crypto_engine *e, const struct dssh_crypto_keys *keys,
    enum dssh_crypto_dir dir, struct dssh_crypto_sa **out)
{
	struct sa_rec *rec = NULL;
	int r;

	/* Known before the engine sees them: its failure paths are checked too. */
	if (keys != NULL && keys->cipher != NULL && nsa_recs < MAX_SAS) {
		const struct dssh_cipher_info *ci = dssh_cipher_by_id(keys->cipher->id);
		const struct dssh_mac_info *mi = keys->mac ? dssh_mac_by_id(keys->mac->id) : NULL;

		rec = &sa_recs[nsa_recs++];
		memset(rec, 0, sizeof(*rec));
		if (ci != NULL)
			add_key_pats(rec, keys->key, ci->key_len, "cipher key");
		if (ci != NULL && !ci->aead && mi != NULL)
			add_key_pats(rec, keys->mac_key, mi->key_len, "MAC key");
	}
	r = __real_dssh_crypto_sa_new(e, keys, dir, out);
	if (rec != NULL) {
		if (r == 0)
			rec->sa = *out;
		else
			rec_release(rec);
	}
	return r;
}

void
__wrap_dssh_crypto_sa_free(struct dssh_crypto_sa *sa)
{
	__real_dssh_crypto_sa_free(sa);
	for (int i = 0; sa != NULL && i < nsa_recs; i++) {
		if (sa_recs[i].sa == sa) {
			rec_release(&sa_recs[i]);
			break;
		}
	}
}

/* ------------------------------------------------------------ self-checks */

static void
test_detectors(void)
{
	uint8_t k[PAT_LEN];
	struct live_hit hit;
	int j;

	dssh_random(k, sizeof(k));
	j = pat_add(k, "self-check key");   /* live 0: retired */
	CHECK(j >= 0);
	CHECK(!scan_live(SCAN_RETIRED, &hit));

	/* Our heap: seen while live, reported when freed unwiped. */
	uint8_t *p = malloc(100);

	memcpy(p + 33, k, sizeof(k));
	CHECK(scan_live(SCAN_RETIRED, &hit));
	free(p);
	CHECK_EQ_INT(leaks, 1);
	p = malloc(100);
	memcpy(p + 7, k, sizeof(k));
	p = realloc(p, 5000);       /* moved: the old block is a leak */
	CHECK_EQ_INT(leaks, 2);
	dssh_freezero(p, 5000);     /* wiped first: fine */
	CHECK_EQ_INT(leaks, 2);

	/* OpenSSL's heap: the same through its hooks. */
	p = OPENSSL_malloc(64);
	memcpy(p, k, sizeof(k));
	CHECK(scan_live(SCAN_RETIRED, &hit));
	OPENSSL_free(p);
	CHECK_EQ_INT(leaks, 3);
	p = OPENSSL_malloc(64);
	memcpy(p, k, sizeof(k));
	OPENSSL_clear_free(p, 64);
	CHECK_EQ_INT(leaks, 3);

	/* An EVP context holds the raw AES key (round key 0) where we see it,
	 * and OpenSSL cleanses it when freed. */
	EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
	static const uint8_t zero_iv[16];

	CHECK(cx != NULL && EVP_EncryptInit_ex2(cx, EVP_aes_128_ctr(), k, zero_iv, NULL) == 1);
	CHECK(scan_live(SCAN_RETIRED, &hit));
	EVP_CIPHER_CTX_free(cx);
	CHECK(!scan_live(SCAN_RETIRED, &hit));
	CHECK_EQ_INT(leaks, 3);

#ifdef DSSH_TEST_CRYPTODEV
	/* DPDK memory. */
	p = rte_malloc(NULL, 256, 0);
	CHECK(p != NULL);
	if (p != NULL) {
		memcpy(p + 100, k, sizeof(k));
		CHECK(scan_live(SCAN_RETIRED, &hit) && strcmp(hit.where, "DPDK memory") == 0);
		dssh_wipe(p, 256);
		rte_free(p);
		CHECK(!scan_live(SCAN_RETIRED, &hit));
	}
#endif
	/* Done: forget the self-check key. */
	pats[j].dead = true;
	leaks = 0;
	last_leak[0] = '\0';
}

/* ------------------------------------------------------------ engine level */

struct mode {
	const char *cipher, *mac;
};

static const struct mode modes[] = {
	{ "aes128-gcm@openssh.com", NULL },
	{ "aes256-gcm@openssh.com", NULL },
	{ "chacha20-poly1305@openssh.com", NULL },
	{ "aes128-ctr", "hmac-sha2-256" },
	{ "aes192-ctr", "hmac-sha2-512" },
	{ "aes256-ctr", "hmac-sha2-256-etm@openssh.com" },
	{ "aes128-ctr", "hmac-sha2-512-etm@openssh.com" },
	{ "aes256-ctr", "umac-64-etm@openssh.com" },
	{ "aes128-ctr", "umac-128-etm@openssh.com" },
};

static void
make_keys(const struct mode *m, struct dssh_crypto_keys *k)
{
	memset(k, 0, sizeof(*k));
	k->cipher = dssh_cipher_by_name(m->cipher);
	k->mac = m->mac ? dssh_mac_by_name(m->mac) : dssh_mac_by_id(DSSH_MAC_NONE);
	dssh_random(k->key, sizeof(k->key));
	dssh_random(k->iv, sizeof(k->iv));
	dssh_random(k->mac_key, sizeof(k->mac_key));
}

/* Seal n packets with one SA, open them with the other. */
static void
roundtrip(struct dssh_crypto_engine *e, struct dssh_crypto_sa *seal,
    struct dssh_crypto_sa *open, uint32_t seq0)
{
	for (uint32_t s = seq0; s < seq0 + 3; s++) {
		uint8_t buf[600], payload[200];
		size_t bs = dssh_crypto_sa_block_len(seal), tag = dssh_crypto_sa_tag_len(seal);
		size_t len = 100 + s;
		size_t aligned = (dssh_crypto_sa_length_encrypted(seal) ? 4 : 0) + 1 + len;
		size_t pad = bs - aligned % bs;

		if (pad < 4)
			pad += bs;
		size_t plen = 1 + len + pad;

		dssh_random(payload, len);
		memset(buf, 0, sizeof(buf));
		dssh_put_u32be(buf, (uint32_t)plen);
		buf[4] = (uint8_t)pad;
		memcpy(buf + 5, payload, len);
		struct dssh_crypto_op op = { .sa = seal, .pkt = buf, .len = (uint32_t)(4 + plen),
		    .seq = s };
		struct dssh_crypto_op *ops[1] = { &op };

		CHECK_EQ_INT(dssh_crypto_process(e, ops, 1), 0);
		uint32_t got = 0;

		CHECK_EQ_INT(dssh_crypto_sa_peek_length(open, s, buf, 4 + plen + tag, &got), 0);
		CHECK_EQ_INT(got, plen);
		op = (struct dssh_crypto_op){ .sa = open, .pkt = buf, .len = (uint32_t)(4 + plen),
		    .seq = s };
		CHECK_EQ_INT(dssh_crypto_process(e, ops, 1), 0);
		CHECK_MEM(buf + 5, payload, len);
	}
}

static void
set_probe(const struct dssh_crypto_keys *k, bool on)
{
	int i = pat_find(k->key);

	if (i >= 0)
		pats[i].probe = on;
}

/* Keys of SA a are in memory while it lives (the check can see them). */
static void
check_present(const char *engine, const struct mode *m, const struct dssh_crypto_keys *k)
{
	struct live_hit hit;

	set_probe(k, true);
	bool found = scan_live(SCAN_PROBE, &hit);

	set_probe(k, false);
	if (!found)
		fprintf(stderr, "  %s %s: the live SA's key is nowhere in memory we scan\n",
		    engine, m->cipher);
	CHECK(found);
}

static void
engine_case(struct dssh_crypto_engine *e, const char *ename, const struct mode *m,
    int *supported)
{
	static struct dssh_crypto_keys k1, k2;   /* static: not in the scanned heap */
	struct dssh_crypto_sa *s1 = NULL, *o1 = NULL, *s2 = NULL, *o2 = NULL;
	char when[160];
	int r;

	make_keys(m, &k1);
	make_keys(m, &k2);
	r = dssh_crypto_sa_new(e, &k1, DSSH_CRYPTO_SEAL, &s1);
	if (r == DSSH_ERR_UNSUPPORTED) {
		snprintf(when, sizeof(when), "%s %s/%s refused", ename, m->cipher,
		    m->mac ? m->mac : "-");
		check_clean(when);      /* the failure path wipes too */
		dssh_wipe(&k1, sizeof(k1));
		dssh_wipe(&k2, sizeof(k2));
		return;
	}
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(dssh_crypto_sa_new(e, &k1, DSSH_CRYPTO_OPEN, &o1), 0);
	if (s1 == NULL || o1 == NULL) {
		dssh_crypto_sa_free(s1);
		dssh_crypto_sa_free(o1);
		return;
	}
	(*supported)++;
	roundtrip(e, s1, o1, 0);
	check_present(ename, m, &k1);

	/* Rekey: new SAs in, old ones freed (as dssh_pkt_set_keys does). */
	CHECK_EQ_INT(dssh_crypto_sa_new(e, &k2, DSSH_CRYPTO_SEAL, &s2), 0);
	CHECK_EQ_INT(dssh_crypto_sa_new(e, &k2, DSSH_CRYPTO_OPEN, &o2), 0);
	dssh_crypto_sa_free(s1);
	dssh_crypto_sa_free(o1);
	snprintf(when, sizeof(when), "%s %s/%s after rekey", ename, m->cipher,
	    m->mac ? m->mac : "-");
	check_clean(when);
	if (s2 != NULL && o2 != NULL) {
		roundtrip(e, s2, o2, 3);
		check_present(ename, m, &k2);
	}
	dssh_crypto_sa_free(s2);
	dssh_crypto_sa_free(o2);
	snprintf(when, sizeof(when), "%s %s/%s after free", ename, m->cipher,
	    m->mac ? m->mac : "-");
	check_clean(when);
	dssh_wipe(&k1, sizeof(k1));
	dssh_wipe(&k2, sizeof(k2));
}

struct eng {
	const char *name, *devargs;
	int min_modes;           /* modes it must support */
};

#ifdef DSSH_TEST_CRYPTODEV
/* All of them: chacha20-poly1305 and the UMAC tags in software. */
static const struct eng engs[] = {
	{ "cryptodev", "crypto_aesni_mb", 9 },
	{ "cryptodev", "crypto_openssl", 9 },
};
#else
static const struct eng engs[] = {
	{ "openssl", NULL, 9 },
	{ "ipsecmb", NULL, 9 },
};
#endif

static bool
engine_built(const struct eng *en)
{
	char names[256], *tok, *save = NULL;

	snprintf(names, sizeof(names), "%s", dssh_crypto_engine_names());
	for (tok = strtok_r(names, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, en->name) == 0)
			return true;
	return false;
}

static struct dssh_crypto_engine *
engine_new(const struct eng *en)
{
	struct dssh_crypto_engine_conf conf = { .max_burst = 32, .socket_id = -1,
		.devargs = en->devargs };
	struct dssh_crypto_engine *e = NULL;

	CHECK_EQ_INT(dssh_crypto_engine_create(en->name, &conf, &e), 0);
	return e;
}

static void
test_engine_sas(void)
{
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(engs); i++) {
		const char *label = engs[i].devargs ? engs[i].devargs : engs[i].name;
		int supported = 0;

		if (!engine_built(&engs[i])) {
			fprintf(stderr, "  engine %s not built: not checked\n", engs[i].name);
			continue;
		}
		struct dssh_crypto_engine *e = engine_new(&engs[i]);

		if (e == NULL)
			continue;
		for (size_t j = 0; j < DSSH_ARRAY_SIZE(modes); j++)
			engine_case(e, label, &modes[j], &supported);
		fprintf(stderr, "  %s: %d modes checked\n", label, supported);
		CHECK(supported >= engs[i].min_modes);
		dssh_crypto_engine_free(e);
		check_clean("engine freed");
	}
}

/* ------------------------------------------------------------ SSH session */

static struct dssh_sshkey *hostkey, *userkey;

struct host {
	struct dssh_conn *c;
	size_t got;
};

static int
h_auth_pubkey(void *hp, const char *user, const uint8_t *blob, size_t len, bool final)
{
	(void)hp;
	(void)blob;
	(void)len;
	(void)final;
	return strcmp(user, "alice") == 0 ? 0 : -1;
}

static int
h_auth_password(void *hp, const char *user, const char *pw)
{
	(void)hp;
	(void)user;
	(void)pw;
	return -1;
}

static int
h_session_open(void *hp, uint32_t chan)
{
	(void)hp;
	(void)chan;
	return 0;
}

static int
h_session_request(void *hp, uint32_t chan, const struct dssh_session_req *req)
{
	(void)hp;
	(void)chan;
	(void)req;
	return 0;
}

static void
h_channel_data(void *hp, uint32_t chan, const uint8_t *p, size_t n)
{
	struct host *h = hp;

	(void)p;
	h->got += n;
	dssh_chan_consumed(h->c, chan, n);
}

static void
h_chan(void *hp, uint32_t chan)
{
	(void)hp;
	(void)chan;
}

static const struct dssh_conn_host_ops host_ops = {
	.auth_pubkey = h_auth_pubkey,
	.auth_password = h_auth_password,
	.session_open = h_session_open,
	.session_request = h_session_request,
	.channel_data = h_channel_data,
	.channel_eof = h_chan,
	.channel_closed = h_chan,
	.channel_writable = h_chan,
};

static void
traffic(struct tc *t, struct host *h)
{
	uint8_t d[3000];
	size_t before = h->got;

	dssh_random(d, sizeof(d));
	CHECK_EQ_INT(tc_chan_data(t, d, sizeof(d)), 0);
	CHECK_EQ_INT(h->got - before, sizeof(d));
}

/* A session through the engine: keys derived by the key exchange, client
 * and server rekeys; the old keys must be gone after each, and all of them
 * once the connection is freed. */
static void
session_case(const struct eng *en, const char *cipher, const char *mac)
{
	struct dssh_crypto_engine *e = engine_new(en);
	struct dssh_ssh_hostkey hk[1] = { { "ssh-ed25519", NULL } };
	struct dssh_ssh_conf conf;
	struct dssh_conn *c = NULL;
	struct tc *t = NULL;
	struct host h = { 0 };
	struct dssh_buf msg;
	char when[160];
	const char *label = en->devargs ? en->devargs : en->name;

	if (e == NULL)
		return;
	fprintf(stderr, "  session %s %s %s\n", label, cipher, mac);
	hk[0].key = hostkey;
	memset(&conf, 0, sizeof(conf));
	conf.kex_algs = "curve25519-sha256,ecdh-sha2-nistp256";
	conf.cipher_algs = cipher;
	conf.mac_algs = mac;
	conf.pubkey_algs = "ssh-ed25519";
	conf.hostkeys = hk;
	conf.n_hostkeys = 1;
	conf.max_auth_tries = 6;
	conf.pubkey_auth = true;
	conf.rekey_seconds = 10;
	conf.version_comment = "keywipe";
	conf.engine = e;
	dssh_buf_init(&msg, 0);
	CHECK_EQ_INT(dssh_conn_new(&conf, &host_ops, &h, "keywipe", &c), 0);
	h.c = c;
	struct tc_conf tcc = { .kex = "curve25519-sha256", .hostkey = "ssh-ed25519",
		.cipher = cipher, .mac = mac, .strict = true, .ext_info = true };

	CHECK_EQ_INT(tc_new(c, e, &tcc, &t), 0);
	CHECK_EQ_INT(tc_connect_all(t, "alice", userkey, "ssh-ed25519"), 0);
	traffic(t, &h);
	int retired0 = retired_count();

	/* Client-started rekey, then one with another method. */
	CHECK_EQ_INT(tc_kex(t), 0);
	traffic(t, &h);
	snprintf(when, sizeof(when), "session %s %s client rekey", label, cipher);
	check_clean(when);
	CHECK(retired_count() > retired0);     /* the old keys did go */
	t->conf.kex = "ecdh-sha2-nistp256";
	CHECK_EQ_INT(tc_kex(t), 0);
	traffic(t, &h);
	check_clean(when);

	/* Server-started rekey (RekeyLimit time). */
	tc_drain(t);
	t->now_ms += 10000;
	CHECK_EQ_INT(dssh_conn_tick(c, t->now_ms), 0);
	CHECK_EQ_INT(tc_recv(t, &msg), 0);
	CHECK(dssh_buf_len(&msg) > 0 && dssh_buf_ptr(&msg)[0] == SSH_MSG_KEXINIT);
	CHECK_EQ_INT(tc_kex(t), 0);
	traffic(t, &h);
	snprintf(when, sizeof(when), "session %s %s server rekey", label, cipher);
	check_clean(when);
	struct dssh_conn_stats st;

	dssh_conn_get_stats(c, &st);
	CHECK_EQ_INT(st.kex_count, 4);

	tc_free(t);
	dssh_conn_free(c);
	CHECK_EQ_INT(nsa_recs, 0);           /* every SA freed */
	snprintf(when, sizeof(when), "session %s %s freed", label, cipher);
	check_clean(when);
	dssh_buf_free(&msg);
	dssh_crypto_engine_free(e);
	check_clean("session engine freed");
}

static void
test_sessions(void)
{
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(engs); i++) {
		if (!engine_built(&engs[i]))
			continue;
		session_case(&engs[i], "aes128-gcm@openssh.com", "hmac-sha2-256");
		session_case(&engs[i], "aes256-ctr", "hmac-sha2-256-etm@openssh.com");
		session_case(&engs[i], "aes128-ctr", "hmac-sha2-512");
		session_case(&engs[i], "chacha20-poly1305@openssh.com", "hmac-sha2-256");
	}
}

int
main(void)
{
	/* Before anything makes OpenSSL allocate. */
	if (CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) != 1) {
		fprintf(stderr, "CRYPTO_set_mem_functions failed: OpenSSL allocated already\n");
		return 1;
	}
	dssh_log_init("test_keywipe", getenv("TEST_KEYWIPE_DEBUG") ? DSSH_LOG_DEBUG3 :
	    DSSH_LOG_QUIET, true);
#ifdef DSSH_TEST_CRYPTODEV
	{
		char *eal_argv[] = { "test_keywipe_cryptodev", "--no-huge", "--no-pci", "-m", "64",
		    "--no-shconf", "--log-level", "error",
		    "--vdev", "crypto_aesni_mb", "--vdev", "crypto_openssl", NULL };

		if (rte_eal_init((int)DSSH_ARRAY_SIZE(eal_argv) - 1, eal_argv) < 0) {
			fprintf(stderr, "EAL init failed: skipping\n");
			return 77;
		}
	}
#endif
	if (dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &hostkey) != 0 ||
	    dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &userkey) != 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	hooks_on = true;
	DSSH_RUN(test_detectors);
	DSSH_RUN(test_engine_sas);
	DSSH_RUN(test_sessions);
	hooks_on = false;
	dssh_sshkey_free(hostkey);
	dssh_sshkey_free(userkey);
#ifdef DSSH_TEST_CRYPTODEV
	rte_eal_cleanup();
#endif
	DSSH_TEST_END();
}
