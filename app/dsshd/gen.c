/* SPDX-License-Identifier: BSD-3-Clause */
/* A generation of configuration and host keys (see gen.h). */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dssh_build_config.h"
#include "dssh_crypto.h"
#include "dssh_err.h"
#include "dssh_kex.h"
#include "dssh_log.h"
#include "dssh_sshkey.h"
#include "dssh_util.h"
#include "gen.h"
#include "monitor.h"

#define DEFAULT_CONFIG DSSH_SYSCONFDIR "/dsshd_config"

static const char default_ciphers[] =
    "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
    "aes128-gcm@openssh.com,aes256-gcm@openssh.com";
/*
 * Defaults as ssh-audit (packaged) wants them: encrypt-then-MAC only, no
 * 64-bit tag, no NIST-curve host keys, no SHA-1. Every supported name can
 * still be configured (paramiko 2.12, PuTTY and Dropbear meet these).
 */
static const char default_macs[] =
    "umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com";
static const char supported_macs[] =
    "umac-64-etm@openssh.com,umac-128-etm@openssh.com,"
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
    "hmac-sha2-256,hmac-sha2-512";
/* Host certificate algorithms: only offered for a HostCertificate. */
#define HOSTCERT_ALGS \
    "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com," \
    "ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com," \
    "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com"
static const char default_hostkey_algs[] =
    "ssh-ed25519-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,"
    "rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,rsa-sha2-512,rsa-sha2-256";
static const char supported_hostkey_algs[] =
    HOSTCERT_ALGS ","
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
    "rsa-sha2-512,rsa-sha2-256,ssh-rsa";
static const char pubkey_algs[] =
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
    "rsa-sha2-512,rsa-sha2-256,"
    /* user certificates (PROTOCOL.certkeys); never ssh-rsa-cert (SHA-1) */
    "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,"
    "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com";

/* Keep the names of a list that the engine can really do (a probe SA each). */
static char *
filter_supported(struct dssh_crypto_engine *e, const char *list, bool macs)
{
	size_t cap = strlen(list) + 1;
	char *out = calloc(1, cap), *copy = strdup(list), *save = NULL;

	if (out == NULL || copy == NULL) {
		free(out);
		free(copy);
		return NULL;
	}
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		struct dssh_crypto_keys k;
		struct dssh_crypto_sa *sa = NULL;

		memset(&k, 0, sizeof(k));
		k.cipher = macs ? dssh_cipher_by_name("aes128-ctr") : dssh_cipher_by_name(name);
		k.mac = macs ? dssh_mac_by_name(name) : dssh_mac_by_id(DSSH_MAC_NONE);
		if (!macs && k.cipher != NULL && !k.cipher->aead)
			k.mac = dssh_mac_by_name("hmac-sha2-256");
		if (k.cipher == NULL || k.mac == NULL ||
		    dssh_crypto_sa_new(e, &k, DSSH_CRYPTO_SEAL, &sa) != 0) {
			dssh_debug("engine %s cannot do %s", dssh_crypto_engine_name(e), name);
			continue;
		}
		dssh_crypto_sa_free(sa);
		if (out[0] != '\0')
			strcat(out, ",");
		strcat(out, name);
	}
	free(copy);
	return out;
}

static bool
is_default_hostkey_path(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strcmp(base, "ssh_host_ed25519_key") == 0 || strcmp(base, "ssh_host_ecdsa_key") == 0 ||
	    strcmp(base, "ssh_host_rsa_key") == 0;
}

/* Create missing standard host keys the way `ssh-keygen -A` would. */
static void
ensure_default_hostkeys(const struct dssh_config *cfg)
{
	for (unsigned i = 0; i < cfg->nhost_keys; i++) {
		const char *path = cfg->host_keys[i];
		char *dup, *dir, **created = NULL;
		size_t ncreated = 0;

		if (access(path, F_OK) == 0 || !is_default_hostkey_path(path))
			continue;
		if ((dup = strdup(path)) == NULL)
			continue;
		dir = dirname(dup);
		mkdir(dir, 0755);
		/* ensure_host_keys logs each key it generates */
		if (dssh_sshkey_ensure_host_keys(dir, &created, &ncreated) == 0)
			dssh_sshkey_free_paths(created, ncreated);
		free(dup);
	}
}

