/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_AUTH_H
#define DSSH_AUTH_H

/*
 * Authentication back end: account lookup and policy, authorized_keys, PAM.
 * None of this touches the wire: lib/ssh's userauth code calls in here.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dssh_config.h"

/* ---- accounts and policy ---- */

struct dssh_auth_user {
	char *name;
	uid_t uid;
	gid_t gid;
	char *home;
	char *shell;            /* "/bin/sh" when the passwd field is empty */
	bool exists;
	bool locked;            /* shadow password starts with '!' or is "*LK*" */
};

/*
 * Copy the passwd entry of name into out. Returns 0, or DSSH_ERR_NOT_FOUND
 * with out->exists false (out->name still set) for an unknown user.
 * Release with dssh_auth_user_clear.
 */
int dssh_auth_user_lookup(const char *name, struct dssh_auth_user *out);
void dssh_auth_user_clear(struct dssh_auth_user *u);

/*
 * sshd's allowed_user(): the account exists, is not locked (checked only
 * with UsePAM no: PAM's account stack decides otherwise), its shell exists
 * and is executable, DenyUsers does not match, AllowUsers (when set)
 * matches. Patterns are "USER" or "USER@HOST"; HOST is matched against the
 * remote IP (wildcards or CIDR "10.0.0.0/8") and the host name when given.
 * Returns 0 allowed or DSSH_ERR_PERMISSION with a reason in why.
 */
int dssh_auth_user_allowed(const struct dssh_config *cfg,
    const struct dssh_auth_user *user, const char *remote_ip,
    const char *remote_host, char *why, size_t whylen);

/*
 * PermitRootLogin for a root login with method "publickey", "password" or
 * "keyboard-interactive". Returns 0 allowed or DSSH_ERR_PERMISSION. Call it
 * only when user->uid == 0.
 */
int dssh_auth_root_allowed(const struct dssh_config *cfg, const char *method,
    bool forced_command_present);

/*
 * Address pattern list as in sshd's from= and USER@HOST: comma separated,
 * '!' negates, entries are wildcards or CIDR (v4 or v6). Returns 1 positive
 * match, 0 no match, -1 negated match or malformed CIDR entry.
 */
int dssh_auth_match_addr_list(const char *ip, const char *host,
    const char *list);

/* ---- authorized_keys ---- */

struct dssh_authkey_opts {
	char *command;                  /* command="..." or NULL */
	char **env;                     /* "NAME=value", only with PermitUserEnvironment */
	size_t nenv;
	bool permit_pty;
	bool permit_port_forwarding;
	bool permit_agent_forwarding;
	bool permit_x11_forwarding;
	bool permit_user_rc;
	bool restricted;                /* "restrict" was given */
	/*
	 * permitopen="host:port" / permitlisten="[host:]port" (repeatable):
	 * while n is 0 the key does not limit the destinations (the config
	 * still may); otherwise only the listed ones (and the config's).
	 */
	struct dssh_config_permit *permitopen;
	size_t npermitopen;
	struct dssh_config_permit *permitlisten;
	size_t npermitlisten;
	uint64_t expiry_time;           /* seconds since the epoch, 0 = none */
	char *cert_principals;          /* principals="a,b" of a cert-authority line */
	char *file;                     /* file and line that authorised */
	unsigned long line;
};

/* Options of one authorized_keys line: defaults (everything permitted). */
void dssh_authkey_opts_init(struct dssh_authkey_opts *o);
void dssh_authkey_opts_free(struct dssh_authkey_opts *o);

/*
 * Parse the options field of one line (e.g. `command="x",no-pty`).
 * Returns 0 or DSSH_ERR_INVALID_FORMAT with a reason in why. Does not check
 * from= (that needs the address, see dssh_authkeys_check) but validates it.
 */
int dssh_authkey_parse_options(const char *s, struct dssh_authkey_opts *o,
    char **from_out, char *why, size_t whylen);

/*
 * Parse one authorized_keys line. On success *blob (*bloblen bytes) is the
 * malloc'd decoded key blob (caller frees it), *opts holds the options,
 * *from_out the from= list (or NULL), *cert_authority whether the line had
 * cert-authority. Returns 0, DSSH_ERR_NOT_FOUND for blank or comment lines,
 * DSSH_ERR_INVALID_FORMAT for bad lines (why says why).
 */
