/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>

#include "dssh_authmethods.h"
#include "dssh_build_config.h"
#include "dssh_config.h"
#include "dssh_impair.h"
#include "dssh_net.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"

#define CONFIG_MAX_ARGS 256
#define CONFIG_MAX_LINE 16384

enum opcode {
	O_PORT, O_LISTEN, O_HOSTKEY, O_CIPHERS, O_MACS, O_KEX, O_HOSTKEYALGS,
	O_PUBKEY, O_PASSWORD, O_KBDINT, O_PERMITROOT, O_EMPTYPW, O_AUTHKEYS,
	O_ALLOWUSERS, O_DENYUSERS, O_MAXAUTHTRIES, O_GRACE, O_ALIVEINT,
	O_ALIVEMAX, O_ACCEPTENV, O_SUBSYSTEM, O_REKEY, O_LOGLEVEL, O_USEPAM,
	O_PIDFILE, O_STRICTMODES, O_MAXSTARTUPS, O_PRINTMOTD, O_ENGINE,
	O_DATAPLANE, O_DPDKARGS, O_DATAADDR, O_DATAGW, O_DATACORES, O_DATAIMPAIR, O_DATAMTU, O_DATAPOLL, O_DATACRYPTO, O_DATACHANNELS, O_DATAOFFLOAD, O_DATAADDR6,
	O_PERMITUSERENV, O_CHROOTDIR, O_FORCECOMMAND, O_CHANWINDOW,
	O_LOOPTHREADS, O_DATATCPBUF,
	O_ALLOWTCPFWD, O_ALLOWSLFWD, O_ALLOWAGENTFWD, O_GATEWAYPORTS, O_DISABLEFWD,
	O_SLBINDUNLINK, O_SLBINDMASK, O_PERMITOPEN, O_PERMITLISTEN,
	O_MAXSESSIONS, O_PSMAXSTARTUPS, O_PSNETBLOCK, O_PSPENALTIES, O_PSEXEMPT,
	O_SYSLOGFACILITY, O_BANNER, O_PRINTLASTLOG, O_VERSIONADDENDUM,
	/* certificates */
	O_TRUSTEDCAS, O_PRINCIPALSFILE, O_REVOKEDKEYS, O_HOSTCERT,
	O_AUTHMETHODS, O_PAMSERVICE,
	/* sessions: X11, compression, tty, rc, env, TCP (issue 14) */
	O_COMPRESSION, O_X11FWD, O_X11OFFSET, O_X11LOCALHOST, O_XAUTHLOC, O_PERMITTTY,
	O_PERMITUSERRC, O_SETENV, O_TCPKEEPALIVE, O_IPQOS,
	/* dsshctl: the control socket and the Prometheus endpoint */
	O_CONTROLSOCKET, O_METRICSLISTEN,
};

static const struct {
	const char *name;
	enum opcode op;
} keywords[] = {
	{ "port", O_PORT },
	{ "listenaddress", O_LISTEN },
	{ "hostkey", O_HOSTKEY },
	{ "ciphers", O_CIPHERS },
	{ "macs", O_MACS },
	{ "kexalgorithms", O_KEX },
	{ "hostkeyalgorithms", O_HOSTKEYALGS },
	{ "pubkeyauthentication", O_PUBKEY },
	{ "passwordauthentication", O_PASSWORD },
	{ "kbdinteractiveauthentication", O_KBDINT },
	{ "challengeresponseauthentication", O_KBDINT },   /* old alias */
	{ "permitrootlogin", O_PERMITROOT },
	{ "permitemptypasswords", O_EMPTYPW },
	{ "authorizedkeysfile", O_AUTHKEYS },
	{ "allowusers", O_ALLOWUSERS },
	{ "denyusers", O_DENYUSERS },
	{ "maxauthtries", O_MAXAUTHTRIES },
	{ "logingracetime", O_GRACE },
	{ "clientaliveinterval", O_ALIVEINT },
	{ "clientalivecountmax", O_ALIVEMAX },
	{ "acceptenv", O_ACCEPTENV },
	{ "subsystem", O_SUBSYSTEM },
	{ "rekeylimit", O_REKEY },
	{ "loglevel", O_LOGLEVEL },
	{ "usepam", O_USEPAM },
	{ "pidfile", O_PIDFILE },
	{ "strictmodes", O_STRICTMODES },
	{ "maxstartups", O_MAXSTARTUPS },
	{ "printmotd", O_PRINTMOTD },
	{ "cryptoengine", O_ENGINE },
	{ "dataplane", O_DATAPLANE },
	{ "dpdkargs", O_DPDKARGS },
	{ "dataaddress", O_DATAADDR },
	{ "datagateway", O_DATAGW },
	{ "datacores", O_DATACORES },
	{ "dataimpair", O_DATAIMPAIR },
	{ "datamtu", O_DATAMTU },
	{ "datapoll", O_DATAPOLL },
	{ "datacrypto", O_DATACRYPTO },
	{ "datachannels", O_DATACHANNELS },
	{ "dataoffload", O_DATAOFFLOAD },
	{ "dataaddress6", O_DATAADDR6 },
	{ "permituserenvironment", O_PERMITUSERENV },
	{ "chrootdirectory", O_CHROOTDIR },
	{ "forcecommand", O_FORCECOMMAND },
	{ "channelwindowsize", O_CHANWINDOW },
	{ "loopthreads", O_LOOPTHREADS },
	{ "datatcpbuffer", O_DATATCPBUF },
	{ "allowtcpforwarding", O_ALLOWTCPFWD },
	{ "allowstreamlocalforwarding", O_ALLOWSLFWD },
	{ "allowagentforwarding", O_ALLOWAGENTFWD },
	{ "gatewayports", O_GATEWAYPORTS },
	{ "disableforwarding", O_DISABLEFWD },
	{ "streamlocalbindunlink", O_SLBINDUNLINK },
	{ "streamlocalbindmask", O_SLBINDMASK },
	{ "permitopen", O_PERMITOPEN },
	{ "permitlisten", O_PERMITLISTEN },
	{ "maxsessions", O_MAXSESSIONS },
	{ "persourcemaxstartups", O_PSMAXSTARTUPS },
	{ "persourcenetblocksize", O_PSNETBLOCK },
	{ "persourcepenalties", O_PSPENALTIES },
	{ "persourcepenaltyexemptlist", O_PSEXEMPT },
	{ "syslogfacility", O_SYSLOGFACILITY },
	{ "banner", O_BANNER },
	{ "printlastlog", O_PRINTLASTLOG },
	{ "versionaddendum", O_VERSIONADDENDUM },
	/* certificates */
	{ "trustedusercakeys", O_TRUSTEDCAS },
	{ "authorizedprincipalsfile", O_PRINCIPALSFILE },
	{ "revokedkeys", O_REVOKEDKEYS },
	{ "hostcertificate", O_HOSTCERT },
	{ "authenticationmethods", O_AUTHMETHODS },
	{ "pamservicename", O_PAMSERVICE },
	/* sessions: X11, compression, tty, rc, env, TCP (issue 14) */
	{ "compression", O_COMPRESSION },
	{ "x11forwarding", O_X11FWD },
	{ "x11displayoffset", O_X11OFFSET },
	{ "x11uselocalhost", O_X11LOCALHOST },
	{ "xauthlocation", O_XAUTHLOC },
	{ "permittty", O_PERMITTTY },
	{ "permituserrc", O_PERMITUSERRC },
	{ "setenv", O_SETENV },
	{ "tcpkeepalive", O_TCPKEEPALIVE },
	{ "ipqos", O_IPQOS },
	/* dsshctl: the control socket and the Prometheus endpoint */
	{ "controlsocket", O_CONTROLSOCKET },
	{ "metricslisten", O_METRICSLISTEN },
};

/* sessions block (issue 14), below */
static void sess_kw_init(struct dssh_config *cfg);
static void sess_kw_free(struct dssh_config *cfg);

/* Context of one line, for error messages. */
struct line_ctx {
	const char *source;
	unsigned lineno;
	const char *keyword;
	char *err;
	size_t errlen;
};

static int __attribute__((format(printf, 2, 3)))
cerr(struct line_ctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err != NULL && c->errlen > 0)
		snprintf(c->err, c->errlen, "%s line %u: %s", c->source, c->lineno, msg);
	return DSSH_ERR_CONFIG;
}

static void
free_strv(char **v, unsigned n)
{
	if (v == NULL)
		return;
	for (unsigned i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
strv_add(char ***v, unsigned *n, const char *s)
{
	char **nv;
	char *d;

	if (*n >= 65536)
		return DSSH_ERR_NO_BUFFER_SPACE;
	if ((d = strdup(s)) == NULL)
		return DSSH_ERR_ALLOC;
	if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL) {
		free(d);
		return DSSH_ERR_ALLOC;
	}
	nv[(*n)++] = d;
	*v = nv;
	return 0;
}

void
dssh_config_init(struct dssh_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->pubkey_authentication = -1;
	cfg->password_authentication = -1;
	cfg->kbd_interactive_authentication = -1;
	cfg->permit_root_login = -1;
	cfg->permit_empty_passwords = -1;
	cfg->max_auth_tries = -1;
	cfg->login_grace_time = -1;
	cfg->client_alive_interval = -1;
	cfg->client_alive_count_max = -1;
	cfg->rekey_limit_seconds = -1;
	cfg->log_level = -1;
	cfg->use_pam = -1;
	cfg->strict_modes = -1;
	cfg->print_motd = -1;
	cfg->syslog_facility = -1;
	cfg->print_lastlog = -1;
	cfg->data_plane = -1;
	cfg->data_prefixlen = -1;
	cfg->data_cores = -1;
	cfg->data_mtu = -1;
	cfg->data_busy_poll = -1;
	cfg->data_crypto_control = -1;
	cfg->data_channels_control = -1;
	cfg->data_offload = -1;
	cfg->permit_user_environment = -1;
	cfg->channel_window_size = -1;
	cfg->loop_threads = -1;
	cfg->data_tcp_buffer = -1;
	cfg->allow_tcp_forwarding = -1;
	cfg->allow_streamlocal_forwarding = -1;
	cfg->allow_agent_forwarding = -1;
	cfg->gateway_ports = -1;
	cfg->disable_forwarding = -1;
	cfg->streamlocal_bind_unlink = -1;
	cfg->streamlocal_bind_mask = -1;
	cfg->permit_open_mode = -1;
	cfg->permit_listen_mode = -1;
	cfg->max_sessions = -1;
	cfg->per_source_max_startups = -1;
	cfg->per_source_netblock4 = -1;
	cfg->per_source_netblock6 = -1;
	sess_kw_init(cfg);
}

void
dssh_config_init_defaults(struct dssh_config *cfg)
{
	dssh_config_init(cfg);
}

void
dssh_config_free(struct dssh_config *cfg)
{
	if (cfg == NULL)
		return;
	for (unsigned i = 0; i < cfg->nlisten; i++)
		free(cfg->listen[i].addr);
	free(cfg->listen);
	free_strv(cfg->host_keys, cfg->nhost_keys);
	free(cfg->ciphers);
	for (size_t i = 0; i < 4; i++)
		free(cfg->alg_where[i]);
	free(cfg->macs);
	free(cfg->kex_algorithms);
	free(cfg->host_key_algorithms);
	free_strv(cfg->authorized_keys_files, cfg->nauthorized_keys_files);
	free_strv(cfg->allow_users, cfg->nallow_users);
	free_strv(cfg->deny_users, cfg->ndeny_users);
	free_strv(cfg->accept_env, cfg->naccept_env);
	for (unsigned i = 0; i < cfg->nsubsystems; i++) {
		free(cfg->subsystems[i].name);
		free(cfg->subsystems[i].command);
	}
	free(cfg->subsystems);
	free(cfg->pid_file);
	free(cfg->max_startups);
	free(cfg->crypto_engine);
	free(cfg->dpdk_args);
	free(cfg->data_impair);
	free(cfg->data_address6);
	free(cfg->data_address);
	free(cfg->data_gateway);
	free(cfg->chroot_directory);
	/* certificates */
	free(cfg->trusted_user_ca_keys);
	free(cfg->authorized_principals_file);
	free(cfg->revoked_keys);
	free_strv(cfg->host_certificates, cfg->nhost_certificates);
	free(cfg->force_command);
	dssh_config_permits_free(cfg->permit_open, cfg->npermit_open);
	dssh_config_permits_free(cfg->permit_listen, cfg->npermit_listen);
	free(cfg->per_source_penalties);
	free(cfg->penalty_exempt_list);
	free(cfg->banner);
	free(cfg->version_addendum);
	free(cfg->authentication_methods);
	free(cfg->pam_service_name);
	sess_kw_free(cfg);
	/* dsshctl */
	free(cfg->control_socket);
	free(cfg->metrics_listen);
	dssh_config_init(cfg);
}

/* dsshctl (defined with the other dsshctl code below) */
static int set_metrics_listen(struct dssh_config *cfg, struct line_ctx *c, int argc, char **argv);

/* ---- value parsers ---- */

int
dssh_config_parse_time(const char *s, int *out)
{
	long long total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return DSSH_ERR_INVALID_FORMAT;
	while (*p != '\0') {
		long long v = 0, mult;

		if (!isdigit((unsigned char)*p))
			return DSSH_ERR_INVALID_FORMAT;
		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (*p - '0');
			if (v > INT_MAX)
				return DSSH_ERR_INVALID_FORMAT;
			p++;
		}
		switch (*p) {
		case '\0': mult = 1; break;
		case 's': case 'S': mult = 1; p++; break;
		case 'm': case 'M': mult = 60; p++; break;
		case 'h': case 'H': mult = 3600; p++; break;
		case 'd': case 'D': mult = 86400; p++; break;
		case 'w': case 'W': mult = 604800; p++; break;
		default:
			return DSSH_ERR_INVALID_FORMAT;
		}
		if (v > INT_MAX / mult)
			return DSSH_ERR_INVALID_FORMAT;
		total += v * mult;
		if (total > INT_MAX)
			return DSSH_ERR_INVALID_FORMAT;
	}
	*out = (int)total;
	return 0;
}

