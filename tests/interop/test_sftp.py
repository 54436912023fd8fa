#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""OpenSSH's sftp, scp and rsync through the server's sftp subsystem and exec.

With --sftp internal (the default) the server runs `Subsystem sftp
internal-sftp` (dsshd's own SFTP server, lib/sftp, started by the session
spawner as the user); --sftp external runs OpenSSH's sftp-server as a
command. Against sshd (--server /usr/sbin/sshd) the same cases check the
tests themselves.

Cases: a 64 MiB random file up and back with rekeying inside (RekeyLimit
16M); byte-exact put/get/reput/reget of 0 B, 1 B, odd sizes and 256 MiB;
every sftp batch command OpenSSH 9.2 has (ls -l, rename, rm, mkdir, rmdir,
ln, ln -s, symlink, chmod, chown/chgrp errors, df, lumask); scp in SFTP mode
and scp -O (exec) both ways; rsync -e ssh both ways; a non-root user cannot
read /root or another user's 0600 file nor write where it may not, through
sftp, scp or exec; a full (1 MiB tmpfs) disk gives a clean error and the
session goes on; killing the user's SFTP process mid-transfer ends only that
session, and nothing is left behind in the server.
"""

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

import dssh_harness as h

SIZE = 64 * 1024 * 1024
BIG = 256 * 1024 * 1024


# (one sha256 helper for every interop script: the harness's)
sha = h.sha256_file


def client_opts(srv, env):
    """ssh_argv's options, minus the host and command, for sftp/scp (-P port)."""
    argv = h.ssh_argv(srv, env)
    opts = argv[len(srv.client_prefix()) + 1:argv.index("-p")]
    return opts + ["-P", str(srv.port)]


def run(argv, timeout=300, input=None, check=True):
    r = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, start_new_session=True)
    if check and r.returncode != 0:
        raise h.TestFailure("%s: %s" % (" ".join(argv[:1] + argv[-2:]), h.describe(r)))
    return r


def random_file(path, size):
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n
    os.chmod(path, 0o644)


class Ctx:
    def __init__(self, srv, env, tmp):
        self.srv, self.env, self.tmp = srv, env, tmp
        self.opts = client_opts(srv, env)
        self.target = "%s@%s" % (h.TEST_USER, srv.host)
        self.user = pwd.getpwnam(h.TEST_USER)
        # The user's own scratch directory on the server (same machine).
        self.rdir = tempfile.mkdtemp(prefix="dssh-sftp-remote-", dir="/var/tmp")
        os.chown(self.rdir, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.rdir, 0o755)

    def sftp(self, batch, check=True, timeout=300):
        argv = self.srv.client_prefix() + ["sftp", "-b", "-"] + self.opts + [self.target]
        return run(argv, input=batch.encode(), check=check, timeout=timeout)

    def scp(self, legacy, src, dst, check=True):
        flag = ["-O"] if legacy else []
        argv = self.srv.client_prefix() + ["scp", "-q"] + flag + self.opts + [src, dst]
        return run(argv, check=check)

    def remote(self, name):
        return os.path.join(self.rdir, name)

    def cleanup(self):
        shutil.rmtree(self.rdir, ignore_errors=True)


def case_roundtrip(c):
    src = os.path.join(c.tmp, "src")
    random_file(src, SIZE)
    want = sha(src)
    remote = c.remote("rt")
    back = os.path.join(c.tmp, "back-sftp")
    r = c.sftp("put %s %s.part\nrename %s.part %s\nls -l %s\nget %s %s\nrm %s\n"
               % (src, remote, remote, remote, remote, remote, back, remote))
    h.check(str(SIZE).encode() in r.stdout, "ls -l shows the size: %r" % r.stdout[-300:])
    h.check_eq(sha(back), want, "sftp put/get sha256")
    h.check(not os.path.exists(remote), "rm removed the file")


