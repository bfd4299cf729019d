"""Scenario files are validated with clear errors, and the demo runs headless end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from parley.core.errors import InvalidEntryError
from parley.exercise.scenario import load_scenario
from support import cli_env, free_port

VALID = """
name: Tabletop
parties: [JP, CN]
steps:
  - id: first
    party: JP
    action: hotline
    to: [CN]
    text: hello
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_packaged_demo_scenario_is_valid() -> None:
    from parley.cli.demo_cmds import default_scenario

    scenario = load_scenario(default_scenario())
    assert set(scenario.parties) == {"US", "JP", "KR", "CN", "RU"}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("action: hotline", "action: telegraph"), "step 1"),
        (("party: JP", "party: XX"), "party XX is not in the scenario"),
        (("text: hello", "txt: hello"), "step 1"),
        (("to: [CN]", "to: [jp]"), "step 1"),
        (("name: Tabletop", "name: ''"), "name"),
    ],
)
def test_invalid_scenarios_are_refused_naming_step_and_field(
    tmp_path: Path, change: tuple[str, str], words: str
) -> None:
    path = write(tmp_path, VALID.replace(*change))
    with pytest.raises(InvalidEntryError, match=words):
        load_scenario(path)


def test_reference_to_a_later_step_is_refused(tmp_path: Path) -> None:
    text = VALID + """  - party: CN
    action: inquiry
    about: later
    question: why?
    reply_within: 60
"""
    with pytest.raises(InvalidEntryError, match="unknown or later step 'later'"):
        load_scenario(write(tmp_path, text))


def test_unreadable_yaml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidEntryError, match="cannot read the scenario"):
        load_scenario(write(tmp_path, "name: [unclosed"))


def test_demo_runs_headless_and_every_log_verifies(tmp_path: Path) -> None:
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "parley.cli", "demo", "--dir", str(tmp_path / "demo"),
         "--headless", "--base-port", str(port)],
        env=cli_env(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "steps done" in result.stdout and "FAILED" not in result.stdout
    assert result.stdout.count("OK, ") == 5
    logins = (tmp_path / "demo" / "logins.txt").read_text().splitlines()
    assert len(logins) == 5
    policy = subprocess.run(
        [sys.executable, "-m", "parley.cli", "policy", "show"],
        env=cli_env(tmp_path / "demo" / "jp"), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    document = json.loads(policy.stdout)
    assert [s["party"] for s in document["signatures"]] == ["CN", "JP", "KR", "RU", "US"]
    assert document["document"]["network"] == "parley-demo"
