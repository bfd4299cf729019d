"""A log's origin is chosen once, at init, unique to the deployment, and never recomputed."""

from __future__ import annotations

import tomllib
from pathlib import Path

from parley.core.checkpoint import deployment_origin, origin_for, parse_note, witness_name_for
from parley.node import keyrotation
from parley.node.home import no_passphrase
from parley.node.node import Node, now_ms
from parley.store import logs


def first_line(note: str) -> str:
    return parse_note(note).text.split("\n", 1)[0]


def test_two_deployments_of_one_network_and_party_get_different_origins(tmp_path: Path) -> None:
    one = Node.create(tmp_path / "one", party="JP", name="JP", network="parley-local")
    two = Node.create(tmp_path / "two", party="JP", name="JP", network="parley-local")
    try:
        assert one.log.origin != two.log.origin
        for node in (one, two):
            kid = node.context().statement.identity.kid
            assert node.log.origin == deployment_origin("parley-local", "JP", kid)
            config = tomllib.loads((node.home.path / "parley.toml").read_text())
            assert config["node"]["origin"] == node.log.origin  # stored by init
            checkpoint = node.checkpoint()
            assert checkpoint is not None and first_line(checkpoint[1]) == node.log.origin
    finally:
        one.close()
        two.close()


def test_policy_amendment_and_key_rotations_keep_the_origin(network, kit, tmp_path) -> None:  # type: ignore[no-untyped-def]
    us = network("US", "JP")["US"]  # the network policy amended the single-member one
    origin = us.log.origin
    assert origin != origin_for(us.network, "US")
    keyrotation.rotate_identity(us, no_passphrase, None, now_ms())
    keyrotation.rotate_purpose(us, no_passphrase, "log", now_ms())
    keyrotation.rotate_purpose(us, no_passphrase, "witness", now_ms())
    us.append([kit.check(1)])
    again = Node.open(tmp_path / "us")
    try:
        assert again.log.origin == origin
        with again.store.read() as conn:
            notes = logs.all_checkpoints(conn, "US")
        assert {first_line(note) for note in notes} == {origin}
        assert witness_name_for(origin).endswith(f"/{us.network}/witness/US")
    finally:
        again.close()


def test_a_home_whose_log_has_checkpoints_keeps_their_origin_whatever_its_config_says(
    tmp_path: Path,
) -> None:
    node = Node.create(tmp_path / "jp", party="JP", name="JP", network="parley-local")
    origin = node.log.origin
    node.close()
    config = tmp_path / "jp" / "parley.toml"
    text = config.read_text()
    config.write_text(text.replace(f'origin = "{origin}"\n', ""))  # as a home made before origins
    reopened = Node.open(tmp_path / "jp")
    try:
        assert reopened.config.origin is None
        assert reopened.log.origin == origin  # read from the log, not recomputed
    finally:
        reopened.close()
