/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client tools' DPDK data plane (dssh_dpdk_client.h): EAL, one port,
 * lib/net and lib/tcp run to completion by the caller's thread, and
 * actively opened TCP connections as lib/stream byte streams: one for dssh,
 * many (each with its own ephemeral port) for dssh-load, all driven by
 * whichever stream's poll runs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include "dssh_dpdk.h"
#include "dssh_dpdk_client.h"
#include "dssh_err.h"
#include "dssh_net.h"
#include "dssh_stream.h"
#include "dssh_tcp.h"
#include "dssh_util.h"

#define DC_MAX_ARGS 64
#define DC_NB_DESC 1024
#define DC_BURST 32
#define DC_TXQ_MAX 128
#define DC_SEGS 16
#define DC_MBUFS 8191
#define DC_MBUF_CACHE 256
#define DC_TIMER_US 1000          /* lib/tcp timers at least this often */
#define DC_TICK_MS 50             /* lib/net (ARP) timers */
#define DC_TCP_BUFFER (1024u * 1024)
#define DC_CONNECT_S 10
#define DC_START_TRIES 100
#define DC_START_RETRY_US 50000
#define DC_MAX_CONNS 4096         /* streams plus TIME-WAIT entries */
#define DC_MSL_US 5000000         /* TIME-WAIT 10 s: ports come back soon */
#define DC_LINGER_US 50000

struct dc_stream {
	struct dssh_stream s;
	struct dssh_dpdk_client *dc;
	struct dssh_tcp_conn *conn;
	bool reset;                   /* reset, refused or timed out */
	bool news;                    /* an event since the owner last looked */
	struct dc_stream *next, **pprev;    /* the open streams */
};

struct dssh_dpdk_client {
	struct dssh_dpdk_client_conf conf;
	char store[1024];             /* the EAL arguments, split in place */
	char prefix_arg[64];
	uint16_t port;
	struct rte_mempool *mp;
	struct dssh_net_ctx *net;
	struct dssh_tcp_stack *tcp;
	struct rte_mbuf *txq[DC_TXQ_MAX];
	unsigned ntx;
	uint64_t now_us, last_timer_us, next_timer_us, next_tick_ms;
	uint64_t tx_dropped;
	struct dc_stream *streams;    /* open ones, for the events */
	uint64_t closed_us;           /* the last close (the port lingers for it) */
	struct dssh_client_transport tr;
	bool port_started;
};

/* The TSC, not clock_gettime: read every poll round, and this VM's
 * clock source made clock_gettime a third of the client's time. */
static uint64_t dc_tsc_per_us = 1;

static uint64_t
dc_clock_us(void)
{
	return rte_rdtsc() / dc_tsc_per_us;
}

/* ---- frames out ---- */

/* Hands queued frames to the port; what it cannot take yet stays queued. */
static void
dc_tx_flush(struct dssh_dpdk_client *dc)
{
	uint16_t n;

	if (dc->ntx == 0)
		return;
	n = rte_eth_tx_burst(dc->port, 0, dc->txq, (uint16_t)dc->ntx);
	if (n < dc->ntx)
		memmove(dc->txq, dc->txq + n, (dc->ntx - n) * sizeof(dc->txq[0]));
	dc->ntx -= n;
}

static struct rte_mbuf *
dc_tx_mbuf(struct dssh_dpdk_client *dc, size_t len, char **p)
{
	struct rte_mbuf *m;

	if (dc->ntx == DC_TXQ_MAX)
		dc_tx_flush(dc);
	if (dc->ntx == DC_TXQ_MAX || len > UINT16_MAX ||
	    (m = rte_pktmbuf_alloc(dc->mp)) == NULL) {
		dc->tx_dropped++;
		return NULL;
	}
	if ((*p = rte_pktmbuf_append(m, (uint16_t)len)) == NULL) {
		rte_pktmbuf_free(m);
		dc->tx_dropped++;
		return NULL;
	}
	return m;
}

/* lib/net's frames (ARP, ICMP, held datagrams). */
static int
dc_tx_frame(void *arg, const uint8_t *frame, size_t len, unsigned flags)
{
	struct dssh_dpdk_client *dc = arg;
	struct rte_mbuf *m;
	char *p;

	(void)flags;              /* no offloads asked for: checksums are complete */
	if ((m = dc_tx_mbuf(dc, len, &p)) == NULL)
		return -1;
	memcpy(p, frame, len);
	dc->txq[dc->ntx++] = m;
	return 0;
}

