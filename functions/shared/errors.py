"""Domain errors. Handlers map them to HTTP responses or Step Functions errors in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: carries a stable machine-readable ``code`` and an HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}

    def response_headers(self) -> dict[str, str]:
        """HTTP headers the error response carries besides its JSON body (e.g. ``Retry-After``)."""
        return {}


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Gone(DomainError):
    """It existed and is no more (a video taken down, a session ended or expired)."""

    status = 410
    code = "gone"


class PreconditionFailed(DomainError):
    """``If-Match`` named a version that is no longer current (optimistic concurrency)."""

    status = 412
    code = "precondition_failed"


class PreconditionRequired(DomainError):
    """A change to a versioned resource came without ``If-Match``."""

    status = 428
    code = "precondition_required"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class TooManyRequests(DomainError):
    """A per-caller limit is reached; ``retry_after_s`` says when asking again makes sense."""

    status = 429
    code = "too_many_requests"

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: int,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ):
        details = {**(details or {}), "retry_after_seconds": retry_after_s}
        super().__init__(message, code=code, details=details)
        self.retry_after_s = retry_after_s

    def response_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class MediaRejected(Exception):
    """The input is not acceptable (policy said no). Ends the video REJECTED with ``reason``.

    The Step Functions error name is the class name; the message is ``"<reason>: <human text>"``
    so that the compensation step can recover the machine-readable reason from the Catch cause.
    """

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.human = message


class MediaFailed(Exception):
    """Something broke while processing (the input may be fine). Ends the video FAILED."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.human = message


class TransientError(Exception):
    """Worth retrying (throttling, a dropped connection). The state machine retries this name."""


def parse_step_error(error: dict[str, str] | None) -> tuple[str, str, str]:
    """A Step Functions Catch result (``{"Error", "Cause"}``) -> (error name, reason, message).

    Lambda function errors carry the payload ``{"errorType", "errorMessage", ...}`` as the Cause;
    our MediaRejected/MediaFailed messages start with ``"<reason>: "``.
    """
    import json

    error = error or {}
    name = str(error.get("Error") or "Unknown")
    cause = str(error.get("Cause") or "")
    message = cause
    try:
        payload = json.loads(cause)
        if isinstance(payload, dict):
            message = str(payload.get("errorMessage") or cause)
    except ValueError:
        pass
    reason = ""
    head, sep, rest = message.partition(": ")
    if sep and head.replace("_", "").isalnum() and head.islower():
        reason, message = head, rest
    return name, reason, message
