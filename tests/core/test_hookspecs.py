"""The hook specifications are one documented, grouped module."""

from __future__ import annotations

import inspect

from bot_bottle_core import hookspecs


def _specs():
    return {
        name: fn
        for name, fn in vars(hookspecs).items()
        if callable(fn) and hasattr(fn, f"{hookspecs.PROJECT}_spec")
    }


def test_every_hook_has_a_docstring():
    specs = _specs()
    assert len(specs) >= 15
    undocumented = [n for n, fn in specs.items() if len((fn.__doc__ or "").strip()) < 20]
    assert undocumented == []


def test_every_hook_belongs_to_exactly_one_kind():
    groups = [*hookspecs.KIND_HOOKS.values(), hookspecs.COMMON_HOOKS]
    for name in _specs():
        assert sum(name in g for g in groups) == 1, name
    assert set().union(*groups) == set(_specs())


def test_every_hook_is_typed():
    for name, fn in _specs().items():
        sig = inspect.signature(fn)
        assert sig.return_annotation is not inspect.Signature.empty, name
        for p in sig.parameters.values():
            assert p.annotation is not inspect.Parameter.empty, f"{name}({p.name})"


def test_issue_named_hooks_exist():
    wanted = {
        "prepare",
        "launch",
        "enumerate_active",
        "prepare_cleanup",
        "cleanup",
        "is_available",
        "agent_argv",
        "provision_prompt",
        "provision_skills",
        "provision_settings",
        "provision_supervise",
        "provision_auth",
        "agent_dockerfile",
        "agent_guest_home",
        "deploy_key_create",
        "deploy_key_delete",
    }
    assert wanted <= set(_specs())


def test_importing_hookimpl_does_not_load_the_models():
    """Every plugin starts with ``from bot_bottle_core import hookimpl``: that import
    stays light (the hook signatures' types are for type checkers only), and so does
    the command line's package until a command runs."""
    import subprocess
    import sys

    code = (
        "import sys, bot_bottle_core, bot_bottle_core.cli, bot_bottle_core.cli.context\n"
        "heavy = ['bot_bottle_core.config.models', 'bot_bottle_core.plan',"
        " 'bot_bottle_core.cli.main']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_console_script_is_the_function_whatever_was_imported_first():
    """``bot-bottle`` names a function that no submodule import can shadow."""
    from importlib.metadata import entry_points

    import bot_bottle_core.cli.main  # noqa: F401  (what shadowed a package-level main)

    (script,) = entry_points(group="console_scripts", name="bot-bottle")
    assert callable(script.load())
