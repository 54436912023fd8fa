/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The offloaded packet layer (dssh_record.h): the dssh_rec object on its own
 * (key bodies, padding, framing, a sealed round trip), and the real engine in
 * record-offload mode with a dssh_rec in front of it as a data core would
 * run it (test_client.c, tc_conf.record_offload): every cipher and MAC,
 * rekeys from both sides, and the input failures that must end the
 * connection cleanly.
 */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_record.h"
#include "dssh_sshkey.h"
#include "dssh_test.h"
#include "dssh_util.h"
#include "ssh_internal.h"
#include "test_client.h"
#include "test_host.h"

static struct dssh_crypto_engine *engine;
static struct dssh_sshkey *hostkey, *userkey;

/* ---- cipher/MAC combinations, from the tables ---- */

struct combo {
	const struct dssh_cipher_info *cipher;
	const struct dssh_mac_info *mac;      /* NULL for AEAD */
};

#define MAX_COMBOS 64
static struct combo combos[MAX_COMBOS];
static size_t n_combos;

static void
list_names(const char *list, char out[][64], size_t max, size_t *n)
{
	const char *p = list;

	*n = 0;
	while (*p != '\0' && *n < max) {
		size_t l = strcspn(p, ",");

		snprintf(out[(*n)++], 64, "%.*s", (int)l, p);
		p += l;
		if (*p == ',')
			p++;
	}
}

/* Every cipher; a non-AEAD one with every MAC. */
static void
build_combos(void)
{
	char ciphers[16][64], macs[16][64];
	size_t nc, nm;

	list_names(dssh_cipher_names(), ciphers, 16, &nc);
	list_names(dssh_mac_names(), macs, 16, &nm);
	for (size_t i = 0; i < nc; i++) {
		const struct dssh_cipher_info *c = dssh_cipher_by_name(ciphers[i]);

		if (c == NULL)
			continue;
		for (size_t j = 0; j < (c->aead ? 1 : nm) && n_combos < MAX_COMBOS; j++)
			combos[n_combos++] = (struct combo){ c, c->aead ? NULL : dssh_mac_by_name(macs[j]) };
	}
}

static void
make_keys(const struct combo *cb, uint8_t seed, struct dssh_crypto_keys *k)
{
	memset(k, 0, sizeof(*k));
	k->cipher = cb->cipher;
	k->mac = cb->mac;
	for (size_t i = 0; i < sizeof(k->key); i++)
		k->key[i] = (uint8_t)(seed + 3 * i);
	for (size_t i = 0; i < sizeof(k->iv); i++)
		k->iv[i] = (uint8_t)(seed ^ (7 * i));
	for (size_t i = 0; i < sizeof(k->mac_key); i++)
		k->mac_key[i] = (uint8_t)(seed + 11 * i + 1);
}

/* ================= the dssh_rec object alone ================= */

static void
test_keys_codec(void)
{
	uint8_t body[DSSH_REC_KEYS_LEN], bad[DSSH_REC_KEYS_LEN + 1];
	struct dssh_crypto_keys k, d;
	bool reset;

	for (size_t i = 0; i < n_combos; i++) {
		for (int rs = 0; rs < 2; rs++) {
			make_keys(&combos[i], (uint8_t)(i + 1), &k);
			dssh_rec_keys_encode(&k, rs, body);
			reset = !rs;
			CHECK_EQ_INT(dssh_rec_keys_decode(body, sizeof(body), &d, &reset), 0);
			CHECK(d.cipher == k.cipher);
			CHECK(combos[i].mac == NULL ? d.mac == NULL : d.mac == k.mac);
			CHECK_EQ_INT(reset, rs);
			CHECK_MEM(d.key, k.key, sizeof(k.key));
			CHECK_MEM(d.iv, k.iv, sizeof(k.iv));
			CHECK_MEM(d.mac_key, k.mac_key, sizeof(k.mac_key));
		}
	}
	/* Bodies that must be refused. */
	make_keys(&combos[0], 9, &k);
	dssh_rec_keys_encode(&k, true, body);
	memcpy(bad, body, sizeof(body));
	bad[sizeof(body)] = 0;
	CHECK(dssh_rec_keys_decode(body, 0, &d, &reset) != 0);
	CHECK(dssh_rec_keys_decode(body, sizeof(body) - 1, &d, &reset) != 0);
	CHECK(dssh_rec_keys_decode(bad, sizeof(bad), &d, &reset) != 0);
	static const struct {
		size_t at;
		uint8_t v;
	} edits[] = {
		{ 0, DSSH_CIPHER_NONE },       /* "none" is never installed */
		{ 0, 99 },                     /* no such cipher */
		{ 0, 0xff },
		{ 1, 99 },                     /* no such MAC */
		{ 2, 2 },                      /* reset flag is 0 or 1 */
		{ 2, 0xff },
		{ 3, 1 },                      /* reserved */
	};

	for (size_t i = 0; i < DSSH_ARRAY_SIZE(edits); i++) {
		memcpy(bad, body, sizeof(body));
		bad[edits[i].at] = edits[i].v;
		CHECK(dssh_rec_keys_decode(bad, sizeof(body), &d, &reset) != 0);
	}
	/* A non-AEAD cipher needs a MAC. */
	memcpy(bad, body, sizeof(body));
	bad[0] = DSSH_CIPHER_AES128_CTR;
	bad[1] = DSSH_MAC_NONE;
	CHECK(dssh_rec_keys_decode(bad, sizeof(body), &d, &reset) != 0);
	bad[1] = DSSH_MAC_HMAC_SHA2_256;
	CHECK_EQ_INT(dssh_rec_keys_decode(bad, sizeof(body), &d, &reset), 0);
	/* AEAD without one is fine. */
	bad[0] = DSSH_CIPHER_AES128_GCM;
	bad[1] = DSSH_MAC_NONE;
	CHECK_EQ_INT(dssh_rec_keys_decode(bad, sizeof(body), &d, &reset), 0);
	CHECK(dssh_rec_err_str(DSSH_REC_ERR_MAC) != NULL);
	CHECK(dssh_rec_err_str(12345) != NULL);
}

/* For sa NULL (before NEWKEYS) and an SA of every combination. */
static void
each_sa(void (*fn)(const struct dssh_crypto_sa *sa, const char *what))
{
	fn(NULL, "plain");
	for (size_t i = 0; i < n_combos; i++) {
		struct dssh_crypto_keys k;
		struct dssh_crypto_sa *sa = NULL;

		make_keys(&combos[i], (uint8_t)i, &k);
		CHECK_EQ_INT(dssh_crypto_sa_new(engine, &k, DSSH_CRYPTO_SEAL, &sa), 0);
		if (sa != NULL)
			fn(sa, combos[i].mac ? combos[i].mac->name : combos[i].cipher->name);
		dssh_crypto_sa_free(sa);
	}
}

static bool
counted(const struct dssh_crypto_sa *sa)
{
	return sa == NULL || dssh_crypto_sa_length_encrypted(sa);
}

