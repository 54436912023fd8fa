/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SIGHUP: the next generation of configuration and host keys (gen.h), and
 * the service manager's notifications around it. sshd re-executes itself
 * on SIGHUP; dsshd cannot (its data plane and its open sessions live in
 * this process), so it builds the new configuration beside the running
 * one, and new connections take it once it proved valid.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "dssh_build_config.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "gen.h"
#if DSSH_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

enum fixed_type { F_INT, F_BOOL, F_STR };

/*
 * What only a restart changes: the loop threads and their PAM workers,
 * the crypto engine and the whole data plane (its ports too) are made
 * once, at start. A reload keeps the running values of these. (The kernel
 * sockets follow ListenAddress and Port: server.c re-binds them.)
 */
static const char *const plane_names[] = { "kernel", "dpdk", NULL };
static const char *const poll_names[] = { "adaptive", "busy", NULL };
static const char *const crypto_names[] = { "cores", "control", NULL };
static const char *const threads_names[] = { "auto", NULL };

static const struct {
	const char *name;
	size_t off;
	enum fixed_type type;
	const char *const *names;       /* F_INT: how 0, 1, ... read in the file */
} fixed[] = {
	{ "UsePAM", offsetof(struct dssh_config, use_pam), F_BOOL },
	{ "LoopThreads", offsetof(struct dssh_config, loop_threads), F_INT, threads_names },
	{ "PidFile", offsetof(struct dssh_config, pid_file), F_STR },
	{ "CryptoEngine", offsetof(struct dssh_config, crypto_engine), F_STR },
	{ "DataPlane", offsetof(struct dssh_config, data_plane), F_INT, plane_names },
	{ "DpdkArgs", offsetof(struct dssh_config, dpdk_args), F_STR },
	{ "DataAddress", offsetof(struct dssh_config, data_address), F_STR },
	{ "DataAddress6", offsetof(struct dssh_config, data_address6), F_STR },
	{ "DataGateway", offsetof(struct dssh_config, data_gateway), F_STR },
	{ "DataCores", offsetof(struct dssh_config, data_cores), F_INT },
	{ "DataMTU", offsetof(struct dssh_config, data_mtu), F_INT },
	{ "DataPoll", offsetof(struct dssh_config, data_busy_poll), F_INT, poll_names },
	{ "DataCrypto", offsetof(struct dssh_config, data_crypto_control), F_INT, crypto_names },
	{ "DataOffload", offsetof(struct dssh_config, data_offload), F_BOOL },
	{ "DataTCPBuffer", offsetof(struct dssh_config, data_tcp_buffer), F_INT },
	{ "DataImpair", offsetof(struct dssh_config, data_impair), F_STR },
	/* dsshctl: the sockets are made at start, as root */
	{ "ControlSocket", offsetof(struct dssh_config, control_socket), F_STR },
	{ "MetricsListen", offsetof(struct dssh_config, metrics_listen), F_STR },
	{ "MetricsListen allow-remote", offsetof(struct dssh_config, metrics_remote), F_BOOL },
};

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* An F_INT value as the file writes it. */
static const char *
int_name(size_t i, int v, char *buf, size_t len)
{
	const char *const *names = fixed[i].names;

	for (int k = 0; names != NULL && names[k] != NULL; k++)
		if (k == v)
			return names[k];
	snprintf(buf, len, "%d", v);
	return buf;
}

/* One restart-only keyword: keep cur's value in next (logged if it differs). */
static int
keep_fixed(size_t i, struct dssh_config *next, const struct dssh_config *cur)
{
	void *np = (char *)next + fixed[i].off;
	const void *cp = (const char *)cur + fixed[i].off;

	if (fixed[i].type == F_STR) {
		char **ns = np;
		char *const *cs = cp;

		if (same_str(*ns, *cs))
			return 0;
		dssh_info("%s cannot change without a restart; keeping %s", fixed[i].name,
		    *cs ? *cs : "none");
		free(*ns);
		*ns = NULL;
		if (*cs != NULL && (*ns = strdup(*cs)) == NULL)
			return DSSH_ERR_ALLOC;
		return 0;
	}
	int *ni = np;
	const int *ci = cp;
	char num[16];

	if (*ni == *ci)
		return 0;
	if (fixed[i].type == F_BOOL)
		dssh_info("%s cannot change without a restart; keeping %s", fixed[i].name,
		    *ci ? "yes" : "no");
	else
		dssh_info("%s cannot change without a restart; keeping %s", fixed[i].name,
		    int_name(i, *ci, num, sizeof(num)));
	*ni = *ci;
	return 0;
}

/* The data plane serves the Port list it started with. */
static void
keep_dataplane_ports(struct dssh_config *next, const struct dssh_config *cur)
{
	char was[256] = "";

	if (cur->data_plane != DSSH_DATA_PLANE_DPDK || (next->nports == cur->nports &&
	    memcmp(next->ports, cur->ports, cur->nports * sizeof(cur->ports[0])) == 0))
		return;
	for (unsigned i = 0; i < cur->nports; i++) {
		size_t l = strlen(was);

		snprintf(was + l, sizeof(was) - l, "%s%d", i ? " " : "", cur->ports[i]);
	}
	dssh_info("Port cannot change on the data plane without a restart; keeping %s there "
	    "(kernel sockets follow the new list)", was);
	/* (After finalize the list only names the data plane's ports: the
	 * kernel listeners come from next->listen, already expanded.) */
	memcpy(next->ports, cur->ports, sizeof(next->ports));
	next->nports = cur->nports;
}

