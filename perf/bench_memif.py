#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
The server's cost with no kernel on the path (issue 13): `dssh` on a DPDK port of its
own (its lib/net + lib/tcp, -o DpdkArgs) joined by net_memif to dsshd's data plane,
against OpenSSH's ssh to sshd over loopback, per cipher, upload and download:

    sudo /usr/bin/python3 perf/bench_memif.py --dsshd build-rel/app/dsshd/dsshd \\
        --dssh build-rel/app/dssh/dssh [--size 512M] [--rounds 3] [--json out.json]

  upload    head -c SIZE /dev/zero | CLIENT host 'cat > /dev/null'
  download  CLIENT host 'head -c SIZE /dev/zero' > /dev/null
  --echo N  N one-byte round trips through CLIENT host cat (keystroke latency)

Each dsshd row also gives its data core's wake-ups per MB (timed sleeps and
blocks, from telemetry: memif has no RX interrupt, see docs/architecture.md).

Server CPU is everything the server's cgroup v2 used during a transfer (bench_bulk.py's
CpuAccount: dsshd's data core, control thread and session child; sshd and its
per-connection processes), or /proc utime+stime+cutime+cstime of the server and its
descendants where cgroup v2 is not usable; cycles per byte = CPU seconds x 'cpu MHz'
/ bytes. The client's CPU is not counted (dssh busy-polls its port: one core).

With --load (dssh-load built with DPDK), the same again with dssh-load as the driver:
all its sessions' connections on its one DPDK port, driven by one thread, -n S -m S
-s SIZE/S (S from --load-sessions, 1 and 4 by default), upload and download; the
server's cycles per byte as above, dssh-load's own (its CPU seconds over its run x
MHz / bytes) beside them: the load generator should cost less per byte than the
server it loads.

Placement on a small machine: dsshd's EAL gets -l 0-1 (control thread lcore 0, data
core lcore 1), dssh's gets -l 0 (its polling thread shares CPU 0 with dsshd's control
thread and the session's command). The target: dsshd at most 0.7 cycles/byte with
aes128-gcm; the table marks it met or MISSED for every row.
"""
import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_bulk as bb  # noqa: E402

TARGET_CPB = 0.7
CIPHERS = ["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"]
SHORT = {"aes128-gcm@openssh.com": "aes128-gcm",
         "chacha20-poly1305@openssh.com": "chacha20-poly1305"}
PID = os.getpid()


def log(msg):
    print(msg, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def telemetry(prefix, cmd="/dssh/stats"):
    """One DPDK telemetry command to the EAL instance with file prefix prefix;
    {} when it does not answer (the figures then lack the data core's counters)."""
    path = "/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix
    for i in range(4):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
                s.settimeout(5)
                s.connect(path)
                if not s.recv(16384):
                    raise ConnectionResetError
                s.send(cmd.encode())
                return json.loads(s.recv(1 << 16).decode())[cmd] or {}
        except (OSError, ValueError, KeyError):
            time.sleep(0.1 * (i + 1))
    return {}


SLEEP_KEYS = ("idle_sleeps", "bulk_sleeps", "intr_waits", "sleep_us", "busy_polls",
              "idle_polls")


def banner_ok(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.settimeout(3)
            return s.recv(64).startswith(b"SSH-2.0-")
    except OSError:
        return False


class Srv:
    """One server process in its own cgroup (when cgroup v2 works)."""

    def __init__(self, bench, kind):
        self.b, self.kind = bench, kind
        self.dir = os.path.join(bench.tmp, kind)
        os.makedirs(self.dir)
        self.hostkey = os.path.join(self.dir, "ssh_host_ed25519_key")
        bb.sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.hostkey])
        self.port = free_port()
        self.proc = self.cg = None
        self.log_path = os.path.join(self.dir, "server.log")

    def start(self, argv, ready_s=30):
        if self.b.acct.cgroup:
            self.cg = self.b.acct.child(self.kind)
            argv = bb.cg_enter_argv(self.cg, argv)
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        end = time.time() + ready_s
        while not banner_ok(self.port):
            if self.proc.poll() is not None or time.time() > end:
                raise RuntimeError("%s did not come up: %s" % (self.kind, self.tail()))
            time.sleep(0.1)
        self.resident = self.members()

    def tail(self):
        with contextlib.suppress(OSError):
            with open(self.log_path, errors="replace") as f:
                return " | ".join(f.read().splitlines()[-5:])
        return "(no log)"

    def members(self):
        if self.cg is not None:
            return set(bb.cg_pids(self.cg))
        return set(bb.descendants(self.proc.pid)) | {self.proc.pid}

    def cpu(self):
        if self.cg is not None:
            return bb.cg_usage_s(self.cg)
        total = 0.0
        for p in self.members():
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += bb.proc_cpu(p)
        return total

    def settle(self, timeout=10):
        """Until the connection's processes are gone (back to the resident set)."""
        end = time.time() + timeout
        while self.members() - self.resident and time.time() < end:
            time.sleep(0.01)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if self.cg is not None:
            self.b.acct.remove(self.cg)
            self.cg = None
        self.proc = None


