/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
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

/* sessions block (issue 14), below */
static void sess_kw_init(struct dssh_config *cfg);
static void sess_kw_free(struct dssh_config *cfg);
static void sess_kw_defaults(struct dssh_config *cfg);

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
	free_strv(cfg->allow_groups, cfg->nallow_groups);
	free_strv(cfg->deny_groups, cfg->ndeny_groups);
	for (unsigned i = 0; i < cfg->nlines; i++) {
		free(cfg->lines[i].text);
		free(cfg->lines[i].source);
	}
	free(cfg->lines);
	for (unsigned i = 0; i < cfg->nmatch; i++) {
		free(cfg->match[i].text);
		free(cfg->match[i].source);
	}
	free(cfg->match);
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
	free(cfg->permit_user_environment);
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
	/* dsshctl */
	free(cfg->control_socket);
	free(cfg->metrics_listen);
	sess_kw_free(cfg);
	dssh_config_init(cfg);
}

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

/* ---- the keyword table ---- */

struct kw;
typedef int kw_parse_fn(struct dssh_config *, struct line_ctx *, const struct kw *, int,
    char **);
typedef void kw_dump_fn(const struct dssh_config *, FILE *, const struct kw *);

/*
 * How a row's value is parsed, defaulted and printed. The generic types
 * work on the int or char * field at off; T_FN rows have a parser and a
 * printer of their own (and their default is set in finalize_special).
 */
enum kw_type {
	T_YESNO,        /* int: yes 1, no 0 */
	T_INT,          /* int in [min, max]; zero_word also means 0 */
	T_TIME,         /* int seconds, sshd time format */
	T_SIZE,         /* int bytes ("16M") in [min, max] */
	T_STR,          /* char *, one argument */
	T_CHOICE,       /* int: words[i] gives vals[i]; printed as the first word of a value */
	T_FN,           /* parse/dump of its own */
	T_WARN,         /* sshd keyword dsshd does not implement: checked (chk), warned */
};

/* Where a keyword may appear (sshd 9.2's rules). */
#define KW_MATCH 1      /* also inside a Match block */
#define KW_MULTI 2      /* accumulates; a Match block's lines replace the global ones */
#define KW_HIDE 4       /* not printed by -T (aliases, deprecated names) */

/* What a T_WARN row checks of its value before it warns (as sshd rejects bad values). */
enum kw_check {
	CHK_ANY, CHK_YESNO, CHK_INT, CHK_TIME, CHK_PATH,
	CHK_WORD,       /* one of words (min..max arguments, each one of them) */
	CHK_KEYTYPES,   /* a key type list, optionally +/-/^ prefixed, with wildcards */
	CHK_ENV,        /* NAME=value arguments */
	CHK_CHANTIMEOUT,        /* type=time arguments */
	CHK_REJECT,     /* refused as sshd on Linux refuses it */
	CHK_ONE,        /* exactly one argument */
};

struct kw {
	const char *name;       /* as sshd_config(5) spells it; matched case-insensitively */
	enum kw_type type;
	unsigned flags;         /* KW_* */
	size_t off;             /* the field (generic types) */
	long long min, max;     /* T_INT, T_SIZE */
	long long def;          /* default of an int field (-2: none, stays -1) */
	const char *def_str;    /* default of a string field (NULL: stays unset) */
	const char *const *words;       /* T_CHOICE, NULL-terminated */
	const int *vals;
	const char *zero_word;  /* T_INT: a word for 0 ("none", "auto") */
	kw_parse_fn *parse;     /* T_FN */
	kw_dump_fn *dump;       /* T_FN (NULL: not printed) */
	enum kw_check chk;      /* T_WARN */
	const char *print_as;   /* -T prints this row's value under another name (aliases) */
};

#define F(x) offsetof(struct dssh_config, x)

static int *
kw_int(struct dssh_config *cfg, const struct kw *k)
{
	return (int *)(void *)((char *)cfg + k->off);
}

static const int *
kw_cint(const struct dssh_config *cfg, const struct kw *k)
{
	return (const int *)(const void *)((const char *)cfg + k->off);
}

static char **
kw_str(struct dssh_config *cfg, const struct kw *k)
{
	return (char **)(void *)((char *)cfg + k->off);
}

static const char *
kw_cstr(const struct dssh_config *cfg, const struct kw *k)
{
	return *(char *const *)(const void *)((const char *)cfg + k->off);
}

/* -- parsers of the T_FN rows -- */

static int
p_port(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	int port;

	(void)k;
	if (argc != 1)
		return cerr(c, "Port takes exactly one argument");
	if (parse_port(argv[0], &port) != 0)
		return cerr(c, "bad port number \"%s\"", argv[0]);
	if (cfg->nports >= DSSH_CONFIG_MAX_PORTS)
		return cerr(c, "too many ports");
	cfg->ports[cfg->nports++] = port;
	return 0;
}

static int
p_listen(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	(void)k;
	return add_listen(cfg, c, argc, argv);
}

static int
p_hostkey(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	char ***v = k->off == F(host_keys) ? &cfg->host_keys : &cfg->host_certificates;
	unsigned *n = k->off == F(host_keys) ? &cfg->nhost_keys : &cfg->nhost_certificates;

	if (argc != 1)
		return cerr(c, "%s takes exactly one argument", k->name);
	return strv_add(v, n, argv[0]);
}

static int
p_algs(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	return set_algs_where(cfg, c, kw_str(cfg, k), (int)k->min, argc, argv);
}

static int
p_authkeys(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	int r;

	(void)k;
	if (cfg->authorized_keys_set)
		return 0;
	cfg->authorized_keys_set = true;
	if (argc == 1 && strcasecmp(argv[0], "none") == 0)
		return 0;
	for (int i = 0; i < argc; i++)
		if ((r = strv_add(&cfg->authorized_keys_files, &cfg->nauthorized_keys_files,
		    argv[i])) != 0)
			return r;
	(void)c;
	return 0;
}

/* AllowUsers, DenyUsers, AllowGroups, DenyGroups, AcceptEnv: lists that accumulate. */
static int
p_list(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	char ***v = (char ***)(void *)((char *)cfg + k->off);
	unsigned *n = (unsigned *)(void *)((char *)cfg + (size_t)k->max);
	int r;

	for (int i = 0; i < argc; i++) {
		if (k->off == F(accept_env) && strchr(argv[i], '=') != NULL)
			return cerr(c, "invalid environment name \"%s\"", argv[i]);
		if ((r = strv_add(v, n, argv[i])) != 0)
			return r;
	}
	return 0;
}

static int
p_subsystem(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	(void)k;
	return set_subsystem(cfg, c, argc, argv);
}

static int
p_rekey(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	(void)k;
	return set_rekey(cfg, c, argc, argv);
}

static int
p_loglevel(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	int v;

	(void)k;
	if (argc != 1)
		return cerr(c, "LogLevel takes exactly one argument");
	if ((v = dssh_log_level_from_name(argv[0])) < 0)
		return cerr(c, "unsupported LogLevel \"%s\"", argv[0]);
	if (cfg->log_level == -1)
		cfg->log_level = v;
	return 0;
}

static int
p_facility(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	int v;

	(void)k;
	if (argc != 1)
		return cerr(c, "SyslogFacility takes exactly one argument");
	if ((v = dssh_log_facility_from_name(argv[0])) < 0)
		return cerr(c, "unsupported log facility \"%s\"", argv[0]);
	if (cfg->syslog_facility == -1)
		cfg->syslog_facility = v;
	return 0;
}

static int
p_maxstartups(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc,
    char **argv)
{
	(void)k;
	if (argc == 1 && !valid_max_startups(argv[0]))
		return cerr(c, "bad MaxStartups \"%s\"", argv[0]);
	return set_str(c, &cfg->max_startups, argc, argv);
}

static int
p_data_address(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc,
    char **argv)
{
	(void)k;
	return set_data_address(cfg, c, argc, argv);
}

