#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The man pages stay clean and in step with the code.

- Every keyword of lib/config/config.c's keyword table has an entry
  (".It Cm Keyword") in dsshd_config.5: a keyword added without its
  documentation fails here.
- `mandoc -Tlint -W warning` reports nothing for each page, and
  `man -l` renders it (NAME section present, nothing on stderr).

Usage: check_manpages.py --config-c lib/config/config.c --config-man
       app/dsshd/dsshd_config.5 PAGE...
Exit 77 (skip) when mandoc or man is not installed.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

SKIP = 77


def table_keywords(path):
    """Keyword names of the keyword table: the first string of each row of
    the array whose name holds "keyword"."""
    src = open(path).read()
    m = re.search(r"\b\w*keyword\w*\s*\[\s*\]\s*=\s*\{", src, re.IGNORECASE)
    if not m:
        sys.exit("no keyword table ('...keyword...[] = {') in %s" % path)
    end = src.find("\n};", m.end())
    body = src[m.end():end]
    # Comments may hold quoted words: drop them first.
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    names = re.findall(r'[{(]\s*"([A-Za-z0-9]+)"', body)
    if len(names) < 40:
        sys.exit("only %d keywords found in %s's table: has its layout changed? "
                 "(update table_keywords())" % (len(names), path))
    return names


def documented(path):
    out = set()
    for line in open(path):
        m = re.match(r"\.It Cm (\S+)", line)
        if m:
            out.add(m.group(1).lower())
    return out


def lint(page):
    r = subprocess.run(["mandoc", "-Tlint", "-W", "warning", page],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    text = r.stdout.decode(errors="replace").strip()
    return [text] if text or r.returncode != 0 else []


def render(page):
    env = dict(os.environ, MANWIDTH="80")
    r = subprocess.run(["man", "-l", page], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env)
    out = r.stdout.decode(errors="replace")
    errs = []
    if r.returncode != 0 or r.stderr.strip():
        errs.append("man -l %s: exit %d, stderr %r" % (page, r.returncode, r.stderr[-500:]))
    if "NAME" not in out or len(out.splitlines()) < 10:
        errs.append("man -l %s rendered %d lines without NAME" % (page, len(out.splitlines())))
    return errs


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--config-c", required=True)
    p.add_argument("--config-man", required=True)
    p.add_argument("pages", nargs="+")
    a = p.parse_args()
    failures = []
    names = table_keywords(a.config_c)
    doc = documented(a.config_man)
    missing = sorted(set(n.lower() for n in names) - doc)
    for n in missing:
        failures.append("keyword %s (lib/config/config.c) has no '.It Cm' entry in %s"
                        % (n, a.config_man))
    print("%d keywords in the table, %d documented, %d missing"
          % (len(set(names)), len(doc), len(missing)))
    if shutil.which("mandoc") is None or shutil.which("man") is None:
        for f in failures:
            print("FAIL: " + f)
        if failures:
            sys.exit(1)
        print("SKIP: mandoc or man not installed (scripts/setup.sh installs them)")
        sys.exit(SKIP)
    for page in a.pages + [a.config_man]:
        failures += lint(page) + render(page)
    for f in failures:
        print("FAIL: " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
