/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_CONFIG_H
#define DSSH_CONFIG_H

/*
 * dsshd configuration: a subset of sshd_config with OpenSSH's syntax and
 * meanings. Keywords are case-insensitive, "Keyword value" or
 * "Keyword=value", '#' starts a comment (at the start of an unquoted word),
 * arguments may be double- or single-quoted.
 *
 * As in sshd, the first value obtained for a single-valued keyword wins; so
 * command-line "-o" lines are applied (dssh_config_apply_line) BEFORE the file
 * is loaded. Port, ListenAddress, HostKey, AcceptEnv, AllowUsers, DenyUsers
 * accumulate; Subsystem accumulates per name (first definition of a name
 * wins); AuthorizedKeysFile takes a list on one line, and the first such line
 * wins (as sshd).
 *
 * Life cycle:
 *   dssh_config_init(&cfg);                 everything "unset"
 *   dssh_config_apply_line(...)             -o options
 *   dssh_config_load_file(...)              the file
 *   dssh_config_finalize(&cfg, &defs, ...)  defaults + algorithm lists
 *   ... use ...
 *   dssh_config_free(&cfg);
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <netinet/in.h>

#include "dssh_impair.h"
#include "dssh_limits.h"

#define DSSH_CONFIG_DEFAULT_PORT 2222
#define DSSH_CONFIG_DEFAULT_LISTEN "127.0.0.1"
#define DSSH_CONFIG_DEFAULT_REKEY_BYTES (1ULL << 30)
#define DSSH_CONFIG_DEFAULT_REKEY_SECONDS 3600
#define DSSH_CONFIG_MAX_PORTS 64
#define DSSH_CONFIG_DEFAULT_CHANNEL_WINDOW (16 * 1024 * 1024)
#define DSSH_CONFIG_MIN_CHANNEL_WINDOW (64 * 1024)
#define DSSH_CONFIG_MAX_CHANNEL_WINDOW (1024 * 1024 * 1024)
#define DSSH_CONFIG_DEFAULT_DATA_TCP_BUFFER (16 * 1024 * 1024)

enum dssh_permit_root {
	DSSH_PERMIT_ROOT_NO = 0,
	DSSH_PERMIT_ROOT_FORCED_ONLY,       /* forced-commands-only */
	DSSH_PERMIT_ROOT_NO_PASSWORD,       /* prohibit-password / without-password */
	DSSH_PERMIT_ROOT_YES,
};

enum dssh_data_plane {
	DSSH_DATA_PLANE_KERNEL = 0,
	DSSH_DATA_PLANE_DPDK,
};

/*
 * Forwarding keywords (AllowTcpForwarding ... PermitListen); the decisions
 * taken from them are in lib/auth/dssh_fwd_policy.h.
 * AllowTcpForwarding and AllowStreamLocalForwarding hold a mask of
 * DSSH_FWD_LOCAL (-L, direct-*) and DSSH_FWD_REMOTE (-R, *-forward).
 */
#define DSSH_FWD_LOCAL 1
#define DSSH_FWD_REMOTE 2
#define DSSH_FWD_ALL (DSSH_FWD_LOCAL | DSSH_FWD_REMOTE)

enum dssh_gateway_ports {
	DSSH_GATEWAY_NO = 0,
	DSSH_GATEWAY_YES,
	DSSH_GATEWAY_CLIENTSPECIFIED,
};

/* PermitOpen / PermitListen: "any", "none" or a list of entries. */
enum dssh_permit_mode {
	DSSH_PERMIT_ANY = 0,
	DSSH_PERMIT_NONE,
	DSSH_PERMIT_LIST,
};

#define DSSH_PERMIT_ANY_PORT (-1)
#define DSSH_PERMIT_MAX 4096            /* entries per keyword or per key */

/*
 * One PermitOpen/permitopen= (host:port) or PermitListen/permitlisten=
 * ([host:]port) entry. host: without brackets; "*" any host (PermitOpen:
 * only "*" is special, other names match exactly; PermitListen: a pattern,
 * lowercased). port: 1..65535 or DSSH_PERMIT_ANY_PORT ("*").
 */
struct dssh_config_permit {
	char *host;
	int port;
};

/*
 * Parse one entry (listen selects the PermitListen form, where a bare port
 * means "*:port"). Returns 0 with out->host malloc'd, DSSH_ERR_INVALID_FORMAT
 * with a reason in why, or DSSH_ERR_ALLOC.
 */
int dssh_config_parse_permit(const char *s, bool listen,
    struct dssh_config_permit *out, char *why, size_t whylen);
/* Free n entries and the array. */
void dssh_config_permits_free(struct dssh_config_permit *v, size_t n);
/* Append a copy of p to *v (*n entries). 0 or DSSH_ERR_ALLOC/NO_BUFFER_SPACE. */
int dssh_config_permits_add(struct dssh_config_permit **v, size_t *n,
    const struct dssh_config_permit *p);
