/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK cryptodev engine: one engine instance owns one crypto device (named
 * by conf->devargs, e.g. "crypto_aesni_mb" or "crypto_openssl"; the first
 * device when NULL) and its queue pair 0; or, on a device the EAL's owner
 * set up with dssh_cryptodev_setup(), one queue pair and session pool of
 * its own among several instances (one per data core and the control
 * thread: nothing shared on the data path). The caller owns the EAL: the
 * device must exist (--vdev=... or a bound QAT function) before the engine
 * is created. Sessions are per SA; ops are enqueued in bursts and completed
 * asynchronously, returned in submission order.
 *
 * Modes: every SSH mode, each on the best path the device API allows:
 *  - aes128/256-gcm@openssh.com: one AEAD session, all on the device.
 *  - aes-ctr + hmac-sha2-256/512 (classic and -etm): one cipher+auth chain
 *    session, all on the device.
 *  - aes-ctr + umac-64/128-etm@openssh.com: no PMD has UMAC, so the session
 *    is AES-CTR cipher-only (the bulk of the work stays on the device) and
 *    the tag is computed in software with lib/crypto/umac.c, the code every
 *    engine uses: over the ciphertext after the device op on seal (in
 *    finish()), before the op is enqueued on open (build()), so a bad tag
 *    never gets decrypted and the op completes at once with MAC_INVALID.
 *  - chacha20-poly1305@openssh.com: entirely in software inside submit(),
 *    through lib/crypto/chachapoly.c (OpenSSL EVP, the openssl engine's
 *    code). DPDK 22.11 has no cipher-only ChaCha20 (no
 *    RTE_CRYPTO_CIPHER_CHACHA20), only RTE_CRYPTO_AEAD_CHACHA20_POLY1305,
 *    which is RFC 8439: its tag pads and appends the AAD/ciphertext lengths,
 *    so it is not OpenSSH's tag (Poly1305 over the raw encrypted packet),
 *    and the length field needs a second key (K_1) from block 0, which the
 *    AEAD op never exposes. Using the AEAD op as a mere keystream would
 *    still leave the length, the Poly1305 key and the tag in software and
 *    add a wasted device Poly1305 pass plus the mbuf round trip, so the
 *    software path is the best one; the op completes in the same
 *    submit/complete cycle, in order, like the CTR wrap fallback below.
 *
 * Buffers. AES-GCM and the UMAC modes' AES-CTR read and write the packet
 * where it is: the caller's buffer is attached to the op's mbuf as an
 * external buffer (rte_pktmbuf_attach_extbuf, a no-op free callback; the
 * shared info lives in the in-flight ring entry), so nothing is copied in or
 * out; the AAD (the 4 length bytes) goes in the op's private area. That is
 * done on software PMDs only (no RTE_CRYPTODEV_FF_HW_ACCELERATED: they take
 * virtual addresses); a hardware device needs DMA-able memory, so there, and
 * for the HMAC modes everywhere (the HMAC input starts with the sequence
 * number and the packet buffer has no headroom for it), the packet is
 * copied into an mbuf as seq(4) || packet || tag and the result copied back.
 * GCM open on an external buffer decrypts in place before the device's tag
 * check: a failed packet is wiped in finish(), before it is completed.
 *
 * Counter width: the aesni_mb PMD (IPsec-MB) increments only the low 32 bits
 * of an AES-CTR counter block, SSH carries through 128 bits. A packet whose
 * counter range crosses a 2^32 boundary is therefore done in software
 * (OpenSSL EVP AES-CTR, EVP_MAC HMAC or lib/crypto UMAC) inside submit(); it
 * still completes in submission order. That happens about once per 2^32
 * blocks (64 GiB).
 *
 * Modes the device has no session for (a PMD without AES-GCM, SHA-512, ...)
 * are not refused: an aes-ctr SA's packets all take the software path of
 * the counter wrap below; an aes-gcm SA's go through the reference engine
 * (OpenSSL EVP, an instance private to this one). Both inside submit(), in
 * order with the rest; the first such SA of an instance is logged. A full
 * session pool refuses the SA instead (logged): a pool sized too small
 * must not hide behind software.
 *
 * MAC checks: for HMAC the device generates the MAC and it is compared here
 * in constant time. For GCM the device verifies the tag itself (there is no
 * generate-only GCM decrypt op); a failure there is reported per op as for
 * the other engines.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <rte_cryptodev.h>
#include <rte_crypto.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "chachapoly.h"
#include "dssh_buf.h"
#include "dssh_crypto_driver.h"
#include "dssh_cryptodev.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_util.h"
#include "umac.h"

#define CDEV_INFLIGHT 128u          /* ops in flight per engine */
#define CDEV_DESC 256u              /* queue descriptors >= in flight */
#define CDEV_IV_OFF (sizeof(struct rte_crypto_op) + sizeof(struct rte_crypto_sym_op))
#define CDEV_AAD_OFF (CDEV_IV_OFF + 16)
#define CDEV_IDX_OFF (CDEV_AAD_OFF + 16)
#define CDEV_PRIV 48u
#define CDEV_MBUF_ROOM 65535u
#define CDEV_MAX_LEN (CDEV_MBUF_ROOM - RTE_PKTMBUF_HEADROOM - 4 - 2 * DSSH_CRYPTO_MAX_TAG)

enum cdev_kind {
	CK_GCM,
	CK_CTR_HMAC,      /* classic HMAC */
	CK_CTR_ETM,       /* HMAC -etm */
	CK_CTR_UMAC,      /* UMAC -etm: device AES-CTR, software UMAC */
	CK_CHACHA,        /* software only */
	CK_GCM_SW,        /* GCM without a device session: the reference engine */
};

struct cdev_sa {
	void *sess;
	enum cdev_kind kind;
	unsigned mac_len;
	uint8_t gcm_iv[12];
	uint8_t ctr[16];
	uint8_t ctr0[16];              /* counter block at the start (peek_length_at) */
	/* software path for a CTR packet crossing a 2^32 counter boundary */
	EVP_CIPHER_CTX *sw_ctr;
	EVP_MAC_CTX *sw_mac;          /* HMAC modes */
	struct dssh_umac *umac;       /* UMAC modes: every tag */
	struct dssh_chachapoly *chacha;
	struct dssh_crypto_sa *sw_sa;  /* CK_GCM_SW: on the engine's sw instance */
	bool sw_only;                  /* CTR without a device session */
};

struct cdev_pending {
	struct dssh_crypto_op *op;
	struct rte_crypto_op *cop;
	struct rte_mbuf *m;
	bool done;
	bool ext;                      /* m carries op->pkt as an external buffer */
	struct rte_mbuf_ext_shared_info shinfo;
};

