"""The README's duty-officer walk-through works, run exactly as written, against real nodes.

The fenced block under "A duty officer's first minutes" is read from README.md (so this test
breaks when the README drifts) and run by ``bash -euo pipefail`` in a folder laid out as
``make demo`` leaves it: ``demo-run/cn`` and ``demo-run/jp`` are the homes of three real nodes
(US, JP, CN) serving over pinned TLS, and ``demo-run/logins.txt`` has the demo's format. As in
the demo, JP's duty officer has sent CN a collision warning that CN has not acknowledged.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from parley.core.entry import parse_ref
from parley.store import logs
from tests.integration.fleet import Fleet, eventually

pytestmark = [pytest.mark.slow, pytest.mark.fleet]

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## A duty officer's first minutes"
CN_DUTY_PASSWORD = "cn-duty-password"
KANA = re.compile(r"[\u3040-\u30ff]")  # Japanese, not the Chinese of CN's own rendering


def readme_block() -> str:
    """The first ``sh`` fenced block after the walk-through's heading in README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert HEADING in text, "README.md lost its walk-through"
    match = re.search(r"```sh\n(.*?)```", text.split(HEADING, 1)[1], re.DOTALL)
    assert match is not None, "no sh block under the walk-through heading"
    return match.group(1)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with Fleet.running(tmp_path_factory.mktemp("readme"), parties=("US", "JP", "CN")) as fleet:
        yield fleet


def held(fleet: Fleet, party: str, ref: str) -> bool:
    author, seq = parse_ref(ref)
    node = fleet[party].open()
    try:
        with node.store.read() as conn:
            stored = logs.get_entry(conn, author, seq)
        return stored is not None and stored.body is not None
    finally:
        node.close()


def demo_folder(fleet: Fleet, where: Path) -> None:
    """``demo-run/`` as the demo leaves it: homes and logins.txt (demo format), and the venv."""
    run = where / "demo-run"
    run.mkdir()
    lines = []
    for party, password in (("JP", fleet.duty_password), ("CN", CN_DUTY_PASSWORD)):
        node = fleet[party]
        (run / party.lower()).symlink_to(node.home)
        lines.append(
            f"{party} {node.url} tls-spki={node.pin} home={node.home} admin:unused duty:{password}"
        )
    (run / "logins.txt").write_text("\n".join(lines) + "\n")
    (where / ".venv").symlink_to(ROOT / ".venv")


def test_the_readme_walkthrough_runs_as_written(fleet: Fleet, tmp_path: Path) -> None:
    jp, cn = fleet["JP"], fleet["CN"]
    cn.cli("user", "add", "duty", "--role", "duty-officer", PARLEY_NEW_PASSWORD=CN_DUTY_PASSWORD)
    warning = jp.cli(
        "hotline",
        "send",
        "CN",
        "--phrase",
        "warn.collision-risk",
        "--param",
        "unit=JCG Shikishima",
        "--param",
        "vessel=Haijing 2901",
        "--status",
        "Exercise",
        PARLEY_USER="duty",
        PARLEY_PASSWORD=fleet.duty_password,
    ).stdout.strip()
    eventually(lambda: held(fleet, "CN", warning), 30, f"CN to hold {warning}")
    demo_folder(fleet, tmp_path)

    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env |= {"COLUMNS": "200", "TZ": "Asia/Tokyo"}
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_block()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    shown = result.stdout
    assert result.returncode == 0, shown + result.stderr
    assert "Traceback" not in result.stderr
    assert warning in shown  # the inbox listed it, and show/ack named it
    assert f"Acknowledged {warning} as CN:" in shown
    assert KANA.search(shown), shown  # the answer, as JP's officer reads it
    receipts = shown.split("hotline Exercise sent", 1)[1]  # 'parley receipts' on
    assert re.search(r"│ JP\s+│ (delivered|acknowledged)", receipts), receipts
    assert (tmp_path / "evidence.json").is_file()
    assert re.search(r"^OK evidence bundle for CN:\d+ on network parley-test", shown, re.M), shown
    assert "JST" in shown  # times in the officer's zone

    sent = re.search(r"^(CN:\d+) hotline Exercise sent", shown, re.M)
    assert sent is not None, shown
    for args in (["receipts", sent.group(1)], ["inbox"], ["status"]):
        narrow = cn.cli(*args, COLUMNS="80", PARLEY_USER="duty", PARLEY_PASSWORD=CN_DUTY_PASSWORD)
        assert "…" not in narrow.stdout, narrow.stdout  # folded, never cut

    waited = cn.cli(
        "receipts",
        sent.group(1),
        "--wait",
        "1s",
        "--until",
        "acknowledged",
        check=False,
        PARLEY_USER="duty",
        PARLEY_PASSWORD=CN_DUTY_PASSWORD,
    )
    assert waited.returncode == 1, waited.stdout + waited.stderr
    assert f"Not every addressee acknowledged {sent.group(1)} within 1s: still waiting for JP" in (
        waited.stderr
    )
