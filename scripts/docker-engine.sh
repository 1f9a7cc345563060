#!/usr/bin/env bash
# Make sure a Docker engine answers and the local base image exists.
# Idempotent: every step is skipped when its result is already there.
set -euo pipefail
# --with-gvisor: also install gVisor (runsc) and register it with dockerd, so
# bottles run on it as they would on a host that has it. Registering means a
# dockerd restart, done only when dockerd is started here or under CI=true.
with_gvisor=false
[ "${1:-}" = "--with-gvisor" ] && with_gvisor=true

BASE_IMAGE="${BOT_BOTTLE_TEST_BASE_IMAGE:-bot-bottle-base:bookworm}"

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
if $with_gvisor && ! command -v runsc >/dev/null 2>&1; then need_apt+=(runsc); fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "ci: installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

DAEMON_JSON=/etc/docker/daemon.json
gvisor_registered() { docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"'; }
if $with_gvisor && ! grep -qs '"runsc"' "$DAEMON_JSON"; then
  if [ -s "$DAEMON_JSON" ]; then
    echo "ci: $DAEMON_JSON exists without runsc; leaving it alone (bottles run on runc)"
  else
    mkdir -p /etc/docker
    echo '{"runtimes":{"runsc":{"path":"/usr/bin/runsc","runtimeArgs":["--network=host","--ignore-cgroups"]}}}' >"$DAEMON_JSON"
  fi
fi
if $with_gvisor && docker info >/dev/null 2>&1 && ! gvisor_registered \
   && grep -qs '"runsc"' "$DAEMON_JSON"; then
  if [ "${CI:-}" = "true" ]; then
    echo "ci: restarting dockerd to register gVisor"
    pkill -x dockerd || true
    for _ in $(seq 1 60); do pgrep -x dockerd >/dev/null || break; sleep 0.5; done
  else
    echo "ci: gVisor is configured but dockerd predates it; restart dockerd to use it"
  fi
fi

if ! docker info >/dev/null 2>&1; then
  echo "ci: starting dockerd"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo "ci: dockerd did not come up; see /var/log/dockerd.log" >&2; tail -20 /var/log/dockerd.log >&2; exit 1; }
fi
echo "ci: docker engine $(docker version --format '{{.Server.Version}}')," \
  "runtimes: $(docker info --format '{{range $k, $v := .Runtimes}}{{$k}} {{end}}')"

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
