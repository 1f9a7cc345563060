"""IPv6 is switched off in the agent's namespace only where the kernel has it."""

from __future__ import annotations

from pathlib import Path

import pytest
from bot_bottle_docker import ipv6


def test_sysctls_only_where_the_kernel_has_ipv6():
    assert ipv6.agent_sysctls(True) == {
        "net.ipv6.conf.all.disable_ipv6": "1",
        "net.ipv6.conf.default.disable_ipv6": "1",
    }
    # runc fails to start a container on a sysctl with no file.
    assert ipv6.agent_sysctls(False) == {}


@pytest.mark.docker
def test_the_kernel_is_asked_inside_a_container(docker_client, base_image):
    c = docker_client.containers.run(
        base_image,
        ["sleep", "infinity"],
        network_mode="none",
        labels={"bot-bottle.test": "1"},
        detach=True,
    )
    try:
        # The engine is local in the tests: its kernel is this one.
        out = c.exec_run(["sh", "-c", ipv6.PROBE]).output.decode()
        assert ipv6.kernel_has_ipv6(out) is Path("/proc/sys/net/ipv6").is_dir()
    finally:
        c.remove(force=True)
