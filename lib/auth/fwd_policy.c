/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_fwd_policy.h"
#include "dssh_util.h"

#define PEER_STR_MAX 100        /* as sshd's %.100s */
#define HOST_MAX 1024

static int
copy_permits(struct dssh_config_permit **dst, size_t *ndst,
    const struct dssh_config_permit *src, size_t n)
{
	int r;

	for (size_t i = 0; i < n; i++)
		if ((r = dssh_config_permits_add(dst, ndst, &src[i])) != 0)
			return r == DSSH_ERR_NO_BUFFER_SPACE ? DSSH_ERR_ALLOC : r;
	return 0;
}

static void
policy_open(struct dssh_fwd_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->allow_tcp = p->allow_streamlocal = DSSH_FWD_ALL;
	p->allow_agent = true;
	p->streamlocal_bind_mask = 0177;
	p->key_port_forwarding = p->key_agent_forwarding = true;
	p->cert_port_forwarding = p->cert_agent_forwarding = true;
	p->privileged_below = DSSH_FWD_PRIVILEGED_BELOW;
}

int
dssh_fwd_policy_build(struct dssh_fwd_policy *p,
    const struct dssh_config *cfg, const struct dssh_authkey_opts *key,
    const struct dssh_fwd_cert_perms *cert, const char *remote_ip,
    int remote_port)
{
	int r;

	policy_open(p);
	/* An unset (-1) value counts as its sshd default. */
	p->disable_forwarding = cfg->disable_forwarding == 1;
	p->allow_tcp = cfg->allow_tcp_forwarding < 0 ? DSSH_FWD_ALL : cfg->allow_tcp_forwarding;
	p->allow_streamlocal = cfg->allow_streamlocal_forwarding < 0 ? DSSH_FWD_ALL :
	    cfg->allow_streamlocal_forwarding;
	p->allow_agent = cfg->allow_agent_forwarding != 0;
	p->gateway_ports = cfg->gateway_ports < 0 ? DSSH_GATEWAY_NO : cfg->gateway_ports;
	p->streamlocal_bind_unlink = cfg->streamlocal_bind_unlink == 1;
	p->streamlocal_bind_mask = cfg->streamlocal_bind_mask < 0 ? 0177 :
	    (unsigned)cfg->streamlocal_bind_mask;
	p->open_mode = cfg->permit_open_mode < 0 ? DSSH_PERMIT_ANY : cfg->permit_open_mode;
	p->listen_mode = cfg->permit_listen_mode < 0 ? DSSH_PERMIT_ANY :
	    cfg->permit_listen_mode;
	if ((r = copy_permits(&p->open, &p->nopen, cfg->permit_open,
	    cfg->npermit_open)) != 0 ||
	    (r = copy_permits(&p->listen, &p->nlisten, cfg->permit_listen,
	    cfg->npermit_listen)) != 0)
		goto fail;
	if (key != NULL) {
		p->key_port_forwarding = key->permit_port_forwarding;
		p->key_agent_forwarding = key->permit_agent_forwarding;
		p->key_restricted = key->restricted;
		if ((r = copy_permits(&p->key_open, &p->nkey_open, key->permitopen,
		    key->npermitopen)) != 0 ||
		    (r = copy_permits(&p->key_listen, &p->nkey_listen,
		    key->permitlisten, key->npermitlisten)) != 0)
			goto fail;
		if (key->file != NULL &&
		    asprintf(&p->key_where, "%s line %lu", key->file, key->line) < 0) {
			p->key_where = NULL;
			r = DSSH_ERR_ALLOC;
			goto fail;
		}
	}
	if (cert != NULL) {
		p->cert_port_forwarding = cert->permit_port_forwarding;
		p->cert_agent_forwarding = cert->permit_agent_forwarding;
	}
	if (remote_ip != NULL)
		snprintf(p->remote_ip, sizeof(p->remote_ip), "%s", remote_ip);
	else
		strcpy(p->remote_ip, "?");
	p->remote_port = remote_port;
	return 0;
 fail:
	dssh_fwd_policy_free(p);
	return r;
}

void
dssh_fwd_policy_free(struct dssh_fwd_policy *p)
{
	if (p == NULL)
		return;
	dssh_config_permits_free(p->open, p->nopen);
	dssh_config_permits_free(p->listen, p->nlisten);
	dssh_config_permits_free(p->key_open, p->nkey_open);
	dssh_config_permits_free(p->key_listen, p->nkey_listen);
	free(p->key_where);
	policy_open(p);
}

/* ---- reasons ---- */

