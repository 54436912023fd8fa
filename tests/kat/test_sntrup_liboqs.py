#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""sntrup761 against liboqs (@oqs/liboqs-js, its WebAssembly build), from npm.

Usage: test_sntrup_liboqs.py SNTRUP_TOOL WORKDIR

npm installs @oqs/liboqs-js into WORKDIR (kept as a cache). liboqs has no
seeded API, so the two implementations meet through each other's keys and
ciphertexts: liboqs's key pairs and encapsulations decapsulated by us
(their secret key format read by our Decap); our key pairs encapsulated to
and decapsulated by liboqs; our encapsulations to liboqs's keys; a changed
ciphertext gives the same implicit-rejection key in both (rho and the hash
prefixes agree). The seeded known answer is tests/unit/crypto's NIST KAT.
If npm or node cannot be run the test FAILS: it never passes without having
compared anything.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kat_npm as kat  # noqa: E402

LIBOQS = "0.15.1"

NODE_SCRIPT = r"""
const { createSntrup761 } = await import('@oqs/liboqs-js');
const kem = await createSntrup761();
const h = s => Uint8Array.from(Buffer.from(s, 'hex'));
const x = b => Buffer.from(b).toString('hex');
let input = '';
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const op of JSON.parse(input)) {
  if (op.op === 'keypair') {
    const k = kem.generateKeyPair();
    out.push({ pk: x(k.publicKey), sk: x(k.secretKey) });
  } else if (op.op === 'enc') {
    const r = kem.encapsulate(h(op.pk));
    out.push({ ct: x(r.ciphertext), ss: x(r.sharedSecret) });
  } else if (op.op === 'dec') {
    out.push({ ss: x(kem.decapsulate(h(op.ct), h(op.sk))) });
  }
}
kem.destroy();
process.stdout.write(JSON.stringify(out));
"""


def liboqs(workdir, ops):
    return kat.run_node(workdir, "liboqs_sntrup.mjs", NODE_SCRIPT, ops, "liboqs")


def main():
    tool, workdir = sys.argv[1], os.path.abspath(sys.argv[2])
    kat.install(workdir, "@oqs/liboqs-js", LIBOQS)
    n = 8

    # Their key pairs, their encapsulations; ours.
    lk = liboqs(workdir, [{"op": "keypair"} for _ in range(n)])
    ok = kat.run_tool(tool, ["keypair"] * n)
    for i in range(n):
        if len(lk[i]["pk"]) != 2 * 1158 or len(lk[i]["sk"]) != 2 * 1763:
            kat.fail("liboqs key sizes %d/%d" % (len(lk[i]["pk"]) // 2, len(lk[i]["sk"]) // 2))
    le = liboqs(workdir, [{"op": "enc", "pk": lk[i]["pk"]} for i in range(n)] +
                [{"op": "enc", "pk": ok[i][0]} for i in range(n)])
    oe = kat.run_tool(tool, ["enc %s" % lk[i]["pk"] for i in range(n)] +
              ["enc %s" % ok[i][0] for i in range(n)])

    # Changed ciphertexts (both halves: rounded c and the confirmation hash).
    bad_l = [kat.flip(le[i]["ct"], 131 * i + 7 if i % 2 else 1007 + i) for i in range(n)]
    bad_o = [kat.flip(oe[n + i][0], 97 * i + 3) for i in range(n)]

    ld = liboqs(workdir,
                [{"op": "dec", "sk": lk[i]["sk"], "ct": oe[i][0]} for i in range(n)] +
                [{"op": "dec", "sk": ok[i][1], "ct": oe[n + i][0]} for i in range(n)] +
                [{"op": "dec", "sk": lk[i]["sk"], "ct": bad_l[i]} for i in range(n)] +
                [{"op": "dec", "sk": ok[i][1], "ct": bad_o[i]} for i in range(n)])
    od = kat.run_tool(tool,
              ["dec %s %s" % (lk[i]["sk"], le[i]["ct"]) for i in range(n)] +
              ["dec %s %s" % (ok[i][1], le[n + i]["ct"]) for i in range(n)] +
              ["dec %s %s" % (lk[i]["sk"], bad_l[i]) for i in range(n)] +
              ["dec %s %s" % (ok[i][1], bad_o[i]) for i in range(n)])
    for i in range(n):
        if ld[i]["ss"] != oe[i][1]:
            kat.fail("liboqs decapsulates our ciphertext %d (to its key) to another key" % i)
        if ld[n + i]["ss"] != oe[n + i][1]:
            kat.fail("liboqs decapsulates our ciphertext %d with our secret key to another key" % i)
        if od[i][0] != le[i]["ss"]:
            kat.fail("we decapsulate liboqs's ciphertext %d with its secret key to another key" % i)
        if od[n + i][0] != le[n + i]["ss"]:
            kat.fail("we decapsulate liboqs's ciphertext %d to our key to another key" % i)
        if od[2 * n + i][0] != ld[2 * n + i]["ss"] or od[2 * n + i][0] == le[i]["ss"]:
            kat.fail("implicit rejection %d (liboqs's key) differs from liboqs's" % i)
        if od[3 * n + i][0] != ld[3 * n + i]["ss"] or od[3 * n + i][0] == oe[n + i][1]:
            kat.fail("implicit rejection %d (our key) differs from liboqs's" % i)
    print("ok: %d key pairs each side, %d encapsulations, %d decapsulations (%d rejected) "
          "agree with liboqs %s" % (n, 4 * n, 8 * n, 4 * n, LIBOQS))


if __name__ == "__main__":
    main()
