"""Scenario files are validated with clear errors, and the demo runs headless end to end.

The headless demo is checked from its output and from the node homes it leaves behind: every
addressee's delivered receipt, the acknowledgements the scenario gives, the one deliberately
missed hotline acknowledgement escalated by its sender, TLS pins, and every log verifying.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pyotp
import pytest

from parley.core.errors import InvalidEntryError
from parley.exercise.scenario import ImportCap, ImportStix, load_scenario
from tests.support import cli_env, free_port

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
    assert {step.action for step in scenario.steps} == {
        "import-cap",
        "notify",
        "update",
        "cancel",
        "import-stix",
        "hotline",
        "ack",
        "expect-miss",
        "inquiry",
        "reply",
        "assist",
    }
    assert 50 <= scenario.steps[-1].at <= 90
    for step in scenario.steps:
        if isinstance(step, ImportCap | ImportStix):
            assert (default_scenario().parent / step.file).is_file()


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
    text = (
        VALID
        + """  - party: CN
    action: inquiry
    about: later
    question: why?
    reply_within: 60
"""
    )
    with pytest.raises(InvalidEntryError, match="unknown or later step 'later'"):
        load_scenario(write(tmp_path, text))


NOTIFY = """
name: Tabletop
parties: [JP, CN, KR]
steps:
  - id: event
    party: JP
    action: notify
    category: nuclear.facility-event
    headline: Reactor trip
    severity: Moderate
    urgency: Immediate
    certainty: Observed
    area: "35.4,126.4,10"
    details: {facility: Unit 3, release: "no", ines_level: 2}
"""


@pytest.mark.parametrize(
    ("step", "words"),
    [
        (
            "{party: CN, action: update, of: event, headline: x}",
            "step 2, of: step 'event' is JP's notification; only its author may update it",
        ),
        ("{party: JP, action: update, of: event}", "step 2.*an update changes something"),
        (
            "{party: JP, action: cancel, of: event, to: [CN]}",
            "step 2, to: a cancel step keeps the audience",
        ),
        ("{party: JP, action: ack, of: event}", "step 2, party: JP is not an addressee"),
        (
            "{party: CN, action: reply, of: event, text: nope}",
            "step 2, of: a reply answers an inquiry",
        ),
        ("{party: CN, action: ack, of: nowhere}", "step 2: of names unknown or later step"),
        (
            "{party: CN, action: hotline, to: [JP, KR], text: hi}",
            "step 2.*a hotline step names exactly one party",
        ),
        ("{party: CN, action: hotline, to: [JP], params: {unit: A}}", "step 2.*needs a phrase"),
        ("{party: CN, action: hotline, to: [JP], phrase: nav.teleporting}", "step 2.*phrase:"),
        (
            "{party: CN, action: hotline, to: [JP], phrase: clear.keep-clear, params: {unit: A}}",
            "step 2.*phrase:.*distance",
        ),
        ("{party: CN, action: import-stix, file: x.json}", "step 2.*names its audience"),
        (
            "{party: JP, action: update, of: event, details: {ines_level: high}}",
            "step 2, details: --detail ines_level: 'high' is not a int",
        ),
        (
            "{party: CN, action: hotline, to: [JP], reply_to: event, text: hi}",
            "step 2, reply_to: step 'event' is not a hotline message between CN and JP",
        ),
        (
            "{id: seen, party: CN, action: ack, of: event}\n  - {party: KR, action: ack, of: seen}",
            "step 3, of: step 'seen' \\(ack\\) has no entry",
        ),
        (
            "{party: CN, action: ack, of: event}\n  - {party: CN, action: expect-miss, of: event}",
            "step 3, of: CN is expected to miss step 'event', but an ack step acknowledges it",
        ),
    ],
)
def test_answering_steps_are_refused_when_they_cannot_answer(
    tmp_path: Path, step: str, words: str
) -> None:
    with pytest.raises(InvalidEntryError, match=words):
        load_scenario(write(tmp_path, NOTIFY + "  - " + step + "\n"))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            ("ines_level: 2", "ines_level: 9"),
            "step 1: notification: body.details.ines_level: 9 is above 7",
        ),
        (("ines_level: 2", "reactor: PWR"), "step 1.*details:.*reactor"),
        (('area: "35.4,126.4,10"', "area: Yeonggwang"), "step 1.*area:"),
        (
            ("category: nuclear.facility-event", "category: nuclear.meltdown"),
            "step 1.*category 'nuclear.meltdown' is not known",
        ),
        (
            ("severity: Moderate", "severity: moderate"),
            "step 1, severity: Input should be 'Extreme'",
        ),
    ],
)
def test_notify_steps_are_read_as_parley_notify_reads_them(
    tmp_path: Path, change: tuple[str, str], words: str
) -> None:
    with pytest.raises(InvalidEntryError, match=words):
        load_scenario(write(tmp_path, NOTIFY.replace(*change)))


def test_a_coherent_answering_scenario_is_accepted(tmp_path: Path) -> None:
    text = (
        NOTIFY
        + """  - {id: later, party: JP, action: update, of: event, details: {ines_level: 3}}
  - {party: CN, action: ack, of: later, reply: seen}
  - {party: KR, action: expect-miss, of: later}
  - {party: JP, action: cancel, of: later}
  - {party: CN, action: hotline, to: [JP], phrase: ack.received}
