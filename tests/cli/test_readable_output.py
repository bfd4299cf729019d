"""What the officer reads: times in their zone and UTC, whole identifiers, no Python reprs."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from parley.cli.common import format_duration, format_time
from parley.cli.main import app
from parley.formats.categories import CATEGORIES
from tests.support import OFFICER_PASSWORD, officer_vars, run_cli

EPOCH_MS = re.compile(r"\b1[0-9]{12}\b")
QUAKE = [
    "--category",
    "geo.earthquake",
    "--severity",
    "Minor",
    "--urgency",
    "Past",
    "--certainty",
    "Observed",
    "--status",
    "Exercise",
    "--headline",
    "Quake",
    "--description",
    "M5 quake off Chiba",
    "--instruction",
    "Stay away from the coast",
    "--circle",
    "35,139,10",
    "--area-desc",
    "Off Chiba",
    "--detail",
    "origin_time=+0h",
    "--expires",
    "+6h",
]


def invoke(args: list[str], env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(app, args, env=env)


def settled(result: Result) -> str:
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


def environment(home: Path, columns: int = 200) -> dict[str, str | None]:
    return {
        "PARLEY_HOME": str(home),
        "PARLEY_TOKEN": None,
        "PARLEY_PASSPHRASE": None,
        "COLUMNS": str(columns),
        "TZ": "Asia/Tokyo",
        **officer_vars(),
    }


@pytest.fixture(scope="module")
def node_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node with one earthquake notification, JP:2, made in this process."""
    home = tmp_path_factory.mktemp("node") / "jp"
    env = environment(home)
    settled(
        invoke(
            [
                "init",
                str(home),
                "--party",
                "JP",
                "--name",
                "JP crisis centre",
                "--network",
                "parley-test",
            ],
            env,
        )
    )
    settled(
        invoke(
            ["user", "add", "admin", "--role", "admin"],
            env | {"PARLEY_NEW_PASSWORD": OFFICER_PASSWORD},
        )
    )
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
    assert not EPOCH_MS.search(shown), shown  # the body's times too
    assert '"sent": "' in shown and "JST" in shown.split('"sent": "')[1].splitlines()[0]


def test_show_prints_the_bodys_times_and_deadlines_readably(node_home: Path) -> None:
    shown = settled(invoke(["show", "JP:2"], environment(node_home)))
    assert not EPOCH_MS.search(shown), shown
    assert re.search(r'"origin_time": "\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST', shown), shown
    assert re.search(r'"acknowledged_within": "\d+ (s|min|h|d)', shown), shown
    raw = json.loads(settled(invoke(["show", "JP:2", "--json"], environment(node_home))))
    assert isinstance(raw["body"]["sent"], int)  # --json keeps the signed body


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


# --- times and durations everywhere an officer reads (item 6) -------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["receipts", "JP:2"],
        ["policy", "show"],
        ["log", "show"],
        ["checks"],
        ["compliance"],
    ],
)
def test_no_epoch_milliseconds_where_an_officer_reads(node_home: Path, args: list[str]) -> None:
    shown = settled(invoke(args, environment(node_home)))
    assert not EPOCH_MS.search(shown), shown


def test_status_and_receipts_show_times_in_the_officers_zone_and_utc(node_home: Path) -> None:
    status = settled(invoke(["status"], environment(node_home)))
    # The UTC time carries its own date when it falls on another day than the zone's.
    assert re.search(
        r"JP at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST \((\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\dZ\)",
        status,
    ), status
    receipts = settled(invoke(["receipts", "JP:2"], environment(node_home)))
    assert re.search(r"JP:2 notification Exercise sent \S+ \S+ JST \(", receipts), receipts


def test_policy_show_reads_as_durations_and_times_and_json_keeps_the_document(
    node_home: Path,
) -> None:
    shown = settled(invoke(["policy", "show"], environment(node_home)))
    assert "communication check every 1 d" in shown and "skew tolerance 30 s" in shown
    assert re.search(r"encounter\s+│\s+acknowledged_within\s+│\s+5 min", shown), shown
    assert "JST" in shown
    document = json.loads(settled(invoke(["policy", "show", "--json"], environment(node_home))))
    assert document["document"]["network"] == "parley-test"


def test_a_clock_reads_in_seconds_and_minutes_with_a_fraction_under_a_minute() -> None:
    from parley.cli.deadline_cmds import clock_text

    clock = {"state": "late", "late_by": 1_400, "witnessed": True, "skew": False}
    assert clock_text(clock) == "late +1.4 s"
    clock = {"state": "pending", "remaining": 300_000, "witnessed": True, "skew": False}
    assert clock_text(clock) == "5 min left"


