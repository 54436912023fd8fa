/* SPDX-License-Identifier: BSD-3-Clause */
/* Minimal in-process SSH-2 client for the engine tests and fuzzers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_kex.h"
#include "dssh_record.h"
#include "dssh_sshkey.h"
#include "dssh_util.h"
#include "ssh_internal.h"
#include "test_client.h"

#define TC_VERSION "SSH-2.0-dssh_test_client"
#define TC_PACKET_MAX (256u * 1024 + 64)

/*
 * ---- the data core between client and server (record_offload) ----
 *
 * One connection's pump, as a data core runs it: client wire bytes are
 * framed, opened in bursts (a burst ends after a packet short enough to be a
 * NEWKEYS) and go up as records; the server's records are sealed into wire
 * bytes for the client, its markers handled in stream order.
 */
#define SHIM_BURST 8

static int
shim_new(struct tc *t, struct dssh_crypto_engine *e)
{
	struct tc_shim *s = calloc(1, sizeof(*s));
	int r;

	if (s == NULL)
		return DSSH_ERR_ALLOC;
	t->shim = s;
	dssh_buf_init(&s->wire, 0);
	if ((r = dssh_crypto_engine_create(dssh_crypto_engine_name(e), NULL, &s->engine)) != 0)
		return r;
	if ((r = dssh_rec_new(s->engine, &s->rec)) != 0)
		return r;
	dssh_conn_set_record_offload(t->srv);
	return 0;
}

static void
shim_free(struct tc_shim *s)
{
	if (s == NULL)
		return;
	dssh_rec_free(s->rec);          /* its SAs belong to the engine */
	dssh_crypto_engine_free(s->engine);
	dssh_buf_free(&s->wire);
	free(s);
}

/* Records into the server; keeps the first error. */
static void
shim_up_bytes(struct tc *t, const uint8_t *p, size_t n, int *rc)
{
	int r = dssh_conn_input(t->srv, p, n, t->now_ms);

	if (*rc == 0)
		*rc = r;
}

static void
shim_up_error(struct tc *t, uint32_t code, int *rc)
{
	uint8_t m[DSSH_REC_MARK_HDR + 4];

	dssh_put_u32be(m, DSSH_REC_MARK | DSSH_REC_MARK_ERROR);
	dssh_put_u32be(m + 4, 4);
	dssh_put_u32be(m + 8, code);
	t->shim->error_sent = code;
	shim_up_bytes(t, m, sizeof(m), rc);
}

/*
 * Frame up to SHIM_BURST complete packets, open them in one burst and pass
 * them up in order; a failure goes up as an ERROR marker after the packets
 * before it. Returns the wire bytes used.
 */
static size_t
shim_open_burst(struct tc *t, int *rc)
{
	struct tc_shim *s = t->shim;
	uint8_t *base = dssh_buf_mutable_ptr(&s->wire);
	size_t off = 0, wire[SHIM_BURST];
	int status[SHIM_BURST], fr;
	uint32_t code = 0;
	unsigned n, i;

	n = dssh_rec_rx_open_burst(s->rec, s->engine, base, dssh_buf_len(&s->wire), SHIM_BURST,
	    wire, status, &fr, &code);
	for (i = 0; i < n; i++) {
		const uint8_t *payload;
		size_t len;
		uint8_t *pkt = base + off;

		off += wire[i];
		if (dssh_rec_rx_done(s->rec, pkt, status[i], &payload, &len, &code) != 0) {
			shim_up_error(t, code, rc);
			return off;
		}
		/* The record header goes in place, over packet_length || padding_length. */
		dssh_put_u32be(pkt + 1, (uint32_t)len);
		s->packets_up++;
		s->wire_up += wire[i];
		shim_up_bytes(t, pkt + 1, DSSH_REC_HDR + len, rc);
	}
	if (fr == DSSH_ERR_INVALID_FORMAT)
		shim_up_error(t, code, rc);
	return off;
}

/* Client wire bytes -> records for the server. True when anything moved. */
static bool
shim_up(struct tc *t, int *rc)
{
	struct tc_shim *s = t->shim;
	bool moved = false;
	size_t used;

	/* A data core drops a closed connection's input. */
	while (!dssh_conn_closing(t->srv)) {
		const uint8_t *p = dssh_buf_ptr(&s->wire);
		size_t n = dssh_buf_len(&s->wire);

		switch (dssh_rec_rx_state(s->rec)) {
		case DSSH_REC_RX_VERSION:
			/* Raw, as it came; a line too long is the server's to refuse. */
			if (n == 0 || (used = dssh_rec_rx_version(s->rec, p, n)) == 0)
				return moved;
			shim_up_bytes(t, p, used, rc);
			break;
		case DSSH_REC_RX_PACKETS:
			used = shim_open_burst(t, rc);
			if (used == 0 && dssh_rec_rx_state(s->rec) == DSSH_REC_RX_PACKETS)
				return moved;       /* incomplete */
			break;
		default:                    /* WAIT_KEYS: the server's RX_KEYS resumes */
			return moved;
		}
		dssh_buf_consume(&s->wire, used);
		moved = true;
	}
	return moved;
}

