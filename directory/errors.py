"""Failures the directory reports to people: each has an HTTP status, a code and a message."""

from __future__ import annotations


class DirectoryError(Exception):
    """A refusal caused by the request, not a fault of the server."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class InvalidInput(DirectoryError):
    status = 422
    code = "invalid_input"


class Unauthorized(DirectoryError):
    status = 401
    code = "unauthorized"


class Forbidden(DirectoryError):
    status = 403
    code = "forbidden"


class NotFound(DirectoryError):
    status = 404
    code = "not_found"


class Gone(DirectoryError):
    status = 410
    code = "gone"


class Conflict(DirectoryError):
    status = 409
    code = "conflict"


class UnsupportedMediaType(DirectoryError):
    status = 415
    code = "unsupported_media_type"


class TooLarge(DirectoryError):
    status = 413
    code = "too_large"
