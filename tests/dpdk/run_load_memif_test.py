#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dssh-load on a DPDK port of its own (-o DpdkArgs=, net_memif client end)
against dsshd's data plane (the memif server end): all of dssh-load's
connections on one port, one lib/net + lib/tcp stack, driven by one thread.
Each workload is checked against what happened on the server:

  - upload -n 4 -m 2: `cat > FILE.$$` per session, four files whose sizes
    add up to the JSON's bytes (4 x -s)
  - download -n 4 -m 2: a file `cat` per session, each session checked by
    dssh-load to get exactly -s bytes, the JSON's bytes 4 x its size
  - sftp-upload / sftp-download -n 2 -m 2: one file per session of exactly
    -s bytes; a real file read twice (two sessions: dsshd on the data plane
    takes about 2 s to start each session, and they open one at a time)
  - handshake: logins over the one port, as many as the server's
    "Accepted publickey" lines; with -n 4 four threads take turns on the
    port and more than one login is in flight at once (the JSON's
    max_in_flight), all of them accepted
  - forward -n 3 -m 2: direct-tcpip channels to a sink on the server's
    host, which counts the connections and bytes

usage: run_load_memif_test.py --server path/to/dsshd --load path/to/dssh-load
"""

import json
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
from run_dssh_memif_test import MemifServer  # noqa: E402
from test_load import Sink  # noqa: E402

MB = 1 << 20


def load_argv(a, srv, env, kh, wl):
    eal = ("-l 0 --no-pci --no-huge -m 256 "
           "--vdev=net_memif0,role=client,socket=%s,id=0" % srv.sock)
    return [a.load, "-o", "DpdkArgs=" + eal, "-o", "DpdkAddress=" + srv.client_addr,
            "-o", "IdentityAgent=none", "-o", "StrictHostKeyChecking=accept-new",
            "-o", "UserKnownHostsFile=" + kh, "-o", "ConnectTimeout=20",
            "-i", env.keys["ed25519"], "-p", str(srv.port), "--json"] + list(wl) + [
            "%s@%s" % (h.TEST_USER, srv.dp_host)]


def run_load(argv, timeout):
    """dssh-load in its own session, killed by pid if it overstays; its JSON."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise h.TestFailure("dssh-load timed out after %d s: %r" % (timeout, err[-800:]))
    err = err.decode(errors="replace")
    try:
        doc = json.loads(out)
    except ValueError:
        raise h.TestFailure("no JSON: exit %d stdout %r stderr %r"
                            % (p.returncode, out[-400:], err[-1500:]))
    h.log("   %s -> exit %d %s" % (" ".join(argv[argv.index("--json") + 1:-1]), p.returncode,
                                  {k: doc.get(k) for k in ("bytes", "mb_s", "handshakes",
                                                           "max_in_flight", "dataplane",
                                                           "error")}))
    h.check(p.returncode == 0 and doc["errors"] == 0 and doc["dataplane"] == "dpdk",
            "exit %d, %r, stderr %r" % (p.returncode, doc, err[-1500:]))
    return doc


