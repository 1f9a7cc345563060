"""A bottle's git repos as the gate and the agent see them.

The gate gets ``git-gate.json`` beside the routes (rules, no key) and each repo's
private key in its environment; the agent gets a git config that sends its
ordinary ``git clone``/``fetch``/``push`` of the upstream URL to the gate.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .config import GitRepo
from .errors import BotBottleError
from .plan import ProvisionStep, WriteFile
from .state import write_json_atomic

GATE_CONFIG_FILE = "git-gate.json"
MAX_KEY_BYTES = 64 * 1024


def gate_url(name: str) -> str:
    return f"http://git-gate/{name}.git"


def gate_document(repos: Sequence[GitRepo]) -> dict:
    return {
        "repos": [
            {
                "name": r.name,
                "upstream": r.upstream,
                "protected_branches": list(r.protected_branches),
                "protected_paths": list(r.protected_paths),
                "allow_force_push": r.allow_force_push,
                "read_only": bool(r.provisioned_key and r.provisioned_key.read_only),
            }
            for r in repos
        ]
    }


def write_gate_config(sidecar_dir: Path, repos: Sequence[GitRepo]) -> Path:
    sidecar_dir.mkdir(parents=True, exist_ok=True)
    path = sidecar_dir / GATE_CONFIG_FILE
    # Read by the sidecar's own unprivileged user; it holds no key.
    write_json_atomic(path, gate_document(repos), mode=0o644)
    return path


def identity_keys(repos: Sequence[GitRepo], bottle: str) -> dict[str, str]:
    """The private key of each ``identity`` repo, read once on the host for the gate."""
    keys: dict[str, str] = {}
    for r in repos:
        if r.identity is None:
            continue
        try:
            if r.identity.stat().st_size > MAX_KEY_BYTES:
                raise BotBottleError(
                    f"The identity {r.identity} of repo '{r.name}' (bottle '{bottle}') is larger "
                    "than an SSH key can be. Point identity at the private key file."
                )
            keys[r.name] = r.identity.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or "it is not a text key file"
            raise BotBottleError(
                f"Cannot read the identity {r.identity} of repo '{r.name}' (bottle '{bottle}'): "
                f"{why}. Fix the path in the manifest or the file's permissions."
            ) from None
        if "PRIVATE KEY" not in keys[r.name]:
            raise BotBottleError(
                f"The identity {r.identity} of repo '{r.name}' (bottle '{bottle}') is not a "
                "private key. Point identity at the private key file, not the .pub one."
            )
    return keys


def upstream_forms(upstream: str) -> list[str]:
    """The spellings of one upstream URL an agent may use: with and without ``.git``."""
    base = upstream[:-4] if upstream.endswith(".git") else upstream
    return [base + ".git", base]


def agent_git_config(repos: Sequence[GitRepo]) -> str:
    lines = []
    for r in repos:
        lines.append(f'[url "{gate_url(r.name)}"]')
        lines += [f"\tinsteadOf = {form}" for form in upstream_forms(r.upstream)]
    return "\n".join(lines) + "\n"


def agent_steps(repos: Sequence[GitRepo], guest_home: str) -> list[ProvisionStep]:
    """The agent's git config (the XDG file, so an image's own ~/.gitconfig stays)."""
    if not repos:
        return []
    return [WriteFile(f"{guest_home}/.config/git/config", agent_git_config(repos), 0o644)]


def gate_rows(repos: Sequence[GitRepo]) -> list[str]:
    """The preflight's lines: where each repo goes and under which rules."""
    rows = []
    for r in repos:
        rules = []
        if r.protected_branches:
            rules.append("protected: " + ",".join(r.protected_branches))
        if r.protected_paths:
            rules.append("paths: " + ",".join(r.protected_paths))
        if r.allow_force_push:
            rules.append("force push allowed")
        if r.provisioned_key is not None:
            rules.append(f"deploy key via {r.provisioned_key.plugin}")
        suffix = f" [{'; '.join(rules)}]" if rules else ""
        rows.append(f"{r.name} → git-gate → {r.upstream_host_port}{suffix}")
    return rows