struct cdev_engine {
	uint8_t dev_id;
	uint16_t qp;
	unsigned slot;                       /* shared: cdev_shared slot */
	bool started, owned, shared, sw_logged, full_logged;
	bool extbuf;                         /* software PMD: packets in place (top) */
	struct rte_mempool *sess_mp, *op_mp, *mbuf_mp;
	struct dssh_crypto_engine *sw;       /* CK_GCM_SW SAs, made on first need */
	uint64_t no_sess;                    /* bit cipher * 8 + mac: device has none */
	uint64_t dev_pkts, sw_pkts, ext_pkts;
	struct cdev_pending ring[CDEV_INFLIGHT];
	unsigned head, count;
};

static inline struct cdev_engine *
ceng(struct dssh_crypto_engine *e)
{
	return e->priv;
}

static inline struct cdev_sa *
csa(struct dssh_crypto_sa *sa)
{
	return sa->priv;
}

static unsigned cdev_instances;
/* Devices owned by an engine instance: one instance configures and starts
 * its device (a core wanting its own queue uses its own device, e.g.
 * --vdev crypto_aesni_mb0 --vdev crypto_aesni_mb1), unless the device was
 * set up for sharing (below). */
static uint64_t cdev_in_use;

/*
 * The devices set up by dssh_cryptodev_setup(): engine slots, each a queue
 * pair and a session pool of its own. Slot q is queue pair q / ndev of
 * device devs[q % ndev], so that consecutive instances (dsshd: the control
 * thread's, then one per data core) land on different devices. Set up and
 * closed by the EAL's owner while no instance uses them; the claim bits are
 * the only state instances share.
 */
#define CDEV_MAX_QPS 64u
#define CDEV_MAX_DEVS 8u
static struct {
	unsigned ndev;                    /* 0: none set up */
	int devs[CDEV_MAX_DEVS];
	unsigned nb_qps, sessions;        /* slots; sessions per slot */
	uint64_t qp_used;                 /* bit per claimed slot (atomic) */
	struct rte_mempool *sess_mp[CDEV_MAX_QPS];
} cdev_shared;

static inline int
slot_dev(unsigned q)
{
	return cdev_shared.devs[q % cdev_shared.ndev];
}

static inline uint16_t
slot_qp(unsigned q)
{
	return (uint16_t)(q / cdev_shared.ndev);
}

/* Whether dev is one of the shared devices. */
static bool
shared_dev(int dev)
{
	for (unsigned i = 0; i < cdev_shared.ndev; i++)
		if (cdev_shared.devs[i] == dev)
			return true;
	return false;
}

static void
shared_teardown(unsigned configured)
{
	unsigned i, q;

	for (i = 0; i < configured; i++) {
		rte_cryptodev_stop((uint8_t)cdev_shared.devs[i]);
		(void)rte_cryptodev_close((uint8_t)cdev_shared.devs[i]);
	}
	for (q = 0; q < CDEV_MAX_QPS; q++) {
		rte_mempool_free(cdev_shared.sess_mp[q]);
		cdev_shared.sess_mp[q] = NULL;
	}
	for (i = 0; i < cdev_shared.ndev; i++)
		__atomic_fetch_and(&cdev_in_use, ~(UINT64_C(1) << cdev_shared.devs[i]),
		    __ATOMIC_ACQ_REL);
	cdev_shared.ndev = 0;
}

/* The devices named by name (comma-separated; NULL: every crypto device),
 * claimed in cdev_in_use, into cdev_shared.devs. */
static int
shared_pick(const char *name)
{
	char list[256], *tok, *save = NULL;
	unsigned n = 0, i, count = rte_cryptodev_count();
	int dev;

	if (name == NULL) {
		for (i = 0; i < count && n < CDEV_MAX_DEVS && i < 64; i++)
			cdev_shared.devs[n++] = (int)i;
	} else {
		snprintf(list, sizeof(list), "%s", name);
		for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
			dev = rte_cryptodev_get_dev_id(tok);
			if (dev < 0 || dev >= 64 || n == CDEV_MAX_DEVS) {
				dssh_error("cryptodev: no crypto device named %s", tok);
				return DSSH_ERR_NOT_FOUND;
			}
			cdev_shared.devs[n++] = dev;
		}
	}
	if (n == 0)
		return DSSH_ERR_NOT_FOUND;
	for (i = 0; i < n; i++) {
		if ((__atomic_fetch_or(&cdev_in_use, UINT64_C(1) << cdev_shared.devs[i],
		    __ATOMIC_ACQ_REL) & (UINT64_C(1) << cdev_shared.devs[i])) != 0) {
			dssh_error("cryptodev: device %d is already owned by an engine instance",
			    cdev_shared.devs[i]);
			cdev_shared.ndev = i;      /* release only what was claimed here */
			shared_teardown(0);
			return DSSH_ERR_BUSY;
		}
	}
	cdev_shared.ndev = n;
	return 0;
}

