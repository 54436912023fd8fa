/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_spinlock.h>
#include <rte_telemetry.h>
#include <rte_thash.h>

#include "dp_idle.h"
#include "dp_stream.h"
#include "dssh_dpdk.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_net.h"
#include "dssh_tcp.h"
#include "dssh_util.h"

#define DP_BURST 32
#define DP_TXQ_MAX 64
#define DP_NB_RXD 1024
#define DP_NB_TXD 1024
#define DP_RING_SIZE 1024
#define DP_MAX_CORES 64
#define DP_MAX_ARGS 64
#define DP_MBUF_CACHE 256
#define DP_TICK_MS 10
#define DP_ARP_MIRROR 64
#define DP_INTR_AFTER 16           /* empty polls before blocking on RX interrupts */
#define DP_BLOCK_AFTER_US 50       /* ... and microseconds the queue stayed empty */
#define DP_INTR_WAIT_MAX_MS 100    /* longest block: the tick's chores wait that long */
#define DP_TSO_MAX 65000          /* payload of one TSO frame (IPv4 length: 16 bits) */
#define DP_TCP_BURST 32
/*
 * Sealed SSH packets are held by TCP in mbufs of their own pool: one packet
 * per buffer (the crypto burst seals contiguous bytes), up to a channel
 * packet of 32 KiB plus its framing; larger ones are sealed in the TCP ring.
 * The MTU-sized buffers of the main pool would need a packet cut across a
 * chain, so the pool is separate and bounded: DP_TXBUF_PER_CORE buffers per
 * data core, of which TCP may hold all but what bursts and frames still
 * queued in the NIC (they reference acknowledged packets too) may need.
 */
#define DP_TXBUF_ROOM (34u * 1024)
#define DP_TXBUF_PER_CORE 256u
#define DP_TXBUF_SPARE 96u
/* Indirect mbufs attached to payload buffers: one per piece of a frame. */
#define DP_TXIND_PER_CORE (4u * (DP_NB_TXD + DP_TXQ_MAX))
#define DP_TCP_EVENTS 64

/* Messages between control and data lcores, by value through rte_ring (16 bytes). */
enum dp_msg_type {
	DP_MSG_ARP_LEARNED = 1,   /* data → control, and control → other data cores */
};
struct dp_msg {
	uint16_t type;
	uint16_t from;            /* data core index */
	uint32_t ip;
	uint8_t mac[6];
	uint8_t pad[2];
};

/* Counters the driver adds to lib/net's. */
struct dp_core_stats {
	uint64_t busy_polls, idle_polls;
	uint64_t tx_queue_full;   /* frames the PMD did not take */
	uint64_t tx_no_mbuf;
	uint64_t rx_nonlinear;    /* multi-segment frames that could not be linearised */
	uint64_t ring_full;
	uint64_t idle_sleeps;     /* adaptive polling: sleeps between empty polls */
	uint64_t bulk_sleeps;     /* ... of them, sleeps inside a transfer (dp_idle.h) */
	uint64_t sleep_us;        /* ... and the microseconds they asked for */
	uint64_t intr_waits;      /* adaptive polling: blocks on RX interrupts / the bell */
	uint64_t tx_tso;          /* TSO frames handed to the port */
	uint64_t tx_chained;      /* frames sent as multi-segment mbufs */
};

/* TCP counters (lib/tcp's plus the driver's); the order matches DP_TCP_FIELDS. */
struct dp_tcp_pub {
	uint64_t tcp_conns_opened, tcp_conns_closed, tcp_conns_reset, tcp_conns_timedout;
	uint64_t tcp_conns_active;      /* owned by the echo service now */
	uint64_t tcp_in_segs, tcp_out_segs, tcp_retransmits, tcp_rto_expired;
	uint64_t tcp_fast_retransmits, tcp_rst_sent, tcp_rst_rcvd, tcp_in_bad;
	uint64_t tcp_tx_held;           /* segments that waited for (or lost to) ARP */
	uint64_t tcp_tx_failed;
	uint64_t tcp_echo_bytes;        /* bytes echoed by the built-in service */
	uint64_t tcp_rx_held;           /* mbufs TCP receive queues hold now */
	uint64_t tcp_rx_refs;           /* references taken on received mbufs (zero copy) */
	uint64_t tcp_spurious_recoveries;   /* recovery episodes undone (RFC 9438 4.9) */
	uint64_t tcp_tx_bufs;           /* mbufs TCP send queues hold now (sealed packets) */
	uint64_t tcp_tx_ref_bytes;      /* payload bytes framed by reference (indirect mbufs) */
	uint64_t tcp_tx_copy_bytes;     /* payload bytes copied into frames */
	uint64_t stream_opened, stream_refused, stream_closed, stream_gone, stream_active;
	uint64_t stream_rx_bytes, stream_tx_bytes;   /* to / from the control thread */
	/* The SSH packet layer on this core: packets opened/sealed, bursts and
	 * their ops (mean burst = ops / bursts), input or output failures. */
	uint64_t ssh_rx_packets, ssh_tx_packets, ssh_bursts, ssh_burst_ops, ssh_errors;
	/* Channel offload: channels this core moved, data bytes it wrote to
	 * children's stdin and read from their stdout/stderr. */
	uint64_t chan_offloads, chan_rx_bytes, chan_tx_bytes, chan_queued;
	uint64_t chan_connects, chan_connect_fail, chan_connect_timeout, chan_tcp_active;
	uint64_t impair_in, impair_dropped, impair_duplicated, impair_reordered;
	uint64_t impair_delayed, impair_overflow, impair_held;   /* rx and tx stages */
};

/* Published copy of the counters: written by the core with relaxed atomic stores, read by telemetry. */
struct dp_published {
	struct dssh_net_stats net;
	struct dp_core_stats core;
	struct dp_tcp_pub tcp;
};

struct dp;

/* mbufs a core's TCP queues hold by reference, at most max (past it lib/tcp
 * copies the bytes instead), and how many references were ever taken. */
struct dp_mbuf_budget {
	uint32_t held, max;
	uint64_t refs;
};

struct dp_core {
	unsigned idx;
	unsigned lcore;
	uint16_t port, queue;
	struct dp *dp;
	struct dssh_net_ctx *net;
	struct dssh_tcp_stack *tcp;
	uint16_t echo_port;       /* 0: no echo service */
	bool has_streams;         /* stream service (dsshd's SSH) on stream_ports */
	bool tcp_keepalive;       /* their connections get keepalives */
	struct dssh_impair *rx_imp, *tx_imp;   /* NULL: no impairment */
	struct dp_streams streams;
	bool rx_intr;             /* waits on RX interrupts and the bell when idle */
	int rx_sock;              /* net_af_packet: the queue's socket to poll, else -1 */
	int rx_sig_fd;            /* net_tap: the queue's fd, which signals frames, else -1 */
	int rx_sig;               /* ... and the signal it sends */
	struct rte_epoll_event bell_ev;
	struct rte_epoll_event chan_ev;   /* the channel fds' epoll (dp_streams_chan_fd) */
	unsigned chan_skip;       /* polls since the channel fds were last looked at */
	uint64_t now_us;          /* the clock of the current poll */
	uint64_t idle_since_us;   /* the last poll that found work */
	struct dp_idle_pol idle;  /* timed sleeps where the core cannot block (dp_idle.h) */
	uint64_t tcp_active, tcp_tx_held, tcp_tx_failed, tcp_echo_bytes;
	uint8_t segbuf[DSSH_NET_FRAME_MAX];
	struct rte_mempool *mp;
	/* Received payload stays in its mbuf (lib/tcp holds a reference per
	 * piece): the frame being processed, and the receive queues' budget. */
	struct rte_mbuf *rx_m;
	struct dp_mbuf_budget rxb;
	/* Sealed packets in TCP send queues (mbufs of dp.txbuf_mp), their
	 * budget. Frames reference them through indirect mbufs of ind_mp. */
	struct dp_mbuf_budget txb;
	struct rte_mempool *ind_mp;     /* NULL: frames copy the payload */
	uint64_t tx_ref_bytes, tx_copy_bytes;
	struct rte_ring *to_ctrl, *from_ctrl;
	struct rte_mbuf *txq[DP_TXQ_MAX];
	unsigned ntx;
	struct dp_core_stats st;
	struct dp_published pub;
	int stop;                 /* set by control (release), read by the core (acquire) */
} __rte_cache_aligned;

struct dp_arp_mirror {
	uint32_t ip;
	uint8_t mac[6];
	uint64_t seen_ms;
};

struct dp {
	uint16_t port;
	unsigned ncores;
	struct dp_core *cores;
	struct rte_mempool *mp;
	uint64_t tsc_per_ms, tsc_per_us;
	bool rx_csum, tx_csum;
	bool tx_tcp_csum;         /* TCP checksum offload (the stack leaves the pseudo-header sum) */
	bool tso;                 /* TCP segmentation offload with multi-segment mbufs */
	uint16_t tx_max_segs;     /* longest mbuf chain the PMD takes */
	uint16_t tso_mss_cut;     /* MSS reduction a PMD's TSO needs (see dp_port_setup) */
	unsigned rx_hold_per_core;   /* mbufs a core's TCP receive queues may hold */
	struct rte_mempool *txbuf_mp;   /* sealed packets (NULL: none, in the TCP ring) */
	struct rte_mempool *ind_mp;     /* indirect mbufs for frames by reference */
	bool adaptive_poll;
	bool rx_intr;             /* the port was configured with RX queue interrupts */
	bool af_packet;           /* net_af_packet: RX readiness from its sockets */
	/*
	 * Active opens (forwarding targets, CHAN_CONNECT) need the replies on
	 * the connecting core's queue: with one queue any port does; with
	 * more, the port's Toeplitz key and redirection table pick the source
	 * port (dp_port_ok). active_ok false: no way to know (a PMD that
	 * spreads frames its own way): the cores refuse such connects.
	 */
	bool active_ok;
	uint8_t rss_key[64];
	uint8_t rss_key_len;
	uint16_t reta_size;
	uint16_t reta[RTE_ETH_RSS_RETA_SIZE_512];
	rte_spinlock_t arp_lock;  /* control lcore vs telemetry thread */
	struct dp_arp_mirror arp[DP_ARP_MIRROR];
};

