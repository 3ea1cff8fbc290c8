"""Domain errors. Services raise these; the API turns them into the documented error envelope
(page 332) and dashboard views into form or page messages. Expected failures are never 500s."""
from __future__ import annotations


class DomainError(Exception):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None,
                 details: dict | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.param = param
        self.details = details

    def as_envelope(self) -> dict:
        error = {"type": self.type, "code": self.code, "message": self.message}
        if self.param:
            error["param"] = self.param
        if self.details:
            error["details"] = self.details
        return {"error": error}


class ValidationFailed(DomainError):
    """Bad input. `fields` maps dotted paths to lists of reasons."""

    code = "validation_error"

    def __init__(self, message: str = "The request is invalid.", *, fields: dict[str, list[str]] | None = None,
                 param: str | None = None, code: str | None = None):
        fields = fields or {}
        if param is None and fields:
            param = next(iter(fields))
        super().__init__(message, param=param, details={"fields": fields}, code=code)
        self.fields = fields

    @classmethod
    def not_one_of(cls, field: str, choices) -> ValidationFailed:
        """The 400 for a value outside an enumeration, naming the allowed values."""
        reason = f"must be one of {', '.join(choices)}"
        return cls(f"{field}: {reason}", fields={field: [reason]})


class NotFound(DomainError):
    status = 404
    code = "resource_missing"


class PermissionDenied(DomainError):
    status = 403
    type = "permission_error"
    code = "permission_denied"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class BusinessRuleViolation(DomainError):
    status = 422
    code = "unprocessable_entity"


class InvalidTransition(BusinessRuleViolation):
    code = "invalid_state_transition"


class PaymentDeclined(DomainError):
    """The card was declined (402, type card_error, code payment_declined): `decline_code` is the page-025
    code and the message its text."""

    status = 402
    type = "card_error"
    code = "payment_declined"

    def __init__(self, message: str, *, decline_code: str, payment_id: str = ""):
        super().__init__(message, details={"decline_code": decline_code, "payment_id": payment_id})
        self.decline_code = decline_code
        self.payment_id = payment_id

    def as_envelope(self) -> dict:
        envelope = super().as_envelope()
        envelope["error"]["decline_code"] = self.decline_code
        return envelope
