#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""X11 forwarding and ~/.ssh/rc (X11Forwarding, X11DisplayOffset, XAuthLocation,
PermitUserRC).

An Xvfb on the client's side (its own display, a cookie in a private
Xauthority, no TCP); OpenSSH's ssh -Y sends that cookie. Cases: in the
session DISPLAY is localhost:N.0 with N from X11DisplayOffset and xdpyinfo
run there reaches the client's Xvfb through an "x11" channel (the session's
xauth entry holds a fake cookie, which the server swaps for the real one);
an X client presenting a wrong cookie, or none, is refused (log line) and
the session goes on; X11UseLocalhost no (DISPLAY names the host, the
display listens on every address); with X11Forwarding no the x11-req is refused (ssh's
warning, no DISPLAY); the listener is gone when the session ended;
~/.ssh/rc runs before the command (with "proto cookie" on its stdin under
X11, nothing otherwise), not for a subsystem (sftp works) and not with
PermitUserRC no.
"""

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time

import dssh_harness as h

COOKIE = "0123456789abcdef0123456789abcdef"


class Xvfb:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dssh-xvfb-")
        self.auth = os.path.join(self.dir, "Xauthority")
        for n in range(77, 120):
            if not os.path.exists("/tmp/.X11-unix/X%d" % n) and \
                    not os.path.exists("/tmp/.X%d-lock" % n):
                break
        self.display = ":%d" % n
        h.run(["xauth", "-f", self.auth, "add", self.display, ".", COOKIE])
        self.proc = subprocess.Popen(["Xvfb", self.display, "-nolisten", "tcp", "-auth",
                                      self.auth, "-screen", "0", "640x480x24"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        env = self.env()
        for _ in range(100):
            if subprocess.run(["xdpyinfo"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0:
                return
            time.sleep(0.1)
        self.stop()
        raise h.TestFailure("Xvfb %s did not start" % self.display)

    def env(self):
        e = dict(os.environ)
        e.update({"DISPLAY": self.display, "XAUTHORITY": self.auth})
        return e

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def ssh_x(srv, env, xv, command, opts=(), timeout=60):
    argv = h.ssh_argv(srv, env, opts=("ForwardX11=yes", "ForwardX11Trusted=yes") + tuple(opts),
                      command=command)
    argv.insert(len(srv.client_prefix()) + 1, "-v")
    return subprocess.run(argv, input=b"", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, env=xv.env(), start_new_session=True)


def sftp_opts(srv, env):
    argv = h.ssh_argv(srv, env)
    return argv[len(srv.client_prefix()) + 1:argv.index("-p")] + ["-P", str(srv.port)]


def home():
    return pwd.getpwnam(h.TEST_USER).pw_dir


def user_file(path, text, mode=0o644):
    pw = pwd.getpwnam(h.TEST_USER)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    os.chown(path, pw.pw_uid, pw.pw_gid)


def display_ok(srv, env, xv, offset):
    r = ssh_x(srv, env, xv, "echo DISPLAY=$DISPLAY; xdpyinfo | grep -E 'dimensions|vendor string'")
    h.check(r.returncode == 0, "ssh -Y xdpyinfo: %s" % h.describe(r))
    m = re.search(rb"DISPLAY=localhost:(\d+)\.0\n", r.stdout)
    h.check(m is not None, "DISPLAY in the session: %r" % r.stdout[:200])
    h.check(int(m.group(1)) >= offset, "display %s below the offset %d" % (m.group(1), offset))
    h.check(b"640x480 pixels" in r.stdout, "xdpyinfo saw the client's Xvfb: %r" % r.stdout)
    # the session's own xauth entry holds the fake cookie, not the client's
    r = ssh_x(srv, env, xv, "xauth list")
    h.check(r.returncode == 0 and b"MIT-MAGIC-COOKIE-1" in r.stdout,
            "xauth list in the session: %s" % h.describe(r))
    h.check(COOKIE.encode() not in r.stdout, "the real cookie reached the server's side")
    return int(m.group(1))


def wrong_cookie(srv, env, xv):
    off = srv.log_size()
    r = ssh_x(srv, env, xv,
              "n=${DISPLAY#localhost:}; n=${n%.0}; "
              "XAUTHORITY=$HOME/.dssh-wrong xauth add unix:$n.0 MIT-MAGIC-COOKIE-1 "
              "00000000000000000000000000000000; "
              "XAUTHORITY=$HOME/.dssh-wrong xdpyinfo >/dev/null 2>&1; echo wrong=$?; "
              "XAUTHORITY=/nonexistent xdpyinfo >/dev/null 2>&1; echo none=$?; "
              "rm -f $HOME/.dssh-wrong; xdpyinfo >/dev/null 2>&1; echo right=$?")
    h.check(r.returncode == 0, "ssh: %s" % h.describe(r))
    h.check(b"wrong=1" in r.stdout and b"none=1" in r.stdout and b"right=0" in r.stdout,
            "wrong cookie refused, right one taken: %r" % r.stdout)
    srv.wait_log(r"X11 connection rejected because of wrong authentication", off)
    srv.wait_log(r"X11 connection uses different authentication protocol", off)


def not_localhost(srv, env, xv):
    # X11UseLocalhost no: every address, DISPLAY names the host. Xlib finds
    # the host-named cookie (xauth's "host/unix:N") only for 127.0.0.1, and
    # Debian maps the host name to 127.0.1.1: the display is tried through
    # 127.0.0.1, and a wildcard bind is shown by another loopback address
    # (a listener on 127.0.0.1 alone refuses 127.0.0.2).
    host = socket.gethostname()
    probe = ("import os, socket; n = int(os.environ['DISPLAY'].rsplit(':', 1)[1].split('.')[0]); "
             "socket.create_connection(('127.0.0.2', 6000 + n), 5); print('wildcard-ok')")
    r = ssh_x(srv, env, xv, "echo DISPLAY=$DISPLAY; "
              "xdpyinfo -display \"127.0.0.1:${DISPLAY##*:}\" | grep dimensions && "
              "python3 -c \"%s\"" % probe)
    h.check(r.returncode == 0, "ssh -Y xdpyinfo: %s" % h.describe(r))
    m = re.search(rb"DISPLAY=(\S+):(\d+)\.0\n", r.stdout)
    h.check(m is not None and m.group(1).decode() == host,
            "DISPLAY %r, want %s:N.0" % (r.stdout[:100], host))
    h.check(b"640x480 pixels" in r.stdout, "xdpyinfo through %s: %r" % (host, r.stdout))
    h.check(b"wildcard-ok" in r.stdout, "the display listens on 127.0.0.1 only: %r" % r.stdout)


def listener_gone(srv, env, xv, display):
    # the session ended: nothing listens on its display port any more
    deadline = time.time() + 10
    while time.time() < deadline:
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", 6000 + display))
        except OSError:
            return
        finally:
            s.close()
        time.sleep(0.2)
    raise h.TestFailure("port %d still listens after the session" % (6000 + display))


def x11_refused(srv, env, xv):
    off = srv.log_size()
    r = ssh_x(srv, env, xv, "echo DISPLAY=[$DISPLAY]")
    h.check(r.returncode == 0 and b"DISPLAY=[]" in r.stdout, "no DISPLAY: %s" % h.describe(r))
    h.check(b"X11 forwarding request failed" in r.stderr, "ssh's warning: %r" % r.stderr[-500:])
    if srv.kind == "dsshd":
        srv.wait_log(r"X11 forwarding disabled; x11-req refused", off)


def rc_runs(srv, env, xv, x11):
    rc = os.path.join(home(), ".ssh", "rc")
    out = os.path.join(home(), ".dssh-rc-in")
    for p in (out,):
        if os.path.exists(p):
            os.unlink(p)
    user_file(rc, "cat > $HOME/.dssh-rc-in\necho rc-ran\n")
    try:
        if x11:
            r = ssh_x(srv, env, xv, "echo command-ran")
        else:
            r = h.ssh_run(srv, env, "echo command-ran")
        h.check(r.returncode == 0, "ssh: %s" % h.describe(r))
        h.check_eq(r.stdout, b"rc-ran\ncommand-ran\n", "rc before the command")
        if not x11:
            # not for a subsystem: sftp's stream stays clean
            r = subprocess.run(srv.client_prefix() + ["sftp", "-b", "-"] +
                               sftp_opts(srv, env) + ["%s@%s" % (h.TEST_USER, srv.host)],
                               input=b"pwd\n", capture_output=True, timeout=60)
            h.check(r.returncode == 0 and b"Remote working directory" in r.stdout,
                    "sftp with ~/.ssh/rc: %s" % h.describe(r))
        data = open(out).read()
        if x11:
            h.check(re.fullmatch(r"MIT-MAGIC-COOKIE-1 [0-9a-f]{32}\n", data) is not None,
                    "rc's stdin under X11: %r" % data)
        else:
            h.check_eq(data, "", "rc's stdin without X11")
    finally:
        os.unlink(rc)


def rc_off(srv, env):
    rc = os.path.join(home(), ".ssh", "rc")
    user_file(rc, "echo rc-ran\n")
    try:
        r = h.ssh_run(srv, env, "echo command-ran")
        h.check(r.returncode == 0 and r.stdout == b"command-ran\n",
                "PermitUserRC no: %s" % h.describe(r))
    finally:
        os.unlink(rc)


def body(args, env):
    if shutil.which("Xvfb") is None or shutil.which("xdpyinfo") is None:
        h.skip("Xvfb / xdpyinfo not installed (scripts/setup.sh)")
    res = h.Results()
    xv = Xvfb()
    try:
        offset = 23
        with h.Server(args.server, args.kind, extra=["X11Forwarding yes",
                                                     "X11DisplayOffset %d" % offset]) as srv:
            res.server = srv
            disp = []
            res.run("x11-xdpyinfo", lambda: disp.append(display_ok(srv, env, xv, offset)))
            if disp:
                res.run("x11-listener-gone", listener_gone, srv, env, xv, disp[0])
            res.run("x11-wrong-cookie", wrong_cookie, srv, env, xv)
            res.run("rc-x11", rc_runs, srv, env, xv, True)
            res.run("rc-plain", rc_runs, srv, env, xv, False)
            res.finish(srv)
        with h.Server(args.server, args.kind, extra=["X11Forwarding yes",
                                                     "X11UseLocalhost no"]) as srv:
            res.server = srv
            res.run("x11-uselocalhost-no", not_localhost, srv, env, xv)
            res.finish(srv)
        with h.Server(args.server, args.kind, extra=["PermitUserRC no"]) as srv:
            res.server = srv
            res.run("x11-forwarding-no", x11_refused, srv, env, xv)
            res.run("rc-permituserrc-no", rc_off, srv, env)
            res.finish(srv)
    finally:
        xv.stop()


if __name__ == "__main__":
    h.main(__doc__, body)
