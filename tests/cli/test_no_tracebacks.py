"""Every command that takes a file answers a bad file with a message naming it, never a traceback.

Each file argument or option is given a missing file, an empty file, a folder in its place and
(where JSON is read) malformed JSON. The bulk runs the Typer app in this process; a few cases
run the real ``parley`` subprocess, as an officer would.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from parley.cli.main import app
from tests.support import OFFICER_PASSWORD, officer_env, officer_vars, run_cli

MISSING, EMPTY, FOLDER, BAD_JSON, NO_PARENT = "missing", "empty", "folder", "bad-json", "no-parent"
INPUT = (MISSING, EMPTY, FOLDER)
JSON_INPUT = (*INPUT, BAD_JSON)
OUTPUT = (NO_PARENT, FOLDER)
NOTIFY = [
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
    "test",
]

# (name, arguments with {F} for the bad file, the kinds of bad file)
CASES: list[tuple[str, list[str], tuple[str, ...]]] = [
    ("verify log", ["verify", "log", "{F}"], JSON_INPUT),
    ("verify proof", ["verify", "proof", "{F}"], JSON_INPUT),
    ("verify equivocation", ["verify", "equivocation", "{F}"], JSON_INPUT),
    ("verify bundle", ["verify", "bundle", "{F}"], JSON_INPUT),
    ("assistance verify", ["assistance", "verify", "{F}"], JSON_INPUT),
    ("roadmap verify", ["roadmap", "verify", "{F}"], JSON_INPUT),
    ("roadmap draft", ["roadmap", "draft", "{F}", "--status", "Exercise"], JSON_INPUT),
    ("roadmap attest --evidence", ["roadmap", "attest", "JP:2", "a", "--evidence", "{F}"], INPUT),
    ("verify log --home", ["verify", "log", "--home", "{F}"], (MISSING, EMPTY)),
    (
        "log append --body-file",
        ["log", "append", "--kind", "notification", "--status", "Exercise", "--body-file", "{F}"],
        JSON_INPUT,
    ),
    ("log append --jsonl", ["log", "append", "--jsonl", "{F}"], JSON_INPUT),
    ("log show --home", ["log", "show", "--home", "{F}"], (MISSING, EMPTY)),
    ("log export", ["log", "export", "{F}"], OUTPUT),
    ("log proof --out", ["log", "proof", "JP:2", "--out", "{F}"], OUTPUT),
    ("evidence export --out", ["evidence", "export", "JP:2", "--out", "{F}"], OUTPUT),
    (
        "policy draft --member",
        ["policy", "draft", "{OUT}", "--network", "n", "--name", "x", "--member", "{F}"],
        JSON_INPUT,
    ),
    (
        "policy draft FILE",
        ["policy", "draft", "{F}", "--network", "n", "--name", "x", "--member", "{INFO}"],
        OUTPUT,
    ),
    ("policy sign", ["policy", "sign", "{F}"], JSON_INPUT),
    ("policy adopt", ["policy", "adopt", "{F}"], JSON_INPUT),
    ("import", ["import", "{F}", "--status", "Exercise"], JSON_INPUT),
    ("import --cap-signer-key", ["import", "{INFO}", "--cap-signer-key", "{F}"], INPUT),
    ("export --all --out", ["export", "--all", "--out", "{F}"], (EMPTY,)),
    ("notify --area", ["notify", *NOTIFY, "--area", "{F}"], JSON_INPUT),
    ("key rotate --next-key", ["key", "rotate", "--next-key", "{F}"], INPUT),
    ("restore --from-peers", ["restore", "--from-peers", "{F}"], JSON_INPUT),
    ("exercise run", ["exercise", "run", "{F}", "--node", "JP={HOME}"], (*INPUT, BAD_JSON)),
    ("demo --scenario", ["demo", "--headless", "--scenario", "{F}", "--dir", "{OUT}"], INPUT),
    ("init", ["init", "{F}", "--party", "JP", "--name", "x"], (EMPTY,)),
]


def invoke(args: list[str], env: dict[str, str | None]) -> Result:
    """Run ``parley`` in this process; a failure to set up is a test failure."""
    return CliRunner().invoke(app, args, env=env)


def settled(result: Result) -> str:
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def node_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node with a notification (JP:2) and its 'node info --json' beside it, made in process."""
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
    settled(invoke(["notify", *NOTIFY, "--circle", "35.6,139.7,10"], env))
    info = settled(invoke(["node", "info", "--json"], env))
    (home.parent / "info.json").write_text(info, encoding="utf-8")
    return home


