/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The offloaded packet layer (dssh_record.h). The first input byte picks
 * the mode (bits 0-1) and the chunk size input is fed in (bits 2-7):
 *
 *  0  a data core in front of an engine in record-offload mode: the rest is
 *     the peer's bytes (version line, then packets), framed and opened in
 *     bursts by a dssh_rec and fed up as records; the engine's records go
 *     back down through the same dssh_rec with their markers applied, so a
 *     NEWKEYS the engine accepts brings its RX_KEYS.
 *  1  a dssh_rec's input side alone under fixed keys, cipher and MAC from
 *     the second byte, installed the way a data core gets them (a plaintext
 *     NEWKEYS, then an RX_KEYS body); the rest is wire bytes.
 *  2  sealed round trip: payloads from the input sealed by one dssh_rec and
 *     opened in bursts by another under the same keys, some with a byte
 *     flipped. What comes out must be exactly what went in, and nothing of
 *     a damaged packet or after it. NEWKEYS payloads switch keys.
 *  3  arbitrary records straight into an engine in offload mode, after a
 *     valid version line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_record.h"
#include "dssh_util.h"
#include "fuzz_common.h"
#include "ssh_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BURST 8

/* ---- keys ---- */

struct combo {
	enum dssh_cipher_id cipher;
	enum dssh_mac_id mac;
};

static const struct combo combos[] = {
	{ DSSH_CIPHER_AES128_GCM, DSSH_MAC_NONE },
	{ DSSH_CIPHER_AES256_GCM, DSSH_MAC_NONE },
	{ DSSH_CIPHER_CHACHA20_POLY1305, DSSH_MAC_NONE },
	{ DSSH_CIPHER_AES128_CTR, DSSH_MAC_HMAC_SHA2_256 },
	{ DSSH_CIPHER_AES192_CTR, DSSH_MAC_HMAC_SHA2_512 },
	{ DSSH_CIPHER_AES256_CTR, DSSH_MAC_HMAC_SHA2_256_ETM },
	{ DSSH_CIPHER_AES128_CTR, DSSH_MAC_HMAC_SHA2_512_ETM },
	{ DSSH_CIPHER_AES128_CTR, DSSH_MAC_UMAC_64_ETM },
	{ DSSH_CIPHER_AES256_CTR, DSSH_MAC_UMAC_128_ETM },
};

/* Fixed keys number n of a combination, as an RX_KEYS/TX_KEYS body. */
static void
keys_body(uint8_t sel, unsigned n, bool reset, uint8_t body[DSSH_REC_KEYS_LEN])
{
	const struct combo *cb = &combos[sel % DSSH_ARRAY_SIZE(combos)];
	struct dssh_crypto_keys k;

	memset(&k, 0, sizeof(k));
	k.cipher = dssh_cipher_by_id(cb->cipher);
	k.mac = dssh_mac_by_id(cb->mac);
	for (size_t i = 0; i < sizeof(k.key); i++)
		k.key[i] = (uint8_t)(n * 31 + i);
	for (size_t i = 0; i < sizeof(k.iv); i++)
		k.iv[i] = (uint8_t)(n * 7 + 3 * i);
	for (size_t i = 0; i < sizeof(k.mac_key); i++)
		k.mac_key[i] = (uint8_t)(n * 13 + 5 * i + 1);
	dssh_rec_keys_encode(&k, reset, body);
}

/* ---- one connection on a data core ---- */

struct dc {
	struct dssh_rec *rec;
	struct dssh_conn *c;          /* NULL: opened packets are only looked at */
	bool own_input;               /* every record the engine saw came from rec */
	struct dssh_buf wire;         /* peer bytes not yet framed */
	uint64_t now;
};

static void
up(struct dc *d, const uint8_t *p, size_t n)
{
	if (d->c != NULL && !dssh_conn_closing(d->c))
		dssh_conn_input(d->c, p, n, d->now);
}

static void
up_error(struct dc *d, uint32_t code)
{
	uint8_t m[DSSH_REC_MARK_HDR + 4];

	dssh_put_u32be(m, DSSH_REC_MARK | DSSH_REC_MARK_ERROR);
	dssh_put_u32be(m + 4, 4);
	dssh_put_u32be(m + 8, code);
	up(d, m, sizeof(m));
}

/* Frame up to BURST packets (a short one ends the burst), open them in one
 * go, pass them up in order. Returns the wire bytes used. */
