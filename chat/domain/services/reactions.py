"""Reactions: a member puts an emoji on a message, or takes theirs off."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from chat.domain import events
from chat.domain.access import message_for_reacting
from chat.domain.emoji import reaction_emoji_clean
from chat.domain.errors import ChatError
from chat.domain.selectors.reactions import reactors
from chat.domain.services.rooms import room_seq_next
from chat.models import Message, Reaction

User = AbstractBaseUser

# Distinct emoji on one message (Slack allows 50, Zulip 20ish by UI): more is noise.
DISTINCT_MAX = 20


@dataclass(frozen=True)
class ReactionState:
    """One emoji on one message after a `reaction_set`: the event's data."""

    message: Message
    emoji: str
    count: int
    users: list[str]  # the first few to react (selectors.reactions.USERS_SHOWN)

    def data(self) -> dict:
        return {
            "room": self.message.room.name,
            "id": self.message.pk,
            "emoji": self.emoji,
            "count": self.count,
            "users": self.users,
            "seq": self.message.changed_seq,
        }


def reaction_set(
    *, user: User, message_id: int, emoji: object, on: bool
) -> ReactionState:
    """Put `emoji` on the message (`on`) or take the user's off. Idempotent: asking
    for the state that already holds changes nothing and broadcasts nothing.

    A change advances the room's seq and the message's `changed_seq`, as an edit
    does, so a client that was away gets the message again on resync.
    """
    emoji = reaction_emoji_clean(emoji)
    with transaction.atomic():
        message = message_for_reacting(user, message_id)
        changed = (
            _reaction_add(message, user, emoji)
            if on
            else _reaction_remove(message, user, emoji)
        )
        count, users = reactors(message.pk, emoji)
        if changed:  # the room's row last: every write to the room waits on it
            message.changed_seq = room_seq_next(message.room)
            message.save(update_fields=["changed_seq"])
        state = ReactionState(message, emoji, count, users)
        if changed:
            events.emit_on_commit(
                events.room_audience(message.room),
                "reaction_updated",
                {**state.data(), "by": user.get_username(), "on": on},
            )
    return state


def _reaction_remove(message: Message, user: User, emoji: str) -> bool:
    """Take the user's reaction off; False if they had none."""
    mine = Reaction.objects.filter(message=message, user=user, emoji=emoji)
    return mine.delete()[0] > 0


def _reaction_add(message: Message, user: User, emoji: str) -> bool:
    """Store the reaction; False if the user had it already. The message row is
    locked (message_for_reacting), so the distinct count cannot race."""
    present = Reaction.objects.filter(message=message)
    if present.filter(user=user, emoji=emoji).exists():
        return False
    distinct = set(present.values_list("emoji", flat=True).distinct())
    if emoji not in distinct and len(distinct) >= DISTINCT_MAX:
        raise ChatError(
            "invalid", f"a message has at most {DISTINCT_MAX} different reactions"
        )
    try:
        with transaction.atomic():
            Reaction.objects.create(message=message, user=user, emoji=emoji)
    except IntegrityError:  # the same user's other socket, at the same instant
        return False
    return True
