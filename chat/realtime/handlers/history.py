"""get_history, get_edits, get_pins and list_saved: older pages of a room, a
message's earlier texts, a room's pinned messages and the user's saved ones, paid
for by the rows they may return."""

from typing import Any

from django.conf import settings

from chat.domain import selectors
from chat.domain.rules import room_ref_clean
from chat.domain.selectors.messages import EDITS_MAX, SAVED_PAGE
from chat.domain.services import PINS_MAX
from chat.realtime import protocol
from chat.realtime.dispatch import Reply, handles, rows_cost
from chat.realtime.session import Session


def history_cost(data: dict[str, Any]) -> float:
    limit = data.get("limit")
    if type(limit) is not int or not 1 <= limit <= settings.CHAT_HISTORY_MAX_PAGE:
        limit = settings.CHAT_HISTORY_PAGE  # what is read, if the frame passes
    return rows_cost(limit)


def page_fields(data: dict[str, Any]) -> dict[str, int | None]:
    """A page's `before` (an id) and `limit` (or the default page), as the
    selectors take them: get_history's and get_thread's."""
    before = protocol.int_field(data, "before", required=False, minimum=1)
    limit = protocol.int_field(
        data,
        "limit",
        required=False,
        minimum=1,
        maximum=settings.CHAT_HISTORY_MAX_PAGE,
    )
    return {"before_id": before, "limit": limit or settings.CHAT_HISTORY_PAGE}


@handles("get_history", cost=history_cost)
async def get_history(session: Session, data: dict[str, Any]) -> Reply:
    room = protocol.str_field(data, "room", max_length=64)
    page = await session.call(
        selectors.history_page, user=session.user, room_name=room, **page_fields(data)
    )
    return {"status": "ok", **page}


@handles("get_edits", cost=rows_cost(EDITS_MAX))
async def get_edits(session: Session, data: dict[str, Any]) -> Reply:
    message_id = protocol.int_field(data, "id", minimum=1)
    edits = await session.call(
        selectors.message_edits, user=session.user, message_id=message_id
    )
    return {"status": "ok", "id": message_id, "edits": edits}


@handles("get_pins", cost=rows_cost(PINS_MAX))
async def get_pins(session: Session, data: dict[str, Any]) -> Reply:
    room = protocol.str_field(data, "room", max_length=64)
    messages = await session.call(
        selectors.room_pins, user=session.user, room_name=room
    )
    return {"status": "ok", "room": room_ref_clean(room), "messages": messages}


@handles("list_saved", cost=rows_cost(SAVED_PAGE))
async def list_saved(session: Session, data: dict[str, Any]) -> Reply:
    before = protocol.int_field(data, "before", required=False, minimum=1)
    page = await session.call(selectors.saved_page, user=session.user, before=before)
    return {"status": "ok", **page}