static size_t
open_burst(struct dc *d)
{
	uint8_t *base = dssh_buf_mutable_ptr(&d->wire);
	size_t off = 0, wl[BURST];
	int status[BURST], fr;
	uint32_t code = 0;
	unsigned n = dssh_rec_rx_open_burst(d->rec, fuzz_engine, base, dssh_buf_len(&d->wire), BURST,
	    wl, status, &fr, &code);

	for (unsigned i = 0; i < n; i++) {
		uint8_t *pkt = base + off;
		const uint8_t *payload;
		size_t len;

		off += wl[i];
		if (dssh_rec_rx_done(d->rec, pkt, status[i], &payload, &len, &code) != 0) {
			up_error(d, code);
			return off;
		}
		if (payload != pkt + 5 || len == 0 || 5 + len > wl[i])
			abort();        /* the payload must lie inside the packet */
		dssh_put_u32be(pkt + 1, (uint32_t)len);
		up(d, pkt + 1, DSSH_REC_HDR + len);
	}
	if (fr == DSSH_ERR_INVALID_FORMAT)
		up_error(d, code);
	return off;
}

/* Peer bytes -> records, as far as they go. */
static bool
rx_pump(struct dc *d)
{
	bool moved = false;
	size_t used;

	while (d->c == NULL || !dssh_conn_closing(d->c)) {
		const uint8_t *p = dssh_buf_ptr(&d->wire);
		size_t n = dssh_buf_len(&d->wire);
		enum dssh_rec_rx_state st = dssh_rec_rx_state(d->rec);

		if (st == DSSH_REC_RX_VERSION) {
			if (n == 0 || (used = dssh_rec_rx_version(d->rec, p, n)) == 0)
				break;
			up(d, p, used);
		} else if (st == DSSH_REC_RX_PACKETS) {
			used = open_burst(d);
			if (used == 0 && dssh_rec_rx_state(d->rec) == DSSH_REC_RX_PACKETS)
				break;
		} else {
			break;
		}
		dssh_buf_consume(&d->wire, used);
		moved = true;
	}
	return moved;
}

/* One packet record sealed (into scratch, then dropped). */
static void
seal(struct dssh_rec *r, const uint8_t *payload, size_t len, struct dssh_buf *out)
{
	size_t wire = dssh_rec_tx_wire_len(r, len);
	struct dssh_crypto_op op = { 0 }, *burst[1] = { &op };
	uint8_t *pkt;

	if (dssh_buf_reserve(out, wire, &pkt) != 0)
		abort();
	memcpy(pkt + DSSH_REC_TX_PAYLOAD, payload, len);
	bool crypto = dssh_rec_tx_op(r, pkt, len, &op);

	if (4 + (size_t)dssh_get_u32be(pkt) + (crypto ? dssh_crypto_sa_tag_len(op.sa) : 0) != wire)
		abort();        /* framing and wire_len disagree */
	if (crypto && dssh_crypto_process(fuzz_engine, burst, 1) != 0)
		abort();
}

/* The engine's records -> wire bytes, markers applied in order. */
static bool
tx_pump(struct dc *d)
{
	struct dssh_buf out;
	const uint8_t *p;
	size_t n, used = 0;

	if (d->c == NULL)
		return false;
	dssh_buf_init(&out, 0);
	dssh_conn_output(d->c, &p, &n);
	while (n - used >= DSSH_REC_HDR) {
		const uint8_t *rec = p + used;
		size_t left = n - used;
		uint32_t w = dssh_get_u32be(rec);

		if (w & DSSH_REC_MARK) {
			if (left < DSSH_REC_MARK_HDR || left - DSSH_REC_MARK_HDR < dssh_get_u32be(rec + 4))
				abort();    /* the engine writes whole records */
			size_t blen = dssh_get_u32be(rec + 4);
			uint32_t kind = w & ~DSSH_REC_MARK;

			if (kind == DSSH_REC_MARK_TX_KEYS || kind == DSSH_REC_MARK_RX_KEYS) {
				/* The engine's keys always install; its RX_KEYS always
				 * finds the rec stopped at that NEWKEYS, unless the
				 * records did not come from it (mode 3). */
				if (dssh_rec_set_keys(d->rec, (enum dssh_rec_mark)kind,
				    rec + DSSH_REC_MARK_HDR, blen) != 0) {
					if (kind == DSSH_REC_MARK_TX_KEYS || d->own_input)
						abort();
					dssh_rec_rx_fail(d->rec);
				}
			} else if (kind != DSSH_REC_MARK_RAW) {
				abort();    /* nothing else goes down */
			}
			used += DSSH_REC_MARK_HDR + blen;
		} else {
			if (w == 0 || left - DSSH_REC_HDR < w)
				abort();
			seal(d->rec, rec + DSSH_REC_HDR, w, &out);
			dssh_buf_reset(&out);
			used += DSSH_REC_HDR + (size_t)w;
		}
	}
	if (used != n)
		abort();
	dssh_conn_output_consume(d->c, used);
	dssh_buf_free(&out);
	return used > 0;
}

static void
pump(struct dc *d)
{
	bool moved;

	do {
		moved = tx_pump(d);
		moved |= rx_pump(d);
	} while (moved);
}

