"""Errors of the formats layer, all within Parley's one hierarchy (``parley.core.errors``).

Every parser in ``parley.formats`` raises a ``FormatError`` (or a subclass) for bad input and
nothing else: the fuzz tests hold it to that. Messages name the problem (the field path, the
line, the limit) so that an officer can fix the file or report it to the sender.
"""

from __future__ import annotations

from parley.core.errors import InvalidEntryError, LimitExceededError, VerificationError


class FormatError(InvalidEntryError, problem="invalid-format", title="Invalid format"):
    """Input in an open format (CAP, STIX, GeoJSON) or a notification body is not acceptable."""


class ValueFormatError(FormatError, problem="invalid-value", title="Invalid value"):
    """A lexical form (a decimal, a CAP time, a language tag) is wrong.

    Raised by ``parley.formats.values`` without the field's path; callers that know the path
    raise a ``FormatError`` naming it.
    """


class PhraseError(FormatError, problem="invalid-phrase", title="Invalid phrase"):
    """A phrase code, parameter or language is not acceptable, or the catalogue is malformed."""


class UnsafeXmlError(FormatError, problem="unsafe-xml", title="Unsafe XML"):
    """XML that could attack the parser: DOCTYPE, entities, external references, bad encoding."""


class XmlLimitError(
    FormatError,
    LimitExceededError,
    problem="xml-too-large",
    title="XML over a limit",
):
    """XML over a size, depth or element-count limit."""


class CapError(FormatError, problem="invalid-cap", title="Invalid CAP 1.2 message"):
    """A CAP message breaks the CAP schema or a rule of the CAP specification."""


class StixError(FormatError, problem="invalid-stix", title="Invalid STIX 2.1 bundle"):
    """A STIX 2.1 bundle is malformed, or cannot be carried as it is."""


class XmlSignatureError(
    VerificationError,
    problem="bad-xml-signature",
    title="XML signature does not verify",
):
    """An XML-DSig signature is missing, unsupported, or does not verify."""


class UnsupportedXmlSignatureError(XmlSignatureError):
    """An XML-DSig form this verifier does not implement (a transform, digest or reference).

    Each signature of an alert is tried in turn; this one is reported among the reasons of the
    ``XmlSignatureError`` raised when none verifies.
    """
