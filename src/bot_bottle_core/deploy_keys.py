"""Per-bottle deploy keys: an ed25519 pair made here, registered by a git host plugin.

For a ``git.repos[]`` entry with ``provisioned_key``, the launch calls
:func:`create_deploy_key`: it makes a fresh key pair with ``ssh-keygen``, writes the
private key (OpenSSH format) to the one path the caller names -- the git
gate's key file, never the agent's -- and has the repo's git host plugin
register the public key. Teardown, a failed launch and ``cleanup`` call
:func:`revoke_deploy_key` with the :class:`ProvisionedDeployKey` kept from
then. The API token is read from the host variable ``token_ref`` names, at
both ends; it is never stored, shown or logged.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import attrs

from .config import GitRepo, ProvisionedKey
from .dispatch import Plugins
from .errors import BotBottleError, PluginError
from .plan import DeployKey, DeployKeyRequest


class DeployKeyError(BotBottleError):
    """A deploy key could not be made or revoked; ``str`` says what to do."""


class DeployKeyNotCreated(DeployKeyError):
    """No deploy key is registered and no private key file is left behind."""


class DeployKeyNotRevoked(DeployKeyError):
    """The key may still be registered: the message says how to revoke it by hand."""

    def __init__(self, message: str, provisioned: ProvisionedDeployKey) -> None:
        super().__init__(message)
        self.provisioned = provisioned


@attrs.frozen
class KeyPair:
    """An ed25519 pair: the private key in OpenSSH format, the public ``ssh-ed25519`` line."""

    private_openssh: str = attrs.field(repr=False)
    public_line: str


@attrs.frozen
class ProvisionedDeployKey:
    """A registered deploy key: everything revoking it needs except the token itself.

    Plain strings, so it can be kept in the bottle's state for a later teardown
    or ``cleanup``.
    """

    repo_name: str
    plugin: str
    token_ref: str
    key: DeployKey
    public_line: str


def generate_key_pair(comment: str) -> KeyPair:
    """A fresh ed25519 pair from ``ssh-keygen``, made in a temporary directory only this
    user can read and removed at once (the host needs no crypto library for it)."""
    exe = shutil.which("ssh-keygen")
    if exe is None:
        raise DeployKeyError(
            "ssh-keygen is not installed, and it makes the bottles' deploy keys "
            "(provisioned_key). Install OpenSSH's client (Debian: openssh-client)."
        )
    with tempfile.TemporaryDirectory(prefix="bot-bottle-key-") as d:
        path = Path(d) / "key"
        r = subprocess.run(
            [exe, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            raise DeployKeyError(
                f"ssh-keygen could not make a deploy key: {r.stderr.strip() or r.returncode}."
            )
        return KeyPair(
            path.read_text(encoding="ascii"), path.with_suffix(".pub").read_text().strip()
        )


def deploy_key_token(repo: GitRepo, environ: Mapping[str, str]) -> str:
    """The git host API token of ``repo``'s ``provisioned_key``, from the host's environment."""
    spec = _spec(repo)
    token = environ.get(spec.token_ref, "")
    if not token:
        raise DeployKeyError(
            f"Git repo '{repo.name}' has its deploy key made by the git host '{spec.plugin}' "
            f"with the API token in the host variable {spec.token_ref}, which is not set. "
            "Export it in the shell that runs bot-bottle; the token goes only to "
            f"{spec.api_url}, never into the bottle."
        )
    return token


def create_deploy_key(
    plugins: Plugins,
    *,
    slug: str,
    repo: GitRepo,
    environ: Mapping[str, str],
    private_key_path: Path,
    mode: int = 0o600,
) -> ProvisionedDeployKey:
    """Make bottle ``slug``'s key pair for ``repo``, register it, and write the private key.

    The private key goes to ``private_key_path`` only (created afresh with
    ``mode``; whatever was there is replaced). On failure nothing is left:
    no file, and no key on the git host.
    """
    spec = _spec(repo)
    token = deploy_key_token(repo, environ)
    plugins.git_host(spec.plugin)  # an unknown plugin is refused before anything is written
    pair = generate_key_pair(f"bot-bottle {slug}")
    # Write first: a path the key cannot go to is found before anything exists remotely.
    try:
        _write_private_key(private_key_path, pair.private_openssh, mode)
    except OSError as exc:
        raise DeployKeyNotCreated(
            f"Cannot write the deploy key of git repo '{repo.name}' (bottle {slug}) to "
            f"{private_key_path}: {exc.strerror or exc}. Nothing was registered on "
            f"{spec.api_url}."
        ) from None
    try:
        return _register(plugins, slug=slug, repo=repo, token=token, pair=pair)
    except BaseException:
        _unlink(private_key_path)
        raise


def register_deploy_key(
    plugins: Plugins, *, slug: str, repo: GitRepo, environ: Mapping[str, str]
) -> tuple[ProvisionedDeployKey, str]:
    """Make bottle ``slug``'s key pair for ``repo`` and register it; the record and the
    private key (OpenSSH), which the caller hands to the git gate and writes nowhere."""
    token = deploy_key_token(repo, environ)
    pair = generate_key_pair(f"bot-bottle {slug}")
    return _register(plugins, slug=slug, repo=repo, token=token, pair=pair), pair.private_openssh


def _register(
    plugins: Plugins, *, slug: str, repo: GitRepo, token: str, pair: KeyPair
) -> ProvisionedDeployKey:
    spec = _spec(repo)
    host = plugins.git_host(spec.plugin)
    request = DeployKeyRequest(
        slug=slug,
        api_url=spec.api_url,
        repo=spec.repo,
        public_key=pair.public_line,
        token=token,
        read_only=spec.read_only,
    )
    try:
        key = host.deploy_key_create(request)
    except BotBottleError as exc:
        raise DeployKeyNotCreated(
            f"No deploy key for git repo '{repo.name}' (bottle {slug}): {exc}"
        ) from None
    if not isinstance(key, DeployKey):
        raise PluginError(
            f"The git host plugin '{spec.plugin}' answered deploy_key_create for repo "
            f"'{spec.repo}' with {type(key).__name__}, not a DeployKey. A key titled "
            f"'bot-bottle {slug}' may be registered on {spec.api_url}: revoke it by hand, "
            "and report this to the plugin's authors."
        )
    return ProvisionedDeployKey(
        repo_name=repo.name,
        plugin=spec.plugin,
        token_ref=spec.token_ref,
        key=key,
        public_line=pair.public_line,
    )


def revoke_deploy_key(
    plugins: Plugins, provisioned: ProvisionedDeployKey, environ: Mapping[str, str]
) -> None:
    """Revoke a key :func:`create_deploy_key` registered; one already gone counts as revoked.

    Raise :class:`DeployKeyNotRevoked` when it may still be registered: its
    message names the repo, the key id and the API URL to revoke it by hand.
    """
    key = provisioned.key
    by_hand = f"Revoke deploy key {key.key_id} of repo '{key.repo}' at {key.api_url} by hand."
    token = environ.get(provisioned.token_ref, "")
    if not token:
        raise DeployKeyNotRevoked(
            f"Cannot revoke the deploy key of git repo '{provisioned.repo_name}': the host "
            f"variable {provisioned.token_ref} that holds the API token is not set. Export it "
            f"and run bot-bottle cleanup again, or: {by_hand}",
            provisioned,
        )
    try:
        plugins.git_host(provisioned.plugin).deploy_key_delete(key, token)
    except BotBottleError as exc:
        message = str(exc)
        # A third-party plugin's message may not say what to revoke; the operator must know.
        if key.key_id not in message or key.repo not in message:
            message = f"{message.rstrip()} {by_hand}"
        raise DeployKeyNotRevoked(message, provisioned) from None


def _spec(repo: GitRepo) -> ProvisionedKey:
    if repo.provisioned_key is None:
        raise DeployKeyError(
            f"Git repo '{repo.name}' has no provisioned_key: its key is the host file "
            "named by identity, and there is nothing to register."
        )
    return repo.provisioned_key


def _write_private_key(path: Path, text: str, mode: int) -> None:
    # Replace, never write through: O_EXCL refuses a symlink planted at the path.
    _unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "w") as out:
            os.fchmod(fd, mode)  # the umask must not decide who reads the key
            out.write(text)
    except BaseException:
        _unlink(path)
        raise


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
