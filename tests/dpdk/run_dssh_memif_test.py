#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dssh on a DPDK port of its own, joined to dsshd's data plane by net_memif
(dsshd the memif server, dssh the memif client): no kernel on the path.
dssh's own lib/net + lib/tcp actively open the connection; an exec uploads
and downloads 64 MiB, both compared by SHA-256; a known_hosts entry with
another key is refused before authentication.

memif has no RX interrupt, so dsshd's data core sleeps timed sleeps when
its queue is empty (drivers/net/dpdk/dp_idle.h). Its telemetry shows the
policy at work: while a transfer runs, the sleeps are a transfer's
(bulk_sleeps) and few per MiB moved; idle, it sleeps the idle ramp's long
sleeps, not a transfer's.

usage: run_dssh_memif_test.py --server path/to/dsshd --dssh path/to/dssh [--size 64M]
"""

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
import dssh_harness as h  # noqa: E402
from run_net_tests import Telemetry  # noqa: E402

# Median sleeps per MiB moved while a transfer runs, at most: a transfer's
# sleeps each handle about 128 KiB (up to 500 us: 40 per MiB at 25 MB/s;
# measured 21-24 under ASan, the old policy 35 in a release build), and a
# core stuck at the 20-us floor would take hundreds.
MAX_SLEEPS_PER_MIB = 64
# Sleeps in an idle second at most: the idle ramp's 250 us (4000 a second
# at most), not a transfer's or the 20 us floor's (50000).
MAX_IDLE_SLEEPS_PER_S = 5000
SAMPLE_S = 0.05
BUSY_MIB = 1


def parse_size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(s[:-1]) * mult[s[-1].upper()] if s[-1].upper() in mult else int(s)


class MemifServer(h.Server):
    """dsshd with its data plane on the server end of a memif pair, its
    address 198.18.N.1/24 (a slot claimed as the harness does); the client
    end is for dssh at 198.18.N.2."""

    def __init__(self, path, sock, eal_prefix, override=None):
        self.sock = sock
        self.eal_prefix_m = eal_prefix
        n, fd = h.claim_slot()
        self.slot_n = n
        self.dp_host = "198.18.%d.1" % n
        self.client_addr = "198.18.%d.2/24" % n
        super().__init__(path, extra=[
            "DataPlane dpdk", "DataAddress %s/24" % self.dp_host,
            'DpdkArgs "--no-pci --no-huge -m 256 --vdev=net_memif0,role=server,'
            'socket=%s,id=0 --file-prefix=%s"' % (sock, eal_prefix)], name="memif",
            override=override)
        self.slot_fd = fd

    def start(self, timeout=30, extra_args=(), port=None):
        # Up means: its kernel listener answers (127.0.0.1), which dsshd
        # opens once its data plane runs; dssh waits for the memif link.
        # (The memif socket is abstract by default: no file to wait for.)
        return super().start(timeout=timeout)

    def cleanup(self):
        super().cleanup()
        shutil.rmtree("/var/run/dpdk/" + self.eal_prefix_m, ignore_errors=True)
        if os.path.exists(self.sock):
            os.unlink(self.sock)


def dssh_argv(a, srv, env, known_hosts, command):
    eal = ("-l 0 --no-pci --no-huge -m 256 "
           "--vdev=net_memif0,role=client,socket=%s,id=0" % srv.sock)
    return [a.dssh, "-o", "DpdkArgs=" + eal, "-o", "DpdkAddress=" + srv.client_addr,
            "-o", "BatchMode=yes", "-o", "IdentityAgent=none",
            "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + known_hosts,
            "-o", "HostKeyAlgorithms=ssh-ed25519", "-o", "ConnectTimeout=20",
            "-c", a.cipher, "-i", env.keys["ed25519"], "-p", str(srv.port),
            "%s@%s" % (h.TEST_USER, srv.dp_host), command]


def run_dssh(argv, stdin, stdout, timeout):
    """Runs dssh in its own session; killed by pid if it overstays."""
    p = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        raise h.TestFailure("dssh timed out after %d s: %r" % (timeout, err[-800:]))
    return p.returncode, err.decode(errors="replace")


def client_files(tmp, srv, host, env, size):
    """known_hosts with the server's key and with another one, size random
    bytes to upload, their SHA-256, and a copy the test user may download:
    (good, bad, src, want, remote)."""
    def known_hosts(name, pub):
        path = os.path.join(tmp, name)
        t = open(pub).read().split()
        with open(path, "w") as f:
            f.write("[%s]:%d %s %s\n" % (host, srv.port, t[0], t[1]))
        return path
    good = known_hosts("known_hosts", srv.hostkeys["ssh-ed25519"] + ".pub")
    bad = known_hosts("known_hosts_wrong", env.keys["wrong"] + ".pub")
    src = os.path.join(tmp, "src.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(size))
    remote = os.path.join(tmp, "down.bin")
    shutil.copy(src, remote)
    os.chmod(remote, 0o644)
    return good, bad, src, h.sha256_file(src), remote


class Sampler(threading.Thread):
    """dsshd's data-core counters every SAMPLE_S while the transfers run."""

    def __init__(self, tel):
        super().__init__(daemon=True)
        self.tel, self.samples, self.done = tel, [], threading.Event()

    def run(self):
        while not self.done.is_set():
            with contextlib.suppress(OSError, ValueError, KeyError):
                self.samples.append(self.tel.stats())
            self.done.wait(SAMPLE_S)

    def stop(self):
        self.done.set()
        self.join()


