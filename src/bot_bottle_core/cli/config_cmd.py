"""``bot-bottle config check``: validate and show what was loaded."""

from __future__ import annotations

import json

import click

from ..config import Config, EnvValue
from ..preflight import describe_route
from .context import AppContext, pass_ctx


def register(cli: click.Group) -> None:
    cli.add_command(config)


@click.group()
def config() -> None:
    """Inspect the manifest and agent files."""


def _env_source(value: EnvValue) -> str:
    # Literal values may be secrets too: say where a value comes from, never what it is.
    return {"literal": "literal", "host": f"${{{value.value}}}", "prompt": "asked at start"}[
        value.kind
    ]


def _summary(cfg: Config, provider_names: set[str]) -> dict:
    return {
        "files": [str(f) for f in cfg.files],
        "settings": {
            "default_backend": cfg.settings.default_backend,
            "base_image": cfg.settings.base_image,
            "build_ca_bundle": str(cfg.settings.build_ca_bundle)
            if cfg.settings.build_ca_bundle
            else None,
        },
        "bottles": {
            name: {
                "source": str(b.source),
                "env": {k: _env_source(v) for k, v in sorted(b.env.items())},
                "routes": [describe_route(r) for r in b.egress.routes],
                "git": [f"{r.name} → {r.upstream_host_port}" for r in b.git.repos],
                "dockerfile": str(b.dockerfile) if b.dockerfile else None,
            }
            for name, b in sorted(cfg.bottles.items())
        },
        "agents": {
            name: {
                "source": str(a.source),
                "bottle": a.bottle,
                "provider": a.provider,
                "provider_installed": a.provider in provider_names,
                "label": a.label,
                "color": a.color,
                "skills": list(a.skills),
                "auth_token": a.auth_token,
            }
            for name, a in sorted(cfg.agents.items())
        },
    }


@config.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print what was loaded as JSON.")
@pass_ctx
def check(app: AppContext, as_json: bool) -> None:
    """Validate the configuration and print what it declares (never secret values)."""
    summary = _summary(app.config, set(app.plugins.names("provider")))
    if as_json:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    click.echo("Configuration is valid.")
    click.echo("files read:")
    for f in summary["files"] or ["(none)"]:
        click.echo(f"  {f}")
    settings = {k: v for k, v in summary["settings"].items() if v}
    if settings:
        click.echo("settings:")
        for k, v in settings.items():
            click.echo(f"  {k}: {v}")
    click.echo("bottles:")
    for name, b in summary["bottles"].items():
        click.echo(f"  {name}  ({b['source']})")
        for r in b["routes"]:
            click.echo(f"    egress  {r}")
        for g in b["git"]:
            click.echo(f"    git     {g}")
        for k, src in b["env"].items():
            click.echo(f"    env     {k} ({src})")
        if b["dockerfile"]:
            click.echo(f"    image   {b['dockerfile']}")
    click.echo("agents:")
    for name, a in summary["agents"].items():
        shown = f"{a['label']} ({name})" if a["label"] else name
        note = "" if a["provider_installed"] else "  [provider not installed]"
        click.echo(f"  {shown} → bottle {a['bottle']}, provider {a['provider']}{note}")
