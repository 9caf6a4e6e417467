#!/bin/sh
# Petri: dependencies of a Go project (docs/deps.md).  Runs in the sandbox
# as the sandbox user, through the egress proxy (GOPROXY: the configured
# registry).  $1: "auto" or "only".  go.mod: go mod download (into
# GOMODCACHE under /sandbox/.petri); no go.mod: go mod init + go mod tidy.
# Prints the log, then one line "@@PETRI-DEPS@@ {json}" listing go.sum's
# modules for the SBOM.
mode=${1:-auto}
mkdir -p /sandbox/.petri
manifest=null
code=0
ran=false
if [ -f go.mod ]; then
	manifest='"go.mod"'
else
	if ls ./*.go >/dev/null 2>&1; then
		ran=true
		echo '$ go mod init sandbox.petri/app && go mod tidy'
		go mod init sandbox.petri/app 2>&1 &&
			go mod tidy > /sandbox/.petri/go-deps.log 2>&1 || code=$?
		cat /sandbox/.petri/go-deps.log 2>/dev/null
	fi
fi
if [ -f go.mod ] && [ "$code" -eq 0 ]; then
	key=$(cat go.mod go.sum 2>/dev/null | sha256sum | cut -c1-64)
	have=$(cat /sandbox/.petri/gomod/.petri-key 2>/dev/null)
	if [ "$key" != "$have" ] || [ "$mode" = only ]; then
		ran=true
		echo '$ go mod download'
		if go mod download > /sandbox/.petri/go-deps.log 2>&1; then
			cat /sandbox/.petri/go-deps.log
			mkdir -p /sandbox/.petri/gomod &&
				echo "$key" > /sandbox/.petri/gomod/.petri-key
		else
			cat /sandbox/.petri/go-deps.log
			code=1
		fi
	fi
fi
if [ "$code" -ne 0 ] && [ -n "$PETRI_REGISTRY_UNSET" ] &&
	grep -q 'module lookup disabled' /sandbox/.petri/go-deps.log 2>/dev/null; then
	# GOPROXY=off: no module proxy is configured; name the modules the
	# go tool could not look up, and say so instead of a failed install
	missing=$(awk '
	/module lookup disabled/ {
		for (i = 1; i <= NF; i++)
			if ($i ~ /:$/ && $i !~ /^go:$/) {
				m = $i; sub(/:$/, "", m); sub(/@.*/, "", m)
				gsub(/[^A-Za-z0-9._~\/-]/, "", m)
				if (m != "" && !(m in seen) && n < 256) {
					seen[m] = 1; n++
					printf "%s\"%s\"", sep, m; sep = ","
				}
				break
			}
	}' /sandbox/.petri/go-deps.log 2>/dev/null)
	rm -f /sandbox/.petri/go-deps.log
	echo "petri: no Go module proxy is configured ($PETRI_REGISTRY_UNSET)"
	printf '\n@@PETRI-DEPS@@ {"manifest":%s,"ran":false,"exit_code":0,"registry_unset":"%s","missing":[%s],"components":[]}\n' \
		"$manifest" "$PETRI_REGISTRY_UNSET" "$missing"
	exit 0
fi
rm -f /sandbox/.petri/go-deps.log
# the build list (go list -m all: the main module first, without a
# version), else go.sum
comps=$(go list -m all 2>/dev/null | awk '
	NR > 1 && NF >= 2 {
		gsub(/[\\"]/, "", $1); gsub(/[\\"]/, "", $2)
		printf "%s{\"eco\":\"golang\",\"name\":\"%s\",\"version\":\"%s\"}", sep, $1, $2
		sep = ","
	}')
[ -n "$comps" ] || comps=$(
	[ -f go.sum ] && awk '
	$2 !~ /\/go\.mod$/ && NF == 3 {
		gsub(/[\\"]/, "", $1); gsub(/[\\"]/, "", $2)
		k = $1 " " $2
		if (!(k in seen)) {
			seen[k] = 1
			printf "%s{\"eco\":\"golang\",\"name\":\"%s\",\"version\":\"%s\"}", sep, $1, $2
			sep = ","
		}
	}' go.sum
)
printf '\n@@PETRI-DEPS@@ {"manifest":%s,"ran":%s,"exit_code":%d,"missing":[],"components":[%s]}\n' \
	"$manifest" "$ran" "$code" "$comps"
