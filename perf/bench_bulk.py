#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Side-by-side SSH bulk-transfer benchmark: OpenSSH's sshd (the peer), dsshd on
kernel sockets and dsshd on its DPDK data plane, all driven by the same
OpenSSH `ssh` client in the same run, rounds interleaved (A B C A B C ...),
medians reported.

    sudo /usr/bin/python3 perf/bench_bulk.py                 # 1G, 3 rounds, all backends
    sudo /usr/bin/python3 perf/bench_bulk.py --quick         # 256M, 1 round
    sudo /usr/bin/python3 perf/bench_bulk.py --backends sshd,kernel --json out.json
    sudo /usr/bin/python3 perf/bench_bulk.py --workloads files --size 64M --rounds 1
    sudo /usr/bin/python3 perf/bench_bulk.py --workloads upload,sftp-put --rtt-ms 50
    sudo /usr/bin/python3 perf/bench_bulk.py --backends sshd,kernel --parallel 4

Set-up (all torn down at the end, also on failure or Ctrl-C):
  - a network namespace dsshbench-<pid> holding the client, joined to the host
    by a veth pair vb<pid> (host) / vn<pid> (namespace), addresses in
    198.18.0.0/15 only (host 198.18.40.1/24, namespace 198.18.40.2/24);
    IPv6 is off on both ends and the host end does not forward, so nothing
    leaves this /24;
  - a test user `dsshbench` (--user; created if missing) whose authorized_keys
    gets a fresh ed25519 client key of this run (added under a lock, removed at
    the end: runs at the same time keep each other's keys);
  - with file workloads, two tmpfs mounts in the run's temp dir (2 x N x
    SIZE + 64 MiB each at most, N from --parallel; see Workloads; the run
    refuses to start when 3 x N x SIZE exceeds MemAvailable);
  - with cgroup v2 usable, a cgroup dsshbench-<pid> with one child per
    server (see Server CPU);
  - each server in turn, on a free port:
      sshd          /usr/sbin/sshd -D -e -f <generated config> (UsePAM no)
      dsshd-kernel  dsshd -D -e -f /dev/null -p PORT -o 'ListenAddress 198.18.40.1' ...
      dsshd-dpdk    dsshd ... -o 'DataPlane dpdk' -o 'DataAddress 198.18.40.1/24'
                    -o 'DpdkArgs "--no-pci --vdev=net_af_packet0,iface=vb<pid> ..."'
                    with the kernel listener on 127.0.0.1; the host veth has no
                    kernel address then (DPDK owns it through af_packet) and the
                    namespace end has checksum/TSO/GSO offloads off, since
                    af_packet hands DPDK frames as the kernel has them.
    --dpdk-poll adaptive|busy adds -o 'DataPoll ...' (dsshd's default:
                    adaptive, the data core sleeps up to 250 us between empty
                    polls; busy: never sleeps).
    sftp: sshd runs `Subsystem sftp /usr/lib/openssh/sftp-server`; both
                    dsshd get -o 'Subsystem sftp CMD', CMD from --dsshd-sftp
                    (default internal-sftp). A dsshd that fails to start with
                    it, or (with file workloads) to serve a 1 MiB sftp put and
                    get, is restarted once with /usr/lib/openssh/sftp-server,
                    and the report's notes say so.
    A backend that does not come up, or whose ssh check fails, is reported as
    "not available: <reason>" and the run goes on.

Workloads, per cipher (KexAlgorithms from --kex, default curve25519-sha256;
--kex sntrup761x25519-sha512@openssh.com etc. compares handshakes by KEX):
  upload    head -c SIZE /dev/zero | ssh -c C host 'cat > /dev/null'
  download  ssh -c C host 'head -c SIZE /dev/zero' > /dev/null
  sftp-put  echo 'put CLI/src.bin SRV/put-src.bin' | sftp -b - -c C host
  sftp-get  echo 'get SRV/src.bin CLI/get-src.bin' | sftp -b - -c C host
  scp-put   scp -c C CLI/src.bin host:SRV/put-src.bin   (scp's default SFTP mode)
  scp-get   scp -c C host:SRV/src.bin CLI/get-src.bin
            CLI and SRV are two tmpfs mounted in the run's temp dir (the
            client's `ip netns exec` sees the host's mounts), SRV owned by the
            test user, each holding the same random SIZE-byte src.bin. After
            each transfer (outside the timing) the destination is checked:
            size and sha256 (whole file up to 256 MiB, else the first and last
            MiB); a short or different file is a failed transfer, never a
            figure. --workloads files = these four, streams = upload,download.
  fwd-up    head -c SIZE /dev/zero | ssh -c C -W 127.0.0.1:SINK host
  fwd-down  ssh -c C -W 127.0.0.1:SOURCE host < /dev/null | wc -c
            a direct-tcpip channel (what -L and -D open) to a sink that
            reads to EOF, or a source that sends SIZE bytes, both on the
            server host's loopback in this script; the bytes are counted
            at the far end (the sink's count, wc's), a short count is a
            failed transfer.
  fwd-dp-up, fwd-dp-down
            the same to a sink / source in the client's namespace on its
            own address (198.18.40.2): reached by sshd and dsshd-kernel
            through the host's kernel over the veth, by dsshd-dpdk's data
            core with its own TCP (the target is on DataAddress's subnet
            and not a host address: the core connects and relays it).
  socks     connections per second through ssh -D: one `ssh -N -D PORT host`
            per server and round, and --socks-parallel (16) threads of a
            SOCKS5 client in the client namespace, each in a loop: connect
            to the -D port, CONNECT to 127.0.0.1:REPLY (a server on the
            server host's loopback that reads a 100-byte request and
            answers 1000 bytes), send the request, read the whole reply,
            close; --socks-conns (2000) such connections after 50 not
            counted (warm-up, and the proof that -D is up). Reported:
            conn/s, the server's CPU per connection (its cgroup over the
            measured connections) and ratios vs sshd; a short or wrong
            reply fails the measurement.
            --workloads fwd = fwd-up, fwd-down and socks.
  --parallel N (default 1): each of the six workloads above runs N
            identical sessions at once, each its own client process(es)
            (ssh, or head | ssh, or sftp/scp) started back to back, and for
            the file workloads its own source and destination (src-I.bin,
            put-src-I.bin / get-src-I.bin, I = 0..N-1; each source its own
            random bytes), each destination checked against its own source;
            one failed session fails the measurement. Reported: the
            aggregate MB/s (N x SIZE / 1e6 / wall time from the first start
            to the last end), the server's CPU over all of them per byte,
            the clients' CPU summed, each session's own MB/s (min, median,
            max) in the detail table; workloads shown as "upload xN". The
            timeout grows to 60 s + N x SIZE / 2 MB/s. connect and keystroke
            are not affected. With --rtt-ms, the reference ceiling is N x
            2 MiB per RTT (one sshd window per channel).
  driver    --driver-cmd TEMPLATE: a client of our own (dssh-load, dssh-cp) run in
            the client namespace, {host} {port} {user} {key} {cipher} {mac} {kex}
            {size} filled in; it must move SIZE bytes and exit 0 (its exit status
            is the only check). perf/run.py's load part.
  CIPHER+MAC in --ciphers (e.g. aes256-ctr+hmac-sha2-256-etm@openssh.com) gives
            the clients -c CIPHER -o MACs=MAC.
  connect   N sequential `ssh host true`
  keystroke one `ssh -tt -e none -c C host 'stty raw -echo && printf KSREADY &&
            exec dd bs=1 count=W+N'` per server and round (first cipher only),
            ssh's stdin/stdout the slave of a pty this script opens (raw mode);
            after the KSREADY marker, one byte every --key-interval ms (10) is
            written to the pty master and the time until that byte is read back
            from it is measured; W (--key-warmup, 20) warm-up keys are dropped,
            N (--keys, 500) kept. The remote dd reads and writes one byte at a
            time and exits after the last key, so the session ends in-band (exit
            status 0). A no-SSH baseline runs the same command directly on a
            local pty (as the test user) once per round, before the servers.
            Reported: median and p99 over all rounds' keys pooled, in
            microseconds; ratios vs sshd; the server's CPU over the session.

Measured per transfer (all N sessions of it with --parallel N): wall time
(MB/s = bytes / 1e6 / s); the server's CPU before and after; the client's CPU
(wait4 rusage of ssh, or of sftp/scp with the ssh they ran and reaped; summed
over the sessions); whole-machine busy cores from /proc/stat.

