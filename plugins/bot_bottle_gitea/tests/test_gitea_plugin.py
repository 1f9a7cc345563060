"""The gitea git host against a loopback fake of Gitea's deploy-key endpoints.

The fake (:mod:`bot_bottle_testing.fake_gitea`) is a real HTTP server: these
tests see exactly the requests the plugin sends, headers and bodies included.
"""

from __future__ import annotations

import logging
import socket

import pytest
from bot_bottle_gitea import plugin
from bot_bottle_gitea.client import GiteaRepo
from bot_bottle_testing.fake_gitea import FakeGitea
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot_bottle_core.errors import BotBottleError
from bot_bottle_core.plan import DeployKey, DeployKeyRequest

TOKEN = "gt-7f3a9c1e5b2d4f60a8e1c3b5d7f9a0b2"
REPO = "acme/app"


def public_line(comment: str = "bot-bottle test") -> str:
    key = Ed25519PrivateKey.generate().public_key()
    raw = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return f"{raw.decode()} {comment}"


@pytest.fixture
def gitea():
    with FakeGitea(token=TOKEN, repos={REPO, "acme/other"}) as fake:
        yield fake


def request(gitea: FakeGitea, slug: str = "claude-ab12c", **kw) -> DeployKeyRequest:
    fields = {
        "slug": slug,
        "api_url": gitea.url,
        "repo": REPO,
        "public_key": public_line(),
        "token": TOKEN,
        "read_only": True,
    }
    fields.update(kw)
    return DeployKeyRequest(**fields)


def test_available_without_local_dependencies():
    assert plugin.is_available().available


@pytest.mark.parametrize("read_only", [True, False])
def test_create_registers_the_key_with_the_token_header_and_body(gitea, read_only):
    req = request(gitea, read_only=read_only)
    key = plugin.deploy_key_create(request=req)

    [sent] = gitea.requests
    assert sent.method == "POST"
    assert sent.path == "/api/v1/repos/acme/app/keys"
    assert sent.headers["Authorization"] == f"token {TOKEN}"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.body == {
        "title": "bot-bottle claude-ab12c",
        "key": req.public_key,
        "read_only": read_only,
    }
    [(key_id, stored)] = gitea.keys_of(REPO).items()
    assert key == DeployKey(api_url=gitea.url, repo=REPO, key_id=str(key_id))
    assert stored["read_only"] is read_only
    assert stored["key"] == " ".join(req.public_key.split()[:2])


def test_api_url_with_or_without_api_v1_reaches_the_same_endpoint(gitea):
    plugin.deploy_key_create(request=request(gitea, api_url=gitea.url + "/api/v1/"))
    plugin.deploy_key_create(request=request(gitea, slug="claude-zz999", api_url=gitea.url))
    assert [r.path for r in gitea.requests] == ["/api/v1/repos/acme/app/keys"] * 2
    assert len(gitea.keys_of(REPO)) == 2


def test_delete_revokes_the_key(gitea):
    key = plugin.deploy_key_create(request=request(gitea))
    plugin.deploy_key_delete(key=key, token=TOKEN)

    sent = gitea.requests[-1]
    assert (sent.method, sent.path) == ("DELETE", f"/api/v1/repos/acme/app/keys/{key.key_id}")
    assert sent.headers["Authorization"] == f"token {TOKEN}"
    assert gitea.keys_of(REPO) == {}


def test_delete_of_a_key_already_gone_is_success(gitea):
    key = plugin.deploy_key_create(request=request(gitea))
    plugin.deploy_key_delete(key=key, token=TOKEN)
    plugin.deploy_key_delete(key=key, token=TOKEN)  # Gitea answers 404 now
    assert gitea.requests[-1].method == "DELETE"
    assert [r.path for r in gitea.requests[-2:]] == [gitea.requests[-1].path] * 2