static int
p_data_gateway(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc,
    char **argv)
{
	struct in_addr a;

	(void)k;
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

static int
p_data_address6(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc,
    char **argv)
{
	uint8_t ip6[16], plen;

	(void)k;
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

static int
p_data_impair(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc,
    char **argv)
{
	struct dssh_impair_conf ic;

	(void)k;
	if (argc != 1)
		return cerr(c, "DataImpair takes exactly one (quoted) argument");
	if (dssh_impair_parse(argv[0], &ic) != 0)
		return cerr(c, "bad DataImpair \"%s\" (e.g. \"loss=2%%,reorder=5%%,dup=1%%,"
		    "delay=10ms,jitter=5ms,seed=1\" or \"off\")", argv[0]);
	if (cfg->data_impair == NULL)
		cfg->data_impair_conf = ic;
	return set_str(c, &cfg->data_impair, argc, argv);
}

/* ForceCommand, VersionAddendum: the rest of the line, first line wins. */
static int
p_joined(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	char **field = kw_str(cfg, k);

	(void)c;
	if (*field == NULL && (*field = join_args(argc, argv)) == NULL)
		return DSSH_ERR_ALLOC;
	return 0;
}

static int
p_gateway(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	(void)k;
	return set_gateway_ports(cfg, c, argc, argv);
}

static int
p_bindmask(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	(void)k;
	return set_bind_mask(cfg, c, argc, argv);
}

static int
p_permitopen(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc,
    char **argv)
{
	(void)k;
	return set_permits(c, &cfg->permit_open_mode, &cfg->permit_open, &cfg->npermit_open,
	    false, argc, argv);
}

static int
p_permitlisten(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc,
    char **argv)
{
	(void)k;
	return set_permits(c, &cfg->permit_listen_mode, &cfg->permit_listen,
	    &cfg->npermit_listen, true, argc, argv);
}

static int
p_netblock(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	(void)k;
	return set_netblock(cfg, c, argc, argv);
}

static int
p_penalties(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	(void)k;
	return set_penalties(cfg, c, argc, argv);
}

static int
p_exempt(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	(void)k;
	return set_penalty_exempt(cfg, c, argc, argv);
}

static int
p_authmethods(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc,
    char **argv)
{
	(void)k;
	return set_auth_methods(cfg, c, argc, argv);
}

static int
p_pamservice(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc,
    char **argv)
{
	(void)k;
	if (argc == 1 && (argv[0][0] == '\0' || strchr(argv[0], '/') != NULL))
		return cerr(c, "bad PAMServiceName \"%s\"", argv[0]);
	return set_str(c, &cfg->pam_service_name, argc, argv);
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

static int
p_controlsocket(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc,
    char **argv)
{
	(void)k;
	if (argc == 1 && strcmp(argv[0], "none") != 0 && argv[0][0] != '/')
		return cerr(c, "ControlSocket needs an absolute path or none");
	return set_str(c, &cfg->control_socket, argc, argv);
}

static int
p_metricslisten(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc,
    char **argv)
{
	(void)k;
	return set_metrics_listen(cfg, c, argc, argv);
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

/* -- the session rows' parsers and printers -- */

static int
p_xauth(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	/* Any path, as sshd takes it; X11 forwarding needs an absolute one
	 * (refused at x11-req otherwise, as with a missing program). */
	(void)k;
	return set_str(c, &cfg->xauth_location, argc, argv);
}

static void
d_xauth(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	fprintf(f, "%s %s\n", k->print_as, cfg->xauth_location ? cfg->xauth_location :
	    DSSH_CONFIG_XAUTH_DEFAULT);
}

/* SetEnv NAME=VALUE ...: the first line wins, as every other keyword. */
static int
p_setenv(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	(void)k;
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');

		if (eq == NULL || eq == argv[i])
			return cerr(c, "SetEnv needs NAME=VALUE, not \"%s\"", argv[i]);
	}
	if (cfg->set_env_set)
		return 0;
	cfg->set_env_set = true;
	for (int i = 0; i < argc; i++) {
		int r = strv_add(&cfg->set_env, &cfg->nset_env, argv[i]);

		if (r != 0)
			return r;
	}
	return 0;
}

static int
p_ipqos(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	int v, b;

	(void)k;
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
}

static void
d_ipqos(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	fprintf(f, "%s ", k->print_as);
	dump_ipqos(f, cfg->ipqos_interactive);
	fprintf(f, " ");
	dump_ipqos(f, cfg->ipqos_bulk);
	fprintf(f, "\n");
}

/* ---- end of the session block ---- */

/* -- printers of the T_FN rows (sshd -T style) -- */

static void
d_ports(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	(void)k;
	for (unsigned i = 0; i < cfg->nports; i++)
		fprintf(f, "port %d\n", cfg->ports[i]);
}

static void
d_listen(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	(void)k;
	for (unsigned i = 0; i < cfg->nlisten; i++)
		fprintf(f, strchr(cfg->listen[i].addr, ':') != NULL ? "listenaddress [%s]:%d\n" :
		    "listenaddress %s:%d\n", cfg->listen[i].addr, cfg->listen[i].port);
}

/* One line per entry (HostKey, HostCertificate, AcceptEnv). */
static void
d_each(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	char *const *v = *(char **const *)(const void *)((const char *)cfg + k->off);
	unsigned n = *(const unsigned *)(const void *)((const char *)cfg + (size_t)k->max);

	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s %s\n", k->print_as, v[i]);
}

static void
d_str(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	const char *v = kw_cstr(cfg, k);

	if (v != NULL)
		fprintf(f, "%s %s\n", k->print_as, v);
}

static void
d_authkeys(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	(void)k;
	if (!cfg->authorized_keys_set)
		return;
	fprintf(f, "authorizedkeysfile");
	if (cfg->nauthorized_keys_files == 0)
		fprintf(f, " none");
	for (unsigned i = 0; i < cfg->nauthorized_keys_files; i++)
		fprintf(f, " %s", cfg->authorized_keys_files[i]);
	fprintf(f, "\n");
}

static void
d_subsystems(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	(void)k;
	for (unsigned i = 0; i < cfg->nsubsystems; i++)
		fprintf(f, "subsystem %s %s\n", cfg->subsystems[i].name,
		    cfg->subsystems[i].command);
}

static void
d_rekey(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	(void)k;
	if (cfg->rekey_set)
		fprintf(f, "rekeylimit %llu %d\n", (unsigned long long)cfg->rekey_limit_bytes,
		    cfg->rekey_limit_seconds);
}

static void
d_loglevel(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	(void)k;
	if (cfg->log_level >= 0)        /* sshd -T prints the level in capitals */
		fprintf(f, "loglevel %s\n", dssh_log_level_name(cfg->log_level));
}

static void
d_facility(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	(void)k;
	if (cfg->syslog_facility >= 0)
		fprintf(f, "syslogfacility %s\n", dssh_log_facility_name(cfg->syslog_facility));
}

static void
d_bindmask(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	(void)k;
	if (cfg->streamlocal_bind_mask >= 0)
		fprintf(f, "streamlocalbindmask 0%o\n", (unsigned)cfg->streamlocal_bind_mask);
}

static void
d_permits(FILE *f, const char *kw, int mode, const struct dssh_config_permit *v, size_t n)
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
d_permitopen(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	(void)k;
	d_permits(f, "permitopen", cfg->permit_open_mode, cfg->permit_open, cfg->npermit_open);
}

static void
d_permitlisten(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	(void)k;
	d_permits(f, "permitlisten", cfg->permit_listen_mode, cfg->permit_listen,
	    cfg->npermit_listen);
}

static void
d_gateway(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	static const char *const gw[] = { "no", "yes", "clientspecified" };

	(void)k;
	if (cfg->gateway_ports >= 0 && (size_t)cfg->gateway_ports < DSSH_ARRAY_SIZE(gw))
		fprintf(f, "gatewayports %s\n", gw[cfg->gateway_ports]);
}

static void
d_netblock(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	(void)k;
	fprintf(f, "persourcenetblocksize %d:%d\n", cfg->per_source_netblock4,
	    cfg->per_source_netblock6);
}

static const char *const w_root[] = { "without-password", "prohibit-password", "yes", "no",
	"forced-commands-only", NULL };
static const int v_root[] = { DSSH_PERMIT_ROOT_NO_PASSWORD, DSSH_PERMIT_ROOT_NO_PASSWORD,
	DSSH_PERMIT_ROOT_YES, DSSH_PERMIT_ROOT_NO, DSSH_PERMIT_ROOT_FORCED_ONLY };
static const char *const w_fwd[] = { "yes", "all", "no", "local", "remote", NULL };
static const int v_fwd[] = { DSSH_FWD_ALL, DSSH_FWD_ALL, 0, DSSH_FWD_LOCAL, DSSH_FWD_REMOTE };
static const char *const w_plane[] = { "kernel", "dpdk", NULL };
static const char *const w_poll[] = { "adaptive", "busy", NULL };
static const char *const w_where[] = { "cores", "control", NULL };
static const int v_01[] = { 0, 1 };

#define YESNO(n, fl, field, d) { .name = n, .type = T_YESNO, .flags = fl, .off = F(field), .def = d }
#define INT(n, fl, field, lo, hi, d) { .name = n, .type = T_INT, .flags = fl, .off = F(field), \
	.min = lo, .max = hi, .def = d }
#define TIME(n, fl, field, d) { .name = n, .type = T_TIME, .flags = fl, .off = F(field), .def = d }
#define STR(n, fl, field, d) { .name = n, .type = T_STR, .flags = fl, .off = F(field), \
	.def = -2, .def_str = d }
#define CHOICE(n, fl, field, w, v, d) { .name = n, .type = T_CHOICE, .flags = fl, \
	.off = F(field), .words = w, .vals = v, .def = d }