static void
pad_one(const struct dssh_crypto_sa *sa, const char *what)
{
	size_t bs = dssh_rec_block(sa);
	int bad = 0;

	CHECK(bs == 8 || bs == 16);
	for (size_t len = 0; len <= 1200; len++) {
		size_t pad = dssh_rec_pad_len(sa, len);
		size_t plen = 1 + len + pad;

		if (pad < 4 || pad > bs + 3 || ((counted(sa) ? 4 : 0) + plen) % bs != 0 ||
		    dssh_rec_check_length(sa, (uint32_t)plen) != 0)
			bad++;
	}
	if (bad != 0)
		fprintf(stderr, "  padding wrong for %s: %d lengths\n", what, bad);
	CHECK_EQ_INT(bad, 0);
	/* The longest payload the engine sends still frames. */
	size_t big = DSSH_PACKET_MAX - 64;

	CHECK_EQ_INT(dssh_rec_check_length(sa, (uint32_t)(1 + big + dssh_rec_pad_len(sa, big))), 0);
}

static void
test_pad_len(void)
{
	each_sa(pad_one);
}

/* Every NEWKEYS that can be framed (1 byte of payload, any padding that
 * aligns, the SA's tag) is short enough to stop a burst. */
static void
barrier_one(const struct dssh_crypto_sa *sa, const char *what)
{
	int valid = 0, missed = 0;

	for (unsigned padlen = 0; padlen <= 255; padlen++) {
		uint32_t plen = 2 + padlen;

		if (padlen < 4 || dssh_rec_check_length(sa, plen) != 0)
			continue;
		valid++;
		if (!dssh_rec_rx_barrier(4 + plen + dssh_rec_tag(sa)))
			missed++;
	}
	if (missed != 0)
		fprintf(stderr, "  NEWKEYS sizes not a barrier for %s: %d\n", what, missed);
	CHECK(valid > 0);
	CHECK_EQ_INT(missed, 0);
}

static void
test_barrier(void)
{
	each_sa(barrier_one);
	/* Whatever the tag: any padding, any tag up to the largest. */
	for (size_t tag = 0; tag <= DSSH_CRYPTO_MAX_TAG; tag++)
		for (size_t padlen = 4; padlen <= 255; padlen++)
			if (!dssh_rec_rx_barrier(4 + 1 + 1 + padlen + tag)) {
				CHECK(!"NEWKEYS size not a barrier");
				return;
			}
	/* Bulk packets do not stop a burst. */
	CHECK(!dssh_rec_rx_barrier(1024));
	CHECK(!dssh_rec_rx_barrier(32768 + 64));
}

static void
test_check_length(void)
{
	CHECK_EQ_INT(dssh_rec_check_length(NULL, 0), DSSH_REC_ERR_LENGTH);
	CHECK_EQ_INT(dssh_rec_check_length(NULL, 3), DSSH_REC_ERR_LENGTH);
	CHECK_EQ_INT(dssh_rec_check_length(NULL, 4), DSSH_REC_ERR_LENGTH);
	CHECK_EQ_INT(dssh_rec_check_length(NULL, 300000), DSSH_REC_ERR_LENGTH);
	CHECK_EQ_INT(dssh_rec_check_length(NULL, DSSH_PACKET_MAX + 4), DSSH_REC_ERR_LENGTH);
	CHECK_EQ_INT(dssh_rec_check_length(NULL, 0xffffffffu), DSSH_REC_ERR_LENGTH);
	CHECK_EQ_INT(dssh_rec_check_length(NULL, 13), DSSH_REC_ERR_BLOCK);
	CHECK_EQ_INT(dssh_rec_check_length(NULL, 16), DSSH_REC_ERR_BLOCK);
	CHECK_EQ_INT(dssh_rec_check_length(NULL, 12), 0);
	CHECK_EQ_INT(dssh_rec_check_length(NULL, DSSH_PACKET_MAX - 4), 0);

	uint8_t pkt[32] = { 0, 0, 0, 12, 4, SSH_MSG_IGNORE };
	uint32_t code = 0;

	CHECK_EQ_INT(dssh_rec_payload_len(pkt, &code), 7);
	CHECK_EQ_INT(code, 0);
	pkt[4] = 10;        /* one byte of payload left */
	CHECK_EQ_INT(dssh_rec_payload_len(pkt, &code), 1);
	static const uint8_t bad[] = { 0, 1, 2, 3, 11, 12, 255 };

	for (size_t i = 0; i < sizeof(bad); i++) {
		pkt[4] = bad[i];
		code = 0;
		CHECK_EQ_INT(dssh_rec_payload_len(pkt, &code), 0);
		CHECK_EQ_INT(code, DSSH_REC_ERR_PADDING);
	}
}

static void
test_rx_version(void)
{
	struct dssh_rec *r;
	static const char line[] = "SSH-2.0-x\r\nAB";
	char longl[DSSH_REC_VERSION_MAX + 10];

	/* Byte by byte: each taken up to the LF, nothing after it. */
	CHECK_EQ_INT(dssh_rec_new(engine, &r), 0);
	for (size_t i = 0; i < sizeof(line) - 1; i++) {
		size_t want = i < 11 ? 1 : 0;

		CHECK_EQ_INT(dssh_rec_rx_version(r, (const uint8_t *)line + i, 1), want);
		CHECK_EQ_INT(dssh_rec_rx_state(r), i < 10 ? DSSH_REC_RX_VERSION : DSSH_REC_RX_PACKETS);
	}
	dssh_rec_free(r);
	/* All at once: the line, not what follows. */
	CHECK_EQ_INT(dssh_rec_new(engine, &r), 0);
	CHECK_EQ_INT(dssh_rec_rx_version(r, (const uint8_t *)line, sizeof(line) - 1), 11);
	dssh_rec_free(r);

	/* No LF within the limit: the limit goes up, then input stops. */
	memset(longl, 'x', sizeof(longl));
	CHECK_EQ_INT(dssh_rec_new(engine, &r), 0);
	CHECK_EQ_INT(dssh_rec_rx_version(r, (const uint8_t *)longl, 100), 100);
	CHECK_EQ_INT(dssh_rec_rx_version(r, (const uint8_t *)longl, sizeof(longl)),
	    DSSH_REC_VERSION_MAX - 100);
	CHECK_EQ_INT(dssh_rec_rx_state(r), DSSH_REC_RX_FAILED);
	CHECK_EQ_INT(dssh_rec_rx_version(r, (const uint8_t *)longl, 5), 0);
	dssh_rec_free(r);
	/* LF as the last byte allowed. */
	longl[DSSH_REC_VERSION_MAX - 1] = '\n';
	CHECK_EQ_INT(dssh_rec_new(engine, &r), 0);
	CHECK_EQ_INT(dssh_rec_rx_version(r, (const uint8_t *)longl, sizeof(longl)),
	    DSSH_REC_VERSION_MAX);
	CHECK_EQ_INT(dssh_rec_rx_state(r), DSSH_REC_RX_PACKETS);
	dssh_rec_free(r);
}

/* One packet sealed by a's output side, appended to wire. */
static void
rec_seal(struct dssh_rec *a, const uint8_t *payload, size_t len, struct dssh_buf *wire)
{
	size_t n = dssh_rec_tx_wire_len(a, len);
	struct dssh_crypto_op op = { 0 }, *ops[1] = { &op };
	uint8_t *pkt;

	CHECK_EQ_INT(dssh_buf_reserve(wire, n, &pkt), 0);
	memcpy(pkt + DSSH_REC_TX_PAYLOAD, payload, len);
	bool sealed = dssh_rec_tx_op(a, pkt, len, &op);

	/* The plaintext framing, before sealing. */
	CHECK_EQ_INT(dssh_get_u32be(pkt) + 4 + (sealed ? dssh_crypto_sa_tag_len(op.sa) : 0), n);
	CHECK_EQ_INT(pkt[4], dssh_get_u32be(pkt) - 1 - len);
	if (sealed)
		CHECK_EQ_INT(dssh_crypto_process(engine, ops, 1), 0);
}

