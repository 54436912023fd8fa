/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh-load: a load generator for SSH servers. N sessions over M
 * connections (kernel sockets: one thread each; -o DpdkArgs=: all on a
 * DPDK port of our own, driven by one thread) drive one workload (-w): bulk upload or
 * download over exec or SFTP, a handshake storm, keystroke echo through a
 * PTY, or direct-tcpip forwarding; bound by time (-t) or size (-s). A
 * progress line on a terminal, a summary table (or --json) at the end;
 * the exit status is 1 if any session failed.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cliopts.h"
#include "dssh_log.h"
#include "load.h"

#define MAX_SESSIONS 4096u
#define DEFAULT_DURATION 10.0

pthread_mutex_t load_connect_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const wl_names[] = {
	[WL_UPLOAD] = "upload", [WL_DOWNLOAD] = "download", [WL_SFTP_UPLOAD] = "sftp-upload",
	[WL_SFTP_DOWNLOAD] = "sftp-download", [WL_HANDSHAKE] = "handshake", [WL_ECHO] = "echo",
	[WL_FORWARD] = "forward",
};

/* ---- shared helpers ---- */

uint64_t
load_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void
load_lat_add(struct lat *l, uint64_t us)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		uint32_t *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

void
load_fail(struct load_stats *st, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&st->errors, 1) > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(st->error, sizeof(st->error), fmt, ap);
	va_end(ap);
}

bool
load_deadline_passed(const struct load_worker *w)
{
	return w->deadline_us != 0 && load_now_us() >= w->deadline_us;
}

/* ---- options ---- */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: dssh-load [-qv] [-w workload] [-n sessions] [-m connections] [-t seconds]\n"
	    "                 [-s size] [-C command] [-I interval_ms] [-c cipher_spec]\n"
	    "                 [-i identity_file] [-l login_name] [-o option] [-p port]\n"
	    "                 [--json] [--path path] [--target host:port] [--reopen]\n"
	    "                 [user@]host\n"
	    "workloads: upload download sftp-upload sftp-download handshake echo forward\n");
	exit(2);
}

