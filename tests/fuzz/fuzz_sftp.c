/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SFTP engine after a valid INIT, fed arbitrary bytes in pieces. The
 * backend is an in-memory fake that never touches real files: it answers
 * from the path's letters (errors, file types) so that every reply path,
 * short reads and writes, and directory listings are reachable.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "dssh_log.h"
#include "dssh_util.h"
#include "sftp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAKE_FILE_SIZE 100000u

static int fake_fds;
static volatile uint8_t fake_sink;

static int
path_err(const char *path)
{
	if (strchr(path, 'E') != NULL)
		return -EACCES;
	if (strchr(path, 'N') != NULL)
		return -ENOENT;
	if (strchr(path, 'S') != NULL)
		return -ENOSPC;
	return 0;
}

static void
fill_stat(struct stat *st, const char *path)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = (path != NULL && strchr(path, 'D') != NULL) ? S_IFDIR | 0755 :
	    (path != NULL && strchr(path, 'L') != NULL) ? S_IFLNK | 0777 : S_IFREG | 0644;
	st->st_size = FAKE_FILE_SIZE;
	st->st_uid = path != NULL && strchr(path, 'U') != NULL ? 4242 : 0;
	st->st_nlink = 1;
	st->st_mtime = 1700000000;
}

static int
fk_open(void *ctx, const char *path, int oflags, mode_t mode)
{
	int e = path_err(path);

	(void)ctx;
	(void)oflags;
	(void)mode;
	if (e != 0)
		return e;
	fake_fds++;
	return 3 + fake_fds % 64;
}

static int
fk_close(void *ctx, int fd)
{
	(void)ctx;
	if (fd < 0)
		abort();        /* the engine never closes what it did not open */
	fake_fds--;
	return fd == 7 ? -EIO : 0;
}

static ssize_t
fk_pread(void *ctx, int fd, void *buf, size_t n, uint64_t off)
{
	(void)ctx;
	if (fd == 5)
		return -EIO;
	if (off >= FAKE_FILE_SIZE)
		return 0;
	if (n > FAKE_FILE_SIZE - off)
		n = (size_t)(FAKE_FILE_SIZE - off);
	if (n > 8 && off % 3 == 1)
		n /= 2;         /* a short read */
	memset(buf, 'x', n);
	return (ssize_t)n;
}

static ssize_t
fk_pwrite(void *ctx, int fd, const void *buf, size_t n, uint64_t off)
{
	uint8_t x = 0;

	(void)ctx;
	(void)fd;
	for (size_t i = 0; i < n; i++)
		x ^= ((const uint8_t *)buf)[i];      /* every byte handed over is readable */
	fake_sink = x;
	if (off % 5 == 4)
		return -ENOSPC;
	return n > 8 && off % 7 == 3 ? (ssize_t)(n / 2) : (ssize_t)n;
}

static int
fk_fd_op(void *ctx, int fd)
{
	(void)ctx;
	return fd == 6 ? -EIO : 0;
}

static int
fk_stat(void *ctx, const char *path, bool follow, struct stat *st)
{
	(void)ctx;
	(void)follow;
	fill_stat(st, path);
	return path_err(path);
}

static int
fk_fstat(void *ctx, int fd, struct stat *st)
{
	(void)ctx;
	fill_stat(st, NULL);
	return fd == 8 ? -EBADF : 0;
}

static int
fk_setstat(void *ctx, const char *path, int fd, bool follow, const struct dssh_sftp_attrs *a)
{
	(void)ctx;
	(void)follow;
	(void)a;
	return path != NULL ? path_err(path) : fd == 9 ? -EPERM : 0;
}

static int
fk_statvfs(void *ctx, const char *path, int fd, struct statvfs *sv)
{
	(void)ctx;
	(void)fd;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 4096;
	sv->f_flag = ST_RDONLY;
	return path != NULL ? path_err(path) : 0;
}

struct fake_dir {
	int left;
	char name[16];
};

static int
fk_opendir(void *ctx, const char *path, void **dirp)
{
	struct fake_dir *d;
	int e = path_err(path);

	(void)ctx;
	if (e != 0)
		return e;
	if ((d = malloc(sizeof(*d))) == NULL)
		return -ENOMEM;
	d->left = (int)(strlen(path) % 7) * 40;    /* some listings span batches */
	*dirp = d;
	return 0;
}

static int
fk_readdir(void *ctx, void *dir, const char **name, struct stat *st, bool *have_st)
{
	struct fake_dir *d = dir;

	(void)ctx;
	if (d->left == 0)
		return 0;
	if (d->left == 13)
		return -EIO;
	d->left--;
	snprintf(d->name, sizeof(d->name), "%c%d", d->left % 3 == 0 ? 'U' : 'f', d->left);
	*name = d->name;
	*have_st = d->left % 5 != 0;
	fill_stat(st, d->name);
	return 1;
}

