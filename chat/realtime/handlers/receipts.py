"""get_read_receipts: who has read a message; set_presence: whether the client
is in use (active) or not (idle)."""

from typing import Any

from chat.domain.selectors.receipts import message_readers
from chat.domain.services import activity
from chat.realtime import protocol
from chat.realtime.dispatch import Reply, handles, rows_cost
from chat.realtime.session import Session


# As list_members: a list of up to 500 names.
@handles("get_read_receipts", cost=rows_cost(100))
async def get_read_receipts(session: Session, data: dict[str, Any]) -> Reply:
    room = protocol.str_field(data, "room", max_length=64)
    message_id = protocol.int_field(data, "messageId", minimum=1)
    readers = await session.call(
        message_readers, user=session.user, room_name=room, message_id=message_id
    )
    return {"status": "ok", **readers}


@handles("set_presence")
async def set_presence(session: Session, data: dict[str, Any]) -> Reply:
    status = protocol.str_field(data, "status", max_length=10)
    await session.set_active(activity.presence_status_active(status))
    return {"status": "ok"}
