#!/usr/bin/env bash
# What the test suites need beyond `make run`'s host set-up: Debian's
# Chromium (browser tests), Node.js and npm (TypeScript client, MCP client,
# browser driver), python3-venv (the Python SDK is installed into a fresh
# venv), python3-yaml (docs/openapi.yaml, the Kubernetes manifests) and
# python3-jsonschema (the spec checked against real answers), mypy (the
# SDK's types), and the npm dev dependencies of each package.json
# the suites use, installed from their committed lock files.  Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

want=()
command -v chromium >/dev/null 2>&1 || want+=(chromium)
command -v node >/dev/null 2>&1 || want+=(nodejs)
command -v npm >/dev/null 2>&1 || want+=(npm)
for pkg in python3-venv python3-yaml python3-jsonschema mypy; do
	dpkg -s "$pkg" >/dev/null 2>&1 || want+=("$pkg")
done
# the compose file's check (packaging/compose/)
command -v docker-compose >/dev/null 2>&1 || want+=(docker-compose)
if ((${#want[@]} > 0)); then
	echo "setup-test-deps: installing ${want[*]}"
	log=$(mktemp /tmp/petri-test-apt.XXXXXX)
	if ! { apt-get update -q &&
		apt-get install -y -q --no-install-recommends "${want[@]}"; } \
		>"$log" 2>&1; then
		tail -n 30 "$log" >&2
		rm -f "$log"
		echo "setup-test-deps: apt-get failed" >&2
		exit 1
	fi
	rm -f "$log"
fi

for lock in tests/browser/package-lock.json tests/mcp/package-lock.json \
    clients/*/package-lock.json; do
	[ -f "$lock" ] || continue
	dir=$(dirname "$lock")
	echo "setup-test-deps: npm ci in $dir"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
done
echo "setup-test-deps: done"
