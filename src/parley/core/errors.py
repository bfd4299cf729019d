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
