/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dsshd-dataplane: the DPDK data plane on its own (ARP, IPv4, ICMP, TCP), for
 * tests and bring-up before dsshd drives it.
 *
 *   dsshd-dataplane -a 198.18.0.2/24 [-6 2001:2::2/64] [-g gateway] [-n data-cores]
 *       [-M mtu] [-s] [-e echo-port] [-v] [-- EAL arguments]
 *
 * -e runs a TCP echo service on that port (tests; one data core only).
 *
 * SIGTERM or SIGINT stops it cleanly.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dssh_dpdk.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_net.h"

static volatile int stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: dsshd-dataplane -a addr/prefix [-6 addr6/prefix] [-g gateway] "
	    "[-n data-cores] [-M mtu] [-s] [-e echo-port] [-v] [-- EAL arguments]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct dssh_dpdk_conf conf;
	struct sigaction sa;
	char eal[1024] = "--no-pci --vdev=net_tap0,iface=dtap0";
	enum dssh_log_level level = DSSH_LOG_INFO;
	int ch, r;
	bool have_addr = false;

	memset(&conf, 0, sizeof(conf));
	while ((ch = getopt(argc, argv, "a:6:g:n:M:se:v")) != -1) {
		switch (ch) {
		case 'a':
			if (dssh_net_parse_ipv4_prefix(optarg, &conf.ipv4_addr, &conf.prefix_len) != 0)
				usage();
			have_addr = true;
			break;
		case '6':
			if (dssh_net_parse_ipv6_prefix(optarg, conf.ipv6_addr, &conf.ipv6_prefix_len) != 0)
				usage();
			conf.ipv6_enabled = true;
			break;
		case 'g':
			if (dssh_net_parse_ipv4(optarg, &conf.gateway) != 0)
				usage();
			break;
		case 'n':
			conf.n_data_cores = (unsigned)strtoul(optarg, NULL, 10);
			if (conf.n_data_cores == 0)
				usage();
			break;
		case 'M':
			conf.mtu = (uint16_t)strtoul(optarg, NULL, 10);
			break;
		case 's':
			conf.sw_csum = true;
			break;
		case 'e': {
			char *end;
			unsigned long port = strtoul(optarg, &end, 10);

			if (*end != '\0' || port == 0 || port > 65535)
				usage();
			conf.tcp_echo_port = (uint16_t)port;
			break;
		}
		case 'v':
			if (level < DSSH_LOG_DEBUG3)
				level++;
			break;
		default:
			usage();
		}
	}
	if (!have_addr)
		usage();
	if (conf.tcp_echo_port != 0 && conf.n_data_cores > 1) {
		fprintf(stderr, "dsshd-dataplane: -e (TCP echo) needs one data core: RSS may move "
		    "a flow between queues; drop -n %u\n", conf.n_data_cores);
		return 2;
	}
	if (optind < argc) {
		size_t off = 0;

		eal[0] = '\0';
		for (int i = optind; i < argc; i++) {
			int n = snprintf(eal + off, sizeof(eal) - off, "%s%s", i > optind ? " " : "",
			    argv[i]);

			if (n < 0 || (size_t)n >= sizeof(eal) - off) {
				fprintf(stderr, "EAL arguments too long\n");
				return 2;
			}
			off += (size_t)n;
		}
	}
	conf.eal_args = eal;
	dssh_log_init("dsshd-dataplane", level, true);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	r = dssh_dpdk_dataplane_run(&conf, &stop_flag);
	if (r != 0)
		fprintf(stderr, "dsshd-dataplane: %s\n", dssh_err_str(r));
	return r == 0 ? 0 : 1;
}
