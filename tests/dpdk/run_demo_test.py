#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""
The README's first command, for real: scripts/run-demo.sh (with the build
directory given, so that nothing is rebuilt) must bring dsshd up on its DPDK
data plane through net_tap, where root logs in with the key the script set
up, and on 127.0.0.1, and scp and sftp work at both out of the box (the
embedded default's internal-sftp); SIGTERM must stop it and remove the tap
interface.

usage: run_demo_test.py path/to/run-demo.sh BUILD_DIR [RELEASE_DIR]

RELEASE_DIR is the release build the script itself makes (build/, which
scripts/test.sh builds first); when it holds a built dsshd the test runs
that, else BUILD_DIR's.
"""
import os
import signal
import subprocess
import sys
import time

SSH = ["ssh", "-F", "/dev/null", "-p", "2222", "-o", "StrictHostKeyChecking=no",
       "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
       "-o", "ConnectTimeout=10"]


def copy_round_trip(key, host):
    """scp a random file up, sftp it back, byte-exact; the remote copy removed."""
    opts = [o for o in SSH if o not in ("ssh", "-p", "2222")] + ["-i", key]
    data = os.urandom(3 * 1024 * 1024 + 17)
    src = "/tmp/dssh-demo-src-%d" % os.getpid()
    back, remote = src + ".back", "/tmp/dssh-demo-remote-%d-%s" % (os.getpid(), host)
    with open(src, "wb") as f:
        f.write(data)
    try:
        r1 = subprocess.run(["scp", "-q", "-P", "2222"] + opts + [src, "root@%s:%s" % (host, remote)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        r2 = subprocess.run(["sftp", "-b", "-", "-P", "2222"] + opts + ["root@" + host],
                            input=("get %s %s\nrm %s\n" % (remote, back, remote)).encode(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        if r1.returncode != 0 or r2.returncode != 0:
            print("  scp: %r\n  sftp: %r" % (r1.stderr[-300:], r2.stderr[-300:]))
            return False
        with open(back, "rb") as f:
            return f.read() == data and not os.path.exists(remote)
    finally:
        for p in (src, back, remote):
            if os.path.exists(p):
                os.unlink(p)


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root")
        return 77
    script, build = sys.argv[1], os.path.abspath(sys.argv[2])
    if len(sys.argv) > 3 and os.path.exists(os.path.join(sys.argv[3], "app", "dsshd", "dsshd")):
        build = os.path.abspath(sys.argv[3])
    print("build: %s" % build)
    if os.path.exists("/sys/class/net/dtap0"):
        print("SKIP: dtap0 exists (a demo is running)")
        return 77
    env = dict(os.environ, DSSH_BUILD_DIR=build)
    log = open("/tmp/dssh-demo-test-%d.log" % os.getpid(), "w+")
    p = subprocess.Popen(["sh", script], stdout=log, stderr=subprocess.STDOUT, env=env,
                         start_new_session=True)
    fails = []
    try:
        end = time.time() + 300
        text = ""
        while time.time() < end and p.poll() is None:
            log.seek(0)
            text = log.read()
            if "did not come up" in text or "Log in over the kernel-bypass path" in text:
                break
            time.sleep(0.3)
        if "Log in over the kernel-bypass path" not in text:
            fails.append("demo did not report the DPDK data plane up:\n" + text[-3000:])
        else:
            key = os.path.expanduser("~root/.ssh/id_ed25519")
            for host, want in (("198.18.0.2", b"198.18.0.1 "), ("127.0.0.1", b"127.0.0.1 ")):
                r = subprocess.run(SSH + ["-i", key, "root@" + host, "echo $SSH_CLIENT"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
                ok = r.returncode == 0 and r.stdout.startswith(want)
                print("%s root logs in at %s: %r %r" % ("ok  " if ok else "FAIL", host,
                                                        r.stdout, r.stderr[-300:]))
                if not ok:
                    fails.append("login at " + host)
            # scp (OpenSSH 9: SFTP) and sftp out of the box: the embedded
            # default serves Subsystem sftp internal-sftp.
            for host in ("198.18.0.2", "127.0.0.1"):
                ok = copy_round_trip(key, host)
                print("%s scp and sftp at %s" % ("ok  " if ok else "FAIL", host))
                if not ok:
                    fails.append("scp/sftp at " + host)
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
        try:
            rc = p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            rc = p.wait()
    gone = not os.path.exists("/sys/class/net/dtap0")
    print("%s SIGTERM stops the demo (rc %s), tap removed: %s" % ("ok  " if gone else "FAIL",
                                                                 rc, gone))
    if not gone:
        fails.append("dtap0 left behind")
    if fails:
        log.seek(0)
        print("----- demo log -----\n" + log.read()[-4000:])
    print("%d passed, %d failed" % (5 - len(fails), len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