/* One TCP segment, headers and payload copied into one mbuf. */
static void
dc_tx_seg(struct dssh_dpdk_client *dc, const struct dssh_tcp_seg_out *o)
{
	uint8_t hdr[DSSH_NET_IPV4_HDRS];
	size_t l4 = (size_t)o->hdr_len + o->len;
	unsigned fl = 0;
	struct rte_mbuf *m;
	char *p;

	/* Unresolved next hop: dropped, TCP sends it again. */
	if (dssh_net_ip_header(dc->net, o->daddr, DSSH_NET_PROTO_TCP, l4, hdr, &fl,
	    dc->now_us / 1000) != 0)
		return;
	if ((m = dc_tx_mbuf(dc, sizeof(hdr) + l4, &p)) == NULL)
		return;
	memcpy(p, hdr, sizeof(hdr));
	p += sizeof(hdr);
	memcpy(p, o->hdr, o->hdr_len);
	p += o->hdr_len;
	for (unsigned i = 0; i < o->npay; i++) {
		memcpy(p, o->pay[i], o->pay_len[i]);
		p += o->pay_len[i];
	}
	dc->txq[dc->ntx++] = m;
}

/* What TCP has to send, while the queue has room (the rest waits in TCP). */
static void
dc_output(struct dssh_dpdk_client *dc)
{
	struct dssh_tcp_seg_out segs[DC_SEGS];
	unsigned n;

	do {
		if (dc->ntx + DC_SEGS > DC_TXQ_MAX)
			dc_tx_flush(dc);
		if (dc->ntx + DC_SEGS > DC_TXQ_MAX)
			break;
		n = dssh_tcp_output(dc->tcp, segs, DC_SEGS, dc->now_us);
		for (unsigned i = 0; i < n; i++)
			dc_tx_seg(dc, &segs[i]);
	} while (n == DC_SEGS);
	dc_tx_flush(dc);
}

/* ---- frames in ---- */

static int
dc_tcp_input(void *arg, struct dssh_net_ctx *ctx, uint32_t src, uint32_t dst,
    const uint8_t *seg, size_t len)
{
	struct dssh_dpdk_client *dc = arg;
	struct dssh_tcp_seg_in in = { .saddr = src, .daddr = dst, .data = seg, .len = len };

	(void)ctx;
	return dssh_tcp_input(dc->tcp, &in, dc->now_us);
}

static void
dc_events(struct dssh_dpdk_client *dc)
{
	struct dssh_tcp_event ev[16];
	unsigned n;

	do {
		n = dssh_tcp_events(dc->tcp, ev, DSSH_ARRAY_SIZE(ev));
		for (unsigned i = 0; i < n; i++) {
			struct dc_stream *st = dc->streams;

			while (st != NULL && ev[i].conn != st->conn)
				st = st->next;
			if (st == NULL)
				continue;
			st->news = true;
			if (ev[i].events & DSSH_TCP_EV_RESET)
				st->reset = true;
		}
	} while (n == DSSH_ARRAY_SIZE(ev));
}

/* One round: receive, timers, events, transmit. */
static void
dc_poll_once(struct dssh_dpdk_client *dc)
{
	struct rte_mbuf *pkts[DC_BURST];
	uint16_t n;

	dc->now_us = dc_clock_us();
	n = rte_eth_rx_burst(dc->port, 0, pkts, DC_BURST);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		/* lib/net wants a frame in one piece */
		if (m->nb_segs == 1 || rte_pktmbuf_linearize(m) == 0)
			(void)dssh_net_input(dc->net, rte_pktmbuf_mtod(m, const uint8_t *),
			    m->data_len, 0, dc->now_us / 1000);
		rte_pktmbuf_free(m);
	}
	if (dc->now_us >= dc->next_timer_us || dc->now_us - dc->last_timer_us >= DC_TIMER_US) {
		dc->next_timer_us = dssh_tcp_timers(dc->tcp, dc->now_us);
		dc->last_timer_us = dc->now_us;
	}
	if (dc->now_us / 1000 >= dc->next_tick_ms) {
		dssh_net_tick(dc->net, dc->now_us / 1000);
		dc->next_tick_ms = dc->now_us / 1000 + DC_TICK_MS;
	}
	dc_events(dc);
	dc_output(dc);
}

/* ---- the stream ---- */