/* Frame and open one packet of wire with b's input side; compares the
 * payload. 0, DSSH_ERR_MSG_INCOMPLETE or the framing/open error. */
static int
rec_open(struct dssh_rec *b, struct dssh_buf *wire, const uint8_t *want, size_t want_len)
{
	struct dssh_crypto_op op, *ops[1] = { &op };
	const uint8_t *payload;
	size_t n, len;
	uint32_t code = 0;
	int r, st = 0;

	if ((r = dssh_rec_rx_frame(b, dssh_buf_ptr(wire), dssh_buf_len(wire), &n, &code)) != 0)
		return r;
	if (dssh_buf_len(wire) < n)
		return DSSH_ERR_MSG_INCOMPLETE;
	uint8_t *pkt = dssh_buf_mutable_ptr(wire);

	if (dssh_rec_rx_op(b, pkt, n, &op)) {
		dssh_crypto_process(engine, ops, 1);
		st = op.status;
	}
	r = dssh_rec_rx_done(b, pkt, st, &payload, &len, &code);
	if (r == 0) {
		CHECK_EQ_INT(len, want_len);
		if (len == want_len)
			CHECK_MEM(payload, want, len);
	}
	dssh_buf_consume(wire, n);
	return r;
}

/* Several packets framed before any is opened, as a data core does: each
 * length must still be read right (classic CTR: ahead of the counter). */
static void
rec_burst(struct dssh_rec *a, struct dssh_rec *b, const uint8_t *payload)
{
	static const size_t sizes[] = { 100, 2000, 37, 500, 1, 1500, 64, 999 };
	struct dssh_crypto_op ops[8], *burst[8];
	struct dssh_buf wire;
	size_t wl[8], off = 0;
	bool sealed[8];
	unsigned nops = 0;
	uint32_t code = 0;

	dssh_buf_init(&wire, 0);
	for (size_t i = 0; i < 8; i++)
		rec_seal(a, payload + i, sizes[i], &wire);
	uint8_t *base = dssh_buf_mutable_ptr(&wire);

	for (size_t i = 0; i < 8; i++) {
		CHECK_EQ_INT(dssh_rec_rx_frame(b, base + off, dssh_buf_len(&wire) - off, &wl[i], &code),
		    0);
		CHECK_EQ_INT(code, 0);
		if (code != 0 || off + wl[i] > dssh_buf_len(&wire))
			goto out;
		if ((sealed[i] = dssh_rec_rx_op(b, base + off, wl[i], &ops[i])))
			burst[nops++] = &ops[i];
		off += wl[i];
	}
	CHECK_EQ_INT(off, dssh_buf_len(&wire));
	if (nops > 0)
		CHECK_EQ_INT(dssh_crypto_process(engine, burst, nops), 0);
	off = 0;
	for (size_t i = 0; i < 8; i++) {
		const uint8_t *p;
		size_t len = 0;

		CHECK_EQ_INT(dssh_rec_rx_done(b, base + off, sealed[i] ? ops[i].status : 0, &p, &len,
		    &code), 0);
		CHECK_EQ_INT(len, sizes[i]);
		if (len == sizes[i])
			CHECK_MEM(p, payload + i, len);
		off += wl[i];
	}
out:
	dssh_buf_free(&wire);
}

/* a's output into b's input: plaintext, a NEWKEYS (b stops), keys both
 * sides, then payloads of every size class under the keys; twice. */
static void
roundtrip_one(const struct combo *cb)
{
	struct dssh_rec *a, *b;
	struct dssh_buf wire;
	uint8_t body[DSSH_REC_KEYS_LEN], payload[2100];
	static const uint8_t newkeys[1] = { SSH_MSG_NEWKEYS };
	struct dssh_crypto_keys k;

	CHECK_EQ_INT(dssh_rec_new(engine, &a), 0);
	CHECK_EQ_INT(dssh_rec_new(engine, &b), 0);
	dssh_buf_init(&wire, 0);
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	CHECK_EQ_INT(dssh_rec_rx_version(b, (const uint8_t *)"SSH-2.0-a\n", 10), 10);
	rec_seal(a, payload, 40, &wire);
	CHECK_EQ_INT(rec_open(b, &wire, payload, 40), 0);
	rec_burst(a, b, payload);
	for (int round = 0; round < 2; round++) {
		make_keys(cb, (uint8_t)(round + 40), &k);
		dssh_rec_keys_encode(&k, round == 0, body);
		/* RX_KEYS only while stopped at a NEWKEYS. */
		CHECK(dssh_rec_set_keys(b, DSSH_REC_MARK_RX_KEYS, body, sizeof(body)) != 0);
		/* The NEWKEYS and what follows in one buffer. */
		rec_seal(a, newkeys, 1, &wire);
		CHECK_EQ_INT(dssh_rec_set_keys(a, DSSH_REC_MARK_TX_KEYS, body, sizeof(body)), 0);
		rec_seal(a, payload, 1, &wire);
		CHECK_EQ_INT(rec_open(b, &wire, newkeys, 1), 0);
		CHECK_EQ_INT(dssh_rec_rx_state(b), DSSH_REC_RX_WAIT_KEYS);
		CHECK(dssh_rec_set_keys(b, DSSH_REC_MARK_ERROR, body, sizeof(body)) != 0);
		CHECK(dssh_rec_set_keys(b, DSSH_REC_MARK_RX_KEYS, body, sizeof(body) - 1) != 0);
		CHECK_EQ_INT(dssh_rec_rx_state(b), DSSH_REC_RX_WAIT_KEYS);
		CHECK_EQ_INT(dssh_rec_set_keys(b, DSSH_REC_MARK_RX_KEYS, body, sizeof(body)), 0);
		CHECK_EQ_INT(dssh_rec_rx_state(b), DSSH_REC_RX_PACKETS);
		CHECK_EQ_INT(rec_open(b, &wire, payload, 1), 0);
		for (size_t len = 1; len < sizeof(payload); len += 1 + len / 3) {
			rec_seal(a, payload, len, &wire);
			rec_seal(a, payload + 1, len, &wire);
			CHECK_EQ_INT(rec_open(b, &wire, payload, len), 0);
			CHECK_EQ_INT(rec_open(b, &wire, payload + 1, len), 0);
		}
		CHECK_EQ_INT(dssh_buf_len(&wire), 0);
		rec_burst(a, b, payload);
		rec_burst(a, b, payload);
	}
	/* A partial packet waits; a flipped bit then fails it. */
	rec_seal(a, payload, 300, &wire);
	struct dssh_buf part;

	dssh_buf_from(&part, dssh_buf_ptr(&wire), 20);
	CHECK_EQ_INT(rec_open(b, &part, payload, 300), DSSH_ERR_MSG_INCOMPLETE);
	dssh_buf_mutable_ptr(&wire)[dssh_buf_len(&wire) - 1] ^= 0x20;
	CHECK(rec_open(b, &wire, payload, 300) != 0);
	CHECK_EQ_INT(dssh_rec_rx_state(b), DSSH_REC_RX_FAILED);
	dssh_wipe(&k, sizeof(k));
	dssh_buf_free(&wire);
	dssh_rec_free(a);
	dssh_rec_free(b);
}

