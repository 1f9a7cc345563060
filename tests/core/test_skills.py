"""Skills: found next to agents/, checked at config load, read as plain text, shown in the plan."""

from __future__ import annotations

import os

import pytest

from bot_bottle_core.skills import SkillError, find_skills, read_skill

SKILL_MD = "---\nname: review\ndescription: Review a change before it lands\n---\nRead the diff.\n"


def write_skill(root, name: str, files: dict[str, str | bytes]):
    d = root / "skills" / name
    for rel, content in files.items():
        path = d / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return d


def test_a_skill_is_every_text_file_of_its_directory_with_scripts_kept_runnable(tmp_path):
    d = write_skill(
        tmp_path, "review", {"SKILL.md": SKILL_MD, "scripts/check.sh": "#!/bin/sh\necho ok\n"}
    )
    (d / "scripts" / "check.sh").chmod(0o700)
    skill = read_skill("review", d)
    assert {(f.path, f.mode) for f in skill.files} == {
        ("SKILL.md", 0o644),
        ("scripts/check.sh", 0o755),
    }
    assert {f.path: f.content for f in skill.files}["SKILL.md"] == SKILL_MD


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda d: (d / "link.md").symlink_to("/etc/passwd"), "symbolic link"),
        (lambda d: (d / "sub").symlink_to("/etc", target_is_directory=True), "symbolic link"),
        (lambda d: (d / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe"), "not UTF-8 text"),
        (lambda d: (d / "big.txt").write_text("x" * (1024 * 1024 + 1)), "larger than"),
        (lambda d: os.mkfifo(d / "pipe"), "not a regular file"),
    ],
)
def test_what_cannot_be_copied_is_named(tmp_path, make, said):
    d = write_skill(tmp_path, "review", {"SKILL.md": SKILL_MD})
    make(d)
    with pytest.raises(SkillError) as err:
        read_skill("review", d)
    assert said in str(err.value) and "'review'" in str(err.value)


def test_a_later_layer_replaces_a_skill_and_a_directory_without_skill_md_is_none(tmp_path):
    user = write_skill(tmp_path / "user", "review", {"SKILL.md": SKILL_MD}).parent
    project = write_skill(tmp_path / "proj", "review", {"SKILL.md": SKILL_MD}).parent
    write_skill(tmp_path / "proj", "notes", {"README.md": "not a skill"})
    assert find_skills([user, project, tmp_path / "missing"]) == {"review": project / "review"}


def test_an_unknown_skill_is_a_config_error_naming_the_agent_file(bb):
    write_skill(bb.home, "review", {"SKILL.md": SKILL_MD})
    bb.agent("coder", "---\nbottle: demo\nprovider: shell\nskills: [review, deploy]\n---\n")
    r = bb.run("config", "check")
    assert r.code != 0
    assert "coder.md: skills[1]: no skill named 'deploy'" in r.err
    assert "known skills: review" in r.err and "Traceback" not in r.err


@pytest.mark.parametrize("name", ["../etc", "a/b", ".hidden", ""])
def test_a_skill_name_must_be_one_directory_name(bb, name):
    bb.agent("coder", f'---\nbottle: demo\nprovider: shell\nskills: ["{name}"]\n---\n')
    r = bb.run("config", "check")
    assert r.code != 0
    assert "skills[0]" in r.err and "must be the name of a directory" in r.err


def test_the_plan_lists_the_skills_and_a_bad_one_leaves_nothing(paper):
    d = write_skill(paper.home, "review", {"SKILL.md": SKILL_MD})
    paper.agent("coder", "---\nbottle: demo\nprovider: shell\nskills: [review]\n---\n")
    r = paper.run("start", "coder", "--dry-run", "--backend", "paper")
    assert r.code == 0, r.err
    assert r.has_row("skills", "review")
    (d / "link").symlink_to("/etc/passwd")
    r = paper.run("start", "coder", "--dry-run", "--backend", "paper")
    assert r.code == 1 and "symbolic link" in r.err and "Traceback" not in r.err
    assert paper.state_entries() == []
