#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dssh-cp on a DPDK port of its own (-o DpdkArgs=, net_memif client end)
against dsshd's data plane (the memif server end): its planning session and
its -n 2 streams are three TCP connections of our own TCP on one port, no
kernel on the path (dsshd's address exists only on its data plane, and its
log counts the connections from the client's memif address).

  - a 32 MiB file up and down with -n 2 -p: SHA-256, mode and mtime
  - a tree (tests/interop/test_cp_tree.py's: nested and empty directories,
    odd names, links, a 9 MiB file split over the streams) up and down with
    -r -p -n 2, compared path by path with modes and mtimes
  - a download (128 MiB) killed mid-way and run again: "resumed",
    byte-exact, its journal gone
  - a bad DpdkAddress, DpdkGateway or DpdkMTU, DpdkArgs without DpdkAddress:
    exit status 1 with a message, no crash, nothing written

dssh-cp runs as root (the EAL), so everything it writes is inside this
test's own temporary directory: its targets, and its journals ($HOME is a
directory in there).

usage: run_cp_memif_test.py --server path/to/dsshd --cp path/to/dssh-cp
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
sys.path.insert(0, HERE)
import dssh_harness as h  # noqa: E402
from run_dssh_memif_test import MemifServer, client_files  # noqa: E402
from test_cp_tree import make_tree, same_tree  # noqa: E402

MB = 1 << 20
CRASH = ("AddressSanitizer", "runtime error", "Segmentation", "Aborted")


def cp_argv(a, srv, env, kh, args, addr):
    """addr: -o DpdkAddress=, None for none."""
    eal = ("-l 0 --no-pci --no-huge -m 256 "
           "--vdev=net_memif0,role=client,socket=%s,id=0" % srv.sock)
    dpdk = ["-o", "DpdkArgs=" + eal] + (["-o", "DpdkAddress=" + addr] if addr else [])
    return [a.cp] + dpdk + [
            "-o", "BatchMode=yes", "-o", "IdentityAgent=none",
            "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + kh,
            "-o", "HostKeyAlgorithms=ssh-ed25519", "-o", "ConnectTimeout=20",
            "-i", env.keys["ed25519"], "-P", str(srv.port)] + list(args)


