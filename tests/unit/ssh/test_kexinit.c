/* SPDX-License-Identifier: BSD-3-Clause */
/* KEXINIT build/parse and algorithm negotiation (RFC 4253 7.1). */
#include <stdlib.h>
#include <string.h>

#include "dssh_err.h"
#include "dssh_test.h"
#include "dssh_util.h"
#include "ssh_internal.h"

static const char *const real_lists[KEX_SLOTS] = {
	("curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ext-info-c,"
	    "kex-strict-c-v00@openssh.com"),
	"ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
	"chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com",
	"chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com",
	"umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
	"umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
	"none,zlib@openssh.com",
	"none,zlib@openssh.com",
	"",
	"",
};

/* Builds a payload and returns it without the message-type byte. */
static void
build(struct dssh_buf *b, const char *const lists[KEX_SLOTS])
{
	dssh_buf_init(b, 0);
	CHECK_EQ_INT(dssh_kexinit_build(b, lists), 0);
	CHECK_EQ_INT(dssh_buf_ptr(b)[0], SSH_MSG_KEXINIT);
	dssh_buf_consume(b, 1);
}

static void
test_roundtrip(void)
{
	struct dssh_buf b;
	struct dssh_kexinit k;

	build(&b, real_lists);
	/* 16 cookie + 10 strings + bool + u32 */
	size_t expect = 16 + 1 + 4;

	for (int i = 0; i < KEX_SLOTS; i++)
		expect += 4 + strlen(real_lists[i]);
	CHECK_EQ_INT(dssh_buf_len(&b), expect);
	CHECK_EQ_INT(dssh_kexinit_parse(dssh_buf_ptr(&b), dssh_buf_len(&b), &k), 0);
	for (int i = 0; i < KEX_SLOTS; i++)
		CHECK_STR(k.lists[i], real_lists[i]);
	CHECK(!k.first_kex_follows);
	dssh_kexinit_free(&k);
	for (int i = 0; i < KEX_SLOTS; i++)
		CHECK(k.lists[i] == NULL);

	/* first_kex_packet_follows and trailing bytes. */
	uint8_t *p = malloc(dssh_buf_len(&b) + 3);

	memcpy(p, dssh_buf_ptr(&b), dssh_buf_len(&b));
	p[dssh_buf_len(&b) - 5] = 1;
	memset(p + dssh_buf_len(&b), 0xaa, 3);
	CHECK_EQ_INT(dssh_kexinit_parse(p, dssh_buf_len(&b) + 3, &k), 0);
	CHECK(k.first_kex_follows);
	dssh_kexinit_free(&k);
	/* A boolean other than 0/1 is still true (RFC 4251 5), or rejected: not a crash. */
	p[dssh_buf_len(&b) - 5] = 7;
	int r = dssh_kexinit_parse(p, dssh_buf_len(&b), &k);

	CHECK(r == 0 || r == DSSH_ERR_INVALID_FORMAT);
	if (r == 0)
		dssh_kexinit_free(&k);
	free(p);

	/* Two builds have different random cookies. */
	struct dssh_buf b2;

	build(&b2, real_lists);
	CHECK(memcmp(dssh_buf_ptr(&b), dssh_buf_ptr(&b2), 16) != 0);
	dssh_buf_free(&b);
	dssh_buf_free(&b2);
}

static void
test_truncation(void)
{
	struct dssh_buf b;
	struct dssh_kexinit k;

	build(&b, real_lists);
	size_t n = dssh_buf_len(&b);

	/* Every proper prefix is rejected, each from its own heap copy so ASan
	 * sees a read past the end. */
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = malloc(i ? i : 1);

		memcpy(p, dssh_buf_ptr(&b), i);
		int r = dssh_kexinit_parse(p, i, &k);

		if (r == 0) {
			fprintf(stderr, "prefix %zu of %zu accepted\n", i, n);
			dssh_kexinit_free(&k);
		}
		CHECK(r != 0);
		for (int j = 0; j < KEX_SLOTS; j++)
			CHECK(k.lists[j] == NULL);
		free(p);
	}
	dssh_buf_free(&b);
	CHECK(dssh_kexinit_parse(NULL, 0, &k) != 0);
}

static int
parse_with(const char *slot0)
{
	const char *lists[KEX_SLOTS];
	struct dssh_buf b;
	struct dssh_kexinit k;

	memcpy(lists, real_lists, sizeof(lists));
	lists[KEX_SLOT_MAC_SC] = slot0;
	build(&b, lists);
	int r = dssh_kexinit_parse(dssh_buf_ptr(&b), dssh_buf_len(&b), &k);

	if (r == 0) {
		CHECK_STR(k.lists[KEX_SLOT_MAC_SC], slot0);
		dssh_kexinit_free(&k);
	}
	dssh_buf_free(&b);
	return r;
}

