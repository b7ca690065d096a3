"""Errors services raise; each maps to one HTTP status and carries a one-sentence reason."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ServiceError):
    status = 400


class Unauthorized(ServiceError):
    status = 401


class HiddenFromAnonymous(Unauthorized):
    """Something exists that only signed-in callers may see.

    Git over HTTP answers 401, so git asks for credentials; the REST API, the native API and
    the pages answer ``not_found``, exactly as for something that does not exist, as Gerrit
    does: an anonymous caller learns nothing about what is there.
    """

    def __init__(self, message: str, not_found: str) -> None:
        super().__init__(message)
        self.not_found = not_found


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Unprocessable(ServiceError):
    """The body names something that is not there (a project to watch, an external id, a
    group or account to add): Gerrit's 422."""

    status = 422


class MethodNotAllowed(ServiceError):
    """The request is understood but this site never does it (a username once set)."""

    status = 405


class TooManyAttempts(ServiceError):
    """Too many failed sign-ins; ``retry_after`` says in how many seconds to try again."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotImplementedYet(ServiceError):
    status = 501
