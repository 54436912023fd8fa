/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sshd_config files with Include and Match: the input is up to four files
 * separated by lines "--FILE--" (f0.conf ... f3.conf in a private directory,
 * the relative Include directory), f0.conf is loaded, finalized, printed,
 * and evaluated for two connections (one without a user, one with).
 *
 * The directory is on tmpfs (/dev/shm) where there is one, and each file is
 * replaced by unlink and create, never truncated: on ext4 a truncate of a
 * file just written flushes its data to disk first (auto_da_alloc), and
 * eight of those per input made this target wait on the disk for 0.6 ms
 * each, most of its time. The files the library reads are the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dssh_config.h"
#include "dssh_err.h"
#include "dssh_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void
write_part(int i, const uint8_t *p, size_t n)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/f%d.conf", dir, i);
	(void)unlink(path);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	if (n > 0 && fwrite(p, 1, n, f) != n)
		abort();
	fclose(f);
}

static void
cleanup(void)
{
	char path[128];

	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/f%d.conf", dir, i);
		(void)unlink(path);
	}
	(void)rmdir(dir);
}

static void
eval(const struct dssh_config *cfg, const struct dssh_config_conn *ci, FILE *null)
{
	struct dssh_config *cc;
	char err[256];
	int r = dssh_config_for_conn(cfg, ci, &cc, err, sizeof(err));

	if (r != 0 && r != DSSH_ERR_CONFIG && r != DSSH_ERR_ALLOC)
		abort();
	if (r == 0) {
		dssh_config_dump(cc, null);
		dssh_config_free_conn(cc);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char sep[] = "\n--FILE--\n";
	static const char *const groups[] = { "wheel", "users" };
	struct dssh_config_conn anon = { .host = "h.example.org", .addr = "10.1.2.3",
		.laddr = "127.0.0.1", .lport = 22 };
	struct dssh_config_conn user = anon;
	struct dssh_config cfg;
	char err[256], path[128];
	FILE *null;
	int part = 0, r;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/dev/shm/fuzz-config-XXXXXX");
		if (mkdtemp(dir) == NULL) {
			snprintf(dir, sizeof(dir), "/tmp/fuzz-config-XXXXXX");
			if (mkdtemp(dir) == NULL)
				abort();
		}
		dssh_config_include_dir = dir;
		atexit(cleanup);
	}
	while (part < 4) {
		const uint8_t *s = memmem(data, size, sep, sizeof(sep) - 1);
		size_t n = s != NULL ? (size_t)(s - data) : size;

		write_part(part++, data, n);
		if (s == NULL)
			break;
		data += n + sizeof(sep) - 1;
		size -= n + sizeof(sep) - 1;
	}
	while (part < 4)
		write_part(part++, NULL, 0);
	user.user = "alice";
	user.groups = groups;
	user.ngroups = 2;
	snprintf(path, sizeof(path), "%s/f0.conf", dir);
	dssh_config_init(&cfg);
	err[0] = '\0';
	r = dssh_config_load_file(&cfg, path, err, sizeof(err));
	if (r != 0 && r != DSSH_ERR_CONFIG && r != DSSH_ERR_ALLOC)
		abort();
	if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	if (r == 0 && dssh_config_finalize(&cfg, NULL, err, sizeof(err)) == 0 &&
	    (null = fopen("/dev/null", "w")) != NULL) {
		dssh_config_dump(&cfg, null);
		eval(&cfg, &anon, null);
		eval(&cfg, &user, null);
		fclose(null);
	}
	dssh_config_free(&cfg);
	return 0;
}