/*
 * Telemetry callbacks take no user argument in DPDK 22.11: the one running
 * data plane is reachable through this pointer, on the management path only.
 */
static rte_spinlock_t dp_tel_lock = RTE_SPINLOCK_INITIALIZER;
static struct dp *dp_tel;

static uint64_t
dp_now_ms(const struct dp *dp)
{
	return rte_rdtsc() / dp->tsc_per_ms;
}

static uint64_t
dp_now_us(const struct dp *dp)
{
	return rte_rdtsc() / dp->tsc_per_us;
}

static void
dp_tcp_collect(const struct dp_core *c, struct dp_tcp_pub *t)
{
	struct dssh_tcp_stats ts;

	memset(t, 0, sizeof(*t));
	if (c->tcp == NULL)
		return;
	dssh_tcp_get_stats(c->tcp, &ts);
	t->tcp_conns_opened = ts.conns_opened;
	t->tcp_conns_closed = ts.conns_closed;
	t->tcp_conns_reset = ts.conns_reset;
	t->tcp_conns_timedout = ts.conns_timedout;
	t->tcp_conns_active = c->tcp_active;
	t->tcp_in_segs = ts.in_segs;
	t->tcp_out_segs = ts.out_segs;
	t->tcp_retransmits = ts.retransmits;
	t->tcp_rto_expired = ts.rto_expired;
	t->tcp_fast_retransmits = ts.fast_retransmits;
	t->tcp_rst_sent = ts.rst_sent;
	t->tcp_rst_rcvd = ts.rst_rcvd;
	t->tcp_in_bad = ts.in_bad_csum + ts.in_bad_hdr + ts.in_bad_opt;
	t->tcp_tx_held = c->tcp_tx_held;
	t->tcp_tx_failed = c->tcp_tx_failed;
	t->tcp_echo_bytes = c->tcp_echo_bytes;
	t->tcp_rx_held = c->rxb.held;
	t->tcp_rx_refs = c->rxb.refs;
	t->tcp_spurious_recoveries = ts.spurious_recoveries;
	t->tcp_tx_bufs = c->txb.held;
	t->tcp_tx_ref_bytes = c->tx_ref_bytes;
	t->tcp_tx_copy_bytes = c->tx_copy_bytes;
	t->stream_opened = c->streams.opened;
	t->stream_refused = c->streams.refused;
	t->stream_closed = c->streams.closed;
	t->stream_gone = c->streams.gone;
	t->stream_active = c->streams.active;
	t->stream_rx_bytes = c->streams.rx_bytes;
	t->stream_tx_bytes = c->streams.tx_bytes;
	const struct dssh_recpump_stats *ps = dp_streams_pump_stats(&c->streams);

	t->stream_rx_bytes += ps->rx_bytes;
	t->stream_tx_bytes += ps->tx_bytes;
	t->ssh_rx_packets = ps->rx_packets;
	t->ssh_tx_packets = ps->tx_packets;
	t->ssh_bursts = ps->bursts;
	t->ssh_burst_ops = ps->burst_ops;
	t->ssh_errors = ps->errors;
	t->chan_offloads = ps->chan_offloads;
	t->chan_rx_bytes = ps->chan_rx_bytes;
	t->chan_tx_bytes = ps->chan_tx_bytes;
	t->chan_queued = ps->chan_queued;
	t->chan_connects = ps->chan_connects;
	t->chan_connect_fail = ps->chan_connect_fail;
	t->chan_connect_timeout = ps->chan_connect_timeout;
	t->chan_tcp_active = ps->chan_tcp_active;
	const struct dssh_impair *stages[2] = { c->rx_imp, c->tx_imp };

	for (int k = 0; k < 2; k++) {
		struct dssh_impair_stats is;

		if (stages[k] == NULL)
			continue;
		dssh_impair_get_stats(stages[k], &is);
		t->impair_in += is.in;
		t->impair_dropped += is.dropped;
		t->impair_duplicated += is.duplicated;
		t->impair_reordered += is.reordered;
		t->impair_delayed += is.delayed;
		t->impair_overflow += is.overflow;
		t->impair_held += is.held;
	}
}

static void
dp_publish(struct dp_core *c)
{
	const uint64_t *src = (const uint64_t *)dssh_net_stats(c->net);
	uint64_t *dst = (uint64_t *)&c->pub.net;
	struct dp_tcp_pub t;

	for (size_t i = 0; i < sizeof(c->pub.net) / sizeof(uint64_t); i++)
		__atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
	src = (const uint64_t *)&c->st;
	dst = (uint64_t *)&c->pub.core;
	for (size_t i = 0; i < sizeof(c->pub.core) / sizeof(uint64_t); i++)
		__atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
	dp_tcp_collect(c, &t);
	src = (const uint64_t *)&t;
	dst = (uint64_t *)&c->pub.tcp;
	for (size_t i = 0; i < sizeof(c->pub.tcp) / sizeof(uint64_t); i++)
		__atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
}

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

static void
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
static int
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

static void
dp_arp_learned(void *arg, uint32_t ip, const uint8_t mac[6])
{
	struct dp_core *c = arg;
	struct dp_msg msg = { .type = DP_MSG_ARP_LEARNED, .from = (uint16_t)c->idx, .ip = ip };

	memcpy(msg.mac, mac, 6);
	/* Single producer (this core); the ring's release/acquire orders the payload. */
	if (rte_ring_enqueue_elem(c->to_ctrl, &msg, sizeof(msg)) != 0)
		c->st.ring_full++;
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

static const struct dssh_tcp_buf_ops dp_buf_ops = {
	.hold = dp_buf_hold,
	.release = dp_buf_release,
};

/* lib/net TCP callback: one validated IPv4 TCP segment for us. */
static int
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
static void
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

/* Echo service: send back what was received, as far as the send buffer takes it. */
static void
dp_echo_pump(struct dp_core *c, struct dssh_tcp_conn *conn)
{
	for (;;) {
		const uint8_t *ptr[2];
		size_t len[2];
		unsigned np = dssh_tcp_peek(conn, ptr, len);
		ssize_t sent;

		if (np == 0 || len[0] == 0)
			break;
		if ((sent = dssh_tcp_send(conn, ptr[0], len[0])) <= 0)
			break;
		(void)dssh_tcp_consume(conn, (size_t)sent);
		c->tcp_echo_bytes += (uint64_t)sent;
		if ((size_t)sent < len[0])
			break;
	}
}

/* An accepted connection goes to the service that listens on its port. */
static void
dp_tcp_accepted(struct dp_core *c, struct dssh_tcp_conn *conn)
{
	struct dssh_tcp_conn_info ti;

	dssh_tcp_conn_get_info(conn, &ti);
	if (c->has_streams && ti.lport != c->echo_port) {
		if (c->tcp_keepalive)
			dssh_tcp_set_keepalive(conn, true, c->now_us);
		dp_streams_accept(&c->streams, conn, c->now_us);
		return;
	}
	c->tcp_active++;
	dssh_tcp_set_udata(conn, c);
}

/* The echo service's connections carry the core as udata. */
static void
dp_echo_event(struct dp_core *c, struct dssh_tcp_conn *conn, uint32_t e)
{
	if (e & (DSSH_TCP_EV_RESET | DSSH_TCP_EV_CLOSED)) {
		/* Gone (or finished): release it to the stack. */
		dssh_tcp_close(conn, c->now_us);
		c->tcp_active--;
		return;
	}
	dp_echo_pump(c, conn);
	if (dssh_tcp_eof(conn)) {
		/* The peer closed and we have read everything: FIN after the echo. */
		dssh_tcp_close(conn, c->now_us);
		c->tcp_active--;
	}
}

static void
dp_tcp_events(struct dp_core *c)
{
	struct dssh_tcp_event ev[DP_TCP_EVENTS];
	unsigned n;

	do {
		n = dssh_tcp_events(c->tcp, ev, DP_TCP_EVENTS);
		for (unsigned i = 0; i < n; i++) {
			struct dssh_tcp_conn *conn = ev[i].conn;
			uint32_t e = ev[i].events;
			void *owner;

			if (conn == NULL)
				continue;
			if (e & DSSH_TCP_EV_ACCEPTED)
				dp_tcp_accepted(c, conn);
			if ((owner = dssh_tcp_udata(conn)) == c)
				dp_echo_event(c, conn, e);
			else if ((uintptr_t)owner & 1u)
				dp_streams_target_event(&c->streams, owner, e, c->now_us);
			else if (owner != NULL)
				dp_streams_tcp_event(&c->streams, conn, e, c->now_us);
		}
	} while (n == DP_TCP_EVENTS);
}

/*
 * net_af_packet has no RX interrupts, but each queue is an AF_PACKET socket
 * with an mmap ring, readable (packet_poll) while the ring holds a frame
 * for user space: exactly what an interrupt would say. The PMD does not
 * export the descriptor; it opens one socket per queue, in queue order, and
 * nothing else in dsshd opens AF_PACKET sockets, so the n-th of them (by
 * descriptor) is queue n's. -1 when that does not hold.
 */
static int
dp_af_packet_sock(const struct dp *dp, uint16_t queue)
{
	int fds[DP_MAX_CORES], n = 0, dom;
	socklen_t len;
	struct dirent *e;
	DIR *d;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);

		len = sizeof(dom);
		if (e->d_name[0] == '.' || fd == dirfd(d) ||
		    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) != 0 || dom != AF_PACKET)
			continue;
		if (n == DP_MAX_CORES) {
			n++;
			break;
		}
		fds[n++] = fd;
	}
	closedir(d);
	if (n != (int)dp->ncores)
		return -1;
	for (int i = 1; i < n; i++)     /* readdir's order is not numeric */
		for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			int t = fds[j];

			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}
	return fds[queue];
}

