"""``parley key rotate`` and ``parley key recover`` as an administrator uses them, kill -9 included."""

from __future__ import annotations

import base64
import json
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import TypedDict

import pytest

from parley.core.keys import commitment
from parley.node.home import no_passphrase, read_key_file
from tests.support import cli_env, init_node, officer_env, run_cli

HOTLINE = {"to": "CN", "text": "Keep clear of my bow", "deadlines": {}}


class Passphrase(TypedDict):
    """The environment that unlocks passphrase-protected key files."""

    PARLEY_PASSPHRASE: str


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return init_node(tmp_path / "jp")


def info(home: Path) -> dict[str, object]:
    return json.loads(run_cli("node", "info", "--json", home=home).stdout)  # type: ignore[no-any-return]


def key_entries(home: Path) -> list[dict[str, object]]:
    shown = run_cli("log", "show", "--json", "--limit", "1000", home=home, **officer_env())
    lines = shown.stdout.splitlines()
    return [entry for entry in map(json.loads, lines) if entry["kind"] == "key"]


def public_b64(path: Path) -> str:
    return read_key_file(path, no_passphrase).public.b64


def append_hotline(home: Path) -> subprocess.CompletedProcess[str]:
    body = home.parent / "hotline.json"
    body.write_text(json.dumps(HOTLINE), encoding="utf-8")
    return run_cli(
        "log",
        "append",
        "--kind",
        "hotline",
        "--status",
        "Exercise",
        "--body-file",
        str(body),
        "--to",
        "CN",
        home=home,
        check=False,
        **officer_env(),
    )


def key_files(home: Path) -> dict[str, bytes]:
    """Every file under keys/ and offline/ (the lock file aside), for 'nothing changed' checks."""
    files = [*(home / "keys").iterdir(), *(home / "offline").iterdir()]
    return {p.name: p.read_bytes() for p in files if p.name != ".rotation.lock"}


def test_rotate_identity_hands_over_to_the_committed_key_and_writes_a_fresh_one(
    home: Path,
) -> None:
    before = info(home)
    next_path = home / "offline" / "next-identity.pem"
    committed = public_b64(next_path)
    result = run_cli("key", "rotate", home=home, **officer_env())
    assert "Rotated the identity key at JP:2" in result.stdout
    assert "move it offline" in result.stdout
    after = info(home)
    assert after["identity"] == committed != before["identity"]
    assert after["keys"] == before["keys"]  # purpose keys stay
    assert public_b64(home / "keys" / "identity.pem") == committed
    fresh = read_key_file(next_path, no_passphrase).public
    assert fresh.b64 not in (committed, before["identity"])
    assert stat.S_IMODE(next_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "keys" / "identity.pem").stat().st_mode) == 0o600
    proof = home.parent / "proof.json"
    run_cli("log", "proof", "JP:2", "--out", str(proof), home=home, **officer_env())
    statement = json.loads(base64.b64decode(json.loads(proof.read_text())["entry"]["body"]))
    assert statement["previous_identity"] == before["identity"]
    assert statement["identity"] == committed and statement["seq"] == 2
    assert {"identity_sig", "previous_sig"} <= set(statement)
    assert statement["next_identity"] == commitment(fresh.raw)
    assert "OK JP" in run_cli("verify", "log", home=home).stdout
    # The fresh next key is the only one a second rotation accepts.
    second = run_cli("key", "rotate", home=home, **officer_env())
    assert "Rotated the identity key at JP:3" in second.stdout
    assert info(home)["identity"] == fresh.b64


def test_rotate_identity_from_a_next_key_file_brought_back(home: Path, tmp_path: Path) -> None:
    usb = tmp_path / "usb" / "next-identity.pem"
    usb.parent.mkdir()
    (home / "offline" / "next-identity.pem").rename(usb)  # moved offline after init
    committed = public_b64(usb)
    result = run_cli("key", "rotate", "--next-key", str(usb), home=home, **officer_env())
    assert f"{usb} now holds the identity key in force" in result.stdout
    assert info(home)["identity"] == committed
    assert (home / "offline" / "next-identity.pem").exists()  # the fresh one, to move offline


