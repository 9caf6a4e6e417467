#!/usr/bin/env bash
#
# packaging/debian/build.sh: `make deb`.  Builds petri_<version>_<arch>.deb
# into build/ with dpkg-buildpackage and debhelper (installed from Debian
# when missing), from the files git tracks in the working tree.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly ROOT
readonly WORK=$ROOT/build/deb
readonly NEED="debhelper devscripts dpkg-dev fakeroot"

prog=${0##*/}
say() { printf '%s: %s\n' "$prog" "$*"; }
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }

missing=""
for p in $NEED; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' ||
		missing="$missing $p"
done
if [[ -n $missing ]]; then
	[[ $(id -u) -eq 0 ]] || die "missing Debian packages:$missing (run as root)"
	say "installing$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null
fi

version=$(dpkg-parsechangelog -l "$ROOT/packaging/debian/changelog" -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
src=$WORK/petri-${version%-*}
rm -rf "$WORK"
mkdir -p "$src"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src")
cp -r "$ROOT/packaging/debian" "$src/debian"
rm -f "$src/debian/build.sh"
cp "$ROOT/packaging/systemd/petri.service" "$src/debian/petri.service"
(cd "$src" && dpkg-buildpackage -us -uc -b -j2 >"$WORK/build.log" 2>&1) ||
	{ tail -30 "$WORK/build.log" >&2; die "dpkg-buildpackage failed (log: $WORK/build.log)"; }
mv "$WORK/petri_${version}_${arch}.deb" "$ROOT/build/"
say "built build/petri_${version}_${arch}.deb"
