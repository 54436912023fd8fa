/* SPDX-License-Identifier: BSD-3-Clause */
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "dssh_err.h"
#include "dssh_pkey.h"

int
dssh_pkey_fromdata(const char *alg, int selection, OSSL_PARAM_BLD *bld, EVP_PKEY **pkeyp)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int r = DSSH_ERR_INVALID_FORMAT;

	*pkeyp = NULL;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, pkeyp, selection, params) != 1) {
		*pkeyp = NULL;
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	/* Private values were pushed as secure BIGNUMs: this clear-frees them. */
	OSSL_PARAM_free(params);
	return r;
}

int
dssh_pkey_check(EVP_PKEY *pkey, bool priv)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	int ok;

	if (ctx == NULL)
		return DSSH_ERR_ALLOC;
	ok = priv ? EVP_PKEY_pairwise_check(ctx) : EVP_PKEY_public_check(ctx);
	EVP_PKEY_CTX_free(ctx);
	return ok == 1 ? 0 : DSSH_ERR_INVALID_FORMAT;
}
