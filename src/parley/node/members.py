"""Party codes as an officer types them, checked against the network's members.

One function for every edge and every command that takes a party code (a recipient, a peer, a
filter, an audience) or a reference (``cn:15``): the code is read case-insensitively (``cn`` is
``CN``) and a code the policy in force does not name is refused before anything else is done,
with the members listed. A node that has not joined a network yet (the one-member policy that
``parley init`` writes) names no one else, so there only the form of the code is checked.
"""

from __future__ import annotations

from parley.core.entry import ALL, check_party
from parley.core.errors import InvalidEntryError
from parley.core.policy import PolicyDocument


def member(policy: PolicyDocument, value: str, *, what: str = "party") -> str:
    """The party code ``value`` as the policy writes it; refused when it is not a member."""
    code = value.strip().upper()
    check_party(code, what=what)
    parties = sorted(m.party for m in policy.members)
    if len(parties) > 1 and code not in parties:
        raise InvalidEntryError(
            f"{what}: party {code} is not a member of network {policy.network}",
            hint=f"members: {', '.join(parties)}",
        )
    return code


def audience(policy: PolicyDocument, value: str | None, *, what: str = "--to") -> str | None:
    """An audience option (``ALL`` or ``cn,us``) as ``ALL`` or ``CN,US``, each party a member."""
    if value is None:
        return None
    if value.strip().upper() == ALL:
        return ALL
    parts = [part for part in value.split(",") if part.strip()]
    if not parts:
        raise InvalidEntryError(f"{what}: empty; name at least one party or ALL")
    return ",".join(member(policy, part, what=what) for part in parts)


def reference(policy: PolicyDocument, value: str) -> str:
    """An entry reference ``PARTY:SEQ`` with its party as the policy writes it (``cn:15``)."""
    party, sep, seq = value.strip().partition(":")
    if not sep:
        raise InvalidEntryError(f"reference {value!r} is not PARTY:SEQ", hint="for example CN:15")
    return f"{member(policy, party, what='reference')}:{seq}"
