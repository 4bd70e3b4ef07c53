#!/bin/bash
# Pass-1 speed: `stap -p1` on a generated 100,000-line script (lex,
# preprocess, parse and print it back), best of 5 runs.
# Goal (issue 2): under 100 ms.  Prints wall time, lines/s, peak RSS.
#
#   bench/parse.sh [LINES]        STAP=path/to/stap to measure another build
set -eu
cd "$(dirname "$0")/.."
STAP=${STAP:-build/stap}
lines=${1:-100000}
goal_ms=100
runs=5
tmp=$(mktemp -d /tmp/stapng-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 bench/gen_parse_input.py "$lines" >"$tmp/big.stp"
"$STAP" -p1 "$tmp/big.stp" >"$tmp/out" || { echo "parse: FAILED (stap -p1 exit $?)"; exit 1; }
lines=$(wc -l <"$tmp/big.stp")
bytes=$(wc -c <"$tmp/big.stp")

best=
for _ in $(seq $runs); do
	start=$(date +%s%N)
	"$STAP" -p1 "$tmp/big.stp" >/dev/null
	end=$(date +%s%N)
	ns=$((end - start))
	if [ -z "$best" ] || [ "$ns" -lt "$best" ]; then best=$ns; fi
done

# peak resident set size of one more run (GNU time's %M, in KB)
rss_kb=
if [ -x /usr/bin/time ]; then
	rss_kb=$(/usr/bin/time -f %M "$STAP" -p1 "$tmp/big.stp" 2>&1 >/dev/null | tail -1)
fi

ms=$(awk -v ns="$best" 'BEGIN { printf "%.1f", ns / 1e6 }')
lps=$(awk -v ns="$best" -v n="$lines" 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
mbs=$(awk -v ns="$best" -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 / (ns / 1e9) }')
echo "parse: stap -p1 of $lines lines ($((bytes / 1024)) KB), best of $runs:"
printf '  %-10s %s ms\n' "time" "$ms"
printf '  %-10s %s lines/s (%s MB/s)\n' "speed" "$lps" "$mbs"
if [ -n "$rss_kb" ]; then
	printf '  %-10s %s MB\n' "peak RSS" "$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')"
fi
if awk -v ms="$ms" -v g="$goal_ms" 'BEGIN { exit !(ms < g) }'; then
	echo "  goal       < $goal_ms ms: met"
else
	echo "  goal       < $goal_ms ms: NOT met"
fi
