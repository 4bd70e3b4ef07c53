#!/bin/sh
# make demo: trace something real.  The ten busiest system-call users
# over one second, counted in the kernel by an eBPF program and sorted and
# printed in user space by staprun.
set -e
cd "$(dirname "$0")/.."
echo '$ stap -v -e '"'"'global calls
  probe kernel.trace("raw_syscalls:sys_enter") { calls[execname()]++ }
  probe timer.s(1) { foreach (n in calls- limit 10) printf("%-16s %6d\n", n, calls[n]); exit() }'"'"
# some activity to watch
( for i in 1 2 3 4 5 6 7 8 9 10; do ls / >/dev/null; sleep 0.05; done ) &
build/stap -v -e 'global calls
  probe kernel.trace("raw_syscalls:sys_enter") { calls[execname()]++ }
  probe timer.s(1) { foreach (n in calls- limit 10) printf("%-16s %6d\n", n, calls[n]); exit() }'
wait
