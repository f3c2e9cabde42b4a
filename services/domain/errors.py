"""Errors that domain services raise for requests the rules do not allow.

Views and serializers turn them into 4xx responses; each carries a stable code and a message a
user can read.
"""


class DomainError(Exception):
    """A request the domain rules reject; nothing was written."""

    code = "invalid"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"


class PollClosed(DomainError):
    code = "poll_closed"


class AlreadyVoted(DomainError):
    code = "already_voted"


class ChoiceNotInPoll(DomainError):
    code = "choice_not_in_poll"


class ExportLimitReached(DomainError):
    """The user requested as many exports as the window allows; retry_after says when to retry."""

    code = "export_limit_reached"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
