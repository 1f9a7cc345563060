#!/usr/bin/env bash
# Make sure a Docker engine answers and the local base image exists.
# Idempotent: every step is skipped when its result is already there.
set -euo pipefail
# --with-gvisor: also install gVisor (runsc) and register it with dockerd, so
# bottles run on it. A running dockerd that predates the registration is told
# to reload its configuration (SIGHUP: its containers keep running) only when
# it is ours to touch: started by this script (its log is DOCKERD_LOG), just
# installed by it, or under CI=true. Otherwise, or when an existing daemon.json
# lacks runsc (left alone), one line says bottles run on runc and how to fix it.
with_gvisor=false
[ "${1:-}" = "--with-gvisor" ] && with_gvisor=true

BASE_IMAGE="${BOT_BOTTLE_TEST_BASE_IMAGE:-bot-bottle-base:bookworm}"

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
if $with_gvisor && ! command -v runsc >/dev/null 2>&1; then need_apt+=(runsc); fi
installed_docker=false
[[ " ${need_apt[*]} " == *" docker.io "* ]] && installed_docker=true
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "ci: installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

DAEMON_JSON=/etc/docker/daemon.json
DOCKERD_PID=/var/run/docker.pid
DOCKERD_LOG=/var/log/dockerd.log
RUNSC_RUNTIME='{"path":"/usr/bin/runsc","runtimeArgs":["--network=host","--ignore-cgroups"]}'
gvisor_registered() { docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"'; }
# Ours to reload: under CI, installed just now (the package started it), or
# started by this script on an earlier run (its stdout is our log).
may_reload() {
  [ "${CI:-}" = "true" ] || $installed_docker \
    || [ "$(readlink "/proc/$(cat "$DOCKERD_PID" 2>/dev/null)/fd/1" 2>/dev/null)" = "$DOCKERD_LOG" ]
}
if $with_gvisor && ! grep -qs '"runsc"' "$DAEMON_JSON" && [ ! -s "$DAEMON_JSON" ]; then
  mkdir -p /etc/docker
  echo "{\"runtimes\":{\"runsc\":$RUNSC_RUNTIME}}" >"$DAEMON_JSON"
fi
if $with_gvisor && docker info >/dev/null 2>&1 && ! gvisor_registered \
   && grep -qs '"runsc"' "$DAEMON_JSON" && may_reload; then
  echo "ci: reloading dockerd's configuration to register gVisor"
  kill -HUP "$(cat "$DOCKERD_PID" 2>/dev/null)" 2>/dev/null || true  # no pid: the line below says so
  for _ in $(seq 1 60); do gvisor_registered && break; sleep 0.5; done
fi

if ! docker info >/dev/null 2>&1; then
  echo "ci: starting dockerd"
  nohup dockerd >"$DOCKERD_LOG" 2>&1 &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo "ci: dockerd did not come up; see $DOCKERD_LOG" >&2; tail -20 "$DOCKERD_LOG" >&2; exit 1; }
fi
echo "ci: docker engine $(docker version --format '{{.Server.Version}}')," \
  "runtimes: $(docker info --format '{{range $k, $v := .Runtimes}}{{$k}} {{end}}')"
if $with_gvisor && ! gvisor_registered; then
  if ! grep -qs '"runsc"' "$DAEMON_JSON"; then
    echo "ci: bottles will run on runc: $DAEMON_JSON has no runsc and is left alone;" \
      "for gVisor add \"runsc\":$RUNSC_RUNTIME to its \"runtimes\", then: kill -HUP \$(cat $DOCKERD_PID)"
  else
    echo "ci: bottles will run on runc: this dockerd predates runsc in $DAEMON_JSON;" \
      "for gVisor reload it (its containers keep running): kill -HUP \$(cat $DOCKERD_PID)"
  fi
fi

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "ci: building base image $BASE_IMAGE with debootstrap"
  root="$(mktemp -d)"
  debootstrap --variant=minbase \
    --include=python3,python3-venv,ca-certificates,git,openssh-client,iproute2,procps,curl \
    bookworm "$root" >/tmp/debootstrap.log 2>&1 || { tail -20 /tmp/debootstrap.log >&2; exit 1; }
  tar -C "$root" -c . | docker import - "$BASE_IMAGE" >/dev/null
  rm -rf "$root"
fi
echo "ci: base image $BASE_IMAGE ready"
