#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""SIGHUP: dsshd re-reads its configuration and host keys (dsshd only).

- A session open across the reload (`ssh host cat`, a line echoed before
  and after) keeps working and ends with exit status 0.
- After a reload that sets PasswordAuthentication no and AllowUsers
  dsshtest, a new password login is refused, a key login of the user no
  longer allowed is refused, and one of dsshtest still works; dsshd logs
  the new generation.
- A broken file (an unknown keyword) on SIGHUP: dsshd logs why and keeps
  the running configuration: logins behave as before the broken reload.
- A Port change moves the kernel listener (logged; the old port refuses,
  the new one logs in, the open session goes on); on the data plane the
  port is kept, logged as such.
- The ed25519 host key replaced on disk + SIGHUP: ssh-keyscan sees the new
  key; the session opened before still works.
- With --notify yes (dsshd built with libsystemd), dsshd runs with
  NOTIFY_SOCKET pointing at a socket of ours, as under systemd's
  Type=notify: READY=1 once it listens, RELOADING=1 (with MONOTONIC_USEC)
  then READY=1 around every SIGHUP, STOPPING=1 on SIGTERM; each from
  dsshd's own pid (NotifyAccess=main).
- SIGHUP every 0.3 s for 6 s while four clients log in over and over
  (connections on every loop thread take and drop generations): every
  login works and every reload is logged.
- SIGTERM at the end: exit status 0 and no sanitizer report in the log
  (every generation and its host keys freed).
