#!/usr/bin/env bash
# Replays each fuzz target's committed corpus (tests/fuzz/corpus/NAME) through
# its replay binary (the arguments, or every $BUILD/tests/fuzz/replay-*), one
# test per target, and ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
log=$B/test-logs
mkdir -p "$log"
if [ $# -eq 0 ]; then
	set -- $(find "$B/tests/fuzz" -type f -perm -u+x -name 'replay-*' \
	    ! -name '*.d' | sort)
fi
passed=0
failed=0
for t in "$@"; do
	name=${t##*/replay-}
	out="$log/fuzz-$name.txt"
	if [ ! -d "tests/fuzz/corpus/$name" ]; then
		echo "FAIL: fuzz $name has no committed corpus"
		failed=$((failed + 1))
	elif "$t" "tests/fuzz/corpus/$name" >"$out" 2>&1; then
		echo "fuzz $name: $(tail -1 "$out")"
		passed=$((passed + 1))
	else
		echo "FAIL: fuzz $name"
		tail -20 "$out"
		failed=$((failed + 1))
	fi
done
echo "fuzz-replay: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
