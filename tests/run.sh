#!/bin/bash
# The test runner: unit tests, script tests, -p1 round trips, the fuzzer.
# Ends with "N passed, N failed" and exits non-zero on any failure.
#
# Script tests live in tests/scripts/ (any depth): NAME.stp with
#   NAME.out   expected stdout (compared exactly, when present)
#   NAME.err   expected stderr (compared exactly, when present)
# and directives in the script's leading comment lines:
#   # stap: OPTIONS      options for stap (default: run it, pass 5)
#   # exit: N            expected exit status (default 0)
#   # trigger: CMD       run CMD repeatedly while stap runs (event generator)
#   # timeout: SECONDS   (default 30)
#   # needs: root|bpftrace|tracefs|no-kfunc|ipv6   skip (counted as passed? no: reported) when absent
#   # roundtrip: no      leave out of the -p1 round trip
# TESTS=REGEX runs only the script tests (and round trips) whose name matches,
# and leaves out the other groups: TESTS=tapset/ tests/run.sh
# A directory NAME.tapset/ holds library files for a test (stap -I NAME.tapset):
# they are not tests themselves.
#   # build: CMD         run CMD first, in the test's directory, with $T a fresh
#                        directory for what it builds (a test program: `# build:
#                        cc -g -o $T/prog prog.c`); stap's options may use $T,
#                        and NAME.out/.err write that directory as $T
# NAME.err names the tapset library's files tapset/FILE, wherever the
# checkout is.
set -u
cd "$(dirname "$0")/.."
B=${STAP_BUILD:-build}
STAP=$PWD/$B/stap
export STAPNG_TAPSET_DIR=$PWD/tapset
export STAPNG_RUNTIME_DIR=$PWD/runtime
export STAPNG_STAPRUN=$PWD/$B/staprun
export STAPNG_CACHE_DIR=${STAPNG_CACHE_DIR:-$(mktemp -d /tmp/stapng-test-cache.XXXXXX)}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
pass=0 fail=0 skip=0
failed=()
tmp=$(mktemp -d /tmp/stapng-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

ok()   { pass=$((pass + 1)); [ -n "${VERBOSE:-}" ] && echo "PASS $1"; return 0; }
bad()  { fail=$((fail + 1)); failed+=("$1"); echo "FAIL $1${2:+: $2}"; }

only=${TESTS:-}
selected() { [ -z "$only" ] || [[ "$1" =~ $only ]]; }

# --- unit tests: each binary prints "PASS name" / "FAIL name: why" lines
for t in "$B"/tests/test_*; do
	[ -z "$only" ] || break
	[ -x "$t" ] || continue
	out=$("$t" 2>&1); rc=$?
	while IFS= read -r line; do
		case "$line" in
		PASS\ *) ok "${t##*/}: ${line#PASS }" ;;
		FAIL\ *) bad "${t##*/}: ${line#FAIL }" ;;
		esac
	done <<<"$out"
	if [ $rc -ne 0 ] && ! grep -q '^FAIL ' <<<"$out"; then
		bad "${t##*/}" "exit $rc: $(tail -5 <<<"$out")"
	fi
done

directive() { sed -n "s/^# $1: *//p" "$2" | head -1; }

have() {
	case "$1" in
	root) [ "$(id -u)" = 0 ] ;;
	bpftrace) command -v bpftrace >/dev/null ;;
	tracefs) [ -e /sys/kernel/tracing/events ] ;;
	ipv6) grep -q "^00000000000000000000000000000001 " /proc/net/if_inet6 2>/dev/null ;; # ::1 on lo
	no-kfunc) ! "$PWD/$B/staprun" --features 2>/dev/null | grep -qE "^(kprobes|fentry)	yes" ;;
	*) return 0 ;;
	esac
}

