/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSHD_SERVER_H
#define DSSHD_SERVER_H

#include "dssh_config.h"
#include "dssh_ssh.h"
#include "dssh_stream.h"

/*
 * Listen per cfg and serve until SIGTERM/SIGINT: connections on kernel
 * sockets, and, with a source (the DPDK data plane), its connections too.
 */
int dsshd_server_run(const struct dssh_config *cfg, const struct dssh_ssh_conf *sshconf,
    const struct dssh_stream_source *source);

#endif
