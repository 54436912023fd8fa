/* SPDX-License-Identifier: BSD-3-Clause */
/* The binary packet layer as a separate object: see dssh_record.h. */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_record.h"
#include "dssh_util.h"
#include "ssh_internal.h"
#include "ssh_msg.h"

/* Before the first NEWKEYS: no cipher, block size 8, length counted. */
#define PLAIN_BLOCK 8
/* The longest packet that can be a NEWKEYS: 1 byte of payload, 255 of
 * padding, the largest tag. */
#define NEWKEYS_WIRE_MAX (4 + 1 + 1 + 255 + DSSH_CRYPTO_MAX_TAG)

struct dssh_rec_dir {
	struct dssh_crypto_sa *sa;
	uint32_t seq;
};

struct dssh_rec {
	struct dssh_crypto_engine *engine;
	struct dssh_rec_dir rx, tx;
	enum dssh_rec_rx_state rx_state;
	size_t version_seen;
	uint64_t pad_state;         /* xorshift64: padding bytes, see tx_op */
	/*
	 * Classic CTR input (the length inside the first encrypted block): a
	 * burst frames packets before the ones ahead of them are opened, so
	 * their lengths are read at the block where they start in the SA's
	 * stream (dssh_crypto_sa_peek_length_at; one 128-bit counter across
	 * packets), without touching the SA's state.
	 */
	uint64_t rx_blocks;         /* cipher blocks framed under the rx SA */
	unsigned rx_unopened;       /* framed, rx_done not called yet */
};

const char *
dssh_rec_err_str(uint32_t code)
{
	switch (code) {
	case DSSH_REC_ERR_MAC: return "corrupted MAC on input";
	case DSSH_REC_ERR_LENGTH: return "bad packet length";
	case DSSH_REC_ERR_BLOCK: return "packet length not a multiple of the block size";
	case DSSH_REC_ERR_PADDING: return "bad padding length";
	case DSSH_REC_ERR_KEYS: return "new keys could not be installed";
	case DSSH_REC_ERR_CRYPTO: return "crypto engine failure";
	case DSSH_REC_ERR_RECORD: return "malformed record";
	case DSSH_REC_ERR_WINDOW: return "channel data past the window or EOF";
	case DSSH_REC_ERR_CHANNEL: return "malformed channel message";
	default: return "unknown record-layer error";
	}
}

/* ---- keys on the wire between the two sides ---- */

void
dssh_rec_keys_encode(const struct dssh_crypto_keys *k, bool reset_seq,
    uint8_t out[DSSH_REC_KEYS_LEN])
{
	uint8_t *p = out;

	p[0] = (uint8_t)k->cipher->id;
	p[1] = (uint8_t)(k->mac != NULL ? k->mac->id : DSSH_MAC_NONE);
	p[2] = reset_seq ? 1 : 0;
	p[3] = 0;
	p += 4;
	memcpy(p, k->key, DSSH_CRYPTO_MAX_KEY);
	p += DSSH_CRYPTO_MAX_KEY;
	memcpy(p, k->iv, DSSH_CRYPTO_MAX_IV);
	p += DSSH_CRYPTO_MAX_IV;
	memcpy(p, k->mac_key, DSSH_CRYPTO_MAX_KEY);
}

int
dssh_rec_keys_decode(const uint8_t *in, size_t len, struct dssh_crypto_keys *k, bool *reset_seq)
{
	const uint8_t *p = in;

	if (len != DSSH_REC_KEYS_LEN || in[2] > 1 || in[3] != 0)
		return DSSH_ERR_INVALID_FORMAT;
	memset(k, 0, sizeof(*k));
	k->cipher = dssh_cipher_by_id((enum dssh_cipher_id)in[0]);
	k->mac = in[1] != DSSH_MAC_NONE ? dssh_mac_by_id((enum dssh_mac_id)in[1]) : NULL;
	if (k->cipher == NULL || k->cipher->id == DSSH_CIPHER_NONE ||
	    (in[1] != DSSH_MAC_NONE && k->mac == NULL) || (!k->cipher->aead && k->mac == NULL))
		return DSSH_ERR_INVALID_FORMAT;
	*reset_seq = in[2] != 0;
	p += 4;
	memcpy(k->key, p, DSSH_CRYPTO_MAX_KEY);
	p += DSSH_CRYPTO_MAX_KEY;
	memcpy(k->iv, p, DSSH_CRYPTO_MAX_IV);
	p += DSSH_CRYPTO_MAX_IV;
	memcpy(k->mac_key, p, DSSH_CRYPTO_MAX_KEY);
	return 0;
}

