#!/bin/bash
# Start-up: from the command to one tracepoint armed and back, cold (the
# module built anew) and cached, beside bpftrace.
. "$(dirname "$0")/common.sh"
RUNS=${RUNS:-10}
SCRIPT='global c
probe kernel.trace("syscalls:sys_enter_getppid") { c[execname()]++ }
probe begin { exit() }'
BT='tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); } BEGIN { exit(); }'

# median wall time of RUNS runs, in ms
median_ms() {
	local ts=()
	for _ in $(seq 1 $RUNS); do
		# let the previous session's attachments finish releasing (an RCU
		# grace period, in the background after stapng exits): we measure
		# one start-up, not contention with the last teardown
		sleep 0.3
		local a=$(date +%s%N)
		"$@" >/dev/null 2>&1
		local b=$(date +%s%N)
		ts+=($(( (b - a) / 1000 )))
	done
	printf '%s\n' "${ts[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}

cold=$(median_ms "$STAP" --disable-cache -e "$SCRIPT")
"$STAP" -e "$SCRIPT" >/dev/null 2>&1   # fill the cache
cached=$(median_ms "$STAP" -e "$SCRIPT")
printf "%-34s %10s\n" "one tracepoint, armed and back" "median ms"
printf "%-34s %10s\n" "stapng cold (translate+compile)" "$cold"
printf "%-34s %10s\n" "stapng cached" "$cached"
if have_bpftrace; then
	bt=$(median_ms bpftrace -e "$BT")
	printf "%-34s %10s\n" "bpftrace" "$bt"
	awk "BEGIN{printf(\"cold/bpftrace %.2fx (goal < 0.6x), cached/bpftrace %.2fx (goal < 0.1x)\n\", $cold/$bt, $cached/$bt)}"
fi
