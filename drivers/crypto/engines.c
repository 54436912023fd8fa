/* SPDX-License-Identifier: BSD-3-Clause */
/* The engines this build has, default first. */
#include <stddef.h>

#include "dssh_crypto_driver.h"

extern const struct dssh_crypto_engine_ops dssh_crypto_openssl_ops;
#ifdef DSSH_ENGINE_IPSECMB
extern const struct dssh_crypto_engine_ops dssh_crypto_ipsecmb_ops;
#endif
#ifdef DSSH_ENGINE_CRYPTODEV
extern const struct dssh_crypto_engine_ops dssh_crypto_cryptodev_ops;
#endif

const struct dssh_crypto_engine_ops *const dssh_crypto_engine_list[] = {
	&dssh_crypto_openssl_ops,
#ifdef DSSH_ENGINE_IPSECMB
	&dssh_crypto_ipsecmb_ops,
#endif
#ifdef DSSH_ENGINE_CRYPTODEV
	&dssh_crypto_cryptodev_ops,
#endif
	NULL,
};
