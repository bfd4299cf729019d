"""The trust boundary of a node home: private files, its own URLs, officers for every read.

Real ``parley`` processes on real homes. The attacks are those of another user of the same
machine (reading the database or the configuration) and of a local user without officer
credentials (reading restricted bodies through the CLI).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import OfficerEnv, Server, init_node, officer_env, run_cli

SECRET = "Withdraw the second battery at dawn"
WATCHER: OfficerEnv = {"PARLEY_USER": "watcher", "PARLEY_PASSWORD": "watcher-password"}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default: files 0644, folders 0755 unless made private
    yield
    os.umask(old)


@pytest.fixture(scope="module")
def restricted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A JP home holding a RED hotline message and a notification; (home, hotline, alert)."""
    home = init_node(tmp_path_factory.mktemp("restricted") / "jp")
    body = home.parent / "hotline.json"
    body.write_text(
        json.dumps({"to": "CN", "text": SECRET, "deadlines": {"acknowledged_within": 300000}})
    )
    sent = run_cli(
        "log",
        "append",
        "--kind",
        "hotline",
        "--status",
        "Exercise",
        "--body-file",
        str(body),
        "--to",
        "CN",
        "--tlp",
        "RED",
        home=home,
        **officer_env(),
    )
    alert = run_cli(
        "notify",
        "--category",
        "met.flood",
        "--severity",
        "Moderate",
        "--urgency",
        "Expected",
        "--certainty",
        "Likely",
        "--status",
        "Exercise",
        "--circle",
        "35.7,139.8,20",
        "--headline",
        SECRET,
        home=home,
        **officer_env(),
    )
    run_cli(
        "user",
        "add",
        "watcher",
        "--role",
        "observer",
        home=home,
        PARLEY_NEW_PASSWORD=WATCHER["PARLEY_PASSWORD"],
        **officer_env(),
    )
    return home, sent.stdout.split()[0], alert.stdout.strip()


def read_commands(hotline: str, alert: str, folder: Path) -> list[list[str]]:
    return [
        ["hotline", "show", hotline],
        ["hotline", "show", hotline, "--json"],
        ["hotline", "log", "CN"],
        ["hotline", "log", "CN", "--json"],
        ["notify", "show", alert],
        ["notify", "show", alert, "--json"],
        ["export", alert],
        ["export", "--all", "--out", str(folder / "all")],
        ["log", "export", str(folder / "log.jsonl")],
        ["log", "show"],
        ["log", "show", "--json"],
        ["log", "proof", hotline],
        ["evidence", "export", hotline],
        ["user", "list"],
        ["receipts", hotline],
        ["receipts", hotline, "--json"],
    ]


@pytest.mark.parametrize("index", range(len(read_commands("", "", Path()))))
def test_unauthenticated_local_user_reads_restricted_bodies_attack(
    restricted: tuple[Path, str, str], tmp_path: Path, index: int
) -> None:
    home, hotline, alert = restricted
    command = read_commands(hotline, alert, tmp_path)[index]
    for env in ({}, {"PARLEY_USER": "admin", "PARLEY_PASSWORD": "not-the-password"}):
        refused = run_cli(*command, home=home, check=False, **env)
        assert refused.returncode == 5, (command, refused.stdout, refused.stderr)
        assert "Traceback" not in refused.stderr
        assert (
            "no officer credentials given" in refused.stderr
            or "authentication failed" in refused.stderr
        )
        assert refused.stdout == ""
        assert not list(tmp_path.iterdir())  # no export written
    allowed = run_cli(*command, home=home, **WATCHER)  # an observer may read
    assert allowed.returncode == 0


def test_other_local_user_reads_the_database_attack(tmp_path: Path, umask_022: None) -> None:
    home = init_node(tmp_path / "jp")
    assert mode(home) == 0o700
    for path in (home / "parley.toml", home / "parley.db", *home.glob("keys/*.pem")):
        assert mode(path) == 0o600, path
    server = Server(home)
    try:
        body = tmp_path / "hotline.json"
        body.write_text(
            json.dumps({"to": "CN", "text": SECRET, "deadlines": {"acknowledged_within": 300000}})
        )
        run_cli(
            "log",
            "append",
            "--kind",
            "hotline",
            "--status",
            "Exercise",
            "--body-file",
            str(body),
            "--to",
            "CN",
            "--tlp",
            "RED",
            home=home,
            **officer_env(),
        )
        files = [home / "parley.db", home / "parley.db-wal", home / "parley.db-shm"]
        for path in files:
            assert path.exists() and mode(path) == 0o600, path
        assert mode(home) == 0o700
    finally:
        server.stop()
    assert sorted(p.name for p in home.iterdir() if mode(p) & 0o077) == []


