#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""net_memif: two data planes joined by a memif pair (one the memif server,
one the client), each configured with the other as its gateway, so each must
resolve the other by ARP over the shared-memory link at start-up. Checks the
ARP tables and frame counters through telemetry, then SIGTERM shutdown with
nothing left behind.

usage: run_memif_test.py path/to/dsshd-dataplane
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import run_net_tests as t

A_IP, B_IP = "198.18.7.1", "198.18.7.2"


def start(binary, role, ip, gw, sock, prefix):
    logpath = "/tmp/dssh-memif-%d-%s.log" % (t.PID, role)
    cmd = [binary, "-a", ip + "/24", "-g", gw, "--", "--no-pci", "--no-huge", "-m", "256",
           "--vdev=net_memif0,role=%s,socket=%s,id=0" % (role, sock),
           "--file-prefix=" + prefix]
    t.log("# starting: " + " ".join(cmd))
    logf = open(logpath, "w")
    p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT)
    return p, logpath, t.Telemetry(prefix)


def arp_has(tel, ip):
    try:
        for e in tel.arp():             # "ip mac" strings
            parts = e.split()
            if len(parts) == 2 and parts[0] == ip and parts[1] != "00:00:00:00:00:00":
                return True
    except (OSError, ValueError, KeyError):
        pass
    return False


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    if os.geteuid() != 0:
        t.log("SKIP: needs root")
        return 77
    binary = os.path.abspath(sys.argv[1])
    sock = "/tmp/dssh-memif-%d.sock" % t.PID
    procs = []
    pa = "dssh_memifA%d" % t.PID
    pb = "dssh_memifB%d" % t.PID
    try:
        a = start(binary, "server", A_IP, B_IP, sock, pa)
        procs.append(a)
        time.sleep(1)
        b = start(binary, "client", B_IP, A_IP, sock, pb)
        procs.append(b)
        end = time.time() + 40
        ok_a = ok_b = False
        while time.time() < end and not (ok_a and ok_b):
            ok_a = ok_a or arp_has(a[2], B_IP)
            ok_b = ok_b or arp_has(b[2], A_IP)
            if a[0].poll() is not None or b[0].poll() is not None:
                break
            time.sleep(0.5)
        t.check("memif: server side resolved the client by ARP", ok_a,
                open(a[1]).read()[-1500:] if not ok_a else "")
        t.check("memif: client side resolved the server by ARP", ok_b,
                open(b[1]).read()[-1500:] if not ok_b else "")
        for name, (p, logpath, tel) in (("server", a), ("client", b)):
            try:
                st = tel.stats()
                rx, arp_rx = st["rx_frames"], st["rx_arp_reply"] + st["rx_arp_request"]
            except (OSError, ValueError, KeyError, TypeError):
                rx = arp_rx = 0
            t.check("memif: %s received ARP over memif (telemetry)" % name,
                    rx > 0 and arp_rx > 0, "rx_frames %r, arp %r" % (rx, arp_rx))
        for name, (p, logpath, tel) in (("client", b), ("server", a)):
            p.send_signal(signal.SIGTERM)
            try:
                rc = p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
            t.check("memif: %s SIGTERM shuts down cleanly" % name,
                    rc == 0 and "data plane stopped" in open(logpath).read(), "rc %s" % rc)
        t.check("memif: no EAL runtime or hugepage files left",
                not t.leftovers(pa) and not t.leftovers(pb))
    except Exception as e:  # a harness error is a failure, after cleanup
        t.check("harness error", False, repr(e))
    finally:
        for p, _, _ in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for pr in (pa, pb):
            shutil.rmtree("/var/run/dpdk/" + pr, ignore_errors=True)
        if os.path.exists(sock):
            os.unlink(sock)
    failed = [n for n, ok in t.RESULTS if not ok]
    t.log("%d checks, %d failed" % (len(t.RESULTS), len(failed)))
    return 1 if failed or not t.RESULTS else 0


if __name__ == "__main__":
    sys.exit(main())
