/* SPDX-License-Identifier: BSD-3-Clause */
/* dsshd: command line, configuration, host keys, then the server loop. */
#include <errno.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dssh_build_config.h"
#include "dssh_config.h"
#include "dssh_crypto.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_spawner.h"
#include "dssh_ssh.h"
#include "dssh_util.h"
#include "gen.h"
#include "ctl.h"
#include "internal.h"
#include "server.h"
#include "monitor.h"
#include "dsshd_limits.h"
#if DSSH_HAVE_DPDK
#include <rte_eal.h>
#include <rte_telemetry.h>

#include "dssh_cryptodev.h"
#include "dssh_dpdk.h"
#include "rundir.h"
#endif

/*
 * Programs that run inside the session process instead of an exec
 * (a Subsystem command "internal-sftp" asks for "internal-sftp").
 */
static const struct dssh_spawner_internal internal_programs[] = {
	{ "internal-sftp", dsshd_internal_sftp },
	{ NULL, NULL },
};

struct engine_factory {
	const char *name;
	struct dssh_crypto_engine_conf conf;
};

static struct dssh_crypto_engine *
make_engine(void *arg, unsigned loop)
{
	struct engine_factory *f = arg;
	struct dssh_crypto_engine *e = NULL;
	int r;

	if ((r = dssh_crypto_engine_create(f->name, &f->conf, &e)) != 0) {
		dssh_error("CryptoEngine %s for loop thread %u: %s", f->name, loop, dssh_err_str(r));
		return NULL;
	}
	return e;
}

static void
free_engine(void *arg, struct dssh_crypto_engine *e)
{
	(void)arg;
	dssh_crypto_engine_free(e);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: dsshd [-DdeTt] [-f config_file] [-o option] [-p port] [-- EAL arguments]\n");
	exit(1);
}

