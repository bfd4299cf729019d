"""``parley hotline`` as an officer runs it: real subprocesses on two node homes under one policy.

JP and CN agree on a policy through the CLI (no servers: sending only appends to JP's own log).
What crosses between nodes and is read on the other side is shown by
``tests/integration/test_hotline.py`` with real servers.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from parley.formats import phrases
from tests.support import OfficerEnv, init_node, officer_env, run_cli

DUTY: OfficerEnv = {"PARLEY_USER": "duty", "PARLEY_PASSWORD": "duty-password"}
ANALYST: OfficerEnv = {"PARLEY_USER": "analyst", "PARLEY_PASSWORD": "analyst-password"}
COURSE = [
    "--phrase",
    "nav.course-speed",
    "--param",
    "unit=Kirishima",
    "--param",
    "course=45",
    "--param",
    "speed=12",
]


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hotline")
    homes = {p: init_node(folder / p.lower(), p) for p in ("JP", "CN")}
    members = []
    for party, home in homes.items():
        info = folder / f"{party}.json"
        info.write_text(run_cli("node", "info", "--json", home=home).stdout)
        members += ["--member", str(info)]
    draft = folder / "policy.json"
    run_cli(
        "policy",
        "draft",
        str(draft),
        "--network",
        "parley-test",
        "--name",
        "Pair",
        *members,
        home=folder,
    )
    for home in homes.values():
        run_cli("policy", "sign", str(draft), home=home, **officer_env())
    for home in homes.values():
        run_cli("policy", "adopt", str(draft), home=home, **officer_env())
    for name, role, env in (("duty", "duty-officer", DUTY), ("analyst", "analyst", ANALYST)):
        run_cli(
            "user",
            "add",
            name,
            "--role",
            role,
            home=homes["JP"],
            PARLEY_NEW_PASSWORD=env["PARLEY_PASSWORD"],
            **officer_env(),
        )
    return homes


def hotline(
    home: Path, *args: str, check: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    return run_cli("hotline", *args, home=home, check=check, **env)


def log_size(home: Path) -> int:
    return len(
        run_cli(
            "log", "show", "--json", "--limit", "100000", home=home, **officer_env()
        ).stdout.splitlines()
    )


def test_phrases_lists_the_catalogue_in_the_node_s_or_the_chosen_language(
    homes: dict[str, Path],
) -> None:
    doc = json.loads(hotline(homes["JP"], "phrases", "--json").stdout)
    assert doc["catalogue"] == phrases.catalogue_hash() and doc["lang"] == "ja"
    assert len(doc["phrases"]) >= 60 and set(doc["types"]) == set(phrases.PARAM_TYPES)
    course = next(p for p in doc["phrases"] if p["code"] == "nav.course-speed")
    assert course["params"] == [
        {"name": "unit", "type": "name"},
        {"name": "course", "type": "bearing"},
        {"name": "speed", "type": "speed"},
    ]
    assert (
        course["text"] == course["texts"]["ja"] == "{unit}は針路{course}、速力{speed}で航行中です。"
    )
    table = hotline(homes["CN"], "phrases", "--group", "nav").stdout
    assert "航向、航速和高度" in table and "{unit}航向{course}，航速{speed}。" in table
    russian = hotline(homes["CN"], "phrases", "--lang", "ru", "--group", "ack").stdout
    assert "Выполним." in russian and "nav.course-speed" not in russian
    bad = hotline(homes["CN"], "phrases", "--lang", "fr", check=False)
    assert bad.returncode != 0 and "--lang 'fr' is not one of en, ja, ko, zh, ru" in bad.stderr


def test_send_signs_an_amber_message_to_both_parties_and_prints_its_reference(
    homes: dict[str, Path],
) -> None:
    jp = homes["JP"]
    sent = hotline(jp, "send", "CN", *COURSE, "--status", "Exercise", **DUTY)
    ref = sent.stdout.strip()
    assert ref.startswith("JP:")
    assert "Kirishimaは針路045°、速力12ノットで航行中です。" in sent.stderr
    (row,) = [
        json.loads(line)
        for line in run_cli(
            "log", "show", "--json", "--limit", "100000", home=jp, **officer_env()
        ).stdout.splitlines()
        if json.loads(line)["ref"] == ref
    ]
    assert row["kind"] == "hotline" and row["audience"] == ["CN", "JP"] and row["tlp"] == "AMBER"
    assert row["status"] == "Exercise"
    shown = json.loads(hotline(jp, "show", ref, "--json", "--lang", "ko", **DUTY).stdout)
    assert shown["params"] == {"unit": "Kirishima", "course": "045", "speed": "12"}
    assert shown["catalogue"] == phrases.catalogue_hash() and shown["catalogue_matches"]
    assert shown["signed_rendering"]["lang"] == "ja"
    assert shown["rendering"] == {
        "lang": "ko",
        "text": "Kirishima은(는) 침로 045°, 속력 12노트로 항행 중입니다.",
    }
    assert shown["acknowledged_within"] == 5 * 60 * 1000  # the policy's hotline class
    assert shown["answer"] == {
        "party": "CN",
        "status": "none",
        "delivered": None,
        "acknowledged": None,
    }
    reply = hotline(
        jp,
        "send",
        "CN",
        "--phrase",
        "ack.checking",
        "--reply-to",
        ref,
        "--lang",
        "en",
        "--tlp",
        "RED",
        "--status",
        "Exercise",
        **DUTY,
    ).stdout.strip()
    answered = json.loads(hotline(jp, "show", reply, "--json", **DUTY).stdout)
    assert answered["in_reply_to"] == ref and answered["tlp"] == "RED"
    assert answered["signed_rendering"] == {"lang": "en", "text": "We are checking and will reply."}


@pytest.mark.parametrize(
    ("args", "env", "code", "words"),
    [
        (COURSE, DUTY, 1, "--status is required: one of Actual, Exercise, Test, Draft"),
        ([*COURSE, "--status", "Real"], DUTY, 1, "--status 'Real' is not one of"),
        (
            [*COURSE[:-1], "speed=2001", "--status", "Actual"],
            DUTY,
            1,
            "parameter 'speed' (speed): 2001 is outside 0-2000 knots",
        ),
        ([*COURSE, "--param", "course", "--status", "Actual"], DUTY, 1, "is not NAME=VALUE"),
        (["--status", "Actual"], DUTY, 1, "needs --phrase or --text"),
        (["--text", "hello", "--status", "Actual", "--to-be-refused"], DUTY, 2, "No such option"),
        ([*COURSE, "--status", "Exercise"], ANALYST, 5, "needs duty-officer or admin"),
    ],
)
def test_send_refuses_bad_input_with_a_clear_error_and_appends_nothing(
    homes: dict[str, Path], args: list[str], env: dict[str, str], code: int, words: str
) -> None:
    jp = homes["JP"]
    before = log_size(jp)
    result = hotline(jp, "send", "CN", *args, check=False, **env)
    assert result.returncode == code, result.stderr
    assert words in " ".join(result.stderr.split()), result.stderr
    assert log_size(jp) == before


def test_send_to_a_party_outside_the_network_is_refused(homes: dict[str, Path]) -> None:
    result = hotline(
        homes["JP"], "send", "KR", "--text", "hello", "--status", "Exercise", check=False, **DUTY
    )
    assert result.returncode != 0 and "party KR is not a member" in result.stderr


def test_the_log_shows_free_text_exactly_as_written_never_as_markup(
    homes: dict[str, Path],
) -> None:
    jp = homes["JP"]
    text = "[bold red]Keep clear[/] of grid [31] \x1b[2J now\u202e"
    ref = hotline(jp, "send", "CN", "--text", text, "--status", "Test", **DUTY).stdout.strip()
    shown = hotline(jp, "log", "CN", **DUTY).stdout
    assert "[bold red]Keep clear[/] of grid [31] \\x1b[2J now\\u202e" in shown
    assert "\x1b" not in shown and "\u202e" not in shown
    assert ref in shown and "JP -> CN  Test TLP:AMBER, ack within 5 min" in shown
    assert "no receipt yet" in shown
    doc = json.loads(hotline(jp, "log", "CN", "--json", **DUTY).stdout)
    assert doc["party"] == "JP" and doc["peer"] == "CN" and doc["lang"] == "ja"
    assert doc["messages"][-1]["text"] == text  # JSON keeps the exact characters
    assert [m["direction"] for m in doc["messages"]] == ["sent"] * len(doc["messages"])
    times = [m["time"] for m in doc["messages"]]
    assert times == sorted(times)
    limited = json.loads(hotline(jp, "log", "CN", "--json", "--limit", "1", **DUTY).stdout)
    assert [m["ref"] for m in limited["messages"]] == [ref]


def test_the_log_with_a_party_without_messages_says_so(homes: dict[str, Path]) -> None:
    shown = hotline(homes["CN"], "log", "JP", **officer_env()).stdout
    assert "no hotline messages between CN and JP" in shown
    same = hotline(homes["CN"], "log", "CN", check=False, **officer_env())
    assert same.returncode != 0 and "with another party" in same.stderr
