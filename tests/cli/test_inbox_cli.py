"""``parley inbox``, ``show``, ``status``, ``receipts`` and ``log append`` as an officer runs them.

Two node homes (JP, CN) made and agreed through the real CLI; entries travel between them
in-process (``sync.pull`` from the ``MemoryLog`` of ``tests/node/conftest.py``), so no server
runs here. ``tests/integration/test_officer_truth.py`` does the same over TLS between servers.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from parley.node.federation import peers
from parley.node.federation.pull import pull
from parley.node.log import Draft
from parley.node.messaging import deadlines
from parley.node.node import Node, now_ms
from tests.support import PARLEY, cli_env, init_node, officer_env, run_cli

_spec = importlib.util.spec_from_file_location(
    "parley_node_kit", Path(__file__).parents[1] / "node" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
kit: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kit)


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inbox")
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
        "--deadline-scale",
        "0.01",
        *members,
        home=folder,
    )
    for home in homes.values():
        run_cli("policy", "sign", str(draft), home=home, **officer_env())
    for home in homes.values():
        run_cli("policy", "adopt", str(draft), home=home, **officer_env())
    return homes


def cli(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, home=home, check=check, **officer_env())


def carry(receiver_home: Path, author_home: Path) -> None:
    """Pull the author's log into the receiver, in-process."""
    receiver, author = Node.open(receiver_home), Node.open(author_home)
    try:
        pinned = {p.party: p for p in peers.list_peers(receiver.store)}
        peer = pinned.get(author.party) or kit.pin(receiver, author)
        pull(receiver, peer, kit.MemoryLog(author, receiver.party))
        deadlines.run_round(receiver, now_ms())  # the server's tracking, without a server
    finally:
        receiver.close()
        author.close()


def append(home: Path, draft: Draft) -> str:
    node = Node.open(home)
    try:
        (header,) = node.append([draft])
        return header.ref
    finally:
        node.close()


def test_the_inbox_lists_a_hotline_with_its_clock_and_show_reads_it(
    homes: dict[str, Path],
) -> None:
    jp, cn = homes["JP"], homes["CN"]
    sent = cli(
        jp, "hotline", "send", "CN", "--text", "ship \x1b[31m ahead", "--status", "Exercise"
    ).stdout.strip()
    carry(cn, jp)

    page = json.loads(cli(cn, "inbox", "--json").stdout)
    (item,) = [i for i in page["items"] if i["ref"] == sent]
    assert item["kind"] == "hotline" and item["author"] == "JP" and item["receipt"] == "delivered"
    assert [c["clock"] for c in item["clocks"]] == ["acknowledged"]
    shown = cli(cn, "inbox", "--kind", "hotline").stdout
    assert sent in shown and "acknowledged" in shown and "\\x1b[31m" in shown

    read = cli(cn, "show", sent).stdout
    assert f"{sent}  hotline  Exercise  TLP:AMBER" in read
    assert '"to": "CN"' in read and "CN: delivered" in read
    assert "\x1b" not in read  # the peer's control character is shown escaped

    cli(cn, "ack", sent)
    (item,) = [
        i for i in json.loads(cli(cn, "inbox", "--json").stdout)["items"] if i["ref"] == sent
    ]
    assert item["receipt"] == "acknowledged" and item["clocks"] == []
    status = json.loads(cli(cn, "status", "--json").stdout)
    assert [r for r in status["open"] if r["entry"] == sent] == []


def test_an_empty_or_filtered_inbox_says_why(homes: dict[str, Path]) -> None:
    jp = homes["JP"]
    assert cli(jp, "inbox").stdout.strip() == "nothing addressed to JP yet"
    assert "nothing matches --kind inquiry" in cli(homes["CN"], "inbox", "--kind", "inquiry").stdout
    refused = cli(jp, "inbox", "--kind", "receipt", check=False)
    assert refused.returncode != 0 and "--kind 'receipt' is not an addressed kind" in refused.stderr


def test_the_inbox_needs_an_officer_who_may_read(homes: dict[str, Path]) -> None:
    refused = run_cli(
        "inbox", home=homes["CN"], check=False, PARLEY_USER="admin", PARLEY_PASSWORD="wrong"
    )
    assert refused.returncode == 5


def test_follow_prints_what_arrives_and_stops_when_bounded(homes: dict[str, Path]) -> None:
    jp, cn = homes["JP"], homes["CN"]
    follower = subprocess.Popen(
        [*PARLEY, "inbox", "--json", "--follow-for", "20"],
        env=cli_env(cn, **officer_env()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(4)  # the first page is printed before the new message exists
        sent = cli(
            jp, "hotline", "send", "CN", "--text", "new one", "--status", "Exercise"
        ).stdout.strip()
        carry(cn, jp)
        output, errors = follower.communicate(timeout=60)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, errors
    followed = [json.loads(line) for line in output.splitlines() if line.startswith('{"ref"')]
    assert [item["ref"] for item in followed] == [sent]


def test_log_append_refuses_what_peers_would_store_header_only(
    homes: dict[str, Path], tmp_path: Path
) -> None:
    jp = homes["JP"]
    body = tmp_path / "body.json"
    body.write_text(
        json.dumps({"to": "CN", "text": "later", "deadlines": {"acknowledged_within": 300000}})
    )
    refused = cli(
        jp,
        "log",
        "append",
        "--kind",
        "hotline",
        "--status",
        "Exercise",
        "--body-file",
        str(body),
        "--to",
        "CN,JP",
        check=False,
    )
    assert refused.returncode != 0
    assert "acknowledged_within 300000 ms is outside the policy's bounds" in refused.stderr
    assert "12000" in refused.stderr
    body.write_text(json.dumps({"nonce": "ab" * 16, "deadlines": {}}))
    stranger = cli(
        jp,
        "log",
        "append",
        "--kind",
        "check",
        "--status",
        "Exercise",
        "--body-file",
        str(body),
        "--to",
        "ZZ",
        check=False,
    )
    assert stranger.returncode != 0 and "ZZ is not a member" in stranger.stderr


def test_receipts_and_status_say_when_a_peer_stored_our_entry_header_only(
    homes: dict[str, Path],
) -> None:
    jp, cn = homes["JP"], homes["CN"]
    stretched = {"to": "CN", "text": "whenever", "deadlines": {"acknowledged_within": 300000}}
    ref = append(jp, Draft("hotline", "Exercise", stretched, ("CN", "JP"), None))
    carry(cn, jp)
    carry(jp, cn)

    shown = cli(jp, "receipts", ref).stdout
    assert "stored header-only by CN: policy-breach" in shown and "300000" in shown
    status = cli(jp, "status").stdout
    assert f"header-only CN: {ref} stored header-only by CN: policy-breach" in status