static void
write_pidfile(const char *path)
{
	FILE *f;

	if (path == NULL || strcmp(path, "none") == 0)
		return;
	if ((f = fopen(path, "w")) == NULL) {
		dssh_error("cannot write pid file %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

#if DSSH_HAVE_DPDK
/* Connections the data plane may hand to the control thread at once. */
#define DP_MAX_STREAMS 1024
/* Per direction per connection: a few SSH packets of 32 KiB in flight. */
#define DP_STREAM_PIPE (512u * 1024)
/*
 * CryptoEngine cryptodev: sessions per queue pair. A connection holds two
 * SAs on the data core that owns it (four for a moment while it rekeys) and
 * any core may own all DP_MAX_STREAMS connections (RSS); the control
 * thread's SAs are those of its kernel-socket connections.
 */
#define DP_CRYPTO_SESSIONS (2 * DP_MAX_STREAMS + 256)

enum { DP_STARTING, DP_READY, DP_FAILED };

struct dataplane {
	struct dssh_dpdk_conf conf;
	struct dssh_dpdk_hub *hub;
	pthread_t thread;
	volatile int stop;
	int result;
	/* CryptoEngine cryptodev: the control thread's engine, made on the data
	 * plane's thread once its EAL is up; the main thread waits for state. */
	bool packet_layer;
	bool cryptodev;                 /* CryptoEngine cryptodev: on_eal sets it up */
	struct dssh_crypto_engine *ctl_engine;
	struct dsshd_rundir_cleaner rundir;     /* root's helper, once the EAL is up */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int state;
};

static void
dataplane_set_state(struct dataplane *dp, int state)
{
	pthread_mutex_lock(&dp->lock);
	if (dp->state == DP_STARTING)
		dp->state = state;
	pthread_cond_broadcast(&dp->cond);
	pthread_mutex_unlock(&dp->lock);
}

/*
 * CryptoEngine cryptodev with DataPlane dpdk: one EAL, the data plane's,
 * which probes the crypto vdev(s) of DpdkArgs with the port. Its first
 * crypto device gets a queue pair and a session pool for each data core's
 * engine and one for the control thread's (made here), so no lock is taken
 * on any of them.
 */
static int
dataplane_on_eal(void *arg, enum dssh_dpdk_eal_event ev, unsigned ncores)
{
	struct dataplane *dp = arg;
	struct dssh_crypto_engine_conf ec = { .socket_id = -1 };
	int r;

	switch (ev) {
	case DSSH_DPDK_EAL_UP:
		if (!dp->cryptodev)
			return 0;
		if ((r = dssh_cryptodev_setup(NULL, (dp->packet_layer ? ncores : 0) + 1,
		    DP_CRYPTO_SESSIONS)) != 0)
			return r;
		if ((r = dssh_crypto_engine_create("cryptodev", &ec, &dp->ctl_engine)) != 0) {
			dssh_error("CryptoEngine cryptodev: the control thread's engine: %s",
			    dssh_err_str(r));
			return r;
		}
		return 0;
	case DSSH_DPDK_RUNNING:
		/* dsshd drops root before the data plane stops: a root helper
		 * removes the EAL's runtime directory then. */
		if (geteuid() == 0)
			(void)dsshd_rundir_cleaner_start(rte_eal_get_runtime_dir(), &dp->rundir);
		dataplane_set_state(dp, DP_READY);
		return 0;
	case DSSH_DPDK_EAL_DOWN:
		/* READY: the main thread owned the engine and freed it before
		 * it stopped the data plane. Otherwise it never saw it. */
		pthread_mutex_lock(&dp->lock);
		if (dp->state != DP_READY) {
			dssh_crypto_engine_free(dp->ctl_engine);
			dp->ctl_engine = NULL;
		}
		pthread_mutex_unlock(&dp->lock);
		if (dp->cryptodev)
			dssh_cryptodev_close();
		return 0;
	}
	return 0;
}

static void *
dataplane_thread(void *arg)
{
	struct dataplane *dp = arg;

	dp->result = dssh_dpdk_dataplane_run(&dp->conf, &dp->stop);
	if (dp->result != 0 && dp->cryptodev)
		dssh_error("DPDK data plane could not run (%s, see above)",
		    dssh_err_str(dp->result));
	else if (dp->result != 0)
		dssh_error("DPDK data plane could not run (%s, see above): serving on kernel "
		    "sockets only", dssh_err_str(dp->result));
	dataplane_set_state(dp, DP_FAILED);
	return NULL;
}

/* DPDK telemetry /dssh/limits: the pre-auth limits' counters (dsshd_limits.h). */
static int
limits_telemetry(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "startups", dsshd_limits_startups());
	for (int k = 0; k < DSSHD_LIM_NCOUNTERS; k++)
		rte_tel_data_add_dict_u64(d, dsshd_limits_counter_name(k), dsshd_limits_counter(k));
	return 0;
}

/*
 * DataPlane dpdk: the data plane (ports, ARP/IPv4/ICMP, data lcores) runs
 * beside the control loop. Signals are blocked first so that every DPDK
 * thread inherits the mask and SIGTERM/SIGCHLD reach the control loop's
 * signalfd. SSH sessions are still carried by kernel sockets until the
 * userspace TCP is wired to the engine.
 */
static int
dataplane_start(const struct dssh_config *cfg, struct dataplane *dp)
{
	memset(dp, 0, sizeof(*dp));
	dp->rundir = (struct dsshd_rundir_cleaner){ .fd = -1, .pid = -1 };
	pthread_mutex_init(&dp->lock, NULL);
	pthread_cond_init(&dp->cond, NULL);
	dp->state = DP_STARTING;
	if (cfg->data_prefixlen < 0 || cfg->data_address == NULL) {
		dssh_error("DataPlane dpdk needs DataAddress a.b.c.d/len");
		return DSSH_ERR_CONFIG;
	}
	dp->conf.eal_args = cfg->dpdk_args ? cfg->dpdk_args : "--no-pci --vdev=net_tap0,iface=dtap0";
	dp->conf.ipv4_addr = ntohl(cfg->data_addr.s_addr);
	dp->conf.prefix_len = (uint8_t)cfg->data_prefixlen;
	dp->conf.gateway = cfg->data_gateway ? ntohl(cfg->data_gw.s_addr) : 0;
	dp->conf.n_data_cores = cfg->data_cores > 0 ? (unsigned)cfg->data_cores : 1;
	dp->conf.mtu = cfg->data_mtu > 0 ? (uint16_t)cfg->data_mtu : 0;
	dp->conf.tcp_buffer = cfg->data_tcp_buffer > 0 ? (uint32_t)cfg->data_tcp_buffer : 0;
	dp->conf.tcp_keepalive = cfg->tcp_keepalive == 1;     /* at start, as DataTCPBuffer */
	dp->conf.busy_poll = cfg->data_busy_poll == 1;
	dp->conf.sw_csum = cfg->data_offload == 0;
	if (cfg->data_address6 != NULL) {
		dp->conf.ipv6_enabled = true;
		memcpy(dp->conf.ipv6_addr, cfg->data_addr6, 16);
		dp->conf.ipv6_prefix_len = cfg->data_prefixlen6;
	}
	dp->conf.impair = cfg->data_impair_conf;
	/* SSH on the data plane: the same Port(s) on DataAddress. */
	if (dssh_dpdk_hub_new(DP_MAX_STREAMS, DP_STREAM_PIPE, &dp->hub) != 0)
		return DSSH_ERR_ALLOC;
	dp->conf.hub = dp->hub;
	/* SSH packets framed, sealed and opened on the data cores, each core
	 * with its own instance of the configured engine. */
	if (cfg->data_crypto_control != 1 &&
	    dssh_dpdk_hub_set_packet_layer(dp->hub, cfg->crypto_engine) != 0)
		return DSSH_ERR_CONFIG;
	dp->packet_layer = cfg->data_crypto_control != 1;
	/* Hooked always: RUNNING tells the main thread the data plane is up
	 * (sd_notify READY=1 waits for it). */
	dp->cryptodev = cfg->crypto_engine != NULL && strcmp(cfg->crypto_engine, "cryptodev") == 0;
	dp->conf.on_eal = dataplane_on_eal;
	dp->conf.on_eal_arg = dp;
	for (unsigned i = 0; i < cfg->nports && i < DSSH_ARRAY_SIZE(dp->conf.stream_ports); i++)
		dp->conf.stream_ports[dp->conf.n_stream_ports++] = (uint16_t)cfg->ports[i];
	dsshd_block_signals();
	if (rte_telemetry_register_cmd("/dssh/limits", limits_telemetry,
	    "dsshd pre-auth limits: refusals, penalties, timeouts (counters)") != 0)
		dssh_error("telemetry /dssh/limits not registered");
	if (pthread_create(&dp->thread, NULL, dataplane_thread, dp) != 0)
		return DSSH_ERR_SYSTEM;
	/* Made before the privilege drop, it keeps NoNewPrivs clear: named apart. */
	(void)pthread_setname_np(dp->thread, "dsshd-dataplane");
	dssh_info("DPDK data plane starting: %s", dp->conf.eal_args);
	return 0;
}

/* CryptoEngine cryptodev: waits until the data plane runs; its control
 * engine then belongs to the caller, who frees it before dataplane_stop. */
static struct dssh_crypto_engine *
dataplane_wait_engine(struct dataplane *dp)
{
	struct dssh_crypto_engine *e;

	pthread_mutex_lock(&dp->lock);
	while (dp->state == DP_STARTING)
		pthread_cond_wait(&dp->cond, &dp->lock);
	e = dp->state == DP_READY ? dp->ctl_engine : NULL;
	dp->ctl_engine = NULL;
	pthread_mutex_unlock(&dp->lock);
	return e;
}

static int
dataplane_stop(struct dataplane *dp)
{
	dp->stop = 1;
	pthread_join(dp->thread, NULL);
	dsshd_rundir_cleaner_finish(&dp->rundir);
	dssh_dpdk_hub_free(dp->hub);
	pthread_cond_destroy(&dp->cond);
	pthread_mutex_destroy(&dp->lock);
	return dp->result;
}
#endif

#if DSSH_HAVE_DPDK
/*
 * CryptoEngine cryptodev: bring the EAL up with the crypto device(s) from
 * DpdkArgs (default: one crypto_aesni_mb vdev, no hugepages) and hand the
 * engine the device name, taken from the first --vdev.
 */
static int
cryptodev_eal_init(const struct dssh_config *cfg, char *devname, size_t devlen)
{
	const char *args = cfg->dpdk_args ? cfg->dpdk_args :
	    "--no-pci --no-huge --no-shconf -m 256 -l 0 --vdev=crypto_aesni_mb0";
	char *copy = strdup(args), *save = NULL, *argv[64];
	int argc = 0;

	if (copy == NULL)
		return DSSH_ERR_ALLOC;
	argv[argc++] = (char *)"dsshd";
	devname[0] = '\0';
	for (char *t = strtok_r(copy, " \t", &save); t && argc < 63; t = strtok_r(NULL, " \t", &save)) {
		argv[argc++] = t;
		if (devname[0] == '\0' && strncmp(t, "--vdev=", 7) == 0)
			snprintf(devname, devlen, "%.*s", (int)strcspn(t + 7, ","), t + 7);
	}
	argv[argc] = NULL;
	if (devname[0] == '\0') {
		dssh_error("CryptoEngine cryptodev: DpdkArgs names no --vdev crypto device");
		free(copy);
		return DSSH_ERR_CONFIG;
	}
	/* argv stays referenced by the EAL: copy is not freed. */
	if (rte_eal_init(argc, argv) < 0) {
		dssh_error("CryptoEngine cryptodev: EAL initialisation failed (%s)", args);
		return DSSH_ERR_SYSTEM;
	}
	dssh_info("EAL up for cryptodev %s", devname);
	return 0;
}
#endif

/* -o, -p and the EAL arguments into opts (kept for every reload). */
static const char *conn_spec;          /* -C */

static void
parse_args(int argc, char **argv, struct dsshd_opts *o, bool *foreground, bool *to_stderr,
    bool *test_only, bool *dump)
{
	int opt;

	while ((opt = getopt(argc, argv, "C:DdeTtf:o:p:")) != -1) {
		switch (opt) {
		case 'C': conn_spec = optarg; break;
		case 'D': *foreground = true; break;
		case 'd': o->debug = true; *foreground = true; *to_stderr = true; break;
		case 'e': *to_stderr = true; break;
		case 'T': *dump = true; *test_only = true; break;
		case 't': *test_only = true; break;
		case 'f': o->config_path = optarg; break;
		case 'o':
			if (o->nextra < (int)DSSH_ARRAY_SIZE(o->extra))
				o->extra[o->nextra++] = optarg;
			break;
		case 'p':
			if (o->nports < (int)DSSH_ARRAY_SIZE(o->ports)) {
				char *end;
				long p = strtol(optarg, &end, 10);

				if (*end != '\0' || p <= 0 || p > 65535) {
					fprintf(stderr, "Bad port number.\n");
					exit(1);
				}
				o->ports[o->nports++] = (int)p;
			}
			break;
		default:
			usage();
		}
	}
	/* As DPDK applications do: EAL arguments after "--" (they replace DpdkArgs). */
	if (optind < argc) {
		size_t len = 1;

		if (strcmp(argv[optind - 1], "--") != 0)
			usage();
		for (int i = optind; i < argc; i++)
			len += strlen(argv[i]) + 1;
		if ((o->eal_args = calloc(1, len)) == NULL)
			dssh_fatal("out of memory");
		for (int i = optind; i < argc; i++) {
			strcat(o->eal_args, argv[i]);
			if (i + 1 < argc)
				strcat(o->eal_args, " ");
		}
	}
}

/*
 * -T -C user=U,host=H,addr=A,laddr=L,lport=P: the configuration for that
 * connection, as sshd -T -C prints it. The user's groups come from the
 * system (Match Group).
 */
static int
dump_for_conn(const struct dssh_config *base, const char *spec)
{
	struct dssh_config_conn ci = { 0 };
	struct dssh_config *cfg;
	struct dsshd_groups groups = { 0 };
	char *copy = strdup(spec), *save = NULL, err[512];
	int r;

	if (copy == NULL)
		return DSSH_ERR_ALLOC;
	for (char *kv = strtok_r(copy, ",", &save); kv != NULL; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');

		if (v == NULL) {
			fprintf(stderr, "Invalid test mode specification %s\n", kv);
			free(copy);
			return DSSH_ERR_CONFIG;
		}
		*v++ = '\0';
		if (strcmp(kv, "user") == 0)
			ci.user = v;
		else if (strcmp(kv, "host") == 0)
			ci.host = v;
		else if (strcmp(kv, "addr") == 0)
			ci.addr = v;
		else if (strcmp(kv, "laddr") == 0)
			ci.laddr = v;
		else if (strcmp(kv, "lport") == 0)
			ci.lport = atoi(v);
		else if (strcmp(kv, "rdomain") == 0)
			ci.rdomain = v;
		else {
			fprintf(stderr, "Invalid test mode specification %s\n", kv);
			free(copy);
			return DSSH_ERR_CONFIG;
		}
	}
	if (ci.user != NULL && dsshd_user_groups(ci.user, &groups) == 0) {
		ci.groups = (const char *const *)groups.names;
		ci.ngroups = groups.n;
	}
	r = dssh_config_for_conn(base, &ci, &cfg, err, sizeof(err));
	if (r != 0)
		fprintf(stderr, "%s\n", err);
	else
		dssh_config_dump(cfg, stdout);
	dssh_config_free_conn(cfg);
	dsshd_groups_free(&groups);
	free(copy);
	return r;
}

int
main(int argc, char **argv)
{
	static struct dsshd_opts opts;
	struct dssh_config *cfg;
	struct dsshd_gen *gen;
	struct dssh_crypto_engine *engine = NULL;
	char err[512];
	bool foreground = false, to_stderr = false, test_only = false, dump = false;
	int r;

	/*
	 * The spawner is this executable run again: nothing else happens then.
	 * Run as root, it is the monitor of privilege separation (monitor.c).
	 */
	if (geteuid() == 0)
		dssh_spawner_set_monitor(&dsshd_monitor_ops);
	dssh_spawner_maybe_run(argc, argv, internal_programs);
#if DSSH_HAVE_DPDK
	dsshd_rundir_cleaner_maybe_run(argc, argv);
#endif
	/* Before any thread (the EAL's, PAM workers) exists, so that only
	 * loop 0's signalfd takes these; SIGHUP's default would kill us. */
	dsshd_block_signals();
	parse_args(argc, argv, &opts, &foreground, &to_stderr, &test_only, &dump);
	if (test_only)          /* as sshd -t: what is wrong (or warned) goes to stderr */
		to_stderr = true;
	/* As sshd: -D alone keeps logging to syslog; -e (or -d) sends it to stderr. */
	dssh_log_init("dsshd", opts.debug ? DSSH_LOG_DEBUG1 : DSSH_LOG_INFO, to_stderr);

	if (dsshd_gen_read(&opts, &gen, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	cfg = &gen->cfg;
	struct dssh_crypto_engine_conf econf = { .socket_id = -1 };
	const char *engine_name = cfg->crypto_engine ? cfg->crypto_engine : DSSH_CRYPTO_ENGINE_AUTO;
	/* cryptodev on the data plane's EAL: the engine comes up with it (after
	 * daemon()); until then OpenSSL stands in to list the algorithms, all of
	 * which cryptodev does too (in software where the device has no session). */
	bool late_engine = false;

	if (strcmp(engine_name, "cryptodev") == 0) {
#if DSSH_HAVE_DPDK
		static char devname[64];

		if (cfg->data_plane == DSSH_DATA_PLANE_DPDK) {
			late_engine = true;
			engine_name = "openssl";
		} else {
			if (cryptodev_eal_init(cfg, devname, sizeof(devname)) != 0)
				exit(1);
			econf.devargs = devname;
		}
#endif
	}
	if ((r = dssh_crypto_engine_create(engine_name, &econf, &engine)) != 0) {
		fprintf(stderr, "CryptoEngine %s: %s (available: %s)\n", engine_name, dssh_err_str(r),
		    dssh_crypto_engine_names());
		exit(1);
	}
	if (!late_engine)       /* "auto" resolved: every loop thread gets the same */
		engine_name = dssh_crypto_engine_name(engine);
	if (dsshd_gen_finalize(gen, engine, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	if (!opts.debug && cfg->log_level >= 0)
		dssh_log_set_level((enum dssh_log_level)cfg->log_level);
	dssh_log_set_facility(cfg->syslog_facility);
	if (dump) {
		if (conn_spec != NULL)
			exit(dump_for_conn(cfg, conn_spec) == 0 ? 0 : 1);
		dssh_config_dump(cfg, stdout);
		exit(0);
	}
	if (dsshd_gen_load_keys(gen, !test_only) != 0)
		exit(1);
	/* Privilege separation: once set up, dsshd runs as its own user. */
	if (geteuid() == 0 && dsshd_privsep_user_check(DSSHD_PRIVSEP_USER) != 0)
		exit(1);
	if (test_only)
		exit(0);

	/* More loop threads, each with an engine instance of its own; a
	 * cryptodev engine has one queue pair for the control side: one loop. */
	struct engine_factory ef = { .name = engine_name, .conf = econf };
	struct dsshd_engines engines = {
		.make = strcmp(cfg->crypto_engine, "cryptodev") == 0 ? NULL : make_engine,
		.free = free_engine,
		.arg = &ef,
	};

	if (!late_engine)
		dssh_info("dsshd %s: crypto engine %s, kernel sockets", DSSH_VERSION,
		    dssh_crypto_engine_name(engine));
	/* As root, before anything drops privileges: dsshctl's socket (0600,
	 * root peers only) and the metrics endpoint. */
	dsshd_ctl_open(cfg);
	if (!foreground && daemon(0, 0) != 0)
		dssh_fatal("daemon: %s", strerror(errno));
	write_pidfile(cfg->pid_file);
	if (cfg->data_plane == DSSH_DATA_PLANE_DPDK) {
#if DSSH_HAVE_DPDK
		struct dataplane dp;

		if ((r = dataplane_start(cfg, &dp)) != 0)
			exit(1);
		if (late_engine) {
			dssh_crypto_engine_free(engine);
			if ((engine = dataplane_wait_engine(&dp)) == NULL) {
				dssh_error("CryptoEngine cryptodev: no engine without the data plane's "
				    "EAL and crypto device (see above)");
				(void)dataplane_stop(&dp);
				exit(1);
			}
			gen->sshconf.engine = engine;
			dssh_info("dsshd %s: crypto engine cryptodev on the data plane's EAL",
			    DSSH_VERSION);
		} else {
			/* READY=1 waits for the data plane (up, or failed over to
			 * kernel sockets only). */
			(void)dataplane_wait_engine(&dp);
		}
		struct dssh_stream_source source;

		dssh_dpdk_hub_stream_source(dp.hub, &source);
		r = dsshd_server_run(gen, &opts, &source, &engines);
		if (late_engine) {
			/* its DPDK memory goes with the data plane's EAL */
			dssh_crypto_engine_free(engine);
			engine = NULL;
		}
		if (dataplane_stop(&dp) != 0)
			r = r ? r : DSSH_ERR_SYSTEM;
#else
		dssh_fatal("DataPlane dpdk: this dsshd was built without DPDK");
#endif
	} else {
		r = dsshd_server_run(gen, &opts, NULL, &engines);
	}
	dsshd_gen_unref(gen);
	dssh_crypto_engine_free(engine);
	free(opts.eal_args);
	return r == 0 ? 0 : 1;
}
