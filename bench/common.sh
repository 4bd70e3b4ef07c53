# Shared by the benchmarks: build helpers into build/bench, locate tools.
set -e
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/build/bench
mkdir -p "$B"
STAP=$ROOT/build/stap
export STAPNG_CACHE_DIR=${STAPNG_CACHE_DIR:-$B/cache}
[ -x "$STAP" ] || { echo "build stapng first: make" >&2; exit 1; }
cc -O2 -o "$B/getppid_loop" bench/getppid_loop.c
clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -c bench/empty_tp.bpf.c -o "$B/empty_tp.bpf.o"
cc -O2 -o "$B/empty_tp" bench/empty_tp.c -lbpf
have_bpftrace() { command -v bpftrace >/dev/null; }
# wait_armed FILE [PID]: until a tracer writes its first line (armed) into
# FILE, up to 120 s (a module of all syscalls with argstr formatted in the
# kernel takes ~32 s to compile); on failure stop tracer PID
wait_armed() {
	for _ in $(seq 1 2400); do [ -s "$1" ] && return 0; sleep 0.05; done
	echo "tracer did not start: $(cat "$1")" >&2
	[ -n "${2:-}" ] && kill -INT "$2" 2>/dev/null
	return 1
}
# best_of CMD...: the lowest of ROUNDS runs of CMD, which prints a number
best_of() {
	local b="" v
	for _ in $(seq 1 "${ROUNDS:-3}"); do
		v=$("$@")
		if [ -z "$b" ] || awk "BEGIN{exit !($v < $b)}"; then b=$v; fi
	done
	echo "$b"
}
# traced LOOP CMD...: start the tracer CMD, wait until it is armed, print
# best_of LOOP (a word-split command), stop the tracer
traced() {
	local loop=$1 out=$B/tracer.out; shift
	: > "$out"
	"$@" > "$out" 2>&1 &
	local pid=$!
	wait_armed "$out" $pid
	sleep 0.3
	local t
	t=$(best_of $loop)
	kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null || true
	echo "$t"
}
# added_row WIDTH LABEL VALUE BASE: a table row, VALUE and VALUE - BASE
added_row() {
	printf "%-${1}s %10s %12.1f\n" "$2" "$3" "$(awk "BEGIN{print $3-$4}")"
}
