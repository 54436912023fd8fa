/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_CRYPTODEV_H
#define DSSH_CRYPTODEV_H

/*
 * Crypto devices shared by several cryptodev engine instances (e.g. one
 * per data core and one for the control thread), share-nothing: whoever
 * owns the EAL configures the device once, after rte_eal_init and before
 * any instance is created, with one queue pair and one session pool per
 * instance. Each instance created afterwards on that device (devargs NULL
 * or its name) claims a queue pair of its own; none is left: DSSH_ERR_BUSY.
 * Without this call an instance configures its device alone (queue pair 0).
 */

/* name: a device, or several comma-separated; NULL: every crypto device.
 * With several, the nb_qps instances' queue pairs are spread over them
 * round robin (instance k: device k % n, queue pair k / n), so that data
 * cores do not share a device. sessions: per queue pair. 0 or DSSH_ERR_*
 * (logged: no device, too few queue pairs, no memory). */
int dssh_cryptodev_setup(const char *name, unsigned nb_qps, unsigned sessions);
/* After every instance on it was freed: stops the device, frees the pools. */
void dssh_cryptodev_close(void);

#include <stdint.h>

struct dssh_crypto_engine;

/* Packets a cryptodev engine instance has processed so far. */
struct dssh_cryptodev_stats {
	uint64_t device;        /* through the device */
	uint64_t in_place;      /* of those, the caller's buffer attached, not copied */
	uint64_t software;      /* done in software (see cryptodev.c) */
	int dev_id;             /* the instance's device and queue pair */
	unsigned queue_pair;
};

/* DSSH_ERR_INVALID_ARGUMENT when e is not a cryptodev engine. */
int dssh_cryptodev_stats(const struct dssh_crypto_engine *e, struct dssh_cryptodev_stats *st);

#endif