int
dssh_config_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (s == NULL || !isdigit((unsigned char)*s))
		return DSSH_ERR_INVALID_FORMAT;
	while (isdigit((unsigned char)*p)) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return DSSH_ERR_INVALID_FORMAT;
		v = v * 10 + d;
		p++;
	}
	switch (*p) {
	case '\0': break;
	case 'k': case 'K': mult = 1ULL << 10; p++; break;
	case 'm': case 'M': mult = 1ULL << 20; p++; break;
	case 'g': case 'G': mult = 1ULL << 30; p++; break;
	case 't': case 'T': mult = 1ULL << 40; p++; break;
	default:
		return DSSH_ERR_INVALID_FORMAT;
	}
	if (*p != '\0')
		return DSSH_ERR_INVALID_FORMAT;
	if (v > UINT64_MAX / mult)
		return DSSH_ERR_INVALID_FORMAT;
	*out = v * mult;
	return 0;
}

static int
parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return DSSH_ERR_INVALID_FORMAT;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return DSSH_ERR_INVALID_FORMAT;
	*out = v;
	return 0;
}

static int
parse_port(const char *s, int *out)
{
	long long v;

	if (parse_int(s, 1, 65535, &v) != 0)
		return DSSH_ERR_INVALID_FORMAT;
	*out = (int)v;
	return 0;
}

/* 1 yes, 0 no, -1 bad */
static int
parse_yesno(const char *s)
{
	if (strcasecmp(s, "yes") == 0)
		return 1;
	if (strcasecmp(s, "no") == 0)
		return 0;
	return -1;
}

/* A host name or numeric address usable in ListenAddress. */
static bool
valid_host(const char *s)
{
	struct in6_addr a6;

	if (*s == '\0' || strlen(s) > 255)
		return false;
	if (strchr(s, ':') != NULL)
		return inet_pton(AF_INET6, s, &a6) == 1;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
			return false;
	return true;
}

/*
 * Algorithm list syntax: comma separated non-empty names of printable
 * characters without spaces.
 */
static bool
valid_alg_list(const char *s)
{
	const char *p = s;

	if (*p == '+' || *p == '-' || *p == '^')
		p++;
	if (*p == '\0' || *p == ',')
		return false;
	for (; *p; p++) {
		if (*p == ',' && (p[1] == ',' || p[1] == '\0'))
			return false;
		if (!isgraph((unsigned char)*p))
			return false;
	}
	return true;
}

/* ---- tokenizer ---- */

/*
 * Split args in place. Double and single quotes group words; outside
 * single quotes a backslash escapes the next character. An unquoted '#' at
 * the start of a word ends the line.
 */
static int
split_args(char *s, char **argv, int *argc, struct line_ctx *c)
{
	int n = 0;
	char *r = s, *w;

	for (;;) {
		char quote = 0;

		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '\0' || *r == '#')
			break;
		if (n >= CONFIG_MAX_ARGS)
			return cerr(c, "too many arguments");
		w = r;
		argv[n++] = w;
		while (*r != '\0') {
			if (quote == 0 && (*r == ' ' || *r == '\t'))
				break;
			if (quote == 0 && (*r == '"' || *r == '\'')) {
				quote = *r++;
				continue;
			}
			if (quote != 0 && *r == quote) {
				quote = 0;
				r++;
				continue;
			}
			if (*r == '\\' && quote != '\'' && r[1] != '\0') {
				r++;
				*w++ = *r++;
				continue;
			}
			*w++ = *r++;
		}
		if (quote != 0)
			return cerr(c, "unterminated quoted argument");
		if (*r != '\0')
			r++;
		*w = '\0';
	}
	*argc = n;
	return 0;
}

/* ---- keyword handlers ---- */

static int
set_yesno(struct line_ctx *c, int *field, int argc, char **argv)
{
	int v;

	if (argc != 1)
		return cerr(c, "%s takes exactly one argument", c->keyword);
	if ((v = parse_yesno(argv[0])) < 0)
		return cerr(c, "unsupported %s value \"%s\"", c->keyword, argv[0]);
	if (*field == -1)
		*field = v;
	return 0;
}

/* One of two words: the first sets 0, the second 1. */
static int
set_choice(struct line_ctx *c, int *field, int argc, char **argv, const char *name,
    const char *w0, const char *w1)
{
	int v;

	if (argc != 1)
		return cerr(c, "%s takes exactly one argument", name);
	if (strcasecmp(argv[0], w0) == 0)
		v = 0;
	else if (strcasecmp(argv[0], w1) == 0)
		v = 1;
	else
		return cerr(c, "unsupported %s \"%s\" (%s or %s)", name, argv[0], w0, w1);
	if (*field == -1)
		*field = v;
	return 0;
}

static int
set_str(struct line_ctx *c, char **field, int argc, char **argv)
{
	if (argc != 1)
		return cerr(c, "%s takes exactly one argument", c->keyword);
	if (*field == NULL && (*field = strdup(argv[0])) == NULL)
		return DSSH_ERR_ALLOC;
	return 0;
}

static int
set_int(struct line_ctx *c, int *field, int argc, char **argv, int min, int max)
{
	long long v;

	if (argc != 1)
		return cerr(c, "%s takes exactly one argument", c->keyword);
	if (parse_int(argv[0], min, max, &v) != 0)
		return cerr(c, "bad number \"%s\" for %s", argv[0], c->keyword);
	if (*field == -1)
		*field = (int)v;
	return 0;
}

static int
set_time(struct line_ctx *c, int *field, int argc, char **argv)
{
	int v;

	if (argc != 1)
		return cerr(c, "%s takes exactly one argument", c->keyword);
	if (dssh_config_parse_time(argv[0], &v) != 0)
		return cerr(c, "invalid time value \"%s\" for %s", argv[0], c->keyword);
	if (*field == -1)
		*field = v;
	return 0;
}

/* A byte count ("16M") within [min, max]; range names them for the error. */
static int
set_size(struct line_ctx *c, int *field, int argc, char **argv, int min, int max,
    const char *range)
{
	uint64_t bytes;

	if (argc != 1)
		return cerr(c, "%s takes exactly one argument", c->keyword);
	if (dssh_config_parse_size(argv[0], &bytes) != 0 || bytes < (uint64_t)min ||
	    bytes > (uint64_t)max)
		return cerr(c, "bad %s \"%s\" (%s)", c->keyword, argv[0], range);
	if (*field == -1)
		*field = (int)bytes;
	return 0;
}

static int
set_algs(struct line_ctx *c, char **field, int argc, char **argv)
{
	if (argc != 1)
		return cerr(c, "%s takes exactly one argument", c->keyword);
	if (!valid_alg_list(argv[0]))
		return cerr(c, "bad %s list \"%s\"", c->keyword, argv[0]);
	if (*field == NULL && (*field = strdup(argv[0])) == NULL)
		return DSSH_ERR_ALLOC;
	return 0;
}

static int
add_listen(struct dssh_config *cfg, struct line_ctx *c, int argc, char **argv)
{
	char *a, *host = NULL, *portstr = NULL;
	struct dssh_config_listen *nl;
	int port = 0, r = 0;

	if (argc != 1)
		return cerr(c, "ListenAddress takes exactly one argument");
	if ((a = strdup(argv[0])) == NULL)
		return DSSH_ERR_ALLOC;
	if (a[0] == '[') {
		char *e = strchr(a, ']');

		if (e == NULL) {
			r = cerr(c, "bad ListenAddress \"%s\"", argv[0]);
			goto out;
		}
		*e = '\0';
		host = a + 1;
		if (e[1] == ':')
			portstr = e + 2;
		else if (e[1] != '\0') {
			r = cerr(c, "bad ListenAddress \"%s\"", argv[0]);
			goto out;
		}
	} else {
		char *colon = strchr(a, ':');

		host = a;
		/* More than one colon: a bare IPv6 address without port. */
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			*colon = '\0';
			portstr = colon + 1;
		}
	}
	if (!valid_host(host)) {
		r = cerr(c, "bad ListenAddress \"%s\"", argv[0]);
		goto out;
	}
	if (portstr != NULL && parse_port(portstr, &port) != 0) {
		r = cerr(c, "bad port number in ListenAddress \"%s\"", argv[0]);
		goto out;
	}
	if (cfg->nlisten >= 1024) {
		r = cerr(c, "too many ListenAddress lines");
		goto out;
	}
	if ((nl = realloc(cfg->listen, (cfg->nlisten + 1) * sizeof(*nl))) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	cfg->listen = nl;
	if ((nl[cfg->nlisten].addr = strdup(host)) == NULL) {
		r = DSSH_ERR_ALLOC;
		goto out;
	}
	nl[cfg->nlisten++].port = port;
 out:
	free(a);
	return r;
}

