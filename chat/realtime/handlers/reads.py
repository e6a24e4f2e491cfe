"""mark_read: a member's read marker in a room."""

from typing import Any

from chat.domain import services
from chat.realtime import protocol
from chat.realtime.dispatch import Reply, handles
from chat.realtime.session import Session


@handles("mark_read")
async def mark_read(session: Session, data: dict[str, Any]) -> Reply:
    room = protocol.str_field(data, "room", max_length=64)
    message_id = protocol.int_field(data, "messageId", minimum=1)
    unread = await session.call(
        services.room_mark_read,
        user=session.user,
        room_name=room,
        message_id=message_id,
    )
    return {"status": "ok", "unread": unread}