class Bench:
    def __init__(self, a):
        self.a = a
        self.tmp = tempfile.mkdtemp(prefix="dssh-bench-memif-")
        os.chmod(self.tmp, 0o755)
        self.acct = bb.CpuAccount("auto")
        self.servers = {}
        self.sock = "/tmp/dssh-bench-memif-%d.sock" % PID
        self.prefix = "dsshbm%d" % PID
        # 198.18.41.0/24: apart from bench_bulk.py's 198.18.40.0/24.
        self.srv_ip, self.cli_ip = "198.18.41.1", "198.18.41.2/24"
        self.kh = os.path.join(self.tmp, "known_hosts")

    def setup(self):
        bb.USER = self.a.user
        self.key, self.ak, self.pub = bb.setup_user(self.tmp)
        self.acct.setup()

    def teardown(self):
        for s in self.servers.values():
            with contextlib.suppress(Exception):
                s.stop()
        with contextlib.suppress(Exception):
            bb.remove_authorized_key(self.ak, self.pub)
        self.acct.remove_all()
        shutil.rmtree("/var/run/dpdk/" + self.prefix, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_dsshd(self):
        s = Srv(self, "dsshd-memif")
        eal = ("--no-pci --vdev=net_memif0,role=server,socket=%s,id=0 --file-prefix=%s -l 0-1"
               % (self.sock, self.prefix))
        s.start([self.a.dsshd, "-D", "-e", "-f", "/dev/null", "-p", str(s.port),
                 "-o", "HostKey " + s.hostkey, "-o", "UsePAM no", "-o", "PidFile none",
                 "-o", "PasswordAuthentication no", "-o", "AllowUsers " + self.a.user,
                 "-o", "PrintMotd no", "-o", "ListenAddress 127.0.0.1",
                 "-o", "DataPlane dpdk", "-o", "DataAddress %s/24" % self.srv_ip,
                 "-o", 'DpdkArgs "%s"' % eal] + (["-o", "DataMTU %d" % self.a.mtu] if self.a.mtu
                                                 else []) +
                sum((["-o", o] for o in self.a.dsshd_opt), []))
        with open(self.kh, "a") as f:
            f.write("[%s]:%d %s" % (self.srv_ip, s.port, open(s.hostkey + ".pub").read()))
        self.servers["dsshd"] = s

    def start_sshd(self):
        s = Srv(self, "sshd")
        cfg = os.path.join(s.dir, "sshd_config")
        with open(cfg, "w") as f:
            f.write("\n".join([
                "Port %d" % s.port, "ListenAddress 127.0.0.1", "HostKey " + s.hostkey,
                "PidFile none", "UsePAM no", "PubkeyAuthentication yes",
                "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                "AllowUsers " + self.a.user, "UseDNS no", "PrintMotd no", "PrintLastLog no",
                "LogLevel INFO"]) + "\n")
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        s.start([self.a.sshd, "-D", "-e", "-f", cfg])
        with open(self.kh, "a") as f:
            f.write("[127.0.0.1]:%d %s" % (s.port, open(s.hostkey + ".pub").read()))
        self.servers["sshd"] = s

    def client_argv(self, kind, cipher, command):
        common = ["-o", "BatchMode=yes", "-o", "IdentityAgent=none",
                  "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + self.kh,
                  "-o", "HostKeyAlgorithms=ssh-ed25519", "-c", cipher, "-i", self.key,
                  "-p", str(self.servers[kind].port)]
        if kind == "sshd":
            return ["ssh", "-F", "/dev/null", "-o", "IdentitiesOnly=yes"] + common + [
                "%s@127.0.0.1" % self.a.user, command]
        eal = ("%s --no-pci --no-huge -m 256 --vdev=net_memif0,role=client,socket=%s,id=0"
               % (self.a.client_lcores, self.sock))
        mtu = ["-o", "DpdkMTU=%d" % self.a.mtu] if self.a.mtu else []
        return [self.a.dssh, "-o", "DpdkArgs=" + eal, "-o", "DpdkAddress=" + self.cli_ip,
                "-o", "ConnectTimeout=20"] + mtu + common + [
            "%s@%s" % (self.a.user, self.srv_ip), command]

    def load_argv(self, cipher, workload, sessions, size):
        """dssh-load on its DPDK port: S sessions over S connections, SIZE/S each."""
        dssh = self.client_argv("dsshd", cipher, "unused")   # dssh's options, its target
        return [self.a.load] + dssh[1:-2] + [
            "--json", "-v", "-w", workload, "-n", str(sessions), "-m", str(sessions),
            "-s", str(size // sessions), dssh[-2]]

    def transfer(self, kind, cipher, workload, size, sessions=0):
        s = self.servers[kind]
        if sessions:
            argv = self.load_argv(cipher, workload, sessions, size)
            size = size // sessions * sessions
        elif workload == "upload":
            argv = ["/bin/sh", "-c", 'head -c %d /dev/zero | exec "$@"' % size, "sh"] + \
                self.client_argv(kind, cipher, "cat > /dev/null")
        else:
            argv = self.client_argv(kind, cipher, "head -c %d /dev/zero" % size)
        s.settle()
        outf = tempfile.TemporaryFile()
        errf = tempfile.TemporaryFile()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=outf,
                             stderr=subprocess.PIPE if sessions else errf)
        # The clock starts when the server's side of the connection shows
        # (a new process in its cgroup: sshd's per-connection child, dsshd's
        # session): dssh's EAL start-up (about a second) is no transfer time,
        # and the server idling through it no cost of the transfer. dssh-load
        # says (-v) when its logins and session opens are over and its run starts.
        if sessions:
            for line in iter(p.stderr.readline, b""):
                if b"the run starts" in line:
                    break
        while not sessions and not (s.members() - s.resident) and p.poll() is None:
            time.sleep(0.002)
        th0 = bb.thread_cpu(s.proc.pid)
        tel0 = telemetry(self.prefix) if kind == "dsshd" else {}
        c0, t0 = s.cpu(), time.monotonic()
        try:
            if sessions:
                p.stderr = p.communicate(timeout=self.a.timeout)[1]
            else:
                p.wait(timeout=self.a.timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        dt = time.monotonic() - t0
        if sessions and not isinstance(p.stderr, bytes):
            p.stderr = b"(killed: timed out)"
        if not sessions:
            errf.seek(0)
            p.stderr = errf.read()
        s.settle()
        cpu = s.cpu() - c0
        th1 = bb.thread_cpu(s.proc.pid)
        tel1 = telemetry(self.prefix) if kind == "dsshd" else {}
        # Where it went: the server process's threads by name (dsshd: the data
        # core's lcore thread, the control thread, loop threads), the rest
        # (session child, spawner, sshd's per-connection processes) as "other".
        threads = {k: round(v - th0.get(k, 0.0), 3) for k, v in th1.items()
                   if v - th0.get(k, 0.0) > 0}
        threads["other processes"] = round(cpu - sum(threads.values()), 3)
        if p.returncode != 0:
            raise RuntimeError("%s %s %s: exit %d: %s" % (kind, workload, cipher, p.returncode,
                                                         p.stderr.decode()[-600:]))
        r = {"seconds": dt, "server_cpu_s": cpu, "mb_s": size / dt / 1e6,
             "server_cycles_per_byte": cpu * self.mhz * 1e6 / size,
             "server_cpu_by_thread_s": threads}
        if tel0 and tel1:
            # The data core's sleeps and blocks (wake-ups) over the transfer, per MB.
            d = {k: tel1.get(k, 0) - tel0.get(k, 0) for k in SLEEP_KEYS}
            r["dp"] = d
            r["dp_wakeups_per_mb"] = (d["idle_sleeps"] + d["intr_waits"]) / (size / 1e6)
        if sessions:
            # dssh-load's own clock (after its logins) and its own CPU over that run.
            outf.seek(0)
            d = json.loads(outf.read())
            if d["bytes"] != size or d["errors"] or d["dataplane"] != "dpdk":
                raise RuntimeError("dssh-load %s %s: %r" % (workload, cipher, d))
            r.update(load_mb_s=d["mb_s"], client_cpu_s=d["client_cpu_s"],
                     client_cycles_per_byte=d["client_cpu_s"] * self.mhz * 1e6 / size)
        return r

    def echo_rtts(self, kind, cipher, n):
        """n one-byte round trips through `CLIENT host cat` (a keystroke and its
        echo, one at a time, after a 2 ms pause each: the server idles between
        them), microseconds each, after a warm-up of 20."""
        argv = self.client_argv(kind, cipher, "cat")
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, bufsize=0)
        rtts = []
        try:
            for i in range(n + 20):
                time.sleep(0.002)
                t0 = time.monotonic()
                p.stdin.write(b"k")
                if p.stdout.read(1) != b"k":
                    raise RuntimeError("%s echo: no echo" % kind)
                if i >= 20:
                    rtts.append((time.monotonic() - t0) * 1e6)
        finally:
            p.stdin.close()
            p.wait(timeout=30)
        return sorted(rtts)

    def idle_cpu_per_s(self, kind, seconds=1.0):
        """The server's CPU while nothing happens (adaptive polling), per second."""
        s = self.servers[kind]
        c0, t0 = s.cpu(), time.monotonic()
        time.sleep(seconds)
        return (s.cpu() - c0) / (time.monotonic() - t0)


def med(vals):
    v = sorted(vals)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def table(header, rows):
    w = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).rjust(n) if i > 1 else str(c).ljust(n)
                                           for i, (c, n) in enumerate(zip(cells, w))) + " |"
    return "\n".join([line(header), "|" + "|".join("-" * (n + 2) for n in w) + "|"] +
                     [line(r) for r in rows])


