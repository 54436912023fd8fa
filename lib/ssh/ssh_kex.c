/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Key exchange state machine, server side (RFC 4253 7-8, RFC 5656, RFC 8731,
 * RFC 8268), strict KEX (OpenSSH PROTOCOL, kex-strict-s-v00@openssh.com) and
 * EXT_INFO (RFC 8308).
 *
 *   KEXINIT out ──> KEXINIT in ──> ECDH_INIT in ──> ECDH_REPLY + NEWKEYS out
 *                                                     (outgoing keys switch)
 *               ──> NEWKEYS in (incoming keys switch once that packet is consumed)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_kex.h"
#include "dssh_log.h"
#include "dssh_sshkey.h"
#include "dssh_util.h"
#include "ssh_internal.h"

#define STRICT_KEX_S "kex-strict-s-v00@openssh.com"
#define STRICT_KEX_C "kex-strict-c-v00@openssh.com"
#define EXT_INFO_C "ext-info-c"

void
dssh_kex_cleanup(struct dssh_conn *c)
{
	dssh_kex_result_free(&c->neg);
	dssh_kex_client_cleanup(c);
	dssh_wipe(&c->pending_rx_keys, sizeof(c->pending_rx_keys));
	c->have_pending_rx = false;
}

/* Comma list of host-key algorithms we can sign with, config order, no repeats. */
static int
hostkey_alg_list(const struct dssh_ssh_conf *conf, struct dssh_buf *out)
{
	int r;

	for (unsigned i = 0; i < conf->n_hostkeys; i++) {
		const char *alg = conf->hostkeys[i].alg;
		bool dup = false;

		for (unsigned j = 0; j < i; j++)
			dup = dup || strcmp(conf->hostkeys[j].alg, alg) == 0;
		if (dup)
			continue;
		if (dssh_buf_len(out) > 0 && (r = dssh_buf_put_u8(out, ',')) != 0)
			return r;
		if ((r = dssh_buf_put(out, alg, strlen(alg))) != 0)
			return r;
	}
	return dssh_buf_put_u8(out, '\0');
}

/*
 * Compression offered: zlib@openssh.com (after authentication) as sshd
 * does, never "zlib" (inflate before authentication). Not where a data
 * core does the packet layer: it could not tell a compressed NEWKEYS from
 * other packets (docs/architecture.md, "Compression").
 */
static const char *
comp_list(const struct dssh_conn *c)
{
	return c->conf->compression && !c->rec_offload ? "none,zlib@openssh.com" : "none";
}

int
dssh_kex_start(struct dssh_conn *c)
{
	struct dssh_buf kexlist, hklist;
	int r;

	if (c->kex_sent_kexinit)
		return 0;
	dssh_buf_init(&kexlist, 0);
	dssh_buf_init(&hklist, 0);
	/* The strict-KEX marker goes in the first KEXINIT only. */
	if (dssh_is_client(c))
		r = dssh_kex_client_lists(c, &kexlist, &hklist);
	else if ((r = dssh_buf_putf(&kexlist, "%s%s", c->conf->kex_algs,
	    c->kex_count == 0 ? "," STRICT_KEX_S : "")) == 0 &&
	    (r = dssh_buf_put_u8(&kexlist, '\0')) == 0)
		r = hostkey_alg_list(c->conf, &hklist);
	if (r != 0)
		goto out;
	const char *lists[KEX_SLOTS] = {
		[KEX_SLOT_KEX] = (const char *)dssh_buf_ptr(&kexlist),
		[KEX_SLOT_HOSTKEY] = (const char *)dssh_buf_ptr(&hklist),
		[KEX_SLOT_ENC_CS] = c->conf->cipher_algs,
		[KEX_SLOT_ENC_SC] = c->conf->cipher_algs,
		[KEX_SLOT_MAC_CS] = c->conf->mac_algs,
		[KEX_SLOT_MAC_SC] = c->conf->mac_algs,
		[KEX_SLOT_COMP_CS] = comp_list(c),
		[KEX_SLOT_COMP_SC] = comp_list(c),
		[KEX_SLOT_LANG_CS] = "",
		[KEX_SLOT_LANG_SC] = "",
	};
	struct dssh_buf *ours = dssh_kexinit_ours(c);

	dssh_buf_reset(ours);
	if ((r = dssh_kexinit_build(ours, lists)) != 0 ||
	    (r = dssh_pkt_send(c, ours)) != 0)
		goto out;
	c->kex_sent_kexinit = true;
	c->kex_in_progress = true;
	if (c->kex_count > 0)
		dssh_verbose("%s: rekeying", c->log_id);
out:
	dssh_buf_free(&kexlist);
	dssh_buf_free(&hklist);
	return r;
}

