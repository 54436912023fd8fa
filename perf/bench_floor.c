/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dssh-bench-floor: the least CPU, in cycles per byte, that each step costs a
 * server per byte of an SSH bulk upload into a local session (issue 13's
 * target: the whole server at most 0.7 c/B with aes128-gcm), measured on this
 * machine, each step alone, best of several runs:
 *
 *   open      AES-128-GCM open of 32 KiB records (SSH's layout: 4-byte length
 *             as AAD, 12-byte IV), IPsec-MB's job API in bursts of 32, and
 *             OpenSSL's EVP one record at a time;
 *   pipe      1 GiB written into a pipe (1 MiB, as dsshd sets its session
 *             pipes) in 32 KiB writes by one process and read by another in
 *             128 KiB reads: both processes' CPU (user + system);
 *   frame     copying 1500-byte frames from one ring of buffers to another
 *             (what net_memif's PMD does per frame; a real NIC DMAs it: 0 CPU);
 *   checksum  lib/tcp's dssh_tcp_checksum over 1460-byte segments (memif
 *             offers no checksum offload; a real NIC verifies it in hardware);
 *   stage     the 32 KiB copy from the TCP receive queue into the record stage
 *             that dsshd makes today (not part of the floor: a zero-copy open
 *             from the queue would avoid it).
 *
 * Cycles are CPU seconds (CLOCK_THREAD_CPUTIME_ID, or getrusage for the pipe's
 * two processes) times the 'cpu MHz' of /proc/cpuinfo, the rate
 * perf/bench_memif.py and perf/bench_bulk.py convert with (on this VM the TSC
 * rate), so the figures add up with theirs. Per byte of the step's payload.
 *
 * Usage: dssh-bench-floor [--quick] [--target C/B]
 */
#define _GNU_SOURCE 1   /* vmsplice */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <openssl/evp.h>

#include "dssh_tcp.h"
#include "dssh_buf.h"
#include "dssh_util.h"

#ifdef DSSH_BENCH_RAW_IMB
#include <intel-ipsec-mb.h>
#endif

#define REC             (32u * 1024)    /* SSH record payload (OpenSSH's max packet) */
#define BURST           32u
#define SEG             1460u           /* TCP payload of a 1500-byte frame */
#define FRAME           1500u
#define PIPE_SIZE       (1u << 20)

static double mhz;
static int reps = 5;
static uint64_t pipe_bytes = 1ull << 30;

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
read_mhz(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	double v = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "cpu MHz", 7) == 0 && sscanf(strchr(line, ':') + 1, "%lf", &v) == 1)
			break;
	fclose(f);
	return v;
}

static double
cpb(double cpu_s, uint64_t bytes)
{
	return cpu_s * mhz * 1e6 / (double)bytes;
}

static uint8_t *
xalloc(size_t n)
{
	uint8_t *p = aligned_alloc(64, (n + 63) & ~(size_t)63);

	if (p == NULL) {
		perror("aligned_alloc");
		exit(1);
	}
	memset(p, 0x5a, n);
	return p;
}

/* ---- AES-128-GCM open ---- */

static uint8_t *recs[BURST];    /* 4-byte length, ciphertext, 16-byte tag */
static uint8_t *plain[BURST];
static uint8_t key[16], iv[BURST][12], tags[BURST][16];

/* Valid records (sealed once with OpenSSL), so every open checks a real tag. */
static void
gcm_setup(void)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int l;

	dssh_random(key, sizeof(key));
	dssh_random(iv, sizeof(iv));
	for (unsigned i = 0; i < BURST; i++) {
		recs[i] = xalloc(4 + REC + 16);
		plain[i] = xalloc(REC);
		dssh_put_u32be(recs[i], REC);
		dssh_random(plain[i], REC);
		if (EVP_EncryptInit_ex(x, EVP_aes_128_gcm(), NULL, key, iv[i]) != 1 ||
		    EVP_EncryptUpdate(x, NULL, &l, recs[i], 4) != 1 ||
		    EVP_EncryptUpdate(x, recs[i] + 4, &l, plain[i], REC) != 1 ||
		    EVP_EncryptFinal_ex(x, recs[i] + 4 + REC, &l) != 1 ||
		    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, recs[i] + 4 + REC) != 1) {
			fprintf(stderr, "seal failed\n");
			exit(1);
		}
	}
	EVP_CIPHER_CTX_free(x);
}