static size_t
dcs_peek(struct dssh_stream *s, const uint8_t **p)
{
	struct dc_stream *st = (struct dc_stream *)s;
	const uint8_t *ptr[2];
	size_t len[2];

	if (st->conn == NULL || dssh_tcp_peek(st->conn, ptr, len) == 0)
		return 0;
	*p = ptr[0];
	return len[0];
}

static void
dcs_consume(struct dssh_stream *s, size_t n)
{
	struct dc_stream *st = (struct dc_stream *)s;

	if (st->conn != NULL)
		(void)dssh_tcp_consume(st->conn, n);
}

static ssize_t
dcs_write(struct dssh_stream *s, const void *p, size_t n)
{
	struct dc_stream *st = (struct dc_stream *)s;
	ssize_t w;

	if (st->conn == NULL || st->reset)
		return -1;
	if ((w = dssh_tcp_send(st->conn, p, n)) < 0)
		return -1;
	if (w > 0)
		dc_output(st->dc);    /* on the wire now, not at the next poll */
	return w;
}

static bool
dcs_eof(struct dssh_stream *s)
{
	struct dc_stream *st = (struct dc_stream *)s;

	return st->conn == NULL || st->reset || dssh_tcp_eof(st->conn);
}

static void
dcs_want(struct dssh_stream *s, bool r, bool w)
{
	(void)s;
	(void)r;
	(void)w;
}

static uint32_t
dcs_rtt_us(struct dssh_stream *s)
{
	struct dc_stream *st = (struct dc_stream *)s;
	struct dssh_tcp_conn_info ci;

	if (st->conn == NULL)
		return 0;
	dssh_tcp_conn_get_info(st->conn, &ci);
	return ci.srtt_us;
}

static void
dc_link(struct dssh_dpdk_client *dc, struct dc_stream *st)
{
	st->next = dc->streams;
	if (st->next != NULL)
		st->next->pprev = &st->next;
	st->pprev = &dc->streams;
	dc->streams = st;
}

/*
 * FIN after what was written. The stack finishes the close as the other
 * streams' polls drive it (the next login of dssh-load's handshake storm
 * does not wait for it); dssh_dpdk_client_free drives the port a little
 * longer so that the last bytes and the FIN leave before the port goes.
 */
static void
dcs_close(struct dssh_stream *s)
{
	struct dc_stream *st = (struct dc_stream *)s;
	struct dssh_dpdk_client *dc = st->dc;

	*st->pprev = st->next;
	if (st->next != NULL)
		st->next->pprev = st->pprev;
	if (st->conn != NULL) {
		dssh_tcp_close(st->conn, dc_clock_us());
		dc_output(dc);
		dc->closed_us = dc_clock_us();
	}
	free(st);
}

static const struct dssh_stream_ops dc_stream_ops = {
	.peek = dcs_peek, .consume = dcs_consume, .write = dcs_write, .eof = dcs_eof,
	.want = dcs_want, .close = dcs_close, .rtt_us = dcs_rtt_us,
};

/* ---- the transport ---- */

static int
dc_poll(void *arg, struct dssh_stream *s, int timeout_ms)
{
	struct dssh_dpdk_client *dc = arg;
	struct dc_stream *st = (struct dc_stream *)s;
	uint64_t end = dc_clock_us() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000;

	for (;;) {
		dc_poll_once(dc);
		if (st->news || st->conn == NULL || dssh_tcp_readable(st->conn) > 0 ||
		    dcs_eof(s)) {
			st->news = false;
			return 0;
		}
		if (dc->now_us >= end)
			return 0;
	}
}

static bool
dc_link_up(struct dssh_dpdk_client *dc)
{
	struct rte_eth_link link;

	return rte_eth_link_get_nowait(dc->port, &link) == 0 &&
	    link.link_status == RTE_ETH_LINK_UP;
}

static int
dc_timed_out(const char *host, int port, const char *what)
{
	fprintf(stderr, "dssh: connect to host %s port %d: Connection timed out (%s)\r\n",
	    host, port, what);
	return DSSH_ERR_TIMEOUT;
}

