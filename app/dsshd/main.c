/* SPDX-License-Identifier: BSD-3-Clause */
/* dsshd: command line, configuration, host keys, then the server loop. */
#include <errno.h>
#include <libgen.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dssh_build_config.h"
#include "dssh_authmethods.h"
#include "dssh_config.h"
#include "dssh_crypto.h"
#include "dssh_err.h"
#include "dssh_kex.h"
#include "dssh_log.h"
#include "dssh_spawner.h"
#include "dssh_sshkey.h"
#include "dssh_ssh.h"
#include "dssh_util.h"
#include "internal.h"
#include "server.h"
#include "limits.h"
#if DSSH_HAVE_DPDK
#include <rte_eal.h>
#include <rte_telemetry.h>

#include "dssh_cryptodev.h"
#include "dssh_dpdk.h"
#endif

#define DEFAULT_CONFIG DSSH_SYSCONFDIR "/dsshd_config"
#define MAX_HOSTKEY_ALGS 32

static const char default_ciphers[] =
    "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
    "aes128-gcm@openssh.com,aes256-gcm@openssh.com";
static const char default_macs[] =
    "umac-64-etm@openssh.com,umac-128-etm@openssh.com,"
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
    "hmac-sha2-256,hmac-sha2-512";
static const char default_hostkey_algs[] =
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
    "rsa-sha2-512,rsa-sha2-256";
static const char supported_hostkey_algs[] =
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
    "rsa-sha2-512,rsa-sha2-256,ssh-rsa";
static const char pubkey_algs[] =
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
    "rsa-sha2-512,rsa-sha2-256";

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

/* Keep the names of a list that the engine can really do (a probe SA each). */
static char *
filter_supported(struct dssh_crypto_engine *e, const char *list, bool macs)
{
	size_t cap = strlen(list) + 1;
	char *out = calloc(1, cap), *copy = strdup(list), *save = NULL;

	if (out == NULL || copy == NULL)
		dssh_fatal("out of memory");
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		struct dssh_crypto_keys k;
		struct dssh_crypto_sa *sa = NULL;

		memset(&k, 0, sizeof(k));
		k.cipher = macs ? dssh_cipher_by_name("aes128-ctr") : dssh_cipher_by_name(name);
		k.mac = macs ? dssh_mac_by_name(name) : dssh_mac_by_id(DSSH_MAC_NONE);
		if (!macs && k.cipher != NULL && !k.cipher->aead)
			k.mac = dssh_mac_by_name("hmac-sha2-256");
		if (k.cipher == NULL || k.mac == NULL ||
		    dssh_crypto_sa_new(e, &k, DSSH_CRYPTO_SEAL, &sa) != 0) {
			dssh_debug("engine %s cannot do %s", dssh_crypto_engine_name(e), name);
			continue;
		}
		dssh_crypto_sa_free(sa);
		if (out[0] != '\0')
			strcat(out, ",");
		strcat(out, name);
	}
	free(copy);
	return out;
}

struct hostkeys {
	struct dssh_sshkey *keys[16];
	unsigned nkeys;
	struct dssh_ssh_hostkey algs[MAX_HOSTKEY_ALGS];
	unsigned nalgs;
};

static bool
is_default_hostkey_path(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strcmp(base, "ssh_host_ed25519_key") == 0 || strcmp(base, "ssh_host_ecdsa_key") == 0 ||
	    strcmp(base, "ssh_host_rsa_key") == 0;
}

/* Create missing standard host keys the way `ssh-keygen -A` would. */
static void
ensure_default_hostkeys(const struct dssh_config *cfg)
{
	for (unsigned i = 0; i < cfg->nhost_keys; i++) {
		const char *path = cfg->host_keys[i];
		char *dup, *dir, **created = NULL;
		size_t ncreated = 0;

		if (access(path, F_OK) == 0 || !is_default_hostkey_path(path))
			continue;
		if ((dup = strdup(path)) == NULL)
			continue;
		dir = dirname(dup);
		mkdir(dir, 0755);
		/* ensure_host_keys logs each key it generates */
		if (dssh_sshkey_ensure_host_keys(dir, &created, &ncreated) == 0)
			dssh_sshkey_free_paths(created, ncreated);
		free(dup);
	}
}

