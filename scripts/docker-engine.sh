#!/usr/bin/env bash
# Make sure a Docker engine answers and the local base image exists.
# Idempotent: every step is skipped when its result is already there.
set -euo pipefail

BASE_IMAGE="${BOT_BOTTLE_TEST_BASE_IMAGE:-bot-bottle-base:bookworm}"

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "ci: installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
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
echo "ci: docker engine $(docker version --format '{{.Server.Version}}')"

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