/*
 * net_tap reads its queue only after a signal: the queue's fd is O_ASYNC,
 * the handler bumps a counter and rx_burst returns nothing while the counter
 * is unchanged (the PMD's "Rx trigger"). The PMD has the signal sent to the
 * process, so the kernel hands it to any thread, often one asleep elsewhere.
 * A core woken by the fd's epoll edge then polled before that thread had
 * run the handler, found nothing, and blocked again for its whole timeout
 * with the frame waiting: every other ping took 100 ms, and so did
 * keystrokes. So while the core blocks, the signal is the core's own: tun
 * queues it before it wakes the fd's waiters, and it is taken before
 * epoll_wait returns. While the core polls, it goes back to the process:
 * a signal per frame received (a download's every ACK) would otherwise
 * interrupt the busy core (-14 % MB/s).
 */
static void
dp_rx_sig_setup(struct dp_core *c)
{
	int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(c->port, c->queue), fl, sig;

	c->rx_sig_fd = -1;
	if (fd < 0 || (fl = fcntl(fd, F_GETFL)) < 0 || !(fl & O_ASYNC) ||
	    (sig = fcntl(fd, F_GETSIG)) <= 0)
		return;
	c->rx_sig_fd = fd;
	c->rx_sig = sig;
	dssh_debug("data core %u: queue %u signals frames (signal %d): taken while blocked",
	    c->idx, c->queue, sig);
}

/*
 * Before blocking: the queue's signal to this thread, then one raised here,
 * so the next rx_burst reads whatever came before (its signal may still wait
 * for another thread). False when a frame is already waiting: poll on.
 */
static bool
dp_rx_sig_take(struct dp_core *c)
{
	struct f_owner_ex self = { .type = F_OWNER_TID, .pid = gettid() };
	struct pollfd pfd = { .fd = c->rx_sig_fd, .events = POLLIN };

	if (fcntl(c->rx_sig_fd, F_SETOWN_EX, &self) != 0) {
		dssh_error("data core %u: queue %u's signal stays the process's: %s",
		    c->idx, c->queue, strerror(errno));
		c->rx_sig_fd = -1;
		return true;
	}
	(void)tgkill(getpid(), gettid(), c->rx_sig);
	return poll(&pfd, 1, 0) == 0;
}

/* After blocking: the signal is the process's again (as the PMD set it). */
static void
dp_rx_sig_give(struct dp_core *c)
{
	struct f_owner_ex proc = { .type = F_OWNER_PID, .pid = getpid() };

	if (c->rx_sig_fd >= 0)
		(void)fcntl(c->rx_sig_fd, F_SETOWN_EX, &proc);
}

/*
 * Adaptive polling on a port whose queue has RX interrupts (net_tap,
 * net_memif, most NICs): once idle, the core blocks in the per-thread epoll
 * on its RX interrupt and its bell (work from the control thread), until
 * the next timer at the latest. Set up on the core's own thread, because
 * the epoll instance is per thread.
 */
static void
dp_intr_setup(struct dp_core *c)
{
	int ret;

	c->rx_intr = false;
	c->rx_sock = -1;
	c->rx_sig_fd = -1;
	if (!c->dp->adaptive_poll || c->rx_imp != NULL || c->tx_imp != NULL)
		return;
	ret = c->dp->rx_intr ? rte_eth_dev_rx_intr_ctl_q(c->port, c->queue, RTE_EPOLL_PER_THREAD,
	    RTE_INTR_EVENT_ADD, NULL) : -ENOTSUP;
	if (ret != 0) {
		if (c->dp->af_packet && c->has_streams &&
		    (c->rx_sock = dp_af_packet_sock(c->dp, c->queue)) >= 0) {
			dssh_info("data core %u: waits on queue %u's AF_PACKET socket when idle",
			    c->idx, c->queue);
			return;
		}
		dssh_info("data core %u: no RX interrupt on queue %u (%s): sleeps when idle",
		    c->idx, c->queue, rte_strerror(-ret));
		return;
	}
	if (c->has_streams) {
		memset(&c->bell_ev, 0, sizeof(c->bell_ev));
		c->bell_ev.epdata.event = EPOLLIN;
		if (rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_ADD,
		    dp_streams_bell_fd(&c->streams), &c->bell_ev) != 0) {
			(void)rte_eth_dev_rx_intr_ctl_q(c->port, c->queue, RTE_EPOLL_PER_THREAD,
			    RTE_INTR_EVENT_DEL, NULL);
			return;
		}
		/* The children's pipes of the channels this core moves. */
		memset(&c->chan_ev, 0, sizeof(c->chan_ev));
		c->chan_ev.epdata.event = EPOLLIN;
		if (dp_streams_chan_fd(&c->streams) >= 0 &&
		    rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_ADD,
		    dp_streams_chan_fd(&c->streams), &c->chan_ev) != 0)
			dssh_error("data core %u: cannot wait on channel fds", c->idx);
	}
	dp_rx_sig_setup(c);
	c->rx_intr = true;
	dssh_info("data core %u: waits on RX interrupts of queue %u when idle", c->idx, c->queue);
}

static void
dp_intr_teardown(struct dp_core *c)
{
	if (!c->rx_intr)
		return;
	if (c->has_streams) {
		(void)rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_DEL,
		    dp_streams_bell_fd(&c->streams), &c->bell_ev);
		if (dp_streams_chan_fd(&c->streams) >= 0)
			(void)rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_DEL,
			    dp_streams_chan_fd(&c->streams), &c->chan_ev);
	}
	(void)rte_eth_dev_rx_intr_ctl_q(c->port, c->queue, RTE_EPOLL_PER_THREAD,
	    RTE_INTR_EVENT_DEL, NULL);
	c->rx_intr = false;
}

/* net_af_packet: blocks until the queue's socket or the bell is readable,
 * or wake_us (microseconds, unlike epoll's milliseconds). */
static void
dp_sock_wait(struct dp_core *c, uint64_t wake_us)
{
	struct pollfd pfd[3] = {
		{ .fd = c->rx_sock, .events = POLLIN },
		{ .fd = dp_streams_bell_fd(&c->streams), .events = POLLIN },
		{ .fd = dp_streams_chan_fd(&c->streams), .events = POLLIN },
	};
	uint64_t now = dp_now_us(c->dp), us;
	struct timespec ts;

	if (wake_us <= now)
		return;
	us = DSSH_MIN(wake_us - now, (uint64_t)DP_INTR_WAIT_MAX_MS * 1000);
	if (!dp_streams_sleep(&c->streams, true))
		return;
	c->st.intr_waits++;
	dp_publish(c);
	ts.tv_sec = (time_t)(us / 1000000);
	ts.tv_nsec = (long)(us % 1000000) * 1000;
	(void)ppoll(pfd, pfd[2].fd >= 0 ? 3 : 2, &ts, NULL);
	(void)dp_streams_sleep(&c->streams, false);
}

/* Blocks until a frame, work from the control thread, or wake_us. */
static void
dp_intr_wait(struct dp_core *c, uint64_t wake_us)
{
	struct rte_epoll_event ev[3];
	uint64_t now = dp_now_us(c->dp);
	int ms;

	if (wake_us <= now + 1000)
		return;     /* the epoll timeout counts milliseconds */
	ms = (int)DSSH_MIN((wake_us - now) / 1000, (uint64_t)DP_INTR_WAIT_MAX_MS);
	/* A PMD without the enable op (net_tap) signals while frames wait. */
	(void)rte_eth_dev_rx_intr_enable(c->port, c->queue);
	if (c->has_streams && !dp_streams_sleep(&c->streams, true)) {
		(void)rte_eth_dev_rx_intr_disable(c->port, c->queue);
		return;
	}
	if (c->rx_sig_fd >= 0 && !dp_rx_sig_take(c)) {
		dp_rx_sig_give(c);
		goto awake;
	}
	c->st.intr_waits++;
	dp_publish(c);      /* telemetry stays current while the core sleeps */
	(void)rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, 3, ms);
	dp_rx_sig_give(c);
awake:
	if (c->has_streams)
		(void)dp_streams_sleep(&c->streams, false);
	(void)rte_eth_dev_rx_intr_disable(c->port, c->queue);
}

/* The bytes the port moved in and out: what tells a transfer from idling. */
static uint64_t
dp_port_bytes(const struct dp_core *c)
{
	const struct dssh_net_stats *st = dssh_net_stats(c->net);

	return st->rx_bytes + st->tx_bytes;
}

