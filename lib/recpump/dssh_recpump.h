/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_RECPUMP_H
#define DSSH_RECPUMP_H

/*
 * The SSH record pump of a data core (see dssh_record.h): between each of
 * the core's TCP connections (lib/tcp) and the control thread's engine,
 * which sees records through two byte pipes per connection (up: opened
 * packets and markers for the engine; down: the engine's records).
 *
 * A flush takes every connection with input or output waiting and works in
 * rounds: packets of all of them gathered into one burst, sealed or opened
 * with the core's crypto engine, then delivered in order (records into the
 * up pipe, wire bytes into TCP). Room is promised before a packet is taken,
 * so delivery never fails half way. Nothing here knows the NIC: buffers to
 * seal into, events for the control thread and references on the driver's
 * connection object go through struct dssh_recpump_ops.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dssh_pipe;
struct dssh_rec;
struct dssh_tcp_conn;
struct dssh_recpump;            /* one per data core */
struct dssh_recpump_conn;       /* one per connection */

#define DSSH_RECPUMP_BURST 64           /* packets sealed/opened in one burst */
#define DSSH_RECPUMP_STAGE (2u << 20)   /* default staging bytes (>= 1 packet) */
#define DSSH_RECPUMP_MARK_MAX 1024      /* largest marker body (keys, version line) */
#define DSSH_RECPUMP_TX_REF_MIN 1024    /* default: shorter packets go in the TCP ring */

struct dssh_recpump_ops {
	/*
	 * A buffer to seal one packet of wire bytes into, to be queued by
	 * reference (dssh_tcp_send_ref, whose hold takes TCP's own
	 * reference), with *data its first byte; NULL: none (the packet is
	 * sealed in the TCP ring). NULL function: never.
	 */
	void *(*tx_buf_get)(void *arg, size_t wire, uint8_t **data);
	/* Drops the pump's reference to a buffer of tx_buf_get. */
	void (*tx_buf_put)(void *arg, void *buf);
	/* A reference on the driver's connection object (udata) while it is
	 * on a list of the pump's, dropped when it leaves it. */
	void (*ref)(void *udata);
	void (*unref)(void *udata);
	/* A connection's input round ended: records went up (posted), the
	 * peer's input ended with no error left to report (eof). */
	void (*rx_done)(void *arg, void *udata, bool posted, bool eof);
	/* A connection's output round ended: packets went out (moved); or
	 * its output cannot go on (fatal: the driver resets it). */
	void (*tx_done)(void *arg, void *udata, bool moved, bool fatal);
	/*
	 * CHAN_CONNECT: open a TCP connection of the core's stack to
	 * raddr:rport (IPv4, host order) with the pump's tag as its owner
	 * (dssh_recpump_chan_tcp_event gets its events); 0 or DSSH_ERR_*.
	 * NULL: never (every CHAN_CONNECT fails).
	 */
	int (*connect)(void *arg, uint32_t raddr, uint16_t rport, void *tag,
	    struct dssh_tcp_conn **out);
};

struct dssh_recpump_conf {
	const char *engine;             /* dssh_crypto engine name */
	unsigned core;                  /* for log lines */
	size_t stage_size;              /* 0: DSSH_RECPUMP_STAGE */
	size_t tx_ref_min;              /* 0: DSSH_RECPUMP_TX_REF_MIN */
	const struct dssh_recpump_ops *ops;
	void *arg;
};

/* Counters (the data plane's telemetry: ssh_*, and stream bytes). */
struct dssh_recpump_stats {
	uint64_t rx_packets, tx_packets, bursts, burst_ops, errors;
	uint64_t rx_bytes, tx_bytes;    /* wire bytes taken from / put in TCP */
	/* Channel offload: channels taken over, data bytes written to the
	 * children's stdin and read from their stdout/stderr. */
	uint64_t chan_offloads, chan_rx_bytes, chan_tx_bytes;
	/* Bytes queued for children's stdin now (each channel's queue is
	 * bounded by its window): the memory the core holds for slow children. */
	uint64_t chan_queued;
	/* CHAN_CONNECT: connects made, refused (or reset before they
	 * completed), timed out; target connections open now. */
	uint64_t chan_connects, chan_connect_fail, chan_connect_timeout, chan_tcp_active;
};

