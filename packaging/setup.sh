#!/usr/bin/env bash
#
# packaging/setup.sh: prepare a Debian 12 (bookworm) host to build, run and
# test Petri.
#
# Idempotent; every step first checks what is already there and prints one
# line saying whether it found it or did something:
#
#   1. Debian packages: installs only the missing ones (apt-get update runs
#      only when something is missing).
#   2. Docker engine: starts dockerd when nothing answers on the socket.  An
#      engine that already answers is never stopped, restarted or reconfigured
#      (except for the runsc registration below, applied with SIGHUP).
#   3. gVisor (optional): with PETRI_WITH_RUNSC=1 installs runsc; whenever
#      runsc is installed, registers it as a Docker runtime.
#   4. System users (root only): _petri_api, _petri_eng (+ group docker),
#      _petri_kpr, _petri_prx and the sandbox user _petri_sb (uid/gid 61000).
#
# With --users-only, only step 4 (the Debian package's postinst runs that).
#
# Environment:
#   PETRI_WITH_RUNSC=1     also install gVisor's runsc (Debian package)
#   PETRI_APT_EXTRA="a b"  extra Debian packages to install
#
# Exit status: 0 when the host is ready, non-zero (with a message) otherwise.

set -euo pipefail

# Debian packages needed to build, run and test Petri.  Extend here.
# (openjdk-17-jdk-headless: the dependency tests compile their Maven jars.)
PETRI_APT_PACKAGES="build-essential clang clang-format clang-tidy pkg-config
	libmicrohttpd-dev libsqlite3-dev libcurl4-openssl-dev libjansson-dev
	libsodium-dev libssl-dev libarchive-dev
	docker.io debootstrap debian-archive-keyring gpgv
	rsyslog rsyslog-gnutls python3 python3-jsonschema
	openssl curl iproute2 iptables acl e2fsprogs util-linux ca-certificates
	hyperfine busybox-static runsc
	openjdk-17-jdk-headless"

readonly DOCKER_SOCK=/var/run/docker.sock
readonly DOCKER_PIDFILE=/var/run/docker.pid
readonly DOCKER_LOG=/var/log/petri-dockerd.log
readonly DOCKER_DAEMON_JSON=/etc/docker/daemon.json
readonly DOCKER_WAIT_SECONDS=60
readonly RUNSC_PATH=/usr/bin/runsc

# The sandbox uid/gid is fixed: workspaces on the host are owned by it and
# the images run as it (packaging/images/postinstall.sh uses the same number).
readonly SANDBOX_ID=61000
readonly SANDBOX_USER=_petri_sb
# Service users, one per privilege-separated process (ARCHITECTURE.md).
readonly SERVICE_USERS="_petri_api _petri_eng _petri_kpr _petri_prx _petri_pvw"
readonly NOLOGIN=/usr/sbin/nologin

export DEBIAN_FRONTEND=noninteractive
# needrestart (if installed) must never restart services (dockerd above all).
export NEEDRESTART_SUSPEND=1 NEEDRESTART_MODE=l

# ---------------------------------------------------------------- helpers

prog=${0##*/}

say() {
	printf '%s: %s\n' "$prog" "$*"
}

die() {
	printf '%s: error: %s\n' "$prog" "$*" >&2
	exit 1
}

is_root() {
	[[ $(id -u) -eq 0 ]]
}

# pkg_installed PKG: true when dpkg reports PKG fully installed.
pkg_installed() {
	local status
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) ||
		return 1
	[[ $status == "ii " ]]
}

