/* SPDX-License-Identifier: BSD-3-Clause */
#include <termios.h>
#include <unistd.h>

#include "dssh_test.h"
#include "dssh_err.h"
#include "dssh_session.h"
#include "session_run.h"

static struct termios
base_tio(void)
{
	struct termios t;

	memset(&t, 0, sizeof(t));
	t.c_lflag = ECHO | ICANON | ISIG;
	t.c_iflag = ICRNL;
	t.c_oflag = OPOST | ONLCR;
	t.c_cflag = CS8 | CREAD;
	t.c_cc[VINTR] = 3;
	cfsetispeed(&t, B38400);
	cfsetospeed(&t, B38400);
	return t;
}

static void
test_basic(void)
{
	uint8_t m[64];
	size_t n = 0;
	struct termios t = base_tio();

	n += put_mode(m + n, 53, 0);            /* ECHO off */
	n += put_mode(m + n, 1, 0x18);          /* VINTR ^X */
	n += put_mode(m + n, 4, 255);           /* VKILL none */
	n += put_mode(m + n, 36, 0);            /* ICRNL off */
	n += put_mode(m + n, 42, 1);            /* IUTF8 on */
	n += put_mode(m + n, 72, 0);            /* ONLCR off */
	n += put_mode(m + n, 128, 9600);
	n += put_mode(m + n, 129, 9600);   /* glibc keeps one speed for both */
	m[n++] = 0;
	CHECK_EQ_INT(dssh_session_decode_modes(m, n, &t), 0);
	CHECK(!(t.c_lflag & ECHO));
	CHECK(t.c_lflag & ICANON);
	CHECK_EQ_INT(t.c_cc[VINTR], 0x18);
	CHECK_EQ_INT(t.c_cc[VKILL], _POSIX_VDISABLE);
	CHECK(!(t.c_iflag & ICRNL));
	CHECK(t.c_iflag & IUTF8);
	CHECK(!(t.c_oflag & ONLCR));
	CHECK(t.c_oflag & OPOST);
	CHECK_EQ_INT(cfgetispeed(&t), B9600);
	CHECK_EQ_INT(cfgetospeed(&t), B9600);
}

static void
test_csize(void)
{
	uint8_t m[16];
	size_t n = 0;
	struct termios t = base_tio();

	/* CS7 on selects a 7-bit line; a later "CS8 0" does not disturb it. */
	n += put_mode(m + n, 90, 1);
	n += put_mode(m + n, 91, 0);
	CHECK_EQ_INT(dssh_session_decode_modes(m, n, &t), 0);
	CHECK_EQ_INT(t.c_cflag & CSIZE, CS7);
	n = 0;
	n += put_mode(m + n, 90, 0);
	n += put_mode(m + n, 91, 1);
	CHECK_EQ_INT(dssh_session_decode_modes(m, n, &t), 0);
	CHECK_EQ_INT(t.c_cflag & CSIZE, CS8);
	CHECK(t.c_cflag & CREAD);
}

static void
test_empty_and_end(void)
{
	struct termios t = base_tio(), ref = base_tio();
	uint8_t m[16];
	size_t n = 0;

	CHECK_EQ_INT(dssh_session_decode_modes(NULL, 0, &t), 0);
	CHECK_MEM(&t, &ref, sizeof(t));
	m[0] = 0;
	CHECK_EQ_INT(dssh_session_decode_modes(m, 1, &t), 0);
	CHECK_MEM(&t, &ref, sizeof(t));
	/* Data after TTY_OP_END is not looked at, even if truncated. */
	m[n++] = 0;
	m[n++] = 53;
	m[n++] = 0;
	CHECK_EQ_INT(dssh_session_decode_modes(m, n, &t), 0);
	CHECK(t.c_lflag & ECHO);
	/* No TTY_OP_END at all: end of data ends it. */
	n = put_mode(m, 53, 0);
	CHECK_EQ_INT(dssh_session_decode_modes(m, n, &t), 0);
	CHECK(!(t.c_lflag & ECHO));
	CHECK_EQ_INT(dssh_session_decode_modes(NULL, 5, &t), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_session_decode_modes(m, n, NULL), DSSH_ERR_INVALID_ARGUMENT);
}

