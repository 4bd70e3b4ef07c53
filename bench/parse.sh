#!/bin/bash
# Pass-1 speed: `stap -p1` on a generated 100,000-line script (lex,
# preprocess, parse and print it back), best and median of 10 runs.
# Goal (issue 2): under 100 ms.  Prints wall time, lines/s, peak RSS, and
# the instruction count (callgrind, when valgrind is installed: unlike
# the time, it does not depend on what else the machine is doing).
#
#   bench/parse.sh [LINES]        STAP=path/to/stap to measure another build
#                                 NO_CALLGRIND=1 to leave the count out
set -eu
cd "$(dirname "$0")/.."
STAP=${STAP:-build/stap}
lines=${1:-100000}
goal_ms=100
runs=10
tmp=$(mktemp -d /tmp/stapng-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 bench/gen_parse_input.py "$lines" >"$tmp/big.stp"
"$STAP" -p1 "$tmp/big.stp" >"$tmp/out" || { echo "parse: FAILED (stap -p1 exit $?)"; exit 1; }
lines=$(wc -l <"$tmp/big.stp")
bytes=$(wc -c <"$tmp/big.stp")

for _ in $(seq $runs); do
	start=$(date +%s%N)
	"$STAP" -p1 "$tmp/big.stp" >/dev/null
	end=$(date +%s%N)
	echo $((end - start))
done | sort -n >"$tmp/times"
best=$(head -1 "$tmp/times")
median=$(awk '{ t[NR] = $1 } END { print int((t[int((NR + 1) / 2)] + t[int(NR / 2) + 1]) / 2) }' "$tmp/times")

# peak resident set size of one more run (GNU time's %M, in KB)
rss_kb=
if [ -x /usr/bin/time ]; then
	rss_kb=$(/usr/bin/time -f %M "$STAP" -p1 "$tmp/big.stp" 2>&1 >/dev/null | tail -1)
fi

instr=
if [ -z "${NO_CALLGRIND:-}" ] && command -v valgrind >/dev/null; then
	instr=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$STAP" -p1 "$tmp/big.stp" 2>&1 >/dev/null |
		sed -n 's/.*Collected : *\([0-9]*\).*/\1/p')
fi

ms() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e6 }'; }
lps=$(awk -v ns="$best" -v n="$lines" 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
mbs=$(awk -v ns="$best" -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 / (ns / 1e9) }')
echo "parse: stap -p1 of $lines lines ($((bytes / 1024)) KB), $runs runs:"
printf '  %-12s %s ms (median %s ms)\n' "time" "$(ms "$best")" "$(ms "$median")"
printf '  %-12s %s lines/s (%s MB/s)\n' "speed" "$lps" "$mbs"
if [ -n "$rss_kb" ]; then
	printf '  %-12s %s MB\n' "peak RSS" "$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')"
fi
if [ -n "$instr" ]; then
	printf '  %-12s %sM (%s per line)\n' "instructions" "$(awk -v i="$instr" 'BEGIN { printf "%.1f", i / 1e6 }')" \
		"$(awk -v i="$instr" -v n="$lines" 'BEGIN { printf "%.0f", i / n }')"
fi
if awk -v ns="$best" -v g="$goal_ms" 'BEGIN { exit !(ns / 1e6 < g) }'; then
	echo "  goal         < $goal_ms ms: met"
else
	echo "  goal         < $goal_ms ms: NOT met"
fi
