/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_FWD_POLICY_H
#define DSSH_FWD_POLICY_H

/*
 * Forwarding policy as sshd has it: which -L/-R/-D tunnels, Unix-socket
 * forwardings and agent forwarding one connection may use. Pure decisions,
 * no I/O: the channel code asks before it connects, listens or creates an
 * agent socket, and on a refusal sends the failure (channel opens:
 * SSH_OPEN_ADMINISTRATIVELY_PROHIBITED, DSSH_FWD_OPEN_REFUSED_CODE; global
 * requests: REQUEST_FAILURE) and logs the reason it was given (dssh_info, as
 * sshd logs these at INFO).
 *
 * Sources, each only restricting further:
 *   - the config: DisableForwarding (overrides everything), AllowTcpForwarding,
 *     AllowStreamLocalForwarding, AllowAgentForwarding, PermitOpen,
 *     PermitListen, GatewayPorts;
 *   - the authorized_keys line of the key that authenticated: restrict,
 *     no-port-forwarding / port-forwarding (TCP and Unix-socket forwarding
 *     both, as sshd), no-agent-forwarding / agent-forwarding, permitopen=,
 *     permitlisten=;
 *   - a certificate's extensions (permit-port-forwarding,
 *     permit-agent-forwarding), once certificates are accepted.
 *
 * PermitOpen and permitopen= intersect: a direct-tcpip target must be
 * allowed by both (a key without permitopen= does not limit; PermitOpen any
 * does not limit). As sshd, hosts are compared literally (no name lookup,
 * no patterns), "*" is any host, port "*" any port; IPv6 entries are written
 * [addr]:port and compared without brackets. PermitListen and permitlisten=
 * intersect the same way, but their hosts are patterns ('*', '?', as
 * ssh_config PATTERNS) matched against the lowercased requested listen host;
 * a bare port means any host. Note that ssh -R without an address requests
 * "localhost", which is not "127.0.0.1".
 *
 * Usage (per connection, after userauth succeeded):
 *   struct dssh_fwd_policy pol;
 *   dssh_fwd_policy_build(&pol, cfg, have_key ? &keyopts : NULL, NULL,
 *       peer_ip, peer_port);
 *   ... dssh_fwd_allow_open(&pol, host, port, orig, orig_port, why, sizeof(why)) ...
 *   dssh_fwd_policy_free(&pol);
 * The policy holds copies: cfg and keyopts may go away after the build.
 *
 * Not decided here: cancel-tcpip-forward / cancel-streamlocal-forward (always
 * allowed for the connection's own listeners), a tcpip-forward for port 0
 * without want-reply (sshd refuses it: the client could not learn the port).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dssh_auth.h"
#include "dssh_config.h"

#define DSSH_FWD_OPEN_REFUSED_CODE 1    /* SSH_OPEN_ADMINISTRATIVELY_PROHIBITED */
#define DSSH_FWD_PRIVILEGED_BELOW 1024  /* IPPORT_RESERVED */

/* Certificate extensions that bear on forwarding (all false = none granted). */
struct dssh_fwd_cert_perms {
	bool permit_port_forwarding;    /* "permit-port-forwarding" */
	bool permit_agent_forwarding;   /* "permit-agent-forwarding" */
};

/* Fields are readable by the forwarding code; change them only in tests. */
struct dssh_fwd_policy {
	/* The config. */
	bool disable_forwarding;        /* DisableForwarding */
	int allow_tcp;                  /* AllowTcpForwarding: DSSH_FWD_* mask */
	int allow_streamlocal;          /* AllowStreamLocalForwarding: mask */
	bool allow_agent;               /* AllowAgentForwarding */
	int gateway_ports;              /* enum dssh_gateway_ports */
	bool streamlocal_bind_unlink;   /* StreamLocalBindUnlink: remove a stale
	                                 * socket file before binding */
	unsigned streamlocal_bind_mask; /* StreamLocalBindMask: umask of the socket */
	int open_mode;                  /* PermitOpen: enum dssh_permit_mode */
	struct dssh_config_permit *open;
	size_t nopen;
	int listen_mode;                /* PermitListen */
	struct dssh_config_permit *listen;
	size_t nlisten;
	/* The key's authorized_keys options (no key: nothing restricted). */
	bool key_port_forwarding;
	bool key_agent_forwarding;
	bool key_restricted;            /* "restrict": names the cause in reasons */
	struct dssh_config_permit *key_open;    /* permitopen=, 0 entries: no limit */
	size_t nkey_open;
	struct dssh_config_permit *key_listen;  /* permitlisten= */
	size_t nkey_listen;
	char *key_where;                /* "FILE line N" of the key, or NULL */
	/* A certificate's extensions (no certificate: nothing restricted). */
	bool cert_port_forwarding;
	bool cert_agent_forwarding;
	/* The connection, for reasons. */
	char remote_ip[64];
	int remote_port;
	unsigned privileged_below;      /* DSSH_FWD_PRIVILEGED_BELOW */
};