/* True when alg is one of the comma list's names exactly. */
static bool
list_has(const char *list, const char *alg)
{
	size_t n = strlen(alg);

	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == n && strncmp(p, alg, n) == 0)
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

/*
 * HostCertificate: a host certificate ("type base64 comment") for one of
 * the loaded host keys. Unusable ones are logged and skipped, as sshd.
 */
static void
load_hostcert(const char *path, struct dsshd_hostkeys *hk)
{
	struct dssh_sshkey_cert *cert = NULL;
	char line[16384], *sp;
	struct dsshd_hostcert *hc = &hk->certs[hk->ncerts];
	FILE *f;
	int r;

	if ((f = fopen(path, "re")) == NULL) {
		dssh_error("Unable to load host certificate %s: %s", path, strerror(errno));
		return;
	}
	sp = fgets(line, sizeof(line), f) != NULL ? strchr(line, ' ') : NULL;
	fclose(f);
	memset(hc, 0, sizeof(*hc));
	if (sp == NULL || (r = dssh_sshkey_b64_decode(sp + 1, strcspn(sp + 1, " \t\r\n"),
	    &hc->blob, &hc->len)) != 0 || (r = dssh_sshkey_cert_parse(hc->blob, hc->len,
	    &cert)) != 0) {
		dssh_error("Unable to load host certificate %s: not a valid certificate", path);
		goto fail;
	}
	if (cert->cert_type != DSSH_SSHKEY_CERT_HOST) {
		dssh_error("host certificate %s is not a host certificate", path);
		goto fail;
	}
	for (unsigned i = 0; i < hk->nkeys && hc->key == NULL; i++)
		if (dssh_sshkey_equal_public(hk->keys[i], cert->key))
			hc->key = hk->keys[i];
	if (hc->key == NULL) {
		dssh_error("host certificate %s matches no HostKey", path);
		goto fail;
	}
	hc->type_name = cert->type_name;
	cert->type_name = NULL;
	dssh_verbose("host certificate %s: %s, key ID \"%s\"", path, hc->type_name,
	    cert->key_id);
	dssh_sshkey_cert_free(cert);
	hk->ncerts++;
	return;
fail:
	dssh_sshkey_cert_free(cert);
	free(hc->blob);
	memset(hc, 0, sizeof(*hc));
}

/* A certificate algorithm of HostKeyAlgorithms: the host certificate for it. */
static bool
add_hostcert_alg(struct dsshd_hostkeys *hk, const char *alg)
{
	const char *blob_type = dssh_sshkey_cert_blob_type(alg);

	if (blob_type == NULL || hk->nalgs >= DSSHD_MAX_HOSTKEY_ALGS)
		return false;
	for (unsigned i = 0; i < hk->ncerts; i++) {
		struct dsshd_hostcert *hc = &hk->certs[i];
		char *name;

		/* never ssh-rsa-cert (SHA-1) */
		if (strcmp(hc->type_name, blob_type) != 0 ||
		    strcmp(alg, "ssh-rsa-cert-v01@openssh.com") == 0 ||
		    (name = strdup(alg)) == NULL)
			continue;
		hk->algs[hk->nalgs] = (struct dssh_ssh_hostkey){
			.alg = name, .key = hc->key, .cert_blob = hc->blob,
			.cert_len = hc->len, .sig_alg = dssh_sshkey_cert_sig_alg(alg),
		};
		hk->nalgs++;
		return true;
	}
	return false;
}

/* Privilege separation: host private keys live in the monitor. */
static const struct dsshd_monitor_link *gen_mon;

void
dsshd_gen_use_monitor(const struct dsshd_monitor_link *l)
{
	gen_mon = l;
}

static void
set_signers(struct dsshd_hostkeys *hk)
{
	for (unsigned i = 0; i < hk->nalgs && gen_mon != NULL; i++) {
		hk->algs[i].sign = dsshd_monitor_sign;
		hk->algs[i].sign_arg = (void *)(uintptr_t)gen_mon;
	}
}

