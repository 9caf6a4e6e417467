#!/usr/bin/env bash
#
# packaging/images/build.sh [LANG ...]: build Petri's sandbox images locally
# from Debian packages (debootstrap + `docker import`); no image registry is
# used.  LANG is one of: python node go java (default: all four).
#
# Per image: debootstrap --variant=minbase --include=<common.list> bookworm,
# then apt-get install <LANG.list> inside the new root (debootstrap's own
# resolver cannot satisfy virtual packages, which npm depends on), then
# postinstall.sh, then `tar | docker import` with the image configuration.
#
# Each image is tagged petri/<lang>:<recipe hash> and petri/<lang>:current.
# The recipe hash is the first 12 hex digits of a SHA-256 over <lang>.list,
# common.list, postinstall.sh and this script; an image whose hash tag exists
# already is not rebuilt, so running this again is fast and changes nothing.
# A new image is started once (no network, read-only, as uid 61000) to check
# that its language runtime works before it becomes :current.  Older images
# are left alone (running sandboxes may still use them).
#
# Environment:
#   PETRI_DEBIAN_MIRROR   Debian mirror for debootstrap (default: the one in
#                         the host's apt sources for bookworm)
#   PETRI_IMAGE_JOBS      parallel builds (default 2)
#
# Builds need root (debootstrap); checking existing images only needs Docker.
# Logs of each build: /var/log/petri-images/<lang>.log.
# Exit status: 0 when every requested image exists and works, 1 otherwise.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly ALL_LANGS="python node go java"
readonly SUITE=bookworm
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
readonly SANDBOX_ID=61000
readonly MAX_JOBS=${PETRI_IMAGE_JOBS:-2}
readonly LOG_DIR=/var/log/petri-images
readonly LOCK_FILE=/run/lock/petri-images.lock
readonly VERIFY_TIMEOUT=120
# Files whose content defines an image (besides <lang>.list).
readonly RECIPE_FILES="build.sh postinstall.sh common.list"

