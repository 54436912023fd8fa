#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""dssh-cp -r against a server: dsshd (its internal-sftp) or OpenSSH's sshd
(--server /usr/sbin/sshd, its sftp-server).

  - a tree with nested and empty directories, an empty file, a read-only
    file, a multi-MiB file split over the streams, names with spaces, a
    newline and non-UTF-8 bytes, a link to a file (copied as a file) and a
    link to a directory (skipped): up and down, into a new target (the copy
    is the target) and into an existing directory (the copy goes inside),
    compared byte-exact with modes (and with -p the mtimes, directories'
    too)
  - a directory without -r: refused, "not a regular file", nothing written
  - a tree copy killed mid-way and run again: it says "resumed", ends
    byte-exact, and files complete before the kill are not written again
  - a hostile sftp server (a script as the Subsystem) that lists "../x",
    "a/b", "." and "..": those names are refused, nothing written outside
    the target, the copy fails; a link planted in the target that leads out
    of it is refused too

dssh-cp runs as the unprivileged test user (setpriv): a client that went
wrong here as root could write anywhere; as the user it can write little
beyond its own files.
"""

import os
import pwd
import shutil
import stat
import subprocess
import sys
import time

from dssh_harness import (in_shared_tmp, TEST_USER, Results, Server, check, check_eq, describe, log,
                          main, sha256_file)

HERE = os.path.dirname(os.path.abspath(__file__))
BIG = 9 << 20     # split into ranges over -n 4 (1 MiB is the shortest range)
ODD = [b"with space", b"new\nline", b"bytes-\xff\xfe-not-utf8", "ünïcödé".encode()]


def write(path, data, mode=0o644, mtime=None):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def make_tree(root):
    """The source tree (root itself does not exist yet); bytes paths."""
    j = os.path.join
    os.makedirs(j(root, b"a", b"b", b"c"))
    os.makedirs(j(root, b"empty"))
    os.makedirs(j(root, b"private"))
    write(j(root, b"top.txt"), b"top\n", 0o644, 1500000001)
    write(j(root, b"empty-file"), b"", 0o640, 1500000002)
    write(j(root, b"read-only"), b"ro\n", 0o444, 1500000003)
    write(j(root, b"a", b"b", b"c", b"deep.bin"), os.urandom(70000), 0o600, 1500000004)
    write(j(root, b"a", b"big.bin"), os.urandom(BIG), 0o644, 1500000005)
    write(j(root, b"private", b"key"), os.urandom(100), 0o600, 1500000006)
    for i, n in enumerate(ODD):
        write(j(root, b"a", n), n * 3, 0o644, 1500000010 + i)
    os.makedirs(j(root, ODD[0] + b" dir"))
    write(j(root, ODD[0] + b" dir", ODD[1]), b"x" * 5000, 0o755, 1500000020)
    os.symlink(b"top.txt", j(root, b"link-to-file"))
    os.symlink(b"a", j(root, b"link-to-dir"))
    os.chmod(j(root, b"private"), 0o750)
    os.chmod(j(root, b"a", b"b"), 0o700)
    for d, t in ((b"a/b/c", 1400000001), (b"a/b", 1400000002), (b"a", 1400000003),
                 (b"empty", 1400000004), (b"private", 1400000005),
                 (ODD[0] + b" dir", 1400000006)):
        os.utime(j(root, d), (t, t))


def snapshot(root, times):
    """{relative path: (kind, mode, sha256 or None, mtime or None)}: what a
    copy is compared by. Links: what the copy makes of them (a file's
    content; a link to a directory is not copied)."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                st = os.stat(p)
                if stat.S_ISDIR(st.st_mode):
                    continue
                out[rel] = ("file", None, sha256_file(p), None)
                continue
            kind = "dir" if stat.S_ISDIR(st.st_mode) else "file"
            out[rel] = (kind, oct(st.st_mode & 0o7777),
                        sha256_file(p) if kind == "file" else None,
                        int(st.st_mtime) if times else None)
    return out


def same_tree(src, dst, times, what):
    a, b = snapshot(src, times), snapshot(dst, times)
    check_eq(sorted(b), sorted(a), "%s: the paths" % what)
    for k in a:
        want, got = a[k], b[k]
        if want[1] is None:      # a followed link: a file of its content
            got = (got[0], None, got[2], None)
        check_eq(got, want, "%s: %r" % (what, k))


def body(args, env):
    in_shared_tmp("dssh-cptree-", lambda tmp: tree_tests(args, env, tmp.encode()))


