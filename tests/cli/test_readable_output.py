"""What the officer reads: times in their zone and UTC, whole identifiers, no Python reprs."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from parley.cli.common import format_duration, format_time
from parley.cli.main import app
from parley.formats.categories import CATEGORIES
from support import OFFICER_PASSWORD, officer_env, run_cli

EPOCH_MS = re.compile(r"\b1[0-9]{12}\b")
QUAKE = ["--category", "geo.earthquake", "--severity", "Minor", "--urgency", "Past",
         "--certainty", "Observed", "--status", "Exercise", "--headline", "Quake",
         "--description", "M5 quake off Chiba", "--instruction", "Stay away from the coast",
         "--circle", "35,139,10", "--area-desc", "Off Chiba", "--detail", "origin_time=+0h",
         "--expires", "+6h"]  # fmt: skip


def invoke(args: list[str], env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(app, args, env=env)


def settled(result: Result) -> str:
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


def environment(home: Path, columns: int = 200) -> dict[str, str | None]:
    return {"PARLEY_HOME": str(home), "PARLEY_TOKEN": None, "PARLEY_PASSPHRASE": None,
            "COLUMNS": str(columns), "TZ": "Asia/Tokyo", **officer_env()}  # fmt: skip


@pytest.fixture(scope="module")
def node_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node with one earthquake notification, JP:2, made in this process."""
    home = tmp_path_factory.mktemp("node") / "jp"
    env = environment(home)
    settled(invoke(["init", str(home), "--party", "JP", "--name", "JP crisis centre",
                    "--network", "parley-test"], env))  # fmt: skip
    settled(invoke(["user", "add", "admin", "--role", "admin"],
                   env | {"PARLEY_NEW_PASSWORD": OFFICER_PASSWORD}))  # fmt: skip
    assert settled(invoke(["notify", *QUAKE], env)).strip() == "JP:2"
    return home


def test_a_time_shows_in_the_officers_zone_with_utc_beside_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ms = int(dt.datetime(2026, 12, 4, 9, 2, 11, tzinfo=dt.UTC).timestamp() * 1000)
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert format_time(ms) == "2026-12-04 18:02:11 JST (09:02:11Z)"
    monkeypatch.setenv("TZ", "UTC")
    assert format_time(ms) == "2026-12-04 09:02:11 UTC"
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert format_time(ms + 12 * 3600 * 1000) == "2026-12-05 06:02:11 JST (2026-12-04 21:02:11Z)"
    assert format_time(None) == "-"


def test_a_duration_reads_as_people_say_it() -> None:
    assert format_duration(12_000) == "12 s"
    assert format_duration(300_000) == "5 min"
    assert format_duration((2 * 60 + 10) * 60_000) == "2 h 10 min"
    assert format_duration(48 * 3600_000) == "2 d"


def test_notify_show_gives_texts_areas_and_times_not_epoch_ms(node_home: Path) -> None:
    shown = settled(invoke(["notify", "show", "JP:2"], environment(node_home)))
    for text in ("M5 quake off Chiba", "Stay away from the coast", "Off Chiba", "10 km", "JST"):
        assert text in shown, shown
    assert "origin_time" in shown
    assert not EPOCH_MS.search(shown), shown


def test_node_info_prints_one_line_per_key(node_home: Path) -> None:
    shown = settled(invoke(["node", "info"], environment(node_home)))
    assert "{" not in shown and "'" not in shown, shown
    for purpose in ("log", "witness", "http"):
        assert re.search(rf"^keys\.{purpose}\s+\S+$", shown, re.MULTILINE), shown


def test_verify_proof_shows_times_not_epoch_ms(node_home: Path, tmp_path: Path) -> None:
    env = environment(node_home)
    proof = tmp_path / "proof.json"
    settled(invoke(["log", "proof", "JP:2", "--out", str(proof)], env))
    shown = settled(invoke(["verify", "proof", str(proof)], env))
    first = shown.splitlines()[0]
    assert first.startswith("OK JP:2") and "JST" in first, shown
    assert not EPOCH_MS.search(first), shown


def test_tables_fold_on_a_narrow_terminal_and_never_cut_an_identifier(node_home: Path) -> None:
    shown = settled(invoke(["log", "show"], environment(node_home, columns=60)))
    assert "…" not in shown, shown
    assert "notification" in shown and "JP:2" in shown


def test_categories_lists_every_category_whole(node_home: Path) -> None:
    shown = settled(invoke(["categories"], environment(node_home, columns=60)))
    assert "…" not in shown
    flat = "".join(shown.split())
    for code in CATEGORIES:
        assert code in flat, code
    listed = json.loads(settled(invoke(["categories", "--json"], environment(node_home))))
    assert [item["code"] for item in listed] == list(CATEGORIES)
    assert {"code", "title", "deadlines", "details"} <= set(listed[0])


def test_serve_on_a_busy_port_refuses_before_saying_it_serves(node_home: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("serve", "--port", str(port), home=node_home, check=False)
    assert result.returncode != 0
    assert "serving on" not in result.stdout
    assert str(port) in result.stderr and "Traceback" not in result.stderr, result.stderr
