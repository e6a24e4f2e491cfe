"""get_thread, follow_thread, list_threads and mark_thread_read (a reply is a
send_message with `threadId`: chat.realtime.handlers.messages)."""

from typing import Any

from chat.domain.selectors.threads import THREADS_LISTED, followed_threads, thread_page
from chat.domain.services import threads
from chat.realtime import protocol
from chat.realtime.dispatch import Reply, handles, rows_cost
from chat.realtime.handlers.history import history_cost, page_fields
from chat.realtime.session import Session


@handles("get_thread", cost=history_cost)
async def get_thread(session: Session, data: dict[str, Any]) -> Reply:
    message_id = protocol.int_field(data, "id", minimum=1)
    page = await session.call(
        thread_page, user=session.user, message_id=message_id, **page_fields(data)
    )
    return {"status": "ok", **page}


@handles("follow_thread", kind="message", stores=True)
async def follow_thread(session: Session, data: dict[str, Any]) -> Reply:
    message_id = protocol.int_field(data, "id", minimum=1)
    follow = protocol.bool_field(data, "follow")
    state = await session.call(
        threads.thread_follow, user=session.user, root_id=message_id, follow=follow
    )
    return {"status": "ok", **state}


@handles("list_threads", cost=rows_cost(THREADS_LISTED))
async def list_threads(session: Session, data: dict[str, Any]) -> Reply:
    entries = await session.call(followed_threads, user=session.user)
    return {"status": "ok", "threads": entries}


@handles("mark_thread_read")
async def mark_thread_read(session: Session, data: dict[str, Any]) -> Reply:
    message_id = protocol.int_field(data, "id", minimum=1)
    read_id = protocol.int_field(data, "messageId", minimum=1)
    state = await session.call(
        threads.thread_mark_read,
        user=session.user,
        root_id=message_id,
        message_id=read_id,
    )
    return {"status": "ok", **state}
