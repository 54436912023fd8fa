/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet protection through the engine API: roundtrips for every cipher x
 * MAC, tamper detection, length peeking, and known answers computed here
 * independently (one-shot EVP, AES-ECB counter mode, and a ChaCha20 block
 * function written from RFC 8439 with OpenSSH's 64-bit counter/nonce split).
 *
 * DSSH_TEST_ENGINE selects the engine (default: openssl).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dssh_buf.h"
#include "dssh_crypto.h"
#include "dssh_err.h"
#include "dssh_test.h"
#if __has_include("umac.h")
#include "umac.h"
#define TEST_HAVE_UMAC 1
#endif

struct combo {
	enum dssh_cipher_id cipher;
	enum dssh_mac_id mac;
};

static const struct combo combos[] = {
	{ DSSH_CIPHER_CHACHA20_POLY1305, DSSH_MAC_NONE },
	{ DSSH_CIPHER_AES128_GCM, DSSH_MAC_NONE },
	{ DSSH_CIPHER_AES256_GCM, DSSH_MAC_NONE },
#define CTR_COMBOS(c) \
	{ c, DSSH_MAC_HMAC_SHA2_256 }, { c, DSSH_MAC_HMAC_SHA2_512 }, \
	{ c, DSSH_MAC_HMAC_SHA2_256_ETM }, { c, DSSH_MAC_HMAC_SHA2_512_ETM }, \
	{ c, DSSH_MAC_UMAC_64_ETM }, { c, DSSH_MAC_UMAC_128_ETM }
	CTR_COMBOS(DSSH_CIPHER_AES128_CTR),
	CTR_COMBOS(DSSH_CIPHER_AES192_CTR),
	CTR_COMBOS(DSSH_CIPHER_AES256_CTR),
	{ DSSH_CIPHER_NONE, DSSH_MAC_NONE },
};

static const char *engine_name = "openssl";
static struct dssh_crypto_engine *eng;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static void
fill_random(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(dssh_test_rand(&rng) >> 32);
}

static void
make_keys(struct dssh_crypto_keys *k, const struct combo *c)
{
	memset(k, 0, sizeof(*k));
	k->cipher = dssh_cipher_by_id(c->cipher);
	k->mac = dssh_mac_by_id(c->mac);
	fill_random(k->key, sizeof(k->key));
	fill_random(k->iv, sizeof(k->iv));
	fill_random(k->mac_key, sizeof(k->mac_key));
}

static const char *
combo_name(const struct combo *c)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s+%s", dssh_cipher_by_id(c->cipher)->name,
	    dssh_mac_by_id(c->mac)->name);
	return buf;
}

/* Make both SAs; 1 when the engine does not do this combination. */
static int
make_pair(const struct dssh_crypto_keys *k, struct dssh_crypto_sa **seal,
    struct dssh_crypto_sa **open)
{
	int r;

	*seal = *open = NULL;
	r = dssh_crypto_sa_new(eng, k, DSSH_CRYPTO_SEAL, seal);
	if (r == DSSH_ERR_UNSUPPORTED)
		return 1;
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(dssh_crypto_sa_new(eng, k, DSSH_CRYPTO_OPEN, open), 0);
	return (*seal == NULL || *open == NULL) ? -1 : 0;
}

/* Round want to a length the mode accepts (at least the minimum). */
static uint32_t
valid_len(const struct dssh_crypto_sa *sa, uint32_t want)
{
	uint32_t bl = (uint32_t)dssh_crypto_sa_block_len(sa);
	uint32_t off = dssh_crypto_sa_length_encrypted(sa) ? 0 : 4;
	uint32_t min = off + bl;

	if (off == 0 && min < 16)
		min = 16;
	if (want < min)
		want = min;
	return off + (want - off) / bl * bl;
}

static void
fill_packet(uint8_t *pkt, uint32_t len)
{
	uint32_t padlen;

	fill_random(pkt, len);
	dssh_put_u32be(pkt, len - 4);
	padlen = 4 + (uint32_t)(dssh_test_rand(&rng) % 8);
	if (padlen > len - 5)
		padlen = len - 5;
	pkt[4] = (uint8_t)padlen;
}

