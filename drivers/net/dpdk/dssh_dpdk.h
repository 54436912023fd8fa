/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_DPDK_H
#define DSSH_DPDK_H

/*
 * DPDK data plane: EAL, one Ethernet port, one control lcore (the main
 * lcore, the caller's thread) and N data lcores each polling its own RX/TX
 * queue pair with its own lib/net context. Control and data lcores talk
 * through rte_ring; per-core counters are published to DPDK telemetry as
 * "/dssh/stats" (and the control core's neighbour table as "/dssh/arp").
 * Each data lcore also runs its own lib/tcp stack, fed from lib/net.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dssh_impair.h"
#include "dssh_stream.h"

struct dssh_dpdk_hub;

/* Points in the data plane's life that its caller may hook (on_eal). */
enum dssh_dpdk_eal_event {
	DSSH_DPDK_EAL_UP,         /* rte_eal_init done, no data core engine made yet */
	DSSH_DPDK_RUNNING,        /* the data cores run */
	DSSH_DPDK_EAL_DOWN,       /* the data cores stopped, before rte_eal_cleanup */
};

struct dssh_dpdk_conf {
	/* EAL arguments, whitespace separated, e.g.
	 * "--no-pci --no-huge -m 256 --vdev=net_tap0,iface=dtap0". Added when
	 * missing: -l 0-N (control + N data lcores), --file-prefix=dssh,
	 * --no-huge (and -m 256) when the machine has no free hugepages,
	 * --huge-unlink when it has. */
	const char *eal_args;
	uint32_t ipv4_addr;       /* host byte order */
	uint8_t prefix_len;
	uint32_t gateway;         /* 0: none */
	bool ipv6_enabled;        /* IPv6 with neighbour discovery, on-link only */
	uint8_t ipv6_addr[16];
	uint8_t ipv6_prefix_len;
	unsigned n_data_cores;    /* 0: 1 */
	uint16_t mtu;             /* 0: 1500 */
	uint32_t tcp_buffer;      /* each connection's TCP send/receive buffer; 0: lib/tcp's */
	bool tcp_keepalive;       /* keepalives on the stream ports' connections (TCPKeepAlive) */
	bool sw_csum;             /* ignore checksum offloads (and so TSO) even where offered */
	bool no_tso;              /* segment in software even where TSO is offered */
	/* Poll without ever sleeping (only yielding now and then); default:
	 * adaptive, sleeping a few microseconds once the queue stays empty. */
	bool busy_poll;
	/*
	 * Built-in TCP echo service for tests (0: none): every connection
	 * accepted on this port echoes what it receives and closes when the
	 * peer closes. Needs n_data_cores == 1 (RSS may spread a flow).
	 */
	uint16_t tcp_echo_port;
	/*
	 * Byte-stream service (NULL: none): TCP connections accepted on
	 * stream_ports[] are handed to the control thread through the hub,
	 * which the caller created with dssh_dpdk_hub_new() and frees after
	 * this function returned. dsshd serves SSH this way.
	 */
	struct dssh_dpdk_hub *hub;
	uint16_t stream_ports[8];
	unsigned n_stream_ports;
	/*
	 * Impairment (dssh_impair.h; all zero: none): applied on every data
	 * core to received frames before the stack sees them and to frames
	 * before they are transmitted, each direction with its own seeded
	 * stage. For tests of TCP under loss, reordering, duplication and
	 * delay, and for operators reproducing bad networks.
	 */
	struct dssh_impair_conf impair;
	/*
	 * Optional, called on the data plane's thread (the EAL's main lcore)
	 * with the number of data cores: e.g. at EAL_UP, set up a crypto device
	 * from the EAL arguments with a queue pair for each data core's engine
	 * (non-zero there stops the data plane); at EAL_DOWN, release what
	 * EAL_UP made. EAL_DOWN follows EAL_UP even when RUNNING never came.
	 */
	int (*on_eal)(void *arg, enum dssh_dpdk_eal_event ev, unsigned n_data_cores);
	void *on_eal_arg;
};

/*
 * Runs the data plane until *stop becomes non-zero (e.g. set by a SIGTERM
 * handler), then stops and closes the port and cleans up the EAL. May be
 * called once per process (an EAL restriction). 0 or a negative DSSH_ERR_*.
 */
int dssh_dpdk_dataplane_run(const struct dssh_dpdk_conf *conf, volatile int *stop);

