"""What supervision asks of a running bottle's backend: reload its routes, or stop it for a
new image with its state kept. Built from the plugins and the state store, for the CLI
(and the dashboard) to hand to :class:`~.supervision.Supervision`."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from .bottle_keys import BottleKeys, tear_down
from .dispatch import Plugins
from .errors import BotBottleError
from .plan import TRANSCRIPT_ARCHIVE
from .state import StateStore, read_metadata


@attrs.frozen
class BottleOps:
    plugins: Plugins
    store: StateStore
    echo: Callable[[str], None]

    def reload(self, slug: str) -> None:
        meta = read_metadata(self.store.path(slug))
        self.plugins.backend(meta.backend).reload_routes(slug)

    def stop_for_image(self, slug: str) -> None:
        """Snapshot the transcript, keep the state, stop the bottle: ``resume`` rebuilds it."""
        meta = read_metadata(self.store.path(slug))
        backend = self.plugins.backend(meta.backend)
        provider = self.plugins.provider(meta.provider)
        # Kept first: the bot-bottle attached to it must not take its state away when the
        # agent's session ends under it, whatever its exit status.
        self.store.mark_preserved(slug)
        try:
            backend.snapshot(
                slug, provider.agent_transcript_dirs(), self.store.path(slug) / TRANSCRIPT_ARCHIVE
            )
        except BotBottleError as exc:
            self.echo(f"warning: could not snapshot the transcript of {slug}: {exc}")
        keys = BottleKeys(self.plugins, self.store.path(slug))
        tear_down(backend, keys, slug, preserve=True, progress=self.echo)
