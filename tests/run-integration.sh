#!/usr/bin/env bash
# Runs the integration scenarios (tests/integration/test_*.py) against a
# petrid started by the harness on loopback.  Uses only Python's standard
# library (Debian's python3).
set -uo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 tests/integration/runner.py "$@"