/* One packet record: sealed into the client's input. */
static int
shim_seal(struct tc *t, const uint8_t *payload, size_t len)
{
	struct tc_shim *s = t->shim;
	size_t wire = dssh_rec_tx_wire_len(s->rec, len);
	struct dssh_crypto_op op, *burst[1] = { &op };
	uint8_t *pkt;
	int r;

	if ((r = dssh_buf_reserve(&t->in, wire, &pkt)) != 0)
		return r;
	memcpy(pkt + DSSH_REC_TX_PAYLOAD, payload, len);
	if (dssh_rec_tx_op(s->rec, pkt, len, &op) &&
	    (r = dssh_crypto_process(s->engine, burst, 1)) != 0) {
		dssh_buf_consume_end(&t->in, wire);
		return r;
	}
	s->wire_down += wire;
	return 0;
}

static int
shim_marker(struct tc *t, uint32_t kind, const uint8_t *body, size_t len)
{
	t->shim->markers_down++;
	switch (kind) {
	case DSSH_REC_MARK_RAW:
		return dssh_buf_put(&t->in, body, len);
	case DSSH_REC_MARK_TX_KEYS:
	case DSSH_REC_MARK_RX_KEYS:
		return dssh_rec_set_keys(t->shim->rec, (enum dssh_rec_mark)kind, body, len);
	default:
		return DSSH_ERR_INVALID_FORMAT;
	}
}

/* Server records -> client wire bytes; consumes exactly the complete records
 * it handled. True when anything moved. */
static bool
shim_down(struct tc *t)
{
	struct tc_shim *s = t->shim;
	const uint8_t *p;
	size_t n, used = 0;

	dssh_conn_output(t->srv, &p, &n);
	while (s->fault == 0 && n - used >= DSSH_REC_HDR) {
		const uint8_t *rec = p + used;
		size_t left = n - used;
		uint32_t w = dssh_get_u32be(rec);

		if (w & DSSH_REC_MARK) {
			if (left < DSSH_REC_MARK_HDR ||
			    left - DSSH_REC_MARK_HDR < dssh_get_u32be(rec + 4))
				break;
			size_t blen = dssh_get_u32be(rec + 4);

			s->fault = shim_marker(t, w & ~DSSH_REC_MARK, rec + DSSH_REC_MARK_HDR, blen);
			used += DSSH_REC_MARK_HDR + blen;
		} else {
			if (left - DSSH_REC_HDR < w)
				break;
			s->fault = w == 0 ? DSSH_ERR_INVALID_FORMAT : shim_seal(t, rec + DSSH_REC_HDR, w);
			used += DSSH_REC_HDR + (size_t)w;
		}
	}
	dssh_conn_output_consume(t->srv, used);
	return used > 0;
}

/* Move whatever can move, both ways, until nothing does: an RX_KEYS from
 * the server lets input stopped at a NEWKEYS go on. */
static int
shim_pump(struct tc *t)
{
	int rc = 0;
	bool moved;

	do {
		moved = shim_down(t);
		moved |= shim_up(t, &rc);
	} while (moved);
	return rc;
}

static int
shim_feed(struct tc *t, const void *p, size_t n)
{
	int r;

	if (dssh_conn_closing(t->srv))
		return DSSH_ERR_CONN_CLOSED;
	if ((r = dssh_buf_put(&t->shim->wire, p, n)) != 0)
		return r;
	if ((r = shim_pump(t)) == 0 && dssh_conn_closing(t->srv))
		r = DSSH_ERR_CONN_CLOSED;
	return r;
}

int
tc_new(struct dssh_conn *srv, struct dssh_crypto_engine *e, const struct tc_conf *conf,
    struct tc **out)
{
	struct tc *t = calloc(1, sizeof(*t));
	int r;