/* "host:port" as sshd -T prints it ([v6]:port, * for any port). */
void dssh_config_permit_format(const struct dssh_config_permit *p, char *out,
    size_t outlen);

/* One socket to listen on (after finalize: port is always set). */
struct dssh_config_listen {
	char *addr;     /* numeric address or host name, no brackets */
	int port;       /* 0 before finalize = "every Port" */
};

struct dssh_config_subsystem {
	char *name;
	char *command;  /* command and arguments joined by single spaces */
};

/*
 * Algorithm lists the +/-/^ prefixes work against. Comma separated names in
 * preference order. "supported" lists (optional, NULL = do not validate)
 * hold every name the server implements; plain lists and wildcards are
 * checked and expanded against them.
 */
struct dssh_config_alg_list {
	const char *def;
	const char *supported;
};

struct dssh_config_alg_defaults {
	struct dssh_config_alg_list ciphers;
	struct dssh_config_alg_list macs;
	struct dssh_config_alg_list kex;
	struct dssh_config_alg_list host_key;
};

/* A line kept for the per-connection evaluation (dssh_config_for_conn). */
struct dssh_config_line {
	char *text;
	char *source;
	unsigned lineno;
	int block;      /* index of its Match block; -1 a global line, -2 a -o line
	                 * (a Match line: its own block's index) */
};

/*
 * What Match criteria are tested against (sshd -T -C's user=, host=,
 * addr=, laddr=, lport=). NULL / 0: not known (such a criterion does not
 * hold, as in sshd -T -C).
 */
struct dssh_config_conn {
	const char *user;
	const char *const *groups;      /* the user's group names */
	unsigned ngroups;
	const char *host;               /* the client's name, or its address (UseDNS no) */
	const char *addr;               /* the client's address */
	const char *laddr;              /* the address it connected to */
	int lport;                      /* the port it connected to */
	const char *rdomain;
};

#define DSSH_CONFIG_MAX_INCLUDE_DEPTH 16
#ifndef DSSH_CONFIG_INCLUDE_DIR
#define DSSH_CONFIG_INCLUDE_DIR "/etc/ssh"
#endif

/*
 * Integers are -1 while unset; strings NULL while unset. After
 * dssh_config_finalize every field has its value.
 */
struct dssh_config {
	int ports[DSSH_CONFIG_MAX_PORTS];
	unsigned nports;
	struct dssh_config_listen *listen;
	unsigned nlisten;
	char **host_keys;
	unsigned nhost_keys;

	/* Raw values (may carry a +/-/^ prefix) until finalize, then resolved. */
	char *ciphers;
	char *macs;
	char *kex_algorithms;
	char *host_key_algorithms;
	char *alg_where[4];             /* "FILE line N" of Ciphers, MACs, KexAlgorithms, HostKeyAlgorithms */

	int pubkey_authentication;
	int password_authentication;
	int kbd_interactive_authentication;
	int permit_root_login;          /* enum dssh_permit_root */
	int permit_empty_passwords;
	char **authorized_keys_files;   /* may hold %h %u %U %% */
	unsigned nauthorized_keys_files;
	bool authorized_keys_set;       /* a line was seen ("none" leaves 0 files) */
	char **allow_users;
	unsigned nallow_users;
	char **deny_users;
	unsigned ndeny_users;
	int max_auth_tries;
	int login_grace_time;           /* seconds, 0 = none */
	int client_alive_interval;      /* seconds, 0 = off */
	int client_alive_count_max;
	char **accept_env;
	unsigned naccept_env;
	struct dssh_config_subsystem *subsystems;
	unsigned nsubsystems;
	bool rekey_set;
	uint64_t rekey_limit_bytes;     /* 0 = none */
	int rekey_limit_seconds;        /* 0 = none, -1 unset */
	int log_level;                  /* enum dssh_log_level */
	int use_pam;
	char *pid_file;
	int strict_modes;
	char *max_startups;             /* stored: "start:rate:full" or "n" */
	int print_motd;

