#!/usr/bin/env bash
# Runs unit test binaries (the arguments, or every one under $BUILD/tests/unit)
# and ends with one line "N passed, N failed" summed over them.  A binary
# that dies before printing its own summary counts as one failure.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
log=$B/test-logs
mkdir -p "$log"
if [ $# -eq 0 ]; then
	set -- $(find "$B/tests/unit" -type f -perm -u+x ! -name '*.d' | sort)
fi
passed=0
failed=0
for t in "$@"; do
	out="$log/$(echo "$t" | tr / _).txt"
	if ! "$t" >"$out" 2>&1; then
		echo "FAIL: $t"
		tail -20 "$out"
	fi
	line=$(grep -oE '[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	if [ -z "$line" ]; then
		echo "FAIL: $t printed no summary"
		failed=$((failed + 1))
		continue
	fi
	echo "$t: $line"
	read -r p _ q _ <<<"$line"
	passed=$((passed + p))
	failed=$((failed + q))
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
