#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
perf-smoke: runs perf/run.py --smoke (tiny sizes, one round, every part) against the
build's dsshd and checks what it produced, not the numbers: the markdown tables on
stdout and in report.md, results.json with its keys (machine facts, load averages,
every part's summary, the targets), each part's own JSON, and the PNG plots (PNG
signature, IHDR, non-zero size). Needs root (exit 77, skipped, otherwise).

    /usr/bin/python3 perf/test_run_smoke.py --build build-test [--dsshd PATH]
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PNG_SIG = b"\x89PNG\r\n\x1a\n"
PLOTS = ["bulk_mbs.png", "bulk_cpu.png", "bulk_ratio.png", "concurrency.png", "keystroke.png",
         "handshakes.png", "cipher.png", "load.png"]
TABLES = ["## Bulk transfer: dsshd / sshd", "## Connections and handshakes",
          "## Keystroke echo through a PTY", "## Concurrent sessions",
          "## Cipher engines", "## dssh-load: throughput against sessions",
          "## dssh-load: handshakes", "## dssh-cp over N streams", "## Targets (issue 13)"]
CIPHERS = {"aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com",
           "aes256-ctr+hmac-sha2-256-etm@openssh.com"}
WORKLOADS = {"upload", "download", "sftp-put", "sftp-get", "scp-put", "scp-get"}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what)
    return cond


def check_png(path):
    try:
        with open(path, "rb") as f:
            head = f.read(33)
        size = os.path.getsize(path)
    except OSError as e:
        return check(False, "%s: %s" % (path, e))
    ok = check(head[:8] == PNG_SIG, "%s: no PNG signature" % path)
    ok &= check(size > 1000, "%s: only %d bytes" % (path, size))
    if ok and check(head[12:16] == b"IHDR", "%s: no IHDR chunk first" % path):
        w, h = struct.unpack(">II", head[16:24])
        check(w >= 200 and h >= 150, "%s: %dx%d pixels" % (path, w, h))


def check_table(text, title):
    """The title, then a markdown header, separator and at least one row."""
    i = text.find(title)
    if not check(i >= 0, "no table %r" % title):
        return
    lines = [ln for ln in text[i:].splitlines()[1:] if ln.startswith("|")]
    check(len(lines) >= 3 and set(lines[1]) <= set("|-: "),
          "table %r: no header, separator and row" % title)


