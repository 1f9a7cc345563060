from __future__ import annotations

from bot_bottle_smolvm import plugin


def test_unavailable_without_the_binary(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    avail = plugin.is_available()
    assert not avail.available
    assert "smolvm binary is not on PATH" in avail.reason


def test_unavailable_without_kvm(monkeypatch, tmp_path):
    monkeypatch.setattr(plugin, "find_binary", lambda: "/usr/bin/smolvm")
    monkeypatch.setattr(plugin, "KVM", tmp_path / "kvm")
    avail = plugin.is_available()
    assert not avail.available and "/dev/kvm is missing" in avail.reason


def test_available_with_binary_and_kvm(monkeypatch, tmp_path):
    kvm = tmp_path / "kvm"
    kvm.write_text("")
    monkeypatch.setattr(plugin, "find_binary", lambda: "/usr/bin/smolvm")
    monkeypatch.setattr(plugin, "KVM", kvm)
    assert plugin.is_available().available