static const struct dssh_ssh_hostkey *
find_hostkey(const struct dssh_ssh_conf *conf, const char *alg)
{
	for (unsigned i = 0; i < conf->n_hostkeys; i++)
		if (strcmp(conf->hostkeys[i].alg, alg) == 0)
			return &conf->hostkeys[i];
	return NULL;
}

static bool
first_names_equal(const char *a, const char *b)
{
	size_t na = strcspn(a, ","), nb = strcspn(b, ",");

	return na == nb && memcmp(a, b, na) == 0;
}

static int
kex_fail(struct dssh_conn *c, const char *fmt, const char *arg)
{
	char msg[200];

	snprintf(msg, sizeof(msg), fmt, arg);
	dssh_conn_fail(c, SSH_DISCONNECT_KEY_EXCHANGE_FAILED, "%s", msg);
	return DSSH_ERR_NO_MATCH;
}

static int
handle_kexinit(struct dssh_conn *c, struct dssh_buf *m)
{
	struct dssh_kexinit peer = { 0 }, ours = { 0 };
	struct dssh_buf *pk = dssh_kexinit_peers(c), *ok = dssh_kexinit_ours(c);
	bool client = dssh_is_client(c);
	const char *failed = NULL;
	int r;

	if (c->kex_rcvd_kexinit) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "duplicate KEXINIT");
		return DSSH_ERR_PROTOCOL;
	}
	dssh_buf_reset(pk);
	if ((r = dssh_buf_put_u8(pk, SSH_MSG_KEXINIT)) != 0 ||
	    (r = dssh_buf_put(pk, dssh_buf_ptr(m), dssh_buf_len(m))) != 0)
		return r;
	if ((r = dssh_kexinit_parse(dssh_buf_ptr(m), dssh_buf_len(m), &peer)) != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed KEXINIT");
		return r;
	}
	if (c->kex_count == 0) {
		c->strict_kex = dssh_namelist_has(peer.lists[KEX_SLOT_KEX],
		    client ? STRICT_KEX_S : STRICT_KEX_C);
		c->ext_info_c = !client && dssh_namelist_has(peer.lists[KEX_SLOT_KEX], EXT_INFO_C);
		if (c->strict_kex && c->rx.seq != 0) {
			dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR,
			    "strict KEX: KEXINIT was not the first packet");
			r = DSSH_ERR_PROTOCOL;
			goto out;
		}
	}
	if ((r = dssh_kex_start(c)) != 0)
		goto out;
	if ((r = dssh_kexinit_parse(dssh_buf_ptr(ok) + 1, dssh_buf_len(ok) - 1, &ours)) != 0)
		goto out;
	dssh_kex_result_free(&c->neg);
	/* RFC 4253 7.1: the client's order wins, whichever end we are. */
	if ((r = dssh_kex_choose(client ? &ours : &peer, client ? &peer : &ours, &c->neg,
	    &failed)) != 0) {
		r = kex_fail(c, "no matching %s found", failed);
		goto out;
	}
	if (dssh_kex_alg_by_name(c->neg.kex) == NULL) {
		r = kex_fail(c, "unsupported key exchange %s", c->neg.kex);
		goto out;
	}
	if (client) {
		if (dssh_sshkey_sig_alg_key_type(c->neg.hostkey) == DSSH_SSHKEY_UNKNOWN) {
			r = kex_fail(c, "unsupported host key algorithm %s", c->neg.hostkey);
			goto out;
		}
	} else if ((c->hostkey = find_hostkey(c->conf, c->neg.hostkey)) == NULL) {
		r = kex_fail(c, "no host key for %s", c->neg.hostkey);
		goto out;
	}
	if (peer.first_kex_follows &&
	    (!first_names_equal(peer.lists[KEX_SLOT_KEX], ours.lists[KEX_SLOT_KEX]) ||
	     !first_names_equal(peer.lists[KEX_SLOT_HOSTKEY], ours.lists[KEX_SLOT_HOSTKEY])))
		c->kex_ignore_guess = true;  /* RFC 4253 7: drop the wrong guess */
	c->kex_rcvd_kexinit = true;
	dssh_debug("%s: kex: %s host key %s cipher %s/%s mac %s/%s%s", c->log_id, c->neg.kex,
	    c->neg.hostkey, c->neg.enc_cs, c->neg.enc_sc,
	    c->neg.mac_cs[0] ? c->neg.mac_cs : "<implicit>",
	    c->neg.mac_sc[0] ? c->neg.mac_sc : "<implicit>",
	    c->strict_kex ? " strict" : "");
	if (client)
		r = dssh_kex_client_send_init(c);
