"""The docker backend's errors, each one paragraph a user can act on.

Kept apart from the SDK code so the listing path can raise them without
importing the docker SDK.
"""

from __future__ import annotations

from bot_bottle_core.errors import BotBottleError


class EngineUnavailable(BotBottleError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            f"Docker is not running or not reachable ({detail}). Start the Docker engine (for "
            "example `sudo systemctl start docker`, or `dockerd &`), check that `docker info` "
            "works for this user, or pick another backend with --backend."
        )


class BuildFailed(BotBottleError):
    def __init__(self, tag: str, error: str) -> None:
        super().__init__(
            f"Building the image {tag} failed: {error}. Fix the Dockerfile or the network "
            "access it needs (behind a TLS-intercepting proxy, set settings.build_ca_bundle "
            "in the manifest), then start again."
        )


class LaunchFailed(BotBottleError):
    pass


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
