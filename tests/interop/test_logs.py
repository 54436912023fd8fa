#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dsshd's log as sshd's, and sshd's login accounting.

- auth events: failed passwords, invalid users, a failed and an accepted
  publickey, an accepted password, disconnects; the lines must read as
  OpenSSH 9.2's sshd writes them, and Debian's fail2ban-regex with the stock
  sshd filter (unmodified, its daemon name set to dsshd) must report exactly
  the failed attempts.
- per-connection log identity: two connections from different loopback
  addresses (127.0.0.2, 127.0.0.3) whose lines interleave, one refused with
  sshd's address-less "User X not allowed because account is locked"
  (UsePAM no, a locked test user). fail2ban takes such a line's address
  from the earlier lines with the same "dsshd[N]:" prefix: each
  connection's lines must carry its own N (digits, above pid_max, not
  dsshd's pid), and fail2ban must ban the locked connection's address for
  it and nothing else.
- syslog: dsshd -D without -e logs through syslog(3) with SyslogFacility.
  The test is the syslog daemon: dsshd runs in a mount namespace whose /dev
  holds the test's datagram socket as /dev/log (so no journald or rsyslog is
  needed, and the machine's /dev is left alone).
- login accounting: a pty session appears in who(1) while it runs and in
  last(1) afterwards (with its logout); Banner text reaches the client
  before authentication; an interactive login shows /etc/motd (PrintMotd)
  and "Last login:" (PrintLastLog); VersionAddendum ends the version line.
