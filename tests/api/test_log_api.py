"""The RFC 6962-shaped log API of a real ``parley serve`` process."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from parley.core import merkle
from parley.core.checkpoint import open_checkpoint
from parley.core.entry import Body, parse_header
from parley.core.keys import PublicKey
from tests.support import Server, init_node, officer_env, run_cli

HOTLINE = {"to": "CN", "text": "Keep clear", "deadlines": {"acknowledged_within": 300000}}


def b64d(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = init_node(tmp_path_factory.mktemp("api") / "jp")
    lines = [
        json.dumps({"kind": "hotline", "status": "Exercise", "to": "CN", "body": HOTLINE})
        for _ in range(40)
    ]
    source = home.parent / "entries.jsonl"
    source.write_text("\n".join(lines) + "\n")
    run_cli("log", "append", "--jsonl", str(source), home=home, **officer_env())
    server = Server(home)
    yield home, server
    server.stop()


def get(server: Server, path: str, **params: str | int) -> httpx.Response:
    return httpx.get(server.url + path, params=params, timeout=10)


def test_get_sth_serves_a_signed_checkpoint_with_json_fields(served) -> None:  # type: ignore[no-untyped-def]
    _home, server = served
    sth = get(server, "/fed/v1/get-sth").json()
    keys = get(server, "/fed/v1/public-key").json()
    checkpoint = open_checkpoint(sth["checkpoint"], keys["origin"], b64d(keys["keys"]["log"]))
    assert checkpoint.size == sth["tree_size"] == 42
    assert checkpoint.root == b64d(sth["sha256_root_hash"])
    assert checkpoint.time_ms is None  # extension-free: what any C2SP witness cosigns
    last = get(server, "/fed/v1/get-entries", start=41, end=41).json()["entries"][0]
    assert sth["timestamp"] == json.loads(b64d(last["leaf_input"]))["time"]
    assert keys["log_vkey"].startswith(keys["origin"] + "+")
    assert keys["origin"].endswith(".parley.invalid/parley-test/JP")


def test_entries_and_inclusion_proofs_verify_against_the_sth(served) -> None:  # type: ignore[no-untyped-def]
    _home, server = served
    sth = get(server, "/fed/v1/get-sth").json()
    root, size = b64d(sth["sha256_root_hash"]), sth["tree_size"]
    entries = get(server, "/fed/v1/get-entries", start=0, end=size - 1).json()["entries"]
    assert len(entries) == size
    for index, item in enumerate(entries):
        leaf = b64d(item["leaf_input"])
        leaf_hash = merkle.leaf_hash(leaf)
        proof = get(
            server,
            "/fed/v1/get-proof-by-hash",
            hash=base64.b64encode(leaf_hash).decode(),
            tree_size=size,
        ).json()
        assert proof["leaf_index"] == index
        path = [b64d(h) for h in proof["audit_path"]]
        merkle.verify_inclusion(leaf_hash, index, size, path, root)


def test_bodies_are_served_only_for_audience_all_with_tlp_clear(served) -> None:  # type: ignore[no-untyped-def]
    _home, server = served
    entries = get(server, "/fed/v1/get-entries", start=0, end=5).json()["entries"]
    for item in entries:
        header = parse_header(b64d(item["leaf_input"]))
        if header.audience == "ALL" and header.tlp == "CLEAR":
            body = Body(b64d(item["salt"]), b64d(item["body"]))
            header.check_body(body)
        else:
            assert "body" not in item and "salt" not in item
            raw = json.dumps(item)
            assert "Keep clear" not in raw
    assert sum("body" in item for item in entries) == 2  # the key statement and the policy


def test_consistency_proofs_verify_between_sizes(served) -> None:  # type: ignore[no-untyped-def]
    home, server = served
    entries = get(server, "/fed/v1/get-entries", start=0, end=41).json()["entries"]
    leaves = [merkle.leaf_hash(b64d(e["leaf_input"])) for e in entries]
    nodes: dict[merkle.NodeId, bytes] = {}
    roots = {}
    for index, leaf in enumerate(leaves):
        nodes.update(merkle.append_leaf(index, leaf, nodes.__getitem__))
        roots[index + 1] = merkle.hash_of_nodes(
            [nodes[n] for n in merkle.range_nodes(0, index + 1)]
        )
    for first, second in [(1, 42), (7, 42), (16, 33), (42, 42)]:
        proof = get(server, "/fed/v1/get-sth-consistency", first=first, second=second).json()
        path = [b64d(h) for h in proof["consistency"]]
        merkle.verify_consistency(first, second, roots[first], roots[second], path)


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        ("/fed/v1/get-entries", {"start": 50, "end": 60}, 400, "start=50"),
        ("/fed/v1/get-entries", {"start": 5, "end": 2}, 400, "start <= end"),
        ("/fed/v1/get-entries", {"start": -1, "end": 2}, 400, "start"),
        ("/fed/v1/get-entries", {"start": "x", "end": 2}, 400, "start"),
        ("/fed/v1/get-sth-consistency", {"first": 10, "second": 99}, 400, "tree size 42"),
        ("/fed/v1/get-sth-consistency", {"first": 10, "second": 5}, 400, "first <= second"),
        ("/fed/v1/get-proof-by-hash", {"hash": "not-base64!" * 4, "tree_size": 5}, 400, "hash"),
        (
            "/fed/v1/get-proof-by-hash",
            {"hash": base64.b64encode(b"\0" * 32).decode(), "tree_size": 5},
            404,
            "no leaf",
        ),
        (
            "/fed/v1/get-proof-by-hash",
            {"hash": base64.b64encode(b"\0" * 32).decode(), "tree_size": 500},
            400,
            "exceeds",
        ),
    ],
)
def test_malformed_or_out_of_range_requests_get_problem_details(  # type: ignore[no-untyped-def]
    served, path: str, params: dict[str, str | int], status: int, words: str
) -> None:
    _home, server = served
    response = get(server, path, **params)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status and words in problem["detail"]


def test_server_publishes_a_cli_append_within_its_watch_interval(
    tmp_path: Path, start_server: Callable[[Path], Server]
) -> None:
    home = init_node(tmp_path / "jp")
    server = start_server(home)
    before = get(server, "/fed/v1/get-sth").json()["tree_size"]
    body = tmp_path / "b.json"
    body.write_text(json.dumps(HOTLINE))
    run_cli(
        "log",
        "append",
        "--kind",
        "hotline",
        "--status",
        "Test",
        "--body-file",
        str(body),
        "--to",
        "CN",
        home=home,
        **officer_env(),
    )
    appended_at = time.monotonic()
    seen = None
    while time.monotonic() - appended_at < 10:
        sth = get(server, "/fed/v1/get-sth").json()
        if sth["tree_size"] == before + 1:
            seen = time.monotonic() - appended_at
            break
        time.sleep(0.005)
    assert seen is not None, "the server never published the CLI's append"
    keys = get(server, "/fed/v1/public-key").json()
    identity = PublicKey(b64d(keys["identity"]))
    assert identity.kid == keys["identity_kid"]