/*
 * Between polls that found nothing. Busy polling yields the CPU now and
 * then (a kernel peer may share the machine); adaptive polling blocks on
 * the queue's RX interrupt or AF_PACKET socket, and where it cannot
 * (net_memif) sleeps for what dp_idle.h's policy says: once idle, a
 * little longer the longer the queue stays empty (up to
 * DP_IDLE_SLEEP_MAX_US), so that an idle data core costs next to nothing;
 * inside a transfer, at once and long enough for each wake-up to find a
 * large batch, so that the wake-ups per byte stay few.
 */
static void
dp_idle(struct dp_core *c, unsigned *idle_run, bool work, uint64_t wake_us)
{
	unsigned us;
	bool bulk;

	if (work) {
		c->st.busy_polls++;
		*idle_run = 0;
		c->idle_since_us = c->now_us;
		dp_idle_pol_work(&c->idle);
		return;
	}
	c->st.idle_polls++;
	++*idle_run;
	/* Gaps inside a transfer are short: only a queue empty for a while
	 * blocks (each block and wake-up costs tens of microseconds here). */
	if ((c->rx_intr || c->rx_sock >= 0) && *idle_run >= DP_INTR_AFTER &&
	    c->now_us - c->idle_since_us >= DP_BLOCK_AFTER_US) {
		*idle_run = 0;
		if (c->rx_intr)
			dp_intr_wait(c, wake_us);
		else
			dp_sock_wait(c, wake_us);
		return;
	}
	if (!c->dp->adaptive_poll) {
		if (*idle_run >= DP_IDLE_YIELD) {
			*idle_run = 0;
			sched_yield();
		}
		return;
	}
	if (c->rx_intr || c->rx_sock >= 0) {
		/* Until it blocks, a short sleep after DP_IDLE_YIELD empty polls. */
		if (*idle_run < DP_IDLE_YIELD)
			return;
		us = dp_idle_ramp_us(c->now_us - c->idle_since_us);
		bulk = false;
	} else {
		us = dp_idle_pol_next(&c->idle, *idle_run, c->now_us - c->idle_since_us,
		    dp_port_bytes(c), wake_us > c->now_us ? wake_us - c->now_us : UINT64_MAX,
		    &bulk);
		if (us == 0)
			return;
	}
	c->st.idle_sleeps++;
	c->st.bulk_sleeps += bulk;
	c->st.sleep_us += us;
	rte_delay_us_sleep(us);
}

#define DP_CHAN_POLL_EVERY 4

static int
dp_core_loop(void *arg)
{
	struct dp_core *c = arg;
	struct dp *dp = c->dp;
	struct rte_mbuf *pkts[DP_BURST];
	uint64_t now = dp_now_ms(dp), next_tick = now;
	struct dp_msg msg;
	unsigned idle_run = 0;
	uint64_t tcp_next = 0;
	bool work;

	/* Idle sleeps of a few microseconds must not be stretched to 50. */
	(void)prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	dssh_info("data core %u on lcore %u polls port %u queue %u (%s polling)", c->idx, c->lcore,
	    c->port, c->queue, dp->adaptive_poll ? "adaptive" : "busy");
	(void)dssh_net_start(c->net, now);
	dp_tx_flush(c);
	dp_intr_setup(c);
	dp_idle_pol_init(&c->idle, dp_port_bytes(c));
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		uint16_t n;

		n = rte_eth_rx_burst(c->port, c->queue, pkts, DP_BURST);

		c->now_us = dp_now_us(dp);
		now = c->now_us / 1000;
		if (c->rx_imp != NULL) {
			/* Received frames wait in the stage; those due now go on. */
			dssh_impair_push_burst(c->rx_imp, (void *const *)pkts, n, c->now_us);
			n = (uint16_t)dssh_impair_pop(c->rx_imp, c->now_us, (void **)pkts, DP_BURST);
		}
		for (uint16_t i = 0; i < n; i++) {
			struct rte_mbuf *m = pkts[i];
			unsigned fl = 0;

			dssh_debug3("core %u: rx %u bytes in %u segment(s)", c->idx, m->pkt_len,
			    m->nb_segs);
			if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) {
				c->st.rx_nonlinear++;
				rte_pktmbuf_free(m);
				continue;
			}
			if (dp->rx_csum) {
				uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;

				if (ck == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
					fl |= DSSH_NET_RX_IP_CSUM_GOOD;
				else if (ck == RTE_MBUF_F_RX_IP_CKSUM_BAD)
					fl |= DSSH_NET_RX_IP_CSUM_BAD;
			}
			c->rx_m = m;
			(void)dssh_net_input(c->net, rte_pktmbuf_mtod(m, const uint8_t *),
			    rte_pktmbuf_data_len(m), fl, now);
			c->rx_m = NULL;
			rte_pktmbuf_free(m);    /* TCP holds its own references */
		}
		work = n > 0;
		if (c->has_streams && (dp_streams_pending(&c->streams) ||
		    dp_streams_dirty(&c->streams))) {
			dp_streams_poll(&c->streams, c->now_us);
			tcp_next = 0;   /* output to send now */
			work = true;
		}
		/* The children's pipes of offloaded channels: after work (output
		 * follows input), else every few polls (a syscall each time). */
		if (c->has_streams && dp_streams_chan_active(&c->streams) &&
		    (work || ++c->chan_skip >= DP_CHAN_POLL_EVERY)) {
			c->chan_skip = 0;
			if (dp_streams_chan_poll(&c->streams) > 0) {
				tcp_next = 0;
				work = true;
			}
		}
		if (c->tcp != NULL && (n > 0 || c->now_us >= tcp_next)) {
			tcp_next = dssh_tcp_timers(c->tcp, c->now_us);
			dp_tcp_events(c);
			if (c->has_streams)
				dp_streams_flush(&c->streams, c->now_us);
			dp_tcp_output(c, now);
			/* Events may have moved a deadline earlier (delayed ACK, RTO). */
			tcp_next = DSSH_MIN(tcp_next, dssh_tcp_timers(c->tcp, c->now_us));
		}
		if (now >= next_tick) {
			while (rte_ring_dequeue_elem(c->from_ctrl, &msg, sizeof(msg)) == 0)
				if (msg.type == DP_MSG_ARP_LEARNED)
					dssh_net_arp_learn(c->net, msg.ip, msg.mac, now);
			dssh_net_tick(c->net, now);
			if (c->has_streams)
				dp_streams_tick(&c->streams, c->now_us);
			dp_publish(c);
			next_tick = now + DP_TICK_MS;
		}
		work = work || c->ntx > 0;
		dp_tx_flush(c);
		/* Blocking waits for the next TCP timer; ticks may run late then. */
		dp_idle(c, &idle_run, work, tcp_next);
	}
	dp_intr_teardown(c);
	if (c->has_streams) {
		dp_streams_fini(&c->streams, c->now_us);
		dp_tcp_output(c, c->now_us / 1000);   /* the resets */
	}
	dp_tx_flush(c);
	dp_publish(c);
	/* Frames still held by the stages are freed with them. */
	dssh_impair_free(c->rx_imp);
	dssh_impair_free(c->tx_imp);
	c->rx_imp = c->tx_imp = NULL;
	return 0;
}

/* ---- control lcore ---- */

static void
dp_arp_mirror_update(struct dp *dp, const struct dp_msg *msg, uint64_t now)
{
	struct dp_arp_mirror *slot = NULL;

	rte_spinlock_lock(&dp->arp_lock);
	for (size_t i = 0; i < DP_ARP_MIRROR; i++) {
		struct dp_arp_mirror *e = &dp->arp[i];

		if (e->ip == msg->ip) {
			slot = e;
			break;
		}
		if (slot == NULL || (slot->ip != 0 && (e->ip == 0 || e->seen_ms < slot->seen_ms)))
			slot = e;
	}
	slot->ip = msg->ip;
	memcpy(slot->mac, msg->mac, 6);
	slot->seen_ms = now;
	rte_spinlock_unlock(&dp->arp_lock);
}

static void
dp_control_poll(struct dp *dp)
{
	struct dp_msg msg;
	uint64_t now = dp_now_ms(dp);

	for (unsigned i = 0; i < dp->ncores; i++) {
		while (rte_ring_dequeue_elem(dp->cores[i].to_ctrl, &msg, sizeof(msg)) == 0) {
			if (msg.type != DP_MSG_ARP_LEARNED)
				continue;
			dp_arp_mirror_update(dp, &msg, now);
			for (unsigned j = 0; j < dp->ncores; j++)
				if (j != msg.from &&
				    rte_ring_enqueue_elem(dp->cores[j].from_ctrl, &msg, sizeof(msg)) != 0)
					dssh_debug("control: ring to core %u full", j);
		}
	}
}

static void
dp_log_link(struct dp *dp, int *last)
{
	struct rte_eth_link link;

	if (rte_eth_link_get_nowait(dp->port, &link) != 0)
		return;
	if (link.link_status == *last)
		return;
	*last = link.link_status;
	if (link.link_status)
		dssh_info("port %u: link up, %u Mbps, %s duplex", dp->port, link.link_speed,
		    link.link_duplex ? "full" : "half");
	else
		dssh_info("port %u: link down", dp->port);
}

/* ---- telemetry ---- */