static void
test_bad_names(void)
{
	static const char *const bad[] = {
		"a,,b", ",a", "a,", ",", "a b", "a\tb", "a\x01", "\x7f", "a,b\x80", " a",
		"a,b,", "a\nb",
	};

	for (size_t i = 0; i < DSSH_ARRAY_SIZE(bad); i++) {
		int r = parse_with(bad[i]);

		if (r == 0)
			fprintf(stderr, "accepted bad name-list \"%s\"\n", bad[i]);
		CHECK_EQ_INT(r, DSSH_ERR_INVALID_FORMAT);
	}
	CHECK_EQ_INT(parse_with(""), 0);
	CHECK_EQ_INT(parse_with("a"), 0);
	CHECK_EQ_INT(parse_with("a@b.c,d-e_f+g"), 0);

	/* A NUL inside a name-list (not expressible with cstrings: patch it). */
	struct dssh_buf b;
	struct dssh_kexinit k;

	build(&b, real_lists);
	uint8_t *p = malloc(dssh_buf_len(&b));

	memcpy(p, dssh_buf_ptr(&b), dssh_buf_len(&b));
	p[16 + 4 + 3] = '\0';    /* inside the first name of the kex list */
	CHECK_EQ_INT(dssh_kexinit_parse(p, dssh_buf_len(&b), &k), DSSH_ERR_INVALID_FORMAT);
	free(p);
	dssh_buf_free(&b);
}

static void
test_oversized(void)
{
	size_t big = 64 * 1024;
	char *s = malloc(big + 1);

	for (size_t i = 0; i < big; i++)
		s[i] = (i % 8 == 7) ? ',' : 'a';
	s[big] = '\0';
	s[big - 1] = 'a';
	CHECK(parse_with(s) != 0);
	/* Just past the 4096 limit, and just at it. */
	s[4097] = '\0';
	s[4096] = 'a';
	CHECK(parse_with(s) != 0);
	s[4096] = '\0';
	s[4095] = 'a';
	CHECK_EQ_INT(parse_with(s), 0);
	free(s);

	/* A length field larger than the payload. */
	uint8_t p[16 + 4];

	memset(p, 0, sizeof(p));
	dssh_put_u32be(p + 16, 0xffffffffu);
	struct dssh_kexinit k;

	CHECK(dssh_kexinit_parse(p, sizeof(p), &k) != 0);
	dssh_put_u32be(p + 16, 0x7ffffff0u);
	CHECK(dssh_kexinit_parse(p, sizeof(p), &k) != 0);
}

static void
test_negotiate(void)
{
	char *s;

	/* Client preference wins. */
	s = dssh_kex_negotiate("b,a,c", "a,b,c");
	CHECK_STR(s, "b");
	free(s);
	s = dssh_kex_negotiate("x,y,c", "a,b,c");
	CHECK_STR(s, "c");
	free(s);
	CHECK(dssh_kex_negotiate("x,y", "a,b") == NULL);
	CHECK(dssh_kex_negotiate("", "a,b") == NULL);
	CHECK(dssh_kex_negotiate("a", "") == NULL);
	/* Whole names only, no prefixes. */
	CHECK(dssh_kex_negotiate("aes128", "aes128-ctr") == NULL);
	CHECK(dssh_kex_negotiate("aes128-ctr", "aes128") == NULL);
	s = dssh_kex_negotiate("aes128,aes128-ctr", "aes128-ctr");
	CHECK_STR(s, "aes128-ctr");
	free(s);
	CHECK(dssh_namelist_has("a,bb,c", "bb"));
	CHECK(!dssh_namelist_has("a,bb,c", "b"));
	CHECK(!dssh_namelist_has("", "a"));
	s = dssh_namelist_first("x,y");
	CHECK_STR(s, "x");
	free(s);
	s = dssh_namelist_first("only");
	CHECK_STR(s, "only");
	free(s);
}

static void
mk(struct dssh_kexinit *k, const char *kex, const char *hk, const char *enc, const char *mac,
    const char *comp)
{
	memset(k, 0, sizeof(*k));
	k->lists[KEX_SLOT_KEX] = strdup(kex);
	k->lists[KEX_SLOT_HOSTKEY] = strdup(hk);
	k->lists[KEX_SLOT_ENC_CS] = strdup(enc);
	k->lists[KEX_SLOT_ENC_SC] = strdup(enc);
	k->lists[KEX_SLOT_MAC_CS] = strdup(mac);
	k->lists[KEX_SLOT_MAC_SC] = strdup(mac);
	k->lists[KEX_SLOT_COMP_CS] = strdup(comp);
	k->lists[KEX_SLOT_COMP_SC] = strdup(comp);
	k->lists[KEX_SLOT_LANG_CS] = strdup("");
	k->lists[KEX_SLOT_LANG_SC] = strdup("");
}

