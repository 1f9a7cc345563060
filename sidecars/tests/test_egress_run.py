"""The egress launcher's command line (no process started here)."""

from __future__ import annotations

import sys
from pathlib import Path

import certifi
from bot_bottle_sidecars import layout
from bot_bottle_sidecars.egress import run


def _sets(args: list[str]) -> dict[str, str]:
    out = {}
    for i, arg in enumerate(args):
        if arg == "--set":
            key, _, value = args[i + 1].partition("=")
            out[key] = value
    return out


def test_defaults_match_the_layout():
    args = run.mitmdump_args({})
    # Loopback unless a backend names the bottle's internal address: never every interface.
    assert args[:4] == ["--listen-host", "127.0.0.1", "--listen-port", "8080"]
    sets = _sets(args)
    assert sets == {
        "confdir": layout.EGRESS_CONFDIR,
        "egress_routes": layout.EGRESS_ROUTES,
        "egress_ready_file": layout.EGRESS_READY_FILE,
        "connection_strategy": "lazy",
        "stream_large_bodies": "1m",
        "flow_detail": "0",
        "termlog_verbosity": "warn",
        "onboarding": "false",
        "http2": "false",
    }


def test_environment_overrides(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {
        layout.ENV_EGRESS_ROUTES: "/r.json",
        layout.ENV_EGRESS_READY_FILE: "/ready",
        layout.ENV_EGRESS_CONFDIR: "/conf",
        layout.ENV_EGRESS_LISTEN_HOST: "127.0.0.1",
        layout.ENV_EGRESS_PORT: "0",
        layout.ENV_UPSTREAM_CA: str(ca),
        layout.ENV_EGRESS_RESOLVE: '{"a.test": "127.0.0.1"}',
    }
    args = run.mitmdump_args(env)
    assert args[:4] == ["--listen-host", "127.0.0.1", "--listen-port", "0"]
    sets = _sets(args)
    assert sets["egress_routes"] == "/r.json"
    assert sets["egress_ready_file"] == "/ready"
    assert sets["confdir"] == "/conf"
    assert sets["ssl_verify_upstream_trusted_ca"] == str(ca)
    assert sets["egress_resolve"] == '{"a.test": "127.0.0.1"}'


def test_a_missing_upstream_ca_file_is_not_passed(tmp_path):
    env = {layout.ENV_UPSTREAM_CA: str(tmp_path / "nope.pem")}
    assert "ssl_verify_upstream_trusted_ca" not in _sets(run.mitmdump_args(env))
    assert run.upstream_trust_bundle({**env, layout.ENV_EGRESS_CONFDIR: str(tmp_path)}) is None


def test_upstream_trust_bundle_adds_the_extra_ca_to_the_public_ones(tmp_path):
    extra = tmp_path / "corp.pem"
    extra.write_text("-----BEGIN CERTIFICATE-----\nCORP\n-----END CERTIFICATE-----\n")
    confdir = tmp_path / "conf"
    path = run.upstream_trust_bundle(
        {layout.ENV_UPSTREAM_CA: str(extra), layout.ENV_EGRESS_CONFDIR: str(confdir)}
    )
    assert path == str(confdir / "upstream-trust.pem")
    text = (confdir / "upstream-trust.pem").read_text()
    assert text.startswith(Path(certifi.where()).read_text()[:200])
    assert text.endswith(extra.read_text())
    assert run.upstream_trust_bundle({}) is None


def test_command_runs_the_package_with_this_interpreter():
    assert run.command({}) == [sys.executable, "-m", "bot_bottle_sidecars.egress"]
