"""Protocol v1 wire format: parsing client frames and building server frames.

Pure functions, no I/O. docs/PROTOCOL.md is the contract this module implements.
"""

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

from chat.domain.errors import ChatError
from chat.domain.payloads import event_frame

# Every close code a transport ends a session with (docs/PROTOCOL.md, "Close
# codes"); the long-polling transport answers a finished session with the same.
CLOSE_NORMAL = 1000  # RFC 6455: the client closed (a long-poll DELETE)
CLOSE_GOING_AWAY = 1001  # RFC 6455: gone (a long-poll session with no GET for 60 s)
CLOSE_SERVICE_RESTART = 1012  # RFC 6455: reconnect (to another worker) and resync
CLOSE_TRY_AGAIN_LATER = 1013  # RFC 6455: not now (layer down, client not reading)
CLOSE_TOO_BIG = 1009  # RFC 6455: a frame too big to process
CLOSE_UNAUTHENTICATED = 4401  # log in (again): not a network fault
CLOSE_FORBIDDEN = 4403  # deactivated or banned from the site: retrying cannot help
CLOSE_TOO_MANY = 4429  # too many sockets, or opened too fast

# Why the domain ends a user's sessions (chat.domain.events) -> the close code.
CLOSE_FOR_END = {"refused": CLOSE_FORBIDDEN, "logged_out": CLOSE_UNAUTHENTICATED}

AckId = str | int | float
MAX_ACK_LENGTH = 100


@dataclass(frozen=True)
class ClientFrame:
    event: str
    data: dict[str, Any]
    ack: AckId | None


