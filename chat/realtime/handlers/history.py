"""get_history: older pages of a room, paid for by the rows asked for."""

from typing import Any

from django.conf import settings

from chat.domain import selectors
from chat.realtime import protocol
from chat.realtime.dispatch import Reply, handles, rows_cost
from chat.realtime.session import Session


def history_cost(data: dict[str, Any]) -> float:
    limit = data.get("limit")
    if type(limit) is not int or not 1 <= limit <= settings.CHAT_HISTORY_MAX_PAGE:
        limit = settings.CHAT_HISTORY_PAGE  # what is read, if the frame passes
    return rows_cost(limit)


@handles("get_history", cost=history_cost)
async def get_history(session: Session, data: dict[str, Any]) -> Reply:
    room = protocol.str_field(data, "room", max_length=64)
    before = protocol.int_field(data, "before", required=False, minimum=1)
    limit = protocol.int_field(
        data,
        "limit",
        required=False,
        minimum=1,
        maximum=settings.CHAT_HISTORY_MAX_PAGE,
    )
    page = await session.call(
        selectors.history_page,
        user=session.user,
        room_name=room,
        before_id=before,
        limit=limit or settings.CHAT_HISTORY_PAGE,
    )
    return {"status": "ok", **page}
