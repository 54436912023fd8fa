#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""AuthenticationMethods (a key and a password, partial success) and
keyboard-interactive through PAM, with OpenSSH's ssh and paramiko.

(c) points dsshd's PAMServiceName at a PAM stack written by this test
(/etc/pam.d/dsshd-test-kbdint, removed at the end): pam_unix's "Password: "
then a second question from tests/interop/pam_dssh_question.so (--pam-module).
A refused login never runs its command (a marker file must not appear).
"""

import contextlib
import os
import re
import subprocess
import tempfile
import uuid

import dssh_harness as h

MARKER = "/tmp/dssh-interop-am-marker-%s" % uuid.uuid4().hex
PAM_SERVICE = "dsshd-test-kbdint"
CODE = "424242"
OK_CMD = "echo am-ok:$(id -un)"
OK_OUT = ("am-ok:%s\n" % h.TEST_USER).encode()


def refused_cmd():
    return "touch %s; echo SHOULD-NOT-RUN" % MARKER


def expect_ok(r, what):
    if r.returncode != 0 or r.stdout != OK_OUT:
        raise h.TestFailure("%s: want exit 0 stdout %r; %s" % (what, OK_OUT, h.describe(r)))


def expect_refused(r, methods, what):
    want = ("Permission denied (%s)." % methods).encode()
    if r.returncode != 255 or r.stdout != b"" or want not in r.stderr:
        raise h.TestFailure("%s: want exit 255 and %r; %s" % (what, want, h.describe(r)))


def ssh(srv, env, command, opts, *, key="ed25519", password=None, code=None, prompts=None,
        verbose=1):
    """ssh with the options given first (they win); answers come from an
    askpass that gives code to a "Code" prompt and password otherwise, and
    logs every prompt to the file prompts."""
    argv = h.ssh_argv(srv, env, key=key, opts=["BatchMode=no"] + list(opts),
                      verbose=verbose, command=command)
    e = h.askpass_env(env, password or "")
    e["SSH_ASKPASS"] = env.am_askpass
    e["DSSH_TEST_CODE"] = code or ""
    e["DSSH_TEST_PROMPTS"] = prompts or "/dev/null"
    return subprocess.run(argv, input=b"", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60, env=e, start_new_session=True)


def read_lines(path):
    """The prompts askpass saw, without ssh's "(user@host) " in front."""
    try:
        with open(path) as f:
            return [re.sub(r"^\([^)]*\) ", "", ln) for ln in f.read().splitlines()]
    except FileNotFoundError:
        return []


KEY_PW = ["PasswordAuthentication=yes", "PreferredAuthentications=publickey,password",
          "NumberOfPasswordPrompts=1"]
KBD = ["KbdInteractiveAuthentication=yes", "PreferredAuthentications=keyboard-interactive",
       "PubkeyAuthentication=no", "NumberOfPasswordPrompts=1"]


def key_and_password(args, env, tmp, res):
    with h.Server(args.server, args.kind, name="am-keypw",
                  extra=["AuthenticationMethods publickey,password"]) as srv:
        res.server = srv
        res.run("key-only-refused", lambda: expect_refused(
            h.ssh_run(srv, env, refused_cmd()), "password", "key only"))
        res.run("password-only-refused", lambda: expect_refused(
            h.ssh_run(srv, env, refused_cmd(), password=h.TEST_PASSWORD),
            "publickey", "password only"))

        def both():
            off = srv.log_size()
            r = ssh(srv, env, OK_CMD, KEY_PW, password=h.TEST_PASSWORD)
            expect_ok(r, "key and password")
            h.check(b'Authenticated using "publickey" with partial success' in r.stderr,
                    "ssh -v shows the partial success: %s" % h.describe(r))
            h.check(b'Authenticated to' in r.stderr, "ssh -v: authenticated")
            if args.kind == "dsshd":
                srv.wait_log(r"Partial publickey for %s" % h.TEST_USER, off)
                srv.wait_log(r"Accepted password for %s" % h.TEST_USER, off)
        res.run("key-and-password", both)
        res.run("key-and-wrong-password", lambda: expect_refused(
            ssh(srv, env, refused_cmd(), KEY_PW, password="not-the-password"),
            "password", "key then a wrong password"))
        res.run("paramiko-key-and-password", paramiko_key_pw, srv, env)

    # publickey,publickey: the same key twice does not do.
    with h.Server(args.server, args.kind, name="am-keykey",
                  extra=["AuthenticationMethods publickey,publickey"]) as srv:
        res.server = srv
        res.run("same-key-twice-refused", lambda: expect_refused(
            h.ssh_run(srv, env, refused_cmd()), "publickey", "one key, two steps"))

        def two_keys():
            r = ssh(srv, env, OK_CMD, ["IdentityFile=%s" % env.keys["ecdsa"],
                                       "PreferredAuthentications=publickey"])
            expect_ok(r, "two different keys")
            h.check(b'Authenticated using "publickey" with partial success' in r.stderr,
                    "partial success after the first key: %s" % h.describe(r))
        res.run("two-keys", two_keys)


