/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSHD_SERVER_H
#define DSSHD_SERVER_H

#include "dssh_config.h"
#include "dssh_ssh.h"

struct dsshd_server;

/* Listen per cfg and serve on kernel sockets until SIGTERM/SIGINT. */
int dsshd_server_run(const struct dssh_config *cfg, const struct dssh_ssh_conf *sshconf);

#endif