/* Configure and start shared device number d with its share of the slots. */
static int
shared_start(unsigned d, int socket)
{
	struct rte_cryptodev_config dconf;
	struct rte_cryptodev_qp_conf qconf;
	struct rte_cryptodev_info info;
	char pname[RTE_MEMPOOL_NAMESIZE];
	int dev = cdev_shared.devs[d];
	const char *dname = rte_cryptodev_name_get((uint8_t)dev);
	unsigned nq = (cdev_shared.nb_qps - d + cdev_shared.ndev - 1) / cdev_shared.ndev, q;

	rte_cryptodev_info_get((uint8_t)dev, &info);
	if (info.max_nb_queue_pairs < nq) {
		dssh_error("cryptodev: %s (%s) has %u queue pairs, %u needed (one per data core "
		    "and one for the control thread, spread over %u device%s): add "
		    "max_nb_queue_pairs=%u to its --vdev", dname, info.driver_name,
		    info.max_nb_queue_pairs, nq, cdev_shared.ndev, cdev_shared.ndev > 1 ? "s" : "", nq);
		return DSSH_ERR_CONFIG;
	}
	if (info.sym.max_nb_sessions != 0 && info.sym.max_nb_sessions < nq * cdev_shared.sessions) {
		dssh_error("cryptodev: %s (%s) has %u sessions, %u needed (%u per queue pair)",
		    dname, info.driver_name, info.sym.max_nb_sessions, nq * cdev_shared.sessions,
		    cdev_shared.sessions);
		return DSSH_ERR_CONFIG;
	}
	memset(&dconf, 0, sizeof(dconf));
	dconf.socket_id = socket;
	dconf.nb_queue_pairs = (uint16_t)nq;
	if (rte_cryptodev_configure((uint8_t)dev, &dconf) < 0) {
		dssh_error("cryptodev: cannot configure %s (%s) with %u queue pairs", dname,
		    info.driver_name, nq);
		return DSSH_ERR_CONFIG;
	}
	for (q = d; q < cdev_shared.nb_qps; q += cdev_shared.ndev) {
		snprintf(pname, sizeof(pname), "dssh_cq%d_%u", dev, slot_qp(q));
		cdev_shared.sess_mp[q] = rte_cryptodev_sym_session_pool_create(pname,
		    cdev_shared.sessions, rte_cryptodev_sym_get_private_session_size((uint8_t)dev),
		    0, 0, socket);
		if (cdev_shared.sess_mp[q] == NULL) {
			dssh_error("cryptodev: %s: no memory for %u sessions of queue pair %u (%s)",
			    dname, cdev_shared.sessions, slot_qp(q), rte_strerror(rte_errno));
			return DSSH_ERR_CONFIG;
		}
		memset(&qconf, 0, sizeof(qconf));
		qconf.nb_descriptors = CDEV_DESC;
		qconf.mp_session = cdev_shared.sess_mp[q];
		if (rte_cryptodev_queue_pair_setup((uint8_t)dev, slot_qp(q), &qconf, socket) < 0) {
			dssh_error("cryptodev: %s: queue pair %u setup failed", dname, slot_qp(q));
			return DSSH_ERR_CONFIG;
		}
	}
	if (rte_cryptodev_start((uint8_t)dev) < 0) {
		dssh_error("cryptodev: cannot start %s (%s)", dname, info.driver_name);
		return DSSH_ERR_CONFIG;
	}
	dssh_info("cryptodev: %s (driver %s): %u queue pairs, one per engine instance, "
	    "%u sessions each (%u KiB)", dname, info.driver_name, nq, cdev_shared.sessions,
	    (unsigned)((uint64_t)cdev_shared.sessions * cdev_shared.sess_mp[d]->elt_size / 1024));
	return 0;
}

int
dssh_cryptodev_setup(const char *name, unsigned nb_qps, unsigned sessions)
{
	int socket = (int)rte_socket_id(), r;
	unsigned d;

	if (cdev_shared.ndev > 0 || nb_qps == 0 || nb_qps > CDEV_MAX_QPS || sessions == 0)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (rte_cryptodev_count() == 0) {
		dssh_error("cryptodev: no crypto device: the EAL arguments (DpdkArgs) need one, "
		    "e.g. --vdev=crypto_aesni_mb0 or --vdev=crypto_openssl0");
		return DSSH_ERR_NOT_FOUND;
	}
	if ((r = shared_pick(name)) != 0)
		return r;
	/* more devices than slots: the extra ones would have no queue pair */
	if (cdev_shared.ndev > nb_qps) {
		for (d = nb_qps; d < cdev_shared.ndev; d++)
			__atomic_fetch_and(&cdev_in_use, ~(UINT64_C(1) << cdev_shared.devs[d]),
			    __ATOMIC_ACQ_REL);
		cdev_shared.ndev = nb_qps;
	}
	cdev_shared.nb_qps = nb_qps;
	cdev_shared.sessions = sessions;
	for (d = 0; d < cdev_shared.ndev; d++) {
		if ((r = shared_start(d, socket)) != 0) {
			shared_teardown(d);       /* the started ones */
			return r;
		}
	}
	if (cdev_shared.ndev > 1)
		dssh_info("cryptodev: %u engine slots spread over %u devices", nb_qps,
		    cdev_shared.ndev);
	return 0;
}

void
dssh_cryptodev_close(void)
{
	if (cdev_shared.ndev == 0)
		return;
	if (__atomic_load_n(&cdev_shared.qp_used, __ATOMIC_ACQUIRE) != 0) {
		/* an instance still holds a queue: leave it all to the EAL */
		dssh_error("cryptodev: device %d closed with engine instances on it",
		    cdev_shared.devs[0]);
		return;
	}
	shared_teardown(cdev_shared.ndev);
}

