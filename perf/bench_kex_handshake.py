#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Handshakes per second and server CPU per handshake for each KEX method,
dsshd and OpenSSH's sshd in the same run, rounds interleaved, medians
reported. Run by hand as root (not a test):

    sudo /usr/bin/python3 perf/bench_kex_handshake.py \\
        --dsshd build-rel/app/dsshd/dsshd --mlkem-tool build-rel/tests/kat/mlkem_tool

The client is tests/interop/ssh_rawclient.py (one key exchange through
SERVICE_ACCEPT, no authentication) so that every method can be driven,
mlkem768x25519-sha256 included, which the installed OpenSSH client may not
have. Each handshake is a new TCP connection to 127.0.0.1. The client is
Python and slow: handshakes/s is the client's pace, the figure to compare is
the server's CPU per handshake: utime + stime (+ reaped children) of the
server process and all its descendants, from /proc, before and after a
batch, divided by the batch's handshakes. dsshd's CPU per handshake grows
when the client is slower (measured: +0.12 ms per curve25519 handshake with
5 ms of client think time between KEXINIT and the INIT; a connection idle
for seconds costs nothing, so this is wake-up cost, not polling), so the
client's ML-KEM key pairs are made before the clock starts; its
decapsulation (a pipe round trip to mlkem_tool) still counts, which makes
the mlkem figure an upper bound. On a loaded machine the figures are noisy:
compare with perf/dssh-bench-kex, which times the server's KEX work alone. sshd runs a method only if it has
it (OpenSSH 9.2: curve25519 yes, mlkem768x25519 no).
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "interop"))
import ssh_rawclient as rc          # noqa: E402

METHODS = ["curve25519-sha256", "mlkem768x25519-sha256", "sntrup761x25519-sha512@openssh.com"]
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def live_cpu(pid, st):
    """A live process's CPU seconds: its threads' schedstat (nanoseconds,
    where the 10 ms clock ticks of utime/stime would quantise a batch of fast
    handshakes), else utime+stime; plus its reaped children's ticks."""
    ns = 0
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                ns += int(f.read().split()[0])
        own = ns / 1e9
    except (OSError, ValueError, IndexError):
        own = (int(st[11]) + int(st[12])) / TICK
    return own + (int(st[13]) + int(st[14])) / TICK


def tree_cpu(root):
    """CPU seconds of root and its live descendants, reaped children included."""
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    st = f.read().rsplit(")", 1)[1].split()
                kids.setdefault(int(st[1]), []).append((int(p), st))
            except OSError:
                pass
    try:
        with open("/proc/%d/stat" % root) as f:
            st = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    total, todo = live_cpu(root, st), [root]
    while todo:
        pid = todo.pop()
        for kid, kst in kids.get(pid, []):
            total += live_cpu(kid, kst)
            todo.append(kid)
    return total


