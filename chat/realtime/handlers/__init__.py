"""Protocol v1's client events, by topic: each handler parses its frame's data,
calls the domain through its session, and returns the ack's data."""

from chat.realtime.handlers import (
    history,
    mentions,
    messages,
    moderation,
    preferences,
    reactions,
    reads,
    receipts,
    rooms,
    threads,
)

__all__ = [
    "history",
    "mentions",
    "messages",
    "moderation",
    "preferences",
    "reactions",
    "reads",
    "receipts",
    "rooms",
    "threads",
]