/* A free slot (on device dev, or on any when dev < 0), or -1. */
static int
cdev_claim_qp(int dev)
{
	uint64_t used = __atomic_load_n(&cdev_shared.qp_used, __ATOMIC_ACQUIRE);
	unsigned q;

	do {
		for (q = 0; q < cdev_shared.nb_qps; q++)
			if ((used & (UINT64_C(1) << q)) == 0 && (dev < 0 || slot_dev(q) == dev))
				break;
		if (q == cdev_shared.nb_qps)
			return -1;
	} while (!__atomic_compare_exchange_n(&cdev_shared.qp_used, &used,
	    used | (UINT64_C(1) << q), false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	return (int)q;
}

static void
cdev_release(struct cdev_engine *ce)
{
	if (ce->shared)
		__atomic_fetch_and(&cdev_shared.qp_used, ~(UINT64_C(1) << ce->slot), __ATOMIC_ACQ_REL);
	else if (ce->owned)
		__atomic_fetch_and(&cdev_in_use, ~(UINT64_C(1) << ce->dev_id), __ATOMIC_ACQ_REL);
	if (!ce->shared)
		rte_mempool_free(ce->sess_mp);
}

static int
cdev_engine_init(struct dssh_crypto_engine *e, const struct dssh_crypto_engine_conf *conf)
{
	struct cdev_engine *ce = ceng(e);
	struct rte_cryptodev_config dconf;
	struct rte_cryptodev_qp_conf qconf;
	struct rte_cryptodev_info info;
	char name[RTE_MEMPOOL_NAMESIZE];
	unsigned inst = __atomic_fetch_add(&cdev_instances, 1, __ATOMIC_RELAXED);
	int dev, q, socket = conf && conf->socket_id >= 0 ? conf->socket_id : SOCKET_ID_ANY;
	int r = DSSH_ERR_UNSUPPORTED;

	if (rte_cryptodev_count() == 0) {
		dssh_error("cryptodev: no crypto device (is the EAL up with a crypto vdev?)");
		return DSSH_ERR_UNSUPPORTED;
	}
	/* devargs NULL: a slot of the shared devices if set up, else device 0 */
	dev = conf && conf->devargs ? rte_cryptodev_get_dev_id(conf->devargs) :
	    cdev_shared.ndev > 0 ? -2 : 0;
	if (dev == -1) {
		dssh_error("cryptodev: no device named %s", conf->devargs);
		return DSSH_ERR_NOT_FOUND;
	}
	if (dev == -2 || shared_dev(dev)) {
		if ((q = cdev_claim_qp(dev)) < 0) {
			dssh_error("cryptodev: all %u queue pairs of %s are taken (one per engine "
			    "instance: each data core and the control thread)", cdev_shared.nb_qps,
			    dev >= 0 ? rte_cryptodev_name_get((uint8_t)dev) : "the crypto devices");
			return DSSH_ERR_BUSY;
		}
		dev = slot_dev((unsigned)q);
		ce->dev_id = (uint8_t)dev;
		ce->qp = slot_qp((unsigned)q);
		ce->slot = (unsigned)q;
		ce->shared = true;
		ce->sess_mp = cdev_shared.sess_mp[q];
	} else {
		if (dev >= 64 || (__atomic_fetch_or(&cdev_in_use, UINT64_C(1) << dev,
		    __ATOMIC_ACQ_REL) & (UINT64_C(1) << dev)) != 0) {
			dssh_error("cryptodev: device %d is already owned by another engine instance",
			    dev);
			return DSSH_ERR_BUSY;
		}
		ce->dev_id = (uint8_t)dev;
		ce->owned = true;
		snprintf(name, sizeof(name), "dssh_cs%u", inst);
		ce->sess_mp = rte_cryptodev_sym_session_pool_create(name, 1024,
		    rte_cryptodev_sym_get_private_session_size(ce->dev_id), 0, 0, socket);
	}
	rte_cryptodev_info_get(ce->dev_id, &info);
	snprintf(name, sizeof(name), "dssh_co%u", inst);
	ce->op_mp = rte_crypto_op_pool_create(name, RTE_CRYPTO_OP_TYPE_SYMMETRIC,
	    2 * CDEV_INFLIGHT, 0, CDEV_PRIV, socket);
	snprintf(name, sizeof(name), "dssh_cm%u", inst);
	ce->mbuf_mp = rte_pktmbuf_pool_create(name, 2 * CDEV_INFLIGHT, 0, 0,
	    CDEV_MBUF_ROOM, socket);
	ce->extbuf = (info.feature_flags & RTE_CRYPTODEV_FF_HW_ACCELERATED) == 0 &&
	    getenv("DSSH_CRYPTODEV_COPY") == NULL;
	if (ce->sess_mp == NULL || ce->op_mp == NULL || ce->mbuf_mp == NULL) {
		dssh_error("cryptodev: no DPDK memory for an engine instance's pools (%s)",
		    rte_strerror(rte_errno));
		r = DSSH_ERR_ALLOC;
		goto fail;
	}
	if (ce->shared) {
		dssh_info("cryptodev: engine instance on %s (%s) queue pair %u",
		    rte_cryptodev_name_get(ce->dev_id), info.driver_name, ce->qp);
		return 0;
	}
	memset(&dconf, 0, sizeof(dconf));
	dconf.socket_id = socket == SOCKET_ID_ANY ? (int)rte_socket_id() : socket;
	dconf.nb_queue_pairs = 1;
	memset(&qconf, 0, sizeof(qconf));
	qconf.nb_descriptors = CDEV_DESC;
	qconf.mp_session = ce->sess_mp;
	if (rte_cryptodev_configure(ce->dev_id, &dconf) < 0 ||
	    rte_cryptodev_queue_pair_setup(ce->dev_id, 0, &qconf, dconf.socket_id) < 0 ||
	    rte_cryptodev_start(ce->dev_id) < 0) {
		dssh_error("cryptodev: cannot start device %u (%s)", ce->dev_id, info.driver_name);
		r = DSSH_ERR_SYSTEM;
		goto fail;
	}
	ce->started = true;
	dssh_verbose("cryptodev: device %u driver %s", ce->dev_id, info.driver_name);
	return 0;
 fail:
	rte_mempool_free(ce->mbuf_mp);
	rte_mempool_free(ce->op_mp);
	cdev_release(ce);
	memset(ce, 0, sizeof(*ce));
	return r;
}

static void cdev_poll(struct cdev_engine *ce);

static void
cdev_engine_fini(struct dssh_crypto_engine *e)
{
	struct cdev_engine *ce = ceng(e);

	/* finish what is in flight so that no mbuf holds data */
	while (ce->count > 0) {
		cdev_poll(ce);
		while (ce->count > 0 && ce->ring[ce->head].done) {
			ce->head = (ce->head + 1) % CDEV_INFLIGHT;
			ce->count--;
		}
	}
	if (ce->shared)
		dssh_info("cryptodev: queue pair %u done: %" PRIu64 " packets on the device (%"
		    PRIu64 " in place), %" PRIu64 " in software; %s", ce->qp, ce->dev_pkts,
		    ce->ext_pkts, ce->sw_pkts, rte_cryptodev_name_get(ce->dev_id));
	if (ce->started)
		rte_cryptodev_stop(ce->dev_id);
	rte_mempool_free(ce->mbuf_mp);
	rte_mempool_free(ce->op_mp);
	cdev_release(ce);
	dssh_crypto_engine_free(ce->sw);
	memset(ce, 0, sizeof(*ce));
}

static void
cdev_sa_fini(struct dssh_crypto_sa *sa)
{
	struct cdev_sa *s = csa(sa);
	struct cdev_engine *ce = ceng(sa->engine);

	if (s->sess != NULL)
		rte_cryptodev_sym_session_free(ce->dev_id, s->sess);
	EVP_CIPHER_CTX_free(s->sw_ctr);
	EVP_MAC_CTX_free(s->sw_mac);
	dssh_umac_free(s->umac);
	dssh_chachapoly_free(s->chacha);
	dssh_crypto_sa_free(s->sw_sa);
	dssh_wipe(s, sizeof(*s));
}

/* No device session for this mode: software (see top of file). */
static int
cdev_sw_sa(struct dssh_crypto_sa *sa, const struct dssh_crypto_keys *keys)
{
	struct cdev_sa *s = csa(sa);
	struct cdev_engine *ce = ceng(sa->engine);
	int r;

	if (!ce->sw_logged)
		dssh_info("cryptodev: %s has no session for %s/%s: its packets are sealed and "
		    "opened in software (OpenSSL)", rte_cryptodev_name_get(ce->dev_id),
		    sa->cipher->name, sa->mac->name);
	ce->sw_logged = true;
	if (s->kind != CK_GCM) {
		s->sw_only = true;        /* the CTR wrap's path, every packet */
		return 0;
	}
	if (ce->sw == NULL && (r = dssh_crypto_engine_create("openssl", NULL, &ce->sw)) != 0)
		return r;
	s->kind = CK_GCM_SW;
	return dssh_crypto_sa_new(ce->sw, keys, sa->dir, &s->sw_sa);
}

static int
cdev_sa_init(struct dssh_crypto_sa *sa, const struct dssh_crypto_keys *keys)
{
	struct cdev_sa *s = csa(sa);
	struct cdev_engine *ce = ceng(sa->engine);
	struct rte_crypto_sym_xform x[2];
	bool seal = sa->dir == DSSH_CRYPTO_SEAL;
	const char *digest = NULL;
	EVP_MAC *mac = NULL;
	OSSL_PARAM params[2];
	const EVP_CIPHER *ctr;
	uint64_t nosess;
	int r = DSSH_ERR_UNSUPPORTED;

	memset(x, 0, sizeof(x));
	switch (sa->cipher->id) {
	case DSSH_CIPHER_AES128_GCM:
	case DSSH_CIPHER_AES256_GCM:
		s->kind = CK_GCM;
		x[0].type = RTE_CRYPTO_SYM_XFORM_AEAD;
		x[0].aead.op = seal ? RTE_CRYPTO_AEAD_OP_ENCRYPT : RTE_CRYPTO_AEAD_OP_DECRYPT;
		x[0].aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
		x[0].aead.key.data = keys->key;
		x[0].aead.key.length = sa->cipher->key_len;
		x[0].aead.iv.offset = CDEV_IV_OFF;
		x[0].aead.iv.length = 12;
		x[0].aead.digest_length = 16;
		x[0].aead.aad_length = 4;
		memcpy(s->gcm_iv, keys->iv, 12);
		break;
	case DSSH_CIPHER_CHACHA20_POLY1305:
		/* no device session (see top of file) */
		s->kind = CK_CHACHA;
		s->mac_len = 16;
		return dssh_chachapoly_new(keys->key, &s->chacha);
	case DSSH_CIPHER_AES128_CTR:
	case DSSH_CIPHER_AES192_CTR:
	case DSSH_CIPHER_AES256_CTR: {
		struct rte_crypto_sym_xform *c, *a;

		switch (sa->mac->id) {
		case DSSH_MAC_HMAC_SHA2_256:
		case DSSH_MAC_HMAC_SHA2_256_ETM:
			digest = "SHA256";
			break;
		case DSSH_MAC_HMAC_SHA2_512:
		case DSSH_MAC_HMAC_SHA2_512_ETM:
			digest = "SHA512";
			break;
		case DSSH_MAC_UMAC_64_ETM:
		case DSSH_MAC_UMAC_128_ETM:
			break;            /* cipher-only session (see top of file) */
		default:
			return DSSH_ERR_UNSUPPORTED;
		}
		s->kind = digest == NULL ? CK_CTR_UMAC : sa->mac->etm ? CK_CTR_ETM : CK_CTR_HMAC;
		s->mac_len = sa->mac->mac_len;
		/* UMAC: the cipher alone. HMAC: MAC first for seal classic
		 * (over plaintext) and open ETM (over ciphertext); cipher
		 * first otherwise. */
		if (digest == NULL) {
			c = &x[0]; a = NULL;
		} else if ((seal && !sa->mac->etm) || (!seal && sa->mac->etm)) {
			a = &x[0]; c = &x[1];
			x[0].next = &x[1];
		} else {
			c = &x[0]; a = &x[1];
			x[0].next = &x[1];
		}
		c->type = RTE_CRYPTO_SYM_XFORM_CIPHER;
		/* CTR decryption is the same keystream XOR; the aesni_mb PMD
		 * refuses CTR with OP_DECRYPT, so both directions encrypt. */
		c->cipher.op = RTE_CRYPTO_CIPHER_OP_ENCRYPT;
		c->cipher.algo = RTE_CRYPTO_CIPHER_AES_CTR;
		c->cipher.key.data = keys->key;
		c->cipher.key.length = sa->cipher->key_len;
		c->cipher.iv.offset = CDEV_IV_OFF;
		c->cipher.iv.length = 16;
		if (a != NULL) {
			a->type = RTE_CRYPTO_SYM_XFORM_AUTH;
			a->auth.op = RTE_CRYPTO_AUTH_OP_GENERATE;   /* compared here */
			a->auth.algo = s->mac_len == 32 ? RTE_CRYPTO_AUTH_SHA256_HMAC :
			    RTE_CRYPTO_AUTH_SHA512_HMAC;
			a->auth.key.data = keys->mac_key;
			a->auth.key.length = sa->mac->key_len;
			a->auth.digest_length = (uint16_t)s->mac_len;
		}
		memcpy(s->ctr, keys->iv, 16);
		memcpy(s->ctr0, keys->iv, 16);
		/* software fallback contexts (see top of file) */
		ctr = sa->cipher->key_len == 16 ? EVP_aes_128_ctr() :
		    sa->cipher->key_len == 24 ? EVP_aes_192_ctr() : EVP_aes_256_ctr();
		if ((s->sw_ctr = EVP_CIPHER_CTX_new()) == NULL ||
		    EVP_CipherInit_ex(s->sw_ctr, ctr, NULL, keys->key, keys->iv, 1) != 1) {
			r = DSSH_ERR_LIBCRYPTO;
			goto fail;
		}
		if (digest == NULL) {
			if ((r = dssh_umac_new(keys->mac_key, s->mac_len, &s->umac)) != 0)
				goto fail;
			break;
		}
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    (char *)digest, 0);
		params[1] = OSSL_PARAM_construct_end();
		if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
		    (s->sw_mac = EVP_MAC_CTX_new(mac)) == NULL ||
		    EVP_MAC_init(s->sw_mac, keys->mac_key, sa->mac->key_len, params) != 1) {
			r = DSSH_ERR_LIBCRYPTO;
			goto fail;
		}
		EVP_MAC_free(mac);
		mac = NULL;
		break;
	}
	default:
		return DSSH_ERR_UNSUPPORTED;
	}
	nosess = UINT64_C(1) << ((sa->cipher->id & 7) * 8 + (sa->mac->id & 7));
	if ((ce->no_sess & nosess) == 0) {
		/* (once the device said no, it is not asked, nor logged, again) */
		if ((s->sess = rte_cryptodev_sym_session_create(ce->dev_id, x,
		    ce->sess_mp)) != NULL) {
			ce->full_logged = false;
			return 0;
		}
		if (rte_errno == ENOMEM) {
			/* every session of this instance's pool is in use */
			if (!ce->full_logged)
				dssh_error("cryptodev: %s queue pair %u: all %u sessions in use (two "
				    "per connection): new keys refused", rte_cryptodev_name_get(ce->dev_id),
				    ce->qp, ce->sess_mp->size);
			ce->full_logged = true;
			r = DSSH_ERR_ALLOC;
			goto fail;
		}
		dssh_debug("cryptodev: device %u has no session for %s/%s", ce->dev_id,
		    sa->cipher->name, sa->mac->name);
		ce->no_sess |= nosess;
	}
	if ((r = cdev_sw_sa(sa, keys)) != 0)
		goto fail;
	return 0;
 fail:
	EVP_MAC_free(mac);
	EVP_CIPHER_CTX_free(s->sw_ctr);
	EVP_MAC_CTX_free(s->sw_mac);
	dssh_umac_free(s->umac);
	s->sw_ctr = NULL;
	s->sw_mac = NULL;
	s->umac = NULL;
	return r;
}