# docker_ping: true when the engine answers GET /_ping with "OK".
docker_ping() {
	local reply
	reply=$(curl -s --max-time 5 --unix-socket "$DOCKER_SOCK" \
		http://d/_ping 2>/dev/null) || return 1
	[[ $reply == OK ]]
}

# dockerd_pid: print the pid of the running dockerd (from its pid file) and
# succeed, or fail when there is none.
dockerd_pid() {
	local pid comm
	[[ -r $DOCKER_PIDFILE ]] || return 1
	pid=$(<"$DOCKER_PIDFILE")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
	[[ $comm == dockerd ]] || return 1
	printf '%s\n' "$pid"
}

# ---------------------------------------------------------------- steps

# Step 1: Debian packages.
install_packages() {
	local pkg log
	local -a wanted missing=()

	# Split the lists on any white space (they span several lines).
	read -r -d '' -a wanted \
		<<<"$PETRI_APT_PACKAGES ${PETRI_APT_EXTRA:-}" || true
	if [[ ${PETRI_WITH_RUNSC:-0} == 1 ]]; then
		wanted+=(runsc)
	fi
	for pkg in "${wanted[@]}"; do
		pkg_installed "$pkg" || missing+=("$pkg")
	done

	if ((${#missing[@]} == 0)); then
		say "packages: all ${#wanted[@]} already installed"
		return 0
	fi
	is_root || die "packages missing (${missing[*]}); run as root"
	say "packages: installing ${#missing[@]} missing: ${missing[*]}"
	# apt's output goes to a log, shown only when something fails.
	log=$(mktemp /tmp/petri-setup-apt.XXXXXX)
	if ! { apt-get update -q &&
		apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
		>"$log" 2>&1; then
		tail -n 30 "$log" >&2
		rm -f "$log"
		die "packages: apt-get failed"
	fi
	rm -f "$log"
	for pkg in "${missing[@]}"; do
		pkg_installed "$pkg" || die "package $pkg did not install"
	done
	say "packages: installed ${missing[*]}"
}

# Step 2: a Docker engine that answers on $DOCKER_SOCK.
start_docker() {
	local i pid init

	if docker_ping; then
		say "docker: engine already answering on $DOCKER_SOCK"
		return 0
	fi
	if ! is_root; then
		if [[ -S $DOCKER_SOCK && ! -w $DOCKER_SOCK ]]; then
			die "docker: no access to $DOCKER_SOCK (not root, not in group docker)"
		fi
		die "docker: no engine answers on $DOCKER_SOCK; run as root to start one"
	fi

	init=$(cat /proc/1/comm 2>/dev/null || true)
	if pid=$(dockerd_pid); then
		# Started but not answering yet (or busy): wait, do not start
		# a second one.
		say "docker: dockerd (pid $pid) running but not answering; waiting"
	elif [[ $init == systemd ]]; then
		say "docker: starting with systemctl (systemd is PID 1)"
		systemctl start docker
	else
		command -v dockerd >/dev/null ||
			die "docker: dockerd not found (is docker.io installed?)"
		say "docker: starting dockerd in the background (log: $DOCKER_LOG)"
		# setsid: the engine must outlive this script's process group.
		setsid nohup dockerd >>"$DOCKER_LOG" 2>&1 </dev/null &
	fi

	for ((i = 0; i < DOCKER_WAIT_SECONDS; i++)); do
		if docker_ping; then
			say "docker: engine answering after ${i}s"
			return 0
		fi
		sleep 1
	done
	die "docker: engine did not answer GET /_ping within ${DOCKER_WAIT_SECONDS}s (see $DOCKER_LOG)"
}

# runsc_merge_config: add the runsc runtime to $DOCKER_DAEMON_JSON, keeping
# every other setting.  Prints "changed" or "unchanged".
runsc_merge_config() {
	python3 - "$DOCKER_DAEMON_JSON" "$RUNSC_PATH" <<'EOF'
import json, os, sys, tempfile

path, runsc = sys.argv[1], sys.argv[2]
want = {"path": runsc, "runtimeArgs": ["--network=host"]}
conf = {}
if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text.strip():
        try:
            conf = json.loads(text)
        except ValueError as e:
            sys.exit(f"{path}: not valid JSON ({e}); fix it by hand")
    if not isinstance(conf, dict):
        sys.exit(f"{path}: top level is not a JSON object")
runtimes = conf.setdefault("runtimes", {})
if not isinstance(runtimes, dict):
    sys.exit(f'{path}: "runtimes" is not a JSON object')
if runtimes.get("runsc") == want:
    print("unchanged")
    sys.exit(0)
runtimes["runsc"] = want
os.makedirs(os.path.dirname(path), exist_ok=True)
# Write a sibling file and rename it: dockerd never sees a partial file.
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".daemon.json.")
with os.fdopen(fd, "w", encoding="utf-8") as f:
    json.dump(conf, f, indent=2, sort_keys=True)
    f.write("\n")
# Keep the mode of an existing file; a new one is world-readable like
# dockerd's other configuration.
os.chmod(tmp, os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644)
os.replace(tmp, path)
print("changed")
EOF
}

# docker_has_runtime NAME: true when the engine lists runtime NAME.
docker_has_runtime() {
	local info
	info=$(curl -s --max-time 5 --unix-socket "$DOCKER_SOCK" http://d/info) ||
		return 1
	python3 -c '
import json, sys
try:
    runtimes = json.loads(sys.argv[2]).get("Runtimes") or {}
except ValueError:
    sys.exit(1)
sys.exit(0 if sys.argv[1] in runtimes else 1)
' "$1" "$info"
}

# Step 3: register gVisor's runsc with Docker when it is installed.
register_runsc() {
	local result pid i

	if [[ ! -x $RUNSC_PATH ]]; then
		say "runsc: not installed (optional; PETRI_WITH_RUNSC=1 installs it)"
		return 0
	fi
	if ! is_root; then
		if docker_has_runtime runsc; then
			say "runsc: already registered with Docker"
		else
			say "runsc: installed; run as root to register it with Docker"
		fi
		return 0
	fi
	result=$(runsc_merge_config) || die "runsc: could not update $DOCKER_DAEMON_JSON"
	if [[ $result == unchanged ]] && docker_has_runtime runsc; then
		say "runsc: already registered with Docker"
		return 0
	fi
	[[ $result == changed ]] && say "runsc: added to $DOCKER_DAEMON_JSON"

	# SIGHUP makes dockerd reload daemon.json (runtimes are reloadable);
	# the engine and its containers keep running.
	if [[ $(cat /proc/1/comm 2>/dev/null || true) == systemd ]]; then
		systemctl reload docker
	else
		pid=$(dockerd_pid) ||
			die "runsc: dockerd pid unknown ($DOCKER_PIDFILE); send it SIGHUP by hand"
		kill -HUP "$pid"
	fi
	for ((i = 0; i < 10; i++)); do
		if docker_has_runtime runsc; then
			say "runsc: registered with Docker (configuration reloaded)"
			return 0
		fi
		sleep 1
	done
	die "runsc: dockerd did not pick up the runtime; see $DOCKER_LOG"
}

# ensure_user NAME COMMENT [useradd options...]: create system user NAME (no
# home directory, no login shell) unless it exists.
ensure_user() {
	local name=$1 comment=$2
	shift 2
	if getent passwd "$name" >/dev/null; then
		say "users: $name already exists"
		return 0
	fi
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell "$NOLOGIN" --comment "$comment" "$@" "$name"
	say "users: created $name"
}

# Step 4: system users for the privilege-separated processes and sandboxes.
create_users() {
	local name owner group_name comment

	if ! is_root; then
		say "users: not root; skipping system users"
		return 0
	fi
	getent group docker >/dev/null ||
		die "users: group docker missing (is docker.io installed?)"

	# The sandbox uid/gid must be exactly $SANDBOX_ID, so check for a
	# clash before creating anything.
	owner=$(getent passwd "$SANDBOX_ID" | cut -d: -f1 || true)
	if [[ -n $owner && $owner != "$SANDBOX_USER" ]]; then
		die "users: uid $SANDBOX_ID belongs to '$owner', Petri needs it for $SANDBOX_USER"
	fi
	group_name=$(getent group "$SANDBOX_ID" | cut -d: -f1 || true)
	if [[ -n $group_name && $group_name != "$SANDBOX_USER" ]]; then
		die "users: gid $SANDBOX_ID belongs to group '$group_name', Petri needs it for $SANDBOX_USER"
	fi
	if getent passwd "$SANDBOX_USER" >/dev/null &&
		[[ $(id -u "$SANDBOX_USER") != "$SANDBOX_ID" ]]; then
		die "users: $SANDBOX_USER exists with uid $(id -u "$SANDBOX_USER"), expected $SANDBOX_ID"
	fi
	if getent group "$SANDBOX_USER" >/dev/null &&
		[[ $(getent group "$SANDBOX_USER" | cut -d: -f3) != "$SANDBOX_ID" ]]; then
		die "users: group $SANDBOX_USER exists with another gid, expected $SANDBOX_ID"
	fi

	for name in $SERVICE_USERS; do
		case $name in
		_petri_api) comment="Petri API" ;;
		_petri_eng) comment="Petri engine" ;;
		_petri_kpr) comment="Petri keeper" ;;
		_petri_prx) comment="Petri egress proxy" ;;
		_petri_pvw) comment="Petri preview gateway" ;;
		*) comment="Petri" ;;
		esac
		ensure_user "$name" "$comment" --user-group
	done

	# The engine process is the only one that talks to docker.sock.
	if id -nG _petri_eng | tr ' ' '\n' | grep -qx docker; then
		say "users: _petri_eng already in group docker"
	else
		usermod -a -G docker _petri_eng
		say "users: added _petri_eng to group docker"
	fi

	if getent group "$SANDBOX_USER" >/dev/null; then
		say "users: group $SANDBOX_USER ($SANDBOX_ID) already exists"
	else
		groupadd --system --gid "$SANDBOX_ID" \
			-K SYS_GID_MAX="$SANDBOX_ID" "$SANDBOX_USER"
		say "users: created group $SANDBOX_USER ($SANDBOX_ID)"
	fi
	# The fixed id lies above the system range on purpose (no clash with
	# ids Debian allocates); -K silences useradd's range warning.
	ensure_user "$SANDBOX_USER" "Petri sandbox" --uid "$SANDBOX_ID" \
		--gid "$SANDBOX_ID" -K SYS_UID_MAX="$SANDBOX_ID"
	if [[ $(id -g "$SANDBOX_USER") != "$SANDBOX_ID" ]]; then
		die "users: $SANDBOX_USER has primary gid $(id -g "$SANDBOX_USER"), expected $SANDBOX_ID"
	fi
}

# ---------------------------------------------------------------- main

main() {
	[[ -r /etc/debian_version ]] || die "this script supports Debian 12 hosts only"
	# the Debian package's postinst: the users only (dpkg installed the rest)
	if [[ ${1:-} == --users-only ]]; then
		create_users
		return 0
	fi
	install_packages
	start_docker
	register_runsc
	create_users
	say "done: host ready"
}

main "$@"