static int
dc_connect(void *arg, const char *host, int port, unsigned timeout_s, struct dssh_stream **out)
{
	struct dssh_dpdk_client *dc = arg;
	struct dc_stream *st;
	struct dssh_tcp_conn_info ci;
	uint32_t raddr, nh;
	uint64_t end = dc_clock_us() + (uint64_t)(timeout_s ? timeout_s : DC_CONNECT_S) * 1000000;
	int r;

	if (dssh_net_parse_ipv4(host, &raddr) != 0) {
		fprintf(stderr, "dssh: %s: the DPDK data plane needs an IPv4 address\r\n", host);
		return DSSH_ERR_INVALID_ARGUMENT;
	}
	if (port <= 0 || port > 65535)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((nh = dssh_net_next_hop(dc->net, raddr)) == 0) {
		fprintf(stderr, "dssh: connect to host %s port %d: No route to host\r\n", host,
		    port);
		return DSSH_ERR_NOT_FOUND;
	}
	/* Link, then the neighbour, then the SYN: the SYN's first copy is
	 * not lost to an unresolved next hop (and a 1 s retransmission). */
	while (!dc_link_up(dc)) {
		dc_poll_once(dc);
		if (dc->now_us >= end)
			return dc_timed_out(host, port, "the DPDK port's link stayed down");
	}
	for (;;) {
		dc_poll_once(dc);
		if (dssh_net_arp_resolve(dc->net, nh, dc->now_us / 1000) == 0)
			break;
		if (dc->now_us >= end)
			return dc_timed_out(host, port, "no ARP reply");
	}
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return DSSH_ERR_ALLOC;
	st->s.ops = &dc_stream_ops;
	st->s.info.via = " (DPDK data plane)";
	st->s.info.dataplane = true;
	st->dc = dc;
	if ((r = dssh_tcp_connect(dc->tcp, dc->conf.ipv4_addr, 0, raddr, (uint16_t)port,
	    dc_clock_us(), &st->conn)) != 0) {
		free(st);
		fprintf(stderr, "dssh: connect to host %s port %d: %s\r\n", host, port,
		    dssh_err_str(r));
		return r;
	}
	dc_link(dc, st);
	for (;;) {
		dc_poll_once(dc);
		dssh_tcp_conn_get_info(st->conn, &ci);
		if (ci.state == DSSH_TCP_ESTABLISHED || ci.state == DSSH_TCP_CLOSE_WAIT)
			break;
		if (st->reset || dc->now_us >= end) {
			bool refused = st->reset;

			dcs_close(&st->s);
			if (refused) {
				fprintf(stderr, "dssh: connect to host %s port %d: Connection "
				    "refused\r\n", host, port);
				return DSSH_ERR_CONN_CLOSED;
			}
			return dc_timed_out(host, port, "no SYN-ACK");
		}
	}
	st->news = false;
	dssh_net_format_ipv4(dc->conf.ipv4_addr, st->s.info.local_ip);
	snprintf(st->s.info.peer_ip, sizeof(st->s.info.peer_ip), "%s", host);
	st->s.info.local_port = ci.lport;
	st->s.info.peer_port = port;
	*out = &st->s;
	return 0;
}

const struct dssh_client_transport *
dssh_dpdk_client_transport(struct dssh_dpdk_client *dc)
{
	return &dc->tr;
}

int
dssh_dpdk_client_thread(struct dssh_dpdk_client *dc)
{
	(void)dc;
	if (rte_lcore_id() != LCORE_ID_ANY)
		return 0;
	if (rte_thread_register() != 0) {
		fprintf(stderr, "dssh: DPDK thread registration: %s\n", rte_strerror(rte_errno));
		return DSSH_ERR_SYSTEM;
	}
	return 0;
}

/* ---- set-up ---- */

