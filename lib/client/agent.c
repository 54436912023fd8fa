/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ssh-agent client (draft-miller-ssh-agent): the identities the agent
 * holds, and signatures made by it. One short blocking exchange per call
 * over $SSH_AUTH_SOCK; the agent's answers are read through the checked
 * dssh_buf getters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client_int.h"
#include "dssh_buf.h"
#include "dssh_err.h"
#include "dssh_sshkey.h"

#define AGENT_FAILURE 5
#define AGENTC_REQUEST_IDENTITIES 11
#define AGENT_IDENTITIES_ANSWER 12
#define AGENTC_SIGN_REQUEST 13
#define AGENT_SIGN_RESPONSE 14
#define AGENT_RSA_SHA2_256 2
#define AGENT_RSA_SHA2_512 4
#define AGENT_MSG_MAX (256u * 1024)

static int
io_all(int fd, uint8_t *p, size_t n, bool wr)
{
	while (n > 0) {
		ssize_t k = wr ? write(fd, p, n) : read(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return DSSH_ERR_SYSTEM;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One request (msg: type and body) and its answer (into reply, type first). */
static int
agent_call(const char *sock, const struct dssh_buf *msg, struct dssh_buf *reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t len[4], *p;
	uint32_t n;
	int fd, r;

	if (sock == NULL || strlen(sock) >= sizeof(sa.sun_path))
		return DSSH_ERR_NOT_FOUND;
	strcpy(sa.sun_path, sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return DSSH_ERR_SYSTEM;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return DSSH_ERR_NOT_FOUND;
	}
	n = (uint32_t)dssh_buf_len(msg);
	len[0] = (uint8_t)(n >> 24);
	len[1] = (uint8_t)(n >> 16);
	len[2] = (uint8_t)(n >> 8);
	len[3] = (uint8_t)n;
	if ((r = io_all(fd, len, 4, true)) != 0 ||
	    (r = io_all(fd, (uint8_t *)(uintptr_t)dssh_buf_ptr(msg), n, true)) != 0 ||
	    (r = io_all(fd, len, 4, false)) != 0)
		goto out;
	n = (uint32_t)len[0] << 24 | (uint32_t)len[1] << 16 | (uint32_t)len[2] << 8 | len[3];
	if (n == 0 || n > AGENT_MSG_MAX) {
		r = DSSH_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = dssh_buf_reserve(reply, n, &p)) == 0)
		r = io_all(fd, p, n, false);
out:
	close(fd);
	return r;
}

int
dssh_client_agent_parse_keys(const uint8_t *p, size_t n, struct dssh_sshkey **keys,
    unsigned max, unsigned *nkeys)
{
	struct dssh_buf rep;
	uint8_t type;
	uint32_t cnt;
	int r;

	*nkeys = 0;
	dssh_buf_from(&rep, p, n);
	if ((r = dssh_buf_get_u8(&rep, &type)) != 0 || (r = dssh_buf_get_u32(&rep, &cnt)) != 0)
		return r;
	if (type != AGENT_IDENTITIES_ANSWER)
		return DSSH_ERR_PROTOCOL;
	for (uint32_t i = 0; i < cnt && *nkeys < max; i++) {
		const uint8_t *blob;
		size_t blen;

		if ((r = dssh_buf_get_string_direct(&rep, &blob, &blen)) != 0 ||
		    (r = dssh_buf_skip_string(&rep)) != 0) {
			while (*nkeys > 0)
				dssh_sshkey_free(keys[--*nkeys]);
			return r;
		}
		/* Types we cannot use (certificates, security keys) are left out. */
		if (dssh_sshkey_from_blob(blob, blen, &keys[*nkeys]) == 0)
			(*nkeys)++;
	}
	return 0;
}

int
dssh_client_agent_keys(const char *sock, struct dssh_sshkey **keys, unsigned max,
    unsigned *nkeys)
{
	struct dssh_buf msg, rep;
	int r;

	*nkeys = 0;
	dssh_buf_init(&msg, 0);
	dssh_buf_init(&rep, AGENT_MSG_MAX);
	if ((r = dssh_buf_put_u8(&msg, AGENTC_REQUEST_IDENTITIES)) == 0 &&
	    (r = agent_call(sock, &msg, &rep)) == 0)
		r = dssh_client_agent_parse_keys(dssh_buf_ptr(&rep), dssh_buf_len(&rep), keys, max,
		    nkeys);
	dssh_buf_free(&msg);
	dssh_buf_free(&rep);
	return r;
}

int
dssh_client_agent_parse_sig(const uint8_t *p, size_t n, struct dssh_buf *sig)
{
	struct dssh_buf rep;
	const uint8_t *s;
	size_t slen;
	uint8_t type;
	int r;

	dssh_buf_from(&rep, p, n);
	if ((r = dssh_buf_get_u8(&rep, &type)) != 0)
		return r;
	if (type != AGENT_SIGN_RESPONSE)
		return DSSH_ERR_PERMISSION;     /* AGENT_FAILURE: refused */
	if ((r = dssh_buf_get_string_direct(&rep, &s, &slen)) != 0)
		return r;
	return dssh_buf_put(sig, s, slen);
}

int
dssh_client_agent_sign(const char *sock, const struct dssh_sshkey *key, const char *alg,
    const uint8_t *data, size_t len, struct dssh_buf *sig)
{
	struct dssh_buf msg, rep, blob;
	uint32_t flags = strcmp(alg, "rsa-sha2-256") == 0 ? AGENT_RSA_SHA2_256 :
	    strcmp(alg, "rsa-sha2-512") == 0 ? AGENT_RSA_SHA2_512 : 0;
	int r;

	dssh_buf_init(&msg, 0);
	dssh_buf_init(&rep, AGENT_MSG_MAX);
	dssh_buf_init(&blob, 0);
	if ((r = dssh_sshkey_public_blob(key, &blob)) != 0 ||
	    (r = dssh_buf_put_u8(&msg, AGENTC_SIGN_REQUEST)) != 0 ||
	    (r = dssh_buf_put_stringb(&msg, &blob)) != 0 ||
	    (r = dssh_buf_put_string(&msg, data, len)) != 0 ||
	    (r = dssh_buf_put_u32(&msg, flags)) != 0 ||
	    (r = agent_call(sock, &msg, &rep)) != 0)
		goto out;
	r = dssh_client_agent_parse_sig(dssh_buf_ptr(&rep), dssh_buf_len(&rep), sig);
out:
	dssh_buf_free(&msg);
	dssh_buf_free(&rep);
	dssh_buf_free(&blob);
	return r;
}