def report(rows, idle, mhz, note):
    out = []
    for r in rows:
        d, s = r["servers"]["dsshd"], r["servers"]["sshd"]
        met = "met" if d["server_cycles_per_byte"] <= TARGET_CPB else "MISSED"
        out.append([r["workload"], SHORT[r["cipher"]], "%.0f" % d["mb_s"], "%.0f" % s["mb_s"],
                    "%.2fx" % (d["mb_s"] / s["mb_s"]), "%.2f" % d["server_cycles_per_byte"],
                    "%.2f" % s["server_cycles_per_byte"],
                    "%.2fx" % (d["server_cycles_per_byte"] / s["server_cycles_per_byte"]),
                    met if r["cipher"].startswith("aes128-gcm") else "(%s)" % met])
    txt = table(["workload", "cipher", "dssh->dsshd memif MB/s", "ssh->sshd lo MB/s",
                 "MB/s ratio", "dsshd c/B", "sshd c/B", "c/B ratio",
                 "target <= %.1f c/B" % TARGET_CPB], out)
    wk = ["%s %s %.1f" % (r["workload"], SHORT[r["cipher"]],
                          r["servers"]["dsshd"]["dp_wakeups_per_mb"])
          for r in rows if "dp_wakeups_per_mb" in r["servers"]["dsshd"]]
    if wk:
        txt += ("\n\ndsshd's data core: wake-ups (timed sleeps and blocks, telemetry) per "
                "MB, medians: " + ", ".join(wk) + ".")
    txt += ("\n\nServer cycles/byte: server CPU (cgroup or /proc) x %.0f MHz / bytes. Idle "
            "server CPU (per second of wall time, counted in the figures above for the "
            "transfer's duration): dsshd %.3f, sshd %.3f. %s" % (
                mhz, idle.get("dsshd", 0), idle.get("sshd", 0), note))
    return txt


