/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RFC 4254 section 8 terminal modes: opcode byte + uint32 argument pairs,
 * ended by TTY_OP_END (0). Opcodes 1..159 all carry a uint32; 160..255 are
 * undefined and stop parsing. IUTF8 (42) is from RFC 8160.
 */
#include <termios.h>
#include <unistd.h>

#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_util.h"
#include "dssh_session.h"

#define TTY_OP_END 0
#define TTY_OP_ISPEED 128
#define TTY_OP_OSPEED 129
#define TTY_OP_FIRST_UNDEFINED 160

enum mode_kind { MODE_CC, MODE_IFLAG, MODE_LFLAG, MODE_OFLAG, MODE_CFLAG, MODE_CSIZE };

struct mode_def {
	uint8_t opcode;
	uint8_t kind;
	tcflag_t value;     /* c_cc index, flag bit, or CSIZE value */
};

static const struct mode_def mode_defs[] = {
	{ 1, MODE_CC, VINTR },
	{ 2, MODE_CC, VQUIT },
	{ 3, MODE_CC, VERASE },
	{ 4, MODE_CC, VKILL },
	{ 5, MODE_CC, VEOF },
	{ 6, MODE_CC, VEOL },
	{ 7, MODE_CC, VEOL2 },
	{ 8, MODE_CC, VSTART },
	{ 9, MODE_CC, VSTOP },
	{ 10, MODE_CC, VSUSP },
#ifdef VDSUSP
	{ 11, MODE_CC, VDSUSP },
#endif
	{ 12, MODE_CC, VREPRINT },
	{ 13, MODE_CC, VWERASE },
	{ 14, MODE_CC, VLNEXT },
#ifdef VFLUSH
	{ 15, MODE_CC, VFLUSH },
#endif
#ifdef VSWTCH
	{ 16, MODE_CC, VSWTCH },
#elif defined(VSWTC)
	{ 16, MODE_CC, VSWTC },
#endif
#ifdef VSTATUS
	{ 17, MODE_CC, VSTATUS },
#endif
	{ 18, MODE_CC, VDISCARD },
	{ 30, MODE_IFLAG, IGNPAR },
	{ 31, MODE_IFLAG, PARMRK },
	{ 32, MODE_IFLAG, INPCK },
	{ 33, MODE_IFLAG, ISTRIP },
	{ 34, MODE_IFLAG, INLCR },
	{ 35, MODE_IFLAG, IGNCR },
	{ 36, MODE_IFLAG, ICRNL },
#ifdef IUCLC
	{ 37, MODE_IFLAG, IUCLC },
#endif
	{ 38, MODE_IFLAG, IXON },
	{ 39, MODE_IFLAG, IXANY },
	{ 40, MODE_IFLAG, IXOFF },
#ifdef IMAXBEL
	{ 41, MODE_IFLAG, IMAXBEL },
#endif
#ifdef IUTF8
	{ 42, MODE_IFLAG, IUTF8 },
#endif
	{ 50, MODE_LFLAG, ISIG },
	{ 51, MODE_LFLAG, ICANON },
#ifdef XCASE
	{ 52, MODE_LFLAG, XCASE },
#endif
	{ 53, MODE_LFLAG, ECHO },
	{ 54, MODE_LFLAG, ECHOE },
	{ 55, MODE_LFLAG, ECHOK },
	{ 56, MODE_LFLAG, ECHONL },
	{ 57, MODE_LFLAG, NOFLSH },
	{ 58, MODE_LFLAG, TOSTOP },
	{ 59, MODE_LFLAG, IEXTEN },
#ifdef ECHOCTL
	{ 60, MODE_LFLAG, ECHOCTL },
#endif
#ifdef ECHOKE
	{ 61, MODE_LFLAG, ECHOKE },
#endif
#ifdef PENDIN
	{ 62, MODE_LFLAG, PENDIN },
#endif
	{ 70, MODE_OFLAG, OPOST },
#ifdef OLCUC
	{ 71, MODE_OFLAG, OLCUC },
#endif
	{ 72, MODE_OFLAG, ONLCR },
	{ 73, MODE_OFLAG, OCRNL },
	{ 74, MODE_OFLAG, ONOCR },
	{ 75, MODE_OFLAG, ONLRET },
	{ 90, MODE_CSIZE, CS7 },
	{ 91, MODE_CSIZE, CS8 },
	{ 92, MODE_CFLAG, PARENB },
	{ 93, MODE_CFLAG, PARODD },
};

