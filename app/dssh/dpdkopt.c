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
	/*
	 * Threads that share the port take turns on it (dssh-cp). Those
	 * other than the EAL's are not registered with it
	 * (dssh_dpdkopt_thread): without an lcore id they take mbufs from
	 * the pool's ring, safe from any thread, and strand none in the
	 * per-lcore caches of threads that wait for their turn.
	 */
	dssh_turn_init(&d->turn);
	return 0;
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
	dssh_turn_fini(&d->turn);
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
dssh_dpdkopt_down(struct dssh_dpdkopt *d)
{
	(void)d;
}
#endif
