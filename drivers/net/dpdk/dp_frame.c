/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frames in and out of mbufs: the TX queue and its burst, lib/net's
 * transmit and TCP input callbacks, lib/tcp's buffer ops (received payload
 * and sealed packets held by reference), TCP segments built into mbuf
 * chains (payload copied or referenced by indirect mbufs, checksum and TSO
 * offload flags), and the impairment stages, which hold frames as mbufs.
 */
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dp_priv.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"

/* Impairment stage callbacks: packets are mbufs. */
static void
dp_imp_free(void *arg, void *pkt)
{
	(void)arg;
	rte_pktmbuf_free(pkt);
}

static void *
dp_imp_dup(void *arg, void *pkt)
{
	struct dp_core *c = arg;

	return rte_pktmbuf_copy(pkt, c->mp, 0, UINT32_MAX);
}

/* Frames queued for TX go through the stage; what it releases now goes out. */
static void
dp_tx_impair(struct dp_core *c)
{
	dssh_impair_push_burst(c->tx_imp, (void *const *)c->txq, c->ntx, c->now_us);
	c->ntx = dssh_impair_pop(c->tx_imp, c->now_us, (void **)c->txq, DP_TXQ_MAX);
}

void
dp_tx_flush(struct dp_core *c)
{
	uint16_t n;

	if (c->tx_imp != NULL)
		dp_tx_impair(c);
	if (c->ntx == 0)
		return;
	n = rte_eth_tx_burst(c->port, c->queue, c->txq, (uint16_t)c->ntx);
	if (n < c->ntx) {
		c->st.tx_queue_full += c->ntx - n;
		rte_pktmbuf_free_bulk(&c->txq[n], c->ntx - n);
	}
	c->ntx = 0;
}

/* lib/net tx callback: copy the frame into an mbuf and queue it for the burst. */
int
dp_tx(void *arg, const uint8_t *frame, size_t len, unsigned flags)
{
	struct dp_core *c = arg;
	struct rte_mbuf *m;
	char *p;

	if (c->ntx == DP_TXQ_MAX)
		dp_tx_flush(c);
	if ((m = rte_pktmbuf_alloc(c->mp)) == NULL) {
		c->st.tx_no_mbuf++;
		return -1;
	}
	if (len > UINT16_MAX || (p = rte_pktmbuf_append(m, (uint16_t)len)) == NULL) {
		rte_pktmbuf_free(m);
		return -1;
	}
	memcpy(p, frame, len);
	if (flags & DSSH_NET_TX_IP_CSUM) {
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
		m->l2_len = DSSH_NET_ETH_HLEN;
		m->l3_len = 20;
	}
	c->txq[c->ntx++] = m;
	return 0;
}

/*
 * lib/tcp buffer ops, for the receive queues (received frames) and the send
 * queues (sealed packets) alike: a piece holds a reference on its mbuf,
 * within the budget given as arg.
 */
static bool
dp_buf_hold(void *arg, void *buf)
{
	struct dp_mbuf_budget *b = arg;

	if (b->held >= b->max)
		return false;
	rte_mbuf_refcnt_update(buf, 1);
	b->held++;
	b->refs++;
	return true;
}

static void
dp_buf_release(void *arg, void *buf)
{
	struct dp_mbuf_budget *b = arg;

	b->held--;
	rte_pktmbuf_free(buf);
}

const struct dssh_tcp_buf_ops dp_buf_ops = {
	.hold = dp_buf_hold,
	.release = dp_buf_release,
};

/* lib/net TCP callback: one validated IPv4 TCP segment for us. */
int
dp_tcp_input(void *arg, struct dssh_net_ctx *ctx, uint32_t src, uint32_t dst,
    const uint8_t *seg, size_t len)
{
	struct dp_core *c = arg;
	struct dssh_tcp_seg_in in = { .saddr = src, .daddr = dst, .data = seg, .len = len };
	struct rte_mbuf *m = c->rx_m;

	(void)ctx;
	/* Payload by reference when the segment lies in the received frame's
	 * (single-segment) mbuf, not in a reassembly buffer. */
	if (m != NULL && m->nb_segs == 1 &&
	    (uintptr_t)seg >= rte_pktmbuf_mtod(m, uintptr_t) &&
	    len <= rte_pktmbuf_mtod(m, uintptr_t) + m->data_len - (uintptr_t)seg) {
		in.buf = m;
		in.buf_cost = (uint32_t)(m->buf_len + sizeof(struct rte_mbuf));
	}
	return dssh_tcp_input(c->tcp, &in, c->now_us);
}

