# Sourced by the scripts here: puts uv on PATH, installing it if missing.
# A private venv, because Debian's python3 refuses `pip install` into the
# system (PEP 668).
ensure_uv() {
  command -v uv >/dev/null 2>&1 && return 0
  local tools="${XDG_CACHE_HOME:-$HOME/.cache}/bot-bottle/tools"
  if [ ! -x "$tools/bin/uv" ]; then
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
      echo "installing python3 + python3-venv"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
    fi
    python3 -m venv "$tools"
    "$tools/bin/python" -m pip install -q uv
  fi
  export PATH="$tools/bin:$PATH"
}
