/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_CRYPTO_H
#define DSSH_CRYPTO_H

/*
 * Batched SSH packet protection.
 *
 * A crypto engine (one instance per core: OpenSSL EVP, IPsec-MB, DPDK
 * cryptodev) seals and opens bursts of SSH binary packets. Each packet names
 * its security association (SA): one SA per direction per key set, owned by
 * the engine, holding the keys and the per-direction counter state (GCM
 * invocation counter, CTR block counter). Packets of one SA must be submitted
 * in sequence-number order; packets of different SAs may be mixed freely in a
 * burst, which is what lets multi-buffer engines fill their lanes.
 *
 * Packet layout, processed in place (RFC 4253 section 6):
 *
 *   pkt[0..3]          uint32 packet_length (big endian)
 *   pkt[4]             padding_length
 *   pkt[5..]           payload, then padding
 *   pkt[len..len+T)    T = dssh_crypto_sa_tag_len(): MAC or AEAD tag
 *
 * with len = 4 + packet_length. Seal: the caller fills pkt[0..len) with the
 * plaintext packet and leaves T bytes of room after it; on return the buffer
 * holds the wire bytes (length field encrypted where the mode does so) and
 * the tag. Open: the caller gives the wire bytes (len + T); on success
 * pkt[0..len) is plaintext, with pkt[0..3] the plaintext length; on a
 * MAC/tag failure the op's status is DSSH_ERR_MAC_INVALID and pkt[0..len) is
 * wiped: no unauthenticated plaintext is ever released.
 *
 * Framing needs the packet length before the packet has arrived:
 * dssh_crypto_sa_peek_length() decrypts just the length from the first
 * dssh_crypto_sa_length_bytes() bytes, without changing SA state.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dssh_cipher_id {
	DSSH_CIPHER_NONE = 0,           /* before the first NEWKEYS */
	DSSH_CIPHER_AES128_GCM,         /* aes128-gcm@openssh.com */
	DSSH_CIPHER_AES256_GCM,         /* aes256-gcm@openssh.com */
	DSSH_CIPHER_CHACHA20_POLY1305,  /* chacha20-poly1305@openssh.com */
	DSSH_CIPHER_AES128_CTR,
	DSSH_CIPHER_AES192_CTR,
	DSSH_CIPHER_AES256_CTR,
};

enum dssh_mac_id {
	DSSH_MAC_NONE = 0,              /* AEAD ciphers, or before NEWKEYS */
	DSSH_MAC_HMAC_SHA2_256,
	DSSH_MAC_HMAC_SHA2_512,
	DSSH_MAC_HMAC_SHA2_256_ETM,     /* hmac-sha2-256-etm@openssh.com */
	DSSH_MAC_HMAC_SHA2_512_ETM,
	DSSH_MAC_UMAC_64_ETM,           /* umac-64-etm@openssh.com */
	DSSH_MAC_UMAC_128_ETM,
};

struct dssh_cipher_info {
	const char *name;               /* SSH wire name */
	enum dssh_cipher_id id;
	uint8_t key_len;                /* bytes of key material to derive */
	uint8_t iv_len;                 /* bytes of IV to derive */
	uint8_t block_len;              /* padding multiple (8 for chacha) */
	uint8_t tag_len;                /* AEAD tag, 0 for non-AEAD */
	bool aead;                      /* the MAC is implied (MAC list ignored) */
};

struct dssh_mac_info {
	const char *name;
	enum dssh_mac_id id;
	uint8_t key_len;
	uint8_t mac_len;
	bool etm;                       /* MAC over ciphertext, length in clear */
};

const struct dssh_cipher_info *dssh_cipher_by_name(const char *name);
const struct dssh_cipher_info *dssh_cipher_by_id(enum dssh_cipher_id id);
const struct dssh_mac_info *dssh_mac_by_name(const char *name);
const struct dssh_mac_info *dssh_mac_by_id(enum dssh_mac_id id);
/* Comma-separated lists of every supported name, in preference order. */
const char *dssh_cipher_names(void);
const char *dssh_mac_names(void);

#define DSSH_CRYPTO_MAX_KEY 64
#define DSSH_CRYPTO_MAX_IV 16
#define DSSH_CRYPTO_MAX_TAG 64