def parse_frame(text: str) -> ClientFrame:
    """Parse a client text frame, or raise ChatError("bad_frame").

    A frame whose `ack` is usable is returned even when the rest is bad, so that the
    error can be sent as that ack's reply: see `parse_ack` and the consumer.
    """
    try:
        obj = loads(text)
    except (ValueError, RecursionError):
        # RecursionError: valid JSON nested deeper than Python's parser goes.
        raise ChatError("bad_frame", "frame is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ChatError("bad_frame", "frame must be a JSON object")
    # Raw NUL and lone surrogates are not JSON text; only \u escapes make them.
    if "\\u" in text and _unstorable(obj):
        ack = obj.get("ack")
        raise ChatError(
            "bad_frame",
            "frame has a NUL character or a lone surrogate, which text cannot hold",
            # An ack is echoed, not stored: only a lone surrogate cannot go back.
            ack=None
            if isinstance(ack, str) and _LONE_SURROGATE.search(ack)
            else _usable_ack(obj),
        )
    ack = parse_ack(obj)
    event = obj.get("event")
    data = obj.get("data", {})
    if not isinstance(event, str) or not event:
        raise ChatError("bad_frame", "frame needs a string 'event'", ack=ack)
    if not isinstance(data, dict):
        raise ChatError("bad_frame", "'data' must be a JSON object", ack=ack)
    return ClientFrame(event=event, data=data, ack=ack)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _unstorable(value: Any) -> bool:
    """Whether any string in `value` holds NUL (no database text column takes it)
    or a lone surrogate (not encodable as UTF-8, so not even echoable)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _usable_ack(obj: dict[str, Any]) -> AckId | None:
    try:
        return parse_ack(obj)
    except ChatError:
        return None


# Numbers orjson reads differently from the standard parser: integers past 64 bits
# (it makes them floats) and exponents out of a float's range. A number is a value,
# after ':', '[' or ','; a long run of digits in a string rarely follows those.
_ODD_NUMBER = re.compile(r"[:,\[]\s*-?(?:\d{19}|[\d.]+[eE])")


def loads(text: str) -> Any:
    """JSON as the protocol reads it (strict: no NaN, big numbers exact)."""
    # orjson is several times faster on the frames every client sends. The
    # standard parser, whose verdict the protocol has always followed, takes the
    # frames with odd numbers and those orjson refuses (lone surrogate escapes,
    # deep nesting), to say what it always said.
    if _ODD_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> None:
    """NaN and Infinity are Python's, not JSON's: refuse them."""
    raise ValueError(f"{name} is not JSON")


def parse_ack(obj: dict[str, Any]) -> AckId | None:
    if "ack" not in obj or obj["ack"] is None:
        return None
    ack = obj["ack"]
    if isinstance(ack, bool) or not isinstance(ack, (str, int, float)):
        raise ChatError("bad_frame", "'ack' must be a string or a number")
    if isinstance(ack, float) and not math.isfinite(ack):
        raise ChatError("bad_frame", "'ack' must be a finite number")
    if isinstance(ack, str) and len(ack) > MAX_ACK_LENGTH:
        raise ChatError("bad_frame", f"'ack' is longer than {MAX_ACK_LENGTH}")
    return ack


# --- Fields of `data` ---------------------------------------------------------------


def _present(data: dict[str, Any], name: str, required: bool) -> Any:
    value = data.get(name)
    if value is None and required:
        raise ChatError("invalid", f"'{name}' is required")
    return value


def str_field(
    data: dict[str, Any], name: str, *, required: bool = True, max_length: int = 200
) -> str | None:
    value = _present(data, name, required)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ChatError("invalid", f"'{name}' must be a string")
    if len(value) > max_length:
        raise ChatError("invalid", f"'{name}' is longer than {max_length}")
    return value


def str_list_field(
    data: dict[str, Any], name: str, *, max_items: int, max_length: int = 200
) -> list[str]:
    """A list of at most `max_items` strings (how many the domain wants is its
    own rule: this only bounds the work a frame can ask for)."""
    value = _present(data, name, True)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ChatError("invalid", f"'{name}' must be a list of strings")
    if len(value) > max_items:
        raise ChatError("invalid", f"'{name}' has more than {max_items} items")
    if any(len(v) > max_length for v in value):
        raise ChatError("invalid", f"an item of '{name}' is longer than {max_length}")
    return value


def text_field(data: dict[str, Any], name: str) -> str:
    """A message body: a string; its length rule belongs to the domain."""
    value = data.get(name)
    if not isinstance(value, str):
        raise ChatError("invalid", f"'{name}' must be a string")
    return value


def int_field(
    data: dict[str, Any],
    name: str,
    *,
    required: bool = True,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    value = _present(data, name, required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ChatError("invalid", f"'{name}' must be an integer")
    if minimum is not None and value < minimum:
        raise ChatError("invalid", f"'{name}' must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ChatError("invalid", f"'{name}' must be at most {maximum}")
    return value


def bool_field(data: dict[str, Any], name: str, *, required: bool = True) -> bool:
    """`name`, true or false; when not `required`, absent (or null) is false."""
    value = data.get(name)
    if value is None and not required:
        return False
    if not isinstance(value, bool):
        raise ChatError("invalid", f"'{name}' must be true or false")
    return value


# --- Server frames ------------------------------------------------------------------


def ack_frame(ack: AckId, status: str, **data: Any) -> dict[str, Any]:
    return {"event": "ack", "ack": ack, "data": {"status": status, **data}}


def error_frame(error: ChatError, ack: AckId | None) -> dict[str, Any]:
    detail = {"code": error.code, "msg": error.msg}
    detail.update({k: v for k, v in error.extra.items() if k != "ack"})
    if ack is None:
        return event_frame("error", detail)
    return ack_frame(ack, "error", **detail)


def too_big(data: str | bytes, limit: int) -> bool:
    """Whether a client frame is over `limit` bytes (CHAT_MAX_FRAME_BYTES)."""
    if isinstance(data, bytes):
        return len(data) > limit
    # A character is 1 to 4 bytes in UTF-8: encode only when it could matter.
    return len(data) * 4 > limit and len(data.encode()) > limit
