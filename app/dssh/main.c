/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh: run a command on an SSH server, ssh(1)'s command line. stdin goes
 * to the command, its stdout and stderr come back to ours, and its exit
 * status is ours (255 for an error of our own or a signal, as ssh).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cliopts.h"
#include "dpdkopt.h"
#include "dssh_build_config.h"
#include "dssh_client.h"
#include "dssh_crypto.h"
#include "dssh_err.h"
#include "dssh_ssh.h"

#define IO_CHUNK (256u * 1024)

struct relay {
	struct dssh_client *cl;
	uint32_t chan;
	bool stdin_eof, closed;
	int status;                   /* exit-status, -1 none */
	char signal[32];
	bool failed;
};

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };

				poll(&pfd, 1, -1);
				continue;
			}
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
on_data(void *arg, uint32_t chan, const uint8_t *p, size_t n, bool ext)
{
	struct relay *rl = arg;

	/* Written before the window reopens: a slow reader slows the server. */
	if (write_all(ext ? 2 : 1, p, n) != 0 && !ext)
		rl->failed = true;
	dssh_client_consumed(rl->cl, chan, n);
}

static void
on_closed(void *arg, uint32_t chan)
{
	struct relay *rl = arg;

	rl->closed = true;
	dssh_chan_close(dssh_client_conn(rl->cl), chan);
}

static void
on_exit_status(void *arg, uint32_t chan, int status, const char *sig)
{
	struct relay *rl = arg;

	(void)chan;
	rl->status = status;
	if (sig != NULL)
		snprintf(rl->signal, sizeof(rl->signal), "%s", sig);
}

static const struct dssh_client_chan_ops relay_ops = {
	.data = on_data,
	.closed = on_closed,
	.exit = on_exit_status,
};

/* stdin into the channel, as far as the window lets it. */
static int
pump_stdin(struct relay *rl, uint8_t *buf)
{
	struct dssh_conn *c = dssh_client_conn(rl->cl);
	size_t space = dssh_chan_send_space(c, rl->chan);
	ssize_t n;

	if (space == 0)
		return 0;
	n = read(0, buf, space < IO_CHUNK ? space : IO_CHUNK);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0) {
		rl->stdin_eof = true;
		return dssh_chan_send_eof(c, rl->chan);
	}
	/* No more than the space: all of it is taken. */
	dssh_client_send(rl->cl, rl->chan, buf, (size_t)n);
	return 0;
}

static int
relay(struct relay *rl)
{
	uint8_t *buf = malloc(IO_CHUNK);
	int r = 0;
	/* -1: a DPDK port, no descriptor: busy-poll (stdin looked at without waiting). */
	bool polled = dssh_client_fd(rl->cl) < 0;

	if (buf == NULL)
		return DSSH_ERR_ALLOC;
	while (!rl->closed && r == 0) {
		struct pollfd pfd[2] = {
			{ .fd = dssh_client_fd(rl->cl), .events = POLLIN },
			{ .fd = 0, .events = POLLIN },
		};
		bool want_in = !rl->stdin_eof &&
		    dssh_chan_send_space(dssh_client_conn(rl->cl), rl->chan) > 0;
		struct pollfd *pp = polled ? &pfd[1] : pfd;
		nfds_t np = polled ? (want_in ? 1 : 0) : (want_in ? 2 : 1);

		if (dssh_client_want_write(rl->cl))
			pfd[0].events |= POLLOUT;
		if (np > 0 && poll(pp, np, polled ? 0 : 1000) < 0 && errno != EINTR) {
			r = DSSH_ERR_SYSTEM;
			break;
		}
		if (want_in && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    pump_stdin(rl, buf) != 0)
			r = DSSH_ERR_SYSTEM;
		if (r == 0)
			r = dssh_client_io(rl->cl, pfd[0].revents);
	}
	free(buf);
	return rl->closed ? 0 : r;
}