"""

import contextlib
import grp
import os
import pwd
import re
import select
import shutil
import socket
import subprocess
import threading
import time

import dssh_harness as h

FILTER = "sshd[_daemon=dsshd]"      # /etc/fail2ban/filter.d/sshd.conf, as installed
UTMP = "/run/utmp"
WTMP = "/var/log/wtmp"
LASTLOG = "/var/log/lastlog"
BTMP = "/var/log/btmp"


def fingerprint(env, key):
    r = h.run(["ssh-keygen", "-l", "-E", "sha256", "-f", env.keys[key] + ".pub"])
    return r.stdout.decode().split()[1]


def password_login(srv, env, user, password, tries=1):
    """ssh with `tries` password prompts, each answered with password."""
    argv = h.ssh_argv(srv, env, user=user, password=True, command="true")
    argv = [("NumberOfPasswordPrompts=%d" % tries) if a == "NumberOfPasswordPrompts=1"
            else a for a in argv]
    return subprocess.run(argv, env=h.askpass_env(env, password), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                          start_new_session=True)


def wait_lines(srv, off, regex, count, timeout=15):
    deadline = time.time() + timeout
    while True:
        found = re.findall(regex, srv.log_since(off), re.M)
        if len(found) >= count or time.time() > deadline:
            return found
        time.sleep(0.2)


# Lines the stock sshd filter matches as context only (<F-NOFAIL>): they name
# the address or end a connection's group, and never count as a failure.
F2B_CONTEXT = re.compile(r"dsshd\[\d+\]: (Connection from |Failed publickey for (?!invalid user )"
                         r"|Received disconnect from \S+ port \d+:11: |Connection closed by "
                         r"|Disconnected from )")
LOG_ID = re.compile(r" dsshd\[(\d+)\]: ")
# A connection's "dsshd[N]:" is above every pid (lib/util/dssh_log.h).
CONN_LOG_BASE = 4194304


def fail2ban_failures(path):
    """The lines fail2ban's stock sshd filter reports as failures in a log file.

    With -o msg fail2ban prints each failure with the lines it grouped with it
    by their "dsshd[N]:" prefix: a connection's context lines (its VERBOSE
    "Connection from", say) come with its failures.  N names the connection
    (docs/architecture.md), so such a line must be one of a failing
    connection's own: another connection's would have lent its address.
    """
    r = h.run(["fail2ban-regex", "-o", "msg", path, FILTER], check=False)
    h.check(r.returncode == 0, "fail2ban-regex: %r" % r.stderr[-500:])
    out = [ln for ln in r.stdout.decode().splitlines() if ln.strip()]
    fails = [ln for ln in out if not F2B_CONTEXT.search(ln)]
    ids = set(LOG_ID.search(ln).group(1) for ln in fails if LOG_ID.search(ln))
    stray = [ln for ln in out if F2B_CONTEXT.search(ln) and
             (LOG_ID.search(ln) is None or LOG_ID.search(ln).group(1) not in ids)]
    h.check(not stray, "fail2ban grouped another connection's lines with a failure: %r"
            % stray)
    return fails


# ------------------------------------------------------------- auth events

def auth_events(srv, env):
    """Every event once; the exact sshd lines; fail2ban's verdict."""
    if shutil.which("fail2ban-regex") is None or \
            not os.path.exists("/etc/fail2ban/filter.d/sshd.conf"):
        raise h.TestFailure("fail2ban is not installed (scripts/setup.sh installs it)")
    # the harness's own probe at start-up (connect, close) is logged first
    srv.wait_log(r"Connection closed by 127\.0\.0\.1 port \d+\n")
    off = srv.log_size()
    ip = r"127\.0\.0\.1 port (\d+)"
    fp_ok = re.escape(fingerprint(env, "ed25519"))
    fp_wrong = re.escape(fingerprint(env, "wrong"))

    socket.create_connection((srv.host, srv.port), timeout=10).close()   # no version line
    r = h.ssh_run(srv, env, "true")
    h.check(r.returncode == 0, "publickey login: " + h.describe(r))
    r = h.ssh_run(srv, env, "true", password=h.TEST_PASSWORD)
    h.check(r.returncode == 0, "password login: " + h.describe(r))
    r = password_login(srv, env, h.TEST_USER, "wrong-pw", tries=3)      # 3 failures
    h.check(r.returncode != 0, "wrong password accepted: " + h.describe(r))
    r = password_login(srv, env, "dssh-nosuch", "wrong-pw", tries=2)    # invalid user, 2 failures
    h.check(r.returncode != 0, "invalid user accepted: " + h.describe(r))
    r = h.ssh_run(srv, env, "true", key="wrong")                        # failed publickey
    h.check(r.returncode != 0, "unlisted key accepted: " + h.describe(r))
    r = h.ssh_run(srv, env, "true", key="wrong", user="dssh-nosuch2")   # invalid user, publickey
    h.check(r.returncode != 0, "invalid user's key accepted: " + h.describe(r))

    expect = [
        (r"^\S+ dsshd\[\d+\]: error: kex_exchange_identification: Connection closed by remote "
         r"host$", 1),
        (r"^\S+ dsshd\[\d+\]: Connection closed by %s$" % ip, 1),
        (r"^\S+ dsshd\[\d+\]: Accepted publickey for dsshtest from %s ssh2: ED25519 %s$"
         % (ip, fp_ok), 1),
        (r"^\S+ dsshd\[\d+\]: Accepted password for dsshtest from %s ssh2$" % ip, 1),
        (r"^\S+ dsshd\[\d+\]: Received disconnect from %s:11: disconnected by user$" % ip, 2),
        (r"^\S+ dsshd\[\d+\]: Disconnected from user dsshtest %s$" % ip, 2),
        (r"^\S+ dsshd\[\d+\]: Failed password for dsshtest from %s ssh2$" % ip, 3),
        (r"^\S+ dsshd\[\d+\]: Invalid user dssh-nosuch from %s$" % ip, 1),
        (r"^\S+ dsshd\[\d+\]: Failed password for invalid user dssh-nosuch from %s ssh2$" % ip, 2),
        (r"^\S+ dsshd\[\d+\]: Failed publickey for dsshtest from %s ssh2: ED25519 %s$"
         % (ip, fp_wrong), 1),
        (r"^\S+ dsshd\[\d+\]: Invalid user dssh-nosuch2 from %s$" % ip, 1),
        (r"^\S+ dsshd\[\d+\]: Connection closed by authenticating user dsshtest %s \[preauth\]$"
         % ip, 2),
        (r"^\S+ dsshd\[\d+\]: Connection closed by invalid user dssh-nosuch2? %s \[preauth\]$"
         % ip, 2),
    ]
    for rx, n in expect:
        got = wait_lines(srv, off, rx, n)
        h.check(len(got) == n, "%d line(s) like %r, want %d; log:\n%s"
                % (len(got), rx, n, srv.log_since(off)[-3000:]))
    # No failure is logged a second time by a later line of the same attempt.
    h.check("Failed none" not in srv.log_since(off), "a 'none' probe was logged as a failure")

    path = os.path.join(srv.dir, "auth.log")
    with open(path, "w") as f:
        f.write(srv.log_since(off))
    hits = fail2ban_failures(path)
    want = [ln for ln in srv.log_since(off).splitlines()
            if re.search(r"dsshd\[\d+\]: (Failed password|Invalid user) ", ln)]
    h.log("fail2ban-regex found %d failures:\n  %s" % (len(hits), "\n  ".join(hits)))
    # 3 wrong passwords, 2 for an invalid user, 2 "Invalid user" lines: 7.
    h.check_eq(len(want), 7, "failed attempts in dsshd's log")
    h.check_eq(sorted(hits), sorted(want), "failures fail2ban's stock sshd filter finds")
    r = h.run(["fail2ban-regex", "-o", "ip", path, FILTER], check=False)
    ips = set(ln.strip() for ln in r.stdout.decode().splitlines() if ln.strip())
    h.check_eq(ips, {"127.0.0.1"}, "the address fail2ban would ban")


