#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
dssh-load as the driver: dsshd (kernel sockets) and OpenSSH's sshd side by side in one
run, same host keys, user keys and cipher, on 127.0.0.1. Run by hand as root, or by
perf/run.py (its `load` part):

    sudo /usr/bin/python3 perf/bench_load.py --dsshd build-rel/app/dsshd/dsshd \\
        --dssh-load build-rel/app/dssh/dssh-load [--sessions 1,2,4,8] [--seconds 5]

  throughput   dssh-load -w upload / download -n N -m N (one connection per session),
               N = --sessions, for --seconds each: aggregate MB/s and the server's CPU
               per byte (cycles/byte at /proc/cpuinfo's clock);
  handshakes   dssh-load -w handshake -m W (W logins in flight) per KEX method:
               handshakes/s and the server's CPU per handshake (whole logins: KEX,
               host-key signature, publickey auth), for --hs-seconds each.

The server's CPU is its cgroup's (bench_bulk.py's CpuAccount: a cgroup v2 per server,
entered before the server starts, so every process it forks is counted however it is
reaped; cpu.stat usage_usec), else its process tree's from /proc (as
bench_kex_handshake.py reads it), before and after each point. dssh-load runs on the same cores: on a 2-vCPU machine the
client and the server share them, so MB/s and handshakes/s are the pair's figures; the
CPU per byte and per handshake are the server's own.
"""
import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
sys.path.insert(0, HERE)
import dssh_harness as h                      # noqa: E402
from bench_bulk import CpuAccount, cg_usage_s  # noqa: E402
from bench_kex_handshake import tree_cpu       # noqa: E402

KEX = ["curve25519-sha256", "ecdh-sha2-nistp256", "sntrup761x25519-sha512@openssh.com"]
KINDS = ("sshd", "dsshd")


def cpu_mhz():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1])
    return None


class Meter:
    """The servers' CPU: a cgroup each (we step into it to start the server, so the
    server and all it forks are there, then back), else their process trees."""

    def __init__(self):
        self.acct = CpuAccount("auto")
        self.acct.setup()
        # The bench cgroup sits in ours: where we go back to.
        self.home = os.path.dirname(self.acct.base) if self.acct.cgroup else None
        self.cgs = {}

    def describe(self):
        return self.acct.describe()

    def start(self, kind, srv):
        if not self.acct.cgroup:
            srv.start()
            return
        cg = self.acct.child(kind)
        with open(os.path.join(cg, "cgroup.procs"), "w") as fp:
            fp.write(str(os.getpid()))
        try:
            srv.start()
        finally:
            with open(os.path.join(self.home, "cgroup.procs"), "w") as fp:
                fp.write(str(os.getpid()))
        self.cgs[srv] = cg

    def cpu(self, srv):
        return cg_usage_s(self.cgs[srv]) if srv in self.cgs else tree_cpu(srv.proc.pid)

    def close(self):
        self.acct.remove_all()


def bench_args(doc, tool):
    """The options of a side-by-side bench (this one, bench_cp.py): --dsshd, its client
    tool as --<tool>, --sshd, --rounds, --cipher, --json. The caller adds its own."""
    p = argparse.ArgumentParser(description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dsshd", required=True)
    p.add_argument("--" + tool, required=True)
    p.add_argument("--sshd", default="/usr/sbin/sshd", help="'' to leave sshd out")
    p.add_argument("--rounds", type=int, default=1, help="runs per point (medians)")
    p.add_argument("--cipher", default="aes128-gcm@openssh.com")
    p.add_argument("--json", metavar="FILE")
    return p


def side_by_side(a, name, override, dsshd_override=None):
    """sshd (unless --sshd is '' or not executable) and dsshd, in that order, both with
    override in their configuration, dsshd with dsshd_override on top."""
    servers = {}
    if a.sshd and os.access(a.sshd, os.X_OK):
        servers["sshd"] = h.Server(a.sshd, name=name, override=override)
    servers["dsshd"] = h.Server(a.dsshd, name=name,
                                override=dict(override, **(dsshd_override or {})))
    return servers


@contextlib.contextmanager
def serving(servers, meter, tmp):
    """The servers started, each in the meter's account; on the way out (however it
    is left) stopped and cleaned up, with the meter's cgroups and the directory tmp."""
    try:
        for k, s in servers.items():
            meter.start(k, s)
        yield
    finally:
        for s in servers.values():
            s.stop()
            s.cleanup()
        meter.close()
        shutil.rmtree(tmp, ignore_errors=True)


