#!/bin/sh
# api-callgraph.sh: which api file calls functions defined in which other
# api file.  Prints "caller -> callee (n functions: f, g, ...)" for every
# pair, then the pairs that run both ways (import circles).  Definitions
# come from ctags (non-static functions, --extras=-F); a call is a word followed by "(".
# With --check it prints only the last two lists and fails when either is
# not empty (make layers-check).
# Usage: tools/api-callgraph.sh [--check] [folder]   (default appliance/api)
set -eu
check=0
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi
dir=${1:-appliance/api}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# name file: every non-static function definition in the folder
ctags -x --c-kinds=f --extras=-F "$dir"/*.c | while read -r name _kind _line file _rest; do
	printf '%s %s\n' "$name" "$(basename "$file")"
done | sort -u >"$tmp/defs"
: >"$tmp/edges"
for f in "$dir"/*.c; do
	b=$(basename "$f")
	# words used as calls (or taken as function pointers in tables)
	# (comments and string literals left out)
	perl -0777 -pe 's{/\*.*?\*/}{}gs; s{"(\\.|[^"\\\n])*"}{""}g' "$f" |
	    grep -oE '\b[a-z_][a-z0-9_]*\b' | sort -u >"$tmp/words"
	join "$tmp/words" "$tmp/defs" | while read -r fn def; do
		[ "$def" = "$b" ] && continue
		printf '%s %s %s\n' "$b" "$def" "$fn"
	done >>"$tmp/edges"
done
[ "$check" -eq 1 ] ||
    awk '{k=$1" -> "$2; n[k]++; l[k]=l[k] (l[k]?", ":"") $3}
     END {for (k in n) printf "%s (%d: %s)\n", k, n[k], l[k]}' "$tmp/edges" |
    sort
echo "--- both ways (circles):"
awk '{print $1, $2}' "$tmp/edges" | sort -u >"$tmp/pairs"
awk '{print $2, $1}' "$tmp/pairs" | sort -u | comm -12 - "$tmp/pairs" |
    awk '$1 < $2 {print $1 " <-> " $2; c++} END {print (c+0) " pairs"}' |
    tee "$tmp/circles"
# the route handlers' files, by resource: none may call another
handlers=${HANDLERS:-"api_sandbox.c api_files.c api_exec.c api_execs.c api_egress.c
    api_audit.c api_keys.c api_ops.c api_sync.c"}
echo "--- handler file -> handler file:"
for h in $handlers; do printf '%s\n' "$h"; done | sort >"$tmp/handlers"
sort -k1,1 "$tmp/pairs" | join - "$tmp/handlers" | sort -k2,2 |
    join -1 2 -2 1 - "$tmp/handlers" |
    awk '{print $2 " -> " $1; c++} END {print (c+0) " edges"}' |
    tee "$tmp/hedges"
if [ "$check" -eq 1 ]; then
	if [ "$(tail -1 "$tmp/circles")" != "0 pairs" ] ||
	    [ "$(tail -1 "$tmp/hedges")" != "0 edges" ]; then
		echo "layers-check: the api's layering is broken (see above)"
		exit 1
	fi
	echo "layers-check: clean"
fi
