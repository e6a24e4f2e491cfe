"""send_message, private_message, leave_conversation, edit_message,
delete_message and typing."""

from typing import Any

from chat.domain import events, mentions, payloads, services
from chat.domain.errors import ChatError
from chat.domain.rules import room_ref_clean
from chat.domain.services import activity
from chat.infra import metrics, presence, writer
from chat.realtime import protocol
from chat.realtime.dispatch import Reply, handles
from chat.realtime.session import Session


@handles("send_message", kind="message", stores=True)
async def send_message(session: Session, data: dict[str, Any]) -> Reply:
    room = protocol.str_field(data, "room", max_length=64)
    fields = new_message(data)
    thread_id = protocol.int_field(data, "threadId", required=False, minimum=1)
    named = mentions.names_in(fields["body"])
    if thread_id is not None or named:
        # A reply (its root is locked and updated) or a message naming someone
        # (its mentions are recorded) is stored on its own: through a database
        # thread of its own, not the writer's one lane, where it would hold up
        # every message of the worker waiting behind it.
        sent = await session.call(
            services.message_send,
            user=session.user,
            room_name=room,
            thread_id=thread_id,
            also_to_room=protocol.bool_field(data, "alsoToRoom", required=False),
            online=await online_for(named),
            **fields,
        )
    else:
        joined = session.rooms.get(room_ref_clean(room))
        draft = services.message_draft(
            user=session.user,
            room_id=joined.id if joined else None,
            room_name=room,
            **fields,
        )
        sent = await writer.message_send(draft)
    metrics.room_messages.inc()
    return delivered(sent)


@handles("private_message", kind="message", stores=True)
async def private_message(session: Session, data: dict[str, Any]) -> Reply:
    if "threadId" in data:
        # Not ignored: the reply would land in the conversation itself.
        raise ChatError(
            "invalid", "reply in a thread with send_message {room, threadId}"
        )
    fields = new_message(data)
    sent = await session.call(
        services.conversation_message_send,
        user=session.user,
        to_usernames=recipients(data),
        online=await online_for(mentions.names_in(fields["body"])),
        **fields,
    )
    is_group = sent.message.room.is_group
    (metrics.group_messages if is_group else metrics.direct_messages).inc()
    return delivered(sent)


def recipients(data: dict[str, Any]) -> list[str]:
    """private_message's people: `toUsername` (one) or `toUsernames` (a list),
    exactly one of the two."""
    if ("toUsername" in data) == ("toUsernames" in data):
        raise ChatError("invalid", "give exactly one of 'toUsername' and 'toUsernames'")
    if "toUsername" in data:
        return [protocol.str_field(data, "toUsername", max_length=150)]
    # Bounded well above the domain's limit, so that its refusal says why.
    return protocol.str_list_field(data, "toUsernames", max_items=50, max_length=150)


@handles("leave_conversation", kind="message", stores=True)
async def leave_conversation(session: Session, data: dict[str, Any]) -> Reply:
    name = protocol.str_field(data, "room", max_length=64)
    room = await session.call(
        services.conversation_leave, user=session.user, room_name=name
    )
    return {"status": "ok", "room": room.name}


@handles("edit_message", kind="message", stores=True)
async def edit_message(session: Session, data: dict[str, Any]) -> Reply:
    message_id = protocol.int_field(data, "id", minimum=1)
    body = protocol.text_field(data, "message")
    message = await session.call(
        services.message_edit,
        user=session.user,
        message_id=message_id,
        body=body,
        online=await online_for(mentions.names_in(body)),
    )
    return {"status": "ok", "id": message.pk, "seq": message.changed_seq}


@handles("delete_message", kind="message", stores=True)
async def delete_message(session: Session, data: dict[str, Any]) -> Reply:
    message_id = protocol.int_field(data, "id", minimum=1)
    message = await session.call(
        services.message_delete, user=session.user, message_id=message_id
    )
    return {"status": "ok", "id": message.pk, "seq": message.changed_seq}


@handles("typing", kind="typing")
async def typing(session: Session, data: dict[str, Any]) -> Reply:
    name = room_ref_clean(protocol.str_field(data, "room", max_length=64))
    joined = session.joined_room(name)
    is_typing = protocol.bool_field(data, "isTyping")
    # Not looked up: a thread's typing only tells the room's members which pane.
    thread_id = protocol.int_field(data, "threadId", required=False, minimum=1)
    await events.send(
        activity.typing_changed(
            room=joined,
            user_id=session.user_id,
            username=session.username,
            is_typing=is_typing,
            thread_id=thread_id,
        )
    )
    return {"status": "ok"}


async def online_for(named: mentions.Named) -> list[str] | None:
    """Who is online, for a text that mentions @here (None otherwise: the
    presence store is asked only then)."""
    if named.wildcard != mentions.HERE:
        return None
    return await presence.store().members(presence.SITE)


def new_message(data: dict[str, Any]) -> dict[str, Any]:
    """The fields of send_message and private_message that make the message."""
    return {
        "body": protocol.text_field(data, "message"),
        "client_id": protocol.str_field(
            data, "clientId", required=False, max_length=64
        ),
    }


def delivered(sent: services.SentMessage) -> Reply:
    message = sent.message
    reply = {
        "status": "delivered",
        "messageId": message.pk,
        "room": message.room.name,
        "seq": message.seq,
        "time": payloads.iso(message.created_at),
        "duplicate": not sent.created,
    }
    if message.thread_id is not None:
        reply["threadId"] = message.thread_id
    return reply


@handles("pin_message", kind="message", stores=True)
async def pin_message(session: Session, data: dict[str, Any]) -> Reply:
    message_id = protocol.int_field(data, "id", minimum=1)
    pinned = protocol.bool_field(data, "pinned")
    message = await session.call(
        services.message_pin, user=session.user, message_id=message_id, pinned=pinned
    )
    return {
        "status": "ok",
        "id": message.pk,
        "pinned": message.pinned_at is not None,
        "seq": message.changed_seq,
    }


@handles("save_message", kind="message", stores=True)
async def save_message(session: Session, data: dict[str, Any]) -> Reply:
    message_id = protocol.int_field(data, "id", minimum=1)
    saved = protocol.bool_field(data, "saved")
    message = await session.call(
        services.message_save, user=session.user, message_id=message_id, saved=saved
    )
    return {"status": "ok", "room": message.room.name, "id": message.pk, "saved": saved}