#define DP_NET_FIELDS(X) \
	X(rx_frames) X(rx_bytes) X(tx_frames) X(tx_bytes) X(rx_arp_request) X(rx_arp_reply) \
	X(tx_arp_request) X(tx_arp_reply) X(tx_arp_gratuitous) X(rx_icmp_echo) \
	X(tx_icmp_echo_reply) X(tx_icmp_unreach) X(rx_ip_options) X(rx_tcp) \
	X(rx_nd_solicit) X(rx_nd_advert) X(tx_nd_solicit) X(tx_nd_advert) X(rx_icmp6_echo) \
	X(tx_icmp6_echo_reply) X(tx_icmp6_unreach) X(drops)
#define DP_CORE_FIELDS(X) \
	X(busy_polls) X(idle_polls) X(tx_queue_full) X(tx_no_mbuf) X(rx_nonlinear) X(ring_full) \
	X(idle_sleeps) X(bulk_sleeps) X(sleep_us) X(intr_waits) X(tx_tso) X(tx_chained)
#define DP_TCP_FIELDS(X) \
	X(tcp_conns_opened) X(tcp_conns_closed) X(tcp_conns_reset) X(tcp_conns_timedout) \
	X(tcp_conns_active) X(tcp_in_segs) X(tcp_out_segs) X(tcp_retransmits) \
	X(tcp_rto_expired) X(tcp_fast_retransmits) X(tcp_rst_sent) X(tcp_rst_rcvd) \
	X(tcp_in_bad) X(tcp_tx_held) X(tcp_tx_failed) X(tcp_echo_bytes) X(tcp_rx_held) X(tcp_rx_refs) \
	X(tcp_spurious_recoveries) \
	X(tcp_tx_bufs) X(tcp_tx_ref_bytes) X(tcp_tx_copy_bytes) \
	X(stream_opened) X(stream_refused) X(stream_closed) X(stream_gone) X(stream_active) \
	X(stream_rx_bytes) X(stream_tx_bytes) \
	X(ssh_rx_packets) X(ssh_tx_packets) X(ssh_bursts) X(ssh_burst_ops) X(ssh_errors) \
	X(chan_offloads) X(chan_rx_bytes) X(chan_tx_bytes) X(chan_queued) \
	X(chan_connects) X(chan_connect_fail) X(chan_connect_timeout) X(chan_tcp_active) \
	X(impair_in) X(impair_dropped) X(impair_duplicated) X(impair_reordered) \
	X(impair_delayed) X(impair_overflow) X(impair_held)

static void
dp_sum(struct dp *dp, int core, struct dp_published *out)
{
	uint64_t *o = (uint64_t *)out;

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < dp->ncores; i++) {
		const uint64_t *p = (const uint64_t *)&dp->cores[i].pub;

		if (core >= 0 && (unsigned)core != i)
			continue;
		for (size_t k = 0; k < sizeof(*out) / sizeof(uint64_t); k++)
			o[k] += __atomic_load_n(&p[k], __ATOMIC_RELAXED);
	}
}

static void
dp_tel_fill(struct rte_tel_data *d, const struct dp_published *s)
{
	char name[64];

	rte_tel_data_start_dict(d);
#define DP_X(f) rte_tel_data_add_dict_u64(d, #f, s->net.f);
	DP_NET_FIELDS(DP_X)
#undef DP_X
#define DP_X(f) rte_tel_data_add_dict_u64(d, #f, s->core.f);
	DP_CORE_FIELDS(DP_X)
#undef DP_X
#define DP_X(f) rte_tel_data_add_dict_u64(d, #f, s->tcp.f);
	DP_TCP_FIELDS(DP_X)
#undef DP_X
	for (int i = 0; i < DSSH_NET_DROP_MAX; i++) {
		snprintf(name, sizeof(name), "drop_%s", dssh_net_drop_name(i));
		rte_tel_data_add_dict_u64(d, name, s->net.drop[i]);
	}
}

static int
dp_tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_published s;
	int core = -1;

	(void)cmd;
	if (params != NULL && *params != '\0') {
		char *end;
		long v = strtol(params, &end, 10);

		if (*end != '\0' || v < 0 || v >= DP_MAX_CORES)
			return -EINVAL;
		core = (int)v;
	}
	rte_spinlock_lock(&dp_tel_lock);
	if (dp_tel == NULL || (core >= 0 && (unsigned)core >= dp_tel->ncores)) {
		rte_spinlock_unlock(&dp_tel_lock);
		return -EINVAL;
	}
	dp_sum(dp_tel, core, &s);
	dp_tel_fill(d, &s);
	rte_tel_data_add_dict_u64(d, "cores", dp_tel->ncores);
	if (core < 0) {
		struct rte_eth_stats ps;
		struct rte_eth_link link;

		/* The PMD's own view: frames it never handed us show up here only. */
		if (rte_eth_stats_get(dp_tel->port, &ps) == 0) {
			rte_tel_data_add_dict_u64(d, "port_ipackets", ps.ipackets);
			rte_tel_data_add_dict_u64(d, "port_opackets", ps.opackets);
			rte_tel_data_add_dict_u64(d, "port_imissed", ps.imissed);
			rte_tel_data_add_dict_u64(d, "port_ierrors", ps.ierrors);
			rte_tel_data_add_dict_u64(d, "port_oerrors", ps.oerrors);
			rte_tel_data_add_dict_u64(d, "port_rx_nombuf", ps.rx_nombuf);
		}
		/* Packet buffers out of the pool (per-core caches included): a leak
		 * shows as growth that does not come back. */
		rte_tel_data_add_dict_u64(d, "mbuf_in_use", rte_mempool_in_use_count(dp_tel->mp));
		rte_tel_data_add_dict_u64(d, "mbuf_pool_size", dp_tel->mp->size);
		if (dp_tel->txbuf_mp != NULL)
			rte_tel_data_add_dict_u64(d, "txbuf_in_use",
			    rte_mempool_in_use_count(dp_tel->txbuf_mp));
		if (rte_eth_link_get_nowait(dp_tel->port, &link) == 0) {
			rte_tel_data_add_dict_u64(d, "link_up", link.link_status);
			rte_tel_data_add_dict_u64(d, "link_speed_mbps", link.link_speed);
		}
	}
	rte_spinlock_unlock(&dp_tel_lock);
	return 0;
}

/* Counters that are levels, not running totals (Prometheus gauges). */
static bool
dp_is_gauge(const char *name)
{
	static const char *const gauges[] = {
		"tcp_conns_active", "stream_active", "tcp_tx_held", "tcp_rx_held", "tcp_tx_bufs",
		"chan_queued", "impair_held", "chan_tcp_active",
	};

	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		if (strcmp(name, gauges[i]) == 0)
			return true;
	return false;
}

int
dssh_dpdk_stats_visit(int core, dssh_dpdk_stat_fn fn, void *arg)
{
	struct dp_published s;
	int n;

	rte_spinlock_lock(&dp_tel_lock);
	if (dp_tel == NULL || (core >= 0 && (unsigned)core >= dp_tel->ncores)) {
		rte_spinlock_unlock(&dp_tel_lock);
		return DSSH_ERR_NOT_FOUND;
	}
	n = (int)dp_tel->ncores;
	dp_sum(dp_tel, core, &s);
#define DP_X(f) fn(arg, #f, s.net.f, dp_is_gauge(#f));
	DP_NET_FIELDS(DP_X)
#undef DP_X
#define DP_X(f) fn(arg, #f, s.core.f, dp_is_gauge(#f));
	DP_CORE_FIELDS(DP_X)
#undef DP_X
#define DP_X(f) fn(arg, #f, s.tcp.f, dp_is_gauge(#f));
	DP_TCP_FIELDS(DP_X)
#undef DP_X
	if (core < 0) {
		fn(arg, "mbuf_in_use", rte_mempool_in_use_count(dp_tel->mp), true);
		if (dp_tel->txbuf_mp != NULL)
			fn(arg, "txbuf_in_use", rte_mempool_in_use_count(dp_tel->txbuf_mp), true);
	}
	rte_spinlock_unlock(&dp_tel_lock);
	return n;
}

static int
dp_tel_arp(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char ip[16], mac[RTE_ETHER_ADDR_FMT_SIZE], ent[64];

	(void)cmd;
	(void)params;
	/* Dictionary keys may not hold dots: an array of "ip mac" strings. */
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	rte_spinlock_lock(&dp_tel_lock);
	if (dp_tel != NULL) {
		rte_spinlock_lock(&dp_tel->arp_lock);
		for (size_t i = 0; i < DP_ARP_MIRROR; i++) {
			const struct dp_arp_mirror *e = &dp_tel->arp[i];
			struct rte_ether_addr ea;

			if (e->ip == 0)
				continue;
			memcpy(ea.addr_bytes, e->mac, 6);
			rte_ether_format_addr(mac, sizeof(mac), &ea);
			dssh_net_format_ipv4(e->ip, ip);
			snprintf(ent, sizeof(ent), "%s %s", ip, mac);
			rte_tel_data_add_array_string(d, ent);
		}
		rte_spinlock_unlock(&dp_tel->arp_lock);
	}
	rte_spinlock_unlock(&dp_tel_lock);
	return 0;
}

/* ---- set-up ---- */

/* The core's RX and TX impairment stages, each with a seed of its own. */
static int
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

static bool
dp_has_arg(int argc, char **argv, const char *opt)
{
	size_t n = strlen(opt);

	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], opt, n) == 0 && (argv[i][n] == '\0' || argv[i][n] == '='))
			return true;
	return false;
}

