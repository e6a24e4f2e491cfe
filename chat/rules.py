"""Validation of user input shared by the protocol, views and admin. Pure."""

import re

from django.conf import settings

from .errors import ChatError
from .models import DIRECT_PREFIX

ROOM_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")
DIRECT_NAME_RE = re.compile(re.escape(DIRECT_PREFIX) + r"[0-9]{1,18}:[0-9]{1,18}")
CLIENT_ID_MAX = 64
# Taken by pages under /rooms/.
RESERVED_ROOM_NAMES = frozenset({"create", "join"})


def room_name_clean(name: str) -> str:
    """A user-chosen room name, normalised to lower case, or ChatError("invalid")."""
    cleaned = name.strip().lower()
    if not ROOM_NAME_RE.fullmatch(cleaned):
        raise ChatError(
            "invalid",
            "A room name is 1 to 50 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit.",
        )
    if cleaned in RESERVED_ROOM_NAMES:
        raise ChatError("invalid", f"'{cleaned}' is reserved; choose another name")
    return cleaned


def room_ref_clean(name: str) -> str:
    """A name that refers to an existing room: a room name or a direct room's."""
    if DIRECT_NAME_RE.fullmatch(name):
        return name
    return room_name_clean(name)


def message_body_clean(body: str) -> str:
    cleaned = body.strip()
    if not cleaned:
        raise ChatError("invalid", "message is empty")
    limit = settings.CHAT_MAX_MESSAGE_LENGTH
    if len(cleaned) > limit:
        raise ChatError("too_long", f"message is longer than {limit} characters")
    return cleaned


def client_id_clean(client_id: str | None) -> str | None:
    if client_id is None:
        return None
    if not client_id or len(client_id) > CLIENT_ID_MAX:
        raise ChatError(
            "invalid", f"'clientId' must be 1 to {CLIENT_ID_MAX} characters"
        )
    return client_id
