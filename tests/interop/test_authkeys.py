#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""authorized_keys options: command= (SSH_ORIGINAL_COMMAND), from= (refused
and allowed), no-pty, restrict, environment= (ignored: PermitUserEnvironment
is off by default). PermitUserEnvironment no, yes and a pattern list
(LANG,FOO*) with both user sources: environment= and ~/.ssh/environment."""

import contextlib
import os

import dssh_harness as h

# What the session shows of the variables the two user sources set.
SHOW_ENV = 'echo "${LANG-unset}|${FOOKEY-unset}|${OTHERKEY-unset}|' \
           '${FOOFILE-unset}|${OTHERFILE-unset}"'


def forced_command(srv, env):
    r = h.ssh_run(srv, env, "echo mine", key="opt_command")
    h.check_eq((r.returncode, r.stdout, r.stderr), (0, b"forced:echo mine\n", b""),
               "command= key (exit, stdout, stderr)")


def from_refused(srv, env):
    r = h.ssh_run(srv, env, "echo SHOULD-NOT-RUN", key="opt_from_bad")
    want = b"dsshtest@127.0.0.1: Permission denied (publickey,password).\r\n"
    h.check(r.returncode == 255 and r.stdout == b"" and r.stderr.endswith(want),
            'from="10.9.8.7" key not refused: ' + h.describe(r))


def from_allowed(srv, env):
    r = h.ssh_run(srv, env, "echo from-ok", key="opt_from_ok")
    h.check_eq((r.returncode, r.stdout), (0, b"from-ok\n"), 'from="...,127.0.0.*" key')


def no_pty(srv, env, key):
    # OpenSSH 9.2's ssh -tt gives up (exit 255) when the pty is refused.
    r = h.ssh_run(srv, env, "tty; echo done", key=key, tty=True)
    h.check_eq((r.returncode, r.stdout, r.stderr),
               (255, b"", b"PTY allocation request failed on channel 0\r\n"),
               "%s key with -tt (exit, stdout, stderr)" % key)
    # without -tt the same key runs commands (no pty needed)
    r = h.ssh_run(srv, env, "tty; echo done", key=key)
    h.check_eq((r.returncode, r.stdout), (0, b"not a tty\ndone\n"),
               "%s key without a pty (exit, stdout)" % key)


def env_ignored(srv, env):
    r = h.ssh_run(srv, env, 'echo "${DSSH_TEST_FROM_KEY-unset}"', key="opt_env")
    h.check_eq((r.returncode, r.stdout), (0, b"unset\n"),
               "environment= with PermitUserEnvironment off")


def write_user_env(env, text):
    """~/.ssh/environment of the test user, owned by the user, mode 600."""
    path = os.path.join(env.user.pw_dir, ".ssh", "environment")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chown(tmp, env.user.pw_uid, env.user.pw_gid)
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)
    return path


# The file: LANG only in the second version (the key sets LANG in the first).
FILE_NO_LANG = "# dssh interop\n\nFOOFILE=ff\n  OTHERFILE=of\nnot a setting\n"
FILE_LANG = "LANG=xx_FILE.dssh\nFOOFILE=ff2\nOTHERFILE=of2\n"


def user_env(srv, env, want_key, want_plain):
    """want_key: what SHOW_ENV prints logged in with the environment= key
    while the file has no LANG; want_plain: with a plain key, the file
    setting LANG."""
    write_user_env(env, FILE_NO_LANG)
    r = h.ssh_run(srv, env, SHOW_ENV, key="opt_env_multi")
    h.check_eq((r.returncode, r.stdout), (0, want_key + b"\n"),
               "environment= key and ~/.ssh/environment (exit, stdout)")
    write_user_env(env, FILE_LANG)
    r = h.ssh_run(srv, env, SHOW_ENV)
    h.check_eq((r.returncode, r.stdout), (0, want_plain + b"\n"),
               "plain key and ~/.ssh/environment (exit, stdout)")


def user_env_servers(args, env, res):
    # (value, key login with the file without LANG, plain login with LANG in the file);
    # "unset" LANG under "no": PAM may set one of its own, never ours.
    # SetEnv's values win over both user sources (sshd_config(5) SetEnv).
    cases = (
        ("no", [], None, None),
        ("yes", [], b"xx_KEY.dssh|fk|ok|ff|of", b"xx_FILE.dssh|unset|unset|ff2|of2"),
        ("LANG,FOO*", [], b"xx_KEY.dssh|fk|unset|ff|unset",
         b"xx_FILE.dssh|unset|unset|ff2|unset"),
        ("yes", ["SetEnv FOOFILE=admin FOOKEY=adm2"], b"xx_KEY.dssh|adm2|ok|admin|of",
         b"xx_FILE.dssh|adm2|unset|admin|of2"),
    )
    try:
        for value, extra, want_key, want_plain in cases:
            name = "PermitUserEnvironment-" + value + ("+SetEnv" if extra else "")
            with h.Server(args.server, args.kind, name="authkeys-pue",
                          extra=["PermitUserEnvironment %s" % value] + extra) as srv:
                if want_key is None:
                    ok = res.run(name, user_env_none, srv, env)
                else:
                    ok = res.run(name, user_env, srv, env, want_key, want_plain)
                if not ok:
                    srv.dump_log(120)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(env.user.pw_dir, ".ssh", "environment"))


def user_env_none(srv, env):
    """PermitUserEnvironment no: neither source sets anything."""
    write_user_env(env, FILE_NO_LANG)
    r = h.ssh_run(srv, env, SHOW_ENV, key="opt_env_multi")
    h.check(r.returncode == 0 and r.stdout.endswith(b"|unset|unset|unset|unset\n") and
            b"dssh" not in r.stdout, "PermitUserEnvironment no, key: " + h.describe(r))
    write_user_env(env, FILE_LANG)
    r = h.ssh_run(srv, env, SHOW_ENV)
    h.check(r.returncode == 0 and r.stdout.endswith(b"|unset|unset|unset|unset\n") and
            b"dssh" not in r.stdout, "PermitUserEnvironment no, plain: " + h.describe(r))


def body(args, env):
    res = h.Results()
    with h.Server(args.server, args.kind, name="authkeys") as srv:
        res.run("command=", forced_command, srv, env)
        res.run("from=-refused", from_refused, srv, env)
        res.run("from=-allowed", from_allowed, srv, env)
        res.run("no-pty", no_pty, srv, env, "opt_nopty")
        res.run("restrict", no_pty, srv, env, "opt_restrict")
        res.run("environment=-ignored", env_ignored, srv, env)
        res.finish(srv)
    res = h.Results()
    user_env_servers(args, env, res)
    res.finish()


if __name__ == "__main__":
    h.main(__doc__, body)
