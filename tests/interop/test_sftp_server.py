#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dssh-sftp-server (dssh's own SFTP server) against OpenSSH's sftp client,
connected directly with `sftp -D` (no ssh), and against a small raw SFTP
client written here for what sftp(1) cannot send: every extension, legacy
RENAME, malformed and oversized packets.  Permissions run the server as a
throwaway non-root user; disk-full runs it over a 1 MiB tmpfs.

Usage: test_sftp_server.py --sftp-server build/app/dssh-sftp-server/dssh-sftp-server
Needs root (test user, tmpfs); exit 77 means skipped.
"""

import argparse
import os
import pwd
import shutil
import struct
import subprocess
import sys
import tempfile

import dssh_harness as h

USER = "dsshsftp"

FXP_INIT, FXP_VERSION, FXP_OPEN, FXP_CLOSE, FXP_READ, FXP_WRITE = 1, 2, 3, 4, 5, 6
FXP_LSTAT, FXP_FSTAT, FXP_SETSTAT, FXP_OPENDIR, FXP_READDIR = 7, 8, 9, 11, 12
FXP_REMOVE, FXP_MKDIR, FXP_REALPATH, FXP_STAT, FXP_RENAME = 13, 14, 16, 17, 18
FXP_STATUS, FXP_HANDLE, FXP_DATA, FXP_NAME, FXP_ATTRS = 101, 102, 103, 104, 105
FXP_EXTENDED, FXP_EXTENDED_REPLY = 200, 201
FX_OK, FX_EOF, FX_NO_SUCH_FILE, FX_PERMISSION_DENIED, FX_FAILURE, FX_BAD_MESSAGE = 0, 1, 2, 3, 4, 5
FX_OP_UNSUPPORTED = 8
FXF_READ, FXF_WRITE, FXF_CREAT, FXF_TRUNC = 1, 2, 8, 0x10

EXTENSIONS = ["posix-rename@openssh.com", "statvfs@openssh.com", "fstatvfs@openssh.com",
              "hardlink@openssh.com", "fsync@openssh.com", "lsetstat@openssh.com",
              "limits@openssh.com", "expand-path@openssh.com", "copy-data",
              "home-directory", "users-groups-by-id@openssh.com"]


# (one sha256 helper for every interop script: the harness's)
sha = h.sha256_file


def s(v):
    if isinstance(v, str):
        v = v.encode()
    return struct.pack(">I", len(v)) + v


class Reader:
    def __init__(self, b):
        self.b, self.o = b, 0

    def u32(self):
        v, = struct.unpack_from(">I", self.b, self.o)
        self.o += 4
        return v

    def u64(self):
        v, = struct.unpack_from(">Q", self.b, self.o)
        self.o += 8
        return v

    def str(self):
        n = self.u32()
        v = self.b[self.o:self.o + n]
        h.check(len(v) == n, "string cut short")
        self.o += n
        return v

    def left(self):
        return len(self.b) - self.o


class Raw:
    """A raw SFTP client over the server's stdin/stdout pipes."""

    def __init__(self, server, args=(), user=None, cwd=None):
        pre = []
        if user is not None:
            pre = ["setpriv", "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid,
                   "--init-groups", "--"]
        self.err = tempfile.TemporaryFile()
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
        self.p = subprocess.Popen(pre + [server, "-e", "-l", "INFO"] + list(args),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err, cwd=cwd, env=env)
        self.next_id = 1
        self.send_raw(struct.pack(">IBI", 5, FXP_INIT, 3))
        t, body = self.recv()
        h.check_eq(t, FXP_VERSION, "reply to INIT")
        r = Reader(body)
        h.check_eq(r.u32(), 3, "protocol version")
        self.ext = {}
        while r.left():
            k = r.str().decode()
            self.ext[k] = r.str().decode()

    def send_raw(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def recv(self):
        hdr = self.p.stdout.read(4)
        if len(hdr) < 4:
            raise h.TestFailure("server closed the connection")
        n, = struct.unpack(">I", hdr)
        body = self.p.stdout.read(n)
        h.check(len(body) == n and n >= 1, "reply cut short")
        return body[0], body[1:]

    def request(self, t, payload):
        rid = self.next_id
        self.next_id += 1
        pkt = struct.pack(">BI", t, rid) + payload
        self.send_raw(struct.pack(">I", len(pkt)) + pkt)
        rt, body = self.recv()
        r = Reader(body)
        h.check_eq(r.u32(), rid, "reply id")
        return rt, r

    def status(self, t, payload, want, what):
        rt, r = self.request(t, payload)
        h.check_eq(rt, FXP_STATUS, what + ": reply type")
        code = r.u32()
        msg = r.str().decode()
        if code != want:
            raise h.TestFailure("%s: status %d (%s), want %d" % (what, code, msg, want))
        return msg

    def ext_req(self, name, payload):
        return self.request(FXP_EXTENDED, s(name) + payload)

    def one_name(self, rt, r, what):
        h.check_eq(rt, FXP_NAME, what)
        h.check_eq(r.u32(), 1, what + ": count")
        return r.str().decode()

    def open(self, path, flags, want=None):
        rt, r = self.request(FXP_OPEN, s(path) + struct.pack(">II", flags, 0))
        if want is not None:
            h.check_eq(rt, FXP_STATUS, "open %s: reply" % path)
            code = r.u32()
            msg = r.str().decode()
            if code != want:
                raise h.TestFailure("open %s: status %d (%s), want %d" % (path, code, msg, want))
            return msg
        h.check_eq(rt, FXP_HANDLE, "open %s" % path)
        return r.str()

    def close(self):
        """EOF on the server's input; returns its exit status and log."""
        self.p.stdin.close()
        rc = self.p.wait(timeout=30)
        self.p.stdout.close()
        self.err.seek(0)
        log = self.err.read().decode(errors="replace")
        self.err.close()
        h.check("ERROR: AddressSanitizer" not in log and "runtime error" not in log,
                "sanitizer report: " + log[-2000:])
        return rc, log


def sftp_batch(server, workdir, batch, user=None, cwd=None, check_rc=True):
    pre = []
    if user is not None:
        pre = ["setpriv", "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid,
               "--init-groups", "--"]
    cmd = pre + ["sftp", "-D", "%s -e -d %s" % (server, workdir), "-b", "-"]
    r = subprocess.run(cmd, input=batch.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600, cwd=cwd)
    out = r.stdout.decode(errors="replace")
    err = r.stderr.decode(errors="replace")
    h.check("AddressSanitizer" not in err and "runtime error" not in err,
            "sanitizer report: " + err[-2000:])
    if check_rc and r.returncode != 0:
        raise h.TestFailure("sftp batch failed: exit %d\nstdout: %s\nstderr: %s"
                            % (r.returncode, out[-2000:], err[-2000:]))
    return r.returncode, out, err


def ensure_user():
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        r = subprocess.run(["useradd", "-m", "-s", "/bin/sh", USER],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            pwd.getpwnam(USER)      # a concurrent run created it
        return pwd.getpwnam(USER)


# ---------------------------------------------------------------- sftp(1) batches

def test_batch(server, tmp):
    local = os.path.join(tmp, "local")
    remote = os.path.join(tmp, "remote")
    os.makedirs(local)
    os.makedirs(remote)
    sizes = {"f0": 0, "f1": 1, "fodd": 4097, "fmeg": 1000003, "fbig": 64 * 1024 * 1024}
    for name, n in sizes.items():
        with open(os.path.join(local, name), "wb") as f:
            f.write(os.urandom(n))
    # Halves for reput / reget.
    with open(os.path.join(local, "fbig"), "rb") as f:
        half = f.read(10 * 1024 * 1024 + 7)
    with open(os.path.join(remote, "rpartial"), "wb") as f:
        f.write(half)
    with open(os.path.join(local, "gpartial"), "wb") as f:
        f.write(half)

    lines = ["lcd " + local]
    for name in sizes:
        lines.append("put %s r%s" % (name, name))
    for name in sizes:
        lines.append("get r%s g%s" % (name, name))
    lines += [
        "reput fbig rpartial",
        "reget rfbig gpartial",
        "ls -l",
        "rename rfodd rodd",
        "rename rodd rodd2",
        "ln -s rodd2 lnk",
        "ln rodd2 hard",
        "chmod 640 rodd2",
        "chown 65534 rodd2",
        "chgrp 65534 rodd2",
        "mkdir sub",
        "mkdir sub/deeper",
        "rmdir sub/deeper",
        "cp rfmeg sub/copy",
        "cd sub",
        "pwd",
        "cd ..",
        "df",
        "df -i",
        "lumask 077",
        "get rodd2 gumask",
        "ls -l",
        "rm rf0",
        "-rm no-such-file",
        "-rmdir no-such-dir",
        "ls -l lnk",
    ]
    rc, out, err = sftp_batch(server, remote, "\n".join(lines) + "\n")
    # Byte-exact both ways.
    for name in sizes:
        src = os.path.join(local, name)
        rname = "rodd2" if name == "fodd" else "r" + name
        if name != "f0":
            h.check_eq(sha(os.path.join(remote, rname)), sha(src), "put %s" % name)
        h.check_eq(sha(os.path.join(local, "g" + name)), sha(src), "get %s" % name)
    big = sha(os.path.join(local, "fbig"))
    h.check_eq(sha(os.path.join(remote, "rpartial")), big, "reput")
    h.check_eq(sha(os.path.join(local, "gpartial")), big, "reget")
    h.check(not os.path.exists(os.path.join(remote, "rf0")), "rm rf0")
    h.check(not os.path.exists(os.path.join(remote, "rodd")), "rename left the source")
    st = os.lstat(os.path.join(remote, "rodd2"))
    h.check_eq(st.st_mode & 0o7777, 0o640, "chmod")
    h.check_eq((st.st_uid, st.st_gid), (65534, 65534), "chown/chgrp")
    h.check_eq(st.st_nlink, 2, "hard link count")
    h.check_eq(os.stat(os.path.join(remote, "hard")).st_ino, st.st_ino, "hardlink inode")
    h.check_eq(os.readlink(os.path.join(remote, "lnk")), "rodd2", "symlink target")
    h.check_eq(sha(os.path.join(remote, "sub", "copy")), sha(os.path.join(local, "fmeg")),
               "cp (copy-data)")
    h.check(os.path.isdir(os.path.join(remote, "sub")), "mkdir")
    h.check(not os.path.exists(os.path.join(remote, "sub", "deeper")), "rmdir")
    h.check_eq(os.stat(os.path.join(local, "gumask")).st_mode & 0o777, 0o600, "lumask 077")
    # What sftp printed: ls -l lines, pwd, df.
    h.check(any(l.startswith("-rw-") and l.endswith(" rfmeg") and " 1000003 " in l
                for l in out.splitlines()), "ls -l output: " + out[-1500:])
    h.check(any(l.startswith("lrwx") and "lnk" in l for l in out.splitlines()),
            "ls -l shows the symlink")
    h.check("Remote working directory: %s/sub" % remote in out, "pwd after cd")
    h.check("%Capacity" in out and "Inodes" in out and "Avail" in out,
            "df output: " + out[-1500:])
    h.check("no-such-file" in err, "rm of a missing file reported")
    h.log("sftp batch: put/get/reput/reget byte-exact (0 B .. 64 MiB), rename, ln, ln -s, "
          "chmod/chown/chgrp, mkdir/rmdir, cp, df, lumask, ls -l")


def test_read_only(server, tmp):
    d = os.path.join(tmp, "ro")
    os.makedirs(d)
    with open(os.path.join(d, "keep"), "wb") as f:
        f.write(b"keep")
    c = Raw(server, ["-R", "-d", d])
    msg = c.status(FXP_REMOVE, s("keep"), FX_PERMISSION_DENIED, "remove with -R")
    c.open("new", FXF_WRITE | FXF_CREAT, want=FX_PERMISSION_DENIED)
    hd = c.open("keep", FXF_READ)
    rt, r = c.request(FXP_READ, s(hd) + struct.pack(">QI", 0, 100))
    h.check_eq(rt, FXP_DATA, "read with -R")
    h.check_eq(r.str(), b"keep", "read data")
    rc, log = c.close()
    h.check_eq(rc, 0, "exit status")
    h.check(os.path.exists(os.path.join(d, "keep")), "file still there (%s)" % msg)
    h.log("read-only: changes refused, reads served")


# ---------------------------------------------------------------- raw client

def test_extensions(server, tmp):
    d = os.path.join(tmp, "ext")
    os.makedirs(d)
    c = Raw(server, ["-d", d])
    for e in EXTENSIONS:
        h.check(e in c.ext, "extension %s advertised (%r)" % (e, c.ext))
    rt, r = c.ext_req("limits@openssh.com", b"")
    h.check_eq(rt, FXP_EXTENDED_REPLY, "limits")
    lim = [r.u64() for _ in range(4)]
    h.check(lim[0] >= 256 * 1024 + 13, "max packet %d" % lim[0])
    h.check(lim[1] >= 256 * 1024 and lim[2] >= 256 * 1024, "max read/write %r" % lim)
    h.check(lim[3] > 0, "max handles")
    h.check_eq(c.one_name(*c.ext_req("home-directory", s("")), "home-directory"), d,
               "home-directory of the session")
    h.check_eq(c.one_name(*c.ext_req("home-directory", s("root")), "home-directory root"),
               pwd.getpwnam("root").pw_dir, "home-directory root")
    h.check_eq(c.one_name(*c.ext_req("expand-path@openssh.com", s("~/x")), "expand-path"),
               d + "/x", "expand-path ~/x")
    h.check_eq(c.one_name(*c.request(FXP_REALPATH, s(".")), "realpath ."), d, "realpath .")
    rt, r = c.ext_req("users-groups-by-id@openssh.com",
                      s(struct.pack(">II", 0, 65534)) + s(struct.pack(">I", 0)))
    h.check_eq(rt, FXP_EXTENDED_REPLY, "users-groups-by-id")
    users, groups = Reader(r.str()), Reader(r.str())
    h.check_eq(users.str(), b"root", "uid 0")
    h.check_eq(users.str(), pwd.getpwuid(65534).pw_name.encode(), "uid 65534")
    h.check_eq(groups.str(), b"root", "gid 0")
    # copy-data between two handles.
    data = os.urandom(300001)
    with open(os.path.join(d, "src"), "wb") as f:
        f.write(data)
    src = c.open("src", FXF_READ)
    dst = c.open("dst", FXF_WRITE | FXF_CREAT | FXF_TRUNC)
    rt, r = c.ext_req("copy-data", s(src) + struct.pack(">QQ", 1, 0) + s(dst) +
                      struct.pack(">Q", 0))
    h.check_eq((rt, r.u32()), (FXP_STATUS, FX_OK), "copy-data")
    for hd in (src, dst):
        c.status(FXP_CLOSE, s(hd), FX_OK, "close")
    with open(os.path.join(d, "dst"), "rb") as f:
        h.check(f.read() == data[1:], "copy-data contents")
    # Legacy RENAME refuses to replace; posix-rename replaces.
    with open(os.path.join(d, "other"), "wb") as f:
        f.write(b"other")
    c.status(FXP_RENAME, s("dst") + s("other"), FX_FAILURE, "legacy rename onto a file")
    rt, r = c.ext_req("posix-rename@openssh.com", s("dst") + s("other"))
    h.check_eq((rt, r.u32()), (FXP_STATUS, FX_OK), "posix-rename")
    # Many requests in flight, answered in order.
    hd = c.open("other", FXF_READ)
    pkts = b""
    for i in range(100):
        p = struct.pack(">BI", FXP_READ, 1000 + i) + s(hd) + struct.pack(">QI", i * 3000, 3000)
        pkts += struct.pack(">I", len(p)) + p
    c.send_raw(pkts)
    for i in range(100):
        t, body = c.recv()
        r = Reader(body)
        h.check_eq((t, r.u32()), (FXP_DATA, 1000 + i), "pipelined read %d" % i)
        h.check(r.str() == data[1 + i * 3000:1 + i * 3000 + 3000], "pipelined data %d" % i)
    rc, log = c.close()
    h.check_eq(rc, 0, "exit status after EOF")
    h.log("raw client: limits, home-directory, expand-path, users-groups-by-id, copy-data, "
          "rename semantics, 100 reads in flight")


def test_malformed(server, tmp):
    c = Raw(server, ["-d", tmp])
    cases = [
        ("truncated path", struct.pack(">BI", FXP_OPEN, 7) + struct.pack(">I", 50) + b"abc"),
        ("open without flags", struct.pack(">BI", FXP_OPEN, 8) + s("x")),
        ("NUL in a path", struct.pack(">BI", FXP_STAT, 9) + s(b"a\0b")),
        ("short handle", struct.pack(">BI", FXP_READ, 10) + s(b"xyz") + struct.pack(">QI", 0, 1)),
        ("unknown handle", struct.pack(">BI", FXP_CLOSE, 11) + s(b"\xff" * 8)),
        ("garbage extension", struct.pack(">BI", FXP_EXTENDED, 12) + b"\x00\x00"),
    ]
    for what, p in cases:
        c.send_raw(struct.pack(">I", len(p)) + p)
        t, body = c.recv()
        r = Reader(body)
        rid = struct.unpack_from(">I", p, 1)[0]
        h.check_eq((t, r.u32(), r.u32()), (FXP_STATUS, rid, FX_BAD_MESSAGE), what)
    # Still serving.
    h.check_eq(c.one_name(*c.request(FXP_REALPATH, s("/")), "realpath /"), "/", "after garbage")
    c.status(200 - 1, b"", FX_OP_UNSUPPORTED, "unknown request type")
    # An oversized length: the server ends the session by itself.
    c.send_raw(struct.pack(">I", 0x7fffffff) + b"\x06")
    rc = c.p.wait(timeout=30)
    rest = c.p.stdout.read()
    h.check_eq(rest, b"", "nothing after the oversized packet")
    rc, log = c.close()
    h.check_eq(rc, 1, "exit status after an oversized packet")
    h.check("over the maximum" in log, "logged: " + log[-500:])
    h.log("malformed requests: BAD_MESSAGE, session goes on; oversized length ends it (logged)")


# ---------------------------------------------------------------- permissions, disk full

def test_permissions(server, tmp, user):
    d = os.path.join(tmp, "perm")
    os.makedirs(d)
    os.chmod(d, 0o755)                              # root's: the user may not write here
    secret = os.path.join(d, "secret")
    with open(secret, "wb") as f:
        f.write(b"not yours")
    os.chown(secret, 65534, 65534)
    os.chmod(secret, 0o600)
    mine = os.path.join(d, "mine")
    os.makedirs(mine)
    os.chown(mine, user.pw_uid, user.pw_gid)
    c = Raw(server, ["-d", d], user=user)
    c.open("secret", FXF_READ, want=FX_PERMISSION_DENIED)
    c.open("/root/.profile", FXF_READ, want=FX_PERMISSION_DENIED)
    c.status(FXP_OPENDIR, s("/root"), FX_PERMISSION_DENIED, "opendir /root")
    c.open("newfile", FXF_WRITE | FXF_CREAT, want=FX_PERMISSION_DENIED)
    c.status(FXP_MKDIR, s("newdir") + struct.pack(">I", 0), FX_PERMISSION_DENIED, "mkdir")
    c.status(FXP_REMOVE, s("secret"), FX_PERMISSION_DENIED, "remove")
    c.status(FXP_SETSTAT, s("secret") + struct.pack(">II", 4, 0o666), FX_PERMISSION_DENIED,
             "chmod of another user's file")
    # The session goes on: where the user may write, it works.
    hd = c.open("mine/ok", FXF_WRITE | FXF_CREAT)
    c.status(FXP_WRITE, s(hd) + struct.pack(">Q", 0) + s(b"ok"), FX_OK, "write own file")
    c.status(FXP_CLOSE, s(hd), FX_OK, "close")
    rc, log = c.close()
    h.check_eq(rc, 0, "exit status")
    h.check_eq(os.stat(os.path.join(mine, "ok")).st_uid, user.pw_uid, "file owned by the user")
    h.check(not os.path.exists(os.path.join(d, "newfile")), "no file where denied")
    with open(secret, "rb") as f:
        h.check_eq(f.read(), b"not yours", "secret untouched")
    # And through sftp(1): the get is refused, the next command still runs.
    rc, out, err = sftp_batch(server, d, "-get secret %s/x\nput /etc/hostname mine/h\n" % mine,
                              user=user, cwd=mine)
    h.check("Permission denied" in err, "sftp reports: " + err[-500:])
    h.check(os.path.exists(os.path.join(mine, "h")), "put after a refused get")
    h.log("as user %s: /root, another user's 0600 file and root's directory refused "
          "with PERMISSION_DENIED; session goes on" % user.pw_name)


def test_disk_full(server, tmp, user):
    mnt = os.path.join(tmp, "small")
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs", mnt],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        h.log("SKIP disk-full: cannot mount tmpfs: %s" % r.stderr.decode()[-200:])
        return
    try:
        big = os.path.join(tmp, "toobig")
        with open(big, "wb") as f:
            f.write(os.urandom(2 * 1024 * 1024))
        c = Raw(server, ["-d", mnt], user=user)
        hd = c.open("fill", FXF_WRITE | FXF_CREAT | FXF_TRUNC)
        chunk = os.urandom(65536)
        msg = None
        for i in range(40):
            rt, r = c.request(FXP_WRITE, s(hd) + struct.pack(">Q", i * 65536) + s(chunk))
            h.check_eq(rt, FXP_STATUS, "write reply")
            code = r.u32()
            if code != FX_OK:
                h.check_eq(code, FX_FAILURE, "status of a write to a full disk")
                msg = r.str().decode()
                break
        h.check_eq(msg, "No space left on device", "message of a write to a full disk")
        c.status(FXP_CLOSE, s(hd), FX_OK, "close")
        c.status(FXP_REMOVE, s("fill"), FX_OK, "remove after disk full")
        hd = c.open("small", FXF_WRITE | FXF_CREAT)
        c.status(FXP_WRITE, s(hd) + struct.pack(">Q", 0) + s(b"fits"), FX_OK, "small write")
        c.status(FXP_CLOSE, s(hd), FX_OK, "close")
        rc, log = c.close()
        h.check_eq(rc, 0, "exit status")
        # sftp(1): the put fails, the session goes on to the next command.
        rc, out, err = sftp_batch(server, mnt, "-put %s big\nrm big\nput /etc/hostname after\n" % big,
                                  user=user, cwd=tmp)
        # sftp(1) prints its own text for the status code.
        h.check('"%s/big": Failure' % mnt in err, "sftp reports the full disk: " + err[-500:])
        h.check(os.path.exists(os.path.join(mnt, "after")), "put after the failed one")
        h.log("disk full (1 MiB tmpfs): FAILURE \"No space left on device\", session goes on")
    finally:
        subprocess.run(["umount", mnt])


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sftp-server", required=True)
    args = p.parse_args()
    server = os.path.abspath(args.sftp_server)
    if os.geteuid() != 0:
        h.skip("needs root (test user, tmpfs)")
    for tool in ("sftp", "setpriv", "useradd", "mount"):
        if shutil.which(tool) is None:
            h.skip("%s not installed" % tool)
    if not os.access(server, os.X_OK):
        h.skip("%s not executable" % server)
    user = ensure_user()
    tmp = tempfile.mkdtemp(prefix="dssh-sftp-server-")
    os.chmod(tmp, 0o755)
    tmp = os.path.realpath(tmp)
    failed = []
    try:
        for name, fn, a in [("batch", test_batch, (server, tmp)),
                            ("read-only", test_read_only, (server, tmp)),
                            ("extensions", test_extensions, (server, tmp)),
                            ("malformed", test_malformed, (server, tmp)),
                            ("permissions", test_permissions, (server, tmp, user)),
                            ("disk-full", test_disk_full, (server, tmp, user))]:
            try:
                fn(*a)
            except (h.TestFailure, subprocess.TimeoutExpired) as e:
                h.log("FAIL %s: %s" % (name, e))
                failed.append(name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        h.log("FAIL: %s" % ", ".join(failed))
        sys.exit(1)
    h.log("PASS")


if __name__ == "__main__":
    main()
