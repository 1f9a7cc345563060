"""The docker backend's hook implementations."""

from __future__ import annotations

from bot_bottle_core import hookimpl
from bot_bottle_core.plan import Availability, BackendPlan, PrepareRequest

from . import engine
from .images import DEFAULT_BASE_IMAGE, agent_image_tag

GVISOR = "runsc"


@hookimpl
def is_available() -> Availability:
    try:
        engine.client(timeout=3).close()
    except engine.EngineUnavailable as exc:
        return Availability.no(str(exc))
    return Availability.yes()


@hookimpl
def prepare(request: PrepareRequest) -> BackendPlan:
    c = engine.client()
    try:
        runtime = GVISOR if GVISOR in engine.runtimes(c) else "runc"
    finally:
        c.close()
    base = request.settings.base_image or DEFAULT_BASE_IMAGE
    return BackendPlan(
        backend="docker",
        runtime=runtime,
        image=agent_image_tag(request.provider, request.dockerfile, base),
        details={"base image": base},
    )