static int
set_rekey(struct dssh_config *cfg, struct line_ctx *c, int argc, char **argv)
{
	uint64_t bytes;
	int secs = DSSH_CONFIG_DEFAULT_REKEY_SECONDS;

	if (argc < 1 || argc > 2)
		return cerr(c, "RekeyLimit takes a size and an optional time");
	if (strcasecmp(argv[0], "default") == 0)
		bytes = DSSH_CONFIG_DEFAULT_REKEY_BYTES;
	else if (strcasecmp(argv[0], "none") == 0)
		bytes = 0;
	else if (dssh_config_parse_size(argv[0], &bytes) != 0)
		return cerr(c, "invalid RekeyLimit size \"%s\"", argv[0]);
	else if (bytes < 16)
		return cerr(c, "RekeyLimit too small");
	if (argc == 2) {
		if (strcasecmp(argv[1], "default") == 0)
			secs = DSSH_CONFIG_DEFAULT_REKEY_SECONDS;
		else if (strcasecmp(argv[1], "none") == 0)
			secs = 0;
		else if (dssh_config_parse_time(argv[1], &secs) != 0)
			return cerr(c, "invalid RekeyLimit time \"%s\"", argv[1]);
	}
	if (!cfg->rekey_set) {
		cfg->rekey_set = true;
		cfg->rekey_limit_bytes = bytes;
		cfg->rekey_limit_seconds = secs;
	}
	return 0;
}

/* The arguments joined by single spaces (a command line), or NULL. */
static char *
join_args(int argc, char **argv)
{
	size_t len = 1;
	char *cmd;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if ((cmd = malloc(len)) == NULL)
		return NULL;
	cmd[0] = '\0';
	for (int i = 0; i < argc; i++) {
		if (i > 0)
			strcat(cmd, " ");
		strcat(cmd, argv[i]);
	}
	return cmd;
}

/* AuthenticationMethods: "any" or lists of methods, validated, kept joined. */
static int
set_auth_methods(struct dssh_config *cfg, struct line_ctx *c, int argc, char **argv)
{
	struct dssh_authmethods am;
	char why[160], *v;

	if (argc < 1)
		return cerr(c, "AuthenticationMethods needs a value");
	if ((v = join_args(argc, argv)) == NULL)
		return DSSH_ERR_ALLOC;
	if (dssh_authmethods_parse(v, &am, why, sizeof(why)) != 0) {
		free(v);
		return cerr(c, "bad AuthenticationMethods: %s", why);
	}
	if (cfg->authentication_methods == NULL)
		cfg->authentication_methods = v;
	else
		free(v);
	return 0;
}

static int
set_subsystem(struct dssh_config *cfg, struct line_ctx *c, int argc, char **argv)
{
	struct dssh_config_subsystem *ns;
	char *cmd;

	if (argc < 2)
		return cerr(c, "Subsystem needs a name and a command");
	for (unsigned i = 0; i < cfg->nsubsystems; i++)
		if (strcmp(cfg->subsystems[i].name, argv[0]) == 0)
			return 0;       /* first definition wins */
	if (cfg->nsubsystems >= 256)
		return cerr(c, "too many subsystems");
	if ((cmd = join_args(argc - 1, argv + 1)) == NULL)
		return DSSH_ERR_ALLOC;
	ns = realloc(cfg->subsystems, (cfg->nsubsystems + 1) * sizeof(*ns));
	if (ns == NULL) {
		free(cmd);
		return DSSH_ERR_ALLOC;
	}
	cfg->subsystems = ns;
	if ((ns[cfg->nsubsystems].name = strdup(argv[0])) == NULL) {
		free(cmd);
		return DSSH_ERR_ALLOC;
	}
	ns[cfg->nsubsystems++].command = cmd;
	return 0;
}

static int
set_data_address(struct dssh_config *cfg, struct line_ctx *c, int argc, char **argv)
{
	char buf[64], *slash;
	struct in_addr a;
	long long plen;

	if (argc != 1)
		return cerr(c, "DataAddress takes exactly one argument");
	if (strlen(argv[0]) >= sizeof(buf))
		return cerr(c, "bad DataAddress \"%s\"", argv[0]);
	strcpy(buf, argv[0]);
	if ((slash = strchr(buf, '/')) == NULL)
		return cerr(c, "DataAddress needs addr/prefixlen: \"%s\"", argv[0]);
	*slash = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1 ||
	    parse_int(slash + 1, 0, 32, &plen) != 0)
		return cerr(c, "bad DataAddress \"%s\"", argv[0]);
	if (cfg->data_address == NULL) {
		if ((cfg->data_address = strdup(argv[0])) == NULL)
			return DSSH_ERR_ALLOC;
		cfg->data_addr = a;
		cfg->data_prefixlen = (int)plen;
	}
	return 0;
}

static bool
valid_max_startups(const char *s)
{
	long long a, b, m;
	char buf[64];
	char *p1, *p2;

	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	if ((p1 = strchr(buf, ':')) == NULL)
		return parse_int(buf, 0, INT_MAX, &a) == 0;
	*p1++ = '\0';
	if ((p2 = strchr(p1, ':')) == NULL)
		return false;
	*p2++ = '\0';
	return parse_int(buf, 0, INT_MAX, &a) == 0 &&
	    parse_int(p1, 0, 100, &b) == 0 &&
	    parse_int(p2, 0, INT_MAX, &m) == 0 && a <= m;
}

/* ---- pre-auth limits ---- */

/* PerSourceNetBlockSize v4[:v6]. */
static int
set_netblock(struct dssh_config *cfg, struct line_ctx *c, int argc, char **argv)
{
	long long v4, v6 = 128;
	char buf[32], *colon;

	if (argc != 1 || strlen(argv[0]) >= sizeof(buf))
		return cerr(c, "PerSourceNetBlockSize takes one argument, v4[:v6]");
	strcpy(buf, argv[0]);
	if ((colon = strchr(buf, ':')) != NULL)
		*colon++ = '\0';
	if (parse_int(buf, 0, 32, &v4) != 0 || (colon != NULL && parse_int(colon, 0, 128, &v6) != 0))
		return cerr(c, "bad PerSourceNetBlockSize \"%s\"", argv[0]);
	if (cfg->per_source_netblock4 == -1) {
		cfg->per_source_netblock4 = (int)v4;
		cfg->per_source_netblock6 = (int)v6;
	}
	return 0;
}

/* One "name:value" of PerSourcePenalties into pc. */
static int
penalty_item(struct line_ctx *c, struct dssh_penalty_conf *pc, const char *item)
{
	static const struct {
		const char *name;
		int kind;       /* a dssh_penalty_kind, or -1 max, -2 min */
	} times[] = {
		{ "crash", DSSH_PENALTY_CRASH }, { "authfail", DSSH_PENALTY_AUTHFAIL },
		{ "noauth", DSSH_PENALTY_NOAUTH }, { "grace-exceeded", DSSH_PENALTY_GRACE },
		{ "max", -1 }, { "min", -2 },
	};
	const char *colon = strchr(item, ':'), *val;
	size_t nlen;
	long long n;
	int secs;

	if (colon == NULL)
		return cerr(c, "bad PerSourcePenalties item \"%s\" (name:value)", item);
	nlen = (size_t)(colon - item);
	val = colon + 1;
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(times); i++) {
		if (strlen(times[i].name) != nlen || strncmp(item, times[i].name, nlen) != 0)
			continue;
		if (dssh_config_parse_time(val, &secs) != 0)
			return cerr(c, "bad PerSourcePenalties time \"%s\"", item);
		if (times[i].kind >= 0)
			pc->secs[times[i].kind] = (unsigned)secs;
		else if (times[i].kind == -1)
			pc->max_secs = (unsigned)secs;
		else
			pc->min_secs = (unsigned)secs;
		return 0;
	}
	if ((nlen == 12 && strncmp(item, "max-sources4", 12) == 0) ||
	    (nlen == 12 && strncmp(item, "max-sources6", 12) == 0)) {
		if (parse_int(val, 1, INT_MAX, &n) != 0)
			return cerr(c, "bad PerSourcePenalties count \"%s\"", item);
		if (item[11] == '4')
			pc->max_sources4 = (unsigned)n;
		else
			pc->max_sources6 = (unsigned)n;
		return 0;
	}
	if ((nlen == 8 && strncmp(item, "overflow", 8) == 0) ||
	    (nlen == 9 && strncmp(item, "overflow6", 9) == 0)) {
		bool *deny = nlen == 8 ? &pc->overflow_deny4 : &pc->overflow_deny6;

		if (strcmp(val, "deny-all") == 0)
			*deny = true;
		else if (strcmp(val, "permissive") == 0)
			*deny = false;
		else
			return cerr(c, "bad PerSourcePenalties overflow mode \"%s\"", item);
		return 0;
	}
	return cerr(c, "unknown PerSourcePenalties item \"%s\"", item);
}

/* PerSourcePenalties no | yes | name:value ... (first line wins). */
static int
set_penalties(struct dssh_config *cfg, struct line_ctx *c, int argc, char **argv)
{
	struct dssh_penalty_conf pc;
	int r;

	if (argc < 1)
		return cerr(c, "PerSourcePenalties needs an argument");
	dssh_penalty_conf_default(&pc);
	if (argc == 1 && strcmp(argv[0], "no") == 0)
		pc.enabled = false;
	else if (!(argc == 1 && strcmp(argv[0], "yes") == 0))
		for (int i = 0; i < argc; i++)
			if ((r = penalty_item(c, &pc, argv[i])) != 0)
				return r;
	if (pc.min_secs > pc.max_secs)
		return cerr(c, "PerSourcePenalties min above max");
	if (cfg->per_source_penalties != NULL)
		return 0;
	if ((cfg->per_source_penalties = join_args(argc, argv)) == NULL)
		return DSSH_ERR_ALLOC;
	cfg->penalty_conf = pc;
	return 0;
}

/* PerSourcePenaltyExemptList addr/len,... or none. */
static int
set_penalty_exempt(struct dssh_config *cfg, struct line_ctx *c, int argc, char **argv)
{
	struct dssh_cidr *v;
	unsigned n;

	if (argc != 1)
		return cerr(c, "PerSourcePenaltyExemptList takes one argument (a comma list)");
	if (strcmp(argv[0], "none") != 0) {
		if (dssh_cidr_list_parse(argv[0], &v, &n) != 0)
			return cerr(c, "bad PerSourcePenaltyExemptList \"%s\"", argv[0]);
		free(v);
	}
	return set_str(c, &cfg->penalty_exempt_list, argc, argv);
}


/* Algorithm lists are checked in finalize, once the supported lists are
 * known: remember where the (first, winning) line was, for its errors. */
static int
set_algs_where(struct dssh_config *cfg, struct line_ctx *c, char **field, int slot,
    int argc, char **argv)
{
	bool was_set = *field != NULL;
	int r = set_algs(c, field, argc, argv);

	if (r == 0 && !was_set && *field != NULL && cfg->alg_where[slot] == NULL) {
		char where[512];

		snprintf(where, sizeof(where), "%s line %u", c->source, c->lineno);
		if ((cfg->alg_where[slot] = strdup(where)) == NULL)
			return DSSH_ERR_ALLOC;
	}
	return r;
}

/* ---- forwarding keywords ---- */

void
dssh_config_permits_free(struct dssh_config_permit *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i].host);
	free(v);
}

int
dssh_config_permits_add(struct dssh_config_permit **v, size_t *n,
    const struct dssh_config_permit *p)
{
	struct dssh_config_permit *nv;
	char *h;

	if (*n >= DSSH_PERMIT_MAX)
		return DSSH_ERR_NO_BUFFER_SPACE;
	if ((h = strdup(p->host)) == NULL)
		return DSSH_ERR_ALLOC;
	if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL) {
		free(h);
		return DSSH_ERR_ALLOC;
	}
	nv[*n].host = h;
	nv[(*n)++].port = p->port;
	*v = nv;
	return 0;
}

