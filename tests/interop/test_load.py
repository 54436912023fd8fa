#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""dssh-load (the load generator) against a server: OpenSSH's sshd
(--server /usr/sbin/sshd) or dsshd. Every workload, each checked against
what happened on the other side:

  - upload: N sessions of `cat > FILE.$$` write real files whose sizes add
    up to the JSON's bytes; time-bound into /dev/null moves bytes
  - download: `head -c` per session, the JSON's bytes exactly N x size
  - sftp-upload: one file per session (--path with %u) of exactly -s bytes
  - sftp-download: a real file read, bytes = N x its size
  - handshake: the logins the JSON counts are the server's "Accepted
    publickey" lines, per KEX method, and a count bound (-s) per worker
  - echo: one latency sample per keystroke, p50 <= p99 <= p99.9, plausible
  - forward: direct-tcpip channels to a sink here that counts bytes and
    connections; --reopen, a new channel after each, as many as the sink saw
  - failures: a port nobody listens on, a refused key, a refused forward
    target, a failing remote command: exit status 1 and an error in the JSON
"""

import json
import os
import socket
import subprocess
import threading
import time

from dssh_harness import (in_shared_tmp, TEST_USER, Results, Server, check, check_eq, free_port, log, main)

MB = 1 << 20


class Sink:
    """A TCP sink on 127.0.0.1: counts connections and bytes, closes on EOF."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = 0
        self.bytes = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns += 1
            threading.Thread(target=self.drain, args=(c,), daemon=True).start()

    def drain(self, c):
        with c:
            while True:
                b = c.recv(1 << 16)
                if not b:
                    return
                with self.lock:
                    self.bytes += len(b)

    def close(self):
        self.sock.close()


def body(args, env):
    in_shared_tmp("dssh-load-", load_tests, args, env)


