"""The OASIS CAP XML schemas, validated with lxml's XMLSchema (libxml2).

The XSDs ship as package data (``parley/formats/schemas``, see its NOTICE.md) and are read once
with ``importlib.resources``; compiled schemas are kept per thread because an lxml validator
carries its error log. CAP 1.2 is the schema of record; CAP 1.1 is accepted on input only.
"""

from __future__ import annotations

import functools
import re
import threading
from importlib import resources

from lxml import etree

from parley.formats.errors import CapError

CAP12_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP11_NS = "urn:oasis:names:tc:emergency:cap:1.1"
CAP10_NS = "http://www.incident.com/cap/1.0"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
SCHEMA_FILES = {"1.2": "CAP-v1.2.xsd", "1.1": "CAP-v1.1.xsd"}
NAMESPACES = {"1.2": CAP12_NS, "1.1": CAP11_NS}

_local = threading.local()
# A namespace in braces ("{urn:oasis:...}status"), not the braces of a set of allowed values.
_NS_IN_MESSAGE = re.compile(r"\{(?:urn:|https?://)[^}]*\}")


@functools.cache
def schema_bytes(version: str) -> bytes:
    """The XSD of a CAP version, read once from the package."""
    return resources.files("parley.formats").joinpath("schemas", SCHEMA_FILES[version]).read_bytes()


def _schema(version: str) -> etree.XMLSchema:
    cache: dict[str, etree.XMLSchema] = _local.__dict__.setdefault("schemas", {})
    schema = cache.get(version)
    if schema is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        schema = etree.XMLSchema(etree.fromstring(schema_bytes(version), parser))
        cache[version] = schema
    return schema


def validate_cap(alert: etree._Element, version: str = "1.2", *, what: str = "CAP alert") -> None:
    """Validate an ``<alert>`` element against the CAP XSD; raise ``CapError`` with the reason."""
    schema = _schema(version)
    if not schema.validate(alert):
        error = getattr(schema.error_log, "last_error", None)
        message = _NS_IN_MESSAGE.sub("", error.message) if error is not None else "invalid"
        line = f" line {error.line}:" if error is not None and error.line else ""
        raise CapError(f"{what} is not valid CAP {version}:{line} {message}")
