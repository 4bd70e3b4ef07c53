#!/bin/bash
# Session tests: the workflows around a script, run end to end with real
# BPF: output files and rotation, the flight recorder (detach, reattach,
# delete, files in the background, SIGTERM), named modules run by staprun
# alone on a machine without compiler or tapsets, modules built for
# another release, privilege refusals for an unprivileged user, and
# temporary directories.
# Prints "PASS name" / "FAIL name: why" / "SKIP name: why" for tests/run.sh.
#   STAP, STAPRUN   the binaries (default build/stap, build/staprun)
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
STAP=${STAP:-$ROOT/build/stap}
STAPRUN=${STAPRUN:-$ROOT/build/staprun}
export STAPNG_TAPSET_DIR=${STAPNG_TAPSET_DIR:-$ROOT/tapset}
export STAPNG_RUNTIME_DIR=${STAPNG_RUNTIME_DIR:-$ROOT/runtime}
export STAPNG_STAPRUN=$STAPRUN
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
work=$(mktemp -d /tmp/stapng-session.XXXXXX)
chmod 755 "$work"
export STAPNG_CACHE_DIR=$work/cache
daemons=()
cleanup() {
	for p in "${daemons[@]}"; do kill -TERM "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $(printf '%s' "$2" | head -c 600 | tr '\n' '|')"; }
check() { if eval "$2"; then pass "$1"; else fail "$1" "${3:-}"; fi; }

if [ "$(id -u)" != 0 ] || [ ! -e /sys/kernel/tracing/events ]; then
	echo "SKIP session: needs root and tracefs"
	exit 0
fi

# wait_for COMMAND: up to 5 s for COMMAND to succeed
wait_for() {
	local i
	for i in $(seq 50); do eval "$1" && return 0; sleep 0.1; done
	return 1
}

alive() { kill -0 "$1" 2>/dev/null; }

cd "$work"
long=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
# N lines of the same length: "%07d " + x's + "\n"
lines_script() { echo "probe begin { for (i = 0; i < $1; i++) printf(\"%07d %s\\n\", i, \"$long\") $2 }"; }

# ------------------------------------------------------------ -o and -S

"$STAP" -o "$work/plain.out" -e 'probe begin { println("to the file"); exit() }' >"$work/o" 2>"$work/e"
check "-o FILE" '[ "$(cat "$work/plain.out")" = "to the file" ] && [ ! -s "$work/o" ]' "$(cat "$work/o" "$work/e")"

