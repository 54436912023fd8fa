/* SPDX-License-Identifier: BSD-3-Clause */
/* UMAC-64 / UMAC-128 against the test vectors of RFC 4418 appendix. */
#include <stdint.h>

#include "dssh_test.h"
#include "dssh_err.h"
#include "dssh_util.h"
#include "umac.h"

static const uint8_t rfc_key[16] = "abcdefghijklmnop";
static const uint8_t rfc_nonce[8] = "bcdefghi";

struct vec {
	const char *pattern;   /* repeated */
	size_t len;
	const char *tag64, *tag128;
};

static const struct vec vecs[] = {
	{ "a", 0, "6E155FAD26900BE1", "32FEDB100C79AD58F07FF7643CC60465" },
	{ "a", 3, "44B5CB542F220104", "185E4FE905CBA7BD85E4C2DC3D117D8D" },
	{ "a", 1 << 10, "26BF2F5D60118BD9", "7A54ABE04AF82D60FB298C3CBD195BCB" },
	{ "a", 1 << 15, "27F8EF643B0D118D", "7B136BD911E4B734286EF2BE501F2C3C" },
	{ "a", 1 << 20, "A4477E87E9F55853", "F8ACFA3AC31CFEEA047F7B115B03BEF5" },
	{ "abc", 3, "D4D7B9F6BD4FBFCF", "883C3D4B97A61976FFCF232308CBA5A5" },
	{ "abc", 1500, "D4CF26DDEFD5C01A", "8824A260C53C66A36C9260A62CB83AA1" },
};

static void
test_rfc_vectors(void)
{
	struct dssh_umac *u64 = NULL, *u128 = NULL;
	uint8_t *msg = malloc(1 << 20), tag[16], want[16];
	size_t i, k, pl;

	CHECK(msg != NULL);
	CHECK_EQ_INT(dssh_umac_new(rfc_key, 8, &u64), 0);
	CHECK_EQ_INT(dssh_umac_new(rfc_key, 16, &u128), 0);
	if (msg == NULL || u64 == NULL || u128 == NULL)
		goto out;
	for (i = 0; i < DSSH_ARRAY_SIZE(vecs); i++) {
		pl = strlen(vecs[i].pattern);
		for (k = 0; k < vecs[i].len; k++)
			msg[k] = (uint8_t)vecs[i].pattern[k % pl];
		CHECK_EQ_INT(dssh_umac_compute(u64, msg, vecs[i].len, rfc_nonce, 8, tag), 0);
		dssh_test_hex2bin(vecs[i].tag64, want, sizeof(want));
		CHECK_MEM(tag, want, 8);
		CHECK_EQ_INT(dssh_umac_compute(u128, msg, vecs[i].len, rfc_nonce, 8, tag), 0);
		dssh_test_hex2bin(vecs[i].tag128, want, sizeof(want));
		CHECK_MEM(tag, want, 16);
	}
 out:
	dssh_umac_free(u64);
	dssh_umac_free(u128);
	free(msg);
}

/* The SSH form is the generic one with nonce = uint64 BE seq; consecutive
 * nonces share one AES block in UMAC-64 (the pad cache must pick halves). */
static void
test_ssh_nonce(void)
{
	struct dssh_umac *u = NULL;
	uint8_t msg[100], a[16], b[16], prev[16], nonce[8] = { 0 };
	uint32_t seq;
	size_t tl;

	memset(msg, 0x5a, sizeof(msg));
	for (tl = 8; tl <= 16; tl += 8) {
		CHECK_EQ_INT(dssh_umac_new(rfc_key, tl, &u), 0);
		if (u == NULL)
			return;
		memset(prev, 0, sizeof(prev));
		for (seq = 0xfffffffcu; seq != 4; seq++) {
			nonce[4] = seq >> 24; nonce[5] = seq >> 16; nonce[6] = seq >> 8; nonce[7] = seq;
			CHECK_EQ_INT(dssh_umac_mac(u, seq, msg, sizeof(msg), a), 0);
			CHECK_EQ_INT(dssh_umac_compute(u, msg, sizeof(msg), nonce, 8, b), 0);
			CHECK_MEM(a, b, tl);
			CHECK(memcmp(a, prev, tl) != 0);
			memcpy(prev, a, tl);
		}
		dssh_umac_free(u);
		u = NULL;
	}
}

static void
test_bad_args(void)
{
	struct dssh_umac *u = NULL;
	uint8_t tag[16], big_nonce[17] = { 0 };
	uint8_t *huge;

	CHECK_EQ_INT(dssh_umac_new(rfc_key, 4, &u), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_umac_new(rfc_key, 12, &u), DSSH_ERR_INVALID_ARGUMENT);
	CHECK(u == NULL);
	CHECK_EQ_INT(dssh_umac_new(rfc_key, 8, NULL), DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_umac_new(rfc_key, 8, &u), 0);
	if (u == NULL)
		return;
	CHECK_EQ_INT(dssh_umac_compute(u, (const uint8_t *)"x", 1, rfc_nonce, 0, tag),
	    DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_umac_compute(u, (const uint8_t *)"x", 1, big_nonce, 17, tag),
	    DSSH_ERR_INVALID_ARGUMENT);
	CHECK_EQ_INT(dssh_umac_compute(u, NULL, 5, rfc_nonce, 8, tag), DSSH_ERR_INVALID_ARGUMENT);
	/* over 2 MiB needs the 128-bit L2 step, which is not implemented */
	if ((huge = calloc(1, (2u << 20) + 1)) != NULL) {
		CHECK_EQ_INT(dssh_umac_compute(u, huge, (2u << 20) + 1, rfc_nonce, 8, tag),
		    DSSH_ERR_INVALID_ARGUMENT);
		CHECK_EQ_INT(dssh_umac_compute(u, huge, 2u << 20, rfc_nonce, 8, tag), 0);
		free(huge);
	}
	/* a single flipped message bit changes the tag */
	{
		uint8_t m[64] = { 0 }, t0[8], t1[8];
		size_t bit;

		CHECK_EQ_INT(dssh_umac_compute(u, m, sizeof(m), rfc_nonce, 8, t0), 0);
		for (bit = 0; bit < sizeof(m) * 8; bit++) {
			m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			CHECK_EQ_INT(dssh_umac_compute(u, m, sizeof(m), rfc_nonce, 8, t1), 0);
			CHECK(memcmp(t0, t1, 8) != 0);
			m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
	dssh_umac_free(u);
	dssh_umac_free(NULL);
}

int
main(void)
{
	DSSH_RUN(test_rfc_vectors);
	DSSH_RUN(test_ssh_nonce);
	DSSH_RUN(test_bad_args);
	DSSH_TEST_END();
}