Server CPU (--cpu-method, the report says which was used):
  cgroup  (auto's choice where cgroup v2 works) each server runs in a cgroup
          v2 of its own, <cgroup2 mount>/<our cgroup>/dsshbench-PID/<server>
          (the mount is /sys/fs/cgroup on a unified host, e.g.
          /sys/fs/cgroup/unified on a hybrid one), entered by a shell that
          then execs the server, so it is there before it forks anything;
          the CPU is cpu.stat usage_usec. That counts every process the server
          creates however it is forked and whoever reaps it: sshd's
          per-connection processes, dsshd's workers, a spawner process and the
          sessions it forks, sftp-server children, the DPDK data core thread.
          The cgroups are removed when each server stops (cgroup.kill first)
          and at the end.
  proc    the fallback where cgroup v2 is not usable (probed at start: a
          short busy shell moved into a child cgroup must be charged there):
          /proc/PID/stat utime+stime+cutime+cstime of the server plus that of
          each live descendant (with the children each reaped, e.g. a
          spawner's sessions), plus orphans: this process is a child
          subreaper, so a server descendant orphaned before its parent reaps
          it comes back to us and its rusage is added (reported as "orphans";
          orphans in our own session are the client's and are not counted).
Before each measurement the server must be idle: only its resident processes
left (those it keeps between connections, e.g. a spawner: the set present
once it stayed unchanged for 0.5 s after the start-up checks).

High latency (--rtt-ms N): dsshd-dpdk gets -o 'DataImpair "delay=N/2"' (in
us; the stage impairs RX and TX, so the round trip gains N ms), no loss, and
the client namespace's net.ipv4.tcp_rmem/tcp_wmem go to 4096 131072 64 MiB
so the client's TCP is not the cap. Nothing delays kernel sockets here (no
sch_netem in this kernel; checked with tc and reported), so sshd and
dsshd-kernel are not run; their reference is the ceiling sshd's 2 MiB session
channel window puts on one channel, 2 MiB per RTT, and each dsshd-dpdk figure
(sftp-put called out) is printed as a multiple of it, with the KiB in flight
per RTT it implies.

Needs root, iproute2, OpenSSH client (ssh, sftp, scp) and server
(sshd, sftp-server). Stdlib only.
"""
import argparse
import contextlib
import ctypes
import json
import os
import platform
import pwd
import re
import select
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tty

PID = os.getpid()
CLK_TCK = os.sysconf("SC_CLK_TCK")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DSSHD = os.path.join(ROOT, "build-rel", "app", "dsshd", "dsshd")
USER = "dsshbench"
SSH = "/usr/bin/ssh"
SFTP = "/usr/bin/sftp"
SCP = "/usr/bin/scp"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
GIB = 1 << 30
MIB = 1 << 20
FULL_HASH_MAX = 256 * MIB       # files up to this size get a full sha256
SSHD_WINDOW = 2 * MIB           # OpenSSH's session channel window (CHAN_SES_WINDOW_DEFAULT)

ALL_BACKENDS = ("sshd", "kernel", "dpdk")
LABEL = {"sshd": "sshd", "kernel": "dsshd-kernel", "dpdk": "dsshd-dpdk"}

STREAM_WORKLOADS = ("upload", "download")
FILE_WORKLOADS = ("sftp-put", "sftp-get", "scp-put", "scp-get")
# ssh -W 127.0.0.1:PORT: a direct-tcpip channel (what -L and -D open) to a
# sink (fwd-up) or a source (fwd-down) on the server host's loopback.
# fwd-dp-*: the same ends in the client's namespace (the data plane's
# network for dsshd-dpdk, whose data core connects them itself).
FWD_WORKLOADS = ("fwd-up", "fwd-down", "fwd-dp-up", "fwd-dp-down")
# A client of our own (e.g. dssh-load, dssh-cp) from --driver-cmd: it must move
# SIZE bytes and exit 0; its exit status is the only check.
DRIVER_WORKLOADS = ("driver",)
TRANSFER_WORKLOADS = STREAM_WORKLOADS + FILE_WORKLOADS + FWD_WORKLOADS + DRIVER_WORKLOADS
ALL_WORKLOADS = TRANSFER_WORKLOADS + ("keystroke", "socks")
WORKLOAD_GROUPS = {"files": FILE_WORKLOADS, "streams": STREAM_WORKLOADS,
                   "fwd": FWD_WORKLOADS + ("socks",),
                   "all": tuple(w for w in ALL_WORKLOADS if w not in DRIVER_WORKLOADS)}
SOCKS_REQ = 100         # socks: the request's bytes (the last a newline)
SOCKS_REPLY = 1000      # and the reply's

# The socks workload's client, run in the client namespace: argv socks-port
# target-port count threads; prints JSON {n, errors, first_error, wall_s}.
SOCKS_CLIENT = r'''
import json, socket, struct, sys, threading, time
sp, tp, count, par = (int(x) for x in sys.argv[1:5])
req, want = b"q" * 99 + b"\n", 1000
lock = threading.Lock()
st = {"left": count, "n": 0, "errors": 0, "first_error": None}
def one():
    with socket.create_connection(("127.0.0.1", sp), timeout=20) as s:
        s.sendall(b"\x05\x01\x00")
        if s.recv(2) != b"\x05\x00":
            raise OSError("SOCKS5 greeting refused")
        s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", tp))
        r = b""
        while len(r) < 10:
            d = s.recv(10 - len(r))
            if not d:
                raise OSError("SOCKS5 CONNECT: connection ended")
            r += d
        if r[1] != 0:
            raise OSError("SOCKS5 CONNECT failed: %d" % r[1])
        s.sendall(req)
        n = 0
        while True:
            d = s.recv(65536)
            if not d:
                break
            n += len(d)
        if n != want:
            raise OSError("reply of %d bytes, not %d" % (n, want))
def worker():
    while True:
        with lock:
            if st["left"] == 0:
                return
            st["left"] -= 1
        try:
            one()
            with lock:
                st["n"] += 1
        except OSError as e:
            with lock:
                st["errors"] += 1
                st["first_error"] = st["first_error"] or str(e)
deadline = time.time() + 20
while True:
    try:
        socket.create_connection(("127.0.0.1", sp), timeout=2).close()
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.05)
t0 = time.monotonic()
th = [threading.Thread(target=worker) for _ in range(par)]
for t in th:
    t.start()
for t in th:
    t.join()
st["wall_s"] = time.monotonic() - t0
print(json.dumps(st))
'''
KEY_READY = b"KSREADY"


def keystroke_cmd(count):
    """The session command of the keystroke workload: the pty in raw mode
    without echo, a ready marker, then dd echoing exactly `count` bytes one
    at a time (cat would never exit; head buffers its stdout)."""
    return "stty raw -echo && printf %s && exec dd bs=1 count=%d 2>/dev/null" % (
        KEY_READY.decode(), count)


def pctl(vals, q):
    """Nearest-rank percentile q (0-100) of vals."""
    v = sorted(vals)
    if not v:
        return None
    k = max(0, min(len(v) - 1, int(-(-q * len(v) // 100)) - 1))
    return v[k]


CIPHER_SHORT = {
    "aes128-gcm@openssh.com": "aes128-gcm",
    "aes256-gcm@openssh.com": "aes256-gcm",
    "chacha20-poly1305@openssh.com": "chacha20-poly1305",
    "aes256-ctr+hmac-sha2-256-etm@openssh.com": "aes256-ctr+hmac-sha2-256-etm",
    "aes128-ctr+hmac-sha2-256-etm@openssh.com": "aes128-ctr+hmac-sha2-256-etm",
}


def log(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


class Unavailable(Exception):
    pass


def sh(argv, check=True, timeout=60, input=None):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), p.returncode, p.stdout.strip()))
    return p


def parse_size(s):
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(i?B)?\s*", s, re.I)
    if not m:
        raise argparse.ArgumentTypeError("bad size %r (e.g. 1G, 256M, 1048576)" % s)
    return int(m.group(1)) << (10 * " KMGT".index(m.group(2).upper() or " "))


def fmt_size(n):
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return "%d%s" % (n >> shift, unit)
    return str(n)


# ---------------------------------------------------------------- /proc

def read_stat(pid):
    """Fields after the command name of /proc/PID/stat (field N at [N-3])."""
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()


def all_procs():
    """pid -> (ppid, state, starttime) for every process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = read_stat(int(d))
        except (OSError, ValueError):
            continue
        out[int(d)] = (int(st[1]), st[0], st[19])
    return out


def descendants(root, procs=None):
    procs = procs if procs is not None else all_procs()
    kids = {}
    for p, (pp, _, _) in procs.items():
        kids.setdefault(pp, []).append(p)
    out, todo = [], [root]
    while todo:
        for k in kids.get(todo.pop(), ()):
            out.append(k)
            todo.append(k)
    return out


def proc_cpu(pid):
    """utime+stime+cutime+cstime of a process, seconds."""
    st = read_stat(pid)
    return sum(int(x) for x in st[11:15]) / CLK_TCK


def add_server_deltas(r, srv, dp0, threads0):
    """Data-plane counter and per-thread CPU changes since dp0/threads0 (None: not taken)."""
    if dp0 is not None:
        dp1 = srv.dp_stats()
        r["dataplane_stats_delta"] = {k: v - dp0.get(k, 0) for k, v in dp1.items()
                                      if v != dp0.get(k, 0)}
    if threads0 is not None:
        t1 = thread_cpu(srv.proc.pid)
        r["server_threads_cpu_s"] = {k: round(v - threads0.get(k, 0.0), 3)
                                     for k, v in t1.items() if v - threads0.get(k, 0.0) > 0}


def thread_cpu(pid):
    """thread name -> utime+stime seconds, summed over threads of that name."""
    out = {}
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                s = f.read()
        except OSError:
            continue
        name = s[s.index("(") + 1:s.rindex(")")]
        st = s[s.rindex(")") + 2:].split()
        out[name] = out.get(name, 0.0) + (int(st[11]) + int(st[12])) / CLK_TCK
    return out


def machine_jiffies():
    """(busy, total) jiffies over all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq = v[:7]
    steal = v[7] if len(v) > 7 else 0
    return user + nice + system + irq + softirq, user + nice + system + idle + iowait + irq + softirq + steal


def mem_available():
    """MemAvailable of /proc/meminfo in bytes, None when unknown."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) << 10
    return None


def cpu_info():
    info = {"model": "?", "mhz": None, "flags": [], "ncpu": os.cpu_count()}
    with open("/proc/cpuinfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            k, v = k.strip(), v.strip()
            if k == "model name" and info["model"] == "?":
                info["model"] = v
            elif k == "cpu MHz" and info["mhz"] is None:
                info["mhz"] = float(v)
            elif k == "flags" and not info["flags"]:
                info["flags"] = [x for x in v.split()
                                 if x in ("constant_tsc", "nonstop_tsc", "tsc_known_freq")]
    return info


def fcntl_winsize(fd, rows=24, cols=80):
    import fcntl
    import struct
    import termios
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def set_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(36, 1, 0, 0, 0) == 0      # PR_SET_CHILD_SUBREAPER


# ---------------------------------------------------------------- cgroup v2

CG_PROBE_LOOP = "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done"


def cgroup2_mount():
    """Mount point of the cgroup v2 hierarchy: /sys/fs/cgroup when it is
    cgroup2 (unified), else any cgroup2 mount (hybrid: /sys/fs/cgroup/unified)."""
    found = []
    with open("/proc/self/mounts") as fm:
        for line in fm:
            parts = line.split()
            if len(parts) > 2 and parts[2] == "cgroup2":
                found.append(parts[1].replace("\\040", " "))
    if "/sys/fs/cgroup" in found:
        return "/sys/fs/cgroup"
    return found[0] if found else None


def cg_enter_argv(cg, argv):
    """argv run inside cgroup cg from its first instruction: a shell moves
    itself into the cgroup, then execs argv under the same pid, so whatever
    the server forks (workers, a spawner, session commands) starts there."""
    return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"',
            os.path.join(cg, "cgroup.procs")] + list(argv)


def cg_usage_s(cg):
    """CPU seconds every process of the cgroup used while in it (cpu.stat
    usage_usec: charged as it runs, whether or not the process was reaped)."""
    with open(os.path.join(cg, "cpu.stat")) as fs:
        for line in fs:
            k, _, v = line.partition(" ")
            if k == "usage_usec":
                return int(v) / 1e6
    raise RuntimeError("%s/cpu.stat has no usage_usec" % cg)


def cg_pids(cg):
    try:
        with open(os.path.join(cg, "cgroup.procs")) as fp:
            return [int(x) for x in fp.read().split()]
    except (OSError, ValueError):
        return []


def cg_empty(cg, timeout):
    end = time.time() + timeout
    while cg_pids(cg):
        if time.time() > end:
            return False
        time.sleep(0.02)
    return True


def cg_kill(cg):
    """Kills every process of the cgroup (cgroup.kill, else one by one:
    membership of the cgroup is what makes a pid ours here)."""
    if not cg_pids(cg):
        return
    kf = os.path.join(cg, "cgroup.kill")
    if os.path.exists(kf):
        with contextlib.suppress(OSError):
            with open(kf, "w") as fk:
                fk.write("1")
            return
    for p in cg_pids(cg):
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


class CpuAccount:
    """How server CPU is measured: a cgroup v2 per server (every process the
    server creates, however it was forked and whoever reaps it), or, where
    cgroup v2 is not usable, /proc utime+stime+cutime+cstime of the server
    and its live descendants plus orphans reaped by us as subreaper."""

    def __init__(self, want):
        self.want = want            # auto, cgroup, proc
        self.base = None            # the bench cgroup, when cgroup v2 is used
        self.why = None             # why not
        self.children = []
        self.used = None            # the bench cgroup's path, kept for the report

    @property
    def cgroup(self):
        return self.base is not None

    def describe(self):
        if self.used:
            return "cgroup v2 (%s/<server>, cpu.stat usage_usec)" % self.used
        return "/proc utime+stime+cutime+cstime of the server and its descendants, " \
            "orphans reaped as subreaper (%s)" % self.why

    def setup(self):
        if self.want == "proc":
            self.why = "--cpu-method proc"
            return
        try:
            self.base = self.used = self.probe()
        except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as e:
            self.base = None
            self.why = "cgroup v2 not usable: %s" % e
            if self.want == "cgroup":
                raise RuntimeError(self.why)

    def probe(self):
        mnt = cgroup2_mount()
        if mnt is None:
            raise RuntimeError("no cgroup2 mount in /proc/self/mounts")
        own = "/"
        with open("/proc/self/cgroup") as fc:
            for line in fc:
                if line.startswith("0::"):
                    own = line[3:].strip() or "/"
        parent = os.path.join(mnt, own.lstrip("/"))
        if not os.path.isdir(parent):
            parent = mnt
        base = os.path.join(parent, "dsshbench-%d" % PID)
        os.mkdir(base)
        self.base = base
        # A short busy shell in a child: the move works and its CPU is charged there.
        probe = self.child("probe")
        p = subprocess.run(cg_enter_argv(probe, ["/bin/sh", "-c", CG_PROBE_LOOP +
                                                 "; cat /proc/self/cgroup"]),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=30)
        want = "/dsshbench-%d/probe" % PID
        if p.returncode != 0 or not any(ln.startswith("0::") and ln.rstrip().endswith(want)
                                        for ln in p.stdout.splitlines()):
            self.remove_all()
            raise RuntimeError("moving a process into %s failed: %s" % (
                probe, " ".join(p.stdout.split())[:200]))
        used = cg_usage_s(probe)
        self.remove(probe)
        if used <= 0:
            self.remove_all()
            raise RuntimeError("%s/cpu.stat did not count the probe's CPU" % probe)
        return base

    def child(self, name):
        cg = os.path.join(self.base, name)
        os.makedirs(cg, exist_ok=True)
        if cg not in self.children:
            self.children.append(cg)
        return cg

    def remove(self, cg):
        """Kills what is left in cg and removes it."""
        cg_kill(cg)
        cg_empty(cg, 5)
        for _ in range(50):
            try:
                os.rmdir(cg)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)
        if not os.path.exists(cg) and cg in self.children:
            self.children.remove(cg)

    def remove_all(self):
        if self.base is None:
            return
        for cg in list(self.children):
            self.remove(cg)
        with contextlib.suppress(OSError):
            os.rmdir(self.base)
        self.base = None


# ---------------------------------------------------------------- files

def file_fingerprint(path, full):
    """(size, digest) of a file: sha256 of it all (full), else sha256 of its
    first and last MiB."""
    size = os.stat(path).st_size
    import hashlib
    with open(path, "rb") as fh:
        if full:
            h = hashlib.sha256()
            while True:
                b = fh.read(4 * MIB)
                if not b:
                    break
                h.update(b)
            return size, "sha256:" + h.hexdigest()
        first = hashlib.sha256(fh.read(MIB)).hexdigest()
        fh.seek(max(0, size - MIB))
        last = hashlib.sha256(fh.read(MIB)).hexdigest()
    return size, "sha256 first/last MiB:%s/%s" % (first[:16], last[:16])


class Files:
    """The files of the sftp/scp workloads: one tmpfs for the client side
    (mounted before the client's `ip netns exec`, which sees the host's
    mounts) and one for the server side, owned by the test user. Each holds
    the random source files of the transfer size, one per parallel session
    (src.bin alone, else src-0.bin .. src-N-1.bin, each its own bytes, the
    same on both sides) and, during a transfer, their destinations."""

    def __init__(self, tmp, size, parallel=1):
        self.size = size
        self.full = size <= FULL_HASH_MAX
        self.cli = os.path.join(tmp, "files-cli")
        self.srv = os.path.join(tmp, "files-srv")
        self.mounted = []
        self.names = ["src.bin"] if parallel == 1 else \
            ["src-%d.bin" % i for i in range(parallel)]
        self.expect = {}            # source name -> (size, digest)

    @staticmethod
    def room(size, parallel):
        """tmpfs size of each mount: the sources and as many destinations."""
        return 2 * parallel * size + 64 * MIB

    def up(self):
        pw = pwd.getpwnam(USER)
        room = self.room(self.size, len(self.names))
        for d in (self.cli, self.srv):
            os.makedirs(d, exist_ok=True)
            sh(["mount", "-t", "tmpfs", "-o", "size=%dk,mode=0755" % (room >> 10),
                "dsshbench-%d" % PID, d])
            self.mounted.append(d)
        os.chown(self.srv, pw.pw_uid, pw.pw_gid)
        for name in self.names:
            src = self.path("cli", name)
            with open(src, "wb") as fh:
                left = self.size
                while left:
                    n = min(left, 4 * MIB)
                    fh.write(os.urandom(n))
                    left -= n
            shutil.copyfile(src, self.path("srv", name))
            os.chown(self.path("srv", name), pw.pw_uid, pw.pw_gid)
            self.expect[name] = file_fingerprint(src, self.full)
        # A small file for the sftp check of each server.
        with open(self.path("cli", "check.bin"), "wb") as fh:
            fh.write(os.urandom(MIB))

    def path(self, side, name):
        return os.path.join(self.cli if side == "cli" else self.srv, name)

    def check(self, path, name):
        """None when path holds the bytes of source `name`, else what is wrong."""
        try:
            got = file_fingerprint(path, self.full)
        except OSError as e:
            return "destination unreadable: %s" % e
        if got[0] != self.size:
            return "destination has %d of %d bytes" % (got[0], self.size)
        if got != self.expect[name]:
            return "destination content differs (%s, expected %s)" % (
                got[1], self.expect[name][1])
        return None

    def method(self):
        return next(iter(self.expect.values()))[1].split(":")[0]

    def clear(self, path):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    def down(self):
        for d in reversed(self.mounted):
            if sh(["umount", d], check=False).returncode != 0:
                sh(["umount", "-l", d], check=False)
        self.mounted = []


# ---------------------------------------------------------------- children

LIVE = []           # Child objects not yet reaped, for the clean-up
LIVE_LOCK = threading.Lock()


class Child:
    """A client-side process we reap ourselves (wait4: its rusage). kill()
    never hits a recycled pid: the pid stays a zombie of ours until the lock
    marks it reaped."""

    def __init__(self, argv, **kw):
        self.lock = threading.Lock()
        self.done = False
        self.rc = None
        self.cpu = 0.0
        self.end = None             # time.monotonic() when wait() reaped it
        self.p = subprocess.Popen(argv, **kw)
        with LIVE_LOCK:
            LIVE.append(self)

    def wait(self):
        os.waitid(os.P_PID, self.p.pid, os.WEXITED | os.WNOWAIT)
        with self.lock:
            _, status, ru = os.wait4(self.p.pid, 0)
            self.done = True
            self.rc = os.waitstatus_to_exitcode(status)
            self.p.returncode = self.rc
            self.cpu = ru.ru_utime + ru.ru_stime
            self.end = time.monotonic()
        with LIVE_LOCK:
            if self in LIVE:
                LIVE.remove(self)
        return self.rc

    def kill(self):
        with self.lock:
            if not self.done:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.p.pid, signal.SIGKILL)