static void
test_rec_roundtrip(void)
{
	for (size_t i = 0; i < n_combos; i++)
		roundtrip_one(&combos[i]);
}

/* ================= the engine behind a dssh_rec ================= */

/* The engine's application: test_host.h's, as it is. */
static struct dssh_conn_host_ops host_ops;

struct fx {
	struct test_host h;
	struct dssh_ssh_hostkey hk[1];
	struct dssh_ssh_conf conf;
	struct dssh_conn *c;
	struct tc *t;
	struct dssh_buf msg;
	bool odd_padding;       /* raw packets with more than the least padding fed */
};

/* A server offering everything, a client with a dssh_rec in front of it. */
static void
fx_init(struct fx *f, const char *cipher, const char *mac, bool strict)
{
	memset(f, 0, sizeof(*f));
	test_host_init(&f->h, userkey);
	dssh_buf_init(&f->msg, 0);
	f->hk[0].alg = "ssh-ed25519";
	f->hk[0].key = hostkey;
	f->conf = (struct dssh_ssh_conf){
		.kex_algs = "curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group14-sha256",
		.cipher_algs = dssh_cipher_names(),
		.mac_algs = dssh_mac_names(),
		.pubkey_algs = "ssh-ed25519",
		.hostkeys = f->hk,
		.n_hostkeys = 1,
		.max_auth_tries = 6,
		.pubkey_auth = true,
		.version_comment = "dssh_test",
		.engine = engine,
	};
	CHECK_EQ_INT(dssh_conn_new(&f->conf, &host_ops, &f->h, "test", &f->c), 0);
	f->h.c = f->c;
	struct tc_conf tcc = {
		.kex = "curve25519-sha256", .hostkey = "ssh-ed25519", .cipher = cipher, .mac = mac,
		.strict = strict, .ext_info = true, .record_offload = true,
	};

	CHECK_EQ_INT(tc_new(f->c, engine, &tcc, &f->t), 0);
	CHECK(f->t->shim != NULL);
}

static void
fx_free(struct fx *f)
{
	tc_shim_close(f->t);
	CHECK_EQ_INT(f->t->shim->bad, 0);
	CHECK_EQ_INT(f->t->shim->refs, 0);
	CHECK(f->t->shim->cb == NULL);
	tc_free(f->t);
	dssh_conn_free(f->c);
	test_host_free(&f->h);
	dssh_buf_free(&f->msg);
}

static void
fill(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(dssh_test_rand(&seed) >> 32);
}

/* The engine and the client agree on both sequence numbers (the engine
 * counts records; the client, wire packets through the dssh_rec). */
static void
check_seqs(struct fx *f)
{
	tc_drain(f->t);
	CHECK_EQ_INT(dssh_conn_output_pending(f->c), 0);
	CHECK_EQ_INT(f->c->rx.seq, f->t->tx.seq);
	CHECK_EQ_INT(f->c->tx.seq, f->t->rx.seq);
	CHECK_EQ_INT(f->t->shim->fault, 0);
	CHECK_EQ_INT(f->t->shim->error_sent, 0);
	CHECK_EQ_INT(f->t->shim->bad, 0);
	/* Bytes counted for rekeying and the totals are wire bytes, not record
	 * bytes (both sides pad as little as allowed, so they match exactly). */
	struct dssh_conn_stats st;

	dssh_conn_get_stats(f->c, &st);
	if (f->odd_padding)     /* the engine assumes the least padding */
		CHECK(st.bytes_in < tc_shim_wire_up(f->t));
	else
		CHECK_EQ_INT(st.bytes_in, tc_shim_wire_up(f->t));
	CHECK_EQ_INT(st.bytes_out, tc_shim_wire_down(f->t));
}

/* An unknown message: the engine's UNIMPLEMENTED names its sequence number. */
static void
probe_seq(struct fx *f)
{
	static const uint8_t unknown[3] = { 200, 1, 2 };
	uint32_t seq = f->t->tx.seq;

	tc_drain(f->t);
	CHECK_EQ_INT(tc_send(f->t, unknown, sizeof(unknown)), 0);
	CHECK_EQ_INT(tc_expect(f->t, SSH_MSG_UNIMPLEMENTED, &f->msg), 0);
	CHECK_EQ_INT(dssh_buf_len(&f->msg), 5);
	if (dssh_buf_len(&f->msg) == 5)
		CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f->msg) + 1), seq);
	check_seqs(f);
}

/* Collect n bytes of CHANNEL_DATA (skipping the server's window adjusts). */
static int
recv_chan_data(struct fx *f, struct dssh_buf *out, size_t n)
{
	int r;

	while (dssh_buf_len(out) < n) {
		if ((r = tc_recv(f->t, &f->msg)) != 0)
			return r;
		uint8_t type = dssh_buf_ptr(&f->msg)[0];

		if (type == SSH_MSG_CHANNEL_WINDOW_ADJUST || type == SSH_MSG_IGNORE ||
		    type == SSH_MSG_EXT_INFO)
			continue;
		if (type != SSH_MSG_CHANNEL_DATA)
			return DSSH_ERR_PROTOCOL;
		struct dssh_buf m;
		const uint8_t *p;
		uint32_t id;
		size_t len;

		dssh_buf_from(&m, dssh_buf_ptr(&f->msg) + 1, dssh_buf_len(&f->msg) - 1);
		if ((r = dssh_buf_get_u32(&m, &id)) != 0 ||
		    (r = dssh_buf_get_string_direct(&m, &p, &len)) != 0)
			return r;
		if (id != f->t->chan_local)
			return DSSH_ERR_PROTOCOL;
		dssh_buf_put(out, p, len);
	}
	return 0;
}

static void
chan_data_msg(struct fx *f, const uint8_t *p, size_t n, struct dssh_buf *m)
{
	dssh_buf_reset(m);
	dssh_buf_put_u8(m, SSH_MSG_CHANNEL_DATA);
	dssh_buf_put_u32(m, f->t->chan_remote);
	dssh_buf_put_string(m, p, n);
}

/*
 * Data both ways. Client -> server: npkts packets of varying size sealed
 * into one buffer and fed in chunks of chunk bytes (0: at once), so a burst
 * holds several packets and packets straddle writes. Server -> client: out
 * bytes through the channel.
 */