#define FN(n, fl, field, p, d) { .name = n, .type = T_FN, .flags = fl, .off = F(field), \
	.def = -2, .parse = p, .dump = d }
#define LIST(n, fl, field, nfield, d) { .name = n, .type = T_FN, .flags = (fl) | KW_MULTI, \
	.off = F(field), .max = (long long)F(nfield), .def = -2, .parse = p_list, .dump = d }
#define WARN(n, fl, c) { .name = n, .type = T_WARN, .flags = (fl) | KW_HIDE, .def = -2, .chk = c }
#define WARNW(n, fl, w, lo, hi) { .name = n, .type = T_WARN, .flags = (fl) | KW_HIDE, .def = -2, \
	.chk = CHK_WORD, .words = w, .min = lo, .max = hi }

static const char *const w_family[] = { "any", "inet", "inet6", NULL };
static const char *const w_compression[] = { "yes", "no", "delayed", NULL };
static const int v_comp[] = { 1, 0, 1 };     /* Compression: yes is delayed */
static const char *const w_fphash[] = { "md5", "sha1", "sha256", "sha384", "sha512", NULL };
static const char *const w_rhosts[] = { "yes", "no", "shosts-only", NULL };
static const char *const w_tunnel[] = { "yes", "no", "point-to-point", "ethernet", NULL };
static const char *const w_pkopts[] = { "none", "touch-required", "verify-required", NULL };
static const char *const w_ipqos[] = { "af11", "af12", "af13", "af21", "af22", "af23", "af31",
	"af32", "af33", "af41", "af42", "af43", "cs0", "cs1", "cs2", "cs3", "cs4", "cs5", "cs6",
	"cs7", "ef", "le", "lowdelay", "throughput", "reliability", "none", NULL };
static const char *const w_gsskex[] = { "gss-gex-sha1-", "gss-group1-sha1-", "gss-group14-sha1-",
	"gss-group14-sha256-", "gss-group16-sha512-", "gss-nistp256-sha256-",
	"gss-curve25519-sha256-", NULL };
/* Key and certificate types sshd 9.2 knows (CASignatureAlgorithms and the Accepted lists). */
static const char *const w_keytypes[] = { "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com",
	"sk-ssh-ed25519@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com",
	"ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
	"ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
	"ecdsa-sha2-nistp521-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
	"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
	"rsa-sha2-256", "rsa-sha2-512", "rsa-sha2-256-cert-v01@openssh.com",
	"rsa-sha2-512-cert-v01@openssh.com", "ssh-rsa", "ssh-rsa-cert-v01@openssh.com", "ssh-dss",
	"ssh-dss-cert-v01@openssh.com", NULL };

/*
 * Every keyword: sshd 9.2's (what `sshd -t` accepts) and dsshd's own.
 * Rows with a dump print in this order for -T. The sshd keywords dsshd does
 * not implement are the WARN rows at the end (docs/config.md lists both).
 */