static int
load_hostkeys(const struct dssh_config *cfg, struct hostkeys *hk)
{
	int r;

	for (unsigned i = 0; i < cfg->nhost_keys && hk->nkeys < DSSH_ARRAY_SIZE(hk->keys); i++) {
		struct dssh_sshkey *k;
		char fp[DSSH_SSHKEY_FP_LEN];

		if ((r = dssh_sshkey_load_private(cfg->host_keys[i], &k)) != 0) {
			dssh_error("Unable to load host key %s: %s", cfg->host_keys[i], dssh_err_str(r));
			continue;
		}
		dssh_sshkey_fingerprint(k, fp, sizeof(fp));
		dssh_verbose("host key %s %s %s", cfg->host_keys[i], dssh_sshkey_type_name(k), fp);
		hk->keys[hk->nkeys++] = k;
	}
	/* One entry per usable signature algorithm, in HostKeyAlgorithms order. */
	char *list = strdup(cfg->host_key_algorithms), *save = NULL;

	if (list == NULL)
		return DSSH_ERR_ALLOC;
	for (char *alg = strtok_r(list, ",", &save); alg; alg = strtok_r(NULL, ",", &save)) {
		for (unsigned i = 0; i < hk->nkeys && hk->nalgs < MAX_HOSTKEY_ALGS; i++) {
			const char *algs = dssh_sshkey_sig_algs_for(hk->keys[i]);
			char *name;

			if (algs == NULL || !strstr(algs, alg))
				continue;
			/* exact match within the key's list */
			bool exact = false;
			char *ac = strdup(algs), *s2 = NULL;

			for (char *a = strtok_r(ac, ",", &s2); a; a = strtok_r(NULL, ",", &s2))
				exact = exact || strcmp(a, alg) == 0;
			free(ac);
			if (!exact || (name = strdup(alg)) == NULL)
				continue;
			hk->algs[hk->nalgs].alg = name;
			hk->algs[hk->nalgs].key = hk->keys[i];
			hk->nalgs++;
			break;
		}
	}
	free(list);
	if (hk->nalgs == 0) {
		dssh_error("sshd: no hostkeys available -- exiting.");
		return DSSH_ERR_NOT_FOUND;
	}
	return 0;
}

static void
free_hostkeys(struct hostkeys *hk)
{
	for (unsigned i = 0; i < hk->nalgs; i++)
		free((char *)hk->algs[i].alg);
	for (unsigned i = 0; i < hk->nkeys; i++)
		dssh_sshkey_free(hk->keys[i]);
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
	struct dssh_crypto_engine *ctl_engine;
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
	if (dp->result != 0 && dp->conf.on_eal != NULL)
		dssh_error("DPDK data plane could not run (%s, see above)",
		    dssh_err_str(dp->result));
	else if (dp->result != 0)
		dssh_error("DPDK data plane could not run (%s, see above): serving on kernel "
		    "sockets only", dssh_err_str(dp->result));
	dataplane_set_state(dp, DP_FAILED);
	return NULL;
}

/* DPDK telemetry /dssh/limits: the pre-auth limits' counters (limits.h). */
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
	sigset_t set;

	memset(dp, 0, sizeof(*dp));
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
	if (cfg->crypto_engine != NULL && strcmp(cfg->crypto_engine, "cryptodev") == 0) {
		dp->conf.on_eal = dataplane_on_eal;
		dp->conf.on_eal_arg = dp;
	}
	for (unsigned i = 0; i < cfg->nports && i < DSSH_ARRAY_SIZE(dp->conf.stream_ports); i++)
		dp->conf.stream_ports[dp->conf.n_stream_ports++] = (uint16_t)cfg->ports[i];
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (rte_telemetry_register_cmd("/dssh/limits", limits_telemetry,
	    "dsshd pre-auth limits: refusals, penalties, timeouts (counters)") != 0)
		dssh_error("telemetry /dssh/limits not registered");
	if (pthread_create(&dp->thread, NULL, dataplane_thread, dp) != 0)
		return DSSH_ERR_SYSTEM;
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