/*
 * Build the effective policy. cfg must be finalized. key: the options of the
 * authorized_keys line that authenticated, NULL for other methods. cert:
 * the certificate's extensions, NULL without a certificate. remote_ip may be
 * NULL. Returns 0 or DSSH_ERR_ALLOC (p is then empty and safe to free).
 */
int dssh_fwd_policy_build(struct dssh_fwd_policy *p,
    const struct dssh_config *cfg, const struct dssh_authkey_opts *key,
    const struct dssh_fwd_cert_perms *cert, const char *remote_ip,
    int remote_port);
void dssh_fwd_policy_free(struct dssh_fwd_policy *p);

/*
 * Every decision returns 0 (allowed) or DSSH_ERR_PERMISSION with a one-line
 * reason in why (peer strings cut to 100 characters, control characters
 * replaced), e.g.
 *   refused local port forward: originator 10.0.0.5 port 5123, target
 *   db.internal port 5432 (AllowTcpForwarding)
 *   Received request from 10.0.0.5 port 40022 to connect to host
 *   db.internal port 5432, but the request was denied (PermitOpen)
 * why may be NULL.
 */

/*
 * direct-tcpip (ssh -L, ssh -D) to host:port. originator / orig_port are the
 * channel-open's originator fields (only for the reason; NULL allowed).
 */
int dssh_fwd_allow_open(const struct dssh_fwd_policy *p, const char *host,
    uint32_t port, const char *originator, uint32_t orig_port, char *why,
    size_t whylen);

enum dssh_fwd_bind_kind {
	DSSH_FWD_BIND_LOOPBACK = 0,     /* 127.0.0.1 and ::1 (where available) */
	DSSH_FWD_BIND_ANY,              /* 0.0.0.0 and :: */
	DSSH_FWD_BIND_ADDR,             /* exactly addr */
};

struct dssh_fwd_bind {
	enum dssh_fwd_bind_kind kind;
	const char *addr;               /* DSSH_FWD_BIND_ADDR: points into bind_addr */
	bool overridden;                /* GatewayPorts yes replaced the client's
	                                 * address: sshd tells the client with a
	                                 * debug message ("Forwarding listen address
	                                 * ... overridden by server GatewayPorts") */
};

/*
 * tcpip-forward (ssh -R) of bind_addr:port (port 0: the kernel chooses) for
 * the user uid. On success *bind says what to bind, by GatewayPorts:
 *   no:              loopback; an explicit "127.0.0.1" or "::1" as asked
 *   yes:             every address, whatever was asked
 *   clientspecified: "" or "*" every address, "localhost" loopback, any
 *                    other address as asked
 * Ports below p->privileged_below (1024) are refused for uid != 0.
 */
int dssh_fwd_allow_listen(const struct dssh_fwd_policy *p, const char *bind_addr,
    uint32_t port, uid_t uid, struct dssh_fwd_bind *bind, char *why,
    size_t whylen);

/*
 * Unix-socket forwarding: direction DSSH_FWD_LOCAL for
 * direct-streamlocal@openssh.com (connect to path), DSSH_FWD_REMOTE for
 * streamlocal-forward@openssh.com (listen on path; bind with
 * p->streamlocal_bind_mask as umask, unlink first when
 * p->streamlocal_bind_unlink). path only names the socket in the reason.
 */
int dssh_fwd_allow_streamlocal(const struct dssh_fwd_policy *p, int direction,
    const char *path, char *why, size_t whylen);

/* auth-agent-req@openssh.com. */
int dssh_fwd_allow_agent(const struct dssh_fwd_policy *p, char *why,
    size_t whylen);

#endif