def load_report(rows, mhz):
    out = [[r["workload"], SHORT[r["cipher"]], str(r["sessions"]),
            "%.0f" % r["load_mb_s"], "%.2f" % r["server_cycles_per_byte"],
            "%.2f" % r["client_cycles_per_byte"],
            "%.2fx" % (r["client_cycles_per_byte"] / r["server_cycles_per_byte"])]
           for r in rows]
    return table(["workload", "cipher", "sessions", "dssh-load MB/s", "dsshd c/B",
                  "dssh-load c/B", "load/server c/B"], out) + (
        "\n\ndssh-load over net_memif to dsshd: S sessions on S connections of its one "
        "DPDK port, one polling thread. dssh-load MB/s on its own clock (after its logins); "
        "dssh-load c/B: its CPU over that run x %.0f MHz / bytes (it busy-polls: about one "
        "core for the run's wall time)." % mhz)


def load_rows(b, ciphers, wls, size, log_row):
    rows = []
    for c in ciphers:
        for wl in wls:
            for n in b.a.load_sessions:
                v = []
                for rnd in range(b.a.rounds):
                    r = b.transfer("dsshd", c, wl, size, sessions=n)
                    v.append(r)
                    log_row("dssh-load", wl, c, rnd, r, " x%d: load %.2f c/B" % (
                        n, r["client_cycles_per_byte"]))
                rows.append(dict({m: med([x[m] for x in v]) for m in v[0]
                                  if m not in ("server_cpu_by_thread_s", "dp") and
                                  all(m in x for x in v)},
                                 workload=wl, cipher=c, sessions=n, size=size))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsshd", required=True)
    ap.add_argument("--dssh", required=True)
    ap.add_argument("--sshd", default="/usr/sbin/sshd")
    ap.add_argument("--size", default="512M")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ciphers", default=",".join(CIPHERS))
    ap.add_argument("--workloads", default="upload,download")
    ap.add_argument("--user", default="dsshbench")
    ap.add_argument("--dsshd-opt", action="append", default=[],
                    help="extra -o for dsshd (e.g. 'DataPoll busy'), repeatable")
    ap.add_argument("--client-lcores", default="-l 0",
                    help="dssh's EAL lcore option (default '-l 0'; e.g. '--lcores=0@(0,1)' "
                    "lets its polling thread run on either CPU)")
    ap.add_argument("--mtu", type=int, default=0,
                    help="DataMTU of dsshd and DpdkMTU of dssh (default 1500)")
    ap.add_argument("--load", help="dssh-load (built with DPDK): its rows too")
    ap.add_argument("--load-sessions", default="1,4",
                    help="dssh-load's session counts (default 1,4)")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--echo", type=int, default=0, metavar="N",
                    help="N one-byte round trips through `CLIENT host cat` (keystroke "
                    "latency) against each server first, median and p90 in us")
    ap.add_argument("--json")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_memif.py: needs root (EAL, test user, cgroups)")
    size = bb.parse_size(a.size)
    a.load_sessions = [int(x) for x in a.load_sessions.split(",") if x]
    ciphers = [c for c in a.ciphers.split(",") if c]
    wls = [w for w in a.workloads.split(",") if w]
    b = Bench(a)
    b.mhz = bb.cpu_info()["mhz"]

    def on_signal(sig, frame):
        raise KeyboardInterrupt("signal %d" % sig)
    signal.signal(signal.SIGTERM, on_signal)
    rows, idle, lrows, echo = [], {}, [], {}

    def log_row(k, wl, c, rnd, r, extra=""):
        if "dp" in r:
            extra += "; data core: %.1f wake-ups/MB (%d sleeps, %d a transfer's, %d blocks)" % (
                r["dp_wakeups_per_mb"], r["dp"]["idle_sleeps"], r["dp"]["bulk_sleeps"],
                r["dp"]["intr_waits"])
        log("%s %s %s round %d: %.0f MB/s, server %.3f s CPU, %.2f c/B%s (%s)" % (
            k, wl, SHORT[c], rnd + 1, r["mb_s"], r["server_cpu_s"],
            r["server_cycles_per_byte"], extra, ", ".join(
                "%s %.3f" % kv for kv in sorted(r["server_cpu_by_thread_s"].items()))))
    try:
        b.setup()
        b.start_dsshd()
        b.start_sshd()
        log("# dsshd (memif) on port %d, sshd on 127.0.0.1:%d; CPU: %s; %.0f MHz" % (
            b.servers["dsshd"].port, b.servers["sshd"].port, b.acct.describe(), b.mhz))
        # One small transfer each first: the memif link and ARP come up, caches warm.
        for k in ("dsshd", "sshd"):
            b.transfer(k, ciphers[0], "download", 1 << 20)
        for k in ("dsshd", "sshd"):
            idle[k] = b.idle_cpu_per_s(k)
        if "dsshd" in idle:
            t0 = telemetry(b.prefix)
            time.sleep(1.0)
            t1 = telemetry(b.prefix)
            if t0 and t1:
                log("# idle dsshd: %.3f CPU-s/s, data core %d sleeps/s (%d a transfer's)" % (
                    idle["dsshd"], t1.get("idle_sleeps", 0) - t0.get("idle_sleeps", 0),
                    t1.get("bulk_sleeps", 0) - t0.get("bulk_sleeps", 0)))
        for k in ("dsshd", "sshd") if a.echo else ():
            v = b.echo_rtts(k, ciphers[0], a.echo)
            echo[k] = {"median_us": med(v), "p90_us": v[len(v) * 9 // 10], "n": len(v)}
            log("# %s keystroke echo (1 byte through cat, %d round trips): median %.0f us, "
                "p90 %.0f us" % (k, len(v), echo[k]["median_us"], echo[k]["p90_us"]))
        for c in ciphers:
            for wl in wls:
                samples = {"dsshd": [], "sshd": []}
                for rnd in range(a.rounds):
                    for k in ("dsshd", "sshd"):
                        r = b.transfer(k, c, wl, size)
                        samples[k].append(r)
                        log_row(k, wl, c, rnd, r)
                rows.append({"workload": wl, "cipher": c, "size": size, "servers": {
                    k: dict({m: med([x[m] for x in v]) for m in v[0]
                             if m not in ("server_cpu_by_thread_s", "dp") and
                             all(m in x for x in v)},
                            rounds=v) for k, v in samples.items()}})
        if a.load:
            lrows = load_rows(b, ciphers, wls, size, log_row)
    finally:
        b.teardown()
    note = "CPU accounting: %s." % b.acct.describe()
    txt = report(rows, idle, b.mhz, note)
    if lrows:
        txt += "\n\n" + load_report(lrows, b.mhz)
    log("")
    log(txt)
    aes = [r["servers"]["dsshd"]["server_cycles_per_byte"] for r in rows
           if r["cipher"].startswith("aes128-gcm")]
    target = {"target": "dsshd over memif <= %.1f cycles/byte with aes128-gcm" % TARGET_CPB,
              "measured": ", ".join("%.2f" % x for x in aes) or "no data",
              "met": all(x <= TARGET_CPB for x in aes) if aes else None}
    log("\ntarget: %s: %s (%s)" % (target["target"],
                                  {True: "met", False: "MISSED", None: "n/a"}[target["met"]],
                                  target["measured"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"size": size, "rounds": a.rounds, "mhz": b.mhz, "idle_cpu_per_s": idle,
                       "cpu_method": b.acct.describe(), "transfers": rows, "target": target,
                       "echo": echo,
                       "load_transfers": lrows,
                       "report": txt}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