	*out = NULL;
	if (t == NULL)
		return DSSH_ERR_ALLOC;
	t->srv = srv;
	t->engine = e;
	t->conf = *conf;
	t->now_ms = 1000;
	dssh_buf_init(&t->in, 0);
	dssh_buf_init(&t->i_c, 0);
	dssh_buf_init(&t->i_s, 0);
	dssh_buf_init(&t->held, 0);
	if (conf->record_offload && (r = shim_new(t, e)) != 0) {
		tc_free(t);
		return r;
	}
	*out = t;
	return 0;
}

void
tc_free(struct tc *t)
{
	if (t == NULL)
		return;
	shim_free(t->shim);
	dssh_crypto_sa_free(t->tx.sa);
	dssh_crypto_sa_free(t->rx.sa);
	dssh_buf_free(&t->in);
	dssh_buf_free(&t->i_c);
	dssh_buf_free(&t->i_s);
	dssh_buf_free(&t->held);
	dssh_wipe(&t->rx_pending, sizeof(t->rx_pending));
	free(t->v_s);
	free(t->neg_kex);
	free(t->neg_cipher_cs);
	free(t->neg_cipher_sc);
	free(t->server_sig_algs);
	dssh_sshkey_free(t->hostkey);
	free(t);
}

int
tc_feed(struct tc *t, const void *p, size_t n)
{
	if (dssh_buf_len(&t->held) > 0 && n > 0) {
		/* The held NEWKEYS and these bytes in one write. */
		struct dssh_buf both;

		dssh_buf_init(&both, 0);
		dssh_buf_put(&both, dssh_buf_ptr(&t->held), dssh_buf_len(&t->held));
		dssh_buf_put(&both, p, n);
		dssh_buf_reset(&t->held);
		tc_feed(t, dssh_buf_ptr(&both), dssh_buf_len(&both));
		dssh_buf_free(&both);
		return t->last_rc;
	}
	if (t->link_feed != NULL)
		t->last_rc = t->link_feed(t->link_arg, p, n);
	else if (t->shim != NULL)
		t->last_rc = shim_feed(t, p, n);
	else
		t->last_rc = dssh_conn_input(t->srv, p, n, t->now_ms);
	return t->last_rc;
}

int
tc_seal(struct tc *t, const uint8_t *payload, size_t len, struct dssh_buf *wire)
{
	struct tc_dir *d = &t->tx;
	size_t bs = d->sa ? dssh_crypto_sa_block_len(d->sa) : 8;
	size_t tag = d->sa ? dssh_crypto_sa_tag_len(d->sa) : 0;
	bool counted = d->sa ? dssh_crypto_sa_length_encrypted(d->sa) : true;
	size_t aligned = (counted ? 4 : 0) + 1 + len;
	size_t pad = bs - aligned % bs;
	uint8_t *p;
	int r;

	if (pad < 4)
		pad += bs;
	size_t plen = 1 + len + pad;

	if ((r = dssh_buf_reserve(wire, 4 + plen + tag, &p)) != 0)
		return r;
	dssh_put_u32be(p, (uint32_t)plen);
	p[4] = (uint8_t)pad;
	if (len > 0)
		memcpy(p + 5, payload, len);
	dssh_random(p + 5 + len, pad);
	if (d->sa != NULL) {
		struct dssh_crypto_op op = { .sa = d->sa, .pkt = p, .len = (uint32_t)(4 + plen),
		    .seq = d->seq };
		struct dssh_crypto_op *ops[1] = { &op };

		if ((r = dssh_crypto_process(t->engine, ops, 1)) != 0)
			return r;
	}
	d->seq++;
	return 0;
}

int
tc_send(struct tc *t, const uint8_t *payload, size_t len)
{
	struct dssh_buf w;
	int r;

	dssh_buf_init(&w, 0);
	if ((r = tc_seal(t, payload, len, &w)) == 0)
		r = tc_feed(t, dssh_buf_ptr(&w), dssh_buf_len(&w));
	dssh_buf_free(&w);
	return r;
}

int
tc_sendb(struct tc *t, const struct dssh_buf *payload)
{
	return tc_send(t, dssh_buf_ptr(payload), dssh_buf_len(payload));
}

static void
pull_output(struct tc *t)
{
	const uint8_t *p;
	size_t n;
	int r;

	if (t->link_pull != NULL) {
		if ((r = t->link_pull(t->link_arg)) != 0)
			t->last_rc = r;
		return;
	}
	if (t->shim != NULL) {
		if ((r = shim_pump(t)) != 0)
			t->last_rc = r;
		return;
	}
	dssh_conn_output(t->srv, &p, &n);
	if (n > 0 && dssh_buf_put(&t->in, p, n) == 0)
		dssh_conn_output_consume(t->srv, n);
}