void
dssh_config_permit_format(const struct dssh_config_permit *p, char *out,
    size_t outlen)
{
	char port[16];

	if (p->port == DSSH_PERMIT_ANY_PORT)
		strcpy(port, "*");
	else
		snprintf(port, sizeof(port), "%d", p->port);
	snprintf(out, outlen, strchr(p->host, ':') != NULL ? "[%s]:%s" : "%s:%s",
	    p->host, port);
}

static int
permit_why(char *why, size_t whylen, const char *msg)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", msg);
	return DSSH_ERR_INVALID_FORMAT;
}

/*
 * [v6]:port, host:port, or (listen) port alone. As sshd, no name lookups:
 * the host is kept as written (brackets removed); a port is 1..65535 or "*".
 */
int
dssh_config_parse_permit(const char *s, bool listen,
    struct dssh_config_permit *out, char *why, size_t whylen)
{
	const char *hs, *he, *ps;
	long long port;
	size_t hlen;

	out->host = NULL;
	out->port = 0;
	if (listen && strchr(s, ':') == NULL) {
		hs = "*";
		he = hs + 1;
		ps = s;
	} else if (s[0] == '[') {
		hs = s + 1;
		if ((he = strchr(hs, ']')) == NULL || he[1] != ':')
			return permit_why(why, whylen, "bad [address]:port");
		ps = he + 2;
	} else {
		hs = s;
		if ((he = strchr(s, ':')) == NULL)
			return permit_why(why, whylen, "missing port (host:port)");
		ps = he + 1;
	}
	/* An empty host is accepted, as sshd: it matches an empty request. */
	hlen = (size_t)(he - hs);
	if (hlen > 1024)
		return permit_why(why, whylen, "bad host name");
	for (const char *q = hs; q < he; q++)
		if (!isgraph((unsigned char)*q) || *q == '[' || *q == ']' ||
		    *q == '/' || *q == ',' || *q == '"')
			return permit_why(why, whylen, "bad host name");
	if (strcmp(ps, "*") == 0)
		out->port = DSSH_PERMIT_ANY_PORT;
	else if (parse_int(ps, 1, 65535, &port) != 0)
		return permit_why(why, whylen, "bad port number");
	else
		out->port = (int)port;
	if ((out->host = dssh_strndup(hs, hlen)) == NULL)
		return DSSH_ERR_ALLOC;
	/* PermitListen hosts are patterns against the lowercased request. */
	if (listen)
		for (char *q = out->host; *q; q++)
			*q = (char)tolower((unsigned char)*q);
	return 0;
}

/* yes|all|no|local|remote into a DSSH_FWD_* mask. */
static int
set_fwd_allow(struct line_ctx *c, int *field, int argc, char **argv)
{
	static const struct {
		const char *name;
		int mask;
	} words[] = {
		{ "yes", DSSH_FWD_ALL }, { "all", DSSH_FWD_ALL }, { "no", 0 },
		{ "local", DSSH_FWD_LOCAL }, { "remote", DSSH_FWD_REMOTE },
	};

	if (argc != 1)
		return cerr(c, "%s takes exactly one argument", c->keyword);
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(words); i++) {
		if (strcasecmp(argv[0], words[i].name) == 0) {
			if (*field == -1)
				*field = words[i].mask;
			return 0;
		}
	}
	return cerr(c, "unsupported %s value \"%s\" (yes, all, no, local or remote)",
	    c->keyword, argv[0]);
}

static int
set_gateway_ports(struct dssh_config *cfg, struct line_ctx *c, int argc, char **argv)
{
	int v;

	if (argc != 1)
		return cerr(c, "GatewayPorts takes exactly one argument");
	if (strcasecmp(argv[0], "clientspecified") == 0)
		v = DSSH_GATEWAY_CLIENTSPECIFIED;
	else if ((v = parse_yesno(argv[0])) < 0)
		return cerr(c, "unsupported GatewayPorts value \"%s\" (no, yes or "
		    "clientspecified)", argv[0]);
	else
		v = v ? DSSH_GATEWAY_YES : DSSH_GATEWAY_NO;
	if (cfg->gateway_ports == -1)
		cfg->gateway_ports = v;
	return 0;
}

static int
set_bind_mask(struct dssh_config *cfg, struct line_ctx *c, int argc, char **argv)
{
	char *end;
	long v;

	if (argc != 1)
		return cerr(c, "StreamLocalBindMask takes exactly one argument");
	errno = 0;
	v = strtol(argv[0], &end, 8);
	if (!isdigit((unsigned char)argv[0][0]) || *end != '\0' || errno != 0 ||
	    v < 0 || v > 0777)
		return cerr(c, "bad StreamLocalBindMask \"%s\" (octal, 0 to 0777)", argv[0]);
	if (cfg->streamlocal_bind_mask == -1)
		cfg->streamlocal_bind_mask = (int)v;
	return 0;
}

/*
 * PermitOpen / PermitListen: "any", "none" (either alone) or entries. As
 * sshd, the first line wins as a whole.
 */
static int
set_permits(struct line_ctx *c, int *mode, struct dssh_config_permit **v,
    size_t *n, bool listen, int argc, char **argv)
{
	struct dssh_config_permit *nv = NULL;
	size_t nn = 0;
	char why[128];
	int m = DSSH_PERMIT_LIST, r = 0;

	if (strcasecmp(argv[0], "any") == 0)
		m = DSSH_PERMIT_ANY;
	else if (strcasecmp(argv[0], "none") == 0)
		m = DSSH_PERMIT_NONE;
	if (m != DSSH_PERMIT_LIST && argc != 1)
		return cerr(c, "%s: \"%s\" must appear alone", c->keyword, argv[0]);
	for (int i = 0; m == DSSH_PERMIT_LIST && i < argc; i++) {
		struct dssh_config_permit p;

		if (strcasecmp(argv[i], "any") == 0 || strcasecmp(argv[i], "none") == 0) {
			r = cerr(c, "%s: \"%s\" must appear alone", c->keyword, argv[i]);
			goto out;
		}
		if ((r = dssh_config_parse_permit(argv[i], listen, &p, why,
		    sizeof(why))) != 0) {
			if (r == DSSH_ERR_INVALID_FORMAT)
				r = cerr(c, "bad %s \"%s\": %s", c->keyword, argv[i], why);
			goto out;
		}
		r = dssh_config_permits_add(&nv, &nn, &p);
		free(p.host);
		if (r == DSSH_ERR_NO_BUFFER_SPACE)
			r = cerr(c, "too many %s entries", c->keyword);
		if (r != 0)
			goto out;
	}
	if (*mode == -1) {
		*mode = m;
		*v = nv;
		*n = nn;
		nv = NULL;
		nn = 0;
	}
 out:
	dssh_config_permits_free(nv, nn);
	return r;
}

/* ---- sessions: X11, compression, tty, rc, env, TCP (issue 14) ---- */

static void
sess_kw_init(struct dssh_config *cfg)
{
	cfg->compression = -1;
	cfg->x11_forwarding = -1;
	cfg->x11_display_offset = -1;
	cfg->x11_use_localhost = -1;
	cfg->permit_tty = -1;
	cfg->permit_user_rc = -1;
	cfg->tcp_keepalive = -1;
	cfg->ipqos_interactive = -2;
	cfg->ipqos_bulk = -2;
}

static void
sess_kw_free(struct dssh_config *cfg)
{
	free(cfg->xauth_location);
	free_strv(cfg->set_env, cfg->nset_env);
}

static const struct { const char *name; int v; } ipqos_names[] = {
		{ "af11", 0x28 }, { "af12", 0x30 }, { "af13", 0x38 },
		{ "af21", 0x48 }, { "af22", 0x50 }, { "af23", 0x58 },
		{ "af31", 0x68 }, { "af32", 0x70 }, { "af33", 0x78 },
		{ "af41", 0x88 }, { "af42", 0x90 }, { "af43", 0x98 },
		{ "cs0", 0x00 }, { "cs1", 0x20 }, { "cs2", 0x40 }, { "cs3", 0x60 },
		{ "cs4", 0x80 }, { "cs5", 0xa0 }, { "cs6", 0xc0 }, { "cs7", 0xe0 },
		{ "ef", 0xb8 }, { "le", 0x04 }, { "lowdelay", 0x10 }, { "throughput", 0x08 },
		{ "reliability", 0x04 }, { "none", -1 },
};

/* sshd_config(5) IPQoS names, or a number 0..255; -1 for none. */
int
dssh_config_parse_ipqos(const char *s, int *out)
{
	char *end;
	long v;

	for (size_t i = 0; i < DSSH_ARRAY_SIZE(ipqos_names); i++) {
		if (strcasecmp(s, ipqos_names[i].name) == 0) {
			*out = ipqos_names[i].v;
			return 0;
		}
	}
	if (!isdigit((unsigned char)s[0]))
		return DSSH_ERR_INVALID_FORMAT;
	errno = 0;
	v = strtol(s, &end, 0);
	if (errno != 0 || *end != '\0' || v < 0 || v > 255)
		return DSSH_ERR_INVALID_FORMAT;
	*out = (int)v;
	return 0;
}

static int
apply_sess_kw(struct dssh_config *cfg, struct line_ctx *c, enum opcode op, int argc,
    char **argv)
{
	int v, b;

	switch (op) {
	case O_COMPRESSION:
		/* sshd: yes means delayed (zlib@openssh.com after authentication) */
		if (argc == 1 && strcasecmp(argv[0], "delayed") == 0) {
			if (cfg->compression == -1)
				cfg->compression = 1;
			return 0;
		}
		return set_yesno(c, &cfg->compression, argc, argv);
	case O_X11FWD:
		return set_yesno(c, &cfg->x11_forwarding, argc, argv);
	case O_X11OFFSET:
		return set_int(c, &cfg->x11_display_offset, argc, argv, 0, 1000);
	case O_X11LOCALHOST:
		return set_yesno(c, &cfg->x11_use_localhost, argc, argv);
	case O_XAUTHLOC:
		if (argc == 1 && argv[0][0] != '/')
			return cerr(c, "XAuthLocation must be an absolute path");
		return set_str(c, &cfg->xauth_location, argc, argv);
	case O_PERMITTTY:
		return set_yesno(c, &cfg->permit_tty, argc, argv);
	case O_PERMITUSERRC:
		return set_yesno(c, &cfg->permit_user_rc, argc, argv);
	case O_SETENV:
		for (int i = 0; i < argc; i++) {
			const char *eq = strchr(argv[i], '=');

			if (eq == NULL || eq == argv[i])
				return cerr(c, "SetEnv needs NAME=VALUE, not \"%s\"", argv[i]);
		}
		/* the first SetEnv line wins, as every other keyword */
		if (cfg->set_env_set)
			return 0;
		cfg->set_env_set = true;
		for (int i = 0; i < argc; i++) {
			int r = strv_add(&cfg->set_env, &cfg->nset_env, argv[i]);

			if (r != 0)
				return r;
		}
		return 0;
	case O_TCPKEEPALIVE:
		return set_yesno(c, &cfg->tcp_keepalive, argc, argv);
	case O_IPQOS:
		if (argc < 1 || argc > 2)
			return cerr(c, "IPQoS takes one or two arguments");
		if (dssh_config_parse_ipqos(argv[0], &v) != 0 ||
		    dssh_config_parse_ipqos(argv[argc - 1], &b) != 0)
			return cerr(c, "unsupported IPQoS value \"%s%s%s\"", argv[0],
			    argc == 2 ? " " : "", argc == 2 ? argv[1] : "");
		if (cfg->ipqos_interactive == -2) {
			cfg->ipqos_interactive = v;
			cfg->ipqos_bulk = b;
		}
		return 0;
	default:
		return cerr(c, "internal: keyword %s not handled", c->keyword);
	}
}