static void
test_truncated(void)
{
	uint8_t m[32];
	size_t n = 0, cut;
	struct termios t = base_tio(), ref = base_tio();

	n += put_mode(m + n, 53, 0);
	n += put_mode(m + n, 1, 0x18);
	m[n++] = 0;
	/* Every cut inside an argument fails and leaves *t untouched. */
	for (cut = 1; cut < n - 1; cut++) {
		int r;

		t = base_tio();
		r = dssh_session_decode_modes(m, cut, &t);
		if (cut % 5 == 0) {
			CHECK_EQ_INT(r, 0);  /* ends on a pair boundary */
		} else {
			CHECK_EQ_INT(r, DSSH_ERR_MSG_INCOMPLETE);
			CHECK_MEM(&t, &ref, sizeof(t));
		}
	}
}

static void
test_unknown_and_stop(void)
{
	uint8_t m[32];
	size_t n = 0;
	struct termios t = base_tio();

	n += put_mode(m + n, 99, 0xffffffff);   /* undefined < 160: skipped */
	n += put_mode(m + n, 158, 1);
	n += put_mode(m + n, 53, 0);
	m[n++] = 160;                           /* stops parsing */
	m[n++] = 51;                            /* garbage after the stop */
	CHECK_EQ_INT(dssh_session_decode_modes(m, n, &t), 0);
	CHECK(!(t.c_lflag & ECHO));
	CHECK(t.c_lflag & ICANON);
	/* Out-of-range arguments are ignored, not applied truncated. */
	t = base_tio();
	n = 0;
	n += put_mode(m + n, 1, 0x1003);
	n += put_mode(m + n, 128, 12345);
	n += put_mode(m + n, 129, 0xffffffff);
	CHECK_EQ_INT(dssh_session_decode_modes(m, n, &t), 0);
	CHECK_EQ_INT(t.c_cc[VINTR], 3);
	CHECK_EQ_INT(cfgetispeed(&t), B38400);
	CHECK_EQ_INT(cfgetospeed(&t), B38400);
}

static void
test_oversized_and_garbage(void)
{
	static uint8_t big[DSSH_SESSION_MODES_MAX + 5];
	struct termios t = base_tio(), ref = base_tio();
	uint64_t seed = 0x1234567;
	size_t i, n;
	int round, r;

	for (i = 0; i + 5 <= sizeof(big); i += 5)
		put_mode(big + i, 53, 0);
	CHECK_EQ_INT(dssh_session_decode_modes(big, sizeof(big), &t), DSSH_ERR_STRING_TOO_LARGE);
	CHECK_MEM(&t, &ref, sizeof(t));
	/* The maximum itself (a multiple of 5 minus a byte: ends with END) is fine. */
	n = DSSH_SESSION_MODES_MAX - (DSSH_SESSION_MODES_MAX % 5);
	CHECK_EQ_INT(dssh_session_decode_modes(big, n, &t), 0);
	CHECK(!(t.c_lflag & ECHO));

	/* Random bytes: only ever 0 or "incomplete", never a crash. */
	for (round = 0; round < 2000; round++) {
		uint8_t g[64];

		n = (size_t)(dssh_test_rand(&seed) % sizeof(g));
		for (i = 0; i < n; i++)
			g[i] = (uint8_t)dssh_test_rand(&seed);
		t = base_tio();
		r = dssh_session_decode_modes(g, n, &t);
		if (r != 0 && r != DSSH_ERR_MSG_INCOMPLETE) {
			CHECK_EQ_INT(r, 0);
			break;
		}
	}
}

int
main(void)
{
	DSSH_RUN(test_basic);
	DSSH_RUN(test_csize);
	DSSH_RUN(test_empty_and_end);
	DSSH_RUN(test_truncated);
	DSSH_RUN(test_unknown_and_stop);
	DSSH_RUN(test_oversized_and_garbage);
	DSSH_TEST_END();
}
