#!/usr/bin/env bash
#
# packaging/images/postinstall.sh ROOTFS LANG: turn a freshly debootstrapped
# Debian root file system into a Petri sandbox image root, in place.
#
# Called by build.sh between debootstrap and `docker import`; runs on the host
# as root and only touches files below ROOTFS (no chroot, nothing executed
# from the image).  This file is part of every image's recipe hash, so any
# change here rebuilds all images.
#
#   - adds the sandbox user and group (uid/gid 61000, home /sandbox);
#   - creates /sandbox and /sandbox/deps owned by it, and /tmp (1777);
#   - clears set-uid/set-gid bits (containers also run with no-new-privileges);
#   - removes what a sandbox never uses: apt lists and caches, downloaded
#     .deb files, documentation (copyright files are kept), man and info
#     pages, translations, logs, device nodes (Docker provides /dev);
#   - neutralises host details debootstrap copied in (hostname, resolv.conf).
#
# Exit status: 0 on success; non-zero with a message on stderr otherwise.

set -euo pipefail

readonly SANDBOX_ID=61000
readonly SANDBOX_NAME=sandbox
readonly SANDBOX_HOME=/sandbox

prog=${0##*/}

die() {
	printf '%s: error: %s\n' "$prog" "$*" >&2
	exit 1
}

say() {
	printf '%s: %s\n' "$prog" "$*"
}

(($# == 2)) || die "usage: $prog ROOTFS LANG"
root=$1
lang=$2

[[ $root == /* && -d $root && -f $root/etc/passwd ]] ||
	die "$root is not a debootstrapped root file system"
[[ $(realpath "$root") != / ]] || die "refusing to work on the host's /"

# Nothing may be mounted below the root any more (debootstrap unmounts /proc
# and /sys when it finishes); deleting through a bind mount of the host's /dev
# would be a disaster.
if awk -v r="$root/" 'index($5 "/", r) == 1 { found = 1 } END { exit !found }' \
	/proc/self/mountinfo; then
	die "something is still mounted below $root"
fi

# ------------------------------------------------------------ sandbox user

# No other entry may use the name or the number already.
if grep -q -e "^$SANDBOX_NAME:" -e "^[^:]*:[^:]*:$SANDBOX_ID:" "$root/etc/passwd" ||
	grep -q -e "^$SANDBOX_NAME:" -e "^[^:]*:[^:]*:$SANDBOX_ID:" "$root/etc/group"; then
	die "$SANDBOX_NAME or id $SANDBOX_ID already present in $root/etc/passwd or group"
fi
printf '%s:x:%d:%d:Petri sandbox:%s:/bin/sh\n' \
	"$SANDBOX_NAME" "$SANDBOX_ID" "$SANDBOX_ID" "$SANDBOX_HOME" \
	>>"$root/etc/passwd"
printf '%s:x:%d:\n' "$SANDBOX_NAME" "$SANDBOX_ID" >>"$root/etc/group"
# Locked password; keeps pwck/grpck consistent.
if [[ -f $root/etc/shadow ]]; then
	printf '%s:!::::::\n' "$SANDBOX_NAME" >>"$root/etc/shadow"
fi
if [[ -f $root/etc/gshadow ]]; then
	printf '%s:!::\n' "$SANDBOX_NAME" >>"$root/etc/gshadow"
fi
say "$lang: added user $SANDBOX_NAME ($SANDBOX_ID:$SANDBOX_ID, home $SANDBOX_HOME)"

# ------------------------------------------------------------ directories

# /sandbox is where Petri mounts the workspace; /sandbox/deps is where the
# installed dependencies go.  Both exist in the image so that a container
# started without a workspace still has a writable-by-owner home.
install -d -m 0755 -o "$SANDBOX_ID" -g "$SANDBOX_ID" \
	"$root$SANDBOX_HOME" "$root$SANDBOX_HOME/deps"
install -d -m 1777 "$root/tmp" "$root/var/tmp"
chmod 1777 "$root/tmp" "$root/var/tmp"

# ------------------------------------------------------------ hardening

# Set-uid/set-gid programs (su, mount, passwd, ...) have no use in a sandbox
# that runs as an unprivileged uid.
while IFS= read -r -d '' f; do
	chmod ug-s "$f"
	say "$lang: cleared set-id bits on ${f#"$root"}"
done < <(find "$root" -xdev -type f -perm /6000 -print0)

# ------------------------------------------------------------ shrink

# apt: package lists, caches and the .deb files debootstrap downloaded.
find "$root/var/lib/apt/lists" -type f -delete
find "$root/var/cache/apt" -mindepth 1 -type f -delete
find "$root/var/cache/debconf" "$root/var/lib/dpkg" -maxdepth 1 \
	-name '*-old' -type f -delete
rm -f "$root/var/cache/ldconfig/aux-cache"

# Documentation: keep the copyright files (licences), drop the rest.
find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
for d in usr/share/man usr/share/info usr/share/lintian usr/share/linda; do
	[[ -d $root/$d ]] && find "$root/$d" -mindepth 1 -delete
done
# Message translations; the images run with LANG=C.UTF-8.
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -type d \
	-exec rm -rf --one-file-system {} +

# Logs of the installation itself.
find "$root/var/log" -type f -delete

# Docker provides /dev, /proc and /sys at run time.
for d in dev proc sys; do
	find "$root/$d" -mindepth 1 -xdev -delete
done

# ------------------------------------------------------------ host details

# debootstrap copies the build host's name and resolver configuration; Docker
# bind-mounts its own over them, but the image must not carry the host's.
# rm first: never write through a symbolic link pointing out of the root.
rm -f "$root/etc/hostname" "$root/etc/resolv.conf"
printf '%s\n' "$SANDBOX_NAME" >"$root/etc/hostname"
: >"$root/etc/resolv.conf"

say "$lang: post-install done"