static void
data_both_ways(struct fx *f, unsigned npkts, size_t chunk, size_t out, uint64_t seed)
{
	struct dssh_buf wire, m, got;
	uint8_t *d = malloc(out > 40000 ? out : 40000);
	size_t sent = 0, before = dssh_buf_len(&f->h.data);
	unsigned up = f->t->shim->packets_up;
	bool held = dssh_buf_len(&f->t->held) > 0;     /* a NEWKEYS goes first */

	dssh_buf_init(&wire, 0);
	dssh_buf_init(&m, 0);
	dssh_buf_init(&got, 0);
	fill(d, 40000, seed);
	for (unsigned i = 0; i < npkts; i++) {
		size_t n = (i * 977 + seed) % 5000 + 1;

		chan_data_msg(f, d + sent, n, &m);
		CHECK_EQ_INT(tc_seal(f->t, dssh_buf_ptr(&m), dssh_buf_len(&m), &wire), 0);
		sent += n;
	}
	for (size_t off = 0; off < dssh_buf_len(&wire); ) {
		size_t n = chunk == 0 ? dssh_buf_len(&wire) : DSSH_MIN(chunk, dssh_buf_len(&wire) - off);

		CHECK_EQ_INT(tc_feed(f->t, dssh_buf_ptr(&wire) + off, n), 0);
		off += n;
	}
	CHECK_EQ_INT(dssh_buf_len(&f->h.data) - before, sent);
	if (dssh_buf_len(&f->h.data) - before == sent)
		CHECK_MEM(dssh_buf_ptr(&f->h.data) + before, d, sent);
	CHECK_EQ_INT(f->t->shim->packets_up - up, npkts + held);

	fill(d, out, seed + 1);
	CHECK_EQ_INT(dssh_chan_send(f->c, f->h.chan, d, out, false), out);
	CHECK_EQ_INT(recv_chan_data(f, &got, out), 0);
	CHECK_EQ_INT(dssh_buf_len(&got), out);
	if (dssh_buf_len(&got) == out)
		CHECK_MEM(dssh_buf_ptr(&got), d, out);
	/* Let the window come back for the next round. */
	{
		struct dssh_buf a;

		dssh_buf_init(&a, 0);
		dssh_buf_put_u8(&a, SSH_MSG_CHANNEL_WINDOW_ADJUST);
		dssh_buf_put_u32(&a, f->t->chan_remote);
		dssh_buf_put_u32(&a, (uint32_t)out);
		CHECK_EQ_INT(tc_sendb(f->t, &a), 0);
		dssh_buf_free(&a);
	}
	dssh_buf_free(&wire);
	dssh_buf_free(&m);
	dssh_buf_free(&got);
	free(d);
}

static void
run_flow(const struct combo *cb, bool strict)
{
	struct fx f;
	struct dssh_conn_stats st;
	const char *mac = cb->mac ? cb->mac->name : "hmac-sha2-256";

	fx_init(&f, cb->cipher->name, mac, strict);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	CHECK(dssh_conn_authenticated(f.c));
	CHECK(f.h.have_chan);
	dssh_conn_get_stats(f.c, &st);
	CHECK_EQ_INT(st.strict_kex, strict);
	CHECK_EQ_INT(f.t->strict, strict);
	CHECK_STR(st.cipher_in, cb->cipher->name);
	CHECK_STR(st.cipher_out, cb->cipher->name);
	CHECK_STR(st.mac_in, cb->mac ? mac : "<implicit>");
	CHECK_STR(st.mac_out, cb->mac ? mac : "<implicit>");
	/* The version line, TX_KEYS, RX_KEYS at least. */
	CHECK(f.t->shim->markers_down >= 3);
	check_seqs(&f);
	data_both_ways(&f, 6, 0, 20000, 1);
	data_both_ways(&f, 5, 7, 3000, 2);
	data_both_ways(&f, 1, 1, 1, 3);
	probe_seq(&f);
	/* Client DISCONNECT ends it cleanly. */
	{
		struct dssh_buf m;

		dssh_buf_init(&m, 0);
		dssh_buf_put_u8(&m, SSH_MSG_DISCONNECT);
		dssh_buf_put_u32(&m, SSH_DISCONNECT_BY_APPLICATION);
		dssh_buf_put_cstring(&m, "bye");
		dssh_buf_put_cstring(&m, "");
		CHECK_EQ_INT(tc_sendb(f.t, &m), DSSH_ERR_CONN_CLOSED);
		dssh_buf_free(&m);
	}
	CHECK(dssh_conn_closing(f.c));
	CHECK_EQ_INT(f.t->shim->fault, 0);
	CHECK_EQ_INT(f.t->shim->error_sent, 0);
	fx_free(&f);
}

static void
test_flows(void)
{
	CHECK(n_combos >= 20);
	for (size_t i = 0; i < n_combos; i++) {
		for (int strict = 1; strict >= 0; strict--) {
			int before = dssh_test_failures;

			run_flow(&combos[i], strict);
			if (dssh_test_failures != before)
				fprintf(stderr, "  flow %s %s%s failed\n", combos[i].cipher->name,
				    combos[i].mac ? combos[i].mac->name : "", strict ? " strict" : "");
		}
	}
}

/*
 * A channel the server opens (forwarded-tcpip) behind a data core: the
 * open, the client's confirmation, data both ways on the new channel next
 * to the session, the close.
 */
static void
test_open_to_client(void)
{
	struct fx f;
	struct dssh_buf m;
	const struct dssh_chan_open o = {
		.kind = DSSH_CHAN_FORWARDED_TCPIP, .host = "localhost", .port = 4000,
		.orig_host = "127.0.0.1", .orig_port = 50000,
	};
	uint8_t d[3000];
	uint32_t id;
	size_t before;

	fx_init(&f, "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	tc_drain(f.t);
	dssh_buf_init(&m, 0);
	CHECK_EQ_INT(dssh_chan_open(f.c, &o, &id), 0);
	CHECK(id != f.h.chan);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_OPEN, &f.msg), 0);
	dssh_buf_put_u8(&m, SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	dssh_buf_put_u32(&m, id);
	dssh_buf_put_u32(&m, 321);
	dssh_buf_put_u32(&m, 1u << 20);
	dssh_buf_put_u32(&m, 32768);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	CHECK(dssh_chan_send_space(f.c, id) == 1u << 20);
	fill(d, sizeof(d), 9);
	CHECK_EQ_INT(dssh_chan_send(f.c, id, d, sizeof(d), false), sizeof(d));
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_DATA, &f.msg), 0);
	CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 1), 321);
	CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 5), sizeof(d));
	CHECK_MEM(dssh_buf_ptr(&f.msg) + 9, d, sizeof(d));
	before = dssh_buf_len(&f.h.data);
	dssh_buf_reset(&m);
	dssh_buf_put_u8(&m, SSH_MSG_CHANNEL_DATA);
	dssh_buf_put_u32(&m, id);
	dssh_buf_put_string(&m, d, 100);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	CHECK_EQ_INT(dssh_buf_len(&f.h.data) - before, 100);
	/* The session channel still works beside it. */
	data_both_ways(&f, 2, 0, 1000, 4);
	CHECK_EQ_INT(dssh_chan_close(f.c, id), 0);
	CHECK_EQ_INT(tc_expect(f.t, SSH_MSG_CHANNEL_CLOSE, &f.msg), 0);
	CHECK_EQ_INT(dssh_get_u32be(dssh_buf_ptr(&f.msg) + 1), 321);
	dssh_buf_reset(&m);
	dssh_buf_put_u8(&m, SSH_MSG_CHANNEL_CLOSE);
	dssh_buf_put_u32(&m, id);
	CHECK_EQ_INT(tc_sendb(f.t, &m), 0);
	CHECK_EQ_INT((int)dssh_chan_count(f.c), 1);
	CHECK(!dssh_conn_closing(f.c));
	CHECK_EQ_INT(f.t->shim->fault, 0);
	dssh_buf_free(&m);
	fx_free(&f);
}

/* Client-initiated rekeys with data around them; one with the client's
 * NEWKEYS and its next packet (under the new keys) in one write. */