static inline void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

/* Software MAC of the packet: HMAC(seq || pkt) or UMAC (nonce seq). */
static int
sw_mac(struct cdev_sa *s, uint32_t seq, const uint8_t *pkt, uint32_t len, uint8_t mac[64])
{
	uint8_t seqb[4];
	size_t ml = 0;

	if (s->umac != NULL)
		return dssh_umac_mac(s->umac, seq, pkt, len, mac);
	put_be32(seqb, seq);
	if (EVP_MAC_init(s->sw_mac, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(s->sw_mac, seqb, 4) != 1 ||
	    EVP_MAC_update(s->sw_mac, pkt, len) != 1 ||
	    EVP_MAC_final(s->sw_mac, mac, &ml, 64) != 1 || ml != s->mac_len)
		return DSSH_ERR_LIBCRYPTO;
	return 0;
}

/* The whole packet in software (CTR counter crosses 2^32; see top). */
static int
sw_ctr_mac(struct dssh_crypto_sa *sa, struct dssh_crypto_op *op, const uint8_t iv[16])
{
	struct cdev_sa *s = csa(sa);
	bool seal = sa->dir == DSSH_CRYPTO_SEAL, etm = s->kind != CK_CTR_HMAC;
	uint8_t mac[64];
	uint32_t off = etm ? 4 : 0;
	int ol = 0, r = DSSH_ERR_LIBCRYPTO;

	if (EVP_CipherInit_ex(s->sw_ctr, NULL, NULL, NULL, iv, -1) != 1)
		goto out;
	/* the MAC input is the plaintext (classic) or ciphertext (etm) */
	if (seal == etm) {
		if (EVP_CipherUpdate(s->sw_ctr, op->pkt + off, &ol, op->pkt + off,
		    (int)(op->len - off)) != 1 ||
		    (r = sw_mac(s, op->seq, op->pkt, op->len, mac)) != 0)
			goto out;
	} else {
		if ((r = sw_mac(s, op->seq, op->pkt, op->len, mac)) != 0)
			goto out;
		r = DSSH_ERR_LIBCRYPTO;
		if (EVP_CipherUpdate(s->sw_ctr, op->pkt + off, &ol, op->pkt + off,
		    (int)(op->len - off)) != 1)
			goto out;
	}
	if (seal)
		memcpy(op->pkt + op->len, mac, s->mac_len);
	else if (dssh_ct_memcmp(mac, op->pkt + op->len, s->mac_len) != 0) {
		r = DSSH_ERR_MAC_INVALID;
		goto out;
	}
	r = 0;
 out:
	dssh_wipe(mac, sizeof(mac));
	return r;
}

static int
op_check(const struct dssh_crypto_op *op)
{
	const struct dssh_crypto_sa *sa = op->sa;
	uint32_t bl = sa->cipher->block_len;

	/* 12: the smallest chacha20-poly1305 packet (block 8), e.g. NEWKEYS */
	if (op->pkt == NULL || op->len < (csa((struct dssh_crypto_sa *)sa)->kind == CK_CHACHA ?
	    12u : 16u) || op->len > CDEV_MAX_LEN)
		return DSSH_ERR_INVALID_ARGUMENT;
	if (csa((struct dssh_crypto_sa *)sa)->kind == CK_CTR_HMAC)
		return op->len % bl == 0 ? 0 : DSSH_ERR_INVALID_ARGUMENT;
	return (op->len - 4) % bl == 0 ? 0 : DSSH_ERR_INVALID_ARGUMENT;
}

/* The caller's buffer stays the caller's: nothing to free when the mbuf goes. */
static void
ext_keep(void *addr, void *opaque)
{
	(void)addr;
	(void)opaque;
}

/* pkt[0, n) as m's data, in place (see top of file). */
static void
attach_packet(struct rte_mbuf *m, struct cdev_pending *p, uint8_t *pkt, uint32_t n)
{
	p->shinfo.free_cb = ext_keep;
	p->shinfo.fcb_opaque = NULL;
	rte_mbuf_ext_refcnt_set(&p->shinfo, 1);
	/* software PMDs use the virtual address; the IOVA is never read */
	rte_pktmbuf_attach_extbuf(m, pkt, (rte_iova_t)(uintptr_t)pkt, (uint16_t)n, &p->shinfo);
	m->data_len = (uint16_t)n;
	m->pkt_len = n;
	p->ext = true;
}

/* Fill a device op for op; 1 if queued for the device, 0 if finished here. */
static int
build(struct cdev_engine *ce, struct dssh_crypto_op *op, struct cdev_pending *p, unsigned idx)
{
	struct dssh_crypto_sa *sa = op->sa;
	struct cdev_sa *s = csa(sa);
	bool seal = sa->dir == DSSH_CRYPTO_SEAL;
	uint32_t len = op->len, tl = s->kind == CK_GCM ? 16 : s->mac_len, nblk = 0, off, hdr;
	struct rte_crypto_op *cop;
	struct rte_mbuf *m;
	uint8_t *d, *iv;
	int r;

	if (s->kind == CK_GCM_SW) {
		struct dssh_crypto_op o = *op, *po = &o;

		o.sa = s->sw_sa;
		(void)dssh_crypto_process(ce->sw, &po, 1);
		op->status = o.status;
		ce->sw_pkts++;
		return 0;
	}
	if ((r = op_check(op)) != 0) {
		op->status = r;
		return 0;
	}
	if (s->kind == CK_CHACHA) {
		ce->sw_pkts++;
		/* software, finished here (see top of file) */
		op->status = seal ? dssh_chachapoly_seal(s->chacha, op->seq, op->pkt, len) :
		    dssh_chachapoly_open(s->chacha, op->seq, op->pkt, len);
		if (op->status != 0 && !seal)
			dssh_wipe(op->pkt, len);
		return 0;
	}
	if (s->kind != CK_GCM) {
		off = s->kind == CK_CTR_HMAC ? 0 : 4;
		nblk = (len - off) / 16;
		if (s->sw_only ||
		    (uint64_t)dssh_get_u32be(s->ctr + 12) + nblk > UINT32_MAX + (uint64_t)1) {
			uint8_t civ[16];

			memcpy(civ, s->ctr, 16);
			dssh_crypto_ctr_add(s->ctr, nblk);
			ce->sw_pkts++;
			op->status = sw_ctr_mac(sa, op, civ);
			if (op->status != 0 && !seal)
				dssh_wipe(op->pkt, len);
			return 0;
		}
	}
	if (s->kind == CK_CTR_UMAC && !seal) {
		/* ETM: verify before anything is decrypted; a bad packet
		 * still consumes its counter range, as on the device path */
		uint8_t mac[64];

		r = sw_mac(s, op->seq, op->pkt, len, mac);
		if (r == 0 && dssh_ct_memcmp(mac, op->pkt + len, s->mac_len) != 0)
			r = DSSH_ERR_MAC_INVALID;
		dssh_wipe(mac, sizeof(mac));
		if (r != 0) {
			dssh_crypto_ctr_add(s->ctr, nblk);
			dssh_wipe(op->pkt, len);
			op->status = r;
			return 0;
		}
	}
	if ((cop = rte_crypto_op_alloc(ce->op_mp, RTE_CRYPTO_OP_TYPE_SYMMETRIC)) == NULL)
		return -1;
	if ((m = rte_pktmbuf_alloc(ce->mbuf_mp)) == NULL) {
		rte_crypto_op_free(cop);
		return -1;
	}
	/* hdr: where packet byte 0 sits in the mbuf's data */
	if (ce->extbuf && (s->kind == CK_GCM || s->kind == CK_CTR_UMAC)) {
		attach_packet(m, p, op->pkt, len + tl);
		d = op->pkt;
		hdr = 0;
		ce->ext_pkts++;
	} else if ((d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(4 + len + 2 * tl))) == NULL) {
		rte_pktmbuf_free(m);
		rte_crypto_op_free(cop);
		return -1;
	} else {
		put_be32(d, op->seq);
		memcpy(d + 4, op->pkt, len + (seal ? 0 : tl));
		d += 4;
		hdr = 4;
	}
	rte_crypto_op_attach_sym_session(cop, s->sess);
	cop->sym->m_src = m;
	cop->sym->m_dst = NULL;
	iv = rte_crypto_op_ctod_offset(cop, uint8_t *, CDEV_IV_OFF);
	*rte_crypto_op_ctod_offset(cop, uint32_t *, CDEV_IDX_OFF) = idx;
	if (s->kind == CK_GCM) {
		uint8_t *aad = rte_crypto_op_ctod_offset(cop, uint8_t *, CDEV_AAD_OFF);

		memcpy(iv, s->gcm_iv, 12);
		dssh_crypto_gcm_iv_inc(s->gcm_iv);
		memcpy(aad, op->pkt, 4);
		cop->sym->aead.data.offset = hdr + 4;
		cop->sym->aead.data.length = len - 4;
		cop->sym->aead.aad.data = aad;
		cop->sym->aead.aad.phys_addr = rte_crypto_op_ctophys_offset(cop, CDEV_AAD_OFF);
		cop->sym->aead.digest.data = d + len;
		cop->sym->aead.digest.phys_addr = rte_pktmbuf_iova_offset(m, hdr + len);
	} else {
		off = s->kind == CK_CTR_HMAC ? 0 : 4;
		memcpy(iv, s->ctr, 16);
		dssh_crypto_ctr_add(s->ctr, (len - off) / 16);
		cop->sym->cipher.data.offset = hdr + off;
		cop->sym->cipher.data.length = len - off;
		if (s->kind == CK_CTR_UMAC)
			goto out;         /* cipher-only session */
		cop->sym->auth.data.offset = 0;
		cop->sym->auth.data.length = 4 + len;
		/* seal: the tag's place; open: after the received tag */
		off = seal ? len : len + tl;
		cop->sym->auth.digest.data = d + off;
		cop->sym->auth.digest.phys_addr = rte_pktmbuf_iova_offset(m, hdr + off);
	}
 out:
	p->cop = cop;
	p->m = m;
	ce->dev_pkts++;
	return 1;
}

