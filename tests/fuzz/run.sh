#!/bin/bash
# Fuzz the front end (lex, preprocess, parse, unparse) for SECONDS seconds.
# Builds build/fuzz/fuzz_parse with clang's libFuzzer, ASan and UBSan; the
# seed corpus is every script in tests/scripts.  Exits non-zero on any
# finding (crash, sanitizer report, timeout, -p1 round-trip mismatch);
# the input that caused it is left in build/fuzz/.
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=build/fuzz
mkdir -p "$out/corpus"
srcs="src/lex.c src/preprocess.c src/parse.c src/unparse.c src/util.c src/diag.c src/session.c"
clang -std=gnu11 -g -O1 -D_GNU_SOURCE -Isrc -Iruntime \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-o "$out/fuzz_parse" tests/fuzz/fuzz_parse.c $srcs -lz
# seeds: the script tests (fresh copies, so renamed tests do not linger)
rm -rf "$out/seeds"
mkdir -p "$out/seeds"
find tests/scripts -name '*.stp' | while read -r f; do
	cp "$f" "$out/seeds/$(echo "$f" | tr / _)"
done
cd "$out"
ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
	./fuzz_parse -max_total_time="$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
	-close_fd_mask=2 corpus seeds 2>fuzz.log || {
	tail -40 fuzz.log
	exit 1
}
tail -3 fuzz.log
