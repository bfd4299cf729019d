"""The one exception hierarchy of Parley.

Every error carries a message meant for a person and, where one helps, a hint of what to do.
The CLI and the API turn these into exit codes and RFC 9457 problem responses in one place each.
"""

from __future__ import annotations


class ParleyError(Exception):
    """Base of every error Parley raises on purpose."""

    exit_code = 1
    http_status = 400
    # RFC 9457: the stable problem type (a slug under the base URI of docs/protocol.md s8.3,
    # never derived from a class name) and its title for a person.
    problem = "refused"
    title = "Request refused"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} (hint: {self.hint})"


class CanonicalizationError(ParleyError):
    """A value lies outside the signed-JSON subset (floats, non-ASCII keys, big integers...)."""

    problem = "not-canonical"
    title = "Not canonical JSON"


class InvalidEntryError(ParleyError):
    """A header or body breaks the protocol: a field is missing, malformed or incoherent."""

    problem = "invalid-input"
    title = "Invalid input"


class LimitExceededError(InvalidEntryError):
    """A size, count or depth limit is exceeded."""

    problem = "too-large"
    title = "Over a size limit"
    http_status = 413


class VerificationError(ParleyError):
    """A signature, hash, proof or checkpoint does not verify."""

    problem = "verification-failed"
    title = "Verification failed"
    exit_code = 3


class ProofRequestError(ParleyError):
    """A proof or range request is malformed or out of range."""

    problem = "bad-proof-request"
    title = "Bad proof or range request"


class KeyFileError(ParleyError):
    """A key file is missing, unreadable, too open, or the passphrase is wrong."""

    problem = "key-file"
    title = "Key file problem"
    exit_code = 4


class PolicyError(ParleyError):
    """A network policy is malformed, unsigned by a member, or forbids the action."""

    problem = "policy"
    title = "Refused by the network policy"


class ConfigurationError(ParleyError):
    """A node home's configuration (``parley.toml``) is missing, unreadable or invalid."""

    problem = "configuration"
    title = "Invalid node configuration"


class NotAuthorizedError(ParleyError):
    """The officer is unknown, not authenticated, or lacks the role for the action."""

    problem = "not-authorized"
    title = "Not authorized"
    exit_code = 5
    http_status = 403


class StoreError(ParleyError):
    """The database is missing, corrupted, or in an unexpected state."""

    problem = "store"
    title = "Storage failure"
    exit_code = 6
    http_status = 500


class ConflictError(ParleyError):
    """The action conflicts with existing state (a node home that already exists, ...)."""

    problem = "conflict"
    title = "Conflicts with existing state"
    exit_code = 7
    http_status = 409


class NotFoundError(ParleyError):
    """A named thing (entry, officer, checkpoint) does not exist."""

    problem = "not-found"
    title = "Not found"
    http_status = 404


# Refusals at the HTTP edge (``parley.api``): they are raised before a route does its work, by
# the body limits, the rate limit and the routes for pinned peers, and answered as RFC 9457
# problems like every other error here.


class BodyTooLargeError(ParleyError):
    """A request body is over the limit of its route (413), refused before it is all read."""

    problem = "body-too-large"
    title = "Request body too large"
    http_status = 413

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


class RateLimitedError(ParleyError):
    """An anonymous caller sent too many requests (429, with ``Retry-After``)."""

    problem = "rate-limited"
    title = "Too many requests"
    http_status = 429

    def __init__(self, message: str, *, hint: str | None = None, retry_after_s: int = 1) -> None:
        super().__init__(message, hint=hint)
        self.retry_after_s = max(1, retry_after_s)


class PeerRequiredError(NotAuthorizedError):
    """The route answers pinned peers and administrators, and the caller is neither (401)."""

    problem = "peer-required"
    title = "Pinned peer or administrator required"
    http_status = 401


