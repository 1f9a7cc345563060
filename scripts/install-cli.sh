#!/usr/bin/env bash
# Install the `bot-bottle` command for this user: a uv tool environment with
# the core and every plugin of this checkout, editable (a `git pull` needs no
# re-install; a new dependency or plugin needs a re-run), pinned to uv.lock.
# Then make a new login shell find it. The command runs without uv on PATH.
# Where it goes is uv's choice: UV_TOOL_DIR and UV_TOOL_BIN_DIR (default under
# HOME, via XDG_DATA_HOME / XDG_BIN_HOME) are honoured. Safe to re-run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/ensure-uv.sh
. scripts/ensure-uv.sh
ensure_uv

editables=()
for dist in plugins/*/ sidecars/; do editables+=(--with-editable "$PWD/$dist"); done
pins=()
if [ -f uv.lock ]; then
  lock="$(mktemp)"
  trap 'rm -f "$lock"' EXIT
  # The core with every plugin; not the sidecars' own extras (their venvs live in
  # the bundle image, and two of them conflict by design).
  uv export --quiet --frozen --extra all --no-dev --no-emit-workspace --no-hashes -o "$lock"
  pins=(--constraints "$lock")
fi
uv tool install --quiet --editable "$PWD" "${editables[@]}" "${pins[@]}"

bin="$(uv tool dir --bin)"
# What a new login shell finds, with nothing inherited from this one.
login_finds_it() {
  [ "$(env -i HOME="$HOME" PATH=/usr/bin:/bin bash -lc 'command -v bot-bottle' </dev/null 2>/dev/null)" \
    = "$bin/bot-bottle" ]
}
if ! login_finds_it; then
  uv tool update-shell --quiet || true
  login_finds_it || echo "note: a new login shell will not find bot-bottle; add $bin to PATH" >&2
fi
