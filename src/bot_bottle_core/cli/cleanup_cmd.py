"""``cleanup``: leftovers of every backend, deploy keys a teardown could not revoke, and
orphan state directories."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from ..bottle_keys import BottleKeys
from ..deploy_keys import ProvisionedDeployKey
from ..errors import BotBottleError
from ..launch_record import LaunchStatus
from ..plan import CleanupItem
from ..state import read_metadata
from .context import AppContext, echo_err, launch_status, pass_ctx

STATE_BACKEND = "state"
GIT_BACKEND = "git"


def _held_keys(
    app: AppContext, live: frozenset[str], warn: Callable[[list[str]], None]
) -> dict[str, list[ProvisionedDeployKey]]:
    """Deploy keys recorded for bottles that are not running, by slug."""
    held = {}
    for slug in app.store.slugs():
        if slug in live:
            continue
        try:
            keys = BottleKeys(app.plugins, app.store.path(slug)).held()
        except BotBottleError as exc:
            warn([str(exc)])
            continue
        if keys:
            held[slug] = keys
    return held


def _backend_of(app: AppContext, slug: str) -> str | None:
    try:
        return read_metadata(app.store.path(slug)).backend
    except BotBottleError:
        return None  # unreadable state cannot be resumed anyway


@click.command()
@click.option("--yes", "-y", is_flag=True, help="Do not ask before removing.")
@click.option("--dry-run", is_flag=True, help="Print what would be removed and exit.")
@click.option(
    "--all-homes",
    is_flag=True,
    help="Also offer what other bot-bottle homes made (their kept workspaces too).",
)
@pass_ctx
def cleanup(app: AppContext, yes: bool, dry_run: bool, all_homes: bool) -> None:
    """Remove leftovers of every backend and orphan state directories.

    Only what this bot-bottle home made (BOT_BOTTLE_HOME, or your user's
    default) is offered, unless --all-homes.
    """
    live_found = app.plugins.enumerate_active()
    statuses = {s: launch_status(app, s) for s in app.store.slugs()}
    # A launch whose bot-bottle is gone will never finish: its bottle is
    # leftovers even where the backend lists it. One whose bot-bottle still
    # runs is not, even before the backend lists it.
    incomplete = {s for s, st in statuses.items() if st is LaunchStatus.INCOMPLETE}
    starting = {s for s, st in statuses.items() if st is LaunchStatus.STARTING}
    live = frozenset({b.slug for b in live_found.results if b.slug not in incomplete} | starting)
    preserved = frozenset(s for s in app.store.slugs() if app.store.is_preserved(s))
    planned = app.plugins.prepare_cleanup(
        live, preserved, home_id=None if all_homes else app.store.home_id
    )
    warned: set[str] = set()

    def warn(problems: list[str]) -> None:
        for problem in problems:
            if problem not in warned:  # each hook call repeats a skipped backend's reason
                warned.add(problem)
                click.echo(f"warning: {problem}", err=True)

    warn(live_found.problems + planned.problems)
    # A backend whose running bottles could not be listed was told no slug is live:
    # every one of its bottles would look like a leftover.
    unlisted = sorted({i.backend for i in planned.results} - set(live_found.answered))
    for backend in unlisted:
        why = "its running bottles could not be listed"
        warn([f"{backend}: its leftovers are left alone this time ({why})."])
    offered = [i for i in planned.results if i.backend in live_found.answered]
    if live_found.failed:
        # Without every backend's live list an orphan cannot be told apart.
        orphans = []
        click.echo("warning: state directories are left alone this time.", err=True)
    else:
        orphans = [
            s
            for s in app.store.slugs()
            if s not in live
            and s not in preserved
            # A backend that cannot be asked here may still run this bottle.
            and _backend_of(app, s) not in live_found.skipped
        ]
    # Deploy keys of bottles whose containers are gone: a revocation that failed before.
    held = {} if live_found.failed else _held_keys(app, live, warn)
    key_items = [
        CleanupItem(GIT_BACKEND, "deploy key", f"{k.key.key_id} of {k.key.repo}", s)
        for s, keys in held.items()
        for k in keys
    ]
    items = offered + key_items + [CleanupItem(STATE_BACKEND, "state dir", s, s) for s in orphans]
    if not items:
        click.echo("Nothing to clean up.")
        if live_found.failed:
            sys.exit(1)
        return
    click.echo(f"Cleanup plan ({len(items)} items):")
    for item in items:
        click.echo(f"  [{item.backend}] {item.kind} {item.name}")
    if dry_run:
        click.echo("Dry run: nothing was removed.")
        if live_found.failed:
            sys.exit(1)
        return
    if not yes:
        if not sys.stdin.isatty():
            raise BotBottleError("No terminal to confirm on. Pass --yes to clean up.")
        if not click.confirm("Remove all of these?", default=False):
            click.echo("Nothing was removed.")
            sys.exit(1)
    outcome = app.plugins.cleanup(offered, progress=echo_err)
    failures = [o for o in outcome.results if not o.ok]
    unrevoked = set()
    for slug in held:
        echo_err(f"revoking the deploy keys of {slug}")
        try:
            BottleKeys(app.plugins, app.store.path(slug)).revoke()
        except BotBottleError as exc:
            unrevoked.add(slug)
            click.echo(f"failed: deploy keys of {slug}: {exc}", err=True)
    for slug in orphans:
        if slug in unrevoked:
            continue  # its record is how the next cleanup finds the keys
        echo_err(f"removing state dir {slug}")
        app.store.remove(slug)
    warn(outcome.problems)
    for f in failures:
        click.echo(f"failed: {f.item.kind} {f.item.name}: {f.error}", err=True)
    removed = (
        sum(o.ok for o in outcome.results)
        + sum(len(keys) for s, keys in held.items() if s not in unrevoked)
        + len([s for s in orphans if s not in unrevoked])
    )
    click.echo(f"Removed {removed} of {len(items)} items.")
    if failures or unrevoked or outcome.failed or planned.failed or live_found.failed:
        sys.exit(1)
