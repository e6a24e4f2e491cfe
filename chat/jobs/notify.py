"""After a message commits: who it notifies, and how (chat.domain.notify
decides per recipient). A recipient at the chat is notified by their own tab;
one away gets a push to their devices, and for a direct message or a mention,
an email later if it is still unread then (chat.jobs.email).

The message's transaction enqueues `message_notify` (the `message_stored`
signal), so the job exists exactly when the message does."""

import logging
from typing import Any

from django.utils import timezone

from chat.domain import notify
from chat.domain.selectors.notifications import notify_recipients
from chat.domain.services.notifications import email_notice_add, message_stored
from chat.infra import presence
from chat.jobs import push
from chat.jobs.email import email_notices_send
from chat.jobs.runner import job, retry_later
from chat.models import Message

logger = logging.getLogger(__name__)

PUSH_TEXT_MAX = 200  # characters of the message a push shows


@job
def message_notify(message_id: int) -> dict[str, int]:
    """Push and schedule emails for a new message; how many of each."""
    message = (
        Message.objects.select_related("room", "author").filter(pk=message_id).first()
    )
    if message is None or message.is_deleted:
        return {"pushed": 0, "emails": 0}
    recipients = notify_recipients(message)
    if not recipients:
        return {"pushed": 0, "emails": 0}
    active = presence.active_usernames([r.username for r in recipients])
    now = timezone.now()
    pushed = emails = 0
    for recipient in recipients:
        decision = notify.decide(
            recipient,
            is_conversation=message.room.is_conversation,
            active=recipient.username in active,
            now=now,
        )
        if decision.push:
            pushed += _push(recipient.user_id, push_payload(message))
        if decision.email:
            emails += 1
            due = email_notice_add(message, recipient)
            if due is not None:  # the first of a batch: its email is sent then
                email_notices_send.using(run_after=due).enqueue(recipient.user_id)
    return {"pushed": pushed, "emails": emails}


def _push(user_id: int, payload: dict[str, Any]) -> int:
    """Push to the user's devices; each one failing for now is tried again in a
    job of its own (retrying this job would push twice to those reached)."""
    try:
        return push.push_send(user_id, payload)
    except push.PushRetry as failed:
        for subscription_id in failed.subscription_ids:
            retry_later(push_again, subscription_id, payload, failed_run=1)
        return failed.delivered


@job
def push_again(subscription_id: int, payload: dict[str, Any]) -> int:
    """A push to one device that failed for now; retried with backoff."""
    return push.push_send_again(subscription_id, payload)


def push_payload(message: Message) -> dict[str, Any]:
    """What a push shows, and what opens when it is clicked."""
    room = message.room
    author = message.author.get_username()
    where = "" if room.is_conversation else f" in #{room.name}"
    return {
        "title": f"{author}{where}",
        "body": message.body[:PUSH_TEXT_MAX],
        "room": room.name,
        "messageId": message.pk,
        "tag": f"room:{room.name}",
        "url": f"/?room={room.name}&message={message.pk}",
    }


def on_message_stored(sender: Any, message_id: int, **kwargs: Any) -> None:
    message_notify.enqueue(message_id)


message_stored.connect(on_message_stored, dispatch_uid="chat_jobs_message_notify")
