/* SPDX-License-Identifier: BSD-3-Clause */
/* Binary packet protocol, RFC 4253 section 6: framing, padding, seal/open. */
#include <string.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "dssh_record.h"
#include "ssh_internal.h"

static size_t
dir_tag(const struct dssh_direction *d)
{
	return dssh_rec_tag(d->sa);
}

int
dssh_pkt_put_marker(struct dssh_conn *c, enum dssh_rec_mark kind, const uint8_t *body, size_t len)
{
	uint8_t *p;
	int r;

	if ((r = dssh_buf_reserve(&c->out, DSSH_REC_MARK_HDR + len, &p)) != 0)
		return r;
	dssh_put_u32be(p, DSSH_REC_MARK | kind);
	dssh_put_u32be(p + 4, (uint32_t)len);
	memcpy(p + DSSH_REC_MARK_HDR, body, len);
	return 0;
}

int
dssh_pkt_send_text(struct dssh_conn *c, const char *line)
{
	if (c->rec_offload)
		return dssh_pkt_put_marker(c, DSSH_REC_MARK_RAW, (const uint8_t *)line, strlen(line));
	return dssh_buf_put(&c->out, line, strlen(line));
}

static int
comp_start(struct dssh_direction *d, bool rx)
{
	if (d->comp != NULL || d->comp_alg == DSSH_COMP_NONE)
		return 0;
	return dssh_comp_new(rx, &d->comp);
}

/* New keys: the negotiated compression starts now ("zlib"), or at once if
 * authentication is done (zlib@openssh.com on a rekey), with a fresh
 * stream: RFC 4253 6.2 initializes the context after each key exchange,
 * and OpenSSH does so. */
static int
comp_on_newkeys(struct dssh_conn *c, struct dssh_direction *d, bool rx)
{
	d->comp_alg = rx ? c->neg.comp_cs : c->neg.comp_sc;
	dssh_comp_free(d->comp);
	d->comp = NULL;
	if (d->comp_alg == DSSH_COMP_ZLIB ||
	    (d->comp_alg == DSSH_COMP_DELAYED && c->comp_auth_done))
		return comp_start(d, rx);
	return 0;
}

int
dssh_pkt_auth_done(struct dssh_conn *c)
{
	int r;

	c->comp_auth_done = true;
	if ((r = comp_start(&c->tx, false)) != 0)
		return r;
	return comp_start(&c->rx, true);
}

void
dssh_pkt_free_comp(struct dssh_conn *c)
{
	dssh_comp_free(c->rx.comp);
	dssh_comp_free(c->tx.comp);
	c->rx.comp = c->tx.comp = NULL;
}

bool
dssh_conn_compressed(const struct dssh_conn *c)
{
	return c->rx.comp_alg != DSSH_COMP_NONE || c->tx.comp_alg != DSSH_COMP_NONE;
}

int
dssh_pkt_set_keys(struct dssh_conn *c, enum dssh_crypto_dir dir,
    const struct dssh_crypto_keys *keys, bool reset_seq)
{
	struct dssh_direction *d = dir == DSSH_CRYPTO_OPEN ? &c->rx : &c->tx;
	struct dssh_crypto_sa *sa = NULL;
	int r;

	if (c->rec_offload) {
		/* In stream order: the data core switches exactly here. */
		uint8_t body[DSSH_REC_KEYS_LEN];

		dssh_rec_keys_encode(keys, reset_seq, body);
		r = dssh_pkt_put_marker(c, dir == DSSH_CRYPTO_OPEN ? DSSH_REC_MARK_RX_KEYS :
		    DSSH_REC_MARK_TX_KEYS, body, sizeof(body));
		dssh_wipe(body, sizeof(body));
		if (r != 0)
			return r;
		/* The keys sit in the output until sent: wiped as consumed. */
		c->out_wipe = dssh_buf_len(&c->out);
		d->rec_cipher = keys->cipher;
		d->rec_mac = keys->mac;
	} else {
		if ((r = dssh_crypto_sa_new(c->conf->engine, keys, dir, &sa)) != 0)
			return r;
		dssh_crypto_sa_free(d->sa);
		d->sa = sa;
	}
	if ((r = comp_on_newkeys(c, d, dir == DSSH_CRYPTO_OPEN)) != 0)
		return r;
	d->cipher_name = keys->cipher->name;
	d->mac_name = keys->mac && keys->mac->id != DSSH_MAC_NONE ? keys->mac->name : "<implicit>";
	d->blocks = d->packets = d->bytes = 0;
	if (reset_seq)
		d->seq = 0;
	return 0;
}