static int
run1(struct dssh_crypto_sa *sa, uint8_t *pkt, uint32_t len, uint32_t seq)
{
	struct dssh_crypto_op op = { .sa = sa, .pkt = pkt, .len = len, .seq = seq };
	struct dssh_crypto_op *opp = &op;
	int r;

	r = dssh_crypto_process(eng, &opp, 1);
	CHECK_EQ_INT(r, op.status);
	return op.status;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static void
test_engine_create(void)
{
	struct dssh_crypto_engine *e = NULL;
	struct dssh_crypto_engine_conf conf = { .max_burst = 8, .socket_id = -1 };

	CHECK(strstr(dssh_crypto_engine_names(), "openssl") != NULL);
	CHECK_EQ_INT(dssh_crypto_engine_create(NULL, NULL, &e), 0);
	CHECK(e != NULL);
	CHECK(e != NULL && dssh_crypto_engine_name(e) != NULL &&
	    strncmp(dssh_crypto_engine_names(), dssh_crypto_engine_name(e),
	    strlen(dssh_crypto_engine_name(e))) == 0);
	dssh_crypto_engine_free(e);
	e = NULL;
	CHECK_EQ_INT(dssh_crypto_engine_create("openssl", &conf, &e), 0);
	CHECK_STR(dssh_crypto_engine_name(e), "openssl");
	dssh_crypto_engine_free(e);
	/* auto: IPsec-MB's engine wherever this build has it (every CPU it
	 * runs on has at least its SSE code), else OpenSSL's */
	e = NULL;
	CHECK_EQ_INT(dssh_crypto_engine_create(DSSH_CRYPTO_ENGINE_AUTO, &conf, &e), 0);
	CHECK_STR(dssh_crypto_engine_name(e),
	    strstr(dssh_crypto_engine_names(), "ipsecmb") != NULL ? "ipsecmb" : "openssl");
	dssh_crypto_engine_free(e);
	e = (struct dssh_crypto_engine *)&conf;
	CHECK_EQ_INT(dssh_crypto_engine_create("no-such-engine", NULL, &e), DSSH_ERR_NOT_FOUND);
	CHECK(e == NULL);
	CHECK_EQ_INT(dssh_crypto_engine_create("openssl", NULL, NULL), DSSH_ERR_INVALID_ARGUMENT);
	dssh_crypto_engine_free(NULL);
	dssh_crypto_sa_free(NULL);
}

static void
test_accessors(void)
{
	static const struct {
		struct combo c;
		size_t tag, lb, bl;
		bool lenc;
	} t[] = {
		{ { DSSH_CIPHER_AES128_GCM, DSSH_MAC_NONE }, 16, 4, 16, false },
		{ { DSSH_CIPHER_AES256_GCM, DSSH_MAC_NONE }, 16, 4, 16, false },
		{ { DSSH_CIPHER_CHACHA20_POLY1305, DSSH_MAC_NONE }, 16, 4, 8, false },
		{ { DSSH_CIPHER_AES128_CTR, DSSH_MAC_HMAC_SHA2_256 }, 32, 16, 16, true },
		{ { DSSH_CIPHER_AES256_CTR, DSSH_MAC_HMAC_SHA2_512 }, 64, 16, 16, true },
		{ { DSSH_CIPHER_AES192_CTR, DSSH_MAC_HMAC_SHA2_256_ETM }, 32, 4, 16, false },
		{ { DSSH_CIPHER_AES128_CTR, DSSH_MAC_HMAC_SHA2_512_ETM }, 64, 4, 16, false },
		{ { DSSH_CIPHER_NONE, DSSH_MAC_NONE }, 0, 4, 8, true },
	};
	struct dssh_crypto_keys k;
	struct dssh_crypto_sa *sa;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r;

		make_keys(&k, &t[i].c);
		sa = NULL;
		r = dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_OPEN, &sa);
		/* the OpenSSL engine does "none"; others need not */
		if (r == DSSH_ERR_UNSUPPORTED && t[i].c.cipher == DSSH_CIPHER_NONE &&
		    strcmp(engine_name, "openssl") != 0)
			continue;
		CHECK_EQ_INT(r, 0);
		if (sa == NULL)
			continue;
		CHECK_EQ_INT(dssh_crypto_sa_tag_len(sa), t[i].tag);
		CHECK_EQ_INT(dssh_crypto_sa_length_bytes(sa), t[i].lb);
		CHECK_EQ_INT(dssh_crypto_sa_block_len(sa), t[i].bl);
		CHECK_EQ_INT(dssh_crypto_sa_length_encrypted(sa), t[i].lenc);
		dssh_crypto_sa_free(sa);
	}
}

static void
test_sa_args(void)
{
	struct combo c = { DSSH_CIPHER_AES128_CTR, DSSH_MAC_HMAC_SHA2_256 };
	struct combo g = { DSSH_CIPHER_AES128_GCM, DSSH_MAC_NONE };
	struct dssh_crypto_keys k;
	struct dssh_crypto_sa *sa = NULL;
	int r;

	make_keys(&k, &c);
	CHECK_EQ_INT(dssh_crypto_sa_new(NULL, &k, DSSH_CRYPTO_SEAL, &sa), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_crypto_sa_new(eng, NULL, DSSH_CRYPTO_SEAL, &sa), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_crypto_sa_new(eng, &k, (enum dssh_crypto_dir)7, &sa),
	    DSSH_ERR_INVALID_ARGUMENT);
	k.mac = NULL;
	CHECK_EQ_INT(dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_SEAL, &sa), DSSH_ERR_INVALID_ARGUMENT);
	k.mac = dssh_mac_by_id(DSSH_MAC_NONE);
	CHECK_EQ_INT(dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_SEAL, &sa), DSSH_ERR_INVALID_ARGUMENT);
	k.cipher = NULL;
	CHECK_EQ_INT(dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_SEAL, &sa), DSSH_ERR_INVALID_ARGUMENT);
	CHECK(sa == NULL);

	/* AEAD: whatever MAC was negotiated is ignored. */
	make_keys(&k, &g);
	k.mac = dssh_mac_by_id(DSSH_MAC_HMAC_SHA2_512);
	CHECK_EQ_INT(dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_SEAL, &sa), 0);
	if (sa != NULL) {
		CHECK_EQ_INT(dssh_crypto_sa_tag_len(sa), 16);
		dssh_crypto_sa_free(sa);
		sa = NULL;
	}
	/* none cipher with a MAC: not a thing. */
	k.cipher = dssh_cipher_by_id(DSSH_CIPHER_NONE);
	CHECK_EQ_INT(dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_SEAL, &sa), DSSH_ERR_INVALID_ARGUMENT);

	/* umac: the OpenSSL engine may refuse, but then with UNSUPPORTED. */
	c.mac = DSSH_MAC_UMAC_64_ETM;
	make_keys(&k, &c);
	r = dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_SEAL, &sa);
	CHECK(r == 0 || r == DSSH_ERR_UNSUPPORTED);
	CHECK((r == 0) == (sa != NULL));
	dssh_crypto_sa_free(sa);
}