def run_children(children, timeout):
    """Waits for every child, each in a thread of its own so that each one's
    end is when it exited (parallel sessions); kills them all when timeout
    seconds pass."""
    fired = []

    def expire():
        fired.append(True)
        for c in children:
            c.kill()
    t = threading.Timer(timeout, expire)
    t.daemon = True
    t.start()
    try:
        waiters = [threading.Thread(target=c.wait, daemon=True) for c in children[1:]]
        for w in waiters:
            w.start()
        if children:
            children[0].wait()
        for w in waiters:
            w.join()
    finally:
        t.cancel()
    return bool(fired)


# ---------------------------------------------------------------- namespace

NS_READY = r'''
import socket, sys, time
host, port, end = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
last = "no attempt"
while True:
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            s.settimeout(3)
            b = s.recv(256)
            if b.startswith(b"SSH-"):
                print("OK " + b.split(b"\r\n")[0].decode(errors="replace"))
                sys.exit(0)
            last = "connected but no SSH banner (%r)" % b[:40]
    except OSError as e:
        last = "%s:%d: %s" % (host, port, e)
    if time.time() > end:
        break
    time.sleep(0.25)
print("FAIL " + last)
sys.exit(1)
'''

# Legacy ethtool ioctls (no ethtool binary needed): get/set tx checksum, TSO, GSO.
NS_OFFLOAD = r'''
import ctypes, fcntl, json, socket, struct, sys
CMD = {"tx": (0x16, 0x17), "tso": (0x1e, 0x1f), "gso": (0x23, 0x24)}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def op(ifname, cmd, data=0):
    buf = ctypes.create_string_buffer(struct.pack("II", cmd, data), 8)
    ifr = struct.pack("16sP", ifname.encode(), ctypes.addressof(buf)) + b"\0" * 16
    fcntl.ioctl(s.fileno(), 0x8946, ifr)
    return struct.unpack("II", buf.raw)[1]
ifname, want = sys.argv[1], json.loads(sys.argv[2])
for k in ("tx", "tso", "gso"):
    if k in want:
        op(ifname, CMD[k][1], int(want[k]))
print(json.dumps({k: op(ifname, CMD[k][0]) for k in CMD}))
'''


class Net:
    def __init__(self, subnet):
        self.ns = "dsshbench-%d" % PID
        self.mtu = 0
        self.vh = "vb%d" % PID          # <= 9 characters (pid <= 4194304)
        self.vn = "vn%d" % PID
        self.subnet = subnet            # e.g. 198.18.40
        self.host_ip = subnet + ".1"
        self.ns_ip = subnet + ".2"
        self.created_ns = self.created_link = False
        self.host_addr = False
        self.offload_saved = None

    def check_free(self):
        a = sh(["ip", "-o", "-4", "addr", "show"]).stdout
        r = sh(["ip", "-4", "route", "show", "table", "all"]).stdout
        for text in (a, r):
            for line in text.splitlines():
                if re.search(r"\b%s\.\d+" % re.escape(self.subnet), line):
                    raise RuntimeError("%s.0/24 is already in use on this host (%s): choose "
                                       "another with --subnet" % (self.subnet, line.strip()))

    def up(self):
        self.check_free()
        sh(["ip", "netns", "add", self.ns])
        self.created_ns = True
        sh(["ip", "link", "add", self.vh, "type", "veth", "peer", "name", self.vn,
            "netns", self.ns])
        self.created_link = True
        # Quiet links: no IPv6 (no ND/MLD chatter), and the host end never forwards.
        for k, v in (("ipv6/conf/%s/disable_ipv6" % self.vh, "1"),
                     ("ipv4/conf/%s/forwarding" % self.vh, "0")):
            with contextlib.suppress(OSError):
                with open("/proc/sys/net/" + k, "w") as f:
                    f.write(v)
        self.nsrun(["sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/%s/disable_ipv6" % self.vn],
                   check=False)
        self.nsrun(["ip", "addr", "add", self.ns_ip + "/24", "dev", self.vn])
        self.nsrun(["ip", "link", "set", "lo", "up"])
        if self.mtu:
            # The same link MTU for every server (dsshd-dpdk also gets DataMTU).
            self.nsrun(["ip", "link", "set", self.vn, "mtu", str(self.mtu)])
            sh(["ip", "link", "set", self.vh, "mtu", str(self.mtu)])
        self.nsrun(["ip", "link", "set", self.vn, "up"])
        sh(["ip", "link", "set", self.vh, "up"])
        self.set_host_addr(True)

    def nsrun(self, argv, check=True, timeout=60):
        return sh(["ip", "netns", "exec", self.ns] + argv, check=check, timeout=timeout)

    def set_host_addr(self, on):
        if on and not self.host_addr:
            sh(["ip", "addr", "add", self.host_ip + "/24", "dev", self.vh])
        elif not on:
            sh(["ip", "addr", "flush", "dev", self.vh], check=False)
        self.host_addr = on
        self.nsrun(["ip", "neigh", "flush", "dev", self.vn], check=False)

    def set_offloads(self, off):
        """off: tx checksum, TSO and GSO off on the namespace end (for
        af_packet); else back to what they were."""
        if off:
            out = self.nsrun(["/usr/bin/python3", "-c", NS_OFFLOAD, self.vn, "{}"]).stdout
            self.offload_saved = json.loads(out)
            want = {"tx": 0, "tso": 0, "gso": 0}
        elif self.offload_saved is not None:
            want, self.offload_saved = self.offload_saved, None
        else:
            return None
        return json.loads(self.nsrun(["/usr/bin/python3", "-c", NS_OFFLOAD, self.vn,
                                      json.dumps(want)]).stdout)

    def wait_ready(self, port, seconds):
        p = self.nsrun(["/usr/bin/python3", "-c", NS_READY, self.host_ip, str(port),
                        str(seconds)], check=False, timeout=seconds + 30)
        return p.returncode == 0, p.stdout.strip()[5:] if p.stdout.startswith("FAIL") \
            else p.stdout.strip()[3:]

    def down(self):
        if self.created_ns:
            sh(["ip", "netns", "del", self.ns], check=False)
            self.created_ns = False
        if self.created_link:
            if os.path.exists("/sys/class/net/" + self.vh):
                sh(["ip", "link", "del", self.vh], check=False)
            self.created_link = False


# ---------------------------------------------------------------- user, keys

def setup_user(tmp):
    key = os.path.join(tmp, "id_ed25519")
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dsshbench-%d" % PID, "-f", key])
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        sh(["useradd", "-m", "-s", "/bin/bash", USER])
        pw = pwd.getpwnam(USER)
    # sshd with UsePAM no refuses a locked account ('!' password): '*' is "no
    # password", not locked.
    with open("/etc/shadow") as f:
        for line in f:
            parts = line.split(":")
            if parts[0] == USER and parts[1].startswith("!"):
                sh(["usermod", "-p", "*", USER])
    sh(["chage", "-E", "-1", USER], check=False)
    home = pw.pw_dir
    os.makedirs(home, exist_ok=True)
    os.chown(home, pw.pw_uid, pw.pw_gid)
    os.chmod(home, 0o755)
    sshdir = os.path.join(home, ".ssh")
    os.makedirs(sshdir, exist_ok=True)
    ak = os.path.join(sshdir, "authorized_keys")
    with open(key + ".pub") as f:
        pub = f.read()
    os.chown(sshdir, pw.pw_uid, pw.pw_gid)
    os.chmod(sshdir, 0o700)
    # Added to the keys already there (another run of this benchmark may be
    # using the same user at the same time), under a lock.
    edit_authorized_keys(ak, pw, lambda lines: lines + [pub.strip() + "\n"])
    return key, ak, pub


def edit_authorized_keys(ak, pw, fn):
    """authorized_keys rewritten as fn(its lines), atomically, under an
    flock shared with other runs of this benchmark."""
    import fcntl
    with open(ak + ".lock", "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            with open(ak) as f:
                lines = f.readlines()
        except FileNotFoundError:
            lines = []
        tmp = "%s.tmp%d" % (ak, PID)
        with open(tmp, "w") as f:
            f.write("".join(fn(lines)))
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
        os.chmod(tmp, 0o600)
        os.rename(tmp, ak)


def remove_authorized_key(ak, pub):
    with contextlib.suppress(OSError, KeyError):
        edit_authorized_keys(ak, pwd.getpwnam(USER),
                             lambda lines: [ln for ln in lines if ln.strip() != pub.strip()])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- servers

class Server:
    kind = None

    def __init__(self, bench):
        self.b = bench
        self.name = LABEL[self.kind]
        self.proc = None
        self.logf = None
        self.unavailable = None
        self.orphan_cpu = 0.0        # rusage of orphaned descendants we reaped
        self.orphans = 0
        self.orphan_names = {}
        self.cg = None               # its cgroup v2, when the bench uses them
        self.resident = set()        # (pid, start) of long-lived descendants (see mark_resident)
        self.sftp = SFTP_SERVER      # the sftp Subsystem command it runs
        self.sftp_note = None
        self.ran = False             # passed its start-up checks at least once
        self.dir = os.path.join(bench.tmp, self.kind)
        os.makedirs(self.dir, exist_ok=True)
        self.hostkey = os.path.join(self.dir, "ssh_host_ed25519_key")
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.hostkey])
        self.log_path = os.path.join(self.dir, "server.log")

    def argv(self):
        raise NotImplementedError

    def prepare(self):
        self.b.net.set_host_addr(True)

    def ready_seconds(self):
        return 15

    def start(self):
        self.port = free_port()
        self.prepare()
        self.logf = open(self.log_path, "ab")
        self.log_offset = self.logf.tell()
        argv = self.argv()
        self.b.vlog("# starting %s: %s" % (self.name, " ".join(argv)))
        self.resident = set()
        if self.b.acct.cgroup:
            self.cg = self.b.acct.child(self.kind)
            argv = cg_enter_argv(self.cg, argv)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        end = time.time() + self.ready_seconds()
        why = "?"
        while True:
            if self.proc.poll() is not None:
                raise Unavailable("exited with %d at start-up: %s"
                                  % (self.proc.returncode, self.log_tail()))
            ok, why = self.b.net.wait_ready(self.port, 1.5)
            if ok:
                self.b.vlog("# %s ready on %s:%d: %s" % (self.name, self.b.net.host_ip,
                                                         self.port, why))
                return
            if time.time() > end:
                raise Unavailable("no SSH banner within %d s (%s); log: %s"
                                  % (self.ready_seconds(), why, self.log_tail()))

    def log_tail(self, n=3):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_offset)
                lines = [ln for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return "(no log)"
        return " | ".join(lines[-n:]) or "(empty log)"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cpu(self):
        """Server CPU seconds so far. cgroup v2: everything its cgroup used.
        Else the process (threads + reaped children), its live descendants
        (each with the children it reaped: e.g. a spawner's sessions) and the
        orphaned descendants we reaped as subreaper."""
        if self.cg is not None:
            return cg_usage_s(self.cg)
        procs = all_procs()
        total = proc_cpu(self.proc.pid) + self.orphan_cpu
        for p in descendants(self.proc.pid, procs):
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += proc_cpu(p)
        return total

    def members(self, procs):
        """(pid, start) of the server's processes other than itself: its
        descendants (zombies too) and, with a cgroup, the cgroup's members."""
        pids = set(descendants(self.proc.pid, procs))
        if self.cg is not None:
            pids.update(cg_pids(self.cg))
        pids.discard(self.proc.pid)
        return {(p, procs[p][2]) for p in pids if p in procs}

    def mark_resident(self, quiet=0.5, timeout=5):
        """After the start-up checks: the processes the server keeps while
        idle (e.g. a spawner), once its set of processes has not changed for
        `quiet` seconds. settle() waits for everything else."""
        end = time.time() + timeout
        last, since = None, time.time()
        while True:
            self.reap_orphans_now()
            cur = self.members(all_procs())
            if cur != last:
                last, since = cur, time.time()
            elif time.time() - since >= quiet or time.time() > end:
                self.resident = cur
                if cur:
                    self.b.vlog("# %s: resident processes %s" % (
                        self.name, sorted(p for p, _ in cur)))
                return
            time.sleep(0.05)

    def reap_orphans_now(self):
        """Reaps the server's orphaned descendants that came back to us as
        zombies (their CPU is in their rusage); True while some still run."""
        procs = all_procs()
        waiting = False
        for p, (pp, st, _) in procs.items():
            if pp != PID or p == self.proc.pid or self.b.is_own_child(p):
                continue
            if st != "Z":
                waiting = True
                continue
            name, sid = "?", None
            with contextlib.suppress(OSError):
                with open("/proc/%d/comm" % p) as fc:
                    name = fc.read().strip()
            with contextlib.suppress(OSError, ValueError, IndexError):
                sid = int(read_stat(p)[3])
            if sid == os.getsid(0):
                # Client side (e.g. the ssh of an sftp that died first): the
                # servers run in sessions of their own, never in ours.
                with contextlib.suppress(ChildProcessError):
                    os.wait4(p, 0)
                continue
            with contextlib.suppress(ChildProcessError):
                _, _, ru = os.wait4(p, 0)
                if self.cg is None:         # a cgroup counted it already
                    self.orphan_cpu += ru.ru_utime + ru.ru_stime
                self.orphans += 1
                self.orphan_names[name] = self.orphan_names.get(name, 0) + 1
        return waiting

    def settle(self, timeout=15):
        """Waits until the server has no processes left but its resident ones
        (it reaped its per-connection processes; with a cgroup, nothing else
        is left in it) and reaps orphans that came back to us."""
        end = time.time() + timeout
        while True:
            waiting = self.reap_orphans_now()
            procs = all_procs()
            busy = sorted(p for p, st in self.members(procs) - self.resident)
            if not busy and not waiting:
                return True
            if time.time() > end:
                self.b.vlog("# %s: still has processes %s after %ds" % (self.name, busy, timeout))
                return False
            time.sleep(0.01)

    def stop(self):
        if self.proc is None:
            return
        left = []
        if self.proc.poll() is None:
            procs = all_procs()
            left = [(p, procs[p][2]) for p in descendants(self.proc.pid, procs)]
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_seconds())
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        # Descendants it left behind: by pid, only if still the same process.
        procs = all_procs()
        for p, start in left:
            if p in procs and procs[p][2] == start:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, signal.SIGKILL)
        if self.cg is not None:
            self.b.acct.remove(self.cg)     # kills what is left in it
            self.cg = None
        self.b.reap_orphans()
        self.proc = None
        if self.logf:
            self.logf.close()
            self.logf = None
        self.cleanup_after()

    def stop_seconds(self):
        return 10

    def cleanup_after(self):
        pass


