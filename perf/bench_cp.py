#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dssh-cp over N streams: the scaling curve issue 13 asks for.

One file (--size) uploaded and downloaded with `dssh-cp -n N` (N SFTP
sessions, one connection each, splitting the file into ranges) against dsshd
(kernel sockets, internal-sftp) and OpenSSH's sshd (sftp-server) side by
side, for each N of --streams. Prints MB/s, the server's CPU per byte
(a cgroup per server: everything it forks counts) and the scaling against
N = 1, and writes JSON with --json.

With --memif (root) a third server: dsshd with its data plane on the server
end of a net_memif pair, dssh-cp on the client end with -o DpdkArgs= (its
streams on one DPDK port of its own, the threads taking turns on it): no
kernel on the path.

On this 2-vCPU machine dssh-cp's N threads, the server's threads and its
SFTP work all share the same two cores: past N = 2 nothing can scale, and
what the curve shows there is the cost of more streams, not more speed.

usage: bench_cp.py --dsshd build-rel/app/dsshd/dsshd --dssh-cp build-rel/app/dssh/dssh-cp
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "interop"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "dpdk"))
import dssh_harness as h                      # noqa: E402
from bench_load import Meter, cpu_mhz         # noqa: E402


def parse_size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(s[:-1]) * mult[s[-1].upper()] if s[-1].upper() in mult else int(s)


def dpdk_opts(srv):
    """--memif: dssh-cp's -o DpdkArgs= for the memif server's client end."""
    if not hasattr(srv, "sock"):
        return []
    eal = ("-l 0 --no-pci --no-huge -m 256 "
           "--vdev=net_memif0,role=client,socket=%s,id=0" % srv.sock)
    return ["-o", "DpdkArgs=" + eal, "-o", "DpdkAddress=" + srv.client_addr]


def copy(a, env, srv, kh, n, src, dst):
    argv = [a.dssh_cp, "-q", "-n", str(n), "-P", str(srv.port), "-c", a.cipher] + dpdk_opts(srv) + [
            "-i", env.keys["ed25519"], "-o", "UserKnownHostsFile=" + kh,
            "-o", "StrictHostKeyChecking=accept-new", "-o", "BatchMode=yes", src, dst]
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       timeout=600)
    return p.returncode, time.monotonic() - t0, p.stderr[-300:]


def point(a, env, meter, kind, srv, kh, n, direction, local, remote_dir):
    """Medians over --rounds: MB/s and server cycles per byte."""
    mbs, cpb = [], []
    host = getattr(srv, "dp_host", "127.0.0.1")
    for _ in range(a.rounds):
        got = os.path.join(os.path.dirname(local), "got.bin")
        rpath = os.path.join(remote_dir, "up.bin")
        if direction == "upload":
            src, dst = local, "%s@%s:%s" % (h.TEST_USER, host, rpath)
        else:
            src, dst = "%s@%s:%s" % (h.TEST_USER, host, os.path.join(remote_dir, "src.bin")), got
        time.sleep(0.3)
        c0 = meter.cpu(srv)
        rc, secs, err = copy(a, env, srv, kh, n, src, dst)
        c1 = meter.cpu(srv)
        for p in (got, rpath):
            if os.path.exists(p):
                os.unlink(p)
        if rc != 0:
            return {"error": "exit %d: %s" % (rc, err)}
        mbs.append(a.bytes / secs / 1e6)
        if a.mhz:
            cpb.append((c1 - c0) * a.mhz * 1e6 / a.bytes)
    e = {"mb_s": statistics.median(mbs)}
    if cpb:
        e["server_cycles_per_byte"] = statistics.median(cpb)
    print("# %-8s %-6s N=%d %s" % (direction, kind, n, e), flush=True)
    return e


