"""Errors that domain services raise for requests the rules do not allow.

Each carries a stable code, a message a user can read, and a kind. The kind decides the HTTP
answer, here and only here, so the api (api.errors) and the web pages (web.views.errors) answer
every error with the same status and headers.
"""

from enum import Enum
from http import HTTPStatus


class ErrorKind(Enum):
    """What sort of refusal an error is; each kind is answered with its HTTP status."""

    INVALID = HTTPStatus.BAD_REQUEST
    NOT_FOUND = HTTPStatus.NOT_FOUND
    CONFLICT = HTTPStatus.CONFLICT  # the request is sound, the current state forbids it
    LIMITED = HTTPStatus.TOO_MANY_REQUESTS  # the error's retry_after says when to try again

    @property
    def status(self) -> int:
        return int(self.value)


class DomainError(Exception):
    """A request the domain rules reject; nothing was written."""

    code = "invalid"
    kind = ErrorKind.INVALID
    # Seconds until the same request can succeed; set by the errors of kind LIMITED.
    retry_after: int | None = None

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def status(self) -> int:
        """Return the HTTP status every answer to this error has."""
        return self.kind.status

    @property
    def headers(self) -> dict[str, str]:
        """Return the HTTP headers every answer to this error carries (Retry-After for a limit)."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class NotFound(DomainError):
    code = "not_found"
    kind = ErrorKind.NOT_FOUND


class PollClosed(DomainError):
    code = "poll_closed"
    kind = ErrorKind.CONFLICT


class AlreadyVoted(DomainError):
    code = "already_voted"
    kind = ErrorKind.CONFLICT


class ChoiceNotInPoll(DomainError):
    code = "choice_not_in_poll"


class ExportNotReady(DomainError):
    """The export is pending, running or failed: there is no CSV to download (yet)."""

    code = "export_not_ready"
    kind = ErrorKind.CONFLICT


class ExportLimitReached(DomainError):
    """The user requested as many exports as the window allows; retry_after says when to retry."""

    code = "export_limit_reached"
    kind = ErrorKind.LIMITED

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