static bool
dc_has_arg(int argc, char **argv, const char *prefix)
{
	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

static int
dc_build_argv(struct dssh_dpdk_client *dc, char **argv, int *argcp)
{
	int argc = 0;
	char *p = dc->store;

	if (dc->conf.eal_args != NULL &&
	    strlen(dc->conf.eal_args) >= sizeof(dc->store))
		return DSSH_ERR_CONFIG;
	snprintf(dc->store, sizeof(dc->store), "%s",
	    dc->conf.eal_args != NULL ? dc->conf.eal_args : "");
	argv[argc++] = (char *)"dssh";
	while (*p != '\0') {
		while (isspace((unsigned char)*p))
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (argc >= DC_MAX_ARGS - 4)
			return DSSH_ERR_CONFIG;
		argv[argc++] = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
	}
	/* Nothing on disk unless asked for: a client is no primary process
	 * anyone attaches to. --no-huge rules --in-memory out: a prefix of
	 * our own then, its runtime directory removed at the end. */
	if (!dc_has_arg(argc, argv, "--file-prefix") && !dc_has_arg(argc, argv, "--in-memory")) {
		if (dc_has_arg(argc, argv, "--no-huge")) {
			snprintf(dc->prefix_arg, sizeof(dc->prefix_arg), "--file-prefix=dsshc%ld",
			    (long)getpid());
			argv[argc++] = dc->prefix_arg;
		} else {
			argv[argc++] = (char *)"--in-memory";
		}
	}
	if (!dc_has_arg(argc, argv, "--no-telemetry") && !dc_has_arg(argc, argv, "--telemetry"))
		argv[argc++] = (char *)"--no-telemetry";
	if (!dc_has_arg(argc, argv, "--log-level"))
		argv[argc++] = (char *)"--log-level=4";
	argv[argc] = NULL;
	*argcp = argc;
	return 0;
}

static int
dc_port_setup(struct dssh_dpdk_client *dc)
{
	struct rte_eth_conf pc;
	struct rte_eth_dev_info info;
	uint16_t nb_rxd = DC_NB_DESC, nb_txd = DC_NB_DESC;
	int ret, sock;

	memset(&pc, 0, sizeof(pc));
	if ((ret = rte_eth_dev_info_get(dc->port, &info)) != 0 ||
	    (ret = rte_eth_dev_configure(dc->port, 1, 1, &pc)) != 0 ||
	    (ret = rte_eth_dev_adjust_nb_rx_tx_desc(dc->port, &nb_rxd, &nb_txd)) != 0)
		goto fail;
	if ((sock = rte_eth_dev_socket_id(dc->port)) < 0)
		sock = (int)rte_socket_id();
	if ((ret = rte_eth_rx_queue_setup(dc->port, 0, nb_rxd, (unsigned)sock, NULL, dc->mp)) != 0 ||
	    (ret = rte_eth_tx_queue_setup(dc->port, 0, nb_txd, (unsigned)sock, NULL)) != 0)
		goto fail;
	/* memif has no MTU to set: frames of any size up to its buffers pass. */
	if (dc->conf.mtu != 0 && (ret = rte_eth_dev_set_mtu(dc->port, dc->conf.mtu)) != 0 &&
	    ret != -ENOTSUP)
		fprintf(stderr, "dssh: DPDK port %u: MTU %u not set: %s\n", dc->port,
		    dc->conf.mtu, rte_strerror(-ret));
	/*
	 * A memif client's start connects to the server's socket, which
	 * refuses while it still tears down the previous client's connection
	 * (a dssh run right after another): try again for a few seconds.
	 */
	for (int i = 0; (ret = rte_eth_dev_start(dc->port)) != 0 && i < DC_START_TRIES; i++)
		rte_delay_us_sleep(DC_START_RETRY_US);
	if (ret != 0)
		goto fail;
	dc->port_started = true;
	return 0;
fail:
	fprintf(stderr, "dssh: DPDK port %u: set-up failed: %s\n", dc->port, rte_strerror(-ret));
	return DSSH_ERR_SYSTEM;
}

static int
dc_stack_setup(struct dssh_dpdk_client *dc)
{
	struct rte_ether_addr ea;
	struct dssh_net_conf nc;
	struct dssh_tcp_conf tc;
	uint16_t mtu = dc->conf.mtu ? dc->conf.mtu : DSSH_NET_MTU_DEFAULT;
	int r;

	if (rte_eth_macaddr_get(dc->port, &ea) != 0)
		return DSSH_ERR_SYSTEM;
	memset(&nc, 0, sizeof(nc));
	memcpy(nc.mac, ea.addr_bytes, 6);
	nc.ip = dc->conf.ipv4_addr;
	nc.prefix_len = dc->conf.prefix_len;
	nc.gateway = dc->conf.gateway;
	nc.mtu = mtu;
	nc.tx = dc_tx_frame;
	nc.tx_arg = dc;
	nc.tcp_input = dc_tcp_input;
	nc.tcp_arg = dc;
	if ((r = dssh_net_ctx_new(&nc, &dc->net)) != 0)
		return r;
	dssh_tcp_conf_default(&tc);
	tc.max_conns = DC_MAX_CONNS;
	tc.msl_us = DC_MSL_US;
	tc.mss = (uint16_t)(mtu - 40);
	tc.sndbuf = tc.rcvbuf = dc->conf.tcp_buffer ? dc->conf.tcp_buffer : DC_TCP_BUFFER;
	if ((r = dssh_tcp_stack_new(&tc, &dc->tcp)) != 0)
		return r;
	dc->now_us = dc_clock_us();
	return dssh_net_start(dc->net, dc->now_us / 1000);
}

/* A whole frame of the MTU in one mbuf (lib/net wants frames in one piece). */
static uint16_t
dc_mbuf_room(uint16_t mtu)
{
	unsigned frame = (mtu ? mtu : DSSH_NET_MTU_DEFAULT) + DSSH_NET_ETH_HLEN + 8;

	return (uint16_t)DSSH_MAX((unsigned)RTE_MBUF_DEFAULT_BUF_SIZE,
	    RTE_ALIGN_CEIL(frame, 1024) + RTE_PKTMBUF_HEADROOM);
}

int
dssh_dpdk_client_new(const struct dssh_dpdk_client_conf *conf, struct dssh_dpdk_client **out)
{
	struct dssh_dpdk_client *dc;
	char *argv[DC_MAX_ARGS + 1];
	int argc, r;

	*out = NULL;
	if (conf->ipv4_addr == 0 || conf->prefix_len > 32)
		return DSSH_ERR_INVALID_ARGUMENT;
	if ((dc = calloc(1, sizeof(*dc))) == NULL)
		return DSSH_ERR_ALLOC;
	dc->conf = *conf;
	dc->tr = (struct dssh_client_transport){ .connect = dc_connect, .poll = dc_poll,
	    .arg = dc };
	if ((r = dc_build_argv(dc, argv, &argc)) != 0) {
		fprintf(stderr, "dssh: too many or too long DPDK EAL arguments\n");
		free(dc);
		return r;
	}
	/* EAL and PMD messages to stderr: stdout carries the remote command's. */
	rte_openlog_stream(stderr);
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "dssh: DPDK EAL init failed: %s\n", rte_strerror(rte_errno));
		free(dc);
		return DSSH_ERR_SYSTEM;
	}
	if ((dc_tsc_per_us = rte_get_tsc_hz() / 1000000) == 0)
		dc_tsc_per_us = 1;
	r = DSSH_ERR_CONFIG;
	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "dssh: no DPDK port (give one with --vdev=)\n");
		goto fail;
	}
	RTE_ETH_FOREACH_DEV(dc->port)
		break;
	r = DSSH_ERR_ALLOC;
	if ((dc->mp = rte_pktmbuf_pool_create("dsshc_mbuf", DC_MBUFS, DC_MBUF_CACHE, 0,
	    dc_mbuf_room(conf->mtu), (int)rte_socket_id())) == NULL) {
		fprintf(stderr, "dssh: DPDK mbuf pool: %s\n", rte_strerror(rte_errno));
		goto fail;
	}
	if ((r = dc_port_setup(dc)) != 0 || (r = dc_stack_setup(dc)) != 0)
		goto fail;
	*out = dc;
	return 0;
