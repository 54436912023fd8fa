/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Payloads in an authenticated, encrypted session. The test client
 * (tests/unit/ssh/test_client.c) does the key exchange, publickey auth,
 * opens a session channel and runs exec; the input is then a series of
 * records, each sealed properly and fed to the server, so the dispatcher,
 * auth, channel and global-request parsers see the fuzz bytes.
 *
 *   record := u8 ctl, u16 len (big endian), len payload bytes
 *
 * An input whose length is 1 mod 3 starts with one byte choosing the cipher
 * and MAC (and strict KEX off with bit 2).
 * ctl bit 0: advance the clock and tick; bit 1: answer a pending password
 * check (bit 2 = ok); bit 3: host sends data on its channel first; bit 5:
 * the host opens a forwarded-tcpip channel; bit 6: it answers a deferred
 * open (bit 7: confirms). A
 * payload of KEXINIT (20) runs a real rekey with the client instead.
 */
#include <stdint.h>
#include <stdlib.h>

#include "dssh_err.h"
#define FUZZ_HOSTSIG_MEMO     /* fuzz_common.h: the test client's host signature check */
#include "fuzz_common.h"
#include "ssh_internal.h"
#include "test_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_host h = { 0 };
	struct dssh_conn *c;
	struct tc *t;
	static const char *const modes[4][2] = {
		{ "aes128-gcm@openssh.com", "hmac-sha2-256" },
		{ "chacha20-poly1305@openssh.com", "hmac-sha2-256" },
		{ "aes128-ctr", "hmac-sha2-256" },
		{ "aes128-ctr", "hmac-sha2-256-etm@openssh.com" },
	};
	struct tc_conf tcc = {
		.kex = "curve25519-sha256", .hostkey = "ssh-ed25519",
		.cipher = modes[0][0], .mac = modes[0][1], .strict = true, .ext_info = true,
	};

	fuzz_setup();
	/* An input of length 1 mod 3 picks the cipher with its first byte. */
	if (size % 3 == 1) {
		tcc.cipher = modes[data[0] % 4][0];
		tcc.mac = modes[data[0] % 4][1];
		tcc.strict = !(data[0] & 4);
		data++;
		size--;
	}
	if (dssh_conn_new(&fuzz_conf, &fuzz_ops, &h, "fuzz", &c) != 0)
		abort();
	h.c = c;
	if (tc_new(c, fuzz_engine, &tcc, &t) != 0)
		abort();
	if (tc_connect_all(t, "alice", fuzz_userkey, "ssh-ed25519") != 0)
		abort();    /* the happy path must work every time */
	tc_drain(t);
	while (size >= 3 && !dssh_conn_closing(c)) {
		uint8_t ctl = data[0];
		size_t len = ((size_t)data[1] << 8) | data[2];

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		if (ctl & 8 && h.have_chan) {
			static const uint8_t out[100];

			dssh_chan_send(c, h.chan, out, sizeof(out), ctl & 16);
		}
		if (ctl & 32) {
			const struct dssh_chan_open o = {
				.kind = DSSH_CHAN_FORWARDED_TCPIP, .host = "127.0.0.1", .port = 80,
				.orig_host = "127.0.0.1", .orig_port = 1234,
			};
			uint32_t id;

			(void)dssh_chan_open(c, &o, &id);
		}
		if ((ctl & 64) && h.have_pending) {
			h.have_pending = false;
			(void)dssh_chan_open_reply(c, h.pending, ctl & 128 ? 0 : 2, NULL);
		}
		if (len > 0 && data[0] == SSH_MSG_KEXINIT)
			tc_kex(t);
		else if (len > 0)
			tc_send(t, data, len);
		data += len;
		size -= len;
		if ((ctl & 2) && dssh_conn_input_paused(c))
			dssh_conn_auth_result(c, ctl & 4, t->now_ms);
		if (ctl & 1) {
			t->now_ms += 1500;
			dssh_conn_tick(c, t->now_ms);
		}
		tc_drain(t);
	}
	tc_free(t);
	dssh_conn_free(c);
	return 0;
}
