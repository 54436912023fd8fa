/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSHD_SERVER_H
#define DSSHD_SERVER_H

#include "dssh_config.h"
#include "dssh_ssh.h"

struct dsshd_server;
struct dssh_dpdk_hub;

/*
 * Listen per cfg and serve until SIGTERM/SIGINT: connections on kernel
 * sockets, and, with a hub, the DPDK data plane's TCP connections.
 */
int dsshd_server_run(const struct dssh_config *cfg, const struct dssh_ssh_conf *sshconf,
    struct dssh_dpdk_hub *hub);

#endif