out:
	dssh_kexinit_free(&peer);
	dssh_kexinit_free(&ours);
	return r;
}

static int
derive_dir(struct dssh_conn *c, const struct dssh_kex_alg *alg, const struct dssh_buf *K,
    const uint8_t *H, size_t hlen, const char *enc, const char *mac, const char letters[3],
    struct dssh_crypto_keys *keys)
{
	int r;

	memset(keys, 0, sizeof(*keys));
	if ((keys->cipher = dssh_cipher_by_name(enc)) == NULL)
		return DSSH_ERR_NO_MATCH;
	keys->mac = keys->cipher->aead ? dssh_mac_by_id(DSSH_MAC_NONE) : dssh_mac_by_name(mac);
	if (keys->mac == NULL)
		return DSSH_ERR_NO_MATCH;
	if (keys->cipher->iv_len > 0 &&
	    (r = dssh_kex_derive(alg, K, H, hlen, c->session_id, c->session_id_len, letters[0],
	    keys->iv, keys->cipher->iv_len)) != 0)
		return r;
	if ((r = dssh_kex_derive(alg, K, H, hlen, c->session_id, c->session_id_len, letters[1],
	    keys->key, keys->cipher->key_len)) != 0)
		return r;
	if (keys->mac->key_len > 0 &&
	    (r = dssh_kex_derive(alg, K, H, hlen, c->session_id, c->session_id_len, letters[2],
	    keys->mac_key, keys->mac->key_len)) != 0)
		return r;
	return 0;
}

static int
send_ext_info(struct dssh_conn *c)
{
	struct dssh_buf b;
	int r;

	dssh_buf_init(&b, 0);
	if ((r = dssh_buf_put_u8(&b, SSH_MSG_EXT_INFO)) == 0 &&
	    (r = dssh_buf_put_u32(&b, 1)) == 0 &&
	    (r = dssh_buf_put_cstring(&b, "server-sig-algs")) == 0 &&
	    (r = dssh_buf_put_cstring(&b, c->conf->pubkey_algs)) == 0)
		r = dssh_pkt_send(c, &b);
	dssh_buf_free(&b);
	c->sent_ext_info = r == 0;
	return r;
}

/* Send what was held back during the exchange, in order. */
static int
flush_deferred(struct dssh_conn *c)
{
	int r = 0;

	while (r == 0 && dssh_buf_len(&c->deferred) >= 4) {
		uint32_t n;

		dssh_buf_get_u32(&c->deferred, &n);
		r = dssh_pkt_send_raw(c, dssh_buf_ptr(&c->deferred), n);
		dssh_buf_consume(&c->deferred, n);
	}
	dssh_buf_reset(&c->deferred);
	return r;
}

int
dssh_kex_exchange_hash(struct dssh_conn *c, const struct dssh_kex_alg *alg, bool is_dh,
    const uint8_t *client_pub, size_t client_pub_len, const struct dssh_buf *K_S,
    const struct dssh_buf *server_pub_enc, const struct dssh_buf *K, uint8_t *H, size_t *hlen)
{
	struct dssh_buf hb;
	int r;

	dssh_buf_init(&hb, 0);
	if ((r = dssh_buf_put_cstring(&hb, c->v_c)) != 0 ||
	    (r = dssh_buf_put_cstring(&hb, c->v_s)) != 0 ||
	    (r = dssh_buf_put_stringb(&hb, &c->i_c)) != 0 ||
	    (r = dssh_buf_put_stringb(&hb, &c->i_s)) != 0 ||
	    (r = dssh_buf_put_stringb(&hb, K_S)) != 0 ||
	    (r = is_dh ? dssh_buf_put_mpint_bytes(&hb, client_pub, client_pub_len) :
	    dssh_buf_put_string(&hb, client_pub, client_pub_len)) != 0 ||
	    (r = dssh_buf_put(&hb, dssh_buf_ptr(server_pub_enc), dssh_buf_len(server_pub_enc))) != 0 ||
	    (r = dssh_buf_put(&hb, dssh_buf_ptr(K), dssh_buf_len(K))) != 0)
		goto out;
	r = dssh_kex_hash(alg, &hb, H, hlen);
out:
	dssh_buf_free(&hb);
	return r;
}

