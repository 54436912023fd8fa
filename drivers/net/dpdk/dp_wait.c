/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * How a data core waits once its queue is empty: busy polling yields now
 * and then; adaptive polling blocks on the queue's RX interrupt (net_tap's
 * signal made the core's own while it blocks) or net_af_packet's socket,
 * and the bell, or else takes the timed sleeps of dp_idle.h's policy.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "dp_priv.h"
#include "dssh_log.h"
#include "dssh_util.h"

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
void
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

void
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
	/* net_tap: no block when a frame already waits (dp_rx_sig_take) */
	if (c->rx_sig_fd < 0 || dp_rx_sig_take(c)) {
		c->st.intr_waits++;
		dp_publish(c);      /* telemetry stays current while the core sleeps */
		(void)rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, 3, ms);
	}
	dp_rx_sig_give(c);
	if (c->has_streams)
		(void)dp_streams_sleep(&c->streams, false);
	(void)rte_eth_dev_rx_intr_disable(c->port, c->queue);
}

/* The bytes the port moved in and out: what tells a transfer from idling. */
uint64_t
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
void
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