/* 123, 64K, 256M, 2G (binary multiples). */
static int
parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;

	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case '\0':
		break;
	default:
		return -1;
	}
	if (end == s || (*end != '\0' && end[1] != '\0') || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int
parse_wl(const char *s, enum load_wl *wl)
{
	for (size_t i = 0; i < sizeof(wl_names) / sizeof(wl_names[0]); i++) {
		if (strcmp(s, wl_names[i]) == 0) {
			*wl = (enum load_wl)i;
			return 0;
		}
	}
	return -1;
}

static int
parse_target(struct load_cfg *cfg, char *s)
{
	char *colon = strrchr(s, ':');

	if (colon == NULL || colon == s)
		return -1;
	*colon = '\0';
	cfg->target_port = atoi(colon + 1);
	if (s[0] == '[' && colon[-1] == ']') {
		colon[-1] = '\0';
		s++;
	}
	cfg->target_host = s;
	return cfg->target_port > 0 && cfg->target_port < 65536 ? 0 : -1;
}

enum { OPT_JSON = 256, OPT_PATH, OPT_TARGET, OPT_REOPEN, OPT_HELP };

static const struct option longopts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "reopen", no_argument, NULL, OPT_REOPEN },
	{ "interval", required_argument, NULL, 'I' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static void
bad(const char *what, const char *arg)
{
	fprintf(stderr, "dssh-load: bad %s \"%s\"\n", what, arg);
	usage();
}

/* The workload's own options (the ssh-style ones are cliopts.c's). */
static void
one_opt(struct load_cfg *cfg, int ch, char *arg, int *verbose)
{
	switch (ch) {
	case 'w':
		if (parse_wl(arg, &cfg->wl) != 0)
			bad("workload", arg);
		break;
	case 'n':
		if ((cfg->sessions = (unsigned)atoi(arg)) == 0 || cfg->sessions > MAX_SESSIONS)
			bad("session count", arg);
		break;
	case 'm':
		if ((cfg->conns = (unsigned)atoi(arg)) == 0 || cfg->conns > MAX_SESSIONS)
			bad("connection count", arg);
		break;
	case 't':
		if ((cfg->duration = atof(arg)) <= 0 || !isfinite(cfg->duration))
			bad("duration", arg);
		break;
	case 's':
		if (parse_size(arg, &cfg->size) != 0 || cfg->size == 0)
			bad("size", arg);
		break;
	case 'C':
		cfg->command = arg;
		break;
	case 'I':
		cfg->interval_ms = (unsigned)atoi(arg);
		break;
	case 'p':
		cfg->copts.port = atoi(arg);
		break;
	case 'l':
		cfg->copts.user = arg;
		break;
	case 'q':
		cfg->quiet = true;
		break;
	case 'v':
		(*verbose)++;
		break;
	case OPT_JSON:
		cfg->json = true;
		break;
	case OPT_PATH:
		cfg->path = arg;
		break;
	case OPT_TARGET:
		if (parse_target(cfg, arg) != 0)
			bad("target", arg);
		break;
	case OPT_REOPEN:
		cfg->reopen = true;
		break;
	default:
		usage();
	}
}

static void
parse_args(struct load_cfg *cfg, int argc, char **argv)
{
	int ch, verbose = 0;

	memset(cfg, 0, sizeof(*cfg));
	dssh_client_opts_init(&cfg->copts);
	cfg->copts.batch = true;      /* many threads: never a prompt */
	cfg->sessions = 1;
	while ((ch = getopt_long(argc, argv, "C:I:c:i:l:m:n:o:p:qs:t:vw:", longopts, NULL)) != -1) {
		int r;

		/* -o DpdkArgs= and friends, before the ssh options. */
		if (ch == 'o' && dssh_dpdkopt_take(&cfg->dpdk, optarg))
			continue;
		r = dssh_cliopt_common(&cfg->copts, ch, optarg);

		if (r < 0)
			exit(2);
		if (r == 0)
			one_opt(cfg, ch, optarg, &verbose);
	}
	if (optind != argc - 1)
		usage();
	dssh_cliopt_userhost(&cfg->copts, argv[optind]);
	cfg->copts.quiet = cfg->quiet;
	dssh_cliopt_log("dssh-load", verbose, cfg->quiet);
	if (cfg->conns == 0)
		cfg->conns = cfg->sessions;
	if (cfg->wl != WL_HANDSHAKE && cfg->conns > cfg->sessions)
		cfg->conns = cfg->sessions;
	if (cfg->duration == 0 && cfg->size == 0)
		cfg->duration = DEFAULT_DURATION;
	if (cfg->wl == WL_FORWARD && cfg->target_host == NULL) {
		fprintf(stderr, "dssh-load: -w forward needs --target host:port\n");
		usage();
	}
	if (cfg->reopen && (cfg->wl != WL_FORWARD || cfg->duration == 0)) {
		fprintf(stderr, "dssh-load: --reopen is for -w forward with -t\n");
		usage();
	}
	cfg->progress = !cfg->json && isatty(1);
}

/* ---- the run ---- */

struct run {
	struct load_cfg *cfg;
	struct load_worker *w;
	unsigned nw;
	_Atomic unsigned finished;
	uint64_t t0, t1;
	double cpu0, cpu1;            /* our own CPU seconds (all threads) */
};

struct worker_start {
	struct run *run;
	struct load_worker *w;
};

static double
own_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void *
worker_main(void *arg)
{
	struct worker_start *ws = arg;

	if (dssh_dpdkopt_thread(&ws->run->cfg->dpdk) != 0)
		load_fail(&ws->w->st, "DPDK thread registration failed");
	if (ws->run->cfg->wl == WL_HANDSHAKE)
		load_hs_worker(ws->w);
	else
		load_chan_worker(ws->w);
	atomic_fetch_add(&ws->run->finished, 1);
	return NULL;
}

static void
totals(const struct run *rn, uint64_t *bytes, uint64_t *hs, uint64_t *errs)
{
	*bytes = *hs = *errs = 0;
	for (unsigned i = 0; i < rn->nw; i++) {
		*bytes += atomic_load(&rn->w[i].st.bytes);
		*hs += atomic_load(&rn->w[i].st.handshakes);
		*errs += atomic_load(&rn->w[i].st.errors);
	}
}

static uint64_t
channels(const struct run *rn)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < rn->nw; i++)
		n += atomic_load(&rn->w[i].st.channels);
	return n;
}

static void
progress(const struct run *rn)
{
	uint64_t bytes, hs, errs;
	double s = (double)(load_now_us() - rn->t0) / 1e6;

	totals(rn, &bytes, &hs, &errs);
	if (rn->cfg->wl == WL_HANDSHAKE)
		printf("\r\033[K%s %.1f s: %" PRIu64 " handshakes, %.1f/s, %" PRIu64 " errors",
		    wl_names[rn->cfg->wl], s, hs, s > 0 ? (double)hs / s : 0.0, errs);
	else
		printf("\r\033[K%s %.1f s: %.1f MB, %.1f MB/s, %" PRIu64 " errors",
		    wl_names[rn->cfg->wl], s, (double)bytes / 1e6,
		    s > 0 ? (double)bytes / 1e6 / s : 0.0, errs);
	fflush(stdout);
}