static bool
dp_hugepages_available(void)
{
	FILE *f;
	char line[256];
	long free_pages = 0;
	bool mounted = false;

	if ((f = fopen("/proc/meminfo", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "HugePages_Free: %ld", &free_pages) == 1)
				break;
		fclose(f);
	}
	if ((f = fopen("/proc/mounts", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, " hugetlbfs ") != NULL)
				mounted = true;
		fclose(f);
	}
	return free_pages > 0 && mounted;
}

/* -m value in MiB, 0 when absent. */
static unsigned long
dp_mem_mb(int argc, char **argv)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], "-m") == 0)
			return strtoul(argv[i + 1], NULL, 10);
	return 0;
}

static int
dp_build_argv(const struct dssh_dpdk_conf *conf, char *store, size_t store_len, char **argv,
    int *argcp, char *lcores, size_t lcores_len)
{
	int argc = 0;
	char *p;

	argv[argc++] = (char *)"dsshd";
	if (conf->eal_args != NULL) {
		if (strlen(conf->eal_args) >= store_len)
			return DSSH_ERR_CONFIG;
		strcpy(store, conf->eal_args);
		for (p = strtok(store, " \t\n"); p != NULL; p = strtok(NULL, " \t\n")) {
			if (argc >= DP_MAX_ARGS - 8)
				return DSSH_ERR_CONFIG;
			argv[argc++] = p;
		}
	}
	if (!dp_has_arg(argc, argv, "-l") && !dp_has_arg(argc, argv, "--lcores") &&
	    !dp_has_arg(argc, argv, "-c")) {
		snprintf(lcores, lcores_len, "0-%u", conf->n_data_cores);
		argv[argc++] = (char *)"-l";
		argv[argc++] = lcores;
	}
	if (!dp_has_arg(argc, argv, "--file-prefix") && !dp_has_arg(argc, argv, "--in-memory"))
		argv[argc++] = (char *)"--file-prefix=dssh";
	if (dp_has_arg(argc, argv, "--no-huge")) {
		dssh_info("EAL: running without hugepages (--no-huge given)");
	} else if (!dp_hugepages_available()) {
		argv[argc++] = (char *)"--no-huge";
		if (dp_mem_mb(argc, argv) == 0) {
			argv[argc++] = (char *)"-m";
			argv[argc++] = (char *)"256";
		}
		dssh_info("EAL: no free hugepages: running with --no-huge");
	} else {
		if (!dp_has_arg(argc, argv, "--in-memory") && !dp_has_arg(argc, argv, "--huge-unlink"))
			argv[argc++] = (char *)"--huge-unlink";
		dssh_info("EAL: using hugepages");
	}
	argv[argc] = NULL;
	*argcp = argc;
	return 0;
}

/* The port's RSS key and redirection table, for dp_port_ok. */
static void
dp_rss_learn(struct dp *dp, uint16_t nq, bool rss)
{
	struct rte_eth_rss_reta_entry64 rq[RTE_ETH_RSS_RETA_SIZE_512 / RTE_ETH_RETA_GROUP_SIZE];
	struct rte_eth_rss_conf rc = { .rss_key = dp->rss_key, .rss_key_len = sizeof(dp->rss_key) };
	struct rte_eth_dev_info info;

	dp->active_ok = nq == 1;
	if (nq == 1 || !rss || rte_eth_dev_info_get(dp->port, &info) != 0 ||
	    info.reta_size == 0 || info.reta_size > RTE_ETH_RSS_RETA_SIZE_512 ||
	    info.hash_key_size == 0 || info.hash_key_size > sizeof(dp->rss_key) ||
	    rte_eth_dev_rss_hash_conf_get(dp->port, &rc) != 0)
		goto out;
	memset(rq, 0, sizeof(rq));
	for (unsigned i = 0; i < info.reta_size / RTE_ETH_RETA_GROUP_SIZE; i++)
		rq[i].mask = UINT64_MAX;
	if (rte_eth_dev_rss_reta_query(dp->port, rq, info.reta_size) != 0)
		goto out;
	for (unsigned i = 0; i < info.reta_size; i++)
		dp->reta[i] = rq[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
	dp->reta_size = info.reta_size;
	dp->rss_key_len = rc.rss_key_len != 0 ? rc.rss_key_len : info.hash_key_size;
	dp->active_ok = true;
out:
	if (nq > 1)
		dssh_info("port %u: %s", dp->port, dp->active_ok ?
		    "connects from the data cores pick RSS-consistent source ports" :
		    "no RSS key/table: the data cores cannot connect to forwarding targets");
}

/*
 * conf.port_ok for a core's stack: the reply to laddr:lport from
 * raddr:rport hashes (Toeplitz over the IPv4/TCP 4-tuple, as the NIC
 * does) to this core's queue.
 */
static bool
dp_port_ok(void *arg, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	const struct dp_core *c = arg;
	const struct dp *dp = c->dp;
	uint32_t tuple[3] = { raddr, laddr, (uint32_t)rport << 16 | lport };
	uint32_t hash;

	if (dp->reta_size == 0)
		return true;
	hash = rte_softrss(tuple, 3, dp->rss_key);
	return dp->reta[hash % dp->reta_size] == c->queue;
}

static int
dp_port_setup(struct dp *dp, const struct dssh_dpdk_conf *conf)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf pc;
	uint16_t nq = (uint16_t)dp->ncores, nb_rxd = DP_NB_RXD, nb_txd = DP_NB_TXD;
	int ret;

	memset(&pc, 0, sizeof(pc));
	if ((ret = rte_eth_dev_info_get(dp->port, &info)) != 0) {
		dssh_error("port %u: dev_info: %s", dp->port, rte_strerror(-ret));
		return DSSH_ERR_SYSTEM;
	}
	if (info.max_rx_queues < nq || info.max_tx_queues < nq) {
		dssh_error("port %u (%s): %u data cores need %u queue pairs, the PMD has %u/%u "
		    "(af_packet: add qpairs=N to the vdev)", dp->port, info.driver_name,
		    dp->ncores, nq, info.max_rx_queues, info.max_tx_queues);
		return DSSH_ERR_CONFIG;
	}
	if (nq > 1) {
		uint64_t want = RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_IPV4;

		if (info.flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP) {
			pc.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
			pc.rx_adv_conf.rss_conf.rss_hf = want & info.flow_type_rss_offloads;
			dssh_info("port %u: RSS on the TCP/IPv4 4-tuple over %u queues", dp->port, nq);
		} else
			dssh_info("port %u (%s): no TCP/IPv4 RSS: the PMD spreads frames its own way",
			    dp->port, info.driver_name);
	}
	dp->rx_csum = !conf->sw_csum && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM);
	dp->tx_csum = !conf->sw_csum && (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM);
	if (dp->rx_csum)
		pc.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	if (dp->tx_csum)
		pc.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	/* TCP checksums and TSO need the IPv4 checksum offload too (the NIC
	 * rewrites every segment's IP header). */
	dp->tx_tcp_csum = dp->tx_csum && (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM);
	dp->tso = dp->tx_tcp_csum && !conf->no_tso &&
	    (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO) &&
	    (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
	dp->tx_max_segs = info.tx_desc_lim.nb_seg_max ? info.tx_desc_lim.nb_seg_max : UINT16_MAX;
	if (dp->tx_tcp_csum)
		pc.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	if (dp->tso)
		pc.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	else
		dp->tx_max_segs = 1;
	/* net_tap's software GSO checks each cut segment, Ethernet header
	 * included, against the MTU: 14 bytes less payload per segment. */
	dp->tso_mss_cut = dp->tso && strcmp(info.driver_name, "net_tap") == 0 ?
	    DSSH_NET_ETH_HLEN : 0;
	dssh_info("port %u (%s): IPv4 checksum rx %s, tx %s; TCP checksum tx %s; TSO %s",
	    dp->port, info.driver_name,
	    dp->rx_csum ? "offloaded" : "software", dp->tx_csum ? "offloaded" : "software",
	    dp->tx_tcp_csum ? "offloaded" : "software",
	    dp->tso ? "in use (multi-segment mbufs)" :
	    (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO) ? "offered, not used" :
	    "not offered: software segmentation");
	/* Adaptive polling blocks on RX interrupts where the PMD has them;
	 * a PMD that refuses them is configured again without. */
	pc.intr_conf.rxq = dp->adaptive_poll;
	if ((ret = rte_eth_dev_configure(dp->port, nq, nq, &pc)) != 0 && pc.intr_conf.rxq) {
		dssh_info("port %u (%s): no RX interrupts (%s)", dp->port, info.driver_name,
		    rte_strerror(-ret));
		pc.intr_conf.rxq = 0;
		ret = rte_eth_dev_configure(dp->port, nq, nq, &pc);
	}
	if (ret != 0) {
		dssh_error("port %u: configure: %s", dp->port, rte_strerror(-ret));
		return DSSH_ERR_SYSTEM;
	}
	dp->rx_intr = pc.intr_conf.rxq;
	dp->af_packet = strcmp(info.driver_name, "net_af_packet") == 0;
	if ((ret = rte_eth_dev_adjust_nb_rx_tx_desc(dp->port, &nb_rxd, &nb_txd)) != 0)
		return DSSH_ERR_SYSTEM;
	for (uint16_t q = 0; q < nq; q++) {
		struct rte_eth_rxconf rxc = info.default_rxconf;
		struct rte_eth_txconf txc = info.default_txconf;
		int sock = rte_eth_dev_socket_id(dp->port);

		rxc.offloads = pc.rxmode.offloads;
		txc.offloads = pc.txmode.offloads;
		if (sock < 0)
			sock = (int)rte_socket_id();
		if ((ret = rte_eth_rx_queue_setup(dp->port, q, nb_rxd, (unsigned)sock, &rxc, dp->mp)) != 0 ||
		    (ret = rte_eth_tx_queue_setup(dp->port, q, nb_txd, (unsigned)sock, &txc)) != 0) {
			dssh_error("port %u: queue %u setup: %s", dp->port, q, rte_strerror(-ret));
			return DSSH_ERR_SYSTEM;
		}
	}
	if (conf->mtu != 0 && (ret = rte_eth_dev_set_mtu(dp->port, conf->mtu)) != 0)
		dssh_info("port %u: MTU %u not set: %s", dp->port, conf->mtu, rte_strerror(-ret));
	if ((ret = rte_eth_dev_start(dp->port)) != 0) {
		dssh_error("port %u: start: %s", dp->port, rte_strerror(-ret));
		return DSSH_ERR_SYSTEM;
	}
	dp_rss_learn(dp, nq, pc.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS);
	return 0;
}