static void
test_choose(void)
{
	struct dssh_kexinit cl, sv;
	struct dssh_kex_result res;
	const char *failed;

	mk(&sv, "curve25519-sha256,diffie-hellman-group14-sha256", "ssh-ed25519,rsa-sha2-256",
	    "aes256-gcm@openssh.com,aes128-ctr,chacha20-poly1305@openssh.com",
	    "hmac-sha2-512,hmac-sha2-256", "none");
	mk(&cl, "diffie-hellman-group14-sha256,curve25519-sha256", "rsa-sha2-256,ssh-ed25519",
	    "aes128-ctr,aes256-gcm@openssh.com", "hmac-sha2-256,hmac-sha2-512", "zlib,none");
	CHECK_EQ_INT(dssh_kex_choose(&cl, &sv, &res, &failed), 0);
	CHECK_STR(res.kex, "diffie-hellman-group14-sha256");
	CHECK_STR(res.hostkey, "rsa-sha2-256");
	CHECK_STR(res.enc_cs, "aes128-ctr");
	CHECK_STR(res.enc_sc, "aes128-ctr");
	CHECK_STR(res.mac_cs, "hmac-sha2-256");
	CHECK_STR(res.mac_sc, "hmac-sha2-256");
	CHECK(failed == NULL);
	dssh_kex_result_free(&res);
	dssh_kexinit_free(&cl);

	/* AEAD: MAC slot ignored even when nothing would match. */
	mk(&cl, "curve25519-sha256", "ssh-ed25519", "chacha20-poly1305@openssh.com",
	    "hmac-md5", "none");
	CHECK_EQ_INT(dssh_kex_choose(&cl, &sv, &res, &failed), 0);
	CHECK_STR(res.enc_cs, "chacha20-poly1305@openssh.com");
	CHECK_STR(res.mac_cs, "");
	CHECK_STR(res.mac_sc, "");
	dssh_kex_result_free(&res);
	dssh_kexinit_free(&cl);

	/* Different ciphers per direction. */
	mk(&cl, "curve25519-sha256", "ssh-ed25519", "x", "hmac-sha2-512", "none");
	free(cl.lists[KEX_SLOT_ENC_CS]);
	free(cl.lists[KEX_SLOT_ENC_SC]);
	cl.lists[KEX_SLOT_ENC_CS] = strdup("aes256-gcm@openssh.com");
	cl.lists[KEX_SLOT_ENC_SC] = strdup("aes128-ctr");
	CHECK_EQ_INT(dssh_kex_choose(&cl, &sv, &res, &failed), 0);
	CHECK_STR(res.mac_cs, "");
	CHECK_STR(res.mac_sc, "hmac-sha2-512");
	dssh_kex_result_free(&res);
	dssh_kexinit_free(&cl);

	/* No match: failed_slot names the slot; the result is left empty. */
	static const struct {
		const char *kex, *hk, *enc, *mac, *comp, *slot;
	} nm[] = {
		{ "sntrup", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256", "none", "kex" },
		{ "curve25519-sha256", "ssh-dss", "aes128-ctr", "hmac-sha2-256", "none", "host key" },
		{ "curve25519-sha256", "ssh-ed25519", "3des-cbc", "hmac-sha2-256", "none",
		  "cipher client->server" },
		{ "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-md5", "none",
		  "MAC client->server" },
		{ "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256", "zlib",
		  "compression" },
	};
	for (size_t i = 0; i < DSSH_ARRAY_SIZE(nm); i++) {
		mk(&cl, nm[i].kex, nm[i].hk, nm[i].enc, nm[i].mac, nm[i].comp);
		CHECK_EQ_INT(dssh_kex_choose(&cl, &sv, &res, &failed), DSSH_ERR_NO_MATCH);
		CHECK_STR(failed, nm[i].slot);
		CHECK(res.kex == NULL && res.hostkey == NULL && res.enc_cs == NULL &&
		    res.mac_cs == NULL);
		dssh_kexinit_free(&cl);
	}
	/* Server->client slots name their direction. */
	mk(&cl, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256", "none");
	free(cl.lists[KEX_SLOT_ENC_SC]);
	cl.lists[KEX_SLOT_ENC_SC] = strdup("blowfish-cbc");
	CHECK_EQ_INT(dssh_kex_choose(&cl, &sv, &res, &failed), DSSH_ERR_NO_MATCH);
	CHECK_STR(failed, "cipher server->client");
	free(cl.lists[KEX_SLOT_ENC_SC]);
	cl.lists[KEX_SLOT_ENC_SC] = strdup("aes128-ctr");
	free(cl.lists[KEX_SLOT_MAC_SC]);
	cl.lists[KEX_SLOT_MAC_SC] = strdup("hmac-sha1");
	CHECK_EQ_INT(dssh_kex_choose(&cl, &sv, &res, &failed), DSSH_ERR_NO_MATCH);
	CHECK_STR(failed, "MAC server->client");
	dssh_kexinit_free(&cl);
	dssh_kexinit_free(&sv);
}

int
main(void)
{
	DSSH_RUN(test_roundtrip);
	DSSH_RUN(test_truncation);
	DSSH_RUN(test_bad_names);
	DSSH_RUN(test_oversized);
	DSSH_RUN(test_negotiate);
	DSSH_RUN(test_choose);
	DSSH_TEST_END();
}
