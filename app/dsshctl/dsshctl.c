/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dsshctl: dsshd's counters and connections through its control socket
 * (ControlSocket, root only). One request per connection; the reply is
 * lines of flat JSON objects ending with {"end":true} (lib/util/dssh_ctl.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dssh_config.h"
#include "dssh_ctl.h"
#include "dssh_err.h"

#define MAX_ROWS 100000

struct reply {
	struct dssh_ctl_obj **rows;     /* every row but the end line (each points into itself) */
	size_t n;
	char **raw;                     /* the rows as received, for --json */
	char error[256];
};

static const char *sock_path = DSSH_CONFIG_DEFAULT_CONTROL_SOCKET;
static int json;

static void
usage(void)
{
	fprintf(stderr, "usage: dsshctl [-s socket] [--json] stats\n"
	    "       dsshctl [-s socket] [--json] sessions\n"
	    "       dsshctl [-s socket] kill id\n"
	    "       dsshctl [-s socket] [--json] watch [--count n] [--interval seconds]\n");
	exit(2);
}

static void
reply_free(struct reply *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->raw[i]);
		free(r->rows[i]);
	}
	free(r->raw);
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

static int
add_row(struct reply *r, const char *line, size_t len)
{
	struct dssh_ctl_obj **rows, *o;
	char **raw;

	if (r->n >= MAX_ROWS)
		return DSSH_ERR_NO_BUFFER_SPACE;
	if ((rows = realloc(r->rows, (r->n + 1) * sizeof(*rows))) == NULL)
		return DSSH_ERR_ALLOC;
	r->rows = rows;
	if ((raw = realloc(r->raw, (r->n + 1) * sizeof(*raw))) == NULL)
		return DSSH_ERR_ALLOC;
	r->raw = raw;
	if ((o = malloc(sizeof(*o))) == NULL)
		return DSSH_ERR_ALLOC;
	if (dssh_ctl_parse(line, len, o) != 0) {
		free(o);
		return DSSH_ERR_INVALID_FORMAT;
	}
	if ((r->raw[r->n] = strndup(line, len)) == NULL) {
		free(o);
		return DSSH_ERR_ALLOC;
	}
	r->rows[r->n++] = o;
	return 0;
}

/* Sends one request; 0 with the rows, or non-zero (message printed). */
static int
request(const char *req, struct reply *r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static char buf[DSSH_CTL_LINE_MAX + 2];
	size_t have = 0;
	int fd;

	memset(r, 0, sizeof(*r));
	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "dsshctl: %s: path too long\n", sock_path);
		return 1;
	}
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "dsshctl: %s: %s\n", sock_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	/* A refusal may come (and the socket close) before the request is
	 * taken: the reply is read either way. */
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req) && errno != EPIPE &&
	    errno != ECONNRESET) {
		fprintf(stderr, "dsshctl: %s: %s\n", sock_path, strerror(errno));
		close(fd);
		return 1;
	}
	for (;;) {
		char *nl;
		ssize_t n;

		while ((nl = memchr(buf, '\n', have)) != NULL) {
			size_t len = (size_t)(nl - buf);
			struct dssh_ctl_obj *end = malloc(sizeof(*end));

			if (end == NULL || dssh_ctl_parse(buf, len, end) != 0) {
				free(end);
				fprintf(stderr, "dsshctl: malformed reply\n");
				goto fail;
			}
			if (dssh_ctl_get(end, "end") != NULL) {
				const char *e = dssh_ctl_get(end, "error");

				if (e != NULL)
					snprintf(r->error, sizeof(r->error), "%s", e);
				free(end);
				close(fd);
				if (r->error[0] != '\0') {
					fprintf(stderr, "dsshctl: %s\n", r->error);
					return 1;
				}
				return 0;
			}
			free(end);
			if (add_row(r, buf, len) != 0) {
				fprintf(stderr, "dsshctl: malformed or oversized reply\n");
				goto fail;
			}
			memmove(buf, nl + 1, have - len - 1);
			have -= len + 1;
		}
		if (have >= sizeof(buf) - 1) {
			fprintf(stderr, "dsshctl: reply line too long\n");
			goto fail;
		}
		n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "dsshctl: %s: connection closed before the reply ended\n",
			    sock_path);
			goto fail;
		}
		have += (size_t)n;
	}