/* ---- framing rules ---- */

size_t
dssh_rec_block(const struct dssh_crypto_sa *sa)
{
	return sa ? dssh_crypto_sa_block_len(sa) : PLAIN_BLOCK;
}

size_t
dssh_rec_tag(const struct dssh_crypto_sa *sa)
{
	return sa ? dssh_crypto_sa_tag_len(sa) : 0;
}

static bool
length_counted(const struct dssh_crypto_sa *sa)
{
	return sa ? dssh_crypto_sa_length_encrypted(sa) : true;
}

uint32_t
dssh_rec_check_length(const struct dssh_crypto_sa *sa, uint32_t plen)
{
	if (plen < 5 || plen > DSSH_PACKET_MAX)
		return DSSH_REC_ERR_LENGTH;
	if (((length_counted(sa) ? 4 : 0) + (size_t)plen) % dssh_rec_block(sa) != 0)
		return DSSH_REC_ERR_BLOCK;
	return 0;
}

static size_t
pad_for(size_t bs, bool counted, size_t len)
{
	size_t pad = bs - ((counted ? 4 : 0) + 1 + len) % bs;

	return pad < 4 ? pad + bs : pad;
}

size_t
dssh_rec_pad_len(const struct dssh_crypto_sa *sa, size_t len)
{
	return pad_for(dssh_rec_block(sa), length_counted(sa), len);
}

size_t
dssh_rec_wire_len_algs(const struct dssh_cipher_info *cipher, const struct dssh_mac_info *mac,
    size_t len)
{
	size_t bs = PLAIN_BLOCK, tag = 0;
	bool counted = true;

	if (cipher != NULL) {
		bool etm = mac != NULL && mac->etm;

		bs = cipher->block_len;
		counted = !cipher->aead && !etm;
		tag = cipher->aead ? cipher->tag_len : mac != NULL ? mac->mac_len : 0;
	}
	return 4 + 1 + len + pad_for(bs, counted, len) + tag;
}

size_t
dssh_rec_payload_len(const uint8_t *pkt, uint32_t *code)
{
	uint32_t plen = dssh_get_u32be(pkt);
	uint8_t padlen = pkt[4];

	/* At least one byte (the message number) must remain. */
	if (padlen < 4 || (size_t)padlen + 2 > plen) {
		*code = DSSH_REC_ERR_PADDING;
		return 0;
	}
	return plen - padlen - 1;
}

/* ---- a connection's packet layer ---- */

int
dssh_rec_new(struct dssh_crypto_engine *e, struct dssh_rec **out)
{
	struct dssh_rec *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return DSSH_ERR_ALLOC;
	r->engine = e;
	r->rx_state = DSSH_REC_RX_VERSION;
	dssh_random(&r->pad_state, sizeof(r->pad_state));
	r->pad_state |= 1;
	*out = r;
	return 0;
}

void
dssh_rec_free(struct dssh_rec *r)
{
	if (r == NULL)
		return;
	dssh_crypto_sa_free(r->rx.sa);
	dssh_crypto_sa_free(r->tx.sa);
	dssh_wipe(r, sizeof(*r));
	free(r);
}

enum dssh_rec_rx_state
dssh_rec_rx_state(const struct dssh_rec *r)
{
	return r->rx_state;
}

void
dssh_rec_rx_fail(struct dssh_rec *r)
{
	r->rx_state = DSSH_REC_RX_FAILED;
}

