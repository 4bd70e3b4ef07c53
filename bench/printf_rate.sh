#!/bin/bash
# printf throughput: records per second from a kernel handler through the
# ring buffer into the output file, and where loss starts.  Loss is never
# silent: staprun counts lost records and reports them ("There were N
# transport failures"), and the table prints that count.
#
# One or two getppid loops (one per core) produce; -s sets the ring buffer
# size in megabytes.  records/s is what reached the file over the time the
# loops ran (the slower loop's own clock; the module is compiled and cached
# before the first row).
. "$(dirname "$0")/common.sh"
N=${N:-2000000}
printf "%4s %9s %10s %10s %10s %12s  %s\n" "-s" "producers" "requested" "printed" "loop ms" "records/s" "lost"
SCRIPT='probe kernel.trace("syscalls:sys_enter_getppid") {
	if (execname() == "getppid_loop") printf("%d %s %d %d %d\n", $__syscall_nr, execname(), tid(), cpu(), uid()) }'
"$STAP" -p4 -e "$SCRIPT" >/dev/null
for s in 16 4 1; do
	for p in 1 2; do
		out=$B/printf.out
		cmd="$B/getppid_loop $N"
		[ $p = 2 ] && cmd="sh -c '$B/getppid_loop $N & $B/getppid_loop $N; wait'"
		"$STAP" -s $s -o "$out" -e "$SCRIPT" \
			-c "$cmd" >"$B/loop.t" 2>"$B/printf.err" || true
		got=$(grep -c ' getppid_loop ' "$out" || true)
		want=$((N * p))
		ns=$(sort -n "$B/loop.t" | tail -1)
		ms=$(awk "BEGIN{printf \"%.0f\", $ns*$N/1e6}")
		rate=$(awk "BEGIN{printf \"%.0f\", $got/($ms/1e3)}")
		lost=$(grep -o 'There were [0-9]* transport failures' "$B/printf.err" | grep -o '[0-9]*' | head -1)
		printf "%4d %9d %10d %10d %10d %12s  %s\n" "$s" "$p" "$want" "$got" "$ms" "$rate" "${lost:-none}"
	done
done
