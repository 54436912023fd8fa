/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pre-authentication admission for every loop and both backends (see
 * dsshd_limits.h). Loops are threads: the count of startups is an atomic, the
 * tables and the throttling state are under one mutex, taken once per new
 * connection and once when a connection authenticates or ends.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "dsshd_limits.h"

/* sshd repeats "in MaxStartups throttling" at most this often. */
#define THROTTLE_LOG_INTERVAL_MS (5u * 60 * 1000)

struct dsshd_limits {
	const struct dssh_config *cfg;
	struct dssh_maxstartups ms;
	struct dssh_cidr *exempt;
	unsigned nexempt;
	pthread_mutex_t lock;
	struct dssh_srccount per_source;
	struct dssh_penalty_table *penalties;   /* NULL: PerSourcePenalties no */
	bool throttling;
	uint64_t throttle_first_ms, throttle_log_ms;
	unsigned throttle_dropped;
};

static uint64_t counters[DSSHD_LIM_NCOUNTERS];
static unsigned startups;       /* atomic: unauthenticated connections, every loop */

static const char *const counter_names[] = {
#define DSSHD_X(n) #n,
	DSSHD_LIMIT_COUNTERS(DSSHD_X)
#undef DSSHD_X
};

void
dsshd_limits_count(enum dsshd_limit_counter k)
{
	__atomic_fetch_add(&counters[k], 1, __ATOMIC_RELAXED);
}

uint64_t
dsshd_limits_counter(enum dsshd_limit_counter k)
{
	return __atomic_load_n(&counters[k], __ATOMIC_RELAXED);
}

const char *
dsshd_limits_counter_name(enum dsshd_limit_counter k)
{
	return counter_names[k];
}

unsigned
dsshd_limits_startups(void)
{
	return __atomic_load_n(&startups, __ATOMIC_RELAXED);
}

void
dsshd_limits_log_counters(void)
{
	char line[1024];
	size_t off = 0;

	for (int k = 0; k < DSSHD_LIM_NCOUNTERS && off < sizeof(line); k++)
		off += (size_t)snprintf(line + off, sizeof(line) - off, " %s=%llu",
		    counter_names[k], (unsigned long long)dsshd_limits_counter(k));
	dssh_info("limits: startups=%u%s", dsshd_limits_startups(), line);
}

int
dsshd_limits_new(const struct dssh_config *cfg, struct dsshd_limits **out)
{
	struct dsshd_limits *l = calloc(1, sizeof(*l));
	int r;

	*out = l;
	if (l == NULL)
		return DSSH_ERR_ALLOC;
	l->cfg = cfg;
	pthread_mutex_init(&l->lock, NULL);
	if (dssh_maxstartups_parse(cfg->max_startups, &l->ms) != 0) {
		dssh_error("bad MaxStartups \"%s\"", cfg->max_startups);
		return DSSH_ERR_CONFIG;
	}
	if (strcmp(cfg->penalty_exempt_list, "none") != 0 &&
	    dssh_cidr_list_parse(cfg->penalty_exempt_list, &l->exempt, &l->nexempt) != 0) {
		dssh_error("bad PerSourcePenaltyExemptList \"%s\"", cfg->penalty_exempt_list);
		return DSSH_ERR_CONFIG;
	}
	if (cfg->penalty_conf.enabled &&
	    (r = dssh_penalty_table_new(&cfg->penalty_conf, &l->penalties)) != 0)
		return r;
	return 0;
}

