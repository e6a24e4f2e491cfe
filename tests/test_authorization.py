"""The authorization matrix, event by event: who may do what to a room.

Each row is (who, event) -> the answer. "outsider" is not a member of a private
room; "banned" and "muted" are members of a public room under a ban or a mute;
"member" is a plain member acting on someone else's message or on another member.
"""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chat.domain import services
from chat.models import Membership, Mute, Room, RoomBan, ThreadFollow

pytestmark = pytest.mark.django_db(transaction=True)

OK = "ok"


def events_for(
    room: str, message_id: int, own_id: int, reply_id: int
) -> dict[str, dict]:
    """`message_id` is the owner's message; `own_id` the actor's own, posted
    before any ban or mute (the owner's again for an outsider, who has none);
    `reply_id` the owner's reply in the thread of `message_id`."""
    return {
        "join_room": {"room": room},
        "get_history": {"room": room},
        "list_members": {"room": room},
        "send_message": {"room": room, "message": "hi"},
        "typing": {"room": room, "isTyping": True},
        "mark_read": {"room": room, "messageId": message_id},
        "edit_message": {"id": message_id, "message": "changed"},
        "delete_message": {"id": message_id},
        "edit_own": {"id": own_id, "message": "changed"},
        "delete_own": {"id": own_id},
        "react": {"id": message_id, "emoji": "\U0001f44d", "on": True},
        "get_edits": {"id": message_id},
        "pin_message": {"id": message_id, "pinned": True},
        "get_pins": {"room": room},
        "save_message": {"id": message_id, "saved": True},
        "reply": {"room": room, "message": "hi", "threadId": message_id},
        "get_thread": {"id": message_id},
        "follow_thread": {"id": message_id, "follow": True},
        "mark_thread_read": {"id": message_id, "messageId": reply_id},
        "kick_user": {"room": room, "username": "owner"},
        "mute_user": {"room": room, "username": "owner", "minutes": 5},
        "leave_conversation": {"room": room},
        "set_room_notify": {"room": room, "notify": "all", "muted": True},
    }


# The matrix's rows that are an event on the actor's own message.
EVENT_OF = {
    "edit_own": "edit_message",
    "delete_own": "delete_message",
    "reply": "send_message",
}

# The answer (an error code, or OK) for each (who, event).
MATRIX = {
    "outsider": {
        "join_room": "forbidden",  # the name is taken: creating it would say so
        "get_history": "not_found",
        "list_members": "not_found",  # a private room one is not in is no room
        "send_message": "not_found",
        "typing": "forbidden",  # not joined on this socket
        "mark_read": "not_found",
        "edit_message": "not_found",
        "delete_message": "not_found",
        "edit_own": "not_found",
        "delete_own": "not_found",
        # A private room one is not in is no room at all, as an unknown one.
        "react": "not_found",  # as a message that does not exist
        "get_edits": "not_found",
        "pin_message": "not_found",
        "get_pins": "not_found",
        "save_message": "not_found",
        "reply": "not_found",
        "get_thread": "not_found",
        "follow_thread": "not_found",
        "mark_thread_read": "not_found",
        "kick_user": "not_found",
        "mute_user": "not_found",
        "leave_conversation": "not_found",
        "set_room_notify": "not_found",
    },
    "banned": {
        "join_room": "forbidden",
        "get_history": "forbidden",
        "list_members": "forbidden",
        "send_message": "forbidden",
        "typing": "forbidden",
        "mark_read": "forbidden",
        "edit_message": "forbidden",
        "delete_message": "forbidden",
        # A ban refuses everything in the room, one's own old messages included.
        "edit_own": "forbidden",
        "delete_own": "forbidden",
        "react": "forbidden",
        "get_edits": "forbidden",
        "pin_message": "forbidden",
        "get_pins": "forbidden",
        "save_message": "forbidden",
        "reply": "forbidden",
        "get_thread": "forbidden",
        "follow_thread": "forbidden",
        "mark_thread_read": "forbidden",
        "kick_user": "forbidden",
        "mute_user": "forbidden",
        "leave_conversation": "forbidden",
        "set_room_notify": "forbidden",
    },
    "muted": {
        "join_room": OK,
        "get_history": OK,
        "list_members": OK,
        "send_message": "forbidden",
        "typing": "forbidden",  # not joined on this socket (join first: then OK)
        "mark_read": OK,
        "edit_message": "forbidden",  # someone else's message
        "delete_message": "forbidden",
        "edit_own": "forbidden",  # editing is posting
        "delete_own": OK,
        "react": "forbidden",  # reacting is posting
        "get_edits": OK,
        "pin_message": "forbidden",  # owners and moderators only
        "get_pins": OK,
        "save_message": OK,
        "reply": "forbidden",  # replying is posting
        "get_thread": OK,
        "follow_thread": OK,
        "mark_thread_read": OK,
        "kick_user": "forbidden",
        "mute_user": "forbidden",
        "leave_conversation": OK,  # for good (leave_room only unsubscribes)
        "set_room_notify": OK,  # notifications are not posting
    },
    "member": {
        "join_room": OK,
        "get_history": OK,
        "list_members": OK,
        "send_message": OK,
        "typing": "forbidden",
        "mark_read": OK,
        "edit_message": "forbidden",
        "delete_message": "forbidden",
        "edit_own": OK,
        "delete_own": OK,
        "react": OK,
        "get_edits": OK,
        "pin_message": "forbidden",  # owners and moderators only
        "get_pins": OK,
        "save_message": OK,
        "reply": OK,
        "get_thread": OK,
        "follow_thread": OK,
        "mark_thread_read": OK,
        "kick_user": "forbidden",
        "mute_user": "forbidden",
        "leave_conversation": OK,
        "set_room_notify": OK,
    },
}
CASES = [(who, event) for who, row in MATRIX.items() for event in row]