static const struct kw keywords[] = {
	FN("Port", 0, ports, p_port, d_ports),
	FN("ListenAddress", 0, listen, p_listen, d_listen),
	{ .name = "HostKey", .type = T_FN, .off = F(host_keys), .max = (long long)F(nhost_keys),
	  .def = -2, .parse = p_hostkey, .dump = d_each, .print_as = "hostkey" },
	{ .name = "Ciphers", .type = T_FN, .off = F(ciphers), .min = 0, .def = -2,
	  .parse = p_algs, .dump = d_str, .print_as = "ciphers" },
	{ .name = "MACs", .type = T_FN, .off = F(macs), .min = 1, .def = -2,
	  .parse = p_algs, .dump = d_str, .print_as = "macs" },
	{ .name = "KexAlgorithms", .type = T_FN, .off = F(kex_algorithms), .min = 2, .def = -2,
	  .parse = p_algs, .dump = d_str, .print_as = "kexalgorithms" },
	{ .name = "HostKeyAlgorithms", .type = T_FN, .off = F(host_key_algorithms), .min = 3,
	  .def = -2, .parse = p_algs, .dump = d_str, .print_as = "hostkeyalgorithms" },
	YESNO("PubkeyAuthentication", KW_MATCH, pubkey_authentication, 1),
	YESNO("PasswordAuthentication", KW_MATCH, password_authentication, 1),
	YESNO("KbdInteractiveAuthentication", KW_MATCH, kbd_interactive_authentication, 1),
	{ .name = "ChallengeResponseAuthentication", .type = T_YESNO, .flags = KW_MATCH | KW_HIDE,
	  .off = F(kbd_interactive_authentication), .def = -2 },
	{ .name = "SkeyAuthentication", .type = T_YESNO, .flags = KW_MATCH | KW_HIDE,
	  .off = F(kbd_interactive_authentication), .def = -2 },
	{ .name = "DSAAuthentication", .type = T_YESNO, .flags = KW_HIDE,
	  .off = F(pubkey_authentication), .def = -2 },
	CHOICE("PermitRootLogin", KW_MATCH, permit_root_login, w_root, v_root,
	    DSSH_PERMIT_ROOT_NO_PASSWORD),
	YESNO("PermitEmptyPasswords", KW_MATCH, permit_empty_passwords, 0),
	FN("AuthorizedKeysFile", KW_MATCH, authorized_keys_files, p_authkeys, d_authkeys),
	LIST("AllowUsers", KW_MATCH, allow_users, nallow_users, d_each),
	LIST("DenyUsers", KW_MATCH, deny_users, ndeny_users, d_each),
	LIST("AllowGroups", KW_MATCH, allow_groups, nallow_groups, d_each),
	LIST("DenyGroups", KW_MATCH, deny_groups, ndeny_groups, d_each),
	INT("MaxAuthTries", KW_MATCH, max_auth_tries, 1, 1000000, 6),
	TIME("LoginGraceTime", 0, login_grace_time, 120),
	TIME("ClientAliveInterval", KW_MATCH, client_alive_interval, 0),
	INT("ClientAliveCountMax", KW_MATCH, client_alive_count_max, 0, INT_MAX, 3),
	LIST("AcceptEnv", KW_MATCH, accept_env, naccept_env, d_each),
	FN("Subsystem", 0, subsystems, p_subsystem, d_subsystems),
	FN("RekeyLimit", KW_MATCH, rekey_limit_bytes, p_rekey, d_rekey),
	FN("LogLevel", KW_MATCH, log_level, p_loglevel, d_loglevel),
	YESNO("UsePAM", 0, use_pam, 1),
	STR("PidFile", 0, pid_file, "/run/dsshd.pid"),
	YESNO("StrictModes", 0, strict_modes, 1),
	FN("MaxStartups", 0, max_startups, p_maxstartups, d_str),
	YESNO("PrintMotd", 0, print_motd, 1),
	STR("CryptoEngine", 0, crypto_engine, "auto"),
	CHOICE("DataPlane", 0, data_plane, w_plane, v_01, DSSH_DATA_PLANE_KERNEL),
	STR("DpdkArgs", 0, dpdk_args, NULL),
	FN("DataImpair", 0, data_impair, p_data_impair, d_str),
	FN("DataAddress6", 0, data_address6, p_data_address6, d_str),
	INT("DataMTU", 0, data_mtu, 576, 9000, 1500),
	YESNO("DataOffload", 0, data_offload, 1),
	CHOICE("DataPoll", 0, data_busy_poll, w_poll, v_01, 0),
	CHOICE("DataCrypto", 0, data_crypto_control, w_where, v_01, 0),
	CHOICE("DataChannels", 0, data_channels_control, w_where, v_01, 0),
	FN("DataAddress", 0, data_address, p_data_address, d_str),
	FN("DataGateway", 0, data_gateway, p_data_gateway, d_str),
	INT("DataCores", 0, data_cores, 1, 1024, 1),
	STR("PermitUserEnvironment", 0, permit_user_environment, "no"),
	STR("ChrootDirectory", KW_MATCH, chroot_directory, "none"),
	FN("ForceCommand", KW_MATCH, force_command, p_joined, d_str),
	{ .name = "ChannelWindowSize", .type = T_SIZE, .off = F(channel_window_size),
	  .min = DSSH_CONFIG_MIN_CHANNEL_WINDOW, .max = DSSH_CONFIG_MAX_CHANNEL_WINDOW,
	  .def = DSSH_CONFIG_DEFAULT_CHANNEL_WINDOW },
	{ .name = "DataTCPBuffer", .type = T_SIZE, .off = F(data_tcp_buffer),
	  .min = 64 * 1024, .max = 256 * 1024 * 1024, .def = DSSH_CONFIG_DEFAULT_DATA_TCP_BUFFER },
	{ .name = "LoopThreads", .type = T_INT, .off = F(loop_threads), .min = 1, .max = 256,
	  .def = 0, .zero_word = "auto" },
	CHOICE("AllowTcpForwarding", KW_MATCH, allow_tcp_forwarding, w_fwd, v_fwd, DSSH_FWD_ALL),
	CHOICE("AllowStreamLocalForwarding", KW_MATCH, allow_streamlocal_forwarding, w_fwd, v_fwd,
	    DSSH_FWD_ALL),
	YESNO("AllowAgentForwarding", KW_MATCH, allow_agent_forwarding, 1),
	FN("GatewayPorts", KW_MATCH, gateway_ports, p_gateway, d_gateway),
	YESNO("DisableForwarding", KW_MATCH, disable_forwarding, 0),
	YESNO("StreamLocalBindUnlink", KW_MATCH, streamlocal_bind_unlink, 0),
	FN("StreamLocalBindMask", KW_MATCH, streamlocal_bind_mask, p_bindmask, d_bindmask),
	FN("PermitOpen", KW_MATCH, permit_open, p_permitopen, d_permitopen),
	FN("PermitListen", KW_MATCH, permit_listen, p_permitlisten, d_permitlisten),
	INT("MaxSessions", KW_MATCH, max_sessions, 0, INT_MAX, 10),
	{ .name = "PerSourceMaxStartups", .type = T_INT, .off = F(per_source_max_startups),
	  .min = 1, .max = INT_MAX, .def = 0, .zero_word = "none" },
	FN("PerSourceNetBlockSize", 0, per_source_netblock4, p_netblock, d_netblock),
	FN("PerSourcePenalties", 0, per_source_penalties, p_penalties, d_str),
	FN("PerSourcePenaltyExemptList", 0, penalty_exempt_list, p_exempt, d_str),
	FN("SyslogFacility", 0, syslog_facility, p_facility, d_facility),
	STR("Banner", KW_MATCH, banner, "none"),
	YESNO("PrintLastLog", 0, print_lastlog, 1),
	FN("VersionAddendum", 0, version_addendum, p_joined, d_str),
	STR("TrustedUserCAKeys", KW_MATCH, trusted_user_ca_keys, "none"),
	STR("AuthorizedPrincipalsFile", KW_MATCH, authorized_principals_file, "none"),
	STR("RevokedKeys", KW_MATCH, revoked_keys, "none"),
	{ .name = "HostCertificate", .type = T_FN, .off = F(host_certificates),
	  .max = (long long)F(nhost_certificates), .def = -2, .parse = p_hostkey, .dump = d_each,
	  .print_as = "hostcertificate" },
	FN("AuthenticationMethods", KW_MATCH, authentication_methods, p_authmethods, d_str),
	FN("PAMServiceName", 0, pam_service_name, p_pamservice, d_str),
	/* dsshctl: the control socket and the Prometheus endpoint */
	FN("ControlSocket", 0, control_socket, p_controlsocket, d_str),
	FN("MetricsListen", 0, metrics_listen, p_metricslisten, d_str),
	/* sessions: X11, compression, tty, rc, env, TCP (issue 14) */
	CHOICE("Compression", 0, compression, w_compression, v_comp, 1),
	YESNO("X11Forwarding", KW_MATCH, x11_forwarding, 0),
	INT("X11DisplayOffset", KW_MATCH, x11_display_offset, 0, 1000, 10),
	YESNO("X11UseLocalhost", KW_MATCH, x11_use_localhost, 1),
	FN("XAuthLocation", 0, xauth_location, p_xauth, d_xauth),
	YESNO("PermitTTY", KW_MATCH, permit_tty, 1),
	YESNO("PermitUserRC", KW_MATCH, permit_user_rc, 1),
	{ .name = "SetEnv", .type = T_FN, .flags = KW_MATCH, .off = F(set_env),
	  .max = (long long)F(nset_env),
	  .def = -2, .parse = p_setenv, .dump = d_each, .print_as = "setenv" },
	YESNO("TCPKeepAlive", 0, tcp_keepalive, 1),
	FN("IPQoS", KW_MATCH, ipqos_interactive, p_ipqos, d_ipqos),
	/* ---- dsshd's own keywords added by other work go above this line ---- */

	/* sshd 9.2 keywords dsshd accepts and does not implement: one warning each. */
	WARNW("AddressFamily", 0, w_family, 1, 1),
	WARN("AuthorizedKeysCommand", KW_MATCH, CHK_PATH),
	WARN("AuthorizedKeysCommandUser", KW_MATCH, CHK_ONE),
	WARN("AuthorizedPrincipalsCommand", KW_MATCH, CHK_PATH),
	WARN("AuthorizedPrincipalsCommandUser", KW_MATCH, CHK_ONE),
	WARN("CASignatureAlgorithms", KW_MATCH, CHK_KEYTYPES),
	WARN("ChannelTimeout", KW_MATCH, CHK_CHANTIMEOUT),
	WARN("ExposeAuthInfo", KW_MATCH, CHK_YESNO),
	WARNW("FingerprintHash", 0, w_fphash, 1, 1),
	WARN("GSSAPIAuthentication", KW_MATCH, CHK_YESNO),
	WARN("GSSAPICleanupCredentials", 0, CHK_YESNO),
	WARNW("GSSAPIKexAlgorithms", 0, w_gsskex, 1, 1),
	WARN("GSSAPIKeyExchange", 0, CHK_YESNO),
	WARN("GSSAPIStoreCredentialsOnRekey", 0, CHK_YESNO),
	WARN("GSSAPIStrictAcceptorCheck", 0, CHK_YESNO),
	WARN("HostbasedAcceptedAlgorithms", KW_MATCH, CHK_KEYTYPES),
	WARN("HostbasedAcceptedKeyTypes", KW_MATCH, CHK_KEYTYPES),
	WARN("HostbasedAuthentication", KW_MATCH, CHK_YESNO),
	WARN("HostbasedUsesNameFromPacketOnly", KW_MATCH, CHK_YESNO),
	WARN("HostKeyAgent", 0, CHK_ONE),
	WARNW("IgnoreRhosts", KW_MATCH, w_rhosts, 1, 1),
	WARN("IgnoreUserKnownHosts", 0, CHK_YESNO),
	WARN("KerberosAuthentication", KW_MATCH, CHK_YESNO),
	WARN("KerberosOrLocalPasswd", 0, CHK_YESNO),
	WARN("KerberosTicketCleanup", 0, CHK_YESNO),
	WARN("LogVerbose", KW_MATCH, CHK_ANY),
	WARN("ModuliFile", 0, CHK_ONE),
	WARNW("PermitTunnel", KW_MATCH, w_tunnel, 1, 1),
	WARN("PubkeyAcceptedAlgorithms", KW_MATCH, CHK_KEYTYPES),
	WARN("PubkeyAcceptedKeyTypes", KW_MATCH, CHK_KEYTYPES),
	WARNW("PubkeyAuthOptions", KW_MATCH, w_pkopts, 1, 3),
	WARN("RDomain", KW_MATCH, CHK_REJECT),
	WARN("RequiredRSASize", KW_MATCH, CHK_INT),
	WARN("SecurityKeyProvider", 0, CHK_ONE),
	/* sshd's old name for TCPKeepAlive */
	{ .name = "KeepAlive", .type = T_YESNO, .flags = KW_HIDE,
	  .off = F(tcp_keepalive), .def = -2 },
	WARN("UnusedConnectionTimeout", KW_MATCH, CHK_TIME),
	WARN("UseDNS", 0, CHK_YESNO),
	WARN("DebianBanner", 0, CHK_YESNO),
	WARN("HostDSAKey", 0, CHK_ONE),
	WARN("Protocol", 0, CHK_ANY),
	/* Deprecated or unsupported in sshd 9.2 too: sshd logs and ignores them. */
	WARN("AFSTokenPassing", 0, CHK_ANY),
	WARN("AuthorizedKeysFile2", KW_MATCH, CHK_ANY),
	WARN("CheckMail", 0, CHK_ANY),
	WARN("GSSAPICleanupCreds", 0, CHK_YESNO),
	WARN("GSSAPIUseSessionCredCache", 0, CHK_ANY),
	WARN("GSSUseSessionCCache", 0, CHK_ANY),
	WARN("KerberosGetAFSToken", 0, CHK_ANY),
	WARN("KerberosTGTPassing", 0, CHK_ANY),
	WARN("KeyRegenerationInterval", 0, CHK_ANY),
	WARN("PAMAuthenticationViaKbdInt", 0, CHK_ANY),
	WARN("PermitBlacklistedKeys", 0, CHK_ANY),
	WARN("ReverseMappingCheck", 0, CHK_ANY),
	WARN("RhostsAuthentication", 0, CHK_ANY),
	WARN("RhostsRSAAuthentication", KW_MATCH, CHK_ANY),
	WARN("ServerKeyBits", 0, CHK_ANY),
	WARN("UseLogin", 0, CHK_ANY),
	WARN("UsePrivilegeSeparation", 0, CHK_ANY),
	WARN("VerifyReverseMapping", 0, CHK_ANY),
};