static void
usage(void)
{
	fprintf(stderr, "usage: dssh [-qTv] [-c cipher_spec] [-i identity_file] [-l login_name]\n"
	    "            [-o option] [-p port] [user@]host command [argument ...]\n");
	exit(255);
}

/* The command: the remaining words joined by spaces, as ssh does. */
static char *
join(int argc, char **argv)
{
	size_t n = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	if ((s = calloc(1, n)) == NULL)
		return NULL;
	for (int i = 0; i < argc; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

int
main(int argc, char **argv)
{
	struct dssh_client_opts o;
	struct dssh_crypto_engine *engine = NULL;
	struct relay rl = { .status = -1 };
	struct dssh_session_req req = { 0 };
	int ch, verbose = 0, r;
	bool quiet = false;
	char *cmd = NULL;
	struct dssh_dpdkopt dpdk = { 0 };

	dssh_client_opts_init(&o);
	while ((ch = getopt(argc, argv, "1246AaCfGgKkMNnqsTtVvXxYyb:c:D:E:e:F:I:i:J:L:l:m:O:o:p:Q:R:S:W:w:")) != -1) {
		/* dssh's own -o DpdkArgs= and friends, before the ssh options. */
		if (ch == 'o' && dssh_dpdkopt_take(&dpdk, optarg))
			continue;
		switch (dssh_cliopt_common(&o, ch, optarg)) {
		case 1:
			continue;
		case -1:
			exit(255);
		}
		switch (ch) {
		case 'p':
			o.port = atoi(optarg);
			break;
		case 'l':
			o.user = optarg;
			break;
		case 'm':
			o.macs = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'T': case 'n': case 'x': case 'a': case 'C': case '4': case '6':
			break;      /* no tty, no forwardings: what dssh does anyway */
		case 'F':
			if (strcmp(optarg, "/dev/null") != 0 && strcmp(optarg, "none") != 0)
				fprintf(stderr, "dssh: -F %s: configuration files are not read\n",
				    optarg);
			break;
		default:
			fprintf(stderr, "dssh: option -%c is not supported\n", optopt ? optopt : ch);
			usage();
		}
	}
	if (optind >= argc)
		usage();
	dssh_cliopt_userhost(&o, argv[optind++]);
	o.quiet = quiet;
	dssh_cliopt_log("dssh", verbose, quiet);
	signal(SIGPIPE, SIG_IGN);
	if (optind < argc) {
		req.type = DSSH_REQ_EXEC;
		req.command = cmd = join(argc - optind, argv + optind);
	} else {
		req.type = DSSH_REQ_SHELL;
	}
	if (dssh_crypto_engine_create(DSSH_CRYPTO_ENGINE_AUTO, NULL, &engine) != 0) {
		fprintf(stderr, "dssh: no crypto engine\n");
		return 255;
	}
	o.engine = engine;
	if ((r = dssh_dpdkopt_up(&dpdk, "dssh", &o)) != 0)
		goto out;
	if ((r = dssh_client_connect(&o, &rl.cl)) != 0)
		goto out;
	dssh_client_set_chan_ops(rl.cl, &relay_ops, &rl);
	if ((r = dssh_client_session(rl.cl, &req, &rl.chan)) != 0) {
		fprintf(stderr, "dssh: %s refused by the server\n",
		    req.type == DSSH_REQ_EXEC ? "exec" : "shell");
		goto out;
	}
	r = relay(&rl);
	dssh_client_close(rl.cl);
	if (r != 0 && !quiet)
		fprintf(stderr, "dssh: connection to %s closed: %s\n", o.host, dssh_err_str(r));
out:
	dssh_client_free(rl.cl);
	dssh_dpdkopt_down(&dpdk);
	dssh_crypto_engine_free(engine);
	free(cmd);
	if (r != 0 || rl.failed)
		return 255;
	if (rl.signal[0] != '\0') {
		if (!quiet)
			fprintf(stderr, "dssh: remote command killed by signal %s\n", rl.signal);
		return 255;
	}
	return rl.status >= 0 ? rl.status : 255;
}