class Driver:
    def __init__(self, a, env, srv, kh, meter):
        self.a, self.env, self.srv, self.kh, self.meter = a, env, srv, kh, meter

    def run(self, *wl, opts=()):
        """One dssh-load run: (its JSON, the server's CPU seconds over it)."""
        argv = [self.a.dssh_load, "-q", "--json", "-p", str(self.srv.port),
                "-o", "UserKnownHostsFile=" + self.kh, "-o", "StrictHostKeyChecking=accept-new",
                "-i", self.env.keys["ed25519"], "-c", self.a.cipher]
        for o in opts:
            argv += ["-o", o]
        argv += list(wl) + ["%s@127.0.0.1" % h.TEST_USER]
        time.sleep(0.2)          # the last point's sessions reaped
        c0 = self.meter.cpu(self.srv)
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=4 * max(self.a.seconds, self.a.hs_seconds) + 120)
        time.sleep(0.2)
        c1 = self.meter.cpu(self.srv)
        try:
            d = json.loads(p.stdout)
        except ValueError:
            d = {"errors": 1, "error": "exit %d: %s" % (p.returncode, p.stderr[-300:])}
        d["rc"] = p.returncode
        return d, c1 - c0


def throughput(a, drivers, mhz):
    rows = []
    for wl in a.workloads:
        for n in a.sessions:
            row = {"workload": wl, "sessions": n, "servers": {}}
            for kind, drv in drivers.items():
                runs = [drv.run("-w", wl, "-n", str(n), "-m", str(n), "-t", str(a.seconds))
                        for _ in range(a.rounds)]
                ok = [(d, c) for d, c in runs if d.get("rc") == 0 and d.get("bytes")]
                e = {"errors": sum(d.get("errors", 0) for d, _ in runs)}
                if ok:
                    e["mb_s"] = statistics.median(d["mb_s"] for d, _ in ok)
                    e["server_cpu_s"] = statistics.median(c for _, c in ok)
                    if mhz:
                        e["server_cycles_per_byte"] = statistics.median(
                            c * mhz * 1e6 / d["bytes"] for d, c in ok)
                        # dssh-load's own (the issue wants it below the server's).
                        e["client_cycles_per_byte"] = statistics.median(
                            d["client_cpu_s"] * mhz * 1e6 / d["bytes"] for d, c in ok)
                else:
                    e["error"] = runs[0][0].get("error")
                row["servers"][kind] = e
                print("# %-8s %-6s N=%d %s" % (wl, kind, n, e), flush=True)
            rows.append(row)
    return rows


def handshakes(a, drivers):
    rows = []
    for kex in a.kex:
        row = {"method": kex, "workers": a.hs_workers, "servers": {}}
        for kind, drv in drivers.items():
            runs = [drv.run("-w", "handshake", "-m", str(a.hs_workers), "-t", str(a.hs_seconds),
                            opts=["KexAlgorithms=" + kex]) for _ in range(a.rounds)]
            ok = [(d, c) for d, c in runs if d.get("rc") == 0 and d.get("handshakes")]
            e = {"errors": sum(d.get("errors", 0) for d, _ in runs)}
            if ok:
                e["handshakes_per_s"] = statistics.median(d["handshakes_per_s"] for d, _ in ok)
                e["server_ms_per_handshake"] = statistics.median(
                    c * 1e3 / d["handshakes"] for d, c in ok)
                e["p50_us"] = statistics.median(d["latency_us"]["p50"] for d, _ in ok)
                e["p99_us"] = statistics.median(d["latency_us"]["p99"] for d, _ in ok)
            else:
                e["error"] = runs[0][0].get("error")
            row["servers"][kind] = e
            print("# handshake %-36s %-6s %s" % (kex, kind, e), flush=True)
        rows.append(row)
    return rows