static double
open_openssl(void)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	unsigned bursts = 64, bad = 0;
	double best = 1e9;
	int l;

	EVP_DecryptInit_ex(x, EVP_aes_128_gcm(), NULL, key, NULL);
	for (int r = 0; r < reps; r++) {
		double t0 = cpu_now();

		for (unsigned b = 0; b < bursts; b++)
			for (unsigned i = 0; i < BURST; i++) {
				uint8_t *p = recs[i];

				if (EVP_DecryptInit_ex(x, NULL, NULL, NULL, iv[i]) != 1 ||
				    EVP_DecryptUpdate(x, NULL, &l, p, 4) != 1 ||
				    EVP_DecryptUpdate(x, plain[i], &l, p + 4, REC) != 1 ||
				    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, p + 4 + REC) != 1 ||
				    EVP_DecryptFinal_ex(x, plain[i] + REC, &l) != 1)
					bad++;
			}
		double c = cpb(cpu_now() - t0, (uint64_t)bursts * BURST * REC);

		best = c < best ? c : best;
	}
	EVP_CIPHER_CTX_free(x);
	if (bad != 0)
		fprintf(stderr, "openssl: %u opens failed their tag\n", bad);
	return best;
}

#ifdef DSSH_BENCH_RAW_IMB
static double
open_ipsecmb(void)
{
	IMB_MGR *m = alloc_mb_mgr(0);
	struct gcm_key_data *k = aligned_alloc(64, (sizeof(*k) + 63) & ~(size_t)63);
	unsigned bursts = 64, bad = 0;
	double best = 1e9;
	IMB_JOB *j;

	if (m == NULL || k == NULL)
		return -1;
	init_mb_mgr_auto(m, NULL);
	IMB_AES128_GCM_PRE(m, key, k);
	for (int r = 0; r < reps; r++) {
		double t0 = cpu_now();

		for (unsigned b = 0; b < bursts; b++) {
			for (unsigned i = 0; i < BURST; i++) {
				j = IMB_GET_NEXT_JOB(m);
				j->cipher_mode = IMB_CIPHER_GCM;
				j->cipher_direction = IMB_DIR_DECRYPT;
				j->chain_order = IMB_ORDER_HASH_CIPHER;
				j->hash_alg = IMB_AUTH_AES_GMAC;
				j->enc_keys = k;
				j->dec_keys = k;
				j->key_len_in_bytes = 16;
				j->src = recs[i];
				j->dst = plain[i];
				j->cipher_start_src_offset_in_bytes = 4;
				j->msg_len_to_cipher_in_bytes = REC;
				j->hash_start_src_offset_in_bytes = 4;
				j->msg_len_to_hash_in_bytes = REC;
				j->iv = iv[i];
				j->iv_len_in_bytes = 12;
				j->u.GCM.aad = recs[i];
				j->u.GCM.aad_len_in_bytes = 4;
				j->auth_tag_output = tags[i];
				j->auth_tag_output_len_in_bytes = 16;
				j = IMB_SUBMIT_JOB(m);
				while (j != NULL)
					j = IMB_GET_COMPLETED_JOB(m);
			}
			while (IMB_FLUSH_JOB(m) != NULL)
				;
			/* the tag check a server makes */
			for (unsigned i = 0; i < BURST; i++)
				bad += dssh_ct_memcmp(tags[i], recs[i] + 4 + REC, 16) != 0;
		}
		double c = cpb(cpu_now() - t0, (uint64_t)bursts * BURST * REC);

		best = c < best ? c : best;
	}
	free(k);
	free_mb_mgr(m);
	if (bad != 0)
		fprintf(stderr, "ipsecmb: %u opens failed their tag\n", bad);
	return best;
}
#endif

/* ---- pipe: write in one process, read in another ---- */

