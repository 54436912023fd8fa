/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data plane's run (dssh_dpdk_dataplane_run): EAL, pools, port and
 * data cores set up, the control lcore's loop (ARP entries relayed between
 * the cores, link state) and the teardown. Each data core runs
 * dp_core_loop: receive, TCP timers and events (the built-in echo service
 * or the stream hub), transmit, and dp_idle when there was nothing to do.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
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

#include "dp_priv.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_net.h"
#include "dssh_tcp.h"
#include "dssh_util.h"

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
