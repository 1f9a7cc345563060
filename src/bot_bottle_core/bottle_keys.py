"""The deploy keys a bottle holds while its containers exist.

A repo with ``provisioned_key`` gets a fresh key at every launch (the private half
goes to the git gate only, through the backend) and loses it whenever the bottle's
containers go: a stop, a failed launch, a bottle stopped for a new image. Each
registered key is recorded in the bottle's state (``deploy-keys.json``: ids, never
a secret) before anything else happens, so a key whose revocation failed is still
known to ``cleanup``, which tries again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from .config import GitRepo
from .deploy_keys import (
    DeployKeyNotRevoked,
    ProvisionedDeployKey,
    register_deploy_key,
    revoke_deploy_key,
)
from .dispatch import Backend, Plugins
from .errors import BotBottleError
from .hookspecs import Progress
from .state import write_json_atomic

RECORD = "deploy-keys.json"


class KeysNotRevoked(BotBottleError):
    """Deploy keys that may still be registered; the message says what to revoke."""


@attrs.frozen
class BottleKeys:
    plugins: Plugins
    state_dir: Path

    @property
    def record(self) -> Path:
        return self.state_dir / RECORD

    def held(self) -> list[ProvisionedDeployKey]:
        import cattrs  # not on every command's path (list active stays light)

        try:
            data = json.loads(self.record.read_text(encoding="utf-8"))
            return cattrs.structure(data, list[ProvisionedDeployKey])
        except FileNotFoundError:
            return []
        except (ValueError, TypeError, cattrs.BaseValidationError):
            raise BotBottleError(
                f"The deploy key record {self.record} is not readable. Its keys may still be "
                "registered on the git host: revoke the bottle's deploy keys (titled "
                f"'bot-bottle {self.state_dir.name}') by hand, then delete the file."
            ) from None

    def _write(self, keys: Sequence[ProvisionedDeployKey]) -> None:
        import cattrs

        if keys:
            write_json_atomic(self.record, cattrs.unstructure(list(keys)))
        else:
            self.record.unlink(missing_ok=True)

    def mint(
        self, slug: str, repos: Sequence[GitRepo], environ: Mapping[str, str]
    ) -> dict[str, str]:
        """Register a key for each ``provisioned_key`` repo; their private keys by repo name.
        On failure, the ones already registered are revoked again."""
        private: dict[str, str] = {}
        held = self.held()
        try:
            for repo in repos:
                if repo.provisioned_key is None:
                    continue
                provisioned, key = register_deploy_key(
                    self.plugins, slug=slug, repo=repo, environ=environ
                )
                held.append(provisioned)
                self._write(held)  # known before it is used
                private[repo.name] = key
        except BaseException as exc:
            try:
                self.revoke(environ)
            except KeysNotRevoked as failed:
                if isinstance(exc, BotBottleError):  # say both: why, and what to revoke
                    raise BotBottleError(f"{exc} {failed}") from None
            raise
        return private

    def revoke(self, environ: Mapping[str, str] | None = None) -> None:
        """Revoke every key this bottle holds; raise, naming each one, if any may remain."""
        environ = os.environ if environ is None else environ
        left: list[ProvisionedDeployKey] = []
        problems: list[str] = []
        for key in self.held():
            try:
                revoke_deploy_key(self.plugins, key, environ)
            except DeployKeyNotRevoked as exc:
                left.append(key)
                problems.append(str(exc))
        self._write(left)
        if problems:
            raise KeysNotRevoked(
                " ".join(problems) + " (`bot-bottle cleanup` tries again while the record "
                f"{self.record} is there.)"
            )


def tear_down(
    backend: Backend, keys: BottleKeys, slug: str, *, preserve: bool, progress: Progress
) -> None:
    """Remove the bottle's containers, then the keys they held."""
    backend.stop(slug, preserve=preserve, progress=progress)
    keys.revoke()
