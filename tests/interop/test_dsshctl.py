#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dsshctl and the metrics endpoint against a running dsshd (dsshd only).

- The control socket is root's, mode 0600; a half-closed request is
  answered, garbage, an unknown command and an oversized line get errors; a peer other than root is
  refused: through the file mode, and with the mode opened up by the test,
  by dsshd itself (SO_PEERCRED: "permission denied", a log line).
- Two `ssh host cat` sessions (aes256-gcm and chacha20-poly1305) are listed
  by `dsshctl sessions` with the user, the client's address and source port
  (as the session's $SSH_CLIENT says) and each one's cipher.
- 4 MiB through one session: `dsshctl stats` totals of bytes received and
  sent grow by at least that much, and that session's own counters too.
- `dsshctl kill ID` ends exactly that session (its ssh exits, the log has
  "Disconnecting user ... killed by dsshctl"), the other one still echoes;
  an unknown id fails.
- `dsshctl watch --count 2` without a terminal prints two refreshes.
- `curl http://127.0.0.1:PORT/metrics`: Prometheus text (HELP, TYPE,
  counters with _total, loop labels; with the data plane core labels) whose
  bytes counters grow with a transfer; another path gets 404; garbage is
  closed without a reply; dsshd still answers afterwards.
- With the data plane, DPDK telemetry (/dssh/stats, per core, /dssh/limits,
  /dssh/arp) answers as dpdk-telemetry.py asks, with every counter dsshctl
  shows.
- SIGTERM: the socket file is gone.
"""

import json
import os
import re
import select
import socket
import stat
import subprocess
import time

import dssh_harness as h

SIZE = 4 << 20
# On the data plane an exec session's data moves on the data core, which
# reports what it took and sealed to the engine's counters every 256 KiB
# (lib/recpump: CHAN_COUNT): the engine's view lags by up to that much;
# the data core's own counters (checked too) do not.
DP_LAG = 256 << 10


class CatSession:
    """`ssh host 'echo $SSH_CLIENT; exec cat'`: the client's own address and
    port, then what is written comes back."""

    def __init__(self, srv, env, cipher):
        self.p = subprocess.Popen(
            h.ssh_argv(srv, env, opts=["Ciphers=%s" % cipher],
                       command='echo "$SSH_CLIENT"; exec cat'),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        line = self.read_line(30)
        parts = line.split()
        h.check(len(parts) == 3, "SSH_CLIENT line %r" % line)
        self.addr, self.port = parts[0].decode(), int(parts[1])
        self.cipher = cipher

    def read_line(self, timeout):
        got, deadline = b"", time.time() + timeout
        while not got.endswith(b"\n") and time.time() < deadline:
            ready, _, _ = select.select([self.p.stdout], [], [], 0.5)
            if ready:
                chunk = os.read(self.p.stdout.fileno(), 1)
                if not chunk:
                    break
                got += chunk
        return got

    def echo(self, line):
        self.p.stdin.write(line + b"\n")
        self.p.stdin.flush()
        h.check_eq(self.read_line(20), line + b"\n", "the session echoes")

    def transfer(self, size):
        """size bytes through cat and back."""
        block = os.urandom(64 << 10)
        fd_in, fd_out = self.p.stdin.fileno(), self.p.stdout.fileno()
        sent = got = 0
        deadline = time.time() + 120
        while got < size and time.time() < deadline:
            w = [fd_in] if sent < size else []
            r, w, _ = select.select([fd_out], w, [], 1)
            if w:
                sent += os.write(fd_in, block[:min(len(block), size - sent)])
            if r:
                n = len(os.read(fd_out, 1 << 20))
                h.check(n > 0, "the session ended during the transfer")
                got += n
        h.check_eq(got, size, "bytes echoed")

    def finish(self):
        return h.end_ssh(self.p)


def ctl(srv, *args, user=None, check=True):
    argv = [ARGS.dsshctl, "-s", srv.ctl_path] + list(args)
    if user:
        argv = ["setpriv", "--reuid", user, "--regid", user, "--clear-groups"] + argv
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    if check and r.returncode != 0:
        raise h.TestFailure("dsshctl %s: %s" % (" ".join(args), h.describe(r)))
    return r


def ctl_json(srv, *args):
    return json.loads(ctl(srv, "--json", *args).stdout)


def total(srv):
    return [r for r in ctl_json(srv, "stats") if r["type"] == "total"][0]


def dp_total(srv):
    """The data plane's totals (None without it)."""
    rows = [r for r in ctl_json(srv, "stats") if r["type"] == "dataplane"]
    return rows[0] if rows else None


def wait_for(what, fn, timeout=15):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            raise h.TestFailure("timed out waiting for " + what)
        time.sleep(0.3)


def sessions_of(srv, sess):
    """The rows of dsshctl sessions for these sessions (by source port), once
    every one is listed as authenticated."""
    def find():
        rows = {r["port"]: r for r in ctl_json(srv, "sessions")
                if r["authenticated"] and r["addr"] == sess[0].addr}
        return rows if all(s.port in rows for s in sess) else None
    return wait_for("dsshctl sessions to list both sessions", find)


def socket_is_roots(srv, env):
    st = os.stat(srv.ctl_path)
    h.check(stat.S_ISSOCK(st.st_mode), "not a socket")
    h.check_eq(oct(st.st_mode & 0o777), oct(0o600), "control socket mode")
    h.check_eq(st.st_uid, 0, "control socket owner")
    r = ctl(srv, "stats", user=h.TEST_USER, check=False)
    h.check_eq(r.returncode, 1, "dsshctl as %s through a 0600 socket" % h.TEST_USER)
    h.check(b"Permission denied" in r.stderr, "stderr %r" % r.stderr)
    # With the file opened to everybody, dsshd's own check refuses the peer.
    off = srv.log_size()
    os.chmod(srv.ctl_path, 0o666)
    try:
        r = ctl(srv, "stats", user=h.TEST_USER, check=False)
    finally:
        os.chmod(srv.ctl_path, 0o600)
    h.check_eq(r.returncode, 1, "dsshctl as %s (SO_PEERCRED)" % h.TEST_USER)
    h.check(b"permission denied" in r.stderr, "stderr %r" % r.stderr)
    h.check_eq(r.stdout, b"", "stdout of a refused dsshctl")
    uid = h.pwd.getpwnam(h.TEST_USER).pw_uid
    srv.wait_log(r"control socket: refused peer uid %d " % uid, off)
    # root still gets an answer
    h.check("type" in ctl_json(srv, "stats")[0], "root's stats")
    # the protocol itself: a half-closed request, garbage, an oversized line
    h.check(raw_request(srv, b'{"cmd":"sessions"}\n', half_close=True)
            .endswith(b'{"end":true}\n'), "half-closed request")
    h.check_eq(raw_request(srv, b'{"cmd":sessions}\n'),
               b'{"end":true,"error":"bad request"}\n', "garbage request")
    h.check_eq(raw_request(srv, b'{"cmd":"reboot"}\n'),
               b'{"end":true,"error":"unknown command"}\n', "unknown command")
    h.check_eq(raw_request(srv, b'{"cmd":"' + b"x" * 8000 + b'"}\n'),
               b'{"end":true,"error":"request too long"}\n', "oversized request")


def raw_request(srv, data, half_close=False):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(srv.ctl_path)
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass        # answered and closed before all of it was sent
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return got
            got += chunk


def sessions_listed(srv, sess):
    rows = sessions_of(srv, sess)
    for s in sess:
        r = rows[s.port]
        h.check_eq(r["user"], h.TEST_USER, "user of the session on port %d" % s.port)
        h.check_eq(r["addr"], s.addr, "source address")
        h.check_eq(r["cipher"], s.cipher, "cipher of the session on port %d" % s.port)
        h.check(r["channels"] >= 1, "channels %r" % r["channels"])
        want = "dpdk" if h.Server.dataplane else "kernel"
        h.check_eq(r["transport"], want, "transport")
        h.check_eq("core" in r, bool(h.Server.dataplane), "a data core named")
    # the table form names them too
    out = ctl(srv, "sessions").stdout.decode()
    for s in sess:
        h.check(re.search(r"\b%s\b.*%s:%d\s.*%s" % (h.TEST_USER, re.escape(s.addr), s.port,
                                                    re.escape(s.cipher)), out),
                "table lacks the session on port %d:\n%s" % (s.port, out))


def metrics(port, path="/metrics"):
    r = subprocess.run(["curl", "-s", "-m", "10", "-o", "-", "-w", "\n%{http_code}",
                        "http://127.0.0.1:%d%s" % (port, path)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    h.check_eq(r.returncode, 0, "curl exit status (%r)" % r.stderr)
    body, _, code = r.stdout.decode().rpartition("\n")
    return int(code), body


def metric_sum(body, name):
    vals = [float(m.group(1)) for m in
            re.finditer(r"^%s(?:\{[^}]*\})? (\S+)$" % re.escape(name), body, re.M)]
    h.check(vals, "no %s in the metrics" % name)
    return sum(vals)


def stats_move(srv, sess, mport):
    lag = DP_LAG if h.Server.dataplane else 0
    before = total(srv)
    core0 = dp_total(srv)
    code, body = metrics(mport)
    h.check_eq(code, 200, "GET /metrics")
    m_in, m_out = metric_sum(body, "dssh_bytes_in_total"), metric_sum(body, "dssh_bytes_out_total")
    row0 = sessions_of(srv, sess)[sess[0].port]
    sess[0].transfer(SIZE)

    def grown():
        t = total(srv)
        return t if (t["bytes_in"] >= before["bytes_in"] + SIZE - lag and
                     t["bytes_out"] >= before["bytes_out"] + SIZE - lag) else None
    after = wait_for("stats totals to grow by %d bytes" % SIZE, grown)
    h.check(after["packets_in"] > before["packets_in"], "packets_in did not grow")
    h.check(after["connections"] >= 2 and after["authenticated"] >= 2,
            "connections %r" % after)
    row1 = sessions_of(srv, sess)[sess[0].port]
    h.check(row1["bytes_in"] >= row0["bytes_in"] + SIZE - lag, "session bytes_in %r -> %r"
            % (row0["bytes_in"], row1["bytes_in"]))
    h.check(row1["bytes_out"] >= row0["bytes_out"] + SIZE - lag, "session bytes_out")
    code, body = metrics(mport)
    h.check_eq(code, 200, "GET /metrics")
    h.check(metric_sum(body, "dssh_bytes_in_total") >= m_in + SIZE - lag, "metrics bytes in")
    h.check(metric_sum(body, "dssh_bytes_out_total") >= m_out + SIZE - lag, "metrics bytes out")
    table = ctl(srv, "stats").stdout.decode()
    h.check(re.search(r"^total\s+\d+", table, re.M), "stats table:\n" + table)
    if h.Server.dataplane:
        def core_grown():
            t = dp_total(srv)
            return t if all(t[k] >= core0[k] + SIZE for k in
                            ("rx_bytes", "tx_bytes", "stream_rx_bytes")) else None
        after = wait_for("the data cores' byte counters to grow by %d" % SIZE, core_grown)
        h.check(after["ssh_burst_ops"] > core0["ssh_burst_ops"], "crypto ops did not grow")
        h.check(after["mbuf_in_use"] > 0, "mbufs in use %r" % after["mbuf_in_use"])
        cores = [r for r in ctl_json(srv, "stats") if r["type"] == "core"]
        h.check(cores and cores[0]["rx_bytes"] >= SIZE, "data core rx_bytes %r" % cores[:1])
        h.check("CORE" in table and "mbufs in use" in table, "stats table:\n" + table)


def metrics_format(srv, mport):
    code, body = metrics(mport)
    h.check_eq(code, 200, "GET /metrics")
    for want in ("# HELP dssh_connections_total ", "# TYPE dssh_connections_total counter",
                 "# TYPE dssh_connections_active gauge",
                 "# TYPE dssh_limits_startups_dropped_total counter"):
        h.check(want in body, "metrics lack %r" % want)
    h.check(re.search(r'^dssh_bytes_in_total\{loop="0"\} \d+$', body, re.M), "loop label")
    if h.Server.dataplane:
        h.check(re.search(r'^dssh_dataplane_rx_frames_total\{core="0"\} \d+$', body, re.M),
                "core label")
        h.check(re.search(r'^dssh_dataplane_mbuf_in_use \d+$', body, re.M), "mbufs in use")
    # every sample line belongs to a family announced by TYPE
    types = re.findall(r"^# TYPE (\S+) (?:counter|gauge)$", body, re.M)
    families = set(types)
    h.check_eq(len(types), len(families), "families announced twice")
    h.check_eq(len(re.findall(r"^# HELP ", body, re.M)), len(types), "HELP lines")
    h.check(all(t.endswith("_total") for t in re.findall(r"^# TYPE (\S+) counter$", body, re.M)),
            "a counter without _total")
    for line in body.splitlines():
        if line and not line.startswith("#"):
            h.check(re.match(r"^([a-z0-9_]+)(\{[^}]*\})? \d+$", line) and
                    re.match(r"^[a-z0-9_]+", line).group(0) in families, "line %r" % line)
    code, _ = metrics(mport, "/other")
    h.check_eq(code, 404, "GET /other")
    # garbage: closed without a reply
    with socket.create_connection(("127.0.0.1", mport), timeout=10) as s:
        s.sendall(b"\x16\x03\x01\x00\xa5garbage\r\n\r\n")
        h.check_eq(s.recv(100), b"", "reply to garbage")
    # an oversized head: closed
    with socket.create_connection(("127.0.0.1", mport), timeout=10) as s:
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\n" + b"X-A: b\r\n" * 2000)
            h.check_eq(s.recv(100), b"", "reply to a 16 KB head")
        except (ConnectionResetError, BrokenPipeError):
            pass
    code, _ = metrics(mport)
    h.check_eq(code, 200, "GET /metrics after bad requests")
    # 20 idle scrapers (more than the endpoint serves at once): dsshctl still answers
    idle = [socket.create_connection(("127.0.0.1", mport), timeout=10) for _ in range(20)]
    try:
        time.sleep(0.5)
        h.check("type" in ctl_json(srv, "stats")[0], "stats with the metrics endpoint full")
    finally:
        for s in idle:
            s.close()


def kill_one(srv, sess):
    rows = sessions_of(srv, sess)
    victim, other = sess
    off = srv.log_size()
    ctl(srv, "kill", str(rows[victim.port]["id"]))
    try:
        victim.p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        raise h.TestFailure("the killed session's ssh did not exit")
    h.check(victim.p.returncode != 0, "killed ssh exit status %r" % victim.p.returncode)
    srv.wait_log(r"Disconnecting user %s %s port %d: killed by dsshctl"
                 % (h.TEST_USER, re.escape(victim.addr), victim.port), off)
    other.echo(b"still here")
    h.check(other.p.poll() is None, "the other session ended")
    wait_for("the killed session to leave the list", lambda: all(
        r["port"] != victim.port for r in ctl_json(srv, "sessions")))
    r = ctl(srv, "kill", "987654321", check=False)
    h.check_eq(r.returncode, 1, "kill of an unknown id")
    h.check(b"no such session" in r.stderr, "stderr %r" % r.stderr)
    h.check(total(srv)["kills"] == 1, "kills counter")


def telemetry(srv, cmd):
    """DPDK telemetry as dpdk-telemetry.py asks it (its v2 socket)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.settimeout(5)
        s.connect("/var/run/dpdk/%s/dpdk_telemetry.v2" % srv.eal_prefix)
        s.recv(16384)
        s.send(cmd.encode())
        return json.loads(s.recv(1 << 20).decode())[cmd.split(",")[0]]


def telemetry_unchanged(srv):
    """The telemetry commands answer as before, with the counters dsshctl shows."""
    ours = dp_total(srv)
    st = telemetry(srv, "/dssh/stats")
    for k in ("rx_frames", "tx_frames", "tcp_retransmits", "ssh_bursts", "mbuf_in_use", "cores"):
        h.check(k in st, "/dssh/stats lacks %s" % k)
    for k in ours:
        if k != "type":
            h.check(k in st, "/dssh/stats lacks dsshctl's %s" % k)
    h.check(st["rx_frames"] >= ours["rx_frames"], "telemetry rx_frames went back")
    h.check("rx_frames" in telemetry(srv, "/dssh/stats,0"), "/dssh/stats,0")
    lim = telemetry(srv, "/dssh/limits")
    h.check("startups_dropped" in lim, "/dssh/limits %r" % lim)
    h.check(isinstance(telemetry(srv, "/dssh/arp"), list), "/dssh/arp")


def watch(srv):
    r = ctl(srv, "watch", "--count", "2")
    out = r.stdout.decode()
    h.check_eq(out.count("dsshctl watch:"), 2, "refreshes in:\n" + out)
    h.check("\033[" not in out, "screen control without a terminal")
    h.check_eq(len(re.findall(r"^LOOP\s", out, re.M)), 2, "tables in:\n" + out)
    h.check(len(re.findall(r"^total\s", out, re.M)) >= 2, "totals in:\n" + out)


def body(args, env):
    global ARGS
    ARGS = args
    if args.kind != "dsshd":
        h.skip("dsshctl talks to dsshd only")
    if not os.access(args.dsshctl, os.X_OK):
        h.skip("no dsshctl at %s" % args.dsshctl)
    res = h.Results()
    mport = h.free_port()
    with h.Server(args.server, args.kind, name="dsshctl",
                  extra=["MetricsListen 127.0.0.1:%d" % mport]) as srv:
        res.server = srv
        res.run("socket-is-roots", socket_is_roots, srv, env)
        sess = [CatSession(srv, env, "aes256-gcm@openssh.com"),
                CatSession(srv, env, "chacha20-poly1305@openssh.com")]
        try:
            res.run("sessions-listed", sessions_listed, srv, sess)
            res.run("metrics-format", metrics_format, srv, mport)
            res.run("stats-move", stats_move, srv, sess, mport)
            res.run("watch", watch, srv)
            if h.Server.dataplane:
                res.run("telemetry-unchanged", telemetry_unchanged, srv)
            res.run("kill", kill_one, srv, sess)
        finally:
            for s in sess:
                s.finish()
        srv.stop()
        res.run("socket-removed", lambda: h.check(not os.path.exists(srv.ctl_path),
                                                  "socket file left behind"))
        res.finish(srv)


def add_args(p):
    p.add_argument("--dsshctl", required=True, help="the dsshctl binary")


if __name__ == "__main__":
    h.main(__doc__, body, add_args)
