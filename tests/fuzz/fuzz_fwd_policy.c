/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Forwarding policy with peer strings. Input: line 1 authorized_keys options
 * (empty: no key), then config lines up to a line "--", then requests, each
 * a kind byte, port (4 bytes), uid (1 byte: 0 root, else 1000) and a
 * NUL-terminated host / bind address / path as a peer would send it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "dssh_auth.h"
#include "dssh_config.h"
#include "dssh_err.h"
#include "dssh_fwd_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
take_line(const uint8_t **data, size_t *size)
{
	const uint8_t *nl = memchr(*data, '\n', *size);
	size_t n = nl ? (size_t)(nl - *data) : *size;
	char *line = malloc(n + 1);

	memcpy(line, *data, n);
	line[n] = '\0';
	*data += nl ? n + 1 : n;
	*size -= nl ? n + 1 : n;
	return line;
}

/* A reason is one printable line. */
static void
check_why(const char *why, size_t len)
{
	if (memchr(why, '\0', len) == NULL)
		abort();
	for (const char *p = why; *p; p++)
		if (!isprint((unsigned char)*p))
			abort();
}

static void
request(const struct dssh_fwd_policy *p, uint8_t kind, uint32_t port, uid_t uid,
    const char *s)
{
	struct dssh_fwd_bind b;
	char why[160];
	int r;

	why[0] = '\0';
	switch (kind % 4) {
	case 0:
		r = dssh_fwd_allow_open(p, s, port, s, port, why, sizeof(why));
		if (r == 0 && (p->disable_forwarding || !p->key_port_forwarding ||
		    port > 65535))
			abort();
		break;
	case 1:
		r = dssh_fwd_allow_listen(p, s, port, uid, &b, why, sizeof(why));
		if (r == 0 && ((port > 0 && port < 1024 && uid != 0) ||
		    p->disable_forwarding || (b.kind == DSSH_FWD_BIND_ADDR && b.addr != s)))
			abort();
		break;
	case 2:
		r = dssh_fwd_allow_streamlocal(p, (int)(port % 4), s, why, sizeof(why));
		break;
	default:
		r = dssh_fwd_allow_agent(p, why, sizeof(why));
		break;
	}
	if (r != 0 && r != DSSH_ERR_PERMISSION)
		abort();
	if (r != 0 && why[0] == '\0')
		abort();
	check_why(why, sizeof(why));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dssh_authkey_opts o;
	struct dssh_fwd_policy p;
	struct dssh_config cfg;
	char err[256], why[128];
	char *keyline;
	bool have_key = false;

	dssh_config_init(&cfg);
	dssh_authkey_opts_init(&o);
	keyline = take_line(&data, &size);
	if (keyline[0] != '\0')
		have_key = dssh_authkey_parse_options(keyline, &o, NULL, why,
		    sizeof(why)) == 0;
	free(keyline);
	for (unsigned n = 1; size > 0; n++) {
		char *line = take_line(&data, &size);
		bool end = strcmp(line, "--") == 0;

		if (!end)
			(void)dssh_config_apply_line(&cfg, line, "fuzz", n, err, sizeof(err));
		free(line);
		if (end)
			break;
	}
	if (dssh_config_finalize(&cfg, NULL, err, sizeof(err)) == 0 &&
	    dssh_fwd_policy_build(&p, &cfg, have_key ? &o : NULL, NULL, "192.0.2.1",
	    22) == 0) {
		while (size >= 6) {
			uint8_t kind = data[0];
			uint32_t port = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 |
			    (uint32_t)data[3] << 8 | data[4];
			uid_t uid = data[5] == 0 ? 0 : 1000;
			const uint8_t *z;
			size_t n;
			char *s;

			data += 6;
			size -= 6;
			z = memchr(data, '\0', size);
			n = z ? (size_t)(z - data) : size;
			s = malloc(n + 1);
			memcpy(s, data, n);
			s[n] = '\0';
			request(&p, kind, port, uid, s);
			free(s);
			data += z ? n + 1 : n;
			size -= z ? n + 1 : n;
		}
		dssh_fwd_policy_free(&p);
	}
	dssh_authkey_opts_free(&o);
	dssh_config_free(&cfg);
	return 0;
}
