"""Talking to the upstream over SSH with the key only the gate holds, and the mirror.

Every upstream call names the URL itself (no remote with a fetch refspec): a push
from the pre-receive hook then updates no local ref, which git forbids while the
pushed objects are still in quarantine.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from .. import layout
from .config import ENV_KEY_PREFIX, GateConfig, GateRepo

ENV_STATE = layout.ENV_GIT_GATE_STATE
STATE_DIR = layout.GIT_GATE_STATE
TIMEOUT_S = 600
MAX_PUSH_BYTES = 2 * 1024**3
# The SSH control sockets: a short path (a socket's name is limited to about 100 bytes).
CONTROL_DIR = "/tmp/bb-git-gate"  # a clone of a large repo over a slow link

# No transport but SSH (and local paths, which only the operator's config can name):
# never ext:: or a URL's own helper.
PROTOCOLS = ["-c", "protocol.allow=never", "-c", "protocol.ssh.allow=always"]
PROTOCOLS += ["-c", "protocol.file.allow=always"]


class UpstreamError(RuntimeError):
    """The upstream could not be reached or refused; the message is git's."""


def state_dir() -> Path:
    return Path(os.environ.get(ENV_STATE) or STATE_DIR)


def mirror_dir(name: str) -> Path:
    return state_dir() / "mirrors" / f"{name}.git"


def key_file(name: str) -> Path:
    return state_dir() / "keys" / name


def _ssh_dir() -> Path:
    return state_dir() / "ssh"


def ssh_command(name: str) -> str:
    d = _ssh_dir()
    argv = [
        "ssh",
        "-F",
        str(d / "config"),
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        f"UserKnownHostsFile={d / 'known_hosts'}",
        # The first key an upstream shows is kept for this bottle's life.
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        "ConnectTimeout=15",
        # One SSH connection per upstream, reused by the fetch before each ref listing and
        # the push after it: a handshake costs more than the git conversation itself.
        "-o",
        "ControlMaster=auto",
        "-o",
        f"ControlPath={CONTROL_DIR}/%C",
        "-o",
        "ControlPersist=120",
    ]
    if key_file(name).exists():
        argv += ["-i", str(key_file(name))]
    return shlex.join(argv)


def git_env(name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_KEY_PREFIX)}
    env.update(
        GIT_SSH_COMMAND=ssh_command(name),
        GIT_TERMINAL_PROMPT="0",
        GIT_CONFIG_NOSYSTEM="1",
        HOME=str(state_dir()),
    )
    return env


def git(
    args: Sequence[str], *, name: str, cwd: Path | None = None, input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", *PROTOCOLS, *args],
        cwd=cwd,
        env=git_env(name),
        input=input,
        capture_output=True,
        timeout=TIMEOUT_S,
    )


def prepare(config: GateConfig, hooks_python: str = sys.executable) -> None:
    """The state the gate works from: keys, ssh config, one mirror per repo with the hook."""
    state_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    keys = state_dir() / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    for name in config.repos:
        key = os.environ.get(f"{ENV_KEY_PREFIX}{name}")
        if key:
            path = key_file(name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key if key.endswith("\n") else key + "\n")
    d = _ssh_dir()
    d.mkdir(mode=0o700, exist_ok=True)
    os.makedirs(CONTROL_DIR, mode=0o700, exist_ok=True)
    lines = []
    for host, address in sorted(config.ssh_hosts.items()):
        # The operator pinned where this name is; the host key is still checked under it.
        lines += [f"Host {host}", f"  HostName {address}", f"  HostKeyAlias {host}"]
    (d / "config").write_text("\n".join(lines) + "\n")
    (d / "known_hosts").touch(mode=0o600)
    hooks = state_dir() / "hooks"
    hooks.mkdir(mode=0o700, exist_ok=True)
    hook = hooks / "pre-receive"
    hook.write_text(
        f"#!/bin/sh\nexec {shlex.quote(hooks_python)} -m bot_bottle_sidecars.git_gate.pre_receive\n"
    )
    hook.chmod(0o700)
    for repo in config.repos.values():
        _init_mirror(repo, hooks)


def _init_mirror(repo: GateRepo, hooks: Path) -> None:
    d = mirror_dir(repo.name)
    if not (d / "HEAD").exists():
        d.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _ok(git(["init", "--bare", "-q", str(d)], name=repo.name), "init")
    settings = {
        "core.hooksPath": str(hooks),
        "http.receivepack": "false" if repo.read_only else "true",
        "http.uploadpack": "true",
        "uploadpack.allowFilter": "true",
        "receive.denyDeleteCurrent": "false",
        "gc.auto": "0",
        # What the agent pushes is checked for malformed objects before anything else, and
        # one push cannot fill the bundle's disk.
        "receive.fsckObjects": "true",
        "receive.maxInputSize": str(MAX_PUSH_BYTES),
    }
    for key, value in settings.items():
        _ok(git(["config", key, value], name=repo.name, cwd=d), f"config {key}")


def _ok(result: subprocess.CompletedProcess[bytes], what: str) -> None:
    if result.returncode != 0:
        raise UpstreamError(f"git {what} failed: {result.stderr.decode(errors='replace').strip()}")


@contextlib.contextmanager
def locked(name: str) -> Iterator[None]:
    """One upstream conversation per repo at a time (a fetch, or a push and its checks)."""
    with open(state_dir() / f"{name}.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def sync(repo: GateRepo) -> None:
    """Make the mirror's branches and tags (and HEAD) the upstream's."""
    d = mirror_dir(repo.name)
    with locked(repo.name):
        refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
        r = git(
            ["fetch", "--prune", "--no-tags", "-q", repo.upstream, *refspecs], name=repo.name, cwd=d
        )
        _ok(r, f"fetch from {repo.upstream}")
        head = git(["symbolic-ref", "-q", "HEAD"], name=repo.name, cwd=d).stdout.decode().strip()
        has_head = git(["rev-parse", "-q", "--verify", head], name=repo.name, cwd=d)
        if head and has_head.returncode == 0:
            return  # the default branch is known; asking costs a round trip every time
        r = git(["ls-remote", "--symref", repo.upstream, "HEAD"], name=repo.name, cwd=d)
        for line in r.stdout.decode(errors="replace").splitlines():
            if line.startswith("ref: ") and line.endswith("\tHEAD"):
                head = line[5:].split("\t")[0]
                git(["symbolic-ref", "HEAD", head], name=repo.name, cwd=d)


def _is_local(url: str) -> bool:
    return url.startswith(("/", "file://"))


def push(repo: GateRepo, updates: Sequence[tuple[str, str, str]]) -> str:
    """Push ``(old, new, ref)`` updates upstream, all or none, each only if the upstream
    still has ``old`` there; git's report on failure."""
    args = ["push", "--porcelain", "--atomic", "--no-verify"]
    if _is_local(repo.upstream):
        # A local receive-pack would inherit the hook's quarantine and refuse to update refs.
        args.append("--receive-pack=env -u GIT_QUARANTINE_PATH git-receive-pack")
    refspecs = []
    for old, new, ref in updates:
        expected = "" if set(old) == {"0"} else old
        args.append(f"--force-with-lease={ref}:{expected}")
        refspecs.append(f":{ref}" if set(new) == {"0"} else f"{new}:{ref}")
    r = git([*args, repo.upstream, *refspecs], name=repo.name)
    if r.returncode != 0:
        raise UpstreamError((r.stderr + r.stdout).decode(errors="replace").strip())
    return r.stdout.decode(errors="replace")