class SshdServer(Server):
    kind = "sshd"

    def __init__(self, bench):
        super().__init__(bench)
        self.config = os.path.join(self.dir, "sshd_config")

    def argv(self):
        lines = [
            "Port %d" % self.port,
            "ListenAddress %s" % self.b.net.host_ip,
            "HostKey %s" % self.hostkey,
            "PidFile %s" % os.path.join(self.dir, "sshd.pid"),
            "UsePAM no",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin no",
            "AllowUsers %s" % USER,
            "AuthorizedKeysFile .ssh/authorized_keys",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "X11Forwarding no",
            "Subsystem sftp %s" % SFTP_SERVER,
            "LogLevel INFO",
        ]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        t = sh([self.b.args.sshd, "-t", "-f", self.config], check=False)
        if t.returncode != 0:
            raise Unavailable("sshd -t: " + t.stdout.strip())
        return [self.b.args.sshd, "-D", "-e", "-f", self.config]


class DsshdKernel(Server):
    kind = "kernel"

    def __init__(self, bench):
        super().__init__(bench)
        self.sftp = bench.args.dsshd_sftp

    def common(self):
        return [self.b.args.dsshd, "-D", "-e", "-f", "/dev/null", "-p", str(self.port),
                "-o", "HostKey " + self.hostkey, "-o", "UsePAM no", "-o", "PidFile none",
                "-o", "PasswordAuthentication no", "-o", "AllowUsers " + USER,
                "-o", "PrintMotd no", "-o", "Subsystem sftp " + self.sftp]

    def argv(self):
        return self.common() + ["-o", "ListenAddress " + self.b.net.host_ip]


class DsshdDpdk(DsshdKernel):
    kind = "dpdk"

    def __init__(self, bench):
        super().__init__(bench)
        self.prefix = "dsshbench%d" % PID
        self.threads0 = None

    def prepare(self):
        net = self.b.net
        net.set_host_addr(False)     # DPDK owns the host end through af_packet
        got = net.set_offloads(True)
        self.b.vlog("# %s: namespace end offloads now %s" % (self.name, got))

    def argv(self):
        mtu = []
        if self.b.args.dpdk_port == "af_xdp":
            # AF_XDP sockets on the veth's queue 0 (libxdp loads its program).
            vdev = "net_af_xdp0,iface=%s,start_queue=0,queue_count=1" % self.b.net.vh
        else:
            vdev = "net_af_packet0,iface=" + self.b.net.vh
        if self.b.args.mtu:
            if self.b.args.dpdk_port == "af_packet":
                # af_packet's ring frames must hold a whole jumbo frame.
                vdev += ",framesz=9216,blocksz=36864,framecnt=1024"
            mtu = ["-o", "DataMTU %d" % self.b.args.mtu]
        if self.b.args.dpdk_poll:
            mtu += ["-o", "DataPoll " + self.b.args.dpdk_poll]
        if self.b.impair:
            mtu += ["-o", 'DataImpair "%s"' % self.b.impair]
        for o in self.b.args.dpdk_opt:
            mtu += ["-o", o]
        eal = ["--no-pci", "--vdev=" + vdev,
               "--file-prefix=" + self.prefix] + self.b.args.dpdk_args_extra.split()
        return self.common() + mtu + [
            "-o", "ListenAddress 127.0.0.1",
            "-o", "DataPlane dpdk",
            "-o", "DataAddress %s/24" % self.b.net.host_ip,
            "-o", "DataCores %d" % self.b.args.data_cores,
            "-o", 'DpdkArgs "%s"' % " ".join(eal)]

    def ready_seconds(self):
        return 30

    def dp_stats(self):
        """The data plane's /dssh/stats (DPDK telemetry), {} when unreadable."""
        path = "/var/run/dpdk/%s/dpdk_telemetry.v2" % self.prefix
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as so:
                so.settimeout(2)
                so.connect(path)
                so.recv(16384)
                so.send(b"/dssh/stats")
                st = json.loads(so.recv(1 << 20).decode())["/dssh/stats"]
            return {k: v for k, v in st.items() if isinstance(v, (int, float))}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def stop_seconds(self):
        return 20

    def cleanup_after(self):
        shutil.rmtree("/var/run/dpdk/" + self.prefix, ignore_errors=True)
        with contextlib.suppress(Exception):
            self.b.net.set_offloads(False)
        with contextlib.suppress(Exception):
            self.b.net.set_host_addr(True)


SERVER_CLASSES = {"sshd": SshdServer, "kernel": DsshdKernel, "dpdk": DsshdDpdk}


# ---------------------------------------------------------------- benchmark