def check_sleeps(tel, sampler):
    """Over the sampling intervals that moved at least BUSY_MIB (a transfer
    under way), the median sleeps per MiB is small and the sleeps are mostly
    a transfer's (the intervals where a transfer starts or ends have idle
    ones); then, idle, the long idle sleeps."""
    per, bulk, tot = [], 0, 0
    for s0, s1 in zip(sampler.samples, sampler.samples[1:]):
        mib = (s1["rx_bytes"] + s1["tx_bytes"] - s0["rx_bytes"] - s0["tx_bytes"]) / (1 << 20)
        if mib < BUSY_MIB:
            continue
        n = s1["idle_sleeps"] - s0["idle_sleeps"]
        per.append(n / mib)
        bulk += s1.get("bulk_sleeps", 0) - s0.get("bulk_sleeps", 0)
        tot += n
        h.check(s1["intr_waits"] == s0["intr_waits"], "memif: the data core blocked")
    per.sort()
    med = per[len(per) // 2] if per else float("inf")
    print("transfers: %d intervals of %.2f s moving >= %d MiB; sleeps per MiB %s "
          "(median %.1f); %d sleeps, %d a transfer's" % (
              len(per), SAMPLE_S, BUSY_MIB, " ".join("%.0f" % x for x in per), med, tot, bulk),
          flush=True)
    h.check(len(per) >= 2, "only %d sampling intervals saw a transfer" % len(per))
    # (A data core busy all along has nothing to sleep for: no share asked.)
    h.check(med <= MAX_SLEEPS_PER_MIB and (tot < 20 or bulk * 4 >= tot),
            "median %.1f sleeps per MiB (want <= %d), %d of %d a transfer's (want a "
            "quarter)" % (med, MAX_SLEEPS_PER_MIB, bulk, tot))
    s0 = tel.stats()
    t0 = time.monotonic()
    time.sleep(1.0)
    s1 = tel.stats()
    n = s1["idle_sleeps"] - s0["idle_sleeps"]
    nb = s1.get("bulk_sleeps", 0) - s0.get("bulk_sleeps", 0)
    rate = n / (time.monotonic() - t0)
    print("idle: %.0f sleeps a second, %d a transfer's" % (rate, nb), flush=True)
    h.check(n > 0 and rate <= MAX_IDLE_SLEEPS_PER_S and nb == 0,
            "idle: %.0f sleeps a second (want 1..%d), %d a transfer's" % (
                rate, MAX_IDLE_SLEEPS_PER_S, nb))


def body(a, env):
    size = parse_size(a.size)
    tmp = tempfile.mkdtemp(prefix="dssh-memif-client-")
    os.chmod(tmp, 0o755)
    sock = "/tmp/dssh-memif-c%d.sock" % os.getpid()
    srv = MemifServer(a.server, sock, "dsshmc%d" % os.getpid())
    res = h.Results()
    try:
        srv.start()
        res.server = srv
        good, bad, src, want, remote = client_files(tmp, srv, srv.dp_host, env, size)

        def alive():
            rc, err = run_dssh(dssh_argv(a, srv, env, good, "echo alive"),
                               subprocess.DEVNULL, subprocess.PIPE, 60)
            h.check(rc == 0, "echo after the refusal: exit %d: %s" % (rc, err[-1500:]))

        def upload_hash():
            with open(src, "rb") as fin:
                p = subprocess.run(dssh_argv(a, srv, env, good, "sha256sum"), stdin=fin,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   timeout=a.timeout, start_new_session=True)
            got = p.stdout.decode().split()[0] if p.stdout else ""
            h.check(p.returncode == 0 and got == want,
                    "upload %d bytes: remote sha256 %r, want %r; exit %d: %s" % (
                        size, got, want, p.returncode, p.stderr.decode()[-1500:]))

        def download():
            out = os.path.join(tmp, "got.bin")
            with open(out, "wb") as fout:
                rc, err = run_dssh(dssh_argv(a, srv, env, good, "cat " + remote),
                                   subprocess.DEVNULL, fout, a.timeout)
            got = h.sha256_file(out)
            h.check(rc == 0 and got == want and os.path.getsize(out) == size,
                    "download: exit %d, %d bytes, sha256 %s (want %s): %s" % (
                        rc, os.path.getsize(out), got, want, err[-1500:]))

        def wrong_hostkey():
            off = srv.log_size()
            rc, err = run_dssh(dssh_argv(a, srv, env, bad, "echo should-not-run"),
                               subprocess.DEVNULL, subprocess.PIPE, 60)
            h.check(rc == 255 and "REMOTE HOST IDENTIFICATION HAS CHANGED" in err and
                    "Host key verification failed" in err,
                    "wrong host key: exit %d: %s" % (rc, err[-1500:]))
            # Refused before authentication: no login in the server's log.
            h.check("Accepted publickey" not in srv.log_since(off),
                    "wrong host key: the server saw a login")

        tel = Telemetry(srv.eal_prefix_m)
        sampler = Sampler(tel)
        sampler.start()
        try:
            res.run("upload %s over memif (sha256 remote)" % a.size, upload_hash)
            res.run("download %s over memif (sha256 local)" % a.size, download)
        finally:
            sampler.stop()
        res.run("the data core's sleeps: few per MiB in transfers, long when idle",
                check_sleeps, tel, sampler)
        res.run("wrong host key refused", wrong_hostkey)
        res.run("dsshd still serves after the refusal", alive)
        res.finish(srv)
    finally:
        srv.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def add_args(ap):
    ap.add_argument("--server", required=True)
    ap.add_argument("--dssh", required=True)
    ap.add_argument("--size", default="64M")
    ap.add_argument("--cipher", default="aes128-gcm@openssh.com")
    ap.add_argument("--timeout", type=int, default=60)


if __name__ == "__main__":
    sys.exit(h.root_main(__doc__, add_args, body, ('server', 'dssh')))
