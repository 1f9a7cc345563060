"""resolve_env: literals, host variables, prompts."""

from __future__ import annotations

import pytest

from bot_bottle_core.config import ConfigError, EnvValue, ResolvedEnv, resolve_env

MANIFEST = """\
bottles:
  web:
    env:
      PLAIN: "text"
      TOKEN: "${HOST_TOKEN}"
      SECRET: "?Type the secret"
      PIN: "?"
"""


@pytest.fixture
def web(cfg):
    cfg.manifest(MANIFEST)
    return cfg.load().bottles["web"]


def only(bottle, *names):
    return {k: v for k, v in bottle.env.items() if k in names}


def test_literal(web):
    resolved = resolve_env(only(web, "PLAIN"), environ={}, ask=None, bottle=web)
    assert resolved == ResolvedEnv(values={"PLAIN": "text"}, names=("PLAIN",))


def test_host_variable_present(web):
    resolved = resolve_env(
        only(web, "PLAIN", "TOKEN"), environ={"HOST_TOKEN": "s3cret"}, ask=None, bottle=web
    )
    assert resolved.values == {"PLAIN": "text", "TOKEN": "s3cret"}
    assert resolved.names == ("PLAIN", "TOKEN")


def test_host_variable_missing_names_variable_and_path(web):
    with pytest.raises(ConfigError) as info:
        resolve_env(only(web, "TOKEN"), environ={"OTHER": "x"}, ask=None, bottle=web)
    err = info.value
    (problem,) = err.problems
    assert problem.file == web.source
    assert problem.path == "bottles.web.env.TOKEN"
    assert "HOST_TOKEN" in problem.message
    assert "not set" in problem.message
    assert str(err).startswith(f"Configuration error in {web.source}: bottles.web.env.TOKEN: ")


def test_missing_host_variable_is_reported_before_anything_is_asked(web):
    asked = []
    with pytest.raises(ConfigError):
        resolve_env(web.env, environ={}, ask=lambda n, p: asked.append(n) or "x", bottle=web)
    assert asked == []


def test_prompt_with_ask(web):
    calls = []

    def ask(name: str, prompt: str) -> str:
        calls.append((name, prompt))
        return f"answer-{name}"

    resolved = resolve_env(web.env, environ={"HOST_TOKEN": "t"}, ask=ask, bottle=web)
    assert calls == [("SECRET", "Type the secret"), ("PIN", "PIN")]
    assert resolved.values == {
        "PLAIN": "text",
        "TOKEN": "t",
        "SECRET": "answer-SECRET",
        "PIN": "answer-PIN",
    }
    assert resolved.names == ("PLAIN", "TOKEN", "SECRET", "PIN")


def test_prompt_without_ask_is_an_error(web):
    with pytest.raises(ConfigError) as info:
        resolve_env(only(web, "PLAIN", "SECRET"), environ={}, ask=None, bottle=web)
    (problem,) = info.value.problems
    assert problem.path == "bottles.web.env.SECRET"
    assert "must be typed at start" in problem.message
    assert "no terminal is attached" in problem.message


def test_empty_env(web):
    assert resolve_env({}, environ={}, ask=None, bottle=web) == ResolvedEnv(values={}, names=())


def test_env_values_parse(cfg):
    cfg.manifest('bottles:\n  b:\n    env: {A: "", B: "$HOME", C: "?  padded  ", D: "price: $5"}\n')
    env = cfg.load().bottles["b"].env
    assert env == {
        "A": EnvValue("literal", ""),
        "B": EnvValue("literal", "$HOME"),
        "C": EnvValue("prompt", "padded"),
        "D": EnvValue("literal", "price: $5"),
    }