def load_tests(args, env, tmp):
    srv = Server(args.server)
    kh = os.path.join(tmp, "known_hosts")
    res = Results()

    def load(*wl, key="ed25519", port=None, opts=(), timeout=60):
        a = [args.dssh_load, "-o", "UserKnownHostsFile=" + kh,
             "-o", "StrictHostKeyChecking=accept-new", "-i", env.keys[key],
             "-p", str(port or srv.port), "--json"]
        for o in opts:
            a += ["-o", o]
        a += list(wl) + ["%s@127.0.0.1" % TEST_USER]
        e = dict(os.environ)
        e.pop("SSH_AUTH_SOCK", None)
        e.pop("DSSH_PASSWORD", None)
        r = subprocess.run(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           env=e, start_new_session=True)
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            raise AssertionError("no JSON: exit %d stdout %r stderr %r"
                                 % (r.returncode, r.stdout[-400:], r.stderr[-800:]))
        log("   %s -> exit %d %s" % (" ".join(wl), r.returncode,
                                      {k: doc.get(k) for k in ("bytes", "mb_s", "handshakes",
                                                               "errors", "error")}))
        return r, doc

    def ok(r, doc, sessions):
        check(r.returncode == 0 and doc["errors"] == 0,
              "exit %d, %r, stderr %r" % (r.returncode, doc, r.stderr[-600:]))
        check_eq(doc["sessions_ok"], sessions, "sessions ok")

    def failed(r, doc, what):
        check(r.returncode == 1, "%s: exit %d" % (what, r.returncode))
        check(doc["errors"] > 0 and doc["error"], "%s: no error in %r" % (what, doc))

    def files(prefix):
        return [os.path.join(tmp, f) for f in os.listdir(tmp) if f.startswith(prefix)]

    with srv:
        res.server = srv

        def upload():
            r, d = load("-w", "upload", "-n", "3", "-m", "2", "-s", "3M",
                        "-C", "cat > %s/up.$$" % tmp)
            ok(r, d, 3)
            check_eq(d["bytes"], 9 * MB, "JSON bytes")
            fs = files("up.")
            check_eq(len(fs), 3, "files written")
            check_eq(sum(os.path.getsize(f) for f in fs), d["bytes"], "bytes on the server")
            r, d = load("-w", "upload", "-n", "2", "-t", "1")
            ok(r, d, 2)
            check(d["bytes"] > 0 and d["mb_s"] > 0 and 0.9 < d["seconds"] < 20 and
                  0 < d["client_cpu_s"] <= (os.cpu_count() or 2) * d["seconds"] + 0.1, repr(d))
        res.run("upload", upload)

        def download():
            r, d = load("-w", "download", "-n", "2", "-m", "1", "-s", "5M")
            ok(r, d, 2)
            check_eq(d["bytes"], 10 * MB, "JSON bytes")
            # Tiny: the data and the channel's end come with the exec's answer.
            r, d = load("-w", "download", "-n", "8", "-m", "1", "-s", "100")
            ok(r, d, 8)
            check_eq(d["bytes"], 800, "JSON bytes")
            r, d = load("-w", "download", "-n", "2", "-t", "1")
            ok(r, d, 2)
            check(d["bytes"] > 0, repr(d))
        res.run("download", download)

        def sftp_upload():
            r, d = load("-w", "sftp-upload", "-n", "2", "-s", "2M", "--path",
                        os.path.join(tmp, "sftp.%u"))
            ok(r, d, 2)
            check_eq(d["bytes"], 4 * MB, "JSON bytes")
            for i in range(2):
                check_eq(os.path.getsize(os.path.join(tmp, "sftp.%d" % i)), 2 * MB,
                         "sftp.%d size" % i)
            # Time-bound into /dev/null (the default path): writes go on for the second.
            r, d = load("-w", "sftp-upload", "-n", "2", "-t", "1")
            ok(r, d, 2)
            check(d["bytes"] > 0, repr(d))
        res.run("sftp-upload", sftp_upload)

        def sftp_download():
            src = os.path.join(tmp, "src.bin")
            with open(src, "wb") as f:
                f.write(os.urandom(3 * MB + 12345))
            os.chmod(src, 0o644)
            size = os.path.getsize(src)
            r, d = load("-w", "sftp-download", "-n", "2", "-m", "1", "-s", str(size),
                        "--path", src)
            ok(r, d, 2)
            check_eq(d["bytes"], 2 * size, "JSON bytes")
            # Time-bound: the file again from its start at its end.
            r, d = load("-w", "sftp-download", "-t", "1", "--path", src)
            ok(r, d, 1)
            check(d["bytes"] > 0, repr(d))
            r, d = load("-w", "sftp-download", "--path", os.path.join(tmp, "missing"), "-t", "1")
            failed(r, d, "a missing file")
        res.run("sftp-download", sftp_download)

        def handshake():
            for kex in ("curve25519-sha256", "ecdh-sha2-nistp256"):
                off = srv.log_size()
                r, d = load("-w", "handshake", "-m", "3", "-t", "1.5",
                            opts=["KexAlgorithms=" + kex])
                ok(r, d, 3)
                check(d["handshakes"] >= 3 and d["handshakes_per_s"] > 0, repr(d))
                check_eq(d["latency_us"]["count"], d["handshakes"], "latency samples")
                deadline = time.time() + 10
                while True:
                    n = srv.log_since(off).count("Accepted publickey for %s" % TEST_USER)
                    if n >= d["handshakes"] or time.time() > deadline:
                        break
                    time.sleep(0.2)
                check_eq(n, d["handshakes"], "%s: the server's Accepted lines" % kex)
            r, d = load("-w", "handshake", "-m", "2", "-s", "4", "-C", "exit 0")
            ok(r, d, 2)
            check_eq(d["handshakes"], 8, "handshakes with -s 4 -m 2")
        res.run("handshake", handshake)

        def echo():
            r, d = load("-w", "echo", "-n", "2", "-s", "100")
            ok(r, d, 2)
            lat = d["latency_us"]
            check_eq(d["bytes"], 200, "keystrokes")
            check_eq(lat["count"], 200, "latency samples")
            check(0 < lat["min"] <= lat["p50"] <= lat["p99"] <= lat["p999"] <= lat["max"]
                  and lat["p50"] < 500000, "latencies %r" % lat)
        res.run("echo", echo)

        def forward():
            sink = Sink()
            try:
                r, d = load("-w", "forward", "--target", "127.0.0.1:%d" % sink.port,
                            "-n", "3", "-m", "1", "-s", "2M")
                ok(r, d, 3)
                check_eq(d["bytes"], 6 * MB, "JSON bytes")
                deadline = time.time() + 5
                while sink.bytes < d["bytes"] and time.time() < deadline:
                    time.sleep(0.05)
                check_eq(sink.bytes, d["bytes"], "bytes the sink got")
                check_eq(sink.conns, 3, "connections the sink got")
            finally:
                sink.close()
            # --reopen: a new channel after each (64 KiB), for a second: connections/s.
            sink = Sink()
            try:
                r, d = load("-w", "forward", "--target", "127.0.0.1:%d" % sink.port,
                            "-n", "2", "-t", "1", "-s", "64K", "--reopen")
                ok(r, d, 2)
                check(d["channels"] > 2 and d["channels_per_s"] > 0, repr(d))
                # 64 KiB per channel, but the last of each session is cut by the clock.
                check((d["channels"] - 2) * 65536 <= d["bytes"] <= d["channels"] * 65536,
                      "%d bytes over %d channels" % (d["bytes"], d["channels"]))
                deadline = time.time() + 5
                while (sink.bytes < d["bytes"] or sink.conns < d["channels"]) and \
                        time.time() < deadline:
                    time.sleep(0.05)
                check_eq(sink.conns, d["channels"], "connections the sink got")
                check_eq(sink.bytes, d["bytes"], "bytes the sink got")
            finally:
                sink.close()
            r, d = load("-w", "forward", "--target", "127.0.0.1:%d" % free_port(), "-t", "1")
            failed(r, d, "a refused target")
        res.run("forward", forward)

        def failures():
            r, d = load("-w", "upload", "-t", "1", port=free_port())
            failed(r, d, "nobody listening")
            r, d = load("-w", "handshake", "-t", "1", port=free_port())
            failed(r, d, "handshake, nobody listening")
            check_eq(d["handshakes"], 0, "handshakes")
            r, d = load("-w", "handshake", "-t", "1", key="wrong",
                        opts=["PasswordAuthentication=no"])
            failed(r, d, "a refused key")
            r, d = load("-w", "download", "-s", "1M", key="wrong",
                        opts=["PasswordAuthentication=no"])
            failed(r, d, "download, a refused key")
            r, d = load("-w", "upload", "-s", "1M", "-C", "cat > /dev/null; exit 3")
            failed(r, d, "a failing command")
            check("exit status 3" in d["error"], d["error"])
        res.run("failures", failures)

        def table():
            # Without --json (stdout not a terminal: no progress line): the summary table.
            a = [args.dssh_load, "-o", "UserKnownHostsFile=" + kh, "-i", env.keys["ed25519"],
                 "-p", str(srv.port), "-w", "download", "-s", "1M", "-n", "2",
                 "%s@127.0.0.1" % TEST_USER]
            r = subprocess.run(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                               text=True)
            check(r.returncode == 0, r.stderr)
            check("| bytes" in r.stdout and "2097152" in r.stdout and
                  "| throughput MB/s" in r.stdout and "\r" not in r.stdout, r.stdout)
        res.run("table", table)
        res.finish(srv)
    log("dssh-load against %s: all passed" % args.kind)


def add_args(p):
    p.add_argument("--dssh-load", required=True)


if __name__ == "__main__":
    main(__doc__, body, add_args)
