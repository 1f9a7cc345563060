"""Moving files in and out of containers as tar streams (the SDK's only way)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable
from pathlib import PurePosixPath

from docker.models.containers import Container


def tar_of(
    files: Iterable[tuple[str, bytes, int]],
    uid: int,
    gid: int,
    *,
    dirs: Iterable[str] = (),
    links: Iterable[tuple[str, str]] = (),
) -> bytes:
    """A tar owned by ``uid:gid``: ``dirs`` (mode 755), ``(name, data, mode)`` files,
    then ``(name, target)`` symbolic links.

    Links come last, so no file in the same tar is ever written through one.
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o755, uid, gid
            tar.addfile(info)
        for name, data, mode in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), mode, uid, gid
            tar.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, target, 0o777
            info.uid, info.gid = uid, gid
            tar.addfile(info)
    return buf.getvalue()


def tar_at(files: Iterable[tuple[str, bytes, int]], uid: int, gid: int) -> bytes:
    """A tar of files at absolute ``path``s, to put at ``/`` (the engine makes the parents)."""
    return tar_of(((p.lstrip("/"), data, mode) for p, data, mode in files), uid, gid)


def read_file(container: Container, path: str) -> bytes:
    """The contents of one regular file inside ``container``."""
    stream, _ = container.get_archive(path)
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.getmember(PurePosixPath(path).name)
        extracted = tar.extractfile(member)
        assert extracted is not None
        return extracted.read()


def snapshot(container: Container, paths: Iterable[str]) -> bytes:
    """One tar holding ``paths`` (files or trees) under their absolute names, minus '/'."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as dest:
        for path in paths:
            try:
                stream, _ = container.get_archive(path)
            except Exception:
                continue
            parent = str(PurePosixPath(path).parent).lstrip("/")
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as src:
                for member in src.getmembers():
                    data = src.extractfile(member) if member.isfile() else None
                    member.name = f"{parent}/{member.name}" if parent else member.name
                    dest.addfile(member, data)
    return out.getvalue()