static void
count(struct dssh_direction *d, size_t wire_len)
{
	d->seq++;
	d->packets++;
	d->bytes += wire_len;
	d->blocks += (wire_len + 15) / 16;
}

int
dssh_pkt_send_raw(struct dssh_conn *c, const uint8_t *payload, size_t len)
{
	return dssh_pkt_send2(c, payload, len, NULL, 0);
}

/* Offloaded packet layer: the payload as a record, sealed by the data core. */
static int
send_record(struct dssh_conn *c, const uint8_t *head, size_t hlen, const uint8_t *body,
    size_t blen)
{
	size_t total = DSSH_REC_HDR + hlen + blen;
	uint8_t *p;
	int r;

	if ((r = dssh_buf_reserve(&c->out, total, &p)) != 0)
		return r;
	dssh_put_u32be(p, (uint32_t)(hlen + blen));
	memcpy(p + DSSH_REC_HDR, head, hlen);
	if (blen > 0)
		memcpy(p + DSSH_REC_HDR + hlen, body, blen);
	/* Rekeying and the totals count what goes on the wire. */
	total = dssh_rec_wire_len_algs(c->tx.rec_cipher, c->tx.rec_mac, hlen + blen);
	count(&c->tx, total);
	c->total_bytes_out += total;
	c->total_pkts_out++;
	return 0;
}

/* One packet whose payload is head || body, framed straight into the output
 * (channel data: a small header, then the bytes, copied once). */
int
dssh_pkt_send2(struct dssh_conn *c, const uint8_t *head, size_t hlen, const uint8_t *body,
    size_t blen)
{
	struct dssh_direction *d = &c->tx;
	/* Only the server sends it: zlib@openssh.com starts after it. */
	bool auth_success = hlen + blen == 1 &&
	    (hlen == 1 ? head[0] : body[0]) == SSH_MSG_USERAUTH_SUCCESS;
	uint8_t *p;
	int r;

	if (d->comp != NULL) {
		if ((r = dssh_comp_deflate(d->comp, head, hlen, body, blen, &head, &hlen)) != 0)
			return r;
		body = NULL;
		blen = 0;
	}
	size_t len = hlen + blen;
	size_t tag = dir_tag(d);
	size_t pad = dssh_rec_pad_len(d->sa, len);

	if (len > DSSH_PACKET_MAX - 64)
		return DSSH_ERR_NO_BUFFER_SPACE;
	if (c->rec_offload) {
		r = send_record(c, head, hlen, body, blen);
		return r == 0 && auth_success ? dssh_pkt_auth_done(c) : r;
	}
	size_t packet_length = 1 + len + pad;
	size_t total = 4 + packet_length + tag;

	if ((r = dssh_buf_reserve(&c->out, total, &p)) != 0)
		return r;
	dssh_put_u32be(p, (uint32_t)packet_length);
	p[4] = (uint8_t)pad;
	memcpy(p + 5, head, hlen);
	if (blen > 0)
		memcpy(p + 5 + hlen, body, blen);
	dssh_random_pad(p + 5 + len, pad);
	if (d->sa != NULL) {
		struct dssh_crypto_op op = { .sa = d->sa, .pkt = p, .len = (uint32_t)(4 + packet_length),
		    .seq = d->seq };
		struct dssh_crypto_op *ops[1] = { &op };

		if ((r = dssh_crypto_process(c->conf->engine, ops, 1)) != 0) {
			dssh_buf_consume_end(&c->out, total);
			return r;
		}
	}
	count(d, total);
	c->total_bytes_out += total;
	c->total_pkts_out++;
	return auth_success ? dssh_pkt_auth_done(c) : 0;
}

int
dssh_pkt_send(struct dssh_conn *c, const struct dssh_buf *payload)
{
	return dssh_pkt_send_raw(c, dssh_buf_ptr(payload), dssh_buf_len(payload));
}

