#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""`meson install --destdir TMP` puts every file in place.

- The binaries (dsshd in sbindir, dssh-sftp-server in libexecdir/dssh), the
  systemd unit, the PAM file and the man pages (dsshctl and its page too) are installed where
  meson says (paths given on the command line by tests/install/meson.build).
- The installed PAM file is byte-identical to app/dsshd/dsshd.pam (the one
  source scripts/setup.sh also installs).
- The unit is Type=notify when dsshd was built with libsystemd (else
  Type=exec), runs the installed dsshd with -D, checks with -t first,
  reloads with SIGHUP, KillMode=process, Restart=on-failure; and
  `systemd-analyze verify` accepts it (when systemd-analyze is there).
- The installed dsshd runs: `dsshd -t` on a small config with a host key.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile


def check(cond, msg, failures):
    if not cond:
        failures.append(msg)


def under(destdir, path):
    return os.path.join(destdir, path.lstrip("/"))


def check_unit(unit, sbin_dsshd, systemd, failures):
    text = open(unit).read()
    lines = [ln.strip() for ln in text.splitlines()]
    want_type = "Type=notify" if systemd else "Type=exec"
    for want in (want_type, "ExecStartPre=%s -t $DSSHD_OPTS" % sbin_dsshd,
                 "ExecStart=%s -D $DSSHD_OPTS" % sbin_dsshd,
                 "ExecReload=/bin/kill -HUP $MAINPID", "KillMode=process",
                 "Restart=on-failure", "WantedBy=multi-user.target"):
        check(want in lines, "unit %s lacks the line %r" % (unit, want), failures)
    check("@" not in text.replace("$${t}", ""), "unit has an unreplaced @VAR@", failures)


def analyze(unit, destdir, sbin_dsshd, mandir, failures):
    """systemd-analyze verify on a copy whose binary paths point into destdir
    (verify checks that ExecStart's program exists) and with MANPATH there
    (it checks that the man pages of Documentation= exist)."""
    if shutil.which("systemd-analyze") is None:
        print("note: no systemd-analyze, unit not verified")
        return
    tmp = tempfile.mkdtemp(prefix="dssh-unit-")
    try:
        copy = os.path.join(tmp, "dsshd.service")
        with open(unit) as f, open(copy, "w") as g:
            g.write(f.read().replace(sbin_dsshd, under(destdir, sbin_dsshd)))
        env = dict(os.environ, MANPATH=under(destdir, mandir))
        r = subprocess.run(["systemd-analyze", "verify", copy], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60, env=env)
        out = r.stdout.decode(errors="replace")
        # Only what concerns our unit (verify also loads what it depends on).
        ours = [ln for ln in out.splitlines() if "dsshd.service" in ln]
        check(r.returncode == 0 and not ours, "systemd-analyze verify: exit %d\n%s"
              % (r.returncode, out), failures)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def dsshd_t(dsshd, failures):
    tmp = tempfile.mkdtemp(prefix="dssh-inst-")
    try:
        key = os.path.join(tmp, "hk")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        cfg = os.path.join(tmp, "cfg")
        with open(cfg, "w") as f:
            f.write("HostKey %s\nPidFile none\nUsePAM no\n" % key)
        r = subprocess.run([dsshd, "-t", "-f", cfg], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        check(r.returncode == 0, "installed %s -t: exit %d %r" % (dsshd, r.returncode,
              r.stdout[-500:]), failures)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--build", required=True)
    p.add_argument("--pam-src", required=True)
    p.add_argument("--systemd", choices=("yes", "no"), required=True)
    p.add_argument("--sbin-dsshd", required=True)
    p.add_argument("--sftp-server", required=True)
    p.add_argument("--unit", required=True)
    p.add_argument("--pam", required=True)
    p.add_argument("--man", action="append", required=True)
    p.add_argument("--exe", action="append", default=[],
                   help="another installed program (dsshctl)")
    a = p.parse_args()
    if shutil.which("meson") is None:
        print("SKIP: no meson")
        sys.exit(77)
    failures = []
    destdir = tempfile.mkdtemp(prefix="dssh-destdir-")
    try:
        r = subprocess.run(["meson", "install", "-C", a.build, "--no-rebuild", "--quiet",
                            "--destdir", destdir],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        if r.returncode != 0:
            print(r.stdout.decode(errors="replace"))
            sys.exit("meson install failed (%d)" % r.returncode)
        got = sorted(os.path.relpath(os.path.join(d, f), destdir)
                     for d, _, fs in os.walk(destdir) for f in fs)
        print("installed:\n  " + "\n  ".join(got))
        for path in [a.sbin_dsshd, a.sftp_server, a.unit, a.pam] + a.man + a.exe:
            check(os.path.isfile(under(destdir, path)), "not installed: %s" % path, failures)
        for exe in [a.sbin_dsshd, a.sftp_server] + a.exe:
            check(os.access(under(destdir, exe), os.X_OK), "not executable: %s" % exe, failures)
        if os.path.isfile(under(destdir, a.pam)):
            check(open(under(destdir, a.pam), "rb").read() == open(a.pam_src, "rb").read(),
                  "installed PAM file differs from %s" % a.pam_src, failures)
        if os.path.isfile(under(destdir, a.unit)):
            check_unit(under(destdir, a.unit), a.sbin_dsshd, a.systemd == "yes", failures)
            mandir = os.path.dirname(os.path.dirname(a.man[0]))
            analyze(under(destdir, a.unit), destdir, a.sbin_dsshd, mandir, failures)
        if os.path.isfile(under(destdir, a.sbin_dsshd)):
            dsshd_t(under(destdir, a.sbin_dsshd), failures)
    finally:
        shutil.rmtree(destdir, ignore_errors=True)
    for f in failures:
        print("FAIL: " + f)
    print("FAIL" if failures else "PASS")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
