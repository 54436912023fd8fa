#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""authorized_keys options: command= (SSH_ORIGINAL_COMMAND), from= (refused
and allowed), no-pty, restrict, environment= (ignored: PermitUserEnvironment
is off by default)."""

import dssh_harness as h


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


if __name__ == "__main__":
    h.main(__doc__, body)