def check_results(out, doc):
    for k in ("schema", "mode", "started", "machine", "load_start", "load_end",
              "load_per_part", "config", "bulk", "concurrency", "handshakes", "cipher", "load",
              "targets", "plots", "report"):
        check(k in doc, "results.json: no key %r" % k)
    check(doc.get("schema") == "dssh-perf-suite/1" and doc.get("mode") == "smoke",
          "results.json: schema/mode %r/%r" % (doc.get("schema"), doc.get("mode")))
    m = doc.get("machine", {})
    for k in ("cpu_model", "cpu_flags", "ncpu", "kernel", "openssh", "git"):
        check(m.get(k), "results.json machine: no %r" % k)
    check("aes" in m.get("cpu_flags", []) or "sse2" in m.get("cpu_flags", []),
          "machine.cpu_flags is not /proc/cpuinfo's flag list")
    la = doc.get("load_start", {}).get("loadavg")
    check(isinstance(la, list) and len(la) == 3 and all(isinstance(x, float) for x in la),
          "load_start.loadavg: %r" % la)
    check("load average" in doc.get("load_start", {}).get("uptime", ""),
          "load_start.uptime is not uptime's line")
    bulk = doc.get("bulk", {})
    check(bulk.get("rc") == 0, "bulk part: exit %r" % bulk.get("rc"))
    tr = (bulk.get("summary") or {}).get("transfers") or []
    check({t["cipher"] for t in tr} == CIPHERS, "bulk: ciphers %r" % {t["cipher"] for t in tr})
    check({t["workload"] for t in tr} == WORKLOADS,
          "bulk: workloads %r" % {t["workload"] for t in tr})
    for t in tr:
        for k in ("sshd", "kernel", "dpdk"):
            s = t["servers"].get(k, {})
            check("mb_s" in s and "server_cycles_per_byte" in s,
                  "bulk %s %s %s: no figures (%s)" % (t["workload"], t["cipher"], k,
                                                      s.get("error")))
    conns = (bulk.get("summary") or {}).get("connections") or {}
    for k in ("sshd", "kernel", "dpdk"):
        check("server_ms_per_conn" in conns.get(k, {}), "connections %s: %r" % (k, conns.get(k)))
    ks = (bulk.get("summary") or {}).get("keystroke") or {}
    for k in ("baseline", "sshd", "kernel", "dpdk"):
        e = ks.get(k, {})
        check(all(q in e for q in ("median_us", "p99_us", "p999_us")),
              "keystroke %s: %r" % (k, e.get("error", sorted(e))))
    runs = doc.get("concurrency", {}).get("runs") or []
    check([r["parallel"] for r in runs] == [1, 2], "concurrency levels %r" %
          [r.get("parallel") for r in runs])
    for r in runs:
        check(r.get("rc") == 0 and r.get("transfers"), "concurrency %r: no result"
              % r.get("parallel"))
    hs = doc.get("handshakes", {}).get("results") or []
    check({x["server"] for x in hs} == {"dsshd", "sshd"} and
          all("server_ms_per_handshake" in x for x in hs), "handshakes: %r" % hs)
    cj = doc.get("cipher", {}).get("results") or {}
    check(any(x["engine"] == "openssl" for x in cj.get("results", [])),
          "cipher: no openssl engine results")
    check("raw_ipsecmb_aes128_gcm_encrypt" in cj, "cipher: no raw IPsec-MB key")
    ld = doc.get("load") or {}
    check(ld.get("rc") == 0, "load: exit %r (%s)" % (ld.get("rc"), ld.get("skipped", "")))
    tp = ld.get("throughput") or []
    check(sorted({(r["workload"], r["sessions"]) for r in tp}) ==
          [("download", 1), ("download", 2), ("upload", 1), ("upload", 2)],
          "load: throughput points %r" % tp)
    for r in tp:
        for k in ("sshd", "dsshd"):
            e = r["servers"].get(k, {})
            check(e.get("mb_s", 0) > 0 and e.get("server_cycles_per_byte", 0) > 0,
                  "load %s N=%d %s: %r" % (r["workload"], r["sessions"], k, e))
    hs = ld.get("handshakes") or []
    check(len(hs) == 1 and all(hs[0]["servers"].get(k, {}).get("server_ms_per_handshake", 0)
                               > 0 for k in ("sshd", "dsshd")), "load: handshakes %r" % hs)
    tg = doc.get("targets") or []
    check(len(tg) == 5 and all({"target", "measured", "met"} <= set(t) for t in tg),
          "targets: %r" % tg)
    for t in tg:
        check(t["met"] in (True, False), "target %r not evaluated: %s" % (t["target"],
                                                                          t["measured"]))
    mf = doc.get("memif") or {}
    if not mf.get("skipped"):
        # dssh on its own DPDK port over memif to dsshd: figures for every row, the target judged.
        check(mf.get("rc") == 0 and mf.get("transfers") and all(
            "server_cycles_per_byte" in t["servers"][k] for t in mf["transfers"]
            for k in ("dsshd", "sshd")) and (mf.get("target") or {}).get("met") in (True, False),
            "memif part: %r" % {k: mf.get(k) for k in ("rc", "target")})
        # dssh-load over memif (one DPDK port, one thread): 1 and 2 sessions each way.
        lt = mf.get("load_transfers") or []
        check(sorted((t["workload"], t["sessions"]) for t in lt) ==
              [("download", 1), ("download", 2), ("upload", 1), ("upload", 2)] and all(
                  t["server_cycles_per_byte"] > 0 and t["client_cycles_per_byte"] > 0
                  for t in lt), "memif part: dssh-load rows %r" % lt)
    cp = doc.get("cp") or {}
    if not cp.get("skipped"):
        # dssh-cp -n 1 and 2 each way against both servers, figures for every point.
        rows = cp.get("rows") or []
        check(cp.get("rc") == 0 and sorted((r["direction"], r["n"]) for r in rows) ==
              [("download", 1), ("download", 2), ("upload", 1), ("upload", 2)] and all(
                  r["servers"][k].get("mb_s", 0) > 0 for r in rows for k in ("dsshd", "sshd")),
              "cp part: %r" % {k: cp.get(k) for k in ("rc", "rows")})
    check(sorted(doc.get("plots", [])) == sorted(PLOTS), "plots: %r" % doc.get("plots"))
    for name in ("bulk.json", "handshakes.json", "cipher.json", "concurrency-1.json",
                 "concurrency-2.json", "load.json"):
        try:
            with open(os.path.join(out, name)) as f:
                json.load(f)
        except (OSError, ValueError) as e:
            check(False, "%s: %s" % (name, e))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="meson build dir")
    ap.add_argument("--dsshd")
    ap.add_argument("--keep", action="store_true", help="keep the results folder")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("perf-smoke: needs root, skipped")
        return 77
    out = tempfile.mkdtemp(prefix="dssh-perf-smoke-")
    argv = ["/usr/bin/python3", os.path.join(HERE, "run.py"), "--smoke", "--build", a.build,
            "--out", out,
            # Its own /24 (the default is 198.18.40): a benchmark may run beside it.
            "--bulk-arg=--subnet=198.19.40", "--user", "dsshperfsmoke"]
    if a.dsshd:
        argv += ["--dsshd", a.dsshd]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=600)
    sys.stdout.write(p.stdout[-6000:])
    check(p.returncode == 0, "run.py exit %d" % p.returncode)
    for t in TABLES:
        check_table(p.stdout, t)
    try:
        with open(os.path.join(out, "report.md")) as f:
            report = f.read()
        for t in TABLES:
            check_table(report, t)
    except OSError as e:
        check(False, "report.md: %s" % e)
    try:
        with open(os.path.join(out, "results.json")) as f:
            doc = json.load(f)
        check_results(out, doc)
    except (OSError, ValueError) as e:
        check(False, "results.json: %s" % e)
    for name in PLOTS:
        check_png(os.path.join(out, name))
    if failures:
        print("perf-smoke: %d failure(s); results kept in %s" % (len(failures), out))
        return 1
    print("perf-smoke: ok (%s)" % out)
    if not a.keep:
        import shutil
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