int dssh_authkeys_parse_line(const char *line, struct dssh_authkey_opts *opts,
    char **from_out, bool *cert_authority, uint8_t **blob, size_t *bloblen,
    char *why, size_t whylen);

/*
 * Does any AuthorizedKeysFile of user authorise the public key blob (SSH wire
 * encoding) from remote_ip? Files: %h home, %u user name, %U uid, %% a '%';
 * paths not absolute after expansion are under the home directory. Files
 * are read with the user's file-system uid/gid (setfsuid, this thread only)
 * when running as root, opened with O_NOFOLLOW, and, under StrictModes,
 * refused unless the file and every directory up to the home directory (or
 * '/') are owned by the user or root and not group/world writable. Returns 0 with *opts filled (free with
 * dssh_authkey_opts_free), DSSH_ERR_NOT_FOUND when no line authorises the
 * key, another code on internal errors.
 */
int dssh_authkeys_check(const struct dssh_config *cfg,
    const struct dssh_auth_user *user, const uint8_t *key_blob, size_t key_len,
    const char *remote_ip, struct dssh_authkey_opts *opts);

/* Expand %h %u %U %% of one AuthorizedKeysFile entry; *out malloc'd. */
int dssh_authkeys_expand_path(const char *pattern,
    const struct dssh_auth_user *user, char **out);

/* ---- PAM ---- */

enum dssh_pam_kind {
	DSSH_PAM_PASSWORD = 0,          /* pam_authenticate + pam_acct_mgmt */
	DSSH_PAM_ACCOUNT_ONLY,          /* pam_acct_mgmt (publickey logins) */
	DSSH_PAM_KBDINT,                /* pam_authenticate + pam_acct_mgmt, prompts to the peer */
};

#define DSSH_PAM_MAX_PROMPTS 32

/* One round of a keyboard-interactive PAM conversation. */
struct dssh_pam_prompts {
	char *instruction;              /* PAM's info and error texts, "" when none */
	unsigned n;
	char *text[DSSH_PAM_MAX_PROMPTS];
	bool echo[DSSH_PAM_MAX_PROMPTS];
};

void dssh_pam_prompts_free(struct dssh_pam_prompts *p);

struct dssh_pam_request {
	uint64_t id;
	const char *user;
	const char *password;           /* copied; the copy is wiped after use */
	const char *remote_host;        /* PAM_RHOST */
	enum dssh_pam_kind kind;
	bool allow_empty_password;      /* PermitEmptyPasswords */
};

struct dssh_pam_result {
	uint64_t id;
	bool ok;
	char message[256];              /* PAM's error or info text */
	/*
	 * Non-NULL: not a result but a DSSH_PAM_KBDINT round. Ask the peer,
	 * then dssh_pam_worker_answer(); the caller frees it with
	 * dssh_pam_prompts_free.
	 */
	struct dssh_pam_prompts *prompts;
};

struct dssh_pam_worker;

/*
 * Start the worker threads (PAM runs there, never in the caller). service is
 * the /etc/pam.d name, e.g. "dsshd".
 *
 * Timing: a failed DSSH_PAM_PASSWORD request is answered no sooner than
 * fail_delay_ms (default 300 ms) after it was started, or the delay the PAM
 * stack asked for with pam_fail_delay (pam_unix: 2 s, pam_faildelay), if
 * longer; whether the account exists or not. Unknown users run through PAM
 * too, with their own name and an invalid password (as sshd), so that the
 * PAM stack's own work is the same, and never succeed. No thread sleeps
 * through a delay: PAM_FAIL_DELAY is hooked, and delayed results are kept
 * aside and released by the threads' timed wait.
 */
int dssh_pam_worker_new(const char *service, struct dssh_pam_worker **wp);
void dssh_pam_worker_set_fail_delay(struct dssh_pam_worker *w, unsigned ms);
/* Readable (eventfd) while results are waiting to be collected. */
int dssh_pam_worker_fd(const struct dssh_pam_worker *w);
/* 0, DSSH_ERR_BUSY when the queue is full, DSSH_ERR_ALLOC. */
int dssh_pam_worker_submit(struct dssh_pam_worker *w,
    const struct dssh_pam_request *req);
/* Returns how many results were written to out (0..max). Non-blocking. */
unsigned dssh_pam_worker_collect(struct dssh_pam_worker *w,
    struct dssh_pam_result *out, unsigned max);