def body(a, env):
    tmp = tempfile.mkdtemp(prefix="dssh-load-memif-")
    os.chmod(tmp, 0o1777)
    sock = "/tmp/dssh-memif-l%d.sock" % os.getpid()
    srv = MemifServer(a.server, sock, "dsshml%d" % os.getpid())
    kh = os.path.join(tmp, "known_hosts")
    res = h.Results()

    def files(prefix):
        return [os.path.join(tmp, f) for f in os.listdir(tmp) if f.startswith(prefix)]

    def load(*wl):
        return run_load(load_argv(a, srv, env, kh, wl), a.timeout)

    try:
        srv.start()
        res.server = srv
        src = os.path.join(tmp, "src.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(3 * MB + 12345))
        os.chmod(src, 0o644)
        size = os.path.getsize(src)

        def upload():
            d = load("-w", "upload", "-n", "4", "-m", "2", "-s", "2M",
                     "-C", "cat > %s/up.$$" % tmp)
            check_sessions(d, 4, 2)
            h.check_eq(d["bytes"], 8 * MB, "JSON bytes")
            fs = files("up.")
            h.check_eq(len(fs), 4, "files written on the server")
            h.check_eq(sum(os.path.getsize(f) for f in fs), d["bytes"], "bytes on the server")

        def download():
            # dssh-load fails a session that gets other than -s bytes.
            d = load("-w", "download", "-n", "4", "-m", "2", "-s", str(size),
                     "-C", "cat " + src)
            check_sessions(d, 4, 2)
            h.check_eq(d["bytes"], 4 * size, "JSON bytes")

        def sftp_upload():
            d = load("-w", "sftp-upload", "-n", "2", "-m", "2", "-s", "1M",
                     "--path", os.path.join(tmp, "sftp.%u"))
            check_sessions(d, 2, 2)
            h.check_eq(d["bytes"], 2 * MB, "JSON bytes")
            for i in range(2):
                h.check_eq(os.path.getsize(os.path.join(tmp, "sftp.%d" % i)), MB,
                           "sftp.%d size on the server" % i)

        def sftp_download():
            d = load("-w", "sftp-download", "-n", "2", "-m", "2", "-s", str(size),
                     "--path", src)
            check_sessions(d, 2, 2)
            h.check_eq(d["bytes"], 2 * size, "JSON bytes")

        def handshake():
            off = srv.log_size()
            d = load("-w", "handshake", "-s", "5")
            h.check_eq(d["handshakes"], 5, "handshakes with -s 5")
            wait_accepted(srv, off, 5)
            off = srv.log_size()
            d = load("-w", "handshake", "-t", "1.5")
            h.check(d["handshakes"] >= 1 and d["handshakes_per_s"] > 0, repr(d))
            h.check_eq(d["latency_us"]["count"], d["handshakes"], "latency samples")
            wait_accepted(srv, off, d["handshakes"])
            off = srv.log_size()
            d = load("-w", "handshake", "-n", "4", "-s", "3")
            h.check_eq(d["handshakes"], 12, "handshakes with -n 4 -s 3")
            h.check_eq(d["sessions_ok"], 4, "workers that finished")
            h.check(2 <= d["max_in_flight"] <= 4, "logins in flight at once: %r" % d)
            wait_accepted(srv, off, 12)

        def forward():
            sink = Sink()
            try:
                d = load("-w", "forward", "--target", "127.0.0.1:%d" % sink.port,
                         "-n", "3", "-m", "2", "-s", "1M")
                check_sessions(d, 3, 2)
                h.check_eq(d["bytes"], 3 * MB, "JSON bytes")
                deadline = time.time() + 10
                while (sink.bytes < d["bytes"] or sink.conns < 3) and time.time() < deadline:
                    time.sleep(0.05)
                h.check_eq(sink.bytes, d["bytes"], "bytes the sink got")
                h.check_eq(sink.conns, 3, "connections the sink got")
            finally:
                sink.close()

        res.run("upload -n 4 -m 2 over memif (files on the server)", upload)
        res.run("download -n 4 -m 2 over memif (exact sizes)", download)
        res.run("sftp-upload -n 2 -m 2 over memif (files on the server)", sftp_upload)
        res.run("sftp-download -n 2 -m 2 over memif", sftp_download)
        res.run("handshake over memif (the server's Accepted lines)", handshake)
        res.run("forward -n 3 -m 2 over memif (a sink's count)", forward)
        res.finish(srv)
    finally:
        srv.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def check_sessions(d, sessions, conns):
    h.check_eq(d["sessions_ok"], sessions, "sessions ok")
    h.check_eq(d["connections"], conns, "connections")


def wait_accepted(srv, off, want):
    deadline = time.time() + 10
    while True:
        n = srv.log_since(off).count("Accepted publickey for %s" % h.TEST_USER)
        if n >= want or time.time() > deadline:
            break
        time.sleep(0.2)
    h.check_eq(n, want, "the server's Accepted publickey lines")


def add_args(ap):
    ap.add_argument("--server", required=True)
    ap.add_argument("--load", required=True)
    ap.add_argument("--timeout", type=int, default=40)


if __name__ == "__main__":
    sys.exit(h.root_main(__doc__, add_args, body, ('server', 'load')))
