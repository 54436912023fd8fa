#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""dssh and dssh-cp with passphrase-protected keys (ssh-keygen -p -N -Z)
against a server: OpenSSH's sshd or dsshd.

  - the passphrase from SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force), asked
    once, for aes256-ctr (ssh-keygen's default), aes256-gcm@openssh.com,
    chacha20-poly1305@openssh.com and aes128-cbc; the login works
  - the same for the ecdsa and rsa keys in encrypted PEM (DEK-Info) and
    PKCS#8 (ssh-keygen -p -m PEM|PKCS8), decrypted by OpenSSL's decoder;
    a wrong passphrase for them: asked 3 times, "Incorrect passphrase"
  - a wrong passphrase: asked 3 times, "Incorrect passphrase", refused
  - BatchMode=yes: never asked, the key skipped with a message, refused
  - on a terminal: "Enter passphrase for key 'PATH': " on /dev/tty, the
    passphrase not echoed, the login works
  - dssh-cp -n 4: one passphrase for its 4 connections, byte-exact copy
  - the key also in an ssh-agent: not asked, the agent signs
"""

import os
import pty
import select
import shutil
import subprocess
import tempfile
import time

from dssh_harness import (TEST_USER, Results, Server, check, check_eq, describe, log, main,
                          run, sha256_file)

PASS = "correct horse battery staple"
CIPHERS = ["aes256-ctr", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
           "aes128-cbc"]


def body(args, env):
    tmp = tempfile.mkdtemp(prefix="dssh-enckey-")
    os.chmod(tmp, 0o1777)
    try:
        tests(args, env, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def encrypted_copy(env, tmp, cipher, rounds=8):
    """The interop ed25519 key (already authorized) under a passphrase."""
    path = os.path.join(tmp, "id_enc_" + cipher.split("@")[0])
    shutil.copy(env.keys["ed25519"], path)
    shutil.copy(env.keys["ed25519"] + ".pub", path + ".pub")
    os.chmod(path, 0o600)
    run(["ssh-keygen", "-q", "-p", "-P", "", "-N", PASS, "-a", str(rounds), "-Z", cipher,
         "-f", path])
    # Really encrypted: ssh-keygen cannot read it without the passphrase.
    r = subprocess.run(["ssh-keygen", "-y", "-P", "", "-f", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    check(r.returncode != 0, "%s: readable without the passphrase" % path)
    return path


def encrypted_pem_copy(env, tmp, kt, fmt):
    """The interop key of type kt (authorized) under a passphrase, in PEM or PKCS#8."""
    path = os.path.join(tmp, "id_enc_%s_%s" % (kt, fmt.lower()))
    shutil.copy(env.keys[kt], path)
    shutil.copy(env.keys[kt] + ".pub", path + ".pub")
    os.chmod(path, 0o600)
    run(["ssh-keygen", "-q", "-p", "-P", "", "-N", PASS, "-m", fmt, "-f", path])
    text = open(path).read()
    mark = "Proc-Type: 4,ENCRYPTED" if fmt == "PEM" else "-----BEGIN ENCRYPTED PRIVATE KEY-----"
    check(mark in text, "%s: not %s-encrypted: %s" % (path, fmt, text[:80]))
    r = subprocess.run(["ssh-keygen", "-y", "-P", "", "-f", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    check(r.returncode != 0, "%s: readable without the passphrase" % path)
    return path


def tests(args, env, tmp):
    srv = Server(args.server)
    kh = os.path.join(tmp, "known_hosts")
    counter = os.path.join(tmp, "askpass.count")
    res = Results()

    def environ(password=PASS, extra=None):
        e = dict(os.environ)
        for k in ("DSSH_PASSWORD", "SSH_AUTH_SOCK", "SSH_ASKPASS", "SSH_ASKPASS_REQUIRE"):
            e.pop(k, None)
        if password is not None:
            e.update({"SSH_ASKPASS": env.askpass, "SSH_ASKPASS_REQUIRE": "force",
                      "DSSH_TEST_PW": password, "DSSH_ASKPASS_COUNT": counter})
        e.update(extra or {})
        return e

    def argv(key, batch=False, opts=(), tool=None):
        a = [tool or args.dssh, "-o", "UserKnownHostsFile=" + kh,
             "-o", "StrictHostKeyChecking=accept-new", "-o", "PasswordAuthentication=no",
             "-o", "KbdInteractiveAuthentication=no"]
        if batch:
            a += ["-o", "BatchMode=yes"]
        for o in opts:
            a += ["-o", o]
        return a + ["-i", key]

    def dssh(key, command="echo ok-$USER", batch=False, password=PASS, extra=None):
        with open(counter, "w"):
            pass
        a = argv(key, batch) + ["-p", str(srv.port), "%s@127.0.0.1" % TEST_USER, command]
        return subprocess.run(a, input=b"", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=120, env=environ(password, extra),
                              start_new_session=True)

    def asked():
        return len(open(counter).read().splitlines())

    keys = {c: encrypted_copy(env, tmp, c) for c in CIPHERS}
    key = keys["aes256-ctr"]
    with srv:
        res.server = srv
        for c in CIPHERS:
            def one(c=c):
                r = dssh(keys[c])
                check(r.returncode == 0 and r.stdout.endswith(("ok-%s\n" % TEST_USER).encode()),
                      describe(r))
                check_eq(asked(), 1, "askpass calls")
            res.run("askpass-%s" % c, one)

        pems = {}
        for kt in ("ecdsa", "rsa"):
            for fmt in ("PEM", "PKCS8"):
                name = "%s-%s" % (fmt.lower(), kt)

                def one_pem(kt=kt, fmt=fmt, name=name):
                    pems[name] = encrypted_pem_copy(env, tmp, kt, fmt)
                    r = dssh(pems[name])
                    check(r.returncode == 0 and
                          r.stdout.endswith(("ok-%s\n" % TEST_USER).encode()), describe(r))
                    check_eq(asked(), 1, "askpass calls")
                res.run("askpass-%s" % name, one_pem)

        def wrong():
            r = dssh(key, password="not the passphrase")
            check(r.returncode == 255 and b"Incorrect passphrase" in r.stderr and
                  b"Permission denied" in r.stderr, describe(r))
            check_eq(asked(), 3, "askpass calls")
        res.run("wrong-passphrase", wrong)

        for name in ("pem-rsa", "pkcs8-ecdsa"):
            def wrong_pem(name=name):
                check(name in pems, "no %s key" % name)
                r = dssh(pems[name], password="not the passphrase")
                check(r.returncode == 255 and b"Incorrect passphrase" in r.stderr and
                      b"Permission denied" in r.stderr, describe(r))
                check_eq(asked(), 3, "askpass calls")
            res.run("wrong-passphrase-%s" % name, wrong_pem)

        def cancelled():
            # An askpass that fails (the user's "cancel"): asked once, skipped.
            r = dssh(key, extra={"SSH_ASKPASS": "/bin/false"})
            check(r.returncode == 255 and b"passphrase-protected" in r.stderr and
                  b"Permission denied" in r.stderr, describe(r))
        res.run("askpass-cancelled", cancelled)

        def batch():
            r = dssh(key, batch=True)
            check(r.returncode == 255 and b"passphrase-protected" in r.stderr and
                  b"BatchMode" in r.stderr, describe(r))
            check_eq(asked(), 0, "askpass calls in BatchMode")
        res.run("batchmode-skips", batch)

        def tty():
            a = argv(key) + ["-p", str(srv.port), "%s@127.0.0.1" % TEST_USER, "echo tty-ok"]
            pid, fd = pty.fork()
            if pid == 0:
                try:
                    os.execve(a[0], a, environ(None))
                finally:
                    os._exit(127)
            out = b""
            sent = False
            deadline = time.time() + 60
            try:
                while time.time() < deadline:
                    rl, _, _ = select.select([fd], [], [], 1)
                    if not rl:
                        continue
                    try:
                        chunk = os.read(fd, 4096)
                    except OSError:
                        break
                    if not chunk:
                        break
                    out += chunk
                    if not sent and b"Enter passphrase for key '%s': " % key.encode() in out:
                        os.write(fd, PASS.encode() + b"\n")
                        sent = True
            finally:
                # Never wait forever for a client stuck at its prompt.
                end = time.time() + 5
                done, st = os.waitpid(pid, os.WNOHANG)
                while done == 0 and time.time() < end:
                    time.sleep(0.1)
                    done, st = os.waitpid(pid, os.WNOHANG)
                if done == 0:
                    os.kill(pid, 9)
                    _, st = os.waitpid(pid, 0)
                os.close(fd)
            check(sent, "no prompt on the terminal: %r" % out[-400:])
            check(PASS.encode() not in out, "the passphrase was echoed: %r" % out[-400:])
            check(b"tty-ok" in out and os.waitstatus_to_exitcode(st) == 0,
                  "status %d, output %r" % (os.waitstatus_to_exitcode(st), out[-400:]))
        res.run("tty-prompt", tty)

        def cp():
            src = os.path.join(tmp, "src.bin")
            with open(src, "wb") as f:
                f.write(os.urandom(24 << 20))
            dst = os.path.join(tmp, "dst.bin")
            with open(counter, "w"):
                pass
            a = argv(key, tool=args.dssh_cp) + ["-P", str(srv.port), "-n", "4", src,
                                                "%s@127.0.0.1:%s" % (TEST_USER, dst)]
            r = subprocess.run(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300,
                               env=environ(), start_new_session=True)
            check(r.returncode == 0, describe(r))
            check_eq(sha256_file(dst), sha256_file(src), "copied file")
            # Four connections (the summary says so), one question.
            check(b"4 streams" in r.stderr, describe(r))
            check_eq(asked(), 1, "askpass calls for 4 streams")
        res.run("dssh-cp-streams", cp)

        def agent():
            sock = os.path.join(tmp, "agent.sock")
            out = run(["ssh-agent", "-a", sock]).stdout
            pid = int(out.split(b"SSH_AGENT_PID=")[1].split(b";")[0])
            try:
                ae = {"SSH_AUTH_SOCK": sock}
                run(["ssh-add", env.keys["ed25519"]], env=dict(os.environ, **ae))
                r = dssh(key, command="echo agent-ok", extra=ae)
                check(r.returncode == 0 and r.stdout.endswith(b"agent-ok\n"), describe(r))
                check_eq(asked(), 0, "askpass calls with the key in the agent")
            finally:
                os.kill(pid, 15)
        res.run("agent-holds-key", agent)
        res.finish(srv)
    log("dssh with encrypted keys against %s: all passed" % args.kind)


def add_args(p):
    p.add_argument("--dssh", required=True)
    p.add_argument("--dssh-cp", required=True)


if __name__ == "__main__":
    main(__doc__, body, add_args)
