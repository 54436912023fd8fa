/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The POSIX file-system backend: plain system calls with the process's own
 * credentials (it already runs as the user, possibly chrooted), so the
 * kernel decides what is allowed. Every call returns -errno on failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "sftp_int.h"

#define PX_PW_BUF 4096

static int
neg_errno(void)
{
	return errno != 0 ? -errno : -EIO;
}

static int
px_open(void *ctx, const char *path, int oflags, mode_t mode)
{
	int fd;

	(void)ctx;
	fd = open(path, oflags, mode);
	return fd >= 0 ? fd : neg_errno();
}

static int
px_close(void *ctx, int fd)
{
	(void)ctx;
	return close(fd) == 0 ? 0 : neg_errno();
}

static ssize_t
px_pread(void *ctx, int fd, void *buf, size_t n, uint64_t off)
{
	ssize_t k;

	(void)ctx;
	if (off > INT64_MAX)
		return -EINVAL;
	do
		k = pread(fd, buf, n, (off_t)off);
	while (k < 0 && errno == EINTR);
	return k >= 0 ? k : neg_errno();
}

static ssize_t
px_pwrite(void *ctx, int fd, const void *buf, size_t n, uint64_t off)
{
	ssize_t k;

	(void)ctx;
	if (off > INT64_MAX)
		return -EINVAL;
	do
		k = pwrite(fd, buf, n, (off_t)off);
	while (k < 0 && errno == EINTR);
	return k >= 0 ? k : neg_errno();
}

static int
px_fsync(void *ctx, int fd)
{
	(void)ctx;
	return fsync(fd) == 0 ? 0 : neg_errno();
}

static int
px_stat(void *ctx, const char *path, bool follow, struct stat *st)
{
	(void)ctx;
	return (follow ? stat(path, st) : lstat(path, st)) == 0 ? 0 : neg_errno();
}

static int
px_fstat(void *ctx, int fd, struct stat *st)
{
	(void)ctx;
	return fstat(fd, st) == 0 ? 0 : neg_errno();
}

static int
set_size(const char *path, int fd, bool follow, uint64_t size)
{
	if (size > INT64_MAX)
		return -EINVAL;
	if (fd >= 0)
		return ftruncate(fd, (off_t)size) == 0 ? 0 : neg_errno();
	if (!follow)
		return -EOPNOTSUPP;    /* truncate(2) would follow a symlink */
	return truncate(path, (off_t)size) == 0 ? 0 : neg_errno();
}