/*
 * The counters of /dssh/stats for dsshctl and the metrics endpoint: fn is
 * called (under the telemetry lock: it must not block) with each counter's
 * name and value for one data core, or summed over all with core -1 (then
 * also the pools' mbufs in use); gauge: a level, not a running total.
 * Returns the number of data cores, or DSSH_ERR_NOT_FOUND when the data
 * plane does not run or has no such core.
 */
typedef void (*dssh_dpdk_stat_fn)(void *arg, const char *name, uint64_t v, bool gauge);
int dssh_dpdk_stats_visit(int core, dssh_dpdk_stat_fn fn, void *arg);

/*
 * ---- Byte streams: data-plane TCP connections seen from the control thread ----
 *
 * A data core owns each TCP connection; the control thread (which runs the
 * SSH engine, PAM and the session processes) reads and writes the byte
 * stream through two lock-free single-producer single-consumer pipes per
 * connection. Events travel through rte_rings: data cores post streams
 * that have news to the hub (and kick its eventfd, at most once per drain),
 * the control thread posts streams with new output or a close to the
 * owning core. A stream is freed when the data core, the control thread and
 * every ring entry have let go of it.
 */
struct dssh_dpdk_stream;

enum dssh_dpdk_stream_event_bits {
	DSSH_DPDK_EV_OPEN     = 1u << 0,  /* a new connection, now the control thread's */
	DSSH_DPDK_EV_READABLE = 1u << 1,  /* bytes to read */
	DSSH_DPDK_EV_WRITABLE = 1u << 2,  /* space to write after a short write */
	DSSH_DPDK_EV_EOF      = 1u << 3,  /* the peer closed or the connection died */
};

struct dssh_dpdk_stream_event {
	struct dssh_dpdk_stream *stream;
	uint32_t events;
};

struct dssh_dpdk_stream_info {
	uint32_t laddr, raddr;    /* IPv4, host byte order */
	uint16_t lport, rport;
	unsigned core;            /* the data core that owns the connection */
};

/* Up to max_streams open at once (further connections are reset); each
 * direction of a stream buffers pipe_bytes. */
int dssh_dpdk_hub_new(unsigned max_streams, size_t pipe_bytes, struct dssh_dpdk_hub **hubp);
void dssh_dpdk_hub_free(struct dssh_dpdk_hub *hub);
/* Before the data plane starts: the SSH packet layer (framing, seal/open)
 * runs on the data cores, each with its own instance of this crypto engine;
 * streams then carry records (dssh_record.h). NULL: plain bytes. */
int dssh_dpdk_hub_set_packet_layer(struct dssh_dpdk_hub *hub, const char *engine);
bool dssh_dpdk_hub_packet_layer(const struct dssh_dpdk_hub *hub);
/* Readable (eventfd) when streams have events; then call dssh_dpdk_hub_poll
 * until it returns fewer than n. */
int dssh_dpdk_hub_fd(const struct dssh_dpdk_hub *hub);
unsigned dssh_dpdk_hub_poll(struct dssh_dpdk_hub *hub, struct dssh_dpdk_stream_event *ev,
    unsigned n);
/* Streams open now (diagnostics, tests). */
unsigned dssh_dpdk_hub_streams(const struct dssh_dpdk_hub *hub);

/* In-place read: up to two pieces of what arrived; consume what was used. */
unsigned dssh_dpdk_stream_peek(struct dssh_dpdk_stream *s, const uint8_t *ptr[2],
    size_t len[2]);
void dssh_dpdk_stream_consume(struct dssh_dpdk_stream *s, size_t n);
/* Bytes accepted (fewer than n when the pipe is full: EV_WRITABLE follows). */
size_t dssh_dpdk_stream_write(struct dssh_dpdk_stream *s, const void *data, size_t n);
/* The peer closed (or the connection is gone) and everything was read. */
bool dssh_dpdk_stream_eof(struct dssh_dpdk_stream *s);
void dssh_dpdk_stream_get_info(const struct dssh_dpdk_stream *s,
    struct dssh_dpdk_stream_info *info);
/* The control thread's own pointer for the stream. */
void dssh_dpdk_stream_set_udata(struct dssh_dpdk_stream *s, void *udata);
void *dssh_dpdk_stream_udata(const struct dssh_dpdk_stream *s);
/* Done with it: the data core sends what was written, then FIN. The
 * pointer must not be used again. */
void dssh_dpdk_stream_close(struct dssh_dpdk_stream *s);

/* The hub as a source of dssh_streams (hub_stream.c): the control thread
 * polls src->fd and calls src->dispatch, which wraps each new connection. */
void dssh_dpdk_hub_stream_source(struct dssh_dpdk_hub *hub, struct dssh_stream_source *src);

#endif