static void
rekey_client_one(const char *cipher, const char *mac, bool strict)
{
	struct fx f;
	struct dssh_conn_stats st;

	fx_init(&f, cipher, mac, strict);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	data_both_ways(&f, 3, 0, 5000, 10);
	for (unsigned i = 0; i < 4; i++) {
		uint8_t d[100];

		/* Server data already on its way when the client starts. */
		fill(d, sizeof(d), i);
		CHECK_EQ_INT(dssh_chan_send(f.c, f.h.chan, d, sizeof(d), false), sizeof(d));
		f.t->hold_newkeys = i % 2 == 1;
		if (i == 2)
			f.t->conf.kex = "ecdh-sha2-nistp256";
		CHECK_EQ_INT(tc_kex(f.t), 0);
		f.t->hold_newkeys = false;
		/* Held: goes with this data; the rec stops after the NEWKEYS until
		 * the engine's RX_KEYS, then opens the data with the new keys. */
		data_both_ways(&f, 4, i == 3 ? 13 : 0, 4000, 20 + i);
		dssh_conn_get_stats(f.c, &st);
		CHECK_EQ_INT(st.kex_count, 2 + i);
		CHECK_EQ_INT(tc_shim_rx_state(f.t), DSSH_REC_RX_PACKETS);
		probe_seq(&f);
	}
	CHECK_STR(st.kex_alg, "ecdh-sha2-nistp256");
	fx_free(&f);
}

static void
test_rekey_client(void)
{
	rekey_client_one("chacha20-poly1305@openssh.com", "hmac-sha2-256", true);
	rekey_client_one("chacha20-poly1305@openssh.com", "hmac-sha2-256", false);
	rekey_client_one("aes128-ctr", "hmac-sha2-256", false);
	rekey_client_one("aes256-ctr", "hmac-sha2-512-etm@openssh.com", true);
	rekey_client_one("aes192-ctr", "umac-64-etm@openssh.com", false);
	rekey_client_one("aes256-gcm@openssh.com", "hmac-sha2-256", true);
}

/* Server-initiated rekeys (by bytes) while data flows both ways. */
static void
rekey_server_one(const char *cipher, const char *mac, bool strict)
{
	struct fx f;
	struct dssh_conn_stats st;
	uint8_t d[4096];
	struct dssh_buf got;
	size_t total = 0;

	fx_init(&f, cipher, mac, strict);
	f.conf.rekey_bytes = 24 * 1024;
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	dssh_buf_init(&got, 0);
	fill(d, sizeof(d), 30);
	for (int i = 0; i < 40 && f.t->last_rc == 0; i++) {
		CHECK_EQ_INT(tc_chan_data(f.t, d, sizeof(d)), 0);
		total += sizeof(d);
		while (tc_recv(f.t, &f.msg) == 0 && !f.t->have_server_kexinit)
			;
		if (f.t->have_server_kexinit) {
			/* The client may still send data before its own KEXINIT. */
			CHECK_EQ_INT(tc_chan_data(f.t, d, 100), 0);
			total += 100;
			CHECK_EQ_INT(tc_kex(f.t), 0);
			check_seqs(&f);
		}
	}
	dssh_conn_get_stats(f.c, &st);
	CHECK(st.kex_count >= 4);
	CHECK_EQ_INT(dssh_buf_len(&f.h.data), total);
	CHECK(!f.t->got_disconnect);

	/* Server output alone: data queued before its KEXINIT, then the rekey. */
	unsigned before = st.kex_count;
	uint8_t big[8192];
	static const uint8_t ign[5] = { SSH_MSG_IGNORE, 0, 0, 0, 0 };

	fill(big, sizeof(big), 31);
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(dssh_chan_send(f.c, f.h.chan, big, sizeof(big), false), sizeof(big));
	CHECK_EQ_INT(tc_send(f.t, ign, sizeof(ign)), 0);    /* the check runs on input */
	CHECK_EQ_INT(recv_chan_data(&f, &got, 4 * sizeof(big)), 0);
	if (dssh_buf_len(&got) == 4 * sizeof(big))
		CHECK_MEM(dssh_buf_ptr(&got) + 3 * sizeof(big), big, sizeof(big));
	while (tc_recv(f.t, &f.msg) == 0 && !f.t->have_server_kexinit)
		;
	CHECK(f.t->have_server_kexinit);
	CHECK_EQ_INT(tc_kex(f.t), 0);
	dssh_conn_get_stats(f.c, &st);
	CHECK_EQ_INT(st.kex_count, before + 1);
	check_seqs(&f);
	data_both_ways(&f, 3, 0, 2000, 32);
	probe_seq(&f);
	dssh_buf_free(&got);
	fx_free(&f);
}

static void
test_rekey_server(void)
{
	rekey_server_one("aes128-gcm@openssh.com", "hmac-sha2-256", true);
	rekey_server_one("chacha20-poly1305@openssh.com", "hmac-sha2-256", false);
	rekey_server_one("aes128-ctr", "hmac-sha2-256-etm@openssh.com", true);
	rekey_server_one("aes256-ctr", "umac-128-etm@openssh.com", false);
	rekey_server_one("aes128-ctr", "hmac-sha2-512", true);
}

/* ---- input failures ---- */

/* The engine ended the connection with reason (its DISCONNECT went out
 * through the dssh_rec) and takes nothing more. */
static void
expect_disconnect(struct fx *f, uint32_t reason, const char *text)
{
	CHECK(dssh_conn_closing(f->c));
	CHECK(f->t->last_rc != 0);
	tc_drain(f->t);
	CHECK(f->t->got_disconnect);
	CHECK_EQ_INT(f->t->disconnect_reason, reason);
	if (text != NULL)
		CHECK(strstr(f->t->disconnect_msg, text) != NULL);
	if (f->t->disconnect_reason != reason || (text && !strstr(f->t->disconnect_msg, text)))
		fprintf(stderr, "  disconnect message: %s\n", f->t->disconnect_msg);
	CHECK_EQ_INT(f->t->shim->fault, 0);
	CHECK_EQ_INT(tc_feed(f->t, "x", 1), DSSH_ERR_CONN_CLOSED);
}

/* A flipped ciphertext bit (at off from the start, or from the end when
 * negative): MAC error, and nothing of that packet reaches the engine. */
static void
bad_mac_one(const struct combo *cb, long off)
{
	struct fx f;
	struct dssh_buf w, m;
	struct dssh_conn_stats st;
	uint8_t d[40] = { 0 };

	fx_init(&f, cb->cipher->name, cb->mac ? cb->mac->name : "hmac-sha2-256", true);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	tc_drain(f.t);
	dssh_buf_init(&w, 0);
	dssh_buf_init(&m, 0);
	dssh_conn_get_stats(f.c, &st);
	uint64_t pkts_in = st.packets_in;
	unsigned up = f.t->shim->packets_up;

	chan_data_msg(&f, d, sizeof(d), &m);
	CHECK_EQ_INT(tc_seal(f.t, dssh_buf_ptr(&m), dssh_buf_len(&m), &w), 0);
	size_t at = off >= 0 ? (size_t)off : dssh_buf_len(&w) - (size_t)-off;

	dssh_buf_mutable_ptr(&w)[at] ^= 0x04;
	tc_feed(f.t, dssh_buf_ptr(&w), dssh_buf_len(&w));
	CHECK_EQ_INT(f.t->shim->error_sent, DSSH_REC_ERR_MAC);
	CHECK_EQ_INT(f.t->shim->packets_up, up);
	dssh_conn_get_stats(f.c, &st);
	CHECK_EQ_INT(st.packets_in, pkts_in);
	CHECK_EQ_INT(dssh_buf_len(&f.h.data), 0);
	CHECK_EQ_INT(tc_shim_rx_state(f.t), DSSH_REC_RX_FAILED);
	expect_disconnect(&f, SSH_DISCONNECT_MAC_ERROR, "corrupted MAC");
	dssh_buf_free(&w);
	dssh_buf_free(&m);
	fx_free(&f);
}