/* One frame of the configured MTU fits in one mbuf (no chains to walk). */
static uint16_t
dp_mbuf_room(const struct dssh_dpdk_conf *conf)
{
	unsigned frame = (conf->mtu ? conf->mtu : DSSH_NET_MTU_DEFAULT) + DSSH_NET_ETH_HLEN + 8;

	return (uint16_t)DSSH_MAX((unsigned)RTE_MBUF_DEFAULT_BUF_SIZE,
	    RTE_ALIGN_CEIL(frame, 1024) + RTE_PKTMBUF_HEADROOM);
}

/* mbufs the RX/TX rings, bursts and caches may take. */
static unsigned
dp_mbuf_need(unsigned ncores)
{
	return ncores * (DP_NB_RXD + DP_NB_TXD + 2 * DP_BURST + DP_TXQ_MAX) +
	    (ncores + 1) * DP_MBUF_CACHE;
}

static unsigned
dp_mbuf_count(int argc, char **argv, unsigned ncores, uint16_t room)
{
	unsigned long mb = dp_mem_mb(argc, argv);
	unsigned need = dp_mbuf_need(ncores);
	unsigned n = 16383;
	/* With -m, half the memory for packet buffers. */
	size_t per = room + sizeof(struct rte_mbuf) + RTE_CACHE_LINE_SIZE;

	if (mb != 0)
		n = (unsigned)DSSH_MIN((unsigned long)65535, mb * 1024 * 1024 / 2 / per);
	return DSSH_MAX(n, need);
}

/*
 * The EAL leaves its runtime directory (config, fbarray files) for secondary
 * processes, which dssh does not use: remove it so that a stopped data plane
 * leaves nothing behind.
 */
void
dssh_dpdk_remove_runtime_dir(const char *dir)
{
	DIR *d;
	struct dirent *e;

	if (dir[0] == '\0' || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) != 0)
			dssh_debug("runtime dir: %s/%s not removed", dir, e->d_name);
	}
	closedir(d);
	if (rmdir(dir) != 0)
		dssh_debug("runtime dir %s not removed", dir);
}