static void
release(struct cdev_pending *p)
{
	rte_pktmbuf_free(p->m);
	rte_crypto_op_free(p->cop);
	p->m = NULL;
	p->cop = NULL;
	p->ext = false;
	p->done = true;
}

/* An op done in place (GCM, UMAC's CTR): only the status, the UMAC tag on
 * seal, and the wipe of a packet that failed to open. */
static void
finish_ext(struct cdev_pending *p, struct cdev_sa *s, bool seal)
{
	struct dssh_crypto_op *op = p->op;
	int st = 0;

	if (p->cop->status == RTE_CRYPTO_OP_STATUS_AUTH_FAILED)
		st = DSSH_ERR_MAC_INVALID;
	else if (p->cop->status != RTE_CRYPTO_OP_STATUS_SUCCESS)
		st = DSSH_ERR_LIBCRYPTO;
	else if (seal && s->kind == CK_CTR_UMAC)
		st = dssh_umac_mac(s->umac, op->seq, op->pkt, op->len, op->pkt + op->len);
	if (st != 0 && !seal)
		dssh_wipe(op->pkt, op->len);
	op->status = st;
	release(p);
}

/* Copy results back and release the device op. */
static void
finish(struct cdev_pending *p)
{
	struct dssh_crypto_op *op = p->op;
	struct cdev_sa *s = csa(op->sa);
	bool seal = op->sa->dir == DSSH_CRYPTO_SEAL;
	uint32_t len = op->len, tl = s->kind == CK_GCM ? 16 : s->mac_len;
	uint8_t *d = rte_pktmbuf_mtod(p->m, uint8_t *);
	int st = 0;

	if (p->ext) {
		finish_ext(p, s, seal);
		return;
	}
	if (p->cop->status == RTE_CRYPTO_OP_STATUS_AUTH_FAILED)
		st = DSSH_ERR_MAC_INVALID;
	else if (p->cop->status != RTE_CRYPTO_OP_STATUS_SUCCESS)
		st = DSSH_ERR_LIBCRYPTO;
	else if (!seal && (s->kind == CK_CTR_HMAC || s->kind == CK_CTR_ETM) &&
	    dssh_ct_memcmp(d + 4 + len, d + 4 + len + tl, tl) != 0)
		st = DSSH_ERR_MAC_INVALID;
	if (st == 0 && s->kind == CK_CTR_UMAC) {
		/* the tag was checked in build() on open; on seal it is
		 * computed here over the device's ciphertext */
		memcpy(op->pkt, d + 4, len);
		if (seal)
			st = dssh_umac_mac(s->umac, op->seq, op->pkt, len, op->pkt + len);
	} else if (st == 0)
		memcpy(op->pkt, d + 4, len + (seal ? tl : 0));
	else if (!seal)
		dssh_wipe(op->pkt, len);
	op->status = st;
	dssh_wipe(d, 4 + len + 2 * tl);
	release(p);
}

