/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSSH_SFTP_INT_H
#define DSSH_SFTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "dssh_buf.h"
#include "dssh_sftp.h"

/* Packet types (draft-ietf-secsh-filexfer-02 section 3). */
enum {
	SSH_FXP_INIT = 1,
	SSH_FXP_VERSION = 2,
	SSH_FXP_OPEN = 3,
	SSH_FXP_CLOSE = 4,
	SSH_FXP_READ = 5,
	SSH_FXP_WRITE = 6,
	SSH_FXP_LSTAT = 7,
	SSH_FXP_FSTAT = 8,
	SSH_FXP_SETSTAT = 9,
	SSH_FXP_FSETSTAT = 10,
	SSH_FXP_OPENDIR = 11,
	SSH_FXP_READDIR = 12,
	SSH_FXP_REMOVE = 13,
	SSH_FXP_MKDIR = 14,
	SSH_FXP_RMDIR = 15,
	SSH_FXP_REALPATH = 16,
	SSH_FXP_STAT = 17,
	SSH_FXP_RENAME = 18,
	SSH_FXP_READLINK = 19,
	SSH_FXP_SYMLINK = 20,
	SSH_FXP_STATUS = 101,
	SSH_FXP_HANDLE = 102,
	SSH_FXP_DATA = 103,
	SSH_FXP_NAME = 104,
	SSH_FXP_ATTRS = 105,
	SSH_FXP_EXTENDED = 200,
	SSH_FXP_EXTENDED_REPLY = 201,
};

enum {
	SSH_FX_OK = 0,
	SSH_FX_EOF = 1,
	SSH_FX_NO_SUCH_FILE = 2,
	SSH_FX_PERMISSION_DENIED = 3,
	SSH_FX_FAILURE = 4,
	SSH_FX_BAD_MESSAGE = 5,
	SSH_FX_NO_CONNECTION = 6,
	SSH_FX_CONNECTION_LOST = 7,
	SSH_FX_OP_UNSUPPORTED = 8,
};

#define SSH_FILEXFER_ATTR_SIZE 0x00000001u
#define SSH_FILEXFER_ATTR_UIDGID 0x00000002u
#define SSH_FILEXFER_ATTR_PERMISSIONS 0x00000004u
#define SSH_FILEXFER_ATTR_ACMODTIME 0x00000008u
#define SSH_FILEXFER_ATTR_EXTENDED 0x80000000u

#define SSH_FXF_READ 0x01u
#define SSH_FXF_WRITE 0x02u
#define SSH_FXF_APPEND 0x04u
#define SSH_FXF_CREAT 0x08u
#define SSH_FXF_TRUNC 0x10u
#define SSH_FXF_EXCL 0x20u

/* statvfs@openssh.com f_flag bits */
#define SSH_FXE_STATVFS_ST_RDONLY 0x1u
#define SSH_FXE_STATVFS_ST_NOSUID 0x2u

#define SFTP_PROTOCOL_VERSION 3u
#define SFTP_HANDLE_LEN 8u              /* u32 slot, u32 generation */
#define SFTP_READDIR_BATCH 100u         /* names per READDIR reply */
#define SFTP_COPY_CHUNK (64u * 1024)

struct dssh_sftp_attrs {
	uint32_t flags;
	uint64_t size;
	uint32_t uid, gid;
	uint32_t perm;
	uint32_t atime, mtime;
};

/*
 * The file-system backend. Every call returns 0 (or a count / descriptor)
 * on success and -errno on failure; the engine maps errno to a status.
 * Paths are NUL-terminated and already made absolute when a home is set.
 * A later io_uring backend implements the same table.
 */
struct dssh_sftp_fs_ops {
	int (*open)(void *ctx, const char *path, int oflags, mode_t mode);
	int (*close)(void *ctx, int fd);
	ssize_t (*pread)(void *ctx, int fd, void *buf, size_t n, uint64_t off);
	ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t n, uint64_t off);
	int (*fsync)(void *ctx, int fd);
	int (*stat)(void *ctx, const char *path, bool follow, struct stat *st);
	int (*fstat)(void *ctx, int fd, struct stat *st);
	/* On fd when fd >= 0, else on path (symlink itself unless follow). */
	int (*setstat)(void *ctx, const char *path, int fd, bool follow,
	    const struct dssh_sftp_attrs *a);
	int (*statvfs)(void *ctx, const char *path, int fd, struct statvfs *sv);
	int (*opendir)(void *ctx, const char *path, void **dirp);
	/* 1 with an entry (*name valid until the next call; *have_st says if
	 * st was filled, from an lstat), 0 at the end, or -errno. */
	int (*readdir)(void *ctx, void *dir, const char **name, struct stat *st, bool *have_st);
	void (*closedir)(void *ctx, void *dir);
	int (*unlink)(void *ctx, const char *path);
	int (*mkdir)(void *ctx, const char *path, mode_t mode);
	int (*rmdir)(void *ctx, const char *path);
	int (*rename)(void *ctx, const char *from, const char *to, bool noreplace);
	int (*link)(void *ctx, const char *from, const char *to);
	int (*symlink)(void *ctx, const char *target, const char *linkpath);
	/* The link's length (not NUL-terminated) or -errno; -ENAMETOOLONG if > size. */
	ssize_t (*readlink)(void *ctx, const char *path, char *buf, size_t size);
	/* Canonical absolute path (malloc'd); a missing last component is allowed. */
	int (*realpath)(void *ctx, const char *path, char **out);
	int (*user_name)(void *ctx, uint32_t uid, char *buf, size_t size);
	int (*group_name)(void *ctx, uint32_t gid, char *buf, size_t size);
	/* Home directory of user (malloc'd); "" is the process's own user. */
	int (*user_home)(void *ctx, const char *user, char **home);
};

extern const struct dssh_sftp_fs_ops dssh_sftp_posix_ops;

/* Status code for an errno value (positive), as the tests check it. */
uint32_t dssh_sftp_errno_status(int err);

#endif