@pytest.mark.parametrize("purpose", ["log", "witness", "http"])
def test_rotate_purpose_key_keeps_identity_and_commitment(home: Path, purpose: str) -> None:
    before = info(home)
    next_before = (home / "offline" / "next-identity.pem").read_bytes()
    result = run_cli("key", "rotate", "--purpose", purpose, home=home, **officer_env())
    assert f"Rotated the {purpose} key at JP:2" in result.stdout
    after = info(home)
    assert after["identity"] == before["identity"]
    changed = {p for p in ("log", "witness", "http") if after["keys"][p] != before["keys"][p]}  # type: ignore[index]
    assert changed == {purpose}
    assert public_b64(home / "keys" / f"{purpose}.pem") == after["keys"][purpose]  # type: ignore[index]
    assert (home / "offline" / "next-identity.pem").read_bytes() == next_before
    assert append_hotline(home).returncode == 0  # signed by the key in force
    assert "OK JP" in run_cli("verify", "log", home=home).stdout


@pytest.mark.parametrize(
    "wrong", ["keys/identity.pem", "keys/log.pem", "missing.pem", "other-node"]
)
def test_wrong_next_key_file_is_refused_and_nothing_changes(
    home: Path, tmp_path: Path, wrong: str
) -> None:
    if wrong == "other-node":
        other = init_node(tmp_path / "kr", "KR")
        path = other / "offline" / "next-identity.pem"
    else:
        path = home / wrong
    files, size = key_files(home), len(key_entries(home))
    result = run_cli(
        "key", "rotate", "--next-key", str(path), home=home, check=False, **officer_env()
    )
    assert result.returncode in (3, 4), result.stderr
    if wrong != "missing.pem":
        assert "refusing to rotate (nothing was changed)" in result.stderr
        assert "--next-key" in result.stderr  # the hint
    assert key_files(home) == files
    assert len(key_entries(home)) == size
    assert "OK JP" in run_cli("verify", "log", home=home).stdout


def test_rotation_is_an_administrator_action(home: Path) -> None:
    run_cli(
        "user",
        "add",
        "duty",
        "--role",
        "duty-officer",
        home=home,
        PARLEY_NEW_PASSWORD="duty-password",
        **officer_env(),
    )
    refused = run_cli(
        "key", "rotate", home=home, check=False, PARLEY_USER="duty", PARLEY_PASSWORD="duty-password"
    )
    assert refused.returncode == 5 and "needs admin" in refused.stderr
    bogus = run_cli(
        "key", "rotate", "--purpose", "identity", home=home, check=False, **officer_env()
    )
    assert bogus.returncode != 0 and "unknown key purpose" in bogus.stderr


def test_verify_log_of_an_export_spanning_rotations_passes(home: Path) -> None:
    first_identity = info(home)["identity"]
    append_hotline(home)
    run_cli("key", "rotate", home=home, **officer_env())
    append_hotline(home)
    run_cli("key", "rotate", "--purpose", "log", home=home, **officer_env())
    append_hotline(home)
    export = home.parent / "export.jsonl"
    run_cli("log", "export", str(export), home=home, **officer_env())
    verified = run_cli("verify", "log", str(export), "--identity", str(first_identity), home=home)
    assert "7 entries" in verified.stdout
    old_proof = home.parent / "old.json"
    run_cli("log", "proof", "JP:2", "--out", str(old_proof), home=home, **officer_env())
    assert run_cli("verify", "proof", str(old_proof), home=home).returncode == 0