static void
cdev_poll(struct cdev_engine *ce)
{
	struct rte_crypto_op *cops[32];
	uint16_t n, i;

	do {
		n = rte_cryptodev_dequeue_burst(ce->dev_id, ce->qp, cops, 32);
		for (i = 0; i < n; i++) {
			uint32_t idx = *rte_crypto_op_ctod_offset(cops[i], uint32_t *, CDEV_IDX_OFF);

			finish(&ce->ring[idx % CDEV_INFLIGHT]);
		}
	} while (n == 32);
}

static unsigned
cdev_submit(struct dssh_crypto_engine *e, struct dssh_crypto_op **ops, unsigned n)
{
	struct cdev_engine *ce = ceng(e);
	struct rte_crypto_op *cops[CDEV_INFLIGHT];
	unsigned i, k = 0, sent = 0, idx;
	uint16_t q;
	int b;

	for (i = 0; i < n && ce->count < CDEV_INFLIGHT; i++) {
		idx = (ce->head + ce->count) % CDEV_INFLIGHT;
		memset(&ce->ring[idx], 0, sizeof(ce->ring[idx]));
		ce->ring[idx].op = ops[i];
		if ((b = build(ce, ops[i], &ce->ring[idx], idx)) < 0)
			break;            /* pools empty: the caller keeps the rest */
		ce->count++;
		if (b == 0)
			ce->ring[idx].done = true;
		else
			cops[k++] = ce->ring[idx].cop;
	}
	/* in flight never exceeds the descriptors, so this drains quickly */
	while (sent < k) {
		q = rte_cryptodev_enqueue_burst(ce->dev_id, ce->qp, cops + sent, (uint16_t)(k - sent));
		sent += q;
		if (sent < k)
			cdev_poll(ce);
	}
	return i;
}

