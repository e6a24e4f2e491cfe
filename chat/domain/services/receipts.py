"""Read receipts: a member of a direct or group conversation who reads further
tells its other members, unless they turned receipts off."""

from django.contrib.auth.models import AbstractBaseUser

from chat.domain import events
from chat.domain.selectors.receipts import sends_read_receipts
from chat.models import Room

User = AbstractBaseUser


def read_receipt_on_commit(*, user: User, room: Room, message_id: int) -> None:
    """`user` moved their read marker in `room` forward to `message_id`: once this
    commits, every member of a direct or group conversation gets `read_receipt`
    (the reader's own sockets too: simpler than a second audience, and their
    clients ignore their own). Rooms send none: get_read_receipts asks."""
    if not room.is_conversation or not sends_read_receipts(user):
        return
    events.emit_on_commit(
        events.room_audience(room),
        "read_receipt",
        {"room": room.name, "username": user.get_username(), "messageId": message_id},
    )