@sync_to_async
def scene(make_user, who: str) -> tuple[object, str, int, int, int]:
    owner, actor = make_user("owner"), make_user("actor")
    kind = Room.Kind.PRIVATE if who == "outsider" else Room.Kind.PUBLIC
    room = services.room_create(user=owner, name="matrix", kind=kind)
    message = services.message_send(user=owner, room_name="matrix", body="owner's")
    reply = services.message_send(
        user=owner,
        room_name="matrix",
        body="owner's reply",
        thread_id=message.message.pk,
    )
    own_id = message.message.pk
    if who != "outsider":
        services.membership_add(room=room, user=actor)
        own = services.message_send(user=actor, room_name="matrix", body="actor's")
        own_id = own.message.pk
    later = timezone.now() + timedelta(hours=1)
    if who == "banned":
        RoomBan.objects.create(room=room, user=actor, created_by=owner)
    if who == "muted":
        Mute.objects.create(room=room, user=actor, expires_at=later, created_by=owner)
    return actor, room.name, message.message.pk, own_id, reply.message.pk


@pytest.mark.parametrize(("who", "event"), CASES)
async def test_authorization_matrix(make_user, sockets, who, event):
    actor, room, message_id, own_id, reply_id = await scene(make_user, who)
    socket = await sockets(actor)
    data = events_for(room, message_id, own_id, reply_id)[event]
    reply = await socket.request(EVENT_OF.get(event, event), data)
    expected = MATRIX[who][event]
    if expected == OK:
        assert reply["status"] in ("ok", "delivered"), reply
    else:
        assert (reply["status"], reply.get("code")) == ("error", expected), reply


async def test_nothing_changed_after_the_refusals(make_user, sockets):
    """A banned member tries everything; the room is exactly as before."""
    actor, room, message_id, own_id, reply_id = await scene(make_user, "banned")
    socket = await sockets(actor)
    for event, data in events_for(room, message_id, own_id, reply_id).items():
        await socket.request(EVENT_OF.get(event, event), data)

    @sync_to_async
    def state() -> tuple:
        room_ = Room.objects.get(name=room)
        return (
            room_.last_seq,
            list(room_.messages.values_list("body", "deleted_at")),
            Membership.objects.filter(room=room_, user__username="owner").exists(),
            Mute.objects.filter(room=room_).count(),
            ThreadFollow.objects.filter(user__username="actor").count(),
            Membership.objects.filter(room=room_, user__username="actor")
            .values_list("notify", "muted")
            .get(),
        )

    assert await state() == (
        4,  # the reply, and its root's summary
        [("owner's", None), ("owner's reply", None), ("actor's", None)],
        True,
        0,
        0,
        ("default", False),
    )


async def test_a_banned_member_no_longer_sees_the_room_in_their_list(
    make_user, sockets
):
    actor, room, *_ = await scene(make_user, "banned")
    socket = await sockets(actor)
    reply = await socket.request("list_rooms")
    assert room not in [r["room"] for r in reply["rooms"]]


async def test_a_conversation_of_two_others_answers_as_one_that_does_not_exist(
    make_user, sockets
):
    ana, ben, eve = await sync_to_async(
        lambda: [make_user(n) for n in ("ana", "ben", "eve")]
    )()
    await sync_to_async(services.direct_message_send)(
        user=ana, to_username="ben", body="hi"
    )
    theirs = Room.direct_name(ana.pk, ben.pk)
    nobodys = Room.direct_name(ben.pk + 1000, ben.pk + 1001)
    socket = await sockets(eve)
    existing = await socket.request("join_room", {"room": theirs})
    missing = await socket.request("join_room", {"room": nobodys})
    assert existing["status"] == missing["status"] == "error"
    assert (existing["code"], existing["msg"]) == (missing["code"], missing["msg"])


async def test_a_group_of_others_answers_as_one_that_does_not_exist(make_user, sockets):
    ana, ben, cara, eve = await sync_to_async(
        lambda: [make_user(n) for n in ("ana", "ben", "cara", "eve")]
    )()
    await sync_to_async(services.conversation_message_send)(
        user=ana, to_usernames=["ben", "cara"], body="hi"
    )
    theirs = Room.group_name([ana.pk, ben.pk, cara.pk])
    nobodys = Room.group_name([ana.pk, ben.pk, eve.pk])
    socket = await sockets(eve)
    events = ("join_room", "get_history", "leave_conversation", "get_pins")
    for event in (*events, "list_members"):
        existing = await socket.request(event, {"room": theirs})
        missing = await socket.request(event, {"room": nobodys})
        assert existing["status"] == missing["status"] == "error", event
        assert (existing["code"], existing["msg"]) == (missing["code"], missing["msg"])
