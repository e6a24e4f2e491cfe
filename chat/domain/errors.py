"""The one domain error type. Its code is a protocol error code (docs/PROTOCOL.md)."""

from typing import Any


class ChatError(Exception):
    """A request the rules refuse; the consumer answers it, a view shows it as a 4xx."""

    # Protocol error code -> HTTP status, for views.
    HTTP_STATUS = {
        "bad_frame": 400,
        "unknown_event": 400,
        "invalid": 400,
        "too_long": 400,
        "not_found": 404,
        "forbidden": 403,
        "rate_limited": 429,
        "server_error": 500,
        "unavailable": 503,
    }

    def __init__(self, code: str, msg: str, **extra: Any) -> None:
        assert code in self.HTTP_STATUS, code
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.extra = extra

    @property
    def http_status(self) -> int:
        return self.HTTP_STATUS[self.code]


class SiteBanned(ChatError):
    """The acting user is banned from the whole site. Still a `forbidden` ChatError
    to the consumer; views answer it with a 403 page where they would otherwise
    show a room-level refusal as a form error or a notice."""

    def __init__(self) -> None:
        super().__init__("forbidden", "you are banned from this site")