# ------------------------------------------------------------- per-connection identity

class GatedRelay:
    """A TCP relay on 127.0.0.1 to srv, its upstream connection bound to
    src_ip: dsshd sees the client at src_ip. The upstream connection is made
    as soon as the client connects (dsshd logs "Connection from"), the bytes
    move only once open() is called: the test orders the connections' lines."""

    def __init__(self, srv, src_ip):
        self.srv, self.src_ip = srv, src_ip
        self.host = "127.0.0.1"
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(1)
        self.port = self.ls.getsockname()[1]
        self.src_port = None
        self.connected = threading.Event()
        self.gate = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        self.ls.settimeout(60)
        try:
            c, _ = self.ls.accept()
        except OSError:
            return
        u = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind((self.src_ip, 0))
            u.connect((self.srv.host, self.srv.port))
            self.src_port = u.getsockname()[1]
            self.connected.set()
            self.gate.wait(60)
            peer = {c: u, u: c}
            while True:
                r, _, _ = select.select([c, u], [], [], 60)
                if not r:
                    return
                for sk in r:
                    d = sk.recv(65536)
                    if not d:
                        return
                    peer[sk].sendall(d)
        except OSError:
            return
        finally:
            c.close()
            u.close()

    def open(self):
        self.gate.set()

    def close(self):
        self.gate.set()
        self.ls.close()
        self.t.join(timeout=10)


@contextlib.contextmanager
def locked_user(env):
    """A user made for the test as the harness makes its users, with the
    test key in authorized_keys, its password locked (usermod -L: "!" in
    shadow); removed with its home afterwards."""
    name = "dssh-lk%d" % os.getpid()
    h.run(["useradd", "-m", "-s", "/bin/bash", name])
    try:
        pw = pwd.getpwnam(name)
        h._install_authorized_keys(pw, [open(env.keys["ed25519"] + ".pub").read()])
        h.run(["usermod", "-L", name])
        r = h.run(["getent", "shadow", name])
        h.check(r.stdout.decode().split(":")[1].startswith("!"),
                "usermod -L left %r" % r.stdout)
        yield name
    finally:
        h.run(["userdel", "-r", name], check=False)


def conn_ids(text, regex):
    return [int(m.group(1)) for m in re.finditer(r"^\S+ dsshd\[(\d+)\]: " + regex, text, re.M)]


