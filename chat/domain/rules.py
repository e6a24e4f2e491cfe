"""Validation of user input shared by the protocol, views and admin. Pure."""

import re
import unicodedata

from django.conf import settings

from chat.domain.errors import ChatError
from chat.models import DIRECT_PREFIX, GROUP_PREFIX

ROOM_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")
DIRECT_NAME_RE = re.compile(re.escape(DIRECT_PREFIX) + r"[0-9]{1,18}:[0-9]{1,18}")
GROUP_NAME_RE = re.compile(re.escape(GROUP_PREFIX) + r"[0-9a-f]{40}")
# A conversation is between 2 (a direct room) and this many people, its sender
# included: a group of 3 or more is a room of kind "group".
CONVERSATION_MAX_PEOPLE = 9
CLIENT_ID_MAX = 64
# Taken by pages under /rooms/.
RESERVED_ROOM_NAMES = frozenset({"create", "join"})
TOPIC_MAX = 250

# Bidi embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI):
# they reorder the text after them, so "abc\u202egnp.exe" shows as "abcexe.png".
# Refused, not stripped: stripping would change what the author wrote without
# telling them, and the refusal says why. Right-to-left text needs none of them
# (the bidi algorithm orders it); the marks LRM, RLM and ALM stay allowed.
BIDI_CONTROLS_RE = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Categories that draw nothing: controls, format characters (zero-width space and
# joiners, word joiner, BOM, bidi controls, ...), spaces, line and paragraph
# separators.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
# Letters, marks and symbols that draw nothing either: the Hangul fillers (which
# count as letters, even in usernames), the combining grapheme joiner, variation
# selectors and the blank Braille pattern, the usual "invisible name" tricks.
BLANK_CHARACTERS = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)


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
    """A name that refers to an existing room: a room name, or a direct or group
    conversation's (as the server wrote it: never lowercased or trimmed)."""
    if DIRECT_NAME_RE.fullmatch(name) or GROUP_NAME_RE.fullmatch(name):
        return name
    return room_name_clean(name)


def conversation_usernames_clean(usernames: list[str], *, me: str) -> list[str]:
    """The other people of a conversation `me` starts: 1 (a direct conversation)
    to CONVERSATION_MAX_PEOPLE - 1 distinct usernames, none of them `me`; or
    ChatError("invalid"). Whether they are users is not checked here."""
    most = CONVERSATION_MAX_PEOPLE - 1
    if not usernames:
        raise ChatError("invalid", "name at least one person to write to")
    if len(usernames) > most:
        raise ChatError(
            "invalid",
            f"a conversation has at most {CONVERSATION_MAX_PEOPLE} people:"
            f" name at most {most} others",
        )
    if len(set(usernames)) != len(usernames):
        raise ChatError("invalid", "a person is named twice")
    if me in usernames:
        raise ChatError(
            "invalid", "you are in every conversation you start: do not name yourself"
        )
    return list(usernames)


def message_body_clean(body: str) -> str:
    cleaned = body.strip()
    if not cleaned:
        raise ChatError("invalid", "message is empty")
    limit = settings.CHAT_MAX_MESSAGE_LENGTH
    if len(cleaned) > limit:
        raise ChatError("too_long", f"message is longer than {limit} characters")
    return shown_text_clean(cleaned, "message")


def topic_clean(topic: str) -> str:
    """A room topic, trimmed: empty, or text shown as written."""
    cleaned = topic.strip()
    if len(cleaned) > TOPIC_MAX:
        raise ChatError("too_long", f"topic is longer than {TOPIC_MAX} characters")
    return shown_text_clean(cleaned, "topic") if cleaned else cleaned


def shown_text_clean(text: str, what: str) -> str:
    """`text`, or ChatError("invalid") unless it shows other people what it says:
    no bidi control reorders it, and at least one character is visible."""
    if BIDI_CONTROLS_RE.search(text):
        raise ChatError(
            "invalid",
            f"{what} contains a bidirectional control character (U+202A to U+202E, "
            "U+2066 to U+2069), which shows text in another order than written",
        )
    if not any(map(is_visible, text)):
        raise ChatError("invalid", f"{what} has no visible character")
    return text


def is_visible(char: str) -> bool:
    return not (
        char in BLANK_CHARACTERS or unicodedata.category(char) in INVISIBLE_CATEGORIES
    )


def client_id_clean(client_id: str | None) -> str | None:
    if client_id is None:
        return None
    if not client_id or len(client_id) > CLIENT_ID_MAX:
        raise ChatError(
            "invalid", f"'clientId' must be 1 to {CLIENT_ID_MAX} characters"
        )
    return client_id