	/* dssh's own. */
	char *crypto_engine;
	int data_plane;                 /* enum dssh_data_plane */
	char *dpdk_args;
	char *data_address;             /* "a.b.c.d/len" as written */
	struct in_addr data_addr;
	int data_prefixlen;             /* -1 unset */
	char *data_gateway;
	struct in_addr data_gw;
	int data_cores;
	int data_offload;               /* DataOffload: checksum offloads and TSO where offered */
	int data_busy_poll;             /* DataPoll busy (1) or adaptive (0) */
	int data_crypto_control;        /* DataCrypto: SSH packets sealed/opened on the data
	                                 * cores (0) or by the control thread's engine (1) */
	int data_channels_control;      /* DataChannels: exec/subsystem channel data moved by
	                                 * the data cores (0) or the control thread (1) */
	int data_mtu;                   /* DataMTU: the data port's MTU (576..9000) */
	char *data_address6;            /* DataAddress6 "addr/len" as written, or NULL */
	uint8_t data_addr6[16];
	uint8_t data_prefixlen6;
	char *data_impair;              /* DataImpair spec as written, or NULL */
	struct dssh_impair_conf data_impair_conf;   /* ... parsed (all zero: none) */
	char *permit_user_environment;  /* PermitUserEnvironment: "no", "yes" or a pattern
	                                 * list of names (dssh_user_env_allowed) */
	char *chroot_directory;         /* ChrootDirectory (may hold %h %u %%), "none" */
	char *force_command;            /* ForceCommand, arguments joined, "none" */
	int channel_window_size;        /* ChannelWindowSize: bytes a channel's peer may have
	                                 * in flight (dssh's own) */
	int data_tcp_buffer;            /* DataTCPBuffer: each data-plane connection's TCP
	                                 * send and receive buffer, bytes */
	int loop_threads;               /* LoopThreads: connection-serving threads, 0 = one
	                                 * per online CPU (dssh's own) */

	/* Forwarding (see the DSSH_FWD_* block above). */
	int allow_tcp_forwarding;       /* mask of DSSH_FWD_LOCAL, DSSH_FWD_REMOTE */
	int allow_streamlocal_forwarding;       /* same */
	int allow_agent_forwarding;
	int gateway_ports;              /* enum dssh_gateway_ports */
	int disable_forwarding;         /* overrides every other forwarding keyword */
	int streamlocal_bind_unlink;
	int streamlocal_bind_mask;      /* octal mode bits 0..0777 removed from sockets */
	int permit_open_mode;           /* enum dssh_permit_mode */
	struct dssh_config_permit *permit_open;
	size_t npermit_open;
	int permit_listen_mode;         /* enum dssh_permit_mode */
	struct dssh_config_permit *permit_listen;
	size_t npermit_listen;
	/* Pre-auth limits (sshd_config(5), OpenSSH 9.8). */
	int max_sessions;               /* MaxSessions: session channels per connection */
	int per_source_max_startups;    /* PerSourceMaxStartups, 0 = none */
	int per_source_netblock4;       /* PerSourceNetBlockSize v4[:v6] */
	int per_source_netblock6;
	char *per_source_penalties;     /* PerSourcePenalties as written (joined), or NULL */
	struct dssh_penalty_conf penalty_conf;   /* ... parsed ("no": enabled false) */
	char *penalty_exempt_list;      /* PerSourcePenaltyExemptList, "none" */
	int syslog_facility;            /* SyslogFacility: a LOG_* facility, -1 unset */
	char *banner;                   /* Banner: file sent before authentication, "none" */
	int print_lastlog;              /* PrintLastLog */
	char *version_addendum;         /* VersionAddendum: after the version, "none" */
	/* Certificates (NULL or "none": not used). */
	char *trusted_user_ca_keys;     /* TrustedUserCAKeys file of CA public keys */
	char *authorized_principals_file;       /* AuthorizedPrincipalsFile, %h %u %U %% */
	char *revoked_keys;             /* RevokedKeys: plain list of public keys */
	char **host_certificates;       /* HostCertificate files (repeatable) */
	unsigned nhost_certificates;
	/* Multi-method authentication. */
	char *authentication_methods;   /* AuthenticationMethods, lists joined, "any" */
	char *pam_service_name;         /* PAMServiceName: /etc/pam.d name (dssh's own), "dsshd" */
	/* Sessions: X11, compression, tty, rc, env, TCP (issue 14). */
	int compression;                /* Compression: 1 yes/delayed (zlib@openssh.com), 0 no */
	int x11_forwarding;             /* X11Forwarding */
	int x11_display_offset;         /* X11DisplayOffset (10) */
	int x11_use_localhost;          /* X11UseLocalhost */
	char *xauth_location;           /* XAuthLocation, NULL: DSSH_CONFIG_XAUTH_DEFAULT */
	int permit_tty;                 /* PermitTTY */
	int permit_user_rc;             /* PermitUserRC: ~/.ssh/rc run */
	char **set_env;                 /* SetEnv NAME=VALUE ... (the first line) */
	unsigned nset_env;
	bool set_env_set;
	int tcp_keepalive;              /* TCPKeepAlive: SO_KEEPALIVE */
	int ipqos_interactive;          /* IPQoS: TOS/traffic class, -1 none */
	int ipqos_bulk;
	/* dsshctl (dssh's own, start-up only) */
	char *control_socket;           /* ControlSocket: path or "none", DSSH_CONFIG_DEFAULT_CONTROL_SOCKET */
	char *metrics_listen;           /* MetricsListen: "addr:port" or "none" */
	int metrics_remote;             /* ... allow-remote given: a non-loopback address */
	char **allow_groups;            /* AllowGroups */
	unsigned nallow_groups;
	char **deny_groups;             /* DenyGroups */
	unsigned ndeny_groups;

