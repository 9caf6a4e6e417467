#!/bin/sh
# Petri: serve mode (docs/api.md, POST /v1/sandboxes/{id}/serve).  Runs in
# the sandbox as the sandbox user, after the install step.  $1: the port the
# app listens on (0: the first new LISTEN socket in /proc/net/tcp*); $2:
# seconds to wait for it; $3: the app's command.  The app's output (both
# streams) is this execution's stdout; stderr carries only this script's
# lines: "@@PETRI-SERVE@@ port=P" once the app listens, or why it did not.
# The script then waits for the app: the execution lasts as long as it.
want=$1
wait=$2
app=$3

# "PORT:ADDRESS" (hex, as the kernel writes them) of every listening socket
listening() {
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		awk '$4 == "0A" { n = split($2, a, ":"); print a[n] ":" a[1] }' |
		sort -u
}

# Whether a hex address is loopback (127/8, ::1, ::ffff:127/104): the
# gateway reaches the container's own address, never its loopback
loopback() {
	case $1 in
	??????7F | 00000000000000000000000001000000 | \
		0000000000000000FFFF0000??????7F) return 0 ;;
	esac
	return 1
}

before=$(listening)
sh -c "$app" </dev/null 2>&1 &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; exit 143' TERM INT HUP
port=0
lo=0
i=0
while [ "$i" -lt $((wait * 10)) ]; do
	for t in $(listening); do
		p=$((0x${t%%:*}))
		if [ "$want" -ne 0 ] && [ "$p" -ne "$want" ]; then
			continue
		fi
		case " $(echo $before) " in
		*" $t "*) [ "$want" -eq 0 ] && continue ;;
		esac
		if loopback "${t#*:}"; then
			lo=$p
			continue
		fi
		port=$p
		break 2
	done
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		echo "petri: the app exited (status $?) before it listened" >&2
		exit 70
	fi
	sleep 0.1
	i=$((i + 1))
done
if [ "$port" -eq 0 ]; then
	if [ "$lo" -ne 0 ]; then
		echo "petri: the app listens on port $lo of the loopback" \
			"address only: bind it to 0.0.0.0 to serve it" >&2
	else
		echo "petri: the app did not listen within $wait s" >&2
	fi
	# the app and whatever it started: this execution's process group
	# (petri-spawn and the supervisor start each in a session of its own)
	trap '' TERM
	kill -TERM 0 2>/dev/null
	exit 70
fi
echo "@@PETRI-SERVE@@ port=$port" >&2
wait "$pid"
code=$?
echo "petri: the app exited (status $code)" >&2
exit "$code"
