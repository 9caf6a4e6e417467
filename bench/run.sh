#!/usr/bin/env bash
# Runs the benchmarks; each prints its figures as JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/bench
/usr/bin/python3 bench/core_bench.py "$@" | tee build/bench/core.json
/usr/bin/python3 bench/deps_bench.py | tee build/bench/deps.json
/usr/bin/python3 bench/preview_bench.py | tee build/bench/preview.json
/usr/bin/python3 bench/sync_bench.py | tee build/bench/sync.json
for b in build/bench/*; do
	[ -x "$b" ] && [ -f "$b" ] && "$b"
done
