"""react: a member's emoji on a message, on or off."""

from typing import Any

from chat.domain import services
from chat.realtime import protocol
from chat.realtime.dispatch import Reply, handles
from chat.realtime.session import Session


@handles("react", kind="message", stores=True)
async def react(session: Session, data: dict[str, Any]) -> Reply:
    message_id = protocol.int_field(data, "id", minimum=1)
    emoji = protocol.str_field(data, "emoji", max_length=64)
    on = protocol.bool_field(data, "on")
    state = await session.call(
        services.reaction_set,
        user=session.user,
        message_id=message_id,
        emoji=emoji,
        on=on,
    )
    return {"status": "ok", **state.data()}