static int
switch_rx(struct tc *t)
{
	struct dssh_crypto_sa *sa;
	int r;

	if (!t->rx_pending_set)
		return DSSH_ERR_PROTOCOL;
	r = dssh_crypto_sa_new(t->engine, &t->rx_pending, DSSH_CRYPTO_OPEN, &sa);
	dssh_wipe(&t->rx_pending, sizeof(t->rx_pending));
	t->rx_pending_set = false;
	if (r != 0)
		return r;
	dssh_crypto_sa_free(t->rx.sa);
	t->rx.sa = sa;
	if (t->strict)
		t->rx.seq = 0;
	return 0;
}

static void
note_message(struct tc *t, const uint8_t *p, size_t n)
{
	struct dssh_buf m;

	dssh_buf_from(&m, p + 1, n - 1);
	if (p[0] == SSH_MSG_DISCONNECT) {
		const uint8_t *d = NULL;
		size_t dl = 0;

		t->got_disconnect = true;
		dssh_buf_get_u32(&m, &t->disconnect_reason);
		dssh_buf_get_string_direct(&m, &d, &dl);
		snprintf(t->disconnect_msg, sizeof(t->disconnect_msg), "%.*s",
		    (int)DSSH_MIN(dl, (size_t)200), d ? (const char *)d : "");
	} else if (p[0] == SSH_MSG_EXT_INFO) {
		uint32_t count = 0;

		dssh_buf_get_u32(&m, &count);
		for (uint32_t i = 0; i < count; i++) {
			char *name = NULL, *val = NULL;

			if (dssh_buf_get_cstring(&m, &name, NULL) != 0)
				break;
			if (dssh_buf_get_cstring(&m, &val, NULL) != 0) {
				free(name);
				break;
			}
			if (strcmp(name, "server-sig-algs") == 0) {
				free(t->server_sig_algs);
				t->server_sig_algs = val;
				val = NULL;
			}
			free(name);
			free(val);
		}
	} else if (p[0] == SSH_MSG_KEXINIT) {
		dssh_buf_reset(&t->i_s);
		dssh_buf_put(&t->i_s, p, n);
		t->have_server_kexinit = true;
	}
}

int
tc_recv(struct tc *t, struct dssh_buf *payload)
{
	struct tc_dir *d = &t->rx;
	uint32_t plen;
	int r;

	dssh_buf_reset(payload);
	pull_output(t);
	size_t avail = dssh_buf_len(&t->in);
	size_t lb = d->sa ? dssh_crypto_sa_length_bytes(d->sa) : 4;
	size_t tag = d->sa ? dssh_crypto_sa_tag_len(d->sa) : 0;

	if (avail < lb)
		return DSSH_ERR_MSG_INCOMPLETE;
	if (d->sa != NULL) {
		if ((r = dssh_crypto_sa_peek_length(d->sa, d->seq, dssh_buf_ptr(&t->in), avail,
		    &plen)) != 0)
			return r;
	} else {
		plen = dssh_get_u32be(dssh_buf_ptr(&t->in));
	}
	if (plen < 5 || plen > TC_PACKET_MAX)
		return DSSH_ERR_INVALID_FORMAT;
	size_t total = 4 + (size_t)plen + tag;

	if (avail < total)
		return DSSH_ERR_MSG_INCOMPLETE;
	uint8_t *pkt = dssh_buf_mutable_ptr(&t->in);

	if (d->sa != NULL) {
		struct dssh_crypto_op op = { .sa = d->sa, .pkt = pkt, .len = 4 + plen, .seq = d->seq };
		struct dssh_crypto_op *ops[1] = { &op };

		if ((r = dssh_crypto_process(t->engine, ops, 1)) != 0)
			return r;
	}
	uint8_t padlen = pkt[4];

	if (padlen < 4 || (size_t)padlen + 2 > plen)
		return DSSH_ERR_INVALID_FORMAT;
	size_t len = plen - padlen - 1;

	r = dssh_buf_put(payload, pkt + 5, len);
	dssh_buf_consume(&t->in, total);
	d->seq++;
	if (r != 0)
		return r;
	note_message(t, dssh_buf_ptr(payload), len);
	if (dssh_buf_ptr(payload)[0] == SSH_MSG_NEWKEYS)
		return switch_rx(t);
	return 0;
}

int
tc_expect(struct tc *t, uint8_t want, struct dssh_buf *payload)
{
	int r;

	for (;;) {
		if ((r = tc_recv(t, payload)) != 0)
			return r;
		uint8_t type = dssh_buf_ptr(payload)[0];

		if (type == SSH_MSG_IGNORE || type == SSH_MSG_DEBUG || type == SSH_MSG_EXT_INFO)
			continue;
		if (type == want)
			return 0;
		if (type == SSH_MSG_DISCONNECT)
			return DSSH_ERR_CONN_CLOSED;
		return DSSH_ERR_PROTOCOL;
	}
}