size_t
dssh_rec_rx_version(struct dssh_rec *r, const uint8_t *p, size_t n)
{
	size_t room = DSSH_REC_VERSION_MAX - r->version_seen;
	const uint8_t *nl;
	size_t take;

	if (r->rx_state != DSSH_REC_RX_VERSION)
		return 0;
	take = DSSH_MIN(n, room);
	/* The engine takes the first line as the version (RFC 4253 4.2 lets a
	 * server, not a client, send lines before it): the packets start after
	 * its LF. A longer line is the engine's to refuse; input stops here. */
	if ((nl = memchr(p, '\n', take)) != NULL) {
		take = (size_t)(nl - p) + 1;
		r->rx_state = DSSH_REC_RX_PACKETS;
	} else if (take == room) {
		r->rx_state = DSSH_REC_RX_FAILED;
	}
	r->version_seen += take;
	return take;
}

static bool
length_in_block(const struct dssh_crypto_sa *sa)
{
	return sa != NULL && dssh_crypto_sa_length_bytes(sa) > 4;
}


int
dssh_rec_rx_frame(struct dssh_rec *r, const uint8_t *head, size_t avail, size_t *wire,
    uint32_t *code)
{
	struct dssh_rec_dir *d = &r->rx;
	size_t lb = d->sa ? dssh_crypto_sa_length_bytes(d->sa) : 4;
	size_t hl = DSSH_MIN(avail, (size_t)DSSH_REC_HEAD);
	uint32_t plen;

	if (avail < lb)
		return DSSH_ERR_MSG_INCOMPLETE;
	if (d->sa != NULL) {
		if ((r->rx_unopened > 0 && length_in_block(d->sa) ?
		    dssh_crypto_sa_peek_length_at(d->sa, d->seq, r->rx_blocks, head, hl, &plen) :
		    dssh_crypto_sa_peek_length(d->sa, d->seq, head, hl, &plen)) != 0) {
			*code = DSSH_REC_ERR_CRYPTO;
			r->rx_state = DSSH_REC_RX_FAILED;
			return DSSH_ERR_INVALID_FORMAT;
		}
	} else {
		plen = dssh_get_u32be(head);
	}
	/* Checked before anything is waited for. */
	if ((*code = dssh_rec_check_length(d->sa, plen)) != 0) {
		r->rx_state = DSSH_REC_RX_FAILED;
		return DSSH_ERR_INVALID_FORMAT;
	}
	*wire = 4 + (size_t)plen + dssh_rec_tag(d->sa);
	return 0;
}

bool
dssh_rec_rx_barrier(size_t wire)
{
	return wire <= NEWKEYS_WIRE_MAX;
}

bool
dssh_rec_rx_op(struct dssh_rec *r, uint8_t *pkt, size_t wire, struct dssh_crypto_op *op)
{
	struct dssh_rec_dir *d = &r->rx;
	uint32_t seq = d->seq++;

	if (d->sa == NULL)
		return false;
	*op = (struct dssh_crypto_op){ .sa = d->sa, .pkt = pkt,
	    .len = (uint32_t)(wire - dssh_rec_tag(d->sa)), .seq = seq };
	if (length_in_block(d->sa)) {
		r->rx_blocks += op->len / dssh_crypto_sa_block_len(d->sa);
		r->rx_unopened++;
	}
	return true;
}

int
dssh_rec_rx_done(struct dssh_rec *r, uint8_t *pkt, int status, const uint8_t **payload,
    size_t *len, uint32_t *code)
{
	size_t n;

	if (r->rx_unopened > 0)
		r->rx_unopened--;
	if (status != 0) {
		*code = status == DSSH_ERR_MAC_INVALID ? DSSH_REC_ERR_MAC : DSSH_REC_ERR_CRYPTO;
		r->rx_state = DSSH_REC_RX_FAILED;
		return DSSH_ERR_INVALID_FORMAT;
	}
	if ((n = dssh_rec_payload_len(pkt, code)) == 0) {
		r->rx_state = DSSH_REC_RX_FAILED;
		return DSSH_ERR_INVALID_FORMAT;
	}
	*payload = pkt + 5;
	*len = n;
	/* The engine decides whether this NEWKEYS is in order; until it sends
	 * the new keys, what follows cannot be framed. */
	if (n == 1 && pkt[5] == SSH_MSG_NEWKEYS)
		r->rx_state = DSSH_REC_RX_WAIT_KEYS;
	return 0;
}

