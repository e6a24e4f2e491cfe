"""kick_user and mute_user, by a room's moderators, from the chat itself."""

from typing import Any

from chat.domain import payloads
from chat.domain.services import moderation
from chat.realtime import protocol
from chat.realtime.dispatch import Reply, handles
from chat.realtime.session import Session


@handles("kick_user", kind="moderation")
async def kick_user(session: Session, data: dict[str, Any]) -> Reply:
    await session.call(moderation.room_kick, actor=session.user, **moderated(data))
    return {"status": "ok"}


@handles("mute_user", kind="moderation")
async def mute_user(session: Session, data: dict[str, Any]) -> Reply:
    minutes = protocol.int_field(
        data, "minutes", minimum=1, maximum=moderation.MUTE_MAX_MINUTES
    )
    mute = await session.call(
        moderation.room_mute_for,
        actor=session.user,
        minutes=minutes,
        **moderated(data),
    )
    return {"status": "ok", "until": payloads.iso(mute.expires_at)}


def moderated(data: dict[str, Any]) -> dict[str, Any]:
    """The fields of kick_user and mute_user that say who, where and why."""
    reason = protocol.str_field(data, "reason", required=False, max_length=250)
    return {
        "room_name": protocol.str_field(data, "room", max_length=64),
        "username": protocol.str_field(data, "username", max_length=150),
        "reason": reason or "",
    }