static int
set_mode(const char *path, int fd, bool follow, mode_t mode)
{
	struct stat st;

	if (fd >= 0)
		return fchmod(fd, mode) == 0 ? 0 : neg_errno();
	/* Linux cannot chmod a symlink itself. */
	if (!follow && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return -EOPNOTSUPP;
	return chmod(path, mode) == 0 ? 0 : neg_errno();
}

static int
set_owner(const char *path, int fd, bool follow, uid_t uid, gid_t gid)
{
	int rv;

	if (fd >= 0)
		rv = fchown(fd, uid, gid);
	else
		rv = follow ? chown(path, uid, gid) : lchown(path, uid, gid);
	return rv == 0 ? 0 : neg_errno();
}

static int
set_times(const char *path, int fd, bool follow, uint32_t atime, uint32_t mtime)
{
	struct timespec ts[2] = { { .tv_sec = atime }, { .tv_sec = mtime } };
	int rv;

	if (fd >= 0)
		rv = futimens(fd, ts);
	else
		rv = utimensat(AT_FDCWD, path, ts, follow ? 0 : AT_SYMLINK_NOFOLLOW);
	return rv == 0 ? 0 : neg_errno();
}

/* Owner before mode: chown(2) clears set-id bits the mode may set. */
static int
px_setstat(void *ctx, const char *path, int fd, bool follow, const struct dssh_sftp_attrs *a)
{
	int rv = 0;

	(void)ctx;
	if (a->flags & SSH_FILEXFER_ATTR_SIZE)
		rv = set_size(path, fd, follow, a->size);
	if (rv == 0 && (a->flags & SSH_FILEXFER_ATTR_UIDGID))
		rv = set_owner(path, fd, follow, (uid_t)a->uid, (gid_t)a->gid);
	if (rv == 0 && (a->flags & SSH_FILEXFER_ATTR_PERMISSIONS))
		rv = set_mode(path, fd, follow, (mode_t)(a->perm & 07777));
	if (rv == 0 && (a->flags & SSH_FILEXFER_ATTR_ACMODTIME))
		rv = set_times(path, fd, follow, a->atime, a->mtime);
	return rv;
}

static int
px_statvfs(void *ctx, const char *path, int fd, struct statvfs *sv)
{
	(void)ctx;
	return (fd >= 0 ? fstatvfs(fd, sv) : statvfs(path, sv)) == 0 ? 0 : neg_errno();
}

static int
px_opendir(void *ctx, const char *path, void **dirp)
{
	DIR *d;

	(void)ctx;
	if ((d = opendir(path)) == NULL)
		return neg_errno();
	*dirp = d;
	return 0;
}

static int
px_readdir(void *ctx, void *dir, const char **name, struct stat *st, bool *have_st)
{
	struct dirent *de;

	(void)ctx;
	errno = 0;
	if ((de = readdir(dir)) == NULL)
		return errno != 0 ? -errno : 0;
	*name = de->d_name;
	*have_st = fstatat(dirfd((DIR *)dir), de->d_name, st, AT_SYMLINK_NOFOLLOW) == 0;
	return 1;
}

static void
px_closedir(void *ctx, void *dir)
{
	(void)ctx;
	closedir(dir);
}

static int
px_unlink(void *ctx, const char *path)
{
	(void)ctx;
	return unlink(path) == 0 ? 0 : neg_errno();
}

static int
px_mkdir(void *ctx, const char *path, mode_t mode)
{
	(void)ctx;
	return mkdir(path, mode) == 0 ? 0 : neg_errno();
}

static int
px_rmdir(void *ctx, const char *path)
{
	(void)ctx;
	return rmdir(path) == 0 ? 0 : neg_errno();
}

static int
px_rename(void *ctx, const char *from, const char *to, bool noreplace)
{
	struct stat st;

	(void)ctx;
	if (!noreplace)
		return rename(from, to) == 0 ? 0 : neg_errno();
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return neg_errno();
	/* A file system without RENAME_NOREPLACE: check, then rename. */
	if (lstat(to, &st) == 0)
		return -EEXIST;
	return rename(from, to) == 0 ? 0 : neg_errno();
}

static int
px_link(void *ctx, const char *from, const char *to)
{
	(void)ctx;
	return link(from, to) == 0 ? 0 : neg_errno();
}

static int
px_symlink(void *ctx, const char *target, const char *linkpath)
{
	(void)ctx;
	return symlink(target, linkpath) == 0 ? 0 : neg_errno();
}

static ssize_t
px_readlink(void *ctx, const char *path, char *buf, size_t size)
{
	ssize_t n;

	(void)ctx;
	if ((n = readlink(path, buf, size)) < 0)
		return neg_errno();
	return (size_t)n < size ? n : -ENAMETOOLONG;
}

/* The canonical parent of a path whose last component does not exist yet. */
static int
realpath_missing_last(const char *path, char **out)
{
	size_t len = strlen(path);
	const char *base, *slash;
	char *dir, *canon;

	while (len > 1 && path[len - 1] == '/')
		len--;
	for (slash = path + len; slash > path && slash[-1] != '/'; slash--)
		;
	base = slash;
	size_t blen = len - (size_t)(base - path);

	if (blen == 0 || (blen == 1 && base[0] == '.') || (blen == 2 && memcmp(base, "..", 2) == 0))
		return -ENOENT;
	if (slash == path)
		dir = strdup(".");
	else
		dir = strndup(path, slash - path > 1 ? (size_t)(slash - path - 1) : 1);
	if (dir == NULL)
		return -ENOMEM;
	canon = realpath(dir, NULL);
	free(dir);
	if (canon == NULL)
		return neg_errno();
	size_t cl = strlen(canon);
	bool root = cl == 1 && canon[0] == '/';

	if ((*out = malloc(cl + 1 + blen + 1)) != NULL)
		snprintf(*out, cl + 1 + blen + 1, "%s%s%.*s", canon, root ? "" : "/", (int)blen, base);
	free(canon);
	return *out != NULL ? 0 : -ENOMEM;
}

static int
px_realpath(void *ctx, const char *path, char **out)
{
	(void)ctx;
	if ((*out = realpath(path, NULL)) != NULL)
		return 0;
	if (errno != ENOENT)
		return neg_errno();
	return realpath_missing_last(path, out);
}

static int
copy_name(const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);

	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(buf, name, n + 1);
	return 0;
}

static int
px_user_name(void *ctx, uint32_t uid, char *buf, size_t size)
{
	struct passwd pw, *res = NULL;
	char tmp[PX_PW_BUF];

	(void)ctx;
	if (getpwuid_r((uid_t)uid, &pw, tmp, sizeof(tmp), &res) != 0 || res == NULL)
		return -ENOENT;
	return copy_name(pw.pw_name, buf, size);
}

static int
px_group_name(void *ctx, uint32_t gid, char *buf, size_t size)
{
	struct group gr, *res = NULL;
	char tmp[PX_PW_BUF];

	(void)ctx;
	if (getgrgid_r((gid_t)gid, &gr, tmp, sizeof(tmp), &res) != 0 || res == NULL)
		return -ENOENT;
	return copy_name(gr.gr_name, buf, size);
}

static int
px_user_home(void *ctx, const char *user, char **home)
{
	struct passwd pw, *res = NULL;
	char tmp[PX_PW_BUF];
	int rv;

	(void)ctx;
	if (user[0] == '\0')
		rv = getpwuid_r(geteuid(), &pw, tmp, sizeof(tmp), &res);
	else
		rv = getpwnam_r(user, &pw, tmp, sizeof(tmp), &res);
	if (rv != 0 || res == NULL)
		return -ENOENT;
	return (*home = strdup(pw.pw_dir)) != NULL ? 0 : -ENOMEM;
}

const struct dssh_sftp_fs_ops dssh_sftp_posix_ops = {
	.open = px_open,
	.close = px_close,
	.pread = px_pread,
	.pwrite = px_pwrite,
	.fsync = px_fsync,
	.stat = px_stat,
	.fstat = px_fstat,
	.setstat = px_setstat,
	.statvfs = px_statvfs,
	.opendir = px_opendir,
	.readdir = px_readdir,
	.closedir = px_closedir,
	.unlink = px_unlink,
	.mkdir = px_mkdir,
	.rmdir = px_rmdir,
	.rename = px_rename,
	.link = px_link,
	.symlink = px_symlink,
	.readlink = px_readlink,
	.realpath = px_realpath,
	.user_name = px_user_name,
	.group_name = px_group_name,
	.user_home = px_user_home,
};
