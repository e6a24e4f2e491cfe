"""Saved messages: a user keeps messages for later, on every device of theirs."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from chat.domain import events
from chat.domain.access import message_for_reading
from chat.models import Message, SavedMessage

User = AbstractBaseUser


def message_save(*, user: User, message_id: int, saved: bool) -> Message:
    """Save a message the user may read (`saved`), or forget it; tell the user's
    other sockets (message_saved). Asking for the state it has changes nothing."""
    with transaction.atomic():
        message = message_for_reading(user, message_id)
        changed = _save(user, message) if saved else _forget(user, message)
        if changed:
            events.emit_on_commit(
                [events.user_group(user.pk)],
                "message_saved",
                {"room": message.room.name, "id": message.pk, "saved": saved},
            )
    return message


def _save(user: User, message: Message) -> bool:
    try:
        with transaction.atomic():
            SavedMessage.objects.create(user=user, message=message)
    except IntegrityError:  # saved already (or by another socket just now)
        return False
    return True


def _forget(user: User, message: Message) -> bool:
    return SavedMessage.objects.filter(user=user, message=message).delete()[0] > 0
