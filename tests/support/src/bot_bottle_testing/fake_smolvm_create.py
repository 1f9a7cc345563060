"""``machine create`` for the fake smolvm CLI: the checks the real one makes, then a record.

Nothing is pulled, unpacked or resolved over the network: a registry reference
is kept as written, a local archive (or ``-`` on stdin) becomes
``local:<sha256 of its bytes>`` and a directory ``local-dir:<real path>``,
exactly the ``image`` the real CLI records. ``--allow-host`` names are
resolved from ``/etc/hosts`` only (the real CLI asks the system resolver; on
these hosts only ``/etc/hosts`` answers), so the fake never sends a DNS query.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import secrets
import sys
import time
from pathlib import Path

from bot_bottle_testing.fake_smolvm_args import Option, Parsed, SmolError, UsageError, parse_count
from bot_bottle_testing.fake_smolvm_machine import CREATE_FAILURE
from bot_bottle_testing.fake_smolvm_store import DEFAULT_CPUS, DEFAULT_MEMORY_MIB, Machine, Store

OPTIONS = (
    Option("--name", "name", short="-n", metavar="NAME"),
    Option("--label", "label", kind="multi", metavar="KEY=VALUE"),
    Option("--image", "image", short="-I", metavar="IMAGE"),
    Option("--cpus", "cpus", metavar="N"),
    Option("--mem", "mem", metavar="MiB"),
    Option("--net", "net", kind="flag"),
    Option("--allow-host", "allow_host", kind="multi", metavar="HOSTNAME"),
    Option("--allow-cidr", "allow_cidr", kind="multi", metavar="CIDR"),
    Option("--outbound-localhost-only", "localhost_only", kind="flag"),
    Option(
        "--port",
        "port",
        short="-p",
        kind="multi",
        metavar="PORT[-END]|HOST[-END]:GUEST[-END][/udp]",
    ),
    Option(
        "--volume", "volume", short="-v", kind="multi", metavar="HOST|REMOTE:GUEST[:ro|rw|staged]"
    ),
    Option("--env", "env", short="-e", kind="multi", metavar="KEY=VALUE"),
    Option("--workdir", "workdir", short="-w", metavar="DIR"),
)
NAME_ENV = "SMOLVM_MACHINE_NAME"
LOCALHOST_ONLY = ["127.0.0.0/8", "::1/128"]
_PORT = re.compile(r"^\d+(-\d+)?(:\d+(-\d+)?)?(/udp)?$")


def config_error(what: str) -> SmolError:
    return SmolError("CONFIG_ERROR", f"config operation failed: {what}")


def create(store: Store, args: Parsed) -> int:
    name = args.value("name")
    if name is None:
        name = os.environ.get(NAME_ENV) or f"vm-{secrets.token_hex(4)}"
    _check_name(name)
    labels = _labels(args.multi("label"))
    ports = [_port(p) for p in args.multi("port")]
    mounts = [_mount(v) for v in args.multi("volume")]
    image = _image(args.value("image"))
    hosts = args.multi("allow_host")
    cidrs = args.multi("allow_cidr") + [c for h in hosts for c in _resolve(h)]
    localhost_only = args.flag("localhost_only")
    if localhost_only:
        cidrs += LOCALHOST_ONLY
    machine = Machine(
        name=name,
        image=image,
        created_at=int(time.time()),
        cpus=parse_count(args.value("cpus"), "--cpus <N>", DEFAULT_CPUS),
        memory_mib=parse_count(args.value("mem"), "--mem <MiB>", DEFAULT_MEMORY_MIB),
        labels=labels,
        network=args.flag("net") or bool(hosts or cidrs or localhost_only),
        cmd=args.command,
        env=args.multi("env"),
        workdir=args.value("workdir"),
        mounts=mounts,
        ports=ports,
        allowed_cidrs=cidrs if (hosts or cidrs or localhost_only) else None,
        allowed_hosts=hosts or None,
    )
    with store.locked() as machines:
        if name in machines:
            raise config_error(
                f"create machine: machine '{name}' already exists or is being created"
            )
        machines[name] = machine
    if store.take_fault("create-fails"):
        raise SmolError("SMOLVM_ERROR", CREATE_FAILURE)
    print(f"Created machine: {name}")
    print(f"  CPUs: {machine.cpus}, Memory: {machine.memory_mib} MiB")
    if mounts:
        print(f"  Mounts: {len(mounts)}")
    if ports:
        print(f"  Ports: {len(ports)}")
    print()
    print(f"Use 'smolvm machine start --name {name}' to start the machine")
    print(f"Then use 'smolvm machine exec --name {name} -- <command>' to run commands")
    return 0


def _check_name(name: str) -> None:
    problem = None
    if not name:
        problem = "machine name cannot be empty"
    elif len(name) > 128:
        problem = f"machine name too long: {len(name)} characters (max 128)"
    elif "/" in name or "\\" in name:
        problem = "machine name cannot contain path separators"
    elif not (name[0].isascii() and name[0].isalnum()):
        problem = f'machine name must start with a letter or digit (got: "{name}")'
    else:
        bad = next((c for c in name if not (c.isascii() and (c.isalnum() or c in "-_"))), None)
        if bad is not None:
            problem = f"machine name contains invalid character: '{bad}'"
    if problem:
        raise config_error(f"create machine: {problem}")


def _labels(given: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in given:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise config_error(f"--label: expected KEY=VALUE, got '{item}'")
        labels[key] = value
    return labels


def _port(spec: str) -> str:
    if not _PORT.match(spec):
        raise UsageError(
            f"invalid value '{spec}' for '--port <PORT[-END]|HOST[-END]:GUEST[-END][/udp]>': "
            f"invalid port: {spec}"
        )
    return spec


def _mount(spec: str) -> str:
    host, sep, _guest = spec.partition(":")
    if not sep:
        if spec.startswith("/"):
            return spec  # a directory on the machine's own disk
        raise SmolError(
            "MOUNT_ERROR",
            f"invalid mount path: invalid format '{spec}' (expected host:guest[:ro|:rw|:staged])",
        )
    if not Path(host).exists():
        raise SmolError("NOT_FOUND", f"mount source not found: {host}")
    return spec


def _is_local(image: str) -> bool:
    return (
        image == "-"
        or image.startswith(("/", "./", "../"))
        or image.endswith((".tar", ".tar.gz", ".tgz"))
    )


def _image(image: str | None) -> str | None:
    if image is None or not _is_local(image):
        return image
    if image == "-":
        return "local:" + hashlib.sha256(sys.stdin.buffer.read()).hexdigest()
    path = Path(image)
    if not path.exists():
        raise config_error(
            f"--image: cannot read archive {image}: No such file or directory (os error 2)"
        )
    if path.is_dir():
        return "local-dir:" + os.path.realpath(path)
    if path.name.lower().startswith("dockerfile") or path.name.lower().endswith(".dockerfile"):
        raise config_error(
            f"--image: {image} looks like a Dockerfile, not an image.\n"
            "smolvm boots images, it does not build them \u2014 build first, then pass the "
            "result:\n  docker build -t myapp . && docker save myapp | smolvm machine run "
            "--image - -- ..."
        )
    digest = hashlib.sha256()
    with path.open("rb") as archive:
        for chunk in iter(lambda: archive.read(1 << 20), b""):
            digest.update(chunk)
    return "local:" + digest.hexdigest()


def _resolve(host: str) -> list[str]:
    try:
        return [_cidr(str(ipaddress.ip_address(host)))]
    except ValueError:
        pass
    found: list[str] = []
    try:
        lines = Path("/etc/hosts").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        words = line.split("#", 1)[0].split()
        if len(words) > 1 and host in words[1:]:
            found.append(_cidr(words[0]))
    if not found:
        raise config_error(
            f"--allow-host: failed to resolve '{host}': failed to lookup address "
            "information: Name or service not known"
        )
    return found


def _cidr(address: str) -> str:
    return f"{address}/{ipaddress.ip_address(address).max_prefixlen}"