void
tc_drain(struct tc *t)
{
	struct dssh_buf p;

	dssh_buf_init(&p, 0);
	while (tc_recv(t, &p) == 0)
		;
	dssh_buf_free(&p);
}

int
tc_version(struct tc *t)
{
	const uint8_t *p, *nl;
	size_t n;
	int r;

	if ((r = dssh_conn_start(t->srv, t->now_ms)) != 0)
		return r;
	if ((r = tc_feed(t, TC_VERSION "\r\n", strlen(TC_VERSION) + 2)) != 0)
		return r;
	/* Through the shim the line came as a RAW marker, now in t->in. */
	if (t->shim != NULL || t->link_pull != NULL) {
		pull_output(t);
		p = dssh_buf_ptr(&t->in);
		n = dssh_buf_len(&t->in);
	} else {
		dssh_conn_output(t->srv, &p, &n);
	}
	if ((nl = memchr(p, '\n', n)) == NULL)
		return DSSH_ERR_MSG_INCOMPLETE;
	size_t ll = (size_t)(nl - p);

	if (ll < 9 || p[ll - 1] != '\r' || memcmp(p, "SSH-2.0-", 8) != 0)
		return DSSH_ERR_INVALID_FORMAT;
	if ((t->v_s = dssh_strndup((const char *)p, ll - 1)) == NULL)
		return DSSH_ERR_ALLOC;
	if (t->shim != NULL || t->link_pull != NULL)
		dssh_buf_consume(&t->in, ll + 1);
	else
		dssh_conn_output_consume(t->srv, ll + 1);
	return 0;
}

static int
derive(const struct dssh_kex_alg *alg, const struct dssh_buf *K, const uint8_t *H, size_t hlen,
    const struct tc *t, const char *enc, const char *mac, const char *letters,
    struct dssh_crypto_keys *k)
{
	int r;

	memset(k, 0, sizeof(*k));
	if ((k->cipher = dssh_cipher_by_name(enc)) == NULL)
		return DSSH_ERR_NO_MATCH;
	k->mac = k->cipher->aead ? dssh_mac_by_id(DSSH_MAC_NONE) : dssh_mac_by_name(mac);
	if (k->mac == NULL)
		return DSSH_ERR_NO_MATCH;
	if (k->cipher->iv_len > 0 && (r = dssh_kex_derive(alg, K, H, hlen, t->session_id,
	    t->session_id_len, letters[0], k->iv, k->cipher->iv_len)) != 0)
		return r;
	if ((r = dssh_kex_derive(alg, K, H, hlen, t->session_id, t->session_id_len, letters[1],
	    k->key, k->cipher->key_len)) != 0)
		return r;
	if (k->mac->key_len > 0 && (r = dssh_kex_derive(alg, K, H, hlen, t->session_id,
	    t->session_id_len, letters[2], k->mac_key, k->mac->key_len)) != 0)
		return r;
	return 0;
}