static void
test_bad_mac(void)
{
	for (size_t i = 0; i < n_combos; i++) {
		bad_mac_one(&combos[i], 20);        /* ciphertext, past the length */
		bad_mac_one(&combos[i], -1);        /* the tag */
	}
}

/* Only a packet_length arrives: refused before anything else is waited for. */
static void
bad_length_one(const char *cipher, const char *mac, bool keys, uint32_t len, uint32_t code)
{
	struct fx f;
	uint8_t b[4];

	fx_init(&f, cipher, mac, true);
	if (keys)
		CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	else
		CHECK_EQ_INT(tc_version(f.t), 0);
	unsigned up = f.t->shim->packets_up;

	dssh_put_u32be(b, len);
	tc_feed(f.t, b, sizeof(b));
	CHECK_EQ_INT(f.t->shim->error_sent, code);
	CHECK_EQ_INT(f.t->shim->packets_up, up);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR, dssh_rec_err_str(code));
	fx_free(&f);
}

static void
test_bad_length(void)
{
	const char *gcm = "aes128-gcm@openssh.com", *ctr = "aes128-ctr";
	const char *etm = "hmac-sha2-256-etm@openssh.com";

	bad_length_one(gcm, etm, false, 0, DSSH_REC_ERR_LENGTH);
	bad_length_one(gcm, etm, false, 3, DSSH_REC_ERR_LENGTH);
	bad_length_one(gcm, etm, false, 300000, DSSH_REC_ERR_LENGTH);
	bad_length_one(gcm, etm, false, 0xffffffffu, DSSH_REC_ERR_LENGTH);
	bad_length_one(gcm, etm, false, 13, DSSH_REC_ERR_BLOCK);   /* 4 + 13 not a multiple of 8 */
	bad_length_one(gcm, etm, false, 16, DSSH_REC_ERR_BLOCK);
	/* Lengths in clear after NEWKEYS: GCM, -etm. */
	bad_length_one(gcm, etm, true, 3, DSSH_REC_ERR_LENGTH);
	bad_length_one(gcm, etm, true, 300000, DSSH_REC_ERR_LENGTH);
	bad_length_one(gcm, etm, true, 20, DSSH_REC_ERR_BLOCK);
	bad_length_one(ctr, etm, true, 300000, DSSH_REC_ERR_LENGTH);
	bad_length_one(ctr, etm, true, 28, DSSH_REC_ERR_BLOCK);   /* counted only in classic mode */
	bad_length_one(ctr, "umac-64-etm@openssh.com", true, 4, DSSH_REC_ERR_LENGTH);
}

/* A packet framed as the caller says (packet_length, padding_length),
 * sealed with the client's current keys. */
static void
feed_raw_packet(struct fx *f, uint32_t plen, uint8_t padlen)
{
	struct tc_dir *d = &f->t->tx;
	size_t tag = d->sa ? dssh_crypto_sa_tag_len(d->sa) : 0;
	uint8_t *pkt = calloc(1, 4 + plen + tag);

	dssh_put_u32be(pkt, plen);
	pkt[4] = padlen;
	pkt[5] = SSH_MSG_IGNORE;
	if (d->sa != NULL) {
		struct dssh_crypto_op op = { .sa = d->sa, .pkt = pkt, .len = 4 + plen, .seq = d->seq };
		struct dssh_crypto_op *ops[1] = { &op };

		CHECK_EQ_INT(dssh_crypto_process(f->t->engine, ops, 1), 0);
	}
	d->seq++;
	f->odd_padding = true;
	tc_feed(f->t, pkt, 4 + plen + tag);
	free(pkt);
}

static void
bad_padding_one(const char *cipher, const char *mac, bool keys, int which)
{
	struct fx f;
	uint32_t plen = 12;

	fx_init(&f, cipher, mac, true);
	if (keys)
		CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	else
		CHECK_EQ_INT(tc_version(f.t), 0);
	while (dssh_rec_check_length(f.t->tx.sa, plen) != 0)
		plen++;
	/* Too little padding, none left for the message number, more than all. */
	uint8_t padlen = which == 0 ? 3 : which == 1 ? (uint8_t)(plen - 1) : 255;

	feed_raw_packet(&f, plen, padlen);
	CHECK_EQ_INT(f.t->shim->error_sent, DSSH_REC_ERR_PADDING);
	expect_disconnect(&f, SSH_DISCONNECT_PROTOCOL_ERROR, "padding");
	fx_free(&f);
}

static void
test_bad_padding(void)
{
	for (int which = 0; which < 3; which++) {
		bad_padding_one("aes128-gcm@openssh.com", "hmac-sha2-256", false, which);
		bad_padding_one("aes128-gcm@openssh.com", "hmac-sha2-256", true, which);
		bad_padding_one("chacha20-poly1305@openssh.com", "hmac-sha2-256", true, which);
		bad_padding_one("aes128-ctr", "hmac-sha2-256", true, which);
		bad_padding_one("aes128-ctr", "umac-128-etm@openssh.com", true, which);
	}
	/* Sanity: a well-formed raw packet goes through. */
	struct fx f;

	fx_init(&f, "aes128-ctr", "hmac-sha2-256", false);
	CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	feed_raw_packet(&f, 28, 22);
	CHECK_EQ_INT(f.t->last_rc, 0);
	CHECK(!dssh_conn_closing(f.c));
	check_seqs(&f);
	fx_free(&f);
}