void
dsshd_limits_free(struct dsshd_limits *l)
{
	if (l == NULL)
		return;
	dssh_penalty_table_free(l->penalties);
	dssh_srccount_free(&l->per_source);
	free(l->exempt);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* A uniform number below 100, per thread, seeded from the kernel. */
static unsigned
rand_pct(void)
{
	static __thread uint64_t s;

	while (s == 0)
		if (getrandom(&s, sizeof(s), 0) != sizeof(s))
			s = dssh_now_ns() | 1;
	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return (unsigned)(((s * 0x2545F4914F6CDD1DULL) >> 32) % 100);
}

static void
format_block(const struct dssh_addr *b, const struct dssh_config *cfg, char *buf, size_t n)
{
	char ip[64];

	dssh_addr_format(b, ip, sizeof(ip));
	snprintf(buf, n, "%s/%d", ip, b->af == 4 ? cfg->per_source_netblock4 :
	    cfg->per_source_netblock6);
}

/* sshd's throttling lines; called with the lock held, for a drop. */
static void
throttle_drop_locked(struct dsshd_limits *l, uint64_t now)
{
	if (!l->throttling) {
		dssh_error("beginning MaxStartups throttling");
		l->throttling = true;
		l->throttle_first_ms = l->throttle_log_ms = now;
		l->throttle_dropped = 0;
	} else if (now - l->throttle_log_ms > THROTTLE_LOG_INTERVAL_MS) {
		dssh_error("in MaxStartups throttling for %llus, %u connections dropped",
		    (unsigned long long)(now - l->throttle_first_ms) / 1000,
		    l->throttle_dropped + 1);
		l->throttle_log_ms = now;
	}
	l->throttle_dropped++;
}

/* Lock held: refused by a penalty? Logs sshd's line. */
static bool
penalty_refuses_locked(struct dsshd_limits *l, const struct dssh_stream_info *in,
    const struct dsshd_startup *st, unsigned n, uint64_t now)
{
	enum dssh_penalty_kind kind;
	unsigned left;

	if (l->penalties == NULL || st->exempt ||
	    !dssh_penalty_refused(l->penalties, &st->block, now, &left, &kind))
		return false;
	dsshd_limits_count(DSSHD_LIM_penalty_refused);
	dssh_info("drop connection #%u from [%s]:%d on [%s]:%d %s", n, in->peer_ip,
	    in->peer_port, in->local_ip, in->local_port,
	    kind == DSSH_PENALTY_KINDS ? "penalty: penalty table full" :
	    dssh_penalty_reason(kind));
	return true;
}

bool
dsshd_limits_admit(struct dsshd_limits *l, const struct dssh_stream_info *in,
    struct dsshd_startup *st)
{
	const struct dssh_config *cfg = l->cfg;
	uint64_t now = dssh_now_ms();
	struct dssh_addr a;
	unsigned n, pct;
	bool per_source = false, drop;

	memset(st, 0, sizeof(*st));
	if (dssh_addr_parse(in->peer_ip, &a) != 0)
		memset(&a, 0, sizeof(a));       /* not an IP (tests): one block of its own */
	dssh_addr_block(&a, (unsigned)cfg->per_source_netblock4,
	    (unsigned)cfg->per_source_netblock6, &st->block);
	st->exempt = dssh_cidr_list_match(l->exempt, l->nexempt, &a);
	pthread_mutex_lock(&l->lock);
	n = dsshd_limits_startups();
	if (penalty_refuses_locked(l, in, st, n, now)) {
		pthread_mutex_unlock(&l->lock);
		return false;
	}
	pct = dssh_maxstartups_drop_pct(&l->ms, n);
	drop = pct > 0 && rand_pct() < pct;
	if (!drop && cfg->per_source_max_startups > 0 &&
	    dssh_srccount_get(&l->per_source, &st->block) >= (unsigned)cfg->per_source_max_startups)
		drop = per_source = true;
	if (drop) {
		char blk[80];

		throttle_drop_locked(l, now);
		pthread_mutex_unlock(&l->lock);
		dsshd_limits_count(per_source ? DSSHD_LIM_per_source_dropped :
		    DSSHD_LIM_startups_dropped);
		if (per_source) {
			format_block(&st->block, cfg, blk, sizeof(blk));
			dssh_verbose("PerSourceMaxStartups %d reached for %s",
			    cfg->per_source_max_startups, blk);
		}
		dssh_verbose("drop connection #%u from [%s]:%d on [%s]:%d past MaxStartups", n,
		    in->peer_ip, in->peer_port, in->local_ip, in->local_port);
		return false;
	}
	if (l->throttling && (l->ms.begin == 0 || n < l->ms.begin - 1)) {
		dssh_info("exited MaxStartups throttling after %llus, %u connections dropped",
		    (unsigned long long)(now - l->throttle_first_ms) / 1000, l->throttle_dropped);
		l->throttling = false;
	}
	if (dssh_srccount_inc(&l->per_source, &st->block) == 0) {
		pthread_mutex_unlock(&l->lock);
		dssh_error("drop connection from [%s]:%d: out of memory", in->peer_ip, in->peer_port);
		return false;
	}
	__atomic_fetch_add(&startups, 1, __ATOMIC_RELAXED);
	st->counted = true;
	pthread_mutex_unlock(&l->lock);
	return true;
}

void
dsshd_limits_auth_done(struct dsshd_limits *l, struct dsshd_startup *st)
{
	if (!st->counted)
		return;
	st->counted = false;
	pthread_mutex_lock(&l->lock);
	dssh_srccount_dec(&l->per_source, &st->block);
	__atomic_fetch_sub(&startups, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&l->lock);
}

/* Which penalty an unauthenticated end earns, as 9.8 decides it. */
static enum dssh_penalty_kind
penalty_kind(const struct dsshd_conn_end *how)
{
	if (how->grace_exceeded)
		return DSSH_PENALTY_GRACE;
	if (how->auth_failures > 0)
		return DSSH_PENALTY_AUTHFAIL;
	return DSSH_PENALTY_NOAUTH;
}

void
dsshd_limits_end(struct dsshd_limits *l, struct dsshd_startup *st, const struct dsshd_conn_end *how)
{
	struct dssh_penalty_info info;
	enum dssh_penalty_kind kind;
	unsigned secs;
	char blk[80];

	dsshd_limits_auth_done(l, st);
	if (how->authenticated || how->shutting_down || st->exempt || l->penalties == NULL)
		return;
	kind = penalty_kind(how);
	if ((secs = l->cfg->penalty_conf.secs[kind]) == 0)
		return;
	pthread_mutex_lock(&l->lock);
	dssh_penalty_add(l->penalties, &st->block, kind, secs, dssh_now_ms(), &info);
	pthread_mutex_unlock(&l->lock);
	format_block(&st->block, l->cfg, blk, sizeof(blk));
	switch (info.result) {
	case DSSH_PENALTY_TABLE_FULL:
		dsshd_limits_count(DSSHD_LIM_penalty_table_full);
		dssh_info("%s: penalty table full, cannot penalise %s for %s", how->log_id, blk,
		    dssh_penalty_reason(kind));
		return;
	case DSSH_PENALTY_ADDED:
		dsshd_limits_count(DSSHD_LIM_penalties_added);
		dssh_verbose("%s: new %s %s penalty of %u seconds for %s", how->log_id, blk,
		    info.active ? "active" : "deferred", info.secs, dssh_penalty_reason(kind));
		break;
	case DSSH_PENALTY_EXTENDED:
		dsshd_limits_count(DSSHD_LIM_penalties_added);
		dssh_verbose("%s: %s %s penalty extended to %u seconds for %s", how->log_id, blk,
		    info.active ? "active" : "deferred", info.secs, dssh_penalty_reason(kind));
		break;
	}
}

void
dsshd_limits_tick(struct dsshd_limits *l)
{
	if (l->penalties == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	dssh_penalty_expire(l->penalties, dssh_now_ms());
	pthread_mutex_unlock(&l->lock);
}
