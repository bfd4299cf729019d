"""``parley import``, ``notify`` and ``export`` as an officer runs them: real subprocesses.

One node home serves the module (``parley init`` costs two process starts); each test measures
what it changed, and reads the store in-process only to count entries.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from parley.formats.cap import cap_to_notification, parse_cap
from parley.node.node import Node
from tests.support import init_node, officer_env, run_cli

DATA = Path(__file__).resolve().parent.parent / "data"
CAP = DATA / "cap"
STIX = DATA / "stix" / "oasis_examples"
DS = "http://www.w3.org/2000/09/xmldsig#"
# Several real messages: CAP 1.2 and 1.1, signed, ISO-8859-1, updates, a cancel without info, a
# German multi-language update, the NSW RFS EDXL-DE container of 59 alerts, and two CAP 1.1 files
# that are the same USGS alert (imported once). The whole corpus is tested in tests/formats.
REAL_CAP = [
    str(CAP / name)
    for name in (
        "real_1.2/australia_bom.cap",
        "real_1.2/eccc_canada_signed_update.cap",
        "real_1.2/noaa_ntwc_PAAQ_update.xml",
        "real_1.2/mexico_smn_update.xml",
        "real_1.2/athoc_cancel_no_info.cap",
        "real_1.2/taiwan_wra.cap",
        "real_1.2/usgs_earthquake_iso8859-1.cap",
        "real_1.1/cisn_earthquake_signed.cap",
        "real_1.1/nws_wind_advisory_2014.cap",
        "real_1.1/usgs_earthquake.cap",
        "real_1.1/usgs_earthquake_tmp0000.cap",
        "extracted/dwd/2.49.0.0.276.0.DWD.PVW.1687511640000.0d1a4fb5-251a-46fc-aae3-a688d2021e71"
        ".MUL.xml",
        "containers/nsw_rfs_bushfire_edxlde.xml",
    )
]
BUNDLES = [str(STIX / name) for name in ("apt1.json", "poisonivy.json", "infrastructure.json")]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_node(tmp_path_factory.mktemp("notify") / "jp")


def size(home: Path) -> int:
    node = Node.open(home)
    try:
        return node.size()
    finally:
        node.close()


def parley(home: Path, *args: str, check: bool = True):  # type: ignore[no-untyped-def]
    return run_cli(*args, home=home, check=check, **officer_env())


def refs(stdout: str) -> list[str]:
    return [line.split()[0] for line in stdout.splitlines()]


def test_real_cap_and_stix_import_once_and_again_without_duplicates(home: Path) -> None:
    before = size(home)
    cap = parley(home, "import", *REAL_CAP)
    stix = parley(home, "import", "--status", "Exercise", "--to", "KR,CN", *BUNDLES)
    first = refs(cap.stdout) + refs(stix.stdout)
    assert len(first) == len(REAL_CAP) - 1 + 59 + len(BUNDLES)  # the container holds 59 alerts
    assert len(set(first)) == size(home) - before == len(first) - 1
    assert cap.stdout.count(" already imported") == 1  # the USGS alert, met twice
    again_cap = parley(home, "import", *REAL_CAP)
    again_stix = parley(home, "import", "--status", "Exercise", "--to", "KR,CN", *BUNDLES)
    again = again_cap.stdout.splitlines() + again_stix.stdout.splitlines()
    assert [line.split()[0] for line in again] == first
    assert all(line.endswith(" already imported") for line in again)
    assert size(home) == before + len(set(first))


def _certificate(data: bytes) -> bytes:
    cert = etree.fromstring(data).find(f".//{{{DS}}}X509Certificate")
    assert cert is not None and cert.text
    der = base64.b64decode("".join(cert.text.split()))
    return (
        x509.load_der_x509_certificate(der)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def test_hostile_and_invalid_files_are_refused_by_name_and_append_nothing(
    home: Path, tmp_path: Path
) -> None:
    bad = {
        "invalid_test_cases/xee.cap": "external entity declaration (XXE attack)",
        "invalid_test_cases/invalid.cap": "line 9: Element 'info'",
        "real_1.2/sweden_krisinformation.cap": "'senderName': This element is not expected",
        "invalid_test_cases/bushfire_invalid.edxlde": "CAP alert 2 in the EDXL-DE",
    }
    text = tmp_path / "notes.txt"
    text.write_text("not a message", encoding="utf-8")
    good = tmp_path / "good.xml"
    good.write_bytes((CAP / "oasis_spec_examples" / "cap_v1dot2_appendix_A2.xml").read_bytes())
    before = size(home)
    result = parley(home, "import", *(str(CAP / n) for n in bad), str(text), str(good), check=False)
    assert result.returncode != 0
    errors = result.stderr.replace("\n", " ")
    for name, reason in bad.items():
        assert f"{CAP / name}:" in errors and reason in errors
    assert f"{text}: neither XML" in errors
    assert len(refs(result.stdout)) == 1 and size(home) == before + 1

    signed = (CAP / "real_1.2" / "eccc_canada_signed_update.cap").read_bytes()
    key = tmp_path / "ec.pem"
    key.write_bytes(_certificate(signed))
    tampered = tmp_path / "tampered.cap"
    tampered.write_bytes(signed.replace(b"<headline>", b"<headline>FORGED ", 1))
    checked = parley(
        home,
        "import",
        "--cap-signer-key",
        str(key),
        str(tampered),
        str(CAP / "real_1.2" / "eccc_canada_signed_update.cap"),
        check=False,
    )
    assert checked.returncode == 3  # VerificationError
    assert f"{tampered}: XML-DSig does not verify" in checked.stderr.replace("\n", " ")
    assert len(refs(checked.stdout)) == 1 and "SHA-1" in checked.stderr
    assert size(home) <= before + 2  # the genuine one may have been imported by another test


def test_notify_update_all_clear_and_the_state_of_the_chain(home: Path) -> None:
    alert = parley(
        home,
        "notify",
        "--category",
        "geo.earthquake",
        "--severity",
        "Severe",
        "--urgency",
        "Immediate",
        "--certainty",
        "Observed",
        "--status",
        "Exercise",
        "--circle",
        "38.3,142.4,150",
        "--headline",
        "M7.1 off Miyagi",
        "--detail",
        "magnitude=7.1",
        "--detail",
        "epicenter=38.3,142.4",
        "--expires",
        "+6h",
        "--to",
        "KR",
    ).stdout.strip()
    update = parley(
        home,
        "notify",
        "update",
        alert,
        "--severity",
        "Extreme",
        "--headline",
        "M7.3 revised",
        "--detail",
        "magnitude=7.3",
    ).stdout.strip()
    clear = parley(home, "notify", "cancel", update, "--all-clear").stdout.strip()
    shown = json.loads(parley(home, "notify", "show", alert, "--json").stdout)
    assert [m["ref"] for m in shown["messages"]] == [alert, update, clear]
    assert [m["msg_type"] for m in shown["messages"]] == ["Alert", "Update", "Update"]
    assert shown["state"] == "all-clear" and shown["status"] == "Exercise"
    assert shown["details"] == {"magnitude": "7.3", "epicenter": ["142.4", "38.3"]}
    assert shown["severity"] == "Extreme" and shown["urgency"] == "Past"


def test_exports_show_the_exercise_and_round_trip_as_schema_valid_cap(
    home: Path, tmp_path: Path
) -> None:
    alert = parley(
        home,
        "notify",
        "--category",
        "met.flood",
        "--severity",
        "Moderate",
        "--urgency",
        "Expected",
        "--certainty",
        "Likely",
        "--status",
        "Exercise",
        "--circle",
        "35.7,139.8,20",
        "--headline",
        "Arakawa flood",
    ).stdout.strip()
    bundle = refs(parley(home, "import", "--status", "Exercise", str(STIX / "apt1.json")).stdout)
    stix = json.loads(parley(home, "export", "--format", "stix", bundle[0]).stdout)
    notes = [o for o in stix["objects"] if o["type"] == "note"]
    assert notes and notes[-1]["content"].startswith("[EXERCISE]")

    geo = tmp_path / "geojson"
    parley(home, "export", "--all", "--format", "geojson", "--out", str(geo))
    features = json.loads((geo / f"{alert.replace(':', '-')}.geojson").read_text())["features"]
    assert features and all(f["properties"]["status"] == "Exercise" for f in features)
    assert all(f["properties"]["headline"].startswith("[EXERCISE] ") for f in features)

    out = tmp_path / "cap"
    parley(home, "export", "--all", "--format", "cap", "--out", str(out))
    files = sorted(out.iterdir())
    cap = (out / f"{alert.replace(':', '-')}.xml").read_text(encoding="utf-8")
    assert "<status>Exercise</status>" in cap and "EXERCISE: this is not a real alert" in cap
    assert len(files) == size(home) - 2  # every entry but the key statement and policy
    for path in files:
        for parsed in parse_cap(path.read_bytes()):  # schema-valid CAP 1.2, and importable
            assert parsed.version == "1.2"
            cap_to_notification(parsed)
    before = size(home)
    lines = parley(home, "import", *(str(p) for p in files)).stdout.splitlines()
    assert len(lines) >= len(files)
    assert all(line.endswith(" already imported") for line in lines)
    assert size(home) == before
