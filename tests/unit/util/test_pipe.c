/* SPDX-License-Identifier: BSD-3-Clause */
/* The SPSC byte pipe: wrap-around, full/empty edges, in-place access, and
 * a producer and a consumer thread moving 64 MiB byte-exact. */
#include <pthread.h>

#include "dssh_pipe.h"
#include "dssh_test.h"

static void
test_edges(void)
{
	struct dssh_pipe p;
	uint8_t in[10000], out[10000];
	const uint8_t *rp[2];
	uint8_t *wp[2];
	size_t len[2];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 3);
	CHECK_EQ_INT(dssh_pipe_init(&p, 5000), 0);
	CHECK_EQ_INT(p.size, 8192);
	CHECK_EQ_INT(dssh_pipe_readable(&p), 0);
	CHECK_EQ_INT(dssh_pipe_peek(&p, rp, len), 0);
	CHECK_EQ_INT(dssh_pipe_read(&p, out, sizeof(out)), 0);
	/* Fill completely: only size bytes go in. */
	CHECK_EQ_INT(dssh_pipe_write(&p, in, sizeof(in)), 8192);
	CHECK_EQ_INT(dssh_pipe_writable(&p), 0);
	CHECK_EQ_INT(dssh_pipe_reserve(&p, wp, len), 0);
	CHECK_EQ_INT(dssh_pipe_write(&p, in, 1), 0);
	CHECK_EQ_INT(dssh_pipe_read(&p, out, 6000), 6000);
	CHECK_MEM(out, in, 6000);
	/* Wrap: 6000 free, 4000 to the end is not all of it. */
	CHECK_EQ_INT(dssh_pipe_write(&p, in, 5000), 5000);
	CHECK_EQ_INT(dssh_pipe_peek(&p, rp, len), 2);
	CHECK_EQ_INT(len[0] + len[1], 2192 + 5000);
	CHECK_MEM(rp[0], in + 6000, 2192);
	CHECK_MEM(rp[1], in, 5000);
	dssh_pipe_consume(&p, 2192);
	CHECK_EQ_INT(dssh_pipe_peek(&p, rp, len), 1);
	CHECK_EQ_INT(len[0], 5000);
	/* In place up to the end of the buffer (head at 5000, tail at 0). */
	CHECK_EQ_INT(dssh_pipe_reserve(&p, wp, len), 1);
	CHECK_EQ_INT(len[0], 8192 - 5000);
	memset(wp[0], 0xab, len[0]);
	dssh_pipe_commit(&p, len[0]);
	CHECK_EQ_INT(dssh_pipe_readable(&p), 8192);
	CHECK_EQ_INT(dssh_pipe_read(&p, out, 5000), 5000);
	CHECK_MEM(out, in, 5000);
	/* Fill up (head at ring offset 5000), read 5000 (tail at 1808): the
	 * free space runs from offset 5000 to the end and on from 0 to 1808. */
	CHECK_EQ_INT(dssh_pipe_write(&p, in, sizeof(in)), 5000);
	CHECK_EQ_INT(dssh_pipe_read(&p, out, 5000), 5000);
	CHECK_EQ_INT(out[0], 0xab);
	CHECK_EQ_INT(dssh_pipe_reserve(&p, wp, len), 2);
	CHECK_EQ_INT(len[0], 3192);
	CHECK_EQ_INT(len[1], 1808);
	CHECK(wp[0] == p.buf + 5000 && wp[1] == p.buf);
	dssh_pipe_fini(&p);
	CHECK(p.buf == NULL);
}

#define STREAM_BYTES (64u << 20)

static uint8_t
pattern(size_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13);
}

static void *
producer(void *arg)
{
	struct dssh_pipe *p = arg;
	size_t sent = 0, step = 1;

	while (sent < STREAM_BYTES) {
		uint8_t *wp[2];
		size_t len[2], done = 0;
		unsigned np = dssh_pipe_reserve(p, wp, len);

		/* Vary the chunk size so that every alignment is crossed. */
		step = step * 3 % 65521 + 1;
		for (unsigned k = 0; k < np; k++)
			for (size_t j = 0; j < len[k] && sent + done < STREAM_BYTES && done < step; j++) {
				wp[k][j] = pattern(sent + done);
				done++;
			}
		dssh_pipe_commit(p, done);
		sent += done;
	}
	return NULL;
}

static void
test_threads(void)
{
	struct dssh_pipe p;
	pthread_t t;
	size_t got = 0, bad = 0;
	uint8_t buf[3001];

	CHECK_EQ_INT(dssh_pipe_init(&p, 65536), 0);
	CHECK_EQ_INT(pthread_create(&t, NULL, producer, &p), 0);
	while (got < STREAM_BYTES) {
		size_t n = dssh_pipe_read(&p, buf, sizeof(buf));

		for (size_t i = 0; i < n; i++)
			bad += buf[i] != pattern(got + i);
		got += n;
	}
	pthread_join(t, NULL);
	CHECK_EQ_INT(got, STREAM_BYTES);
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(dssh_pipe_readable(&p), 0);
	dssh_pipe_fini(&p);
}

int
main(void)
{
	DSSH_RUN(test_edges);
	DSSH_RUN(test_threads);
	DSSH_TEST_END();
}