class FwdEnds:
    """The server-side ends of the forwarding workloads, on the server host's
    127.0.0.1 (where every server connects the channel): a sink that reads
    each connection to EOF and records the byte count before closing, and a
    source that sends `size` bytes on each connection, then closes."""

    CHUNK = 1 << 20

    def __init__(self):
        self.size = 0
        self.sunk = []
        self.cond = threading.Condition()
        self.zero = memoryview(bytes(self.CHUNK))
        self.sink_port = self._listen(self._sink)
        self.source_port = self._listen(self._source)
        self.reply_port = self._listen(self._reply)

    def listen_in_ns(self, ns, addr):
        """A sink and a source listening in network namespace ns on addr
        (fwd-dp-*): the sockets are made on a thread that entered ns."""
        if getattr(self, "dp_sink_port", None):
            return
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        out = {}

        def make():
            with open("/run/netns/%s" % ns) as f:
                if libc.setns(f.fileno(), 0x40000000) != 0:      # CLONE_NEWNET
                    out["err"] = ctypes.get_errno()
                    return
            out["sink"] = self._listen(self._sink, addr)
            out["source"] = self._listen(self._source, addr)
        t = threading.Thread(target=make)
        t.start()
        t.join()
        if "err" in out:
            raise RuntimeError("setns %s: %s" % (ns, os.strerror(out["err"])))
        self.dp_addr = addr
        self.dp_sink_port, self.dp_source_port = out["sink"], out["source"]

    def _listen(self, handler, addr="127.0.0.1"):
        ls = socket.socket()
        ls.bind((addr, 0))
        ls.listen(64)

        def loop():
            while True:
                c, _ = ls.accept()
                threading.Thread(target=handler, args=(c,), daemon=True).start()
        threading.Thread(target=loop, daemon=True).start()
        return ls.getsockname()[1]

    def _sink(self, c):
        buf = bytearray(self.CHUNK)
        n = 0
        with c:
            while True:
                k = c.recv_into(buf)
                if not k:
                    break
                n += k
            with self.cond:
                self.sunk.append(n)
                self.cond.notify_all()

    def _source(self, c):
        left = self.size
        with c, contextlib.suppress(OSError):
            while left > 0:
                left -= c.send(self.zero[:min(left, self.CHUNK)])
            c.shutdown(socket.SHUT_WR)

    def _reply(self, c):
        """socks: a SOCKS_REQ-byte request line, a SOCKS_REPLY-byte answer."""
        got = b""
        with c, contextlib.suppress(OSError):
            c.settimeout(30)
            while not got.endswith(b"\n"):
                d = c.recv(SOCKS_REQ)
                if not d:
                    return
                got += d
            c.sendall(b"r" * SOCKS_REPLY)

    def take_sunk(self, timeout=10):
        """One finished sink connection's byte count (None: none within timeout)."""
        with self.cond:
            if not self.cond.wait_for(lambda: self.sunk, timeout):
                return None
            return self.sunk.pop(0)


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = None
        self.net = None
        self.servers = []
        self.key = None
        self.ak = None
        self.pub = None
        self.acct = CpuAccount(args.cpu_method)
        self.files = None
        self.fwd = None              # FwdEnds, with forwarding workloads
        self.socks_res = {}          # kind: [socks results]
        self.impair = None           # DataImpair spec of dsshd-dpdk (--rtt-ms)
        self.netem = None
        self.rtt_sysctl = None

    def vlog(self, msg):
        if self.args.verbose:
            log(msg)

    def is_own_child(self, pid):
        with LIVE_LOCK:
            if any(c.p.pid == pid for c in LIVE):
                return True
        return any(s.proc is not None and s.proc.pid == pid for s in self.servers)

    def reap_orphans(self):
        """Orphans that came back to us outside a measurement: end and reap."""
        procs = all_procs()
        for p, (pp, st, _) in procs.items():
            if pp == PID and not self.is_own_child(p):
                if st != "Z":
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(p, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(p, 0)

    def client_opts(self, cipher):
        """Options common to ssh, sftp and scp."""
        a = ["-F", "/dev/null",
             "-i", self.key, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
             "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
             "-o", "LogLevel=ERROR", "-o", "UpdateHostKeys=no", "-o", "ConnectTimeout=15",
             "-o", "KexAlgorithms=" + self.args.kex]
        if cipher:
            # "CIPHER+MAC" (e.g. aes256-ctr+hmac-sha2-256-etm@openssh.com): -c and
            # -o MACs= (sftp and scp have no -m).
            c, _, mac = cipher.partition("+")
            a += ["-c", c] + (["-o", "MACs=" + mac] if mac else [])
        return a

    def in_ns(self, argv):
        return ["ip", "netns", "exec", self.net.ns] + argv

    def dest(self):
        return "%s@%s" % (USER, self.net.host_ip)

    def ssh_argv(self, srv, cipher, command, opts=()):
        return self.in_ns([SSH] + self.client_opts(cipher) + ["-p", str(srv.port)] +
                          list(opts) + [self.dest(), command])

    def fwd_argv(self, srv, cipher, port, host="127.0.0.1"):
        """ssh -W: stdin/stdout joined to a direct-tcpip channel to port."""
        return self.in_ns([SSH] + self.client_opts(cipher) +
                          ["-p", str(srv.port), "-W", "%s:%d" % (host, port), self.dest()])

    def fwd_target(self, workload):
        """(host, port) of a forwarding workload's far end."""
        if workload.startswith("fwd-dp-"):
            self.fwd.listen_in_ns(self.net.ns, self.net.ns_ip)
            return self.fwd.dp_addr, (self.fwd.dp_sink_port if workload.endswith("up")
                                      else self.fwd.dp_source_port)
        return "127.0.0.1", (self.fwd.sink_port if workload.endswith("up")
                             else self.fwd.source_port)

    def sftp_argv(self, srv, cipher):
        """sftp reading its batch (put/get lines) from stdin."""
        return self.in_ns([SFTP, "-b", "-"] + self.client_opts(cipher) +
                          ["-P", str(srv.port), self.dest()])

    def scp_argv(self, srv, cipher, src, dst):
        """scp in its default (SFTP) mode; remote paths as user@host:path."""
        return self.in_ns([SCP, "-q"] + self.client_opts(cipher) +
                          ["-P", str(srv.port), src, dst])

    def file_cmd(self, srv, workload, cipher, name="src.bin"):
        """(argv, stdin text or None, destination path) of a file workload."""
        fl = self.files
        remote = lambda path: "%s:%s" % (self.dest(), path)
        if workload in ("sftp-put", "scp-put"):
            src, dst = fl.path("cli", name), fl.path("srv", "put-" + name)
        else:
            src, dst = fl.path("srv", name), fl.path("cli", "get-" + name)
        if workload.startswith("sftp"):
            verb = "put" if workload == "sftp-put" else "get"
            return self.sftp_argv(srv, cipher), "%s %s %s\n" % (verb, src, dst), dst
        if workload == "scp-put":
            return self.scp_argv(srv, cipher, src, remote(dst)), None, dst
        return self.scp_argv(srv, cipher, remote(src), dst), None, dst

    def stdin_file(self, text):
        """A file holding text, opened for reading (a child's stdin)."""
        fh = tempfile.TemporaryFile(mode="w+", dir=self.tmp)
        if text:
            fh.write(text)
            fh.flush()
        fh.seek(0)
        return fh

    def sftp_check(self, srv, cipher):
        """A 1 MiB file to the server and back with sftp, bytes compared."""
        fl = self.files
        with open(fl.path("cli", "check.bin"), "rb") as fh:
            want = fh.read()
        for wl in ("sftp-put", "sftp-get"):
            if wl == "sftp-get":
                shutil.copyfile(fl.path("cli", "check.bin"), fl.path("srv", "check.bin"))
            argv, text, dst = self.file_cmd(srv, wl, cipher, "check.bin")
            fl.clear(dst)
            with self.errfile() as ef, self.stdin_file(text) as fin:
                p = subprocess.run(argv, stdin=fin, stdout=subprocess.DEVNULL, stderr=ef,
                                   timeout=120)
                try:
                    with open(dst, "rb") as fh:
                        got = fh.read()
                except OSError:
                    got = None
                fl.clear(dst)
                if p.returncode != 0 or got != want:
                    raise Unavailable("%s check with Subsystem sftp %s failed (exit %d, %s): %s"
                                      % (wl, srv.sftp, p.returncode,
                                         "no file" if got is None else "%d of %d bytes%s" % (
                                             len(got), len(want),
                                             ", content differs" if len(got) == len(want)
                                             else ""),
                                         self.errtext(ef)))
        fl.clear(fl.path("srv", "check.bin"))

    def errfile(self, index=None):
        """The client's stderr (one per parallel session: ssh-I.err)."""
        return open(os.path.join(self.tmp, "ssh.err" if index is None
                                 else "ssh-%d.err" % index), "w+")

    @staticmethod
    def errtext(f):
        f.seek(0)
        return " ".join(f.read().split())[:300] or "(no message)"

    def verify(self, srv, cipher):
        """Small round trip both ways with byte counts checked."""
        n = 8 << 20
        with self.errfile() as ef:
            p = subprocess.run(["sh", "-c", "head -c %d /dev/zero | %s" % (
                n, " ".join("'%s'" % a for a in self.ssh_argv(srv, cipher, "wc -c")))],
                stdout=subprocess.PIPE, stderr=ef, timeout=120)
            if p.returncode != 0 or p.stdout.strip() != str(n).encode():
                raise Unavailable("upload check failed (exit %d, got %r): %s"
                                  % (p.returncode, p.stdout[:40], self.errtext(ef)))
        with self.errfile() as ef:
            p = subprocess.run(self.ssh_argv(srv, cipher, "head -c %d /dev/zero" % n),
                               stdout=subprocess.PIPE, stderr=ef, timeout=120)
            if p.returncode != 0 or len(p.stdout) != n:
                raise Unavailable("download check failed (exit %d, %d of %d bytes): %s"
                                  % (p.returncode, len(p.stdout), n, self.errtext(ef)))
        if self.files is not None:
            self.sftp_check(srv, cipher)

    def wait_idle(self):
        """--wait-idle S: up to S seconds for the machine to be quiet (under
        0.2 busy cores over half a second) before a measurement."""
        if not self.args.wait_idle:
            return None
        end = time.time() + self.args.wait_idle
        while True:
            b0, _ = machine_jiffies()
            time.sleep(0.5)
            b1, _ = machine_jiffies()
            busy = (b1 - b0) / CLK_TCK / 0.5
            if busy < 0.2 or time.time() > end:
                return busy

    def transfer(self, srv, workload, cipher, nbytes):
        """One measurement: --parallel N identical sessions of the workload
        at once, each its own client process (and, for the file workloads,
        its own source and destination), nbytes each. The figures are the
        aggregate: N x nbytes over the wall time from the first start to the
        last end, the server's CPU over all of them, the clients' summed."""
        nsess = self.args.parallel
        timeout = 60 + nsess * nbytes / 2e6
        names = self.files.names if workload in FILE_WORKLOADS else [None] * nsess
        sess = [{"name": n, "fin": None, "dst": None} for n in names]
        for x in sess:
            if workload in FILE_WORKLOADS:
                x["argv"], text, x["dst"] = self.file_cmd(srv, workload, cipher, x["name"])
                self.files.clear(x["dst"])
                x["fin"] = self.stdin_file(text)
        srv.settle()
        idle = self.wait_idle()
        threads0 = thread_cpu(srv.proc.pid) if srv.kind == "dpdk" else None
        dp0 = srv.dp_stats() if srv.kind == "dpdk" else None
        cpu0 = srv.cpu()
        mb0, mt0 = machine_jiffies()
        with contextlib.ExitStack() as stack:
            for i, x in enumerate(sess):
                x["ef"] = stack.enter_context(self.errfile(i if nsess > 1 else None))
            t0 = time.monotonic()
            kids = []
            for x in sess:
                x["kids"] = self.start_session(srv, workload, cipher, nbytes, x)
                kids += x["kids"]
            expired = run_children(kids, timeout)
            wall = max(k.end for k in kids) - t0
            for x in sess:
                x["err"] = self.errtext(x["ef"])
        settled = srv.settle()
        cpu1 = srv.cpu()
        mb1, mt1 = machine_jiffies()
        r = {"workload": workload, "cipher": cipher, "bytes": nsess * nbytes, "wall_s": wall,
             "rc": next((x["kids"][0].rc for x in sess if x["kids"][0].rc != 0), 0),
             "server_cpu_s": cpu1 - cpu0,
             "client_cpu_s": sum(x["kids"][0].cpu for x in sess),
             "machine_busy_cores": (mb1 - mb0) / CLK_TCK / wall,
             "settled": settled, "busy_before": idle}
        if workload in ("upload",) + FWD_WORKLOADS:     # head or wc
            r["head_cpu_s"] = sum(x["kids"][1].cpu for x in sess)
        r["other_cores"] = r["machine_busy_cores"] - (
            r["server_cpu_s"] + r["client_cpu_s"] + r.get("head_cpu_s", 0.0)) / wall
        add_server_deltas(r, srv, dp0, threads0)
        errors = []
        for i, x in enumerate(sess):
            e = self.session_result(workload, x, t0, nbytes, expired, timeout)
            if "error" in e:
                errors.append(("session %d: " % i if nsess > 1 else "") + e["error"])
            x["result"] = e
        if nsess > 1:
            r["parallel"] = nsess
            r["sessions"] = [x["result"] for x in sess]
        elif "verified" in sess[0]["result"]:
            r["verified"] = sess[0]["result"]["verified"]
        if errors:
            r["error"] = "; ".join(errors)
        else:
            r["mb_s"] = nsess * nbytes / 1e6 / wall
        return r

    def start_session(self, srv, workload, cipher, nbytes, x):
        """Starts one session's client process(es); the first is the one
        whose exit status and CPU count (sftp or scp with the ssh it reaps;
        for upload, ssh, then the head feeding it)."""
        if x["fin"] is not None:
            return [Child(x["argv"], stdin=x["fin"], stdout=subprocess.DEVNULL, stderr=x["ef"])]
        if workload in ("upload", "fwd-up", "fwd-dp-up"):
            head = Child(["head", "-c", str(nbytes), "/dev/zero"], stdout=subprocess.PIPE)
            argv = (self.ssh_argv(srv, cipher, "cat > /dev/null") if workload == "upload"
                    else self.fwd_argv(srv, cipher, self.fwd_target(workload)[1],
                                       self.fwd_target(workload)[0]))
            ssh = Child(argv, stdin=head.p.stdout, stdout=subprocess.DEVNULL, stderr=x["ef"])
            head.p.stdout.close()
            return [ssh, head]
        if workload == "driver":
            c, _, mac = (cipher or "").partition("+")
            argv = [x.format(host=self.net.host_ip, port=srv.port, user=USER, key=self.key,
                             cipher=c, mac=mac, kex=self.args.kex, size=nbytes)
                    for x in shlex.split(self.args.driver_cmd)]
            return [Child(self.in_ns(argv), stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=x["ef"])]
        if workload in ("fwd-down", "fwd-dp-down"):
            self.fwd.size = nbytes
            host, port = self.fwd_target(workload)
            ssh = Child(self.fwd_argv(srv, cipher, port, host),
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=x["ef"])
            wc = Child(["wc", "-c"], stdin=ssh.p.stdout, stdout=subprocess.PIPE)
            ssh.p.stdout.close()
            return [ssh, wc]
        return [Child(self.ssh_argv(srv, cipher, "head -c %d /dev/zero" % nbytes),
                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=x["ef"])]

    def session_result(self, workload, x, t0, nbytes, expired, timeout):
        """One session's own figures and outcome; its destination file (if
        any) checked and removed, outside the measurement: a transfer that did
        not deliver every byte is an error, never a (fast) figure."""
        kid = x["kids"][0]
        e = {"rc": kid.rc, "wall_s": max(k.end for k in x["kids"]) - t0,
             "client_cpu_s": kid.cpu}
        bad = None
        if x["fin"] is not None:
            x["fin"].close()
            bad = self.files.check(x["dst"], x["name"])
            e["verified"] = bad or ("size and " + self.files.method())
            self.files.clear(x["dst"])
        elif workload in FWD_WORKLOADS and not expired and kid.rc == 0:
            bad = self.fwd_check(workload, x, nbytes)
        if expired or kid.rc != 0:
            e["error"] = ("timed out after %ds; " % timeout if expired else "") + \
                "%s exit %s: %s" % (os.path.basename(kid.p.args[4]), kid.rc, x["err"])
            if bad:
                e["error"] += "; " + bad
        elif bad:
            e["error"] = bad
        else:
            e["mb_s"] = nbytes / 1e6 / e["wall_s"]
        return e

    def fwd_check(self, workload, x, nbytes):
        """A forwarding session's bytes counted at the far end: the sink's
        count (fwd-up) or wc's (fwd-down); None if all nbytes arrived."""
        if workload.endswith("-up"):
            got = self.fwd.take_sunk()
        else:
            out = x["kids"][1].p.stdout.read().strip()
            got = int(out) if out.isdigit() else None
        if got != nbytes:
            return "%s: %s of %d bytes arrived" % (workload, got, nbytes)
        return None

    def connections(self, srv, n):
        srv.settle()
        cpu0 = srv.cpu()
        times, cli, errors = [], 0.0, []
        t_all = time.monotonic()
        for _ in range(n):
            with self.errfile() as ef:
                t0 = time.monotonic()
                c = Child(self.ssh_argv(srv, None, "true"), stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=ef)
                run_children([c], 60)
                dt = time.monotonic() - t0
                if c.rc != 0:
                    errors.append("exit %s: %s" % (c.rc, self.errtext(ef)))
                    break
            times.append(dt)
            cli += c.cpu
        total = time.monotonic() - t_all
        srv.settle()
        cpu1 = srv.cpu()
        r = {"n": len(times), "total_s": total, "server_cpu_s": cpu1 - cpu0, "client_cpu_s": cli}
        if errors:
            r["error"] = errors[0]
        if times:
            r["conn_s"] = len(times) / total
            r["median_ms"] = statistics.median(times) * 1e3
            r["server_ms_per_conn"] = (cpu1 - cpu0) * 1e3 / len(times)
            r["client_ms_per_conn"] = cli * 1e3 / len(times)
        return r

    def socks(self, srv):
        """Connections per second through ssh -D (the socks workload)."""
        a = self.args
        port = 20000 + PID % 20000
        with self.errfile() as ef:
            ssh = Child(self.in_ns([SSH] + self.client_opts(a.ciphers[0]) + [
                "-o", "ExitOnForwardFailure=yes", "-N", "-D", "127.0.0.1:%d" % port,
                "-p", str(srv.port), self.dest()]), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=ef)
            try:
                def batch(n):
                    out = subprocess.run(self.in_ns([sys.executable, "-c", SOCKS_CLIENT, str(port),
                                                     str(self.fwd.reply_port), str(n),
                                                     str(a.socks_parallel)]),
                                         capture_output=True, text=True, timeout=600)
                    if out.returncode != 0:
                        raise RuntimeError("socks client: %s" % out.stderr.strip()[-300:])
                    return json.loads(out.stdout)
                w = batch(50)
                if w["errors"]:
                    return {"error": "warm-up: %s" % w["first_error"]}
                srv.settle()
                cpu0 = srv.cpu()
                r = batch(a.socks_conns)
                srv.settle()
                cpu1 = srv.cpu()
            except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
                return {"error": str(e)}
            finally:
                ssh.kill()
                ssh.wait()
            err = self.errtext(ef)
        r["server_cpu_s"] = cpu1 - cpu0
        if r["errors"]:
            r["error"] = "%d of %d failed: %s %s" % (r["errors"], a.socks_conns,
                                                    r["first_error"], err)
        elif r["n"]:
            r["conn_s"] = r["n"] / r["wall_s"]
            r["server_ms_per_conn"] = r["server_cpu_s"] * 1e3 / r["n"]
        return r

    # ------------------------------------------------------------ keystroke

    def key_echo(self, master):
        """On a pty master whose slave runs keystroke_cmd(): waits for the
        ready marker, then writes one byte per interval and times its echo.
        Returns (latencies in us of the kept keys, mismatches, error or None)."""
        a = self.args
        poller = select.poll()
        poller.register(master, select.POLLIN)

        def read_some(deadline):
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(max(1, int(left * 1000))):
                return None
            try:
                return os.read(master, 4096)
            except OSError:             # EIO: every slave fd closed
                return b""

        buf = b""
        deadline = time.monotonic() + 30
        while KEY_READY not in buf:
            d = read_some(deadline)
            if not d:
                return [], 0, "%s before the ready marker (got %r)" % (
                    "timed out" if d is None else "pty closed", buf[-80:])
            buf += d
        if buf.split(KEY_READY, 1)[1]:
            return [], 0, "unexpected output after the ready marker: %r" % buf[-80:]
        lat, bad = [], 0
        interval = a.key_interval / 1e3
        nxt = time.monotonic()
        for i in range(a.key_warmup + a.keys):
            now = time.monotonic()
            if nxt > now:
                time.sleep(nxt - now)
            b = bytes([0x61 + i % 26])          # a-z: no control or escape characters
            t0 = time.perf_counter_ns()
            os.write(master, b)
            got = b""
            while not got:
                d = read_some(time.monotonic() + 5)
                if not d:
                    return lat, bad, "key %d: %s" % (
                        i, "no echo within 5 s" if d is None else "pty closed")
                got = d
            t1 = time.perf_counter_ns()
            if got != b:
                bad += 1
            if i >= a.key_warmup:
                lat.append((t1 - t0) / 1e3)
            nxt += interval
            nxt = max(nxt, time.monotonic())    # late: no burst to catch up
        return lat, bad, None

    def keystroke(self, srv, cipher):
        """The keystroke workload against srv, or the no-SSH baseline
        (srv None: the same command on a local pty, as the test user)."""
        a = self.args
        count = a.key_warmup + a.keys
        cmd = keystroke_cmd(count)
        master, slave = os.openpty()
        fcntl_winsize(slave)
        if srv is not None:
            tty.setraw(slave)
            srv.settle()
            threads0 = thread_cpu(srv.proc.pid) if srv.kind == "dpdk" else None
            dp0 = srv.dp_stats() if srv.kind == "dpdk" else None
            cpu0 = srv.cpu()
        ef = self.errfile()
        t0 = time.monotonic()
        try:
            if srv is None:
                pw = pwd.getpwnam(USER)
                kid = Child(["/bin/bash", "-c", cmd], stdin=slave, stdout=slave, stderr=ef,
                            start_new_session=True, user=pw.pw_uid, group=pw.pw_gid,
                            extra_groups=[], cwd="/")
            else:
                kid = Child(self.ssh_argv(srv, cipher, cmd, ["-tt", "-e", "none"]),
                            stdin=slave, stdout=slave, stderr=ef, start_new_session=True)
        except BaseException:
            os.close(master)
            os.close(slave)
            ef.close()
            raise
        os.close(slave)
        try:
            lat, bad, err = self.key_echo(master)
            if err:
                kid.kill()
            expired = run_children([kid], 20)
            trailing = b""
            if not err:
                # Drain: nothing but EOF/EIO should follow the last echo.
                end = time.monotonic() + 1
                while time.monotonic() < end:
                    r = select.select([master], [], [], max(0, end - time.monotonic()))[0]
                    if not r:
                        break
                    try:
                        d = os.read(master, 4096)
                    except OSError:
                        break
                    if not d:
                        break
                    trailing += d
        finally:
            kid.kill()
            os.close(master)
        wall = time.monotonic() - t0
        msg = self.errtext(ef)
        ef.close()
        r = {"workload": "keystroke", "cipher": cipher if srv else None, "keys": len(lat),
             "warmup": a.key_warmup, "interval_ms": a.key_interval, "wall_s": wall,
             "rc": kid.rc, "client_cpu_s": kid.cpu, "mismatches": bad, "latency_us": lat}
        if trailing:
            r["trailing"] = repr(trailing[:80])
        if lat:
            r["median_us"] = statistics.median(lat)
            r["p99_us"] = pctl(lat, 99)
        if srv is not None:
            r["settled"] = srv.settle()
            r["server_cpu_s"] = srv.cpu() - cpu0
            r["server_core_pct"] = 100 * r["server_cpu_s"] / wall
            add_server_deltas(r, srv, dp0, threads0)
        if err or expired or kid.rc != 0 or len(lat) < a.keys or bad:
            r["error"] = "; ".join(x for x in (
                err, "timed out waiting for the session to end" if expired else None,
                "exit %s" % kid.rc if kid.rc != 0 else None,
                "%d echoed bytes differ from those sent" % bad if bad else None,
                msg if msg != "(no message)" else None) if x)
        return r

    def key_progress(self, rnd, name, r):
        if "error" in r:
            log("# round %d %-12s keystroke FAILED: %s" % (rnd, name, r["error"]))
            return
        extra = ""
        if "server_core_pct" in r:
            extra = "  server %.1f%% of a core" % r["server_core_pct"]
        log("# round %d %-12s keystroke x%d: median %.0f us, p99 %.0f us%s" % (
            rnd, name, r["keys"], r["median_us"], r["p99_us"], extra))
        d = r.get("dataplane_stats_delta")
        if self.args.verbose and d:
            log("#   data plane: busy/idle polls %d/%d, idle sleeps %s" % (
                d.get("busy_polls", 0), d.get("idle_polls", 0),
                next((str(v) for k, v in sorted(d.items()) if "sleep" in k), "?")))

    # ------------------------------------------------------------ run

    def setup(self):
        a = self.args
        if os.geteuid() != 0:
            sys.exit("bench_bulk: needs root (network namespace, test user, servers)")
        for tool in ("ip", "ssh-keygen", "useradd", "head", SSH):
            if shutil.which(tool) is None:
                sys.exit("bench_bulk: %s not found" % tool)
        if not set_subreaper():
            log("# warning: PR_SET_CHILD_SUBREAPER failed: orphaned server processes "
                "would not be counted")
        self.tmp = tempfile.mkdtemp(prefix="dsshbench-%d-" % PID)
        os.chmod(self.tmp, 0o755)
        self.key, self.ak, self.pub = setup_user(self.tmp)
        self.net = Net(a.subnet)
        self.net.mtu = a.mtu
        self.net.up()
        self.acct.setup()
        if any(w in FILE_WORKLOADS for w in a.workloads):
            for tool in (SFTP, SCP, SFTP_SERVER):
                if not os.access(tool, os.X_OK):
                    sys.exit("bench_bulk: %s not found (file workloads)" % tool)
            # tmpfs is memory: the sources on both sides and one workload's
            # destinations at a time.
            need = 3 * a.parallel * a.size
            avail = mem_available()
            if avail is not None and need > avail:
                sys.exit("bench_bulk: file workloads need %s of tmpfs (%d source%s of %s on "
                         "each side and the destinations), only %s of memory available: "
                         "use a smaller --size or --parallel" % (
                             fmt_size(need), a.parallel, "s" * (a.parallel > 1),
                             fmt_size(a.size), fmt_size(avail >> 20 << 20)))
            self.files = Files(self.tmp, a.size, a.parallel)
            self.files.up()
        if any(w in FWD_WORKLOADS + ("socks",) for w in a.workloads):
            self.fwd = FwdEnds()
        if a.rtt_ms:
            self.setup_rtt()
        for b in a.backends:
            self.servers.append(SERVER_CLASSES[b](self))
            if a.rtt_ms and b != "dpdk":
                self.servers[-1].unavailable = (
                    "not run with --rtt-ms: nothing delays kernel sockets here (%s); "
                    "reference: the 2 MiB/RTT ceiling" % self.netem)

    def setup_rtt(self):
        """--rtt-ms: dsshd-dpdk delays RX and TX by half the RTT each; the
        client namespace's TCP buffers grow large enough not to be the cap."""
        a = self.args
        self.impair = "delay=%dus" % round(a.rtt_ms * 1000 / 2)
        for k in ("tcp_rmem", "tcp_wmem"):
            self.net.nsrun(["sysctl", "-q", "-w", "net.ipv4.%s=4096 131072 %d" % (k, 64 * MIB)])
        got = self.net.nsrun(["sysctl", "-n", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"])
        self.rtt_sysctl = " / ".join(" ".join(x.split()) for x in got.stdout.splitlines())
        # sch_netem would delay kernel sockets too; this kernel usually has none.
        t = self.net.nsrun(["tc", "qdisc", "add", "dev", self.net.vn, "root", "netem",
                            "delay", "1ms"], check=False)
        if t.returncode == 0:
            self.net.nsrun(["tc", "qdisc", "del", "dev", self.net.vn, "root"], check=False)
            self.netem = "sch_netem is available but this script does not use it"
        else:
            self.netem = "no sch_netem: %s" % (" ".join(t.stdout.split())[:80] or "tc failed")

    def cleanup(self):
        with LIVE_LOCK:
            live = list(LIVE)
        for c in live:
            c.kill()
            with contextlib.suppress(Exception):
                c.wait()
        for s in self.servers:
            with contextlib.suppress(Exception):
                s.stop()
        with contextlib.suppress(Exception):
            self.reap_orphans()
        with contextlib.suppress(Exception):
            self.acct.remove_all()
        if self.files:
            with contextlib.suppress(Exception):
                self.files.down()
        if self.net:
            with contextlib.suppress(Exception):
                self.net.down()
        if self.ak:
            remove_authorized_key(self.ak, self.pub)
        if self.tmp:
            if self.args.keep_logs:
                log("# logs kept in %s" % self.tmp)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self):
        a = self.args
        samples = {s.kind: [] for s in self.servers}
        conns = {s.kind: [] for s in self.servers}
        keys = {k: [] for k in ["baseline"] + [s.kind for s in self.servers]}
        transfers = [w for w in a.workloads if w in TRANSFER_WORKLOADS]
        for rnd in range(1, a.rounds + 1):
            if "keystroke" in a.workloads:
                r = self.keystroke(None, None)
                r["round"] = rnd
                keys["baseline"].append(r)
                self.key_progress(rnd, "no SSH", r)
            for srv in self.servers:
                if srv.unavailable:
                    continue
                try:
                    try:
                        self.start_checked(srv)
                    except (Unavailable, RuntimeError, subprocess.TimeoutExpired) as e:
                        srv.unavailable = "round %d: %s" % (rnd, e)
                        log("%s: not available: %s" % (srv.name, srv.unavailable))
                        continue
                    for cipher in a.ciphers:
                        for wl in transfers:
                            r = self.transfer(srv, wl, cipher, a.size)
                            r["round"] = rnd
                            samples[srv.kind].append(r)
                            self.progress(rnd, srv, r)
                    if a.conns:
                        r = self.connections(srv, a.conns)
                        r["round"] = rnd
                        conns[srv.kind].append(r)
                        log("# round %d %-12s connect x%d: %s" % (
                            rnd, srv.name, a.conns,
                            "%.2f conn/s, median %.1f ms, server %.1f ms CPU/conn, "
                            "client %.1f ms CPU/conn" % (r["conn_s"], r["median_ms"],
                                                         r["server_ms_per_conn"],
                                                         r["client_ms_per_conn"])
                            if "conn_s" in r else "FAILED " + r.get("error", "")))
                    if "socks" in a.workloads:
                        r = self.socks(srv)
                        r["round"] = rnd
                        self.socks_res.setdefault(srv.kind, []).append(r)
                        log("# round %d %-12s socks x%d (%d at once): %s" % (
                            rnd, srv.name, a.socks_conns, a.socks_parallel,
                            "%.1f conn/s, server %.2f ms CPU/conn" % (
                                r["conn_s"], r["server_ms_per_conn"])
                            if "conn_s" in r else "FAILED " + r.get("error", "")))
                    if "keystroke" in a.workloads:
                        r = self.keystroke(srv, a.ciphers[0])
                        r["round"] = rnd
                        keys[srv.kind].append(r)
                        self.key_progress(rnd, srv.name, r)
                finally:
                    srv.stop()
        return samples, conns, keys

    def start_checked(self, srv):
        """Starts srv and checks it (ssh both ways, sftp with file workloads),
        then notes its resident processes. A dsshd whose sftp Subsystem
        (--dsshd-sftp) fails to start or to serve the check is restarted once
        with OpenSSH's sftp-server, and the report says so."""
        errors = (Unavailable, RuntimeError, subprocess.TimeoutExpired)
        try:
            srv.start()
            self.verify(srv, self.args.ciphers[0])
        except errors as e:
            if srv.kind == "sshd" or srv.sftp == SFTP_SERVER:
                raise
            first = "Subsystem sftp %s: %s" % (srv.sftp, " ".join(str(e).split())[:300])
            log("# %s: %s; retrying with Subsystem sftp %s" % (srv.name, first, SFTP_SERVER))
            srv.stop()
            srv.sftp = SFTP_SERVER
            try:
                srv.start()
                self.verify(srv, self.args.ciphers[0])
            except errors as e2:
                raise Unavailable("%s (and with %s: %s)" % (first, SFTP_SERVER, e2))
            srv.sftp_note = "%s sftp-server used instead of %s (%s)" % (
                srv.name, self.args.dsshd_sftp, first)
        srv.mark_resident()
        srv.ran = True

    def progress(self, rnd, srv, r):
        c = CIPHER_SHORT.get(r["cipher"], r["cipher"])
        if "error" in r:
            log("# round %d %-12s %-8s %-17s FAILED: %s" % (rnd, srv.name, r["workload"], c,
                                                           r["error"]))
            return
        extra = ""
        if r.get("server_threads_cpu_s"):
            extra = " threads " + ",".join("%s=%.1fs" % kv for kv in
                                            sorted(r["server_threads_cpu_s"].items()))
        if r.get("sessions"):
            each = [x["mb_s"] for x in r["sessions"]]
            extra = " (%d sessions, each %.1f-%.1f MB/s)%s" % (len(each), min(each), max(each),
                                                               extra)
        log("# round %d %-12s %-8s %-17s %7.1f MB/s %6.2f s  server %.2f s CPU  client %.2f s "
            "CPU  machine %.2f cores%s" % (rnd, srv.name, r["workload"], c, r["mb_s"],
                                           r["wall_s"], r["server_cpu_s"], r["client_cpu_s"],
                                           r["machine_busy_cores"], extra))
        d = r.get("dataplane_stats_delta") or {}
        bad = ["%s %d" % (k, d[k]) for k in sorted(d)
               if re.search(r"retrans|drop|bad|dup|ooo|rto|loss|full|no_mbuf|err", k)]
        if self.args.verbose and d:
            log("#   data plane: %s; busy/idle polls %d/%d" % (
                ", ".join(bad) or "no drops, retransmits or bad segments",
                d.get("busy_polls", 0), d.get("idle_polls", 0)))


# ---------------------------------------------------------------- report

def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def summarize_keys(args, servers, keys):
    """Keystroke latency per server (and the no-SSH baseline): all rounds'
    kept keys pooled."""
    out = {}
    for k in ["baseline"] + [s.kind for s in servers]:
        rs = [r for r in keys.get(k, []) if "error" not in r]
        if not rs:
            srv = next((s for s in servers if s.kind == k), None)
            out[k] = {"error": (srv and srv.unavailable) or next(
                (r["error"] for r in keys.get(k, []) if "error" in r), "no sample")}
            continue
        lat = [x for r in rs for x in r["latency_us"]]
        e = {"rounds": len(rs), "keys": len(lat),
             "median_us": statistics.median(lat), "p90_us": pctl(lat, 90),
             "p99_us": pctl(lat, 99), "p999_us": pctl(lat, 99.9), "max_us": max(lat),
             "mean_us": statistics.fmean(lat),
             "round_medians_us": [r["median_us"] for r in rs],
             "round_p99s_us": [r["p99_us"] for r in rs]}
        if "server_core_pct" in rs[0]:
            e["server_core_pct"] = med([r["server_core_pct"] for r in rs])
        e["client_cpu_us_per_key"] = med([r["client_cpu_s"] * 1e6 / (r["keys"] + r["warmup"])
                                          for r in rs])
        out[k] = e
    base, sshd = out.get("baseline", {}), out.get("sshd", {})
    for k, e in out.items():
        if "median_us" not in e:
            continue
        if "median_us" in sshd:
            e["median_vs_sshd"] = e["median_us"] / sshd["median_us"]
            e["p99_vs_sshd"] = e["p99_us"] / sshd["p99_us"]
        if k != "baseline" and "median_us" in base:
            e["median_over_baseline_us"] = e["median_us"] - base["median_us"]
    return out


def summarize_rtt(args, transfers):
    """--rtt-ms: dsshd-dpdk's MB/s against the ceiling sshd's 2 MiB
    session window puts on one channel at that RTT (2 MiB per RTT), times
    the --parallel sessions (each its own channel)."""
    ceiling = args.parallel * SSHD_WINDOW / (args.rtt_ms / 1e3) / 1e6
    rows = []
    for row in transfers:
        d = row["servers"].get("dpdk", {})
        if "mb_s" in d:
            rows.append({"workload": row["workload"], "cipher": row["cipher"],
                         "mb_s": d["mb_s"], "x_ceiling": d["mb_s"] / ceiling,
                         "server_cycles_per_byte": d["server_cycles_per_byte"]})
    return {"rtt_ms": args.rtt_ms, "ceiling_bytes_per_rtt": args.parallel * SSHD_WINDOW,
            "ceiling_mb_s": ceiling, "dpdk": rows}


def summarize(args, servers, samples, conns, mhz, keys=None):
    out = {"transfers": [], "connections": {}}
    if "keystroke" in args.workloads:
        out["keystroke"] = summarize_keys(args, servers, keys or {})
    for cipher in args.ciphers:
        for wl in [w for w in args.workloads if w in TRANSFER_WORKLOADS]:
            row = {"workload": wl, "cipher": cipher, "servers": {}}
            for s in servers:
                rs = [r for r in samples[s.kind] if r["workload"] == wl
                      and r["cipher"] == cipher and "mb_s" in r]
                if not rs:
                    row["servers"][s.kind] = {"error": s.unavailable or next(
                        (r["error"] for r in samples[s.kind] if r["workload"] == wl
                         and r["cipher"] == cipher), "no sample")}
                    continue
                n = rs[0]["bytes"]
                cpu = med([r["server_cpu_s"] for r in rs])
                row["servers"][s.kind] = {
                    "rounds": len(rs),
                    "mb_s": med([r["mb_s"] for r in rs]),
                    "mb_s_min": min(r["mb_s"] for r in rs),
                    "mb_s_max": max(r["mb_s"] for r in rs),
                    "server_cpu_s_per_gib": cpu / (n / GIB),
                    "server_cycles_per_byte": cpu * mhz * 1e6 / n if mhz else None,
                    "server_core_pct": med([100 * r["server_cpu_s"] / r["wall_s"] for r in rs]),
                    "client_cpu_s_per_gib": med([r["client_cpu_s"] for r in rs]) / (n / GIB),
                    "client_core_pct": med([100 * r["client_cpu_s"] / r["wall_s"] for r in rs]),
                    "machine_busy_cores": med([r["machine_busy_cores"] for r in rs]),
                    "other_cores": med([r["other_cores"] for r in rs]),
                }
                each = [x["mb_s"] for r in rs for x in r.get("sessions", ())]
                if each:
                    row["servers"][s.kind].update(
                        parallel=rs[0]["parallel"], session_mb_s_min=min(each),
                        session_mb_s_max=max(each), session_mb_s_median=med(each))
            base = row["servers"].get("sshd", {})
            for k in ("kernel", "dpdk"):
                o = row["servers"].get(k, {})
                if "mb_s" in base and "mb_s" in o:
                    row["%s_vs_sshd" % k] = {
                        "mb_s_ratio": o["mb_s"] / base["mb_s"],
                        "cpu_per_byte_ratio": o["server_cpu_s_per_gib"] / base["server_cpu_s_per_gib"]
                        if base["server_cpu_s_per_gib"] else None}
            out["transfers"].append(row)
    if args.rtt_ms:
        out["rtt"] = summarize_rtt(args, out["transfers"])
    for s in servers:
        rs = [r for r in conns[s.kind] if "conn_s" in r]
        if rs:
            out["connections"][s.kind] = {
                "rounds": len(rs), "n": rs[0]["n"],
                "conn_s": med([r["conn_s"] for r in rs]),
                "median_ms": med([r["median_ms"] for r in rs]),
                "server_ms_per_conn": med([r["server_ms_per_conn"] for r in rs]),
                "client_ms_per_conn": med([r["client_ms_per_conn"] for r in rs])}
        else:
            out["connections"][s.kind] = {"error": s.unavailable or next(
                (r.get("error") for r in conns[s.kind]), "no sample")}
    return out


def table(header, rows):
    w = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).rjust(n) if i >= 2 else str(c).ljust(n)
                                           for i, (c, n) in enumerate(zip(cells, w))) + " |"
    out = [line(header), "|" + "|".join("-" * (n + 2) if i < 2 else "-" * (n + 1) + ":"
                                        for i, n in enumerate(w)) + "|"]
    return "\n".join(out + [line(r) for r in rows])