int
tc_kex(struct tc *t)
{
	struct dssh_kexinit mine = { 0 }, theirs = { 0 };
	struct dssh_kex_result neg = { 0 };
	struct dssh_kex_client *kc = NULL;
	struct dssh_buf pl, qc, K, hb, msg, sigb;
	struct dssh_crypto_keys txk;
	struct dssh_crypto_sa *sa = NULL;
	const struct dssh_kex_alg *alg;
	const char *failed = NULL;
	uint8_t H[64];
	size_t hlen = sizeof(H);
	char kexlist[512];
	int r;

	dssh_buf_init(&pl, 0);
	dssh_buf_init(&qc, 0);
	dssh_buf_init(&K, 0);
	dssh_buf_init(&hb, 0);
	dssh_buf_init(&msg, 0);
	dssh_buf_init(&sigb, 0);
	memset(&txk, 0, sizeof(txk));
	snprintf(kexlist, sizeof(kexlist), "%s%s%s", t->conf.kex,
	    t->kex_done == 0 && t->conf.ext_info ? ",ext-info-c" : "",
	    t->kex_done == 0 && t->conf.strict ? ",kex-strict-c-v00@openssh.com" : "");
	const char *lists[KEX_SLOTS] = {
		kexlist, t->conf.hostkey, t->conf.cipher, t->conf.cipher,
		t->conf.mac, t->conf.mac, "none", "none", "", "",
	};

	if (t->kexinit_sent) {
		t->kexinit_sent = false;
	} else {
		dssh_buf_reset(&t->i_c);
		if ((r = dssh_kexinit_build(&t->i_c, lists)) != 0 ||
		    (r = tc_sendb(t, &t->i_c)) != 0)
			goto out;
	}
	while (!t->have_server_kexinit) {
		if ((r = tc_recv(t, &msg)) != 0)
			goto out;
		if (t->got_disconnect) {
			r = DSSH_ERR_CONN_CLOSED;
			goto out;
		}
	}
	t->have_server_kexinit = false;
	if ((r = dssh_kexinit_parse(dssh_buf_ptr(&t->i_c) + 1, dssh_buf_len(&t->i_c) - 1,
	    &mine)) != 0 ||
	    (r = dssh_kexinit_parse(dssh_buf_ptr(&t->i_s) + 1, dssh_buf_len(&t->i_s) - 1,
	    &theirs)) != 0 ||
	    (r = dssh_kex_choose(&mine, &theirs, &neg, &failed)) != 0)
		goto out;
	if (t->kex_done == 0)
		t->strict = t->conf.strict &&
		    dssh_namelist_has(theirs.lists[KEX_SLOT_KEX], "kex-strict-s-v00@openssh.com");
	if ((alg = dssh_kex_alg_by_name(neg.kex)) == NULL) {
		r = DSSH_ERR_NO_MATCH;
		goto out;
	}
	bool is_dh = alg->kind == DSSH_KEX_DH;

	if ((r = dssh_kex_client_new(alg, &kc)) != 0 ||
	    (r = dssh_kex_client_pub(kc, &qc)) != 0 ||
	    (r = dssh_buf_put_u8(&pl, SSH_MSG_KEX_ECDH_INIT)) != 0 ||
	    (r = dssh_buf_put(&pl, dssh_buf_ptr(&qc), dssh_buf_len(&qc))) != 0 ||
	    (r = tc_sendb(t, &pl)) != 0)
		goto out;
	if ((r = tc_expect(t, SSH_MSG_KEX_ECDH_REPLY, &msg)) != 0)
		goto out;

	struct dssh_buf m;
	const uint8_t *ks, *sp, *sig, *spub_start, *sig_alg_p, *sig_raw;
	size_t kslen, splen, siglen, spub_enc_len, sig_alg_len, sig_raw_len;

	dssh_buf_from(&m, dssh_buf_ptr(&msg) + 1, dssh_buf_len(&msg) - 1);
	if ((r = dssh_buf_get_string_direct(&m, &ks, &kslen)) != 0)
		goto out;
	spub_start = dssh_buf_ptr(&m);
	r = is_dh ? dssh_buf_get_mpint_direct(&m, &sp, &splen) :
	    dssh_buf_get_string_direct(&m, &sp, &splen);
	if (r != 0)
		goto out;
	spub_enc_len = (size_t)(dssh_buf_ptr(&m) - spub_start);
	if ((r = dssh_buf_get_string_direct(&m, &sig, &siglen)) != 0)
		goto out;
	if (dssh_buf_len(&m) != 0) {
		r = DSSH_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = dssh_kex_client_finish(kc, sp, splen, &K)) != 0)
		goto out;
	if ((r = dssh_buf_put_cstring(&hb, TC_VERSION)) != 0 ||
	    (r = dssh_buf_put_cstring(&hb, t->v_s)) != 0 ||
	    (r = dssh_buf_put_stringb(&hb, &t->i_c)) != 0 ||
	    (r = dssh_buf_put_stringb(&hb, &t->i_s)) != 0 ||
	    (r = dssh_buf_put_string(&hb, ks, kslen)) != 0 ||
	    (r = dssh_buf_put(&hb, dssh_buf_ptr(&qc), dssh_buf_len(&qc))) != 0 ||
	    (r = dssh_buf_put(&hb, spub_start, spub_enc_len)) != 0 ||
	    (r = dssh_buf_put(&hb, dssh_buf_ptr(&K), dssh_buf_len(&K))) != 0 ||
	    (r = dssh_kex_hash(alg, &hb, H, &hlen)) != 0)
		goto out;
	/* The host key signs H with the negotiated algorithm. */
	dssh_sshkey_free(t->hostkey);
	t->hostkey = NULL;
	dssh_buf_from(&sigb, sig, siglen);
	if ((r = dssh_sshkey_from_blob(ks, kslen, &t->hostkey)) != 0 ||
	    (r = dssh_buf_get_string_direct(&sigb, &sig_alg_p, &sig_alg_len)) != 0 ||
	    (r = dssh_buf_get_string_direct(&sigb, &sig_raw, &sig_raw_len)) != 0)
		goto out;
	if (sig_alg_len != strlen(neg.hostkey) || memcmp(sig_alg_p, neg.hostkey, sig_alg_len) != 0 ||
	    dssh_sshkey_verify(t->hostkey, neg.hostkey, sig, siglen, H, hlen) != 0) {
		r = DSSH_ERR_SIGNATURE_INVALID;
		goto out;
	}
	if (t->kex_done == 0) {
		memcpy(t->session_id, H, hlen);
		t->session_id_len = hlen;
	}
	/* Client: out = c->s (A, C, E), in = s->c (B, D, F). */
	if ((r = derive(alg, &K, H, hlen, t, neg.enc_cs, neg.mac_cs, "ACE", &txk)) != 0 ||
	    (r = derive(alg, &K, H, hlen, t, neg.enc_sc, neg.mac_sc, "BDF", &t->rx_pending)) != 0)
		goto out;
	t->rx_pending_set = true;
	static const uint8_t newkeys[1] = { SSH_MSG_NEWKEYS };

	r = t->hold_newkeys ? tc_seal(t, newkeys, 1, &t->held) : tc_send(t, newkeys, 1);
	if (r != 0 && r != DSSH_ERR_MSG_INCOMPLETE)
		goto out;
	if ((r = dssh_crypto_sa_new(t->engine, &txk, DSSH_CRYPTO_SEAL, &sa)) != 0)
		goto out;
	dssh_crypto_sa_free(t->tx.sa);
	t->tx.sa = sa;
	if (t->strict)
		t->tx.seq = 0;
	if ((r = tc_expect(t, SSH_MSG_NEWKEYS, &msg)) != 0)
		goto out;
	t->kex_done++;
	free(t->neg_kex);
	free(t->neg_cipher_cs);
	free(t->neg_cipher_sc);
	t->neg_kex = strdup(neg.kex);
	t->neg_cipher_cs = strdup(neg.enc_cs);
	t->neg_cipher_sc = strdup(neg.enc_sc);
