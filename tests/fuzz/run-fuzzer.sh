#!/bin/bash
# run-fuzzer.sh - run one libFuzzer harness for a bounded time over its seed corpus.
# Usage: run-fuzzer.sh FUZZER SEED_DIR SECONDS
# Fails on a crash, a sanitizer report or an oracle violation (the fuzzer exits non-zero
# and leaves crash-* in the scratch dir, printed here). Prints the exec count.
set -uo pipefail
fuzzer=$1 seeds=$2 seconds=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/new"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
	-print_final_stats=1 -artifact_prefix="$scratch/" "$scratch/new" "$seeds" >"$scratch/log" 2>&1
status=$?
grep -E "^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added)" "$scratch/log"
if [ $status -ne 0 ]; then
	tail -60 "$scratch/log"
	for a in "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* "$scratch"/oom-*; do
		[ -e "$a" ] || continue
		echo "artifact $(basename "$a") (base64):"
		base64 -w0 "$a"; echo
	done
	echo "FAIL: $(basename "$fuzzer") exited $status"
	exit 1
fi
echo "ok   $(basename "$fuzzer"): no crash, no oracle violation"
