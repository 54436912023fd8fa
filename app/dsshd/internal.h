/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSHD_INTERNAL_H
#define DSSHD_INTERNAL_H

#include "dssh_session.h"

/* Programs the spawner runs inside a session process instead of an exec. */
int dsshd_internal_sftp(int in_fd, int out_fd, int err_fd, const struct dssh_session_spec *spec);

#endif