#define NKEYWORDS DSSH_ARRAY_SIZE(keywords)

static const struct kw *
kw_find(const char *name, size_t *idx)
{
	for (size_t i = 0; i < NKEYWORDS; i++)
		if (strcasecmp(name, keywords[i].name) == 0) {
			if (idx != NULL)
				*idx = i;
			return &keywords[i];
		}
	return NULL;
}

static bool
word_in(const char *w, const char *const *words)
{
	for (size_t i = 0; words[i] != NULL; i++)
		if (strcasecmp(w, words[i]) == 0)
			return true;
	return false;
}

/* A key type list: each name known, or a pattern matching a known one. */
static bool
valid_keytypes(const char *s)
{
	const char *p = s;

	/* sshd: names removed with "-" need not be known */
	if (*p == '-')
		return valid_alg_list(s);
	if (*p == '+' || *p == '^')
		p++;
	if (*p == '\0')
		return false;
	while (p != NULL) {
		const char *e = strchr(p, ',');
		char *name = dssh_strndup(p, e ? (size_t)(e - p) : strlen(p));
		bool ok = false;

		if (name == NULL)
			return false;
		for (size_t i = 0; w_keytypes[i] != NULL && !ok; i++)
			ok = strcmp(name, w_keytypes[i]) == 0 ||
			    (strpbrk(name, "*?") != NULL && dssh_match_pattern(w_keytypes[i], name));
		free(name);
		if (!ok)
			return false;
		p = e ? e + 1 : NULL;
	}
	return true;
}

static int
warn_check(struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	long long n;
	int t;

	switch (k->chk) {
	case CHK_YESNO:
		if (argc != 1 || parse_yesno(argv[0]) < 0)
			return cerr(c, "unsupported %s value \"%s\"", k->name, argv[0]);
		break;
	case CHK_INT:
		if (argc != 1 || parse_int(argv[0], 0, INT_MAX, &n) != 0)
			return cerr(c, "bad number \"%s\" for %s", argv[0], k->name);
		break;
	case CHK_TIME:
		if (argc != 1 || (strcasecmp(argv[0], "none") != 0 &&
		    dssh_config_parse_time(argv[0], &t) != 0))
			return cerr(c, "invalid time value \"%s\" for %s", argv[0], k->name);
		break;
	case CHK_PATH:
		if (strcasecmp(argv[0], "none") != 0 && argv[0][0] != '/')
			return cerr(c, "%s must be an absolute path", k->name);
		break;
	case CHK_WORD:
		if (argc < k->min || argc > k->max)
			return cerr(c, "%s takes %lld to %lld arguments", k->name, k->min, k->max);
		for (int i = 0; i < argc; i++)
			if (!word_in(argv[i], k->words) &&
			    !(k->words == w_ipqos && parse_int(argv[i], 0, 255, &n) == 0))
				return cerr(c, "unsupported %s value \"%s\"", k->name, argv[i]);
		break;
	case CHK_KEYTYPES:
		if (argc != 1 || !valid_keytypes(argv[0]))
			return cerr(c, "Bad key types '%s'", argv[0]);
		break;
	case CHK_ENV:
		for (int i = 0; i < argc; i++)
			if (strchr(argv[i], '=') == NULL || argv[i][0] == '=')
				return cerr(c, "Invalid environment \"%s\"", argv[i]);
		break;
	case CHK_CHANTIMEOUT:
		for (int i = 0; i < argc; i++) {
			const char *eq = strchr(argv[i], '=');

			if (eq == NULL || eq == argv[i] ||
			    (strcasecmp(eq + 1, "none") != 0 && dssh_config_parse_time(eq + 1, &t) != 0))
				return cerr(c, "invalid channel timeout %s", argv[i]);
		}
		break;
	case CHK_REJECT:
		return cerr(c, "setting %s not supported on this platform", k->name);
	case CHK_ONE:
		if (argc != 1)
			return cerr(c, "%s takes exactly one argument", k->name);
		break;
	case CHK_ANY:
		break;
	}
	return 0;
}

