/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cross-check of every crypto engine compiled in against the OpenSSL engine
 * (the reference): for every SSH mode, random keys, IVs near counter wrap,
 * sequence numbers around 2^32 and sizes from the minimum to 35000 bytes, the
 * sealed bytes (wire packet + tag) must be identical, each engine must open
 * the other's output, peek_length must find the length, a flipped bit
 * anywhere must fail open (and wipe), and bursts mixing several SAs must give
 * the same bytes as one-at-a-time processing.
 *
 * Where the OpenSSL engine has no UMAC, the umac-*-etm reference is its
 * aes-ctr ETM ciphertext (the MAC does not change it) with the tag computed
 * by lib/crypto/umac.c, itself checked against RFC 4418 in test_umac.
 *
 * Built a second time with DSSH_TEST_CRYPTODEV (test "engines-cryptodev"):
 * then the engines under test are the cryptodev engine on the
 * crypto_aesni_mb and crypto_openssl virtual devices, with an EAL started
 * here (--no-huge --no-pci). Every engine under test must handle every mode
 * (cryptodev does chacha20-poly1305 and the UMAC tag in software, see
 * drivers/crypto/cryptodev): an unsupported mode is a failure. A third
 * instance runs on crypto_null, set up for sharing (dssh_cryptodev_setup:
 * a queue pair per instance), which has a session for no SSH mode: every
 * mode goes through the engine's software fallback. Then the shared set-up's
 * limits: too few queue pairs, every queue pair claimed, sessions exhausted.
 */
#include <stdbool.h>
#include <stdint.h>

#include "dssh_test.h"
#include "dssh_crypto.h"
#include "dssh_err.h"
#include "dssh_util.h"
#include "umac.h"

#ifdef DSSH_TEST_CRYPTODEV
#include <rte_cryptodev.h>
#include <rte_eal.h>

#include "dssh_cryptodev.h"
#endif

#define REF "openssl"
#define MAX_LEN 35000u
#define ROOM (MAX_LEN + 64 + DSSH_CRYPTO_MAX_TAG)
#define CASES_PER_MODE 120

struct mode {
	const char *cipher;
	const char *mac;     /* NULL for AEAD */
};

static struct mode modes[32];
static size_t nmodes;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static const char *ctr_ciphers[] = { "aes128-ctr", "aes192-ctr", "aes256-ctr" };
static const char *ctr_macs[] = {
	"hmac-sha2-256", "hmac-sha2-512",
	"hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
	"umac-64-etm@openssh.com", "umac-128-etm@openssh.com",
};

static void
build_modes(void)
{
	size_t i, j;

	modes[nmodes++] = (struct mode){ "aes128-gcm@openssh.com", NULL };
	modes[nmodes++] = (struct mode){ "aes256-gcm@openssh.com", NULL };
	modes[nmodes++] = (struct mode){ "chacha20-poly1305@openssh.com", NULL };
	for (i = 0; i < DSSH_ARRAY_SIZE(ctr_ciphers); i++)
		for (j = 0; j < DSSH_ARRAY_SIZE(ctr_macs); j++)
			modes[nmodes++] = (struct mode){ ctr_ciphers[i], ctr_macs[j] };
}

static void
rand_bytes(void *p, size_t n)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(dssh_test_rand(&rng) >> 32);
}

static uint32_t
rnd(uint32_t n)
{
	return (uint32_t)(dssh_test_rand(&rng) % n);
}

static bool
is_umac(const struct mode *m)
{
	return m->mac != NULL && strncmp(m->mac, "umac", 4) == 0;
}

static bool
is_classic(const struct mode *m)
{
	return m->mac != NULL && strstr(m->mac, "-etm@") == NULL;
}

/* Random keys; variant picks IV patterns near counter wrap. */
static void
make_keys(const struct mode *m, struct dssh_crypto_keys *k, unsigned variant)
{
	memset(k, 0, sizeof(*k));
	k->cipher = dssh_cipher_by_name(m->cipher);
	k->mac = m->mac != NULL ? dssh_mac_by_name(m->mac) : NULL;
	rand_bytes(k->key, sizeof(k->key));
	rand_bytes(k->iv, sizeof(k->iv));
	rand_bytes(k->mac_key, sizeof(k->mac_key));
	switch (variant % 4) {
	case 1:
		/* CTR: low 32 bits about to wrap (IPsec-MB splits the job);
		 * GCM: 64-bit invocation counter about to wrap */
		memset(k->iv + 12, 0xff, 4);
		k->iv[15] = (uint8_t)(0xff - rnd(8));
		if (k->cipher->aead) {
			memset(k->iv + 4, 0xff, 8);
			k->iv[11] = 0xfe;
		}
		break;
	case 2:
		/* CTR: the whole 128-bit counter wraps to 0 */
		memset(k->iv, 0xff, 16);
		k->iv[15] = (uint8_t)(0xff - rnd(4));
		break;
	default:
		break;
	}
}