def tree_tests(args, env, tmp):
    dsshd = args.kind == "dsshd"
    override = {"Subsystem": "sftp internal-sftp"} if dsshd else {}
    srv = Server(args.server, override=override)
    kh = os.path.join(tmp, b"known_hosts")
    res = Results()
    j = os.path.join
    remote = lambda p: b"%s@127.0.0.1:%s" % (TEST_USER.encode(), p)

    def cp(*argv, srv=srv, timeout=600, popen=False):
        a = [b"setpriv", b"--reuid=%d" % pw.pw_uid, b"--regid=%d" % pw.pw_gid,
             b"--init-groups", args.dssh_cp.encode(), b"-o", b"UserKnownHostsFile=" + kh,
             b"-o", b"StrictHostKeyChecking=accept-new", b"-o", b"BatchMode=yes",
             b"-i", key, b"-P", str(srv.port).encode()]
        a += [x if isinstance(x, bytes) else x.encode() for x in argv]
        e = dict(os.environ)
        e.pop("SSH_AUTH_SOCK", None)
        e["HOME"] = home.decode()
        if popen:
            return subprocess.Popen(a, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    env=e, start_new_session=True)
        return subprocess.run(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, env=e, start_new_session=True)

    # The client as the test user: its own HOME (the journals), its key.
    pw = pwd.getpwnam(TEST_USER)
    home, key = j(tmp, b"client-home"), j(tmp, b"client-key")
    os.mkdir(home)
    shutil.copy(env.keys["ed25519"], key)
    for p in (home, key):
        os.chown(p, pw.pw_uid, pw.pw_gid)
    os.chmod(key, 0o600)

    def chown_tree(root):
        subprocess.run(["chown", "-hR", TEST_USER, root], check=True)

    src = j(tmp, b"src")
    make_tree(src)
    chown_tree(src)
    # Modes within the umask's complement: the same with and without -p.
    os.umask(0o022)

    with srv:
        res.server = srv

        def refused():
            for argv, target in (([src, remote(j(tmp, b"norec-up"))], j(tmp, b"norec-up")),
                                 ([remote(src), j(tmp, b"norec-down")], j(tmp, b"norec-down"))):
                r = cp(*argv)
                check(r.returncode == 1 and b"not a regular file" in r.stderr, describe(r))
                check(not os.path.lexists(target), "%r written without -r" % target)
        res.run("refused-without-r", refused)

        def up_down(p, n):
            flag = ["-p"] if p else []
            up = j(tmp, b"up%s" % (b"-p" if p else b""))
            r = cp("-r", "-q", "-n", str(n), *flag, src, remote(up))
            check(r.returncode == 0, "upload: " + describe(r))
            same_tree(src, up, p, "upload -n %d%s" % (n, " -p" if p else ""))
            check(not os.path.lexists(j(up, b"link-to-dir")), "a link to a directory copied")
            check(os.path.isfile(j(up, b"link-to-file")) and
                  not os.path.islink(j(up, b"link-to-file")), "a link to a file not followed")
            down = j(tmp, b"down%s" % (b"-p" if p else b""))
            r = cp("-r", "-n", str(n), *flag, remote(up), down)
            check(r.returncode == 0, "download: " + describe(r))
            check(b"files, " in r.stderr and b"directories" in r.stderr,
                  "no summary: " + describe(r))
            same_tree(up, down, p, "download -n %d%s" % (n, " -p" if p else ""))
            # Into existing directories: the copies go inside, under the
            # source's name.
            into_up, into_down = j(tmp, b"into-up"), j(tmp, b"into-down")
            for d in (into_up, into_down):
                os.mkdir(d)
                os.chmod(d, 0o777)
            r = cp("-r", "-q", "-n", str(n), *flag, src, remote(into_up))
            check(r.returncode == 0, "upload into: " + describe(r))
            same_tree(src, j(into_up, b"src"), p, "upload into a directory")
            r = cp("-r", "-q", "-n", str(n), *flag, remote(up + b"/"), into_down)
            check(r.returncode == 0, "download into: " + describe(r))
            same_tree(up, j(into_down, os.path.basename(up)), p, "download into a directory")
            for d in (up, down, into_up, into_down):
                shutil.rmtree(d)
        res.run("tree-n4-p", up_down, True, 4)
        res.run("tree-n2", up_down, False, 2)
        res.run("tree-n1-p", up_down, True, 1)

        def resume(direction):
            # 24 files of 3 MiB and one of 40 MiB: killed once a third is in,
            # then run again.
            rsrc = j(tmp, b"rsrc")
            if not os.path.exists(rsrc):
                os.makedirs(j(rsrc, b"sub"))
                for i in range(24):
                    write(j(rsrc, b"sub" if i % 2 else b"", b"f%02d" % i), os.urandom(3 << 20))
                write(j(rsrc, b"huge"), os.urandom(40 << 20))
                chown_tree(rsrc)
            if direction == "up":
                tgt = j(tmp, b"rtgt-up")
                argv = [rsrc, remote(tgt)]
                origin = rsrc
            else:
                origin = j(tmp, b"rorigin")
                shutil.copytree(rsrc, origin)
                tgt = j(tmp, b"rtgt-down")
                argv = [remote(origin), tgt]
            total = sum(os.path.getsize(j(d, f)) for d, _, fs in os.walk(rsrc) for f in fs)
            p = cp("-r", "-n", "4", *argv, popen=True)
            deadline = time.time() + 120
            while p.poll() is None and time.time() < deadline:
                have = sum(os.stat(j(d, f)).st_blocks * 512
                           for d, _, fs in os.walk(tgt) for f in fs) if os.path.isdir(tgt) else 0
                if have >= total // 3:
                    break
                time.sleep(0.01)
            check(p.poll() is None, "%s: the copy ended before it could be killed" % direction)
            p.kill()
            p.wait()
            # What is complete now (same bytes as the source) must not be
            # written again: its mtime (ns) stays.
            done = {}
            for d, _, fs in os.walk(tgt):
                for f in fs:
                    t = j(d, f)
                    s = j(origin, os.path.relpath(t, tgt))
                    if os.path.getsize(t) == os.path.getsize(s) and \
                            sha256_file(t) == sha256_file(s):
                        done[t] = os.stat(t).st_mtime_ns
            check(0 < len(done) < 25, "%s: %d files complete at the kill" % (direction, len(done)))
            time.sleep(0.05)
            r = cp("-r", "-n", "4", *argv)
            check(r.returncode == 0 and b"resumed" in r.stderr,
                  "%s resume: %s" % (direction, describe(r)))
            same_tree(origin, tgt, False, "resumed %s" % direction)
            again = [t for t in done if os.stat(t).st_mtime_ns != done[t]]
            check(not again, "%s: complete files written again: %r" % (direction, again[:5]))
            # Completed: the next copy is a new one (no "resumed").
            r = cp("-r", "-n", "4", *argv)
            check(r.returncode == 0 and b"resumed" not in r.stderr, describe(r))
            shutil.rmtree(tgt)
            if direction == "down":
                shutil.rmtree(origin)
        res.run("resume-up", resume, "up")
        res.run("resume-down", resume, "down")

        def planted_link():
            # The target already holds the copy's directory, where "a" is a
            # link out of it (to a directory of the test's): refused, and
            # nothing lands there.
            into, outside = j(tmp, b"planted"), j(tmp, b"planted-outside")
            os.makedirs(j(into, b"src"))
            os.mkdir(outside)
            os.symlink(outside, j(into, b"src", b"a"))
            chown_tree(into)
            chown_tree(outside)
            r = cp("-r", "-q", remote(src), into)
            check(r.returncode == 1 and b"outside the target, refused" in r.stderr, describe(r))
            check_eq(os.listdir(outside), [], "written through the planted link")
            check(os.path.isfile(j(into, b"src", b"top.txt")), "the rest not copied")
        res.run("planted-link", planted_link)
        res.finish(srv)

    # A hostile server: its sftp subsystem is a script listing names that
    # would leave the target.
    def traversal():
        hostile = os.path.join(HERE, "hostile_sftp.py")
        root = j(tmp, b"hostile-root")
        os.makedirs(j(root, b"d"))
        os.chmod(tmp, 0o1777)
        sub = "sftp %s %s %s" % (sys.executable, hostile, root.decode())
        with Server(args.server, override={"Subsystem": sub}, name="hostile") as hs:
            tgt = j(tmp, b"hostile-tgt")
            r = cp("-r", "-q", remote(j(root, b"d")), tgt, srv=hs)
            check(r.returncode == 1, "a hostile listing accepted: " + describe(r))
            for bad in (b"../escaped", b"a/b"):
                check(b"refused" in r.stderr and bad in r.stderr, describe(r))
            check(not os.path.lexists(j(tmp, b"escaped")), "written outside the target")
            check(not os.path.lexists(j(tgt, b"a")), "a name with a '/' was followed")
            check_eq(open(j(tgt, b"good"), "rb").read(), b"good\n", "the good file")
    res2 = Results()
    res2.run("hostile-listing", traversal)
    res2.finish()
    log("dssh-cp -r against %s: all passed" % args.kind)


def add_args(p):
    p.add_argument("--dssh-cp", required=True)


if __name__ == "__main__":
    main(__doc__, body, add_args)