/* Apply one keyword's arguments through its row. */
static int
kw_apply(struct dssh_config *cfg, struct line_ctx *c, const struct kw *k, int argc, char **argv)
{
	int t;

	switch (k->type) {
	case T_YESNO:
		return set_yesno(c, kw_int(cfg, k), argc, argv);
	case T_INT:
		if (k->zero_word != NULL && argc == 1 && strcasecmp(argv[0], k->zero_word) == 0) {
			if (*kw_int(cfg, k) == -1)
				*kw_int(cfg, k) = 0;
			return 0;
		}
		return set_int(c, kw_int(cfg, k), argc, argv, (int)k->min, (int)k->max);
	case T_TIME:
		return set_time(c, kw_int(cfg, k), argc, argv);
	case T_SIZE:
		return set_size(c, kw_int(cfg, k), argc, argv, (int)k->min, (int)k->max,
		    k->off == F(channel_window_size) ? "64K to 1G" : "64K to 256M");
	case T_STR:
		/* sshd: an empty PermitUserEnvironment is a missing argument */
		if (k->off == F(permit_user_environment) && argc == 1 && argv[0][0] == '\0')
			return cerr(c, "%s missing argument", k->name);
		return set_str(c, kw_str(cfg, k), argc, argv);
	case T_CHOICE:
		if (argc != 1)
			return cerr(c, "%s takes exactly one argument", k->name);
		for (size_t i = 0; k->words[i] != NULL; i++)
			if (strcasecmp(argv[0], k->words[i]) == 0) {
				if (*kw_int(cfg, k) == -1)
					*kw_int(cfg, k) = k->vals[i];
				return 0;
			}
		return cerr(c, "unsupported %s value \"%s\"", k->name, argv[0]);
	case T_FN:
		return k->parse(cfg, c, k, argc, argv);
	case T_WARN:
		if ((t = warn_check(c, k, argc, argv)) != 0)
			return t;
		if (!cfg->quiet)
			dssh_info("%s line %u: keyword %s accepted, not implemented by dsshd",
			    c->source, c->lineno, k->name);
		return 0;
	}
	return cerr(c, "internal error");
}

/* ---- Match ---- */

/* addr against one CIDR "a/len" (v4 or v6): 1 in it, 0 not, -1 bad CIDR. */
static int
cidr_match(const char *addr, const char *cidr)
{
	uint8_t a[16], n[16];
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	long long bits;
	int fam, alen;

	if (strlen(cidr) >= sizeof(buf))
		return -1;
	strcpy(buf, cidr);
	if ((slash = strchr(buf, '/')) == NULL)
		return -1;
	*slash = '\0';
	fam = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
	alen = fam == AF_INET ? 4 : 16;
	if (inet_pton(fam, buf, n) != 1 || parse_int(slash + 1, 0, alen * 8, &bits) != 0)
		return -1;
	/* sshd refuses a network with bits set past the prefix. */
	for (int i = 0; i < alen; i++) {
		int keep = (int)bits - i * 8;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));

		if ((n[i] & ~mask) != 0)
			return -1;
	}
	if (addr == NULL || inet_pton(fam, addr, a) != 1)
		return 0;
	for (int i = 0; i < alen; i++) {
		int keep = (int)bits - i * 8;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));

		if ((a[i] & mask) != n[i])
			return 0;
	}
	return 1;
}

int
dssh_config_match_addr_list(const char *addr, const char *list)
{
	const char *p = list;
	int found = 0;

	while (*p != '\0') {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		bool neg = l > 0 && *p == '!';
		char *ent = dssh_strndup(neg ? p + 1 : p, neg ? l - 1 : l);
		int m;

		if (ent == NULL)
			return -2;
		if (strchr(ent, '/') != NULL)
			m = cidr_match(addr, ent);
		else
			m = addr != NULL && dssh_match_pattern(addr, ent);
		free(ent);
		if (m < 0)
			return -2;
		if (m && neg)
			return -1;
		if (m)
			found = 1;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return found;
}

/* A group list against the user's groups: 1 a group matches, 0 none, -1 a negated one. */
static int
group_match(const struct dssh_config_conn *ci, const char *list)
{
	int found = 0;

	for (unsigned i = 0; i < ci->ngroups; i++) {
		int m = dssh_match_pattern_list(ci->groups[i], list, false);

		if (m < 0)
			return -1;
		if (m > 0)
			found = 1;
	}
	return found;
}

/* Host names compare case-insensitively (the patterns are lowered by the matcher). */
static bool
host_match(const char *host, const char *list)
{
	char low[1025];
	size_t n = strlen(host);

	if (n >= sizeof(low))
		return false;
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)tolower((unsigned char)host[i]);
	return dssh_match_pattern_list(low, list, true) == 1;
}

/*
 * One Match line's criteria (argv) against ci (NULL: only check the
 * syntax). 1 all criteria hold, 0 not, or an error (c filled). As sshd
 * -T -C, a criterion whose value is unknown (no user yet) does not hold.
 */
static int
match_criteria(struct line_ctx *c, int argc, char **argv, const struct dssh_config_conn *ci)
{
	int result = 1;

	if (argc == 0)
		return cerr(c, "Match needs criteria");
	for (int i = 0; i < argc; i++) {
		const char *attr = argv[i], *val;
		int m = 0;

		if (strcasecmp(attr, "all") == 0) {
			if (argc != 1)
				return cerr(c, "'all' cannot be combined with other Match attributes");
			return 1;
		}
		if (i + 1 >= argc || argv[i + 1][0] == '\0')
			return cerr(c, "Match criterion %s needs a value", attr);
		val = argv[++i];
		if (strcasecmp(attr, "user") == 0)
			m = ci != NULL && ci->user != NULL &&
			    dssh_match_pattern_list(ci->user, val, false) == 1;
		else if (strcasecmp(attr, "group") == 0)
			m = ci != NULL && ci->user != NULL && group_match(ci, val) == 1;
		else if (strcasecmp(attr, "host") == 0)
			m = ci != NULL && ci->host != NULL && host_match(ci->host, val);
		else if (strcasecmp(attr, "address") == 0 || strcasecmp(attr, "localaddress") == 0) {
			const char *a = ci == NULL ? NULL :
			    attr[0] == 'a' || attr[0] == 'A' ? ci->addr : ci->laddr;
			int r = dssh_config_match_addr_list(a, val);

			if (r == -2)
				return cerr(c, "invalid Match %s list \"%s\"", attr, val);
			m = a != NULL && r == 1;
		} else if (strcasecmp(attr, "localport") == 0) {
			int p;

			/* As sshd: checked only when evaluated for a connection. */
			if (ci != NULL && parse_port(val, &p) != 0)
				return cerr(c, "invalid LocalPort \"%s\" on Match line", val);
			m = ci != NULL && ci->lport == p;
		} else if (strcasecmp(attr, "rdomain") == 0) {
			m = ci != NULL && ci->rdomain != NULL &&
			    dssh_match_pattern_list(ci->rdomain, val, false) == 1;
		} else
			return cerr(c, "Unsupported Match attribute %s", attr);
		if (!m)
			result = 0;
	}
	return result;
}

/* ---- loading: Include, Match, the stored lines ---- */

const char *dssh_config_include_dir = DSSH_CONFIG_INCLUDE_DIR;

struct load_state {
	struct dssh_config *cfg;
	int block;              /* index of the current Match block, -1 global */
	unsigned depth;
	char *err;
	size_t errlen;
};

static int
store_line(struct dssh_config *cfg, const char *text, const char *source, unsigned lineno,
    int block)
{
	struct dssh_config_line *nl;

	if (cfg->nlines >= 1000000)
		return DSSH_ERR_NO_BUFFER_SPACE;
	if ((nl = realloc(cfg->lines, (cfg->nlines + 1) * sizeof(*nl))) == NULL)
		return DSSH_ERR_ALLOC;
	cfg->lines = nl;
	nl += cfg->nlines;
	nl->block = block;
	nl->lineno = lineno;
	nl->text = strdup(text);
	nl->source = strdup(source);
	cfg->nlines++;
	if (nl->text == NULL || nl->source == NULL)
		return DSSH_ERR_ALLOC;
	return 0;
}

static int load_path(struct load_state *st, const char *path);