def f(v, fmt):
    return "-" if v is None else fmt % v


def report_keys(args, servers, summ):
    ks = summ.get("keystroke")
    if not ks:
        return
    log("")
    log("Keystroke echo through a PTY: 1 byte every %g ms, %d keys per round after %d warm-up, "
        "%d round%s pooled; ssh -tt (%s, %s), remote `stty raw -echo; dd bs=1`; "
        "latency = write to the local pty master until the byte is read back. No SSH: the "
        "same command on a local pty.%s" % (
            args.key_interval, args.keys, args.key_warmup, args.rounds, "s" * (args.rounds > 1),
            CIPHER_SHORT.get(args.ciphers[0], args.ciphers[0]), args.kex,
            " dsshd-dpdk: DataPoll %s." % (args.dpdk_poll or "adaptive (default)")
            if "dpdk" in args.backends else ""))
    hdr = ["workload", "server", "median us", "p99 us", "p90 us", "max us",
           "round medians us", "median vs sshd", "p99 vs sshd", "median - no SSH us",
           "srv CPU %"]
    rows = []
    for k in ["baseline"] + [s.kind for s in servers]:
        e = ks.get(k, {})
        c = ["keystroke", "no SSH (local pty)" if k == "baseline" else LABEL[k]]
        if "median_us" in e:
            rm = e["round_medians_us"]
            c += ["%.0f" % e["median_us"], "%.0f" % e["p99_us"], "%.0f" % e["p90_us"],
                  "%.0f" % e["max_us"],
                  "%.0f-%.0f" % (min(rm), max(rm)) if len(rm) > 1 else "%.0f" % rm[0],
                  f(e.get("median_vs_sshd"), "%.2fx"), f(e.get("p99_vs_sshd"), "%.2fx"),
                  f(e.get("median_over_baseline_us"), "%+.0f"),
                  f(e.get("server_core_pct"), "%.1f")]
        else:
            c += ["n/a"] * 9
        rows.append(c)
    log(table(hdr, rows))
    for k in ["baseline"] + [s.kind for s in servers]:
        e = ks.get(k, {})
        if "error" in e and k == "baseline":
            log("no-SSH baseline failed: %s" % e["error"])


