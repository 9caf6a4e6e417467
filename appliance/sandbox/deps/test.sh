#!/bin/sh
# Petri: test mode (docs/deps.md).  Runs in the sandbox as the sandbox
# user, after the install step.  $1: language; $2: the app's command, or
# empty.  Starts the app in a session of its own, waits until it listens
# (a new LISTEN socket in /proc/net/tcp*, polled; at most 60 s), runs the
# language's test runner with APP_PORT and APP_URL set, stops the app, and
# prints one last line "@@PETRI-TEST@@ runner=NAME exit=N port=P".
lang=$1
app=$2
R=/sandbox/.petri/test
rm -rf "$R" && mkdir -p "$R" || exit 70

listening() {
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		awk '$4 == "0A" { n = split($2, a, ":"); print a[n] }' | sort -u
}

port=0
pid=
if [ -n "$app" ]; then
	before=$(listening)
	setsid sh -c "$app" >"$R/app.log" 2>&1 </dev/null &
	pid=$!
	i=0
	while [ "$i" -lt 600 ]; do
		for h in $(listening); do
			case " $(echo $before) " in
			*" $h "*) ;;
			*) port=$((0x$h)); break 2 ;;
			esac
		done
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "petri: the app exited before it listened:" >&2
			tail -n 20 "$R/app.log" >&2
			echo "@@PETRI-TEST@@ runner=none exit=70 port=0"
			exit 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	if [ "$port" -eq 0 ]; then
		echo "petri: the app did not listen within 60 s" >&2
		kill -TERM -"$pid" 2>/dev/null
		echo "@@PETRI-TEST@@ runner=none exit=70 port=0"
		exit 0
	fi
	export APP_PORT=$port APP_URL=http://127.0.0.1:$port
fi

case $lang in
python)
	if python3 -c 'import pytest' 2>/dev/null; then
		runner=pytest
		python3 -m pytest -q -p no:cacheprovider --junitxml="$R/junit.xml" 2>&1
	else
		runner=unittest
		python3 -m unittest discover -v 2>&1
	fi
	code=$?
	;;
node)
	runner=node-test
	node --test 2>&1
	code=$?
	;;
go)
	runner=go-test
	go test -json ./... 2>&1
	code=$?
	;;
java)
	# JUnit 4 through JUnitCore: every class whose name ends in Test
	runner=junit4
	cp=/usr/share/java/junit4.jar:/usr/share/java/hamcrest-core.jar
	find . -maxdepth 16 -name '*.java' -not -path './.petri/*' \
		-not -path './.m2/*' > "$R/sources"
	if javac -nowarn -d "$R/classes" -cp "$cp${CLASSPATH:+:$CLASSPATH}" \
		@"$R/sources" 2>&1; then
		classes=$(cd "$R/classes" && find . -name '*Test.class' |
			sed 's|^\./||; s|\.class$||; s|/|.|g' | sort)
		if [ -z "$classes" ]; then
			echo "petri: no class named *Test" >&2
			code=70
		else
			java -cp "$R/classes:$cp${CLASSPATH:+:$CLASSPATH}" \
				org.junit.runner.JUnitCore $classes 2>&1
			code=$?
		fi
	else
		code=$?
	fi
	;;
*)
	runner=none
	echo "petri: no test runner for $lang" >&2
	code=70
	;;
esac

if [ -n "$pid" ]; then
	kill -TERM -"$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL -"$pid" 2>/dev/null
fi
echo "@@PETRI-TEST@@ runner=$runner exit=$code port=$port"