static int
keep_restart_only(struct dsshd_gen *next, const struct dsshd_gen *cur)
{
	int r;

	keep_dataplane_ports(&next->cfg, &cur->cfg);
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(fixed); i++)
		if ((r = keep_fixed(i, &next->cfg, &cur->cfg)) != 0)
			return r;
	/* UsePAM may have been put back: passwords go through PAM only. */
	next->sshconf.password_auth = next->cfg.password_authentication != 0 &&
	    next->cfg.use_pam != 0;
	return 0;
}

struct dsshd_gen *
dsshd_reload(const struct dsshd_opts *o, const struct dsshd_gen *cur)
{
	struct dsshd_gen *next;
	char err[512] = "";
	int r;

	if ((r = dsshd_gen_read(o, &next, err, sizeof(err))) != 0 ||
	    (r = dsshd_gen_finalize(next, cur->sshconf.engine, cur, err, sizeof(err))) != 0) {
		if (r != DSSH_ERR_CONFIG || err[0] == '\0')
			snprintf(err, sizeof(err), "%s", dssh_err_str(r));
		dssh_error("Reload failed: %s; keeping the running configuration", err);
		dsshd_gen_unref(next);
		return NULL;
	}
	if ((r = keep_restart_only(next, cur)) != 0 ||
	    (r = dsshd_gen_load_keys(next, false)) != 0) {
		dssh_error("Reload failed: %s; keeping the running configuration",
		    r == DSSH_ERR_NOT_FOUND ? "no host key could be loaded" : dssh_err_str(r));
		dsshd_gen_unref(next);
		return NULL;
	}
	next->number = cur->number + 1;
	return next;
}

void
dsshd_reload_applied(const struct dsshd_opts *o, const struct dsshd_gen *next)
{
	if (!o->debug)
		dssh_log_set_level((enum dssh_log_level)next->cfg.log_level);
	dssh_info("Reloaded the configuration (generation %u, %u host key%s): new "
	    "connections use it", next->number, next->hk.nkeys, next->hk.nkeys == 1 ? "" : "s");
}

/* ---- the reload thread -------------------------------------------------- */

struct dsshd_reloader {
	const struct dsshd_opts *opts;
	int fd;                         /* eventfd: the thread finished */
	bool running, again;            /* loop 0's */
	pthread_t thread;
	struct dsshd_gen *base;         /* referenced while the thread reads it */
	struct dsshd_gen *result;       /* the thread's, read after the join */
};

int
dsshd_reloader_new(const struct dsshd_opts *o, struct dsshd_reloader **out)
{
	struct dsshd_reloader *rl = calloc(1, sizeof(*rl));

	*out = NULL;
	if (rl == NULL)
		return DSSH_ERR_ALLOC;
	rl->opts = o;
	if ((rl->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		free(rl);
		return DSSH_ERR_SYSTEM;
	}
	*out = rl;
	return 0;
}

int
dsshd_reloader_fd(const struct dsshd_reloader *rl)
{
	return rl->fd;
}

static void *
reload_thread(void *arg)
{
	struct dsshd_reloader *rl = arg;
	uint64_t one = 1;

	rl->result = dsshd_reload(rl->opts, rl->base);
	(void)!write(rl->fd, &one, sizeof(one));
	return NULL;
}

int
dsshd_reloader_start(struct dsshd_reloader *rl, struct dsshd_gen *cur)
{
	if (rl->running) {
		rl->again = true;
		return 0;
	}
	rl->base = dsshd_gen_ref(cur);
	rl->result = NULL;
	if (pthread_create(&rl->thread, NULL, reload_thread, rl) != 0) {
		dsshd_gen_unref(rl->base);
		rl->base = NULL;
		dssh_error("Reload failed: cannot start its thread; keeping the running "
		    "configuration");
		return DSSH_ERR_SYSTEM;
	}
	rl->running = true;
	return 0;
}

struct dsshd_gen *
dsshd_reloader_collect(struct dsshd_reloader *rl, bool *again)
{
	struct dsshd_gen *g;
	uint64_t v;

	*again = false;
	if (read(rl->fd, &v, sizeof(v)) != sizeof(v) || !rl->running)
		return NULL;
	pthread_join(rl->thread, NULL);
	rl->running = false;
	dsshd_gen_unref(rl->base);
	rl->base = NULL;
	g = rl->result;
	rl->result = NULL;
	*again = rl->again;
	rl->again = false;
	return g;
}

void
dsshd_reloader_free(struct dsshd_reloader *rl)
{
	if (rl == NULL)
		return;
	if (rl->running) {
		pthread_join(rl->thread, NULL);
		dsshd_gen_unref(rl->base);
		dsshd_gen_unref(rl->result);
	}
	close(rl->fd);
	free(rl);
}

void
dsshd_notify(const char *state)
{
#if DSSH_HAVE_SYSTEMD
	(void)sd_notify(0, state);
#else
	(void)state;
#endif
}

/* RELOADING=1 with the time, as systemd's Type=notify-reload wants it too. */
void
dsshd_notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	dsshd_notify(msg);
}