/* Include: each argument a glob(3) pattern, relative ones under /etc/ssh. */
static int
do_include(struct load_state *st, struct line_ctx *c, int argc, char **argv)
{
	int r = 0;

	if (st == NULL)
		return cerr(c, "Include is only valid in a file");
	if (st->depth + 1 > DSSH_CONFIG_MAX_INCLUDE_DEPTH)
		return cerr(c, "Include nested too deeply (more than %d levels)",
		    DSSH_CONFIG_MAX_INCLUDE_DEPTH);
	for (int i = 0; i < argc && r == 0; i++) {
		char pat[PATH_MAX];
		glob_t g;
		int gr, saved = st->block;

		if (argv[i][0] == '/' || argv[i][0] == '~')
			snprintf(pat, sizeof(pat), "%s", argv[i]);
		else
			snprintf(pat, sizeof(pat), "%s/%s", dssh_config_include_dir, argv[i]);
		gr = glob(pat, 0, NULL, &g);
		if (gr == GLOB_NOMATCH)
			continue;       /* as sshd: a pattern matching nothing is no error */
		if (gr != 0)
			return cerr(c, "Include %s: glob failed", pat);
		st->depth++;
		for (size_t k = 0; k < g.gl_pathc && r == 0; k++) {
			r = load_path(st, g.gl_pathv[k]);
			/* a Match inside an included file ends with that file */
			st->block = saved;
		}
		st->depth--;
		globfree(&g);
	}
	return r;
}

/*
 * A line inside a Match block: the keyword must be allowed there, and its
 * value is checked (into a scratch configuration, as sshd checks values of
 * blocks that do not apply) and the line kept for each connection.
 */
static int
match_block_line(struct load_state *st, struct line_ctx *c, const struct kw *k, int argc,
    char **argv, const char *text)
{
	struct dssh_config scratch;
	int r;

	if (!(k->flags & KW_MATCH))
		return cerr(c, "Directive '%s' is not allowed within a Match block", c->keyword);
	dssh_config_init(&scratch);
	scratch.quiet = st->cfg->quiet;
	r = kw_apply(&scratch, c, k, argc, argv);
	dssh_config_free(&scratch);
	if (r != 0)
		return r;
	return store_line(st->cfg, text, c->source, c->lineno, st->block);
}

static int
new_match_block(struct load_state *st, struct line_ctx *c, int argc, char **argv, const char *text)
{
	struct dssh_config_line *nm;
	int r;

	if ((r = match_criteria(c, argc, argv, NULL)) < 0)
		return r;
	if (st == NULL)
		return cerr(c, "Match is only valid in a file");
	if (st->cfg->nmatch >= 65536)
		return cerr(c, "too many Match blocks");
	if ((nm = realloc(st->cfg->match, (st->cfg->nmatch + 1) * sizeof(*nm))) == NULL)
		return DSSH_ERR_ALLOC;
	st->cfg->match = nm;
	nm += st->cfg->nmatch;
	nm->block = (int)st->cfg->nmatch;
	nm->lineno = c->lineno;
	nm->text = strdup(text);
	nm->source = strdup(c->source);
	st->block = (int)st->cfg->nmatch++;
	if (nm->text == NULL || nm->source == NULL)
		return DSSH_ERR_ALLOC;
	return 0;
}

/* Split "Keyword[ =]args" into c->keyword and argv (in buf, a copy of line). */
static int
split_line(char *buf, struct line_ctx *c, char **argv, int *argc)
{
	size_t len = strlen(buf);
	char *p = buf, *kw;

	*argc = -1;
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	for (char *q = p; *q; q++)
		if ((unsigned char)*q < 0x20 && *q != '\t')
			return cerr(c, "control character in line");
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
	c->keyword = kw;
	return split_args(p, argv, argc, c);
}

/*
 * One line of a file (st: the file's state, for Match and Include) or of
 * the command line (st NULL: no Match, no Include). A global line is
 * applied and kept; a line in a Match block is checked and kept.
 */
static int
line_apply(struct dssh_config *cfg, struct load_state *st, const char *line,
    const char *source, unsigned lineno, char *err, size_t errlen)
{
	struct line_ctx c = { source ? source : "(config)", lineno, NULL, err, errlen };
	char *argv[CONFIG_MAX_ARGS];
	const struct kw *k;
	size_t idx;
	char *copy;
	int argc, r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (strlen(line) > CONFIG_MAX_LINE)
		return cerr(&c, "line too long");
	if ((copy = strdup(line)) == NULL)
		return DSSH_ERR_ALLOC;
	if ((r = split_line(copy, &c, argv, &argc)) != 0 || argc < 0)
		goto out;
	if (strcasecmp(c.keyword, "match") == 0) {
		r = new_match_block(st, &c, argc, argv, line);
		goto out;
	}
	if (argc == 0) {
		r = cerr(&c, "missing argument for %s", c.keyword);
		goto out;
	}
	if (strcasecmp(c.keyword, "include") == 0) {
		r = do_include(st, &c, argc, argv);
		goto out;
	}
	if ((k = kw_find(c.keyword, &idx)) == NULL) {
		r = cerr(&c, "unsupported option \"%s\"", c.keyword);
		goto out;
	}
	if (st != NULL && st->block >= 0)
		r = match_block_line(st, &c, k, argc, argv, line);
	else if ((r = kw_apply(cfg, &c, k, argc, argv)) == 0 && st != NULL)
		r = store_line(cfg, line, c.source, lineno, -1);
 out:
	free(copy);
	return r;
}

int
dssh_config_apply_line(struct dssh_config *cfg, const char *line,
    const char *source, unsigned lineno, char *err, size_t errlen)
{
	int r;

	/* A -o line is a global line, kept for the per-connection replay. */
	if ((r = line_apply(cfg, NULL, line, source, lineno, err, errlen)) != 0)
		return r;
	return store_line(cfg, line, source ? source : "(config)", lineno, -2);
}

static int
load_path(struct load_state *st, const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t n;
	FILE *f;
	int r = 0;

	if ((f = fopen(path, "re")) == NULL) {
		if (st->err != NULL && st->errlen > 0)
			snprintf(st->err, st->errlen, "%s: %s", path, strerror(errno));
		return DSSH_ERR_CONFIG;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		if ((size_t)n != strlen(line)) {
			if (st->err != NULL && st->errlen > 0)
				snprintf(st->err, st->errlen, "%s line %u: NUL byte in line",
				    path, lineno);
			r = DSSH_ERR_CONFIG;
			break;
		}
		if ((r = line_apply(st->cfg, st, line, path, lineno, st->err, st->errlen)) != 0)
			break;
	}
	if (r == 0 && ferror(f)) {
		if (st->err != NULL && st->errlen > 0)
			snprintf(st->err, st->errlen, "%s: read error", path);
		r = DSSH_ERR_CONFIG;
	}
	free(line);
	fclose(f);
	return r;
}

int
dssh_config_load_file(struct dssh_config *cfg, const char *path, char *err,
    size_t errlen)
{
	struct load_state st = { cfg, -1, 0, err, errlen };

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	return load_path(&st, path);
}

/* Replay one stored line (its syntax was checked when it was loaded). */
static int
replay(struct dssh_config *cfg, const struct dssh_config_line *l, bool skip_multi_set,
    const bool *set_by_match, bool *mark, char *err, size_t errlen)
{
	struct line_ctx c = { l->source, l->lineno, NULL, err, errlen };
	char *argv[CONFIG_MAX_ARGS];
	const struct kw *k;
	size_t idx;
	char *copy;
	int argc, r;

	if ((copy = strdup(l->text)) == NULL)
		return DSSH_ERR_ALLOC;
	if ((r = split_line(copy, &c, argv, &argc)) != 0 || argc <= 0 ||
	    (k = kw_find(c.keyword, &idx)) == NULL)
		goto out;
	/* sshd: a list keyword set in a matching block replaces the global list */
	if (skip_multi_set && (k->flags & KW_MULTI) && set_by_match[idx])
		goto out;
	if (mark != NULL)
		mark[idx] = true;
	r = kw_apply(cfg, &c, k, argc, argv);
 out:
	free(copy);
	return r;
}

