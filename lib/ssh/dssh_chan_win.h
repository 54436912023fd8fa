/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_CHAN_WIN_H
#define DSSH_CHAN_WIN_H

/*
 * Channel flow control (RFC 4254 5.2), the one set of rules for every side
 * that moves channel data: the control thread's engine and a data core's
 * channel pump. No I/O: the caller sends the WINDOW_ADJUST these functions
 * ask for.
 *
 * Receive side: `size` is the window we advertise; `local` is what the peer
 * may still send; `consumed` is what the host has taken but we have not
 * re-advertised. An adjust is due once a step of the window was consumed
 * (an eighth: small enough that a long fat path never sees the window run
 * low, large enough that adjusts stay rare next to the data).
 *
 * The window starts at DSSH_CHAN_WIN_START (OpenSSH's own, 2 MiB) and
 * doubles, up to `max` (ChannelWindowSize), at an adjust once the peer sent
 * three quarters of the window or more within one round trip of the
 * transport (dssh_chan_win_pace) while the host took everything it sent:
 * then the window, not the consumer, limits the channel. It never grows for
 * a slow consumer, nor where the round trip is short (a round trip under
 * 1 ms counts as 1 ms: a 2 MiB window grows there only past 1.5 GB/s). That matters for stock OpenSSH clients:
 * they read their input into a buffer as long as the window allows, and one
 * that nears their 16 MiB channel buffer limit is compacted (a memmove of
 * all of it) on every read, so a client that is itself the bottleneck burns
 * its CPU on copies when offered a 16 MiB window it cannot fill.
 * Send side: `remote` is what the peer lets us send, grown by its adjusts
 * (saturating at 2^32 - 1, as the RFC allows for windows that never close).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DSSH_CHAN_WIN_DEFAULT (16u * 1024 * 1024)    /* the largest it grows to */
#define DSSH_CHAN_WIN_START (2u * 1024 * 1024)
#define DSSH_CHAN_WIN_MIN (64u * 1024)
#define DSSH_CHAN_WIN_MAX (1024u * 1024 * 1024)
/* The largest data a peer may put in one packet (our open confirmation). */
#define DSSH_CHAN_MAXPACKET (32u * 1024)

struct dssh_chan_win {
	uint32_t size;       /* advertised receive window */
	uint32_t max;        /* what size may grow to */
	uint32_t local;      /* bytes the peer may still send */
	uint32_t consumed;   /* taken by the host, not yet re-advertised */
	uint32_t remote;     /* bytes we may still send */
	/* Auto-tuning: what arrived in the current round trip. */
	uint64_t rt_start_us;
	uint32_t rt_bytes;
	bool limited;        /* the window limited a round trip: grow at the next adjust */
};

/* max 0: the default. The peer's initial window comes with its open. */
static inline void
dssh_chan_win_init(struct dssh_chan_win *w, uint32_t max, uint32_t peer_window)
{
	w->max = max != 0 ? max : DSSH_CHAN_WIN_DEFAULT;
	w->size = w->max < DSSH_CHAN_WIN_START ? w->max : DSSH_CHAN_WIN_START;
	w->local = w->size;
	w->consumed = 0;
	w->remote = peer_window;
	w->rt_start_us = 0;
	w->rt_bytes = 0;
	w->limited = false;
}

/* n bytes of data arrived at now_us over a transport whose smoothed round
 * trip is rtt_us (0: unknown, and the window never grows). */
static inline void
dssh_chan_win_pace(struct dssh_chan_win *w, size_t n, uint64_t now_us, uint32_t rtt_us)
{
	uint64_t period = rtt_us > 1000 ? rtt_us : 1000;

	if (rtt_us == 0 || w->size >= w->max)
		return;
	if (now_us - w->rt_start_us >= period) {
		w->rt_start_us = now_us;
		w->rt_bytes = 0;
	}
	w->rt_bytes += n > UINT32_MAX - w->rt_bytes ? UINT32_MAX - w->rt_bytes : (uint32_t)n;
	if (w->rt_bytes >= w->size - w->size / 4)
		w->limited = true;
}

/* n bytes of data arrived: false when they are past the window (a
 * protocol error), else they are counted against it. */
static inline bool
dssh_chan_win_receive(struct dssh_chan_win *w, size_t n)
{
	if (n > w->local)
		return false;
	w->local -= (uint32_t)n;
	return true;
}

/* How much the window grows at this adjust (see above): 0 or up to size. */
static inline uint32_t
dssh_chan_win_growth(const struct dssh_chan_win *w)
{
	if (!w->limited || w->size >= w->max || w->consumed != w->size - w->local)
		return 0;
	return w->max - w->size < w->size ? w->max - w->size : w->size;
}

/* The host took n bytes; returns how much to advertise now (0: nothing
 * yet), growth included. Call dssh_chan_win_adjusted() with it once the
 * adjust was queued. */
static inline uint32_t
dssh_chan_win_consume(struct dssh_chan_win *w, size_t n)
{
	uint64_t c = (uint64_t)w->consumed + n;

	/* Never more than was received: a confused host cannot open the
	 * window past its size. */
	if (c > (uint64_t)w->size - w->local)
		c = (uint64_t)w->size - w->local;
	w->consumed = (uint32_t)c;
	return w->consumed >= w->size / 8 ? w->consumed + dssh_chan_win_growth(w) : 0;
}

/* An adjust of n was sent: what it gives beyond the consumed bytes is growth. */
static inline void
dssh_chan_win_adjusted(struct dssh_chan_win *w, uint32_t n)
{
	uint32_t grow = n > w->consumed ? n - w->consumed : 0;

	if (grow > 0) {
		w->limited = false;     /* the new size is measured afresh */
		w->rt_bytes = 0;
	}
	w->size += grow;
	w->local += n;
	w->consumed -= n - grow;
}

/* The peer's WINDOW_ADJUST. */
static inline void
dssh_chan_win_peer_adjust(struct dssh_chan_win *w, uint32_t add)
{
	w->remote = add > UINT32_MAX - w->remote ? UINT32_MAX : w->remote + add;
}

/* We sent n bytes of data (n no more than w->remote). */
static inline void
dssh_chan_win_sent(struct dssh_chan_win *w, size_t n)
{
	w->remote -= (uint32_t)n;
}

#endif