# --- empty tables say why (item 7) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["status"], "No peers pinned"),
        (["status"], "Open deadlines: none (no clock is running"),
        (["status"], "Missed and late: none (no deadline has run out)"),
        (["peers", "list"], "No peers pinned"),
        (["checks"], "No communication checks sent by JP yet"),
        (["compliance"], "No figures yet"),
        (["witness", "list"], "No external witnesses"),
        (["webhooks", "list"], "No webhooks"),
        (["webhooks", "outbox"], "The outbox is empty"),
        (["receipts", "JP:2"], "JP:2 is addressed to no other party"),
        (["log", "show", "--from", "99"], "No entries in JP's log from seq 99 on"),
    ],
)
def test_an_empty_table_says_why_it_is_empty(node_home: Path, args: list[str], why: str) -> None:
    shown = settled(invoke(args, environment(node_home)))
    assert why in shown, shown
    assert "┏" not in shown.split(why)[0].rsplit("\n", 2)[-1]


# --- party codes: one check, before anything else, any case (item 7) ------------------------


@pytest.fixture(scope="module")
def member_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """JP under a policy that names JP and KR, signed by both and adopted by JP."""
    root = tmp_path_factory.mktemp("members")
    homes = {party: root / party.lower() for party in ("JP", "KR")}
    infos = []
    for party, home in homes.items():
        env = environment(home)
        settled(
            invoke(["init", str(home), "--party", party, "--name", party, "--network", "two"], env)
        )
        settled(
            invoke(
                ["user", "add", "admin", "--role", "admin"],
                env | {"PARLEY_NEW_PASSWORD": OFFICER_PASSWORD},
            )
        )
        info = root / f"{party}.json"
        info.write_text(settled(invoke(["node", "info", "--json"], env)))
        infos += ["--member", str(info)]
    draft = root / "policy.json"
    settled(
        invoke(
            ["policy", "draft", str(draft), "--network", "two", "--name", "Two", *infos],
            environment(homes["JP"]),
        )
    )
    for home in homes.values():
        settled(invoke(["policy", "sign", str(draft)], environment(home)))
    settled(invoke(["policy", "adopt", str(draft)], environment(homes["JP"])))
    return homes["JP"]


@pytest.mark.parametrize(
    "args",
    [
        ["inbox", "--party", "zz"],
        ["hotline", "log", "ZZ"],
        ["hotline", "send", "zz", "--text", "hi", "--status", "Exercise"],
        ["notify", *QUAKE, "--to", "KR,ZZ"],
        [
            "log",
            "append",
            "--kind",
            "hotline",
            "--status",
            "Exercise",
            "--body-file",
            "/nonexistent",
            "--to",
            "ZZ",
        ],
        ["receipts", "ZZ:1"],
        ["ack", "zz:1"],
        ["show", "ZZ:3"],
        ["peers", "add", "https://127.0.0.1:9", "--party", "zz", "--key", "x"],
        ["sync", "--peer", "ZZ"],
    ],
)
def test_a_non_member_party_is_refused_before_anything_else(
    member_home: Path, args: list[str]
) -> None:
    # no credentials at all: the party code is refused first, not the officer
    env = environment(member_home) | {"PARLEY_USER": None, "PARLEY_PASSWORD": None}
    result = invoke(args, env)
    assert result.exit_code != 0
    assert "ZZ is not a member of network two" in result.stderr, result.stderr
    assert "members: JP, KR" in result.stderr


def test_a_party_code_in_lower_case_is_read_as_upper_case(member_home: Path) -> None:
    env = environment(member_home)
    assert "nothing" in settled(invoke(["inbox", "--party", "kr"], env))
    assert "no hotline messages between JP and KR" in settled(invoke(["hotline", "log", "kr"], env))
    assert settled(invoke(["receipts", "jp:1"], env)).startswith("JP:1 ")


# --- --home on every command that reads a node (item 7) -------------------------------------

# Commands that read no node: they create one, or work offline on files.
NO_NODE = {
    "demo",
    "categories",
    "init",
    "verify proof",
    "verify equivocation",
    "verify bundle",
    "assistance verify",
    "assistance types",
    "roadmap verify",
    "policy draft",
    "exercise run",
    "demo-code",
}


def test_every_command_that_reads_a_node_takes_home() -> None:
    import typer.main

    missing = []

    def walk(command: Any, path: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])
        if not getattr(command, "commands", None) and " ".join(path) not in NO_NODE:
            if "home" not in [p.name for p in command.params]:
                missing.append(" ".join(path))

    walk(typer.main.get_command(app), [])
    assert missing == []


def test_phrase_codes_the_officer_must_type_are_never_cut(node_home: Path) -> None:
    shown = settled(invoke(["hotline", "phrases"], environment(node_home, columns=60)))
    assert "…" not in shown
    assert "nav.altering-to-starboard" in shown and "warn.collision-risk" in shown
