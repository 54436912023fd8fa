/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_STREAM_H
#define DSSH_STREAM_H

/*
 * The transport under one SSH connection, as the control side sees it: a
 * byte stream (or, where a data core runs the packet layer, a stream of
 * records, dssh_record.h) that some backend implements. Kernel sockets
 * (drivers/net/kernel) and the DPDK data plane's streams (drivers/net/dpdk)
 * both provide these ops, so the daemon above them has one code path.
 *
 * Events: the backend calls on_event(owner) when the stream may have become
 * readable or writable, or reached EOF; the owner then peeks, consumes and
 * writes until it would block. Nothing here is thread-safe: a stream
 * belongs to the thread that accepted it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct dssh_stream;

struct dssh_stream_info {
	char peer_ip[64], local_ip[64];
	int peer_port, local_port;
	const char *via;          /* for the log: "" or " (DPDK data plane)" */
	bool records;             /* the packet layer runs below: records, not wire bytes */
	bool dataplane;           /* a DPDK data-plane connection ... */
	unsigned core;            /* ... owned by this data core (dsshctl shows it) */
};

struct dssh_stream_ops {
	/* Received bytes not yet consumed, one contiguous piece; 0: none now.
	 * The piece stays valid until consume or the next peek. */
	size_t (*peek)(struct dssh_stream *s, const uint8_t **p);
	void (*consume)(struct dssh_stream *s, size_t n);
	/* Optional (NULL: peek and consume only): up to n received bytes
	 * copied to p, i.e. received straight there; 0: none now (or EOF:
	 * see eof). Not between a peek and its consume. */
	size_t (*read)(struct dssh_stream *s, uint8_t *p, size_t n);
	/* Bytes taken; 0: full for now (on_event follows when there is room);
	 * -1: the transport is gone. */
	ssize_t (*write)(struct dssh_stream *s, const void *p, size_t n);
	/* The peer closed (or the transport died) and everything was read. */
	bool (*eof)(struct dssh_stream *s);
	/* What the owner waits for; a backend that reports every change
	 * anyway may ignore it. */
	void (*want)(struct dssh_stream *s, bool readable, bool writable);
	/* Let go: what was written is still sent, then FIN. s is gone. */
	void (*close)(struct dssh_stream *s);
	/* The transport's smoothed round trip in microseconds, 0 unknown. */
	uint32_t (*rtt_us)(struct dssh_stream *s);
};

struct dssh_stream {
	const struct dssh_stream_ops *ops;
	struct dssh_stream_info info;
	void (*on_event)(void *owner);   /* set by the owner */
	void *owner;
};

/* A backend that hands over new streams: its fd is readable when
 * dispatch() has something to do; dispatch calls on_open for each new
 * stream and on_event for streams with news. */
struct dssh_stream_source {
	int fd;
	void (*dispatch)(void *ctx, void (*on_open)(void *arg, struct dssh_stream *s), void *arg);
	void *ctx;
};

static inline size_t
dssh_stream_peek(struct dssh_stream *s, const uint8_t **p)
{
	return s->ops->peek(s, p);
}

static inline void
dssh_stream_consume(struct dssh_stream *s, size_t n)
{
	s->ops->consume(s, n);
}

static inline bool
dssh_stream_can_read(const struct dssh_stream *s)
{
	return s->ops->read != NULL;
}

static inline size_t
dssh_stream_read(struct dssh_stream *s, uint8_t *p, size_t n)
{
	return s->ops->read(s, p, n);
}

static inline ssize_t
dssh_stream_write(struct dssh_stream *s, const void *p, size_t n)
{
	return s->ops->write(s, p, n);
}

static inline bool
dssh_stream_eof(struct dssh_stream *s)
{
	return s->ops->eof(s);
}

static inline void
dssh_stream_want(struct dssh_stream *s, bool readable, bool writable)
{
	s->ops->want(s, readable, writable);
}

static inline uint32_t
dssh_stream_rtt_us(struct dssh_stream *s)
{
	return s->ops->rtt_us != NULL ? s->ops->rtt_us(s) : 0;
}

static inline void
dssh_stream_close(struct dssh_stream *s)
{
	s->ops->close(s);
}

#endif