unsigned
dssh_rec_rx_open_burst(struct dssh_rec *r, struct dssh_crypto_engine *engine, uint8_t *buf,
    size_t avail, unsigned max, size_t *wire, int *status, int *fr, uint32_t *code)
{
	struct dssh_crypto_op ops[DSSH_REC_BURST_MAX], *burst[DSSH_REC_BURST_MAX];
	bool sealed[DSSH_REC_BURST_MAX];
	unsigned n = 0, nops = 0;
	size_t off = 0;

	*fr = 0;
	max = DSSH_MIN(max, (unsigned)DSSH_REC_BURST_MAX);
	while (n < max) {
		*fr = dssh_rec_rx_frame(r, buf + off, avail - off, &wire[n], code);
		if (*fr != 0 || avail - off < wire[n]) {
			if (*fr == 0)
				*fr = DSSH_ERR_MSG_INCOMPLETE;
			break;
		}
		if ((sealed[n] = dssh_rec_rx_op(r, buf + off, wire[n], &ops[n])))
			burst[nops++] = &ops[n];
		off += wire[n];
		if (dssh_rec_rx_barrier(wire[n++]))
			break;      /* may be a NEWKEYS: nothing after it yet */
	}
	if (nops > 0)
		dssh_crypto_process(engine, burst, nops);    /* each op has its status */
	for (unsigned i = 0; i < n; i++)
		status[i] = sealed[i] ? ops[i].status : 0;
	return n;
}

size_t
dssh_rec_tx_wire_len(const struct dssh_rec *r, size_t len)
{
	return 4 + 1 + len + dssh_rec_pad_len(r->tx.sa, len) + dssh_rec_tag(r->tx.sa);
}

/* Padding needs no secrecy here: every mode encrypts it (AEAD, ETM, CTR),
 * so a cheap generator per connection is enough. */
static void
fill_padding(struct dssh_rec *r, uint8_t *p, size_t n)
{
	uint64_t x = r->pad_state;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
	r->pad_state = x;
}

bool
dssh_rec_tx_op(struct dssh_rec *r, uint8_t *pkt, size_t len, struct dssh_crypto_op *op)
{
	struct dssh_rec_dir *d = &r->tx;
	size_t pad = dssh_rec_pad_len(d->sa, len);
	uint32_t plen = (uint32_t)(1 + len + pad);
	uint32_t seq = d->seq++;

	dssh_put_u32be(pkt, plen);
	pkt[4] = (uint8_t)pad;
	fill_padding(r, pkt + 5 + len, pad);
	if (d->sa == NULL)
		return false;
	*op = (struct dssh_crypto_op){ .sa = d->sa, .pkt = pkt, .len = 4 + plen, .seq = seq };
	return true;
}

int
dssh_rec_set_keys(struct dssh_rec *r, enum dssh_rec_mark kind, const uint8_t *body, size_t len)
{
	bool rx = kind == DSSH_REC_MARK_RX_KEYS;
	struct dssh_rec_dir *d = rx ? &r->rx : &r->tx;
	struct dssh_crypto_keys keys;
	struct dssh_crypto_sa *sa;
	bool reset;
	int rc;

	if ((kind != DSSH_REC_MARK_RX_KEYS && kind != DSSH_REC_MARK_TX_KEYS) ||
	    (rx && r->rx_state != DSSH_REC_RX_WAIT_KEYS))
		return DSSH_ERR_INVALID_FORMAT;
	if ((rc = dssh_rec_keys_decode(body, len, &keys, &reset)) == 0 &&
	    (rc = dssh_crypto_sa_new(r->engine, &keys, rx ? DSSH_CRYPTO_OPEN : DSSH_CRYPTO_SEAL,
	    &sa)) == 0) {
		dssh_crypto_sa_free(d->sa);
		d->sa = sa;
		if (reset)
			d->seq = 0;
		if (rx) {
			r->rx_state = DSSH_REC_RX_PACKETS;
			r->rx_blocks = 0;
			r->rx_unopened = 0;
		}
	}
	dssh_wipe(&keys, sizeof(keys));
	return rc;
}
