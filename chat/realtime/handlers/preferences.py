"""set_room_notify: what a room notifies its member of, and whether it is muted
for them (the rest of the notification preferences are set on the settings
page, chat.web)."""

from typing import Any

from chat.domain import services
from chat.realtime import protocol
from chat.realtime.dispatch import Reply, handles
from chat.realtime.session import Session


@handles("set_room_notify", kind="message", stores=True)
async def set_room_notify(session: Session, data: dict[str, Any]) -> Reply:
    room = protocol.str_field(data, "room", max_length=64)
    notify = protocol.str_field(data, "notify", required=False, max_length=16)
    # Absent: left as it is (bool_field would read it as false).
    muted = None if data.get("muted") is None else protocol.bool_field(data, "muted")
    state = await session.call(
        services.room_notify_set,
        user=session.user,
        room_name=room,
        notify=notify,
        muted=muted,
    )
    return {"status": "ok", **state}
