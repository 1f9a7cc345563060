"""The gitea git host's hook implementations."""

from __future__ import annotations

import logging

from bot_bottle_core import hookimpl
from bot_bottle_core.errors import BotBottleError
from bot_bottle_core.plan import Availability, DeployKey, DeployKeyRequest

from .client import Answer, GiteaRepo, Unreachable

log = logging.getLogger(__name__)

# What the operator is told to look at when Gitea refuses the token.
_TOKEN_HINT = (
    "check that the host variable named by the repo's provisioned_key.token_ref holds a "
    "Gitea access token with the write:repository scope and admin rights on the repo"
)
_CREATE_HINTS = {
    401: f"Gitea refused the API token: {_TOKEN_HINT}.",
    403: f"The token may not manage this repo's deploy keys: {_TOKEN_HINT}.",
    404: "Gitea knows no such repo for this token: check provisioned_key.repo (owner/name) "
    "and api_url.",
    422: "Gitea refused the key; it may already be registered on this repo.",
}


@hookimpl
def is_available() -> Availability:
    # Needs nothing local: each repo names its Gitea's API URL.
    return Availability.yes()


def key_title(slug: str) -> str:
    """The title the key carries on Gitea: which tool made it and for which bottle."""
    return f"bot-bottle {slug}"


@hookimpl
def deploy_key_create(request: DeployKeyRequest) -> DeployKey:
    gitea = GiteaRepo(request.api_url, request.repo, request.token)
    title = key_title(request.slug)
    where = f"repo '{request.repo}' on Gitea at {gitea.shown_url}"
    try:
        answer = gitea.create(title, request.public_key.strip(), request.read_only)
    except Unreachable as exc:
        raise BotBottleError(
            f"Could not reach Gitea to create the deploy key '{title}' for {where}: {exc}. "
            "Check api_url and that Gitea is up. If the request got through, a key with that "
            "title may exist on the repo: revoke it by hand in the repo's Settings → Deploy Keys."
        ) from None
    if not answer.ok:
        hint = _CREATE_HINTS.get(answer.status, "Check that Gitea is up and try again.")
        raise BotBottleError(
            f"Gitea did not create the deploy key '{title}' for {where}: "
            f"{answer.detail(request.token)}. {hint}"
        )
    key_id = _key_id(answer)
    if key_id is None:
        raise BotBottleError(
            f"Gitea answered {answer.status} to creating the deploy key '{title}' for {where} "
            "but gave no key id, so bot-bottle cannot revoke it later: revoke the key with that "
            "title by hand in the repo's Settings → Deploy Keys, and check that api_url points "
            "at Gitea's API."
        )
    log.info("created deploy key %s (%s) for %s", key_id, title, where)
    return DeployKey(api_url=request.api_url, repo=request.repo, key_id=key_id)


@hookimpl
def deploy_key_delete(key: DeployKey, token: str) -> None:
    gitea = GiteaRepo(key.api_url, key.repo, token)
    what = f"deploy key {key.key_id} of repo '{key.repo}' on Gitea at {gitea.shown_url}"
    by_hand = (
        "The key may still give access to the repo: revoke it by hand in the repo's "
        f"Settings → Deploy Keys (key id {key.key_id})."
    )
    try:
        answer = gitea.delete(key.key_id)
    except Unreachable as exc:
        raise BotBottleError(f"Could not reach Gitea to revoke {what}: {exc}. {by_hand}") from None
    if answer.status == 404:
        # Already gone (revoked by hand, or an earlier teardown got through).
        log.info("%s was already gone", what)
        return
    if not answer.ok:
        hint = f" Gitea refused the API token: {_TOKEN_HINT}." if answer.status == 401 else ""
        raise BotBottleError(f"Could not revoke {what}: {answer.detail(token)}.{hint} {by_hand}")
    log.info("revoked %s", what)


def _key_id(answer: Answer) -> str | None:
    body = answer.body
    key_id = body.get("id") if isinstance(body, dict) else None
    # bool is an int; a JSON true is no id.
    if isinstance(key_id, int) and not isinstance(key_id, bool):
        return str(key_id)
    if isinstance(key_id, str) and key_id.strip().isdigit():
        return key_id.strip()
    return None
