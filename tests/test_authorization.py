"""The authorization matrix, event by event: who may do what to a room.

Each row is (who, event) -> the answer. "outsider" is not a member of a private
room; "banned" and "muted" are members of a public room under a ban or a mute;
"member" is a plain member acting on someone else's message or on another member.
"""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chat import services
from chat.models import Membership, Mute, Room, RoomBan

pytestmark = pytest.mark.django_db(transaction=True)

OK = "ok"


def events_for(room: str, message_id: int) -> dict[str, dict]:
    return {
        "join_room": {"room": room},
        "get_history": {"room": room},
        "send_message": {"room": room, "message": "hi"},
        "typing": {"room": room, "isTyping": True},
        "mark_read": {"room": room, "messageId": message_id},
        "edit_message": {"id": message_id, "message": "changed"},
        "delete_message": {"id": message_id},
        "kick_user": {"room": room, "username": "owner"},
        "mute_user": {"room": room, "username": "owner", "minutes": 5},
    }


# The answer (an error code, or OK) for each (who, event).
MATRIX = {
    "outsider": {
        "join_room": "forbidden",  # the name is taken: creating it would say so
        "get_history": "not_found",
        "send_message": "not_found",
        "typing": "forbidden",  # not joined on this socket
        "mark_read": "not_found",
        "edit_message": "not_found",
        "delete_message": "not_found",
        "kick_user": "forbidden",
        "mute_user": "forbidden",
    },
    "banned": {
        "join_room": "forbidden",
        "get_history": "forbidden",
        "send_message": "forbidden",
        "typing": "forbidden",
        "mark_read": "forbidden",
        "edit_message": "forbidden",
        "delete_message": "forbidden",
        "kick_user": "forbidden",
        "mute_user": "forbidden",
    },
    "muted": {
        "join_room": OK,
        "get_history": OK,
        "send_message": "forbidden",
        "typing": "forbidden",  # not joined on this socket (join first: then OK)
        "mark_read": OK,
        "edit_message": "forbidden",  # someone else's message
        "delete_message": "forbidden",
        "kick_user": "forbidden",
        "mute_user": "forbidden",
    },
    "member": {
        "join_room": OK,
        "get_history": OK,
        "send_message": OK,
        "typing": "forbidden",
        "mark_read": OK,
        "edit_message": "forbidden",
        "delete_message": "forbidden",
        "kick_user": "forbidden",
        "mute_user": "forbidden",
    },
}
CASES = [(who, event) for who, row in MATRIX.items() for event in row]


@sync_to_async
def scene(make_user, who: str) -> tuple[object, str, int]:
    owner, actor = make_user("owner"), make_user("actor")
    kind = Room.Kind.PRIVATE if who == "outsider" else Room.Kind.PUBLIC
    room = services.room_create(user=owner, name="matrix", kind=kind)
    message = services.message_send(user=owner, room_name="matrix", body="owner's")
    if who != "outsider":
        services.membership_add(room=room, user=actor)
    later = timezone.now() + timedelta(hours=1)
    if who == "banned":
        RoomBan.objects.create(room=room, user=actor, created_by=owner)
    if who == "muted":
        Mute.objects.create(room=room, user=actor, expires_at=later, created_by=owner)
    return actor, room.name, message.message.pk


@pytest.mark.parametrize(("who", "event"), CASES)
async def test_authorization_matrix(make_user, sockets, who, event):
    actor, room, message_id = await scene(make_user, who)
    socket = await sockets(actor)
    reply = await socket.request(event, events_for(room, message_id)[event])
    expected = MATRIX[who][event]
    if expected == OK:
        assert reply["status"] in ("ok", "delivered"), reply
    else:
        assert (reply["status"], reply.get("code")) == ("error", expected), reply


async def test_nothing_changed_after_the_refusals(make_user, sockets):
    """A banned member tries everything; the room is exactly as before."""
    actor, room, message_id = await scene(make_user, "banned")
    socket = await sockets(actor)
    for event, data in events_for(room, message_id).items():
        await socket.request(event, data)

    @sync_to_async
    def state() -> tuple:
        room_ = Room.objects.get(name=room)
        return (
            room_.last_seq,
            list(room_.messages.values_list("body", "deleted_at")),
            Membership.objects.filter(room=room_, user__username="owner").exists(),
            Mute.objects.filter(room=room_).count(),
        )

    assert await state() == (1, [("owner's", None)], True, 0)
