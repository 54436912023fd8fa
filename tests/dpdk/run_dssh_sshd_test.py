#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dssh on a DPDK port of its own logs into OpenSSH's sshd: net_af_packet on
one end of a veth pair, the kernel (and sshd, listening on 198.18.N.1) on
the other. dssh's lib/net + lib/tcp open the connection actively against a
real kernel TCP; an exec uploads and downloads 16 MiB, both compared by
SHA-256; a known_hosts entry with another key is refused before
authentication.

usage: run_dssh_sshd_test.py --sshd /usr/sbin/sshd --dssh path/to/dssh [--size 16M]
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
import dssh_harness as h  # noqa: E402
from run_dssh_memif_test import client_files, parse_size, run_dssh  # noqa: E402


class Veth:
    """198.18.N.1/24 on the kernel's end (sshd listens there), the other end
    for dssh's af_packet port (198.18.N.2), both in this namespace."""

    def __init__(self):
        self.n, self.slot_fd = h.claim_slot()
        self.kern, self.dpdk = "dvs%dk" % self.n, "dvs%dd" % self.n
        self.server = "198.18.%d.1" % self.n
        self.client_addr = "198.18.%d.2/24" % self.n
        self.eal_prefix = "dsshs%d" % self.n

    def up(self):
        self.down()
        for cmd in (["ip", "link", "add", self.kern, "type", "veth", "peer", "name", self.dpdk],
                    ["ip", "addr", "add", self.server + "/24", "dev", self.kern],
                    ["ip", "link", "set", self.kern, "up"],
                    ["ip", "link", "set", self.dpdk, "up"],
                    # The kernel would leave its TCP checksums to a veth's
                    # "hardware"; af_packet hands such frames over unfinished.
                    ["ethtool", "-K", self.kern, "tx", "off"]):
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        for dev in (self.kern, self.dpdk):
            subprocess.run(["sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % dev])

    def down(self):
        subprocess.run(["ip", "link", "del", self.kern], stderr=subprocess.DEVNULL)
        shutil.rmtree("/var/run/dpdk/" + self.eal_prefix, ignore_errors=True)

    def release(self):
        self.down()
        h.release_slot(self.slot_fd)


def dssh_argv(a, veth, srv, env, known_hosts, command):
    eal = ("-l 0 --no-pci --no-huge -m 256 --file-prefix=%s "
           "--vdev=net_af_packet0,iface=%s" % (veth.eal_prefix, veth.dpdk))
    return [a.dssh, "-o", "DpdkArgs=" + eal, "-o", "DpdkAddress=" + veth.client_addr,
            "-o", "BatchMode=yes", "-o", "IdentityAgent=none",
            "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + known_hosts,
            "-o", "HostKeyAlgorithms=ssh-ed25519", "-o", "ConnectTimeout=20",
            "-c", a.cipher, "-i", env.keys["ed25519"], "-p", str(srv.port),
            "%s@%s" % (h.TEST_USER, veth.server), command]


def body(a, env):
    size = parse_size(a.size)
    tmp = tempfile.mkdtemp(prefix="dssh-dpdk-sshd-")
    os.chmod(tmp, 0o755)
    veth = Veth()
    res = h.Results()
    srv = None
    try:
        veth.up()
        srv = h.Server(a.sshd, kind="sshd", extra=["ListenAddress %s" % veth.server],
                       name="dpdk-sshd")
        srv.start()
        res.server = srv
        good, bad, src, want, remote = client_files(tmp, srv, veth.server, env, size)

        def upload_hash():
            with open(src, "rb") as fin:
                p = subprocess.run(dssh_argv(a, veth, srv, env, good, "sha256sum"), stdin=fin,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   timeout=a.timeout, start_new_session=True)
            got = p.stdout.decode().split()[0] if p.stdout else ""
            h.check(p.returncode == 0 and got == want,
                    "upload %d bytes: remote sha256 %r, want %r; exit %d: %s" % (
                        size, got, want, p.returncode, p.stderr.decode()[-1500:]))
            # It was sshd, from the data plane's address.
            h.check(srv.wait_log(r"Accepted publickey for %s from %s port" % (
                h.TEST_USER, veth.client_addr.split("/")[0].replace(".", r"\.")), 0, 5)
                is not None, "sshd logged no login from %s" % veth.client_addr)

        def download():
            out = os.path.join(tmp, "got.bin")
            with open(out, "wb") as fout:
                rc, err = run_dssh(dssh_argv(a, veth, srv, env, good, "cat " + remote),
                                   subprocess.DEVNULL, fout, a.timeout)
            got = h.sha256_file(out)
            h.check(rc == 0 and got == want and os.path.getsize(out) == size,
                    "download: exit %d, %d bytes, sha256 %s (want %s): %s" % (
                        rc, os.path.getsize(out), got, want, err[-1500:]))

        def wrong_hostkey():
            off = srv.log_size()
            rc, err = run_dssh(dssh_argv(a, veth, srv, env, bad, "echo should-not-run"),
                               subprocess.DEVNULL, subprocess.PIPE, 60)
            h.check(rc == 255 and "REMOTE HOST IDENTIFICATION HAS CHANGED" in err,
                    "wrong host key: exit %d: %s" % (rc, err[-1500:]))
            h.check("Accepted publickey" not in srv.log_since(off),
                    "wrong host key: sshd saw a login")

        res.run("upload %s to sshd from a DPDK port (sha256 remote)" % a.size, upload_hash)
        res.run("download %s from sshd to a DPDK port (sha256 local)" % a.size, download)
        res.run("wrong host key refused", wrong_hostkey)
        res.finish(srv)
    finally:
        if srv is not None:
            srv.cleanup()
        veth.release()
        shutil.rmtree(tmp, ignore_errors=True)


def add_args(ap):
    ap.add_argument("--sshd", default="/usr/sbin/sshd")
    ap.add_argument("--dssh", required=True)
    ap.add_argument("--size", default="16M")
    ap.add_argument("--cipher", default="chacha20-poly1305@openssh.com")
    ap.add_argument("--timeout", type=int, default=90)


if __name__ == "__main__":
    sys.exit(h.root_main(__doc__, add_args, body, ('sshd', 'dssh')))