/* path's private key, or with the monitor only its public half. */
static int
load_hostkey(const char *path, struct dssh_sshkey **k)
{
	if (gen_mon != NULL)
		return dsshd_monitor_hostkey_load(gen_mon, path, k);
	return dssh_sshkey_load_private(path, k);
}

int
dsshd_gen_keys_to_monitor(struct dsshd_gen *g)
{
	struct dsshd_hostkeys *hk = &g->hk;
	int r;

	for (unsigned i = 0; i < g->cfg.nhost_keys; i++) {
		struct dssh_sshkey *pub;

		if ((r = dsshd_monitor_hostkey_load(gen_mon, g->cfg.host_keys[i], &pub)) != 0) {
			dssh_error("host key %s: the monitor cannot load it: %s",
			    g->cfg.host_keys[i], dssh_err_str(r));
			continue;
		}
		for (unsigned j = 0; j < hk->nkeys && pub != NULL; j++) {
			struct dssh_sshkey *old = hk->keys[j];

			if (!dssh_sshkey_has_private(old) || !dssh_sshkey_equal_public(old, pub))
				continue;
			for (unsigned a = 0; a < hk->nalgs; a++)
				if (hk->algs[a].key == old)
					hk->algs[a].key = pub;
			for (unsigned c = 0; c < hk->ncerts; c++)
				if (hk->certs[c].key == old)
					hk->certs[c].key = pub;
			hk->keys[j] = pub;
			pub = NULL;
			dssh_sshkey_free(old);
		}
		dssh_sshkey_free(pub);
	}
	for (unsigned j = 0; j < hk->nkeys; j++)
		if (dssh_sshkey_has_private(hk->keys[j])) {
			dssh_error("a host key stayed outside the monitor");
			return DSSH_ERR_INTERNAL;
		}
	set_signers(hk);
	return 0;
}

static int
load_hostkeys(const struct dssh_config *cfg, struct dsshd_hostkeys *hk)
{
	char *list, *save = NULL;
	int r;

	for (unsigned i = 0; i < cfg->nhost_keys && hk->nkeys < DSSH_ARRAY_SIZE(hk->keys); i++) {
		struct dssh_sshkey *k;
		char fp[DSSH_SSHKEY_FP_LEN];

		if ((r = load_hostkey(cfg->host_keys[i], &k)) != 0) {
			dssh_error("Unable to load host key %s: %s", cfg->host_keys[i], dssh_err_str(r));
			continue;
		}
		dssh_sshkey_fingerprint(k, fp, sizeof(fp));
		dssh_verbose("host key %s %s %s", cfg->host_keys[i], dssh_sshkey_type_name(k), fp);
		hk->keys[hk->nkeys++] = k;
	}
	for (unsigned i = 0; i < cfg->nhost_certificates &&
	    hk->ncerts < DSSH_ARRAY_SIZE(hk->certs); i++)
		load_hostcert(cfg->host_certificates[i], hk);
	/* One entry per usable signature algorithm, in HostKeyAlgorithms order. */
	if ((list = strdup(cfg->host_key_algorithms)) == NULL)
		return DSSH_ERR_ALLOC;
	for (char *alg = strtok_r(list, ",", &save); alg; alg = strtok_r(NULL, ",", &save)) {
		if (dssh_sshkey_is_cert_name(alg)) {
			add_hostcert_alg(hk, alg);
			continue;
		}
		for (unsigned i = 0; i < hk->nkeys && hk->nalgs < DSSHD_MAX_HOSTKEY_ALGS; i++) {
			char *name;

			if (!list_has(dssh_sshkey_sig_algs_for(hk->keys[i]), alg) ||
			    (name = strdup(alg)) == NULL)
				continue;
			hk->algs[hk->nalgs].alg = name;
			hk->algs[hk->nalgs].key = hk->keys[i];
			hk->nalgs++;
			break;
		}
	}
	free(list);
	if (hk->nalgs == 0) {
		dssh_error("sshd: no hostkeys available -- exiting.");
		return DSSH_ERR_NOT_FOUND;
	}
	set_signers(hk);
	return 0;
}