void
dssh_pkt_count_offloaded(struct dssh_conn *c, uint32_t rx_pkts, uint64_t rx_bytes,
    uint32_t tx_pkts, uint64_t tx_bytes)
{
	c->rx.seq += rx_pkts;       /* the peer's sequence numbers went on */
	c->rx.packets += rx_pkts;
	c->rx.bytes += rx_bytes;
	c->rx.blocks += rx_bytes / 16;
	c->tx.seq += tx_pkts;
	c->tx.packets += tx_pkts;
	c->tx.bytes += tx_bytes;
	c->tx.blocks += tx_bytes / 16;
	c->total_pkts_in += rx_pkts;
	c->total_bytes_in += rx_bytes;
	c->total_pkts_out += tx_pkts;
	c->total_bytes_out += tx_bytes;
}

static bool
chan_mark_up(uint32_t kind)
{
	return (kind >= DSSH_REC_MARK_CHAN_OFFLOADED && kind <= DSSH_REC_MARK_CHAN_COUNT) ||
	    kind == DSSH_REC_MARK_CHAN_CONNECTED;
}

/* Offloaded packet layer: the data core's next record (channel offload
 * markers handled on the way). */
static int
read_record(struct dssh_conn *c, const uint8_t **payload, size_t *len)
{
	const uint8_t *p;
	size_t avail;
	uint32_t w;
	int r;

again:
	p = dssh_buf_ptr(&c->in);
	avail = dssh_buf_len(&c->in);
	if (avail < DSSH_REC_HDR)
		return DSSH_ERR_MSG_INCOMPLETE;
	w = dssh_get_u32be(p);
	if ((w & DSSH_REC_MARK) && chan_mark_up(w & ~DSSH_REC_MARK)) {
		size_t n;

		if (avail < DSSH_REC_MARK_HDR)
			return DSSH_ERR_MSG_INCOMPLETE;
		if ((n = dssh_get_u32be(p + 4)) > DSSH_REC_CHAN_COUNT_LEN) {
			dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "%s",
			    dssh_rec_err_str(DSSH_REC_ERR_RECORD));
			return DSSH_ERR_INVALID_FORMAT;
		}
		if (avail < DSSH_REC_MARK_HDR + n)
			return DSSH_ERR_MSG_INCOMPLETE;
		r = dssh_chan_offload_marker(c, w & ~DSSH_REC_MARK, p + DSSH_REC_MARK_HDR, n);
		if (c->state == CONN_CLOSED)
			return r != 0 ? r : DSSH_ERR_CONN_CLOSED;
		dssh_buf_consume(&c->in, DSSH_REC_MARK_HDR + n);
		if (r != 0)
			return r;
		goto again;
	}
	if (w & DSSH_REC_MARK) {
		uint32_t code = DSSH_REC_ERR_RECORD;

		/* Only an ERROR marker with a code is waited for: any other is
		 * refused as soon as its kind is seen. */
		if (w == (DSSH_REC_MARK | DSSH_REC_MARK_ERROR)) {
			if (avail < DSSH_REC_MARK_HDR)
				return DSSH_ERR_MSG_INCOMPLETE;
			if (dssh_get_u32be(p + 4) == 4) {
				if (avail < DSSH_REC_MARK_HDR + 4)
					return DSSH_ERR_MSG_INCOMPLETE;
				code = dssh_get_u32be(p + DSSH_REC_MARK_HDR);
			}
		}
		dssh_conn_fail(c, code == DSSH_REC_ERR_MAC ? SSH_DISCONNECT_MAC_ERROR :
		    SSH_DISCONNECT_PROTOCOL_ERROR, "%s (seq %u)", dssh_rec_err_str(code), c->rx.seq);
		return DSSH_ERR_INVALID_FORMAT;
	}
	if (w == 0 || w > DSSH_PACKET_MAX) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "bad record length %u", w);
		return DSSH_ERR_INVALID_FORMAT;
	}
	if (avail < DSSH_REC_HDR + (size_t)w)
		return DSSH_ERR_MSG_INCOMPLETE;
	c->in_pkt_total = DSSH_REC_HDR + (size_t)w;
	/* The peer's padding is not known here: the least it could be. */
	c->in_pkt_wire = dssh_rec_wire_len_algs(c->rx.rec_cipher, c->rx.rec_mac, w);
	*payload = p + DSSH_REC_HDR;
	*len = w;
	return 0;
}

