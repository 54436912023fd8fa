/* SPDX-License-Identifier: BSD-3-Clause */
/* Binary packet protocol, RFC 4253 section 6: framing, padding, seal/open. */
#include <string.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "ssh_internal.h"

/* Before the first NEWKEYS: no cipher, block size 8, length counted. */
#define PLAIN_BLOCK 8

static size_t
dir_block(const struct dssh_direction *d)
{
	return d->sa ? dssh_crypto_sa_block_len(d->sa) : PLAIN_BLOCK;
}

static size_t
dir_tag(const struct dssh_direction *d)
{
	return d->sa ? dssh_crypto_sa_tag_len(d->sa) : 0;
}

static bool
dir_length_counted(const struct dssh_direction *d)
{
	return d->sa ? dssh_crypto_sa_length_encrypted(d->sa) : true;
}

int
dssh_pkt_set_keys(struct dssh_direction *d, struct dssh_crypto_engine *e,
    const struct dssh_crypto_keys *keys, enum dssh_crypto_dir dir)
{
	struct dssh_crypto_sa *sa;
	int r;

	if ((r = dssh_crypto_sa_new(e, keys, dir, &sa)) != 0)
		return r;
	dssh_crypto_sa_free(d->sa);
	d->sa = sa;
	d->cipher_name = keys->cipher->name;
	d->mac_name = keys->mac && keys->mac->id != DSSH_MAC_NONE ? keys->mac->name : "<implicit>";
	d->blocks = d->packets = d->bytes = 0;
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

/* One packet whose payload is head || body, framed straight into the output
 * (channel data: a small header, then the bytes, copied once). */
int
dssh_pkt_send2(struct dssh_conn *c, const uint8_t *head, size_t hlen, const uint8_t *body,
    size_t blen)
{
	struct dssh_direction *d = &c->tx;
	size_t len = hlen + blen;
	size_t bs = dir_block(d), tag = dir_tag(d);
	size_t aligned = (dir_length_counted(d) ? 4 : 0) + 1 + len;
	size_t pad = bs - aligned % bs;
	uint8_t *p;
	int r;

	if (pad < 4)
		pad += bs;
	if (len > DSSH_PACKET_MAX - 64)
		return DSSH_ERR_NO_BUFFER_SPACE;
	size_t packet_length = 1 + len + pad;
	size_t total = 4 + packet_length + tag;

	if ((r = dssh_buf_reserve(&c->out, total, &p)) != 0)
		return r;
	dssh_put_u32be(p, (uint32_t)packet_length);
	p[4] = (uint8_t)pad;
	memcpy(p + 5, head, hlen);
	if (blen > 0)
		memcpy(p + 5 + hlen, body, blen);
	dssh_random(p + 5 + len, pad);
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
	return 0;
}

int
dssh_pkt_send(struct dssh_conn *c, const struct dssh_buf *payload)
{
	return dssh_pkt_send_raw(c, dssh_buf_ptr(payload), dssh_buf_len(payload));
}

/*
 * Frame the next packet in c->in. Returns 0 with the payload (pointing into
 * c->in, valid until dssh_pkt_consume), DSSH_ERR_MSG_INCOMPLETE when more
 * bytes are needed, or a fatal error.
 */
int
dssh_pkt_read(struct dssh_conn *c, const uint8_t **payload, size_t *len)
{
	struct dssh_direction *d = &c->rx;
	size_t avail = dssh_buf_len(&c->in);
	int r;

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
		if (plen < 5 || plen > DSSH_PACKET_MAX) {
			dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "bad packet length %u", plen);
			return DSSH_ERR_INVALID_FORMAT;
		}
		size_t need = (dir_length_counted(d) ? 4 : 0) + plen;

		if (need % dir_block(d) != 0) {
			dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR,
			    "packet length %u not a multiple of the block size", plen);
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
	uint8_t padlen = pkt[4];

	if (padlen < 4 || (size_t)padlen + 2 > c->in_pkt_len) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "bad padding length %u", padlen);
		return DSSH_ERR_INVALID_FORMAT;
	}
	*payload = pkt + 5;
	*len = c->in_pkt_len - padlen - 1;
	return 0;
}

void
dssh_pkt_consume(struct dssh_conn *c)
{
	size_t total = c->in_pkt_total;

	dssh_wipe(dssh_buf_mutable_ptr(&c->in), total);
	dssh_buf_consume(&c->in, total);
	count(&c->rx, total);
	c->total_bytes_in += total;
	c->total_pkts_in++;
	c->in_pkt_len = 0;
	c->in_pkt_total = 0;
}