static void
free_hostkeys(struct dsshd_hostkeys *hk)
{
	for (unsigned i = 0; i < hk->nalgs; i++)
		free((char *)hk->algs[i].alg);
	for (unsigned i = 0; i < hk->nkeys; i++)
		dssh_sshkey_free(hk->keys[i]);
	for (unsigned i = 0; i < hk->ncerts; i++) {
		free(hk->certs[i].blob);
		free(hk->certs[i].type_name);
	}
}

static int
read_config(const struct dsshd_opts *o, struct dssh_config *cfg, char *err, size_t errlen)
{
	const char *path = o->config_path;
	int r;

	/* Command-line options come first: for single-valued keywords the
	 * first value wins, as in sshd. */
	for (int i = 0; i < o->nextra; i++)
		if ((r = dssh_config_apply_line(cfg, o->extra[i], "command line", (unsigned)i + 1, err,
		    errlen)) != 0)
			return r;
	if (path == NULL && access(DEFAULT_CONFIG, F_OK) == 0)
		path = DEFAULT_CONFIG;
	if (path != NULL)
		r = dssh_config_load_file(cfg, path, err, errlen);
	else    /* No file: the embedded default serves sftp (and so scp) itself. */
		r = dssh_config_apply_line(cfg, "Subsystem sftp internal-sftp", "embedded default", 1,
		    err, errlen);
	if (r != 0)
		return r;
	if (o->eal_args != NULL) {
		free(cfg->dpdk_args);
		if ((cfg->dpdk_args = strdup(o->eal_args)) == NULL)
			return DSSH_ERR_ALLOC;
	}
	/* -p replaces the configuration's Port lines, as in sshd. */
	if (o->nports > 0) {
		cfg->nports = 0;
		for (int i = 0; i < o->nports; i++)
			cfg->ports[cfg->nports++] = o->ports[i];
		cfg->nports_override = cfg->nports;
	}
	return 0;
}

int
dsshd_gen_read(const struct dsshd_opts *o, struct dsshd_gen **out, char *err, size_t errlen)
{
	struct dsshd_gen *g = calloc(1, sizeof(*g));
	int r;

	*out = NULL;
	if (g == NULL)
		return DSSH_ERR_ALLOC;
	g->refs = 1;
	g->number = 1;
	dssh_config_init(&g->cfg);
	if ((r = read_config(o, &g->cfg, err, errlen)) != 0) {
		dsshd_gen_unref(g);
		return r;
	}
	*out = g;
	return 0;
}

/* The Banner file's text (at most 64 KiB), or NULL for "none" or an unreadable file. */
static char *
read_banner_file(const char *path)
{
	char *text;
	size_t n = 0, k;
	FILE *f;

	if (path == NULL || strcasecmp(path, "none") == 0)
		return NULL;
	if ((f = fopen(path, "re")) == NULL) {
		dssh_error("Banner %s: %s", path, strerror(errno));
		return NULL;
	}
	if ((text = malloc(65536 + 1)) != NULL) {
		while (n < 65536 && (k = fread(text + n, 1, 65536 - n, f)) > 0)
			n += k;
		text[n] = '\0';
	}
	fclose(f);
	return text;
}

/* A kept Match-block line's Banner value ("Banner PATH", "banner=PATH",
 * quoted or not) copied into buf, or false for another keyword. */
static bool
line_banner_path(const char *text, char *buf, size_t len)
{
	const char *p = text, *v;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "banner", 6) != 0 || (p[6] != ' ' && p[6] != '\t' && p[6] != '='))
		return false;
	for (p += 6; *p == ' ' || *p == '\t' || *p == '='; p++)
		;
	v = p;
	n = strcspn(v, " \t\r\n");
	if (*v == '"') {
		v++;
		n = strcspn(v, "\"");
	}
	if (n == 0 || n >= len)
		return false;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return true;
}

/*
 * Every Banner a Match block names, read now: a connection's Match is
 * evaluated in the unprivileged process, which may not read the file
 * (sshd's monitor reads it for its child). Files that cannot be read are
 * logged here, once, and shown as no banner.
 */
