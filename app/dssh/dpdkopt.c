/* SPDX-License-Identifier: BSD-3-Clause */
/* The client tools' DPDK data plane options (dpdkopt.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dpdkopt.h"
#include "dssh_build_config.h"
#include "dssh_err.h"
#if DSSH_HAVE_DPDK
#include "dssh_dpdk_client.h"
#include "dssh_net.h"
#endif

bool
dssh_dpdkopt_take(struct dssh_dpdkopt *d, const char *arg)
{
	static const char *const keys[] = { "DpdkArgs", "DpdkAddress", "DpdkGateway", "DpdkMTU" };
	const char **slot[] = { &d->args, &d->addr, &d->gateway, &d->mtu };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t n = strlen(keys[i]);

		if (strncasecmp(arg, keys[i], n) == 0 && (arg[n] == '=' || arg[n] == ' ')) {
			arg += n;
			while (*arg == ' ' || *arg == '=')
				arg++;
			*slot[i] = arg;
			return true;
		}
	}
	return false;
}

#if DSSH_HAVE_DPDK
static int
dpdk_conf(const struct dssh_dpdkopt *d, const char *prog, struct dssh_dpdk_client_conf *conf)
{
	if (d->addr == NULL) {
		fprintf(stderr, "%s: DpdkArgs needs DpdkAddress (our a.b.c.d/n)\n", prog);
		return DSSH_ERR_CONFIG;
	}
	if (dssh_dpdk_client_conf_parse(d->args, d->addr, conf) != 0 ||
	    (d->gateway != NULL && dssh_net_parse_ipv4(d->gateway, &conf->gateway) != 0)) {
		fprintf(stderr, "%s: bad DpdkAddress %s or DpdkGateway %s\n", prog, d->addr,
		    d->gateway != NULL ? d->gateway : "-");
		return DSSH_ERR_CONFIG;
	}
	if (d->mtu != NULL) {
		char *end;
		unsigned long m = strtoul(d->mtu, &end, 10);

		if (*end != '\0' || m < 576 || m > 9000) {
			fprintf(stderr, "%s: DpdkMTU %s: 576 to 9000\n", prog, d->mtu);
			return DSSH_ERR_CONFIG;
		}
		conf->mtu = (uint16_t)m;
	}
	return 0;
}

int
dssh_dpdkopt_up(struct dssh_dpdkopt *d, const char *prog, struct dssh_client_opts *o)
{
	struct dssh_dpdk_client_conf conf;
	struct dssh_dpdk_client *dc;
	int r;

	if (d->args == NULL)
		return 0;
	if ((r = dpdk_conf(d, prog, &conf)) != 0 || (r = dssh_dpdk_client_new(&conf, &dc)) != 0)
		return r;
	d->dc = dc;
	o->transport = dssh_dpdk_client_transport(dc);
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	d->ticket = d->serving = 0;
	return 0;
}

/*
 * The threads other than the first are not registered with the EAL
 * (dssh_dpdkopt_thread): without an lcore id they take mbufs from the
 * pool's ring, which is safe from any thread, and leave none stranded in
 * per-lcore caches of threads that wait for their turn.
 */
void
dssh_dpdkopt_turn_take(struct dssh_dpdkopt *d)
{
	uint64_t mine;

	if (d->dc == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	mine = d->ticket++;
	while (d->serving != mine)
		pthread_cond_wait(&d->cv, &d->mu);
	pthread_mutex_unlock(&d->mu);
}

void
dssh_dpdkopt_turn_give(struct dssh_dpdkopt *d)
{
	if (d->dc == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	d->serving++;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

void
dssh_dpdkopt_turn_pass(struct dssh_dpdkopt *d)
{
	bool waited;

	if (d->dc == NULL)
		return;
	/* Nobody in line: keep it (no wake-up, no sleep). */
	pthread_mutex_lock(&d->mu);
	waited = d->ticket != d->serving + 1;
	pthread_mutex_unlock(&d->mu);
	if (!waited)
		return;
	dssh_dpdkopt_turn_give(d);
	dssh_dpdkopt_turn_take(d);
}

int
dssh_dpdkopt_thread(struct dssh_dpdkopt *d)
{
	return d->dc != NULL ? dssh_dpdk_client_thread(d->dc) : 0;
}

void
dssh_dpdkopt_down(struct dssh_dpdkopt *d)
{
	if (d->dc == NULL)
		return;
	dssh_dpdk_client_free(d->dc);
	d->dc = NULL;
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
}
#else
int
dssh_dpdkopt_up(struct dssh_dpdkopt *d, const char *prog, struct dssh_client_opts *o)
{
	(void)o;
	if (d->args == NULL)
		return 0;
	fprintf(stderr, "%s: DpdkArgs: built without DPDK\n", prog);
	return DSSH_ERR_UNSUPPORTED;
}

int
dssh_dpdkopt_thread(struct dssh_dpdkopt *d)
{
	(void)d;
	return 0;
}

void
dssh_dpdkopt_turn_take(struct dssh_dpdkopt *d)
{
	(void)d;
}

void
dssh_dpdkopt_turn_pass(struct dssh_dpdkopt *d)
{
	(void)d;
}

void
dssh_dpdkopt_turn_give(struct dssh_dpdkopt *d)
{
	(void)d;
}

void
dssh_dpdkopt_down(struct dssh_dpdkopt *d)
{
	(void)d;
}
#endif