/*
 * Keys from K and H (RFC 4253 7.2), letters by role: client->server is
 * A, C, E; server->client B, D, F. Our NEWKEYS goes out and the outgoing
 * keys switch behind it; the incoming ones wait for the peer's NEWKEYS.
 */
int
dssh_kex_newkeys(struct dssh_conn *c, const struct dssh_kex_alg *alg,
    const struct dssh_buf *K, const uint8_t *H, size_t hlen)
{
	static const uint8_t newkeys[1] = { SSH_MSG_NEWKEYS };
	struct dssh_crypto_keys tx_keys;
	bool client = dssh_is_client(c);
	int r;

	memset(&tx_keys, 0, sizeof(tx_keys));
	if ((r = derive_dir(c, alg, K, H, hlen, client ? c->neg.enc_sc : c->neg.enc_cs,
	    client ? c->neg.mac_sc : c->neg.mac_cs, client ? "BDF" : "ACE",
	    &c->pending_rx_keys)) != 0 ||
	    (r = derive_dir(c, alg, K, H, hlen, client ? c->neg.enc_cs : c->neg.enc_sc,
	    client ? c->neg.mac_cs : c->neg.mac_sc, client ? "ACE" : "BDF", &tx_keys)) != 0)
		goto out;
	c->have_pending_rx = true;
	if ((r = dssh_pkt_send_raw(c, newkeys, 1)) != 0 ||
	    (r = dssh_pkt_set_keys(c, DSSH_CRYPTO_SEAL, &tx_keys, c->strict_kex)) != 0)
		goto out;
	c->kex_awaiting_newkeys = true;
	c->kex_in_progress = false;
	if (!client && c->kex_count == 0 && c->ext_info_c && !c->sent_ext_info &&
	    (r = send_ext_info(c)) != 0)
		goto out;
	r = flush_deferred(c);
out:
	dssh_wipe(&tx_keys, sizeof(tx_keys));
	return r;
}

static int
handle_kex_init(struct dssh_conn *c, struct dssh_buf *m)
{
	struct dssh_buf spub, K, K_S, sig, reply;
	const struct dssh_kex_alg *alg;
	const uint8_t *cpub;
	uint8_t H[64];
	size_t cpub_len, hlen = sizeof(H);
	int r;

	if (!c->kex_rcvd_kexinit || c->kex_awaiting_newkeys || dssh_is_client(c)) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "unexpected KEX_ECDH_INIT");
		return DSSH_ERR_PROTOCOL;
	}
	alg = dssh_kex_alg_by_name(c->neg.kex);
	/* e is an mpint (DH); Q_C / C_INIT a string. */
	bool is_dh = alg != NULL && alg->pub_mpint;

	dssh_buf_init(&spub, 0);
	dssh_buf_init(&K, 0);
	dssh_buf_init(&K_S, 0);
	dssh_buf_init(&sig, 0);
	dssh_buf_init(&reply, 0);
	r = is_dh ? dssh_buf_get_mpint_direct(m, &cpub, &cpub_len) :
	    dssh_buf_get_string_direct(m, &cpub, &cpub_len);
	if (r != 0 || dssh_buf_len(m) != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "malformed key exchange init");
		r = DSSH_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = dssh_kex_server_reply(alg, cpub, cpub_len, &spub, &K)) != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_KEY_EXCHANGE_FAILED,
		    "key exchange failed: %s", dssh_err_str(r));
		goto out;
	}
	if (c->hostkey->cert_blob != NULL)
		r = dssh_buf_put(&K_S, c->hostkey->cert_blob, c->hostkey->cert_len);
	else
		r = dssh_sshkey_public_blob(c->hostkey->key, &K_S);
	if (r != 0 ||
	    (r = dssh_kex_exchange_hash(c, alg, is_dh, cpub, cpub_len, &K_S, &spub, &K, H, &hlen)) != 0)
		goto out;
	if (c->kex_count == 0) {
		memcpy(c->session_id, H, hlen);
		c->session_id_len = hlen;
	}
	if (c->hostkey->sign != NULL)
		r = c->hostkey->sign(c->hostkey->sign_arg, c->hostkey->key,
		    c->hostkey->sig_alg != NULL ? c->hostkey->sig_alg : c->hostkey->alg, H, hlen, &sig);
	else
		r = dssh_sshkey_sign(c->hostkey->key, c->hostkey->sig_alg != NULL ?
		    c->hostkey->sig_alg : c->hostkey->alg, H, hlen, &sig);
	if (r != 0)
		goto out;
	if ((r = dssh_buf_put_u8(&reply, SSH_MSG_KEX_ECDH_REPLY)) != 0 ||
	    (r = dssh_buf_put_stringb(&reply, &K_S)) != 0 ||
	    (r = dssh_buf_put(&reply, dssh_buf_ptr(&spub), dssh_buf_len(&spub))) != 0 ||
	    (r = dssh_buf_put_stringb(&reply, &sig)) != 0 ||
	    (r = dssh_pkt_send(c, &reply)) != 0)
		goto out;
	r = dssh_kex_newkeys(c, alg, &K, H, hlen);