static int
read_match_banners(struct dsshd_gen *g)
{
	char path[PATH_MAX];

	for (unsigned i = 0; i < g->cfg.nlines; i++) {
		struct dsshd_banner *b;

		if (g->cfg.lines[i].block < 0 ||
		    !line_banner_path(g->cfg.lines[i].text, path, sizeof(path)) ||
		    dsshd_gen_banner(g, path) != NULL)
			continue;
		b = realloc(g->match_banners, (g->nmatch_banners + 1) * sizeof(*b));
		if (b == NULL)
			return DSSH_ERR_ALLOC;
		g->match_banners = b;
		b = &g->match_banners[g->nmatch_banners];
		if ((b->path = strdup(path)) == NULL)
			return DSSH_ERR_ALLOC;
		b->text = read_banner_file(path);
		g->nmatch_banners++;
	}
	return 0;
}

const char *
dsshd_gen_banner(const struct dsshd_gen *g, const char *path)
{
	if (path == NULL || strcasecmp(path, "none") == 0)
		return NULL;
	if (g->cfg.banner != NULL && strcmp(path, g->cfg.banner) == 0)
		return g->banner;
	for (unsigned i = 0; i < g->nmatch_banners; i++)
		if (strcmp(g->match_banners[i].path, path) == 0)
			return g->match_banners[i].text;
	return NULL;
}

/* "dssh_VERSION", then VersionAddendum after a space, as sshd adds it. */
static void
set_version_comment(struct dsshd_gen *g)
{
	const char *add = g->cfg.version_addendum;

	if (add == NULL || strcasecmp(add, "none") == 0)
		snprintf(g->version_comment, sizeof(g->version_comment), "dssh_%s", DSSH_VERSION);
	else
		snprintf(g->version_comment, sizeof(g->version_comment), "dssh_%s %s",
		    DSSH_VERSION, add);
}

/* AuthenticationMethods: parsed, and one list possible with what is enabled. */
static int
parse_auth_methods(struct dsshd_gen *g, char *err, size_t errlen)
{
	const struct dssh_config *cfg = &g->cfg;
	unsigned enabled = (cfg->pubkey_authentication ? DSSH_AUTHM_BIT(DSSH_AUTHM_PUBLICKEY) : 0) |
	    (cfg->password_authentication && cfg->use_pam ? DSSH_AUTHM_BIT(DSSH_AUTHM_PASSWORD) : 0) |
	    (cfg->kbd_interactive_authentication && cfg->use_pam ?
	    DSSH_AUTHM_BIT(DSSH_AUTHM_KBDINT) : 0);
	char why[160];

	if (dssh_authmethods_parse(cfg->authentication_methods, &g->authm, why,
	    sizeof(why)) != 0) {
		snprintf(err, errlen, "AuthenticationMethods: %s", why);
		return DSSH_ERR_CONFIG;
	}
	if (!dssh_authmethods_satisfiable(&g->authm, enabled)) {
		snprintf(err, errlen, "AuthenticationMethods cannot be satisfied by enabled "
		    "authentication methods");
		return DSSH_ERR_CONFIG;
	}
	return 0;
}