def report(args, servers, summ, mhz, mhz_note):
    kinds = [s.kind for s in servers]
    if not summ["transfers"]:
        report_conns(args, servers, summ)
        return
    streams = [r for r in summ["transfers"] if r["workload"] in STREAM_WORKLOADS]
    files = [r for r in summ["transfers"] if r["workload"] in FILE_WORKLOADS]
    fwds = [r for r in summ["transfers"] if r["workload"] in FWD_WORKLOADS]
    cpu_what = ("everything in the server's cgroup v2" if summ.get("cpu_method", "")
                .startswith("cgroup") else "the server's utime+stime+cutime+cstime, its "
                "descendants and reaped orphans")
    par = args.parallel > 1
    # With --parallel N: what one measurement is, and what MB/s and cli% mean then.
    par_what = (" %d parallel sessions (x%d in the workload column) of %s each, all started "
                "at once;" % (args.parallel, args.parallel, fmt_size(args.size))) if par else ""
    mbs_what = ("aggregate MB/s = all sessions' bytes/1e6/s from the first start to the last "
                "end" if par else "MB/s = bytes/1e6/s")
    if streams:
        log("")
        log("Bulk transfer, %s medians over %d round%s (interleaved %s); %s." % (
            par_what.lstrip() if par else "%s per transfer," % fmt_size(args.size), args.rounds,
            "s" * (args.rounds > 1), " ".join(LABEL[k] for k in kinds), mbs_what))
        log("CPU s/GiB: %s per GiB moved (cycles/byte in brackets, at %s); cli%%: the client "
            "ssh's CPU as %% of one core%s." % (cpu_what, mhz_note,
                                               " (all sessions' summed)" if par else ""))
        log(transfer_table(args, kinds, streams))
    if files:
        log("")
        log("File transfer (tmpfs to tmpfs, %s random file%s, every transfer's bytes checked: "
            "%s),%s medians over %d round%s; sftp -b - put/get, scp (SFTP mode); %s." % (
                fmt_size(args.size), " per session, each its own source and destination"
                if par else "", "size + full sha256" if args.size <= FULL_HASH_MAX
                else "size + sha256 of first and last MiB", par_what, args.rounds,
                "s" * (args.rounds > 1), mbs_what))
        log("CPU s/GiB (c/B): %s, sftp-server children included, per GiB moved (cycles/byte "
            "at %s); cli%%: the client's CPU (sftp or scp and the ssh it runs%s) as %% of one "
            "core. sftp subsystem: %s." % (
                cpu_what, mhz_note, ", all sessions' summed" if par else "",
                "; ".join("%s %s" % (LABEL[k], v) for k, v in
                          summ.get("sftp_subsystem", {}).items())))
        log(transfer_table(args, kinds, files))
    drivers = [r for r in summ["transfers"] if r["workload"] in DRIVER_WORKLOADS]
    if drivers:
        log("")
        log("Driver: %s (%s per transfer; its exit status is the only check); CPU as above."
            % (args.driver_cmd, fmt_size(args.size)))
        log(transfer_table(args, kinds, drivers))
    if fwds:
        log("")
        log("Forwarding: ssh -W 127.0.0.1:PORT, a direct-tcpip channel (what -L and -D open) "
            "to a sink (fwd-up, head | ssh) or a source (fwd-down, ssh | wc -c) on the server "
            "host's loopback, %s per transfer, bytes counted at the far end; CPU as above." %
            fmt_size(args.size))
        log(transfer_table(args, kinds, fwds))
    for n in summ.get("notes", []):
        log("Note: %s" % n)
    report_rtt(args, summ)
    other = med([s["other_cores"] for row in summ["transfers"]
                 for s in row["servers"].values() if "other_cores" in s])
    if other is not None and other > 0.3:
        log("WARNING: %.2f cores (median) were busy with work other than the server, the client "
            "ssh and head during the transfers: another load shares this machine, so MB/s is "
            "depressed and noisy; CPU per byte and the ratios hold up better." % other)

    # Detail: spread, server and machine load.
    log("")
    log("Per server (medians; MB/s min-max over rounds; %ssrv%%/cli%%: server/client ssh CPU "
        "as %% of one core; machine: busy cores of %d; other: machine less server, client ssh "
        "and head, i.e. kernel threads and anything else running):" % (
            "aggregate MB/s of %d parallel sessions; session MB/s: each session's own, min "
            "median max over all rounds; " % args.parallel if par else "",
            os.cpu_count() or 0))
    hdr = ["workload", "cipher", "server", "MB/s", "min-max"] + \
        (["session MB/s"] if par else []) + \
        ["srv CPU s/GiB", "srv c/B", "srv%", "cli CPU s/GiB", "cli%", "machine", "other"]
    rows = []
    for row in summ["transfers"]:
        for k in kinds:
            s = row["servers"][k]
            c = [wl_cell(args, row["workload"]), CIPHER_SHORT.get(row["cipher"], row["cipher"]),
                 LABEL[k]]
            if "mb_s" in s:
                c += ["%.0f" % s["mb_s"], "%.0f-%.0f" % (s["mb_s_min"], s["mb_s_max"])]
                if par:
                    c += ["%.0f %.0f %.0f" % (s["session_mb_s_min"], s["session_mb_s_median"],
                                              s["session_mb_s_max"])]
                c += ["%.2f" % s["server_cpu_s_per_gib"], f(s["server_cycles_per_byte"], "%.1f"),
                      "%.0f" % s["server_core_pct"], "%.2f" % s["client_cpu_s_per_gib"],
                      "%.0f" % s["client_core_pct"], "%.2f" % s["machine_busy_cores"],
                      "%.2f" % s["other_cores"]]
            else:
                c += ["n/a"] * (10 if par else 9)
            rows.append(c)
    log(table(hdr, rows))
    log("Server CPU: %s." % summ.get("cpu_method", "?"))

    report_conns(args, servers, summ)


def report_rtt(args, summ):
    rt = summ.get("rtt")
    if not rt:
        return
    log("")
    log("High latency, RTT %g ms: dsshd-dpdk delays RX and TX by %g ms each (DataImpair, no "
        "loss). sshd and dsshd-kernel were not run (nothing delays kernel sockets here); their "
        "reference is the ceiling sshd's %d MiB session window imposes on one channel: "
        "2 MiB per RTT%s = %.1f MB/s. Downloads (download, sftp-get, scp-get) are bound by the "
        "ssh client's own window, the same 2 MiB in OpenSSH, whatever the server." % (
            args.rtt_ms, args.rtt_ms / 2, SSHD_WINDOW // MIB,
            " x %d parallel sessions" % args.parallel if args.parallel > 1 else "",
            rt["ceiling_mb_s"]))
    hdr = ["workload", "cipher", "dsshd-dpdk MB/s", "srv c/B", "KiB per RTT",
           "%s2 MiB/RTT MB/s" % ("%d x " % args.parallel if args.parallel > 1 else ""),
           "x ceiling"]
    # KiB per RTT: what was in flight on average, to compare with the windows
    # and TCP buffers of both ends.
    rows = [[wl_cell(args, r["workload"]), CIPHER_SHORT.get(r["cipher"], r["cipher"]),
             "%.1f" % r["mb_s"],
             f(r["server_cycles_per_byte"], "%.1f"),
             "%.0f" % (r["mb_s"] * 1e6 * args.rtt_ms / 1e3 / 1024), "%.1f" % rt["ceiling_mb_s"],
             "%.2fx" % r["x_ceiling"]] for r in rt["dpdk"]]
    if rows:
        log(table(hdr, rows))
    else:
        log("(no dsshd-dpdk transfer completed)")
    put = [r for r in rt["dpdk"] if r["workload"] == "sftp-put"]
    for r in put:
        log("dsshd-dpdk sftp-put%s (%s) at RTT %g ms: %.1f MB/s = %.2fx the 2 MiB/RTT ceiling "
            "of sshd%s." % (" x%d" % args.parallel if args.parallel > 1 else "",
                            CIPHER_SHORT.get(r["cipher"], r["cipher"]), args.rtt_ms, r["mb_s"],
                            r["x_ceiling"], " (per session)" if args.parallel > 1 else ""))


def wl_cell(args, workload):
    """A table's workload cell: with --parallel N, "upload x4"."""
    return "%s x%d" % (workload, args.parallel) if args.parallel > 1 else workload


def transfer_table(args, kinds, transfers):
    """Per server MB/s, server CPU s/GiB (cycles/byte), client CPU %; ratios vs sshd."""
    hdr = ["workload", "cipher"]
    for k in kinds:
        hdr += ["%s MB/s" % LABEL[k], "%s CPU s/GiB (c/B)" % LABEL[k], "%s cli%%" % LABEL[k]]
    for k in ("kernel", "dpdk"):
        if k in kinds and "sshd" in kinds:
            hdr += ["%s/sshd MB/s" % LABEL[k], "%s/sshd CPU/B" % LABEL[k]]
    rows = []
    for row in transfers:
        cells = [wl_cell(args, row["workload"]), CIPHER_SHORT.get(row["cipher"], row["cipher"])]
        for k in kinds:
            s = row["servers"][k]
            if "mb_s" in s:
                cells += ["%.0f" % s["mb_s"],
                          "%.2f (%s)" % (s["server_cpu_s_per_gib"],
                                         f(s["server_cycles_per_byte"], "%.1f")),
                          "%.0f" % s["client_core_pct"]]
            else:
                cells += ["n/a", "n/a", "n/a"]
        for k in ("kernel", "dpdk"):
            if k in kinds and "sshd" in kinds:
                r = row.get("%s_vs_sshd" % k)
                cells += [f(r and r["mb_s_ratio"], "%.2fx"),
                          f(r and r["cpu_per_byte_ratio"], "%.2fx")] if r else ["n/a", "n/a"]
        rows.append(cells)
    return table(hdr, rows)


def summarize_socks(args, servers, res):
    out = {}
    for s in servers:
        rs = [r for r in res.get(s.kind, ()) if "conn_s" in r]
        if rs:
            out[s.kind] = {"rounds": len(rs), "conn_s": med([r["conn_s"] for r in rs]),
                           "server_ms_per_conn": med([r["server_ms_per_conn"] for r in rs])}
        elif s.kind in res or s.unavailable:
            out[s.kind] = {"error": s.unavailable or next(
                (r.get("error") for r in res.get(s.kind, ())), "no sample")}
    return out


def report_socks(args, servers, summ):
    if "socks" not in args.workloads:
        return
    log("")
    log("SOCKS5 through ssh -D: %d connections per round, %d at once, each a 100-byte request "
        "and a 1000-byte reply (127.0.0.1 on the server host); medians over rounds:"
        % (args.socks_conns, args.socks_parallel))
    hdr = ["server", "conn/s", "srv CPU ms/conn", "conn/s vs sshd", "CPU/conn vs sshd"]
    rows = []
    base = summ["socks"].get("sshd", {})
    for s in servers:
        x = summ["socks"].get(s.kind, {})
        if "conn_s" not in x:
            rows.append([LABEL[s.kind], "n/a", "n/a", "-", "-"])
            continue
        rows.append([LABEL[s.kind], "%.1f" % x["conn_s"], "%.2f" % x["server_ms_per_conn"],
                     "%.2fx" % (x["conn_s"] / base["conn_s"]) if "conn_s" in base else "-",
                     "%.2fx" % (x["server_ms_per_conn"] / base["server_ms_per_conn"])
                     if "conn_s" in base else "-"])
    log(table(hdr, rows))


