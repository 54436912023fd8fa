#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""ML-KEM-768 against @noble/post-quantum, fetched from the npm registry.

Usage: test_mlkem_noble.py MLKEM_TOOL WORKDIR

npm installs @noble/post-quantum into WORKDIR (kept as a cache). Then, for
random seeds: keygen from the same (d, z) gives identical keys in both;
noble's keys, our encapsulation, noble's decapsulation agree, and the other
way round; a deterministic encapsulation (same m) gives the same
ciphertext in both; a changed ciphertext gives the same implicit-rejection
key in both. If npm or node cannot be run the test FAILS: it never passes
without having compared anything.
"""
import os
import secrets
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kat_npm as kat  # noqa: E402

# The newest release runs on node >= 20.19; Debian 12's node (18) takes 0.4.1.
NOBLE_NEW = "0.7.1"
NOBLE_OLD = "0.4.1"

NODE_SCRIPT = r"""
let mod;
try { mod = await import('@noble/post-quantum/ml-kem.js'); }
catch (e) { mod = await import('@noble/post-quantum/ml-kem'); }
const kem = mod.ml_kem768;
const h = s => Uint8Array.from(Buffer.from(s, 'hex'));
const x = b => Buffer.from(b).toString('hex');
let input = '';
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const op of JSON.parse(input)) {
  if (op.op === 'keygen') {
    const k = kem.keygen(h(op.seed));
    out.push({ pk: x(k.publicKey), sk: x(k.secretKey) });
  } else if (op.op === 'encaps') {
    const r = kem.encapsulate(h(op.pk), h(op.m));
    out.push({ ct: x(r.cipherText), ss: x(r.sharedSecret) });
  } else if (op.op === 'decaps') {
    out.push({ ss: x(kem.decapsulate(h(op.ct), h(op.sk))) });
  }
}
process.stdout.write(JSON.stringify(out));
"""


def node_major():
    node = kat.node_path()
    v = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    parts = v.lstrip("v").split(".")
    return node, (int(parts[0]), int(parts[1]))


def noble(node, workdir, ops):
    return kat.run_node(workdir, "noble_mlkem.mjs", NODE_SCRIPT, ops, "noble")


def main():
    tool, workdir = sys.argv[1], os.path.abspath(sys.argv[2])
    node, ver = node_major()
    kat.install(workdir, "@noble/post-quantum", NOBLE_NEW if ver >= (20, 19) else NOBLE_OLD)
    n = 16
    seeds = [(secrets.token_hex(32), secrets.token_hex(32)) for _ in range(n)]
    msgs = [secrets.token_hex(32) for _ in range(n)]

    # 1. Keygen from the same seeds.
    nk = noble(node, workdir, [{"op": "keygen", "seed": d + z} for d, z in seeds])
    ok = kat.run_tool(tool, ["keygen %s %s" % (d, z) for d, z in seeds])
    for i in range(n):
        if ok[i][0] != nk[i]["pk"] or ok[i][1] != nk[i]["sk"]:
            kat.fail("keygen %d differs from noble's (d=%s z=%s)" % (i, seeds[i][0], seeds[i][1]))

    # 2. Deterministic encapsulation: same (ct, ss) in both, to noble's keys.
    ne = noble(node, workdir, [{"op": "encaps", "pk": nk[i]["pk"], "m": msgs[i]}
                               for i in range(n)])
    oe = kat.run_tool(tool, ["encaps %s %s" % (nk[i]["pk"], msgs[i]) for i in range(n)])
    for i in range(n):
        if oe[i][0] != ne[i]["ct"] or oe[i][1] != ne[i]["ss"]:
            kat.fail("encapsulation %d differs from noble's" % i)

    # 3. Our ciphertexts decapsulated by noble; noble's by us; bad ones both ways.
    bad = [kat.flip(oe[i][0], 37 * i + 5) for i in range(n)]
    nd = noble(node, workdir, [{"op": "decaps", "ct": oe[i][0], "sk": nk[i]["sk"]}
                               for i in range(n)] +
               [{"op": "decaps", "ct": bad[i], "sk": nk[i]["sk"]} for i in range(n)])
    od = kat.run_tool(tool, ["decaps %s %s" % (ok[i][1], ne[i]["ct"]) for i in range(n)] +
              ["decaps %s %s" % (ok[i][1], bad[i]) for i in range(n)])
    for i in range(n):
        if nd[i]["ss"] != oe[i][1]:
            kat.fail("noble decapsulates our ciphertext %d to another key" % i)
        if od[i][0] != ne[i]["ss"]:
            kat.fail("we decapsulate noble's ciphertext %d to another key" % i)
        if od[n + i][0] != nd[n + i]["ss"] or od[n + i][0] == oe[i][1]:
            kat.fail("implicit rejection %d differs from noble's" % i)
    print("ok: %d keygen, %d encaps, %d decaps (%d rejected) agree with @noble/post-quantum"
          % (n, n, 2 * n, n))


if __name__ == "__main__":
    main()