fail:
	close(fd);
	reply_free(r);
	return 1;
}

static uint64_t
num(const struct dssh_ctl_obj *o, const char *key)
{
	uint64_t v = 0;

	(void)dssh_ctl_get_u64(o, key, &v);
	return v;
}

static const char *
str(const struct dssh_ctl_obj *o, const char *key)
{
	const char *s = dssh_ctl_get(o, key);

	return s != NULL ? s : "";
}

static bool
is_type(const struct dssh_ctl_obj *o, const char *t)
{
	return strcmp(str(o, "type"), t) == 0;
}

static void
print_json(const struct reply *r)
{
	printf("[");
	for (size_t i = 0; i < r->n; i++)
		printf("%s\n%s", i ? "," : "", r->raw[i]);
	printf("\n]\n");
}

static void
print_stats(const struct reply *r)
{
	static const char *const loop_cols[] = {
		"connections", "active", "authenticated", "bytes_in", "bytes_out", "packets_in",
		"packets_out", "rekeys", "auth_failures", "kills",
	};
	static const char *const core_cols[] = {
		"rx_frames", "tx_frames", "rx_bytes", "tx_bytes", "drops", "tcp_retransmits",
		"ssh_rx_packets", "ssh_tx_packets", "ssh_bursts", "ssh_burst_ops", "ssh_errors",
	};
	bool cores = false;

	printf("%-6s", "LOOP");
	for (size_t k = 0; k < sizeof(loop_cols) / sizeof(loop_cols[0]); k++)
		printf(" %14s", loop_cols[k]);
	printf("\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct dssh_ctl_obj *o = r->rows[i];
		char name[24];

		if (!is_type(o, "loop") && !is_type(o, "total"))
			continue;
		snprintf(name, sizeof(name), "%s", is_type(o, "total") ? "total" : str(o, "loop"));
		printf("%-6s", name);
		for (size_t k = 0; k < sizeof(loop_cols) / sizeof(loop_cols[0]); k++)
			printf(" %14" PRIu64, num(o, loop_cols[k]));
		printf("\n");
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct dssh_ctl_obj *o = r->rows[i];

		if (!is_type(o, "core") && !is_type(o, "dataplane"))
			continue;
		if (!cores) {
			printf("\n%-6s", "CORE");
			for (size_t k = 0; k < sizeof(core_cols) / sizeof(core_cols[0]); k++)
				printf(" %14s", core_cols[k]);
			printf("\n");
			cores = true;
		}
		printf("%-6s", is_type(o, "dataplane") ? "total" : str(o, "core"));
		for (size_t k = 0; k < sizeof(core_cols) / sizeof(core_cols[0]); k++)
			printf(" %14" PRIu64, num(o, core_cols[k]));
		printf("\n");
		if (is_type(o, "dataplane"))
			printf("mbufs in use: %" PRIu64 " (tx buffers %" PRIu64 ")\n",
			    num(o, "mbuf_in_use"), num(o, "txbuf_in_use"));
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct dssh_ctl_obj *o = r->rows[i];

		if (!is_type(o, "limits"))
			continue;
		printf("\nlimits:");
		for (unsigned k = 0; k < o->n; k++)
			if (strcmp(o->kv[k].key, "type") != 0)
				printf(" %s=%s", o->kv[k].key, o->kv[k].val);
		printf("\n");
	}
}

