"""``parley export --format cap`` says who may read it, and ``parley import`` reads it back."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree
from typer.testing import CliRunner, Result

from parley.cli.main import app
from tests.support import OFFICER_PASSWORD, officer_vars

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
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
    "--circle",
    "35,139,10",
    "--area-desc",
    "Off Chiba",
]


def invoke(args: list[str], home: Path) -> Result:
    env = {
        "PARLEY_HOME": str(home),
        "PARLEY_TOKEN": None,
        "PARLEY_PASSPHRASE": None,
        "COLUMNS": "200",
        **officer_vars(),
    }
    return CliRunner().invoke(app, args, env=env)


def settled(result: Result) -> str:
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


def node(home: Path, party: str) -> Path:
    settled(invoke(["init", str(home), "--party", party, "--name", party, "--network", "t"], home))
    env = {"PARLEY_HOME": str(home), "PARLEY_NEW_PASSWORD": OFFICER_PASSWORD}
    assert (
        CliRunner().invoke(app, ["user", "add", "admin", "--role", "admin"], env=env).exit_code == 0
    )
    return home


def test_an_amber_export_for_two_parties_is_private_and_imports_with_its_marking(
    tmp_path: Path,
) -> None:
    jp, kr = node(tmp_path / "jp", "JP"), node(tmp_path / "kr", "KR")
    ref = settled(invoke(["notify", *QUAKE, "--to", "US", "--tlp", "AMBER"], jp)).strip()
    exported = settled(invoke(["export", ref, "--format", "cap"], jp))
    root = etree.fromstring(exported.encode())
    assert root.findtext(f"{CAP}scope") == "Private"
    assert root.findtext(f"{CAP}addresses") == "JP US"
    assert "Public" not in exported
    values = [
        p.findtext(f"{CAP}value")
        for p in root.iter(f"{CAP}parameter")
        if p.findtext(f"{CAP}valueName") == "TLP"
    ]
    assert values == ["TLP:AMBER"] * len(root.findall(f"{CAP}info"))

    alert = tmp_path / "alert.xml"
    alert.write_text(exported, encoding="utf-8")
    widened = invoke(["import", str(alert), "--to", "ALL", "--tlp", "GREEN"], kr)
    assert widened.exit_code != 0 and "marked TLP:AMBER for JP,US" in widened.stderr
    imported = settled(invoke(["import", str(alert)], kr)).strip()
    header = json.loads(settled(invoke(["show", imported, "--json"], kr)))["header"]
    assert (header["audience"], header["tlp"]) == (["JP", "KR", "US"], "AMBER")


def test_an_import_whose_marking_contradicts_itself_is_refused(tmp_path: Path) -> None:
    jp = node(tmp_path / "jp", "JP")
    ref = settled(invoke(["notify", *QUAKE, "--to", "US", "--tlp", "RED"], jp)).strip()
    exported = settled(invoke(["export", ref, "--format", "cap"], jp))
    alert = tmp_path / "alert.xml"
    alert.write_text(exported.replace("<scope>Private</scope>", "<scope>Public</scope>"))
    refused = invoke(["import", str(alert)], node(tmp_path / "kr", "KR"))
    assert refused.exit_code != 0
    assert "scope Public cannot carry TLP:RED" in refused.stderr
    assert "Traceback" not in refused.stderr
