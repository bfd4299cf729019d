"""The real CAP and STIX corpus copied into tests/data, and what the tests expect of it."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
CAP_DATA = DATA / "cap"
STIX_DATA = DATA / "stix"

# Every real CAP message of the corpus (tests/data/cap/SOURCES.md), by path relative to CAP_DATA.
CAP_MESSAGES = sorted(
    str(p.relative_to(CAP_DATA))
    for folder in ("real_1.2", "real_1.1", "extracted", "oasis_spec_examples", "containers")
    for p in (CAP_DATA / folder).rglob("*")
    if p.is_file()
)

# The corpus files that are refused, and a word the refusal must contain.
REFUSED = {
    "real_1.2/sweden_krisinformation.cap": "'senderName': This element is not expected",
    "oasis_spec_examples/cap_v1dot0_appendix_A1.xml": "CAP 1.0",
    "oasis_spec_examples/cap_v1dot0_appendix_A2.xml": "CAP 1.0",
    "oasis_spec_examples/cap_v1dot0_appendix_A3.xml": "CAP 1.0",
    "oasis_spec_examples/cap_v1dot0_appendix_A4.xml": "CAP 1.0",
    "containers/smhi_alerts_list.cap": "neither a CAP alert nor an EDXL-DE",
}


def cap_bytes(relative: str) -> bytes:
    return (CAP_DATA / relative).read_bytes()


def stix_bytes(relative: str) -> bytes:
    return (STIX_DATA / relative).read_bytes()
