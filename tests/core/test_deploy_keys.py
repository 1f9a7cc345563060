"""Per-bottle deploy keys: a real ed25519 pair, registered through the real gitea plugin
(loaded from its entry point) with a loopback fake of Gitea's deploy-key endpoints."""

from __future__ import annotations

import logging
import stat
import subprocess

import pytest
from bot_bottle_testing.fake_gitea import FakeGitea
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot_bottle_core import hookimpl
from bot_bottle_core.config import GitRepo, ProvisionedKey
from bot_bottle_core.deploy_keys import (
    DeployKeyError,
    DeployKeyNotCreated,
    DeployKeyNotRevoked,
    ProvisionedDeployKey,
    create_deploy_key,
    generate_key_pair,
    revoke_deploy_key,
)
from bot_bottle_core.dispatch import Plugins
from bot_bottle_core.plan import DeployKey
from bot_bottle_core.plugins import ONLY_ENV, _Candidate

pytest.importorskip("bot_bottle_gitea")

TOKEN = "gitea-tok-4e1d2c3b4a5f60718293a4b5c6d7e8f9"
ENV = {"GITEA_TOKEN": TOKEN}


@pytest.fixture
def gitea():
    with FakeGitea(token=TOKEN, repos={"acme/app"}) as fake:
        yield fake


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    return Plugins.load(environ={ONLY_ENV: "gitea"})


def repo(gitea: FakeGitea, *, read_only: bool = True, name: str = "app") -> GitRepo:
    key = ProvisionedKey(
        plugin="gitea",
        api_url=gitea.url + "/api/v1",
        repo="acme/app",
        token_ref="GITEA_TOKEN",
        read_only=read_only,
    )
    return GitRepo(name=name, upstream="ssh://git@gitea.test/acme/app.git", provisioned_key=key)


def create(plugins, gitea, tmp_path, slug="claude-ab12c", **kw) -> ProvisionedDeployKey:
    return create_deploy_key(
        plugins,
        slug=slug,
        repo=repo(gitea, **kw),
        environ=ENV,
        private_key_path=tmp_path / f"{slug}.key",
    )


def test_the_key_pair_is_a_valid_openssh_ed25519_pair(tmp_path):
    pair = generate_key_pair("bot-bottle claude-ab12c")
    private = serialization.load_ssh_private_key(pair.private_openssh.encode(), password=None)
    assert isinstance(private, Ed25519PrivateKey)
    assert pair.private_openssh.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    algo, blob, comment = pair.public_line.split(" ", 2)
    assert (algo, comment) == ("ssh-ed25519", "bot-bottle claude-ab12c")
    own = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert own.decode() == f"{algo} {blob}"
    assert "PRIVATE" not in repr(pair) and blob in repr(pair)

    # OpenSSH itself reads the private key back to the same public key.
    path = tmp_path / "id"
    path.write_text(pair.private_openssh)
    path.chmod(0o600)
    out = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert out.split()[:2] == [algo, blob]


def test_two_pairs_differ():
    assert generate_key_pair("a").public_line != generate_key_pair("a").public_line


@pytest.mark.parametrize("read_only", [True, False])
def test_create_registers_the_public_key_and_writes_only_the_private_key_file(
    plugins, gitea, tmp_path, read_only
):
    made = create(plugins, gitea, tmp_path, read_only=read_only)

    assert made.key == DeployKey(
        api_url=gitea.url + "/api/v1", repo="acme/app", key_id=made.key.key_id
    )
    assert (made.repo_name, made.plugin, made.token_ref) == ("app", "gitea", "GITEA_TOKEN")
    [sent] = gitea.requests
    assert sent.headers["Authorization"] == f"token {TOKEN}"
    assert sent.body == {
        "title": "bot-bottle claude-ab12c",
        "key": made.public_line,
        "read_only": read_only,
    }
    stored = gitea.keys_of("acme/app")[int(made.key.key_id)]
    assert stored["read_only"] is read_only

    # The one file written is the private key the caller named, readable by its owner only,
    # and it is the pair of the registered public key.
    [written] = tmp_path.iterdir()
    assert written == tmp_path / "claude-ab12c.key"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    private = serialization.load_ssh_private_key(written.read_bytes(), password=None)
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert public.decode() == stored["key"]


def test_revoke_removes_the_key_and_a_second_revoke_is_fine(plugins, gitea, tmp_path):
    made = create(plugins, gitea, tmp_path)
    revoke_deploy_key(plugins, made, ENV)
    assert gitea.keys_of("acme/app") == {}
    revoke_deploy_key(plugins, made, ENV)  # Gitea says 404: already gone
    assert [r.method for r in gitea.requests] == ["POST", "DELETE", "DELETE"]


