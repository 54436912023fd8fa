#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Post-quantum hybrid key exchange against dsshd with its default KEX list.

- dsshd's KEXINIT offers mlkem768x25519-sha256 first (OpenSSH's order).
- A stock OpenSSH client with its own default order still logs in (9.2 has
  no ML-KEM: it picks sntrup761x25519 when dsshd has it, else curve25519).
- If the installed ssh knows mlkem768x25519-sha256 (OpenSSH >= 9.9), it
  logs in with it forced.
- dssh's own client side of mlkem768x25519-sha256, over TCP to the real
  daemon: a raw SSH client here (the ML-KEM operations by tests/kat's
  mlkem_tool, X25519 / Ed25519 / AES-CTR / HMAC by python3-cryptography)
  runs the exchange, checks the host key signature over H, switches keys
  and gets SERVICE_ACCEPT through the new keys, which proves that both
  sides derived the same K (encoded as a string), H and keys.
- A C_INIT one byte short makes dsshd fail the exchange cleanly (a log
  line, a DISCONNECT) and keep serving.
"""

import base64
import os

import dssh_harness as h
import ssh_rawclient as rc

MLKEM = rc.MLKEM


def hostkey_blob(srv):
    with open(srv.hostkeys["ssh-ed25519"] + ".pub") as f:
        return base64.b64decode(f.read().split()[1])


def hybrid_login(srv, tool_path):
    tool = rc.MlkemTool(tool_path)
    try:
        kexes = rc.handshake(srv.host, srv.port, MLKEM, tool, hostkey_blob(srv))
    finally:
        tool.close()
    h.check_eq(kexes[0], MLKEM, "first KEX dsshd offers")


def curve_login(srv):
    rc.handshake(srv.host, srv.port, "curve25519-sha256", None, hostkey_blob(srv))


def short_c_init(srv):
    off = srv.log_size()
    c = rc.RawClient(srv.host, srv.port)
    try:
        c.version()
        c.kexinit(MLKEM)
        c.send(bytes([rc.MSG_HYBRID_INIT]) + rc.sstr(os.urandom(1215)))
        try:
            m = c.recv()
            h.check_eq(m[0], rc.MSG_DISCONNECT, "answer to a short C_INIT")
        except (rc.RawError, ConnectionError):
            pass            # a close without DISCONNECT is refused too
    finally:
        c.close()
    m = srv.wait_log(r"Disconnecting [^\n]*: key exchange failed: ([^\n]*)", off)
    h.check(m is not None, "no log line for the bad C_INIT")
    h.log("dsshd: %s" % m.group(0))
    h.check(srv.alive(), "dsshd died")


def stock_default(srv, env):
    log = os.path.join(srv.dir, "stock.log")
    r = h.ssh_run(srv, env, "echo pq-ok", verbose=1, logfile=log)
    vlog = open(log, errors="replace").read()
    h.check(r.returncode == 0 and r.stdout == b"pq-ok\n", h.describe(r) + vlog[-1500:])
    chosen = [ln.split(": ")[-1] for ln in vlog.splitlines()
              if ln.startswith("debug1: kex: algorithm: ")]
    h.check(len(chosen) == 1 and chosen[0] in (
        MLKEM, "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com",
        "curve25519-sha256"), "stock ssh chose %r" % chosen)
    h.log("stock ssh with its default order chose %s" % chosen[0])


def stock_forced(srv, env):
    kexes = h.run(["ssh", "-Q", "kex"]).stdout.decode().split()
    if MLKEM not in kexes:
        h.log("installed ssh has no %s: forced-client check not applicable" % MLKEM)
        return
    r = h.ssh_run(srv, env, "echo pq-ok", opts=["KexAlgorithms=" + MLKEM])
    h.check(r.returncode == 0 and r.stdout == b"pq-ok\n", h.describe(r))


def body(args, env):
    if args.kind != "dsshd":
        h.skip("dsshd-only test")
    # dsshd's own default KexAlgorithms (the harness pins the classic list).
    srv = h.Server(args.server, override={"KexAlgorithms": None})
    res = h.Results()
    with srv:
        res.server = srv
        res.run("hybrid-login-own-client", hybrid_login, srv, args.mlkem_tool)
        res.run("hybrid-short-c-init", short_c_init, srv)
        res.run("stock-ssh-default-order", stock_default, srv, env)
        res.run("stock-ssh-forced-mlkem", stock_forced, srv, env)
        res.run("curve25519-login-own-client", curve_login, srv)
        res.run("hybrid-login-after-errors", hybrid_login, srv, args.mlkem_tool)
        res.finish(srv)


def add_args(p):
    p.add_argument("--mlkem-tool", required=True, help="tests/kat/mlkem_tool")


if __name__ == "__main__":
    h.main(__doc__, body, add_args)
