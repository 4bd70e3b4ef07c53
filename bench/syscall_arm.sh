#!/bin/bash
# Arming all syscalls at once: `probe syscall.*` (and with .return), armed
# and back (begin { exit() }), stapng cold (empty cache) and cached, beside
# bpftrace's tracepoint:syscalls:sys_enter_* and an empty raw_syscalls
# program (the floor: load, attach, detach of one trivial program).
# Then the cost per event of printf("%s(%s)\n", name, argstr) on getppid.
. "$(dirname "$0")/common.sh"
clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -c bench/empty_raw.bpf.c -o "$B/empty_raw.bpf.o"
ROUNDS=${ROUNDS:-5}
N=${N:-200000}

# best and median of ROUNDS wall-clock runs of a command, in seconds (the
# machine is shared: the best is the cost, the median what a user may see)
best_median() {
	local ts=()
	for _ in $(seq 1 $ROUNDS); do
		local t0=$(date +%s.%N)
		"$@" >/dev/null 2>&1
		ts+=($(awk "BEGIN{print $(date +%s.%N) - $t0}"))
	done
	printf "%s\n" "${ts[@]}" | sort -n | awk '{a[NR]=$1} END{printf "%.3f/%.3f", a[1], a[int((NR+1)/2)]}'
}

cold() { # one run with an empty module cache
	local d=$(mktemp -d)
	local t0=$(date +%s.%N)
	STAPNG_CACHE_DIR=$d "$STAP" -e "$1" >/dev/null 2>&1
	awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $t0}"
	rm -rf "$d"
}

ENTRY='probe syscall.* { printf("%s(%s)\n", name, argstr) } probe begin { exit() }'
BOTH='probe syscall.* { printf("%s(%s)\n", name, argstr) } probe syscall.*.return { printf("%s = %s\n", name, retstr) } probe begin { exit() }'

printf "%-46s %10s %14s\n" "armed and back" "cold s" "cached best/med"
"$STAP" -e "$ENTRY" >/dev/null 2>&1
printf "%-46s %10s %14s\n" "stapng syscall.*" "$(cold "$ENTRY")" "$(best_median "$STAP" -e "$ENTRY")"
"$STAP" -e "$BOTH" >/dev/null 2>&1
printf "%-46s %10s %14s\n" "stapng syscall.* + syscall.*.return" "$(cold "$BOTH")" "$(best_median "$STAP" -e "$BOTH")"
printf "%-46s %10s %14s\n" "empty raw_syscalls program (floor)" "-" "$(best_median "$B/empty_tp" "$B/empty_raw.bpf.o" --exit)"
if have_bpftrace; then
	printf "%-46s %10s %14s\n" "bpftrace tracepoint:syscalls:sys_enter_*" "-" \
		"$(ROUNDS=1 best_median bpftrace -e 'tracepoint:syscalls:sys_enter_* { printf("%s\n", probe); } BEGIN { exit(); }')"
fi

# per event: getppid() in a loop, traced by syscall.* printing argstr,
# formatted by staprun (deferred) and, as before deferral, in the kernel
# (a comparison needs its text there)
per_event() { # label, script
	local out=$B/tracer.out
	: > "$out"
	"$STAP" -e "$2"' probe begin { printf("ready\n") }' > "$out" 2>&1 &
	local pid=$!
	wait_armed "$out" $pid
	sleep 0.3
	local t=$("$B/getppid_loop" $N)
	kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null || true
	printf "%-46s %10s ns/call, %s added\n" "$1" "$t" "$(awk "BEGIN{printf \"%.1f\", $t-$base}")"
}
base=$("$B/getppid_loop" $N)
printf "%-46s %10s ns/call\n" "getppid(), untraced" "$base"
per_event "getppid(), syscall.* printf argstr (staprun)" \
	'probe syscall.* { printf("%s(%s)\n", name, argstr) }'
per_event "getppid(), same, argstr made in the kernel" \
	'probe syscall.* { if (argstr == "?") next; printf("%s(%s)\n", name, argstr) }'