/* Seal, peek, open one packet of each length for one combination. */
static void
roundtrip_combo(const struct combo *c, uint32_t seq0)
{
	static const uint32_t fixed[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 64,
	    255, 256, 1000, 1024, 4096, 16384, 32768, 32769, 34999, 35000 };
	struct dssh_crypto_keys k;
	struct dssh_crypto_sa *seal, *open;
	uint8_t *pkt, *plain;
	uint32_t seq = seq0, len, pl, want;
	size_t tag, lb, i, n = sizeof(fixed) / sizeof(fixed[0]) + 20;
	int r;

	make_keys(&k, c);
	if ((r = make_pair(&k, &seal, &open)) != 0) {
		CHECK(r == 1);  /* unsupported: fine, but only that */
		return;
	}
	tag = dssh_crypto_sa_tag_len(seal);
	lb = dssh_crypto_sa_length_bytes(open);
	pkt = malloc(35100 + tag);
	plain = malloc(35100 + tag);
	for (i = 0; i < n; i++) {
		if (i < sizeof(fixed) / sizeof(fixed[0]))
			want = fixed[i] < 16 ? fixed[i] * (uint32_t)dssh_crypto_sa_block_len(seal) :
			    fixed[i];
		else
			want = (uint32_t)(dssh_test_rand(&rng) % 35000);
		len = valid_len(seal, want);
		fill_packet(pkt, len);
		memcpy(plain, pkt, len);
		CHECK_EQ_INT(run1(seal, pkt, len, seq), 0);
		if (c->cipher != DSSH_CIPHER_NONE) {
			CHECK(memcmp(pkt + 5, plain + 5, len - 5) != 0);
			if (dssh_crypto_sa_length_encrypted(seal))
				CHECK(memcmp(pkt, plain, 4) != 0);
			else if (c->cipher != DSSH_CIPHER_CHACHA20_POLY1305)
				CHECK_MEM(pkt, plain, 4);
			else
				CHECK(memcmp(pkt, plain, 4) != 0);
		} else
			CHECK_MEM(pkt, plain, len);
		CHECK_EQ_INT(dssh_crypto_sa_peek_length(open, seq, pkt, lb - 1, &pl),
		    DSSH_ERR_MSG_INCOMPLETE);
		pl = 0;
		CHECK_EQ_INT(dssh_crypto_sa_peek_length(open, seq, pkt, lb, &pl), 0);
		CHECK_EQ_INT(pl, len - 4);
		/* peeking twice changes nothing */
		CHECK_EQ_INT(dssh_crypto_sa_peek_length(open, seq, pkt, len + tag, &pl), 0);
		CHECK_EQ_INT(pl, len - 4);
		CHECK_EQ_INT(run1(open, pkt, len, seq), 0);
		CHECK_MEM(pkt, plain, len);
		seq++;
	}
	free(pkt);
	free(plain);
	dssh_crypto_sa_free(seal);
	dssh_crypto_sa_free(open);
}

static void
test_roundtrip(void)
{
	size_t i;

	for (i = 0; i < sizeof(combos) / sizeof(combos[0]); i++) {
		int before = dssh_test_failures;

		roundtrip_combo(&combos[i], 0xfffffff0u);
		roundtrip_combo(&combos[i], 0);
		if (dssh_test_failures != before)
			fprintf(stderr, "  in %s\n", combo_name(&combos[i]));
	}
}

/*
 * One burst mixing packets of several SAs (all combinations at once), sealed
 * in one process() call and opened in another, with a small engine queue so
 * the burst has to be fed in pieces.
 */
