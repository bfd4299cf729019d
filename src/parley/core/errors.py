"""The one exception hierarchy of Parley.

Every error carries a message meant for a person and, where one helps, a hint of what to do.
The CLI and the API turn these into exit codes and RFC 9457 problem responses in one place each.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ParleyError(Exception):
    """Base of every error Parley raises on purpose.

    A subclass states how it is reported in its class line: ``problem``, the stable RFC 9457
    problem type (a slug under the base URI of docs/protocol.md s8.3, never derived from a class
    name), ``title`` for a person, ``http_status`` and the CLI's ``exit_code``. What it does not
    state it inherits.
    """

    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 400
    problem: ClassVar[str] = "refused"
    title: ClassVar[str] = "Request refused"

    def __init_subclass__(
        cls,
        *,
        problem: str | None = None,
        title: str | None = None,
        http_status: int | None = None,
        exit_code: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        if problem is not None:
            cls.problem = problem
        if title is not None:
            cls.title = title
        if http_status is not None:
            cls.http_status = http_status
        if exit_code is not None:
            cls.exit_code = exit_code

    def __init__(self, message: str, *, hint: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.field = field  # the input field at fault, where one is (a dotted path)

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} (hint: {self.hint})"


class CanonicalizationError(ParleyError, problem="not-canonical", title="Not canonical JSON"):
    """A value lies outside the signed-JSON subset (floats, non-ASCII keys, big integers...)."""


class InvalidEntryError(ParleyError, problem="invalid-input", title="Invalid input"):
    """A header or body breaks the protocol: a field is missing, malformed or incoherent."""


class LimitExceededError(
    InvalidEntryError,
    problem="too-large",
    title="Over a size limit",
    http_status=413,
):
    """A size, count or depth limit is exceeded."""


class VerificationError(
    ParleyError,
    problem="verification-failed",
    title="Verification failed",
    exit_code=3,
):
    """A signature, hash, proof or checkpoint does not verify."""


class ProofRequestError(
    ParleyError,
    problem="bad-proof-request",
    title="Bad proof or range request",
):
    """A proof or range request is malformed or out of range."""


class KeyFileError(ParleyError, problem="key-file", title="Key file problem", exit_code=4):
    """A key file is missing, unreadable, too open, or the passphrase is wrong."""


class PolicyError(ParleyError, problem="policy", title="Refused by the network policy"):
    """A network policy is malformed, unsigned by a member, or forbids the action."""


class ConfigurationError(ParleyError, problem="configuration", title="Invalid node configuration"):
    """A node home's configuration (``parley.toml``) is missing, unreadable or invalid."""


class NotAuthorizedError(
    ParleyError,
    problem="not-authorized",
    title="Not authorized",
    http_status=403,
    exit_code=5,
):
    """The officer is unknown, not authenticated, or lacks the role for the action."""


class NotAuthenticatedError(
    NotAuthorizedError,
    problem="not-authenticated",
    title="Not authenticated",
    http_status=401,
):
    """No valid credentials came with the request: none, expired, revoked or deactivated."""


class StoreError(
    ParleyError,
    problem="store",
    title="Storage failure",
    http_status=500,
    exit_code=6,
):
    """The database is missing, corrupted, or in an unexpected state."""


class ConflictError(
    ParleyError,
    problem="conflict",
    title="Conflicts with existing state",
    http_status=409,
    exit_code=7,
):
    """The action conflicts with existing state (a node home that already exists, ...)."""


class NotFoundError(ParleyError, problem="not-found", title="Not found", http_status=404):
    """A named thing (entry, officer, checkpoint) does not exist."""


# Refusals at the HTTP edge (``parley.api``): they are raised before a route does its work, by
# the body limits, the rate limit and the routes for pinned peers, and answered as RFC 9457
# problems like every other error here.