/*
 * The copying path, through lib/net's IPv4 output: used while the next hop
 * is not resolved (lib/net holds the datagram for ARP) and for segments
 * the mbuf path could not take.
 */
static void
dp_tcp_output_copy(struct dp_core *c, const struct dssh_tcp_seg_out *o, uint64_t now_ms)
{
	size_t off = o->hdr_len;
	int r;

	if ((size_t)o->hdr_len + o->len > sizeof(c->segbuf) || o->tso_mss != 0) {
		c->tcp_tx_failed++;
		return;
	}
	memcpy(c->segbuf, o->hdr, o->hdr_len);
	for (unsigned k = 0; k < o->npay; k++) {
		memcpy(c->segbuf + off, o->pay[k], o->pay_len[k]);
		off += o->pay_len[k];
	}
	c->tx_copy_bytes += o->len;
	if (c->dp->tx_tcp_csum) {
		/*
		 * The stack left the pseudo-header sum for the NIC, but a
		 * datagram held for ARP leaves through dp_tx, which asks for
		 * no TCP offload: finish the sum here. (Unfinished, every
		 * segment held for a new neighbour, a first SYN-ACK above all,
		 * reached the peer with a bad checksum and was dropped there.)
		 */
		const uint8_t *pay = c->segbuf + o->hdr_len;
		uint32_t pay_len = o->len;
		uint16_t ck;

		c->segbuf[16] = c->segbuf[17] = 0;
		ck = dssh_tcp_checksum(o->saddr, o->daddr, c->segbuf, o->hdr_len, &pay, &pay_len, 1);
		c->segbuf[16] = (uint8_t)(ck >> 8);
		c->segbuf[17] = (uint8_t)ck;
	}
	r = dssh_net_ip_output(c->net, o->daddr, DSSH_NET_PROTO_TCP, c->segbuf, off, now_ms);
	/* Held for ARP (or lost): TCP retransmits what is not acknowledged. */
	if (r == DSSH_ERR_AGAIN)
		c->tcp_tx_held++;
	else if (r != 0)
		c->tcp_tx_failed++;
}

/* Appends len bytes to the chain whose last segment is *tail, adding
 * segments from the pool as they fill. false when the pool ran dry. */
static bool
dp_chain_append(struct dp_core *c, struct rte_mbuf *head, struct rte_mbuf **tail,
    const uint8_t *src, size_t len)
{
	while (len > 0) {
		struct rte_mbuf *t = *tail;
		/* never into the buffer an indirect segment references */
		size_t room = RTE_MBUF_DIRECT(t) ? rte_pktmbuf_tailroom(t) : 0, k;

		if (room == 0) {
			struct rte_mbuf *n = rte_pktmbuf_alloc(c->mp);

			if (n == NULL || head->nb_segs >= c->dp->tx_max_segs) {
				rte_pktmbuf_free(n);
				return false;
			}
			t->next = n;
			head->nb_segs++;
			*tail = t = n;
			room = rte_pktmbuf_tailroom(t);
		}
		k = DSSH_MIN(room, len);
		memcpy(rte_pktmbuf_mtod_offset(t, uint8_t *, t->data_len), src, k);
		t->data_len = (uint16_t)(t->data_len + k);
		head->pkt_len += (uint32_t)k;
		src += k;
		len -= k;
	}
	return true;
}

/* Appends an indirect mbuf for the len bytes at p of the mbuf buf. */
static bool
dp_chain_attach(struct dp_core *c, struct rte_mbuf *head, struct rte_mbuf **tail,
    struct rte_mbuf *buf, const uint8_t *p, uint32_t len)
{
	struct rte_mbuf *mi;

	if (head->nb_segs >= c->dp->tx_max_segs || (mi = rte_pktmbuf_alloc(c->ind_mp)) == NULL)
		return false;
	/* The frame's own reference: the packet stays while the NIC has the
	 * frame, even once TCP released it (acknowledged meanwhile). */
	rte_pktmbuf_attach(mi, buf);
	mi->data_off = (uint16_t)(p - (const uint8_t *)mi->buf_addr);
	mi->data_len = (uint16_t)len;
	mi->pkt_len = len;
	(*tail)->next = mi;
	*tail = mi;
	head->nb_segs++;
	head->pkt_len += len;
	return true;
}