static void
sess_kw_defaults(struct dssh_config *cfg)
{
	if (cfg->compression == -1)
		cfg->compression = 1;
	if (cfg->x11_forwarding == -1)
		cfg->x11_forwarding = 0;
	if (cfg->x11_display_offset == -1)
		cfg->x11_display_offset = 10;
	if (cfg->x11_use_localhost == -1)
		cfg->x11_use_localhost = 1;
	if (cfg->permit_tty == -1)
		cfg->permit_tty = 1;
	if (cfg->permit_user_rc == -1)
		cfg->permit_user_rc = 1;
	if (cfg->tcp_keepalive == -1)
		cfg->tcp_keepalive = 1;
	if (cfg->ipqos_interactive == -2) {
		cfg->ipqos_interactive = 0x48;      /* af21 */
		cfg->ipqos_bulk = 0x20;             /* cs1 */
	}
}

/* As sshd -T: the first name of the value (le before reliability), else hex. */
static void
dump_ipqos(FILE *f, int v)
{
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(ipqos_names); i++) {
		if (ipqos_names[i].v == v) {
			fprintf(f, "%s", ipqos_names[i].name);
			return;
		}
	}
	fprintf(f, "0x%02x", v);
}

static void
dump_sess_kw(const struct dssh_config *cfg, FILE *f)
{
	fprintf(f, "compression %s\n", cfg->compression ? "yes" : "no");     /* sshd -T's word */
	fprintf(f, "x11forwarding %s\n", cfg->x11_forwarding ? "yes" : "no");
	fprintf(f, "x11displayoffset %d\n", cfg->x11_display_offset);
	fprintf(f, "x11uselocalhost %s\n", cfg->x11_use_localhost ? "yes" : "no");
	fprintf(f, "xauthlocation %s\n", cfg->xauth_location ? cfg->xauth_location :
	    DSSH_CONFIG_XAUTH_DEFAULT);
	fprintf(f, "permittty %s\n", cfg->permit_tty ? "yes" : "no");
	fprintf(f, "permituserrc %s\n", cfg->permit_user_rc ? "yes" : "no");
	for (unsigned i = 0; i < cfg->nset_env; i++)
		fprintf(f, "setenv %s\n", cfg->set_env[i]);
	fprintf(f, "tcpkeepalive %s\n", cfg->tcp_keepalive ? "yes" : "no");
	fprintf(f, "ipqos ");
	dump_ipqos(f, cfg->ipqos_interactive);
	fprintf(f, " ");
	dump_ipqos(f, cfg->ipqos_bulk);
	fprintf(f, "\n");
}

/* ---- end of the session block ---- */

static int
apply(struct dssh_config *cfg, struct line_ctx *c, enum opcode op, int argc,
    char **argv)
{
	int r, v;

	switch (op) {
	case O_PORT: {
		int port;

		if (argc != 1)
			return cerr(c, "Port takes exactly one argument");
		if (parse_port(argv[0], &port) != 0)
			return cerr(c, "bad port number \"%s\"", argv[0]);
		if (cfg->nports >= DSSH_CONFIG_MAX_PORTS)
			return cerr(c, "too many ports");
		cfg->ports[cfg->nports++] = port;
		return 0;
	}
	case O_LISTEN:
		return add_listen(cfg, c, argc, argv);
	case O_HOSTKEY:
		if (argc != 1)
			return cerr(c, "HostKey takes exactly one argument");
		return strv_add(&cfg->host_keys, &cfg->nhost_keys, argv[0]);
	case O_CIPHERS:
		return set_algs_where(cfg, c, &cfg->ciphers, 0, argc, argv);
	case O_MACS:
		return set_algs_where(cfg, c, &cfg->macs, 1, argc, argv);
	case O_KEX:
		return set_algs_where(cfg, c, &cfg->kex_algorithms, 2, argc, argv);
	case O_HOSTKEYALGS:
		return set_algs_where(cfg, c, &cfg->host_key_algorithms, 3, argc, argv);
	case O_PUBKEY:
		return set_yesno(c, &cfg->pubkey_authentication, argc, argv);
	case O_PASSWORD:
		return set_yesno(c, &cfg->password_authentication, argc, argv);
	case O_KBDINT:
		return set_yesno(c, &cfg->kbd_interactive_authentication, argc, argv);
	case O_PERMITROOT:
		if (argc != 1)
			return cerr(c, "PermitRootLogin takes exactly one argument");
		if (strcasecmp(argv[0], "yes") == 0)
			v = DSSH_PERMIT_ROOT_YES;
		else if (strcasecmp(argv[0], "no") == 0)
			v = DSSH_PERMIT_ROOT_NO;
		else if (strcasecmp(argv[0], "prohibit-password") == 0 ||
		    strcasecmp(argv[0], "without-password") == 0)
			v = DSSH_PERMIT_ROOT_NO_PASSWORD;
		else if (strcasecmp(argv[0], "forced-commands-only") == 0)
			v = DSSH_PERMIT_ROOT_FORCED_ONLY;
		else
			return cerr(c, "unsupported PermitRootLogin value \"%s\"", argv[0]);
		if (cfg->permit_root_login == -1)
			cfg->permit_root_login = v;
		return 0;
	case O_EMPTYPW:
		return set_yesno(c, &cfg->permit_empty_passwords, argc, argv);
	case O_AUTHKEYS:
		if (argc < 1)
			return cerr(c, "AuthorizedKeysFile needs an argument");
		if (cfg->authorized_keys_set)
			return 0;
		cfg->authorized_keys_set = true;
		if (argc == 1 && strcasecmp(argv[0], "none") == 0)
			return 0;
		for (int i = 0; i < argc; i++)
			if ((r = strv_add(&cfg->authorized_keys_files,
			    &cfg->nauthorized_keys_files, argv[i])) != 0)
				return r;
		return 0;
	case O_ALLOWUSERS:
	case O_DENYUSERS:
		if (argc < 1)
			return cerr(c, "%s needs an argument", c->keyword);
		for (int i = 0; i < argc; i++) {
			if (op == O_ALLOWUSERS)
				r = strv_add(&cfg->allow_users, &cfg->nallow_users, argv[i]);
			else
				r = strv_add(&cfg->deny_users, &cfg->ndeny_users, argv[i]);
			if (r != 0)
				return r;
		}
		return 0;
	case O_MAXAUTHTRIES:
		return set_int(c, &cfg->max_auth_tries, argc, argv, 1, 1000000);
	case O_GRACE:
		return set_time(c, &cfg->login_grace_time, argc, argv);
	case O_ALIVEINT:
		return set_time(c, &cfg->client_alive_interval, argc, argv);
	case O_ALIVEMAX:
		return set_int(c, &cfg->client_alive_count_max, argc, argv, 0, INT_MAX);
	case O_ACCEPTENV:
		if (argc < 1)
			return cerr(c, "AcceptEnv needs an argument");
		for (int i = 0; i < argc; i++) {
			if (strchr(argv[i], '=') != NULL)
				return cerr(c, "invalid environment name \"%s\"", argv[i]);
			if ((r = strv_add(&cfg->accept_env, &cfg->naccept_env, argv[i])) != 0)
				return r;
		}
		return 0;
	case O_SUBSYSTEM:
		return set_subsystem(cfg, c, argc, argv);
	case O_REKEY:
		return set_rekey(cfg, c, argc, argv);
	case O_LOGLEVEL:
		if (argc != 1)
			return cerr(c, "LogLevel takes exactly one argument");
		if ((v = dssh_log_level_from_name(argv[0])) < 0)
			return cerr(c, "unsupported LogLevel \"%s\"", argv[0]);
		if (cfg->log_level == -1)
			cfg->log_level = v;
		return 0;
	case O_USEPAM:
		return set_yesno(c, &cfg->use_pam, argc, argv);
	case O_PIDFILE:
		return set_str(c, &cfg->pid_file, argc, argv);
	/* certificates: file paths, "none" for none (%u %h %U tokens expanded later) */
	case O_TRUSTEDCAS:
		return set_str(c, &cfg->trusted_user_ca_keys, argc, argv);
	case O_PRINCIPALSFILE:
		return set_str(c, &cfg->authorized_principals_file, argc, argv);
	case O_REVOKEDKEYS:
		return set_str(c, &cfg->revoked_keys, argc, argv);
	case O_HOSTCERT:        /* repeatable, as HostKey */
		if (argc != 1)
			return cerr(c, "HostCertificate takes exactly one argument");
		return strv_add(&cfg->host_certificates, &cfg->nhost_certificates, argv[0]);
	case O_STRICTMODES:
		return set_yesno(c, &cfg->strict_modes, argc, argv);
	case O_MAXSTARTUPS:
		if (argc == 1 && !valid_max_startups(argv[0]))
			return cerr(c, "bad MaxStartups \"%s\"", argv[0]);
		return set_str(c, &cfg->max_startups, argc, argv);
	case O_PRINTMOTD:
		return set_yesno(c, &cfg->print_motd, argc, argv);
	case O_ENGINE:
		return set_str(c, &cfg->crypto_engine, argc, argv);
	case O_DATAPLANE:
		if (argc != 1)
			return cerr(c, "DataPlane takes exactly one argument");
		if (strcasecmp(argv[0], "kernel") == 0)
			v = DSSH_DATA_PLANE_KERNEL;
		else if (strcasecmp(argv[0], "dpdk") == 0)
			v = DSSH_DATA_PLANE_DPDK;
		else
			return cerr(c, "unsupported DataPlane \"%s\"", argv[0]);
		if (cfg->data_plane == -1)
			cfg->data_plane = v;
		return 0;
	case O_DPDKARGS:
		return set_str(c, &cfg->dpdk_args, argc, argv);
	case O_DATAADDR:
		return set_data_address(cfg, c, argc, argv);
	case O_DATAGW: {
		struct in_addr a;

		if (argc != 1)
			return cerr(c, "DataGateway takes exactly one argument");
		if (inet_pton(AF_INET, argv[0], &a) != 1)
			return cerr(c, "bad DataGateway \"%s\"", argv[0]);
		if (cfg->data_gateway == NULL) {
			if ((cfg->data_gateway = strdup(argv[0])) == NULL)
				return DSSH_ERR_ALLOC;
			cfg->data_gw = a;
		}
		return 0;
	}
	case O_DATACORES:
		return set_int(c, &cfg->data_cores, argc, argv, 1, 1024);
	case O_DATAADDR6: {
		uint8_t ip6[16], plen;

		if (argc != 1)
			return cerr(c, "DataAddress6 takes exactly one argument");
		if (dssh_net_parse_ipv6_prefix(argv[0], ip6, &plen) != 0)
			return cerr(c, "bad DataAddress6 \"%s\" (addr/prefixlen)", argv[0]);
		if (cfg->data_address6 == NULL) {
			if ((cfg->data_address6 = strdup(argv[0])) == NULL)
				return DSSH_ERR_ALLOC;
			memcpy(cfg->data_addr6, ip6, 16);
			cfg->data_prefixlen6 = plen;
		}
		return 0;
	}
	case O_DATAOFFLOAD:
		return set_yesno(c, &cfg->data_offload, argc, argv);
	case O_DATAPOLL:
		return set_choice(c, &cfg->data_busy_poll, argc, argv, "DataPoll", "adaptive", "busy");
	case O_DATACRYPTO:
		return set_choice(c, &cfg->data_crypto_control, argc, argv, "DataCrypto", "cores",
		    "control");
	case O_DATACHANNELS:
		return set_choice(c, &cfg->data_channels_control, argc, argv, "DataChannels", "cores",
		    "control");
	case O_DATAMTU:
		return set_int(c, &cfg->data_mtu, argc, argv, 576, 9000);
	case O_DATAIMPAIR: {
		struct dssh_impair_conf ic;

		if (argc != 1)
			return cerr(c, "DataImpair takes exactly one (quoted) argument");
		if (dssh_impair_parse(argv[0], &ic) != 0)
			return cerr(c, "bad DataImpair \"%s\" (e.g. \"loss=2%%,reorder=5%%,dup=1%%,"
			    "delay=10ms,jitter=5ms,seed=1\" or \"off\")", argv[0]);
		if (cfg->data_impair == NULL)
			cfg->data_impair_conf = ic;
		return set_str(c, &cfg->data_impair, argc, argv);
	}
	case O_PERMITUSERENV:
		return set_yesno(c, &cfg->permit_user_environment, argc, argv);
	case O_CHROOTDIR:
		return set_str(c, &cfg->chroot_directory, argc, argv);
	case O_FORCECOMMAND:
		if (argc < 1)
			return cerr(c, "ForceCommand needs a command");
		if (cfg->force_command == NULL && (cfg->force_command = join_args(argc, argv)) == NULL)
			return DSSH_ERR_ALLOC;
		return 0;
	case O_LOOPTHREADS:
		if (argc == 1 && strcasecmp(argv[0], "auto") == 0) {
			if (cfg->loop_threads == -1)
				cfg->loop_threads = 0;
			return 0;
		}
		return set_int(c, &cfg->loop_threads, argc, argv, 1, 256);
	case O_CHANWINDOW:
		return set_size(c, &cfg->channel_window_size, argc, argv,
		    DSSH_CONFIG_MIN_CHANNEL_WINDOW, DSSH_CONFIG_MAX_CHANNEL_WINDOW, "64K to 1G");
	case O_DATATCPBUF:
		return set_size(c, &cfg->data_tcp_buffer, argc, argv, 64 * 1024, 256 * 1024 * 1024,
		    "64K to 256M");
	case O_ALLOWTCPFWD:
		return set_fwd_allow(c, &cfg->allow_tcp_forwarding, argc, argv);
	case O_ALLOWSLFWD:
		return set_fwd_allow(c, &cfg->allow_streamlocal_forwarding, argc, argv);
	case O_ALLOWAGENTFWD:
		return set_yesno(c, &cfg->allow_agent_forwarding, argc, argv);
	case O_GATEWAYPORTS:
		return set_gateway_ports(cfg, c, argc, argv);
	case O_DISABLEFWD:
		return set_yesno(c, &cfg->disable_forwarding, argc, argv);
	case O_SLBINDUNLINK:
		return set_yesno(c, &cfg->streamlocal_bind_unlink, argc, argv);
	case O_SLBINDMASK:
		return set_bind_mask(cfg, c, argc, argv);
	case O_PERMITOPEN:
		return set_permits(c, &cfg->permit_open_mode, &cfg->permit_open,
		    &cfg->npermit_open, false, argc, argv);
	case O_PERMITLISTEN:
		return set_permits(c, &cfg->permit_listen_mode, &cfg->permit_listen,
		    &cfg->npermit_listen, true, argc, argv);
	case O_MAXSESSIONS:
		return set_int(c, &cfg->max_sessions, argc, argv, 0, INT_MAX);
	case O_PSMAXSTARTUPS:
		if (argc == 1 && strcmp(argv[0], "none") == 0) {
			if (cfg->per_source_max_startups == -1)
				cfg->per_source_max_startups = 0;
			return 0;
		}
		return set_int(c, &cfg->per_source_max_startups, argc, argv, 1, INT_MAX);
	case O_PSNETBLOCK:
		return set_netblock(cfg, c, argc, argv);
	case O_PSPENALTIES:
		return set_penalties(cfg, c, argc, argv);
	case O_PSEXEMPT:
		return set_penalty_exempt(cfg, c, argc, argv);
	case O_SYSLOGFACILITY:
		if (argc != 1)
			return cerr(c, "SyslogFacility takes exactly one argument");
		if ((v = dssh_log_facility_from_name(argv[0])) < 0)
			return cerr(c, "unsupported log facility \"%s\"", argv[0]);
		if (cfg->syslog_facility == -1)
			cfg->syslog_facility = v;
		return 0;
	case O_BANNER:
		return set_str(c, &cfg->banner, argc, argv);
	case O_PRINTLASTLOG:
		return set_yesno(c, &cfg->print_lastlog, argc, argv);
	case O_VERSIONADDENDUM: {
		/* The rest of the line, as sshd takes it; the first line wins. */
		size_t n = 1;

		if (argc < 1)
			return cerr(c, "VersionAddendum needs an argument");
		if (cfg->version_addendum != NULL)
			return 0;
		for (int i = 0; i < argc; i++)
			n += strlen(argv[i]) + 1;
		if ((cfg->version_addendum = calloc(1, n)) == NULL)
			return DSSH_ERR_ALLOC;
		for (int i = 0; i < argc; i++) {
			if (i > 0)
				strcat(cfg->version_addendum, " ");
			strcat(cfg->version_addendum, argv[i]);
		}
		return 0;
	}
	case O_AUTHMETHODS:
		return set_auth_methods(cfg, c, argc, argv);
	case O_PAMSERVICE:
		if (argc == 1 && (argv[0][0] == '\0' || strchr(argv[0], '/') != NULL))
			return cerr(c, "bad PAMServiceName \"%s\"", argv[0]);
		return set_str(c, &cfg->pam_service_name, argc, argv);
	/* dsshctl */
	case O_CONTROLSOCKET:
		if (argc == 1 && strcmp(argv[0], "none") != 0 && argv[0][0] != '/')
			return cerr(c, "ControlSocket needs an absolute path or none");
		return set_str(c, &cfg->control_socket, argc, argv);
	case O_METRICSLISTEN:
		return set_metrics_listen(cfg, c, argc, argv);
	default:
		return apply_sess_kw(cfg, c, op, argc, argv);
	}
	return cerr(c, "internal error");
}