/* The core's own engine instance is made here. 0 or DSSH_ERR_*. */
int dssh_recpump_new(const struct dssh_recpump_conf *conf, struct dssh_recpump **out);
/* After every connection was detached: drops what is still dirty. */
void dssh_recpump_free(struct dssh_recpump *p);
const struct dssh_recpump_stats *dssh_recpump_stats(const struct dssh_recpump *p);

/*
 * A connection: input from tcp into up (records), output from down into
 * tcp. up_wait: a flag the pump sets (sequentially consistent, then checks
 * up once more) when up has no room; whoever reads up clears it and marks
 * the connection dirty for input. id names it in log lines.
 */
int dssh_recpump_conn_new(struct dssh_recpump *p, struct dssh_tcp_conn *tcp,
    struct dssh_pipe *up, struct dssh_pipe *down, uint32_t *up_wait, void *udata, uint32_t id,
    struct dssh_recpump_conn **out);
/* The TCP connection is gone or let go: the packet layer ends with it (its
 * SAs belong to the core's engine). The object stays for the lists. */
void dssh_recpump_conn_detach(struct dssh_recpump_conn *c);
/* Frees it (any thread) once no list of the pump holds it. NULL ok. */
void dssh_recpump_conn_free(struct dssh_recpump_conn *c);
/* Its packet layer (dssh_record.h), for its state; NULL once detached. */
const struct dssh_rec *dssh_recpump_conn_rec(const struct dssh_recpump_conn *c);
/* The control thread is done with it: no more input is taken. */
void dssh_recpump_conn_close(struct dssh_recpump_conn *c);
/* For the next flush: input (rx) or output waiting. */
void dssh_recpump_mark(struct dssh_recpump_conn *c, bool rx);
/* TCP events (DSSH_TCP_EV_*): READABLE or PEER_FIN mark input dirty (and a
 * FIN is noted: a packet it cut short is dropped), WRITABLE output. For a
 * connection reset or closed, pass READABLE only, flush, then detach. */
void dssh_recpump_tcp_event(struct dssh_recpump_conn *c, uint32_t events);

/*
 * Channel offload (dssh_record.h): the pump writes and reads the child fds
 * of offloaded channels itself. They are watched by an epoll fd of the
 * pump's (readable when any of them is ready: for the core's blocking
 * wait); dssh_recpump_chan_poll takes its events without blocking (stdin
 * written, output connections marked) and returns how many there were;
 * flush after it.
 */
int dssh_recpump_chan_fd(const struct dssh_recpump *p);
bool dssh_recpump_chan_active(const struct dssh_recpump *p);   /* any channel offloaded */
unsigned dssh_recpump_chan_poll(struct dssh_recpump *p);
/*
 * Target connections of CHAN_CONNECT (the core's own TCP): the driver
 * passes the events of a connection it made through ops->connect with the
 * tag it was given, and calls chan_timers now and then (the connect
 * timeout). now_us: the TCP stack's clock (also used when the pump closes
 * such a connection).
 */
#define DSSH_RECPUMP_CONNECT_TIMEOUT_US 10000000ull
void dssh_recpump_chan_tcp_event(struct dssh_recpump *p, void *tag, uint32_t events,
    uint64_t now_us);
void dssh_recpump_chan_timers(struct dssh_recpump *p, uint64_t now_us);
/* A down pipe nobody will read any more (its stream is being freed):
 * the fds of the CHAN_OFFLOAD markers still in it are closed. */
void dssh_recpump_down_drop(struct dssh_pipe *down);

/* Seals and opens what is waiting. */
void dssh_recpump_flush(struct dssh_recpump *p);
bool dssh_recpump_dirty(const struct dssh_recpump *p);

#endif