mkdir -p rot
"$STAP" -DMAXACTION=1000000 -o "$work/rot/x.log" -S 1,2 -e "$(lines_script 40000 'exit()')" >"$work/o" 2>"$work/e"
rc=$?
files=$(cd rot && ls | tr '\n' ' ')
check "-S 1,2 keeps the two newest files" '[ $rc = 0 ] && [ "$files" = "x.log.2 x.log.3 " ]' "rc $rc files: $files $(cat "$work/e")"
ok=1
for f in rot/x.log.2 rot/x.log.3; do
	[ "$(stat -c %s "$f")" -le $((1 << 20)) ] || ok=0
	[ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" = '\n' ] || ok=0
done
first=$(head -c 7 rot/x.log.2); last=$(tail -n 1 rot/x.log.3 | head -c 7)
expect=$((40000 - ($(cat rot/x.log.2 rot/x.log.3 | wc -l))))
check "-S files hold whole lines, at most SIZE, the newest output" \
	'[ $ok = 1 ] && [ "$last" = 0039999 ] && [ "$((10#$first))" = "$expect" ]' "first $first last $last expect $expect"
# Every line appears once, in order, across the kept files.
check "-S rotation loses nothing in between" \
	'cat rot/x.log.2 rot/x.log.3 | cut -c1-7 | awk "{ if (\$1 + 0 != NR - 1 + $expect) exit 1 }"'

"$STAP" -o "$work/rot/bad/x.log" -e 'probe begin { exit() }' >/dev/null 2>"$work/e"
rc=$?
check "-o into a missing directory fails clearly" '[ $rc = 1 ] && grep -q "ERROR: cannot open output file $work/rot/bad/x.log" "$work/e"' "rc $rc $(cat "$work/e")"

# SIGUSR2 switches to the next file (FILE.1 without -S).
mkdir -p usr2
"$STAP" -p4 -m usr2mod -e 'global n probe timer.ms(20) { n++; printf("line %d\n", n) }' >/dev/null 2>"$work/e"
"$STAPRUN" -o "$work/usr2/u.log" usr2mod.ko 2>"$work/e" &
pid=$!
wait_for '[ -s usr2/u.log ]'
kill -USR2 $pid
wait_for '[ -s usr2/u.log.1 ]'
kill -INT $pid; wait $pid
last0=$(tail -n 1 usr2/u.log | cut -d' ' -f2); first1=$(head -n 1 usr2/u.log.1 | cut -d' ' -f2)
check "SIGUSR2 switches to FILE.1, nothing lost" '[ -n "$last0" ] && [ "$first1" = $((last0 + 1)) ]' "u.log ends $last0, u.log.1 starts $first1"

# switch_file(): in begin and end at once, in a kernel handler by a record
# staprun acts on in order with the handler's output; -S 1,3 keeps 3 files
mkdir -p switch
printf '%s\n' 'probe begin { println("b1"); switch_file(); println("b2") }
probe kernel.trace("syscalls:sys_enter_exit_group") { if (pid() == target()) { println("k1"); switch_file(); println("k2") } }
probe end { println("e1"); switch_file(); println("e2"); switch_file(); println("e3") }' >"$work/switch.stp"
"$STAP" -o "$work/switch/s.log" -S 1,3 -c /bin/true "$work/switch.stp" >"$work/o" 2>"$work/e"
got=$(cd switch && for f in *; do printf '%s:' "$f"; tr '\n' ' ' <"$f"; done)
check "switch_file() with -S: begin, kernel, end" '[ "$got" = "s.log.2:k2 e1 s.log.3:e2 s.log.4:e3 " ] && [ ! -s "$work/o" ]' "$got $(cat "$work/o" "$work/e")"
rm -rf switch; mkdir -p switch
"$STAP" -o "$work/switch/p.log" -e 'probe begin { println("a"); switch_file(); println("b"); exit() }' >"$work/o" 2>"$work/e"
got=$(cd switch && for f in *; do printf '%s:' "$f"; tr '\n' ' ' <"$f"; done)
check "switch_file() with -o alone: FILE, then FILE.1" '[ "$got" = "p.log:a p.log.1:b " ]' "$got $(cat "$work/o" "$work/e")"
out=$("$STAP" -e 'probe begin { println("a"); switch_file(); println("b"); exit() }' 2>&1 | tr '\n' ' ')
check "switch_file() without -o does nothing" '[ "$out" = "a b " ]' "$out"

# --------------------------------------------------------- -T, -c, -x

start=$(date +%s%N)
out=$("$STAP" -T 1 -e 'global n probe timer.ms(100) { n++ } probe end { printf("end ran, ticks>5: %d\n", n > 5) }' 2>&1)
ms=$((($(date +%s%N) - start) / 1000000))
check "-T ends the session, end probes run" '[ "$out" = "end ran, ticks>5: 1" ] && [ $ms -lt 5000 ]' "$out ($ms ms)"

out=$("$STAP" -c 'ls /' -e 'global hits
probe kernel.trace("syscalls:sys_enter_exit_group") { if (pid() == target()) hits++ }
probe end { printf("target exit seen %d times; target set %d\n", hits, target() > 0) }' 2>&1 | tail -n 1)
check "-c: target() is the command, the session ends with it" '[ "$out" = "target exit seen 1 times; target set 1" ]' "$out"

printf '%s\n' 'probe kernel.trace("syscalls:sys_enter_exit_group") { if (pid() == target()) printf("%s %s\n", execname(), @1) }' >"$work/after.stp"
out=$(timeout 20 "$STAP" "$work/after.stp" -c 'ls /' -- -arg 2>&1 | tail -n 1)
check "options after the script (stap x.stp -c CMD -- ARGS)" '[ "$out" = "ls -arg" ]' "$out"

# an error in a begin probe ends the session before the -c command runs;
# the command, held at its start, must not keep staprun waiting
start=$(date +%s%N)
out=$(timeout 20 "$STAP" -c 'sleep 0' -e 'probe begin { z = 0; println(1 / z) }
probe kernel.trace("syscalls:sys_enter_getppid") { if (pid() == target()) println("never") }' 2>&1)
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "-c with an error in begin ends at once" '[ $rc = 1 ] && [ $ms -lt 10000 ] && grep -q "division by zero" <<<"$out"' "rc $rc, $ms ms: $out"

sleep 30 &
sl=$!
out=$("$STAP" -x $sl -T 1 -e 'probe begin { printf("%d\n", target()) }' 2>&1)
kill $sl
check "-x PID sets target()" '[ "$out" = "$sl" ]' "$out vs $sl"

# ------------------------------------------------ flight recorder: memory

fscript='global n
probe begin { println("started") }
probe timer.ms(50) { n++; printf("tick %d\n", n) }
probe end { printf("end after %d ticks\n", n) }'
"$STAP" -F -e "$fscript" >"$work/o" 2>"$work/e"
rc=$?
name=$(sed -n 's/^To reconnect, type "staprun -A \(.*\)"$/\1/p' "$work/e")
check "-F detaches with stap's message" \
	'[ $rc = 0 ] && [ -n "$name" ] && grep -qx "Disconnecting from systemtap module." "$work/e" && [ ! -s "$work/o" ]' \
	"rc $rc $(cat "$work/o" "$work/e")"
sock=/run/stapng/$name.sock
dpid=${name##*_}
daemons+=("$dpid")
check "-F: a background process owns the control socket" '[ -S "$sock" ] && alive "$dpid"' "$sock pid $dpid"
sid=$(ps -o sid= -p "$dpid" | tr -d ' ')
check "-F: the session leads its own session (setsid)" '[ "$sid" = "$dpid" ]' "sid $sid pid $dpid"
kill -HUP "$dpid"
sleep 0.3
check "-F: survives SIGHUP (its terminal closing)" 'alive "$dpid"'

timeout -s INT 1 "$STAPRUN" -A "$name" >"$work/a1" 2>"$work/a1e"
rc=$?
n1=$(grep -c '^tick' "$work/a1")
check "-A replays the buffer, then follows live output" \
	'[ "$(head -n 1 "$work/a1")" = started ] && [ "$(sed -n 2p "$work/a1")" = "tick 1" ] && [ "$n1" -ge 15 ]' \
	"rc $rc $(head -3 "$work/a1") ... $n1 ticks $(cat "$work/a1e")"
check "Ctrl-C on -A detaches, leaving the session running" \
	'grep -q "To reconnect, type \"staprun -A $name\"" "$work/a1e" && sleep 0.2 && alive "$dpid" && [ -S "$sock" ]' "$(cat "$work/a1e")"

"$STAPRUN" -d "$name" >"$work/d" 2>"$work/de"
rc=$?
check "-d ends it: end probes run, their output comes to -d" \
	'[ $rc = 0 ] && grep -q "^end after [0-9]* ticks$" "$work/d" && ! grep -q ^tick "$work/d"' "rc $rc $(cat "$work/d" "$work/de")"
wait_for '! alive "$dpid"'
check "-d: the process is gone and the socket removed" '! alive "$dpid" && [ ! -e "$sock" ]'
"$STAPRUN" -A "$name" >/dev/null 2>"$work/e"
rc=$?
check "-A on an ended session fails clearly" '[ $rc = 1 ] && grep -q "ERROR: no running module named $name" "$work/e"' "$(cat "$work/e")"

# The ring keeps the newest 1 MB, cut at a line.
"$STAP" -F -DMAXACTION=1000000 -e "$(lines_script 20000 '')" >/dev/null 2>"$work/e"
name=$(sed -n 's/^To reconnect, type "staprun -A \(.*\)"$/\1/p' "$work/e")
daemons+=("${name##*_}")
timeout -s INT 0.5 "$STAPRUN" -A "$name" >"$work/a2" 2>/dev/null
size=$(stat -c %s "$work/a2")
first=$(head -c 7 "$work/a2")
check "-F keeps only the newest 1 MB, from a whole line" \
	'[ $size -le $((1 << 20)) ] && [ $size -gt 1000000 ] && [ "$(tail -n 1 "$work/a2" | head -c 7)" = 0019999 ] && [ "$(head -n 1 "$work/a2" | wc -c)" = "$(tail -n 1 "$work/a2" | wc -c)" ]' \
	"size $size first $first last $(tail -n 1 "$work/a2" | head -c 7)"
"$STAPRUN" -d "$name" >/dev/null 2>&1

"$STAP" -F -s 2 -DMAXACTION=1000000 -e "$(lines_script 20000 '')" >/dev/null 2>"$work/e"
name=$(sed -n 's/^To reconnect, type "staprun -A \(.*\)"$/\1/p' "$work/e")
daemons+=("${name##*_}")
timeout -s INT 0.5 "$STAPRUN" -A "$name" >"$work/a3" 2>/dev/null
"$STAPRUN" -d "$name" >/dev/null 2>&1
check "-F -s 2 keeps 2 MB" '[ "$(head -c 7 "$work/a3")" = 0000000 ] && [ "$(wc -l <"$work/a3")" = 20000 ]' \
	"$(head -c 7 "$work/a3") $(wc -l <"$work/a3")"

# -m NAME: a fixed name, and a second copy is refused while it runs.
"$STAP" -F -m flightmod$$ -e "$fscript" >/dev/null 2>"$work/e"
check "-F -m NAME names the session" 'grep -q "staprun -A flightmod$$\"" "$work/e" && [ -e flightmod$$.ko ]' "$(cat "$work/e")"
"$STAPRUN" -L flightmod$$.ko >/dev/null 2>"$work/e2"
rc=$?
check "a second copy of a named module is refused while the first runs" '[ $rc = 1 ] && grep -q "already running" "$work/e2"' "rc $rc $(cat "$work/e2")"
"$STAPRUN" -d flightmod$$ >"$work/d" 2>&1
check "-d NAME.ko-less name ends it" 'grep -q "^end after" "$work/d"' "$(cat "$work/d")"

# Attached when the session ends by itself: the end output, then its status.
"$STAP" -F -e 'global n probe timer.ms(100) { if (++n == 10) exit() } probe end { println("ended by exit()") }' >/dev/null 2>"$work/e"
name=$(sed -n 's/^To reconnect, type "staprun -A \(.*\)"$/\1/p' "$work/e")
daemons+=("${name##*_}")
out=$(timeout 10 "$STAPRUN" -A "$name" 2>&1)
rc=$?
check "-A follows until the session ends, then exits with its status" '[ $rc = 0 ] && [ "$out" = "ended by exit()" ]' "rc $rc $out"

# A flight recorder that cannot start says why on the terminal, fails,
# and leaves no socket behind.
"$STAP" -p4 -m noattach$$ -e 'probe kernel.function("no_such_function_stapng") ? { println(1) } probe begin { error("begin failed on purpose") }' >/dev/null 2>&1
"$STAPRUN" -L noattach$$.ko >"$work/o" 2>"$work/e"
rc=$?
check "-L that fails in begin reports on the terminal, exits 1, leaves no socket" \
	'[ $rc = 1 ] && grep -q "begin failed on purpose" "$work/e" && [ ! -e /run/stapng/noattach$$.sock ]' "rc $rc $(cat "$work/o" "$work/e")"

out=$("$STAP" -F -e 'probe begin { println("in begin"); exit() } probe end { println("end") }' 2>&1)
rc=$?
check "-F whose begin calls exit() ends in the foreground with its output" '[ $rc = 0 ] && [ "$out" = "in begin
end" ]' "rc $rc $out"

# -------------------------------------------------- flight recorder: files

mkdir -p ff
"$STAP" -F -o ff/pfaults.log -S 1,2 -DMAXACTION=1000000 -e "global n
probe begin { for (i = 0; i < 25000; i++) printf(\"%07d %s\\n\", i, \"$long\") }
probe timer.ms(50) { n++ }
probe end { printf(\"end: %d ticks\\n\", n) }" >"$work/o" 2>"$work/e"
rc=$?
fpid=$(cat "$work/o")
daemons+=("$fpid")
check "-F -o prints the background pid" '[ $rc = 0 ] && [ -n "$fpid" ] && alive "$fpid" && [ ! -s "$work/e" ]' "rc $rc $(cat "$work/o" "$work/e")"
wait_for '[ -e ff/pfaults.log.2 ]'
files=$(cd ff && ls | tr '\n' ' ')
check "-F -o -S: rotating files, two kept" '[ "$files" = "pfaults.log.1 pfaults.log.2 " ]' "$files"
kill -HUP "$fpid"; sleep 0.2
check "-F -o: survives SIGHUP" 'alive "$fpid"'
kill -TERM "$fpid"
wait_for '! alive "$fpid"'
check "-F -o: SIGTERM ends it with end probes run into the newest file" \
	'! alive "$fpid" && tail -n 1 ff/pfaults.log.2 | grep -q "^end: [0-9]* ticks$" && [ "$(tail -n 2 ff/pfaults.log.2 | head -c 7)" = 0024999 ]' \
	"$(tail -n 2 ff/pfaults.log.2)"

# ------------------------------------------ modules and other machines

cd "$work"
"$STAP" -p4 -m movable -e 'global greeting = "hello"
probe begin { printf("%s from %s, target %d\n", greeting, "movable", target()) }
probe kernel.trace("syscalls:sys_enter_exit_group") { if (pid() == target()) printf("target exits\n") }' >"$work/o" 2>"$work/e"
check "-p4 -m NAME builds NAME.ko here and prints its name" '[ "$(cat "$work/o")" = movable.ko ] && [ -s movable.ko ]' "$(cat "$work/o" "$work/e")"
mkdir -p bare && cp movable.ko bare/ && cp "$STAPRUN" bare/staprun
(cd bare && env -i PATH=/nonexistent ./staprun -c '/bin/true' movable.ko greeting=hi) >"$work/o" 2>"$work/e"
check "staprun MODULE runs with no compiler, tapset or stap on PATH" \
	'printf "hi from movable, target %s\ntarget exits\n" "$(head -n 1 "$work/o" | sed "s/.*target //")" | cmp -s - "$work/o"' \
	"$(cat "$work/o" "$work/e")"
(cd bare && env -i PATH=/nonexistent ./staprun -T 0.2 -o out.txt movable.ko) 2>"$work/e"
check "staprun -o -T on a bare machine" '[ "$(cat bare/out.txt)" = "hello from movable, target 0" ]' "$(cat bare/out.txt "$work/e")"

printf 'CONFIG_STAPNG_TEST=y\nCONFIG_HZ=100\n' >cfg-9.9.9
"$STAP" -p4 -r 9.9.9-test --kernel-config cfg-9.9.9 --btf /sys/kernel/btf/vmlinux -m cross -e \
	'probe begin { printf("%s %s\n", %( CONFIG_STAPNG_TEST == "y" %? "config-read" %: "config-missed" %), %( kernel_v == "9.9.9" %? "release-9.9.9" %: "release-other" %)); exit() }' \
	>"$work/o" 2>"$work/e"
out=$("$STAPRUN" cross.ko 2>&1)
check "-r RELEASE --kernel-config --btf: built for that release, runs here" '[ "$out" = "config-read release-9.9.9" ]' "$out $(cat "$work/e")"

# ----------------------------------------------------------- privilege

user=stapng_t$$
if useradd -M -N -s /bin/sh "$user" 2>"$work/e"; then
	trap 'userdel "$user" 2>/dev/null; rm -f "$installed"; [ -n "$made_dir" ] && rmdir "$made_dir"; cleanup' EXIT
	installed=""; made_dir=""
	as_user() { runuser -u "$user" -- env HOME="$work/home" STAPNG_CACHE_DIR="$work/ucache" "$@"; }
	mkdir -p "$work/home" "$work/ucache" && chown "$user" "$work/home" "$work/ucache"
	cp movable.ko "$work/home/" && chmod 644 "$work/home/movable.ko"

	as_user "$STAP" -e 'probe kernel.trace("sched:sched_switch") { println(1) }' >/dev/null 2>"$work/e"
	rc=$?
	check "a normal user is held to stapusr: kernel probes refused" \
		'[ $rc = 1 ] && grep -q "probe point is not allowed for --privilege=stapusr: identifier .trace." "$work/e" && grep -q "stapdev" "$work/e"' \
		"rc $rc $(cat "$work/e")"
	"$STAP" -p2 --unprivileged -e 'probe syscall.read { println(1) }' >/dev/null 2>"$work/e"
	check "--unprivileged refuses syscall probes, even for root" 'grep -q "not allowed for --privilege=stapusr" "$work/e"' "$(cat "$work/e")"
	"$STAP" -p2 --unprivileged -e 'probe begin, end, timer.ms(10) { println(1) }' >/dev/null 2>"$work/e"
	check "--unprivileged allows begin, end, timers" '[ $? = 0 ]' "$(cat "$work/e")"
	"$STAP" -p2 --privilege=stapusr -g -e 'probe begin { println(1) }' >/dev/null 2>"$work/e"
	check "-g with --privilege=stapusr is refused" 'grep -q "You can.t specify -g and --privilege=stapusr together." "$work/e"' "$(cat "$work/e")"

	as_user "$STAPRUN" "$work/home/movable.ko" >/dev/null 2>"$work/e"
	rc=$?
	check "staprun refuses a user in no group, naming the groups and capabilities" \
		'[ $rc = 1 ] && grep -q "normal user" "$work/e" && grep -q "\"stapusr\"" "$work/e" && grep -q "\"stapdev\"" "$work/e" && grep -q CAP_BPF "$work/e"' \
		"rc $rc $(cat "$work/e")"
	as_user "$STAP" -e 'probe begin { println("hi"); exit() }' >/dev/null 2>"$work/e"
	rc=$?
	check "stap as that user compiles for stapusr but staprun refuses to run it" \
		'[ $rc = 1 ] && grep -q "normal user" "$work/e"' "rc $rc $(cat "$work/e")"

	if getent group stapusr >/dev/null && usermod -a -G stapusr "$user"; then
		as_user "$STAPRUN" "$work/home/movable.ko" >/dev/null 2>"$work/e"
		rc=$?
		check "a stapusr member may not run a module outside /lib/modules/RELEASE/systemtap" \
			'[ $rc = 1 ] && grep -q "\"stapusr\" may only run modules installed by root in /lib/modules/" "$work/e"' \
			"rc $rc $(cat "$work/e")"
		# Installed module, set-uid staprun: runs, and drops root for the -c command.
		dir=/lib/modules/$(uname -r)/systemtap
		[ -d "$dir" ] || { mkdir -p "$dir" && made_dir=$dir; }
		installed=$dir/stapng_session_test_$$.ko
		cp movable.ko "$installed" && chmod 644 "$installed"
		cp "$STAPRUN" "$work/suid-staprun" && chmod 4755 "$work/suid-staprun"
		as_user "$work/suid-staprun" -c 'id -u' "stapng_session_test_$$" >"$work/o" 2>"$work/e"
		rc=$?
		uid=$(id -u "$user")
		check "a stapusr member runs an installed module with a set-uid staprun; the command runs as the user" \
			'[ $rc = 0 ] && grep -q "^hello from movable" "$work/o" && grep -qx "$uid" "$work/o" && grep -qx "target exits" "$work/o"' \
			"rc $rc $(cat "$work/o" "$work/e")"
	else
		echo "SKIP stapusr member tests: no stapusr group"
	fi
else
	echo "SKIP privilege: cannot create a test user: $(cat "$work/e")"
fi

# ------------------------------------------------------------ stap-prep

out=$(STAPNG_STAPRUN=$STAPRUN "$ROOT/scripts/stap-prep" 2>&1)
rc=$?
check "stap-prep reports each family with its reason" \
	'[ $rc = 0 ] && grep -q "^  ok   btf " <<<"$out" && grep -q "^  ok   tracepoints .*attached" <<<"$out" && grep -Eq "^  (ok|no)   kprobes  .*[a-z]" <<<"$out" && grep -Eq "^  (ok|no)   fentry  .*[a-z]" <<<"$out" && grep -q "^  yes  syscall" <<<"$out" && grep -q "^  ok   clang" <<<"$out"' \
	"rc $rc $out"
out=$(STAPNG_STAPRUN=$STAPRUN "$ROOT/scripts/stap-prep" -q 2>&1)
check "stap-prep -q prints only what does not work" '! grep -q "^  ok " <<<"$out" && ! grep -q "^  yes " <<<"$out"' "$out"
feat=$("$STAPRUN" --features)
check "staprun --features: one line per family" '[ "$(cut -f1 <<<"$feat" | tr "\n" " ")" = "btf tracefs ringbuf tracepoints syscalls kprobes fentry uprobes perf lockdown " ]' "$feat"

# ------------------------------------------------ temporary directories

cd "$work"
# build.c makes /tmp/stapXXXXXX; other runs may be building at the same
# time, so look only for directories holding this test's marker.
mark=tmpcheck_$$
"$STAP" --disable-cache -e "probe begin { println(\"$mark\"); exit() }" >/dev/null 2>&1
"$STAP" -p4 --disable-cache -e "probe begin { println(\"$mark-p4\"); exit() }" >/dev/null 2>&1
STAPNG_CC=false "$STAP" --disable-cache -e "probe begin { println(\"$mark-fail\"); exit() }" >/dev/null 2>&1
left=$(grep -l "$mark" /tmp/stap??????/host.c 2>/dev/null)
check "temporary directories are removed (run, -p4, failed build)" '[ -z "$left" ]' "left: $left"
"$STAP" -k --disable-cache -e 'probe begin { exit() }' >/dev/null 2>"$work/e"
kept=$(sed -n 's/^Keeping temporary directory "\(.*\)"$/\1/p' "$work/e")
check "-k keeps the temporary directory and says where" '[ -n "$kept" ] && [ -f "$kept/host.c" ]' "$(cat "$work/e")"
[ -n "$kept" ] && rm -rf "$kept"

"$STAP" -e 'probe begin { exit() }' >/dev/null 2>&1
n=$(ls "$STAPNG_CACHE_DIR"/stap_*.ko 2>/dev/null | wc -l)
"$STAP" --clean-cache
m=$(ls "$STAPNG_CACHE_DIR"/stap_*.ko 2>/dev/null | wc -l)
check "--clean-cache empties the module cache" '[ "$n" -ge 1 ] && [ "$m" = 0 ]' "$n then $m"
exit 0
