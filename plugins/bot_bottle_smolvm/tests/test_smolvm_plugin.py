from __future__ import annotations

from pathlib import Path

from bot_bottle_smolvm import binary


def test_unavailable_without_any_cli(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(binary, "bundled_binary", lambda: None)
    avail = binary.availability()
    assert not avail.available
    assert "no smolvm CLI" in avail.reason and "pip install smolmachines" in avail.reason


def test_the_wheel_s_cli_is_used_when_none_is_on_path(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    found = binary.find_binary()
    assert found is not None and Path(found).name == "smol-vmm"


def test_the_user_s_own_smolvm_comes_first(monkeypatch, tmp_path):
    own = tmp_path / "smolvm"
    own.write_text("#!/bin/sh\n")
    own.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert binary.find_binary() == str(own)


def test_unavailable_without_kvm(monkeypatch, tmp_path):
    monkeypatch.setattr(binary, "KVM", tmp_path / "kvm")
    avail = binary.availability()
    assert not avail.available and "kvm is missing" in avail.reason


def test_available_with_a_cli_and_kvm(monkeypatch, tmp_path):
    kvm = tmp_path / "kvm"
    kvm.write_text("")
    monkeypatch.setattr(binary, "KVM", kvm)
    assert binary.availability().available