out:
	if (r != 0 && r != DSSH_ERR_PROTOCOL && !dssh_conn_closing(c))
		dssh_conn_fail(c, SSH_DISCONNECT_KEY_EXCHANGE_FAILED, "key exchange: %s",
		    dssh_err_str(r));
	dssh_wipe(H, sizeof(H));
	dssh_buf_free(&spub);
	dssh_buf_free(&K);
	dssh_buf_free(&K_S);
	dssh_buf_free(&sig);
	dssh_buf_free(&reply);
	return r;
}

static int
handle_newkeys(struct dssh_conn *c, struct dssh_buf *m)
{
	if (!c->kex_awaiting_newkeys || !c->have_pending_rx || dssh_buf_len(m) != 0) {
		dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "unexpected NEWKEYS");
		return DSSH_ERR_PROTOCOL;
	}
	c->kex_awaiting_newkeys = false;
	c->rx_switch_pending = true;    /* once this packet is consumed */
	return 0;
}

int
dssh_kex_after_rx_packet(struct dssh_conn *c)
{
	int r;

	if (!c->rx_switch_pending)
		return 0;
	c->rx_switch_pending = false;
	r = dssh_pkt_set_keys(c, DSSH_CRYPTO_OPEN, &c->pending_rx_keys, c->strict_kex);
	dssh_wipe(&c->pending_rx_keys, sizeof(c->pending_rx_keys));
	c->have_pending_rx = false;
	if (r != 0)
		return r;
	c->kex_count++;
	c->kex_rcvd_kexinit = false;
	c->kex_sent_kexinit = false;
	c->kex_time_ms = c->now_ms;
	dssh_buf_reset(&c->i_c);
	dssh_buf_reset(&c->i_s);
	dssh_verbose("%s: key exchange %u done: %s, %s", c->log_id, c->kex_count, c->neg.kex,
	    c->neg.enc_sc);
	dssh_chan_kex_done(c);
	if (dssh_is_client(c) && c->kex_count == 1)
		return dssh_auth_client_start(c);
	return 0;
}

int
dssh_kex_dispatch(struct dssh_conn *c, uint8_t type, struct dssh_buf *m)
{
	switch (type) {
	case SSH_MSG_KEXINIT:
		return handle_kexinit(c, m);
	case SSH_MSG_KEX_ECDH_INIT:
		return handle_kex_init(c, m);
	case SSH_MSG_KEX_ECDH_REPLY:
		if (dssh_is_client(c))
			return dssh_kex_client_reply(c, m);
		break;
	case SSH_MSG_NEWKEYS:
		return handle_newkeys(c, m);
	default:
		break;
	}
	dssh_conn_fail(c, SSH_DISCONNECT_PROTOCOL_ERROR, "unexpected kex message %u", type);
	return DSSH_ERR_PROTOCOL;
}

int
dssh_kex_check_rekey(struct dssh_conn *c)
{
	uint64_t limit = c->conf->rekey_bytes ? c->conf->rekey_bytes : DSSH_DEFAULT_REKEY_BYTES;
	uint32_t secs = c->conf->rekey_seconds;

	if (c->state != CONN_TRANSPORT || c->kex_count == 0 || c->kex_sent_kexinit ||
	    c->kex_rcvd_kexinit || c->kex_awaiting_newkeys)
		return 0;
	if (c->rx.bytes >= limit || c->tx.bytes >= limit ||
	    c->rx.packets >= (1ull << 31) || c->tx.packets >= (1ull << 31) ||
	    (secs > 0 && c->now_ms - c->kex_time_ms >= (uint64_t)secs * 1000))
		return dssh_kex_start(c);
	return 0;
}