def test_exports_are_written_for_the_officer_alone(
    restricted: tuple[Path, str, str], tmp_path: Path, umask_022: None
) -> None:
    home, hotline, alert = restricted
    run_cli("log", "export", str(tmp_path / "log.jsonl"), home=home, **officer_env())
    run_cli(
        "log", "proof", hotline, "--out", str(tmp_path / "proof.json"), home=home, **officer_env()
    )
    run_cli(
        "evidence",
        "export",
        hotline,
        "--out",
        str(tmp_path / "bundle.json"),
        home=home,
        **officer_env(),
    )
    run_cli("export", "--all", "--out", str(tmp_path / "cap"), home=home, **officer_env())
    written = [
        tmp_path / "log.jsonl",
        tmp_path / "proof.json",
        tmp_path / "bundle.json",
        *(tmp_path / "cap").iterdir(),
    ]
    assert len(written) > 3
    for path in written:
        assert mode(path) == 0o600, path


@pytest.mark.parametrize(
    ("target", "loose", "hint"),
    [
        ("", 0o755, "chmod 700"),
        ("parley.db", 0o644, "chmod 600"),
    ],
)
def test_a_home_open_to_other_users_is_refused(
    tmp_path: Path, target: str, loose: int, hint: str
) -> None:
    home = init_node(tmp_path / "jp")
    path = (home / target).resolve()
    path.chmod(loose)
    result = run_cli("log", "show", home=home, check=False, **officer_env())
    assert result.returncode != 0 and "Traceback" not in result.stderr
    said = " ".join(result.stderr.split())
    assert str(path) in said and f"{loose:o}" in said and f"{hint} {path}" in said


def test_copied_home_opens_its_own_database(tmp_path: Path) -> None:
    home = init_node(tmp_path / "jp")
    copy = tmp_path / "copy"
    shutil.copytree(home, copy)
    size = (home / "parley.db").stat().st_size
    body = tmp_path / "hotline.json"
    body.write_text(
        json.dumps(
            {"to": "CN", "text": "only in the copy", "deadlines": {"acknowledged_within": 300000}}
        )
    )
    for _ in range(3):
        run_cli(
            "log",
            "append",
            "--kind",
            "hotline",
            "--status",
            "Exercise",
            "--body-file",
            str(body),
            "--to",
            "CN",
            home=copy,
            **officer_env(),
        )
    assert (home / "parley.db").stat().st_size == size
    assert not (home / "parley.db-wal").exists() or (home / "parley.db-wal").stat().st_size == 0
    shown = run_cli("log", "show", "--json", home=home, **officer_env()).stdout.splitlines()
    assert len(shown) == 2
    assert (
        len(run_cli("log", "show", "--json", home=copy, **officer_env()).stdout.splitlines()) == 5
    )


def test_init_records_the_node_s_own_urls(tmp_path: Path) -> None:
    home = tmp_path / "jp"
    run_cli(
        "init",
        str(home),
        "--party",
        "JP",
        "--name",
        "JP centre",
        "--url",
        "https://jp.example:8700/",
        "--url",
        "https://203.0.113.7:8700",
        home=home,
    )
    info = json.loads(run_cli("node", "info", "--json", home=home).stdout)
    assert info["urls"] == ["https://jp.example:8700", "https://203.0.113.7:8700"]
    assert "url" in info
    text = run_cli("node", "info", home=home).stdout
    assert "https://jp.example:8700" in text and "urls" in text


def test_init_without_url_names_the_local_address_and_port(tmp_path: Path) -> None:
    home = tmp_path / "jp"
    run_cli("init", str(home), "--party", "JP", "--name", "JP centre", "--port", "8711", home=home)
    info = json.loads(run_cli("node", "info", "--json", home=home).stdout)
    assert info["urls"] == ["https://127.0.0.1:8711"]
    written = tomllib.loads((home / "parley.toml").read_text(encoding="utf-8"))
    assert written["server"]["url"] == ["https://127.0.0.1:8711"]


def test_init_refuses_a_bad_url_and_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "jp"
    result = run_cli(
        "init",
        str(home),
        "--party",
        "JP",
        "--name",
        "JP centre",
        "--url",
        "https://jp.example/parley",
        home=home,
        check=False,
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "[server] url" in result.stderr and "https://jp.example/parley" in result.stderr
    assert not home.exists()