def interleaved_fail2ban(srv, env, locked):
    """Connection A (127.0.0.2, the locked user, publickey) and connection B
    (127.0.0.3, an invalid user) open one after the other; A authenticates
    while B waits, then B. In dsshd's log, B's "Connection from 127.0.0.3"
    comes between A's "Connection from 127.0.0.2" and A's address-less
    "account is locked": fail2ban must still give A's failure A's address."""
    h.check(shutil.which("fail2ban-regex") is not None, "fail2ban is not installed")
    srv.wait_log(r"Connection closed by 127\.0\.0\.1 port \d+\n")   # the harness's probe
    off = srv.log_size()
    a, b = GatedRelay(srv, "127.0.0.2"), GatedRelay(srv, "127.0.0.3")
    procs = []
    try:
        for relay, user in ((a, locked), (b, "dssh-nosuch4")):
            argv = h.ssh_argv(relay, env, user=user, command="true")
            procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, start_new_session=True))
            h.check(relay.connected.wait(20), "the relay from %s did not connect" % relay.src_ip)
            rx = r"Connection from %s port %d on " % (re.escape(relay.src_ip), relay.src_port)
            h.check(wait_lines(srv, off, rx, 1), "no %r in the log" % rx)
        a.open()
        pa_out = procs[0].communicate(timeout=60)
        b.open()
        pb_out = procs[1].communicate(timeout=60)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        a.close()
        b.close()
    h.check(procs[0].returncode != 0, "the locked account logged in: %r" % (pa_out,))
    h.check(procs[1].returncode != 0, "the invalid user logged in: %r" % (pb_out,))
    pa_ip = r"127\.0\.0\.2 port %d" % a.src_port
    pb_ip = r"127\.0\.0\.3 port %d" % b.src_port
    for rx in (r"Connection closed by invalid user %s %s \[preauth\]$" % (locked, pa_ip),
               r"Connection closed by invalid user dssh-nosuch4 %s \[preauth\]$" % pb_ip):
        h.check(wait_lines(srv, off, rx, 1), "no %r in the log" % rx)
    text = srv.log_since(off)
    h.log("the two connections' lines:\n" + text)
    # As rsyslog writes them to /var/log/auth.log: with -e's "hh:mm:ss.mmm"
    # fail2ban would take ".mmm" for the host name, part of its grouping key.
    path = os.path.join(srv.dir, "interleaved.log")
    day = time.strftime("%b %e")
    with open(path, "w") as f:
        for ln in text.splitlines():
            m = re.match(r"(\d\d:\d\d:\d\d)\.\d+ (dsshd\[\d+\]: .*)$", ln)
            if m:
                f.write("%s %s testhost %s\n" % (day, m.group(1), m.group(2)))
    r = h.run(["fail2ban-regex", "-o", "<ip> <F-USER>", path, FILTER], check=False)
    h.check(r.returncode == 0, "fail2ban-regex: %r" % r.stderr[-500:])
    got = sorted(tuple(ln.split()) for ln in r.stdout.decode().splitlines() if ln.strip())
    h.log("fail2ban-regex (address, user): %r" % got)
    h.check_eq(got, [("127.0.0.2", locked), ("127.0.0.3", "dssh-nosuch4")],
               "the failures fail2ban's stock sshd filter finds, with their addresses")
    # Each connection's lines under one number of its own.
    a_ids = set(conn_ids(text, r"Connection from %s on " % pa_ip) +
                conn_ids(text, r"User %s not allowed because account is locked$" % locked) +
                conn_ids(text, r"Connection closed by invalid user %s %s " % (locked, pa_ip)))
    b_ids = set(conn_ids(text, r"Connection from %s on " % pb_ip) +
                conn_ids(text, r"Invalid user dssh-nosuch4 from %s$" % pb_ip) +
                conn_ids(text, r"Connection closed by invalid user dssh-nosuch4 %s " % pb_ip))
    h.check(len(conn_ids(text, r"User %s not allowed because account is locked$" % locked)) == 1,
            "want one 'account is locked' line for %s" % locked)
    h.check(len(a_ids) == 1 and len(b_ids) == 1 and a_ids != b_ids,
            "each connection's lines under one id of its own: A %r, B %r" % (a_ids, b_ids))
    pid_max = int(open("/proc/sys/kernel/pid_max").read())
    for n in a_ids | b_ids:
        h.check(n > CONN_LOG_BASE >= pid_max and n != srv.proc.pid,
                "connection id %d: not above pid_max %d" % (n, pid_max))
    # Lines about no connection keep dsshd's pid (its start-up, from the top).
    h.check(re.search(r"^\S+ dsshd\[(\d+)\]: Server listening on ", srv.log_text(), re.M) and
            int(re.search(r"^\S+ dsshd\[(\d+)\]: Server listening on ", srv.log_text(),
                          re.M).group(1)) < CONN_LOG_BASE,
            "the start-up line does not carry a pid")


