#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""docs/config.md's two keyword lists are lib/config/config.c's table.

The table (the array whose name holds "keyword") has one row per keyword;
WARN(...) and WARNW(...) rows are the sshd keywords dsshd accepts with a warning, every
other row is implemented. docs/config.md lists them under the headings
"## Implemented" and "## Accepted, not implemented" as "- `Keyword`" lines,
"(match)" after the ones allowed in a Match block. Both lists, and the
Match marks, must be the table's, or this fails naming the difference.

Usage: check_config_docs.py --config-c lib/config/config.c --doc docs/config.md
"""

import argparse
import re
import sys


def table_rows(path):
    src = open(path).read()
    m = re.search(r"\b\w*keyword\w*\s*\[\s*\]\s*=\s*\{", src, re.IGNORECASE)
    if not m:
        sys.exit("no keyword table in %s" % path)
    body = src[m.end():src.find("\n};", m.end())]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    impl, warn = {}, {}
    # Each row starts with a macro call or a designated initializer.
    for row in re.finditer(r'(?:(\w+)\(\s*|\{\s*\.name\s*=\s*)"(\w+)"(.*?)(?=\n\t(?:\w+\(|\{)|\Z)',
                           body, re.S):
        macro, name, rest = row.group(1), row.group(2), row.group(3)
        in_match = "KW_MATCH" in rest
        (warn if macro in ("WARN", "WARNW") else impl)[name] = in_match
    if len(impl) + len(warn) < 100:
        sys.exit("only %d rows found in %s: has the table's layout changed?"
                 % (len(impl) + len(warn), path))
    return impl, warn


def doc_lists(path):
    lists, cur = {}, None
    for line in open(path):
        h = re.match(r"## (.*)", line)
        if h:
            cur = h.group(1).strip()
            lists.setdefault(cur, {})
            continue
        m = re.match(r"- `(\w+)`( \(match\))?", line)
        if m and cur is not None:
            lists[cur][m.group(1)] = m.group(2) is not None
    return lists.get("Implemented", {}), lists.get("Accepted, not implemented", {})


def compare(what, table, doc, fails):
    for k in sorted(set(table) - set(doc)):
        fails.append("%s: %s is in the table, not in docs/config.md" % (what, k))
    for k in sorted(set(doc) - set(table)):
        fails.append("%s: %s is in docs/config.md, not in the table" % (what, k))
    for k in sorted(set(table) & set(doc)):
        if table[k] != doc[k]:
            fails.append("%s: %s Match allowed %s in the table, %s in docs/config.md"
                         % (what, k, table[k], doc[k]))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--config-c", required=True)
    p.add_argument("--doc", required=True)
    a = p.parse_args()
    impl, warn = table_rows(a.config_c)
    dimpl, dwarn = doc_lists(a.doc)
    fails = []
    compare("implemented", impl, dimpl, fails)
    compare("accepted, not implemented", warn, dwarn, fails)
    for f in fails:
        print("FAIL: " + f)
    print("%d implemented, %d accepted with a warning; %d differences"
          % (len(impl), len(warn), len(fails)))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
