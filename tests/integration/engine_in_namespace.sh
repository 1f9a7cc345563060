#!/usr/bin/env bash
# Run scripts/docker-engine.sh --with-gvisor against a private dockerd that
# predates gVisor, through the fixed paths the script uses. Meant for a private
# mount and network namespace (`unshare --mount --net`): /etc/docker, /run and
# /var/log are tmpfs here, so the machine's engine, daemon.json and log are never
# touched; and a dockerd with --bridge=none deletes the docker0 interface it finds,
# which must be the namespace's own (none), never the machine's.
#
#   bash engine_in_namespace.sh WORKDIR CASE
#     ours    dockerd started as docker-engine.sh starts it (stdout in /var/log/dockerd.log)
#     theirs  dockerd started by someone else
#     json    theirs, with a daemon.json that has no runsc
#
# Prints the script's output, then "runtimes after: …" and "daemon.json: …".
set -euo pipefail
work=$1
case=$2
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mount --make-rprivate /
for dir in /etc/docker /run /var/log; do mount -t tmpfs tmpfs "$dir"; done
[ "$case" = json ] && echo '{"debug": false}' >/etc/docker/daemon.json
log=/var/log/dockerd.log
[ "$case" = ours ] || log=/var/log/someone-elses-dockerd.log

export DOCKER_HOST=unix:///run/private-docker.sock
dockerd --data-root "$work/data" --exec-root /run/private-docker --host "$DOCKER_HOST" \
  --bridge=none --iptables=false --ip6tables=false >"$log" 2>&1 &
pid=$!
trap 'kill "$pid"; wait "$pid" || true' EXIT
for _ in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
tar -c -T /dev/null | docker import - bb-namespace-test:empty >/dev/null

env -u CI BOT_BOTTLE_TEST_BASE_IMAGE=bb-namespace-test:empty \
  bash "$root/scripts/docker-engine.sh" --with-gvisor
echo "runtimes after: $(docker info --format '{{range $k, $v := .Runtimes}}{{$k}} {{end}}')"
echo "daemon.json: $(cat /etc/docker/daemon.json)"
