# SPDX-License-Identifier: BSD-3-Clause
"""What the cross-implementation tests share: a package from the npm
registry installed into a cache directory, a node script fed JSON
operations, our KEM tool (kat_tool.h's protocol) fed command lines. Any
step that cannot run FAILS the test: it never passes without comparing."""
import json
import os
import shutil
import subprocess
import sys


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def node_path():
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        fail("node is not installed (scripts/setup.sh installs nodejs and npm)")
    return node


def install(workdir, name, version):
    """npm package name@version into workdir/node_modules (kept as a cache)."""
    pkg = os.path.join(workdir, "node_modules", *name.split("/"), "package.json")
    if os.path.exists(pkg):
        with open(pkg) as f:
            if json.load(f).get("version") == version:
                return
    npm = shutil.which("npm")
    if npm is None:
        fail("npm is not installed (scripts/setup.sh installs it)")
    os.makedirs(workdir, exist_ok=True)
    r = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--no-save",
                        "--prefix", workdir, "%s@%s" % (name, version)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0 or not os.path.exists(pkg):
        fail("npm install %s@%s failed (registry unreachable?):\n%s%s"
             % (name, version, r.stdout, r.stderr))


def run_node(workdir, script_name, script, ops, who):
    """The node script (written to workdir/script_name) on the JSON list ops;
    its JSON answer, one entry per operation."""
    path = os.path.join(workdir, script_name)
    with open(path, "w") as f:
        f.write(script)
    r = subprocess.run([node_path(), path], input=json.dumps(ops), capture_output=True,
                       text=True, cwd=workdir, timeout=300)
    if r.returncode != 0:
        fail("node failed:\n" + r.stderr)
    res = json.loads(r.stdout)
    if len(res) != len(ops):
        fail("%s answered %d of %d operations" % (who, len(res), len(ops)))
    return res


def run_tool(tool, lines):
    """Our tool on the command lines; each answer's hex words."""
    r = subprocess.run([tool], input="".join(ln + "\n" for ln in lines), capture_output=True,
                       text=True, timeout=300)
    out = r.stdout.split("\n")[:len(lines)]
    if r.returncode != 0 or len(out) != len(lines) or any(o.startswith("error") for o in out):
        fail("%s failed: %r %s" % (os.path.basename(tool), out[:3], r.stderr))
    return [o.split() for o in out]


def flip(ct_hex, pos):
    """ct_hex with one bit of byte pos changed (an implicit-rejection input)."""
    b = bytearray.fromhex(ct_hex)
    b[pos % len(b)] ^= 0x01
    return b.hex()
