/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSHD_GEN_H
#define DSSHD_GEN_H

/*
 * A generation of what SIGHUP re-reads: the configuration (file, -o lines,
 * -p ports) and the host keys, and the engine's view of them (struct
 * dssh_ssh_conf). dsshd starts with generation 1; a reload builds the next
 * one beside it and, if it is valid, new connections take it while the
 * ones already open keep theirs: each connection holds a reference, and a
 * generation is freed with its last one.
 */

#include <stdbool.h>

#include "dssh_authmethods.h"
#include "dssh_config.h"
#include "dssh_ssh.h"

#define DSSHD_MAX_HOSTKEYS 16
#define DSSHD_MAX_HOSTKEY_ALGS 32

struct dssh_sshkey;
struct dssh_crypto_engine;

/* What the command line said: applied again on every reload. */
struct dsshd_opts {
	const char *config_path;        /* -f; NULL: the default file if it exists */
	char *extra[64];                /* -o lines */
	int nextra;
	int ports[16];                  /* -p */
	int nports;
	char *eal_args;                 /* after "--", replaces DpdkArgs; or NULL */
	bool debug;                     /* -d: LogLevel does not lower the level */
};

struct dsshd_hostcert {
	uint8_t *blob;
	size_t len;
	char *type_name;                /* "ssh-ed25519-cert-v01@openssh.com" */
	struct dssh_sshkey *key;        /* the loaded host key it certifies */
};

struct dsshd_hostkeys {
	struct dssh_sshkey *keys[DSSHD_MAX_HOSTKEYS];
	unsigned nkeys;
	struct dsshd_hostcert certs[DSSHD_MAX_HOSTKEYS];   /* HostCertificate */
	unsigned ncerts;
	struct dssh_ssh_hostkey algs[DSSHD_MAX_HOSTKEY_ALGS];
	unsigned nalgs;
};

struct dsshd_gen {
	unsigned refs;                  /* atomic */
	unsigned number;
	struct dssh_config cfg;
	struct dsshd_hostkeys hk;
	char *ciphers, *macs;           /* the engine's defaults cfg was resolved against */
	char *macs_all;                 /* every MAC the engine can do (configurable) */
	char *banner;                   /* Banner's text (read at each load), or NULL */
	struct dssh_authmethods authm;  /* AuthenticationMethods, parsed */
	char version_comment[256];      /* "dssh_VERSION[ VersionAddendum]" */
	/* The engine's settings; .engine is loop 0's, other loops use their own. */
	struct dssh_ssh_conf sshconf;
};

/*
 * Step 1: a new generation with the configuration read (-o lines, the
 * file, -p, EAL arguments) but not finalized. Returns 0 or an error with
 * err filled.
 */
int dsshd_gen_read(const struct dsshd_opts *o, struct dsshd_gen **out, char *err, size_t errlen);

/*
 * Step 2: defaults resolved against what engine can do (probed, or, with
 * like, taken from that generation of the same engine: then engine is
 * not used, only stored) and sshconf filled. Returns 0 or an error (err
 * filled).
 * Step 3: host keys loaded (created first when create_keys and a standard
 * one is missing). Returns 0 or an error (logged).
 */
int dsshd_gen_finalize(struct dsshd_gen *g, struct dssh_crypto_engine *engine,
    const struct dsshd_gen *like, char *err, size_t errlen);
int dsshd_gen_load_keys(struct dsshd_gen *g, bool create_keys);

struct dsshd_gen *dsshd_gen_ref(struct dsshd_gen *g);
/*
 * Privilege separation: from now on host keys are loaded by the monitor
 * (dsshd keeps public keys, signatures come from the monitor);
 * dsshd_gen_keys_to_monitor moves an already loaded generation's keys
 * there (the private ones in g are freed).
 */
struct dsshd_monitor_link;
void dsshd_gen_use_monitor(const struct dsshd_monitor_link *l);
int dsshd_gen_keys_to_monitor(struct dsshd_gen *g);

void dsshd_gen_unref(struct dsshd_gen *g);

/*
 * SIGHUP (reload.c): the next generation from the same command line, or
 * NULL when the new configuration or its host keys are unusable (why is
 * logged; the caller keeps cur). Keywords that only take effect at start
 * keep cur's values, with a log line for each one that changed. It reads
 * files and parses keys (up to a second under sanitizers), so it runs on
 * a thread of its own: dsshd_reloader. It touches no engine.
 */
struct dsshd_gen *dsshd_reload(const struct dsshd_opts *o, const struct dsshd_gen *cur);
/* On loop 0, once next is current: its LogLevel, and the log line. */
void dsshd_reload_applied(const struct dsshd_opts *o, const struct dsshd_gen *next);

/*
 * The reload thread. start: from a SIGHUP, build the next generation from
 * cur (referenced until collected) on a thread; while one runs, another
 * SIGHUP only asks for one more afterwards. The fd turns readable when it
 * finished; collect (loop 0) joins it and returns the new generation (the
 * caller's reference) or NULL, and *again whether another SIGHUP came
 * meanwhile (the caller then starts again from its current generation).
 */
struct dsshd_reloader;
int dsshd_reloader_new(const struct dsshd_opts *o, struct dsshd_reloader **out);
int dsshd_reloader_fd(const struct dsshd_reloader *rl);
int dsshd_reloader_start(struct dsshd_reloader *rl, struct dsshd_gen *cur);
struct dsshd_gen *dsshd_reloader_collect(struct dsshd_reloader *rl, bool *again);
void dsshd_reloader_free(struct dsshd_reloader *rl);

/* The Banner file's text (at most 64 KiB), or NULL for "none" or an unreadable file. */
char *dsshd_read_banner(const struct dssh_config *cfg);

/* A user's group names (Match Group, AllowGroups): 0, or an error (no such user). */
struct dsshd_groups {
	char **names;
	unsigned n;
};
int dsshd_user_groups(const char *user, struct dsshd_groups *out);
void dsshd_groups_free(struct dsshd_groups *g);

/* sd_notify(3) when built with libsystemd and run under systemd; else nothing. */
void dsshd_notify(const char *state);
void dsshd_notify_reloading(void);

#endif