/* Wire length 4 + packet_length satisfying the mode's block rule. */
static uint32_t
pick_len(const struct mode *m, uint32_t bl, unsigned i)
{
	uint32_t min, max, body, r = rnd(100);

	if (is_classic(m)) {
		min = 1;             /* in blocks of 16, whole packet */
		max = MAX_LEN / bl;
		body = r < 10 ? min : r < 15 ? max : r < 60 ? min + rnd(64) : min + rnd(max - min + 1);
		if (i == 0)
			body = min;
		return body * bl;
	}
	min = (16 + bl - 1) / bl;    /* len - 4 >= 16 */
	max = MAX_LEN / bl;
	body = r < 10 ? min : r < 15 ? max : r < 60 ? min + rnd(64) : min + rnd(max - min + 1);
	if (i == 0)
		body = min;
	return 4 + body * bl;
}

static void
fill_plain(uint8_t *p, uint32_t len)
{
	uint32_t plen = len - 4;

	rand_bytes(p, len);
	p[0] = plen >> 24; p[1] = plen >> 16; p[2] = plen >> 8; p[3] = plen;
	p[4] = (uint8_t)(4 + rnd(4));
}

/* Whether the reference engine has UMAC itself (else: see top of file). */
static bool ref_has_umac;

/* One side of a cross-check: an engine's SA pair, or the reference. */
struct side {
	struct dssh_crypto_engine *e;
	struct dssh_crypto_sa *seal, *open;
	struct dssh_umac *umac;       /* reference for umac modes */
	size_t taglen;
	bool can_open;
};

static int
side_init(struct side *s, struct dssh_crypto_engine *e, const struct mode *m,
    const struct dssh_crypto_keys *keys, bool reference)
{
	struct dssh_crypto_keys k = *keys;
	int r;

	memset(s, 0, sizeof(*s));
	s->e = e;
	s->can_open = true;
	if (reference && is_umac(m) && !ref_has_umac) {
		k.mac = dssh_mac_by_name("hmac-sha2-256-etm@openssh.com");
		if ((r = dssh_umac_new(keys->mac_key, keys->mac->mac_len, &s->umac)) != 0)
			return r;
		s->taglen = keys->mac->mac_len;
		s->can_open = false;
	}
	if ((r = dssh_crypto_sa_new(e, &k, DSSH_CRYPTO_SEAL, &s->seal)) != 0 ||
	    (r = dssh_crypto_sa_new(e, &k, DSSH_CRYPTO_OPEN, &s->open)) != 0)
		return r;
	if (s->umac == NULL)
		s->taglen = dssh_crypto_sa_tag_len(s->seal);
	return 0;
}

static void
side_free(struct side *s)
{
	dssh_crypto_sa_free(s->seal);
	dssh_crypto_sa_free(s->open);
	dssh_umac_free(s->umac);
	memset(s, 0, sizeof(*s));
}

/* Whether e can make an SA for m. */
static bool
supports(struct dssh_crypto_engine *e, const struct mode *m)
{
	struct dssh_crypto_keys k;
	struct dssh_crypto_sa *sa = NULL;
	int r;

	make_keys(m, &k, 0);
	r = dssh_crypto_sa_new(e, &k, DSSH_CRYPTO_SEAL, &sa);
	dssh_crypto_sa_free(sa);
	sa = NULL;
	if (r == DSSH_ERR_UNSUPPORTED)
		return false;
	r = dssh_crypto_sa_new(e, &k, DSSH_CRYPTO_OPEN, &sa);
	dssh_crypto_sa_free(sa);
	return r != DSSH_ERR_UNSUPPORTED;
}