"""
    )
    scenario = load_scenario(write(tmp_path, text))
    assert [s.action for s in scenario.steps] == [
        "notify",
        "update",
        "ack",
        "expect-miss",
        "cancel",
        "hotline",
    ]


def test_unreadable_yaml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidEntryError, match="cannot read the scenario"):
        load_scenario(write(tmp_path, "name: [unclosed"))


def demo(tmp_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "parley.cli",
            "demo",
            "--dir",
            str(tmp_path / "demo"),
            "--headless",
            "--base-port",
            str(free_port()),
            *args,
        ],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_the_pages_are_announced_with_logins_and_codes(stdout: str, folder: Path) -> None:
    """Every node's pages URL and logins are printed; ``demo-code`` gives a code that logs in."""
    words = dict(
        w.split("=", 1)
        for line in (folder / "logins.txt").read_text().splitlines()
        if line.startswith("JP ")
        for w in line.split()
        if w.startswith("totp-")
    )
    assert set(words) == {"totp-admin", "totp-duty"}
    assert "parley demo-code JP duty" in " ".join(stdout.split())
    shown = subprocess.run(
        [sys.executable, "-m", "parley.cli", "demo-code", "jp", "duty", "--dir", str(folder)],
        env=cli_env(folder),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    now = time.time()
    valid = {pyotp.TOTP(words["totp-duty"]).at(now + d) for d in (-30, 0, 30)}
    assert shown.stdout.strip() in valid


@pytest.mark.fleet
def test_demo_runs_headless_and_every_log_verifies(tmp_path: Path) -> None:
    result = demo(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "69 of 69 steps done" in result.stdout and "FAILED" not in result.stdout
    assert "Every expected receipt and missed deadline is in." in result.stdout
    assert result.stdout.count("OK, ") == 5
    assert "https://127.0.0.1:" in result.stdout and "http://" not in result.stdout
    assert "Missed deadlines (1)" in result.stdout
    assert "CN missed the acknowledged deadline of JP:" in result.stdout
    assert_progress_lines_carry_their_elapsed_time(result.stdout)
    assert_the_summary_agrees_with_itself(tmp_path / "demo")
    assert_receipts_and_the_missed_deadline(tmp_path / "demo")
    assert_nothing_else_escalates_later(tmp_path / "demo")
    assert_the_assistance_lifecycles_resolve_alike(tmp_path / "demo")
    logins = (tmp_path / "demo" / "logins.txt").read_text().splitlines()
    assert len(logins) == 5
    assert_the_pages_are_announced_with_logins_and_codes(result.stdout, tmp_path / "demo")
    policy = subprocess.run(
        [sys.executable, "-m", "parley.cli", "policy", "show", "--json"],
        env=cli_env(tmp_path / "demo" / "jp"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    document = json.loads(policy.stdout)
    assert [s["party"] for s in document["signatures"]] == ["CN", "JP", "KR", "RU", "US"]
    assert document["document"]["network"] == "parley-demo"


def assert_the_assistance_lifecycles_resolve_alike(folder: Path) -> None:
    """The USAR and vaccine requests end filled, with the same board at every node that sees them."""
    from parley.node.assistance import node_board
    from parley.node.assistance_view import board_dict
    from parley.node.node import Node

    boards = {}
    for party in ("jp", "cn", "us", "kr", "ru"):
        node = Node.open(folder / party)
        try:
            boards[party] = board_dict(node_board(node))
        finally:
            node.close()
    usar = {
        p: [r for r in b["requests"] if r["lines"][0]["type"] == "usar.heavy"]
        for p, b in boards.items()
    }
    assert all(len(found) == 1 for found in usar.values()), usar
    assert len({json.dumps(found, sort_keys=True) for found in usar.values()}) == 1
    (quake,) = usar["jp"]
    assert quake["phase"] == "filled" and quake["refused"] == []
    assert sorted((o["party"], o["phase"]) for o in quake["offers"]) == [
        ("KR", "deployed"),
        ("US", "returned"),
    ]
    (vaccine,) = [r for r in boards["cn"]["requests"] if r["lines"][0]["type"] == "health.vaccine"]
    assert vaccine["phase"] == "filled" and vaccine["lines"][0]["counted"] == "20000"
    assert [o["phase"] for o in vaccine["offers"]] == ["deployed"]
    assert not [r for r in boards["ru"]["requests"] if r["lines"][0]["type"] == "health.vaccine"]


def assert_progress_lines_carry_their_elapsed_time(stdout: str) -> None:
    """Setup, steps, receipts and the wait each print with the seconds since the start."""
    lines = stdout.splitlines()
    for marker in (
        "creating node JP",
        "every member signs",
        "answers on https://",
        "✓ step 1 US",
        "← CN delivered",
        "Waiting up to",
        "Converged.",
        "Stopped every node process in",
    ):
        found = [line for line in lines if marker in line]
        assert found, marker
        assert all(re.match(r"^ *\d+\.\ds ", line) for line in found), found


def assert_the_summary_agrees_with_itself(folder: Path) -> None:
    """Rows, compliance and log counts of summary.json: one judgement, after convergence."""
    record = json.loads((folder / "summary.json").read_text())
    for party, row in record["compliance"].items():
        for clock in ("delivered", "acknowledged"):
            counted = record["judged"].get(party, {}).get(clock, {"met": 0, "late": 0, "missed": 0})
            assert counted == {k: row[clock][k] for k in ("met", "late", "missed")}, (
                party,
                clock,
                counted,
                row[clock],
            )
    delivered = [
        answer["clocks"]["delivered"] for entry in record["entries"] for answer in entry["answers"]
    ]
    assert delivered and all(c["state"] == "met" for c in delivered), delivered
    assert all(row["delivered"]["late"] == 0 for row in record["compliance"].values())
    assert record["converged"] is True and record["behind"] == []
    assert len({held["held"] for held in record["logs"].values()}) == 1, record["logs"]
    request = [e for e in record["entries"] if e["kind"] == "assistance"][0]
    (jp,) = request["answers"]
    assert jp["party"] == "JP" and jp["clocks"]["acknowledged"]["state"] == "met"


def assert_nothing_else_escalates_later(folder: Path) -> None:
    """Judged a day on, the only clock left unanswered is the one the scenario expects."""
    from parley.core.entry import ADDRESSED_KINDS, parse_header
    from parley.node.messaging import deadlines
    from parley.node.node import Node, now_ms
    from parley.store import logs

    later = now_ms() + 86_400_000
    missed = []
    for party in ("us", "jp", "kr", "cn", "ru"):
        node = Node.open(folder / party)
        try:
            with node.store.read() as conn:
                refs = [
                    parse_header(s.leaf).ref
                    for s in logs.iter_log(conn, node.party)
                    if s.kind in ADDRESSED_KINDS
                ]
            for ref in refs:
                missed += [
                    (ref, c.party, c.clock)
                    for c in deadlines.entry_clocks(node, ref, later).clocks
                    if c.state == "missed"
                ]
        finally:
            node.close()
    assert len(missed) == 1 and missed[0][0].startswith("JP:"), missed
    assert missed[0][1:] == ("CN", "acknowledged")
    jp = folder / "jp"
    duty = [
        w
        for line in (folder / "logins.txt").read_text().splitlines()
        if line.startswith("JP ")
        for w in line.split()
        if w.startswith("duty:")
    ]
    shown = subprocess.run(
        [sys.executable, "-m", "parley.cli", "hotline", "log", "CN", "--as", "duty"],
        env={**cli_env(jp), "PARLEY_PASSWORD": duty[0].split(":", 1)[1]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert "deadline missed: not acknowledged by CN" in shown.stdout, shown.stdout
    assert "not acknowledged yet" not in shown.stdout


def assert_receipts_and_the_missed_deadline(folder: Path) -> None:
    """What the nodes hold after the demo: receipts, acknowledgements, one escalation, pins."""
    from parley.core.entry import parse_header
    from parley.node.federation.peers import list_peers
    from parley.node.federation.tlspin import certificate_pin
    from parley.node.messaging import clock_views, receipts
    from parley.node.node import Node
    from parley.store import logs

    us, jp, kr = (Node.open(folder / party) for party in ("us", "jp", "kr"))
    try:
        _, tsunami = receipts.status(us, "US:3")
        assert [(s.party, s.status) for s in tsunami] == [
            ("CN", "acknowledged"),
            ("JP", "acknowledged"),
            ("KR", "acknowledged"),
            ("RU", "acknowledged"),
        ]
        replies = {s.party: s.acknowledged["reply"] for s in tsunami if s.acknowledged}
        assert replies["RU"] == "Received. Kamchatka and Kuril coasts warned."
        missed = [row for row in clock_views.tracked(jp, ["missed"]) if row["kind"] == "hotline"]
        assert [(row["addressee"], row["clock"]) for row in missed] == [("CN", "acknowledged")]
        header, hotline = receipts.status(jp, str(missed[0]["entry"]))
        assert header.audience == ("CN", "JP") and [s.status for s in hotline] == ["delivered"]
        with kr.store.read() as conn:
            kinds = [parse_header(s.leaf).kind for s in logs.iter_log(conn, "KR")]
        assert kinds.count("notification") == 4  # nuclear alert, update, cancel; the STIX report
        pins = {peer.party: (peer.url, peer.tls_spki) for peer in list_peers(us.store)}
        assert pins["JP"][0].startswith("https://")
        assert pins["JP"][1] == certificate_pin(folder / "jp")
    finally:
        for node in (us, jp, kr):
            node.close()


@pytest.mark.fleet
def test_headless_demo_fails_naming_what_did_not_come_back(tmp_path: Path) -> None:
    scenario = tmp_path / "unmet.yaml"
    scenario.write_text(
        NOTIFY.replace("nuclear.facility-event", "health.outbreak").replace(
            'details: {facility: Unit 3, release: "no", ines_level: 2}',
            "details: {pathogen: influenza A(H5N1)}",
        )
        + "    to: [CN]\n"
        "  - {party: CN, action: expect-miss, of: event}\n",
        encoding="utf-8",
    )
    result = demo(tmp_path, "--scenario", str(scenario), "--duration", "2")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no escalation of CN's missed ack of JP:" in result.stdout
    assert "did not bring back everything it expected" in result.stdout


SHORT = """
name: Short
parties: [JP, CN]
steps:
  - id: hello
    party: JP
    action: hotline
    to: [CN]
    phrase: ack.received
  - {at: 1, party: CN, action: ack, of: hello}
"""


@pytest.mark.fleet
def test_interactive_demo_keeps_nodes_until_ctrl_c_then_stops_them_all(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the whole foreground group) stops every server within seconds.

    The previous run in the same folder is kept as ``demo.prev``, never deleted unannounced.
    """
    import os
    import signal
    import time

    import httpx

    scenario = write(tmp_path, SHORT)
    port = free_port()
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "earlier-run.txt").write_text("kept")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "parley.cli",
            "demo",
            "--dir",
            str(tmp_path / "demo"),
            "--base-port",
            str(port),
            "--scenario",
            str(scenario),
        ],
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "press Ctrl-C" in line:
                break
        assert any("← CN acknowledged JP:" in line for line in lines), "".join(lines)
        assert any("kept the previous run as" in line and "demo.prev" in line for line in lines), (
            "".join(lines)
        )
        assert (tmp_path / "demo.prev" / "earlier-run.txt").read_text() == "kept"
        time.sleep(1)
        assert process.poll() is None
        pressed = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
        rest = process.communicate(timeout=60)[0]
        took = time.monotonic() - pressed
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0 and "Stopped every node process in" in rest, rest
    assert "at once" in rest and "killed" not in rest, rest  # every server stopped by itself
    assert took < 8, f"Ctrl-C took {took:.1f} s"
    for offset in range(5):
        with pytest.raises(httpx.TransportError):
            httpx.get(
                f"https://127.0.0.1:{port + offset}/fed/v1/get-sth",
                verify=False,  # noqa: S501
                timeout=1,
            )