static void
print_sessions(const struct reply *r)
{
	printf("%-8s %-16s %-28s %4s %14s %14s %-30s %4s %-8s %8s\n", "ID", "USER", "FROM",
	    "CHAN", "BYTES_IN", "BYTES_OUT", "CIPHER", "LOOP", "VIA", "AGE");
	for (size_t i = 0; i < r->n; i++) {
		const struct dssh_ctl_obj *o = r->rows[i];
		char from[96];
		const char *addr = str(o, "addr");

		char via[32];

		snprintf(from, sizeof(from), strchr(addr, ':') ? "[%s]:%" PRIu64 : "%s:%" PRIu64,
		    addr, num(o, "port"));
		if (dssh_ctl_get(o, "core") != NULL)
			snprintf(via, sizeof(via), "%s/%s", str(o, "transport"), str(o, "core"));
		else
			snprintf(via, sizeof(via), "%s", str(o, "transport"));
		printf("%-8" PRIu64 " %-16s %-28s %4" PRIu64 " %14" PRIu64 " %14" PRIu64
		    " %-30s %4" PRIu64 " %-8s %7" PRIu64 "s\n", num(o, "id"),
		    strcmp(str(o, "authenticated"), "1") == 0 ? str(o, "user") : "(preauth)", from,
		    num(o, "channels"), num(o, "bytes_in"), num(o, "bytes_out"),
		    str(o, "cipher")[0] ? str(o, "cipher") : "-", num(o, "loop"),
		    via, num(o, "age"));
	}
}

static int
cmd_show(const char *cmd)
{
	char req[64];
	struct reply r;

	snprintf(req, sizeof(req), "{\"cmd\":\"%s\"}\n", cmd);
	if (request(req, &r) != 0)
		return 1;
	if (json)
		print_json(&r);
	else if (strcmp(cmd, "stats") == 0)
		print_stats(&r);
	else
		print_sessions(&r);
	reply_free(&r);
	return 0;
}

static int
cmd_kill(const char *id)
{
	char req[96], *end;
	struct reply r;
	unsigned long long v;

	errno = 0;
	v = strtoull(id, &end, 10);
	if (*id == '\0' || *end != '\0' || errno != 0 || *id == '-') {
		fprintf(stderr, "dsshctl: bad session id \"%s\"\n", id);
		return 2;
	}
	snprintf(req, sizeof(req), "{\"cmd\":\"kill\",\"id\":%llu}\n", v);
	if (request(req, &r) != 0)
		return 1;
	reply_free(&r);
	if (json)
		printf("{\"killed\":%llu}\n", v);
	return 0;
}

/* stats again and again; the screen is cleared only on a terminal. */
static int
cmd_watch(long count, long interval)
{
	bool tty = isatty(STDOUT_FILENO);

	for (long i = 0; count <= 0 || i < count; i++) {
		time_t now = time(NULL);
		char when[64];

		if (i > 0)
			sleep((unsigned)interval);
		if (tty && !json)
			printf("\033[H\033[2J");
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&now));
		if (!json)
			printf("dsshctl watch: %s (every %lds)\n\n", when, interval);
		if (cmd_show("stats") != 0)
			return 1;
		if (!json)
			printf("\n");
		fflush(stdout);
	}
	return 0;
}

static long
number_arg(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 1000000) {
		fprintf(stderr, "dsshctl: bad %s \"%s\"\n", what, s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	const char *cmd = NULL, *arg = NULL;
	long count = 0, interval = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
			json = 1;
		else if ((strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--socket") == 0) &&
		    i + 1 < argc)
			sock_path = argv[++i];
		else if ((strcmp(argv[i], "--count") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc)
			count = number_arg(argv[++i], "count");
		else if ((strcmp(argv[i], "--interval") == 0 || strcmp(argv[i], "-i") == 0) &&
		    i + 1 < argc)
			interval = number_arg(argv[++i], "interval");
		else if (argv[i][0] == '-')
			usage();
		else if (cmd == NULL)
			cmd = argv[i];
		else if (arg == NULL)
			arg = argv[i];
		else
			usage();
	}
	if (cmd == NULL)
		usage();
	if ((strcmp(cmd, "stats") == 0 || strcmp(cmd, "sessions") == 0) && arg == NULL)
		return cmd_show(cmd);
	if (strcmp(cmd, "kill") == 0 && arg != NULL)
		return cmd_kill(arg);
	if (strcmp(cmd, "watch") == 0 && arg == NULL)
		return cmd_watch(count, interval);
	usage();
	return 2;
}
