"""The writes behind notifications: a new message that may notify someone is
announced (the `message_stored` signal, sent inside its transaction, so a job
enqueued by a receiver commits with it or not at all), and emailed notices are
recorded and taken in batches per user."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from chat.domain.notify import Reason, Recipient
from chat.domain.selectors.notifications import (
    notices_still_unread,
    rooms_notifying_all,
)
from chat.models import EmailNotice, Message, UserSettings

# Sent with `message_id` for each new message that may notify someone: a direct
# or group message, one that mentions someone, or one in a room where a member
# wants all messages. chat.jobs listens (chat/apps.py).
message_stored = Signal()


def messages_stored(messages: list[Message]) -> None:
    """Announce those of `messages` (new, in this transaction) that may notify."""
    quiet_rooms = {
        m.room_id for m in messages if not m.room.is_conversation and not m.mentions
    }
    loud = rooms_notifying_all() if quiet_rooms else set()
    for message in messages:
        if message.room_id not in quiet_rooms or message.room_id in loud:
            message_stored.send(sender=Message, message_id=message.pk)


def email_delay(own: UserSettings | None) -> timedelta:
    minutes = own.email_delay if own and own.email_delay else None
    return timedelta(minutes=minutes or settings.CHAT_EMAIL_DELAY)


def email_notice_add(message: Message, recipient: Recipient) -> datetime | None:
    """Record that `message` is to be emailed to `recipient` if still unread
    later. A notice joins the user's pending batch (due when its first notice
    is); the first of a batch is due after their email delay. The time a job
    must run, for the first of a batch; None when one is already due to."""
    reason = (
        EmailNotice.Reason.DIRECT
        if recipient.reason == Reason.DIRECT
        else EmailNotice.Reason.MENTION
    )
    with transaction.atomic():
        _batches_locked(recipient.user_id)
        pending = (
            EmailNotice.objects.filter(user_id=recipient.user_id)
            .order_by("due_at")
            .first()
        )
        own = UserSettings.objects.filter(user_id=recipient.user_id).first()
        due = pending.due_at if pending else message.created_at + email_delay(own)
        _, created = EmailNotice.objects.get_or_create(
            user_id=recipient.user_id,
            message=message,
            defaults={"reason": reason, "due_at": due},
        )
    return due if created and pending is None else None


def email_notices_due(user_id: int) -> tuple[list[EmailNotice], list[EmailNotice]]:
    """The user's notices that are due, and of those the ones to send (still
    unread, and email still on). Nothing is removed: email_notices_clear does,
    once the email is sent, so a failed send is tried again with them."""
    due = list(
        EmailNotice.objects.filter(user_id=user_id, due_at__lte=timezone.now())
        .select_related("message__room", "message__author", "user")
        .order_by("message_id")
    )
    if not due:
        return [], []
    own = UserSettings.objects.filter(user_id=user_id).first()
    user = due[0].user
    if (own is not None and not own.email_notifications) or not (
        user.is_active and user.email
    ):
        return due, []
    return due, notices_still_unread(due)


def email_notices_clear(user_id: int, notices: list[EmailNotice]) -> datetime | None:
    """Remove `notices` (sent, or not worth sending); when the user's next batch
    is due (notices that came meanwhile, whose email job is the caller's to
    enqueue), or None."""
    with transaction.atomic():
        _batches_locked(user_id)
        EmailNotice.objects.filter(pk__in=[n.pk for n in notices]).delete()
        return _next_due(user_id)


def _next_due(user_id: int) -> datetime | None:
    return (
        EmailNotice.objects.filter(user_id=user_id)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )


def _batches_locked(user_id: int) -> None:
    """Lock the user's email batches until the transaction ends (their user row:
    it always exists). Adding a notice and clearing a sent batch take turns, so
    exactly one of them enqueues the next email job: a notice that finds no
    batch starts one (and its job), one that finds a batch joins it, and the
    clearing job enqueues a job for what is left. Without it, a notice added
    between a batch's delete and its look for what is left had two jobs, and
    two emails."""
    list(get_user_model().objects.select_for_update().filter(pk=user_id).values("pk"))
