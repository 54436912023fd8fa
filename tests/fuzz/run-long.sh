#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Long fuzzing runs, outside CI: every libFuzzer target (or those named) for
# RUNS executions each (default 10 million), from the committed seeds plus
# what earlier long runs found (build-fuzz/corpus-long/NAME). Prints one
# line per target: executions, coverage (cov: edges, ft: features), corpus
# size, seconds, and a crash's artifact if there was one. Crashes found
# belong in tests/fuzz/corpus/NAME as regression inputs once fixed.
#
#   sh tests/fuzz/run-long.sh                    # all, 10M each
#   RUNS=1000000 sh tests/fuzz/run-long.sh fuzz_sftp fuzz_kex_value
#
# TIMEOUT (seconds per input, default 10) is wall-clock time: a run at
# nice 19 beside a busy machine can be starved that long by the scheduler
# alone; retry a reported timeout's input on its own before believing it.
#
# The targets log nothing (tests/fuzz/fuzz_log.c); DSSH_FUZZ_LOG=DEBUG3 (or
# another LogLevel name) brings the lines back when replaying one input.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
runs=${RUNS:-10000000}
timeout=${TIMEOUT:-10}
bld=${BUILD:-build-fuzz}

if [ ! -f "$bld/build.ninja" ]; then
	CC=clang meson setup "$bld" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$bld" >/dev/null

if [ $# -eq 0 ]; then
	set -- $(sed -n "s/^  '\(fuzz_[a-z0-9_]*\)' : .*/\1/p" tests/fuzz/meson.build)
fi

rc=0
for name in "$@"; do
	exe="$bld/tests/fuzz/$name"
	if [ ! -x "$exe" ]; then
		echo "$name: no such target" >&2
		rc=1
		continue
	fi
	corpus="$bld/corpus-long/$name"
	art="$bld/artifacts-long/$name/"
	mkdir -p "$corpus" "$art"
	log="$bld/artifacts-long/$name.log"
	start=$(date +%s)
	if "$exe" "$corpus" "tests/fuzz/corpus/$name" -runs="$runs" -timeout="$timeout" \
	    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$art" >"$log" 2>&1; then
		status=ok
	else
		status="FAILED: $(ls "$art" | head -1) (see $log)"
		rc=1
	fi
	secs=$(( $(date +%s) - start ))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
	echo "$name: ${execs:-?} executions, ${cov:-no coverage line}, corpus $(ls "$corpus" | wc -l), ${secs}s: $status"
done
exit $rc