prog=${0##*/}
WORK=""              # temporary build directory, removed on exit
declare -A JOB_LANG=()  # pid -> lang of each running build
declare -A RESULT=()    # lang -> "built|cached|FAILED seconds size"
declare -A HASH=()      # lang -> recipe hash

# ---------------------------------------------------------------- helpers

say() {
	printf '%s: %s\n' "$prog" "$*"
}

die() {
	printf '%s: error: %s\n' "$prog" "$*" >&2
	exit 1
}

# recipe_hash LANG: print the 12-hex-digit recipe hash of LANG's image.
recipe_hash() {
	local lang=$1 f
	{
		printf 'petri sandbox image recipe\nlang %s\n' "$lang"
		for f in $RECIPE_FILES "$lang.list"; do
			printf '== %s\n' "$f"
			cat "$HERE/$f" || die "cannot read $HERE/$f"
		done
	} | sha256sum | cut -c1-12
}

# read_list NAME...: print the packages listed in NAME.list..., one a line,
# comments and duplicates removed.
read_list() {
	local name
	for name in "$@"; do
		[[ -r $HERE/$name.list ]] || die "cannot read $HERE/$name.list"
		sed -e 's/#.*//' -e 's/[[:space:]]//g' "$HERE/$name.list"
	done | awk 'NF && !seen[$0]++'
}

# image_id REF: print the image id of REF, or fail when it does not exist.
image_id() {
	docker image inspect --format '{{.Id}}' "$1" 2>/dev/null
}

# image_size_mb REF: print the size of image REF in MB.
image_size_mb() {
	local bytes
	bytes=$(docker image inspect --format '{{.Size}}' "$1")
	printf '%d\n' $(((bytes + 500000) / 1000000))
}

# tag_current LANG REF: make petri/LANG:current point at REF (no-op when it
# does already).  Prints what it did.
tag_current() {
	local lang=$1 ref=$2 want have
	want=$(image_id "$ref")
	have=$(image_id "petri/$lang:current" || true)
	if [[ $have == "$want" ]]; then
		return 0
	fi
	docker tag "$ref" "petri/$lang:current"
	say "$lang: petri/$lang:current -> $ref"
}

# debian_mirror: print the Debian mirror for $SUITE: $PETRI_DEBIAN_MIRROR, else
# the first "deb" source for the suite in the host's apt configuration
# (one-line sources.list files, then deb822 *.sources files).
debian_mirror() {
	local f uri=${PETRI_DEBIAN_MIRROR:-}

	# One-line style: deb [options] URI SUITE COMPONENT...
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -z $uri && -r $f ]] || continue
		uri=$(awk -v suite="$SUITE" '
			$1 == "deb" {
				i = 2
				if ($i ~ /^\[/) {
					while (i <= NF && $i !~ /\]$/)
						i++
					i++
				}
				if ($(i + 1) == suite) {
					print $i
					exit
				}
			}' "$f")
	done
	# deb822 style: paragraphs of "Field: value" lines.
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -z $uri && -r $f ]] || continue
		uri=$(awk -v suite="$SUITE" '
			BEGIN { RS = ""; FS = "\n" }
			{
				types = uris = suites = ""
				enabled = "yes"
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^#/ || !match($i, /^[A-Za-z-]+:/))
						continue
					key = tolower(substr($i, 1, RLENGTH - 1))
					val = substr($i, RLENGTH + 1)
					if (key == "types") types = val
					else if (key == "uris") uris = val
					else if (key == "suites") suites = val
					else if (key == "enabled") enabled = val
				}
				if (enabled ~ /no/)
					next
				nt = split(types, t, /[ \t]+/)
				ns = split(suites, s, /[ \t]+/)
				split(uris, u, /[ \t]+/)
				for (a = 1; a <= nt; a++)
					for (b = 1; b <= ns; b++)
						if (t[a] == "deb" && s[b] == suite) {
							print (u[1] != "" ? u[1] : u[2])
							exit
						}
			}' "$f")
	done
	[[ -n $uri ]] ||
		die "no Debian '$SUITE' source in /etc/apt/sources.list*; set PETRI_DEBIAN_MIRROR"
	[[ $uri =~ ^(https?|ftp|file):// ]] ||
		die "Debian mirror '$uri' is not usable by debootstrap; set PETRI_DEBIAN_MIRROR"
	printf '%s\n' "$uri"
}

# unmount_below DIR: unmount everything mounted below DIR, deepest first.
unmount_below() {
	local mp
	while IFS= read -r mp; do
		umount "$mp" 2>/dev/null || umount -l "$mp" || true
	done < <(awk -v r="$1/" 'index($5 "/", r) == 1 { print $5 }' \
		/proc/self/mountinfo | sort -r)
}

# remove_tree DIR: unmount what is below DIR, then delete it, never crossing
# into another file system.
remove_tree() {
	[[ -n $1 && -d $1 ]] || return 0
	unmount_below "$1"
	rm -rf --one-file-system "$1"
}

# cleanup: EXIT trap of the main shell.  Stops builds still running (only on
# error or signal), then removes the temporary directory.
cleanup() {
	local pid
	trap - EXIT INT TERM
	for pid in "${!JOB_LANG[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${!JOB_LANG[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	remove_tree "$WORK"
}

# ---------------------------------------------------------------- one build

# Runs in a background subshell; stdout/stderr go to the build log, fd 3 is
# the terminal.  The main shell stops a build with SIGTERM (asynchronous
# commands ignore SIGINT in scripts).  Each long step runs in its own process
# group (job control on), so that the whole step, debootstrap's and dpkg's
# children included, can be stopped before the build directory is removed.
child=""          # process group of the running step
check_name=""     # name of the verification container while it runs

# progress MSG: say MSG in the build log and on the terminal.  (Not with
# tee /dev/fd/3: opening /dev/fd/3 anew would truncate a redirected stdout.)
progress() {
	say "$*"
	say "$*" >&3
}

# group_alive PGID: true while a live (not zombie) process is in group PGID.
group_alive() {
	ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'
}

# job_abort: TERM handler of a build.  The build is being thrown away, so its
# step is killed outright; returns once the step's processes are gone (or
# after 10 s).
job_abort() {
	local i
	trap - TERM
	if [[ -n $child ]]; then
		kill -KILL -- "-$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			group_alive "$child" || break
			sleep 0.2
		done
	fi
	if [[ -n $check_name ]]; then
		docker rm -f "$check_name" >/dev/null 2>&1 || true
	fi
	exit 143
}

# run_child CMD...: run CMD in its own process group, which job_abort can
# stop as a whole; return CMD's exit status.
run_child() {
	local rc=0
	set -m
	"$@" </dev/null 9>&- &
	child=$!
	set +m
	wait "$child" || rc=$?
	child=""
	return "$rc"
}

# chroot_apt_install ROOT PKG...: install PKG... and their dependencies into
# ROOT with apt from ROOT's own sources (the mirror debootstrap used).  apt's
# resolver, unlike debootstrap's, handles virtual packages (npm needs that).
chroot_apt_install() {
	local root=$1
	local -a apt=(chroot "$root" /usr/bin/env -i
		PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
		DEBIAN_FRONTEND=noninteractive apt-get -q -o Acquire::Retries=3)
	shift

	# No service may start inside the root; some maintainer scripts need
	# /proc (the JDK's, for one).
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	mount -t proc proc "$root/proc"
	"${apt[@]}" update
	"${apt[@]}" install -y --no-install-recommends "$@"
	"${apt[@]}" clean
	umount "$root/proc"
	rm -f "$root/usr/sbin/policy-rc.d"
}

# import_rootfs ROOT REF CHANGE...: docker import ROOT as REF.
import_rootfs() {
	local root=$1 ref=$2
	shift 2
	tar --numeric-owner -C "$root" -cf - . |
		docker import --message "petri sandbox image $ref" "$@" - "$ref"
}

# verify_image LANG REF: start REF once the way Petri starts sandboxes
# (no network, read-only root, tmpfs /tmp, uid 61000) and run its runtime.
verify_image() {
	local lang=$1 ref=$2 name rc=0
	local -a cmd
	case $lang in
	python) cmd=(python3 -c 'print(1)') ;;
	node) cmd=(node -e 'console.log(1)') ;;
	go) cmd=(go version) ;;
	java) cmd=(java -version) ;;
	*) die "$lang: no verification command" ;;
	esac
	# Our own name, so that only this container is ever removed.
	name=petri-image-check-$lang-$BASHPID
	check_name=$name
	run_child timeout "$VERIFY_TIMEOUT" docker run --rm --name "$name" \
		--network none --user "$SANDBOX_ID:$SANDBOX_ID" \
		--read-only --tmpfs /tmp "$ref" "${cmd[@]}" || rc=$?
	if ((rc != 0)); then
		docker rm -f "$name" >/dev/null 2>&1 || true
	fi
	check_name=""
	return "$rc"
}