static int
run_workers(struct run *rn)
{
	struct load_cfg *cfg = rn->cfg;
	struct worker_start *ws;
	pthread_barrier_t bar;
	unsigned started = 0;

	/*
	 * The DPDK port has one queue, polled by one thread: one worker for
	 * all; handshake's workers (a blocking login each) take turns on it.
	 */
	rn->nw = cfg->dpdk.args != NULL && cfg->wl != WL_HANDSHAKE ? 1 : cfg->conns;
	if (cfg->dpdk.args != NULL && cfg->wl == WL_HANDSHAKE)
		load_hs_share_port(cfg);
	rn->w = calloc(rn->nw, sizeof(*rn->w));
	ws = calloc(rn->nw, sizeof(*ws));
	if (rn->w == NULL || ws == NULL || pthread_barrier_init(&bar, NULL, rn->nw + 1) != 0) {
		free(ws);
		return -1;
	}
	for (unsigned i = 0; i < rn->nw; i++) {
		struct load_worker *w = &rn->w[i];

		w->cfg = cfg;
		w->idx = w->first = i;
		w->nconns = rn->nw == 1 ? cfg->conns : 1;
		w->start = &bar;
		ws[i] = (struct worker_start){ .run = rn, .w = w };
		if (pthread_create(&w->th, NULL, worker_main, &ws[i]) != 0) {
			fprintf(stderr, "dssh-load: cannot start thread %u\n", i);
			exit(1);
		}
		started++;
	}
	pthread_barrier_wait(&bar);
	rn->t0 = load_now_us();
	/* -v: when the clock starts (a benchmark samples the server's CPU from here). */
	dssh_verbose("the run starts: %u connection%s set up", cfg->conns,
	    cfg->conns == 1 ? "" : "s");
	rn->cpu0 = own_cpu_s();
	for (uint64_t next = rn->t0 + 1000000; atomic_load(&rn->finished) < started;) {
		usleep(20000);
		if (cfg->progress && load_now_us() >= next) {
			progress(rn);
			next += 1000000;
		}
	}
	rn->t1 = load_now_us();
	rn->cpu1 = own_cpu_s();
	if (cfg->progress)
		printf("\r\033[K");
	for (unsigned i = 0; i < started; i++)
		pthread_join(rn->w[i].th, NULL);
	pthread_barrier_destroy(&bar);
	free(ws);
	return 0;
}

/* ---- the figures ---- */

struct figures {
	double secs, mb_s, hs_s, ch_s, cpu_s;
	uint64_t bytes, hs, errors, chans;
	unsigned ok, failed;
	struct lat lat;
	const char *error;
};

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank. */
static uint32_t
pct(const struct lat *l, double q)
{
	size_t k = (size_t)ceil(q * (double)l->n);

	return l->v[k == 0 ? 0 : k - 1];
}

static void
gather(const struct run *rn, struct figures *f)
{
	memset(f, 0, sizeof(*f));
	totals(rn, &f->bytes, &f->hs, &f->errors);
	f->secs = (double)(rn->t1 - rn->t0) / 1e6;
	f->cpu_s = rn->cpu1 - rn->cpu0;
	f->mb_s = f->secs > 0 ? (double)f->bytes / 1e6 / f->secs : 0;
	f->hs_s = f->secs > 0 ? (double)f->hs / f->secs : 0;
	f->chans = channels(rn);
	f->ch_s = f->secs > 0 ? (double)f->chans / f->secs : 0;
	for (unsigned i = 0; i < rn->nw; i++) {
		const struct load_stats *st = &rn->w[i].st;

		f->ok += st->sessions_ok;
		f->failed += st->sessions_failed;
		if (f->error == NULL && st->error[0] != '\0')
			f->error = st->error;
		for (size_t k = 0; k < st->lat.n; k++)
			load_lat_add(&f->lat, st->lat.v[k]);
	}
	if (f->lat.n > 0)
		qsort(f->lat.v, f->lat.n, sizeof(uint32_t), cmp_u32);
}

