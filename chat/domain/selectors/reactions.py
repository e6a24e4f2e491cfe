"""Reads of reactions: the summary every message object carries, and one emoji's
reactors for the live event. Access is the caller's: these read messages it has
already authorised."""

from collections.abc import Iterable
from typing import Any

from chat.models import Reaction

# Names sent with an emoji's count: enough for a tooltip, bounded for a big room.
USERS_SHOWN = 10


def reactors(message_id: int, emoji: str) -> tuple[int, list[str]]:
    """How many reacted with `emoji` to the message, and the first USERS_SHOWN of
    them, oldest first."""
    rows = Reaction.objects.filter(message_id=message_id, emoji=emoji)
    names = list(
        rows.order_by("id").values_list("user__username", flat=True)[:USERS_SHOWN]
    )
    count = len(names) if len(names) < USERS_SHOWN else rows.count()
    return count, names


def reaction_summaries(
    message_ids: Iterable[int], viewer_id: int | None
) -> dict[int, list[dict[str, Any]]]:
    """{message id: [{emoji, count, users, me}, ...]} for the messages that have
    reactions, each message's emoji in the order they were first used (as Slack
    shows them); `me`: the viewer is among the reactors."""
    rows = (
        Reaction.objects.filter(message_id__in=list(message_ids))
        .order_by("message_id", "id")
        .values_list("message_id", "emoji", "user_id", "user__username")
    )
    summaries: dict[int, dict[str, dict[str, Any]]] = {}
    for message_id, emoji, user_id, username in rows:
        by_emoji = summaries.setdefault(message_id, {})
        summary = by_emoji.setdefault(
            emoji, {"emoji": emoji, "count": 0, "users": [], "me": False}
        )
        summary["count"] += 1
        if len(summary["users"]) < USERS_SHOWN:
            summary["users"].append(username)
        summary["me"] = summary["me"] or user_id == viewer_id
    return {m: list(by_emoji.values()) for m, by_emoji in summaries.items()}