/* A peer string fit for a log line: cut, control bytes as '?'. */
static void
clean(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	if (in == NULL)
		in = "?";
	for (; *in != '\0' && n < PEER_STR_MAX && n + 1 < outlen; in++)
		out[n++] = isprint((unsigned char)*in) ? *in : '?';
	out[n] = '\0';
}

static int __attribute__((format(printf, 3, 4)))
refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return DSSH_ERR_PERMISSION;
}

/*
 * The option that switches off port (TCP and streamlocal) forwarding for
 * this connection, or NULL. dir is the DSSH_FWD_* direction, mask the
 * Allow*Forwarding value, kw its name.
 */
static const char *
port_fwd_blocker(const struct dssh_fwd_policy *p, int dir, int mask,
    const char *kw, char *buf, size_t buflen)
{
	if (p->disable_forwarding)
		return "DisableForwarding";
	if ((mask & dir) == 0)
		return kw;
	if (!p->key_port_forwarding) {
		snprintf(buf, buflen, "key option %s%s%s",
		    p->key_restricted ? "restrict" : "no-port-forwarding",
		    p->key_where != NULL ? " in " : "",
		    p->key_where != NULL ? p->key_where : "");
		return buf;
	}
	if (!p->cert_port_forwarding)
		return "certificate without permit-port-forwarding";
	return NULL;
}

/* " in FILE line N" after a key option's name, or "". */
static const char *
key_in(const struct dssh_fwd_policy *p, bool by_key, char *buf, size_t buflen)
{
	if (!by_key || p->key_where == NULL)
		return "";
	snprintf(buf, buflen, " in %s", p->key_where);
	return buf;
}

/* ---- direct-tcpip ---- */

/* PermitOpen semantics: literal host or "*", port or any. */
static bool
open_match(const struct dssh_config_permit *e, const char *host, uint32_t port)
{
	if (e->port != DSSH_PERMIT_ANY_PORT && (uint32_t)e->port != port)
		return false;
	return strcmp(e->host, "*") == 0 || strcmp(e->host, host) == 0;
}

static bool
open_list_allows(const struct dssh_config_permit *v, size_t n,
    const char *host, uint32_t port)
{
	for (size_t i = 0; i < n; i++)
		if (open_match(&v[i], host, port))
			return true;
	return false;
}

int
dssh_fwd_allow_open(const struct dssh_fwd_policy *p, const char *host,
    uint32_t port, const char *originator, uint32_t orig_port, char *why,
    size_t whylen)
{
	char h[PEER_STR_MAX + 1], o[PEER_STR_MAX + 1], buf[512];
	const char *cause;
	bool by_key;

	clean(host, h, sizeof(h));
	clean(originator, o, sizeof(o));
	cause = port_fwd_blocker(p, DSSH_FWD_LOCAL, p->allow_tcp,
	    "AllowTcpForwarding", buf, sizeof(buf));
	if (cause == NULL && (host == NULL || port > 65535))
		cause = "bad target";
	if (cause != NULL)
		return refuse(why, whylen, "refused local port forward: originator %s "
		    "port %u, target %s port %u (%s)", o, orig_port, h, port, cause);
	by_key = p->nkey_open > 0 && !open_list_allows(p->key_open, p->nkey_open, host, port);
	if (by_key)
		cause = "permitopen";
	else if (p->open_mode == DSSH_PERMIT_NONE ||
	    (p->open_mode == DSSH_PERMIT_LIST &&
	    !open_list_allows(p->open, p->nopen, host, port)))
		cause = "PermitOpen";
	if (cause != NULL)
		return refuse(why, whylen, "Received request from %s port %d to connect "
		    "to host %s port %u, but the request was denied (%s%s)",
		    p->remote_ip, p->remote_port, h, port, cause,
		    key_in(p, by_key, buf, sizeof(buf)));
	return 0;
}

/* ---- tcpip-forward ---- */

/* PermitListen semantics: host pattern against the lowercased request. */
static bool
listen_list_allows(const struct dssh_config_permit *v, size_t n,
    const char *lhost, uint32_t port)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].port != DSSH_PERMIT_ANY_PORT && (uint32_t)v[i].port != port)
			continue;
		if (dssh_match_pattern(lhost, v[i].host) == 1)
			return true;
	}
	return false;
}