class Server:
    def __init__(self, kind, path, tmp):
        self.kind, self.path = kind, path
        self.dir = tempfile.mkdtemp(prefix="kexbench-%s-" % kind, dir=tmp)
        self.port = free_port()
        key = os.path.join(self.dir, "hostkey")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        lines = ["Port %d" % self.port, "ListenAddress 127.0.0.1", "HostKey " + key,
                 "PidFile " + os.path.join(self.dir, "pid"), "LogLevel ERROR",
                 "PasswordAuthentication no", "MaxStartups 100:30:200"]
        if kind == "sshd":
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
            lines += ["UsePAM no", "KexAlgorithms " + ",".join(self.methods_sshd())]
        else:
            # Every handshake ends unauthenticated from 127.0.0.1: with
            # PerSourcePenalties (OpenSSH 9.8's, which sshd 9.2 lacks) the
            # source would soon be refused.
            lines += ["PerSourcePenalties no"]
        self.cfg = os.path.join(self.dir, "config")
        with open(self.cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.methods = self.methods_sshd() if kind == "sshd" else METHODS

    def methods_sshd(self):
        have = subprocess.run(["ssh", "-Q", "kex"], capture_output=True, text=True).stdout.split()
        return [m for m in METHODS if m in have]

    def start(self):
        self.log = open(os.path.join(self.dir, "log"), "wb")
        self.proc = subprocess.Popen([self.path, "-D", "-e", "-f", self.cfg],
                                     stdout=self.log, stderr=self.log, start_new_session=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"SSH-"):
                        return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("%s did not start (see %s)" % (self.kind, self.dir))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def batch(srv, method, n, tools):
    tool = tools["mlkem"]
    # The client's ML-KEM key pairs are made before the clock starts: dsshd
    # spends some CPU per unit of time a connection stays open, so a slow
    # client would inflate the server's figure.
    keys = [None] * n
    if method == rc.MLKEM:
        keys = [tool.call("keygen %s %s" % (os.urandom(32).hex(), os.urandom(32).hex()))
                for _ in range(n)]
    elif method in rc.SNTRUP_NAMES:
        tool = tools["sntrup"]
        keys = [tool.call("keypair") for _ in range(n)]
    # Let connections of the previous batch finish (sshd reaps its children).
    time.sleep(0.3)
    c0, t0 = tree_cpu(srv.proc.pid), time.time()
    for i in range(n):
        rc.handshake("127.0.0.1", srv.port, method, tool, mlkem_keys=keys[i])
    time.sleep(0.3)
    c1, t1 = tree_cpu(srv.proc.pid), time.time() - 0.3
    return (c1 - c0) / n, n / (t1 - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dsshd", required=True)
    p.add_argument("--mlkem-tool", required=True)
    p.add_argument("--sntrup-tool", help="tests/kat/sntrup_tool (default: beside mlkem_tool)")
    p.add_argument("--sshd", default="/usr/sbin/sshd", help="'' to leave sshd out")
    p.add_argument("--count", type=int, default=300, help="handshakes per batch")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--methods", default=",".join(METHODS),
                   help="comma list of KEX methods (default all three)")
    p.add_argument("--json", metavar="FILE", help="write the medians (and every batch) as JSON")
    a = p.parse_args()
    want = [m.strip() for m in a.methods.split(",") if m.strip()]
    for m in want:
        if m not in METHODS:
            p.error("unknown method %r (%s)" % (m, ", ".join(METHODS)))
    tmp = tempfile.mkdtemp(prefix="kexbench-")
    servers = [Server("dsshd", os.path.abspath(a.dsshd), tmp)]
    if a.sshd and os.access(a.sshd, os.X_OK):
        servers.append(Server("sshd", a.sshd, tmp))
    for s in servers:
        s.methods = [m for m in s.methods if m in want]
    tools = {"mlkem": rc.MlkemTool(a.mlkem_tool),
             "sntrup": rc.MlkemTool(a.sntrup_tool or os.path.join(
                 os.path.dirname(a.mlkem_tool), "sntrup_tool"))}
    res = {}
    try:
        for s in servers:
            s.start()
        for rnd in range(a.rounds):
            for s in servers:
                for m in s.methods:
                    cpu, rate = batch(s, m, a.count, tools)
                    res.setdefault((s.kind, m), []).append((cpu, rate))
                    print("# round %d %-6s %-36s %7.3f ms server CPU/handshake  %6.1f/s"
                          % (rnd, s.kind, m, cpu * 1e3, rate), flush=True)
    finally:
        for s in servers:
            s.stop()
        for t in tools.values():
            t.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n%-6s %-36s %14s %10s %12s" % ("server", "kex", "CPU ms/hs", "vs x25519",
                                           "handshakes/s"))
    rows = []
    for s in servers:
        base = statistics.median(c for c, _ in res[(s.kind, METHODS[0])]) \
            if (s.kind, METHODS[0]) in res else None
        for m in s.methods:
            cpu = statistics.median(c for c, _ in res[(s.kind, m)])
            rate = statistics.median(r for _, r in res[(s.kind, m)])
            print("%-6s %-36s %14.3f %9.2fx %12.1f" % (s.kind, m, cpu * 1e3,
                                                     cpu / base if base else 0, rate))
            rows.append({"server": s.kind, "method": m, "server_ms_per_handshake": cpu * 1e3,
                         "vs_curve25519": cpu / base if base else None,
                         "handshakes_per_s": rate,
                         "batches": [{"server_ms_per_handshake": c * 1e3,
                                      "handshakes_per_s": r} for c, r in res[(s.kind, m)]]})
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"count": a.count, "rounds": a.rounds, "dsshd": a.dsshd,
                       "sshd": a.sshd or None, "results": rows}, f, indent=1)
        print("# JSON written to %s" % a.json)


if __name__ == "__main__":
    main()
