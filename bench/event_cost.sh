#!/bin/bash
# Cost added per event by c[execname()]++ on syscalls:sys_enter_getppid,
# beside bpftrace's @[comm] = count() and an empty BPF program (the floor).
. "$(dirname "$0")/common.sh"
N=${N:-2000000}
ROUNDS=${ROUNDS:-3}

LOOP="$B/getppid_loop $N"

base=$(best_of $LOOP)
floor=$(traced "$LOOP" "$B/empty_tp" "$B/empty_tp.bpf.o")
stap_t=$(traced "$LOOP" "$STAP" -e 'global c
probe kernel.trace("syscalls:sys_enter_getppid") { c[execname()]++ }
probe begin { printf("ready\n") }')
# a regex and a substring search per event (kstrings): the DFA walks the
# whole name (no match), isinstr tries every offset
re_t=$(traced "$LOOP" "$STAP" -e 'global c
probe kernel.trace("syscalls:sys_enter_getppid") { if (execname() =~ "^(sshd|cron|[a-f]+_?[0-9]{2,})$") c++ }
probe begin { printf("ready\n") }')
instr_t=$(traced "$LOOP" "$STAP" -e 'global c
probe kernel.trace("syscalls:sys_enter_getppid") { if (isinstr(execname(), "sshd")) c++ }
probe begin { printf("ready\n") }')
if have_bpftrace; then
	bt_t=$(traced "$LOOP" bpftrace -e 'BEGIN { printf("ready\n"); } tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }')
fi

printf "%-42s %10s %12s\n" "getppid(), $N calls, best of $ROUNDS" "ns/call" "added ns"
printf "%-42s %10s %12s\n" "no tracing" "$base" "-"
added_row 42 "empty BPF program (floor)" "$floor" "$base"
added_row 42 "stapng  c[execname()]++" "$stap_t" "$base"
added_row 42 "stapng  execname() =~ \"^(sshd|...)\$\"" "$re_t" "$base"
added_row 42 "stapng  isinstr(execname(), \"sshd\")" "$instr_t" "$base"
if [ -n "${bt_t:-}" ]; then
	added_row 42 "bpftrace @[comm] = count()" "$bt_t" "$base"
	awk "BEGIN{s=$stap_t-$base; b=$bt_t-$base; if (b>0) printf(\"stapng/bpftrace added cost: %.2fx (goal <= 0.8x)\n\", s/b)}"
fi