# ------------------------------------------------------------- syslog

def start_with_devlog(srv, sock_path):
    """Starts `dsshd -D -f config` (no -e: syslog) in a mount namespace
    whose /dev is a copy of ours with sock_path as /dev/log."""
    dev = os.path.join(srv.dir, "dev")
    os.makedirs(dev)
    binds = ["null", "zero", "full", "random", "urandom", "tty", "ptmx"]
    script = ["set -e"]
    for n in binds:
        open(os.path.join(dev, n), "w").close()
        script.append("mount --bind /dev/%s %s/%s" % (n, dev, n))
    for d in ("pts", "shm"):
        os.makedirs(os.path.join(dev, d))
        script.append("mount --bind /dev/%s %s/%s" % (d, dev, d))
    for n, t in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                 ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(t, os.path.join(dev, n))
    os.rename(sock_path, os.path.join(dev, "log"))
    script.append("mount --rbind %s /dev" % dev)
    script.append('exec "$0" -D -f "$1"')
    srv.logf = open(srv.log_path, "ab")
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            "\n".join(script), srv.path, srv.config_path]
    h.log("starting dsshd without -e in a mount namespace (its /dev/log is ours)")
    srv.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=srv.logf,
                                stderr=srv.logf, start_new_session=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        if srv.proc.poll() is not None:
            srv.dump_log()
            raise h.TestFailure("dsshd exited with %d" % srv.proc.returncode)
        if srv._banner_ok(srv.port):
            return
        time.sleep(0.1)
    raise h.TestFailure("dsshd did not accept within 20 s")