static void
test_mixed_burst(void)
{
	enum { PER = 6, NC = sizeof(combos) / sizeof(combos[0]) };
	struct dssh_crypto_engine *saved = eng, *small = NULL;
	struct dssh_crypto_engine_conf conf = { .max_burst = 2, .socket_id = -1 };
	struct dssh_crypto_sa *seal[NC], *open[NC];
	struct dssh_crypto_op ops[NC * PER], *opp[NC * PER];
	uint8_t *plain[NC * PER];
	struct dssh_crypto_keys k;
	unsigned i, j, n = 0, nsa = 0;
	uint32_t len;

	CHECK_EQ_INT(dssh_crypto_engine_create(engine_name, &conf, &small), 0);
	if (small == NULL)
		return;
	eng = small;
	for (i = 0; i < NC; i++) {
		make_keys(&k, &combos[i]);
		if (make_pair(&k, &seal[nsa], &open[nsa]) == 0)
			nsa++;
	}
	/* round-robin over SAs: seq order within each SA holds */
	for (j = 0; j < PER; j++) {
		for (i = 0; i < nsa; i++) {
			len = valid_len(seal[i], (uint32_t)(dssh_test_rand(&rng) % 3000));
			ops[n] = (struct dssh_crypto_op){ .sa = seal[i], .len = len,
			    .seq = 0xfffffffdu + j, .user = &ops[n] };
			ops[n].pkt = malloc(len + dssh_crypto_sa_tag_len(seal[i]));
			plain[n] = malloc(len);
			fill_packet(ops[n].pkt, len);
			memcpy(plain[n], ops[n].pkt, len);
			opp[n] = &ops[n];
			n++;
		}
	}
	CHECK_EQ_INT(dssh_crypto_process(eng, opp, n), 0);
	for (i = 0; i < n; i++) {
		CHECK_EQ_INT(ops[i].status, 0);
		CHECK(ops[i].user == &ops[i]);
		ops[i].sa = open[i % nsa];
		ops[i].status = 12345;
	}
	CHECK_EQ_INT(dssh_crypto_process(eng, opp, n), 0);
	for (i = 0; i < n; i++) {
		CHECK_EQ_INT(ops[i].status, 0);
		CHECK_MEM(ops[i].pkt, plain[i], ops[i].len);
		free(ops[i].pkt);
		free(plain[i]);
	}
	for (i = 0; i < nsa; i++) {
		dssh_crypto_sa_free(seal[i]);
		dssh_crypto_sa_free(open[i]);
	}
	dssh_crypto_engine_free(small);
	eng = saved;
}

/* submit/complete directly: FIFO, partial completion, queue limit. */
static void
test_submit_complete(void)
{
	struct combo c = { DSSH_CIPHER_AES128_GCM, DSSH_MAC_NONE };
	struct dssh_crypto_engine *e = NULL;
	struct dssh_crypto_engine_conf conf = { .max_burst = 1, .socket_id = -1 };
	struct dssh_crypto_keys k;
	struct dssh_crypto_sa *sa = NULL;
	struct dssh_crypto_op ops[64], *opp[64], *done[64];
	uint8_t buf[64][64];
	unsigned i, got, sub, ndone = 0, spins = 0;

	CHECK_EQ_INT(dssh_crypto_engine_create(engine_name, &conf, &e), 0);
	if (e == NULL)
		return;
	make_keys(&k, &c);
	CHECK_EQ_INT(dssh_crypto_sa_new(e, &k, DSSH_CRYPTO_SEAL, &sa), 0);
	for (i = 0; i < 64; i++) {
		fill_packet(buf[i], 36);
		ops[i] = (struct dssh_crypto_op){ .sa = sa, .pkt = buf[i], .len = 36, .seq = i };
		opp[i] = &ops[i];
	}
	CHECK_EQ_INT(dssh_crypto_submit(e, opp, 0), 0);
	CHECK_EQ_INT(dssh_crypto_complete(e, done, 64), 0);
	sub = dssh_crypto_submit(e, opp, 64);
	CHECK(sub >= 1 && sub <= 64);
	/* OpenSSL: a bounded queue, the caller keeps the rest */
	if (strcmp(engine_name, "openssl") == 0) {
		CHECK(sub < 64);
		CHECK_EQ_INT(dssh_crypto_submit(e, opp + sub, 64 - sub), 0);
	}
	/* drain one at a time, feeding the rest; order must be kept */
	while (ndone < 64 && spins++ < 1000000) {
		got = dssh_crypto_complete(e, done + ndone, 1);
		CHECK(got <= 1);
		ndone += got;
		if (sub < 64)
			sub += dssh_crypto_submit(e, opp + sub, 64 - sub);
	}
	CHECK_EQ_INT(ndone, 64);
	for (i = 0; i < ndone; i++) {
		CHECK(done[i] == &ops[i]);
		CHECK_EQ_INT(ops[i].status, 0);
	}
	CHECK_EQ_INT(dssh_crypto_complete(e, done, 64), 0);
	dssh_crypto_sa_free(sa);
	dssh_crypto_engine_free(e);
}

