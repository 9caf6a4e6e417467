#!/usr/bin/env bash
#
# tests/deb/image.sh: build (once) the image the Debian package test runs
# in: Debian bookworm with systemd as PID 1 and the package's run-time
# dependencies preinstalled (debootstrap + apt in the root + docker
# import, as the sandbox images are made).  Tagged
# petri-test/systemd:<recipe hash> (a SHA-256 over this script and
# systemd.list); an image with that tag is not built again.  Prints the
# tag.  Needs root.  PETRI_DEBIAN_MIRROR overrides the mirror (default:
# the host's first bookworm "deb" source).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE SUITE=bookworm
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

die() { printf 'image.sh: error: %s\n' "$*" >&2; exit 1; }

hash=$(cat "$HERE/image.sh" "$HERE/systemd.list" | sha256sum | cut -c1-12)
ref=petri-test/systemd:$hash
if docker image inspect "$ref" >/dev/null 2>&1; then
	printf '%s\n' "$ref"
	exit 0
fi

mirror=${PETRI_DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
	mirror=$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
fi
if [[ -z $mirror ]]; then
	mirror=$(awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' \
		/etc/apt/sources.list 2>/dev/null || true)
fi
[[ $mirror =~ ^https?:// ]] || die "no usable Debian mirror; set PETRI_DEBIAN_MIRROR"

work=$(mktemp -d /var/tmp/petri-systemd-image.XXXXXX)
cleanup() {
	umount "$work/root/proc" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
pkgs=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$HERE/systemd.list" | awk NF)
debootstrap --variant=minbase --keyring="$KEYRING" "$SUITE" "$work/root" "$mirror" \
	>"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
printf '#!/bin/sh\nexit 101\n' >"$work/root/usr/sbin/policy-rc.d"
chmod 0755 "$work/root/usr/sbin/policy-rc.d"
mount -t proc proc "$work/root/proc"
apt=(chroot "$work/root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
	DEBIAN_FRONTEND=noninteractive apt-get -q -o Acquire::Retries=3)
"${apt[@]}" update >"$work/apt.log" 2>&1 &&
	"${apt[@]}" install -y --no-install-recommends $pkgs >>"$work/apt.log" 2>&1 ||
	{ tail -20 "$work/apt.log" >&2; die "apt-get install failed"; }
"${apt[@]}" clean
umount "$work/root/proc"
rm -f "$work/root/usr/sbin/policy-rc.d"
# the host's engine serves the sandboxes: none of its own in here
for u in docker.service docker.socket containerd.service; do
	ln -sf /dev/null "$work/root/etc/systemd/system/$u"
done
# no getty, no udev settle: a container
for u in getty@tty1.service console-getty.service systemd-udevd.service \
	systemd-udev-trigger.service systemd-networkd-wait-online.service; do
	ln -sf /dev/null "$work/root/etc/systemd/system/$u"
done
tar --numeric-owner -C "$work/root" -cf - . |
	docker import --message "petri package test image" \
		--change 'CMD ["/sbin/init"]' --change 'ENV container=docker' \
		- "$ref" >/dev/null
printf '%s\n' "$ref"
