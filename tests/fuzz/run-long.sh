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
# A run is resumable. It goes in chunks of CHUNK executions (default 1
# million), each starting from the corpus the one before left, and after each
# chunk adds the executions to build-fuzz/corpus-long/NAME.execs. Run again
# after an interruption and a target goes on from its count, losing at most
# the chunk in progress; a target already at RUNS is skipped. Delete the
# .execs file (or set FRESH=1) to count from zero. This is how ClusterFuzz
# fuzzes too: many bounded sessions over one growing corpus.
#
# JOBS=N (default 1) runs each chunk as N fuzzer processes side by side over
# the same corpus directory, CHUNK/N executions each, and counts their sum:
# one slow target can use every core. Each process adds what it finds to the
# shared directory; the others read it at their next chunk.
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
chunk=${CHUNK:-1000000}
timeout=${TIMEOUT:-10}
bld=${BUILD:-build-fuzz}

if [ ! -f "$bld/build.ninja" ]; then
	CC=clang meson setup "$bld" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$bld" >/dev/null

if [ $# -eq 0 ]; then
	# fuzz_targets' rows (a name may stand again in another table: once each)
	set -- $(sed -n "s/^  '\(fuzz_[a-z0-9_]*\)' : .*/\1/p" tests/fuzz/meson.build | awk '!seen[$0]++')
fi

# One chunk of NAME for N executions; prints the executions done, or
# nothing and fails when the fuzzer found something.
run_chunk() {
	name=$1 n=$2 log=$3
	if "$bld/tests/fuzz/$name" "$bld/corpus-long/$name" "tests/fuzz/corpus/$name" \
	    -runs="$n" -timeout="$timeout" -rss_limit_mb=4096 -print_final_stats=1 \
	    -artifact_prefix="$bld/artifacts-long/$name/" >"$log" 2>&1; then
		sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1
	else
		return 1
	fi
}

# One chunk of NAME for N executions as JOBS processes (the first logs to
# LOG, the others to LOG.1, ...); prints the executions they did together,
# or fails when one of them found something.
run_jobs() {
	name=$1 n=$2 log=$3 jobs=${JOBS:-1}
	[ "$jobs" -ge 1 ] || jobs=1
	per=$(( (n + jobs - 1) / jobs ))
	if [ "$jobs" -eq 1 ]; then
		run_chunk "$name" "$per" "$log"
		return
	fi
	tmp=$(mktemp -d)
	j=0 pids=
	while [ "$j" -lt "$jobs" ]; do
		jl=$log
		[ "$j" -eq 0 ] || jl=$log.$j
		(run_chunk "$name" "$per" "$jl" >"$tmp/$j") &
		pids="$pids $!"
		j=$(( j + 1 ))
	done
	failed=0
	for p in $pids; do
		wait "$p" || failed=1
	done
	sum=0
	for f in "$tmp"/*; do
		v=$(cat "$f" 2>/dev/null || true)
		sum=$(( sum + ${v:-0} ))
	done
	rm -rf "$tmp"
	[ "$failed" -eq 0 ] || return 1
	echo "$sum"
}

rc=0
for name in "$@"; do
	if [ ! -x "$bld/tests/fuzz/$name" ]; then
		echo "$name: no such target" >&2
		rc=1
		continue
	fi
	corpus="$bld/corpus-long/$name"
	art="$bld/artifacts-long/$name/"
	count="$corpus.execs"
	log="$bld/artifacts-long/$name.log"
	mkdir -p "$corpus" "$art"
	[ "${FRESH:-0}" = 1 ] && rm -f "$count"
	done_execs=$(cat "$count" 2>/dev/null || echo 0)
	start=$(date +%s)
	status=ok
	while [ "$done_execs" -lt "$runs" ]; do
		n=$(( runs - done_execs < chunk ? runs - done_execs : chunk ))
		if ! got=$(run_jobs "$name" "$n" "$log"); then
			status="FAILED: $(ls "$art" | head -1) (see $log*)"
			rc=1
			break
		fi
		done_execs=$(( done_execs + ${got:-0} ))
		echo "$done_execs" >"$count"
		[ -n "$got" ] && [ "$got" -gt 0 ] || { status="FAILED: no executions (see $log)"; rc=1; break; }
	done
	secs=$(( $(date +%s) - start ))
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" 2>/dev/null | tail -1)
	echo "$name: $done_execs executions, ${cov:-no coverage line}, corpus $(ls "$corpus" | wc -l), ${secs}s: $status"
done
exit $rc
