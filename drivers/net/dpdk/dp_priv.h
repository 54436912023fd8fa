/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DP_PRIV_H
#define DP_PRIV_H

/*
 * What the files of the DPDK data plane share: its limits, the data plane
 * (struct dp) and its data cores (struct dp_core), the messages between
 * control and data lcores, the counters each core publishes, and the
 * functions one file calls in another. dataplane.c runs it (set-up, the
 * data cores' poll loop, the control lcore), dp_eal.c builds the EAL's
 * arguments and sizes the mbuf pool, dp_port.c sets the port up,
 * dp_frame.c moves frames and TCP segments in and out of mbufs, dp_wait.c
 * decides how an idle core waits, dp_telemetry.c publishes the counters.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_spinlock.h>

#include "dp_idle.h"
#include "dp_stream.h"
#include "dssh_dpdk.h"
#include "dssh_net.h"
#include "dssh_tcp.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;
struct rte_tel_data;

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

static inline uint64_t
dp_now_ms(const struct dp *dp)
{
	return rte_rdtsc() / dp->tsc_per_ms;
}

static inline uint64_t
dp_now_us(const struct dp *dp)
{
	return rte_rdtsc() / dp->tsc_per_us;
}

/* dp_eal.c: the EAL's arguments and the mbuf pool's size. */
int dp_build_argv(const struct dssh_dpdk_conf *conf, char *store, size_t store_len, char **argv,
    int *argcp, char *lcores, size_t lcores_len);
uint16_t dp_mbuf_room(const struct dssh_dpdk_conf *conf);
unsigned dp_mbuf_need(unsigned ncores);
unsigned dp_mbuf_count(int argc, char **argv, unsigned ncores, uint16_t room);

/* dp_port.c: the port. */
int dp_port_setup(struct dp *dp, const struct dssh_dpdk_conf *conf);
bool dp_port_ok(void *arg, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport);
void dp_log_link(struct dp *dp, int *last);

/* dp_frame.c: frames and TCP segments in and out of mbufs. */
int dp_tx(void *arg, const uint8_t *frame, size_t len, unsigned flags);
void dp_tx_flush(struct dp_core *c);
extern const struct dssh_tcp_buf_ops dp_buf_ops;
int dp_tcp_input(void *arg, struct dssh_net_ctx *ctx, uint32_t src, uint32_t dst,
    const uint8_t *seg, size_t len);
void dp_tcp_output(struct dp_core *c, uint64_t now_ms);
int dp_impair_setup(struct dp_core *c, const struct dssh_impair_conf *conf);

/* dp_wait.c: what a data core does between polls that found nothing. */
void dp_intr_setup(struct dp_core *c);
void dp_intr_teardown(struct dp_core *c);
uint64_t dp_port_bytes(const struct dp_core *c);
void dp_idle(struct dp_core *c, unsigned *idle_run, bool work, uint64_t wake_us);

/* dp_telemetry.c: the published counters and the telemetry commands. */
extern rte_spinlock_t dp_tel_lock;
extern struct dp *dp_tel;
void dp_publish(struct dp_core *c);
void dp_sum(struct dp *dp, int core, struct dp_published *out);
int dp_tel_stats(const char *cmd, const char *params, struct rte_tel_data *d);
int dp_tel_arp(const char *cmd, const char *params, struct rte_tel_data *d);

#endif