static double
rusage_s(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

#define VRING (4u << 20)  /* vmsplice's source ring: 4x the pipe */

/*
 * One 1 GiB pass. With splice, the writer hands the kernel references to its
 * pages (vmsplice, no copy into the pipe's own pages) from a ring 4x the
 * pipe's size: only a measure of what a zero-copy write would cost (a server
 * would have to know when the reader is done with a page before reusing it).
 */
static double
pipe_once(bool splice, double *wall_mbs, double *wr, double *rd)
{
	static uint8_t wbuf[REC];
	uint8_t *ring = splice ? xalloc(VRING) : NULL;
	struct timespec w0, w1;
	double self0, kids0, self1, kids1;
	int fd[2], st;
	pid_t pid;

	if (pipe(fd) != 0) {
		perror("pipe");
		exit(1);
	}
	(void)fcntl(fd[1], F_SETPIPE_SZ, PIPE_SIZE);
	self0 = rusage_s(RUSAGE_SELF);
	kids0 = rusage_s(RUSAGE_CHILDREN);
	clock_gettime(CLOCK_MONOTONIC, &w0);
	if ((pid = fork()) < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		uint8_t *rbuf = malloc(128 * 1024);
		ssize_t n;

		close(fd[1]);
		while ((n = read(fd[0], rbuf, 128 * 1024)) > 0 || (n < 0 && errno == EINTR))
			;
		_exit(0);
	}
	close(fd[0]);
	memset(wbuf, 0x5a, sizeof(wbuf));
	for (uint64_t done = 0; done < pipe_bytes;) {
		struct iovec iov = { ring + done % VRING, REC };
		ssize_t n = splice ? vmsplice(fd[1], &iov, 1, 0) : write(fd[1], wbuf, sizeof(wbuf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("write");
			exit(1);
		}
		done += (uint64_t)n;
	}
	close(fd[1]);
	waitpid(pid, &st, 0);
	clock_gettime(CLOCK_MONOTONIC, &w1);
	self1 = rusage_s(RUSAGE_SELF);
	kids1 = rusage_s(RUSAGE_CHILDREN);
	free(ring);
	*wr = cpb(self1 - self0, pipe_bytes);
	*rd = cpb(kids1 - kids0, pipe_bytes);
	*wall_mbs = (double)pipe_bytes / 1e6 /
	    ((double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9);
	return cpb((self1 - self0) + (kids1 - kids0), pipe_bytes);
}

struct pipe_res {
	double cpb, wr, rd, mbs;
};

static struct pipe_res
pipe_floor(bool splice)
{
	struct pipe_res best = { .cpb = 1e9 };
	int n = reps < 3 ? reps : 3;

	for (int r = 0; r < n; r++) {
		struct pipe_res x;

		x.cpb = pipe_once(splice, &x.mbs, &x.wr, &x.rd);
		if (x.cpb < best.cpb)
			best = x;
	}
	return best;
}

/* ---- per-frame work ---- */

#define NBUF 2048u      /* 2048 x 2 KiB each side: a ring's worth, beyond L1/L2 */

/*
 * The best cost of a round of n copies of len bytes, slot (i + k) % n of src
 * into slot i of dst in round k (dst_stride 0: one buffer, as a stage is).
 */
static double
copy_cost(uint8_t *dst, size_t dst_stride, const uint8_t *src, size_t src_stride, unsigned n,
    size_t len, unsigned rounds)
{
	double best = 1e9;

	for (int r = 0; r < reps; r++) {
		double t0 = cpu_now();

		for (unsigned k = 0; k < rounds; k++)
			for (unsigned i = 0; i < n; i++)
				memcpy(dst + i * dst_stride, src + ((i + k) % n) * src_stride, len);
		double c = cpb(cpu_now() - t0, (uint64_t)rounds * n * len);

		best = c < best ? c : best;
	}
	return best;
}

static double
frame_copy(void)
{
	uint8_t *src = xalloc((size_t)NBUF * 2048), *dst = xalloc((size_t)NBUF * 2048);
	double c = copy_cost(dst, 2048, src, 2048, NBUF, FRAME, 64);

	free(src);
	free(dst);
	return c;
}

/* Over segments just copied in (warm, as after the PMD's copy), at a varying
 * alignment of the payload as frames give it (14-byte Ethernet + 20 IP + 20 or
 * 32 TCP). */
static double
checksum(uint16_t *sink)
{
	enum { N = 64 };
	uint8_t *pool = xalloc((size_t)N * 2048);
	unsigned rounds = 4096;
	double best = 1e9;
	uint16_t acc = 0;

	dssh_random(pool, (size_t)N * 2048);
	for (int r = 0; r < reps; r++) {
		double t0 = cpu_now();

		for (unsigned k = 0; k < rounds; k++)
			for (unsigned i = 0; i < N; i++) {
				const uint8_t *hdr = pool + (size_t)i * 2048 + 34;
				const uint8_t *pay = hdr + 32;
				uint32_t plen = SEG;

				acc += dssh_tcp_checksum(0xc6122901u, 0xc6122902u, hdr, 32, &pay, &plen, 1);
			}
		double c = cpb(cpu_now() - t0, (uint64_t)rounds * N * SEG);

		best = c < best ? c : best;
	}
	*sink = acc;
	free(pool);
	return best;
}

static double
stage_copy(void)
{
	enum { N = 64 };        /* 2 MiB: a window's worth of queued records */
	uint8_t *q = xalloc((size_t)N * REC), *stage = xalloc(REC + 64);
	double c = copy_cost(stage, 0, q, REC, N, REC, 64);

	free(q);
	free(stage);
	return c;
}

int
main(int argc, char **argv)
{
	double target = 0.7, imb = -1, ossl, pipec, frame, csum, stage, sum, open;
	struct pipe_res pw, ps;
	uint16_t sink;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			reps = 2;
			pipe_bytes = 256ull << 20;
		} else if (strcmp(argv[i], "--target") == 0 && i + 1 < argc) {
			target = atof(argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [--quick] [--target C/B]\n", argv[0]);
			return 2;
		}
	}
	if ((mhz = read_mhz()) <= 0) {
		fprintf(stderr, "no 'cpu MHz' in /proc/cpuinfo\n");
		return 1;
	}
	gcm_setup();
#ifdef DSSH_BENCH_RAW_IMB
	imb = open_ipsecmb();
#endif
	ossl = open_openssl();
	pw = pipe_floor(false);
	ps = pipe_floor(true);
	pipec = pw.cpb;
	frame = frame_copy();
	csum = checksum(&sink);
	stage = stage_copy();
	open = imb >= 0 ? imb : ossl;
	sum = open + pipec + frame + csum;

	printf("# dssh-bench-floor: least CPU per byte of an SSH bulk upload into a local session,\n"
	    "# each step alone, best of %d; cycles = CPU seconds x %.0f MHz ('cpu MHz', as\n"
	    "# bench_memif.py); checksum sink %04x\n\n", reps, mhz, sink);
	printf("| step | c/B | note |\n|---|---:|---|\n");
	if (imb >= 0)
		printf("| AES-128-GCM open, 32 KiB records, IPsec-MB job API (burst %u) | %.3f | data core |\n",
		    BURST, imb);
	printf("| AES-128-GCM open, 32 KiB records, OpenSSL EVP per record | %.3f | data core (not in the sum) |\n",
	    ossl);
	printf("| pipe: 32 KiB write()s in one process, 128 KiB read()s in another (%llu MiB, 1 MiB pipe) | %.3f | "
	    "writer (data core) %.3f + reader (session child) %.3f; %.0f MB/s |\n",
	    (unsigned long long)(pipe_bytes >> 20), pw.cpb, pw.wr, pw.rd, pw.mbs);
	printf("| 1500-byte frame copy, ring to ring (net_memif's PMD) | %.3f | 0 on a real NIC (DMA) |\n", frame);
	printf("| TCP checksum, 1460-byte segments (dssh_tcp_checksum) | %.3f | 0 on a NIC with RX checksum offload |\n",
	    csum);
	printf("| **floor over memif: open (%s) + pipe + frame copy + checksum** | **%.3f** | target %.2f: %s |\n",
	    imb >= 0 ? "IPsec-MB" : "OpenSSL", sum, target, sum <= target ? "within" : "ABOVE");
	printf("| floor on a NIC with DMA and checksum offload: open + pipe | %.3f | target %.2f: %s |\n",
	    open + pipec, target, open + pipec <= target ? "within" : "ABOVE");
	printf("| (what if) pipe with vmsplice() instead of write() | %.3f | writer %.3f + reader %.3f; %.0f MB/s |\n",
	    ps.cpb, ps.wr, ps.rd, ps.mbs);
	printf("| (what if) floor over memif with a vmsplice writer | %.3f | target %.2f: %s |\n",
	    open + ps.cpb + frame + csum, target, open + ps.cpb + frame + csum <= target ? "within" : "ABOVE");
	printf("| (dsshd today also) 32 KiB copy, TCP receive queue to record stage | %.3f | avoidable |\n", stage);
	return 0;
}