# --- script tests
while IFS= read -r stp; do
	name=${stp#tests/scripts/}; name=${name%.stp}
	selected "$name" || continue
	base=${stp%.stp}
	opts=$(directive stap "$stp")
	want_rc=$(directive exit "$stp"); want_rc=${want_rc:-0}
	trigger=$(directive trigger "$stp")
	tmo=$(directive timeout "$stp"); tmo=${tmo:-30}
	needs=$(directive needs "$stp")
	missing=""
	for n in $needs; do have "$n" || missing="$missing $n"; done
	if [ -n "$missing" ]; then
		skip=$((skip + 1)); echo "SKIP $name (needs$missing)"; continue
	fi
	build=$(directive build "$stp")
	T=$tmp/build
	rm -rf "$T"; mkdir -p "$T"
	if [ -n "$build" ] && ! (cd "$(dirname "$stp")" && eval "$build") >"$tmp/build.log" 2>&1; then
		bad "script $name" "build failed: $(head -5 "$tmp/build.log")"; continue
	fi
	(cd "$(dirname "$stp")" && eval "exec timeout --preserve-status -s INT -k 5 $tmo \"$STAP\" $opts \"$(basename "$stp")\"") \
		>"$tmp/out" 2>"$tmp/err" &
	pid=$!
	if [ -n "$trigger" ]; then
		while kill -0 $pid 2>/dev/null; do (eval "$trigger") >/dev/null 2>&1; sleep 0.02; done
	fi
	wait $pid; rc=$?
	[ -n "$build" ] && sed -i "s|$T|\$T|g" "$tmp/out" "$tmp/err"
	# the library's files as the checkout names them, wherever it is
	sed -i "s|$STAPNG_TAPSET_DIR/|tapset/|g" "$tmp/err"
	why=""
	[ "$rc" = "$want_rc" ] || why="exit $rc, expected $want_rc"
	if [ -z "$why" ] && [ -f "$base.out" ] && ! cmp -s "$base.out" "$tmp/out"; then
		why="stdout differs: $(diff "$base.out" "$tmp/out" | head -20)"
	fi
	if [ -z "$why" ] && [ -f "$base.err" ] && ! cmp -s "$base.err" "$tmp/err"; then
		why="stderr differs: $(diff "$base.err" "$tmp/err" | head -20)"
	fi
	if [ -z "$why" ] && grep -q -E 'runtime error:|AddressSanitizer|LeakSanitizer' "$tmp/err"; then
		why="sanitizer: $(grep -m3 -E 'runtime error:|Sanitizer' "$tmp/err")"
	fi
	if [ -n "$why" ]; then bad "script $name" "$why"; [ -n "${VERBOSE:-}" ] && cat "$tmp/err"; else ok "script $name"; fi
done < <(find tests/scripts -name '*.stp' -not -path '*.tapset/*' | sort)

# --- -p1 round trip: printing, parsing that and printing again is identical
while IFS= read -r stp; do
	selected "${stp#tests/scripts/}" || continue
	[ "$(directive roundtrip "$stp")" = no ] && continue
	[ "$(directive exit "$stp")" = "" ] || [ "$(directive exit "$stp")" = 0 ] || continue
	(cd "$(dirname "$stp")" && "$STAP" -p1 "$(basename "$stp")") >"$tmp/p1a" 2>/dev/null || continue
	if ! "$STAP" -p1 "$tmp/p1a" >"$tmp/p1b" 2>"$tmp/p1err"; then
		bad "roundtrip ${stp#tests/scripts/}" "re-parse failed: $(head -5 "$tmp/p1err")"
	# line 2 names the file parsed, which differs by construction
	elif ! cmp -s <(sed 2d "$tmp/p1a") <(sed 2d "$tmp/p1b"); then
		bad "roundtrip ${stp#tests/scripts/}" "$(diff "$tmp/p1a" "$tmp/p1b" | head -10)"
	else
		ok "roundtrip ${stp#tests/scripts/}"
	fi
done < <(find tests/scripts -name '*.stp' -not -path '*.tapset/*' | sort)

# --- runtime tests: hand-written modules run by staprun (tests/runtime/run.sh)
if [ -x tests/runtime/run.sh ] && [ -z "$only" ]; then
	while IFS= read -r line; do
		case "$line" in
		PASS\ *) ok "runtime: ${line#PASS }" ;;
		FAIL\ *) bad "runtime: ${line#FAIL }" ;;
		SKIP\ *) skip=$((skip + 1)); echo "$line" ;;
		esac
	done < <(STAPRUN="$PWD/$B/staprun" tests/runtime/run.sh 2>&1)
fi

# --- session tests: output files, flight recorder, modules elsewhere,
#     privilege, temporary directories (tests/session/run.sh)
if [ -x tests/session/run.sh ] && [ -z "$only" ]; then
	while IFS= read -r line; do
		case "$line" in
		PASS\ *) ok "session: ${line#PASS }" ;;
		FAIL\ *) bad "session: ${line#FAIL }" ;;
		SKIP\ *) skip=$((skip + 1)); echo "$line" ;;
		esac
	done < <(STAP="$STAP" STAPRUN="$PWD/$B/staprun" tests/session/run.sh 2>&1)
fi

# --- kernel.function probes on a Debian kernel under qemu, which has what
#     this machine's kernel lacks (tests/qemu/run.sh; STAPNG_QEMU_TESTS=no skips)
if [ -n "$only" ]; then
	:
elif [ -x tests/qemu/run.sh ] && [ "${STAPNG_QEMU_TESTS:-yes}" != no ]; then
	while IFS= read -r line; do
		case "$line" in
		PASS\ *) ok "${line#PASS }" ;;
		FAIL\ *) bad "${line#FAIL }" ;;
		SKIP\ *) skip=$((skip + 1)); echo "$line" ;;
		esac
	done < <(STAP="$STAP" STAPRUN="$PWD/$B/staprun" tests/qemu/run.sh 2>&1)
elif [ -x tests/qemu/run.sh ]; then
	skip=$((skip + 1)); echo "SKIP qemu (STAPNG_QEMU_TESTS=no)"
fi

# --- fuzz the front end for a bounded time
if [ -x tests/fuzz/run.sh ] && [ -z "$only" ]; then
	if out=$(tests/fuzz/run.sh "${FUZZ_SECONDS:-20}" 2>&1); then ok "fuzz"; else bad "fuzz" "$(tail -20 <<<"$out")"; fi
fi

[ $skip -gt 0 ] && echo "($skip skipped)"
if [ $fail -gt 0 ]; then
	echo "failed:"; printf '  %s\n' "${failed[@]}"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