static void
dc_init(struct dc *d, bool engine, struct fuzz_host *h)
{
	memset(d, 0, sizeof(*d));
	d->now = 1000;
	dssh_buf_init(&d->wire, 0);
	if (dssh_rec_new(fuzz_engine, &d->rec) != 0)
		abort();
	if (!engine)
		return;
	if (dssh_conn_new(&fuzz_conf, &fuzz_ops, h, "fuzz", &d->c) != 0)
		abort();
	h->c = d->c;
	dssh_conn_set_record_offload(d->c);
	if (dssh_conn_start(d->c, d->now) != 0)
		abort();
}

static void
dc_free(struct dc *d)
{
	dssh_conn_free(d->c);
	dssh_rec_free(d->rec);
	dssh_buf_free(&d->wire);
}

/* Modes 0 and 1: the input as peer bytes, chunk bytes at a time. */
static void
feed_peer(struct dc *d, const uint8_t *data, size_t size, size_t chunk)
{
	while (size > 0 && (d->c == NULL || !dssh_conn_closing(d->c))) {
		size_t n = DSSH_MIN(size, chunk);

		dssh_buf_put(&d->wire, data, n);
		pump(d);
		data += n;
		size -= n;
	}
}

static void
mode_data_core(const uint8_t *data, size_t size, size_t chunk)
{
	struct fuzz_host h = { 0 };
	struct dc d;

	dc_init(&d, true, &h);
	d.own_input = true;
	pump(&d);
	feed_peer(&d, data, size, chunk);
	dc_free(&d);
}

/* A plaintext NEWKEYS, then RX_KEYS: the way keys reach the input side. */
static void
install_rx_keys(struct dc *d, uint8_t sel, unsigned n, bool reset)
{
	static const uint8_t newkeys[16] = { 0, 0, 0, 12, 10, SSH_MSG_NEWKEYS };
	uint8_t body[DSSH_REC_KEYS_LEN];

	dssh_buf_put(&d->wire, newkeys, sizeof(newkeys));
	rx_pump(d);
	if (dssh_rec_rx_state(d->rec) != DSSH_REC_RX_WAIT_KEYS)
		abort();
	keys_body(sel, n, reset, body);
	if (dssh_rec_set_keys(d->rec, DSSH_REC_MARK_RX_KEYS, body, sizeof(body)) != 0 ||
	    dssh_rec_rx_state(d->rec) != DSSH_REC_RX_PACKETS)
		abort();
	dssh_wipe(body, sizeof(body));
}

static void
mode_rx_keys(const uint8_t *data, size_t size, size_t chunk)
{
	struct dc d;

	if (size < 1)
		return;
	dc_init(&d, false, NULL);
	if (dssh_rec_rx_version(d.rec, (const uint8_t *)"SSH-2.0-f\r\n", 11) != 11)
		abort();
	install_rx_keys(&d, data[0] >> 1, 1, data[0] & 1);
	feed_peer(&d, data + 1, size - 1, chunk);
	dc_free(&d);
}

/* ---- mode 2 ---- */

struct sent {
	const uint8_t *p;
	size_t len;
};

struct trip {
	struct dssh_rec *a, *b;       /* a seals, b opens */
	struct dssh_buf wire;
	struct sent *sent;
	size_t n_sent, n_got, damaged;   /* damaged: index of the first flipped packet */
	unsigned tx_keys, rx_keys;
	uint8_t sel;
};

/* b takes what it can; false once it failed. */
static bool
trip_open(struct trip *t)
{
	for (;;) {
		enum dssh_rec_rx_state st = dssh_rec_rx_state(t->b);
		uint8_t body[DSSH_REC_KEYS_LEN];

		if (st == DSSH_REC_RX_FAILED)
			return false;
		if (st == DSSH_REC_RX_WAIT_KEYS) {
			/* The same keys a switched to at this NEWKEYS. */
			t->rx_keys++;
			keys_body(t->sel, t->rx_keys, (t->rx_keys & 1) == 0, body);
			if (dssh_rec_set_keys(t->b, DSSH_REC_MARK_RX_KEYS, body, sizeof(body)) != 0)
				abort();
			continue;
		}
		uint8_t *base = dssh_buf_mutable_ptr(&t->wire);
		size_t off = 0, wl[BURST];
		int status[BURST], fr;
		uint32_t code;
		unsigned n = dssh_rec_rx_open_burst(t->b, fuzz_engine, base, dssh_buf_len(&t->wire),
		    BURST, wl, status, &fr, &code);

		for (unsigned i = 0; i < n; i++) {
			const uint8_t *payload;
			size_t len;

			if (dssh_rec_rx_done(t->b, base + off, status[i], &payload, &len, &code) != 0) {
				if (t->damaged == SIZE_MAX)
					abort();    /* an intact stream failed */
				return false;
			}
			off += wl[i];
			/* In order, unchanged, and nothing of a damaged packet. */
			if (t->n_got >= t->n_sent || t->n_got >= t->damaged ||
			    len != t->sent[t->n_got].len || memcmp(payload, t->sent[t->n_got].p, len) != 0)
				abort();
			t->n_got++;
		}
		dssh_buf_consume(&t->wire, off);
		if (fr == DSSH_ERR_INVALID_FORMAT) {
			if (t->damaged == SIZE_MAX)
				abort();
			return false;
		}
		if (n == 0)
			return true;    /* needs more bytes */
	}
}

