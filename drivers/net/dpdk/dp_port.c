/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Ethernet port: its queues and offloads (checksums, TSO), RSS and
 * the redirection table the data cores' active opens need to pick source
 * ports whose replies come back to them, and its link state in the log.
 */
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_thash.h>

#include "dp_priv.h"
#include "dssh_err.h"
#include "dssh_log.h"

void
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
bool
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

int
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