def ratio(x, y):
    return x / y if x is not None and y else None


def f(v, spec):
    return "-" if v is None else spec % v


def report(res):
    print("\n| workload | N | sshd MB/s | dsshd MB/s | MB/s x | sshd c/B | dsshd c/B | c/B x | "
          "dssh-load c/B |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for row in res["throughput"]:
        s, d = row["servers"].get("sshd", {}), row["servers"].get("dsshd", {})
        print("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            row["workload"], row["sessions"], f(s.get("mb_s"), "%.0f"),
            f(d.get("mb_s"), "%.0f"), f(ratio(d.get("mb_s"), s.get("mb_s")), "%.2fx"),
            f(s.get("server_cycles_per_byte"), "%.1f"),
            f(d.get("server_cycles_per_byte"), "%.1f"),
            f(ratio(d.get("server_cycles_per_byte"), s.get("server_cycles_per_byte")),
              "%.2fx"), f(d.get("client_cycles_per_byte"), "%.1f")))
    print("\n| kex | sshd hs/s | dsshd hs/s | hs/s x | sshd CPU ms/hs | dsshd CPU ms/hs | "
          "CPU x |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for row in res["handshakes"]:
        s, d = row["servers"].get("sshd", {}), row["servers"].get("dsshd", {})
        print("| %s | %s | %s | %s | %s | %s | %s |" % (
            row["method"], f(s.get("handshakes_per_s"), "%.1f"),
            f(d.get("handshakes_per_s"), "%.1f"),
            f(ratio(d.get("handshakes_per_s"), s.get("handshakes_per_s")), "%.2fx"),
            f(s.get("server_ms_per_handshake"), "%.2f"),
            f(d.get("server_ms_per_handshake"), "%.2f"),
            f(ratio(d.get("server_ms_per_handshake"), s.get("server_ms_per_handshake")),
              "%.2fx")))


def main():
    p = bench_args(__doc__, "dssh-load")
    p.add_argument("--sessions", default="1,2,4,8")
    p.add_argument("--workloads", default="upload,download")
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--kex", default=",".join(KEX))
    p.add_argument("--hs-workers", type=int, default=4, help="logins in flight")
    p.add_argument("--hs-seconds", type=float, default=5)
    a = p.parse_args()
    a.sessions = [int(x) for x in a.sessions.split(",") if x]
    a.workloads = [x for x in a.workloads.split(",") if x]
    a.kex = [x for x in a.kex.split(",") if x]
    a.dsshd, a.dssh_load = os.path.abspath(a.dsshd), os.path.abspath(a.dssh_load)
    env = h.Env()
    tmp = tempfile.mkdtemp(prefix="dssh-bench-load-")
    kh = os.path.join(tmp, "known_hosts")
    # Quiet servers (no DEBUG lines on the measured path), the methods under test.
    override = {"LogLevel": "ERROR", "MaxStartups": "100:30:200",
                "KexAlgorithms": ",".join(h.KEXES + [k for k in a.kex if k not in h.KEXES])}
    servers = side_by_side(a, "bench-load", override)
    res = {"cipher": a.cipher, "seconds": a.seconds, "hs_seconds": a.hs_seconds,
           "hs_workers": a.hs_workers, "rounds": a.rounds, "sessions": a.sessions,
           "mhz": cpu_mhz(), "servers": sorted(servers)}
    meter = Meter()
    res["cpu_method"] = meter.describe()
    print("# server CPU: %s" % res["cpu_method"], flush=True)
    with serving(servers, meter, tmp):
        # sshd first in each pair; the first login adds the host keys to known_hosts.
        drivers = {k: Driver(a, env, s, kh, meter) for k, s in servers.items()}
        res["throughput"] = throughput(a, drivers, res["mhz"])
        res["handshakes"] = handshakes(a, drivers)
    report(res)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=1)
        print("# JSON written to %s" % a.json)
    bad = [1 for row in res["throughput"] + res["handshakes"]
           for e in row["servers"].values() if "error" in e]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