/* ---- dsshctl: the control socket and the Prometheus endpoint ---- */

int
dssh_config_parse_hostport(const char *s, char *addr, size_t alen, int *port)
{
	const char *colon, *host = s;
	size_t hl;
	char *end;
	long p;
	struct in6_addr a6;
	struct in_addr a4;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return DSSH_ERR_INVALID_FORMAT;
		host = s + 1;
		hl = (size_t)(rb - host);
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL || strchr(s, ':') != colon)
			return DSSH_ERR_INVALID_FORMAT;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= alen)
		return DSSH_ERR_INVALID_FORMAT;
	memcpy(addr, host, hl);
	addr[hl] = '\0';
	if (s[0] == '[' ? inet_pton(AF_INET6, addr, &a6) != 1 : inet_pton(AF_INET, addr, &a4) != 1)
		return DSSH_ERR_INVALID_FORMAT;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p <= 0 || p > 65535)
		return DSSH_ERR_INVALID_FORMAT;
	*port = (int)p;
	return 0;
}

bool
dssh_config_is_loopback(const char *addr)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* MetricsListen none | addr:port [allow-remote] (numeric; loopback unless allowed). */
static int
set_metrics_listen(struct dssh_config *cfg, struct line_ctx *c, int argc, char **argv)
{
	char addr[64];
	int port;

	if (argc < 1 || argc > 2)
		return cerr(c, "MetricsListen takes addr:port [allow-remote] or none");
	if (cfg->metrics_listen != NULL)
		return 0;
	if (strcmp(argv[0], "none") == 0 && argc == 1)
		return set_str(c, &cfg->metrics_listen, argc, argv);
	if (dssh_config_parse_hostport(argv[0], addr, sizeof(addr), &port) != 0)
		return cerr(c, "bad MetricsListen \"%s\" (a.b.c.d:port or [v6]:port)", argv[0]);
	if (argc == 2 && strcmp(argv[1], "allow-remote") != 0)
		return cerr(c, "unsupported MetricsListen option \"%s\"", argv[1]);
	if (argc == 1 && !dssh_config_is_loopback(addr))
		return cerr(c, "MetricsListen %s is not a loopback address (add allow-remote)",
		    argv[0]);
	cfg->metrics_remote = argc == 2;
	return set_str(c, &cfg->metrics_listen, 1, argv);
}

int
dssh_config_apply_line(struct dssh_config *cfg, const char *line,
    const char *source, unsigned lineno, char *err, size_t errlen)
{
	struct line_ctx c = { source ? source : "(config)", lineno, NULL, err, errlen };
	char *argv[CONFIG_MAX_ARGS];
	char *copy = NULL, *p, *kw;
	size_t len;
	int argc = 0, r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	len = strlen(line);
	if (len > CONFIG_MAX_LINE)
		return cerr(&c, "line too long");
	if ((copy = strdup(line)) == NULL)
		return DSSH_ERR_ALLOC;
	while (len > 0 && isspace((unsigned char)copy[len - 1]))
		copy[--len] = '\0';
	p = copy;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#') {
		r = 0;
		goto out;
	}
	for (char *q = p; *q; q++)
		if ((unsigned char)*q < 0x20 && *q != '\t') {
			r = cerr(&c, "control character in line");
			goto out;
		}
	kw = p;
	while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '=')
		p++;
	if (*p != '\0') {
		bool eq = *p == '=';

		*p++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!eq && *p == '=') {
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
		}
	}
	c.keyword = kw;
	if ((r = split_args(p, argv, &argc, &c)) != 0)
		goto out;
	r = DSSH_ERR_CONFIG;
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(keywords); i++) {
		if (strcasecmp(kw, keywords[i].name) == 0) {
			if (argc == 0)
				r = cerr(&c, "missing argument for %s", kw);
			else
				r = apply(cfg, &c, keywords[i].op, argc, argv);
			goto out;
		}
	}
	r = cerr(&c, "unsupported option \"%s\"", kw);
 out:
	free(copy);
	return r;
}

int
dssh_config_load_file(struct dssh_config *cfg, const char *path, char *err,
    size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t n;
	FILE *f;
	int r = 0;

	if ((f = fopen(path, "re")) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return DSSH_ERR_CONFIG;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		if ((size_t)n != strlen(line)) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s line %u: NUL byte in line",
				    path, lineno);
			r = DSSH_ERR_CONFIG;
			break;
		}
		if ((r = dssh_config_apply_line(cfg, line, path, lineno, err,
		    errlen)) != 0)
			break;
	}
	if (r == 0 && ferror(f)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: read error", path);
		r = DSSH_ERR_CONFIG;
	}
	free(line);
	fclose(f);
	return r;
}

/* ---- algorithm lists ---- */

static bool
list_has(const char *list, const char *name, size_t n)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == n && strncmp(p, name, n) == 0)
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

/* Append name to the malloc'd list *out unless already there. */
static int
list_append(char **out, size_t *len, size_t *cap, const char *name, size_t n)
{
	if (*out != NULL && list_has(*out, name, n))
		return 0;
	if (*len + n + 2 > *cap) {
		size_t nc = (*cap + n + 2) * 2;
		char *o = realloc(*out, nc);

		if (o == NULL)
			return DSSH_ERR_ALLOC;
		*out = o;
		*cap = nc;
	}
	if (*len > 0)
		(*out)[(*len)++] = ',';
	memcpy(*out + *len, name, n);
	*len += n;
	(*out)[*len] = '\0';
	return 0;
}

