#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Session keywords: PermitTTY, SetEnv, TCPKeepAlive, IPQoS (kernel sockets).

Cases: with PermitTTY no a pty request is refused (ssh's warning, no tty in
the session) and the command still runs; SetEnv's variables are in the
session's environment and override what the client sent (AcceptEnv);
TCPKeepAlive yes puts a keepalive timer on the server's socket (ss -o), no
leaves none; IPQoS: the server's socket carries the interactive class while
a pty session runs and the bulk class for an exec without one (ss -i's
tos of the segments it sends, seen on lo), as sshd's.
"""

import socket
import struct
import subprocess
import threading
import time

import dssh_harness as h


def permit_tty_no(srv, env):
    off = srv.log_size()
    # ssh -tt (RequestTTY force) gives up when the pty is refused
    r = h.ssh_run(srv, env, "tty; echo ran", tty=True)
    h.check(r.returncode == 255 and b"ran" not in r.stdout, "ssh -tt: %s" % h.describe(r))
    h.check(b"PTY allocation request failed" in r.stderr, "ssh's warning: %r" % r.stderr)
    if srv.kind == "dsshd":
        srv.wait_log(r"PermitTTY no: pty-req refused", off)
    # ssh -t (RequestTTY yes) goes on without one
    r = h.ssh_run(srv, env, "tty; echo ran", opts=("RequestTTY=yes",))
    h.check(b"not a tty" in r.stdout and b"ran" in r.stdout, "no tty: %s" % h.describe(r))


def set_env(srv, env):
    argv = h.ssh_argv(srv, env, opts=("SetEnv=DSSH_TEST_B=client",),
                      command="echo A=$DSSH_TEST_A B=$DSSH_TEST_B C=$DSSH_SETENV_C")
    r = subprocess.run(argv, input=b"", capture_output=True, timeout=60)
    h.check(r.returncode == 0, "ssh: %s" % h.describe(r))
    h.check_eq(r.stdout, b"A=1 B=server C=x y\n", "SetEnv in the session")


def server_sockets(srv):
    r = subprocess.run(["ss", "-tnoiH", "state", "established", "( sport = :%d )" % srv.port],
                       capture_output=True, timeout=10)
    return r.stdout.decode()


def with_session(srv, env, tty, fn):
    argv = h.ssh_argv(srv, env, tty=tty,
                      command="for i in 1 2 3 4 5 6 7 8; do echo x; sleep 0.4; done")
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(1.5)
        return fn()
    finally:
        h.end_ssh(p)


def keepalive(srv, env, want):
    out = with_session(srv, env, False, lambda: server_sockets(srv))
    h.check(out.strip() != "", "no server socket found")
    h.check(("keepalive" in out) == want, "keepalive timer %s: %r" %
            ("expected" if want else "unexpected", out))


def sniff_tos(port, seconds):
    """TOS bytes of the IPv4 TCP segments from port on lo (AF_PACKET, root)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.bind(("lo", 0))
    s.settimeout(0.2)
    tos = []
    end = time.time() + seconds
    try:
        while time.time() < end:
            try:
                fr = s.recv(256)
            except socket.timeout:
                continue
            ip = fr[14:]
            if len(ip) < 24 or ip[0] >> 4 != 4 or ip[9] != 6:
                continue
            ihl = (ip[0] & 15) * 4
            if struct.unpack("!H", ip[ihl:ihl + 2])[0] == port:
                tos.append(ip[1])
    finally:
        s.close()
    return tos


def ipqos(srv, env, tty, want):
    box = []
    t = threading.Thread(target=lambda: box.append(sniff_tos(srv.port, 3.0)))
    t.start()
    with_session(srv, env, tty, t.join)
    tos = box[0] if box else []
    h.check(len(tos) >= 3, "segments seen from the server: %r" % tos)
    # the last ones are the session's output
    h.check_eq(tos[-1], want, "TOS of the server's segments (%s), all %r" %
               ("pty" if tty else "exec", tos))


def body(args, env):
    if args.dataplane:
        h.skip("kernel sockets only")
    res = h.Results()
    with h.Server(args.server, args.kind, extra=[
            "PermitTTY no", "SetEnv DSSH_TEST_A=1 DSSH_TEST_B=server \"DSSH_SETENV_C=x y\"",
            "TCPKeepAlive yes", "IPQoS af41 cs2"]) as srv:
        res.server = srv
        res.run("permittty-no", permit_tty_no, srv, env)
        res.run("setenv", set_env, srv, env)
        res.run("tcpkeepalive-yes", keepalive, srv, env, True)
        # (PermitTTY no: the pty was refused, so the session is bulk)
        res.run("ipqos-pty-refused-bulk", ipqos, srv, env, True, 0x40)
        res.run("ipqos-bulk", ipqos, srv, env, False, 0x40)
        res.finish(srv)
    with h.Server(args.server, args.kind, extra=["TCPKeepAlive no", "IPQoS ef"]) as srv:
        res.server = srv
        res.run("ipqos-one-value", ipqos, srv, env, True, 0xb8)
        res.finish(srv)
    with h.Server(args.server, args.kind, extra=["TCPKeepAlive no"]) as srv:
        res.server = srv
        res.run("tcpkeepalive-no", keepalive, srv, env, False)
        res.run("ipqos-default-interactive", ipqos, srv, env, True, 0x48)
        res.run("ipqos-default-bulk", ipqos, srv, env, False, 0x20)
        res.finish(srv)


if __name__ == "__main__":
    h.main(__doc__, body)
