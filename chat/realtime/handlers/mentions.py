"""list_mentions: the messages that mention the user, across their rooms."""

from typing import Any

from chat.domain import selectors
from chat.realtime.dispatch import Reply, handles
from chat.realtime.handlers.history import history_cost, page_fields
from chat.realtime.session import Session


@handles("list_mentions", cost=history_cost)
async def list_mentions(session: Session, data: dict[str, Any]) -> Reply:
    page = page_fields(data)
    mentioned = await session.call(
        selectors.mentions_page,
        user=session.user,
        before=page["before_id"],
        limit=page["limit"],
    )
    return {"status": "ok", **mentioned}
