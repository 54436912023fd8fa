/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The EAL's side of the data plane: its argv from the configuration (lcores,
 * file prefix, hugepages when the machine has free ones, else --no-huge),
 * the mbuf pool's size, and the removal of the runtime directory it leaves.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_mbuf.h>

#include "dp_priv.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"

static bool
dp_has_arg(int argc, char **argv, const char *opt)
{
	size_t n = strlen(opt);

	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], opt, n) == 0 && (argv[i][n] == '\0' || argv[i][n] == '='))
			return true;
	return false;
}

static bool
dp_hugepages_available(void)
{
	FILE *f;
	char line[256];
	long free_pages = 0;
	bool mounted = false;

	if ((f = fopen("/proc/meminfo", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "HugePages_Free: %ld", &free_pages) == 1)
				break;
		fclose(f);
	}
	if ((f = fopen("/proc/mounts", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, " hugetlbfs ") != NULL)
				mounted = true;
		fclose(f);
	}
	return free_pages > 0 && mounted;
}

/* -m value in MiB, 0 when absent. */
static unsigned long
dp_mem_mb(int argc, char **argv)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], "-m") == 0)
			return strtoul(argv[i + 1], NULL, 10);
	return 0;
}

int
dp_build_argv(const struct dssh_dpdk_conf *conf, char *store, size_t store_len, char **argv,
    int *argcp, char *lcores, size_t lcores_len)
{
	int argc = 0;
	char *p;

	argv[argc++] = (char *)"dsshd";
	if (conf->eal_args != NULL) {
		if (strlen(conf->eal_args) >= store_len)
			return DSSH_ERR_CONFIG;
		strcpy(store, conf->eal_args);
		for (p = strtok(store, " \t\n"); p != NULL; p = strtok(NULL, " \t\n")) {
			if (argc >= DP_MAX_ARGS - 8)
				return DSSH_ERR_CONFIG;
			argv[argc++] = p;
		}
	}
	if (!dp_has_arg(argc, argv, "-l") && !dp_has_arg(argc, argv, "--lcores") &&
	    !dp_has_arg(argc, argv, "-c")) {
		snprintf(lcores, lcores_len, "0-%u", conf->n_data_cores);
		argv[argc++] = (char *)"-l";
		argv[argc++] = lcores;
	}
	if (!dp_has_arg(argc, argv, "--file-prefix") && !dp_has_arg(argc, argv, "--in-memory"))
		argv[argc++] = (char *)"--file-prefix=dssh";
	if (dp_has_arg(argc, argv, "--no-huge")) {
		dssh_info("EAL: running without hugepages (--no-huge given)");
	} else if (!dp_hugepages_available()) {
		argv[argc++] = (char *)"--no-huge";
		if (dp_mem_mb(argc, argv) == 0) {
			argv[argc++] = (char *)"-m";
			argv[argc++] = (char *)"256";
		}
		dssh_info("EAL: no free hugepages: running with --no-huge");
	} else {
		if (!dp_has_arg(argc, argv, "--in-memory") && !dp_has_arg(argc, argv, "--huge-unlink"))
			argv[argc++] = (char *)"--huge-unlink";
		dssh_info("EAL: using hugepages");
	}
	argv[argc] = NULL;
	*argcp = argc;
	return 0;
}

/* One frame of the configured MTU fits in one mbuf (no chains to walk). */
uint16_t
dp_mbuf_room(const struct dssh_dpdk_conf *conf)
{
	unsigned frame = (conf->mtu ? conf->mtu : DSSH_NET_MTU_DEFAULT) + DSSH_NET_ETH_HLEN + 8;

	return (uint16_t)DSSH_MAX((unsigned)RTE_MBUF_DEFAULT_BUF_SIZE,
	    RTE_ALIGN_CEIL(frame, 1024) + RTE_PKTMBUF_HEADROOM);
}

/* mbufs the RX/TX rings, bursts and caches may take. */
unsigned
dp_mbuf_need(unsigned ncores)
{
	return ncores * (DP_NB_RXD + DP_NB_TXD + 2 * DP_BURST + DP_TXQ_MAX) +
	    (ncores + 1) * DP_MBUF_CACHE;
}

unsigned
dp_mbuf_count(int argc, char **argv, unsigned ncores, uint16_t room)
{
	unsigned long mb = dp_mem_mb(argc, argv);
	unsigned need = dp_mbuf_need(ncores);
	unsigned n = 16383;
	/* With -m, half the memory for packet buffers. */
	size_t per = room + sizeof(struct rte_mbuf) + RTE_CACHE_LINE_SIZE;

	if (mb != 0)
		n = (unsigned)DSSH_MIN((unsigned long)65535, mb * 1024 * 1024 / 2 / per);
	return DSSH_MAX(n, need);
}

/*
 * The EAL leaves its runtime directory (config, fbarray files) for secondary
 * processes, which dssh does not use: remove it so that a stopped data plane
 * leaves nothing behind.
 */
void
dssh_dpdk_remove_runtime_dir(const char *dir)
{
	DIR *d;
	struct dirent *e;

	if (dir[0] == '\0' || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) != 0)
			dssh_debug("runtime dir: %s/%s not removed", dir, e->d_name);
	}
	closedir(d);
	if (rmdir(dir) != 0)
		dssh_debug("runtime dir %s not removed", dir);
}
