"""Bounded fuzzing of the parsers: a valid result or a FormatError, never another exception.

Mutations of the real corpus, byte-level (flips, cuts, splices of XML syntax) and tree-level
(an element's text replaced, removed, duplicated). Whatever the CAP parser accepts must also be
a valid body in the signed subset that exports to schema-valid CAP and reads back. The budget
is bounded (``FUZZ_SECONDS`` in total, about 20 s) so that it runs in every ``make test``.
"""

from __future__ import annotations

import random
import time
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from parley.core.canonical import check_subset
from parley.formats.cap import cap_to_notification, notification_to_cap, parse_cap
from parley.formats.errors import FormatError
from parley.formats.notification import validate_notification
from parley.formats.stix import notification_to_stix, parse_bundle, stix_to_notification

from .corpus import CAP_MESSAGES, cap_bytes, stix_bytes

FUZZ_SECONDS = 6.0  # per loop below; hypothesis tests are bounded by max_examples
SEEDS = [cap_bytes(m) for m in CAP_MESSAGES if len(cap_bytes(m)) < 12_000]
SNIPPETS = [
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&xxe;",
    b"<!DOCTYPE a>",
    b"<![CDATA[x]]>",
    b"<!-- c -->",
    b"</info>",
    b"<info>",
    b"<polygon>1,2 3,4 5,6 1,2</polygon>",
    b"<circle>91,0 5</circle>",
    b"<sent>2024-13-40T99:99:99+00:00</sent>",
    b"\x00",
    b"\xff\xfe",
    b"\xc3\x28",
    b"\xe9",
    b"-00:00",
    b"Exercise",
    b"System",
    b"Update",
    b"<references>a,b,c</references>",
    b'xmlns="urn:oasis:names:tc:emergency:cap:1.1"',
    b"1e308",
    b"NaN",
    b"\r\n",
    b"\t",
]


def _check(data: bytes) -> None:
    """The property: the pipeline accepts ``data`` completely, or refuses with FormatError."""
    try:
        alerts = parse_cap(data)
        bodies = [cap_to_notification(alert) for alert in alerts]
    except FormatError:
        return
    for body in bodies:
        validate_notification(body)
        check_subset(body)
        exported = notification_to_cap(body, body["status"], prefer_original=False)
        again = cap_to_notification(parse_cap(exported)[0])
        assert again["info"] == body["info"]


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    for _ in range(rng.randint(1, 4)):
        position = rng.randrange(len(data) + 1)
        choice = rng.random()
        if choice < 0.3 and data:
            index = min(position, len(data) - 1)
            data = data[:index] + bytes([rng.randrange(256)]) + data[index + 1 :]
        elif choice < 0.6:
            data = data[:position] + rng.choice(SNIPPETS) + data[position:]
        elif choice < 0.8:
            end = min(len(data), position + rng.randint(1, 40))
            data = data[:position] + data[end:]
        else:
            data = data[:position]
    return data


_VALUES = [
    "",
    " ",
    "Actual",
    "Exercise",
    "System",
    "Alert",
    "Update",
    "Cancel",
    "Geo",
    "Met",
    "Immediate",
    "Extreme",
    "Observed",
    "en-US",
    "zh-Hant-TW",
    "x" * 300,
    "日本語",
    "2024-05-19T17:18:00+04:00",
    "2024-05-19T17:18:00-00:00",
    "1999-01-01T00:00:00+14:00",
    "35.0,139.0 35.0,140.0 36.0,140.0 35.0,139.0",
    "0,0 0,0 0,0 0,0",
    "-33.8,151.2 0",
    "a,b,2024-05-19T17:18:00+04:00",
    "1e5",
    "12",
    "-1",
    "0.0",
    "+5.",
    "\ud7ff",
]


def _mutate_tree(rng: random.Random, data: bytes) -> bytes:
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    for _ in range(rng.randint(1, 3)):
        element = rng.choice(elements)
        choice = rng.random()
        parent = element.getparent()
        if choice < 0.6:
            element.text = rng.choice(_VALUES)
        elif choice < 0.8 and parent is not None:
            parent.remove(element)
            elements = [e for e in root.iter() if isinstance(e.tag, str)]
        elif parent is not None:
            parent.insert(parent.index(element), etree.fromstring(etree.tostring(element)))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def test_byte_mutations_of_the_corpus_give_a_result_or_a_format_error() -> None:
    rng = random.Random(20261123)
    deadline = time.monotonic() + FUZZ_SECONDS
    runs = 0
    while time.monotonic() < deadline and runs < 20_000:
        _check(_mutate_bytes(rng, rng.choice(SEEDS)))
        runs += 1
    assert runs > 100


def test_tree_mutations_of_the_corpus_give_a_result_or_a_format_error() -> None:
    rng = random.Random(7946)
    deadline = time.monotonic() + FUZZ_SECONDS
    runs = 0
    while time.monotonic() < deadline and runs < 20_000:
        _check(_mutate_tree(rng, rng.choice(SEEDS)))
        runs += 1
    assert runs > 100


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.sampled_from(range(len(SEEDS))),
    st.binary(max_size=64),
    st.integers(0, 10**6),
    st.integers(0, 64),
)
def test_hypothesis_splices_give_a_result_or_a_format_error(
    seed: int, splice: bytes, at: int, cut: int
) -> None:
    data = SEEDS[seed]
    at %= len(data) + 1
    _check(data[:at] + splice + data[at + cut :])


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_a_format_error(data: bytes) -> None:
    _check(data)


STIX_SEED = stix_bytes("oasis_examples/indicators-for-C2-with-COA.json")


def _mutate_json(rng: random.Random, value: Any) -> Any:
    if isinstance(value, dict) and value:
        key = rng.choice(list(value))
        choice = rng.random()
        if choice < 0.3:
            del value[key]
        elif choice < 0.6:
            value[key] = rng.choice([None, 1.5, -(2**70), "x", [], {}, True, "2016-13-99", "$x"])
        else:
            value[key] = _mutate_json(rng, value[key])
    elif isinstance(value, list) and value:
        index = rng.randrange(len(value))
        value[index] = _mutate_json(rng, value[index])
    return value


def test_stix_mutations_give_a_result_or_a_format_error() -> None:
    rng = random.Random(21)
    deadline = time.monotonic() + FUZZ_SECONDS / 2
    runs = 0
    while time.monotonic() < deadline and runs < 5000:
        mutated = _mutate_json(rng, orjson.loads(STIX_SEED))
        try:
            bundle = parse_bundle(mutated)
            body = stix_to_notification(bundle, sender="JP", sent_ms=1, status="Test")
        except FormatError:
            runs += 1
            continue
        validate_notification(body)
        assert (
            notification_to_stix(body, "Test")["objects"][: len(bundle["objects"])]
            == bundle["objects"]
        )
        runs += 1
    assert runs > 20