fail:
	dssh_dpdk_client_free(dc);
	return r;
}

void
dssh_dpdk_client_free(struct dssh_dpdk_client *dc)
{
	char rundir[PATH_MAX];

	if (dc == NULL)
		return;
	while (dc->streams != NULL)
		dcs_close(&dc->streams->s);
	if (dc->closed_us != 0 && dc->tcp != NULL)
		while (dc_clock_us() < dc->closed_us + DC_LINGER_US)
			dc_poll_once(dc);
	for (unsigned i = 0; i < dc->ntx; i++)
		rte_pktmbuf_free(dc->txq[i]);
	dssh_tcp_stack_free(dc->tcp);
	dssh_net_ctx_free(dc->net);
	if (dc->port_started)
		(void)rte_eth_dev_stop(dc->port);
	(void)rte_eth_dev_close(dc->port);
	rte_mempool_free(dc->mp);
	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	(void)rte_eal_cleanup();
	dssh_dpdk_remove_runtime_dir(rundir);
	free(dc);
}

int
dssh_dpdk_client_conf_parse(const char *eal_args, const char *addr,
    struct dssh_dpdk_client_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->eal_args = eal_args;
	if (addr == NULL || dssh_net_parse_ipv4_prefix(addr, &conf->ipv4_addr,
	    &conf->prefix_len) != 0)
		return DSSH_ERR_INVALID_FORMAT;
	return 0;
}