static bool
any_pattern_matches(const char *name, const char *patterns)
{
	const char *p = patterns;

	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		char *pat = dssh_strndup(p, l);
		int m;

		if (pat == NULL)
			return false;
		m = dssh_match_pattern(name, pat);
		free(pat);
		if (m)
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

/*
 * Expand each entry of src into out: wildcards against universe (in its
 * order), plain names checked against "all" when given.
 */
static int
expand_into(const char *src, const char *universe, const char *all,
    char **out, size_t *len, size_t *cap, char *err, size_t errlen)
{
	const char *p = src;
	int r;

	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		char *name = dssh_strndup(p, l);

		if (name == NULL)
			return DSSH_ERR_ALLOC;
		if (strpbrk(name, "*?") != NULL) {
			const char *q = universe;

			while (q != NULL && *q != '\0') {
				const char *qe = strchr(q, ',');
				size_t ql = qe ? (size_t)(qe - q) : strlen(q);
				char *cand = dssh_strndup(q, ql);

				if (cand == NULL) {
					free(name);
					return DSSH_ERR_ALLOC;
				}
				r = dssh_match_pattern(cand, name) ?
				    list_append(out, len, cap, q, ql) : 0;
				free(cand);
				if (r != 0) {
					free(name);
					return r;
				}
				q = qe ? qe + 1 : NULL;
			}
		} else {
			if (all != NULL && !list_has(all, name, l)) {
				if (err != NULL && errlen > 0)
					snprintf(err, errlen, "unsupported algorithm \"%s\"", name);
				free(name);
				return DSSH_ERR_CONFIG;
			}
			if ((r = list_append(out, len, cap, name, l)) != 0) {
				free(name);
				return r;
			}
		}
		free(name);
		p = e ? e + 1 : NULL;
	}
	return 0;
}

int
dssh_config_resolve_algs(const char *value,
    const struct dssh_config_alg_list *list, char **out, char *err,
    size_t errlen)
{
	const char *def = list ? list->def : NULL;
	const char *all = list ? list->supported : NULL;
	const char *universe;
	char *res = NULL;
	size_t len = 0, cap = 0;
	int r = 0;

	*out = NULL;
	if (!valid_alg_list(value)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "bad algorithm list \"%s\"", value);
		return DSSH_ERR_CONFIG;
	}
	if ((value[0] == '+' || value[0] == '-' || value[0] == '^') && def == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "no default list for \"%s\"", value);
		return DSSH_ERR_CONFIG;
	}
	/* Wildcards expand against the supported list, else the defaults. */
	universe = all != NULL ? all : def;
	switch (value[0]) {
	case '+':
		if ((r = expand_into(def, NULL, NULL, &res, &len, &cap, err, errlen)) != 0 ||
		    (r = expand_into(value + 1, universe, all, &res, &len, &cap, err,
		    errlen)) != 0)
			goto out;
		break;
	case '^':
		if ((r = expand_into(value + 1, universe, all, &res, &len, &cap, err,
		    errlen)) != 0 ||
		    (r = expand_into(def, NULL, NULL, &res, &len, &cap, err, errlen)) != 0)
			goto out;
		break;
	case '-': {
		const char *p = def;

		while (p != NULL && *p != '\0') {
			const char *e = strchr(p, ',');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			char *name = dssh_strndup(p, l);

			if (name == NULL) {
				r = DSSH_ERR_ALLOC;
				goto out;
			}
			if (!any_pattern_matches(name, value + 1))
				r = list_append(&res, &len, &cap, p, l);
			free(name);
			if (r != 0)
				goto out;
			p = e ? e + 1 : NULL;
		}
		break;
	}
	default:
		if ((r = expand_into(value, universe, all, &res, &len, &cap, err,
		    errlen)) != 0)
			goto out;
		break;
	}
	if (res == NULL || len == 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "algorithm list \"%s\" leaves nothing", value);
		r = DSSH_ERR_CONFIG;
		goto out;
	}
	*out = res;
	res = NULL;
 out:
	free(res);
	return r;
}

static int
finalize_algs(char **field, const char *keyword, const char *where,
    const struct dssh_config_alg_list *list, char *err, size_t errlen)
{
	char msg[256];
	char *res;
	int r;

	if (*field == NULL) {
		if (list == NULL || list->def == NULL)
			return 0;
		if ((*field = strdup(list->def)) == NULL)
			return DSSH_ERR_ALLOC;
		return 0;
	}
	if ((r = dssh_config_resolve_algs(*field, list, &res, msg, sizeof(msg))) != 0) {
		if (r == DSSH_ERR_CONFIG && err != NULL && errlen > 0)
			snprintf(err, errlen, "%s%s%s: %s", where ? where : "", where ? ": " : "",
			    keyword, msg);
		return r;
	}
	free(*field);
	*field = res;
	return 0;
}

#define DEF(field, v) do { if ((field) == -1) (field) = (v); } while (0)

int
dssh_config_finalize(struct dssh_config *cfg,
    const struct dssh_config_alg_defaults *defs, char *err, size_t errlen)
{
	static const char *const default_keys[] = {
		DSSH_SYSCONFDIR "/ssh_host_ed25519_key",
		DSSH_SYSCONFDIR "/ssh_host_ecdsa_key",
		DSSH_SYSCONFDIR "/ssh_host_rsa_key",
	};
	int r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	sess_kw_defaults(cfg);
	if (cfg->nports == 0)
		cfg->ports[cfg->nports++] = DSSH_CONFIG_DEFAULT_PORT;
	if (cfg->nlisten == 0) {
		if ((cfg->listen = calloc(1, sizeof(*cfg->listen))) == NULL ||
		    (cfg->listen[0].addr = strdup(DSSH_CONFIG_DEFAULT_LISTEN)) == NULL)
			return DSSH_ERR_ALLOC;
		cfg->nlisten = 1;
	}
	/* ListenAddress without a port means every Port. */
	for (unsigned i = 0; i < cfg->nlisten; i++) {
		struct dssh_config_listen *nl;
		unsigned extra;

		if (cfg->listen[i].port != 0)
			continue;
		cfg->listen[i].port = cfg->ports[0];
		extra = cfg->nports - 1;
		if (extra == 0)
			continue;
		nl = realloc(cfg->listen, (cfg->nlisten + extra) * sizeof(*nl));
		if (nl == NULL)
			return DSSH_ERR_ALLOC;
		cfg->listen = nl;
		memmove(&nl[i + 1 + extra], &nl[i + 1],
		    (cfg->nlisten - i - 1) * sizeof(*nl));
		for (unsigned k = 1; k <= extra; k++) {
			nl[i + k].port = cfg->ports[k];
			if ((nl[i + k].addr = strdup(nl[i].addr)) == NULL) {
				/* keep the array consistent for free() */
				for (unsigned z = k; z <= extra; z++)
					nl[i + z].addr = NULL;
				cfg->nlisten += extra;
				return DSSH_ERR_ALLOC;
			}
		}
		cfg->nlisten += extra;
		i += extra;
	}
	if (cfg->nhost_keys == 0)
		for (size_t i = 0; i < DSSH_ARRAY_SIZE(default_keys); i++)
			if ((r = strv_add(&cfg->host_keys, &cfg->nhost_keys,
			    default_keys[i])) != 0)
				return r;
	if ((r = finalize_algs(&cfg->ciphers, "Ciphers", cfg->alg_where[0],
	    defs ? &defs->ciphers : NULL, err, errlen)) != 0 ||
	    (r = finalize_algs(&cfg->macs, "MACs", cfg->alg_where[1],
	    defs ? &defs->macs : NULL, err, errlen)) != 0 ||
	    (r = finalize_algs(&cfg->kex_algorithms, "KexAlgorithms", cfg->alg_where[2],
	    defs ? &defs->kex : NULL, err, errlen)) != 0 ||
	    (r = finalize_algs(&cfg->host_key_algorithms, "HostKeyAlgorithms", cfg->alg_where[3],
	    defs ? &defs->host_key : NULL, err, errlen)) != 0)
		return r;
	DEF(cfg->pubkey_authentication, 1);
	DEF(cfg->password_authentication, 1);
	DEF(cfg->kbd_interactive_authentication, 1);
	DEF(cfg->permit_root_login, DSSH_PERMIT_ROOT_NO_PASSWORD);
	DEF(cfg->permit_empty_passwords, 0);
	if (!cfg->authorized_keys_set) {
		cfg->authorized_keys_set = true;
		if ((r = strv_add(&cfg->authorized_keys_files,
		    &cfg->nauthorized_keys_files, ".ssh/authorized_keys")) != 0 ||
		    (r = strv_add(&cfg->authorized_keys_files,
		    &cfg->nauthorized_keys_files, ".ssh/authorized_keys2")) != 0)
			return r;
	}
	DEF(cfg->max_auth_tries, 6);
	DEF(cfg->login_grace_time, 120);
	DEF(cfg->client_alive_interval, 0);
	DEF(cfg->client_alive_count_max, 3);
	if (!cfg->rekey_set) {
		cfg->rekey_set = true;
		cfg->rekey_limit_bytes = DSSH_CONFIG_DEFAULT_REKEY_BYTES;
		cfg->rekey_limit_seconds = DSSH_CONFIG_DEFAULT_REKEY_SECONDS;
	}
	DEF(cfg->log_level, DSSH_LOG_INFO);
	DEF(cfg->use_pam, 1);
	if (cfg->pid_file == NULL &&
	    (cfg->pid_file = strdup("/run/dsshd.pid")) == NULL)
		return DSSH_ERR_ALLOC;
	DEF(cfg->strict_modes, 1);
	if (cfg->max_startups == NULL &&
	    (cfg->max_startups = strdup("10:30:100")) == NULL)
		return DSSH_ERR_ALLOC;
	DEF(cfg->print_motd, 1);
	if (cfg->crypto_engine == NULL &&
	    (cfg->crypto_engine = strdup("openssl")) == NULL)
		return DSSH_ERR_ALLOC;
	DEF(cfg->data_plane, DSSH_DATA_PLANE_KERNEL);
	DEF(cfg->data_cores, 1);
	DEF(cfg->data_mtu, 1500);
	DEF(cfg->data_busy_poll, 0);
	DEF(cfg->data_crypto_control, 0);
	DEF(cfg->data_channels_control, 0);
	DEF(cfg->data_offload, 1);
	DEF(cfg->permit_user_environment, 0);
	DEF(cfg->channel_window_size, DSSH_CONFIG_DEFAULT_CHANNEL_WINDOW);
	DEF(cfg->loop_threads, 0);
	DEF(cfg->data_tcp_buffer, DSSH_CONFIG_DEFAULT_DATA_TCP_BUFFER);
	if (cfg->chroot_directory == NULL && (cfg->chroot_directory = strdup("none")) == NULL)
		return DSSH_ERR_ALLOC;
	if (cfg->force_command == NULL && (cfg->force_command = strdup("none")) == NULL)
		return DSSH_ERR_ALLOC;
	DEF(cfg->allow_tcp_forwarding, DSSH_FWD_ALL);
	DEF(cfg->allow_streamlocal_forwarding, DSSH_FWD_ALL);
	DEF(cfg->allow_agent_forwarding, 1);
	DEF(cfg->gateway_ports, DSSH_GATEWAY_NO);
	DEF(cfg->disable_forwarding, 0);
	DEF(cfg->streamlocal_bind_unlink, 0);
	DEF(cfg->streamlocal_bind_mask, 0177);
	DEF(cfg->permit_open_mode, DSSH_PERMIT_ANY);
	DEF(cfg->permit_listen_mode, DSSH_PERMIT_ANY);
	DEF(cfg->max_sessions, 10);
	DEF(cfg->per_source_max_startups, 0);
	DEF(cfg->per_source_netblock4, 32);
	DEF(cfg->per_source_netblock6, 128);
	if (cfg->per_source_penalties == NULL) {
		dssh_penalty_conf_default(&cfg->penalty_conf);
		if ((cfg->per_source_penalties = strdup("yes")) == NULL)
			return DSSH_ERR_ALLOC;
	}
	if (cfg->penalty_exempt_list == NULL &&
	    (cfg->penalty_exempt_list = strdup("none")) == NULL)
		return DSSH_ERR_ALLOC;
	DEF(cfg->syslog_facility, dssh_log_facility_from_name("AUTH"));
	DEF(cfg->print_lastlog, 1);
	if (cfg->banner == NULL && (cfg->banner = strdup("none")) == NULL)
		return DSSH_ERR_ALLOC;
	if (cfg->version_addendum == NULL && (cfg->version_addendum = strdup("none")) == NULL)
		return DSSH_ERR_ALLOC;
	if (cfg->authentication_methods == NULL &&
	    (cfg->authentication_methods = strdup("any")) == NULL)
		return DSSH_ERR_ALLOC;
	if (cfg->pam_service_name == NULL && (cfg->pam_service_name = strdup("dsshd")) == NULL)
		return DSSH_ERR_ALLOC;
	/* dsshctl */
	if (cfg->control_socket == NULL &&
	    (cfg->control_socket = strdup(DSSH_CONFIG_DEFAULT_CONTROL_SOCKET)) == NULL)
		return DSSH_ERR_ALLOC;
	if (cfg->metrics_listen == NULL && (cfg->metrics_listen = strdup("none")) == NULL)
		return DSSH_ERR_ALLOC;
	return 0;
}