class BodyTooLargeError(
    ParleyError,
    problem="body-too-large",
    title="Request body too large",
    http_status=413,
):
    """A request body is over the limit of its route (413), refused before it is all read."""

    def __init__(self, message: str, *, limit: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.limit = limit

    @classmethod
    def for_route(cls, route: str, limit: int) -> BodyTooLargeError:
        """The refusal of a body over ``limit`` bytes sent to ``route``."""
        return cls(
            f"the request body to {route} is over its limit of {limit} bytes",
            limit=limit,
            hint="send a smaller body; a submission this large is not valid anyway",
        )


class RateLimitedError(
    ParleyError,
    problem="rate-limited",
    title="Too many requests",
    http_status=429,
):
    """An anonymous caller sent too many requests (429, with ``Retry-After``)."""

    def __init__(self, message: str, *, hint: str | None = None, retry_after_s: int = 1) -> None:
        super().__init__(message, hint=hint)
        self.retry_after_s = max(1, retry_after_s)


class PeerRequiredError(
    NotAuthorizedError,
    problem="peer-required",
    title="Pinned peer or administrator required",
    http_status=401,
):
    """The route answers pinned peers and administrators, and the caller is neither (401)."""


# Federation ---------------------------------------------------------------------------------
# Transport (``PeerError``: the peer could not be asked, or would not answer) is kept apart from
# what an answer proves (``VerificationError``: the data is bad). A mirror's bad proof and an
# unreachable author are different facts and call for different actions.


class PeerError(
    ParleyError,
    problem="peer-failed",
    title="Peer request failed",
    http_status=502,
    exit_code=8,
):
    """A request to a peer (or mirror) failed before it gave an answer that can be judged."""


class PeerUnreachableError(PeerError, problem="peer-unreachable", title="Peer unreachable"):
    """A peer (or mirror) could not be reached, or answered with a server error."""


class PeerRefusedError(PeerError, problem="peer-refused", title="Peer refused"):
    """A peer answered a federation request with an error status."""

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class PeerProtocolError(PeerError, problem="peer-protocol", title="Malformed answer from a peer"):
    """A peer's answer is not in the form the protocol fixes (not JSON, a malformed page...)."""


class PinMismatchError(
    PeerError,
    problem="tls-pin-mismatch",
    title="TLS pin mismatch",
    http_status=400,
):
    """The peer's TLS certificate does not carry the pinned public key."""


class RequestSignatureError(
    NotAuthorizedError,
    problem="bad-request-signature",
    title="Request signature refused",
    http_status=401,
):
    """A signed request failed verification: bad signature, unknown key, stale, or replayed."""


class EquivocationError(
    VerificationError,
    problem="equivocation",
    title="Two histories of one log",
    http_status=422,
):
    """Two checkpoints signed by one log's key that are not consistent: two histories of a log.

    Raised only when both are signed by the author's log key (or one is signed and the other is
    the author's signed entries, proven against its signed checkpoints); a proof that fails on
    its own is a ``BadProofError``. ``note`` and ``log_key`` name the newer checkpoint and the
    key that signed it; ``evidence`` (a ``parley.core.equivocation.Evidence``) is set when the
    checkpoint itself pins the other history.
    """

    def __init__(
        self,
        message: str,
        *,
        note: str | None = None,
        log_key: bytes | None = None,
        evidence: object | None = None,  # a core.equivocation.Evidence: errors import nothing
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.note = note
        self.log_key = log_key
        self.evidence = evidence


class BadProofError(VerificationError, problem="bad-proof", title="Proof does not verify"):
    """A proof that does not verify: the fault of whoever served it, never the log's author."""


class ProofFailedError(
    BadProofError,
    problem="consistency-proof-failed",
    title="Consistency proof does not verify",
    http_status=422,
):
    """A submitted consistency proof does not verify (C2SP tlog-witness: 422)."""


class UntrustedCheckpointError(
    ParleyError,
    problem="untrusted-checkpoint",
    title="Checkpoint not signed by the log's key",
    http_status=403,
):
    """No signature on a submitted checkpoint verifies under the peer's log key (403)."""


class BadSubmissionError(
    ParleyError,
    problem="malformed-submission",
    title="Malformed add-checkpoint submission",
):
    """An add-checkpoint or push request is malformed (400)."""


class SizeConflictError(
    ParleyError,
    problem="old-size-mismatch",
    title="Old size is not the recorded one",
    http_status=409,
):
    """``old`` is not the size this node recorded (409, answered as ``text/x.tlog.size``)."""

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message)
        self.size = size


class ConcurrentIngestError(ParleyError, problem="concurrent-ingest", title="Log moved meanwhile"):
    """Another process stored entries of the same log meanwhile: restore and try again."""


class HeldError(ParleyError, problem="peer-held", title="Peer held", exit_code=3):
    """Pulling from this peer is held (a fork was seen) until an administrator releases it."""


class LostEntriesError(VerificationError, problem="lost-entries", title="Entries lost"):
    """A peer saw more of this node's log than any peer mirrors: continuing would fork it."""


class PeerAddressError(ParleyError, problem="bad-peer-address", title="Unusable peer address"):
    """A peer's URL, TLS pin or peers file is unusable, or a request names no recipient."""