out:
	dssh_kexinit_free(&mine);
	dssh_kexinit_free(&theirs);
	dssh_kex_result_free(&neg);
	dssh_kex_client_free(kc);
	dssh_wipe(H, sizeof(H));
	dssh_wipe(&txk, sizeof(txk));
	dssh_buf_free(&pl);
	dssh_buf_free(&qc);
	dssh_buf_free(&K);
	dssh_buf_free(&hb);
	dssh_buf_free(&msg);
	return r;
}

int
tc_service_request(struct tc *t)
{
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_SERVICE_REQUEST)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, "ssh-userauth")) == 0 &&
	    (r = tc_sendb(t, &b)) == 0)
		r = tc_expect(t, SSH_MSG_SERVICE_ACCEPT, &b);
	dssh_buf_free(&b);
	return r;
}

int
tc_auth_pubkey(struct tc *t, const char *user, struct dssh_sshkey *key, const char *sig_alg,
    struct dssh_sshkey *sign_with)
{
	struct dssh_buf blob, data, sig, req;
	int r;

	dssh_buf_init(&blob, 0);
	dssh_buf_init(&data, 0);
	dssh_buf_init(&sig, 0);
	dssh_buf_init(&req, 0);
	if ((r = dssh_sshkey_public_blob(key, &blob)) != 0 ||
	    (r = dssh_buf_put_string(&data, t->session_id, t->session_id_len)) != 0 ||
	    (r = dssh_buf_put_u8(&data, SSH_MSG_USERAUTH_REQUEST)) != 0 ||
	    (r = dssh_buf_put_cstring(&data, user)) != 0 ||
	    (r = dssh_buf_put_cstring(&data, "ssh-connection")) != 0 ||
	    (r = dssh_buf_put_cstring(&data, "publickey")) != 0 ||
	    (r = dssh_buf_put_bool(&data, true)) != 0 ||
	    (r = dssh_buf_put_cstring(&data, sig_alg)) != 0 ||
	    (r = dssh_buf_put_stringb(&data, &blob)) != 0 ||
	    (r = dssh_sshkey_sign(sign_with, sig_alg, dssh_buf_ptr(&data), dssh_buf_len(&data),
	    &sig)) != 0)
		goto out;
	if ((r = dssh_buf_put_u8(&req, SSH_MSG_USERAUTH_REQUEST)) != 0 ||
	    (r = dssh_buf_put_cstring(&req, user)) != 0 ||
	    (r = dssh_buf_put_cstring(&req, "ssh-connection")) != 0 ||
	    (r = dssh_buf_put_cstring(&req, "publickey")) != 0 ||
	    (r = dssh_buf_put_bool(&req, true)) != 0 ||
	    (r = dssh_buf_put_cstring(&req, sig_alg)) != 0 ||
	    (r = dssh_buf_put_stringb(&req, &blob)) != 0 ||
	    (r = dssh_buf_put_stringb(&req, &sig)) != 0)
		goto out;
	/* A refusal that ends the connection fails the feed; the reply says why. */
	tc_sendb(t, &req);
	for (;;) {
		if ((r = tc_recv(t, &req)) != 0)
			goto out;
		uint8_t type = dssh_buf_ptr(&req)[0];

		if (type == SSH_MSG_USERAUTH_SUCCESS) {
			r = 0;
			break;
		}
		if (type == SSH_MSG_USERAUTH_FAILURE) {
			r = DSSH_ERR_PERMISSION;
			break;
		}
		if (type == SSH_MSG_DISCONNECT) {
			r = DSSH_ERR_CONN_CLOSED;
			break;
		}
		if (type != SSH_MSG_IGNORE && type != SSH_MSG_EXT_INFO && type != SSH_MSG_DEBUG &&
		    type != SSH_MSG_USERAUTH_BANNER) {
			r = DSSH_ERR_PROTOCOL;
			break;
		}
	}
out:
	dssh_buf_free(&blob);
	dssh_buf_free(&data);
	dssh_buf_free(&sig);
	dssh_buf_free(&req);
	return r;
}