static void
json_str(const char *s)
{
	if (s == NULL) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
print_json(const struct load_cfg *cfg, const struct figures *f)
{
	printf("{\"workload\": \"%s\", \"host\": ", wl_names[cfg->wl]);
	json_str(cfg->copts.host);
	printf(", \"port\": %d, \"kex\": ", cfg->copts.port);
	json_str(cfg->copts.kex);
	printf(", \"ciphers\": ");
	json_str(cfg->copts.ciphers);
	printf(", \"sessions\": %u, \"connections\": %u, \"duration_limit_s\": %.3f, "
	    "\"size_limit\": %" PRIu64 ", \"seconds\": %.6f, \"bytes\": %" PRIu64 ", "
	    "\"mb_s\": %.3f, \"handshakes\": %" PRIu64 ", \"handshakes_per_s\": %.3f, "
	    "\"channels\": %" PRIu64 ", \"channels_per_s\": %.3f, \"client_cpu_s\": %.6f, "
	    "\"dataplane\": \"%s\", ",
	    cfg->sessions, cfg->conns, cfg->duration, cfg->size, f->secs, f->bytes, f->mb_s,
	    f->hs, f->hs_s, f->chans, f->ch_s, f->cpu_s,
	    cfg->dpdk.args != NULL ? "dpdk" : "kernel");
	if (cfg->wl == WL_HANDSHAKE)
		printf("\"max_in_flight\": %u, ", load_hs_max_in_flight());
	if (f->lat.n > 0)
		printf("\"latency_us\": {\"count\": %zu, \"min\": %" PRIu32 ", \"p50\": %" PRIu32
		    ", \"p99\": %" PRIu32 ", \"p999\": %" PRIu32 ", \"max\": %" PRIu32 "}, ",
		    f->lat.n, f->lat.v[0], pct(&f->lat, 0.5), pct(&f->lat, 0.99),
		    pct(&f->lat, 0.999), f->lat.v[f->lat.n - 1]);
	else
		printf("\"latency_us\": null, ");
	printf("\"sessions_ok\": %u, \"sessions_failed\": %u, \"errors\": %" PRIu64
	    ", \"error\": ", f->ok, f->failed, f->errors);
	json_str(f->error);
	printf("}\n");
}

static void
print_table(const struct load_cfg *cfg, const struct figures *f)
{
	if (cfg->wl == WL_HANDSHAKE)
		printf("dssh-load handshake: %s port %d, %u login%s in flight, %.2f s\n",
		    cfg->copts.host, cfg->copts.port, cfg->conns, cfg->conns == 1 ? "" : "s",
		    f->secs);
	else
		printf("dssh-load %s: %s port %d, %u session%s over %u connection%s, %.2f s\n",
		    wl_names[cfg->wl], cfg->copts.host, cfg->copts.port, cfg->sessions,
		    cfg->sessions == 1 ? "" : "s", cfg->conns, cfg->conns == 1 ? "" : "s",
		    f->secs);
	printf("| %-18s | %18s |\n|%s|%s:|\n", "figure", "value",
	    "--------------------", "-------------------");
	if (cfg->wl == WL_HANDSHAKE) {
		printf("| %-18s | %18" PRIu64 " |\n", "handshakes", f->hs);
		printf("| %-18s | %18.1f |\n", "handshakes/s", f->hs_s);
	} else {
		printf("| %-18s | %18" PRIu64 " |\n", cfg->wl == WL_ECHO ? "keystrokes" : "bytes",
		    f->bytes);
		printf("| %-18s | %18.2f |\n", "throughput MB/s", f->mb_s);
	}
	if (cfg->wl == WL_FORWARD) {
		printf("| %-18s | %18" PRIu64 " |\n", "channels opened", f->chans);
		printf("| %-18s | %18.1f |\n", "channels/s", f->ch_s);
	}
	if (f->lat.n > 0) {
		printf("| %-18s | %18" PRIu32 " |\n", "latency p50 us", pct(&f->lat, 0.5));
		printf("| %-18s | %18" PRIu32 " |\n", "latency p99 us", pct(&f->lat, 0.99));
		printf("| %-18s | %18" PRIu32 " |\n", "latency p99.9 us", pct(&f->lat, 0.999));
	}
	printf("| %-18s | %18.2f |\n", "client CPU s", f->cpu_s);
	printf("| %-18s | %18u |\n", "sessions ok", f->ok);
	printf("| %-18s | %18u |\n", "sessions failed", f->failed);
	printf("| %-18s | %18" PRIu64 " |\n", "errors", f->errors);
	if (f->error != NULL)
		printf("first error: %s\n", f->error);
}

int
main(int argc, char **argv)
{
	struct load_cfg cfg;
	struct run rn = { .cfg = &cfg };
	struct figures f;

	parse_args(&cfg, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (dssh_dpdkopt_up(&cfg.dpdk, "dssh-load", &cfg.copts) != 0)
		return 1;
	if (run_workers(&rn) != 0) {
		fprintf(stderr, "dssh-load: out of memory\n");
		return 1;
	}
	gather(&rn, &f);
	if (cfg.json)
		print_json(&cfg, &f);
	else
		print_table(&cfg, &f);
	for (unsigned i = 0; i < rn.nw; i++)
		free(rn.w[i].st.lat.v);
	free(rn.w);
	free(f.lat.v);
	dssh_dpdkopt_down(&cfg.dpdk);
	return f.errors > 0 || f.failed > 0 ? 1 : 0;
}