/* Every single-bit change of the wire bytes must be caught, releasing nothing. */
static void
tamper_combo(const struct combo *c)
{
	struct dssh_crypto_keys k;
	struct dssh_crypto_sa *seal, *open;
	uint8_t wire[128 + 64], pkt[128 + 64], plain[128];
	uint32_t len, seq = 0xffffffffu;
	size_t tag, bit;
	int r;

	make_keys(&k, c);
	if ((r = make_pair(&k, &seal, &open)) != 0) {
		CHECK(r == 1);
		return;
	}
	dssh_crypto_sa_free(open);
	tag = dssh_crypto_sa_tag_len(seal);
	len = valid_len(seal, 40);
	fill_packet(wire, len);
	memcpy(plain, wire, len);
	CHECK_EQ_INT(run1(seal, wire, len, seq), 0);
	dssh_crypto_sa_free(seal);

	/* control: untouched wire opens */
	CHECK_EQ_INT(dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_OPEN, &open), 0);
	memcpy(pkt, wire, len + tag);
	CHECK_EQ_INT(run1(open, pkt, len, seq), 0);
	CHECK_MEM(pkt, plain, len);
	dssh_crypto_sa_free(open);

	for (bit = 0; bit < (len + tag) * 8; bit++) {
		open = NULL;
		CHECK_EQ_INT(dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_OPEN, &open), 0);
		memcpy(pkt, wire, len + tag);
		pkt[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = run1(open, pkt, len, seq);
		if (r != DSSH_ERR_MAC_INVALID || !all_zero(pkt, len)) {
			CHECK_EQ_INT(r, DSSH_ERR_MAC_INVALID);
			CHECK(all_zero(pkt, len));
			fprintf(stderr, "  bit %zu of %s\n", bit, combo_name(c));
			dssh_crypto_sa_free(open);
			break;
		}
		dssh_crypto_sa_free(open);
	}

	/* wrong sequence number (GCM does not use it: its counter is internal) */
	if (c->cipher != DSSH_CIPHER_AES128_GCM && c->cipher != DSSH_CIPHER_AES256_GCM) {
		CHECK_EQ_INT(dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_OPEN, &open), 0);
		memcpy(pkt, wire, len + tag);
		CHECK_EQ_INT(run1(open, pkt, len, seq + 1), DSSH_ERR_MAC_INVALID);
		CHECK(all_zero(pkt, len));
		dssh_crypto_sa_free(open);
	}
	/* truncated: the caller's len one block short */
	CHECK_EQ_INT(dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_OPEN, &open), 0);
	memcpy(pkt, wire, len + tag);
	r = run1(open, pkt, len - (uint32_t)dssh_crypto_sa_block_len(open), seq);
	CHECK_EQ_INT(r, DSSH_ERR_MAC_INVALID);
	dssh_crypto_sa_free(open);
}

static void
test_tamper(void)
{
	size_t i;

	for (i = 0; i < sizeof(combos) / sizeof(combos[0]); i++)
		if (combos[i].cipher != DSSH_CIPHER_NONE)
			tamper_combo(&combos[i]);
}

/* A second GCM packet opened out of order must fail (the counter moves). */
static void
test_replay(void)
{
	size_t i;

	for (i = 0; i < sizeof(combos) / sizeof(combos[0]); i++) {
		const struct combo *c = &combos[i];
		struct dssh_crypto_keys k;
		struct dssh_crypto_sa *seal, *open;
		uint8_t a[64 + 64], b[64 + 64];
		uint32_t len;

		if (c->cipher == DSSH_CIPHER_NONE)
			continue;
		make_keys(&k, c);
		if (make_pair(&k, &seal, &open) != 0)
			continue;
		len = valid_len(seal, 48);
		fill_packet(a, len);
		fill_packet(b, len);
		CHECK_EQ_INT(run1(seal, a, len, 7), 0);
		CHECK_EQ_INT(run1(seal, b, len, 8), 0);
		/* b first, claiming a's place */
		CHECK_EQ_INT(run1(open, b, len, 7), DSSH_ERR_MAC_INVALID);
		dssh_crypto_sa_free(seal);
		dssh_crypto_sa_free(open);
	}
}

/* Bad shapes are refused without changing SA state. */
static void
test_bad_len(void)
{
	size_t i;

	for (i = 0; i < sizeof(combos) / sizeof(combos[0]); i++) {
		const struct combo *c = &combos[i];
		struct dssh_crypto_keys k;
		struct dssh_crypto_sa *seal, *open, *other = NULL;
		struct dssh_crypto_op op, *opp = &op;
		uint8_t pkt[128 + 64], plain[128];
		uint32_t len;

		if (c->cipher == DSSH_CIPHER_NONE)
			continue;
		make_keys(&k, c);
		if (make_pair(&k, &seal, &open) != 0)
			continue;
		len = valid_len(seal, 52);
		fill_packet(pkt, len);
		CHECK_EQ_INT(run1(seal, pkt, len + 1, 0), DSSH_ERR_INVALID_ARGUMENT);
		CHECK_EQ_INT(run1(seal, pkt, len - 1, 0), DSSH_ERR_INVALID_ARGUMENT);
		CHECK_EQ_INT(run1(seal, pkt, 3, 0), DSSH_ERR_INVALID_ARGUMENT);
		CHECK_EQ_INT(run1(seal, pkt, 0, 0), DSSH_ERR_INVALID_ARGUMENT);
		CHECK_EQ_INT(run1(seal, NULL, len, 0), DSSH_ERR_INVALID_ARGUMENT);
		op = (struct dssh_crypto_op){ .sa = NULL, .pkt = pkt, .len = len };
		CHECK_EQ_INT(dssh_crypto_process(eng, &opp, 1), DSSH_ERR_INVALID_ARGUMENT);
		/* an SA of another engine */
		{
			struct dssh_crypto_engine *e2 = NULL;

			CHECK_EQ_INT(dssh_crypto_engine_create(engine_name, NULL, &e2), 0);
			CHECK_EQ_INT(dssh_crypto_sa_new(e2, &k, DSSH_CRYPTO_SEAL, &other), 0);
			op = (struct dssh_crypto_op){ .sa = other, .pkt = pkt, .len = len };
			CHECK_EQ_INT(dssh_crypto_process(eng, &opp, 1), DSSH_ERR_INVALID_ARGUMENT);
			dssh_crypto_sa_free(other);
			dssh_crypto_engine_free(e2);
		}
		/* state unchanged: the first real packet still opens */
		fill_packet(pkt, len);
		memcpy(plain, pkt, len);
		CHECK_EQ_INT(run1(seal, pkt, len, 0), 0);
		memcpy(plain + 64, pkt, 32);
		CHECK_EQ_INT(run1(open, pkt, len + 1, 0), DSSH_ERR_INVALID_ARGUMENT);
		CHECK_MEM(pkt, plain + 64, 32);  /* refused before touching anything */
		CHECK_EQ_INT(run1(open, pkt, len, 0), 0);
		CHECK_MEM(pkt, plain, len);
		dssh_crypto_sa_free(seal);
		dssh_crypto_sa_free(open);
	}
}

