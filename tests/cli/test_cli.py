"""The ``parley`` command as outside tools use it: real subprocesses on a real node home."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from tests.support import OFFICER_PASSWORD, init_node, officer_env, run_cli


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return init_node(tmp_path / "jp")


def write_json(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


HOTLINE = {"to": "CN", "text": "Keep clear of my bow", "deadlines": {"acknowledged_within": 300000}}


def append_hotline(home: Path, *extra: str, acknowledged_within: int = 300000) -> str:
    deadlines = {"acknowledged_within": acknowledged_within}
    body = write_json(home.parent / "hotline.json", HOTLINE | {"deadlines": deadlines})
    result = run_cli(
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
        *extra,
        home=home,
        **officer_env(),
    )
    return result.stdout.strip()


def log_size(home: Path) -> int:
    out = run_cli("log", "show", "--json", "--limit", "100000", home=home, **officer_env()).stdout
    return len(out.splitlines())


def test_init_writes_keys_0600_and_refuses_to_overwrite(home: Path) -> None:
    for name in ("identity", "log", "witness", "http"):
        mode = stat.S_IMODE((home / "keys" / f"{name}.pem").stat().st_mode)
        assert mode == 0o600
    assert (home / "offline" / "next-identity.pem").exists()
    result = run_cli("init", str(home), "--party", "JP", "--name", "again", home=home, check=False)
    assert result.returncode != 0
    assert "refusing to overwrite" in result.stderr


def test_node_refuses_key_files_readable_by_others(home: Path) -> None:
    os.chmod(home / "keys" / "log.pem", 0o644)
    result = append_cli_raw(home)
    assert result.returncode != 0
    assert "readable by others" in result.stderr and "chmod 600" in result.stderr


def append_cli_raw(home: Path):  # type: ignore[no-untyped-def]
    body = write_json(home.parent / "hotline.json", HOTLINE)
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


def test_wrong_passphrase_is_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "kr"
    run_cli(
        "init",
        str(home),
        "--party",
        "KR",
        "--name",
        "Korea",
        "--passphrase",
        home=home,
        PARLEY_PASSPHRASE="right passphrase",
    )
    assert b"ENCRYPTED" in (home / "keys" / "log.pem").read_bytes()
    run_cli(
        "user", "add", "admin", "--role", "admin", home=home, PARLEY_NEW_PASSWORD=OFFICER_PASSWORD
    )
    body = write_json(tmp_path / "b.json", HOTLINE)
    args = (
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
    )
    bad = run_cli(*args, home=home, check=False, PARLEY_PASSPHRASE="wrong", **officer_env())
    assert bad.returncode != 0 and "wrong passphrase" in bad.stderr
    good = run_cli(*args, home=home, PARLEY_PASSPHRASE="right passphrase", **officer_env())
    assert good.stdout.startswith("KR:2 ")


def test_append_prints_ref_and_leaf_hash_and_verifies(home: Path) -> None:
    line = append_hotline(home)
    ref, leaf_hash = line.split()
    assert ref == "JP:2" and len(leaf_hash) == 64
    shown = [
        json.loads(x)
        for x in run_cli("log", "show", "--json", home=home, **officer_env()).stdout.splitlines()
    ]
    assert shown[2]["leaf_hash"] == leaf_hash
    assert shown[2]["audience"] == ["CN"] and shown[2]["tlp"] == "AMBER"
    assert "OK JP" in run_cli("verify", "log", home=home).stdout


@pytest.mark.parametrize("kind", ["receipt", "key", "policy", "evidence", "observation"])
def test_log_append_refuses_system_kinds(home: Path, kind: str) -> None:
    body = write_json(home.parent / "b.json", {})
    result = run_cli(
        "log",
        "append",
        "--kind",
        kind,
        "--status",
        "Test",
        "--body-file",
        str(body),
        home=home,
        check=False,
        **officer_env(),
    )
    assert result.returncode != 0 and "written only by the node" in result.stderr
    assert log_size(home) == 2


def test_log_append_checks_the_body_schema_and_changes_nothing(home: Path) -> None:
    body = write_json(home.parent / "b.json", {"to": "cn!", "text": "x", "deadlines": {}})
    result = run_cli(
        "log",
        "append",
        "--kind",
        "hotline",
        "--status",
        "Test",
        "--body-file",
        str(body),
        home=home,
        check=False,
        **officer_env(),
    )
    assert result.returncode != 0 and "hotline body to" in result.stderr
    float_body = write_json(home.parent / "f.json", {**HOTLINE, "text": 1.5})
    result = run_cli(
        "log",
        "append",
        "--kind",
        "hotline",
        "--status",
        "Test",
        "--body-file",
        str(float_body),
        home=home,
        check=False,
        **officer_env(),
    )
    assert result.returncode != 0 and "floating-point" in result.stderr
    assert log_size(home) == 2


def test_log_append_refuses_an_oversized_header(home: Path) -> None:
    parties = ",".join(f"P{i:03d}" for i in range(700))
    result = run_cli(
        "log",
        "append",
        "--kind",
        "hotline",
        "--status",
        "Test",
        "--body-file",
        str(write_json(home.parent / "b.json", HOTLINE)),
        "--to",
        parties,
        home=home,
        check=False,
        **officer_env(),
    )
    assert result.returncode != 0 and "over the limit of 4096" in result.stderr
    assert log_size(home) == 2


def test_log_append_is_admin_only_and_audited(home: Path) -> None:
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
    result = run_cli(
        "log",
        "append",
        "--kind",
        "hotline",
        "--status",
        "Test",
        "--body-file",
        str(write_json(home.parent / "b.json", HOTLINE)),
        "--to",
        "CN",
        home=home,
        check=False,
        PARLEY_USER="duty",
        PARLEY_PASSWORD="duty-password",
    )
    assert result.returncode == 5 and "needs admin" in result.stderr
    wrong = run_cli(
        "log",
        "append",
        "--kind",
        "hotline",
        "--status",
        "Test",
        "--body-file",
        str(write_json(home.parent / "b.json", HOTLINE)),
        "--to",
        "CN",
        home=home,
        check=False,
        PARLEY_USER="admin",
        PARLEY_PASSWORD="not-the-password",
    )
    assert wrong.returncode == 5 and "authentication failed" in wrong.stderr
    assert log_size(home) == 2
    from parley.node.node import Node
    from parley.node.officers import audit_trail

    trail = audit_trail(Node.open(home).store)
    outcomes = [(row["officer"], row["action"], row["outcome"]) for row in trail]
    assert ("duty", "log.append", "refused") in outcomes
    assert ("admin", "log.append", "refused") in outcomes


def test_script_token_authenticates_an_officer(home: Path) -> None:
    issued = run_cli(
        "user", "token", "admin", "--scope", "admin", home=home, **officer_env()
    ).stdout.strip()
    assert issued.startswith("parley_")
    token = issued
    body = write_json(home.parent / "b.json", HOTLINE)
    result = run_cli(
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
        PARLEY_TOKEN=token,
    )
    assert result.stdout.startswith("JP:2 ")


def test_a_narrow_token_cannot_act_at_the_cli(home: Path) -> None:
    token = run_cli(
        "user", "token", "admin", "--scope", "read", home=home, **officer_env()
    ).stdout.strip()
    body = write_json(home.parent / "b.json", HOTLINE)
    result = run_cli(
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
        check=False,
        PARLEY_TOKEN=token,
    )
    assert result.returncode == 5
    assert "does not carry the whole admin role" in result.stderr


def test_user_commands_list_revoke_and_deactivate(home: Path) -> None:
    env = officer_env()
    run_cli(
        "user", "add", "ops", "--role", "analyst", home=home, PARLEY_NEW_PASSWORD="x" * 12, **env
    )
    refused = run_cli("user", "token", "ops", "--scope", "notify", home=home, check=False, **env)
    assert refused.returncode == 5 and "may hold: read, analyst" in refused.stderr
    token = run_cli("user", "token", "ops", "--scope", "read", "--expires", "30d", home=home, **env)
    listed = json.loads(run_cli("user", "tokens", "ops", "--json", home=home, **env).stdout)
    assert [(t["scope"], t["state"]) for t in listed] == [("read", "live")]
    assert token.stdout.strip() not in json.dumps(listed)
    run_cli("user", "revoke", "ops", listed[0]["id"], home=home, **env)
    listed = json.loads(run_cli("user", "tokens", "ops", "--json", home=home, **env).stdout)
    assert listed[0]["state"] == "revoked"
    totp = run_cli("user", "totp", "ops", home=home, **env).stdout
    assert "otpauth://totp/Parley:ops?secret=" in totp
    gone = run_cli("user", "deactivate", "ops", home=home, **env).stdout
    assert "Deactivated ops" in gone
    shown = run_cli("user", "list", home=home, **env).stdout
    assert "deactivated" in shown and "totp" in shown
    trail = json.loads(run_cli("user", "audit", "--json", home=home, **env).stdout)
    actions = [(line["action"], line["outcome"]) for line in trail]
    assert ("user.deactivate", "ok") in actions and ("user.token", "refused") in actions


def test_jsonl_append_appends_in_batches(home: Path) -> None:
    lines = [
        json.dumps(
            {
                "kind": "hotline",
                "status": "Exercise",
                "to": "CN",
                "body": {**HOTLINE, "text": f"line {i}"},
            }
        )
        for i in range(2500)
    ]
    source = home.parent / "many.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = run_cli("log", "append", "--jsonl", str(source), home=home, **officer_env()).stdout
    refs = [line.split()[0] for line in out.splitlines()]
    assert refs[0] == "JP:2" and refs[-1] == "JP:2501" and len(refs) == 2500
    assert "2502 entries" in run_cli("verify", "log", home=home).stdout


def test_jsonl_error_names_the_line_and_appends_nothing(home: Path) -> None:
    source = home.parent / "bad.jsonl"
    good = json.dumps({"kind": "hotline", "status": "Exercise", "to": "CN", "body": HOTLINE})
    source.write_text(good + "\n" + good.replace('"Exercise"', '"Maybe"') + "\n")
    result = run_cli(
        "log", "append", "--jsonl", str(source), home=home, check=False, **officer_env()
    )
    assert result.returncode != 0 and "line 2" in result.stderr and "status" in result.stderr
    assert log_size(home) == 2


def test_tampered_export_is_refused_naming_the_entry(home: Path) -> None:
    append_hotline(home)
    append_hotline(home)
    export = home.parent / "export.jsonl"
    run_cli("log", "export", str(export), home=home, **officer_env())
    assert (
        "OK JP on parley-test: 4 entries" in run_cli("verify", "log", str(export), home=home).stdout
    )
    lines = export.read_text().splitlines()
    record = json.loads(lines[4])  # seq 3
    header = json.loads(base64.b64decode(record["leaf"]))
    header["status"] = "Actual"
    record["leaf"] = base64.b64encode(
        json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    ).decode()
    lines[4] = json.dumps(record)
    tampered = home.parent / "tampered.jsonl"
    tampered.write_text("\n".join(lines) + "\n")
    result = run_cli("verify", "log", str(tampered), home=home, check=False)
    assert result.returncode == 3 and "JP:3" in result.stderr


def test_tampered_body_in_export_is_refused(home: Path) -> None:
    append_hotline(home)
    export = home.parent / "export.jsonl"
    run_cli("log", "export", str(export), home=home, **officer_env())
    lines = export.read_text().splitlines()
    record = json.loads(lines[3])  # seq 2
    body = json.loads(base64.b64decode(record["body"]))
    body["text"] = "Proceed as you wish"
    record["body"] = base64.b64encode(
        json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    ).decode()
    lines[3] = json.dumps(record)
    tampered = home.parent / "tampered.jsonl"
    tampered.write_text("\n".join(lines) + "\n")
    result = run_cli("verify", "log", str(tampered), home=home, check=False)
    assert result.returncode == 3 and "JP:2" in result.stderr and "body" in result.stderr


def test_entry_proof_verifies_offline_and_fails_when_altered(home: Path) -> None:
    append_hotline(home)
    proof = home.parent / "proof.json"
    run_cli("log", "proof", "JP:2", "--out", str(proof), home=home, **officer_env())
    identity = json.loads(run_cli("node", "info", "--json", home=home).stdout)["identity"]
    elsewhere = home.parent / "auditor"
    elsewhere.mkdir()
    ok = run_cli("verify", "proof", str(proof), "--identity", identity, home=elsewhere)
    assert "OK JP:2 kind=hotline status=Exercise" in ok.stdout
    doc = json.loads(proof.read_text())
    doc["entry"]["inclusion"][0] = base64.b64encode(b"\x00" * 32).decode()
    altered = home.parent / "altered.json"
    altered.write_text(json.dumps(doc))
    result = run_cli("verify", "proof", str(altered), home=elsewhere, check=False)
    assert result.returncode == 3
    other = run_cli(
        "verify",
        "proof",
        str(proof),
        "--identity",
        base64.b64encode(b"\x01" * 32).decode(),
        home=elsewhere,
        check=False,
    )
    assert other.returncode == 3 and "pinned" in other.stderr


def test_three_members_draft_sign_and_adopt_a_network_policy(tmp_path: Path) -> None:
    homes = {p: init_node(tmp_path / p.lower(), p) for p in ("CN", "JP", "US")}
    infos = []
    for party, home in homes.items():
        info = tmp_path / f"{party}.json"
        info.write_text(run_cli("node", "info", "--json", home=home).stdout)
        infos += ["--member", str(info)]
    draft = tmp_path / "policy.json"
    run_cli(
        "policy",
        "draft",
        str(draft),
        "--network",
        "parley-test",
        "--name",
        "Test network",
        "--deadline-scale",
        "0.01",
        *infos,
        home=tmp_path,
    )
    run_cli("policy", "sign", str(draft), home=homes["JP"], **officer_env())
    early = run_cli("policy", "adopt", str(draft), home=homes["JP"], check=False, **officer_env())
    assert early.returncode != 0 and "lacks the signatures of CN, US" in early.stderr
    for party in ("CN", "US"):
        run_cli("policy", "sign", str(draft), home=homes[party], **officer_env())
    policy_hash = None
    for home in homes.values():
        result = run_cli("policy", "adopt", str(draft), home=home, **officer_env())
        assert ":2" in result.stdout
        info = json.loads(run_cli("node", "info", "--json", home=home).stdout)
        policy_hash = policy_hash or info["policy"]
        assert info["policy"] == policy_hash
    line = append_hotline(homes["JP"], acknowledged_within=3000)  # within the scaled bound
    header = json.loads(
        run_cli("log", "show", "--json", "--from", "3", home=homes["JP"], **officer_env()).stdout
    )
    assert line.startswith("JP:3") and header["policy"] == policy_hash
    assert "OK JP" in run_cli("verify", "log", home=homes["JP"]).stdout


def test_policy_of_another_network_is_refused(tmp_path: Path) -> None:
    jp = init_node(tmp_path / "jp", "JP")
    info = tmp_path / "jp.json"
    info.write_text(run_cli("node", "info", "--json", home=jp).stdout)
    draft = tmp_path / "policy.json"
    run_cli(
        "policy",
        "draft",
        str(draft),
        "--network",
        "nea-live",
        "--name",
        "Live",
        "--member",
        str(info),
        home=tmp_path,
    )
    run_cli("policy", "sign", str(draft), home=jp, **officer_env())
    result = run_cli("policy", "adopt", str(draft), home=jp, check=False, **officer_env())
    assert result.returncode != 0 and "never changes network" in result.stderr


def test_node_info_prints_the_witness_vkey_as_a_cosignature_key(home: Path) -> None:
    from parley.core.checkpoint import key_hash, parse_cosigner_vkey, parse_vkey

    info = json.loads(run_cli("node", "info", "--json", home=home).stdout)
    witness = parse_cosigner_vkey(info["witness_vkey"])  # type 0x04, key ID over 0x04
    assert witness.public_key == base64.b64decode(info["keys"]["witness"])
    assert witness.key_hash == key_hash(witness.name, 0x04, witness.public_key)
    log = parse_vkey(info["log_vkey"])
    assert (log.name, log.signature_type) == (info["origin"], 0x01)


def test_witness_add_refuses_a_vkey_that_is_not_a_cosignature_key(home: Path) -> None:
    from parley.core.checkpoint import vkey

    note_key = vkey("witness.example/w1", b"\x07" * 32)  # a signed-note key, type 0x01
    result = run_cli(
        "witness",
        "add",
        "http://127.0.0.1:9",
        "--vkey",
        note_key,
        home=home,
        check=False,
        **officer_env(),
    )
    assert result.returncode != 0
    assert "not an Ed25519 cosignature/v1 witness key (0x04)" in result.stderr
    mldsa = "witness.example/w1+00000000+" + base64.b64encode(b"\x06" + b"\x01" * 1312).decode()
    result = run_cli(
        "witness",
        "add",
        "http://127.0.0.1:9",
        "--vkey",
        mldsa,
        home=home,
        check=False,
        **officer_env(),
    )
    assert result.returncode != 0 and "0x06" in result.stderr and "policy names" in result.stderr
    listed = json.loads(run_cli("witness", "list", "--json", home=home).stdout)
    assert listed == []