def report(res):
    """The markdown table (run.py puts it in its report.md)."""
    out = ["dssh-cp -n N, %s, %.0f MiB (server CPU: %s)" % (
        res["cipher"], res["bytes"] / (1 << 20), res["cpu_method"]), "",
        "| direction | N | dsshd MB/s | sshd MB/s | dsshd/sshd | dsshd c/B | sshd c/B "
        "| dsshd scaling vs N=1 |" + (" memif MB/s | memif c/B |" if res.get("memif") else ""),
        "|---|--:|--:|--:|--:|--:|--:|--:|" + ("--:|--:|" if res.get("memif") else "")]
    for d in ("upload", "download"):
        rows = [r for r in res["rows"] if r["direction"] == d]
        base = rows[0]["servers"].get("dsshd", {}).get("mb_s") if rows else None
        for r in rows:
            ds, ss = r["servers"].get("dsshd", {}), r["servers"].get("sshd", {})

            def f(e, k, spec):
                return spec % e[k] if k in e else e.get("error", "-")[:30]
            ratio = ("%.2fx" % (ds["mb_s"] / ss["mb_s"])
                     if "mb_s" in ds and ss.get("mb_s") else "-")
            scale = "%.2fx" % (ds["mb_s"] / base) if base and "mb_s" in ds else "-"
            line = "| %s | %d | %s | %s | %s | %s | %s | %s |" % (
                d, r["n"], f(ds, "mb_s", "%.0f"), f(ss, "mb_s", "%.0f"), ratio,
                f(ds, "server_cycles_per_byte", "%.2f"),
                f(ss, "server_cycles_per_byte", "%.2f"), scale)
            if res.get("memif"):
                ms = r["servers"].get("dsshd-memif", {})
                line += " %s | %s |" % (f(ms, "mb_s", "%.0f"),
                                        f(ms, "server_cycles_per_byte", "%.2f"))
            out.append(line)
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dsshd", required=True)
    p.add_argument("--dssh-cp", required=True)
    p.add_argument("--sshd", default="/usr/sbin/sshd", help="'' to leave sshd out")
    p.add_argument("--streams", default="1,2,4")
    p.add_argument("--size", default="256M")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--cipher", default="aes128-gcm@openssh.com")
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--memif", action="store_true",
                   help="also dsshd's DPDK data plane, dssh-cp -o DpdkArgs= over net_memif (root)")
    a = p.parse_args()
    a.streams = [int(x) for x in a.streams.split(",") if x]
    a.bytes = parse_size(a.size)
    a.dsshd, a.dssh_cp = os.path.abspath(a.dsshd), os.path.abspath(a.dssh_cp)
    a.mhz = cpu_mhz()
    env = h.Env()
    # Our own directory: the tool writes only here (local side) and in the
    # test user's remote directory below it.
    tmp = tempfile.mkdtemp(prefix="dssh-bench-cp-")
    os.chmod(tmp, 0o1777)
    kh = os.path.join(tmp, "known_hosts")
    local = os.path.join(tmp, "local", "src.bin")
    remote_dir = os.path.join(tmp, "remote")
    os.makedirs(os.path.dirname(local))
    os.makedirs(remote_dir)
    with open(local, "wb") as f:
        f.write(os.urandom(a.bytes))
    shutil.copy(local, os.path.join(remote_dir, "src.bin"))
    subprocess.run(["chown", "-R", h.TEST_USER, remote_dir], check=True)
    servers = {}
    if a.sshd and os.access(a.sshd, os.X_OK):
        servers["sshd"] = h.Server(a.sshd, name="bench-cp", override={"LogLevel": "ERROR"})
    servers["dsshd"] = h.Server(a.dsshd, name="bench-cp",
                                override={"LogLevel": "ERROR", "Subsystem": "sftp internal-sftp"})
    if a.memif:
        from run_dssh_memif_test import MemifServer
        servers["dsshd-memif"] = MemifServer(a.dsshd, "/tmp/dssh-bench-cp%d.sock" % os.getpid(),
                                             "dsshbcp%d" % os.getpid(),
                                             override={"LogLevel": "ERROR",
                                                       "Subsystem": "sftp internal-sftp"})
    meter = Meter()
    res = {"cipher": a.cipher, "bytes": a.bytes, "rounds": a.rounds, "mhz": a.mhz,
           "cpu_method": meter.describe(), "rows": [], "memif": a.memif}
    try:
        for k, s in servers.items():
            meter.start(k, s)
        for d in ("upload", "download"):
            for n in a.streams:
                row = {"direction": d, "n": n, "servers": {}}
                for k, s in servers.items():
                    row["servers"][k] = point(a, env, meter, k, s, kh, n, d, local, remote_dir)
                res["rows"].append(row)
    finally:
        for s in servers.values():
            s.stop()
            s.cleanup()
        meter.close()
        shutil.rmtree(tmp, ignore_errors=True)
    res["report"] = report(res)
    print("\n" + res["report"])
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=1)
    return 1 if any("error" in e for r in res["rows"] for e in r["servers"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
