"""Domain errors. Each carries its HTTP status; the app maps them once (`web.app`)."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal the user can act on. `field` and `line` point at the bad input when there is one."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "error"

    def __init__(self, message: str, *, field: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.line = line

    def as_dict(self) -> dict[str, Any]:
        """The JSON body an API client receives."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.line is not None:
            body["line"] = self.line
        return body

    def within(self, prefix: str) -> DomainError:
        """The same refusal, its field named inside a batch item (`reports.3.external_ref`)."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return type(self)(self.message, field=field, line=self.line)

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class Invalid(DomainError):
    """The input breaks a rule (422)."""

    status = 422
    code = "invalid"


class NotFound(DomainError):
    """The object does not exist or is not visible to the caller (404)."""

    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The request contradicts the current state (409)."""

    status = 409
    code = "conflict"


class Unauthorized(DomainError):
    """No valid credentials (401)."""

    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    """Valid credentials, but the role does not admit this action (403)."""

    status = 403
    code = "forbidden"


class TooManyAttempts(DomainError):
    """Too many failed attempts in a short time: wait, then try again (HTTP 429)."""

    status = 429
    code = "too_many_attempts"


class Unavailable(DomainError):
    """Something the server needs is missing or down: a font, a peer (503)."""

    status = 503
    code = "unavailable"
