#!/bin/sh
# The compose container's entry: the engine's group takes the gid of the
# host's Docker socket, the helpers go into the shared directory (the host's
# engine bind-mounts them into sandboxes by path), then petrid runs as
# PID 1's only child.
set -e
shared=${PETRI_SHARED:?}
gid=$(stat -c %g /var/run/docker.sock)
groupmod -o -g "$gid" docker
mkdir -p "$shared/data" "$shared/helpers"
cp -a /usr/lib/petri/petri-spawn /usr/lib/petri/petri-init /usr/lib/petri/petri-deps "$shared/helpers/"
exec /usr/bin/petrid --config /etc/petri/petri.json
