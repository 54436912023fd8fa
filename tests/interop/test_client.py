#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""dssh and dssh-cp (the engine's client role) against a server: OpenSSH's
sshd (--server /usr/sbin/sshd) or dsshd.

  - logins with each KEX, cipher (and MAC), host-key algorithm and user key
    type both sides support; password login from DSSH_PASSWORD, a wrong one
  - exit status, stderr, 64 MiB through cat byte-exact (sha256)
  - known_hosts: unknown key refused under StrictHostKeyChecking=yes,
    accept-new adds it, then it matches (plain and ssh-keygen -H hashed),
    a changed key refused with OpenSSH's warning, @revoked refused
  - dssh-cp: a file (256 MiB by default) up and down with -n 1, 2, 4,
    byte-exact; -p keeps mode and mtime; killed mid-copy and run again, it
    resumes (its journal) and ends byte-exact
"""

import os
import shutil
import subprocess
import time

from dssh_harness import (in_shared_tmp, KEXES, TEST_PASSWORD, TEST_USER, Results, Server, check,
                          check_eq, describe, log, main, run, sha256_file)

CIPHERS = ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com",
           "aes256-gcm@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr"]
CTR_MACS = ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
            "umac-64-etm@openssh.com", "umac-128-etm@openssh.com",
            "hmac-sha2-256", "hmac-sha2-512"]
HOSTKEYS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"]


def body(args, env):
    in_shared_tmp("dssh-client-", client_tests, args, env)


# Other tests may leave a ~/.ssh/rc in the shared test user's home (sshd runs
# it before a command: its output comes first), so outputs are compared by
# their end where that can happen.

def client_tests(args, env, tmp):
    dsshd = args.kind == "dsshd"
    kexes = list(KEXES) + ["sntrup761x25519-sha512@openssh.com"]
    if dsshd:
        kexes += ["mlkem768x25519-sha256", "sntrup761x25519-sha512"]
    srv = Server(args.server, override={"KexAlgorithms": ",".join(kexes)})
    kh = os.path.join(tmp, "known_hosts")
    res = Results()

    def dssh(command, *, opts=(), key="ed25519", known=kh, strict="accept-new",
             password=None, input=b"", timeout=120, tool=None, argv=None, extra_env=None):
        e = dict(os.environ)
        e.pop("DSSH_PASSWORD", None)
        e.pop("SSH_AUTH_SOCK", None)
        e.update(extra_env or {})
        if password is not None:
            e["DSSH_PASSWORD"] = password
        a = [tool or args.dssh, "-o", "UserKnownHostsFile=" + known,
             "-o", "StrictHostKeyChecking=" + strict, "-o", "BatchMode=yes"]
        if key:
            a += ["-i", env.keys[key]]
        for o in opts:
            a += ["-o", o]
        if argv is not None:
            a += argv
        else:
            a += ["-p", str(srv.port), "%s@127.0.0.1" % TEST_USER, command]
        return subprocess.run(a, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, env=e, start_new_session=True)

    def login(what, opts=(), key="ed25519"):
        r = dssh("echo ok-$USER", opts=opts, key=key)
        check(r.returncode == 0 and r.stdout.endswith(("ok-%s\n" % TEST_USER).encode()),
              "%s: %s" % (what, describe(r)))

    with srv:
        res.server = srv
        # First contact: unknown key, then known.
        res.run("strict-yes-unknown-refused", lambda: (
            lambda r: check(r.returncode == 255 and b"Host key verification failed" in r.stderr,
                            describe(r)))(dssh("true", strict="yes")))
        res.run("accept-new-adds", lambda: (
            lambda r: check(r.returncode == 0 and b"Permanently added" in r.stderr
                            and os.path.getsize(kh) > 0, describe(r)))(dssh("true")))
        res.run("strict-yes-known", lambda: check_eq(dssh("true", strict="yes").returncode, 0,
                                                     "exit status"))
        for i, kex in enumerate(kexes):
            c = CIPHERS[i % len(CIPHERS)]
            hk = HOSTKEYS[i % len(HOSTKEYS)]
            res.run("kex-%s" % kex, login, "kex %s" % kex,
                    ["KexAlgorithms=" + kex, "Ciphers=" + c, "HostKeyAlgorithms=" + hk])
        for c in CIPHERS:
            macs = CTR_MACS if c.endswith("-ctr") else [None]
            for m in macs:
                o = ["Ciphers=" + c, "KexAlgorithms=curve25519-sha256"]
                if m:
                    o.append("MACs=" + m)
                res.run("cipher-%s%s" % (c, "-" + m if m else ""), login, c, o)
        for hk in HOSTKEYS:
            # Each host key once: the file is emptied (accept-new adds it).
            def one_hk(hk=hk):
                k2 = kh + "." + hk
                r = dssh("echo ok", opts=["HostKeyAlgorithms=" + hk], known=k2)
                check(r.returncode == 0 and r.stdout.endswith(b"ok\n"), describe(r))
                r = dssh("echo ok", opts=["HostKeyAlgorithms=" + hk], known=k2, strict="yes")
                check(r.returncode == 0, describe(r))
            res.run("hostkey-%s" % hk, one_hk)
        for kt in ("ed25519", "ecdsa", "rsa"):
            res.run("userkey-%s" % kt, login, kt, (), kt)
        def agent():
            # Keys only in an ssh-agent (an empty HOME, no -i): RSA signs with
            # rsa-sha2-512 through the agent's flags, ed25519 as is.
            sock = os.path.join(tmp, "agent.sock")
            home = os.path.join(tmp, "agent-home")
            os.makedirs(home, exist_ok=True)
            out = run(["ssh-agent", "-a", sock]).stdout
            pid = int(out.split(b"SSH_AGENT_PID=")[1].split(b";")[0])
            try:
                ae = {"SSH_AUTH_SOCK": sock, "HOME": home}
                for kt in ("rsa", "ed25519"):
                    subprocess.run(["ssh-add", "-D"], env=dict(os.environ, **ae),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    run(["ssh-add", env.keys[kt]], env=dict(os.environ, **ae))
                    r = dssh("echo agent", key=None, extra_env=ae)
                    check(r.returncode == 0 and r.stdout.endswith(b"agent\n"),
                          "%s via the agent: %s" % (kt, describe(r)))
                r = dssh("true", key=None, extra_env=ae, opts=["IdentityAgent=none",
                                                               "PasswordAuthentication=no"])
                check(r.returncode == 255 and b"Permission denied" in r.stderr,
                      "IdentityAgent=none: " + describe(r))
            finally:
                os.kill(pid, 15)
        res.run("agent", agent)
        res.run("password", lambda: (
            lambda r: check(r.returncode == 0 and r.stdout.endswith(b"pw\n"), describe(r)))(
                dssh("echo pw", key=None, password=TEST_PASSWORD,
                     opts=["PubkeyAuthentication=no"])))
        res.run("password-wrong", lambda: (
            lambda r: check(r.returncode == 255 and b"Permission denied" in r.stderr,
                            describe(r)))(
                dssh("true", key=None, password="wrong", opts=["PubkeyAuthentication=no"])))
        res.run("exit-status-stderr", lambda: (
            lambda r: check(r.returncode == 7 and r.stdout.endswith(b"out\n") and
                            r.stderr.endswith(b"err\n"), describe(r)))(
                dssh("echo out; echo err >&2; exit 7")))

        def cat64():
            data = os.urandom(64 << 20)
            r = dssh("cat", input=data, timeout=300)
            check(r.returncode == 0, describe(r))
            check(len(data) <= len(r.stdout) < len(data) + 256,
                  "bytes back: %d of %d" % (len(r.stdout), len(data)))
            check(r.stdout[-len(data):] == data, "64 MiB through cat differ")
        res.run("cat-64M", cat64)

        def changed():
            k3 = kh + ".changed"
            # Another ed25519 key under this host's name: a changed key.
            other = open(env.keys["wrong"] + ".pub").read().split()
            with open(k3, "w") as f:
                f.write("[127.0.0.1]:%d %s %s\n" % (srv.port, other[0], other[1]))
            r = dssh("true", known=k3, strict="yes", opts=["HostKeyAlgorithms=ssh-ed25519"])
            check(r.returncode == 255, describe(r))
            check(b"REMOTE HOST IDENTIFICATION HAS CHANGED" in r.stderr and
                  b"Offending ED25519 key in %s:1" % k3.encode() in r.stderr, describe(r))
            # accept-new refuses a changed key too.
            r = dssh("true", known=k3, strict="accept-new",
                     opts=["HostKeyAlgorithms=ssh-ed25519"])
            check(r.returncode == 255, describe(r))
        res.run("changed-key-refused", changed)

        def hashed_and_revoked():
            k4 = kh + ".hashed"
            shutil.copy(kh, k4)
            run(["ssh-keygen", "-q", "-H", "-f", k4])
            check(open(k4).read().startswith("|1|"), "ssh-keygen -H hashed nothing")
            r = dssh("true", known=k4, strict="yes")
            check(r.returncode == 0, "hashed entry: " + describe(r))
            k5 = kh + ".revoked"
            with open(k5, "w") as f:
                for line in open(kh):
                    f.write(line)
                    f.write("@revoked * %s\n" % " ".join(line.split()[1:3]))
            r = dssh("true", known=k5, strict="no")
            check(r.returncode == 255 and b"REVOKED HOST KEY" in r.stderr, describe(r))
        res.run("hashed-and-revoked", hashed_and_revoked)

        def cp_roundtrip():
            src = os.path.join(tmp, "src.bin")
            with open(src, "wb") as f:
                left = args.size
                while left > 0:
                    n = min(left, 8 << 20)
                    f.write(os.urandom(n))
                    left -= n
            os.chmod(src, 0o640)
            os.utime(src, (1600000000, 1600000000))
            want = sha256_file(src)
            for n in (1, 2, 4):
                up = os.path.join(tmp, "up-%d.bin" % n)
                down = os.path.join(tmp, "down-%d.bin" % n)
                base = ["-P", str(srv.port), "-n", str(n), "-p", "-q"]
                r = dssh(None, tool=args.dssh_cp, timeout=900,
                         argv=base + [src, "%s@127.0.0.1:%s" % (TEST_USER, up)])
                check(r.returncode == 0, "upload -n %d: %s" % (n, describe(r)))
                check_eq(sha256_file(up), want, "uploaded file (-n %d)" % n)
                st = os.stat(up)
                check_eq(oct(st.st_mode & 0o777), oct(0o640), "mode kept")
                check_eq(int(st.st_mtime), 1600000000, "mtime kept")
                r = dssh(None, tool=args.dssh_cp, timeout=900,
                         argv=base + ["%s@127.0.0.1:%s" % (TEST_USER, up), down])
                check(r.returncode == 0, "download -n %d: %s" % (n, describe(r)))
                check_eq(sha256_file(down), want, "downloaded file (-n %d)" % n)
                check_eq(int(os.stat(down).st_mtime), 1600000000, "mtime kept (down)")
                os.unlink(down)
                if n != 4:
                    os.unlink(up)
            # Killed mid-copy (SIGKILL once an eighth is written), then run
            # again: it resumes from the journal and ends byte-exact.
            for direction in ("up", "down"):
                tgt = os.path.join(tmp, "resume-%s.bin" % direction)
                remote = up if direction == "up" else os.path.join(tmp, "remote-src.bin")
                if direction == "down":
                    shutil.copy(src, remote)
                    os.chmod(remote, 0o644)
                spec = "%s@127.0.0.1:%s" % (TEST_USER, tgt if direction == "up" else remote)
                argv = [args.dssh_cp, "-o", "UserKnownHostsFile=" + kh, "-o", "BatchMode=yes",
                        "-i", env.keys["ed25519"], "-P", str(srv.port), "-n", "4"]
                argv += [src, spec] if direction == "up" else [spec, tgt]
                p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
                deadline = time.time() + 120
                while p.poll() is None and time.time() < deadline:
                    try:
                        if os.stat(tgt).st_blocks * 512 >= args.size // 8:
                            break
                    except FileNotFoundError:
                        pass
                    time.sleep(0.01)
                check(p.poll() is None, "%s: the copy ended before it could be killed" % direction)
                p.kill()
                p.wait()
                check(sha256_file(tgt) != want, "%s: killed, yet complete" % direction)
                r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   timeout=900, start_new_session=True)
                check(r.returncode == 0 and b"resumed" in r.stderr,
                      "%s resume: %s" % (direction, describe(r)))
                check_eq(sha256_file(tgt), want, "resumed copy (%s)" % direction)
                os.unlink(tgt)
                if direction == "down":
                    os.unlink(remote)
            # A missing remote file: an error, not an empty copy.
            r = dssh(None, tool=args.dssh_cp, argv=["-P", str(srv.port), "-q",
                     "%s@127.0.0.1:%s/nonexistent" % (TEST_USER, tmp), tmp + "/x"])
            check(r.returncode != 0 and not os.path.exists(tmp + "/x"), describe(r))
        res.run("dssh-cp", cp_roundtrip)
        res.finish(srv)
    log("dssh client against %s: all passed" % args.kind)


def add_args(p):
    p.add_argument("--dssh", required=True)
    p.add_argument("--dssh-cp", required=True)
    p.add_argument("--size", type=lambda s: int(s[:-1]) << 20 if s.endswith("M") else int(s),
                   default=256 << 20)


if __name__ == "__main__":
    main(__doc__, body, add_args)
