#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Config and command line as sshd has them: -t accepts a good config and
rejects bad ones naming the file and line; -p replaces the config's Port;
-o comes before the file (first value wins); LoginGraceTime drops an idle
connection; AcceptEnv passes only the listed variables; LoopThreads spreads connections
over loop threads; the forwarding keywords are accepted, refused and printed by -T as
sshd 9.2 does."""

import os
import re
import socket
import subprocess
import time

import dssh_harness as h


def check_t(srv, extra_line, what):
    """Puts extra_line last in the config (replacing that keyword's line);
    -t must fail naming the file and the line."""
    kw = extra_line.split()[0]
    cfg = "".join(ln for ln in open(srv.config_path).read().splitlines(True)
                  if ln.split()[0] != kw)
    lineno = cfg.count("\n") + 1
    bad = srv.config_path + ".bad"
    with open(bad, "w") as f:
        f.write(cfg + extra_line + "\n")
    r = subprocess.run([srv.path, "-t", "-f", bad], capture_output=True, timeout=30)
    err = r.stderr.decode(errors="replace")
    h.check(r.returncode != 0, "%s: -t exit status 0 for %r" % (what, extra_line))
    h.check(bad in err, "%s: -t error does not name the file: %r" % (what, err))
    h.check(re.search(r"line %d\b" % lineno, err) is not None,
            "%s: -t error does not name line %d: %r" % (what, lineno, err))
    h.check_eq(r.stdout, b"", "%s: -t stdout" % what)


def config_test_mode(args, env):
    srv = h.Server(args.server, args.kind, name="cfg")
    try:
        r = srv.test_config()
        h.check_eq((r.returncode, r.stdout), (0, b""),
                   "-t on a good config (stderr %r)" % r.stderr)
        check_t(srv, "DsshBogusKeyword yes", "unknown keyword")
        check_t(srv, "MaxAuthTries lots", "bad integer")
        check_t(srv, "PasswordAuthentication perhaps", "bad yes/no")
        check_t(srv, "Ciphers aes128-nosuch", "unknown cipher")
        check_t(srv, "KexAlgorithms curve25519-sha256,nosuch-kex", "unknown KEX")
    finally:
        srv.cleanup()


def port_flag(args, env):
    srv = h.Server(args.server, args.kind, name="portflag")
    p2 = h.free_port()
    try:
        srv.start(extra_args=["-p", str(p2), "-o", "MaxAuthTries 1"], port=p2)

        class Via:
            port = p2
        r = h.ssh_run(Via, env, "echo via-p")
        h.check_eq((r.returncode, r.stdout), (0, b"via-p\n"), "login on the -p port")
        with socket.socket() as s:
            s.settimeout(2)
            h.check(s.connect_ex(("127.0.0.1", srv.port)) != 0,
                    "config Port %d still listening although -p was given" % srv.port)
        # -o "MaxAuthTries 1" came first and wins over the config (no
        # MaxAuthTries there: default 6); one wrong password ends it.
        cnt = os.path.join(srv.dir, "count")
        r = h.ssh_run(Via, env, "true", password="wrong", counter=cnt,
                      opts=["NumberOfPasswordPrompts=3"])
        h.check_eq(r.returncode, 255, "exit after wrong password with MaxAuthTries 1")
        h.check_eq(len(open(cnt).read().splitlines()), 1,
                   "password prompts with -o 'MaxAuthTries 1'")
    except h.TestFailure:
        srv.dump_log()
        raise
    finally:
        srv.cleanup()


def login_grace(args, env):
    with h.Server(args.server, args.kind, name="grace",
                  override={"LoginGraceTime": "2"}) as srv:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        t0 = time.time()
        try:
            s.sendall(b"SSH-2.0-SlowClient\r\n")
            s.settimeout(10)
            while True:
                try:
                    d = s.recv(4096)
                except ConnectionResetError:
                    break
                if not d:
                    break
        except socket.timeout:
            raise h.TestFailure("idle unauthenticated connection open after 10 s "
                                "with LoginGraceTime 2")
        finally:
            s.close()
        dt = time.time() - t0
        h.check(1.5 <= dt <= 6, "closed after %.1fs, want about 2s" % dt)


def accept_env(args, env):
    with h.Server(args.server, args.kind, name="acceptenv") as srv:
        r = h.ssh_run(srv, env, 'printf "%s|%s\\n" "${DSSH_TEST_A-unset}" "${NOT_ACCEPTED_X-unset}"',
                      opts=["SetEnv=DSSH_TEST_A=hello NOT_ACCEPTED_X=nope"])
        h.check_eq((r.returncode, r.stdout, r.stderr), (0, b"hello|unset\n", b""),
                   "AcceptEnv DSSH_TEST_* (exit, stdout, stderr)")


def loop_threads(args, env):
    """LoopThreads 3 (dsshd): connections are spread over three loop threads,
    each serving its own sessions, password logins (a PAM worker per loop)
    and exec exit codes; the kernel connections are handed over from loop 0."""
    if args.kind != "dsshd":
        return
    with h.Server(args.server, args.kind, name="loops", extra=["LoopThreads 3"]) as srv:
        procs = []
        for i in range(9):
            argv = h.ssh_argv(srv, env, command="sleep 1; echo out-%d; exit %d" % (i, i % 4))
            procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          start_new_session=True))
        for i, p in enumerate(procs):
            out, err = p.communicate(timeout=60)
            h.check_eq((p.returncode, out), (i % 4, b"out-%d\n" % i),
                       "session %d on its loop (stderr %r)" % (i, err[-200:]))
        for _ in range(3):
            r = h.ssh_run(srv, env, "echo pw", password=h.TEST_PASSWORD)
            h.check_eq((r.returncode, r.stdout), (0, b"pw\n"), "a password login")
        loops = set(re.findall(r"served.* by loop (\d+)", srv.log_text()))
        h.check_eq(sorted(loops), ["0", "1", "2"], "loops that served connections")
        h.check(re.search(r"3 loop threads", srv.log_text()) is not None,
                "dsshd logged its three loop threads")


# Forwarding keywords and what `sshd -T` (OpenSSH 9.2) prints for them.
FWD_LINES = [
    "AllowTcpForwarding local", "AllowStreamLocalForwarding remote",
    "AllowAgentForwarding no", "GatewayPorts clientspecified", "DisableForwarding yes",
    "StreamLocalBindUnlink yes", "StreamLocalBindMask 022",
    "PermitOpen db:5432 [2001:db8::1]:* *:80", "PermitListen 8080 localhost:* [::1]:9000",
]
FWD_DUMP = [
    "allowtcpforwarding local", "allowstreamlocalforwarding remote",
    "allowagentforwarding no", "gatewayports clientspecified", "disableforwarding yes",
    "streamlocalbindunlink yes", "streamlocalbindmask 022",
    "permitopen db:5432 [2001:db8::1]:* *:80", "permitlisten *:8080 localhost:* [::1]:9000",
]
FWD_DEFAULTS = [
    "allowtcpforwarding yes", "allowstreamlocalforwarding yes", "allowagentforwarding yes",
    "gatewayports no", "disableforwarding no", "streamlocalbindunlink no",
    "streamlocalbindmask 0177", "permitopen any", "permitlisten any",
]


def dump_lines(srv):
    r = subprocess.run([srv.path, "-T", "-f", srv.config_path], capture_output=True,
                       timeout=30)
    h.check_eq(r.returncode, 0, "-T exit status (stderr %r)" % r.stderr[-300:])
    return r.stdout.decode(errors="replace").splitlines()


def forwarding_keywords(args, env):
    srv = h.Server(args.server, args.kind, name="fwdkw")
    try:
        out = dump_lines(srv)
        for want in FWD_DEFAULTS:
            h.check(want in out, "-T default %r missing" % want)
        check_t(srv, "AllowTcpForwarding maybe", "bad AllowTcpForwarding")
        check_t(srv, "AllowStreamLocalForwarding 1", "bad AllowStreamLocalForwarding")
        check_t(srv, "GatewayPorts sometimes", "bad GatewayPorts")
        check_t(srv, "PermitOpen db", "PermitOpen without port")
        check_t(srv, "PermitOpen db:0", "PermitOpen port 0")
        check_t(srv, "PermitOpen any db:1", "PermitOpen any with more")
        check_t(srv, "PermitListen 0", "PermitListen port 0")
        check_t(srv, "StreamLocalBindMask 8", "StreamLocalBindMask not octal")
    finally:
        srv.cleanup()
    srv = h.Server(args.server, args.kind, name="fwdkw2", extra=FWD_LINES)
    try:
        r = srv.test_config()
        h.check_eq((r.returncode, r.stdout), (0, b""),
                   "-t with the forwarding keywords (stderr %r)" % r.stderr)
        out = dump_lines(srv)
        for want in FWD_DUMP:
            h.check(want in out, "-T line %r missing (forwarding lines: %r)" % (
                want, [ln for ln in out if ln.split()[0] in
                       [w.split()[0] for w in FWD_DUMP]]))
    finally:
        srv.cleanup()


def body(args, env):
    res = h.Results()
    res.run("loop-threads", loop_threads, args, env)
    res.run("config-test-mode", config_test_mode, args, env)
    res.run("port-flag-and-o", port_flag, args, env)
    res.run("login-grace-time", login_grace, args, env)
    res.run("accept-env", accept_env, args, env)
    res.run("forwarding-keywords", forwarding_keywords, args, env)
    res.finish()


if __name__ == "__main__":
    h.main(__doc__, body)
