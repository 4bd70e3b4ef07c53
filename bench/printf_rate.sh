#!/bin/bash
# printf throughput: records per second from a kernel handler through the
# ring buffer to the output file, and where loss starts (counted, never
# silent: staprun reports lost records).
. "$(dirname "$0")/common.sh"
printf "%10s %10s %10s %14s  %s\n" "requested" "printed" "loop ms" "records/s" "lost"
for n in 100000 1000000 4000000; do
	out=$B/printf.out
	"$STAP" -s 16 -o "$out" -e 'probe kernel.trace("syscalls:sys_enter_getppid") { if (pid() == target()) printf("%d %s\n", $__syscall_nr, execname()) }' \
		-c "$B/getppid_loop $n" >"$B/loop.t" 2>"$B/printf.err" || true
	got=$(grep -c ' getppid_loop$' "$out" || true)
	ns=$(head -1 "$B/loop.t")
	ms=$(awk "BEGIN{printf \"%.0f\", $ns*$n/1e6}")
	rate=$(awk "BEGIN{printf \"%.0f\", $got/($ns*$n/1e9)}")
	lost=$(grep -io 'lost[^.]*' "$B/printf.err" | head -1)
	printf "%10d %10d %10s %14s  %s\n" "$n" "$got" "$ms" "$rate" "${lost:-none}"
done