class Client:
    """dssh-cp as root with $HOME (its journals) in the test's directory."""

    def __init__(self, a, srv, env, kh, tmp):
        self.a, self.srv, self.env, self.kh = a, srv, env, kh
        self.env_vars = dict(os.environ)
        self.env_vars.pop("SSH_AUTH_SOCK", None)
        self.home = os.path.join(tmp, "home")
        os.mkdir(self.home, 0o700)
        self.env_vars["HOME"] = self.home

    def remote(self, path):
        return "%s@%s:%s" % (h.TEST_USER, self.srv.dp_host, path)

    def popen(self, args, addr=""):
        addr = self.srv.client_addr if addr == "" else addr
        return subprocess.Popen(cp_argv(self.a, self.srv, self.env, self.kh, args, addr),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.env_vars,
                                start_new_session=True)

    def run(self, args, addr=""):
        """(exit status, stderr); killed by pid if it overstays."""
        p = self.popen(args, addr)
        try:
            _, err = p.communicate(timeout=self.a.timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            raise h.TestFailure("dssh-cp timed out after %d s: %r" % (self.a.timeout,
                                                                     err[-1500:]))
        finally:
            eal_leftover(p.pid)
        err = err.decode(errors="replace")
        h.log("   dssh-cp %s -> exit %d" % (" ".join(map(os.fsdecode, args)), p.returncode))
        h.check(not any(c in err for c in CRASH), "dssh-cp crashed: %s" % err[-3000:])
        return p.returncode, err

    def journals(self):
        d = os.path.join(self.home, ".cache", "dssh-cp")
        return os.listdir(d) if os.path.isdir(d) else []


def eal_leftover(pid):
    """The EAL's run directory of a dssh-cp (--no-huge: a file prefix of its
    pid), which a killed one leaves behind."""
    shutil.rmtree("/var/run/dpdk/dsshc%d" % pid, ignore_errors=True)


def check_file(path, want_sha, size, mode, mtime, what):
    st = os.stat(path)
    h.check_eq(st.st_size, size, "%s: size" % what)
    h.check_eq(h.sha256_file(path), want_sha, "%s: sha256" % what)
    h.check_eq(oct(st.st_mode & 0o7777), oct(mode), "%s: mode" % what)
    h.check_eq(int(st.st_mtime), mtime, "%s: mtime" % what)


def body(a, env):
    size = 32 * MB
    tmp = tempfile.mkdtemp(prefix="dssh-cp-memif-")
    # The server's sftp-server runs as the test user and writes here too.
    os.chmod(tmp, 0o1777)
    os.umask(0o022)
    sock = "/tmp/dssh-memif-cp%d.sock" % os.getpid()
    srv = MemifServer(a.server, sock, "dsshmcp%d" % os.getpid())
    res = h.Results()
    j = os.path.join
    try:
        srv.start()
        res.server = srv
        good, _, src, want, remote = client_files(tmp, srv, srv.dp_host, env, size)
        cl = Client(a, srv, env, good, tmp)
        peer = "Connection from %s " % srv.client_addr.split("/")[0]

        def upload():
            os.chmod(src, 0o640)
            os.utime(src, (1500000000, 1500000000))
            up = j(tmp, "up.bin")
            off = srv.log_size()
            rc, err = cl.run(["-n", "2", "-p", src, cl.remote(up)])
            h.check(rc == 0 and "2 streams" in err, "upload: exit %d: %s" % (rc, err[-1500:]))
            check_file(up, want, size, 0o640, 1500000000, "upload")
            # The planning session and the two streams, all from the memif
            # address (dsshd is reachable there only on its data plane).
            n = srv.log_since(off).count(peer)
            h.check(n >= 3, "upload: %d connections from %s, want 3" % (n, peer))

        def download():
            os.chmod(remote, 0o604)
            os.utime(remote, (1500000100, 1500000100))
            got = j(tmp, "got.bin")
            rc, err = cl.run(["-n", "2", "-p", cl.remote(remote), got])
            h.check(rc == 0 and "2 streams" in err, "download: exit %d: %s" % (rc, err[-1500:]))
            check_file(got, want, size, 0o604, 1500000100, "download")
            h.check_eq(cl.journals(), [], "journals left after complete copies")

        def tree():
            tsrc = j(tmp, "tree").encode()
            make_tree(tsrc)
            up, down = j(tmp, "tree-up").encode(), j(tmp, "tree-down").encode()
            rc, err = cl.run(["-r", "-p", "-n", "2", tsrc, cl.remote(up.decode())])
            h.check(rc == 0, "tree upload: exit %d: %s" % (rc, err[-1500:]))
            same_tree(tsrc, up, True, "tree upload -r -p -n 2")
            rc, err = cl.run(["-r", "-p", "-n", "2", cl.remote(up.decode()), down])
            h.check(rc == 0 and "files, " in err, "tree download: exit %d: %s"
                    % (rc, err[-1500:]))
            same_tree(up, down, True, "tree download -r -p -n 2")

        def resume():
            # Larger than the others: over memif 32 MiB can be in before
            # this script sees a third of it.
            rsrc, rsize = j(tmp, "resume-src.bin"), 4 * size
            with open(rsrc, "wb") as f:
                for _ in range(rsize // MB):
                    f.write(os.urandom(MB))
            os.chmod(rsrc, 0o644)
            rwant = h.sha256_file(rsrc)
            tgt = j(tmp, "resume.bin")
            p = cl.popen(["-n", "2", cl.remote(rsrc), tgt])
            try:
                deadline = time.time() + a.timeout
                while p.poll() is None and time.time() < deadline:
                    if os.path.exists(tgt) and os.stat(tgt).st_blocks * 512 >= rsize // 4:
                        break
                    time.sleep(0.005)
                if p.poll() is not None:
                    raise h.TestFailure("the copy ended before it could be killed: %r"
                                        % p.stderr.read()[-1500:])
                p.kill()
                p.wait()
                h.log("   killed with %d of %d bytes in" % (os.stat(tgt).st_blocks * 512, rsize))
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                eal_leftover(p.pid)
                p.stderr.close()
                p.stdout.close()
            h.check_eq(len(cl.journals()), 1, "journals after the kill")
            h.check(h.sha256_file(tgt) != rwant, "complete at the kill")
            rc, err = cl.run(["-n", "2", cl.remote(rsrc), tgt])
            h.check(rc == 0 and "resumed" in err, "resume: exit %d: %s" % (rc, err[-1500:]))
            h.check_eq(h.sha256_file(tgt), rwant, "resumed download: sha256")
            h.check_eq(cl.journals(), [], "the journal after the resumed copy")

        def refused():
            tgt = j(tmp, "refused.bin")
            for addr, extra, msg in (
                    ("198.18.300.2/24", [], "bad DpdkAddress"),
                    ("not-an-address", [], "bad DpdkAddress"),
                    (srv.client_addr, ["-o", "DpdkGateway=1.2.3"], "DpdkGateway 1.2.3"),
                    (srv.client_addr, ["-o", "DpdkMTU=100"], "DpdkMTU 100"),
                    (None, [], "needs DpdkAddress")):
                rc, err = cl.run(extra + [cl.remote(remote), tgt], addr=addr)
                h.check(rc == 1 and msg in err and err.startswith("dssh-cp: "),
                        "%s: exit %d: %r" % (msg, rc, err[-1500:]))
                h.check(not os.path.lexists(tgt), "%s: a target written" % msg)

        res.run("refusals: bad DpdkAddress / DpdkGateway / DpdkMTU, no DpdkAddress", refused)
        res.run("upload 32 MiB -n 2 -p over memif (sha256, mode, mtime)", upload)
        res.run("download 32 MiB -n 2 -p over memif (sha256, mode, mtime)", download)
        res.run("tree -r -p -n 2 up and down over memif", tree)
        res.run("download killed and resumed over memif", resume)
        res.finish(srv)
    finally:
        srv.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def add_args(ap):
    ap.add_argument("--server", required=True)
    ap.add_argument("--cp", required=True)
    ap.add_argument("--timeout", type=int, default=90)


if __name__ == "__main__":
    sys.exit(h.root_main(__doc__, add_args, body, ('server', 'cp')))
