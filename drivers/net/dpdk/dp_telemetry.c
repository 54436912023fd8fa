/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counters: each data core publishes a copy of its own (lib/net's, the
 * driver's, lib/tcp's, the streams' and the record pump's) with relaxed
 * atomic stores; the telemetry command "/dssh/stats" and
 * dssh_dpdk_stats_visit() sum them, "/dssh/arp" reads the control lcore's
 * copy of the neighbour table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_spinlock.h>
#include <rte_telemetry.h>

#include "dp_priv.h"
#include "dssh_err.h"

/*
 * Telemetry callbacks take no user argument in DPDK 22.11: the one running
 * data plane is reachable through this pointer, on the management path only.
 */
rte_spinlock_t dp_tel_lock = RTE_SPINLOCK_INITIALIZER;
struct dp *dp_tel;

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

void
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

void
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

int
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

int
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