def test_rotation_with_passphrase_keeps_new_key_files_encrypted(tmp_path: Path) -> None:
    home = tmp_path / "jp"
    secret: Passphrase = {"PARLEY_PASSPHRASE": "a long key passphrase"}
    run_cli("init", str(home), "--party", "JP", "--name", "JP", "--passphrase", home=home, **secret)
    run_cli(
        "user",
        "add",
        "admin",
        "--role",
        "admin",
        home=home,
        PARLEY_NEW_PASSWORD=officer_env()["PARLEY_PASSWORD"],
        **secret,
    )
    run_cli("key", "rotate", home=home, **secret, **officer_env())
    run_cli("key", "rotate", "--purpose", "log", home=home, **secret, **officer_env())
    for path in ("keys/identity.pem", "keys/log.pem", "offline/next-identity.pem"):
        assert b"ENCRYPTED" in (home / path).read_bytes()
    assert "OK JP" in run_cli("verify", "log", home=home, **secret).stdout


# ---------------------------------------------------------------------------------------------
# kill -9 inside a rotation: the node opens, and 'parley key recover' finishes or undoes it
# ---------------------------------------------------------------------------------------------

KILLER = """
import os, signal, sys
from pathlib import Path
from parley.node import keyrotation
from parley.node.home import no_passphrase
from parley.node.node import Node, now_ms

home, point, purpose = sys.argv[1:]
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
if point == "before-swap":  # the entry is committed; no key file moved yet
    keyrotation.os.replace = die
else:  # "before-commit": new keys staged; the entry never reaches the log
    keyrotation.LocalLog.append = die
node = Node.open(Path(home))
if purpose == "identity":
    keyrotation.rotate_identity(node, no_passphrase, None, now_ms())
else:
    keyrotation.rotate_purpose(node, no_passphrase, purpose, now_ms())
"""


def kill_rotation(home: Path, point: str, purpose: str) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, str(home), point, purpose],
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr


def test_kill_between_commit_and_key_swap_of_a_log_rotation_is_recovered(home: Path) -> None:
    before = info(home)
    kill_rotation(home, "before-swap", "log")
    after = info(home)  # the node opens; its log certifies the staged key
    assert after["keys"]["log"] != before["keys"]["log"]  # type: ignore[index]
    assert (home / "keys" / "log.pem.new").exists()
    stuck = append_hotline(home)
    assert stuck.returncode != 0 and "does not hold the certified key" in stuck.stderr
    recovered = run_cli("key", "recover", home=home, **officer_env())
    assert "installed" in recovered.stdout and "log.pem" in recovered.stdout
    assert public_b64(home / "keys" / "log.pem") == after["keys"]["log"]  # type: ignore[index]
    assert not (home / "keys" / "log.pem.new").exists()
    assert append_hotline(home).returncode == 0
    assert "OK JP" in run_cli("verify", "log", home=home).stdout


def test_kill_between_commit_and_key_swap_of_an_identity_rotation_is_recovered(
    home: Path,
) -> None:
    committed = public_b64(home / "offline" / "next-identity.pem")
    kill_rotation(home, "before-swap", "identity")
    assert info(home)["identity"] == committed  # committed to the log
    assert append_hotline(home).returncode == 0  # appending needs no identity key
    # The next rotation first finishes this one, then needs the fresh next key it wrote.
    result = run_cli("key", "rotate", home=home, **officer_env())
    assert result.stdout.count("First recovered an interrupted rotation: installed") == 2
    assert "Rotated the identity key at JP:4" in result.stdout
    assert info(home)["identity"] != committed
    assert "OK JP" in run_cli("verify", "log", home=home).stdout


@pytest.mark.parametrize("purpose", ["identity", "log"])
def test_kill_before_commit_changes_nothing_and_stale_keys_are_discarded(
    home: Path, purpose: str
) -> None:
    files, before = key_files(home), info(home)
    kill_rotation(home, "before-commit", purpose)
    assert info(home) == before
    assert append_hotline(home).returncode == 0  # the old keys are still in place
    recovered = run_cli("key", "recover", home=home, **officer_env())
    assert "discarded" in recovered.stdout
    assert key_files(home) == files
    nothing = run_cli("key", "recover", home=home, **officer_env())
    assert "Nothing to recover" in nothing.stdout
    run_cli(
        "key",
        "rotate",
        *([] if purpose == "identity" else ["--purpose", purpose]),
        home=home,
        **officer_env(),
    )