def case_sizes(c):
    """0 B, 1 B, odd sizes and 256 MiB, put and get, then reput/reget of a cut copy."""
    sizes = [0, 1, 4095, 32769, 65537 + 13, 262144 + 7, 3 * 1024 * 1024 + 1, BIG]
    batch = []
    for n in sizes:
        p = os.path.join(c.tmp, "s%d" % n)
        random_file(p, n)
        batch.append("put %s %s" % (p, c.remote("s%d" % n)))
        batch.append("get %s %s.back" % (c.remote("s%d" % n), p))
    c.sftp("\n".join(batch) + "\n", timeout=600)
    for n in sizes:
        p = os.path.join(c.tmp, "s%d" % n)
        h.check_eq(os.path.getsize(c.remote("s%d" % n)), n, "remote size of %d B" % n)
        h.check_eq(sha(p + ".back"), sha(p), "%d B round trip" % n)
    # Resume: the remote copy and the local one cut short, then completed.
    n = 3 * 1024 * 1024 + 1
    p = os.path.join(c.tmp, "s%d" % n)
    with open(c.remote("s%d" % n), "r+b") as f:
        f.truncate(n // 3)
    with open(p + ".back", "r+b") as f:
        f.truncate(n // 2)
    c.sftp("reput %s %s\nreget %s %s.back\n" % (p, c.remote("s%d" % n), c.remote("s%d" % n), p))
    h.check_eq(sha(c.remote("s%d" % n)), sha(p), "reput completed the file")
    h.check_eq(sha(p + ".back"), sha(p), "reget completed the file")
    for n in sizes:
        os.unlink(c.remote("s%d" % n))
        os.unlink(os.path.join(c.tmp, "s%d" % n))
        os.unlink(os.path.join(c.tmp, "s%d.back" % n))


def case_commands(c):
    """Every batch command, each checked on the server's file system."""
    f = os.path.join(c.tmp, "cmd")
    random_file(f, 100000)
    d = c.remote("dir")
    r = c.sftp("\n".join([
        "mkdir %s" % d,
        "put %s %s/a" % (f, d),
        "rename %s/a %s/b" % (d, d),
        "ln %s/b %s/hard" % (d, d),
        "ln -s %s/b %s/soft" % (d, d),
        "symlink %s/b %s/soft2" % (d, d),
        "chmod 600 %s/b" % d,
        "ls -l %s" % d,
        "df %s" % d,
        "df -i %s" % d,
        "mkdir %s/sub" % d,
        "rmdir %s/sub" % d,
        "-chown 0 %s/b" % d,
        "-chgrp 0 %s/b" % d,
        "lumask 077",
        "get %s/soft %s.viasymlink" % (d, f),
        "rm %s/hard" % d,
        "pwd",
    ]) + "\n")
    out = r.stdout.decode(errors="replace")
    st = os.stat(os.path.join(d, "b"))
    h.check_eq(st.st_size, 100000, "renamed file's size")
    h.check_eq(st.st_mode & 0o777, 0o600, "chmod 600")
    h.check_eq(st.st_uid, c.user.pw_uid, "chown to root refused: still the user's")
    h.check(not os.path.exists(os.path.join(d, "a")), "rename moved the file")
    h.check(not os.path.exists(os.path.join(d, "hard")), "rm removed the hard link")
    h.check_eq(os.readlink(os.path.join(d, "soft")), os.path.join(d, "b"), "ln -s target")
    h.check_eq(os.readlink(os.path.join(d, "soft2")), os.path.join(d, "b"), "symlink target")
    h.check(not os.path.exists(os.path.join(d, "sub")), "rmdir")
    h.check_eq(sha(f + ".viasymlink"), sha(f), "get through a symlink")
    h.check(re.search(r"^-rw------- .* \S*/b\s*$", out, re.M) is not None,
            "ls -l shows mode and name: %r" % out[-800:])
    h.check("Size" in out and "Inodes" in out, "df and df -i print (statvfs): %r" % out[-800:])
    # The hard link existed (ls -l saw it) before rm.
    h.check("hard" in out, "ln made a hard link: %r" % out[-800:])
    # Overwrite by rename onto an existing name (posix-rename semantics).
    c.sftp("put %s %s/c\nrename %s/c %s/b\n" % (f, d, d, d))
    h.check(not os.path.exists(os.path.join(d, "c")), "rename over an existing file")
    shutil.rmtree(d)


def case_scp(c, legacy):
    src = os.path.join(c.tmp, "scp-src")
    random_file(src, 5 * 1024 * 1024 + 3)
    back = os.path.join(c.tmp, "back-scp%s" % ("-O" if legacy else ""))
    remote = c.remote("scp%s" % ("-O" if legacy else ""))
    c.scp(legacy, src, "%s:%s" % (c.target, remote))
    h.check_eq(sha(remote), sha(src), "scp%s upload" % (" -O" if legacy else ""))
    c.scp(legacy, "%s:%s" % (c.target, remote), back)
    h.check_eq(sha(back), sha(src), "scp%s download" % (" -O" if legacy else ""))
    os.unlink(remote)


def case_rsync(c):
    if shutil.which("rsync") is None:
        raise h.TestFailure("rsync not installed (scripts/setup.sh installs it)")
    srcdir = os.path.join(c.tmp, "rs-src")
    os.makedirs(os.path.join(srcdir, "d"), exist_ok=True)
    for i, n in enumerate((0, 1, 70001, 2 * 1024 * 1024 + 5)):
        random_file(os.path.join(srcdir, "d" if i % 2 else "", "f%d" % i), n)
    # ssh's options and -p PORT, without the namespace prefix and user@host
    ssh = " ".join(h.ssh_argv(c.srv, c.env)[len(c.srv.client_prefix()):-1])
    rdst = c.remote("rs")
    run(c.srv.client_prefix() + ["rsync", "-a", "-e", ssh, srcdir + "/", "%s:%s/" % (c.target, rdst)])
    back = os.path.join(c.tmp, "rs-back")
    run(c.srv.client_prefix() + ["rsync", "-a", "-e", ssh, "%s:%s/" % (c.target, rdst), back + "/"])
    for root, _dirs, files in os.walk(srcdir):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), srcdir)
            h.check_eq(sha(os.path.join(rdst, rel)), sha(os.path.join(srcdir, rel)),
                       "rsync upload of %s" % rel)
            h.check_eq(sha(os.path.join(back, rel)), sha(os.path.join(srcdir, rel)),
                       "rsync download of %s" % rel)
    shutil.rmtree(rdst)


