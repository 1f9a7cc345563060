"""Start, attach and stop from the dashboard: the lifecycle commands' own functions.

``n`` starts through :func:`~bot_bottle_core.cli.lifecycle.launch_new` (the
steps of ``bot-bottle start`` before it attaches), Enter re-enters through
:func:`~bot_bottle_core.cli.lifecycle.attach_target` (``bot-bottle attach``;
inside tmux the right-hand pane runs that very command), ``x`` stops through
:func:`~bot_bottle_core.cli.lifecycle.stop_bottle` (``bot-bottle stop``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import NotAvailableYet

# The lifecycle and preparation modules load when a key first needs them: the
# dashboard's first paint does not wait for what only starting or attaching uses.
if TYPE_CHECKING:
    from ..cli.context import AppContext
    from ..cli.lifecycle import AttachTarget
    from ..preparation import Ask, Prepared

Echo = Callable[[str], None]


class Bottles:
    def __init__(self, app: AppContext) -> None:
        self.app = app
        # Bottles this dashboard started: the only ones `x` stops.
        self.owned: set[str] = set()

    def agent_names(self) -> list[str]:
        return sorted(self.app.config.agents)

    def launch_backends(self) -> list[str]:
        """Backends that can start a bottle here, the one `start` would pick first."""
        plugins = self.app.plugins
        names = [
            n
            for n in plugins.names("backend")
            if plugins.backend(n).implements("launch")
            and plugins.backend(n).is_available().available
        ]
        from ..preparation import choose_backend

        try:
            default = choose_backend(plugins, self.app.config, None).name
        except Exception:  # no usable default: the order as installed
            return names
        return sorted(names, key=lambda n: n != default)

    def start(
        self, agent: str, backend_name: str | None, *, ask: Ask, confirm, echo: Echo
    ) -> Prepared | None:
        """Plan, confirm and launch ``agent``; the prepared bottle, or None when declined."""
        from ..cli import lifecycle
        from ..preparation import choose_backend, find_agent

        spec = find_agent(self.app.config, agent)
        backend = choose_backend(self.app.plugins, self.app.config, backend_name)
        if not backend.implements("launch"):
            raise NotAvailableYet(f"starting a bottle on the {backend.name} backend")
        prepared = lifecycle.launch_new(
            self.app, spec, backend, ask=ask, confirm=confirm, echo=echo
        )
        if prepared is not None:
            self.owned.add(prepared.request.slug)
        return prepared

    def attach_target(self, slug: str) -> AttachTarget:
        from ..cli import lifecycle

        return lifecycle.attach_target(self.app, slug, tty=True)

    def attach_here(self, target: AttachTarget) -> int:
        from ..cli import lifecycle

        return lifecycle.attach_foreground(self.app, target)

    def attach_command(self, slug: str) -> list[str]:
        """``bot-bottle attach SLUG``, as this same installation runs it."""
        return [sys.executable, "-m", "bot_bottle_core", "attach", slug]

    def stop(self, slug: str, echo: Echo) -> str:
        from ..cli import lifecycle

        done = lifecycle.stop_bottle(self.app, slug, echo)
        self.owned.discard(slug)
        return done