def paramiko_key_pw(srv, env):
    try:
        import paramiko
    except ImportError:
        h.log("paramiko not installed: not run")
        return
    key = paramiko.Ed25519Key.from_private_key_file(env.keys["ed25519"])
    t = paramiko.Transport(("127.0.0.1", srv.port))
    try:
        t.start_client(timeout=15)
        rest = t.auth_publickey(h.TEST_USER, key)
        h.check_eq(rest, ["password"], "paramiko: methods left after the key")
        h.check(not t.is_authenticated(), "paramiko: not in after the key alone")
        rest = t.auth_password(h.TEST_USER, h.TEST_PASSWORD)
        h.check_eq(rest, [], "paramiko: methods left after the password")
        h.check(t.is_authenticated(), "paramiko: in after key and password")
        ch = t.open_session(timeout=15)
        ch.exec_command(OK_CMD)
        out = b""
        while True:
            d = ch.recv(4096)
            if not d:
                break
            out += d
        h.check_eq(out, OK_OUT, "paramiko: command output")
    finally:
        t.close()


def kbdint_password(args, env, tmp, res):
    with h.Server(args.server, args.kind, name="am-kbd",
                  override={"KbdInteractiveAuthentication": "yes"}) as srv:
        res.server = srv

        def ok():
            cnt = os.path.join(tmp, "kbd-ok")
            r = ssh(srv, env, OK_CMD, KBD, password=h.TEST_PASSWORD, prompts=cnt)
            expect_ok(r, "keyboard-interactive login")
            h.check(b'Authenticated to' in r.stderr and b'keyboard-interactive' in r.stderr,
                    "ssh -v: keyboard-interactive: %s" % h.describe(r))
            h.check_eq(read_lines(cnt), ["Password: "], "prompts asked")
        res.run("kbdint-pam-password", ok)
        res.run("kbdint-wrong-password", lambda: expect_refused(
            ssh(srv, env, refused_cmd(), KBD, password="wrong-pw"),
            "publickey,password,keyboard-interactive", "keyboard-interactive, wrong password"))
        res.run("paramiko-kbdint", paramiko_kbdint, srv, {"Password: ": h.TEST_PASSWORD}, True)


def paramiko_kbdint(srv, answers, want_ok):
    try:
        import paramiko
    except ImportError:
        h.log("paramiko not installed: not run")
        return
    asked = []

    def handler(title, instructions, prompts):
        asked.extend(p for p, _ in prompts)
        return [answers.get(p, "") for p, _ in prompts]
    t = paramiko.Transport(("127.0.0.1", srv.port))
    try:
        t.start_client(timeout=15)
        try:
            t.auth_interactive(h.TEST_USER, handler)
        except paramiko.AuthenticationException:
            pass
        h.check_eq(t.is_authenticated(), want_ok, "paramiko keyboard-interactive result")
        h.check_eq(asked, list(answers), "paramiko: prompts")
    finally:
        t.close()


