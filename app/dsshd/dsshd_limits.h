/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSHD_LIMITS_H
#define DSSHD_LIMITS_H

/*
 * dsshd's pre-authentication admission, shared by every loop thread and
 * both backends: MaxStartups (random early drop over the count of
 * unauthenticated connections of all loops), PerSourceMaxStartups over
 * PerSourceNetBlockSize blocks, PerSourcePenalties (with its exempt list),
 * and the counters of every limit (logged on SIGUSR1, and DPDK telemetry
 * /dssh/limits with the data plane). The arithmetic and tables are
 * lib/util/dssh_limits.h; this adds the lock, the clock and sshd's log
 * lines.
 */
#include <stdbool.h>
#include <stdint.h>

#include "dssh_config.h"
#include "dssh_limits.h"
#include "dssh_stream.h"

/* Every counter, in one place (name, then meaning). */
#define DSSHD_LIMIT_COUNTERS(X) \
	X(startups_dropped)         /* refused past MaxStartups (random early drop, full) */ \
	X(per_source_dropped)       /* refused past PerSourceMaxStartups */ \
	X(penalty_refused)          /* refused: the source is penalised (or deny-all overflow) */ \
	X(penalties_added)          /* penalties recorded or extended */ \
	X(penalty_table_full)       /* penalties not recorded: max-sources reached */ \
	X(grace_timeouts)           /* LoginGraceTime expired */ \
	X(auth_tries_exceeded)      /* disconnected at MaxAuthTries */ \
	X(sessions_refused)         /* session channels past MaxSessions */ \
	X(alive_timeouts)           /* ClientAliveCountMax unanswered probes */ \
	X(preauth_input_capped)     /* connections whose reading stopped at the pre-auth cap */

enum dsshd_limit_counter {
#define DSSHD_X(n) DSSHD_LIM_##n,
	DSSHD_LIMIT_COUNTERS(DSSHD_X)
#undef DSSHD_X
	DSSHD_LIM_NCOUNTERS,
};

/* What a connection holds of the limits: its block, whether it counts. */
struct dsshd_startup {
	struct dssh_addr block;
	bool counted;               /* one of the unauthenticated (a startup) */
	bool exempt;                /* PerSourcePenaltyExemptList */
};

struct dsshd_limits;

int dsshd_limits_new(const struct dssh_config *cfg, struct dsshd_limits **out);
void dsshd_limits_free(struct dsshd_limits *l);
/*
 * A new connection: true when admitted (it counts as a startup until
 * dsshd_limits_auth_done or _end); false when refused (logged, counted;
 * the caller sends sshd's "Not allowed at this time" and closes).
 */
bool dsshd_limits_admit(struct dsshd_limits *l, const struct dssh_stream_info *in,
    struct dsshd_startup *st);
/* It authenticated: no longer a startup. */
void dsshd_limits_auth_done(struct dsshd_limits *l, struct dsshd_startup *st);

/* How an unauthenticated connection ended, for PerSourcePenalties. */
struct dsshd_conn_end {
	bool authenticated;
	bool grace_exceeded;
	unsigned auth_failures;
	bool shutting_down;         /* dsshd stops: nobody's fault */
	const char *log_id;
};
void dsshd_limits_end(struct dsshd_limits *l, struct dsshd_startup *st,
    const struct dsshd_conn_end *how);
/* About once a second (one loop): forget expired penalties. */
void dsshd_limits_tick(struct dsshd_limits *l);

void dsshd_limits_count(enum dsshd_limit_counter k);
/* Process-wide counters (names from DSSHD_LIMIT_COUNTERS). */
uint64_t dsshd_limits_counter(enum dsshd_limit_counter k);
const char *dsshd_limits_counter_name(enum dsshd_limit_counter k);
/* Current unauthenticated connections, all loops. */
unsigned dsshd_limits_startups(void);
/* One info line with every counter. */
void dsshd_limits_log_counters(void);

#endif