int
dssh_dpdk_dataplane_run(const struct dssh_dpdk_conf *conf, volatile int *stop)
{
	char store[1024], lcores[32];
	char *argv[DP_MAX_ARGS + 1];
	int argc = 0, ret, r = DSSH_ERR_INTERNAL, link = -1;
	struct dp dp;
	bool eal = false, port_found = false, port_started = false, hooked = false;
	unsigned lcore, i;
	struct rte_ether_addr ea;
	uint64_t next_link = 0;

	memset(&dp, 0, sizeof(dp));
	rte_spinlock_init(&dp.arp_lock);
	if (conf == NULL || stop == NULL || conf->ipv4_addr == 0 || conf->prefix_len > 32)
		return DSSH_ERR_INVALID_ARGUMENT;
	dp.ncores = conf->n_data_cores ? conf->n_data_cores : 1;
	dp.adaptive_poll = !conf->busy_poll;
	if (dp.ncores > DP_MAX_CORES)
		return DSSH_ERR_CONFIG;
	if (conf->tcp_echo_port != 0 && dp.ncores > 1) {
		/* RSS (net_tap's in particular) may not keep a flow on one queue. */
		dssh_error("the TCP echo service needs exactly 1 data core (%u given): "
		    "a flow must stay on the core that owns its connection", dp.ncores);
		return DSSH_ERR_CONFIG;
	}
	{
		struct dssh_dpdk_conf c = *conf;

		c.n_data_cores = dp.ncores;
		if ((r = dp_build_argv(&c, store, sizeof(store), argv, &argc, lcores,
		    sizeof(lcores))) != 0)
			return r;
	}
	for (i = 0; i < (unsigned)argc; i++)
		dssh_debug("EAL argv[%u] = %s", i, argv[i]);
	if ((ret = rte_eal_init(argc, argv)) < 0) {
		dssh_error("EAL init failed: %s", rte_strerror(rte_errno));
		return DSSH_ERR_SYSTEM;
	}
	eal = true;
	r = DSSH_ERR_CONFIG;
	if (rte_lcore_count() < dp.ncores + 1) {
		dssh_error("%u data cores need %u lcores, EAL has %u", dp.ncores, dp.ncores + 1,
		    rte_lcore_count());
		goto out;
	}
	/* The caller's devices (a crypto device for the cores' engines). */
	hooked = conf->on_eal != NULL;
	if (hooked && (r = conf->on_eal(conf->on_eal_arg, DSSH_DPDK_EAL_UP, dp.ncores)) != 0)
		goto out;
	r = DSSH_ERR_CONFIG;
	if (rte_eth_dev_count_avail() == 0) {
		dssh_error("no Ethernet port (give one with --vdev= or a PCI device)");
		goto out;
	}
	RTE_ETH_FOREACH_DEV(dp.port)
		break;
	port_found = true;
	dp.tsc_per_ms = rte_get_tsc_hz() / 1000;
	if (dp.tsc_per_ms == 0)
		dp.tsc_per_ms = 1;
	dp.tsc_per_us = rte_get_tsc_hz() / 1000000;
	if (dp.tsc_per_us == 0)
		dp.tsc_per_us = 1;
	r = DSSH_ERR_ALLOC;
	{
		uint16_t room = dp_mbuf_room(conf);
		unsigned nmbuf = dp_mbuf_count(argc, argv, dp.ncores, room);
		unsigned need = dp_mbuf_need(dp.ncores);

		dp.mp = rte_pktmbuf_pool_create("dssh_mbuf", nmbuf, DP_MBUF_CACHE, 0,
		    room, (int)rte_socket_id());
		if (dp.mp == NULL) {
			dssh_error("mbuf pool of %u: %s", nmbuf, rte_strerror(rte_errno));
			goto out;
		}
		/* Half of what the queues and caches leave may hold received
		 * payload (TCP receive queues), shared evenly by the cores. */
		dp.rx_hold_per_core = (nmbuf > need ? nmbuf - need : 0) / 2 / dp.ncores;
		dssh_info("mbuf pool: %u buffers of %u bytes (%u per data core for TCP receive queues)",
		    nmbuf, room, dp.rx_hold_per_core);
	}
	if ((dp.cores = rte_zmalloc("dssh_cores", sizeof(*dp.cores) * dp.ncores,
	    RTE_CACHE_LINE_SIZE)) == NULL)
		goto out;
	if ((r = dp_port_setup(&dp, conf)) != 0)
		goto out;
	port_started = true;
	/* Sealed packets held by TCP send queues; frames reference
	 * them through indirect mbufs. Without either: copies. */
	if (dp.tso) {
		dp.txbuf_mp = rte_pktmbuf_pool_create("dssh_txbuf",
		    DP_TXBUF_PER_CORE * dp.ncores, 32, 0,
		    (uint16_t)(DP_TXBUF_ROOM + RTE_PKTMBUF_HEADROOM), (int)rte_socket_id());
		dp.ind_mp = rte_pktmbuf_pool_create("dssh_txind",
		    DP_TXIND_PER_CORE * dp.ncores, DP_MBUF_CACHE, 0, 0, (int)rte_socket_id());
		if (dp.txbuf_mp == NULL || dp.ind_mp == NULL) {
			dssh_info("no pools for sealed packets (%s): TCP copies them",
			    rte_strerror(rte_errno));
			rte_mempool_free(dp.txbuf_mp);
			rte_mempool_free(dp.ind_mp);
			dp.txbuf_mp = dp.ind_mp = NULL;
		} else {
			dssh_info("sealed packets by reference: %u buffers of %u bytes per data core",
			    DP_TXBUF_PER_CORE, DP_TXBUF_ROOM);
		}
	}
	if (conf->hub != NULL && (r = dp_hub_attach(conf->hub, dp.ncores, (int)rte_socket_id())) != 0)
		goto out;
	rte_eth_macaddr_get(dp.port, &ea);
	{
		struct rte_eth_dev_info info;

		/*
		 * net_tap gives the kernel's tap interface the port's own MAC: the
		 * kernel is the peer there, so our stack needs an address of its own.
		 */
		if (rte_eth_dev_info_get(dp.port, &info) == 0 && info.driver_name != NULL &&
		    strcmp(info.driver_name, "net_tap") == 0)
			rte_eth_random_addr(ea.addr_bytes);
	}
	i = 0;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct dp_core *c;
		struct dssh_net_conf nc;
		char name[RTE_RING_NAMESIZE];

		if (i == dp.ncores)
			break;
		c = &dp.cores[i];
		c->idx = i;
		c->lcore = lcore;
		c->port = dp.port;
		c->queue = (uint16_t)i;
		c->dp = &dp;
		c->mp = dp.mp;
		snprintf(name, sizeof(name), "dssh_to_ctrl%u", i);
		c->to_ctrl = rte_ring_create_elem(name, sizeof(struct dp_msg), DP_RING_SIZE,
		    (int)rte_lcore_to_socket_id(lcore), RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "dssh_from_ctrl%u", i);
		c->from_ctrl = rte_ring_create_elem(name, sizeof(struct dp_msg), DP_RING_SIZE,
		    (int)rte_lcore_to_socket_id(lcore), RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (c->to_ctrl == NULL || c->from_ctrl == NULL) {
			r = DSSH_ERR_ALLOC;
			goto out;
		}
		memset(&nc, 0, sizeof(nc));
		memcpy(nc.mac, ea.addr_bytes, 6);
		nc.ip = conf->ipv4_addr;
		nc.prefix_len = conf->prefix_len;
		nc.gateway = conf->gateway;
		nc.ip6_enabled = conf->ipv6_enabled;
		memcpy(nc.ip6, conf->ipv6_addr, 16);
		nc.ip6_prefix_len = conf->ipv6_prefix_len;
		nc.mtu = conf->mtu;
		nc.tx_ip_csum_offload = dp.tx_csum;
		nc.tx = dp_tx;
		nc.tx_arg = c;
		nc.arp_learned = dp_arp_learned;
		nc.arp_arg = c;
		nc.tcp_input = dp_tcp_input;
		nc.tcp_arg = c;
		if ((r = dssh_net_ctx_new(&nc, &c->net)) != 0)
			goto out;
		{
			struct dssh_tcp_conf tc;

			dssh_tcp_conf_default(&tc);
			if (dp.reta_size != 0) {
				tc.port_ok = dp_port_ok;
				tc.port_ok_arg = c;
			}
			tc.mss = (uint16_t)((conf->mtu ? conf->mtu : DSSH_NET_MTU_DEFAULT) - 40 -
			    dp.tso_mss_cut);
			tc.tx_csum_offload = dp.tx_tcp_csum;
			if (conf->tcp_buffer != 0)
				tc.sndbuf = tc.rcvbuf = conf->tcp_buffer;
			tc.tso_max = dp.tso ? DP_TSO_MAX : 0;
			tc.buf_ops = &dp_buf_ops;
			tc.buf_arg = &c->rxb;
			c->rxb.max = dp.rx_hold_per_core;
			/* Packets by reference only where frames can reference
			 * them (chains: the port does TSO); else sealed in the
			 * TCP ring and copied into frames as before. */
			if (dp.tso && dp.txbuf_mp != NULL) {
				tc.tx_buf_ops = &dp_buf_ops;
				tc.tx_buf_arg = &c->txb;
				c->txb.max = DP_TXBUF_PER_CORE - DP_TXBUF_SPARE;
				c->ind_mp = dp.ind_mp;
			}
			if ((r = dssh_tcp_stack_new(&tc, &c->tcp)) != 0)
				goto out;
			if ((r = dp_impair_setup(c, &conf->impair)) != 0)
				goto out;
			if ((r = dp_streams_init(&c->streams, conf->hub, i)) != 0) {
				dssh_error("data core %u: crypto engine for the SSH packet layer: %s",
				    i, dssh_err_str(r));
				goto out;
			}
			if (c->ind_mp != NULL) {
				c->streams.tx_mp = dp.txbuf_mp;
				c->streams.tx_room = DP_TXBUF_ROOM;
				c->streams.tx_held = &c->txb.held;
				c->streams.tx_hold_max = c->txb.max;
			}
			c->streams.tcp = dp.active_ok ? c->tcp : NULL;
			c->streams.laddr = conf->ipv4_addr;
			for (unsigned k = 0; conf->hub != NULL && k < conf->n_stream_ports; k++) {
				if ((r = dssh_tcp_listen(c->tcp, conf->ipv4_addr, conf->stream_ports[k])) != 0)
					goto out;
				c->has_streams = true;
				if (i == 0)
					dssh_info("data plane: TCP port %u served by the control thread's "
					    "stream service", conf->stream_ports[k]);
			}
			c->tcp_keepalive = conf->tcp_keepalive;
			if (conf->tcp_echo_port != 0) {
				if ((r = dssh_tcp_listen(c->tcp, conf->ipv4_addr, conf->tcp_echo_port)) != 0)
					goto out;
				c->echo_port = conf->tcp_echo_port;
				dssh_info("data core %u: TCP echo service on port %u", i,
				    conf->tcp_echo_port);
			}
		}
		i++;
	}
	{
		char ip[16], mac[RTE_ETHER_ADDR_FMT_SIZE];

		dssh_net_format_ipv4(conf->ipv4_addr, ip);
		rte_ether_format_addr(mac, sizeof(mac), &ea);
		dssh_info("data plane: %s/%u on port %u (%s), %u data core(s)", ip,
		    conf->prefix_len, dp.port, mac, dp.ncores);
	}
	rte_spinlock_lock(&dp_tel_lock);
	dp_tel = &dp;
	rte_spinlock_unlock(&dp_tel_lock);
	/* Registration cannot be undone; the callbacks check dp_tel. */
	if (rte_telemetry_register_cmd("/dssh/stats", dp_tel_stats,
	    "dssh data plane counters, summed over data cores. Parameters: int core index") != 0 ||
	    rte_telemetry_register_cmd("/dssh/arp", dp_tel_arp,
	    "dssh neighbour table: \"ip mac\" strings") != 0)
		dssh_error("telemetry commands not registered: counters not readable");

	for (i = 0; i < dp.ncores; i++)
		if ((ret = rte_eal_remote_launch(dp_core_loop, &dp.cores[i], dp.cores[i].lcore)) != 0) {
			dssh_error("launch on lcore %u: %s", dp.cores[i].lcore, rte_strerror(-ret));
			r = DSSH_ERR_SYSTEM;
			*stop = 1;
		}
	if (hooked && !*stop)
		(void)conf->on_eal(conf->on_eal_arg, DSSH_DPDK_RUNNING, dp.ncores);
	while (!*stop) {
		uint64_t now = dp_now_ms(&dp);

		dp_control_poll(&dp);
		if (now >= next_link) {
			dp_log_link(&dp, &link);
			next_link = now + 1000;
		}
		usleep(1000);
	}
	r = r == DSSH_ERR_SYSTEM ? r : 0;
	dssh_info("data plane stopping");
 out:
	if (dp.cores != NULL)
		for (i = 0; i < dp.ncores; i++)
			__atomic_store_n(&dp.cores[i].stop, 1, __ATOMIC_RELEASE);
	if (eal)
		rte_eal_mp_wait_lcore();
	if (conf->hub != NULL)
		dp_hub_detach(conf->hub);
	rte_spinlock_lock(&dp_tel_lock);
	dp_tel = NULL;
	rte_spinlock_unlock(&dp_tel_lock);
	if (dp.cores != NULL) {
		struct dp_published tot;

		dp_sum(&dp, -1, &tot);
		dssh_info("totals: rx %" PRIu64 " frames %" PRIu64 " bytes, tx %" PRIu64
		    " frames %" PRIu64 " bytes, dropped %" PRIu64, tot.net.rx_frames,
		    tot.net.rx_bytes, tot.net.tx_frames, tot.net.tx_bytes, tot.net.drops);
		for (int k = 0; k < DSSH_NET_DROP_MAX; k++)
			if (tot.net.drop[k] != 0)
				dssh_info("  dropped %s: %" PRIu64, dssh_net_drop_name(k), tot.net.drop[k]);
	}
	if (port_started) {
		if ((ret = rte_eth_dev_stop(dp.port)) != 0)
			dssh_error("port %u stop: %s", dp.port, rte_strerror(-ret));
	}
	/* Closing removes what the PMD created (net_tap: the kernel interface). */
	if (port_found && (ret = rte_eth_dev_close(dp.port)) != 0)
		dssh_error("port %u close: %s", dp.port, rte_strerror(-ret));
	if (dp.cores != NULL) {
		for (i = 0; i < dp.ncores; i++) {
			/* a core that never ran still has its engine (and stage) */
			if (dp.cores[i].streams.pump != NULL)
				dp_streams_fini(&dp.cores[i].streams, 0);
			dssh_impair_free(dp.cores[i].rx_imp);
			dssh_impair_free(dp.cores[i].tx_imp);
			dssh_net_ctx_free(dp.cores[i].net);
			dssh_tcp_stack_free(dp.cores[i].tcp);
			rte_ring_free(dp.cores[i].to_ctrl);
			rte_ring_free(dp.cores[i].from_ctrl);
		}
		rte_free(dp.cores);
	}
	rte_mempool_free(dp.mp);
	rte_mempool_free(dp.txbuf_mp);
	rte_mempool_free(dp.ind_mp);
	if (hooked)
		(void)conf->on_eal(conf->on_eal_arg, DSSH_DPDK_EAL_DOWN, dp.ncores);
	if (eal) {
		char rundir[PATH_MAX];

		snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
		if ((ret = rte_eal_cleanup()) != 0)
			dssh_error("EAL cleanup: %s", rte_strerror(-ret));
		dssh_dpdk_remove_runtime_dir(rundir);
	}
	dssh_info("data plane stopped");
	return r;
}
