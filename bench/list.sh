#!/bin/bash
# Listing speed: stap -l over every tracepoint and every kernel function,
# beside bpftrace -l over the same (best of 5 runs, wall-clock seconds).
set -u
cd "$(dirname "$0")/.."
STAP=${STAP:-build/stap}

best_of_5() {
	local best="" start end t
	for _ in 1 2 3 4 5; do
		start=$EPOCHREALTIME
		"$@" >/dev/null 2>&1
		end=$EPOCHREALTIME
		t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }')
		if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best=$t; fi
	done
	printf '%.3f' "$best"
}

count() { "$@" 2>/dev/null | wc -l; }

row() {
	local label=$1; shift
	printf '%-40s %8s s  %6s lines\n' "$label" "$(best_of_5 "$@")" "$(count "$@")"
}

row "stap -l 'kernel.trace(\"*\")'" "$STAP" -l 'kernel.trace("*")'
row "stap -L 'kernel.trace(\"*\")'" "$STAP" -L 'kernel.trace("*")'
row "stap -l 'kernel.function(\"*\")'" "$STAP" -l 'kernel.function("*")'
row "stap -L 'kernel.function(\"*\")'" "$STAP" -L 'kernel.function("*")'
if command -v bpftrace >/dev/null; then
	row "bpftrace -l 'tracepoint:*'" bpftrace -l 'tracepoint:*'
	row "bpftrace -l 'kprobe:*'" bpftrace -l 'kprobe:*'
	# without kprobes (this machine) bpftrace lists no kprobe:* at all
else
	echo "bpftrace not installed: no comparison"
fi