int
tc_open_session(struct tc *t, uint32_t window, uint32_t maxpacket)
{
	struct dssh_buf b, m;
	uint32_t recipient;
	int r;

	t->chan_local = 7;
	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_CHANNEL_OPEN)) != 0 ||
	    (r = dssh_buf_put_cstring(&b, "session")) != 0 ||
	    (r = dssh_buf_put_u32(&b, t->chan_local)) != 0 ||
	    (r = dssh_buf_put_u32(&b, window)) != 0 ||
	    (r = dssh_buf_put_u32(&b, maxpacket)) != 0 ||
	    (r = tc_sendb(t, &b)) != 0 ||
	    (r = tc_expect(t, SSH_MSG_CHANNEL_OPEN_CONFIRMATION, &b)) != 0)
		goto out;
	dssh_buf_from(&m, dssh_buf_ptr(&b) + 1, dssh_buf_len(&b) - 1);
	if ((r = dssh_buf_get_u32(&m, &recipient)) != 0 ||
	    (r = dssh_buf_get_u32(&m, &t->chan_remote)) != 0 ||
	    (r = dssh_buf_get_u32(&m, &t->remote_window)) != 0 ||
	    (r = dssh_buf_get_u32(&m, &t->remote_maxpacket)) != 0)
		goto out;
	if (recipient != t->chan_local)
		r = DSSH_ERR_PROTOCOL;
out:
	dssh_buf_free(&b);
	return r;
}

int
tc_exec(struct tc *t, const char *cmd)
{
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_CHANNEL_REQUEST)) == 0 &&
	    (r = dssh_buf_put_u32(&b, t->chan_remote)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, "exec")) == 0 &&
	    (r = dssh_buf_put_bool(&b, true)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, cmd)) == 0 &&
	    (r = tc_sendb(t, &b)) == 0)
		r = tc_expect(t, SSH_MSG_CHANNEL_SUCCESS, &b);
	dssh_buf_free(&b);
	return r;
}

int
tc_chan_data(struct tc *t, const uint8_t *p, size_t n)
{
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_CHANNEL_DATA)) == 0 &&
	    (r = dssh_buf_put_u32(&b, t->chan_remote)) == 0 &&
	    (r = dssh_buf_put_string(&b, p, n)) == 0)
		r = tc_sendb(t, &b);
	dssh_buf_free(&b);
	if (r == 0)
		t->remote_window -= (uint32_t)DSSH_MIN(n, (size_t)t->remote_window);
	return r;
}

int
tc_connect_all(struct tc *t, const char *user, struct dssh_sshkey *key, const char *sig_alg)
{
	int r;

	if ((r = tc_version(t)) != 0 || (r = tc_kex(t)) != 0 ||
	    (r = tc_service_request(t)) != 0 ||
	    (r = tc_auth_pubkey(t, user, key, sig_alg, key)) != 0 ||
	    (r = tc_open_session(t, 1u << 20, 32768)) != 0)
		return r;
	return tc_exec(t, "true");
}
