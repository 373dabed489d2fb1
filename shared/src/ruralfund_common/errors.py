"""Domain errors: outcomes with a stable code, mapped once to HTTP problem+json at the edge."""

from __future__ import annotations

__all__ = ["Conflict", "DomainError", "Forbidden", "InvalidInput", "NotFound"]


class DomainError(Exception):
    """A refusal with a stable machine code (``PUBLICITY_NOT_ENDED``) and a human message.

    ``status`` is the HTTP status the edge uses; ``field`` names the offending input field.
    """

    status: int = 409

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        status: int | None = None,
        details: dict | None = None,
        title_zh: str | None = None,
        detail_zh: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field
        self.details = details or {}
        # For the people who read refusals: a Chinese title and a detail with the figures.
        self.title_zh = title_zh
        self.detail_zh = detail_zh
        if status is not None:
            self.status = status

    def to_dict(self) -> dict:
        out: dict = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        if self.details:
            out["details"] = self.details
        if self.title_zh:
            out["title_zh"] = self.title_zh
        if self.detail_zh:
            out["detail_zh"] = self.detail_zh
        return out


class InvalidInput(DomainError):
    status = 422


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409
