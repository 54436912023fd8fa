#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Other SSH implementations as clients: paramiko (password and keys), and
if installed dropbear's dbclient, PuTTY's plink and pscp (SCP protocol).
Each runs a command and the output, stderr and exit status are checked.
A missing optional client is reported as skipped, not passed."""

import os
import shutil
import subprocess
import tempfile

import dssh_harness as h

CMD = "printf 'peer-out %s\\n' \"$USER\"; printf 'peer-err\\n' >&2; exit 3"
WANT_OUT = ("peer-out %s\n" % h.TEST_USER).encode()
WANT_ERR = b"peer-err\n"


def expect(what, rc, out, err):
    if (rc, out, err) != (3, WANT_OUT, WANT_ERR):
        raise h.TestFailure("%s: want (3, %r, %r), got (%r, %r, %r)"
                            % (what, WANT_OUT, WANT_ERR, rc, out, err))


def paramiko_run(srv, env, **auth):
    import paramiko
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        c.connect("127.0.0.1", port=srv.port, username=h.TEST_USER,
                  allow_agent=False, look_for_keys=False, timeout=15,
                  banner_timeout=15, auth_timeout=15, **auth)
        _, so, se = c.exec_command(CMD, timeout=30)
        out = so.read()
        err = se.read()
        rc = so.channel.recv_exit_status()
        t = c.get_transport()
        h.log("paramiko negotiated %s / %s / %s" % (t.remote_cipher, t.remote_mac,
                                                    t.host_key_type))
        expect("paramiko", rc, out, err)
    finally:
        c.close()


def paramiko_bad_password(srv, env):
    import paramiko
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        c.connect("127.0.0.1", port=srv.port, username=h.TEST_USER,
                  password="wrong-password", allow_agent=False,
                  look_for_keys=False, timeout=15)
    except paramiko.AuthenticationException:
        return
    finally:
        c.close()
    raise h.TestFailure("paramiko logged in with a wrong password")


def paramiko_key(kt):
    import paramiko
    cls = {"ed25519": paramiko.Ed25519Key, "ecdsa": paramiko.ECDSAKey,
           "rsa": paramiko.RSAKey}[kt]
    return cls


def body(args, env):
    with tempfile.TemporaryDirectory(prefix="dssh-peers-") as tmp:
        peer_tests(args, env, tmp)


def peer_tests(args, env, tmp):
    res = h.Results()
    skipped = []
    try:
        import paramiko  # noqa: F401
        have_paramiko = True
    except ImportError:
        have_paramiko = False
        skipped.append("paramiko")
    with h.Server(args.server, args.kind, name="peers") as srv:
        res.server = srv
        if have_paramiko:
            res.run("paramiko-password", paramiko_run, srv, env, password=h.TEST_PASSWORD)
            res.run("paramiko-wrong-password", paramiko_bad_password, srv, env)
            for kt in h.KEY_TYPES:
                res.run("paramiko-key-%s" % kt, lambda kt=kt: paramiko_run(
                    srv, env, pkey=paramiko_key(kt).from_private_key_file(env.keys[kt])))

        if shutil.which("dbclient") and shutil.which("dropbearconvert"):
            dbkey = os.path.join(tmp, "id_ed25519.db")
            h.run(["dropbearconvert", "openssh", "dropbear", env.keys["ed25519"], dbkey])
            # dbclient reads $HOME/.ssh/known_hosts: give it its own HOME with
            # the server's keys, so it checks the host key and prints nothing.
            dbhome = os.path.join(tmp, "dbhome")
            os.makedirs(os.path.join(dbhome, ".ssh"), mode=0o700)
            with open(os.path.join(dbhome, ".ssh", "known_hosts"), "w") as f:
                for p in srv.hostkeys.values():
                    kt, b64 = open(p + ".pub").read().split()[:2]
                    f.write("127.0.0.1 %s %s\n" % (kt, b64))   # dbclient: no [host]:port
            base = ["dbclient", "-p", str(srv.port)]

            def dbclient(extra, e, what):
                r = subprocess.run(base + extra + ["%s@127.0.0.1" % h.TEST_USER, CMD],
                                   stdin=subprocess.DEVNULL, capture_output=True,
                                   timeout=60, env=dict(os.environ, HOME=dbhome, **e),
                                   start_new_session=True)
                expect(what, r.returncode, r.stdout, r.stderr)

            def dropbear_key():
                dbclient(["-i", dbkey], {}, "dbclient key")

            def dropbear_password():
                # no -i and no keys in HOME: password from $DROPBEAR_PASSWORD
                dbclient([], {"DROPBEAR_PASSWORD": h.TEST_PASSWORD}, "dbclient password")
            res.run("dbclient-key", dropbear_key)
            res.run("dbclient-password", dropbear_password)
        else:
            skipped.append("dbclient")

        if shutil.which("plink") and shutil.which("puttygen"):
            ppk = os.path.join(tmp, "id_ed25519.ppk")
            h.run(["puttygen", env.keys["ed25519"], "-O", "private", "-o", ppk])
            base = ["-batch", "-noagent", "-P", str(srv.port),
                    "-hostkey", srv.fingerprint("ssh-ed25519")]

            def plink(extra, what):
                r = subprocess.run(["plink", "-ssh"] + base + extra +
                                   ["%s@127.0.0.1" % h.TEST_USER, CMD],
                                   stdin=subprocess.DEVNULL, capture_output=True,
                                   timeout=60, start_new_session=True)
                expect(what, r.returncode, r.stdout, r.stderr)
            res.run("plink-key", plink, ["-i", ppk], "plink key")
            res.run("plink-password", plink, ["-pw", h.TEST_PASSWORD], "plink password")

            if shutil.which("pscp"):
                def pscp_roundtrip():
                    src = os.path.join(tmp, "pscp-src.bin")
                    back = os.path.join(tmp, "pscp-back.bin")
                    with open(src, "wb") as f:
                        f.write(os.urandom(3 * 1024 * 1024 + 17))
                    remote = "dssh-pscp-%d.bin" % os.getpid()
                    dest = "%s@127.0.0.1:%s" % (h.TEST_USER, remote)
                    for argv in (["pscp", "-scp", "-q"] + base + ["-i", ppk, src, dest],
                                 ["pscp", "-scp", "-q"] + base + ["-i", ppk, dest, back]):
                        r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                                           capture_output=True, timeout=120,
                                           start_new_session=True)
                        h.check_eq(r.returncode, 0, "pscp exit (%s; stderr %r)"
                                   % (argv[-2:], r.stderr))
                    h.ssh_run(srv, env, "rm -f " + remote)
                    h.check_eq(h.sha256_file(back), h.sha256_file(src),
                               "sha256 after pscp round trip")
                res.run("pscp-scp-roundtrip", pscp_roundtrip)
            else:
                skipped.append("pscp")
        else:
            skipped.append("plink")
        if skipped:
            h.log("not installed, skipped: " + ", ".join(skipped))
        res.finish(srv)


if __name__ == "__main__":
    h.main(__doc__, body)
