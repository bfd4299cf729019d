"""The audit trail is true: every refusal is recorded with its reason, and only success is ``ok``.

Runs ``parley`` in this process against a real node home, then reads the trail back through
``parley.node.officers.audit_trail``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from parley.cli.main import app
from parley.node import officers
from parley.node.node import Node
from tests.support import OFFICER_PASSWORD, officer_env


def invoke(args: list[str], env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(app, args, env=env)


def environment(home: Path, **extra: str | None) -> dict[str, str | None]:
    return {
        "PARLEY_HOME": str(home),
        "PARLEY_TOKEN": None,
        "PARLEY_PASSPHRASE": None,
        "PARLEY_USER": None,
        "PARLEY_PASSWORD": None,
        "COLUMNS": "200",
        **extra,
    }


def latest(home: Path) -> dict[str, Any]:
    node = Node.open(home)
    try:
        return officers.audit_trail(node.store, limit=1)[0]
    finally:
        node.close()


def first_officer(home: Path, party: str, name: str, role: str) -> Result:
    """``parley init`` a node for ``party``, then add its first officer (any outcome)."""
    env = environment(home)
    assert (
        invoke(
            ["init", str(home), "--party", party, "--name", party, "--network", "t"], env
        ).exit_code
        == 0
    )
    return invoke(
        ["user", "add", name, "--role", role], env | {"PARLEY_NEW_PASSWORD": OFFICER_PASSWORD}
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "jp"
    added = first_officer(home, "JP", "admin", "admin")
    assert added.exit_code == 0, added.stderr
    return home


def test_user_add_with_an_unknown_role_is_audited_as_refused_with_the_reason(home: Path) -> None:
    result = invoke(
        ["user", "add", "bob", "--role", "king"],
        environment(home, PARLEY_NEW_PASSWORD="password-2", **officer_env()),
    )
    assert result.exit_code != 0
    row = latest(home)
    assert (row["officer"], row["action"], row["outcome"]) == ("admin", "user.add", "refused")
    assert "role 'king' is not one of" in row["detail"]["reason"]


def test_a_successful_action_is_audited_as_ok_once_it_has_completed(home: Path) -> None:
    result = invoke(
        ["user", "add", "bob", "--role", "observer"],
        environment(home, PARLEY_NEW_PASSWORD="password-2", **officer_env()),
    )
    assert result.exit_code == 0, result.stderr
    trail = officers.audit_trail(Node.open(home).store, limit=2)
    # newest first: the attempt is settled after the officer was added
    assert [(r["action"], r["outcome"]) for r in trail] == [
        ("user.add", "ok"),
        ("user.added", "ok"),
    ]


@pytest.mark.parametrize(
    ("user", "password", "reason"),
    [
        ("admin", "not-the-password", "authentication failed for officer admin"),
        ("nobody", OFFICER_PASSWORD, "authentication failed for officer nobody"),
    ],
)
def test_bad_credentials_are_audited_as_refused(
    home: Path, user: str, password: str, reason: str
) -> None:
    result = invoke(["inbox"], environment(home, PARLEY_USER=user, PARLEY_PASSWORD=password))
    assert result.exit_code == 5
    row = latest(home)
    assert (row["officer"], row["action"], row["outcome"]) == (user, "inbox", "refused")
    assert row["detail"]["reason"] == reason


def test_a_role_that_may_not_act_is_audited_as_refused(home: Path) -> None:
    env = environment(home, PARLEY_NEW_PASSWORD="password-2", **officer_env())
    assert invoke(["user", "add", "watcher", "--role", "observer"], env).exit_code == 0
    result = invoke(
        ["user", "token", "admin", "--scope", "read"],
        environment(home, PARLEY_USER="watcher", PARLEY_PASSWORD="password-2"),
    )
    assert result.exit_code == 5
    row = latest(home)
    assert (row["officer"], row["action"], row["outcome"]) == ("watcher", "user.token", "refused")
    assert "it needs admin" in row["detail"]["reason"]


def test_a_refusal_before_authentication_is_audited_with_the_command_and_reason(
    home: Path,
) -> None:
    result = invoke(
        ["hotline", "send", "ZZ", "--text", "hi", "--status", "Exercise"],
        environment(home, **officer_env()),
    )
    assert result.exit_code != 0 and "ZZ" in result.stderr
    row = latest(home)
    assert (row["officer"], row["action"], row["outcome"]) == ("admin", "hotline.send", "refused")
    assert "not a member" in row["detail"]["reason"]


def test_the_first_officer_with_an_unknown_role_is_audited_as_refused(tmp_path: Path) -> None:
    home = tmp_path / "kr"
    result = first_officer(home, "KR", "alice", "king")
    assert result.exit_code != 0
    row = latest(home)
    assert (row["officer"], row["action"], row["outcome"]) == ("?", "user.add", "refused")
    assert "king" in row["detail"]["reason"]
