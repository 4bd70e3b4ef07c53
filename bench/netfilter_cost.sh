#!/bin/bash
# Cost added per packet by a netfilter probe at IPv4's NF_INET_LOCAL_OUT,
# beside an empty BPF netfilter program on the same hook (the floor).
# bpftrace has no netfilter probes, so there is no peer to compare with.
. "$(dirname "$0")/common.sh"
N=${N:-500000}
ROUNDS=${ROUNDS:-5}
cc -O2 -o "$B/udp_loop" bench/udp_loop.c
clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -c bench/empty_nf.bpf.c -o "$B/empty_nf.bpf.o"

LOOP="$B/udp_loop $N"

base=$(best_of $LOOP)
floor=$(traced "$LOOP" "$B/empty_tp" "$B/empty_nf.bpf.o")
raw_t=$(traced "$LOOP" "$STAP" -e 'global n
probe netfilter.hook("NF_INET_LOCAL_OUT").pf("NFPROTO_IPV4") { n++ }
probe begin { printf("ready\n") }')
len_t=$(traced "$LOOP" "$STAP" -e 'global c
probe netfilter.hook("NF_INET_LOCAL_OUT").pf("NFPROTO_IPV4") { c[$skb->len] <<< 1 }
probe begin { printf("ready\n") }')
alias_t=$(traced "$LOOP" "$STAP" -e 'global c
probe netfilter.ip.local_out { c[daddr, dport]++ }
probe begin { printf("ready\n") }')

printf "%-48s %10s %12s\n" "UDP send to 127.0.0.1:9, $N packets, best of $ROUNDS" "ns/packet" "added ns"
printf "%-48s %10s %12s\n" "no hook" "$base" "-"
added_row 48 "empty BPF netfilter program (floor)" "$floor" "$base"
added_row 48 "stapng  netfilter.hook(...) { n++ }" "$raw_t" "$base"
added_row 48 "stapng  c[\$skb->len] <<< 1" "$len_t" "$base"
added_row 48 "stapng  netfilter.ip.local_out c[daddr, dport]++" "$alias_t" "$base"
