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
# wait until a tracer writes its first line (armed) into $1, up to 30 s
wait_armed() {
	for _ in $(seq 1 600); do [ -s "$1" ] && return 0; sleep 0.05; done
	echo "tracer did not start: $(cat "$1")" >&2; return 1
}