static void
mode_roundtrip(const uint8_t *data, size_t size)
{
	static const uint8_t newkeys[1] = { SSH_MSG_NEWKEYS };
	uint8_t body[DSSH_REC_KEYS_LEN];
	struct trip t = { 0 };

	if (size < 1)
		return;
	t.sel = data[0];
	data++;
	size--;
	t.damaged = SIZE_MAX;
	if ((t.sent = calloc(size / 3 + 2, sizeof(*t.sent))) == NULL ||
	    dssh_rec_new(fuzz_engine, &t.a) != 0 || dssh_rec_new(fuzz_engine, &t.b) != 0)
		abort();
	dssh_buf_init(&t.wire, 0);
	/* Plaintext up to the first NEWKEYS, then keys on both sides. */
	if (dssh_rec_rx_version(t.b, (const uint8_t *)"SSH-2.0-f\n", 10) != 10)
		abort();
	seal(t.a, newkeys, 1, &t.wire);
	keys_body(t.sel, 0, true, body);
	if (dssh_rec_set_keys(t.a, DSSH_REC_MARK_TX_KEYS, body, sizeof(body)) != 0)
		abort();
	t.sent[t.n_sent++] = (struct sent){ newkeys, 1 };
	t.rx_keys = (unsigned)-1;      /* b's first RX_KEYS is keys 0 */
	/* record := u8 ctl, u16 len, len payload bytes */
	while (size >= 3) {
		uint8_t ctl = data[0];
		size_t len = DSSH_MIN((size_t)((data[1] << 8) | data[2]), size - 3);

		data += 3;
		size -= 3;
		if (len > 0) {
			size_t start = dssh_buf_len(&t.wire);

			seal(t.a, data, len, &t.wire);
			t.sent[t.n_sent++] = (struct sent){ data, len };
			if (ctl & 1) {
				size_t plen = dssh_buf_len(&t.wire) - start;

				dssh_buf_mutable_ptr(&t.wire)[start + (size_t)ctl * 37 % plen] ^=
				    (uint8_t)(ctl | 1);
				t.damaged = DSSH_MIN(t.damaged, t.n_sent - 1);
			}
			if (len == 1 && data[0] == SSH_MSG_NEWKEYS) {
				t.tx_keys++;
				keys_body(t.sel, t.tx_keys, (t.tx_keys & 1) == 0, body);
				if (dssh_rec_set_keys(t.a, DSSH_REC_MARK_TX_KEYS, body, sizeof(body)) != 0)
					abort();
			}
		}
		data += len;
		size -= len;
		if ((ctl & 2) && !trip_open(&t))
			break;
	}
	/* Nothing damaged: nothing fails, and all of it comes out. */
	if (t.damaged == SIZE_MAX && (!trip_open(&t) || t.n_got != t.n_sent))
		abort();
	dssh_buf_free(&t.wire);
	dssh_rec_free(t.a);
	dssh_rec_free(t.b);
	free(t.sent);
}

/* ---- mode 3 ---- */

static void
mode_engine(const uint8_t *data, size_t size, size_t chunk)
{
	static const char v[] = "SSH-2.0-fuzz\r\n";
	struct fuzz_host h = { 0 };
	struct dc d;

	dc_init(&d, true, &h);
	dssh_conn_input(d.c, (const uint8_t *)v, sizeof(v) - 1, d.now);
	while (size > 0 && !dssh_conn_closing(d.c)) {
		size_t n = DSSH_MIN(size, chunk);
		/* A private copy per chunk: the engine must not keep pointers into it. */
		uint8_t *p = malloc(n);

		memcpy(p, data, n);
		dssh_conn_input(d.c, p, n, d.now);
		free(p);
		tx_pump(&d);
		data += n;
		size -= n;
	}
	tx_pump(&d);
	dc_free(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fuzz_setup();
	uint8_t sel = data[0];
	size_t chunk = (size_t)(sel >> 2) * 17 + 1;

	data++;
	size--;
	switch (sel & 3) {
	case 0:
		mode_data_core(data, size, chunk);
		break;
	case 1:
		mode_rx_keys(data, size, chunk);
		break;
	case 2:
		mode_roundtrip(data, size);
		break;
	default:
		mode_engine(data, size, chunk);
		break;
	}
	return 0;
}
