/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The userauth phase with AuthenticationMethods and keyboard-interactive:
 * the test client does the key exchange and the service request; the input
 * is then records of USERAUTH payloads, sealed and fed to the server, so the
 * INFO_RESPONSE parser and the method-list state machine see the fuzz bytes.
 *
 *   input  := u8 mode, record*
 *   record := u8 ctl, u16 len (big endian), len payload bytes
 *
 * mode bit 0: AuthenticationMethods "publickey,keyboard-interactive
 * keyboard-interactive,password" (else any). After a record, while the
 * engine waits for the host: ctl bit 1 sends (ctl >> 4) prompts
 * (keyboard-interactive pending), else bit 2 answers ok/failed (bit 3).
 */
#include <stdint.h>
#include <stdlib.h>

#include "dssh_authmethods.h"
#include "dssh_err.h"
#define FUZZ_HOSTSIG_MEMO     /* fuzz_common.h: the test client's host signature check */
#include "fuzz_common.h"
#include "ssh_internal.h"
#include "test_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fk_auth_kbdint(void *hp, const char *user, const char *const *resp, unsigned n)
{
	(void)hp;
	(void)user;
	for (unsigned i = 0; i < n; i++)
		fuzz_sink = (uint8_t)(fuzz_sink + strlen(resp[i]));
	return DSSH_ERR_AGAIN;
}

static void
fk_abort(void *hp)
{
	(void)hp;
	fuzz_sink++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const prompts[16] = {
		"Password: ", "Code:", "a", "b", "c", "d", "e", "f",
		"g", "h", "i", "j", "k", "l", "m", "n",
	};
	static const bool echo[16] = { false, true };
	struct dssh_conn_host_ops ops = fuzz_ops;
	struct dssh_authmethods am;
	struct dssh_ssh_conf conf;
	struct fuzz_host h = { 0 };
	struct dssh_conn *c;
	struct tc *t;
	struct tc_conf tcc = {
		.kex = "curve25519-sha256", .hostkey = "ssh-ed25519",
		.cipher = "aes128-gcm@openssh.com", .mac = "hmac-sha2-256", .strict = true,
		.ext_info = true,
	};

	fuzz_setup();
	if (size < 1)
		return 0;
	conf = fuzz_conf;
	conf.kbdint_auth = true;
	conf.password_auth = true;
	if (data[0] & 1) {
		if (dssh_authmethods_parse("publickey,keyboard-interactive "
		    "keyboard-interactive,password", &am, NULL, 0) != 0)
			abort();
		conf.auth_methods = &am;
	}
	data++;
	size--;
	ops.auth_kbdint = fk_auth_kbdint;
	ops.auth_kbdint_abort = fk_abort;
	if (dssh_conn_new(&conf, &ops, &h, "fuzz", &c) != 0)
		abort();
	h.c = c;
	if (tc_new(c, fuzz_engine, &tcc, &t) != 0)
		abort();
	if (tc_version(t) != 0 || tc_kex(t) != 0 || tc_service_request(t) != 0)
		abort();    /* the happy path must work every time */
	tc_drain(t);
	while (size >= 3 && !dssh_conn_closing(c)) {
		uint8_t ctl = data[0];
		size_t len = ((size_t)data[1] << 8) | data[2];

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		if (len > 0)
			tc_send(t, data, len);
		data += len;
		size -= len;
		if (dssh_conn_input_paused(c) && !dssh_conn_closing(c)) {
			if (!(ctl & 2) || dssh_conn_kbdint_prompt(c, "fuzz", prompts, echo,
			    ctl >> 4, t->now_ms) != 0)
				if (ctl & 4)
					dssh_conn_auth_result(c, ctl & 8, t->now_ms);
		}
		tc_drain(t);
	}
	tc_free(t);
	dssh_conn_free(c);
	return 0;
}