static void
version_case(size_t len, bool lf, bool accepted)
{
	struct fx f;
	char *line = malloc(len + 1);

	fx_init(&f, "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(dssh_conn_start(f.c, 1000), 0);
	memset(line, 'v', len);
	memcpy(line, "SSH-2.0-", 8);
	if (lf) {
		line[len - 2] = '\r';
		line[len - 1] = '\n';
	}
	/* In pieces, as a slow peer sends it. */
	for (size_t off = 0; off < len; off += 50)
		tc_feed(f.t, line + off, DSSH_MIN((size_t)50, len - off));
	CHECK_EQ_INT(dssh_conn_closing(f.c), !accepted);
	CHECK_EQ_INT(f.t->last_rc == 0, accepted);
	CHECK_EQ_INT(tc_shim_rx_state(f.t),
	    lf ? DSSH_REC_RX_PACKETS : DSSH_REC_RX_FAILED);
	CHECK_EQ_INT(f.t->shim->packets_up, 0);
	CHECK_EQ_INT(f.t->shim->error_sent, 0);
	if (accepted)
		CHECK_STR(f.c->v_c != NULL ? f.c->v_c + 248 : NULL, "vvvvv");
	free(line);
	fx_free(&f);
}

static void
test_version(void)
{
	version_case(300, false, false);
	version_case(DSSH_REC_VERSION_MAX, false, false);
	version_case(DSSH_REC_VERSION_MAX, true, false);    /* the LF past 255 */
	version_case(DSSH_REC_VERSION_MAX - 1, true, true);

	/* The version line and the first packet in the same bytes, one at a time. */
	struct fx f;
	struct dssh_buf w, k;
	const char *lists[KEX_SLOTS] = {
		"curve25519-sha256,kex-strict-c-v00@openssh.com", "ssh-ed25519",
		"aes128-gcm@openssh.com", "aes128-gcm@openssh.com", "hmac-sha2-256", "hmac-sha2-256",
		"none", "none", "", "",
	};
	static const char v[] = "SSH-2.0-dssh_test_client\r\n";

	fx_init(&f, "aes128-gcm@openssh.com", "hmac-sha2-256", true);
	CHECK_EQ_INT(dssh_conn_start(f.c, 1000), 0);
	dssh_buf_init(&w, 0);
	dssh_buf_init(&k, 0);
	dssh_kexinit_build(&k, lists);
	dssh_buf_put(&w, v, strlen(v));
	CHECK_EQ_INT(tc_seal(f.t, dssh_buf_ptr(&k), dssh_buf_len(&k), &w), 0);
	for (size_t i = 0; i < dssh_buf_len(&w); i++)
		CHECK_EQ_INT(tc_feed(f.t, dssh_buf_ptr(&w) + i, 1), 0);
	CHECK_EQ_INT(f.t->shim->packets_up, 1);
	/* The server's line came down as a RAW marker. */
	const uint8_t *p = dssh_buf_ptr(&f.t->in);
	const uint8_t *nl = memchr(p, '\n', dssh_buf_len(&f.t->in));

	CHECK(nl != NULL);
	if (nl != NULL) {
		f.t->v_s = dssh_strndup((const char *)p, (size_t)(nl - p) - 1);
		dssh_buf_consume(&f.t->in, (size_t)(nl - p) + 1);
	}
	CHECK_STR(f.t->v_s, "SSH-2.0-dssh_test");
	dssh_buf_reset(&f.t->i_c);
	dssh_buf_put(&f.t->i_c, dssh_buf_ptr(&k), dssh_buf_len(&k));
	f.t->kexinit_sent = true;
	CHECK_EQ_INT(tc_kex(f.t), 0);
	CHECK_EQ_INT(tc_service_request(f.t), 0);
	check_seqs(&f);
	dssh_buf_free(&w);
	dssh_buf_free(&k);
	fx_free(&f);
}

/* ---- records the engine must refuse ---- */

/* Bytes straight into the engine (as a broken data core would send them),
 * one at a time when split: it ends the connection, and its DISCONNECT
 * still goes out through the dssh_rec. */
static void
engine_refuses(bool keys, const uint8_t *rec, size_t n, bool split, uint32_t reason,
    const char *text)
{
	struct fx f;
	int r = 0;

	fx_init(&f, "chacha20-poly1305@openssh.com", "hmac-sha2-256", true);
	if (keys)
		CHECK_EQ_INT(tc_connect_all(f.t, "alice", userkey, "ssh-ed25519"), 0);
	else
		CHECK_EQ_INT(tc_version(f.t), 0);
	tc_drain(f.t);
	for (size_t i = 0; i < n && r == 0; i += split ? 1 : n)
		r = dssh_conn_input(f.c, rec + i, split ? 1 : n, 2000);
	CHECK(r != 0);
	f.t->last_rc = r;
	expect_disconnect(&f, reason, text);
	fx_free(&f);
}

static void
test_bad_records(void)
{
	uint8_t m[64];

	/* ERROR markers: the reason follows the code. */
	dssh_put_u32be(m, DSSH_REC_MARK | DSSH_REC_MARK_ERROR);
	dssh_put_u32be(m + 4, 4);
	dssh_put_u32be(m + 8, DSSH_REC_ERR_MAC);
	engine_refuses(false, m, 12, false, SSH_DISCONNECT_MAC_ERROR, "corrupted MAC");
	engine_refuses(true, m, 12, true, SSH_DISCONNECT_MAC_ERROR, "corrupted MAC");
	dssh_put_u32be(m + 8, DSSH_REC_ERR_PADDING);
	engine_refuses(true, m, 12, false, SSH_DISCONNECT_PROTOCOL_ERROR, "padding");
	dssh_put_u32be(m + 8, 777);
	engine_refuses(true, m, 12, false, SSH_DISCONNECT_PROTOCOL_ERROR, "unknown");

	/* Malformed markers: every one a protocol error, even a short one. */
	static const uint32_t kinds[] = {
		DSSH_REC_MARK_RAW, DSSH_REC_MARK_TX_KEYS, DSSH_REC_MARK_RX_KEYS, 0, 99,
		0x7fffffffu,
	};

	for (size_t i = 0; i < DSSH_ARRAY_SIZE(kinds); i++) {
		dssh_put_u32be(m, DSSH_REC_MARK | kinds[i]);
		dssh_put_u32be(m + 4, 4);
		memset(m + 8, 'a', 4);
		engine_refuses(true, m, 12, false, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed");
		dssh_put_u32be(m + 4, 0);
		engine_refuses(i % 2 == 0, m, 8, true, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed");
	}
	/* ERROR with a body that is not a code. */
	dssh_put_u32be(m, DSSH_REC_MARK | DSSH_REC_MARK_ERROR);
	dssh_put_u32be(m + 4, 0);
	engine_refuses(true, m, 8, false, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed");
	dssh_put_u32be(m + 4, 40);
	memset(m + 8, 0, 40);
	engine_refuses(false, m, 48, false, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed");

	/* Packet records of impossible lengths. */
	dssh_put_u32be(m, 0);
	engine_refuses(true, m, 4, false, SSH_DISCONNECT_PROTOCOL_ERROR, "record length");
	dssh_put_u32be(m, DSSH_PACKET_MAX + 1);
	engine_refuses(false, m, 4, false, SSH_DISCONNECT_PROTOCOL_ERROR, "record length");
	dssh_put_u32be(m, DSSH_REC_MARK - 1);
	engine_refuses(true, m, 4, false, SSH_DISCONNECT_PROTOCOL_ERROR, "record length");
}

int
main(void)
{
	dssh_log_init("test_record", getenv("TEST_ENGINE_DEBUG") ? DSSH_LOG_DEBUG3 :
	    DSSH_LOG_QUIET, true);
	test_host_ops(&host_ops);
	if (dssh_crypto_engine_create("openssl", NULL, &engine) != 0 ||
	    dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &hostkey) != 0 ||
	    dssh_sshkey_generate(DSSH_SSHKEY_ED25519, 0, &userkey) != 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	build_combos();
	DSSH_RUN(test_keys_codec);
	DSSH_RUN(test_pad_len);
	DSSH_RUN(test_barrier);
	DSSH_RUN(test_check_length);
	DSSH_RUN(test_rx_version);
	DSSH_RUN(test_rec_roundtrip);
	DSSH_RUN(test_open_to_client);
	DSSH_RUN(test_flows);
	DSSH_RUN(test_rekey_client);
	DSSH_RUN(test_rekey_server);
	DSSH_RUN(test_bad_mac);
	DSSH_RUN(test_bad_length);
	DSSH_RUN(test_bad_padding);
	DSSH_RUN(test_version);
	DSSH_RUN(test_bad_records);
	dssh_sshkey_free(hostkey);
	dssh_sshkey_free(userkey);
	dssh_crypto_engine_free(engine);
	DSSH_TEST_END();
}
