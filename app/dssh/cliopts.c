/* SPDX-License-Identifier: BSD-3-Clause */
/* ssh_config-style options on the command line (ssh_config(5) names). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cliopts.h"
#include "dssh_log.h"

/* Options ssh users pass out of habit that change nothing here. */
static const char *const ignored[] = {
	"Compression", "ServerAliveInterval", "ServerAliveCountMax", "ControlMaster",
	"ControlPath", "ControlPersist", "ForwardAgent", "ForwardX11", "IdentitiesOnly",
	"GlobalKnownHostsFile", "UpdateHostKeys", "AddressFamily", "TCPKeepAlive",
	"RequestTTY", "CheckHostIP", "LogLevel", "VisualHostKey", "IPQoS",
	"PreferredAuthentications", "KbdInteractiveAuthentication", "NumberOfPasswordPrompts",
};

static bool
yes(const char *v)
{
	return strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0;
}

static int
strict(struct dssh_client_opts *o, const char *v)
{
	if (strcasecmp(v, "yes") == 0)
		o->strict = DSSH_STRICT_YES;
	else if (strcasecmp(v, "accept-new") == 0)
		o->strict = DSSH_STRICT_ACCEPT_NEW;
	else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0)
		o->strict = DSSH_STRICT_NO;
	else if (strcasecmp(v, "ask") == 0)
		o->strict = DSSH_STRICT_ASK;
	else
		return -1;
	return 0;
}

int
dssh_cliopt_apply(struct dssh_client_opts *o, const char *arg)
{
	char key[64];
	size_t k = strcspn(arg, "= \t");
	const char *v = arg + k;

	if (k == 0 || k >= sizeof(key) || *v == '\0')
		goto bad;
	memcpy(key, arg, k);
	key[k] = '\0';
	v += strspn(v, "= \t");
	/* The values point into argv: they live as long as the process. */
	if (strcasecmp(key, "Port") == 0)
		o->port = atoi(v);
	else if (strcasecmp(key, "User") == 0)
		o->user = v;
	else if (strcasecmp(key, "IdentityFile") == 0) {
		if (o->n_identities < DSSH_CLIENT_MAX_IDS)
			o->identities[o->n_identities++] = v;
	} else if (strcasecmp(key, "IdentityAgent") == 0)
		o->identity_agent = v;
	else if (strcasecmp(key, "UserKnownHostsFile") == 0)
		o->known_hosts = v;
	else if (strcasecmp(key, "StrictHostKeyChecking") == 0) {
		if (strict(o, v) != 0)
			goto bad;
	} else if (strcasecmp(key, "KexAlgorithms") == 0)
		o->kex = v;
	else if (strcasecmp(key, "Ciphers") == 0)
		o->ciphers = v;
	else if (strcasecmp(key, "MACs") == 0)
		o->macs = v;
	else if (strcasecmp(key, "HostKeyAlgorithms") == 0)
		o->hostkey_algs = v;
	else if (strcasecmp(key, "BatchMode") == 0)
		o->batch = yes(v);
	else if (strcasecmp(key, "PasswordAuthentication") == 0)
		o->password_auth = yes(v);
	else if (strcasecmp(key, "PubkeyAuthentication") == 0)
		o->pubkey_auth = yes(v);
	else if (strcasecmp(key, "HashKnownHosts") == 0)
		o->hash_known_hosts = yes(v);
	else if (strcasecmp(key, "ConnectTimeout") == 0)
		o->connect_timeout = (unsigned)atoi(v);
	else {
		for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
			if (strcasecmp(key, ignored[i]) == 0)
				return 0;
		fprintf(stderr, "command-line: unsupported option \"%s\"\n", key);
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "command-line line 0: bad option \"%s\"\n", arg);
	return -1;
}

int
dssh_cliopt_common(struct dssh_client_opts *o, int ch, const char *arg)
{
	switch (ch) {
	case 'i':
		/* As ssh: identities past the limit are not tried. */
		if (o->n_identities < DSSH_CLIENT_MAX_IDS)
			o->identities[o->n_identities++] = arg;
		return 1;
	case 'o':
		return dssh_cliopt_apply(o, arg) == 0 ? 1 : -1;
	case 'c':
		dssh_cliopt_cipher(o, arg);
		return 1;
	default:
		return 0;
	}
}

void
dssh_cliopt_cipher(struct dssh_client_opts *o, const char *list)
{
	o->ciphers = list;
}

void
dssh_cliopt_userhost(struct dssh_client_opts *o, char *s)
{
	char *at = strrchr(s, '@');

	if (at != NULL) {
		*at = '\0';
		o->user = s;
		s = at + 1;
	}
	/* [v6addr] */
	if (s[0] == '[' && s[strlen(s) - 1] == ']') {
		s[strlen(s) - 1] = '\0';
		s++;
	}
	o->host = s;
}

void
dssh_cliopt_log(const char *prog, int verbose, bool quiet)
{
	enum dssh_log_level l = quiet ? DSSH_LOG_FATAL : DSSH_LOG_ERROR;

	if (verbose > 0)
		l = verbose == 1 ? DSSH_LOG_VERBOSE : verbose == 2 ? DSSH_LOG_DEBUG1 : DSSH_LOG_DEBUG3;
	dssh_log_init(prog, l, true);
}
