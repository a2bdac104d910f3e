"""Errors that are part of the interface: services raise them, the web layer turns them into
a 4xx page or {"error": {...}} JSON. Messages are Dutch msgids, translated at the edge."""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation without translating it here (Babel extracts N_)."""
    return message


class ServiceError(Exception):
    status = 400
    code = "bad_request"
    default_message = N_("Ongeldig verzoek.")

    def __init__(self, message: str | None = None, fields: dict[str, str] | None = None, **params):
        self.message = message or self.default_message
        self.fields = fields or {}
        self.params = params
        super().__init__(self.message)


class BadRequest(ServiceError):
    pass


class Unauthorized(ServiceError):
    status, code = 401, "unauthorized"
    default_message = N_("Log eerst in.")


class Forbidden(ServiceError):
    status, code = 403, "forbidden"
    default_message = N_("Dat mag u niet doen.")


class NotFound(ServiceError):
    status, code = 404, "not_found"
    default_message = N_("Niet gevonden.")


class Conflict(ServiceError):
    status, code = 409, "conflict"
    default_message = N_("Dat botst met de huidige toestand.")


class Invalid(ServiceError):
    status, code = 422, "invalid"
    default_message = N_("Controleer de gemarkeerde velden.")


class Unavailable(ServiceError):
    """The database cannot be reached (PostgreSQL restarting, the network between): try again
    shortly. Nothing was changed: a write whose commit failed was rolled back."""
    status, code = 503, "unavailable"
    default_message = N_("De site is even niet bereikbaar. Probeer het over %(seconds)d seconden opnieuw.")

    def __init__(self, retry_after: int = 5):
        super().__init__(seconds=retry_after)
        self.retry_after = retry_after