/* ---- known answers ---- */

static void
test_kat_gcm(void)
{
	static const uint8_t start[2][8] = {
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe },  /* wraps to 0 */
		{ 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xfe },  /* carries */
	};
	enum dssh_cipher_id ids[2] = { DSSH_CIPHER_AES128_GCM, DSSH_CIPHER_AES256_GCM };
	size_t a, s, p;

	for (a = 0; a < 2; a++) {
		for (s = 0; s < 2; s++) {
			struct combo c = { ids[a], DSSH_MAC_NONE };
			struct dssh_crypto_keys k;
			struct dssh_crypto_sa *seal = NULL;
			uint8_t iv[12], pkt[200 + 16], exp[200 + 16];
			uint64_t ctr;

			make_keys(&k, &c);
			memcpy(k.iv + 4, start[s], 8);
			memcpy(iv, k.iv, 12);
			CHECK_EQ_INT(dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_SEAL, &seal), 0);
			for (p = 0; p < 4; p++) {
				EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
				uint32_t len = 4 + 16 * (uint32_t)(1 + p * 3);
				int ol;

				fill_packet(pkt, len);
				memcpy(exp, pkt, len);
				CHECK_EQ_INT(EVP_EncryptInit_ex(x, a == 0 ? EVP_aes_128_gcm() :
				    EVP_aes_256_gcm(), NULL, k.key, iv), 1);
				CHECK_EQ_INT(EVP_EncryptUpdate(x, NULL, &ol, exp, 4), 1);
				CHECK_EQ_INT(EVP_EncryptUpdate(x, exp + 4, &ol, exp + 4, (int)len - 4), 1);
				CHECK_EQ_INT(EVP_EncryptFinal_ex(x, exp + len, &ol), 1);
				CHECK_EQ_INT(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16,
				    exp + len), 1);
				EVP_CIPHER_CTX_free(x);
				CHECK_EQ_INT(run1(seal, pkt, len, (uint32_t)p), 0);
				CHECK_MEM(pkt, exp, len + 16);
				/* next IV: fixed part kept, 64-bit counter + 1 */
				ctr = dssh_get_u64be(iv + 4) + 1;
				dssh_put_u64be(iv + 4, ctr);
			}
			CHECK_MEM(iv, k.iv, 4);
			dssh_crypto_sa_free(seal);
		}
	}
}

/* AES-CTR from AES-ECB on an explicit 128-bit big-endian counter. */
struct ref_ctr {
	EVP_CIPHER_CTX *ecb;
	uint8_t ctr[16];
};

static void
ref_ctr_xor(struct ref_ctr *rc, uint8_t *p, size_t n)
{
	uint8_t ks[16];
	size_t i, j;
	int ol, b;

	for (i = 0; i < n; i += 16) {
		CHECK_EQ_INT(EVP_EncryptUpdate(rc->ecb, ks, &ol, rc->ctr, 16), 1);
		for (j = 0; j < 16 && i + j < n; j++)
			p[i + j] ^= ks[j];
		for (b = 15; b >= 0; b--)
			if (++rc->ctr[b] != 0)
				break;
	}
}

