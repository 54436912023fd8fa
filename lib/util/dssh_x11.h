/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_X11_H
#define DSSH_X11_H

/*
 * The X11 connection setup an X client sends first (X Window System
 * Protocol, "Connection Setup"): byte order 'B' (MSB first) or 'l', one
 * unused byte, u16 major and minor version, u16 authorization protocol
 * name length n, u16 data length d, two unused bytes, then the name and
 * the data, each padded to a multiple of 4. Pure: no I/O.
 */

#include <stddef.h>
#include <stdint.h>

#define DSSH_X11_COOKIE_MAX 256
#define DSSH_X11_PROTO_MAX 63
/* The longest setup that can carry a cookie we accept. */
#define DSSH_X11_SETUP_MAX (12 + (DSSH_X11_PROTO_MAX + 1) + DSSH_X11_COOKIE_MAX)

enum dssh_x11_verdict {
	DSSH_X11_INCOMPLETE = 0,    /* more bytes needed */
	DSSH_X11_OK = 1,            /* fake cookie found and replaced by the real one */
	DSSH_X11_BAD_ORDER = -1,    /* first byte neither 'B' nor 'l' */
	DSSH_X11_OTHER_PROTO = -2,  /* another protocol or cookie length */
	DSSH_X11_WRONG_COOKIE = -3, /* the right protocol, another cookie */
};

/*
 * Check the setup in p[0..len) against proto and fake (cookie_len bytes);
 * on DSSH_X11_OK the cookie in p is overwritten with real. Everything is
 * decided from the header before the name and data are waited for.
 */
enum dssh_x11_verdict dssh_x11_setup_check(uint8_t *p, size_t len, const char *proto,
    const uint8_t *fake, const uint8_t *real, size_t cookie_len);

#endif