def case_permissions(c):
    """The kernel, not the server's goodwill, keeps the user to its rights."""
    secret_dir = tempfile.mkdtemp(prefix="dssh-sftp-other-", dir="/var/tmp")
    os.chmod(secret_dir, 0o755)
    secret = os.path.join(secret_dir, "secret")
    with open(secret, "w") as f:
        f.write("not for the test user\n")
    os.chmod(secret, 0o600)         # root's, 0600
    rootfile = "/root/.dssh-sftp-test-%d" % os.getpid()
    with open(rootfile, "w") as f:
        f.write("root only\n")
    os.chmod(rootfile, 0o644)       # /root itself is 0700
    try:
        back = os.path.join(c.tmp, "stolen")
        for path in (secret, rootfile):
            r = c.sftp("get %s %s\n" % (path, back), check=False)
            h.check(r.returncode != 0, "sftp get %s refused" % path)
            # (sftp reports a stat refused inside /root as "not found")
            h.check(b"ermission denied" in r.stderr or
                    (path == rootfile and b"not found" in r.stderr),
                    "sftp says permission denied: %r" % r.stderr[-300:])
            h.check(not os.path.exists(back) or os.path.getsize(back) == 0,
                    "nothing of %s arrived" % path)
            r = c.scp(False, "%s:%s" % (c.target, path), back, check=False)
            h.check(r.returncode != 0, "scp of %s refused" % path)
            r = h.ssh_run(c.srv, c.env, "cat %s" % path)
            h.check(r.returncode != 0 and b"root only" not in r.stdout and
                    b"not for" not in r.stdout, "exec cat %s refused" % path)
        # Writing where the user may not: a root-owned directory, /root.
        f = os.path.join(c.tmp, "w")
        random_file(f, 1000)
        for path in (os.path.join(secret_dir, "planted"), "/root/planted"):
            r = c.sftp("put %s %s\n" % (f, path), check=False)
            h.check(r.returncode != 0 and not os.path.exists(path), "put %s refused" % path)
            r = c.sftp("-mkdir %s.d\nls %s\n" % (path, c.rdir), check=True)
            h.check(not os.path.exists(path + ".d"), "mkdir %s.d refused" % path)
        r = c.sftp("rm %s\n" % secret, check=False)
        h.check(r.returncode != 0 and os.path.exists(secret), "rm of root's file refused")
    finally:
        shutil.rmtree(secret_dir, ignore_errors=True)
        os.unlink(rootfile)