/* Seal or open n packets as one burst. */
static int
run_burst(struct side *s, bool seal, uint8_t **pkts, const uint32_t *lens,
    const uint32_t *seqs, unsigned n, int *status)
{
	struct dssh_crypto_op ops[16], *pops[16];
	unsigned i;
	int r;

	for (i = 0; i < n; i++) {
		ops[i] = (struct dssh_crypto_op){ .sa = seal ? s->seal : s->open,
		    .pkt = pkts[i], .len = lens[i], .seq = seqs[i], .status = 12345 };
		pops[i] = &ops[i];
	}
	r = dssh_crypto_process(s->e, pops, n);
	for (i = 0; i < n; i++) {
		status[i] = ops[i].status;
		if (seal && s->umac != NULL && ops[i].status == 0)
			dssh_umac_mac(s->umac, seqs[i], pkts[i], lens[i], pkts[i] + lens[i]);
	}
	return r;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	size_t i;
	uint8_t acc = 0;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static struct dssh_crypto_engine *ref_engine;
static struct dssh_crypto_engine *engines[8];
static const char *engine_names[8];
static size_t nengines;

#ifdef DSSH_TEST_CRYPTODEV
static const char *vdevs[] = { "crypto_aesni_mb", "crypto_openssl", "crypto_null" };
/* set up for sharing, 2 queue pairs: engines[] holds one instance */
#define SHARED_VDEV "crypto_null"
#endif

static void
setup_engines(void)
{
	char names[256], *tok, *save = NULL;
	struct dssh_crypto_engine_conf conf = { .max_burst = 32, .socket_id = -1 };

	snprintf(names, sizeof(names), "%s", dssh_crypto_engine_names());
	fprintf(stderr, "engines: %s\n", names);
	for (tok = strtok_r(names, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		struct dssh_crypto_engine *e = NULL;
		int r;

		/* cryptodev needs an EAL: only in the cryptodev build */
		if (strcmp(tok, "cryptodev") == 0)
			continue;
#ifdef DSSH_TEST_CRYPTODEV
		if (strcmp(tok, REF) != 0)
			continue;
#endif
		r = dssh_crypto_engine_create(tok, &conf, &e);
		CHECK_EQ_INT(r, 0);
		if (r != 0)
			continue;
		if (strcmp(tok, REF) == 0)
			ref_engine = e;
		else if (nengines < DSSH_ARRAY_SIZE(engines)) {
			engine_names[nengines] = dssh_crypto_engine_name(e);
			engines[nengines++] = e;
		} else
			dssh_crypto_engine_free(e);
	}
#ifdef DSSH_TEST_CRYPTODEV
	{
		size_t i;

		CHECK_EQ_INT(dssh_cryptodev_setup(SHARED_VDEV, 2, 64), 0);
		for (i = 0; i < DSSH_ARRAY_SIZE(vdevs); i++) {
			struct dssh_crypto_engine *e = NULL;

			conf.devargs = vdevs[i];
			CHECK_EQ_INT(dssh_crypto_engine_create("cryptodev", &conf, &e), 0);
			if (e != NULL) {
				engine_names[nengines] = vdevs[i];
				engines[nengines++] = e;
			}
		}
	}
#endif
	CHECK(ref_engine != NULL);
	if (ref_engine != NULL) {
		struct mode um = { "aes128-ctr", "umac-64-etm@openssh.com" };

		ref_has_umac = supports(ref_engine, &um);
		fprintf(stderr, "reference %s %s UMAC\n", REF, ref_has_umac ? "has" : "lacks");
	}
}

/* Packets of one case: seal in both, compare, open across. */
static void
cross_case(struct dssh_crypto_engine *e, const char *ename, const struct mode *m, unsigned c)
{
	struct dssh_crypto_keys keys;
	struct side ref, tst;
	uint8_t *plain[6], *a[6], *b[6];
	uint32_t lens[6], seqs[6], seq0, pl;
	uint64_t blk;
	int st[6];
	unsigned n = 1 + rnd(6), i;
	uint32_t bl;
	int r;

	make_keys(m, &keys, c);
	bl = keys.cipher->block_len;
	seq0 = c % 3 == 1 ? 0xffffffffu - rnd(4) : (uint32_t)dssh_test_rand(&rng);
	if ((r = side_init(&ref, ref_engine, m, &keys, true)) != 0 ||
	    (r = side_init(&tst, e, m, &keys, false)) != 0) {
		fprintf(stderr, "%s %s/%s: sa_new %s\n", ename, m->cipher,
		    m->mac ? m->mac : "-", dssh_err_str(r));
		CHECK_EQ_INT(r, 0);
		side_free(&ref);
		side_free(&tst);
		return;
	}
	CHECK_EQ_INT(ref.taglen, tst.taglen);
	for (i = 0; i < n; i++) {
		lens[i] = pick_len(m, bl, c == 0 ? i : 1);
		seqs[i] = seq0 + i;
		plain[i] = malloc(ROOM);
		a[i] = malloc(ROOM);
		b[i] = malloc(ROOM);
		fill_plain(plain[i], lens[i]);
		memcpy(a[i], plain[i], lens[i]);
		memcpy(b[i], plain[i], lens[i]);
	}
	CHECK_EQ_INT(run_burst(&ref, true, a, lens, seqs, n, st), 0);
	CHECK_EQ_INT(run_burst(&tst, true, b, lens, seqs, n, st), 0);
	for (i = 0; i < n; i++) {
		CHECK_EQ_INT(st[i], 0);
		if (memcmp(a[i], b[i], lens[i] + tst.taglen) != 0) {
			CHECK_MEM(a[i], b[i], lens[i] + tst.taglen);
			fprintf(stderr, "  %s %s/%s case %u pkt %u len %u seq %u differs\n", ename,
			    m->cipher, m->mac ? m->mac : "-", c, i, lens[i], seqs[i]);
		}
	}
	/* every length read ahead, before anything is opened, at the block
	 * where its packet starts (framing a burst); the SAs' state must not
	 * move: the opens below start from packet 0 */
	for (i = 0, blk = 0; i < n; i++) {
		CHECK_EQ_INT(dssh_crypto_sa_peek_length_at(tst.open, seqs[i], blk, a[i], lens[i], &pl), 0);
		CHECK_EQ_INT(pl, lens[i] - 4);
		CHECK_EQ_INT(dssh_crypto_sa_peek_length_at(ref.open, seqs[i], blk, b[i], lens[i], &pl), 0);
		CHECK_EQ_INT(pl, lens[i] - 4);
		if (is_classic(m)) {
			/* the block matters: one off is another keystream */
			CHECK_EQ_INT(dssh_crypto_sa_peek_length_at(tst.open, seqs[i], blk + 1, a[i],
			    lens[i], &pl), 0);
			CHECK(pl != lens[i] - 4);
			CHECK_EQ_INT(dssh_crypto_sa_peek_length_at(tst.open, seqs[i], blk, a[i], 15, &pl),
			    DSSH_ERR_MSG_INCOMPLETE);
		}
		blk += lens[i] / bl;
	}
	/* peek + open the reference's output in the tested engine, one at a
	 * time (peek sees the SA state before each packet) */
	for (i = 0; i < n; i++) {
		CHECK_EQ_INT(dssh_crypto_sa_peek_length(tst.open, seqs[i], a[i], lens[i], &pl), 0);
		CHECK_EQ_INT(pl, lens[i] - 4);
		CHECK_EQ_INT(run_burst(&tst, false, &a[i], &lens[i], &seqs[i], 1, &st[i]), 0);
		CHECK_EQ_INT(st[i], 0);
		CHECK_MEM(a[i], plain[i], lens[i]);
	}
	/* and the tested engine's output in the reference, as one burst */
	if (ref.can_open) {
		CHECK_EQ_INT(dssh_crypto_sa_peek_length(ref.open, seqs[0], b[0], lens[0], &pl), 0);
		CHECK_EQ_INT(pl, lens[0] - 4);
		CHECK_EQ_INT(run_burst(&ref, false, b, lens, seqs, n, st), 0);
		for (i = 0; i < n; i++) {
			CHECK_EQ_INT(st[i], 0);
			CHECK_MEM(b[i], plain[i], lens[i]);
		}
	}
	for (i = 0; i < n; i++) {
		free(plain[i]);
		free(a[i]);
		free(b[i]);
	}
	side_free(&ref);
	side_free(&tst);
}

static void
test_cross(void)
{
	size_t ei, mi;
	unsigned c;
	int before;

	if (nengines == 0)
		fprintf(stderr, "  no engine besides %s: nothing to cross-check\n", REF);
	for (ei = 0; ei < nengines; ei++) {
		for (mi = 0; mi < nmodes; mi++) {
			if (!supports(engines[ei], &modes[mi])) {
				fprintf(stderr, "  %-9s %-30s %-30s unsupported\n", engine_names[ei],
				    modes[mi].cipher, modes[mi].mac ? modes[mi].mac : "");
				CHECK(0);     /* every engine does every mode */
				continue;
			}
			before = dssh_test_failures;
			for (c = 0; c < CASES_PER_MODE && dssh_test_failures - before < 10; c++)
				cross_case(engines[ei], engine_names[ei], &modes[mi], c);
			fprintf(stderr, "  %-9s %-30s %-30s %s\n", engine_names[ei], modes[mi].cipher,
			    modes[mi].mac ? modes[mi].mac : "", dssh_test_failures == before ? "ok" : "FAIL");
		}
	}
}

/* Every bit of a sealed packet (wire bytes and tag) matters to open. */
static void
flip_engine(struct dssh_crypto_engine *e, const char *ename, const struct mode *m)
{
	struct dssh_crypto_keys keys;
	struct side s;
	uint8_t *sealed = malloc(ROOM), *p = malloc(ROOM), *plain = malloc(ROOM);
	uint32_t len, seq, bits, bit, k, sizes[2];
	unsigned si, fails = 0;
	int st, r;

	make_keys(m, &keys, 0);
	sizes[0] = pick_len(m, keys.cipher->block_len, 0);        /* minimum */
	sizes[1] = sizes[0] + keys.cipher->block_len * (8 + rnd(60));
	for (si = 0; si < 2; si++) {
		len = sizes[si];
		seq = (uint32_t)dssh_test_rand(&rng);
		fill_plain(plain, len);
		memcpy(sealed, plain, len);
		if ((r = side_init(&s, e, m, &keys, false)) != 0) {
			side_free(&s);
			/* only the reference may lack a mode (umac, see top) */
			if (e != ref_engine)
				CHECK_EQ_INT(r, 0);
			continue;
		}
		CHECK_EQ_INT(run_burst(&s, true, &sealed, &len, &seq, 1, &st), 0);
		side_free(&s);
		/* tag length from a fresh SA */
		if (side_init(&s, e, m, &keys, false) != 0) {
			side_free(&s);
			continue;
		}
		bits = (len + (uint32_t)s.taglen) * 8;
		side_free(&s);
		for (k = 0; k < (si == 0 ? bits : 160u); k++) {
			bit = si == 0 ? k : rnd(bits);
			memcpy(p, sealed, len + 64);
			p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			if (side_init(&s, e, m, &keys, false) != 0) {
				side_free(&s);
				break;
			}
			(void)run_burst(&s, false, &p, &len, &seq, 1, &st);
			if (st != DSSH_ERR_MAC_INVALID || !all_zero(p, len)) {
				if (fails++ < 3)
					fprintf(stderr, "  %s %s/%s len %u bit %u: open status %d%s\n",
					    ename, m->cipher, m->mac ? m->mac : "-", len, bit, st,
					    all_zero(p, len) ? "" : ", plaintext not wiped");
			}
			side_free(&s);
		}
		/* unflipped opens fine */
		memcpy(p, sealed, len + 64);
		if (side_init(&s, e, m, &keys, false) == 0) {
			(void)run_burst(&s, false, &p, &len, &seq, 1, &st);
			CHECK_EQ_INT(st, 0);
			CHECK_MEM(p, plain, len);
		}
		side_free(&s);
	}
	CHECK_EQ_INT(fails, 0);
	free(sealed);
	free(p);
	free(plain);
}

static void
test_bitflip(void)
{
	size_t ei, mi;

	for (mi = 0; mi < nmodes; mi++) {
		flip_engine(ref_engine, REF, &modes[mi]);
		for (ei = 0; ei < nengines; ei++)
			flip_engine(engines[ei], engine_names[ei], &modes[mi]);
	}
}

/*
 * Bursts of 32 ops over 8 SAs of random modes, in random interleaving
 * (each SA's packets in sequence order): one burst in the tested engine
 * gives the same bytes as the reference packet by packet; then the tested
 * engine opens them, again as one mixed burst.
 */
#define MIX_SAS 8
#define MIX_OPS 32

static void
mixed_round(struct dssh_crypto_engine *e, const char *ename, unsigned round)
{
	struct dssh_crypto_keys keys[MIX_SAS];
	const struct mode *sm[MIX_SAS];
	struct side ref[MIX_SAS], tst[MIX_SAS];
	struct dssh_crypto_op ops[MIX_OPS], *pops[MIX_OPS];
	uint8_t *plain[MIX_OPS], *a[MIX_OPS], *b[MIX_OPS];
	uint32_t seq[MIX_SAS], lens[MIX_OPS];
	unsigned which[MIX_OPS], i, j;
	int st;
	bool ok = true;

	for (j = 0; j < MIX_SAS; j++) {
		/* umac has no reference that opens; keep it out of the mix */
		do
			sm[j] = &modes[rnd((uint32_t)nmodes)];
		while ((is_umac(sm[j]) && !ref_has_umac) || !supports(e, sm[j]));
		make_keys(sm[j], &keys[j], round + j);
		seq[j] = j == 0 ? 0xfffffff0u : (uint32_t)dssh_test_rand(&rng);
		if (side_init(&ref[j], ref_engine, sm[j], &keys[j], true) != 0 ||
		    side_init(&tst[j], e, sm[j], &keys[j], false) != 0)
			ok = false;
	}
	CHECK(ok);
	if (!ok)
		goto out_sa;
	for (i = 0; i < MIX_OPS; i++) {
		j = which[i] = rnd(MIX_SAS);
		lens[i] = pick_len(sm[j], keys[j].cipher->block_len, 1);
		if (rnd(4) == 0)
			lens[i] = pick_len(sm[j], keys[j].cipher->block_len, 0);
		plain[i] = malloc(ROOM);
		a[i] = malloc(ROOM);
		b[i] = malloc(ROOM);
		fill_plain(plain[i], lens[i]);
		memcpy(a[i], plain[i], lens[i]);
		memcpy(b[i], plain[i], lens[i]);
		ops[i] = (struct dssh_crypto_op){ .sa = tst[j].seal, .pkt = b[i], .len = lens[i],
		    .seq = seq[j]++, .status = 1 };
		pops[i] = &ops[i];
		CHECK_EQ_INT(run_burst(&ref[j], true, &a[i], &lens[i], &ops[i].seq, 1, &st), 0);
	}
	CHECK_EQ_INT(dssh_crypto_process(e, pops, MIX_OPS), 0);
	for (i = 0; i < MIX_OPS; i++) {
		CHECK_EQ_INT(ops[i].status, 0);
		if (memcmp(a[i], b[i], lens[i] + tst[which[i]].taglen) != 0) {
			CHECK_MEM(a[i], b[i], lens[i] + tst[which[i]].taglen);
			fprintf(stderr, "  %s mixed round %u op %u (%s) differs\n", ename, round, i,
			    sm[which[i]]->cipher);
		}
		ops[i].sa = tst[which[i]].open;
		ops[i].pkt = a[i];
		ops[i].status = 1;
	}
	/* corrupt one op's tag: only that op fails, the others open */
	a[7][lens[7]] ^= 0x80;
	CHECK_EQ_INT(dssh_crypto_process(e, pops, MIX_OPS), DSSH_ERR_MAC_INVALID);
	for (i = 0; i < MIX_OPS; i++) {
		if (i == 7) {
			CHECK_EQ_INT(ops[i].status, DSSH_ERR_MAC_INVALID);
			CHECK(all_zero(a[i], lens[i]));
		} else {
			CHECK_EQ_INT(ops[i].status, 0);
			CHECK_MEM(a[i], plain[i], lens[i]);
		}
	}
	for (i = 0; i < MIX_OPS; i++) {
		free(plain[i]);
		free(a[i]);
		free(b[i]);
	}
 out_sa:
	for (j = 0; j < MIX_SAS; j++) {
		side_free(&ref[j]);
		side_free(&tst[j]);
	}
}

static void
test_mixed_bursts(void)
{
	size_t ei;
	unsigned round;

	for (ei = 0; ei < nengines; ei++) {
		struct dssh_crypto_engine_conf conf = { .max_burst = 5, .socket_id = -1 };
		struct dssh_crypto_engine *small = NULL;

		for (round = 0; round < 40; round++)
			mixed_round(engines[ei], engine_names[ei], round);
		/* a burst larger than the engine's max_burst is split inside */
#ifdef DSSH_TEST_CRYPTODEV
		conf.devargs = engine_names[ei];
		if (strcmp(engine_names[ei], SHARED_VDEV) == 0) {
			/* the second queue pair, then none is left */
			struct dssh_crypto_engine *third = NULL;

			CHECK_EQ_INT(dssh_crypto_engine_create("cryptodev", &conf, &small), 0);
			CHECK_EQ_INT(dssh_crypto_engine_create("cryptodev", &conf, &third),
			    DSSH_ERR_BUSY);
		} else {
			/* one engine instance per device: a second one is refused */
			CHECK_EQ_INT(dssh_crypto_engine_create("cryptodev", &conf, &small),
			    DSSH_ERR_BUSY);
			continue;
		}
#else
		CHECK_EQ_INT(dssh_crypto_engine_create(engine_names[ei], &conf, &small), 0);
#endif
		if (small == NULL)
			continue;
		for (round = 0; round < 10; round++)
			mixed_round(small, engine_names[ei], 100 + round);
		dssh_crypto_engine_free(small);
	}
}

/* Lengths that break the block rule are refused per op, never processed. */
static void
test_bad_ops(void)
{
	struct dssh_crypto_keys keys;
	struct side s;
	uint8_t buf[256];
	uint32_t len, seq = 1;
	size_t ei, mi;
	int st;

	for (ei = 0; ei < nengines; ei++) {
		for (mi = 0; mi < nmodes; mi++) {
			make_keys(&modes[mi], &keys, 0);
			if (keys.cipher->block_len < 16 || !supports(engines[ei], &modes[mi]))
				continue;     /* chacha: any length >= 16 is well formed */
			if (side_init(&s, engines[ei], &modes[mi], &keys, false) != 0) {
				side_free(&s);
				CHECK(0);
				continue;
			}
			memset(buf, 0x11, sizeof(buf));
			len = 4 + 16 * 3 + 5;
			(void)run_burst(&s, true, (uint8_t *[]){ buf }, &len, &seq, 1, &st);
			CHECK(st != 0);
			len = 8;          /* shorter than any packet */
			(void)run_burst(&s, true, (uint8_t *[]){ buf }, &len, &seq, 1, &st);
			CHECK(st != 0);
			/* the same refused on open, and garbage of a valid length
			 * fails authentication and is wiped */
			len = 4 + 16 * 3 + 5;
			(void)run_burst(&s, false, (uint8_t *[]){ buf }, &len, &seq, 1, &st);
			CHECK(st != 0);
			len = is_classic(&modes[mi]) ? 16 * 4 : 4 + 16 * 4;
			rand_bytes(buf, sizeof(buf));
			(void)run_burst(&s, false, (uint8_t *[]){ buf }, &len, &seq, 1, &st);
			CHECK_EQ_INT(st, DSSH_ERR_MAC_INVALID);
			CHECK(all_zero(buf, len));
			/* the length read ahead: missing arguments and short input
			 * refused; garbage reads as some length (framing checks it),
			 * at any block index, including the last of the counter */
			CHECK_EQ_INT(dssh_crypto_sa_peek_length_at(NULL, seq, 0, buf, 16, &len),
			    DSSH_ERR_INVALID_ARGUMENT);
			CHECK_EQ_INT(dssh_crypto_sa_peek_length_at(s.open, seq, 0, NULL, 16, &len),
			    DSSH_ERR_INVALID_ARGUMENT);
			CHECK_EQ_INT(dssh_crypto_sa_peek_length_at(s.open, seq, 0, buf, 16, NULL),
			    DSSH_ERR_INVALID_ARGUMENT);
			CHECK_EQ_INT(dssh_crypto_sa_peek_length_at(s.open, seq, 0, buf,
			    dssh_crypto_sa_length_bytes(s.open) - 1, &len), DSSH_ERR_MSG_INCOMPLETE);
			rand_bytes(buf, sizeof(buf));
			CHECK_EQ_INT(dssh_crypto_sa_peek_length_at(s.open, seq, UINT64_MAX, buf, 16, &len), 0);
			side_free(&s);
		}
	}
}

#ifdef DSSH_TEST_CRYPTODEV
/*
 * crypto_aesni_mb is a software PMD: its GCM and UMAC-mode packets went
 * through the device in place (the caller's buffer as an external mbuf),
 * unless DSSH_CRYPTODEV_COPY asks for the copying path (tested as
 * engines-cryptodev-copy); HMAC packets are always copied.
 */
static void
test_cryptodev_inplace(void)
{
	bool copy = getenv("DSSH_CRYPTODEV_COPY") != NULL;
	struct dssh_cryptodev_stats st;
	size_t i;

	CHECK_EQ_INT(dssh_cryptodev_stats(ref_engine, &st), DSSH_ERR_INVALID_ARGUMENT);
	for (i = 0; i < nengines; i++) {
		if (strcmp(engine_names[i], "crypto_aesni_mb") != 0)
			continue;
		CHECK_EQ_INT(dssh_cryptodev_stats(engines[i], &st), 0);
		fprintf(stderr, "  crypto_aesni_mb: %llu on the device, %llu in place, %llu in software\n",
		    (unsigned long long)st.device, (unsigned long long)st.in_place,
		    (unsigned long long)st.software);
		CHECK(st.device > 0);
		if (copy)
			CHECK_EQ_INT(st.in_place, 0);
		else
			CHECK(st.in_place > 0 && st.in_place < st.device);
	}
}

/*
 * Two devices set up together: four instances spread over them (device k % 2,
 * queue pair k / 2); a packet sealed on one device opens on the other and
 * matches the reference engine byte for byte.
 */
static void
test_cryptodev_multi(void)
{
	struct dssh_crypto_engine_conf conf = { .socket_id = -1 };
	struct dssh_crypto_engine *e[5] = { NULL }, *oe = NULL;
	struct dssh_cryptodev_stats st;
	const struct mode gcm = { "aes128-gcm@openssh.com", NULL };
	int d2 = rte_cryptodev_get_dev_id("crypto_aesni_mb2");
	int d3 = rte_cryptodev_get_dev_id("crypto_aesni_mb3");
	struct dssh_crypto_keys k;
	struct side a, b, ref;
	uint8_t *p = malloc(ROOM), *q = malloc(ROOM), *plain = malloc(ROOM);
	uint32_t len = 4 + 64 * 16, seq = 7;
	int s;
	unsigned i;

	CHECK(d2 >= 0 && d3 >= 0);
	CHECK_EQ_INT(dssh_cryptodev_setup("crypto_aesni_mb2,no_such", 4, 8), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(dssh_cryptodev_setup("crypto_aesni_mb2,crypto_aesni_mb3", 4, 8), 0);
	for (i = 0; i < 4; i++) {
		CHECK_EQ_INT(dssh_crypto_engine_create("cryptodev", &conf, &e[i]), 0);
		if (e[i] == NULL || dssh_cryptodev_stats(e[i], &st) != 0)
			continue;
		CHECK_EQ_INT(st.dev_id, i % 2 == 0 ? d2 : d3);
		CHECK_EQ_INT(st.queue_pair, i / 2);
	}
	CHECK_EQ_INT(dssh_crypto_engine_create("cryptodev", &conf, &e[4]), DSSH_ERR_BUSY);
	/* a named device gets a slot of its own */
	dssh_crypto_engine_free(e[1]);
	conf.devargs = "crypto_aesni_mb3";
	CHECK_EQ_INT(dssh_crypto_engine_create("cryptodev", &conf, &e[1]), 0);
	if (e[1] != NULL && dssh_cryptodev_stats(e[1], &st) == 0) {
		CHECK_EQ_INT(st.dev_id, d3);
		CHECK_EQ_INT(st.queue_pair, 0);
	}
	make_keys(&gcm, &k, 0);
	CHECK_EQ_INT(dssh_crypto_engine_create(REF, NULL, &oe), 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&ref, 0, sizeof(ref));
	if (e[0] != NULL && e[1] != NULL && oe != NULL &&
	    side_init(&a, e[0], &gcm, &k, false) == 0 && side_init(&b, e[1], &gcm, &k, false) == 0 &&
	    side_init(&ref, oe, &gcm, &k, true) == 0) {
		fill_plain(plain, len);
		memcpy(p, plain, len);
		memcpy(q, plain, len);
		CHECK_EQ_INT(run_burst(&a, true, &p, &len, &seq, 1, &s), 0);
		CHECK_EQ_INT(run_burst(&ref, true, &q, &len, &seq, 1, &s), 0);
		CHECK_MEM(p, q, len + 16);
		CHECK_EQ_INT(run_burst(&b, false, &p, &len, &seq, 1, &s), 0);
		CHECK_MEM(p, plain, len);
		CHECK_EQ_INT(dssh_cryptodev_stats(e[0], &st), 0);
		CHECK(st.device == 1 && st.in_place == (getenv("DSSH_CRYPTODEV_COPY") ? 0u : 1u));
	} else {
		CHECK(0);
	}
	side_free(&a);
	side_free(&b);
	side_free(&ref);
	dssh_crypto_engine_free(oe);
	dssh_wipe(&k, sizeof(k));
	for (i = 0; i < 5; i++)
		dssh_crypto_engine_free(e[i]);
	dssh_cryptodev_close();
	free(p);
	free(q);
	free(plain);
}

/* After the shared crypto_null was closed: a small shared crypto_aesni_mb1. */
static void
test_cryptodev_limits(void)
{
	struct dssh_crypto_engine_conf conf = { .socket_id = -1, .devargs = "crypto_aesni_mb1" };
	struct dssh_crypto_engine *e = NULL, *e2 = NULL;
	struct dssh_crypto_sa *sa[3] = { NULL, NULL, NULL };
	struct dssh_crypto_keys k;
	const struct mode gcm = { "aes128-gcm@openssh.com", NULL };

	/* the aesni_mb PMD has 8 queue pairs unless told otherwise */
	CHECK_EQ_INT(dssh_cryptodev_setup("crypto_aesni_mb1", 9, 2), DSSH_ERR_CONFIG);
	CHECK_EQ_INT(dssh_cryptodev_setup("no_such_device", 1, 2), DSSH_ERR_NOT_FOUND);
	CHECK_EQ_INT(dssh_cryptodev_setup("crypto_aesni_mb1", 1, 2), 0);
	CHECK_EQ_INT(dssh_crypto_engine_create("cryptodev", &conf, &e), 0);
	CHECK_EQ_INT(dssh_crypto_engine_create("cryptodev", &conf, &e2), DSSH_ERR_BUSY);
	if (e != NULL) {
		/* two sessions in the queue pair's pool: the third SA is refused */
		make_keys(&gcm, &k, 0);
		CHECK_EQ_INT(dssh_crypto_sa_new(e, &k, DSSH_CRYPTO_SEAL, &sa[0]), 0);
		CHECK_EQ_INT(dssh_crypto_sa_new(e, &k, DSSH_CRYPTO_OPEN, &sa[1]), 0);
		CHECK_EQ_INT(dssh_crypto_sa_new(e, &k, DSSH_CRYPTO_SEAL, &sa[2]), DSSH_ERR_ALLOC);
		dssh_crypto_sa_free(sa[0]);
		dssh_crypto_sa_free(sa[1]);
		/* freed sessions are there again */
		CHECK_EQ_INT(dssh_crypto_sa_new(e, &k, DSSH_CRYPTO_SEAL, &sa[2]), 0);
		dssh_crypto_sa_free(sa[2]);
		dssh_wipe(&k, sizeof(k));
		dssh_crypto_engine_free(e);
	}
	dssh_cryptodev_close();
}
#endif

int
main(void)
{
	size_t i;

	build_modes();
#ifdef DSSH_TEST_CRYPTODEV
	{
		char *eal_argv[] = { "test_engines_cryptodev", "--no-huge", "--no-pci", "-m", "256",
		    "--no-shconf", "--log-level", "error",
		    "--vdev", "crypto_aesni_mb", "--vdev", "crypto_openssl", "--vdev", "crypto_null",
		    "--vdev", "crypto_aesni_mb1", "--vdev", "crypto_aesni_mb2",
		    "--vdev", "crypto_aesni_mb3", NULL };

		if (rte_eal_init((int)DSSH_ARRAY_SIZE(eal_argv) - 1, eal_argv) < 0) {
			fprintf(stderr, "EAL init failed: skipping\n");
			return 77;
		}
	}
#endif
	setup_engines();
	if (ref_engine == NULL)
		DSSH_TEST_END();
	DSSH_RUN(test_cross);
	DSSH_RUN(test_bitflip);
	DSSH_RUN(test_mixed_bursts);
	DSSH_RUN(test_bad_ops);
#ifdef DSSH_TEST_CRYPTODEV
	DSSH_RUN(test_cryptodev_inplace);
#endif
	for (i = 0; i < nengines; i++)
		dssh_crypto_engine_free(engines[i]);
	dssh_crypto_engine_free(ref_engine);
#ifdef DSSH_TEST_CRYPTODEV
	dssh_cryptodev_close();
	DSSH_RUN(test_cryptodev_limits);
	DSSH_RUN(test_cryptodev_multi);
	rte_eal_cleanup();
#endif
	DSSH_TEST_END();
}