static void
test_kat_ctr_hmac(void)
{
	static const enum dssh_mac_id macs[] = { DSSH_MAC_HMAC_SHA2_256, DSSH_MAC_HMAC_SHA2_512,
	    DSSH_MAC_HMAC_SHA2_256_ETM, DSSH_MAC_HMAC_SHA2_512_ETM,
	    DSSH_MAC_UMAC_64_ETM, DSSH_MAC_UMAC_128_ETM };
	static const enum dssh_cipher_id ciphers[] = { DSSH_CIPHER_AES128_CTR,
	    DSSH_CIPHER_AES192_CTR, DSSH_CIPHER_AES256_CTR };
	size_t ci, mi, p;

	for (ci = 0; ci < 3; ci++) {
		for (mi = 0; mi < sizeof(macs) / sizeof(macs[0]); mi++) {
			struct combo c = { ciphers[ci], macs[mi] };
			const struct dssh_mac_info *mac = dssh_mac_by_id(macs[mi]);
			const EVP_MD *md = (macs[mi] == DSSH_MAC_HMAC_SHA2_256 ||
			    macs[mi] == DSSH_MAC_HMAC_SHA2_256_ETM) ? EVP_sha256() : EVP_sha512();
			const EVP_CIPHER *ecb = ci == 0 ? EVP_aes_128_ecb() :
			    ci == 1 ? EVP_aes_192_ecb() : EVP_aes_256_ecb();
			struct dssh_crypto_keys k;
			struct dssh_crypto_sa *seal = NULL, *open = NULL;
			struct ref_ctr rc;
			uint8_t pkt[600 + 64], exp[600 + 64], plain[600], macin[4 + 600];
			uint32_t seq = 0xfffffffeu, len, pl;
			unsigned int ml;
			bool umac = macs[mi] == DSSH_MAC_UMAC_64_ETM ||
			    macs[mi] == DSSH_MAC_UMAC_128_ETM;
#ifdef TEST_HAVE_UMAC
			struct dssh_umac *u = NULL;
#endif

			make_keys(&k, &c);
			if (umac) {
				int r = dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_SEAL, &seal);

				dssh_crypto_sa_free(seal);
				seal = NULL;
				if (r == DSSH_ERR_UNSUPPORTED)
					continue;
#ifdef TEST_HAVE_UMAC
				CHECK_EQ_INT(dssh_umac_new(k.mac_key, mac->mac_len, &u), 0);
#else
				CHECK(!"engine does umac, this test cannot check it");
				continue;
#endif
			}
			/* low 64 bits about to carry into the high half */
			memset(k.iv + 8, 0xff, 8);
			k.iv[15] = 0xfd;
			rc.ecb = EVP_CIPHER_CTX_new();
			memcpy(rc.ctr, k.iv, 16);
			CHECK_EQ_INT(EVP_EncryptInit_ex(rc.ecb, ecb, NULL, k.key, NULL), 1);
			EVP_CIPHER_CTX_set_padding(rc.ecb, 0);
			CHECK_EQ_INT(dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_SEAL, &seal), 0);
			CHECK_EQ_INT(dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_OPEN, &open), 0);
			for (p = 0; p < 5; p++, seq++) {
				len = valid_len(seal, 16 + 16 * (uint32_t)(p * 7 % 30));
				fill_packet(pkt, len);
				memcpy(plain, pkt, len);
				memcpy(exp, pkt, len);
				dssh_put_u32be(macin, seq);
				if (mac->etm) {
					ref_ctr_xor(&rc, exp + 4, len - 4);
					memcpy(macin + 4, exp, len);
				} else {
					memcpy(macin + 4, exp, len);
					ref_ctr_xor(&rc, exp, len);
				}
				if (!umac) {
					CHECK(HMAC(md, k.mac_key, mac->key_len, macin, 4 + len,
					    exp + len, &ml) != NULL);
					CHECK_EQ_INT(ml, mac->mac_len);
				}
#ifdef TEST_HAVE_UMAC
				else
					CHECK_EQ_INT(dssh_umac_mac(u, seq, exp, len, exp + len), 0);
#endif
				CHECK_EQ_INT(run1(seal, pkt, len, seq), 0);
				CHECK_MEM(pkt, exp, len + mac->mac_len);
				CHECK_EQ_INT(dssh_crypto_sa_peek_length(open, seq, pkt, len, &pl), 0);
				CHECK_EQ_INT(pl, len - 4);
				CHECK_EQ_INT(run1(open, pkt, len, seq), 0);
				CHECK_MEM(pkt, plain, len);
			}
			EVP_CIPHER_CTX_free(rc.ecb);
#ifdef TEST_HAVE_UMAC
			dssh_umac_free(u);
#endif
			dssh_crypto_sa_free(seal);
			dssh_crypto_sa_free(open);
		}
	}
}

/* ChaCha20 block (RFC 8439 section 2.3); state words 12..15 given. */
#define ROTL32(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define QR(a, b, c, d) do { \
	a += b; d ^= a; d = ROTL32(d, 16); c += d; b ^= c; b = ROTL32(b, 12); \
	a += b; d ^= a; d = ROTL32(d, 8); c += d; b ^= c; b = ROTL32(b, 7); \
} while (0)

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
ref_chacha_block(const uint8_t key[32], const uint32_t w[4], uint8_t out[64])
{
	uint32_t s[16], x[16];
	int i;

	s[0] = 0x61707865; s[1] = 0x3320646e; s[2] = 0x79622d32; s[3] = 0x6b206574;
	for (i = 0; i < 8; i++)
		s[4 + i] = le32(key + 4 * i);
	for (i = 0; i < 4; i++)
		s[12 + i] = w[i];
	memcpy(x, s, sizeof(x));
	for (i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]); QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]); QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]); QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]); QR(x[3], x[4], x[9], x[14]);
	}
	for (i = 0; i < 16; i++) {
		uint32_t v = x[i] + s[i];

		out[4 * i] = (uint8_t)v; out[4 * i + 1] = (uint8_t)(v >> 8);
		out[4 * i + 2] = (uint8_t)(v >> 16); out[4 * i + 3] = (uint8_t)(v >> 24);
	}
}