"""

import os
import re
import select
import signal
import socket
import struct
import subprocess
import threading
import time

import dssh_harness as h


class CatSession:
    """`ssh host cat`: lines written come back while the session lives."""

    def __init__(self, srv, env):
        self.p = subprocess.Popen(h.ssh_argv(srv, env, command="cat"),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True)

    def echo(self, line, timeout=20):
        self.p.stdin.write(line + b"\n")
        self.p.stdin.flush()
        got, deadline = b"", time.time() + timeout
        while not got.endswith(b"\n") and time.time() < deadline:
            ready, _, _ = select.select([self.p.stdout], [], [], 0.5)
            if ready:
                chunk = os.read(self.p.stdout.fileno(), 4096)
                if not chunk:
                    break
                got += chunk
        h.check_eq(got, line + b"\n", "the open session echoes")

    def finish(self):
        self.p.stdin.close()
        try:
            self.p.wait(timeout=20)
        finally:
            if self.p.poll() is None:
                self.p.kill()
        err = self.p.stderr.read()
        h.check_eq(self.p.returncode, 0, "the open session's exit status (stderr %r)" % err)


class NotifySocket:
    """A datagram socket like systemd's notify socket, read all the time by
    a thread (as systemd does: sd_notify blocks on a full socket); each
    message with its sender's pid (SCM_CREDENTIALS)."""

    def __init__(self, path):
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.s.bind(path)
        os.chmod(path, 0o777)
        self.got = []
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.done:
            ready, _, _ = select.select([self.s], [], [], 0.2)
            if not ready:
                continue
            data, anc, _, _ = self.s.recvmsg(4096, socket.CMSG_SPACE(12))
            pid = None
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", cdata[:12])[0]
            with self.lock:
                self.got.append((pid, data.decode(errors="replace")))

    def close(self):
        self.done = True
        self.thread.join()
        self.s.close()

    def count(self):
        with self.lock:
            return len(self.got)

    def wait_for(self, state, start, timeout=20):
        """Index of the first message at or after start whose lines hold
        state; TestFailure if none comes."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                for i in range(start, len(self.got)):
                    if state in self.got[i][1].split("\n"):
                        return i
            time.sleep(0.1)
        with self.lock:
            raise h.TestFailure("no %s from dsshd; got %r" % (state, self.got[start:]))


def notify_cycle(srv, ns):
    """READY at start, RELOADING then READY around a SIGHUP, all from dsshd."""
    i = ns.wait_for("READY=1", 0)
    time.sleep(0.5)
    n = ns.count()
    os.kill(srv.proc.pid, signal.SIGHUP)
    j = ns.wait_for("RELOADING=1", n)
    h.check(any(ln.startswith("MONOTONIC_USEC=") for ln in ns.got[j][1].split("\n")),
            "RELOADING=1 comes with MONOTONIC_USEC: %r" % ns.got[j][1])
    k = ns.wait_for("READY=1", j + 1)
    for pid, msg in ns.got[i:k + 1]:
        h.check_eq(pid, srv.proc.pid, "the sender of %r" % msg)


def stop_clean(srv, ns):
    """SIGTERM: exit status 0, no sanitizer report (generations and host
    keys of every reload freed), STOPPING=1 with a notify socket."""
    n = ns.count() if ns else 0
    proc = srv.proc
    srv.stop()
    h.check_eq(proc.returncode, 0, "dsshd's exit status after SIGTERM")
    text = srv.log_text()
    h.check("Sanitizer" not in text and "runtime error" not in text,
            "a sanitizer report in the log:\n" + text[-3000:])
    if ns:
        m = ns.wait_for("STOPPING=1", n, timeout=5)
        h.check_eq(ns.got[m][0], proc.pid, "the sender of STOPPING=1")


def write_config(srv, extra):
    with open(srv.config_path, "w") as f:
        f.write(srv.base_config + "".join(line + "\n" for line in extra))


RELOAD_DONE = r"Reloaded the configuration|Reload failed"


def reload_counts(srv):
    text = srv.log_text()
    return (len(re.findall(r"Received SIGHUP", text)), len(re.findall(RELOAD_DONE, text)))


def wait_reloads_done(srv, timeout=30):
    """Until every SIGHUP received so far has its reload finished (it runs
    on a thread of its own: a reload's first log lines come before its
    end)."""
    deadline = time.time() + timeout
    while True:
        got, done = reload_counts(srv)
        if got == done:
            return done
        h.check(time.time() < deadline, "%d SIGHUPs, %d reloads finished" % (got, done))
        time.sleep(0.1)


def hup(srv, want):
    """SIGHUP; waits for its reload to finish and the log line want (a
    regex) after it."""
    wait_reloads_done(srv)
    off = srv.log_size()
    os.kill(srv.proc.pid, signal.SIGHUP)
    deadline = time.time() + 30
    while len(re.findall(RELOAD_DONE, srv.log_since(off))) < 1:
        h.check(time.time() < deadline, "no reload finished after SIGHUP")
        time.sleep(0.1)
    text = srv.log_since(off)
    h.check(re.search(want, text), "after SIGHUP the log says /%s/:\n%s" % (want, text[-2000:]))
    h.check(srv.alive(), "dsshd still runs after SIGHUP")
    return text


def key_login(srv, env, user, want_ok):
    r = h.ssh_run(srv, env, "echo hello", user=user)
    if want_ok:
        h.check_eq((r.returncode, r.stdout), (0, b"hello\n"), "key login of %s: %s"
                   % (user, h.describe(r)))
    else:
        h.check(r.returncode == 255 and r.stdout == b"", "key login of %s refused: %s"
                % (user, h.describe(r)))


def password_login(srv, env, want_ok):
    r = h.ssh_run(srv, env, "echo pw", password=h.TEST_PASSWORD)
    if want_ok:
        h.check_eq((r.returncode, r.stdout), (0, b"pw\n"), "password login: " + h.describe(r))
    else:
        h.check(r.returncode == 255 and b"Permission denied" in r.stderr,
                "password login refused: " + h.describe(r))


def before(srv, env):
    password_login(srv, env, True)
    key_login(srv, env, h.DENY_USER, True)
    key_login(srv, env, h.TEST_USER, True)


def reload_changes(srv, env, sess):
    sess.echo(b"before the reload")
    # sshd takes the first value of a keyword: drop the base file's.
    srv.base_config = srv.base_config.replace("PasswordAuthentication yes",
                                              "PasswordAuthentication no")
    write_config(srv, ["AllowUsers %s" % h.TEST_USER])
    hup(srv, r"Reloaded the configuration \(generation \d+")
    sess.echo(b"after the reload")
    password_login(srv, env, False)
    key_login(srv, env, h.DENY_USER, False)
    key_login(srv, env, h.TEST_USER, True)
    sess.echo(b"after new logins")


def broken_config(srv, env, sess):
    with open(srv.config_path, "a") as f:
        f.write("NoSuchKeywordAtAll yes\n")
    text = hup(srv, r"Reload failed: .*line \d+.*; keeping the running configuration")
    h.check("Reloaded" not in text, "no new generation from a broken file")
    # Still the one before: dsshtest by key yes, the other user no, no passwords.
    key_login(srv, env, h.TEST_USER, True)
    key_login(srv, env, h.DENY_USER, False)
    password_login(srv, env, False)
    sess.echo(b"after the broken reload")


def refused(host, port):
    try:
        with socket.create_connection((host, port), timeout=3):
            return False
    except ConnectionRefusedError:
        return True


def port_change(srv, env, sess):
    """Port changes: the kernel listener moves (the open session, accepted
    on the old port, goes on); with the data plane its port stays."""
    old, new = srv.port, h.free_port()
    srv.base_config = srv.base_config.replace("Port %d\n" % old, "Port %d\n" % new)
    write_config(srv, ["AllowUsers %s" % h.TEST_USER])
    text = hup(srv, r"Reloaded the configuration")
    if srv.tap or srv.netns:
        h.check(re.search(r"Port cannot change on the data plane without a restart; keeping %d"
                          % old, text), "the data plane's port kept, logged:\n" + text[-2000:])
        key_login(srv, env, h.TEST_USER, True)      # srv.host: the data plane
    h.check(re.search(r"Server listening on 127\.0\.0\.1 port %d\." % new, text) and
            re.search(r"No longer listening on 127\.0\.0\.1 port %d\." % old, text),
            "listener moved, logged:\n" + text[-2000:])
    h.check(refused("127.0.0.1", old), "the old port %d refuses connections" % old)
    if not (srv.tap or srv.netns):
        srv.port = new
        key_login(srv, env, h.TEST_USER, True)
    sess.echo(b"after the port change")


def keyscan(srv):
    r = subprocess.run(srv.client_prefix() +
                       ["ssh-keyscan", "-t", "ed25519", "-p", str(srv.port), srv.host],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    lines = [ln.split()[1:3] for ln in r.stdout.decode().splitlines() if ln and ln[0] != "#"]
    h.check(len(lines) == 1, "ssh-keyscan output %r %r" % (r.stdout, r.stderr))
    return lines[0]


def new_host_key(srv, env, sess):
    path = srv.hostkeys["ssh-ed25519"]
    with open(path + ".pub") as f:
        old = f.read().split()[0:2]
    h.check_eq(keyscan(srv), old, "the host key before")
    os.unlink(path)
    os.unlink(path + ".pub")
    h.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path])
    with open(path + ".pub") as f:
        new = f.read().split()[0:2]
    h.check(new != old, "a new key was made")
    hup(srv, r"Reloaded the configuration \(generation \d+")
    h.check_eq(keyscan(srv), new, "the host key a new connection sees")
    key_login(srv, env, h.TEST_USER, True)
    sess.echo(b"after the new host key")


def reloads_during_logins(srv, env, sess):
    """Logins on every loop thread while SIGHUPs keep replacing the
    configuration: each login works, each reload is logged."""
    off = srv.log_size()
    stop = time.time() + 6

    def logins():
        n = 0
        while time.time() < stop:
            key_login(srv, env, h.TEST_USER, True)
            n += 1
        return n

    with h.concurrent.futures.ThreadPoolExecutor(4) as ex:
        futs = [ex.submit(logins) for _ in range(4)]
        hups = 0
        while time.time() < stop - 0.5:
            os.kill(srv.proc.pid, signal.SIGHUP)
            hups += 1
            time.sleep(0.3)
        total = sum(f.result() for f in futs)
    h.check(total >= 8, "%d logins during the reloads" % total)
    # SIGHUPs during a reload ask for one more after it: fewer reloads than
    # SIGHUPs, at least one, the last one after the last SIGHUP.
    deadline = time.time() + 30
    while True:
        text = srv.log_since(off)
        last_hup = text.rfind("Received SIGHUP")
        if re.search(r"Reloaded the configuration", text[last_hup:]):
            break
        h.check(time.time() < deadline, "no reload after the last of %d SIGHUPs" % hups)
        time.sleep(0.2)
    h.check("Reload failed" not in text, "a reload failed:\n" + text[-2000:])
    sess.echo(b"after %d SIGHUPs" % hups)


def body(args, env):
    if args.kind != "dsshd":
        h.skip("the log lines checked are dsshd's")
    res = h.Results()
    srv = h.Server(args.server, "dsshd", name="reload")
    ns = None
    if args.notify == "yes":
        ns = NotifySocket(os.path.join(srv.dir, "notify"))
        os.environ["NOTIFY_SOCKET"] = ns.path
    with srv:
        os.environ.pop("NOTIFY_SOCKET", None)
        res.server = srv
        if ns is not None:
            res.run("notify-ready-reloading", notify_cycle, srv, ns)
        with open(srv.config_path) as f:
            srv.base_config = f.read()
        res.run("before", before, srv, env)
        sess = CatSession(srv, env)
        try:
            res.run("reload-changes", reload_changes, srv, env, sess)
            res.run("broken-config-kept", broken_config, srv, env, sess)
            res.run("port-change", port_change, srv, env, sess)
            res.run("new-host-key", new_host_key, srv, env, sess)
            res.run("reloads-during-logins", reloads_during_logins, srv, env, sess)
            res.run("session-survives", sess.finish)
        finally:
            if sess.p.poll() is None:
                sess.p.kill()
        res.run("stop-clean", stop_clean, srv, ns)
        if ns is not None:
            ns.close()
        res.finish(srv)


def add_args(p):
    p.add_argument("--notify", choices=("yes", "no"), default="no",
                   help="dsshd was built with libsystemd: check its sd_notify messages")


if __name__ == "__main__":
    h.main(__doc__, body, add_args)
