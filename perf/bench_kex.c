/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CPU of the server's side of each key exchange method, without the
 * network: dssh_kex_server_reply (check the client value, ephemeral key /
 * encapsulation, agreement, K) for a fixed client value, and the client's
 * side (keypair + finish) for reference.
 *
 *   ninja -C build-rel perf/dssh-bench-kex && build-rel/perf/dssh-bench-kex [seconds]
 *
 * Prints microseconds per operation and each method's server cost
 * relative to curve25519-sha256.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dssh_buf.h"
#include "dssh_kex.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The raw value inside an encoded public value. */
static void
raw_of(const struct dssh_kex_alg *alg, const struct dssh_buf *enc, const uint8_t **p, size_t *n)
{
	struct dssh_buf b;

	dssh_buf_from(&b, dssh_buf_ptr(enc), dssh_buf_len(enc));
	if ((alg->pub_mpint ? dssh_buf_get_mpint_direct(&b, p, n) :
	    dssh_buf_get_string_direct(&b, p, n)) != 0)
		abort();
}

static double
bench(const char *name, double secs, double *client_us)
{
	const struct dssh_kex_alg *alg = dssh_kex_alg_by_name(name);
	struct dssh_kex_client *c = NULL;
	struct dssh_buf cpub, spub, k, kc;
	const uint8_t *raw, *sraw;
	size_t rawlen, srawlen;
	double t0, t;
	long n = 0, m = 0;

	dssh_buf_init(&cpub, 0);
	dssh_buf_init(&spub, 0);
	dssh_buf_init(&k, 0);
	dssh_buf_init(&kc, 0);
	if (alg == NULL || dssh_kex_client_new(alg, &c) != 0 || dssh_kex_client_pub(c, &cpub) != 0)
		abort();
	raw_of(alg, &cpub, &raw, &rawlen);
	t0 = now();
	do {
		dssh_buf_reset(&spub);
		dssh_buf_reset(&k);
		if (dssh_kex_server_reply(alg, raw, rawlen, &spub, &k) != 0)
			abort();
		n++;
	} while ((t = now()) - t0 < secs);
	double server_us = (t - t0) / (double)n * 1e6;

	raw_of(alg, &spub, &sraw, &srawlen);
	t0 = now();
	do {
		struct dssh_kex_client *c2 = NULL;
		struct dssh_buf p2;

		dssh_buf_init(&p2, 0);
		dssh_buf_reset(&kc);
		if (dssh_kex_client_new(alg, &c2) != 0 || dssh_kex_client_pub(c2, &p2) != 0)
			abort();
		/* finish against the reply made for the first client: times the work only */
		(void)dssh_kex_client_finish(c2, sraw, srawlen, &kc);
		dssh_kex_client_free(c2);
		dssh_buf_free(&p2);
		m++;
	} while ((t = now()) - t0 < secs);
	*client_us = (t - t0) / (double)m * 1e6;
	dssh_kex_client_free(c);
	dssh_buf_free(&cpub);
	dssh_buf_free(&spub);
	dssh_buf_free(&k);
	dssh_buf_free(&kc);
	return server_us;
}

int
main(int argc, char **argv)
{
	static const char *names[] = {
		"curve25519-sha256", "mlkem768x25519-sha256", "sntrup761x25519-sha512",
		"ecdh-sha2-nistp256",
		"ecdh-sha2-nistp384", "diffie-hellman-group14-sha256",
		"diffie-hellman-group16-sha512",
	};
	double secs = argc > 1 ? atof(argv[1]) : 1.0, base = 0;

	printf("%-32s %14s %10s %14s\n", "method", "server us/op", "vs x25519", "client us/op");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		double cl, us = bench(names[i], secs, &cl);

		if (i == 0)
			base = us;
		printf("%-32s %14.1f %9.2fx %14.1f\n", names[i], us, us / base, cl);
	}
	return 0;
}