/* OpenSSH's layout: 64-bit block counter in words 12-13, and the 8-byte
 * nonce (seq as uint64 big endian) loaded little endian into words 14-15. */
static void
ref_ssh_chacha_xor(const uint8_t key[32], uint32_t seq, uint64_t counter, uint8_t *p, size_t n)
{
	uint8_t nonce[8], ks[64];
	uint32_t w[4];
	size_t i, j;

	dssh_put_u64be(nonce, seq);
	for (i = 0; i < n; i += 64, counter++) {
		w[0] = (uint32_t)counter;
		w[1] = (uint32_t)(counter >> 32);
		w[2] = le32(nonce);
		w[3] = le32(nonce + 4);
		ref_chacha_block(key, w, ks);
		for (j = 0; j < 64 && i + j < n; j++)
			p[i + j] ^= ks[j];
	}
}

static void
test_ref_chacha(void)
{
	/* RFC 8439 2.3.2: key 00..1f, nonce 000000090000004a00000000, counter 1 */
	static const uint8_t want232[16] = { 0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15,
	    0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20, 0x71, 0xc4 };
	/* RFC 8439 A.1 test vector 1: zero key, zero nonce, counter 0 */
	static const uint8_t want_a1[16] = { 0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90,
	    0x40, 0x5d, 0x6a, 0xe5, 0x53, 0x86, 0xbd, 0x28 };
	static const uint8_t nonce[12] = { 0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0 };
	uint8_t key[32], out[64];
	uint32_t w[4];
	int i;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	w[0] = 1;
	w[1] = le32(nonce);
	w[2] = le32(nonce + 4);
	w[3] = le32(nonce + 8);
	ref_chacha_block(key, w, out);
	CHECK_MEM(out, want232, 16);
	memset(key, 0, sizeof(key));
	memset(w, 0, sizeof(w));
	ref_chacha_block(key, w, out);
	CHECK_MEM(out, want_a1, 16);
}

static void
test_kat_chacha(void)
{
	struct combo c = { DSSH_CIPHER_CHACHA20_POLY1305, DSSH_MAC_NONE };
	static const uint32_t seqs[] = { 0, 1, 0x01020304u, 0xfffffffeu, 0xffffffffu };
	struct dssh_crypto_keys k;
	struct dssh_crypto_sa *seal = NULL, *open = NULL;
	uint8_t pkt[400 + 16], exp[400 + 16], plain[400], poly_key[64], tag[16];
	uint32_t len, pl;
	size_t i, tl;

	make_keys(&k, &c);
	CHECK_EQ_INT(dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_SEAL, &seal), 0);
	CHECK_EQ_INT(dssh_crypto_sa_new(eng, &k, DSSH_CRYPTO_OPEN, &open), 0);
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		len = 4 + 8 * (uint32_t)(2 + i * 11);  /* spans several ChaCha blocks */
		fill_packet(pkt, len);
		memcpy(plain, pkt, len);
		memcpy(exp, pkt, len);
		/* K_1 = key[32..64) for the length, K_2 = key[0..32) for the rest */
		ref_ssh_chacha_xor(k.key + 32, seqs[i], 0, exp, 4);
		ref_ssh_chacha_xor(k.key, seqs[i], 1, exp + 4, len - 4);
		memset(poly_key, 0, sizeof(poly_key));
		ref_ssh_chacha_xor(k.key, seqs[i], 0, poly_key, 64);
		CHECK(EVP_Q_mac(NULL, "POLY1305", NULL, NULL, NULL, poly_key, 32, exp, len,
		    tag, sizeof(tag), &tl) != NULL);
		CHECK_EQ_INT(tl, 16);
		memcpy(exp + len, tag, 16);
		CHECK_EQ_INT(run1(seal, pkt, len, seqs[i]), 0);
		CHECK_MEM(pkt, exp, len + 16);
		CHECK_EQ_INT(dssh_crypto_sa_peek_length(open, seqs[i], pkt, 4, &pl), 0);
		CHECK_EQ_INT(pl, len - 4);
		CHECK_EQ_INT(run1(open, pkt, len, seqs[i]), 0);
		CHECK_MEM(pkt, plain, len);
	}
	dssh_crypto_sa_free(seal);
	dssh_crypto_sa_free(open);
}

int
main(void)
{
	const char *env = getenv("DSSH_TEST_ENGINE");

	if (env != NULL && *env != '\0')
		engine_name = env;
	if (dssh_crypto_engine_create(engine_name, NULL, &eng) != 0) {
		fprintf(stderr, "engine %s not available\n", engine_name);
		return 1;
	}
	DSSH_RUN(test_engine_create);
	DSSH_RUN(test_accessors);
	DSSH_RUN(test_sa_args);
	DSSH_RUN(test_roundtrip);
	DSSH_RUN(test_mixed_burst);
	DSSH_RUN(test_submit_complete);
	DSSH_RUN(test_tamper);
	DSSH_RUN(test_replay);
	DSSH_RUN(test_bad_len);
	DSSH_RUN(test_ref_chacha);
	DSSH_RUN(test_kat_gcm);
	DSSH_RUN(test_kat_ctr_hmac);
	DSSH_RUN(test_kat_chacha);
	dssh_crypto_engine_free(eng);
	DSSH_TEST_END();
}