int
main(int argc, char **argv)
{
	struct dssh_config cfg;
	struct dssh_crypto_engine *engine = NULL;
	struct hostkeys hk;
	char err[512];
	const char *config_path = NULL;
	char *extra[64];
	int nextra = 0, nports = 0, ports[16];
	bool foreground = false, debug = false, to_stderr = false, test_only = false, dump = false;
	int opt, r;

	/* The spawner is this executable run again: nothing else happens then. */
	dssh_spawner_maybe_run(argc, argv, internal_programs);
	while ((opt = getopt(argc, argv, "DdeTtf:o:p:")) != -1) {
		switch (opt) {
		case 'D': foreground = true; break;
		case 'd': debug = true; foreground = true; to_stderr = true; break;
		case 'e': to_stderr = true; break;
		case 'T': dump = true; test_only = true; break;
		case 't': test_only = true; break;
		case 'f': config_path = optarg; break;
		case 'o':
			if (nextra < (int)DSSH_ARRAY_SIZE(extra))
				extra[nextra++] = optarg;
			break;
		case 'p':
			if (nports < (int)DSSH_ARRAY_SIZE(ports)) {
				char *end;
				long p = strtol(optarg, &end, 10);

				if (*end != '\0' || p <= 0 || p > 65535) {
					fprintf(stderr, "Bad port number.\n");
					exit(1);
				}
				ports[nports++] = (int)p;
			}
			break;
		default:
			usage();
		}
	}
	/* As DPDK applications do: EAL arguments after "--" (they replace DpdkArgs). */
	char *eal_args = NULL;

	if (optind < argc) {
		size_t len = 1;

		if (strcmp(argv[optind - 1], "--") != 0)
			usage();
		for (int i = optind; i < argc; i++)
			len += strlen(argv[i]) + 1;
		if ((eal_args = calloc(1, len)) == NULL)
			dssh_fatal("out of memory");
		for (int i = optind; i < argc; i++) {
			strcat(eal_args, argv[i]);
			if (i + 1 < argc)
				strcat(eal_args, " ");
		}
	}
	dssh_log_init("dsshd", debug ? DSSH_LOG_DEBUG1 : DSSH_LOG_INFO, to_stderr || foreground);

	memset(&hk, 0, sizeof(hk));
	dssh_config_init(&cfg);
	/* Command-line options come first: for single-valued keywords the
	 * first value wins, as in sshd. */
	for (int i = 0; i < nextra; i++) {
		if (dssh_config_apply_line(&cfg, extra[i], "command line", (unsigned)i + 1, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			exit(1);
		}
	}
	if (config_path != NULL || access(DEFAULT_CONFIG, F_OK) == 0) {
		const char *path = config_path ? config_path : DEFAULT_CONFIG;

		if (dssh_config_load_file(&cfg, path, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			exit(1);
		}
	} else if (dssh_config_apply_line(&cfg, "Subsystem sftp internal-sftp", "embedded default",
	    1, err, sizeof(err)) != 0) {
		/* No file: the embedded default serves sftp (and so scp) itself. */
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	if (eal_args != NULL) {
		free(cfg.dpdk_args);
		cfg.dpdk_args = eal_args;
	}
	/* -p replaces the configuration's Port lines, as in sshd. */
	if (nports > 0) {
		cfg.nports = 0;
		for (int i = 0; i < nports; i++)
			cfg.ports[cfg.nports++] = ports[i];
	}
	struct dssh_crypto_engine_conf econf = { .socket_id = -1 };
	const char *engine_name = cfg.crypto_engine ? cfg.crypto_engine : "openssl";
	/* cryptodev on the data plane's EAL: the engine comes up with it (after
	 * daemon()); until then OpenSSL stands in to list the algorithms, all of
	 * which cryptodev does too (in software where the device has no session). */
	bool late_engine = false;

	if (strcmp(engine_name, "cryptodev") == 0) {
#if DSSH_HAVE_DPDK
		static char devname[64];

		if (cfg.data_plane == DSSH_DATA_PLANE_DPDK) {
			late_engine = true;
			engine_name = "openssl";
		} else {
			if (cryptodev_eal_init(&cfg, devname, sizeof(devname)) != 0)
				exit(1);
			econf.devargs = devname;
		}
#endif
	}
	if ((r = dssh_crypto_engine_create(engine_name, &econf, &engine)) != 0) {
		fprintf(stderr, "CryptoEngine %s: %s (available: %s)\n",
		    cfg.crypto_engine ? cfg.crypto_engine : "openssl", dssh_err_str(r),
		    dssh_crypto_engine_names());
		exit(1);
	}
	char *ciphers = filter_supported(engine, default_ciphers, false);
	char *macs = filter_supported(engine, default_macs, true);
	struct dssh_config_alg_defaults defs = {
		.ciphers = { ciphers, ciphers },
		.macs = { macs, macs },
		.kex = { dssh_kex_alg_names(), dssh_kex_alg_names() },
		.host_key = { default_hostkey_algs, supported_hostkey_algs },
	};
	if (dssh_config_finalize(&cfg, &defs, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	if (!debug && cfg.log_level >= 0)
		dssh_log_set_level((enum dssh_log_level)cfg.log_level);
	if (dump) {
		dssh_config_dump(&cfg, stdout);
		exit(0);
	}
	if (!test_only)
		ensure_default_hostkeys(&cfg);
	if (load_hostkeys(&cfg, &hk) != 0)
		exit(1);
	/* AuthenticationMethods: one list must be possible with what is enabled. */
	struct dssh_authmethods authm;
	unsigned enabled = (cfg.pubkey_authentication ? DSSH_AUTHM_BIT(DSSH_AUTHM_PUBLICKEY) : 0) |
	    (cfg.password_authentication && cfg.use_pam ? DSSH_AUTHM_BIT(DSSH_AUTHM_PASSWORD) : 0) |
	    (cfg.kbd_interactive_authentication && cfg.use_pam ?
	    DSSH_AUTHM_BIT(DSSH_AUTHM_KBDINT) : 0);
	char amwhy[160];

	if (dssh_authmethods_parse(cfg.authentication_methods, &authm, amwhy,
	    sizeof(amwhy)) != 0) {
		fprintf(stderr, "AuthenticationMethods: %s\n", amwhy);
		exit(1);
	}
	if (!dssh_authmethods_satisfiable(&authm, enabled)) {
		fprintf(stderr, "AuthenticationMethods cannot be satisfied by enabled "
		    "authentication methods\n");
		exit(1);
	}
	if (test_only)
		exit(0);

	struct dssh_ssh_conf sshconf = {
		.kex_algs = cfg.kex_algorithms,
		.cipher_algs = cfg.ciphers,
		.mac_algs = cfg.macs,
		.pubkey_algs = pubkey_algs,
		.hostkeys = hk.algs,
		.n_hostkeys = hk.nalgs,
		.rekey_bytes = cfg.rekey_limit_bytes,
		.rekey_seconds = cfg.rekey_limit_seconds > 0 ? (uint32_t)cfg.rekey_limit_seconds : 0,
		.max_auth_tries = (unsigned)cfg.max_auth_tries,
		.pubkey_auth = cfg.pubkey_authentication != 0,
		/* Passwords are checked through PAM only: without it, not offered. */
		.password_auth = cfg.password_authentication != 0 && cfg.use_pam != 0,
		/* keyboard-interactive is PAM's conversation: only with UsePAM */
		.kbdint_auth = cfg.kbd_interactive_authentication != 0 && cfg.use_pam != 0,
		.auth_methods = authm.any ? NULL : &authm,
		.chan_window = (uint32_t)cfg.channel_window_size,
		.client_alive_interval = (uint32_t)cfg.client_alive_interval,
		.client_alive_count_max = (unsigned)cfg.client_alive_count_max,
		.version_comment = "dssh_" DSSH_VERSION,
		.engine = engine,
	};
	/* More loop threads, each with an engine instance of its own; a
	 * cryptodev engine has one queue pair for the control side: one loop. */
	struct engine_factory ef = { .name = engine_name, .conf = econf };
	struct dsshd_engines engines = {
		.make = strcmp(cfg.crypto_engine, "cryptodev") == 0 ? NULL : make_engine,
		.free = free_engine,
		.arg = &ef,
	};

	if (!late_engine)
		dssh_info("dsshd %s: crypto engine %s, kernel sockets", DSSH_VERSION,
		    dssh_crypto_engine_name(engine));
	if (!foreground && daemon(0, 0) != 0)
		dssh_fatal("daemon: %s", strerror(errno));
	write_pidfile(cfg.pid_file);
	if (cfg.data_plane == DSSH_DATA_PLANE_DPDK) {
#if DSSH_HAVE_DPDK
		struct dataplane dp;

		if ((r = dataplane_start(&cfg, &dp)) != 0)
			exit(1);
		if (late_engine) {
			dssh_crypto_engine_free(engine);
			if ((engine = dataplane_wait_engine(&dp)) == NULL) {
				dssh_error("CryptoEngine cryptodev: no engine without the data plane's "
				    "EAL and crypto device (see above)");
				(void)dataplane_stop(&dp);
				exit(1);
			}
			sshconf.engine = engine;
			dssh_info("dsshd %s: crypto engine cryptodev on the data plane's EAL",
			    DSSH_VERSION);
		}
		struct dssh_stream_source source;

		dssh_dpdk_hub_stream_source(dp.hub, &source);
		r = dsshd_server_run(&cfg, &sshconf, &source, &engines);
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
		r = dsshd_server_run(&cfg, &sshconf, NULL, &engines);
	}
	free_hostkeys(&hk);
	free(ciphers);
	free(macs);
	dssh_crypto_engine_free(engine);
	dssh_config_free(&cfg);
	return r == 0 ? 0 : 1;
}