# Federation ---------------------------------------------------------------------------------
# Transport (``PeerError``: the peer could not be asked, or would not answer) is kept apart from
# what an answer proves (``VerificationError``: the data is bad). A mirror's bad proof and an
# unreachable author are different facts and call for different actions.


class PeerError(ParleyError):
    """A request to a peer (or mirror) failed before it gave an answer that can be judged."""

    problem = "peer-failed"
    title = "Peer request failed"
    exit_code = 8
    http_status = 502


class PeerUnreachableError(PeerError):
    """A peer (or mirror) could not be reached, or answered with a server error."""

    problem = "peer-unreachable"
    title = "Peer unreachable"


class PeerRefusedError(PeerError):
    """A peer answered a federation request with an error status."""

    problem = "peer-refused"
    title = "Peer refused"

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class PeerProtocolError(PeerError):
    """A peer's answer is not in the form the protocol fixes (not JSON, a malformed page...)."""

    problem = "peer-protocol"
    title = "Malformed answer from a peer"


class PinMismatchError(PeerError):
    """The peer's TLS certificate does not carry the pinned public key."""

    problem = "tls-pin-mismatch"
    title = "TLS pin mismatch"
    http_status = 400


class RequestSignatureError(NotAuthorizedError):
    """A signed request failed verification: bad signature, unknown key, stale, or replayed."""

    problem = "bad-request-signature"
    title = "Request signature refused"
    http_status = 401


class EquivocationError(VerificationError):
    """Two checkpoints signed by one log's key that are not consistent: two histories of a log.

    Raised only when both are signed by the author's log key (or one is signed and the other is
    the author's signed entries, proven against its signed checkpoints); a proof that fails on
    its own is a ``BadProofError``. ``note`` and ``log_key`` name the newer checkpoint and the
    key that signed it; ``evidence`` (a ``parley.core.equivocation.Evidence``) is set when the
    checkpoint itself pins the other history.
    """

    problem = "equivocation"
    title = "Two histories of one log"
    http_status = 422

    def __init__(
        self,
        message: str,
        *,
        note: str | None = None,
        log_key: bytes | None = None,
        evidence: object | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.note = note
        self.log_key = log_key
        self.evidence = evidence


class BadProofError(VerificationError):
    """A proof that does not verify: the fault of whoever served it, never the log's author."""

    problem = "bad-proof"
    title = "Proof does not verify"


class ProofFailedError(BadProofError):
    """A submitted consistency proof does not verify (C2SP tlog-witness: 422)."""

    problem = "consistency-proof-failed"
    title = "Consistency proof does not verify"
    http_status = 422


class UntrustedCheckpointError(ParleyError):
    """No signature on a submitted checkpoint verifies under the peer's log key (403)."""

    problem = "untrusted-checkpoint"
    title = "Checkpoint not signed by the log's key"
    http_status = 403


class BadSubmissionError(ParleyError):
    """An add-checkpoint or push request is malformed (400)."""

    problem = "malformed-submission"
    title = "Malformed add-checkpoint submission"


class SizeConflictError(ParleyError):
    """``old`` is not the size this node recorded (409, answered as ``text/x.tlog.size``)."""

    problem = "old-size-mismatch"
    title = "Old size is not the recorded one"
    http_status = 409

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message)
        self.size = size


class ConcurrentIngestError(ParleyError):
    """Another process stored entries of the same log meanwhile: restore and try again."""

    problem = "concurrent-ingest"
    title = "Log moved meanwhile"


class HeldError(ParleyError):
    """Pulling from this peer is held (a fork was seen) until an administrator releases it."""

    problem = "peer-held"
    title = "Peer held"
    exit_code = 3


class LostEntriesError(VerificationError):
    """A peer saw more of this node's log than any peer mirrors: continuing would fork it."""

    problem = "lost-entries"
    title = "Entries lost"


class PeerAddressError(ParleyError):
    """A peer's URL, TLS pin or peers file is unusable, or a request names no recipient."""

    problem = "bad-peer-address"
    title = "Unusable peer address"
