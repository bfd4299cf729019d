"""External C2SP witnesses: the ones an administrator adds beside the peers (``parley witness``).

Peers witness each other without configuration. An administrator may add any C2SP
``tlog-witness`` (a neutral observer's, a public witness network's) by URL and verifier key
(a ``cosignature/v1`` vkey, C2SP tlog-cosignature); the server's ``ExternalWitnesses`` job
submits each new checkpoint to it. Its cosignatures count toward the quorum k only where the
network policy names that witness, which every listing states.
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.core.checkpoint import parse_cosigner_vkey
from parley.core.errors import InvalidEntryError, NotFoundError
from parley.node.node import Node
from parley.store import witnessing as rows


@dataclass(frozen=True)
class ExternalWitnessView:
    """One external witness as an officer sees it: whether it counts, and its last answer."""

    name: str
    url: str
    vkey: str
    counts: bool
    cosigned_size: int | None
    last_error: str | None


def add(node: Node, url: str, vkey: str, now: int) -> ExternalWitnessView:
    """Add (or replace) the witness at ``url`` with verifier key ``vkey``, checked first."""
    if not url.startswith(("http://", "https://")):
        raise InvalidEntryError(f"witness URL {url!r} must start with http:// or https://")
    name = parse_cosigner_vkey(vkey).name
    with node.store.write() as tx:
        rows.put_external(tx, name, url.rstrip("/"), vkey, now)
        counts = vkey in {w.vkey for w in node.policy_in(tx).witnesses}
    return ExternalWitnessView(name, url.rstrip("/"), vkey, counts, None, None)


def listed(node: Node) -> list[ExternalWitnessView]:
    """Every external witness by name, with whether the policy counts it toward k."""
    with node.store.read() as conn:
        named = {w.vkey for w in node.policy_in(conn).witnesses}
        return [
            ExternalWitnessView(w.name, w.url, w.vkey, w.vkey in named, w.size, w.last_error)
            for w in rows.list_external(conn)
        ]


def remove(node: Node, name: str) -> None:
    """Stop submitting to witness ``name``; the cosignatures already kept stay."""
    with node.store.write() as tx:
        if not rows.remove_external(tx, name):
            raise NotFoundError(f"no external witness named {name!r}", hint="'parley witness list'")
