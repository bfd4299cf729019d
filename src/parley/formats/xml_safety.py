"""A hardened XML parser for input from outside (CAP, EDXL-DE, XML-DSig).

Security invariants kept by ``parse_xml``; each refusal names the attack or the limit:

* no DOCTYPE at all: a document type declaration is refused *before* parsing, so no DTD is ever
  loaded and no entity is ever declared (XXE, external DTD, billion laughs, quadratic blow-up);
* no network and no file access: libxml2 runs with ``no_network``, ``load_dtd=False`` and
  ``resolve_entities=False``; XInclude, ``xsi:schemaLocation`` and ``xml-stylesheet`` are never
  acted upon;
* bounded work: bytes (default 1 MiB, ``DEFAULT_LIMITS``), nesting depth and element count are
  limited, and libxml2's own limits stay on (``huge_tree`` off);
* one honest encoding: UTF-8, UTF-16 (with byte order mark), ISO-8859-1 or US-ASCII, and the
  bytes must decode in the encoding declared; UTF-7, UTF-32, EBCDIC and others are refused.

Parsers and compiled XPath expressions are kept per thread, as lxml requires.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from lxml import etree

from parley.formats.errors import FormatError, UnsafeXmlError, XmlLimitError


@dataclass(frozen=True)
class XmlLimits:
    """Bounds on one XML document."""

    max_bytes: int = 1024 * 1024
    max_depth: int = 32
    max_elements: int = 50_000


DEFAULT_LIMITS = XmlLimits()

ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-16": "utf-16",
    "utf16": "utf-16",
    "iso-8859-1": "latin-1",
    "iso8859-1": "latin-1",
    "iso_8859-1": "latin-1",
    "latin1": "latin-1",
    "latin-1": "latin-1",
    "us-ascii": "ascii",
    "ascii": "ascii",
}

_DECL_RE = re.compile(
    r"^\ufeff?<\?xml\s+version\s*=\s*[\"'][^\"']*[\"']"
    r"(?:\s+encoding\s*=\s*[\"']([^\"']*)[\"'])?"
)
_EXTERNAL_ENTITY_RE = re.compile(r"<!ENTITY\s+(?:%\s*)?\S+\s+(?:SYSTEM|PUBLIC)\b")
_EXTERNAL_DTD_RE = re.compile(r"<!DOCTYPE\s+\S+\s+(?:SYSTEM|PUBLIC)\b")
_local = threading.local()


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            attribute_defaults=False,
            huge_tree=False,
            remove_blank_text=False,
            remove_comments=False,
            remove_pis=False,
            collect_ids=False,
            recover=False,
        )
        _local.parser = parser
    return parser


def _too_deep(depth: int) -> etree.XPath:
    cache: dict[int, etree.XPath] = _local.__dict__.setdefault("depth", {})
    if depth not in cache:
        cache[depth] = etree.XPath("boolean(/" + "*/" * depth + "*)")
    return cache[depth]


def _element_count() -> etree.XPath:
    counter: etree.XPath | None = getattr(_local, "count", None)
    if counter is None:
        counter = etree.XPath("count(//*)")
        _local.count = counter
    return counter


def parse_xml(
    data: bytes, *, limits: XmlLimits = DEFAULT_LIMITS, what: str = "XML"
) -> etree._Element:
    """Parse untrusted bytes into an element tree, or raise a ``FormatError`` naming why not."""
    if not isinstance(data, bytes):
        raise FormatError(f"{what}: expected bytes, got {type(data).__name__}")
    if len(data) > limits.max_bytes:
        raise XmlLimitError(
            f"{what} refused: {len(data)} bytes, over the limit of {limits.max_bytes} bytes",
            hint="oversized input is refused before parsing",
        )
    if not data.strip():
        raise FormatError(f"{what}: the document is empty")
    text = _decode(data, what)
    _refuse_doctype(text, what)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise FormatError(f"{what} is not well-formed XML: line {exc.lineno}: {exc.msg}") from exc
    except (etree.LxmlError, ValueError) as exc:
        raise FormatError(f"{what} could not be parsed: {exc}") from exc
    if getattr(root.getroottree().docinfo, "doctype", None):
        raise UnsafeXmlError(f"{what} refused: DOCTYPE declaration")
    if _too_deep(limits.max_depth)(root):
        raise XmlLimitError(f"{what} refused: elements nested deeper than {limits.max_depth}")
    count = int(_element_count()(root))  # type: ignore[arg-type]
    if count > limits.max_elements:
        raise XmlLimitError(
            f"{what} refused: {count} elements, over the limit of {limits.max_elements}"
        )
    return root


def _decode(data: bytes, what: str) -> str:
    """Decode ``data`` in the one encoding it honestly declares, or refuse it."""
    if data.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")):
        raise UnsafeXmlError(f"{what} refused: UTF-32 encoding is not accepted; send UTF-8")
    if data.startswith(b"\xef\xbb\xbf"):
        bom: str | None = "utf-8"
    elif data.startswith((b"\xfe\xff", b"\xff\xfe")):
        bom = "utf-16"
    elif data[:4] in (b"\x00<\x00?", b"<\x00?\x00", b"\x00\x00\x00<", b"<\x00\x00\x00"):
        raise UnsafeXmlError(f"{what} refused: UTF-16/UTF-32 without a byte order mark")
    elif data[:4] == b"\x4c\x6f\xa7\x94":
        raise UnsafeXmlError(f"{what} refused: EBCDIC encoding is not accepted; send UTF-8")
    else:
        bom = None
    head = data[:512].decode(bom or "latin-1", errors="replace")
    match = _DECL_RE.match(head)
    declared = match.group(1) if match and match.group(1) is not None else None
    codec = bom or "utf-8"
    if declared is not None:
        name = ENCODINGS.get(declared.strip().lower())
        if name is None:
            raise UnsafeXmlError(
                f"{what} refused: encoding {declared!r} is not accepted",
                hint="send UTF-8 (or UTF-16, ISO-8859-1, US-ASCII)",
            )
        if bom is not None and name != bom:
            raise UnsafeXmlError(
                f"{what} refused: declares encoding {declared!r} but starts with a {bom} byte "
                "order mark"
            )
        if bom is None and name == "utf-16":
            raise UnsafeXmlError(f"{what} refused: UTF-16 declared without a byte order mark")
        codec = name
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise UnsafeXmlError(
            f"{what} refused: wrong encoding: byte {exc.start} (0x{data[exc.start]:02x}) is not "
            f"valid {codec.upper()}",
            hint="declare the encoding the file is really in, or convert it to UTF-8",
        ) from exc


def _refuse_doctype(text: str, what: str) -> None:
    start = text.find("<!DOCTYPE")
    if start < 0:
        if "<!ENTITY" in text:
            raise UnsafeXmlError(f"{what} refused: entity declaration outside a DOCTYPE")
        return
    declaration = text[start : start + 65536]
    if _EXTERNAL_ENTITY_RE.search(declaration):
        kind = "external entity declaration (XXE attack)"
    elif "<!ENTITY" in declaration:
        kind = "entity declaration (entity expansion attack such as billion laughs)"
    elif _EXTERNAL_DTD_RE.match(declaration):
        kind = "external DTD reference"
    else:
        kind = "DOCTYPE declaration"
    raise UnsafeXmlError(
        f"{what} refused: {kind}",
        hint="DTDs, DOCTYPE and entity declarations are never processed; remove the DOCTYPE",
    )