static void
map_bind(const struct dssh_fwd_policy *p, const char *a, struct dssh_fwd_bind *b)
{
	bool all = *a == '\0' || strcmp(a, "*") == 0;

	b->kind = DSSH_FWD_BIND_LOOPBACK;
	b->addr = NULL;
	b->overridden = false;
	switch (p->gateway_ports) {
	case DSSH_GATEWAY_YES:
		b->kind = DSSH_FWD_BIND_ANY;
		b->overridden = !all && strcmp(a, "0.0.0.0") != 0;
		break;
	case DSSH_GATEWAY_CLIENTSPECIFIED:
		if (all)
			b->kind = DSSH_FWD_BIND_ANY;
		else if (strcmp(a, "localhost") != 0) {
			b->kind = DSSH_FWD_BIND_ADDR;
			b->addr = a;
		}
		break;
	default:
		/* An explicit loopback address lets the client pick the family. */
		if (strcmp(a, "127.0.0.1") == 0 || strcmp(a, "::1") == 0) {
			b->kind = DSSH_FWD_BIND_ADDR;
			b->addr = a;
		}
		break;
	}
}

int
dssh_fwd_allow_listen(const struct dssh_fwd_policy *p, const char *bind_addr,
    uint32_t port, uid_t uid, struct dssh_fwd_bind *bind, char *why,
    size_t whylen)
{
	char h[PEER_STR_MAX + 1], lhost[HOST_MAX + 1], buf[512];
	const char *cause;
	size_t len = 0;
	bool by_key;

	clean(bind_addr, h, sizeof(h));
	cause = port_fwd_blocker(p, DSSH_FWD_REMOTE, p->allow_tcp,
	    "AllowTcpForwarding", buf, sizeof(buf));
	if (cause == NULL && (bind_addr == NULL || port > 65535 ||
	    (len = strlen(bind_addr)) > HOST_MAX))
		cause = "bad listen address or port";
	if (cause == NULL && port != 0 && port < p->privileged_below && uid != 0)
		cause = "privileged port, user is not root";
	if (cause != NULL)
		return refuse(why, whylen, "refused remote port forward: listen host %s "
		    "port %u (%s)", h, port, cause);
	for (size_t i = 0; i <= len; i++)
		lhost[i] = (char)tolower((unsigned char)bind_addr[i]);
	by_key = p->nkey_listen > 0 &&
	    !listen_list_allows(p->key_listen, p->nkey_listen, lhost, port);
	if (by_key)
		cause = "permitlisten";
	else if (p->listen_mode == DSSH_PERMIT_NONE ||
	    (p->listen_mode == DSSH_PERMIT_LIST &&
	    !listen_list_allows(p->listen, p->nlisten, lhost, port)))
		cause = "PermitListen";
	if (cause != NULL)
		return refuse(why, whylen, "Received request from %s port %d to remote "
		    "forward to host %s port %u, but the request was denied (%s%s)",
		    p->remote_ip, p->remote_port, h, port, cause,
		    key_in(p, by_key, buf, sizeof(buf)));
	if (bind != NULL)
		map_bind(p, bind_addr, bind);
	return 0;
}

/* ---- streamlocal, agent ---- */

int
dssh_fwd_allow_streamlocal(const struct dssh_fwd_policy *p, int direction,
    const char *path, char *why, size_t whylen)
{
	char s[PEER_STR_MAX + 1], buf[512];
	const char *cause;

	clean(path, s, sizeof(s));
	if (direction != DSSH_FWD_LOCAL && direction != DSSH_FWD_REMOTE)
		return refuse(why, whylen, "refused streamlocal forward: bad direction");
	cause = port_fwd_blocker(p, direction, p->allow_streamlocal,
	    "AllowStreamLocalForwarding", buf, sizeof(buf));
	if (cause != NULL)
		return refuse(why, whylen, direction == DSSH_FWD_LOCAL ?
		    "refused streamlocal port forward: target %s (%s)" :
		    "refused streamlocal remote forward: listen path %s (%s)", s, cause);
	return 0;
}

int
dssh_fwd_allow_agent(const struct dssh_fwd_policy *p, char *why, size_t whylen)
{
	if (p->disable_forwarding)
		return refuse(why, whylen, "refused agent forwarding (DisableForwarding)");
	if (!p->allow_agent)
		return refuse(why, whylen, "refused agent forwarding (AllowAgentForwarding)");
	if (!p->key_agent_forwarding)
		return refuse(why, whylen, "refused agent forwarding (key option %s%s%s)",
		    p->key_restricted ? "restrict" : "no-agent-forwarding",
		    p->key_where != NULL ? " in " : "",
		    p->key_where != NULL ? p->key_where : "");
	if (!p->cert_agent_forwarding)
		return refuse(why, whylen, "refused agent forwarding (certificate without "
		    "permit-agent-forwarding)");
	return 0;
}
