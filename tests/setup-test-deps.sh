#!/usr/bin/env bash
# What the test suites need beyond `make run`'s host set-up: Debian's
# Chromium (browser tests), Node.js and npm (TypeScript client, MCP client,
# browser driver), and the npm dev dependencies of each package.json the
# suites use, installed from their committed lock files.  Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

want=()
command -v chromium >/dev/null 2>&1 || want+=(chromium)
command -v node >/dev/null 2>&1 || want+=(nodejs)
command -v npm >/dev/null 2>&1 || want+=(npm)
/usr/bin/python3 -c 'import yaml' 2>/dev/null || want+=(python3-yaml)
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