/*
 * One segment into an mbuf chain: headers from lib/net and the TCP header
 * in the first mbuf, then the payload pieces. A piece in a sealed packet's
 * mbuf (pay_buf) is referenced by an indirect mbuf when the port takes
 * chains (by_ref); the stack's ring bytes, and every piece otherwise, are
 * copied once (a chain when TSO hands us more than one mbuf holds). The
 * offload flags follow what the port was set up with: IPv4 and TCP
 * checksums, TSO (tso_segsz); without TCP checksum offload lib/tcp summed
 * the pieces where they lie.
 */
static void
dp_tcp_frame(struct dp_core *c, const struct dssh_tcp_seg_out *o, uint64_t now_ms)
{
	uint8_t hdr[DSSH_NET_IPV4_HDRS];
	size_t l4 = (size_t)o->hdr_len + o->len;
	struct rte_mbuf *m, *tail;
	unsigned flags = 0;
	int r;

	r = dssh_net_ip_header(c->net, o->daddr, DSSH_NET_PROTO_TCP, l4, hdr, &flags, now_ms);
	if (r == DSSH_ERR_AGAIN && o->tso_mss == 0) {
		dp_tcp_output_copy(c, o, now_ms);
		return;
	}
	if (r != 0) {
		if (r == DSSH_ERR_AGAIN)
			c->tcp_tx_held++;
		else
			c->tcp_tx_failed++;
		return;
	}
	if (c->ntx == DP_TXQ_MAX)
		dp_tx_flush(c);
	for (bool by_ref = c->ind_mp != NULL && c->dp->tx_max_segs > 1; ; by_ref = false) {
		uint64_t ref = 0;
		bool ok;

		if ((m = rte_pktmbuf_alloc(c->mp)) == NULL) {
			c->st.tx_no_mbuf++;
			return;
		}
		tail = m;
		ok = dp_chain_append(c, m, &tail, hdr, sizeof(hdr)) &&
		    dp_chain_append(c, m, &tail, o->hdr, o->hdr_len);
		for (unsigned k = 0; ok && k < o->npay; k++) {
			if (by_ref && o->pay_buf[k] != NULL) {
				ok = dp_chain_attach(c, m, &tail, o->pay_buf[k], o->pay[k],
				    o->pay_len[k]);
				ref += o->pay_len[k];
			} else {
				ok = dp_chain_append(c, m, &tail, o->pay[k], o->pay_len[k]);
			}
		}
		if (ok) {
			c->tx_ref_bytes += ref;
			c->tx_copy_bytes += o->len - ref;
			break;
		}
		rte_pktmbuf_free(m);
		if (!by_ref) {
			c->st.tx_no_mbuf++;
			return;
		}
		/* out of indirect mbufs or chain length: copy this one */
	}
	m->l2_len = DSSH_NET_ETH_HLEN;
	m->l3_len = 20;
	m->l4_len = o->hdr_len;
	if (flags & DSSH_NET_TX_IP_CSUM)
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	if (c->dp->tx_tcp_csum)
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
	if (o->tso_mss != 0) {
		m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
		m->tso_segsz = o->tso_mss;
		c->st.tx_tso++;
	}
	if (m->nb_segs > 1)
		c->st.tx_chained++;
	c->txq[c->ntx++] = m;
}

/* Hands every segment the stack has ready to the port. */
void
dp_tcp_output(struct dp_core *c, uint64_t now_ms)
{
	struct dssh_tcp_seg_out segs[DP_TCP_BURST];
	unsigned n;

	do {
		n = dssh_tcp_output(c->tcp, segs, DP_TCP_BURST, c->now_us);
		for (unsigned i = 0; i < n; i++)
			dp_tcp_frame(c, &segs[i], now_ms);
	} while (n == DP_TCP_BURST);
}

/* The core's RX and TX impairment stages, each with a seed of its own. */
int
dp_impair_setup(struct dp_core *c, const struct dssh_impair_conf *conf)
{
	struct dssh_impair_conf ic = *conf;
	char spec[DSSH_IMPAIR_FORMAT_MAX];
	int r;

	if (!dssh_impair_enabled(conf))
		return 0;
	ic.seed = conf->seed * 4 + c->idx * 2;
	if ((r = dssh_impair_new(&ic, dp_imp_free, dp_imp_dup, c, &c->rx_imp)) != 0)
		return r;
	ic.seed++;
	if ((r = dssh_impair_new(&ic, dp_imp_free, dp_imp_dup, c, &c->tx_imp)) != 0)
		return r;
	(void)dssh_impair_format(conf, spec, sizeof(spec));
	dssh_info("data core %u: impairment on RX and TX: %s", c->idx, spec);
	return 0;
}