static unsigned
cdev_complete(struct dssh_crypto_engine *e, struct dssh_crypto_op **ops, unsigned max)
{
	struct cdev_engine *ce = ceng(e);
	unsigned n = 0;

	cdev_poll(ce);
	while (n < max && ce->count > 0 && ce->ring[ce->head].done) {
		ops[n++] = ce->ring[ce->head].op;
		ce->head = (ce->head + 1) % CDEV_INFLIGHT;
		ce->count--;
	}
	return n;
}

/* classic: decrypt the first block with counter block ctr, in software (one
 * block; keeps the device queue out of framing) */
static int
ctr_first_block(struct cdev_sa *s, const uint8_t ctr[16], const uint8_t *wire,
    uint32_t *packet_length)
{
	uint8_t blk[16];
	int ol = 0;

	if (EVP_CipherInit_ex(s->sw_ctr, NULL, NULL, NULL, ctr, -1) != 1 ||
	    EVP_CipherUpdate(s->sw_ctr, blk, &ol, wire, 16) != 1)
		return DSSH_ERR_LIBCRYPTO;
	*packet_length = dssh_get_u32be(blk);
	dssh_wipe(blk, sizeof(blk));
	return 0;
}

static int
cdev_peek_length(struct dssh_crypto_sa *sa, uint32_t seq, const uint8_t *wire,
    uint32_t *packet_length)
{
	struct cdev_sa *s = csa(sa);

	if (s->kind == CK_GCM_SW)
		return dssh_crypto_sa_peek_length(s->sw_sa, seq, wire,
		    dssh_crypto_sa_length_bytes(s->sw_sa), packet_length);
	if (s->kind == CK_CHACHA)
		return dssh_chachapoly_length(s->chacha, seq, wire, packet_length);
	if (s->kind != CK_CTR_HMAC) {
		*packet_length = dssh_get_u32be(wire);
		return 0;
	}
	return ctr_first_block(s, s->ctr, wire, packet_length);
}

static int
cdev_peek_length_at(struct dssh_crypto_sa *sa, uint32_t seq, uint64_t block,
    const uint8_t *wire, uint32_t *packet_length)
{
	struct cdev_sa *s = csa(sa);
	uint8_t ctr[16];
	int r;

	if (s->kind == CK_GCM_SW)
		return dssh_crypto_sa_peek_length_at(s->sw_sa, seq, block, wire,
		    dssh_crypto_sa_length_bytes(s->sw_sa), packet_length);
	if (s->kind != CK_CTR_HMAC)
		return cdev_peek_length(sa, seq, wire, packet_length);
	memcpy(ctr, s->ctr0, 16);
	dssh_crypto_ctr_add(ctr, block);
	r = ctr_first_block(s, ctr, wire, packet_length);
	dssh_wipe(ctr, sizeof(ctr));
	return r;
}

const struct dssh_crypto_engine_ops dssh_crypto_cryptodev_ops;

int
dssh_cryptodev_stats(const struct dssh_crypto_engine *e, struct dssh_cryptodev_stats *st)
{
	const struct cdev_engine *ce;

	if (e == NULL || st == NULL || e->ops != &dssh_crypto_cryptodev_ops)
		return DSSH_ERR_INVALID_ARGUMENT;
	ce = e->priv;
	st->device = ce->dev_pkts;
	st->in_place = ce->ext_pkts;
	st->software = ce->sw_pkts;
	st->dev_id = ce->dev_id;
	st->queue_pair = ce->qp;
	return 0;
}

const struct dssh_crypto_engine_ops dssh_crypto_cryptodev_ops = {
	.name = "cryptodev",
	.engine_priv_size = sizeof(struct cdev_engine),
	.sa_priv_size = sizeof(struct cdev_sa),
	.engine_init = cdev_engine_init,
	.engine_fini = cdev_engine_fini,
	.sa_init = cdev_sa_init,
	.sa_fini = cdev_sa_fini,
	.peek_length = cdev_peek_length,
	.peek_length_at = cdev_peek_length_at,
	.submit = cdev_submit,
	.complete = cdev_complete,
};
