"""Token slots: the only credentials egress can inject, and where each may go.

The backend puts each real token in its own variable, ``BOT_BOTTLE_SECRET_<ref>``,
and binds every slot to the hosts whose routes may use it
(``BOT_BOTTLE_TOKEN_SLOTS``, JSON ``{"ref": ["host", ...]}``); both are fixed
when the bundle starts. A route's ``auth.token_ref`` names a slot, so a routes
file (or a route an agent talked an operator into) can neither make egress send
some other variable of its environment nor one host's token to another host.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot_bottle_sidecars import layout
from bot_bottle_sidecars.routes import Route

__all__ = ["TokenSlots"]


@dataclass(frozen=True)
class TokenSlots:
    hosts: Mapping[str, frozenset[str]]  # token_ref -> hosts allowed to use it
    values: Mapping[str, str]  # token_ref -> token

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TokenSlots:
        """``ValueError`` when the binding is malformed."""
        env = os.environ if env is None else env
        raw = env.get(layout.ENV_TOKEN_SLOTS) or "{}"
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{layout.ENV_TOKEN_SLOTS} is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or not all(
            isinstance(hosts, list) and all(isinstance(h, str) for h in hosts)
            for hosts in data.values()
        ):
            raise ValueError(f'{layout.ENV_TOKEN_SLOTS} must be {{"ref": ["host", ...]}}')
        values = {}
        for ref in data:
            value = env.get(f"{layout.ENV_TOKEN_PREFIX}{ref}")
            if value:
                values[ref] = value
        return cls({ref: frozenset(hosts) for ref, hosts in data.items()}, values)

    def problems(self, routes: Iterable[Route]) -> list[str]:
        """Why a route's ``auth`` cannot be served from these slots (one line each)."""
        out = []
        for route in routes:
            if route.auth is None:
                continue
            ref = route.auth.token_ref
            if ref not in self.hosts:
                out.append(
                    f"route {route.host}: token_ref {ref} is not a token slot of this bottle"
                )
            elif route.host not in self.hosts[ref]:
                bound = ", ".join(sorted(self.hosts[ref])) or "no host"
                out.append(
                    f"route {route.host}: token slot {ref} belongs to {bound}, not {route.host}"
                )
            elif ref not in self.values:
                out.append(f"route {route.host}: token slot {ref} holds no token")
        return out

    def token(self, route: Route) -> str | None:
        """The token ``route`` may send, or None (no auth, or not allowed for its host)."""
        if route.auth is None:
            return None
        ref = route.auth.token_ref
        if route.host not in self.hosts.get(ref, ()):
            return None
        return self.values.get(ref)