/*
 * DSSH_PAM_KBDINT: each conversation runs in a thread of its own, which
 * waits (not the caller) for the answers between rounds.
 * dssh_pam_worker_answer gives the answers to the last prompts of request
 * id (n must be their number; copied, the copies are wiped after use);
 * 0, DSSH_ERR_NOT_FOUND (no conversation waiting) or
 * DSSH_ERR_INVALID_ARGUMENT. dssh_pam_worker_cancel ends the conversation
 * of id, if any, as failed: its later prompts and result are dropped.
 */
int dssh_pam_worker_answer(struct dssh_pam_worker *w, uint64_t id,
    const char *const *answers, unsigned n);
void dssh_pam_worker_cancel(struct dssh_pam_worker *w, uint64_t id);
/* Stops the threads (waits for PAM calls in progress) and frees. */
void dssh_pam_worker_free(struct dssh_pam_worker *w);

/*
 * PAM in the monitor (privilege separation). With a remote function set,
 * the worker threads run no PAM themselves: for each request they call fn,
 * which returns a SOCK_SEQPACKET channel to a short-lived root child of the
 * monitor that runs the request (dssh_pam_serve), or -1. On the channel
 * (one message per datagram, at most DSSH_PAM_CHAN_MAX bytes, SSH wire
 * encoding, trailing bytes refused):
 *   child -> dsshd  PROMPTS (0x91): string instruction, u32 n (1..32),
 *                   n x (string prompt, bool echo)      keyboard-interactive
 *   dsshd -> child  ANSWERS (0x11): u32 n, n x string   (n as asked)
 *   child -> dsshd  RESULT  (0x92): bool ok, u32 PAM's fail delay (us),
 *                   string message
 * Closing the channel ends the conversation as failed. Timing (the fail
 * delay floor) is still applied by the worker, as for local PAM.
 */
#define DSSH_PAM_CHAN_MAX (64u * 1024)
enum {
	DSSH_PAM_CHAN_ANSWERS = 0x11,
	DSSH_PAM_CHAN_PROMPTS = 0x91,
	DSSH_PAM_CHAN_RESULT = 0x92,
};
typedef int (*dssh_pam_remote_fn)(void *arg, const struct dssh_pam_request *req,
    const char *service);
void dssh_pam_worker_set_remote(struct dssh_pam_worker *w, dssh_pam_remote_fn fn, void *arg);

/*
 * The monitor's child: run req (pam_authenticate and/or pam_acct_mgmt as
 * its kind says) with keyboard-interactive prompts sent down fd; decided
 * (may be NULL) is told the outcome before the RESULT is sent. Returns 0
 * when PAM accepted, DSSH_ERR_PERMISSION when it refused, or an error.
 */
int dssh_pam_serve(int fd, const char *service, const struct dssh_pam_request *req,
    void (*decided)(void *arg, bool ok), void *arg);

struct dssh_buf;
int dssh_pam_chan_encode_prompts(struct dssh_buf *b, const struct dssh_pam_prompts *p);
int dssh_pam_chan_decode_prompts(const uint8_t *m, size_t len, struct dssh_pam_prompts **out);
int dssh_pam_chan_encode_answers(struct dssh_buf *b, const char *const *a, unsigned n);
/* *out: n strings, free with dssh_pam_answers_free (wiped). */
int dssh_pam_chan_decode_answers(const uint8_t *m, size_t len, char ***out, unsigned *n);
void dssh_pam_answers_free(char **a, unsigned n);
int dssh_pam_chan_encode_result(struct dssh_buf *b, bool ok, uint32_t delay_usec, const char *msg);
int dssh_pam_chan_decode_result(const uint8_t *m, size_t len, bool *ok, uint32_t *delay_usec,
    char *msg, size_t msgcap);

/*
 * Synchronous, for the session child: pam_start, PAM_RHOST, PAM_TTY (tty or
 * "ssh"), pam_setcred(ESTABLISH), pam_open_session; *env_out gets PAM's
 * environment list (NULL-terminated, free with dssh_pam_env_free; env_out
 * may be NULL). Close with dssh_pam_close_session (closes the session,
 * deletes the credentials, pam_end).
 */
struct dssh_pam_session;
int dssh_pam_open_session(const char *service, const char *user,
    const char *remote_host, const char *tty, char ***env_out,
    struct dssh_pam_session **sessp);
int dssh_pam_close_session(struct dssh_pam_session *s);
void dssh_pam_env_free(char **env);

#endif