int
dsshd_gen_finalize(struct dsshd_gen *g, struct dssh_crypto_engine *engine,
    const struct dsshd_gen *like, char *err, size_t errlen)
{
	struct dssh_config_alg_defaults defs;
	int r;

	if (like != NULL) {
		/* The same engine: what it can do was probed already. */
		g->ciphers = strdup(like->ciphers);
		g->macs = strdup(like->macs);
		g->macs_all = strdup(like->macs_all);
	} else {
		g->ciphers = filter_supported(engine, default_ciphers, false);
		g->macs = filter_supported(engine, default_macs, true);
		g->macs_all = filter_supported(engine, supported_macs, true);
	}
	if (g->ciphers == NULL || g->macs == NULL || g->macs_all == NULL)
		return DSSH_ERR_ALLOC;
	defs = (struct dssh_config_alg_defaults){
		.ciphers = { g->ciphers, g->ciphers },
		.macs = { g->macs, g->macs_all },
		.kex = { dssh_kex_alg_default_names(), dssh_kex_alg_names() },
		.host_key = { default_hostkey_algs, supported_hostkey_algs },
	};
	if ((r = dssh_config_finalize(&g->cfg, &defs, err, errlen)) != 0)
		return r;
	if ((r = parse_auth_methods(g, err, errlen)) != 0)
		return r;
	g->banner = read_banner_file(g->cfg.banner);
	if ((r = read_match_banners(g)) != 0)
		return r;
	set_version_comment(g);
	g->sshconf = (struct dssh_ssh_conf){
		.kex_algs = g->cfg.kex_algorithms,
		.cipher_algs = g->cfg.ciphers,
		.mac_algs = g->cfg.macs,
		.pubkey_algs = pubkey_algs,
		.rekey_bytes = g->cfg.rekey_limit_bytes,
		.rekey_seconds = g->cfg.rekey_limit_seconds > 0 ?
		    (uint32_t)g->cfg.rekey_limit_seconds : 0,
		.max_auth_tries = (unsigned)g->cfg.max_auth_tries,
		.pubkey_auth = g->cfg.pubkey_authentication != 0,
		/* Passwords are checked through PAM only: without it, not offered. */
		.password_auth = g->cfg.password_authentication != 0 && g->cfg.use_pam != 0,
		/* keyboard-interactive is PAM's conversation: only with UsePAM */
		.kbdint_auth = g->cfg.kbd_interactive_authentication != 0 && g->cfg.use_pam != 0,
		.auth_methods = g->authm.any ? NULL : &g->authm,
		.chan_window = (uint32_t)g->cfg.channel_window_size,
		.client_alive_interval = (uint32_t)g->cfg.client_alive_interval,
		.client_alive_count_max = (unsigned)g->cfg.client_alive_count_max,
		.version_comment = g->version_comment,
		.auth_banner = g->banner,
		.compression = g->cfg.compression != 0,
		.engine = engine,
	};
	return 0;
}

int
dsshd_gen_load_keys(struct dsshd_gen *g, bool create_keys)
{
	int r;

	if (create_keys)
		ensure_default_hostkeys(&g->cfg);
	if ((r = load_hostkeys(&g->cfg, &g->hk)) != 0)
		return r;
	g->sshconf.hostkeys = g->hk.algs;
	g->sshconf.n_hostkeys = g->hk.nalgs;
	return 0;
}

struct dsshd_gen *
dsshd_gen_ref(struct dsshd_gen *g)
{
	__atomic_fetch_add(&g->refs, 1, __ATOMIC_RELAXED);
	return g;
}

void
dsshd_gen_unref(struct dsshd_gen *g)
{
	if (g == NULL || __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	free_hostkeys(&g->hk);
	dssh_config_free(&g->cfg);
	free(g->ciphers);
	free(g->macs);
	free(g->macs_all);
	free(g->banner);
	for (unsigned i = 0; i < g->nmatch_banners; i++) {
		free(g->match_banners[i].path);
		free(g->match_banners[i].text);
	}
	free(g->match_banners);
	free(g);
}

int
dsshd_user_groups(const char *user, struct dsshd_groups *out)
{
	struct passwd pw, *pwp;
	char buf[4096];
	gid_t gids[256];
	int ng = (int)DSSH_ARRAY_SIZE(gids);

	out->names = NULL;
	out->n = 0;
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &pwp) != 0 || pwp == NULL)
		return DSSH_ERR_NOT_FOUND;
	if (getgrouplist(user, pw.pw_gid, gids, &ng) < 0)
		ng = (int)DSSH_ARRAY_SIZE(gids);
	if ((out->names = calloc((size_t)ng + 1, sizeof(*out->names))) == NULL)
		return DSSH_ERR_ALLOC;
	for (int i = 0; i < ng; i++) {
		struct group gr, *grp;
		char gbuf[8192];

		if (getgrgid_r(gids[i], &gr, gbuf, sizeof(gbuf), &grp) != 0 || grp == NULL)
			continue;
		if ((out->names[out->n] = strdup(grp->gr_name)) == NULL) {
			dsshd_groups_free(out);
			return DSSH_ERR_ALLOC;
		}
		out->n++;
	}
	return 0;
}

void
dsshd_groups_free(struct dsshd_groups *g)
{
	for (unsigned i = 0; i < g->n; i++)
		free(g->names[i]);
	free(g->names);
	g->names = NULL;
	g->n = 0;
}
