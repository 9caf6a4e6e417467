#!/usr/bin/env bash
# The whole suite: host set-up, build, unit tests, fuzz corpus replay,
# format check, integration scenarios against the real Docker engine.
# Ends with one line "N passed, N failed" over all suites.
set -uo pipefail
cd "$(dirname "$0")/.."

B=${BUILD:-build}
export BUILD=$B
passed=0
failed=0
log=$B/test-logs
mkdir -p "$log"

# adds the last "N passed, N failed" line of a suite's output file
tally() {
	local p q
	read -r p q < <(grep -oE '[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1 |
	    awk '{print $1, $3}')
	[ -n "${p:-}" ] || return 0
	passed=$((passed + p))
	failed=$((failed + q))
}

step() { printf '\n== %s\n' "$*"; }

step "host set-up"
if ! packaging/setup.sh; then
	echo "set-up failed"
	echo "0 passed, 1 failed"
	exit 1
fi
if ! packaging/images/build.sh; then
	echo "sandbox images failed to build"
	echo "0 passed, 1 failed"
	exit 1
fi

if ! tests/setup-test-deps.sh; then
	echo "test dependencies failed to install"
	echo "0 passed, 1 failed"
	exit 1
fi

step "build (${SANITIZER:+SANITIZER=$SANITIZER })"
if ! make -j2 BUILD="$B" SANITIZER="${SANITIZER:-}" test-bins >"$log/build.txt" 2>&1; then
	tail -50 "$log/build.txt"
	echo "0 passed, 1 failed"
	exit 1
fi

step "unit tests (make unit)"
out="$log/unit.txt"
make -s --no-print-directory BUILD="$B" SANITIZER="${SANITIZER:-}" unit 2>&1 |
    tee "$out"
tally "$out"

step "fuzz corpus replay (make fuzz-replay)"
out="$log/fuzz-replay.txt"
make -s --no-print-directory BUILD="$B" SANITIZER="${SANITIZER:-}" \
    fuzz-replay 2>&1 | tee "$out"
tally "$out"

step "format check"
if make -s format-check >"$log/format.txt" 2>&1; then
	passed=$((passed + 1)); echo "format-check: clean"
else
	failed=$((failed + 1)); head -20 "$log/format.txt"
fi

step "api layering (make layers-check)"
if make -s layers-check >"$log/layers.txt" 2>&1; then
	passed=$((passed + 1)); echo "layers-check: clean"
else
	failed=$((failed + 1)); cat "$log/layers.txt"
fi

step "Kubernetes manifests (structure)"
out="$log/manifests.txt"
/usr/bin/python3 tests/check-manifests.py >"$out" 2>&1
grep -v '^PASS' "$out"
tally "$out"

step "integration (real Docker engine)"
out="$log/integration.txt"
tests/run-integration.sh 2>&1 | tee "$out"
tally "$out"

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
