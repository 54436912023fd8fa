/* SPDX-License-Identifier: BSD-3-Clause */
/* The X11 connection setup check (dssh_x11.h): both byte orders, every
 * truncation, other protocols, wrong cookies, oversized lengths, garbage. */
#include <stdlib.h>
#include <string.h>

#include "dssh_test.h"
#include "dssh_x11.h"

static const char proto[] = "MIT-MAGIC-COOKIE-1";
static const uint8_t fake[16] = "fakefakefakefak", real[16] = "REALREALREALREA";

/* A setup in byte order bo with name and data as given. */
static size_t
setup(uint8_t *p, char bo, const char *name, size_t n, const uint8_t *data, size_t d)
{
	size_t len = 12;

	memset(p, 0xee, 12);
	p[0] = (uint8_t)bo;
	p[1] = 0;
	if (bo == 'B') {
		p[2] = 0; p[3] = 11; p[4] = 0; p[5] = 0;
		p[6] = (uint8_t)(n >> 8); p[7] = (uint8_t)n;
		p[8] = (uint8_t)(d >> 8); p[9] = (uint8_t)d;
	} else {
		p[2] = 11; p[3] = 0; p[4] = 0; p[5] = 0;
		p[7] = (uint8_t)(n >> 8); p[6] = (uint8_t)n;
		p[9] = (uint8_t)(d >> 8); p[8] = (uint8_t)d;
	}
	memcpy(p + len, name, n);
	len += (n + 3) & ~(size_t)3;
	memcpy(p + len, data, d);
	len += (d + 3) & ~(size_t)3;
	return len;
}

static void
test_good_and_truncated(void)
{
	for (int o = 0; o < 2; o++) {
		uint8_t p[128];
		size_t len = setup(p, o ? 'B' : 'l', proto, strlen(proto), fake, sizeof(fake));

		CHECK_EQ_INT((int)len, 12 + 20 + 16);
		for (size_t k = 0; k < len; k++)
			CHECK_EQ_INT(dssh_x11_setup_check(p, k, proto, fake, real, 16),
			    DSSH_X11_INCOMPLETE);
		CHECK_EQ_INT(dssh_x11_setup_check(p, len, proto, fake, real, 16), DSSH_X11_OK);
		CHECK_MEM(p + 32, real, 16);
		/* now it holds the real one: a second check finds no fake */
		CHECK_EQ_INT(dssh_x11_setup_check(p, len, proto, fake, real, 16),
		    DSSH_X11_WRONG_COOKIE);
	}
}

static void
test_refusals(void)
{
	uint8_t p[128], wrong[16];
	size_t len;

	memcpy(wrong, fake, 16);
	wrong[15] ^= 1;
	len = setup(p, 'l', proto, strlen(proto), wrong, 16);
	CHECK_EQ_INT(dssh_x11_setup_check(p, len, proto, fake, real, 16), DSSH_X11_WRONG_COOKIE);
	CHECK_MEM(p + 32, wrong, 16);           /* untouched */
	len = setup(p, 'l', "", 0, (const uint8_t *)"", 0);
	CHECK_EQ_INT(dssh_x11_setup_check(p, len, proto, fake, real, 16), DSSH_X11_OTHER_PROTO);
	len = setup(p, 'B', "XDM-AUTHORIZATION-1", 19, fake, 16);
	CHECK_EQ_INT(dssh_x11_setup_check(p, len, proto, fake, real, 16), DSSH_X11_OTHER_PROTO);
	len = setup(p, 'B', "MIT-MAGIC-COOKIE-2", 18, fake, 16);
	CHECK_EQ_INT(dssh_x11_setup_check(p, len, proto, fake, real, 16), DSSH_X11_OTHER_PROTO);
	len = setup(p, 'l', proto, 18, fake, 15);
	CHECK_EQ_INT(dssh_x11_setup_check(p, len, proto, fake, real, 16), DSSH_X11_OTHER_PROTO);
	/* oversized lengths are refused from the header alone */
	setup(p, 'B', proto, 18, fake, 16);
	p[6] = 0xff;
	p[7] = 0xff;
	CHECK_EQ_INT(dssh_x11_setup_check(p, 12, proto, fake, real, 16), DSSH_X11_OTHER_PROTO);
	setup(p, 'B', proto, 18, fake, 16);
	p[8] = 0xff;
	CHECK_EQ_INT(dssh_x11_setup_check(p, 12, proto, fake, real, 16), DSSH_X11_OTHER_PROTO);
	p[0] = 'x';
	CHECK_EQ_INT(dssh_x11_setup_check(p, 12, proto, fake, real, 16), DSSH_X11_BAD_ORDER);
	p[0] = 0;
	CHECK_EQ_INT(dssh_x11_setup_check(p, 12, proto, fake, real, 16), DSSH_X11_BAD_ORDER);
}

static void
test_garbage(void)
{
	uint8_t p[DSSH_X11_SETUP_MAX + 16];

	srand(7);
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)rand() % sizeof(p);

		for (size_t k = 0; k < len; k++)
			p[k] = (uint8_t)rand();
		if (i & 1)
			p[0] = i & 2 ? 'B' : 'l';
		int v = dssh_x11_setup_check(p, len, proto, fake, real, 16);

		CHECK(v == DSSH_X11_INCOMPLETE || v == DSSH_X11_BAD_ORDER ||
		    v == DSSH_X11_OTHER_PROTO || v == DSSH_X11_WRONG_COOKIE);
	}
}

int
main(void)
{
	DSSH_RUN(test_good_and_truncated);
	DSSH_RUN(test_refusals);
	DSSH_RUN(test_garbage);
	DSSH_TEST_END();
}