/* Key material for one direction, as derived by the key exchange. */
struct dssh_crypto_keys {
	const struct dssh_cipher_info *cipher;
	const struct dssh_mac_info *mac;      /* NULL or NONE for AEAD */
	uint8_t key[DSSH_CRYPTO_MAX_KEY];
	uint8_t iv[DSSH_CRYPTO_MAX_IV];
	uint8_t mac_key[DSSH_CRYPTO_MAX_KEY];
};

enum dssh_crypto_dir {
	DSSH_CRYPTO_SEAL = 0,
	DSSH_CRYPTO_OPEN = 1,
};

struct dssh_crypto_engine;
struct dssh_crypto_sa;

struct dssh_crypto_op {
	struct dssh_crypto_sa *sa;
	uint8_t *pkt;         /* see layout above */
	uint32_t len;         /* 4 + packet_length, excluding the tag */
	uint32_t seq;         /* SSH sequence number of this packet */
	int status;           /* out: 0, DSSH_ERR_MAC_INVALID, or another error */
	void *user;           /* caller's, untouched */
};

struct dssh_crypto_engine_conf {
	unsigned max_burst;   /* largest burst the caller will submit (0: 32) */
	int socket_id;        /* NUMA node for DPDK engines, -1: any */
	const char *devargs;  /* engine-specific, e.g. a cryptodev vdev string */
};

/* Engines compiled in, comma separated; the first is what a NULL name gives. */
const char *dssh_crypto_engine_names(void);
/*
 * A name for create: the fastest engine this build has that starts here
 * (ipsecmb, else openssl); dssh_crypto_engine_name() tells which it was.
 */
#define DSSH_CRYPTO_ENGINE_AUTO "auto"
int dssh_crypto_engine_create(const char *name, const struct dssh_crypto_engine_conf *conf,
    struct dssh_crypto_engine **out);
void dssh_crypto_engine_free(struct dssh_crypto_engine *e);
const char *dssh_crypto_engine_name(const struct dssh_crypto_engine *e);

/* keys is copied; the caller wipes its own copy. */
int dssh_crypto_sa_new(struct dssh_crypto_engine *e, const struct dssh_crypto_keys *keys,
    enum dssh_crypto_dir dir, struct dssh_crypto_sa **out);
void dssh_crypto_sa_free(struct dssh_crypto_sa *sa);   /* wipes keys; NULL ok */
size_t dssh_crypto_sa_tag_len(const struct dssh_crypto_sa *sa);
size_t dssh_crypto_sa_length_bytes(const struct dssh_crypto_sa *sa);
size_t dssh_crypto_sa_block_len(const struct dssh_crypto_sa *sa);
/* True when the 4-byte length field is part of the encrypted stream
 * (classic CTR+HMAC): padding then counts it, per RFC 4253. */
bool dssh_crypto_sa_length_encrypted(const struct dssh_crypto_sa *sa);
int dssh_crypto_sa_peek_length(struct dssh_crypto_sa *sa, uint32_t seq,
    const uint8_t *wire, size_t avail, uint32_t *packet_length);
/*
 * The same for a packet further ahead in the stream than the SA's next one,
 * as framing needs when it frames a burst before the packets ahead of it are
 * opened. block is the cipher-block index of the packet's first byte counted
 * from the start of the SA (the IV it was created with): the sum of
 * len / block_len over every earlier packet of the SA. Only classic CTR
 * (length inside the first encrypted block) uses it; the other modes read
 * the length as peek_length does (chacha20-poly1305 by seq). SA state is
 * not changed.
 */
int dssh_crypto_sa_peek_length_at(struct dssh_crypto_sa *sa, uint32_t seq, uint64_t block,
    const uint8_t *wire, size_t avail, uint32_t *packet_length);

/*
 * Burst interface, DPDK style. submit() takes up to n ops and returns how
 * many it accepted (the caller keeps the rest); complete() returns up to max
 * finished ops, in submission order per SA. Synchronous engines finish ops
 * inside submit(); asynchronous ones (cryptodev) later.
 */
unsigned dssh_crypto_submit(struct dssh_crypto_engine *e, struct dssh_crypto_op **ops, unsigned n);
unsigned dssh_crypto_complete(struct dssh_crypto_engine *e, struct dssh_crypto_op **ops, unsigned max);
/* submit + poll until all n are complete. Returns 0 when every op succeeded,
 * else the first failing op's status. */
int dssh_crypto_process(struct dssh_crypto_engine *e, struct dssh_crypto_op **ops, unsigned n);

#endif