static const struct {
	uint32_t baud;
	speed_t code;
} speeds[] = {
	{ 0, B0 }, { 50, B50 }, { 75, B75 }, { 110, B110 }, { 134, B134 },
	{ 150, B150 }, { 200, B200 }, { 300, B300 }, { 600, B600 },
	{ 1200, B1200 }, { 1800, B1800 }, { 2400, B2400 }, { 4800, B4800 },
	{ 9600, B9600 }, { 19200, B19200 }, { 38400, B38400 },
#ifdef B57600
	{ 57600, B57600 },
#endif
#ifdef B115200
	{ 115200, B115200 },
#endif
#ifdef B230400
	{ 230400, B230400 },
#endif
#ifdef B460800
	{ 460800, B460800 },
#endif
#ifdef B921600
	{ 921600, B921600 },
#endif
};

static int
baud_to_speed(uint32_t baud, speed_t *code)
{
	size_t i;

	for (i = 0; i < DSSH_ARRAY_SIZE(speeds); i++) {
		if (speeds[i].baud == baud) {
			*code = speeds[i].code;
			return 0;
		}
	}
	return -1;
}

static const struct mode_def *
find_mode(uint8_t opcode)
{
	size_t i;

	for (i = 0; i < DSSH_ARRAY_SIZE(mode_defs); i++)
		if (mode_defs[i].opcode == opcode)
			return &mode_defs[i];
	return NULL;
}

static void
set_flag(tcflag_t *flags, tcflag_t bit, uint32_t on)
{
	if (on)
		*flags |= bit;
	else
		*flags &= ~bit;
}

static void
apply_mode(struct termios *t, const struct mode_def *d, uint32_t v)
{
	switch (d->kind) {
	case MODE_CC:
		/* 255 means "none"; anything else above a byte is nonsense. */
		if (v == 255)
			t->c_cc[d->value] = _POSIX_VDISABLE;
		else if (v < 255)
			t->c_cc[d->value] = (cc_t)v;
		break;
	case MODE_IFLAG:
		set_flag(&t->c_iflag, d->value, v);
		break;
	case MODE_LFLAG:
		set_flag(&t->c_lflag, d->value, v);
		break;
	case MODE_OFLAG:
		set_flag(&t->c_oflag, d->value, v);
		break;
	case MODE_CFLAG:
		set_flag(&t->c_cflag, d->value, v);
		break;
	case MODE_CSIZE:
		/*
		 * CS7 and CS8 are values of the CSIZE field, not bits: a true
		 * one selects that size, a false one leaves the field alone
		 * (clients send "CS7 0, CS8 1" for an 8-bit line).
		 */
		if (v)
			t->c_cflag = (t->c_cflag & ~(tcflag_t)CSIZE) | d->value;
		break;
	}
}

int
dssh_session_decode_modes(const uint8_t *modes, size_t len, struct termios *t)
{
	struct dssh_buf b;
	struct termios nt;
	const struct mode_def *d;
	speed_t sp;
	uint8_t opcode;
	uint32_t v;
	int r;

	if (t == NULL || (modes == NULL && len != 0))
		return DSSH_ERR_INVALID_ARGUMENT;
	if (len > DSSH_SESSION_MODES_MAX)
		return DSSH_ERR_STRING_TOO_LARGE;
	if (len == 0)
		return 0;
	nt = *t;
	dssh_buf_from(&b, modes, len);
	while (dssh_buf_len(&b) > 0) {
		if ((r = dssh_buf_get_u8(&b, &opcode)) != 0)
			return r;
		if (opcode == TTY_OP_END || opcode >= TTY_OP_FIRST_UNDEFINED)
			break;
		if ((r = dssh_buf_get_u32(&b, &v)) != 0)
			return r;
		if (opcode == TTY_OP_ISPEED || opcode == TTY_OP_OSPEED) {
			if (baud_to_speed(v, &sp) != 0)
				continue;
			if (opcode == TTY_OP_ISPEED)
				cfsetispeed(&nt, sp);
			else
				cfsetospeed(&nt, sp);
			continue;
		}
		if ((d = find_mode(opcode)) != NULL)
			apply_mode(&nt, d, v);
	}
	*t = nt;
	return 0;
}
