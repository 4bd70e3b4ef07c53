#!/bin/bash
# Runtime tests: hand-written modules (BPF C + host C, as pass 4 would
# build them) run by staprun.  Prints "PASS name" / "FAIL name: why" /
# "SKIP name: why" lines for tests/run.sh.
#   STAPRUN   the staprun binary (default build/staprun)
set -u
cd "$(dirname "$0")/../.."
STAPRUN=${STAPRUN:-$PWD/build/staprun}
work=$(mktemp -d /tmp/stapng-rt.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ "$(id -u)" != 0 ] || [ ! -e /sys/kernel/tracing/events/syscalls/sys_enter_getppid ]; then
	echo "SKIP getppid: needs root and the syscalls:sys_enter_getppid tracepoint"
	exit 0
fi

# build DIR NAME: NAME.bpf.c -> NAME.bpf.o -> bytes in NAME.bpf.inc -> NAME.ko
build() {
	local dir=$1 name=$2 out=$work/$2
	mkdir -p "$out"
	clang -target bpf -O2 -g -Iruntime -I/usr/include/"$(uname -m)"-linux-gnu \
		-c "$dir/$name.bpf.c" -o "$out/$name.bpf.o" || return 1
	{ echo "static const unsigned char ${name}_bpf_o[] = {"; xxd -i <"$out/$name.bpf.o"; echo "};"; } \
		>"$out/$name.bpf.inc" || return 1
	gcc -std=gnu11 -Wall -Wextra -Werror -shared -fPIC -Iruntime -I"$out" -o "$out/$name.ko" "$dir/host.c" || return 1
	[ ! -f "$dir/trigger.c" ] || gcc -O2 -o "$out/trigger" "$dir/trigger.c"
}

check() { # name, expected file, actual file
	if cmp -s "$2" "$3"; then echo "PASS $1"; else echo "FAIL $1: $(diff "$2" "$3" | head -10 | tr '\n' ' ')"; fi
}

d=tests/runtime/getppid
if ! build $d getppid 2>"$work/build.err"; then
	echo "FAIL getppid build: $(head -5 "$work/build.err" | tr '\n' ' ')"
	exit 0
fi
m=$work/getppid

# 1. -c: begin order, kernel printf records, map + per-CPU stats read by an
#    end probe, host-only maps, an error record, globals printed at the end.
"$STAPRUN" -c "$m/trigger 1000" "$m/getppid.ko" >"$work/out" 2>"$work/err"
rc=$?
cat >"$work/want" <<'OUT'
begin(-1)
begin
getppid 1 by trigger
getppid 2 by trigger
getppid 3 by trigger
end: hits=1000 counted=1000 threads=1
host_arr[7]=42
hits=1000
host_arr[7]=42
host_stat @count=5 @min=1 @max=5 @sum=15 @avg=3
OUT
cat >"$work/want.err" <<'OUT'
ERROR: division by zero near operator '/' at getppid.stp:7:40
WARNING: Number of errors: 1, skipped probes: 0
OUT
check "getppid -c stdout" "$work/want" "$work/out"
check "getppid -c stderr" "$work/want.err" "$work/err"
[ $rc = 1 ] && echo "PASS getppid exit status after an error" || echo "FAIL getppid exit status: $rc, expected 1"

# 2. -o FILE, -T timeout, -G: no target, so no kernel output; ends by -T.
"$STAPRUN" -T 0.3 -o "$work/o.txt" -G hits=5 "$m/getppid.ko" divisor=3 >"$work/out" 2>"$work/err"
rc=$?
printf 'begin(-1)\nbegin\nend: hits=5 counted=0 threads=0\nhost_arr[7]=42\nhits=5\nhost_arr[7]=42\nhost_stat @count=5 @min=1 @max=5 @sum=15 @avg=3\n' >"$work/want"
check "getppid -o -T -G" "$work/want" "$work/o.txt"
[ $rc = 0 ] && [ ! -s "$work/out" ] && [ ! -s "$work/err" ] && echo "PASS getppid -T clean exit" ||
	echo "FAIL getppid -T clean exit: rc $rc, stdout $(head -c 200 "$work/out"), stderr $(head -c 300 "$work/err")"

# 3. SIGINT ends the session and end probes still run; nothing stays attached.
"$STAPRUN" "$m/getppid.ko" >"$work/out" 2>"$work/err" &
pid=$!
sleep 0.3
kill -INT $pid
wait $pid
rc=$?
grep -q '^end: hits=0' "$work/out" && [ $rc = 0 ] && echo "PASS getppid SIGINT runs end probes" ||
	echo "FAIL getppid SIGINT: rc $rc: $(cat "$work/out" "$work/err" | head -5 | tr '\n' ' ')"
# attachments are released in the background once staprun has exited
still_attached() { bpftool link list 2>/dev/null | grep -q probe_0; }
for _ in $(seq 1 40); do command -v bpftool >/dev/null && still_attached && sleep 0.05 || break; done
if command -v bpftool >/dev/null && still_attached; then
	echo "FAIL getppid detach: a link is still attached"
else
	echo "PASS getppid detach"
fi

# 4. Bad input: an unknown global, a bad ABI path, a missing module.
"$STAPRUN" -G nosuch=1 "$m/getppid.ko" >/dev/null 2>"$work/err"
rc=$?
[ $rc = 1 ] && grep -q "ERROR: the module has no global 'nosuch'" "$work/err" && echo "PASS staprun unknown global" ||
	echo "FAIL staprun unknown global: rc $rc $(cat "$work/err")"
"$STAPRUN" "$work/nonexistent.ko" >/dev/null 2>"$work/err"
rc=$?
[ $rc = 1 ] && grep -q "ERROR: cannot load module" "$work/err" && echo "PASS staprun missing module" ||
	echo "FAIL staprun missing module: rc $rc $(cat "$work/err")"
# -L detaches (flight recorder; tests/session/run.sh tests it fully): here
# only that it starts, names itself, and -d ends it with end probes run.
"$STAPRUN" -L "$m/getppid.ko" >/dev/null 2>"$work/err"
rc=$?
if [ $rc = 0 ] && grep -q 'staprun -A getppid"' "$work/err"; then
	"$STAPRUN" -d getppid >"$work/out" 2>&1
	grep -q '^end: hits=0' "$work/out" && echo "PASS staprun -L then -d" ||
		echo "FAIL staprun -d: $(head -5 "$work/out" | tr '\n' ' ')"
else
	echo "FAIL staprun -L: rc $rc $(cat "$work/err")"
fi
exit 0