def syslog_path(args, env):
    if shutil.which("unshare") is None:
        raise h.TestFailure("unshare (util-linux) missing")
    srv = h.Server(args.server, args.kind, name="syslog",
                   override={"LogLevel": "INFO"}, extra=["SyslogFacility LOCAL3"])
    tmp = os.path.join(srv.dir, "log.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(tmp)
    os.chmod(tmp, 0o666)
    # A reader from the start: the kernel queues only a few datagrams
    # (net.unix.max_dgram_qlen) and syslog(3) blocks when the queue is full.
    msgs, stop = [], threading.Event()

    def reader():
        s.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(socket.timeout):
                msgs.append(s.recv(65536).decode(errors="replace"))
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        start_with_devlog(srv, tmp)
        r = h.ssh_run(srv, env, "true")
        h.check(r.returncode == 0, "publickey login: " + h.describe(r))
        r = password_login(srv, env, "dssh-nosuch3", "x")
        deadline = time.time() + 15
        fp = re.escape(fingerprint(env, "ed25519"))
        # A connection's lines carry its own number in the header (journald's
        # SYSLOG_PID, fail2ban's grouping), start-up lines dsshd's pid.
        want = [r"^<158>\w{3} [ \d]\d \d\d:\d\d:\d\d dsshd\[(\d+)\]: Accepted publickey for "
                r"dsshtest from 127\.0\.0\.1 port \d+ ssh2: ED25519 %s$" % fp,
                r"^<158>.* dsshd\[(\d+)\]: Failed password for invalid user dssh-nosuch3 from "
                r"127\.0\.0\.1 port \d+ ssh2$",
                r"^<158>.* dsshd\[(%d)\]: Server listening on 127\.0\.0\.1 port \d+\.$"
                % srv.proc.pid]
        while time.time() < deadline and \
                not all(any(re.search(w, m) for m in msgs) for w in want):
            time.sleep(0.2)
        h.log("syslog got %d datagrams, e.g. %r" % (len(msgs), msgs[:3]))
        for w in want:
            h.check(any(re.search(w, m) for m in msgs),
                    "no syslog datagram like %r (LOCAL3.INFO = <158>); got %r" % (w, msgs[-10:]))
        ids = [int(next(re.search(w, m) for m in msgs if re.search(w, m)).group(1))
               for w in want]
        h.log("syslog header numbers: accepted %d, failed %d, start-up %d" % tuple(ids))
        h.check(ids[0] > CONN_LOG_BASE and ids[1] > CONN_LOG_BASE and ids[0] != ids[1],
                "the two connections' syslog lines do not carry their own numbers: %r" % ids)
        # As rsyslog writes them to /var/log/auth.log (the host name after the
        # time): fail2ban's stock filter finds the failures there too.
        path = os.path.join(srv.dir, "auth.log")
        with open(path, "w") as f:
            for m in msgs:
                mm = re.match(r"<\d+>(\w{3} [ \d]\d \d\d:\d\d:\d\d) (.*)$", m, re.S)
                if mm:
                    f.write("%s testhost %s\n" % (mm.group(1), mm.group(2).rstrip("\n")))
        hits = fail2ban_failures(path)
        h.check(len(hits) == 2 and "Invalid user dssh-nosuch3 from 127.0.0.1" in hits[0] and
                "Failed password for invalid user dssh-nosuch3" in hits[1],
                "fail2ban-regex over the syslog lines: %r" % hits)
        text = srv.log_text()
        h.check("Accepted publickey" not in text,
                "without -e the messages still went to stderr: %r" % text[-500:])
    finally:
        srv.cleanup()
        stop.set()
        t.join()
        s.close()


# ------------------------------------------------------------- login accounting

def btmp_lastb(off, tmpdir):
    """The failed passwords of auth_events in btmp, as lastb(1) lists them
    (sshd records them there too): 3 for dsshtest, 2 for dssh-nosuch. Only
    the records written since off count (others may log in meanwhile)."""
    path = os.path.join(tmpdir, "btmp")
    with open(BTMP, "rb") as f:
        f.seek(off)
        new = f.read()
    with open(path, "wb") as f:
        f.write(new)
    r = h.run(["lastb", "-w", "-i", "-f", path], check=False)
    lines = r.stdout.decode().splitlines()
    for user, n in ((h.TEST_USER, 3), ("dssh-nosuch", 2), ("dssh-nosuch2", 0)):
        mine = [ln for ln in lines if ln.split()[:3] == [user, "ssh:notty", "127.0.0.1"]]
        h.check(len(mine) == n, "lastb lists %d failed logins of %s, want %d:\n%s"
                % (len(mine), user, n, "\n".join(lines[:20])))


def who_lines(user):
    r = h.run(["who", "-u"], check=False)
    return [ln for ln in r.stdout.decode().splitlines() if ln.split()[:1] == [user]]


def utmp_wtmp(srv, env):
    r = subprocess.Popen(h.ssh_argv(srv, env, tty=True, command="echo PID=$$; sleep 4"),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        pid, seen = None, []
        deadline = time.time() + 15
        buf = b""
        while pid is None and time.time() < deadline:
            chunk = os.read(r.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            m = re.search(rb"PID=(\d+)", buf)
            pid = int(m.group(1)) if m else None
        h.check(pid is not None, "no PID from the pty session: %r" % buf)
        while time.time() < deadline:
            seen = [ln for ln in who_lines(h.TEST_USER) if str(pid) in ln.split()]
            if seen:
                break
            time.sleep(0.2)
        h.log("who -u: %r" % seen)
        h.check(len(seen) == 1, "who -u does not list the session (pid %d): %r"
                % (pid, who_lines(h.TEST_USER)))
        tty = seen[0].split()[1]
        h.check(tty.startswith("pts/") and "(127.0.0.1)" in seen[0],
                "who's line: %r" % seen[0])
        out, err = r.communicate(timeout=30)
    finally:
        if r.poll() is None:
            r.kill()
            r.wait()
    h.check_eq(r.returncode, 0, "ssh -tt exit status")
    deadline = time.time() + 10
    while time.time() < deadline and \
            any(str(pid) in ln.split() for ln in who_lines(h.TEST_USER)):
        time.sleep(0.2)
    h.check(not any(str(pid) in ln.split() for ln in who_lines(h.TEST_USER)),
            "who still lists the ended session: %r" % who_lines(h.TEST_USER))
    # utmp's record goes first, wtmp's right after: give last a moment.
    deadline = time.time() + 10
    while True:
        r = h.run(["last", "-w", "-i", "-n", "50", "-f", WTMP, h.TEST_USER], check=False)
        mine = [ln for ln in r.stdout.decode().splitlines()
                if ln.split()[1:3] == [tty, "127.0.0.1"]]
        if (mine and re.search(r" - \d\d:\d\d ", mine[0])) or time.time() > deadline:
            break
        time.sleep(0.2)
    h.log("last: %r" % mine[:2])
    h.check(mine, "last does not show the login on %s:\n%s" % (tty, r.stdout.decode()[:1500]))
    h.check(re.search(r" - \d\d:\d\d ", mine[0]) is not None,
            "last has no logout time for it: %r" % mine[0])
    r = h.run(["lastlog", "-u", h.TEST_USER], check=False)
    h.check(re.search(r"%s\s+%s\s+127\.0\.0\.1" % (h.TEST_USER, re.escape(tty)),
                      r.stdout.decode()) is not None,
            "lastlog does not show the login: %r" % r.stdout)


def banner(srv, env, text):
    r = h.ssh_run(srv, env, "echo in", opts=("LogLevel=INFO",))
    h.check(r.returncode == 0, "login with a Banner: " + h.describe(r))
    h.check(text.encode() in r.stderr, "Banner text not on ssh's stderr: %r" % r.stderr[-500:])
    r = h.ssh_run(srv, env, "echo in")          # LogLevel=ERROR: ssh does not show it
    h.check(text.encode() not in r.stderr, "Banner shown despite LogLevel=ERROR")


def login_shell(srv, env):
    argv = h.ssh_argv(srv, env, tty=True)
    return subprocess.run(argv, input=b"exit\n", stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, start_new_session=True)


def motd_lastlog(srv, env, motd_shown):
    motd = b""
    with contextlib.suppress(FileNotFoundError):
        motd = open("/etc/motd", "rb").read()
    first = next((ln.strip() for ln in motd.splitlines() if ln.strip()), b"")
    login_shell(srv, env)          # makes sure there is a previous login
    r = login_shell(srv, env)
    out = r.stdout.replace(b"\r\n", b"\n")
    h.check(re.search(rb"Last login: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} from 127\.0\.0\.1",
                      out) is not None, "no 'Last login:' line: %r" % out[:600])
    if not first:
        h.log("NOTE: /etc/motd is empty or missing: the motd text is not checked")
        return
    h.check((first in out) == motd_shown, "motd %s expected (PrintMotd %s): %r"
            % ("" if motd_shown else "not", "yes" if motd_shown else "no", out[:600]))
    if motd_shown:
        # ~/.hushlogin hushes both, as with sshd (briefly: the user is shared)
        hush = os.path.join(env.user.pw_dir, ".hushlogin")
        open(hush, "w").close()
        try:
            r = login_shell(srv, env)
        finally:
            os.unlink(hush)
        h.check(first not in r.stdout and b"Last login" not in r.stdout,
                "~/.hushlogin did not hush the greeting: %r" % r.stdout[:400])
    r = subprocess.run(h.ssh_argv(srv, env, tty=True, command="echo cmd-ran"),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60, start_new_session=True)
    h.check(b"cmd-ran" in r.stdout and first not in r.stdout and b"Last login" not in r.stdout,
            "a command (not a login shell) got a greeting: %r" % r.stdout[:400])


def version_addendum(srv, text):
    with socket.create_connection((srv.host, srv.port), timeout=10) as s:
        line = s.makefile("rb").readline()
    h.check(re.match(rb"SSH-2\.0-dssh_\S+ " + re.escape(text.encode()) + rb"\r\n$", line)
            is not None, "version line %r lacks the addendum" % line)


@contextlib.contextmanager
def accounting_files():
    """utmp, wtmp and lastlog as systemd-tmpfiles makes them at boot (dsshd,
    as sshd, writes only to files that exist); each one this machine lacks
    (a container) is made for the test and removed after it."""
    made = []
    for path in (UTMP, WTMP, LASTLOG, BTMP):
        if os.path.exists(path):
            continue
        with open(path, "wb"):
            pass
        with contextlib.suppress(KeyError):
            os.chown(path, 0, grp.getgrnam("utmp").gr_gid)
        os.chmod(path, 0o664)
        made.append(path)
        h.log("NOTE: no %s on this machine: made one for the test" % path)
    try:
        yield
    finally:
        for path in made:
            os.unlink(path)


def body(args, env):
    if args.kind != "dsshd":
        h.skip("dsshd's log and accounting (sshd is the reference, see the docstring)")
    with accounting_files():
        body_accounted(args, env)


def body_accounted(args, env):
    res = h.Results()
    with h.Server(args.server, args.kind, name="logs", override={"LogLevel": "VERBOSE"}) as srv:
        btmp_off = os.path.getsize(BTMP)
        res.run("auth-events-fail2ban", auth_events, srv, env)
        res.run("btmp-lastb", btmp_lastb, btmp_off, srv.dir)
    # UsePAM no: sshd's own check of a locked account, and its log line.
    with locked_user(env) as locked, \
            h.Server(args.server, args.kind, name="logid",
                     override={"LogLevel": "VERBOSE", "UsePAM": "no"}) as srv:
        res.run("fail2ban-interleaved-connections", interleaved_fail2ban, srv, env, locked)
    res.run("syslog-facility", syslog_path, args, env)
    btext = "dssh banner line: authorised use only"
    bdir = os.path.join("/tmp", "dssh-logs-%d" % os.getpid())
    os.makedirs(bdir, exist_ok=True)
    try:
        with open(os.path.join(bdir, "banner"), "w") as f:
            f.write(btext + "\n")
        extra = ["Banner %s" % os.path.join(bdir, "banner"), "PrintMotd yes",
                 "PrintLastLog yes", "VersionAddendum dssh-logs test"]
        with h.Server(args.server, args.kind, name="acct", extra=extra) as srv:
            res.run("utmp-wtmp-lastlog", utmp_wtmp, srv, env)
            res.run("banner", banner, srv, env, btext)
            res.run("motd-lastlog", motd_lastlog, srv, env, True)
            res.run("version-addendum", version_addendum, srv, "dssh-logs test")
        # Without PAM the session child is the user's process itself.
        with h.Server(args.server, args.kind, name="nopam", override={"UsePAM": "no"}) as srv:
            res.run("utmp-wtmp-lastlog-nopam", utmp_wtmp, srv, env)
        with h.Server(args.server, args.kind, name="nomotd",
                      extra=["PrintMotd no"]) as srv:
            res.run("no-motd", motd_lastlog, srv, env, False)
        res.finish()
    finally:
        shutil.rmtree(bdir, ignore_errors=True)


if __name__ == "__main__":
    h.main(__doc__, body)
