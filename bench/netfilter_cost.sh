#!/bin/bash
# Cost added per packet by a netfilter probe at IPv4's NF_INET_LOCAL_OUT,
# beside an empty BPF netfilter program on the same hook (the floor).
# bpftrace has no netfilter probes, so there is no peer to compare with.
. "$(dirname "$0")/common.sh"
N=${N:-500000}
ROUNDS=${ROUNDS:-5}
cc -O2 -o "$B/udp_loop" bench/udp_loop.c
clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -c bench/empty_nf.bpf.c -o "$B/empty_nf.bpf.o"
cc -O2 -o "$B/empty_nf" bench/empty_nf.c -lbpf

best() { # best (lowest) of ROUNDS runs of the loop
	local b=""
	for _ in $(seq 1 $ROUNDS); do
		v=$("$B/udp_loop" $N)
		if [ -z "$b" ] || awk "BEGIN{exit !($v < $b)}"; then b=$v; fi
	done
	echo "$b"
}

run_with() { # run_with CMD...: start the tracer, wait until armed, time the loop
	local out=$B/tracer.out
	: > "$out"
	"$@" > "$out" 2>&1 &
	local pid=$!
	wait_armed "$out"
	sleep 0.3
	local t=$(best)
	kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null || true
	echo "$t"
}

base=$(best)
floor=$(run_with "$B/empty_nf" "$B/empty_nf.bpf.o")
raw_t=$(run_with "$STAP" -e 'global n
probe netfilter.hook("NF_INET_LOCAL_OUT").pf("NFPROTO_IPV4") { n++ }
probe begin { printf("ready\n") }')
len_t=$(run_with "$STAP" -e 'global c
probe netfilter.hook("NF_INET_LOCAL_OUT").pf("NFPROTO_IPV4") { c[$skb->len] <<< 1 }
probe begin { printf("ready\n") }')
alias_t=$(run_with "$STAP" -e 'global c
probe netfilter.ip.local_out { c[daddr, dport]++ }
probe begin { printf("ready\n") }')

printf "%-48s %10s %12s\n" "UDP send to 127.0.0.1:9, $N packets, best of $ROUNDS" "ns/packet" "added ns"
printf "%-48s %10s %12s\n" "no hook" "$base" "-"
printf "%-48s %10s %12.1f\n" "empty BPF netfilter program (floor)" "$floor" "$(awk "BEGIN{print $floor-$base}")"
printf "%-48s %10s %12.1f\n" "stapng  netfilter.hook(...) { n++ }" "$raw_t" "$(awk "BEGIN{print $raw_t-$base}")"
printf "%-48s %10s %12.1f\n" "stapng  c[\$skb->len] <<< 1" "$len_t" "$(awk "BEGIN{print $len_t-$base}")"
printf "%-48s %10s %12.1f\n" "stapng  netfilter.ip.local_out c[daddr, dport]++" "$alias_t" "$(awk "BEGIN{print $alias_t-$base}")"