def test_two_bottles_get_two_keys_and_revoking_one_leaves_the_other(plugins, gitea, tmp_path):
    one = create(plugins, gitea, tmp_path, slug="claude-aaaaa")
    two = create(plugins, gitea, tmp_path, slug="claude-bbbbb")
    assert one.key.key_id != two.key.key_id
    assert one.public_line.split()[1] != two.public_line.split()[1]
    assert (tmp_path / "claude-aaaaa.key").read_text() != (
        tmp_path / "claude-bbbbb.key"
    ).read_text()
    assert len(gitea.keys_of("acme/app")) == 2

    revoke_deploy_key(plugins, one, ENV)
    [left] = gitea.keys_of("acme/app").values()
    assert left["title"] == "bot-bottle claude-bbbbb"
    assert str(left["id"]) == two.key.key_id


def test_a_failed_revoke_names_the_repo_and_key_and_keeps_the_record(plugins, gitea, tmp_path):
    made = create(plugins, gitea, tmp_path)
    gitea.fail_next["DELETE"] = [500]
    with pytest.raises(DeployKeyNotRevoked) as err:
        revoke_deploy_key(plugins, made, ENV)
    msg = str(err.value)
    assert "\n" not in msg
    assert f"deploy key {made.key.key_id}" in msg and "acme/app" in msg and gitea.url in msg
    assert "by hand" in msg
    assert err.value.provisioned == made
    assert int(made.key.key_id) in gitea.keys_of("acme/app")


def test_a_refused_create_leaves_no_file_and_no_key(plugins, gitea, tmp_path):
    with pytest.raises(DeployKeyNotCreated) as err:
        create_deploy_key(
            plugins,
            slug="claude-ab12c",
            repo=repo(gitea),
            environ={"GITEA_TOKEN": "wrong"},
            private_key_path=tmp_path / "id",
        )
    assert "HTTP 401" in str(err.value) and "'app'" in str(err.value)
    assert list(tmp_path.iterdir()) == []
    assert gitea.keys_of("acme/app") == {}


def test_an_unset_token_variable_is_named_before_anything_happens(plugins, gitea, tmp_path):
    with pytest.raises(DeployKeyError, match="GITEA_TOKEN, which is not set"):
        create_deploy_key(
            plugins,
            slug="claude-ab12c",
            repo=repo(gitea),
            environ={},
            private_key_path=tmp_path / "id",
        )
    assert list(tmp_path.iterdir()) == [] and gitea.requests == []


def test_an_unwritable_key_path_registers_nothing(plugins, gitea, tmp_path):
    with pytest.raises(DeployKeyNotCreated, match="Nothing was registered"):
        create_deploy_key(
            plugins,
            slug="claude-ab12c",
            repo=repo(gitea),
            environ=ENV,
            private_key_path=tmp_path / "missing-dir" / "id",
        )
    assert gitea.requests == []


def test_a_symlink_at_the_key_path_is_replaced_not_written_through(plugins, gitea, tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("untouched")
    link = tmp_path / "id"
    link.symlink_to(target)
    create_deploy_key(
        plugins, slug="claude-ab12c", repo=repo(gitea), environ=ENV, private_key_path=link
    )
    assert target.read_text() == "untouched"
    assert not link.is_symlink() and "OPENSSH PRIVATE KEY" in link.read_text()


def test_a_plugin_whose_error_does_not_say_what_to_revoke_gets_it_added(tmp_path):
    class Quiet:
        @hookimpl
        def deploy_key_delete(self, key, token):
            raise RuntimeError("boom")

    plugins = Plugins.load(
        environ={ONLY_ENV: "quiet"},
        candidates=[_Candidate("quiet", "git_host", "quiet-dist", "1.0", lambda: Quiet())],
    )
    made = ProvisionedDeployKey(
        repo_name="app",
        plugin="quiet",
        token_ref="GITEA_TOKEN",
        key=DeployKey(api_url="https://git.example/api/v1", repo="acme/app", key_id="77"),
        public_line="ssh-ed25519 AAAA x",
    )
    with pytest.raises(DeployKeyNotRevoked) as err:
        revoke_deploy_key(plugins, made, ENV)
    assert str(err.value).endswith(
        "Revoke deploy key 77 of repo 'acme/app' at https://git.example/api/v1 by hand."
    )


def test_the_token_never_shows(plugins, gitea, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    made = create(plugins, gitea, tmp_path)
    texts = [repr(made)]
    gitea.fail_next["DELETE"] = [500]
    gitea.fail_message = f"token {TOKEN} rejected"
    with pytest.raises(DeployKeyNotRevoked) as err:
        revoke_deploy_key(plugins, made, ENV)
    texts += [str(err.value), repr(err.value), caplog.text]
    revoke_deploy_key(plugins, made, ENV)
    texts.append(caplog.text)
    assert caplog.records  # the plugin did log
    for text in texts:
        assert TOKEN not in text