def case_disk_full(c):
    mnt = c.remote("full")
    os.makedirs(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755,uid=%d,gid=%d"
                    % (c.user.pw_uid, c.user.pw_gid), "tmpfs", mnt], check=True)
    try:
        f = os.path.join(c.tmp, "toobig")
        random_file(f, 3 * 1024 * 1024)
        small = os.path.join(c.tmp, "small")
        random_file(small, 1000)
        r = c.sftp("-put %s %s/toobig\nput %s %s/small\nls -l %s\n"
                   % (f, mnt, small, c.rdir, mnt), check=False)
        err = r.stderr.decode(errors="replace")
        h.check("toobig" in err or "Failure" in err or "space" in err.lower(),
                "the put into a full disk reports an error: %r" % err[-400:])
        h.check_eq(r.returncode, 0, "the session went on after the full disk (%r)" % err[-400:])
        h.check_eq(sha(os.path.join(c.rdir, "small")), sha(small),
                   "a put after the failure arrived whole")
    finally:
        subprocess.run(["umount", mnt], check=False)
        os.rmdir(mnt)


def session_pids(uid):
    """The processes running as uid (the user's session processes)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.stat("/proc/" + d).st_uid == uid:
                    out.append(int(d))
            except FileNotFoundError:
                pass
    return out


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def case_kill_worker(c, server_pid):
    """The user's SFTP process killed mid-transfer: that session ends, the
    server and another session do not notice, nothing is left behind."""
    src = os.path.join(c.tmp, "kill-src")
    random_file(src, 32 * 1024 * 1024)
    # A second session open across the kill.
    other = subprocess.Popen(h.ssh_argv(c.srv, c.env, command="sleep 6; echo still-here"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
    time.sleep(1.0)
    fds_before = fd_count(server_pid) if server_pid else 0
    before = set(session_pids(c.user.pw_uid))
    argv = c.srv.client_prefix() + ["sftp", "-b", "-", "-l", "8000"] + c.opts + [c.target]
    victim = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, start_new_session=True)
    victim.stdin.write(("put %s %s\n" % (src, c.remote("killed"))).encode())
    victim.stdin.close()
    new = []
    for _ in range(100):
        time.sleep(0.1)
        new = [p for p in session_pids(c.user.pw_uid) if p not in before]
        if new and os.path.exists(c.remote("killed")):
            break
    h.check(new, "a new process runs as the user for the sftp session")
    for p in new:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        victim.wait(timeout=30)
    except subprocess.TimeoutExpired:
        victim.kill()
        raise h.TestFailure("sftp did not end after its server process was killed")
    h.check(victim.returncode != 0, "the killed session's sftp failed")
    out, err = other.communicate(timeout=30)
    h.check(other.returncode == 0 and b"still-here" in out,
            "the other session went on: %r %r" % (out, err[-300:]))
    c.sftp("ls %s\n" % c.rdir)       # a new session works
    if server_pid:
        for _ in range(50):
            if fd_count(server_pid) <= fds_before:
                break
            time.sleep(0.1)
        h.check(fd_count(server_pid) <= fds_before, "server fds back to %d (now %d)"
                % (fds_before, fd_count(server_pid)))
    with contextlib.suppress(FileNotFoundError):
        os.unlink(c.remote("killed"))


def make_chroot(user, bad=False):
    """A root-owned 0755 tree with /upload (the user's) and /marker; bad:
    the chroot itself group-writable, which the server must refuse."""
    # Every component root-owned and not writable by others: not under /var/tmp.
    root = tempfile.mkdtemp(prefix="dssh-chroot-", dir="/var/lib")
    os.chmod(root, 0o775 if bad else 0o755)
    os.makedirs(os.path.join(root, "upload"))
    os.chown(os.path.join(root, "upload"), user.pw_uid, user.pw_gid)
    with open(os.path.join(root, "marker"), "w") as f:
        f.write("inside the chroot\n")
    return root


def case_chroot(c, root):
    """ChrootDirectory + ForceCommand internal-sftp -d /upload: the user sees
    the chroot as /, starts in /upload, cannot reach anything outside, and an
    exec request runs the forced sftp server, never a shell."""
    f = os.path.join(c.tmp, "chroot-put")
    random_file(f, 200001)
    r = c.sftp("pwd\nput %s x\nls -l /\nget /marker %s.marker\n-get /etc/passwd %s.passwd\n"
               "-get ../../../../etc/passwd %s.passwd2\n-put %s /escape\n" % (f, f, f, f, f))
    out = r.stdout.decode(errors="replace")
    h.check("Remote working directory: /upload" in out, "starts in /upload: %r" % out[-600:])
    h.check_eq(sha(os.path.join(root, "upload", "x")), sha(f), "put lands in the chroot's /upload")
    h.check("marker" in out and "upload" in out, "ls / lists the chroot: %r" % out[-600:])
    with open(f + ".marker") as m:
        h.check_eq(m.read(), "inside the chroot\n", "/marker is the chroot's")
    h.check(not os.path.exists(f + ".passwd") and not os.path.exists(f + ".passwd2"),
            "no /etc/passwd from inside the chroot")
    h.check(not os.path.exists(os.path.join(root, "escape")), "/ of the chroot not writable")
    r = h.ssh_run(c.srv, c.env, "cat /etc/passwd; echo shell-ran")
    h.check(b"root:" not in r.stdout and b"shell-ran" not in r.stdout,
            "exec under ForceCommand internal-sftp runs no shell: %s" % h.describe(r))


def case_chroot_refused(c):
    """A group-writable chroot: the session is refused, the server goes on."""
    r = c.sftp("pwd\n", check=False)
    h.check(r.returncode != 0, "sftp into a group-writable chroot fails")
    h.check(c.srv.alive(), "the server is still running")


def body(args, env):
    res = h.Results()
    override = {}
    if args.sftp == "internal":
        override["Subsystem"] = "sftp internal-sftp"
    with h.Server(args.server, args.kind, name="sftp", extra=["RekeyLimit 16M"],
                  override=override) as srv, \
            tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        c = Ctx(srv, env, tmp)
        server_pid = srv.proc.pid if srv.proc is not None else 0
        res.server = srv
        try:
            res.run("sftp-put-rename-ls-get", case_roundtrip, c)
            res.run("sftp-sizes-reput-reget", case_sizes, c)
            res.run("sftp-commands", case_commands, c)
            res.run("scp-sftp-protocol", case_scp, c, False)
            res.run("scp-legacy-O", case_scp, c, True)
            res.run("rsync", case_rsync, c)
            res.run("permissions", case_permissions, c)
            res.run("disk-full", case_disk_full, c)
            res.run("kill-sftp-process", case_kill_worker, c, server_pid)
        finally:
            c.cleanup()
        res.finish(srv)
    if args.sftp != "internal" or Server_dataplane():
        return
    user = pwd.getpwnam(h.TEST_USER)
    for bad in (False, True):
        root = make_chroot(user, bad)
        res = h.Results()
        try:
            with h.Server(args.server, args.kind, name="sftp-chroot",
                          override={"Subsystem": "sftp internal-sftp"},
                          extra=["ChrootDirectory %s" % root,
                                 "ForceCommand internal-sftp -d /upload"]) as srv, \
                    tempfile.TemporaryDirectory() as tmp:
                os.chmod(tmp, 0o755)
                c = Ctx(srv, env, tmp)
                res.server = srv
                try:
                    if bad:
                        res.run("chroot-group-writable-refused", case_chroot_refused, c)
                    else:
                        res.run("chroot-forcecommand", case_chroot, c, root)
                finally:
                    c.cleanup()
                res.finish(srv)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def Server_dataplane():
    """The chroot cases run once, on kernel sockets (the data plane adds nothing there)."""
    return h.Server.dataplane is not None


def add_args(p):
    p.add_argument("--sftp", choices=("internal", "external"), default="internal",
                   help="Subsystem sftp internal-sftp (default) or OpenSSH's sftp-server")


if __name__ == "__main__":
    h.main(__doc__, body, add_args)