def test_delete_failing_on_the_server_is_one_paragraph_naming_repo_key_and_url(gitea):
    key = plugin.deploy_key_create(request=request(gitea))
    gitea.fail_next["DELETE"] = [500]
    with pytest.raises(BotBottleError) as err:
        plugin.deploy_key_delete(key=key, token=TOKEN)
    msg = str(err.value)
    assert "\n" not in msg
    assert f"deploy key {key.key_id}" in msg
    assert f"'{REPO}'" in msg
    assert gitea.url in msg
    assert "HTTP 500" in msg
    assert "revoke it by hand" in msg
    # The key is still there: the error is real, not a swallowed success.
    assert int(key.key_id) in gitea.keys_of(REPO)


def test_two_slugs_get_two_keys_and_deleting_one_leaves_the_other(gitea):
    one = plugin.deploy_key_create(request=request(gitea, slug="claude-aaaaa"))
    two = plugin.deploy_key_create(request=request(gitea, slug="claude-bbbbb"))
    assert one.key_id != two.key_id
    titles = {k["title"] for k in gitea.keys_of(REPO).values()}
    assert titles == {"bot-bottle claude-aaaaa", "bot-bottle claude-bbbbb"}

    plugin.deploy_key_delete(key=one, token=TOKEN)
    assert list(gitea.keys_of(REPO)) == [int(two.key_id)]


def test_a_wrong_token_is_refused_with_a_clear_error(gitea):
    with pytest.raises(BotBottleError) as err:
        plugin.deploy_key_create(request=request(gitea, token="not-the-token"))
    msg = str(err.value)
    assert "HTTP 401" in msg and "token_ref" in msg and REPO in msg
    assert gitea.keys_of(REPO) == {}

    key = plugin.deploy_key_create(request=request(gitea))
    with pytest.raises(BotBottleError) as err:
        plugin.deploy_key_delete(key=key, token="not-the-token")
    msg = str(err.value)
    assert "HTTP 401" in msg and "token_ref" in msg and "revoke it by hand" in msg
    assert int(key.key_id) in gitea.keys_of(REPO)


def test_an_unknown_repo_is_named(gitea):
    with pytest.raises(BotBottleError, match=r"HTTP 404.*provisioned_key\.repo"):
        plugin.deploy_key_create(request=request(gitea, repo="acme/nope"))


def test_an_unreachable_gitea_is_an_error_naming_what_to_revoke():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    key = DeployKey(api_url=url, repo=REPO, key_id="42")
    with pytest.raises(BotBottleError) as err:
        plugin.deploy_key_delete(key=key, token=TOKEN)
    msg = str(err.value)
    assert "Could not reach Gitea" in msg and "deploy key 42" in msg and url in msg
    assert "revoke it by hand" in msg and "\n" not in msg


def test_the_token_does_not_follow_a_redirect(gitea):
    with FakeGitea(token=TOKEN, repos={REPO}) as elsewhere:
        gitea.redirect_to = elsewhere.url
        with pytest.raises(BotBottleError, match="HTTP 302"):
            plugin.deploy_key_create(request=request(gitea))
        assert elsewhere.requests == []


def test_the_token_never_appears_in_messages_reprs_or_logs(gitea, caplog):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    req = request(gitea)
    seen += [repr(req), repr(GiteaRepo(gitea.url, REPO, TOKEN))]
    key = plugin.deploy_key_create(request=req)
    seen.append(repr(key))
    # A careless server echoing the token back in its error.
    gitea.fail_next["DELETE"] = [500]
    gitea.fail_message = f"cannot use token {TOKEN} here"
    with pytest.raises(BotBottleError) as err:
        plugin.deploy_key_delete(key=key, token=TOKEN)
    assert "cannot use token [token] here" in str(err.value)
    seen += [str(err.value), repr(err.value)]
    with pytest.raises(BotBottleError) as err:
        plugin.deploy_key_create(request=request(gitea, repo="acme/nope"))
    seen += [str(err.value), repr(err.value)]
    plugin.deploy_key_delete(key=key, token=TOKEN)
    seen.append(caplog.text)

    assert any("revoked deploy key" in r.getMessage() for r in caplog.records)
    for text in seen:
        assert TOKEN not in text