def report_conns(args, servers, summ):
    kinds = [s.kind for s in servers]
    if args.conns:
        log("")
        log("Connections: %d sequential `ssh host true` (%s, ed25519 keys) per "
            "round, medians over rounds:" % (args.conns, args.kex))
        hdr = ["workload", "kex", "server", "conn/s", "median ms", "srv CPU ms/conn",
               "cli CPU ms/conn", "conn/s vs sshd"]
        rows = []
        base = summ["connections"].get("sshd", {})
        for k in kinds:
            s = summ["connections"][k]
            c = ["connect", args.kex.split("-")[0], LABEL[k]]
            if "conn_s" in s:
                c += ["%.2f" % s["conn_s"], "%.1f" % s["median_ms"],
                      "%.1f" % s["server_ms_per_conn"], "%.1f" % s["client_ms_per_conn"],
                      "%.2fx" % (s["conn_s"] / base["conn_s"]) if "conn_s" in base else "-"]
            else:
                c += ["n/a"] * 5
            rows.append(c)
        log(table(hdr, rows))

    report_keys(args, servers, summ)
    for s in servers:
        if s.unavailable:
            log("%s: not available: %s" % (s.name, s.unavailable))
        if s.orphans:
            log("# %s: %d orphaned descendant(s) (%s) reaped by the benchmark as subreaper, "
                "%s" % (s.name, s.orphans, ", ".join("%s x%d" % kv for kv in sorted(
                    s.orphan_names.items())), "their CPU counted in the server's cgroup"
                    if summ.get("cpu_method", "").startswith("cgroup")
                    else "their %.2f s CPU counted as the server's" % s.orphan_cpu))


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(
        description="Bulk-transfer benchmark: sshd vs dsshd (kernel, DPDK), same ssh client.")
    ap.add_argument("--dsshd", default=None,
                    help="dsshd binary (default %s, built with meson/ninja if absent)"
                    % DEFAULT_DSSHD)
    ap.add_argument("--sshd", default="/usr/sbin/sshd")
    ap.add_argument("--backends", default="sshd,kernel,dpdk",
                    help="comma list of sshd,kernel,dpdk (default all, in that order)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 3)")
    ap.add_argument("--size", type=parse_size, default=None,
                    help="bytes per transfer, K/M/G = 2^10/2^20/2^30 (default 1G)")
    ap.add_argument("--ciphers",
                    default="aes128-gcm@openssh.com,chacha20-poly1305@openssh.com")
    ap.add_argument("--workloads", default="upload,download,keystroke",
                    help="comma list of upload,download,sftp-put,sftp-get,scp-put,scp-get,"
                    "keystroke; groups: streams (upload,download), files (the sftp and scp "
                    "ones), all (default upload,download,keystroke)")
    ap.add_argument("--parallel", type=int, default=1, metavar="N",
                    help="transfer workloads run N identical sessions at once (each its own "
                    "ssh/sftp/scp and files, each checked); MB/s is the aggregate, first start "
                    "to last end, server CPU per byte over them all (default 1)")
    ap.add_argument("--dsshd-sftp", default="internal-sftp", metavar="CMD",
                    help="dsshd's Subsystem sftp command (default internal-sftp; when dsshd "
                    "fails to start or to serve sftp with it: %s, noted)" % SFTP_SERVER)
    ap.add_argument("--driver-cmd", metavar="TEMPLATE",
                    help="client command of the 'driver' workload (e.g. dssh-load), run in "
                    "the client namespace; {host} {port} {user} {key} {cipher} {mac} {kex} "
                    "{size} are filled in; it must move SIZE bytes and exit 0")
    ap.add_argument("--rtt-ms", type=float, default=0, metavar="N",
                    help="high-latency case: dsshd-dpdk delays each direction by N/2 ms "
                    "(DataImpair); sshd and dsshd-kernel are not run (no netem), the 2 MiB/RTT "
                    "ceiling of sshd's window is the reference (default 0: off)")
    ap.add_argument("--cpu-method", choices=("auto", "cgroup", "proc"), default="auto",
                    help="server CPU from a cgroup v2 per server (cgroup), /proc of the server "
                    "and its descendants (proc), or cgroup when usable (auto, the default)")
    ap.add_argument("--keys", type=int, default=500,
                    help="keystroke: measured keys per server and round (default 500)")
    ap.add_argument("--key-warmup", type=int, default=20,
                    help="keystroke: warm-up keys before those, not counted (default 20)")
    ap.add_argument("--key-interval", type=float, default=10.0, metavar="MS",
                    help="keystroke: milliseconds between keys (default 10)")
    ap.add_argument("--dpdk-poll", choices=("adaptive", "busy"), default=None,
                    help="DataPoll for dsshd-dpdk (default: dsshd's own, adaptive)")
    ap.add_argument("--conns", type=int, default=None,
                    help="sequential connections per round (default 50, 20 with --quick; 0: none)")
    ap.add_argument("--socks-conns", type=int, default=None,
                    help="socks: measured connections per server and round (default 2000, "
                    "500 with --quick)")
    ap.add_argument("--socks-parallel", type=int, default=16,
                    help="socks: SOCKS5 client threads at once (default 16)")
    ap.add_argument("--kex", default="curve25519-sha256",
                    help="KexAlgorithms of every client (default curve25519-sha256)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 256M, 1 round")
    ap.add_argument("--json", metavar="FILE", help="write samples and medians as JSON")
    ap.add_argument("--user", default=USER,
                    help="the test user the clients log in as (created if missing; default "
                    "%s)" % USER)
    ap.add_argument("--subnet", default="198.18.40",
                    help="first three octets of the /24 used (must be in 198.18.0.0/15)")
    ap.add_argument("--data-cores", type=int, default=1, help="DataCores for dsshd-dpdk")
    ap.add_argument("--mtu", type=int, default=0,
                    help="link MTU of the veth for every server (and DataMTU for dsshd-dpdk); "
                         "0: the default 1500")
    ap.add_argument("--dpdk-port", choices=("af_packet", "af_xdp"), default="af_packet",
                    help="dsshd-dpdk's port on the veth: net_af_packet (default: it costs "
                         "the server less per byte here, see docs/performance.md) or net_af_xdp")
    ap.add_argument("--dpdk-opt", action="append", default=[], metavar="'KEYWORD VALUE'",
                    help="an extra dsshd option for dsshd-dpdk (repeatable), e.g. "
                         "'DataChannels control'")
    ap.add_argument("--dpdk-args-extra", default="",
                    help="extra EAL arguments appended to DpdkArgs for dsshd-dpdk")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="S",
                    help="before each transfer wait up to S s for the machine to be idle "
                    "(for shared machines; default 0: don't wait)")
    ap.add_argument("--keep-logs", action="store_true", help="keep the temp dir with server logs")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,30}", args.user):
        ap.error("--user: not a user name")
    globals()["USER"] = args.user

    args.rounds = args.rounds or (1 if args.quick else 3)
    args.size = args.size or parse_size("256M" if args.quick else "1G")
    args.conns = args.conns if args.conns is not None else (20 if args.quick else 50)
    args.socks_conns = args.socks_conns or (500 if args.quick else 2000)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.ciphers = [c.strip() for c in args.ciphers.split(",") if c.strip()]
    wl = []
    for w in (w.strip() for w in args.workloads.split(",")):
        for x in WORKLOAD_GROUPS.get(w, (w,) if w else ()):
            if x not in wl:
                wl.append(x)
    args.workloads = wl
    for b in args.backends:
        if b not in ALL_BACKENDS:
            ap.error("unknown backend %r (sshd, kernel, dpdk)" % b)
    for w in args.workloads:
        if w not in ALL_WORKLOADS:
            ap.error("unknown workload %r (%s)" % (w, ", ".join(ALL_WORKLOADS)))
    if args.rtt_ms < 0 or args.rtt_ms / 2 > 60000:
        ap.error("--rtt-ms must be between 0 and 120000")
    if args.rtt_ms and "dpdk" not in args.backends:
        ap.error("--rtt-ms delays only dsshd-dpdk: include dpdk in --backends")
    if ("driver" in args.workloads) != bool(args.driver_cmd):
        ap.error("the driver workload and --driver-cmd go together")
    if not 1 <= args.parallel <= 64:
        ap.error("--parallel must be between 1 and 64")
    if not args.dsshd_sftp.strip():
        ap.error("--dsshd-sftp must not be empty")
    if args.keys < 1 or args.key_warmup < 0 or args.key_interval <= 0:
        ap.error("--keys must be >= 1, --key-warmup >= 0, --key-interval > 0")
    m = re.fullmatch(r"198\.(18|19)\.(\d+)", args.subnet)
    if not m or int(m.group(2)) > 255:
        ap.error("--subnet must be 198.18.X or 198.19.X (RFC 2544 benchmarking range)")

    if args.dsshd is None:
        args.dsshd = DEFAULT_DSSHD
        if not os.path.exists(args.dsshd) and any(b != "sshd" for b in args.backends):
            log("# %s absent: building build-rel" % args.dsshd)
            if not os.path.exists(os.path.join(ROOT, "build-rel", "build.ninja")):
                subprocess.run(["meson", "setup", "build-rel", "--buildtype=release"],
                               cwd=ROOT, check=True)
            subprocess.run(["ninja", "-C", "build-rel"], cwd=ROOT, check=True)
    args.dsshd = os.path.abspath(args.dsshd)
    if any(b != "sshd" for b in args.backends) and not os.access(args.dsshd, os.X_OK):
        sys.exit("bench_bulk: no dsshd at %s" % args.dsshd)
    if "sshd" in args.backends and not os.access(args.sshd, os.X_OK):
        sys.exit("bench_bulk: no sshd at %s" % args.sshd)

    ci = cpu_info()
    mhz = ci["mhz"]
    mhz_note = ("%.1f MHz, 'cpu MHz' of /proc/cpuinfo%s" % (
        mhz, " (%s: the TSC rate)" % " ".join(ci["flags"]) if "constant_tsc" in ci["flags"]
        else "")) if mhz else "unknown clock"

    def on_signal(sig, frame):
        raise KeyboardInterrupt("signal %d" % sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    bench = Bench(args)
    interrupted = False
    try:
        bench.setup()
        ver = sh([SSH, "-V"], check=False).stdout.strip()
        rev = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
        log("# %s, %d CPUs, kernel %s; client %s; dsshd %s (%s); netns %s, veth %s/%s, "
            "server %s, client %s" % (ci["model"], ci["ncpu"], platform.release(), ver,
                                      args.dsshd, rev or "?", bench.net.ns, bench.net.vh,
                                      bench.net.vn, bench.net.host_ip, bench.net.ns_ip))
        log("# %s%s%d rounds, ciphers %s, workloads %s, backends %s%s%s%s" % (
            "%s x " % fmt_size(args.size) if any(w in TRANSFER_WORKLOADS for w in args.workloads)
            else "", "%d parallel sessions x " % args.parallel
            if args.parallel > 1 and any(w in TRANSFER_WORKLOADS for w in args.workloads)
            else "", args.rounds, ",".join(args.ciphers), ",".join(args.workloads),
            ",".join(LABEL[b] for b in args.backends),
            ", DataPoll %s" % args.dpdk_poll if args.dpdk_poll else "",
            "".join(", %s" % o for o in args.dpdk_opt),
            ", RTT %g ms (dsshd-dpdk DataImpair \"%s\"; client netns tcp_rmem / tcp_wmem %s)"
            % (args.rtt_ms, bench.impair, bench.rtt_sysctl) if args.rtt_ms else ""))
        log("# server CPU: %s" % bench.acct.describe())
        if bench.files:
            log("# files: tmpfs %s (client) and %s (server), %s%s random source%s, checked by %s"
                % (bench.files.cli, bench.files.srv, "%d x " % args.parallel
                   if args.parallel > 1 else "", fmt_size(args.size), "s" * (args.parallel > 1),
                   "size and full sha256" if bench.files.full
                   else "size and sha256 of the first and last MiB"))
        b0, t0 = machine_jiffies()
        time.sleep(1)
        b1, t1 = machine_jiffies()
        busy = (b1 - b0) / CLK_TCK
        log("# machine busy before the run: %.2f of %d cores%s" % (
            busy, ci["ncpu"], "  <-- something else is running: figures will be noisy"
            if busy > 0.25 else ""))
        samples, conns, keys = bench.run()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        bench.cleanup()
    if interrupted:
        log("bench_bulk: interrupted; cleaned up")
        return 130

    summ = summarize(args, bench.servers, samples, conns, mhz, keys)
    summ["cpu_method"] = bench.acct.describe()
    summ["sftp_subsystem"] = {s.kind: s.sftp for s in bench.servers if s.ran}
    summ["notes"] = [s.sftp_note for s in bench.servers if s.sftp_note]
    summ["socks"] = summarize_socks(args, bench.servers, bench.socks_res)
    report(args, bench.servers, summ, mhz, mhz_note)
    report_socks(args, bench.servers, summ)
    if args.json:
        doc = {
            "config": {"size": args.size, "parallel": args.parallel, "rounds": args.rounds,
                       "ciphers": args.ciphers,
                       "workloads": args.workloads, "backends": args.backends,
                       "conns": args.conns, "dsshd": args.dsshd, "sshd": args.sshd,
                       "data_cores": args.data_cores, "dpdk_args_extra": args.dpdk_args_extra,
                       "dpdk_poll": args.dpdk_poll, "mtu": args.mtu, "keys": args.keys,
                       "key_warmup": args.key_warmup, "key_interval_ms": args.key_interval,
                       "dsshd_sftp": args.dsshd_sftp, "rtt_ms": args.rtt_ms,
                       "data_impair": bench.impair, "cpu_method": args.cpu_method,
                       "client_tcp_mem": getattr(bench, "rtt_sysctl", None),
                       "netem": bench.netem},
            "machine": {"cpu": ci, "kernel": platform.release(), "clock_mhz": mhz,
                        "clock_note": mhz_note},
            "unavailable": {s.kind: s.unavailable for s in bench.servers if s.unavailable},
            "orphans": {s.kind: {"n": s.orphans, "cpu_s": s.orphan_cpu,
                                 "names": s.orphan_names}
                        for s in bench.servers},
            "summary": summ,
            "samples": samples,
            "connections": conns,
            "keystrokes": keys,
            "socks": bench.socks_res,
        }
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=1)
        log("# JSON written to %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
