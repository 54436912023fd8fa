#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Authentication: publickey, password through real PAM, and every refusal.

A refused login must never run a command: every refused attempt asks for
`touch MARKER`, and the marker must not exist at the end.
"""

import os
import tempfile
import uuid

import dssh_harness as h

MARKER = "/tmp/dssh-interop-marker-%s" % uuid.uuid4().hex


def refused_cmd():
    return "touch %s; echo SHOULD-NOT-RUN" % MARKER


def expect_ok(r, stdout, what):
    if r.returncode != 0 or r.stdout != stdout or r.stderr != b"":
        raise h.TestFailure("%s: want exit 0 stdout %r; %s" % (what, stdout, h.describe(r)))


def expect_refused(r, user, methods, what):
    want = ("%s@127.0.0.1: Permission denied (%s).\r\n" % (user, methods)).encode()
    if r.returncode != 255 or r.stdout != b"" or not r.stderr.endswith(want):
        raise h.TestFailure("%s: want exit 255 and stderr ending %r; %s"
                            % (what, want, h.describe(r)))


def count_file(path):
    try:
        with open(path) as f:
            return len(f.read().splitlines())
    except FileNotFoundError:
        return 0


def body(args, env):
    with tempfile.TemporaryDirectory(prefix="dssh-auth-") as tmp:
        auth_tests(args, env, tmp)


def auth_tests(args, env, tmp):
    res = h.Results()
    ident = ("printf '%s|' \"$(id -un)\" \"$HOME\" \"$USER\" \"$LOGNAME\" \"$SHELL\" "
             "\"$PWD\"; echo \"${SSH_CONNECTION%% *}\"")
    want_ident = b"dsshtest|/home/dsshtest|dsshtest|dsshtest|/bin/bash|/home/dsshtest|127.0.0.1\n"
    if env.user.pw_dir != "/home/dsshtest":
        want_ident = want_ident.replace(b"/home/dsshtest", env.user.pw_dir.encode())

    # Server A: default policy + DenyUsers + MaxAuthTries.
    with h.Server(args.server, args.kind, name="auth",
                  extra=["DenyUsers %s" % h.DENY_USER, "MaxAuthTries 3"]) as srv:
        res.server = srv
        for kt in h.KEY_TYPES:
            res.run("publickey-%s" % kt, lambda kt=kt: expect_ok(
                h.ssh_run(srv, env, ident, key=kt), want_ident, "publickey " + kt))

        def password_ok():
            cnt = os.path.join(tmp, "pw-ok")
            r = h.ssh_run(srv, env, ident, password=h.TEST_PASSWORD, counter=cnt)
            expect_ok(r, want_ident, "password login")
            h.check_eq(count_file(cnt), 1, "password prompts")
        res.run("password-pam", password_ok)

        res.run("wrong-key", lambda: expect_refused(
            h.ssh_run(srv, env, refused_cmd(), key="wrong"), h.TEST_USER,
            "publickey,password", "wrong key"))

        def wrong_password():
            cnt = os.path.join(tmp, "pw-wrong")
            r = h.ssh_run(srv, env, refused_cmd(), password="not-the-password",
                          counter=cnt)
            expect_refused(r, h.TEST_USER, "publickey,password", "wrong password")
            h.check_eq(count_file(cnt), 1, "password prompts")
        res.run("wrong-password", wrong_password)

        res.run("unknown-user-key", lambda: expect_refused(
            h.ssh_run(srv, env, refused_cmd(), user="nosuchuser-dssh"),
            "nosuchuser-dssh", "publickey,password", "unknown user, key"))
        res.run("unknown-user-password", lambda: expect_refused(
            h.ssh_run(srv, env, refused_cmd(), user="nosuchuser-dssh",
                      password=h.TEST_PASSWORD),
            "nosuchuser-dssh", "publickey,password", "unknown user, password"))

        res.run("denyusers-key", lambda: expect_refused(
            h.ssh_run(srv, env, refused_cmd(), user=h.DENY_USER),
            h.DENY_USER, "publickey,password", "DenyUsers, key"))
        res.run("denyusers-password", lambda: expect_refused(
            h.ssh_run(srv, env, refused_cmd(), user=h.DENY_USER,
                      password=h.DENY_PASSWORD),
            h.DENY_USER, "publickey,password", "DenyUsers, right password"))

        def max_auth_tries():
            cnt = os.path.join(tmp, "pw-max")
            r = h.ssh_run(srv, env, refused_cmd(), password="wrong-again",
                          counter=cnt, opts=["NumberOfPasswordPrompts=6"],
                          timeout=90)
            h.check_eq(r.returncode, 255, "exit status after MaxAuthTries")
            h.check_eq(r.stdout, b"", "stdout")
            h.check(b"Too many authentication failures" in r.stderr,
                    "no 'Too many authentication failures' disconnect: %r" % r.stderr)
            h.check_eq(count_file(cnt), 3, "password attempts allowed (MaxAuthTries 3)")
        res.run("maxauthtries", max_auth_tries)
        res.finish(srv)

    # Server B: AllowUsers.
    with h.Server(args.server, args.kind, name="allow",
                  extra=["AllowUsers %s" % h.TEST_USER]) as srv:
        res.server = srv
        res.run("allowusers-member", lambda: expect_ok(
            h.ssh_run(srv, env, "echo allowed"), b"allowed\n", "AllowUsers member"))
        res.run("allowusers-other-key", lambda: expect_refused(
            h.ssh_run(srv, env, refused_cmd(), user=h.DENY_USER),
            h.DENY_USER, "publickey,password", "not in AllowUsers, key"))
        res.run("allowusers-other-password", lambda: expect_refused(
            h.ssh_run(srv, env, refused_cmd(), user=h.DENY_USER,
                      password=h.DENY_PASSWORD),
            h.DENY_USER, "publickey,password", "not in AllowUsers, password"))
        res.finish(srv)

    # Server C: PasswordAuthentication no.
    with h.Server(args.server, args.kind, name="nopw", password=False) as srv:
        res.server = srv
        res.run("password-disabled", lambda: expect_refused(
            h.ssh_run(srv, env, refused_cmd(), password=h.TEST_PASSWORD),
            h.TEST_USER, "publickey", "PasswordAuthentication no"))
        res.run("password-disabled-key-ok", lambda: expect_ok(
            h.ssh_run(srv, env, "echo key-still-ok"), b"key-still-ok\n",
            "key login with PasswordAuthentication no"))
        res.finish(srv)

    res.run("refused-never-ran-command", lambda: h.check(
        not os.path.exists(MARKER), "marker %s exists: a refused login ran a command"
        % MARKER))
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    res.finish()


if __name__ == "__main__":
    h.main(__doc__, body)
