"""Emails of what a user missed: the direct messages and mentions still unread
some minutes after they came (CHAT_EMAIL_DELAY, or the user's own delay), one
email for all of a batch, checked again just before it is sent (read or deleted
meanwhile: left out; nothing left: no email)."""

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from chat.domain.services.notifications import (
    email_notices_clear,
    email_notices_due,
)
from chat.domain.unsubscribe import unsubscribe_headers, unsubscribe_url
from chat.jobs.runner import job
from chat.models import EmailNotice

SHOWN_MAX = 20  # messages an email lists; it says how many more there are


@job
def email_notices_send(user_id: int) -> int:
    """Send the user's due notices as one email; how many it listed."""
    due, notices = email_notices_due(user_id)
    if notices:
        email_for(notices).send()  # raises: run again later, with the same
    later = email_notices_clear(user_id, due)
    if later is not None:  # notices that came while this batch was sent
        email_notices_send.using(run_after=later).enqueue(user_id)
    return len(notices)


def email_for(notices: list[EmailNotice]) -> EmailMultiAlternatives:
    """One email listing `notices` (of one user): text and HTML parts, with a
    one-click unsubscribe (RFC 8058)."""
    user = notices[0].user
    context = email_context(notices)
    email = EmailMultiAlternatives(
        subject=context["subject"],
        body=render_to_string("chat/email/notices.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers=unsubscribe_headers(user),
    )
    email.attach_alternative(
        render_to_string("chat/email/notices.html", context), "text/html"
    )
    return email


def email_context(notices: list[EmailNotice]) -> dict[str, Any]:
    user = notices[0].user
    site = settings.CHAT_SITE_URL.rstrip("/")
    items = []
    for notice in notices[:SHOWN_MAX]:
        message, room = notice.message, notice.message.room
        items.append(
            {
                "author": message.author.get_username(),
                "where": "a direct message"
                if room.is_direct
                else "a group conversation"
                if room.is_group
                else f"#{room.name}",
                "mention": notice.reason == EmailNotice.Reason.MENTION,
                "text": message.body,
                "time": message.created_at,
                "url": f"{site}/?room={room.name}&message={message.pk}",
            }
        )
    authors = sorted({i["author"] for i in items})
    count = len(notices)
    subject = (
        f"{items[0]['author']} wrote to you"
        if count == 1
        else f"{count} unread messages from {', '.join(authors[:3])}"
        + (" and others" if len(authors) > 3 else "")
    )
    return {
        "user": user,
        "items": items,
        "more": count - len(items),
        "subject": subject,
        "site": site,
        "settings_url": f"{site}/settings/notifications/",
        "unsubscribe_url": unsubscribe_url(user),
    }
