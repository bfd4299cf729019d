"""``parley assistance`` in this process: several resource lines, the catalogue, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from parley.cli.main import app
from tests.support import init_node, officer_vars

QUAKE = [
    "notify",
    "--category",
    "geo.earthquake",
    "--severity",
    "Severe",
    "--urgency",
    "Immediate",
    "--certainty",
    "Observed",
    "--headline",
    "Q",
    "--circle",
    "35.7,139.7,20",
    "--status",
    "Exercise",
]
EX = ["--status", "Exercise"]


def invoke(args: list[str], home: Path) -> Result:
    env = {"PARLEY_HOME": str(home), "PARLEY_TOKEN": None, "COLUMNS": "200", **officer_vars()}
    return CliRunner().invoke(app, args, env=env)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_node(tmp_path_factory.mktemp("assistance") / "jp", "JP")


def test_a_request_of_several_lines_from_a_file_is_on_the_board(home: Path, tmp_path: Path) -> None:
    incident = ok(invoke(QUAKE, home))
    lines = tmp_path / "lines.json"
    lines.write_text(
        json.dumps(
            [
                {"id": "l1", "type": "usar.heavy", "quantity": "2", "unit": "{team}"},
                {
                    "id": "l2",
                    "type": "health.antiviral",
                    "quantity": "5000",
                    "unit": "{course}",
                    "product": "oseltamivir 75 mg",
                    "doses": 50000,
                },
            ]
        )
    )
    request = ok(
        invoke(["assistance", "request", "--incident", incident, "--lines", str(lines), *EX], home)
    )
    board = json.loads(ok(invoke(["assistance", "board", "--json"], home)))
    (item,) = [r for r in board["requests"] if r["ref"] == request]
    assert [(line["id"], line["still_needed"]) for line in item["lines"]] == [
        ("l1", "2"),
        ("l2", "5000"),
    ]
    assert item["lines"][1]["product"] == "oseltamivir 75 mg"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ({"id": "l1"}, "expected a JSON list of resource lines"),
        (
            [
                {"id": "l1", "type": "usar.heavy", "quantity": "2", "unit": "{team}"},
                {"id": "l2", "type": "usar.huge", "quantity": "1", "unit": "{team}"},
            ],
            "resources.l2.type: 'usar.huge' is not in the resource catalogue",
        ),
        (
            [{"id": "l1", "type": "usar.heavy", "quantity": "-2", "unit": "{team}"}],
            "resources.0.quantity",
        ),
        (
            [
                {"id": "l1", "type": "usar.heavy", "quantity": "1", "unit": "{team}"},
                {"id": "l1", "type": "usar.light", "quantity": "1", "unit": "{team}"},
            ],
            "resource line ids repeat",
        ),
    ],
)
def test_bad_lines_are_refused_naming_the_line_and_field(
    home: Path, tmp_path: Path, lines: object, message: str
) -> None:
    incident = ok(invoke(QUAKE, home))
    path = tmp_path / "lines.json"
    path.write_text(json.dumps(lines))
    result = invoke(
        ["assistance", "request", "--incident", incident, "--lines", str(path), *EX], home
    )
    assert result.exit_code != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert message in " ".join(result.stderr.split())


def test_the_catalogue_lists_units_for_every_type(home: Path) -> None:
    rows = json.loads(ok(invoke(["assistance", "types", "--json"], home)))
    heavy = [r for r in rows if r["code"] == "usar.heavy"]
    assert heavy and heavy[0]["units"] == ["{team}"]