def kbdint_two_questions(args, env, tmp, res):
    if args.kind != "dsshd" or not args.pam_module:
        h.log("PAMServiceName is dsshd's own (and needs --pam-module): case (c) not run")
        return
    if not os.path.exists(args.pam_module):
        raise h.TestFailure("no PAM module %s" % args.pam_module)
    path = "/etc/pam.d/" + PAM_SERVICE
    runs = os.path.join(tmp, "pam-runs")
    with open(path, "w") as f:
        f.write("# written by dssh tests/interop/test_authmethods.py, removed after it\n"
                "auth     optional  pam_exec.so quiet log=%s /bin/echo auth-stack-run\n"
                "auth     requisite pam_unix.so\n" % runs +
                "auth     required  %s prompt=Code: answer=%s echo\n"
                "account  required  pam_unix.so\n"
                "session  required  pam_permit.so\n" % (os.path.abspath(args.pam_module), CODE))
    try:
        with h.Server(args.server, args.kind, name="am-kbd2",
                      override={"KbdInteractiveAuthentication": "yes"},
                      extra=["PAMServiceName %s" % PAM_SERVICE]) as srv:
            res.server = srv

            def ok():
                cnt = os.path.join(tmp, "kbd2-ok")
                r = ssh(srv, env, OK_CMD, KBD, password=h.TEST_PASSWORD, code=CODE,
                        prompts=cnt)
                expect_ok(r, "password and code")
                h.check_eq(read_lines(cnt), ["Password: ", "Code:"], "prompts asked")
                h.check(b"dssh test: second factor" in r.stderr,
                        "the module's text shown: %s" % h.describe(r))
            res.run("kbdint-two-questions", ok)

            def wrong_code():
                cnt = os.path.join(tmp, "kbd2-wrong")
                r = ssh(srv, env, refused_cmd(), KBD, password=h.TEST_PASSWORD,
                        code="111111", prompts=cnt)
                expect_refused(r, "publickey,password,keyboard-interactive", "wrong code")
                h.check_eq(read_lines(cnt), ["Password: ", "Code:"], "prompts asked")
            res.run("kbdint-wrong-code", wrong_code)

            def wrong_password():
                cnt = os.path.join(tmp, "kbd2-wrongpw")
                r = ssh(srv, env, refused_cmd(), KBD, password="wrong-pw", code=CODE,
                        prompts=cnt)
                expect_refused(r, "publickey,password,keyboard-interactive", "wrong password")
                h.check_eq(read_lines(cnt), ["Password: "], "no second question")
            res.run("kbdint-wrong-password-no-code", wrong_password)

            def password_once():
                # One failed password attempt runs the PAM auth stack once.
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(runs)
                r = h.ssh_run(srv, env, refused_cmd(), password="wrong-pw")
                h.check_eq(r.returncode, 255, "wrong password refused")
                h.check_eq(read_lines(runs).count("auth-stack-run"), 1, "PAM auth stack runs")
            res.run("password-pam-runs-once", password_once)
            res.run("paramiko-kbdint-two", paramiko_kbdint, srv,
                    {"Password: ": h.TEST_PASSWORD, "Code:": CODE}, True)
            res.run("paramiko-kbdint-two-wrong", paramiko_kbdint, srv,
                    {"Password: ": h.TEST_PASSWORD, "Code:": "0"}, False)
        # a key, then the two questions
        with h.Server(args.server, args.kind, name="am-key-kbd2",
                      override={"KbdInteractiveAuthentication": "yes"},
                      extra=["PAMServiceName %s" % PAM_SERVICE,
                             "AuthenticationMethods publickey,keyboard-interactive"]) as srv:
            res.server = srv

            def key_then_kbd():
                r = ssh(srv, env, OK_CMD, ["KbdInteractiveAuthentication=yes",
                                           "PreferredAuthentications=publickey,"
                                           "keyboard-interactive"],
                        password=h.TEST_PASSWORD, code=CODE)
                expect_ok(r, "key then keyboard-interactive")
                h.check(b'Authenticated using "publickey" with partial success' in r.stderr,
                        "partial success: %s" % h.describe(r))
            res.run("key-then-kbdint", key_then_kbd)
    finally:
        os.unlink(path)


def config_checks(args, tmp, res):
    """dsshd -t refuses lists no enabled method can finish, and bad names."""
    if args.kind != "dsshd":
        return
    hk = os.path.join(tmp, "hk")
    h.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hk])
    for lines, want in ((["UsePAM no", "AuthenticationMethods publickey,password"],
                         "cannot be satisfied"),
                        (["KbdInteractiveAuthentication no",
                          "AuthenticationMethods keyboard-interactive"], "cannot be satisfied"),
                        (["AuthenticationMethods publickey,hostbased"], "hostbased"),
                        (["AuthenticationMethods any,password"], "any")):
        def one(lines=lines, want=want):
            cfg = os.path.join(tmp, "t.conf")
            with open(cfg, "w") as f:
                f.write("HostKey %s\n%s\n" % (hk, "\n".join(lines)))
            r = subprocess.run([args.server, "-t", "-f", cfg], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
            h.check(r.returncode != 0 and want.encode() in r.stderr,
                    "dsshd -t %r: %s" % (lines, h.describe(r)))
        res.run("config-%s" % lines[-1].split()[-1], one)


def body(args, env):
    env.am_askpass = os.path.join(h.STATE_DIR, "askpass-am.sh")
    with open(env.am_askpass + ".tmp", "w") as f:
        f.write("#!/bin/sh\n"
                "printf '%s\\n' \"$1\" >> \"$DSSH_TEST_PROMPTS\"\n"
                "case \"$1\" in *Code*) printf '%s\\n' \"$DSSH_TEST_CODE\";; "
                "*) printf '%s\\n' \"$DSSH_TEST_PW\";; esac\n")
    os.chmod(env.am_askpass + ".tmp", 0o755)
    os.rename(env.am_askpass + ".tmp", env.am_askpass)
    res = h.Results()
    with tempfile.TemporaryDirectory(prefix="dssh-am-") as tmp:
        os.chmod(tmp, 0o755)
        config_checks(args, tmp, res)
        key_and_password(args, env, tmp, res)
        kbdint_password(args, env, tmp, res)
        kbdint_two_questions(args, env, tmp, res)
    if os.path.exists(MARKER):
        os.unlink(MARKER)
        res.failed.append("marker")
        h.log("FAIL: a refused login ran its command")
    res.finish(res.server)


def add_args(p):
    p.add_argument("--pam-module", help="tests/interop's pam_dssh_question.so")


if __name__ == "__main__":
    h.main(__doc__, body, add_args)
