#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
dssh's benchmark suite: one entry point, one run, everything side by side.

    sudo /usr/bin/python3 perf/run.py --quick      # a few minutes, small sizes, 1 round
    sudo /usr/bin/python3 perf/run.py              # the real figures (about half an hour)
    sudo /usr/bin/python3 perf/run.py --smoke      # seconds: checks the machinery, not speed

In one run on this machine, OpenSSH's sshd (with its sftp-server) against dsshd on kernel
sockets and dsshd on its DPDK data plane, same host keys kind, same client keys, same
ciphers, driven by OpenSSH's own clients:

  bulk         perf/bench_bulk.py: upload/download (exec cat / head), sftp put/get, scp
               put/get, per cipher (aes128-gcm, chacha20-poly1305, aes256-ctr +
               hmac-sha2-256-etm), MB/s and the server's CPU per byte (its cgroup: data
               cores, control thread, session children, sftp-server); the same run times
               `ssh host true` connections (server CPU per connection) and keystrokes;
  keystroke    1 byte at a time through `ssh -tt` to a raw pty (dd bs=1), echo timed:
               p50 / p99 / p99.9, dsshd vs sshd (and a local pty without SSH);
  concurrency  bench_bulk.py --parallel N, N = 1, 2, 4, 8 concurrent ssh transfers;
  handshakes   perf/bench_kex_handshake.py: handshakes/s and server CPU per handshake per
               KEX method, dsshd (kernel sockets) vs sshd;
  cipher       perf/dssh-bench-cipher: the crypto engines and the raw IPsec-MB AES-GCM job
               loop (the ceiling), burst 32;
  memif        perf/bench_memif.py: `dssh` on a DPDK port of its own joined to dsshd's data
               plane by net_memif (no kernel on the path) vs ssh to sshd over loopback,
               aes128-gcm and chacha20-poly1305, upload/download: MB/s and server cycles
               per byte against the 0.7 cycles/byte target (skipped when BUILD's dssh
               was built without DPDK);
  load         perf/bench_load.py, dssh-load as the driver (BUILD/app/dssh/dssh-load;
               skipped with a note when it is not built): aggregate MB/s and server CPU
               per byte against the number of sessions (1, 2, 4, 8; exec upload and
               download, one connection per session), handshakes/s and server CPU per
               handshake (whole logins, 4 in flight) per KEX method, dsshd (kernel
               sockets) and sshd side by side;
  cp           perf/bench_cp.py: dssh-cp -n N (N = 1, 2, 4 SFTP streams, one connection
               each) uploading and downloading one file, dsshd (internal-sftp) vs sshd
               (sftp-server): MB/s, server CPU per byte, scaling against N = 1.

Everything lands in perf/results/<UTC timestamp>/ (or --out): results.json (one file
per run: machine facts, load averages, every part's summary, the targets), report.md
(the markdown tables printed at the end), *.png (matplotlib, Agg backend), and each
part's own JSON and log. The issue's targets are printed with met / MISSED.

Needs root (network namespace, test user, cgroups), iproute2, openssh-client and
openssh-server, python3-matplotlib for the plots (without it the run goes on and
says the plots were not drawn).
"""
import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
SCHEMA = "dssh-perf-suite/1"

CIPHERS = ["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com",
           "aes256-ctr+hmac-sha2-256-etm@openssh.com"]
SHORT = {"aes128-gcm@openssh.com": "aes128-gcm",
         "chacha20-poly1305@openssh.com": "chacha20-poly1305",
         "aes256-ctr+hmac-sha2-256-etm@openssh.com": "aes256-ctr+hmac-sha2-256-etm"}
BENCH_MODES = "aes128-gcm,chacha20-poly1305,aes256-ctr+hmac-sha2-256-etm"
LABEL = {"sshd": "sshd", "kernel": "dsshd-kernel", "dpdk": "dsshd-dpdk"}
STREAMS = ("upload", "download")
PARTS = ("bulk", "concurrency", "handshakes", "cipher", "memif", "load", "cp")

# Per mode: transfer size, rounds, keystrokes, connections, concurrency sizes and levels,
# handshakes per batch and rounds, cipher bench time per cell.
MODES = {
    "smoke": dict(size="2M", rounds=1, keys=20, warmup=5, conns=3, workloads="all",
                  par_size="1M", par=[1, 2], par_rounds=1, kex_count=3, kex_rounds=1,
                  kex_methods="curve25519-sha256", cipher_ms=1, cipher_modes="aes128-gcm",
                  memif_size="2M", memif_ciphers="aes128-gcm@openssh.com", memif_load="1,2",
                  load_sessions=[1, 2], load_s=0.5, load_hs_s=0.5, load_rounds=1,
                  load_kex="curve25519-sha256", cp_size="2M", cp_streams="1,2"),
    "quick": dict(size="64M", rounds=1, keys=300, warmup=20, conns=10, workloads="all",
                  par_size="32M", par=[1, 2, 4, 8], par_rounds=1, kex_count=50,
                  kex_rounds=1, kex_methods=None, cipher_ms=5, cipher_modes=BENCH_MODES,
                  memif_size="256M", memif_ciphers=None, memif_load="1,4",
                  load_sessions=[1, 2, 4, 8], load_s=3, load_hs_s=3, load_rounds=1,
                  load_kex=None, cp_size="64M", cp_streams="1,2,4"),
    "full": dict(size="1G", rounds=3, keys=1500, warmup=20, conns=50, workloads="all",
                 par_size="256M", par=[1, 2, 4, 8], par_rounds=3, kex_count=300,
                 kex_rounds=3, kex_methods=None, cipher_ms=100, cipher_modes=BENCH_MODES,
                 memif_size="1G", memif_ciphers=None, memif_load="1,4",
                 load_sessions=[1, 2, 4, 8], load_s=10, load_hs_s=10, load_rounds=3,
                 load_kex=None, cp_size="256M", cp_streams="1,2,4"),
}
FILE_WL = "sftp-put,sftp-get,scp-put,scp-get"


def log(msg=""):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def uptime():
    """`uptime`'s line and the three load averages."""
    line = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    with open("/proc/loadavg") as f:
        la = [float(x) for x in f.read().split()[:3]]
    return {"uptime": line, "loadavg": la}


def machine_facts():
    info = {"cpu_model": "?", "cpu_mhz": None, "cpu_flags": [], "ncpu": os.cpu_count(),
            "kernel": platform.release(), "kernel_version": platform.version(),
            "hostname": platform.node()}
    with open("/proc/cpuinfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            k, v = k.strip(), v.strip()
            if k == "model name" and info["cpu_model"] == "?":
                info["cpu_model"] = v
            elif k == "cpu MHz" and info["cpu_mhz"] is None:
                info["cpu_mhz"] = float(v)
            elif k == "flags" and not info["cpu_flags"]:
                info["cpu_flags"] = v.split()
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                info["mem_total_kib"] = int(line.split()[1])
    with open("/proc/cmdline") as f:
        info["kernel_cmdline"] = f.read().strip()
    for name, argv in (("openssh", ["ssh", "-V"]), ("openssl", ["openssl", "version"])):
        p = subprocess.run(argv, capture_output=True, text=True)
        info[name] = (p.stdout + p.stderr).strip()
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "-uno"],
                           capture_output=True, text=True).stdout.strip()
    info["git"] = (rev or "?") + ("+dirty" if dirty else "")
    return info