/*
 * Frame the next packet in c->in. Returns 0 with the payload (pointing into
 * c->in, valid until dssh_pkt_consume), DSSH_ERR_MSG_INCOMPLETE when more
 * bytes are needed, or a fatal error.
 */
static int
pkt_read_wire(struct dssh_conn *c, const uint8_t **payload, size_t *len)
{
	struct dssh_direction *d = &c->rx;
	size_t avail = dssh_buf_len(&c->in);
	int r;

	if (c->rec_offload)
		return read_record(c, payload, len);
	if (c->in_pkt_len == 0) {
		uint32_t plen;
		size_t lb = d->sa ? dssh_crypto_sa_length_bytes(d->sa) : 4;

		if (avail < lb)
			return DSSH_ERR_MSG_INCOMPLETE;
		if (d->sa != NULL) {
			if ((r = dssh_crypto_sa_peek_length(d->sa, d->seq, dssh_buf_ptr(&c->in), avail,
			    &plen)) != 0)
				return r;
		} else {
			plen = dssh_get_u32be(dssh_buf_ptr(&c->in));
		}
		/* Checked before anything is allocated or waited for. */
		uint32_t code = dssh_rec_check_length(d->sa, plen);

		if (code != 0) {
			dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "%s %u",
			    dssh_rec_err_str(code), plen);
			return DSSH_ERR_INVALID_FORMAT;
		}
		c->in_pkt_len = plen;
	}
	size_t total = 4 + (size_t)c->in_pkt_len + dir_tag(d);

	if (avail < total)
		return DSSH_ERR_MSG_INCOMPLETE;
	uint8_t *pkt = dssh_buf_mutable_ptr(&c->in);

	if (d->sa != NULL) {
		struct dssh_crypto_op op = { .sa = d->sa, .pkt = pkt, .len = 4 + c->in_pkt_len,
		    .seq = d->seq };
		struct dssh_crypto_op *ops[1] = { &op };

		if ((r = dssh_crypto_process(c->conf->engine, ops, 1)) != 0) {
			dssh_conn_fail(c, SSH_DISCONNECT_MAC_ERROR, "%s on input (seq %u)",
			    r == DSSH_ERR_MAC_INVALID ? "corrupted MAC" : dssh_err_str(r), d->seq);
			return r;
		}
	}
	c->in_pkt_total = total;   /* keys may change while this packet is handled */
	uint32_t code = 0;

	if ((*len = dssh_rec_payload_len(pkt, &code)) == 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "%s %u", dssh_rec_err_str(code),
		    pkt[4]);
		return DSSH_ERR_INVALID_FORMAT;
	}
	*payload = pkt + 5;
	return 0;
}

int
dssh_pkt_read(struct dssh_conn *c, const uint8_t **payload, size_t *len)
{
	int r;

	if ((r = pkt_read_wire(c, payload, len)) != 0 || c->rx.comp == NULL)
		return r;
	r = dssh_comp_inflate(c->rx.comp, *payload, *len, payload, len);
	if (r == DSSH_ERR_NO_BUFFER_SPACE) {
		dssh_error("%s: compressed packet (seq %u) inflates past %u bytes", c->log_id,
		    c->rx.seq, DSSH_COMP_INFLATE_MAX);
		dssh_conn_fail(c, SSH_DISCONNECT_COMPRESSION_ERROR, "decompressed packet too large");
		return r;
	}
	if (r == 0 && *len == 0)
		r = DSSH_ERR_INVALID_FORMAT;
	if (r != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_COMPRESSION_ERROR, "bad compressed packet (seq %u)",
		    c->rx.seq);
		return r;
	}
	c->rx.comp_last = *len;
	return 0;
}

void
dssh_pkt_consume(struct dssh_conn *c)
{
	if (c->rx.comp != NULL && c->rx.comp_last > 0) {
		dssh_comp_wipe_last(c->rx.comp, c->rx.comp_last);
		c->rx.comp_last = 0;
	}
	size_t total = c->in_pkt_total;
	size_t wire = c->rec_offload ? c->in_pkt_wire : total;

	dssh_wipe(dssh_buf_mutable_ptr(&c->in), total);
	dssh_buf_consume(&c->in, total);
	count(&c->rx, wire);
	c->total_bytes_in += wire;
	c->total_pkts_in++;
	c->in_pkt_len = 0;
	c->in_pkt_total = 0;
}