def environment(home: Path) -> dict[str, str | None]:
    return {
        "PARLEY_HOME": str(home),
        "PARLEY_TOKEN": None,
        "PARLEY_PASSPHRASE": None,
        "COLUMNS": "200",
        **officer_vars(),
    }


def bad_file(folder: Path, kind: str) -> Path:
    """A file of the given kind of badness, in a fresh folder."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}.json"
    if kind == EMPTY:
        path.write_bytes(b"")
    elif kind == FOLDER:
        path.mkdir()
    elif kind == BAD_JSON:
        path.write_text('{"party": "JP",\n  oops}\n', encoding="utf-8")
    elif kind == NO_PARENT:
        path = folder / "no-such-folder" / "out.json"
    return path


def expand(args: list[str], path: Path, home: Path, scratch: Path) -> list[str]:
    values = {
        "{F}": str(path),
        "{HOME}": str(home),
        "{OUT}": str(scratch / "out"),
        "{INFO}": str(home.parent / "info.json"),
    }
    expanded = []
    for arg in args:
        for key, value in values.items():
            arg = arg.replace(key, value)
        expanded.append(arg)
    return expanded


PARAMS = [
    pytest.param(args, kind, id=f"{name}-{kind}") for name, args, kinds in CASES for kind in kinds
]


def flat(text: str) -> str:
    return "".join(text.split())


@pytest.fixture
def env(node_home: Path) -> dict[str, str | None]:
    return environment(node_home)


@pytest.mark.parametrize(("args", "kind"), PARAMS)
def test_a_bad_file_gets_a_message_naming_it(
    args: list[str], kind: str, node_home: Path, tmp_path: Path, env: dict[str, str | None]
) -> None:
    path = bad_file(tmp_path / "in", kind)
    result = invoke(expand(args, path, node_home, tmp_path), env)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}\n{output}"
    )
    assert result.exit_code != 0, output
    assert flat(str(path)) in flat(result.stderr), output


def test_verify_log_of_an_evidence_bundle_names_verify_bundle(
    node_home: Path, tmp_path: Path, env: dict[str, str | None]
) -> None:
    bundle = tmp_path / "bundle.json"
    settled(invoke(["evidence", "export", "JP:2", "--out", str(bundle)], env))
    result = invoke(["verify", "log", str(bundle)], env)
    assert result.exit_code != 0
    assert "verify bundle" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "proof", "{MISSING}"],
        [
            "log",
            "append",
            "--kind",
            "notification",
            "--status",
            "Exercise",
            "--body-file",
            "{MISSING}",
        ],
        ["evidence", "export", "JP:2", "--out", "{NODIR}"],
    ],
    ids=["verify proof", "log append", "evidence export"],
)
def test_the_real_command_reports_a_missing_file(
    args: list[str], node_home: Path, tmp_path: Path
) -> None:
    missing, nodir = tmp_path / "missing.json", tmp_path / "no-such-folder" / "x"
    real = [a.replace("{MISSING}", str(missing)).replace("{NODIR}", str(nodir)) for a in args]
    result: subprocess.CompletedProcess[str] = run_cli(
        *real, home=node_home, check=False, **officer_env()
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode != 0
    named = missing if "{MISSING}" in " ".join(args) else nodir
    assert str(named) in result.stderr
