"""Two stops of one bottle at once, on a real engine: an operator's (a capability approval)
and the attached session's own, which ends under it and settles."""

from __future__ import annotations

import threading
import uuid

import pytest
from bot_bottle_docker import names, teardown

pytestmark = pytest.mark.docker


def test_two_stops_racing_both_finish_and_leave_nothing(docker_client, base_image):
    slug = f"race-{uuid.uuid4().hex[:5]}"
    labels = names.labels(slug, "race", "agent")
    net = docker_client.networks.create(f"bb-{slug}-net", labels=labels, internal=True)
    for role in ("agent", "sidecars"):
        docker_client.containers.run(
            base_image,
            ["sleep", "infinity"],
            name=f"bb-{slug}-{role}",
            labels=names.labels(slug, "race", role),
            network=net.name,
            runtime="runsc",  # slow to remove: the second removal finds the first under way
            detach=True,
        )
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def stop() -> None:
        barrier.wait()
        try:
            teardown.stop(docker_client, slug, True, lambda line: None)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=stop) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures
    mine = {"label": f"{names.LABEL_SLUG}={slug}"}
    assert not docker_client.containers.list(all=True, filters=mine)
    assert not docker_client.networks.list(filters=mine)