/* ---- dump ---- */

static const char *
yn(int v)
{
	return v == 1 ? "yes" : v == 0 ? "no" : "unset";
}

static void
dump_str(FILE *f, const char *kw, const char *v)
{
	if (v != NULL)
		fprintf(f, "%s %s\n", kw, v);
}

static const char *
fwd_allow_name(int v)
{
	switch (v) {
	case DSSH_FWD_ALL: return "yes";
	case DSSH_FWD_LOCAL: return "local";
	case DSSH_FWD_REMOTE: return "remote";
	case 0: return "no";
	default: return "unset";
	}
}

static void
dump_permits(FILE *f, const char *kw, int mode,
    const struct dssh_config_permit *v, size_t n)
{
	char one[1100];

	if (mode == -1)
		return;
	fprintf(f, "%s", kw);
	if (mode == DSSH_PERMIT_ANY)
		fprintf(f, " any");
	else if (mode == DSSH_PERMIT_NONE)
		fprintf(f, " none");
	for (size_t i = 0; mode == DSSH_PERMIT_LIST && i < n; i++) {
		dssh_config_permit_format(&v[i], one, sizeof(one));
		fprintf(f, " %s", one);
	}
	fprintf(f, "\n");
}

static void
dump_fwd(const struct dssh_config *cfg, FILE *f)
{
	static const char *const gw[] = { "no", "yes", "clientspecified" };

	fprintf(f, "allowtcpforwarding %s\n", fwd_allow_name(cfg->allow_tcp_forwarding));
	fprintf(f, "allowstreamlocalforwarding %s\n",
	    fwd_allow_name(cfg->allow_streamlocal_forwarding));
	fprintf(f, "allowagentforwarding %s\n", yn(cfg->allow_agent_forwarding));
	if (cfg->gateway_ports >= 0 && (size_t)cfg->gateway_ports < DSSH_ARRAY_SIZE(gw))
		fprintf(f, "gatewayports %s\n", gw[cfg->gateway_ports]);
	fprintf(f, "disableforwarding %s\n", yn(cfg->disable_forwarding));
	fprintf(f, "streamlocalbindunlink %s\n", yn(cfg->streamlocal_bind_unlink));
	if (cfg->streamlocal_bind_mask >= 0)
		fprintf(f, "streamlocalbindmask 0%o\n", (unsigned)cfg->streamlocal_bind_mask);
	dump_permits(f, "permitopen", cfg->permit_open_mode, cfg->permit_open,
	    cfg->npermit_open);
	dump_permits(f, "permitlisten", cfg->permit_listen_mode, cfg->permit_listen,
	    cfg->npermit_listen);
}

void
dssh_config_dump(const struct dssh_config *cfg, FILE *f)
{
	static const char *const root_names[] = {
		"no", "forced-commands-only", "without-password", "yes",
	};

	for (unsigned i = 0; i < cfg->nports; i++)
		fprintf(f, "port %d\n", cfg->ports[i]);
	for (unsigned i = 0; i < cfg->nlisten; i++) {
		if (strchr(cfg->listen[i].addr, ':') != NULL)
			fprintf(f, "listenaddress [%s]:%d\n", cfg->listen[i].addr,
			    cfg->listen[i].port);
		else
			fprintf(f, "listenaddress %s:%d\n", cfg->listen[i].addr,
			    cfg->listen[i].port);
	}
	for (unsigned i = 0; i < cfg->nhost_keys; i++)
		fprintf(f, "hostkey %s\n", cfg->host_keys[i]);
	dump_str(f, "ciphers", cfg->ciphers);
	dump_str(f, "macs", cfg->macs);
	dump_str(f, "kexalgorithms", cfg->kex_algorithms);
	dump_str(f, "hostkeyalgorithms", cfg->host_key_algorithms);
	fprintf(f, "pubkeyauthentication %s\n", yn(cfg->pubkey_authentication));
	fprintf(f, "passwordauthentication %s\n", yn(cfg->password_authentication));
	fprintf(f, "kbdinteractiveauthentication %s\n",
	    yn(cfg->kbd_interactive_authentication));
	if (cfg->permit_root_login >= 0 &&
	    (size_t)cfg->permit_root_login < DSSH_ARRAY_SIZE(root_names))
		fprintf(f, "permitrootlogin %s\n", root_names[cfg->permit_root_login]);
	fprintf(f, "permitemptypasswords %s\n", yn(cfg->permit_empty_passwords));
	if (cfg->authorized_keys_set) {
		fprintf(f, "authorizedkeysfile");
		if (cfg->nauthorized_keys_files == 0)
			fprintf(f, " none");
		for (unsigned i = 0; i < cfg->nauthorized_keys_files; i++)
			fprintf(f, " %s", cfg->authorized_keys_files[i]);
		fprintf(f, "\n");
	}
	if (cfg->nallow_users > 0) {
		fprintf(f, "allowusers");
		for (unsigned i = 0; i < cfg->nallow_users; i++)
			fprintf(f, " %s", cfg->allow_users[i]);
		fprintf(f, "\n");
	}
	if (cfg->ndeny_users > 0) {
		fprintf(f, "denyusers");
		for (unsigned i = 0; i < cfg->ndeny_users; i++)
			fprintf(f, " %s", cfg->deny_users[i]);
		fprintf(f, "\n");
	}
	fprintf(f, "maxauthtries %d\n", cfg->max_auth_tries);
	fprintf(f, "logingracetime %d\n", cfg->login_grace_time);
	fprintf(f, "clientaliveinterval %d\n", cfg->client_alive_interval);
	fprintf(f, "clientalivecountmax %d\n", cfg->client_alive_count_max);
	for (unsigned i = 0; i < cfg->naccept_env; i++)
		fprintf(f, "acceptenv %s\n", cfg->accept_env[i]);
	for (unsigned i = 0; i < cfg->nsubsystems; i++)
		fprintf(f, "subsystem %s %s\n", cfg->subsystems[i].name,
		    cfg->subsystems[i].command);
	if (cfg->rekey_set)
		fprintf(f, "rekeylimit %llu %d\n",
		    (unsigned long long)cfg->rekey_limit_bytes,
		    cfg->rekey_limit_seconds);
	if (cfg->log_level >= 0)       /* sshd -T prints the level in capitals */
		dump_str(f, "loglevel", dssh_log_level_name(cfg->log_level));
	fprintf(f, "usepam %s\n", yn(cfg->use_pam));
	dump_str(f, "pidfile", cfg->pid_file);
	/* certificates */
	dump_str(f, "trustedusercakeys", cfg->trusted_user_ca_keys);
	dump_str(f, "authorizedprincipalsfile", cfg->authorized_principals_file);
	dump_str(f, "revokedkeys", cfg->revoked_keys);
	for (unsigned i = 0; i < cfg->nhost_certificates; i++)
		dump_str(f, "hostcertificate", cfg->host_certificates[i]);
	fprintf(f, "strictmodes %s\n", yn(cfg->strict_modes));
	dump_str(f, "maxstartups", cfg->max_startups);
	fprintf(f, "printmotd %s\n", yn(cfg->print_motd));
	dump_str(f, "cryptoengine", cfg->crypto_engine);
	if (cfg->data_plane >= 0)
		fprintf(f, "dataplane %s\n",
		    cfg->data_plane == DSSH_DATA_PLANE_DPDK ? "dpdk" : "kernel");
	dump_str(f, "dpdkargs", cfg->dpdk_args);
	dump_str(f, "dataimpair", cfg->data_impair);
	dump_str(f, "dataaddress6", cfg->data_address6);
	fprintf(f, "datamtu %d\n", cfg->data_mtu);
	fprintf(f, "dataoffload %s\n", cfg->data_offload ? "yes" : "no");
	fprintf(f, "datapoll %s\n", cfg->data_busy_poll == 1 ? "busy" : "adaptive");
	fprintf(f, "datacrypto %s\n", cfg->data_crypto_control == 1 ? "control" : "cores");
	fprintf(f, "datachannels %s\n", cfg->data_channels_control == 1 ? "control" : "cores");
	dump_str(f, "dataaddress", cfg->data_address);
	dump_str(f, "datagateway", cfg->data_gateway);
	fprintf(f, "datacores %d\n", cfg->data_cores);
	fprintf(f, "permituserenvironment %s\n", yn(cfg->permit_user_environment));
	dump_str(f, "chrootdirectory", cfg->chroot_directory);
	dump_str(f, "forcecommand", cfg->force_command);
	fprintf(f, "channelwindowsize %d\n", cfg->channel_window_size);
	fprintf(f, "datatcpbuffer %d\n", cfg->data_tcp_buffer);
	if (cfg->loop_threads == 0)
		fprintf(f, "loopthreads auto\n");
	else
		fprintf(f, "loopthreads %d\n", cfg->loop_threads);
	dump_fwd(cfg, f);
	fprintf(f, "maxsessions %d\n", cfg->max_sessions);
	if (cfg->per_source_max_startups == 0)
		fprintf(f, "persourcemaxstartups none\n");
	else
		fprintf(f, "persourcemaxstartups %d\n", cfg->per_source_max_startups);
	fprintf(f, "persourcenetblocksize %d:%d\n", cfg->per_source_netblock4,
	    cfg->per_source_netblock6);
	dump_str(f, "persourcepenalties", cfg->per_source_penalties);
	dump_str(f, "persourcepenaltyexemptlist", cfg->penalty_exempt_list);
	if (cfg->syslog_facility >= 0)
		dump_str(f, "syslogfacility", dssh_log_facility_name(cfg->syslog_facility));
	dump_str(f, "banner", cfg->banner);
	fprintf(f, "printlastlog %s\n", yn(cfg->print_lastlog));
	dump_str(f, "versionaddendum", cfg->version_addendum);
	dump_str(f, "authenticationmethods", cfg->authentication_methods);
	dump_str(f, "pamservicename", cfg->pam_service_name);
	dump_sess_kw(cfg, f);
	/* dsshctl */
	dump_str(f, "controlsocket", cfg->control_socket);
	if (cfg->metrics_listen != NULL)
		fprintf(f, "metricslisten %s%s\n", cfg->metrics_listen,
		    cfg->metrics_remote == 1 ? " allow-remote" : "");
}
