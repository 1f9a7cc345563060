"""Agent images and time to the agent's first screen, per provider.

For each provider's image: a cold build (no layer cache), a warm build (every
layer cached) and its size. Then `bot-bottle start AGENT --yes` in a real
pseudo-terminal until the agent's first screen is painted: claude's status
line showing the label, codex's main screen, the shell's prompt — all in the
same run, so the agents compare with the shell on equal terms.

The agents talk to the fake internet of the tests (tests/integration/
fake_internet.py), which answers under the real API host names: an agent
whose start-up calls went unanswered would wait on its retries (claude: 35 s),
which says nothing about the product. Nothing the agents send leaves the
machine; only the cold builds fetch packages (Debian, npm), as any first
build does.

    uv run python bench/agents.py [--providers claude,codex] [--runs 3] [--no-cold]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, os.path.dirname(__file__))
from _common import BASE_IMAGE  # noqa: E402
from fake_internet import BottleEnv, running_upstream  # noqa: E402
from terminal import screen_text  # noqa: E402

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
LABEL = "bench"
# What the provider's first screen shows once it is ready for input, as
# screen_text reads it (escapes and whitespace out).
READY = {
    "shell": "/workspace$",  # the prompt
    "claude": f"{LABEL}(claude)",  # its status line
    "codex": "AskCodextodoanything",  # its composer
}


def build_times(provider: str, cold: bool) -> str:
    import docker
    from bot_bottle_docker import images

    from bot_bottle_core.dispatch import Plugins

    client = docker.from_env()
    dockerfile = Plugins.load().provider(provider).agent_dockerfile()
    base = images.base_with_ca(client, BASE_IMAGE, CA_BUNDLE, lambda _line: None)
    tag = f"bot-bottle-bench/{provider}:build"

    def build(nocache: bool) -> float:
        t = time.perf_counter()
        for chunk in client.api.build(
            path=str(dockerfile.parent),
            dockerfile=dockerfile.name,
            tag=tag,
            buildargs={"BASE_IMAGE": base},
            nocache=nocache,
            rm=True,
            forcerm=True,
            decode=True,
        ):
            if "error" in chunk:
                raise SystemExit(f"{provider} image build failed: {chunk['error']}")
        return time.perf_counter() - t

    try:
        cold_s = f"cold {build(nocache=True):.0f} s, " if cold else ""
        warm_s = build(nocache=False)
        size = client.images.get(tag).attrs["Size"] / 1e6
    finally:
        client.images.remove(tag, noprune=False)
        client.close()
    return f"{provider} image: {cold_s}warm {warm_s:.2f} s, {size:.0f} MB"


def first_screen(home: Path, agent: str, env: dict[str, str]) -> float:
    """Seconds from `start` to the agent's ready screen; the bottle is stopped after."""
    fd, child = pty.openpty()
    # A fresh pty is 0x0, and a full-screen program draws nothing on it.
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot_bottle_core", "start", agent, "--yes", "--label", LABEL],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        cwd=home,
        start_new_session=True,
    )
    os.close(child)
    seen = b""
    title = f"\x1b]0;{LABEL} ({agent})\x07".encode()  # written as the agent is attached
    try:
        while True:
            if not select.select([fd], [], [], 300)[0]:
                raise SystemExit(f"{agent}: no first screen in 300 s: {seen[-2000:]!r}")
            try:
                seen += os.read(fd, 65536)
            except OSError:
                raise SystemExit(
                    f"{agent} ended before its first screen: {seen[-2000:]!r}"
                ) from None
            _, _, after = seen.partition(title)
            if READY[agent] in screen_text(after):
                return time.perf_counter() - t0
    finally:
        slug = seen.split(b"plan for ", 1)[1].split()[0].decode()
        subprocess.run(
            [sys.executable, "-m", "bot_bottle_core", "stop", slug],
            env=env,
            capture_output=True,
        )
        proc.kill()
        proc.wait()
        os.close(fd)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--providers", default="claude,codex")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-cold", action="store_true", help="skip the cold builds")
    args = ap.parse_args()
    providers = args.providers.split(",")
    for provider in providers:
        print(build_times(provider, cold=not args.no_cold), flush=True)
    import docker

    client = docker.from_env()
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_upstream(client, BASE_IMAGE, Path(tmp)) as upstream,
    ):
        bottles = BottleEnv(Path(tmp) / "home", upstream, BASE_IMAGE)
        home = bottles.home
        for provider in ["shell", *providers]:
            (home / "agents" / f"{provider}.md").write_text(
                f"---\nbottle: sec\nprovider: {provider}\nauth_token: BENCH_KEY\n---\n"
            )
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_BOTTLE_")}
        env.update(bottles.env, BENCH_KEY="bench-key-not-a-real-one", TERM="xterm-256color")
        for agent in ["shell", *providers]:
            first_screen(home, agent, env)  # the bottle image built and warm
            runs = [first_screen(home, agent, env) for _ in range(args.runs)]
            print(
                f"start -> {agent} first screen: median {statistics.median(runs):.2f} s "
                f"(min {min(runs):.2f}, max {max(runs):.2f}, {len(runs)} runs, images warm)",
                flush=True,
            )


if __name__ == "__main__":
    main()