static void
fk_closedir(void *ctx, void *dir)
{
	(void)ctx;
	free(dir);
}

static int
fk_path(void *ctx, const char *path)
{
	(void)ctx;
	return path_err(path);
}

static int
fk_mkdir(void *ctx, const char *path, mode_t mode)
{
	(void)mode;
	return fk_path(ctx, path);
}

static int
fk_two(void *ctx, const char *a, const char *b)
{
	(void)ctx;
	return path_err(a) != 0 ? path_err(a) : path_err(b);
}

static int
fk_rename(void *ctx, const char *from, const char *to, bool noreplace)
{
	if (noreplace && strcmp(from, to) == 0)
		return -EEXIST;
	return fk_two(ctx, from, to);
}

static ssize_t
fk_readlink(void *ctx, const char *path, char *buf, size_t size)
{
	size_t n = strlen(path);
	int e = path_err(path);

	(void)ctx;
	if (e != 0)
		return e;
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(buf, path, n);
	return (ssize_t)n;
}

static int
fk_realpath(void *ctx, const char *path, char **out)
{
	int e = path_err(path);

	(void)ctx;
	if (e != 0)
		return e;
	return (*out = strdup(path)) != NULL ? 0 : -ENOMEM;
}

static int
fk_name(void *ctx, uint32_t id, char *buf, size_t size)
{
	(void)ctx;
	if (id != 0)
		return -ENOENT;
	snprintf(buf, size, "root");
	return 0;
}

static int
fk_user_home(void *ctx, const char *user, char **home)
{
	(void)ctx;
	if (user[0] != '\0' && strcmp(user, "root") != 0)
		return -ENOENT;
	return (*home = strdup(user[0] == '\0' ? "/home/fuzz" : "/root")) != NULL ? 0 : -ENOMEM;
}

static const struct dssh_sftp_fs_ops fake_ops = {
	.open = fk_open,
	.close = fk_close,
	.pread = fk_pread,
	.pwrite = fk_pwrite,
	.fsync = fk_fd_op,
	.stat = fk_stat,
	.fstat = fk_fstat,
	.setstat = fk_setstat,
	.statvfs = fk_statvfs,
	.opendir = fk_opendir,
	.readdir = fk_readdir,
	.closedir = fk_closedir,
	.unlink = fk_path,
	.mkdir = fk_mkdir,
	.rmdir = fk_path,
	.rename = fk_rename,
	.link = fk_two,
	.symlink = fk_two,
	.readlink = fk_readlink,
	.realpath = fk_realpath,
	.user_name = fk_name,
	.group_name = fk_name,
	.user_home = fk_user_home,
};

/* Checks each reply's framing as a client would read it. */
static void
drain(struct dssh_sftp *s)
{
	size_t len, off = 0;
	const uint8_t *p = dssh_sftp_output(s, &len);

	while (off < len) {
		uint32_t n;

		if (len - off < 4)
			abort();
		n = dssh_get_u32be(p + off);
		if (n == 0 || n > DSSH_SFTP_MAX_PACKET || len - off - 4 < n)
			abort();
		off += 4 + (size_t)n;
	}
	dssh_sftp_output_consume(s, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t init[] = { 0, 0, 0, 5, SSH_FXP_INIT, 0, 0, 0, 3 };
	struct dssh_sftp_opts o = {
		.home = "/home/fuzz", .fs = &fake_ops, .max_handles = 8, .log_id = "fuzz",
	};
	struct dssh_sftp *s;
	size_t used, off = 0, chunk;

	if (size < 1)
		return 0;
	o.read_only = (data[0] & 0x80) != 0;
	chunk = (data[0] & 0x7f) == 0 ? size : (data[0] & 0x7f);   /* framing in pieces */
	data++;
	size--;
	fake_fds = 0;
	if (dssh_sftp_create(&o, &s) != 0)
		abort();
	if (dssh_sftp_input(s, init, sizeof(init), &used) != 0 || used != sizeof(init))
		abort();
	drain(s);
	while (off < size) {
		size_t n = DSSH_MIN(chunk, size - off);

		if (dssh_sftp_input(s, data + off, n, &used) != 0)
			break;
		off += used;
		drain(s);
		if (used == 0)
			abort();        /* drained, so input cannot be paused */
	}
	dssh_sftp_free(s);
	if (fake_fds != 0)
		abort();            /* every opened handle was closed */
	return 0;
}
