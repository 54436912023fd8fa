#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Installs what is missing, builds with ASan/UBSan in build-test/ and runs every
# test suite (unit, interop, ...).  Ends with "N passed, N failed"; exits
# non-zero if anything failed.  Run as root from anywhere.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

sh scripts/setup.sh

if [ -d build-test ] && [ -f build-test/build.ninja ]; then
	meson setup --reconfigure build-test -Db_sanitize=address,undefined -Db_lundef=false
else
	meson setup build-test -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C build-test

# The README's first command (scripts/run-demo.sh) builds a release dsshd in
# build/. Build it here too: a warning only the release flags raise (-O3,
# NDEBUG) under -Werror then fails this command, not the first one, and the
# dpdk-demo test runs that very build. It builds in the background, at low
# priority, beside the tests that do not need it; the dpdk suite, which does,
# runs last and waits for it (about a minute saved on 2 cores).
release_build() {
	if [ ! -f build/build.ninja ]; then
		meson setup build --buildtype=release || return 1
	fi
	nice -n 10 ninja -C build
}
rellog=$(mktemp)
release_build >"$rellog" 2>&1 &
relpid=$!

# The libFuzzer targets need clang: a second build, for the fuzz suite only
# (short runs over the committed seed corpus, plus what they find in the time
# given).  Build and fuzz suite run beside build-test's tests, at low priority
# and one target at a time: those tests are mostly serial and mostly wait on
# their peers, so the fuzzers take the CPU they leave idle (the suite has
# passed beside a nice-0 CPU hog on both cores).  The fuzz targets stop on
# wall time (-max_total_time), so a busy machine costs them executions, not
# minutes.
fuzz_build() {
	if [ -f build-fuzz/build.ninja ]; then
		set -- --reconfigure
	fi
	CC=clang meson setup "$@" build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
	    -Db_lundef=false && nice -n 10 ninja -C build-fuzz
}
fuzzlog=$(mktemp)
fuzzout=$(mktemp)
rm -f build-test/meson-logs/testlog*.json build-fuzz/meson-logs/testlog.json
(
	if ! fuzz_build >"$fuzzlog" 2>&1; then
		echo build-failed >>"$fuzzlog"
		exit 0
	fi
	frc=0
	nice -n 10 meson test -C build-fuzz --suite fuzz --num-processes 1 \
	    --print-errorlogs >"$fuzzout" 2>&1 || frc=$?
	echo "rc $frc" >>"$fuzzlog"
) &
fuzzpid=$!

rc=0
meson test -C build-test --print-errorlogs --no-suite dpdk --logbase testlog-main || rc=$?

if ! wait "$relpid"; then
	echo "the release build (build/) failed:"
	tail -n 40 "$rellog"
	rc=1
fi
rm -f "$rellog"
logs=build-test/meson-logs/testlog-main.json
if meson test -C build-test --list --suite dpdk 2>/dev/null | grep -q ':dpdk'; then
	meson test -C build-test --print-errorlogs --suite dpdk --logbase testlog-dpdk || rc=$?
	logs="$logs build-test/meson-logs/testlog-dpdk.json"
fi

wait "$fuzzpid" || true
fuzzrc=$(tail -n 1 "$fuzzlog")
if [ "$fuzzrc" = build-failed ]; then
	echo "the fuzz build failed:"
	tail -n 40 "$fuzzlog"
	rc=1
else
	cat "$fuzzout"
	[ "$fuzzrc" = "rc 0" ] || rc=1
fi
rm -f "$fuzzlog" "$fuzzout"

/usr/bin/python3 - "$rc" $logs build-fuzz/meson-logs/testlog.json <<'PY'
import json, sys
rc, paths = int(sys.argv[1]), sys.argv[2:]
passed = failed = skipped = 0
bad = []
tails = []
for path in paths:
    try:
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                t = json.loads(line)
                res = t.get("result")
                if res in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif res == "SKIP":
                    skipped += 1
                else:
                    failed += 1
                    bad.append("%s (%s)" % (t.get("name"), res))
                    tails.append((t.get("name"), (t.get("stdout") or "").splitlines()[-40:]))
    except FileNotFoundError:
        print("no %s: meson test did not run" % path)
        failed += 1
# The end of each failing test's output last, where a CI log tail shows it.
for name, lines in tails:
    print("---- %s: last %d lines of its output" % (name, len(lines)))
    for line in lines:
        print("  " + line)
if bad:
    print("failed: " + ", ".join(bad))
if skipped:
    print("%d skipped" % skipped)
if rc != 0 and failed == 0:
    failed = 1      # meson test failed without a failing test: count it
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
