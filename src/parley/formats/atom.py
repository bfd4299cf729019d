"""Atom (RFC 4287) feeds of CAP 1.2 alerts, written with lxml.

The shape follows the CAP 1.2 Atom practice of public alert hubs (one ``<entry>`` per alert,
its ``<link rel="alternate" type="application/cap+xml">`` naming the CAP document) and RFC 4287:

* the feed has ``id``, ``title``, ``updated`` (s4.1.1), a ``self`` link and, when there are
  older items, a ``next`` link (RFC 5005 s3, paged feeds);
* every entry has ``id``, ``title``, ``updated`` (s4.1.2), an ``author`` (the CAP sender),
  a ``category`` (the Parley category code), a ``summary`` and the ``alternate`` link.

Exercise, Test and Draft items say so at the front of their title (``[EXERCISE] ...``), so no
reader can take one for a real alert; the CAP document says it again in ``<status>``. Pure: the
caller gives every value, times in milliseconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from parley.formats.values import format_iso_ms

ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
ATOM_MEDIA_TYPE = "application/atom+xml"
_NS = "{" + ATOM_NS + "}"

__all__ = ["ATOM_MEDIA_TYPE", "CAP_MEDIA_TYPE", "AtomFeed", "AtomItem", "marked_title", "write"]


def marked_title(status: str, title: str) -> str:
    """The title of an item of signed ``status``: ``[EXERCISE] ...`` unless it is Actual."""
    return title if status == "Actual" else f"[{status.upper()}] {title}"


@dataclass(frozen=True)
class AtomItem:
    """One alert of the feed."""

    id: str
    status: str
    title: str
    updated: int
    author: str
    category: str
    summary: str
    link: str


@dataclass(frozen=True)
class AtomFeed:
    """The feed's head; ``next`` is the URL of the page of older items, None on the last page."""

    id: str
    title: str
    updated: int
    self_url: str
    next_url: str | None


def _text(parent: etree._Element, name: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, _NS + name)
    element.text = text
    return element


def _link(parent: etree._Element, rel: str, href: str, media_type: str) -> None:
    etree.SubElement(parent, _NS + "link", rel=rel, href=href, type=media_type)


def _entry(feed: etree._Element, item: AtomItem) -> None:
    entry = etree.SubElement(feed, _NS + "entry")
    _text(entry, "id", item.id)
    _text(entry, "title", marked_title(item.status, item.title))
    _text(entry, "updated", format_iso_ms(item.updated))
    author = etree.SubElement(entry, _NS + "author")
    _text(author, "name", item.author)
    if item.category:
        etree.SubElement(entry, _NS + "category", term=item.category)
    _text(entry, "summary", marked_title(item.status, item.summary))
    _link(entry, "alternate", item.link, CAP_MEDIA_TYPE)


def write(head: AtomFeed, items: Sequence[AtomItem]) -> bytes:
    """The feed as UTF-8 XML: the head, then the items in the order given."""
    feed = etree.Element(_NS + "feed", nsmap={None: ATOM_NS})  # type: ignore[dict-item]
    _text(feed, "id", head.id)
    _text(feed, "title", head.title)
    _text(feed, "updated", format_iso_ms(head.updated))
    _link(feed, "self", head.self_url, ATOM_MEDIA_TYPE)
    if head.next_url is not None:
        _link(feed, "next", head.next_url, ATOM_MEDIA_TYPE)
    for item in items:
        _entry(feed, item)
    return bytes(etree.tostring(feed, encoding="UTF-8", xml_declaration=True))