int
dssh_config_for_conn(const struct dssh_config *base, const struct dssh_config_conn *ci,
    struct dssh_config **out, char *err, size_t errlen)
{
	struct dssh_config *cfg;
	bool *active, set_by_match[NKEYWORDS];
	int r = 0;

	*out = NULL;
	if ((cfg = malloc(sizeof(*cfg))) == NULL)
		return DSSH_ERR_ALLOC;
	dssh_config_init(cfg);
	cfg->quiet = true;
	memset(set_by_match, 0, sizeof(set_by_match));
	if ((active = calloc(base->nmatch + 1, sizeof(*active))) == NULL) {
		free(cfg);
		return DSSH_ERR_ALLOC;
	}
	for (unsigned b = 0; b < base->nmatch; b++) {
		char *argv[CONFIG_MAX_ARGS], *copy = strdup(base->match[b].text);
		struct line_ctx c = { base->match[b].source, base->match[b].lineno, NULL, err, errlen };
		int argc;

		if (copy == NULL) {
			r = DSSH_ERR_ALLOC;
			goto out;
		}
		if ((r = split_line(copy, &c, argv, &argc)) == 0 && argc > 0)
			r = match_criteria(&c, argc, argv, ci);
		else if (r == 0)
			r = DSSH_ERR_CONFIG;
		free(copy);
		if (r < 0)
			goto out;
		active[b] = r == 1;
		r = 0;
	}
	/* The matching blocks first (their first value wins over the global one) ... */
	for (unsigned i = 0; i < base->nlines && r == 0; i++)
		if (base->lines[i].block >= 0 && active[base->lines[i].block])
			r = replay(cfg, &base->lines[i], false, NULL, set_by_match, err, errlen);
	/* ... then the -o and global lines. */
	for (unsigned i = 0; i < base->nlines && r == 0; i++)
		if (base->lines[i].block < 0)
			r = replay(cfg, &base->lines[i], true, set_by_match, NULL, err, errlen);
	if (r == 0 && base->nports_override > 0) {
		cfg->nports = base->nports_override;
		memcpy(cfg->ports, base->ports, sizeof(cfg->ports));
	}
	if (r == 0)
		r = dssh_config_finalize(cfg, base->has_defs ? &base->defs : NULL, err, errlen);
 out:
	free(active);
	if (r != 0) {
		dssh_config_free(cfg);
		free(cfg);
		return r;
	}
	*out = cfg;
	return 0;
}

void
dssh_config_free_conn(struct dssh_config *cfg)
{
	if (cfg == NULL)
		return;
	dssh_config_free(cfg);
	free(cfg);
}

bool
dssh_config_keyword_info(size_t i, const char **name, bool *in_match, bool *implemented)
{
	if (i >= NKEYWORDS)
		return false;
	*name = keywords[i].name;
	*in_match = (keywords[i].flags & KW_MATCH) != 0;
	*implemented = keywords[i].type != T_WARN;
	return true;
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

/* The generic rows' defaults (the T_FN rows' are in dssh_config_finalize). */
static int
finalize_table(struct dssh_config *cfg)
{
	for (size_t i = 0; i < NKEYWORDS; i++) {
		const struct kw *k = &keywords[i];

		if (k->type == T_STR) {
			char **s = kw_str(cfg, k);

			if (*s == NULL && k->def_str != NULL && (*s = strdup(k->def_str)) == NULL)
				return DSSH_ERR_ALLOC;
		} else if (k->type != T_FN && k->type != T_WARN && k->def != -2) {
			if (*kw_int(cfg, k) == -1)
				*kw_int(cfg, k) = (int)k->def;
		}
	}
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
	if (!cfg->authorized_keys_set) {
		cfg->authorized_keys_set = true;
		if ((r = strv_add(&cfg->authorized_keys_files,
		    &cfg->nauthorized_keys_files, ".ssh/authorized_keys")) != 0 ||
		    (r = strv_add(&cfg->authorized_keys_files,
		    &cfg->nauthorized_keys_files, ".ssh/authorized_keys2")) != 0)
			return r;
	}
	if (!cfg->rekey_set) {
		cfg->rekey_set = true;
		cfg->rekey_limit_bytes = DSSH_CONFIG_DEFAULT_REKEY_BYTES;
		cfg->rekey_limit_seconds = DSSH_CONFIG_DEFAULT_REKEY_SECONDS;
	}
	if ((r = finalize_table(cfg)) != 0)
		return r;
	sess_kw_defaults(cfg);
	/* The T_FN rows' defaults. */
	DEF(cfg->log_level, DSSH_LOG_INFO);
	DEF(cfg->gateway_ports, DSSH_GATEWAY_NO);
	DEF(cfg->streamlocal_bind_mask, 0177);
	DEF(cfg->permit_open_mode, DSSH_PERMIT_ANY);
	DEF(cfg->permit_listen_mode, DSSH_PERMIT_ANY);
	DEF(cfg->per_source_netblock4, 32);
	DEF(cfg->per_source_netblock6, 128);
	DEF(cfg->syslog_facility, dssh_log_facility_from_name("AUTH"));
	if (cfg->max_startups == NULL && (cfg->max_startups = strdup("10:30:100")) == NULL)
		return DSSH_ERR_ALLOC;
	if (cfg->force_command == NULL && (cfg->force_command = strdup("none")) == NULL)
		return DSSH_ERR_ALLOC;
	if (cfg->per_source_penalties == NULL) {
		dssh_penalty_conf_default(&cfg->penalty_conf);
		if ((cfg->per_source_penalties = strdup("yes")) == NULL)
			return DSSH_ERR_ALLOC;
	}
	if (cfg->penalty_exempt_list == NULL &&
	    (cfg->penalty_exempt_list = strdup("none")) == NULL)
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
	if (defs != NULL) {
		cfg->defs = *defs;
		cfg->has_defs = true;
	}
	return 0;
}

/* ---- dump ---- */

static void
dump_row(const struct dssh_config *cfg, FILE *f, const struct kw *k)
{
	char lower[64];
	int v;

	if (k->flags & KW_HIDE)
		return;
	if (k->type == T_FN) {
		struct kw named = *k;

		if (k->dump == NULL)
			return;
		if (named.print_as == NULL) {
			size_t n = strlen(k->name);

			for (size_t i = 0; i <= n && i < sizeof(lower); i++)
				lower[i] = (char)tolower((unsigned char)k->name[i]);
			lower[sizeof(lower) - 1] = '\0';
			named.print_as = lower;
		}
		k->dump(cfg, f, &named);
		return;
	}
	for (size_t i = 0; k->name[i] != '\0' && i < sizeof(lower) - 1; i++) {
		lower[i] = (char)tolower((unsigned char)k->name[i]);
		lower[i + 1] = '\0';
	}
	switch (k->type) {
	case T_YESNO:
		v = *kw_cint(cfg, k);
		fprintf(f, "%s %s\n", lower, v == 1 ? "yes" : v == 0 ? "no" : "unset");
		break;
	case T_INT:
	case T_TIME:
	case T_SIZE:
		v = *kw_cint(cfg, k);
		if (v == 0 && k->zero_word != NULL)
			fprintf(f, "%s %s\n", lower, k->zero_word);
		else
			fprintf(f, "%s %d\n", lower, v);
		break;
	case T_STR:
		if (kw_cstr(cfg, k) != NULL)
			fprintf(f, "%s %s\n", lower, kw_cstr(cfg, k));
		break;
	case T_CHOICE:
		v = *kw_cint(cfg, k);
		for (size_t i = 0; k->words[i] != NULL; i++)
			if (k->vals[i] == v) {
				fprintf(f, "%s %s\n", lower, k->words[i]);
				break;
			}
		break;
	default:
		break;
	}
}

void
dssh_config_dump(const struct dssh_config *cfg, FILE *f)
{
	for (size_t i = 0; i < NKEYWORDS; i++)
		dump_row(cfg, f, &keywords[i]);
}