# build_one LANG HASH MIRROR: build, verify and tag petri/LANG:HASH; write
# "built SECONDS SIZE_MB" to $WORK/LANG.result.
build_one() {
	local lang=$1 hash=$2 mirror=$3
	local ref=petri/$lang:$hash root=$WORK/$lang
	local start=$SECONDS base java_home size
	local -a changes pkgs

	trap - EXIT
	trap job_abort TERM

	# Two stages: debootstrap lays down minbase plus the common packages,
	# then apt in the new root installs the language's packages.
	base=$(read_list common | paste -sd, -)
	mapfile -t pkgs < <(read_list "$lang")
	((${#pkgs[@]} > 0)) || die "$lang: $lang.list names no package"
	progress "$lang: debootstrap $SUITE minbase + $base"
	mkdir -p "$root"
	if ! run_child debootstrap --variant=minbase --keyring="$KEYRING" \
		--include="$base" "$SUITE" "$root" "$mirror"; then
		tail -n 40 "$root/debootstrap/debootstrap.log" 2>/dev/null || true
		die "$lang: debootstrap failed"
	fi
	progress "$lang: apt-get install ${pkgs[*]}"
	run_child chroot_apt_install "$root" "${pkgs[@]}"

	changes=(
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
		--change 'ENV HOME=/sandbox'
		--change 'ENV LANG=C.UTF-8'
		--change 'WORKDIR /sandbox'
		--change "USER $SANDBOX_ID:$SANDBOX_ID"
		--change "LABEL org.petri.image=$lang org.petri.recipe=$hash"
	)
	case $lang in
	java)
		# default-java is Debian's stable link to the default JDK;
		# record where it really points.
		java_home=$(chroot "$root" readlink -f /usr/lib/jvm/default-java)
		[[ -x $root$java_home/bin/java ]] ||
			die "$lang: no JDK at ${java_home:-/usr/lib/jvm/default-java}"
		changes+=(--change "ENV JAVA_HOME=$java_home")
		;;
	go)
		# Registries are configured by Petri per sandbox; off by default.
		changes+=(--change 'ENV GOPATH=/sandbox/.go GOCACHE=/tmp/.gocache GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=off')
		;;
	esac

	progress "$lang: post-install"
	run_child "$HERE/postinstall.sh" "$root" "$lang"

	progress "$lang: docker import $ref"
	run_child import_rootfs "$root" "$ref" "${changes[@]}"
	# The root file system is no longer needed; free the space now.
	remove_tree "$root"

	progress "$lang: verifying $ref"
	if ! verify_image "$lang" "$ref"; then
		# Remove the tag we just created so the next run rebuilds.
		docker image rm "$ref" >/dev/null || true
		die "$lang: $ref does not run; removed it"
	fi
	tag_current "$lang" "$ref"
	size=$(image_size_mb "$ref")
	printf 'built %d %d\n' $((SECONDS - start)) "$size" >"$WORK/$lang.result"
	progress "$lang: built $ref in $((SECONDS - start))s (${size} MB)"
}

# ---------------------------------------------------------------- main

# reap_one: wait for one build to finish and record its result.
reap_one() {
	local pid rc=0 lang
	wait -n -p pid "${!JOB_LANG[@]}" || rc=$?
	lang=${JOB_LANG[$pid]}
	unset "JOB_LANG[$pid]"
	if ((rc == 0)) && [[ -s $WORK/$lang.result ]]; then
		RESULT[$lang]=$(<"$WORK/$lang.result")
	else
		RESULT[$lang]="FAILED - -"
		say "$lang: build failed (exit $rc); last lines of $LOG_DIR/$lang.log:" >&2
		tail -n 25 "$LOG_DIR/$lang.log" | sed 's/^/    /' >&2
	fi
}

print_summary() {
	local lang result seconds size failed=0 total=$1
	shift
	printf '\n%-7s %-26s %-7s %6s %8s\n' lang image result time size
	for lang in "$@"; do
		read -r result seconds size <<<"${RESULT[$lang]}"
		[[ $result == FAILED ]] && failed=1
		[[ $seconds == - ]] || seconds=${seconds}s
		[[ $size == - ]] || size="$size MB"
		printf '%-7s %-26s %-7s %6s %8s\n' "$lang" \
			"petri/$lang:${HASH[$lang]}" "$result" "$seconds" "$size"
	done
	printf 'total %ds\n' "$total"
	return "$failed"
}

main() {
	local lang ref mirror started=$SECONDS
	local -a args langs=() todo=()

	if (($# > 0)); then
		args=("$@")
	else
		read -r -a args <<<"$ALL_LANGS"
	fi
	for lang in "${args[@]}"; do
		[[ $lang =~ ^[a-z0-9]+$ && -f $HERE/$lang.list ]] ||
			die "unknown image '$lang' (known: $ALL_LANGS)"
		[[ " ${langs[*]} " == *" $lang "* ]] || langs+=("$lang")
	done
	[[ $MAX_JOBS =~ ^[1-9][0-9]*$ ]] || die "PETRI_IMAGE_JOBS must be a positive number"
	command -v docker >/dev/null || die "docker CLI not found (run packaging/setup.sh)"
	docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
		die "no Docker engine answers (run packaging/setup.sh)"

	# Existing images: nothing to build, just make sure :current is right.
	for lang in "${langs[@]}"; do
		HASH[$lang]=$(recipe_hash "$lang")
		ref=petri/$lang:${HASH[$lang]}
		if image_id "$ref" >/dev/null; then
			say "$lang: $ref exists, skipping build"
			tag_current "$lang" "$ref"
			RESULT[$lang]="cached 0 $(image_size_mb "$ref")"
		else
			todo+=("$lang")
		fi
	done

	if ((${#todo[@]} > 0)); then
		[[ $(id -u) -eq 0 ]] || die "building ${todo[*]} needs root (debootstrap)"
		command -v debootstrap >/dev/null ||
			die "debootstrap not found (run packaging/setup.sh)"
		[[ -r $KEYRING ]] ||
			die "$KEYRING missing (apt-get install debian-archive-keyring)"
		mirror=$(debian_mirror)

		# One build run at a time on this host.
		mkdir -p "$(dirname "$LOCK_FILE")" "$LOG_DIR"
		exec 9>"$LOCK_FILE"
		flock -n 9 || die "another $prog is running (lock $LOCK_FILE)"

		WORK=$(mktemp -d /var/tmp/petri-images.XXXXXX)
		trap cleanup EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		say "building ${todo[*]} from $mirror (up to $MAX_JOBS at a time; logs in $LOG_DIR)"

		exec 3>&1
		for lang in "${todo[@]}"; do
			while ((${#JOB_LANG[@]} >= MAX_JOBS)); do
				reap_one
			done
			build_one "$lang" "${HASH[$lang]}" "$mirror" \
				>"$LOG_DIR/$lang.log" 2>&1 &
			JOB_LANG[$!]=$lang
		done
		while ((${#JOB_LANG[@]} > 0)); do
			reap_one
		done
		exec 3>&-
	fi

	print_summary $((SECONDS - started)) "${langs[@]}" ||
		die "some images failed to build"
}

main "$@"