def find_tool(explicit, build, rel):
    """explicit, else BUILD/rel, else None."""
    if explicit:
        return os.path.abspath(explicit)
    p = os.path.join(build, rel)
    return p if os.access(p, os.X_OK) else None


def run_step(out, name, argv, timeout):
    """Runs one part's benchmark, its output to OUT/name.log (and a one-line
    progress on ours); returns (exit code, seconds)."""
    logpath = os.path.join(out, name + ".log")
    log("## %s: %s" % (name, " ".join(argv)))
    t0 = time.monotonic()
    with open(logpath, "w") as lf:
        lf.write("# " + " ".join(argv) + "\n")
        lf.flush()
        p = subprocess.Popen(argv, stdout=lf, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = -1
            lf.write("\n# run.py: timed out after %d s\n" % timeout)
            stop_child(p)
        except BaseException:
            # Ctrl-C or SIGTERM: the benchmark cleans up (namespace, servers) on SIGTERM.
            stop_child(p)
            raise
    dt = time.monotonic() - t0
    log("## %s: exit %d after %.0f s (log %s)" % (name, rc, dt, logpath))
    return rc, dt


def stop_child(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- parts

def part_bulk(a, m, out):
    js = os.path.join(out, "bulk.json")
    argv = [PY, os.path.join(HERE, "bench_bulk.py"), "--dsshd", a.dsshd,
            "--backends", a.backends, "--ciphers", ",".join(a.ciphers),
            "--workloads", "streams,%s,keystroke" % FILE_WL, "--size", a.size or m["size"],
            "--rounds", str(a.rounds or m["rounds"]), "--conns", str(m["conns"]),
            "--keys", str(m["keys"]), "--key-warmup", str(m["warmup"]), "--json", js]
    argv += ["--user", a.user] + a.bulk_arg
    rc, dt = run_step(out, "bulk", argv, a.timeout)
    d = load_json(js)
    return {"rc": rc, "seconds": dt, "json": "bulk.json", "argv": argv,
            "summary": d and d["summary"], "unavailable": d and d.get("unavailable"),
            "config": d and d.get("config")}


def part_concurrency(a, m, out):
    runs = []
    for n in a.parallel or m["par"]:
        js = os.path.join(out, "concurrency-%d.json" % n)
        argv = [PY, os.path.join(HERE, "bench_bulk.py"), "--dsshd", a.dsshd,
                "--backends", a.backends, "--ciphers", a.ciphers[0],
                "--workloads", "streams", "--parallel", str(n),
                "--size", a.par_size or m["par_size"],
                "--rounds", str(a.rounds or m["par_rounds"]), "--conns", "0", "--json", js]
        argv += ["--user", a.user] + a.bulk_arg
        rc, dt = run_step(out, "concurrency-%d" % n, argv, a.timeout)
        d = load_json(js)
        runs.append({"parallel": n, "rc": rc, "seconds": dt, "json": os.path.basename(js),
                     "transfers": d and d["summary"]["transfers"]})
    return {"cipher": a.ciphers[0], "runs": runs}


def part_handshakes(a, m, out):
    if not a.mlkem_tool:
        return {"skipped": "no tests/kat/mlkem_tool in %s (build it, or --mlkem-tool)"
                % a.build}
    js = os.path.join(out, "handshakes.json")
    argv = [PY, os.path.join(HERE, "bench_kex_handshake.py"), "--dsshd", a.dsshd,
            "--mlkem-tool", a.mlkem_tool, "--count", str(m["kex_count"]),
            "--rounds", str(m["kex_rounds"]), "--json", js]
    if m["kex_methods"]:
        argv += ["--methods", m["kex_methods"]]
    rc, dt = run_step(out, "handshakes", argv, a.timeout)
    d = load_json(js)
    return {"rc": rc, "seconds": dt, "json": "handshakes.json",
            "results": d and d["results"]}


def part_cipher(a, m, out):
    if not a.bench_cipher:
        return {"skipped": "no perf/dssh-bench-cipher in %s (or --bench-cipher)" % a.build}
    js = os.path.join(out, "cipher.json")
    argv = [a.bench_cipher, "--time-ms", str(m["cipher_ms"]), "--modes", m["cipher_modes"],
            "--json", js]
    rc, dt = run_step(out, "cipher", argv, a.timeout)
    d = load_json(js)
    return {"rc": rc, "seconds": dt, "json": "cipher.json", "results": d}


def part_memif(a, m, out):
    """dssh over net_memif to dsshd vs ssh to sshd (bench_memif.py): needs BUILD's dssh
    built with DPDK (it has the DpdkArgs option then)."""
    dssh = os.path.join(a.build, "app", "dssh", "dssh")
    if not os.access(dssh, os.X_OK):
        return {"skipped": "no dssh in %s/app/dssh" % a.build}
    with open(dssh, "rb") as fh:
        if b"DpdkArgs" not in fh.read():
            return {"skipped": "%s was built without DPDK" % dssh}
    js = os.path.join(out, "memif.json")
    argv = [PY, os.path.join(HERE, "bench_memif.py"), "--dsshd", a.dsshd, "--dssh", dssh,
            "--size", a.size or m["memif_size"], "--rounds", str(a.rounds or m["rounds"]),
            "--ciphers", m["memif_ciphers"] or "aes128-gcm@openssh.com,"
            "chacha20-poly1305@openssh.com", "--user", a.user, "--json", js]
    # dssh-load as the driver too (its rows: server and load generator cycles per byte).
    load = os.path.join(a.build, "app", "dssh", "dssh-load")
    if os.access(load, os.X_OK):
        argv += ["--load", load, "--load-sessions", m["memif_load"]]
    rc, dt = run_step(out, "memif", argv, a.timeout)
    d = load_json(js)
    return {"rc": rc, "seconds": dt, "json": "memif.json", "argv": argv,
            "transfers": d and d["transfers"], "target": d and d["target"],
            "load_transfers": d and d.get("load_transfers"),
            "report": d and d["report"]}


def part_load(a, m, out):
    """dssh-load as the driver (perf/bench_load.py): sessions and handshakes."""
    if not a.dssh_load:
        return {"skipped": "no app/dssh/dssh-load in %s (or --dssh-load): the client tools "
                "are not built" % a.build}
    js = os.path.join(out, "load.json")
    argv = [PY, os.path.join(HERE, "bench_load.py"), "--dsshd", a.dsshd,
            "--dssh-load", a.dssh_load, "--cipher", a.ciphers[0],
            "--sessions", ",".join(str(n) for n in a.parallel or m["load_sessions"]),
            "--seconds", str(m["load_s"]), "--hs-seconds", str(m["load_hs_s"]),
            "--rounds", str(a.rounds or m["load_rounds"]), "--json", js]
    if m["load_kex"]:
        argv += ["--kex", m["load_kex"]]
    rc, dt = run_step(out, "load", argv, a.timeout)
    d = load_json(js) or {}
    return {"rc": rc, "seconds": dt, "json": "load.json", "cipher": a.ciphers[0],
            "throughput": d.get("throughput"), "handshakes": d.get("handshakes"),
            "hs_workers": d.get("hs_workers")}


def part_cp(a, m, out):
    """dssh-cp -n N against dsshd and sshd (perf/bench_cp.py): the streams curve."""
    cp = os.path.join(a.build, "app", "dssh", "dssh-cp")
    if not os.access(cp, os.X_OK):
        return {"skipped": "no dssh-cp in %s/app/dssh" % a.build}
    js = os.path.join(out, "cp.json")
    argv = [PY, os.path.join(HERE, "bench_cp.py"), "--dsshd", a.dsshd, "--dssh-cp", cp,
            "--size", m["cp_size"], "--streams", m["cp_streams"], "--cipher", a.ciphers[0],
            "--rounds", str(a.rounds or m["rounds"]), "--json", js]
    rc, dt = run_step(out, "cp", argv, a.timeout)
    d = load_json(js) or {}
    return {"rc": rc, "seconds": dt, "json": "cp.json", "rows": d.get("rows"),
            "report": d.get("report")}


# ---------------------------------------------------------------- tables

def table(header, rows, left=2):
    """A markdown table; the first `left` columns left-aligned, the rest right."""
    w = [max(len(str(x)) for x in col) for col in zip(header, *rows)] if rows else \
        [len(h) for h in header]
    fmt = lambda cells: "| " + " | ".join(str(c).ljust(n) if i < left else str(c).rjust(n)
                                          for i, (c, n) in enumerate(zip(cells, w))) + " |"
    sep = "|" + "|".join("-" * (n + 2) if i < left else "-" * (n + 1) + ":"
                         for i, n in enumerate(w)) + "|"
    return "\n".join([fmt(header), sep] + [fmt(r) for r in rows])


def f(v, spec):
    return "-" if v is None else spec % v


def ratio(a, b):
    return a / b if a is not None and b else None


def srv(row, kind):
    return (row or {}).get("servers", {}).get(kind, {})


def bulk_rows(res):
    s = (res.get("bulk") or {}).get("summary") or {}
    return s.get("transfers") or []


def tables(res):
    """The report's markdown: [(title, note, table)]."""
    out = []
    rows = []
    for r in bulk_rows(res):
        s, k, d = srv(r, "sshd"), srv(r, "kernel"), srv(r, "dpdk")
        rows.append([r["workload"], SHORT.get(r["cipher"], r["cipher"]),
                     f(s.get("mb_s"), "%.0f"), f(s.get("server_cycles_per_byte"), "%.1f"),
                     f(ratio(k.get("mb_s"), s.get("mb_s")), "%.2fx"),
                     f(ratio(k.get("server_cycles_per_byte"),
                             s.get("server_cycles_per_byte")), "%.2fx"),
                     f(ratio(d.get("mb_s"), s.get("mb_s")), "%.2fx"),
                     f(ratio(d.get("server_cycles_per_byte"),
                             s.get("server_cycles_per_byte")), "%.2fx"),
                     f(ratio(d.get("mb_s"), k.get("mb_s")), "%.2fx")])
    if rows:
        out.append(("Bulk transfer: dsshd / sshd", "MB/s and server CPU per byte (cycles/"
                    "byte, the server's whole cgroup) against sshd in the same run; medians.",
                    table(["workload", "cipher", "sshd MB/s", "sshd c/B", "kernel MB/s x",
                           "kernel CPU/B x", "dpdk MB/s x", "dpdk CPU/B x", "dpdk/kernel MB/s"],
                          rows)))
    conns = ((res.get("bulk") or {}).get("summary") or {}).get("connections") or {}
    hs = (res.get("handshakes") or {}).get("results") or []
    rows = []
    base = conns.get("sshd", {})
    for k in ("sshd", "kernel", "dpdk"):
        c = conns.get(k, {})
        if "conn_s" in c:
            rows.append(["ssh host true (OpenSSH client)", LABEL[k], "%.2f" % c["conn_s"],
                         "%.2f" % c["server_ms_per_conn"],
                         f(ratio(c["server_ms_per_conn"], base.get("server_ms_per_conn")),
                           "%.3fx")])
    sshd_hs = {x["method"]: x for x in hs if x["server"] == "sshd"}
    for x in hs:
        b = sshd_hs.get(x["method"], {})
        rows.append(["handshake " + x["method"], "dsshd-kernel" if x["server"] == "dsshd"
                     else "sshd", "%.1f" % x["handshakes_per_s"],
                     "%.3f" % x["server_ms_per_handshake"],
                     f(ratio(x["server_ms_per_handshake"], b.get("server_ms_per_handshake")),
                       "%.3fx")])
    if rows:
        out.append(("Connections and handshakes", "conn/s or handshakes/s (client-bound: one "
                    "client at a time), server CPU per connection or handshake, and its ratio "
                    "to sshd's for the same method. `handshake` rows: a Python client to "
                    "SERVICE_ACCEPT (no login), each KEX method.",
                    table(["what", "server", "per s", "server CPU ms", "CPU vs sshd"], rows)))
    ks = ((res.get("bulk") or {}).get("summary") or {}).get("keystroke") or {}
    rows = []
    for k in ("baseline", "sshd", "kernel", "dpdk"):
        e = ks.get(k, {})
        if "median_us" in e:
            rows.append(["no SSH (local pty)" if k == "baseline" else LABEL[k], str(e["keys"]),
                         "%.0f" % e["median_us"], "%.0f" % e["p99_us"],
                         f(e.get("p999_us"), "%.0f"), f(e.get("median_vs_sshd"), "%.2fx"),
                         f(e.get("p99_vs_sshd"), "%.2fx"),
                         f(ratio(e.get("p999_us"), ks.get("sshd", {}).get("p999_us")),
                           "%.2fx")])
    if rows:
        out.append(("Keystroke echo through a PTY", "1 byte every 10 ms through ssh -tt to a "
                    "raw pty (dd bs=1), write to read-back, microseconds, all rounds pooled.",
                    table(["server", "keys", "p50 us", "p99 us", "p99.9 us", "p50 vs sshd",
                           "p99 vs sshd", "p99.9 vs sshd"], rows)))
    rows = []
    for run in (res.get("concurrency") or {}).get("runs", []):
        for r in run.get("transfers") or []:
            s, k, d = srv(r, "sshd"), srv(r, "kernel"), srv(r, "dpdk")
            rows.append([r["workload"], "%d" % run["parallel"], f(s.get("mb_s"), "%.0f"),
                         f(k.get("mb_s"), "%.0f"), f(d.get("mb_s"), "%.0f"),
                         f(ratio(k.get("mb_s"), s.get("mb_s")), "%.2fx"),
                         f(ratio(k.get("server_cycles_per_byte"),
                                 s.get("server_cycles_per_byte")), "%.2fx"),
                         f(ratio(d.get("mb_s"), s.get("mb_s")), "%.2fx"),
                         f(ratio(d.get("server_cycles_per_byte"),
                                 s.get("server_cycles_per_byte")), "%.2fx")])
    if rows:
        out.append(("Concurrent sessions (%s)" % SHORT.get(
            res["concurrency"]["cipher"], res["concurrency"]["cipher"]),
            "N identical ssh transfers at once, aggregate MB/s (first start to last end); "
            "ratios against sshd with N sessions.",
            table(["workload", "N", "sshd MB/s", "kernel MB/s", "dpdk MB/s", "kernel x",
                   "kernel CPU/B x", "dpdk x", "dpdk CPU/B x"], rows)))
    cj = (res.get("cipher") or {}).get("results") or {}
    rows = []
    raw = {x["size"]: x for x in cj.get("raw_ipsecmb_aes128_gcm_encrypt", [])
           if x["burst"] == 32}
    by = {(x["engine"], x["mode"], x["size"]): x for x in cj.get("results", [])
          if x["burst"] == 32 and x["ok"]}
    for mode in [x for x in BENCH_MODES.split(",")]:
        for size in (64, 1024, 32768):
            o, i = by.get(("openssl", mode, size)), by.get(("ipsecmb", mode, size))
            if not o and not i:
                continue
            rw = raw.get(size, {}).get("gbps") if mode == "aes128-gcm" else None
            rows.append([mode, str(size), f(o and o["seal_gbps"], "%.2f"),
                         f(o and o["seal_cpb"], "%.2f"), f(i and i["seal_gbps"], "%.2f"),
                         f(i and i["seal_cpb"], "%.2f"),
                         f(ratio(i and i["seal_gbps"], o and o["seal_gbps"]), "%.2fx"),
                         f(rw, "%.2f"), f(ratio(i and i["seal_gbps"], rw) and
                                          100 * ratio(i["seal_gbps"], rw), "%.0f%%")])
    if rows:
        out.append(("Cipher engines (dssh-bench-cipher, seal, burst 32, one core)",
                    "Gbit/s (TSC cycles/byte); ipsecmb / openssl engine; the raw IPsec-MB "
                    "AES-128-GCM job loop over the same buffers is the ceiling.",
                    table(["mode", "size", "openssl Gb/s", "c/B", "ipsecmb Gb/s", "c/B",
                           "ipsecmb x", "raw IMB Gb/s", "of raw"], rows)))
    out += load_tables(res.get("load") or {})
    return out


def load_tables(ld):
    """The load part's two tables: sessions, handshakes (dsshd-kernel against sshd)."""
    out, rows = [], []
    for r in ld.get("throughput") or []:
        s, k = r["servers"].get("sshd", {}), r["servers"].get("dsshd", {})
        rows.append([r["workload"], "%d" % r["sessions"], f(s.get("mb_s"), "%.0f"),
                     f(k.get("mb_s"), "%.0f"), f(ratio(k.get("mb_s"), s.get("mb_s")), "%.2fx"),
                     f(s.get("server_cycles_per_byte"), "%.1f"),
                     f(k.get("server_cycles_per_byte"), "%.1f"),
                     f(ratio(k.get("server_cycles_per_byte"),
                             s.get("server_cycles_per_byte")), "%.2fx"),
                     f(k.get("client_cycles_per_byte"), "%.1f")])
    if rows:
        out.append(("dssh-load: throughput against sessions (%s)" % SHORT.get(
            ld.get("cipher"), ld.get("cipher")), "dssh-load -n N -m N (one connection per "
            "session, exec cat / head) against dsshd on kernel sockets and sshd; aggregate "
            "MB/s, server CPU per byte (its cgroup), ratios against sshd, and dssh-load's own "
            "CPU per byte (against dsshd). The client shares the cores with the server.",
            table(["workload", "N", "sshd MB/s", "kernel MB/s", "kernel x", "sshd c/B",
                   "kernel c/B", "kernel CPU/B x", "dssh-load c/B"], rows)))
    rows = []
    for r in ld.get("handshakes") or []:
        s, k = r["servers"].get("sshd", {}), r["servers"].get("dsshd", {})
        rows.append([r["method"], "%d" % r["workers"], f(s.get("handshakes_per_s"), "%.1f"),
                     f(k.get("handshakes_per_s"), "%.1f"),
                     f(ratio(k.get("handshakes_per_s"), s.get("handshakes_per_s")), "%.2fx"),
                     f(s.get("server_ms_per_handshake"), "%.2f"),
                     f(k.get("server_ms_per_handshake"), "%.2f"),
                     f(ratio(k.get("server_ms_per_handshake"),
                             s.get("server_ms_per_handshake")), "%.3fx")])
    if rows:
        out.append(("dssh-load: handshakes", "dssh-load -w handshake: whole logins (KEX, "
                    "host key, publickey auth, disconnect), several in flight, per KEX "
                    "method; handshakes/s and server CPU per handshake, ratios against sshd.",
                    table(["kex", "in flight", "sshd hs/s", "kernel hs/s", "kernel x",
                           "sshd CPU ms", "kernel CPU ms", "CPU vs sshd"], rows)))
    return out


# ---------------------------------------------------------------- targets

def targets(res):
    """The issue's targets: [{target, measured, met (True/False/None)}]."""
    out = []
    rows = [r for r in bulk_rows(res) if r["workload"] in STREAMS]
    for k in ("kernel", "dpdk"):
        cells, ok = [], []
        for r in rows:
            s, o = srv(r, "sshd"), srv(r, k)
            mr = ratio(o.get("mb_s"), s.get("mb_s"))
            cr = ratio(o.get("server_cycles_per_byte"), s.get("server_cycles_per_byte"))
            if mr is None or cr is None:
                continue
            ok.append(mr >= 2 and cr <= 1 / 3)
            cells.append("%s %s %.2fx/%.2fx" % (r["workload"], SHORT.get(r["cipher"], r["cipher"])
                                                .split("+")[0], mr, cr))
        out.append({"target": "bulk (exec up/down) >= 2x sshd MB/s at <= 1/3 its server CPU "
                    "per byte, %s" % LABEL[k],
                    "measured": "%d of %d rows (MB/s x / CPU/B x): %s" % (
                        sum(ok), len(ok), "; ".join(cells)) if ok else "no data",
                    "met": all(ok) if ok else None})
    cells, ok = [], []
    allrows = bulk_rows(res) + [r for run in (res.get("concurrency") or {}).get("runs", [])
                                for r in run.get("transfers") or []]
    worst = None
    for r in allrows:
        mr = ratio(srv(r, "dpdk").get("mb_s"), srv(r, "kernel").get("mb_s"))
        if mr is None:
            continue
        ok.append(mr >= 1)
        name = "%s %s" % (r["workload"], SHORT.get(r["cipher"], r["cipher"]).split("+")[0])
        if worst is None or mr < worst[0]:
            worst = (mr, name)
        if mr < 1:
            cells.append("%s %.2fx" % (name, mr))
    out.append({"target": "DPDK never slower than kernel sockets (every transfer)",
                "measured": ("%d of %d transfers at >= 1x; worst %s %.2fx%s" % (
                    sum(ok), len(ok), worst[1], worst[0],
                    "; slower: " + ", ".join(cells) if cells else "")) if ok else "no data",
                "met": all(ok) if ok else None})
    conns = ((res.get("bulk") or {}).get("summary") or {}).get("connections") or {}
    base = conns.get("sshd", {}).get("server_ms_per_conn")
    hs = (res.get("handshakes") or {}).get("results") or []
    sshd_hs = {x["method"]: x["server_ms_per_handshake"] for x in hs if x["server"] == "sshd"}
    cells, ok = [], []
    for k in ("kernel", "dpdk"):
        r = ratio(conns.get(k, {}).get("server_ms_per_conn"), base)
        if r is not None:
            ok.append(r <= 0.2)
            cells.append("%s ssh login %.3fx" % (LABEL[k], r))
    for x in hs:
        if x["server"] == "dsshd" and x["method"] in sshd_hs:
            r = ratio(x["server_ms_per_handshake"], sshd_hs[x["method"]])
            ok.append(r <= 0.2)
            cells.append("dsshd-kernel %s %.3fx" % (x["method"].split("-")[0], r))
    out.append({"target": "server CPU per handshake <= 1/5 of sshd's",
                "measured": "; ".join(cells) or "no data", "met": all(ok) if ok else None})
    cells, ok = [], []
    for wl in STREAMS:
        g = next((r for r in rows if r["workload"] == wl and
                  r["cipher"] == "aes128-gcm@openssh.com"), None)
        c = next((r for r in rows if r["workload"] == wl and
                  r["cipher"] == "chacha20-poly1305@openssh.com"), None)
        rr = ratio(srv(c, "dpdk").get("server_cycles_per_byte"),
                   srv(g, "dpdk").get("server_cycles_per_byte"))
        if rr is not None:
            ok.append(rr <= 1.3)
            cells.append("%s %.2fx" % (wl, rr))
    out.append({"target": "chacha20-poly1305 server CPU per byte within 1.3x of aes128-gcm's, "
                "dsshd-dpdk",
                "measured": "; ".join(cells) or "no data", "met": all(ok) if ok else None})
    return out


def targets_table(tg):
    return table(["target", "met", "measured"],
                 [[t["target"], {True: "met", False: "MISSED", None: "n/a"}[t["met"]],
                   t["measured"]] for t in tg], left=3)


# ---------------------------------------------------------------- plots

def plots(res, out):
    """PNG files drawn with matplotlib's Agg backend; [] and a note without it."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        return [], "matplotlib not available (%s): no plots (apt-get install " \
            "python3-matplotlib, scripts/setup.sh)" % e
    made = []
    colors = {"sshd": "#888888", "kernel": "#1f77b4", "dpdk": "#d62728", "baseline": "#2ca02c"}

    def save(fig, name):
        path = os.path.join(out, name)
        fig.tight_layout()
        fig.savefig(path, dpi=72)
        plt.close(fig)
        made.append(name)

    brows = bulk_rows(res)
    if brows:
        labels = ["%s %s" % (r["workload"], SHORT.get(r["cipher"], r["cipher"])
                             .replace("+hmac-sha2-256-etm", "+etm")) for r in brows]
        for key, name, ylabel in (("mb_s", "bulk_mbs.png", "MB/s"),
                                  ("server_cycles_per_byte", "bulk_cpu.png",
                                   "server CPU, cycles/byte")):
            fig, ax = plt.subplots(figsize=(max(8, 0.55 * len(brows)), 4.5))
            kinds = [k for k in ("sshd", "kernel", "dpdk")
                     if any(key in srv(r, k) for r in brows)]
            w = 0.8 / max(1, len(kinds))
            for j, k in enumerate(kinds):
                ax.bar([i + (j - (len(kinds) - 1) / 2) * w for i in range(len(brows))],
                       [srv(r, k).get(key) or 0 for r in brows], w, label=LABEL[k],
                       color=colors[k])
            ax.set_xticks(range(len(brows)))
            ax.set_xticklabels(labels, fontsize=7, rotation=60, ha="right")
            ax.set_ylabel(ylabel)
            ax.set_title("Bulk transfer, OpenSSH clients: %s" % ylabel)
            ax.grid(axis="y", alpha=0.3)
            ax.legend()
            save(fig, name)
        # The ratios against sshd, with the bars (2x MB/s, 1/3 CPU per byte).
        fig, axs = plt.subplots(2, 1, figsize=(max(8, 0.55 * len(brows)), 6.5), sharex=True)
        for ax, key, bar, ylabel in ((axs[0], "mb_s", 2.0, "MB/s vs sshd"),
                                     (axs[1], "server_cycles_per_byte", 1 / 3,
                                      "server CPU/byte vs sshd")):
            for j, k in enumerate(("kernel", "dpdk")):
                ax.bar([i + (j - 0.5) * 0.4 for i in range(len(brows))],
                       [ratio(srv(r, k).get(key), srv(r, "sshd").get(key)) or 0
                        for r in brows], 0.4, label=LABEL[k], color=colors[k])
            ax.axhline(1.0, color="k", lw=0.8)
            ax.axhline(bar, color="g", ls="--", lw=1.2, label="target %.2gx" % bar)
            ax.set_ylabel(ylabel)
            ax.grid(axis="y", alpha=0.3)
            ax.legend(fontsize=8)
        axs[0].set_title("dsshd / sshd, same run (bars: the issue's targets)")
        axs[1].set_xticks(range(len(brows)))
        axs[1].set_xticklabels(labels, fontsize=7, rotation=60, ha="right")
        save(fig, "bulk_ratio.png")
    runs = [r for r in (res.get("concurrency") or {}).get("runs", []) if r.get("transfers")]
    if runs:
        fig, axs = plt.subplots(1, 2, figsize=(10, 4))
        for ax, wl in zip(axs, STREAMS):
            for k in ("sshd", "kernel", "dpdk"):
                pts = [(run["parallel"], srv(t, k).get("mb_s")) for run in runs
                       for t in run["transfers"] if t["workload"] == wl]
                pts = [p for p in pts if p[1] is not None]
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=LABEL[k],
                            color=colors[k])
            ax.set_xscale("log", base=2)
            ax.set_xlabel("concurrent sessions")
            ax.set_ylabel("aggregate MB/s")
            ax.set_title("%s, %s" % (wl, SHORT.get(res["concurrency"]["cipher"], "")))
            ax.grid(alpha=0.3)
            ax.legend()
        save(fig, "concurrency.png")
    ks = ((res.get("bulk") or {}).get("summary") or {}).get("keystroke") or {}
    kinds = [k for k in ("baseline", "sshd", "kernel", "dpdk") if "median_us" in ks.get(k, {})]
    if kinds:
        fig, ax = plt.subplots(figsize=(7, 4))
        qs = [("p50", "median_us"), ("p99", "p99_us"), ("p99.9", "p999_us")]
        w = 0.8 / len(kinds)
        for j, k in enumerate(kinds):
            ax.bar([i + (j - (len(kinds) - 1) / 2) * w for i in range(len(qs))],
                   [ks[k].get(q) or 0 for _, q in qs], w, color=colors[k],
                   label="no SSH (local pty)" if k == "baseline" else LABEL[k])
        ax.set_xticks(range(len(qs)))
        ax.set_xticklabels([q for q, _ in qs])
        ax.set_yscale("log")
        ax.set_ylabel("echo latency, us")
        ax.set_title("Keystroke echo through a PTY")
        ax.grid(axis="y", alpha=0.3)
        ax.legend()
        save(fig, "keystroke.png")
    conns = ((res.get("bulk") or {}).get("summary") or {}).get("connections") or {}
    hs = (res.get("handshakes") or {}).get("results") or []
    bars = [("ssh login\n" + LABEL[k], conns[k]["server_ms_per_conn"], k)
            for k in ("sshd", "kernel", "dpdk") if "server_ms_per_conn" in conns.get(k, {})]
    bars += [("%s\n%s" % (x["method"].split("-")[0], "dsshd-kernel" if x["server"] == "dsshd"
                          else "sshd"), x["server_ms_per_handshake"],
              "kernel" if x["server"] == "dsshd" else "sshd") for x in hs]
    if bars:
        fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(bars)), 4))
        ax.bar(range(len(bars)), [b[1] for b in bars], color=[colors[b[2]] for b in bars])
        ax.set_xticks(range(len(bars)))
        ax.set_xticklabels([b[0] for b in bars], fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("server CPU per connection / handshake, ms")
        ax.set_title("Connections and key exchanges")
        ax.grid(axis="y", alpha=0.3)
        save(fig, "handshakes.png")
    ld = res.get("load") or {}
    if ld.get("throughput") or ld.get("handshakes"):
        load_plot(plt, ld, colors, save)
    cj = (res.get("cipher") or {}).get("results") or {}
    if cj.get("results"):
        fig, ax = plt.subplots(figsize=(8, 4.5))
        series = {}
        for x in cj["results"]:
            if x["burst"] == 32 and x["ok"]:
                series.setdefault((x["engine"], x["mode"]), []).append((x["size"],
                                                                        x["seal_gbps"]))
        for (eng, mode), pts in sorted(series.items()):
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-" if eng == "ipsecmb"
                    else "s--", label="%s %s" % (eng, mode), markersize=4)
        raw = sorted((x["size"], x["gbps"]) for x in cj.get("raw_ipsecmb_aes128_gcm_encrypt", [])
                     if x["burst"] == 32 and x["gbps"] > 0)
        if raw:
            ax.plot([p[0] for p in raw], [p[1] for p in raw], "k:", lw=2,
                    label="raw IPsec-MB aes128-gcm (ceiling)")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("packet size, bytes")
        ax.set_ylabel("seal Gbit/s, one core, burst 32")
        ax.set_title("Cipher engines (dssh-bench-cipher)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        save(fig, "cipher.png")
    return made, None


def load_plot(plt, ld, colors, save):
    """load.png: MB/s against sessions (upload, download) and server CPU per handshake."""
    kinds = (("sshd", "sshd"), ("dsshd", "kernel"))
    fig, axs = plt.subplots(1, 3, figsize=(13, 4))
    for ax, wl in zip(axs[:2], ("upload", "download")):
        for k, c in kinds:
            pts = [(r["sessions"], r["servers"].get(k, {}).get("mb_s"))
                   for r in ld.get("throughput") or [] if r["workload"] == wl]
            pts = [p for p in pts if p[1] is not None]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=colors[c],
                        label=LABEL[c])
        ax.set_xscale("log", base=2)
        ax.set_xlabel("sessions (dssh-load -n N -m N)")
        ax.set_ylabel("aggregate MB/s")
        ax.set_title("dssh-load %s" % wl)
        ax.grid(alpha=0.3)
        ax.legend()
    hs = ld.get("handshakes") or []
    w = 0.4
    for j, (k, c) in enumerate(kinds):
        axs[2].bar([i + (j - 0.5) * w for i in range(len(hs))],
                   [r["servers"].get(k, {}).get("server_ms_per_handshake") or 0 for r in hs],
                   w, color=colors[c], label=LABEL[c])
    axs[2].set_xticks(range(len(hs)))
    axs[2].set_xticklabels([r["method"].split("-")[0] for r in hs], fontsize=8)
    axs[2].set_ylabel("server CPU per handshake, ms")
    axs[2].set_title("dssh-load handshakes")
    axs[2].grid(axis="y", alpha=0.3)
    axs[2].legend()
    save(fig, "load.png")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="a few minutes: 64M, 1 round")
    g.add_argument("--smoke", action="store_true",
                   help="seconds: tiny sizes, the machinery only (the perf-smoke test)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build-rel"),
                    help="meson build dir with dsshd, dssh-bench-cipher, the KAT tools "
                    "(default build-rel: a release build)")
    ap.add_argument("--dsshd", help="dsshd (default BUILD/app/dsshd/dsshd)")
    ap.add_argument("--bench-cipher", help="dssh-bench-cipher (default BUILD/perf/...)")
    ap.add_argument("--mlkem-tool", help="tests/kat/mlkem_tool (default BUILD/tests/kat/...)")
    ap.add_argument("--out", help="results folder (default perf/results/<UTC timestamp>)")
    ap.add_argument("--parts", default=",".join(PARTS),
                    help="comma list of %s (default all)" % ",".join(PARTS))
    ap.add_argument("--backends", default="sshd,kernel,dpdk")
    ap.add_argument("--ciphers", default=",".join(CIPHERS))
    ap.add_argument("--size", help="bytes per bulk transfer (mode's default otherwise)")
    ap.add_argument("--par-size", help="bytes per session in the concurrency part")
    ap.add_argument("--parallel", help="concurrency levels, e.g. 1,2,4,8")
    ap.add_argument("--rounds", type=int, help="rounds of the bulk and concurrency parts")
    ap.add_argument("--user", default="dsshperf",
                    help="test user of the bench_bulk.py runs (default dsshperf: apart from "
                    "bench_bulk.py's own dsshbench, so a hand-run benchmark can't interfere)")
    ap.add_argument("--bulk-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for every bench_bulk.py run (repeatable), "
                    "e.g. --bulk-arg=--mtu=9000")
    ap.add_argument("--dssh-load", help="dssh-load for the load part (default "
                    "BUILD/app/dssh/dssh-load)")
    ap.add_argument("--timeout", type=int, default=7200, help="per part, seconds")
    a = ap.parse_args()

    def on_signal(sig, frame):
        raise KeyboardInterrupt("signal %d" % sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    if os.geteuid() != 0:
        sys.exit("run.py: needs root (network namespace, test user, cgroups)")
    mode = "smoke" if a.smoke else "quick" if a.quick else "full"
    m = MODES[mode]
    a.build = os.path.abspath(a.build)
    a.dsshd = find_tool(a.dsshd, a.build, "app/dsshd/dsshd")
    if not a.dsshd:
        sys.exit("run.py: no dsshd in %s: meson setup build-rel --buildtype=release && "
                 "ninja -C build-rel (or --dsshd)" % a.build)
    a.bench_cipher = find_tool(a.bench_cipher, a.build, "perf/dssh-bench-cipher")
    a.mlkem_tool = find_tool(a.mlkem_tool, a.build, "tests/kat/mlkem_tool")
    a.dssh_load = find_tool(a.dssh_load, a.build, "app/dssh/dssh-load")
    a.ciphers = [c.strip() for c in a.ciphers.split(",") if c.strip()]
    a.parallel = [int(x) for x in a.parallel.split(",")] if a.parallel else None
    parts = [p.strip() for p in a.parts.split(",") if p.strip()]
    for p in parts:
        if p not in PARTS:
            ap.error("unknown part %r (%s)" % (p, ", ".join(PARTS)))
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = os.path.abspath(a.out or os.path.join(HERE, "results", stamp))
    os.makedirs(out, exist_ok=True)

    facts = machine_facts()
    start = uptime()
    log("# dssh perf suite, %s mode, %s; %s, %d CPUs, kernel %s; %s; %s" % (
        mode, stamp, facts["cpu_model"], facts["ncpu"], facts["kernel"], facts["openssh"],
        facts["git"]))
    log("# load at start: %s" % start["uptime"])
    if start["loadavg"][0] > 0.5 * (facts["ncpu"] or 1):
        log("# WARNING: load average %.2f on %d CPUs: other work shares this machine, the "
            "figures will be noisy (ratios hold up better than MB/s)" % (
                start["loadavg"][0], facts["ncpu"]))
    log("# results in %s" % out)
    res = {"schema": SCHEMA, "mode": mode, "started": stamp, "machine": facts,
           "load_start": start, "config": {
               "dsshd": a.dsshd, "bench_cipher": a.bench_cipher, "mlkem_tool": a.mlkem_tool,
               "dssh_load": a.dssh_load,
               "backends": a.backends, "ciphers": a.ciphers, "parts": parts,
               "mode_defaults": m, "size": a.size, "par_size": a.par_size,
               "parallel": a.parallel, "rounds": a.rounds, "bulk_args": a.bulk_arg},
           "load_per_part": {}}
    fns = {"bulk": part_bulk, "concurrency": part_concurrency, "handshakes": part_handshakes,
           "cipher": part_cipher, "memif": part_memif, "load": part_load, "cp": part_cp}
    t0 = time.monotonic()
    for p in PARTS:
        if p not in parts:
            res[p] = {"skipped": "not in --parts"}
            continue
        before = uptime()
        res[p] = fns[p](a, m, out)
        res["load_per_part"][p] = {"before": before, "after": uptime()}
        if "skipped" in res[p]:
            log("## %s: skipped: %s" % (p, res[p]["skipped"]))
    res["load_end"] = uptime()
    res["seconds"] = time.monotonic() - t0
    res["targets"] = targets(res)
    made, note = plots(res, out)
    res["plots"] = made
    if note:
        res["plots_note"] = note
    md = ["# dssh perf suite: %s mode, %s" % (mode, stamp), "",
          "%s, %d CPUs, kernel %s, %s, dsshd %s (git %s). Load at start: %s; at end: %s." % (
              facts["cpu_model"], facts["ncpu"], facts["kernel"], facts["openssh"], a.dsshd,
              facts["git"], " ".join("%.2f" % x for x in start["loadavg"]),
              " ".join("%.2f" % x for x in res["load_end"]["loadavg"]))]
    for title, note_, tb in tables(res):
        md += ["", "## " + title, ""] + ([note_, ""] if note_ else []) + [tb]
    mf = res.get("memif") or {}
    if mf.get("report"):
        md += ["", "## Client on DPDK: dssh over net_memif to dsshd vs ssh to sshd", "",
               mf["report"], "", "Target: %s: %s (%s)" % (
                   mf["target"]["target"],
                   {True: "met", False: "MISSED", None: "n/a"}[mf["target"]["met"]],
                   mf["target"]["measured"])]
    cpr = res.get("cp") or {}
    if cpr.get("report"):
        md += ["", "## dssh-cp over N streams", "", cpr["report"]]
    md += ["", "## Targets (issue 13)", "", targets_table(res["targets"])]
    for p in PARTS:
        r = res.get(p) or {}
        if r.get("skipped") and p in parts:
            md += ["", "%s: skipped: %s" % (p, r["skipped"])]
        if r.get("rc"):
            md += ["", "%s: exit %d, see %s.log" % (p, r["rc"], p)]
    if note:
        md += ["", note]
    report = "\n".join(md) + "\n"
    with open(os.path.join(out, "report.md"), "w") as fh:
        fh.write(report)
    res["report"] = "report.md"
    with open(os.path.join(out, "results.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    log("")
    log(report)
    log("# %s/results.json, report.md, %s (%.0f s)" % (out, ", ".join(made) or "no plots",
                                                     res["seconds"]))
    failed = [p for p in parts if (res.get(p) or {}).get("rc")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