	/* Match blocks and the lines kept to evaluate them per connection. */
	struct dssh_config_line *lines;
	unsigned nlines;
	struct dssh_config_line *match; /* each block's "Match ..." line */
	unsigned nmatch;
	bool quiet;                     /* no "accepted, not implemented" warnings */
	struct dssh_config_alg_defaults defs;   /* what finalize resolved against */
	bool has_defs;
	unsigned nports_override;       /* -p ports (kept in ports[]) */
};

#define DSSH_CONFIG_XAUTH_DEFAULT "/usr/bin/xauth"
/* An IPQoS word (af21, cs1, ef, lowdelay, none ...) or number: -1 for none. */
int dssh_config_parse_ipqos(const char *s, int *out);

/* dsshctl: the control socket's default path; MetricsListen's "a.b.c.d:port" or
 * "[v6]:port" (numeric), and whether an address is loopback. */
#define DSSH_CONFIG_DEFAULT_CONTROL_SOCKET "/run/dsshd.ctl"
int dssh_config_parse_hostport(const char *s, char *addr, size_t alen, int *port);
bool dssh_config_is_loopback(const char *addr);

/* Set every field to "unset". */
void dssh_config_init(struct dssh_config *cfg);
/* Same as dssh_config_init (name kept for callers that expect it). */
void dssh_config_init_defaults(struct dssh_config *cfg);

/*
 * Apply one configuration line. source and lineno only label errors
 * ("FILE line N: message"). Blank and comment lines are accepted.
 * Returns 0 or DSSH_ERR_CONFIG (err filled) / DSSH_ERR_ALLOC.
 */
int dssh_config_apply_line(struct dssh_config *cfg, const char *line,
    const char *source, unsigned lineno, char *err, size_t errlen);

/* Read a whole file; stops at the first error. */
int dssh_config_load_file(struct dssh_config *cfg, const char *path,
    char *err, size_t errlen);

/*
 * Apply defaults to everything unset, resolve ListenAddress x Port and the
 * algorithm lists (defs may be NULL: then only unprefixed lists are kept and
 * unset lists stay NULL).
 */
int dssh_config_finalize(struct dssh_config *cfg,
    const struct dssh_config_alg_defaults *defs, char *err, size_t errlen);

/*
 * The effective configuration for one connection: base's -o and global
 * lines with those of the Match blocks ci matches (their values win, as
 * in sshd), finalized like base. *out is freed with dssh_config_free_conn.
 */
int dssh_config_for_conn(const struct dssh_config *base, const struct dssh_config_conn *ci,
    struct dssh_config **out, char *err, size_t errlen);
void dssh_config_free_conn(struct dssh_config *cfg);

/*
 * sshd's address list match (Match Address, LocalAddress): comma separated
 * CIDRs or patterns, "!" negates. 1 match, 0 none, -1 a negated entry
 * matched, -2 a bad CIDR.
 */
int dssh_config_match_addr_list(const char *addr, const char *list);

/* Relative Include paths are under this directory (/etc/ssh; tests change it). */
extern const char *dssh_config_include_dir;

/*
 * The keyword table, for tests and docs: row i's name, whether it is allowed
 * in a Match block, whether dsshd implements it (else: accepted, warned).
 * false past the end.
 */
bool dssh_config_keyword_info(size_t i, const char **name, bool *in_match, bool *implemented);

/* "sshd -T" style dump: lowercase keyword, value; one per line. */
void dssh_config_dump(const struct dssh_config *cfg, FILE *f);

void dssh_config_free(struct dssh_config *cfg);

/*
 * Helpers (exported for auth and tests).
 * dssh_config_parse_time: sshd time format ("90", "2m", "1h30m", "1w"):
 * seconds into *out, rejects overflow past INT_MAX.
 * dssh_config_parse_size: "N" or "N[KkMmGgTt]" bytes into *out, rejects
 * overflow.
 * dssh_config_resolve_algs: apply an optionally +/-/^ prefixed list to the
 * defaults (see struct dssh_config_alg_list); *out is malloc'd.
 */
int dssh_config_parse_time(const char *s, int *out);
int dssh_config_parse_size(const char *s, uint64_t *out);
int dssh_config_resolve_algs(const char *value,
    const struct dssh_config_alg_list *list, char **out, char *err,
    size_t errlen);

#endif
